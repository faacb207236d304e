#include <stdarg.h>
#include <stdio.h>
/*
 * der.c - small DER pieces: signature AlgorithmIdentifiers, certificate
 * assembly around signed TBS bytes, SubjectPublicKeyInfo inspection
 * (algorithm, key identifier) without an EVP_PKEY, serial numbers, and
 * the ca_der_* names of the x509/ TLV writer and checkers that tbs.c,
 * csrinfo.c and import.c use.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "../common/buf.h"
#include "../x509/x509.h"
#include "ca_int.h"

/* ---- the TLV writer and checkers, on x509/ ---- */

pca_err
ca_der_put(struct buf *b, unsigned tag, const void *p, size_t n)
{
	return x509_der_put(b, tag, p, n);
}

pca_err
ca_der_wrap(struct buf *b, size_t start, unsigned tag)
{
	return x509_der_wrap(b, start, tag);
}

int
ca_der_check(const uint8_t *p, size_t n)
{
	return x509_der_check(p, n);
}

int
ca_der_strict(const uint8_t *p, size_t len, char *why, size_t whylen)
{
	return x509_der_strict(p, len, why, whylen);
}

/* Expects a TLV with the given tag at *p; returns its contents. */
static int
der_expect(const uint8_t **p, size_t *left, unsigned tag, const uint8_t **c,
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

/* ---- algorithms and certificates ---- */

pca_err
ca_sigalg_der(enum pca_sigalg alg, uint8_t *out, size_t max, size_t *len)
{
	return x509_sigalg_der(alg, out, max, len);
}

pca_err
ca_cert_assemble(const uint8_t *tbs, size_t tbs_len, enum pca_sigalg alg,
    const uint8_t *sig, size_t sig_len, uint8_t **der, size_t *der_len)
{
	return x509_cert_assemble(tbs, tbs_len, alg, sig, sig_len, der,
	    der_len);
}

/* ---- SubjectPublicKeyInfo ---- */

/* Splits an SPKI into algorithm OID, parameters TLV and key bits. */
static int
spki_split(const uint8_t *spki, size_t len, const uint8_t **oid,
    size_t *oid_len, const uint8_t **param, size_t *param_len,
    const uint8_t **key, size_t *key_len)
{
	const uint8_t *p = spki, *c, *a, *bits;
	size_t left = len, clen, alen, blen;

	if (spki == NULL || !der_expect(&p, &left, 0x30, &c, &clen) ||
	    left != 0)
		return 0;
	if (!der_expect(&c, &clen, 0x30, &a, &alen) ||
	    !der_expect(&c, &clen, 0x03, &bits, &blen) || clen != 0)
		return 0;
	if (!der_expect(&a, &alen, 0x06, oid, oid_len))
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
rsa_bits(const uint8_t *key, size_t len)
{
	const uint8_t *p = key, *c, *n;
	size_t left = len, clen, nlen;
	int bits;

	if (!der_expect(&p, &left, 0x30, &c, &clen) || left != 0 ||
	    !der_expect(&c, &clen, 0x02, &n, &nlen) || nlen == 0)
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
ca_spki_keyalg(const uint8_t *spki, size_t len)
{
	const uint8_t *oid, *param, *key, *c, *pp;
	size_t oid_len, param_len, key_len, clen;

	if (!spki_split(
		spki, len, &oid, &oid_len, &param, &param_len, &key, &key_len))
		return PCA_KEY_NONE;
	if (x509_oid_is(oid, oid_len, &X509_OID_RSA)) {
		switch (rsa_bits(key, key_len)) {
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
	if (!der_expect(&pp, &param_len, 0x06, &c, &clen) || param_len != 0)
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
ca_spki_keyid(const uint8_t *spki, size_t len, uint8_t out[20])
{
	const uint8_t *oid, *param, *key;
	size_t oid_len, param_len, key_len;

	if (!spki_split(
		spki, len, &oid, &oid_len, &param, &param_len, &key, &key_len))
		return pca_err_set(
		    PCA_EINVAL, "SubjectPublicKeyInfo is not well-formed DER");
	if (SHA1(key, key_len, out) == NULL)
		return pca_err_set(PCA_EINTERNAL, "SHA-1 failed");
	return PCA_OK;
}

pca_err
ca_serial_new(uint8_t out[16])
{
	uint8_t s[16];
	int tries;

	if (RAND_bytes(s, sizeof(s)) != 1)
		goto fail;
	for (tries = 0; s[0] == 0 && tries < 64; tries++)
		if (RAND_bytes(s, 1) != 1)
			goto fail;
	if (s[0] == 0)
		goto fail;
	memcpy(out, s, sizeof(s));
	return PCA_OK;
fail:
	pca_err_set(PCA_EINTERNAL, "random number generator failed");
	pca_err_add_openssl();
	return PCA_EINTERNAL;
}

void
ca_fieldf(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out, n, fmt, ap);
	va_end(ap);
}
