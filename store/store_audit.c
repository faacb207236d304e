/*
 * store_audit.c - the hash-chained audit log.
 *
 * Entry n is stored under its sequence number (u64 BE) as
 * prev_hash || when || text, where prev_hash is hash_{n-1} (zeros for n = 1)
 * and hash_n = SHA-256(seq_be || stored value).  The head (seq, hash) lives
 * in meta and is updated in the same transaction as the entry.
 */
#include <string.h>

#include <openssl/evp.h>

#include "store_int.h"

#define AUDIT_MAX_TEXT STORE_AUDIT_MAX_TEXT

pca_err
store_audit_hash(uint64_t seq, const void *val, size_t n, uint8_t out[32])
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t sb[8];
	unsigned len = 0;
	pca_err e = PCA_OK;

	store_be64_put(sb, seq);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, sb, sizeof(sb)) != 1 ||
	    EVP_DigestUpdate(ctx, val, n) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != 32) {
		e = pca_err_set(PCA_EINTERNAL,
		    "SHA-256 of audit entry %llu "
		    "failed",
		    (unsigned long long)seq);
		pca_err_add_openssl();
	}
	EVP_MD_CTX_free(ctx);
	return e;
}

/* Reads the head from meta: seq 0 and a zero hash when the log is empty. */
static pca_err
head_read(struct store *s, MDB_txn *txn, uint64_t *seq, uint8_t hash[32])
{
	MDB_val k = store_val(STORE_META_HEAD, strlen(STORE_META_HEAD)), v;
	int rc;

	rc = mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v);
	if (rc == MDB_NOTFOUND) {
		*seq = 0;
		memset(hash, 0, 32);
		return PCA_OK;
	}
	if (rc != 0)
		return store_mdb_err(rc, "reading the audit head");
	if (v.mv_size != STORE_HEAD_LEN)
		return pca_err_set(PCA_EDB,
		    "audit head of %zu bytes is "
		    "corrupt",
		    v.mv_size);
	*seq = store_be64_get(v.mv_data);
	memcpy(hash, (const uint8_t *)v.mv_data + 8, 32);
	return PCA_OK;
}

struct audit_arg {
	int64_t when;
	const char *text;
	size_t len;
	uint64_t seq;
};

/* Appends one entry inside txn (shared with store_cert_complete_audit). */
pca_err
store_audit_put(struct store *s, MDB_txn *txn, int64_t when, const char *text,
    size_t len, uint64_t *seqp)
{
	uint8_t sb[8], head[STORE_HEAD_LEN], *p;
	MDB_val k, v, hk;
	uint64_t seq;
	pca_err e;
	int rc;

	if ((e = head_read(s, txn, &seq, head + 8)) != PCA_OK)
		return e;
	seq++;
	store_be64_put(sb, seq);
	k = store_val(sb, sizeof(sb));
	v = store_val(NULL, STORE_AUDIT_HDR + len);
	/* MDB_RESERVE: LMDB hands back the space; fill it in place */
	rc = mdb_put(txn, s->dbi[STORE_DBI_AUDIT], &k, &v,
	    MDB_NOOVERWRITE | MDB_RESERVE);
	if (rc == MDB_KEYEXIST)
		return pca_err_set(PCA_EDB,
		    "audit entry %llu exists beyond "
		    "the recorded head",
		    (unsigned long long)seq);
	if (rc != 0)
		return store_mdb_err(rc, "appending to the audit log");
	p = v.mv_data;
	memcpy(p, head + 8, 32);
	store_i64_put(p + 32, when);
	memcpy(p + STORE_AUDIT_HDR, text, len);
	store_be64_put(head, seq);
	if ((e = store_audit_hash(seq, p, v.mv_size, head + 8)) != PCA_OK)
		return e;
	hk = store_val(STORE_META_HEAD, strlen(STORE_META_HEAD));
	v = store_val(head, sizeof(head));
	if ((rc = mdb_put(txn, s->dbi[STORE_DBI_META], &hk, &v, 0)) != 0)
		return store_mdb_err(rc, "recording the audit head");
	*seqp = seq;
	return PCA_OK;
}

static pca_err
audit_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct audit_arg *a = varg;

	return store_audit_put(s, txn, a->when, a->text, a->len, &a->seq);
}

pca_err
store_audit_append(struct store *s, int64_t when, const char *text,
    uint64_t *seq)
{
	struct audit_arg a;
	pca_err e;

	if (text == NULL)
		return pca_err_set(PCA_EINVAL, "no audit text");
	memset(&a, 0, sizeof(a));
	a.when = when;
	a.text = text;
	a.len = strlen(text);
	if (a.len > AUDIT_MAX_TEXT)
		return pca_err_set(PCA_ETOOBIG,
		    "audit text of %zu bytes is "
		    "over the limit of %d",
		    a.len, AUDIT_MAX_TEXT);
	if ((e = store_submit(s, audit_run, &a)) != PCA_OK)
		return e;
	if (seq != NULL)
		*seq = a.seq;
	return PCA_OK;
}

struct audit_iter {
	int (*cb)(uint64_t, int64_t, const char *, const uint8_t *, void *);
	void *arg;
	struct buf text;
};

static pca_err
audit_each(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct audit_iter *it = varg;
	const uint8_t *p = v->mv_data;
	uint8_t prev[32];
	uint64_t seq;
	pca_err e;

	if (k->mv_size != 8)
		return pca_err_set(PCA_EDB,
		    "audit key of %zu bytes is "
		    "malformed",
		    k->mv_size);
	seq = store_be64_get(k->mv_data);
	if (v->mv_size < STORE_AUDIT_HDR ||
	    memchr(p + STORE_AUDIT_HDR, '\0', v->mv_size - STORE_AUDIT_HDR))
		return pca_err_set(PCA_EDB, "audit entry %llu is corrupt",
		    (unsigned long long)seq);
	memcpy(prev, p, 32);
	it->text.len = 0;
	if ((e = buf_add(&it->text, p + STORE_AUDIT_HDR,
		 v->mv_size - STORE_AUDIT_HDR)) != PCA_OK ||
	    (e = buf_nul(&it->text)) != PCA_OK)
		return e;
	*stop = it->cb(seq, store_i64_get(p + 32), (const char *)it->text.p,
		    prev, it->arg) != 0;
	return PCA_OK;
}

pca_err
store_audit_foreach(struct store *s, uint64_t from_seq,
    int (*cb)(uint64_t seq, int64_t when, const char *text,
	const uint8_t prev_hash[32], void *arg),
    void *arg)
{
	struct audit_iter it;
	uint8_t start[8];
	pca_err e;

	it.cb = cb;
	it.arg = arg;
	buf_init(&it.text, SIZE_MAX / 2);
	store_be64_put(start, from_seq);
	e = store_scan_read(s, STORE_DBI_AUDIT, start, sizeof(start), 0,
	    audit_each, &it);
	buf_free(&it.text);
	return e;
}

pca_err
store_audit_head(struct store *s, uint64_t *seq, uint8_t hash[32])
{
	MDB_txn *txn = NULL;
	uint8_t h[32];
	uint64_t n;
	pca_err e;

	if ((e = store_rtxn_begin(s, &txn)) != PCA_OK)
		return e;
	e = head_read(s, txn, &n, h);
	store_rtxn_end(s, txn);
	if (e != PCA_OK)
		return e;
	*seq = n;
	memcpy(hash, h, 32);
	return PCA_OK;
}

struct audit_chk {
	struct store_audit_check *out;
	uint64_t seq;
	uint8_t hash[32];
};

static pca_err
chk_each(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct audit_chk *c = varg;
	uint64_t seq;

	if (k->mv_size != 8 || v->mv_size < STORE_AUDIT_HDR) {
		c->out->broken_at = c->seq + 1;
		*stop = 1;
		return PCA_OK;
	}
	seq = store_be64_get(k->mv_data);
	if (seq != c->seq + 1 || memcmp(v->mv_data, c->hash, 32) != 0) {
		c->out->broken_at = seq;
		*stop = 1;
		return PCA_OK;
	}
	c->out->entries++;
	c->seq = seq;
	return store_audit_hash(seq, v->mv_data, v->mv_size, c->hash);
}

pca_err
store_audit_verify(struct store *s, struct store_audit_check *out)
{
	struct audit_chk c;
	uint8_t start[8], head[32];
	uint64_t hseq;
	pca_err e;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.out = out;
	store_be64_put(start, 1);
	if ((e = store_scan_read(s, STORE_DBI_AUDIT, start, sizeof(start), 0,
		 chk_each, &c)) != PCA_OK ||
	    (e = store_audit_head(s, &hseq, head)) != PCA_OK)
		return e;
	out->last = c.seq;
	memcpy(out->hash, c.hash, 32);
	/* entries appended after the walk are checked next time */
	if (out->broken_at == 0 &&
	    (hseq < c.seq || (hseq == c.seq && memcmp(head, c.hash, 32) != 0)))
		out->broken_at = hseq;
	return PCA_OK;
}
