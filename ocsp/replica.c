/*
 * replica.c - the responder role (pcad --role responder): answers OCSP and
 * serves CRLs from the layout publish.c writes to S3, never signs, never
 * touches the issuing store.  Answers are kept in a local store (kv records
 * "rc-ocsp" <CA id>/<0|1>/<serial hex>, "rc-crl" <key>, "rc-seq" <CA id>),
 * which survives restarts and S3 outages.
 *
 * A thread reads every CA's manifest each poll_ms: a status change listed
 * there (seq above the one applied) marks the certificate's cached answers
 * as needing one produced at or after the change (min_produced), and they
 * are fetched again at once; a gap (more changes than a manifest lists, or
 * a sequence that went back) drops the CA's cached answers.  An answer is
 * fetched again after half its validity; a serial S3 does not have is
 * remembered for REPLICA_NEG_S.  While S3 is unreachable the answers held
 * (before their nextUpdate) are served and /health says "degraded".
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/ocsp.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../http/http.h"
#include "ocsp_int.h"

#define NS_OCSP "rc-ocsp"
#define NS_CRL "rc-crl"
#define NS_SEQ "rc-seq"
#define REPLICA_MAX_CAS 256
#define REPLICA_NEG_S 3              /* a serial S3 lacks, remembered */
#define REPLICA_CRL_S 2              /* a CRL is fetched again after */
#define REPLICA_OBJ_MAX (256 * 1024) /* an OCSP answer or a manifest */
#define REPLICA_CRL_MAX ((size_t)64 << 20)
#define REC_HDR 32
#define WIPE_BATCH 512

struct rca {
	char uuid[37];
	uint8_t nh[2][32], kh[2][32];
	uint64_t seq; /* last change applied */
	int seen;     /* seq is known */
};

struct ocsp_replica {
	struct ocsp_replica_conf conf;
	char bucket[64], prefix[48], crl_bucket[64];
	struct store *cache;
	pthread_rwlock_t lk; /* cas */
	struct rca cas[REPLICA_MAX_CAS];
	size_t ncas;
	pthread_mutex_t mu; /* stop */
	pthread_cond_t cv;
	int stop, started;
	pthread_t thr;
	_Atomic int s3_ok;
	_Atomic int64_t last_ok;
	_Atomic uint64_t from_cache, from_s3, stale, later, unauth, fetch_err;
	char get_path[128];
};

/* A cached answer: fetched, producedAt, nextUpdate, min_produced, DER. */
struct rrec {
	int64_t fetched, produced, next, min;
	uint8_t *der; /* malloc'd or NULL: S3 had none */
	size_t len;
};

static void
put64(uint8_t *p, int64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v = (int64_t)((uint64_t)v >> 8))
		p[i] = (uint8_t)v;
}

static int64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

static void
ckey(const char *uuid, int h, const uint8_t *sn, size_t n, char *out,
    size_t outlen)
{
	char hex[2 * LIM_SERIAL_BYTES + 1];

	(void)util_hex(sn, n, hex, sizeof(hex), 0);
	(void)snprintf(out, outlen, "%s/%d/%s", uuid, h, hex);
}

/* 1 when found (rec filled; caller frees rec->der). */
static int
rec_get(struct ocsp_replica *rp, const char *k, struct rrec *rec)
{
	uint8_t *v = NULL;
	size_t n = 0;

	memset(rec, 0, sizeof(*rec));
	if (store_kv_get(rp->cache, NS_OCSP, k, &v, &n) != PCA_OK ||
	    n < REC_HDR) {
		pca_err_clear();
		free(v);
		return 0;
	}
	rec->fetched = get64(v);
	rec->produced = get64(v + 8);
	rec->next = get64(v + 16);
	rec->min = get64(v + 24);
	rec->len = n - REC_HDR;
	if (rec->len > 0) {
		memmove(v, v + REC_HDR, rec->len);
		rec->der = v;
	} else
		free(v);
	return 1;
}

static void
rec_put(struct ocsp_replica *rp, const char *k, const struct rrec *rec)
{
	uint8_t *v = malloc(REC_HDR + rec->len);

	if (v == NULL)
		return;
	put64(v, rec->fetched);
	put64(v + 8, rec->produced);
	put64(v + 16, rec->next);
	put64(v + 24, rec->min);
	if (rec->len > 0)
		memcpy(v + REC_HDR, rec->der, rec->len);
	if (store_kv_put(rp->cache, NS_OCSP, k, v, REC_HDR + rec->len, 0) !=
	    PCA_OK) {
		log_warnx("responder: cache: %s", pca_err_msg());
		pca_err_clear();
	}
	free(v);
}

static int64_t
asn1_secs(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

/* producedAt and nextUpdate of a successful response; 0: not one. */
static int
resp_times(const uint8_t *p, size_t n, int64_t *produced, int64_t *next)
{
	const unsigned char *q = p;
	OCSP_RESPONSE *rsp = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_SINGLERESP *sr;
	ASN1_GENERALIZEDTIME *rev = NULL, *tu = NULL, *nu = NULL;
	int reason, ok = 0;

	if (n > REPLICA_OBJ_MAX ||
	    (rsp = d2i_OCSP_RESPONSE(NULL, &q, (long)n)) == NULL ||
	    q != p + n ||
	    OCSP_response_status(rsp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    (bs = OCSP_response_get1_basic(rsp)) == NULL ||
	    (sr = OCSP_resp_get0(bs, 0)) == NULL ||
	    OCSP_single_get0_status(sr, &reason, &rev, &tu, &nu) < 0)
		goto out;
	*produced = asn1_secs(OCSP_resp_get0_produced_at(bs));
	*next = nu != NULL ? asn1_secs(nu) : *produced + 3600;
	ok = *produced >= 0 && *next > *produced;
out:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(rsp);
	return ok;
}

enum fetch_res { FETCH_OK, FETCH_NONE, FETCH_ERR };

static enum fetch_res
fetch(struct ocsp_replica *rp, const char *bucket, const char *key, size_t max,
    struct buf *out)
{
	pca_err e;

	buf_init(out, max);
	e = rp->conf.fetch(rp->conf.arg, bucket, key, out);
	if (e == PCA_OK) {
		atomic_store(&rp->s3_ok, 1);
		atomic_store(&rp->last_ok, util_now());
		return FETCH_OK;
	}
	buf_free(out);
	if (e == PCA_ENOTFOUND) {
		pca_err_clear();
		return FETCH_NONE;
	}
	log_debug("responder: %s", pca_err_msg());
	pca_err_clear();
	atomic_fetch_add(&rp->fetch_err, 1);
	atomic_store(&rp->s3_ok, 0);
	return FETCH_ERR;
}

/* ---- answering one CertID ---- */

enum answer { A_DER, A_UNAUTH, A_LATER };

struct lookup {
	const char *uuid;
	const uint8_t *nh, *kh;
	enum ocsp_hash h;
	const uint8_t *sn;
	size_t n;
};

/* Fetches the S3 answer for l into rec (its min kept); the outcome. */
static enum answer
refetch(struct ocsp_replica *rp, const struct lookup *l, const char *ck,
    struct rrec *rec, int usable)
{
	char key[STORE_OBJ_KEY_MAX + 1];
	struct rrec nr;
	struct buf b;
	int64_t now = util_now();

	ocsp_pub_key(rp->prefix, l->h, l->nh, l->kh, l->sn, l->n, key,
	    sizeof(key));
	switch (fetch(rp, rp->bucket, key, REPLICA_OBJ_MAX, &b)) {
	case FETCH_OK:
		memset(&nr, 0, sizeof(nr));
		if (!resp_times(b.p, b.len, &nr.produced, &nr.next)) {
			log_warnx("responder: s3://%s/%s is no OCSP response",
			    rp->bucket, key);
			buf_free(&b);
			return usable ? A_DER : A_LATER;
		}
		if (nr.produced < rec->min || nr.next <= now) {
			/* S3 has not caught up with the manifest yet */
			buf_free(&b);
			return usable ? A_DER : A_LATER;
		}
		nr.fetched = now;
		nr.min = rec->min;
		nr.der = b.p;
		nr.len = b.len;
		rec_put(rp, ck, &nr);
		free(rec->der);
		*rec = nr;
		atomic_fetch_add(&rp->from_s3, 1);
		return A_DER;
	case FETCH_NONE:
		if (usable)
			return A_DER;
		if (rec->min > 0)
			return A_LATER;
		free(rec->der);
		memset(rec, 0, sizeof(*rec));
		rec->fetched = now;
		rec_put(rp, ck, rec);
		return A_UNAUTH;
	case FETCH_ERR:
		break;
	}
	if (usable)
		atomic_fetch_add(&rp->stale, 1);
	return usable ? A_DER : A_LATER;
}

static enum answer
lookup(struct ocsp_replica *rp, const struct lookup *l, struct rrec *rec)
{
	char ck[128];
	int64_t now = util_now();
	int have, usable;

	ckey(l->uuid, (int)l->h, l->sn, l->n, ck, sizeof(ck));
	have = rec_get(rp, ck, rec);
	usable = have && rec->der != NULL && rec->produced >= rec->min &&
		 now < rec->next;
	if (usable && now < rec->produced + (rec->next - rec->produced) / 2) {
		atomic_fetch_add(&rp->from_cache, 1);
		return A_DER;
	}
	if (have && rec->der == NULL && rec->min == 0 &&
	    now < rec->fetched + REPLICA_NEG_S)
		return A_UNAUTH;
	return refetch(rp, l, ck, rec, usable);
}

static void
answer_err(struct ocsp_http_resp *o, enum ocsp_rstatus st)
{
	size_t n;
	const uint8_t *p = ocsp_resp_error(st, &n);

	o->status = 200;
	o->content_type = "application/ocsp-response";
	if ((o->body = malloc(n)) != NULL) {
		memcpy(o->body, p, n);
		o->len = n;
	}
}

/* The CA of a CertID (its uuid copied out); 0: none. */
static int
ca_of(struct ocsp_replica *rp, const struct ocsp_certid *id, char uuid[37],
    uint8_t nh[32], uint8_t kh[32])
{
	size_t i, hl = ocsp_hash_len(id->hash);
	int found = 0;

	pthread_rwlock_rdlock(&rp->lk);
	for (i = 0; i < rp->ncas && !found; i++)
		if (memcmp(rp->cas[i].nh[id->hash], id->name_hash, hl) == 0 &&
		    memcmp(rp->cas[i].kh[id->hash], id->key_hash, hl) == 0) {
			memcpy(uuid, rp->cas[i].uuid, 37);
			memcpy(nh, rp->cas[i].nh[id->hash], 32);
			memcpy(kh, rp->cas[i].kh[id->hash], 32);
			found = 1;
		}
	pthread_rwlock_unlock(&rp->lk);
	return found;
}

static void
answer(struct ocsp_replica *rp, const uint8_t *der, size_t len,
    struct ocsp_http_resp *o)
{
	struct ocsp_req q;
	struct rrec rec;
	struct lookup l;
	char uuid[37];
	uint8_t nh[32], kh[32];
	int64_t now = util_now();
	enum answer a;

	memset(o, 0, sizeof(*o));
	if (ocsp_req_parse(der, len, &q) != PCA_OK) {
		pca_err_clear();
		return answer_err(o, OCSP_R_MALFORMED);
	}
	/* one CertID per request: only pre-signed answers exist here */
	if (q.n != 1 || !ca_of(rp, &q.ids[0], uuid, nh, kh)) {
		atomic_fetch_add(&rp->unauth, 1);
		return answer_err(o, OCSP_R_UNAUTHORIZED);
	}
	l.uuid = uuid;
	l.nh = nh;
	l.kh = kh;
	l.h = q.ids[0].hash;
	if ((l.n = ocsp_serial_norm(q.ids[0].serial, q.ids[0].serial_len,
		 &l.sn)) == 0)
		return answer_err(o, OCSP_R_MALFORMED);
	a = lookup(rp, &l, &rec);
	if (a == A_UNAUTH) {
		atomic_fetch_add(&rp->unauth, 1);
		answer_err(o, OCSP_R_UNAUTHORIZED);
	} else if (a == A_LATER) {
		atomic_fetch_add(&rp->later, 1);
		answer_err(o, OCSP_R_TRYLATER);
	} else {
		o->status = 200;
		o->content_type = "application/ocsp-response";
		o->body = rec.der;
		o->len = rec.len;
		rec.der = NULL;
		o->nhdrs = 1;
		o->hdrs[0].name = "Cache-Control";
		(void)snprintf(o->hdrs[0].value, sizeof(o->hdrs[0].value),
		    "max-age=%lld, public, no-transform, must-revalidate",
		    (long long)(rec.next > now ? (rec.next - now) / 2 : 0));
	}
	free(rec.der);
}

/* ---- following the manifests ---- */

static int
hex_field(json_t *o, const char *h, const char *f, uint8_t *out, size_t n)
{
	const char *s =
	    json_string_value(json_object_get(json_object_get(o, h), f));
	size_t i;
	int a, b;

	if (s == NULL || strlen(s) != 2 * n)
		return 0;
	for (i = 0; i < n; i++) {
		if ((a = util_hexval((unsigned char)s[2 * i])) < 0 ||
		    (b = util_hexval((unsigned char)s[2 * i + 1])) < 0)
			return 0;
		out[i] = (uint8_t)(a << 4 | b);
	}
	return 1;
}

struct wipe {
	char prefix[40];
	char keys[WIPE_BATCH][128];
	size_t n;
};

static int
wipe_cb(const char *key, const uint8_t *v, size_t len, void *arg)
{
	struct wipe *w = arg;

	(void)v;
	(void)len;
	if (strncmp(key, w->prefix, strlen(w->prefix)) != 0)
		return 1;
	(void)snprintf(w->keys[w->n++], sizeof(w->keys[0]), "%s", key);
	return w->n == WIPE_BATCH;
}

/* Drops every cached answer of a CA (a gap in what the manifest lists). */
static void
ca_wipe(struct ocsp_replica *rp, const char *uuid)
{
	struct store_kv_op ops[WIPE_BATCH];
	struct wipe *w = calloc(1, sizeof(*w));
	size_t i, total = 0;

	if (w == NULL)
		return;
	(void)snprintf(w->prefix, sizeof(w->prefix), "%s/", uuid);
	do {
		w->n = 0;
		if (store_kv_foreach_from(rp->cache, NS_OCSP, w->prefix,
			wipe_cb, w) != PCA_OK)
			break;
		memset(ops, 0, sizeof(ops));
		for (i = 0; i < w->n; i++) {
			ops[i].ns = NS_OCSP;
			ops[i].key = w->keys[i];
			ops[i].del = 1;
		}
		if (w->n > 0 && store_kv_batch(rp->cache, ops, w->n) != PCA_OK)
			break;
		total += w->n;
	} while (w->n == WIPE_BATCH);
	if (total > 0)
		log_info("responder: CA %s: %zu cached answers dropped (gap in "
			 "the manifest)",
		    uuid, total);
	pca_err_clear();
	free(w);
}

static void
seq_store(struct ocsp_replica *rp, const char *uuid, uint64_t seq)
{
	uint8_t b[8];

	put64(b, (int64_t)seq);
	if (store_kv_put(rp->cache, NS_SEQ, uuid, b, 8, 0) != PCA_OK)
		pca_err_clear();
}

/* The slot of the CA (added when new, its recorded sequence loaded). */
static long
ca_slot(struct ocsp_replica *rp, const char *uuid, json_t *m)
{
	struct rca c;
	uint8_t *v = NULL;
	size_t i, n = 0;
	int h;

	for (i = 0; i < rp->ncas; i++)
		if (strcmp(rp->cas[i].uuid, uuid) == 0)
			return (long)i;
	if (rp->ncas == REPLICA_MAX_CAS || strlen(uuid) != 36)
		return -1;
	memset(&c, 0, sizeof(c));
	memcpy(c.uuid, uuid, 37);
	for (h = 0; h < 2; h++)
		if (!hex_field(m, h ? "sha256" : "sha1", "name_hash", c.nh[h],
			ocsp_hash_len(h)) ||
		    !hex_field(m, h ? "sha256" : "sha1", "key_hash", c.kh[h],
			ocsp_hash_len(h)))
			return -1;
	if (store_kv_get(rp->cache, NS_SEQ, uuid, &v, &n) == PCA_OK && n == 8) {
		c.seq = (uint64_t)get64(v);
		c.seen = 1;
	}
	pca_err_clear();
	free(v);
	pthread_rwlock_wrlock(&rp->lk);
	rp->cas[rp->ncas] = c;
	i = rp->ncas++;
	pthread_rwlock_unlock(&rp->lk);
	return (long)i;
}

/* A listed change: the serial's answers must be produced at or after it. */
static void
change_apply(struct ocsp_replica *rp, const struct rca *c, json_t *ch)
{
	const char *s = json_string_value(json_object_get(ch, "serial"));
	int64_t produced = json_integer_value(json_object_get(ch, "produced"));
	uint8_t sn[LIM_SERIAL_BYTES];
	struct lookup l;
	struct rrec rec;
	char ck[128];
	size_t n, i;
	int a, b, h;

	if (s == NULL || (n = strlen(s)) % 2 || n == 0 ||
	    n > 2 * LIM_SERIAL_BYTES)
		return;
	for (i = 0; i < n / 2; i++) {
		if ((a = util_hexval((unsigned char)s[2 * i])) < 0 ||
		    (b = util_hexval((unsigned char)s[2 * i + 1])) < 0)
			return;
		sn[i] = (uint8_t)(a << 4 | b);
	}
	for (h = 0; h < 2; h++) {
		ckey(c->uuid, h, sn, n / 2, ck, sizeof(ck));
		(void)rec_get(rp, ck, &rec);
		if (rec.min < produced) {
			rec.min = produced;
			rec_put(rp, ck, &rec);
		}
		l = (struct lookup){c->uuid, c->nh[h], c->kh[h],
		    (enum ocsp_hash)h, sn, n / 2};
		(void)refetch(rp, &l, ck, &rec, 0);
		free(rec.der);
	}
}

static void
manifest_apply(struct ocsp_replica *rp, json_t *m)
{
	const char *uuid = json_string_value(json_object_get(m, "ca"));
	json_t *chs = json_object_get(m, "changes"), *ch;
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(m, "seq"));
	uint64_t first, last;
	struct rca c;
	long slot;
	size_t i;

	if (uuid == NULL || (slot = ca_slot(rp, uuid, m)) < 0)
		return;
	c = rp->cas[slot]; /* only this thread writes the table */
	last = c.seq;
	first = json_array_size(chs) > 0
		    ? (uint64_t)json_integer_value(
			  json_object_get(json_array_get(chs, 0), "seq"))
		    : seq + 1;
	if (c.seen && seq == last)
		return;
	if (!c.seen || seq < last || first > last + 1)
		ca_wipe(rp, uuid);
	else
		json_array_foreach (chs, i, ch)
			if ((uint64_t)json_integer_value(
				json_object_get(ch, "seq")) > last)
				change_apply(rp, &c, ch);
	seq_store(rp, uuid, seq);
	pthread_rwlock_wrlock(&rp->lk);
	rp->cas[slot].seq = seq;
	rp->cas[slot].seen = 1;
	pthread_rwlock_unlock(&rp->lk);
}

struct mlist {
	char keys[REPLICA_MAX_CAS][STORE_OBJ_KEY_MAX + 1];
	size_t n;
};

static int
list_cb(const char *key, uint64_t size, void *arg)
{
	struct mlist *l = arg;

	if (size > REPLICA_OBJ_MAX || strlen(key) > STORE_OBJ_KEY_MAX)
		return 0;
	(void)snprintf(l->keys[l->n++], sizeof(l->keys[0]), "%s", key);
	return l->n == REPLICA_MAX_CAS;
}

static void
poll_once(struct ocsp_replica *rp)
{
	struct mlist *l = calloc(1, sizeof(*l));
	char prefix[STORE_OBJ_KEY_MAX + 1];
	struct buf b;
	json_t *m;
	size_t i;

	if (l == NULL)
		return;
	(void)snprintf(prefix, sizeof(prefix), "%socsp/manifest/", rp->prefix);
	if (rp->conf.list(rp->conf.arg, rp->bucket, prefix, list_cb, l) !=
	    PCA_OK) {
		log_debug("responder: %s", pca_err_msg());
		pca_err_clear();
		atomic_store(&rp->s3_ok, 0);
		free(l);
		return;
	}
	atomic_store(&rp->s3_ok, 1);
	atomic_store(&rp->last_ok, util_now());
	for (i = 0; i < l->n; i++) {
		if (fetch(rp, rp->bucket, l->keys[i], REPLICA_OBJ_MAX, &b) !=
		    FETCH_OK)
			continue;
		if ((m = json_loadb((const char *)b.p, b.len, 0, NULL)) != NULL)
			manifest_apply(rp, m);
		else
			log_warnx("responder: s3://%s/%s is no manifest",
			    rp->bucket, l->keys[i]);
		json_decref(m);
		buf_free(&b);
	}
	free(l);
}

static void *
poller(void *arg)
{
	struct ocsp_replica *rp = arg;
	struct timespec ts;

	for (;;) {
		poll_once(rp);
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += rp->conf.poll_ms / 1000;
		ts.tv_nsec += (long)(rp->conf.poll_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&rp->mu);
		while (!rp->stop &&
		       pthread_cond_timedwait(&rp->cv, &rp->mu, &ts) == 0)
			;
		if (rp->stop) {
			pthread_mutex_unlock(&rp->mu);
			return NULL;
		}
		pthread_mutex_unlock(&rp->mu);
	}
}

/* ---- HTTP ---- */

static void
to_http(struct ocsp_http_resp *o, struct http_resp *out)
{
	size_t i;

	out->status = o->status;
	out->content_type = o->content_type;
	out->body = o->body;
	out->len = o->len;
	for (i = 0; i < o->nhdrs; i++)
		http_resp_hdr(out, o->hdrs[i].name, o->hdrs[i].value);
}

static void
on_post(void *arg, const struct http_req *in, struct http_resp *out)
{
	struct ocsp_http_resp o;

	answer(arg, in->body, in->len, &o);
	to_http(&o, out);
}

static void
get_at(struct ocsp_replica *rp, const char *rel, struct http_resp *out)
{
	struct ocsp_http_resp o;
	uint8_t *der = NULL;
	size_t len = 0;

	if (rel == NULL)
		return; /* declined: 404 */
	if (ocsp_get_decode(rel, &der, &len) != PCA_OK) {
		pca_err_clear();
		memset(&o, 0, sizeof(o));
		answer_err(&o, OCSP_R_MALFORMED);
	} else
		answer(rp, der, len, &o);
	free(der);
	to_http(&o, out);
}

static void
on_get_root(void *arg, const struct http_req *in, struct http_resp *out)
{
	get_at(arg, ocsp_get_path("", in->path), out);
}

static void
on_get_path(void *arg, const struct http_req *in, struct http_resp *out)
{
	struct ocsp_replica *rp = arg;

	get_at(rp, ocsp_get_path(rp->get_path, in->path), out);
}

/* GET /crl/<key>: the object <crl_bucket>/crl/<key>, cached briefly. */
static void
on_crl(void *arg, const struct http_req *in, struct http_resp *out)
{
	struct ocsp_replica *rp = arg;
	const char *key = in->path + 1;
	uint8_t *v = NULL, hdr[8];
	size_t n = 0, kl = strlen(key);
	int64_t now = util_now();
	struct buf b;
	int have;

	if (kl > 200 || strstr(key, "..") != NULL ||
	    strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789._-/") != kl)
		return http_resp_text(out, 400, "text/plain", "bad CRL key\n");
	have = store_kv_get(rp->cache, NS_CRL, key, &v, &n) == PCA_OK && n > 8;
	pca_err_clear();
	if (!have || now >= get64(v) + REPLICA_CRL_S) {
		switch (fetch(rp, rp->crl_bucket, key, REPLICA_CRL_MAX, &b)) {
		case FETCH_OK:
			free(v);
			n = b.len + 8;
			if ((v = malloc(n)) == NULL) {
				buf_free(&b);
				return http_resp_text(out, 503, "text/plain",
				    "no memory\n");
			}
			put64(hdr, now);
			memcpy(v, hdr, 8);
			memcpy(v + 8, b.p, b.len);
			buf_free(&b);
			if (store_kv_put(rp->cache, NS_CRL, key, v, n, 0) !=
			    PCA_OK)
				pca_err_clear();
			have = 1;
			break;
		case FETCH_NONE:
			if (store_kv_del(rp->cache, NS_CRL, key) != PCA_OK)
				pca_err_clear();
			have = 0;
			break;
		case FETCH_ERR:
			break; /* what we have, if anything */
		}
	}
	if (!have) {
		free(v);
		return http_resp_text(out, atomic_load(&rp->s3_ok) ? 404 : 503,
		    "text/plain", "no such CRL\n");
	}
	out->status = 200;
	out->content_type = "application/pkix-crl";
	memmove(v, v + 8, n - 8);
	out->body = v;
	out->len = n - 8;
}

static void
on_health(void *arg, const struct http_req *in, struct http_resp *out)
{
	struct ocsp_replica *rp = arg;
	int ok = atomic_load(&rp->s3_ok);
	json_t *j;
	char *s;
	size_t n;

	(void)in;
	pthread_rwlock_rdlock(&rp->lk);
	n = rp->ncas;
	pthread_rwlock_unlock(&rp->lk);
	j = json_pack("{s:s,s:s,s:s,s:I,s:I}", "status", ok ? "ok" : "degraded",
	    "role", "responder", "s3", ok ? "ok" : "unreachable",
	    "certificate_authorities", (json_int_t)n, "s3_last_ok",
	    (json_int_t)atomic_load(&rp->last_ok));
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	http_resp_text(out, 200, "application/json",
	    s ? s : "{\"status\":\"degraded\"}");
	free(s);
	json_decref(j);
}

static void
on_metrics(void *arg, const struct http_req *in, struct http_resp *out)
{
	struct ocsp_replica *rp = arg;
	char t[1024];

	(void)in;
	(void)snprintf(t, sizeof(t),
	    "# HELP pcad_responder_answers_total OCSP answers by source.\n"
	    "# TYPE pcad_responder_answers_total counter\n"
	    "pcad_responder_answers_total{source=\"cache\"} %llu\n"
	    "pcad_responder_answers_total{source=\"s3\"} %llu\n"
	    "pcad_responder_answers_total{source=\"stale\"} %llu\n"
	    "pcad_responder_answers_total{source=\"trylater\"} %llu\n"
	    "pcad_responder_answers_total{source=\"unauthorized\"} %llu\n"
	    "# HELP pcad_responder_s3_errors_total S3 reads that failed.\n"
	    "# TYPE pcad_responder_s3_errors_total counter\n"
	    "pcad_responder_s3_errors_total %llu\n"
	    "# HELP pcad_responder_s3_up S3 answered the last read.\n"
	    "# TYPE pcad_responder_s3_up gauge\npcad_responder_s3_up %d\n",
	    (unsigned long long)atomic_load(&rp->from_cache),
	    (unsigned long long)atomic_load(&rp->from_s3),
	    (unsigned long long)atomic_load(&rp->stale),
	    (unsigned long long)atomic_load(&rp->later),
	    (unsigned long long)atomic_load(&rp->unauth),
	    (unsigned long long)atomic_load(&rp->fetch_err),
	    atomic_load(&rp->s3_ok));
	http_resp_text(out, 200, "text/plain; version=0.0.4", t);
}

/* The path of the [ocsp] url without a trailing '/' ("" when none). */
static void
url_path(const char *url, char *out, size_t max)
{
	const char *p = url ? strstr(url, "://") : NULL;
	size_t n;

	out[0] = '\0';
	if (p == NULL || (p = strchr(p + 3, '/')) == NULL)
		return;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n < max)
		(void)snprintf(out, max, "%.*s", (int)n, p);
}

pca_err
ocsp_replica_register(struct ocsp_replica *rp, struct http_server *h,
    const char *url)
{
	struct http_route health = {.port = HTTP_PLAIN,
	    .path = "/health",
	    .methods = HTTP_M_GET | HTTP_M_HEAD,
	    .body_max = 1024,
	    .fn = on_health,
	    .arg = rp};
	struct http_route metrics = health, crl = health, post, get, sub;
	char prefix[sizeof(rp->get_path) + 1];
	pca_err err;

	metrics.path = "/metrics";
	metrics.fn = on_metrics;
	crl.path = "/crl/";
	crl.prefix = 1;
	crl.fn = on_crl;
	post = (struct http_route){.port = HTTP_PLAIN,
	    .path = "/",
	    .prefix = 1,
	    .methods = HTTP_M_POST,
	    .content_type = "application/ocsp-request",
	    .body_max = OCSP_MAX_REQUEST,
	    .fn = on_post,
	    .arg = rp};
	get = (struct http_route){.port = HTTP_PLAIN,
	    .path = "/",
	    .prefix = 1,
	    .methods = HTTP_M_GET | HTTP_M_HEAD,
	    .body_max = 1024,
	    .fn = on_get_root,
	    .arg = rp};
	sub = get;
	url_path(url, rp->get_path, sizeof(rp->get_path));
	if ((err = http_route_add(h, &health)) != PCA_OK ||
	    (err = http_route_add(h, &metrics)) != PCA_OK ||
	    (err = http_route_add(h, &crl)) != PCA_OK ||
	    (err = http_route_add(h, &post)) != PCA_OK)
		return err;
	if (rp->get_path[0] != '\0') {
		(void)snprintf(prefix, sizeof(prefix), "%s/", rp->get_path);
		sub.path = prefix;
		sub.fn = on_get_path;
		if ((err = http_route_add(h, &sub)) != PCA_OK)
			return err;
	}
	return http_route_add(h, &get);
}

/* ---- life cycle ---- */

pca_err
ocsp_replica_new(const struct ocsp_replica_conf *conf, struct store *cache,
    struct ocsp_replica **out)
{
	struct ocsp_replica *rp;

	if (conf->bucket == NULL || conf->bucket[0] == '\0' ||
	    conf->fetch == NULL || conf->list == NULL)
		return pca_err_set(PCA_EINVAL,
		    "the responder role needs "
		    "[ocsp] publish = s3://BUCKET/PREFIX and [s3]");
	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	rp->conf = *conf;
	if (rp->conf.poll_ms == 0)
		rp->conf.poll_ms = 1000;
	(void)snprintf(rp->bucket, sizeof(rp->bucket), "%s", conf->bucket);
	(void)snprintf(rp->prefix, sizeof(rp->prefix), "%s",
	    conf->prefix ? conf->prefix : "");
	(void)snprintf(rp->crl_bucket, sizeof(rp->crl_bucket), "%s",
	    conf->crl_bucket ? conf->crl_bucket : conf->bucket);
	rp->cache = cache;
	pthread_rwlock_init(&rp->lk, NULL);
	pthread_mutex_init(&rp->mu, NULL);
	pthread_cond_init(&rp->cv, NULL);
	if (pthread_create(&rp->thr, NULL, poller, rp) != 0) {
		ocsp_replica_free(rp);
		return pca_err_set(PCA_ENOMEM, "cannot start the poll thread");
	}
	rp->started = 1;
	*out = rp;
	return PCA_OK;
}

void
ocsp_replica_free(struct ocsp_replica *rp)
{
	if (rp == NULL)
		return;
	if (rp->started) {
		pthread_mutex_lock(&rp->mu);
		rp->stop = 1;
		pthread_cond_signal(&rp->cv);
		pthread_mutex_unlock(&rp->mu);
		pthread_join(rp->thr, NULL);
	}
	pthread_rwlock_destroy(&rp->lk);
	pthread_mutex_destroy(&rp->mu);
	pthread_cond_destroy(&rp->cv);
	free(rp);
}
