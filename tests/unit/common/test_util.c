#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../common/buf.h"
#include "../../../common/conf.h"
#include "../../../common/util.h"

static void
test_hex(void **state)
{
	uint8_t b[20];
	size_t n;
	char out[64];

	(void)state;
	assert_int_equal(util_unhex("0A:ff:3", b, sizeof(b), &n), PCA_OK);
	assert_int_equal(n, 3);
	assert_int_equal(b[0], 0x00);
	assert_int_equal(b[1], 0xaf);
	assert_int_equal(b[2], 0xf3);
	assert_string_equal(util_hex(b, n, out, sizeof(out), 1), "00:af:f3");
	assert_int_equal(util_unhex("zz", b, sizeof(b), &n), PCA_EPARSE);
	assert_int_equal(util_unhex("", b, sizeof(b), &n), PCA_EPARSE);
	assert_int_equal(util_unhex("0102", b, 1, &n), PCA_ETOOBIG);
}

static void
test_b64_pem(void **state)
{
	const uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x05};
	char *pem = NULL, *bad = NULL;
	uint8_t *back = NULL;
	size_t n;

	(void)state;
	assert_int_equal(util_pem_encode("TEST", der, sizeof(der), &pem),
	    PCA_OK);
	assert_string_equal(pem,
	    "-----BEGIN TEST-----\nMAMCAQU=\n-----END TEST-----\n");
	assert_int_equal(
	    util_pem_decode(pem, strlen(pem), "TEST", 100, &back, &n), PCA_OK);
	assert_int_equal(n, sizeof(der));
	assert_memory_equal(back, der, n);
	free(back);
	/* trailing garbage, wrong label, header lines: refused */
	assert_true(asprintf(&bad, "%sjunk", pem) > 0);
	assert_int_equal(
	    util_pem_decode(bad, strlen(bad), "TEST", 100, &back, &n),
	    PCA_EPARSE);
	free(bad);
	assert_int_equal(
	    util_pem_decode(pem, strlen(pem), "OTHER", 100, &back, &n),
	    PCA_EPARSE);
	assert_int_equal(
	    util_pem_decode(pem, strlen(pem), "TEST", 2, &back, &n),
	    PCA_ETOOBIG);
	assert_int_equal(util_b64_decode("MAM*", 4, 10, &back, &n), PCA_EPARSE);
	assert_int_equal(util_b64_decode("MAMCA", 5, 10, &back, &n),
	    PCA_EPARSE);
	free(pem);
}

static void
test_strtonum_uuid_time(void **state)
{
	long long v;
	char u[37];
	struct tm tm = {.tm_year = 2049 - 1900,
	    .tm_mon = 11,
	    .tm_mday = 31,
	    .tm_hour = 23,
	    .tm_min = 59,
	    .tm_sec = 59};

	(void)state;
	assert_int_equal(util_strtonum("42", 0, 100, &v), PCA_OK);
	assert_int_equal(v, 42);
	assert_int_equal(util_strtonum("101", 0, 100, &v), PCA_EINVAL);
	assert_int_equal(util_strtonum("4x", 0, 100, &v), PCA_EINVAL);
	assert_int_equal(util_strtonum("99999999999999999999", 0, 100, &v),
	    PCA_EINVAL);
	assert_int_equal(util_uuid(u), PCA_OK);
	assert_true(util_is_uuid(u));
	assert_int_equal(u[14], '4');
	assert_false(util_is_uuid("not-a-uuid"));
	assert_int_equal(util_timegm(&tm), 2524607999LL);
}

static void
test_conf(void **state)
{
	const char *text = "# c\n[hsm]\nmodule = /x.so\nsessions=4\n"
			   "[store]\npath = data\nsync = yes\n";
	const char *const known[] = {"hsm.module", "hsm.sessions", "store.path",
	    "store.sync", NULL};
	const char *const few[] = {"hsm.module", NULL};
	struct conf *c = NULL;
	long long n;
	int b;
	char *p = NULL;

	(void)state;
	assert_int_equal(
	    conf_parse(text, strlen(text), "/etc/pca/pcad.conf", &c), PCA_OK);
	assert_string_equal(conf_get0(c, "hsm", "module"), "/x.so");
	assert_int_equal(conf_num(c, "hsm", "sessions", 1, 64, 2, &n), PCA_OK);
	assert_int_equal(n, 4);
	assert_int_equal(conf_num(c, "hsm", "sessions", 5, 64, 2, &n),
	    PCA_EINVAL);
	assert_int_equal(conf_bool(c, "store", "sync", 0, &b), PCA_OK);
	assert_int_equal(b, 1);
	assert_int_equal(conf_path(c, "store", "path", NULL, &p), PCA_OK);
	assert_string_equal(p, "/etc/pca/data");
	free(p);
	assert_int_equal(conf_check_known(c, known), PCA_OK);
	assert_int_equal(conf_check_known(c, few), PCA_EINVAL);
	conf_free(c);
	c = NULL;
	assert_int_equal(conf_parse("[a]\nk=1\nk=2\n", 12, "x", &c),
	    PCA_EINVAL);
	assert_int_equal(conf_parse("k=1\n", 4, "x", &c), PCA_EINVAL);
	assert_int_equal(conf_parse("[a]\nnovalue\n", 12, "x", &c), PCA_EINVAL);
}

static void
test_buf_limit(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(buf_add(&b, "abcd", 4), PCA_OK);
	assert_int_equal(buf_add(&b, "e", 1), PCA_ETOOBIG);
	assert_int_equal(buf_nul(&b), PCA_OK);
	assert_string_equal((char *)b.p, "abcd");
	buf_free_secure(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_b64_pem),
	    cmocka_unit_test(test_strtonum_uuid_time),
	    cmocka_unit_test(test_conf),
	    cmocka_unit_test(test_buf_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
