/*
 * resp.c - response DER (RFC 6960 4.2.1), hand-assembled so that the bytes
 * signed are exactly the ResponseData emitted.  Times are GeneralizedTime
 * with seconds and no fraction (RFC 9919 4.2); the responder id is byKey
 * (RFC 9919); nextUpdate is always present.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../x509/x509.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../hsm/hsm.h"
#include "ocsp_int.h"

#define RESP_MAX (64 * 1024)

static const uint8_t ALG_SHA1[] = {0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03,
    0x02, 0x1a, 0x05, 0x00};
static const uint8_t ALG_SHA256[] = {0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
    0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00};
/* id-pkix-ocsp-basic 1.3.6.1.5.5.7.48.1.1 */
static const uint8_t OID_BASIC[] = {0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05,
    0x07, 0x30, 0x01, 0x01};
/* id-pkix-ocsp-nonce 1.3.6.1.5.5.7.48.1.2 */
static const uint8_t OID_NONCE[] = {0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05,
    0x07, 0x30, 0x01, 0x02};

const uint8_t *
ocsp_hash_algid(enum ocsp_hash h, size_t *len)
{
	*len = h == OCSP_HASH_SHA1 ? sizeof(ALG_SHA1) : sizeof(ALG_SHA256);
	return h == OCSP_HASH_SHA1 ? ALG_SHA1 : ALG_SHA256;
}

size_t
ocsp_hash_len(enum ocsp_hash h)
{
	return h == OCSP_HASH_SHA1 ? 20 : 32;
}

const uint8_t *
ocsp_resp_error(enum ocsp_rstatus s, size_t *len)
{
	static const uint8_t e[7][5] = {{0x30, 0x03, 0x0a, 0x01, 0x00},
	    {0x30, 0x03, 0x0a, 0x01, 0x01}, {0x30, 0x03, 0x0a, 0x01, 0x02},
	    {0x30, 0x03, 0x0a, 0x01, 0x03}, {0x30, 0x03, 0x0a, 0x01, 0x04},
	    {0x30, 0x03, 0x0a, 0x01, 0x05}, {0x30, 0x03, 0x0a, 0x01, 0x06}};

	*len = 5;
	return e[(unsigned)s < 7 ? (unsigned)s : OCSP_R_INTERNAL];
}

static pca_err
put_time(struct buf *b, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char s[32];

	if (gmtime_r(&tt, &tm) == NULL)
		return pca_err_set(PCA_EINVAL, "time out of range");
	if (strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm) != 15)
		return pca_err_set(PCA_EINVAL, "time out of range");
	return x509_der_put(b, 0x18, s, 15);
}

static pca_err
put_certid(struct buf *b, const struct ocsp_certid *id)
{
	size_t start = b->len, alen, hl = ocsp_hash_len(id->hash);
	const uint8_t *alg = ocsp_hash_algid(id->hash, &alen);
	pca_err e;

	if ((e = buf_add(b, alg, alen)) != PCA_OK ||
	    (e = x509_der_put(b, 0x04, id->name_hash, hl)) != PCA_OK ||
	    (e = x509_der_put(b, 0x04, id->key_hash, hl)) != PCA_OK ||
	    (e = x509_der_put(b, 0x02, id->serial, id->serial_len)) != PCA_OK)
		return e;
	return x509_der_wrap(b, start, 0x30);
}

static pca_err
put_status(struct buf *b, const struct ocsp_single *s)
{
	size_t start = b->len, rs;
	uint8_t reason = (uint8_t)s->reason;
	pca_err e;

	if (s->status == OCSP_GOOD)
		return x509_der_put(b, 0x80, &reason, 0);
	if (s->status == OCSP_UNKNOWN)
		return x509_der_put(b, 0x82, &reason, 0);
	if ((e = put_time(b, s->revoked_at)) != PCA_OK)
		return e;
	if (s->reason > 0 && s->reason <= 10) {
		rs = b->len;
		if ((e = x509_der_put(b, 0x0a, &reason, 1)) != PCA_OK ||
		    (e = x509_der_wrap(b, rs, 0xa0)) != PCA_OK)
			return e;
	}
	return x509_der_wrap(b, start, 0xa1);
}

static pca_err
put_single(struct buf *b, const struct ocsp_single *s)
{
	size_t start = b->len, nu;
	pca_err e;

	if ((e = put_certid(b, s->id)) != PCA_OK ||
	    (e = put_status(b, s)) != PCA_OK ||
	    (e = put_time(b, s->this_update)) != PCA_OK)
		return e;
	nu = b->len;
	if ((e = put_time(b, s->next_update)) != PCA_OK ||
	    (e = x509_der_wrap(b, nu, 0xa0)) != PCA_OK)
		return e;
	return x509_der_wrap(b, start, 0x30);
}

static pca_err
put_nonce(struct buf *b, const uint8_t *nonce, size_t n)
{
	size_t start = b->len, v;
	pca_err e;

	if ((e = buf_add(b, OID_NONCE, sizeof(OID_NONCE))) != PCA_OK)
		return e;
	v = b->len;
	if ((e = x509_der_put(b, 0x04, nonce, n)) != PCA_OK ||
	    (e = x509_der_wrap(b, v, 0x04)) != PCA_OK ||
	    (e = x509_der_wrap(b, start, 0x30)) != PCA_OK || /* Extension */
	    (e = x509_der_wrap(b, start, 0x30)) != PCA_OK)   /* Extensions */
		return e;
	return x509_der_wrap(b, start, 0xa1);
}

pca_err
ocsp_tbs_build(const uint8_t key_id[20], int64_t produced,
    const struct ocsp_single *s, size_t n, const uint8_t *nonce,
    size_t nonce_len, uint8_t **tbs, size_t *tbs_len)
{
	struct buf b;
	size_t i, rs;
	pca_err e;

	buf_init(&b, RESP_MAX);
	if ((e = x509_der_put(&b, 0x04, key_id, 20)) != PCA_OK ||
	    (e = x509_der_wrap(&b, 0, 0xa2)) != PCA_OK ||
	    (e = put_time(&b, produced)) != PCA_OK)
		goto out;
	rs = b.len;
	for (i = 0; i < n; i++)
		if ((e = put_single(&b, &s[i])) != PCA_OK)
			goto out;
	if ((e = x509_der_wrap(&b, rs, 0x30)) != PCA_OK)
		goto out;
	if (nonce_len > 0 && (e = put_nonce(&b, nonce, nonce_len)) != PCA_OK)
		goto out;
	if ((e = x509_der_wrap(&b, 0, 0x30)) != PCA_OK)
		goto out;
	*tbs = buf_steal(&b, tbs_len);
out:
	buf_free(&b);
	return e;
}

pca_err
ocsp_resp_assemble(const uint8_t *tbs, size_t tbs_len, enum pca_sigalg alg,
    const uint8_t *sig, size_t sig_len, const uint8_t *cert, size_t cert_len,
    uint8_t **der, size_t *der_len)
{
	struct buf b;
	uint8_t a[32], zero = 0, st[3] = {0x0a, 0x01, 0x00};
	size_t alen, start;
	pca_err e;

	if ((e = x509_sigalg_der(alg, a, sizeof(a), &alen)) != PCA_OK)
		return e;
	buf_init(&b, RESP_MAX);
	if ((e = buf_add(&b, tbs, tbs_len)) != PCA_OK ||
	    (e = buf_add(&b, a, alen)) != PCA_OK)
		goto out;
	start = b.len;
	if ((e = buf_add(&b, &zero, 1)) != PCA_OK ||
	    (e = buf_add(&b, sig, sig_len)) != PCA_OK ||
	    (e = x509_der_wrap(&b, start, 0x03)) != PCA_OK)
		goto out;
	start = b.len;
	if (cert != NULL &&
	    ((e = buf_add(&b, cert, cert_len)) != PCA_OK ||
		(e = x509_der_wrap(&b, start, 0x30)) != PCA_OK ||
		(e = x509_der_wrap(&b, start, 0xa0)) != PCA_OK))
		goto out;
	if ((e = x509_der_wrap(&b, 0, 0x30)) != PCA_OK || /* Basic */
	    (e = x509_der_wrap(&b, 0, 0x04)) != PCA_OK)   /* response */
		goto out;
	if ((e = buf_add(&b, OID_BASIC, sizeof(OID_BASIC))) != PCA_OK)
		goto out;
	/* move the OID in front: rebuild as OID || OCTET STRING */
	memmove(b.p + sizeof(OID_BASIC), b.p, b.len - sizeof(OID_BASIC));
	memcpy(b.p, OID_BASIC, sizeof(OID_BASIC));
	if ((e = x509_der_wrap(&b, 0, 0x30)) != PCA_OK || /* ResponseBytes */
	    (e = x509_der_wrap(&b, 0, 0xa0)) != PCA_OK)
		goto out;
	if ((e = buf_add(&b, st, 3)) != PCA_OK)
		goto out;
	memmove(b.p + 3, b.p, b.len - 3);
	memcpy(b.p, st, 3);
	if ((e = x509_der_wrap(&b, 0, 0x30)) != PCA_OK)
		goto out;
	*der = buf_steal(&b, der_len);
out:
	buf_free(&b);
	return e;
}

pca_err
ocsp_resp_sign(struct hsm *hsm, const struct ocsp_signer *sg, int64_t produced,
    const struct ocsp_single *s, size_t n, const uint8_t *nonce,
    size_t nonce_len, uint8_t **der, size_t *len)
{
	uint8_t *tbs = NULL, sig[LIM_SIG];
	size_t tbs_len, sig_len;
	struct hsm_key key = {sg->label, sg->spki, sg->spki_len};
	pca_err e;

	if ((e = ocsp_tbs_build(sg->key_id, produced, s, n, nonce, nonce_len,
		 &tbs, &tbs_len)) != PCA_OK)
		return e;
	/* the lint gate reads the very bytes that are signed */
	if ((e = x509_lint_ocsp(tbs, tbs_len, sg->sigalg)) != PCA_OK)
		log_warnx("lint gate refused an OCSP response (signer %s): %s",
		    sg->label, pca_err_msg());
	else if ((e = hsm_sign(hsm, &key, sg->sigalg, tbs, tbs_len, sig,
		      &sig_len)) == PCA_OK)
		e = ocsp_resp_assemble(tbs, tbs_len, sg->sigalg, sig, sig_len,
		    sg->cert, sg->cert_len, der, len);
	free(tbs);
	return e;
}
