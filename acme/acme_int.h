/* acme_int.h - shared between the files of acme/ only. */
#ifndef PCA_ACME_INT_H
#define PCA_ACME_INT_H

#include <openssl/evp.h>

#include "acme.h"

/* The public key of a JWK (any supported type), or NULL. */
EVP_PKEY *acme_jwk_pkey(const char *jwk);

struct acme_chal {
	const char *type;	/* "http-01", "tls-alpn-01" */
	const char *ident_type;	/* "dns", "ip" */
	const char *ident;
	const char *token;
	const char *keyauth;	/* token "." thumbprint */
	unsigned port;
	const char *addr;	/* connect here, or NULL: resolve ident */
	unsigned timeout_s;
};

/*
 * Validates one challenge from here (bounded timeouts, two attempts).
 * PCA_OK: valid; otherwise *why is a sentence for the problem's detail
 * and *ptype the ACME error type (connection, incorrectResponse, tls,
 * unauthorized, dns).
 */
pca_err acme_validate(const struct acme_chal *, char *why, size_t whylen,
    const char **ptype) PCA_WUR;

#endif
