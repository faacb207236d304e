/*
 * seal.h - secrets at rest as a service: what the network-facing modules
 * (api/ for access-key secrets and the NextToken key, acme/ for EAB HMAC
 * keys) need from the token, handed to them by cmd/ as function pointers
 * and an opaque context, so that they include no hsm/ header (STYLE.md
 * "Who may call whom").  hsm_seal_ops() (hsm/hsm.h) fills one with the
 * token's functions; the contracts are those of hsm_seal, hsm_unseal,
 * hsm_sigv4_key and hsm_sigv4_derive there.
 */
#ifndef PCA_COMMON_SEAL_H
#define PCA_COMMON_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* A SigV4 signing key (kSigning, HMAC-SHA256). */
#define SEAL_SIGV4_LEN 32

/* A SigV4 credential scope. */
struct seal_scope {
	const char *date;    /* YYYYMMDD */
	const char *region;  /* us-east-1 */
	const char *service; /* acm-pca, sts */
};

/*
 * seal, unseal: secrets under a label (1 to 4096 bytes); the caller frees
 *   *sealed and wipes and frees *plain.  PCA_EMISMATCH: altered, or sealed
 *   under another label or token; PCA_ENOTFOUND: the label's keys absent.
 * sigv4_key: the SigV4 signing key of scope derived from a secret sealed
 *   under label, without the secret leaving the token's side.
 * sigv4_derive: the bare HMAC chain from a secret in hand (at most 128
 *   bytes are used; no checks).
 * A struct whose seal is NULL stands for "no token": users refuse what
 * needs one (PCA_EUNAVAIL) or skip it.
 */
struct seal_ops {
	void *ctx; /* first argument of all but sigv4_derive */
	pca_err (*seal)(void *ctx, const char *label, const uint8_t *plain,
	    size_t len, uint8_t **sealed, size_t *sealed_len);
	pca_err (*unseal)(void *ctx, const char *label, const uint8_t *sealed,
	    size_t len, uint8_t **plain, size_t *plain_len);
	pca_err (*sigv4_key)(void *ctx, const char *label,
	    const uint8_t *sealed, size_t len, const struct seal_scope *,
	    uint8_t key[SEAL_SIGV4_LEN]);
	void (*sigv4_derive)(const uint8_t *secret, size_t len,
	    const struct seal_scope *, uint8_t key[SEAL_SIGV4_LEN]);
};

#endif
