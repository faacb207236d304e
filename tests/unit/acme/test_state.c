/*
 * test_state.c - ACME records in a real LMDB store and a SoftHSM token:
 * the RFC 9773 window (default, renew-early marks, a rotated CA), pruning
 * of expired orders and authorizations (the account's list follows), EAB
 * HMAC keys stored in the clear sealed by acme_new, and profile names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "../../../acme/acme.h"
#include "../../../common/seal.h"
#include "../../../hsm/hsm.h"
#include "../../../store/store.h"
#include "../testlib.h"

#define CA "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define DAY 86400

struct fx {
	char dir[128];
	struct store *st;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct store_conf c = {NULL, 0, 0, STORE_NOSYNC, 0};

	if (f == NULL ||
	    testlib_dir_make(f->dir, sizeof(f->dir), "pca-acmestate") != 0)
		return -1;
	c.path = f->dir;
	if (store_open(&c, &f->st) != PCA_OK) {
		fprintf(stderr, "store_open: %s\n", pca_err_msg());
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st);
	testlib_dir_remove(f->dir);
	free(f);
	return 0;
}

static void
put(struct store *st, const char *ns, const char *key, const char *json)
{
	assert_int_equal(store_kv_put(st, ns, key, json, strlen(json), 0),
	    PCA_OK);
}

static void
window_default_and_marks(void **state)
{
	struct fx *f = *state;
	int64_t nb = 1000 * DAY, na = nb + 90 * DAY, s = 0, e = 0;
	char txt[64];
	int early = -1;

	assert_int_equal(
	    acme_ari_window(f->st, CA, "0A0B", nb, na, 0, &s, &e, &early),
	    PCA_OK);
	assert_int_equal(s, nb + 60 * DAY);
	assert_int_equal(e, na - 9 * DAY);
	assert_int_equal(early, 0);
	/* a mark from before the certificate does not move it */
	(void)snprintf(txt, sizeof(txt), "{\"at\":%lld}", (long long)(nb - 5));
	put(f->st, "acme-renew", CA, txt);
	assert_int_equal(
	    acme_ari_window(f->st, CA, "0A0B", nb, na, 0, &s, &e, &early),
	    PCA_OK);
	assert_int_equal(early, 0);
	/* the certificate's own mark */
	put(f->st, "acme-renew", CA "/0A0B", "{\"at\":86400500}");
	assert_int_equal(
	    acme_ari_window(f->st, CA, "0A0B", nb, na, 0, &s, &e, &early),
	    PCA_OK);
	assert_int_equal(early, 1);
	assert_int_equal(e, 86400500);
	assert_int_equal(s, 86400500 - 3600);
	/* another certificate of the CA is not moved by it */
	assert_int_equal(
	    acme_ari_window(f->st, CA, "0C", nb, na, 0, &s, &e, &early),
	    PCA_OK);
	assert_int_equal(early, 0);
	/* a rotation after issuance moves it (the earlier mark wins) */
	assert_int_equal(
	    acme_ari_window(f->st, CA, "0C", nb, na, nb + 7, &s, &e, &early),
	    PCA_OK);
	assert_int_equal(early, 1);
	assert_int_equal(e, nb + 7);
	assert_int_equal(
	    acme_ari_window(f->st, CA, "0C", nb, nb, 0, &s, &e, NULL),
	    PCA_EINVAL);
}

/* acme_cert_info: the inventory's view of an ACME certificate record. */
static void
cert_info(void **state)
{
	struct fx *f = *state;
	int64_t nb = 1000 * DAY, na = nb + 90 * DAY;
	struct cert_ref r = {CA, "0B", nb, na, 0};
	json_t *o = NULL, *w;

	put(f->st, "acme-cert", "0A",
	    "{\"ca\":\"" CA "\",\"acct\":\"AC1\",\"order\":\"OR1\","
	    "\"replaced_by\":\"0B\"}");
	put(f->st, "acme-cert", "0B",
	    "{\"ca\":\"" CA "\",\"acct\":\"AC1\",\"order\":\"OR2\","
	    "\"profile\":\"short\",\"replaces\":\"0A\"}");
	assert_int_equal(acme_cert_info(f->st, &r, &o), PCA_OK);
	assert_string_equal(json_string_value(json_object_get(o, "AccountId")),
	    "AC1");
	assert_string_equal(json_string_value(json_object_get(o, "OrderId")),
	    "OR2");
	assert_string_equal(json_string_value(json_object_get(o, "Profile")),
	    "short");
	assert_string_equal(json_string_value(json_object_get(o, "Replaces")),
	    "0A");
	assert_null(json_object_get(o, "ReplacedBy"));
	w = json_object_get(o, "SuggestedWindow");
	assert_int_equal(json_integer_value(json_object_get(w, "Start")),
	    nb + 60 * DAY);
	assert_int_equal(json_integer_value(json_object_get(w, "End")),
	    na - 9 * DAY);
	assert_true(json_is_false(json_object_get(o, "RenewalRequestedEarly")));
	json_decref(o);
	/* the old one names its replacement; a rotation moves its window */
	r.serial = "0A";
	r.rotated_at = nb + 5;
	o = NULL;
	assert_int_equal(acme_cert_info(f->st, &r, &o), PCA_OK);
	assert_string_equal(json_string_value(json_object_get(o, "ReplacedBy")),
	    "0B");
	assert_null(json_object_get(o, "Replaces"));
	assert_null(json_object_get(o, "Profile"));
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(o, "SuggestedWindow"), "End")),
	    nb + 5);
	assert_true(json_is_true(json_object_get(o, "RenewalRequestedEarly")));
	json_decref(o);
	/* not issued through ACME, or by another CA: not found */
	o = NULL;
	r.serial = "0C";
	assert_int_equal(acme_cert_info(f->st, &r, &o), PCA_ENOTFOUND);
	r.serial = "0A";
	r.ca_uuid = "1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
	assert_int_equal(acme_cert_info(f->st, &r, &o), PCA_ENOTFOUND);
	assert_null(o);
	/* an unreadable record is an error, not an empty answer */
	put(f->st, "acme-cert", "0D", "[1]");
	r.ca_uuid = CA;
	r.serial = "0D";
	assert_int_equal(acme_cert_info(f->st, &r, &o), PCA_EPARSE);
	pca_err_clear();
}

static int
count(const char *key, const uint8_t *v, size_t n, void *arg)
{
	(void)key;
	(void)v;
	(void)n;
	(*(size_t *)arg)++;
	return 0;
}

static void
prune(void **state)
{
	struct fx *f = *state;
	size_t no = 9, na = 9, n = 0;
	uint8_t *v = NULL;
	json_t *a;

	put(f->st, "acme-order", "old", "{\"acct\":\"A1\",\"expires\":1000}");
	put(f->st, "acme-order", "new", "{\"acct\":\"A1\",\"expires\":9000}");
	put(f->st, "acme-authz", "z-old", "{\"acct\":\"A1\",\"expires\":1000}");
	put(f->st, "acme-authz", "z-new", "{\"acct\":\"A1\",\"expires\":9000}");
	put(f->st, "acme-acct", "A1", "{\"orders\":[\"old\",\"new\"]}");
	/* keep 5000 s: at 5999 nothing expired before 999 */
	assert_int_equal(acme_prune(f->st, 5999, 5000, &no, &na), PCA_OK);
	assert_int_equal(no, 0);
	assert_int_equal(na, 0);
	assert_int_equal(acme_prune(f->st, 6001, 5000, &no, &na), PCA_OK);
	assert_int_equal(no, 1);
	assert_int_equal(na, 1);
	assert_int_equal(store_kv_foreach(f->st, "acme-order", count, &n),
	    PCA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_kv_get(f->st, "acme-order", "old", &v, &n),
	    PCA_ENOTFOUND);
	assert_int_equal(store_kv_get(f->st, "acme-acct", "A1", &v, &n),
	    PCA_OK);
	a = json_loadb((const char *)v, n, 0, NULL);
	free(v);
	assert_non_null(a);
	assert_int_equal(json_array_size(json_object_get(a, "orders")), 1);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(a, "orders"), 0)),
	    "new");
	json_decref(a);
}

static void
eab_sealed_at_start(void **state)
{
	struct fx *f = *state;
	struct testlib_token tok;
	struct hsm *h = NULL;
	struct seal_ops seal;
	struct acme *ac = NULL;
	struct acme_conf c = {.base_url = "https://127.0.0.1:1",
	    .region = "us-east-1",
	    .account = "111122223333"};
	uint8_t *v = NULL, *sealed = NULL, *plain = NULL;
	size_t n = 0, sl = 0, pl = 0;
	json_t *o;
	const char *sb;

	memset(&tok, 0, sizeof(tok));
	if (testlib_token_make(&tok, "pca-acmeeab", "acmeeab", "87654321",
		"4321", 0600) != 0 ||
	    hsm_open(&tok.conf, &h) != PCA_OK) {
		testlib_token_remove(&tok);
		fail_msg("token: %s", pca_err_msg());
	}
	/* "c2VjcmV0LWtleS1ieXRlcw" is base64url("secret-key-bytes") */
	put(f->st, "acme-eab", "kid1",
	    "{\"ca\":\"" CA "\",\"hmac\":\"c2VjcmV0LWtleS1ieXRlcw\"}");
	hsm_seal_ops(h, &seal);
	assert_int_equal(acme_new(&c, NULL, f->st, &seal, &ac), PCA_OK);
	acme_free(ac);
	assert_int_equal(store_kv_get(f->st, "acme-eab", "kid1", &v, &n),
	    PCA_OK);
	o = json_loadb((const char *)v, n, 0, NULL);
	assert_non_null(o);
	assert_null(json_object_get(o, "hmac"));
	assert_null(memmem(v, n, "c2VjcmV0", 8));
	free(v);
	sb = json_string_value(json_object_get(o, "hmac_sealed"));
	assert_non_null(sb);
	assert_int_equal(acme_b64url_decode(sb, strlen(sb), 512, &sealed, &sl),
	    PCA_OK);
	assert_int_equal(
	    hsm_unseal(h, ACME_EAB_SEAL_LABEL, sealed, sl, &plain, &pl),
	    PCA_OK);
	assert_int_equal(pl, 16);
	assert_memory_equal(plain, "secret-key-bytes", 16);
	/* under another label it does not open */
	free(plain);
	plain = NULL;
	assert_int_not_equal(
	    hsm_unseal(h, "pca-api-keys", sealed, sl, &plain, &pl), PCA_OK);
	free(plain);
	free(sealed);
	json_decref(o);
	hsm_close(h);
	testlib_token_remove(&tok);
}

static void
profile_names(void **state)
{
	(void)state;
	assert_true(acme_profile_name_ok("short"));
	assert_true(acme_profile_name_ok("web_server.v2-x"));
	assert_false(acme_profile_name_ok(""));
	assert_false(acme_profile_name_ok("a b"));
	assert_false(acme_profile_name_ok("a/b"));
	assert_false(acme_profile_name_ok("012345678901234567890123456789012345"
					  "6789012345678901234567890123"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(window_default_and_marks, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(prune, setup, teardown),
	    cmocka_unit_test_setup_teardown(cert_info, setup, teardown),
	    cmocka_unit_test_setup_teardown(eab_sealed_at_start, setup,
		teardown),
	    cmocka_unit_test(profile_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
