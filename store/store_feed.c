/*
 * store_feed.c - the typed change feed: one record per certificate
 * issuance or revocation, CA change or purge and key change, appended in
 * the transaction of the change (store_feed_put), read by followers in any
 * process (store_changes_after), pruned behind the followers' cursors.
 *
 * Record n is stored under n (u64 BE); meta "feed_head" holds the last n
 * ever appended, so sequences are never reused even when every record has
 * been pruned.  Cursors live in meta under "feed_cursor/<name>".
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

#define CUR_KEY_MAX (sizeof(STORE_META_CURSOR) - 1 + STORE_FEED_NAME_MAX)
#define FEED_VAL_MAX (STORE_FEED_HDR + LIM_SERIAL_BYTES)

/* A u64 from meta under key (0 when absent). */
static pca_err
meta_u64(struct store *s, MDB_txn *txn, const void *key, size_t klen,
    uint64_t *out)
{
	MDB_val k = store_val(key, klen), v;
	int rc;

	rc = mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v);
	if (rc == MDB_NOTFOUND) {
		*out = 0;
		return PCA_OK;
	}
	if (rc != 0)
		return store_mdb_err(rc, "reading the change feed position");
	if (v.mv_size != 8)
		return pca_err_set(PCA_EDB,
		    "change feed position \"%.*s\" is "
		    "corrupt",
		    (int)klen, (const char *)key);
	*out = store_be64_get(v.mv_data);
	return PCA_OK;
}

static pca_err
meta_u64_put(struct store *s, MDB_txn *txn, const void *key, size_t klen,
    uint64_t val)
{
	uint8_t b[8];
	MDB_val k = store_val(key, klen), v = store_val(b, sizeof(b));
	int rc;

	store_be64_put(b, val);
	if ((rc = mdb_put(txn, s->dbi[STORE_DBI_META], &k, &v, 0)) != 0)
		return store_mdb_err(rc, "recording the change feed position");
	return PCA_OK;
}

static pca_err
head_get(struct store *s, MDB_txn *txn, uint64_t *head)
{
	return meta_u64(s, txn, STORE_META_FEED, strlen(STORE_META_FEED), head);
}

pca_err
store_feed_put(struct store *s, MDB_txn *txn, enum store_chg_type type,
    const uint8_t *ckey, size_t cklen)
{
	uint8_t kb[8], vb[FEED_VAL_MAX];
	uint64_t head;
	size_t n = STORE_FEED_HDR;
	MDB_val k, v;
	pca_err e;
	int rc;

	if (!s->feed_ok)
		return pca_err_set(PCA_EINTERNAL, "the store has no change "
						  "feed");
	if (cklen > STORE_CERT_KEY_MAX || (cklen > 0 && cklen < STORE_ID_BYTES))
		return pca_err_set(PCA_EINTERNAL,
		    "change feed key of %zu "
		    "bytes",
		    cklen);
	if ((e = head_get(s, txn, &head)) != PCA_OK)
		return e;
	if (head == UINT64_MAX)
		return pca_err_set(PCA_ELIMIT, "the change feed is exhausted");
	memset(vb, 0, sizeof(vb));
	vb[0] = STORE_REC_VERSION;
	vb[1] = (uint8_t)type;
	store_i64_put(vb + 2, (int64_t)time(NULL));
	if (cklen > 0) {
		memcpy(vb + 10, ckey, STORE_ID_BYTES);
		vb[26] = (uint8_t)(cklen - STORE_ID_BYTES);
		memcpy(vb + STORE_FEED_HDR, ckey + STORE_ID_BYTES,
		    cklen - STORE_ID_BYTES);
		n += cklen - STORE_ID_BYTES;
	}
	store_be64_put(kb, head + 1);
	k = store_val(kb, sizeof(kb));
	v = store_val(vb, n);
	rc = mdb_put(txn, s->dbi[STORE_DBI_FEED], &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return pca_err_set(PCA_EDB,
		    "change feed record %llu exists "
		    "beyond the recorded head",
		    (unsigned long long)head + 1);
	if (rc != 0)
		return store_mdb_err(rc, "appending to the change feed");
	return meta_u64_put(s, txn, STORE_META_FEED, strlen(STORE_META_FEED),
	    head + 1);
}

static int
id_zero(const uint8_t *p)
{
	size_t i;

	for (i = 0; i < STORE_ID_BYTES; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Decodes record (k, v) into *c. */
static pca_err
feed_decode(const MDB_val *k, const MDB_val *v, struct store_change *c)
{
	const uint8_t *p = v->mv_data;
	uint64_t seq = k->mv_size == 8 ? store_be64_get(k->mv_data) : 0;

	if (k->mv_size != 8 || v->mv_size < STORE_FEED_HDR ||
	    p[0] != STORE_REC_VERSION || p[1] < STORE_CHG_CERT_ISSUED ||
	    p[1] > STORE_CHG_KEY || p[26] > LIM_SERIAL_BYTES ||
	    v->mv_size != STORE_FEED_HDR + (size_t)p[26] ||
	    (p[26] > 0 && id_zero(p + 10)))
		return pca_err_set(PCA_EDB,
		    "change feed record %llu is "
		    "corrupt",
		    (unsigned long long)seq);
	memset(c, 0, sizeof(*c));
	c->seq = seq;
	c->type = (enum store_chg_type)p[1];
	c->when = store_i64_get(p + 2);
	if (!id_zero(p + 10))
		store_id_format(p + 10, c->ca_id);
	c->serial_len = p[26];
	memcpy(c->serial, p + STORE_FEED_HDR, c->serial_len);
	return PCA_OK;
}

struct read_arg {
	uint64_t after;
	size_t max, n;
	int (*cb)(const struct store_change *, void *);
	void *arg;
	struct store_feed_pos pos;
	int first;
};

static pca_err
read_each(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct read_arg *a = varg;
	struct store_change c;
	pca_err e;

	if ((e = feed_decode(k, v, &c)) != PCA_OK)
		return e;
	if (c.seq <= a->after) /* the start key itself */
		return PCA_OK;
	if (a->first && c.seq != a->after + 1)
		a->pos.gap = 1;
	a->first = 0;
	if (a->max > 0 && a->n == a->max) {
		a->pos.more = 1;
		*stop = 1;
		return PCA_OK;
	}
	a->n++;
	a->pos.last = c.seq;
	if (a->cb(&c, a->arg) != 0) {
		*stop = 1;
		a->pos.more = c.seq < a->pos.head;
	}
	return PCA_OK;
}

pca_err
store_changes_after(struct store *s, uint64_t seq, size_t max,
    int (*cb)(const struct store_change *, void *arg), void *arg,
    struct store_feed_pos *pos)
{
	struct read_arg a;
	MDB_txn *txn = NULL;
	uint8_t start[8];
	pca_err e;

	if (cb == NULL)
		return pca_err_set(PCA_EINVAL, "no change feed callback");
	memset(&a, 0, sizeof(a));
	a.after = seq;
	a.max = max;
	a.cb = cb;
	a.arg = arg;
	a.first = 1;
	a.pos.last = seq;
	if (!s->feed_ok)
		goto out;
	if ((e = store_rtxn_begin(s, &txn)) != PCA_OK)
		return e;
	if ((e = head_get(s, txn, &a.pos.head)) == PCA_OK && a.pos.head > seq) {
		store_be64_put(start, seq);
		e = store_scan(txn, s->dbi[STORE_DBI_FEED], start,
		    sizeof(start), 0, read_each, &a);
		/* nothing left after seq although the head is past it */
		if (e == PCA_OK && a.first)
			a.pos.gap = 1;
	}
	store_rtxn_end(s, txn);
	if (e != PCA_OK)
		return e;
out:
	if (pos != NULL)
		*pos = a.pos;
	return PCA_OK;
}

pca_err
store_feed_head(struct store *s, uint64_t *head)
{
	MDB_txn *txn = NULL;
	uint64_t h = 0;
	pca_err e;

	if (s->feed_ok) {
		if ((e = store_rtxn_begin(s, &txn)) != PCA_OK)
			return e;
		e = head_get(s, txn, &h);
		store_rtxn_end(s, txn);
		if (e != PCA_OK)
			return e;
	}
	*head = h;
	return PCA_OK;
}

/* ---- followers ---- */

static pca_err
cursor_key(const char *name, char out[CUR_KEY_MAX + 1], size_t *len)
{
	size_t n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n > STORE_FEED_NAME_MAX)
		return pca_err_set(PCA_EINVAL,
		    "a change feed follower name "
		    "must be 1 to %d bytes",
		    STORE_FEED_NAME_MAX);
	*len = (size_t)snprintf(out, CUR_KEY_MAX + 1, "%s%s", STORE_META_CURSOR,
	    name);
	return PCA_OK;
}

enum cur_op { CUR_FOLLOW, CUR_ACK, CUR_DROP };

struct cur_arg {
	char key[CUR_KEY_MAX + 1];
	size_t klen;
	enum cur_op op;
	uint64_t seq; /* ACK: in; FOLLOW: out */
};

static pca_err
cursor_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct cur_arg *a = varg;
	MDB_val k = store_val(a->key, a->klen), v;
	uint64_t head;
	pca_err e;
	int rc;

	if (a->op == CUR_DROP) {
		rc = mdb_del(txn, s->dbi[STORE_DBI_META], &k, NULL);
		if (rc == MDB_NOTFOUND)
			return pca_err_set(PCA_ENOTFOUND,
			    "no change feed "
			    "follower %s",
			    a->key + strlen(STORE_META_CURSOR));
		return rc ? store_mdb_err(rc, "removing a feed follower")
			  : PCA_OK;
	}
	if ((e = head_get(s, txn, &head)) != PCA_OK)
		return e;
	if (a->op == CUR_ACK) {
		if (a->seq > head)
			return pca_err_set(PCA_EINVAL,
			    "change feed position "
			    "%llu is beyond the head %llu",
			    (unsigned long long)a->seq,
			    (unsigned long long)head);
		return meta_u64_put(s, txn, a->key, a->klen, a->seq);
	}
	rc = mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v);
	if (rc == 0)
		return meta_u64(s, txn, a->key, a->klen, &a->seq);
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc, "reading a feed follower");
	a->seq = head;
	return meta_u64_put(s, txn, a->key, a->klen, head);
}

static pca_err
cursor_submit(struct store *s, const char *name, struct cur_arg *a)
{
	pca_err e;

	if ((e = cursor_key(name, a->key, &a->klen)) != PCA_OK)
		return e;
	if (!s->feed_ok)
		return pca_err_set(PCA_ESTATE,
		    "the store has no change feed "
		    "(opened read-only before it was created)");
	return store_submit(s, cursor_run, a);
}

pca_err
store_feed_follow(struct store *s, const char *name, uint64_t *cursor)
{
	struct cur_arg a;
	pca_err e;

	memset(&a, 0, sizeof(a));
	a.op = CUR_FOLLOW;
	if ((e = cursor_submit(s, name, &a)) != PCA_OK)
		return e;
	if (cursor != NULL)
		*cursor = a.seq;
	return PCA_OK;
}

pca_err
store_feed_ack(struct store *s, const char *name, uint64_t seq)
{
	struct cur_arg a;

	memset(&a, 0, sizeof(a));
	a.op = CUR_ACK;
	a.seq = seq;
	return cursor_submit(s, name, &a);
}

pca_err
store_feed_unfollow(struct store *s, const char *name)
{
	struct cur_arg a;

	memset(&a, 0, sizeof(a));
	a.op = CUR_DROP;
	return cursor_submit(s, name, &a);
}

/* ---- pruning ---- */

struct min_arg {
	uint64_t min;
	int any;
	pca_err e;
};

static pca_err
min_each(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct min_arg *a = varg;
	uint64_t c;

	(void)stop;
	if (v->mv_size != 8)
		return pca_err_set(PCA_EDB,
		    "change feed cursor \"%.*s\" is "
		    "corrupt",
		    (int)k->mv_size, (const char *)k->mv_data);
	c = store_be64_get(v->mv_data);
	if (!a->any || c < a->min)
		a->min = c;
	a->any = 1;
	return PCA_OK;
}

/* The slowest follower's cursor (UINT64_MAX when there is none). */
static pca_err
min_cursor(struct store *s, MDB_txn *txn, uint64_t *out)
{
	struct min_arg a = {UINT64_MAX, 0, PCA_OK};
	pca_err e;

	e = store_scan(txn, s->dbi[STORE_DBI_META], STORE_META_CURSOR,
	    strlen(STORE_META_CURSOR), strlen(STORE_META_CURSOR), min_each, &a);
	if (e == PCA_OK)
		*out = a.min;
	return e;
}

struct prune_arg {
	int64_t now, min_age, max_age;
	size_t removed;
};

static pca_err
prune_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct prune_arg *a = varg;
	struct store_change c;
	MDB_cursor *cur = NULL;
	uint64_t floor;
	MDB_val k, v;
	pca_err e;
	int rc;

	a->removed = 0; /* recomputed when the batch is run again */
	if ((e = min_cursor(s, txn, &floor)) != PCA_OK)
		return e;
	if ((rc = mdb_cursor_open(txn, s->dbi[STORE_DBI_FEED], &cur)) != 0)
		return store_mdb_err(rc, "opening a store cursor");
	/* records come oldest first: stop at the first one kept */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     rc == 0 && a->removed < STORE_FEED_PRUNE_MAX;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (feed_decode(&k, &v, &c) == PCA_OK &&
		    !(c.when < a->now - a->max_age) &&
		    !(c.seq <= floor && c.when < a->now - a->min_age))
			break; /* undecodable records go too */
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		a->removed++;
	}
	pca_err_clear();
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_mdb_err(rc, "pruning the change feed");
	return PCA_OK;
}

pca_err
store_feed_prune(struct store *s, int64_t now, int64_t min_age_s,
    int64_t max_age_s, size_t *removed)
{
	struct prune_arg a = {now, min_age_s, max_age_s, 0};
	pca_err e;

	if (min_age_s < 0 || max_age_s < min_age_s)
		return pca_err_set(PCA_EINVAL,
		    "change feed ages: need 0 <= "
		    "min_age (%lld) <= max_age (%lld)",
		    (long long)min_age_s, (long long)max_age_s);
	if (!s->feed_ok)
		return pca_err_set(PCA_ESTATE, "the store has no change feed");
	if ((e = store_submit(s, prune_run, &a)) != PCA_OK)
		return e;
	if (removed != NULL)
		*removed = a.removed;
	return PCA_OK;
}

/* ---- verification ---- */

struct verify_arg {
	void (*problem)(const char *, void *);
	void *arg;
	uint64_t prev, head;
	size_t n, errors;
};

static void
vproblem(struct verify_arg *a, const char *msg)
{
	a->errors++;
	if (a->problem != NULL)
		a->problem(msg, a->arg);
}

static pca_err
verify_each(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct verify_arg *a = varg;
	struct store_change c;
	char msg[160];

	(void)stop;
	if (feed_decode(k, v, &c) != PCA_OK) {
		vproblem(a, pca_err_msg());
		pca_err_clear();
		return PCA_OK;
	}
	if (a->n > 0 && c.seq != a->prev + 1) {
		(void)snprintf(msg, sizeof(msg),
		    "change feed: records %llu to "
		    "%llu are missing",
		    (unsigned long long)a->prev + 1,
		    (unsigned long long)c.seq - 1);
		vproblem(a, msg);
	}
	if (c.seq > a->head) {
		(void)snprintf(msg, sizeof(msg),
		    "change feed: record %llu is "
		    "beyond the head %llu",
		    (unsigned long long)c.seq, (unsigned long long)a->head);
		vproblem(a, msg);
	}
	a->prev = c.seq;
	a->n++;
	return PCA_OK;
}

static pca_err
verify_cursor(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct verify_arg *a = varg;
	char msg[160];

	(void)stop;
	if (v->mv_size != 8 || store_be64_get(v->mv_data) > a->head) {
		(void)snprintf(msg, sizeof(msg),
		    "change feed: follower "
		    "cursor \"%.*s\" is corrupt or beyond the head",
		    (int)(k->mv_size > 80 ? 80 : k->mv_size),
		    (const char *)k->mv_data);
		vproblem(a, msg);
	}
	return PCA_OK;
}

pca_err
store_feed_verify(struct store *s, MDB_txn *txn,
    void (*problem)(const char *msg, void *arg), void *arg, size_t *records,
    size_t *errors)
{
	struct verify_arg a;
	char msg[160];
	pca_err e;

	memset(&a, 0, sizeof(a));
	a.problem = problem;
	a.arg = arg;
	if (s->feed_ok) {
		if ((e = head_get(s, txn, &a.head)) != PCA_OK ||
		    (e = store_scan(txn, s->dbi[STORE_DBI_FEED], NULL, 0, 0,
			 verify_each, &a)) != PCA_OK)
			return e;
		if ((e = store_scan(txn, s->dbi[STORE_DBI_META],
			 STORE_META_CURSOR, strlen(STORE_META_CURSOR),
			 strlen(STORE_META_CURSOR), verify_cursor, &a)) !=
		    PCA_OK)
			return e;
		if (a.n > 0 && a.prev != a.head) {
			(void)snprintf(msg, sizeof(msg),
			    "change feed: last "
			    "record %llu is not the head %llu",
			    (unsigned long long)a.prev,
			    (unsigned long long)a.head);
			vproblem(&a, msg);
		}
	}
	*records = a.n;
	*errors += a.errors;
	return PCA_OK;
}

/* ---- restores: the feed continues after the sequences shipped ---- */

static pca_err
advance_run(struct store *s, MDB_txn *txn, void *varg)
{
	const uint64_t *seq = varg;
	uint64_t head;
	pca_err e;
	int rc;

	if ((e = head_get(s, txn, &head)) != PCA_OK)
		return e;
	if (*seq <= head)
		return PCA_OK;
	if ((rc = mdb_drop(txn, s->dbi[STORE_DBI_FEED], 0)) != 0)
		return store_mdb_err(rc, "emptying the change feed");
	return meta_u64_put(s, txn, STORE_META_FEED, strlen(STORE_META_FEED),
	    *seq);
}

pca_err
store_feed_advance(struct store *s, uint64_t seq)
{
	if (!s->feed_ok)
		return pca_err_set(PCA_ESTATE, "the store has no change feed");
	return store_submit(s, advance_run, &seq);
}
