/*
 * lint_ocsp.c - the pre-signing lint gate for OCSP responses (RFC 6960
 * 4.2.1, RFC 9919): every ResponseData is checked before ocsp/ signs it,
 * on the very buffer that is then signed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "x509_int.h"

/* GeneralizedTime YYYYMMDDHHMMSSZ (RFC 6960 4.2.2.1, RFC 9919). */
static int
gtime_ok(const ASN1_GENERALIZEDTIME *t)
{
	const unsigned char *p = t ? ASN1_STRING_get0_data(t) : NULL;

	return t != NULL && ASN1_STRING_type(t) == V_ASN1_GENERALIZEDTIME &&
	       ASN1_STRING_length(t) == 15 && p[14] == 'Z' &&
	       ASN1_TIME_check(t);
}

static int
ocsp_single_ok(OCSP_SINGLERESP *s, int i, char *d, size_t n)
{
	ASN1_GENERALIZEDTIME *rev = NULL, *tu = NULL, *nu = NULL;
	int reason = -1,
	    st = OCSP_single_get0_status(s, &reason, &rev, &tu, &nu);
	char a[15], b[15];

	(void)snprintf(d, n,
	    "ocsp_cert_status (RFC 6960 4.2.1): response %d "
	    "certStatus is not good, revoked or unknown",
	    i);
	if (st != V_OCSP_CERTSTATUS_GOOD && st != V_OCSP_CERTSTATUS_REVOKED &&
	    st != V_OCSP_CERTSTATUS_UNKNOWN)
		return 0;
	(void)snprintf(d, n,
	    "ocsp_revoked_info (RFC 6960 4.2.1, RFC 5280 "
	    "5.3.1): response %d revocationTime or revocationReason invalid",
	    i);
	if (st == V_OCSP_CERTSTATUS_REVOKED &&
	    (!gtime_ok(rev) ||
		(reason != -1 && (reason < 0 || reason > 10 || reason == 7))))
		return 0;
	(void)snprintf(d, n,
	    "ocsp_time_format (RFC 9919 4.2): response %d "
	    "thisUpdate/nextUpdate missing or not GeneralizedTime "
	    "YYYYMMDDHHMMSSZ",
	    i);
	if (!gtime_ok(tu) || !gtime_ok(nu))
		return 0;
	x509_lint_time_key(tu, a);
	x509_lint_time_key(nu, b);
	(void)snprintf(d, n,
	    "ocsp_next_update_before_this_update (RFC 6960 "
	    "4.2.2.1): response %d nextUpdate %s is before thisUpdate %s",
	    i, b, a);
	if (strcmp(a, b) > 0)
		return 0;
	(void)snprintf(d, n,
	    "ocsp_reason_in_single_extensions (BR 7.3): "
	    "response %d carries a reasonCode in singleExtensions",
	    i);
	return OCSP_SINGLERESP_get_ext_by_NID(s, NID_crl_reason, -1) < 0;
}

/* BasicOCSPResponse has the shape of a Certificate */
static const struct x509_lint_tbs ocsp_tbs = {"OCSP", "ResponseData",
    "ocsp_tbs_parses (RFC 6960 4.2.1)", ASN1_ITEM_ref(OCSP_BASICRESP)};

/* version: DEFAULT v1 must be omitted in DER (X.690 11.5). */
static pca_err
ocsp_head(const uint8_t *tbs, size_t len)
{
	const uint8_t *c;
	size_t cl;
	pca_err err;

	if ((err = x509_lint_tbs_open(&ocsp_tbs, tbs, len, &c, &cl)) != PCA_OK)
		return err;
	if (c[0] == 0xa0)
		return x509_lint_fail("OCSP",
		    "ocsp_version_v1_omitted (RFC 6960 "
		    "4.2.1, X.690 11.5)",
		    "version is present (v1 is the "
		    "DEFAULT and must be omitted)");
	return PCA_OK;
}

static int
ocsp_body_ok(OCSP_BASICRESP *bs, char *d, size_t n)
{
	const ASN1_OCTET_STRING *kid = NULL;
	const X509_NAME *name = NULL;
	int i, c = OCSP_resp_count(bs);

	(void)snprintf(d, n,
	    "ocsp_responder_id (RFC 6960 4.2.2.3): "
	    "responderID is neither a 20-octet byKey nor a non-empty byName");
	if (!OCSP_resp_get0_id(bs, &kid, &name) ||
	    (kid != NULL && ASN1_STRING_length(kid) != 20) ||
	    (name != NULL && X509_NAME_entry_count(name) == 0))
		return 0;
	(void)snprintf(d, n,
	    "ocsp_produced_at (RFC 6960 4.2.1, RFC 9919 4.2): "
	    "producedAt is not GeneralizedTime YYYYMMDDHHMMSSZ");
	if (!gtime_ok(OCSP_resp_get0_produced_at(bs)))
		return 0;
	(void)snprintf(d, n,
	    "ocsp_responses_present (RFC 6960 4.2.1): no "
	    "SingleResponse");
	if (c <= 0)
		return 0;
	for (i = 0; i < c; i++)
		if (!ocsp_single_ok(OCSP_resp_get0(bs, i), i, d, n))
			return 0;
	(void)snprintf(d, n,
	    "ext_duplicate_extension (RFC 6960 4.4): "
	    "responseExtensions repeat an extension");
	for (i = 0; i < OCSP_BASICRESP_get_ext_count(bs); i++)
		if (OCSP_BASICRESP_get_ext_by_OBJ(bs,
			X509_EXTENSION_get_object(
			    OCSP_BASICRESP_get_ext(bs, i)),
			i) >= 0)
			return 0;
	return 1;
}

static int
r_body(const void *in, const void *obj, char *d, size_t n)
{
	(void)in;
	return ocsp_body_ok((OCSP_BASICRESP *)obj, d, n);
}

static const struct x509_lint_rule ocsp_rules[] = {
    {NULL, r_body},
};

pca_err
x509_lint_ocsp(const uint8_t *tbs, size_t len, enum pca_sigalg sigalg)
{
	void *bs = NULL;
	pca_err err;

	if ((err = ocsp_head(tbs, len)) != PCA_OK ||
	    (err = x509_lint_tbs_parse(&ocsp_tbs, tbs, len, sigalg, &bs)) !=
		PCA_OK)
		return err;
	err = x509_lint_run("OCSP", ocsp_rules,
	    sizeof(ocsp_rules) / sizeof(ocsp_rules[0]), NULL, bs);
	ERR_clear_error(); /* reported as the rule */
	OCSP_BASICRESP_free(bs);
	return err;
}
