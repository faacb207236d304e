/*
 * store_verify.c - walks every database in one read transaction and
 * reports what does not add up.  PENDING certificates are counted, not
 * reported: a crash between reserve and complete leaves one behind.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../common/util.h"
#include "store_int.h"

struct vctx {
	struct store *s;
	MDB_txn *txn;
	struct store_verify_report rep;
	void (*problem)(const char *, void *);
	void (*progress)(size_t, size_t, void *);
	void *arg;
	size_t done, total, step;
	size_t inv_expected; /* inventory entries the certs call for */
	int undecodable;     /* a certificate record did not decode */
	/* audit chain walk */
	uint64_t seq;
	uint8_t hash[32];
};

static void vproblem(struct vctx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
vproblem(struct vctx *c, const char *fmt, ...)
{
	char msg[STORE_MSG_MAX];
	va_list ap;

	c->rep.errors++;
	if (c->problem == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->problem(msg, c->arg);
}

static void
vtick(struct vctx *c)
{
	c->done++;
	if (c->progress != NULL &&
	    (c->done % c->step == 0 || c->done == c->total))
		c->progress(c->done, c->total, c->arg);
}

/* 0 if found, 1 if absent; an LMDB failure fails the walk */
static pca_err
vlookup(struct vctx *c, enum store_dbi db, const void *key, size_t klen,
    MDB_val *v, int *absent)
{
	MDB_val k = store_val(key, klen);
	int rc;

	rc = mdb_get(c->txn, c->s->dbi[db], &k, v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_mdb_err(rc, "verifying the store");
	*absent = rc == MDB_NOTFOUND;
	return PCA_OK;
}

/* The certificate's inventory index entries are all there. */
static pca_err
v_cert_inv(struct vctx *c, const MDB_val *k, const struct store_rec *r,
    const char *name)
{
	uint8_t keys[4][STORE_INV_KEY_MAX];
	size_t lens[4], i, n;
	MDB_val x;
	int absent, revoked;
	pca_err e;

	if ((e = vlookup(c, STORE_DBI_REVOKED, k->mv_data, k->mv_size, &x,
		 &revoked)) != PCA_OK)
		return e;
	revoked = !revoked;
	n = store_inv_keys(k->mv_data, k->mv_size, r, revoked, c->s->inv_valid,
	    keys, lens);
	c->inv_expected += n;
	for (i = 0; i < n; i++) {
		if ((e = vlookup(c, STORE_DBI_INV, keys[i], lens[i], &x,
			 &absent)) != PCA_OK)
			return e;
		if (absent) {
			vproblem(c,
			    "certificate %s: missing from the "
			    "inventory index",
			    name);
			break;
		}
	}
	return PCA_OK;
}

/* No inventory entry without its certificate (counts must agree). */
static pca_err
v_inv_total(struct vctx *c)
{
	MDB_stat st;
	int rc;

	/* an undecodable record's entries cannot be accounted for; that
	   record is reported already */
	if (!c->s->inv_ok || c->undecodable)
		return PCA_OK;
	if ((rc = mdb_stat(c->txn, c->s->dbi[STORE_DBI_INV], &st)) != 0)
		return store_mdb_err(rc, "counting the inventory index");
	if (st.ms_entries != c->inv_expected)
		vproblem(c,
		    "inventory index has %zu entries where the "
		    "certificates call for %zu",
		    (size_t)st.ms_entries, c->inv_expected);
	return PCA_OK;
}

static pca_err
v_cert(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct vctx *c = varg;
	char name[STORE_NAME_MAX];
	uint8_t ek[STORE_EXP_KEY_MAX];
	struct store_rec r;
	size_t eklen;
	MDB_val x;
	int absent;
	pca_err e;

	(void)stop;
	c->rep.certs++;
	vtick(c);
	store_cert_name(k->mv_data, k->mv_size, name);
	if (!store_cert_key_ok(k)) {
		vproblem(c, "certificate %s: malformed key", name);
		return PCA_OK;
	}
	if (store_rec_decode(v->mv_data, v->mv_size, &r) != PCA_OK) {
		vproblem(c, "certificate %s: %s", name, pca_err_msg());
		c->undecodable = 1;
		return PCA_OK;
	}
	if (r.state == STORE_CERT_PENDING)
		c->rep.pending++;
	if (r.state == STORE_CERT_ISSUED && r.der_len == 0)
		vproblem(c, "certificate %s: ISSUED without DER", name);
	store_exp_key(r.not_after, k->mv_data, k->mv_size, ek, &eklen);
	if ((e = vlookup(c, STORE_DBI_EXPIRY, ek, eklen, &x, &absent)) !=
	    PCA_OK)
		return e;
	if (absent)
		vproblem(c, "certificate %s: no expiry index entry", name);
	return c->s->inv_ok ? v_cert_inv(c, k, &r, name) : PCA_OK;
}

static pca_err
v_expiry(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct vctx *c = varg;
	const uint8_t *p = k->mv_data;
	char name[STORE_NAME_MAX];
	struct store_rec r;
	MDB_val cv;
	int absent;
	pca_err e;

	(void)v;
	(void)stop;
	if (k->mv_size <= 8 + STORE_ID_BYTES ||
	    k->mv_size > STORE_EXP_KEY_MAX) {
		vproblem(c, "expiry index key of %zu bytes is malformed",
		    k->mv_size);
		return PCA_OK;
	}
	store_cert_name(p + 8, k->mv_size - 8, name);
	if ((e = vlookup(c, STORE_DBI_CERTS, p + 8, k->mv_size - 8, &cv,
		 &absent)) != PCA_OK)
		return e;
	if (absent)
		vproblem(c,
		    "expiry index entry for certificate %s: no such "
		    "certificate",
		    name);
	else if (store_rec_decode(cv.mv_data, cv.mv_size, &r) == PCA_OK &&
		 store_time_enc(r.not_after) != store_be64_get(p))
		vproblem(c,
		    "expiry index entry for certificate %s: its time "
		    "differs from the certificate's notAfter",
		    name);
	return PCA_OK;
}

static pca_err
v_revoked(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct vctx *c = varg;
	char name[STORE_NAME_MAX];
	int64_t when;
	int reason, absent;
	MDB_val cv;
	pca_err e;

	(void)stop;
	c->rep.revoked++;
	store_cert_name(k->mv_data, k->mv_size, name);
	if (store_rev_decode(v, &when, &reason) != PCA_OK)
		vproblem(c, "revocation of certificate %s: %s", name,
		    pca_err_msg());
	if ((e = vlookup(c, STORE_DBI_CERTS, k->mv_data, k->mv_size, &cv,
		 &absent)) != PCA_OK)
		return e;
	if (absent)
		vproblem(c,
		    "revocation of certificate %s: no such "
		    "certificate",
		    name);
	return PCA_OK;
}

static pca_err
v_audit(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct vctx *c = varg;
	const uint8_t *p = v->mv_data;
	unsigned long long seq;
	pca_err e;

	(void)stop;
	c->rep.audit_entries++;
	vtick(c);
	if (k->mv_size != 8 || v->mv_size < STORE_AUDIT_HDR) {
		vproblem(c,
		    "audit entry after %llu: malformed (key %zu "
		    "bytes, value %zu bytes)",
		    (unsigned long long)c->seq, k->mv_size, v->mv_size);
		return PCA_OK;
	}
	seq = store_be64_get(k->mv_data);
	if (seq != c->seq + 1)
		vproblem(c, "audit chain broken: entry %llu follows entry %llu",
		    seq, (unsigned long long)c->seq);
	else if (memcmp(p, c->hash, 32) != 0)
		vproblem(c,
		    "audit chain broken: entry %llu does not carry the "
		    "hash of entry %llu",
		    seq, (unsigned long long)c->seq);
	if ((e = store_audit_hash(seq, p, v->mv_size, c->hash)) != PCA_OK)
		return e;
	c->seq = seq;
	return PCA_OK;
}

static pca_err
v_ca(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct vctx *c = varg;
	char id[37];

	(void)stop;
	c->rep.cas++;
	if (k->mv_size == 36) {
		memcpy(id, k->mv_data, 36);
		id[36] = '\0';
	}
	if (k->mv_size != 36 || !util_is_uuid(id) || v->mv_size == 0)
		vproblem(c,
		    "CA record with a %zu-byte key and %zu-byte value "
		    "is malformed",
		    k->mv_size, v->mv_size);
	return PCA_OK;
}

static pca_err
v_idem(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct vctx *c = varg;

	(void)stop;
	if (v->mv_size < STORE_IDEM_HDR ||
	    ((const uint8_t *)v->mv_data)[0] != STORE_REC_VERSION)
		vproblem(c, "idempotency entry \"%.*s\" is corrupt",
		    (int)(k->mv_size > 64 ? 64 : k->mv_size),
		    (const char *)k->mv_data);
	return PCA_OK;
}

static pca_err
v_counter(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct vctx *c = varg;

	(void)stop;
	if (v->mv_size != 8)
		vproblem(c, "counter \"%.*s\" is corrupt",
		    (int)(k->mv_size > 64 ? 64 : k->mv_size),
		    (const char *)k->mv_data);
	return PCA_OK;
}

/* meta: the schema key and the audit head against the walked chain. */
static pca_err
v_meta(struct vctx *c)
{
	const char *sk = STORE_META_SCHEMA, *hk = STORE_META_HEAD;
	MDB_val v;
	int absent;
	pca_err e;

	if ((e = vlookup(c, STORE_DBI_META, sk, strlen(sk), &v, &absent)) !=
	    PCA_OK)
		return e;
	if (absent)
		vproblem(c, "schema version is missing");
	else if (v.mv_size != 4 ||
		 store_be32_get(v.mv_data) != STORE_SCHEMA_VERSION)
		vproblem(c, "schema version is malformed or unknown");
	if ((e = vlookup(c, STORE_DBI_META, hk, strlen(hk), &v, &absent)) !=
	    PCA_OK)
		return e;
	if (absent && c->seq != 0)
		vproblem(c,
		    "audit head is missing but the log has %llu "
		    "entries",
		    (unsigned long long)c->seq);
	else if (!absent &&
		 (v.mv_size != STORE_HEAD_LEN ||
		     store_be64_get(v.mv_data) != c->seq ||
		     memcmp((const uint8_t *)v.mv_data + 8, c->hash, 32) != 0))
		vproblem(c,
		    "audit head does not match the last entry (%llu) "
		    "of the log",
		    (unsigned long long)c->seq);
	return PCA_OK;
}

static pca_err
v_total(struct vctx *c)
{
	MDB_stat a, b;
	int rc;

	if ((rc = mdb_stat(c->txn, c->s->dbi[STORE_DBI_CERTS], &a)) != 0 ||
	    (rc = mdb_stat(c->txn, c->s->dbi[STORE_DBI_AUDIT], &b)) != 0)
		return store_mdb_err(rc, "verifying the store");
	c->total = a.ms_entries + b.ms_entries;
	c->step = c->total / 100 > 0 ? c->total / 100 : 1;
	if (c->progress != NULL)
		c->progress(0, c->total, c->arg);
	return PCA_OK;
}

pca_err
store_verify(struct store *s, struct store_verify_report *rep,
    void (*problem)(const char *msg, void *arg),
    void (*progress)(size_t done, size_t total, void *arg), void *arg)
{
	static const struct {
		enum store_dbi db;
		store_scan_fn fn;
	} walks[] = {
	    {STORE_DBI_CAS, v_ca},
	    {STORE_DBI_CERTS, v_cert},
	    {STORE_DBI_EXPIRY, v_expiry},
	    {STORE_DBI_REVOKED, v_revoked},
	    {STORE_DBI_IDEM, v_idem},
	    {STORE_DBI_COUNTERS, v_counter},
	    {STORE_DBI_AUDIT, v_audit},
	};
	struct vctx c;
	size_t i;
	pca_err e;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.problem = problem;
	c.progress = progress;
	c.arg = arg;
	if ((e = store_rtxn_begin(s, &c.txn)) != PCA_OK)
		return e;
	if ((e = v_total(&c)) != PCA_OK)
		goto out;
	for (i = 0; i < sizeof(walks) / sizeof(walks[0]); i++)
		if ((e = store_scan(c.txn, s->dbi[walks[i].db], NULL, 0, 0,
			 walks[i].fn, &c)) != PCA_OK)
			goto out;
	if ((e = v_meta(&c)) != PCA_OK || (e = v_inv_total(&c)) != PCA_OK ||
	    (e = store_feed_verify(s, c.txn, problem, arg, &c.rep.feed_records,
		 &c.rep.errors)) != PCA_OK)
		goto out;
	if (rep != NULL)
		*rep = c.rep;
out:
	store_rtxn_end(s, c.txn);
	return e;
}
