/*
 * buf.h - a growable byte buffer with a hard maximum (curl's dynbuf idea).
 */
#ifndef PCA_COMMON_BUF_H
#define PCA_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max; /* appends beyond this fail with PCA_ETOOBIG */
};

void buf_init(struct buf *, size_t max);
/* Appends n bytes; PCA_ETOOBIG past max, PCA_ENOMEM. */
pca_err buf_add(struct buf *, const void *, size_t n) PCA_WUR;
pca_err buf_addstr(struct buf *, const char *) PCA_WUR;
pca_err buf_printf(struct buf *, const char *, ...) PCA_WUR
    __attribute__((format(printf, 2, 3)));
/* Keeps a NUL after the content (not counted in len); for text. */
pca_err buf_nul(struct buf *) PCA_WUR;
/* Hands the bytes to the caller (who frees them) and resets the buffer. */
uint8_t *buf_steal(struct buf *, size_t *len);
void buf_free(struct buf *);
/* Wipes the content with OPENSSL_cleanse before freeing. */
void buf_free_secure(struct buf *);
/* Wipes and frees a plain allocation of n bytes; NULL is fine. */
void mem_free_secure(void *, size_t n);

#endif
