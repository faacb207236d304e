/*
 * x509_int.h - what the lint gate's files (lint.c, lint_cert.c,
 * lint_crl.c, lint_ocsp.c, lint_names.c) share inside x509/.
 */
#ifndef PCA_X509_INT_H
#define PCA_X509_INT_H

#include "x509.h"

#define LINT_SERIAL_MAX 20 /* RFC 5280 4.1.2.2 */

/* One element at *p of a TBS that passed x509_der_strict; past it. */
int x509_lint_tlv_next(const uint8_t **p, size_t *left, unsigned *tag,
    const uint8_t **c, size_t *clen);
/*
 * A to-be-signed structure the CRL and OCSP gates lint: what (rule
 * prefix), its ASN.1 name, the rule of a TBS that does not parse, and the
 * signed structure it becomes (the shape of a Certificate).
 */
struct x509_lint_tbs {
	const char *what;  /* "CRL", "OCSP" */
	const char *name;  /* "TBSCertList", "ResponseData" */
	const char *rule;  /* e.g. "crl_tbs_parses (RFC 5280 5.1)" */
	ASN1_ITEM_EXP *it; /* ASN1_ITEM_ref(X509_CRL), (OCSP_BASICRESP) */
};
/*
 * The walk both gates start with: tbs is strict DER (X.690 10) and exactly
 * one non-empty SEQUENCE; *c and *clen are its contents.
 */
pca_err x509_lint_tbs_open(const struct x509_lint_tbs *, const uint8_t *tbs,
    size_t len, const uint8_t **c, size_t *clen) PCA_WUR;
/*
 * tbs with a dummy signature of sigalg, parsed whole as k->it: *out (free
 * with the type's free function).
 */
pca_err x509_lint_tbs_parse(const struct x509_lint_tbs *k, const uint8_t *tbs,
    size_t len, enum pca_sigalg sigalg, void **out) PCA_WUR;
/* A UTCTime through 2049, GeneralizedTime after, with seconds and Z
 * (RFC 5280 4.1.2.5). */
int x509_lint_time_ok(const ASN1_TIME *);
/* The 14 digits YYYYMMDDHHMMSS of a UTCTime or GeneralizedTime. */
void x509_lint_time_key(const ASN1_TIME *, char out[15]);
/* PCA_EINVAL "lint: WHAT: rule RULE: detail". */
pca_err x509_lint_fail(const char *what, const char *rule, const char *detail);

#endif
