/*
 * lint.c - the pre-signing lint gate (BR 4.3.1.2): every TBSCertificate,
 * TBSCertList (crl/) and OCSP ResponseData (ocsp/) is checked against the
 * RFC 5280 / RFC 6960 / CA/Browser Forum profile rules of
 * research/reliability.md 1.1-1.3 before it is signed.  The
 * rule names follow zlint (zmap/zlint v3/lints).  A failure is PCA_EINVAL
 * naming the rule; the caller logs it with the CA.  The gate reads the very
 * buffer that is then signed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "../common/x509.h"
#include "../x509/x509.h"
#include "engine_int.h"

#define LINT_SERIAL_MAX 20

static int
l_der(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	char why[160];

	(void)x;
	if (ca_der_strict(r->tbs, r->tbs_len, why, sizeof(why)))
		return 1;
	(void)snprintf(d, n, "%s", why);
	return 0;
}

static int
l_version(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	(void)r;
	(void)snprintf(d, n, "version is not v3");
	return X509_get_version(x) == X509_VERSION_3;
}

static int
l_serial_pos(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(x);
	const unsigned char *p = ASN1_STRING_get0_data(s);
	int i, len = ASN1_STRING_length(s), zero = 1;

	(void)r;
	for (i = 0; i < len; i++)
		zero &= p[i] == 0;
	(void)snprintf(d, n, "serial number is zero or negative");
	return ASN1_STRING_type(s) == V_ASN1_INTEGER && !zero;
}

static int
l_serial_len(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	int len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), NULL);

	(void)r;
	(void)snprintf(d, n, "serial number is %d octets", len - 2);
	return len > 2 && len - 2 <= LINT_SERIAL_MAX;
}

static int
l_sigalg(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	uint8_t want[32];
	unsigned char *got = NULL;
	size_t wl;
	int gl, ok;

	(void)snprintf(d, n, "TBS signature is not the DER AlgorithmIdentifier "
			     "of %s", pca_sigalg_name(r->sigalg));
	if (ca_sigalg_der(r->sigalg, want, sizeof(want), &wl) != PCA_OK) {
		pca_err_clear();
		return 0;
	}
	gl = i2d_X509_ALGOR(X509_get0_tbs_sigalg(x), &got);
	ok = gl > 0 && (size_t)gl == wl && memcmp(got, want, wl) == 0;
	OPENSSL_free(got);
	return ok;
}

/* UTCTime YYMMDDHHMMSSZ through 2049, GeneralizedTime from 2050. */
static int
time_ok(const ASN1_TIME *t)
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

static int
l_time(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	(void)r;
	(void)snprintf(d, n, "validity times are not UTCTime before 2050 / "
			     "GeneralizedTime from 2050, Zulu with seconds");
	return time_ok(X509_get0_notBefore(x)) &&
	    time_ok(X509_get0_notAfter(x));
}

static int
l_validity(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	(void)r;
	(void)snprintf(d, n, "notAfter is before notBefore");
	return ASN1_TIME_compare(X509_get0_notBefore(x),
		   X509_get0_notAfter(x)) <= 0;
}

static int
l_spki(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	X509_ALGOR *alg = NULL;
	const void *pval;
	int ptype, nid;

	(void)r;
	if (!X509_PUBKEY_get0_param(NULL, NULL, NULL, &alg,
		X509_get_X509_PUBKEY(x)))
		return 0;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	nid = OBJ_obj2nid(alg->algorithm);
	(void)snprintf(d, n, "SubjectPublicKeyInfo parameters: RSA needs NULL, "
			     "EC a namedCurve");
	if (nid == NID_rsaEncryption)
		return ptype == V_ASN1_NULL;
	if (nid == NID_X9_62_id_ecPublicKey)
		return ptype == V_ASN1_OBJECT;
	(void)snprintf(d, n, "key algorithm %s is not RSA or EC",
	    OBJ_nid2sn(nid));
	return 0;
}

static int
l_dup(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	int i, j, c = X509_get_ext_count(x);

	(void)r;
	for (i = 0; i < c; i++)
		for (j = i + 1; j < c; j++)
			if (OBJ_cmp(X509_EXTENSION_get_object(X509_get_ext(x, i)),
				X509_EXTENSION_get_object(
				    X509_get_ext(x, j))) == 0) {
				(void)snprintf(d, n, "extensions %d and %d "
						     "have the same OID", i, j);
				return 0;
			}
	return 1;
}

/* The extension of nid (NULL when absent; l_dup guarantees one at most). */
static X509_EXTENSION *
ext_of(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	return i < 0 ? NULL : X509_get_ext(x, i);
}

static int
l_san(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	X509_EXTENSION *e = ext_of(x, NID_subject_alt_name);
	GENERAL_NAMES *g;
	int entries;

	(void)r;
	if (e == NULL) {
		(void)snprintf(d, n, "an empty subject needs a subjectAltName "
				     "(ext_san_missing)");
		return X509_NAME_entry_count(X509_get_subject_name(x)) > 0;
	}
	g = X509V3_EXT_d2i(e);
	entries = g ? sk_GENERAL_NAME_num(g) : 0;
	GENERAL_NAMES_free(g);
	(void)snprintf(d, n, "subjectAltName has no entries "
			     "(ext_san_no_entries)");
	if (entries <= 0)
		return 0;
	(void)snprintf(d, n, "subjectAltName must be critical when the "
			     "subject is empty (ext_san_not_critical_without_"
			     "subject)");
	return X509_NAME_entry_count(X509_get_subject_name(x)) > 0 ||
	    X509_EXTENSION_get_critical(e);
}

/* basicConstraints cA, or 0 when absent; *crit its criticality. */
static int
bc_ca(X509 *x, int *crit, int *has_pathlen)
{
	X509_EXTENSION *e = ext_of(x, NID_basic_constraints);
	BASIC_CONSTRAINTS *bc;
	int ca;

	*crit = e ? X509_EXTENSION_get_critical(e) : 0;
	*has_pathlen = 0;
	if (e == NULL || (bc = X509V3_EXT_d2i(e)) == NULL)
		return 0;
	ca = bc->ca != 0;
	*has_pathlen = bc->pathlen != NULL;
	BASIC_CONSTRAINTS_free(bc);
	return ca;
}

static int
ku_bits(X509 *x, int *present)
{
	X509_EXTENSION *e = ext_of(x, NID_key_usage);
	ASN1_BIT_STRING *ku;
	int bits = 0, i;

	*present = e != NULL;
	if (e == NULL || (ku = X509V3_EXT_d2i(e)) == NULL)
		return 0;
	for (i = 0; i < 9; i++)
		if (ASN1_BIT_STRING_get_bit(ku, i))
			bits |= 1 << i;
	ASN1_BIT_STRING_free(ku);
	return bits;
}

#define KU_CERT_SIGN (1 << 5)

static int
l_ca(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	int crit, pl, kup, ku = ku_bits(x, &kup), ca = bc_ca(x, &crit, &pl);

	(void)r;
	if (!ca) {
		(void)snprintf(d, n, "pathLenConstraint without cA "
				     "(path_len_constraint_improperly_"
				     "included)");
		if (pl)
			return 0;
		(void)snprintf(d, n, "keyCertSign without cA in "
				     "basicConstraints (ext_key_usage_cert_"
				     "sign_without_ca, RFC 5280 4.2.1.9)");
		return !(ku & KU_CERT_SIGN);
	}
	(void)snprintf(d, n, "CA certificate: basicConstraints not critical "
			     "(basic_constraints_not_critical)");
	if (!crit)
		return 0;
	(void)snprintf(d, n, "CA certificate without keyUsage keyCertSign "
			     "(ca_key_cert_sign_not_set)");
	if (!kup || !(ku & KU_CERT_SIGN))
		return 0;
	(void)snprintf(d, n, "CA certificate without subjectKeyIdentifier "
			     "(ext_subject_key_identifier_missing_ca)");
	if (ext_of(x, NID_subject_key_identifier) == NULL)
		return 0;
	(void)snprintf(d, n, "CA certificate with an empty subject "
			     "(ca_subject_field_empty)");
	return X509_NAME_entry_count(X509_get_subject_name(x)) > 0;
}

static int
l_ku_empty(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	int present, bits = ku_bits(x, &present);

	(void)r;
	(void)snprintf(d, n, "keyUsage without any bit set "
			     "(ext_key_usage_without_bits)");
	return !present || bits != 0;
}

static int
l_aki(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	X509_EXTENSION *e = ext_of(x, NID_authority_key_identifier);
	AUTHORITY_KEYID *a;
	int ok;

	/* a root's own (or renewed) certificate: issuer == subject */
	if (r->self_issued || X509_NAME_cmp(X509_get_issuer_name(x),
				  X509_get_subject_name(x)) == 0)
		return 1;
	(void)snprintf(d, n, "authorityKeyIdentifier keyIdentifier missing "
			     "(ext_authority_key_identifier_no_key_"
			     "identifier)");
	if (e == NULL || (a = X509V3_EXT_d2i(e)) == NULL)
		return 0;
	ok = a->keyid != NULL && ASN1_STRING_length(a->keyid) > 0;
	AUTHORITY_KEYID_free(a);
	(void)snprintf(d, n, "authorityKeyIdentifier must not be critical "
			     "(ext_authority_key_identifier_critical)");
	return ok && !X509_EXTENSION_get_critical(e);
}

/* nameConstraints: CA certificates only, critical, not empty. */
static int
l_nc(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	X509_EXTENSION *e = ext_of(x, NID_name_constraints);
	NAME_CONSTRAINTS *nc;
	int crit, pl, ok;

	(void)r;
	if (e == NULL)
		return 1;
	(void)snprintf(d, n, "nameConstraints in a certificate that is not a "
			     "CA (name_constraint_on_end_entity)");
	if (!bc_ca(x, &crit, &pl))
		return 0;
	(void)snprintf(d, n, "nameConstraints not critical "
			     "(ext_name_constraints_not_critical)");
	if (!X509_EXTENSION_get_critical(e))
		return 0;
	(void)snprintf(d, n, "nameConstraints with no subtree "
			     "(name_constraint_empty)");
	if ((nc = X509V3_EXT_d2i(e)) == NULL)
		return 0;
	ok = sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) > 0 ||
	    sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) > 0;
	NAME_CONSTRAINTS_free(nc);
	return ok;
}

static int
l_subject_names(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	(void)r;
	return ca_lint_name_ok(X509_get_subject_name(x), "subject", d, n);
}

static int
l_san_names(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	X509_EXTENSION *e = ext_of(x, NID_subject_alt_name);
	GENERAL_NAMES *g;
	int ok;

	(void)r;
	if (e == NULL)
		return 1;
	(void)snprintf(d, n, "subjectAltName does not decode");
	if ((g = X509V3_EXT_d2i(e)) == NULL)
		return 0;
	ok = ca_lint_gens_ok(g, 0, "subjectAltName", d, n);
	GENERAL_NAMES_free(g);
	return ok;
}

static int
subtrees_ok(const STACK_OF(GENERAL_SUBTREE) *st, char *d, size_t n)
{
	GENERAL_NAMES *g = sk_GENERAL_NAME_new_null();
	int i, ok;

	(void)snprintf(d, n, "no memory");
	if (g == NULL)
		return 0;
	for (i = 0; i < sk_GENERAL_SUBTREE_num(st); i++)
		if (!sk_GENERAL_NAME_push(g,
			sk_GENERAL_SUBTREE_value(st, i)->base)) {
			sk_GENERAL_NAME_free(g);
			return 0;
		}
	ok = ca_lint_gens_ok(g, 1, "nameConstraints", d, n);
	sk_GENERAL_NAME_free(g);	/* the names belong to st */
	return ok;
}

static int
l_nc_names(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	X509_EXTENSION *e = ext_of(x, NID_name_constraints);
	NAME_CONSTRAINTS *nc;
	int ok;

	(void)r;
	if (e == NULL || (nc = X509V3_EXT_d2i(e)) == NULL)
		return 1;	/* l_nc judges presence and decoding */
	ok = subtrees_ok(nc->permittedSubtrees, d, n) &&
	    subtrees_ok(nc->excludedSubtrees, d, n);
	NAME_CONSTRAINTS_free(nc);
	return ok;
}

static int
l_issuer(const struct ca_lint_req *r, X509 *x, char *d, size_t n)
{
	(void)r;
	(void)snprintf(d, n, "issuer name is empty (issuer_field_empty)");
	return X509_NAME_entry_count(X509_get_issuer_name(x)) > 0;
}

static const struct lint_rule {
	const char *name;	/* zlint name, RFC section */
	int (*fn)(const struct ca_lint_req *, X509 *, char *, size_t);
} lint_rules[] = {
    {"tbs_strict_der (X.690 10)", l_der},
    {"cert_version_not_3 (RFC 5280 4.1.2.1)", l_version},
    {"serial_number_not_positive (RFC 5280 4.1.2.2)", l_serial_pos},
    {"serial_number_longer_than_20_octets (RFC 5280 4.1.2.2)", l_serial_len},
    {"tbs_signature_alg_matches_cert_signature_alg (RFC 5280 4.1.2.3)",
	l_sigalg},
    {"wrong_time_format (RFC 5280 4.1.2.5)", l_time},
    {"validity_order (RFC 5280 4.1.2.5)", l_validity},
    {"spki_algorithm_parameters (RFC 5280 4.1.2.7, BR 7.1.3)", l_spki},
    {"issuer_field_empty (RFC 5280 4.1.2.4)", l_issuer},
    {"ext_duplicate_extension (RFC 5280 4.2)", l_dup},
    {"ext_san (RFC 5280 4.2.1.6)", l_san},
    {"ca_profile (RFC 5280 4.2.1.9, 4.2.1.3, 4.2.1.2)", l_ca},
    {"ext_key_usage_without_bits (RFC 5280 4.2.1.3)", l_ku_empty},
    {"ext_authority_key_identifier (RFC 5280 4.2.1.1)", l_aki},
    {"ext_name_constraints (RFC 5280 4.2.1.10)", l_nc},
    {"subject_name_syntax (RFC 5280 4.1.2.6, Appendix A)", l_subject_names},
    {"ext_san_syntax (RFC 5280 4.2.1.6)", l_san_names},
    {"ext_name_constraints_syntax (RFC 5280 4.2.1.10)", l_nc_names},
};

pca_err
ca_lint_tbs(const struct ca_lint_req *r)
{
	static const uint8_t dummy_sig[1] = {0};
	uint8_t *der = NULL;
	size_t der_len, i;
	char detail[256];
	X509 *x = NULL;
	pca_err err;

	if ((err = ca_cert_assemble(r->tbs, r->tbs_len, r->sigalg,
		 dummy_sig, sizeof(dummy_sig), &der, &der_len)) != PCA_OK)
		return err;
	/* parsed without decoding the key: the rules read SPKI bytes only */
	if ((x = util_x509_parse_nokey(der, der_len)) == NULL) {
		ERR_clear_error(); /* reported as the rule below */
		err = pca_err_set(PCA_EINVAL, "lint: rule tbs_parses "
					      "(RFC 5280 4.1): the "
					      "TBSCertificate does not parse");
		goto out;
	}
	for (i = 0; i < sizeof(lint_rules) / sizeof(lint_rules[0]); i++) {
		detail[0] = '\0';
		if (lint_rules[i].fn(r, x, detail, sizeof(detail)))
			continue;
		err = pca_err_set(PCA_EINVAL, "lint: rule %s: %s",
		    lint_rules[i].name, detail);
		goto out;
	}
out:
	ERR_clear_error(); /* decoders of absent extensions leave nothing */
	X509_free(x);
	free(der);
	return err;
}

/* ---- CRLs (RFC 5280 5, BR 7.2) and OCSP responses (RFC 6960 4.2.1) ---- */

#define LINT_REASON_REMOVE 8	/* removeFromCRL: delta CRLs only */

/* One element at *p (the TBS passed x509_der_strict); advances past it. */
static int
tlv_next(const uint8_t **p, size_t *left, unsigned *tag, const uint8_t **c,
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
static void
time_key(const ASN1_TIME *t, char out[15])
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
exts_dup(const STACK_OF(X509_EXTENSION) *exts)
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

static pca_err
lint_fail(const char *what, const char *rule, const char *detail)
{
	return pca_err_set(PCA_EINVAL, "lint: %s: rule %s: %s", what, rule,
	    detail);
}

/* version v2, then the signature AlgorithmIdentifier, read raw. */
static pca_err
crl_head(const uint8_t *tbs, size_t len, enum pca_sigalg sigalg)
{
	static const uint8_t v2[] = {0x01};
	const uint8_t *p = tbs, *c, *q;
	uint8_t want[32];
	size_t left = len, cl, ql, wl;
	unsigned tag;

	if (!tlv_next(&p, &left, &tag, &c, &cl) || tag != 0x30 || left != 0)
		return lint_fail("CRL", "crl_tbs_parses (RFC 5280 5.1)",
		    "the TBSCertList is not one DER SEQUENCE");
	p = c;
	left = cl;
	if (!tlv_next(&p, &left, &tag, &q, &ql) || tag != 0x02 || ql != 1 ||
	    memcmp(q, v2, 1) != 0)
		return lint_fail("CRL", "crl_version_not_2 (RFC 5280 5.1.2.1)",
		    "version is not v2");
	q = p;
	if (!tlv_next(&p, &left, &tag, &c, &cl) ||
	    ca_sigalg_der(sigalg, want, sizeof(want), &wl) != PCA_OK ||
	    (size_t)(p - q) != wl || memcmp(q, want, wl) != 0) {
		pca_err_clear();
		return lint_fail("CRL", "crl_tbs_signature_alg_matches "
		    "(RFC 5280 5.1.2.2)", "TBSCertList signature is not the "
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

	(void)snprintf(d, n, "wrong_time_format (RFC 5280 5.1.2.4): "
	    "thisUpdate is not UTCTime before 2050 / GeneralizedTime after, "
	    "Zulu with seconds");
	if (tu == NULL || !time_ok(tu))
		return 0;
	(void)snprintf(d, n, "crl_has_next_update (RFC 5280 5.1.2.5, BR 7.2): "
	    "nextUpdate is missing");
	if (nu == NULL)
		return 0;
	(void)snprintf(d, n, "wrong_time_format (RFC 5280 5.1.2.5): "
	    "nextUpdate is not UTCTime before 2050 / GeneralizedTime after, "
	    "Zulu with seconds");
	if (!time_ok(nu))
		return 0;
	time_key(tu, a);
	time_key(nu, b);
	(void)snprintf(d, n, "crl_next_update_before_this_update "
	    "(RFC 5280 5.1.2.5): nextUpdate %s is before thisUpdate %s", b, a);
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

	(void)snprintf(d, n, "ext_duplicate_extension (RFC 5280 5.2): two "
	    "CRL extensions have the same OID");
	if (exts_dup(exts))
		return 0;
	(void)snprintf(d, n, "crl_missing_crl_number (RFC 5280 5.2.3): "
	    "cRLNumber is missing, critical or not 0..20 octets");
	if (i < 0 || X509_EXTENSION_get_critical(e = X509_CRL_get_ext(x, i)) ||
	    (num = X509V3_EXT_d2i(e)) == NULL)
		return 0;
	ok = crl_number_ok(num);
	ASN1_INTEGER_free(num);
	if (!ok)
		return 0;
	(void)snprintf(d, n, "crl_has_authority_key_identifier (RFC 5280 "
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

	(void)snprintf(d, n, "crl_empty_revoked_certificates (RFC 5280 "
	    "5.1.2.6): revokedCertificates is present but empty");
	if (rs != NULL && c == 0)
		return 0;
	for (i = 0; i < c; i++) {
		r = sk_X509_REVOKED_value(rs, i);
		(void)snprintf(d, n, "serial_number_not_positive / longer_than_"
		    "20_octets (RFC 5280 5.1.2.6): entry %d", i);
		if (!serial_ok(X509_REVOKED_get0_serialNumber(r)))
			return 0;
		/*
		 * Not checked: revocationDate <= thisUpdate
		 * (crl_revocation_time_not_after_this_update): crl/ backdates
		 * thisUpdate by an hour, so the last hour's revocations come
		 * after it.
		 */
		(void)snprintf(d, n, "wrong_time_format (RFC 5280 5.1.2.6): "
		    "entry %d revocationDate is not UTCTime before 2050 / "
		    "GeneralizedTime after, Zulu with seconds", i);
		if (!time_ok(X509_REVOKED_get0_revocationDate(r)))
			return 0;
		(void)snprintf(d, n, "crl_valid_reason_codes (RFC 5280 5.3.1, "
		    "BR 7.2.2): entry %d reasonCode is critical, invalid or "
		    "unspecified(0)", i);
		if (!crl_reason_ok(r, delta))
			return 0;
		(void)snprintf(d, n, "ext_duplicate_extension (RFC 5280 5.3): "
		    "entry %d repeats an extension", i);
		if (exts_dup(X509_REVOKED_get0_extensions(r)))
			return 0;
	}
	return 1;
}

pca_err
ca_lint_crl_tbs(const uint8_t *tbs, size_t len, enum pca_sigalg sigalg)
{
	static const uint8_t dummy_sig[1] = {0};
	uint8_t *der = NULL;
	size_t der_len;
	const unsigned char *p;
	char detail[256], why[160];
	X509_CRL *x = NULL;
	pca_err err;

	if (!ca_der_strict(tbs, len, why, sizeof(why)))
		return lint_fail("CRL", "tbs_strict_der (X.690 10)", why);
	if ((err = crl_head(tbs, len, sigalg)) != PCA_OK)
		return err;
	if ((err = ca_crl_assemble(tbs, len, sigalg, dummy_sig,
		 sizeof(dummy_sig), &der, &der_len)) != PCA_OK)
		return err;
	p = der;
	if (der_len > LONG_MAX ||
	    (x = d2i_X509_CRL(NULL, &p, (long)der_len)) == NULL ||
	    p != der + der_len) {
		err = lint_fail("CRL", "crl_tbs_parses (RFC 5280 5.1)",
		    "the TBSCertList does not parse");
		goto out;
	}
	detail[0] = '\0';
	if (X509_NAME_entry_count(X509_CRL_get_issuer(x)) == 0)
		err = lint_fail("CRL", "issuer_field_empty (RFC 5280 5.1.2.3)",
		    "issuer name is empty");
	else if (!crl_times(x, detail, sizeof(detail)) ||
	    !crl_exts_ok(x, detail, sizeof(detail)) ||
	    !crl_entries(x, detail, sizeof(detail)))
		err = pca_err_set(PCA_EINVAL, "lint: CRL: rule %s", detail);
out:
	ERR_clear_error(); /* reported as the rule above */
	X509_CRL_free(x);
	free(der);
	return err;
}

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
	int reason = -1, st = OCSP_single_get0_status(s, &reason, &rev, &tu,
	    &nu);
	char a[15], b[15];

	(void)snprintf(d, n, "ocsp_cert_status (RFC 6960 4.2.1): response %d "
	    "certStatus is not good, revoked or unknown", i);
	if (st != V_OCSP_CERTSTATUS_GOOD && st != V_OCSP_CERTSTATUS_REVOKED &&
	    st != V_OCSP_CERTSTATUS_UNKNOWN)
		return 0;
	(void)snprintf(d, n, "ocsp_revoked_info (RFC 6960 4.2.1, RFC 5280 "
	    "5.3.1): response %d revocationTime or revocationReason invalid",
	    i);
	if (st == V_OCSP_CERTSTATUS_REVOKED &&
	    (!gtime_ok(rev) || (reason != -1 &&
		(reason < 0 || reason > 10 || reason == 7))))
		return 0;
	(void)snprintf(d, n, "ocsp_time_format (RFC 9919 4.2): response %d "
	    "thisUpdate/nextUpdate missing or not GeneralizedTime "
	    "YYYYMMDDHHMMSSZ", i);
	if (!gtime_ok(tu) || !gtime_ok(nu))
		return 0;
	time_key(tu, a);
	time_key(nu, b);
	(void)snprintf(d, n, "ocsp_next_update_before_this_update (RFC 6960 "
	    "4.2.2.1): response %d nextUpdate %s is before thisUpdate %s", i,
	    b, a);
	if (strcmp(a, b) > 0)
		return 0;
	(void)snprintf(d, n, "ocsp_reason_in_single_extensions (BR 7.3): "
	    "response %d carries a reasonCode in singleExtensions", i);
	return OCSP_SINGLERESP_get_ext_by_NID(s, NID_crl_reason, -1) < 0;
}

/* version: DEFAULT v1 must be omitted in DER (X.690 11.5). */
static pca_err
ocsp_head(const uint8_t *tbs, size_t len)
{
	const uint8_t *p = tbs, *c;
	size_t left = len, cl;
	unsigned tag;

	if (!tlv_next(&p, &left, &tag, &c, &cl) || tag != 0x30 || left != 0 ||
	    cl == 0)
		return lint_fail("OCSP", "ocsp_tbs_parses (RFC 6960 4.2.1)",
		    "the ResponseData is not one DER SEQUENCE");
	if (c[0] == 0xa0)
		return lint_fail("OCSP", "ocsp_version_v1_omitted (RFC 6960 "
		    "4.2.1, X.690 11.5)", "version is present (v1 is the "
		    "DEFAULT and must be omitted)");
	return PCA_OK;
}

static int
ocsp_body_ok(OCSP_BASICRESP *bs, char *d, size_t n)
{
	const ASN1_OCTET_STRING *kid = NULL;
	const X509_NAME *name = NULL;
	int i, c = OCSP_resp_count(bs);

	(void)snprintf(d, n, "ocsp_responder_id (RFC 6960 4.2.2.3): "
	    "responderID is neither a 20-octet byKey nor a non-empty byName");
	if (!OCSP_resp_get0_id(bs, &kid, &name) ||
	    (kid != NULL && ASN1_STRING_length(kid) != 20) ||
	    (name != NULL && X509_NAME_entry_count(name) == 0))
		return 0;
	(void)snprintf(d, n, "ocsp_produced_at (RFC 6960 4.2.1, RFC 9919 4.2): "
	    "producedAt is not GeneralizedTime YYYYMMDDHHMMSSZ");
	if (!gtime_ok(OCSP_resp_get0_produced_at(bs)))
		return 0;
	(void)snprintf(d, n, "ocsp_responses_present (RFC 6960 4.2.1): no "
	    "SingleResponse");
	if (c <= 0)
		return 0;
	for (i = 0; i < c; i++)
		if (!ocsp_single_ok(OCSP_resp_get0(bs, i), i, d, n))
			return 0;
	(void)snprintf(d, n, "ext_duplicate_extension (RFC 6960 4.4): "
	    "responseExtensions repeat an extension");
	for (i = 0; i < OCSP_BASICRESP_get_ext_count(bs); i++)
		if (OCSP_BASICRESP_get_ext_by_OBJ(bs, X509_EXTENSION_get_object(
			OCSP_BASICRESP_get_ext(bs, i)), i) >= 0)
			return 0;
	return 1;
}

pca_err
ca_lint_ocsp_tbs(const uint8_t *tbs, size_t len, enum pca_sigalg sigalg)
{
	static const uint8_t dummy_sig[1] = {0};
	uint8_t *der = NULL;
	size_t der_len;
	const unsigned char *p;
	char detail[256], why[160];
	OCSP_BASICRESP *bs = NULL;
	pca_err err;

	if (!ca_der_strict(tbs, len, why, sizeof(why)))
		return lint_fail("OCSP", "tbs_strict_der (X.690 10)", why);
	if ((err = ocsp_head(tbs, len)) != PCA_OK)
		return err;
	/* BasicOCSPResponse has the shape of a Certificate */
	if ((err = ca_cert_assemble(tbs, len, sigalg, dummy_sig,
		 sizeof(dummy_sig), &der, &der_len)) != PCA_OK)
		return err;
	p = der;
	if (der_len > LONG_MAX ||
	    (bs = d2i_OCSP_BASICRESP(NULL, &p, (long)der_len)) == NULL ||
	    p != der + der_len) {
		err = lint_fail("OCSP", "ocsp_tbs_parses (RFC 6960 4.2.1)",
		    "the ResponseData does not parse");
		goto out;
	}
	detail[0] = '\0';
	if (!ocsp_body_ok(bs, detail, sizeof(detail)))
		err = pca_err_set(PCA_EINVAL, "lint: OCSP: rule %s", detail);
out:
	ERR_clear_error(); /* reported as the rule above */
	OCSP_BASICRESP_free(bs);
	free(der);
	return err;
}
