/*
 * hsm_sign.c - signing: hash in software, C_Sign on the token (CKM_RSA_PKCS
 * over a DigestInfo, or CKM_ECDSA with r||s turned into DER), the
 * label -> handle cache with its key binding check, and the raw benchmark.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "../common/log.h"
#include "hsm_int.h"

/* DER DigestInfo prefixes (RFC 8017 section 9.2, note 1). */
static const uint8_t di_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const uint8_t di_sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const uint8_t di_sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

#define DI_PREFIX_LEN 19
#define MD_MAX 64

struct keyref {
	CK_OBJECT_HANDLE priv;
	CK_KEY_TYPE type;
};

/* The mechanism input: DigestInfo(md) for RSA, md itself for ECDSA. */
static size_t
sign_input(CK_KEY_TYPE type, const uint8_t *md, size_t mdlen,
    uint8_t in[DI_PREFIX_LEN + MD_MAX])
{
	const uint8_t *pre;

	if (type != CKK_RSA) {
		memcpy(in, md, mdlen);
		return mdlen;
	}
	pre = mdlen == 32 ? di_sha256 : mdlen == 48 ? di_sha384 : di_sha512;
	memcpy(in, pre, DI_PREFIX_LEN);
	memcpy(in + DI_PREFIX_LEN, md, mdlen);
	return DI_PREFIX_LEN + mdlen;
}

/* CKM_ECDSA's r||s as a DER Ecdsa-Sig-Value. */
static pca_err
ec_der(const uint8_t *rs, size_t n, uint8_t *out, size_t *outlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	uint8_t *p = out;
	pca_err rc = PCA_OK;
	int len;

	if (n == 0 || n % 2 != 0 || n > 2 * 66)
		return pca_err_set(PCA_EHSM, "CKM_ECDSA returned %zu bytes", n);
	if ((r = BN_bin2bn(rs, (int)(n / 2), NULL)) == NULL ||
	    (s = BN_bin2bn(rs + n / 2, (int)(n / 2), NULL)) == NULL ||
	    (es = ECDSA_SIG_new()) == NULL || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		rc = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	len = i2d_ECDSA_SIG(es, NULL);
	if (len <= 0 || len > LIM_SIG || i2d_ECDSA_SIG(es, &p) != len) {
		rc = pca_err_set(PCA_EINTERNAL, "i2d_ECDSA_SIG failed");
		goto out;
	}
	*outlen = (size_t)len;
out:
	ECDSA_SIG_free(es);
	return rc;
}

/* C_SignInit + C_Sign of a digest into sig (LIM_SIG bytes). */
static pca_err
sign_digest(struct hsm *h, CK_SESSION_HANDLE s, const struct keyref *k,
    const uint8_t *md, size_t mdlen, const char *label, uint8_t *sig,
    size_t *siglen, CK_RV *rv)
{
	CK_MECHANISM mech = {k->type == CKK_RSA ? CKM_RSA_PKCS : CKM_ECDSA,
	    NULL, 0};
	uint8_t in[DI_PREFIX_LEN + MD_MAX], raw[LIM_SIG];
	CK_ULONG inlen, outlen = LIM_SIG;
	CK_RV r;

	inlen = sign_input(k->type, md, mdlen, in);
	r = h->fl->C_SignInit(s, &mech, k->priv);
	if (r != CKR_OK) {
		*rv = r;
		return hsm_p11_fail("C_SignInit", r, label);
	}
	r = h->fl->C_Sign(s, in, inlen, raw, &outlen);
	if (r != CKR_OK) {
		*rv = r;
		return hsm_p11_fail("C_Sign", r, label);
	}
	if (k->type != CKK_RSA)
		return ec_der(raw, outlen, sig, siglen);
	memcpy(sig, raw, outlen);
	*siglen = outlen;
	return PCA_OK;
}

static struct hsm_kent *
cache_find(struct hsm *h, const char *label)
{
	size_t i;

	for (i = 0; i < h->ncache; i++)
		if (strcmp(h->cache[i].label, label) == 0)
			return &h->cache[i];
	return NULL;
}

static void
kent_clear(struct hsm_kent *e)
{
	free(e->spki);
	free(e->alt);
	memset(e, 0, sizeof(*e));
}

void
hsm_cache_drop(struct hsm *h, const char *label)
{
	struct hsm_kent *e;

	pthread_mutex_lock(&h->cache_mu);
	if ((e = cache_find(h, label)) != NULL) {
		kent_clear(e);
		*e = h->cache[--h->ncache];
	}
	pthread_mutex_unlock(&h->cache_mu);
}

void
hsm_cache_free(struct hsm *h)
{
	size_t i;

	for (i = 0; i < h->ncache; i++)
		kent_clear(&h->cache[i]);
	free(h->cache);
	h->cache = NULL;
	h->ncache = 0;
}

/* Remembers a proven key; the cache is a best effort (no error). */
static void
cache_put(struct hsm *h, const char *label, const struct keyref *k,
    const uint8_t *spki, size_t len, uint64_t gen)
{
	struct hsm_kent *e;
	uint8_t *copy;

	if ((copy = malloc(len)) == NULL)
		return;
	memcpy(copy, spki, len);
	pthread_mutex_lock(&h->cache_mu);
	if (h->cache == NULL)
		h->cache = calloc(HSM_CACHE_MAX, sizeof(*h->cache));
	if ((e = cache_find(h, label)) != NULL)
		kent_clear(e);
	else if (h->cache != NULL && h->ncache < HSM_CACHE_MAX)
		e = &h->cache[h->ncache++];
	if (e == NULL) {
		pthread_mutex_unlock(&h->cache_mu);
		free(copy);
		return;
	}
	(void)snprintf(e->label, sizeof(e->label), "%s", label);
	e->priv = k->priv;
	e->type = k->type;
	e->spki = copy;
	e->spki_len = len;
	e->gen = gen;
	pthread_mutex_unlock(&h->cache_mu);
}

/* A caller's SPKI that encodes the token key differently. */
static void
cache_alt(struct hsm *h, const struct hsm_key *key)
{
	struct hsm_kent *e;
	uint8_t *copy;

	if ((copy = malloc(key->spki_len)) == NULL)
		return;
	memcpy(copy, key->spki, key->spki_len);
	pthread_mutex_lock(&h->cache_mu);
	if ((e = cache_find(h, key->label)) != NULL) {
		free(e->alt);
		e->alt = copy;
		e->alt_len = key->spki_len;
		copy = NULL;
	}
	pthread_mutex_unlock(&h->cache_mu);
	free(copy);
}

enum { KC_MISS, KC_HIT, KC_DIFF };

static int
bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return a != NULL && b != NULL && alen == blen &&
	       memcmp(a, b, alen) == 0;
}

/*
 * KC_HIT: a handle of this module generation whose public key is the
 * expected one.  KC_DIFF: the cached key differs in bytes; *tok gets a copy
 * of the token's SPKI for a semantic comparison.
 */
static int
cache_lookup(struct hsm *h, const struct hsm_key *key, struct keyref *k,
    uint8_t **tok, size_t *toklen)
{
	struct hsm_kent *e;
	int res = KC_MISS;

	pthread_mutex_lock(&h->cache_mu);
	e = cache_find(h, key->label);
	if (e == NULL || e->gen != h->gen)
		goto out;
	k->priv = e->priv;
	k->type = e->type;
	res = KC_HIT;
	if (key->spki == NULL ||
	    bytes_eq(key->spki, key->spki_len, e->spki, e->spki_len) ||
	    bytes_eq(key->spki, key->spki_len, e->alt, e->alt_len))
		goto out;
	res = KC_DIFF;
	if ((*tok = malloc(e->spki_len)) != NULL) {
		memcpy(*tok, e->spki, e->spki_len);
		*toklen = e->spki_len;
	}
out:
	pthread_mutex_unlock(&h->cache_mu);
	return res;
}

/* 1: same bytes, 2: same key encoded differently, 0: different keys. */
static int
spki_same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	const uint8_t *pa = a, *pb = b;
	EVP_PKEY *ka = NULL, *kb = NULL;
	int r = 0;

	if (bytes_eq(a, alen, b, blen))
		return 1;
	if (alen > LONG_MAX || blen > LONG_MAX)
		return 0;
	ka = d2i_PUBKEY(NULL, &pa, (long)alen);
	kb = d2i_PUBKEY(NULL, &pb, (long)blen);
	if (ka != NULL && kb != NULL && pa == a + alen && pb == b + blen &&
	    EVP_PKEY_eq(ka, kb) == 1)
		r = 2;
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	ERR_clear_error(); /* an unparsable SPKI is reported as mismatch */
	return r;
}

/*
 * Proof of possession: the private key signs a random digest that must
 * verify under the public key read from the token, so a public object
 * left over from another key cannot vouch for the private key.
 */
static pca_err
key_prove(struct hsm *h, CK_SESSION_HANDLE s, const struct keyref *k,
    const char *label, const uint8_t *spki, size_t len, CK_RV *rv)
{
	uint8_t dg[32], sig[LIM_SIG];
	const uint8_t *p = spki;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	size_t siglen;
	pca_err rc;
	int ok;

	if (RAND_bytes(dg, sizeof(dg)) != 1) {
		pca_err_set(PCA_EINTERNAL, "RAND_bytes failed");
		pca_err_add_openssl();
		return PCA_EINTERNAL;
	}
	rc = sign_digest(h, s, k, dg, sizeof(dg), label, sig, &siglen, rv);
	if (rc != PCA_OK)
		return rc;
	ok = (pk = d2i_PUBKEY(NULL, &p, (long)len)) != NULL &&
	     (ctx = EVP_PKEY_CTX_new(pk, NULL)) != NULL &&
	     EVP_PKEY_verify_init(ctx) == 1 &&
	     (k->type != CKK_RSA ||
		 (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, h->md[0]) == 1)) &&
	     EVP_PKEY_verify(ctx, sig, siglen, dg, sizeof(dg)) == 1;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	ERR_clear_error(); /* the failure is reported just below */
	if (!ok)
		return pca_err_set(PCA_EKEYMISMATCH,
		    "private key %s on token %s does not match its public key "
		    "object",
		    label, h->token);
	return PCA_OK;
}

/* Finds the private key, reads and proves its public key, caches both. */
static pca_err
key_load(struct hsm *h, CK_SESSION_HANDLE s, const char *label,
    struct keyref *k, uint8_t **tok, size_t *toklen, CK_RV *rv)
{
	uint8_t *spki = NULL;
	size_t len = 0;
	pca_err rc;

	if ((rc = hsm_priv_find(h, s, label, &k->priv, rv)) ||
	    (rc = hsm_pub_spki(h, s, k->priv, label, &spki, &len, &k->type,
		 rv)) ||
	    (rc = key_prove(h, s, k, label, spki, len, rv))) {
		free(spki);
		return rc;
	}
	cache_put(h, label, k, spki, len, h->gen);
	*tok = spki;
	*toklen = len;
	return PCA_OK;
}

pca_err
hsm_key_vanished(struct hsm *h, const char *label)
{
	int first;

	hsm_cache_drop(h, label);
	pthread_mutex_lock(&h->mu);
	first = h->missing[0] == '\0';
	(void)snprintf(h->missing, sizeof(h->missing), "%s", label);
	pthread_mutex_unlock(&h->mu);
	if (first)
		log_warnx("hsm: key %s, which a CA record names, is not on "
			  "token %s: the token is unavailable until it shows "
			  "the key again",
		    label, h->token);
	return pca_err_set(PCA_EUNAVAIL,
	    "token %s does not show key %s (token trouble?); retry later",
	    h->token, label);
}

void
hsm_key_found(struct hsm *h, const char *label)
{
	int was = 0;

	pthread_mutex_lock(&h->mu);
	if (h->missing[0] != '\0' && strcmp(h->missing, label) == 0) {
		h->missing[0] = '\0';
		was = 1;
	}
	pthread_mutex_unlock(&h->mu);
	if (was)
		log_warnx("hsm: key %s is on token %s again", label, h->token);
}

void
hsm_key_forget(struct hsm *h, const char *label)
{
	hsm_key_found(h, label);
	pthread_mutex_lock(&h->mu);
	if (strcmp(h->last, label) == 0)
		h->last[0] = '\0';
	pthread_mutex_unlock(&h->mu);
}

/* A good signature: the token works; its key is the one health probes. */
static void
sign_good(struct hsm *h, const char *label)
{
	char was[LIM_LABEL + 1];

	pthread_mutex_lock(&h->mu);
	(void)snprintf(was, sizeof(was), "%s", h->missing);
	h->missing[0] = '\0';
	if (strcmp(h->last, label) != 0)
		(void)snprintf(h->last, sizeof(h->last), "%s", label);
	pthread_mutex_unlock(&h->mu);
	if (was[0] != '\0')
		log_warnx("hsm: token %s signs again (key %s is still not "
			  "shown)",
		    h->token, was);
}

/* One look for the key to sign with, bound to the expected public key. */
static pca_err
key_get_once(struct hsm *h, CK_SESSION_HANDLE s, const struct hsm_key *key,
    struct keyref *k, CK_RV *rv)
{
	uint8_t *tok = NULL;
	size_t toklen = 0;
	pca_err rc = PCA_OK;
	int kc, same;

	kc = cache_lookup(h, key, k, &tok, &toklen);
	if (kc == KC_HIT)
		return PCA_OK;
	if (kc == KC_MISS) {
		if ((rc = key_load(h, s, key->label, k, &tok, &toklen, rv)))
			return rc;
	}
	if (key->spki == NULL)
		goto out;
	if (tok == NULL) {
		rc = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	same = spki_same(key->spki, key->spki_len, tok, toklen);
	if (same == 2)
		cache_alt(h, key);
	if (same == 0) {
		/* not remembered: the next call looks at the token again */
		hsm_cache_drop(h, key->label);
		rc = pca_err_set(PCA_EKEYMISMATCH,
		    "key %s on token %s is not the expected key (its public "
		    "key differs); nothing was signed",
		    key->label, h->token);
	} else
		hsm_key_found(h, key->label);
out:
	free(tok);
	return rc;
}

/*
 * Whether a failed look for a key is worth another (hsm_look_again); never
 * for an unbound key that is simply absent.
 */
static int
key_look_again(struct hsm *h, CK_SESSION_HANDLE s, const struct hsm_key *key,
    pca_err rc, CK_RV rv)
{
	if (rc == PCA_ENOTFOUND && key->spki == NULL)
		return 0;
	return hsm_look_again(h, s, rc, rv);
}

/*
 * The key to sign with, bound to the caller's expected public key; looked
 * for again, HSM_LOAD_TRIES times in all, while key_look_again says so.  A
 * bound key that stays absent is token trouble (hsm_key_vanished).
 */
static pca_err
key_get(struct hsm *h, CK_SESSION_HANDLE s, const struct hsm_key *key,
    struct keyref *k, CK_RV *rv)
{
	unsigned i, ms = 5;
	pca_err rc;

	for (i = 1;; i++, ms *= 2) {
		*rv = CKR_OK;
		rc = key_get_once(h, s, key, k, rv);
		if (rc == PCA_OK || i == HSM_LOAD_TRIES ||
		    !key_look_again(h, s, key, rc, *rv))
			break;
		hsm_cache_drop(h, key->label);
		pca_err_clear();
		hsm_pause_ms(ms);
	}
	/* a bound key must exist: its absence is token trouble */
	if (rc == PCA_ENOTFOUND && key->spki != NULL)
		return hsm_key_vanished(h, key->label);
	return rc;
}

struct sign_arg {
	const struct hsm_key *key;
	enum pca_sigalg alg;
	uint8_t md[MD_MAX];
	size_t mdlen;
	uint8_t sig[LIM_SIG];
	size_t siglen;
};

static pca_err
op_sign(struct hsm *h, CK_SESSION_HANDLE s, void *arg, CK_RV *rv)
{
	struct sign_arg *a = arg;
	const char *label = a->key->label;
	struct keyref k;
	pca_err rc = PCA_OK;
	int again;

	for (again = 0; again < 2; again++) {
		if ((rc = key_get(h, s, a->key, &k, rv)) != PCA_OK)
			return rc;
		if (pca_sigalg_is_rsa(a->alg) != (k.type == CKK_RSA))
			return pca_err_set(PCA_EINVAL,
			    "%s does not fit key %s (%s)",
			    pca_sigalg_name(a->alg), label,
			    k.type == CKK_RSA ? "RSA" : "EC");
		rc = sign_digest(h, s, &k, a->md, a->mdlen, label, a->sig,
		    &a->siglen, rv);
		if (rc == PCA_OK || (*rv != CKR_KEY_HANDLE_INVALID &&
					*rv != CKR_OBJECT_HANDLE_INVALID))
			return rc;
		/* The key was replaced behind our back: find it again. */
		hsm_cache_drop(h, label);
		*rv = CKR_OK;
	}
	return rc;
}

static const EVP_MD *
md_of(struct hsm *h, enum pca_sigalg alg)
{
	switch (pca_sigalg_md_nid(alg)) {
	case NID_sha256:
		return h->md[0];
	case NID_sha384:
		return h->md[1];
	case NID_sha512:
		return h->md[2];
	default:
		return NULL;
	}
}

static pca_err
sign_args_check(struct hsm *h, const struct hsm_key *key, enum pca_sigalg alg,
    const uint8_t *tbs, size_t tbs_len, const uint8_t *sig,
    const size_t *sig_len)
{
	if (h == NULL || key == NULL || sig == NULL || sig_len == NULL)
		return pca_err_set(PCA_EINVAL, "hsm_sign: missing argument");
	if (tbs == NULL && tbs_len > 0)
		return pca_err_set(PCA_EINVAL, "hsm_sign: no data to sign");
	if (alg <= PCA_SIG_NONE || alg >= PCA_SIG_MAX)
		return pca_err_set(PCA_EINVAL, "unknown signing algorithm %d",
		    (int)alg);
	if (key->spki == NULL && key->spki_len != 0)
		return pca_err_set(PCA_EINVAL, "hsm_sign: SPKI length without "
					       "SPKI");
	return hsm_label_check(key->label);
}

pca_err
hsm_sign(struct hsm *h, const struct hsm_key *key, enum pca_sigalg alg,
    const uint8_t *tbs, size_t tbs_len, uint8_t *sig, size_t *sig_len)
{
	struct sign_arg a;
	unsigned int mdlen = 0;
	pca_err rc;

	if ((rc = sign_args_check(h, key, alg, tbs, tbs_len, sig, sig_len)))
		return rc;
	if (h->ipc != NULL)
		return hsm_ipc_sign(h, key, (uint32_t)alg, tbs, tbs_len, sig,
		    sig_len);
	a.key = key;
	a.alg = alg;
	a.siglen = 0;
	if (EVP_Digest(tbs_len ? tbs : (const uint8_t *)"", tbs_len, a.md,
		&mdlen, md_of(h, alg), NULL) != 1) {
		rc = pca_err_set(PCA_EINTERNAL, "EVP_Digest failed");
		pca_err_add_openssl();
		goto out;
	}
	a.mdlen = mdlen;
	if ((rc = hsm_run(h, op_sign, &a)) != PCA_OK)
		goto out;
	sign_good(h, key->label);
	memcpy(sig, a.sig, a.siglen);
	*sig_len = a.siglen;
out:
	atomic_fetch_add(rc == PCA_OK ? &h->signs : &h->sign_errors, 1);
	return rc;
}

pca_err
hsm_sign_ca(struct hsm *h, const struct hsm_key *key, enum pca_sigalg alg,
    const uint8_t *tbs, size_t tbs_len, uint8_t *sig, size_t *sig_len)
{
	pca_err rc;

	if (h == NULL || h->ipc == NULL)
		return hsm_sign(h, key, alg, tbs, tbs_len, sig, sig_len);
	if ((rc = sign_args_check(h, key, alg, tbs, tbs_len, sig, sig_len)))
		return rc;
	return hsm_ipc_sign(h, key, (uint32_t)alg | HSM_SIGN_CA_CERT << 16, tbs,
	    tbs_len, sig, sig_len);
}

struct bench_thr {
	struct hsm *h;
	struct keyref k;
	double seconds;
	uint64_t count;
	double elapsed;
	CK_RV rv;
	const char *fn;
	pthread_t tid;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One benchmark thread: its own session, C_SignInit + C_Sign in a loop. */
static void *
bench_main(void *arg)
{
	struct bench_thr *t = arg;
	CK_MECHANISM mech = {t->k.type == CKK_RSA ? CKM_RSA_PKCS : CKM_ECDSA,
	    NULL, 0};
	uint8_t md[32], in[DI_PREFIX_LEN + MD_MAX], sig[LIM_SIG];
	CK_SESSION_HANDLE s;
	CK_ULONG inlen, sl;
	struct hsm_sigpipe sp;
	double start;

	hsm_sigpipe_block(t->h->guard_sigpipe, &sp);
	memset(md, 0x5a, sizeof(md));
	inlen = sign_input(t->k.type, md, sizeof(md), in);
	t->fn = "C_OpenSession";
	t->rv = t->h->fl->C_OpenSession(t->h->slot,
	    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	if (t->rv != CKR_OK)
		goto out;
	start = now_s();
	do {
		sl = sizeof(sig);
		t->fn = "C_SignInit";
		if ((t->rv = t->h->fl->C_SignInit(s, &mech, t->k.priv)) !=
		    CKR_OK)
			break;
		t->fn = "C_Sign";
		if ((t->rv = t->h->fl->C_Sign(s, in, inlen, sig, &sl)) !=
		    CKR_OK)
			break;
		t->count++;
	} while ((t->elapsed = now_s() - start) < t->seconds);
	(void)t->h->fl->C_CloseSession(s);
out:
	hsm_sigpipe_restore(&sp);
	return NULL;
}

struct bench_arg {
	const char *label;
	double seconds;
	unsigned threads;
	double rate;
};

static pca_err
bench_join(struct bench_thr *t, unsigned n, struct bench_arg *a, CK_RV *rv)
{
	double rate = 0;
	pca_err rc = PCA_OK;
	unsigned i;

	for (i = 0; i < n; i++)
		(void)pthread_join(t[i].tid, NULL);
	for (i = 0; i < n; i++) {
		if (t[i].rv != CKR_OK && rc == PCA_OK) {
			*rv = t[i].rv;
			rc = hsm_p11_fail(t[i].fn, t[i].rv, a->label);
		}
		if (t[i].elapsed > 0)
			rate += (double)t[i].count / t[i].elapsed;
	}
	if (rc == PCA_OK)
		a->rate = rate;
	return rc;
}

static pca_err
op_bench(struct hsm *h, CK_SESSION_HANDLE s, void *arg, CK_RV *rv)
{
	struct bench_arg *a = arg;
	struct bench_thr *t;
	struct keyref k;
	unsigned i, n = 0;
	pca_err rc;

	if ((rc = hsm_priv_find(h, s, a->label, &k.priv, rv)) ||
	    (rc = hsm_attr_ulong(h, s, k.priv, CKA_KEY_TYPE, &k.type, rv)))
		return rc;
	if (k.type != CKK_RSA && k.type != CKK_EC)
		return pca_err_set(PCA_EUNSUPPORTED, "key %s is not RSA or EC",
		    a->label);
	if ((t = calloc(a->threads, sizeof(*t))) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	for (i = 0; i < a->threads; i++) {
		t[i] =
		    (struct bench_thr){.h = h, .k = k, .seconds = a->seconds};
		if (pthread_create(&t[i].tid, NULL, bench_main, &t[i]) != 0)
			break;
		n++;
	}
	rc = bench_join(t, n, a, rv);
	if (rc == PCA_OK && n < a->threads)
		rc = pca_err_set(PCA_EINTERNAL, "pthread_create failed");
	free(t);
	return rc;
}

pca_err
hsm_bench_raw(struct hsm *h, const char *label, double seconds,
    unsigned threads, double *rate)
{
	struct bench_arg a = {label, seconds, threads, 0};
	pca_err rc;

	if (h == NULL || rate == NULL)
		return pca_err_set(PCA_EINVAL, "hsm_bench_raw: no output");
	if ((rc = hsm_label_check(label)) != PCA_OK)
		return rc;
	if (h->ipc != NULL)
		return pca_err_set(PCA_EUNSUPPORTED, "the raw token benchmark "
						     "runs in process only");
	if (!(seconds > 0 && seconds <= 3600))
		return pca_err_set(PCA_EINVAL, "bench seconds out of range");
	if (threads == 0 || threads > HSM_BENCH_THREADS_MAX)
		return pca_err_set(PCA_EINVAL, "bench threads must be 1 to %d",
		    HSM_BENCH_THREADS_MAX);
	if ((rc = hsm_run(h, op_bench, &a)) != PCA_OK)
		return rc;
	*rate = a.rate;
	return PCA_OK;
}
