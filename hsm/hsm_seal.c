/*
 * hsm_seal.c - secrets at rest (API access keys), sealed with nothing but
 * CKM_SHA256_HMAC on the token, a mechanism without parameters that every
 * PKCS#11 transport forwards (p11-kit's RPC refuses CKM_AES_GCM).
 *
 * Two secret keys per label, generated in the token on first use
 * (CKK_GENERIC_SECRET, 32 bytes, sensitive, not extractable, CKA_SIGN and
 * CKA_VERIFY only): "<label>.enc" and "<label>.mac".
 *   keystream block i = HMAC-SHA256(K_enc, "pca-seal-ks" || iv || be32(i))
 *   ciphertext        = plaintext XOR keystream
 *   tag               = HMAC-SHA256(K_mac, "pca-seal-tag" || version ||
 *                        len(label) (1 byte) || label || iv || ciphertext)
 * Sealed form: version (0x02) || iv (16, random) || ciphertext || tag (32).
 * Encrypt-then-MAC: unseal checks the tag (CRYPTO_memcmp) before it
 * produces any plaintext.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "hsm_int.h"

#define SEAL_VERSION 0x02
#define SEAL_IV 16
#define SEAL_TAG 32
#define SEAL_BLOCK 32 /* HMAC-SHA256 output */
#define SEAL_HDR (1 + SEAL_IV)
#define SEAL_OVER (SEAL_HDR + SEAL_TAG)
#define SEAL_MAX 4096 /* one token round trip per 32 bytes */
#define SEAL_KEY_LEN 32
#define SEAL_NAME_MAX (LIM_LABEL + 4)

static const char ks_ctx[] = "pca-seal-ks";
static const char tag_ctx[] = "pca-seal-tag";

struct seal_op {
	const char *label;
	int encrypt;
	const uint8_t *in; /* seal: plaintext; unseal: the sealed blob */
	size_t len;        /* plaintext / ciphertext length */
	uint8_t *out;      /* seal: the blob, iv already set; unseal: len */
};

struct seal_keys {
	CK_OBJECT_HANDLE enc;
	CK_OBJECT_HANDLE mac;
	char enc_name[SEAL_NAME_MAX + 1];
	char mac_name[SEAL_NAME_MAX + 1];
};

static pca_err
seal_key_make(struct hsm *h, CK_SESSION_HANDLE s, const char *name,
    CK_OBJECT_HANDLE *key, CK_RV *rv)
{
	CK_MECHANISM m = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_ULONG len = SEAL_KEY_LEN;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_KEY_TYPE, &kt, sizeof(kt)},
	    {CKA_TOKEN, &t, sizeof(t)},
	    {CKA_PRIVATE, &t, sizeof(t)},
	    {CKA_SENSITIVE, &t, sizeof(t)},
	    {CKA_EXTRACTABLE, &f, sizeof(f)},
	    {CKA_SIGN, &t, sizeof(t)},
	    {CKA_VERIFY, &t, sizeof(t)},
	    {CKA_ENCRYPT, &f, sizeof(f)},
	    {CKA_DECRYPT, &f, sizeof(f)},
	    {CKA_WRAP, &f, sizeof(f)},
	    {CKA_UNWRAP, &f, sizeof(f)},
	    {CKA_DERIVE, &f, sizeof(f)},
	    {CKA_VALUE_LEN, &len, sizeof(len)},
	    {CKA_LABEL, (void *)name, strlen(name)},
	};
	CK_RV r;

	r = h->fl->C_GenerateKey(s, &m, tmpl, sizeof(tmpl) / sizeof(tmpl[0]),
	    key);
	if (r != CKR_OK) {
		*rv = r;
		return hsm_p11_fail("C_GenerateKey", r, name);
	}
	return PCA_OK;
}

/*
 * Looks for the secret keys labelled name, HSM_LOAD_TRIES times (5..20 ms
 * apart) while finding none or failing is worth another look
 * (hsm_look_again).  Above all, a sealing key that exists must never look
 * absent to seal_key_get: it would generate a second key under the same
 * label, and every secret sealed since init would stop opening.
 */
static pca_err
seal_key_find(struct hsm *h, CK_SESSION_HANDLE s, const char *name,
    CK_OBJECT_HANDLE objs[2], CK_ULONG *n, CK_RV *rv)
{
	unsigned i, ms = 5;
	pca_err err;

	for (i = 1;; i++, ms *= 2) {
		*n = 0;
		*rv = CKR_OK;
		err = hsm_find(h, s, CKO_SECRET_KEY, name, NULL, 0, objs, 2, n,
		    rv);
		if ((err == PCA_OK && *n > 0) || i == HSM_LOAD_TRIES)
			return err;
		if (!hsm_look_again(h, s, err != PCA_OK ? err : PCA_ENOTFOUND,
			*rv))
			return err;
		pca_err_clear();
		hsm_pause_ms(ms);
	}
}

/* The secret key labelled name; generated when absent and create is set. */
static pca_err
seal_key_get(struct hsm *h, CK_SESSION_HANDLE s, const char *name, int create,
    CK_OBJECT_HANDLE *key, CK_RV *rv)
{
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG n = 0;
	pca_err err;

	if ((err = seal_key_find(h, s, name, objs, &n, rv)) != PCA_OK)
		return err;
	if (n == 1) {
		*key = objs[0];
		return PCA_OK;
	}
	if (n > 1)
		return pca_err_set(PCA_EHSM,
		    "several secret keys are labelled %s", name);
	if (hsm_login_lost(h, s, rv))
		return PCA_EUNAVAIL;
	if (!create)
		return pca_err_set(PCA_ENOTFOUND,
		    "no sealing key %s on the "
		    "token",
		    name);
	return seal_key_make(h, s, name, key, rv);
}

static pca_err
seal_keys_get(struct hsm *h, CK_SESSION_HANDLE s, const struct seal_op *o,
    struct seal_keys *k, CK_RV *rv)
{
	pca_err err;

	(void)snprintf(k->enc_name, sizeof(k->enc_name), "%s.enc", o->label);
	(void)snprintf(k->mac_name, sizeof(k->mac_name), "%s.mac", o->label);
	if ((err = seal_key_get(h, s, k->enc_name, o->encrypt, &k->enc, rv)) !=
	    PCA_OK)
		return err;
	return seal_key_get(h, s, k->mac_name, o->encrypt, &k->mac, rv);
}

/* HMAC-SHA256(key, msg) computed by the token (C_SignInit + C_Sign). */
static pca_err
seal_hmac(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
    const char *name, const uint8_t *msg, size_t len, uint8_t mac[SEAL_BLOCK],
    CK_RV *rv)
{
	CK_MECHANISM m = {CKM_SHA256_HMAC, NULL, 0};
	CK_ULONG outl = SEAL_BLOCK;
	CK_RV r;

	r = h->fl->C_SignInit(s, &m, key);
	if (r != CKR_OK) {
		*rv = r;
		return hsm_p11_fail("C_SignInit", r, name);
	}
	r = h->fl->C_Sign(s, (CK_BYTE_PTR)msg, len, mac, &outl);
	if (r != CKR_OK) {
		*rv = r;
		return hsm_p11_fail("C_Sign", r, name);
	}
	if (outl != SEAL_BLOCK)
		return pca_err_set(PCA_EHSM,
		    "CKM_SHA256_HMAC under %s returned "
		    "%lu bytes",
		    name, (unsigned long)outl);
	return PCA_OK;
}

/* out = in XOR the keystream of K_enc and iv; the keystream is wiped. */
static pca_err
seal_xor(struct hsm *h, CK_SESSION_HANDLE s, const struct seal_keys *k,
    const uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out, CK_RV *rv)
{
	uint8_t msg[sizeof(ks_ctx) - 1 + SEAL_IV + 4], ks[SEAL_BLOCK];
	size_t off, i, n, c = sizeof(ks_ctx) - 1 + SEAL_IV;
	uint32_t blk;
	pca_err err = PCA_OK;

	memcpy(msg, ks_ctx, sizeof(ks_ctx) - 1);
	memcpy(msg + sizeof(ks_ctx) - 1, iv, SEAL_IV);
	for (off = 0, blk = 0; off < len; off += n, blk++) {
		msg[c] = (uint8_t)(blk >> 24);
		msg[c + 1] = (uint8_t)(blk >> 16);
		msg[c + 2] = (uint8_t)(blk >> 8);
		msg[c + 3] = (uint8_t)blk;
		if ((err = seal_hmac(h, s, k->enc, k->enc_name, msg,
			 sizeof(msg), ks, rv)) != PCA_OK)
			goto out;
		n = len - off < SEAL_BLOCK ? len - off : SEAL_BLOCK;
		for (i = 0; i < n; i++)
			out[off + i] = in[off + i] ^ ks[i];
	}
out:
	OPENSSL_cleanse(ks, sizeof(ks));
	return err;
}

/* The tag over version, label, iv and ciphertext, by K_mac. */
static pca_err
seal_tag(struct hsm *h, CK_SESSION_HANDLE s, const struct seal_keys *k,
    const char *label, const uint8_t *iv, const uint8_t *ct, size_t len,
    uint8_t tag[SEAL_TAG], CK_RV *rv)
{
	size_t ll = strlen(label), tl = sizeof(tag_ctx) - 1, n = 0;
	uint8_t *msg;
	pca_err err;

	if ((msg = malloc(tl + 2 + ll + SEAL_IV + len)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	memcpy(msg, tag_ctx, tl);
	n = tl;
	msg[n++] = SEAL_VERSION;
	msg[n++] = (uint8_t)ll; /* ll <= LIM_LABEL < 256 */
	memcpy(msg + n, label, ll);
	n += ll;
	memcpy(msg + n, iv, SEAL_IV);
	n += SEAL_IV;
	memcpy(msg + n, ct, len);
	n += len;
	err = seal_hmac(h, s, k->mac, k->mac_name, msg, n, tag, rv);
	free(msg);
	return err;
}

static pca_err
seal_run(struct hsm *h, CK_SESSION_HANDLE s, void *arg, CK_RV *rv)
{
	struct seal_op *o = arg;
	struct seal_keys k;
	const uint8_t *iv, *ct;
	uint8_t tag[SEAL_TAG];
	pca_err err;

	if ((err = seal_keys_get(h, s, o, &k, rv)) != PCA_OK)
		return err;
	if (o->encrypt) {
		iv = o->out + 1;
		if ((err = seal_xor(h, s, &k, iv, o->in, o->len,
			 o->out + SEAL_HDR, rv)) != PCA_OK)
			return err;
		return seal_tag(h, s, &k, o->label, iv, o->out + SEAL_HDR,
		    o->len, o->out + SEAL_HDR + o->len, rv);
	}
	iv = o->in + 1;
	ct = o->in + SEAL_HDR;
	if ((err = seal_tag(h, s, &k, o->label, iv, ct, o->len, tag, rv)) !=
	    PCA_OK)
		return err;
	/* not a token failure: *rv stays CKR_OK, the runner resets nothing */
	if (CRYPTO_memcmp(tag, ct + o->len, SEAL_TAG) != 0)
		return pca_err_set(PCA_EMISMATCH,
		    "sealed data under %s was altered", o->label);
	return seal_xor(h, s, &k, iv, ct, o->len, o->out, rv);
}

pca_err
hsm_seal(struct hsm *h, const char *label, const uint8_t *plain, size_t len,
    uint8_t **sealed, size_t *sealed_len)
{
	struct seal_op o = {label, 1, plain, len, NULL};
	pca_err err;

	if ((err = hsm_label_check(label)) != PCA_OK)
		return err;
	if (len == 0 || len > SEAL_MAX)
		return pca_err_set(PCA_EINVAL, "can seal 1 to %d bytes",
		    SEAL_MAX);
	if (h != NULL && h->ipc != NULL)
		return hsm_ipc_seal(h, 0, label, plain, len, sealed,
		    sealed_len);
	if ((o.out = malloc(SEAL_OVER + len)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	o.out[0] = SEAL_VERSION;
	if (RAND_bytes(o.out + 1, SEAL_IV) != 1) {
		free(o.out);
		return pca_err_set(PCA_EINTERNAL, "CSPRNG failure");
	}
	/* generation of the keys on first use is an admin operation */
	pthread_mutex_lock(&h->admin_mu);
	err = hsm_run(h, seal_run, &o);
	pthread_mutex_unlock(&h->admin_mu);
	if (err != PCA_OK) {
		free(o.out);
		return err;
	}
	*sealed = o.out;
	*sealed_len = SEAL_OVER + len;
	return PCA_OK;
}

pca_err
hsm_unseal(struct hsm *h, const char *label, const uint8_t *sealed, size_t len,
    uint8_t **plain, size_t *plain_len)
{
	struct seal_op o = {label, 0, sealed, 0, NULL};
	pca_err err;

	if ((err = hsm_label_check(label)) != PCA_OK)
		return err;
	if (len <= SEAL_OVER || len > SEAL_MAX + SEAL_OVER)
		return pca_err_set(PCA_EMISMATCH, "sealed data has a bad "
						  "length");
	if (sealed[0] != SEAL_VERSION)
		return pca_err_set(PCA_EMISMATCH,
		    "sealed data has unknown "
		    "format version %u",
		    (unsigned)sealed[0]);
	if (h != NULL && h->ipc != NULL)
		return hsm_ipc_seal(h, 1, label, sealed, len, plain, plain_len);
	o.len = len - SEAL_OVER;
	if ((o.out = malloc(o.len)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	if ((err = hsm_run(h, seal_run, &o)) != PCA_OK) {
		OPENSSL_cleanse(o.out, o.len);
		free(o.out);
		return err;
	}
	*plain = o.out;
	*plain_len = o.len;
	return PCA_OK;
}
