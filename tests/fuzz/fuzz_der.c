/*
 * fuzz_der.c - libFuzzer target for x509/'s DER reader: the strict checker
 * (x509_der_strict), the structural check (x509_der_check), the BER extent
 * and a walk of every element under each flag set, with the invariants
 * each must keep: an element never reaches past its container, a strict
 * tree also passes the lenient checks, and a tree re-written element by
 * element with x509_der_put is the same bytes.  Seeds:
 * tests/fuzz/corpus/der/ plus the regress corpora (CSRs, certificates,
 * OCSP requests).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../x509/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned flag_sets[] = {0, X509_DER_BER_TAG,
    X509_DER_BER_LEN | X509_DER_LEN3, X509_DER_LOWTAG | X509_DER_LEN2,
    X509_DER_BER_LEN};

/* Walks (p, n) under flags; depth-bounded like the checkers. */
static void
walk(const uint8_t *p, size_t n, unsigned flags, int depth)
{
	const uint8_t *end = p + n;
	struct x509_der el;

	if (depth > X509_DER_MAX_DEPTH)
		return;
	while (n > 0 && x509_der_next(&p, &n, flags, &el) == X509_DER_OK) {
		if (el.c < el.tlv || el.c + el.clen > end ||
		    el.tlv + el.len != p || el.hdr + el.clen != el.len)
			abort();
		if (el.cons)
			walk(el.c, el.clen, flags, depth + 1);
	}
}

/*
 * Re-writes a strict tree with x509_der_put/x509_der_wrap into b: 1 done,
 * 0 failed, -1 skipped (a high tag number, which the writer does not do).
 */
static int
rewrite(const uint8_t *p, size_t n, struct buf *b, int depth)
{
	struct x509_der el;
	size_t start;
	int r;

	while (n > 0) {
		if (!x509_der_get(&p, &n, &el))
			return 0;
		if ((el.id & 0x1f) == 0x1f)
			return -1;
		if (el.cons && depth < X509_DER_MAX_DEPTH) {
			start = b->len;
			if ((r = rewrite(el.c, el.clen, b, depth + 1)) != 1)
				return r;
			if (x509_der_wrap(b, start, el.id) != PCA_OK)
				return 0;
		} else if (x509_der_put(b, el.id, el.c, el.clen) != PCA_OK)
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[160];
	size_t i, total;
	struct buf b;
	int strict, r;

	for (i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++)
		walk(data, size, flag_sets[i], 0);
	strict = x509_der_strict(data, size, why, sizeof(why));
	if (strict && !x509_der_check(data, size))
		abort();
	r = x509_ber_extent(data, size, size > 0 ? data[0] : 0, &total);
	if (r == 1 && total > size)
		abort();
	if (strict && r != 1 && (data[0] & 0x1f) != 0x1f)
		abort(); /* the extent reads one identifier octet */
	if (strict) {
		buf_init(&b, 2 * size + 64);
		if (rewrite(data, size, &b, 0) == 1 &&
		    (b.len != size || memcmp(b.p, data, size) != 0))
			abort();
		buf_free(&b);
	}
	pca_err_clear();
	return 0;
}
