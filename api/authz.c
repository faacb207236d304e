/*
 * authz.c - who may do what: the role of an access key, and the resource
 * policy of a CA for callers of another account (spec 2.4.9).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api_int.h"

static const char *const issuer_ops[] = {"IssueCertificate", "GetCertificate",
    "GetCertificateAuthorityCertificate", "GetCertificateAuthorityCsr",
    "DescribeCertificateAuthority", "DescribeCertificateAuthorityAuditReport",
    "ListCertificateAuthorities", "ListTags", "ListPermissions", NULL};

static int
in_list(const char *const *l, const char *s)
{
	for (; *l != NULL; l++)
		if (strcmp(*l, s) == 0)
			return 1;
	return 0;
}

int
api_role_allows(enum api_role role, const char *op)
{
	switch (role) {
	case API_ROLE_ADMIN:
		return 1;
	case API_ROLE_ISSUER:
		return in_list(issuer_ops, op);
	case API_ROLE_AUDITOR:
		return strncmp(op, "Describe", 8) == 0 ||
		       strncmp(op, "Get", 3) == 0 ||
		       strncmp(op, "List", 4) == 0;
	case API_ROLE_NONE:
		break;
	}
	return 0;
}

/* Glob with * and ? (IAM wildcards); fold: case-insensitive. */
static int
glob(const char *p, const char *s, int fold)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p != '\0' &&
			   (*p == '?' || *p == *s ||
			       (fold && tolower((unsigned char)*p) ==
					    tolower((unsigned char)*s)))) {
			p++, s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++resume;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* True when a string or any string of an array satisfies match(arg). */
static int
any_of(
    const json_t *v, int (*match)(const char *, const void *), const void *arg)
{
	size_t i;

	if (json_is_string(v))
		return match(json_string_value(v), arg);
	for (i = 0; json_is_array(v) && i < json_array_size(v); i++)
		if (json_is_string(json_array_get(v, i)) &&
		    match(json_string_value(json_array_get(v, i)), arg))
			return 1;
	return 0;
}

static int
principal_is(const char *p, const void *arg)
{
	const char *account = arg, *c;

	if (strcmp(p, "*") == 0 || strcmp(p, account) == 0)
		return 1;
	/* arn:<partition>:iam::<account>:<root|user/...|role/...> */
	if (strncmp(p, "arn:", 4) != 0 || (c = strstr(p, ":iam::")) == NULL)
		return 0;
	c += 6;
	return strncmp(c, account, 12) == 0 && c[12] == ':';
}

static int
principal_match(const json_t *pr, const char *account)
{
	if (json_is_string(pr))
		return strcmp(json_string_value(pr), "*") == 0;
	return any_of(json_object_get(pr, "AWS"), principal_is, account);
}

static int
action_is(const char *pat, const void *action)
{
	return glob(pat, action, 1);
}

static int
resource_is(const char *pat, const void *res)
{
	return glob(pat, res, 0);
}

static int
equals(const char *pat, const void *v)
{
	return strcmp(pat, v) == 0;
}

/*
 * The Condition block: StringEquals / StringLike on acm-pca:TemplateArn are
 * understood; anything else makes the statement not apply to an Allow and
 * apply to a Deny (the safe side of both).
 */
static int
condition_holds(const json_t *cond, const char *template_arn, int deny)
{
	const char *opname, *key;
	const json_t *block, *vals;

	if (cond == NULL)
		return 1;
	if (!json_is_object(cond))
		return deny;
	json_object_foreach((json_t *)cond, opname, block)
	{
		int like = strcmp(opname, "StringLike") == 0;
		if ((!like && strcmp(opname, "StringEquals") != 0) ||
		    !json_is_object(block))
			return deny;
		json_object_foreach((json_t *)block, key, vals)
		{
			if (strcasecmp(key, "acm-pca:TemplateArn") != 0)
				return deny;
			if (template_arn == NULL ||
			    !any_of(vals, like ? resource_is : equals,
				template_arn))
				return 0;
		}
	}
	return 1;
}

struct eval {
	const char *account, *action, *resource, *template_arn;
	int named, allow, deny;
};

static void
eval_statement(const json_t *st, struct eval *ev)
{
	const char *effect = json_string_value(json_object_get(st, "Effect"));
	const json_t *res = json_object_get(st, "Resource");
	int deny;

	if (effect == NULL ||
	    !principal_match(json_object_get(st, "Principal"), ev->account))
		return;
	deny = strcmp(effect, "Deny") == 0;
	if (!deny && strcmp(effect, "Allow") != 0)
		return;
	if (!deny)
		ev->named = 1;
	if (!any_of(json_object_get(st, "Action"), action_is, ev->action) ||
	    (res != NULL && !any_of(res, resource_is, ev->resource)) ||
	    !condition_holds(
		json_object_get(st, "Condition"), ev->template_arn, deny))
		return;
	if (deny)
		ev->deny = 1;
	else
		ev->allow = 1;
}

enum api_policy_verdict
api_policy_eval(const char *policy, const char *account, const char *action,
    const char *resource, const char *template_arn)
{
	struct eval ev = {account, action, resource, template_arn, 0, 0, 0};
	json_t *p = policy ? json_loads(policy, 0, NULL) : NULL;
	const json_t *st;
	size_t i;

	st = json_object_get(p, "Statement");
	if (json_is_object(st))
		eval_statement(st, &ev);
	for (i = 0; json_is_array(st) && i < json_array_size(st); i++)
		if (json_is_object(json_array_get(st, i)))
			eval_statement(json_array_get(st, i), &ev);
	json_decref(p);
	if (!ev.named)
		return API_POLICY_NOT_SHARED;
	return ev.allow && !ev.deny ? API_POLICY_ALLOW : API_POLICY_DENY;
}
