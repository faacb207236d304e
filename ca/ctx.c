/*
 * ctx.c - parsed issuing contexts of CA records, cached by record bytes so
 * the issuance path does not re-parse JSON, certificates and chains.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../hsm/hsm.h"
#include "../store/store.h"
#include "engine_int.h"

#define CACHE_MAX 1024

void
ca_ctx_free(struct ca_ctx *c)
{
	if (c == NULL)
		return;
	free(c->raw);
	json_decref(c->rec);
	free(c->spki);
	free(c->cert_der);
	free(c->subject_der);
	free(c->cert_pem);
	free(c->chain_pem);
	free(c->cdp_uri);
	free(c->ocsp_uri);
	free(c->issuers_uri);
	free(c);
}

static pca_err
b64_field(const json_t *rec, const char *key, size_t max, uint8_t **out,
    size_t *len)
{
	const char *s = json_string_value(json_object_get(rec, key));

	if (s == NULL)
		return pca_err_set(PCA_EDB, "CA record lacks %s", key);
	return util_b64_decode(s, strlen(s), max, out, len);
}

/* PEM blocks of concatenated DER certificates. */
static pca_err
chain_to_pem(const uint8_t *der, size_t len, char **out)
{
	struct buf b;
	const unsigned char *p = der, *end = der + len;
	X509 *x;
	char *pem;
	pca_err err = PCA_OK;

	buf_init(&b, LIM_CHAIN * 2);
	while (p < end) {
		const unsigned char *start = p;
		if ((x = d2i_X509(NULL, &p, end - p)) == NULL)
			return pca_err_set(PCA_EDB, "stored chain is corrupt");
		X509_free(x);
		err = util_pem_encode("CERTIFICATE", start, (size_t)(p - start),
		    &pem);
		if (err == PCA_OK) {
			err = buf_addstr(&b, pem);
			free(pem);
		}
		if (err != PCA_OK)
			goto out;
	}
	if ((err = buf_nul(&b)) != PCA_OK)
		goto out;
	*out = (char *)buf_steal(&b, NULL);
out:
	buf_free(&b);
	return err;
}

static pca_err
ctx_load_cert(struct ca_ctx *c)
{
	const unsigned char *p;
	X509 *x = NULL;
	const ASN1_OCTET_STRING *ski;
	uint8_t *chain = NULL;
	size_t chain_len;
	unsigned char *name = NULL;
	int n;
	struct tm tm;
	pca_err err;

	if (json_object_get(c->rec, "_Cert") == NULL)
		return PCA_OK;
	if ((err = b64_field(c->rec, "_Cert", LIM_CERT, &c->cert_der,
		 &c->cert_len)) != PCA_OK)
		return err;
	p = c->cert_der;
	if ((x = d2i_X509(NULL, &p, (long)c->cert_len)) == NULL)
		return pca_err_set(PCA_EDB, "CA %s certificate is corrupt",
		    c->uuid);
	if ((n = i2d_X509_NAME(X509_get_subject_name(x), &name)) <= 0) {
		err = pca_err_set(PCA_EDB, "CA %s subject", c->uuid);
		goto out;
	}
	c->subject_der = name;
	c->subject_len = (size_t)n;
	if ((ski = X509_get0_subject_key_id(x)) != NULL && ski->length == 20) {
		memcpy(c->ski, ski->data, 20);
		c->has_ski = 1;
	} else if (ski == NULL &&
		   x509_spki_keyid(c->spki, c->spki_len, c->ski) == PCA_OK)
		c->has_ski = 1; /* no SKI: the key id by RFC 5280 method 1 */
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		err = pca_err_set(PCA_EDB, "CA %s notAfter", c->uuid);
		goto out;
	}
	c->not_after = util_timegm(&tm);
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) != 1) {
		err = pca_err_set(PCA_EDB, "CA %s notBefore", c->uuid);
		goto out;
	}
	c->not_before = util_timegm(&tm);
	c->pathlen = (int)X509_get_pathlen(x);
	if ((err = util_pem_encode("CERTIFICATE", c->cert_der, c->cert_len,
		 &c->cert_pem)) != PCA_OK)
		goto out;
	if (json_object_get(c->rec, "_Chain") != NULL) {
		if ((err = b64_field(c->rec, "_Chain", LIM_CHAIN, &chain,
			 &chain_len)) != PCA_OK ||
		    (err = chain_to_pem(chain, chain_len, &c->chain_pem)) !=
			PCA_OK)
			goto out;
	}
out:
	free(chain);
	X509_free(x);
	return err;
}

static void
ctx_urls(struct ca_engine *e, struct ca_ctx *c)
{
	const json_t *rc = json_object_get(c->rec, "RevocationConfiguration");
	const json_t *crl = json_object_get(rc, "CrlConfiguration");
	const json_t *ocsp = json_object_get(rc, "OcspConfiguration");
	const char *cname, *cpath, *bucket, *part;
	char path[512], host[512], url[1100];

	if (json_is_true(json_object_get(crl, "Enabled")) &&
	    !json_is_true(json_object_get(
		json_object_get(crl,
		    "CrlDistributionPointExtensionConfiguration"),
		"OmitExtension"))) {
		cpath = json_string_value(json_object_get(crl, "CustomPath"));
		part =
		    json_string_value(json_object_get(c->rec, "_CrlPartition"));
		if (part != NULL)
			(void)snprintf(path, sizeof(path), "%s/%s.crl",
			    cpath && *cpath ? cpath : "crl", part);
		else if (cpath != NULL && *cpath)
			(void)snprintf(path, sizeof(path), "%s/%s.crl", cpath,
			    c->uuid);
		else
			(void)snprintf(path, sizeof(path), "crl/%s.crl",
			    c->uuid);
		if (part != NULL && (cpath == NULL || !*cpath))
			(void)snprintf(path, sizeof(path), "crl/%s/%s.crl",
			    c->uuid, part);
		cname = json_string_value(json_object_get(crl, "CustomCname"));
		bucket =
		    json_string_value(json_object_get(crl, "S3BucketName"));
		if (cname != NULL && *cname)
			(void)snprintf(host, sizeof(host), "http://%s", cname);
		else if (e->crl_url_base != NULL)
			(void)snprintf(host, sizeof(host), "%s",
			    e->crl_url_base);
		else
			(void)snprintf(host, sizeof(host),
			    "http://%s.s3.%s.amazonaws.com",
			    bucket ? bucket : "", c->region);
		/* a local CRL (no bucket) has no URL without a url_base */
		if ((bucket != NULL || e->crl_url_base != NULL ||
			(cname != NULL && *cname)) &&
		    snprintf(url, sizeof(url), "%s/%s", host, path) <
			(int)sizeof(url))
			c->cdp_uri = strdup(url);
	}
	if (json_is_true(json_object_get(ocsp, "Enabled"))) {
		cname =
		    json_string_value(json_object_get(ocsp, "OcspCustomCname"));
		if (cname != NULL && *cname)
			(void)snprintf(url, sizeof(url), "http://%s", cname);
		else if (e->ocsp_url != NULL)
			(void)snprintf(url, sizeof(url), "%s", e->ocsp_url);
		else
			(void)snprintf(url, sizeof(url),
			    "http://ocsp.acm-pca.%s.amazonaws.com", c->region);
		c->ocsp_uri = strdup(url);
		/*
		 * AIA caIssuers (RFC 5280 4.2.2.1) beside the OCSP URL, under
		 * the appliance's public base, where pcad serves the CA's
		 * certificate (crl/http.c); none without a base ([crl]
		 * url_base), as AWS's forms have no such object.
		 */
		if (e->crl_url_base != NULL &&
		    snprintf(url, sizeof(url), "%s/" CA_ISSUERS_PREFIX "%s.crt",
			e->crl_url_base, c->uuid) < (int)sizeof(url))
			c->issuers_uri = strdup(url);
	}
}

static pca_err
ctx_fill(struct ca_engine *e, struct ca_ctx *c)
{
	const json_t *cfg;
	const char *s;
	pca_err err;

	cfg = json_object_get(c->rec, "CertificateAuthorityConfiguration");
	(void)snprintf(c->arn, sizeof(c->arn), "%s",
	    json_string_value(json_object_get(c->rec, "Arn")) ?: "");
	(void)snprintf(c->account, sizeof(c->account), "%s",
	    json_string_value(json_object_get(c->rec, "OwnerAccount")) ?: "");
	(void)snprintf(c->region, sizeof(c->region), "%s",
	    json_string_value(json_object_get(c->rec, "_Region")) ?: "");
	(void)snprintf(c->label, sizeof(c->label), "%s",
	    json_string_value(json_object_get(c->rec, "_KeyLabel")) ?: "");
	s = json_string_value(json_object_get(c->rec, "Type"));
	c->type =
	    s && strcmp(s, "ROOT") == 0 ? PROF_CA_ROOT : PROF_CA_SUBORDINATE;
	c->status = json_string_value(json_object_get(c->rec, "Status"));
	c->keyalg = pca_keyalg_from_name(
	    json_string_value(json_object_get(cfg, "KeyAlgorithm")));
	s = json_string_value(json_object_get(c->rec, "UsageMode"));
	c->short_lived = s && strcmp(s, "SHORT_LIVED_CERTIFICATE") == 0;
	c->pathlen = -1;
	if (c->status == NULL || c->arn[0] == '\0' || c->label[0] == '\0')
		return pca_err_set(PCA_EDB, "CA record %s is incomplete",
		    c->uuid);
	if ((err = b64_field(c->rec, "_Spki", 4096, &c->spki, &c->spki_len)) !=
	    PCA_OK)
		return err;
	if ((err = ctx_load_cert(c)) != PCA_OK)
		return err;
	ctx_urls(e, c);
	return PCA_OK;
}

pca_err
ca_ctx_build(struct ca_engine *e, const char *uuid, const char *raw,
    size_t raw_len, struct ca_ctx **out)
{
	struct ca_ctx *c;
	json_error_t jerr;
	pca_err err;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	memcpy(c->uuid, uuid, 37);
	if ((c->raw = malloc(raw_len + 1)) == NULL) {
		ca_ctx_free(c);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	memcpy(c->raw, raw, raw_len);
	c->raw[raw_len] = '\0';
	c->raw_len = raw_len;
	if ((c->rec = json_loadb(raw, raw_len, 0, &jerr)) == NULL) {
		ca_ctx_free(c);
		return pca_err_set(PCA_EDB, "CA record %s is corrupt: %s", uuid,
		    jerr.text);
	}
	if ((err = ctx_fill(e, c)) != PCA_OK) {
		ca_ctx_free(c);
		return err;
	}
	c->refs = 1;
	*out = c;
	return PCA_OK;
}

void
ca_ctx_put(struct ca_engine *e, struct ca_ctx *c)
{
	int last;

	if (c == NULL)
		return;
	pthread_mutex_lock(&e->lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&e->lock);
	if (last)
		ca_ctx_free(c);
}

/* Looks in the cache for uuid with exactly these record bytes. */
static struct ca_ctx *
cache_lookup(struct ca_engine *e, const char *uuid, const char *raw, size_t len)
{
	struct ca_ctx *c = NULL;
	size_t i;

	pthread_mutex_lock(&e->lock);
	for (i = 0; i < e->ncache; i++) {
		if (strcmp(e->cache[i].uuid, uuid) != 0)
			continue;
		c = e->cache[i].ctx;
		if (c->raw_len == len && memcmp(c->raw, raw, len) == 0)
			c->refs++;
		else
			c = NULL;
		break;
	}
	pthread_mutex_unlock(&e->lock);
	return c;
}

static void
cache_insert(struct ca_engine *e, struct ca_ctx *c)
{
	struct ca_ctx *old = NULL;
	struct ca_ctx_slot *n;
	size_t i;

	pthread_mutex_lock(&e->lock);
	for (i = 0; i < e->ncache; i++)
		if (strcmp(e->cache[i].uuid, c->uuid) == 0)
			break;
	if (i == e->ncache) {
		if (e->ncache == CACHE_MAX)
			i = (size_t)(c->raw_len % CACHE_MAX); /* evict one */
		else if ((n = realloc(e->cache,
			      (e->ncache + 1) * sizeof(*n))) != NULL) {
			e->cache = n;
			e->ncache++;
			e->cache[i].ctx = NULL;
		} else {
			pthread_mutex_unlock(&e->lock);
			return; /* uncached: still correct */
		}
	}
	old = e->cache[i].ctx;
	memcpy(e->cache[i].uuid, c->uuid, 37);
	e->cache[i].ctx = c;
	c->refs++;
	if (old != NULL && --old->refs > 0)
		old = NULL;
	pthread_mutex_unlock(&e->lock);
	ca_ctx_free(old);
}

/*
 * Lazy transitions: an ACTIVE or DISABLED CA past its certificate's
 * notAfter is persisted as EXPIRED (the status it leaves is kept in
 * "_PreExpiryStatus"); EXPIRED follows the clock, not a latch, so an
 * EXPIRED CA whose certificate is valid again (the clock stepped back) goes
 * back to that status (ACTIVE for a record without it); a DELETED CA past
 * its restore window (or deleted without one) is purged: key destroyed,
 * records removed.
 */
/* EXPIRED with a certificate valid at now: back to the status before. */
static pca_err
ctx_unexpire(struct ca_engine *e, const struct ca_ctx *c, json_t *rec,
    int64_t now, int *changed)
{
	const char *was =
	    json_string_value(json_object_get(rec, "_PreExpiryStatus"));
	char st[16];
	pca_err err;

	(void)snprintf(st, sizeof(st), "%s",
	    was != NULL && strcmp(was, "DISABLED") == 0 ? "DISABLED"
							: "ACTIVE");
	json_object_del(rec, "_PreExpiryStatus");
	ca_rec_set_status(rec, st, now);
	if ((err = ca_rec_save(e, c->uuid, rec, 0)) != PCA_OK)
		return err;
	*changed = 1;
	ca_notify(e, CA_EV_CA_CHANGED, c->uuid, NULL, 0);
	log_info("CA %s certificate valid again (the clock went back): status "
		 "%s",
	    c->arn, st);
	return PCA_OK;
}

static pca_err
ctx_transition(struct ca_engine *e, const struct ca_ctx *c, int *changed)
{
	int64_t now = util_now();
	json_t *rec = NULL;
	const char *st;
	const json_t *until;
	int expire, unexpire, purge;
	pca_err err = PCA_OK;

	*changed = 0;
	until = json_object_get(c->rec, "RestorableUntil");
	expire = (strcmp(c->status, "ACTIVE") == 0 ||
		     strcmp(c->status, "DISABLED") == 0) &&
		 c->cert_der != NULL && c->not_after < now;
	unexpire = strcmp(c->status, "EXPIRED") == 0 && c->cert_der != NULL &&
		   c->not_after >= now;
	purge = strcmp(c->status, "DELETED") == 0 &&
		(until == NULL || json_integer_value(until) <= now);
	if (!expire && !unexpire && !purge)
		return PCA_OK;
	pthread_mutex_lock(&e->mut);
	if ((err = ca_rec_load(e, c->uuid, &rec)) != PCA_OK)
		goto out;
	st = json_string_value(json_object_get(rec, "Status"));
	if (st == NULL || strcmp(st, c->status) != 0) {
		*changed = 1; /* someone else moved it: reload */
		goto out;
	}
	if (unexpire) {
		err = ctx_unexpire(e, c, rec, now, changed);
		goto out;
	}
	if (expire) {
		json_object_set_new(rec, "_PreExpiryStatus",
		    json_string(c->status));
		ca_rec_set_status(rec, "EXPIRED", now);
		if ((err = ca_rec_save(e, c->uuid, rec, 0)) == PCA_OK) {
			*changed = 1;
			ca_notify(e, CA_EV_CA_CHANGED, c->uuid, NULL, 0);
		}
		log_info("CA %s certificate expired: status EXPIRED", c->arn);
		goto out;
	}
	err = hsm_key_destroy(e->hsm, c->label);
	if (err != PCA_OK && err != PCA_ENOTFOUND)
		goto out;
	if ((err = store_ca_purge(e->store, c->uuid)) != PCA_OK)
		goto out;
	log_info("CA %s purged after its restore window", c->arn);
	ca_notify(e, CA_EV_CA_CHANGED, c->uuid, NULL, 0);
	err = pca_err_set(PCA_ENOTFOUND,
	    "certificate authority %s does not exist", c->uuid);
out:
	pthread_mutex_unlock(&e->mut);
	json_decref(rec);
	return err;
}

pca_err
ca_ctx_get(struct ca_engine *e, const char *uuid, struct ca_ctx **out)
{
	char *raw = NULL;
	size_t len;
	struct ca_ctx *c;
	pca_err err;
	int tries, changed;

	for (tries = 0; tries < 3; tries++) {
		err = store_ca_get(e->store, uuid, &raw, &len);
		if (err == PCA_ENOTFOUND)
			return pca_err_set(PCA_ENOTFOUND,
			    "certificate authority %s does not exist", uuid);
		if (err != PCA_OK)
			return err;
		if ((c = cache_lookup(e, uuid, raw, len)) == NULL) {
			err = ca_ctx_build(e, uuid, raw, len, &c);
			if (err == PCA_OK)
				cache_insert(e, c);
		}
		free(raw);
		if (err != PCA_OK)
			return err;
		err = ctx_transition(e, c, &changed);
		if (err == PCA_OK && !changed) {
			*out = c;
			return PCA_OK;
		}
		ca_ctx_put(e, c);
		if (err != PCA_OK)
			return err;
	}
	return pca_err_set(PCA_EBUSY, "CA %s changed repeatedly; retry", uuid);
}
