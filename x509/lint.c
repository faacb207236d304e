/*
 * lint.c - the lint gate's generic rule runner and the helpers the
 * certificate, CRL and OCSP rule sets (lint_cert.c, lint_crl.c,
 * lint_ocsp.c) share.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>

#include "x509_int.h"

pca_err
x509_lint_run(const char *what, const struct x509_lint_rule *rules, size_t n,
    const void *in, const void *obj)
{
	char detail[256];
	size_t i;

	detail[0] = '\0';
	for (i = 0; i < n; i++) {
		if (rules[i].name != NULL)
			detail[0] = '\0';
		if (rules[i].fn(in, obj, detail, sizeof(detail)))
			continue;
		if (what == NULL)
			return pca_err_set(PCA_EINVAL, "lint: rule %s: %s",
			    rules[i].name, detail);
		if (rules[i].name == NULL)
			return pca_err_set(PCA_EINVAL, "lint: %s: rule %s",
			    what, detail);
		return x509_lint_fail(what, rules[i].name, detail);
	}
	return PCA_OK;
}

/* One element at *p (the TBS passed x509_der_strict); advances past it. */
int
x509_lint_tlv_next(const uint8_t **p, size_t *left, unsigned *tag,
    const uint8_t **c, size_t *clen)
{
	struct x509_der el;

	if (!x509_der_get(p, left, &el))
		return 0;
	*tag = el.id;
	*c = el.c;
	*clen = el.clen;
	return 1;
}

/* The 14 digits YYYYMMDDHHMMSS of a UTCTime or GeneralizedTime. */
void
x509_lint_time_key(const ASN1_TIME *t, char out[15])
{
	const unsigned char *p = ASN1_STRING_get0_data(t);
	int len = ASN1_STRING_length(t);

	memset(out, '0', 14);
	out[14] = '\0';
	if (ASN1_STRING_type(t) == V_ASN1_UTCTIME && len >= 12) {
		memcpy(out, p[0] >= '5' ? "19" : "20", 2);
		memcpy(out + 2, p, 12);
	} else if (len >= 14)
		memcpy(out, p, 14);
}

pca_err
x509_lint_tbs_open(const struct x509_lint_tbs *k, const uint8_t *tbs,
    size_t len, const uint8_t **c, size_t *clen)
{
	const uint8_t *p = tbs;
	size_t left = len;
	unsigned tag;
	char why[160];

	if (!x509_der_strict(tbs, len, why, sizeof(why)))
		return x509_lint_fail(k->what, "tbs_strict_der (X.690 10)",
		    why);
	if (x509_lint_tlv_next(&p, &left, &tag, c, clen) && tag == 0x30 &&
	    left == 0 && *clen != 0)
		return PCA_OK;
	(void)snprintf(why, sizeof(why), "the %s is not one DER SEQUENCE",
	    k->name);
	return x509_lint_fail(k->what, k->rule, why);
}

pca_err
x509_lint_tbs_parse(const struct x509_lint_tbs *k, const uint8_t *tbs,
    size_t len, enum pca_sigalg sigalg, void **out)
{
	static const uint8_t dummy_sig[1] = {0};
	uint8_t *der = NULL;
	size_t der_len;
	const unsigned char *p;
	ASN1_VALUE *v = NULL;
	char why[96];
	pca_err err;

	if ((err = x509_cert_assemble(tbs, len, sigalg, dummy_sig,
		 sizeof(dummy_sig), &der, &der_len)) != PCA_OK)
		return err;
	p = der;
	if (der_len > LONG_MAX ||
	    (v = ASN1_item_d2i(NULL, &p, (long)der_len,
		 ASN1_ITEM_ptr(k->it))) == NULL ||
	    p != der + der_len) {
		ASN1_item_free(v, ASN1_ITEM_ptr(k->it));
		ERR_clear_error(); /* reported as the rule */
		free(der);
		(void)snprintf(why, sizeof(why), "the %s does not parse",
		    k->name);
		return x509_lint_fail(k->what, k->rule, why);
	}
	free(der);
	*out = v;
	return PCA_OK;
}

pca_err
x509_lint_fail(const char *what, const char *rule, const char *detail)
{
	return pca_err_set(PCA_EINVAL, "lint: %s: rule %s: %s", what, rule,
	    detail);
}

/* UTCTime YYMMDDHHMMSSZ through 2049, GeneralizedTime from 2050. */
int
x509_lint_time_ok(const ASN1_TIME *t)
{
	const unsigned char *p = ASN1_STRING_get0_data(t);
	int len = ASN1_STRING_length(t);
	struct tm tm;

	if (!ASN1_TIME_to_tm(t, &tm) || len < 1 || p[len - 1] != 'Z')
		return 0;
	if (tm.tm_year + 1900 < 2050)
		return ASN1_STRING_type(t) == V_ASN1_UTCTIME && len == 13;
	return ASN1_STRING_type(t) == V_ASN1_GENERALIZEDTIME && len == 15;
}
