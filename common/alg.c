#include <string.h>

#include <openssl/obj_mac.h>

#include "alg.h"

static const struct {
	const char *name;
	int rsa_bits;
	int ec_nid;
} keyalgs[PCA_KEY_MAX] = {
    [PCA_KEY_RSA_2048] = {"RSA_2048", 2048, 0},
    [PCA_KEY_RSA_3072] = {"RSA_3072", 3072, 0},
    [PCA_KEY_RSA_4096] = {"RSA_4096", 4096, 0},
    [PCA_KEY_EC_P256] = {"EC_prime256v1", 0, NID_X9_62_prime256v1},
    [PCA_KEY_EC_P384] = {"EC_secp384r1", 0, NID_secp384r1},
    [PCA_KEY_EC_P521] = {"EC_secp521r1", 0, NID_secp521r1},
};

static const struct {
	const char *name;
	int rsa;
	int md_nid;
	int sig_nid;
} sigalgs[PCA_SIG_MAX] = {
    [PCA_SIG_SHA256_RSA] = {"SHA256WITHRSA", 1, NID_sha256,
	NID_sha256WithRSAEncryption},
    [PCA_SIG_SHA384_RSA] = {"SHA384WITHRSA", 1, NID_sha384,
	NID_sha384WithRSAEncryption},
    [PCA_SIG_SHA512_RSA] = {"SHA512WITHRSA", 1, NID_sha512,
	NID_sha512WithRSAEncryption},
    [PCA_SIG_SHA256_ECDSA] = {"SHA256WITHECDSA", 0, NID_sha256,
	NID_ecdsa_with_SHA256},
    [PCA_SIG_SHA384_ECDSA] = {"SHA384WITHECDSA", 0, NID_sha384,
	NID_ecdsa_with_SHA384},
    [PCA_SIG_SHA512_ECDSA] = {"SHA512WITHECDSA", 0, NID_sha512,
	NID_ecdsa_with_SHA512},
};

const char *
pca_keyalg_name(enum pca_keyalg k)
{
	if ((unsigned)k >= PCA_KEY_MAX)
		return NULL;
	return keyalgs[k].name;
}

enum pca_keyalg
pca_keyalg_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return PCA_KEY_NONE;
	for (i = 1; i < PCA_KEY_MAX; i++)
		if (strcmp(keyalgs[i].name, name) == 0)
			return (enum pca_keyalg)i;
	return PCA_KEY_NONE;
}

int
pca_keyalg_is_rsa(enum pca_keyalg k)
{
	return (unsigned)k < PCA_KEY_MAX && keyalgs[k].rsa_bits > 0;
}

int
pca_keyalg_rsa_bits(enum pca_keyalg k)
{
	return (unsigned)k < PCA_KEY_MAX ? keyalgs[k].rsa_bits : 0;
}

int
pca_keyalg_ec_nid(enum pca_keyalg k)
{
	return (unsigned)k < PCA_KEY_MAX ? keyalgs[k].ec_nid : 0;
}

const char *
pca_sigalg_name(enum pca_sigalg s)
{
	if ((unsigned)s >= PCA_SIG_MAX)
		return NULL;
	return sigalgs[s].name;
}

enum pca_sigalg
pca_sigalg_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return PCA_SIG_NONE;
	for (i = 1; i < PCA_SIG_MAX; i++)
		if (strcmp(sigalgs[i].name, name) == 0)
			return (enum pca_sigalg)i;
	return PCA_SIG_NONE;
}

int
pca_sigalg_is_rsa(enum pca_sigalg s)
{
	return (unsigned)s < PCA_SIG_MAX && sigalgs[s].rsa;
}

int
pca_sigalg_md_nid(enum pca_sigalg s)
{
	return (unsigned)s < PCA_SIG_MAX ? sigalgs[s].md_nid : 0;
}

int
pca_sigalg_nid(enum pca_sigalg s)
{
	return (unsigned)s < PCA_SIG_MAX ? sigalgs[s].sig_nid : 0;
}

int
pca_sigalg_fits_key(enum pca_sigalg s, enum pca_keyalg k)
{
	if (s == PCA_SIG_NONE || k == PCA_KEY_NONE)
		return 0;
	if ((unsigned)s >= PCA_SIG_MAX || (unsigned)k >= PCA_KEY_MAX)
		return 0;
	return pca_sigalg_is_rsa(s) == pca_keyalg_is_rsa(k);
}
