/*
 * hsm_p11.c - PKCS#11 plumbing for hsm/: CKR names and classes, module
 * loading through p11-kit, token selection by label or RFC 7512 URI, the
 * PIN in a locked page, object search and attribute reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <p11-kit/p11-kit.h>

#include "../common/log.h"
#include "hsm_int.h"

/*
 * SIGPIPE guard.  A remote module (p11-kit-client, a network HSM client)
 * writes to a socket; when the far end dies the write raises SIGPIPE, whose
 * default action kills the process.  Library code must not change the
 * process-wide disposition, so, as libpq does, the calling thread blocks
 * SIGPIPE around module calls and consumes any SIGPIPE raised meanwhile.
 */
void
hsm_sigpipe_block(int guard, struct hsm_sigpipe *sp)
{
	sigset_t set, pend;

	sp->active = 0;
	if (!guard)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &set, &sp->old) != 0)
		return;
	sp->was_pending =
	    sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE) == 1;
	sp->active = 1;
}

void
hsm_sigpipe_restore(struct hsm_sigpipe *sp)
{
	sigset_t set, pend;
	struct timespec zero = {0, 0};

	if (!sp->active)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	if (!sp->was_pending && sigpending(&pend) == 0 &&
	    sigismember(&pend, SIGPIPE) == 1)
		(void)sigtimedwait(&set, NULL, &zero); /* consume ours */
	(void)pthread_sigmask(SIG_SETMASK, &sp->old, NULL);
	sp->active = 0;
}

static const struct {
	CK_RV rv;
	const char *name;
} ckr_names[] = {
    {CKR_OK, "CKR_OK"},
    {CKR_CANCEL, "CKR_CANCEL"},
    {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
    {CKR_NO_EVENT, "CKR_NO_EVENT"},
    {CKR_NEED_TO_CREATE_THREADS, "CKR_NEED_TO_CREATE_THREADS"},
    {CKR_CANT_LOCK, "CKR_CANT_LOCK"},
    {CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY"},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
    {CKR_ACTION_PROHIBITED, "CKR_ACTION_PROHIBITED"},
    {CKR_DATA_INVALID, "CKR_DATA_INVALID"},
    {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
    {CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID"},
    {CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE"},
    {CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED"},
    {CKR_FUNCTION_NOT_PARALLEL, "CKR_FUNCTION_NOT_PARALLEL"},
    {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
    {CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE"},
    {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
    {CKR_KEY_NOT_NEEDED, "CKR_KEY_NOT_NEEDED"},
    {CKR_KEY_CHANGED, "CKR_KEY_CHANGED"},
    {CKR_KEY_NEEDED, "CKR_KEY_NEEDED"},
    {CKR_KEY_INDIGESTIBLE, "CKR_KEY_INDIGESTIBLE"},
    {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
    {CKR_KEY_NOT_WRAPPABLE, "CKR_KEY_NOT_WRAPPABLE"},
    {CKR_KEY_UNEXTRACTABLE, "CKR_KEY_UNEXTRACTABLE"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
    {CKR_PIN_INVALID, "CKR_PIN_INVALID"},
    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
    {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
    {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
    {CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
    {CKR_SESSION_PARALLEL_NOT_SUPPORTED, "CKR_SESSION_PARALLEL_NOT_SUPPORTED"},
    {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
    {CKR_SESSION_EXISTS, "CKR_SESSION_EXISTS"},
    {CKR_SESSION_READ_ONLY_EXISTS, "CKR_SESSION_READ_ONLY_EXISTS"},
    {CKR_SESSION_READ_WRITE_SO_EXISTS, "CKR_SESSION_READ_WRITE_SO_EXISTS"},
    {CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID"},
    {CKR_SIGNATURE_LEN_RANGE, "CKR_SIGNATURE_LEN_RANGE"},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
    {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
    {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
    {CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"},
    {CKR_USER_TOO_MANY_TYPES, "CKR_USER_TOO_MANY_TYPES"},
    {CKR_RANDOM_NO_RNG, "CKR_RANDOM_NO_RNG"},
    {CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID"},
    {CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
    {CKR_INFORMATION_SENSITIVE, "CKR_INFORMATION_SENSITIVE"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
    {CKR_MUTEX_BAD, "CKR_MUTEX_BAD"},
    {CKR_MUTEX_NOT_LOCKED, "CKR_MUTEX_NOT_LOCKED"},
    {CKR_FIPS_SELF_TEST_FAILED, "CKR_FIPS_SELF_TEST_FAILED"},
    {CKR_LIBRARY_LOAD_FAILED, "CKR_LIBRARY_LOAD_FAILED"},
    {CKR_PIN_TOO_WEAK, "CKR_PIN_TOO_WEAK"},
    {CKR_PUBLIC_KEY_INVALID, "CKR_PUBLIC_KEY_INVALID"},
    {CKR_FUNCTION_REJECTED, "CKR_FUNCTION_REJECTED"},
};

const char *
hsm_ckr_name(CK_RV rv)
{
	size_t i;

	for (i = 0; i < sizeof(ckr_names) / sizeof(ckr_names[0]); i++)
		if (ckr_names[i].rv == rv)
			return ckr_names[i].name;
	if (rv & CKR_VENDOR_DEFINED)
		return "CKR_VENDOR_DEFINED";
	return "CKR_UNKNOWN";
}

enum hsm_rc_class
hsm_rc_classify(CK_RV rv)
{
	switch (rv) {
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_OPERATION_ACTIVE: /* a session left mid-operation */
		return HSM_RC_SESSION;
	case CKR_USER_NOT_LOGGED_IN:
		return HSM_RC_LOGIN;
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_DEVICE_ERROR:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case CKR_SLOT_ID_INVALID:
	case CKR_GENERAL_ERROR:
	case CKR_FUNCTION_FAILED:
	case CKR_DEVICE_MEMORY:
		return HSM_RC_RESET;
	default:
		return HSM_RC_NONE;
	}
}

/* The pca_err for a CKR code that stays after recovery was tried. */
pca_err
hsm_ckr_err(CK_RV rv)
{
	if (hsm_rc_classify(rv) != HSM_RC_NONE)
		return PCA_EUNAVAIL;
	switch (rv) {
	case CKR_HOST_MEMORY:
		return PCA_ENOMEM;
	case CKR_MECHANISM_INVALID:
	case CKR_MECHANISM_PARAM_INVALID:
	case CKR_KEY_SIZE_RANGE:
	case CKR_CURVE_NOT_SUPPORTED:
	case CKR_DOMAIN_PARAMS_INVALID:
	case CKR_FUNCTION_NOT_SUPPORTED:
		return PCA_EUNSUPPORTED;
	default:
		return PCA_EHSM;
	}
}

/* "C_Sign: CKR_DEVICE_REMOVED (key ca-root)"; never a PIN. */
pca_err
hsm_p11_fail(const char *fn, CK_RV rv, const char *label)
{
	const char *name = hsm_ckr_name(rv);

	if (strcmp(name, "CKR_UNKNOWN") == 0 ||
	    strcmp(name, "CKR_VENDOR_DEFINED") == 0) {
		if (label != NULL)
			return pca_err_set(hsm_ckr_err(rv),
			    "%s: %s 0x%lx (key %s)", fn, name,
			    (unsigned long)rv, label);
		return pca_err_set(hsm_ckr_err(rv), "%s: %s 0x%lx", fn, name,
		    (unsigned long)rv);
	}
	if (label != NULL)
		return pca_err_set(hsm_ckr_err(rv), "%s: %s (key %s)", fn, name,
		    label);
	return pca_err_set(hsm_ckr_err(rv), "%s: %s", fn, name);
}

/* module_env: one "NAME=VALUE", set before C_Initialize. */
pca_err
hsm_env_apply(const char *module_env)
{
	const char *eq;
	char name[128];
	size_t n;

	if (module_env == NULL || module_env[0] == '\0')
		return PCA_OK;
	eq = strchr(module_env, '=');
	if (eq == NULL || eq == module_env)
		return pca_err_set(PCA_EINVAL,
		    "module_env must be NAME=VALUE, got no name");
	n = (size_t)(eq - module_env);
	if (n >= sizeof(name))
		return pca_err_set(PCA_EINVAL, "module_env name too long");
	memcpy(name, module_env, n);
	name[n] = '\0';
	if (setenv(name, eq + 1, 1) != 0)
		return pca_err_set(PCA_ENOMEM, "setenv %s: %s", name,
		    strerror(errno));
	return PCA_OK;
}

/* Finds the .so of a p11-kit registered module by its name. */
static pca_err
module_by_name(const char *name, char **path)
{
	CK_FUNCTION_LIST **mods;
	char *n, *file = NULL;
	size_t i;

	mods = p11_kit_modules_load(NULL, P11_KIT_MODULE_UNMANAGED);
	if (mods == NULL)
		return pca_err_set(PCA_ENOTFOUND,
		    "p11-kit: cannot list registered modules: %s",
		    p11_kit_message() ? p11_kit_message() : "no message");
	for (i = 0; mods[i] != NULL && file == NULL; i++) {
		n = p11_kit_module_get_name(mods[i]);
		if (n != NULL && strcmp(n, name) == 0)
			file = p11_kit_module_get_filename(mods[i]);
		free(n);
	}
	p11_kit_modules_release(mods);
	if (file == NULL)
		return pca_err_set(PCA_ENOTFOUND,
		    "no p11-kit module named %s is registered", name);
	*path = file;
	return PCA_OK;
}

pca_err
hsm_module_resolve(const char *module, char **path)
{
	char *p;

	if (module == NULL || module[0] == '\0')
		return pca_err_set(PCA_EINVAL, "no PKCS#11 module configured");
	if (strchr(module, '/') == NULL)
		return module_by_name(module, path);
	p = strdup(module);
	if (p == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	*path = p;
	return PCA_OK;
}

pca_err
hsm_module_load(const char *path, CK_FUNCTION_LIST **out)
{
	CK_FUNCTION_LIST *fl;
	const char *msg;

	fl = p11_kit_module_load(path,
	    P11_KIT_MODULE_UNMANAGED | P11_KIT_MODULE_CRITICAL);
	if (fl == NULL) {
		msg = p11_kit_message();
		return pca_err_set(PCA_EHSM,
		    "cannot load PKCS#11 module %s: %s", path,
		    msg != NULL ? msg : "unknown error");
	}
	*out = fl;
	return PCA_OK;
}

pca_err
hsm_initialize(CK_FUNCTION_LIST *fl)
{
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = fl->C_Initialize(&args);
	if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return pca_err_set(PCA_ESTATE,
		    "C_Initialize: CKR_CRYPTOKI_ALREADY_INITIALIZED (the "
		    "module is already in use in this process)");
	if (rv != CKR_OK)
		return hsm_p11_fail("C_Initialize", rv, NULL);
	return PCA_OK;
}

/* The 32-byte blank-padded label of C_InitToken / CK_TOKEN_INFO. */
pca_err
hsm_token_label_pad(const char *label, CK_UTF8CHAR out[32])
{
	size_t n = strlen(label);

	if (n == 0 || n > HSM_TOKEN_LABEL_MAX)
		return pca_err_set(PCA_EINVAL,
		    "token label must be 1 to %d bytes", HSM_TOKEN_LABEL_MAX);
	memset(out, ' ', 32);
	memcpy(out, label, n);
	return PCA_OK;
}

static int
token_is(const CK_TOKEN_INFO *ti, const char *token, const P11KitUri *uri)
{
	CK_UTF8CHAR want[32];

	if (uri != NULL)
		return p11_kit_uri_match_token_info(uri, ti) == 1;
	if (hsm_token_label_pad(token, want) != PCA_OK)
		return 0;
	return memcmp(ti->label, want, sizeof(want)) == 0;
}

/*
 * The slot holding the (initialized) token named by label or URI.  Slots
 * are listed afresh each time: their ids change after C_InitToken.
 */
pca_err
hsm_token_match(CK_FUNCTION_LIST *fl, const char *token, const P11KitUri *uri,
    CK_SLOT_ID *slot)
{
	CK_SLOT_ID slots[64], found = 0;
	CK_ULONG n = 64, i, hits = 0;
	CK_TOKEN_INFO ti;
	CK_RV rv;

	rv = fl->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv == CKR_BUFFER_TOO_SMALL)
		return pca_err_set(PCA_EUNSUPPORTED,
		    "C_GetSlotList: more than 64 tokens present");
	if (rv != CKR_OK)
		return hsm_p11_fail("C_GetSlotList", rv, NULL);
	for (i = 0; i < n; i++) {
		if (fl->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (!(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (token_is(&ti, token, uri)) {
			if (hits++ == 0)
				found = slots[i];
		}
	}
	if (hits == 0)
		return pca_err_set(PCA_ENOTFOUND, "no token %s is present",
		    token);
	if (hits > 1)
		return pca_err_set(PCA_EINVAL,
		    "%lu tokens match %s; name one token", (unsigned long)hits,
		    token);
	*slot = found;
	return PCA_OK;
}

/* A page for the PIN: locked in RAM and left out of core dumps. */
static pca_err
pin_page(char **out)
{
	void *p;

	p = mmap(NULL, LIM_PIN + 1, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return pca_err_set(PCA_ENOMEM, "mmap for the PIN: %s",
		    strerror(errno));
	if (mlock(p, LIM_PIN + 1) != 0)
		log_warn("hsm: mlock of the PIN page failed; it may be "
			 "swapped out");
	(void)madvise(p, LIM_PIN + 1, MADV_DONTDUMP); /* best effort */
	*out = p;
	return PCA_OK;
}

void
hsm_pin_free(char *pin)
{
	if (pin == NULL)
		return;
	OPENSSL_cleanse(pin, LIM_PIN + 1);
	(void)munlock(pin, LIM_PIN + 1);
	(void)munmap(pin, LIM_PIN + 1);
}

static pca_err
pin_read_fd(int fd, const char *path, char *pin, size_t *len)
{
	size_t n = 0;
	ssize_t r;

	for (;;) {
		r = read(fd, pin + n, LIM_PIN + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return pca_err_set(PCA_EIO, "read %s: %s", path,
			    strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > LIM_PIN)
			return pca_err_set(PCA_ETOOBIG,
			    "PIN file %s is over %d bytes", path, LIM_PIN);
	}
	*len = n;
	return PCA_OK;
}

static pca_err
pin_from_file(const char *path, char *pin, size_t *len)
{
	struct stat st;
	pca_err rc;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return pca_err_set(errno == ENOENT ? PCA_ENOTFOUND : PCA_EIO,
		    "open PIN file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = pca_err_set(PCA_EIO, "stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = pca_err_set(PCA_EINVAL, "PIN file %s is not a file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		rc = pca_err_set(PCA_EPOLICY,
		    "PIN file %s has mode %04o; it must not be group or world "
		    "accessible (chmod 0400)",
		    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	rc = pin_read_fd(fd, path, pin, len);
out:
	(void)close(fd);
	return rc;
}

static pca_err
pin_from_env(const char *var, char *pin, size_t *len)
{
	const char *v = getenv(var);
	size_t n;

	if (v == NULL)
		return pca_err_set(PCA_ENOTFOUND,
		    "PIN environment variable %s is not set", var);
	n = strlen(v);
	if (n > LIM_PIN) {
		(void)unsetenv(var);
		return pca_err_set(PCA_ETOOBIG, "PIN in %s is over %d bytes",
		    var, LIM_PIN);
	}
	memcpy(pin, v, n);
	/* glibc keeps setenv() strings for reuse: do not scribble on it. */
	(void)unsetenv(var);
	*len = n;
	return PCA_OK;
}

/*
 * Reads the user PIN from conf->pin_file, else conf->pin_env, into a
 * locked page; strips one trailing newline.  Caller frees with
 * hsm_pin_free().
 */
pca_err
hsm_pin_load(const struct hsm_conf *conf, char **pin, size_t *len)
{
	char *p = NULL;
	size_t n = 0;
	pca_err rc;

	if (conf->pin_file == NULL && conf->pin_env == NULL)
		return pca_err_set(PCA_EINVAL,
		    "neither a PIN file nor a PIN variable is configured");
	if ((rc = pin_page(&p)) != PCA_OK)
		return rc;
	if (conf->pin_file != NULL)
		rc = pin_from_file(conf->pin_file, p, &n);
	else
		rc = pin_from_env(conf->pin_env, p, &n);
	if (rc != PCA_OK)
		goto out;
	if (n > 0 && p[n - 1] == '\n')
		p[--n] = '\0';
	if (n == 0) {
		rc = pca_err_set(PCA_EINVAL, "the PIN is empty");
		goto out;
	}
	*pin = p;
	*len = n;
	p = NULL;
out:
	hsm_pin_free(p);
	return rc;
}

/* Objects of a class with the label (and CKA_ID when id_len > 0). */
pca_err
hsm_find(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    const char *label, const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *objs,
    CK_ULONG max, CK_ULONG *n, CK_RV *rv)
{
	CK_ATTRIBUTE t[3] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_LABEL, (void *)label, strlen(label)},
	    {CKA_ID, (void *)id, id_len},
	};
	CK_ULONG got = 0;
	CK_RV r, r2;

	r = h->fl->C_FindObjectsInit(s, t, id_len > 0 ? 3 : 2);
	if (r != CKR_OK) {
		*rv = r;
		return hsm_p11_fail("C_FindObjectsInit", r, label);
	}
	r = h->fl->C_FindObjects(s, objs, max, &got);
	r2 = h->fl->C_FindObjectsFinal(s);
	if (r == CKR_OK)
		r = r2;
	if (r != CKR_OK) {
		*rv = r;
		return hsm_p11_fail("C_FindObjects", r, label);
	}
	*n = got;
	return PCA_OK;
}

/* The session answers and is logged in as the user. */
int
hsm_logged_in(struct hsm *h, CK_SESSION_HANDLE s)
{
	CK_SESSION_INFO si;

	return h->fl->C_GetSessionInfo(s, &si) == CKR_OK &&
	       (si.state == CKS_RW_USER_FUNCTIONS ||
		   si.state == CKS_RO_USER_FUNCTIONS);
}

/*
 * Whether a look for an object that failed with rc (and rv) is worth
 * another: a file-backed token (SoftHSM) that another process rewrites at
 * that moment can show no object, read an object's halves inconsistently,
 * or fail with CKR_FUNCTION_FAILED or CKR_GENERAL_ERROR, for a few
 * milliseconds.  Not when memory ran out, nor when the session or its
 * login failed (hsm_run repairs those).
 */
int
hsm_look_again(struct hsm *h, CK_SESSION_HANDLE s, pca_err rc, CK_RV rv)
{
	if (rc == PCA_ENOMEM)
		return 0;
	if (rv != CKR_OK && rv != CKR_FUNCTION_FAILED &&
	    rv != CKR_GENERAL_ERROR)
		return 0;
	return hsm_logged_in(h, s);
}

/*
 * A search that found nothing may only mean the login was lost (private
 * objects are hidden then): report that as CKR_USER_NOT_LOGGED_IN.
 */
int
hsm_login_lost(struct hsm *h, CK_SESSION_HANDLE s, CK_RV *rv)
{
	CK_SESSION_INFO si;

	if (h->fl->C_GetSessionInfo(s, &si) != CKR_OK ||
	    si.state == CKS_RW_USER_FUNCTIONS ||
	    si.state == CKS_RO_USER_FUNCTIONS)
		return 0;
	*rv = CKR_USER_NOT_LOGGED_IN;
	(void)hsm_p11_fail("C_FindObjects", CKR_USER_NOT_LOGGED_IN, NULL);
	return 1;
}

/* One attribute value, malloc'ed (at most HSM_ATTR_MAX bytes). */
pca_err
hsm_attr_get(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, uint8_t **val, size_t *len, CK_RV *rv)
{
	CK_ATTRIBUTE a = {type, NULL, 0};
	uint8_t *p = NULL;
	CK_RV r;

	r = h->fl->C_GetAttributeValue(s, o, &a, 1);
	if (r != CKR_OK) {
		*rv = r;
		return hsm_p11_fail("C_GetAttributeValue", r, NULL);
	}
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
	    a.ulValueLen > HSM_ATTR_MAX)
		return pca_err_set(PCA_EHSM,
		    "C_GetAttributeValue: attribute 0x%lx unavailable or over "
		    "%d bytes",
		    (unsigned long)type, HSM_ATTR_MAX);
	p = malloc(a.ulValueLen + 1);
	if (p == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	a.pValue = p;
	r = h->fl->C_GetAttributeValue(s, o, &a, 1);
	if (r != CKR_OK) {
		free(p);
		*rv = r;
		return hsm_p11_fail("C_GetAttributeValue", r, NULL);
	}
	*val = p;
	*len = a.ulValueLen;
	return PCA_OK;
}

pca_err
hsm_attr_ulong(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, CK_ULONG *val, CK_RV *rv)
{
	CK_ULONG v = 0;
	CK_ATTRIBUTE a = {type, &v, sizeof(v)};
	CK_RV r;

	r = h->fl->C_GetAttributeValue(s, o, &a, 1);
	if (r != CKR_OK) {
		*rv = r;
		return hsm_p11_fail("C_GetAttributeValue", r, NULL);
	}
	if (a.ulValueLen != sizeof(v))
		return pca_err_set(PCA_EHSM,
		    "C_GetAttributeValue: attribute 0x%lx has %lu bytes",
		    (unsigned long)type, (unsigned long)a.ulValueLen);
	*val = v;
	return PCA_OK;
}
