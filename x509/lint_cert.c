/*
 * lint_cert.c - the pre-signing lint gate for certificates (BR 4.3.1.2):
 * every TBSCertificate is checked against the RFC 5280 / CA/Browser Forum
 * profile rules of research/reliability.md 1.1 before it is signed, on
 * the very buffer that is then signed.  The rule names follow zlint
 * (zmap/zlint v3/lints).  A failure is PCA_EINVAL naming the rule; the
 * caller logs it with the CA.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "../common/x509.h"
#include "x509_int.h"

static int
l_der(const void *in, const void *obj, char *d, size_t n)
{
	const struct x509_lint_req *r = in;
	char why[160];

	(void)obj;
	if (x509_der_strict(r->tbs, r->tbs_len, why, sizeof(why)))
		return 1;
	(void)snprintf(d, n, "%s", why);
	return 0;
}

static int
l_version(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;

	(void)in;
	(void)snprintf(d, n, "version is not v3");
	return X509_get_version(x) == X509_VERSION_3;
}

static int
l_serial_pos(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;
	const ASN1_INTEGER *s = X509_get0_serialNumber(x);
	const unsigned char *p = ASN1_STRING_get0_data(s);
	int i, len = ASN1_STRING_length(s), zero = 1;

	(void)in;
	for (i = 0; i < len; i++)
		zero &= p[i] == 0;
	(void)snprintf(d, n, "serial number is zero or negative");
	return ASN1_STRING_type(s) == V_ASN1_INTEGER && !zero;
}

static int
l_serial_len(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;
	int len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), NULL);

	(void)in;
	(void)snprintf(d, n, "serial number is %d octets", len - 2);
	return len > 2 && len - 2 <= LINT_SERIAL_MAX;
}

static int
l_sigalg(const void *in, const void *obj, char *d, size_t n)
{
	const struct x509_lint_req *r = in;
	X509 *x = (X509 *)obj;
	uint8_t want[32];
	unsigned char *got = NULL;
	size_t wl;
	int gl, ok;

	(void)snprintf(d, n,
	    "TBS signature is not the DER AlgorithmIdentifier "
	    "of %s",
	    pca_sigalg_name(r->sigalg));
	if (x509_sigalg_der(r->sigalg, want, sizeof(want), &wl) != PCA_OK) {
		pca_err_clear();
		return 0;
	}
	gl = i2d_X509_ALGOR(X509_get0_tbs_sigalg(x), &got);
	ok = gl > 0 && (size_t)gl == wl && memcmp(got, want, wl) == 0;
	OPENSSL_free(got);
	return ok;
}

static int
l_time(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;

	(void)in;
	(void)snprintf(d, n,
	    "validity times are not UTCTime before 2050 / "
	    "GeneralizedTime from 2050, Zulu with seconds");
	return x509_lint_time_ok(X509_get0_notBefore(x)) &&
	       x509_lint_time_ok(X509_get0_notAfter(x));
}

static int
l_validity(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;

	(void)in;
	(void)snprintf(d, n, "notAfter is before notBefore");
	return ASN1_TIME_compare(X509_get0_notBefore(x),
		   X509_get0_notAfter(x)) <= 0;
}

static int
l_spki(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;
	X509_ALGOR *alg = NULL;
	const void *pval;
	int ptype, nid;

	(void)in;
	if (!X509_PUBKEY_get0_param(NULL, NULL, NULL, &alg,
		X509_get_X509_PUBKEY(x)))
		return 0;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	nid = OBJ_obj2nid(alg->algorithm);
	(void)snprintf(d, n,
	    "SubjectPublicKeyInfo parameters: RSA needs NULL, "
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
l_dup(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;
	int i, j, c = X509_get_ext_count(x);

	(void)in;
	for (i = 0; i < c; i++)
		for (j = i + 1; j < c; j++)
			if (OBJ_cmp(
				X509_EXTENSION_get_object(X509_get_ext(x, i)),
				X509_EXTENSION_get_object(
				    X509_get_ext(x, j))) == 0) {
				(void)snprintf(d, n,
				    "extensions %d and %d "
				    "have the same OID",
				    i, j);
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
l_san(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;
	X509_EXTENSION *e = ext_of(x, NID_subject_alt_name);
	GENERAL_NAMES *g;
	int entries;

	(void)in;
	if (e == NULL) {
		(void)snprintf(d, n,
		    "an empty subject needs a subjectAltName "
		    "(ext_san_missing)");
		return X509_NAME_entry_count(X509_get_subject_name(x)) > 0;
	}
	g = X509V3_EXT_d2i(e);
	entries = g ? sk_GENERAL_NAME_num(g) : 0;
	GENERAL_NAMES_free(g);
	(void)snprintf(d, n,
	    "subjectAltName has no entries "
	    "(ext_san_no_entries)");
	if (entries <= 0)
		return 0;
	(void)snprintf(d, n,
	    "subjectAltName must be critical when the "
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
l_ca(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;
	int crit, pl, kup, ku = ku_bits(x, &kup), ca = bc_ca(x, &crit, &pl);

	(void)in;
	if (!ca) {
		(void)snprintf(d, n,
		    "pathLenConstraint without cA "
		    "(path_len_constraint_improperly_"
		    "included)");
		if (pl)
			return 0;
		(void)snprintf(d, n,
		    "keyCertSign without cA in "
		    "basicConstraints (ext_key_usage_cert_"
		    "sign_without_ca, RFC 5280 4.2.1.9)");
		return !(ku & KU_CERT_SIGN);
	}
	(void)snprintf(d, n,
	    "CA certificate: basicConstraints not critical "
	    "(basic_constraints_not_critical)");
	if (!crit)
		return 0;
	(void)snprintf(d, n,
	    "CA certificate without keyUsage keyCertSign "
	    "(ca_key_cert_sign_not_set)");
	if (!kup || !(ku & KU_CERT_SIGN))
		return 0;
	(void)snprintf(d, n,
	    "CA certificate without subjectKeyIdentifier "
	    "(ext_subject_key_identifier_missing_ca)");
	if (ext_of(x, NID_subject_key_identifier) == NULL)
		return 0;
	(void)snprintf(d, n,
	    "CA certificate with an empty subject "
	    "(ca_subject_field_empty)");
	return X509_NAME_entry_count(X509_get_subject_name(x)) > 0;
}

static int
l_ku_empty(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;
	int present, bits = ku_bits(x, &present);

	(void)in;
	(void)snprintf(d, n,
	    "keyUsage without any bit set "
	    "(ext_key_usage_without_bits)");
	return !present || bits != 0;
}

static int
l_aki(const void *in, const void *obj, char *d, size_t n)
{
	const struct x509_lint_req *r = in;
	X509 *x = (X509 *)obj;
	X509_EXTENSION *e = ext_of(x, NID_authority_key_identifier);
	AUTHORITY_KEYID *a;
	int ok;

	/* a root's own (or renewed) certificate: issuer == subject */
	if (r->self_issued || X509_NAME_cmp(X509_get_issuer_name(x),
				  X509_get_subject_name(x)) == 0)
		return 1;
	(void)snprintf(d, n,
	    "authorityKeyIdentifier keyIdentifier missing "
	    "(ext_authority_key_identifier_no_key_"
	    "identifier)");
	if (e == NULL || (a = X509V3_EXT_d2i(e)) == NULL)
		return 0;
	ok = a->keyid != NULL && ASN1_STRING_length(a->keyid) > 0;
	AUTHORITY_KEYID_free(a);
	(void)snprintf(d, n,
	    "authorityKeyIdentifier must not be critical "
	    "(ext_authority_key_identifier_critical)");
	return ok && !X509_EXTENSION_get_critical(e);
}

/* nameConstraints: CA certificates only, critical, not empty. */
static int
l_nc(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;
	X509_EXTENSION *e = ext_of(x, NID_name_constraints);
	NAME_CONSTRAINTS *nc;
	int crit, pl, ok;

	(void)in;
	if (e == NULL)
		return 1;
	(void)snprintf(d, n,
	    "nameConstraints in a certificate that is not a "
	    "CA (name_constraint_on_end_entity)");
	if (!bc_ca(x, &crit, &pl))
		return 0;
	(void)snprintf(d, n,
	    "nameConstraints not critical "
	    "(ext_name_constraints_not_critical)");
	if (!X509_EXTENSION_get_critical(e))
		return 0;
	(void)snprintf(d, n,
	    "nameConstraints with no subtree "
	    "(name_constraint_empty)");
	if ((nc = X509V3_EXT_d2i(e)) == NULL)
		return 0;
	ok = sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) > 0 ||
	     sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) > 0;
	NAME_CONSTRAINTS_free(nc);
	return ok;
}

static int
l_subject_names(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;

	(void)in;
	return x509_lint_name_ok(X509_get_subject_name(x), "subject", d, n);
}

static int
l_san_names(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;
	X509_EXTENSION *e = ext_of(x, NID_subject_alt_name);
	GENERAL_NAMES *g;
	int ok;

	(void)in;
	if (e == NULL)
		return 1;
	(void)snprintf(d, n, "subjectAltName does not decode");
	if ((g = X509V3_EXT_d2i(e)) == NULL)
		return 0;
	ok = x509_lint_gens_ok(g, 0, "subjectAltName", d, n);
	GENERAL_NAMES_free(g);
	return ok;
}

static int
subtrees_ok(const STACK_OF(GENERAL_SUBTREE) * st, char *d, size_t n)
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
	ok = x509_lint_gens_ok(g, 1, "nameConstraints", d, n);
	sk_GENERAL_NAME_free(g); /* the names belong to st */
	return ok;
}

static int
l_nc_names(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;
	X509_EXTENSION *e = ext_of(x, NID_name_constraints);
	NAME_CONSTRAINTS *nc;
	int ok;

	(void)in;
	if (e == NULL || (nc = X509V3_EXT_d2i(e)) == NULL)
		return 1; /* l_nc judges presence and decoding */
	ok = subtrees_ok(nc->permittedSubtrees, d, n) &&
	     subtrees_ok(nc->excludedSubtrees, d, n);
	NAME_CONSTRAINTS_free(nc);
	return ok;
}

static int
l_issuer(const void *in, const void *obj, char *d, size_t n)
{
	X509 *x = (X509 *)obj;

	(void)in;
	(void)snprintf(d, n, "issuer name is empty (issuer_field_empty)");
	return X509_NAME_entry_count(X509_get_issuer_name(x)) > 0;
}

static const struct x509_lint_rule cert_rules[] = {
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
x509_lint_cert(const struct x509_lint_req *r)
{
	static const uint8_t dummy_sig[1] = {0};
	uint8_t *der = NULL;
	size_t der_len;
	X509 *x = NULL;
	pca_err err;

	if ((err = x509_cert_assemble(r->tbs, r->tbs_len, r->sigalg, dummy_sig,
		 sizeof(dummy_sig), &der, &der_len)) != PCA_OK)
		return err;
	/* parsed without decoding the key: the rules read SPKI bytes only */
	if ((x = util_x509_parse_nokey(der, der_len)) == NULL) {
		ERR_clear_error(); /* reported as the rule below */
		err = pca_err_set(PCA_EINVAL, "lint: rule tbs_parses "
					      "(RFC 5280 4.1): the "
					      "TBSCertificate does not parse");
		goto out;
	}
	err = x509_lint_run(NULL, cert_rules,
	    sizeof(cert_rules) / sizeof(cert_rules[0]), r, x);
out:
	ERR_clear_error(); /* decoders of absent extensions leave nothing */
	X509_free(x);
	free(der);
	return err;
}
