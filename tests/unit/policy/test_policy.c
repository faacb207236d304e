/*
 * test_policy.c - policy/ (rules, built-ins, the policy file, bindings) and
 * the lint gate of x509/lint_cert.c.  Lint inputs are TBSCertificates made
 * here by OpenSSL's own encoder (i2d_re_X509_tbs), not by profile/tbs.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../../../ca/ca.h"
#include "../../../profile/profile.h"
#include "../../../x509/x509.h"
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
	assert_non_null(
	    strstr(judge(s, "web_server", &in, &c), "rule san.dns_required"));
	input(&in, POL_KEY_EC, 256, POL_EKU_CODE, "a", NULL);
	assert_non_null(
	    strstr(judge(s, "code_signing", &in, &c), "rule key.ec_min_bits"));
	assert_int_equal(c, PCA_EBADCSR);
	input(&in, POL_KEY_RSA, 2048, POL_EKU_SERVER | POL_EKU_CLIENT, "a",
	    NULL);
	assert_non_null(strstr(judge(s, "internal_service", &in, &c),
	    "rule key.algorithm"));
	input(&in, POL_KEY_EC, 256, POL_EKU_CLIENT, "a", NULL);
	in.validity_s = 181 * 86400;
	assert_non_null(
	    strstr(judge(s, "client_auth", &in, &c), "rule validity.max_days"));
	assert_int_equal(c, PCA_EINVAL);
	input(&in, POL_KEY_EC, 256, POL_EKU_CLIENT, "a", NULL);
	in.sig_alg = "SHA1WITHRSA";
	assert_non_null(
	    strstr(judge(s, "client_auth", &in, &c), "rule signing.no_sha1"));
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
		assert_int_equal(pol_set_parse(bad[i], strlen(bad[i]), "t", &s),
		    PCA_EINVAL);
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
	assert_non_null(
	    strstr(judge(s, "corp", &in, &c), "rule san.dns_wildcard"));
	input(&in, POL_KEY_EC, 256, POL_EKU_SERVER, "x.bad.example.com", NULL);
	assert_non_null(
	    strstr(judge(s, "corp", &in, &c), "rule san.dns_suffix_deny"));
	input(&in, POL_KEY_EC, 256, POL_EKU_SERVER, "notexample.com", NULL);
	assert_non_null(
	    strstr(judge(s, "corp", &in, &c), "rule san.dns_suffix_allow"));
	input(&in, POL_KEY_EC, 256, POL_EKU_SERVER, "a.example.com",
	    "192.168.0.1");
	assert_non_null(
	    strstr(judge(s, "corp", &in, &c), "rule san.ip_ranges"));
	input(&in, POL_KEY_EC, 256, POL_EKU_SERVER, "a.example.com",
	    "10.9.8.7");
	assert_non_null(
	    strstr(judge(s, "corp", &in, &c), "rule subject.required"));
	pol_set_free(s);
}

static const char FILE_NC[] =
    "[policy nc]   # a comment after a section header\n"
    "nc_permitted_dns = example.com .corp.example.net # two subtrees\n"
    "nc_excluded_dns = .bad.example.com\n"
    "nc_permitted_ip = 10.0.0.0/8 fd00::/8\n"
    "nc_excluded_ip = 10.9.0.0/16\n"
    "nc_permitted_email = example.com\n"
    "nc_excluded_email = boss@example.com\n"
    "uri_prefixes = https://example.com/#frag\n"
    "[policy plain]\nmax_validity_days = 10 # days\n";

/* The subtrees of a NameConstraints in print form ("DNS:a,IP:..."). */
static void
nc_text(const uint8_t *der, size_t len, char *out, size_t n)
{
	const unsigned char *p = der;
	NAME_CONSTRAINTS *nc = (NAME_CONSTRAINTS *)ASN1_item_d2i(NULL, &p,
	    (long)len, ASN1_ITEM_rptr(NAME_CONSTRAINTS));
	BIO *b = BIO_new(BIO_s_mem());
	X509_EXTENSION *e;
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	int got;

	assert_non_null(nc);
	assert_ptr_equal(p, der + len);
	ASN1_OCTET_STRING_set(os, der, (int)len);
	e = X509_EXTENSION_create_by_NID(NULL, NID_name_constraints, 1, os);
	assert_int_equal(X509V3_EXT_print(b, e, 0, 0), 1);
	got = BIO_read(b, out, (int)n - 1);
	out[got > 0 ? got : 0] = '\0';
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	BIO_free(b);
	NAME_CONSTRAINTS_free(nc);
}

static void
test_name_constraints(void **state)
{
	static const char *const bad[] = {
	    "[policy a]\nnc_permitted_dns = *.example.com\n",
	    "[policy a]\nnc_permitted_dns = a..example.com\n",
	    "[policy a]\nnc_permitted_ip = 10.0.0.1/8\n",
	    "[policy a]\nnc_permitted_ip = 10.0.0.0\n",
	    "[policy a]\nnc_excluded_email = @example.com\n",
	    "[policy a]\nnc_permitted_uri = example.com\n",
	    "[policy a]\nmax_validity_days = 10#no space: not a comment\n",
	};
	struct pol_set *s = NULL;
	const struct pol *p;
	uint8_t *der = NULL;
	size_t len = 0, i;
	char txt[1024];

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pol_set_parse(bad[i], strlen(bad[i]), "t", &s),
		    PCA_EINVAL);
		assert_non_null(strstr(pca_err_msg(), "t:2:"));
	}
	assert_int_equal(pol_set_parse(FILE_NC, strlen(FILE_NC), "t", &s),
	    PCA_OK);
	p = pol_set_get0(s, "nc");
	assert_non_null(p);
	assert_string_equal(p->uri_prefixes.v[0], "https://example.com/#frag");
	assert_int_equal(pol_set_get0(s, "plain")->max_validity_s, 864000);
	assert_int_equal(pol_name_constraints_der(p, &der, &len), PCA_OK);
	assert_non_null(der);
	nc_text(der, len, txt, sizeof(txt));
	assert_non_null(strstr(txt, "Permitted:"));
	assert_non_null(strstr(txt, "DNS:example.com"));
	assert_non_null(strstr(txt, "DNS:.corp.example.net"));
	assert_non_null(strstr(txt, "IP:10.0.0.0/255.0.0.0"));
	assert_non_null(
	    strstr(txt, "IP:FD00:0:0:0:0:0:0:0/FF00:0:0:0:0:0:0:0"));
	assert_non_null(strstr(txt, "email:example.com"));
	assert_non_null(strstr(txt, "Excluded:"));
	assert_non_null(strstr(txt, "DNS:.bad.example.com"));
	assert_non_null(strstr(txt, "IP:10.9.0.0/255.255.0.0"));
	assert_non_null(strstr(txt, "email:boss@example.com"));
	free(der);
	/* none defined: no extension */
	assert_int_equal(
	    pol_name_constraints_der(pol_set_get0(s, "plain"), &der, &len),
	    PCA_OK);
	assert_null(der);
	assert_int_equal(len, 0);
	assert_int_equal(
	    pol_name_constraints_der(pol_set_get0(s, "web_server"), &der, &len),
	    PCA_OK);
	assert_null(der);
	pol_set_free(s);
}

/* A CSR for key k, parsed by profile/csr.c. */
static struct prof_csr *
csr_of(EVP_PKEY *k, const char *cn)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	unsigned char *der = NULL;
	struct prof_csr *c = NULL;
	int len;

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(r, n);
	X509_REQ_set_pubkey(r, k);
	X509_REQ_sign(r, k, EVP_sha256());
	len = i2d_X509_REQ(r, &der);
	assert_int_equal(prof_csr_parse(der, (size_t)len, &c), PCA_OK);
	OPENSSL_free(der);
	X509_NAME_free(n);
	X509_REQ_free(r);
	return c;
}

/*
 * profile/tbs.c stamps the policy's constraints, critical, on CA templates;
 * ApiPassthrough cannot replace them; end-entity templates refuse them;
 * the lint gate passes the result.
 */
static void
test_nc_tbs(void **state)
{
	static const char *const pass =
	    "{\"Extensions\":{\"CustomExtensions\":"
	    "[{\"ObjectIdentifier\":\"2.5.29.30\",\"Critical\":true,"
	    "\"Value\":\"MA6gDDAKgghldmlsLmNvbQ==\"}]}}";
	static const uint8_t issuer[] = {0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b,
	    0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04, 'r', 'o', 'o', 't'};
	static const uint8_t ski[20] = {1, 2, 3};
	const char *f = "[policy nc]\nnc_permitted_dns = example.com\n";
	struct prof_issuer iss = {issuer, sizeof(issuer), ski, sizeof(ski)};
	uint8_t serial[16] = {0x11, 2, 3}, *nc = NULL, *tbs = NULL;
	size_t nc_len, tbs_len;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	struct prof_csr *csr = csr_of(k, "sub");
	struct pol_set *s = NULL;
	struct prof_tbs_req r;
	const unsigned char *q;
	json_t *api = json_loads(pass, 0, NULL);
	X509 *x;
	X509_EXTENSION *e;
	char txt[512];
	int i;

	(void)state;
	assert_non_null(api);
	assert_int_equal(pol_set_parse(f, strlen(f), "t", &s), PCA_OK);
	assert_int_equal(
	    pol_name_constraints_der(pol_set_get0(s, "nc"), &nc, &nc_len),
	    PCA_OK);
	memset(&r, 0, sizeof(r));
	r.issuer = &iss;
	r.csr = csr;
	r.tmpl = prof_template_find(
	    "arn:aws:acm-pca:::template/"
	    "SubordinateCACertificate_PathLen0_APIPassthrough/V1");
	r.api_passthrough = api;
	r.sigalg = PCA_SIG_SHA256_ECDSA;
	r.serial = serial;
	r.serial_len = sizeof(serial);
	r.not_before = 1700000000;
	r.not_after = 1800000000;
	r.name_constraints = nc;
	r.name_constraints_len = nc_len;
	assert_int_equal(prof_tbs_build(&r, &tbs, &tbs_len), PCA_OK);
	{
		struct x509_lint_req l = {tbs, tbs_len, PCA_SIG_SHA256_ECDSA,
		    0};
		assert_int_equal(x509_lint_cert(&l), PCA_OK);
	}
	{
		uint8_t *der = NULL;
		size_t dl;
		static const uint8_t sig[1] = {0};
		assert_int_equal(x509_cert_assemble(tbs, tbs_len,
				     PCA_SIG_SHA256_ECDSA, sig, 1, &der, &dl),
		    PCA_OK);
		q = der;
		x = d2i_X509(NULL, &q, (long)dl);
		free(der);
	}
	assert_non_null(x);
	assert_int_equal(X509_get_ext_count(x) > 0, 1);
	i = X509_get_ext_by_NID(x, NID_name_constraints, -1);
	assert_true(i >= 0);
	assert_int_equal(X509_get_ext_by_NID(x, NID_name_constraints, i), -1);
	e = X509_get_ext(x, i);
	assert_int_equal(X509_EXTENSION_get_critical(e), 1);
	nc_text(ASN1_STRING_get0_data(X509_EXTENSION_get_data(e)),
	    (size_t)ASN1_STRING_length(X509_EXTENSION_get_data(e)), txt,
	    sizeof(txt));
	assert_non_null(strstr(txt, "DNS:example.com"));
	assert_null(strstr(txt, "evil"));
	X509_free(x);
	free(tbs);
	tbs = NULL;
	/* without the policy's constraints the passthrough one is used */
	r.name_constraints = NULL;
	r.name_constraints_len = 0;
	assert_int_equal(prof_tbs_build(&r, &tbs, &tbs_len), PCA_OK);
	assert_non_null(memmem(tbs, tbs_len, "evil.com", 8));
	free(tbs);
	tbs = NULL;
	/* an end-entity template refuses them */
	r.name_constraints = nc;
	r.name_constraints_len = nc_len;
	r.tmpl = prof_template_find(
	    "arn:aws:acm-pca:::template/EndEntityCertificate/V1");
	assert_int_equal(prof_tbs_build(&r, &tbs, &tbs_len), PCA_EINVAL);
	assert_non_null(strstr(pca_err_msg(), "RFC 5280 4.2.1.10"));
	/* bytes that are not a NameConstraints are refused */
	r.tmpl = prof_template_find("arn:aws:acm-pca:::template/"
				    "SubordinateCACertificate_PathLen0/V1");
	r.name_constraints = (const uint8_t *)"\x05\x00";
	r.name_constraints_len = 2;
	assert_int_equal(prof_tbs_build(&r, &tbs, &tbs_len), PCA_EINVAL);
	json_decref(api);
	prof_csr_free(csr);
	EVP_PKEY_free(k);
	free(nc);
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
	ASN1_OCTET_STRING_set(aki->keyid,
	    (const unsigned char *)"0123456789"
				   "0123456789",
	    20);
	X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0, 0);
	AUTHORITY_KEYID_free(aki);
	mutate(x, k);
	X509_sign(x, k, EVP_sha256()); /* sets the inner AlgorithmIdentifier */
	len = i2d_re_X509_tbs(x, &tbs);
	{
		struct x509_lint_req r = {tbs, (size_t)len,
		    PCA_SIG_SHA256_ECDSA, 0};
		e = x509_lint_cert(&r);
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
m_nc_ee(X509 *x, EVP_PKEY *k)
{
	(void)k;
	add(x, NID_name_constraints, "critical,permitted;DNS:example.com");
}

static void
m_nc_noncrit(X509 *x, EVP_PKEY *k)
{
	(void)k;
	add(x, NID_basic_constraints, "critical,CA:TRUE");
	add(x, NID_key_usage, "critical,keyCertSign,cRLSign");
	add(x, NID_subject_key_identifier, "01:02:03:04");
	add(x, NID_name_constraints, "permitted;DNS:example.com");
}

static void
m_nc_ok(X509 *x, EVP_PKEY *k)
{
	(void)k;
	add(x, NID_basic_constraints, "critical,CA:TRUE");
	add(x, NID_key_usage, "critical,keyCertSign,cRLSign");
	add(x, NID_subject_key_identifier, "01:02:03:04");
	add(x, NID_name_constraints, "critical,permitted;DNS:example.com");
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
	assert_int_equal(lint_one(m_nc_ee, &m), PCA_EINVAL);
	assert_non_null(strstr(m, "name_constraint_on_end_entity"));
	assert_int_equal(lint_one(m_nc_noncrit, &m), PCA_EINVAL);
	assert_non_null(strstr(m, "ext_name_constraints_not_critical"));
	assert_int_equal(lint_one(m_nc_ok, &m), PCA_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builtins),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_helpers),
	    cmocka_unit_test(test_name_constraints),
	    cmocka_unit_test(test_nc_tbs),
	    cmocka_unit_test(test_lint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
