/*
 * http.c - the listeners (libmicrohttpd) and the route table.  The TLS
 * listener runs one thread per connection (a handler may wait on the token
 * or an LMDB commit); the plain listener an epoll thread pool.  Each
 * request: head rules (frame.c) and the head deadline released (guard.c),
 * the route chosen from method, path and Content-Type, the body collected
 * up to the route's limit as it arrives, then the handler.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
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
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "http_int.h"

#define CONN_MEMORY (128 * 1024) /* headers and read buffer */
#define PLAIN_THREADS 2
#define MAX_ROUTES 16
#define LISTEN_MAX 300
#define ROUTE_PATH_MAX 128
#define TLS_PEM_MAX (64 * 1024)
#define NOROUTE_BODY_MAX (64 * 1024)

/* One generation of listeners, replaced whole by a reload. */
struct listeners;
struct lport {
	struct listeners *ls;
	enum http_port port;
};

struct listeners {
	struct http_server *srv;
	struct MHD_Daemon *d[HTTP_NPORTS];
	struct http_guard guard[HTTP_NPORTS];
	struct lport lp[HTTP_NPORTS];
	char *cert_pem, *key_pem;
	char listen[HTTP_NPORTS][LISTEN_MAX];
	unsigned max_conns, timeout_s, head_s, per_ip;
	unsigned bound[HTTP_NPORTS];
	int qfd[HTTP_NPORTS]; /* quiesced listen sockets */
	int lfd[HTTP_NPORTS]; /* bound by http_server_new, not yet served */
	_Atomic long inflight;
};

struct route {
	struct http_route r;
	char path[ROUTE_PATH_MAX];
	char ctype[64];
};

struct http_server {
	pthread_mutex_t mu; /* cur */
	struct listeners *cur;
	struct listeners *pending; /* bound, until http_start */
	struct route routes[MAX_ROUTES];
	size_t nroutes;
	int started;
	_Atomic uint64_t inflight, plain_requests, rejected;
	_Atomic uint64_t reaped_old; /* of listener generations gone */
};

struct req {
	struct listeners *ls;
	enum http_port port;
	void *gconn;
	const struct route *route; /* NULL: no route, 404 at the end */
	struct http_hdr hdrs[HTTP_MAX_HEADERS], query[HTTP_MAX_HEADERS];
	size_t nhdrs, nquery;
	struct buf body;
	size_t dropped;
	int rejected; /* a response is queued already */
	int too_big;  /* body dropped; 413 at the end */
	struct timespec start;
	char ip[46]; /* the client's address ("" when unknown) */
};

/* ---- small helpers ---- */

const char *
http_req_hdr(const struct http_req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nhdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			return r->hdrs[i].value;
	return NULL;
}

double
http_req_elapsed(const struct http_req *r)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - r->start.tv_sec) +
	       (double)(t1.tv_nsec - r->start.tv_nsec) / 1e9;
}

void
http_resp_hdr(struct http_resp *o, const char *name, const char *value)
{
	if (o->nhdrs >= HTTP_RESP_HDRS)
		return;
	o->hdrs[o->nhdrs].name = name;
	(void)snprintf(o->hdrs[o->nhdrs].value, sizeof(o->hdrs[o->nhdrs].value),
	    "%s", value);
	o->nhdrs++;
}

void
http_resp_text(struct http_resp *o, int status, const char *ctype,
    const char *text)
{
	size_t n = strlen(text);

	free(o->body);
	o->status = status;
	o->content_type = ctype;
	o->body = malloc(n + 1);
	o->len = o->body != NULL ? n : 0;
	if (o->body != NULL)
		memcpy(o->body, text, n + 1);
}

static const char *
status_code(int status)
{
	switch (status) {
	case 400:
		return "BadRequest";
	case 404:
		return "NotFound";
	case 405:
		return "MethodNotAllowed";
	case 413:
		return "RequestEntityTooLarge";
	case 431:
		return "RequestHeaderFieldsTooLarge";
	default:
		return "Error";
	}
}

/* {"__type":..,"message":..}; messages are ours (no quotes to escape). */
static void
default_error(int status, const char *msg, struct http_resp *o)
{
	char s[512];

	(void)snprintf(s, sizeof(s), "{\"__type\":\"%s\",\"message\":\"%s\"}",
	    status_code(status), msg);
	http_resp_text(o, status, "application/json", s);
}

static void
resp_clear(struct http_resp *o)
{
	free(o->body);
	memset(o, 0, sizeof(*o));
}

static enum MHD_Result
send_resp(struct MHD_Connection *c, struct http_resp *o)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t i;

	r = MHD_create_response_from_buffer(o->len, o->body,
	    MHD_RESPMEM_MUST_FREE);
	o->body = NULL; /* the response owns it, or it is freed below */
	if (r == NULL)
		return MHD_NO;
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    o->content_type ? o->content_type : "application/octet-stream");
	for (i = 0; i < o->nhdrs && i < HTTP_RESP_HDRS; i++)
		(void)MHD_add_response_header(r, o->hdrs[i].name,
		    o->hdrs[i].value);
	if (o->close)
		(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION,
		    "close");
	ret = MHD_queue_response(c, (unsigned)(o->status ? o->status : 500), r);
	MHD_destroy_response(r);
	return ret;
}

/* The client's address as text into out ("" when unknown). */
static void
client_ip(struct MHD_Connection *c, char *out, size_t outlen)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	out[0] = '\0';
	if (sa == NULL ||
	    getnameinfo(sa,
		sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					  : sizeof(struct sockaddr_in),
		out, (socklen_t)outlen, NULL, 0, NI_NUMERICHOST) != 0)
		out[0] = '\0';
}

static void
req_view(const struct req *rq, const char *method, const char *url,
    struct http_req *r)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->path = url;
	r->hdrs = rq->hdrs;
	r->nhdrs = rq->nhdrs;
	r->query = rq->query;
	r->nquery = rq->nquery;
	r->body = rq->body.p;
	r->len = rq->body.len;
	r->start = rq->start;
	r->remote_ip = rq->ip[0] ? rq->ip : NULL;
}

/* A framing error: formatted by the route (or the default), then sent. */
static enum MHD_Result
reject(struct MHD_Connection *c, struct req *rq, const char *method,
    const char *url, int status, const char *msg, int close)
{
	struct http_resp o;
	struct http_req r;
	const struct route *rt = rq->route;

	memset(&o, 0, sizeof(o));
	req_view(rq, method, url, &r);
	r.body = NULL;
	r.len = 0;
	if (rt != NULL && rt->r.error != NULL)
		rt->r.error(rt->r.arg, &r, status, msg, &o);
	if (o.status == 0)
		default_error(status, msg, &o);
	o.close = o.close || close;
	rq->rejected = 1;
	atomic_fetch_add(&rq->ls->srv->rejected, 1);
	return send_resp(c, &o);
}

static size_t
unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s); /* SigV4 and OCSP GET want the path as sent */
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

/* ---- routing ---- */

static unsigned
method_bit(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return HTTP_M_GET;
	if (strcmp(m, "HEAD") == 0)
		return HTTP_M_HEAD;
	if (strcmp(m, "POST") == 0)
		return HTTP_M_POST;
	return 0x80u; /* another method: only HTTP_M_ANY takes it */
}

/* True when the Content-Type header names type (parameters ignored). */
static int
ctype_is(const char *h, const char *type)
{
	size_t n = strlen(type);

	return h != NULL && strncasecmp(h, type, n) == 0 &&
	       (h[n] == '\0' || h[n] == ';' || h[n] == ' ');
}

static int
route_match(const struct route *rt, enum http_port port, unsigned m,
    const char *path, const char *ctype)
{
	const struct http_route *r = &rt->r;

	if (r->port != port || (r->methods & m) == 0)
		return 0;
	if (rt->ctype[0] != '\0' && !ctype_is(ctype, rt->ctype))
		return 0;
	return r->prefix ? strncmp(path, rt->path, strlen(rt->path)) == 0
			 : strcmp(path, rt->path) == 0;
}

/* The first route after `after` (NULL: from the start) that matches. */
static const struct route *
route_find(const struct http_server *srv, const struct route *after,
    enum http_port port, const char *method, const char *path,
    const char *ctype)
{
	size_t i = after != NULL ? (size_t)(after - srv->routes) + 1 : 0;
	unsigned m = method_bit(method);

	for (; i < srv->nroutes; i++)
		if (route_match(&srv->routes[i], port, m, path, ctype))
			return &srv->routes[i];
	return NULL;
}

/* ---- a request ---- */

struct collect {
	struct http_hdr *v;
	size_t n, max;
	int overflow;
};

static enum MHD_Result
collect_cb(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct collect *c = cls;

	(void)kind;
	if (c->n == c->max) {
		c->overflow = 1;
		return MHD_NO;
	}
	c->v[c->n].name = key;
	c->v[c->n].value = value ? value : "";
	c->n++;
	return MHD_YES;
}

static void *
conn_ctx(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

static struct req *
req_new(struct lport *lp, struct MHD_Connection *c, void **con_cls)
{
	struct req *rq = calloc(1, sizeof(*rq));

	if (rq == NULL)
		return NULL;
	rq->ls = lp->ls;
	rq->port = lp->port;
	rq->gconn = conn_ctx(c);
	http_guard_head_done(&lp->ls->guard[lp->port], rq->gconn);
	buf_init(&rq->body, NOROUTE_BODY_MAX);
	client_ip(c, rq->ip, sizeof(rq->ip));
	clock_gettime(CLOCK_MONOTONIC, &rq->start);
	atomic_fetch_add(&rq->ls->inflight, 1);
	atomic_fetch_add(&rq->ls->srv->inflight, 1);
	*con_cls = rq;
	return rq;
}

/* First call: the head is in.  Rules, route, limits, the route's head. */
static enum MHD_Result
req_begin(struct MHD_Connection *c, struct req *rq, const char *method,
    const char *url)
{
	struct collect ch = {rq->hdrs, 0, HTTP_MAX_HEADERS, 0};
	struct collect cq = {rq->query, 0, HTTP_MAX_HEADERS, 0};
	struct http_server *srv = rq->ls->srv;
	const struct route *rt;
	struct http_resp o;
	struct http_req r;
	enum http_body body;
	uint64_t clen = 0;
	size_t max;
	pca_err err;

	(void)MHD_get_connection_values(c, MHD_HEADER_KIND, collect_cb, &ch);
	(void)MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_cb,
	    &cq);
	rq->nhdrs = ch.n;
	rq->nquery = cq.n;
	rq->route = rt = route_find(srv, NULL, rq->port, method, url,
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		MHD_HTTP_HEADER_CONTENT_TYPE));
	if (ch.overflow || cq.overflow)
		return reject(c, rq, method, url, 431,
		    "Too many or too large request headers", 1);
	if ((err = http_head_check(rq->hdrs, rq->nhdrs, &body, &clen)) !=
	    PCA_OK) {
		log_info("http: request refused: %s", pca_err_msg());
		pca_err_clear();
		return err == PCA_ETOOBIG
			   ? reject(c, rq, method, url, 431,
				 "Too many or too large request headers", 1)
			   : reject(c, rq, method, url, 400,
				 "Malformed request framing", 1);
	}
	max = rt != NULL ? rt->r.body_max : NOROUTE_BODY_MAX;
	buf_init(&rq->body, max);
	if (rt != NULL && rt->r.head != NULL) {
		memset(&o, 0, sizeof(o));
		req_view(rq, method, url, &r);
		rt->r.head(rt->r.arg, &r, &o);
		if (o.status != 0) {
			rq->rejected = 1;
			o.close = o.close || body != HTTP_BODY_NONE;
			return send_resp(c, &o);
		}
	}
	if (body == HTTP_BODY_LENGTH && clen > max &&
	    clen > (rt != NULL ? rt->r.drain_max : 0))
		return reject(c, rq, method, url, 413,
		    "The request body is too large", 1);
	rq->too_big = body == HTTP_BODY_LENGTH && clen > max;
	return MHD_YES;
}

/* Body bytes: kept up to the route's limit, then dropped (bounded). */
static enum MHD_Result
req_upload(struct req *rq, const char *data, size_t *n)
{
	size_t drain = rq->route != NULL ? rq->route->r.drain_max : 0;

	if (!rq->rejected && !rq->too_big &&
	    buf_add(&rq->body, data, *n) != PCA_OK) {
		pca_err_clear();
		rq->too_big = 1;
	}
	if (rq->too_big || rq->rejected)
		rq->dropped += *n;
	*n = 0;
	/* a chunked body past every limit: no answer can be queued mid-body,
	   so the connection is closed */
	if (rq->dropped > drain + NOROUTE_BODY_MAX)
		return MHD_NO;
	return MHD_YES;
}

static enum MHD_Result
req_finish(struct MHD_Connection *c, struct req *rq, const char *method,
    const char *url)
{
	struct http_server *srv = rq->ls->srv;
	const struct route *rt = rq->route;
	struct http_resp o;
	struct http_req r;
	const char *ct;

	if (rq->too_big) /* and the connection closes: never a hang */
		return reject(c, rq, method, url, 413,
		    "The request body is too large", 1);
	if (rq->port == HTTP_PLAIN)
		atomic_fetch_add(&srv->plain_requests, 1);
	memset(&o, 0, sizeof(o));
	req_view(rq, method, url, &r);
	ct = http_req_hdr(&r, "Content-Type");
	for (; rt != NULL;
	     rt = route_find(srv, rt, rq->port, method, url, ct)) {
		rt->r.fn(rt->r.arg, &r, &o);
		if (o.status != 0 || o.body != NULL)
			return send_resp(c, &o);
		resp_clear(&o); /* declined */
	}
	default_error(404, "No such resource on this port", &o);
	return send_resp(c, &o);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct req *rq = *con_cls;

	(void)version;
	if (rq == NULL) {
		if ((rq = req_new(cls, c, con_cls)) == NULL)
			return MHD_NO;
		return req_begin(c, rq, method, url);
	}
	if (*upload_size > 0)
		return req_upload(rq, upload, upload_size);
	if (rq->rejected)
		return MHD_YES;
	return req_finish(c, rq, method, url);
}

static void
on_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct lport *lp = cls;
	struct req *rq = *con_cls;

	(void)toe;
	if (rq == NULL)
		return;
	http_guard_req_done(&lp->ls->guard[lp->port], conn_ctx(c));
	atomic_fetch_sub(&rq->ls->srv->inflight, 1);
	atomic_fetch_sub(&rq->ls->inflight, 1);
	buf_free(&rq->body);
	free(rq);
	*con_cls = NULL;
}

static void
on_conn(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_guard *g = cls;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context =
		    ci != NULL ? http_guard_conn_new(g, ci->connect_fd) : NULL;
	} else {
		http_guard_conn_free(g, *socket_context);
		*socket_context = NULL;
	}
}

/* ---- configuration ---- */

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
		return pca_err_set(PCA_EINVAL,
		    "listen address '%.64s' is not host:port", s);
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL ||
	    ai->ai_addrlen > sizeof(*ss)) {
		if (ai != NULL)
			freeaddrinfo(ai);
		return pca_err_set(PCA_EINVAL,
		    "cannot resolve listen address '%.64s'", s);
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
		err = pca_err_set(PCA_EINVAL,
		    "the TLS key does not match the certificate");
	if (err != PCA_OK)
		pca_err_add_openssl();
	X509_free(x);
	EVP_PKEY_free(k);
	BIO_free(cb);
	BIO_free(kb);
	return err;
}

pca_err
http_conf_check(const struct http_conf *conf)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char *cert = NULL, *key = NULL;
	pca_err err;

	if ((err = parse_listen(conf->tls_listen, &ss, &len)) != PCA_OK ||
	    (conf->plain_listen != NULL &&
		(err = parse_listen(conf->plain_listen, &ss, &len)) != PCA_OK))
		return err;
	if ((err = read_pem(conf->tls_cert, &cert)) == PCA_OK &&
	    (err = read_pem(conf->tls_key, &key)) == PCA_OK)
		err = tls_check(cert, key);
	free(cert);
	if (key != NULL)
		mem_free_secure(key, strlen(key));
	return err;
}

/* ---- listeners ---- */

static void
listeners_free(struct listeners *ls)
{
	int p;

	if (ls == NULL)
		return;
	for (p = 0; p < HTTP_NPORTS; p++) {
		if (ls->d[p] != NULL)
			MHD_stop_daemon(ls->d[p]);
		atomic_fetch_add(&ls->srv->reaped_old,
		    atomic_load(&ls->guard[p].reaped));
		http_guard_fini(&ls->guard[p]);
		if (ls->qfd[p] >= 0)
			(void)close(ls->qfd[p]);
		if (ls->lfd[p] >= 0)
			(void)close(ls->lfd[p]);
	}
	free(ls->cert_pem);
	if (ls->key_pem != NULL)
		mem_free_secure(ls->key_pem, strlen(ls->key_pem));
	free(ls);
}

static unsigned
bound_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *i =
	    d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;

	return i ? i->port : 0;
}

/*
 * One daemon of ls's settings on port p, owned by owner, on the listening
 * socket fd (a hand-over) or bound afresh.  No SO_REUSEPORT: a port another
 * process holds is a start-up error, never a shared one.
 */
static struct MHD_Daemon *
start_daemon(const struct listeners *ls, struct listeners *owner,
    enum http_port p, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned flags = MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[12];
	size_t n = 0;

	if (parse_listen(ls->listen[p], &ss, &len) != PCA_OK)
		return NULL;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (p == HTTP_TLS) {
		flags |= MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT,
		    0, ls->cert_pem};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
		    ls->key_pem};
	} else {
		/* TURBO: optimistic reads, no shutdown() before close
		   (throughput of the OCSP path; SIGPIPE is ignored by pcad) */
		flags |= MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO;
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
		    PLAIN_THREADS, NULL};
	}
	if (ls->per_ip > 0)
		opts[n++] =
		    (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
			(intptr_t)ls->per_ip, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, &owner->lp[p],
	    fd >= 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_SOCK_ADDR,
	    fd >= 0 ? (intptr_t)fd : (intptr_t)&ss, MHD_OPTION_CONNECTION_LIMIT,
	    ls->max_conns, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)CONN_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT, ls->timeout_s,
	    MHD_OPTION_NOTIFY_COMPLETED, on_done, &owner->lp[p],
	    MHD_OPTION_NOTIFY_CONNECTION, on_conn, &owner->guard[p],
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_ARRAY, opts,
	    MHD_OPTION_END);
}

static pca_err
listeners_new(struct http_server *srv, const struct http_conf *conf,
    struct listeners **out)
{
	struct listeners *ls = calloc(1, sizeof(*ls));
	pca_err err = PCA_OK;
	int p;

	if (ls == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	ls->srv = srv;
	(void)snprintf(ls->listen[HTTP_TLS], LISTEN_MAX, "%s",
	    conf->tls_listen);
	(void)snprintf(ls->listen[HTTP_PLAIN], LISTEN_MAX, "%s",
	    conf->plain_listen ? conf->plain_listen : "");
	ls->max_conns = conf->max_conns ? conf->max_conns : 256;
	ls->timeout_s = conf->timeout_s ? conf->timeout_s : 30;
	ls->head_s = conf->head_timeout_s ? conf->head_timeout_s : 10;
	ls->per_ip = conf->per_ip_conns;
	for (p = 0; p < HTTP_NPORTS; p++) {
		ls->qfd[p] = ls->lfd[p] = -1;
		ls->lp[p].ls = ls;
		ls->lp[p].port = (enum http_port)p;
		/* at 9/10 of the slots, the oldest slow head makes room */
		if (err == PCA_OK)
			err = http_guard_init(&ls->guard[p], ls->head_s,
			    ls->timeout_s, (size_t)ls->max_conns * 9 / 10);
	}
	if (err != PCA_OK ||
	    (err = read_pem(conf->tls_cert, &ls->cert_pem)) != PCA_OK ||
	    (err = read_pem(conf->tls_key, &ls->key_pem)) != PCA_OK ||
	    (err = tls_check(ls->cert_pem, ls->key_pem)) != PCA_OK) {
		listeners_free(ls);
		return err;
	}
	*out = ls;
	return PCA_OK;
}

/*
 * A listening socket of our own (SO_REUSEADDR for restarts, never
 * SO_REUSEPORT): a port another process holds fails here, before anything
 * else has started.
 */
static pca_err
bind_listen(const char *addr, int *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;
	pca_err err;

	if ((err = parse_listen(addr, &ss, &len)) != PCA_OK)
		return err;
	if ((fd = socket(ss.ss_family,
		 SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return pca_err_set(PCA_EIO, "cannot listen on %s: %s", addr,
		    strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		err = pca_err_set(PCA_EIO, "cannot listen on %s: %s", addr,
		    strerror(errno));
		(void)close(fd);
		return err;
	}
	*out = fd;
	return PCA_OK;
}

static int
same_addr(const struct listeners *a, const struct listeners *b, int p)
{
	return b != NULL && strcmp(a->listen[p], b->listen[p]) == 0;
}

/* Phase 1: binds each daemon of ls whose address old does not use. */
static pca_err
bind_new(struct listeners *ls, const struct listeners *old)
{
	int p;

	for (p = 0; p < HTTP_NPORTS; p++) {
		if (ls->listen[p][0] == '\0' || same_addr(ls, old, p))
			continue;
		if ((ls->d[p] = start_daemon(ls, ls, (enum http_port)p, -1)) ==
		    NULL)
			return pca_err_set(PCA_EIO,
			    "cannot listen on %s (address in use or not "
			    "permitted?)",
			    ls->listen[p]);
	}
	return PCA_OK;
}

/*
 * Phase 2: old stops accepting; a listener on an unchanged address takes
 * old's socket over, so no connection is refused in between.  Should the
 * new daemon fail on it, old's settings take the socket back (the daemon
 * still goes into ls, which then runs partly on the old settings).
 */
static pca_err
hand_over(struct listeners *ls, struct listeners *old, enum http_port p)
{
	MHD_socket fd;

	if (old->d[p] == NULL)
		return PCA_OK;
	fd = MHD_quiesce_daemon(old->d[p]);
	if (!same_addr(ls, old, p) || ls->listen[p][0] == '\0') {
		old->qfd[p] = fd; /* closed once old has stopped */
		return PCA_OK;
	}
	if (fd == MHD_INVALID_SOCKET)
		return pca_err_set(PCA_EINTERNAL, "cannot quiesce %s",
		    old->listen[p]);
	if ((ls->d[p] = start_daemon(ls, ls, p, fd)) != NULL)
		return PCA_OK;
	if ((ls->d[p] = start_daemon(old, ls, p, fd)) == NULL)
		(void)close(fd);
	return pca_err_set(PCA_EIO,
	    "cannot start the new listener on %s; the old settings stay in "
	    "force there",
	    ls->listen[p]);
}

/* Waits (at most s seconds) until no request of ls is in flight. */
static void
drain(struct listeners *ls, unsigned s)
{
	struct timespec t0, t1, nap = {0, 20 * 1000 * 1000};

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (atomic_load(&ls->inflight) <= 0 ||
		    t1.tv_sec - t0.tv_sec >= (time_t)s)
			break;
		nanosleep(&nap, NULL);
	}
	if (atomic_load(&ls->inflight) > 0)
		log_warnx("%ld requests still in flight after %u s",
		    (long)atomic_load(&ls->inflight), s);
}

/* ---- the server ---- */

pca_err
http_server_new(const struct http_conf *conf, struct http_server **out)
{
	struct http_server *srv;
	struct listeners *ls = NULL;
	pca_err err;
	int p;

	if ((err = http_conf_check(conf)) != PCA_OK)
		return err;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	pthread_mutex_init(&srv->mu, NULL);
	if ((err = listeners_new(srv, conf, &ls)) == PCA_OK)
		for (p = 0; p < HTTP_NPORTS && err == PCA_OK; p++)
			if (ls->listen[p][0] != '\0')
				err = bind_listen(ls->listen[p], &ls->lfd[p]);
	if (err != PCA_OK) {
		listeners_free(ls);
		http_stop(srv, 0);
		return err;
	}
	srv->pending = ls;
	*out = srv;
	return PCA_OK;
}

pca_err
http_route_add(struct http_server *srv, const struct http_route *r)
{
	struct route *rt;

	if (srv->started)
		return pca_err_set(PCA_ESTATE,
		    "routes are added before the server starts");
	if (srv->nroutes == MAX_ROUTES || r->path == NULL ||
	    strlen(r->path) >= ROUTE_PATH_MAX || r->fn == NULL ||
	    (r->content_type != NULL && strlen(r->content_type) >= 64))
		return pca_err_set(PCA_ELIMIT, "too many routes, or a route "
					       "path too long");
	rt = &srv->routes[srv->nroutes++];
	memset(rt, 0, sizeof(*rt));
	rt->r = *r;
	(void)snprintf(rt->path, sizeof(rt->path), "%s", r->path);
	if (r->content_type != NULL)
		(void)snprintf(rt->ctype, sizeof(rt->ctype), "%s",
		    r->content_type);
	rt->r.path = rt->path;
	rt->r.content_type = r->content_type ? rt->ctype : NULL;
	return PCA_OK;
}

pca_err
http_start(struct http_server *srv)
{
	struct listeners *ls = srv->pending;
	int p;

	if (ls == NULL || srv->started)
		return pca_err_set(PCA_ESTATE, "the HTTP server is started");
	srv->started = 1;
	for (p = 0; p < HTTP_NPORTS; p++) {
		if (ls->lfd[p] < 0)
			continue;
		if ((ls->d[p] = start_daemon(ls, ls, (enum http_port)p,
			 ls->lfd[p])) == NULL)
			return pca_err_set(PCA_EIO, "cannot serve on %s",
			    ls->listen[p]);
		ls->lfd[p] = -1; /* the daemon's now */
	}
	ls->bound[HTTP_TLS] = bound_port(ls->d[HTTP_TLS]);
	ls->bound[HTTP_PLAIN] = bound_port(ls->d[HTTP_PLAIN]);
	pthread_mutex_lock(&srv->mu);
	srv->cur = ls;
	srv->pending = NULL;
	pthread_mutex_unlock(&srv->mu);
	log_info("API listening on https://%s (port %u), HTTP on %s (port %u)",
	    ls->listen[HTTP_TLS], ls->bound[HTTP_TLS],
	    ls->listen[HTTP_PLAIN][0] ? ls->listen[HTTP_PLAIN] : "-",
	    ls->bound[HTTP_PLAIN]);
	return PCA_OK;
}

pca_err
http_reload(struct http_server *srv, const struct http_conf *conf)
{
	struct listeners *ls = NULL, *old = srv->cur;
	pca_err err, err2;

	if ((err = http_conf_check(conf)) != PCA_OK ||
	    (err = listeners_new(srv, conf, &ls)) != PCA_OK)
		return err;
	if ((err = bind_new(ls, old)) != PCA_OK) {
		listeners_free(ls); /* nothing else has changed */
		return err;
	}
	err = hand_over(ls, old, HTTP_TLS);
	err2 = hand_over(ls, old, HTTP_PLAIN);
	ls->bound[HTTP_TLS] = bound_port(ls->d[HTTP_TLS]);
	ls->bound[HTTP_PLAIN] = bound_port(ls->d[HTTP_PLAIN]);
	pthread_mutex_lock(&srv->mu);
	srv->cur = ls;
	pthread_mutex_unlock(&srv->mu);
	drain(old, 30);
	listeners_free(old);
	if (err == PCA_OK)
		err = err2;
	if (err != PCA_OK)
		return err;
	log_info("configuration reloaded: API port %u, HTTP port %u",
	    ls->bound[HTTP_TLS], ls->bound[HTTP_PLAIN]);
	return PCA_OK;
}

void
http_ports(const struct http_server *srv, unsigned *tls_port,
    unsigned *plain_port)
{
	*tls_port = srv->cur->bound[HTTP_TLS];
	*plain_port = srv->cur->bound[HTTP_PLAIN];
}

void
http_stats_get(const struct http_server *srv, struct http_stats *st)
{
	struct http_server *s = (struct http_server *)srv;
	int p;

	memset(st, 0, sizeof(*st));
	st->inflight = atomic_load(&s->inflight);
	st->plain_requests = atomic_load(&s->plain_requests);
	st->rejected = atomic_load(&s->rejected);
	st->reaped = atomic_load(&s->reaped_old);
	pthread_mutex_lock(&s->mu);
	for (p = 0; s->cur != NULL && p < HTTP_NPORTS; p++)
		st->reaped += atomic_load(&s->cur->guard[p].reaped);
	pthread_mutex_unlock(&s->mu);
}

void
http_stop(struct http_server *srv, unsigned drain_s)
{
	struct listeners *ls;
	int p;

	if (srv == NULL)
		return;
	listeners_free(srv->pending);
	if ((ls = srv->cur) != NULL) {
		for (p = 0; p < HTTP_NPORTS; p++)
			if (ls->d[p] != NULL)
				ls->qfd[p] = MHD_quiesce_daemon(ls->d[p]);
		drain(ls, drain_s);
		listeners_free(ls);
	}
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}
