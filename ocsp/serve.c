/*
 * serve.c - answering requests, the responder's life cycle, configuration
 * checks and metrics.  The hot path (one CertID, no nonce or nonce over
 * budget) is a read lock, a CA match, a hash lookup and a copy.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../ca/ca.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../http/http.h"
#include "../store/store.h"
#include "ocsp_int.h"

#define CT_RESP "application/ocsp-response"
#define CT_REQ "application/ocsp-request"

/* ---- configuration ---- */

void
ocsp_conf_default(struct ocsp_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->validity_s = 24 * 3600;
	c->signer = OCSP_SIGNER_DELEGATED;
	c->signer_days = 30;
	c->nonce_budget = 200;
	c->cache_mb = 64;
}

pca_err
ocsp_conf_check(const struct ocsp_conf *c)
{
	if (c->validity_s < 8 * 3600 || c->validity_s > 10 * 86400)
		return pca_err_set(PCA_EINVAL,
		    "[ocsp] validity must be 8 hours "
		    "to 10 days (BR 4.9.10)");
	if (c->refresh_s != 0 &&
	    (c->refresh_s >= c->validity_s || c->refresh_s > 4 * 86400 ||
		(c->validity_s >= 16 * 3600 &&
		    c->validity_s - c->refresh_s < 8 * 3600)))
		return pca_err_set(PCA_EINVAL,
		    "[ocsp] refresh must be under the validity, at most 4 days "
		    "and at least 8 hours before nextUpdate (BR 4.9.10)");
	if (c->signer == OCSP_SIGNER_DELEGATED &&
	    (int64_t)c->signer_days * 86400 <= 3 * (int64_t)c->validity_s)
		return pca_err_set(PCA_EINVAL,
		    "[ocsp] signer_days must be more "
		    "than three times the validity");
	return PCA_OK;
}

/* ---- budget: a token bucket of nonce_budget signatures per second ---- */

int
ocsp_budget_take(struct ocsp_responder *r)
{
	struct timespec now;
	double dt, cap = (double)r->conf.nonce_budget;
	int ok;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&r->bmu);
	dt = (double)(now.tv_sec - r->tlast.tv_sec) +
	     (double)(now.tv_nsec - r->tlast.tv_nsec) / 1e9;
	r->tlast = now;
	r->tokens += dt * cap;
	if (r->tokens > cap)
		r->tokens = cap;
	if ((ok = r->tokens >= 1.0))
		r->tokens -= 1.0;
	pthread_mutex_unlock(&r->bmu);
	if (!ok)
		atomic_fetch_add(&r->m.over_budget, 1);
	return ok;
}

/* ---- HTTP answers ---- */

static void hdr(struct ocsp_http_resp *o, const char *name, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static void
hdr(struct ocsp_http_resp *o, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (o->nhdrs == OCSP_HTTP_HDRS)
		return;
	o->hdrs[o->nhdrs].name = name;
	va_start(ap, fmt);
	(void)vsnprintf(o->hdrs[o->nhdrs].value,
	    sizeof(o->hdrs[o->nhdrs].value), fmt, ap);
	va_end(ap);
	o->nhdrs++;
}

static void
http_date(int64_t t, char out[40])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		(void)snprintf(out, 40, "Thu, 01 Jan 1970 00:00:00 GMT");
}

/* RFC 5019 6 / RFC 9919 caching headers for a pre-produced response. */
static void
cache_headers(struct ocsp_http_resp *o, const struct ocsp_crec *b,
    int64_t refresh_at, int64_t now)
{
	char d[40];
	int64_t age = refresh_at < b->next_update ? refresh_at : b->next_update;

	age = age > now ? age - now : 0;
	http_date(b->produced, d);
	hdr(o, "Last-Modified", "%s", d);
	hdr(o, "ETag", "%s", b->etag);
	http_date(b->next_update, d);
	hdr(o, "Expires", "%s", d);
	hdr(o, "Cache-Control",
	    "max-age=%lld, public, no-transform, must-revalidate",
	    (long long)age);
}

static void
set_body(struct ocsp_http_resp *o, const uint8_t *p, size_t n)
{
	free(o->body);
	o->body = NULL;
	o->len = 0;
	o->nhdrs = 0;
	if ((o->body = malloc(n ? n : 1)) == NULL) {
		o->status = 503;
		return;
	}
	memcpy(o->body, p, n);
	o->len = n;
	o->status = 200;
}

static void
error_resp(struct ocsp_responder *r, struct ocsp_http_resp *o,
    enum ocsp_rstatus s)
{
	size_t n;
	const uint8_t *p = ocsp_resp_error(s, &n);

	atomic_fetch_add(&r->m.rstatus[s], 1);
	set_body(o, p, n);
	hdr(o, "Cache-Control", "no-cache, no-store");
}

enum hit { HIT, NOCA, MISS };

/* What a cached or stored record is checked against and copied into. */
struct use {
	struct ocsp_responder *r;
	struct ocsp_http_resp *o;
	int64_t now;
	struct ocsp_ckey k;
	uint64_t gen;
	int hit;
};

/* Serves rec when it is still good to serve (lock or transaction held). */
static int
use_rec(const struct ocsp_crec *rec, void *arg)
{
	struct use *u = arg;

	if (rec->next_update <= u->now ||
	    (rec->status == OCSP_GOOD && rec->not_after < u->now))
		return 0; /* expired certificate or answer: signed fresh */
	set_body(u->o, rec->der, rec->len);
	if (u->o->status != 200)
		return 0;
	cache_headers(u->o, rec, ocsp_refresh_at(&u->r->conf, rec->produced),
	    u->now);
	atomic_fetch_add(&u->r->m.cstatus[rec->status], 1);
	return 1;
}

/* The stored record, read in place: served and cached. */
static pca_err
view_rec(const uint8_t *v, size_t n, void *arg)
{
	struct use *u = arg;
	struct ocsp_crec rec;

	if (!ocsp_crec_decode(v, n, &rec))
		return PCA_OK;
	ocsp_cache_insert(&u->r->cache, &u->k, &rec, u->gen);
	u->hit = use_rec(&rec, u);
	return PCA_OK;
}

/* The pre-signed response for one CertID: cache, else the store. */
static enum hit
presigned(struct ocsp_responder *r, const struct ocsp_certid *id,
    struct ocsp_http_resp *o)
{
	const uint8_t *sn;
	size_t n = ocsp_serial_norm(id->serial, id->serial_len, &sn);
	struct use u;
	char uuid[37], k[128];
	long ca;

	pthread_rwlock_rdlock(&r->t.lk);
	if ((ca = ocsp_table_ca_find(&r->t, id)) >= 0 && r->t.cas[ca].serve)
		memcpy(uuid, r->t.cas[ca].uuid, sizeof(uuid));
	else
		ca = -1;
	pthread_rwlock_unlock(&r->t.lk);
	if (ca < 0)
		return NOCA;
	if (n == 0 || id->serial_len != n + (sn[0] >> 7))
		return MISS;
	memset(&u, 0, sizeof(u));
	u.r = r;
	u.o = o;
	u.now = util_now();
	u.k.ca = (uint32_t)ca;
	u.k.hash = (uint8_t)id->hash;
	u.k.serial_len = (uint8_t)n;
	memcpy(u.k.serial, sn, n);
	if (ocsp_cache_get(&r->cache, &u.k, use_rec, &u, &u.gen))
		return HIT;
	ocsp_rec_key(uuid, sn, n, id->hash, k, sizeof(k));
	if (store_kv_view(r->store, OCSP_KV_RESP, k, view_rec, &u) != PCA_OK)
		pca_err_clear();
	return u.hit ? HIT : MISS;
}

void
ocsp_responder_set_unknown_hook(struct ocsp_responder *r, ocsp_unknown_fn fn,
    void *arg)
{
	atomic_store(&r->unknown_fn, NULL);
	atomic_store(&r->unknown_arg, arg);
	atomic_store(&r->unknown_fn, fn);
}

/* ---- fresh responses (nonce, several CertIDs, unknown serials) ---- */

struct fresh {
	struct ocsp_single s[OCSP_MAX_CERTIDS];
	int need_store[OCSP_MAX_CERTIDS];
	char uuid[37];
	struct ocsp_signer *signer;
	int wake; /* no pre-signed answer was found */
};

/* The CA of every CertID and a copy of its signer; 0: unauthorized. */
static int
fresh_collect(struct ocsp_responder *r, const struct ocsp_req *q,
    struct fresh *f)
{
	const uint8_t *sn;
	size_t i, n;
	long ca = -1, c;
	int ok = 1;

	pthread_rwlock_rdlock(&r->t.lk);
	for (i = 0; i < q->n && ok; i++) {
		c = ocsp_table_ca_find(&r->t, &q->ids[i]);
		/* one signer per response: every CertID must name one CA */
		if (c < 0 || !r->t.cas[c].serve || (ca >= 0 && c != ca)) {
			ok = 0;
			break;
		}
		ca = c;
		f->s[i].id = &q->ids[i];
		f->s[i].status = OCSP_UNKNOWN;
		n = ocsp_serial_norm(q->ids[i].serial, q->ids[i].serial_len,
		    &sn);
		f->need_store[i] = n > 0; /* the status: from the store */
	}
	if (ok) {
		memcpy(f->uuid, r->t.cas[ca].uuid, 37);
		if (r->t.cas[ca].signer != NULL &&
		    ocsp_signer_dup(r->t.cas[ca].signer, &f->signer) != PCA_OK)
			pca_err_clear();
	}
	pthread_rwlock_unlock(&r->t.lk);
	return ok;
}

/* A serial's status from its record: issued, revoked, expired or never. */
static pca_err
fresh_lookup(struct ocsp_responder *r, struct fresh *f, size_t i, int64_t now)
{
	const uint8_t *sn;
	size_t n =
	    ocsp_serial_norm(f->s[i].id->serial, f->s[i].id->serial_len, &sn);
	struct store_cert c;
	ocsp_unknown_fn fn;
	pca_err err;

	err = store_cert_get(r->store, f->uuid, sn, n, &c);
	if (err == PCA_ENOTFOUND) {
		pca_err_clear();
		fn = atomic_load(&r->unknown_fn);
		if (fn != NULL)
			fn(atomic_load(&r->unknown_arg), f->uuid, sn, n);
		return PCA_OK; /* never issued: unknown */
	}
	if (err != PCA_OK)
		return err;
	if (c.state == STORE_CERT_ISSUED && c.revoked) {
		f->s[i].status = OCSP_REVOKED;
		f->s[i].revoked_at = c.revoked_at;
		f->s[i].reason = c.reason;
	} else if (c.state == STORE_CERT_ISSUED && c.not_after >= now) {
		f->s[i].status = OCSP_GOOD;
		if (f->wake)
			ocsp_refresher_wake(r); /* not pre-signed yet */
	}
	store_cert_clear(&c);
	return PCA_OK;
}

/*
 * Signs a response for every CertID of q now.  PCA_EUNAVAIL: token down or
 * no signer; PCA_EPOLICY: not authoritative.  *ucache_until (when not
 * NULL): how long the answer may be kept as a cached "unknown" (0: not).
 */
static pca_err
fresh_signed(struct ocsp_responder *r, const struct ocsp_req *q, int nonce,
    struct ocsp_http_resp *o, int64_t *ucache_until, int wake)
{
	struct fresh *f = calloc(1, sizeof(*f));
	int64_t now = util_now();
	uint8_t *der = NULL;
	size_t i, len;
	pca_err err = PCA_OK;

	if (f == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	f->wake = wake;
	if (!fresh_collect(r, q, f)) {
		err = pca_err_set(PCA_EPOLICY, "not authoritative");
		goto out;
	}
	if (f->signer == NULL) {
		err = pca_err_set(PCA_EUNAVAIL, "no OCSP signer yet");
		goto out;
	}
	for (i = 0; i < q->n && err == PCA_OK; i++) {
		f->s[i].this_update = now;
		f->s[i].next_update = now + r->conf.validity_s;
		if (f->s[i].next_update > f->signer->not_after)
			f->s[i].next_update = f->signer->not_after;
		if (f->need_store[i])
			err = fresh_lookup(r, f, i, now);
	}
	if (err != PCA_OK)
		goto out;
	atomic_fetch_add(&r->m.signs, 1);
	if ((err = ocsp_resp_sign(r->hsm, f->signer, now, f->s, q->n,
		 nonce ? q->nonce : NULL, nonce ? q->nonce_len : 0, &der,
		 &len)) != PCA_OK) {
		atomic_fetch_add(&r->m.sign_errors, 1);
		goto out;
	}
	set_body(o, der, len);
	if (ucache_until != NULL && q->n == 1 && f->s[0].status == OCSP_UNKNOWN)
		*ucache_until = now + OCSP_UCACHE_TTL < f->s[0].next_update
				    ? now + OCSP_UCACHE_TTL
				    : f->s[0].next_update;
	if (o->status == 200) {
		hdr(o, "Cache-Control",
		    nonce ? "no-cache, no-store" : "max-age=0, no-transform");
		for (i = 0; i < q->n; i++)
			atomic_fetch_add(&r->m.cstatus[f->s[i].status], 1);
	}
out:
	free(der);
	ocsp_signer_free(f->signer);
	free(f);
	return err;
}

/* A fresh signed answer, kept in the unknown cache when it is one. */
static pca_err
fresh_cached(struct ocsp_responder *r, const struct ocsp_req *q, int nonce,
    struct ocsp_http_resp *o, int wake)
{
	int64_t until = 0;
	pca_err err;

	if ((err = fresh_signed(r, q, nonce, o, &until, wake)) == PCA_OK &&
	    until > 0 && !nonce && q->n == 1 && o->status == 200)
		ocsp_ucache_put(&r->uc, &q->ids[0], until, o->body, o->len);
	return err;
}

/* The cached signed "unknown" for a lone CertID, copied into o. */
static int
unknown_cached(struct ocsp_responder *r, const struct ocsp_req *q,
    struct ocsp_http_resp *o)
{
	uint8_t *der = NULL;
	size_t len = 0;

	if (q->n != 1 ||
	    !ocsp_ucache_get(&r->uc, &q->ids[0], util_now(), &der, &len))
		return 0;
	set_body(o, der, len);
	free(der);
	if (o->status != 200)
		return 0;
	hdr(o, "Cache-Control", "max-age=0, no-transform");
	atomic_fetch_add(&r->m.cstatus[OCSP_UNKNOWN], 1);
	atomic_fetch_add(&r->m.unknown_cached, 1);
	atomic_fetch_add(&r->m.rstatus[OCSP_R_SUCCESSFUL], 1);
	return 1;
}

/* One parsed request. */
static void
answer(struct ocsp_responder *r, const struct ocsp_req *q,
    struct ocsp_http_resp *o)
{
	int nonce = q->has_nonce && !r->conf.nonce_ignore;
	enum hit h = MISS;
	pca_err err;

	if (q->n == 1 && (h = presigned(r, &q->ids[0], o)) == NOCA)
		return error_resp(r, o, OCSP_R_UNAUTHORIZED);
	if (h == HIT && !nonce)
		goto presigned;
	if (h == MISS && !nonce && unknown_cached(r, q, o))
		return;
	if (!ocsp_budget_take(r)) {
		if (h == HIT)
			goto fallback;
		if (h == MISS && unknown_cached(r, q, o)) {
			atomic_fetch_add(&r->m.nonce_fallback, 1);
			return;
		}
		return error_resp(r, o, OCSP_R_TRYLATER);
	}
	if ((err = fresh_cached(r, q, nonce, o, h != HIT)) == PCA_OK) {
		atomic_fetch_add(&r->m.fresh, 1);
		atomic_fetch_add(&r->m.rstatus[OCSP_R_SUCCESSFUL], 1);
		return;
	}
	if (err == PCA_EPOLICY)
		return error_resp(r, o, OCSP_R_UNAUTHORIZED);
	if (h == HIT)
		goto fallback;
	if (h == MISS && unknown_cached(r, q, o)) {
		pca_err_clear();
		return;
	}
	log_debug("OCSP: tryLater: %s", pca_err_msg());
	pca_err_clear();
	return error_resp(r, o, OCSP_R_TRYLATER);
fallback:
	pca_err_clear();
	atomic_fetch_add(&r->m.nonce_fallback, 1);
presigned:
	atomic_fetch_add(&r->m.presigned, 1);
	atomic_fetch_add(&r->m.rstatus[OCSP_R_SUCCESSFUL], 1);
}

void
ocsp_http_handle(struct ocsp_responder *r, const struct ocsp_http_req *in,
    struct ocsp_http_resp *o)
{
	struct ocsp_req q;
	uint8_t *der = NULL;
	size_t len = 0;
	pca_err err;

	memset(o, 0, sizeof(*o));
	o->content_type = CT_RESP;
	if (strcmp(in->method, "POST") == 0)
		err = ocsp_req_parse(in->body, in->len, &q);
	else if (strcmp(in->method, "GET") == 0 ||
		 strcmp(in->method, "HEAD") == 0) {
		if (ocsp_get_decode(in->path, &der, &len) != PCA_OK) {
			pca_err_clear();
			o->status = 0; /* not an OCSP GET: declined (404) */
			return;
		}
		err = ocsp_req_parse(der, len, &q);
		free(der);
	} else {
		o->status = 405;
		o->content_type = "text/plain";
		hdr(o, "Allow", "GET, HEAD, POST");
		return;
	}
	if (err != PCA_OK) {
		log_debug("OCSP: malformedRequest: %s", pca_err_msg());
		pca_err_clear();
		return error_resp(r, o, OCSP_R_MALFORMED);
	}
	answer(r, &q, o);
}

/* ---- on the HTTP server ---- */

#define OCSP_HTTP_BODY_MAX (64 * 1024) /* more: 413, connection closed */

/* One request as ocsp_http_handle sees it, path relative to its route. */
static void
serve_at(struct ocsp_responder *r, const struct http_req *in, const char *path,
    struct http_resp *out)
{
	struct ocsp_http_req q = {in->method, path,
	    http_req_hdr(in, "Content-Type"), in->body, in->len};
	struct ocsp_http_resp o;
	size_t i;

	ocsp_http_handle(r, &q, &o);
	out->status = o.status;
	out->content_type = o.content_type;
	out->body = o.body;
	out->len = o.len;
	for (i = 0; i < o.nhdrs && i < OCSP_HTTP_HDRS; i++)
		http_resp_hdr(out, o.hdrs[i].name, o.hdrs[i].value);
}

static void
on_post(void *arg, const struct http_req *in, struct http_resp *out)
{
	serve_at(arg, in, in->path, out);
}

const char *
ocsp_get_path(const char *prefix, const char *path)
{
	size_t n = strlen(prefix);

	if (strncmp(path, prefix, n) != 0 || path[n] != '/' ||
	    path[n + 1] == '\0')
		return NULL;
	return path + n;
}

/* GET /<request>: "/" alone is no request (declined: 404). */
static void
on_get_root(void *arg, const struct http_req *in, struct http_resp *out)
{
	const char *rel = ocsp_get_path("", in->path);

	if (rel != NULL)
		serve_at(arg, in, rel, out);
}

/* GET <url path>/<request>. */
static void
on_get_path(void *arg, const struct http_req *in, struct http_resp *out)
{
	struct ocsp_responder *r = arg;
	const char *rel = ocsp_get_path(r->get_path, in->path);

	if (rel != NULL)
		serve_at(r, in, rel, out);
}

/* The path of an http(s) URL without a trailing '/'; "" when none. */
static pca_err
url_path(const char *url, char *out, size_t max)
{
	const char *p = url ? strstr(url, "://") : NULL;
	size_t n;

	out[0] = '\0';
	if (p == NULL || (p = strchr(p + 3, '/')) == NULL)
		return PCA_OK;
	n = strcspn(p, "?#");
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n + 2 > max)
		return pca_err_set(PCA_ELIMIT, "[ocsp] url path is too long");
	memcpy(out, p, n);
	out[n] = '\0';
	return PCA_OK;
}

pca_err
ocsp_http_register(struct ocsp_responder *r, struct http_server *h,
    const char *url)
{
	struct http_route post = {.port = HTTP_PLAIN,
	    .path = "/",
	    .prefix = 1,
	    .methods = HTTP_M_POST,
	    .content_type = CT_REQ,
	    .body_max = OCSP_HTTP_BODY_MAX,
	    .fn = on_post,
	    .arg = r};
	struct http_route get = {.port = HTTP_PLAIN,
	    .path = "/",
	    .prefix = 1,
	    .methods = HTTP_M_GET | HTTP_M_HEAD,
	    .body_max = OCSP_HTTP_BODY_MAX,
	    .fn = on_get_root,
	    .arg = r};
	struct http_route sub = get;
	char prefix[sizeof(r->get_path) + 1];
	pca_err err;

	if ((err = url_path(url, r->get_path, sizeof(r->get_path))) != PCA_OK ||
	    (err = http_route_add(h, &post)) != PCA_OK)
		return err;
	if (r->get_path[0] != '\0') {
		(void)snprintf(prefix, sizeof(prefix), "%s/", r->get_path);
		sub.path = prefix;
		sub.fn = on_get_path;
		if ((err = http_route_add(h, &sub)) != PCA_OK)
			return err;
	}
	return http_route_add(h, &get);
}

/* ---- life cycle ---- */

static void
on_event(const struct ca_event *ev, void *arg)
{
	(void)ev;
	ocsp_refresher_wake(arg);
}

pca_err
ocsp_responder_listen(struct ocsp_responder *r, struct ca_engine *e)
{
	return ca_engine_listen(e, on_event, r);
}

static void
responder_free_parts(struct ocsp_responder *r)
{
	ocsp_table_clear(&r->t);
	ocsp_cache_clear(&r->cache);
	ocsp_ucache_clear(&r->uc);
	pthread_mutex_destroy(&r->emu);
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->bmu);
	pthread_cond_destroy(&r->cv);
	pthread_cond_destroy(&r->ready_cv);
	free(r);
}

pca_err
ocsp_responder_new(const struct ocsp_conf *conf, struct ca_engine *engine,
    struct store *store, struct hsm *hsm, struct ocsp_responder **out)
{
	struct ocsp_responder *r;
	pca_err err;

	if ((err = ocsp_conf_check(conf)) != PCA_OK)
		return err;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	r->conf = *conf;
	r->engine = engine;
	r->store = store;
	r->hsm = hsm;
	r->tokens = conf->nonce_budget;
	clock_gettime(CLOCK_MONOTONIC, &r->tlast);
	pthread_mutex_init(&r->emu, NULL);
	pthread_mutex_init(&r->mu, NULL);
	pthread_mutex_init(&r->bmu, NULL);
	ocsp_refresher_cond_init(r);
	pthread_cond_init(&r->ready_cv, NULL);
	if ((err = ocsp_table_init(&r->t)) != PCA_OK ||
	    (err = ocsp_cache_init(&r->cache, (size_t)conf->cache_mb << 20)) !=
		PCA_OK ||
	    (err = ocsp_ucache_init(&r->uc)) != PCA_OK ||
	    (err = ocsp_responder_listen(r, engine)) != PCA_OK) {
		responder_free_parts(r);
		return err;
	}
	if (pthread_create(&r->thr, NULL, ocsp_refresher_main, r) != 0) {
		responder_free_parts(r);
		return pca_err_set(PCA_EINTERNAL, "cannot start the OCSP "
						  "refresher thread");
	}
	r->started = 1;
	*out = r;
	return PCA_OK;
}

pca_err
ocsp_responder_set_engine(struct ocsp_responder *r, struct ca_engine *e,
    const struct ocsp_conf *conf)
{
	pca_err err = PCA_OK;

	if (conf != NULL && (err = ocsp_conf_check(conf)) != PCA_OK)
		return err;
	pthread_mutex_lock(&r->emu);
	r->engine = e;
	if (conf != NULL) {
		pthread_rwlock_wrlock(&r->t.lk);
		r->conf = *conf;
		pthread_rwlock_unlock(&r->t.lk);
	}
	r->ca_dirty = 1;
	pthread_mutex_unlock(&r->emu);
	ocsp_refresher_wake(r);
	return PCA_OK;
}

pca_err
ocsp_responder_wait_ready(struct ocsp_responder *r, unsigned timeout_ms)
{
	struct timespec ts;
	int ready;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&r->mu);
	while (
	    !r->ready && pthread_cond_timedwait(&r->ready_cv, &r->mu, &ts) == 0)
		;
	ready = r->ready;
	pthread_mutex_unlock(&r->mu);
	return ready ? PCA_OK
		     : pca_err_set(PCA_EBUSY, "OCSP responses not all "
					      "signed yet");
}

void
ocsp_responder_free(struct ocsp_responder *r)
{
	if (r == NULL)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thr, NULL);
	}
	responder_free_parts(r);
}

/* ---- metrics ---- */

static pca_err
cache_metrics(struct ocsp_responder *r, struct buf *b)
{
	uint64_t h, m;

	ocsp_cache_stats(&r->cache, &h, &m);
	return buf_printf(b,
	    "# HELP pcad_ocsp_cache_hits_total Pre-signed answers found in "
	    "the hot cache.\n"
	    "# TYPE pcad_ocsp_cache_hits_total counter\n"
	    "pcad_ocsp_cache_hits_total %llu\n"
	    "# HELP pcad_ocsp_cache_misses_total Lookups the hot cache did "
	    "not answer (read from the store).\n"
	    "# TYPE pcad_ocsp_cache_misses_total counter\n"
	    "pcad_ocsp_cache_misses_total %llu\n"
	    "# HELP pcad_ocsp_cache_evictions_total Entries evicted to stay "
	    "within the cache size.\n"
	    "# TYPE pcad_ocsp_cache_evictions_total counter\n"
	    "pcad_ocsp_cache_evictions_total %llu\n"
	    "# HELP pcad_ocsp_cache_hit_ratio Hits over lookups since start.\n"
	    "# TYPE pcad_ocsp_cache_hit_ratio gauge\n"
	    "pcad_ocsp_cache_hit_ratio %.4f\n"
	    "# HELP pcad_ocsp_cache_entries Responses in the hot cache.\n"
	    "# TYPE pcad_ocsp_cache_entries gauge\n"
	    "pcad_ocsp_cache_entries %zu\n"
	    "# HELP pcad_ocsp_cache_bytes Bytes held by the hot cache.\n"
	    "# TYPE pcad_ocsp_cache_bytes gauge\n"
	    "pcad_ocsp_cache_bytes %zu\n"
	    "# HELP pcad_ocsp_cache_max_bytes The hot cache's size limit.\n"
	    "# TYPE pcad_ocsp_cache_max_bytes gauge\n"
	    "pcad_ocsp_cache_max_bytes %zu\n",
	    (unsigned long long)h, (unsigned long long)m,
	    (unsigned long long)atomic_load(&r->cache.evictions),
	    h + m ? (double)h / (double)(h + m) : 0.0,
	    (size_t)atomic_load(&r->cache.entries),
	    (size_t)atomic_load(&r->cache.bytes), r->cache.max_bytes);
}

pca_err
ocsp_metrics_render(struct ocsp_responder *r, struct buf *b)
{
	static const char *const rs[7] = {"successful", "malformedRequest",
	    "internalError", "tryLater", "unused", "sigRequired",
	    "unauthorized"};
	static const char *const cs[3] = {"good", "revoked", "unknown"};
	int64_t now = util_now(), oldest = atomic_load(&r->oldest);
	size_t i;
	pca_err err;

	err = buf_addstr(b,
	    "# HELP pcad_ocsp_responses_total OCSP responses "
	    "by responseStatus.\n# TYPE pcad_ocsp_responses_total counter\n");
	for (i = 0; i < 7 && err == PCA_OK; i++)
		if (i != 4)
			err = buf_printf(b,
			    "pcad_ocsp_responses_total{status=\"%s\"} %llu\n",
			    rs[i],
			    (unsigned long long)atomic_load(&r->m.rstatus[i]));
	if (err == PCA_OK)
		err = buf_addstr(b,
		    "# HELP pcad_ocsp_cert_status_total "
		    "Certificate statuses answered.\n"
		    "# TYPE pcad_ocsp_cert_status_total counter\n");
	for (i = 0; i < 3 && err == PCA_OK; i++)
		err = buf_printf(b,
		    "pcad_ocsp_cert_status_total{status=\"%s\"} %llu\n", cs[i],
		    (unsigned long long)atomic_load(&r->m.cstatus[i]));
	if (oldest == 0 || oldest > now)
		oldest = now;
	if (err == PCA_OK)
		err = buf_printf(b,
		    "# HELP pcad_ocsp_served_total Answers by where the "
		    "response came from.\n"
		    "# TYPE pcad_ocsp_served_total counter\n"
		    "pcad_ocsp_served_total{source=\"presigned\"} %llu\n"
		    "pcad_ocsp_served_total{source=\"fresh\"} %llu\n"
		    "pcad_ocsp_served_total{source=\"unknown_cache\"} %llu\n"
		    "# HELP pcad_ocsp_nonce_fallback_total Nonce requests "
		    "answered pre-signed (no nonce) over the budget.\n"
		    "# TYPE pcad_ocsp_nonce_fallback_total counter\n"
		    "pcad_ocsp_nonce_fallback_total %llu\n"
		    "# HELP pcad_ocsp_budget_exceeded_total Requests over the "
		    "signatures-per-second budget.\n"
		    "# TYPE pcad_ocsp_budget_exceeded_total counter\n"
		    "pcad_ocsp_budget_exceeded_total %llu\n"
		    "# HELP pcad_ocsp_budget_per_second Nonce signatures "
		    "allowed per second.\n"
		    "# TYPE pcad_ocsp_budget_per_second gauge\n"
		    "pcad_ocsp_budget_per_second %u\n"
		    "# HELP pcad_ocsp_signatures_total OCSP responses signed.\n"
		    "# TYPE pcad_ocsp_signatures_total counter\n"
		    "pcad_ocsp_signatures_total %llu\n"
		    "# HELP pcad_ocsp_signature_errors_total OCSP signatures "
		    "that failed.\n"
		    "# TYPE pcad_ocsp_signature_errors_total counter\n"
		    "pcad_ocsp_signature_errors_total %llu\n"
		    "# HELP pcad_ocsp_presigned_entries Certificates with "
		    "pre-signed responses (in the store).\n"
		    "# TYPE pcad_ocsp_presigned_entries gauge\n"
		    "pcad_ocsp_presigned_entries %zu\n"
		    "# HELP pcad_ocsp_oldest_response_age_seconds Age of the "
		    "oldest pre-signed response (next due for refresh).\n"
		    "# TYPE pcad_ocsp_oldest_response_age_seconds gauge\n"
		    "pcad_ocsp_oldest_response_age_seconds %lld\n",
		    (unsigned long long)atomic_load(&r->m.presigned),
		    (unsigned long long)atomic_load(&r->m.fresh),
		    (unsigned long long)atomic_load(&r->m.unknown_cached),
		    (unsigned long long)atomic_load(&r->m.nonce_fallback),
		    (unsigned long long)atomic_load(&r->m.over_budget),
		    r->conf.nonce_budget,
		    (unsigned long long)atomic_load(&r->m.signs),
		    (unsigned long long)atomic_load(&r->m.sign_errors),
		    (size_t)atomic_load(&r->presigned_n),
		    (long long)(now - oldest));
	if (err == PCA_OK)
		err = cache_metrics(r, b);
	return err;
}

int64_t
ocsp_responder_oldest(struct ocsp_responder *r)
{
	return atomic_load(&r->oldest);
}
