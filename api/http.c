/*
 * http.c - the listeners (libmicrohttpd): the API on HTTPS, one thread per
 * connection since an operation may wait on the token and on an LMDB commit;
 * the plain-HTTP port for /health, /metrics and the routes of other modules
 * (OCSP, CRLs), on a small thread pool.  Framing rules are enforced here as
 * the body arrives: POST only, no chunked bodies, at most LIM_API_BODY.
 */
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../hsm/hsm.h"
#include "../store/store.h"
#include "api_int.h"

#define CONN_MEMORY (128 * 1024) /* headers and read buffer */
#define HTTP_THREADS 2
#define MAX_ROUTES 8
#define LISTEN_MAX 300
#define TLS_PEM_MAX (64 * 1024)
#define TLS_PRIORITIES "NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"
#define DRAIN_MAX                                                              \
	(8 * 1024 * 1024) /* oversized bodies read and dropped,                \
			     so the client sees the 413 */

struct route {
	char prefix[64];
	api_http_fn fn;
	void *arg;
};

/* One generation of listeners, replaced whole by a reload. */
struct listeners {
	struct api_server *srv;
	struct MHD_Daemon *api;
	struct MHD_Daemon *http;
	char *cert_pem, *key_pem;
	char api_listen[LISTEN_MAX], http_listen[LISTEN_MAX];
	unsigned max_conns, timeout_s;
	unsigned api_port, http_port;
	int qfd[2]; /* quiesced listen sockets: http, api */
	_Atomic long inflight;
};

struct api_server {
	pthread_rwlock_t gen; /* ctx.engine, region, partition */
	struct api_ctx ctx;
	struct api_metrics metrics;
	pthread_mutex_t mu; /* cur, routes */
	struct listeners *cur;
	struct route routes[MAX_ROUTES];
	size_t nroutes;
	char any_ctype[64];	/* the catch-all (OCSP), set before serving */
	api_http_any_fn any_fn;
	void *any_arg;
	struct {
		pca_err (*fn)(void *, struct buf *);
		void *arg;
	} mhooks[API_METRICS_HOOKS];
	size_t nmhooks;
};

struct req {
	struct listeners *ls;
	struct buf body;
	int rejected; /* a response is queued already */
	int too_big;  /* body dropped; 413 at the end */
	struct timespec start;
};

/* ---- small helpers ---- */

static double
elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static enum MHD_Result
respond(struct MHD_Connection *c, int status, const char *ctype, char *body,
    size_t len, const char *request_id)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (request_id != NULL)
		(void)MHD_add_response_header(
		    r, "x-amzn-RequestId", request_id);
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A module's answer: its status, type, body and extra headers. */
static enum MHD_Result
respond_out(struct MHD_Connection *c, struct api_http_out *o)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t i;

	r = MHD_create_response_from_buffer(o->len, o->body,
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(o->body);
		return MHD_NO;
	}
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    o->content_type ? o->content_type : "application/octet-stream");
	for (i = 0; i < o->nhdrs && i < API_HTTP_OUT_HDRS; i++)
		(void)MHD_add_response_header(r, o->hdrs[i].name,
		    o->hdrs[i].value);
	ret = MHD_queue_response(c, (unsigned)(o->status ? o->status : 500),
	    r);
	MHD_destroy_response(r);
	return ret;
}

/* A framing error on the API port, with a JSON body and a request id. */
static enum MHD_Result
reject(struct MHD_Connection *c, struct req *rq, int status, const char *code,
    const char *msg)
{
	struct api_resp resp;

	memset(&resp, 0, sizeof(resp));
	if (util_uuid(resp.request_id) != PCA_OK)
		pca_err_clear();
	api_resp_error(&resp, status, code, msg);
	rq->rejected = 1;
	atomic_fetch_add(&rq->ls->srv->metrics.rejected, 1);
	api_metrics_observe(
	    &rq->ls->srv->metrics, api_nops, status, elapsed(&rq->start));
	log_info("request=%s rejected: %d %s: %s", resp.request_id, status,
	    code, msg);
	return respond(c, status, "application/x-amz-json-1.1", resp.body,
	    resp.len, resp.request_id);
}

static size_t
unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s); /* SigV4 wants the path as sent */
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_debug("http: %s", line);
}
#pragma GCC diagnostic pop

/* ---- collecting a request ---- */

struct collect {
	struct api_hdr *v;
	size_t n, max, bytes;
	int overflow;
};

static enum MHD_Result
collect_cb(
    void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct collect *c = cls;

	(void)kind;
	if (c->n == c->max) {
		c->overflow = 1;
		return MHD_NO;
	}
	c->bytes += strlen(key) + (value ? strlen(value) : 0);
	c->v[c->n].name = key;
	c->v[c->n].value = value ? value : "";
	c->n++;
	return MHD_YES;
}

static enum MHD_Result
api_finish(struct MHD_Connection *c, const char *url, const char *method,
    struct req *rq)
{
	struct api_hdr hdrs[API_MAX_HEADERS], query[API_MAX_HEADERS];
	struct collect ch = {hdrs, 0, API_MAX_HEADERS, 0, 0};
	struct collect cq = {query, 0, API_MAX_HEADERS, 0, 0};
	struct api_http_req r;
	struct api_resp resp;
	struct api_server *srv = rq->ls->srv;

	(void)MHD_get_connection_values(c, MHD_HEADER_KIND, collect_cb, &ch);
	(void)MHD_get_connection_values(
	    c, MHD_GET_ARGUMENT_KIND, collect_cb, &cq);
	if (ch.overflow || cq.overflow || ch.bytes > API_MAX_HEADER_BLOCK)
		return reject(c, rq, 431, "RequestHeaderFieldsTooLarge",
		    "Too many or too large request headers");
	memset(&r, 0, sizeof(r));
	r.method = method;
	r.path = url;
	r.query = query;
	r.nquery = cq.n;
	r.hdrs = hdrs;
	r.nhdrs = ch.n;
	r.body = rq->body.p;
	r.body_len = rq->body.len;
	pthread_rwlock_rdlock(&srv->gen);
	api_dispatch(&srv->ctx, &r, &resp);
	pthread_rwlock_unlock(&srv->gen);
	api_metrics_observe(&srv->metrics, api_op_index(resp.op), resp.status,
	    elapsed(&rq->start));
	return respond(c, resp.status, "application/x-amz-json-1.1", resp.body,
	    resp.len, resp.request_id);
}

/* First call: framing checks that need no body. */
static enum MHD_Result
api_begin(struct MHD_Connection *c, const char *method, struct req *rq)
{
	const char *te = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	const char *cl = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	long long n;

	if (strcmp(method, "POST") != 0)
		return reject(c, rq, 405, "MethodNotAllowedException",
		    "The ACM PCA API accepts POST requests only");
	if (te != NULL && strcasecmp(te, "identity") != 0)
		return reject(c, rq, 411, "LengthRequiredException",
		    "Chunked request bodies are not accepted; send "
		    "Content-Length");
	if (cl != NULL && util_strtonum(cl, 0, 1LL << 40, &n) != PCA_OK) {
		pca_err_clear();
		return reject(c, rq, 400, "SerializationException",
		    "Content-Length is not a number");
	}
	if (cl != NULL && n > DRAIN_MAX)
		return reject(c, rq, 413, "RequestEntityTooLargeException",
		    "The request body is larger than 65536 bytes");
	rq->too_big = cl != NULL && n > LIM_API_BODY;
	return MHD_YES;
}

static struct req *
req_new(struct listeners *ls, void **con_cls)
{
	struct req *rq = calloc(1, sizeof(*rq));

	if (rq == NULL)
		return NULL;
	rq->ls = ls;
	buf_init(&rq->body, LIM_API_BODY);
	clock_gettime(CLOCK_MONOTONIC, &rq->start);
	atomic_fetch_add(&ls->inflight, 1);
	atomic_fetch_add(&ls->srv->metrics.inflight, 1);
	*con_cls = rq;
	return rq;
}

static enum MHD_Result
on_api(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size,
    void **con_cls)
{
	struct req *rq = *con_cls;

	(void)version;
	if (rq == NULL) {
		if ((rq = req_new(cls, con_cls)) == NULL)
			return MHD_NO;
		return api_begin(c, method, rq);
	}
	if (*upload_size > 0) {
		if (!rq->rejected && !rq->too_big &&
		    buf_add(&rq->body, upload, *upload_size) != PCA_OK) {
			pca_err_clear();
			rq->too_big = 1;
		}
		*upload_size = 0; /* consumed, or dropped */
		return MHD_YES;
	}
	if (rq->rejected)
		return MHD_YES;
	if (rq->too_big)
		return reject(c, rq, 413, "RequestEntityTooLargeException",
		    "The request body is larger than 65536 bytes");
	return api_finish(c, url, method, rq);
}

static void
on_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq == NULL)
		return;
	atomic_fetch_sub(&rq->ls->srv->metrics.inflight, 1);
	atomic_fetch_sub(&rq->ls->inflight, 1);
	buf_free(&rq->body);
	free(rq);
	*con_cls = NULL;
}

/* ---- the plain-HTTP port ---- */

static enum MHD_Result
respond_json(struct MHD_Connection *c, int status, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (s == NULL)
		s = strdup("{\"status\":\"error\"}");
	if (s == NULL)
		return MHD_NO;
	return respond(c, status, "application/json", s, strlen(s), NULL);
}

static enum MHD_Result
health(struct api_server *srv, struct MHD_Connection *c)
{
	size_t n = 0;
	pca_err err;

	if ((err = hsm_health(srv->ctx.hsm)) != PCA_OK)
		return respond_json(c, 503,
		    json_pack("{s:s,s:s,s:s}", "status", "unavailable",
			"component", "token", "reason", pca_err_msg()));
	if ((err = store_health(srv->ctx.store)) != PCA_OK ||
	    (err = store_ca_count(srv->ctx.store, &n)) != PCA_OK)
		return respond_json(c, 503,
		    json_pack("{s:s,s:s,s:s}", "status", "unavailable",
			"component", "store", "reason", pca_err_msg()));
	return respond_json(c, 200,
	    json_pack("{s:s,s:s,s:s,s:I}", "status", "ok", "token", "ok",
		"store", "ok", "certificate_authorities", (json_int_t)n));
}

static enum MHD_Result
metrics(struct api_server *srv, struct MHD_Connection *c)
{
	struct buf b;
	size_t n, i;
	char *s;

	buf_init(&b, 4 * 1024 * 1024);
	if (api_metrics_render(&srv->metrics, srv->ctx.hsm, &b) != PCA_OK) {
		buf_free(&b);
		return respond_json(c, 500,
		    json_pack("{s:s,s:s}", "status", "error", "reason",
			pca_err_msg()));
	}
	/* hooks are only added before the listeners serve */
	for (i = 0; i < srv->nmhooks; i++)
		if (srv->mhooks[i].fn(srv->mhooks[i].arg, &b) != PCA_OK)
			pca_err_clear(); /* the others still go out */
	s = (char *)buf_steal(&b, &n);
	return respond(c, 200, "text/plain; version=0.0.4", s, n, NULL);
}

/* A module's route for the path, or NULL. */
static const struct route *
route_find(struct api_server *srv, const char *path, struct route *out)
{
	size_t i;
	const struct route *r = NULL;

	pthread_mutex_lock(&srv->mu);
	for (i = 0; i < srv->nroutes; i++)
		if (strncmp(path, srv->routes[i].prefix,
			strlen(srv->routes[i].prefix)) == 0) {
			*out = srv->routes[i];
			r = out;
			break;
		}
	pthread_mutex_unlock(&srv->mu);
	return r;
}

/* True when the Content-Type header names type (parameters ignored). */
static int
ctype_is(const char *h, const char *type)
{
	size_t n = strlen(type);

	return h != NULL && type[0] != '\0' && strncasecmp(h, type, n) == 0 &&
	       (h[n] == '\0' || h[n] == ';' || h[n] == ' ');
}

static enum MHD_Result
http_any(struct MHD_Connection *c, const char *url, const char *method,
    const char *ctype, struct req *rq)
{
	struct api_server *srv = rq->ls->srv;
	struct api_http_in in = {method, url, ctype, rq->body.p, rq->body.len};
	struct api_http_out out;

	memset(&out, 0, sizeof(out));
	srv->any_fn(srv->any_arg, &in, &out);
	if (out.status == 0 && out.body == NULL) /* declined */
		return respond_json(c, 404,
		    json_pack("{s:s,s:s}", "__type", "NotFound", "message",
			"No such resource on this port"));
	return respond_out(c, &out);
}

static enum MHD_Result
http_finish(struct MHD_Connection *c, const char *url, const char *method,
    struct req *rq)
{
	struct api_server *srv = rq->ls->srv;
	struct api_http_out out;
	struct route r;
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);

	atomic_fetch_add(&srv->metrics.http_requests, 1);
	if (srv->any_fn != NULL && strcmp(method, "POST") == 0 &&
	    ctype_is(ct, srv->any_ctype))
		return http_any(c, url, method, ct, rq);
	if (strcmp(url, "/health") == 0 && get)
		return health(srv, c);
	if (strcmp(url, "/metrics") == 0 && get)
		return metrics(srv, c);
	if (route_find(srv, url, &r) != NULL) {
		memset(&out, 0, sizeof(out));
		r.fn(r.arg, method, url, rq->body.p, rq->body.len, &out);
		return respond_out(c, &out);
	}
	if (srv->any_fn != NULL && get && strlen(url) > 1)
		return http_any(c, url, method, ct, rq);
	/* OCSP (POST /, GET /<request>) and CRLs plug in through routes */
	return respond_json(c, 404,
	    json_pack("{s:s,s:s}", "__type", "NotFound", "message",
		"No such resource on this port"));
}

static enum MHD_Result
on_http(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct req *rq = *con_cls;

	(void)version;
	if (rq == NULL)
		return req_new(cls, con_cls) ? MHD_YES : MHD_NO;
	if (*upload_size > 0) {
		if (!rq->rejected &&
		    buf_add(&rq->body, upload, *upload_size) != PCA_OK) {
			pca_err_clear();
			rq->rejected = 1;
			*upload_size = 0;
			return respond_json(c, 413,
			    json_pack("{s:s,s:s}", "__type",
				"RequestEntityTooLarge", "message",
				"The request body is too large"));
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->rejected)
		return MHD_YES;
	return http_finish(c, url, method, rq);
}

/* ---- listeners ---- */

/* "host:port" or "[v6]:port" into a socket address. */
static pca_err
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[LISTEN_MAX];
	const char *colon, *h = s, *port;
	struct addrinfo hints, *ai = NULL;
	long long p;
	size_t hl;

	if (s == NULL || (colon = strrchr(s, ':')) == NULL)
		return pca_err_set(PCA_EINVAL,
		    "listen address '%.64s' is not host:port", s ? s : "");
	port = colon + 1;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']')
		h = s + 1, hl -= 2;
	if (hl == 0 || hl >= sizeof(host) ||
	    util_strtonum(port, 0, 65535, &p) != PCA_OK)
		return pca_err_set(
		    PCA_EINVAL, "listen address '%.64s' is not host:port", s);
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL ||
	    ai->ai_addrlen > sizeof(*ss)) {
		if (ai != NULL)
			freeaddrinfo(ai);
		return pca_err_set(
		    PCA_EINVAL, "cannot resolve listen address '%.64s'", s);
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return PCA_OK;
}

static pca_err
read_pem(const char *path, char **out)
{
	uint8_t *p = NULL;
	size_t n;
	pca_err err;

	if ((err = util_file_read(path, TLS_PEM_MAX, &p, &n)) != PCA_OK)
		return err;
	*out = (char *)p; /* NUL-terminated by util_file_read */
	return PCA_OK;
}

/* Certificate and key parse and belong together. */
static pca_err
tls_check(const char *cert_pem, const char *key_pem)
{
	BIO *cb = BIO_new_mem_buf(cert_pem, -1);
	BIO *kb = BIO_new_mem_buf(key_pem, -1);
	X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	pca_err err = PCA_OK;

	if (x == NULL || k == NULL)
		err = pca_err_set(PCA_EINVAL, "the TLS %s is not PEM",
		    x == NULL ? "certificate" : "key");
	else if (X509_check_private_key(x, k) != 1)
		err = pca_err_set(
		    PCA_EINVAL, "the TLS key does not match the certificate");
	if (err != PCA_OK)
		pca_err_add_openssl();
	X509_free(x);
	EVP_PKEY_free(k);
	BIO_free(cb);
	BIO_free(kb);
	return err;
}

pca_err
api_conf_check(const struct api_conf *conf)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char *cert = NULL, *key = NULL;
	pca_err err;

	if ((err = parse_listen(conf->api_listen, &ss, &len)) != PCA_OK ||
	    (conf->http_listen != NULL &&
		(err = parse_listen(conf->http_listen, &ss, &len)) != PCA_OK))
		return err;
	if (conf->region == NULL || *conf->region == '\0')
		return pca_err_set(PCA_EINVAL, "no region configured");
	if ((err = read_pem(conf->tls_cert, &cert)) == PCA_OK &&
	    (err = read_pem(conf->tls_key, &key)) == PCA_OK)
		err = tls_check(cert, key);
	free(cert);
	if (key != NULL)
		mem_free_secure(key, strlen(key));
	return err;
}

static void
listeners_free(struct listeners *ls)
{
	if (ls == NULL)
		return;
	if (ls->api != NULL)
		MHD_stop_daemon(ls->api);
	if (ls->http != NULL)
		MHD_stop_daemon(ls->http);
	if (ls->qfd[0] >= 0)
		(void)close(ls->qfd[0]);
	if (ls->qfd[1] >= 0)
		(void)close(ls->qfd[1]);
	free(ls->cert_pem);
	if (ls->key_pem != NULL)
		mem_free_secure(ls->key_pem, strlen(ls->key_pem));
	free(ls);
}

static unsigned
bound_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *i =
	    MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

	return i ? i->port : 0;
}

static struct MHD_Daemon *
start_api(const struct listeners *ls, struct listeners *owner, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_TLS |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;

	if (parse_listen(ls->api_listen, &ss, &len) != PCA_OK)
		return NULL;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(flags, 0, NULL, NULL, on_api, owner,
	    fd >= 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_SOCK_ADDR,
	    fd >= 0 ? (intptr_t)fd : (intptr_t)&ss, MHD_OPTION_HTTPS_MEM_CERT,
	    ls->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, ls->key_pem,
	    MHD_OPTION_CONNECTION_LIMIT, ls->max_conns,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
	    MHD_OPTION_CONNECTION_TIMEOUT, ls->timeout_s,
	    MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
}

static struct MHD_Daemon *
start_http(const struct listeners *ls, struct listeners *owner, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	/* TURBO: optimistic reads, no shutdown() before close (throughput of
	   the OCSP path; SIGPIPE is ignored by pcad) */
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;

	if (parse_listen(ls->http_listen, &ss, &len) != PCA_OK)
		return NULL;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(flags, 0, NULL, NULL, on_http, owner,
	    fd >= 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_SOCK_ADDR,
	    fd >= 0 ? (intptr_t)fd : (intptr_t)&ss, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned)HTTP_THREADS, MHD_OPTION_CONNECTION_LIMIT, ls->max_conns,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
	    MHD_OPTION_CONNECTION_TIMEOUT, ls->timeout_s,
	    MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
}

static pca_err
listeners_new(
    struct api_server *srv, const struct api_conf *conf, struct listeners **out)
{
	struct listeners *ls = calloc(1, sizeof(*ls));
	pca_err err;

	if (ls == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	ls->srv = srv;
	ls->qfd[0] = ls->qfd[1] = -1;
	(void)snprintf(
	    ls->api_listen, sizeof(ls->api_listen), "%s", conf->api_listen);
	(void)snprintf(ls->http_listen, sizeof(ls->http_listen), "%s",
	    conf->http_listen ? conf->http_listen : "");
	ls->max_conns = conf->max_conns ? conf->max_conns : 256;
	ls->timeout_s = conf->timeout_s ? conf->timeout_s : 30;
	if ((err = read_pem(conf->tls_cert, &ls->cert_pem)) != PCA_OK ||
	    (err = read_pem(conf->tls_key, &ls->key_pem)) != PCA_OK ||
	    (err = tls_check(ls->cert_pem, ls->key_pem)) != PCA_OK) {
		listeners_free(ls);
		return err;
	}
	*out = ls;
	return PCA_OK;
}

static int
same_addr(const struct listeners *a, const struct listeners *b, int api)
{
	return b != NULL && strcmp(api ? a->api_listen : a->http_listen,
				api ? b->api_listen : b->http_listen) == 0;
}

/* Phase 1: binds each daemon of ls whose address old does not use. */
static pca_err
bind_new(struct listeners *ls, const struct listeners *old)
{
	if (!same_addr(ls, old, 1) && (ls->api = start_api(ls, ls, -1)) == NULL)
		return pca_err_set(PCA_EIO,
		    "cannot listen on %s (address in "
		    "use or not permitted?)",
		    ls->api_listen);
	if (ls->http_listen[0] != '\0' && !same_addr(ls, old, 0) &&
	    (ls->http = start_http(ls, ls, -1)) == NULL)
		return pca_err_set(PCA_EIO,
		    "cannot listen on %s (address in "
		    "use or not permitted?)",
		    ls->http_listen);
	return PCA_OK;
}

/*
 * Phase 2: old stops accepting; a listener on an unchanged address takes
 * old's socket over, so no connection is refused in between.  Should the
 * new daemon fail on it, old's settings take the socket back (the daemon
 * still goes into ls, which then runs partly on the old settings).
 */
static pca_err
hand_over(struct listeners *ls, struct listeners *old, int api)
{
	struct MHD_Daemon **od = api ? &old->api : &old->http;
	struct MHD_Daemon **nd = api ? &ls->api : &ls->http;
	MHD_socket fd;

	if (*od == NULL)
		return PCA_OK;
	fd = MHD_quiesce_daemon(*od);
	if (!same_addr(ls, old, api) || (!api && ls->http_listen[0] == '\0')) {
		old->qfd[api] = fd; /* closed once old has stopped */
		return PCA_OK;
	}
	if (fd == MHD_INVALID_SOCKET)
		return pca_err_set(PCA_EINTERNAL, "cannot quiesce %s",
		    api ? old->api_listen : old->http_listen);
	if ((*nd = (api ? start_api : start_http)(ls, ls, fd)) != NULL)
		return PCA_OK;
	if ((*nd = (api ? start_api : start_http)(old, ls, fd)) == NULL)
		(void)close(fd);
	return pca_err_set(PCA_EIO,
	    "cannot start the new listener on %s; "
	    "the old settings stay in force there",
	    api ? ls->api_listen : ls->http_listen);
}

/* Waits (at most s seconds) until no request of ls is in flight. */
static void
drain(struct listeners *ls, unsigned s)
{
	struct timespec t0, nap = {0, 20 * 1000 * 1000};

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (atomic_load(&ls->inflight) > 0 && elapsed(&t0) < (double)s)
		nanosleep(&nap, NULL);
	if (atomic_load(&ls->inflight) > 0)
		log_warnx("%ld requests still in flight after %u s",
		    (long)atomic_load(&ls->inflight), s);
}

static void
ctx_set(
    struct api_ctx *ctx, const struct api_conf *conf, struct ca_engine *engine)
{
	ctx->engine = engine;
	(void)snprintf(ctx->region, sizeof(ctx->region), "%s", conf->region);
	(void)snprintf(ctx->partition, sizeof(ctx->partition), "%s",
	    conf->partition ? conf->partition : "aws");
}

static void
server_free(struct api_server *srv)
{
	api_keycache_free(srv->ctx.keys);
	api_metrics_free(&srv->metrics);
	OPENSSL_cleanse(srv->ctx.token_key, sizeof(srv->ctx.token_key));
	pthread_rwlock_destroy(&srv->gen);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}

static pca_err
server_new(const struct api_conf *conf, struct ca_engine *engine,
    struct store *store, struct hsm *hsm, struct api_server **out)
{
	struct api_server *srv = calloc(1, sizeof(*srv));
	pthread_rwlockattr_t a;
	pca_err err;

	if (srv == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(
	    &a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&srv->gen, &a);
	pthread_rwlockattr_destroy(&a);
	pthread_mutex_init(&srv->mu, NULL);
	srv->ctx.store = store;
	srv->ctx.hsm = hsm;
	srv->ctx.now = util_now;
	srv->ctx.metrics = &srv->metrics;
	ctx_set(&srv->ctx, conf, engine);
	if ((err = api_metrics_init(&srv->metrics)) != PCA_OK ||
	    (err = api_keycache_new(&srv->ctx.keys)) != PCA_OK ||
	    (err = api_token_key_load(store, hsm, srv->ctx.token_key)) !=
		PCA_OK) {
		server_free(srv);
		return err;
	}
	*out = srv;
	return PCA_OK;
}

pca_err
api_server_start(const struct api_conf *conf, struct ca_engine *engine,
    struct store *store, struct hsm *hsm, struct api_server **out)
{
	struct api_server *srv = NULL;
	struct listeners *ls = NULL;
	pca_err err;

	if ((err = api_conf_check(conf)) != PCA_OK ||
	    (err = server_new(conf, engine, store, hsm, &srv)) != PCA_OK)
		return err;
	if ((err = listeners_new(srv, conf, &ls)) != PCA_OK ||
	    (err = bind_new(ls, NULL)) != PCA_OK) {
		listeners_free(ls);
		server_free(srv);
		return err;
	}
	ls->api_port = bound_port(ls->api);
	ls->http_port = ls->http ? bound_port(ls->http) : 0;
	srv->cur = ls;
	log_info("API listening on https://%s (port %u), HTTP on %s (port %u)",
	    ls->api_listen, ls->api_port,
	    ls->http_listen[0] ? ls->http_listen : "-", ls->http_port);
	*out = srv;
	return PCA_OK;
}

pca_err
api_server_reload(struct api_server *srv, const struct api_conf *conf,
    struct ca_engine *engine, struct ca_engine **old_engine)
{
	struct listeners *ls = NULL, *old = srv->cur;
	pca_err err, err2;

	if ((err = api_conf_check(conf)) != PCA_OK ||
	    (err = listeners_new(srv, conf, &ls)) != PCA_OK)
		return err;
	if ((err = bind_new(ls, old)) != PCA_OK) {
		listeners_free(ls); /* nothing else has changed */
		return err;
	}
	err = hand_over(ls, old, 1);
	err2 = hand_over(ls, old, 0);
	ls->api_port = ls->api ? bound_port(ls->api) : 0;
	ls->http_port = ls->http ? bound_port(ls->http) : 0;
	pthread_mutex_lock(&srv->mu);
	srv->cur = ls;
	pthread_mutex_unlock(&srv->mu);
	if (err == PCA_OK && (err = err2) == PCA_OK) {
		pthread_rwlock_wrlock(&srv->gen);
		*old_engine = srv->ctx.engine;
		ctx_set(&srv->ctx, conf, engine);
		pthread_rwlock_unlock(&srv->gen);
	}
	drain(old, 30);
	listeners_free(old);
	if (err != PCA_OK)
		return err;
	log_info("configuration reloaded: API port %u, HTTP port %u",
	    ls->api_port, ls->http_port);
	return PCA_OK;
}

void
api_server_ports(
    const struct api_server *srv, unsigned *api_port, unsigned *http_port)
{
	*api_port = srv->cur->api_port;
	*http_port = srv->cur->http_port;
}

void
api_server_stop(struct api_server *srv, unsigned drain_s)
{
	struct listeners *ls;

	if (srv == NULL)
		return;
	ls = srv->cur;
	if (ls->api != NULL)
		ls->qfd[1] = MHD_quiesce_daemon(ls->api);
	if (ls->http != NULL)
		ls->qfd[0] = MHD_quiesce_daemon(ls->http);
	drain(ls, drain_s);
	listeners_free(ls);
	server_free(srv);
}

pca_err
api_server_fallback(struct api_server *srv, const char *content_type,
    api_http_any_fn fn, void *arg)
{
	pca_err err = PCA_OK;

	pthread_mutex_lock(&srv->mu);
	if (srv->any_fn != NULL ||
	    strlen(content_type) >= sizeof(srv->any_ctype))
		err = pca_err_set(PCA_ELIMIT, "a catch-all route is set already");
	else {
		(void)snprintf(srv->any_ctype, sizeof(srv->any_ctype), "%s",
		    content_type);
		srv->any_arg = arg;
		srv->any_fn = fn;
	}
	pthread_mutex_unlock(&srv->mu);
	return err;
}

pca_err
api_server_metrics_hook(struct api_server *srv,
    pca_err (*fn)(void *arg, struct buf *out), void *arg)
{
	pca_err err = PCA_OK;

	pthread_mutex_lock(&srv->mu);
	if (srv->nmhooks == API_METRICS_HOOKS)
		err = pca_err_set(PCA_ELIMIT, "%d metrics hooks are set already",
		    API_METRICS_HOOKS);
	else {
		srv->mhooks[srv->nmhooks].arg = arg;
		srv->mhooks[srv->nmhooks].fn = fn;
		srv->nmhooks++;
	}
	pthread_mutex_unlock(&srv->mu);
	return err;
}

pca_err
api_server_route(
    struct api_server *srv, const char *prefix, api_http_fn fn, void *arg)
{
	pca_err err = PCA_OK;

	pthread_mutex_lock(&srv->mu);
	if (srv->nroutes == MAX_ROUTES ||
	    strlen(prefix) >= sizeof(srv->routes[0].prefix))
		err = pca_err_set(PCA_ELIMIT, "too many routes");
	else {
		(void)snprintf(srv->routes[srv->nroutes].prefix,
		    sizeof(srv->routes[0].prefix), "%s", prefix);
		srv->routes[srv->nroutes].fn = fn;
		srv->routes[srv->nroutes++].arg = arg;
	}
	pthread_mutex_unlock(&srv->mu);
	return err;
}
