/*
 * store_index.c - the inventory indexes (database "inv"): certificates by
 * CA, by template, PENDING and revoked, each in not_after order, written in
 * the transaction of the reserve, complete or revoke they describe; and the
 * paged inventory walk over them (store_inv_foreach).
 *
 * Keys (the suffix is the expiry key: time || CA id || serial):
 *   'c' || CA id (16) || suffix      every certificate of a CA
 *   't' || u8 len || template || suffix
 *   'p' || suffix                    PENDING certificates
 *   'r' || suffix                    revoked certificates
 *   'v' || suffix                    ISSUED and not revoked (valid or
 *                                    expired): Status ISSUED/EXPIRED
 *                                    seeks here, never past revoked ones
 * Values are empty.  The 'v' entries came later than the others (meta key
 * "inv_valid", s->inv_valid): store_inv_valid_build adds them to an older
 * store when it is opened for writing.  A store created before "inv" existed
 * gets it built from certs and revoked the first time it is opened for writing;
 * opened read-only, the walk falls back to the expiry index (same answers,
 * slower).
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define INV_CA 'c'
#define INV_TMPL 't'
#define INV_PENDING 'p'
#define INV_REVOKED 'r'
#define INV_VALID 'v'

/* Builds prefix || expiry key (not_after || ckey); *klen its length. */
static void
inv_key(const uint8_t *pre, size_t plen, int64_t not_after, const uint8_t *ckey,
    size_t cklen, uint8_t out[STORE_INV_KEY_MAX], size_t *klen)
{
	size_t n;

	memcpy(out, pre, plen);
	store_exp_key(not_after, ckey, cklen, out + plen, &n);
	*klen = plen + n;
}

/* The prefix of index kind for a certificate (CA id or template). */
static size_t
inv_prefix(int kind, const uint8_t *id, const char *tmpl, size_t tlen,
    uint8_t out[STORE_INV_PRE_MAX])
{
	out[0] = (uint8_t)kind;
	if (kind == INV_CA) {
		memcpy(out + 1, id, STORE_ID_BYTES);
		return 1 + STORE_ID_BYTES;
	}
	if (kind == INV_TMPL) {
		out[1] = (uint8_t)tlen;
		memcpy(out + 2, tmpl, tlen);
		return 2 + tlen;
	}
	return 1;
}

static pca_err
inv_put(struct store *s, MDB_txn *txn, const uint8_t *pre, size_t plen,
    int64_t not_after, const uint8_t *ckey, size_t cklen, int del)
{
	uint8_t k[STORE_INV_KEY_MAX];
	size_t klen;
	MDB_val kv, vv = store_val("", 0);
	int rc;

	inv_key(pre, plen, not_after, ckey, cklen, k, &klen);
	kv = store_val(k, klen);
	if (del) {
		rc = mdb_del(txn, s->dbi[STORE_DBI_INV], &kv, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	} else
		rc = mdb_put(txn, s->dbi[STORE_DBI_INV], &kv, &vv, 0);
	return rc == 0 ? PCA_OK
		       : store_mdb_err(rc, "updating the inventory index");
}

pca_err
store_inv_ca_count(struct store *s, const uint8_t *ca_id, size_t *n)
{
	uint8_t pre[STORE_INV_PRE_MAX];
	size_t plen = inv_prefix(INV_CA, ca_id, NULL, 0, pre), c = 0;
	pca_err e;

	e = store_scan_read(s, STORE_DBI_INV, pre, plen, plen, store_count_each,
	    &c);
	if (e == PCA_OK)
		*n = c;
	return e;
}

pca_err
store_inv_add(struct store *s, MDB_txn *txn, const uint8_t *ckey, size_t cklen,
    const struct store_rec *r)
{
	uint8_t pre[STORE_INV_PRE_MAX];
	size_t plen, tlen = r->tmpl_len;
	pca_err e;

	if (tlen > STORE_INV_TMPL_MAX)
		tlen = STORE_INV_TMPL_MAX;
	plen = inv_prefix(INV_CA, ckey, NULL, 0, pre);
	if ((e = inv_put(s, txn, pre, plen, r->not_after, ckey, cklen, 0)) !=
	    PCA_OK)
		return e;
	plen = inv_prefix(INV_TMPL, NULL, r->tmpl, tlen, pre);
	if ((e = inv_put(s, txn, pre, plen, r->not_after, ckey, cklen, 0)) !=
	    PCA_OK)
		return e;
	if (r->state == STORE_CERT_ISSUED && s->inv_valid) {
		plen = inv_prefix(INV_VALID, NULL, NULL, 0, pre);
		return inv_put(s, txn, pre, plen, r->not_after, ckey, cklen, 0);
	}
	if (r->state != STORE_CERT_PENDING)
		return PCA_OK;
	plen = inv_prefix(INV_PENDING, NULL, NULL, 0, pre);
	return inv_put(s, txn, pre, plen, r->not_after, ckey, cklen, 0);
}

pca_err
store_inv_issued(struct store *s, MDB_txn *txn, const uint8_t *ckey,
    size_t cklen, int64_t not_after)
{
	uint8_t pre = INV_PENDING, valid = INV_VALID;
	MDB_val k = store_val(ckey, cklen), v;
	pca_err e;
	int rc;

	if ((e = inv_put(s, txn, &pre, 1, not_after, ckey, cklen, 1)) !=
		PCA_OK ||
	    !s->inv_valid)
		return e;
	/* the store lets a PENDING certificate be revoked first */
	rc = mdb_get(txn, s->dbi[STORE_DBI_REVOKED], &k, &v);
	if (rc == 0)
		return PCA_OK;
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc, "reading a revocation");
	return inv_put(s, txn, &valid, 1, not_after, ckey, cklen, 0);
}

pca_err
store_inv_revoked(struct store *s, MDB_txn *txn, const uint8_t *ckey,
    size_t cklen, int64_t not_after)
{
	uint8_t pre = INV_REVOKED, valid = INV_VALID;
	pca_err e;

	if ((e = inv_put(s, txn, &pre, 1, not_after, ckey, cklen, 0)) !=
		PCA_OK ||
	    !s->inv_valid)
		return e;
	return inv_put(s, txn, &valid, 1, not_after, ckey, cklen, 1);
}

/*
 * The index keys a certificate must have (store_verify; valid: the store
 * has the 'v' entries); returns 2..4.
 */
size_t
store_inv_keys(const uint8_t *ckey, size_t cklen, const struct store_rec *r,
    int revoked, int valid, uint8_t keys[4][STORE_INV_KEY_MAX], size_t lens[4])
{
	uint8_t pre[STORE_INV_PRE_MAX];
	size_t plen, tlen = r->tmpl_len, n = 0;

	if (tlen > STORE_INV_TMPL_MAX)
		tlen = STORE_INV_TMPL_MAX;
	plen = inv_prefix(INV_CA, ckey, NULL, 0, pre);
	inv_key(pre, plen, r->not_after, ckey, cklen, keys[n], &lens[n]);
	n++;
	plen = inv_prefix(INV_TMPL, NULL, r->tmpl, tlen, pre);
	inv_key(pre, plen, r->not_after, ckey, cklen, keys[n], &lens[n]);
	n++;
	if (r->state == STORE_CERT_PENDING) {
		plen = inv_prefix(INV_PENDING, NULL, NULL, 0, pre);
		inv_key(pre, plen, r->not_after, ckey, cklen, keys[n],
		    &lens[n]);
		n++;
	}
	if (valid && r->state == STORE_CERT_ISSUED && !revoked) {
		plen = inv_prefix(INV_VALID, NULL, NULL, 0, pre);
		inv_key(pre, plen, r->not_after, ckey, cklen, keys[n],
		    &lens[n]);
		n++;
	}
	if (revoked) {
		plen = inv_prefix(INV_REVOKED, NULL, NULL, 0, pre);
		inv_key(pre, plen, r->not_after, ckey, cklen, keys[n],
		    &lens[n]);
		n++;
	}
	return n;
}

/*
 * Removes every index entry of CA id by scanning the whole index: for a CA
 * whose certificate records do not all decode (store_ca_purge).
 */
pca_err
store_inv_purge_scan(struct store *s, MDB_txn *txn, const uint8_t *id)
{
	uint8_t last[STORE_INV_KEY_MAX];
	const uint8_t *p;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t plen;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->dbi[STORE_DBI_INV], &cur)) != 0)
		return store_mdb_err(rc, "opening a store cursor");
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		p = k.mv_data;
		plen = p[0] == INV_CA                      ? 1 + STORE_ID_BYTES
		       : p[0] == INV_TMPL && k.mv_size > 1 ? 2 + (size_t)p[1]
							   : 1;
		if (k.mv_size < plen + 8 + STORE_ID_BYTES ||
		    k.mv_size > sizeof(last) ||
		    memcmp(p + plen + 8, id, STORE_ID_BYTES) != 0) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		memcpy(last, k.mv_data, k.mv_size);
		k = store_val(last, k.mv_size);
		if ((rc = mdb_cursor_del(cur, 0)) == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND
		   ? PCA_OK
		   : store_mdb_err(rc, "purging a CA's inventory");
}

/* Removes every index entry of one certificate (purging its CA). */
pca_err
store_inv_remove(struct store *s, MDB_txn *txn, const uint8_t *ckey,
    size_t cklen, const struct store_rec *r)
{
	uint8_t pre[STORE_INV_PRE_MAX], key[STORE_CERT_KEY_MAX];
	char tmpl[STORE_INV_TMPL_MAX];
	size_t plen, tlen = r->tmpl_len;
	int64_t not_after = r->not_after;
	static const int single[] = {INV_PENDING, INV_REVOKED, INV_VALID};
	size_t i;
	pca_err e;

	/* r and ckey may point into the map: copy before the first delete */
	if (tlen > STORE_INV_TMPL_MAX)
		tlen = STORE_INV_TMPL_MAX;
	if (cklen > sizeof(key))
		return pca_err_set(PCA_EDB, "certificate key too long");
	memcpy(tmpl, r->tmpl, tlen);
	memcpy(key, ckey, cklen);
	ckey = key;
	plen = inv_prefix(INV_CA, ckey, NULL, 0, pre);
	if ((e = inv_put(s, txn, pre, plen, not_after, ckey, cklen, 1)) !=
	    PCA_OK)
		return e;
	plen = inv_prefix(INV_TMPL, NULL, tmpl, tlen, pre);
	if ((e = inv_put(s, txn, pre, plen, not_after, ckey, cklen, 1)) !=
	    PCA_OK)
		return e;
	for (i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		plen = inv_prefix(single[i], NULL, NULL, 0, pre);
		if ((e = inv_put(s, txn, pre, plen, not_after, ckey, cklen,
			 1)) != PCA_OK)
			return e;
	}
	return PCA_OK;
}

/* ---- building the index of an older store ---- */

struct build_arg {
	struct store *s;
	MDB_txn *txn;
};

static pca_err
build_cert(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct build_arg *a = varg;
	struct store_rec r;

	(void)stop;
	if (store_rec_check(k, v, &r) != PCA_OK) {
		pca_err_clear(); /* store verify reports it */
		return PCA_OK;
	}
	return store_inv_add(a->s, a->txn, k->mv_data, k->mv_size, &r);
}

static pca_err
build_rev(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct build_arg *a = varg;
	struct store_rec r;

	(void)v;
	(void)stop;
	if (!store_cert_key_ok(k) ||
	    store_rec_get(a->txn, a->s->dbi[STORE_DBI_CERTS], k, &r) !=
		PCA_OK) {
		pca_err_clear();
		return PCA_OK;
	}
	return store_inv_revoked(a->s, a->txn, k->mv_data, k->mv_size,
	    r.not_after);
}

pca_err
store_inv_build(struct store *s, MDB_txn *txn)
{
	struct build_arg a = {s, txn};
	pca_err e;

	if ((e = store_scan(txn, s->dbi[STORE_DBI_CERTS], NULL, 0, 0,
		 build_cert, &a)) != PCA_OK)
		return e;
	return store_scan(txn, s->dbi[STORE_DBI_REVOKED], NULL, 0, 0, build_rev,
	    &a);
}

static pca_err
build_valid(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct build_arg *a = varg;
	struct store_rec r;
	uint8_t pre = INV_VALID;
	MDB_val rk = *k, rv;
	int rc;

	(void)stop;
	if (store_rec_check(k, v, &r) != PCA_OK) {
		pca_err_clear(); /* store verify reports it */
		return PCA_OK;
	}
	if (r.state != STORE_CERT_ISSUED)
		return PCA_OK;
	rc = mdb_get(a->txn, a->s->dbi[STORE_DBI_REVOKED], &rk, &rv);
	if (rc == 0)
		return PCA_OK;
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc, "reading a revocation");
	return inv_put(a->s, a->txn, &pre, 1, r.not_after, k->mv_data,
	    k->mv_size, 0);
}

/* Adds the 'v' entries to a store whose index predates them. */
pca_err
store_inv_valid_build(struct store *s, MDB_txn *txn)
{
	struct build_arg a = {s, txn};

	return store_scan(txn, s->dbi[STORE_DBI_CERTS], NULL, 0, 0, build_valid,
	    &a);
}

/* ---- the walk ---- */

struct inv_walk {
	struct store *s;
	MDB_txn *txn;
	const struct store_inv_query *q;
	uint8_t pre[STORE_INV_PRE_MAX];
	size_t plen;
	uint8_t id[STORE_ID_BYTES]; /* q->ca_id parsed */
	int fallback;               /* walking the expiry db */
	int (*cb)(const struct store_cert *, const uint8_t *, size_t, void *);
	void *arg;
	size_t seen;
	struct store_inv_pos *pos;
};

/* Whether the record r of key ck passes the filters the index did not. */
static pca_err
inv_match(struct inv_walk *w, const MDB_val *ck, const struct store_rec *r,
    int *revoked, int *ok)
{
	const struct store_inv_query *q = w->q;
	MDB_val k = *ck, v;
	int rc;

	*ok = 0;
	if (q->ca_id != NULL && memcmp(ck->mv_data, w->id, STORE_ID_BYTES))
		return PCA_OK;
	if (q->tmpl != NULL && (r->tmpl_len != strlen(q->tmpl) ||
				   memcmp(r->tmpl, q->tmpl, r->tmpl_len) != 0))
		return PCA_OK;
	rc = mdb_get(w->txn, w->s->dbi[STORE_DBI_REVOKED], &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_mdb_err(rc, "reading a revocation");
	*revoked = rc == 0;
	if (q->state == STORE_INV_PENDING && r->state != STORE_CERT_PENDING)
		return PCA_OK;
	if (q->state == STORE_INV_REVOKED && !*revoked)
		return PCA_OK;
	if (q->state == STORE_INV_VALID &&
	    (*revoked || r->state != STORE_CERT_ISSUED))
		return PCA_OK;
	*ok = 1;
	return PCA_OK;
}

/* Hands the certificate keyed ck to the callback if it passes. */
static pca_err
inv_visit(struct inv_walk *w, const MDB_val *ik, const MDB_val *ck, int *stop)
{
	struct store_cert c;
	struct store_rec r;
	MDB_val rv;
	int ok, revoked = 0;
	pca_err e;

	if ((e = store_rec_get(w->txn, w->s->dbi[STORE_DBI_CERTS], ck, &r)) ==
	    PCA_ENOTFOUND) {
		pca_err_clear(); /* an entry left by a purged CA */
		return PCA_OK;
	}
	if (e != PCA_OK ||
	    (e = inv_match(w, ck, &r, &revoked, &ok)) != PCA_OK || !ok)
		return e;
	if ((e = store_rec_copy(ck, &r, &c)) != PCA_OK)
		return pca_err_set(e, "out of memory");
	if (revoked) {
		MDB_val k = *ck;
		if (mdb_get(w->txn, w->s->dbi[STORE_DBI_REVOKED], &k, &rv) ==
			0 &&
		    store_rev_decode(&rv, &c.revoked_at, &c.reason) == PCA_OK)
			c.revoked = 1;
	}
	*stop = w->cb(&c, ik->mv_data, ik->mv_size, w->arg) != 0;
	store_cert_clear(&c);
	return PCA_OK;
}

static pca_err
inv_each(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct inv_walk *w = varg;
	const uint8_t *p = k->mv_data;
	MDB_val ck;
	size_t n = k->mv_size;
	pca_err e;

	(void)v;
	if (n <= w->plen + 8 + STORE_ID_BYTES ||
	    n > w->plen + STORE_EXP_KEY_MAX)
		return pca_err_set(PCA_EDB,
		    "inventory index key of %zu bytes "
		    "is malformed",
		    n);
	if (w->q->after != NULL && n == w->q->after_len &&
	    memcmp(p, w->q->after, n) == 0)
		return PCA_OK;
	if (store_time_dec(store_be64_get(p + w->plen)) >= w->q->to) {
		*stop = 1;
		return PCA_OK;
	}
	memcpy(w->pos->cursor, p, n);
	w->pos->len = n;
	ck = store_val(p + w->plen + 8, n - w->plen - 8);
	if ((e = inv_visit(w, k, &ck, stop)) != PCA_OK)
		return e;
	if (w->q->max_scan > 0 && ++w->seen >= w->q->max_scan)
		*stop = 1;
	w->pos->more = *stop;
	return PCA_OK;
}

/* Picks the index to walk: the most selective the query allows. */
static pca_err
inv_plan(struct inv_walk *w)
{
	const struct store_inv_query *q = w->q;
	size_t tlen;
	pca_err e;

	if (q->ca_id != NULL && (e = store_id_parse(q->ca_id, w->id)) != PCA_OK)
		return e;
	tlen = q->tmpl != NULL ? strlen(q->tmpl) : 0;
	if (tlen > STORE_INV_TMPL_MAX)
		return pca_err_set(PCA_EINVAL,
		    "template name of %zu bytes is "
		    "over %d",
		    tlen, STORE_INV_TMPL_MAX);
	w->fallback = !w->s->inv_ok;
	if (w->fallback)
		w->plen = 0;
	else if (q->state == STORE_INV_PENDING)
		w->plen = inv_prefix(INV_PENDING, NULL, NULL, 0, w->pre);
	else if (q->state == STORE_INV_REVOKED)
		w->plen = inv_prefix(INV_REVOKED, NULL, NULL, 0, w->pre);
	else if (q->state == STORE_INV_VALID && q->tmpl == NULL &&
		 w->s->inv_valid)
		/* seeks to the first live entry at or after from, whatever
		 * the number of revoked (or pending) ones around it; a CA
		 * filter is checked on each entry (inv_match) */
		w->plen = inv_prefix(INV_VALID, NULL, NULL, 0, w->pre);
	else if (q->tmpl != NULL)
		w->plen = inv_prefix(INV_TMPL, NULL, q->tmpl, tlen, w->pre);
	else if (q->ca_id != NULL)
		w->plen = inv_prefix(INV_CA, w->id, NULL, 0, w->pre);
	else
		w->plen = 0;
	if (q->after != NULL &&
	    (q->after_len < w->plen || q->after_len > STORE_INV_KEY_MAX ||
		memcmp(q->after, w->pre, w->plen) != 0))
		return pca_err_set(PCA_EINVAL, "the inventory cursor does not "
					       "belong to this query");
	return PCA_OK;
}

pca_err
store_inv_foreach(struct store *s, const struct store_inv_query *q,
    int (*cb)(const struct store_cert *, const uint8_t *cursor, size_t len,
	void *arg),
    void *arg, struct store_inv_pos *end)
{
	struct store_inv_pos pos;
	struct inv_walk w;
	uint8_t start[STORE_INV_KEY_MAX];
	size_t slen;
	pca_err e;

	memset(&w, 0, sizeof(w));
	memset(&pos, 0, sizeof(pos));
	w.s = s;
	w.q = q;
	w.cb = cb;
	w.arg = arg;
	w.pos = &pos;
	if ((e = inv_plan(&w)) != PCA_OK)
		return e;
	if (q->from >= q->to)
		goto done;
	if (q->after != NULL) {
		memcpy(start, q->after, q->after_len);
		slen = q->after_len;
	} else {
		memcpy(start, w.pre, w.plen);
		store_be64_put(start + w.plen, store_time_enc(q->from));
		slen = w.plen + 8;
	}
	if ((e = store_rtxn_begin(s, &w.txn)) != PCA_OK)
		return e;
	e = store_scan(w.txn,
	    s->dbi[w.plen == 0 ? STORE_DBI_EXPIRY : STORE_DBI_INV], start, slen,
	    w.plen, inv_each, &w);
	store_rtxn_end(s, w.txn);
	if (e != PCA_OK)
		return e;
done:
	if (end != NULL)
		*end = pos;
	return PCA_OK;
}
