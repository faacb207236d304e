/*
 * test_keys.c - access keys as pcad's front sees them (api/keys.c) and the
 * NextToken key (api/token.c), on a real SoftHSM token and LMDB store:
 * api_key_lookup yields the SigV4 signing key of the request's scope (the
 * one AWS's chain gives for the secret pcactl printed), per scope, and a
 * revocation takes effect on the next lookup although the key was cached;
 * the NextToken key is sealed under its own label, survives a reload, and
 * one stored by an older version under the API secrets' label is replaced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "../../../api/api.h"
#include "../../../api/api_int.h"
#include "../../../hsm/hsm.h"
#include "../../../iam/iam.h"
#include "../../../store/store.h"
#include "../testlib.h"

static struct testlib_token token;
static struct hsm *hsm;
static struct seal_ops seal; /* hsm's, as cmd/ hands it to api/ */
static struct store *st;
static char dir[64];

static int
setup(void **state)
{
	struct store_conf c = {NULL, 1 << 20, 64 << 20, STORE_NOSYNC, 0};

	(void)state;
	if (testlib_token_make(&token, "pca-keys", "keystest", "87654321",
		"4321", 0600) != 0 ||
	    hsm_open(&token.conf, &hsm) != PCA_OK ||
	    testlib_dir_make(dir, sizeof(dir), "pca-keys-store") != 0)
		return -1;
	hsm_seal_ops(hsm, &seal);
	c.path = dir;
	return store_open(&c, &st) == PCA_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	store_close(st);
	hsm_close(hsm);
	testlib_dir_remove(dir);
	testlib_token_remove(&token);
	return 0;
}

static void
auth_of(struct sigv4_auth *a, const char *akid, const char *region,
    const char *service)
{
	time_t now = time(NULL);
	struct tm tm;

	memset(a, 0, sizeof(*a));
	(void)snprintf(a->akid, sizeof(a->akid), "%s", akid);
	gmtime_r(&now, &tm);
	assert_int_equal(strftime(a->date, sizeof(a->date), "%Y%m%d", &tm), 8);
	(void)snprintf(a->region, sizeof(a->region), "%s", region);
	(void)snprintf(a->service, sizeof(a->service), "%s", service);
}

static void
want_key(const char *secret, const struct sigv4_auth *a, uint8_t k[32])
{
	struct hsm_sigv4_scope sc = {a->date, a->region, a->service};

	hsm_sigv4_derive((const uint8_t *)secret, strlen(secret), &sc, k);
}

/* What the policy says of action on any CA of the key's account. */
static enum iam_effect
allows(const struct iam_policy *p, const char *action)
{
	struct iam_request r;
	struct iam_match m;

	memset(&r, 0, sizeof(r));
	r.account = "111122223333";
	r.action = action;
	r.resource =
	    "arn:aws:acm-pca:us-east-1:111122223333:"
	    "certificate-authority/11111111-2222-3333-4444-555555555555";
	r.template_arn = "arn:aws:acm-pca:::template/EndEntityCertificate/V1";
	r.secure_transport = 1;
	r.now = time(NULL);
	return iam_policy_eval(p, &r, &m);
}

static void
test_lookup(void **state)
{
	struct api_keycache *c = NULL;
	struct sigv4_auth a, b;
	struct api_key k;
	struct iam_policy *first = NULL;
	struct api_key_spec admin = {.managed = "admin"};
	char akid[21], secret[41];
	uint8_t want[32];

	(void)state;
	assert_int_equal(
	    api_key_create(st, &seal, "111122223333", "issuer", akid, secret),
	    PCA_OK);
	assert_int_equal(api_keycache_new(&c), PCA_OK);
	auth_of(&a, akid, "us-east-1", "acm-pca");
	auth_of(&b, akid, "us-east-1", "sts");
	/* twice each: made, then from the cache */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(api_key_lookup(c, st, &seal, &a, &k), PCA_OK);
		assert_string_equal(k.account, "111122223333");
		assert_non_null(k.parsed);
		assert_null(k.policy); /* it parses: no text */
		/* the parsed policy is shared by the cache's hits */
		if (i == 0)
			first = iam_policy_ref(k.parsed);
		else
			assert_ptr_equal(k.parsed, first);
		assert_int_equal(allows(k.parsed, "acm-pca:IssueCertificate"),
		    IAM_MATCH_ALLOW);
		assert_int_equal(
		    allows(k.parsed, "acm-pca:CreateCertificateAuthority"),
		    IAM_NO_MATCH);
		want_key(secret, &a, want);
		assert_memory_equal(k.ksigning, want, 32);
		api_key_release(&k);
		assert_int_equal(api_key_lookup(c, st, &seal, &b, &k), PCA_OK);
		assert_non_null(k.parsed);
		want_key(secret, &b, want);
		assert_memory_equal(k.ksigning, want, 32);
		api_key_release(&k);
	}
	/* a new policy: the next lookup has it, not the cached one */
	assert_int_equal(api_key_policy_put(st, akid, &admin), PCA_OK);
	assert_int_equal(api_key_lookup(c, st, &seal, &a, &k), PCA_OK);
	assert_ptr_not_equal(k.parsed, first);
	assert_int_equal(allows(k.parsed, "acm-pca:CreateCertificateAuthority"),
	    IAM_MATCH_ALLOW);
	api_key_release(&k);
	/* the old one outlived its cache entry (a request may still hold it) */
	assert_int_equal(allows(first, "acm-pca:IssueCertificate"),
	    IAM_MATCH_ALLOW);
	iam_policy_free(first);
	/* a scope the token's side refuses: no key */
	(void)snprintf(b.date, sizeof(b.date), "%s", "20200101");
	assert_int_equal(api_key_lookup(c, st, &seal, &b, &k), PCA_EINVAL);
	/* revoked: the cached entries no longer count */
	assert_int_equal(api_key_revoke(st, akid), PCA_OK);
	assert_int_equal(api_key_lookup(c, st, &seal, &a, &k), PCA_ENOTFOUND);
	auth_of(&a, "AKIAUNKNOWN000000000", "us-east-1", "acm-pca");
	assert_int_equal(api_key_lookup(c, st, &seal, &a, &k), PCA_ENOTFOUND);
	api_keycache_free(c);
}

static void
test_token_key(void **state)
{
	static const uint8_t old[API_TOKEN_KEY_LEN] =
	    "an old NextToken key, 32 bytes.";
	uint8_t k1[API_TOKEN_KEY_LEN], k2[API_TOKEN_KEY_LEN];
	uint8_t *sealed = NULL, *val = NULL, *plain = NULL;
	size_t sl, vl, pl;

	(void)state;
	/* as an older version left it: sealed under the API secrets' label */
	assert_int_equal(
	    hsm_seal(hsm, API_SEAL_LABEL, old, sizeof(old), &sealed, &sl),
	    PCA_OK);
	assert_int_equal(
	    store_kv_put(st, "api", "nexttoken-key", sealed, sl, 1), PCA_OK);
	free(sealed);
	assert_int_equal(api_token_key_load(st, &seal, k1), PCA_OK);
	assert_memory_not_equal(k1, old, sizeof(old));
	/* now under its own label, and the same after a reload */
	assert_int_equal(store_kv_get(st, "api", "nexttoken-key", &val, &vl),
	    PCA_OK);
	assert_int_equal(
	    hsm_unseal(hsm, API_TOKEN_SEAL_LABEL, val, vl, &plain, &pl),
	    PCA_OK);
	assert_int_equal(pl, API_TOKEN_KEY_LEN);
	assert_memory_equal(plain, k1, pl);
	assert_int_equal(hsm_unseal(hsm, API_SEAL_LABEL, val, vl, &sealed, &sl),
	    PCA_EMISMATCH);
	free(plain);
	free(val);
	assert_int_equal(api_token_key_load(st, &seal, k2), PCA_OK);
	assert_memory_equal(k1, k2, sizeof(k1));
}

/* Without a token (the service of hsm_seal_ops(NULL)): refused, no crash. */
static void
test_no_token(void **state)
{
	struct seal_ops none;
	struct api_keycache *c = NULL;
	struct sigv4_auth a;
	struct api_key k;
	char akid[21], secret[41];
	uint8_t key[API_TOKEN_KEY_LEN];

	(void)state;
	hsm_seal_ops(NULL, &none);
	assert_null(none.seal);
	assert_null(none.sigv4_derive);
	assert_int_equal(
	    api_key_create(st, &none, "111122223333", "admin", akid, secret),
	    PCA_EUNAVAIL);
	assert_int_equal(api_token_key_load(st, &none, key), PCA_EUNAVAIL);
	/* a key made with the token does not open without it */
	assert_int_equal(
	    api_key_create(st, &seal, "111122223333", "admin", akid, secret),
	    PCA_OK);
	assert_int_equal(api_keycache_new(&c), PCA_OK);
	auth_of(&a, akid, "us-east-1", "acm-pca");
	assert_int_equal(api_key_lookup(c, st, &none, &a, &k), PCA_EUNAVAIL);
	api_keycache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_token_key),
	    cmocka_unit_test(test_no_token),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
