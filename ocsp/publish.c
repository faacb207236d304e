/*
 * publish.c - the read path through S3: every pre-signed response is also
 * an object of the store's publication outbox (store_obj_put_kv, in the
 * transaction that records it), which sync/ uploads, newest version only:
 *
 *   <prefix>ocsp/<name hash>/<key hash>/<serial>   DER OCSPResponse
 *       (hex, lower case; the hashes of the CertID, SHA-1 (40 digits) and
 *       SHA-256 (64); the serial's magnitude, no leading 00)
 *   <prefix>ocsp/get/<base64 of the request>        the same SHA-1 answer
 *       under the RFC 5019 GET form of the canonical request (one SHA-1
 *       CertID, no nonce, no extensions: what `openssl ocsp -reqout`
 *       makes), so that a static server maps GET /<base64> to a key by a
 *       plain rewrite
 *   <prefix>ocsp/manifest/<CA id>.json               per CA: its CertID
 *       hashes, a sequence number and the last OCSP_PUB_CHANGES status
 *       changes (revocations), which the responder role follows
 *
 * A refresh re-signs and so re-publishes; nothing else does (an unchanged
 * response is never uploaded twice).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../x509/x509.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "ocsp_int.h"

#define PUB_NS_SEQ "ocsp-pub" /* <CA id> -> manifest sequence (be64) */

void
ocsp_pub_key(const char *prefix, enum ocsp_hash h, const uint8_t *name_hash,
    const uint8_t *key_hash, const uint8_t *sn, size_t n, char *out,
    size_t outlen)
{
	char nh[65], kh[65], s[2 * LIM_SERIAL_BYTES + 1];
	size_t hl = ocsp_hash_len(h);

	(void)util_hex(name_hash, hl, nh, sizeof(nh), 0);
	(void)util_hex(key_hash, hl, kh, sizeof(kh), 0);
	(void)util_hex(sn, n > LIM_SERIAL_BYTES ? LIM_SERIAL_BYTES : n, s,
	    sizeof(s), 0);
	(void)snprintf(out, outlen, "%socsp/%s/%s/%s", prefix, nh, kh, s);
}

pca_err
ocsp_pub_get_key(const char *prefix, const uint8_t name_hash[20],
    const uint8_t key_hash[20], const uint8_t *sn, size_t n, char *out,
    size_t outlen)
{
	uint8_t num[LIM_SERIAL_BYTES + 1];
	const uint8_t *alg;
	size_t alen, nl = 0;
	struct buf b;
	char *b64 = NULL;
	pca_err e;

	if (n == 0 || n > LIM_SERIAL_BYTES)
		return pca_err_set(PCA_EINVAL, "serial of 1 to %d bytes",
		    LIM_SERIAL_BYTES);
	if (sn[0] & 0x80)
		num[nl++] = 0; /* a positive INTEGER */
	memcpy(num + nl, sn, n);
	nl += n;
	alg = ocsp_hash_algid(OCSP_HASH_SHA1, &alen);
	buf_init(&b, 512);
	/* OCSPRequest { TBSRequest { requestList { Request { CertID } } } } */
	if ((e = buf_add(&b, alg, alen)) != PCA_OK ||
	    (e = x509_der_put(&b, 0x04, name_hash, 20)) != PCA_OK ||
	    (e = x509_der_put(&b, 0x04, key_hash, 20)) != PCA_OK ||
	    (e = x509_der_put(&b, 0x02, num, nl)) != PCA_OK ||
	    (e = x509_der_wrap(&b, 0, 0x30)) != PCA_OK ||
	    (e = x509_der_wrap(&b, 0, 0x30)) != PCA_OK ||
	    (e = x509_der_wrap(&b, 0, 0x30)) != PCA_OK ||
	    (e = x509_der_wrap(&b, 0, 0x30)) != PCA_OK ||
	    (e = x509_der_wrap(&b, 0, 0x30)) != PCA_OK ||
	    (e = util_b64_encode(b.p, b.len, &b64)) != PCA_OK)
		goto out;
	if ((size_t)snprintf(out, outlen, "%socsp/get/%s", prefix, b64) >=
	    outlen)
		e = pca_err_set(PCA_ETOOBIG, "OCSP GET key too long");
out:
	free(b64);
	buf_free(&b);
	return e;
}

/* The manifest's change list after one more change (a new JSON text). */
static pca_err
manifest_build(const struct ocsp_responder *r, const struct ocsp_ca *ca,
    const struct ocsp_pub_item *it, uint64_t seq, char **out)
{
	char key[STORE_OBJ_KEY_MAX + 1], hex[2][2][65];
	char sn[2 * LIM_SERIAL_BYTES + 1];
	struct store_obj o;
	json_t *m = NULL, *ch = NULL, *old;
	int h;
	pca_err e = PCA_OK;

	memset(&o, 0, sizeof(o));
	(void)snprintf(key, sizeof(key), "%socsp/manifest/%s.json",
	    r->conf.publish_prefix, ca->uuid);
	if (it->changed && store_obj_get(r->store, key, &o) == PCA_OK &&
	    (old = json_loadb((const char *)o.body, o.body_len, 0, NULL)) !=
		NULL) {
		ch = json_incref(json_object_get(old, "changes"));
		json_decref(old);
	}
	pca_err_clear();
	if (!json_is_array(ch)) {
		json_decref(ch);
		ch = json_array();
	}
	if (it->changed) {
		(void)util_hex(it->sn, it->n, sn, sizeof(sn), 0);
		(void)json_array_append_new(ch,
		    json_pack("{s:I,s:s,s:I}", "seq", (json_int_t)seq, "serial",
			sn, "produced", (json_int_t)it->produced));
	}
	while (json_array_size(ch) > OCSP_PUB_CHANGES)
		(void)json_array_remove(ch, 0);
	for (h = 0; h < 2; h++) {
		(void)util_hex(ca->name_hash[h], ocsp_hash_len(h), hex[h][0],
		    65, 0);
		(void)util_hex(ca->key_hash[h], ocsp_hash_len(h), hex[h][1], 65,
		    0);
	}
	m = json_pack("{s:i,s:s,s:{s:s,s:s},s:{s:s,s:s},s:I,s:I,s:o}",
	    "version", 1, "ca", ca->uuid, "sha1", "name_hash", hex[0][0],
	    "key_hash", hex[0][1], "sha256", "name_hash", hex[1][0], "key_hash",
	    hex[1][1], "seq", (json_int_t)seq, "updated",
	    (json_int_t)util_now(), "changes", ch);
	if (m == NULL || (*out = json_dumps(m, JSON_COMPACT)) == NULL)
		e = pca_err_set(PCA_ENOMEM, "OCSP manifest: no memory");
	json_decref(m);
	store_obj_clear(&o);
	return e;
}

/* The manifest sequence recorded for the CA; 0 and *none when none. */
static uint64_t
seq_get(struct ocsp_responder *r, const char *uuid, int *none)
{
	uint8_t *v = NULL;
	size_t n = 0;
	uint64_t s = 0;
	size_t i;

	*none = 1;
	if (store_kv_get(r->store, PUB_NS_SEQ, uuid, &v, &n) == PCA_OK &&
	    n == 8) {
		for (i = 0; i < 8; i++)
			s = s << 8 | v[i];
		*none = 0;
	}
	pca_err_clear();
	free(v);
	return s;
}

pca_err
ocsp_publish_commit(struct ocsp_responder *r, const struct ocsp_pub_item *it,
    const struct store_kv_op *ops, size_t nops)
{
	const struct ocsp_ca *ca = it->ca;
	struct store_obj_in objs[3];
	struct store_kv_op all[OCSP_PUB_OPS_MAX + 1];
	char k[2][STORE_OBJ_KEY_MAX + 1], gk[STORE_OBJ_KEY_MAX + 1];
	char mk[STORE_OBJ_KEY_MAX + 1], meta[2][STORE_OBJ_KEY_MAX + 200];
	char mmeta[200];
	char *manifest = NULL;
	uint8_t sq[8];
	uint64_t seq;
	size_t nobj = 0, i;
	int h, none;
	pca_err e;

	if (nops > OCSP_PUB_OPS_MAX)
		return pca_err_set(PCA_EINVAL, "too many records");
	if ((e = ocsp_pub_get_key(r->conf.publish_prefix, ca->name_hash[0],
		 ca->key_hash[0], it->sn, it->n, gk, sizeof(gk))) != PCA_OK)
		return e;
	memset(objs, 0, sizeof(objs));
	for (h = 0; h < 2; h++) {
		ocsp_pub_key(r->conf.publish_prefix, (enum ocsp_hash)h,
		    ca->name_hash[h], ca->key_hash[h], it->sn, it->n, k[h],
		    sizeof(k[h]));
		(void)snprintf(meta[h], sizeof(meta[h]),
		    "{\"bucket\":\"%s\",\"content_type\":\"application/"
		    "ocsp-response\",\"kind\":\"ocsp\",\"acl\":\"%s\"%s%s%s}",
		    r->conf.publish_bucket, r->conf.publish_acl,
		    h == 0 ? ",\"also\":[\"" : "", h == 0 ? gk : "",
		    h == 0 ? "\"]" : "");
		objs[nobj++] = (struct store_obj_in){k[h], 0, meta[h],
		    it->der[h], it->len[h]};
	}
	memcpy(all, ops, nops * sizeof(*ops));
	seq = seq_get(r, ca->uuid, &none);
	if (none || it->changed) {
		seq += it->changed;
		(void)snprintf(mk, sizeof(mk), "%socsp/manifest/%s.json",
		    r->conf.publish_prefix, ca->uuid);
		(void)snprintf(mmeta, sizeof(mmeta),
		    "{\"bucket\":\"%s\","
		    "\"content_type\":\"application/json\",\"acl\":\"%s\","
		    "\"kind\":\"ocsp-manifest\"}",
		    r->conf.publish_bucket, r->conf.publish_acl);
		if ((e = manifest_build(r, ca, it, seq, &manifest)) != PCA_OK)
			return e;
		objs[nobj++] = (struct store_obj_in){mk, 0, mmeta,
		    (const uint8_t *)manifest, strlen(manifest)};
		for (i = 0; i < 8; i++)
			sq[i] = (uint8_t)(seq >> (56 - 8 * i));
		memset(&all[nops], 0, sizeof(all[nops]));
		all[nops].ns = PUB_NS_SEQ, all[nops].key = ca->uuid;
		all[nops].val = sq, all[nops++].len = 8;
	}
	e = store_obj_put_kv(r->store, objs, nobj, all, nops);
	free(manifest);
	return e;
}

pca_err
ocsp_publish_drop(struct ocsp_responder *r, long cai, const uint8_t *sn,
    size_t n, const struct store_kv_op *ops, size_t nops)
{
	char k[2][STORE_OBJ_KEY_MAX + 1];
	const char *keys[2] = {k[0], k[1]};
	const struct ocsp_ca *ca;
	int h;

	if (cai < 0 || (size_t)cai >= r->t.ncas)
		return store_kv_batch(r->store, ops, nops);
	ca = &r->t.cas[cai];
	for (h = 0; h < 2; h++)
		ocsp_pub_key(r->conf.publish_prefix, (enum ocsp_hash)h,
		    ca->name_hash[h], ca->key_hash[h], sn, n, k[h],
		    sizeof(k[h]));
	return store_obj_drop_kv(r->store, keys, 2, ops, nops);
}
