/*
 * signer_drive.c - drives a separated signer's socket directly, as a
 * compromised front would (test_signer_ipc.sh).
 *
 *   signer_drive CONFIG SIGALG LABEL EE.der SUBCA.der OTHER_LABEL
 *
 * Each check forks a signer exactly as pcad's (hsm_open, the store read
 * only, ca_sign_check) on the appliance of CONFIG and talks to it:
 * EE.der is an end-entity certificate and SUBCA.der a CA certificate both
 * issued by the CA whose key is LABEL, OTHER_LABEL the key of another
 * ACTIVE CA.  The TBS of EE.der must be signed; altered ones refused;
 * malformed frames end the signer (exit 3).  API secrets: with the sealed
 * secret of the admin key (its record in the store, its secret in the
 * appliance's credentials file) the signer returns the SigV4 signing key
 * of today's scope and nothing else: a far date, another label and the
 * plain unseal are refused, a malformed HSM_IPC_SIGV4 frame ends it.
 * Prints "PASS name" or "FAIL name: why" lines; exits 1 when any failed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <openssl/x509.h>

#include "../../api/api.h"
#include "../../ca/ca.h"
#include "../../cmd/appliance.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "../../hsm/hsm_ipc.h"

static const char *config;
static int fails;

static pca_err
check_cb(void *arg, enum hsm_signer_op op, const char *label, unsigned flags,
    enum pca_sigalg alg, const uint8_t *tbs, size_t len)
{
	void **a = arg;

	return ca_sign_check(a[0], a[1], op, label, flags, alg, tbs, len);
}

static void
signer_child(int fd)
{
	struct appliance_conf a;
	struct store_conf sc;
	struct store *st = NULL;
	struct hsm *h = NULL;
	struct ca_engine *e = NULL;
	struct hsm_signer_conf hc;
	void *arg[2];
	pca_err err;

	if (appliance_conf_load(config, &a) != PCA_OK ||
	    hsm_open(&a.hsm, &h) != PCA_OK)
		_exit(10);
	sc = a.store;
	sc.read_only = 1;
	if (store_open(&sc, &st) != PCA_OK ||
	    ca_engine_new(&a.engine, h, st, &e) != PCA_OK)
		_exit(11);
	arg[0] = e;
	arg[1] = h;
	memset(&hc, 0, sizeof(hc));
	hc.threads = 2;
	hc.check = check_cb;
	hc.arg = arg;
	hc.secret_label = API_SEAL_LABEL; /* as pcad_proc.c */
	err = hsm_signer_serve(h, fd, &hc);
	_exit(err == PCA_OK ? 0 : 3);
}

struct peer {
	int fd;
	pid_t pid;
};

static void
spawn(struct peer *p)
{
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0)
		exit(2);
	if ((p->pid = fork()) == 0) {
		close(sp[0]);
		signer_child(sp[1]);
	}
	close(sp[1]);
	p->fd = sp[0];
}

/* Closes our end; the signer's exit status (or -1). */
static int
reap(struct peer *p)
{
	int st;

	close(p->fd);
	if (waitpid(p->pid, &st, 0) != p->pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
result(const char *name, int ok, const char *why)
{
	if (ok)
		printf("PASS %s\n", name);
	else {
		printf("FAIL %s: %s\n", name, why);
		fails++;
	}
	fflush(stdout);
}

/* One SIGN request; *msg gets the error text. */
static pca_err
sign(struct peer *p, const char *label, unsigned flags, uint32_t alg,
    const uint8_t *tbs, size_t len, char *msg, size_t msz)
{
	struct hsm_ipc_field f[5] = {{(const uint8_t *)label, strlen(label)},
	    {NULL, 0}, {(const uint8_t *)&alg, 4}, {(const uint8_t *)&flags, 4},
	    {tbs, len}};
	struct hsm_ipc_msg m;
	uint8_t *frame = NULL, *body = NULL;
	size_t fl;
	pca_err err;

	msg[0] = '\0';
	if (hsm_ipc_encode(HSM_IPC_SIGN, 7, 0, f, 5, &frame, &fl) != PCA_OK ||
	    hsm_ipc_write_full(p->fd, frame, fl) != 0) {
		free(frame);
		(void)snprintf(msg, msz, "write failed");
		return PCA_EIO;
	}
	free(frame);
	if ((err = hsm_ipc_read(p->fd, 1, &m, &body)) != PCA_OK) {
		(void)snprintf(msg, msz, "read: %s", pca_err_msg());
		return err;
	}
	if (m.hdr.status != PCA_OK)
		(void)snprintf(msg, msz, "%.*s", (int)m.f[0].len,
		    (const char *)m.f[0].p);
	err = (pca_err)m.hdr.status;
	free(body);
	return err;
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;

	if (f == NULL || (b = malloc(1 << 20)) == NULL)
		exit(2);
	*len = fread(b, 1, 1 << 20, f);
	fclose(f);
	return b;
}

/* The TBS bytes of a certificate (re-encoded after edits when x given). */
static uint8_t *
tbs_of(X509 *x, size_t *len)
{
	uint8_t *p = NULL;
	int n;

	if ((n = i2d_re_X509_tbs(x, &p)) <= 0)
		exit(2);
	*len = (size_t)n;
	return p;
}

static X509 *
load(const char *path)
{
	size_t len;
	uint8_t *b = slurp(path, &len);
	const uint8_t *p = b;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	free(b);
	if (x == NULL)
		exit(2);
	return x;
}

static void
expect_refusal(struct peer *p, const char *name, const char *label,
    unsigned flags, uint32_t alg, const uint8_t *tbs, size_t len,
    const char *sub)
{
	char msg[600], why[700];
	pca_err err = sign(p, label, flags, alg, tbs, len, msg, sizeof(msg));

	(void)snprintf(why, sizeof(why), "status %d, message '%s'", (int)err,
	    msg);
	result(name, err == PCA_EPOLICY && strstr(msg, sub) != NULL, why);
}

static void
tbs_checks(uint32_t alg, const char *label, const char *ee_path,
    const char *sub_path, const char *other)
{
	struct peer p;
	X509 *ee = load(ee_path), *sub = load(sub_path), *x;
	X509_NAME *n;
	ASN1_INTEGER *zero;
	uint8_t *t;
	size_t tl;
	char msg[600];
	pca_err err;

	spawn(&p);
	t = tbs_of(ee, &tl);
	err = sign(&p, label, 0, alg, t, tl, msg, sizeof(msg));
	result("the CA's own end-entity TBS is signed", err == PCA_OK, msg);
	expect_refusal(&p, "another CA's key refuses it", other, 0, alg, t, tl,
	    "issuer");
	expect_refusal(&p, "an unknown CA label is refused",
	    "pca-00000000-0000-4000-8000-000000000000", 0, alg, t, tl,
	    "does not exist");
	expect_refusal(&p, "a label no CA owns is refused", "someone-else", 0,
	    alg, t, tl, "no CA owns");
	OPENSSL_free(t);

	x = X509_dup(ee);
	n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Not The CA", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_NAME_free(n);
	t = tbs_of(x, &tl);
	expect_refusal(&p, "a wrong issuer is refused", label, 0, alg, t, tl,
	    "issuer differs");
	OPENSSL_free(t);
	X509_free(x);

	x = X509_dup(ee);
	X509_time_adj_ex(X509_getm_notAfter(x), 365 * 40, 0, NULL);
	t = tbs_of(x, &tl);
	expect_refusal(&p, "validity beyond the CA's is refused", label, 0, alg,
	    t, tl, "validity");
	OPENSSL_free(t);
	X509_free(x);

	x = X509_dup(ee);
	zero = ASN1_INTEGER_new();
	ASN1_INTEGER_set(zero, 0);
	X509_set_serialNumber(x, zero);
	ASN1_INTEGER_free(zero);
	t = tbs_of(x, &tl);
	expect_refusal(&p, "a lint failure (serial 0) is refused", label, 0,
	    alg, t, tl, "lint");
	OPENSSL_free(t);
	X509_free(x);

	t = tbs_of(sub, &tl);
	expect_refusal(&p, "cA=TRUE without a CA grant is refused", label, 0,
	    alg, t, tl, "cA=TRUE");
	err = sign(&p, label, HSM_SIGN_CA_CERT, alg, t, tl, msg, sizeof(msg));
	result("cA=TRUE with a CA-template grant is signed", err == PCA_OK,
	    msg);
	OPENSSL_free(t);
	expect_refusal(&p, "bytes that are no TBS are refused", label, 0, alg,
	    (const uint8_t *)"\x30\x03\x02\x01\x05", 5, "refused for CA");
	result("the signer ends cleanly when the front closes", reap(&p) == 0,
	    "exit status");
	X509_free(ee);
	X509_free(sub);
}

/* A raw frame must end the signer (exit 3, our end sees EOF). */
static void
expect_fatal(const char *name, const void *frame, size_t len)
{
	struct peer p;
	char c;
	int st;

	spawn(&p);
	if (hsm_ipc_write_full(p.fd, frame, len) != 0) {
		result(name, 0, "write failed");
		reap(&p);
		return;
	}
	(void)shutdown(p.fd, SHUT_WR);
	st = read(p.fd, &c, 1) <= 0 ? reap(&p) : (reap(&p), -2);
	result(name, st == 3,
	    st == -2 ? "the signer answered" : "exit status not 3");
}

static void
frame_checks(void)
{
	struct hsm_ipc_hdr h;
	uint8_t b[64];
	uint32_t l;

	memset(&h, 0, sizeof(h));
	h.type = 99;
	expect_fatal("an unknown type ends the signer", &h, sizeof(h));
	h.type = HSM_IPC_HEALTH;
	h.len = 8;
	memcpy(b, &h, sizeof(h));
	memset(b + sizeof(h), 0, 8);
	expect_fatal("a body on a body-less type ends the signer", b,
	    sizeof(h) + 8);
	h.type = HSM_IPC_SPKI;
	h.len = 4 + 3 + 2; /* label "abc" and 2 trailing bytes */
	l = 3;
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), &l, 4);
	memcpy(b + sizeof(h) + 4, "abcZZ", 5);
	expect_fatal("trailing bytes end the signer", b, sizeof(h) + h.len);
	h.len = 4 + 3;
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h) + 4, "a\0c", 3);
	expect_fatal("a NUL in a label ends the signer", b, sizeof(h) + h.len);
	h.len = 4 + 3;
	l = 200;
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), &l, 4);
	expect_fatal("a field longer than its frame ends the signer", b,
	    sizeof(h) + h.len);
	h.type = HSM_IPC_SIGN;
	h.len = 0x7fffffff;
	memcpy(b, &h, sizeof(h));
	expect_fatal("an oversized frame ends the signer", b, sizeof(h));
	h.type = HSM_IPC_HEALTH;
	h.len = 0;
	h.status = 5;
	expect_fatal("a request with a status ends the signer", &h, sizeof(h));
}

/* One request; its status, *msg the error text, out the first field. */
static pca_err
request(struct peer *p, uint32_t type, const struct hsm_ipc_field *f, size_t n,
    uint8_t out[64], size_t *out_len, char *msg, size_t msz)
{
	struct hsm_ipc_msg m;
	uint8_t *frame = NULL, *body = NULL;
	size_t fl;
	pca_err err;

	msg[0] = '\0';
	*out_len = 0;
	if (hsm_ipc_encode(type, 9, 0, f, n, &frame, &fl) != PCA_OK ||
	    hsm_ipc_write_full(p->fd, frame, fl) != 0) {
		free(frame);
		(void)snprintf(msg, msz, "write failed");
		return PCA_EIO;
	}
	free(frame);
	if ((err = hsm_ipc_read(p->fd, 1, &m, &body)) != PCA_OK) {
		(void)snprintf(msg, msz, "read: %s", pca_err_msg());
		return err;
	}
	if (m.hdr.status != PCA_OK)
		(void)snprintf(msg, msz, "%.*s", (int)m.f[0].len,
		    (const char *)m.f[0].p);
	else if (m.n == 1 && m.f[0].len <= 64) {
		memcpy(out, m.f[0].p, m.f[0].len);
		*out_len = m.f[0].len;
	}
	err = (pca_err)m.hdr.status;
	free(body);
	return err;
}

struct admin {
	char akid[32];
	char secret[64];
	uint8_t *sealed;
	size_t sealed_len;
};

/* The value after "key" up to the end of its line (empty when absent). */
static void
ini_value(const char *text, const char *key, char *out, size_t size)
{
	const char *v = strstr(text, key);
	size_t n;

	out[0] = '\0';
	if (v == NULL)
		return;
	v += strlen(key);
	n = strcspn(v, "\r\n");
	if (n < size) {
		memcpy(out, v, n);
		out[n] = '\0';
	}
}

/* The admin key: akid and secret from DIR/credentials, its sealed blob. */
static int
admin_load(struct admin *ad)
{
	char path[4096], *slash;
	uint8_t *text = NULL, *val = NULL;
	size_t len, vl;
	struct appliance_conf a;
	struct store_conf sc;
	struct store *st = NULL;
	json_t *r = NULL;
	const char *b64;
	int ok = 0;

	memset(ad, 0, sizeof(*ad));
	(void)snprintf(path, sizeof(path), "%s", config);
	if ((slash = strrchr(path, '/')) == NULL)
		return 0;
	(void)snprintf(slash + 1, sizeof(path) - (size_t)(slash + 1 - path),
	    "credentials");
	if (util_file_read(path, 4096, &text, &len) != PCA_OK)
		return 0;
	text[len - 1] = '\0'; /* the file ends with a newline */
	ini_value((char *)text, "aws_access_key_id = ", ad->akid,
	    sizeof(ad->akid));
	ini_value((char *)text, "aws_secret_access_key = ", ad->secret,
	    sizeof(ad->secret));
	OPENSSL_cleanse(text, len);
	free(text);
	if (ad->akid[0] == '\0' || ad->secret[0] == '\0' ||
	    appliance_conf_load(config, &a) != PCA_OK)
		return 0;
	sc = a.store;
	sc.read_only = 1;
	if (store_open(&sc, &st) == PCA_OK &&
	    store_kv_get(st, "keys", ad->akid, &val, &vl) == PCA_OK &&
	    (r = json_loadb((const char *)val, vl, 0, NULL)) != NULL &&
	    (b64 = json_string_value(json_object_get(r, "Sealed"))) != NULL &&
	    util_b64_decode(b64, strlen(b64), 8192, &ad->sealed,
		&ad->sealed_len) == PCA_OK)
		ok = 1;
	json_decref(r);
	free(val);
	store_close(st);
	appliance_conf_free(&a);
	return ok;
}

static pca_err
sigv4(struct peer *p, const char *label, const struct admin *ad,
    const char *date, uint8_t key[64], size_t *kl, char *msg, size_t msz)
{
	struct hsm_ipc_field f[5] = {{(const uint8_t *)label, strlen(label)},
	    {ad->sealed, ad->sealed_len}, {(const uint8_t *)date, strlen(date)},
	    {(const uint8_t *)"us-east-1", 9}, {(const uint8_t *)"acm-pca", 7}};

	return request(p, HSM_IPC_SIGV4, f, 5, key, kl, msg, msz);
}

static void
secret_checks(void)
{
	char today[9], far[9], msg[HSM_IPC_MSG_MAX + 1];
	time_t now = time(NULL), later = now + 3 * 86400;
	struct hsm_sigv4_scope sc = {today, "us-east-1", "acm-pca"};
	struct hsm_ipc_field uf[2];
	uint8_t key[64], want[32];
	struct admin ad;
	struct peer p;
	struct tm tm;
	size_t kl;
	pca_err err;

	if (!admin_load(&ad)) {
		result("the admin key's record and secret are read", 0,
		    "no credentials file or record");
		return;
	}
	gmtime_r(&now, &tm);
	(void)strftime(today, sizeof(today), "%Y%m%d", &tm);
	gmtime_r(&later, &tm);
	(void)strftime(far, sizeof(far), "%Y%m%d", &tm);
	hsm_sigv4_derive((const uint8_t *)ad.secret, strlen(ad.secret), &sc,
	    want);
	spawn(&p);
	err = sigv4(&p, API_SEAL_LABEL, &ad, today, key, &kl, msg, sizeof(msg));
	result("the signer gives the SigV4 signing key of today's scope",
	    err == PCA_OK && kl == 32 && memcmp(key, want, 32) == 0, msg);
	err = sigv4(&p, API_SEAL_LABEL, &ad, far, key, &kl, msg, sizeof(msg));
	result("a signing key 3 days ahead is refused",
	    err == PCA_EINVAL && strstr(msg, "more than 1 day") != NULL, msg);
	err =
	    sigv4(&p, "pca-api-token", &ad, today, key, &kl, msg, sizeof(msg));
	result("a signing key under another seal label is refused",
	    err == PCA_EPOLICY, msg);
	uf[0].p = (const uint8_t *)API_SEAL_LABEL;
	uf[0].len = strlen(API_SEAL_LABEL);
	uf[1].p = ad.sealed;
	uf[1].len = ad.sealed_len;
	err = request(&p, HSM_IPC_UNSEAL, uf, 2, key, &kl, msg, sizeof(msg));
	result("the API secret itself is never unsealed for the front",
	    err == PCA_EPOLICY && kl == 0, msg);
	err = sigv4(&p, API_SEAL_LABEL, &ad, "202612041", key, &kl, msg,
	    sizeof(msg));
	result("a date field of 9 bytes ends the signer",
	    err == PCA_EIO && reap(&p) == 3, msg);
	OPENSSL_cleanse(&ad, offsetof(struct admin, sealed));
	free(ad.sealed);
}

int
main(int argc, char **argv)
{
	uint32_t alg;

	if (argc != 7) {
		fprintf(stderr,
		    "usage: signer_drive CONFIG SIGALG LABEL EE.der "
		    "SUBCA.der OTHER_LABEL\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	log_init("signer_drive", LOG_LEVEL_WARN);
	config = argv[1];
	if ((alg = (uint32_t)pca_sigalg_from_name(argv[2])) == 0) {
		fprintf(stderr, "signer_drive: unknown signing algorithm\n");
		return 2;
	}
	tbs_checks(alg, argv[3], argv[4], argv[5], argv[6]);
	frame_checks();
	secret_checks();
	return fails ? 1 : 0;
}
