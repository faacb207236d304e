/*
 * x509.h - the one bounded DER reader (X.690) of the appliance, its strict
 * DER checker, the small TLV writer, and X.509 pieces read off the DER
 * (SubjectPublicKeyInfo key size).  Every tag/length decoding of the code
 * base lives here (tools/lint.sh proves it); it depends on common/ only.
 *
 * Reading: x509_der_next() takes one element off (*p, *n), checks its
 * header against what remains and advances.  The default is strict DER
 * (X.690 10.1: definite, minimal lengths; minimal high tag numbers); flags
 * relax or tighten that for the readers that always did.  Nothing is
 * allocated; every element points into the caller's bytes.
 */
#ifndef PCA_X509_X509_H
#define PCA_X509_X509_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "../common/buf.h"
#include "../common/err.h"

#define X509_DER_MAX_DEPTH 32	/* nesting the checkers walk */

/* One element: its TLV bytes and its content. */
struct x509_der {
	const uint8_t *tlv;	/* identifier octets */
	size_t len;		/* identifier + length + content octets */
	const uint8_t *c;	/* content */
	size_t clen;
	uint8_t id;		/* first identifier octet (class, form, tag) */
	unsigned cls;		/* 0 universal .. 3 private */
	int cons;		/* constructed */
	uint32_t tag;		/* tag number */
	size_t hdr;		/* identifier + length octets */
};

/* Why a header was refused (0: it was not). */
enum x509_der_err {
	X509_DER_OK = 0,
	X509_DER_ETRUNC,	/* no room for identifier and length */
	X509_DER_EHIGHTAG,	/* high tag number (X509_DER_LOWTAG) */
	X509_DER_ETAGMIN,	/* tag number not in minimal form */
	X509_DER_ETAGLONG,	/* tag number over 4 octets or truncated */
	X509_DER_EINDEF,	/* indefinite length */
	X509_DER_ELENLONG,	/* too many length octets, or truncated */
	X509_DER_ELENZERO,	/* length octets start with 00 */
	X509_DER_ELENSHORT,	/* long form for a length under 128 */
	X509_DER_EOVERRUN,	/* content runs past the container */
};

/* flags of x509_der_next / x509_der_head */
#define X509_DER_LOWTAG 0x01	/* one identifier octet: high form refused */
#define X509_DER_BER_TAG 0x02	/* high tag numbers need not be minimal */
#define X509_DER_BER_LEN 0x04	/* lengths need not be minimal (BER) */
#define X509_DER_LEN2 0x08	/* at most 2 length octets (default 4) */
#define X509_DER_LEN3 0x10	/* at most 3 length octets */

/* The header of the element at p (n bytes left); el->tlv = p. */
enum x509_der_err x509_der_head(const uint8_t *p, size_t n, unsigned flags,
    struct x509_der *el);
/* The next element of (*p, *n); on success advances past it. */
enum x509_der_err x509_der_next(const uint8_t **p, size_t *n, unsigned flags,
    struct x509_der *el);
/* The rule an error breaks, as one phrase ("indefinite length (BER, not
 * DER)"); rules that only DER forbids carry X509_DER_ONLY. */
const char *x509_der_errstr(enum x509_der_err);
#define X509_DER_ONLY "(BER, not DER)"

/* Strict DER shorthands: 1 if the next element is there (with that first
 * identifier octet), 0 if not or malformed. */
int x509_der_get(const uint8_t **p, size_t *n, struct x509_der *el);
int x509_der_want(const uint8_t **p, size_t *n, uint8_t id,
    struct x509_der *el);

/*
 * Strict DER (X.690 section 10) for one whole TLV tree of len bytes:
 * definite minimal lengths, minimal tags, universal types in their only
 * DER form, BOOLEAN 00/FF, minimal INTEGER, zero unused BIT STRING bits,
 * minimal OID arcs, SET OF elements in order; at most 32 levels deep.
 * 1 if so; 0 with "<rule> at byte <offset>" in why (rules only DER
 * forbids carry X509_DER_ONLY).
 */
int x509_der_strict(const uint8_t *p, size_t len, char *why, size_t whylen);
/*
 * True when p..n is exactly one DER TLV with definite minimal lengths
 * throughout its constructed contents (high tag numbers need not be
 * minimal); at most 32 levels.
 */
int x509_der_check(const uint8_t *p, size_t n);
/* X.690 11.6: 1 if SET OF element a may come before b (a <= b). */
int x509_der_set_order(const uint8_t *a, size_t an, const uint8_t *b,
    size_t bn);
/*
 * The extent of an outer element with identifier id as a lenient BER
 * reader sees it (any length octets, not minimal): 1 with *total, 0 if it
 * cannot be read, -1 for an indefinite length.
 */
int x509_ber_extent(const uint8_t *p, size_t n, uint8_t id, size_t *total);

/* ---- writing ---- */

/* Writes tag and definite length for n content bytes; returns its size. */
size_t x509_der_hdr(uint8_t h[6], unsigned tag, size_t n);
/* The size x509_der_hdr writes for n content bytes. */
size_t x509_der_hdr_len(size_t n);
/* Appends one TLV; PCA_ETOOBIG over 4 GiB or the buffer's max. */
pca_err x509_der_put(struct buf *, unsigned tag, const void *p, size_t n)
    PCA_WUR;
/* Wraps b->p[start..] in a TLV of that tag, in place. */
pca_err x509_der_wrap(struct buf *, size_t start, unsigned tag) PCA_WUR;

/* ---- OIDs (contents octets) ---- */

struct x509_oid {
	size_t len;
	uint8_t c[12];
};

extern const struct x509_oid X509_OID_RSA;	/* rsaEncryption */
extern const struct x509_oid X509_OID_EC;	/* id-ecPublicKey */
extern const struct x509_oid X509_OID_P256;
extern const struct x509_oid X509_OID_P384;
extern const struct x509_oid X509_OID_P521;

/* 1 if the n content octets at c are that OID. */
int x509_oid_is(const uint8_t *c, size_t n, const struct x509_oid *);

/* ---- SubjectPublicKeyInfo ---- */

/*
 * The key type and size of an SPKI without decoding the key: *is_rsa, and
 * *bits = the RSA modulus size or the EC curve size (256, 384, 521; 0 for
 * other curves).  PCA_EPARSE for other key types or malformed keys.
 */
pca_err x509_spki_key_size(const X509_PUBKEY *, int *is_rsa, int *bits)
    PCA_WUR;

#endif
