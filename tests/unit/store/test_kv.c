/* test_kv.c - the generic records of store_generic.c. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "../../../store/store.h"
#include "../../../store/store_int.h" /* nested_runs */
#include "../testlib.h"

static char dir[64];

static struct store *
open_store(void)
{
	return testlib_store_open(dir, 64 << 20);
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
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-kv"), 0);
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
	testlib_dir_remove(dir);
}

static int
audit_cb(uint64_t seq, int64_t when, const char *text, const uint8_t prev[32],
    void *arg)
{
	char *last = arg;

	(void)seq;
	(void)prev;
	assert_int_equal(when, 1700000123);
	(void)snprintf(last, 128, "%s", text);
	return 0;
}

/* The certificate and its audit entry land in one commit. */
static void
test_complete_audit(void **state)
{
	const char *ca = "0b5d1a9e-3c5f-4a7e-9d2b-5e6f7a8b9c0d";
	struct store_cert c, got;
	struct store_verify_report rep;
	struct store *s;
	uint8_t tbs[] = {0x30, 0x00}, der[] = {0x30, 0x02, 0x30, 0x00};
	char last[128] = "";
	uint64_t seq;
	uint8_t head[32];

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-kv"), 0);
	s = open_store();
	memset(&c, 0, sizeof(c));
	memcpy(c.ca_id, ca, 37);
	c.serial[0] = 0x42;
	c.serial_len = 1;
	c.state = STORE_CERT_PENDING;
	c.not_after = 1800000000;
	c.tbs = tbs;
	c.tbs_len = sizeof(tbs);
	assert_int_equal(store_cert_reserve(s, &c), PCA_OK);
	c.der = der;
	c.der_len = sizeof(der);
	c.issued_at = 1700000123;
	assert_int_equal(store_cert_complete_audit(s, &c, "op=Issue serial=42"),
	    PCA_OK);
	/* a second completion is refused, and adds no audit entry */
	assert_int_equal(store_cert_complete_audit(s, &c, "op=Issue again"),
	    PCA_ESTATE);
	assert_int_equal(store_audit_head(s, &seq, head), PCA_OK);
	assert_int_equal(seq, 1);
	assert_int_equal(store_audit_foreach(s, 1, audit_cb, last), PCA_OK);
	assert_string_equal(last, "op=Issue serial=42");
	memset(&got, 0, sizeof(got));
	assert_int_equal(store_cert_get(s, ca, c.serial, 1, &got), PCA_OK);
	assert_int_equal(got.state, STORE_CERT_ISSUED);
	assert_int_equal(got.der_len, sizeof(der));
	store_cert_clear(&got);
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(store_verify(s, &rep, NULL, NULL, NULL), PCA_OK);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(rep.audit_entries, 1);
	store_close(s);
	testlib_dir_remove(dir);
}

/* Expired idempotency entries are purged; live ones stay. */
static void
test_idem_purge(void **state)
{
	struct store *s;
	char *r = NULL;
	size_t n = 99;

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-kv"), 0);
	s = open_store();
	assert_int_equal(store_idem_put(s, "old1", 100, "a", 50), PCA_OK);
	assert_int_equal(store_idem_put(s, "old2", 200, "b", 50), PCA_OK);
	assert_int_equal(store_idem_put(s, "live", 900, "c", 50), PCA_OK);
	assert_int_equal(store_idem_purge(s, 300, 0, &n), PCA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_idem_get(s, "live", 300, &r), PCA_OK);
	assert_string_equal(r, "c");
	free(r);
	assert_int_equal(store_idem_get(s, "old1", 50, &r), PCA_ENOTFOUND);
	assert_int_equal(store_idem_purge(s, 300, 0, &n), PCA_OK);
	assert_int_equal(n, 0);
	store_close(s);
	testlib_dir_remove(dir);
}

struct seen {
	char keys[8][16];
	int n;
};

static int
seen_cb(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct seen *x = arg;

	(void)val;
	(void)len;
	(void)snprintf(x->keys[x->n++], 16, "%s", key);
	return x->n == 8;
}

static pca_err
view_cb(const uint8_t *val, size_t len, void *arg)
{
	size_t *n = arg;

	assert_memory_equal(val, "bbb", 3);
	*n = len;
	return PCA_OK;
}

static pca_err
view_fail(const uint8_t *val, size_t len, void *arg)
{
	(void)val;
	(void)len;
	(void)arg;
	return pca_err_set(PCA_EPARSE, "not ours");
}

/* store_kv_batch (all or nothing), store_kv_view, store_kv_foreach_from. */
static void
test_kv_batch_view(void **state)
{
	struct store_kv_op ops[4] = {
	    {"ns", "001", "aaa", 3, 0}, {"ns", "002", "bbb", 3, 0},
	    {"ns", "003", "ccc", 3, 0},
	    {"ns", "nothere", NULL, 0, 1}, /* absent: fine */
	};
	struct store_kv_op bad[2] = {
	    {"ns", "004", "ddd", 3, 0},
	    {"", "x", "y", 1, 0}, /* invalid: nothing written */
	};
	struct store_kv_op del = {"ns", "001", NULL, 0, 1};
	struct seen x;
	struct store *s;
	size_t n = 0;
	uint8_t *v = NULL;

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-kv"), 0);
	s = open_store();
	assert_int_equal(store_kv_batch(s, ops, 4), PCA_OK);
	assert_int_equal(store_kv_view(s, "ns", "002", view_cb, &n), PCA_OK);
	assert_int_equal(n, 3);
	assert_int_equal(store_kv_view(s, "ns", "009", view_cb, &n),
	    PCA_ENOTFOUND);
	assert_int_equal(store_kv_view(s, "ns", "002", view_fail, NULL),
	    PCA_EPARSE);
	assert_int_not_equal(store_kv_batch(s, bad, 2), PCA_OK);
	assert_int_equal(store_kv_get(s, "ns", "004", &v, &n), PCA_ENOTFOUND);
	memset(&x, 0, sizeof(x));
	assert_int_equal(store_kv_foreach_from(s, "ns", "002", seen_cb, &x),
	    PCA_OK);
	assert_int_equal(x.n, 2);
	assert_string_equal(x.keys[0], "002");
	assert_string_equal(x.keys[1], "003");
	memset(&x, 0, sizeof(x));
	assert_int_equal(store_kv_foreach_from(s, "ns", "0015", seen_cb, &x),
	    PCA_OK);
	assert_int_equal(x.n, 2); /* from the first key >= "0015" */
	assert_int_equal(store_kv_batch(s, &del, 1), PCA_OK);
	memset(&x, 0, sizeof(x));
	assert_int_equal(store_kv_foreach_from(s, "ns", "", seen_cb, &x),
	    PCA_OK);
	assert_int_equal(x.n, 2);
	assert_string_equal(x.keys[0], "002");
	store_close(s);
	testlib_dir_remove(dir);
}

#define MIX_THREADS 8
#define MIX_N 60

struct mix {
	struct store *s;
	int t;
	int ok, refused;
};

/*
 * One writer of the group commit: a write that succeeds, then one that
 * writes a record and fails after it (the second op's namespace is empty),
 * which must be undone alone, whatever batch it shares.
 */
static void *
mix_writer(void *varg)
{
	struct mix *m = varg;
	char good[32], bad[32];
	int i;

	for (i = 0; i < MIX_N; i++) {
		struct store_kv_op g = {"mix", good, "v", 1, 0};
		struct store_kv_op b[2] = {{"mix", bad, "v", 1, 0},
		    {"", "x", "y", 1, 0}};

		(void)snprintf(good, sizeof(good), "good-%d-%d", m->t, i);
		(void)snprintf(bad, sizeof(bad), "bad-%d-%d", m->t, i);
		if (store_kv_batch(m->s, &g, 1) == PCA_OK)
			m->ok++;
		if (store_kv_batch(m->s, b, 2) != PCA_OK)
			m->refused++;
	}
	return NULL;
}

static int
mix_cb(const char *key, const uint8_t *val, size_t len, void *arg)
{
	int *n = arg;

	(void)val;
	(void)len;
	assert_true(strncmp(key, "good-", 5) == 0);
	(*n)++;
	return 0;
}

/*
 * Concurrent writers, half of whose writes fail half-way: with fsync on
 * the group commit gathers them into batches, each run flat first and run
 * again nested when one of its writes fails.  Every good write is kept,
 * nothing of a failed one is, and the nested re-run happened.
 */
static void
test_batch_failures(void **state)
{
	struct store_conf c = {NULL, 1 << 20, 64 << 20, 0, 0};
	struct mix m[MIX_THREADS];
	pthread_t th[MIX_THREADS];
	struct store *s;
	int i, n = 0, round;

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-kv"), 0);
	c.path = dir;
	assert_int_equal(store_open(&c, &s), PCA_OK);
	/* batches of several form under contention; a few rounds at most */
	for (round = 0; round < 10 && s->nested_runs == 0; round++) {
		for (i = 0; i < MIX_THREADS; i++) {
			m[i] = (struct mix){s, round * MIX_THREADS + i, 0, 0};
			assert_int_equal(
			    pthread_create(&th[i], NULL, mix_writer, &m[i]), 0);
		}
		for (i = 0; i < MIX_THREADS; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			assert_int_equal(m[i].ok, MIX_N);
			assert_int_equal(m[i].refused, MIX_N);
		}
	}
	print_message("%d rounds, %llu batches run again nested\n", round,
	    (unsigned long long)s->nested_runs);
	assert_true(s->nested_runs > 0);
	assert_int_equal(store_kv_foreach(s, "mix", mix_cb, &n), PCA_OK);
	assert_int_equal(n, round * MIX_THREADS * MIX_N);
	store_close(s);
	testlib_dir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_kv),
	    cmocka_unit_test(test_complete_audit),
	    cmocka_unit_test(test_idem_purge),
	    cmocka_unit_test(test_kv_batch_view),
	    cmocka_unit_test(test_batch_failures)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
