/*
 * console.c - what the web console (console/) asks of the API: signing in
 * with an access key, read-only operations run as that key (the same
 * shape checks, IAM authorization and handlers as a SigV4 request) and an
 * IAM decision for pages that run no operation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "../common/log.h"
#include "../common/util.h"
#include "api_int.h"

/* The operations a console page may run: reads only. */
static const char *const read_ops[] = {"ListCertificateAuthorities",
    "DescribeCertificateAuthority", "GetCertificate",
    "GetCertificateAuthorityCertificate", "ListCertificates", "ListTags",
    "GetExternalCertificate", NULL};

static int
read_op(const char *op)
{
	int i;

	for (i = 0; read_ops[i] != NULL; i++)
		if (strcmp(read_ops[i], op) == 0)
			return 1;
	return 0;
}

static void
today(int64_t now, char date[9])
{
	time_t t = (time_t)now;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(date, 9, "%Y%m%d", &tm) != 8)
		(void)snprintf(date, 9, "19700101");
}

/*
 * The stored key's SigV4 signing key for today's scope in the appliance's
 * region (service acm-pca), its account and policy: the same lookup a
 * SigV4 request makes (derived by the signer; the stored secret is never
 * unsealed here).
 */
static pca_err
key_signing(struct api_ctx *ctx, const char *akid, const char *date,
    uint8_t ks[32], struct api_key *out)
{
	struct sigv4_auth a;
	pca_err err;

	memset(&a, 0, sizeof(a));
	(void)snprintf(a.akid, sizeof(a.akid), "%s", akid);
	(void)snprintf(a.date, sizeof(a.date), "%s", date);
	(void)snprintf(a.region, sizeof(a.region), "%s", ctx->region);
	(void)snprintf(a.service, sizeof(a.service), "%s", API_SERVICE);
	if ((err = api_key_lookup(ctx->keys, ctx->store, &ctx->seal, &a,
		 out)) != PCA_OK)
		return err;
	memcpy(ks, out->ksigning, 32);
	OPENSSL_cleanse(out->ksigning, sizeof(out->ksigning));
	return PCA_OK;
}

/*
 * The same signing key from the secret typed in at sign-in (the bare HMAC
 * chain, the token's side's own: seal.sigv4_derive).
 */
static pca_err
typed_signing(const struct api_ctx *ctx, const char *secret, size_t n,
    const char *date, uint8_t ks[32])
{
	struct seal_scope sc = {date, ctx->region, API_SERVICE};

	if (ctx->seal.sigv4_derive == NULL)
		return pca_err_set(PCA_EUNAVAIL, "no token to derive keys");
	ctx->seal.sigv4_derive((const uint8_t *)secret, n, &sc, ks);
	return PCA_OK;
}

static int
akid_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 16 || n > 20)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

pca_err
api_console_signin(struct api_server *srv, const char *akid, const char *secret,
    struct api_console_id *out)
{
	struct api_ctx *ctx;
	struct api_key key;
	uint8_t want[32], got[32];
	char date[9];
	size_t n = strlen(secret);
	pca_err err;

	if (!akid_ok(akid) || n == 0 || n > 128)
		return pca_err_set(PCA_EPOLICY, "wrong access key or secret");
	ctx = api_server_ctx_hold(srv);
	today(ctx->now(), date);
	memset(&key, 0, sizeof(key));
	if ((err = key_signing(ctx, akid, date, want, &key)) == PCA_OK)
		err = typed_signing(ctx, secret, n, date, got);
	if (err == PCA_OK) {
		if (CRYPTO_memcmp(want, got, sizeof(got)) != 0)
			err = PCA_EPOLICY;
		memcpy(out->account, key.account, sizeof(out->account));
		(void)snprintf(out->akid, sizeof(out->akid), "%s", akid);
	} else if (err != PCA_ENOTFOUND)
		log_warnx("console sign-in: %s", pca_err_msg());
	api_server_ctx_release(srv);
	api_key_release(&key);
	OPENSSL_cleanse(want, sizeof(want));
	OPENSSL_cleanse(got, sizeof(got));
	if (err == PCA_ENOTFOUND || err == PCA_EPOLICY)
		return pca_err_set(PCA_EPOLICY, "wrong access key or secret");
	return err;
}

/* call set up as the key: account, region, policy (owned), source. */
static pca_err
call_as(struct api_ctx *ctx, const struct api_console_id *id, const char *ip,
    struct api_call *call)
{
	struct api_key key;
	uint8_t ks[32];
	char date[9];
	pca_err err;

	memset(call, 0, sizeof(*call));
	memset(&key, 0, sizeof(key));
	today(ctx->now(), date);
	/* the key as it is now: revoked or re-scoped keys take effect */
	if ((err = key_signing(ctx, id->akid, date, ks, &key)) != PCA_OK)
		return err;
	OPENSSL_cleanse(ks, sizeof(ks));
	call->ctx = ctx;
	call->parsed = key.parsed;
	call->policy = key.policy;
	(void)snprintf(call->account, sizeof(call->account), "%s", key.account);
	(void)snprintf(call->region, sizeof(call->region), "%s", ctx->region);
	(void)snprintf(call->who, sizeof(call->who), "%s", id->akid);
	if (ip != NULL)
		(void)snprintf(call->source_ip, sizeof(call->source_ip), "%s",
		    ip);
	call->caller.account = call->account;
	call->caller.region = call->region;
	call->caller.who = call->who;
	return PCA_OK;
}

static void
res_set(struct api_console_res *res, int status, const char *code,
    const char *msg)
{
	res->status = status;
	(void)snprintf(res->code, sizeof(res->code), "%s", code);
	(void)snprintf(res->message, sizeof(res->message), "%s", msg);
}

/* An error of the lookup or the operation as the API would answer it. */
static void
res_from(const struct api_call *call, const char *op, const char *code,
    pca_err err, struct api_console_res *res)
{
	struct api_error e;

	memset(&e, 0, sizeof(e));
	if (err == PCA_ENOTFOUND && call->ctx == NULL) {
		res_set(res, 401, "UnrecognizedClientException",
		    "The access key of this session is no longer active.");
		return;
	}
	if (code == NULL)
		code = call->code;
	if (code != NULL) {
		e.status = 400;
		e.code = code;
		(void)snprintf(e.message, sizeof(e.message), "%s",
		    pca_err_msg());
	} else
		api_error_from(op, err, pca_err_msg(), &e);
	if (strcmp(e.code, "AccessDeniedException") == 0)
		e.status = 403;
	res_set(res, e.status, e.code, e.message);
}

pca_err
api_console_call(struct api_server *srv, const struct api_console_id *id,
    const char *ip, const char *op, const json_t *in, json_t **out,
    struct api_console_res *res)
{
	struct api_ctx *ctx;
	struct api_call call;
	const char *code = NULL;
	pca_err err;

	memset(res, 0, sizeof(*res));
	if (!read_op(op) || api_op_find(op) == NULL) {
		res_set(res, 400, "UnknownOperationException", op);
		return pca_err_set(PCA_EINVAL,
		    "console: %.80s is not a "
		    "read operation",
		    op);
	}
	ctx = api_server_ctx_hold(srv);
	pca_err_clear();
	if ((err = call_as(ctx, id, ip, &call)) == PCA_OK) {
		call.op = api_op_find(op);
		if ((err = api_shape_check(call.op, in, &code)) == PCA_OK)
			err = api_op_run(&call, in, out);
	}
	if (err != PCA_OK)
		res_from(&call, op, code, err, res);
	else
		res->status = 200;
	api_server_ctx_release(srv);
	iam_policy_free(call.parsed);
	free(call.policy);
	return err;
}

pca_err
api_console_allowed(struct api_server *srv, const struct api_console_id *id,
    const char *ip, const char *action, const char *resource,
    struct api_console_res *res)
{
	struct api_ctx *ctx;
	struct api_call call;
	struct api_authz a;
	struct api_authz_out o;
	pca_err err;

	memset(res, 0, sizeof(*res));
	ctx = api_server_ctx_hold(srv);
	if ((err = call_as(ctx, id, ip, &call)) == PCA_OK) {
		memset(&a, 0, sizeof(a));
		a.account = call.account;
		a.who = call.who;
		a.partition = ctx->partition;
		a.region = call.region;
		a.parsed = call.parsed;
		a.policy = call.policy;
		a.op = action;
		a.resource = resource;
		a.source_ip = ip;
		a.now = ctx->now();
		if ((err = api_authorize(ctx->engine, &a, &o)) == PCA_OK &&
		    o.result != API_AUTHZ_ALLOW) {
			res_set(res, 403, "AccessDeniedException", o.message);
			err = pca_err_set(PCA_EPOLICY, "%s", o.message);
		}
	}
	if (err != PCA_OK && res->status == 0)
		res_from(&call, action, NULL, err, res);
	else if (err == PCA_OK)
		res->status = 200;
	api_server_ctx_release(srv);
	iam_policy_free(call.parsed);
	free(call.policy);
	return err;
}
