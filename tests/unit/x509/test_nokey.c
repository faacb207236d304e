/* test_nokey.c - certificates parsed without key decoding, key sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../../../common/x509.h"
#include "../../../x509/x509.h"

/* A self-signed certificate for key k, as DER. */
static int
make_cert(EVP_PKEY *k, uint8_t **der)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);
	int len;

	assert_non_null(x);
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 7));
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"nokey", -1, -1, 0));
	assert_true(X509_set_issuer_name(x, n));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_true(X509_set_pubkey(x, k));
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	*der = NULL;
	len = i2d_X509(x, der);
	X509_free(x);
	return len;
}

static void
check_key(EVP_PKEY *k, int want_rsa, int want_bits)
{
	uint8_t *der = NULL;
	int len = make_cert(k, &der), rsa = -1, bits = -1;
	X509 *x;
	char cn[16];

	assert_true(len > 0);
	x = util_x509_parse_nokey(der, (size_t)len);
	assert_non_null(x);
	assert_null(X509_get0_pubkey(x)); /* the key was not decoded */
	assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
			     NID_commonName, cn, sizeof(cn)),
	    5);
	assert_string_equal(cn, "nokey");
	assert_int_equal(
	    x509_spki_key_size(X509_get_X509_PUBKEY(x), &rsa, &bits), PCA_OK);
	assert_int_equal(rsa, want_rsa);
	assert_int_equal(bits, want_bits);
	/* trailing garbage and truncation are refused */
	assert_null(util_x509_parse_nokey(der, (size_t)len - 1));
	der = realloc(der, (size_t)len + 1);
	der[len] = 0;
	assert_null(util_x509_parse_nokey(der, (size_t)len + 1));
	X509_free(x);
	free(der);
	EVP_PKEY_free(k);
}

static void
test_keys(void **state)
{
	(void)state;
	check_key(EVP_RSA_gen(2048), 1, 2048);
	check_key(EVP_RSA_gen(3072), 1, 3072);
	check_key(EVP_EC_gen("P-256"), 0, 256);
	check_key(EVP_EC_gen("P-384"), 0, 384);
	check_key(EVP_EC_gen("P-521"), 0, 521);
	assert_null(util_x509_parse_nokey((const uint8_t *)"\x30\x00", 2));
	assert_null(util_x509_parse_nokey(NULL, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_keys)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
