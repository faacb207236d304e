/*
 * test_ipc.c - the hsm.h interface over a socket (hsm_ipc.c) to a signer
 * loop (hsm_signer_serve) on a real SoftHSM token: every operation gives
 * the same answers as in process (signatures verify with OpenSSL), the
 * check callback's refusals come back with their message, a signer that
 * goes away turns calls into PCA_EUNAVAIL at once, and a new signer handed
 * over the keeper's socket serves again.  The frame codec: exact lengths
 * per type, trailing bytes and unknown types refused.  SigV4 signing keys:
 * AWS's documented derivation, the scope checks, the signer deriving them
 * from secrets under its secret_label and never unsealing those, its
 * refusals of far dates and bad names, and the end of a front that sends a
 * malformed HSM_IPC_SIGV4 frame (driven on a raw socket).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../../../common/limits.h"
#include "../../../hsm/hsm.h"
#include "../../../hsm/hsm_ipc.h"
#include "../testlib.h"

static struct testlib_token token;
static struct hsm *real;  /* the signer's token */
static struct hsm *front; /* the proxy */
static int keeper;        /* our end of ctl */

struct srv {
	int fd;
	pthread_t tid;
	pca_err rc;
};
static struct srv cur;

static pca_err
refuse_label(void *arg, enum hsm_signer_op op, const char *label,
    unsigned flags, enum pca_sigalg alg, const uint8_t *tbs, size_t len)
{
	(void)arg;
	(void)flags;
	(void)alg;
	(void)tbs;
	(void)len;
	if (op == HSM_OP_SIGN && strcmp(label, "forbidden") == 0)
		return pca_err_set(PCA_EPOLICY, "signer: not this key");
	return PCA_OK;
}

#define API_LABEL "ipc-api" /* the signer's secret_label */

static const struct hsm_signer_conf sconf = {2, refuse_label, NULL, API_LABEL};

static void *
serve(void *arg)
{
	struct srv *s = arg;

	s->rc = hsm_signer_serve(real, s->fd, &sconf);
	return NULL;
}

/* A new signer loop; its other end goes to the front through ctl. */
static void
start_signer(void)
{
	int sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	cur.fd = sp[1];
	assert_int_equal(pthread_create(&cur.tid, NULL, serve, &cur), 0);
	assert_int_equal(hsm_keeper_send(keeper, PCA_OK, NULL, sp[0]), PCA_OK);
	close(sp[0]);
}

static void
stop_signer(void)
{
	(void)shutdown(cur.fd, SHUT_RDWR);
	pthread_join(cur.tid, NULL);
	close(cur.fd);
}

static int
setup(void **state)
{
	int ctl[2];

	(void)state;
	if (testlib_token_make(&token, "pca-ipc", "ipctest", "87654321", "4321",
		0600) != 0 ||
	    hsm_open(&token.conf, &real) != PCA_OK ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ctl) != 0)
		return -1;
	keeper = ctl[1];
	{
		int sp[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0)
			return -1;
		cur.fd = sp[1];
		if (pthread_create(&cur.tid, NULL, serve, &cur) != 0 ||
		    hsm_keeper_send(keeper, PCA_OK, NULL, sp[0]) != PCA_OK)
			return -1;
		close(sp[0]);
	}
	if (hsm_proxy_new(ctl[0], 10, &front) != PCA_OK) {
		fprintf(stderr, "setup: %s\n", pca_err_msg());
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hsm_close(front); /* the signer loop sees the end */
	pthread_join(cur.tid, NULL);
	close(cur.fd);
	close(keeper);
	hsm_close(real);
	testlib_token_remove(&token);
	return 0;
}

static void
verify(const uint8_t *spki, size_t spki_len, const uint8_t *tbs, size_t n,
    const uint8_t *sig, size_t sl)
{
	const uint8_t *p = spki;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)spki_len);
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	assert_non_null(k);
	assert_int_equal(EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, k),
	    1);
	assert_int_equal(EVP_DigestVerify(c, sig, sl, tbs, n), 1);
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
}

static void
test_operations(void **state)
{
	static const uint8_t id[4] = {1, 2, 3, 4};
	static const uint8_t tbs[] = "to be signed over the socket";
	uint8_t *spki = NULL, *spki2 = NULL, *s = NULL, *p = NULL;
	uint8_t sig[LIM_SIG];
	size_t spki_len, spki2_len, sl, l, pl;
	struct hsm_key_info ki;
	struct hsm_stats st;
	struct hsm_key key;

	(void)state;
	assert_int_equal(hsm_key_generate(front, "ipc-ec", id, sizeof(id),
			     PCA_KEY_EC_P256, &spki, &spki_len),
	    PCA_OK);
	assert_int_equal(hsm_key_spki(front, "ipc-ec", &spki2, &spki2_len),
	    PCA_OK);
	assert_int_equal(spki_len, spki2_len);
	assert_memory_equal(spki, spki2, spki_len);
	free(spki2);
	spki2 = NULL;
	key.label = "ipc-ec";
	key.spki = spki;
	key.spki_len = spki_len;
	assert_int_equal(hsm_sign(front, &key, PCA_SIG_SHA256_ECDSA, tbs,
			     sizeof(tbs), sig, &sl),
	    PCA_OK);
	verify(spki, spki_len, tbs, sizeof(tbs), sig, sl);
	assert_int_equal(hsm_sign_ca(front, &key, PCA_SIG_SHA256_ECDSA, tbs,
			     sizeof(tbs), sig, &sl),
	    PCA_OK);
	verify(spki, spki_len, tbs, sizeof(tbs), sig, sl);
	assert_int_equal(hsm_key_info(front, "ipc-ec", &ki), PCA_OK);
	assert_true(
	    ki.sensitive && !ki.extractable && ki.can_sign && !ki.can_decrypt);
	assert_int_equal(
	    hsm_seal(front, "ipc-seal", (const uint8_t *)"secret", 6, &s, &l),
	    PCA_OK);
	assert_int_equal(hsm_unseal(front, "ipc-seal", s, l, &p, &pl), PCA_OK);
	assert_int_equal(pl, 6);
	assert_memory_equal(p, "secret", 6);
	s[l - 1] ^= 1;
	assert_err(hsm_unseal(front, "ipc-seal", s, l, &p, &pl), PCA_EMISMATCH,
	    "");
	assert_int_equal(hsm_health(front), PCA_OK);
	hsm_stats_get(front, &st);
	assert_true(st.signs >= 2 && st.available);
	/* the token's refusal and the check's refusal cross with messages */
	key.label = "absent";
	key.spki = NULL;
	key.spki_len = 0;
	assert_int_equal(hsm_sign(front, &key, PCA_SIG_SHA256_ECDSA, tbs,
			     sizeof(tbs), sig, &sl),
	    PCA_ENOTFOUND);
	key.label = "forbidden";
	assert_err(hsm_sign(front, &key, PCA_SIG_SHA256_ECDSA, tbs, sizeof(tbs),
		       sig, &sl),
	    PCA_EPOLICY, "not this key");
	assert_int_equal(hsm_key_destroy(front, "ipc-ec"), PCA_OK);
	assert_int_equal(hsm_key_spki(front, "ipc-ec", &spki2, &spki2_len),
	    PCA_ENOTFOUND);
	assert_int_equal(hsm_bench_raw(front, "x", 1, 1, &(double){0}),
	    PCA_EUNSUPPORTED);
	free(spki);
	free(s);
	free(p);
}

static void
test_signer_restart(void **state)
{
	static const uint8_t id[1] = {9};
	uint8_t *spki = NULL, sig[LIM_SIG];
	size_t spki_len, sl;
	struct hsm_key key;
	int i;

	(void)state;
	assert_int_equal(hsm_key_generate(front, "ipc-r", id, 1,
			     PCA_KEY_EC_P256, &spki, &spki_len),
	    PCA_OK);
	key.label = "ipc-r";
	key.spki = spki;
	key.spki_len = spki_len;
	stop_signer();
	/* gone: retryable at once, health says so */
	for (i = 0; i < 100; i++) {
		if (hsm_health(front) == PCA_EUNAVAIL)
			break;
		usleep(10000);
	}
	assert_err(hsm_health(front), PCA_EUNAVAIL, "signer");
	assert_int_equal(hsm_sign(front, &key, PCA_SIG_SHA256_ECDSA,
			     (const uint8_t *)"x", 1, sig, &sl),
	    PCA_EUNAVAIL);
	/* a new signer: served again, same key */
	start_signer();
	for (i = 0; i < 200; i++) {
		if (hsm_health(front) == PCA_OK)
			break;
		usleep(10000);
	}
	assert_int_equal(hsm_sign(front, &key, PCA_SIG_SHA256_ECDSA,
			     (const uint8_t *)"x", 1, sig, &sl),
	    PCA_OK);
	verify(spki, spki_len, (const uint8_t *)"x", 1, sig, sl);
	assert_int_equal(hsm_key_destroy(front, "ipc-r"), PCA_OK);
	free(spki);
}

static void
frame(uint32_t type, uint32_t status, const struct hsm_ipc_field *f, size_t n,
    uint8_t **b, size_t *l)
{
	assert_int_equal(hsm_ipc_encode(type, 1, status, f, n, b, l), PCA_OK);
}

static pca_err
decode(const uint8_t *b, int reply)
{
	struct hsm_ipc_hdr h;
	struct hsm_ipc_msg m;

	memcpy(&h, b, sizeof(h));
	return hsm_ipc_decode(&h, reply, b + sizeof(h), &m);
}

static void
test_codec(void **state)
{
	uint32_t four = 4;
	struct hsm_ipc_field lab = {(const uint8_t *)"abc", 3};
	struct hsm_ipc_field sign[5] = {lab, {NULL, 0},
	    {(const uint8_t *)&four, 4}, {(const uint8_t *)&four, 4},
	    {(const uint8_t *)"t", 1}};
	struct hsm_ipc_field bad_u32[5];
	struct hsm_ipc_hdr h;
	uint8_t *b = NULL;
	size_t l;

	(void)state;
	frame(HSM_IPC_SIGN, 0, sign, 5, &b, &l);
	assert_int_equal(decode(b, 0), PCA_OK);
	assert_int_equal(decode(b, 1), PCA_EPARSE); /* not a reply's shape */
	memcpy(&h, b, sizeof(h));
	h.len--; /* one byte short */
	memcpy(b, &h, sizeof(h));
	assert_int_equal(decode(b, 0), PCA_EPARSE);
	free(b);
	memcpy(bad_u32, sign, sizeof(sign));
	bad_u32[2].len = 3; /* a 32-bit field of 3 bytes */
	frame(HSM_IPC_SIGN, 0, bad_u32, 5, &b, &l);
	assert_int_equal(decode(b, 0), PCA_EPARSE);
	free(b);
	frame(HSM_IPC_SPKI, 0, &lab, 1, &b, &l);
	assert_int_equal(decode(b, 0), PCA_OK);
	free(b);
	frame(HSM_IPC_SPKI, 0, sign, 2, &b, &l); /* an extra field */
	assert_int_equal(decode(b, 0), PCA_EPARSE);
	free(b);
	frame(HSM_IPC_HEALTH, PCA_EPOLICY, &lab, 1, &b, &l);
	assert_int_equal(decode(b, 1), PCA_OK);     /* an error reply */
	assert_int_equal(decode(b, 0), PCA_EPARSE); /* no request has one */
	free(b);
	frame(HSM_IPC_TYPE_MAX, 0, NULL, 0, &b, &l);
	assert_int_equal(decode(b, 0), PCA_EPARSE);
	free(b);
	frame(HSM_IPC_HEALTH, PCA_E_MAX, NULL, 0, &b, &l);
	assert_int_equal(decode(b, 1), PCA_EPARSE);
	free(b);
}

/*
 * The per-type limits: a SIGN request's TBS (a big CRL) may be up to
 * HSM_IPC_TBS_MAX, other types keep their small bounds.  40 MiB is over
 * the old single 32 MiB limit (a CRL of ~1M entries) and is round-tripped;
 * the edges are checked on headers and refused before any allocation.
 */
static void
test_tbs_limit(void **state)
{
	uint32_t four = 4;
	size_t big = (size_t)40 * 1024 * 1024, l;
	uint8_t *tbs, *b = NULL;
	struct hsm_ipc_field f[5] = {{(const uint8_t *)"abc", 3}, {NULL, 0},
	    {(const uint8_t *)&four, 4}, {(const uint8_t *)&four, 4},
	    {NULL, 0}};
	struct hsm_ipc_hdr h = {HSM_IPC_SIGN, 0, 1, 0};

	(void)state;
	assert_non_null(tbs = calloc(1, big));
	f[4].p = tbs;
	f[4].len = big;
	frame(HSM_IPC_SIGN, 0, f, 5, &b, &l);
	assert_int_equal(l, HSM_IPC_HDR_LEN + 5 * 4 + 3 + 8 + big);
	assert_int_equal(decode(b, 0), PCA_OK);
	free(b);
	free(tbs);
	/* one byte over the largest TBS: refused before allocating */
	f[4].p = (const uint8_t *)"x"; /* never read: refused first */
	f[4].len = HSM_IPC_TBS_MAX + 1;
	assert_int_equal(hsm_ipc_encode(HSM_IPC_SIGN, 1, 0, f, 5, &b, &l),
	    PCA_ETOOBIG);
	/* the largest SIGN body (every field at its largest): accepted */
	h.len = (uint32_t)HSM_IPC_BODY_MAX;
	assert_int_equal(hsm_ipc_hdr_check(&h, 0), PCA_OK);
	h.len = (uint32_t)HSM_IPC_BODY_MAX + 1;
	assert_int_equal(hsm_ipc_hdr_check(&h, 0), PCA_EPARSE);
	/* a SIGN reply (a signature) and other types keep small limits */
	h.len = 4 + LIM_SIG;
	assert_int_equal(hsm_ipc_hdr_check(&h, 1), PCA_OK);
	h.len = 4 + LIM_SIG + 1;
	assert_int_equal(hsm_ipc_hdr_check(&h, 1), PCA_EPARSE);
	h.type = HSM_IPC_SEAL;
	h.len = 4 + LIM_LABEL + 4 + HSM_IPC_SECRET_MAX;
	assert_int_equal(hsm_ipc_hdr_check(&h, 0), PCA_OK);
	h.len++;
	assert_int_equal(hsm_ipc_hdr_check(&h, 0), PCA_EPARSE);
	h.type = HSM_IPC_SPKI;
	h.len = (uint32_t)(40 * 1024 * 1024);
	assert_int_equal(hsm_ipc_hdr_check(&h, 0), PCA_EPARSE);
	pca_err_clear();
}

/* AWS's SigV4 documentation, "Examples of how to derive a signing key". */
static void
test_sigv4_derive(void **state)
{
	static const char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	static const struct hsm_sigv4_scope sc = {"20120215", "us-east-1",
	    "iam"};
	static const uint8_t want[32] = {0xf4, 0x78, 0x0e, 0x2d, 0x9f, 0x65,
	    0xfa, 0x89, 0x5f, 0x9c, 0x67, 0xb3, 0x2c, 0xe1, 0xba, 0xf0, 0xb0,
	    0xd8, 0xa4, 0x35, 0x05, 0xa0, 0x00, 0xa1, 0xa9, 0xe0, 0x90, 0xd4,
	    0x14, 0xdb, 0x40, 0x4d};
	uint8_t k[32];

	(void)state;
	hsm_sigv4_derive((const uint8_t *)secret, strlen(secret), &sc, k);
	assert_memory_equal(k, want, 32);
}

/* 2012-02-15 12:00:00 UTC */
#define NOON_20120215 ((int64_t)1329307200)

static pca_err
scope(const char *date, const char *region, const char *service, int64_t now)
{
	struct hsm_sigv4_scope sc = {date, region, service};

	return hsm_sigv4_scope_check(&sc, now);
}

static void
test_sigv4_scope(void **state)
{
	char long_name[HSM_SIGV4_NAME_MAX + 2];

	(void)state;
	assert_int_equal(
	    scope("20120215", "us-east-1", "acm-pca", NOON_20120215), PCA_OK);
	/* yesterday and tomorrow (clocks, midnight), not a day further */
	assert_int_equal(scope("20120214", "us-east-1", "sts", NOON_20120215),
	    PCA_OK);
	assert_int_equal(scope("20120216", "us-east-1", "sts", NOON_20120215),
	    PCA_OK);
	assert_err(scope("20120217", "us-east-1", "sts", NOON_20120215),
	    PCA_EINVAL, "more than 1 day");
	assert_err(scope("20120213", "us-east-1", "sts", NOON_20120215),
	    PCA_EINVAL, "more than 1 day");
	assert_err(scope("20130215", "us-east-1", "sts", NOON_20120215),
	    PCA_EINVAL, "more than 1 day");
	/* month and year ends, leap days */
	assert_int_equal(
	    scope("20120229", "r", "s", NOON_20120215 + 14 * 86400), PCA_OK);
	assert_int_equal(
	    scope("20120301", "r", "s", NOON_20120215 + 14 * 86400), PCA_OK);
	assert_int_equal(
	    scope("20111231", "r", "s", NOON_20120215 - 45 * 86400), PCA_OK);
	/* not a day */
	assert_err(scope("20110229", "r", "s", NOON_20120215), PCA_EINVAL,
	    "YYYYMMDD");
	assert_err(scope("20120230", "r", "s", NOON_20120215), PCA_EINVAL,
	    "YYYYMMDD");
	assert_err(scope("2012021", "r", "s", NOON_20120215), PCA_EINVAL,
	    "YYYYMMDD");
	assert_err(scope("2012-2-15", "r", "s", NOON_20120215), PCA_EINVAL,
	    "YYYYMMDD");
	assert_err(scope("201202150", "r", "s", NOON_20120215), PCA_EINVAL,
	    "YYYYMMDD");
	assert_err(scope("20121315", "r", "s", NOON_20120215), PCA_EINVAL,
	    "YYYYMMDD");
	/* names */
	assert_err(scope("20120215", "US-EAST-1", "sts", NOON_20120215),
	    PCA_EINVAL, "region");
	assert_err(scope("20120215", "", "sts", NOON_20120215), PCA_EINVAL,
	    "region");
	assert_err(scope("20120215", "us-east-1", "acm pca", NOON_20120215),
	    PCA_EINVAL, "service");
	assert_err(scope("20120215", "us-east-1", "a/b", NOON_20120215),
	    PCA_EINVAL, "service");
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_err(scope("20120215", long_name, "sts", NOON_20120215),
	    PCA_EINVAL, "region");
	long_name[HSM_SIGV4_NAME_MAX] = '\0';
	assert_int_equal(scope("20120215", long_name, long_name, NOON_20120215),
	    PCA_OK);
}

static void
day_of(int64_t t, char out[9])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	assert_int_equal(strftime(out, 9, "%Y%m%d", &tm), 8);
}

static const char api_secret[] = "0123456789abcdefghijABCDEFGHIJ/+0123456789";

/* The front asks for kSigning; the secret itself is refused. */
static void
test_sigv4_front(void **state)
{
	char today[9], far[9];
	struct hsm_sigv4_scope sc = {today, "eu-west-3", "acm-pca"};
	uint8_t *s = NULL, *o = NULL, *p = NULL, want[32], k[32];
	size_t l, ol, pl;

	(void)state;
	day_of((int64_t)time(NULL), today);
	day_of((int64_t)time(NULL) + 3 * 86400, far);
	assert_int_equal(hsm_seal(front, API_LABEL, (const uint8_t *)api_secret,
			     strlen(api_secret), &s, &l),
	    PCA_OK);
	hsm_sigv4_derive((const uint8_t *)api_secret, strlen(api_secret), &sc,
	    want);
	assert_int_equal(hsm_sigv4_key(front, API_LABEL, s, l, &sc, k), PCA_OK);
	assert_memory_equal(k, want, 32);
	/* in process (separate = no): the same key through the same call */
	memset(k, 0, sizeof(k));
	assert_int_equal(hsm_sigv4_key(real, API_LABEL, s, l, &sc, k), PCA_OK);
	assert_memory_equal(k, want, 32);
	/* no operation gives the front the secret */
	assert_err(hsm_unseal(front, API_LABEL, s, l, &p, &pl), PCA_EPOLICY,
	    "not unsealed for the front");
	/* keys come from the API label only; the other label still unseals */
	assert_int_equal(
	    hsm_seal(front, "ipc-other", (const uint8_t *)"x", 1, &o, &ol),
	    PCA_OK);
	assert_err(hsm_sigv4_key(front, "ipc-other", o, ol, &sc, k),
	    PCA_EPOLICY, "only from secrets under " API_LABEL);
	assert_int_equal(hsm_unseal(front, "ipc-other", o, ol, &p, &pl),
	    PCA_OK);
	assert_int_equal(pl, 1);
	free(p);
	/* altered blob, far date: refused (the date before anything) */
	s[l - 1] ^= 1;
	assert_int_equal(hsm_sigv4_key(front, API_LABEL, s, l, &sc, k),
	    PCA_EMISMATCH);
	s[l - 1] ^= 1;
	sc.date = far;
	assert_err(hsm_sigv4_key(front, API_LABEL, s, l, &sc, k), PCA_EINVAL,
	    "more than 1 day");
	assert_err(hsm_sigv4_key(real, API_LABEL, s, l, &sc, k), PCA_EINVAL,
	    "more than 1 day");
	free(s);
	free(o);
}

/* ---- a compromised front on a raw socket ---- */

struct raw {
	int fd; /* our end */
	struct srv srv;
};

static void
raw_start(struct raw *r)
{
	int sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	r->fd = sp[0];
	r->srv.fd = sp[1];
	assert_int_equal(pthread_create(&r->srv.tid, NULL, serve, &r->srv), 0);
}

static void
raw_stop(struct raw *r)
{
	close(r->fd);
	pthread_join(r->srv.tid, NULL);
	close(r->srv.fd);
}

/* One request; the reply's status, its single field copied to out. */
static pca_err
raw_call(struct raw *r, uint32_t type, const struct hsm_ipc_field *f, size_t n,
    uint8_t *out, size_t *out_len)
{
	struct hsm_ipc_msg m;
	uint8_t *b = NULL, *body = NULL;
	size_t l;
	pca_err err;

	assert_int_equal(hsm_ipc_encode(type, 5, 0, f, n, &b, &l), PCA_OK);
	assert_int_equal(hsm_ipc_write_full(r->fd, b, l), 0);
	free(b);
	if ((err = hsm_ipc_read(r->fd, 1, &m, &body)) != PCA_OK)
		return err;
	assert_int_equal(m.hdr.id, 5);
	assert_int_equal(m.hdr.type, type);
	if (out != NULL && m.n == 1 && m.f[0].len <= 64) {
		memcpy(out, m.f[0].p, m.f[0].len);
		*out_len = m.f[0].len;
	}
	err = (pca_err)m.hdr.status;
	free(body);
	return err;
}

static pca_err
raw_sigv4(struct raw *r, const char *label, const uint8_t *s, size_t l,
    const char *date, const char *region, uint8_t key[32])
{
	struct hsm_ipc_field f[5] = {{(const uint8_t *)label, strlen(label)},
	    {s, l}, {(const uint8_t *)date, strlen(date)},
	    {(const uint8_t *)region, strlen(region)},
	    {(const uint8_t *)"acm-pca", 7}};
	uint8_t out[64];
	size_t ol = 0;
	pca_err err;

	err = raw_call(r, HSM_IPC_SIGV4, f, 5, out, &ol);
	if (err == PCA_OK) {
		assert_int_equal(ol, 32);
		memcpy(key, out, 32);
	}
	return err;
}

static void
test_sigv4_signer_refuses(void **state)
{
	char today[9], far[9], past[9];
	struct hsm_sigv4_scope sc = {today, "us-east-1", "acm-pca"};
	struct hsm_ipc_field uf[2];
	uint8_t *s = NULL, want[32], k[32], out[64];
	size_t l, ol = 0;
	struct raw r;

	(void)state;
	day_of((int64_t)time(NULL), today);
	day_of((int64_t)time(NULL) + 2 * 86400 + 3600, far);
	day_of((int64_t)time(NULL) - 2 * 86400 - 3600, past);
	assert_int_equal(hsm_seal(real, API_LABEL, (const uint8_t *)api_secret,
			     strlen(api_secret), &s, &l),
	    PCA_OK);
	hsm_sigv4_derive((const uint8_t *)api_secret, strlen(api_secret), &sc,
	    want);
	raw_start(&r);
	assert_int_equal(raw_sigv4(&r, API_LABEL, s, l, today, "us-east-1", k),
	    PCA_OK);
	assert_memory_equal(k, want, 32);
	/* a far date, a bad date, bad names: refused, the signer serves on */
	assert_int_equal(raw_sigv4(&r, API_LABEL, s, l, far, "us-east-1", k),
	    PCA_EINVAL);
	assert_int_equal(raw_sigv4(&r, API_LABEL, s, l, past, "us-east-1", k),
	    PCA_EINVAL);
	assert_int_equal(
	    raw_sigv4(&r, API_LABEL, s, l, "2026x201", "us-east-1", k),
	    PCA_EINVAL);
	assert_int_equal(raw_sigv4(&r, API_LABEL, s, l, today, "US-EAST-1", k),
	    PCA_EINVAL);
	assert_int_equal(raw_sigv4(&r, API_LABEL, s, l, today, "us east", k),
	    PCA_EINVAL);
	assert_int_equal(
	    raw_sigv4(&r, "ipc-other", s, l, today, "us-east-1", k),
	    PCA_EPOLICY);
	/* the generic unseal of an API secret: refused */
	uf[0].p = (const uint8_t *)API_LABEL;
	uf[0].len = strlen(API_LABEL);
	uf[1].p = s;
	uf[1].len = l;
	assert_int_equal(raw_call(&r, HSM_IPC_UNSEAL, uf, 2, out, &ol),
	    PCA_EPOLICY);
	assert_int_equal(raw_sigv4(&r, API_LABEL, s, l, today, "us-east-1", k),
	    PCA_OK);
	/* a date field of 9 bytes: malformed, the front is ended */
	assert_int_equal(
	    raw_sigv4(&r, API_LABEL, s, l, "202612011", "us-east-1", k),
	    PCA_EIO);
	raw_stop(&r);
	assert_int_equal(r.srv.rc, PCA_EPARSE);
	/* a region of 64 bytes: the same */
	raw_start(&r);
	assert_int_equal(
	    raw_sigv4(&r, API_LABEL, s, l, today,
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaa",
		k),
	    PCA_EIO);
	raw_stop(&r);
	assert_int_equal(r.srv.rc, PCA_EPARSE);
	free(s);
}

/* HSM_IPC_SIGV4 frames: exact lengths, five fields, a 32-byte reply. */
static void
test_sigv4_codec(void **state)
{
	static const uint8_t sealed[60] = {2};
	uint8_t key[32] = {0};
	struct hsm_ipc_field f[5] = {{(const uint8_t *)"pca-api-keys", 12},
	    {sealed, sizeof(sealed)}, {(const uint8_t *)"20261204", 8},
	    {(const uint8_t *)"us-east-1", 9}, {(const uint8_t *)"sts", 3}};
	struct hsm_ipc_field g[5];
	struct hsm_ipc_field rep = {key, 32};
	uint8_t *b = NULL;
	size_t l;

	(void)state;
	frame(HSM_IPC_SIGV4, 0, f, 5, &b, &l);
	assert_int_equal(decode(b, 0), PCA_OK);
	free(b);
	frame(HSM_IPC_SIGV4, 0, f, 4, &b, &l); /* no service */
	assert_int_equal(decode(b, 0), PCA_EPARSE);
	free(b);
	memcpy(g, f, sizeof(g));
	g[2].len = 7; /* date of 7 bytes */
	frame(HSM_IPC_SIGV4, 0, g, 5, &b, &l);
	assert_int_equal(decode(b, 0), PCA_EPARSE);
	free(b);
	memcpy(g, f, sizeof(g));
	g[4].len = 0; /* empty service */
	frame(HSM_IPC_SIGV4, 0, g, 5, &b, &l);
	assert_int_equal(decode(b, 0), PCA_EPARSE);
	free(b);
	memcpy(g, f, sizeof(g));
	g[1].len = 0; /* nothing sealed */
	frame(HSM_IPC_SIGV4, 0, g, 5, &b, &l);
	assert_int_equal(decode(b, 0), PCA_EPARSE);
	free(b);
	frame(HSM_IPC_SIGV4, 0, &rep, 1, &b, &l);
	assert_int_equal(decode(b, 1), PCA_OK);
	free(b);
	rep.len = 31; /* a short key */
	frame(HSM_IPC_SIGV4, 0, &rep, 1, &b, &l);
	assert_int_equal(decode(b, 1), PCA_EPARSE);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codec),
	    cmocka_unit_test(test_tbs_limit),
	    cmocka_unit_test(test_operations),
	    cmocka_unit_test(test_signer_restart),
	    cmocka_unit_test(test_sigv4_derive),
	    cmocka_unit_test(test_sigv4_scope),
	    cmocka_unit_test(test_sigv4_front),
	    cmocka_unit_test(test_sigv4_signer_refuses),
	    cmocka_unit_test(test_sigv4_codec),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
