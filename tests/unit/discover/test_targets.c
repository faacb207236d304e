/*
 * test_targets.c - discover/: the endpoints of a run are exactly the
 * configured ones (host:port list, CIDR x ports), bad input refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../../discover/disc.h"

static void
test_hostports(void **state)
{
	const char *hp[] = {"127.0.0.1:443", "[::1]:8443", "db.example:5432"};
	struct disc_spec s = {hp, 3, NULL, NULL, "example.com", "postgres"};
	struct disc_targets t = {NULL, 0};

	(void)state;
	assert_int_equal(disc_targets_build(&s, &t), PCA_OK);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.t[0].host, "127.0.0.1");
	assert_string_equal(t.t[0].port, "443");
	assert_string_equal(t.t[1].host, "::1");
	assert_string_equal(t.t[1].port, "8443");
	assert_string_equal(t.t[2].sni, "example.com");
	assert_int_equal(t.t[2].starttls, DISC_POSTGRES);
	disc_targets_free(&t);
}

static void
test_cidr(void **state)
{
	struct disc_spec s = {NULL, 0, "10.1.2.5/30", "443,8443", NULL, NULL};
	struct disc_targets t = {NULL, 0};

	(void)state;
	assert_int_equal(disc_targets_build(&s, &t), PCA_OK);
	assert_int_equal(t.n, 8); /* 4 addresses x 2 ports */
	assert_string_equal(t.t[0].host, "10.1.2.4");
	assert_string_equal(t.t[7].host, "10.1.2.7");
	assert_string_equal(t.t[7].port, "8443");
	disc_targets_free(&t);
}

static void
test_bad(void **state)
{
	const char *nop[] = {"127.0.0.1"}, *badp[] = {"h:70000"};
	struct disc_spec s = {nop, 1, NULL, NULL, NULL, NULL};
	struct disc_targets t = {NULL, 0};

	(void)state;
	assert_int_equal(disc_targets_build(&s, &t), PCA_EINVAL);
	s.hostports = badp;
	assert_int_equal(disc_targets_build(&s, &t), PCA_EINVAL);
	s = (struct disc_spec){NULL, 0, "10.0.0.0/8", "443", NULL, NULL};
	assert_int_equal(disc_targets_build(&s, &t), PCA_EINVAL);
	s = (struct disc_spec){NULL, 0, "10.0.0.0/24", NULL, NULL, NULL};
	assert_int_equal(disc_targets_build(&s, &t), PCA_EINVAL);
	s = (struct disc_spec){NULL, 0, "10.0.0.0/16", "1,2", NULL, NULL};
	assert_int_equal(disc_targets_build(&s, &t), PCA_ETOOBIG);
	s = (struct disc_spec){NULL, 0, NULL, NULL, NULL, "ftp"};
	assert_int_equal(disc_targets_build(&s, &t), PCA_EINVAL);
	assert_null(t.t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hostports),
	    cmocka_unit_test(test_cidr),
	    cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
