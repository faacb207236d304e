/*
 * sigv4.c - AWS Signature Version 4 verification (spec 1.5), computed the
 * way botocore's SigV4Auth signs: canonical request, string to sign,
 * HMAC under the scope's signing key, constant-time comparison.  The key
 * (kSigning) comes from the token's side (hsm_sigv4_key): this file never
 * sees an access key's secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "../common/util.h"
#include "api_int.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define CANON_MAX (LIM_API_BODY + API_MAX_HEADER_BLOCK)

const char *
api_hdr_get(const struct api_http_req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nhdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			return r->hdrs[i].value;
	return NULL;
}

/* ---- Authorization header ---- */

static int
is_lower_token(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

/* Copies the next '/'-separated field of *p into out (size outlen). */
static int
next_field(const char **p, const char *end, char *out, size_t outlen)
{
	const char *s = *p, *e = memchr(s, '/', (size_t)(end - s));
	size_t n;

	if (e == NULL)
		e = end;
	n = (size_t)(e - s);
	if (n == 0 || n >= outlen)
		return 0;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = e < end ? e + 1 : e;
	return 1;
}

static pca_err
parse_credential(const char *v, size_t n, const char *service,
    struct sigv4_auth *a)
{
	const char *p = v, *end = v + n;
	char term[32];
	size_t i;

	if (!next_field(&p, end, a->akid, sizeof(a->akid)) ||
	    !next_field(&p, end, a->date, sizeof(a->date)) ||
	    !next_field(&p, end, a->region, sizeof(a->region)) ||
	    !next_field(&p, end, a->service, sizeof(a->service)) ||
	    !next_field(&p, end, term, sizeof(term)) || p != end)
		return pca_err_set(PCA_EPARSE,
		    "Credential must have the form <AccessKeyId>/<yyyymmdd>/"
		    "<region>/%s/aws4_request",
		    service);
	for (i = 0; a->akid[i] != '\0'; i++)
		if (!((a->akid[i] >= 'A' && a->akid[i] <= 'Z') ||
			(a->akid[i] >= 'a' && a->akid[i] <= 'z') ||
			(a->akid[i] >= '0' && a->akid[i] <= '9')))
			return pca_err_set(PCA_EPARSE,
			    "Credential has a malformed access key id");
	if (strlen(a->date) != 8 || strspn(a->date, "0123456789") != 8)
		return pca_err_set(PCA_EPARSE,
		    "Credential has a malformed date '%s'", a->date);
	if (!is_lower_token(a->region, strlen(a->region)))
		return pca_err_set(PCA_EPARSE,
		    "Credential should be scoped to a valid region. ");
	if (strcmp(a->service, service) != 0)
		return pca_err_set(PCA_EPARSE,
		    "Credential should be scoped to correct service: '%s'. ",
		    service);
	if (strcmp(term, TERMINATOR) != 0)
		return pca_err_set(PCA_EPARSE,
		    "Credential should be scoped with a valid terminator: "
		    "'%s', not '%s'. ",
		    TERMINATOR, term);
	return PCA_OK;
}

static pca_err
parse_signed_headers(const char *v, size_t n, struct sigv4_auth *a)
{
	char *p, *semi;
	int host = 0, date = 0;

	if (n == 0 || n >= sizeof(a->signed_list))
		return pca_err_set(PCA_EPARSE, "SignedHeaders is empty or too "
					       "long");
	memcpy(a->signed_list, v, n);
	a->signed_list[n] = '\0';
	memcpy(a->signed_names, v, n);
	a->signed_names[n] = '\0';
	a->nsigned = 0;
	for (p = a->signed_names; p != NULL; p = semi) {
		if ((semi = strchr(p, ';')) != NULL)
			*semi++ = '\0';
		if (!is_lower_token(p, strlen(p)) ||
		    a->nsigned == SIGV4_MAX_SIGNED)
			return pca_err_set(PCA_EPARSE,
			    "SignedHeaders must be a ;-separated list of at "
			    "most %d lower-case header names",
			    SIGV4_MAX_SIGNED);
		host |= strcmp(p, "host") == 0;
		date |= strcmp(p, "x-amz-date") == 0;
		a->signed_hdrs[a->nsigned++] = p;
	}
	if (!host)
		return pca_err_set(PCA_EPARSE,
		    "'Host' must be a 'SignedHeader' in the AWS "
		    "Authorization.");
	if (!date)
		return pca_err_set(PCA_EPARSE,
		    "'X-Amz-Date' must be a 'SignedHeader' in the AWS "
		    "Authorization.");
	return PCA_OK;
}

static pca_err
parse_signature(const char *v, size_t n, struct sigv4_auth *a)
{
	char hex[65];
	size_t len, i;

	if (n != 64)
		return pca_err_set(PCA_EPARSE,
		    "Signature must be 64 hexadecimal digits");
	for (i = 0; i < n; i++)
		if (!((v[i] >= '0' && v[i] <= '9') ||
			(v[i] >= 'a' && v[i] <= 'f') ||
			(v[i] >= 'A' && v[i] <= 'F')))
			return pca_err_set(PCA_EPARSE,
			    "Signature must be 64 hexadecimal digits");
	memcpy(hex, v, 64);
	hex[64] = '\0';
	if (util_unhex(hex, a->sig, sizeof(a->sig), &len) != PCA_OK ||
	    len != 32)
		return pca_err_set(PCA_EPARSE,
		    "Signature must be 64 hexadecimal digits");
	return PCA_OK;
}

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

pca_err
sigv4_parse(const char *authz, struct sigv4_auth *a)
{
	return sigv4_parse_for(authz, API_SERVICE, a);
}

pca_err
sigv4_parse_for(const char *authz, const char *service, struct sigv4_auth *a)
{
	const char *p, *end, *comma, *eq, *k, *v;
	int have_c = 0, have_h = 0, have_s = 0;
	size_t klen, vlen, n = strlen(authz);
	pca_err err;

	memset(a, 0, sizeof(*a));
	if (n > API_MAX_AUTHZ)
		return pca_err_set(PCA_EPARSE, "Authorization header is too "
					       "long");
	if (strncmp(authz, ALGORITHM, strlen(ALGORITHM)) != 0 ||
	    (authz[strlen(ALGORITHM)] != ' ' &&
		authz[strlen(ALGORITHM)] != '\t'))
		return pca_err_set(PCA_EPARSE,
		    "Unsupported AWS 'algorithm': only '%s' is accepted",
		    ALGORITHM);
	p = authz + strlen(ALGORITHM);
	end = authz + n;
	while (p < end) {
		p = skip_ws(p, end);
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		if ((eq = memchr(p, '=', (size_t)(comma - p))) == NULL)
			return pca_err_set(PCA_EPARSE,
			    "Authorization header has a parameter without '='");
		k = p, klen = (size_t)(eq - p);
		v = eq + 1, vlen = (size_t)(comma - v);
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (klen == 10 && memcmp(k, "Credential", 10) == 0 && !have_c++)
			err = parse_credential(v, vlen, service, a);
		else if (klen == 13 && memcmp(k, "SignedHeaders", 13) == 0 &&
			 !have_h++)
			err = parse_signed_headers(v, vlen, a);
		else if (klen == 9 && memcmp(k, "Signature", 9) == 0 &&
			 !have_s++)
			err = parse_signature(v, vlen, a);
		else
			err = pca_err_set(PCA_EPARSE,
			    "Authorization header has an unknown or repeated "
			    "parameter");
		if (err != PCA_OK)
			return err;
		p = comma < end ? comma + 1 : end;
	}
	if (!have_c || !have_h || !have_s)
		return pca_err_set(PCA_EPARSE, "%s%s%s",
		    have_c ? ""
			   : "Authorization header requires 'Credential' "
			     "parameter. ",
		    have_s ? ""
			   : "Authorization header requires 'Signature' "
			     "parameter. ",
		    have_h ? ""
			   : "Authorization header requires "
			     "'SignedHeaders' parameter. ");
	return PCA_OK;
}

/* ---- date ---- */

static int
parse_amz_date(const char *s, int64_t *t)
{
	struct tm tm;
	long long v;
	char part[5];

	if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z' ||
	    strspn(s, "0123456789") != 8 || strspn(s + 9, "0123456789") != 6)
		return 0;
	memset(&tm, 0, sizeof(tm));
	memcpy(part, s, 4), part[4] = '\0';
	if (util_strtonum(part, 1970, 9999, &v) != PCA_OK)
		return 0;
	tm.tm_year = (int)v - 1900;
	tm.tm_mon = (s[4] - '0') * 10 + (s[5] - '0') - 1;
	tm.tm_mday = (s[6] - '0') * 10 + (s[7] - '0');
	tm.tm_hour = (s[9] - '0') * 10 + (s[10] - '0');
	tm.tm_min = (s[11] - '0') * 10 + (s[12] - '0');
	tm.tm_sec = (s[13] - '0') * 10 + (s[14] - '0');
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return 0;
	*t = util_timegm(&tm);
	return 1;
}

static void
fmt_amz_date(int64_t t, char out[17])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	(void)strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

pca_err
sigv4_check_date(const struct api_http_req *r, struct sigv4_auth *a,
    int64_t now)
{
	const char *d = api_hdr_get(r, "x-amz-date");
	char lim[17], cur[17];
	int64_t t;
	size_t i;

	for (i = 0; i < a->nsigned; i++)
		if (api_hdr_get(r, a->signed_hdrs[i]) == NULL)
			return pca_err_set(PCA_EPARSE,
			    "SignedHeaders names '%s', which the request does "
			    "not carry",
			    a->signed_hdrs[i]);
	/* the operation is chosen by X-Amz-Target: unsigned, a captured
	   request could be replayed as another operation (every SDK signs
	   it; Host is required by sigv4_parse) */
	if (api_hdr_get(r, "x-amz-target") != NULL) {
		for (i = 0; i < a->nsigned; i++)
			if (strcmp(a->signed_hdrs[i], "x-amz-target") == 0)
				break;
		if (i == a->nsigned)
			return pca_err_set(PCA_EPARSE,
			    "'X-Amz-Target' must be a 'SignedHeader' in the "
			    "AWS Authorization.");
	}
	if (d == NULL)
		return pca_err_set(PCA_EPARSE,
		    "Authorization header requires existence of either a "
		    "'X-Amz-Date' or a 'Date' header.");
	if (!parse_amz_date(d, &t))
		return pca_err_set(PCA_EPARSE,
		    "Date must be in ISO-8601 'basic format'. Got '%.40s'.", d);
	memcpy(a->amz_date, d, 17);
	fmt_amz_date(now, cur);
	if (t < now - API_SKEW_S) {
		fmt_amz_date(now - API_SKEW_S, lim);
		return pca_err_set(PCA_EMISMATCH,
		    "Signature expired: %s is now earlier than %s (%s - 15 "
		    "min.)",
		    a->amz_date, lim, cur);
	}
	if (t > now + API_SKEW_S) {
		fmt_amz_date(now + API_SKEW_S, lim);
		return pca_err_set(PCA_EMISMATCH,
		    "Signature not yet current: %s is still later than %s (%s "
		    "+ 15 min.)",
		    a->amz_date, lim, cur);
	}
	if (memcmp(a->amz_date, a->date, 8) != 0)
		return pca_err_set(PCA_EMISMATCH,
		    "Date in Credential scope does not match YYYYMMDD from "
		    "ISO-8601 version of date from HTTP: '%s' != '%.8s', from "
		    "'%s'.",
		    a->date, a->amz_date, a->amz_date);
	return PCA_OK;
}

/* ---- canonical request ---- */

static int
unreserved(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == '~';
}

/* Python's quote(s, safe='/~'). */
static pca_err
quote_path(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	char esc[3];
	pca_err err = PCA_OK;

	for (i = 0; i < n && err == PCA_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || c == '/')
			err = buf_add(b, &c, 1);
		else {
			esc[0] = '%', esc[1] = hex[c >> 4],
			esc[2] = hex[c & 15];
			err = buf_add(b, esc, 3);
		}
	}
	return err;
}

/*
 * botocore's remove_dot_segments: drops empty and "." segments, resolves
 * "..", keeps a leading and (when anything is left) a trailing slash.
 */
static pca_err
canonical_uri(struct buf *out, const char *path)
{
	const char *seg[128], *p, *e;
	size_t len[128], n = 0, i, plen = strlen(path);
	struct buf tmp;
	pca_err err = PCA_OK;

	if (plen == 0)
		return buf_addstr(out, "/");
	for (p = path; p < path + plen; p = e + 1) {
		if ((e = strchr(p, '/')) == NULL)
			e = path + plen;
		if (e == p || (e - p == 1 && p[0] == '.'))
			continue;
		if (e - p == 2 && p[0] == '.' && p[1] == '.') {
			if (n > 0)
				n--;
			continue;
		}
		if (n == sizeof(seg) / sizeof(seg[0]))
			return pca_err_set(PCA_EPARSE, "path has too many "
						       "segments");
		seg[n] = p, len[n++] = (size_t)(e - p);
	}
	buf_init(&tmp, API_MAX_HEADER_BLOCK);
	if (path[0] == '/')
		err = buf_addstr(&tmp, "/");
	for (i = 0; i < n && err == PCA_OK; i++) {
		if (i > 0)
			err = buf_addstr(&tmp, "/");
		if (err == PCA_OK)
			err = buf_add(&tmp, seg[i], len[i]);
	}
	if (err == PCA_OK && n > 0 && path[plen - 1] == '/')
		err = buf_addstr(&tmp, "/");
	if (err == PCA_OK)
		err = quote_path(out, (const char *)tmp.p, tmp.len);
	buf_free(&tmp);
	return err;
}

static int
pair_cmp(const void *x, const void *y)
{
	const struct api_hdr *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	return c ? c
		 : strcmp(a->value ? a->value : "", b->value ? b->value : "");
}

/* The raw query pairs sorted by key then value, "k=v" joined by '&'. */
static pca_err
canonical_query(struct buf *out, const struct api_http_req *r)
{
	struct api_hdr *q;
	size_t i;
	pca_err err = PCA_OK;

	if (r->nquery == 0)
		return PCA_OK;
	if (r->nquery > API_MAX_HEADERS)
		return pca_err_set(PCA_EPARSE, "too many query arguments");
	if ((q = calloc(r->nquery, sizeof(*q))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	memcpy(q, r->query, r->nquery * sizeof(*q));
	qsort(q, r->nquery, sizeof(*q), pair_cmp);
	for (i = 0; i < r->nquery && err == PCA_OK; i++)
		err = buf_printf(out, "%s%s=%s", i ? "&" : "", q[i].name,
		    q[i].value ? q[i].value : "");
	free(q);
	return err;
}

/* Appends value with surrounding space trimmed and inner runs collapsed. */
static pca_err
add_trimmed(struct buf *out, const char *v)
{
	int space = 0, any = 0;
	pca_err err = PCA_OK;

	for (; *v != '\0' && err == PCA_OK; v++) {
		if (strchr(" \t\r\n\v\f", *v) != NULL) {
			space = 1;
			continue;
		}
		if (space && any)
			err = buf_add(out, " ", 1);
		if (err == PCA_OK)
			err = buf_add(out, v, 1);
		space = 0, any = 1;
	}
	return err;
}

/* "name:v1,v2\n" over every occurrence of the header, in arrival order. */
static pca_err
canonical_header(struct buf *out, const struct api_http_req *r,
    const char *name)
{
	size_t i;
	int n = 0;
	pca_err err;

	if ((err = buf_printf(out, "%s:", name)) != PCA_OK)
		return err;
	for (i = 0; i < r->nhdrs && err == PCA_OK; i++) {
		if (strcasecmp(r->hdrs[i].name, name) != 0)
			continue;
		if (n++ > 0)
			err = buf_add(out, ",", 1);
		if (err == PCA_OK)
			err = add_trimmed(out, r->hdrs[i].value);
	}
	return err == PCA_OK ? buf_add(out, "\n", 1) : err;
}

static void
sha256_hex(const uint8_t *p, size_t n, char out[65])
{
	uint8_t md[32];

	SHA256(p, n, md);
	util_hex(md, sizeof(md), out, 65, 0);
}

/* The payload hash: x-amz-content-sha256 when sent, else sha256(body). */
static pca_err
payload_hash(const struct api_http_req *r, char out[65])
{
	const char *sent = api_hdr_get(r, "x-amz-content-sha256");

	sha256_hex(r->body ? r->body : (const uint8_t *)"", r->body_len, out);
	if (sent != NULL && strcasecmp(sent, out) != 0)
		return pca_err_set(PCA_EMISMATCH,
		    "The provided 'x-amz-content-sha256' header does not match "
		    "what was computed.");
	return PCA_OK;
}

pca_err
sigv4_canonical_request(const struct api_http_req *r,
    const struct sigv4_auth *a, struct buf *out)
{
	char hash[65];
	size_t i;
	pca_err err;

	if ((err = payload_hash(r, hash)) != PCA_OK)
		return err;
	if ((err = buf_printf(out, "%s\n", r->method)) != PCA_OK ||
	    (err = canonical_uri(out, r->path)) != PCA_OK ||
	    (err = buf_add(out, "\n", 1)) != PCA_OK ||
	    (err = canonical_query(out, r)) != PCA_OK ||
	    (err = buf_add(out, "\n", 1)) != PCA_OK)
		return err;
	for (i = 0; i < a->nsigned; i++)
		if ((err = canonical_header(out, r, a->signed_hdrs[i])) !=
		    PCA_OK)
			return err;
	return buf_printf(out, "\n%s\n%s", a->signed_list, hash);
}

pca_err
sigv4_verify(const struct api_http_req *r, const struct sigv4_auth *a,
    const uint8_t ksigning[32])
{
	struct buf canon, sts;
	char hash[65];
	uint8_t sig[32];
	unsigned int n = sizeof(sig);
	pca_err err;

	buf_init(&canon, CANON_MAX);
	buf_init(&sts, 1024);
	if ((err = sigv4_canonical_request(r, a, &canon)) != PCA_OK)
		goto out;
	sha256_hex(canon.p, canon.len, hash);
	if ((err = buf_printf(&sts, "%s\n%s\n%s/%s/%s/%s\n%s", ALGORITHM,
		 a->amz_date, a->date, a->region, a->service, TERMINATOR,
		 hash)) != PCA_OK)
		goto out;
	if (HMAC(EVP_sha256(), ksigning, 32, sts.p, sts.len, sig, &n) == NULL ||
	    n != sizeof(sig)) {
		err = pca_err_set(PCA_EINTERNAL, "HMAC-SHA256 failed");
		goto out;
	}
	if (CRYPTO_memcmp(sig, a->sig, sizeof(sig)) != 0)
		err = pca_err_set(PCA_EMISMATCH,
		    "The request signature we calculated does not match the "
		    "signature you provided. Check your AWS Secret Access Key "
		    "and signing method. Consult the service documentation for "
		    "details.");
out:
	buf_free(&canon);
	buf_free(&sts);
	return err;
}
