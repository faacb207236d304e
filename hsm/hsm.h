/*
 * hsm.h - the PKCS#11 signer.  The only code that talks PKCS#11.
 *
 * Callers name a key by its token label and hand over to-be-signed bytes;
 * they get back the signature value as it goes into an X.509 BIT STRING
 * (PKCS#1 v1.5 bytes for RSA, DER Ecdsa-Sig-Value for ECDSA).  No PKCS#11
 * handle and no EVP_PKEY leaves this module, so the signer can later move
 * into its own process without touching callers.
 *
 * Any PKCS#11 v2.40 module works: the module is loaded with p11-kit (a path
 * or a p11-kit module name), the token is selected by label or by an RFC
 * 7512 "pkcs11:" URI, the PIN is passed through as given.  Keys are made
 * with C_GenerateKeyPair, CKA_SENSITIVE=TRUE, CKA_EXTRACTABLE=FALSE,
 * CKA_SIGN=TRUE, never with a decrypt/unwrap capability.
 *
 * Thread safety: every function may be called from any thread.  Signing
 * uses a pool of sessions; on CKR_SESSION_HANDLE_INVALID,
 * CKR_SESSION_CLOSED, CKR_USER_NOT_LOGGED_IN, CKR_DEVICE_REMOVED,
 * CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_ERROR and CKR_CRYPTOKI_NOT_INITIALIZED
 * it re-opens sessions, logs in again and, if needed, finalizes and
 * re-initializes the module.  While the token stays unavailable calls fail
 * fast with PCA_EUNAVAIL (retryable); they never crash or hang.
 *
 * A module may keep answering while its token lost its objects (SoftHSM
 * whose token directory went away).  So a key that hsm_sign is asked to use
 * with a binding (spki != NULL: the caller's record says it exists) but
 * that the token does not show is token trouble, never PCA_ENOTFOUND:
 * PCA_EUNAVAIL, a re-initialization (at most once per
 * HSM_VANISH_RESET_MS), and hsm_health fails until the key is found again.
 * hsm_health also looks for the key of the last good signature, so it
 * notices such a loss without traffic.
 */
#ifndef PCA_HSM_H
#define PCA_HSM_H

#include <stddef.h>
#include <stdint.h>

#include "../common/alg.h"
#include "../common/err.h"

struct hsm;

struct hsm_conf {
	const char *module;     /* .so path or p11-kit module name */
	const char *token;      /* token label, or "pkcs11:token=...;..." */
	const char *pin_file;   /* file holding the user PIN, or NULL */
	const char *pin_env;    /* env var holding the PIN (unset once read) */
	const char *module_env; /* "NAME=VALUE" set before C_Initialize
				   (e.g. SOFTHSM2_CONF=...), or NULL */
	unsigned sessions;      /* signing session pool size; 0 = 4; 1 =
				   one module call at a time (forced for
				   p11-kit-client.so) */
	int defer_login;        /* 1: hsm_open loads the module and reads
				   the PIN; the first call that needs the
				   token finds it and logs in (pcactl: a
				   command that only reads the store never
				   logs in next to pcad) */
};

/*
 * A key to sign with.  spki is the DER SubjectPublicKeyInfo the key must
 * have (from the CA certificate or the CA record): each time the key is
 * (re)found on the token its public key is compared with it, and nothing is
 * signed on a mismatch (PCA_EKEYMISMATCH).  spki may be NULL only right
 * after generation.
 */
struct hsm_key {
	const char *label;
	const uint8_t *spki;
	size_t spki_len;
};

struct hsm_key_info {
	int sensitive;
	int extractable;
	int always_sensitive;
	int never_extractable;
	int local;
	int can_sign;
	int can_decrypt;
};

struct hsm_stats {
	uint64_t signs;
	uint64_t sign_errors;
	uint64_t recoveries; /* successful re-initializations */
	int available;       /* token usable right now */
};

/*
 * Loads the module, finds the token and logs in.  The PIN is read from
 * pin_file (which must not be group/world readable) or from pin_env (which is
 * then unset) and is wiped from memory after login... except for the copy
 * needed to log in again after the token returns, kept in a locked page.
 */
pca_err hsm_open(const struct hsm_conf *, struct hsm **out) PCA_WUR;
void hsm_close(struct hsm *);

/*
 * Initializes a fresh token (C_InitToken + C_InitPIN) in the first slot
 * whose token is not yet initialized, labelled conf->token.  Used by
 * "pcactl init"; works with any module that supports C_InitToken.
 */
pca_err hsm_token_init(const struct hsm_conf *, const char *so_pin,
    const char *user_pin) PCA_WUR;

/*
 * Generates a key pair inside the token, labelled label, CKA_ID = id.
 * Returns the public key as DER SubjectPublicKeyInfo (caller frees).
 * PCA_EEXISTS if a key with that label exists already.
 */
pca_err hsm_key_generate(struct hsm *, const char *label, const uint8_t *id,
    size_t id_len, enum pca_keyalg alg, uint8_t **spki,
    size_t *spki_len) PCA_WUR;

/* The public key of an existing key pair, DER SPKI (caller frees). */
pca_err hsm_key_spki(struct hsm *, const char *label, uint8_t **spki,
    size_t *spki_len) PCA_WUR;

/* Security attributes of the private key, read back from the token. */
pca_err hsm_key_info(struct hsm *, const char *label,
    struct hsm_key_info *) PCA_WUR;

/* Destroys both halves of a key pair. PCA_ENOTFOUND if absent. */
pca_err hsm_key_destroy(struct hsm *, const char *label) PCA_WUR;

/*
 * Signs tbs with the key under alg (hash in software, then CKM_RSA_PKCS or
 * CKM_ECDSA on the token).  sig must hold LIM_SIG bytes; *sig_len is set to
 * the length used.
 */
pca_err hsm_sign(struct hsm *, const struct hsm_key *, enum pca_sigalg alg,
    const uint8_t *tbs, size_t tbs_len, uint8_t *sig, size_t *sig_len) PCA_WUR;

/*
 * As hsm_sign, for a TBSCertificate issued with a CA template: the one
 * case a separated signer signs basicConstraints cA=TRUE for (besides a
 * root's own certificate).  In process it is hsm_sign.
 */
#define HSM_SIGN_CA_CERT 0x1u
pca_err hsm_sign_ca(struct hsm *, const struct hsm_key *, enum pca_sigalg alg,
    const uint8_t *tbs, size_t tbs_len, uint8_t *sig, size_t *sig_len) PCA_WUR;

/*
 * Secrets at rest (API access keys), 1 to 4096 bytes.  Only CKM_SHA256_HMAC
 * (no mechanism parameters, so it crosses p11-kit's RPC and network HSMs)
 * runs on the token, under two secret keys generated there on first use:
 * "<label>.enc" and "<label>.mac" (CKK_GENERIC_SECRET, 32 bytes,
 * CKA_SENSITIVE, non-extractable, CKA_SIGN/CKA_VERIFY only).  A random
 * 16-byte iv; keystream block i = HMAC(K_enc, "pca-seal-ks" || iv ||
 * be32(i)); ciphertext = plaintext XOR keystream; tag = HMAC(K_mac,
 * "pca-seal-tag" || version || len(label) || label || iv || ciphertext).
 * seal output is version(0x02) || iv(16) || ciphertext || tag(32), caller
 * frees.  unseal checks the tag (constant time) before decrypting and fails
 * with PCA_EMISMATCH when the data was altered, sealed under another label
 * or in another format (no token reset); PCA_ENOTFOUND when the label's
 * keys are absent.  Through a separated signer, unseal under its
 * secret_label is refused (PCA_EPOLICY): those secrets only ever yield
 * hsm_sigv4_key's signing keys.  Implemented in hsm/hsm_seal.c.
 */
pca_err hsm_seal(struct hsm *, const char *label, const uint8_t *plain,
    size_t len, uint8_t **sealed, size_t *sealed_len) PCA_WUR;
pca_err hsm_unseal(struct hsm *, const char *label, const uint8_t *sealed,
    size_t len, uint8_t **plain, size_t *plain_len) PCA_WUR;

/*
 * SigV4 signing keys: the network side verifies AWS Signature Version 4
 * with kSigning only and never holds an API secret.
 *   kSigning = HMAC-SHA256(HMAC(HMAC(HMAC("AWS4" || secret, date),
 *              region), service), "aws4_request")
 * hsm_sigv4_key unseals sealed (made by hsm_seal under label), derives the
 * key for scope and wipes the secret; through a separated signer the
 * signer does all of it and returns only the 32-byte key (and serves only
 * its hsm_signer_conf.secret_label).  The scope is checked first, on the
 * clock of the process that unseals: date YYYYMMDD at most HSM_SIGV4_DAYS
 * day from today (UTC), so a compromised front cannot collect keys for days
 * ahead; region and service 1 to HSM_SIGV4_NAME_MAX of [a-z0-9._-].
 * PCA_EINVAL for a bad scope, PCA_EMISMATCH/PCA_ENOTFOUND as hsm_unseal.
 * Implemented in hsm/hsm_sigv4.c.
 */
#define HSM_SIGV4_KEY_LEN 32
#define HSM_SIGV4_NAME_MAX 63
#define HSM_SIGV4_DAYS 1
#define HSM_SIGV4_SECRET_MAX 128

struct hsm_sigv4_scope {
	const char *date;    /* YYYYMMDD */
	const char *region;  /* us-east-1 */
	const char *service; /* acm-pca, sts */
};

pca_err hsm_sigv4_key(struct hsm *, const char *label, const uint8_t *sealed,
    size_t len, const struct hsm_sigv4_scope *,
    uint8_t key[HSM_SIGV4_KEY_LEN]) PCA_WUR;

/* The scope checks of hsm_sigv4_key against now (seconds, UTC). */
pca_err hsm_sigv4_scope_check(const struct hsm_sigv4_scope *,
    int64_t now) PCA_WUR;

/* The bare HMAC chain (secret_len <= HSM_SIGV4_SECRET_MAX; no checks). */
void hsm_sigv4_derive(const uint8_t *secret, size_t secret_len,
    const struct hsm_sigv4_scope *, uint8_t key[HSM_SIGV4_KEY_LEN]);

/*
 * The sealing service (common/seal.h) of h for the modules that call no
 * hsm/ function (api/, acme/): hsm_seal, hsm_unseal, hsm_sigv4_key and
 * hsm_sigv4_derive, with h as the context.  h NULL: the service of no
 * token (every member NULL).  h must outlive the users of *out.
 * Implemented in hsm/hsm_ops.c.
 */
struct seal_ops;
void hsm_seal_ops(struct hsm *h, struct seal_ops *out);

/*
 * PCA_OK when the token answers now and shows the key of the last good
 * signature (and any bound key found missing), else PCA_EUNAVAIL (cheap:
 * one session check and one object search).
 */
pca_err hsm_health(struct hsm *) PCA_WUR;

void hsm_stats_get(struct hsm *, struct hsm_stats *);

/*
 * Benchmark only: the raw token sign rate, the limit the engine is measured
 * against.  threads threads each sign a fixed 32-byte digest with
 * C_SignInit+C_Sign (CKM_RSA_PKCS with a SHA-256 DigestInfo, or CKM_ECDSA)
 * for about `seconds`; *rate is total signatures per second.
 */
pca_err hsm_bench_raw(struct hsm *, const char *label, double seconds,
    unsigned threads, double *rate) PCA_WUR;

/* ---- privilege separation (hsm_ipc.c, hsm_signer.c) ---- */

/*
 * The front's struct hsm: every function above is forwarded to a signer
 * process over a socket and waits for its answer (hsm_bench_raw and
 * hsm_token_init are not: PCA_EUNSUPPORTED).  ctl is a SOCK_SEQPACKET
 * socket on which the keeper sends each new signer (hsm_keeper_send): its
 * status and, when ready, its socket (one byte the other way first tells
 * the keeper to start the first signer).  Waits up to wait_s for the first
 * signer and fails with its error message.  While no signer answers (it
 * died, a new one is starting) calls fail fast with PCA_EUNAVAIL.
 */
pca_err hsm_proxy_new(int ctl, unsigned wait_s, struct hsm **out) PCA_WUR;

/* The keeper's side of ctl: fd (>= 0) on status PCA_OK, or an error. */
pca_err hsm_keeper_send(int ctl, pca_err status, const char *msg,
    int fd) PCA_WUR;

/* Operations a signer's check callback judges. */
enum hsm_signer_op { HSM_OP_SIGN = 1, HSM_OP_KEYGEN, HSM_OP_DESTROY };

struct hsm_signer_conf {
	unsigned threads; /* concurrent requests; 0 = 4 */
	/*
	 * Judges an operation before the token is asked (NULL: everything
	 * passes): PCA_OK, or the refusal (PCA_EPOLICY ...) sent back.
	 */
	pca_err (*check)(void *arg, enum hsm_signer_op, const char *label,
	    unsigned flags, enum pca_sigalg, const uint8_t *tbs, size_t len);
	void *arg;
	/*
	 * The seal label of secrets that never leave the signer (pcad: the
	 * API access keys): unseal under it is refused (PCA_EPOLICY) and
	 * hsm_sigv4_key serves no other label.  NULL: no such restriction.
	 */
	const char *secret_label;
};

/*
 * The signer's loop: serves the front's requests on fd with h (a token
 * opened with hsm_open) until the front closes the socket (PCA_OK) or
 * sends a malformed frame (PCA_EPARSE: the caller ends the process).
 */
pca_err hsm_signer_serve(struct hsm *h, int fd,
    const struct hsm_signer_conf *) PCA_WUR;

#endif
