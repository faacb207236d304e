/*
 * util.h - small helpers: hex, base64, PEM, numbers, UUIDs, files, time.
 */
#ifndef PCA_COMMON_UTIL_H
#define PCA_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "err.h"

/*
 * Lowercase hex of n bytes into out (size >= 3n+1 with colons, 2n+1
 * without); returns out.
 */
char *util_hex(const uint8_t *p, size_t n, char *out, size_t outlen,
    int colons);
/*
 * Parses hex, optionally colon-separated, either case, into out (at most
 * max bytes).  An odd digit count is padded with a leading zero.
 */
pca_err util_unhex(const char *s, uint8_t *out, size_t max,
    size_t *len) PCA_WUR;

/* The value of one hex digit (either case), or -1. */
int util_hexval(int c);

/* Standard base64 with padding; *out is NUL-terminated, caller frees. */
pca_err util_b64_encode(const uint8_t *p, size_t n, char **out) PCA_WUR;
/* Strict base64 (whitespace ignored); caller frees *out. */
pca_err util_b64_decode(const char *s, size_t n, size_t max, uint8_t **out,
    size_t *outlen) PCA_WUR;

/* One PEM block, 64-column lines, ending in a single "\n". */
pca_err util_pem_encode(const char *label, const uint8_t *der, size_t n,
    char **out) PCA_WUR;
/*
 * Input that is exactly one PEM block with the given label, optionally
 * surrounded by whitespace (CRLF accepted); anything else is refused.
 */
pca_err util_pem_decode(const char *s, size_t n, const char *label, size_t max,
    uint8_t **der, size_t *derlen) PCA_WUR;
/* True if the bytes look like PEM ("-----BEGIN " after whitespace). */
int util_is_pem(const uint8_t *p, size_t n);

/* strtonum(3): decimal only, range-checked. */
pca_err util_strtonum(const char *s, long long min, long long max,
    long long *out) PCA_WUR;

/* Lowercase UUID v4 from the CSPRNG into out[37]. */
pca_err util_uuid(char out[37]) PCA_WUR;
/* True when s is a lowercase UUID (8-4-4-4-12 hex). */
int util_is_uuid(const char *s);

/* Reads a whole file of at most max bytes; caller frees (NUL appended). */
pca_err util_file_read(const char *path, size_t max, uint8_t **out,
    size_t *len) PCA_WUR;
/*
 * Writes a file atomically (temp file, fsync, rename) with the given mode;
 * with excl, refuses to replace an existing file.
 */
pca_err util_file_write(const char *path, const void *p, size_t n, mode_t mode,
    int excl) PCA_WUR;

/* Seconds since the epoch (UTC). */
int64_t util_now(void);
/* timegm(3) without the locale: struct tm in UTC to seconds. */
int64_t util_timegm(const struct tm *);
/* "2026-11-29T01:02:03Z" into out[21]. */
char *util_iso8601(int64_t t, char out[21]);

#endif
