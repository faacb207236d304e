/*
 * dispatch.c - one API request after framing, in the order of spec 1.6:
 * SigV4 -> target -> JSON -> shape -> IAM policy (ops.c) -> operation (ARN,
 * existence, idempotency, state, arguments, quota: the engine's order) ->
 * response.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../store/store.h"
#include "api_int.h"

void
api_resp_clear(struct api_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

void
api_resp_error(struct api_resp *resp, int status, const char *code,
    const char *message)
{
	json_t *o = json_pack("{s:s,s:s}", "__type", code, "message", message);

	free(resp->body);
	resp->status = status;
	resp->code = code;
	resp->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (resp->body == NULL) /* never an empty error body */
		resp->body = strdup("{\"__type\":\"InternalFailure\"}");
	resp->len = resp->body ? strlen(resp->body) : 0;
	json_decref(o);
}

static void
fail(struct api_resp *resp, const struct api_error *e)
{
	api_resp_error(resp, e->status, e->code, e->message);
}

/* Maps a failure of a dependency during authentication (store, token). */
static int
auth_dep_fail(struct api_error *e, pca_err err)
{
	log_warnx("authentication: %s", pca_err_msg());
	api_error_from(NULL, err, pca_err_msg(), e);
	return 0;
}

static int
auth_key(struct api_ctx *ctx, const struct api_http_req *r,
    const struct sigv4_auth *a, struct api_call *call, struct api_error *e)
{
	struct api_key key;
	pca_err err;

	if (api_hdr_get(r, "x-amz-security-token") != NULL) {
		api_error_set(e, 400, "UnrecognizedClientException",
		    "The security token included in the request is invalid.");
		return 0;
	}
	if ((err = api_key_lookup(ctx->keys, ctx->store, &ctx->seal, a,
		 &key)) != PCA_OK) {
		if (err != PCA_ENOTFOUND)
			return auth_dep_fail(e, err);
		api_error_set(e, 400, "UnrecognizedClientException",
		    "The security token included in the request is invalid.");
		return 0;
	}
	err = sigv4_verify(r, a, key.ksigning);
	OPENSSL_cleanse(key.ksigning, sizeof(key.ksigning));
	if (err != PCA_OK) {
		api_key_release(&key);
		api_error_set(e, 400, "InvalidSignatureException", "%s",
		    pca_err_msg());
		return 0;
	}
	memcpy(call->account, key.account, sizeof(key.account));
	call->parsed = key.parsed; /* authorized per operation (ops.c) */
	call->policy = key.policy;
	return 1;
}

static int
authenticate(struct api_ctx *ctx, const struct api_http_req *r,
    struct api_call *call, struct api_error *e)
{
	const char *authz = api_hdr_get(r, "authorization");
	struct sigv4_auth a;
	pca_err err;

	if (authz == NULL) {
		api_error_set(e, 403, "MissingAuthenticationTokenException",
		    "Missing Authentication Token");
		return 0;
	}
	if (sigv4_parse(authz, &a) != PCA_OK) {
		api_error_set(e, 400, "IncompleteSignatureException", "%s",
		    pca_err_msg());
		return 0;
	}
	if ((err = sigv4_check_date(r, &a, ctx->now())) != PCA_OK) {
		api_error_set(e, 400,
		    err == PCA_EPARSE ? "IncompleteSignatureException"
				      : "InvalidSignatureException",
		    "%s", pca_err_msg());
		return 0;
	}
	if (strcmp(a.region, ctx->region) != 0) {
		api_error_set(e, 400, "InvalidSignatureException",
		    "Credential should be scoped to a valid region, not '%s'. ",
		    a.region);
		return 0;
	}
	if (!auth_key(ctx, r, &a, call, e))
		return 0;
	(void)snprintf(call->region, sizeof(call->region), "%s", a.region);
	(void)snprintf(call->who, sizeof(call->who), "%s", a.akid);
	call->caller.account = call->account;
	call->caller.region = call->region;
	call->caller.who = call->who;
	if (r->remote_ip != NULL)
		(void)snprintf(call->source_ip, sizeof(call->source_ip), "%s",
		    r->remote_ip);
	return 1;
}

static int
json_content_type(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return 1; /* botocore always sends one; be lenient */
	n = strcspn(ct, "; \t");
	return (n == 26 &&
		   strncasecmp(ct, "application/x-amz-json-1.1", n) == 0) ||
	       (n == 26 &&
		   strncasecmp(ct, "application/x-amz-json-1.0", n) == 0) ||
	       (n == 16 && strncasecmp(ct, "application/json", n) == 0);
}

/* An OpenPCA.* extension operation (inventory.c, the compliance report). */
static int
ext_op(const char *name)
{
	return api_op_is_ext(name) || api_approval_is_op(name) ||
	       strcmp(name, "GetComplianceReport") == 0;
}

/* Target and content type: call->op, or an error. */
static int
target(const struct api_http_req *r, struct api_call *call, struct api_error *e)
{
	const char *t = api_hdr_get(r, "x-amz-target");
	const struct api_op *op = NULL;
	size_t n = strlen(API_TARGET_PREFIX);
	size_t xn = strlen(API_EXT_TARGET_PREFIX);

	if (t != NULL && strncmp(t, API_TARGET_PREFIX, n) == 0 &&
	    !ext_op(t + n))
		op = api_op_find(t + n);
	else if (t != NULL && strncmp(t, API_EXT_TARGET_PREFIX, xn) == 0 &&
		 ext_op(t + xn))
		op = api_op_find(t + xn);
	if (op == NULL) {
		api_error_set(e, 400, "UnknownOperationException",
		    "Unknown operation %.100s", t ? t : "(no X-Amz-Target)");
		return 0;
	}
	call->op = op;
	if (!json_content_type(api_hdr_get(r, "content-type"))) {
		api_error_set(e, 400, "UnknownOperationException",
		    "Unsupported Content-Type; use "
		    "application/x-amz-json-1.1");
		return 0;
	}
	return 1;
}

static int
mutating(const char *op)
{
	static const char *const verbs[] = {"Create", "Delete", "Import",
	    "Issue", "Put", "Restore", "Revoke", "Rotate", "Tag", "Untag",
	    "Update", NULL};
	int i;

	for (i = 0; verbs[i] != NULL; i++)
		if (strncmp(op, verbs[i], strlen(verbs[i])) == 0)
			return 1;
	return 0;
}

/* A standby or a fenced primary changes nothing: 503, retryable. */
static int
role_allows(const struct api_call *call, struct api_error *e)
{
	const struct api_role *ro = &call->ctx->role;
	const char *op = call->op->name;
	char msg[600];

	if (ro->refuse == NULL ||
	    (!mutating(op) && strncmp(op, "Approve", 7) != 0 &&
		strncmp(op, "Deny", 4) != 0) ||
	    !ro->refuse(ro->arg, msg, sizeof(msg)))
		return 1;
	api_error_set(e, 503, "ServiceUnavailable", "%s", msg);
	return 0;
}

/*
 * The engine audits the mutations it performs; a refused one is audited
 * here, so the log shows every attempt with its outcome.
 */
static void
audit_refusal(const struct api_call *call, const json_t *in, const char *code)
{
	const char *arn =
	    json_string_value(json_object_get(in, "CertificateAuthorityArn"));
	char line[768];
	uint64_t seq;

	if (arn == NULL)
		arn = json_string_value(json_object_get(in, "ResourceArn"));
	(void)snprintf(line, sizeof(line),
	    "op=%s who=%s account=%s region=%s ca=%.256s result=%s",
	    call->op->name, call->who, call->account, call->region,
	    arn ? arn : "-", code);
	if (store_audit_append(call->ctx->store, call->ctx->now(), line,
		&seq) != PCA_OK)
		log_warnx("audit append failed for '%s': %s", line,
		    pca_err_msg());
}

/* JSON, shape, operation; *out the output object. */
static int
run(struct api_call *call, const struct api_http_req *r, json_t **out,
    struct api_error *e)
{
	json_t *in = NULL;
	const char *code = NULL;
	pca_err err;

	if ((err = api_json_decode(r->body, r->body_len, &in)) != PCA_OK) {
		api_error_set(e, 400, "SerializationException", "%s",
		    pca_err_msg());
		return 0;
	}
	if ((err = api_shape_check(call->op, in, &code)) != PCA_OK) {
		if (err == PCA_EPARSE)
			code = "SerializationException";
	} else if ((err = api_op_run(call, in, out)) == PCA_OK) {
		json_decref(in);
		return 1;
	}
	if (code == NULL)
		code = call->code;
	if (code != NULL)
		api_error_set(e, 400, code, "%s", pca_err_msg());
	else
		api_error_from(call->op->name, err, pca_err_msg(), e);
	if (mutating(call->op->name)) {
		char msg[1024];
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		audit_refusal(call, in, e->code);
		(void)pca_err_set(err, "%s", msg);
	}
	json_decref(in);
	if (e->status >= 500)
		log_warnx("%s failed: %s: %s", call->op->name,
		    pca_strerror(err), pca_err_msg());
	return 0;
}

static void
log_request(const struct api_call *call, const struct api_resp *resp,
    const struct api_error *e)
{
	if (resp->status == 200 && log_getlevel() < LOG_LEVEL_DEBUG)
		return;
	if (resp->status == 200)
		log_debug("request=%s op=%s who=%s status=200",
		    resp->request_id, call->op ? call->op->name : "-",
		    call->who[0] ? call->who : "-");
	else
		log_info("request=%s op=%s who=%s status=%d error=%s: %s",
		    resp->request_id, call->op ? call->op->name : "-",
		    call->who[0] ? call->who : "-", resp->status, e->code,
		    e->message);
}

void
api_dispatch(struct api_ctx *ctx, const struct api_http_req *r,
    struct api_resp *resp)
{
	struct api_call call;
	struct api_error e;
	json_t *out = NULL;

	memset(resp, 0, sizeof(*resp));
	memset(&call, 0, sizeof(call));
	memset(&e, 0, sizeof(e));
	call.ctx = ctx;
	if (util_uuid(resp->request_id) != PCA_OK)
		(void)snprintf(resp->request_id, sizeof(resp->request_id),
		    "00000000-0000-4000-8000-000000000000");
	pca_err_clear();
	if (api_sts_wants(r)) { /* AWS Query: sts:GetCallerIdentity */
		api_sts_handle(ctx, r, resp);
		return;
	}
	if (!authenticate(ctx, r, &call, &e)) {
		if (ctx->metrics != NULL)
			atomic_fetch_add(&ctx->metrics->auth_fail, 1);
		fail(resp, &e);
	} else if (!target(r, &call, &e) || !role_allows(&call, &e) ||
		   !run(&call, r, &out, &e)) {
		fail(resp, &e);
	} else {
		resp->status = 200;
		resp->body = json_dumps(out, JSON_COMPACT);
		if (resp->body == NULL)
			api_resp_error(resp, 500, "InternalFailure",
			    "An internal error occurred; retry later.");
		else
			resp->len = strlen(resp->body);
	}
	resp->op = call.op;
	log_request(&call, resp, &e);
	iam_policy_free(call.parsed);
	free(call.policy);
	json_decref(out);
}
