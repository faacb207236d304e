/*
 * spki.c - the key type and size of a SubjectPublicKeyInfo (RFC 5280
 * 4.1.2.7) without decoding the key into an EVP_PKEY: the RSA modulus is
 * read off the RSAPublicKey (RFC 8017 A.1.1), the curve off the
 * parameters.
 */
#include <openssl/obj_mac.h>
#include <openssl/objects.h>

#include "x509.h"

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, ... }, lengths as BER. */
#define RSA_FLAGS (X509_DER_LOWTAG | X509_DER_BER_LEN | X509_DER_LEN3)

static pca_err
rsa_bits(const unsigned char *key, int klen, int *bits)
{
	struct x509_der seq, n;
	const uint8_t *p = key, *c;
	size_t left = (size_t)klen, nl;
	int b;

	if (x509_der_next(&p, &left, RSA_FLAGS, &seq) != X509_DER_OK ||
	    seq.id != 0x30 || (p = seq.c, left = seq.clen,
	    x509_der_next(&p, &left, RSA_FLAGS, &n) != X509_DER_OK) ||
	    n.id != 0x02 || n.clen == 0)
		return pca_err_set(PCA_EPARSE, "RSA public key does not parse");
	c = n.c;
	nl = n.clen;
	while (nl > 0 && c[0] == 0) {
		c++;
		nl--;
	}
	if (nl == 0 || nl > 2048)
		return pca_err_set(PCA_EPARSE, "RSA modulus is out of range");
	for (b = 8; b > 0 && !(c[0] & (1u << (b - 1))); b--)
		;
	*bits = (int)(nl - 1) * 8 + b;
	return PCA_OK;
}

pca_err
x509_spki_key_size(const X509_PUBKEY *pub, int *is_rsa, int *bits)
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
