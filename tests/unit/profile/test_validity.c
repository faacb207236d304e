/* test_validity.c - prof_validity_resolve against spec 4.5. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "../../../profile/profile_int.h"
#include "../../../common/util.h"
#include "../testlib.h"

#define T testlib_utc

/* Resolves type/value at now; returns the code, notAfter in *na. */
static pca_err
resolve(const char *type, int64_t value, int64_t now, int64_t *na)
{
	struct prof_validity v = {type, value, 0, NULL, 0};
	int64_t nb = -1;

	return prof_validity_resolve(&v, now, &nb, na);
}

static void
expect_end(const char *type, int64_t value, int64_t now, int64_t want)
{
	int64_t na = 0;
	char a[21], b[21];

	if (resolve(type, value, now, &na) != PCA_OK)
		fail_msg("%s %lld: %s", type, (long long)value, pca_err_msg());
	if (na != want)
		fail_msg("%s %lld from %s: got %s, want %s", type,
		    (long long)value, util_iso8601(now, a), util_iso8601(na, b),
		    util_iso8601(want, a));
}

static void
expect_fail(const char *type, int64_t value, int64_t now, const char *msg)
{
	int64_t na = 12345;

	assert_int_equal(resolve(type, value, now, &na), PCA_EINVAL);
	assert_int_equal(na, 12345); /* out-parameters untouched */
	if (msg != NULL && strstr(pca_err_msg(), msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", pca_err_msg(), msg);
}

static void
test_days_default_not_before(void **state)
{
	int64_t now = T(2020, 10, 12, 12, 34, 54), nb = 0, na = 0;
	struct prof_validity v = {"DAYS", 90, 0, NULL, 0};

	(void)state;
	assert_int_equal(prof_validity_resolve(&v, now, &nb, &na), PCA_OK);
	assert_int_equal(nb, now - 3600);
	/* the model's example: 10/12/2020 12:34:54 + 90 days */
	assert_int_equal(na, T(2021, 1, 10, 12, 34, 54));
	expect_end("DAYS", 1, now, now + 86400); /* the minimum */
	expect_fail("DAYS", 0, now, "at least 1");
	expect_fail("DAYS", -5, now, "at least 1");
	expect_fail("DAYS", INT64_MAX, now, "9999");
	expect_fail("YEARS", 8000, now, "9999");
	expect_fail("MONTHS", INT64_MAX / 2, now, "9999");
}

static void
test_months_years_clamp(void **state)
{
	(void)state;
	/* Jan 31 + 1 month = last day of February */
	expect_end("MONTHS", 1, T(2026, 1, 31, 10, 0, 0),
	    T(2026, 2, 28, 10, 0, 0));
	expect_end("MONTHS", 1, T(2028, 1, 31, 10, 0, 0),
	    T(2028, 2, 29, 10, 0, 0));
	expect_end("MONTHS", 13, T(2026, 1, 31, 1, 2, 3),
	    T(2027, 2, 28, 1, 2, 3));
	expect_end("MONTHS", 1, T(2026, 3, 31, 0, 0, 0),
	    T(2026, 4, 30, 0, 0, 0));
	expect_end("MONTHS", 11, T(2026, 12, 15, 23, 59, 59),
	    T(2027, 11, 15, 23, 59, 59));
	expect_end("MONTHS", 2, T(2026, 12, 31, 0, 0, 0),
	    T(2027, 2, 28, 0, 0, 0));
	expect_end("MONTHS", 1, T(2026, 5, 15, 6, 7, 8),
	    T(2026, 6, 15, 6, 7, 8));
	/* Feb 29 + 1 year = Feb 28; + 4 years = Feb 29 */
	expect_end("YEARS", 1, T(2028, 2, 29, 12, 0, 0),
	    T(2029, 2, 28, 12, 0, 0));
	expect_end("YEARS", 4, T(2028, 2, 29, 12, 0, 0),
	    T(2032, 2, 29, 12, 0, 0));
	expect_end("MONTHS", 12, T(2028, 2, 29, 12, 0, 0),
	    T(2029, 2, 28, 12, 0, 0));
	expect_end("YEARS", 10, T(2026, 6, 1, 0, 0, 0), T(2036, 6, 1, 0, 0, 0));
	expect_end("YEARS", 30, T(2026, 6, 1, 0, 0, 0), T(2056, 6, 1, 0, 0, 0));
}

static void
test_end_date(void **state)
{
	int64_t now = T(2026, 6, 1, 0, 0, 0);

	(void)state;
	/* the model's example: 491231235959 is 12/31/2049 23:59:59 */
	expect_end("END_DATE", 491231235959LL, now,
	    T(2049, 12, 31, 23, 59, 59));
	expect_end("END_DATE", 20491231235959LL, now,
	    T(2049, 12, 31, 23, 59, 59));
	expect_end("END_DATE", 20500101000000LL, now, T(2050, 1, 1, 0, 0, 0));
	expect_end("END_DATE", 280229120000LL, now, T(2028, 2, 29, 12, 0, 0));
	expect_end("END_DATE", 99991231235959LL, now,
	    T(9999, 12, 31, 23, 59, 59));
	/* YY >= 50 is 19YY: 1950 lies in the past of a 2026 "now"... */
	expect_fail("END_DATE", 500101000000LL, now, "future");
	/* ...and resolves to 1950 for a "now" before it */
	expect_end("END_DATE", 500101000000LL, T(1940, 1, 1, 0, 0, 0),
	    T(1950, 1, 1, 0, 0, 0));
	expect_end("END_DATE", 991231235959LL, T(1940, 1, 1, 0, 0, 0),
	    T(1999, 12, 31, 23, 59, 59));
	/* lengths other than 12 and 14 */
	expect_fail("END_DATE", 51231235959LL, now, "12 (YYMMDDHHMMSS) or 14");
	expect_fail("END_DATE", 2049123123595LL, now, "12 (YYMMDDHHMMSS)");
	expect_fail("END_DATE", 204912312359590LL, now, "14 (YYYYMMDDHHMMSS)");
	expect_fail("END_DATE", 20491231LL, now, "12 (YYMMDDHHMMSS)");
	/* not a valid date or time */
	expect_fail("END_DATE", 271301000000LL, now, "not a valid date");
	expect_fail("END_DATE", 270001000000LL, now, "not a valid date");
	expect_fail("END_DATE", 270100000000LL, now, "not a valid date");
	expect_fail("END_DATE", 270230000000LL, now, "not a valid date");
	expect_fail("END_DATE", 270229000000LL, now, "not a valid date");
	expect_fail("END_DATE", 270431000000LL, now, "not a valid date");
	expect_fail("END_DATE", 271231240000LL, now, "not a valid date");
	expect_fail("END_DATE", 271231236000LL, now, "not a valid date");
	expect_fail("END_DATE", 271231235960LL, now, "not a valid date");
	expect_fail("END_DATE", 20271231235960LL, now, "not a valid date");
}

static void
test_absolute_and_not_before(void **state)
{
	int64_t now = T(2026, 6, 1, 0, 0, 0), nb = 7, na = 7;
	struct prof_validity v = {"ABSOLUTE", 2524608000LL, 0, NULL, 0};

	(void)state;
	/* the model's example: 2524608000 is 01/01/2050 00:00:00 */
	assert_int_equal(prof_validity_resolve(&v, now, &nb, &na), PCA_OK);
	assert_int_equal(na, T(2050, 1, 1, 0, 0, 0));
	/* a custom start, even in the future, with a 1-second span */
	v.has_not_before = 1;
	v.nb_type = "ABSOLUTE";
	v.nb_value = 2524608000LL - 1;
	assert_int_equal(prof_validity_resolve(&v, now, &nb, &na), PCA_OK);
	assert_int_equal(nb, 2524608000LL - 1);
	/* the relative end counts from now, not from ValidityNotBefore */
	v.type = "DAYS";
	v.value = 10;
	v.nb_value = now - 86400;
	assert_int_equal(prof_validity_resolve(&v, now, &nb, &na), PCA_OK);
	assert_int_equal(na, now + 10 * 86400);
	assert_int_equal(nb, now - 86400);
	/* span of zero, inverted, not-ABSOLUTE start */
	nb = na = 99;
	v.nb_value = now + 10 * 86400;
	assert_int_equal(prof_validity_resolve(&v, now, &nb, &na), PCA_EINVAL);
	assert_true(strstr(pca_err_msg(), "must end after it begins") != NULL);
	v.nb_value = now + 11 * 86400;
	assert_int_equal(prof_validity_resolve(&v, now, &nb, &na), PCA_EINVAL);
	v.nb_value = now;
	v.nb_type = "DAYS";
	assert_int_equal(prof_validity_resolve(&v, now, &nb, &na), PCA_EINVAL);
	assert_string_equal(pca_err_msg(),
	    "ValidityNotBefore.Type must be ABSOLUTE");
	v.nb_type = NULL;
	assert_int_equal(prof_validity_resolve(&v, now, &nb, &na), PCA_EINVAL);
	v.nb_type = "ABSOLUTE";
	v.nb_value = 0;
	assert_int_equal(prof_validity_resolve(&v, now, &nb, &na), PCA_EINVAL);
	assert_int_equal(nb, 99);
	assert_int_equal(na, 99);
	/* the end must lie after now */
	expect_fail("ABSOLUTE", now, now, "future");
	expect_end("ABSOLUTE", now + 1, now, now + 1);
	expect_fail("ABSOLUTE", 253402300800LL, now, "9999");
	/* types */
	expect_fail("WEEKS", 1, now, "Validity.Type must be");
	expect_fail("days", 1, now, "Validity.Type must be");
	expect_fail("", 1, now, "Validity.Type must be");
	v.type = NULL;
	assert_int_equal(prof_validity_resolve(&v, now, &nb, &na), PCA_EINVAL);
	assert_int_equal(prof_validity_resolve(NULL, now, &nb, &na),
	    PCA_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_days_default_not_before),
	    cmocka_unit_test(test_months_years_clamp),
	    cmocka_unit_test(test_end_date),
	    cmocka_unit_test(test_absolute_and_not_before),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
