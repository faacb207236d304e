/*
 * cert.c - certificate download (RFC 8555 7.4.2), revocation (7.6, by the
 * account that ordered it or by the certificate's own key) and renewal
 * information (RFC 9773).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../http/http.h"
#include "../store/store.h"
#include "server_int.h"

static int
hex_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 40)
		return 0;
	for (i = 0; i < n; i++)
		if (util_hexval((unsigned char)s[i]) < 0)
			return 0;
	return 1;
}

/* The stored PEM and chain of certificate hex of this CA. */
static pca_err
cert_fetch(struct rq *r, const char *hex, char **pem, char **chain)
{
	char arn[400];

	(void)snprintf(arn, sizeof(arn), "%s/certificate/%s", r->arn, hex);
	return ca_cert_get(r->a->eng, &r->caller, r->arn, arn, pem, chain);
}

/* ---- alternate chains across a root rotation (ca/rotate.c) ---- */

#define ALT_N 2
/* By the CA's successor, by its predecessor: rotation/<old id>/<name> */
static const char *const alt_names[ALT_N] = {"by-successor", "by-predecessor"};

/* The root at the top of a chain, when it is a CA of this appliance. */
struct alt_root {
	char uuid[37];
	char pred[37]; /* its rotation predecessor, or "" */
};

/* Where the last certificate of a PEM chain starts, or NULL. */
static const char *
last_pem(const char *chain)
{
	const char *p, *last = NULL;

	for (p = chain; p != NULL && (p = strstr(p, "-----BEGIN CERTIFICATE"));
	     p++)
		last = p;
	return last;
}

/* The predecessor of CA uuid (arn), from its description, into pred. */
static void
root_pred(struct rq *r, const char *arn, char pred[37])
{
	json_t *d = NULL;
	const char *p;

	pred[0] = '\0';
	if (ca_describe(r->a->eng, &r->caller, arn, &d) != PCA_OK) {
		pca_err_clear();
		return;
	}
	p = json_string_value(
	    json_object_get(json_object_get(d, "OpenPCA"), "PredecessorArn"));
	if (p != NULL && strlen(p) > 36)
		(void)snprintf(pred, 37, "%s", p + strlen(p) - 36);
	json_decref(d);
}

#define MEMO_TTL 600 /* s; a subordinate's root does not change */

/* The remembered root of this subordinate: 1/0 as alt_root_find, -1. */
static int
memo_get(struct rq *r, struct alt_root *out)
{
	int64_t now = util_now();
	int i, hit = -1;

	pthread_mutex_lock(&r->a->bmu);
	for (i = 0; i < ACME_ROOTS_MEMO; i++) {
		struct acme_root_memo *m = &r->a->roots[i];

		if (m->at && now - m->at < MEMO_TTL &&
		    strcmp(m->ca, r->ca) == 0) {
			(void)snprintf(out->uuid, sizeof(out->uuid), "%s",
			    m->root);
			(void)snprintf(out->pred, sizeof(out->pred), "%s",
			    m->pred);
			hit = out->uuid[0] != '\0';
			break;
		}
	}
	pthread_mutex_unlock(&r->a->bmu);
	return hit;
}

static void
memo_put(struct rq *r, const struct alt_root *root)
{
	int i, slot = 0;

	pthread_mutex_lock(&r->a->bmu);
	for (i = 0; i < ACME_ROOTS_MEMO; i++) {
		if (strcmp(r->a->roots[i].ca, r->ca) == 0) {
			slot = i;
			break;
		}
		if (r->a->roots[i].at < r->a->roots[slot].at)
			slot = i; /* the oldest */
	}
	(void)snprintf(r->a->roots[slot].ca, 37, "%s", r->ca);
	(void)snprintf(r->a->roots[slot].root, 37, "%s", root->uuid);
	(void)snprintf(r->a->roots[slot].pred, 37, "%s", root->pred);
	r->a->roots[slot].at = util_now();
	pthread_mutex_unlock(&r->a->bmu);
}

/*
 * The root of chain: this CA when it is a root, else the CA of the
 * appliance whose certificate ends the chain (a subordinate's root,
 * remembered for MEMO_TTL).  0 when the root is not here.
 */
static int
alt_root_find(struct rq *r, const char *chain, struct alt_root *out)
{
	const char *last = last_pem(chain);
	char(*ids)[37] = NULL;
	uint8_t *der = NULL;
	size_t dl = 0, n = 0, i;
	struct ca_info ci;
	int found = 0;

	memset(out, 0, sizeof(*out));
	if (r->root) {
		(void)snprintf(out->uuid, sizeof(out->uuid), "%s", r->ca);
		(void)snprintf(out->pred, sizeof(out->pred), "%s", r->pred);
		return 1;
	}
	if ((found = memo_get(r, out)) >= 0)
		return found;
	found = 0;
	if (last == NULL ||
	    util_pem_decode(last, strlen(last), "CERTIFICATE", 65536, &der,
		&dl) != PCA_OK ||
	    ca_info_ids(r->a->eng, &ids, &n) != PCA_OK) {
		pca_err_clear();
		free(der);
		return 0;
	}
	for (i = 0; i < n && !found; i++) {
		if (ca_info_get(r->a->eng, ids[i], &ci) != PCA_OK) {
			pca_err_clear();
			continue;
		}
		if (ci.root && ci.cert_der != NULL && ci.cert_len == dl &&
		    memcmp(ci.cert_der, der, dl) == 0) {
			(void)snprintf(out->uuid, sizeof(out->uuid), "%s",
			    ci.uuid);
			root_pred(r, ci.arn, out->pred);
			found = 1;
		}
		ca_info_clear(&ci);
	}
	free(ids);
	free(der);
	memo_put(r, out);
	return found;
}

/*
 * The link certificate (PEM) that makes alternate i: the root's key
 * certified by its successor (the root was rotated) or by its predecessor
 * (the root is a rotation's successor).  PCA_ENOTFOUND when there is none.
 */
static pca_err
alt_link(struct rq *r, const struct alt_root *root, size_t i, char **pem)
{
	char key[128];
	struct store_obj obj;
	BIO *b = NULL;
	X509 *x = NULL;
	const uint8_t *p;
	BUF_MEM *bm;
	pca_err err;

	if (!root->uuid[0] || (i == 1 && !root->pred[0]))
		return pca_err_set(PCA_ENOTFOUND, "no alternate chain");
	if (i == 0)
		(void)snprintf(key, sizeof(key), "%s%s/old-signed-by-new.crt",
		    CA_ROTATION_PREFIX, root->uuid);
	else
		(void)snprintf(key, sizeof(key), "%s%s/new-signed-by-old.crt",
		    CA_ROTATION_PREFIX, root->pred);
	if ((err = store_obj_get(r->a->st, key, &obj)) != PCA_OK)
		return err;
	p = obj.body;
	if (obj.body_len > 65536 ||
	    (x = d2i_X509(NULL, &p, (long)obj.body_len)) == NULL ||
	    p != obj.body + obj.body_len ||
	    (b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(b, x)) {
		err = pca_err_set(PCA_EPARSE, "link certificate %s unreadable",
		    key);
		goto out;
	}
	BIO_get_mem_ptr(b, &bm);
	if ((*pem = strndup(bm->data, bm->length)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
out:
	X509_free(x);
	BIO_free(b);
	store_obj_clear(&obj);
	pca_err_clear();
	return err;
}

/* Link rel="alternate" for every alternate chain there is. */
static void
alt_links(struct rq *r, const struct alt_root *root, const char *id)
{
	char u[ACME_URL_MAX], v[ACME_URL_MAX + 32], *pem;
	size_t i;

	for (i = 0; i < ALT_N; i++) {
		pem = NULL;
		if (alt_link(r, root, i, &pem) != PCA_OK)
			continue;
		free(pem);
		acme_url(r, u, sizeof(u), "cert/%s/alt/%s", id, alt_names[i]);
		(void)snprintf(v, sizeof(v), "<%s>;rel=\"alternate\"", u);
		http_resp_hdr(r->resp, "Link", v);
	}
}

/*
 * The chain to send: the stored one, or (tail "/alt/<name>") the stored
 * one with its root replaced by the link certificate.  0 with a problem.
 */
static int
chain_for(struct rq *r, const struct alt_root *root, const char *id,
    const char *tail, char **chain)
{
	const char *last;
	char *link = NULL, *alt;
	size_t i, keep;

	if (*tail == '\0')
		return 1;
	for (i = 0; i < ALT_N; i++)
		if (strncmp(tail, "/alt/", 5) == 0 &&
		    strcmp(tail + 5, alt_names[i]) == 0)
			break;
	if (i == ALT_N || (last = last_pem(*chain)) == NULL ||
	    alt_link(r, root, i, &link) != PCA_OK) {
		acme_problem(r, 404, "malformed",
		    "certificate %s has no such "
		    "alternate chain",
		    id);
		return 0;
	}
	keep = (size_t)(last - *chain);
	if ((alt = malloc(keep + strlen(link) + 1)) == NULL) {
		free(link);
		acme_problem(r, 500, "serverInternal", "no memory");
		return 0;
	}
	memcpy(alt, *chain, keep);
	memcpy(alt + keep, link, strlen(link) + 1);
	free(link);
	free(*chain);
	*chain = alt;
	return 1;
}

void
acme_cert(struct rq *r, const char *id, const char *tail)
{
	struct alt_root root;
	json_t *rec = NULL;
	char *pem = NULL, *chain = NULL;
	size_t pl, cl;
	uint8_t *b;

	if (r->jws.payload_len != 0) {
		acme_problem(r, 400, "malformed",
		    "a certificate is fetched with POST-as-GET");
		return;
	}
	if (!hex_ok(id) ||
	    acme_rec_get(r->a, "acme-cert", id, &rec) != PCA_OK ||
	    strcmp(acme_str(rec, "ca"), r->ca) != 0) {
		acme_problem(r, 404, "malformed", "no such certificate");
		goto out;
	}
	if (cert_fetch(r, id, &pem, &chain) != PCA_OK) {
		acme_problem(r, 404, "malformed", "no such certificate: %s",
		    pca_err_msg());
		goto out;
	}
	if (chain == NULL || !alt_root_find(r, chain, &root))
		memset(&root, 0, sizeof(root));
	if (!chain_for(r, &root, id, tail, &chain))
		goto out;
	pl = strlen(pem);
	cl = chain ? strlen(chain) : 0;
	if ((b = malloc(pl + cl + 2)) == NULL) {
		acme_problem(r, 500, "serverInternal", "no memory");
		goto out;
	}
	memcpy(b, pem, pl);
	if (pl > 0 && pem[pl - 1] != '\n')
		b[pl++] = '\n';
	if (cl > 0)
		memcpy(b + pl, chain, cl);
	free(r->resp->body);
	r->resp->body = b;
	r->resp->len = pl + cl;
	r->resp->status = 200;
	r->resp->content_type = "application/pem-certificate-chain";
	alt_links(r, &root, id);
out:
	free(pem);
	free(chain);
	json_decref(rec);
}

static const char *
reason_name(long long code)
{
	static const char *const names[] = {"UNSPECIFIED", "KEY_COMPROMISE",
	    "CERTIFICATE_AUTHORITY_COMPROMISE", "AFFILIATION_CHANGED",
	    "SUPERSEDED", "CESSATION_OF_OPERATION", NULL, NULL, NULL,
	    "PRIVILEGE_WITHDRAWN", "A_A_COMPROMISE"};

	if (code < 0 || code > 10)
		return NULL;
	return names[code];
}

static void
serial_hex(const X509 *x, char *out, size_t n)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(x);
	const unsigned char *d = ASN1_STRING_get0_data(s);
	int l = ASN1_STRING_length(s);

	out[0] = '\0';
	if (l > 0 && l <= 20)
		util_hex(d, (size_t)l, out, n, 0);
}

/* 1: the certificate DER is the one this CA recorded under its serial. */
static int
ours(struct rq *r, const uint8_t *der, size_t dl, const char *hex)
{
	char *pem = NULL, *chain = NULL;
	uint8_t *sd = NULL;
	size_t sl = 0;
	int ok;

	if (cert_fetch(r, hex, &pem, &chain) != PCA_OK)
		return 0;
	ok = util_pem_decode(pem, strlen(pem), "CERTIFICATE", 65536, &sd,
		 &sl) == PCA_OK &&
	     sl == dl && memcmp(sd, der, dl) == 0;
	free(sd);
	free(pem);
	free(chain);
	return ok;
}

static int
may_revoke(struct rq *r, X509 *x, const char *hex)
{
	json_t *rec = NULL;
	EVP_PKEY *k;
	int ok;

	if (!r->jws.has_jwk) {
		ok = acme_rec_get(r->a, "acme-cert", hex, &rec) == PCA_OK &&
		     !strcmp(acme_str(rec, "acct"), r->acct_id);
		json_decref(rec);
		return ok;
	}
	if ((k = acme_jwk_pkey(r->jws.jwk)) == NULL)
		return 0;
	ok = EVP_PKEY_eq(k, X509_get0_pubkey(x)) == 1;
	EVP_PKEY_free(k);
	return ok;
}

void
acme_revoke(struct rq *r)
{
	json_t *p = NULL, *rv;
	const char *c, *reason = "UNSPECIFIED";
	uint8_t *der = NULL;
	const uint8_t *dp;
	size_t dl = 0;
	X509 *x = NULL;
	char hex[64];
	pca_err err;

	if ((p = acme_payload(r)) == NULL)
		return;
	c = json_string_value(json_object_get(p, "certificate"));
	if (c == NULL ||
	    acme_b64url_decode(c, strlen(c), 16384, &der, &dl) != PCA_OK ||
	    (dp = der, x = d2i_X509(NULL, &dp, (long)dl)) == NULL ||
	    dp != der + dl) {
		acme_problem(r, 400, "malformed",
		    "certificate must be a base64url DER certificate");
		goto out;
	}
	if ((rv = json_object_get(p, "reason")) != NULL &&
	    (!json_is_integer(rv) ||
		(reason = reason_name(json_integer_value(rv))) == NULL)) {
		acme_problem(r, 400, "badRevocationReason",
		    "reason must be an RFC 5280 reason code other than 6, 7 "
		    "and 8");
		goto out;
	}
	serial_hex(x, hex, sizeof(hex));
	if (!hex[0] || !ours(r, der, dl, hex)) {
		acme_problem(r, 404, "malformed",
		    "this CA did not issue that certificate");
		goto out;
	}
	if (!may_revoke(r, x, hex)) {
		acme_problem(r, 403, "unauthorized",
		    r->jws.has_jwk
			? "the JWS key is not the certificate's key"
			: "this account did not order that certificate");
		goto out;
	}
	err = ca_revoke(r->a->eng, &r->caller, r->arn, hex, reason);
	if (err == PCA_EALREADY) {
		acme_problem(r, 400, "alreadyRevoked", "already revoked");
		goto out;
	}
	if (err != PCA_OK) {
		if (err == PCA_EUNAVAIL || err == PCA_EBUSY)
			http_resp_hdr(r->resp, "Retry-After", "5");
		acme_problem(r,
		    err == PCA_EUNAVAIL || err == PCA_EBUSY ? 503 : 500,
		    "serverInternal", "%s", pca_err_msg());
		goto out;
	}
	acme_count(r->a, &r->a->m_revoked);
	log_info("acme: CA %s: certificate %s revoked (%s) by %s%s", r->ca, hex,
	    reason, r->jws.has_jwk ? "its key" : "account ",
	    r->jws.has_jwk ? "" : r->acct_id);
	r->resp->status = 200;
out:
	X509_free(x);
	free(der);
	json_decref(p);
}

/* ---- RFC 9773 renewal information ---- */

int
acme_ari_serial(const char *certid, char hex[64])
{
	const char *dot = strchr(certid, '.');
	uint8_t *ser = NULL;
	size_t sl = 0;

	if (dot == NULL || dot == certid || strlen(dot + 1) > 60 ||
	    acme_b64url_decode(dot + 1, strlen(dot + 1), 21, &ser, &sl) !=
		PCA_OK ||
	    sl == 0 || sl > 20) {
		free(ser);
		return 0;
	}
	util_hex(ser[0] == 0 && sl > 1 ? ser + 1 : ser,
	    ser[0] == 0 && sl > 1 ? sl - 1 : sl, hex, 64, 0);
	free(ser);
	return 1;
}

/* The "at" of an "acme-renew" record (pcactl cert renew-early), or 0. */
static int64_t
mark_at(struct store *st, const char *key)
{
	uint8_t *v = NULL;
	size_t n = 0;
	json_t *o;
	int64_t at = 0;

	if (store_kv_get(st, "acme-renew", key, &v, &n) != PCA_OK) {
		pca_err_clear();
		return 0;
	}
	o = json_loadb((const char *)v, n, 0, NULL);
	at = json_integer_value(json_object_get(o, "at"));
	json_decref(o);
	free(v);
	return at;
}

pca_err
acme_ari_window(struct store *st, const char *ca, const char *hex, int64_t nb,
    int64_t na, int64_t rotated_at, int64_t *start, int64_t *end, int *early)
{
	char key[128];
	int64_t mk, m;

	if (na <= nb)
		return pca_err_set(PCA_EINVAL, "acme: validity out of order");
	(void)snprintf(key, sizeof(key), "%s/%s", ca, hex);
	mk = mark_at(st, key);
	if ((m = mark_at(st, ca)) > mk)
		mk = m;
	if (rotated_at > nb && (mk <= nb || rotated_at < mk))
		mk = rotated_at;
	if (early != NULL)
		*early = mk > nb;
	if (mk > nb) { /* marked after this certificate's issuance */
		*start = mk - 3600;
		*end = mk;
	} else {
		*start = nb + (na - nb) * 2 / 3;
		*end = na - (na - nb) / 10;
	}
	return PCA_OK;
}

/* The window of acme_ari_window, for the certificate certid names. */
void
acme_renewal_info(struct rq *r, const char *certid)
{
	char hex[64], s0[21], s1[21], *pem = NULL, *chain = NULL;
	X509 *x = NULL;
	BIO *bio = NULL;
	int64_t nb, na, start, end;
	struct tm t;

	if (!acme_ari_serial(certid, hex)) {
		acme_problem(r, 400, "malformed",
		    "renewalInfo needs base64url(AKI) \".\" base64url(serial)");
		goto out;
	}
	if (cert_fetch(r, hex, &pem, &chain) != PCA_OK ||
	    (bio = BIO_new_mem_buf(pem, -1)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		acme_problem(r, 404, "malformed", "no such certificate");
		goto out;
	}
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &t) != 1 ||
	    (nb = util_timegm(&t), 0) ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &t) != 1) {
		acme_problem(r, 500, "serverInternal", "unreadable validity");
		goto out;
	}
	na = util_timegm(&t);
	if (acme_ari_window(r->a->st, r->ca, hex, nb, na, r->rotated_at, &start,
		&end, NULL) != PCA_OK) {
		acme_problem(r, 500, "serverInternal", "%s", pca_err_msg());
		goto out;
	}
	util_iso8601(start, s0);
	util_iso8601(end, s1);
	http_resp_hdr(r->resp, "Retry-After", "21600");
	acme_reply(r, 200,
	    json_pack("{s:{s:s,s:s}}", "suggestedWindow", "start", s0, "end",
		s1),
	    NULL);
out:
	X509_free(x);
	BIO_free(bio);
	free(pem);
	free(chain);
}

/* A string member of rec copied into o under name, when rec has one. */
static int
info_str(json_t *o, const char *name, const json_t *rec, const char *k)
{
	const json_t *v = json_object_get(rec, k);

	return !json_is_string(v) || json_object_set(o, name, (json_t *)v) == 0;
}

pca_err
acme_cert_info(struct store *st, const struct cert_ref *c, json_t **out)
{
	uint8_t *v = NULL;
	size_t n = 0;
	json_t *rec = NULL, *o = NULL;
	int64_t start, end;
	int early = 0;
	pca_err err;

	if ((err = store_kv_get(st, "acme-cert", c->serial, &v, &n)) != PCA_OK)
		return err;
	rec = json_loadb((const char *)v, n, 0, NULL);
	free(v);
	if (!json_is_object(rec)) {
		err = pca_err_set(PCA_EPARSE,
		    "acme: record acme-cert/%s "
		    "unreadable",
		    c->serial);
		goto out;
	}
	if (strcmp(acme_str(rec, "ca"), c->ca_uuid) != 0) {
		err = pca_err_set(PCA_ENOTFOUND,
		    "acme: %s is no certificate "
		    "of CA %s",
		    c->serial, c->ca_uuid);
		goto out;
	}
	if ((err = acme_ari_window(st, c->ca_uuid, c->serial, c->not_before,
		 c->not_after, c->rotated_at, &start, &end, &early)) != PCA_OK)
		goto out;
	o = json_pack("{s:s,s:s,s:{s:I,s:I},s:b}", "AccountId",
	    acme_str(rec, "acct"), "OrderId", acme_str(rec, "order"),
	    "SuggestedWindow", "Start", (json_int_t)start, "End",
	    (json_int_t)end, "RenewalRequestedEarly", early);
	if (o == NULL || !info_str(o, "Profile", rec, "profile") ||
	    !info_str(o, "Replaces", rec, "replaces") ||
	    !info_str(o, "ReplacedBy", rec, "replaced_by")) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	*out = o;
	o = NULL;
out:
	json_decref(o);
	json_decref(rec);
	return err;
}
