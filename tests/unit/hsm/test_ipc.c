/*
 * test_ipc.c - the hsm.h interface over a socket (hsm_ipc.c) to a signer
 * loop (hsm_signer_serve) on a real SoftHSM token: every operation gives
 * the same answers as in process (signatures verify with OpenSSL), the
 * check callback's refusals come back with their message, a signer that
 * goes away turns calls into PCA_EUNAVAIL at once, and a new signer handed
 * over the keeper's socket serves again.  The frame codec: exact lengths
 * per type, trailing bytes and unknown types refused.
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

static const struct hsm_signer_conf sconf = {2, refuse_label, NULL};

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codec),
	    cmocka_unit_test(test_operations),
	    cmocka_unit_test(test_signer_restart),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
