/*
 * test_index.c - the inventory indexes: each walk returns exactly the
 * expected certificates in not_after order, resumes after a cursor, stops
 * at max_scan; entries follow complete and revoke; a store made before the
 * "inv" database existed gets it built when opened writable and is walked
 * (through the expiry index) when opened read-only; a page of valid
 * certificates seeks past any number of revoked ones ('v' entries, added
 * to an older store when it is opened writable).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <ftw.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "../../../store/store.h"
#include "../testlib.h"

#define CA1 "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define CA2 "ffffffff-0000-4000-8000-000000000001"
#define NCERT 300
#define T0 1700000000LL

static struct store *
open_at(const char *dir, int ro)
{
	struct store_conf c = {0};
	struct store *s = NULL;

	c.path = dir;
	c.flags = STORE_NOSYNC;
	c.read_only = ro;
	assert_int_equal(store_open(&c, &s), PCA_OK);
	return s;
}

/* cert i: CA i%2, template i%3, not_after T0 + (i*37)%NCERT hours,
 * PENDING when i%10 == 0, revoked when i%7 == 0 (and not PENDING). */
static void
fill(struct store *s)
{
	static const char *const t[] = {"A/V1", "B/V1", "C/V1"};
	uint8_t tbs[3] = {0x30, 0x01, 0x00}, der[4] = {0x30, 0x02, 0x05, 0};
	struct store_cert c;
	int i;

	for (i = 0; i < NCERT; i++) {
		memset(&c, 0, sizeof(c));
		memcpy(c.ca_id, i % 2 ? CA2 : CA1, sizeof(CA1));
		c.serial[0] = 1;
		c.serial[1] = (uint8_t)(i >> 8);
		c.serial[2] = (uint8_t)i;
		c.serial_len = 3;
		c.not_after = T0 + (int64_t)((i * 37) % NCERT) * 3600;
		(void)snprintf(c.template_name, sizeof(c.template_name), "%s",
		    t[i % 3]);
		c.tbs = tbs;
		c.tbs_len = sizeof(tbs);
		assert_int_equal(store_cert_reserve(s, &c), PCA_OK);
		if (i % 10 == 0)
			continue;
		assert_int_equal(store_cert_complete(s, c.ca_id, c.serial, 3,
				     der, sizeof(der)),
		    PCA_OK);
		if (i % 7 == 0)
			assert_int_equal(
			    store_cert_revoke(s, c.ca_id, c.serial, 3, T0, 1),
			    PCA_OK);
	}
}

/* A fresh store in a new directory dir (64 bytes), filled; open. */
static struct store *
filled(char *dir)
{
	struct store *s;

	assert_int_equal(testlib_dir_make(dir, 64, "pca-index"), 0);
	s = open_at(dir, 0);
	fill(s);
	return s;
}

struct got {
	int seen[NCERT];
	size_t n, limit;
	int64_t last;
	int ordered;
	uint8_t cur[STORE_INV_CURSOR_MAX];
	size_t cur_len;
};

static int
got_cb(const struct store_cert *c, const uint8_t *cur, size_t len, void *arg)
{
	struct got *g = arg;
	int i = c->serial[1] << 8 | c->serial[2];

	if (g->limit && g->n == g->limit)
		return 1;
	g->seen[i]++;
	if (g->n++ && c->not_after < g->last)
		g->ordered = 0;
	g->last = c->not_after;
	memcpy(g->cur, cur, len);
	g->cur_len = len;
	return 0;
}

static int
want(int i, const struct store_inv_query *q)
{
	int64_t na = T0 + (int64_t)((i * 37) % NCERT) * 3600;
	int pend = i % 10 == 0, rev = !pend && i % 7 == 0;
	static const char *const t[] = {"A/V1", "B/V1", "C/V1"};

	if (q->ca_id && strcmp(q->ca_id, i % 2 ? CA2 : CA1) != 0)
		return 0;
	if (q->tmpl && strcmp(q->tmpl, t[i % 3]) != 0)
		return 0;
	if (na < q->from || na >= q->to)
		return 0;
	switch (q->state) {
	case STORE_INV_PENDING:
		return pend;
	case STORE_INV_REVOKED:
		return rev;
	case STORE_INV_VALID:
		return !pend && !rev;
	default:
		return 1;
	}
}

static void
check_query(struct store *s, const struct store_inv_query *q)
{
	struct got g;
	int i;

	memset(&g, 0, sizeof(g));
	g.ordered = 1;
	assert_int_equal(store_inv_foreach(s, q, got_cb, &g, NULL), PCA_OK);
	for (i = 0; i < NCERT; i++)
		assert_int_equal(g.seen[i], want(i, q));
	assert_true(g.ordered);
}

static void
check_all(struct store *s)
{
	static const enum store_inv_state st[] = {STORE_INV_ANY,
	    STORE_INV_PENDING, STORE_INV_REVOKED, STORE_INV_VALID};
	struct store_inv_query q;
	size_t a, b, c;

	for (a = 0; a < 4; a++)
		for (b = 0; b < 3; b++)
			for (c = 0; c < 3; c++) {
				memset(&q, 0, sizeof(q));
				q.state = st[a];
				q.ca_id = b == 1 ? CA1 : b == 2 ? CA2 : NULL;
				q.tmpl = c == 1 ? "B/V1" : NULL;
				q.from = c == 2 ? T0 + 50 * 3600 : INT64_MIN;
				q.to = c == 2 ? T0 + 90 * 3600 : INT64_MAX;
				check_query(s, &q);
			}
}

/* Entries in the "inv" database, read with LMDB directly. */
static size_t
inv_entries(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "inv", 0, &dbi), 0);
	assert_int_equal(mdb_stat(txn, dbi, &st), 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return st.ms_entries;
}

/* Deletes (del) or adds a stray entry in "inv" with LMDB directly. */
static void
inv_tamper(const char *dir, int del)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "inv", 0, &dbi), 0);
	if (del) {
		assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
		assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
		assert_int_equal(mdb_cursor_del(cur, 0), 0);
		mdb_cursor_close(cur);
	} else {
		k.mv_data = "p\x80\0\0\0\0\0\0\0stray";
		k.mv_size = 14;
		v.mv_data = "";
		v.mv_size = 0;
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

struct msgs {
	int inventory;
};

static void
note(const char *msg, void *arg)
{
	struct msgs *m = arg;

	if (strstr(msg, "inventory") != NULL)
		m->inventory++;
}

/* store_verify notices a missing and a stray inventory entry. */
static void
test_verify_index(void **state)
{
	char dir[64];
	struct store_verify_report rep;
	struct msgs m;
	struct store *s;
	int del;

	(void)state;
	for (del = 1; del >= 0; del--) { /* a missing, then a stray */
		s = filled(dir);
		memset(&m, 0, sizeof(m));
		assert_int_equal(store_verify(s, &rep, note, NULL, &m), PCA_OK);
		assert_int_equal(rep.errors, 0);
		store_close(s);
		inv_tamper(dir, del);
		s = open_at(dir, 0);
		memset(&m, 0, sizeof(m));
		assert_int_equal(store_verify(s, &rep, note, NULL, &m), PCA_OK);
		/* missing: the entry and the count; stray: the count */
		assert_int_equal(rep.errors, del ? 2 : 1);
		assert_int_equal(m.inventory, del ? 2 : 1);
		store_close(s);
		testlib_dir_remove(dir);
	}
}

/* Purging a CA removes its inventory entries, not only its records. */
static void
test_purge(void **state)
{
	char dir[64];
	struct store *s;
	size_t before, half;

	(void)state;
	s = filled(dir);
	store_close(s);
	before = inv_entries(dir);
	assert_true(before > 2 * NCERT);
	s = open_at(dir, 0);
	assert_int_equal(store_ca_purge(s, CA1), PCA_OK);
	store_close(s);
	half = inv_entries(dir);
	assert_true(half > 0 && half < before);
	s = open_at(dir, 0);
	assert_int_equal(store_ca_purge(s, CA2), PCA_OK);
	store_close(s);
	assert_int_equal(inv_entries(dir), 0);
	testlib_dir_remove(dir);
}

static void
test_filters(void **state)
{
	char dir[64];
	struct store *s;

	(void)state;
	s = filled(dir);
	check_all(s);
	store_close(s);
	testlib_dir_remove(dir);
}

static void
test_resume(void **state)
{
	char dir[64];
	struct store_inv_query q;
	struct store_inv_pos end;
	struct got g;
	struct store *s;
	int i, total = 0, pages = 0;

	(void)state;
	s = filled(dir);
	memset(&g, 0, sizeof(g));
	memset(&q, 0, sizeof(q));
	q.ca_id = CA2;
	q.from = INT64_MIN;
	q.to = INT64_MAX;
	q.max_scan = 13;
	do {
		assert_int_equal(store_inv_foreach(s, &q, got_cb, &g, &end),
		    PCA_OK);
		q.after = end.cursor;
		q.after_len = end.len;
		pages++;
	} while (end.more);
	for (i = 0; i < NCERT; i++) {
		assert_int_equal(g.seen[i], i % 2);
		total += g.seen[i];
	}
	assert_int_equal(total, NCERT / 2);
	assert_true(pages >= NCERT / 2 / 13);
	q.ca_id = CA1; /* a cursor of the CA2 walk */
	assert_int_equal(store_inv_foreach(s, &q, got_cb, &g, &end),
	    PCA_EINVAL);
	store_close(s);
	testlib_dir_remove(dir);
}

/* Drops the "inv" database, as a store made before it existed. */
static void
drop_inv(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 64 << 20), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "inv", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void
test_old_store(void **state)
{
	char dir[64];
	struct store *s;

	(void)state;
	s = filled(dir);
	store_close(s);
	drop_inv(dir);
	s = open_at(dir, 1); /* read-only: walks the expiry index */
	check_all(s);
	store_close(s);
	s = open_at(dir, 0); /* writable: builds the index */
	check_all(s);
	store_close(s);
	testlib_dir_remove(dir);
}

/*
 * Regression (make bench-scale at 10M: the "expiring within 30 days" page
 * came back empty): RUN revoked certificates expire first in the range,
 * more than max_scan, then VALID valid ones, then one revoked while
 * PENDING and completed after.  A Status ISSUED page must
 * hold the valid ones, not spend its scan budget on the revoked.
 */
#define RUN 250 /* RUN + VALID <= NCERT (struct got) */
#define VALID 5
static struct store *
revoked_first(char *dir)
{
	uint8_t tbs[3] = {0x30, 0x01, 0x00}, der[4] = {0x30, 0x02, 0x05, 0};
	struct store_cert c;
	struct store *s;
	int i;

	assert_int_equal(testlib_dir_make(dir, 64, "pca-index"), 0);
	s = open_at(dir, 0);
	for (i = 0; i <= RUN + VALID; i++) { /* the last: revoked PENDING */
		memset(&c, 0, sizeof(c));
		memcpy(c.ca_id, CA1, sizeof(CA1));
		c.serial[0] = 1;
		c.serial[1] = (uint8_t)(i >> 8);
		c.serial[2] = (uint8_t)i;
		c.serial_len = 3;
		c.not_after = T0 + i;
		(void)snprintf(c.template_name, sizeof(c.template_name),
		    "A/V1");
		c.tbs = tbs;
		c.tbs_len = sizeof(tbs);
		assert_int_equal(store_cert_reserve(s, &c), PCA_OK);
		if (i == RUN + VALID)
			assert_int_equal(
			    store_cert_revoke(s, CA1, c.serial, 3, T0, 1),
			    PCA_OK);
		assert_int_equal(
		    store_cert_complete(s, CA1, c.serial, 3, der, sizeof(der)),
		    PCA_OK);
		if (i < RUN)
			assert_int_equal(
			    store_cert_revoke(s, CA1, c.serial, 3, T0, 1),
			    PCA_OK);
	}
	return s;
}

/* One page of valid certificates from T0 (ca: the CA filter or NULL). */
static void
valid_page(struct store *s, const char *ca, size_t want_n)
{
	struct store_inv_query q;
	struct store_inv_pos end;
	struct got g;
	int i;

	memset(&g, 0, sizeof(g));
	memset(&q, 0, sizeof(q));
	q.state = STORE_INV_VALID;
	q.ca_id = ca;
	q.from = T0;
	q.to = INT64_MAX;
	q.max_scan = RUN / 8;
	assert_int_equal(store_inv_foreach(s, &q, got_cb, &g, &end), PCA_OK);
	assert_int_equal(g.n, want_n);
	for (i = RUN; i < RUN + (int)want_n; i++)
		assert_int_equal(g.seen[i], 1);
}

static void
test_revoked_run(void **state)
{
	char dir[64];
	struct store_verify_report rep;
	struct store *s;

	(void)state;
	s = revoked_first(dir);
	valid_page(s, NULL, VALID);
	valid_page(s, CA1, VALID);
	assert_int_equal(store_verify(s, &rep, NULL, NULL, NULL), PCA_OK);
	assert_int_equal(rep.errors, 0);
	store_close(s);
	testlib_dir_remove(dir);
}

/* Removes the 'v' entries and their meta marker: a store made before. */
static void
drop_valid(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 64 << 20), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "inv", 0, &dbi), 0);
	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	k.mv_data = "v";
	k.mv_size = 1;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && ((const char *)k.mv_data)[0] == 'v') {
		assert_int_equal(mdb_cursor_del(cur, 0), 0);
		rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
	}
	mdb_cursor_close(cur);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	k.mv_data = "inv_valid";
	k.mv_size = 9;
	assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* A store without 'v' entries: right answers read-only, built writable. */
static void
test_old_valid(void **state)
{
	char dir[64];
	struct store_verify_report rep;
	struct store *s;
	size_t with;

	(void)state;
	s = filled(dir);
	store_close(s);
	with = inv_entries(dir);
	drop_valid(dir);
	assert_true(inv_entries(dir) < with);
	s = open_at(dir, 1);
	check_all(s);
	assert_int_equal(store_verify(s, &rep, NULL, NULL, NULL), PCA_OK);
	assert_int_equal(rep.errors, 0);
	store_close(s);
	s = open_at(dir, 0);
	check_all(s);
	store_close(s);
	assert_int_equal(inv_entries(dir), with);
	testlib_dir_remove(dir);
	s = revoked_first(dir);
	store_close(s);
	drop_valid(dir);
	s = open_at(dir, 0);
	valid_page(s, NULL, VALID);
	assert_int_equal(store_verify(s, &rep, NULL, NULL, NULL), PCA_OK);
	assert_int_equal(rep.errors, 0);
	store_close(s);
	testlib_dir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_resume),
	    cmocka_unit_test(test_old_store),
	    cmocka_unit_test(test_purge),
	    cmocka_unit_test(test_verify_index),
	    cmocka_unit_test(test_revoked_run),
	    cmocka_unit_test(test_old_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
