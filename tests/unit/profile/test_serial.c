/*
 * test_serial.c - reliability matrix T1: the statistics of 200,000 serial
 * numbers drawn through prof_serial_new(), the generator issuance uses.
 *
 * Each of the 128 bits must be set in close to half of the serials (the
 * first octet is never zero, so its bits are set with probability 128/255),
 * neighbouring bits must not agree more or less often than chance, every
 * value of the first octet but zero must appear about as often, and no
 * serial may repeat.  The bounds are 6 standard deviations: a good
 * generator fails them about once in 10^8 runs, a stuck or biased bit (or a
 * counter, or a clock) fails them at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../profile/profile_int.h"

#define NSERIALS 200000
#define SLEN 16
#define NBITS (8 * SLEN)
#define SIGMAS 6.0

static uint8_t (*serials)[SLEN];

static int
setup(void **state)
{
	size_t i;

	(void)state;
	if ((serials = calloc(NSERIALS, SLEN)) == NULL)
		return -1;
	for (i = 0; i < NSERIALS; i++)
		if (prof_serial_new(serials[i]) != PCA_OK)
			return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(serials);
	serials = NULL;
	return 0;
}

static int
bit(const uint8_t *s, int i)
{
	return (s[i / 8] >> (7 - i % 8)) & 1;
}

/* |count - n p| within SIGMAS binomial standard deviations. */
static void
check_binomial(const char *what, int idx, size_t count, double p)
{
	double mean = NSERIALS * p;
	double var = NSERIALS * p * (1.0 - p);
	double d = (double)count - mean;

	/* squared, so no libm: d^2 > (SIGMAS sd)^2 */
	if (d * d > SIGMAS * SIGMAS * var)
		fail_msg("%s %d: %zu of %d, expected %.0f, %.1f sigma^2 off",
		    what, idx, count, NSERIALS, mean, d * d / var);
}

static void
test_bit_frequency(void **state)
{
	size_t ones[NBITS] = {0};
	size_t i;
	int b;

	(void)state;
	for (i = 0; i < NSERIALS; i++)
		for (b = 0; b < NBITS; b++)
			ones[b] += (size_t)bit(serials[i], b);
	/* octet 0 is drawn from 1..255: 128 of those 255 values set a bit */
	for (b = 0; b < 8; b++)
		check_binomial("bit", b, ones[b], 128.0 / 255.0);
	for (b = 8; b < NBITS; b++)
		check_binomial("bit", b, ones[b], 0.5);
}

static void
test_neighbour_bits(void **state)
{
	size_t same[NBITS - 1] = {0};
	size_t i;
	int b;

	(void)state;
	/* within octet 0 the pairs are not quite independent: skip them */
	for (i = 0; i < NSERIALS; i++)
		for (b = 7; b < NBITS - 1; b++)
			same[b] += bit(serials[i], b) == bit(serials[i], b + 1);
	for (b = 8; b < NBITS - 1; b++)
		check_binomial("equal neighbours at bit", b, same[b], 0.5);
}

static void
test_first_octet(void **state)
{
	size_t count[256] = {0};
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < NSERIALS; i++)
		count[serials[i][0]]++;
	assert_int_equal(count[0], 0); /* a positive 16-octet INTEGER */
	for (v = 1; v < 256; v++)
		check_binomial("first octet value", v, count[v], 1.0 / 255.0);
}

static int
cmp(const void *a, const void *b)
{
	return memcmp(a, b, SLEN);
}

static void
test_no_duplicates(void **state)
{
	uint8_t(*sorted)[SLEN];
	size_t i;

	(void)state;
	sorted = malloc((size_t)NSERIALS * SLEN);
	assert_non_null(sorted);
	memcpy(sorted, serials, (size_t)NSERIALS * SLEN);
	qsort(sorted, NSERIALS, SLEN, cmp);
	for (i = 1; i < NSERIALS; i++)
		if (memcmp(sorted[i - 1], sorted[i], SLEN) == 0)
			fail_msg("serial drawn twice among %d", NSERIALS);
	free(sorted);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bit_frequency),
	    cmocka_unit_test(test_neighbour_bits),
	    cmocka_unit_test(test_first_octet),
	    cmocka_unit_test(test_no_duplicates),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
