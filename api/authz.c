/*
 * authz.c - who may do what, as IAM decides it (docs/iam.md): the access
 * key's identity policy, and for another account's CA that CA's resource
 * policy (spec 2.4.9).  An explicit Deny in either wins; otherwise the
 * identity policy must allow and, across accounts, the resource policy
 * too.  The judgement itself is iam/'s; this file gathers the request
 * context (CA tags, resource policy, template, source address).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "api_int.h"

#define DEFAULT_TEMPLATE "EndEntityCertificate/V1"

/* Splits arn:<partition>:acm-pca:<region>:<account>:... */
static int
arn_parts(const char *arn, char part[32], char region[64], char acct[16])
{
	const char *f[6], *p = arn;
	size_t i, n;

	for (i = 0; i < 6 && p != NULL; i++) {
		f[i] = p;
		p = i < 5 ? strchr(p, ':') : NULL;
		if (p != NULL)
			p++;
	}
	if (i < 6 || strncmp(arn, "arn:", 4) != 0)
		return 0;
	n = (size_t)(f[2] - f[1] - 1);
	if (n >= 32 || (size_t)(f[4] - f[3] - 1) >= 64 ||
	    (size_t)(f[5] - f[4] - 1) >= 16)
		return 0;
	(void)snprintf(part, 32, "%.*s", (int)n, f[1]);
	(void)snprintf(region, 64, "%.*s", (int)(f[4] - f[3] - 1), f[3]);
	(void)snprintf(acct, 16, "%.*s", (int)(f[5] - f[4] - 1), f[4]);
	return 1;
}

int
api_arn_cross(const char *arn, const char *account, const char *region,
    const char *partition, char owner[16])
{
	char part[32], reg[64], acct[16];

	if (arn == NULL || !arn_parts(arn, part, reg, acct) ||
	    strcmp(acct, account) == 0 || strcmp(reg, region) != 0 ||
	    strcmp(part, partition) != 0)
		return 0; /* the engine judges the ARN */
	memcpy(owner, acct, sizeof(acct));
	return 1;
}

int
api_policy_shares(const char *policy, const char *account)
{
	struct iam_policy *p = NULL;
	int shared;

	if (policy == NULL || iam_policy_parse(policy, strlen(policy),
				  IAM_RESOURCE, &p) != PCA_OK)
		return 0;
	shared = iam_policy_shares(p, account);
	iam_policy_free(p);
	return shared;
}

/* The request's tags: Tags [{Key, Value?}] or "k=v" strings. */
static size_t
req_tags(const struct api_authz *a, struct iam_tag *t, char (*kbuf)[129])
{
	const json_t *e;
	const char *eq;
	size_t i, n = 0;

	for (i = 0; i < json_array_size(a->tags) && n < IAM_MAX_VALUES; i++) {
		e = json_array_get(a->tags, i);
		t[n].key = json_string_value(json_object_get(e, "Key"));
		t[n].value = json_string_value(json_object_get(e, "Value"));
		if (t[n].key != NULL)
			n++;
	}
	for (i = 0; i < a->nkv && n < IAM_MAX_VALUES; i++) {
		eq = strchr(a->kv[i], '=');
		(void)snprintf(kbuf[n], 129, "%.*s",
		    (int)(eq ? (size_t)(eq - a->kv[i]) : strlen(a->kv[i])),
		    a->kv[i]);
		t[n].key = kbuf[n];
		t[n].value = eq ? eq + 1 : NULL;
		n++;
	}
	return n;
}

/* The CA's tags, for aws:ResourceTag; none when the CA is not found. */
static pca_err
res_tags(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    struct ca_tag **items, size_t *nitems, struct iam_tag *t, size_t *n)
{
	size_t i;
	pca_err err;

	*n = 0;
	err = ca_tags_get(e, c, arn, items, nitems);
	if (err == PCA_ENOTFOUND || err == PCA_EBADARN) {
		pca_err_clear();
		return PCA_OK;
	}
	if (err != PCA_OK)
		return err;
	for (i = 0; i < *nitems && *n < IAM_MAX_VALUES; i++) {
		t[*n].key = (*items)[i].key;
		t[*n].value = (*items)[i].value;
		if (t[*n].value == NULL)
			t[*n].value = "";
		if (t[*n].key != NULL)
			(*n)++;
	}
	return PCA_OK;
}

static void
message(const struct api_authz *a, const char *action, const char *res,
    const struct iam_verdict *v, struct api_authz_out *out)
{
	char on[320] = "";

	if (strcmp(res, "*") != 0)
		(void)snprintf(on, sizeof(on), " on resource: %.256s", res);
	(void)snprintf(out->message, sizeof(out->message),
	    "User: arn:%s:iam::%s:user/%.40s is not authorized to perform: "
	    "%s%s %s",
	    a->partition, a->account, a->who ? a->who : "-", action, on,
	    v->decision == IAM_EXPLICIT_DENY
		? (v->by_resource ? "with an explicit deny in a resource-based "
				    "policy"
				  : "with an explicit deny in an "
				    "identity-based policy")
		: (v->need_resource ? "because no resource-based policy "
				      "allows the action"
				    : "because no identity-based policy "
				      "allows the action"));
}

/* The policies of one call, parsed; the resource policy only across
 * accounts (NULL when none is attached). */
struct policies {
	struct iam_policy *id, *res;
	int not_shared;
};

static pca_err
policies_load(struct ca_engine *e, const struct api_authz *a,
    const struct ca_caller *owner, int cross, struct policies *p)
{
	char *text = NULL;
	pca_err err;

	memset(p, 0, sizeof(*p));
	/* iam_policy_ref only counts: the shared policy stays immutable */
	p->id = iam_policy_ref(a->parsed);
	if (p->id == NULL && a->policy != NULL &&
	    iam_policy_parse(a->policy, strlen(a->policy), IAM_IDENTITY,
		&p->id) != PCA_OK) {
		log_warnx("access key %.40s: its policy does not parse (%s); "
			  "denying",
		    a->who ? a->who : "-", pca_err_msg());
		p->id = NULL;
	}
	if (!cross)
		return PCA_OK;
	err = ca_policy_get(e, owner, a->resource, &text);
	if (err == PCA_ENOTFOUND || err == PCA_EBADARN) {
		p->not_shared = 1;
		return PCA_OK;
	}
	if (err != PCA_OK)
		return err;
	if (iam_policy_parse(text, strlen(text), IAM_RESOURCE, &p->res) !=
	    PCA_OK) {
		log_warnx("the resource policy of %.200s does not parse (%s); "
			  "not shared",
		    a->resource, pca_err_msg());
		p->res = NULL;
	}
	free(text);
	if (p->res == NULL || !iam_policy_shares(p->res, a->account))
		p->not_shared = 1;
	return PCA_OK;
}

static pca_err
action_name(const char *op, char *out, size_t outlen)
{
	if (strchr(op, ':') == NULL)
		return iam_action_of(op, out, outlen);
	if (strpbrk(op, "*?") != NULL || !iam_action_known(op))
		return pca_err_set(PCA_EINVAL, "unknown action %.80s", op);
	(void)snprintf(out, outlen, "%s", op);
	return PCA_OK;
}

static void
decide(const struct api_authz *a, const struct policies *p,
    struct iam_request *r, struct api_authz_out *out)
{
	struct iam_verdict v;

	(void)iam_decide(p->id, p->res, out->cross_account, r, &v);
	out->statement = v.match.index;
	memcpy(out->sid, v.match.sid, sizeof(out->sid));
	out->by_resource = v.by_resource;
	out->explicit_deny = v.decision == IAM_EXPLICIT_DENY;
	if (v.decision == IAM_ALLOW)
		out->result = API_AUTHZ_ALLOW;
	else if (out->cross_account && p->not_shared && !out->explicit_deny)
		out->result = API_AUTHZ_NOT_SHARED;
	else
		out->result = API_AUTHZ_DENY;
	if (out->result != API_AUTHZ_ALLOW)
		message(a, r->action, r->resource, &v, out);
}

pca_err
api_authorize(struct ca_engine *e, const struct api_authz *a,
    struct api_authz_out *out)
{
	struct iam_tag rq[IAM_MAX_VALUES], rs[IAM_MAX_VALUES];
	char kbuf[IAM_MAX_VALUES][129], action[96], tmpl[128];
	struct iam_request r;
	struct policies p;
	struct ca_caller owner;
	struct ca_tag *items = NULL;
	size_t nitems = 0;
	pca_err err;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	if ((err = action_name(a->op, action, sizeof(action))) != PCA_OK)
		return err;
	out->cross_account = api_arn_cross(a->resource, a->account, a->region,
	    a->partition, out->owner);
	owner.account = out->cross_account ? out->owner : a->account;
	owner.region = a->region;
	owner.who = a->who;
	if ((err = policies_load(e, a, &owner, out->cross_account, &p)) !=
	    PCA_OK)
		return err;
	r.account = a->account;
	r.action = action;
	r.resource = a->resource ? a->resource : "*";
	r.template_arn = a->template_arn;
	if (strcmp(action, "acm-pca:IssueCertificate") == 0 &&
	    a->template_arn == NULL) {
		(void)snprintf(tmpl, sizeof(tmpl),
		    "arn:%s:acm-pca:::template/" DEFAULT_TEMPLATE,
		    a->partition);
		r.template_arn = tmpl;
	}
	r.req_tags = rq;
	r.nreq_tags = req_tags(a, rq, kbuf);
	r.res_tags = rs;
	r.source_ip = a->source_ip;
	r.secure_transport = 1; /* the API is served over TLS only */
	r.now = a->now;
	if (a->resource != NULL &&
	    (iam_policy_uses_resource_tags(p.id) ||
		iam_policy_uses_resource_tags(p.res)) &&
	    (err = res_tags(e, &owner, a->resource, &items, &nitems, rs,
		 &r.nres_tags)) != PCA_OK)
		goto out;
	decide(a, &p, &r, out);
out:
	ca_tags_free(items, nitems);
	iam_policy_free(p.id);
	iam_policy_free(p.res);
	return err;
}

static json_t *
simulate_out(const struct api_authz_out *o)
{
	const char *reason = o->result == API_AUTHZ_ALLOW ? "allowed"
			     : o->result == API_AUTHZ_NOT_SHARED
				 ? "not shared with the caller's account"
			     : o->explicit_deny ? "explicit deny"
						: "implicit deny";

	return json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:b}", "Decision",
	    o->result == API_AUTHZ_ALLOW ? "Allow" : "Deny", "Reason", reason,
	    "Policy", o->by_resource ? "resource" : "identity", "Statement",
	    o->statement, "Sid", o->sid, "Message", o->message, "CrossAccount",
	    o->cross_account);
}

pca_err
api_key_simulate(struct store *st, struct ca_engine *e,
    const struct api_simulate *s, json_t **out)
{
	char *name = NULL, *doc = NULL, *account = NULL;
	struct api_authz a;
	struct api_authz_out o;
	json_t *j;
	pca_err err;

	if ((err = api_key_policy_get(st, s->akid, &name, &doc, &account)) !=
	    PCA_OK)
		return err;
	memset(&a, 0, sizeof(a));
	a.account = account;
	a.who = s->akid;
	a.partition = s->partition;
	a.region = s->region;
	a.policy = doc;
	a.op = s->op;
	a.resource = s->resource;
	a.template_arn = s->template_arn;
	a.kv = s->tags;
	a.nkv = s->ntags;
	a.source_ip = s->source_ip;
	a.now = util_now();
	if ((err = api_authorize(e, &a, &o)) == PCA_OK) {
		if ((j = simulate_out(&o)) == NULL)
			err = pca_err_set(PCA_ENOMEM, "no memory");
		else
			*out = j;
	}
	free(name);
	free(doc);
	free(account);
	return err;
}
