/*
 * hsm_signer.c - the signer's side of the socket: a closed set of named
 * operations (hsm_ipc.h) on the token opened in this process.  Workers
 * take turns reading one whole frame, judge it (the check callback: which
 * keys and which TBS this signer signs), run it on the token and write the
 * answer under a lock.  A malformed frame ends the loop: the front is then
 * treated as compromised and the process exits (relayd's ca.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "hsm_int.h"

#define SIGNER_THREADS_MAX 64

struct signer {
	struct hsm *h;
	int fd;
	const struct hsm_signer_conf *conf;
	pthread_mutex_t rmu, wmu;
	int dead; /* a malformed frame was seen */
};

static pca_err
reply(struct signer *s, const struct hsm_ipc_hdr *rq, pca_err st,
    const struct hsm_ipc_field *f, size_t n)
{
	struct hsm_ipc_field e;
	uint8_t *b = NULL;
	size_t len;
	const char *msg;
	pca_err err;

	if (st != PCA_OK) {
		msg = pca_err_msg();
		e.p = (const uint8_t *)msg;
		e.len = strlen(msg) > HSM_IPC_MSG_MAX ? HSM_IPC_MSG_MAX
						      : strlen(msg);
		f = &e;
		n = 1;
	}
	if ((err = hsm_ipc_encode(rq->type, rq->id, (uint32_t)st, f, n, &b,
		 &len)) != PCA_OK)
		return err;
	pthread_mutex_lock(&s->wmu);
	if (hsm_ipc_write_full(s->fd, b, len) != 0)
		err = pca_err_set(PCA_EIO, "signer: write failed");
	pthread_mutex_unlock(&s->wmu);
	OPENSSL_cleanse(b, len);
	free(b);
	return err;
}

static pca_err
check(struct signer *s, enum hsm_signer_op op, const char *label,
    unsigned flags, uint32_t alg, const struct hsm_ipc_field *tbs)
{
	if (s->conf == NULL || s->conf->check == NULL)
		return PCA_OK;
	return s->conf->check(s->conf->arg, op, label, flags,
	    (enum pca_sigalg)alg, tbs ? tbs->p : NULL, tbs ? tbs->len : 0);
}

static pca_err
do_sign(struct signer *s, const struct hsm_ipc_msg *m, const char *label)
{
	struct hsm_key k = {label, m->f[1].len ? m->f[1].p : NULL, m->f[1].len};
	uint32_t alg = hsm_ipc_u32(&m->f[2]), flags = hsm_ipc_u32(&m->f[3]);
	uint8_t sig[LIM_SIG];
	size_t sl = 0;
	struct hsm_ipc_field f = {sig, 0};
	pca_err err;

	if ((err = check(s, HSM_OP_SIGN, label, flags, alg, &m->f[4])) ==
		PCA_OK &&
	    (err = hsm_sign(s->h, &k, (enum pca_sigalg)alg, m->f[4].p,
		 m->f[4].len, sig, &sl)) == PCA_OK)
		f.len = sl;
	return reply(s, &m->hdr, err, &f, 1);
}

static pca_err
do_bytes_out(struct signer *s, const struct hsm_ipc_msg *m, pca_err err,
    uint8_t *out, size_t len)
{
	struct hsm_ipc_field f = {out, len};

	err = reply(s, &m->hdr, err, &f, 1);
	if (out != NULL) {
		OPENSSL_cleanse(out, len);
		free(out);
	}
	return err;
}

static pca_err
do_info(struct signer *s, const struct hsm_ipc_msg *m, const char *label)
{
	struct hsm_key_info ki;
	uint32_t v[7];
	struct hsm_ipc_field f = {(const uint8_t *)v, sizeof(v)};
	pca_err err;

	if ((err = hsm_key_info(s->h, label, &ki)) == PCA_OK) {
		v[0] = (uint32_t)ki.sensitive;
		v[1] = (uint32_t)ki.extractable;
		v[2] = (uint32_t)ki.always_sensitive;
		v[3] = (uint32_t)ki.never_extractable;
		v[4] = (uint32_t)ki.local;
		v[5] = (uint32_t)ki.can_sign;
		v[6] = (uint32_t)ki.can_decrypt;
	}
	return reply(s, &m->hdr, err, &f, 1);
}

static pca_err
do_stats(struct signer *s, const struct hsm_ipc_msg *m)
{
	struct hsm_stats st;
	uint8_t b[HSM_IPC_STATS_LEN];
	uint64_t v[3];
	uint32_t av;
	struct hsm_ipc_field f = {b, sizeof(b)};

	hsm_stats_get(s->h, &st);
	v[0] = st.signs;
	v[1] = st.sign_errors;
	v[2] = st.recoveries;
	av = (uint32_t)st.available;
	memcpy(b, v, sizeof(v));
	memcpy(b + sizeof(v), &av, 4);
	return reply(s, &m->hdr, PCA_OK, &f, 1);
}

/* A field as a C string (size bounds it; a NUL inside fails the scope). */
static void
field_str(const struct hsm_ipc_field *f, char *out, size_t size)
{
	size_t n = f->len < size - 1 ? f->len : size - 1;

	memcpy(out, f->p, n);
	out[n] = '\0';
	if (memchr(f->p, '\0', f->len) != NULL)
		out[0] = '\0';
}

/* A secret under secret_label never leaves: only keys derived from it. */
static int
is_secret_label(const struct signer *s, const char *label)
{
	return s->conf != NULL && s->conf->secret_label != NULL &&
	       strcmp(label, s->conf->secret_label) == 0;
}

static pca_err
do_unseal(struct signer *s, const struct hsm_ipc_msg *m, const char *label)
{
	uint8_t *out = NULL;
	size_t len = 0;
	pca_err err;

	if (is_secret_label(s, label)) {
		log_warnx("signer: refused to unseal a secret under %s for the "
			  "front (it gets SigV4 signing keys only)",
		    label);
		err = pca_err_set(PCA_EPOLICY,
		    "signer: secrets under %s are not unsealed for the front",
		    label);
	} else
		err =
		    hsm_unseal(s->h, label, m->f[1].p, m->f[1].len, &out, &len);
	return do_bytes_out(s, m, err, out, len);
}

static pca_err
do_sigv4(struct signer *s, const struct hsm_ipc_msg *m, const char *label)
{
	char date[9], region[HSM_SIGV4_NAME_MAX + 1],
	    service[HSM_SIGV4_NAME_MAX + 1];
	struct hsm_sigv4_scope sc = {date, region, service};
	uint8_t key[HSM_SIGV4_KEY_LEN];
	struct hsm_ipc_field f = {key, sizeof(key)};
	pca_err err;

	field_str(&m->f[2], date, sizeof(date));
	field_str(&m->f[3], region, sizeof(region));
	field_str(&m->f[4], service, sizeof(service));
	if (s->conf != NULL && s->conf->secret_label != NULL &&
	    !is_secret_label(s, label))
		err = pca_err_set(PCA_EPOLICY,
		    "signer: signing keys come only from secrets under %s",
		    s->conf->secret_label);
	else
		err = hsm_sigv4_key(s->h, label, m->f[1].p, m->f[1].len, &sc,
		    key);
	if (err == PCA_EINVAL || err == PCA_EPOLICY) /* the front's doing */
		log_warnx("signer: refused a SigV4 key: %s", pca_err_msg());
	err = reply(s, &m->hdr, err, &f, 1);
	OPENSSL_cleanse(key, sizeof(key));
	return err;
}

static pca_err
dispatch(struct signer *s, const struct hsm_ipc_msg *m)
{
	char label[LIM_LABEL + 1] = "";
	uint8_t *out = NULL;
	size_t len = 0;
	pca_err err;
	uint32_t alg;

	if (m->n > 0 && m->hdr.type != HSM_IPC_HEALTH &&
	    m->hdr.type != HSM_IPC_STATS &&
	    (err = hsm_ipc_label(&m->f[0], label, sizeof(label))) != PCA_OK)
		return err; /* malformed: ends the peer */
	switch (m->hdr.type) {
	case HSM_IPC_SIGN:
		return do_sign(s, m, label);
	case HSM_IPC_KEYGEN:
		alg = hsm_ipc_u32(&m->f[2]);
		if ((err = check(s, HSM_OP_KEYGEN, label, 0, 0, NULL)) ==
		    PCA_OK)
			err = hsm_key_generate(s->h, label,
			    m->f[1].len ? m->f[1].p : NULL, m->f[1].len,
			    (enum pca_keyalg)alg, &out, &len);
		return do_bytes_out(s, m, err, out, len);
	case HSM_IPC_SPKI:
		err = hsm_key_spki(s->h, label, &out, &len);
		return do_bytes_out(s, m, err, out, len);
	case HSM_IPC_INFO:
		return do_info(s, m, label);
	case HSM_IPC_DESTROY:
		if ((err = check(s, HSM_OP_DESTROY, label, 0, 0, NULL)) ==
		    PCA_OK)
			err = hsm_key_destroy(s->h, label);
		return reply(s, &m->hdr, err, NULL, 0);
	case HSM_IPC_SEAL:
		err = hsm_seal(s->h, label, m->f[1].p, m->f[1].len, &out, &len);
		return do_bytes_out(s, m, err, out, len);
	case HSM_IPC_UNSEAL:
		return do_unseal(s, m, label);
	case HSM_IPC_SIGV4:
		return do_sigv4(s, m, label);
	case HSM_IPC_HEALTH:
		return reply(s, &m->hdr, hsm_health(s->h), NULL, 0);
	case HSM_IPC_STATS:
		return do_stats(s, m);
	default:
		return pca_err_set(PCA_EPARSE, "ipc: unknown type");
	}
}

static void *
worker(void *arg)
{
	struct signer *s = arg;
	struct hsm_ipc_msg m;
	uint8_t *body = NULL;
	pca_err err;

	for (;;) {
		pthread_mutex_lock(&s->rmu);
		err = s->dead ? PCA_EIO : hsm_ipc_read(s->fd, 0, &m, &body);
		pthread_mutex_unlock(&s->rmu);
		if (err == PCA_OK) {
			err = dispatch(s, &m);
			OPENSSL_cleanse(body, m.hdr.len);
			free(body);
			body = NULL;
			if (err == PCA_OK)
				continue;
		}
		/* first: another worker may hold rmu, blocked reading */
		(void)shutdown(s->fd, SHUT_RDWR);
		pthread_mutex_lock(&s->rmu);
		if (err == PCA_EPARSE && s->dead != 2) {
			log_warnx("signer: the front sent a malformed frame "
				  "(%s); ending it",
			    pca_err_msg());
			s->dead = 2;
		} else if (s->dead == 0)
			s->dead = 1;
		pthread_mutex_unlock(&s->rmu);
		return NULL;
	}
}

pca_err
hsm_signer_serve(struct hsm *h, int fd, const struct hsm_signer_conf *conf)
{
	pthread_t tid[SIGNER_THREADS_MAX];
	struct signer s;
	unsigned n, i, started = 0;

	if (h == NULL || h->ipc != NULL)
		return pca_err_set(PCA_EINVAL, "signer: needs an open token");
	n = conf && conf->threads ? conf->threads : 4;
	if (n > SIGNER_THREADS_MAX)
		n = SIGNER_THREADS_MAX;
	memset(&s, 0, sizeof(s));
	s.h = h;
	s.fd = fd;
	s.conf = conf;
	pthread_mutex_init(&s.rmu, NULL);
	pthread_mutex_init(&s.wmu, NULL);
	for (i = 0; i < n; i++)
		if (pthread_create(&tid[i], NULL, worker, &s) == 0)
			started++;
		else
			break;
	if (started == 0)
		(void)worker(&s);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&s.rmu);
	pthread_mutex_destroy(&s.wmu);
	if (s.dead == 2)
		return pca_err_set(PCA_EPARSE, "signer: malformed frame");
	return PCA_OK;
}
