#include <stdarg.h>
#include <stdio.h>
/*
 * der.c - small DER pieces: signature AlgorithmIdentifiers, certificate
 * assembly around signed TBS bytes, SubjectPublicKeyInfo inspection
 * (algorithm, key identifier) without an EVP_PKEY, serial numbers, and
 * the TLV writer/checker shared by tbs.c and csrinfo.c.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "../common/buf.h"
#include "ca_int.h"

#define DER_MAX_DEPTH 32

static const uint8_t alg_rsa256[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
    0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
static const uint8_t alg_rsa384[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
    0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00};
static const uint8_t alg_rsa512[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
    0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00};
static const uint8_t alg_ec256[] = {
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const uint8_t alg_ec384[] = {
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
static const uint8_t alg_ec512[] = {
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04};

static const struct {
	const uint8_t *der;
	size_t len;
} sigalgs[PCA_SIG_MAX] = {
    [PCA_SIG_SHA256_RSA] = {alg_rsa256, sizeof(alg_rsa256)},
    [PCA_SIG_SHA384_RSA] = {alg_rsa384, sizeof(alg_rsa384)},
    [PCA_SIG_SHA512_RSA] = {alg_rsa512, sizeof(alg_rsa512)},
    [PCA_SIG_SHA256_ECDSA] = {alg_ec256, sizeof(alg_ec256)},
    [PCA_SIG_SHA384_ECDSA] = {alg_ec384, sizeof(alg_ec384)},
    [PCA_SIG_SHA512_ECDSA] = {alg_ec512, sizeof(alg_ec512)},
};

/* rsaEncryption, id-ecPublicKey and the three named curves (contents). */
static const uint8_t oid_rsa[] = {
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
static const uint8_t oid_ec[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t oid_p256[] = {
    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t oid_p521[] = {0x2b, 0x81, 0x04, 0x00, 0x23};

/* ---- writing ---- */

/* Writes tag and definite length for n content bytes; returns its size. */
static size_t
der_hdr(uint8_t h[6], unsigned tag, size_t n)
{
	size_t i = 0, k = 0;

	h[i++] = (uint8_t)tag;
	if (n < 0x80) {
		h[i++] = (uint8_t)n;
		return i;
	}
	while (k < 4 && (n >> (8 * k)) != 0)
		k++;
	h[i++] = (uint8_t)(0x80 | k);
	while (k-- > 0)
		h[i++] = (uint8_t)(n >> (8 * k));
	return i;
}

pca_err
ca_der_put(struct buf *b, unsigned tag, const void *p, size_t n)
{
	uint8_t h[6];
	pca_err e;

	if (n > UINT32_MAX)
		return pca_err_set(PCA_ETOOBIG, "DER element too long");
	if ((e = buf_add(b, h, der_hdr(h, tag, n))) != PCA_OK)
		return e;
	return buf_add(b, p, n);
}

pca_err
ca_der_wrap(struct buf *b, size_t start, unsigned tag)
{
	uint8_t h[6];
	size_t n, hl;
	pca_err e;

	if (start > b->len)
		return pca_err_set(PCA_EINTERNAL, "DER wrap past the end");
	n = b->len - start;
	if (n > UINT32_MAX)
		return pca_err_set(PCA_ETOOBIG, "DER element too long");
	hl = der_hdr(h, tag, n);
	if ((e = buf_add(b, h, hl)) != PCA_OK)
		return e;
	memmove(b->p + start + hl, b->p + start, n);
	memcpy(b->p + start, h, hl);
	return PCA_OK;
}

/* ---- reading ---- */

/*
 * Reads one TLV at *p (left bytes available): tag (low or high form),
 * minimal definite length.  On success advances *p and *left past it.
 */
static int
der_next(const uint8_t **p, size_t *left, unsigned *tag, const uint8_t **c,
    size_t *clen)
{
	const uint8_t *q = *p;
	size_t n = *left, len = 0, k, i = 1;

	if (n < 2)
		return 0;
	*tag = q[0];
	if ((q[0] & 0x1f) == 0x1f) { /* high tag number form */
		if (q[1] == 0x80)
			return 0;
		while (i < n && i < 5 && (q[i] & 0x80))
			i++;
		if (i >= n || i >= 5)
			return 0;
		i++; /* *tag keeps the first octet (class, form) */
	}
	if (i >= n)
		return 0;
	if (q[i] < 0x80) {
		len = q[i++];
	} else {
		k = q[i++] & 0x7f;
		if (k == 0 || k > 4 || k > n - i || q[i] == 0)
			return 0; /* indefinite, too long, not minimal */
		while (k-- > 0)
			len = (len << 8) | q[i++];
		if (len < 0x80)
			return 0;
	}
	if (len > n - i)
		return 0;
	*c = q + i;
	*clen = len;
	*p = q + i + len;
	*left = n - i - len;
	return 1;
}

static int
der_check_depth(const uint8_t *p, size_t n, int depth)
{
	const uint8_t *c;
	size_t clen;
	unsigned tag;

	if (depth > DER_MAX_DEPTH)
		return 0;
	while (n > 0) {
		if (!der_next(&p, &n, &tag, &c, &clen))
			return 0;
		if ((tag & 0x20) && !der_check_depth(c, clen, depth + 1))
			return 0;
	}
	return 1;
}

int
ca_der_check(const uint8_t *p, size_t n)
{
	const uint8_t *q = p, *c;
	size_t left = n, clen;
	unsigned tag;

	if (p == NULL || n == 0)
		return 0;
	if (!der_next(&q, &left, &tag, &c, &clen) || left != 0)
		return 0;
	return der_check_depth(p, n, 0);
}

/* Expects a TLV with the given tag at *p; returns its contents. */
static int
der_expect(const uint8_t **p, size_t *left, unsigned tag, const uint8_t **c,
    size_t *clen)
{
	unsigned t;

	return der_next(p, left, &t, c, clen) && t == tag;
}

/* ---- algorithms and certificates ---- */

pca_err
ca_sigalg_der(enum pca_sigalg alg, uint8_t *out, size_t max, size_t *len)
{
	if ((unsigned)alg >= PCA_SIG_MAX || sigalgs[alg].der == NULL)
		return pca_err_set(PCA_EUNSUPPORTED,
		    "signing algorithm %d is not supported", (int)alg);
	if (max < sigalgs[alg].len)
		return pca_err_set(PCA_ETOOBIG,
		    "AlgorithmIdentifier needs %zu bytes", sigalgs[alg].len);
	memcpy(out, sigalgs[alg].der, sigalgs[alg].len);
	*len = sigalgs[alg].len;
	return PCA_OK;
}

pca_err
ca_cert_assemble(const uint8_t *tbs, size_t tbs_len, enum pca_sigalg alg,
    const uint8_t *sig, size_t sig_len, uint8_t **der, size_t *der_len)
{
	struct buf b;
	uint8_t a[32], zero = 0;
	size_t alen, start;
	pca_err e;

	if (tbs == NULL || tbs_len < 2 || tbs[0] != 0x30)
		return pca_err_set(
		    PCA_EINVAL, "to-be-signed data is not a DER SEQUENCE");
	if (tbs_len > SIZE_MAX / 2)
		return pca_err_set(PCA_ETOOBIG, "to-be-signed data too long");
	if (sig == NULL || sig_len == 0 || sig_len > LIM_SIG)
		return pca_err_set(PCA_EINVAL,
		    "signature length %zu is out of range", sig_len);
	if ((e = ca_sigalg_der(alg, a, sizeof(a), &alen)) != PCA_OK)
		return e;
	buf_init(&b, tbs_len + alen + sig_len + 32);
	if ((e = buf_add(&b, tbs, tbs_len)) != PCA_OK ||
	    (e = buf_add(&b, a, alen)) != PCA_OK)
		goto out;
	start = b.len; /* BIT STRING: unused-bits octet 0, then sig */
	if ((e = buf_add(&b, &zero, 1)) != PCA_OK ||
	    (e = buf_add(&b, sig, sig_len)) != PCA_OK ||
	    (e = ca_der_wrap(&b, start, 0x03)) != PCA_OK ||
	    (e = ca_der_wrap(&b, 0, 0x30)) != PCA_OK)
		goto out;
	*der = buf_steal(&b, der_len);
out:
	buf_free(&b);
	return e;
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

static int
oid_is(const uint8_t *o, size_t n, const uint8_t *want, size_t wn)
{
	return n == wn && memcmp(o, want, n) == 0;
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
	if (oid_is(oid, oid_len, oid_rsa, sizeof(oid_rsa))) {
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
	if (!oid_is(oid, oid_len, oid_ec, sizeof(oid_ec)))
		return PCA_KEY_NONE;
	pp = param;
	if (!der_expect(&pp, &param_len, 0x06, &c, &clen) || param_len != 0)
		return PCA_KEY_NONE;
	if (oid_is(c, clen, oid_p256, sizeof(oid_p256)))
		return PCA_KEY_EC_P256;
	if (oid_is(c, clen, oid_p384, sizeof(oid_p384)))
		return PCA_KEY_EC_P384;
	if (oid_is(c, clen, oid_p521, sizeof(oid_p521)))
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
