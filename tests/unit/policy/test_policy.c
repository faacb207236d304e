/*
 * test_policy.c - policy/ (rules, built-ins, the policy file, bindings) and
 * the lint gate of ca/lint.c.  Lint inputs are TBSCertificates made here by
 * OpenSSL's own encoder (i2d_re_X509_tbs), not by ca/tbs.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "../../../ca/engine_int.h"
#include "../../../policy/pol_int.h"

static GENERAL_NAMES *
sans(const char *dns, const char *ip)
{
	GENERAL_NAMES *g = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *n;

	if (dns) {
		n = a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_DNS, dns, 0);
		sk_GENERAL_NAME_push(g, n);
	}
	if (ip) {
		n = a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_IPADD, ip, 0);
		sk_GENERAL_NAME_push(g, n);
	}
	return g;
}

static void
input(struct pol_input *in, enum pol_key k, int bits, unsigned eku,
    const char *dns, const char *ip)
{
	memset(in, 0, sizeof(*in));
	in->key = k;
	in->key_bits = bits;
	in->eku = eku;
	in->has_eku = eku != 0;
	in->validity_s = 30 * 86400;
	in->sig_alg = "SHA256WITHECDSA";
	in->subject = X509_NAME_new();
	X509_NAME_add_entry_by_txt(in->subject, "CN", MBSTRING_ASC,
	    (const unsigned char *)"a", -1, -1, 0);
	in->san = sans(dns, ip);
}

static const char *
judge(const struct pol_set *s, const char *name, struct pol_input *in,
    pca_err *code)
{
	*code = pol_check(pol_set_get0(s, name), in, NULL, NULL);
	pol_input_clear(in);
	return *code == PCA_OK ? "" : pca_err_msg();
}

static void
test_builtins(void **state)
{
	struct pol_set *s;
	struct pol_input in;
	pca_err c;

	(void)state;
	assert_int_equal(pol_set_new(&s), PCA_OK);
	assert_int_equal(pol_set_count(s), 4);
	input(&in, POL_KEY_EC, 256, POL_EKU_SERVER, "a.example.com", NULL);
	judge(s, "web_server", &in, &c);
	assert_int_equal(c, PCA_OK);
	input(&in, POL_KEY_EC, 256, POL_EKU_SERVER, NULL, "10.0.0.1");
	assert_non_null(strstr(judge(s, "web_server", &in, &c),
	    "rule san.dns_required"));
	input(&in, POL_KEY_EC, 256, POL_EKU_CODE, "a", NULL);
	assert_non_null(strstr(judge(s, "code_signing", &in, &c),
	    "rule key.ec_min_bits"));
	assert_int_equal(c, PCA_EBADCSR);
	input(&in, POL_KEY_RSA, 2048, POL_EKU_SERVER | POL_EKU_CLIENT, "a",
	    NULL);
	assert_non_null(strstr(judge(s, "internal_service", &in, &c),
	    "rule key.algorithm"));
	input(&in, POL_KEY_EC, 256, POL_EKU_CLIENT, "a", NULL);
	in.validity_s = 181 * 86400;
	assert_non_null(strstr(judge(s, "client_auth", &in, &c),
	    "rule validity.max_days"));
	assert_int_equal(c, PCA_EINVAL);
	input(&in, POL_KEY_EC, 256, POL_EKU_CLIENT, "a", NULL);
	in.sig_alg = "SHA1WITHRSA";
	assert_non_null(strstr(judge(s, "client_auth", &in, &c),
	    "rule signing.no_sha1"));
	pol_set_free(s);
}

static const char FILE_OK[] =
    "# test\n"
    "[policy corp]\nbase = web_server\nwildcard = no\n"
    "dns_suffix_allow = example.com\ndns_suffix_deny = .bad.example.com\n"
    "ip_ranges = 10.0.0.0/8, 2001:db8::/32\nsubject_required = CN O\n"
    "[bind]\n"
    "* = client_auth\n"
    "11111111-2222-3333-4444-555555555555 = corp\n"
    "arn:aws:acm-pca:us-east-1:1:certificate-authority/"
    "11111111-2222-3333-4444-555555555555 AKIAX = web_server\n";

static void
test_file(void **state)
{
	static const char *const bad[] = {
	    "[policy a]\nmax_validity_days = 1\nbase = web_server\n",
	    "[policy a]\nfrobnicate = 1\n",
	    "[policy a]\nip_ranges = 10.0.0.0/33\n",
	    "[policy a]\nsigning_algorithms = SHA1WITHRSA\n",
	    "[policy web_server]\n",
	    "[bind]\n* = nosuch\n",
	    "[bind]\n* = web_server\n* = client_auth\n",
	    "[policy a]\nsubject_required = NOTANATTR\n",
	    "key = value\n",
	};
	const char *uuid = "11111111-2222-3333-4444-555555555555";
	struct pol_set *s = NULL;
	struct pol_input in;
	size_t i;
	pca_err c;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pol_set_parse(bad[i], strlen(bad[i]), "t",
				     &s), PCA_EINVAL);
		assert_non_null(strstr(pca_err_msg(), "t:"));
	}
	assert_int_equal(pol_set_parse(FILE_OK, strlen(FILE_OK), "t", &s),
	    PCA_OK);
	assert_string_equal(pol_name(pol_set_lookup0(s, uuid, NULL)), "corp");
	assert_string_equal(pol_name(pol_set_lookup0(s, uuid, "AKIAX")),
	    "web_server");
	assert_string_equal(pol_name(pol_set_lookup0(s, "other", "AKIAX")),
	    "client_auth");
	input(&in, POL_KEY_EC, 256, POL_EKU_SERVER, "*.example.com", NULL);
	assert_non_null(strstr(judge(s, "corp", &in, &c),
	    "rule san.dns_wildcard"));
	input(&in, POL_KEY_EC, 256, POL_EKU_SERVER, "x.bad.example.com", NULL);
	assert_non_null(strstr(judge(s, "corp", &in, &c),
	    "rule san.dns_suffix_deny"));
	input(&in, POL_KEY_EC, 256, POL_EKU_SERVER, "notexample.com", NULL);
	assert_non_null(strstr(judge(s, "corp", &in, &c),
	    "rule san.dns_suffix_allow"));
	input(&in, POL_KEY_EC, 256, POL_EKU_SERVER, "a.example.com",
	    "192.168.0.1");
	assert_non_null(strstr(judge(s, "corp", &in, &c),
	    "rule san.ip_ranges"));
	input(&in, POL_KEY_EC, 256, POL_EKU_SERVER, "a.example.com", "10.9.8.7");
	assert_non_null(strstr(judge(s, "corp", &in, &c),
	    "rule subject.required"));
	pol_set_free(s);
}

static void
test_helpers(void **state)
{
	static const unsigned char ip4[4] = {10, 1, 2, 3};

	(void)state;
	assert_true(pol_dns_suffix_match("a.example.com", ".example.com"));
	assert_true(pol_dns_suffix_match("example.com", "example.com"));
	assert_false(pol_dns_suffix_match("badexample.com", "example.com"));
	assert_true(pol_ip_in_cidr(ip4, 4, "10.0.0.0/8"));
	assert_false(pol_ip_in_cidr(ip4, 4, "10.1.2.0/31"));
	assert_true(pol_ip_in_cidr(ip4, 4, "10.1.2.2/31"));
	assert_false(pol_ip_in_cidr(ip4, 4, "2001:db8::/32"));
}

/* A certificate to lint; mutate() breaks it before encoding. */
static pca_err
lint_one(void (*mutate)(X509 *, EVP_PKEY *), const char **msg)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
	unsigned char *tbs = NULL;
	int len;
	pca_err e;

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234567);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"leaf", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"issuer", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	aki->keyid = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(aki->keyid, (const unsigned char *)"0123456789"
	    "0123456789", 20);
	X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0, 0);
	AUTHORITY_KEYID_free(aki);
	mutate(x, k);
	X509_sign(x, k, EVP_sha256());	/* sets the inner AlgorithmIdentifier */
	len = i2d_re_X509_tbs(x, &tbs);
	{
		struct ca_lint_req r = {tbs, (size_t)len, PCA_SIG_SHA256_ECDSA,
		    0};
		e = ca_lint_tbs(&r);
	}
	*msg = pca_err_msg();
	OPENSSL_free(tbs);
	X509_free(x);
	EVP_PKEY_free(k);
	return e;
}

static void
add(X509 *x, int nid, const char *v)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, nid, v);

	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

static void
m_none(X509 *x, EVP_PKEY *k)
{
	(void)x;
	(void)k;
}

static void
m_dup(X509 *x, EVP_PKEY *k)
{
	(void)k;
	add(x, NID_basic_constraints, "CA:FALSE");
	add(x, NID_basic_constraints, "CA:FALSE");
}

static void
m_certsign(X509 *x, EVP_PKEY *k)
{
	(void)k;
	add(x, NID_key_usage, "keyCertSign");
}

static void
m_ca_noncrit(X509 *x, EVP_PKEY *k)
{
	(void)k;
	add(x, NID_basic_constraints, "CA:TRUE");
	add(x, NID_key_usage, "critical,keyCertSign,cRLSign");
}

static void
m_no_aki(X509 *x, EVP_PKEY *k)
{
	(void)k;
	X509_EXTENSION_free(X509_delete_ext(x, 0));
}

static void
test_lint(void **state)
{
	const char *m;

	(void)state;
	assert_int_equal(lint_one(m_none, &m), PCA_OK);
	(void)m;
	assert_int_equal(lint_one(m_dup, &m), PCA_EINVAL);
	assert_non_null(strstr(m, "ext_duplicate_extension"));
	assert_int_equal(lint_one(m_certsign, &m), PCA_EINVAL);
	assert_non_null(strstr(m, "ext_key_usage_cert_sign_without_ca"));
	assert_int_equal(lint_one(m_ca_noncrit, &m), PCA_EINVAL);
	assert_non_null(strstr(m, "basic_constraints_not_critical"));
	assert_int_equal(lint_one(m_no_aki, &m), PCA_EINVAL);
	assert_non_null(strstr(m, "authority_key_identifier"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builtins),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_helpers),
	    cmocka_unit_test(test_lint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
