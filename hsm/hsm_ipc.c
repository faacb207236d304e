/*
 * hsm_ipc.c - the frames between the front and the signer (encode, decode,
 * exact-length checks) and the front's side of struct hsm: each call is a
 * request with an id, written whole under a lock, answered through a table
 * of waiting callers that one reader thread fills.  The reader also takes
 * each new signer from the keeper (ctl); while there is none, calls fail
 * with PCA_EUNAVAIL at once.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "hsm_int.h"

/* ---- frames ---- */

struct field_spec {
	uint32_t min, max;
};

struct type_spec {
	size_t nreq;
	struct field_spec req[HSM_IPC_FIELDS_MAX];
	size_t nrep;
	struct field_spec rep[HSM_IPC_FIELDS_MAX];
};

#define F_LABEL                                                                \
	{                                                                      \
		1, LIM_LABEL                                                   \
	}
#define F_U32                                                                  \
	{                                                                      \
		4, 4                                                           \
	}
#define F_SPKI                                                                 \
	{                                                                      \
		1, HSM_IPC_SPKI_MAX                                            \
	}

static const struct type_spec specs[HSM_IPC_TYPE_MAX] = {
    [HSM_IPC_SIGN] = {5,
	{F_LABEL, {0, HSM_IPC_SPKI_MAX}, F_U32, F_U32, {1, HSM_IPC_TBS_MAX}}, 1,
	{{1, LIM_SIG}}},
    [HSM_IPC_KEYGEN] = {3, {F_LABEL, {0, HSM_ID_MAX}, F_U32}, 1, {F_SPKI}},
    [HSM_IPC_SPKI] = {1, {F_LABEL}, 1, {F_SPKI}},
    [HSM_IPC_INFO] = {1, {F_LABEL}, 1, {{HSM_IPC_INFO_LEN, HSM_IPC_INFO_LEN}}},
    [HSM_IPC_DESTROY] = {1, {F_LABEL}, 0, {{0, 0}}},
    [HSM_IPC_SEAL] = {2, {F_LABEL, {1, HSM_IPC_SECRET_MAX}}, 1,
	{{1, HSM_IPC_SEALED_MAX}}},
    [HSM_IPC_UNSEAL] = {2, {F_LABEL, {1, HSM_IPC_SEALED_MAX}}, 1,
	{{1, HSM_IPC_SECRET_MAX}}},
    [HSM_IPC_HEALTH] = {0, {{0, 0}}, 0, {{0, 0}}},
    [HSM_IPC_STATS] = {0, {{0, 0}}, 1,
	{{HSM_IPC_STATS_LEN, HSM_IPC_STATS_LEN}}},
    [HSM_IPC_SIGV4] = {5,
	{F_LABEL, {1, HSM_IPC_SEALED_MAX}, {8, 8}, {1, HSM_SIGV4_NAME_MAX},
	    {1, HSM_SIGV4_NAME_MAX}},
	1, {{HSM_SIGV4_KEY_LEN, HSM_SIGV4_KEY_LEN}}},
};

static const struct field_spec err_spec[1] = {{0, HSM_IPC_MSG_MAX}};

static void
spec_of(const struct hsm_ipc_hdr *h, int reply, size_t *n,
    const struct field_spec **f)
{
	const struct type_spec *t = &specs[h->type];

	if (reply && h->status != PCA_OK) {
		*n = 1;
		*f = err_spec;
	} else if (reply) {
		*n = t->nrep;
		*f = t->rep;
	} else {
		*n = t->nreq;
		*f = t->req;
	}
}

pca_err
hsm_ipc_hdr_check(const struct hsm_ipc_hdr *h, int reply)
{
	const struct field_spec *f;
	size_t n, i, min = 0, max = 0;

	if (h->type == 0 || h->type >= HSM_IPC_TYPE_MAX)
		return pca_err_set(PCA_EPARSE, "ipc: unknown type %u",
		    (unsigned)h->type);
	if (!reply && h->status != 0)
		return pca_err_set(PCA_EPARSE, "ipc: request with a status");
	if (reply && h->status >= PCA_E_MAX)
		return pca_err_set(PCA_EPARSE, "ipc: unknown status %u",
		    (unsigned)h->status);
	spec_of(h, reply, &n, &f);
	for (i = 0; i < n; i++) {
		min += 4 + f[i].min;
		max += 4 + f[i].max;
	}
	if (h->len < min || h->len > max || h->len > HSM_IPC_BODY_MAX)
		return pca_err_set(PCA_EPARSE,
		    "ipc: type %u: body of %u bytes "
		    "(%zu to %zu)",
		    (unsigned)h->type, (unsigned)h->len, min, max);
	return PCA_OK;
}

pca_err
hsm_ipc_decode(const struct hsm_ipc_hdr *h, int reply, const uint8_t *body,
    struct hsm_ipc_msg *out)
{
	const struct field_spec *f;
	size_t n, i, off = 0;
	uint32_t flen;
	pca_err err;

	if ((err = hsm_ipc_hdr_check(h, reply)) != PCA_OK)
		return err;
	spec_of(h, reply, &n, &f);
	memset(out, 0, sizeof(*out));
	out->hdr = *h;
	out->n = n;
	for (i = 0; i < n; i++) {
		if (h->len - off < 4)
			return pca_err_set(PCA_EPARSE,
			    "ipc: type %u: field %zu "
			    "truncated",
			    (unsigned)h->type, i);
		memcpy(&flen, body + off, 4);
		off += 4;
		if (flen < f[i].min || flen > f[i].max || flen > h->len - off)
			return pca_err_set(PCA_EPARSE,
			    "ipc: type %u: field %zu "
			    "of %u bytes",
			    (unsigned)h->type, i, (unsigned)flen);
		out->f[i].p = body + off;
		out->f[i].len = flen;
		off += flen;
	}
	if (off != h->len)
		return pca_err_set(PCA_EPARSE,
		    "ipc: type %u: %zu trailing "
		    "bytes",
		    (unsigned)h->type, (size_t)h->len - off);
	return PCA_OK;
}

pca_err
hsm_ipc_encode(uint32_t type, uint32_t id, uint32_t status,
    const struct hsm_ipc_field *f, size_t n, uint8_t **out, size_t *out_len)
{
	struct hsm_ipc_hdr h = {type, 0, id, status};
	size_t i, len = 0, off;
	uint32_t flen;
	uint8_t *b;

	for (i = 0; i < n; i++) {
		/* the largest field of any type; the receiver checks
		 * each type's own (tests send malformed frames) */
		if (f[i].len > HSM_IPC_TBS_MAX)
			return pca_err_set(PCA_ETOOBIG,
			    "ipc: type %u: field %zu of %zu bytes over the "
			    "limit of %zu",
			    (unsigned)type, i, f[i].len, HSM_IPC_TBS_MAX);
		len += 4 + f[i].len;
	}
	if (len > HSM_IPC_BODY_MAX)
		return pca_err_set(PCA_ETOOBIG,
		    "ipc: message of %zu bytes over the limit", len);
	h.len = (uint32_t)len;
	if ((b = malloc(HSM_IPC_HDR_LEN + len)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	memcpy(b, &h, HSM_IPC_HDR_LEN);
	off = HSM_IPC_HDR_LEN;
	for (i = 0; i < n; i++) {
		flen = (uint32_t)f[i].len;
		memcpy(b + off, &flen, 4);
		off += 4;
		if (flen > 0)
			memcpy(b + off, f[i].p, flen);
		off += flen;
	}
	*out = b;
	*out_len = off;
	return PCA_OK;
}

int
hsm_ipc_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && got == 0)
			return 1;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

int
hsm_ipc_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t put = 0;
	ssize_t n;

	while (put < len) {
		n = send(fd, p + put, len - put, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		put += (size_t)n;
	}
	return 0;
}

pca_err
hsm_ipc_read(int fd, int reply, struct hsm_ipc_msg *msg, uint8_t **body)
{
	struct hsm_ipc_hdr h;
	uint8_t *b = NULL;
	pca_err err;
	int rc;

	if ((rc = hsm_ipc_read_full(fd, &h, sizeof(h))) != 0)
		return pca_err_set(PCA_EIO,
		    rc > 0 ? "ipc: peer closed" : "ipc: read failed");
	if ((err = hsm_ipc_hdr_check(&h, reply)) != PCA_OK)
		return err;
	if ((b = malloc(h.len ? h.len : 1)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	if (h.len > 0 && hsm_ipc_read_full(fd, b, h.len) != 0) {
		free(b);
		return pca_err_set(PCA_EIO, "ipc: frame truncated");
	}
	if ((err = hsm_ipc_decode(&h, reply, b, msg)) != PCA_OK) {
		free(b);
		return err;
	}
	*body = b;
	return PCA_OK;
}

pca_err
hsm_ipc_label(const struct hsm_ipc_field *f, char *out, size_t size)
{
	if (f->len == 0 || f->len >= size || memchr(f->p, '\0', f->len))
		return pca_err_set(PCA_EPARSE, "ipc: bad label");
	memcpy(out, f->p, f->len);
	out[f->len] = '\0';
	return PCA_OK;
}

uint32_t
hsm_ipc_u32(const struct hsm_ipc_field *f)
{
	uint32_t v = 0;

	if (f->len == 4)
		memcpy(&v, f->p, 4);
	return v;
}

/* ---- the front: struct hsm over the socket ---- */

#define IPC_SLOTS 256
#define IPC_WAIT_S 60 /* a request answered later than this is lost */

struct ipc_slot {
	int used;
	int done;
	uint32_t id;
	pca_err status;
	uint8_t *body; /* the reply (fields point into it) */
	struct hsm_ipc_msg msg;
	pthread_cond_t cv; /* its caller waits here */
};

struct hsm_ipc {
	int ctl;
	int fd; /* the current signer, -1 while there is none */
	pthread_t reader;
	int reader_on;
	pthread_mutex_t mu; /* fd, slots, state */
	pthread_cond_t cv;
	pthread_mutex_t wmu; /* one frame written at a time */
	struct ipc_slot slot[IPC_SLOTS];
	uint32_t next_id;
	int first; /* the first signer answered (or failed) */
	pca_err first_err;
	char first_msg[HSM_IPC_MSG_MAX + 1];
	int stopping;
	uint64_t restarts;
};

/* Fails every waiting call (the signer is gone); under mu. */
static void
ipc_fail_all(struct hsm_ipc *x)
{
	size_t i;

	for (i = 0; i < IPC_SLOTS; i++)
		if (x->slot[i].used && !x->slot[i].done) {
			x->slot[i].done = 1;
			x->slot[i].status = PCA_EUNAVAIL;
			pthread_cond_signal(&x->slot[i].cv);
		}
	pthread_cond_broadcast(&x->cv);
}

/* The keeper's next message: status, text and (on PCA_OK) a socket. */
static int
ctl_recv(int ctl, uint32_t *status, char *msg, size_t size, int *fd)
{
	char buf[4 + HSM_IPC_MSG_MAX];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t n;
	size_t ml;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	while ((n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n < 4)
		return -1;
	*fd = -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	memcpy(status, buf, 4);
	ml = (size_t)n - 4 < size - 1 ? (size_t)n - 4 : size - 1;
	memcpy(msg, buf + 4, ml);
	msg[ml] = '\0';
	if (*status == PCA_OK && *fd < 0)
		return -1;
	if (*status != PCA_OK && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return 0;
}

pca_err
hsm_keeper_send(int ctl, pca_err status, const char *msg, int fd)
{
	char buf[4 + HSM_IPC_MSG_MAX];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {buf, 4};
	struct msghdr mh;
	struct cmsghdr *c;
	uint32_t st = (uint32_t)status;
	size_t ml = msg ? strlen(msg) : 0;

	if (ml > HSM_IPC_MSG_MAX)
		ml = HSM_IPC_MSG_MAX;
	memcpy(buf, &st, 4);
	if (ml > 0)
		memcpy(buf + 4, msg, ml);
	iov.iov_len = 4 + ml;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (status == PCA_OK) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(ctl, &mh, MSG_NOSIGNAL) < 0)
		return pca_err_set(PCA_EIO, "keeper: sendmsg: %s",
		    strerror(errno));
	return PCA_OK;
}

/* Reads replies from fd until it fails; then the signer is gone. */
static void
reader_serve(struct hsm_ipc *x, int fd)
{
	struct hsm_ipc_msg m;
	uint8_t *body = NULL;
	struct ipc_slot *s;
	pca_err err;

	for (;;) {
		if ((err = hsm_ipc_read(fd, 1, &m, &body)) != PCA_OK) {
			if (err != PCA_EIO)
				log_warnx("signer: %s; dropping it",
				    pca_err_msg());
			break;
		}
		pthread_mutex_lock(&x->mu);
		s = &x->slot[m.hdr.id % IPC_SLOTS];
		if (s->used && !s->done && s->id == m.hdr.id &&
		    m.hdr.type == s->msg.hdr.type) {
			s->done = 1;
			s->status = (pca_err)m.hdr.status;
			s->body = body;
			s->msg = m;
			body = NULL;
			pthread_cond_signal(&s->cv);
		}
		pthread_mutex_unlock(&x->mu);
		if (body != NULL) {
			log_warnx("signer: an answer nobody waits for "
				  "(id %u)",
			    (unsigned)m.hdr.id);
			free(body);
			body = NULL;
		}
	}
	pthread_mutex_lock(&x->mu);
	pthread_mutex_lock(&x->wmu);
	x->fd = -1;
	(void)close(fd);
	pthread_mutex_unlock(&x->wmu);
	ipc_fail_all(x);
	pthread_mutex_unlock(&x->mu);
}

static void *
reader_main(void *arg)
{
	struct hsm_ipc *x = arg;
	char msg[HSM_IPC_MSG_MAX + 1];
	uint32_t st;
	int fd;

	for (;;) {
		if (ctl_recv(x->ctl, &st, msg, sizeof(msg), &fd) != 0) {
			pthread_mutex_lock(&x->mu);
			if (!x->stopping)
				log_warnx("signer: the keeper is gone; the "
					  "token stays unavailable");
			x->first = 1;
			if (x->first_err == PCA_OK)
				x->first_err = PCA_EUNAVAIL;
			pthread_cond_broadcast(&x->cv);
			pthread_mutex_unlock(&x->mu);
			return NULL;
		}
		pthread_mutex_lock(&x->mu);
		if (st != PCA_OK) {
			if (!x->first) {
				x->first = 1;
				x->first_err = (pca_err)st;
				(void)snprintf(x->first_msg,
				    sizeof(x->first_msg), "%s", msg);
			} else
				log_warnx("signer: restart failed: %s", msg);
			pthread_cond_broadcast(&x->cv);
			pthread_mutex_unlock(&x->mu);
			continue;
		}
		if (x->first)
			log_info("signer: a new signer serves");
		x->first = 1;
		x->fd = fd;
		x->restarts++;
		pthread_cond_broadcast(&x->cv);
		pthread_mutex_unlock(&x->mu);
		reader_serve(x, fd);
		pthread_mutex_lock(&x->mu);
		if (!x->stopping)
			log_warnx("signer: gone; calls fail as retryable "
				  "until a new one serves");
		pthread_mutex_unlock(&x->mu);
	}
}

pca_err
hsm_proxy_new(int ctl, unsigned wait_s, struct hsm **out)
{
	struct hsm *h;
	struct hsm_ipc *x;
	struct timespec ts;
	pca_err err;
	size_t i;

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (x = calloc(1, sizeof(*x))) == NULL) {
		free(h);
		return pca_err_set(PCA_ENOMEM, "out of memory");
	}
	x->ctl = ctl;
	x->fd = -1;
	x->next_id = 1;
	pthread_mutex_init(&x->mu, NULL);
	pthread_mutex_init(&x->wmu, NULL);
	pthread_cond_init(&x->cv, NULL);
	for (i = 0; i < IPC_SLOTS; i++)
		pthread_cond_init(&x->slot[i].cv, NULL);
	h->ipc = x;
	if (pthread_create(&x->reader, NULL, reader_main, x) != 0) {
		hsm_close(h);
		return pca_err_set(PCA_EINTERNAL, "cannot start a thread");
	}
	x->reader_on = 1;
	/* tells the keeper to start the first signer */
	if (send(ctl, "g", 1, MSG_NOSIGNAL) != 1) {
		hsm_close(h);
		return pca_err_set(PCA_EUNAVAIL, "the keeper is gone");
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += wait_s;
	pthread_mutex_lock(&x->mu);
	while (!x->first && pthread_cond_timedwait(&x->cv, &x->mu, &ts) == 0)
		;
	err = !x->first ? pca_err_set(PCA_EUNAVAIL,
			      "the signer did not start "
			      "in %u s",
			      wait_s)
	      : x->first_err != PCA_OK
		  ? pca_err_set(x->first_err, "%s",
			x->first_msg[0] ? x->first_msg
					: "the signer failed to start")
		  : PCA_OK;
	pthread_mutex_unlock(&x->mu);
	if (err != PCA_OK) {
		hsm_close(h);
		return err;
	}
	*out = h;
	return PCA_OK;
}

void
hsm_ipc_close(struct hsm *h)
{
	struct hsm_ipc *x = h->ipc;
	size_t i;

	pthread_mutex_lock(&x->mu);
	x->stopping = 1;
	if (x->fd >= 0)
		(void)shutdown(x->fd, SHUT_RDWR);
	pthread_mutex_unlock(&x->mu);
	(void)shutdown(x->ctl, SHUT_RDWR);
	if (x->reader_on)
		pthread_join(x->reader, NULL);
	(void)close(x->ctl);
	for (i = 0; i < IPC_SLOTS; i++) {
		free(x->slot[i].body);
		pthread_cond_destroy(&x->slot[i].cv);
	}
	pthread_mutex_destroy(&x->mu);
	pthread_mutex_destroy(&x->wmu);
	pthread_cond_destroy(&x->cv);
	free(x);
	free(h);
}

/* Empties a slot (its condition variable stays). */
static void
slot_reset(struct ipc_slot *s)
{
	s->used = 0;
	s->done = 0;
	s->id = 0;
	s->status = PCA_OK;
	s->body = NULL;
	memset(&s->msg, 0, sizeof(s->msg));
}

/*
 * One request: fields out, the reply's fields into *m (its body in
 * *body, caller frees).  An error reply becomes pca_err_set with the
 * signer's message.
 */
static pca_err
ipc_call(struct hsm *h, uint32_t type, const struct hsm_ipc_field *f, size_t n,
    struct hsm_ipc_msg *m, uint8_t **body)
{
	struct hsm_ipc *x = h->ipc;
	struct ipc_slot *s = NULL;
	struct timespec ts;
	uint8_t *frame = NULL;
	size_t len, i;
	uint32_t id;
	pca_err err;
	int rc;

	*body = NULL;
	if ((err = hsm_ipc_encode(type, 0, 0, f, n, &frame, &len)) != PCA_OK)
		return err;
	pthread_mutex_lock(&x->mu);
	if (x->fd < 0) {
		pthread_mutex_unlock(&x->mu);
		free(frame);
		return pca_err_set(PCA_EUNAVAIL, "the signer is restarting");
	}
	for (i = 0; i < IPC_SLOTS && s == NULL; i++) {
		id = x->next_id++;
		if (!x->slot[id % IPC_SLOTS].used)
			s = &x->slot[id % IPC_SLOTS];
	}
	if (s == NULL) {
		pthread_mutex_unlock(&x->mu);
		free(frame);
		return pca_err_set(PCA_EUNAVAIL, "the signer is busy");
	}
	slot_reset(s);
	s->used = 1;
	s->id = id;
	s->msg.hdr.type = type;
	memcpy(frame + offsetof(struct hsm_ipc_hdr, id), &id, 4);
	pthread_mutex_lock(&x->wmu);
	pthread_mutex_unlock(&x->mu);
	rc = x->fd >= 0 ? hsm_ipc_write_full(x->fd, frame, len) : -1;
	pthread_mutex_unlock(&x->wmu);
	free(frame);
	pthread_mutex_lock(&x->mu);
	if (rc != 0 && !s->done) {
		s->done = 1;
		s->status = PCA_EUNAVAIL;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += IPC_WAIT_S;
	while (!s->done && pthread_cond_timedwait(&s->cv, &x->mu, &ts) == 0)
		;
	if (!s->done)
		err = pca_err_set(PCA_EUNAVAIL, "the signer did not answer");
	else if (s->status == PCA_EUNAVAIL && s->body == NULL)
		err = pca_err_set(PCA_EUNAVAIL, "the signer went away; retry");
	else if (s->status != PCA_OK) {
		err = pca_err_set(s->status, "%.*s", (int)s->msg.f[0].len,
		    (const char *)s->msg.f[0].p);
		free(s->body);
	} else {
		err = PCA_OK;
		*m = s->msg;
		*body = s->body;
	}
	slot_reset(s);
	pthread_mutex_unlock(&x->mu);
	return err;
}

static struct hsm_ipc_field
fld(const void *p, size_t len)
{
	struct hsm_ipc_field f = {p, len};

	return f;
}

pca_err
hsm_ipc_sign(struct hsm *h, const struct hsm_key *key, uint32_t alg,
    const uint8_t *tbs, size_t tbs_len, uint8_t *sig, size_t *sig_len)
{
	uint32_t a = alg & 0xffff, flags = alg >> 16;
	struct hsm_ipc_field f[5];
	struct hsm_ipc_msg m;
	uint8_t *body = NULL;
	pca_err err;

	f[0] = fld(key->label, strlen(key->label));
	f[1] = fld(key->spki, key->spki ? key->spki_len : 0);
	f[2] = fld(&a, 4);
	f[3] = fld(&flags, 4);
	f[4] = fld(tbs, tbs_len);
	if (tbs_len == 0)
		return pca_err_set(PCA_EINVAL, "nothing to sign");
	if ((err = ipc_call(h, HSM_IPC_SIGN, f, 5, &m, &body)) != PCA_OK)
		return err;
	memcpy(sig, m.f[0].p, m.f[0].len);
	*sig_len = m.f[0].len;
	free(body);
	return PCA_OK;
}

/* A reply's single field, copied (caller frees). */
static pca_err
ipc_call_bytes(struct hsm *h, uint32_t type, const struct hsm_ipc_field *f,
    size_t n, uint8_t **out, size_t *out_len)
{
	struct hsm_ipc_msg m;
	uint8_t *body = NULL, *p;
	pca_err err;

	if ((err = ipc_call(h, type, f, n, &m, &body)) != PCA_OK)
		return err;
	if ((p = malloc(m.f[0].len)) == NULL) {
		free(body);
		return pca_err_set(PCA_ENOMEM, "out of memory");
	}
	memcpy(p, m.f[0].p, m.f[0].len);
	OPENSSL_cleanse(body, m.hdr.len);
	free(body);
	*out = p;
	*out_len = m.f[0].len;
	return PCA_OK;
}

pca_err
hsm_ipc_keygen(struct hsm *h, const char *label, const uint8_t *id,
    size_t id_len, uint32_t alg, uint8_t **spki, size_t *spki_len)
{
	struct hsm_ipc_field f[3];

	f[0] = fld(label, strlen(label));
	f[1] = fld(id, id_len);
	f[2] = fld(&alg, 4);
	return ipc_call_bytes(h, HSM_IPC_KEYGEN, f, 3, spki, spki_len);
}

pca_err
hsm_ipc_spki(struct hsm *h, const char *label, uint8_t **spki, size_t *spki_len)
{
	struct hsm_ipc_field f = fld(label, strlen(label));

	return ipc_call_bytes(h, HSM_IPC_SPKI, &f, 1, spki, spki_len);
}

pca_err
hsm_ipc_info(struct hsm *h, const char *label, struct hsm_key_info *info)
{
	struct hsm_ipc_field f = fld(label, strlen(label));
	uint32_t v[7];
	uint8_t *b = NULL;
	size_t len;
	pca_err err;

	if ((err = ipc_call_bytes(h, HSM_IPC_INFO, &f, 1, &b, &len)) != PCA_OK)
		return err;
	memcpy(v, b, sizeof(v));
	free(b);
	info->sensitive = (int)v[0];
	info->extractable = (int)v[1];
	info->always_sensitive = (int)v[2];
	info->never_extractable = (int)v[3];
	info->local = (int)v[4];
	info->can_sign = (int)v[5];
	info->can_decrypt = (int)v[6];
	return PCA_OK;
}

pca_err
hsm_ipc_destroy(struct hsm *h, const char *label)
{
	struct hsm_ipc_field f = fld(label, strlen(label));
	struct hsm_ipc_msg m;
	uint8_t *body = NULL;
	pca_err err;

	err = ipc_call(h, HSM_IPC_DESTROY, &f, 1, &m, &body);
	free(body);
	return err;
}

pca_err
hsm_ipc_seal(struct hsm *h, int unseal, const char *label, const uint8_t *in,
    size_t len, uint8_t **out, size_t *out_len)
{
	struct hsm_ipc_field f[2];

	f[0] = fld(label, strlen(label));
	f[1] = fld(in, len);
	return ipc_call_bytes(h, unseal ? HSM_IPC_UNSEAL : HSM_IPC_SEAL, f, 2,
	    out, out_len);
}

pca_err
hsm_ipc_sigv4(struct hsm *h, const char *label, const uint8_t *sealed,
    size_t len, const struct hsm_sigv4_scope *sc, uint8_t key[32])
{
	struct hsm_ipc_field f[5];
	struct hsm_ipc_msg m;
	uint8_t *body = NULL;
	pca_err err;

	f[0] = fld(label, strlen(label));
	f[1] = fld(sealed, len);
	f[2] = fld(sc->date, strlen(sc->date));
	f[3] = fld(sc->region, strlen(sc->region));
	f[4] = fld(sc->service, strlen(sc->service));
	if (len == 0 || len > HSM_IPC_SEALED_MAX)
		return pca_err_set(PCA_EMISMATCH, "sealed data has a bad "
						  "length");
	if ((err = ipc_call(h, HSM_IPC_SIGV4, f, 5, &m, &body)) != PCA_OK)
		return err;
	memcpy(key, m.f[0].p, HSM_SIGV4_KEY_LEN);
	OPENSSL_cleanse(body, m.hdr.len);
	free(body);
	return PCA_OK;
}

pca_err
hsm_ipc_health(struct hsm *h)
{
	struct hsm_ipc_msg m;
	uint8_t *body = NULL;
	pca_err err;

	err = ipc_call(h, HSM_IPC_HEALTH, NULL, 0, &m, &body);
	free(body);
	if (err != PCA_OK && err != PCA_EUNAVAIL)
		return pca_err_set(PCA_EUNAVAIL, "signer: %s", pca_err_msg());
	if (err == PCA_EUNAVAIL && h->ipc->fd < 0)
		return pca_err_set(PCA_EUNAVAIL, "signer: restarting");
	return err;
}

void
hsm_ipc_stats(struct hsm *h, struct hsm_stats *st)
{
	uint8_t *b = NULL;
	size_t len;
	uint64_t v[3];
	uint32_t av;

	if (ipc_call_bytes(h, HSM_IPC_STATS, NULL, 0, &b, &len) != PCA_OK)
		return;
	memcpy(v, b, sizeof(v));
	memcpy(&av, b + sizeof(v), 4);
	free(b);
	st->signs = v[0];
	st->sign_errors = v[1];
	st->recoveries = v[2];
	st->available = (int)av;
}
