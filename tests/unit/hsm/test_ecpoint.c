/*
 * test_ecpoint.c - hsm_ec_point_raw: a CKA_EC_POINT value as modules hand
 * it out, the point itself or the point in a strict-DER OCTET STRING
 * (PKCS#11 v2.40, SoftHSM), unwrapped with x509_der_next; everything else
 * refused with PCA_EHSM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../../hsm/hsm_int.h"

#define P256 32
#define P521 66

/* An uncompressed (04) or compressed (02/03) point of field-byte coords. */
static size_t
point(uint8_t *out, uint8_t form, size_t field)
{
	size_t n = form == 0x04 ? 1 + 2 * field : 1 + field;

	memset(out, 0xa5, n);
	out[0] = form;
	return n;
}

/* hdr then the point: a DER OCTET STRING when hdr is its header. */
static size_t
wrapped(uint8_t *out, const uint8_t *hdr, size_t hn, uint8_t form, size_t field)
{
	memcpy(out, hdr, hn);
	return hn + point(out + hn, form, field);
}

static void
want_ok(const uint8_t *p, size_t n, size_t field, size_t off, size_t len)
{
	const uint8_t *raw = NULL;
	size_t rawlen = 0;

	assert_int_equal(hsm_ec_point_raw(p, n, field, &raw, &rawlen), PCA_OK);
	assert_ptr_equal(raw, p + off);
	assert_int_equal(rawlen, len);
}

static void
want_bad(const uint8_t *p, size_t n, size_t field)
{
	const uint8_t *raw = NULL;
	size_t rawlen = 0;
	char want[64];

	assert_int_equal(hsm_ec_point_raw(p, n, field, &raw, &rawlen),
	    PCA_EHSM);
	assert_null(raw);
	assert_int_equal(rawlen, 0);
	(void)snprintf(want, sizeof(want), "CKA_EC_POINT of %zu bytes", n);
	assert_non_null(strstr(pca_err_msg(), want));
}

static void
test_raw(void **state)
{
	uint8_t b[200];
	size_t n;

	(void)state;
	n = point(b, 0x04, P256);
	want_ok(b, n, P256, 0, 65);
	n = point(b, 0x02, P256);
	want_ok(b, n, P256, 0, 33);
	n = point(b, 0x03, P521);
	want_ok(b, n, P521, 0, 67);
	/* a raw point that looks like an OCTET STRING header stays raw */
	n = point(b, 0x04, P256);
	b[1] = 0x40;
	want_ok(b, n, P256, 0, 65);
}

static void
test_wrapped(void **state)
{
	static const uint8_t h65[] = {0x04, 0x41}, h33[] = {0x04, 0x21},
			     h133[] = {0x04, 0x81, 0x85}, h67[] = {0x04, 0x43};
	uint8_t b[200];
	size_t n;

	(void)state;
	n = wrapped(b, h65, sizeof(h65), 0x04, P256);
	want_ok(b, n, P256, 2, 65);
	n = wrapped(b, h33, sizeof(h33), 0x03, P256);
	want_ok(b, n, P256, 2, 33);
	/* P-521: 133 bytes, the long form with one length octet */
	n = wrapped(b, h133, sizeof(h133), 0x04, P521);
	want_ok(b, n, P521, 3, 133);
	n = wrapped(b, h67, sizeof(h67), 0x02, P521);
	want_ok(b, n, P521, 2, 67);
}

static void
test_bad(void **state)
{
	static const uint8_t nonmin[] = {0x04, 0x81, 0x41},
			     two[] = {0x04, 0x82, 0x00, 0x41},
			     indef[] = {0x04, 0x80}, bitstr[] = {0x03, 0x41},
			     cons[] = {0x24, 0x41}, high[] = {0x1f, 0x04, 0x41},
			     h65[] = {0x04, 0x41}, h64[] = {0x04, 0x40};
	static const uint8_t empty[] = {0x04, 0x00}, one[] = {0x04};
	uint8_t b[200];
	size_t n;

	(void)state;
	want_bad(one, 0, P256);
	want_bad(one, 1, P256);
	want_bad(empty, sizeof(empty), P256);
	/* BER lengths: long form under 128, a leading zero, indefinite */
	n = wrapped(b, nonmin, sizeof(nonmin), 0x04, P256);
	want_bad(b, n, P256);
	n = wrapped(b, two, sizeof(two), 0x04, P256);
	want_bad(b, n, P256);
	n = wrapped(b, indef, sizeof(indef), 0x04, P256);
	want_bad(b, n - 1, P256);
	/* not a primitive universal OCTET STRING */
	n = wrapped(b, bitstr, sizeof(bitstr), 0x04, P256);
	want_bad(b, n, P256);
	n = wrapped(b, cons, sizeof(cons), 0x04, P256);
	want_bad(b, n, P256);
	n = wrapped(b, high, sizeof(high), 0x04, P256);
	want_bad(b, n, P256);
	/* a byte after it, a byte short, the other curve's size */
	n = wrapped(b, h65, sizeof(h65), 0x04, P256);
	b[n] = 0x00;
	want_bad(b, n + 1, P256);
	want_bad(b, n - 1, P256);
	want_bad(b, n, P521);
	/* an OCTET STRING whose content is no point of the curve */
	memcpy(b, h65, sizeof(h65));
	memset(b + 2, 0x05, 65);
	want_bad(b, 67, P256);
	memcpy(b, h64, sizeof(h64));
	memset(b + 2, 0x04, 64);
	want_bad(b, 66, P256);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_raw),
	    cmocka_unit_test(test_wrapped),
	    cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
