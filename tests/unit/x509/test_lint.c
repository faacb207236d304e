/*
 * test_lint.c - x509/'s rule runner: order, the first failure only, the
 * message shapes of the certificate, CRL and OCSP gates, fresh details for
 * named rules and the running detail of unnamed ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../x509/x509.h"

static int calls;

static int
pass(const void *in, const void *obj, char *d, size_t n)
{
	(void)in;
	(void)obj;
	calls++;
	(void)snprintf(d, n, "left by pass");
	return 1;
}

static int
fail_plain(const void *in, const void *obj, char *d, size_t n)
{
	(void)obj;
	calls++;
	(void)snprintf(d, n, "%s", (const char *)in);
	return 0;
}

static int
fail_silent(const void *in, const void *obj, char *d, size_t n)
{
	(void)in;
	(void)obj;
	(void)d;
	(void)n;
	calls++;
	return 0;
}

static void
test_run(void **state)
{
	static const struct x509_lint_rule named[] = {
	    {"one (RFC 1)", pass},
	    {"two (RFC 2)", fail_plain},
	    {"three (RFC 3)", fail_plain},
	};
	static const struct x509_lint_rule unnamed[] = {
	    {"one (RFC 1)", pass},
	    {NULL, pass},
	    {NULL, fail_silent},
	};
	static const struct x509_lint_rule fresh[] = {
	    {NULL, pass},
	    {"two (RFC 2)", fail_silent},
	};

	(void)state;
	calls = 0;
	assert_int_equal(x509_lint_run(NULL, named, 1, "x", NULL), PCA_OK);
	assert_int_equal(calls, 1);
	calls = 0;
	assert_int_equal(x509_lint_run(NULL, named, 3, "bad", NULL),
	    PCA_EINVAL);
	assert_int_equal(calls, 2); /* stops at the first failure */
	assert_string_equal(pca_err_msg(), "lint: rule two (RFC 2): bad");
	assert_int_equal(x509_lint_run("CRL", named, 3, "bad", NULL),
	    PCA_EINVAL);
	assert_string_equal(pca_err_msg(), "lint: CRL: rule two (RFC 2): bad");
	/* an unnamed rule reports the detail as it stands */
	assert_int_equal(x509_lint_run("OCSP", unnamed, 3, NULL, NULL),
	    PCA_EINVAL);
	assert_string_equal(pca_err_msg(), "lint: OCSP: rule left by pass");
	/* a named rule starts from an empty detail */
	assert_int_equal(x509_lint_run("CRL", fresh, 2, NULL, NULL),
	    PCA_EINVAL);
	assert_string_equal(pca_err_msg(), "lint: CRL: rule two (RFC 2): ");
	pca_err_clear();
}

static void
test_gates_refuse_junk(void **state)
{
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	struct x509_lint_req r = {junk, sizeof(junk), PCA_SIG_SHA256_ECDSA, 0};

	(void)state;
	assert_int_equal(x509_lint_cert(&r), PCA_EINVAL);
	assert_non_null(strstr(pca_err_msg(), "lint: rule tbs_parses"));
	assert_int_equal(x509_lint_crl(junk, 3, PCA_SIG_SHA256_ECDSA),
	    PCA_EINVAL);
	assert_string_equal(pca_err_msg(),
	    "lint: CRL: rule tbs_strict_der "
	    "(X.690 10): element runs past the end of its container at byte "
	    "0");
	assert_int_equal(
	    x509_lint_ocsp(junk, sizeof(junk), PCA_SIG_SHA256_ECDSA),
	    PCA_EINVAL);
	assert_non_null(strstr(pca_err_msg(), "lint: OCSP: rule "));
	pca_err_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run),
	    cmocka_unit_test(test_gates_refuse_junk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
