#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/provider.h>

#include "x509.h"

static OSSL_LIB_CTX *nokey_ctx;
static pthread_once_t nokey_once = PTHREAD_ONCE_INIT;

static void
nokey_init(void)
{
	/* lives for the whole process: certificates refer to it */
	if ((nokey_ctx = OSSL_LIB_CTX_new()) != NULL &&
	    OSSL_PROVIDER_load(nokey_ctx, "null") == NULL) {
		OSSL_LIB_CTX_free(nokey_ctx);
		nokey_ctx = NULL;
	}
}

X509 *
util_x509_parse_nokey(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (len == 0 || len > (size_t)LONG_MAX)
		return NULL;
	(void)pthread_once(&nokey_once, nokey_init);
	if (nokey_ctx == NULL)
		return NULL;
	if ((x = X509_new_ex(nokey_ctx, NULL)) == NULL)
		return NULL;
	if (d2i_X509(&x, &p, (long)len) == NULL || p != der + len) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error(); /* the skipped key decode leaves a note */
	return x;
}

/* Length of a DER TLV's content at p (of n bytes); its start in *cp. */
static int
tlv(const uint8_t *p, size_t n, int tag, const uint8_t **cp, size_t *clen)
{
	size_t l, i, k;

	if (n < 2 || p[0] != tag)
		return 0;
	if (p[1] < 0x80) {
		l = p[1];
		i = 2;
	} else {
		k = p[1] & 0x7f;
		if (k == 0 || k > 3 || n < 2 + k)
			return 0;
		for (l = 0, i = 0; i < k; i++)
			l = l << 8 | p[2 + i];
		i = 2 + k;
	}
	if (l > n - i)
		return 0;
	*cp = p + i;
	*clen = l;
	return 1;
}

static pca_err
rsa_bits(const unsigned char *key, int klen, int *bits)
{
	const uint8_t *seq, *n;
	size_t sl, nl;
	int b;

	if (!tlv(key, (size_t)klen, 0x30, &seq, &sl) ||
	    !tlv(seq, sl, 0x02, &n, &nl) || nl == 0)
		return pca_err_set(PCA_EPARSE, "RSA public key does not parse");
	while (nl > 0 && n[0] == 0) {
		n++;
		nl--;
	}
	if (nl == 0 || nl > 2048)
		return pca_err_set(PCA_EPARSE, "RSA modulus is out of range");
	for (b = 8; b > 0 && !(n[0] & (1u << (b - 1))); b--)
		;
	*bits = (int)(nl - 1) * 8 + b;
	return PCA_OK;
}

pca_err
util_spki_key_size(const X509_PUBKEY *pub, int *is_rsa, int *bits)
{
	const unsigned char *key;
	int klen, ptype, nid;
	const void *pval;
	ASN1_OBJECT *alg;
	X509_ALGOR *a;

	if (!X509_PUBKEY_get0_param(&alg, &key, &klen, &a, pub))
		return pca_err_set(PCA_EPARSE, "no public key");
	switch (OBJ_obj2nid(alg)) {
	case NID_rsaEncryption:
		*is_rsa = 1;
		return rsa_bits(key, klen, bits);
	case NID_X9_62_id_ecPublicKey:
		*is_rsa = 0;
		X509_ALGOR_get0(NULL, &ptype, &pval, a);
		nid = ptype == V_ASN1_OBJECT ? OBJ_obj2nid(pval) : NID_undef;
		*bits = nid == NID_X9_62_prime256v1 ? 256 :
		    nid == NID_secp384r1	     ? 384 :
		    nid == NID_secp521r1	     ? 521 :
						       0;
		return PCA_OK;
	default:
		return pca_err_set(PCA_EPARSE, "key is neither RSA nor EC");
	}
}
