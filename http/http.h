/*
 * http.h - pcad's HTTP server: the listeners (libmicrohttpd), TLS, limits,
 * timeouts, draining on stop and reload, and a small route table.  The
 * modules that answer requests (api/, ocsp/, crl/, monitor/) register
 * handlers in these types; cmd/pcad.c wires them.  No handler sees the
 * HTTP library.
 *
 * Two listeners: HTTP_TLS (HTTPS, one thread per connection, since a
 * handler may wait on the token or an LMDB commit) and HTTP_PLAIN (plain
 * HTTP on a small epoll thread pool).  Framing is checked here before any
 * handler runs (RFC 9112 section 6.3): a request with Content-Length and
 * Transfer-Encoding, differing Content-Length values, a Transfer-Encoding
 * other than "chunked" or a header name that is not a token (e.g.
 * "Content-Length :") gets 400 and the connection is closed.  Every request
 * head (and the TLS handshake) must arrive within head_timeout_s of the
 * connection's start, whatever the client trickles; when a listener is
 * nearly full the oldest connection still sending its head is closed.
 */
#ifndef PCA_HTTP_H
#define PCA_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../common/err.h"

struct http_server;

#define HTTP_MAX_HEADERS 64 /* STYLE: at most 64 headers */
#define HTTP_MAX_HEADER_BLOCK (16 * 1024)

struct http_conf {
	const char *tls_listen; /* "host:port" (HTTPS) */
	const char *tls_cert;   /* PEM files */
	const char *tls_key;
	const char *plain_listen; /* "host:port" (plain HTTP), or NULL */
	unsigned max_conns;       /* per listener */
	unsigned timeout_s;       /* idle connection timeout */
	unsigned head_timeout_s;  /* TLS handshake + request head */
	unsigned per_ip_conns;    /* per source address; 0: no cap */
};

enum http_port { HTTP_TLS = 0, HTTP_PLAIN = 1, HTTP_NPORTS };

struct http_hdr {
	const char *name;
	const char *value;
};

/* One request as received; everything is valid during the handler call. */
struct http_req {
	const char *method;
	const char *path; /* as sent, not URL-decoded */
	/*
	 * The query arguments, split at '&' and the first '=', each '+'
	 * made a space (libmicrohttpd does that itself) but %XX left as
	 * sent: not URL-decoded (the server's unescape callback keeps the
	 * bytes SigV4 and OCSP GET need; a handler that wants them decoded
	 * does it, as console/ does).  value "" when there is no '='.
	 */
	const struct http_hdr *query;
	size_t nquery;
	const struct http_hdr *hdrs; /* every header, in order */
	size_t nhdrs;
	const uint8_t *body; /* NULL in a head handler */
	size_t len;
	struct timespec start; /* CLOCK_MONOTONIC, head received */
	const char *remote_ip; /* the client's address, or NULL */
};

/* First header named name (case-insensitive), or NULL. */
const char *http_req_hdr(const struct http_req *, const char *name);
/* Seconds since req->start. */
double http_req_elapsed(const struct http_req *);

#define HTTP_RESP_HDRS 8
/*
 * An answer: status 0 and no body "declines" (the next matching route is
 * tried, then 404).  body is malloc'd and owned by the server once the
 * handler returns.
 */
struct http_resp {
	int status;
	const char *content_type; /* static */
	uint8_t *body;
	size_t len;
	int close;    /* close the connection after it */
	size_t nhdrs; /* extra headers (name: static) */
	struct {
		const char *name;
		char value[512];
	} hdrs[HTTP_RESP_HDRS];
};

/* Adds a header (value truncated to fit); ignored when full. */
void http_resp_hdr(struct http_resp *, const char *name, const char *value);
/* Sets status, type and a copy of the text as body. */
void http_resp_text(struct http_resp *, int status, const char *ctype,
    const char *text);

typedef void (*http_fn)(void *arg, const struct http_req *, struct http_resp *);
/* Formats a framing error (413, 431, 400) for a route's clients. */
typedef void (*http_error_fn)(void *arg, const struct http_req *, int status,
    const char *message, struct http_resp *);

#define HTTP_M_GET 1u
#define HTTP_M_HEAD 2u
#define HTTP_M_POST 4u
#define HTTP_M_ANY 0xffu

struct http_route {
	enum http_port port;
	const char *path;         /* exact path, or prefix */
	int prefix;               /* path is a prefix */
	unsigned methods;         /* HTTP_M_*; others don't match */
	const char *content_type; /* only this type (no parameters
				     compared), or NULL: any */
	size_t body_max;          /* bytes kept; more: 413 */
	size_t drain_max;         /* a body up to this is read and dropped
				     before the 413; 0: 413 at once */
	http_fn head;             /* optional: sees the head before the
				     body; an answer there is final */
	http_fn fn;               /* the request with its body */
	http_error_fn error;      /* optional; default JSON
				     {"__type","message"} */
	void *arg;
};

/*
 * Checks the configuration: both listen addresses parse, the certificate
 * and key files are readable PEM and belong together.
 */
pca_err http_conf_check(const struct http_conf *) PCA_WUR;

/*
 * A server with its listening sockets bound (never SO_REUSEPORT: a port in
 * use is an error here, before the caller starts anything else) but not
 * yet serving; routes are added before http_start.
 */
pca_err http_server_new(const struct http_conf *,
    struct http_server **out) PCA_WUR;
/* Routes match in the order added (at most 16; the struct is copied). */
pca_err http_route_add(struct http_server *, const struct http_route *) PCA_WUR;
/* Starts serving on the bound sockets. */
pca_err http_start(struct http_server *) PCA_WUR;
/*
 * New listeners (certificate, limits, addresses) take over; a listener on
 * an unchanged address takes its socket over so no connection is refused;
 * the old ones drain their in-flight requests (at most 30 s).  On failure
 * to bind nothing changes.
 */
pca_err http_reload(struct http_server *, const struct http_conf *) PCA_WUR;
/* The bound ports (useful with port 0). */
void http_ports(const struct http_server *, unsigned *tls_port,
    unsigned *plain_port);

struct http_stats {
	uint64_t inflight;       /* requests being served, both ports */
	uint64_t plain_requests; /* routed on the plain port */
	uint64_t rejected;       /* framing errors, both ports */
	uint64_t reaped;         /* connections closed for a slow head
				    or to make room */
};
void http_stats_get(const struct http_server *, struct http_stats *);

/*
 * Stops accepting, lets in-flight requests finish (at most drain_s
 * seconds), then stops the listeners and frees the server.  NULL is fine.
 */
void http_stop(struct http_server *, unsigned drain_s);

/* ---- request-head rules (frame.c), exposed for tests and the fuzzer ---- */

enum http_body { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED };

/*
 * RFC 9112 section 6.3 over the header list as received: header names are
 * tokens; Transfer-Encoding, if any, is exactly one "chunked"; no
 * Content-Length with it; Content-Length values are digits and all equal.
 * On success *body and *clen (HTTP_BODY_LENGTH) say how the body is framed.
 * PCA_EPARSE (400) or PCA_ETOOBIG (431: more than HTTP_MAX_HEADERS headers
 * or HTTP_MAX_HEADER_BLOCK bytes).
 */
pca_err http_head_check(const struct http_hdr *, size_t n, enum http_body *body,
    uint64_t *clen) PCA_WUR;

#endif
