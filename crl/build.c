/*
 * build.c - a DER CertificateList (RFC 5280 5.1) streamed from the store's
 * revocation index in two passes: the first sums the exact length of the
 * revokedCertificates, the second writes every byte into one buffer sized
 * for the whole CRL, so the peak memory is the CRL itself.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "../store/store.h"
#include "../x509/x509.h"
#include "crl.h"

#define HDR_MAX 6
#define REASON_EXT_LEN 14 /* Extensions { reasonCode ENUMERATED } */
#define CRL_EXT_MAX 4096

/* A tag + definite length header (x509/'s writer); past it. */
static uint8_t *
hdr_put(uint8_t *p, unsigned tag, size_t n)
{
	return p + x509_der_hdr(p, tag, n);
}

/* A serial as INTEGER content: minimal, positive. */
static void
serial_norm(const uint8_t **s, size_t *n, int *pad)
{
	while (*n > 1 && (*s)[0] == 0 && !((*s)[1] & 0x80)) {
		(*s)++;
		(*n)--;
	}
	*pad = ((*s)[0] & 0x80) != 0;
}

static void
dig2(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

/* UTCTime through 2049, GeneralizedTime after (RFC 5280 5.1.2.4). */
static size_t
time_fmt(int64_t t, uint8_t out[18])
{
	struct tm tm;
	time_t tt = (time_t)t;
	char s[16], *q = s;
	int y;

	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	y = tm.tm_year + 1900;
	if (y < 1950 || y >= 2050) {
		dig2(q, y / 100);
		q += 2;
	}
	dig2(q, y % 100);
	dig2(q + 2, tm.tm_mon + 1);
	dig2(q + 4, tm.tm_mday);
	dig2(q + 6, tm.tm_hour);
	dig2(q + 8, tm.tm_min);
	dig2(q + 10, tm.tm_sec);
	q[12] = 'Z';
	q += 13;
	out[0] = q - s == 13 ? 0x17 : 0x18;
	out[1] = (uint8_t)(q - s);
	memcpy(out + 2, s, (size_t)(q - s));
	return (size_t)(q - s) + 2;
}

struct pass {
	const struct crl_params *pr;
	int write;    /* 0: count, 1: emit */
	size_t total; /* content bytes of revokedCertificates */
	size_t count;
	uint8_t *p, *end; /* pass 2 output window */
	int overflow;
	int64_t last_when; /* cached time encoding */
	uint8_t tbuf[18];
	size_t tlen;
};

static int
entry_cb(const uint8_t *serial, size_t slen, int64_t when, int reason,
    void *arg)
{
	struct pass *ps = arg;
	const struct crl_params *pr = ps->pr;
	size_t content, sl;
	int pad;

	if (when < pr->min_when ||
	    (pr->keep != NULL && !pr->keep(pr->keep_arg, serial, slen)))
		return 0;
	if (ps->write && pr->listed != NULL)
		pr->listed(pr->listed_arg, serial, slen, when);
	if (ps->tlen == 0 || when != ps->last_when) {
		ps->tlen = time_fmt(when, ps->tbuf);
		ps->last_when = when;
	}
	serial_norm(&serial, &slen, &pad);
	sl = slen + (size_t)pad;
	content = x509_der_hdr_len(sl) + sl + ps->tlen +
		  (reason != 0 ? REASON_EXT_LEN : 0);
	ps->count++;
	if (!ps->write) {
		ps->total += x509_der_hdr_len(content) + content;
		return 0;
	}
	if ((size_t)(ps->end - ps->p) < x509_der_hdr_len(content) + content) {
		ps->overflow = 1;
		return 1;
	}
	ps->p = hdr_put(ps->p, 0x30, content);
	ps->p = hdr_put(ps->p, 0x02, sl);
	if (pad)
		*ps->p++ = 0;
	memcpy(ps->p, serial, slen);
	ps->p += slen;
	memcpy(ps->p, ps->tbuf, ps->tlen);
	ps->p += ps->tlen;
	if (reason != 0) {
		static const uint8_t ext[REASON_EXT_LEN - 1] = {0x30, 0x0c,
		    0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a,
		    0x01};
		memcpy(ps->p, ext, sizeof(ext));
		ps->p += sizeof(ext);
		*ps->p++ = (uint8_t)reason;
	}
	return 0;
}

static pca_err
put_uint(struct buf *b, uint64_t v)
{
	uint8_t t[9];
	size_t n = 0, i;

	t[0] = 0;
	for (i = 0; i < 8; i++)
		if ((v >> (8 * (7 - i))) != 0)
			break;
	n = 8 - i;
	if (n == 0)
		n = 1;
	for (i = 0; i < n; i++)
		t[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	if (t[1] & 0x80)
		return x509_der_put(b, 0x02, t, n + 1);
	return x509_der_put(b, 0x02, t + 1, n);
}

/* Extension { OID 2.5.29.<arc>, critical?, OCTET STRING { value } }. */
static pca_err
ext_wrap(struct buf *b, size_t start, unsigned arc, int critical)
{
	static const uint8_t crit[3] = {0x01, 0x01, 0xff};
	uint8_t oid[3] = {0x55, 0x1d, (uint8_t)arc};
	struct buf h;
	pca_err e;

	if ((e = x509_der_wrap(b, start, 0x04)) != PCA_OK)
		return e;
	buf_init(&h, 16);
	if ((e = x509_der_put(&h, 0x06, oid, 3)) == PCA_OK && critical)
		e = buf_add(&h, crit, 3);
	if (e == PCA_OK && (e = buf_add(b, h.p, h.len)) == PCA_OK) {
		memmove(b->p + start + h.len, b->p + start,
		    b->len - start - h.len);
		memcpy(b->p + start, h.p, h.len);
		e = x509_der_wrap(b, start, 0x30);
	}
	buf_free(&h);
	return e;
}

/* [0] { [0] fullName { uri } } inside SEQUENCE(s), from b->len. */
static pca_err
dp_name(struct buf *b, const char *uri)
{
	size_t s = b->len;
	pca_err e;

	if ((e = x509_der_put(b, 0x86, uri, strlen(uri))) != PCA_OK ||
	    (e = x509_der_wrap(b, s, 0xa0)) != PCA_OK)
		return e;
	return x509_der_wrap(b, s, 0xa0);
}

static pca_err
crl_exts(const struct crl_params *pr, struct buf *b)
{
	size_t s;
	pca_err e;

	s = b->len; /* AuthorityKeyIdentifier { [0] keyid } */
	if ((e = x509_der_put(b, 0x80, pr->akid, pr->akid_len)) ||
	    (e = x509_der_wrap(b, s, 0x30)) || (e = ext_wrap(b, s, 0x23, 0)))
		return e;
	s = b->len;
	if ((e = put_uint(b, pr->number)) || (e = ext_wrap(b, s, 0x14, 0)))
		return e;
	if (pr->idp_uri != NULL) {
		s = b->len;
		if ((e = dp_name(b, pr->idp_uri)) ||
		    (e = x509_der_wrap(b, s, 0x30)) ||
		    (e = ext_wrap(b, s, 0x1c, 1)))
			return e;
	}
	if (pr->delta_base > 0) {
		s = b->len;
		if ((e = put_uint(b, pr->delta_base)) ||
		    (e = ext_wrap(b, s, 0x1b, 1)))
			return e;
	}
	if (pr->freshest_uri != NULL) {
		s = b->len;
		if ((e = dp_name(b, pr->freshest_uri)) ||
		    (e = x509_der_wrap(b, s, 0x30)) ||
		    (e = x509_der_wrap(b, s, 0x30)) ||
		    (e = ext_wrap(b, s, 0x2e, 0)))
			return e;
	}
	if ((e = x509_der_wrap(b, 0, 0x30)) != PCA_OK)
		return e;
	return x509_der_wrap(b, 0, 0xa0);
}

/* version, signature, issuer, thisUpdate, nextUpdate (before entries). */
static pca_err
tbs_head(const struct crl_params *pr, struct buf *b)
{
	static const uint8_t v2[3] = {0x02, 0x01, 0x01};
	uint8_t alg[64], t[18];
	size_t alen, tl;
	pca_err e;

	if ((e = x509_sigalg_der(pr->sigalg, alg, sizeof(alg), &alen)) ||
	    (e = buf_add(b, v2, 3)) || (e = buf_add(b, alg, alen)) ||
	    (e = buf_add(b, pr->issuer, pr->issuer_len)))
		return e;
	tl = time_fmt(pr->this_update, t);
	if ((e = buf_add(b, t, tl)) != PCA_OK)
		return e;
	tl = time_fmt(pr->next_update, t);
	return buf_add(b, t, tl);
}

struct parts {
	struct buf head, exts;
	uint8_t alg[64];
	size_t alen;
};

/* Pass 2 into out (sized by pass 1), then signature and outer header. */
static pca_err
emit(const struct crl_params *pr, struct parts *pt, struct pass *ps,
    uint8_t **der, size_t *len)
{
	size_t rl = ps->total, tbs_c, tbs_l, sig_len = 0, outer, cap;
	uint8_t *out = NULL, *p, *tbs;
	pca_err e;

	tbs_c = pt->head.len + (ps->count ? x509_der_hdr_len(rl) + rl : 0) +
		pt->exts.len;
	tbs_l = x509_der_hdr_len(tbs_c) + tbs_c;
	cap = HDR_MAX + tbs_l + pt->alen + HDR_MAX + 1 + LIM_SIG;
	if ((out = malloc(cap)) == NULL)
		return pca_err_set(PCA_ENOMEM,
		    "no memory for a CRL of %zu "
		    "bytes",
		    cap);
	tbs = p = out + HDR_MAX;
	p = hdr_put(p, 0x30, tbs_c);
	memcpy(p, pt->head.p, pt->head.len);
	p += pt->head.len;
	if (ps->count) {
		p = hdr_put(p, 0x30, rl);
		ps->write = 1;
		ps->p = p;
		ps->end = p + rl;
		ps->count = 0;
		if (pr->listed != NULL)
			pr->listed(pr->listed_arg, NULL, 0, 0);
		e = store_revoked_foreach(pr->store, pr->ca_id, entry_cb, ps);
		if (e == PCA_OK && (ps->overflow || ps->p != ps->end))
			e = pca_err_set(PCA_EBUSY, "revocations changed while "
						   "the CRL was built");
		if (e != PCA_OK)
			goto out;
		p = ps->end;
	}
	memcpy(p, pt->exts.p, pt->exts.len);
	p += pt->exts.len;
	if ((e = pr->sign(pr->sign_arg, tbs, tbs_l, p + pt->alen + HDR_MAX + 1,
		 &sig_len)) != PCA_OK)
		goto out;
	memcpy(p, pt->alg, pt->alen);
	p += pt->alen;
	{
		uint8_t *sig = p + HDR_MAX + 1;
		p = hdr_put(p, 0x03, sig_len + 1);
		*p++ = 0;
		memmove(p, sig, sig_len);
		p += sig_len;
	}
	outer = (size_t)(p - tbs);
	hdr_put(tbs - x509_der_hdr_len(outer), 0x30, outer);
	*len = x509_der_hdr_len(outer) + outer;
	memmove(out, tbs - x509_der_hdr_len(outer), *len);
	*der = out;
	out = NULL;
out:
	free(out);
	return e;
}

pca_err
crl_build(const struct crl_params *pr, uint8_t **der, size_t *len,
    size_t *entries)
{
	struct parts pt;
	struct pass ps;
	int tries;
	pca_err e;

	if (pr->issuer == NULL || pr->akid == NULL || pr->number == 0 ||
	    pr->sign == NULL || pr->store == NULL)
		return pca_err_set(PCA_EINVAL,
		    "CRL build: issuer, key id, "
		    "number, signer and store are required");
	buf_init(&pt.head, 64 * 1024);
	buf_init(&pt.exts, CRL_EXT_MAX);
	if ((e = tbs_head(pr, &pt.head)) != PCA_OK ||
	    (e = crl_exts(pr, &pt.exts)) != PCA_OK ||
	    (e = x509_sigalg_der(pr->sigalg, pt.alg, sizeof(pt.alg),
		 &pt.alen)) != PCA_OK)
		goto out;
	for (tries = 0; tries < 3; tries++) {
		memset(&ps, 0, sizeof(ps));
		ps.pr = pr;
		if ((e = store_revoked_foreach(pr->store, pr->ca_id, entry_cb,
			 &ps)) != PCA_OK)
			goto out;
		*entries = ps.count;
		if ((e = emit(pr, &pt, &ps, der, len)) != PCA_EBUSY)
			break;
	}
out:
	buf_free(&pt.head);
	buf_free(&pt.exts);
	return e;
}

/* ---- reading the CA certificate ---- */

/* One element of the CA certificate (lengths read as BER, as always). */
static int
tlv(const uint8_t **p, size_t *left, unsigned *tag, const uint8_t **c,
    size_t *clen)
{
	struct x509_der el;

	if (x509_der_next(p, left, X509_DER_BER_LEN, &el) != X509_DER_OK)
		return 0;
	*tag = el.id;
	*c = el.c;
	*clen = el.clen;
	return 1;
}

pca_err
crl_cert_subject(const uint8_t *cert, size_t len, const uint8_t **name,
    size_t *name_len)
{
	const uint8_t *p = cert, *c, *t, *start;
	size_t left = len, cl, tl;
	unsigned tag;
	int i;

	if (!tlv(&p, &left, &tag, &c, &cl) || tag != 0x30 ||
	    !tlv(&c, &cl, &tag, &t, &tl) || tag != 0x30)
		goto bad;
	if (tl > 0 && t[0] == 0xa0 && !tlv(&t, &tl, &tag, &c, &cl))
		goto bad;
	/* serial, signature, issuer, validity */
	for (i = 0; i < 4; i++)
		if (!tlv(&t, &tl, &tag, &c, &cl))
			goto bad;
	start = t;
	if (!tlv(&t, &tl, &tag, &c, &cl) || tag != 0x30)
		goto bad;
	*name = start;
	*name_len = (size_t)(t - start);
	return PCA_OK;
bad:
	return pca_err_set(PCA_EBADCERT, "CA certificate: no subject Name "
					 "(RFC 5280 4.1)");
}
