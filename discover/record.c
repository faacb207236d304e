/*
 * record.c - what discovery and imports saw, in the store: external
 * certificates by SHA-256, and where our own certificates were seen.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/limits.h"
#include "../common/util.h"
#include "../store/store.h"
#include "disc.h"

#define DISC_RSA_FLOOR 2048
#define DISC_EC_FLOOR 256
#define DISC_REC_MAX (256 * 1024)

static X509 *
cert_parse(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (len == 0 || len > DISC_CERT_MAX)
		return NULL;
	x = d2i_X509(NULL, &p, (long)len);
	if (x != NULL && p != der + len) { /* trailing garbage */
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Adds or refreshes the endpoint of seen in rec's "endpoints". */
static int
endpoint_note(json_t *rec, const struct disc_seen *seen)
{
	json_t *eps = json_object_get(rec, "endpoints"), *e;
	const char *sni = seen->sni != NULL ? seen->sni : "";
	size_t i;

	if (!json_is_array(eps)) {
		eps = json_array();
		if (eps == NULL || json_object_set_new(rec, "endpoints", eps))
			return 0;
	}
	json_array_foreach (eps, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "where"))
			       ? json_string_value(json_object_get(e, "where"))
			       : "",
			seen->where) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "sni"))
			       ? json_string_value(json_object_get(e, "sni"))
			       : "",
			sni) == 0)
			return json_object_set_new(e, "last",
				   json_integer(seen->when)) == 0;
	}
	if (json_array_size(eps) >= DISC_ENDPOINTS_MAX)
		(void)json_array_remove(eps, 0); /* the oldest goes */
	return json_array_append_new(eps,
		   json_pack("{s:s,s:s,s:s,s:I,s:I}", "where", seen->where,
		       "sni", sni, "source", seen->source, "first",
		       (json_int_t)seen->when, "last",
		       (json_int_t)seen->when)) == 0;
}

/* rec (ns/key, or a new one from init) with seen noted, written back. */
static pca_err
rec_update(struct store *st, const char *ns, const char *key, json_t *init,
    const struct disc_seen *seen, int *created)
{
	uint8_t *v = NULL;
	size_t len = 0;
	json_t *rec = NULL;
	char *text = NULL;
	pca_err err;

	*created = 0;
	err = store_kv_get(st, ns, key, &v, &len);
	if (err == PCA_OK)
		rec = json_loadb((const char *)v, len, 0, NULL);
	else if (err == PCA_ENOTFOUND) {
		pca_err_clear();
		rec = json_incref(init);
		*created = 1;
	} else
		goto out;
	if (rec == NULL) {
		err = pca_err_set(PCA_EDB, "%s record %.64s does not parse", ns,
		    key);
		goto out;
	}
	if (!endpoint_note(rec, seen) ||
	    json_object_set_new(rec, "last_seen", json_integer(seen->when)) ||
	    (text = json_dumps(rec, JSON_COMPACT)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	if (strlen(text) > DISC_REC_MAX) {
		err = pca_err_set(PCA_ETOOBIG, "%s record %.64s too large", ns,
		    key);
		goto out;
	}
	err = store_kv_put(st, ns, key, text, strlen(text), 0);
out:
	free(v);
	free(text);
	json_decref(rec);
	return err;
}

struct ca_ids {
	char (*id)[37];
	size_t n;
};

static int
ca_collect(const char *ca_id, const char *json, size_t len, void *arg)
{
	struct ca_ids *c = arg;
	void *p;

	(void)json;
	(void)len;
	if ((p = realloc(c->id, (c->n + 1) * sizeof(*c->id))) == NULL)
		return 1;
	c->id = p;
	(void)snprintf(c->id[c->n++], 37, "%s", ca_id);
	return 0;
}

/* The CA of ours that issued der (same serial, same bytes), or 0. */
static int
ours_find(struct store *st, X509 *x, const uint8_t *der, size_t len,
    char ca_id[37])
{
	const ASN1_INTEGER *ai = X509_get0_serialNumber(x);
	struct ca_ids ids = {NULL, 0};
	struct store_cert c;
	size_t i;
	int found = 0;

	/* the store keeps the serial's magnitude, as ASN1_INTEGER does */
	if (ai->length <= 0 || ai->length > LIM_SERIAL_BYTES)
		return 0;
	if (store_ca_foreach(st, ca_collect, &ids) != PCA_OK)
		pca_err_clear();
	for (i = 0; i < ids.n && !found; i++) {
		if (store_cert_get(st, ids.id[i], ai->data, (size_t)ai->length,
			&c) != PCA_OK) {
			pca_err_clear();
			continue;
		}
		if (c.der != NULL && c.der_len == len &&
		    memcmp(c.der, der, len) == 0) {
			memcpy(ca_id, ids.id[i], 37);
			found = 1;
		}
		store_cert_clear(&c);
	}
	free(ids.id);
	return found;
}

static void
fp_of(const uint8_t *der, size_t len, char out[65])
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	(void)SHA256(der, len, md);
	util_hex(md, sizeof(md), out, 65, 0);
}

pca_err
disc_record(struct store *st, const struct disc_ours *ours, const uint8_t *der,
    size_t len, const struct disc_seen *seen, struct disc_import_stats *stats)
{
	char ca_id[37], key[128], fp[65], *hex = NULL;
	const ASN1_INTEGER *ai;
	json_t *init = NULL;
	X509 *x;
	int created = 0;
	pca_err err = PCA_OK;

	if ((x = cert_parse(der, len)) == NULL)
		return pca_err_set(PCA_EBADCERT,
		    "%.200s: not an X.509 "
		    "certificate",
		    seen->where);
	if (ours != NULL && ours->ca_of != NULL &&
	    ours->ca_of(ours->arg, der, len, ca_id)) {
		stats->ours++; /* one of our CA certificates */
		goto out;
	}
	if (ours_find(st, x, der, len, ca_id)) {
		ai = X509_get0_serialNumber(x);
		(void)snprintf(key, sizeof(key), "%s/", ca_id);
		util_hex(ai->data, (size_t)ai->length, key + strlen(key),
		    sizeof(key) - strlen(key), 0);
		init = json_pack("{s:s,s:I}", "ca_id", ca_id, "first_seen",
		    (json_int_t)seen->when);
		if (init == NULL || (err = rec_update(st, DISC_NS_OURS, key,
					 init, seen, &created)) != PCA_OK)
			goto out;
		stats->ours++;
		goto out;
	}
	fp_of(der, len, fp);
	if ((err = util_b64_encode(der, len, &hex)) != PCA_OK)
		goto out;
	init = json_pack("{s:s,s:s,s:I}", "der", hex, "source", seen->source,
	    "first_seen", (json_int_t)seen->when);
	if (init == NULL) {
		err = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	if ((err = rec_update(st, DISC_NS_EXT, fp, init, seen, &created)) !=
	    PCA_OK)
		goto out;
	stats->external++;
	if (created)
		stats->new_external++;
out:
	if (err != PCA_OK && err != PCA_ENOMEM)
		pca_err_clear();
	free(hex);
	json_decref(init);
	X509_free(x);
	return err;
}

pca_err
disc_parse_certs(const uint8_t *p, size_t n,
    int (*cb)(const uint8_t *der, size_t len, void *arg), void *arg)
{
	BIO *b = NULL;
	X509 *x = NULL;
	unsigned char *der = NULL;
	int len, count = 0;
	pca_err err = PCA_OK;

	if (n > INT_MAX)
		return pca_err_set(PCA_ETOOBIG, "input too large");
	if (!util_is_pem(p, n)) {
		if ((x = cert_parse(p, n)) == NULL)
			return pca_err_set(PCA_EBADCERT, "neither PEM nor one "
							 "DER certificate");
		X509_free(x);
		return cb(p, n, arg) ? pca_err_set(PCA_EINVAL, "stopped")
				     : PCA_OK;
	}
	if ((b = BIO_new_mem_buf(p, (int)n)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		der = NULL;
		len = i2d_X509(x, &der);
		X509_free(x);
		if (len <= 0) {
			err = pca_err_set(PCA_EBADCERT,
			    "certificate %d does "
			    "not encode",
			    count + 1);
			break;
		}
		count++;
		if (cb(der, (size_t)len, arg)) {
			OPENSSL_free(der);
			err = pca_err_set(PCA_EINVAL, "stopped");
			break;
		}
		OPENSSL_free(der);
	}
	ERR_clear_error(); /* the end of the PEM input */
	BIO_free(b);
	if (err == PCA_OK && count == 0)
		err = pca_err_set(PCA_EBADCERT, "no CERTIFICATE block");
	return err;
}

struct ext_walk {
	int (*cb)(const struct disc_ext *, void *);
	void *arg;
};

static int
ext_each(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct ext_walk *w = arg;
	struct disc_ext e;
	json_t *rec = json_loadb((const char *)val, len, 0, NULL);
	const char *b64 = json_string_value(json_object_get(rec, "der"));
	uint8_t *der = NULL;
	size_t dl = 0;
	int stop = 0;

	if (b64 != NULL && util_b64_decode(b64, strlen(b64), DISC_CERT_MAX,
			       &der, &dl) == PCA_OK) {
		e.fp = key;
		e.der = der;
		e.der_len = dl;
		e.rec = rec;
		stop = w->cb(&e, w->arg);
	}
	pca_err_clear();
	free(der);
	json_decref(rec);
	return stop;
}

pca_err
disc_ext_foreach(struct store *st, int (*cb)(const struct disc_ext *, void *),
    void *arg)
{
	struct ext_walk w = {cb, arg};

	return store_kv_foreach(st, DISC_NS_EXT, ext_each, &w);
}

pca_err
disc_ext_get(struct store *st, const char *fp,
    void (*cb)(const struct disc_ext *, void *), void *arg)
{
	struct disc_ext e;
	uint8_t *v = NULL, *der = NULL;
	size_t len = 0, dl = 0;
	json_t *rec = NULL;
	const char *b64;
	pca_err err;

	if ((err = store_kv_get(st, DISC_NS_EXT, fp, &v, &len)) != PCA_OK)
		return err;
	rec = json_loadb((const char *)v, len, 0, NULL);
	b64 = json_string_value(json_object_get(rec, "der"));
	if (b64 == NULL || util_b64_decode(b64, strlen(b64), DISC_CERT_MAX,
			       &der, &dl) != PCA_OK) {
		err = pca_err_set(PCA_EPARSE,
		    "the record of external certificate %.64s is damaged", fp);
		goto out;
	}
	e.fp = fp;
	e.der = der;
	e.der_len = dl;
	e.rec = rec;
	cb(&e, arg);
out:
	free(der);
	free(v);
	json_decref(rec);
	return err;
}

pca_err
disc_ours_seen(struct store *st, const char *ca_id, const char *serial,
    json_t **out)
{
	char key[128];
	uint8_t *v = NULL;
	size_t len;
	json_t *rec, *eps;
	pca_err err;

	(void)snprintf(key, sizeof(key), "%s/%s", ca_id, serial);
	if ((err = store_kv_get(st, DISC_NS_OURS, key, &v, &len)) ==
	    PCA_ENOTFOUND) {
		pca_err_clear();
		*out = json_array();
		return *out ? PCA_OK : pca_err_set(PCA_ENOMEM, "no memory");
	}
	if (err != PCA_OK)
		return err;
	rec = json_loadb((const char *)v, len, 0, NULL);
	free(v);
	eps = json_object_get(rec, "endpoints");
	*out = json_is_array(eps) ? json_incref(eps) : json_array();
	json_decref(rec);
	return *out ? PCA_OK : pca_err_set(PCA_ENOMEM, "no memory");
}

static int64_t
time_of(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return util_timegm(&tm);
}

static void
findings(X509 *x, int64_t na, int64_t now, json_t *f)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	int bits = k ? EVP_PKEY_get_bits(k) : 0,
	    id = k ? EVP_PKEY_get_base_id(k) : 0;
	int sig = X509_get_signature_nid(x), md = NID_undef;

	if (k == NULL || (id == EVP_PKEY_RSA && bits < DISC_RSA_FLOOR) ||
	    (id == EVP_PKEY_EC && bits < DISC_EC_FLOOR) || id == EVP_PKEY_DSA)
		(void)json_array_append_new(f, json_string("WEAK_KEY"));
	(void)OBJ_find_sigid_algs(sig, &md, NULL);
	if (md == NID_sha1 || md == NID_md5)
		(void)json_array_append_new(f, json_string("SHA1"));
	if (na <= now)
		(void)json_array_append_new(f, json_string("EXPIRED"));
	if (X509_check_issued(x, x) == X509_V_OK)
		(void)json_array_append_new(f, json_string("SELF_SIGNED"));
}

static json_t *
name_of(const X509_NAME *nm)
{
	char buf[512];

	buf[0] = '\0';
	(void)X509_NAME_oneline(nm, buf, sizeof(buf));
	return json_string(buf);
}

json_t *
disc_ext_item(const struct disc_ext *e, int64_t now)
{
	X509 *x = cert_parse(e->der, e->der_len);
	const ASN1_INTEGER *ai;
	char serial[2 * LIM_SERIAL_BYTES + 3];
	json_t *o = NULL, *f = NULL, *eps;
	int64_t nb, na;

	if (x == NULL)
		return NULL;
	ai = X509_get0_serialNumber(x);
	util_hex(ai->data,
	    (size_t)(ai->length > LIM_SERIAL_BYTES + 1 ? LIM_SERIAL_BYTES + 1
						       : ai->length),
	    serial, sizeof(serial), 0);
	nb = time_of(X509_get0_notBefore(x));
	na = time_of(X509_get0_notAfter(x));
	if ((f = json_array()) == NULL)
		goto out;
	findings(x, na, now, f);
	eps = json_object_get(e->rec, "endpoints");
	o = json_pack("{s:s,s:s,s:o,s:o,s:s,s:I,s:I,s:s,s:O,s:O,s:O,s:O}",
	    "Fingerprint", e->fp, "Source", "EXTERNAL", "Subject",
	    name_of(X509_get_subject_name(x)), "Issuer",
	    name_of(X509_get_issuer_name(x)), "Serial", serial, "NotBefore",
	    (json_int_t)nb, "NotAfter", (json_int_t)na, "Status",
	    na <= now ? "EXPIRED" : "ISSUED", "SeenAt", eps ? eps : json_null(),
	    "FirstSeen",
	    json_object_get(e->rec, "first_seen")
		? json_object_get(e->rec, "first_seen")
		: json_null(),
	    "LastSeen",
	    json_object_get(e->rec, "last_seen")
		? json_object_get(e->rec, "last_seen")
		: json_null(),
	    "Findings", f);
out:
	json_decref(f);
	X509_free(x);
	return o;
}
