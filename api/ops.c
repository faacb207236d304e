/*
 * ops.c - the 23 ACM-PCA operations: each takes the validated request
 * object, asks the engine and shapes the output object.  Cross-account
 * callers reach a CA only through its resource policy (spec 2.4.9).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "api_int.h"

#define ACCESS_DENIED "AccessDeniedException"

static const char *
str(const json_t *in, const char *member)
{
	return json_string_value(json_object_get(in, member));
}

/* Base64 blob member decoded (already validated by shape.c). */
static pca_err
blob(const json_t *in, const char *member, uint8_t **out, size_t *len)
{
	const json_t *v = json_object_get(in, member);

	*out = NULL;
	*len = 0;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return PCA_OK;
	return util_b64_decode(json_string_value(v), json_string_length(v),
	    LIM_API_BODY, out, len);
}

static pca_err
denied(struct api_call *call, const char *why, const char *what)
{
	call->code = ACCESS_DENIED;
	return pca_err_set(PCA_EPOLICY, "%s: %.200s", why, what);
}

static const char *const acm_templates[] = {"EndEntityCertificate/V1",
    "EndEntityClientAuthCertificate/V1", "EndEntityServerAuthCertificate/V1",
    "BlankEndEntityCertificate_APICSRPassthrough/V1", NULL};

static int
acm_template_ok(const char *tarn)
{
	const char *t = tarn ? strstr(tarn, ":template/") : NULL;
	int i;

	if (tarn == NULL)
		return 1; /* the default, EndEntityCertificate/V1 */
	for (i = 0; t != NULL && acm_templates[i] != NULL; i++)
		if (strcmp(t + 10, acm_templates[i]) == 0)
			return 1;
	return 0;
}

/*
 * The caller the engine sees for arn: the signer for its own CAs; the
 * owner account for a CA of another account (api_op_run has authorized
 * the call against its resource policy already).  tmpl: the TemplateArn
 * of an issuance.
 */
static pca_err
scope(struct api_call *call, const char *arn, const char *tmpl,
    struct ca_caller *eff, char *who, size_t wholen)
{
	char acct[16];

	*eff = call->caller;
	if (!api_arn_cross(arn, call->caller.account, call->caller.region,
		call->ctx->partition, acct))
		return PCA_OK; /* the engine judges the ARN */
	if (strcmp(call->op->name, "IssueCertificate") == 0 &&
	    !acm_template_ok(tmpl))
		return denied(call,
		    "Cross-account issuance may not use the "
		    "template",
		    tmpl);
	(void)snprintf(who, wholen, "%s@%s", call->who, call->caller.account);
	(void)snprintf(call->owner, sizeof(call->owner), "%s", acct);
	eff->account = call->owner;
	eff->who = who;
	return PCA_OK;
}

/* clang-format off */
#define SCOPE(call, arn, tmpl, eff)                                        \
	char who_[192];                                                    \
	struct ca_caller eff;                                              \
	pca_err err = scope(call, arn, tmpl, &eff, who_, sizeof(who_));    \
	if (err != PCA_OK)                                                 \
		return err
/* clang-format on */

static pca_err
out_str(json_t **out, const char *k1, char *v1, const char *k2, char *v2)
{
	json_t *o = json_object();

	if (o == NULL || (v1 && json_object_set_new(o, k1, json_string(v1))) ||
	    (v2 && json_object_set_new(o, k2, json_string(v2)))) {
		json_decref(o);
		free(v1);
		free(v2);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	free(v1);
	free(v2);
	*out = o;
	return PCA_OK;
}

static pca_err
out_empty(json_t **out)
{
	*out = json_object();
	return *out ? PCA_OK : pca_err_set(PCA_ENOMEM, "no memory");
}

/* ---- tags and permissions: JSON to the engine's structs and back ---- */

/* A request's Tags as the engine takes them (strings borrowed from arr). */
static pca_err
tags_in(const json_t *arr, struct ca_tag **out, size_t *n)
{
	size_t i, k = json_array_size(arr);
	struct ca_tag *v = calloc(k + 1, sizeof(*v));
	const json_t *t, *val;

	if (v == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (i = 0; i < k; i++) {
		t = json_array_get(arr, i);
		val = json_object_get(t, "Value");
		v[i].key = json_string_value(json_object_get(t, "Key"));
		v[i].value =
		    json_is_string(val) ? json_string_value(val) : NULL;
	}
	*out = v;
	*n = k;
	return PCA_OK;
}

/* [{Key, Value?}] */
static pca_err
tags_out(const struct ca_tag *v, size_t n, json_t **out)
{
	json_t *a = json_array(), *o;
	size_t i;

	for (i = 0; a != NULL && i < n; i++) {
		o = v[i].value != NULL ? json_pack("{s:s,s:s}", "Key", v[i].key,
					     "Value", v[i].value)
				       : json_pack("{s:s}", "Key", v[i].key);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	if (a == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	*out = a;
	return PCA_OK;
}

/* [{Actions, CreatedAt, Principal, SourceAccount, CertificateAuthorityArn,
 * Policy}], members in the order ACM-PCA clients have seen from us. */
static pca_err
perms_out(const char *arn, const struct ca_perm *v, size_t n, json_t **out)
{
	json_t *a = json_array(), *acts, *o;
	size_t i, k;

	for (i = 0; a != NULL && i < n; i++) {
		acts = json_array();
		for (k = 0; acts != NULL && k < v[i].nactions; k++)
			if (json_array_append_new(acts,
				json_string(v[i].actions[k])) != 0) {
				json_decref(acts);
				acts = NULL;
			}
		o = acts == NULL
			? NULL
			: json_pack("{s:o,s:I,s:s,s:s,s:s,s:s}", "Actions",
			      acts, "CreatedAt", (json_int_t)v[i].created_at,
			      "Principal", v[i].principal, "SourceAccount",
			      v[i].source_account, "CertificateAuthorityArn",
			      arn, "Policy", v[i].policy);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	if (a == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	*out = a;
	return PCA_OK;
}

/* ---- CA lifecycle ---- */

static pca_err
op_create(struct api_call *call, const json_t *in, json_t **out)
{
	char *arn = NULL;
	struct ca_tag *tags = NULL;
	size_t ntags = 0;
	pca_err err;

	if ((err = tags_in(json_object_get(in, "Tags"), &tags, &ntags)) !=
	    PCA_OK)
		return err;
	err = ca_tags_check(tags, ntags);
	free(tags);
	if (err != PCA_OK) {
		call->code = "InvalidTagException";
		return err;
	}
	if ((err = ca_create(call->ctx->engine, &call->caller, in, &arn)) !=
	    PCA_OK)
		return err;
	return out_str(out, "CertificateAuthorityArn", arn, NULL, NULL);
}

static pca_err
op_describe(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	json_t *d;
	SCOPE(call, arn, NULL, eff);

	if ((err = ca_describe(call->ctx->engine, &eff, arn, &d)) != PCA_OK)
		return err;
	if ((*out = json_pack("{s:o}", "CertificateAuthority", d)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	return PCA_OK;
}

static pca_err
op_csr(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	char *pem;
	SCOPE(call, arn, NULL, eff);

	if ((err = ca_csr_get(call->ctx->engine, &eff, arn, &pem)) != PCA_OK)
		return err;
	return out_str(out, "Csr", pem, NULL, NULL);
}

static pca_err
op_import(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	uint8_t *cert = NULL, *chain = NULL;
	size_t cert_len, chain_len;
	SCOPE(call, arn, NULL, eff);

	if ((err = blob(in, "Certificate", &cert, &cert_len)) == PCA_OK &&
	    (err = blob(in, "CertificateChain", &chain, &chain_len)) == PCA_OK)
		err = ca_import_cert(call->ctx->engine, &eff, arn, cert,
		    cert_len, chain, chain_len);
	free(cert);
	free(chain);
	return err == PCA_OK ? out_empty(out) : err;
}

static pca_err
op_update(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	SCOPE(call, arn, NULL, eff);

	if ((err = ca_update(call->ctx->engine, &eff, arn, str(in, "Status"),
		 json_object_get(in, "RevocationConfiguration"))) != PCA_OK)
		return err;
	return out_empty(out);
}

static pca_err
op_delete(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	int days = (int)json_integer_value(
	    json_object_get(in, "PermanentDeletionTimeInDays"));
	SCOPE(call, arn, NULL, eff);

	if ((err = ca_delete(call->ctx->engine, &eff, arn, days)) != PCA_OK)
		return err;
	return out_empty(out);
}

static pca_err
op_restore(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	SCOPE(call, arn, NULL, eff);

	if ((err = ca_restore(call->ctx->engine, &eff, arn)) != PCA_OK)
		return err;
	return out_empty(out);
}

/* ---- certificates ---- */

static pca_err
op_issue(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	const json_t *val = json_object_get(in, "Validity");
	const json_t *nb = json_object_get(in, "ValidityNotBefore");
	struct ca_issue_req r;
	uint8_t *csr = NULL;
	char *cert_arn = NULL;
	SCOPE(call, arn, str(in, "TemplateArn"), eff);

	memset(&r, 0, sizeof(r));
	if ((err = blob(in, "Csr", &csr, &r.csr_len)) != PCA_OK)
		return err;
	r.ca_arn = arn;
	r.csr = csr;
	r.signing_algorithm = str(in, "SigningAlgorithm");
	r.template_arn = str(in, "TemplateArn");
	r.validity_type = str(val, "Type");
	r.validity_value = json_integer_value(json_object_get(val, "Value"));
	if (nb != NULL && !json_is_null(nb)) {
		r.not_before_type = str(nb, "Type");
		r.not_before_value =
		    json_integer_value(json_object_get(nb, "Value"));
	}
	r.api_passthrough = json_object_get(in, "ApiPassthrough");
	r.idempotency_token = str(in, "IdempotencyToken");
	r.requester_account = call->caller.account; /* scopes the token */
	err = ca_issue(call->ctx->engine, &eff, &r, &cert_arn);
	free(csr);
	if (err != PCA_OK)
		return err;
	return out_str(out, "CertificateArn", cert_arn, NULL, NULL);
}

static pca_err
op_get_cert(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	char *pem = NULL, *chain = NULL;
	SCOPE(call, arn, NULL, eff);

	if ((err = ca_cert_get(call->ctx->engine, &eff, arn,
		 str(in, "CertificateArn"), &pem, &chain)) != PCA_OK)
		return err;
	return out_str(out, "Certificate", pem, "CertificateChain", chain);
}

static pca_err
op_get_cacert(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	char *pem = NULL, *chain = NULL;
	SCOPE(call, arn, NULL, eff);

	if ((err = ca_cacert_get(call->ctx->engine, &eff, arn, &pem, &chain)) !=
	    PCA_OK)
		return err;
	return out_str(out, "Certificate", pem, "CertificateChain", chain);
}

static pca_err
op_revoke(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	SCOPE(call, arn, NULL, eff);

	if ((err = ca_revoke(call->ctx->engine, &eff, arn,
		 str(in, "CertificateSerial"), str(in, "RevocationReason"))) !=
	    PCA_OK)
		return err;
	return out_empty(out);
}

/* ---- audit reports: they live in S3, which is not wired up yet ---- */

static pca_err
audit_ca(struct api_call *call, const json_t *in, const struct ca_caller *c)
{
	static const char *const ok[] = {"ACTIVE", "DISABLED", "EXPIRED", NULL};
	json_t *d;
	const char *st;
	int i;
	pca_err err;

	if ((err = ca_describe(call->ctx->engine, c,
		 str(in, "CertificateAuthorityArn"), &d)) != PCA_OK)
		return err;
	st = json_string_value(json_object_get(d, "Status"));
	for (i = 0; ok[i] != NULL && strcmp(ok[i], st ? st : "") != 0; i++)
		;
	if (ok[i] == NULL && strcmp(call->op->name,
				 "CreateCertificateAuthorityAuditReport") == 0)
		err = pca_err_set(PCA_ESTATE,
		    "Audit reports need an ACTIVE, DISABLED or EXPIRED "
		    "certificate authority; %s is %s",
		    str(in, "CertificateAuthorityArn"), st ? st : "?");
	json_decref(d);
	return err;
}

static pca_err
op_audit_create(struct api_call *call, const json_t *in, json_t **out)
{
	const struct api_services *h = &call->ctx->svc;
	char uuid[37], id[37], *key = NULL;
	SCOPE(call, str(in, "CertificateAuthorityArn"), NULL, eff);

	if ((err = audit_ca(call, in, &eff)) != PCA_OK)
		return err;
	if (h->audit_create == NULL) {
		call->code = "RequestFailedException";
		return pca_err_set(PCA_EUNSUPPORTED,
		    "Audit reports are written to S3, and no S3 endpoint is "
		    "configured on this appliance: no report was created for "
		    "bucket %.63s",
		    str(in, "S3BucketName"));
	}
	if ((err = ca_arn_uuid(str(in, "CertificateAuthorityArn"), uuid)) !=
		PCA_OK ||
	    (err = h->audit_create(h->arg, uuid, str(in, "S3BucketName"),
		 str(in, "AuditReportResponseFormat"), id, &key)) != PCA_OK)
		return err;
	return out_str(out, "AuditReportId", strdup(id), "S3Key", key);
}

static pca_err
op_audit_describe(struct api_call *call, const json_t *in, json_t **out)
{
	const struct api_services *h = &call->ctx->svc;
	char uuid[37];
	SCOPE(call, str(in, "CertificateAuthorityArn"), NULL, eff);

	if ((err = audit_ca(call, in, &eff)) != PCA_OK)
		return err;
	if (h->audit_describe == NULL ||
	    ca_arn_uuid(str(in, "CertificateAuthorityArn"), uuid) != PCA_OK)
		return pca_err_set(PCA_ENOTFOUND,
		    "Audit report %s does not exist for %s",
		    str(in, "AuditReportId"),
		    str(in, "CertificateAuthorityArn"));
	return h->audit_describe(h->arg, uuid, str(in, "AuditReportId"), out);
}

/*
 * OpenPCA.GetComplianceReport (admin, auditor): the monitor's report over
 * the caller's CAs in the caller's region.
 */
static pca_err
op_report(struct api_call *call, const json_t *in, json_t **out)
{
	const struct api_services *h = &call->ctx->svc;
	char scope[64];

	(void)in;
	if (h->report == NULL)
		return pca_err_set(PCA_EUNAVAIL, "the compliance report is not "
						 "available");
	(void)snprintf(scope, sizeof(scope), ":%s:%s:certificate-authority/",
	    call->caller.region, call->caller.account);
	return h->report(h->arg, scope, out);
}

/* ---- tags, policies, permissions ---- */

static pca_err
op_tag(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	SCOPE(call, arn, NULL, eff);

	struct ca_tag *tags = NULL;
	size_t n = 0;

	if ((err = tags_in(json_object_get(in, "Tags"), &tags, &n)) != PCA_OK)
		return err;
	err = ca_tags_add(call->ctx->engine, &eff, arn, tags, n);
	free(tags);
	if (err != PCA_OK)
		return err;
	return out_empty(out);
}

static pca_err
op_untag(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	SCOPE(call, arn, NULL, eff);

	struct ca_tag *tags = NULL;
	size_t n = 0;

	if ((err = tags_in(json_object_get(in, "Tags"), &tags, &n)) != PCA_OK)
		return err;
	err = ca_tags_remove(call->ctx->engine, &eff, arn, tags, n);
	free(tags);
	if (err != PCA_OK)
		return err;
	return out_empty(out);
}

static pca_err
op_put_policy(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "ResourceArn");
	const char *text = str(in, "Policy");
	struct iam_policy *pol = NULL;
	SCOPE(call, arn, NULL, eff);

	/* what the evaluator will read, checked before it is stored */
	if (text != NULL && (err = iam_policy_parse(text, strlen(text),
				 IAM_RESOURCE, &pol)) != PCA_OK)
		return pca_err_set(PCA_EPOLICY,
		    "The resource policy is invalid: %s", pca_err_msg());
	iam_policy_free(pol);
	if ((err = ca_policy_put(call->ctx->engine, &eff, arn, text)) != PCA_OK)
		return err;
	return out_empty(out);
}

static pca_err
op_get_policy(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "ResourceArn");
	char *pol;
	SCOPE(call, arn, NULL, eff);

	if ((err = ca_policy_get(call->ctx->engine, &eff, arn, &pol)) != PCA_OK)
		return err;
	return out_str(out, "Policy", pol, NULL, NULL);
}

static pca_err
op_delete_policy(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "ResourceArn");
	SCOPE(call, arn, NULL, eff);

	if ((err = ca_policy_delete(call->ctx->engine, &eff, arn)) != PCA_OK)
		return err;
	return out_empty(out);
}

static pca_err
op_perm_create(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	SCOPE(call, arn, NULL, eff);

	const json_t *acts = json_object_get(in, "Actions");
	size_t i, n = json_array_size(acts);
	const char **v = calloc(n + 1, sizeof(*v));

	if (v == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(acts, i));
	err = ca_perm_create(call->ctx->engine, &eff, arn, str(in, "Principal"),
	    str(in, "SourceAccount"), v, n);
	free(v);
	if (err != PCA_OK)
		return err;
	return out_empty(out);
}

static pca_err
op_perm_delete(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	SCOPE(call, arn, NULL, eff);

	if ((err = ca_perm_delete(call->ctx->engine, &eff, arn,
		 str(in, "Principal"), str(in, "SourceAccount"))) != PCA_OK)
		return err;
	return out_empty(out);
}

/* ---- pagination ---- */

struct page {
	const char *scope;  /* what the token is bound to */
	const char *member; /* output list member */
	size_t cap;         /* largest page */
	void (*key)(const json_t *item, char *out, size_t outlen);
};

/*
 * Emits the page of items (sorted by key) after the request's NextToken:
 * at most min(MaxResults, cap) of them, and a NextToken only when more
 * remain.
 */
static pca_err
paginate(struct api_call *call, const json_t *in, const json_t *items,
    const struct page *pg, json_t **out)
{
	const char *tok = str(in, "NextToken");
	json_int_t max = json_integer_value(json_object_get(in, "MaxResults"));
	size_t n = json_array_size(items), i = 0, page;
	char *last = NULL, key[512], *next = NULL;
	json_t *o, *list;
	pca_err err;

	page = max > 0 ? (size_t)max : API_PAGE_DEFAULT;
	if (page > pg->cap)
		page = pg->cap;
	if (tok != NULL) {
		if ((err = api_token_open(call->ctx->token_key, call->op->name,
			 pg->scope, tok, &last)) != PCA_OK) {
			call->code = "InvalidNextTokenException";
			return err;
		}
		for (; i < n; i++) {
			pg->key(json_array_get(items, i), key, sizeof(key));
			if (strcmp(key, last) > 0)
				break;
		}
		free(last);
	}
	if ((o = json_object()) == NULL || (list = json_array()) == NULL ||
	    json_object_set_new(o, pg->member, list) != 0) {
		json_decref(o);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	for (page += i; i < n && i < page; i++)
		json_array_append(list, json_array_get(items, i));
	if (i < n) {
		pg->key(json_array_get(items, i - 1), key, sizeof(key));
		if ((err = api_token_make(call->ctx->token_key, call->op->name,
			 pg->scope, key, &next)) != PCA_OK) {
			json_decref(o);
			return err;
		}
		json_object_set_new(o, "NextToken", json_string(next));
		free(next);
	}
	*out = o;
	return PCA_OK;
}

static void
key_ca(const json_t *ca, char *out, size_t outlen)
{
	(void)snprintf(out, outlen, "%020lld|%s",
	    (long long)json_integer_value(json_object_get(ca, "CreatedAt")),
	    json_string_value(json_object_get(ca, "Arn")) ?: "");
}

static void
key_tag(const json_t *t, char *out, size_t outlen)
{
	(void)snprintf(out, outlen, "%s",
	    json_string_value(json_object_get(t, "Key")) ?: "");
}

static void
key_perm(const json_t *p, char *out, size_t outlen)
{
	(void)snprintf(out, outlen, "%s|%s",
	    json_string_value(json_object_get(p, "Principal")) ?: "",
	    json_string_value(json_object_get(p, "SourceAccount")) ?: "");
}

static int
shared_with(const char *policy, void *arg)
{
	const struct api_call *call = arg;

	return api_policy_shares(policy, call->caller.account);
}

static pca_err
op_list_cas(struct api_call *call, const json_t *in, json_t **out)
{
	const char *owner = str(in, "ResourceOwner");
	int others = owner != NULL && strcmp(owner, "OTHER_ACCOUNTS") == 0;
	char scope_s[128];
	struct page pg = {scope_s, "CertificateAuthorities", API_PAGE_MAX,
	    key_ca};
	json_t *items = NULL;
	pca_err err;

	(void)snprintf(scope_s, sizeof(scope_s), "%s|%s|%s",
	    call->caller.account, call->caller.region,
	    others ? "OTHER_ACCOUNTS" : "SELF");
	if (others)
		err = ca_list_shared(call->ctx->engine, &call->caller,
		    shared_with, call, &items);
	else
		err = ca_list(call->ctx->engine, &call->caller, &items);
	if (err != PCA_OK)
		return err;
	err = paginate(call, in, items, &pg, out);
	json_decref(items);
	return err;
}

static pca_err
op_list_tags(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	struct page pg = {arn, "Tags", SIZE_MAX, key_tag};
	json_t *items = NULL;
	struct ca_tag *tags = NULL;
	size_t n = 0;
	SCOPE(call, arn, NULL, eff);

	if ((err = ca_tags_get(call->ctx->engine, &eff, arn, &tags, &n)) !=
	    PCA_OK)
		return err;
	err = tags_out(tags, n, &items);
	ca_tags_free(tags, n);
	if (err != PCA_OK)
		return err;
	err = paginate(call, in, items, &pg, out);
	json_decref(items);
	return err;
}

static pca_err
op_list_perms(struct api_call *call, const json_t *in, json_t **out)
{
	const char *arn = str(in, "CertificateAuthorityArn");
	struct page pg = {arn, "Permissions", SIZE_MAX, key_perm};
	json_t *items = NULL;
	struct ca_perm *perms = NULL;
	size_t n = 0;
	SCOPE(call, arn, NULL, eff);

	if ((err = ca_perm_list(call->ctx->engine, &eff, arn, &perms, &n)) !=
	    PCA_OK)
		return err;
	err = perms_out(arn, perms, n, &items);
	ca_perm_list_free(perms, n);
	if (err != PCA_OK)
		return err;
	err = paginate(call, in, items, &pg, out);
	json_decref(items);
	return err;
}

/* ---- the table ---- */

static const struct {
	const char *name;
	pca_err (*fn)(struct api_call *, const json_t *, json_t **);
} handlers[] = {
    {"CreateCertificateAuthority", op_create},
    {"CreateCertificateAuthorityAuditReport", op_audit_create},
    {"CreatePermission", op_perm_create},
    {"DeleteCertificateAuthority", op_delete},
    {"DeletePermission", op_perm_delete},
    {"DeletePolicy", op_delete_policy},
    {"DescribeCertificateAuthority", op_describe},
    {"DescribeCertificateAuthorityAuditReport", op_audit_describe},
    {"GetCertificate", op_get_cert},
    {"GetCertificateAuthorityCertificate", op_get_cacert},
    {"GetCertificateAuthorityCsr", op_csr},
    {"GetComplianceReport", op_report},
    {"GetExternalCertificate", api_op_get_ext_cert},
    {"GetPolicy", op_get_policy},
    {"ImportCertificateAuthorityCertificate", op_import},
    {"IssueCertificate", op_issue},
    {"ListCertificateAuthorities", op_list_cas},
    {"ListCertificates", api_op_list_certs},
    {"ListPermissions", op_list_perms},
    {"ListTags", op_list_tags},
    {"PutPolicy", op_put_policy},
    {"RestoreCertificateAuthority", op_restore},
    {"RevokeCertificate", op_revoke},
    {"RotateCertificateAuthority", api_op_rotate},
    {"TagCertificateAuthority", op_tag},
    {"UntagCertificateAuthority", op_untag},
    {"UpdateCertificateAuthority", op_update},
    {"ListApprovals", api_op_list_approvals},
    {"ApproveRequest", api_op_approve},
    {"DenyRequest", api_op_deny},
};

/*
 * IAM's judgement of the call (authz.c): the key's policy and, across
 * accounts, the CA's resource policy.  The resource is the CA the request
 * names (CertificateAuthorityArn or ResourceArn), else "*".
 */
static pca_err
authorize(struct api_call *call, const json_t *in)
{
	const char *op = call->op->name;
	struct api_authz a;
	struct api_authz_out o;
	pca_err err;

	memset(&a, 0, sizeof(a));
	a.account = call->caller.account;
	a.who = call->who;
	a.partition = call->ctx->partition;
	a.region = call->caller.region;
	a.parsed = call->parsed;
	a.policy = call->policy;
	a.op = op;
	a.resource = str(in, "CertificateAuthorityArn");
	if (a.resource == NULL)
		a.resource = str(in, "ResourceArn");
	if (strcmp(op, "IssueCertificate") == 0)
		a.template_arn = str(in, "TemplateArn");
	if (strcmp(op, "CreateCertificateAuthority") == 0 ||
	    strcmp(op, "TagCertificateAuthority") == 0 ||
	    strcmp(op, "UntagCertificateAuthority") == 0)
		a.tags = json_object_get(in, "Tags");
	a.source_ip = call->source_ip[0] != '\0' ? call->source_ip : NULL;
	a.now = call->ctx->now();
	if ((err = api_authorize(call->ctx->engine, &a, &o)) != PCA_OK)
		return err;
	if (o.result == API_AUTHZ_NOT_SHARED)
		return pca_err_set(PCA_EBADARN,
		    "ARN '%.160s' is not in account %s", a.resource,
		    call->caller.account);
	if (o.result == API_AUTHZ_DENY) {
		call->code = ACCESS_DENIED;
		if (call->ctx->svc.denied != NULL)
			call->ctx->svc.denied(call->ctx->svc.denied_arg,
			    call->who, op);
		return pca_err_set(PCA_EPOLICY, "%s", o.message);
	}
	return PCA_OK;
}

pca_err
api_op_run(struct api_call *call, const json_t *in, json_t **out)
{
	size_t i;
	pca_err err;

	struct api_approval_run ap;

	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (strcmp(handlers[i].name, call->op->name) == 0) {
			if ((err = authorize(call, in)) != PCA_OK ||
			    (err = api_approval_gate(call, in, &ap)) != PCA_OK)
				return err;
			if (ap.result != NULL) {
				*out = ap.result;
				return PCA_OK;
			}
			err = handlers[i].fn(call, in, out);
			api_approval_done(call, &ap, err,
			    err == PCA_OK ? *out : NULL);
			return err;
		}
	return pca_err_set(PCA_EINTERNAL, "operation %s has no handler",
	    call->op->name);
}
