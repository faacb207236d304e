/*
 * table.c - the CAs (matched by CertID hashes; a handful, kept in memory)
 * and the format of the stored pre-signed responses, which are served from
 * the store through the cache (cache.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../common/util.h"
#include "ocsp_int.h"

#define REC_MAGIC 0x4f435232u /* "OCR2" */

pca_err
ocsp_table_init(struct ocsp_table *t)
{
	memset(t, 0, sizeof(*t));
	pthread_rwlock_init(&t->lk, NULL);
	return PCA_OK;
}

void
ocsp_table_clear(struct ocsp_table *t)
{
	size_t i;

	for (i = 0; i < t->ncas; i++)
		ocsp_signer_free(t->cas[i].signer);
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

/* ---- records ---- */

static void
be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static const char hx[] = "0123456789abcdef";

static void
etag_of(const uint8_t md[16], char etag[36])
{
	size_t i;

	etag[0] = '"';
	for (i = 0; i < 16; i++) {
		etag[1 + 2 * i] = hx[md[i] >> 4];
		etag[2 + 2 * i] = hx[md[i] & 15];
	}
	etag[33] = '"';
	etag[34] = '\0';
}

pca_err
ocsp_crec_encode(struct ocsp_crec *r, uint8_t **out, size_t *len)
{
	uint8_t *v, md[32];
	unsigned mdl = 0;

	if ((v = malloc(OCSP_REC_HDR + r->len)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if (EVP_Digest(r->der, r->len, md, &mdl, EVP_sha256(), NULL) != 1)
		memset(md, 0, sizeof(md));
	memset(v, 0, OCSP_REC_HDR);
	be64(v, ((uint64_t)REC_MAGIC << 32) | (unsigned)r->status);
	be64(v + 8, (uint64_t)r->produced);
	be64(v + 16, (uint64_t)r->next_update);
	be64(v + 24, (uint64_t)r->revoked_at);
	be64(v + 32, (uint64_t)r->not_after);
	memcpy(v + 48, md, 16);
	memcpy(v + OCSP_REC_HDR, r->der, r->len);
	etag_of(md, r->etag);
	*out = v;
	*len = OCSP_REC_HDR + r->len;
	return PCA_OK;
}

int
ocsp_crec_decode(const uint8_t *p, size_t n, struct ocsp_crec *r)
{
	uint64_t m;

	if (n <= OCSP_REC_HDR)
		return 0;
	m = get64(p);
	if ((m >> 32) != REC_MAGIC || (m & 0xffffffffu) > OCSP_UNKNOWN)
		return 0;
	r->status = (enum ocsp_status)(m & 0xffffffffu);
	r->produced = (int64_t)get64(p + 8);
	r->next_update = (int64_t)get64(p + 16);
	r->revoked_at = (int64_t)get64(p + 24);
	r->not_after = (int64_t)get64(p + 32);
	etag_of(p + 48, r->etag);
	r->der = p + OCSP_REC_HDR;
	r->len = n - OCSP_REC_HDR;
	return 1;
}

void
ocsp_rec_key(const char *uuid, const uint8_t *serial, size_t n, int h, char *k,
    size_t kl)
{
	char hex[2 * LIM_SERIAL_BYTES + 1];

	util_hex(serial, n, hex, sizeof(hex), 0);
	(void)snprintf(k, kl, "%s/%s/%d", uuid, hex, h ? 256 : 1);
}
