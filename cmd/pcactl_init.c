/*
 * pcactl_init.c - "pcactl init DIR": a SoftHSM2 token with its own config
 * and PIN file, pcad.conf, API TLS material, the LMDB store, and an admin
 * access key in DIR/credentials.  Refuses to touch an existing appliance;
 * removes what it made if it fails half-way.
 */
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

struct init_opts {
	char dir[PATH_MAX];
	long long api_port;
	long long http_port;
	const char *s3_endpoint;
	const char *region;
	const char *account;
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

/* ---- API TLS material ---- */

static pca_err
tls_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer, int ca, X509 **out)
{
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	ASN1_INTEGER *sn = NULL;
	uint8_t serial[16];
	static const char *const ca_exts[][2] = {
	    {"basicConstraints", "critical,CA:TRUE,pathlen:0"},
	    {"keyUsage", "critical,keyCertSign,cRLSign"},
	    {"subjectKeyIdentifier", "hash"}, {NULL, NULL}};
	static const char *const leaf_exts[][2] = {
	    {"basicConstraints", "critical,CA:FALSE"},
	    {"keyUsage", "critical,digitalSignature"},
	    {"extendedKeyUsage", "serverAuth"},
	    {"subjectAltName", "DNS:localhost,IP:127.0.0.1,IP:::1"},
	    {"subjectKeyIdentifier", "hash"},
	    {"authorityKeyIdentifier", "keyid"}, {NULL, NULL}};
	const char *const(*exts)[2] = ca ? ca_exts : leaf_exts;
	X509_NAME *name;
	int i, ok = 0;

	name = X509_get_subject_name(x);
	ok = x != NULL && RAND_bytes(serial, sizeof(serial)) == 1;
	serial[0] = (serial[0] & 0x7f) | 0x01;
	ok = ok && (sn = ASN1_INTEGER_new()) != NULL &&
	    ASN1_STRING_set(sn, serial, sizeof(serial)) &&
	    X509_set_serialNumber(x, sn) && X509_set_version(x, 2) &&
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
		(const unsigned char *)"OpenPCA appliance", -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
		(const unsigned char *)(ca ? "OpenPCA API TLS CA" :
					     "localhost"), -1, -1, 0) &&
	    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
					      name) &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	    X509_gmtime_adj(X509_getm_notAfter(x),
		(long)(ca ? 3650 : 825) * 86400) &&
	    X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	for (i = 0; ok && exts[i][0] != NULL; i++) {
		ext = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
		ok = ext != NULL && X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	ok = ok && X509_sign(x, signer, EVP_sha256()) > 0;
	ASN1_INTEGER_free(sn);
	if (!ok) {
		X509_free(x);
		pca_err_set(PCA_EINTERNAL, "cannot build the API TLS "
		    "certificate");
		pca_err_add_openssl();
		return PCA_EINTERNAL;
	}
	*out = x;
	return PCA_OK;
}

static pca_err
write_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k,
    mode_t mode)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	char p[PATH_MAX];
	pca_err err;

	if (b == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if (x != NULL ? !PEM_write_bio_X509(b, x) :
			!PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
			    NULL)) {
		BIO_free(b);
		return pca_err_set(PCA_EINTERNAL, "PEM encoding failed");
	}
	n = BIO_get_mem_data(b, &data);
	if ((err = path_join(p, dir, name)) == PCA_OK)
		err = util_file_write(p, data, (size_t)n, mode, 1);
	if (k != NULL)
		OPENSSL_cleanse(data, (size_t)n);
	BIO_free(b);
	return err;
}

static pca_err
init_tls(const struct init_opts *o)
{
	EVP_PKEY *cakey = NULL, *key = NULL;
	X509 *ca = NULL, *leaf = NULL;
	char tls[PATH_MAX];
	pca_err err;

	if ((err = mkdir_mode(o->dir, "tls", 0755)) != PCA_OK ||
	    (err = path_join(tls, o->dir, "tls")) != PCA_OK)
		return err;
	cakey = EVP_EC_gen("P-256");
	key = EVP_EC_gen("P-256");
	if (cakey == NULL || key == NULL) {
		err = pca_err_set(PCA_EINTERNAL, "EC key generation failed");
		goto out;
	}
	if ((err = tls_cert(cakey, cakey, NULL, 1, &ca)) != PCA_OK ||
	    (err = tls_cert(key, cakey, ca, 0, &leaf)) != PCA_OK ||
	    (err = write_pem(tls, "ca.pem", ca, NULL, 0644)) != PCA_OK ||
	    (err = write_pem(tls, "server.pem", leaf, NULL, 0644)) != PCA_OK ||
	    (err = write_pem(tls, "server.key", NULL, key, 0600)) != PCA_OK)
		goto out;
	/* the TLS CA key is not kept: a new one is made to re-issue */
out:
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(key);
	X509_free(ca);
	X509_free(leaf);
	return err;
}

pca_err
pcactl_init_tls(const char *dir)
{
	struct init_opts o;

	memset(&o, 0, sizeof(o));
	if (snprintf(o.dir, sizeof(o.dir), "%s", dir) >= (int)sizeof(o.dir))
		return pca_err_set(PCA_EINVAL, "%s: path too long", dir);
	return init_tls(&o);
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

static pca_err
init_conf(const struct init_opts *o, const char *module_env)
{
	struct buf b;
	pca_err err;

	buf_init(&b, 64 * 1024);
	err = buf_printf(&b,
	    "# OpenPCA appliance configuration (written by pcactl init).\n"
	    "# Relative paths are relative to this file's directory.\n\n"
	    "[appliance]\nregion = %s\naccount_id = %s\npartition = aws\n\n"
	    "[hsm]\nmodule = %s\ntoken = %s\npin_file = hsm/user.pin\n"
	    "module_env = %s\nsessions = 4\n\n"
	    "[store]\npath = data\nmap_size_mb = 64\nmap_max_mb = 65536\n\n"
	    "[api]\nlisten = 127.0.0.1:%lld\ntls_cert = tls/server.pem\n"
	    "tls_key = tls/server.key\n\n"
	    "[http]\nlisten = 127.0.0.1:%lld\n\n"
	    "[ocsp]\nurl = http://127.0.0.1:%lld\n\n"
	    "[crl]\nurl_base = http://127.0.0.1:%lld\n",
	    o->region, o->account, SOFTHSM_MODULE, TOKEN_LABEL, module_env,
	    o->api_port, o->http_port, o->http_port, o->http_port);
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
init_credentials(const struct init_opts *o)
{
	struct appliance ap;
	char conf[PATH_MAX], akid[21], secret[41], text[PATH_MAX + 512];
	pca_err err;

	if ((err = path_join(conf, o->dir, "pcad.conf")) != PCA_OK ||
	    (err = appliance_open(conf, &ap)) != PCA_OK)
		return err;
	err = api_key_create(ap.store, ap.hsm, o->account, "admin", akid,
	    secret);
	appliance_close(&ap);
	if (err != PCA_OK)
		return err;
	(void)snprintf(text, sizeof(text),
	    "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
	    "region = %s\n",
	    akid, secret, o->region);
	OPENSSL_cleanse(secret, sizeof(secret));
	err = write_text(o->dir, "credentials", text, 0600);
	OPENSSL_cleanse(text, sizeof(text));
	if (err != PCA_OK)
		return err;
	(void)snprintf(text, sizeof(text),
	    "[default]\nregion = %s\nca_bundle = %s/tls/ca.pem\n"
	    "endpoint_url = https://127.0.0.1:%lld\n",
	    o->region, o->dir, o->api_port);
	return write_text(o->dir, "aws-config", text, 0644);
}

/* ---- driver ---- */

static int keep_top;	/* the directory existed (empty) before init */

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

static pca_err
init_opts_parse(int argc, char **argv, struct init_opts *o)
{
	static const struct option lo[] = {{"api-port", 1, NULL, 'a'},
	    {"http-port", 1, NULL, 'h'}, {"s3-endpoint", 1, NULL, 's'},
	    {"region", 1, NULL, 'r'}, {"account-id", 1, NULL, 'i'},
	    {NULL, 0, NULL, 0}};
	int ch;
	pca_err err = PCA_OK;

	o->api_port = 8443;
	o->http_port = 8080;
	o->region = "us-east-1";
	o->account = "123456789012";
	optind = 1;
	while (err == PCA_OK &&
	    (ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'a')
			err = util_strtonum(optarg, 1, 65535, &o->api_port);
		else if (ch == 'h')
			err = util_strtonum(optarg, 1, 65535, &o->http_port);
		else if (ch == 's')
			o->s3_endpoint = optarg;
		else if (ch == 'r')
			o->region = optarg;
		else if (ch == 'i')
			o->account = optarg;
		else
			err = pca_err_set(PCA_EINVAL,
			    "usage: pcactl init DIR [--api-port N] "
			    "[--http-port N] [--s3-endpoint URL] [--region R] "
			    "[--account-id ID]");
	}
	if (err != PCA_OK)
		return err;
	if (optind != argc - 1)
		return pca_err_set(PCA_EINVAL, "usage: pcactl init DIR [options]");
	if (strlen(o->account) != 12 || strspn(o->account, "0123456789") != 12)
		return pca_err_set(PCA_EINVAL, "--account-id must be 12 digits");
	if (o->api_port == o->http_port)
		return pca_err_set(PCA_EINVAL,
		    "--api-port and --http-port must differ");
	if (realpath(argv[optind], o->dir) == NULL) {
		if (errno != ENOENT)
			return pca_err_set(PCA_EIO, "%s: %s", argv[optind],
			    strerror(errno));
		if (mkdir(argv[optind], 0700) != 0 ||
		    realpath(argv[optind], o->dir) == NULL)
			return pca_err_set(PCA_EIO, "mkdir %s: %s",
			    argv[optind], strerror(errno));
		return PCA_OK;
	}
	if (dir_is_empty(o->dir)) {
		keep_top = 1;
		return PCA_OK;
	}
	return pca_err_set(PCA_EEXISTS,
	    "%s already exists and is not empty: refusing to overwrite it",
	    argv[optind]);
}

int
pcactl_init(int argc, char **argv)
{
	struct init_opts o;
	char module_env[PATH_MAX + 32], data[PATH_MAX];
	pca_err err;

	memset(&o, 0, sizeof(o));
	if ((err = init_opts_parse(argc, argv, &o)) != PCA_OK)
		return pcactl_fail(err);
	if ((err = init_token(&o, module_env, sizeof(module_env))) != PCA_OK ||
	    (err = init_tls(&o)) != PCA_OK ||
	    (err = path_join(data, o.dir, "data")) != PCA_OK ||
	    (err = mkdir_mode(o.dir, "data", 0700)) != PCA_OK ||
	    (err = init_conf(&o, module_env)) != PCA_OK ||
	    (err = init_credentials(&o)) != PCA_OK) {
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
