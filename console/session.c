/*
 * session.c - the console's session table: a fixed number of slots, ids
 * and CSRF tokens from the CSRNG, ids compared in constant time, idle and
 * absolute expiry.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "../common/util.h"
#include "console.h"

struct slot {
	int live;
	struct con_session s;
};

struct con_sessions {
	pthread_mutex_t mu;
	struct slot *slots;
	size_t max;
};

pca_err
con_sessions_new(size_t max, struct con_sessions **out)
{
	struct con_sessions *t;

	if (max == 0)
		return pca_err_set(PCA_EINVAL, "console: no session slots");
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->slots = calloc(max, sizeof(*t->slots))) == NULL) {
		free(t);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	t->max = max;
	pthread_mutex_init(&t->mu, NULL);
	*out = t;
	return PCA_OK;
}

void
con_sessions_free(struct con_sessions *t)
{
	if (t == NULL)
		return;
	OPENSSL_cleanse(t->slots, t->max * sizeof(*t->slots));
	free(t->slots);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static int
expired(const struct con_session *s, int64_t now, unsigned idle_s,
    unsigned max_s)
{
	return now - s->used >= (int64_t)idle_s ||
	       now - s->created >= (int64_t)max_s || now < s->created;
}

static void
drop(struct slot *sl)
{
	OPENSSL_cleanse(sl, sizeof(*sl));
}

pca_err
con_session_open(struct con_sessions *t, const char *akid, const char *account,
    int64_t now, unsigned idle_s, unsigned max_s, struct con_session *out)
{
	struct con_session s;
	uint8_t csrf[CON_CSRF_LEN];
	size_t i, slot = t->max;
	pca_err err = PCA_OK;

	memset(&s, 0, sizeof(s));
	if (RAND_bytes(s.id, sizeof(s.id)) != 1 ||
	    RAND_bytes(csrf, sizeof(csrf)) != 1)
		return pca_err_set(PCA_EINTERNAL, "console: no random bytes");
	(void)util_hex(csrf, sizeof(csrf), s.csrf, sizeof(s.csrf), 0);
	OPENSSL_cleanse(csrf, sizeof(csrf));
	(void)snprintf(s.akid, sizeof(s.akid), "%s", akid);
	(void)snprintf(s.account, sizeof(s.account), "%s", account);
	s.created = s.used = now;
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->max; i++) {
		if (t->slots[i].live &&
		    expired(&t->slots[i].s, now, idle_s, max_s))
			drop(&t->slots[i]);
		if (!t->slots[i].live && slot == t->max)
			slot = i;
	}
	if (slot == t->max)
		err = pca_err_set(PCA_ELIMIT,
		    "console: %zu sessions are "
		    "signed in; try again later",
		    t->max);
	else {
		t->slots[slot].live = 1;
		t->slots[slot].s = s;
		*out = s;
	}
	pthread_mutex_unlock(&t->mu);
	OPENSSL_cleanse(&s, sizeof(s));
	return err;
}

pca_err
con_session_find(struct con_sessions *t, const char *hex, int64_t now,
    unsigned idle_s, unsigned max_s, struct con_session *out)
{
	uint8_t id[CON_SID_LEN];
	size_t i, n = 0;
	pca_err err = PCA_ENOTFOUND;

	if (hex == NULL || strlen(hex) != 2 * CON_SID_LEN ||
	    util_unhex(hex, id, sizeof(id), &n) != PCA_OK || n != sizeof(id))
		return pca_err_set(PCA_ENOTFOUND, "console: no session");
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->max; i++) {
		struct slot *sl = &t->slots[i];

		if (!sl->live || CRYPTO_memcmp(sl->s.id, id, sizeof(id)) != 0)
			continue;
		if (expired(&sl->s, now, idle_s, max_s)) {
			drop(sl);
			break;
		}
		sl->s.used = now;
		*out = sl->s;
		err = PCA_OK;
		break;
	}
	pthread_mutex_unlock(&t->mu);
	OPENSSL_cleanse(id, sizeof(id));
	return err == PCA_OK
		   ? PCA_OK
		   : pca_err_set(PCA_ENOTFOUND, "console: no session");
}

void
con_session_close(struct con_sessions *t, const uint8_t id[CON_SID_LEN])
{
	size_t i;

	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->max; i++)
		if (t->slots[i].live &&
		    CRYPTO_memcmp(t->slots[i].s.id, id, CON_SID_LEN) == 0)
			drop(&t->slots[i]);
	pthread_mutex_unlock(&t->mu);
}

size_t
con_sessions_count(struct con_sessions *t)
{
	size_t i, n = 0;

	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->max; i++)
		n += t->slots[i].live != 0;
	pthread_mutex_unlock(&t->mu);
	return n;
}
