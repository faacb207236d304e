/*
 * hsm.c - the PKCS#11 signer: open and close, the session pool, recovery
 * from token loss, health, statistics and token initialization.
 *
 * Why raw PKCS#11 (the CK_FUNCTION_LIST from p11-kit) and not libp11:
 *  - libp11 hides the CKR_* codes (its calls fail with a bare 0/-1), and
 *    recovery needs them: CKR_SESSION_HANDLE_INVALID wants a new session,
 *    CKR_USER_NOT_LOGGED_IN a new login, CKR_DEVICE_REMOVED a full
 *    C_Finalize/C_Initialize cycle;
 *  - its key generation is unusable for CA keys (RSA only, sets
 *    CKA_DECRYPT/CKA_UNWRAP, never sets CKA_EXTRACTABLE=FALSE);
 *  - it fixes r/o vs r/w on a slot's first session and its session pool
 *    races under threads (see /work/shared/research/anchors.md, section A).
 *
 * Locking.  rw is held shared by every token user and exclusively by a
 * re-initialization, so C_Finalize never runs under a signer.  mu guards
 * the pool and the availability state; login_mu serializes C_Login and
 * the anchor session (kept open so the login persists); admin_mu
 * serializes key generation and destruction.  Every wait has a deadline.
 *
 * With one session (sessions = 1) at most one thread is inside the module
 * at a time, health checks included.  p11-kit-client gets this always:
 * in p11-kit 0.24 a thread waiting for its reply sleeps forever on
 * read_code_cond when another thread's read fails mid-message (server
 * killed), and its server side answers one request at a time anyway.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <p11-kit/p11-kit.h>

#include "../common/log.h"
#include "hsm_int.h"

static void
deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* a - b in milliseconds, saturated to int. */
int
hsm_diff_ms(const struct timespec *a, const struct timespec *b)
{
	long long ms;

	ms = ((long long)a->tv_sec - b->tv_sec) * 1000 +
	     (a->tv_nsec - b->tv_nsec) / 1000000;
	if (ms > 1000000000LL)
		return 1000000000;
	if (ms < -1000000000LL)
		return -1000000000;
	return (int)ms;
}

/* Sleeps ms milliseconds, through signals. */
void
hsm_pause_ms(unsigned ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static CK_RV
sess_open(struct hsm *h, CK_SESSION_HANDLE *s)
{
	return h->fl->C_OpenSession(h->slot,
	    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s);
}

static int
pin_rv(CK_RV rv)
{
	return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED ||
	       rv == CKR_PIN_EXPIRED || rv == CKR_PIN_INVALID ||
	       rv == CKR_PIN_LEN_RANGE;
}

/* C_Login as the user; caller holds login_mu. */
static pca_err
login_locked(struct hsm *h, CK_SESSION_HANDLE s, CK_RV *rv)
{
	CK_RV r;

	r = h->fl->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)h->pin, h->pin_len);
	if (r == CKR_OK || r == CKR_USER_ALREADY_LOGGED_IN)
		return PCA_OK;
	if (pin_rv(r)) {
		/* Never retry a refused PIN: the token would lock it. */
		pthread_mutex_lock(&h->mu);
		h->pin_refused = 1;
		pthread_mutex_unlock(&h->mu);
		return pca_err_set(PCA_EHSM,
		    "C_Login: %s (token %s); not retrying", hsm_ckr_name(r),
		    h->token);
	}
	*rv = r;
	return hsm_p11_fail("C_Login", r, NULL);
}

static pca_err
login(struct hsm *h, CK_SESSION_HANDLE s, CK_RV *rv)
{
	pca_err rc;

	pthread_mutex_lock(&h->login_mu);
	rc = login_locked(h, s, rv);
	pthread_mutex_unlock(&h->login_mu);
	return rc;
}

/*
 * Finalizes the module if needed, initializes it, finds the token, opens
 * the anchor session, logs in and opens the pool.  Caller holds rw
 * exclusively (or is hsm_open, alone with h).
 */
static pca_err
reinit(struct hsm *h, int *again)
{
	CK_RV rv = CKR_OK;
	unsigned i;
	pca_err rc;

	h->anchor_open = 0;
	for (i = 0; i < h->nsess; i++)
		h->pool[i].open = 0;
	if (h->initialized) {
		(void)h->fl->C_Finalize(NULL); /* the token may be gone */
		h->initialized = 0;
	}
	if ((rc = hsm_initialize(h->fl)) != PCA_OK) {
		/* SoftHSM fails C_Initialize on a token file read torn */
		*again = rc == PCA_EUNAVAIL;
		(void)h->fl->C_Finalize(NULL); /* whatever it left half done */
		return rc;
	}
	h->initialized = 1;
	if ((rc = hsm_token_match(h->fl, h->token, h->uri, &h->slot)) !=
	    PCA_OK) {
		*again = rc == PCA_ENOTFOUND;
		return rc;
	}
	if ((rv = sess_open(h, &h->anchor)) != CKR_OK)
		return hsm_p11_fail("C_OpenSession", rv, NULL);
	h->anchor_open = 1;
	if ((rc = login(h, h->anchor, &rv)) != PCA_OK) {
		/* a token state read half-written; never a refused PIN */
		*again = rv == CKR_USER_PIN_NOT_INITIALIZED ||
			 rv == CKR_GENERAL_ERROR || rv == CKR_DEVICE_ERROR;
		return rc;
	}
	for (i = 0; i < h->nsess; i++) {
		if ((rv = sess_open(h, &h->pool[i].h)) != CKR_OK)
			return hsm_p11_fail("C_OpenSession", rv, NULL);
		h->pool[i].open = 1;
	}
	return PCA_OK;
}

/*
 * reinit, tried again after a failure that a later read of the token's
 * state may not show: SoftHSM rewrites a token's object file on every
 * C_Login, and another process's C_Initialize or C_Login that reads it at
 * that moment sees no token, or a token without a user PIN, or fails with
 * CKR_GENERAL_ERROR.  A one-shot pcactl run next to pcad or other pcactl
 * runs must not fail on that, nor must pcad's recovery while pcactl runs.
 * A refused PIN is never tried again; an absent token fails after tries
 * tries: HSM_OPEN_TRIES (~3.2 s) for the first open, where a writer that
 * a loaded machine holds off mid-write can keep the file torn for longer,
 * HSM_RESET_TRIES (~0.8 s) for a recovery, which holds every signer off.
 */
static pca_err
reinit_settled(struct hsm *h, unsigned tries)
{
	unsigned i, ms = 25;
	int again;
	pca_err rc;

	for (i = 1;; i++, ms *= 2) {
		again = 0;
		rc = reinit(h, &again);
		if (rc == PCA_OK || !again || i == tries)
			return rc;
		pca_err_clear();
		hsm_pause_ms(ms);
	}
}

static int
locks_init(struct hsm *h)
{
	pthread_rwlockattr_t ra;
	pthread_condattr_t ca;
	int r = 0;

	/* Writer preference: a pending re-init is not starved by signers. */
	r |= pthread_rwlockattr_init(&ra);
	r |= pthread_rwlockattr_setkind_np(&ra,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	r |= pthread_rwlock_init(&h->rw, &ra);
	(void)pthread_rwlockattr_destroy(&ra);
	r |= pthread_condattr_init(&ca);
	r |= pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r |= pthread_cond_init(&h->cv, &ca);
	(void)pthread_condattr_destroy(&ca);
	r |= pthread_mutex_init(&h->mu, NULL);
	r |= pthread_mutex_init(&h->login_mu, NULL);
	r |= pthread_mutex_init(&h->admin_mu, NULL);
	r |= pthread_mutex_init(&h->cache_mu, NULL);
	return r == 0;
}

static pca_err
conf_token(struct hsm *h, const char *token)
{
	int r;

	if (token == NULL || token[0] == '\0')
		return pca_err_set(PCA_EINVAL, "no token label configured");
	if ((h->token = strdup(token)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	if (strncmp(token, "pkcs11:", 7) != 0)
		return strlen(token) > HSM_TOKEN_LABEL_MAX
			   ? pca_err_set(PCA_EINVAL,
				 "token label %s is over %d bytes", token,
				 HSM_TOKEN_LABEL_MAX)
			   : PCA_OK;
	if ((h->uri = p11_kit_uri_new()) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	r = p11_kit_uri_parse(token, P11_KIT_URI_FOR_TOKEN, h->uri);
	if (r != P11_KIT_URI_OK)
		return pca_err_set(PCA_EPARSE, "token URI %s: %s", token,
		    p11_kit_uri_message(r));
	if (p11_kit_uri_get_pin_value(h->uri) != NULL)
		return pca_err_set(PCA_EPOLICY,
		    "token URI carries a pin-value; use pin_file or pin_env");
	return PCA_OK;
}

/* Modules that must see one call at a time (see the top of this file). */
static unsigned
sessions_for(const char *module, unsigned want)
{
	const char *base = strrchr(module, '/');

	base = base != NULL ? base + 1 : module;
	if (strcmp(base, "p11-kit-client.so") == 0 && want != 1) {
		log_info("hsm: %s: one session, one call at a time (p11-kit "
			 "client is not safe under concurrent failure)",
		    module);
		return 1;
	}
	return want;
}

static pca_err
hsm_alloc(const struct hsm_conf *conf, struct hsm **out)
{
	static const char *mds[3] = {"SHA256", "SHA384", "SHA512"};
	struct sigaction sa;
	struct hsm *h;
	pca_err rc;
	int i;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	*out = h; /* hsm_close() frees a partial one */
	if (!locks_init(h))
		return pca_err_set(PCA_EINTERNAL, "pthread lock init failed");
	if ((rc = conf_token(h, conf->token)) != PCA_OK)
		return rc;
	for (i = 0; i < 3; i++)
		if ((h->md[i] = EVP_MD_fetch(NULL, mds[i], NULL)) == NULL) {
			pca_err_set(PCA_EINTERNAL, "EVP_MD_fetch %s", mds[i]);
			pca_err_add_openssl();
			return PCA_EINTERNAL;
		}
	h->guard_sigpipe =
	    sigaction(SIGPIPE, NULL, &sa) != 0 || sa.sa_handler != SIG_IGN;
	return PCA_OK;
}

static pca_err open_deferred(struct hsm *);

pca_err
hsm_open(const struct hsm_conf *conf, struct hsm **out)
{
	struct hsm_sigpipe sp;
	struct hsm *h = NULL;
	pca_err rc;

	if (conf == NULL || out == NULL)
		return pca_err_set(PCA_EINVAL, "hsm_open: no configuration");
	if (conf->sessions > HSM_SESSIONS_MAX)
		return pca_err_set(PCA_EINVAL,
		    "sessions %u is over the maximum of %d", conf->sessions,
		    HSM_SESSIONS_MAX);
	if ((rc = hsm_alloc(conf, &h)) != PCA_OK)
		goto out;
	if ((rc = hsm_pin_load(conf, &h->pin, &h->pin_len)) != PCA_OK)
		goto out;
	if ((rc = hsm_module_resolve(conf->module, &h->module)) != PCA_OK)
		goto out;
	h->nsess = sessions_for(h->module,
	    conf->sessions ? conf->sessions : HSM_SESSIONS_DEFAULT);
	if ((h->pool = calloc(h->nsess, sizeof(*h->pool))) == NULL) {
		rc = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = hsm_env_apply(conf->module_env)) != PCA_OK)
		goto out;
	if ((rc = hsm_module_load(h->module, &h->fl)) != PCA_OK)
		goto out;
	/* defer_login: the first call that needs the token logs in */
	atomic_store(&h->deferred, 1);
	if (!conf->defer_login) {
		hsm_sigpipe_block(h->guard_sigpipe, &sp);
		rc = open_deferred(h);
		hsm_sigpipe_restore(&sp);
		if (rc != PCA_OK)
			goto out;
	}
	*out = h;
	h = NULL;
out:
	hsm_close(h);
	return rc;
}

void
hsm_close(struct hsm *h)
{
	struct hsm_sigpipe sp;
	int i;

	if (h == NULL)
		return;
	if (h->ipc != NULL) {
		hsm_ipc_close(h);
		return;
	}
	if (h->fl != NULL) {
		hsm_sigpipe_block(h->guard_sigpipe, &sp);
		if (h->initialized)
			(void)h->fl->C_Finalize(NULL); /* closes sessions */
		p11_kit_module_release(h->fl);
		hsm_sigpipe_restore(&sp);
	}
	hsm_cache_free(h);
	hsm_pin_free(h->pin);
	for (i = 0; i < 3; i++)
		EVP_MD_free(h->md[i]);
	if (h->uri != NULL)
		p11_kit_uri_free(h->uri);
	free(h->pool);
	free(h->module);
	free(h->token);
	(void)pthread_rwlock_destroy(&h->rw);
	(void)pthread_cond_destroy(&h->cv);
	(void)pthread_mutex_destroy(&h->mu);
	(void)pthread_mutex_destroy(&h->login_mu);
	(void)pthread_mutex_destroy(&h->admin_mu);
	(void)pthread_mutex_destroy(&h->cache_mu);
	free(h);
}

/* Checks a session out of the pool, waiting at most HSM_WAIT_MS. */
static pca_err
pool_get(struct hsm *h, unsigned *idx)
{
	struct timespec dl;
	unsigned i;
	int r = 0;

	deadline(&dl, HSM_WAIT_MS);
	pthread_mutex_lock(&h->mu);
	for (;;) {
		for (i = 0; i < h->nsess; i++)
			if (!h->pool[i].busy) {
				h->pool[i].busy = 1;
				pthread_mutex_unlock(&h->mu);
				*idx = i;
				return PCA_OK;
			}
		if (r == ETIMEDOUT)
			break;
		r = pthread_cond_timedwait(&h->cv, &h->mu, &dl);
	}
	pthread_mutex_unlock(&h->mu);
	return pca_err_set(PCA_EUNAVAIL,
	    "all %u token sessions stayed busy for %d ms", h->nsess,
	    HSM_WAIT_MS);
}

static void
pool_put(struct hsm *h, unsigned idx)
{
	pthread_mutex_lock(&h->mu);
	h->pool[idx].busy = 0;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* Replaces a checked-out pool session; a failure asks for a reset. */
static pca_err
sess_reopen(struct hsm *h, unsigned i, enum hsm_rc_class *cls)
{
	CK_RV rv;

	if (h->pool[i].open)
		(void)h->fl->C_CloseSession(h->pool[i].h); /* stale */
	h->pool[i].open = 0;
	rv = sess_open(h, &h->pool[i].h);
	if (rv != CKR_OK) {
		*cls = HSM_RC_RESET;
		return hsm_p11_fail("C_OpenSession", rv, NULL);
	}
	h->pool[i].open = 1;
	return PCA_OK;
}

/* Logs in again on a checked-out session after CKR_USER_NOT_LOGGED_IN. */
static pca_err
relogin(struct hsm *h, unsigned i, enum hsm_rc_class *cls)
{
	CK_RV rv = CKR_OK;
	pca_err rc;

	rc = login(h, h->pool[i].h, &rv);
	if (rc == PCA_OK)
		return PCA_OK;
	*cls = hsm_rc_classify(rv);
	if (*cls == HSM_RC_SESSION || *cls == HSM_RC_LOGIN)
		*cls = HSM_RC_RESET;
	return rc;
}

/* Fails fast (class RESET) while the token is known to be unavailable. */
static pca_err
state_check(struct hsm *h, uint64_t *seen, enum hsm_rc_class *cls)
{
	pca_err rc = PCA_OK;

	pthread_mutex_lock(&h->mu);
	*seen = h->gen;
	if (h->pin_refused)
		rc = pca_err_set(PCA_EHSM,
		    "token %s refused the PIN earlier; reopen to retry",
		    h->token);
	else if (!h->available || h->resetting) {
		rc = pca_err_set(PCA_EUNAVAIL, "token %s is unavailable",
		    h->token);
		*cls = HSM_RC_RESET;
	}
	pthread_mutex_unlock(&h->mu);
	return rc;
}

/*
 * fn found a key missing that must exist (PCA_EUNAVAIL without a CKR
 * code): re-initialize, as a module that lost its token's files may only
 * show them again after C_Initialize; at most once per
 * HSM_VANISH_RESET_MS, so a key deleted for good cannot keep resetting
 * the token under everyone else.
 */
static enum hsm_rc_class
vanish_class(struct hsm *h)
{
	struct timespec now;
	int ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&h->mu);
	ms = hsm_diff_ms(&now, &h->last_reset);
	pthread_mutex_unlock(&h->mu);
	return ms >= HSM_VANISH_RESET_MS ? HSM_RC_RESET : HSM_RC_NONE;
}

/* One try of fn on a pooled session, with in-place session recovery. */
static pca_err
run_once(struct hsm *h, hsm_op_fn fn, void *arg, enum hsm_rc_class *cls,
    uint64_t *seen)
{
	struct timespec dl;
	CK_RV rv = CKR_OK;
	unsigned i = 0;
	pca_err rc, rc2;

	*cls = HSM_RC_NONE;
	if ((rc = state_check(h, seen, cls)) != PCA_OK)
		return rc;
	deadline(&dl, HSM_WAIT_MS);
	if (pthread_rwlock_clockrdlock(&h->rw, CLOCK_MONOTONIC, &dl) != 0)
		return pca_err_set(PCA_EUNAVAIL,
		    "token %s: timed out waiting for re-initialization",
		    h->token);
	if ((rc = pool_get(h, &i)) != PCA_OK)
		goto unlock;
	if (!h->pool[i].open && (rc = sess_reopen(h, i, cls)) != PCA_OK)
		goto put;
	rc = fn(h, h->pool[i].h, arg, &rv);
	if (rc == PCA_EUNAVAIL && rv == CKR_OK)
		*cls = vanish_class(h);
	if (rc == PCA_OK || rv == CKR_OK)
		goto put;
	*cls = hsm_rc_classify(rv);
	rc2 = PCA_OK;
	if (*cls == HSM_RC_SESSION)
		rc2 = sess_reopen(h, i, cls);
	else if (*cls == HSM_RC_LOGIN)
		rc2 = relogin(h, i, cls);
	if (rc2 != PCA_OK)
		rc = rc2;
put:
	pool_put(h, i);
unlock:
	pthread_rwlock_unlock(&h->rw);
	return rc;
}

/* Rate limit and single flight: may this thread re-initialize now? */
static pca_err
reset_begin(struct hsm *h, uint64_t seen, int *was_available)
{
	struct timespec now;
	pca_err rc = PCA_OK;
	int ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&h->mu);
	ms = hsm_diff_ms(&now, &h->last_reset);
	if (h->pin_refused)
		rc =
		    pca_err_set(PCA_EHSM, "token %s refused the PIN", h->token);
	else if (h->available && !h->resetting && h->gen != seen)
		rc = PCA_EALREADY; /* another thread recovered it */
	else if (h->resetting)
		rc = pca_err_set(PCA_EUNAVAIL,
		    "token %s is being re-initialized", h->token);
	else if (ms < HSM_RESET_INTERVAL_MS && h->last_reset.tv_sec != 0)
		rc = pca_err_set(PCA_EUNAVAIL,
		    "token %s is unavailable; next attempt in %d ms", h->token,
		    HSM_RESET_INTERVAL_MS - ms);
	else {
		*was_available = h->available;
		h->resetting = 1;
		h->available = 0;
		h->last_reset = now;
	}
	pthread_mutex_unlock(&h->mu);
	return rc;
}

/*
 * Full recovery: close everything, C_Finalize, C_Initialize, find the
 * token again, log in, rebuild the pool.  At most one thread does it, at
 * most once per HSM_RESET_INTERVAL_MS; the others get PCA_EUNAVAIL.
 */
static pca_err
hsm_reset(struct hsm *h, uint64_t seen)
{
	char cause[200], why[200];
	struct timespec dl;
	int was = 0, locked;
	pca_err rc;

	(void)snprintf(cause, sizeof(cause), "%s", pca_err_msg());
	rc = reset_begin(h, seen, &was);
	if (rc == PCA_EALREADY)
		return PCA_OK;
	if (rc != PCA_OK)
		return rc;
	if (was)
		log_warnx("hsm: token %s lost (%s); re-initializing", h->token,
		    cause);
	deadline(&dl, HSM_DRAIN_MS);
	locked = pthread_rwlock_clockwrlock(&h->rw, CLOCK_MONOTONIC, &dl) == 0;
	rc = locked ? reinit_settled(h, HSM_RESET_TRIES)
		    : pca_err_set(PCA_EUNAVAIL,
			  "calls into the module did not return within %d ms "
			  "(is the module hung?)",
			  HSM_DRAIN_MS);
	(void)snprintf(why, sizeof(why), "%s", pca_err_msg());
	pthread_mutex_lock(&h->mu);
	if (rc == PCA_OK) {
		h->available = 1;
		h->gen++;
	}
	h->resetting = 0;
	pthread_mutex_unlock(&h->mu);
	if (locked)
		pthread_rwlock_unlock(&h->rw);
	if (rc == PCA_OK) {
		atomic_fetch_add(&h->recoveries, 1);
		log_warnx("hsm: token %s is available again", h->token);
		return PCA_OK;
	}
	if (was)
		log_warnx("hsm: token %s unavailable: %s", h->token, why);
	if (rc == PCA_EHSM)
		return rc;
	return pca_err_set(PCA_EUNAVAIL, "token %s unavailable: %s", h->token,
	    why);
}

/*
 * Finds the token and logs in, once: from hsm_open, or, with
 * hsm_conf.defer_login, from the first call that needs the token (a
 * failure is that caller's, and the next call tries again).  Caller has
 * SIGPIPE blocked.
 */
static pca_err
open_deferred(struct hsm *h)
{
	pca_err rc = PCA_OK;
	int refused;

	if (!atomic_load(&h->deferred))
		return PCA_OK;
	(void)pthread_rwlock_wrlock(&h->rw);
	pthread_mutex_lock(&h->mu);
	refused = h->pin_refused;
	pthread_mutex_unlock(&h->mu);
	if (refused) /* never a second wrong PIN: tokens lock the user out */
		rc = pca_err_set(PCA_EHSM,
		    "token %s refused the PIN earlier; reopen to retry",
		    h->token);
	else if (atomic_load(&h->deferred) &&
		 (rc = reinit_settled(h, HSM_OPEN_TRIES)) == PCA_OK) {
		pthread_mutex_lock(&h->mu);
		h->available = 1;
		pthread_mutex_unlock(&h->mu);
		atomic_store(&h->deferred, 0);
		log_info("hsm: token %s open with %u sessions (module %s)",
		    h->token, h->nsess, h->module);
	}
	(void)pthread_rwlock_unlock(&h->rw);
	return rc;
}

/*
 * Runs fn on a pooled session.  Session and login failures are repaired
 * in place, token loss by one reset; then fn runs again.
 */
pca_err
hsm_run(struct hsm *h, hsm_op_fn fn, void *arg)
{
	struct hsm_sigpipe sp;
	enum hsm_rc_class cls;
	int tries, did_reset = 0;
	uint64_t seen;
	pca_err rc;

	hsm_sigpipe_block(h->guard_sigpipe, &sp);
	if ((rc = open_deferred(h)) != PCA_OK) {
		hsm_sigpipe_restore(&sp);
		/* no token (yet): token trouble the caller may retry */
		return rc == PCA_ENOTFOUND
			   ? pca_err_set(PCA_EUNAVAIL, "%s", pca_err_msg())
			   : rc;
	}
	for (tries = 0; tries < 4; tries++) {
		rc = run_once(h, fn, arg, &cls, &seen);
		if (cls == HSM_RC_NONE)
			break;
		if (cls != HSM_RC_RESET)
			continue;
		if (did_reset) {
			rc = pca_err_set(PCA_EUNAVAIL, "%s", pca_err_msg());
			break;
		}
		did_reset = 1;
		if ((rc = hsm_reset(h, seen)) != PCA_OK)
			break;
	}
	hsm_sigpipe_restore(&sp);
	return rc;
}

/* The anchor session: still open and logged in?  Caller holds rw. */
static pca_err
anchor_check(struct hsm *h, enum hsm_rc_class *cls)
{
	CK_SESSION_INFO si;
	CK_RV rv = CKR_OK;
	pca_err rc = PCA_OK;

	pthread_mutex_lock(&h->login_mu);
	rv = h->anchor_open ? h->fl->C_GetSessionInfo(h->anchor, &si)
			    : CKR_SESSION_HANDLE_INVALID;
	if (hsm_rc_classify(rv) == HSM_RC_SESSION) {
		h->anchor_open = 0;
		if ((rv = sess_open(h, &h->anchor)) == CKR_OK) {
			h->anchor_open = 1;
			rv = h->fl->C_GetSessionInfo(h->anchor, &si);
		}
	}
	if (rv != CKR_OK) {
		rc = hsm_p11_fail("C_GetSessionInfo", rv, NULL);
		*cls = HSM_RC_RESET;
	} else if (si.state != CKS_RW_USER_FUNCTIONS &&
		   si.state != CKS_RO_USER_FUNCTIONS) {
		rc = login_locked(h, h->anchor, &rv);
		if (rc != PCA_OK && rv != CKR_OK)
			*cls = HSM_RC_RESET;
	}
	pthread_mutex_unlock(&h->login_mu);
	return rc;
}

/*
 * The token may answer and still have lost its objects (a module whose
 * files went away).  So health looks for a key: the bound key the token
 * stopped showing (unhealthy until a search on the anchor session finds it
 * again), else the key of the last good signature.  Caller holds rw.
 */
static pca_err
missing_check(struct hsm *h, enum hsm_rc_class *cls)
{
	char label[LIM_LABEL + 1];
	CK_OBJECT_HANDLE o;
	CK_ULONG n = 0;
	CK_RV rv = CKR_OK;
	pca_err rc;
	int known, lost;

	pthread_mutex_lock(&h->mu);
	known = h->missing[0] != '\0';
	(void)snprintf(label, sizeof(label), "%s",
	    known ? h->missing : h->last);
	pthread_mutex_unlock(&h->mu);
	if (label[0] == '\0')
		return PCA_OK;
	pthread_mutex_lock(&h->login_mu);
	rc = hsm_find(h, h->anchor, CKO_PRIVATE_KEY, label, NULL, 0, &o, 1, &n,
	    &rv);
	lost = rc == PCA_OK && n == 0 && hsm_login_lost(h, h->anchor, &rv);
	pthread_mutex_unlock(&h->login_mu);
	if (rc != PCA_OK || lost) {
		*cls = hsm_rc_classify(rv) != HSM_RC_NONE ? HSM_RC_RESET
							  : HSM_RC_NONE;
		return lost ? PCA_EUNAVAIL : rc;
	}
	if (n == 0) {
		rc = known ? pca_err_set(PCA_EUNAVAIL,
				 "token %s does not show key %s, which a CA "
				 "record names",
				 h->token, label)
			   : hsm_key_vanished(h, label);
		*cls = vanish_class(h);
		return rc;
	}
	if (known)
		hsm_key_found(h, label);
	return PCA_OK;
}

static pca_err
health_once(struct hsm *h, enum hsm_rc_class *cls, uint64_t *seen)
{
	struct timespec dl;
	unsigned i = 0;
	pca_err rc;

	*cls = HSM_RC_NONE;
	if ((rc = state_check(h, seen, cls)) != PCA_OK)
		return rc;
	deadline(&dl, HSM_WAIT_MS);
	if (pthread_rwlock_clockrdlock(&h->rw, CLOCK_MONOTONIC, &dl) != 0)
		return pca_err_set(PCA_EUNAVAIL,
		    "token %s: timed out waiting for re-initialization",
		    h->token);
	/* One session: the health check waits its turn like a signer. */
	if (h->nsess == 1 && (rc = pool_get(h, &i)) != PCA_OK)
		goto unlock;
	if ((rc = anchor_check(h, cls)) == PCA_OK)
		rc = missing_check(h, cls);
	if (h->nsess == 1)
		pool_put(h, i);
unlock:
	pthread_rwlock_unlock(&h->rw);
	return rc;
}

pca_err
hsm_health(struct hsm *h)
{
	struct hsm_sigpipe sp;
	enum hsm_rc_class cls;
	uint64_t seen;
	pca_err rc;

	if (h == NULL)
		return pca_err_set(PCA_EUNAVAIL, "no token open");
	if (h->ipc != NULL)
		return hsm_ipc_health(h);
	hsm_sigpipe_block(h->guard_sigpipe, &sp);
	if ((rc = open_deferred(h)) != PCA_OK) {
		hsm_sigpipe_restore(&sp);
		return rc == PCA_EUNAVAIL
			   ? rc
			   : pca_err_set(PCA_EUNAVAIL, "%s", pca_err_msg());
	}
	rc = health_once(h, &cls, &seen);
	if (cls == HSM_RC_RESET && (rc = hsm_reset(h, seen)) == PCA_OK)
		rc = health_once(h, &cls, &seen);
	hsm_sigpipe_restore(&sp);
	if (rc != PCA_OK && rc != PCA_EUNAVAIL)
		return pca_err_set(PCA_EUNAVAIL, "%s", pca_err_msg());
	return rc;
}

void
hsm_stats_get(struct hsm *h, struct hsm_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (h == NULL)
		return;
	if (h->ipc != NULL) {
		hsm_ipc_stats(h, st);
		return;
	}
	st->signs = atomic_load(&h->signs);
	st->sign_errors = atomic_load(&h->sign_errors);
	st->recoveries = atomic_load(&h->recoveries);
	pthread_mutex_lock(&h->mu);
	st->available = h->available && !h->resetting && !h->pin_refused &&
			h->missing[0] == '\0';
	pthread_mutex_unlock(&h->mu);
}
