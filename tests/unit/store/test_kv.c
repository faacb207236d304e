/* test_kv.c - the generic records of store_generic.c. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "../../../store/store.h"

static char dir[64];

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static struct store *
open_store(void)
{
	struct store_conf c = {dir, 1 << 20, 64 << 20, STORE_NOSYNC, 0};
	struct store *s = NULL;

	assert_int_equal(store_open(&c, &s), PCA_OK);
	return s;
}

static int
count_cb(const char *key, const uint8_t *val, size_t len, void *arg)
{
	int *n = arg;

	assert_true(strncmp(key, "AKIA", 4) == 0);
	assert_true(len > 0 && val != NULL);
	(*n)++;
	return 0;
}

static void
test_kv(void **state)
{
	struct store *s;
	uint8_t *v = NULL;
	size_t len;
	int n = 0;

	(void)state;
	(void)snprintf(dir, sizeof(dir), "/tmp/pca-kv-XXXXXX");
	assert_non_null(mkdtemp(dir));
	s = open_store();
	assert_int_equal(store_kv_put(s, "keys", "AKIA1", "one", 3, 1), PCA_OK);
	assert_int_equal(store_kv_put(s, "keys", "AKIA1", "two", 3, 1),
	    PCA_EEXISTS);
	assert_int_equal(store_kv_put(s, "keys", "AKIA2", "two", 3, 1), PCA_OK);
	assert_int_equal(store_kv_put(s, "other", "AKIA3", "x", 1, 1), PCA_OK);
	assert_int_equal(store_kv_put(s, "keys", "AKIA2", "TWO", 3, 0), PCA_OK);
	assert_int_equal(store_kv_get(s, "keys", "AKIA2", &v, &len), PCA_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "TWO", 3);
	free(v);
	assert_int_equal(store_kv_foreach(s, "keys", count_cb, &n), PCA_OK);
	assert_int_equal(n, 2); /* the other namespace is not listed */
	assert_int_equal(store_kv_del(s, "keys", "AKIA1"), PCA_OK);
	assert_int_equal(store_kv_del(s, "keys", "AKIA1"), PCA_ENOTFOUND);
	assert_int_equal(store_kv_get(s, "keys", "AKIA1", &v, &len),
	    PCA_ENOTFOUND);
	assert_int_equal(store_kv_put(s, "", "k", "x", 1, 1), PCA_EINVAL);
	store_close(s);
	/* durable across a reopen */
	s = open_store();
	assert_int_equal(store_kv_get(s, "keys", "AKIA2", &v, &len), PCA_OK);
	assert_memory_equal(v, "TWO", 3);
	free(v);
	store_close(s);
	(void)nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_kv)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
