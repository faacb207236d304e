/*
 * hsm_key.c - key pairs on the token: generation with explicit templates,
 * the public key as DER SubjectPublicKeyInfo, security attributes,
 * destruction.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "../common/log.h"
#include "../x509/x509.h"
#include "hsm_int.h"

/* Named curves: CKA_EC_PARAMS is the DER OID. */
static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
    0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t oid_p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};

static const struct hsm_curve {
	enum pca_keyalg alg;
	const char *group; /* OpenSSL group name */
	const uint8_t *oid;
	size_t oid_len;
	size_t field; /* bytes of a coordinate */
} curves[] = {
    {PCA_KEY_EC_P256, "prime256v1", oid_p256, sizeof(oid_p256), 32},
    {PCA_KEY_EC_P384, "secp384r1", oid_p384, sizeof(oid_p384), 48},
    {PCA_KEY_EC_P521, "secp521r1", oid_p521, sizeof(oid_p521), 66},
};

static const struct hsm_curve *
curve_by_alg(enum pca_keyalg alg)
{
	size_t i;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].alg == alg)
			return &curves[i];
	return NULL;
}

static const struct hsm_curve *
curve_by_oid(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].oid_len == n && memcmp(curves[i].oid, p, n) == 0)
			return &curves[i];
	return NULL;
}

pca_err
hsm_label_check(const char *label)
{
	size_t n;

	if (label == NULL || label[0] == '\0')
		return pca_err_set(PCA_EINVAL, "no key label given");
	n = strlen(label);
	if (n > LIM_LABEL)
		return pca_err_set(PCA_ETOOBIG, "key label is over %d bytes",
		    LIM_LABEL);
	return PCA_OK;
}

/* EVP_PKEY_fromdata + i2d_PUBKEY into a malloc'ed buffer. */
static pca_err
spki_from_bld(const char *kt, OSSL_PARAM_BLD *bld, const char *label,
    uint8_t **out, size_t *outlen)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	uint8_t *der = NULL, *p;
	pca_err rc = PCA_OK;
	int n;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, kt, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0 ||
	    (n = i2d_PUBKEY(pk, NULL)) <= 0) {
		rc = pca_err_set(PCA_EHSM,
		    "the token's %s public key of %s does not parse", kt,
		    label);
		pca_err_add_openssl();
		goto out;
	}
	if ((der = malloc((size_t)n)) == NULL) {
		rc = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	p = der;
	if (i2d_PUBKEY(pk, &p) != n) {
		rc = pca_err_set(PCA_EINTERNAL, "i2d_PUBKEY changed length");
		goto out;
	}
	*out = der;
	*outlen = (size_t)n;
	der = NULL;
out:
	free(der);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return rc;
}

static pca_err
spki_rsa(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
    const char *label, uint8_t **out, size_t *outlen)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	pca_err rc;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    (bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)) {
		rc = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	rc = spki_from_bld("RSA", bld, label, out, outlen);
out:
	BN_free(bn);
	BN_free(be);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

/* 1: p is an EC point of a curve with field-byte coordinates. */
static int
ec_point_is(const uint8_t *p, size_t n, size_t field)
{
	return (n == 1 + 2 * field && p[0] == 0x04) ||
	       (n == 1 + field && (p[0] == 0x02 || p[0] == 0x03));
}

pca_err
hsm_ec_point_raw(const uint8_t *p, size_t n, size_t field, const uint8_t **raw,
    size_t *rawlen)
{
	struct x509_der el;
	size_t left = n;

	if (ec_point_is(p, n, field)) {
		*raw = p;
		*rawlen = n;
		return PCA_OK;
	}
	/* one strict-DER OCTET STRING, nothing after it (X.690 10.1) */
	if (x509_der_next(&p, &left, X509_DER_LOWTAG | X509_DER_LEN2, &el) !=
		X509_DER_OK ||
	    el.id != 0x04 || left != 0 || !ec_point_is(el.c, el.clen, field))
		return pca_err_set(PCA_EHSM,
		    "CKA_EC_POINT of %zu bytes is neither a "
		    "point nor a DER OCTET STRING holding one",
		    n);
	*raw = el.c;
	*rawlen = el.clen;
	return PCA_OK;
}

static pca_err
spki_ec(const struct hsm_curve *c, const uint8_t *pt, size_t ptlen,
    const char *label, uint8_t **out, size_t *outlen)
{
	OSSL_PARAM_BLD *bld = NULL;
	const uint8_t *raw = NULL;
	size_t rawlen = 0;
	pca_err rc;

	if ((rc = hsm_ec_point_raw(pt, ptlen, c->field, &raw, &rawlen)) !=
	    PCA_OK)
		return rc;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
		c->group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, raw,
		rawlen)) {
		rc = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	rc = spki_from_bld("EC", bld, label, out, outlen);
out:
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

static pca_err
spki_rsa_obj(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    const char *label, uint8_t **out, size_t *outlen, CK_RV *rv)
{
	uint8_t *n = NULL, *e = NULL;
	size_t nlen, elen;
	pca_err rc;

	if ((rc = hsm_attr_get(h, s, o, CKA_MODULUS, &n, &nlen, rv)) !=
		PCA_OK ||
	    (rc = hsm_attr_get(h, s, o, CKA_PUBLIC_EXPONENT, &e, &elen, rv)) !=
		PCA_OK)
		goto out;
	rc = spki_rsa(n, nlen, e, elen, label, out, outlen);
out:
	free(n);
	free(e);
	return rc;
}

static pca_err
spki_ec_obj(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv,
    CK_OBJECT_HANDLE pub, const char *label, uint8_t **out, size_t *outlen,
    CK_RV *rv)
{
	uint8_t *kp = NULL, *pp = NULL, *pt = NULL;
	size_t kplen, pplen, ptlen;
	const struct hsm_curve *c;
	pca_err rc;

	if ((rc = hsm_attr_get(h, s, priv, CKA_EC_PARAMS, &kp, &kplen, rv)) ||
	    (rc = hsm_attr_get(h, s, pub, CKA_EC_PARAMS, &pp, &pplen, rv)) ||
	    (rc = hsm_attr_get(h, s, pub, CKA_EC_POINT, &pt, &ptlen, rv)))
		goto out;
	if (kplen != pplen || memcmp(kp, pp, kplen) != 0) {
		rc = pca_err_set(PCA_EKEYMISMATCH,
		    "the private and public keys labelled %s are on different "
		    "curves",
		    label);
		goto out;
	}
	if ((c = curve_by_oid(pp, pplen)) == NULL) {
		rc = pca_err_set(PCA_EUNSUPPORTED,
		    "key %s is on an unsupported curve", label);
		goto out;
	}
	rc = spki_ec(c, pt, ptlen, label, out, outlen);
out:
	free(kp);
	free(pp);
	free(pt);
	return rc;
}

/* The one private key labelled label. */
pca_err
hsm_priv_find(struct hsm *h, CK_SESSION_HANDLE s, const char *label,
    CK_OBJECT_HANDLE *priv, CK_RV *rv)
{
	CK_OBJECT_HANDLE o[2];
	CK_ULONG n = 0;
	pca_err rc;

	rc = hsm_find(h, s, CKO_PRIVATE_KEY, label, NULL, 0, o, 2, &n, rv);
	if (rc != PCA_OK)
		return rc;
	if (n == 0 && hsm_login_lost(h, s, rv))
		return PCA_EUNAVAIL;
	if (n == 0)
		return pca_err_set(PCA_ENOTFOUND,
		    "no private key %s on token %s", label, h->token);
	if (n > 1)
		return pca_err_set(PCA_EHSM,
		    "several private keys are labelled %s on token %s", label,
		    h->token);
	*priv = o[0];
	return PCA_OK;
}

/*
 * The public key of the pair whose private half is priv, as DER SPKI: from
 * the public object with the same label and CKA_ID (RSA may fall back to
 * the private object's CKA_MODULUS/CKA_PUBLIC_EXPONENT).
 */
pca_err
hsm_pub_spki(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv,
    const char *label, uint8_t **spki, size_t *spki_len, CK_KEY_TYPE *type,
    CK_RV *rv)
{
	CK_OBJECT_HANDLE pub[2];
	CK_ULONG kt, n = 0;
	uint8_t *id = NULL;
	size_t idlen = 0;
	pca_err rc;

	if ((rc = hsm_attr_ulong(h, s, priv, CKA_KEY_TYPE, &kt, rv)) ||
	    (rc = hsm_attr_get(h, s, priv, CKA_ID, &id, &idlen, rv)) ||
	    (rc = hsm_find(h, s, CKO_PUBLIC_KEY, label, id, idlen, pub, 2, &n,
		 rv)))
		goto out;
	if (n > 1) {
		rc = pca_err_set(PCA_EHSM,
		    "several public keys are labelled %s", label);
		goto out;
	}
	if (kt == CKK_RSA)
		rc = spki_rsa_obj(h, s, n ? pub[0] : priv, label, spki,
		    spki_len, rv);
	else if (kt == CKK_EC && n == 1)
		rc = spki_ec_obj(h, s, priv, pub[0], label, spki, spki_len, rv);
	else if (kt == CKK_EC)
		rc = pca_err_set(PCA_ENOTFOUND,
		    "EC key %s has no public key object", label);
	else
		rc = pca_err_set(PCA_EUNSUPPORTED,
		    "key %s has type 0x%lx, neither RSA nor EC", label,
		    (unsigned long)kt);
	if (rc == PCA_OK)
		*type = kt;
out:
	free(id);
	return rc;
}

struct gen_arg {
	const char *label;
	const uint8_t *id;
	size_t id_len;
	enum pca_keyalg alg;
	uint8_t *spki;
	size_t spki_len;
};

/* PCA_EEXISTS when any key object carries the label. */
static pca_err
label_unused(struct hsm *h, CK_SESSION_HANDLE s, const char *label, CK_RV *rv)
{
	CK_OBJECT_HANDLE o;
	CK_ULONG n1 = 0, n2 = 0;
	pca_err rc;

	if ((rc = hsm_find(h, s, CKO_PRIVATE_KEY, label, NULL, 0, &o, 1, &n1,
		 rv)) ||
	    (rc = hsm_find(h, s, CKO_PUBLIC_KEY, label, NULL, 0, &o, 1, &n2,
		 rv)))
		return rc;
	if (n1 == 0 && hsm_login_lost(h, s, rv))
		return PCA_EUNAVAIL;
	if (n1 + n2 > 0)
		return pca_err_set(PCA_EEXISTS,
		    "a key labelled %s exists on token %s", label, h->token);
	return PCA_OK;
}

static pca_err
keypair_gen(struct hsm *h, CK_SESSION_HANDLE s, const struct gen_arg *a,
    CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv, CK_RV *rv)
{
	static CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	static uint8_t e65537[] = {0x01, 0x00, 0x01};
	const struct hsm_curve *c = curve_by_alg(a->alg);
	CK_ULONG bits = (CK_ULONG)pca_keyalg_rsa_bits(a->alg), np, nk;
	CK_MECHANISM mech = {
	    c ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE pt[8] = {
	    {CKA_TOKEN, &t, sizeof(t)},
	    {CKA_VERIFY, &t, sizeof(t)},
	    {CKA_ENCRYPT, &f, sizeof(f)},
	    {CKA_WRAP, &f, sizeof(f)},
	    {CKA_LABEL, (void *)a->label, strlen(a->label)},
	};
	CK_ATTRIBUTE kt[10] = {
	    {CKA_TOKEN, &t, sizeof(t)},
	    {CKA_PRIVATE, &t, sizeof(t)},
	    {CKA_SENSITIVE, &t, sizeof(t)},
	    {CKA_EXTRACTABLE, &f, sizeof(f)},
	    {CKA_SIGN, &t, sizeof(t)},
	    {CKA_DECRYPT, &f, sizeof(f)},
	    {CKA_UNWRAP, &f, sizeof(f)},
	    {CKA_DERIVE, &f, sizeof(f)},
	    {CKA_LABEL, (void *)a->label, strlen(a->label)},
	};
	CK_RV r;

	np = 5;
	nk = 9;
	if (c != NULL)
		pt[np++] =
		    (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)c->oid, c->oid_len};
	else {
		pt[np++] =
		    (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)};
		pt[np++] =
		    (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537)};
	}
	if (a->id_len > 0) {
		pt[np++] = (CK_ATTRIBUTE){CKA_ID, (void *)a->id, a->id_len};
		kt[nk++] = (CK_ATTRIBUTE){CKA_ID, (void *)a->id, a->id_len};
	}
	r = h->fl->C_GenerateKeyPair(s, &mech, pt, np, kt, nk, pub, priv);
	if (r != CKR_OK) {
		*rv = r;
		return hsm_p11_fail("C_GenerateKeyPair", r, a->label);
	}
	return PCA_OK;
}

/* Destroys every key object labelled label (best effort). */
static void
label_clear(struct hsm *h, CK_SESSION_HANDLE s, const char *label)
{
	static const CK_OBJECT_CLASS cls[2] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};
	CK_OBJECT_HANDLE o[4];
	CK_ULONG i, n;
	CK_RV rv;
	int c;

	for (c = 0; c < 2; c++) {
		n = 0;
		if (hsm_find(h, s, cls[c], label, NULL, 0, o, 4, &n, &rv) !=
		    PCA_OK)
			continue;
		for (i = 0; i < n; i++)
			(void)h->fl->C_DestroyObject(s, o[i]);
	}
}

/*
 * One generation; on failure no object carries the label (best effort).
 * *made says whether C_GenerateKeyPair itself succeeded.
 */
static pca_err
generate_once(struct hsm *h, CK_SESSION_HANDLE s, struct gen_arg *a, int *made,
    CK_RV *rv)
{
	CK_OBJECT_HANDLE pub, priv;
	CK_KEY_TYPE type;
	pca_err rc;

	*made = 0;
	if ((rc = keypair_gen(h, s, a, &pub, &priv, rv)) == PCA_OK) {
		*made = 1;
		rc = hsm_pub_spki(h, s, priv, a->label, &a->spki, &a->spki_len,
		    &type, rv);
		if (rc == PCA_OK)
			return PCA_OK;
		(void)h->fl->C_DestroyObject(s, priv);
		(void)h->fl->C_DestroyObject(s, pub);
	}
	label_clear(h, s, a->label);
	return rc;
}

/*
 * A file-backed token (SoftHSM) that another process writes at the same
 * moment, a pcactl or pkcs11-tool login next to pcad, can fail a
 * C_GenerateKeyPair with CKR_FUNCTION_FAILED, CKR_GENERAL_ERROR or
 * CKR_TEMPLATE_INCONSISTENT (SoftHSM reports a failed write of the new
 * object's attributes so; the template is the one that always works), or
 * not show the pair it has just made the way it made it.  While the
 * session is still logged in, the attempt's objects are removed and
 * generation is tried again, HSM_GEN_TRIES times in all; what still fails
 * is token trouble (PCA_EUNAVAIL, never a missing key) and goes to
 * hsm_run's recovery (SoftHSM 2.6 can keep a token it read torn unusable
 * until C_Finalize), which runs this again.
 */
static pca_err
op_generate(struct hsm *h, CK_SESSION_HANDLE s, void *arg, CK_RV *rv)
{
	struct gen_arg *a = arg;
	unsigned i, ms = 20;
	int made;
	pca_err rc;

	if ((rc = label_unused(h, s, a->label, rv)) != PCA_OK)
		return rc;
	for (i = 1;; i++, ms *= 2) {
		*rv = CKR_OK;
		rc = generate_once(h, s, a, &made, rv);
		if (rc == PCA_OK)
			return rc;
		if (!made && *rv != CKR_FUNCTION_FAILED &&
		    *rv != CKR_GENERAL_ERROR &&
		    *rv != CKR_TEMPLATE_INCONSISTENT)
			return rc;
		if (!hsm_logged_in(h, s))
			return rc;
		if (i == HSM_GEN_TRIES) {
			/* token trouble, never "no such key": recover */
			if (*rv == CKR_OK)
				*rv = CKR_GENERAL_ERROR;
			return pca_err_set(PCA_EUNAVAIL, "%s", pca_err_msg());
		}
		log_info("hsm: generating key %s again (%s)", a->label,
		    pca_err_msg());
		pca_err_clear();
		hsm_pause_ms(ms);
	}
}

pca_err
hsm_key_generate(struct hsm *h, const char *label, const uint8_t *id,
    size_t id_len, enum pca_keyalg alg, uint8_t **spki, size_t *spki_len)
{
	struct gen_arg a = {label, id, id_len, alg, NULL, 0};
	pca_err rc;

	if (h == NULL || spki == NULL || spki_len == NULL)
		return pca_err_set(PCA_EINVAL, "hsm_key_generate: no output");
	if ((rc = hsm_label_check(label)) != PCA_OK)
		return rc;
	if (alg <= PCA_KEY_NONE || alg >= PCA_KEY_MAX)
		return pca_err_set(PCA_EINVAL, "unknown key algorithm %d",
		    (int)alg);
	if (h->ipc != NULL && id_len <= HSM_ID_MAX)
		return hsm_ipc_keygen(h, label, id, id_len, (uint32_t)alg, spki,
		    spki_len);
	if (id_len > HSM_ID_MAX || (id == NULL && id_len > 0))
		return pca_err_set(PCA_EINVAL, "key id must be 0 to %d bytes",
		    HSM_ID_MAX);
	pthread_mutex_lock(&h->admin_mu);
	rc = hsm_run(h, op_generate, &a);
	hsm_cache_drop(h, label);
	if (rc == PCA_OK)
		hsm_key_found(h, label);
	pthread_mutex_unlock(&h->admin_mu);
	if (rc != PCA_OK)
		return rc;
	log_info("hsm: generated %s key %s on token %s", pca_keyalg_name(alg),
	    label, h->token);
	*spki = a.spki;
	*spki_len = a.spki_len;
	return PCA_OK;
}

struct spki_arg {
	const char *label;
	uint8_t *spki;
	size_t spki_len;
};

static pca_err
op_spki(struct hsm *h, CK_SESSION_HANDLE s, void *arg, CK_RV *rv)
{
	struct spki_arg *a = arg;
	CK_OBJECT_HANDLE priv;
	CK_KEY_TYPE type;
	pca_err rc;

	if ((rc = hsm_priv_find(h, s, a->label, &priv, rv)) != PCA_OK)
		return rc;
	return hsm_pub_spki(h, s, priv, a->label, &a->spki, &a->spki_len, &type,
	    rv);
}

pca_err
hsm_key_spki(struct hsm *h, const char *label, uint8_t **spki, size_t *spki_len)
{
	struct spki_arg a = {label, NULL, 0};
	pca_err rc;

	if (h == NULL || spki == NULL || spki_len == NULL)
		return pca_err_set(PCA_EINVAL, "hsm_key_spki: no output");
	if ((rc = hsm_label_check(label)) != PCA_OK)
		return rc;
	if (h->ipc != NULL)
		return hsm_ipc_spki(h, label, spki, spki_len);
	if ((rc = hsm_run(h, op_spki, &a)) != PCA_OK)
		return rc;
	*spki = a.spki;
	*spki_len = a.spki_len;
	return PCA_OK;
}

struct info_arg {
	const char *label;
	struct hsm_key_info info;
};

static pca_err
op_info(struct hsm *h, CK_SESSION_HANDLE s, void *arg, CK_RV *rv)
{
	struct info_arg *a = arg;
	CK_BBOOL v[7] = {0};
	CK_ATTRIBUTE t[7] = {
	    {CKA_SENSITIVE, &v[0], 1},
	    {CKA_EXTRACTABLE, &v[1], 1},
	    {CKA_ALWAYS_SENSITIVE, &v[2], 1},
	    {CKA_NEVER_EXTRACTABLE, &v[3], 1},
	    {CKA_LOCAL, &v[4], 1},
	    {CKA_SIGN, &v[5], 1},
	    {CKA_DECRYPT, &v[6], 1},
	};
	CK_OBJECT_HANDLE priv;
	int i, out[7];
	pca_err rc;
	CK_RV r;

	if ((rc = hsm_priv_find(h, s, a->label, &priv, rv)) != PCA_OK)
		return rc;
	r = h->fl->C_GetAttributeValue(s, priv, t, 7);
	/* An attribute the key lacks reads as false; the rest are valid. */
	if (r != CKR_OK && r != CKR_ATTRIBUTE_TYPE_INVALID &&
	    r != CKR_ATTRIBUTE_SENSITIVE) {
		*rv = r;
		return hsm_p11_fail("C_GetAttributeValue", r, a->label);
	}
	for (i = 0; i < 7; i++)
		out[i] = t[i].ulValueLen == 1 && v[i] == CK_TRUE;
	a->info = (struct hsm_key_info){out[0], out[1], out[2], out[3], out[4],
	    out[5], out[6]};
	return PCA_OK;
}

pca_err
hsm_key_info(struct hsm *h, const char *label, struct hsm_key_info *info)
{
	struct info_arg a;
	pca_err rc;

	if (h == NULL || info == NULL)
		return pca_err_set(PCA_EINVAL, "hsm_key_info: no output");
	if ((rc = hsm_label_check(label)) != PCA_OK)
		return rc;
	if (h->ipc != NULL)
		return hsm_ipc_info(h, label, info);
	memset(&a, 0, sizeof(a));
	a.label = label;
	if ((rc = hsm_run(h, op_info, &a)) != PCA_OK)
		return rc;
	*info = a.info;
	return PCA_OK;
}

static pca_err
op_destroy(struct hsm *h, CK_SESSION_HANDLE s, void *arg, CK_RV *rv)
{
	const char *label = arg;
	CK_OBJECT_HANDLE o[32];
	CK_ULONG n1 = 0, n2 = 0, i;
	pca_err rc;
	CK_RV r;

	if ((rc = hsm_find(h, s, CKO_PRIVATE_KEY, label, NULL, 0, o, 16, &n1,
		 rv)) ||
	    (rc = hsm_find(h, s, CKO_PUBLIC_KEY, label, NULL, 0, o + n1, 16,
		 &n2, rv)))
		return rc;
	if (n1 + n2 == 0 && hsm_login_lost(h, s, rv))
		return PCA_EUNAVAIL;
	if (n1 + n2 == 0)
		return pca_err_set(PCA_ENOTFOUND, "no key %s on token %s",
		    label, h->token);
	for (i = 0; i < n1 + n2; i++) {
		r = h->fl->C_DestroyObject(s, o[i]);
		if (r != CKR_OK) {
			*rv = r;
			return hsm_p11_fail("C_DestroyObject", r, label);
		}
	}
	return PCA_OK;
}

pca_err
hsm_key_destroy(struct hsm *h, const char *label)
{
	pca_err rc;

	if (h == NULL)
		return pca_err_set(PCA_EINVAL, "hsm_key_destroy: no token");
	if ((rc = hsm_label_check(label)) != PCA_OK)
		return rc;
	if (h->ipc != NULL)
		return hsm_ipc_destroy(h, label);
	pthread_mutex_lock(&h->admin_mu);
	rc = hsm_run(h, op_destroy, (void *)label);
	hsm_cache_drop(h, label);
	if (rc == PCA_OK || rc == PCA_ENOTFOUND)
		hsm_key_forget(h, label); /* gone on purpose: not trouble */
	pthread_mutex_unlock(&h->admin_mu);
	if (rc == PCA_OK)
		log_info("hsm: destroyed key %s on token %s", label, h->token);
	return rc;
}
