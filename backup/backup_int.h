/*
 * backup_int.h - inside the backup module: the paced, bounded writer the
 * archive and its scratch copy of the store go through (out.c).
 */
#ifndef PCA_BACKUP_INT_H
#define PCA_BACKUP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "../common/err.h"

/* Bytes written between two pushes of the writeback (out.c). */
#define BK_OUT_STEP ((uint64_t)1 << 20)

/*
 * A file written so that a backup does not crowd out the store's own
 * commits: beyond the newest slack bytes (left to the page cache), at
 * most two BK_OUT_STEP windows of it are dirty at any time (each is
 * written out while the next one fills, and waited for before the one
 * after), at most rate bytes a second (0: no limit), and when drop is
 * set, what is on disk leaves the page cache.  With md set, every byte
 * goes into that digest too.
 */
struct bk_out {
	int fd;
	int drop;         /* posix_fadvise DONTNEED what is written out */
	uint64_t rate;    /* bytes per second, 0: unlimited */
	uint64_t slack;   /* bytes that may stay dirty, unwritten */
	EVP_MD_CTX *md;   /* NULL: no digest */
	const char *name; /* for messages */
	/* state */
	uint64_t done;   /* bytes written */
	uint64_t kicked; /* writeback started up to here */
	uint64_t synced; /* written out and waited for up to here */
	double t0;       /* first write (monotonic seconds) */
};

/* Sets the state of o (its fd, drop, rate, md and name are kept). */
void bk_out_start(struct bk_out *o);
pca_err bk_out_write(struct bk_out *o, const void *p, size_t n) PCA_WUR;
/*
 * Pushes out and waits for the rest (data only: fsync for metadata); with
 * a slack (a scratch file), only for what was pushed already: the tail
 * stays in the page cache, unwritten.
 */
pca_err bk_out_flush(struct bk_out *o) PCA_WUR;

/*
 * Lowers the calling thread's CPU priority (nice 19) and its I/O priority
 * (the idle class), for the threads of one backup; threads it creates
 * afterwards inherit both.  Best effort: nothing fails if the system
 * refuses.
 */
void bk_thread_background(void);

/*
 * What a scratch file may keep in the page cache, never written (it is
 * removed before the kernel writes it back): a 16th of the free memory.
 */
uint64_t bk_scratch_slack(void);

/* Reads from fd (the read end of a pipe) until EOF, discarding. */
void bk_drain(int fd);

#endif
