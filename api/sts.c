/*
 * sts.c - sts:GetCallerIdentity on the API endpoint, for clients that ask
 * who they are before anything else (cert-manager's aws-privateca-issuer,
 * `aws sts get-caller-identity`).
 *
 * AWS Query protocol: a form-encoded POST (Action=GetCallerIdentity&
 * Version=2011-06-15), SigV4 scoped to the service "sts", answered in XML
 * (text/xml) in the shapes STS uses: GetCallerIdentityResponse /
 * GetCallerIdentityResult {Arn, UserId, Account} / ResponseMetadata
 * {RequestId}, and ErrorResponse {Error {Type, Code, Message}, RequestId}.
 * Every other action answers InvalidAction.
 *
 * The caller is the access key: UserId is its access key id, Account the
 * key's account, Arn arn:<partition>:iam::<account>:user/<access key id>.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "../common/log.h"
#include "../common/util.h"
#include "api_int.h"

#define STS_SERVICE "sts"
#define STS_VERSION "2011-06-15"
#define STS_XMLNS "https://sts.amazonaws.com/doc/2011-06-15/"
#define STS_FIELD_MAX 128 /* Action and Version values */
#define STS_XML_MAX 4096  /* every answer is small */

struct sts_err {
	int status;
	const char *type; /* Sender | Receiver */
	const char *code;
	char message[320];
};

static int
ctype_is(const char *ct, const char *type)
{
	size_t n;

	if (ct == NULL)
		return 0;
	n = strcspn(ct, "; \t");
	return n == strlen(type) && strncasecmp(ct, type, n) == 0;
}

int
api_sts_wants(const struct api_http_req *r)
{
	return api_hdr_get(r, "x-amz-target") == NULL &&
	       ctype_is(api_hdr_get(r, "content-type"),
		   "application/x-www-form-urlencoded");
}

/*
 * Percent-decodes s[0..n) into out (NUL-terminated); 0 when it does not fit
 * or is malformed.
 */
static int
form_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, j = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (i + 2 >= n)
				return 0;
			if ((hi = util_hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = util_hexval((unsigned char)s[i + 2])) < 0)
				return 0;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || j + 1 >= outlen)
			return 0;
		out[j++] = c;
	}
	out[j] = '\0';
	return 1;
}

int
api_sts_form_get(const uint8_t *body, size_t len, const char *name, char *out,
    size_t outlen)
{
	const char *p = (const char *)body, *end = p + len, *amp, *eq;
	char key[STS_FIELD_MAX];

	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL)
			eq = amp;
		if (form_decode(p, (size_t)(eq - p), key, sizeof(key)) &&
		    strcmp(key, name) == 0) {
			if (eq == amp) {
				out[0] = '\0';
				return 1;
			}
			return form_decode(eq + 1, (size_t)(amp - eq - 1), out,
				   outlen)
				   ? 1
				   : -1;
		}
		p = amp + 1;
	}
	return 0;
}

/* Appends s with the five XML special characters escaped. */
static pca_err
xml_add(struct buf *b, const char *s)
{
	pca_err err = PCA_OK;

	for (; *s != '\0' && err == PCA_OK; s++) {
		switch (*s) {
		case '<':
			err = buf_addstr(b, "&lt;");
			break;
		case '>':
			err = buf_addstr(b, "&gt;");
			break;
		case '&':
			err = buf_addstr(b, "&amp;");
			break;
		case '"':
			err = buf_addstr(b, "&quot;");
			break;
		case '\'':
			err = buf_addstr(b, "&apos;");
			break;
		default:
			err = buf_add(b, s, 1);
			break;
		}
	}
	return err;
}

static void sts_set(struct sts_err *, int, const char *, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static void
sts_set(struct sts_err *e, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->type = status >= 500 ? "Receiver" : "Sender";
	e->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

/* The XML in b (freed) as the response, or InternalFailure when err. */
static void
resp_take(struct api_resp *resp, struct buf *b, int status, pca_err err)
{
	size_t len;

	free(resp->body);
	resp->body = NULL;
	resp->status = status;
	resp->content_type = "text/xml";
	if (err == PCA_OK && buf_nul(b) == PCA_OK &&
	    (resp->body = (char *)buf_steal(b, &len)) != NULL)
		resp->len = len;
	else {
		resp->status = 500;
		resp->body = strdup("<ErrorResponse xmlns=\"" STS_XMLNS "\">"
				    "<Error><Type>Receiver</Type><Code>"
				    "InternalFailure</Code></Error>"
				    "</ErrorResponse>");
		resp->len = resp->body ? strlen(resp->body) : 0;
	}
	buf_free(b);
}

static void
sts_fail(struct api_resp *resp, const struct sts_err *e)
{
	struct buf b;
	pca_err err;

	buf_init(&b, STS_XML_MAX);
	if ((err = buf_addstr(&b, "<ErrorResponse xmlns=\"" STS_XMLNS "\">\n"
				  "  <Error>\n    <Type>")) == PCA_OK &&
	    (err = buf_addstr(&b, e->type)) == PCA_OK &&
	    (err = buf_addstr(&b, "</Type>\n    <Code>")) == PCA_OK &&
	    (err = buf_addstr(&b, e->code)) == PCA_OK &&
	    (err = buf_addstr(&b, "</Code>\n    <Message>")) == PCA_OK &&
	    (err = xml_add(&b, e->message)) == PCA_OK &&
	    (err = buf_addstr(&b, "</Message>\n  </Error>\n  <RequestId>")) ==
		PCA_OK &&
	    (err = buf_addstr(&b, resp->request_id)) == PCA_OK)
		err = buf_addstr(&b, "</RequestId>\n</ErrorResponse>\n");
	resp->code = e->code;
	resp_take(resp, &b, e->status, err);
}

/* SigV4 scoped to sts: the key's account in account[13]. */
static int
sts_auth(struct api_ctx *ctx, const struct api_http_req *r,
    struct sigv4_auth *a, char account[13], struct sts_err *e)
{
	const char *authz = api_hdr_get(r, "authorization");
	struct api_key key;
	pca_err err;

	if (authz == NULL) {
		sts_set(e, 403, "MissingAuthenticationToken",
		    "Request is missing Authentication Token");
		return 0;
	}
	if (sigv4_parse_for(authz, STS_SERVICE, a) != PCA_OK) {
		sts_set(e, 400, "IncompleteSignature", "%s", pca_err_msg());
		return 0;
	}
	if ((err = sigv4_check_date(r, a, ctx->now())) != PCA_OK) {
		sts_set(e, err == PCA_EPARSE ? 400 : 403,
		    err == PCA_EPARSE ? "IncompleteSignature"
				      : "SignatureDoesNotMatch",
		    "%s", pca_err_msg());
		return 0;
	}
	if (strcmp(a->region, ctx->region) != 0) {
		sts_set(e, 403, "SignatureDoesNotMatch",
		    "Credential should be scoped to a valid region, not '%s'.",
		    a->region);
		return 0;
	}
	if (api_hdr_get(r, "x-amz-security-token") != NULL ||
	    (err = api_key_lookup(ctx->keys, ctx->store, &ctx->seal, a,
		 &key)) == PCA_ENOTFOUND) {
		sts_set(e, 403, "InvalidClientTokenId",
		    "The security token included in the request is "
		    "invalid.");
		return 0;
	}
	if (err != PCA_OK) {
		log_warnx("sts authentication: %s", pca_err_msg());
		sts_set(e, 503, "ServiceUnavailable",
		    "Service is unable to handle request.");
		return 0;
	}
	err = sigv4_verify(r, a, key.ksigning);
	OPENSSL_cleanse(key.ksigning, sizeof(key.ksigning));
	api_key_release(&key); /* GetCallerIdentity needs no permission */
	if (err != PCA_OK) {
		sts_set(e, 403, "SignatureDoesNotMatch", "%s", pca_err_msg());
		return 0;
	}
	memcpy(account, key.account, 13);
	account[12] = '\0';
	return 1;
}

/* Action and Version: 1 for GetCallerIdentity of 2011-06-15. */
static int
sts_action(const struct api_http_req *r, struct sts_err *e)
{
	char action[STS_FIELD_MAX], version[STS_FIELD_MAX];
	int ra, rv;

	ra = api_sts_form_get(r->body, r->body_len, "Action", action,
	    sizeof(action));
	rv = api_sts_form_get(r->body, r->body_len, "Version", version,
	    sizeof(version));
	if (ra < 0 || rv < 0) {
		sts_set(e, 400, "MalformedInput",
		    "The form-encoded request body is malformed.");
		return 0;
	}
	if (ra == 0 || action[0] == '\0') {
		sts_set(e, 400, "MissingAction", "Missing Action");
		return 0;
	}
	if (rv == 0 || strcmp(version, STS_VERSION) != 0 ||
	    strcmp(action, "GetCallerIdentity") != 0) {
		sts_set(e, 400, "InvalidAction",
		    "Could not find operation %.127s for version %.127s",
		    action, rv > 0 ? version : "(none)");
		return 0;
	}
	return 1;
}

void
api_sts_handle(struct api_ctx *ctx, const struct api_http_req *r,
    struct api_resp *resp)
{
	struct sigv4_auth a;
	struct sts_err e;
	struct buf b;
	char account[13], arn[256];
	pca_err err;

	memset(&e, 0, sizeof(e));
	if (!sts_auth(ctx, r, &a, account, &e) || !sts_action(r, &e)) {
		log_info("request=%s op=sts status=%d error=%s: %s",
		    resp->request_id, e.status, e.code, e.message);
		sts_fail(resp, &e);
		return;
	}
	(void)snprintf(arn, sizeof(arn), "arn:%s:iam::%s:user/%s",
	    ctx->partition[0] ? ctx->partition : "aws", account, a.akid);
	buf_init(&b, STS_XML_MAX);
	if ((err = buf_addstr(&b,
		 "<GetCallerIdentityResponse xmlns=\"" STS_XMLNS "\">\n"
		 "  <GetCallerIdentityResult>\n    <Arn>")) == PCA_OK &&
	    (err = xml_add(&b, arn)) == PCA_OK &&
	    (err = buf_addstr(&b, "</Arn>\n    <UserId>")) == PCA_OK &&
	    (err = xml_add(&b, a.akid)) == PCA_OK &&
	    (err = buf_addstr(&b, "</UserId>\n    <Account>")) == PCA_OK &&
	    (err = xml_add(&b, account)) == PCA_OK &&
	    (err = buf_addstr(&b, "</Account>\n  </GetCallerIdentityResult>\n"
				  "  <ResponseMetadata>\n    <RequestId>")) ==
		PCA_OK &&
	    (err = buf_addstr(&b, resp->request_id)) == PCA_OK)
		err = buf_addstr(&b, "</RequestId>\n  </ResponseMetadata>\n"
				     "</GetCallerIdentityResponse>\n");
	log_debug("request=%s op=sts:GetCallerIdentity who=%s status=200",
	    resp->request_id, a.akid);
	resp_take(resp, &b, 200, err);
}
