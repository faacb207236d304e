/*
 * spki.c - the key type and size of a SubjectPublicKeyInfo (RFC 5280
 * 4.1.2.7) without decoding the key into an EVP_PKEY: the RSA modulus is
 * read off the RSAPublicKey (RFC 8017 A.1.1), the curve off the
 * parameters; and, from the SPKI's DER bytes, its key algorithm and its
 * key identifier (RFC 5280 4.2.1.2 method 1).
 */
#include <limits.h>

#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/sha.h>

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
	    seq.id != 0x30 ||
	    (p = seq.c, left = seq.clen,
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
		*bits = nid == NID_X9_62_prime256v1 ? 256
			: nid == NID_secp384r1      ? 384
			: nid == NID_secp521r1      ? 521
						    : 0;
		return PCA_OK;
	default:
		return pca_err_set(PCA_EPARSE, "key is neither RSA nor EC");
	}
}

/* Expects a TLV with the given tag at *p; returns its contents. */
static int
spki_expect(const uint8_t **p, size_t *left, unsigned tag, const uint8_t **c,
    size_t *clen)
{
	struct x509_der el;

	if (x509_der_next(p, left, X509_DER_BER_TAG, &el) != X509_DER_OK ||
	    el.id != tag)
		return 0;
	*c = el.c;
	*clen = el.clen;
	return 1;
}

/* ---- algorithm and key identifier off the DER ---- */

/* Splits an SPKI into algorithm OID, parameters TLV and key bits. */
static int
spki_split(const uint8_t *spki, size_t len, const uint8_t **oid,
    size_t *oid_len, const uint8_t **param, size_t *param_len,
    const uint8_t **key, size_t *key_len)
{
	const uint8_t *p = spki, *c, *a, *bits;
	size_t left = len, clen, alen, blen;

	if (spki == NULL || !spki_expect(&p, &left, 0x30, &c, &clen) ||
	    left != 0)
		return 0;
	if (!spki_expect(&c, &clen, 0x30, &a, &alen) ||
	    !spki_expect(&c, &clen, 0x03, &bits, &blen) || clen != 0)
		return 0;
	if (!spki_expect(&a, &alen, 0x06, oid, oid_len))
		return 0;
	*param = a;
	*param_len = alen;
	if (blen < 1 || bits[0] != 0)
		return 0; /* keys are whole octets */
	*key = bits + 1;
	*key_len = blen - 1;
	return 1;
}

/* Bits in the modulus of an RSAPublicKey, 0 if malformed. */
static int
rsapub_bits(const uint8_t *key, size_t len)
{
	const uint8_t *p = key, *c, *n;
	size_t left = len, clen, nlen;
	int bits;

	if (!spki_expect(&p, &left, 0x30, &c, &clen) || left != 0 ||
	    !spki_expect(&c, &clen, 0x02, &n, &nlen) || nlen == 0)
		return 0;
	if (n[0] & 0x80)
		return 0; /* negative modulus */
	while (nlen > 0 && n[0] == 0) {
		n++;
		nlen--;
	}
	if (nlen == 0 || nlen > INT_MAX / 8)
		return 0;
	bits = (int)(nlen - 1) * 8;
	for (unsigned v = n[0]; v != 0; v >>= 1)
		bits++;
	return bits;
}

enum pca_keyalg
x509_spki_keyalg(const uint8_t *spki, size_t len)
{
	const uint8_t *oid, *param, *key, *c, *pp;
	size_t oid_len, param_len, key_len, clen;

	if (!spki_split(spki, len, &oid, &oid_len, &param, &param_len, &key,
		&key_len))
		return PCA_KEY_NONE;
	if (x509_oid_is(oid, oid_len, &X509_OID_RSA)) {
		switch (rsapub_bits(key, key_len)) {
		case 2048:
			return PCA_KEY_RSA_2048;
		case 3072:
			return PCA_KEY_RSA_3072;
		case 4096:
			return PCA_KEY_RSA_4096;
		default:
			return PCA_KEY_NONE;
		}
	}
	if (!x509_oid_is(oid, oid_len, &X509_OID_EC))
		return PCA_KEY_NONE;
	pp = param;
	if (!spki_expect(&pp, &param_len, 0x06, &c, &clen) || param_len != 0)
		return PCA_KEY_NONE;
	if (x509_oid_is(c, clen, &X509_OID_P256))
		return PCA_KEY_EC_P256;
	if (x509_oid_is(c, clen, &X509_OID_P384))
		return PCA_KEY_EC_P384;
	if (x509_oid_is(c, clen, &X509_OID_P521))
		return PCA_KEY_EC_P521;
	return PCA_KEY_NONE;
}

pca_err
x509_spki_keyid(const uint8_t *spki, size_t len, uint8_t out[20])
{
	const uint8_t *oid, *param, *key;
	size_t oid_len, param_len, key_len;

	if (!spki_split(spki, len, &oid, &oid_len, &param, &param_len, &key,
		&key_len))
		return pca_err_set(PCA_EINVAL,
		    "SubjectPublicKeyInfo is not well-formed DER");
	if (SHA1(key, key_len, out) == NULL)
		return pca_err_set(PCA_EINTERNAL, "SHA-1 failed");
	return PCA_OK;
}
