/*
 * test_seal.c - secrets sealed under an AES key inside a SoftHSM token:
 * round trip, tampering detected, the key never readable.
 */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../common/util.h"
#include "../../../hsm/hsm.h"
#include "../../../hsm/hsm_int.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"

static char dir[64], env[192], pin[128];

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static int
setup(void **state)
{
	static struct hsm_conf conf;
	char path[128], text[256];
	struct hsm *h = NULL;

	(void)snprintf(dir, sizeof(dir), "/tmp/pca-seal-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	(void)snprintf(path, sizeof(path), "%s/tokens", dir);
	(void)mkdir(path, 0700);
	(void)snprintf(text, sizeof(text),
	    "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
	    "log.level = ERROR\n", dir);
	(void)snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
	if (util_file_write(path, text, strlen(text), 0600, 1) != PCA_OK)
		return -1;
	(void)snprintf(env, sizeof(env), "SOFTHSM2_CONF=%s", path);
	(void)snprintf(pin, sizeof(pin), "%s/pin", dir);
	if (util_file_write(pin, "4321\n", 5, 0600, 1) != PCA_OK)
		return -1;
	conf.module = SOFTHSM;
	conf.token = "sealtest";
	conf.pin_file = pin;
	conf.module_env = env;
	if (hsm_token_init(&conf, "87654321", "4321") != PCA_OK ||
	    hsm_open(&conf, &h) != PCA_OK) {
		fprintf(stderr, "setup: %s\n", pca_err_msg());
		return -1;
	}
	*state = h;
	return 0;
}

static int
teardown(void **state)
{
	hsm_close(*state);
	(void)nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void
test_roundtrip(void **state)
{
	struct hsm *h = *state;
	const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	uint8_t *s1 = NULL, *s2 = NULL, *p = NULL;
	size_t l1, l2, pl;

	assert_int_equal(hsm_seal(h, "pca-api-keys", (const uint8_t *)secret,
			     strlen(secret), &s1, &l1), PCA_OK);
	assert_int_equal(l1, 12 + strlen(secret) + 16);
	assert_null(memmem(s1, l1, secret, 8)); /* not in the clear */
	assert_int_equal(hsm_seal(h, "pca-api-keys", (const uint8_t *)secret,
			     strlen(secret), &s2, &l2), PCA_OK);
	assert_memory_not_equal(s1, s2, 12); /* a fresh IV each time */
	assert_int_equal(hsm_unseal(h, "pca-api-keys", s1, l1, &p, &pl),
	    PCA_OK);
	assert_int_equal(pl, strlen(secret));
	assert_memory_equal(p, secret, pl);
	free(p);
	free(s1);
	free(s2);
}

static void
test_tamper(void **state)
{
	struct hsm *h = *state;
	uint8_t *s = NULL, *p = NULL;
	size_t l, pl, i;

	assert_int_equal(hsm_seal(h, "pca-api-keys", (const uint8_t *)"abc", 3,
			     &s, &l), PCA_OK);
	for (i = 0; i < l; i += 5) {
		s[i] ^= 0x40;
		assert_int_equal(hsm_unseal(h, "pca-api-keys", s, l, &p, &pl),
		    PCA_EMISMATCH);
		s[i] ^= 0x40;
	}
	assert_int_equal(hsm_unseal(h, "pca-api-keys", s, 20, &p, &pl),
	    PCA_EMISMATCH);
	/* another key label: no such key, nothing opens */
	assert_int_not_equal(hsm_unseal(h, "pca-other", s, l, &p, &pl),
	    PCA_OK);
	free(s);
}

/* The AES key is on the token, sensitive, and its value unreadable. */
static void
test_key_unreadable(void **state)
{
	struct hsm *h = *state;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE o[2];
	CK_ULONG n = 0;
	CK_RV rv = 0;
	CK_BBOOL sens = 0, extr = 1;
	uint8_t val[64];
	CK_ATTRIBUTE a[] = {{CKA_SENSITIVE, &sens, sizeof(sens)},
	    {CKA_EXTRACTABLE, &extr, sizeof(extr)}};
	CK_ATTRIBUTE v = {CKA_VALUE, val, sizeof(val)};

	assert_int_equal(h->fl->C_OpenSession(h->slot, CKF_SERIAL_SESSION,
			     NULL, NULL, &s), CKR_OK);
	assert_int_equal(hsm_find(h, s, CKO_SECRET_KEY, "pca-api-keys", NULL,
			     0, o, 2, &n, &rv), PCA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(h->fl->C_GetAttributeValue(s, o[0], a, 2), CKR_OK);
	assert_true(sens);
	assert_false(extr);
	assert_int_equal(h->fl->C_GetAttributeValue(s, o[0], &v, 1),
	    CKR_ATTRIBUTE_SENSITIVE);
	(void)h->fl->C_CloseSession(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_tamper),
	    cmocka_unit_test(test_key_unreadable),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
