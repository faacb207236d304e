/*
 * cert.c - signature AlgorithmIdentifiers (RFC 5754 3.2, RFC 5758 3.2) and
 * the signed-object assembly around TBS bytes (RFC 5280 4.1.1: TBS,
 * signatureAlgorithm, signatureValue); CRLs and BasicOCSPResponses have
 * the same shape.
 */
#include <string.h>

#include "../common/limits.h"
#include "x509.h"

static const uint8_t alg_rsa256[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
    0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
static const uint8_t alg_rsa384[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
    0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00};
static const uint8_t alg_rsa512[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
    0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00};
static const uint8_t alg_ec256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x04, 0x03, 0x02};
static const uint8_t alg_ec384[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x04, 0x03, 0x03};
static const uint8_t alg_ec512[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x04, 0x03, 0x04};

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

pca_err
x509_sigalg_der(enum pca_sigalg alg, uint8_t *out, size_t max, size_t *len)
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
x509_cert_assemble(const uint8_t *tbs, size_t tbs_len, enum pca_sigalg alg,
    const uint8_t *sig, size_t sig_len, uint8_t **der, size_t *der_len)
{
	struct buf b;
	uint8_t a[32], zero = 0;
	size_t alen, start;
	pca_err e;

	if (tbs == NULL || tbs_len < 2 || tbs[0] != 0x30)
		return pca_err_set(PCA_EINVAL,
		    "to-be-signed data is not a DER SEQUENCE");
	if (tbs_len > SIZE_MAX / 2)
		return pca_err_set(PCA_ETOOBIG, "to-be-signed data too long");
	if (sig == NULL || sig_len == 0 || sig_len > LIM_SIG)
		return pca_err_set(PCA_EINVAL,
		    "signature length %zu is out of range", sig_len);
	if ((e = x509_sigalg_der(alg, a, sizeof(a), &alen)) != PCA_OK)
		return e;
	buf_init(&b, tbs_len + alen + sig_len + 32);
	if ((e = buf_add(&b, tbs, tbs_len)) != PCA_OK ||
	    (e = buf_add(&b, a, alen)) != PCA_OK)
		goto out;
	start = b.len; /* BIT STRING: unused-bits octet 0, then sig */
	if ((e = buf_add(&b, &zero, 1)) != PCA_OK ||
	    (e = buf_add(&b, sig, sig_len)) != PCA_OK ||
	    (e = x509_der_wrap(&b, start, 0x03)) != PCA_OK ||
	    (e = x509_der_wrap(&b, 0, 0x30)) != PCA_OK)
		goto out;
	*der = buf_steal(&b, der_len);
out:
	buf_free(&b);
	return e;
}
