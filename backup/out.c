/*
 * out.c - the writer a backup's files go through (see backup_int.h).
 *
 * Written plainly, a backup of a large store leaves gigabytes of dirty
 * pages behind it; the kernel then writes them back in bulk, and every
 * durable commit of the store (an fsync) waits behind that.  So the file is
 * pushed out in BK_OUT_STEP windows as it grows (sync_file_range), from
 * the backup's own thread (whose I/O priority is the idle class), at most
 * rate bytes a second.  A scratch file may leave its newest bytes, up to a
 * share of the free memory, to the page cache: removed soon after, they
 * are never written at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "backup_int.h"

#define IOPRIO_WHO_THREAD 1 /* IOPRIO_WHO_PROCESS: one task */
#define IOPRIO_IDLE_CLASS (3 << 13)

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
bk_thread_background(void)
{
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
#ifdef SYS_ioprio_set
	(void)syscall(SYS_ioprio_set, IOPRIO_WHO_THREAD, 0, IOPRIO_IDLE_CLASS);
#endif
}

uint64_t
bk_scratch_slack(void)
{
	struct sysinfo si;

	if (sysinfo(&si) != 0)
		return 0;
	return ((uint64_t)si.freeram + si.bufferram) * si.mem_unit / 16;
}

void
bk_drain(int fd)
{
	char buf[4096];
	ssize_t n;

	while (
	    (n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		;
}

void
bk_out_start(struct bk_out *o)
{
	o->done = o->kicked = o->synced = 0;
	o->t0 = mono_now();
}

static pca_err
out_err(const struct bk_out *o, const char *what)
{
	return pca_err_set(PCA_EIO, "%s: %s: %s", o->name, what,
	    strerror(errno));
}

/* Waits for [synced, upto) to be on disk; drops it from the cache. */
static pca_err
out_settle(struct bk_out *o, uint64_t upto)
{
	if (upto <= o->synced)
		return PCA_OK;
	if (sync_file_range(o->fd, (off_t)o->synced, (off_t)(upto - o->synced),
		SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
		    SYNC_FILE_RANGE_WAIT_AFTER) != 0)
		return out_err(o, "writing out");
	if (o->drop)
		(void)posix_fadvise(o->fd, (off_t)o->synced,
		    (off_t)(upto - o->synced), POSIX_FADV_DONTNEED);
	o->synced = upto;
	return PCA_OK;
}

/* Starts writeback of each full window; settles all but the newest. */
static pca_err
out_push(struct bk_out *o)
{
	pca_err e;

	while (o->done - o->kicked >= o->slack + BK_OUT_STEP) {
		if (sync_file_range(o->fd, (off_t)o->kicked, (off_t)BK_OUT_STEP,
			SYNC_FILE_RANGE_WRITE) != 0)
			return out_err(o, "writing out");
		o->kicked += BK_OUT_STEP;
		if ((e = out_settle(o, o->kicked - BK_OUT_STEP)) != PCA_OK)
			return e;
	}
	return PCA_OK;
}

static void
out_pace(const struct bk_out *o)
{
	struct timespec ts;
	double ahead;

	if (o->rate == 0)
		return;
	ahead = (double)o->done / (double)o->rate - (mono_now() - o->t0);
	if (ahead <= 0)
		return;
	ts.tv_sec = (time_t)ahead;
	ts.tv_nsec = (long)((ahead - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

pca_err
bk_out_write(struct bk_out *o, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	if (o->md != NULL && EVP_DigestUpdate(o->md, p, n) != 1)
		return pca_err_set(PCA_EINTERNAL, "%s: SHA-256 failed",
		    o->name);
	while (n > 0) {
		if ((w = write(o->fd, c, n)) < 0) {
			if (errno == EINTR)
				continue;
			return out_err(o, "write");
		}
		c += w;
		n -= (size_t)w;
		o->done += (uint64_t)w;
	}
	out_pace(o);
	return out_push(o);
}

pca_err
bk_out_flush(struct bk_out *o)
{
	pca_err e;

	/*
	 * A scratch file's tail (its slack) stays unwritten: pushing it out
	 * here wrote the whole copy of a store smaller than the slack in one
	 * burst, and the store's commits stalled behind it (0.4 s at 1M
	 * certificates).  It is read back from the page cache and removed.
	 */
	if (o->slack > 0)
		return out_settle(o, o->kicked);
	if (o->done > o->kicked) {
		if (sync_file_range(o->fd, (off_t)o->kicked,
			(off_t)(o->done - o->kicked),
			SYNC_FILE_RANGE_WRITE) != 0)
			return out_err(o, "writing out");
		o->kicked = o->done;
	}
	if ((e = out_settle(o, o->done)) != PCA_OK)
		return e;
	return PCA_OK;
}
