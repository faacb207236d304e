/*
 * pcactl_init.c - "pcactl init DIR": a token (a SoftHSM2 token of its own
 * with its config and PIN file, or an existing token of any PKCS#11 module
 * with --pkcs11-module/--token-label/--pin-file|--pin-env), pcad.conf, API
 * TLS material (a TLS CA whose key is made in the token, a server
 * certificate for --api-name names), the LMDB store, and an admin access
 * key in DIR/credentials.  --public-url is the base of the CDP, OCSP and
 * AIA caIssuers URLs stamped into certificates.  Refuses to touch an existing
 * appliance; removes what it made if it fails half-way (an adopted token keeps
 * whatever keys were made in it).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../api/api.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "appliance.h"
#include "pcactl.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN_LABEL "openpca"
#define INIT_MAX_NAMES 16
#define INIT_MAX_URL 200

struct init_opts {
	char dir[PATH_MAX];
	long long api_port;
	long long http_port;
	const char *s3_endpoint;
	const char *region;
	const char *account;
	/* an existing token (module NULL: a SoftHSM token of our own) */
	const char *module;
	const char *token;
	char pin_file[PATH_MAX]; /* absolute, or "" */
	const char *pin_env;
	const char *module_env;
	const char *kss;                   /* [hsm] key_storage_standard */
	char public_url[INIT_MAX_URL + 1]; /* no trailing '/' */
	char *names[INIT_MAX_NAMES];       /* --api-name, in order */
	size_t nnames;
	char names_buf[1024];
};

static pca_err
path_join(char *out, const char *dir, const char *name)
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		return pca_err_set(PCA_EINVAL, "%s/%s: path too long", dir,
		    name);
	return PCA_OK;
}

static pca_err
mkdir_mode(const char *dir, const char *name, mode_t mode)
{
	char p[PATH_MAX];
	pca_err err;

	if ((err = path_join(p, dir, name)) != PCA_OK)
		return err;
	if (mkdir(p, mode) != 0)
		return pca_err_set(PCA_EIO, "mkdir %s: %s", p, strerror(errno));
	return PCA_OK;
}

static pca_err
write_text(const char *dir, const char *name, const char *text, mode_t mode)
{
	char p[PATH_MAX];
	pca_err err;

	if ((err = path_join(p, dir, name)) != PCA_OK)
		return err;
	return util_file_write(p, text, strlen(text), mode, 1);
}

static pca_err
random_hex(char *out, size_t nbytes)
{
	uint8_t r[32];

	if (nbytes > sizeof(r) || RAND_bytes(r, (int)nbytes) != 1)
		return pca_err_set(PCA_EINTERNAL, "CSPRNG failure");
	util_hex(r, nbytes, out, 2 * nbytes + 1, 0);
	OPENSSL_cleanse(r, sizeof(r));
	return PCA_OK;
}

/* ---- the SoftHSM token ---- */

static pca_err
init_token(const struct init_opts *o, char *module_env, size_t menv_len)
{
	char conf[PATH_MAX], text[PATH_MAX + 256];
	char so[65], user[65], pinfile[PATH_MAX];
	struct hsm_conf hc = {0};
	pca_err err;

	if (o->module != NULL) { /* an existing token: nothing to make */
		(void)snprintf(module_env, menv_len, "%s",
		    o->module_env ? o->module_env : "");
		return PCA_OK;
	}
	if ((err = mkdir_mode(o->dir, "hsm", 0700)) != PCA_OK ||
	    (err = mkdir_mode(o->dir, "hsm/tokens", 0700)) != PCA_OK ||
	    (err = path_join(conf, o->dir, "hsm/softhsm2.conf")) != PCA_OK)
		return err;
	(void)snprintf(text, sizeof(text),
	    "# SoftHSM2 configuration of this appliance (written by pcactl "
	    "init)\ndirectories.tokendir = %s/hsm/tokens\n"
	    "objectstore.backend = file\nlog.level = ERROR\n"
	    "slots.removable = false\n",
	    o->dir);
	if ((err = util_file_write(conf, text, strlen(text), 0600, 1)) !=
	    PCA_OK)
		return err;
	if ((err = random_hex(so, 16)) != PCA_OK ||
	    (err = random_hex(user, 16)) != PCA_OK)
		return err;
	if ((err = write_text(o->dir, "hsm/so.pin", so, 0600)) != PCA_OK ||
	    (err = write_text(o->dir, "hsm/user.pin", user, 0600)) != PCA_OK)
		goto out;
	(void)snprintf(module_env, menv_len, "SOFTHSM2_CONF=%s", conf);
	hc.module = SOFTHSM_MODULE;
	hc.token = TOKEN_LABEL;
	hc.module_env = module_env;
	if ((err = path_join(pinfile, o->dir, "hsm/user.pin")) != PCA_OK)
		goto out;
	hc.pin_file = pinfile;
	err = hsm_token_init(&hc, so, user);
out:
	OPENSSL_cleanse(so, sizeof(so));
	OPENSSL_cleanse(user, sizeof(user));
	return err;
}

/* ---- configuration and credentials ---- */

static pca_err
init_s3(const struct init_opts *o, struct buf *conf)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID");
	const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tok = getenv("AWS_SESSION_TOKEN");
	struct buf b;
	pca_err err;

	if (o->s3_endpoint == NULL)
		return PCA_OK;
	if (ak == NULL || sk == NULL || !*ak || !*sk)
		return pca_err_set(PCA_EINVAL,
		    "--s3-endpoint needs AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY in the environment");
	buf_init(&b, 8192);
	err = buf_printf(&b,
	    "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
	    ak, sk);
	if (err == PCA_OK && tok != NULL && *tok)
		err = buf_printf(&b, "aws_session_token = %s\n", tok);
	if (err == PCA_OK)
		err = buf_nul(&b);
	if (err == PCA_OK)
		err = write_text(o->dir, "s3.credentials", (char *)b.p, 0600);
	buf_free_secure(&b);
	if (err == PCA_OK)
		err = buf_printf(conf,
		    "\n[s3]\nendpoint = %s\nregion = %s\npath_style = true\n"
		    "credentials_file = s3.credentials\n",
		    o->s3_endpoint, o->region);
	return err;
}

/* [hsm]: our SoftHSM token, or the adopted one as given. */
static pca_err
conf_hsm(const struct init_opts *o, const char *module_env, struct buf *b)
{
	pca_err err;

	if (o->module == NULL)
		return buf_printf(b,
		    "[hsm]\nmodule = %s\ntoken = %s\n"
		    "pin_file = hsm/user.pin\nmodule_env = %s\nsessions = 4\n",
		    SOFTHSM_MODULE, TOKEN_LABEL, module_env);
	err = buf_printf(b, "[hsm]\nmodule = %s\ntoken = %s\n", o->module,
	    o->token);
	if (err == PCA_OK)
		err = o->pin_env
			  ? buf_printf(b, "pin_env = %s\n", o->pin_env)
			  : buf_printf(b, "pin_file = %s\n", o->pin_file);
	if (err == PCA_OK && module_env[0] != '\0')
		err = buf_printf(b, "module_env = %s\n", module_env);
	if (err == PCA_OK)
		err = buf_printf(b, "sessions = 4\n");
	return err;
}

static pca_err
init_conf(const struct init_opts *o, const char *module_env)
{
	char url[INIT_MAX_URL + 32];
	struct buf b;
	pca_err err;

	if (o->public_url[0] != '\0')
		(void)snprintf(url, sizeof(url), "%s", o->public_url);
	else
		(void)snprintf(url, sizeof(url), "http://127.0.0.1:%lld",
		    o->http_port);
	buf_init(&b, 64 * 1024);
	err = buf_printf(&b,
	    "# OpenPCA appliance configuration (written by pcactl init).\n"
	    "# Relative paths are relative to this file's directory.\n\n"
	    "[appliance]\nregion = %s\naccount_id = %s\npartition = aws\n\n",
	    o->region, o->account);
	if (err == PCA_OK)
		err = conf_hsm(o, module_env, &b);
	if (err == PCA_OK && o->kss != NULL)
		err = buf_printf(&b, "key_storage_standard = %s\n", o->kss);
	if (err == PCA_OK)
		err = buf_printf(&b,
		    "\n[store]\npath = data\nmap_size_mb = 64\n"
		    "map_max_mb = 65536\n\n"
		    "[api]\nlisten = 127.0.0.1:%lld\ntls_cert = "
		    "tls/server.pem\n"
		    "tls_key = tls/server.key\n\n"
		    "[http]\nlisten = 127.0.0.1:%lld\n\n"
		    "[ocsp]\nurl = %s\n\n[crl]\nurl_base = %s\n",
		    o->api_port, o->http_port, url, url);
	if (err == PCA_OK)
		err = init_s3(o, &b);
	if (err == PCA_OK)
		err = buf_nul(&b);
	if (err == PCA_OK)
		err = write_text(o->dir, "pcad.conf", (char *)b.p, 0600);
	buf_free(&b);
	return err;
}

static pca_err
write_credentials(const struct init_opts *o, const char *akid, char *secret)
{
	char text[PATH_MAX + 512];
	pca_err err;

	(void)snprintf(text, sizeof(text),
	    "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
	    "region = %s\n",
	    akid, secret, o->region);
	OPENSSL_cleanse(secret, 41);
	err = write_text(o->dir, "credentials", text, 0600);
	OPENSSL_cleanse(text, sizeof(text));
	if (err != PCA_OK)
		return err;
	(void)snprintf(text, sizeof(text),
	    "[default]\nregion = %s\nca_bundle = %s/tls/ca.pem\n"
	    "endpoint_url = https://%s:%lld\n",
	    o->region, o->dir, o->nnames ? o->names[0] : "127.0.0.1",
	    o->api_port);
	return write_text(o->dir, "aws-config", text, 0644);
}

/* With the token open: the API TLS material and the admin access key. */
static pca_err
init_appliance(const struct init_opts *o)
{
	struct appliance ap;
	struct seal_ops seal;
	char conf[PATH_MAX], akid[21], secret[41];
	pca_err err;

	/* logged in at once: a bad PIN or token fails here, in one line */
	if ((err = path_join(conf, o->dir, "pcad.conf")) != PCA_OK ||
	    (err = appliance_open_hsm(conf, NULL, &ap)) != PCA_OK)
		return err;
	hsm_seal_ops(ap.hsm, &seal);
	if ((err = pcactl_tls_init(o->dir, o->names, o->nnames, ap.hsm)) ==
	    PCA_OK)
		err = api_key_create(ap.store, &seal, o->account, "admin", akid,
		    secret);
	appliance_close(&ap);
	if (err != PCA_OK)
		return err;
	return write_credentials(o, akid, secret);
}

/* ---- driver ---- */

static int keep_top; /* the directory existed (empty) before init */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	if (f->level == 0 && keep_top)
		return 0;
	return remove(path);
}

static int
dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (d == NULL)
		return 0;
	while (empty && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

#define INIT_USAGE                                                             \
	"usage: pcactl init DIR [--api-port N] [--http-port N] "               \
	"[--s3-endpoint URL] [--region R] [--account-id ID] "                  \
	"[--public-url URL] [--api-name HOST[,HOST...]] "                      \
	"[--pkcs11-module PATH|NAME --token-label L|URI "                      \
	"(--pin-file F | --pin-env VAR) [--module-env NAME=VALUE]] "           \
	"[--key-storage-standard STD]"

/* Written into pcad.conf as is: one line, printable. */
static pca_err
opt_text(const char *opt, const char *v, size_t max)
{
	const unsigned char *p;

	if (v == NULL)
		return PCA_OK;
	if (*v == '\0' || strlen(v) > max)
		return pca_err_set(PCA_EINVAL,
		    "--%s must be 1 to %zu "
		    "characters",
		    opt, max);
	for (p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return pca_err_set(PCA_EINVAL,
			    "--%s: control "
			    "characters are not allowed",
			    opt);
	return PCA_OK;
}

/* http(s)://host[:port][/path], no query, no fragment; '/' trimmed. */
static pca_err
opt_public_url(const char *v, struct init_opts *o)
{
	const char *host;
	size_t n;

	if (v == NULL)
		return PCA_OK;
	host = strncmp(v, "https://", 8) == 0  ? v + 8
	       : strncmp(v, "http://", 7) == 0 ? v + 7
					       : NULL;
	n = strlen(v);
	if (host == NULL || *host == '\0' || *host == '/' || n > INIT_MAX_URL ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/[]%") != n)
		return pca_err_set(PCA_EINVAL,
		    "--public-url must be an "
		    "http:// or https:// URL (host, optional port and path; "
		    "no query, fragment or spaces; at most %d characters)",
		    INIT_MAX_URL);
	while (n > 0 && v[n - 1] == '/')
		n--;
	(void)snprintf(o->public_url, sizeof(o->public_url), "%.*s", (int)n, v);
	return PCA_OK;
}

/* A DNS name (LDH labels) or an IPv4/IPv6 address. */
static int
api_name_ok(const char *s)
{
	uint8_t a[16];
	size_t n = strlen(s), lab = 0, i;

	if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
		return 1;
	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (lab == 0 || s[i - 1] == '-')
				return 0;
			lab = 0;
		} else if ((s[i] >= 'a' && s[i] <= 'z') ||
			   (s[i] >= 'A' && s[i] <= 'Z') ||
			   (s[i] >= '0' && s[i] <= '9') ||
			   (s[i] == '-' && lab > 0)) {
			if (++lab > 63)
				return 0;
		} else
			return 0;
	}
	return s[n - 1] != '-';
}

static pca_err
opt_api_names(const char *v, struct init_opts *o)
{
	char *p, *comma;

	if (v == NULL)
		return PCA_OK;
	if (strlen(v) >= sizeof(o->names_buf))
		return pca_err_set(PCA_ETOOBIG, "--api-name is too long");
	(void)snprintf(o->names_buf, sizeof(o->names_buf), "%s", v);
	for (p = o->names_buf; p != NULL; p = comma) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		if (!api_name_ok(p))
			return pca_err_set(PCA_EINVAL,
			    "--api-name: '%s' is "
			    "neither a DNS name nor an IP address",
			    p);
		if (o->nnames == INIT_MAX_NAMES)
			return pca_err_set(PCA_ETOOBIG,
			    "--api-name: at most "
			    "%d names",
			    INIT_MAX_NAMES);
		o->names[o->nnames++] = p;
	}
	return PCA_OK;
}

/* --pkcs11-module and what goes with it. */
static pca_err
opt_token(const char *pin_file, struct init_opts *o)
{
	pca_err err;

	if (o->module == NULL) {
		if (o->token || pin_file || o->pin_env || o->module_env)
			return pca_err_set(PCA_EINVAL,
			    "--token-label, "
			    "--pin-file, --pin-env and --module-env need "
			    "--pkcs11-module");
		return PCA_OK;
	}
	if (o->token == NULL)
		return pca_err_set(PCA_EINVAL,
		    "--pkcs11-module needs --token-label");
	if ((pin_file == NULL) == (o->pin_env == NULL))
		return pca_err_set(PCA_EINVAL, "--pkcs11-module needs one of "
					       "--pin-file or --pin-env");
	if ((err = opt_text("pkcs11-module", o->module, 1024)) != PCA_OK ||
	    (err = opt_text("token-label", o->token, 1024)) != PCA_OK ||
	    (err = opt_text("pin-env", o->pin_env, 128)) != PCA_OK ||
	    (err = opt_text("module-env", o->module_env, 1024)) != PCA_OK)
		return err;
	if (o->module_env != NULL && strchr(o->module_env, '=') == NULL)
		return pca_err_set(PCA_EINVAL,
		    "--module-env must be NAME=VALUE");
	if (o->pin_env != NULL && getenv(o->pin_env) == NULL)
		return pca_err_set(PCA_EINVAL,
		    "--pin-env %s: the variable is "
		    "not set",
		    o->pin_env);
	if (pin_file != NULL && realpath(pin_file, o->pin_file) == NULL)
		return pca_err_set(PCA_EIO, "--pin-file %s: %s", pin_file,
		    strerror(errno));
	return opt_text("pin-file", o->pin_file[0] ? o->pin_file : NULL,
	    PATH_MAX - 1);
}

static pca_err
opt_kss(const char *v)
{
	if (v == NULL || strcmp(v, "FIPS_140_2_LEVEL_3_OR_HIGHER") == 0 ||
	    strcmp(v, "FIPS_140_2_LEVEL_2_OR_HIGHER") == 0 ||
	    strcmp(v, "CCPC_LEVEL_1_OR_HIGHER") == 0)
		return PCA_OK;
	return pca_err_set(PCA_EINVAL,
	    "--key-storage-standard must be "
	    "FIPS_140_2_LEVEL_3_OR_HIGHER, FIPS_140_2_LEVEL_2_OR_HIGHER or "
	    "CCPC_LEVEL_1_OR_HIGHER");
}

/* The target directory: made, or existing and empty. */
static pca_err
init_dir(const char *arg, struct init_opts *o)
{
	if (realpath(arg, o->dir) == NULL) {
		if (errno != ENOENT)
			return pca_err_set(PCA_EIO, "%s: %s", arg,
			    strerror(errno));
		if (mkdir(arg, 0700) != 0 || realpath(arg, o->dir) == NULL)
			return pca_err_set(PCA_EIO, "mkdir %s: %s", arg,
			    strerror(errno));
		return PCA_OK;
	}
	if (dir_is_empty(o->dir)) {
		keep_top = 1;
		return PCA_OK;
	}
	return pca_err_set(PCA_EEXISTS,
	    "%s already exists and is not empty: refusing to overwrite it",
	    arg);
}

static const struct option init_lo[] = {{"api-port", 1, NULL, 'a'},
    {"http-port", 1, NULL, 'h'}, {"s3-endpoint", 1, NULL, 's'},
    {"region", 1, NULL, 'r'}, {"account-id", 1, NULL, 'i'},
    {"public-url", 1, NULL, 'u'}, {"api-name", 1, NULL, 'n'},
    {"pkcs11-module", 1, NULL, 'm'}, {"token-label", 1, NULL, 't'},
    {"pin-file", 1, NULL, 'p'}, {"pin-env", 1, NULL, 'e'},
    {"module-env", 1, NULL, 'E'}, {"key-storage-standard", 1, NULL, 'k'},
    {"help", 0, NULL, 'H'}, {NULL, 0, NULL, 0}};

/* 1: --help was asked for. */
static pca_err
init_opts_parse(int argc, char **argv, struct init_opts *o, int *help)
{
	const char *url = NULL, *names = NULL, *pin_file = NULL;
	int ch;
	pca_err err = PCA_OK;

	o->api_port = 8443;
	o->http_port = 8080;
	o->region = "us-east-1";
	o->account = "123456789012";
	optind = 1;
	while (err == PCA_OK &&
	       (ch = getopt_long(argc, argv, "", init_lo, NULL)) != -1) {
		switch (ch) {
		case 'a':
			err = util_strtonum(optarg, 1, 65535, &o->api_port);
			break;
		case 'h':
			err = util_strtonum(optarg, 1, 65535, &o->http_port);
			break;
		case 's':
			o->s3_endpoint = optarg;
			break;
		case 'r':
			o->region = optarg;
			break;
		case 'i':
			o->account = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'n':
			names = optarg;
			break;
		case 'm':
			o->module = optarg;
			break;
		case 't':
			o->token = optarg;
			break;
		case 'p':
			pin_file = optarg;
			break;
		case 'e':
			o->pin_env = optarg;
			break;
		case 'E':
			o->module_env = optarg;
			break;
		case 'k':
			o->kss = optarg;
			break;
		case 'H':
			*help = 1;
			return PCA_OK;
		default:
			err = pca_err_set(PCA_EINVAL, "%s", INIT_USAGE);
		}
	}
	if (err != PCA_OK)
		return err;
	if (optind != argc - 1)
		return pca_err_set(PCA_EINVAL, "%s", INIT_USAGE);
	if (strlen(o->account) != 12 || strspn(o->account, "0123456789") != 12)
		return pca_err_set(PCA_EINVAL,
		    "--account-id must be 12 digits");
	if (o->api_port == o->http_port)
		return pca_err_set(PCA_EINVAL,
		    "--api-port and --http-port must differ");
	if ((err = opt_public_url(url, o)) != PCA_OK ||
	    (err = opt_api_names(names, o)) != PCA_OK ||
	    (err = opt_token(pin_file, o)) != PCA_OK ||
	    (err = opt_kss(o->kss)) != PCA_OK)
		return err;
	return init_dir(argv[optind], o);
}

int
pcactl_init(int argc, char **argv)
{
	struct init_opts o;
	char module_env[PATH_MAX + 32];
	int help = 0;
	pca_err err;

	memset(&o, 0, sizeof(o));
	if ((err = init_opts_parse(argc, argv, &o, &help)) != PCA_OK)
		return pcactl_fail(err);
	if (help) {
		printf("%s\n", INIT_USAGE);
		return 0;
	}
	if ((err = init_token(&o, module_env, sizeof(module_env))) != PCA_OK ||
	    (err = mkdir_mode(o.dir, "data", 0700)) != PCA_OK ||
	    (err = init_conf(&o, module_env)) != PCA_OK ||
	    (err = init_appliance(&o)) != PCA_OK) {
		char msg[512];
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		(void)nftw(o.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		return pcactl_fail(pca_err_set(err, "init failed: %s", msg));
	}
	printf("appliance ready in %s\n"
	       "  config:      %s/pcad.conf\n"
	       "  credentials: %s/credentials (profile default)\n"
	       "  TLS bundle:  %s/tls/ca.pem\n"
	       "start it with: pcad --config %s/pcad.conf\n",
	    o.dir, o.dir, o.dir, o.dir, o.dir);
	return 0;
}
