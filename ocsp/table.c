/*
 * table.c - the hot path's data: the CAs (matched by CertID hashes) and one
 * entry per (CA, serial) holding its pre-signed responses.  Readers take the
 * read lock and copy what they serve; the refresher publishes new responses
 * by swapping pointers under the write lock.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ocsp_int.h"

#define NB_INIT 1024

pca_err
ocsp_table_init(struct ocsp_table *t)
{
	memset(t, 0, sizeof(*t));
	if ((t->b = calloc(NB_INIT, sizeof(*t->b))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	t->nb = NB_INIT;
	pthread_rwlock_init(&t->lk, NULL);
	return PCA_OK;
}

static void
entry_free(struct ocsp_entry *e)
{
	free(e->resp[0]);
	free(e->resp[1]);
	free(e);
}

void
ocsp_table_clear(struct ocsp_table *t)
{
	struct ocsp_entry *e, *n;
	size_t i;

	for (i = 0; i < t->nb; i++)
		for (e = t->b[i]; e != NULL; e = n) {
			n = e->next;
			entry_free(e);
		}
	for (i = 0; i < t->ncas; i++)
		ocsp_signer_free(t->cas[i].signer);
	free(t->b);
	free(t->cas);
	pthread_rwlock_destroy(&t->lk);
	memset(t, 0, sizeof(*t));
}

size_t
ocsp_serial_norm(const uint8_t *p, size_t n, const uint8_t **out)
{
	if (n == 0 || (p[0] & 0x80))
		return 0; /* negative: never one of ours */
	if (n > 1 && p[0] == 0)
		p++, n--;
	if (n > LIM_SERIAL_BYTES)
		return 0;
	*out = p;
	return n;
}

/* FNV-1a over CA index and serial (serials are CSPRNG output anyway). */
static size_t
slot(const struct ocsp_table *t, uint32_t ca, const uint8_t *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL ^ ca;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ULL;
	return (size_t)(h & (t->nb - 1));
}

long
ocsp_table_ca_find(const struct ocsp_table *t, const struct ocsp_certid *id)
{
	size_t i, hl = ocsp_hash_len(id->hash);

	for (i = 0; i < t->ncas; i++)
		if (memcmp(t->cas[i].key_hash[id->hash], id->key_hash, hl) ==
			0 &&
		    memcmp(t->cas[i].name_hash[id->hash], id->name_hash, hl) ==
			0)
			return (long)i;
	return -1;
}

long
ocsp_table_ca_by_uuid(const struct ocsp_table *t, const char *uuid)
{
	size_t i;

	for (i = 0; i < t->ncas; i++)
		if (strcmp(t->cas[i].uuid, uuid) == 0)
			return (long)i;
	return -1;
}

struct ocsp_entry *
ocsp_table_get(const struct ocsp_table *t, uint32_t ca, const uint8_t *serial,
    size_t n)
{
	struct ocsp_entry *e;

	for (e = t->b[slot(t, ca, serial, n)]; e != NULL; e = e->next)
		if (e->ca == ca && e->serial_len == n &&
		    memcmp(e->serial, serial, n) == 0)
			return e;
	return NULL;
}

static void
grow(struct ocsp_table *t)
{
	struct ocsp_entry **nb, *e, *n;
	size_t i, old = t->nb, k;

	if ((nb = calloc(old * 2, sizeof(*nb))) == NULL)
		return; /* keep the longer chains */
	t->nb = old * 2;
	for (i = 0; i < old; i++)
		for (e = t->b[i]; e != NULL; e = n) {
			n = e->next;
			k = slot(t, e->ca, e->serial, e->serial_len);
			e->next = nb[k];
			nb[k] = e;
		}
	free(t->b);
	t->b = nb;
}

pca_err
ocsp_table_put(struct ocsp_table *t, struct ocsp_entry *e)
{
	size_t k;

	if (t->n >= t->nb)
		grow(t);
	k = slot(t, e->ca, e->serial, e->serial_len);
	e->next = t->b[k];
	t->b[k] = e;
	t->n++;
	return PCA_OK;
}

void
ocsp_table_del(struct ocsp_table *t, struct ocsp_entry *e)
{
	struct ocsp_entry **pp;

	for (pp = &t->b[slot(t, e->ca, e->serial, e->serial_len)]; *pp;
	     pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			t->n--;
			entry_free(e);
			return;
		}
}

struct ocsp_blob *
ocsp_blob_new(const uint8_t *der, size_t len, int64_t produced,
    int64_t next_update)
{
	struct ocsp_blob *b = malloc(sizeof(*b) + len);
	uint8_t md[32];
	static const char hx[] = "0123456789abcdef";
	size_t i;
	unsigned mdl = 0;

	if (b == NULL)
		return NULL;
	b->produced = produced;
	b->next_update = next_update;
	b->len = len;
	memcpy(b->der, der, len);
	if (EVP_Digest(der, len, md, &mdl, EVP_sha256(), NULL) != 1)
		memset(md, 0, sizeof(md));
	b->etag[0] = '"';
	for (i = 0; i < 16; i++) {
		b->etag[1 + 2 * i] = hx[md[i] >> 4];
		b->etag[2 + 2 * i] = hx[md[i] & 15];
	}
	b->etag[33] = '"';
	b->etag[34] = '\0';
	return b;
}
