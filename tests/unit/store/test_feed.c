/*
 * test_feed.c - the store's change feed (store_feed.c): records in the
 * order of the changes, none for a change that failed, exact after kill -9
 * in the middle of writes, pruning by the followers' cursors and by age,
 * and a record appended by another process seen by a follower here.
 */
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../../store/store.h"
#include "../testlib.h"

#define CA1 "0b5d1a9e-3c5f-4a7e-9d2b-5e6f7a8b9c0d"
#define CA2 "7f3e2d1c-0b9a-4f8e-8d7c-6b5a4f3e2d1c"
#define LOG_MAX 4096

static char dir[64];

struct seen {
	struct store_change c[LOG_MAX];
	size_t n;
};

static struct store *
open_store(void)
{
	return testlib_store_open(dir, 256 << 20);
}

static void
fresh_dir(void)
{
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-feed"), 0);
}

static void
rm_dir(void)
{
	testlib_dir_remove(dir);
}

/* Reserves and completes certificate (ca, serial); PCA_OK or the error. */
static pca_err
issue(struct store *s, const char *ca, uint32_t serial)
{
	uint8_t tbs[] = {0x30, 0x00}, der[] = {0x30, 0x02, 0x30, 0x00};
	struct store_cert c;
	pca_err e;

	memset(&c, 0, sizeof(c));
	memcpy(c.ca_id, ca, 37);
	c.serial[0] = 0x40;
	c.serial[1] = (uint8_t)(serial >> 16);
	c.serial[2] = (uint8_t)(serial >> 8);
	c.serial[3] = (uint8_t)serial;
	c.serial_len = 4;
	c.not_before = 1700000000;
	c.not_after = 1900000000;
	c.issued_at = 1700000000;
	(void)snprintf(c.template_name, sizeof(c.template_name), "EE/V1");
	c.tbs = tbs;
	c.tbs_len = sizeof(tbs);
	if ((e = store_cert_reserve(s, &c)) != PCA_OK)
		return e;
	return store_cert_complete(s, ca, c.serial, 4, der, sizeof(der));
}

static pca_err
rev_cert(struct store *s, const char *ca, uint32_t serial)
{
	uint8_t sn[4] = {0x40, (uint8_t)(serial >> 16), (uint8_t)(serial >> 8),
	    (uint8_t)serial};

	return store_cert_revoke(s, ca, sn, sizeof(sn), 1700000100, 1);
}

static uint32_t
serial_of(const struct store_change *c)
{
	assert_int_equal(c->serial_len, 4);
	return (uint32_t)c->serial[1] << 16 | (uint32_t)c->serial[2] << 8 |
	       c->serial[3];
}

static int
seen_cb(const struct store_change *c, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < LOG_MAX);
	s->c[s->n++] = *c;
	return 0;
}

static void
read_all(struct store *s, uint64_t after, struct seen *out,
    struct store_feed_pos *pos)
{
	out->n = 0;
	assert_int_equal(store_changes_after(s, after, 0, seen_cb, out, pos),
	    PCA_OK);
}

/* Every kind of change, in order, with dense sequences. */
static void
test_order(void **state)
{
	static struct seen sn;
	struct store_feed_pos pos;
	struct store *s;
	uint64_t head;
	size_t i;

	(void)state;
	fresh_dir();
	s = open_store();
	assert_int_equal(store_feed_head(s, &head), PCA_OK);
	assert_int_equal(head, 0);
	assert_int_equal(store_ca_put(s, CA1, "{}", 2, 1), PCA_OK);
	assert_int_equal(issue(s, CA1, 1), PCA_OK);
	assert_int_equal(issue(s, CA1, 2), PCA_OK);
	assert_int_equal(rev_cert(s, CA1, 1), PCA_OK);
	assert_int_equal(store_kv_put_chg(s,
			     &(struct store_kv_in){"keys", "AKIA1", "x", 1}, 1,
			     STORE_CHG_KEY, NULL),
	    PCA_OK);
	assert_int_equal(store_kv_put(s, "plain", "k", "x", 1, 0), PCA_OK);
	assert_int_equal(store_ca_purge(s, CA1), PCA_OK);
	read_all(s, 0, &sn, &pos);
	assert_int_equal(sn.n, 6);
	assert_int_equal(pos.last, 6);
	assert_int_equal(pos.head, 6);
	assert_false(pos.gap);
	assert_false(pos.more);
	for (i = 0; i < sn.n; i++)
		assert_int_equal(sn.c[i].seq, i + 1);
	assert_int_equal(sn.c[0].type, STORE_CHG_CA);
	assert_string_equal(sn.c[0].ca_id, CA1);
	assert_int_equal(sn.c[0].serial_len, 0);
	assert_int_equal(sn.c[1].type, STORE_CHG_CERT_ISSUED);
	assert_int_equal(serial_of(&sn.c[1]), 1);
	assert_int_equal(sn.c[2].type, STORE_CHG_CERT_ISSUED);
	assert_int_equal(serial_of(&sn.c[2]), 2);
	assert_int_equal(sn.c[3].type, STORE_CHG_CERT_REVOKED);
	assert_int_equal(serial_of(&sn.c[3]), 1);
	assert_string_equal(sn.c[3].ca_id, CA1);
	assert_int_equal(sn.c[4].type, STORE_CHG_KEY);
	assert_string_equal(sn.c[4].ca_id, "");
	assert_int_equal(sn.c[5].type, STORE_CHG_CA_PURGED);
	assert_true(sn.c[5].when >= (int64_t)time(NULL) - 60);
	/* from the middle, in pages of two */
	sn.n = 0;
	assert_int_equal(store_changes_after(s, 3, 2, seen_cb, &sn, &pos),
	    PCA_OK);
	assert_int_equal(sn.n, 2);
	assert_int_equal(sn.c[0].seq, 4);
	assert_int_equal(pos.last, 5);
	assert_true(pos.more);
	read_all(s, 6, &sn, &pos);
	assert_int_equal(sn.n, 0);
	assert_int_equal(pos.last, 6);
	assert_false(pos.more);
	store_close(s);
	/* sequences survive a reopen */
	s = open_store();
	assert_int_equal(store_ca_put(s, CA2, "{}", 2, 1), PCA_OK);
	assert_int_equal(store_feed_head(s, &head), PCA_OK);
	assert_int_equal(head, 7);
	store_close(s);
	rm_dir();
}

/* A change that fails, alone or in a batch with others, leaves no record. */
static void
test_abort(void **state)
{
	static struct seen sn;
	struct store_conf tiny = {NULL, 1 << 20, 1 << 20, STORE_NOSYNC, 0};
	struct store_feed_pos pos;
	struct store_verify_report rep;
	struct store *s;
	uint8_t *big;
	uint64_t head, h2;
	uint8_t sn9[4] = {0x40, 0, 0, 9};

	(void)state;
	fresh_dir();
	s = open_store();
	assert_int_equal(issue(s, CA1, 1), PCA_OK);
	assert_int_equal(rev_cert(s, CA1, 1), PCA_OK);
	assert_int_equal(store_feed_head(s, &head), PCA_OK);
	assert_int_equal(head, 2);
	assert_int_equal(rev_cert(s, CA1, 1), PCA_EALREADY);
	assert_int_equal(rev_cert(s, CA1, 77), PCA_ENOTFOUND);
	assert_int_equal(issue(s, CA1, 1), PCA_EEXISTS);
	assert_int_equal(store_ca_put(s, CA2, "{}", 2, 1), PCA_OK);
	assert_int_equal(store_ca_put(s, CA2, "{}", 2, 1), PCA_EEXISTS);
	assert_int_equal(
	    store_ca_purge(s, "00000000-0000-4000-8000-000000000000"),
	    PCA_ENOTFOUND);
	assert_int_equal(store_kv_put_chg(s,
			     &(struct store_kv_in){"keys", "AKIA1", "x", 1}, 1,
			     STORE_CHG_KEY, NULL),
	    PCA_OK);
	assert_int_equal(store_kv_put_chg(s,
			     &(struct store_kv_in){"keys", "AKIA1", "y", 1}, 1,
			     STORE_CHG_KEY, NULL),
	    PCA_EEXISTS);
	assert_int_equal(store_kv_put_chg(s,
			     &(struct store_kv_in){"keys", "AKIA9", NULL, 0},
			     -1, STORE_CHG_KEY, NULL),
	    PCA_ENOTFOUND);
	assert_int_equal(store_feed_head(s, &head), PCA_OK);
	assert_int_equal(head, 4);
	store_close(s);
	/*
	 * A store at its maximum size: completing a certificate whose DER
	 * does not fit fails as a whole (PCA_EDBFULL), the record stays
	 * PENDING, and the feed has no record of an issuance.
	 */
	tiny.path = dir;
	assert_int_equal(store_open(&tiny, &s), PCA_OK);
	{
		uint8_t tbs[] = {0x30, 0x00};
		struct store_cert c, got;

		memset(&c, 0, sizeof(c));
		memcpy(c.ca_id, CA1, 37);
		memcpy(c.serial, sn9, 4);
		c.serial_len = 4;
		c.not_after = 1900000000;
		c.tbs = tbs;
		c.tbs_len = sizeof(tbs);
		assert_int_equal(store_cert_reserve(s, &c), PCA_OK);
		assert_int_equal(store_feed_head(s, &head), PCA_OK);
		big = calloc(1, 1000 * 1000);
		assert_non_null(big);
		big[0] = 0x30;
		assert_int_equal(
		    store_cert_complete(s, CA1, sn9, 4, big, 1000 * 1000),
		    PCA_EDBFULL);
		free(big);
		assert_int_equal(store_feed_head(s, &h2), PCA_OK);
		assert_int_equal(h2, head);
		assert_int_equal(store_cert_get(s, CA1, sn9, 4, &got), PCA_OK);
		assert_int_equal(got.state, STORE_CERT_PENDING);
		store_cert_clear(&got);
	}
	read_all(s, 0, &sn, &pos);
	assert_int_equal(sn.n, 4);
	assert_false(pos.gap);
	assert_int_equal(store_verify(s, &rep, NULL, NULL, NULL), PCA_OK);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(rep.feed_records, 4);
	store_close(s);
	rm_dir();
}

/* The child: issues and revokes until killed (serials from base). */
static void
writer(int fd, uint32_t base)
{
	struct store *s = open_store();
	uint32_t i;
	char go = 1;

	if (write(fd, &go, 1) != 1)
		_exit(2);
	for (i = base + 1;; i++) {
		if (issue(s, i % 2 ? CA1 : CA2, i) != PCA_OK)
			_exit(3);
		if (i % 3 == 0 && rev_cert(s, i % 2 ? CA1 : CA2, i) != PCA_OK)
			_exit(4);
	}
}

struct tally {
	size_t issued, revoked;
};

static int
tally_cert(const struct store_cert *c, void *arg)
{
	struct tally *t = arg;

	t->issued += c->state == STORE_CERT_ISSUED;
	t->revoked += c->revoked;
	return 0;
}

static int
check_cb(const struct store_change *c, void *arg)
{
	struct store *s = arg;
	struct store_cert got;

	assert_int_equal(
	    store_cert_get(s, c->ca_id, c->serial, c->serial_len, &got),
	    PCA_OK);
	if (c->type == STORE_CHG_CERT_ISSUED)
		assert_int_equal(got.state, STORE_CERT_ISSUED);
	else
		assert_true(got.revoked);
	store_cert_clear(&got);
	return 0;
}

/* kill -9 in the middle of writes: the feed says exactly what happened. */
static void
test_crash(void **state)
{
	struct store_feed_pos pos;
	struct store_verify_report rep;
	struct tally t = {0, 0};
	struct store *s;
	int p[2], round, st;
	pid_t pid;
	char go;

	(void)state;
	fresh_dir();
	for (round = 0; round < 3; round++) {
		assert_int_equal(pipe(p), 0);
		if ((pid = fork()) == 0) {
			close(p[0]);
			writer(p[1], (uint32_t)round * 1000000);
		}
		assert_true(pid > 0);
		close(p[1]);
		assert_int_equal(read(p[0], &go, 1), 1);
		close(p[0]);
		usleep(100000 + 70000 * round);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st));
	}
	s = open_store();
	assert_int_equal(store_cert_foreach(s, NULL, tally_cert, &t), PCA_OK);
	store_close(s);
	s = open_store();
	assert_int_equal(store_changes_after(s, 0, 0, check_cb, s, &pos),
	    PCA_OK);
	assert_false(pos.gap);
	/* one record per issuance and per revocation, nothing else */
	assert_int_equal(pos.head, t.issued + t.revoked);
	assert_true(t.issued > 0);
	assert_int_equal(store_verify(s, &rep, NULL, NULL, NULL), PCA_OK);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(rep.feed_records, t.issued + t.revoked);
	store_close(s);
	rm_dir();
}

/* Pruning waits for the slowest follower, and for the minimum age. */
static void
test_prune(void **state)
{
	static struct seen sn;
	struct store_feed_pos pos;
	struct store *s;
	int64_t now = (int64_t)time(NULL);
	uint64_t cur;
	size_t removed;
	uint32_t i;

	(void)state;
	fresh_dir();
	s = open_store();
	assert_int_equal(store_feed_follow(s, "slow", &cur), PCA_OK);
	assert_int_equal(cur, 0);
	for (i = 1; i <= 6; i++)
		assert_int_equal(issue(s, CA1, i), PCA_OK);
	assert_int_equal(store_feed_follow(s, "fast", &cur), PCA_OK);
	assert_int_equal(cur, 6); /* a new follower starts at the head */
	assert_int_equal(store_feed_follow(s, "slow", &cur), PCA_OK);
	assert_int_equal(cur, 0); /* an old one where it was */
	assert_int_equal(store_feed_ack(s, "fast", 7), PCA_EINVAL);
	assert_int_equal(store_feed_follow(s, "", &cur), PCA_EINVAL);
	/* old enough, but "slow" has read nothing */
	assert_int_equal(store_feed_prune(s, now + 7200, 3600, 86400, &removed),
	    PCA_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(store_feed_ack(s, "slow", 4), PCA_OK);
	/* read by everyone up to 4, but younger than the minimum age */
	assert_int_equal(store_feed_prune(s, now, 3600, 86400, &removed),
	    PCA_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(store_feed_prune(s, now + 7200, 3600, 86400, &removed),
	    PCA_OK);
	assert_int_equal(removed, 4);
	read_all(s, 4, &sn, &pos);
	assert_int_equal(sn.n, 2);
	assert_false(pos.gap); /* "slow" missed nothing */
	read_all(s, 2, &sn, &pos);
	assert_true(pos.gap); /* a reader at 2 did */
	assert_int_equal(sn.n, 2);
	/* past the maximum age, records go whatever the cursors */
	assert_int_equal(
	    store_feed_prune(s, now + 2 * 86400, 3600, 86400, &removed),
	    PCA_OK);
	assert_int_equal(removed, 2);
	read_all(s, 4, &sn, &pos);
	assert_true(pos.gap);
	assert_int_equal(sn.n, 0);
	assert_int_equal(pos.head, 6);
	/* a follower gone holds nothing back */
	assert_int_equal(store_feed_unfollow(s, "slow"), PCA_OK);
	assert_int_equal(store_feed_unfollow(s, "slow"), PCA_ENOTFOUND);
	assert_int_equal(issue(s, CA1, 7), PCA_OK);
	assert_int_equal(store_feed_prune(s, now + 7200, 3600, 86400, &removed),
	    PCA_OK);
	assert_int_equal(removed, 0); /* "fast" is at 6 */
	assert_int_equal(store_feed_ack(s, "fast", 7), PCA_OK);
	assert_int_equal(store_feed_prune(s, now + 7200, 3600, 86400, &removed),
	    PCA_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(store_feed_prune(s, now, 10, 5, &removed), PCA_EINVAL);
	store_close(s);
	/* a sequence is never reused, even with every record pruned */
	s = open_store();
	assert_int_equal(issue(s, CA1, 8), PCA_OK);
	read_all(s, 7, &sn, &pos);
	assert_int_equal(sn.n, 1);
	assert_int_equal(sn.c[0].seq, 8);
	assert_false(pos.gap);
	store_close(s);
	rm_dir();
}

/* Changes made by another process reach a follower in this one. */
static void
test_other_process(void **state)
{
	static struct seen sn;
	struct store_feed_pos pos;
	struct store *s;
	uint64_t cur;
	int p[2], st;
	pid_t pid;
	char go = 0;

	(void)state;
	fresh_dir();
	assert_int_equal(pipe(p), 0);
	/* forked before this process opens the store: its own environment */
	if ((pid = fork()) == 0) {
		struct store *cs;

		close(p[1]);
		if (read(p[0], &go, 1) != 1)
			_exit(2);
		cs = open_store();
		if (issue(cs, CA2, 0x1234) != PCA_OK ||
		    rev_cert(cs, CA2, 0x1234) != PCA_OK ||
		    store_ca_put(cs, CA2, "{}", 2, 0) != PCA_OK)
			_exit(3);
		store_close(cs);
		_exit(0);
	}
	assert_true(pid > 0);
	close(p[0]);
	s = open_store();
	assert_int_equal(store_feed_follow(s, "ocsp", &cur), PCA_OK);
	assert_int_equal(cur, 0);
	read_all(s, cur, &sn, &pos);
	assert_int_equal(sn.n, 0);
	assert_int_equal(write(p[1], &go, 1), 1);
	close(p[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the same open store, no reopen: the child's commits are visible */
	read_all(s, cur, &sn, &pos);
	assert_int_equal(sn.n, 3);
	assert_int_equal(sn.c[0].type, STORE_CHG_CERT_ISSUED);
	assert_string_equal(sn.c[0].ca_id, CA2);
	assert_int_equal(serial_of(&sn.c[0]), 0x1234);
	assert_int_equal(sn.c[1].type, STORE_CHG_CERT_REVOKED);
	assert_int_equal(sn.c[2].type, STORE_CHG_CA);
	assert_int_equal(store_feed_ack(s, "ocsp", pos.last), PCA_OK);
	assert_int_equal(store_feed_follow(s, "ocsp", &cur), PCA_OK);
	assert_int_equal(cur, 3);
	store_close(s);
	rm_dir();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_abort),
	    cmocka_unit_test(test_crash),
	    cmocka_unit_test(test_prune),
	    cmocka_unit_test(test_other_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
