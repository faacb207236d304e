/*
 * pcactl_tls.c - the API TLS material.  "pcactl init" makes a TLS CA whose
 * key is generated in the token (P-256, or RSA-2048 on a token without EC;
 * its label in tls/ca.label) and a server certificate for the API names
 * with a software key (libmicrohttpd serves it).  "pcactl tls renew"
 * issues a new server certificate (new key, same names) from that CA,
 * with --if-due only once 2/3 of the current one's life has passed; a
 * running pcad picks it up on SIGHUP (conf/pcad-tls-renew.timer does both).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "../common/util.h"
#include "appliance.h"
#include "pcactl.h"

#define TLS_CA_DAYS 3650
#define TLS_LEAF_DAYS 397

struct tls_signer {
	struct hsm *hsm;
	struct hsm_key key; /* the TLS CA key in the token */
	int rsa;            /* RSA-2048 (the token has no EC), else P-256 */
};

/* Bytes a DER length takes (lengths up to 0xffff). */
static size_t
der_len_size(size_t n)
{
	return n < 0x80 ? 1 : n < 0x100 ? 2 : 3;
}

/* Appends a DER length. */
static void
der_len(uint8_t *out, size_t *o, size_t n)
{
	if (n < 0x80)
		out[(*o)++] = (uint8_t)n;
	else if (n < 0x100) {
		out[(*o)++] = 0x81;
		out[(*o)++] = (uint8_t)n;
	} else {
		out[(*o)++] = 0x82;
		out[(*o)++] = (uint8_t)(n >> 8);
		out[(*o)++] = (uint8_t)n;
	}
}

/* Certificate ::= SEQUENCE { tbs, signatureAlgorithm, BIT STRING sig }. */
static pca_err
der_cert(const uint8_t *tbs, size_t tbs_len, const X509_ALGOR *alg,
    const uint8_t *sig, size_t sig_len, X509 **out)
{
	uint8_t *algd = NULL, *der = NULL;
	const uint8_t *p;
	size_t body, o = 0;
	int alg_len;
	pca_err err = PCA_OK;

	if ((alg_len = i2d_X509_ALGOR(alg, &algd)) <= 0)
		return pca_err_set(PCA_EINTERNAL, "cannot encode an algorithm");
	body = tbs_len + (size_t)alg_len + 1 + der_len_size(sig_len + 1) + 1 +
	       sig_len;
	if (body > 0xffff || (der = malloc(body + 4)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "cannot assemble a certificate");
		goto out;
	}
	der[o++] = 0x30;
	der_len(der, &o, body);
	memcpy(der + o, tbs, tbs_len);
	o += tbs_len;
	memcpy(der + o, algd, (size_t)alg_len);
	o += (size_t)alg_len;
	der[o++] = 0x03;
	der_len(der, &o, sig_len + 1);
	der[o++] = 0x00;
	memcpy(der + o, sig, sig_len);
	o += sig_len;
	p = der;
	if ((*out = d2i_X509(NULL, &p, (long)o)) == NULL || p != der + o) {
		X509_free(*out);
		*out = NULL;
		err = pca_err_set(PCA_EINTERNAL,
		    "the assembled certificate does not parse");
	}
out:
	OPENSSL_free(algd);
	free(der);
	return err;
}

/*
 * Signs x in the token: a throwaway key of the token key's type fills in
 * both signature algorithm fields, then the TBS bytes are signed by the
 * token key and the certificate is assembled around them.
 */
static pca_err
tls_sign(X509 *x, const struct tls_signer *ts, X509 **out)
{
	EVP_PKEY *tmp = ts->rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	const X509_ALGOR *alg = NULL;
	uint8_t *tbs = NULL, sig[LIM_SIG];
	size_t sig_len = 0;
	int tbs_len;
	pca_err err;

	if (tmp == NULL || X509_sign(x, tmp, EVP_sha256()) <= 0 ||
	    (tbs_len = i2d_re_X509_tbs(x, &tbs)) <= 0) {
		EVP_PKEY_free(tmp);
		pca_err_add_openssl();
		return pca_err_set(PCA_EINTERNAL, "cannot encode a TBS");
	}
	X509_get0_signature(NULL, &alg, x);
	err = hsm_sign(ts->hsm, &ts->key,
	    ts->rsa ? PCA_SIG_SHA256_RSA : PCA_SIG_SHA256_ECDSA, tbs,
	    (size_t)tbs_len, sig, &sig_len);
	if (err == PCA_OK)
		err = der_cert(tbs, (size_t)tbs_len, alg, sig, sig_len, out);
	OPENSSL_free(tbs);
	EVP_PKEY_free(tmp);
	return err;
}

/* "DNS:localhost,IP:127.0.0.1,IP:::1" and the --api-name names. */
static pca_err
tls_sans(char *const *names, size_t nnames, char *out, size_t len)
{
	uint8_t a[16];
	size_t i, n;

	n = (size_t)snprintf(out, len, "DNS:localhost,IP:127.0.0.1,IP:::1");
	for (i = 0; i < nnames && n < len; i++) {
		if (strcmp(names[i], "localhost") == 0 ||
		    strcmp(names[i], "127.0.0.1") == 0 ||
		    strcmp(names[i], "::1") == 0)
			continue;
		n += (size_t)snprintf(out + n, len - n, ",%s:%s",
		    inet_pton(AF_INET, names[i], a) == 1 ||
			    inet_pton(AF_INET6, names[i], a) == 1
			? "IP"
			: "DNS",
		    names[i]);
	}
	if (n >= len)
		return pca_err_set(PCA_ETOOBIG, "--api-name: too many names");
	return PCA_OK;
}

static pca_err
tls_fields(X509 *x, const char *cn, X509 *issuer, EVP_PKEY *key, int days)
{
	X509_NAME *name = X509_get_subject_name(x);
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	uint8_t serial[16];
	int ok;

	ok = sn != NULL && RAND_bytes(serial, sizeof(serial)) == 1;
	serial[0] = (serial[0] & 0x7f) | 0x01;
	ok = ok && ASN1_STRING_set(sn, serial, sizeof(serial)) &&
	     X509_set_serialNumber(x, sn) && X509_set_version(x, 2) &&
	     X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
		 (const unsigned char *)"OpenPCA appliance", -1, -1, 0) &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
		 (const unsigned char *)cn, -1, -1, 0) &&
	     X509_set_issuer_name(x,
		 issuer ? X509_get_subject_name(issuer) : name) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) &&
	     X509_set_pubkey(x, key);
	ASN1_INTEGER_free(sn);
	return ok ? PCA_OK
		  : pca_err_set(PCA_EINTERNAL, "cannot fill in a "
					       "certificate");
}

static pca_err
tls_exts(X509 *x, X509 *issuer, const char *const (*exts)[2])
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int i, ok = 1;

	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	for (i = 0; ok && exts[i][0] != NULL; i++) {
		ext = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
		ok = ext != NULL && X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (!ok) {
		pca_err_add_openssl();
		return pca_err_set(PCA_EINTERNAL, "cannot add an extension");
	}
	return PCA_OK;
}

/*
 * The TLS CA (issuer NULL, key the token's) or a server certificate for
 * cn and sans (an X509V3 subjectAltName value).
 */
static pca_err
tls_cert(const char *cn, const char *sans, EVP_PKEY *key,
    const struct tls_signer *ts, X509 *issuer, X509 **out)
{
	static const char *const ca_exts[][2] = {
	    {"basicConstraints", "critical,CA:TRUE,pathlen:0"},
	    {"keyUsage", "critical,keyCertSign,cRLSign"},
	    {"subjectKeyIdentifier", "hash"}, {NULL, NULL}};
	const char *leaf_exts[][2] = {{"basicConstraints", "critical,CA:FALSE"},
	    {"keyUsage", "critical,digitalSignature"},
	    {"extendedKeyUsage", "serverAuth"}, {"subjectAltName", NULL},
	    {"subjectKeyIdentifier", "hash"},
	    {"authorityKeyIdentifier", "keyid"}, {NULL, NULL}};
	X509 *x = X509_new();
	pca_err err;

	if (x == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	leaf_exts[3][1] = sans;
	err = tls_fields(x, issuer ? cn : "OpenPCA API TLS CA", issuer, key,
	    issuer ? TLS_LEAF_DAYS : TLS_CA_DAYS);
	if (err == PCA_OK)
		err = tls_exts(x, issuer,
		    issuer ? (const char *const(*)[2])leaf_exts : ca_exts);
	if (err == PCA_OK)
		err = tls_sign(x, ts, out);
	X509_free(x);
	return err;
}

/* dir/tls/name */
static pca_err
tls_path(const char *dir, const char *name, char out[PATH_MAX])
{
	if (snprintf(out, PATH_MAX, "%s/tls/%s", dir, name) >= PATH_MAX)
		return pca_err_set(PCA_EINVAL, "%s/tls/%s: path too long", dir,
		    name);
	return PCA_OK;
}

/* A file of PEM; excl: refuse to replace an existing file. */
static pca_err
write_pem(const char *p, X509 *x, EVP_PKEY *k, mode_t mode, int excl)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	pca_err err;

	if (b == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if (x != NULL
		? !PEM_write_bio_X509(b, x)
		: !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(b);
		return pca_err_set(PCA_EINTERNAL, "PEM encoding failed");
	}
	n = BIO_get_mem_data(b, &data);
	err = util_file_write(p, data, (size_t)n, mode, excl);
	if (k != NULL)
		OPENSSL_cleanse(data, (size_t)n);
	BIO_free(b);
	return err;
}

/*
 * The TLS CA key pair, made in the token (P-256, or RSA-2048 when the
 * token cannot make EC keys); its public key as EVP_PKEY.
 */
static pca_err
tls_ca_key(struct hsm *hsm, char *label, size_t label_len,
    struct tls_signer *ts, uint8_t **spki, EVP_PKEY **pub)
{
	uint8_t id[8];
	char hex[17];
	const uint8_t *p;
	size_t spki_len = 0;
	pca_err err;

	if (RAND_bytes(id, sizeof(id)) != 1)
		return pca_err_set(PCA_EINTERNAL, "CSPRNG failure");
	util_hex(id, sizeof(id), hex, sizeof(hex), 0);
	(void)snprintf(label, label_len, "pca-tls-ca-%s", hex);
	ts->rsa = 0;
	if (hsm_key_generate(hsm, label, id, sizeof(id), PCA_KEY_EC_P256, spki,
		&spki_len) != PCA_OK) {
		log_info("the token made no P-256 key (%s); the TLS CA key "
			 "is RSA-2048",
		    pca_err_msg());
		pca_err_clear();
		ts->rsa = 1;
		if ((err = hsm_key_generate(hsm, label, id, sizeof(id),
			 PCA_KEY_RSA_2048, spki, &spki_len)) != PCA_OK)
			return err;
	}
	p = *spki;
	if ((*pub = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL)
		return pca_err_set(PCA_EINTERNAL, "the token's public key "
						  "does not parse");
	ts->hsm = hsm;
	ts->key.label = label;
	ts->key.spki = *spki;
	ts->key.spki_len = spki_len;
	return PCA_OK;
}

pca_err
pcactl_tls_init(const char *dir, char *const *names, size_t nnames,
    struct hsm *hsm)
{
	EVP_PKEY *capub = NULL, *key = NULL;
	X509 *ca = NULL, *leaf = NULL;
	struct tls_signer ts;
	char tls[PATH_MAX], p[PATH_MAX], label[64] = "", text[128];
	char sans[2048];
	uint8_t *spki = NULL;
	pca_err err;

	if (snprintf(tls, sizeof(tls), "%s/tls", dir) >= (int)sizeof(tls))
		return pca_err_set(PCA_EINVAL, "%s: path too long", dir);
	if (mkdir(tls, 0755) != 0)
		return pca_err_set(PCA_EIO, "mkdir %s: %s", tls,
		    strerror(errno));
	if ((err = tls_sans(names, nnames, sans, sizeof(sans))) != PCA_OK)
		return err;
	if ((key = EVP_EC_gen("P-256")) == NULL) {
		err = pca_err_set(PCA_EINTERNAL, "EC key generation failed");
		goto out;
	}
	if ((err = tls_ca_key(hsm, label, sizeof(label), &ts, &spki, &capub)) !=
		PCA_OK ||
	    (err = tls_cert(NULL, NULL, capub, &ts, NULL, &ca)) != PCA_OK ||
	    (err = tls_cert(nnames ? names[0] : "localhost", sans, key, &ts, ca,
		 &leaf)) != PCA_OK ||
	    (err = tls_path(dir, "ca.pem", p)) != PCA_OK ||
	    (err = write_pem(p, ca, NULL, 0644, 1)) != PCA_OK ||
	    (err = tls_path(dir, "server.pem", p)) != PCA_OK ||
	    (err = write_pem(p, leaf, NULL, 0644, 1)) != PCA_OK ||
	    (err = tls_path(dir, "server.key", p)) != PCA_OK ||
	    (err = write_pem(p, NULL, key, 0600, 1)) != PCA_OK ||
	    (err = tls_path(dir, "ca.label", p)) != PCA_OK)
		goto out;
	(void)snprintf(text, sizeof(text), "%s\n", label);
	err = util_file_write(p, text, strlen(text), 0644, 1);
out:
	if (err != PCA_OK && label[0] != '\0') {
		char msg[512];
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		if (hsm_key_destroy(hsm, label) != PCA_OK)
			log_warnx("could not destroy the TLS CA key %s", label);
		err = pca_err_set(err, "%s", msg);
	}
	free(spki);
	EVP_PKEY_free(capub);
	EVP_PKEY_free(key);
	X509_free(ca);
	X509_free(leaf);
	return err;
}

/* ---- pcactl tls renew ---- */

#define TLS_USAGE "usage: pcactl [--config FILE] tls renew [--if-due | --force]"

/* The first certificate of a PEM file. */
static pca_err
read_x509(const char *path, X509 **out)
{
	BIO *b = BIO_new_file(path, "r");

	*out = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (*out == NULL) {
		ERR_clear_error(); /* reported below, by path */
		return pca_err_set(PCA_EPARSE, "%s: no PEM certificate", path);
	}
	return PCA_OK;
}

/* The TLS CA key in the token, bound to tls/ca.pem's public key. */
static pca_err
renew_signer(struct hsm *hsm, const char *dir, X509 *ca, char label[65],
    uint8_t **spki, struct tls_signer *ts)
{
	char p[PATH_MAX];
	uint8_t *text = NULL;
	size_t len;
	int n;
	pca_err err;

	if ((err = tls_path(dir, "ca.label", p)) != PCA_OK ||
	    (err = util_file_read(p, 128, &text, &len)) != PCA_OK)
		return err;
	len = strcspn((char *)text, "\r\n");
	if (len == 0 || len > 64 || strncmp((char *)text, "pca-tls-ca-", 11)) {
		free(text);
		return pca_err_set(PCA_EPARSE, "%s: not a TLS CA key label", p);
	}
	(void)snprintf(label, 65, "%.*s", (int)len, (char *)text);
	free(text);
	if ((n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ca), spki)) <= 0)
		return pca_err_set(PCA_EINTERNAL,
		    "cannot encode the TLS CA key");
	ts->hsm = hsm;
	ts->key.label = label;
	ts->key.spki = *spki;
	ts->key.spki_len = (size_t)n;
	ts->rsa = EVP_PKEY_get_base_id(X509_get0_pubkey(ca)) == EVP_PKEY_RSA;
	return PCA_OK;
}

/* The certificate's DNS and IP names as a subjectAltName value. */
static pca_err
sans_of(X509 *x, char *out, size_t len)
{
	GENERAL_NAMES *g =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	char ip[INET6_ADDRSTRLEN];
	const unsigned char *d;
	size_t n = 0;
	int i, l;

	out[0] = '\0';
	for (i = 0; g != NULL && i < sk_GENERAL_NAME_num(g) && n < len; i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, i);
		if (gn->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(gn->d.dNSName);
			l = ASN1_STRING_length(gn->d.dNSName);
			if (l <= 0 || l > 253 ||
			    (int)strspn((const char *)d,
				"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
				"UVWXYZ"
				"0123456789.-*") != l)
				continue;
			n += (size_t)snprintf(out + n, len - n, "%sDNS:%.*s",
			    n ? "," : "", l, (const char *)d);
		} else if (gn->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(gn->d.iPAddress);
			l = ASN1_STRING_length(gn->d.iPAddress);
			if ((l != 4 && l != 16) ||
			    inet_ntop(l == 4 ? AF_INET : AF_INET6, d, ip,
				sizeof(ip)) == NULL)
				continue;
			n += (size_t)snprintf(out + n, len - n, "%sIP:%s",
			    n ? "," : "", ip);
		}
	}
	GENERAL_NAMES_free(g);
	if (n >= len)
		return pca_err_set(PCA_ETOOBIG, "too many names to renew");
	if (n == 0)
		return pca_err_set(PCA_EPARSE, "the API certificate has no "
					       "DNS or IP name");
	return PCA_OK;
}

/* When 2/3 of x's life have passed (UNIX time). */
static pca_err
renew_at(X509 *x, int64_t *at)
{
	struct tm nb, na;

	if (!ASN1_TIME_to_tm(X509_get0_notBefore(x), &nb) ||
	    !ASN1_TIME_to_tm(X509_get0_notAfter(x), &na))
		return pca_err_set(PCA_EPARSE, "the API certificate's validity "
					       "does not parse");
	*at = util_timegm(&nb) + (util_timegm(&na) - util_timegm(&nb)) * 2 / 3;
	return PCA_OK;
}

struct renew {
	X509 *ca, *cur, *leaf;
	EVP_PKEY *key;
	uint8_t *spki;
};

static void
renew_clear(struct renew *r)
{
	X509_free(r->ca);
	X509_free(r->cur);
	X509_free(r->leaf);
	EVP_PKEY_free(r->key);
	OPENSSL_free(r->spki);
}

pca_err
pcactl_tls_renew(struct appliance *ap, int if_due, int quiet)
{
	struct renew r = {0};
	struct tls_signer ts;
	char p[PATH_MAX], cn[256] = "localhost", sans[2048], label[65];
	int64_t at = 0;
	pca_err err;

	if ((err = tls_path(ap->conf.dir, "ca.pem", p)) != PCA_OK ||
	    (err = read_x509(p, &r.ca)) != PCA_OK ||
	    (err = read_x509(ap->conf.api_tls_cert, &r.cur)) != PCA_OK)
		goto out;
	if (X509_check_issued(r.ca, r.cur) != X509_V_OK) {
		err = pca_err_set(PCA_ESTATE,
		    "%s is not issued by the "
		    "appliance's TLS CA (operator-supplied): renew it where it "
		    "came from",
		    ap->conf.api_tls_cert);
		goto out;
	}
	if ((err = renew_at(r.cur, &at)) != PCA_OK)
		goto out;
	if (if_due && util_now() < at) {
		time_t t = (time_t)at;
		struct tm tm;
		char when[32] = "?";
		if (gmtime_r(&t, &tm) != NULL)
			(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
			    &tm);
		printf("not due: %s is renewed from %s (2/3 of its life)\n",
		    ap->conf.api_tls_cert, when);
		goto out;
	}
	(void)X509_NAME_get_text_by_NID(X509_get_subject_name(r.cur),
	    NID_commonName, cn, sizeof(cn));
	if ((err = sans_of(r.cur, sans, sizeof(sans))) != PCA_OK ||
	    (err = renew_signer(ap->hsm, ap->conf.dir, r.ca, label, &r.spki,
		 &ts)) != PCA_OK)
		goto out;
	if ((r.key = EVP_EC_gen("P-256")) == NULL) {
		err = pca_err_set(PCA_EINTERNAL, "EC key generation failed");
		goto out;
	}
	if ((err = tls_cert(cn, sans, r.key, &ts, r.ca, &r.leaf)) != PCA_OK ||
	    (err = write_pem(ap->conf.api_tls_key, NULL, r.key, 0600, 0)) !=
		PCA_OK ||
	    (err = write_pem(ap->conf.api_tls_cert, r.leaf, NULL, 0644, 0)) !=
		PCA_OK)
		goto out;
	if (!quiet)
		printf("renewed %s (%s); send pcad SIGHUP to serve it\n",
		    ap->conf.api_tls_cert, sans);
out:
	renew_clear(&r);
	return err;
}

int
pcactl_tls(const char *config, int argc, char **argv)
{
	static const struct option lo[] = {{"if-due", 0, NULL, 'd'},
	    {"force", 0, NULL, 'f'}, {"help", 0, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct appliance ap;
	int ch, if_due = -1;
	pca_err err;

	if (argc < 1 || strcmp(argv[0], "renew") != 0) {
		if (argc >= 1 && (strcmp(argv[0], "--help") == 0 ||
				     strcmp(argv[0], "-h") == 0)) {
			printf("%s\n", TLS_USAGE);
			return 0;
		}
		return pcactl_fail(pca_err_set(PCA_EINVAL, "%s", TLS_USAGE));
	}
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'h') {
			printf("%s\n", TLS_USAGE);
			return 0;
		}
		if (ch != 'd' && ch != 'f')
			return pcactl_fail(
			    pca_err_set(PCA_EINVAL, "%s", TLS_USAGE));
		if (if_due != -1 && if_due != (ch == 'd'))
			return pcactl_fail(pca_err_set(PCA_EINVAL,
			    "--if-due and --force exclude each other"));
		if_due = ch == 'd';
	}
	if (optind != argc || if_due == -1)
		return pcactl_fail(pca_err_set(PCA_EINVAL, "%s", TLS_USAGE));
	if ((err = appliance_open(config, &ap)) != PCA_OK)
		return pcactl_fail(err);
	err = pcactl_tls_renew(&ap, if_due, 0);
	appliance_close(&ap);
	return err == PCA_OK ? 0 : pcactl_fail(err);
}
