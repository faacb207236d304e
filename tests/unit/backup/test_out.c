/*
 * test_out.c - backup/out.c, the writer a backup's archive goes through,
 * and the file helpers around it: every byte lands in order and in the
 * digest whatever the pieces' sizes, O_DIRECT or through the page cache
 * (and for a tail that is not whole blocks); files are hashed the same
 * read past the cache; a large scratch file is removed in steps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../backup/backup.h"
#include "../../../backup/backup_int.h"
#include "../../../common/util.h"
#include "../testlib.h"

static char dir[64];

/* A byte pattern no misplaced block can match by chance. */
static uint8_t
pattern(size_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13);
}

static void
sha256_hex(const uint8_t *p, size_t n, char hex[65])
{
	uint8_t md[32];

	assert_true(EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL));
	util_hex(md, sizeof(md), hex, 65, 0);
}

/* Writes total bytes through a bk_out in pieces of odd sizes. */
static void
write_through(const char *path, size_t total, int want_direct)
{
	static const size_t piece[] = {1, 4095, 4097, 65536, 1048577, 333};
	struct bk_out o;
	uint8_t *src = malloc(total), *back = malloc(total + 1), md[32];
	char hex[65], want[65];
	size_t i, off = 0, n;
	uint64_t size = 0;
	struct stat sb;
	int fd;

	assert_non_null(src);
	assert_non_null(back);
	for (i = 0; i < total; i++)
		src[i] = pattern(i);
	memset(&o, 0, sizeof(o));
	o.fd = bk_out_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600,
	    &o.direct);
	assert_true(o.fd >= 0);
	/* the test directory is on the root filesystem (ext4 here and in
	 * CI), which takes O_DIRECT: the path under test must be the one run */
	if (want_direct && !o.direct)
		fail_msg("%s: no O_DIRECT on this filesystem", path);
	if (!want_direct && o.direct) {
		int fl = fcntl(o.fd, F_GETFL);

		assert_int_equal(fcntl(o.fd, F_SETFL, fl & ~O_DIRECT), 0);
		o.direct = 0;
	}
	o.name = path;
	o.md = EVP_MD_CTX_new();
	assert_non_null(o.md);
	assert_int_equal(EVP_DigestInit_ex(o.md, EVP_sha256(), NULL), 1);
	assert_int_equal(bk_out_start(&o), PCA_OK);
	for (i = 0; off < total; i++) {
		n = piece[i % (sizeof(piece) / sizeof(piece[0]))];
		if (n > total - off)
			n = total - off;
		assert_int_equal(bk_out_write(&o, src + off, n), PCA_OK);
		off += n;
	}
	assert_int_equal(bk_out_flush(&o), PCA_OK);
	assert_int_equal(o.done, total);
	assert_int_equal(o.synced, total);
	assert_int_equal(EVP_DigestFinal_ex(o.md, md, NULL), 1);
	util_hex(md, sizeof(md), hex, sizeof(hex), 0);
	EVP_MD_CTX_free(o.md);
	bk_out_end(&o);
	close(o.fd);
	/* on disk exactly, and the digest is of those bytes */
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal((size_t)sb.st_size, total);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(read(fd, back, total + 1), (ssize_t)total);
	close(fd);
	assert_memory_equal(back, src, total);
	sha256_hex(src, total, want);
	assert_string_equal(hex, want);
	/* and bk_file_hash (O_DIRECT reads, a short last one) agrees */
	assert_int_equal(bk_file_hash(path, hex, &size), PCA_OK);
	assert_string_equal(hex, want);
	assert_int_equal(size, total);
	free(src);
	free(back);
}

static void
test_out_direct(void **state)
{
	char path[128];

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-out"), 0);
	/* whole steps, whole blocks, then a tail that is neither */
	(void)snprintf(path, sizeof(path), "%s/a", dir);
	write_through(path, 2 * BK_OUT_STEP, 1);
	(void)snprintf(path, sizeof(path), "%s/b", dir);
	write_through(path, 3 * BK_OUT_STEP + 8192, 1);
	(void)snprintf(path, sizeof(path), "%s/c", dir);
	write_through(path, 3 * BK_OUT_STEP + 1234, 1);
	(void)snprintf(path, sizeof(path), "%s/d", dir);
	write_through(path, 700, 1);
	(void)snprintf(path, sizeof(path), "%s/e", dir);
	write_through(path, 0, 1);
	testlib_dir_remove(dir);
}

static void
test_out_buffered(void **state)
{
	char path[128];

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-out"), 0);
	(void)snprintf(path, sizeof(path), "%s/a", dir);
	write_through(path, 3 * BK_OUT_STEP + 1234, 0);
	(void)snprintf(path, sizeof(path), "%s/b", dir);
	write_through(path, 5, 0);
	testlib_dir_remove(dir);
}

/* A scratch file larger than a shrink step goes, in steps, with its dir. */
static void
test_rm_tree(void **state)
{
	char sub[128], path[160];
	struct stat sb;
	int fd;

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-rm"), 0);
	(void)snprintf(sub, sizeof(sub), "%s/scratch", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	(void)snprintf(path, sizeof(path), "%s/data.mdb", sub);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0);
	/* 100 MiB and a bit: sparse, but sized as a copy would be */
	assert_int_equal(ftruncate(fd, ((off_t)100 << 20) + 4096), 0);
	assert_int_equal(pwrite(fd, "x", 1, (off_t)100 << 20), 1);
	close(fd);
	(void)snprintf(path, sizeof(path), "%s/small", sub);
	assert_int_equal(util_file_write(path, "y", 1, 0600, 0), PCA_OK);
	bk_rm_tree(sub);
	assert_int_equal(stat(sub, &sb), -1);
	testlib_dir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_out_direct),
	    cmocka_unit_test(test_out_buffered),
	    cmocka_unit_test(test_rm_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
