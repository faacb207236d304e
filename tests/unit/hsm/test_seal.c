/*
 * test_seal.c - secrets sealed with CKM_SHA256_HMAC under two secret keys
 * inside a SoftHSM token: round trip, a fresh iv each time, tampering
 * detected without a token reset, the keys never readable, and the same
 * token reached through "p11-kit server" + p11-kit-client.so.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../common/util.h"
#include "../../../hsm/hsm.h"
#include "../../../hsm/hsm_int.h"
#include "../testlib.h"

#define P11CLIENT "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so"
#define LABEL "pca-api-keys"
#define SEALED_LEN(n) (1 + 16 + (n) + 32)

static struct testlib_token token;
static pid_t server; /* our p11-kit server, killed by pid only */

static int
setup(void **state)
{
	struct hsm *h = NULL;

	if (testlib_token_make(&token, "pca-seal", "sealtest", "87654321",
		"4321", 0600) != 0)
		return -1;
	if (hsm_open(&token.conf, &h) != PCA_OK) {
		fprintf(stderr, "setup: %s\n", pca_err_msg());
		return -1;
	}
	*state = h;
	return 0;
}

static int
teardown(void **state)
{
	testlib_p11_server_stop(&server);
	hsm_close(*state);
	testlib_token_remove(&token);
	return 0;
}

static uint64_t
recoveries(struct hsm *h)
{
	struct hsm_stats st;

	hsm_stats_get(h, &st);
	return st.recoveries;
}

static void
roundtrip(struct hsm *a, struct hsm *b, const char *label, const char *secret)
{
	uint8_t *s = NULL, *p = NULL;
	size_t l, pl;

	assert_int_equal(
	    hsm_seal(a, label, (const uint8_t *)secret, strlen(secret), &s, &l),
	    PCA_OK);
	assert_int_equal(l, SEALED_LEN(strlen(secret)));
	assert_int_equal(s[0], 0x02);
	assert_int_equal(hsm_unseal(b, label, s, l, &p, &pl), PCA_OK);
	assert_int_equal(pl, strlen(secret));
	assert_memory_equal(p, secret, pl);
	free(p);
	free(s);
}

static void
test_roundtrip(void **state)
{
	struct hsm *h = *state;
	const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	uint8_t *s1 = NULL, *s2 = NULL, big[4096];
	size_t l1, l2, n;

	roundtrip(h, h, LABEL, secret);
	roundtrip(h, h, LABEL, "x");
	assert_int_equal(hsm_seal(h, LABEL, (const uint8_t *)secret,
			     strlen(secret), &s1, &l1),
	    PCA_OK);
	assert_null(memmem(s1, l1, secret, 8)); /* not in the clear */
	assert_int_equal(hsm_seal(h, LABEL, (const uint8_t *)secret,
			     strlen(secret), &s2, &l2),
	    PCA_OK);
	assert_int_equal(l1, l2);
	assert_memory_not_equal(s1 + 1, s2 + 1, 16);        /* a fresh iv */
	assert_memory_not_equal(s1 + 17, s2 + 17, l1 - 17); /* and stream */
	free(s1);
	free(s2);
	/* block boundaries: 31, 32, 33 bytes and the largest */
	for (n = 0; n < sizeof(big); n++)
		big[n] = (uint8_t)(n * 7 + 1);
	big[33] = '\0';
	roundtrip(h, h, LABEL, (const char *)big + 2); /* 31 */
	roundtrip(h, h, LABEL, (const char *)big + 1); /* 32 */
	roundtrip(h, h, LABEL, (const char *)big);     /* 33 */
	big[33] = 1;
	assert_int_equal(hsm_seal(h, LABEL, big, sizeof(big), &s1, &l1),
	    PCA_OK);
	assert_int_equal(hsm_unseal(h, LABEL, s1, l1, &s2, &l2), PCA_OK);
	assert_int_equal(l2, sizeof(big));
	assert_memory_equal(s2, big, l2);
	free(s1);
	free(s2);
	assert_int_equal(hsm_seal(h, LABEL, big, sizeof(big) + 1, &s1, &l1),
	    PCA_EINVAL);
}

static void
test_tamper(void **state)
{
	struct hsm *h = *state;
	uint8_t *s = NULL, *p = NULL;
	size_t l, pl, i;
	uint64_t rec = recoveries(h);

	assert_int_equal(
	    hsm_seal(h, LABEL, (const uint8_t *)"abcdefgh", 8, &s, &l), PCA_OK);
	for (i = 0; i < l; i++) {
		s[i] ^= 0x40;
		assert_int_equal(hsm_unseal(h, LABEL, s, l, &p, &pl),
		    PCA_EMISMATCH);
		s[i] ^= 0x01 ^ 0x40;
		assert_int_equal(hsm_unseal(h, LABEL, s, l, &p, &pl),
		    PCA_EMISMATCH);
		s[i] ^= 0x01;
	}
	assert_int_equal(hsm_unseal(h, LABEL, s, l - 1, &p, &pl),
	    PCA_EMISMATCH);
	assert_int_equal(hsm_unseal(h, LABEL, s, 49, &p, &pl), PCA_EMISMATCH);
	assert_int_equal(hsm_unseal(h, LABEL, s, l, &p, &pl), PCA_OK);
	assert_memory_equal(p, "abcdefgh", 8);
	free(p);
	assert_int_equal(recoveries(h), rec); /* no token reset */
	free(s);
}

static void
test_wrong_label(void **state)
{
	struct hsm *h = *state;
	uint8_t *s = NULL, *o = NULL, *p = NULL;
	size_t l, ol, pl;
	uint64_t rec = recoveries(h);

	assert_int_equal(hsm_seal(h, LABEL, (const uint8_t *)"abc", 3, &s, &l),
	    PCA_OK);
	/* no keys under that label */
	assert_int_equal(hsm_unseal(h, "pca-other", s, l, &p, &pl),
	    PCA_ENOTFOUND);
	/* keys exist under the other label: still nothing opens */
	assert_int_equal(
	    hsm_seal(h, "pca-other", (const uint8_t *)"abc", 3, &o, &ol),
	    PCA_OK);
	assert_int_equal(hsm_unseal(h, "pca-other", s, l, &p, &pl),
	    PCA_EMISMATCH);
	assert_int_equal(hsm_unseal(h, LABEL, o, ol, &p, &pl), PCA_EMISMATCH);
	assert_int_equal(recoveries(h), rec);
	free(s);
	free(o);
}

static void
key_check(struct hsm *h, CK_SESSION_HANDLE s, const char *name)
{
	CK_OBJECT_HANDLE o[2];
	CK_ULONG n = 0, len = 0;
	CK_RV rv = 0;
	CK_KEY_TYPE kt = 0;
	CK_BBOOL sens = 0, extr = 1, tok = 0, sign = 0, ver = 0, enc = 1,
		 dec = 1, wrap = 1, unwrap = 1, der = 1;
	uint8_t val[64];
	CK_ATTRIBUTE a[] = {{CKA_SENSITIVE, &sens, sizeof(sens)},
	    {CKA_EXTRACTABLE, &extr, sizeof(extr)},
	    {CKA_TOKEN, &tok, sizeof(tok)}, {CKA_SIGN, &sign, sizeof(sign)},
	    {CKA_VERIFY, &ver, sizeof(ver)}, {CKA_ENCRYPT, &enc, sizeof(enc)},
	    {CKA_DECRYPT, &dec, sizeof(dec)}, {CKA_WRAP, &wrap, sizeof(wrap)},
	    {CKA_UNWRAP, &unwrap, sizeof(unwrap)},
	    {CKA_DERIVE, &der, sizeof(der)}, {CKA_KEY_TYPE, &kt, sizeof(kt)},
	    {CKA_VALUE_LEN, &len, sizeof(len)}};
	CK_ATTRIBUTE v = {CKA_VALUE, val, sizeof(val)};

	assert_int_equal(
	    hsm_find(h, s, CKO_SECRET_KEY, name, NULL, 0, o, 2, &n, &rv),
	    PCA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(
	    h->fl->C_GetAttributeValue(s, o[0], a, sizeof(a) / sizeof(a[0])),
	    CKR_OK);
	assert_true(sens && tok && sign && ver);
	assert_false(extr || enc || dec || wrap || unwrap || der);
	assert_int_equal(kt, CKK_GENERIC_SECRET);
	assert_int_equal(len, 32);
	assert_int_equal(h->fl->C_GetAttributeValue(s, o[0], &v, 1),
	    CKR_ATTRIBUTE_SENSITIVE);
}

/* Both keys are on the token, sensitive, and their values unreadable. */
static void
test_key_unreadable(void **state)
{
	struct hsm *h = *state;
	CK_SESSION_HANDLE s;

	assert_int_equal(
	    h->fl->C_OpenSession(h->slot, CKF_SERIAL_SESSION, NULL, NULL, &s),
	    CKR_OK);
	key_check(h, s, LABEL ".enc");
	key_check(h, s, LABEL ".mac");
	(void)h->fl->C_CloseSession(s);
}

/*
 * The same token through p11-kit's RPC (how a network HSM is reached):
 * blobs cross between the direct and the remote module both ways, and the
 * keys of a new label are generated through the RPC.
 */
static void
test_remote(void **state)
{
	struct hsm *h = *state, *r = NULL;
	struct hsm_conf conf;
	char sock[128], addr[192];
	uint8_t *s = NULL, *p = NULL;
	size_t l, pl, i;
	uint64_t rec;

	if (access(P11CLIENT, R_OK) != 0)
		skip();
	(void)snprintf(sock, sizeof(sock), "%s/p11.sock", token.dir);
	(void)snprintf(addr, sizeof(addr),
	    "P11_KIT_SERVER_ADDRESS=unix:path=%s", sock);
	assert_int_equal(
	    testlib_p11_server_start(token.env, "sealtest", sock, &server), 0);
	memset(&conf, 0, sizeof(conf));
	conf.module = P11CLIENT;
	conf.token = "sealtest";
	conf.pin_file = token.pin;
	conf.module_env = addr;
	if (hsm_open(&conf, &r) != PCA_OK)
		fail_msg("open through p11-kit-client: %s", pca_err_msg());
	roundtrip(h, r, LABEL, "sealed directly, opened remotely");
	roundtrip(r, h, LABEL, "sealed remotely, opened directly");
	roundtrip(r, r, LABEL, "remote both ways");
	roundtrip(r, h, "pca-remote", "keys generated through the RPC");
	rec = recoveries(r);
	assert_int_equal(hsm_seal(r, LABEL, (const uint8_t *)"xyz", 3, &s, &l),
	    PCA_OK);
	for (i = 0; i < l; i++) {
		s[i] ^= 0x80;
		assert_int_equal(hsm_unseal(r, LABEL, s, l, &p, &pl),
		    PCA_EMISMATCH);
		s[i] ^= 0x80;
	}
	assert_int_equal(recoveries(r), rec);
	free(s);
	hsm_close(r);
	testlib_p11_server_stop(&server);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_tamper),
	    cmocka_unit_test(test_wrong_label),
	    cmocka_unit_test(test_key_unreadable),
	    cmocka_unit_test(test_remote),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
