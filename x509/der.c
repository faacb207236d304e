/*
 * der.c - the bounded DER reader (X.690 8.1, 10.1), the strict DER checker
 * (X.690 section 10) and the TLV writer.  Every length is checked against
 * what remains before it is used; nothing is allocated.
 */
#include <stdio.h>
#include <string.h>

#include "x509.h"

/* ---- reading ---- */

/* Identifier octets: low tag numbers in one octet, high ones in up to 4. */
static enum x509_der_err
der_tag(const uint8_t *p, size_t n, unsigned flags, struct x509_der *t)
{
	size_t i = 1;

	t->id = p[0];
	t->cls = p[0] >> 6;
	t->cons = (p[0] & 0x20) != 0;
	t->tag = p[0] & 0x1f;
	t->hdr = 1;
	if (t->tag != 0x1f)
		return X509_DER_OK;
	if (flags & X509_DER_LOWTAG)
		return X509_DER_EHIGHTAG;
	t->tag = 0;
	if (n < 2 || p[1] == 0x80)
		return X509_DER_ETAGMIN;
	do {
		if (i >= n || i > 4)
			return X509_DER_ETAGLONG;
		t->tag = t->tag << 7 | (p[i] & 0x7f);
	} while (p[i++] & 0x80);
	if (t->tag < 0x1f && !(flags & X509_DER_BER_TAG))
		return X509_DER_ETAGMIN;
	t->hdr = i;
	return X509_DER_OK;
}

enum x509_der_err
x509_der_head(const uint8_t *p, size_t n, unsigned flags, struct x509_der *t)
{
	size_t i, nl, max = 4, len = 0;
	enum x509_der_err e;

	if (n == 0 || (n < 2 && (flags & X509_DER_LOWTAG)))
		return X509_DER_ETRUNC;
	if ((e = der_tag(p, n, flags, t)) != X509_DER_OK)
		return e;
	if (flags & X509_DER_LEN2)
		max = 2;
	else if (flags & X509_DER_LEN3)
		max = 3;
	i = t->hdr;
	if (i >= n)
		return X509_DER_ETRUNC;
	if (p[i] < 0x80) {
		len = p[i++];
	} else if (p[i] == 0x80) {
		return X509_DER_EINDEF;
	} else {
		nl = p[i++] & 0x7f;
		if (nl > max || nl > n - i)
			return X509_DER_ELENLONG;
		if (p[i] == 0 && !(flags & X509_DER_BER_LEN))
			return X509_DER_ELENZERO;
		while (nl-- > 0)
			len = len << 8 | p[i++];
		if (len < 0x80 && !(flags & X509_DER_BER_LEN))
			return X509_DER_ELENSHORT;
	}
	if (len > n - i)
		return X509_DER_EOVERRUN;
	t->tlv = p;
	t->hdr = i;
	t->c = p + i;
	t->clen = len;
	t->len = i + len;
	return X509_DER_OK;
}

enum x509_der_err
x509_der_next(const uint8_t **p, size_t *n, unsigned flags, struct x509_der *el)
{
	enum x509_der_err e;

	if ((e = x509_der_head(*p, *n, flags, el)) != X509_DER_OK)
		return e;
	*p += el->len;
	*n -= el->len;
	return X509_DER_OK;
}

const char *
x509_der_errstr(enum x509_der_err e)
{
	switch (e) {
	case X509_DER_OK:
		return "no error";
	case X509_DER_ETRUNC:
		return "element truncated";
	case X509_DER_EHIGHTAG:
		return "high tag number";
	case X509_DER_ETAGMIN:
		return "tag number not in minimal form";
	case X509_DER_ETAGLONG:
		return "tag number too long or truncated";
	case X509_DER_EINDEF:
		return "indefinite length " X509_DER_ONLY;
	case X509_DER_ELENLONG:
		return "length field too long or truncated";
	case X509_DER_ELENZERO:
	case X509_DER_ELENSHORT:
		return "length not in minimal form " X509_DER_ONLY;
	case X509_DER_EOVERRUN:
		return "element runs past the end of its container";
	}
	return "malformed element";
}

int
x509_der_get(const uint8_t **p, size_t *n, struct x509_der *el)
{
	return x509_der_next(p, n, 0, el) == X509_DER_OK;
}

int
x509_der_want(const uint8_t **p, size_t *n, uint8_t id, struct x509_der *el)
{
	return x509_der_get(p, n, el) && el->id == id;
}

int
x509_ber_extent(const uint8_t *p, size_t n, uint8_t id, size_t *total)
{
	size_t i, nl, len = 0;

	if (n < 2 || p[0] != id)
		return 0;
	if (p[1] == 0x80)
		return -1;
	if (p[1] < 0x80) {
		len = p[1];
		i = 2;
	} else {
		nl = p[1] & 0x7f;
		if (nl > n - 2)
			return 0;
		for (i = 2; i < 2 + nl; i++) {
			if (len > (SIZE_MAX >> 8))
				return 0;
			len = len << 8 | p[i];
		}
	}
	if (len > n - i)
		return 0;
	*total = i + len;
	return 1;
}

/* ---- strict DER (X.690 section 10) ---- */

static int
der_fail(char *why, size_t wl, size_t off, const char *rule)
{
	(void)snprintf(why, wl, "%s at byte %zu", rule, off);
	return 0;
}

/* Universal types that DER encodes primitive only. */
static int
der_prim_only(uint32_t tag)
{
	static const uint8_t prim[] = {1, 2, 3, 4, 5, 6, 9, 10, 12, 13, 18, 19,
	    20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
	size_t i;

	for (i = 0; i < sizeof(prim); i++)
		if (prim[i] == tag)
			return 1;
	return 0;
}

/* Content rules for BOOLEAN, INTEGER, BIT STRING, NULL and OID. */
static const char *
der_prim_rule(uint32_t tag, const uint8_t *c, size_t n)
{
	size_t i;

	switch (tag) {
	case 1:
		if (n != 1)
			return "BOOLEAN not one octet";
		return c[0] == 0 || c[0] == 0xff
			   ? NULL
			   : "BOOLEAN not 00 or FF " X509_DER_ONLY;
	case 2:
	case 10:
		if (n == 0 || (n > 1 && ((c[0] == 0 && !(c[1] & 0x80)) ||
					    (c[0] == 0xff && (c[1] & 0x80)))))
			return "INTEGER not in minimal form";
		return NULL;
	case 3:
		if (n == 0 || c[0] > 7 || (n == 1 && c[0] != 0))
			return "BIT STRING with a bad count of unused bits";
		if (n > 1 && (c[n - 1] & ((1u << c[0]) - 1)) != 0)
			return "BIT STRING with non-zero unused "
			       "bits " X509_DER_ONLY;
		return NULL;
	case 5:
		return n == 0 ? NULL : "NULL with content";
	case 6:
		if (n == 0 || (c[n - 1] & 0x80))
			return "OBJECT IDENTIFIER truncated";
		for (i = 0; i < n; i++)
			if (c[i] == 0x80 && (i == 0 || !(c[i - 1] & 0x80)))
				return "OBJECT IDENTIFIER arc not minimal";
		return NULL;
	default:
		return NULL;
	}
}

/* Universal string types, which BER may also encode constructed. */
static int
der_ber_cons(uint32_t tag)
{
	return tag == 3 || tag == 4 || tag == 12 || (tag >= 18 && tag <= 28) ||
	       tag == 30;
}

int
x509_der_set_order(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int r = memcmp(a, b, an < bn ? an : bn);

	return r < 0 || (r == 0 && an <= bn);
}

static int
der_walk(const uint8_t *base, const uint8_t *p, size_t n, int depth, int is_set,
    char *why, size_t wl)
{
	const uint8_t *prev = NULL;
	size_t prev_n = 0, tl;
	struct x509_der t;
	enum x509_der_err e;
	const char *rule = NULL;

	if (depth > X509_DER_MAX_DEPTH)
		return der_fail(why, wl, (size_t)(p - base), "nested too deep");
	while (n > 0) {
		if ((e = x509_der_head(p, n, 0, &t)) != X509_DER_OK)
			return der_fail(why, wl, (size_t)(p - base),
			    x509_der_errstr(e));
		tl = t.len;
		if (t.cls == 0 &&
		    (t.tag == 0 || (t.cons && der_prim_only(t.tag)) ||
			(!t.cons && (t.tag == 16 || t.tag == 17))))
			return der_fail(why, wl, (size_t)(p - base),
			    t.cons && der_ber_cons(t.tag)
				? "universal type in the wrong "
				  "form " X509_DER_ONLY
				: "universal type in the wrong form");
		if (t.cls == 0 && !t.cons &&
		    (rule = der_prim_rule(t.tag, t.c, t.clen)) != NULL)
			return der_fail(why, wl, (size_t)(p - base), rule);
		if (is_set && prev != NULL &&
		    !x509_der_set_order(prev, prev_n, p, tl))
			return der_fail(why, wl, (size_t)(p - base),
			    "SET OF elements out of order " X509_DER_ONLY);
		if (t.cons && !der_walk(base, t.c, t.clen, depth + 1,
				  t.cls == 0 && t.tag == 17, why, wl))
			return 0;
		prev = p;
		prev_n = tl;
		p += tl;
		n -= tl;
	}
	return 1;
}

int
x509_der_strict(const uint8_t *p, size_t len, char *why, size_t whylen)
{
	struct x509_der t;
	enum x509_der_err e;

	if (len == 0)
		return der_fail(why, whylen, 0, "no data");
	if ((e = x509_der_head(p, len, 0, &t)) != X509_DER_OK)
		return der_fail(why, whylen, 0, x509_der_errstr(e));
	if (t.len != len)
		return der_fail(why, whylen, t.len,
		    "data after the outer element");
	return der_walk(p, p, len, 0, 0, why, whylen);
}

/* ---- the structural check (lengths only) ---- */

static int
der_check_depth(const uint8_t *p, size_t n, int depth)
{
	struct x509_der t;

	if (depth > X509_DER_MAX_DEPTH)
		return 0;
	while (n > 0) {
		if (n < 2 ||
		    x509_der_next(&p, &n, X509_DER_BER_TAG, &t) != X509_DER_OK)
			return 0;
		if ((t.id & 0x20) && !der_check_depth(t.c, t.clen, depth + 1))
			return 0;
	}
	return 1;
}

int
x509_der_check(const uint8_t *p, size_t n)
{
	struct x509_der t;

	if (p == NULL || n < 2)
		return 0;
	if (x509_der_head(p, n, X509_DER_BER_TAG, &t) != X509_DER_OK ||
	    t.len != n)
		return 0;
	return der_check_depth(p, n, 0);
}

/* ---- writing ---- */

size_t
x509_der_hdr(uint8_t h[6], unsigned tag, size_t n)
{
	size_t i = 0, k = 0;

	h[i++] = (uint8_t)tag;
	if (n < 0x80) {
		h[i++] = (uint8_t)n;
		return i;
	}
	while (k < 4 && (n >> (8 * k)) != 0)
		k++;
	h[i++] = (uint8_t)(0x80 | k);
	while (k-- > 0)
		h[i++] = (uint8_t)(n >> (8 * k));
	return i;
}

size_t
x509_der_hdr_len(size_t n)
{
	if (n < 0x80)
		return 2;
	if (n <= 0xff)
		return 3;
	if (n <= 0xffff)
		return 4;
	if (n <= 0xffffff)
		return 5;
	return 6;
}

pca_err
x509_der_put(struct buf *b, unsigned tag, const void *p, size_t n)
{
	uint8_t h[6];
	pca_err e;

	if (n > UINT32_MAX)
		return pca_err_set(PCA_ETOOBIG, "DER element too long");
	if ((e = buf_add(b, h, x509_der_hdr(h, tag, n))) != PCA_OK)
		return e;
	return buf_add(b, p, n);
}

pca_err
x509_der_wrap(struct buf *b, size_t start, unsigned tag)
{
	uint8_t h[6];
	size_t n, hl;
	pca_err e;

	if (start > b->len)
		return pca_err_set(PCA_EINTERNAL, "DER wrap past the end");
	n = b->len - start;
	if (n > UINT32_MAX)
		return pca_err_set(PCA_ETOOBIG, "DER element too long");
	hl = x509_der_hdr(h, tag, n);
	if ((e = buf_add(b, h, hl)) != PCA_OK)
		return e;
	memmove(b->p + start + hl, b->p + start, n);
	memcpy(b->p + start, h, hl);
	return PCA_OK;
}
