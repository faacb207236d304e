/*
 * test_publish.c - the S3 layout of publish.c: CertID keys, and the GET
 * key whose base64 is a request the responder parses back to the same
 * CertID (the canonical form `openssl ocsp -no_nonce -reqout` writes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../common/util.h"
#include "../../../ocsp/ocsp_int.h"

static void
test_keys(void **state)
{
	uint8_t nh[32], kh[32], sn[3] = {0x81, 0x02, 0x03}, *der = NULL;
	char k[STORE_OBJ_KEY_MAX + 1];
	struct ocsp_req q;
	size_t i, len;

	(void)state;
	for (i = 0; i < 32; i++) {
		nh[i] = (uint8_t)i;
		kh[i] = (uint8_t)(0xf0 + i);
	}
	ocsp_pub_key("p/", OCSP_HASH_SHA1, nh, kh, sn, 3, k, sizeof(k));
	assert_string_equal(k,
	    "p/ocsp/000102030405060708090a0b0c0d0e0f10111213/"
	    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00010203/810203");
	ocsp_pub_key("", OCSP_HASH_SHA256, nh, kh, sn, 3, k, sizeof(k));
	assert_int_equal(strlen(k), 5 + 64 + 1 + 64 + 1 + 6);
	assert_int_equal(ocsp_pub_get_key("p/", nh, kh, sn, 3, k, sizeof(k)),
	    PCA_OK);
	assert_true(strncmp(k, "p/ocsp/get/", 11) == 0);
	assert_int_equal(
	    util_b64_decode(k + 11, strlen(k + 11), 1024, &der, &len), PCA_OK);
	assert_int_equal(ocsp_req_parse(der, len, &q), PCA_OK);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.has_nonce, 0);
	assert_int_equal(q.ids[0].hash, OCSP_HASH_SHA1);
	assert_memory_equal(q.ids[0].name_hash, nh, 20);
	assert_memory_equal(q.ids[0].key_hash, kh, 20);
	/* a positive INTEGER: 00 before a magnitude with the top bit set */
	assert_int_equal(q.ids[0].serial_len, 4);
	assert_int_equal(q.ids[0].serial[0], 0);
	assert_memory_equal(q.ids[0].serial + 1, sn, 3);
	free(der);
	assert_int_equal(ocsp_pub_get_key("", nh, kh, sn, 0, k, sizeof(k)),
	    PCA_EINVAL);
	pca_err_clear();
}

int
main(void)
{
	const struct CMUnitTest t[] = {cmocka_unit_test(test_keys)};

	return cmocka_run_group_tests(t, NULL, NULL);
}
