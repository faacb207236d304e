/*
 * refresh.c - the refresher thread: keeps a signed response for every live
 * certificate in the store (records, and an index in producedAt order that
 * says what is due), never all of them in memory.  It is the only thread
 * that changes the CA table or the signers, so it reads them without a lock
 * and takes the write lock only to publish; it is also the only writer of
 * the records, and refreshes the cache after each commit.  It follows the
 * store's change feed (every issuance, revocation and CA change, by pcad or
 * by pcactl, is a typed record there) from its recorded cursor: the engine
 * listener only wakes it early.  A CA whose certificates were never walked
 * (first start, an upgrade, a gap in the feed) is walked in steps, in the
 * background; a start loads nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../ca/ca.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../hsm/hsm.h"
#include "../store/store.h"
#include "ocsp_int.h"

#define RETRY_S 5      /* after a failed signature */
#define CA_RESYNC_S 60 /* signer rollover check */
#define WORK_MAX 4096  /* feed records per batch (bounded) */
#define CHUNK 256      /* certificates per step of a walk */
#define STEP_MAX 2048  /* certificates signed per pass at most */

/* ---- stored responses and the refresh index ---- */

static void
be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The index key: producedAt (16 hex digits, so key order is time order). */
static void
due_key(int64_t produced, const char *uuid, const uint8_t *sn, size_t n,
    char *k, size_t kl)
{
	char hex[2 * LIM_SERIAL_BYTES + 1];

	util_hex(sn, n, hex, sizeof(hex), 0);
	(void)snprintf(k, kl, "%016llx/%s/%s",
	    (unsigned long long)(produced < 0 ? 0 : produced), uuid, hex);
}

static pca_err
head_cb(const uint8_t *v, size_t n, void *arg)
{
	struct ocsp_crec *r = arg;

	if (!ocsp_crec_decode(v, n, r))
		return PCA_EPARSE; /* an older format: signed again */
	r->der = NULL;             /* the header only */
	return PCA_OK;
}

/* The stored record's header for (CA, serial, hash); 0 when none. */
static int
rec_head(struct ocsp_responder *r, const char *uuid, const uint8_t *sn,
    size_t n, int h, struct ocsp_crec *out)
{
	char k[128];

	ocsp_rec_key(uuid, sn, n, h, k, sizeof(k));
	if (store_kv_view(r->store, OCSP_KV_RESP, k, head_cb, out) != PCA_OK) {
		pca_err_clear();
		return 0;
	}
	return 1;
}

static void
count_val(struct ocsp_responder *r, uint8_t v[8])
{
	be64(v, atomic_load(&r->presigned_n));
}

static void
count_load(struct ocsp_responder *r)
{
	uint8_t *v = NULL;
	size_t n = 0;

	if (store_kv_get(r->store, OCSP_KV_META, "count", &v, &n) == PCA_OK &&
	    n == 8)
		atomic_store(&r->presigned_n, get64(v));
	pca_err_clear();
	free(v);
}

static void
ckey(uint32_t ca, int h, const uint8_t *sn, size_t n, struct ocsp_ckey *k)
{
	memset(k, 0, sizeof(*k));
	k->ca = ca;
	k->hash = (uint8_t)h;
	k->serial_len = (uint8_t)n;
	memcpy(k->serial, sn, n);
}

/* What a certificate's responses say, from its store record. */
struct facts {
	uint8_t sn[LIM_SERIAL_BYTES]; /* magnitude */
	size_t n;
	enum ocsp_status status;
	int64_t revoked_at;
	int reason;
	int64_t not_after;
};

/* 0 when the record is not one to answer for (bad serial, PENDING). */
static int
facts_of(const struct store_cert *c, struct facts *f)
{
	const uint8_t *sn = c->serial;
	size_t n = c->serial_len;

	while (n > 1 && *sn == 0) /* a store serial is a magnitude */
		sn++, n--;
	if (n == 0 || n > LIM_SERIAL_BYTES || c->state != STORE_CERT_ISSUED)
		return 0;
	memcpy(f->sn, sn, n);
	f->n = n;
	f->status = c->revoked ? OCSP_REVOKED : OCSP_GOOD;
	f->revoked_at = c->revoked ? c->revoked_at : 0;
	f->reason = c->revoked ? c->reason : 0;
	f->not_after = c->not_after;
	return 1;
}

/*
 * Removes a certificate's records and index entry (old: its record's
 * header, or NULL when unknown); ca < 0: not cached.
 */
static void
remove_cert(struct ocsp_responder *r, long ca, const char *uuid,
    const uint8_t *sn, size_t n, const struct ocsp_crec *old)
{
	char k1[128], k2[128], kd[128];
	uint8_t cnt[8];
	struct store_kv_op ops[4];
	struct ocsp_ckey ck;
	size_t nops = 0;
	int h;

	ocsp_rec_key(uuid, sn, n, 0, k1, sizeof(k1));
	ocsp_rec_key(uuid, sn, n, 1, k2, sizeof(k2));
	memset(ops, 0, sizeof(ops));
	ops[nops].ns = OCSP_KV_RESP, ops[nops].key = k1, ops[nops++].del = 1;
	ops[nops].ns = OCSP_KV_RESP, ops[nops].key = k2, ops[nops++].del = 1;
	if (old != NULL) {
		due_key(old->produced, uuid, sn, n, kd, sizeof(kd));
		ops[nops].ns = OCSP_KV_DUE, ops[nops].key = kd;
		ops[nops++].del = 1;
		if (atomic_load(&r->presigned_n) > 0)
			atomic_fetch_sub(&r->presigned_n, 1);
		count_val(r, cnt);
		ops[nops].ns = OCSP_KV_META, ops[nops].key = "count";
		ops[nops].val = cnt, ops[nops++].len = 8;
	}
	if ((r->conf.publish_bucket[0] != '\0'
		    ? ocsp_publish_drop(r, ca, sn, n, ops, nops)
		    : store_kv_batch(r->store, ops, nops)) != PCA_OK) {
		log_warnx("OCSP: removing responses: %s", pca_err_msg());
		pca_err_clear();
		return;
	}
	for (h = 0; h < 2 && ca >= 0; h++) {
		ckey((uint32_t)ca, h, sn, n, &ck);
		ocsp_cache_update(&r->cache, &ck, NULL);
	}
}

int64_t
ocsp_refresh_at(const struct ocsp_conf *c, int64_t t)
{
	int64_t d = c->refresh_s;

	if (d == 0) {
		d = c->validity_s / 2;
		if (d > 4 * 86400)
			d = 4 * 86400;
	}
	return t + d;
}

/* ---- signing one certificate ---- */

static void
certid_for(const struct ocsp_ca *ca, int h, const struct facts *f,
    struct ocsp_certid *id)
{
	memset(id, 0, sizeof(*id));
	id->hash = (enum ocsp_hash)h;
	memcpy(id->name_hash, ca->name_hash[h], 32);
	memcpy(id->key_hash, ca->key_hash[h], 32);
	if (f->sn[0] & 0x80)
		id->serial_len = 1; /* leading 0x00: positive INTEGER */
	memcpy(id->serial + id->serial_len, f->sn, f->n);
	id->serial_len += f->n;
}

/* Both responses of a certificate, signed now. */
struct signed2 {
	struct ocsp_crec rec[2];
	uint8_t *der[2];
	uint8_t *val[2];
	size_t vlen[2];
};

static void
signed2_clear(struct signed2 *s)
{
	int h;

	for (h = 0; h < 2; h++) {
		free(s->der[h]);
		free(s->val[h]);
	}
}

static pca_err
sign_both(struct ocsp_responder *r, const struct ocsp_ca *ca,
    const struct facts *f, int64_t now, struct signed2 *out)
{
	struct ocsp_certid id;
	struct ocsp_single s;
	pca_err err = PCA_OK;
	int h;

	memset(&s, 0, sizeof(s));
	s.id = &id;
	s.status = f->status;
	s.revoked_at = f->revoked_at;
	s.reason = f->reason;
	s.this_update = now;
	s.next_update = now + r->conf.validity_s;
	if (s.next_update > ca->signer->not_after)
		s.next_update = ca->signer->not_after;
	for (h = 0; h < 2 && err == PCA_OK; h++) {
		certid_for(ca, h, f, &id);
		atomic_fetch_add(&r->m.signs, 1);
		if ((err = ocsp_resp_sign(r->hsm, ca->signer, now, &s, 1, NULL,
			 0, &out->der[h], &out->rec[h].len)) != PCA_OK)
			break;
		out->rec[h].status = f->status;
		out->rec[h].produced = now;
		out->rec[h].next_update = s.next_update;
		out->rec[h].revoked_at = f->revoked_at;
		out->rec[h].not_after = f->not_after;
		out->rec[h].der = out->der[h];
		err =
		    ocsp_crec_encode(&out->rec[h], &out->val[h], &out->vlen[h]);
	}
	return err;
}

/*
 * Signs both responses of a certificate and stores them with the index
 * entry, in one transaction (old: the record's header before, or NULL),
 * then refreshes the cache.  PCA_EUNAVAIL when the token is down.
 */
static pca_err
sign_cert(struct ocsp_responder *r, uint32_t cai, const struct facts *f,
    const struct ocsp_crec *old)
{
	struct ocsp_ca *ca = &r->t.cas[cai];
	struct signed2 sg;
	char k[2][128], kd[128], ko[128];
	uint8_t cnt[8];
	struct store_kv_op ops[5];
	struct ocsp_ckey ck;
	size_t nops = 0;
	int64_t now = util_now();
	pca_err err;
	int h;

	if (ca->signer == NULL)
		return pca_err_set(PCA_EUNAVAIL, "no OCSP signer for %s",
		    ca->uuid);
	memset(&sg, 0, sizeof(sg));
	memset(ops, 0, sizeof(ops));
	if ((err = sign_both(r, ca, f, now, &sg)) != PCA_OK) {
		atomic_fetch_add(&r->m.sign_errors, 1);
		goto out;
	}
	for (h = 0; h < 2; h++) {
		ocsp_rec_key(ca->uuid, f->sn, f->n, h, k[h], sizeof(k[h]));
		ops[nops].ns = OCSP_KV_RESP, ops[nops].key = k[h];
		ops[nops].val = sg.val[h], ops[nops++].len = sg.vlen[h];
	}
	due_key(now, ca->uuid, f->sn, f->n, kd, sizeof(kd));
	ops[nops].ns = OCSP_KV_DUE, ops[nops].key = kd, ops[nops++].val = "";
	if (old != NULL && old->produced != now) {
		due_key(old->produced, ca->uuid, f->sn, f->n, ko, sizeof(ko));
		ops[nops].ns = OCSP_KV_DUE, ops[nops].key = ko;
		ops[nops++].del = 1;
	}
	if (old == NULL) {
		be64(cnt, atomic_load(&r->presigned_n) + 1);
		ops[nops].ns = OCSP_KV_META, ops[nops].key = "count";
		ops[nops].val = cnt, ops[nops++].len = 8;
	}
	if (r->conf.publish_bucket[0] != '\0') {
		struct ocsp_pub_item it = {ca, f->sn, f->n,
		    {sg.der[0], sg.der[1]}, {sg.rec[0].len, sg.rec[1].len}, now,
		    old != NULL ? old->status != f->status ||
				      old->revoked_at != f->revoked_at
				: f->status == OCSP_REVOKED};

		err = ocsp_publish_commit(r, &it, ops, nops);
	} else
		err = store_kv_batch(r->store, ops, nops);
	if (err != PCA_OK)
		goto out;
	if (old == NULL)
		atomic_fetch_add(&r->presigned_n, 1);
	for (h = 0; h < 2; h++) {
		ckey(cai, h, f->sn, f->n, &ck);
		ocsp_cache_update(&r->cache, &ck, &sg.rec[h]);
	}
	atomic_fetch_add(&r->m.refreshed, 1);
out:
	signed2_clear(&sg);
	return err;
}

/*
 * Brings a certificate's records in line with its store record: signs when
 * they are missing, of another status, stale or future-dated (force: in any
 * case); removes them once it expired unrevoked.  1 when signing failed.
 */
static int
check_cert(struct ocsp_responder *r, uint32_t cai, const struct facts *f,
    int64_t now, int force)
{
	struct ocsp_ca *ca = &r->t.cas[cai];
	struct ocsp_crec o[2];
	int have = rec_head(r, ca->uuid, f->sn, f->n, 0, &o[0]) &&
		   rec_head(r, ca->uuid, f->sn, f->n, 1, &o[1]);

	if (f->status == OCSP_GOOD && f->not_after < now) {
		if (have)
			remove_cert(r, (long)cai, ca->uuid, f->sn, f->n, &o[0]);
		return 0;
	}
	if (have && !force && o[0].status == f->status &&
	    o[0].revoked_at == f->revoked_at &&
	    o[0].produced == o[1].produced && o[0].next_update > now &&
	    o[0].produced <= now + OCSP_SKEW_S &&
	    ocsp_refresh_at(&r->conf, o[0].produced) > now)
		return 0;
	if (!ca->serve || ocsp_signer_future(ca->signer, now))
		return 1;
	if (sign_cert(r, cai, f, have ? &o[0] : NULL) != PCA_OK) {
		log_warnx("OCSP: signing for a serial of CA %s: %s", ca->uuid,
		    pca_err_msg());
		pca_err_clear();
		return 1;
	}
	return 0;
}

/* ---- resynchronising a CA (first start, upgrade, feed gap) ---- */

struct walk {
	struct facts f[CHUNK];
	size_t n;
};

static int
walk_cb(const struct store_cert *c, const uint8_t *cur, size_t len, void *arg)
{
	struct walk *w = arg;

	(void)cur;
	(void)len;
	if (facts_of(c, &w->f[w->n]))
		w->n++;
	return w->n == CHUNK;
}

static void
sync_mark(struct ocsp_responder *r, const char *uuid, int on)
{
	char k[64];
	pca_err err;

	(void)snprintf(k, sizeof(k), "sync/%s", uuid);
	err = on ? store_kv_put(r->store, OCSP_KV_META, k, "1", 1, 0)
		 : store_kv_del(r->store, OCSP_KV_META, k);
	if (err != PCA_OK && err != PCA_ENOTFOUND)
		log_warnx("OCSP: recording the sync state of CA %s: %s", uuid,
		    pca_err_msg());
	pca_err_clear();
}

static int
sync_marked(struct ocsp_responder *r, const char *uuid)
{
	uint8_t *v = NULL;
	size_t n;
	char k[64];
	int on;

	(void)snprintf(k, sizeof(k), "sync/%s", uuid);
	on = store_kv_get(r->store, OCSP_KV_META, k, &v, &n) == PCA_OK;
	pca_err_clear();
	free(v);
	return on;
}

/*
 * One step of the walk over a CA's certificates that makes sure each has
 * its records; the CA is marked synced at the end.  Returns the number of
 * certificates that still need a signature.
 */
static size_t
sync_step(struct ocsp_responder *r, uint32_t cai, int64_t now)
{
	struct ocsp_ca *ca = &r->t.cas[cai];
	struct store_inv_query q;
	struct store_inv_pos end;
	struct walk *w = malloc(sizeof(*w));
	size_t i, failed = 0;

	if (w == NULL)
		return 1;
	w->n = 0;
	memset(&q, 0, sizeof(q));
	q.ca_id = ca->uuid;
	q.state = STORE_INV_ANY;
	q.from = 0;
	q.to = INT64_MAX;
	q.after = ca->sync_len ? ca->sync_after : NULL;
	q.after_len = ca->sync_len;
	q.max_scan = 4 * CHUNK;
	if (store_inv_foreach(r->store, &q, walk_cb, w, &end) != PCA_OK) {
		log_warnx("OCSP: walking CA %s: %s", ca->uuid, pca_err_msg());
		pca_err_clear();
		free(w);
		return 1;
	}
	for (i = 0; i < w->n && !r->stop; i++)
		failed += (size_t)check_cert(r, cai, &w->f[i], now, 0);
	free(w);
	if (failed)
		return failed; /* the same step again later */
	if (end.more && end.len <= sizeof(ca->sync_after)) {
		memcpy(ca->sync_after, end.cursor, end.len);
		ca->sync_len = end.len;
		r->more = 1;
		return 0;
	}
	ca->sync_len = 0;
	ca->synced = 1;
	sync_mark(r, ca->uuid, 1);
	return 0;
}

/* Steps every serving CA that is not synced; the number still due. */
static size_t
sync_all(struct ocsp_responder *r, int64_t now)
{
	size_t i, left = 0;

	for (i = 0; i < r->t.ncas && !r->stop; i++)
		if (r->t.cas[i].serve && !r->t.cas[i].synced &&
		    !ocsp_signer_future(r->t.cas[i].signer, now))
			left += sync_step(r, (uint32_t)i, now) +
				!r->t.cas[i].synced;
	return left;
}

/* A feed gap: every CA walks its certificates again. */
static void
unsync_all(struct ocsp_responder *r)
{
	size_t i;

	for (i = 0; i < r->t.ncas; i++) {
		r->t.cas[i].synced = 0;
		r->t.cas[i].sync_len = 0;
		sync_mark(r, r->t.cas[i].uuid, 0);
	}
}

/* ---- CAs ---- */

/* Name and key hashes (SHA-1, SHA-256) and notAfter of a CA certificate. */
static pca_err
ca_hashes(const uint8_t *der, size_t len, struct ocsp_ca *o)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	unsigned char *name = NULL;
	const ASN1_BIT_STRING *key;
	int n = -1;
	pca_err err = PCA_OK;

	if (x == NULL || (key = X509_get0_pubkey_bitstr(x)) == NULL ||
	    (n = i2d_X509_NAME(X509_get_subject_name(x), &name)) <= 0 ||
	    EVP_Digest(name, (size_t)n, o->name_hash[0], NULL, EVP_sha1(),
		NULL) != 1 ||
	    EVP_Digest(name, (size_t)n, o->name_hash[1], NULL, EVP_sha256(),
		NULL) != 1 ||
	    EVP_Digest(key->data, (size_t)key->length, o->key_hash[0], NULL,
		EVP_sha1(), NULL) != 1 ||
	    EVP_Digest(key->data, (size_t)key->length, o->key_hash[1], NULL,
		EVP_sha256(), NULL) != 1)
		err = pca_err_set(PCA_EBADCERT, "OCSP: CA certificate does "
						"not parse");
	OPENSSL_free(name);
	X509_free(x);
	if (err == PCA_OK)
		err = ocsp_cert_facts(der, len, &o->not_after, NULL, NULL);
	return err;
}

static int
ca_serves(const struct ca_info *ci)
{
	const json_t *o = json_object_get(ci->revocation, "OcspConfiguration");

	return ci->cert_der != NULL &&
	       json_is_true(json_object_get(o, "Enabled")) &&
	       (strcmp(ci->status, "ACTIVE") == 0 ||
		   strcmp(ci->status, "DISABLED") == 0 ||
		   strcmp(ci->status, "EXPIRED") == 0);
}

static int64_t
min_left(const struct ocsp_conf *c)
{
	int64_t a = 3 * (int64_t)c->validity_s,
		b = (int64_t)c->signer_days * 86400 / 3;

	return a > b ? a : b;
}

/* A usable signer for the CA: the current one, a new one, or NULL. */
static struct ocsp_signer *
signer_for(struct ocsp_responder *r, const struct ca_info *ci,
    const struct ocsp_ca *cur, int64_t now)
{
	struct ocsp_signer_ctx x = {r->engine, r->store, r->hsm,
	    r->conf.signer_days, min_left(&r->conf)};
	struct ocsp_signer *s = NULL;
	int deleg = r->conf.signer == OCSP_SIGNER_DELEGATED;
	pca_err err;

	if (cur->signer != NULL && (cur->signer->cert != NULL) == deleg &&
	    (!deleg || (cur->signer->not_after - now > x.min_left &&
			   !ocsp_signer_future(cur->signer, now))))
		return NULL; /* keep */
	if (!deleg) {
		if (ocsp_signer_ca(ci, cur->not_after, &s) != PCA_OK)
			pca_err_clear();
		return s;
	}
	if ((err = ocsp_signer_delegated(&x, ci, cur->not_after, &s)) == PCA_OK)
		return s;
	if (err != PCA_EUNAVAIL &&
	    ocsp_signer_ca(ci, cur->not_after, &s) == PCA_OK) {
		log_warnx("OCSP: no delegated signer for CA %s (%s); the CA "
			  "key signs",
		    ci->uuid, pca_err_msg());
		pca_err_clear();
		return s;
	}
	log_warnx("OCSP: no signer for CA %s yet: %s", ci->uuid, pca_err_msg());
	pca_err_clear();
	return NULL;
}

/* The CA's slot (appended when new), write lock not held. */
static long
ca_slot(struct ocsp_responder *r, const char *uuid)
{
	long i = ocsp_table_ca_by_uuid(&r->t, uuid);
	struct ocsp_ca *n;
	size_t cap;

	if (i >= 0)
		return i;
	pthread_rwlock_wrlock(&r->t.lk);
	if (r->t.ncas == r->t.capcas) {
		cap = r->t.capcas ? 2 * r->t.capcas : 16;
		if ((n = realloc(r->t.cas, cap * sizeof(*n))) == NULL) {
			pthread_rwlock_unlock(&r->t.lk);
			return -1;
		}
		r->t.cas = n;
		r->t.capcas = cap;
	}
	i = (long)r->t.ncas++;
	memset(&r->t.cas[i], 0, sizeof(r->t.cas[i]));
	(void)snprintf(r->t.cas[i].uuid, sizeof(r->t.cas[i].uuid), "%s", uuid);
	pthread_rwlock_unlock(&r->t.lk);
	r->t.cas[i].synced = sync_marked(r, uuid);
	return i;
}

/* Brings one CA's slot up to date; 1 when it needs another try later. */
static int
ca_sync_one(struct ocsp_responder *r, const char *uuid, int64_t now)
{
	struct ca_info ci;
	struct ocsp_ca h, *c;
	struct ocsp_signer *s = NULL, *old = NULL;
	long i;
	int serve, retry = 0;

	if (ca_info_get(r->engine, uuid, &ci) != PCA_OK) {
		pca_err_clear();
		return 0;
	}
	memset(&h, 0, sizeof(h));
	serve =
	    ca_serves(&ci) && ca_hashes(ci.cert_der, ci.cert_len, &h) == PCA_OK;
	pca_err_clear();
	if ((i = ca_slot(r, uuid)) < 0)
		goto out;
	c = &r->t.cas[i];
	if (serve) {
		c->not_after = h.not_after;
		s = signer_for(r, &ci, c, now);
		retry = s == NULL && c->signer == NULL;
	}
	c = &r->t.cas[i]; /* signer_for may have issued: slots may move */
	if (!serve && c->synced) {
		c->synced = 0; /* records go as they come due; walk again */
		sync_mark(r, uuid, 0);
	}
	pthread_rwlock_wrlock(&r->t.lk);
	memcpy(c->name_hash, h.name_hash, sizeof(h.name_hash));
	memcpy(c->key_hash, h.key_hash, sizeof(h.key_hash));
	c->not_after = h.not_after;
	c->serve = serve;
	if (s != NULL) {
		old = c->signer;
		c->signer = s;
	}
	pthread_rwlock_unlock(&r->t.lk);
	ocsp_signer_free(old);
out:
	ca_info_clear(&ci);
	return retry;
}

static void
ca_sync_all(struct ocsp_responder *r)
{
	char(*ids)[37] = NULL;
	size_t n = 0, i;
	int64_t now = util_now();
	int retry = 0;

	if (ca_info_ids(r->engine, &ids, &n) != PCA_OK) {
		log_warnx("OCSP: listing CAs: %s", pca_err_msg());
		pca_err_clear();
		r->ca_retry = 1;
		r->ca_synced = now;
		return;
	}
	for (i = 0; i < n; i++)
		retry |= ca_sync_one(r, ids[i], now);
	free(ids);
	r->ca_dirty = 0;
	r->ca_retry = retry;
	r->ca_synced = now;
}

/* ---- the change feed (store_changes_after) ---- */

struct work {
	char uuid[37];
	uint8_t serial[LIM_SERIAL_BYTES];
	size_t serial_len;
};

struct feed {
	struct work *w;
	size_t n, cap;
	int ca_dirty, overflow;
};

static int
feed_cb(const struct store_change *c, void *arg)
{
	struct feed *f = arg;
	struct work *w;

	switch (c->type) {
	case STORE_CHG_CERT_ISSUED:
	case STORE_CHG_CERT_REVOKED:
		break;
	case STORE_CHG_CA:
	case STORE_CHG_CA_PURGED:
		f->ca_dirty = 1;
		return 0;
	default:
		return 0;
	}
	if (c->ca_id[0] == '\0' || c->serial_len == 0)
		return 0;
	if (f->n == f->cap) {
		if ((w = realloc(f->w,
			 (f->cap ? 2 * f->cap : 64) * sizeof(*w))) == NULL) {
			f->overflow = 1;
			return 1;
		}
		f->w = w;
		f->cap = f->cap ? 2 * f->cap : 64;
	}
	w = &f->w[f->n++];
	memcpy(w->uuid, c->ca_id, sizeof(w->uuid));
	memcpy(w->serial, c->serial, c->serial_len);
	w->serial_len = c->serial_len;
	return 0;
}

/* Re-reads one certificate and re-signs it when its status changed. */
static void
refresh_serial(struct ocsp_responder *r, const struct work *w)
{
	struct store_cert c;
	struct facts f;
	long ca = ocsp_table_ca_by_uuid(&r->t, w->uuid);

	if (ca < 0 || !r->t.cas[ca].serve)
		return;
	if (store_cert_get(r->store, w->uuid, w->serial, w->serial_len, &c) !=
	    PCA_OK) {
		pca_err_clear();
		return;
	}
	if (facts_of(&c, &f))
		(void)check_cert(r, (uint32_t)ca, &f, util_now(), 0);
	store_cert_clear(&c);
}

/*
 * Our cursor, recorded at most once a second: a restart resumes the feed
 * from it (a change after it is applied again, which is harmless).
 */
static void
feed_ack(struct ocsp_responder *r, int64_t now)
{
	if (r->feed_seq == r->feed_acked || now - r->feed_ack_at < 1)
		return;
	r->feed_ack_at = now;
	if (store_feed_ack(r->store, OCSP_FEED_NAME, r->feed_seq) != PCA_OK) {
		log_warnx("OCSP: recording the change feed cursor: %s",
		    pca_err_msg());
		pca_err_clear();
		return;
	}
	r->feed_acked = r->feed_seq;
}

/* One batch of the feed (at most WORK_MAX records); 1 when more wait. */
static int
feed_batch(struct ocsp_responder *r)
{
	struct feed f = {NULL, 0, 0, 0, 0};
	struct store_feed_pos pos;
	size_t i;

	if (store_changes_after(r->store, r->feed_seq, WORK_MAX, feed_cb, &f,
		&pos) != PCA_OK) {
		log_warnx("OCSP: reading the change feed: %s", pca_err_msg());
		pca_err_clear();
		pos.more = 0;
	} else {
		r->feed_seq = pos.last;
		/* records we never read were pruned: walk everything */
		f.overflow |= pos.gap;
	}
	if (f.ca_dirty || f.overflow)
		r->ca_dirty = 1;
	if (r->ca_dirty)
		ca_sync_all(r);
	if (f.overflow)
		unsync_all(r);
	for (i = 0; i < f.n && !f.overflow; i++)
		refresh_serial(r, &f.w[i]);
	free(f.w);
	return pos.more && !f.overflow;
}

static void
feed_poll(struct ocsp_responder *r)
{
	while (feed_batch(r) && !r->stop)
		;
	feed_ack(r, util_now());
}

/* ---- due responses: the index in producedAt order ---- */

struct due {
	int64_t produced[CHUNK];
	char uuid[CHUNK][37];
	uint8_t sn[CHUNK][LIM_SERIAL_BYTES];
	size_t n[CHUNK];
	size_t cnt;
	int64_t upto; /* producedAt <= upto (INT64_MAX: any) */
	int full;
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
due_cb(const char *key, const uint8_t *v, size_t vl, void *arg)
{
	struct due *d = arg;
	size_t kl = strlen(key), i, hl;
	uint64_t t = 0;
	int hi, lo;

	(void)v;
	(void)vl;
	if (kl < 16 + 1 + 36 + 1 + 2 || key[16] != '/' || key[53] != '/')
		return 0; /* not ours: skipped */
	for (i = 0; i < 16; i++) {
		if ((hi = hexval(key[i])) < 0)
			return 0;
		t = t << 4 | (unsigned)hi;
	}
	if ((int64_t)t > d->upto)
		return 1;
	hl = kl - 54;
	if (hl % 2 || hl / 2 > LIM_SERIAL_BYTES)
		return 0;
	for (i = 0; i < hl / 2; i++) {
		if ((hi = hexval(key[54 + 2 * i])) < 0 ||
		    (lo = hexval(key[55 + 2 * i])) < 0)
			return 0;
		d->sn[d->cnt][i] = (uint8_t)(hi << 4 | lo);
	}
	d->n[d->cnt] = hl / 2;
	memcpy(d->uuid[d->cnt], key + 17, 36);
	d->uuid[d->cnt][36] = '\0';
	d->produced[d->cnt] = (int64_t)t;
	if (++d->cnt == CHUNK) {
		d->full = 1;
		return 1;
	}
	return 0;
}

/* One index entry: re-sign, drop (expired, gone, CA not serving) or skip. */
static int
due_one(struct ocsp_responder *r, const struct due *d, size_t i, int64_t now)
{
	struct store_cert c;
	struct facts f;
	struct ocsp_crec o;
	char kd[128];
	long ca = ocsp_table_ca_by_uuid(&r->t, d->uuid[i]);
	struct store_kv_op op = {OCSP_KV_DUE, kd, NULL, 0, 1};
	pca_err err;
	int left = 0;

	if (!rec_head(r, d->uuid[i], d->sn[i], d->n[i], 0, &o) ||
	    o.produced != d->produced[i]) {
		/* a stale index entry */
		due_key(d->produced[i], d->uuid[i], d->sn[i], d->n[i], kd,
		    sizeof(kd));
		if (store_kv_batch(r->store, &op, 1) != PCA_OK)
			pca_err_clear();
		return 0;
	}
	if (ca >= 0 && r->t.cas[ca].serve &&
	    ocsp_signer_future(r->t.cas[ca].signer, now)) {
		if (now - r->ca_synced >= RETRY_S || r->ca_synced > now)
			r->ca_dirty = 1;
		return 1;
	}
	err = store_cert_get(r->store, d->uuid[i], d->sn[i], d->n[i], &c);
	if (err != PCA_OK && err != PCA_ENOTFOUND) {
		pca_err_clear();
		return 1;
	}
	pca_err_clear();
	if (err == PCA_OK && ca < 0) {
		/* a CA we could not read (yet): left alone, never dropped */
		store_cert_clear(&c);
		return 1;
	}
	if (err == PCA_ENOTFOUND || !r->t.cas[ca].serve || !facts_of(&c, &f))
		remove_cert(r, ca, d->uuid[i], d->sn[i], d->n[i], &o);
	else
		left = check_cert(r, (uint32_t)ca, &f, now, 1);
	if (err == PCA_OK)
		store_cert_clear(&c);
	return left;
}

/*
 * Walks the index from "from" (hex producedAt; "" for the start) while
 * producedAt <= upto, at most STEP_MAX entries.  Returns the number still
 * due (failed); sets r->more when it stopped early.
 */
static size_t
due_walk(struct ocsp_responder *r, const char *from, int64_t upto, int64_t now)
{
	struct due *d = malloc(sizeof(*d));
	size_t i, failed = 0, done = 0;
	char start[24];

	if (d == NULL)
		return 1;
	(void)snprintf(start, sizeof(start), "%s", from);
	do {
		d->cnt = 0;
		d->full = 0;
		d->upto = upto;
		if (store_kv_foreach_from(r->store, OCSP_KV_DUE, start, due_cb,
			d) != PCA_OK) {
			log_warnx("OCSP: reading the refresh index: %s",
			    pca_err_msg());
			pca_err_clear();
			failed++;
			break;
		}
		for (i = 0; i < d->cnt && !r->stop; i++)
			failed += (size_t)due_one(r, d, i, now);
		done += d->cnt;
		/* failures stay in place: go on after them */
		if (d->cnt > 0)
			(void)snprintf(start, sizeof(start), "%016llx",
			    (unsigned long long)d->produced[d->cnt - 1]);
	} while (d->full && failed < CHUNK && done < STEP_MAX && !r->stop);
	if (d->full && !r->stop)
		r->more = 1;
	free(d);
	return failed;
}

static int
oldest_cb(const char *key, const uint8_t *v, size_t vl, void *arg)
{
	struct due *d = arg;

	d->upto = INT64_MAX;
	d->cnt = 0;
	(void)due_cb(key, v, vl, d);
	return 1;
}

/* producedAt of the index head, for the metrics. */
static void
oldest_read(struct ocsp_responder *r)
{
	struct due *d = malloc(sizeof(*d));

	if (d == NULL)
		return;
	d->cnt = 0;
	if (store_kv_foreach(r->store, OCSP_KV_DUE, oldest_cb, d) != PCA_OK)
		pca_err_clear();
	atomic_store(&r->oldest, d->cnt ? d->produced[0] : 0);
	free(d);
}

/*
 * Re-signs what is due (producedAt + refresh <= now) and, on start or after
 * the clock stepped back, what was signed in the future.  Returns the
 * number still due (failed) afterwards.
 */
static size_t
due_scan(struct ocsp_responder *r, int64_t now)
{
	int64_t d = ocsp_refresh_at(&r->conf, 0);
	size_t failed = 0;
	char from[24];

	if (r->future_scan) {
		(void)snprintf(from, sizeof(from), "%016llx",
		    (unsigned long long)(now + OCSP_SKEW_S + 1));
		failed += due_walk(r, from, INT64_MAX, now);
		if (!r->more && failed == 0)
			r->future_scan = 0;
	}
	failed += due_walk(r, "", now - d, now);
	oldest_read(r);
	return failed;
}

/* ---- the thread ---- */

void
ocsp_refresher_wake(struct ocsp_responder *r)
{
	pthread_mutex_lock(&r->mu);
	r->wake = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/*
 * The refresher's condition variable times out on the monotonic clock: a
 * wait begun just before the wall clock steps back must not last until the
 * wall clock is back where it was.  (Should that clock be refused, the wall
 * clock it is.)
 */
void
ocsp_refresher_cond_init(struct ocsp_responder *r)
{
	pthread_condattr_t a;

	r->cv_clock = CLOCK_MONOTONIC;
	if (pthread_condattr_init(&a) != 0) {
		r->cv_clock = CLOCK_REALTIME;
		pthread_cond_init(&r->cv, NULL);
		return;
	}
	if (pthread_condattr_setclock(&a, CLOCK_MONOTONIC) != 0)
		r->cv_clock = CLOCK_REALTIME;
	pthread_cond_init(&r->cv, &a);
	(void)pthread_condattr_destroy(&a);
}

/* Sleeps until woken, stopped or OCSP_POLL_MS passed; 0 when stopping. */
static int
nap(struct ocsp_responder *r)
{
	struct timespec ts;
	int go;

	clock_gettime(r->cv_clock, &ts);
	ts.tv_nsec += OCSP_POLL_MS * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&r->mu);
	while (!r->wake && !r->stop &&
	       pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0)
		;
	r->wake = 0;
	go = !r->stop;
	pthread_mutex_unlock(&r->mu);
	return go;
}

static void
set_ready(struct ocsp_responder *r, int ready)
{
	pthread_mutex_lock(&r->mu);
	r->ready = ready;
	pthread_cond_broadcast(&r->ready_cv);
	pthread_mutex_unlock(&r->mu);
}

/*
 * The feed from our recorded cursor: what changed while we were not
 * running is applied now.  (A CA without its sync mark walks all its
 * certificates; a gap in the feed unmarks them all.)
 */
static void
feed_start(struct ocsp_responder *r)
{
	uint64_t cur = 0;

	count_load(r);
	if (store_feed_follow(r->store, OCSP_FEED_NAME, &cur) != PCA_OK) {
		log_warnx("OCSP: following the change feed: %s", pca_err_msg());
		pca_err_clear();
		if (store_feed_head(r->store, &cur) != PCA_OK)
			pca_err_clear();
	}
	r->feed_seq = cur;
	r->feed_acked = cur;
	r->future_scan = 1;
}

void *
ocsp_refresher_main(void *arg)
{
	struct ocsp_responder *r = arg;
	int64_t now;
	size_t left;

	pthread_mutex_lock(&r->emu);
	feed_start(r);
	ca_sync_all(r);
	pthread_mutex_unlock(&r->emu);
	do {
		pthread_mutex_lock(&r->emu);
		now = util_now();
		if (r->ca_retry && now - r->ca_synced >= RETRY_S)
			r->ca_dirty = 1;
		/* also when the clock stepped back past the last sync */
		if (now - r->ca_synced >= CA_RESYNC_S || now < r->ca_synced)
			r->ca_dirty = 1;
		if (now < r->last_scan)
			r->future_scan = 1; /* the clock stepped back */
		feed_poll(r);
		left = 1;
		if (now != r->last_scan || r->more) {
			r->last_scan = now;
			r->more = 0;
			left = sync_all(r, now);
			left += due_scan(r, now);
		}
		pthread_mutex_unlock(&r->emu);
		if (left == 0 && !r->ca_retry && !r->more)
			set_ready(r, 1);
	} while (r->more ? !r->stop : nap(r));
	return NULL;
}
