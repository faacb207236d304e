/* testlib.c - temporary directories and command runners for tests/unit/. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../common/buf.h"
#include "../../common/util.h"
#include "testlib.h"

int
testlib_dir_make(char *dir, size_t n, const char *prefix)
{
	int w = snprintf(dir, n, "/tmp/%s-XXXXXX", prefix);

	if (w < 0 || (size_t)w >= n || mkdtemp(dir) == NULL) {
		if (n > 0)
			dir[0] = '\0';
		return -1;
	}
	return 0;
}

char *
testlib_dir_new(const char *prefix)
{
	char *d = malloc(TESTLIB_DIR_LEN);

	if (d == NULL || testlib_dir_make(d, TESTLIB_DIR_LEN, prefix) != 0)
		fail_msg("cannot make a directory /tmp/%s-*", prefix);
	return d;
}

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

void
testlib_dir_remove(const char *dir)
{
	if (dir != NULL && dir[0] != '\0')
		(void)nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int
testlib_tmpfs_setup(void **state)
{
	const char *size = *state;
	char opts[64], *dir = malloc(64);

	*state = NULL;
	if (dir == NULL || testlib_dir_make(dir, 64, "pca-tmpfs") != 0) {
		print_error("cannot make a directory for a tmpfs\n");
		free(dir);
		return -1;
	}
	(void)snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	if (mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
		print_error("cannot mount a tmpfs on %s (%s): this test needs "
			    "root or CAP_SYS_ADMIN\n",
		    dir, strerror(errno));
		testlib_dir_remove(dir);
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

int
testlib_tmpfs_teardown(void **state)
{
	char *dir = *state;

	if (dir != NULL) {
		(void)umount2(dir, MNT_DETACH);
		testlib_dir_remove(dir);
		free(dir);
	}
	return 0;
}

int
testlib_dir_setup(void **state)
{
	return testlib_dir_make(*state, TESTLIB_DIR_LEN, "pca-test");
}

int
testlib_dir_teardown(void **state)
{
	testlib_dir_remove(*state);
	return 0;
}

int
testlib_run(const char *dir, const char *const argv[])
{
	pid_t pid;
	int st, fd;

	if ((pid = fork()) < 0)
		return 0;
	if (pid == 0) {
		if ((fd = open("/dev/null", O_WRONLY)) >= 0) {
			(void)dup2(fd, 1);
			(void)dup2(fd, 2);
		}
		if (dir == NULL || chdir(dir) == 0)
			execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0;
}

int
testlib_run_capture(char *const argv[], int merge, char **out)
{
	struct buf b;
	char chunk[8192];
	ssize_t r;
	pid_t pid;
	int p[2], st = 0;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		(void)dup2(p[1], 1);
		if (merge)
			(void)dup2(p[1], 2);
		(void)close(p[0]);
		(void)close(p[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	(void)close(p[1]);
	buf_init(&b, 256u << 20);
	while ((r = read(p[0], chunk, sizeof(chunk))) > 0)
		assert_int_equal(buf_add(&b, chunk, (size_t)r), PCA_OK);
	(void)close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(buf_nul(&b), PCA_OK);
	*out = (char *)buf_steal(&b, NULL);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int64_t
testlib_utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return util_timegm(&tm);
}
