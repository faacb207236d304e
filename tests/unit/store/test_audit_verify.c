/*
 * test_audit_verify.c - store_audit_verify: an intact chain checks to its
 * head; an entry altered on disk (through LMDB directly, behind the
 * store's back) is named as the break.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "../../../store/store.h"
#include "../testlib.h"

static char dir[64];

static struct store *
open_store(void)
{
	return testlib_store_open(dir, 64 << 20);
}

/* Flips one byte of the text of audit entry seq. */
static void
tamper(uint64_t seq)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k, v, nv;
	uint8_t key[8], copy[512];
	int i;

	for (i = 0; i < 8; i++)
		key[i] = (uint8_t)(seq >> (56 - 8 * i));
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 64 << 20), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "audit", 0, &dbi), 0);
	k.mv_size = 8;
	k.mv_data = key;
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_true(v.mv_size <= sizeof(copy));
	memcpy(copy, v.mv_data, v.mv_size);
	copy[v.mv_size - 1] ^= 1;
	nv.mv_size = v.mv_size;
	nv.mv_data = copy;
	assert_int_equal(mdb_put(txn, dbi, &k, &nv, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void
test_chain_verifies_then_breaks(void **state)
{
	struct store_audit_check chk;
	struct store *s;
	uint64_t seq;
	char line[64];
	int i;

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-audv"), 0);
	s = open_store();
	assert_int_equal(store_audit_verify(s, &chk), PCA_OK);
	assert_int_equal(chk.entries, 0);
	assert_int_equal(chk.broken_at, 0);
	for (i = 1; i <= 10; i++) {
		(void)snprintf(line, sizeof(line), "op=Test n=%d", i);
		assert_int_equal(store_audit_append(s, 1000 + i, line, &seq),
		    PCA_OK);
	}
	assert_int_equal(store_audit_verify(s, &chk), PCA_OK);
	assert_int_equal(chk.entries, 10);
	assert_int_equal(chk.last, 10);
	assert_int_equal(chk.broken_at, 0);
	store_close(s);
	tamper(4);
	s = open_store();
	assert_int_equal(store_audit_verify(s, &chk), PCA_OK);
	/* entry 4 itself reads fine; entry 5 no longer carries its hash */
	assert_int_equal(chk.broken_at, 5);
	assert_int_equal(chk.entries, 4);
	store_close(s);
	tamper(10); /* the last one: only the head can tell */
	tamper(4);  /* 4 restored */
	s = open_store();
	assert_int_equal(store_audit_verify(s, &chk), PCA_OK);
	assert_int_equal(chk.broken_at, 10);
	store_close(s);
	testlib_dir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_verifies_then_breaks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
