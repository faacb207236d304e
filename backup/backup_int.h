/*
 * backup_int.h - inside the backup module: the paced writer the archive
 * goes through (out.c).
 */
#ifndef PCA_BACKUP_INT_H
#define PCA_BACKUP_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "../common/err.h"

/* The writer's step: bytes staged, then written in one go (out.c). */
#define BK_OUT_STEP ((uint64_t)1 << 20)
/* O_DIRECT's alignment of buffers, offsets and sizes (any block size). */
#define BK_OUT_ALIGN 4096

/*
 * A file written so that a backup does not crowd out the store's own
 * commits (out.c): O_DIRECT when the filesystem takes it (direct), else
 * pushed out BK_OUT_STEP at a time and dropped from the page cache; at
 * most rate bytes a second (0: no limit).  With md set, every byte goes
 * into that digest too.
 */
struct bk_out {
	int fd;
	int direct;       /* fd is O_DIRECT (cleared for an unaligned tail) */
	uint64_t rate;    /* bytes per second, 0: unlimited */
	EVP_MD_CTX *md;   /* NULL: no digest */
	const char *name; /* for messages */
	/* state */
	uint64_t done;   /* bytes taken */
	uint64_t kicked; /* written to the file up to here */
	uint64_t synced; /* on disk (and out of the cache) up to here */
	double t0;       /* bk_out_start (monotonic seconds) */
	uint8_t *buf;    /* the aligned staging buffer, BK_OUT_STEP bytes */
	size_t fill;     /* bytes in buf */
};

/*
 * Sets the state of o (its fd, direct, rate, md and name are kept) and
 * takes its buffer: fails only without memory.
 */
pca_err bk_out_start(struct bk_out *o) PCA_WUR;
/* Frees what bk_out_start took (not the fd, not the digest). */
void bk_out_end(struct bk_out *o);
pca_err bk_out_write(struct bk_out *o, const void *p, size_t n) PCA_WUR;
/* Writes out the rest and waits for it (data only: fsync for metadata). */
pca_err bk_out_flush(struct bk_out *o) PCA_WUR;
/*
 * Opens path for a bk_out, O_DIRECT when the filesystem takes it (*direct
 * says); flags and mode as open(2)'s.
 */
int bk_out_open(const char *path, int flags, mode_t mode, int *direct);
/* Sets O_DIRECT on fd; 0 when the filesystem refuses it. */
int bk_direct(int fd);

/*
 * Lowers the calling thread's CPU priority (nice 19) and its I/O priority
 * (the idle class), for the threads of one backup; threads it creates
 * afterwards inherit both.  Best effort: nothing fails if the system
 * refuses.
 */
void bk_thread_background(void);

#endif
