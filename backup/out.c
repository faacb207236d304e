/*
 * out.c - the writer a backup's files go through (see backup_int.h).
 *
 * A backup writes gigabytes.  Through the page cache they would leave as
 * many dirty pages behind, written back in bulk while every durable commit
 * of the store (an fsync) waits its turn; they would also take as much
 * memory, page by page (in a VM whose free memory goes back to the host,
 * each new page costs a fault, and the writes crawled at 200-400 MB/s).
 * So the file is written O_DIRECT where the filesystem takes it, from one
 * aligned buffer, BK_OUT_STEP at a time: no dirty page, no cache.  Where
 * it does not, each step is pushed out as it is written (sync_file_range),
 * at most two of them dirty, and dropped from the cache once on disk.
 * Either way from the backup's own thread (nice 19, the idle I/O class),
 * at most rate bytes a second.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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

int
bk_direct(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl != -1 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0;
}

int
bk_out_open(const char *path, int flags, mode_t mode, int *direct)
{
	int fd = open(path, flags, mode);

	/* set after the open: an O_DIRECT open that the filesystem refuses
	 * (EINVAL) may have created the file already */
	*direct = fd >= 0 && bk_direct(fd);
	return fd;
}

static pca_err
out_err(const struct bk_out *o, const char *what)
{
	return pca_err_set(PCA_EIO, "%s: %s: %s", o->name, what,
	    strerror(errno));
}

pca_err
bk_out_start(struct bk_out *o)
{
	void *p;

	o->done = o->kicked = o->synced = 0;
	o->fill = 0;
	o->t0 = mono_now();
	if (o->buf == NULL) {
		if (posix_memalign(&p, BK_OUT_ALIGN, BK_OUT_STEP) != 0)
			return pca_err_set(PCA_ENOMEM, "no memory");
		o->buf = p;
	}
	return PCA_OK;
}

void
bk_out_end(struct bk_out *o)
{
	free(o->buf);
	o->buf = NULL;
	o->fill = 0;
}

/* Turns O_DIRECT off: for a tail that is not whole blocks, or refused. */
static void
out_buffered(struct bk_out *o)
{
	int fl = fcntl(o->fd, F_GETFL);

	if (fl != -1 && fcntl(o->fd, F_SETFL, fl & ~O_DIRECT) == 0)
		o->direct = 0;
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
	(void)posix_fadvise(o->fd, (off_t)o->synced, (off_t)(upto - o->synced),
	    POSIX_FADV_DONTNEED);
	o->synced = upto;
	return PCA_OK;
}

/* Writes the staged bytes at the end of what is written. */
static pca_err
out_step(struct bk_out *o)
{
	const uint8_t *p = o->buf;
	size_t n = o->fill;
	ssize_t w;

	if (o->direct && n % BK_OUT_ALIGN != 0)
		out_buffered(o);
	while (n > 0) {
		if ((w = write(o->fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EINVAL && o->direct) {
				out_buffered(o); /* refused after all */
				if (!o->direct)
					continue;
			}
			return out_err(o, "write");
		}
		p += w;
		n -= (size_t)w;
		o->kicked += (uint64_t)w;
	}
	o->fill = 0;
	if (o->direct) {
		o->synced = o->kicked;
		return PCA_OK;
	}
	/* start this step's writeback; wait for the one before */
	if (sync_file_range(o->fd, (off_t)o->synced,
		(off_t)(o->kicked - o->synced), SYNC_FILE_RANGE_WRITE) != 0)
		return out_err(o, "writing out");
	return o->kicked > BK_OUT_STEP ? out_settle(o, o->kicked - BK_OUT_STEP)
				       : PCA_OK;
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
	const uint8_t *c = p;
	size_t k;
	pca_err e;

	if (o->md != NULL && EVP_DigestUpdate(o->md, p, n) != 1)
		return pca_err_set(PCA_EINTERNAL, "%s: SHA-256 failed",
		    o->name);
	while (n > 0) {
		k = BK_OUT_STEP - o->fill < n ? BK_OUT_STEP - o->fill : n;
		memcpy(o->buf + o->fill, c, k);
		o->fill += k;
		o->done += k;
		c += k;
		n -= k;
		if (o->fill == BK_OUT_STEP) {
			if ((e = out_step(o)) != PCA_OK)
				return e;
			out_pace(o);
		}
	}
	return PCA_OK;
}

pca_err
bk_out_flush(struct bk_out *o)
{
	pca_err e;

	if ((e = out_step(o)) != PCA_OK)
		return e;
	out_pace(o); /* the last step's bytes count too */
	return out_settle(o, o->kicked);
}
