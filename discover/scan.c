/*
 * scan.c - contacting the configured endpoints: bounded concurrency,
 * per-phase timeouts, a spacing between connection starts; STARTTLS for
 * SMTP, IMAP and PostgreSQL; the chain taken as presented.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "disc.h"

#define DISC_LINE_MAX 1024 /* STARTTLS reply line */
#define DISC_THREADS_MAX 64

struct scan {
	const struct disc_conf *c;
	const struct disc_targets *ts;
	struct disc_result *res;
	SSL_CTX *ctx;
	pthread_mutex_t lk;
	size_t next;
	struct timespec last_start;
	int started;
};

static void
fail(struct disc_result *r, const char *what)
{
	(void)snprintf(r->error, sizeof(r->error), "%s", what);
}

/* Sleeps so that connection starts are at least 1/rate s apart. */
static void
pace(struct scan *s)
{
	struct timespec now, due;
	long gap = 1000000000L / (long)s->c->rate;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	if (s->started) {
		due = s->last_start;
		due.tv_nsec += gap;
		while (due.tv_nsec >= 1000000000L) {
			due.tv_nsec -= 1000000000L;
			due.tv_sec++;
		}
		if (due.tv_sec > now.tv_sec ||
		    (due.tv_sec == now.tv_sec && due.tv_nsec > now.tv_nsec)) {
			(void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
			    &due, NULL);
			now = due;
		}
	}
	s->last_start = now;
	s->started = 1;
}

static int
connect_to(const struct disc_target *t, unsigned ms, struct disc_result *r)
{
	struct addrinfo hints, *ai = NULL, *a;
	struct timeval tv = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000};
	struct pollfd pfd;
	socklen_t sl;
	int fd = -1, soerr, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(t->host, t->port, &hints, &ai)) != 0) {
		fail(r, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family,
		    a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 &&
		    errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			soerr = ETIMEDOUT;
			sl = sizeof(soerr);
			if (poll(&pfd, 1, (int)ms) == 1)
				(void)getsockopt(fd, SOL_SOCKET, SO_ERROR,
				    &soerr, &sl);
			errno = soerr;
		} else
			errno = 0;
		if (errno == 0)
			break;
		fail(r, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return -1;
	/* blocking from here, every read and write bounded by ms */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Reads one line ("\n"-terminated, bounded) into buf; 0 on failure. */
static int
line_read(int fd, char *buf, size_t n)
{
	size_t i = 0;
	ssize_t k;

	while (i + 1 < n) {
		if ((k = read(fd, buf + i, 1)) != 1)
			return 0;
		if (buf[i++] == '\n')
			break;
	}
	buf[i] = '\0';
	return i > 0 && buf[i - 1] == '\n';
}

static int
send_str(int fd, const char *s)
{
	size_t n = strlen(s);

	return write(fd, s, n) == (ssize_t)n;
}

/* SMTP: greeting, EHLO (multi-line 250), STARTTLS -> 220. */
static int
starttls_smtp(int fd)
{
	char l[DISC_LINE_MAX];

	do
		if (!line_read(fd, l, sizeof(l)) || strncmp(l, "220", 3))
			return 0;
	while (l[3] == '-');
	if (!send_str(fd, "EHLO openpca.discovery\r\n"))
		return 0;
	do
		if (!line_read(fd, l, sizeof(l)) || strncmp(l, "250", 3))
			return 0;
	while (l[3] == '-');
	if (!send_str(fd, "STARTTLS\r\n") || !line_read(fd, l, sizeof(l)))
		return 0;
	return strncmp(l, "220", 3) == 0;
}

/* IMAP: "* OK" greeting, "a STARTTLS" -> "a OK". */
static int
starttls_imap(int fd)
{
	char l[DISC_LINE_MAX];

	if (!line_read(fd, l, sizeof(l)) || strncmp(l, "* OK", 4) ||
	    !send_str(fd, "a STARTTLS\r\n"))
		return 0;
	for (;;) {
		if (!line_read(fd, l, sizeof(l)))
			return 0;
		if (strncmp(l, "a ", 2) == 0)
			return strncmp(l, "a OK", 4) == 0;
	}
}

/* PostgreSQL: SSLRequest (length 8, code 80877103) -> 'S'. */
static int
starttls_pg(int fd)
{
	static const uint8_t req[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
	char c;

	return write(fd, req, sizeof(req)) == (ssize_t)sizeof(req) &&
	       read(fd, &c, 1) == 1 && c == 'S';
}

static void
chain_take(SSL *ssl, struct disc_result *r)
{
	STACK_OF(X509) *sk = SSL_get_peer_cert_chain(ssl);
	unsigned char *p;
	int i, len;

	for (i = 0; sk != NULL && i < sk_X509_num(sk) && r->n < DISC_CHAIN_MAX;
	     i++) {
		len = i2d_X509(sk_X509_value(sk, i), NULL);
		if (len <= 0 || len > DISC_CERT_MAX ||
		    (r->der[r->n] = malloc((size_t)len)) == NULL)
			continue;
		p = r->der[r->n];
		(void)i2d_X509(sk_X509_value(sk, i), &p);
		r->len[r->n++] = (size_t)len;
	}
}

static void
probe(struct scan *s, const struct disc_target *t, struct disc_result *r)
{
	SSL *ssl = NULL;
	int fd, ok = 1;

	r->target = t;
	if ((fd = connect_to(t, s->c->timeout_ms, r)) < 0)
		return;
	if (t->starttls == DISC_SMTP)
		ok = starttls_smtp(fd);
	else if (t->starttls == DISC_IMAP)
		ok = starttls_imap(fd);
	else if (t->starttls == DISC_POSTGRES)
		ok = starttls_pg(fd);
	if (!ok) {
		fail(r, "STARTTLS refused or timed out");
		goto out;
	}
	if ((ssl = SSL_new(s->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    (t->sni[0] != '\0' && SSL_set_tlsext_host_name(ssl, t->sni) != 1)) {
		fail(r, "TLS setup failed");
		goto out;
	}
	if (SSL_connect(ssl) != 1) {
		fail(r, "TLS handshake failed");
		goto out;
	}
	chain_take(ssl, r);
	r->ok = r->n > 0;
	if (!r->ok)
		fail(r, "no certificate presented");
out:
	ERR_clear_error(); /* the failure is in r->error */
	SSL_free(ssl);
	close(fd);
}

static void *
worker(void *arg)
{
	struct scan *s = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&s->lk);
		i = s->next < s->ts->n ? s->next++ : s->ts->n;
		if (i < s->ts->n)
			pace(s);
		pthread_mutex_unlock(&s->lk);
		if (i >= s->ts->n)
			return NULL;
		probe(s, &s->ts->t[i], &s->res[i]);
	}
}

void
disc_results_free(struct disc_result *r, size_t n)
{
	size_t i, k;

	for (i = 0; r != NULL && i < n; i++)
		for (k = 0; k < r[i].n; k++)
			free(r[i].der[k]);
	free(r);
}

static int
verify_none(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1; /* discovery records what is presented, trusting nothing */
}

pca_err
disc_scan(const struct disc_conf *c0, const struct disc_targets *ts,
    struct disc_result **out)
{
	pthread_t th[DISC_THREADS_MAX];
	struct disc_conf c = *c0;
	struct scan s;
	size_t i, n = 0;
	pca_err err = PCA_OK;

	if (c.concurrency == 0)
		c.concurrency = 8;
	if (c.concurrency > DISC_THREADS_MAX)
		c.concurrency = DISC_THREADS_MAX;
	if (c.timeout_ms == 0)
		c.timeout_ms = 5000;
	if (c.rate == 0)
		c.rate = 20;
	memset(&s, 0, sizeof(s));
	s.c = &c;
	s.ts = ts;
	if ((s.res = calloc(ts->n + 1, sizeof(*s.res))) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	for (i = 0; i < ts->n; i++)
		s.res[i].target = &ts->t[i];
	if ((s.ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		free(s.res);
		return pca_err_set(PCA_ENOMEM, "no TLS context");
	}
	/* presented chains of old servers are worth seeing too */
	SSL_CTX_set_security_level(s.ctx, 0);
	SSL_CTX_set_verify(s.ctx, SSL_VERIFY_NONE, verify_none);
	pthread_mutex_init(&s.lk, NULL);
	for (n = 0; n < c.concurrency && n < ts->n; n++)
		if (pthread_create(&th[n], NULL, worker, &s) != 0) {
			err = pca_err_set(PCA_ENOMEM, "no discovery thread");
			break;
		}
	if (n == 0 && err == PCA_OK && ts->n > 0)
		err = pca_err_set(PCA_ENOMEM, "no discovery thread");
	for (i = 0; i < n; i++)
		(void)pthread_join(th[i], NULL);
	pthread_mutex_destroy(&s.lk);
	SSL_CTX_free(s.ctx);
	if (err != PCA_OK && n == 0) {
		disc_results_free(s.res, ts->n);
		return err;
	}
	pca_err_clear(); /* threads that did start scanned everything */
	*out = s.res;
	return PCA_OK;
}
