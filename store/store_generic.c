/*
 * store_generic.c - small records of other modules (API access keys, ...)
 * in the "kv" database, keyed by namespace || NUL || key.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define KV_NAME_MAX 200

static pca_err
kv_key(const char *ns, const char *key, uint8_t out[2 * KV_NAME_MAX + 2],
    size_t *len)
{
	size_t nl = ns ? strlen(ns) : 0, kl = key ? strlen(key) : 0;

	if (nl == 0 || nl > KV_NAME_MAX || memchr(ns, 0, nl) ||
	    kl > KV_NAME_MAX)
		return pca_err_set(PCA_EINVAL,
		    "store record namespace and key must be 1 to %d bytes",
		    KV_NAME_MAX);
	memcpy(out, ns, nl);
	out[nl] = 0;
	memcpy(out + nl + 1, key, kl);
	*len = nl + 1 + kl;
	return PCA_OK;
}

struct kv_put_arg {
	uint8_t k[2 * KV_NAME_MAX + 2];
	size_t klen;
	const void *val;
	size_t len;
	int create;              /* 1: must not exist, 0: upsert, -1: delete */
	enum store_chg_type chg; /* 0: none */
	uint8_t id[STORE_ID_BYTES];
	size_t idlen; /* 0 or STORE_ID_BYTES */
};

static pca_err
kv_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct kv_put_arg *a = varg;
	MDB_val k = store_val(a->k, a->klen), v = store_val(a->val, a->len);
	int rc;

	if (a->create < 0) {
		rc = mdb_del(txn, s->dbi[STORE_DBI_KV], &k, NULL);
		if (rc == MDB_NOTFOUND)
			return pca_err_set(PCA_ENOTFOUND, "no such record");
	} else
		rc = mdb_put(txn, s->dbi[STORE_DBI_KV], &k, &v,
		    a->create ? MDB_NOOVERWRITE : 0);
	if (rc == MDB_KEYEXIST)
		return pca_err_set(PCA_EEXISTS, "the record exists already");
	if (rc != 0)
		return store_mdb_err(rc, "writing a record");
	if (a->chg != 0)
		return store_feed_put(s, txn, a->chg, a->id, a->idlen);
	return PCA_OK;
}

pca_err
store_kv_put(struct store *s, const char *ns, const char *key, const void *val,
    size_t len, int create)
{
	struct kv_put_arg a;
	pca_err e;

	if ((e = kv_key(ns, key, a.k, &a.klen)) != PCA_OK)
		return e;
	if (len > STORE_MAX_BLOB)
		return pca_err_set(PCA_ETOOBIG, "record larger than %d bytes",
		    STORE_MAX_BLOB);
	a.val = val;
	a.len = len;
	a.create = create ? 1 : 0;
	a.chg = 0;
	return store_submit(s, kv_run, &a);
}

pca_err
store_kv_put_chg(struct store *s, const struct store_kv_in *in, int create,
    enum store_chg_type type, const char *ca_id)
{
	struct kv_put_arg a;
	pca_err e;

	memset(&a, 0, sizeof(a));
	if (in == NULL || (e = kv_key(in->ns, in->key, a.k, &a.klen)) != PCA_OK)
		return in == NULL ? pca_err_set(PCA_EINVAL, "no record") : e;
	if (create >= 0 && in->len > STORE_MAX_BLOB)
		return pca_err_set(PCA_ETOOBIG, "record larger than %d bytes",
		    STORE_MAX_BLOB);
	if (type < STORE_CHG_CERT_ISSUED || type > STORE_CHG_KEY)
		return pca_err_set(PCA_EINVAL, "unknown change type %d",
		    (int)type);
	if (ca_id != NULL) {
		if ((e = store_id_parse(ca_id, a.id)) != PCA_OK)
			return e;
		a.idlen = sizeof(a.id);
	}
	a.val = create >= 0 ? in->val : NULL;
	a.len = create >= 0 ? in->len : 0;
	a.create = create > 0 ? 1 : create < 0 ? -1 : 0;
	a.chg = type;
	return store_submit(s, kv_run, &a);
}

pca_err
store_kv_del(struct store *s, const char *ns, const char *key)
{
	struct kv_put_arg a;
	pca_err e;

	if ((e = kv_key(ns, key, a.k, &a.klen)) != PCA_OK)
		return e;
	a.val = NULL;
	a.len = 0;
	a.create = -1;
	a.chg = 0;
	return store_submit(s, kv_run, &a);
}

pca_err
store_kv_get(struct store *s, const char *ns, const char *key, uint8_t **val,
    size_t *len)
{
	uint8_t kb[2 * KV_NAME_MAX + 2], *out = NULL;
	size_t kl;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	pca_err e;
	int rc;

	if ((e = kv_key(ns, key, kb, &kl)) != PCA_OK ||
	    (e = store_rtxn_begin(s, &txn)) != PCA_OK)
		return e;
	k = store_val(kb, kl);
	rc = mdb_get(txn, s->dbi[STORE_DBI_KV], &k, &v);
	if (rc == MDB_NOTFOUND)
		e = pca_err_set(PCA_ENOTFOUND, "no %s record '%.64s'", ns, key);
	else if (rc != 0)
		e = store_mdb_err(rc, "reading a record");
	else if ((out = malloc(v.mv_size + 1)) == NULL)
		e = pca_err_set(PCA_ENOMEM, "out of memory");
	else {
		memcpy(out, v.mv_data, v.mv_size);
		out[v.mv_size] = 0;
		*len = v.mv_size;
	}
	store_rtxn_end(s, txn);
	if (e == PCA_OK)
		*val = out;
	return e;
}

struct kv_iter {
	size_t plen;
	int (*cb)(const char *, const uint8_t *, size_t, void *);
	void *arg;
};

static pca_err
kv_each(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct kv_iter *it = varg;
	char key[KV_NAME_MAX + 1];
	size_t kl = k->mv_size - it->plen;

	if (kl > KV_NAME_MAX)
		return pca_err_set(PCA_EDB, "corrupt record key");
	memcpy(key, (const uint8_t *)k->mv_data + it->plen, kl);
	key[kl] = 0;
	if (it->cb(key, v->mv_data, v->mv_size, it->arg) != 0)
		*stop = 1;
	return PCA_OK;
}

pca_err
store_kv_foreach(struct store *s, const char *ns,
    int (*cb)(const char *, const uint8_t *, size_t, void *), void *arg)
{
	uint8_t kb[2 * KV_NAME_MAX + 2];
	struct kv_iter it;
	size_t kl;
	pca_err e;

	if ((e = kv_key(ns, "", kb, &kl)) != PCA_OK)
		return e;
	it.plen = kl;
	it.cb = cb;
	it.arg = arg;
	return store_scan_read(s, STORE_DBI_KV, kb, kl, kl, kv_each, &it);
}

pca_err
store_kv_view(struct store *s, const char *ns, const char *key,
    pca_err (*cb)(const uint8_t *val, size_t len, void *arg), void *arg)
{
	uint8_t kb[2 * KV_NAME_MAX + 2];
	size_t kl;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	pca_err e;
	int rc;

	if ((e = kv_key(ns, key, kb, &kl)) != PCA_OK ||
	    (e = store_rtxn_begin(s, &txn)) != PCA_OK)
		return e;
	k = store_val(kb, kl);
	rc = mdb_get(txn, s->dbi[STORE_DBI_KV], &k, &v);
	if (rc == MDB_NOTFOUND)
		e = pca_err_set(PCA_ENOTFOUND, "no %s record '%.64s'", ns, key);
	else if (rc != 0)
		e = store_mdb_err(rc, "reading a record");
	else
		e = cb(v.mv_data, v.mv_size, arg);
	store_rtxn_end(s, txn);
	return e;
}

pca_err
store_kv_foreach_from(struct store *s, const char *ns, const char *from,
    int (*cb)(const char *, const uint8_t *, size_t, void *), void *arg)
{
	uint8_t kb[2 * KV_NAME_MAX + 2];
	struct kv_iter it;
	size_t kl, pl;
	pca_err e;

	if ((e = kv_key(ns, "", kb, &pl)) != PCA_OK ||
	    (e = kv_key(ns, from, kb, &kl)) != PCA_OK)
		return e;
	it.plen = pl;
	it.cb = cb;
	it.arg = arg;
	return store_scan_read(s, STORE_DBI_KV, kb, kl, pl, kv_each, &it);
}

struct kv_batch_arg {
	const struct store_kv_op *ops;
	size_t n;
};

pca_err
store_kv_ops_apply(struct store *s, MDB_txn *txn, const struct store_kv_op *ops,
    size_t n)
{
	uint8_t kb[2 * KV_NAME_MAX + 2];
	MDB_val k, v;
	size_t i, kl;
	pca_err e;
	int rc;

	for (i = 0; i < n; i++) {
		if ((e = kv_key(ops[i].ns, ops[i].key, kb, &kl)) != PCA_OK)
			return e;
		k = store_val(kb, kl);
		if (ops[i].del) {
			rc = mdb_del(txn, s->dbi[STORE_DBI_KV], &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		} else {
			v = store_val(ops[i].val, ops[i].len);
			rc = mdb_put(txn, s->dbi[STORE_DBI_KV], &k, &v, 0);
		}
		if (rc != 0)
			return store_mdb_err(rc, "writing a record");
	}
	return PCA_OK;
}

static pca_err
kv_batch_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct kv_batch_arg *a = varg;

	return store_kv_ops_apply(s, txn, a->ops, a->n);
}

pca_err
store_kv_batch(struct store *s, const struct store_kv_op *ops, size_t n)
{
	struct kv_batch_arg a = {ops, n};
	size_t i;

	for (i = 0; i < n; i++)
		if (!ops[i].del && ops[i].len > STORE_MAX_BLOB)
			return pca_err_set(PCA_ETOOBIG,
			    "record larger than %d bytes", STORE_MAX_BLOB);
	return store_submit(s, kv_batch_run, &a);
}
