/*
 * pcactl_token.c - "pcactl token migrate": moves the appliance to another
 * PKCS#11 token.  Every access-key secret is unsealed under the current
 * token and sealed again under the new one (its seal keys are made there on
 * first use), record by record; then pcad.conf's [hsm] section is rewritten
 * to name the new token and the previous file is kept as
 * pcad.conf.pre-migrate (pcactl --config that file still reaches the old
 * token, e.g. to sign successor CAs).  CA keys are non-extractable and stay
 * where they are: CAs whose key is in the old token cannot sign on the new
 * one (docs/hsm.md, "Moving to another token").  Re-running after a failure
 * is safe: a record that already opens under the new token is left alone.
 * The two tokens must be reached through two different modules (one
 * process cannot initialize a module twice).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "../api/api.h"
#include "../common/buf.h"
#include "../common/util.h"
#include "appliance.h"
#include "pcactl.h"

#define KEYS_NS "keys" /* api/keys.c's namespace in the store */
#define MIGRATE_MAX_KEYS 100000
#define MIGRATE_CONF_MAX (1024 * 1024)

#define TOKEN_USAGE                                                            \
	"usage: pcactl [--config FILE] token migrate --pkcs11-module "         \
	"PATH|NAME --token-label L|URI (--pin-file F | --pin-env VAR) "        \
	"[--module-env NAME=VALUE]"

struct kv_rec {
	char *key;
	char *val;
};

struct kv_list {
	struct kv_rec *v;
	size_t n;
	pca_err err;
};

static int
collect_cb(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct kv_list *l = arg;
	struct kv_rec *nv;

	if (l->n == MIGRATE_MAX_KEYS) {
		l->err = pca_err_set(PCA_ETOOBIG, "over %d access keys",
		    MIGRATE_MAX_KEYS);
		return 1;
	}
	if ((nv = realloc(l->v, (l->n + 1) * sizeof(*nv))) == NULL) {
		l->err = pca_err_set(PCA_ENOMEM, "no memory");
		return 1;
	}
	l->v = nv;
	nv[l->n].key = strdup(key);
	nv[l->n].val = strndup((const char *)val, len);
	if (nv[l->n].key == NULL || nv[l->n].val == NULL) {
		free(nv[l->n].key);
		free(nv[l->n].val);
		l->err = pca_err_set(PCA_ENOMEM, "no memory");
		return 1;
	}
	l->n++;
	return 0;
}

static void
kv_list_free(struct kv_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].val);
	}
	free(l->v);
}

/*
 * One record: its secret sealed under the new token.  *done: 1 when it
 * was re-sealed, 0 when it already was (an earlier, interrupted run).
 */
static pca_err
reseal_one(struct store *st, struct hsm *from, struct hsm *to,
    const struct kv_rec *r, int *done)
{
	json_t *j = json_loads(r->val, 0, NULL);
	const char *b64 = json_string_value(json_object_get(j, "Sealed"));
	uint8_t *sealed = NULL, *plain = NULL, *nsealed = NULL;
	size_t sealed_len = 0, plain_len = 0, nlen = 0;
	char *nb64 = NULL, *text = NULL;
	pca_err err;

	*done = 0;
	if (b64 == NULL) {
		err = pca_err_set(PCA_EDB, "access key %s: no sealed secret",
		    r->key);
		goto out;
	}
	if ((err = util_b64_decode(b64, strlen(b64), 8192, &sealed,
		 &sealed_len)) != PCA_OK)
		goto out;
	if ((err = hsm_unseal(from, API_SEAL_LABEL, sealed, sealed_len, &plain,
		 &plain_len)) != PCA_OK) {
		pca_err first = err;
		if (hsm_unseal(to, API_SEAL_LABEL, sealed, sealed_len, &plain,
			&plain_len) == PCA_OK) {
			err = PCA_OK; /* moved by an earlier run */
			pca_err_clear();
		} else
			err = pca_err_set(first,
			    "access key %s opens under "
			    "neither token",
			    r->key);
		goto out;
	}
	if ((err = hsm_seal(to, API_SEAL_LABEL, plain, plain_len, &nsealed,
		 &nlen)) != PCA_OK ||
	    (err = util_b64_encode(nsealed, nlen, &nb64)) != PCA_OK)
		goto out;
	json_object_set_new(j, "Sealed", json_string(nb64));
	if ((text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if ((err = store_kv_put(st, KEYS_NS, r->key, text, strlen(text), 0)) ==
	    PCA_OK)
		*done = 1;
out:
	if (plain != NULL)
		OPENSSL_cleanse(plain, plain_len);
	free(plain);
	free(sealed);
	free(nsealed);
	free(nb64);
	free(text);
	json_decref(j);
	return err;
}

static pca_err
reseal_all(struct store *st, struct hsm *from, struct hsm *to, size_t *moved,
    size_t *total)
{
	struct kv_list l = {NULL, 0, PCA_OK};
	size_t i;
	int done;
	pca_err err;

	*moved = 0;
	if ((err = store_kv_foreach(st, KEYS_NS, collect_cb, &l)) == PCA_OK)
		err = l.err;
	for (i = 0; err == PCA_OK && i < l.n; i++)
		if ((err = reseal_one(st, from, to, &l.v[i], &done)) == PCA_OK)
			*moved += (size_t)done;
	*total = l.n;
	kv_list_free(&l);
	return err;
}

/* The new [hsm] lines; sessions kept, key_storage_standard dropped. */
static pca_err
hsm_lines(const struct hsm_conf *n, unsigned sessions, struct buf *b)
{
	pca_err err;

	err = buf_printf(b, "[hsm]\nmodule = %s\ntoken = %s\n", n->module,
	    n->token);
	if (err == PCA_OK)
		err = n->pin_env
			  ? buf_printf(b, "pin_env = %s\n", n->pin_env)
			  : buf_printf(b, "pin_file = %s\n", n->pin_file);
	if (err == PCA_OK && n->module_env != NULL)
		err = buf_printf(b, "module_env = %s\n", n->module_env);
	if (err == PCA_OK)
		err = buf_printf(b, "sessions = %u\n", sessions);
	return err;
}

/* pcad.conf with its [hsm] section replaced; the old file kept aside. */
static pca_err
conf_rewrite(const char *path, const struct hsm_conf *n, unsigned sessions)
{
	uint8_t *text = NULL;
	size_t len;
	char *line, *next, bak[PATH_MAX];
	int in_hsm = 0;
	struct buf b;
	pca_err err;

	if ((err = util_file_read(path, MIGRATE_CONF_MAX, &text, &len)) !=
	    PCA_OK)
		return err;
	if (snprintf(bak, sizeof(bak), "%s.pre-migrate", path) >=
	    (int)sizeof(bak))
		err = pca_err_set(PCA_EINVAL, "%s: path too long", path);
	else
		err = util_file_write(bak, text, len, 0600, 0);
	if (err != PCA_OK) {
		free(text);
		return err;
	}
	buf_init(&b, MIGRATE_CONF_MAX + 4096);
	for (line = (char *)text; err == PCA_OK && line && *line; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line[0] == '[') {
			in_hsm = strncmp(line, "[hsm]", 5) == 0;
			if (in_hsm) {
				err = hsm_lines(n, sessions, &b);
				continue;
			}
		}
		if (!in_hsm)
			err = buf_printf(&b, "%s\n", line);
	}
	if (err == PCA_OK)
		err = buf_nul(&b);
	if (err == PCA_OK)
		err = util_file_write(path, b.p, strlen((char *)b.p), 0600, 0);
	buf_free(&b);
	free(text);
	return err;
}

static pca_err
migrate_opts(int argc, char **argv, struct hsm_conf *n)
{
	static const struct option lo[] = {{"pkcs11-module", 1, NULL, 'm'},
	    {"token-label", 1, NULL, 't'}, {"pin-file", 1, NULL, 'p'},
	    {"pin-env", 1, NULL, 'e'}, {"module-env", 1, NULL, 'E'},
	    {NULL, 0, NULL, 0}};
	static char pin_path[PATH_MAX];
	int ch;

	memset(n, 0, sizeof(*n));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'm':
			n->module = optarg;
			break;
		case 't':
			n->token = optarg;
			break;
		case 'p':
			n->pin_file = optarg;
			break;
		case 'e':
			n->pin_env = optarg;
			break;
		case 'E':
			n->module_env = optarg;
			break;
		default:
			return pca_err_set(PCA_EINVAL, "%s", TOKEN_USAGE);
		}
	}
	if (optind != argc || n->module == NULL || n->token == NULL ||
	    (n->pin_file == NULL) == (n->pin_env == NULL) ||
	    strpbrk(n->module, "\n\r") || strpbrk(n->token, "\n\r") ||
	    (n->module_env && strpbrk(n->module_env, "\n\r")) ||
	    (n->pin_env && strpbrk(n->pin_env, "\n\r")))
		return pca_err_set(PCA_EINVAL, "%s", TOKEN_USAGE);
	if (n->pin_file != NULL) {
		if (realpath(n->pin_file, pin_path) == NULL ||
		    strpbrk(pin_path, "\n\r"))
			return pca_err_set(PCA_EIO,
			    "--pin-file %s: cannot "
			    "resolve it",
			    n->pin_file);
		n->pin_file = pin_path;
	}
	n->sessions = 1;
	return PCA_OK;
}

static pca_err
token_migrate(const char *config, int argc, char **argv)
{
	struct appliance ap;
	struct hsm_conf n;
	struct hsm *to = NULL;
	size_t moved = 0, total = 0;
	unsigned sessions;
	pca_err err;

	if ((err = migrate_opts(argc, argv, &n)) != PCA_OK)
		return err;
	if ((err = appliance_open(config, &ap)) != PCA_OK)
		return err;
	if (strcmp(ap.conf.hsm.module, n.module) == 0) {
		/* one process cannot C_Initialize a module twice */
		appliance_close(&ap);
		return pca_err_set(PCA_EINVAL,
		    "the appliance already uses "
		    "module %s: token migrate moves between two modules (to "
		    "another token of the same module, reach one of them "
		    "through p11-kit-client.so; docs/hsm.md)",
		    n.module);
	}
	sessions = ap.conf.hsm.sessions;
	if ((err = hsm_open(&n, &to)) == PCA_OK)
		err = reseal_all(ap.store, ap.hsm, to, &moved, &total);
	hsm_close(to);
	appliance_close(&ap);
	if (err != PCA_OK)
		return err;
	if ((err = conf_rewrite(config, &n, sessions)) != PCA_OK)
		return err;
	printf("%zu access keys now sealed under token %s (%zu re-sealed by "
	       "this run); %s names it, the previous file is %s.pre-migrate\n"
	       "CA keys stay in the old token: see docs/hsm.md before "
	       "retiring it\n",
	    total, n.token, moved, config, config);
	return PCA_OK;
}

int
pcactl_token(const char *config, int argc, char **argv)
{
	pca_err err;

	if (argc >= 1 &&
	    (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		printf("%s\n", TOKEN_USAGE);
		return 0;
	}
	if (argc < 1 || strcmp(argv[0], "migrate") != 0)
		return pcactl_fail(pca_err_set(PCA_EINVAL, "%s", TOKEN_USAGE));
	if ((err = token_migrate(config, argc, argv)) != PCA_OK)
		return pcactl_fail(err);
	return 0;
}
