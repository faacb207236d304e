/*
 * test_copy.c - store_copy_fd (store_copy.c): a copy through a pipe and
 * into a file opens as a store with the same records, and the map has
 * room for as much again as the store uses before the copy starts.
 */
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../store/store.h"
#include "../testlib.h"

#define NREC 600

static char dir[64], dir2[64];

struct sink {
	int in, out;
	size_t n;
};

static void *
sink_main(void *arg)
{
	struct sink *k = arg;
	char buf[8192];
	ssize_t n;

	while ((n = read(k->in, buf, sizeof(buf))) > 0) {
		if (write(k->out, buf, (size_t)n) != n)
			break;
		k->n += (size_t)n;
	}
	return NULL;
}

static void
fill(struct store *s)
{
	char key[32], val[4000];
	int i;

	memset(val, 'v', sizeof(val));
	for (i = 0; i < NREC; i++) {
		(void)snprintf(key, sizeof(key), "k%04d", i);
		assert_int_equal(store_kv_put(s, "t", key, val, sizeof(val), 1),
		    PCA_OK);
	}
}

/* The copy in dir2 opens and holds the records. */
static void
check_copy(void)
{
	struct store_conf c = {dir2, 1 << 20, 64 << 20, STORE_NOSYNC, 0};
	struct store *s = NULL;
	uint8_t *v = NULL;
	size_t len;

	c.read_only = 1;
	assert_int_equal(store_open(&c, &s), PCA_OK);
	assert_int_equal(store_kv_get(s, "t", "k0599", &v, &len), PCA_OK);
	assert_int_equal(len, 4000);
	free(v);
	store_close(s);
}

static void
test_copy(void **state)
{
	struct store *s = NULL;
	struct sink k = {-1, -1, 0};
	char path[128];
	int p[2];
	pthread_t th;
	MDB_env *env = NULL;
	MDB_envinfo info;
	MDB_stat st;
	size_t used;

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-copy"), 0);
	assert_int_equal(testlib_dir_make(dir2, sizeof(dir2), "pca-copy2"), 0);
	s = testlib_store_open(dir, 64 << 20);
	fill(s);

	/* through a pipe, drained by another thread */
	(void)snprintf(path, sizeof(path), "%s/data.mdb", dir2);
	assert_int_equal(pipe(p), 0);
	k.in = p[0];
	k.out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(k.out >= 0);
	assert_int_equal(pthread_create(&th, NULL, sink_main, &k), 0);
	assert_int_equal(store_copy_fd(s, p[1]), PCA_OK);
	close(p[1]);
	pthread_join(th, NULL);
	close(p[0]);
	close(k.out);
	assert_true(k.n > (size_t)NREC * 4000);
	check_copy();

	/* into a regular file */
	assert_int_equal(unlink(path), 0);
	(void)snprintf(path, sizeof(path), "%s/lock.mdb", dir2);
	(void)unlink(path);
	(void)snprintf(path, sizeof(path), "%s/data.mdb", dir2);
	k.out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(k.out >= 0);
	assert_int_equal(store_copy_fd(s, k.out), PCA_OK);
	close(k.out);
	check_copy();

	/* a commit records the map size in the meta page: read it back */
	assert_int_equal(store_kv_put(s, "t", "last", "x", 1, 1), PCA_OK);
	store_close(s);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_env_info(env, &info), 0);
	assert_int_equal(mdb_env_stat(env, &st), 0);
	used = ((size_t)info.me_last_pgno + 1) * st.ms_psize;
	/* grown by whole 1 MiB steps to at least twice what was used */
	assert_true(info.me_mapsize + (1 << 20) >= 2 * used);
	assert_true(info.me_mapsize > used + (1 << 20));
	mdb_env_close(env);
	testlib_dir_remove(dir);
	testlib_dir_remove(dir2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
