/*
 * http.c - the API's handlers on the HTTP server (http/): every request on
 * the HTTPS port is an API call (POST only, no chunked bodies, at most
 * LIM_API_BODY; framing errors answer in the API's JSON error shape), and
 * /health and /metrics on the plain-HTTP port.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../http/http.h"
#include "../store/store.h"
#include "api_int.h"

#define DRAIN_MAX                                                              \
	(8 * 1024 * 1024) /* oversized bodies read and dropped,                \
			     so the client sees the 413 */
#define CT_JSON11 "application/x-amz-json-1.1"

struct api_server {
	pthread_rwlock_t gen; /* ctx.engine, region, partition */
	struct api_ctx ctx;
	struct api_metrics metrics;
	struct http_server *http; /* its counters go into /metrics */
	pthread_mutex_t mu;       /* mhooks */
	struct {
		pca_err (*fn)(void *, struct buf *);
		void *arg;
	} mhooks[API_METRICS_HOOKS];
	size_t nmhooks;
};

/* An api_resp as the HTTP server's answer (the body changes hands). */
static void
to_http(struct api_resp *resp, struct http_resp *o)
{
	o->status = resp->status;
	o->content_type = resp->content_type ? resp->content_type : CT_JSON11;
	o->body = (uint8_t *)resp->body;
	o->len = resp->len;
	resp->body = NULL;
	http_resp_hdr(o, "x-amzn-RequestId", resp->request_id);
}

/* A framing error with a JSON body and a request id. */
static void
api_reject(struct api_server *srv, const struct http_req *r, int status,
    const char *code, const char *msg, struct http_resp *o)
{
	struct api_resp resp;

	memset(&resp, 0, sizeof(resp));
	if (util_uuid(resp.request_id) != PCA_OK)
		pca_err_clear();
	api_resp_error(&resp, status, code, msg);
	atomic_fetch_add(&srv->metrics.rejected, 1);
	api_metrics_observe(&srv->metrics, api_nops, status,
	    http_req_elapsed(r));
	log_info("request=%s rejected: %d %s: %s", resp.request_id, status,
	    code, msg);
	to_http(&resp, o);
}

static void
api_error(void *arg, const struct http_req *r, int status, const char *msg,
    struct http_resp *o)
{
	if (status == 413)
		api_reject(arg, r, 413, "RequestEntityTooLargeException",
		    "The request body is larger than 65536 bytes", o);
	else if (status == 431)
		api_reject(arg, r, 431, "RequestHeaderFieldsTooLarge",
		    "Too many or too large request headers", o);
	else
		api_reject(arg, r, status, "BadRequestException", msg, o);
}

/* The head: POST only, a Content-Length body (http/ checked the rest). */
static void
api_head(void *arg, const struct http_req *r, struct http_resp *o)
{
	if (strcmp(r->method, "POST") != 0)
		api_reject(arg, r, 405, "MethodNotAllowedException",
		    "The ACM PCA API accepts POST requests only", o);
	else if (http_req_hdr(r, "Transfer-Encoding") != NULL)
		api_reject(arg, r, 411, "LengthRequiredException",
		    "Chunked request bodies are not accepted; send "
		    "Content-Length",
		    o);
}

static void
api_call(void *arg, const struct http_req *r, struct http_resp *o)
{
	struct api_server *srv = arg;
	struct api_hdr hdrs[HTTP_MAX_HEADERS], query[HTTP_MAX_HEADERS];
	struct api_http_req q;
	struct api_resp resp;
	size_t i;

	for (i = 0; i < r->nhdrs && i < HTTP_MAX_HEADERS; i++)
		hdrs[i] = (struct api_hdr){r->hdrs[i].name, r->hdrs[i].value};
	for (i = 0; i < r->nquery && i < HTTP_MAX_HEADERS; i++)
		query[i] =
		    (struct api_hdr){r->query[i].name, r->query[i].value};
	memset(&q, 0, sizeof(q));
	q.method = r->method;
	q.path = r->path;
	q.query = query;
	q.nquery = r->nquery < HTTP_MAX_HEADERS ? r->nquery : HTTP_MAX_HEADERS;
	q.hdrs = hdrs;
	q.nhdrs = r->nhdrs < HTTP_MAX_HEADERS ? r->nhdrs : HTTP_MAX_HEADERS;
	q.body = r->body;
	q.body_len = r->len;
	q.remote_ip = r->remote_ip; /* aws:SourceIp */
	pthread_rwlock_rdlock(&srv->gen);
	api_dispatch(&srv->ctx, &q, &resp);
	pthread_rwlock_unlock(&srv->gen);
	api_metrics_observe(&srv->metrics, api_op_index(resp.op), resp.status,
	    http_req_elapsed(r));
	to_http(&resp, o);
}

/* ---- the plain-HTTP port ---- */

static void
respond_json(struct http_resp *o, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	http_resp_text(o, status, "application/json",
	    s != NULL ? s : "{\"status\":\"error\"}");
	free(s);
}

static void
api_health(void *arg, const struct http_req *r, struct http_resp *o)
{
	struct api_server *srv = arg;
	size_t n = 0;
	json_t *j;

	(void)r;
	if (srv->ctx.svc.health != NULL &&
	    srv->ctx.svc.health(srv->ctx.svc.token) != PCA_OK)
		return respond_json(o, 503,
		    json_pack("{s:s,s:s,s:s}", "status", "unavailable",
			"component", "token", "reason", pca_err_msg()));
	if (store_health(srv->ctx.store) != PCA_OK ||
	    store_ca_count(srv->ctx.store, &n) != PCA_OK)
		return respond_json(o, 503,
		    json_pack("{s:s,s:s,s:s}", "status", "unavailable",
			"component", "store", "reason", pca_err_msg()));
	j = json_pack("{s:s,s:s,s:s,s:I}", "status", "ok", "token", "ok",
	    "store", "ok", "certificate_authorities", (json_int_t)n);
	if (j != NULL && srv->ctx.role.health != NULL)
		srv->ctx.role.health(srv->ctx.role.arg, j);
	respond_json(o, 200, j);
}

void
api_server_role_set(struct api_server *srv, const struct api_role *ro)
{
	srv->ctx.role = *ro;
}

static void
api_metrics_page(void *arg, const struct http_req *r, struct http_resp *o)
{
	struct api_server *srv = arg;
	struct http_stats st;
	struct buf b;
	size_t n, i;

	(void)r;
	http_stats_get(srv->http, &st);
	atomic_store(&srv->metrics.inflight, st.inflight);
	atomic_store(&srv->metrics.http_requests, st.plain_requests);
	buf_init(&b, 4 * 1024 * 1024);
	if (api_metrics_render(&srv->metrics, &srv->ctx.svc, &b) != PCA_OK) {
		buf_free(&b);
		return respond_json(o, 500,
		    json_pack("{s:s,s:s}", "status", "error", "reason",
			pca_err_msg()));
	}
	if (buf_printf(&b,
		"# HELP pcad_http_rejected_total Requests refused for their "
		"framing (RFC 9112 6.3) or head deadline.\n"
		"# TYPE pcad_http_rejected_total counter\n"
		"pcad_http_rejected_total %llu\n"
		"# HELP pcad_http_connections_reaped_total Connections closed "
		"to "
		"make room (oldest still sending a head).\n"
		"# TYPE pcad_http_connections_reaped_total counter\n"
		"pcad_http_connections_reaped_total %llu\n",
		(unsigned long long)st.rejected,
		(unsigned long long)st.reaped) != PCA_OK)
		pca_err_clear();
	/* hooks are only added before the listeners serve */
	for (i = 0; i < srv->nmhooks; i++)
		if (srv->mhooks[i].fn(srv->mhooks[i].arg, &b) != PCA_OK)
			pca_err_clear(); /* the others still go out */
	o->body = buf_steal(&b, &n);
	o->len = n;
	o->status = 200;
	o->content_type = "text/plain; version=0.0.4";
}

/* ---- life cycle ---- */

pca_err
api_conf_check(const struct api_conf *conf)
{
	if (conf->region == NULL || *conf->region == '\0')
		return pca_err_set(PCA_EINVAL, "no region configured");
	return PCA_OK;
}

static void
ctx_set(struct api_ctx *ctx, const struct api_conf *conf,
    struct ca_engine *engine)
{
	ctx->engine = engine;
	(void)snprintf(ctx->region, sizeof(ctx->region), "%s", conf->region);
	(void)snprintf(ctx->partition, sizeof(ctx->partition), "%s",
	    conf->partition ? conf->partition : "aws");
}

void
api_server_free(struct api_server *srv)
{
	if (srv == NULL)
		return;
	api_keycache_free(srv->ctx.keys);
	api_metrics_free(&srv->metrics);
	OPENSSL_cleanse(srv->ctx.token_key, sizeof(srv->ctx.token_key));
	pthread_rwlock_destroy(&srv->gen);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}

pca_err
api_server_new(const struct api_conf *conf, struct ca_engine *engine,
    struct store *store, const struct seal_ops *seal, struct api_server **out)
{
	struct api_server *srv;
	pthread_rwlockattr_t a;
	pca_err err;

	if ((err = api_conf_check(conf)) != PCA_OK)
		return err;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&srv->gen, &a);
	pthread_rwlockattr_destroy(&a);
	pthread_mutex_init(&srv->mu, NULL);
	srv->ctx.store = store;
	srv->ctx.seal = *seal;
	srv->ctx.now = util_now;
	srv->ctx.metrics = &srv->metrics;
	ctx_set(&srv->ctx, conf, engine);
	if ((err = api_metrics_init(&srv->metrics)) != PCA_OK ||
	    (err = api_keycache_new(&srv->ctx.keys)) != PCA_OK ||
	    (err = api_token_key_load(store, seal, srv->ctx.token_key)) !=
		PCA_OK) {
		api_server_free(srv);
		return err;
	}
	*out = srv;
	return PCA_OK;
}

pca_err
api_server_register(struct api_server *srv, struct http_server *http)
{
	const struct http_route api = {.port = HTTP_TLS,
	    .path = "/",
	    .prefix = 1,
	    .methods = HTTP_M_ANY,
	    .body_max = LIM_API_BODY,
	    .drain_max = DRAIN_MAX,
	    .head = api_head,
	    .fn = api_call,
	    .error = api_error,
	    .arg = srv};
	const struct http_route health = {.port = HTTP_PLAIN,
	    .path = "/health",
	    .methods = HTTP_M_GET | HTTP_M_HEAD,
	    .body_max = LIM_API_BODY,
	    .fn = api_health,
	    .arg = srv};
	struct http_route metrics = health;
	pca_err err;

	metrics.path = "/metrics";
	metrics.fn = api_metrics_page;
	srv->http = http;
	if ((err = http_route_add(http, &api)) != PCA_OK ||
	    (err = http_route_add(http, &health)) != PCA_OK)
		return err;
	return http_route_add(http, &metrics);
}

pca_err
api_server_reload(struct api_server *srv, const struct api_conf *conf,
    struct ca_engine *engine, struct ca_engine **old_engine)
{
	pca_err err;

	if ((err = api_conf_check(conf)) != PCA_OK)
		return err;
	pthread_rwlock_wrlock(&srv->gen);
	*old_engine = srv->ctx.engine;
	ctx_set(&srv->ctx, conf, engine);
	pthread_rwlock_unlock(&srv->gen);
	return PCA_OK;
}

void
api_server_approval_set(struct api_server *srv,
    const struct api_approval_conf *c)
{
	api_approval_set(&srv->ctx, c);
}

void
api_server_services_set(struct api_server *srv, const struct api_services *s)
{
	srv->ctx.svc = *s;
}

pca_err
api_server_metrics_hook(struct api_server *srv,
    pca_err (*fn)(void *arg, struct buf *out), void *arg)
{
	pca_err err = PCA_OK;

	pthread_mutex_lock(&srv->mu);
	if (srv->nmhooks == API_METRICS_HOOKS)
		err = pca_err_set(PCA_ELIMIT,
		    "%d metrics hooks are set already", API_METRICS_HOOKS);
	else {
		srv->mhooks[srv->nmhooks].arg = arg;
		srv->mhooks[srv->nmhooks].fn = fn;
		srv->nmhooks++;
	}
	pthread_mutex_unlock(&srv->mu);
	return err;
}

/* The context under the generation lock (console.c); unlock after use. */
struct api_ctx *
api_server_ctx_hold(struct api_server *srv)
{
	pthread_rwlock_rdlock(&srv->gen);
	return &srv->ctx;
}

void
api_server_ctx_release(struct api_server *srv)
{
	pthread_rwlock_unlock(&srv->gen);
}
