/*
 * refresh.c - the refresher thread: keeps a signed response for every live
 * certificate.  It is the only thread that changes the table's structure
 * or the CA signers, so it reads them without a lock and takes the write
 * lock only to publish.  It follows the store's change feed (every
 * issuance, revocation and CA change, by pcad or by pcactl, is a typed
 * record there): the engine listener only wakes it early.
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

#define RETRY_S 5		/* after a failed signature */
#define CA_RESYNC_S 60		/* signer rollover check */
#define WORK_MAX 100000		/* feed records per batch */
#define REC_MAGIC 0x4f435231u	/* "OCR1" */
#define REC_HDR 32

/* ---- stored responses: magic, status, produced, next, revoked_at ---- */

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

static void
kv_key(const char *uuid, const uint8_t *serial, size_t n, int h, char *k,
    size_t kl)
{
	char hex[2 * LIM_SERIAL_BYTES + 1];

	util_hex(serial, n, hex, sizeof(hex), 0);
	(void)snprintf(k, kl, "%s/%s/%d", uuid, hex, h ? 256 : 1);
}

static void
persist(struct ocsp_responder *r, const char *uuid,
    const struct ocsp_entry *e, struct ocsp_blob *const b[2])
{
	uint8_t *v;
	char k[128];
	int h;

	for (h = 0; h < 2; h++) {
		if (b[h] == NULL || (v = malloc(REC_HDR + b[h]->len)) == NULL)
			continue;
		be64(v, ((uint64_t)REC_MAGIC << 32) | (unsigned)e->status);
		be64(v + 8, (uint64_t)b[h]->produced);
		be64(v + 16, (uint64_t)b[h]->next_update);
		be64(v + 24, (uint64_t)e->revoked_at);
		memcpy(v + REC_HDR, b[h]->der, b[h]->len);
		kv_key(uuid, e->serial, e->serial_len, h, k, sizeof(k));
		if (store_kv_put(r->store, OCSP_KV_RESP, k, v,
			REC_HDR + b[h]->len, 0) != PCA_OK) {
			log_warnx("OCSP: storing the response for %s: %s", k,
			    pca_err_msg());
			pca_err_clear();
		}
		free(v);
	}
}

/* A stored response still valid for the entry's status, or NULL. */
static struct ocsp_blob *
stored(struct ocsp_responder *r, const char *uuid, const struct ocsp_entry *e,
    int h, int64_t now)
{
	uint8_t *v = NULL;
	size_t n;
	char k[128];
	struct ocsp_blob *b = NULL;
	uint64_t m;

	kv_key(uuid, e->serial, e->serial_len, h, k, sizeof(k));
	if (store_kv_get(r->store, OCSP_KV_RESP, k, &v, &n) != PCA_OK) {
		pca_err_clear();
		return NULL;
	}
	if (n > REC_HDR) {
		m = get64(v);
		/* signed before the clock stepped back: signed again */
		if ((m >> 32) == REC_MAGIC && (m & 0xff) == e->status &&
		    (int64_t)get64(v + 24) == e->revoked_at &&
		    (int64_t)get64(v + 16) > now &&
		    (int64_t)get64(v + 8) <= now + OCSP_SKEW_S)
			b = ocsp_blob_new(v + REC_HDR, n - REC_HDR,
			    (int64_t)get64(v + 8), (int64_t)get64(v + 16));
	}
	free(v);
	return b;
}

static void
unpersist(struct ocsp_responder *r, const char *uuid,
    const struct ocsp_entry *e)
{
	char k[128];
	int h;

	for (h = 0; h < 2; h++) {
		kv_key(uuid, e->serial, e->serial_len, h, k, sizeof(k));
		if (store_kv_del(r->store, OCSP_KV_RESP, k) != PCA_OK)
			pca_err_clear();
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

/* ---- signing one entry ---- */

static void
certid_for(const struct ocsp_ca *ca, int h, const struct ocsp_entry *e,
    struct ocsp_certid *id)
{
	memset(id, 0, sizeof(*id));
	id->hash = (enum ocsp_hash)h;
	memcpy(id->name_hash, ca->name_hash[h], 32);
	memcpy(id->key_hash, ca->key_hash[h], 32);
	if (e->serial[0] & 0x80)
		id->serial_len = 1; /* leading 0x00: positive INTEGER */
	memcpy(id->serial + id->serial_len, e->serial, e->serial_len);
	id->serial_len += e->serial_len;
}

/*
 * Signs both responses of e and publishes them.  PCA_EUNAVAIL when the
 * token is down (e stays as it was and is retried later).
 */
static pca_err
sign_entry(struct ocsp_responder *r, struct ocsp_entry *e)
{
	struct ocsp_ca *ca = &r->t.cas[e->ca];
	struct ocsp_blob *nb[2] = {NULL, NULL}, *old[2];
	struct ocsp_certid id;
	struct ocsp_single s;
	uint8_t *der = NULL;
	size_t len;
	int64_t now = util_now();
	pca_err err = PCA_OK;
	int h;

	if (ca->signer == NULL)
		return pca_err_set(PCA_EUNAVAIL, "no OCSP signer for %s",
		    ca->uuid);
	memset(&s, 0, sizeof(s));
	s.id = &id;
	s.status = e->status;
	s.revoked_at = e->revoked_at;
	s.reason = e->reason;
	s.this_update = now;
	s.next_update = now + r->conf.validity_s;
	if (s.next_update > ca->signer->not_after)
		s.next_update = ca->signer->not_after;
	for (h = 0; h < 2 && err == PCA_OK; h++) {
		certid_for(ca, h, e, &id);
		atomic_fetch_add(&r->m.signs, 1);
		if ((err = ocsp_resp_sign(r->hsm, ca->signer, now, &s, 1, NULL,
			 0, &der, &len)) != PCA_OK)
			break;
		if ((nb[h] = ocsp_blob_new(der, len, now, s.next_update)) ==
		    NULL)
			err = pca_err_set(PCA_ENOMEM, "no memory");
		free(der);
	}
	if (err != PCA_OK) {
		atomic_fetch_add(&r->m.sign_errors, 1);
		free(nb[0]);
		free(nb[1]);
		e->due = now + RETRY_S;
		return err;
	}
	pthread_rwlock_wrlock(&r->t.lk);
	old[0] = e->resp[0];
	old[1] = e->resp[1];
	e->resp[0] = nb[0];
	e->resp[1] = nb[1];
	e->due = ocsp_refresh_at(&r->conf, now);
	pthread_rwlock_unlock(&r->t.lk);
	free(old[0]);
	free(old[1]);
	atomic_fetch_add(&r->m.refreshed, 1);
	persist(r, ca->uuid, e, nb);
	return PCA_OK;
}

/* ---- entries from store records ---- */

/*
 * Creates or updates the entry of a certificate record (status, expiry).
 * *changed: its signed status differs from the record's.  NULL when the
 * record is not one to answer for (PENDING, expired and not revoked).
 */
static struct ocsp_entry *
upsert(struct ocsp_responder *r, uint32_t ca, const struct store_cert *c,
    int64_t now, int *changed)
{
	const uint8_t *sn = c->serial;
	size_t n = c->serial_len;
	struct ocsp_entry *e;
	enum ocsp_status st = c->revoked ? OCSP_REVOKED : OCSP_GOOD;

	*changed = 0;
	while (n > 1 && *sn == 0) /* a store serial is a magnitude */
		sn++, n--;
	if (n == 0 || n > LIM_SERIAL_BYTES || c->state != STORE_CERT_ISSUED ||
	    (!c->revoked && c->not_after < now))
		return NULL;
	if ((e = ocsp_table_get(&r->t, ca, sn, n)) != NULL) {
		*changed = e->status != st || e->revoked_at != c->revoked_at;
		if (*changed) {
			pthread_rwlock_wrlock(&r->t.lk);
			e->status = st;
			e->revoked_at = c->revoked ? c->revoked_at : 0;
			e->reason = c->revoked ? c->reason : 0;
			e->due = now;
			pthread_rwlock_unlock(&r->t.lk);
		}
		return e;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->ca = ca;
	e->serial_len = (uint8_t)n;
	memcpy(e->serial, sn, n);
	e->status = st;
	e->not_after = c->not_after;
	e->revoked_at = c->revoked ? c->revoked_at : 0;
	e->reason = c->revoked ? c->reason : 0;
	e->resp[0] = stored(r, r->t.cas[ca].uuid, e, 0, now);
	e->resp[1] = stored(r, r->t.cas[ca].uuid, e, 1, now);
	e->due = e->resp[0] && e->resp[1]
		     ? ocsp_refresh_at(&r->conf, e->resp[0]->produced)
		     : now;
	*changed = e->resp[0] == NULL || e->resp[1] == NULL;
	pthread_rwlock_wrlock(&r->t.lk);
	if (ocsp_table_put(&r->t, e) != PCA_OK) {
		pthread_rwlock_unlock(&r->t.lk);
		free(e->resp[0]);
		free(e->resp[1]);
		free(e);
		return NULL;
	}
	pthread_rwlock_unlock(&r->t.lk);
	return e;
}

struct load_arg {
	struct ocsp_responder *r;
	uint32_t ca;
	int64_t now;
	struct store_cert *recs;
	size_t n, cap, pos;
};

/* LMDB key order: memcmp, then the shorter first. */
static int
serial_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	return c ? c : (an > bn) - (an < bn);
}

static int
load_cert_cb(const struct store_cert *c, void *arg)
{
	struct load_arg *a = arg;
	struct store_cert *nr;

	if (c->state != STORE_CERT_ISSUED)
		return 0;
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 256;
		if ((nr = realloc(a->recs, a->cap * sizeof(*nr))) == NULL)
			return 1;
		a->recs = nr;
	}
	memset(&a->recs[a->n], 0, sizeof(*nr));
	memcpy(a->recs[a->n].serial, c->serial, c->serial_len);
	a->recs[a->n].serial_len = c->serial_len;
	a->recs[a->n].state = c->state;
	a->recs[a->n].not_after = c->not_after;
	a->n++;
	return 0;
}

static int
load_rev_cb(const uint8_t *serial, size_t n, int64_t when, int reason,
    void *arg)
{
	struct load_arg *a = arg;
	struct store_cert *c;

	/* both lists come in key order: merge */
	while (a->pos < a->n && serial_cmp(a->recs[a->pos].serial,
				    a->recs[a->pos].serial_len, serial, n) < 0)
		a->pos++;
	if (a->pos < a->n && serial_cmp(a->recs[a->pos].serial,
				 a->recs[a->pos].serial_len, serial, n) == 0) {
		c = &a->recs[a->pos];
		c->revoked = 1;
		c->revoked_at = when;
		c->reason = reason;
	}
	return 0;
}

/* Every issued certificate of the CA into the table. */
static pca_err
load_ca(struct ocsp_responder *r, uint32_t ca)
{
	struct load_arg a = {r, ca, util_now(), NULL, 0, 0, 0};
	const char *uuid = r->t.cas[ca].uuid;
	size_t i;
	int changed;
	pca_err err;

	if ((err = store_cert_foreach(r->store, uuid, load_cert_cb, &a)) ==
		PCA_OK &&
	    (err = store_revoked_foreach(r->store, uuid, load_rev_cb, &a)) ==
		PCA_OK)
		for (i = 0; i < a.n; i++)
			(void)upsert(r, ca, &a.recs[i], a.now, &changed);
	free(a.recs);
	if (err == PCA_OK)
		r->t.cas[ca].loaded = 1;
	return err;
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

	return ci->cert_der != NULL && json_is_true(json_object_get(o,
					   "Enabled")) &&
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
	if ((err = ocsp_signer_delegated(&x, ci, cur->not_after, &s)) ==
	    PCA_OK)
		return s;
	if (err != PCA_EUNAVAIL && ocsp_signer_ca(ci, cur->not_after, &s) ==
	    PCA_OK) {
		log_warnx("OCSP: no delegated signer for CA %s (%s); the CA "
			  "key signs", ci->uuid, pca_err_msg());
		pca_err_clear();
		return s;
	}
	log_warnx("OCSP: no signer for CA %s yet: %s", ci->uuid,
	    pca_err_msg());
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
	serve = ca_serves(&ci) &&
		ca_hashes(ci.cert_der, ci.cert_len, &h) == PCA_OK;
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
	if (serve && !c->loaded && load_ca(r, (uint32_t)i) != PCA_OK) {
		log_warnx("OCSP: loading CA %s: %s", uuid, pca_err_msg());
		pca_err_clear();
		retry = 1;
	}
out:
	ca_info_clear(&ci);
	return retry;
}

static void
ca_sync_all(struct ocsp_responder *r)
{
	char (*ids)[37] = NULL;
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
		if ((w = realloc(f->w, (f->cap ? 2 * f->cap : 64) *
				       sizeof(*w))) == NULL) {
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
	struct ocsp_entry *e;
	long ca = ocsp_table_ca_by_uuid(&r->t, w->uuid);
	int changed;

	if (ca < 0 || !r->t.cas[ca].serve || !r->t.cas[ca].loaded)
		return;
	if (store_cert_get(r->store, w->uuid, w->serial, w->serial_len, &c) !=
	    PCA_OK) {
		pca_err_clear();
		return;
	}
	e = upsert(r, (uint32_t)ca, &c, util_now(), &changed);
	if (e != NULL && changed && sign_entry(r, e) != PCA_OK) {
		log_warnx("OCSP: signing for serial of CA %s: %s", w->uuid,
		    pca_err_msg());
		pca_err_clear();
	}
	store_cert_clear(&c);
}

/*
 * Our cursor, recorded at most once a second: it only holds back the
 * feed's pruning (a restart reloads every certificate anyway).
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
	size_t i, k;

	if (store_changes_after(r->store, r->feed_seq, WORK_MAX, feed_cb, &f,
		&pos) != PCA_OK) {
		log_warnx("OCSP: reading the change feed: %s", pca_err_msg());
		pca_err_clear();
		pos.more = 0;
	} else {
		r->feed_seq = pos.last;
		/* records we never read were pruned: reload everything */
		f.overflow |= pos.gap;
	}
	if (f.ca_dirty || f.overflow)
		r->ca_dirty = 1;
	if (r->ca_dirty)
		ca_sync_all(r);
	if (f.overflow)
		for (k = 0; k < r->t.ncas; k++)
			if (r->t.cas[k].serve && load_ca(r, (uint32_t)k) !=
			    PCA_OK)
				pca_err_clear();
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

/* ---- due responses ---- */

static int
push(struct ocsp_entry ***v, size_t *n, size_t *cap, struct ocsp_entry *e)
{
	size_t nc;
	void *p;

	if (*n == *cap) {
		nc = *cap ? 2 * *cap : 64;
		if ((p = realloc(*v, nc * sizeof(**v))) == NULL)
			return 0;
		*v = p;
		*cap = nc;
	}
	(*v)[(*n)++] = e;
	return 1;
}

/* Signed under a clock that has since stepped back (producedAt ahead). */
static int
future(const struct ocsp_entry *e, int64_t now)
{
	return (e->resp[0] != NULL &&
		   e->resp[0]->produced > now + OCSP_SKEW_S) ||
	    (e->resp[1] != NULL && e->resp[1]->produced > now + OCSP_SKEW_S);
}

/*
 * The CA's delegated signer was issued under a clock that has since stepped
 * back (not valid yet): nothing is signed with it; the next CA sync, asked
 * for here, replaces it.
 */
static int
signer_wait(struct ocsp_responder *r, uint32_t ca, int64_t now)
{
	const struct ocsp_signer *s = r->t.cas[ca].signer;

	if (s == NULL || !ocsp_signer_future(s, now))
		return 0;
	if (now - r->ca_synced >= RETRY_S || r->ca_synced > now)
		r->ca_dirty = 1;
	return 1;
}

/*
 * Re-signs every entry due by now, or signed in the future; drops entries
 * of certificates that expired unrevoked.  Returns the number still due
 * (failed) afterwards.
 */
static size_t
due_scan(struct ocsp_responder *r)
{
	struct ocsp_entry *e, **due = NULL, **gone = NULL;
	size_t nd = 0, ng = 0, cap = 0, capg = 0, i, failed = 0;
	int64_t now = util_now();
	int ok = 1;

	for (i = 0; i < r->t.nb && ok; i++)
		for (e = r->t.b[i]; e != NULL && ok; e = e->next) {
			if (e->status == OCSP_GOOD && e->not_after < now)
				ok = push(&gone, &ng, &capg, e);
			else if ((e->due <= now || future(e, now)) &&
			    r->t.cas[e->ca].serve && !signer_wait(r, e->ca, now))
				ok = push(&due, &nd, &cap, e);
		}
	for (i = 0; i < nd && !r->stop; i++)
		if (sign_entry(r, due[i]) != PCA_OK) {
			failed++;
			pca_err_clear();
		}
	for (i = 0; i < ng; i++) {
		unpersist(r, r->t.cas[gone[i]->ca].uuid, gone[i]);
		pthread_rwlock_wrlock(&r->t.lk);
		ocsp_table_del(&r->t, gone[i]);
		pthread_rwlock_unlock(&r->t.lk);
	}
	free(due);
	free(gone);
	return failed + (nd > i ? nd - i : 0);
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
 * The feed position before the first load: a change after it is both in
 * the load and in the feed, and applying it twice is harmless.
 */
static void
feed_start(struct ocsp_responder *r)
{
	if (store_feed_follow(r->store, OCSP_FEED_NAME, NULL) != PCA_OK ||
	    store_feed_head(r->store, &r->feed_seq) != PCA_OK) {
		log_warnx("OCSP: following the change feed: %s",
		    pca_err_msg());
		pca_err_clear();
	}
	r->feed_acked = 0;
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
		feed_poll(r);
		left = 1;
		if (now != r->last_scan) {
			r->last_scan = now;
			left = due_scan(r);
		}
		pthread_mutex_unlock(&r->emu);
		if (left == 0 && !r->ca_retry)
			set_ready(r, 1);
	} while (nap(r));
	return NULL;
}
