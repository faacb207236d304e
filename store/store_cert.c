/*
 * store_cert.c - certificate records, revocations and the expiry index.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* ---- reserve ---- */

struct reserve_arg {
	uint8_t key[STORE_CERT_KEY_MAX];
	size_t klen;
	uint8_t ekey[STORE_EXP_KEY_MAX];
	size_t eklen;
	struct buf rec;
};

static pca_err
reserve_index(struct store *s, MDB_txn *txn, const struct reserve_arg *a)
{
	struct store_rec r;
	pca_err e;

	if ((e = store_rec_decode(a->rec.p, a->rec.len, &r)) != PCA_OK)
		return e;
	return store_inv_add(s, txn, a->key, a->klen, &r);
}

static pca_err
reserve_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct reserve_arg *a = varg;
	char name[STORE_NAME_MAX];
	MDB_val k = store_val(a->key, a->klen);
	MDB_val v = store_val(a->rec.p, a->rec.len);
	MDB_val ek = store_val(a->ekey, a->eklen), ev = store_val("", 0);
	pca_err e;
	int rc;

	rc = mdb_put(txn, s->dbi[STORE_DBI_CERTS], &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		store_cert_name(a->key, a->klen, name);
		return pca_err_set(PCA_EEXISTS, "certificate %s already exists",
		    name);
	}
	if (rc != 0)
		return store_mdb_err(rc, "recording a certificate");
	rc = mdb_put(txn, s->dbi[STORE_DBI_EXPIRY], &ek, &ev, 0);
	if (rc != 0)
		return store_mdb_err(rc, "indexing a certificate's expiry");
	if ((e = reserve_index(s, txn, a)) != PCA_OK)
		return e;
	return store_issued_bump(s, txn, a->key);
}

static pca_err
text_field(const char *f, size_t size, const char *what, size_t *len)
{
	*len = strnlen(f, size);
	if (*len == size)
		return pca_err_set(PCA_EINVAL,
		    "certificate %s is not "
		    "NUL-terminated",
		    what);
	return PCA_OK;
}

static pca_err
reserve_encode(const struct store_cert *c, struct buf *b)
{
	struct store_rec r;
	pca_err e;

	if (c->state != 0 && c->state != STORE_CERT_PENDING)
		return pca_err_set(PCA_EINVAL, "a reserved certificate must "
					       "be PENDING");
	if (c->der != NULL || c->der_len != 0)
		return pca_err_set(PCA_EINVAL,
		    "a reserved certificate has no "
		    "DER yet: pass it to store_cert_complete");
	if (c->tbs == NULL || c->tbs_len == 0)
		return pca_err_set(PCA_EINVAL, "a reserved certificate needs "
					       "its TBS");
	if (c->tbs_len > STORE_MAX_BLOB)
		return pca_err_set(PCA_ETOOBIG,
		    "TBS of %zu bytes is over the "
		    "store limit of %d",
		    c->tbs_len, STORE_MAX_BLOB);
	memset(&r, 0, sizeof(r));
	if ((e = text_field(c->template_name, sizeof(c->template_name),
		 "template name", &r.tmpl_len)) != PCA_OK ||
	    (e = text_field(c->requested_by, sizeof(c->requested_by),
		 "requester", &r.by_len)) != PCA_OK)
		return e;
	r.state = STORE_CERT_PENDING;
	r.not_before = c->not_before;
	r.not_after = c->not_after;
	r.issued_at = c->issued_at;
	r.tmpl = c->template_name;
	r.by = c->requested_by;
	r.tbs = c->tbs;
	r.tbs_len = c->tbs_len;
	return store_rec_encode(&r, b);
}

pca_err
store_cert_reserve(struct store *s, const struct store_cert *c)
{
	struct reserve_arg a;
	pca_err e;

	buf_init(&a.rec, 2 * (size_t)STORE_MAX_BLOB + 1024);
	if (c == NULL) {
		e = pca_err_set(PCA_EINVAL, "no certificate to reserve");
		goto out;
	}
	if ((e = store_cert_key(c->ca_id, c->serial, c->serial_len, a.key,
		 &a.klen)) != PCA_OK ||
	    (e = reserve_encode(c, &a.rec)) != PCA_OK)
		goto out;
	store_exp_key(c->not_after, a.key, a.klen, a.ekey, &a.eklen);
	e = store_submit(s, reserve_run, &a);
out:
	buf_free(&a.rec);
	return e;
}

/* ---- reserve with an idempotency claim ---- */

struct claim_arg {
	struct reserve_arg r;
	MDB_val ik;
	struct buf iv;
	int64_t now;
	char *existing; /* recomputed on every run */
};

static pca_err
claim_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct claim_arg *a = varg;
	MDB_val ik = a->ik, iv = store_val(a->iv.p, a->iv.len);
	pca_err e;
	int rc;

	free(a->existing);
	a->existing = NULL;
	e = store_idem_read(s, txn, &a->ik, a->now, &a->existing);
	if (e == PCA_OK)
		return pca_err_set(PCA_EALREADY, "idempotency token already "
						 "claimed");
	if (e != PCA_ENOTFOUND)
		return e;
	if ((e = reserve_run(s, txn, &a->r)) != PCA_OK)
		return e;
	if ((rc = mdb_put(txn, s->dbi[STORE_DBI_IDEM], &ik, &iv, 0)) != 0)
		return store_mdb_err(rc, "recording an idempotency entry");
	return PCA_OK;
}

pca_err
store_cert_reserve_claim(struct store *s, const struct store_cert *c,
    const struct store_idem_claim *cl, char **existing)
{
	struct claim_arg a;
	pca_err e;

	memset(&a, 0, sizeof(a));
	buf_init(&a.r.rec, 2 * (size_t)STORE_MAX_BLOB + 1024);
	buf_init(&a.iv, STORE_IDEM_HDR + (size_t)STORE_MAX_BLOB);
	if (c == NULL || cl == NULL) {
		e = pca_err_set(PCA_EINVAL, "no certificate or claim");
		goto out;
	}
	if ((e = store_cert_key(c->ca_id, c->serial, c->serial_len, a.r.key,
		 &a.r.klen)) != PCA_OK ||
	    (e = reserve_encode(c, &a.r.rec)) != PCA_OK ||
	    (e = store_idem_key(s, cl->key, &a.ik)) != PCA_OK ||
	    (e = store_idem_encode(cl->expires, cl->result, &a.iv)) != PCA_OK)
		goto out;
	store_exp_key(c->not_after, a.r.key, a.r.klen, a.r.ekey, &a.r.eklen);
	a.now = cl->now;
	e = store_submit(s, claim_run, &a);
	if (e == PCA_EALREADY && a.existing != NULL) {
		*existing = a.existing;
		a.existing = NULL;
	}
out:
	free(a.existing);
	buf_free(&a.iv);
	buf_free(&a.r.rec);
	return e;
}

/* ---- complete ---- */

struct complete_arg {
	uint8_t key[STORE_CERT_KEY_MAX];
	size_t klen;
	const uint8_t *der;
	size_t der_len;
	struct buf rec;
	const char *audit; /* or NULL */
	int64_t when;
};

static pca_err
complete_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct complete_arg *a = varg;
	char name[STORE_NAME_MAX];
	struct store_rec r;
	MDB_val k = store_val(a->key, a->klen), v;
	pca_err e;
	int rc;

	if ((e = store_rec_get(txn, s->dbi[STORE_DBI_CERTS], &k, &r)) != PCA_OK)
		return e;
	if (r.state != STORE_CERT_PENDING) {
		store_cert_name(a->key, a->klen, name);
		return pca_err_set(PCA_ESTATE,
		    "certificate %s is already "
		    "issued",
		    name);
	}
	r.state = STORE_CERT_ISSUED;
	r.der = a->der;
	r.der_len = a->der_len;
	/* copies r's map pointers into rec before the put below */
	a->rec.len = 0;
	if ((e = store_rec_encode(&r, &a->rec)) != PCA_OK)
		return e;
	v = store_val(a->rec.p, a->rec.len);
	if ((rc = mdb_put(txn, s->dbi[STORE_DBI_CERTS], &k, &v, 0)) != 0)
		return store_mdb_err(rc, "recording an issued certificate");
	if ((e = store_inv_issued(s, txn, a->key, a->klen, r.not_after)) !=
		PCA_OK ||
	    (e = store_feed_put(s, txn, STORE_CHG_CERT_ISSUED, a->key,
		 a->klen)) != PCA_OK)
		return e;
	if (a->audit != NULL) {
		uint64_t seq;
		return store_audit_put(s, txn, a->when, a->audit,
		    strlen(a->audit), &seq);
	}
	return PCA_OK;
}

static pca_err
complete_submit(struct store *s, const char *ca_id, const uint8_t *serial,
    size_t serial_len, struct complete_arg *a)
{
	pca_err e;

	buf_init(&a->rec, 2 * (size_t)STORE_MAX_BLOB + 1024);
	if ((e = store_cert_key(ca_id, serial, serial_len, a->key, &a->klen)) !=
	    PCA_OK)
		goto out;
	if (a->der == NULL || a->der_len == 0 || a->der_len > STORE_MAX_BLOB) {
		e = pca_err_set(PCA_EINVAL,
		    "certificate DER must be 1 to %d "
		    "bytes",
		    STORE_MAX_BLOB);
		goto out;
	}
	if (a->audit != NULL && strlen(a->audit) > STORE_AUDIT_MAX_TEXT) {
		e = pca_err_set(PCA_ETOOBIG, "audit text over %d bytes",
		    STORE_AUDIT_MAX_TEXT);
		goto out;
	}
	e = store_submit(s, complete_run, a);
out:
	buf_free(&a->rec);
	return e;
}

pca_err
store_cert_complete(struct store *s, const char *ca_id, const uint8_t *serial,
    size_t serial_len, const uint8_t *der, size_t der_len)
{
	struct complete_arg a;

	memset(&a, 0, sizeof(a));
	a.der = der;
	a.der_len = der_len;
	return complete_submit(s, ca_id, serial, serial_len, &a);
}

pca_err
store_cert_complete_audit(struct store *s, const struct store_cert *c,
    const char *audit_text)
{
	struct complete_arg a;

	memset(&a, 0, sizeof(a));
	a.der = c->der;
	a.der_len = c->der_len;
	a.audit = audit_text;
	a.when = c->issued_at;
	return complete_submit(s, c->ca_id, c->serial, c->serial_len, &a);
}

/* ---- get, foreach, count ---- */

/* Fills the revocation fields of c from the revoked db. */
static pca_err
rev_fill(struct store *s, MDB_txn *txn, const MDB_val *key,
    struct store_cert *c)
{
	char name[STORE_NAME_MAX];
	MDB_val k = *key, v;
	int rc;

	rc = mdb_get(txn, s->dbi[STORE_DBI_REVOKED], &k, &v);
	if (rc == MDB_NOTFOUND)
		return PCA_OK;
	if (rc != 0)
		return store_mdb_err(rc, "reading a revocation");
	if (store_rev_decode(&v, &c->revoked_at, &c->reason) != PCA_OK) {
		store_cert_name(key->mv_data, key->mv_size, name);
		return pca_err_set(PCA_EDB,
		    "revocation of certificate %s is "
		    "corrupt",
		    name);
	}
	c->revoked = 1;
	return PCA_OK;
}

/* Copies a decoded certificate record, with its revocation, into *out. */
static pca_err
cert_copy(struct store *s, MDB_txn *txn, const MDB_val *key,
    const struct store_rec *r, struct store_cert *out)
{
	struct store_cert c;
	pca_err e;

	if ((e = store_rec_copy(key, r, &c)) != PCA_OK)
		return e;
	if ((e = rev_fill(s, txn, key, &c)) != PCA_OK) {
		store_cert_clear(&c);
		return e;
	}
	*out = c;
	return PCA_OK;
}

pca_err
store_cert_get(struct store *s, const char *ca_id, const uint8_t *serial,
    size_t serial_len, struct store_cert *out)
{
	uint8_t key[STORE_CERT_KEY_MAX];
	size_t klen;
	struct store_rec r;
	MDB_txn *txn = NULL;
	MDB_val k;
	pca_err e;

	if ((e = store_cert_key(ca_id, serial, serial_len, key, &klen)) !=
	    PCA_OK)
		return e;
	if ((e = store_rtxn_begin(s, &txn)) != PCA_OK)
		return e;
	k = store_val(key, klen);
	if ((e = store_rec_get(txn, s->dbi[STORE_DBI_CERTS], &k, &r)) == PCA_OK)
		e = cert_copy(s, txn, &k, &r, out);
	store_rtxn_end(s, txn);
	return e;
}

void
store_cert_clear(struct store_cert *c)
{
	if (c == NULL)
		return;
	free(c->tbs);
	free(c->der);
	memset(c, 0, sizeof(*c));
}

struct cert_iter {
	struct store *s;
	MDB_txn *txn;
	int (*cb)(const struct store_cert *, void *);
	void *arg;
	size_t n;
};

static pca_err
cert_each(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct cert_iter *it = varg;
	struct store_cert c;
	struct store_rec r;
	pca_err e;

	if ((e = store_rec_check(k, v, &r)) != PCA_OK ||
	    (e = cert_copy(it->s, it->txn, k, &r, &c)) != PCA_OK)
		return e;
	*stop = it->cb(&c, it->arg) != 0;
	store_cert_clear(&c);
	return PCA_OK;
}

pca_err
store_cert_foreach(struct store *s, const char *ca_id,
    int (*cb)(const struct store_cert *, void *arg), void *arg)
{
	uint8_t id[STORE_ID_BYTES];
	struct cert_iter it;
	size_t plen = 0;
	pca_err e;

	if (ca_id != NULL) {
		if ((e = store_id_parse(ca_id, id)) != PCA_OK)
			return e;
		plen = sizeof(id);
	}
	memset(&it, 0, sizeof(it));
	it.s = s;
	it.cb = cb;
	it.arg = arg;
	if ((e = store_rtxn_begin(s, &it.txn)) != PCA_OK)
		return e;
	e = store_scan(it.txn, s->dbi[STORE_DBI_CERTS], id, plen, plen,
	    cert_each, &it);
	store_rtxn_end(s, it.txn);
	return e;
}

pca_err
store_count_each(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	(void)k;
	(void)v;
	(void)stop;
	(*(size_t *)varg)++;
	return PCA_OK;
}

pca_err
store_cert_count(struct store *s, const char *ca_id, size_t *out)
{
	uint8_t id[STORE_ID_BYTES];
	size_t n = 0;
	pca_err e;

	if (ca_id == NULL)
		return store_entries(s, STORE_DBI_CERTS, out);
	if ((e = store_id_parse(ca_id, id)) != PCA_OK)
		return e;
	if (s->inv_ok) /* the inventory's keys, not the records' pages */
		e = store_inv_ca_count(s, id, &n);
	else
		e = store_scan_read(s, STORE_DBI_CERTS, id, sizeof(id),
		    sizeof(id), store_count_each, &n);
	if (e != PCA_OK)
		return e;
	*out = n;
	return PCA_OK;
}

/* ---- revocations ---- */

struct revoke_arg {
	uint8_t key[STORE_CERT_KEY_MAX];
	size_t klen;
	uint8_t rec[STORE_REV_LEN];
};

/* The revoked-certificates index entry (needs the record's not_after). */
static pca_err
revoke_index(struct store *s, MDB_txn *txn, const struct revoke_arg *a)
{
	MDB_val k = store_val(a->key, a->klen);
	struct store_rec r;
	pca_err e;

	if ((e = store_rec_get(txn, s->dbi[STORE_DBI_CERTS], &k, &r)) != PCA_OK)
		return e;
	return store_inv_revoked(s, txn, a->key, a->klen, r.not_after);
}

static pca_err
revoke_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct revoke_arg *a = varg;
	char name[STORE_NAME_MAX];
	MDB_val k = store_val(a->key, a->klen), v;
	pca_err e;
	int rc;

	store_cert_name(a->key, a->klen, name);
	rc = mdb_get(txn, s->dbi[STORE_DBI_CERTS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return pca_err_set(PCA_ENOTFOUND, "no certificate %s", name);
	if (rc != 0)
		return store_mdb_err(rc, "reading a certificate");
	v = store_val(a->rec, sizeof(a->rec));
	rc = mdb_put(txn, s->dbi[STORE_DBI_REVOKED], &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return pca_err_set(PCA_EALREADY,
		    "certificate %s is already "
		    "revoked",
		    name);
	if (rc != 0)
		return store_mdb_err(rc, "recording a revocation");
	if ((e = revoke_index(s, txn, a)) != PCA_OK ||
	    (e = store_feed_put(s, txn, STORE_CHG_CERT_REVOKED, a->key,
		 a->klen)) != PCA_OK)
		return e;
	/* the CA's CRLs are due: recorded in the revocation's transaction */
	return store_revgen_bump(s, txn, a->key);
}

pca_err
store_cert_revoke(struct store *s, const char *ca_id, const uint8_t *serial,
    size_t serial_len, int64_t when, int reason)
{
	struct revoke_arg a;
	pca_err e;

	if ((e = store_cert_key(ca_id, serial, serial_len, a.key, &a.klen)) !=
	    PCA_OK)
		return e;
	if (reason < 0 || reason > 10)
		return pca_err_set(PCA_EINVAL,
		    "revocation reason %d is not an "
		    "RFC 5280 CRLReason code (0 to 10)",
		    reason);
	store_rev_encode(when, reason, a.rec);
	return store_submit(s, revoke_run, &a);
}

struct rev_iter {
	int (*cb)(const uint8_t *, size_t, int64_t, int, void *);
	void *arg;
};

static pca_err
rev_each(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct rev_iter *it = varg;
	char name[STORE_NAME_MAX];
	int64_t when;
	int reason;

	store_cert_name(k->mv_data, k->mv_size, name);
	if (!store_cert_key_ok(k) ||
	    store_rev_decode(v, &when, &reason) != PCA_OK)
		return pca_err_set(PCA_EDB,
		    "revocation of certificate %s is "
		    "corrupt",
		    name);
	*stop = it->cb((const uint8_t *)k->mv_data + STORE_ID_BYTES,
		    k->mv_size - STORE_ID_BYTES, when, reason, it->arg) != 0;
	return PCA_OK;
}

pca_err
store_revoked_foreach(struct store *s, const char *ca_id,
    int (*cb)(const uint8_t *serial, size_t serial_len, int64_t when,
	int reason, void *arg),
    void *arg)
{
	uint8_t id[STORE_ID_BYTES];
	struct rev_iter it = {cb, arg};
	pca_err e;

	if ((e = store_id_parse(ca_id, id)) != PCA_OK)
		return e;
	return store_scan_read(s, STORE_DBI_REVOKED, id, sizeof(id), sizeof(id),
	    rev_each, &it);
}

/* ---- expiry index ---- */

struct exp_iter {
	int64_t to;
	int (*cb)(const char *, const uint8_t *, size_t, int64_t, void *);
	void *arg;
};

static pca_err
exp_each(const MDB_val *k, const MDB_val *v, void *varg, int *stop)
{
	struct exp_iter *it = varg;
	const uint8_t *p = k->mv_data;
	char id[37];
	int64_t t;

	(void)v;
	if (k->mv_size <= 8 + STORE_ID_BYTES || k->mv_size > STORE_EXP_KEY_MAX)
		return pca_err_set(PCA_EDB,
		    "expiry index key of %zu bytes is "
		    "malformed",
		    k->mv_size);
	t = store_time_dec(store_be64_get(p));
	if (t >= it->to) {
		*stop = 1;
		return PCA_OK;
	}
	store_id_format(p + 8, id);
	*stop = it->cb(id, p + 8 + STORE_ID_BYTES,
		    k->mv_size - 8 - STORE_ID_BYTES, t, it->arg) != 0;
	return PCA_OK;
}

pca_err
store_expiry_foreach(struct store *s, int64_t from, int64_t to,
    int (*cb)(const char *ca_id, const uint8_t *serial, size_t serial_len,
	int64_t not_after, void *arg),
    void *arg)
{
	struct exp_iter it = {to, cb, arg};
	uint8_t start[8];

	if (from >= to)
		return PCA_OK;
	store_be64_put(start, store_time_enc(from));
	return store_scan_read(s, STORE_DBI_EXPIRY, start, sizeof(start), 0,
	    exp_each, &it);
}
