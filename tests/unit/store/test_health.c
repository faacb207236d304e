/*
 * test_health.c - store_health() on a real full disk (a small tmpfs) and a
 * full map, and store_cert_unreserve() (issue 15, defects 1 and 11).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../store/store.h"
#include "../testlib.h"

#define CA1 "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define MIB ((size_t)1 << 20)

static char *
tmpdir(void)
{
	return testlib_dir_new("pca-health");
}

static void
rmtree(char *dir)
{
	testlib_dir_remove(dir);
	free(dir);
}

static struct store *
open_store(const char *dir, size_t map, size_t max, unsigned flags)
{
	struct store_conf c = {dir, map, max, flags, 0};
	struct store *s = NULL;

	if (store_open(&c, &s) != PCA_OK)
		fail_msg("store_open %s: %s", dir, pca_err_msg());
	return s;
}

static void
mk_cert(struct store_cert *c, uint32_t serial, uint8_t *tbs, size_t len)
{
	testlib_store_cert(c, CA1, serial, 2000000000 + (int64_t)serial, tbs,
	    len);
}

/* Reserves until a write fails; the number reserved, the failure in *e. */
static size_t
fill(struct store *s, size_t tbs_len, pca_err *e)
{
	struct store_cert c;
	uint8_t *tbs = malloc(tbs_len);
	size_t i;

	assert_non_null(tbs);
	*e = PCA_OK;
	for (i = 0; i < 1000000; i++) {
		mk_cert(&c, (uint32_t)i, tbs, tbs_len);
		if ((*e = store_cert_reserve(s, &c)) != PCA_OK)
			break;
	}
	free(tbs);
	return i;
}

static void
noproblem(const char *msg, void *arg)
{
	(void)arg;
	fail_msg("store verify: %s", msg);
}

static void
test_unreserve(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC);
	struct store_verify_report rep;
	struct store_cert c, got;
	uint8_t tbs[64], der[100];
	size_t n;

	(void)state;
	mk_cert(&c, 1, tbs, sizeof(tbs));
	assert_int_equal(store_cert_reserve(s, &c), PCA_OK);
	mk_cert(&c, 2, tbs, sizeof(tbs));
	assert_int_equal(store_cert_reserve(s, &c), PCA_OK);
	memset(der, 0x30, sizeof(der));
	assert_int_equal(
	    store_cert_complete(s, CA1, c.serial, 5, der, sizeof(der)), PCA_OK);
	/* an issued certificate is never taken back */
	assert_int_equal(store_cert_unreserve(s, CA1, c.serial, 5), PCA_ESTATE);
	mk_cert(&c, 1, tbs, sizeof(tbs));
	assert_int_equal(store_cert_unreserve(s, CA1, c.serial, 5), PCA_OK);
	assert_int_equal(store_cert_get(s, CA1, c.serial, 5, &got),
	    PCA_ENOTFOUND);
	assert_int_equal(store_cert_unreserve(s, CA1, c.serial, 5),
	    PCA_ENOTFOUND);
	assert_int_equal(store_cert_count(s, NULL, &n), PCA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_verify(s, &rep, noproblem, NULL, NULL), PCA_OK);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(rep.pending, 0);
	assert_int_equal(rep.certs, 1);
	/* the serial may be reserved again (it was never signed) */
	assert_int_equal(store_cert_reserve(s, &c), PCA_OK);
	assert_int_equal(store_verify(s, &rep, noproblem, NULL, NULL), PCA_OK);
	assert_int_equal(rep.pending, 1);
	store_close(s);
	rmtree(dir);
}

/* A full map (no disk trouble): unhealthy once a write failed for it. */
static void
test_health_map_full(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, MIB, 2 * MIB, STORE_NOSYNC);
	size_t n;
	pca_err e;

	(void)state;
	assert_int_equal(store_health(s), PCA_OK);
	n = fill(s, 4096, &e);
	assert_int_equal(e, PCA_EDBFULL);
	assert_true(n > 10);
	assert_int_equal(store_health(s), PCA_EDBFULL);
	assert_non_null(strstr(pca_err_msg(), "store is full"));
	store_close(s);
	/* a larger maximum: healthy, and writes work */
	s = open_store(dir, MIB, 16 * MIB, STORE_NOSYNC);
	assert_int_equal(store_health(s), PCA_OK);
	store_close(s);
	rmtree(dir);
}

/*
 * Defect 11 of issue 15: the disk fills while the store is open.  Health
 * says so (it said "ok" while every write failed), and says ok again once
 * there is room, without reopening the store.
 */
static void
test_health_disk_full(void **state)
{
	char *dir = *state;
	struct store *s = open_store(dir, MIB, 64 * MIB, 0);
	struct store_cert c;
	uint8_t tbs[64];
	size_t n;
	pca_err e;
	int i;

	assert_int_equal(store_health(s), PCA_OK);
	n = fill(s, 8192, &e);
	assert_int_equal(e, PCA_EIO);
	assert_true(n > 10);
	assert_int_equal(store_health(s), PCA_EIO);
	assert_true(strstr(pca_err_msg(), "full") != NULL ||
		    strstr(pca_err_msg(), "fail") != NULL);
	/* still down a second later: the probe write fails too */
	(void)usleep(1100 * 1000);
	assert_int_equal(store_health(s), PCA_EIO);
	/* room again */
	assert_int_equal(
	    mount("tmpfs", dir, "tmpfs", MS_REMOUNT, "size=64m,mode=0700"), 0);
	for (i = 0; i < 40 && (e = store_health(s)) != PCA_OK; i++)
		(void)usleep(100 * 1000);
	if (e != PCA_OK)
		fail_msg("still unhealthy with room: %s", pca_err_msg());
	mk_cert(&c, 999999, tbs, sizeof(tbs));
	assert_int_equal(store_cert_reserve(s, &c), PCA_OK);
	assert_int_equal(store_health(s), PCA_OK);
	store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unreserve),
	    cmocka_unit_test(test_health_map_full),
	    cmocka_unit_test_prestate_setup_teardown(test_health_disk_full,
		testlib_tmpfs_setup, testlib_tmpfs_teardown, "4m"),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
