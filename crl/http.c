/*
 * http.c - CRLs on the plain-HTTP port (and, at /rotation/<CA id>/..., the
 * link certificates of rotated roots): GET/HEAD /crl/<key> serves the
 * current object of that key from the store, with HTTP caching derived
 * from the CRL itself (RFC 5280 5.1.2.4-5: thisUpdate is Last-Modified,
 * nextUpdate is Expires and bounds max-age; the ETag is the SHA-256 of the
 * bytes), and conditional requests (RFC 9110 13.1.1-3) answered with 304.
 * GET/HEAD /ca/<CA id>.crt serves a CA's certificate in DER, the target of
 * the AIA caIssuers URI its certificates carry (RFC 5280 4.2.2.1,
 * application/pkix-cert), cacheable for a day, with the same ETag rule.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "../ca/ca.h"
#include "../common/util.h"
#include "../http/http.h"
#include "crl_int.h"

#define CRL_HTTP_BODY_MAX (64 * 1024) /* a GET has no body to speak of */

static void
http_date(int64_t t, char out[40])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		(void)snprintf(out, 40, "Thu, 01 Jan 1970 00:00:00 GMT");
}

/* An IMF-fixdate (RFC 9110 5.6.7), or -1. */
static int64_t
http_date_parse(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL ||
	    (end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	return (int64_t)timegm(&tm);
}

static int64_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

/* thisUpdate and nextUpdate (-1 when absent) of a DER CRL. */
static pca_err
crl_times(const uint8_t *der, size_t len, int64_t *this_upd, int64_t *next_upd)
{
	const unsigned char *p = der;
	X509_CRL *x;

	if (len > LONG_MAX || (x = d2i_X509_CRL(NULL, &p, (long)len)) == NULL)
		return pca_err_set(PCA_EPARSE, "a stored CRL does not parse");
	*this_upd = asn1_time(X509_CRL_get0_lastUpdate(x));
	*next_upd = asn1_time(X509_CRL_get0_nextUpdate(x));
	X509_CRL_free(x);
	return *this_upd < 0 ? pca_err_set(PCA_EPARSE, "CRL thisUpdate")
			     : PCA_OK;
}

/* True when the If-None-Match list holds etag (weak comparison) or "*". */
static int
etag_listed(const char *list, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = list;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return 1;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

/* The ETag of a body: the first 16 bytes of its SHA-256, quoted. */
static void
etag_of(const uint8_t *der, size_t len, char etag[2 * 16 + 3])
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256(der, len, md);
	etag[0] = '"';
	for (i = 0; i < 16; i++)
		(void)snprintf(etag + 1 + 2 * i, 3, "%02x", md[i]);
	etag[33] = '"';
	etag[34] = '\0';
}

static void
caching(const struct http_req *r, const uint8_t *der, size_t len,
    struct http_resp *o)
{
	char etag[2 * 16 + 3], d[40], cc[96];
	const char *inm, *ims;
	int64_t tu = -1, nu = -1, now = util_now(), since;

	if (crl_times(der, len, &tu, &nu) != PCA_OK) {
		pca_err_clear();
		return; /* served as it is, without caching headers */
	}
	etag_of(der, len, etag);
	http_resp_hdr(o, "ETag", etag);
	http_date(tu, d);
	http_resp_hdr(o, "Last-Modified", d);
	if (nu >= 0) {
		http_date(nu, d);
		http_resp_hdr(o, "Expires", d);
	}
	(void)snprintf(cc, sizeof(cc),
	    "max-age=%lld, public, no-transform, must-revalidate",
	    (long long)(nu > now ? nu - now : 0));
	http_resp_hdr(o, "Cache-Control", cc);
	inm = http_req_hdr(r, "If-None-Match");
	ims = http_req_hdr(r, "If-Modified-Since");
	/* RFC 9110 13.2.2: If-Modified-Since only without If-None-Match */
	if ((inm != NULL && etag_listed(inm, etag)) ||
	    (inm == NULL && (since = http_date_parse(ims)) >= 0 &&
		tu <= since)) {
		o->status = 304;
		free(o->body);
		o->body = NULL;
		o->len = 0;
	}
}

static void
crl_http(void *arg, const struct http_req *r, struct http_resp *o)
{
	struct crl *c = arg;
	struct store_obj obj;

	o->content_type = "text/plain";
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		o->status = 405;
		return;
	}
	/* CRLs, and the link certificates of rotated roots (ca/rotate.c) */
	if (r->path[0] != '/' ||
	    (strncmp(r->path + 1, "crl/", 4) != 0 &&
		strncmp(r->path + 1, CA_ROTATION_PREFIX,
		    strlen(CA_ROTATION_PREFIX)) != 0) ||
	    store_obj_get(c->store, r->path + 1, &obj) != PCA_OK) {
		pca_err_clear();
		o->status = 404;
		return;
	}
	o->status = 200;
	o->content_type = strncmp(r->path + 1, "crl/", 4) == 0
			      ? "application/pkix-crl"
			      : "application/pkix-cert";
	o->body = obj.body;
	o->len = obj.body_len;
	obj.body = NULL;
	store_obj_clear(&obj);
	if (strncmp(r->path + 1, "crl/", 4) == 0)
		caching(r, o->body, o->len, o);
}

/* notBefore of a DER certificate, or -1. */
static int64_t
cert_not_before(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	int64_t t;
	X509 *x;

	if (len > LONG_MAX || (x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return -1;
	t = asn1_time(X509_get0_notBefore(x));
	X509_free(x);
	return t;
}

/* GET/HEAD /ca/<CA id>.crt: the CA certificate (DER), or 404. */
static void
ca_cert_http(void *arg, const struct http_req *r, struct http_resp *o)
{
	struct crl *c = arg;
	struct ca_info ci;
	const char *id = r->path + 1 + strlen(CA_ISSUERS_PREFIX);
	char uuid[37], etag[2 * 16 + 3], d[40];
	const char *inm;
	int64_t nb;
	pca_err e;

	o->content_type = "text/plain";
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		o->status = 405;
		return;
	}
	o->status = 404;
	if (strlen(id) != 36 + 4 || strcmp(id + 36, ".crt") != 0)
		return;
	memcpy(uuid, id, 36);
	uuid[36] = '\0';
	if (!util_is_uuid(uuid))
		return;
	pthread_rwlock_rdlock(&c->elock);
	e = c->eng != NULL ? ca_info_get(c->eng, uuid, &ci) : PCA_ENOTFOUND;
	pthread_rwlock_unlock(&c->elock);
	if (e != PCA_OK) {
		pca_err_clear();
		return;
	}
	if (ci.cert_der != NULL) { /* none while PENDING_CERTIFICATE */
		o->status = 200;
		o->content_type = "application/pkix-cert";
		o->body = ci.cert_der;
		o->len = ci.cert_len;
		ci.cert_der = NULL;
		etag_of(o->body, o->len, etag);
		http_resp_hdr(o, "ETag", etag);
		if ((nb = cert_not_before(o->body, o->len)) >= 0) {
			http_date(nb, d);
			http_resp_hdr(o, "Last-Modified", d);
		}
		http_resp_hdr(o, "Cache-Control",
		    "max-age=86400, public, no-transform");
		inm = http_req_hdr(r, "If-None-Match");
		if (inm != NULL && etag_listed(inm, etag)) {
			o->status = 304;
			free(o->body);
			o->body = NULL;
			o->len = 0;
		}
	}
	ca_info_clear(&ci);
}

pca_err
crl_http_register(struct crl *c, struct http_server *h)
{
	const struct http_route rt = {.port = HTTP_PLAIN,
	    .path = "/crl/",
	    .prefix = 1,
	    .methods = HTTP_M_ANY,
	    .body_max = CRL_HTTP_BODY_MAX,
	    .fn = crl_http,
	    .arg = c};
	const struct http_route links = {.port = HTTP_PLAIN,
	    .path = "/" CA_ROTATION_PREFIX,
	    .prefix = 1,
	    .methods = HTTP_M_ANY,
	    .body_max = CRL_HTTP_BODY_MAX,
	    .fn = crl_http,
	    .arg = c};
	const struct http_route cas = {.port = HTTP_PLAIN,
	    .path = "/" CA_ISSUERS_PREFIX,
	    .prefix = 1,
	    .methods = HTTP_M_ANY,
	    .body_max = CRL_HTTP_BODY_MAX,
	    .fn = ca_cert_http,
	    .arg = c};
	pca_err err;

	if ((err = http_route_add(h, &rt)) != PCA_OK ||
	    (err = http_route_add(h, &cas)) != PCA_OK)
		return err;
	return http_route_add(h, &links);
}
