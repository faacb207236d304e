/*
 * test_outbox.c - the outbox as the OCSP publisher uses it
 * (store_outbox.c): objects committed with kv records, versions taken
 * from the recorded one, a paged walk of a large queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../../store/store.h"
#include "../testlib.h"

static char dir[64];

static struct store *
open_store(void)
{
	return testlib_store_open(dir, 64 << 20);
}

static void
test_put_kv_auto_version(void **state)
{
	struct store *s;
	struct store_obj o;
	struct store_obj_in in = {"p/ocsp/aa/bb/01", 0, "{\"bucket\":\"b\"}",
	    (const uint8_t *)"der1", 4};
	struct store_kv_op op = {"ocsp", "k1", "v", 1, 0};
	struct store_kv_op bad = {"outbox", "x", "v", 1, 0};
	uint8_t *v = NULL;
	size_t n;

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-ob"), 0);
	s = open_store();
	assert_int_equal(store_obj_put_kv(s, &in, 1, &op, 1), PCA_OK);
	assert_int_equal(store_obj_get(s, in.key, &o), PCA_OK);
	assert_int_equal(o.version, 1);
	store_obj_clear(&o);
	assert_int_equal(store_kv_get(s, "ocsp", "k1", &v, &n), PCA_OK);
	free(v);
	in.body = (const uint8_t *)"der2";
	assert_int_equal(store_obj_put_kv(s, &in, 1, NULL, 0), PCA_OK);
	assert_int_equal(store_obj_get(s, in.key, &o), PCA_OK);
	assert_int_equal(o.version, 2);
	assert_memory_equal(o.body, "der2", 4);
	store_obj_clear(&o);
	/* the outbox's own records are not for callers; nothing is written */
	in.body = (const uint8_t *)"der3";
	assert_int_equal(store_obj_put_kv(s, &in, 1, &bad, 1), PCA_EINVAL);
	pca_err_clear();
	assert_int_equal(store_obj_get(s, in.key, &o), PCA_OK);
	assert_int_equal(o.version, 2);
	store_obj_clear(&o);
	/* store_obj_put still wants an explicit version */
	assert_int_equal(store_obj_put(s, &in, 1, NULL), PCA_EINVAL);
	pca_err_clear();
	/* dropped with a record: no object, nothing queued, record gone */
	{
		const char *keys[] = {in.key, "absent/key"};
		struct store_kv_op del = {"ocsp", "k1", NULL, 0, 1};
		struct store_outbox_ent *q = NULL;

		assert_int_equal(store_obj_drop_kv(s, keys, 2, &del, 1),
		    PCA_OK);
		assert_int_equal(store_obj_get(s, in.key, &o), PCA_ENOTFOUND);
		pca_err_clear();
		assert_int_equal(store_kv_get(s, "ocsp", "k1", &v, &n),
		    PCA_ENOTFOUND);
		pca_err_clear();
		assert_int_equal(store_outbox_list(s, &q, &n), PCA_OK);
		assert_int_equal(n, 0);
		free(q);
	}
	store_close(s);
	testlib_dir_remove(dir);
}

static void
test_page(void **state)
{
	struct store *s;
	struct store_obj_in in[10];
	struct store_outbox_ent *v = NULL;
	char keys[1000][32], last[STORE_OBJ_KEY_MAX + 1] = "";
	size_t i, n, seen = 0;

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-ob"), 0);
	s = open_store();
	for (i = 0; i < 1000; i++) {
		(void)snprintf(keys[i], sizeof(keys[i]), "k/%04zu", i);
		in[i % 10] = (struct store_obj_in){keys[i], 0, "{}",
		    (const uint8_t *)"x", 1};
		if (i % 10 == 9)
			assert_int_equal(store_obj_put_kv(s, in, 10, NULL, 0),
			    PCA_OK);
	}
	/* pages of 64 in key order, each starting after the last key */
	do {
		assert_int_equal(store_outbox_page(s, last, 64, &v, &n),
		    PCA_OK);
		assert_true(n <= 64);
		for (i = 0; i < n; i++)
			assert_string_equal(v[i].key, keys[seen + i]);
		seen += n;
		if (n > 0)
			(void)snprintf(last, sizeof(last), "%s", v[n - 1].key);
		free(v);
	} while (n == 64);
	assert_int_equal(seen, 1000);
	/* a finished entry leaves the queue; the walk goes on after it */
	assert_int_equal(store_outbox_done(s, "k/0005", 1, 1, "ok", 1), PCA_OK);
	assert_int_equal(store_outbox_page(s, "k/0004", 2, &v, &n), PCA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].key, "k/0006");
	/* many results in one commit; a superseded version stays queued */
	v[1].version = 7;
	assert_int_equal(store_outbox_done_many(s, v, 2, 2), PCA_OK);
	free(v);
	assert_int_equal(store_outbox_page(s, "k/0005", 2, &v, &n), PCA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].key, "k/0007");
	assert_string_equal(v[1].key, "k/0008");
	free(v);
	store_close(s);
	testlib_dir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest t[] = {
	    cmocka_unit_test(test_put_kv_auto_version),
	    cmocka_unit_test(test_page),
	};

	return cmocka_run_group_tests(t, NULL, NULL);
}
