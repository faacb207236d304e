/*
 * profile.h - pure certificate building: CSR intake (RFC 2986), ACM-PCA
 * subjects and GeneralNames, the certificate templates (spec 4.2),
 * validity (spec 4.5), TBSCertificate assembly (spec 4), the CA's own
 * CertificationRequestInfo and the checks of an imported CA certificate
 * (spec 2.4.4).  No token, no store, no state: the engine (ca/) wires these
 * to hsm/ and store/.  Builds on x509/ (DER reading and writing, the lint
 * gate) and common/.  Thread-safe (no shared state).  The ACM-PCA shapes
 * (ASN1Subject, GeneralName, CsrExtensions, ApiPassthrough) still arrive
 * as jansson objects, as the engine's records hold them.
 */
#ifndef PCA_PROFILE_H
#define PCA_PROFILE_H

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
struct prof_csr {
	X509_NAME *subject; /* the subject, its DER as received */
	uint8_t *der;       /* the CSR, DER */
	size_t der_len;
	uint8_t *spki; /* SubjectPublicKeyInfo, DER */
	size_t spki_len;
	enum pca_keyalg keyalg; /* PCA_KEY_NONE for RSA sizes not in enum */
	int rsa_bits;           /* RSA modulus bits, 0 for EC */
	STACK_OF(X509_EXTENSION) *
	    exts; /* requested extensions (may be NULL) */
};

pca_err prof_csr_parse(const uint8_t *p, size_t len,
    struct prof_csr **out) PCA_WUR;
void prof_csr_free(struct prof_csr *);
/* True when the CSR subject is empty. */
int prof_csr_subject_empty(const struct prof_csr *);
/* True when the CSR requests a subjectAltName extension. */
int prof_csr_has_san(const struct prof_csr *);

/*
 * Exactly one PEM block with the given label, nothing around it but
 * whitespace (util_pem_decode); a framing failure becomes code with the
 * message "<what> PEM ...".  (csr.c; import.c uses it.)
 */
pca_err prof_pem_one(const uint8_t *p, size_t len, const char *label,
    size_t max, pca_err code, const char *what, uint8_t **der,
    size_t *der_len) PCA_WUR;

/*
 * The CSR's subject and requested SAN under the lint gate's name syntax
 * rules (x509_lint_name_ok, x509_lint_gens_ok): PCA_EBADCSR.
 * (lint_names.c)
 */
pca_err prof_csr_names_check(const struct prof_csr *) PCA_WUR;

/* ---- serial numbers (serial.c) ---- */

/*
 * A fresh serial: 16 CSPRNG bytes, first byte non-zero (so the ARN has 32
 * hex digits).  The value is positive when encoded as an INTEGER.
 */
pca_err prof_serial_new(uint8_t out[16]) PCA_WUR;

/* ---- names (subject.c) ---- */

/*
 * An ACM-PCA ASN1Subject object to an X509_NAME in the order of spec 4.6
 * (one attribute per RDN; C, dnQualifier, serialNumber PrintableString,
 * the rest UTF8String), or CustomAttributes in the given order.
 * PCA_EINVAL with the field named for bad lengths, patterns, a mix of
 * CustomAttributes and standard attributes, or no attribute at all.
 */
pca_err prof_subject_from_json(const json_t *subject, X509_NAME **out) PCA_WUR;
/* An ACM-PCA GeneralName object (exactly one member) to GENERAL_NAME. */
pca_err prof_general_name_from_json(const json_t *gn,
    GENERAL_NAME **out) PCA_WUR;
/* An X509_NAME back to an ASN1Subject object (for DescribeCA output). */
pca_err prof_subject_to_json(const X509_NAME *, json_t **out) PCA_WUR;

/* ---- templates (template.c) ---- */

enum prof_tmpl_family {
	PROF_TF_END_ENTITY, /* EndEntityCertificate */
	PROF_TF_END_ENTITY_CLIENT,
	PROF_TF_END_ENTITY_SERVER,
	PROF_TF_CODE_SIGNING,
	PROF_TF_OCSP_SIGNING,
	PROF_TF_ROOT_CA,
	PROF_TF_SUBORDINATE_CA,
	PROF_TF_BLANK_END_ENTITY,
	PROF_TF_BLANK_END_ENTITY_CRIT_BC,
	PROF_TF_BLANK_SUBORDINATE_CA,
	PROF_TF_BLANK_ROOT_CA,
};

struct prof_template {
	const char *name; /* "EndEntityCertificate_APIPassthrough/V1" */
	enum prof_tmpl_family family;
	int api_passthrough; /* honours ApiPassthrough */
	int csr_passthrough; /* honours CSR extensions */
	int pathlen;         /* -1: none (or not a CA) */
};

/*
 * Looks up "arn:<partition>:acm-pca:::template/<Name>/V1" (any partition).
 * NULL for an unknown template.
 */
const struct prof_template *prof_template_find(const char *arn);
int prof_template_is_root(const struct prof_template *);
int prof_template_is_ca(const struct prof_template *);

/* ---- validity (validity.c) ---- */

struct prof_validity {
	const char *type; /* END_DATE ABSOLUTE DAYS MONTHS YEARS */
	int64_t value;
	int has_not_before;
	const char *nb_type; /* must be ABSOLUTE */
	int64_t nb_value;
};

/*
 * Resolves spec 4.5: notBefore defaults to now - 3600; relative forms count
 * from now with calendar arithmetic for MONTHS/YEARS (day clamped).
 * PCA_EINVAL when a type is unknown, END_DATE is not 12/14 digits or not a
 * valid time, notBefore >= notAfter, or notAfter <= now.
 */
pca_err prof_validity_resolve(const struct prof_validity *, int64_t now,
    int64_t *not_before, int64_t *not_after) PCA_WUR;

/* ---- building certificates (tbs.c) ---- */

struct prof_issuer {
	const uint8_t *name_der; /* issuer Name DER: CA cert subject */
	size_t name_len;
	const uint8_t *ski; /* issuer SKI for the AKI; NULL: none */
	size_t ski_len;
};

struct prof_tbs_req {
	const struct prof_issuer *issuer;
	const struct prof_csr *csr;
	const struct prof_template *tmpl;
	const json_t *api_passthrough; /* ignored unless tmpl allows it */
	enum pca_sigalg sigalg;
	const uint8_t *serial;
	size_t serial_len;
	int64_t not_before;
	int64_t not_after;
	const char *cdp_uri;  /* CRL DP from the CA config, or NULL */
	const char *ocsp_uri; /* AIA OCSP from the CA config, or NULL */
	/*
	 * nameConstraints extnValue (DER) from the issuing CA's policy, or
	 * NULL; added critical, ahead of ApiPassthrough and the CSR; CA
	 * templates only (PCA_EINVAL otherwise).
	 */
	const uint8_t *name_constraints;
	size_t name_constraints_len;
	const char *issuers_uri; /* AIA caIssuers, with ocsp_uri only */
};

/*
 * Builds the DER TBSCertificate for spec section 4 (templates, passthrough
 * precedence, SKI/AKI, CDP/AIA).  The SPKI is copied from the CSR bytes
 * (never through an EVP_PKEY).  PCA_EINVAL names the offending field for a
 * bad ApiPassthrough (duplicate custom OID, bad GeneralName, ...).
 */
pca_err prof_tbs_build(const struct prof_tbs_req *, uint8_t **tbs,
    size_t *tbs_len) PCA_WUR;

/*
 * The CA's own CertificationRequestInfo: subject from an ASN1Subject,
 * extensionRequest only when csr_extensions (KeyUsage,
 * SubjectInformationAccess) is given, the token key's SPKI.
 */
pca_err prof_csr_info_build(const json_t *subject, const json_t *csr_extensions,
    const uint8_t *spki, size_t spki_len, uint8_t **cri,
    size_t *cri_len) PCA_WUR;

/* ---- importing a CA certificate (import.c) ---- */

enum prof_ca_type { PROF_CA_ROOT = 1, PROF_CA_SUBORDINATE = 2 };

struct prof_import {
	uint8_t *cert_der; /* the CA certificate */
	size_t cert_len;
	uint8_t *chain_der; /* chain certificates, DER, concatenated, */
	size_t chain_len;   /* issuer first, root last; NULL for ROOT */
	size_t chain_count;
	uint8_t serial[LIM_SERIAL_BYTES + 1];
	size_t serial_len;
	int64_t not_before;
	int64_t not_after;
	int pathlen; /* -1: no pathLenConstraint */
};

/*
 * Every check of spec 2.4.4 in order; cert and chain are PEM (or DER for a
 * single certificate).  spki is the CA key's SPKI.  Errors: PCA_EBADCERT
 * (MalformedCertificate), PCA_EMISMATCH (CertificateMismatch), PCA_EBADREQ
 * (InvalidRequest), PCA_ETOOBIG.
 */
pca_err prof_import_check(enum prof_ca_type, const uint8_t *spki,
    size_t spki_len, const uint8_t *cert, size_t cert_len, const uint8_t *chain,
    size_t chain_len, struct prof_import **out) PCA_WUR;
void prof_import_free(struct prof_import *);

#endif
