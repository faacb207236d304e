/*
 * ca_int.h - the CA engine's internal pieces, shared by the files of ca/ and
 * by its unit tests.  Everything here is pure: no token, no store.  The
 * engine (engine.c) wires these to hsm/ and store/.
 */
#ifndef PCA_CA_INT_H
#define PCA_CA_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/alg.h"
#include "../common/err.h"
#include "../common/limits.h"

/* ---- CSR intake (csr.c) ---- */

/*
 * A parsed, verified CSR.  Accepts PEM ("CERTIFICATE REQUEST" or "NEW
 * CERTIFICATE REQUEST", exactly one block, nothing around it but
 * whitespace) or DER; LIM_CSR_DER bytes at most; every DER byte consumed;
 * strict (canonical) DER throughout; self-signature verified; key RSA
 * 2048..8192 (e = 65537 or at least odd > 1) or EC P-256/P-384/P-521 with a
 * named curve.  Failures are PCA_EBADCSR (PCA_ETOOBIG for size) with the
 * rule named in pca_err_msg().
 */
struct ca_csr {
	X509_NAME *subject;	/* the subject, its DER as received */
	uint8_t *der;		/* the CSR, DER */
	size_t der_len;
	uint8_t *spki;		/* SubjectPublicKeyInfo, DER */
	size_t spki_len;
	enum pca_keyalg keyalg;	/* PCA_KEY_NONE for RSA sizes not in enum */
	int rsa_bits;		/* RSA modulus bits, 0 for EC */
	STACK_OF(X509_EXTENSION) *exts;	/* requested extensions (may be NULL) */
};

pca_err ca_csr_parse(const uint8_t *p, size_t len, struct ca_csr **out)
    PCA_WUR;
void ca_csr_free(struct ca_csr *);
/* True when the CSR subject is empty. */
int ca_csr_subject_empty(const struct ca_csr *);
/* True when the CSR requests a subjectAltName extension. */
int ca_csr_has_san(const struct ca_csr *);

/*
 * Strict DER (X.690 section 10) for one whole TLV tree of len bytes:
 * definite minimal lengths, minimal tag numbers, universal types in their
 * DER form, BOOLEAN 00/FF, minimal INTEGER, zero unused BIT STRING bits,
 * minimal OID arcs, SET OF elements in order; at most 32 levels deep.
 * True if so; otherwise false with the rule and its offset in why.
 * (csr.c; import.c uses it for certificates.)
 */
int ca_der_strict(const uint8_t *p, size_t len, char *why, size_t whylen);
/*
 * Exactly one PEM block with the given label, nothing around it but
 * whitespace (util_pem_decode); a framing failure becomes code with the
 * message "<what> PEM ...".  (csr.c; import.c uses it.)
 */
pca_err ca_pem_one(const uint8_t *p, size_t len, const char *label,
    size_t max, pca_err code, const char *what, uint8_t **der,
    size_t *der_len) PCA_WUR;

/* ---- name syntax (lint_names.c) ---- */

/*
 * zlint's subject and SAN syntax rules: attribute string types and
 * charsets, no control characters, RFC 5280 Appendix A upper bounds;
 * dNSName (LDH labels, 253/63, wildcard only as the leftmost label, A-labels
 * only), rfc822Name, URI, iPAddress 4/16 octets (8/32 when nc: the subtrees
 * of nameConstraints), at most LIM_CERT_SANS names.  True when fine, else
 * false with the rule and the offending name (where) in d.
 */
int ca_lint_name_ok(const X509_NAME *, const char *where, char *d, size_t n);
int ca_lint_gens_ok(const GENERAL_NAMES *, int nc, const char *where,
    char *d, size_t n);
/* The CSR's subject and requested SAN under those rules: PCA_EBADCSR. */
pca_err ca_csr_names_check(const struct ca_csr *) PCA_WUR;

/* ---- algorithms (der.c) ---- */

/* DER AlgorithmIdentifier for alg (NULL params for RSA, none for ECDSA). */
pca_err ca_sigalg_der(enum pca_sigalg, uint8_t *out, size_t max,
    size_t *len) PCA_WUR;
/*
 * Certificate ::= SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING sig }.
 * The tbs bytes are copied verbatim: what was signed is what is emitted.
 */
pca_err ca_cert_assemble(const uint8_t *tbs, size_t tbs_len,
    enum pca_sigalg, const uint8_t *sig, size_t sig_len, uint8_t **der,
    size_t *der_len) PCA_WUR;
/* The same for a CertificationRequest (CA's own CSR) and a CRL. */
#define ca_csr_assemble ca_cert_assemble
#define ca_crl_assemble ca_cert_assemble
/* The key algorithm of a DER SubjectPublicKeyInfo (PCA_KEY_NONE if other). */
enum pca_keyalg ca_spki_keyalg(const uint8_t *spki, size_t len);
/* SHA-1 of the subjectPublicKey BIT STRING value (RFC 5280 4.2.1.2 (1)). */
pca_err ca_spki_keyid(const uint8_t *spki, size_t len, uint8_t out[20])
    PCA_WUR;
/*
 * A fresh serial: 16 CSPRNG bytes, first byte non-zero (so the ARN has 32
 * hex digits).  The value is positive when encoded as an INTEGER.
 */
pca_err ca_serial_new(uint8_t out[16]) PCA_WUR;

/* ---- names (subject.c) ---- */

/*
 * An ACM-PCA ASN1Subject object to an X509_NAME in the order of spec 4.6
 * (one attribute per RDN; C, dnQualifier, serialNumber PrintableString,
 * the rest UTF8String), or CustomAttributes in the given order.
 * PCA_EINVAL with the field named for bad lengths, patterns, a mix of
 * CustomAttributes and standard attributes, or no attribute at all.
 */
pca_err ca_subject_from_json(const json_t *subject, X509_NAME **out)
    PCA_WUR;
/* An ACM-PCA GeneralName object (exactly one member) to GENERAL_NAME. */
pca_err ca_general_name_from_json(const json_t *gn, GENERAL_NAME **out)
    PCA_WUR;
/* An X509_NAME back to an ASN1Subject object (for DescribeCA output). */
pca_err ca_subject_to_json(const X509_NAME *, json_t **out) PCA_WUR;

/* ---- templates (template.c) ---- */

enum ca_tmpl_family {
	CA_TF_END_ENTITY,		/* EndEntityCertificate */
	CA_TF_END_ENTITY_CLIENT,
	CA_TF_END_ENTITY_SERVER,
	CA_TF_CODE_SIGNING,
	CA_TF_OCSP_SIGNING,
	CA_TF_ROOT_CA,
	CA_TF_SUBORDINATE_CA,
	CA_TF_BLANK_END_ENTITY,
	CA_TF_BLANK_END_ENTITY_CRIT_BC,
	CA_TF_BLANK_SUBORDINATE_CA,
	CA_TF_BLANK_ROOT_CA,
};

struct ca_template {
	const char *name;		/* "EndEntityCertificate_APIPassthrough/V1" */
	enum ca_tmpl_family family;
	int api_passthrough;		/* honours ApiPassthrough */
	int csr_passthrough;		/* honours CSR extensions */
	int pathlen;			/* -1: none (or not a CA) */
};

/*
 * Looks up "arn:<partition>:acm-pca:::template/<Name>/V1" (any partition).
 * NULL for an unknown template.
 */
const struct ca_template *ca_template_find(const char *arn);
int ca_template_is_root(const struct ca_template *);
int ca_template_is_ca(const struct ca_template *);

/* ---- validity (validity.c) ---- */

struct ca_validity {
	const char *type;	/* END_DATE ABSOLUTE DAYS MONTHS YEARS */
	int64_t value;
	int has_not_before;
	const char *nb_type;	/* must be ABSOLUTE */
	int64_t nb_value;
};

/*
 * Resolves spec 4.5: notBefore defaults to now - 3600; relative forms count
 * from now with calendar arithmetic for MONTHS/YEARS (day clamped).
 * PCA_EINVAL when a type is unknown, END_DATE is not 12/14 digits or not a
 * valid time, notBefore >= notAfter, or notAfter <= now.
 */
pca_err ca_validity_resolve(const struct ca_validity *, int64_t now,
    int64_t *not_before, int64_t *not_after) PCA_WUR;

/* ---- building certificates (tbs.c) ---- */

struct ca_issuer {
	const uint8_t *name_der;	/* issuer Name DER: CA cert subject */
	size_t name_len;
	const uint8_t *ski;		/* issuer SKI for the AKI; NULL: none */
	size_t ski_len;
};

struct ca_tbs_req {
	const struct ca_issuer *issuer;
	const struct ca_csr *csr;
	const struct ca_template *tmpl;
	const json_t *api_passthrough;	/* ignored unless tmpl allows it */
	enum pca_sigalg sigalg;
	const uint8_t *serial;
	size_t serial_len;
	int64_t not_before;
	int64_t not_after;
	const char *cdp_uri;		/* CRL DP from the CA config, or NULL */
	const char *ocsp_uri;		/* AIA OCSP from the CA config, or NULL */
	/*
	 * nameConstraints extnValue (DER) from the issuing CA's policy, or
	 * NULL; added critical, ahead of ApiPassthrough and the CSR; CA
	 * templates only (PCA_EINVAL otherwise).
	 */
	const uint8_t *name_constraints;
	size_t name_constraints_len;
	const char *issuers_uri;	/* AIA caIssuers, with ocsp_uri only */
};

/*
 * Builds the DER TBSCertificate for spec section 4 (templates, passthrough
 * precedence, SKI/AKI, CDP/AIA).  The SPKI is copied from the CSR bytes
 * (never through an EVP_PKEY).  PCA_EINVAL names the offending field for a
 * bad ApiPassthrough (duplicate custom OID, bad GeneralName, ...).
 */
pca_err ca_tbs_build(const struct ca_tbs_req *, uint8_t **tbs,
    size_t *tbs_len) PCA_WUR;

/*
 * The CA's own CertificationRequestInfo: subject from an ASN1Subject,
 * extensionRequest only when csr_extensions (KeyUsage,
 * SubjectInformationAccess) is given, the token key's SPKI.
 */
pca_err ca_csr_info_build(const json_t *subject, const json_t *csr_extensions,
    const uint8_t *spki, size_t spki_len, uint8_t **cri, size_t *cri_len)
    PCA_WUR;

/* ---- the lint gate for CRLs and OCSP responses (lint.c) ---- */

/*
 * Checks a TBSCertList (the exact bytes crl/ is about to sign with sigalg)
 * against RFC 5280 5 / BR 7.2: strict DER, version v2, the inner
 * signature AlgorithmIdentifier, a non-empty issuer, thisUpdate and
 * nextUpdate (present, encodings, order), cRLNumber (present,
 * non-critical, <= 20 octets), AKI keyIdentifier, no duplicate
 * extensions; per entry a positive serial of <= 20 octets, a well-encoded
 * revocationDate, a non-critical valid reasonCode other than
 * unspecified.  PCA_EINVAL "lint: CRL: rule NAME (RFC ...): detail" on the
 * first violation.  Pure: no logging (the caller logs with the CA).
 */
pca_err ca_lint_crl_tbs(const uint8_t *tbs, size_t len,
    enum pca_sigalg sigalg) PCA_WUR;
/*
 * Checks a ResponseData (RFC 6960 4.2.1) about to be signed: strict DER,
 * version (v1 DEFAULT) omitted, a responderID, producedAt and every
 * SingleResponse's times as GeneralizedTime with seconds, thisUpdate <=
 * nextUpdate, a valid certStatus, no reasonCode in singleExtensions, no
 * duplicate responseExtensions.  Errors as ca_lint_crl_tbs ("lint: OCSP").
 */
pca_err ca_lint_ocsp_tbs(const uint8_t *tbs, size_t len,
    enum pca_sigalg sigalg) PCA_WUR;

/* ---- helpers shared by der.c, subject.c, template.c, tbs.c ---- */

/* A JSON path for messages (der.c); a path that does not fit is cut short. */
void ca_fieldf(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct buf;
/* Appends a TLV: low-number tag, minimal definite length, n bytes. */
pca_err ca_der_put(struct buf *, unsigned tag, const void *p, size_t n)
    PCA_WUR;
/* Makes the bytes appended since offset start the content of a TLV. */
pca_err ca_der_wrap(struct buf *, size_t start, unsigned tag) PCA_WUR;
/*
 * True when p..n is exactly one DER TLV with definite minimal lengths
 * whose constructed contents nest consistently (structure only).
 */
int ca_der_check(const uint8_t *p, size_t n);
/* A JSON string of at most max characters (UTF-8, no NUL). */
pca_err ca_json_string(const json_t *, const char *field, size_t max,
    const char **s, size_t *len) PCA_WUR;
/* A model CustomObjectIdentifier string ("1.2.3") to an object. */
pca_err ca_oid_from_json(const json_t *, const char *field,
    ASN1_OBJECT **out) PCA_WUR;
/* ca_general_name_from_json naming field (a JSON path) in errors. */
pca_err ca_gn_from_json(const json_t *, const char *field,
    GENERAL_NAME **out) PCA_WUR;
/* A GeneralNameList of 1..LIM_SAN_ENTRIES names. */
pca_err ca_general_names_from_json(const json_t *, const char *field,
    GENERAL_NAMES **out) PCA_WUR;
/*
 * An ACM-PCA KeyUsage object to the keyUsage extnValue (a DER BIT STRING
 * of at most 5 bytes); at least one usage must be true.
 */
pca_err ca_ku_from_json(const json_t *, const char *field, uint8_t out[5],
    size_t *len) PCA_WUR;
/* Every template of spec 4.2 (for tests and listings). */
const struct ca_template *ca_template_all(size_t *n);

/* ---- importing a CA certificate (import.c) ---- */

enum ca_type { CA_TYPE_ROOT = 1, CA_TYPE_SUBORDINATE = 2 };

struct ca_import {
	uint8_t *cert_der;	/* the CA certificate */
	size_t cert_len;
	uint8_t *chain_der;	/* chain certificates, DER, concatenated, */
	size_t chain_len;	/* issuer first, root last; NULL for ROOT */
	size_t chain_count;
	uint8_t serial[LIM_SERIAL_BYTES + 1];
	size_t serial_len;
	int64_t not_before;
	int64_t not_after;
	int pathlen;		/* -1: no pathLenConstraint */
};

/*
 * Every check of spec 2.4.4 in order; cert and chain are PEM (or DER for a
 * single certificate).  spki is the CA key's SPKI.  Errors: PCA_EBADCERT
 * (MalformedCertificate), PCA_EMISMATCH (CertificateMismatch), PCA_EBADREQ
 * (InvalidRequest), PCA_ETOOBIG.
 */
pca_err ca_import_check(enum ca_type, const uint8_t *spki, size_t spki_len,
    const uint8_t *cert, size_t cert_len, const uint8_t *chain,
    size_t chain_len, struct ca_import **out) PCA_WUR;
void ca_import_free(struct ca_import *);

#endif
