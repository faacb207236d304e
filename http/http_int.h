/*
 * http_int.h - inside http/: the connection guard (guard.c).
 */
#ifndef PCA_HTTP_INT_H
#define PCA_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct gconn;

/* One listener's connections, oldest first. */
struct http_guard {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int started, stop;
	struct gconn *first, *last;
	size_t n;
	size_t soft_max; /* at this many, the oldest slow one goes */
	unsigned head_s, idle_s;
	_Atomic uint64_t reaped;
};

pca_err http_guard_init(struct http_guard *, unsigned head_s, unsigned idle_s,
    size_t soft_max) PCA_WUR;
/* Stops the reaper; the listener's daemon must be stopped already. */
void http_guard_fini(struct http_guard *);
/* A new connection on fd (its head due within head_s); NULL: no memory. */
void *http_guard_conn_new(struct http_guard *, int fd);
void http_guard_conn_free(struct http_guard *, void *conn);
/* The connection's request head is in: no deadline while it is served. */
void http_guard_head_done(struct http_guard *, void *conn);
/* Its request is answered: the next head is due within the idle time. */
void http_guard_req_done(struct http_guard *, void *conn);

#endif
