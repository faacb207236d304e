/*
 * store_kv.c - CA records (and their purge), idempotency tokens, counters.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static pca_err
copy_text(const void *p, size_t n, char **out)
{
	char *t;

	if ((t = malloc(n + 1)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	memcpy(t, p, n);
	t[n] = '\0';
	*out = t;
	return PCA_OK;
}

/* A text key for idem and counters: 1 to LMDB's maximum key size. */
static pca_err
name_key(struct store *s, const char *name, const char *what, MDB_val *k)
{
	size_t n = name != NULL ? strlen(name) : 0;
	size_t max = (size_t)mdb_env_get_maxkeysize(s->env);

	if (n == 0 || n > max)
		return pca_err_set(PCA_EINVAL, "%s must be 1 to %zu bytes",
		    what, max);
	*k = store_val(name, n);
	return PCA_OK;
}

/* ---- CAs ---- */

struct ca_put_arg {
	const char *id;
	const char *json;
	size_t len;
	int create;
	uint8_t bin[STORE_ID_BYTES];
};

static pca_err
ca_put_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct ca_put_arg *a = varg;
	MDB_val k = store_val(a->id, 36), v = store_val(a->json, a->len);
	int rc;

	rc = mdb_put(txn, s->dbi[STORE_DBI_CAS], &k, &v,
	    a->create ? MDB_NOOVERWRITE : 0);
	if (rc == MDB_KEYEXIST)
		return pca_err_set(PCA_EEXISTS, "CA %s already exists", a->id);
	if (rc != 0)
		return store_mdb_err(rc, "recording a CA");
	return store_feed_put(s, txn, STORE_CHG_CA, a->bin, sizeof(a->bin));
}

pca_err
store_ca_put(struct store *s, const char *ca_id, const char *json, size_t len,
    int create)
{
	struct ca_put_arg a = {ca_id, json, len, create, {0}};
	pca_err e;

	if ((e = store_id_parse(ca_id, a.bin)) != PCA_OK)
		return e;
	if (json == NULL || len == 0 || len > STORE_MAX_BLOB)
		return pca_err_set(PCA_EINVAL,
		    "CA record must be 1 to %d "
		    "bytes",
		    STORE_MAX_BLOB);
	return store_submit(s, ca_put_run, &a);
}

pca_err
store_ca_get(struct store *s, const char *ca_id, char **json, size_t *len)
{
	uint8_t id[STORE_ID_BYTES];
	MDB_txn *txn = NULL;
	MDB_val k, v;
	char *t = NULL;
	pca_err e;
	int rc;

	if ((e = store_id_parse(ca_id, id)) != PCA_OK ||
	    (e = store_rtxn_begin(s, &txn)) != PCA_OK)
		return e;
	k = store_val(ca_id, 36);
	rc = mdb_get(txn, s->dbi[STORE_DBI_CAS], &k, &v);
	if (rc == MDB_NOTFOUND)
		e = pca_err_set(PCA_ENOTFOUND, "no CA %s", ca_id);
	else if (rc != 0)
		e = store_mdb_err(rc, "reading a CA");
	else
		e = copy_text(v.mv_data, v.mv_size, &t);
	store_rtxn_end(s, txn);
	if (e != PCA_OK)
		return e;
	*json = t;
	*len = v.mv_size;
	return PCA_OK;
}

struct ca_iter {
	int (*cb)(const char *, const char *, size_t, void *);
	void *arg;
	struct buf b;
};

static pca_err
ca_each(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct ca_iter *it = varg;
	char id[37];
	pca_err e;

	if (k->mv_size != 36)
		return pca_err_set(PCA_EDB, "CA key of %zu bytes is malformed",
		    k->mv_size);
	memcpy(id, k->mv_data, 36);
	id[36] = '\0';
	it->b.len = 0;
	if ((e = buf_add(&it->b, v->mv_data, v->mv_size)) != PCA_OK ||
	    (e = buf_nul(&it->b)) != PCA_OK)
		return e;
	*stop = it->cb(id, (const char *)it->b.p, it->b.len, it->arg) != 0;
	return PCA_OK;
}

pca_err
store_ca_foreach(struct store *s,
    int (*cb)(const char *ca_id, const char *json, size_t len, void *arg),
    void *arg)
{
	struct ca_iter it;
	pca_err e;

	it.cb = cb;
	it.arg = arg;
	buf_init(&it.b, SIZE_MAX / 2);
	e = store_scan_read(s, STORE_DBI_CAS, NULL, 0, 0, ca_each, &it);
	buf_free(&it.b);
	return e;
}

pca_err
store_ca_count(struct store *s, size_t *out)
{
	return store_entries(s, STORE_DBI_CAS, out);
}

/* ---- purge ---- */

struct purge_arg {
	const char *id_text;
	uint8_t id[STORE_ID_BYTES];
	int found;
	int scan_expiry; /* a certificate did not decode */
};

/*
 * Deletes every record of db (certs or revoked) keyed by the CA id, and for
 * each certificate its expiry index entry.
 */
static pca_err
purge_prefix(struct store *s, MDB_txn *txn, enum store_dbi db,
    struct purge_arg *a)
{
	const uint8_t *prefix = a->id;
	size_t plen = sizeof(a->id);
	MDB_cursor *cur = NULL;
	struct store_rec r;
	uint8_t ek[STORE_EXP_KEY_MAX];
	size_t eklen;
	MDB_val k, v, x;
	pca_err e = PCA_OK;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->dbi[db], &cur)) != 0)
		return store_mdb_err(rc, "opening a store cursor");
	/* seek afresh after each delete: the cursor moves on delete */
	for (;;) {
		k = store_val(prefix, plen);
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc != 0 || k.mv_size < plen ||
		    memcmp(k.mv_data, prefix, plen) != 0)
			break;
		a->found = 1;
		if (db == STORE_DBI_CERTS && store_cert_key_ok(&k) &&
		    store_rec_decode(v.mv_data, v.mv_size, &r) == PCA_OK) {
			/* k and r point into the map until the next write */
			store_exp_key(r.not_after, k.mv_data, k.mv_size, ek,
			    &eklen);
			if (s->inv_ok &&
			    (e = store_inv_remove(s, txn, k.mv_data, k.mv_size,
				 &r)) != PCA_OK)
				goto out;
			x = store_val(ek, eklen);
			rc = mdb_del(txn, s->dbi[STORE_DBI_EXPIRY], &x, NULL);
			if (rc != 0 && rc != MDB_NOTFOUND)
				break;
		} else if (db == STORE_DBI_CERTS)
			a->scan_expiry = 1;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		e = store_mdb_err(rc, "purging a CA");
out:
	mdb_cursor_close(cur);
	return e;
}

/* Removes the CA's entries from the expiry index by scanning all of it. */
static pca_err
purge_expiry_scan(MDB_txn *txn, MDB_dbi dbi, const uint8_t *id)
{
	MDB_cursor *cur = NULL;
	uint8_t last[STORE_EXP_KEY_MAX];
	MDB_val k, v;
	pca_err e = PCA_OK;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return store_mdb_err(rc, "opening a store cursor");
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		if (k.mv_size <= 8 + STORE_ID_BYTES ||
		    k.mv_size > sizeof(last) ||
		    memcmp((const uint8_t *)k.mv_data + 8, id,
			STORE_ID_BYTES) != 0) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		/* delete, then seek to what followed the deleted key */
		memcpy(last, k.mv_data, k.mv_size);
		k = store_val(last, k.mv_size);
		if ((rc = mdb_cursor_del(cur, 0)) == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	if (rc != MDB_NOTFOUND)
		e = store_mdb_err(rc, "purging a CA's expiry index");
	mdb_cursor_close(cur);
	return e;
}

static pca_err
purge_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct purge_arg *a = varg;
	MDB_val k = store_val(a->id_text, 36);
	pca_err e;
	int rc;

	a->found = 0;
	a->scan_expiry = 0;
	rc = mdb_del(txn, s->dbi[STORE_DBI_CAS], &k, NULL);
	if (rc == 0)
		a->found = 1;
	else if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc, "purging a CA");
	if ((e = purge_prefix(s, txn, STORE_DBI_CERTS, a)) != PCA_OK ||
	    (e = purge_prefix(s, txn, STORE_DBI_REVOKED, a)) != PCA_OK)
		return e;
	if (a->scan_expiry &&
	    ((e = purge_expiry_scan(txn, s->dbi[STORE_DBI_EXPIRY], a->id)) !=
		    PCA_OK ||
		(s->inv_ok &&
		    (e = store_inv_purge_scan(s, txn, a->id)) != PCA_OK)))
		return e;
	if (!a->found)
		return pca_err_set(PCA_ENOTFOUND, "no CA %s", a->id_text);
	return store_feed_put(s, txn, STORE_CHG_CA_PURGED, a->id,
	    sizeof(a->id));
}

pca_err
store_ca_purge(struct store *s, const char *ca_id)
{
	struct purge_arg a;
	pca_err e;

	memset(&a, 0, sizeof(a));
	if ((e = store_id_parse(ca_id, a.id)) != PCA_OK)
		return e;
	a.id_text = ca_id;
	return store_submit(s, purge_run, &a);
}

/* ---- idempotency tokens ---- */

static pca_err
idem_decode(const MDB_val *v, const char *key, int64_t *expires)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size < STORE_IDEM_HDR || p[0] != STORE_REC_VERSION)
		return pca_err_set(PCA_EDB,
		    "idempotency entry \"%.64s\" is "
		    "corrupt",
		    key);
	*expires = store_i64_get(p + 1);
	return PCA_OK;
}

/* The stored result if the entry exists and has not expired at now. */
pca_err
store_idem_read(struct store *s, MDB_txn *txn, const MDB_val *key, int64_t now,
    char **result)
{
	MDB_val k = *key, v;
	int64_t expires = 0;
	pca_err e;
	int rc;

	rc = mdb_get(txn, s->dbi[STORE_DBI_IDEM], &k, &v);
	if (rc == MDB_NOTFOUND)
		return pca_err_set(PCA_ENOTFOUND, "no idempotency entry");
	if (rc != 0)
		return store_mdb_err(rc, "reading an idempotency entry");
	if ((e = idem_decode(&v, key->mv_data, &expires)) != PCA_OK)
		return e;
	if (expires <= now)
		return pca_err_set(PCA_ENOTFOUND, "idempotency entry expired");
	return copy_text((const uint8_t *)v.mv_data + STORE_IDEM_HDR,
	    v.mv_size - STORE_IDEM_HDR, result);
}

pca_err
store_idem_key(struct store *s, const char *key, MDB_val *k)
{
	return name_key(s, key, "idempotency key", k);
}

pca_err
store_idem_encode(int64_t expires, const char *result, struct buf *b)
{
	uint8_t h[STORE_IDEM_HDR];
	pca_err e;

	if (result == NULL)
		return pca_err_set(PCA_EINVAL, "no idempotency result");
	h[0] = STORE_REC_VERSION;
	store_i64_put(h + 1, expires);
	if ((e = buf_add(b, h, sizeof(h))) != PCA_OK ||
	    (e = buf_addstr(b, result)) != PCA_OK)
		return e;
	return PCA_OK;
}

pca_err
store_idem_get(struct store *s, const char *key, int64_t now, char **result)
{
	MDB_txn *txn = NULL;
	MDB_val k;
	char *t = NULL;
	pca_err e;

	if ((e = name_key(s, key, "idempotency key", &k)) != PCA_OK ||
	    (e = store_rtxn_begin(s, &txn)) != PCA_OK)
		return e;
	e = store_idem_read(s, txn, &k, now, &t);
	store_rtxn_end(s, txn);
	if (e == PCA_OK)
		*result = t;
	return e;
}

struct idem_arg {
	MDB_val k;
	const char *key;
	int64_t now;
	struct buf val;
};

static pca_err
idem_put_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct idem_arg *a = varg;
	MDB_val k = a->k, v;
	int64_t expires = 0;
	pca_err e;
	int rc;

	rc = mdb_get(txn, s->dbi[STORE_DBI_IDEM], &k, &v);
	if (rc == 0) {
		if ((e = idem_decode(&v, a->key, &expires)) != PCA_OK)
			return e;
		if (expires > a->now)
			return pca_err_set(PCA_EEXISTS,
			    "idempotency entry "
			    "\"%.64s\" exists and has not expired",
			    a->key);
	} else if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc, "reading an idempotency entry");
	v = store_val(a->val.p, a->val.len);
	if ((rc = mdb_put(txn, s->dbi[STORE_DBI_IDEM], &k, &v, 0)) != 0)
		return store_mdb_err(rc, "recording an idempotency entry");
	return PCA_OK;
}

pca_err
store_idem_put(struct store *s, const char *key, int64_t expires,
    const char *result, int64_t now)
{
	struct idem_arg a;
	pca_err e;

	buf_init(&a.val, STORE_IDEM_HDR + (size_t)STORE_MAX_BLOB);
	if ((e = name_key(s, key, "idempotency key", &a.k)) != PCA_OK ||
	    (e = store_idem_encode(expires, result, &a.val)) != PCA_OK)
		goto out;
	a.key = key;
	a.now = now;
	e = store_submit(s, idem_put_run, &a);
out:
	buf_free(&a.val);
	return e;
}

struct idem_release_arg {
	MDB_val k;
	const char *result;
	int removed;
};

static pca_err
idem_release_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct idem_release_arg *a = varg;
	MDB_val k = a->k, v;
	size_t n = strlen(a->result);
	int rc;

	a->removed = 0;
	rc = mdb_get(txn, s->dbi[STORE_DBI_IDEM], &k, &v);
	if (rc == MDB_NOTFOUND)
		return PCA_OK;
	if (rc != 0)
		return store_mdb_err(rc, "reading an idempotency entry");
	if (v.mv_size != STORE_IDEM_HDR + n ||
	    memcmp((const uint8_t *)v.mv_data + STORE_IDEM_HDR, a->result, n) !=
		0)
		return PCA_OK; /* someone else's claim by now */
	if ((rc = mdb_del(txn, s->dbi[STORE_DBI_IDEM], &k, NULL)) != 0)
		return store_mdb_err(rc, "releasing an idempotency entry");
	a->removed = 1;
	return PCA_OK;
}

pca_err
store_idem_release(struct store *s, const char *key, const char *result)
{
	struct idem_release_arg a = {{0, NULL}, result, 0};
	pca_err e;

	if ((e = name_key(s, key, "idempotency key", &a.k)) != PCA_OK)
		return e;
	if (result == NULL)
		return pca_err_set(PCA_EINVAL, "no idempotency result");
	return store_submit(s, idem_release_run, &a);
}

/* ---- counters ---- */

static pca_err
counter_read(struct store *s, MDB_txn *txn, const MDB_val *key, uint64_t *out)
{
	MDB_val k = *key, v;
	int rc;

	rc = mdb_get(txn, s->dbi[STORE_DBI_COUNTERS], &k, &v);
	if (rc == MDB_NOTFOUND) {
		*out = 0;
		return PCA_OK;
	}
	if (rc != 0)
		return store_mdb_err(rc, "reading a counter");
	if (v.mv_size != 8)
		return pca_err_set(PCA_EDB, "counter \"%.*s\" is corrupt",
		    (int)(key->mv_size > 64 ? 64 : key->mv_size),
		    (const char *)key->mv_data);
	*out = store_be64_get(v.mv_data);
	return PCA_OK;
}

struct counter_arg {
	MDB_val k;
	uint64_t value;
};

static pca_err
counter_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct counter_arg *a = varg;
	uint8_t b[8];
	uint64_t n;
	MDB_val v;
	pca_err e;
	int rc;

	if ((e = counter_read(s, txn, &a->k, &n)) != PCA_OK)
		return e;
	if (n == UINT64_MAX)
		return pca_err_set(PCA_ELIMIT, "counter \"%.*s\" is exhausted",
		    (int)(a->k.mv_size > 64 ? 64 : a->k.mv_size),
		    (const char *)a->k.mv_data);
	store_be64_put(b, n + 1);
	v = store_val(b, sizeof(b));
	if ((rc = mdb_put(txn, s->dbi[STORE_DBI_COUNTERS], &a->k, &v, 0)) != 0)
		return store_mdb_err(rc, "recording a counter");
	a->value = n + 1;
	return PCA_OK;
}

pca_err
store_counter_next(struct store *s, const char *name, uint64_t *out)
{
	struct counter_arg a;
	pca_err e;

	if ((e = name_key(s, name, "counter name", &a.k)) != PCA_OK ||
	    (e = store_submit(s, counter_run, &a)) != PCA_OK)
		return e;
	*out = a.value;
	return PCA_OK;
}

/* The counter's current value; 0 when next() was never called. */
pca_err
store_counter_get(struct store *s, const char *name, uint64_t *out)
{
	MDB_txn *txn = NULL;
	MDB_val k;
	uint64_t n;
	pca_err e;

	if ((e = name_key(s, name, "counter name", &k)) != PCA_OK ||
	    (e = store_rtxn_begin(s, &txn)) != PCA_OK)
		return e;
	e = counter_read(s, txn, &k, &n);
	store_rtxn_end(s, txn);
	if (e == PCA_OK)
		*out = n;
	return e;
}

/* ---- idempotency expiry ---- */

struct idem_purge_arg {
	int64_t now;
	size_t max;
	size_t removed;
};

static pca_err
idem_purge_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct idem_purge_arg *a = varg;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int64_t expires = 0;
	int rc;
	pca_err e = PCA_OK;

	a->removed = 0; /* recomputed when the batch is run again */
	if ((rc = mdb_cursor_open(txn, s->dbi[STORE_DBI_IDEM], &cur)) != 0)
		return store_mdb_err(rc, "opening a store cursor");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     rc == 0 && a->removed < a->max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (idem_decode(&v, "(purge)", &expires) == PCA_OK &&
		    expires > a->now)
			continue; /* live; undecodable ones go too */
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		a->removed++;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		e = store_mdb_err(rc, "purging idempotency entries");
	mdb_cursor_close(cur);
	pca_err_clear();
	return e;
}

pca_err
store_idem_purge(struct store *s, int64_t now, size_t max, size_t *removed)
{
	struct idem_purge_arg a = {now, max ? max : 10000, 0};
	pca_err e;

	if ((e = store_submit(s, idem_purge_run, &a)) != PCA_OK)
		return e;
	if (removed != NULL)
		*removed = a.removed;
	return PCA_OK;
}
