/*
 * hsm_seal.c - secrets at rest (API access keys): AES-256-GCM on the token
 * under a secret key that never leaves it.  The key is generated on first
 * use: CKA_SENSITIVE, not extractable, CKA_ENCRYPT/CKA_DECRYPT only.
 * Sealed form: iv (12) || ciphertext || tag (16); the label is the AAD, so
 * a blob sealed under one key label does not open under another.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "hsm_int.h"

#define SEAL_IV 12
#define SEAL_TAG 16
#define SEAL_MAX (64 * 1024)

struct seal_op {
	const char *label;
	int encrypt;
	int create;		/* generate the key when absent */
	const uint8_t *in;
	size_t in_len;
	uint8_t *out;		/* SEAL_IV + in_len + SEAL_TAG bytes */
	size_t out_len;
};

static pca_err
seal_key_make(struct hsm *h, CK_SESSION_HANDLE s, const char *label,
    CK_OBJECT_HANDLE *key, CK_RV *rv)
{
	CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_ULONG len = 32;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)}, {CKA_KEY_TYPE, &kt, sizeof(kt)},
	    {CKA_TOKEN, &t, sizeof(t)}, {CKA_PRIVATE, &t, sizeof(t)},
	    {CKA_SENSITIVE, &t, sizeof(t)}, {CKA_EXTRACTABLE, &f, sizeof(f)},
	    {CKA_ENCRYPT, &t, sizeof(t)}, {CKA_DECRYPT, &t, sizeof(t)},
	    {CKA_WRAP, &f, sizeof(f)}, {CKA_UNWRAP, &f, sizeof(f)},
	    {CKA_SIGN, &f, sizeof(f)}, {CKA_VERIFY, &f, sizeof(f)},
	    {CKA_DERIVE, &f, sizeof(f)}, {CKA_VALUE_LEN, &len, sizeof(len)},
	    {CKA_LABEL, (void *)label, strlen(label)},
	};
	CK_RV r;

	r = h->fl->C_GenerateKey(s, &m, tmpl, sizeof(tmpl) / sizeof(tmpl[0]),
	    key);
	if (r != CKR_OK) {
		*rv = r;
		return hsm_p11_fail("C_GenerateKey", r, label);
	}
	return PCA_OK;
}

static pca_err
seal_key_find(struct hsm *h, CK_SESSION_HANDLE s, struct seal_op *o,
    CK_OBJECT_HANDLE *key, CK_RV *rv)
{
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG n = 0;
	pca_err err;

	if ((err = hsm_find(h, s, CKO_SECRET_KEY, o->label, NULL, 0, objs, 2,
		 &n, rv)) != PCA_OK)
		return err;
	if (n == 1) {
		*key = objs[0];
		return PCA_OK;
	}
	if (n > 1)
		return pca_err_set(PCA_EHSM,
		    "several secret keys are labelled %s", o->label);
	if (hsm_login_lost(h, s, rv))
		return PCA_EUNAVAIL;
	if (!o->create)
		return pca_err_set(PCA_ENOTFOUND, "no sealing key %s on the "
		    "token", o->label);
	return seal_key_make(h, s, o->label, key, rv);
}

static pca_err
seal_run(struct hsm *h, CK_SESSION_HANDLE s, void *arg, CK_RV *rv)
{
	struct seal_op *o = arg;
	CK_OBJECT_HANDLE key;
	CK_GCM_PARAMS gcm;
	CK_MECHANISM m = {CKM_AES_GCM, &gcm, sizeof(gcm)};
	uint8_t iv[SEAL_IV];
	CK_ULONG outl;
	CK_RV r;
	int inited = 0;
	pca_err err;

	if ((err = seal_key_find(h, s, o, &key, rv)) != PCA_OK)
		return err;
	if (o->encrypt) {
		if (RAND_bytes(iv, SEAL_IV) != 1)
			return pca_err_set(PCA_EINTERNAL, "CSPRNG failure");
		memcpy(o->out, iv, SEAL_IV);
	} else
		memcpy(iv, o->in, SEAL_IV);
	memset(&gcm, 0, sizeof(gcm));
	gcm.pIv = iv;
	gcm.ulIvLen = SEAL_IV;
	gcm.ulIvBits = SEAL_IV * 8;
	gcm.pAAD = (CK_BYTE_PTR)o->label;
	gcm.ulAADLen = strlen(o->label);
	gcm.ulTagBits = SEAL_TAG * 8;
	if (o->encrypt) {
		outl = o->in_len + SEAL_TAG;
		r = h->fl->C_EncryptInit(s, &m, key);
		if (r == CKR_OK)
			r = h->fl->C_Encrypt(s, (CK_BYTE_PTR)o->in, o->in_len,
			    o->out + SEAL_IV, &outl);
		o->out_len = SEAL_IV + outl;
	} else {
		outl = o->in_len - SEAL_IV;
		r = h->fl->C_DecryptInit(s, &m, key);
		inited = r == CKR_OK;
		if (r == CKR_OK)
			r = h->fl->C_Decrypt(s, (CK_BYTE_PTR)o->in + SEAL_IV,
			    o->in_len - SEAL_IV, o->out, &outl);
		o->out_len = outl;
	}
	/*
	 * A GCM tag mismatch is CKR_ENCRYPTED_DATA_INVALID in the standard;
	 * SoftHSM 2.6 answers CKR_GENERAL_ERROR.  Right after a successful
	 * C_DecryptInit that can only be the data, so it is not reported to
	 * the runner (which would re-initialize the token for it).
	 */
	if (r == CKR_ENCRYPTED_DATA_INVALID ||
	    r == CKR_ENCRYPTED_DATA_LEN_RANGE ||
	    (!o->encrypt && r == CKR_GENERAL_ERROR && inited))
		return pca_err_set(PCA_EMISMATCH,
		    "sealed data under %s was altered", o->label);
	if (r != CKR_OK) {
		*rv = r;
		return hsm_p11_fail(o->encrypt ? "C_Encrypt" : "C_Decrypt", r,
		    o->label);
	}
	return PCA_OK;
}

pca_err
hsm_seal(struct hsm *h, const char *label, const uint8_t *plain, size_t len,
    uint8_t **sealed, size_t *sealed_len)
{
	struct seal_op o = {label, 1, 1, plain, len, NULL, 0};
	pca_err err;

	if ((err = hsm_label_check(label)) != PCA_OK)
		return err;
	if (len == 0 || len > SEAL_MAX)
		return pca_err_set(PCA_EINVAL, "can seal 1 to %d bytes",
		    SEAL_MAX);
	if ((o.out = malloc(SEAL_IV + len + SEAL_TAG)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	/* generation of the key on first use is an admin operation */
	pthread_mutex_lock(&h->admin_mu);
	err = hsm_run(h, seal_run, &o);
	pthread_mutex_unlock(&h->admin_mu);
	if (err != PCA_OK) {
		free(o.out);
		return err;
	}
	*sealed = o.out;
	*sealed_len = o.out_len;
	return PCA_OK;
}

pca_err
hsm_unseal(struct hsm *h, const char *label, const uint8_t *sealed,
    size_t len, uint8_t **plain, size_t *plain_len)
{
	struct seal_op o = {label, 0, 0, sealed, len, NULL, 0};
	pca_err err;

	if ((err = hsm_label_check(label)) != PCA_OK)
		return err;
	if (len <= SEAL_IV + SEAL_TAG || len > SEAL_MAX + SEAL_IV + SEAL_TAG)
		return pca_err_set(PCA_EMISMATCH, "sealed data has a bad "
		    "length");
	if ((o.out = malloc(len)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	if ((err = hsm_run(h, seal_run, &o)) != PCA_OK) {
		OPENSSL_cleanse(o.out, len);
		free(o.out);
		return err;
	}
	*plain = o.out;
	*plain_len = o.out_len;
	return PCA_OK;
}
