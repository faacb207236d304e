/*
 * frame.c - the request-head rules checked before any handler runs
 * (RFC 9110 section 5.1 field names, RFC 9112 section 6.3 message body
 * length): a request whose framing two parties could read differently is
 * refused, never guessed at, so nothing can be smuggled in a body.
 */
#include <string.h>
#include <strings.h>

#include "http.h"

/* RFC 9110 section 5.6.2 tchar. */
static int
is_tchar(unsigned char ch)
{
	if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z'))
		return 1;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int
is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

/* Content-Length = 1*DIGIT (no sign, no list, no spaces); at most 2^53. */
static pca_err
parse_length(const char *v, uint64_t *out)
{
	uint64_t n = 0;
	const char *p = v;

	if (*p == '\0')
		return pca_err_set(PCA_EPARSE,
		    "empty Content-Length (RFC 9112 section 6.3)");
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return pca_err_set(PCA_EPARSE,
			    "Content-Length is not a number "
			    "(RFC 9112 section 6.3)");
		if (n > (UINT64_C(1) << 53) / 10)
			return pca_err_set(PCA_EPARSE,
			    "Content-Length too large");
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*out = n;
	return PCA_OK;
}

pca_err
http_head_check(const struct http_hdr *h, size_t n, enum http_body *body,
    uint64_t *clen)
{
	size_t i, bytes = 0, nte = 0, ncl = 0;
	uint64_t cl = 0, v = 0;
	const char *te = NULL;
	pca_err err;

	if (n > HTTP_MAX_HEADERS)
		return pca_err_set(PCA_ETOOBIG, "more than %d request headers",
		    HTTP_MAX_HEADERS);
	for (i = 0; i < n; i++) {
		bytes += strlen(h[i].name) + strlen(h[i].value);
		if (bytes > HTTP_MAX_HEADER_BLOCK)
			return pca_err_set(PCA_ETOOBIG,
			    "request headers over %d bytes",
			    HTTP_MAX_HEADER_BLOCK);
		if (!is_token(h[i].name))
			return pca_err_set(PCA_EPARSE,
			    "a header name is not a token (RFC 9110 "
			    "section 5.1; no space before the colon)");
		if (strcasecmp(h[i].name, "Transfer-Encoding") == 0) {
			te = h[i].value;
			nte++;
		} else if (strcasecmp(h[i].name, "Content-Length") == 0) {
			if ((err = parse_length(h[i].value, &v)) != PCA_OK)
				return err;
			if (ncl++ > 0 && v != cl)
				return pca_err_set(PCA_EPARSE,
				    "differing Content-Length values "
				    "(RFC 9112 section 6.3)");
			cl = v;
		}
	}
	if (nte > 0 && ncl > 0)
		return pca_err_set(PCA_EPARSE,
		    "Content-Length with Transfer-Encoding (RFC 9112 "
		    "section 6.3)");
	if (nte > 1 || (te != NULL && strcasecmp(te, "chunked") != 0))
		return pca_err_set(PCA_EPARSE,
		    "Transfer-Encoding other than chunked (RFC 9112 "
		    "section 6.3)");
	*body = te != NULL ? HTTP_BODY_CHUNKED
		: ncl > 0  ? HTTP_BODY_LENGTH
			   : HTTP_BODY_NONE;
	*clen = cl;
	return PCA_OK;
}
