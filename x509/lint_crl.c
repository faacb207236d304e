/*
 * lint_crl.c - the pre-signing lint gate for CRLs (RFC 5280 5, BR 7.2):
 * every TBSCertList is checked before crl/ signs it, on the very buffer
 * that is then signed.  Rule names follow zlint.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "x509_int.h"

#define LINT_REASON_REMOVE 8 /* removeFromCRL: delta CRLs only */

/* A non-negative INTEGER of at most 20 octets (RFC 5280 5.2.3). */
static int
crl_number_ok(const ASN1_INTEGER *v)
{
	int len = i2d_ASN1_INTEGER(v, NULL);

	return ASN1_STRING_type(v) == V_ASN1_INTEGER && len > 2 &&
	       len - 2 <= LINT_SERIAL_MAX;
}

static int
serial_ok(const ASN1_INTEGER *s)
{
	const unsigned char *p = ASN1_STRING_get0_data(s);
	int i, len = ASN1_STRING_length(s), zero = 1;

	for (i = 0; i < len; i++)
		zero &= p[i] == 0;
	return ASN1_STRING_type(s) == V_ASN1_INTEGER && !zero &&
	       i2d_ASN1_INTEGER(s, NULL) - 2 <= LINT_SERIAL_MAX;
}

/* Two extensions of the same OID among exts. */
static int
exts_dup(const STACK_OF(X509_EXTENSION) * exts)
{
	int i, j, c = sk_X509_EXTENSION_num(exts);

	for (i = 0; i < c; i++)
		for (j = i + 1; j < c; j++)
			if (OBJ_cmp(X509_EXTENSION_get_object(
					sk_X509_EXTENSION_value(exts, i)),
				X509_EXTENSION_get_object(
				    sk_X509_EXTENSION_value(exts, j))) == 0)
				return 1;
	return 0;
}

static const struct x509_lint_tbs crl_tbs = {"CRL", "TBSCertList",
    "crl_tbs_parses (RFC 5280 5.1)", ASN1_ITEM_ref(X509_CRL)};

/* version v2, then the signature AlgorithmIdentifier, read raw. */
static pca_err
crl_head(const uint8_t *tbs, size_t len, enum pca_sigalg sigalg)
{
	static const uint8_t v2[] = {0x01};
	const uint8_t *p, *c, *q;
	uint8_t want[32];
	size_t left, cl, ql, wl;
	unsigned tag;
	pca_err err;

	if ((err = x509_lint_tbs_open(&crl_tbs, tbs, len, &p, &left)) != PCA_OK)
		return err;
	if (!x509_lint_tlv_next(&p, &left, &tag, &q, &ql) || tag != 0x02 ||
	    ql != 1 || memcmp(q, v2, 1) != 0)
		return x509_lint_fail("CRL",
		    "crl_version_not_2 (RFC 5280 5.1.2.1)",
		    "version is not v2");
	q = p;
	if (!x509_lint_tlv_next(&p, &left, &tag, &c, &cl) ||
	    x509_sigalg_der(sigalg, want, sizeof(want), &wl) != PCA_OK ||
	    (size_t)(p - q) != wl || memcmp(q, want, wl) != 0) {
		pca_err_clear();
		return x509_lint_fail("CRL",
		    "crl_tbs_signature_alg_matches "
		    "(RFC 5280 5.1.2.2)",
		    "TBSCertList signature is not the "
		    "DER AlgorithmIdentifier of the signing algorithm");
	}
	return PCA_OK;
}

/* thisUpdate, nextUpdate: encodings and order. */
static int
crl_times(X509_CRL *x, char *d, size_t n)
{
	const ASN1_TIME *tu = X509_CRL_get0_lastUpdate(x);
	const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(x);
	char a[15], b[15];

	(void)snprintf(d, n,
	    "wrong_time_format (RFC 5280 5.1.2.4): "
	    "thisUpdate is not UTCTime before 2050 / GeneralizedTime after, "
	    "Zulu with seconds");
	if (tu == NULL || !x509_lint_time_ok(tu))
		return 0;
	(void)snprintf(d, n,
	    "crl_has_next_update (RFC 5280 5.1.2.5, BR 7.2): "
	    "nextUpdate is missing");
	if (nu == NULL)
		return 0;
	(void)snprintf(d, n,
	    "wrong_time_format (RFC 5280 5.1.2.5): "
	    "nextUpdate is not UTCTime before 2050 / GeneralizedTime after, "
	    "Zulu with seconds");
	if (!x509_lint_time_ok(nu))
		return 0;
	x509_lint_time_key(tu, a);
	x509_lint_time_key(nu, b);
	(void)snprintf(d, n,
	    "crl_next_update_before_this_update "
	    "(RFC 5280 5.1.2.5): nextUpdate %s is before thisUpdate %s",
	    b, a);
	return strcmp(a, b) <= 0;
}

/* cRLNumber present, non-critical, 0..2^159; AKI keyIdentifier. */
static int
crl_exts_ok(X509_CRL *x, char *d, size_t n)
{
	const STACK_OF(X509_EXTENSION) *exts = X509_CRL_get0_extensions(x);
	int i = X509_CRL_get_ext_by_NID(x, NID_crl_number, -1), ok;
	X509_EXTENSION *e;
	ASN1_INTEGER *num;
	AUTHORITY_KEYID *a;

	(void)snprintf(d, n,
	    "ext_duplicate_extension (RFC 5280 5.2): two "
	    "CRL extensions have the same OID");
	if (exts_dup(exts))
		return 0;
	(void)snprintf(d, n,
	    "crl_missing_crl_number (RFC 5280 5.2.3): "
	    "cRLNumber is missing, critical or not 0..20 octets");
	if (i < 0 || X509_EXTENSION_get_critical(e = X509_CRL_get_ext(x, i)) ||
	    (num = X509V3_EXT_d2i(e)) == NULL)
		return 0;
	ok = crl_number_ok(num);
	ASN1_INTEGER_free(num);
	if (!ok)
		return 0;
	(void)snprintf(d, n,
	    "crl_has_authority_key_identifier (RFC 5280 "
	    "5.2.1): authorityKeyIdentifier keyIdentifier missing or critical");
	i = X509_CRL_get_ext_by_NID(x, NID_authority_key_identifier, -1);
	if (i < 0 || X509_EXTENSION_get_critical(e = X509_CRL_get_ext(x, i)) ||
	    (a = X509V3_EXT_d2i(e)) == NULL)
		return 0;
	ok = a->keyid != NULL && ASN1_STRING_length(a->keyid) > 0;
	AUTHORITY_KEYID_free(a);
	return ok;
}

/* A valid CRLReason, non-critical, never unspecified(0) or 7. */
static int
crl_reason_ok(const X509_REVOKED *r, int delta)
{
	const STACK_OF(X509_EXTENSION) *exts = X509_REVOKED_get0_extensions(r);
	int i = X509v3_get_ext_by_NID(exts, NID_crl_reason, -1);
	X509_EXTENSION *e;
	ASN1_ENUMERATED *v;
	long c;

	if (i < 0)
		return 1;
	e = sk_X509_EXTENSION_value(exts, i);
	if (X509_EXTENSION_get_critical(e) || (v = X509V3_EXT_d2i(e)) == NULL)
		return 0;
	c = ASN1_ENUMERATED_get(v);
	ASN1_ENUMERATED_free(v);
	return c >= 1 && c <= 10 && c != 7 &&
	       (c != LINT_REASON_REMOVE || delta);
}

static int
crl_entries(X509_CRL *x, char *d, size_t n)
{
	STACK_OF(X509_REVOKED) *rs = X509_CRL_get_REVOKED(x);
	int i, c = sk_X509_REVOKED_num(rs);
	int delta = X509_CRL_get_ext_by_NID(x, NID_delta_crl, -1) >= 0;
	const X509_REVOKED *r;

	(void)snprintf(d, n,
	    "crl_empty_revoked_certificates (RFC 5280 "
	    "5.1.2.6): revokedCertificates is present but empty");
	if (rs != NULL && c == 0)
		return 0;
	for (i = 0; i < c; i++) {
		r = sk_X509_REVOKED_value(rs, i);
		(void)snprintf(d, n,
		    "serial_number_not_positive / longer_than_"
		    "20_octets (RFC 5280 5.1.2.6): entry %d",
		    i);
		if (!serial_ok(X509_REVOKED_get0_serialNumber(r)))
			return 0;
		/*
		 * Not checked: revocationDate <= thisUpdate
		 * (crl_revocation_time_not_after_this_update): crl/ backdates
		 * thisUpdate by an hour, so the last hour's revocations come
		 * after it.
		 */
		(void)snprintf(d, n,
		    "wrong_time_format (RFC 5280 5.1.2.6): "
		    "entry %d revocationDate is not UTCTime before 2050 / "
		    "GeneralizedTime after, Zulu with seconds",
		    i);
		if (!x509_lint_time_ok(X509_REVOKED_get0_revocationDate(r)))
			return 0;
		(void)snprintf(d, n,
		    "crl_valid_reason_codes (RFC 5280 5.3.1, "
		    "BR 7.2.2): entry %d reasonCode is critical, invalid or "
		    "unspecified(0)",
		    i);
		if (!crl_reason_ok(r, delta))
			return 0;
		(void)snprintf(d, n,
		    "ext_duplicate_extension (RFC 5280 5.3): "
		    "entry %d repeats an extension",
		    i);
		if (exts_dup(X509_REVOKED_get0_extensions(r)))
			return 0;
	}
	return 1;
}

/* The rules on the parsed CertificateList, in order. */
static int
r_issuer(const void *in, const void *obj, char *d, size_t n)
{
	(void)in;
	if (X509_NAME_entry_count(X509_CRL_get_issuer(obj)) > 0)
		return 1;
	(void)snprintf(d, n, "issuer name is empty");
	return 0;
}

static int
r_times(const void *in, const void *obj, char *d, size_t n)
{
	(void)in;
	return crl_times((X509_CRL *)obj, d, n);
}

static int
r_exts(const void *in, const void *obj, char *d, size_t n)
{
	(void)in;
	return crl_exts_ok((X509_CRL *)obj, d, n);
}

static int
r_entries(const void *in, const void *obj, char *d, size_t n)
{
	(void)in;
	return crl_entries((X509_CRL *)obj, d, n);
}

static const struct x509_lint_rule crl_rules[] = {
    {"issuer_field_empty (RFC 5280 5.1.2.3)", r_issuer},
    {NULL, r_times},
    {NULL, r_exts},
    {NULL, r_entries},
};

pca_err
x509_lint_crl(const uint8_t *tbs, size_t len, enum pca_sigalg sigalg)
{
	void *x = NULL;
	pca_err err;

	if ((err = crl_head(tbs, len, sigalg)) != PCA_OK ||
	    (err = x509_lint_tbs_parse(&crl_tbs, tbs, len, sigalg, &x)) !=
		PCA_OK)
		return err;
	err = x509_lint_run("CRL", crl_rules,
	    sizeof(crl_rules) / sizeof(crl_rules[0]), NULL, x);
	ERR_clear_error(); /* reported as the rule */
	X509_CRL_free(x);
	return err;
}
