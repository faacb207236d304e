/*
 * store_health.c - is the store writable now?  For /health, which must not
 * say "store ok" while the disk is full and every write answers 503.
 *
 * Two signs: the filesystem's free space (statvfs), and the outcome of the
 * last write batch, noted by the group-commit leader.  Once a batch failed
 * for room or I/O, the store stays unhealthy until a write succeeds: the
 * first health call a second or more after the last failure makes a small
 * probe write to find out.
 */
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "store_int.h"

#define STORE_HEALTH_MIN_FREE ((unsigned long long)1 << 20)
#define STORE_PROBE_MS 1000

/* Called by the leader with qlock held, once the batch has its results. */
void
store_health_note(struct store *s, const struct store_op *batch)
{
	const struct store_op *op, *bad = NULL;
	int ok = 0;

	for (op = batch; op != NULL; op = op->next) {
		if (op->err == PCA_OK)
			ok = 1;
		else if (bad == NULL &&
			 (op->err == PCA_EIO || op->err == PCA_EDBFULL))
			bad = op;
	}
	if (bad != NULL) {
		s->trouble = bad->err == PCA_EDBFULL ? PCA_EDBFULL : PCA_EIO;
		(void)snprintf(s->trouble_msg, sizeof(s->trouble_msg), "%s",
		    bad->msg);
		/* the failure itself counts as the latest probe */
		(void)clock_gettime(CLOCK_MONOTONIC, &s->probe_at);
	} else if (ok)
		s->trouble = 0;
}

static pca_err
probe_run(struct store *s, MDB_txn *txn, void *arg)
{
	MDB_val k = store_val("health_probe", 12), v = store_val(arg, 8);
	int rc;

	rc = mdb_put(txn, s->dbi[STORE_DBI_META], &k, &v, 0);
	return rc == 0 ? PCA_OK : store_mdb_err(rc, "the health probe write");
}

static int
diff_ms(const struct timespec *a, const struct timespec *b)
{
	long long ms = (long long)(a->tv_sec - b->tv_sec) * 1000 +
		       (a->tv_nsec - b->tv_nsec) / 1000000;

	return ms > 1000000 ? 1000000 : (int)ms;
}

pca_err
store_health(struct store *s)
{
	char msg[STORE_MSG_MAX];
	unsigned long long avail;
	struct statvfs sv;
	struct timespec now;
	int64_t stamp;
	pca_err trouble, e;
	int probe;

	if (s == NULL)
		return pca_err_set(PCA_EINVAL, "no store open");
	if (!s->read_only && statvfs(s->path, &sv) == 0 &&
	    (avail = (unsigned long long)sv.f_bavail * sv.f_frsize) <
		STORE_HEALTH_MIN_FREE)
		return pca_err_set(PCA_EIO,
		    "the filesystem of %s is full "
		    "(%llu bytes free)",
		    s->path, avail);
	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	(void)pthread_mutex_lock(&s->qlock);
	trouble = (pca_err)s->trouble;
	(void)snprintf(msg, sizeof(msg), "%s", s->trouble_msg);
	probe = trouble != PCA_OK && !s->read_only &&
		diff_ms(&now, &s->probe_at) >= STORE_PROBE_MS;
	if (probe)
		s->probe_at = now;
	(void)pthread_mutex_unlock(&s->qlock);
	if (trouble == PCA_OK)
		return PCA_OK;
	if (!probe)
		return pca_err_set(trouble, "store writes fail: %s", msg);
	stamp = (int64_t)time(NULL);
	if ((e = store_submit(s, probe_run, &stamp)) != PCA_OK) {
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		return pca_err_set(e == PCA_EDBFULL ? e : PCA_EIO,
		    "store writes fail: %s", msg);
	}
	return PCA_OK; /* the probe's batch cleared the trouble */
}
