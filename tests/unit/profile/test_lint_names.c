/*
 * test_lint_names.c - the name syntax rules of the lint gate (issue 15
 * defect 7): handmade subjects, SANs, nameConstraints subtrees, whole TBS
 * certificates through x509_lint_cert and CSRs through prof_csr_names_check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "../../../profile/profile_int.h"

static EVP_PKEY *key;

static int
setup(void **state)
{
	(void)state;
	key = EVP_EC_gen("P-256");
	return key == NULL;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	return 0;
}

/* ---- building names with raw bytes (NULs, odd types) ---- */

static void
name_add(X509_NAME *n, int nid, int type, const char *v, size_t len)
{
	assert_int_equal(X509_NAME_add_entry_by_NID(n, nid, type,
			     (const unsigned char *)v, (int)len, -1, 0),
	    1);
}

static X509_NAME *
name1(int nid, int type, const char *v, size_t len)
{
	X509_NAME *n = X509_NAME_new();

	assert_non_null(n);
	name_add(n, nid, type, v, len);
	return n;
}

static int
name_ok(X509_NAME *n, const char *want)
{
	char d[256] = "";
	int ok = x509_lint_name_ok(n, "subject", d, sizeof(d));

	if (!ok && want != NULL && strstr(d, want) == NULL)
		fail_msg("rule '%s' does not name '%s'", d, want);
	X509_NAME_free(n);
	return ok;
}

static GENERAL_NAME *
gn(int type, const char *v, size_t len)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_STRING *s =
	    type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();

	assert_non_null(g);
	assert_non_null(s);
	assert_int_equal(ASN1_STRING_set(s, v, (int)len), 1);
	GENERAL_NAME_set0_value(g, type, s);
	return g;
}

static GENERAL_NAMES *
gens1(int type, const char *v, size_t len)
{
	GENERAL_NAMES *gs = sk_GENERAL_NAME_new_null();

	assert_non_null(gs);
	assert_true(sk_GENERAL_NAME_push(gs, gn(type, v, len)) > 0);
	return gs;
}

static int
gens_ok(GENERAL_NAMES *gs, int nc, const char *want)
{
	char d[256] = "";
	int ok = x509_lint_gens_ok(gs, nc, "subjectAltName", d, sizeof(d));

	if (!ok && want != NULL && strstr(d, want) == NULL)
		fail_msg("rule '%s' does not name '%s'", d, want);
	GENERAL_NAMES_free(gs);
	return ok;
}

#define S(x) x, sizeof(x) - 1

static int
dns_ok(const char *v, size_t len)
{
	return gens_ok(gens1(GEN_DNS, v, len), 0, NULL);
}

/* ---- subject ---- */

static void
test_subject(void **state)
{
	char big[20001];

	(void)state;
	assert_true(name_ok(
	    name1(NID_commonName, V_ASN1_UTF8STRING, S("good.example.com")),
	    NULL));
	/* good.example.com\0.evil.com */
	assert_false(name_ok(name1(NID_commonName, V_ASN1_UTF8STRING,
				 S("good.example.com\0.evil.com")),
	    "control_character"));
	assert_false(name_ok(
	    name1(NID_commonName, V_ASN1_PRINTABLESTRING, S("a\0b")), "0x00"));
	assert_false(name_ok(
	    name1(NID_organizationName, V_ASN1_UTF8STRING, S("line\nbreak")),
	    "control_character"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(
	    name_ok(name1(NID_commonName, V_ASN1_UTF8STRING, big, 20000),
		"max_length"));
	assert_true(
	    name_ok(name1(NID_commonName, V_ASN1_UTF8STRING, big, 64), NULL));
	assert_false(
	    name_ok(name1(NID_commonName, V_ASN1_UTF8STRING, big, 65), "64"));
	assert_false(name_ok(
	    name1(NID_organizationalUnitName, V_ASN1_UTF8STRING, big, 65),
	    NULL));
	assert_true(name_ok(
	    name1(NID_localityName, V_ASN1_UTF8STRING, big, 128), NULL));
	assert_false(name_ok(
	    name1(NID_stateOrProvinceName, V_ASN1_UTF8STRING, big, 129), NULL));
	assert_false(name_ok(name1(NID_commonName, V_ASN1_UTF8STRING, "", 0),
	    "max_length"));
	/* 64 characters of two octets each are fine */
	{
		char u[129];
		int i;

		for (i = 0; i < 64; i++)
			memcpy(u + 2 * i, "\xc3\xa9", 2);
		assert_true(name_ok(
		    name1(NID_commonName, V_ASN1_UTF8STRING, u, 128), NULL));
	}
	/* country: exactly two, PrintableString */
	assert_true(name_ok(
	    name1(NID_countryName, V_ASN1_PRINTABLESTRING, S("US")), NULL));
	assert_false(
	    name_ok(name1(NID_countryName, V_ASN1_PRINTABLESTRING, S("USA")),
		"max_length"));
	assert_false(name_ok(name1(NID_countryName, V_ASN1_UTF8STRING, S("US")),
	    "PrintableString"));
	assert_false(
	    name_ok(name1(NID_serialNumber, V_ASN1_PRINTABLESTRING, S("a@b")),
		"badalpha"));
	assert_true(name_ok(
	    name1(NID_serialNumber, V_ASN1_PRINTABLESTRING, S("A-1234 (x)")),
	    NULL));
	assert_false(
	    name_ok(name1(NID_commonName, V_ASN1_BMPSTRING, S("\0a\0b")),
		"string_type"));
	assert_false(name_ok(name1(NID_commonName, V_ASN1_T61STRING, S("ab")),
	    "string_type"));
	assert_false(name_ok(
	    name1(NID_commonName, V_ASN1_UTF8STRING, S("\xc0\xaf")), "UTF-8"));
	assert_false(
	    name_ok(name1(NID_commonName, V_ASN1_UTF8STRING, S("\xed\xa0\x80")),
		"UTF-8"));
	assert_true(name_ok(
	    name1(NID_pkcs9_emailAddress, V_ASN1_IA5STRING, S("a@example.com")),
	    NULL));
	assert_false(name_ok(name1(NID_pkcs9_emailAddress, V_ASN1_UTF8STRING,
				 S("a@example.com")),
	    "IA5String"));
	memset(big, 'e', 256);
	assert_false(name_ok(
	    name1(NID_pkcs9_emailAddress, V_ASN1_IA5STRING, big, 256), "255"));
}

/* ---- subjectAltName ---- */

static void
test_dns(void **state)
{
	char lab[80], host[300];

	(void)state;
	assert_true(dns_ok(S("good.example.com")));
	assert_true(dns_ok(S("*.example.com")));
	assert_true(dns_ok(S("xn--bcher-kva.example")));
	assert_true(dns_ok(S("localhost")));
	assert_true(dns_ok(S("a-b.example.com")));
	assert_false(dns_ok(S("good.example.com\0.evil.com")));
	assert_false(dns_ok(S("b\xc3\xbc"
			      "cher.example")));
	assert_false(dns_ok("", 0));
	assert_false(dns_ok(S("a b.example.com")));
	assert_false(dns_ok(S("example.com.")));
	assert_false(dns_ok(S("a..example.com")));
	assert_false(dns_ok(S(".example.com")));
	assert_false(dns_ok(S("-a.example.com")));
	assert_false(dns_ok(S("a-.example.com")));
	assert_false(dns_ok(S("under_score.example.com")));
	assert_false(dns_ok(S("f*o.example.com")));
	assert_false(dns_ok(S("www.*.example.com")));
	assert_false(dns_ok(S("*")));
	assert_false(dns_ok(S("*.")));
	memset(lab, 'a', 64);
	memcpy(lab + 64, ".com", 4);
	assert_false(dns_ok(lab, 68));
	assert_true(dns_ok(lab + 1, 67));
	/* 253 octets fine, 254 not: labels of 49 + '.' */
	memset(host, 'b', sizeof(host));
	for (size_t i = 49; i < sizeof(host); i += 50)
		host[i] = '.';
	assert_true(dns_ok(host, 249));
	assert_false(dns_ok(host, 254 + 45));
	host[253] = 'c';
	assert_true(dns_ok(host, 253));
	assert_false(dns_ok(host, 254));
}

static void
test_san_other(void **state)
{
	GENERAL_NAMES *gs;
	char buf[64];
	int i;

	(void)state;
	assert_true(gens_ok(gens1(GEN_EMAIL, S("a.b+c@example.com")), 0, NULL));
	assert_false(
	    gens_ok(gens1(GEN_EMAIL, S("noat.example.com")), 0, "rfc822"));
	assert_false(gens_ok(gens1(GEN_EMAIL, S("a@b@example.com")), 0, NULL));
	assert_false(gens_ok(gens1(GEN_EMAIL, S("a\0@example.com")), 0, "NUL"));
	assert_false(gens_ok(gens1(GEN_EMAIL, S("a b@example.com")), 0, NULL));
	assert_false(gens_ok(gens1(GEN_EMAIL, S("a@exa mple.com")), 0, NULL));
	assert_false(gens_ok(gens1(GEN_EMAIL, "", 0), 0, "empty"));
	assert_true(
	    gens_ok(gens1(GEN_URI, S("https://example.com/a?b=c")), 0, NULL));
	assert_true(gens_ok(gens1(GEN_URI, S("spiffe://td/ns/x")), 0, NULL));
	assert_false(
	    gens_ok(gens1(GEN_URI, S("https://example.com\0/x")), 0, "NUL"));
	assert_false(gens_ok(gens1(GEN_URI, S("no scheme")), 0, "uri"));
	assert_false(gens_ok(gens1(GEN_URI, S("example.com/x")), 0, "uri"));
	assert_false(gens_ok(gens1(GEN_URI, S("http://a b/")), 0, "uri"));
	assert_false(gens_ok(gens1(GEN_URI, S("http://\xc3\xa9/")), 0, "uri"));
	assert_false(gens_ok(gens1(GEN_URI, "", 0), 0, "empty"));
	assert_true(gens_ok(gens1(GEN_IPADD, S("\x0a\0\0\x01")), 0, NULL));
	assert_true(gens_ok(gens1(GEN_IPADD, "0123456789abcdef", 16), 0, NULL));
	assert_false(
	    gens_ok(gens1(GEN_IPADD, S("\x0a\0\0\x01\x02")), 0, "4 or 16"));
	assert_false(gens_ok(gens1(GEN_IPADD, "", 0), 0, "4 or 16"));
	/* name constraints: address and mask */
	assert_true(
	    gens_ok(gens1(GEN_IPADD, "\x0a\0\0\0\xff\0\0\0", 8), 1, NULL));
	assert_false(
	    gens_ok(gens1(GEN_IPADD, S("\x0a\0\0\x01")), 1, "8 or 32"));
	assert_true(gens_ok(gens1(GEN_DNS, S(".example.com")), 1, NULL));
	assert_false(gens_ok(gens1(GEN_DNS, S("a\0b")), 1, "NUL"));
	/* at most LIM_CERT_SANS names */
	gs = sk_GENERAL_NAME_new_null();
	for (i = 0; i < LIM_CERT_SANS; i++) {
		(void)snprintf(buf, sizeof(buf), "h%d.example", i);
		assert_true(sk_GENERAL_NAME_push(gs,
				gn(GEN_DNS, buf, strlen(buf))) > 0);
	}
	assert_true(x509_lint_gens_ok(gs, 0, "san", buf, sizeof(buf)));
	assert_true(sk_GENERAL_NAME_push(gs, gn(GEN_DNS, S("x.example"))) > 0);
	assert_false(gens_ok(gs, 0, "too_many"));
	/* a directoryName is a name like the subject */
	{
		GENERAL_NAME *g = GENERAL_NAME_new();

		gs = sk_GENERAL_NAME_new_null();
		GENERAL_NAME_set0_value(g, GEN_DIRNAME,
		    name1(NID_commonName, V_ASN1_UTF8STRING, S("a\0b")));
		assert_true(sk_GENERAL_NAME_push(gs, g) > 0);
		assert_false(gens_ok(gs, 0, "control_character"));
	}
}

/* ---- whole certificates through the gate ---- */

static pca_err
lint_cert(X509_NAME *subj, GENERAL_NAMES *san)
{
	static const unsigned char kid[20] = {1, 2, 3};
	X509 *x = X509_new();
	X509_NAME *iss = name1(NID_commonName, V_ASN1_UTF8STRING, S("Test CA"));
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
	unsigned char serial[16] = {0x41, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	    13, 14, 15, 16};
	unsigned char *tbs = NULL;
	struct x509_lint_req r;
	int len;
	pca_err err;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_STRING_set(sn, serial, sizeof(serial)), 1);
	assert_int_equal(X509_set_serialNumber(x, sn), 1);
	assert_int_equal(X509_set_issuer_name(x, iss), 1);
	assert_int_equal(X509_set_subject_name(x, subj), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	aki->keyid = ASN1_OCTET_STRING_new();
	assert_int_equal(ASN1_OCTET_STRING_set(aki->keyid, kid, 20), 1);
	assert_int_equal(X509_add1_ext_i2d(x, NID_authority_key_identifier, aki,
			     0, X509V3_ADD_DEFAULT),
	    1);
	if (san != NULL)
		assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, san,
				     0, X509V3_ADD_DEFAULT),
		    1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	len = i2d_re_X509_tbs(x, &tbs);
	assert_true(len > 0);
	r.tbs = tbs;
	r.tbs_len = (size_t)len;
	r.sigalg = PCA_SIG_SHA256_ECDSA;
	r.self_issued = 0;
	err = x509_lint_cert(&r);
	OPENSSL_free(tbs);
	X509_free(x);
	X509_NAME_free(iss);
	X509_NAME_free(subj);
	GENERAL_NAMES_free(san);
	ASN1_INTEGER_free(sn);
	AUTHORITY_KEYID_free(aki);
	return err;
}

static void
test_gate(void **state)
{
	(void)state;
	assert_int_equal(lint_cert(name1(NID_commonName, V_ASN1_UTF8STRING,
				       S("good.example.com")),
			     gens1(GEN_DNS, S("good.example.com"))),
	    PCA_OK);
	assert_int_equal(lint_cert(name1(NID_commonName, V_ASN1_UTF8STRING,
				       S("good.example.com\0.evil.com")),
			     gens1(GEN_DNS, S("good.example.com"))),
	    PCA_EINVAL);
	assert_non_null(strstr(pca_err_msg(), "subject_name_syntax"));
	assert_int_equal(lint_cert(name1(NID_commonName, V_ASN1_UTF8STRING,
				       S("ok.example.com")),
			     gens1(GEN_DNS, S("a b.example.com"))),
	    PCA_EINVAL);
	assert_non_null(strstr(pca_err_msg(), "ext_san_syntax"));
	assert_int_equal(lint_cert(name1(NID_commonName, V_ASN1_UTF8STRING,
				       S("ok.example.com")),
			     gens1(GEN_IPADD, S("\1\2\3\4\5"))),
	    PCA_EINVAL);
	assert_int_equal(lint_cert(name1(NID_commonName, V_ASN1_UTF8STRING,
				       S("ok.example.com")),
			     gens1(GEN_DNS, "", 0)),
	    PCA_EINVAL);
}

/* ---- CSRs ---- */

static struct prof_csr *
csr_with(X509_NAME *subj, GENERAL_NAMES *san)
{
	X509_REQ *q = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	unsigned char *der = NULL;
	struct prof_csr *c = NULL;
	int len;

	assert_int_equal(X509_REQ_set_version(q, 0), 1);
	assert_int_equal(X509_REQ_set_subject_name(q, subj), 1);
	assert_int_equal(X509_REQ_set_pubkey(q, key), 1);
	if (san != NULL) {
		assert_int_equal(X509V3_add1_i2d(&exts, NID_subject_alt_name,
				     san, 0, X509V3_ADD_DEFAULT),
		    1);
		assert_int_equal(X509_REQ_add_extensions(q, exts), 1);
	}
	assert_true(X509_REQ_sign(q, key, EVP_sha256()) > 0);
	len = i2d_X509_REQ(q, &der);
	assert_true(len > 0);
	if (prof_csr_parse(der, (size_t)len, &c) != PCA_OK)
		fail_msg("CSR does not parse: %s", pca_err_msg());
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(q);
	X509_NAME_free(subj);
	GENERAL_NAMES_free(san);
	return c;
}

static pca_err
csr_check(X509_NAME *subj, GENERAL_NAMES *san)
{
	struct prof_csr *c = csr_with(subj, san);
	pca_err err = prof_csr_names_check(c);

	prof_csr_free(c);
	return err;
}

static void
test_csr(void **state)
{
	char big[20000];

	(void)state;
	assert_int_equal(csr_check(name1(NID_commonName, V_ASN1_UTF8STRING,
				       S("good.example.com")),
			     gens1(GEN_DNS, S("good.example.com"))),
	    PCA_OK);
	assert_int_equal(csr_check(name1(NID_commonName, V_ASN1_UTF8STRING,
				       S("good.example.com\0.evil.com")),
			     NULL),
	    PCA_EBADCSR);
	assert_non_null(strstr(pca_err_msg(), "CSR subject"));
	memset(big, 'a', sizeof(big));
	assert_int_equal(csr_check(name1(NID_commonName, V_ASN1_UTF8STRING, big,
				       sizeof(big)),
			     NULL),
	    PCA_EBADCSR);
	assert_int_equal(
	    csr_check(name1(NID_commonName, V_ASN1_UTF8STRING, S("x")),
		gens1(GEN_DNS, S("b\xc3\xbc"
				 "cher.example"))),
	    PCA_EBADCSR);
	assert_non_null(strstr(pca_err_msg(), "CSR subjectAltName"));
	assert_int_equal(
	    csr_check(name1(NID_commonName, V_ASN1_UTF8STRING, S("x")),
		gens1(GEN_EMAIL, S("a\0@example.com"))),
	    PCA_EBADCSR);
	assert_int_equal(
	    csr_check(name1(NID_commonName, V_ASN1_UTF8STRING, S("x")),
		gens1(GEN_URI, S("https://a\0.example/"))),
	    PCA_EBADCSR);
	assert_int_equal(
	    csr_check(name1(NID_commonName, V_ASN1_UTF8STRING, S("x")),
		gens1(GEN_IPADD, S("\1\2\3\4\5"))),
	    PCA_EBADCSR);
	assert_int_equal(
	    csr_check(name1(NID_commonName, V_ASN1_UTF8STRING, S("x")),
		gens1(GEN_DNS, "", 0)),
	    PCA_EBADCSR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_subject),
	    cmocka_unit_test(test_dns),
	    cmocka_unit_test(test_san_other),
	    cmocka_unit_test(test_gate),
	    cmocka_unit_test(test_csr),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
