/*
 * test_der.c - x509/'s DER reader: every header rule and its error, the
 * flags the readers use, the strict checker's messages, the structural
 * check, the BER extent, the writer, SET OF order and OIDs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../x509/x509.h"

#define B(s) (const uint8_t *)(s), sizeof(s) - 1

static enum x509_der_err
head(const uint8_t *p, size_t n, unsigned flags, struct x509_der *el)
{
	return x509_der_head(p, n, flags, el);
}

static void
test_head(void **state)
{
	struct x509_der el;

	(void)state;
	assert_int_equal(head(B("\x30\x03\x02\x01\x05"), 0, &el), X509_DER_OK);
	assert_int_equal(el.id, 0x30);
	assert_int_equal(el.cls, 0);
	assert_true(el.cons);
	assert_int_equal(el.tag, 16);
	assert_int_equal(el.hdr, 2);
	assert_int_equal(el.clen, 3);
	assert_int_equal(el.len, 5);
	/* long form, minimal */
	{
		uint8_t big[3 + 200] = {0x04, 0x81, 200};

		assert_int_equal(head(big, sizeof(big), 0, &el), X509_DER_OK);
		assert_int_equal(el.hdr, 3);
		assert_int_equal(el.clen, 200);
	}
	/* high tag number [31] context-specific */
	assert_int_equal(head(B("\x9f\x1f\x00"), 0, &el), X509_DER_OK);
	assert_int_equal(el.cls, 2);
	assert_int_equal(el.tag, 31);
	assert_int_equal(el.hdr, 3);
	/* errors, in the order the reader finds them */
	assert_int_equal(head(B(""), 0, &el), X509_DER_ETRUNC);
	assert_int_equal(head(B("\x04"), 0, &el), X509_DER_ETRUNC);
	assert_int_equal(head(B("\x9f\x05\x00"), 0, &el), X509_DER_ETAGMIN);
	assert_int_equal(head(B("\x9f\x80\x01\x00"), 0, &el), X509_DER_ETAGMIN);
	assert_int_equal(head(B("\x9f\x81\x81\x81\x81\x01\x00"), 0, &el),
	    X509_DER_ETAGLONG);
	assert_int_equal(head(B("\x30\x80\x00\x00"), 0, &el), X509_DER_EINDEF);
	assert_int_equal(head(B("\x04\x85\x00\x00\x00\x00\x01\x00"), 0, &el),
	    X509_DER_ELENLONG);
	assert_int_equal(head(B("\x04\x82\x01"), 0, &el), X509_DER_ELENLONG);
	assert_int_equal(head(B("\x04\x82\x00\x05hello"), 0, &el),
	    X509_DER_ELENZERO);
	assert_int_equal(head(B("\x04\x81\x05hello"), 0, &el),
	    X509_DER_ELENSHORT);
	assert_int_equal(head(B("\x04\x05hell"), 0, &el), X509_DER_EOVERRUN);
}

static void
test_flags(void **state)
{
	struct x509_der el;

	(void)state;
	/* BER lengths: non-minimal accepted */
	assert_int_equal(head(B("\x04\x81\x05hello"), X509_DER_BER_LEN, &el),
	    X509_DER_OK);
	assert_int_equal(el.clen, 5);
	assert_int_equal(
	    head(B("\x04\x82\x00\x05hello"), X509_DER_BER_LEN, &el),
	    X509_DER_OK);
	/* but never indefinite */
	assert_int_equal(head(B("\x30\x80\x00\x00"), X509_DER_BER_LEN, &el),
	    X509_DER_EINDEF);
	/* length octet caps */
	assert_int_equal(head(B("\x04\x83\x00\x00\x01\x00"),
			     X509_DER_BER_LEN | X509_DER_LEN3, &el),
	    X509_DER_OK);
	assert_int_equal(head(B("\x04\x84\x00\x00\x00\x01\x00"),
			     X509_DER_BER_LEN | X509_DER_LEN3, &el),
	    X509_DER_ELENLONG);
	assert_int_equal(head(B("\x04\x83\x01\x00\x00"), X509_DER_LEN2, &el),
	    X509_DER_ELENLONG);
	/* one identifier octet only */
	assert_int_equal(head(B("\x9f\x21\x00"), X509_DER_LOWTAG, &el),
	    X509_DER_EHIGHTAG);
	assert_int_equal(head(B("\x30"), X509_DER_LOWTAG, &el),
	    X509_DER_ETRUNC);
	/* high tag numbers below 31 */
	assert_int_equal(head(B("\x9f\x05\x00"), X509_DER_BER_TAG, &el),
	    X509_DER_OK);
	assert_int_equal(el.tag, 5);
}

static void
test_next(void **state)
{
	static const uint8_t d[] = {0x02, 0x01, 0x05, 0x04, 0x00, 0x05};
	const uint8_t *p = d;
	size_t n = sizeof(d);
	struct x509_der el;

	(void)state;
	assert_true(x509_der_want(&p, &n, 0x02, &el));
	assert_int_equal(el.c[0], 5);
	assert_int_equal(n, 3);
	assert_true(x509_der_get(&p, &n, &el));
	assert_int_equal(el.id, 0x04);
	assert_int_equal(el.clen, 0);
	/* a failed read does not move */
	assert_int_equal(x509_der_next(&p, &n, 0, &el), X509_DER_ETRUNC);
	assert_ptr_equal(p, d + 5);
	assert_int_equal(n, 1);
	p = d;
	n = sizeof(d);
	assert_false(x509_der_want(&p, &n, 0x04, &el));
}

static void
test_strict(void **state)
{
	char why[160];

	(void)state;
	assert_true(x509_der_strict(B("\x30\x06\x02\x01\x05\x01\x01\xff"), why,
	    sizeof(why)));
	assert_false(x509_der_strict(B(""), why, sizeof(why)));
	assert_string_equal(why, "no data at byte 0");
	assert_false(
	    x509_der_strict(B("\x30\x03\x01\x01\x01"), why, sizeof(why)));
	assert_string_equal(why, "BOOLEAN not 00 or FF (BER, not DER) at "
				 "byte 2");
	assert_false(x509_der_strict(B("\x02\x02\x00\x05"), why, sizeof(why)));
	assert_string_equal(why, "INTEGER not in minimal form at byte 0");
	assert_false(x509_der_strict(B("\x30\x80\x00\x00"), why, sizeof(why)));
	assert_string_equal(why, "indefinite length (BER, not DER) at byte 0");
	assert_false(x509_der_strict(B("\x05\x00\x05\x00"), why, sizeof(why)));
	assert_string_equal(why, "data after the outer element at byte 2");
	assert_false(x509_der_strict(B("\x31\x06\x02\x01\x02\x02\x01\x01"), why,
	    sizeof(why)));
	assert_string_equal(why, "SET OF elements out of order (BER, not DER) "
				 "at byte 5");
	assert_false(
	    x509_der_strict(B("\x24\x03\x04\x01\x00"), why, sizeof(why)));
	assert_string_equal(why, "universal type in the wrong form (BER, not "
				 "DER) at byte 0");
	assert_false(x509_der_strict(B("\x03\x02\x01\x01"), why, sizeof(why)));
	assert_string_equal(why, "BIT STRING with non-zero unused bits (BER, "
				 "not DER) at byte 0");
	assert_false(x509_der_strict(B("\x06\x02\x80\x01"), why, sizeof(why)));
	assert_string_equal(why, "OBJECT IDENTIFIER arc not minimal at byte 0");
}

static void
test_deep(void **state)
{
	uint8_t d[2 * 40];
	char why[160];
	size_t i;

	(void)state;
	for (i = 0; i < 40; i++) { /* 40 nested SEQUENCEs */
		d[2 * i] = 0x30;
		d[2 * i + 1] = (uint8_t)(2 * (39 - i));
	}
	assert_false(x509_der_strict(d, sizeof(d), why, sizeof(why)));
	assert_non_null(strstr(why, "nested too deep"));
	assert_false(x509_der_check(d, sizeof(d)));
	assert_true(x509_der_check(d + 2 * 10, sizeof(d) - 2 * 10));
}

static void
test_check_extent(void **state)
{
	size_t total = 0;

	(void)state;
	assert_true(x509_der_check(B("\x30\x03\x04\x01\x00")));
	assert_true(x509_der_check(B("\x9f\x05\x01\x00")));
	assert_false(x509_der_check(B("\x04\x81\x01\x00")));
	assert_false(x509_der_check(NULL, 0));
	assert_int_equal(
	    x509_ber_extent(B("\x30\x81\x01\x00\xff"), 0x30, &total), 1);
	assert_int_equal(total, 4);
	assert_int_equal(x509_ber_extent(B("\x30\x80\x00\x00"), 0x30, &total),
	    -1);
	assert_int_equal(x509_ber_extent(B("\x31\x00"), 0x30, &total), 0);
	assert_int_equal(x509_ber_extent(B("\x30\x05\x00"), 0x30, &total), 0);
}

static void
test_write(void **state)
{
	static const uint8_t v[200] = {0};
	uint8_t h[6];
	struct buf b;
	size_t n, i;
	static const size_t sizes[] = {0, 1, 127, 128, 255, 256, 65535, 65536,
	    0xffffff, 0x1000000};

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		assert_int_equal(x509_der_hdr(h, 0x04, sizes[i]),
		    x509_der_hdr_len(sizes[i]));
	assert_int_equal(x509_der_hdr(h, 0x04, 128), 3);
	assert_memory_equal(h, "\x04\x81\x80", 3);
	buf_init(&b, 4096);
	assert_int_equal(x509_der_put(&b, 0x04, v, sizeof(v)), PCA_OK);
	assert_int_equal(x509_der_wrap(&b, 0, 0x30), PCA_OK);
	assert_int_equal(b.len, 2 + 3 + 200 + 1);
	assert_memory_equal(b.p, "\x30\x81\xcb\x04\x81\xc8", 6);
	n = b.len;
	assert_true(x509_der_check(b.p, n));
	assert_int_equal(x509_der_wrap(&b, n + 1, 0x30), PCA_EINTERNAL);
	buf_free(&b);
}

static void
test_order_oid(void **state)
{
	(void)state;
	assert_true(x509_der_set_order(B("\x02\x01\x01"), B("\x02\x01\x02")));
	assert_true(x509_der_set_order(B("\x02\x01"), B("\x02\x01\x01")));
	assert_false(x509_der_set_order(B("\x02\x01\x02"), B("\x02\x01\x01")));
	assert_true(x509_oid_is(B("\x2b\x81\x04\x00\x22"), &X509_OID_P384));
	assert_false(x509_oid_is(B("\x2b\x81\x04\x00\x23"), &X509_OID_P384));
	assert_false(x509_oid_is(B("\x2b\x81\x04\x00"), &X509_OID_P384));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_head),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_next),
	    cmocka_unit_test(test_strict),
	    cmocka_unit_test(test_deep),
	    cmocka_unit_test(test_check_extent),
	    cmocka_unit_test(test_write),
	    cmocka_unit_test(test_order_oid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
