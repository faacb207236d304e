#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

static pca_err
buf_grow(struct buf *b, size_t need)
{
	size_t cap;
	uint8_t *p;

	if (need > b->max)
		return pca_err_set(PCA_ETOOBIG,
		    "buffer would exceed its limit of %zu bytes", b->max);
	if (need <= b->cap)
		return PCA_OK;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->p, cap);
	if (p == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	b->p = p;
	b->cap = cap;
	return PCA_OK;
}

pca_err
buf_add(struct buf *b, const void *d, size_t n)
{
	pca_err e;

	if (n > SIZE_MAX - b->len - 1)
		return pca_err_set(PCA_ETOOBIG, "buffer size overflow");
	if ((e = buf_grow(b, b->len + n)) != PCA_OK)
		return e;
	if (n > 0)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	return PCA_OK;
}

pca_err
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

pca_err
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	char *big = NULL;
	int n;
	pca_err e;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return pca_err_set(PCA_EINTERNAL, "format error");
	if ((size_t)n < sizeof(small))
		return buf_add(b, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	va_start(ap, fmt);
	(void)vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	e = buf_add(b, big, (size_t)n);
	free(big);
	return e;
}

pca_err
buf_nul(struct buf *b)
{
	pca_err e;

	if ((e = buf_grow(b, b->len + 1)) != PCA_OK) {
		/* the terminator is allowed one byte past max */
		if (b->len + 1 > b->max + 1)
			return e;
		pca_err_clear();
		b->max++;
		e = buf_grow(b, b->len + 1);
		b->max--;
		if (e != PCA_OK)
			return e;
	}
	b->p[b->len] = '\0';
	return PCA_OK;
}

uint8_t *
buf_steal(struct buf *b, size_t *len)
{
	uint8_t *p = b->p;

	if (len != NULL)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
buf_free_secure(struct buf *b)
{
	if (b->p != NULL)
		OPENSSL_cleanse(b->p, b->cap);
	buf_free(b);
}

void
mem_free_secure(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}
