/*
 * store_outbox.c - the publication outbox: current objects (CRLs, audit
 * reports) and the queue of those still to publish, in the "kv" database
 * under reserved namespaces:
 *
 *   obj\0<key>     u64 version || u32 meta_len || meta || body
 *   outbox\0<key>  u64 version || u32 attempts || i64 next_try
 *   pub\0<key>     u64 version || u8 ok || i64 when || detail
 *
 * An object and its outbox entry are written in one transaction, together
 * with the caller's state record; a version never replaces a newer one.
 * Revocations bump counters "revgen/<CA id>" in their own transaction
 * (store_cert.c) so that a publisher in any process sees them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define NS_OBJ "obj"
#define NS_OUTBOX "outbox"
#define NS_PUB "pub"
#define OB_KEY_MAX (2 * STORE_OBJ_KEY_MAX + 2)
#define OUTBOX_LEN 20
#define OBJ_HDR 12
#define PUB_HDR 17

static pca_err
ob_key(const char *ns, const char *key, uint8_t out[OB_KEY_MAX], size_t *len)
{
	size_t nl = strlen(ns), kl = key ? strlen(key) : 0;

	if (key == NULL || kl > STORE_OBJ_KEY_MAX || nl > STORE_OBJ_KEY_MAX)
		return pca_err_set(PCA_EINVAL,
		    "object key must be 0 to %d "
		    "bytes",
		    STORE_OBJ_KEY_MAX);
	memcpy(out, ns, nl);
	out[nl] = 0;
	memcpy(out + nl + 1, key, kl);
	*len = nl + 1 + kl;
	return PCA_OK;
}

/* The version recorded under ns/key, 0 when absent. */
static pca_err
version_get(struct store *s, MDB_txn *txn, const char *ns, const char *key,
    uint64_t *out)
{
	uint8_t kb[OB_KEY_MAX];
	size_t kl;
	MDB_val k, v;
	pca_err e;
	int rc;

	if ((e = ob_key(ns, key, kb, &kl)) != PCA_OK)
		return e;
	k = store_val(kb, kl);
	rc = mdb_get(txn, s->dbi[STORE_DBI_KV], &k, &v);
	if (rc == MDB_NOTFOUND) {
		*out = 0;
		return PCA_OK;
	}
	if (rc != 0)
		return store_mdb_err(rc, "reading an object version");
	if (v.mv_size < 8)
		return pca_err_set(PCA_EDB, "%s record '%.64s' is corrupt", ns,
		    key);
	*out = store_be64_get(v.mv_data);
	return PCA_OK;
}

static pca_err
raw_put(struct store *s, MDB_txn *txn, const char *ns, const char *key,
    MDB_val *v, unsigned flags)
{
	uint8_t kb[OB_KEY_MAX];
	size_t kl;
	MDB_val k;
	pca_err e;
	int rc;

	if ((e = ob_key(ns, key, kb, &kl)) != PCA_OK)
		return e;
	k = store_val(kb, kl);
	if ((rc = mdb_put(txn, s->dbi[STORE_DBI_KV], &k, v, flags)) != 0)
		return store_mdb_err(rc, "recording an object");
	return PCA_OK;
}

static pca_err
obj_write(struct store *s, MDB_txn *txn, const struct store_obj_in *o)
{
	size_t ml = strlen(o->meta), n = OBJ_HDR + ml + o->body_len;
	uint8_t ob[OUTBOX_LEN];
	uint64_t cur, version = o->version;
	MDB_val v;
	pca_err e;

	if ((e = version_get(s, txn, NS_OBJ, o->key, &cur)) != PCA_OK)
		return e;
	if (version == 0)
		version = cur + 1;
	if (cur >= version)
		return pca_err_set(PCA_EALREADY,
		    "object %.64s has version "
		    "%llu already, not older %llu",
		    o->key, (unsigned long long)cur,
		    (unsigned long long)version);
	v.mv_size = n;
	v.mv_data = NULL;
	if ((e = raw_put(s, txn, NS_OBJ, o->key, &v, MDB_RESERVE)) != PCA_OK)
		return e;
	store_be64_put(v.mv_data, version);
	store_be32_put((uint8_t *)v.mv_data + 8, (uint32_t)ml);
	memcpy((uint8_t *)v.mv_data + OBJ_HDR, o->meta, ml);
	if (o->body_len > 0)
		memcpy((uint8_t *)v.mv_data + OBJ_HDR + ml, o->body,
		    o->body_len);
	store_be64_put(ob, version);
	store_be32_put(ob + 8, 0);
	store_i64_put(ob + 12, 0);
	v = store_val(ob, sizeof(ob));
	return raw_put(s, txn, NS_OUTBOX, o->key, &v, 0);
}

struct obj_put_arg {
	const struct store_obj_in *objs;
	size_t n;
	const struct store_kv_in *state;
	const struct store_kv_op *ops;
	size_t nops;
};

static pca_err
obj_put_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct obj_put_arg *a = varg;
	MDB_val v;
	size_t i;
	pca_err e;

	for (i = 0; i < a->n; i++)
		if ((e = obj_write(s, txn, &a->objs[i])) != PCA_OK)
			return e;
	if (a->nops > 0 &&
	    (e = store_kv_ops_apply(s, txn, a->ops, a->nops)) != PCA_OK)
		return e;
	if (a->state == NULL)
		return PCA_OK;
	v = store_val(a->state->val, a->state->len);
	return raw_put(s, txn, a->state->ns, a->state->key, &v, 0);
}

static pca_err
objs_check(const struct store_obj_in *objs, size_t n, int auto_version)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (objs[i].key == NULL || objs[i].key[0] == '\0' ||
		    strlen(objs[i].key) > STORE_OBJ_KEY_MAX ||
		    objs[i].meta == NULL ||
		    (objs[i].version == 0 && !auto_version) ||
		    objs[i].body_len > STORE_OBJ_MAX ||
		    strlen(objs[i].meta) > STORE_MAX_BLOB)
			return pca_err_set(PCA_EINVAL,
			    "object %zu: key, meta, "
			    "version or size out of range",
			    i);
	return PCA_OK;
}

static int
ns_reserved(const char *ns)
{
	return strcmp(ns, NS_OBJ) == 0 || strcmp(ns, NS_OUTBOX) == 0 ||
	       strcmp(ns, NS_PUB) == 0;
}

pca_err
store_obj_put_kv(struct store *s, const struct store_obj_in *objs, size_t n,
    const struct store_kv_op *ops, size_t nops)
{
	struct obj_put_arg a = {objs, n, NULL, ops, nops};
	size_t i;
	pca_err e;

	if ((e = objs_check(objs, n, 1)) != PCA_OK)
		return e;
	for (i = 0; i < nops; i++)
		if (ns_reserved(ops[i].ns) ||
		    (!ops[i].del && ops[i].len > STORE_MAX_BLOB))
			return pca_err_set(PCA_EINVAL,
			    "record %zu in a "
			    "reserved namespace or too large",
			    i);
	return store_submit(s, obj_put_run, &a);
}

pca_err
store_obj_put(struct store *s, const struct store_obj_in *objs, size_t n,
    const struct store_kv_in *state)
{
	struct obj_put_arg a = {objs, n, state, NULL, 0};
	pca_err e;

	if ((e = objs_check(objs, n, 0)) != PCA_OK)
		return e;
	if (state != NULL &&
	    (ns_reserved(state->ns) || state->len > STORE_MAX_BLOB))
		return pca_err_set(PCA_EINVAL, "state record in a reserved "
					       "namespace or too large");
	return store_submit(s, obj_put_run, &a);
}

struct obj_drop_arg {
	const char *const *keys;
	size_t n;
	const struct store_kv_op *ops;
	size_t nops;
};

static pca_err
obj_drop_run(struct store *s, MDB_txn *txn, void *varg)
{
	static const char *const ns[] = {NS_OBJ, NS_OUTBOX, NS_PUB};
	struct obj_drop_arg *a = varg;
	uint8_t kb[OB_KEY_MAX];
	size_t i, j, kl;
	MDB_val k;
	pca_err e;
	int rc;

	for (i = 0; i < a->n; i++)
		for (j = 0; j < 3; j++) {
			if ((e = ob_key(ns[j], a->keys[i], kb, &kl)) != PCA_OK)
				return e;
			k = store_val(kb, kl);
			rc = mdb_del(txn, s->dbi[STORE_DBI_KV], &k, NULL);
			if (rc != 0 && rc != MDB_NOTFOUND)
				return store_mdb_err(rc, "removing an object");
		}
	return store_kv_ops_apply(s, txn, a->ops, a->nops);
}

pca_err
store_obj_drop_kv(struct store *s, const char *const *keys, size_t n,
    const struct store_kv_op *ops, size_t nops)
{
	struct obj_drop_arg a = {keys, n, ops, nops};
	size_t i;

	for (i = 0; i < nops; i++)
		if (ns_reserved(ops[i].ns) ||
		    (!ops[i].del && ops[i].len > STORE_MAX_BLOB))
			return pca_err_set(PCA_EINVAL,
			    "record %zu in a "
			    "reserved namespace or too large",
			    i);
	return store_submit(s, obj_drop_run, &a);
}

static pca_err
obj_decode(const MDB_val *v, const char *key, struct store_obj *o)
{
	const uint8_t *p = v->mv_data;
	uint32_t ml;

	if (v->mv_size < OBJ_HDR ||
	    (ml = store_be32_get(p + 8)) > v->mv_size - OBJ_HDR)
		return pca_err_set(PCA_EDB, "object '%.64s' is corrupt", key);
	memset(o, 0, sizeof(*o));
	o->version = store_be64_get(p);
	o->body_len = v->mv_size - OBJ_HDR - ml;
	o->meta = malloc(ml + 1);
	o->body = malloc(o->body_len ? o->body_len : 1);
	if (o->meta == NULL || o->body == NULL) {
		store_obj_clear(o);
		return pca_err_set(PCA_ENOMEM, "out of memory");
	}
	memcpy(o->meta, p + OBJ_HDR, ml);
	o->meta[ml] = 0;
	memcpy(o->body, p + OBJ_HDR + ml, o->body_len);
	(void)snprintf(o->key, sizeof(o->key), "%s", key);
	return PCA_OK;
}

pca_err
store_obj_get(struct store *s, const char *key, struct store_obj *out)
{
	uint8_t kb[OB_KEY_MAX];
	size_t kl;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	pca_err e;
	int rc;

	if ((e = ob_key(NS_OBJ, key, kb, &kl)) != PCA_OK ||
	    (e = store_rtxn_begin(s, &txn)) != PCA_OK)
		return e;
	k = store_val(kb, kl);
	rc = mdb_get(txn, s->dbi[STORE_DBI_KV], &k, &v);
	if (rc == MDB_NOTFOUND)
		e = pca_err_set(PCA_ENOTFOUND, "no object '%.64s'", key);
	else if (rc != 0)
		e = store_mdb_err(rc, "reading an object");
	else
		e = obj_decode(&v, key, out);
	store_rtxn_end(s, txn);
	return e;
}

void
store_obj_clear(struct store_obj *o)
{
	if (o == NULL)
		return;
	free(o->meta);
	free(o->body);
	memset(o, 0, sizeof(*o));
}

/* ---- the queue ---- */

struct ob_list {
	struct store_outbox_ent *v;
	size_t n, cap;
	size_t plen;
	size_t max;        /* 0: no limit */
	const char *after; /* skipped (the page's start) */
};

static pca_err
ob_each(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct ob_list *l = varg;
	struct store_outbox_ent *ent, *nv;
	size_t kl = k->mv_size - l->plen;
	const uint8_t *p = v->mv_data;

	if (kl > STORE_OBJ_KEY_MAX || v->mv_size != OUTBOX_LEN)
		return pca_err_set(PCA_EDB, "outbox entry is corrupt");
	if (l->after != NULL && strlen(l->after) == kl &&
	    memcmp(l->after, (const uint8_t *)k->mv_data + l->plen, kl) == 0)
		return PCA_OK;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		if ((nv = realloc(l->v, l->cap * sizeof(*nv))) == NULL)
			return pca_err_set(PCA_ENOMEM, "out of memory");
		l->v = nv;
	}
	ent = &l->v[l->n++];
	memcpy(ent->key, (const uint8_t *)k->mv_data + l->plen, kl);
	ent->key[kl] = 0;
	ent->version = store_be64_get(p);
	ent->attempts = store_be32_get(p + 8);
	ent->next_try = store_i64_get(p + 12);
	if (l->max > 0 && l->n >= l->max)
		*stop = 1;
	return PCA_OK;
}

pca_err
store_outbox_list(struct store *s, struct store_outbox_ent **out, size_t *n)
{
	uint8_t kb[OB_KEY_MAX];
	struct ob_list l = {NULL, 0, 0, 0, 0, NULL};
	pca_err e;

	if ((e = ob_key(NS_OUTBOX, "", kb, &l.plen)) != PCA_OK)
		return e;
	e = store_scan_read(s, STORE_DBI_KV, kb, l.plen, l.plen, ob_each, &l);
	if (e != PCA_OK) {
		free(l.v);
		return e;
	}
	*out = l.v;
	*n = l.n;
	return PCA_OK;
}

pca_err
store_outbox_page(struct store *s, const char *after, size_t max,
    struct store_outbox_ent **out, size_t *n)
{
	uint8_t kb[OB_KEY_MAX];
	struct ob_list l = {NULL, 0, 0, 0, max ? max : 1, after};
	size_t kl;
	pca_err e;

	if ((e = ob_key(NS_OUTBOX, "", kb, &l.plen)) != PCA_OK ||
	    (e = ob_key(NS_OUTBOX, after ? after : "", kb, &kl)) != PCA_OK)
		return e;
	e = store_scan_read(s, STORE_DBI_KV, kb, kl, l.plen, ob_each, &l);
	if (e != PCA_OK) {
		free(l.v);
		return e;
	}
	*out = l.v;
	*n = l.n;
	return PCA_OK;
}

struct ob_upd_arg {
	const char *key;
	uint64_t version;
	int done; /* 1: remove and record the result */
	int ok;
	const char *detail;
	int64_t when;
	uint32_t attempts;
	int64_t next_try;
	int matched; /* out */
};

static pca_err
pub_write(struct store *s, MDB_txn *txn, const struct ob_upd_arg *a)
{
	size_t dl = a->detail ? strlen(a->detail) : 0;
	uint8_t b[PUB_HDR + 256];
	MDB_val v;

	if (dl > 256)
		dl = 256;
	store_be64_put(b, a->version);
	b[8] = a->ok ? 1 : 0;
	store_i64_put(b + 9, a->when);
	if (dl)
		memcpy(b + PUB_HDR, a->detail, dl);
	v = store_val(b, PUB_HDR + dl);
	return raw_put(s, txn, NS_PUB, a->key, &v, 0);
}

static pca_err
ob_upd_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct ob_upd_arg *a = varg;
	uint8_t kb[OB_KEY_MAX], ob[OUTBOX_LEN];
	uint64_t cur;
	size_t kl;
	MDB_val k, v;
	pca_err e;
	int rc;

	a->matched = 0;
	if ((e = version_get(s, txn, NS_OUTBOX, a->key, &cur)) != PCA_OK ||
	    (e = ob_key(NS_OUTBOX, a->key, kb, &kl)) != PCA_OK)
		return e;
	k = store_val(kb, kl);
	if (cur == a->version) {
		a->matched = 1;
		if (a->done)
			rc = mdb_del(txn, s->dbi[STORE_DBI_KV], &k, NULL);
		else {
			store_be64_put(ob, a->version);
			store_be32_put(ob + 8, a->attempts);
			store_i64_put(ob + 12, a->next_try);
			v = store_val(ob, sizeof(ob));
			rc = mdb_put(txn, s->dbi[STORE_DBI_KV], &k, &v, 0);
		}
		if (rc != 0)
			return store_mdb_err(rc, "updating the outbox");
	}
	if (!a->done)
		return PCA_OK;
	/* the result of an older version never hides a newer one's */
	if ((e = version_get(s, txn, NS_PUB, a->key, &cur)) != PCA_OK)
		return e;
	return cur > a->version ? PCA_OK : pub_write(s, txn, a);
}

pca_err
store_outbox_done(struct store *s, const char *key, uint64_t version, int ok,
    const char *detail, int64_t when)
{
	struct ob_upd_arg a;

	memset(&a, 0, sizeof(a));
	a.key = key;
	a.version = version;
	a.done = 1;
	a.ok = ok;
	a.detail = detail;
	a.when = when;
	return store_submit(s, ob_upd_run, &a);
}

struct ob_many_arg {
	const struct store_outbox_ent *v;
	size_t n;
	int64_t when;
};

static pca_err
ob_many_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct ob_many_arg *m = varg;
	struct ob_upd_arg a;
	size_t i;
	pca_err e;

	for (i = 0; i < m->n; i++) {
		memset(&a, 0, sizeof(a));
		a.key = m->v[i].key;
		a.version = m->v[i].version;
		a.done = 1;
		a.ok = 1;
		a.detail = "ok";
		a.when = m->when;
		if ((e = ob_upd_run(s, txn, &a)) != PCA_OK)
			return e;
	}
	return PCA_OK;
}

pca_err
store_outbox_done_many(struct store *s, const struct store_outbox_ent *v,
    size_t n, int64_t when)
{
	struct ob_many_arg a = {v, n, when};

	return n == 0 ? PCA_OK : store_submit(s, ob_many_run, &a);
}

pca_err
store_outbox_retry(struct store *s, const char *key, uint64_t version,
    uint32_t attempts, int64_t next_try)
{
	struct ob_upd_arg a;

	memset(&a, 0, sizeof(a));
	a.key = key;
	a.version = version;
	a.attempts = attempts;
	a.next_try = next_try;
	return store_submit(s, ob_upd_run, &a);
}

pca_err
store_pub_get(struct store *s, const char *key, struct store_pub *out)
{
	uint8_t kb[OB_KEY_MAX];
	size_t kl, dl;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	pca_err e;
	int rc;

	if ((e = ob_key(NS_PUB, key, kb, &kl)) != PCA_OK ||
	    (e = store_rtxn_begin(s, &txn)) != PCA_OK)
		return e;
	k = store_val(kb, kl);
	rc = mdb_get(txn, s->dbi[STORE_DBI_KV], &k, &v);
	if (rc == MDB_NOTFOUND)
		e = pca_err_set(PCA_ENOTFOUND, "'%.64s' was never published",
		    key);
	else if (rc != 0)
		e = store_mdb_err(rc, "reading a publication result");
	else if (v.mv_size < PUB_HDR || v.mv_size > PUB_HDR + 256)
		e = pca_err_set(PCA_EDB, "publication of '%.64s' is corrupt",
		    key);
	else {
		const uint8_t *p = v.mv_data;
		dl = v.mv_size - PUB_HDR;
		out->version = store_be64_get(p);
		out->ok = p[8];
		out->when = store_i64_get(p + 9);
		memcpy(out->detail, p + PUB_HDR, dl);
		out->detail[dl] = 0;
	}
	store_rtxn_end(s, txn);
	return e;
}

/* ---- revocation generations and raised counters ---- */

pca_err
store_revgen_get(struct store *s, const char *ca_id, uint64_t *out)
{
	char name[64];

	(void)snprintf(name, sizeof(name), "revgen/%.36s", ca_id);
	return store_counter_get(s, name, out);
}

pca_err
store_issued_get(struct store *s, const char *ca_id, uint64_t *out)
{
	char name[64];

	(void)snprintf(name, sizeof(name), "issued/%.36s", ca_id);
	return store_counter_get(s, name, out);
}

/* Bumps the counter "<prefix>/<CA id>" in txn (ckey: CA id first). */
static pca_err
ca_counter_bump(struct store *s, MDB_txn *txn, const char *prefix,
    const uint8_t *ckey)
{
	char id[37], name[64];
	uint8_t b[8];
	MDB_val k, v;
	uint64_t n = 0;
	int rc;

	store_id_format(ckey, id);
	(void)snprintf(name, sizeof(name), "%s/%s", prefix, id);
	k = store_val(name, strlen(name));
	rc = mdb_get(txn, s->dbi[STORE_DBI_COUNTERS], &k, &v);
	if (rc == 0 && v.mv_size == 8)
		n = store_be64_get(v.mv_data);
	else if (rc != MDB_NOTFOUND)
		return rc ? store_mdb_err(rc, "reading a counter")
			  : pca_err_set(PCA_EDB, "counter %s is corrupt", name);
	store_be64_put(b, n + 1);
	v = store_val(b, sizeof(b));
	if ((rc = mdb_put(txn, s->dbi[STORE_DBI_COUNTERS], &k, &v, 0)) != 0)
		return store_mdb_err(rc, "recording a counter");
	return PCA_OK;
}

pca_err
store_revgen_bump(struct store *s, MDB_txn *txn, const uint8_t *ckey)
{
	return ca_counter_bump(s, txn, "revgen", ckey);
}

pca_err
store_issued_bump(struct store *s, MDB_txn *txn, const uint8_t *ckey)
{
	return ca_counter_bump(s, txn, "issued", ckey);
}

struct raise_arg {
	const char *name;
	uint64_t floor;
	uint64_t value;
};

static pca_err
raise_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct raise_arg *a = varg;
	uint8_t b[8];
	MDB_val k = store_val(a->name, strlen(a->name)), v;
	uint64_t n = 0;
	int rc;

	rc = mdb_get(txn, s->dbi[STORE_DBI_COUNTERS], &k, &v);
	if (rc == 0 && v.mv_size == 8)
		n = store_be64_get(v.mv_data);
	else if (rc != MDB_NOTFOUND)
		return rc ? store_mdb_err(rc, "reading a counter")
			  : pca_err_set(PCA_EDB, "counter %.64s is corrupt",
				a->name);
	if (n == UINT64_MAX)
		return pca_err_set(PCA_ELIMIT, "counter %.64s is exhausted",
		    a->name);
	n = n + 1 > a->floor ? n + 1 : a->floor;
	store_be64_put(b, n);
	v = store_val(b, sizeof(b));
	if ((rc = mdb_put(txn, s->dbi[STORE_DBI_COUNTERS], &k, &v, 0)) != 0)
		return store_mdb_err(rc, "recording a counter");
	a->value = n;
	return PCA_OK;
}

pca_err
store_counter_raise(struct store *s, const char *name, uint64_t floor,
    uint64_t *out)
{
	struct raise_arg a = {name, floor, 0};
	pca_err e;

	if (name == NULL || name[0] == '\0' || strlen(name) > 200)
		return pca_err_set(PCA_EINVAL, "counter name must be 1 to 200 "
					       "bytes");
	if ((e = store_submit(s, raise_run, &a)) != PCA_OK)
		return e;
	*out = a.value;
	return PCA_OK;
}
