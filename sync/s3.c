/*
 * s3.c - one S3 PutObject with libcurl's built-in SigV4 (CURLOPT_AWS_SIGV4,
 * service s3).  x-amz-content-sha256 is set explicitly, so curl signs it:
 * S3-compatible servers refuse a request without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
			   "Z0123456789-._~/",
			*k) != NULL)
			e = buf_add(&b, k, 1);
		else
			e = buf_printf(&b, "%%%02X", (unsigned char)*k);
	if (e == PCA_OK && (e = buf_nul(&b)) == PCA_OK &&
	    (size_t)snprintf(out, n, "%s", (char *)b.p) >= n)
		e = pca_err_set(PCA_ETOOBIG, "S3 URL too long");
	buf_free(&b);
	return e;
}

/* hex: SHA-256 of the body; content_type NULL for a GET */
static struct curl_slist *
headers_make(const struct sync *s, const char *hex, const char *content_type,
    const char *acl)
{
	char h[4096];
	struct curl_slist *l = NULL, *t;

	(void)snprintf(h, sizeof(h), "x-amz-content-sha256: %s", hex);
	l = curl_slist_append(l, h);
	if (l != NULL && content_type != NULL) {
		(void)snprintf(h, sizeof(h), "Content-Type: %s", content_type);
		if ((t = curl_slist_append(l, h)) != NULL)
			l = t;
	}
	if (acl != NULL && *acl) {
		(void)snprintf(h, sizeof(h), "x-amz-acl: %s", acl);
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

/* One PUT on handle c (reset first: its connection stays cached). */
static pca_err
put_on(struct sync *s, CURL *c, const struct s3_put *r, struct s3_result *res)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char url[4096], prov[128], up[512], hex[2 * SHA256_DIGEST_LENGTH + 1];
	struct curl_slist *hl = NULL, *t = NULL;
	struct rd rd = {r->body, r->len};
	CURLcode cc;
	pca_err e;

	memset(res, 0, sizeof(*res));
	if ((e = sync_creds_load(s)) != PCA_OK ||
	    (e = url_make(s, r->bucket, r->key, url, sizeof(url))) != PCA_OK)
		return e;
	SHA256(r->body, r->len, md);
	(void)util_hex(md, sizeof(md), hex, sizeof(hex), 0);
	curl_easy_reset(c);
	if ((hl = headers_make(s, hex, r->content_type, r->acl)) == NULL ||
	    (r->if_none_match &&
		(t = curl_slist_append(hl, "If-None-Match: *")) == NULL)) {
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
	if (res->status == 412 && r->if_none_match)
		e = pca_err_set(PCA_EEXISTS,
		    "S3 PUT %s/%s: the object exists "
		    "(If-None-Match)",
		    r->bucket, r->key);
	else if (res->status < 200 || res->status > 299)
		e = pca_err_set(PCA_EIO, "S3 PUT %s/%s: HTTP %ld %.200s",
		    r->bucket, r->key, res->status, res->body);
out:
	OPENSSL_cleanse(up, sizeof(up));
	curl_slist_free_all(hl);
	return e;
}

pca_err
sync_s3_put(struct sync *s, const struct s3_put *r, struct s3_result *res)
{
	CURL *c;
	pca_err e;

	memset(res, 0, sizeof(*res));
	if ((c = curl_easy_init()) == NULL)
		return pca_err_set(PCA_ENOMEM, "cannot set up an S3 request");
	e = put_on(s, c, r, res);
	curl_easy_cleanup(c);
	return e;
}

pca_err
sync_s3_put_keep(struct sync *s, const struct s3_put *r, struct s3_result *res)
{
	memset(res, 0, sizeof(*res));
	if (s->dh == NULL && (s->dh = curl_easy_init()) == NULL)
		return pca_err_set(PCA_ENOMEM, "cannot set up an S3 request");
	return put_on(s, s->dh, r, res);
}

/* ---- whole files (backups): streamed from and to a file descriptor ---- */

static size_t
fd_rd_cb(char *buf, size_t size, size_t n, void *arg)
{
	ssize_t k = read(*(int *)arg, buf, size * n);

	return k < 0 ? CURL_READFUNC_ABORT : (size_t)k;
}

struct fd_wr {
	int fd;
	uint64_t done, max;
	struct s3_result *res; /* the start of an error body */
};

static size_t
fd_wr_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct fd_wr *w = arg;

	if (w->res->status >= 300 || w->res->status == 0)
		return wr_cb(buf, size, n, w->res);
	w->done += size * n;
	if (w->done > w->max ||
	    write(w->fd, buf, size * n) != (ssize_t)(size * n))
		return 0;
	return size * n;
}

/* The text of <tag>...</tag> in an S3 error body, on one line. */
static void
xml_field(const char *body, const char *tag, char *out, size_t n)
{
	char open[32], close[32];
	const char *a, *b;
	size_t i, k = 0;

	out[0] = '\0';
	(void)snprintf(open, sizeof(open), "<%s>", tag);
	(void)snprintf(close, sizeof(close), "</%s>", tag);
	if ((a = strstr(body, open)) == NULL ||
	    (b = strstr(a += strlen(open), close)) == NULL)
		return;
	for (i = 0; a + i < b && k + 1 < n; i++)
		out[k++] = (a[i] == '\n' || a[i] == '\r') ? ' ' : a[i];
	out[k] = '\0';
}

/* Runs one signed request on c (URL, method and body set by the caller). */
static pca_err
s3_perform(struct sync *s, CURL *c, const char *hex, const char *ctype,
    const char *what, struct s3_result *res)
{
	char prov[128], up[512];
	struct curl_slist *hl = NULL;
	CURLcode cc;
	pca_err e = PCA_OK;

	if ((hl = headers_make(s, hex, ctype, NULL)) == NULL)
		return pca_err_set(PCA_ENOMEM, "cannot set up an S3 request");
	(void)snprintf(prov, sizeof(prov), "aws:amz:%s:s3", s->conf.region);
	(void)snprintf(up, sizeof(up), "%s:%s", s->akid, s->secret);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, prov);
	curl_easy_setopt(c, CURLOPT_USERPWD, up);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 200L);
	/* a backup may be large: no overall timeout, a stall limit instead */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)s->conf.timeout_s);
	if ((cc = curl_easy_perform(c)) != CURLE_OK)
		e = pca_err_set(PCA_EIO, "S3 %s: %s", what,
		    curl_easy_strerror(cc));
	if (e == PCA_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
		if (res->status < 200 || res->status > 299) {
			char code[64], msg[256];

			xml_field(res->body, "Code", code, sizeof(code));
			xml_field(res->body, "Message", msg, sizeof(msg));
			e = pca_err_set(res->status == 404 ? PCA_ENOTFOUND
							   : PCA_EIO,
			    "S3 %s: HTTP %ld %s%s%s", what, res->status,
			    code[0] ? code : "(no error code)",
			    msg[0] ? ": " : "", msg);
		}
	}
	OPENSSL_cleanse(up, sizeof(up));
	curl_slist_free_all(hl);
	return e;
}

/*
 * One object request: credentials loaded, *c a handle on the object's URL,
 * what "METHOD bucket/key" for messages.
 */
static pca_err
s3_begin(struct sync *s, const char *method, const char *bucket,
    const char *key, CURL **c, char *what, size_t whatlen)
{
	char url[4096];
	pca_err e;

	if ((e = sync_creds_load(s)) != PCA_OK ||
	    (e = url_make(s, bucket, key, url, sizeof(url))) != PCA_OK)
		return e;
	if ((*c = curl_easy_init()) == NULL)
		return pca_err_set(PCA_ENOMEM, "cannot set up an S3 request");
	(void)snprintf(what, whatlen, "%s %s/%s", method, bucket, key);
	curl_easy_setopt(*c, CURLOPT_URL, url);
	return PCA_OK;
}

pca_err
sync_s3_put_file(struct sync *s, const char *bucket, const char *key,
    const char *content_type, int fd, uint64_t len, const char *sha256_hex)
{
	struct s3_result res;
	char what[600];
	CURL *c = NULL;
	pca_err e;

	memset(&res, 0, sizeof(res));
	if ((e = s3_begin(s, "PUT", bucket, key, &c, what, sizeof(what))) !=
	    PCA_OK)
		return e;
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, fd_rd_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &fd);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, wr_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &res);
	e = s3_perform(s, c, sha256_hex, content_type, what, &res);
	curl_easy_cleanup(c);
	return e;
}

/* SHA-256 of the empty string: the payload hash of a GET */
#define S3_EMPTY_SHA256                                                        \
	"e3b0c44298fc1c149afbf4c8996fb924"                                     \
	"27ae41e4649b934ca495991b7852b855"

static int
hdr_status_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct s3_result *res = arg;
	long code;

	if (size * n > 9 && strncmp(buf, "HTTP/", 5) == 0 &&
	    sscanf(buf, "HTTP/%*s %ld", &code) == 1)
		res->status = code;
	return (int)(size * n);
}

pca_err
sync_s3_get_file(struct sync *s, const char *bucket, const char *key, int fd,
    uint64_t max)
{
	struct s3_result res;
	struct fd_wr w = {fd, 0, max, &res};
	char what[600];
	CURL *c = NULL;
	pca_err e;

	memset(&res, 0, sizeof(res));
	if ((e = s3_begin(s, "GET", bucket, key, &c, what, sizeof(what))) !=
	    PCA_OK)
		return e;
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, hdr_status_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &res);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fd_wr_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
	e = s3_perform(s, c, S3_EMPTY_SHA256, NULL, what, &res);
	curl_easy_cleanup(c);
	if (e == PCA_OK && w.done > max)
		e = pca_err_set(PCA_ETOOBIG, "S3 %s: larger than %llu bytes",
		    what, (unsigned long long)max);
	return e;
}

/* ---- listing and deleting (scheduled backups, the shipped change feed) */

struct mem_wr {
	struct buf *b;
	struct s3_result *res;
	int over;
};

static size_t
mem_wr_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct mem_wr *w = arg;

	if (w->res->status >= 300 || w->res->status == 0)
		return wr_cb(buf, size, n, w->res);
	if (buf_add(w->b, buf, size * n) != PCA_OK) {
		w->over = 1;
		return 0;
	}
	return size * n;
}

static size_t
list_hdr_cb(char *buf, size_t size, size_t n, void *arg)
{
	return (size_t)hdr_status_cb(buf, size, n, arg);
}

/* Appends s percent-encoded (RFC 3986 unreserved kept) to b. */
static pca_err
query_escape(struct buf *b, const char *s)
{
	pca_err e = PCA_OK;

	for (; e == PCA_OK && *s; s++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY"
			   "Z0123456789-._~",
			*s) != NULL)
			e = buf_add(b, s, 1);
		else
			e = buf_printf(b, "%%%02X", (unsigned char)*s);
	return e;
}

/* One ListObjectsV2 page into body (NUL-terminated). */
static pca_err
list_page(struct sync *s, const char *bucket, const char *prefix,
    const char *start_after, const char *token, struct buf *body)
{
	struct s3_result res;
	struct mem_wr w = {body, &res, 0};
	struct buf u;
	char url[4096], what[600];
	CURL *c = NULL;
	pca_err e;

	memset(&res, 0, sizeof(res));
	if ((e = sync_creds_load(s)) != PCA_OK ||
	    (e = url_make(s, bucket, "", url, sizeof(url))) != PCA_OK)
		return e;
	/* parameters in canonical (sorted, encoded) order: curl signs the
	   query as it is written */
	buf_init(&u, sizeof(url));
	e = buf_addstr(&u, url);
	if (e == PCA_OK && token != NULL && *token &&
	    (e = buf_addstr(&u, "?continuation-token=")) == PCA_OK)
		e = query_escape(&u, token);
	if (e == PCA_OK)
		e = buf_addstr(&u,
		    token != NULL && *token ? "&list-type=2" : "?list-type=2");
	if (e == PCA_OK && (e = buf_addstr(&u, "&prefix=")) == PCA_OK)
		e = query_escape(&u, prefix);
	if (e == PCA_OK && start_after != NULL &&
	    (e = buf_addstr(&u, "&start-after=")) == PCA_OK)
		e = query_escape(&u, start_after);
	if (e == PCA_OK)
		e = buf_nul(&u);
	if (e != PCA_OK || (c = curl_easy_init()) == NULL) {
		buf_free(&u);
		return e != PCA_OK ? e
				   : pca_err_set(PCA_ENOMEM,
					 "cannot set up an S3 request");
	}
	(void)snprintf(what, sizeof(what), "LIST %s/%s", bucket, prefix);
	curl_easy_setopt(c, CURLOPT_URL, (char *)u.p);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, list_hdr_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &res);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_wr_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
	e = s3_perform(s, c, S3_EMPTY_SHA256, NULL, what, &res);
	curl_easy_cleanup(c);
	buf_free(&u);
	if (e == PCA_OK && w.over)
		e = pca_err_set(PCA_ETOOBIG, "S3 %s: answer too large", what);
	if (e == PCA_OK)
		e = buf_nul(body);
	return e;
}

pca_err
sync_s3_list(struct sync *s, const char *bucket, const char *prefix,
    int (*cb)(const char *key, uint64_t size, void *arg), void *arg)
{
	return sync_s3_list_after(s, bucket, prefix, NULL, cb, arg);
}

pca_err
sync_s3_list_after(struct sync *s, const char *bucket, const char *prefix,
    const char *start_after,
    int (*cb)(const char *key, uint64_t size, void *arg), void *arg)
{
	struct buf body;
	char token[1024] = "", key[1024], num[32], trunc[16];
	const char *p, *q;
	long long size;
	pca_err e = PCA_OK;
	int stop = 0;

	do {
		buf_init(&body, SYNC_LIST_PAGE_MAX);
		if ((e = list_page(s, bucket, prefix, start_after, token,
			 &body)) != PCA_OK)
			break;
		for (p = (const char *)body.p;
		     !stop && (p = strstr(p, "<Contents>")) != NULL; p = q) {
			if ((q = strstr(p, "</Contents>")) == NULL)
				break;
			xml_field(p, "Key", key, sizeof(key));
			xml_field(p, "Size", num, sizeof(num));
			if (util_strtonum(num, 0, INT64_MAX, &size) != PCA_OK)
				size = 0;
			if (key[0] && cb(key, (uint64_t)size, arg))
				stop = 1;
		}
		xml_field((const char *)body.p, "IsTruncated", trunc,
		    sizeof(trunc));
		xml_field((const char *)body.p, "NextContinuationToken", token,
		    sizeof(token));
		buf_free(&body);
	} while (!stop && strcmp(trunc, "true") == 0 && token[0]);
	if (e != PCA_OK)
		buf_free(&body);
	return e;
}

pca_err
sync_s3_delete(struct sync *s, const char *bucket, const char *key)
{
	struct s3_result res;
	char what[600];
	CURL *c = NULL;
	pca_err e;

	memset(&res, 0, sizeof(res));
	if ((e = s3_begin(s, "DELETE", bucket, key, &c, what, sizeof(what))) !=
	    PCA_OK)
		return e;
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, wr_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &res);
	e = s3_perform(s, c, S3_EMPTY_SHA256, NULL, what, &res);
	curl_easy_cleanup(c);
	return e;
}

/* A PUT of P (LEN bytes); only_new: If-None-Match: * (create only). */
static pca_err
put_mem(struct sync *s, const char *bucket, const char *key,
    const char *content_type, const void *p, size_t len, int only_new)
{
	struct s3_put r = {bucket, key, content_type, NULL, p, len, only_new};
	struct s3_result res;

	return sync_s3_put(s, &r, &res);
}

pca_err
sync_s3_put_mem(struct sync *s, const char *bucket, const char *key,
    const char *content_type, const void *p, size_t len)
{
	return put_mem(s, bucket, key, content_type, p, len, 0);
}

pca_err
sync_s3_put_new(struct sync *s, const char *bucket, const char *key,
    const char *content_type, const void *p, size_t len)
{
	return put_mem(s, bucket, key, content_type, p, len, 1);
}

pca_err
sync_s3_get_mem(struct sync *s, const char *bucket, const char *key,
    struct buf *out)
{
	struct s3_result res;
	struct mem_wr w = {out, &res, 0};
	char what[600];
	CURL *c = NULL;
	pca_err e;

	memset(&res, 0, sizeof(res));
	if ((e = s3_begin(s, "GET", bucket, key, &c, what, sizeof(what))) !=
	    PCA_OK)
		return e;
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, list_hdr_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &res);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_wr_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)s->conf.timeout_s);
	e = s3_perform(s, c, S3_EMPTY_SHA256, NULL, what, &res);
	curl_easy_cleanup(c);
	if (e == PCA_OK && w.over)
		e = pca_err_set(PCA_ETOOBIG, "S3 %s: larger than the buffer",
		    what);
	return e;
}
