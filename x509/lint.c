/*
 * lint.c - the lint gate's generic rule runner and the helpers the
 * certificate, CRL and OCSP rule sets (lint_cert.c, lint_crl.c,
 * lint_ocsp.c) share.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "x509_int.h"

pca_err
x509_lint_run(const char *what, const struct x509_lint_rule *rules,
    size_t n, const void *in, const void *obj)
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
x509_lint_tlv_next(const uint8_t **p, size_t *left, unsigned *tag, const uint8_t **c,
    size_t *clen)
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
