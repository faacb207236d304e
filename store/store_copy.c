/*
 * store_copy.c - a consistent, compacted copy of the whole store (for
 * backups) taken inside one LMDB read transaction: writers go on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

#define COPY_EXTEND_CHUNK ((size_t)256 << 10)
#define COPY_EXTEND_RATE 128.0 /* MiB a second */
#define COPY_EXTEND_MIN ((size_t)4 << 20)
#define COPY_EXTEND_MAX ((size_t)256 << 20)

/*
 * While the copy's read transaction lasts, pages freed by writers are not
 * reused, so the store grows (at 500 issuances a second, by some MiB a
 * second); and growing the map needs every reader of this process out,
 * the copy included: issuance would stop until the copy ends.  So the map
 * gets its room first: as much again as is used, at least one step
 * (address space only: the file grows as pages are written).
 */
static pca_err
copy_room(struct store *s, size_t *usedp)
{
	MDB_envinfo info;
	MDB_stat st;
	size_t used, room, cur, target;
	pca_err e = PCA_OK;
	int rc;

	*usedp = 0;
	if (s->read_only)
		return PCA_OK;
	if ((e = store_lock_shared(s)) != PCA_OK)
		return e;
	rc = mdb_env_info(s->env, &info);
	if (rc == 0)
		rc = mdb_env_stat(s->env, &st);
	cur = s->map_cur;
	store_unlock_shared(s);
	if (rc != 0)
		return PCA_OK; /* no hint: copy anyway */
	used = ((size_t)info.me_last_pgno + 1) * st.ms_psize;
	*usedp = used;
	room = used > s->map_step ? used : s->map_step;
	if (cur >= s->map_max || used > cur || cur - used >= room)
		return PCA_OK;
	/* whole steps, as store_map_grow takes them, in one go */
	target = cur + (room - (cur - used) + s->map_step - 1) / s->map_step *
			   s->map_step;
	if (target < cur || target > s->map_max)
		target = s->map_max;
	if (pthread_rwlock_wrlock(&s->maplock) != 0)
		return pca_err_set(PCA_EINTERNAL, "cannot take the store map "
						  "lock");
	if (s->map_cur < target) {
		if ((rc = mdb_env_set_mapsize(s->env, target)) != 0) {
			(void)mdb_env_set_mapsize(s->env, s->map_cur);
			e = store_mdb_err(rc, "resizing the store map");
		} else if ((rc = mdb_env_info(s->env, &info)) != 0)
			e = store_mdb_err(rc, "reading the store map size");
		else
			s->map_cur = info.me_mapsize;
	}
	(void)pthread_rwlock_unlock(&s->maplock);
	return e;
}

/*
 * The other half of the copy's cost: with no freed page to reuse, every
 * commit during the copy appends to the file, so each fdatasync also
 * journals the file's new size and blocks (several times slower, and
 * issuance p99 with it).  So the file is extended first by a guess of
 * that growth (an eighth of what is used, 4 to 256 MiB, within the map),
 * with zeros written and on disk: pages past the last one in use are free
 * to LMDB, which writes over them as the store grows (the file would have
 * grown as much during the copy).  Each 256 KiB is written holding LMDB's
 * write lock (a write transaction, aborted), so no commit of this or
 * another process appends at the same time, and only past the file's
 * end; O_DIRECT where the filesystem takes it, so that the lock is held
 * for one device write and no page-cache page is taken (through the cache,
 * each chunk took new memory under the lock, and commits queued behind
 * it); else written out after the lock.  At most COPY_EXTEND_RATE a
 * second, so the commits' own syncs never queue behind more than one
 * chunk.  Best effort: a failure only leaves the copy slower for writers.
 */
static double
copy_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The store's data file opened O_DIRECT, or -1 (then LMDB's fd is used). */
static int
copy_direct_fd(struct store *s)
{
	char path[PATH_MAX];
	const char *dir;

	if (mdb_env_get_path(s->env, &dir) != 0 ||
	    snprintf(path, sizeof(path), "%s/data.mdb", dir) >=
		(int)sizeof(path))
		return -1;
	return open(path, O_WRONLY | O_CLOEXEC | O_DIRECT);
}

static void
copy_extend(struct store *s, size_t used)
{
	static const char zero[COPY_EXTEND_CHUNK]
	    __attribute__((aligned(4096)));
	size_t want = used / 8, end, n;
	struct stat sb;
	MDB_txn *txn;
	off_t off;
	int fd, dfd, wfd;
	double t0 = copy_now(), ahead;
	struct timespec ts;
	size_t done = 0;

	if (want < COPY_EXTEND_MIN)
		want = COPY_EXTEND_MIN;
	if (want > COPY_EXTEND_MAX)
		want = COPY_EXTEND_MAX;
	if (mdb_env_get_fd(s->env, &fd) != 0)
		return;
	dfd = copy_direct_fd(s);
	for (;;) {
		if (store_lock_shared(s) != PCA_OK)
			return;
		end = used + want < s->map_cur ? used + want : s->map_cur;
		if (mdb_txn_begin(s->env, NULL, 0, &txn) != 0) {
			store_unlock_shared(s);
			return;
		}
		off = fstat(fd, &sb) == 0 ? sb.st_size : -1;
		n = off >= 0 && (size_t)off < end ? end - (size_t)off : 0;
		if (n > sizeof(zero))
			n = sizeof(zero);
		wfd = dfd >= 0 && off % 4096 == 0 && n % 4096 == 0 ? dfd : fd;
		if (n > 0 && pwrite(wfd, zero, n, off) != (ssize_t)n)
			n = 0;
		mdb_txn_abort(txn);
		store_unlock_shared(s);
		if (n == 0)
			break;
		if (wfd == fd)
			(void)sync_file_range(fd, off, (off_t)n,
			    SYNC_FILE_RANGE_WAIT_BEFORE |
				SYNC_FILE_RANGE_WRITE |
				SYNC_FILE_RANGE_WAIT_AFTER);
		done += n;
		ahead = (double)done / (COPY_EXTEND_RATE * 1048576.0) -
			(copy_now() - t0);
		if (ahead > 0) {
			ts.tv_sec = (time_t)ahead;
			ts.tv_nsec = (long)((ahead - (double)ts.tv_sec) * 1e9);
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
	}
	if (dfd >= 0)
		close(dfd);
	(void)fdatasync(fd);
}

pca_err
store_copy_fd(struct store *s, int fd)
{
	struct stat sb;
	size_t used;
	pca_err e;
	int rc, tries, reg;

	if (fstat(fd, &sb) != 0)
		return pca_err_set(PCA_EIO, "store copy: %s", strerror(errno));
	reg = S_ISREG(sb.st_mode);
	if ((e = copy_room(s, &used)) != PCA_OK)
		return e;
	if (used > 0)
		copy_extend(s, used);
	for (tries = 0;; tries++) {
		if ((e = store_lock_shared(s)) != PCA_OK)
			return e;
		rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
		store_unlock_shared(s);
		if (rc != MDB_MAP_RESIZED || tries == 3)
			break;
		/*
		 * another process grew the map: adopt its size, start over
		 * (LMDB reports it when the read transaction begins, before
		 * it writes anything, so a pipe needs no rewinding)
		 */
		if ((e = store_map_adopt(s)) != PCA_OK)
			return e;
		if (reg &&
		    (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0))
			return pca_err_set(PCA_EIO, "store copy: %s",
			    strerror(errno));
	}
	if (rc != 0)
		return store_mdb_err(rc, "store copy");
	if (reg && fsync(fd) != 0)
		return pca_err_set(PCA_EIO, "store copy: fsync: %s",
		    strerror(errno));
	return PCA_OK;
}
