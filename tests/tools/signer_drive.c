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
 * malformed frames end the signer (exit 3).  Prints "PASS name" or
 * "FAIL name: why" lines; exits 1 when any failed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "../../api/api.h"
#include "../../ca/ca.h"
#include "../../cmd/appliance.h"
#include "../../common/log.h"
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
	return fails ? 1 : 0;
}
