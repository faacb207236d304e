/*
 * guard.c - connection slots under attack (slowloris, idle sockets, partial
 * TLS ClientHellos): every connection has a deadline for its request head
 * (TLS handshake included) counted from when it was accepted, not from its
 * last byte, as nginx's client_header_timeout does; after a request the
 * next head is due within the idle timeout.  A small thread closes the
 * connections past their deadline, and when a listener is nearly full the
 * oldest connection still sending a head is closed to make room.
 *
 * Closing is shutdown(2) on the socket under the guard's lock; the library
 * then sees the end of the stream and frees the connection.  The socket
 * leaves the list (under the same lock) in the library's "closed"
 * notification, before the descriptor is closed, so a descriptor number is
 * never shut down after it has been reused.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http_int.h"

struct gconn {
	struct gconn *prev, *next;
	int fd;
	double deadline; /* monotonic seconds; 0: a request is in progress */
};

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
unlink_conn(struct http_guard *g, struct gconn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		g->first = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		g->last = c->prev;
	c->prev = c->next = NULL;
	g->n--;
}

/* Under g->mu: shuts c's socket; it stays listed until the library frees
   it, without a deadline. */
static void
close_conn(struct http_guard *g, struct gconn *c)
{
	(void)shutdown(c->fd, SHUT_RDWR);
	c->deadline = 0;
	atomic_fetch_add(&g->reaped, 1);
}

void *
http_guard_conn_new(struct http_guard *g, int fd)
{
	struct gconn *c = calloc(1, sizeof(*c)), *v;

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->deadline = now_s() + g->head_s;
	pthread_mutex_lock(&g->mu);
	if (g->soft_max > 0 && g->n >= g->soft_max)
		for (v = g->first; v != NULL; v = v->next)
			if (v->deadline >
			    0) { /* the oldest waiting for a head */
				close_conn(g, v);
				break;
			}
	c->prev = g->last;
	if (g->last != NULL)
		g->last->next = c;
	else
		g->first = c;
	g->last = c;
	g->n++;
	pthread_mutex_unlock(&g->mu);
	return c;
}

void
http_guard_conn_free(struct http_guard *g, void *conn)
{
	struct gconn *c = conn;

	if (c == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	unlink_conn(g, c);
	pthread_mutex_unlock(&g->mu);
	free(c);
}

void
http_guard_head_done(struct http_guard *g, void *conn)
{
	struct gconn *c = conn;

	if (c == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	c->deadline = 0;
	pthread_mutex_unlock(&g->mu);
}

void
http_guard_req_done(struct http_guard *g, void *conn)
{
	struct gconn *c = conn;

	if (c == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	c->deadline = now_s() + (g->idle_s > g->head_s ? g->idle_s : g->head_s);
	pthread_mutex_unlock(&g->mu);
}

static void *
reaper(void *arg)
{
	struct http_guard *g = arg;
	struct timespec ts;
	struct gconn *c;
	double t;

	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		t = now_s();
		for (c = g->first; c != NULL; c = c->next)
			if (c->deadline > 0 && c->deadline < t)
				close_conn(g, c);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&g->cv, &g->mu, &ts);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

pca_err
http_guard_init(struct http_guard *g, unsigned head_s, unsigned idle_s,
    size_t soft_max)
{
	memset(g, 0, sizeof(*g));
	g->head_s = head_s;
	g->idle_s = idle_s;
	g->soft_max = soft_max;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	if (pthread_create(&g->thread, NULL, reaper, g) != 0) {
		pthread_cond_destroy(&g->cv);
		pthread_mutex_destroy(&g->mu);
		return pca_err_set(PCA_EINTERNAL, "cannot start a thread");
	}
	g->started = 1;
	return PCA_OK;
}

void
http_guard_fini(struct http_guard *g)
{
	struct gconn *c;

	if (!g->started)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = 1;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->thread, NULL);
	while ((c = g->first) != NULL) { /* none once the daemons stopped */
		unlink_conn(g, c);
		free(c);
	}
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	g->started = 0;
}
