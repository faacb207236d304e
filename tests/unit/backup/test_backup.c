/*
 * test_backup.c - backup/: s3:// URLs, an archive of a live store (tar
 * read back by tar(1), manifest fields, refusal to overwrite), and the
 * store's feed advance a replay relies on (the next record after the
 * shipped ones, a store that still verifies clean).
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

#include "../../../backup/backup.h"
#include "../../../ca/ca.h"
#include "../../../common/util.h"
#include "../../../store/store.h"
#include "../testlib.h"

#define CA1 "0b5d1a9e-3c5f-4a7e-9d2b-5e6f7a8b9c0d"

static char dir[64];

static struct store *
open_store(const char *path)
{
	return testlib_store_open(path, 256 << 20);
}

static void
test_s3_url(void **state)
{
	struct bk_s3 b;

	(void)state;
	memset(&b, 0, sizeof(b));
	assert_true(bk_is_s3("s3://bucket/x"));
	assert_false(bk_is_s3("/var/backups"));
	assert_int_equal(bk_s3_url_parse("s3://pca-backups/prod/", &b), PCA_OK);
	assert_string_equal(b.bucket, "pca-backups");
	assert_string_equal(b.key, "prod/");
	assert_int_equal(bk_s3_url_parse("s3://pca-backups", &b), PCA_OK);
	assert_string_equal(b.key, "");
	assert_err(bk_s3_url_parse("s3://ab/x", &b), PCA_EINVAL, "s3://");
	assert_err(bk_s3_url_parse("s3://Bad_Bucket/x", &b), PCA_EINVAL,
	    "bucket");
}

static int
count_cb(const struct store_change *c, void *arg)
{
	(void)c;
	(*(size_t *)arg)++;
	return 0;
}

static void
test_make(void **state)
{
	struct ca_engine_conf ec;
	struct bk_conf c;
	struct bk_archive b;
	struct store *st;
	char sdir[128], conf[128], file[128], out[160];
	char *list = NULL;
	char *const targv[] = {"tar", "tf", file, NULL};

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-bk"), 0);
	(void)snprintf(sdir, sizeof(sdir), "%s/data", dir);
	(void)snprintf(conf, sizeof(conf), "%s/pcad.conf", dir);
	(void)snprintf(file, sizeof(file), "%s/b.tar", dir);
	assert_int_equal(mkdir(sdir, 0700), 0);
	assert_int_equal(
	    util_file_write(conf, "[store]\npath = data\n", 20, 0600, 1),
	    PCA_OK);
	st = open_store(sdir);
	memset(&ec, 0, sizeof(ec));
	memset(&c, 0, sizeof(c));
	c.config_path = conf;
	c.dir = dir;
	c.region = "us-east-1";
	c.account = "111122223333";
	c.engine = &ec;
	memset(&b, 0, sizeof(b));
	if (bk_make(&c, st, file, &b) != PCA_OK)
		fail_msg("bk_make: %s", pca_err_msg());
	assert_string_equal(
	    json_string_value(json_object_get(b.manifest, "Format")),
	    BK_FORMAT);
	assert_true(json_is_integer(json_object_get(
	    json_object_get(b.manifest, "ChangeFeed"), "Sequence")));
	assert_int_equal(
	    json_integer_value(json_object_get(b.manifest, "Certificates")), 0);
	assert_int_equal(b.nparts, 2); /* data.mdb, pcad.conf */
	bk_free(&b);
	assert_int_equal(testlib_run_capture(targv, 1, &list), 0);
	(void)snprintf(out, sizeof(out),
	    "manifest.json\ndata.mdb\npcad.conf\n");
	assert_string_equal(list, out);
	free(list);
	/* never over an existing file */
	memset(&b, 0, sizeof(b));
	assert_err(bk_make(&c, st, file, &b), PCA_EEXISTS, "exists");
	bk_free(&b);
	store_close(st);
	testlib_dir_remove(dir);
}

static void
test_feed_advance(void **state)
{
	struct store_verify_report rep;
	struct store *st;
	uint64_t head = 0, cur = 0;
	size_t n = 0;

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-adv"), 0);
	st = open_store(dir);
	assert_int_equal(store_ca_put(st, CA1, "{}", 2, 1), PCA_OK);
	assert_int_equal(store_feed_head(st, &head), PCA_OK);
	assert_true(head >= 1);
	/* below the head: nothing happens */
	assert_int_equal(store_feed_advance(st, head), PCA_OK);
	assert_int_equal(store_changes_after(st, 0, 0, count_cb, &n, NULL),
	    PCA_OK);
	assert_int_equal(n, head);
	/* beyond: the next record is 101, the store still verifies */
	assert_int_equal(store_feed_advance(st, 100), PCA_OK);
	assert_int_equal(store_feed_head(st, &head), PCA_OK);
	assert_int_equal(head, 100);
	assert_int_equal(store_feed_ack(st, BK_FEED_NAME, 100), PCA_OK);
	assert_int_equal(store_ca_put(st, CA1, "{\"a\":1}", 7, 0), PCA_OK);
	assert_int_equal(store_feed_head(st, &head), PCA_OK);
	assert_int_equal(head, 101);
	assert_int_equal(store_feed_follow(st, BK_FEED_NAME, &cur), PCA_OK);
	assert_int_equal(cur, 100);
	n = 0;
	assert_int_equal(store_changes_after(st, 0, 0, count_cb, &n, NULL),
	    PCA_OK);
	assert_int_equal(n, 1);
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(store_verify(st, &rep, NULL, NULL, NULL), PCA_OK);
	assert_int_equal(rep.errors, 0);
	store_close(st);
	testlib_dir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_s3_url),
	    cmocka_unit_test(test_make),
	    cmocka_unit_test(test_feed_advance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
