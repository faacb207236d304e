#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "buf.h"
#include "util.h"

char *
util_hex(const uint8_t *p, size_t n, char *out, size_t outlen, int colons)
{
	static const char digits[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (o + 3 + (colons && i > 0) > outlen)
			break;
		if (colons && i > 0)
			out[o++] = ':';
		out[o++] = digits[p[i] >> 4];
		out[o++] = digits[p[i] & 15];
	}
	if (outlen > 0)
		out[o < outlen ? o : outlen - 1] = '\0';
	return out;
}

int
util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

pca_err
util_unhex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	char digits[2 * 256 + 2];
	size_t nd = 0, i, n;

	for (; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (util_hexval((unsigned char)*s) < 0)
			return pca_err_set(PCA_EPARSE,
			    "'%c' is not a hex digit", *s);
		if (nd >= sizeof(digits) - 2)
			return pca_err_set(PCA_ETOOBIG, "hex string too long");
		digits[nd++] = *s;
	}
	if (nd == 0)
		return pca_err_set(PCA_EPARSE, "empty hex string");
	if (nd % 2) {
		memmove(digits + 1, digits, nd);
		digits[0] = '0';
		nd++;
	}
	n = nd / 2;
	if (n > max)
		return pca_err_set(PCA_ETOOBIG,
		    "hex value longer than %zu bytes", max);
	for (i = 0; i < n; i++)
		out[i] = (uint8_t)(util_hexval(digits[2 * i]) << 4 |
				   util_hexval(digits[2 * i + 1]));
	*len = n;
	return PCA_OK;
}

pca_err
util_b64_encode(const uint8_t *p, size_t n, char **out)
{
	char *s;

	if (n > INT_MAX / 2)
		return pca_err_set(PCA_ETOOBIG, "too large to encode");
	if ((s = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	*out = s;
	return PCA_OK;
}

pca_err
util_b64_decode(const char *s, size_t n, size_t max, uint8_t **out,
    size_t *outlen)
{
	char *clean = NULL;
	uint8_t *o = NULL;
	size_t nc = 0, i, pad = 0;
	int r;
	pca_err e = PCA_OK;

	if (n > 4 * (max / 3 + 2) + n / 32 + 64)
		return pca_err_set(PCA_ETOOBIG,
		    "base64 input larger than the %zu-byte limit", max);
	if ((clean = malloc(n + 1)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isspace(c))
			continue;
		if (!(isalnum(c) || c == '+' || c == '/' || c == '=')) {
			e = pca_err_set(PCA_EPARSE, "invalid base64 character");
			goto out;
		}
		if (pad > 0 && c != '=') {
			e = pca_err_set(PCA_EPARSE,
			    "base64 data after padding");
			goto out;
		}
		if (c == '=')
			pad++;
		clean[nc++] = (char)c;
	}
	if (nc == 0 || nc % 4 != 0 || pad > 2) {
		e = pca_err_set(PCA_EPARSE, "base64 length is not valid");
		goto out;
	}
	if ((o = malloc(nc / 4 * 3 + 1)) == NULL) {
		e = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	r = EVP_DecodeBlock(o, (unsigned char *)clean, (int)nc);
	if (r < 0) {
		e = pca_err_set(PCA_EPARSE, "invalid base64");
		goto out;
	}
	if ((size_t)r - pad > max) {
		e = pca_err_set(PCA_ETOOBIG,
		    "decoded data larger than the %zu-byte limit", max);
		goto out;
	}
	*outlen = (size_t)r - pad;
	*out = o;
	o = NULL;
out:
	free(clean);
	free(o);
	return e;
}

pca_err
util_pem_encode(const char *label, const uint8_t *der, size_t n, char **out)
{
	struct buf b;
	char *b64 = NULL;
	size_t i, len;
	pca_err e;

	buf_init(&b, SIZE_MAX / 2);
	if ((e = util_b64_encode(der, n, &b64)) != PCA_OK)
		return e;
	len = strlen(b64);
	if ((e = buf_printf(&b, "-----BEGIN %s-----\n", label)) != PCA_OK)
		goto out;
	for (i = 0; i < len; i += 64) {
		if ((e = buf_add(&b, b64 + i, len - i < 64 ? len - i : 64)) !=
			PCA_OK ||
		    (e = buf_add(&b, "\n", 1)) != PCA_OK)
			goto out;
	}
	if ((e = buf_printf(&b, "-----END %s-----\n", label)) != PCA_OK ||
	    (e = buf_nul(&b)) != PCA_OK)
		goto out;
	*out = (char *)buf_steal(&b, NULL);
out:
	free(b64);
	buf_free(&b);
	return e;
}

int
util_is_pem(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && isspace(p[i]))
		i++;
	return n - i >= 11 && memcmp(p + i, "-----BEGIN ", 11) == 0;
}

pca_err
util_pem_decode(const char *s, size_t n, const char *label, size_t max,
    uint8_t **der, size_t *derlen)
{
	char begin[96], end[96];
	const char *p = s, *lim = s + n, *body, *bend;
	size_t bl, el;

	(void)snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	(void)snprintf(end, sizeof(end), "-----END %s-----", label);
	bl = strlen(begin);
	el = strlen(end);
	if (memchr(s, '\0', n) != NULL)
		return pca_err_set(PCA_EPARSE, "PEM contains a NUL byte");
	while (p < lim && isspace((unsigned char)*p))
		p++;
	if ((size_t)(lim - p) < bl || memcmp(p, begin, bl) != 0)
		return pca_err_set(PCA_EPARSE, "PEM does not start with '%s'",
		    begin);
	body = p + bl;
	for (bend = body; bend + el <= lim; bend++)
		if (*bend == '-' && memcmp(bend, end, el) == 0)
			break;
	if (bend + el > lim)
		return pca_err_set(PCA_EPARSE, "PEM has no '%s' line", end);
	for (p = bend + el; p < lim; p++)
		if (!isspace((unsigned char)*p))
			return pca_err_set(PCA_EPARSE,
			    "data after the PEM '%s' line", end);
	for (p = body; p < bend; p++)
		if (*p == ':')
			return pca_err_set(PCA_EPARSE,
			    "PEM headers are not accepted");
	return util_b64_decode(body, (size_t)(bend - body), max, der, derlen);
}

pca_err
util_strtonum(const char *s, long long min, long long max, long long *out)
{
	long long v = 0;
	int neg = 0, d;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return pca_err_set(PCA_EINVAL, "empty number");
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (*p == '\0')
		return pca_err_set(PCA_EINVAL, "'%s' is not a number", s);
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return pca_err_set(PCA_EINVAL, "'%s' is not a number",
			    s);
		d = *p - '0';
		if (v > (LLONG_MAX - d) / 10)
			return pca_err_set(PCA_EINVAL, "'%s' is too large", s);
		v = v * 10 + d;
	}
	if (neg)
		v = -v;
	if (v < min || v > max)
		return pca_err_set(PCA_EINVAL, "%s is out of range %lld..%lld",
		    s, min, max);
	*out = v;
	return PCA_OK;
}

pca_err
util_uuid(char out[37])
{
	uint8_t r[16];
	char hex[33];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return pca_err_set(PCA_EINTERNAL, "CSPRNG failure");
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	util_hex(r, sizeof(r), hex, sizeof(hex), 0);
	(void)snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
	    hex + 12, hex + 16, hex + 20);
	return PCA_OK;
}

int
util_is_uuid(const char *s)
{
	int i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
			       (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[36] == '\0';
}

pca_err
util_file_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct buf b;
	uint8_t chunk[8192];
	ssize_t r;
	int fd;
	pca_err e = PCA_OK;

	buf_init(&b, max);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return pca_err_set(errno == ENOENT ? PCA_ENOTFOUND : PCA_EIO,
		    "%s: %s", path, strerror(errno));
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = pca_err_set(PCA_EIO, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if ((e = buf_add(&b, chunk, (size_t)r)) != PCA_OK) {
			e = pca_err_set(e, "%s: larger than %zu bytes", path,
			    max);
			goto out;
		}
	}
	if ((e = buf_nul(&b)) != PCA_OK)
		goto out;
	*out = buf_steal(&b, len);
out:
	close(fd);
	buf_free(&b);
	return e;
}

pca_err
util_file_write(const char *path, const void *p, size_t n, mode_t mode,
    int excl)
{
	char tmp[PATH_MAX];
	const uint8_t *c = p;
	size_t off = 0;
	ssize_t w;
	int fd;

	if (excl && access(path, F_OK) == 0)
		return pca_err_set(PCA_EEXISTS, "%s already exists", path);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return pca_err_set(PCA_EINVAL, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return pca_err_set(PCA_EIO, "%s: %s", tmp, strerror(errno));
	if (fchmod(fd, mode) != 0)
		goto fail;
	while (off < n) {
		w = write(fd, c + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (excl ? link(tmp, path) != 0 : rename(tmp, path) != 0)
		goto fail;
	if (excl)
		(void)unlink(tmp); /* the link now holds the data */
	return PCA_OK;
fail : {
	int saved = errno;
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp);
	return pca_err_set(saved == EEXIST ? PCA_EEXISTS : PCA_EIO, "%s: %s",
	    path, strerror(saved));
}
}

int64_t
util_now(void)
{
	return (int64_t)time(NULL);
}

int64_t
util_timegm(const struct tm *tm)
{
	/* days from civil (Howard Hinnant's algorithm), proleptic Gregorian */
	int64_t y = (int64_t)tm->tm_year + 1900;
	int64_t m = tm->tm_mon + 1;
	int64_t era, yoe, doy, doe, days;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + tm->tm_mday - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	return days * 86400 + tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
}

char *
util_iso8601(int64_t t, char out[21])
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	(void)strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}
