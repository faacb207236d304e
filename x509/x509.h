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
#include <openssl/x509v3.h>

#include "../common/alg.h"
#include "../common/buf.h"
#include "../common/err.h"

#define X509_DER_MAX_DEPTH 32 /* nesting the checkers walk */

/* One element: its TLV bytes and its content. */
struct x509_der {
	const uint8_t *tlv; /* identifier octets */
	size_t len;         /* identifier + length + content octets */
	const uint8_t *c;   /* content */
	size_t clen;
	uint8_t id;   /* first identifier octet (class, form, tag) */
	unsigned cls; /* 0 universal .. 3 private */
	int cons;     /* constructed */
	uint32_t tag; /* tag number */
	size_t hdr;   /* identifier + length octets */
};

/* Why a header was refused (0: it was not). */
enum x509_der_err {
	X509_DER_OK = 0,
	X509_DER_ETRUNC,    /* no room for identifier and length */
	X509_DER_EHIGHTAG,  /* high tag number (X509_DER_LOWTAG) */
	X509_DER_ETAGMIN,   /* tag number not in minimal form */
	X509_DER_ETAGLONG,  /* tag number over 4 octets or truncated */
	X509_DER_EINDEF,    /* indefinite length */
	X509_DER_ELENLONG,  /* too many length octets, or truncated */
	X509_DER_ELENZERO,  /* length octets start with 00 */
	X509_DER_ELENSHORT, /* long form for a length under 128 */
	X509_DER_EOVERRUN,  /* content runs past the container */
};

/* flags of x509_der_next / x509_der_head */
#define X509_DER_LOWTAG 0x01  /* one identifier octet: high form refused */
#define X509_DER_BER_TAG 0x02 /* high tag numbers need not be minimal */
#define X509_DER_BER_LEN 0x04 /* lengths need not be minimal (BER) */
#define X509_DER_LEN2 0x08    /* at most 2 length octets (default 4) */
#define X509_DER_LEN3 0x10    /* at most 3 length octets */

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
pca_err x509_der_put(struct buf *, unsigned tag, const void *p,
    size_t n) PCA_WUR;
/* Wraps b->p[start..] in a TLV of that tag, in place. */
pca_err x509_der_wrap(struct buf *, size_t start, unsigned tag) PCA_WUR;

/* ---- OIDs (contents octets) ---- */

struct x509_oid {
	size_t len;
	uint8_t c[12];
};

extern const struct x509_oid X509_OID_RSA; /* rsaEncryption */
extern const struct x509_oid X509_OID_EC;  /* id-ecPublicKey */
extern const struct x509_oid X509_OID_P256;
extern const struct x509_oid X509_OID_P384;
extern const struct x509_oid X509_OID_P521;
extern const struct x509_oid X509_OID_RSA_PSS; /* id-RSASSA-PSS */
/* sha256/384/512WithRSAEncryption, ecdsa-with-SHA256/384/512 */
extern const struct x509_oid X509_OID_RSA_SHA2[3];
extern const struct x509_oid X509_OID_ECDSA_SHA2[3];
extern const struct x509_oid X509_OID_EXT_REQ;    /* PKCS#9 extensionRequest */
extern const struct x509_oid X509_OID_MS_EXT_REQ; /* Microsoft's */

/* 1 if the n content octets at c are that OID. */
int x509_oid_is(const uint8_t *c, size_t n, const struct x509_oid *);

/* ---- SubjectPublicKeyInfo ---- */

/*
 * The key type and size of an SPKI without decoding the key: *is_rsa, and
 * *bits = the RSA modulus size or the EC curve size (256, 384, 521; 0 for
 * other curves).  PCA_EPARSE for other key types or malformed keys.
 */
pca_err x509_spki_key_size(const X509_PUBKEY *, int *is_rsa, int *bits) PCA_WUR;
/* The key algorithm of a DER SubjectPublicKeyInfo (PCA_KEY_NONE if other). */
enum pca_keyalg x509_spki_keyalg(const uint8_t *spki, size_t len);
/* SHA-1 of the subjectPublicKey BIT STRING value (RFC 5280 4.2.1.2 (1)). */
pca_err x509_spki_keyid(const uint8_t *spki, size_t len,
    uint8_t out[20]) PCA_WUR;

/* ---- signed objects (cert.c) ---- */

/* DER AlgorithmIdentifier for alg (NULL params for RSA, none for ECDSA). */
pca_err x509_sigalg_der(enum pca_sigalg, uint8_t *out, size_t max,
    size_t *len) PCA_WUR;
/*
 * SEQUENCE { tbs, AlgorithmIdentifier(alg), BIT STRING { sig } }: a
 * Certificate, CertificateList or BasicOCSPResponse around signed bytes.
 */
pca_err x509_cert_assemble(const uint8_t *tbs, size_t tbs_len, enum pca_sigalg,
    const uint8_t *sig, size_t sig_len, uint8_t **der, size_t *der_len) PCA_WUR;

/* ---- the pre-signing lint gate (lint*.c) ---- */

/*
 * One rule: 1 when in/obj (the request and the parsed object) pass, else
 * 0 with the detail in d.  A named rule gets a fresh d and reports
 * "rule NAME: detail"; an unnamed one (name NULL) writes "NAME (RFC):
 * detail" itself and sees d as the previous rules left it.
 */
struct x509_lint_rule {
	const char *name; /* zlint name, RFC section */
	int (*fn)(const void *in, const void *obj, char *d, size_t n);
};

/*
 * Runs rules in order; the first failure is PCA_EINVAL "lint: rule NAME:
 * detail", or "lint: WHAT: rule ..." when what (the object) is not NULL.
 */
pca_err x509_lint_run(const char *what, const struct x509_lint_rule *, size_t n,
    const void *in, const void *obj) PCA_WUR;

struct x509_lint_req {
	const uint8_t *tbs; /* the exact bytes that will be signed */
	size_t tbs_len;
	enum pca_sigalg sigalg; /* the outer signatureAlgorithm */
	int self_issued;        /* a root's own certificate: no AKI */
};

/*
 * A TBSCertificate against the RFC 5280 / BR profile rules (zlint names,
 * lint_cert.c): PCA_EINVAL "lint: rule NAME (RFC ...): detail" on the
 * first violation.  Pure: no token, no store, no logging.
 */
pca_err x509_lint_cert(const struct x509_lint_req *) PCA_WUR;
/*
 * A TBSCertList (the exact bytes about to be signed with sigalg) against
 * RFC 5280 5 / BR 7.2 (lint_crl.c): strict DER, version v2, the inner
 * signature AlgorithmIdentifier, a non-empty issuer, thisUpdate and
 * nextUpdate (present, encodings, order), cRLNumber (present,
 * non-critical, <= 20 octets), AKI keyIdentifier, no duplicate
 * extensions; per entry a positive serial of <= 20 octets, a well-encoded
 * revocationDate, a non-critical valid reasonCode other than unspecified.
 * PCA_EINVAL "lint: CRL: rule NAME (RFC ...): detail".
 */
pca_err x509_lint_crl(const uint8_t *tbs, size_t len, enum pca_sigalg) PCA_WUR;
/*
 * A ResponseData (RFC 6960 4.2.1) about to be signed (lint_ocsp.c):
 * strict DER, version (v1 DEFAULT) omitted, a responderID, producedAt and
 * every SingleResponse's times as GeneralizedTime with seconds,
 * thisUpdate <= nextUpdate, a valid certStatus, no reasonCode in
 * singleExtensions, no duplicate responseExtensions.  "lint: OCSP: ...".
 */
pca_err x509_lint_ocsp(const uint8_t *tbs, size_t len, enum pca_sigalg) PCA_WUR;

/*
 * zlint's subject and SAN syntax rules (lint_names.c): attribute string
 * types and charsets, no control characters, RFC 5280 Appendix A upper
 * bounds; dNSName (LDH labels, 253/63, wildcard only as the leftmost
 * label, A-labels only), rfc822Name, URI, iPAddress 4/16 octets (8/32 when
 * nc: the subtrees of nameConstraints), at most LIM_CERT_SANS names.  True
 * when fine, else false with the rule and the offending name (where) in d.
 */
int x509_lint_name_ok(const X509_NAME *, const char *where, char *d, size_t n);
int x509_lint_gens_ok(const GENERAL_NAMES *, int nc, const char *where, char *d,
    size_t n);

#endif
