/*
 * alg.h - key and signing algorithms we support, with their ACM-PCA names.
 */
#ifndef PCA_COMMON_ALG_H
#define PCA_COMMON_ALG_H

#include <stddef.h>

enum pca_keyalg {
	PCA_KEY_NONE = 0,
	PCA_KEY_RSA_2048,
	PCA_KEY_RSA_3072,
	PCA_KEY_RSA_4096,
	PCA_KEY_EC_P256,
	PCA_KEY_EC_P384,
	PCA_KEY_EC_P521,
	PCA_KEY_MAX
};

enum pca_sigalg {
	PCA_SIG_NONE = 0,
	PCA_SIG_SHA256_RSA,
	PCA_SIG_SHA384_RSA,
	PCA_SIG_SHA512_RSA,
	PCA_SIG_SHA256_ECDSA,
	PCA_SIG_SHA384_ECDSA,
	PCA_SIG_SHA512_ECDSA,
	PCA_SIG_MAX
};

/* "RSA_2048", "EC_prime256v1", ...; NULL for PCA_KEY_NONE. */
const char *pca_keyalg_name(enum pca_keyalg);
/* PCA_KEY_NONE when the name is unknown or unsupported. */
enum pca_keyalg pca_keyalg_from_name(const char *);
int pca_keyalg_is_rsa(enum pca_keyalg);
/* RSA modulus bits, or EC curve NID (OpenSSL NID_*). */
int pca_keyalg_rsa_bits(enum pca_keyalg);
int pca_keyalg_ec_nid(enum pca_keyalg);

/* "SHA256WITHRSA", ...; NULL for PCA_SIG_NONE. */
const char *pca_sigalg_name(enum pca_sigalg);
enum pca_sigalg pca_sigalg_from_name(const char *);
int pca_sigalg_is_rsa(enum pca_sigalg);
/* OpenSSL NID of the digest (NID_sha256, ...). */
int pca_sigalg_md_nid(enum pca_sigalg);
/* OpenSSL NID of the signature algorithm (NID_sha256WithRSAEncryption...). */
int pca_sigalg_nid(enum pca_sigalg);
/* True when the signing algorithm can be used with the key. */
int pca_sigalg_fits_key(enum pca_sigalg, enum pca_keyalg);

#endif
