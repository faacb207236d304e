/*
 * s3.c - one S3 PutObject with libcurl's built-in SigV4 (CURLOPT_AWS_SIGV4,
 * service s3).  x-amz-content-sha256 is set explicitly, so curl signs it:
 * S3-compatible servers refuse a request without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/sha.h>

#include "../common/util.h"
#include "sync_int.h"

struct rd {
	const uint8_t *p;
	size_t left;
};

static size_t
rd_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct rd *r = arg;
	size_t k = size * n < r->left ? size * n : r->left;

	memcpy(buf, r->p, k);
	r->p += k;
	r->left -= k;
	return k;
}

static size_t
wr_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct s3_result *res = arg;
	size_t k = size * n, room = sizeof(res->body) - 1 - res->body_len;

	memcpy(res->body + res->body_len, buf, k < room ? k : room);
	res->body_len += k < room ? k : room;
	res->body[res->body_len] = 0;
	return k;
}

/* Keys are written by us; anything outside the unreserved set is escaped. */
static pca_err
url_make(const struct sync *s, const char *bucket, const char *key, char *out,
    size_t n)
{
	const char *ep = s->conf.endpoint, *host;
	struct buf b;
	pca_err e;
	const char *k;

	buf_init(&b, 4096);
	if (s->conf.path_style)
		e = buf_printf(&b, "%s/%s/", ep, bucket);
	else if ((host = strstr(ep, "://")) != NULL)
		e = buf_printf(&b, "%.*s%s.%s/", (int)(host + 3 - ep), ep,
		    bucket, host + 3);
	else
		e = pca_err_set(PCA_EINVAL, "S3 endpoint %s has no scheme", ep);
	for (k = key; e == PCA_OK && *k; k++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY"
			   "Z0123456789-._~/", *k) != NULL)
			e = buf_add(&b, k, 1);
		else
			e = buf_printf(&b, "%%%02X", (unsigned char)*k);
	if (e == PCA_OK && (e = buf_nul(&b)) == PCA_OK &&
	    (size_t)snprintf(out, n, "%s", (char *)b.p) >= n)
		e = pca_err_set(PCA_ETOOBIG, "S3 URL too long");
	buf_free(&b);
	return e;
}

static struct curl_slist *
headers_make(const struct sync *s, const struct s3_put *r)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1], h[4096];
	struct curl_slist *l = NULL, *t;

	SHA256(r->body, r->len, md);
	(void)util_hex(md, sizeof(md), hex, sizeof(hex), 0);
	(void)snprintf(h, sizeof(h), "x-amz-content-sha256: %s", hex);
	l = curl_slist_append(l, h);
	(void)snprintf(h, sizeof(h), "Content-Type: %s", r->content_type);
	if (l != NULL && (t = curl_slist_append(l, h)) != NULL)
		l = t;
	if (r->acl != NULL && *r->acl) {
		(void)snprintf(h, sizeof(h), "x-amz-acl: %s", r->acl);
		if ((t = curl_slist_append(l, h)) != NULL)
			l = t;
	}
	if (s->token[0]) {
		(void)snprintf(h, sizeof(h), "x-amz-security-token: %s",
		    s->token);
		if ((t = curl_slist_append(l, h)) != NULL)
			l = t;
	}
	/* no "Expect:" override: curl would sign the header it drops */
	return l;
}

pca_err
sync_s3_put(struct sync *s, const struct s3_put *r, struct s3_result *res)
{
	char url[4096], prov[128], up[512];
	struct curl_slist *hl = NULL;
	struct rd rd = {r->body, r->len};
	CURL *c = NULL;
	CURLcode cc;
	pca_err e;

	memset(res, 0, sizeof(*res));
	if ((e = sync_creds_load(s)) != PCA_OK ||
	    (e = url_make(s, r->bucket, r->key, url, sizeof(url))) != PCA_OK)
		return e;
	if ((c = curl_easy_init()) == NULL ||
	    (hl = headers_make(s, r)) == NULL) {
		e = pca_err_set(PCA_ENOMEM, "cannot set up an S3 request");
		goto out;
	}
	(void)snprintf(prov, sizeof(prov), "aws:amz:%s:s3", s->conf.region);
	(void)snprintf(up, sizeof(up), "%s:%s", s->akid, s->secret);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, rd_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &rd);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, prov);
	curl_easy_setopt(c, CURLOPT_USERPWD, up);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, wr_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, res);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 200L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)s->conf.timeout_s);
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		e = pca_err_set(PCA_EIO, "S3 PUT %s/%s: %s", r->bucket, r->key,
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
	if (res->status < 200 || res->status > 299)
		e = pca_err_set(PCA_EIO, "S3 PUT %s/%s: HTTP %ld %.200s",
		    r->bucket, r->key, res->status, res->body);
out:
	OPENSSL_cleanse(up, sizeof(up));
	curl_slist_free_all(hl);
	if (c != NULL)
		curl_easy_cleanup(c);
	return e;
}
