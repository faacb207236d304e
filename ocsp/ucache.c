/*
 * ucache.c - signed "unknown" answers kept for a short while, so a flood of
 * requests for serials the CA never issued costs one signature per serial
 * per OCSP_UCACHE_TTL instead of one per request.  Bounded: a set-
 * associative table (OCSP_UCACHE_SETS x OCSP_UCACHE_WAYS), least recently
 * used way evicted.  Keyed by the SHA-256 of the CertID as sent.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ocsp_int.h"

static int
ucache_key(const struct ocsp_certid *id, uint8_t key[32])
{
	size_t hl = id->hash == OCSP_HASH_SHA1 ? 20 : 32;
	uint8_t h = (uint8_t)id->hash;
	unsigned int ml = 0;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m != NULL && EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(m, &h, 1) == 1 &&
		 EVP_DigestUpdate(m, id->name_hash, hl) == 1 &&
		 EVP_DigestUpdate(m, id->key_hash, hl) == 1 &&
		 EVP_DigestUpdate(m, id->serial, id->serial_len) == 1 &&
		 EVP_DigestFinal_ex(m, key, &ml) == 1 && ml == 32;

	EVP_MD_CTX_free(m);
	return ok;
}

static struct ocsp_uent *
ucache_set(struct ocsp_ucache *c, const uint8_t key[32])
{
	uint32_t s = ((uint32_t)key[0] << 8 | key[1]) % OCSP_UCACHE_SETS;

	return &c->v[s * OCSP_UCACHE_WAYS];
}

pca_err
ocsp_ucache_init(struct ocsp_ucache *c)
{
	memset(c, 0, sizeof(*c));
	if ((c->v = calloc(OCSP_UCACHE_SETS * OCSP_UCACHE_WAYS,
		 sizeof(*c->v))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	pthread_mutex_init(&c->mu, NULL);
	return PCA_OK;
}

void
ocsp_ucache_clear(struct ocsp_ucache *c)
{
	size_t i;

	if (c->v == NULL)
		return;
	for (i = 0; i < OCSP_UCACHE_SETS * OCSP_UCACHE_WAYS; i++)
		free(c->v[i].der);
	free(c->v);
	c->v = NULL;
	pthread_mutex_destroy(&c->mu);
}

int
ocsp_ucache_get(struct ocsp_ucache *c, const struct ocsp_certid *id,
    int64_t now, uint8_t **der, size_t *len)
{
	uint8_t key[32];
	struct ocsp_uent *w;
	int i, hit = 0;

	if (c->v == NULL || !ucache_key(id, key))
		return 0;
	pthread_mutex_lock(&c->mu);
	w = ucache_set(c, key);
	for (i = 0; i < OCSP_UCACHE_WAYS && !hit; i++)
		if (w[i].der != NULL && w[i].until > now &&
		    memcmp(w[i].key, key, 32) == 0 &&
		    (*der = malloc(w[i].len)) != NULL) {
			memcpy(*der, w[i].der, w[i].len);
			*len = w[i].len;
			w[i].used = ++c->tick;
			hit = 1;
		}
	pthread_mutex_unlock(&c->mu);
	return hit;
}

void
ocsp_ucache_put(struct ocsp_ucache *c, const struct ocsp_certid *id,
    int64_t until, const uint8_t *der, size_t len)
{
	uint8_t key[32], *copy;
	struct ocsp_uent *w, *v;
	int i;

	if (c->v == NULL || !ucache_key(id, key) ||
	    (copy = malloc(len ? len : 1)) == NULL)
		return;
	memcpy(copy, der, len);
	pthread_mutex_lock(&c->mu);
	w = ucache_set(c, key);
	v = &w[0];
	for (i = 0; i < OCSP_UCACHE_WAYS; i++) {
		if (w[i].der != NULL && memcmp(w[i].key, key, 32) == 0) {
			v = &w[i];
			break;
		}
		if (w[i].der == NULL || w[i].used < v->used)
			v = &w[i];
	}
	free(v->der);
	memcpy(v->key, key, 32);
	v->der = copy;
	v->len = len;
	v->until = until;
	v->used = ++c->tick;
	pthread_mutex_unlock(&c->mu);
}
