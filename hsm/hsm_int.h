/*
 * hsm_int.h - private to hsm/: the struct hsm, the session pool, the
 * recovery runner and the PKCS#11 helpers shared by hsm*.c.  Unit tests may
 * include it to reach the raw function list; nothing else may.
 */
#ifndef PCA_HSM_INT_H
#define PCA_HSM_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "../common/limits.h"
#include "hsm.h"
#include "hsm_ipc.h"

#define HSM_SESSIONS_DEFAULT 4
#define HSM_SESSIONS_MAX 64
#define HSM_RESET_INTERVAL_MS 200 /* at most one reset try per interval */
#define HSM_WAIT_MS 5000          /* longest wait for a lock or session */
#define HSM_DRAIN_MS 2000         /* a reset waits this long for calls */
#define HSM_OPEN_TRIES 8          /* opens (25 ms doubling) before "no token" */
#define HSM_RESET_TRIES 6         /* the same in a recovery (~0.8 s) */
#define HSM_GEN_TRIES 3           /* generations in place before a reset */
#define HSM_LOAD_TRIES 4          /* looks for a key (5..20 ms apart) */
#define HSM_TOKEN_LABEL_MAX 32    /* CK_TOKEN_INFO.label */
#define HSM_ID_MAX 64             /* CKA_ID bytes we accept */
#define HSM_ATTR_MAX 4096         /* largest attribute value we read */
#define HSM_CACHE_MAX 64          /* key handles remembered */
#define HSM_BENCH_THREADS_MAX 64
/* A vanished key (hsm_key_vanished) resets at most this often. */
#define HSM_VANISH_RESET_MS 1000

/* What a failed PKCS#11 call asks the runner to do. */
enum hsm_rc_class {
	HSM_RC_NONE = 0, /* success, or a permanent failure */
	HSM_RC_SESSION,  /* re-open this session, retry */
	HSM_RC_LOGIN,    /* log in again, retry */
	HSM_RC_RESET     /* finalize, re-initialize, retry */
};

struct hsm_sess {
	CK_SESSION_HANDLE h;
	int open;
	int busy;
};

/* A private key found on the token, with the public key it proved. */
struct hsm_kent {
	char label[LIM_LABEL + 1];
	CK_OBJECT_HANDLE priv;
	CK_KEY_TYPE type;
	uint8_t *spki; /* the token's public key, DER SPKI */
	size_t spki_len;
	uint8_t *alt; /* a caller's SPKI found semantically equal */
	size_t alt_len;
	uint64_t gen; /* module generation the handle belongs to */
};

struct hsm_ipc;

struct hsm {
	struct hsm_ipc *ipc; /* the front of a separated signer, or NULL */
	/* Fixed from hsm_open to hsm_close. */
	char *module;   /* .so path */
	char *token;    /* label or pkcs11: URI, as configured */
	P11KitUri *uri; /* parsed URI, or NULL for a plain label */
	unsigned nsess;
	char *pin; /* in a locked, non-dumpable page */
	size_t pin_len;
	CK_FUNCTION_LIST *fl;
	int guard_sigpipe; /* SIGPIPE not ignored by the process */
	EVP_MD *md[3];     /* SHA-256, SHA-384, SHA-512 */

	/* Shared by every token user; exclusive while re-initializing. */
	pthread_rwlock_t rw;
	/* Written under rw exclusive only. */
	CK_SLOT_ID slot;
	int initialized;

	/* mu guards the pool and the state below. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hsm_sess *pool;
	int available;
	int resetting;
	atomic_int deferred;        /* defer_login: not logged in yet */
	int pin_refused;            /* the token refused the PIN: never retry */
	uint64_t gen;               /* bumped on each successful re-init */
	struct timespec last_reset; /* CLOCK_MONOTONIC */
	/* A bound key the token stopped showing; the last good signature's. */
	char missing[LIM_LABEL + 1];
	char last[LIM_LABEL + 1];

	/* login_mu serializes C_Login and the anchor session. */
	pthread_mutex_t login_mu;
	CK_SESSION_HANDLE anchor;
	int anchor_open;

	pthread_mutex_t admin_mu; /* key generation and destruction */

	pthread_mutex_t cache_mu;
	struct hsm_kent *cache;
	size_t ncache;

	atomic_uint_fast64_t signs;
	atomic_uint_fast64_t sign_errors;
	atomic_uint_fast64_t recoveries;
};

/*
 * An operation on one checked-out session.  On a PKCS#11 failure it sets
 * *rv to the CKR code (the runner may then recover and call it again) and
 * returns an error with its message set; other failures leave *rv CKR_OK.
 */
typedef pca_err (
    *hsm_op_fn)(struct hsm *, CK_SESSION_HANDLE, void *arg, CK_RV *rv);

/* hsm.c */
pca_err hsm_run(struct hsm *, hsm_op_fn, void *arg) PCA_WUR;
int hsm_diff_ms(const struct timespec *a, const struct timespec *b);
void hsm_pause_ms(unsigned ms);

/* hsm_p11.c: module, token, PIN, errors, objects. */
struct hsm_sigpipe {
	sigset_t old;
	int was_pending;
	int active;
};
void hsm_sigpipe_block(int guard, struct hsm_sigpipe *);
void hsm_sigpipe_restore(struct hsm_sigpipe *);

const char *hsm_ckr_name(CK_RV);
enum hsm_rc_class hsm_rc_classify(CK_RV);
pca_err hsm_ckr_err(CK_RV);
pca_err hsm_p11_fail(const char *fn, CK_RV rv, const char *label);

pca_err hsm_env_apply(const char *module_env) PCA_WUR;
pca_err hsm_module_resolve(const char *module, char **path) PCA_WUR;
pca_err hsm_module_load(const char *path, CK_FUNCTION_LIST **out) PCA_WUR;
pca_err hsm_initialize(CK_FUNCTION_LIST *) PCA_WUR;
pca_err hsm_token_match(CK_FUNCTION_LIST *, const char *token,
    const P11KitUri *, CK_SLOT_ID *slot) PCA_WUR;
pca_err hsm_token_label_pad(const char *label, CK_UTF8CHAR out[32]) PCA_WUR;

pca_err hsm_pin_load(const struct hsm_conf *, char **pin, size_t *len) PCA_WUR;
void hsm_pin_free(char *pin);

pca_err hsm_find(struct hsm *, CK_SESSION_HANDLE, CK_OBJECT_CLASS,
    const char *label, const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *objs,
    CK_ULONG max, CK_ULONG *n, CK_RV *rv) PCA_WUR;
int hsm_logged_in(struct hsm *, CK_SESSION_HANDLE);
int hsm_look_again(struct hsm *, CK_SESSION_HANDLE, pca_err rc, CK_RV rv);
int hsm_login_lost(struct hsm *, CK_SESSION_HANDLE, CK_RV *rv);
pca_err hsm_attr_get(struct hsm *, CK_SESSION_HANDLE, CK_OBJECT_HANDLE,
    CK_ATTRIBUTE_TYPE, uint8_t **val, size_t *len, CK_RV *rv) PCA_WUR;
pca_err hsm_attr_ulong(struct hsm *, CK_SESSION_HANDLE, CK_OBJECT_HANDLE,
    CK_ATTRIBUTE_TYPE, CK_ULONG *val, CK_RV *rv) PCA_WUR;

/* hsm_key.c */
pca_err hsm_label_check(const char *label) PCA_WUR;
pca_err hsm_priv_find(struct hsm *, CK_SESSION_HANDLE, const char *label,
    CK_OBJECT_HANDLE *priv, CK_RV *rv) PCA_WUR;
pca_err hsm_pub_spki(struct hsm *, CK_SESSION_HANDLE, CK_OBJECT_HANDLE priv,
    const char *label, uint8_t **spki, size_t *spki_len, CK_KEY_TYPE *type,
    CK_RV *rv) PCA_WUR;
/*
 * The point of a CKA_EC_POINT value (p, n) of a curve with field-byte
 * coordinates: SoftHSM (and PKCS#11 v2.40) wrap it in a DER OCTET STRING,
 * some modules return it raw; the expected sizes decide (a raw
 * uncompressed point may itself start with 04 <len>).  *raw points into p.
 * PCA_EHSM when it is neither.
 */
pca_err hsm_ec_point_raw(const uint8_t *p, size_t n, size_t field,
    const uint8_t **raw, size_t *rawlen) PCA_WUR;

/* hsm_sign.c */
void hsm_cache_drop(struct hsm *, const char *label);
/*
 * A key the caller bound to a public key (so it must exist) is not on the
 * token: token trouble.  Remembers the label for hsm_health, drops its
 * cache entry and returns PCA_EUNAVAIL, which asks hsm_run for a reset.
 */
pca_err hsm_key_vanished(struct hsm *, const char *label);
/* Forgets label as missing: the token shows it again. */
void hsm_key_found(struct hsm *, const char *label);
/* Forgets label altogether: destroyed on purpose. */
void hsm_key_forget(struct hsm *, const char *label);
void hsm_cache_free(struct hsm *);

#endif
