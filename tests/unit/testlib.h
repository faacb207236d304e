/*
 * testlib.h - fixtures shared by the cmocka suites in tests/unit/: private
 * temporary directories, a temporary SoftHSM2 token, a "p11-kit server"
 * in front of it, and helpers that run a command (the openssl CLI, ...).
 * Linked into every unit test by the Makefile (build/libtestlib.a); the
 * token half lives in testlib_hsm.c so suites that do not touch hsm/ need
 * not link it.
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../hsm/hsm.h"

/*
 * In a cmocka test (cmocka.h and string.h included first): call returns
 * code and the error message (pca_err_msg) contains sub.
 */
#define assert_err(call, code, sub)                                            \
	do {                                                                   \
		assert_int_equal((call), (code));                              \
		if (strstr(pca_err_msg(), (sub)) == NULL)                      \
			fail_msg("message '%s' lacks '%s'", pca_err_msg(),     \
			    (sub));                                            \
	} while (0)

#define TESTLIB_SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"

/*
 * Makes a fresh directory "/tmp/<prefix>-XXXXXX" (mkdtemp) and writes its
 * name into dir (n bytes).  Returns 0, or -1 when it cannot.
 */
int testlib_dir_make(char *dir, size_t n, const char *prefix);

/*
 * A fresh directory "/tmp/<prefix>-XXXXXX" in a string the caller frees
 * (after testlib_dir_remove); fails the test when it cannot.
 */
char *testlib_dir_new(const char *prefix);

/* Removes dir and everything below it; "" and NULL do nothing. */
void testlib_dir_remove(const char *dir);

/*
 * cmocka fixtures for a test that works in a directory of its own: the
 * test's initial state is a char[TESTLIB_DIR_LEN] buffer
 * (cmocka_unit_test_prestate_setup_teardown(test, testlib_dir_setup,
 * testlib_dir_teardown, dir)); setup makes a fresh directory there
 * (testlib_dir_make), teardown removes it.
 */
#define TESTLIB_DIR_LEN 64
int testlib_dir_setup(void **state);
int testlib_dir_teardown(void **state);

/*
 * cmocka fixtures for a test on a small filesystem: the test's initial
 * state is the tmpfs size (cmocka_unit_test_prestate_setup_teardown(test,
 * testlib_tmpfs_setup, testlib_tmpfs_teardown, "2m")); setup mounts a tmpfs
 * of that size on a fresh directory and makes *state its name (char *).
 * Setup fails (the reason printed) when it cannot: the mount needs root or
 * CAP_SYS_ADMIN.  Teardown unmounts and removes it.
 */
int testlib_tmpfs_setup(void **state);
int testlib_tmpfs_teardown(void **state);

/*
 * Runs argv (PATH searched) in directory dir (NULL: here) with stdout and
 * stderr sent to /dev/null.  Returns 1 when it exited 0, otherwise 0.
 */
int testlib_run(const char *dir, const char *const argv[]);

/*
 * Runs argv; its stdout (and stderr too when merge) is returned in *out, a
 * NUL-terminated string the caller frees.  Returns the exit status (128
 * when killed by a signal).  Failures of the harness itself fail the test.
 */
int testlib_run_capture(char *const argv[], int merge, char **out);

/* y-mo-d h:mi:s UTC as seconds since the epoch (util_timegm). */
int64_t testlib_utc(int y, int mo, int d, int h, int mi, int s);

/*
 * Opens the LMDB store in dir for a test (testlib_store.c): a 1 MiB map
 * growing to map_max, no fsync.  Fails the test when it cannot.
 */
struct store;
struct store *testlib_store_open(const char *dir, size_t map_max);

/*
 * Fills c as a PENDING record of CA ca (id) with the 5-byte serial 0x40
 * followed by serial, valid for the day before not_after; its TBS is
 * tbs_len bytes of tbs, set to the serial's low byte.
 */
struct store_cert;
void testlib_store_cert(struct store_cert *c, const char *ca, uint32_t serial,
    int64_t not_after, uint8_t *tbs, size_t tbs_len);

/* A SoftHSM2 token in a private directory with its own softhsm2.conf. */
struct testlib_token {
	char dir[64];  /* the private directory */
	char env[192]; /* "SOFTHSM2_CONF=<dir>/softhsm2.conf" */
	char pin[128]; /* <dir>/pin, holding the user PIN */
	char label[33];
	struct hsm_conf conf; /* module, token, pin_file, module_env */
};

/*
 * Makes t: the directory (prefix as for testlib_dir_make), the token
 * directory, softhsm2.conf, the PIN file (user_pin and a newline, mode
 * pin_mode), then C_InitToken through hsm_token_init.  Returns 0 or -1
 * (with the reason on stderr).
 */
int testlib_token_make(struct testlib_token *t, const char *prefix,
    const char *label, const char *so_pin, const char *user_pin,
    mode_t pin_mode);

/* Removes t's directory (token included); a zeroed t is fine. */
void testlib_token_remove(struct testlib_token *t);

/*
 * Starts "p11-kit server -f" for the SoftHSM token labelled label (with
 * env, "SOFTHSM2_CONF=...", in its environment) on the unix socket sock,
 * in a process group of its own; waits up to 10 s for the socket.  Sets
 * *pid; returns 0, or -1.  testlib_p11_server_stop kills that group.
 */
int testlib_p11_server_start(const char *env, const char *label,
    const char *sock, pid_t *pid);
void testlib_p11_server_stop(pid_t *pid);

#endif
