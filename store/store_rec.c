/*
 * store_rec.c - byte order helpers, CA ids, keys and the certificate and
 * revocation record encodings (layout in store_int.h).  Decoders treat
 * stored bytes as untrusted: every length is checked against the value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "store_int.h"

#define REC_HDR 36 /* fixed part of a certificate record */

MDB_val
store_val(const void *p, size_t n)
{
	MDB_val v;

	v.mv_size = n;
	v.mv_data = (void *)p; /* LMDB does not write through input vals */
	return v;
}

void
store_be64_put(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

uint64_t
store_be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void
store_be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t
store_be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

uint64_t
store_time_enc(int64_t t)
{
	return (uint64_t)t ^ ((uint64_t)1 << 63);
}

/* two's complement u64 to i64 without implementation-defined casts */
static int64_t
u64_to_i64(uint64_t v)
{
	return v > INT64_MAX ? -(int64_t)(~v) - 1 : (int64_t)v;
}

int64_t
store_time_dec(uint64_t v)
{
	return u64_to_i64(v ^ ((uint64_t)1 << 63));
}

static int
hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

pca_err
store_id_parse(const char *s, uint8_t id[STORE_ID_BYTES])
{
	int i, n = 0;

	if (s == NULL || !util_is_uuid(s))
		return pca_err_set(PCA_EINVAL,
		    "CA id \"%.40s\" is not a "
		    "lowercase UUID",
		    s != NULL ? s : "(null)");
	for (i = 0; i < 36; i += 2) {
		if (s[i] == '-')
			i++;
		id[n++] = (uint8_t)(hexval(s[i]) << 4 | hexval(s[i + 1]));
	}
	return PCA_OK;
}

void
store_id_format(const uint8_t id[STORE_ID_BYTES], char out[37])
{
	static const char hx[] = "0123456789abcdef";
	int i, n = 0;

	for (i = 0; i < STORE_ID_BYTES; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[n++] = '-';
		out[n++] = hx[id[i] >> 4];
		out[n++] = hx[id[i] & 0xf];
	}
	out[n] = '\0';
}

pca_err
store_serial_check(const uint8_t *serial, size_t len)
{
	if (serial == NULL || len == 0 || len > LIM_SERIAL_BYTES)
		return pca_err_set(PCA_EINVAL,
		    "serial must be 1 to %d bytes, "
		    "not %zu",
		    LIM_SERIAL_BYTES, serial == NULL ? 0 : len);
	return PCA_OK;
}

pca_err
store_cert_key(const char *ca_id, const uint8_t *serial, size_t len,
    uint8_t out[STORE_CERT_KEY_MAX], size_t *klen)
{
	pca_err e;

	if ((e = store_id_parse(ca_id, out)) != PCA_OK ||
	    (e = store_serial_check(serial, len)) != PCA_OK)
		return e;
	memcpy(out + STORE_ID_BYTES, serial, len);
	*klen = STORE_ID_BYTES + len;
	return PCA_OK;
}

int
store_cert_key_ok(const MDB_val *k)
{
	return k->mv_size > STORE_ID_BYTES && k->mv_size <= STORE_CERT_KEY_MAX;
}

void
store_exp_key(int64_t not_after, const uint8_t *ckey, size_t cklen,
    uint8_t out[STORE_EXP_KEY_MAX], size_t *klen)
{
	store_be64_put(out, store_time_enc(not_after));
	memcpy(out + 8, ckey, cklen);
	*klen = 8 + cklen;
}

/* "CA <uuid> serial <hex>" for messages; tolerates malformed keys. */
void
store_cert_name(const void *ckey, size_t cklen, char out[STORE_NAME_MAX])
{
	char id[37], hex[2 * LIM_SERIAL_BYTES + 1];
	const uint8_t *p = ckey;

	if (cklen <= STORE_ID_BYTES || cklen > STORE_CERT_KEY_MAX) {
		(void)snprintf(out, STORE_NAME_MAX, "with a %zu-byte key",
		    cklen);
		return;
	}
	store_id_format(p, id);
	(void)util_hex(p + STORE_ID_BYTES, cklen - STORE_ID_BYTES, hex,
	    sizeof(hex), 0);
	(void)snprintf(out, STORE_NAME_MAX, "CA %s serial %s", id, hex);
}

void
store_i64_put(uint8_t *p, int64_t v)
{
	store_be64_put(p, (uint64_t)v);
}

int64_t
store_i64_get(const uint8_t *p)
{
	return u64_to_i64(store_be64_get(p));
}

pca_err
store_rec_encode(const struct store_rec *r, struct buf *b)
{
	uint8_t h[REC_HDR];
	pca_err e;

	if (r->tmpl_len > 255 || r->by_len > 255 ||
	    r->tbs_len > STORE_MAX_BLOB || r->der_len > STORE_MAX_BLOB)
		return pca_err_set(PCA_ETOOBIG, "certificate record field "
						"over its limit");
	h[0] = STORE_REC_VERSION;
	h[1] = (uint8_t)r->state;
	store_i64_put(h + 2, r->not_before);
	store_i64_put(h + 10, r->not_after);
	store_i64_put(h + 18, r->issued_at);
	h[26] = (uint8_t)r->tmpl_len;
	h[27] = (uint8_t)r->by_len;
	store_be32_put(h + 28, (uint32_t)r->tbs_len);
	store_be32_put(h + 32, (uint32_t)r->der_len);
	if ((e = buf_add(b, h, sizeof(h))) != PCA_OK ||
	    (e = buf_add(b, r->tmpl, r->tmpl_len)) != PCA_OK ||
	    (e = buf_add(b, r->by, r->by_len)) != PCA_OK ||
	    (e = buf_add(b, r->tbs, r->tbs_len)) != PCA_OK ||
	    (e = buf_add(b, r->der, r->der_len)) != PCA_OK)
		return e;
	return PCA_OK;
}

/*
 * Decodes a certificate record; the pointers in *r point into p.  The
 * message names the defect only: callers add the CA and serial.
 */
pca_err
store_rec_decode(const void *vp, size_t n, struct store_rec *r)
{
	const uint8_t *p = vp;
	struct store_rec t;

	if (n < REC_HDR)
		return pca_err_set(PCA_EDB, "record of %zu bytes is truncated",
		    n);
	if (p[0] != STORE_REC_VERSION)
		return pca_err_set(PCA_EDB, "record version %u is unknown",
		    p[0]);
	memset(&t, 0, sizeof(t));
	t.state = p[1];
	if (t.state != STORE_CERT_PENDING && t.state != STORE_CERT_ISSUED)
		return pca_err_set(PCA_EDB, "record state %d is unknown",
		    t.state);
	t.not_before = store_i64_get(p + 2);
	t.not_after = store_i64_get(p + 10);
	t.issued_at = store_i64_get(p + 18);
	t.tmpl_len = p[26];
	t.by_len = p[27];
	t.tbs_len = store_be32_get(p + 28);
	t.der_len = store_be32_get(p + 32);
	if (t.tmpl_len >= sizeof(((struct store_cert *)0)->template_name) ||
	    t.by_len >= sizeof(((struct store_cert *)0)->requested_by) ||
	    REC_HDR + t.tmpl_len + t.by_len + t.tbs_len + t.der_len != n)
		return pca_err_set(PCA_EDB,
		    "record lengths do not match its "
		    "%zu bytes",
		    n);
	t.tmpl = (const char *)p + REC_HDR;
	t.by = t.tmpl + t.tmpl_len;
	t.tbs = (const uint8_t *)t.by + t.by_len;
	t.der = t.tbs + t.tbs_len;
	if (memchr(t.tmpl, '\0', t.tmpl_len) != NULL ||
	    memchr(t.by, '\0', t.by_len) != NULL)
		return pca_err_set(PCA_EDB, "record text field holds a NUL");
	*r = t;
	return PCA_OK;
}

/* store_rec_decode() with a message naming the CA and serial of key. */
pca_err
store_rec_check(const MDB_val *key, const MDB_val *val, struct store_rec *r)
{
	char name[STORE_NAME_MAX], why[STORE_MSG_MAX];

	if (store_cert_key_ok(key) &&
	    store_rec_decode(val->mv_data, val->mv_size, r) == PCA_OK)
		return PCA_OK;
	(void)snprintf(why, sizeof(why), "%s",
	    store_cert_key_ok(key) ? pca_err_msg() : "malformed key");
	store_cert_name(key->mv_data, key->mv_size, name);
	return pca_err_set(PCA_EDB, "certificate %s is corrupt: %s", name, why);
}

/* Reads and decodes the certificate at key. */
pca_err
store_rec_get(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key,
    struct store_rec *r)
{
	char name[STORE_NAME_MAX];
	MDB_val k = *key, v;
	int rc;

	rc = mdb_get(txn, dbi, &k, &v);
	if (rc == 0)
		return store_rec_check(key, &v, r);
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc, "reading a certificate");
	store_cert_name(key->mv_data, key->mv_size, name);
	return pca_err_set(PCA_ENOTFOUND, "no certificate %s", name);
}

static pca_err
dup_bytes(const uint8_t *p, size_t n, uint8_t **out)
{
	if (n == 0) {
		*out = NULL;
		return PCA_OK;
	}
	if ((*out = malloc(n)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	memcpy(*out, p, n);
	return PCA_OK;
}

/* Copies a decoded record into a caller-owned store_cert (not revoked). */
pca_err
store_rec_copy(const MDB_val *key, const struct store_rec *r,
    struct store_cert *c)
{
	struct store_cert t;

	memset(&t, 0, sizeof(t));
	store_id_format(key->mv_data, t.ca_id);
	t.serial_len = key->mv_size - STORE_ID_BYTES;
	memcpy(t.serial, (const uint8_t *)key->mv_data + STORE_ID_BYTES,
	    t.serial_len);
	t.state = (enum store_cert_state)r->state;
	t.not_before = r->not_before;
	t.not_after = r->not_after;
	t.issued_at = r->issued_at;
	memcpy(t.template_name, r->tmpl, r->tmpl_len);
	memcpy(t.requested_by, r->by, r->by_len);
	if (dup_bytes(r->tbs, r->tbs_len, &t.tbs) != PCA_OK ||
	    dup_bytes(r->der, r->der_len, &t.der) != PCA_OK) {
		store_cert_clear(&t);
		return PCA_ENOMEM;
	}
	t.tbs_len = r->tbs_len;
	t.der_len = r->der_len;
	*c = t;
	return PCA_OK;
}

void
store_rev_encode(int64_t when, int reason, uint8_t out[STORE_REV_LEN])
{
	out[0] = STORE_REC_VERSION;
	store_i64_put(out + 1, when);
	store_be32_put(out + 9, (uint32_t)reason);
}

pca_err
store_rev_decode(const MDB_val *v, int64_t *when, int *reason)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size != STORE_REV_LEN || p[0] != STORE_REC_VERSION)
		return pca_err_set(PCA_EDB,
		    "revocation record of %zu bytes is "
		    "malformed",
		    v->mv_size);
	*when = store_i64_get(p + 1);
	*reason = (int)(int32_t)store_be32_get(p + 9);
	return PCA_OK;
}
