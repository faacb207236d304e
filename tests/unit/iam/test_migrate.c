/*
 * test_migrate.c - the access-key store migration: version-1 records (a
 * Role) become the managed policy of the same name, once, audited; the
 * secret and everything else in the record are kept; the policy API reads
 * both shapes.
 */
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

#include <jansson.h>

#include "../../../api/api.h"
#include "../../../store/store.h"
#include "../testlib.h"

static char dir[TESTLIB_DIR_LEN];

static struct store *
open_store(void)
{
	return testlib_store_open(dir, 64 << 20);
}

static void
put_v1(struct store *s, const char *akid, const char *role, const char *status)
{
	char rec[512];

	(void)snprintf(rec, sizeof(rec),
	    "{\"Account\":\"111122223333\",\"CreatedAt\":1700000000,"
	    "\"Role\":\"%s\",\"Sealed\":\"c2VhbGVk\",\"Status\":\"%s\","
	    "\"v\":1}",
	    role, status);
	assert_int_equal(store_kv_put(s, "keys", akid, rec, strlen(rec), 1),
	    PCA_OK);
}

static json_t *
get_rec(struct store *s, const char *akid)
{
	uint8_t *v = NULL;
	size_t n;
	json_t *j;

	assert_int_equal(store_kv_get(s, "keys", akid, &v, &n), PCA_OK);
	j = json_loadb((const char *)v, n, 0, NULL);
	free(v);
	assert_non_null(j);
	return j;
}

struct audit_count {
	int migrations;
};

static int
audit_cb(uint64_t seq, int64_t when, const char *text, const uint8_t prev[32],
    void *arg)
{
	struct audit_count *a = arg;

	(void)seq;
	(void)when;
	(void)prev;
	if (strstr(text, "op=MigrateAccessKey") != NULL)
		a->migrations++;
	return 0;
}

static void
test_migrate(void **state)
{
	struct store *s;
	size_t n = 99;
	json_t *r;
	char *name = NULL, *doc = NULL, *acct = NULL;
	struct audit_count ac = {0};

	(void)state;
	s = open_store();
	put_v1(s, "AKIAOLDADMIN00000001", "admin", "ACTIVE");
	put_v1(s, "AKIAOLDISSUER0000002", "issuer", "ACTIVE");
	put_v1(s, "AKIAOLDAUDITOR000003", "auditor", "REVOKED");
	/* read before the migration: the role is the managed policy */
	assert_int_equal(
	    api_key_policy_get(s, "AKIAOLDISSUER0000002", &name, &doc, &acct),
	    PCA_OK);
	assert_string_equal(name, "issuer");
	assert_non_null(strstr(doc, "IssuerIssueEndEntity"));
	free(name);
	free(doc);
	free(acct);
	assert_int_equal(api_key_migrate(s, &n), PCA_OK);
	assert_int_equal(n, 3);
	r = get_rec(s, "AKIAOLDISSUER0000002");
	assert_null(json_object_get(r, "Role"));
	assert_int_equal(json_integer_value(json_object_get(r, "v")), 2);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(r, "Policy"), "Managed")),
	    "issuer");
	assert_int_equal(json_array_size(json_object_get(
			     json_object_get(r, "Policy"), "CAs")),
	    0);
	assert_string_equal(json_string_value(json_object_get(r, "Sealed")),
	    "c2VhbGVk");
	assert_string_equal(json_string_value(json_object_get(r, "Status")),
	    "ACTIVE");
	json_decref(r);
	r = get_rec(s, "AKIAOLDAUDITOR000003");
	assert_string_equal(json_string_value(json_object_get(r, "Status")),
	    "REVOKED");
	json_decref(r);
	/* idempotent */
	assert_int_equal(api_key_migrate(s, &n), PCA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_audit_foreach(s, 0, audit_cb, &ac), PCA_OK);
	assert_int_equal(ac.migrations, 3);
	assert_int_equal(
	    api_key_policy_get(s, "AKIAOLDADMIN00000001", &name, &doc, &acct),
	    PCA_OK);
	assert_string_equal(name, "admin");
	assert_string_equal(acct, "111122223333");
	free(name);
	free(doc);
	free(acct);
	store_close(s);
}

static void
test_bad_role(void **state)
{
	struct store *s;
	size_t n = 0;

	(void)state;
	s = open_store();
	put_v1(s, "AKIABADROLE000000001", "root", "ACTIVE");
	put_v1(s, "AKIAGOODROLE00000002", "auditor", "ACTIVE");
	assert_int_equal(api_key_migrate(s, &n), PCA_EDB);
	assert_non_null(strstr(pca_err_msg(), "unknown role"));
	assert_int_equal(n, 1); /* the good one is migrated all the same */
	store_close(s);
}

static void
test_policy_put(void **state)
{
	const char *bad = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
			  "\"acm-pca:IssueCertificate\",\"Resource\":\"*\","
			  "\"Condition\":{\"StringEqualz\":{}}}]}";
	const char *good = "{\"Version\":\"2012-10-17\",\"Statement\":"
			   "[{\"Effect\":\"Allow\",\"Action\":"
			   "\"acm-pca:GetCertificate\",\"Resource\":\"*\"}]}";
	const char *cas[] = {"arn:aws:acm-pca:us-east-1:111122223333:"
			     "certificate-authority/x"};
	struct api_key_spec sp;
	struct store *s;
	char *name = NULL, *doc = NULL, *acct = NULL;
	json_t *l = NULL;

	(void)state;
	s = open_store();
	put_v1(s, "AKIAPUT0000000000001", "admin", "ACTIVE");
	memset(&sp, 0, sizeof(sp));
	sp.policy = bad;
	assert_int_equal(api_key_policy_put(s, "AKIAPUT0000000000001", &sp),
	    PCA_EINVAL);
	assert_non_null(strstr(pca_err_msg(),
	    "Statement[0].Condition: unknown operator StringEqualz"));
	sp.policy = good;
	assert_int_equal(api_key_policy_put(s, "AKIAPUT0000000000001", &sp),
	    PCA_OK);
	assert_int_equal(
	    api_key_policy_get(s, "AKIAPUT0000000000001", &name, &doc, &acct),
	    PCA_OK);
	assert_string_equal(name, "custom");
	assert_non_null(strstr(doc, "acm-pca:GetCertificate"));
	free(name);
	free(doc);
	free(acct);
	memset(&sp, 0, sizeof(sp));
	sp.managed = "issuer";
	sp.cas = cas;
	sp.ncas = 1;
	assert_int_equal(api_key_policy_put(s, "AKIAPUT0000000000001", &sp),
	    PCA_OK);
	assert_int_equal(api_key_list(s, &l), PCA_OK);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(l, 0), "Policy")),
	    "issuer");
	assert_int_equal(
	    json_array_size(json_object_get(json_array_get(l, 0), "CAs")), 1);
	json_decref(l);
	sp.managed = "admin";
	assert_int_equal(api_key_policy_put(s, "AKIAPUT0000000000001", &sp),
	    PCA_EINVAL);
	assert_int_equal(api_key_policy_put(s, "AKIANOSUCHKEY0000001", &sp),
	    PCA_EINVAL);
	sp.ncas = 0;
	assert_int_equal(api_key_policy_put(s, "AKIANOSUCHKEY0000001", &sp),
	    PCA_ENOTFOUND);
	store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_prestate_setup_teardown(test_migrate,
		testlib_dir_setup, testlib_dir_teardown, dir),
	    cmocka_unit_test_prestate_setup_teardown(test_bad_role,
		testlib_dir_setup, testlib_dir_teardown, dir),
	    cmocka_unit_test_prestate_setup_teardown(test_policy_put,
		testlib_dir_setup, testlib_dir_teardown, dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
