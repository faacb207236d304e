/*
 * hsm_ops.c - the token as the sealing service of common/seal.h: thin
 * adapters from its void * context and struct seal_scope onto hsm_seal,
 * hsm_unseal, hsm_sigv4_key and hsm_sigv4_derive, for api/ and acme/,
 * which include no hsm/ header (cmd/ hands them the service).
 */
#include <string.h>

#include "../common/seal.h"
#include "hsm_int.h"

_Static_assert(SEAL_SIGV4_LEN == HSM_SIGV4_KEY_LEN,
    "a SigV4 signing key is 32 bytes on both sides");

static pca_err
ops_seal(void *ctx, const char *label, const uint8_t *plain, size_t len,
    uint8_t **sealed, size_t *sealed_len)
{
	return hsm_seal(ctx, label, plain, len, sealed, sealed_len);
}

static pca_err
ops_unseal(void *ctx, const char *label, const uint8_t *sealed, size_t len,
    uint8_t **plain, size_t *plain_len)
{
	return hsm_unseal(ctx, label, sealed, len, plain, plain_len);
}

static pca_err
ops_sigv4_key(void *ctx, const char *label, const uint8_t *sealed, size_t len,
    const struct seal_scope *sc, uint8_t key[SEAL_SIGV4_LEN])
{
	const struct hsm_sigv4_scope hs = {sc->date, sc->region, sc->service};

	return hsm_sigv4_key(ctx, label, sealed, len, &hs, key);
}

static void
ops_sigv4_derive(const uint8_t *secret, size_t len, const struct seal_scope *sc,
    uint8_t key[SEAL_SIGV4_LEN])
{
	const struct hsm_sigv4_scope hs = {sc->date, sc->region, sc->service};

	hsm_sigv4_derive(secret, len, &hs, key);
}

void
hsm_seal_ops(struct hsm *h, struct seal_ops *out)
{
	memset(out, 0, sizeof(*out));
	if (h == NULL)
		return;
	out->ctx = h;
	out->seal = ops_seal;
	out->unseal = ops_unseal;
	out->sigv4_key = ops_sigv4_key;
	out->sigv4_derive = ops_sigv4_derive;
}
