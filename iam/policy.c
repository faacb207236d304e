/*
 * policy.c - parsing and validating a policy document into its compiled
 * form.  Every rejection names the place ("Statement[1].Condition: unknown
 * operator StringEqualz") so the author can fix it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/limits.h"
#include "iam_int.h"

#define PLACE_MAX 160

static const struct {
	const char *name;
	enum iam_op op;
} ops[] = {
    {"StringEquals", IAM_OP_STR_EQ},
    {"StringNotEquals", IAM_OP_STR_NE},
    {"StringEqualsIgnoreCase", IAM_OP_STR_EQ_CI},
    {"StringNotEqualsIgnoreCase", IAM_OP_STR_NE_CI},
    {"StringLike", IAM_OP_STR_LIKE},
    {"StringNotLike", IAM_OP_STR_NOTLIKE},
    {"ArnEquals", IAM_OP_ARN_EQ},
    {"ArnNotEquals", IAM_OP_ARN_NE},
    {"ArnLike", IAM_OP_ARN_LIKE},
    {"ArnNotLike", IAM_OP_ARN_NOTLIKE},
    {"Bool", IAM_OP_BOOL},
    {"Null", IAM_OP_NULL},
    {"IpAddress", IAM_OP_IP},
    {"NotIpAddress", IAM_OP_NOTIP},
    {"DateEquals", IAM_OP_DATE_EQ},
    {"DateNotEquals", IAM_OP_DATE_NE},
    {"DateLessThan", IAM_OP_DATE_LT},
    {"DateLessThanEquals", IAM_OP_DATE_LE},
    {"DateGreaterThan", IAM_OP_DATE_GT},
    {"DateGreaterThanEquals", IAM_OP_DATE_GE},
};

#define N_OPS (sizeof(ops) / sizeof(ops[0]))

static int
op_is_string(enum iam_op op)
{
	return op >= IAM_OP_STR_EQ && op <= IAM_OP_STR_NOTLIKE;
}

static int
op_is_arn(enum iam_op op)
{
	return op >= IAM_OP_ARN_EQ && op <= IAM_OP_ARN_NOTLIKE;
}

static int
op_is_date(enum iam_op op)
{
	return op >= IAM_OP_DATE_EQ && op <= IAM_OP_DATE_GE;
}

/* ---- small helpers ---- */

static pca_err bad(const char *place, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static pca_err
bad(const char *place, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pca_err_set(PCA_EINVAL, "%s: %s", place, msg);
}

static void
placef(char out[PLACE_MAX], const char *base, size_t i)
{
	char tail[64];

	int n = snprintf(tail, sizeof(tail), "[%zu]", i);

	if (n < 0 || snprintf(out, PLACE_MAX, "%s%s", base, tail) < 0)
		out[0] = '\0';
}

static void
placek(char out[PLACE_MAX], const char *base, const char *key)
{
	if (snprintf(out, PLACE_MAX, "%s.%.80s", base, key) < 0)
		out[0] = '\0';
}

/* A string of a policy: bounded, no policy variables. */
static pca_err
str_check(const json_t *v, const char *place, const char **out)
{
	const char *s;

	if (!json_is_string(v))
		return pca_err_set(PCA_EINVAL, "%s: must be a string", place);
	s = json_string_value(v);
	if (json_string_length(v) == 0 ||
	    json_string_length(v) > IAM_MAX_STRING)
		return pca_err_set(PCA_EINVAL, "%s: must be 1 to %d characters",
		    place, IAM_MAX_STRING);
	if (strlen(s) != json_string_length(v))
		return pca_err_set(PCA_EINVAL, "%s: contains a NUL", place);
	if (strstr(s, "${") != NULL)
		return bad(place,
		    "policy variables such as '%.60s' are not supported", s);
	*out = s;
	return PCA_OK;
}

/* A string or a non-empty array of strings into a new array. */
static pca_err
str_list(const json_t *v, const char *place, const char ***out, size_t *n)
{
	char p[PLACE_MAX];
	const char **l;
	size_t i, cnt;
	pca_err err;

	if (json_is_string(v))
		cnt = 1;
	else if (json_is_array(v))
		cnt = json_array_size(v);
	else
		return pca_err_set(PCA_EINVAL,
		    "%s: must be a string or an array of strings", place);
	if (cnt == 0)
		return pca_err_set(PCA_EINVAL, "%s: must not be empty", place);
	if (cnt > IAM_MAX_VALUES)
		return pca_err_set(PCA_ETOOBIG, "%s: more than %d values",
		    place, IAM_MAX_VALUES);
	if ((l = calloc(cnt, sizeof(*l))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (i = 0; i < cnt; i++) {
		if (json_is_string(v))
			err = str_check(v, place, &l[i]);
		else {
			placef(p, place, i);
			err = str_check(json_array_get(v, i), p, &l[i]);
		}
		if (err != PCA_OK) {
			free(l);
			return err;
		}
	}
	*out = l;
	*n = cnt;
	return PCA_OK;
}

/* ---- Action, Resource, Principal ---- */

static pca_err
actions_check(const char **a, size_t n, const char *place)
{
	char p[PLACE_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		if (n > 1)
			placef(p, place, i);
		else
			(void)snprintf(p, sizeof(p), "%s", place);
		if (strcmp(a[i], "*") == 0)
			continue;
		if (strncasecmp(a[i], "acm-pca:", 8) != 0 &&
		    strncasecmp(a[i], "openpca:", 8) != 0)
			return bad(p,
			    "'%.80s' is not an acm-pca: or openpca: action",
			    a[i]);
		if (!iam_action_known(a[i]))
			return bad(p,
			    strpbrk(a[i], "*?") ? "'%.80s' matches no action"
						: "unknown action %.80s",
			    a[i]);
	}
	return PCA_OK;
}

static pca_err
resources_check(const char **r, size_t n, const char *place)
{
	char p[PLACE_MAX];
	const char *c;
	size_t i;
	int colons;

	for (i = 0; i < n; i++) {
		if (strcmp(r[i], "*") == 0)
			continue;
		for (colons = 0, c = r[i]; *c != '\0'; c++)
			colons += *c == ':';
		if (strncmp(r[i], "arn:", 4) != 0 || colons < 5) {
			if (n > 1)
				placef(p, place, i);
			else
				(void)snprintf(p, sizeof(p), "%s", place);
			return bad(p, "'%.100s' is not an ARN or *", r[i]);
		}
	}
	return PCA_OK;
}

static pca_err
principal_parse(const json_t *v, const char *place, struct iam_stmt *s)
{
	char p[PLACE_MAX];
	const char *k;
	const json_t *x;
	const char **l;
	size_t n;
	pca_err err;

	if (json_is_string(v)) {
		if (strcmp(json_string_value(v), "*") != 0)
			return bad(place,
			    "must be \"*\" or an object, not "
			    "'%.60s'",
			    json_string_value(v));
		s->principal_any = 1;
		return PCA_OK;
	}
	if (!json_is_object(v) || json_object_size(v) == 0)
		return pca_err_set(PCA_EINVAL,
		    "%s: must be \"*\" or an object such as {\"AWS\": "
		    "\"111122223333\"}",
		    place);
	json_object_foreach ((json_t *)v, k, x) {
		placek(p, place, k);
		if (strcmp(k, "Service") == 0) {
			/* service principals: never an API key's caller */
			if ((err = str_list(x, p, &l, &n)) != PCA_OK)
				return err;
			free(l);
			continue;
		}
		if (strcmp(k, "AWS") != 0)
			return bad(place, "unknown principal type %.60s", k);
		if (s->principals != NULL)
			return bad(place, "%s given twice", k);
		if ((err = str_list(x, p, &s->principals, &s->nprincipals)) !=
		    PCA_OK)
			return err;
	}
	return PCA_OK;
}

/* ---- Condition ---- */

static pca_err
key_parse(const char *k, const char *place, struct iam_cond *c)
{
	static const struct {
		const char *name;
		enum iam_key key;
		int prefix;
	} keys[] = {
	    {"acm-pca:TemplateArn", IAM_K_TEMPLATE, 0},
	    {"aws:RequestTag/", IAM_K_REQ_TAG, 1},
	    {"aws:ResourceTag/", IAM_K_RES_TAG, 1},
	    {"aws:TagKeys", IAM_K_TAG_KEYS, 0},
	    {"aws:SourceIp", IAM_K_SOURCE_IP, 0},
	    {"aws:CurrentTime", IAM_K_TIME, 0},
	    {"aws:SecureTransport", IAM_K_SECURE, 0},
	    {"aws:PrincipalAccount", IAM_K_ACCOUNT, 0},
	    {"aws:SourceAccount", IAM_K_SOURCE_ACCOUNT, 0},
	};
	size_t i, n;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		n = strlen(keys[i].name);
		if (keys[i].prefix ? strncasecmp(k, keys[i].name, n) != 0
				   : strcasecmp(k, keys[i].name) != 0)
			continue;
		if (keys[i].prefix && (k[n] == '\0' || strlen(k + n) > 128))
			return bad(place,
			    "condition key %.80s needs a tag key of 1 to 128 "
			    "characters",
			    k);
		c->key = keys[i].key;
		c->tag = keys[i].prefix ? k + n : NULL;
		return PCA_OK;
	}
	return bad(place, "unknown condition key %.80s", k);
}

/* Operator and key agree on the value type. */
static pca_err
types_check(const struct iam_cond *c, const char *opname, const char *key,
    const char *place)
{
	char msg[256];
	const char *want = NULL;

	switch (c->key) {
	case IAM_K_TEMPLATE:
		if (!op_is_string(c->op) && !op_is_arn(c->op))
			want = "String or Arn";
		break;
	case IAM_K_REQ_TAG:
	case IAM_K_RES_TAG:
	case IAM_K_TAG_KEYS:
	case IAM_K_ACCOUNT:
	case IAM_K_SOURCE_ACCOUNT:
		if (!op_is_string(c->op))
			want = "String";
		break;
	case IAM_K_SOURCE_IP:
		if (c->op != IAM_OP_IP && c->op != IAM_OP_NOTIP)
			want = "IpAddress or NotIpAddress";
		break;
	case IAM_K_TIME:
		if (!op_is_date(c->op))
			want = "Date";
		break;
	case IAM_K_SECURE:
		if (c->op != IAM_OP_BOOL)
			want = "Bool";
		break;
	}
	if (want == NULL || c->op == IAM_OP_NULL)
		return PCA_OK;
	(void)snprintf(msg, sizeof(msg),
	    "operator %.60s does not apply to %.80s (it takes %s operators)",
	    opname, key, want);
	return pca_err_set(PCA_EINVAL, "%s: %s", place, msg);
}

static pca_err
flag_value(const json_t *v, const char *place, int *out)
{
	const char *s;

	if (json_is_array(v) && json_array_size(v) == 1)
		v = json_array_get(v, 0);
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return PCA_OK;
	}
	s = json_string_value(v);
	if (s != NULL && strcasecmp(s, "true") == 0)
		*out = 1;
	else if (s != NULL && strcasecmp(s, "false") == 0)
		*out = 0;
	else
		return pca_err_set(PCA_EINVAL,
		    "%s: must be \"true\" or \"false\"", place);
	return PCA_OK;
}

/* The values of one operator/key pair, typed by the operator. */
static pca_err
values_parse(const json_t *v, const char *place, struct iam_cond *c)
{
	char p[PLACE_MAX];
	size_t i;
	pca_err err;

	if (c->op == IAM_OP_BOOL || c->op == IAM_OP_NULL)
		return flag_value(v, place, &c->flag);
	if (json_is_integer(v) && op_is_date(c->op)) {
		/* Unix seconds as a JSON number */
		c->vals = calloc(1, sizeof(*c->vals));
		c->times = calloc(1, sizeof(*c->times));
		if (c->vals == NULL || c->times == NULL)
			return pca_err_set(PCA_ENOMEM, "no memory");
		c->vals[0] = "";
		c->times[0] = (int64_t)json_integer_value(v);
		c->nvals = 1;
		return PCA_OK;
	}
	if ((err = str_list(v, place, &c->vals, &c->nvals)) != PCA_OK)
		return err;
	if (c->op == IAM_OP_IP || c->op == IAM_OP_NOTIP) {
		if ((c->nets = calloc(c->nvals, sizeof(*c->nets))) == NULL)
			return pca_err_set(PCA_ENOMEM, "no memory");
		for (i = 0; i < c->nvals; i++) {
			placef(p, place, i);
			if (!iam_net_parse(c->vals[i], &c->nets[i]))
				return bad(c->nvals > 1 ? p : place,
				    "'%.60s' is not an IP address or CIDR "
				    "block",
				    c->vals[i]);
		}
	}
	if (op_is_date(c->op)) {
		if ((c->times = calloc(c->nvals, sizeof(*c->times))) == NULL)
			return pca_err_set(PCA_ENOMEM, "no memory");
		for (i = 0; i < c->nvals; i++) {
			placef(p, place, i);
			if (!iam_time_parse(c->vals[i], &c->times[i]))
				return bad(c->nvals > 1 ? p : place,
				    "'%.60s' is not a date (ISO 8601 or Unix "
				    "seconds)",
				    c->vals[i]);
		}
	}
	return PCA_OK;
}

/* "ForAnyValue:StringLikeIfExists" into op, qualifier, IfExists. */
static pca_err
op_parse(const char *name, const char *place, struct iam_cond *c)
{
	char base[64];
	size_t i, n;

	if (strncmp(name, "ForAnyValue:", 12) == 0) {
		c->qual = IAM_Q_ANY;
		name += 12;
	} else if (strncmp(name, "ForAllValues:", 13) == 0) {
		c->qual = IAM_Q_ALL;
		name += 13;
	}
	n = strlen(name);
	if (n >= sizeof(base))
		return bad(place, "unknown operator %.64s", name);
	memcpy(base, name, n + 1);
	if (n > 8 && strcmp(base + n - 8, "IfExists") == 0) {
		c->if_exists = 1;
		base[n - 8] = '\0';
	}
	for (i = 0; i < N_OPS; i++)
		if (strcmp(base, ops[i].name) == 0)
			break;
	if (i == N_OPS)
		return bad(place, "unknown operator %.64s", name);
	c->op = ops[i].op;
	if (c->op == IAM_OP_NULL && (c->if_exists || c->qual != IAM_Q_NONE))
		return bad(place,
		    "operator %.64s: Null takes no qualifier or IfExists",
		    name);
	return PCA_OK;
}

static pca_err
cond_parse(const char *opname, const char *key, const json_t *vals,
    const char *place, struct iam_cond *c)
{
	char p[PLACE_MAX], q[PLACE_MAX];
	pca_err err;

	if ((err = op_parse(opname, place, c)) != PCA_OK)
		return err;
	placek(p, place, opname);
	if ((err = key_parse(key, p, c)) != PCA_OK ||
	    (err = types_check(c, opname, key, p)) != PCA_OK)
		return err;
	placek(q, p, key);
	return values_parse(vals, q, c);
}

static pca_err
conds_parse(const json_t *v, const char *place, struct iam_stmt *s)
{
	char p[PLACE_MAX];
	const char *opname, *key;
	const json_t *block, *vals;
	size_t n = 0;
	pca_err err;

	if (!json_is_object(v))
		return pca_err_set(PCA_EINVAL, "%s: must be an object", place);
	json_object_foreach ((json_t *)v, opname, block) {
		struct iam_cond probe;
		memset(&probe, 0, sizeof(probe));
		if ((err = op_parse(opname, place, &probe)) != PCA_OK)
			return err;
		placek(p, place, opname);
		if (!json_is_object(block) || json_object_size(block) == 0)
			return pca_err_set(PCA_EINVAL,
			    "%s: must be an object of condition keys", p);
		n += json_object_size(block);
	}
	if (n > IAM_MAX_CONDITIONS)
		return pca_err_set(PCA_ETOOBIG, "%s: more than %d conditions",
		    place, IAM_MAX_CONDITIONS);
	if (n == 0)
		return PCA_OK;
	if ((s->conds = calloc(n, sizeof(*s->conds))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	json_object_foreach ((json_t *)v, opname, block) {
		json_object_foreach ((json_t *)block, key, vals) {
			err = cond_parse(opname, key, vals, place,
			    &s->conds[s->nconds]);
			s->nconds++;
			if (err != PCA_OK)
				return err;
		}
	}
	return PCA_OK;
}

/* ---- Statement ---- */

static const char *const stmt_members[] = {"Sid", "Effect", "Action",
    "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal",
    "Condition", NULL};

static pca_err
stmt_members_check(const json_t *st, const char *place)
{
	const char *k;
	const json_t *v;
	int i;

	json_object_foreach ((json_t *)st, k, v) {
		for (i = 0; stmt_members[i] != NULL; i++)
			if (strcmp(k, stmt_members[i]) == 0)
				break;
		if (stmt_members[i] == NULL)
			return bad(place, "unknown member %.60s", k);
	}
	if (json_object_get(st, "NotPrincipal") != NULL)
		return bad(place, "%s is not supported", "NotPrincipal");
	return PCA_OK;
}

/*
 * Identity policies: letters and digits (IAM's rule); resource policies
 * also take other printable ASCII (as other services' policies do).
 */
static int
sid_char_ok(char c, enum iam_kind kind)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return kind == IAM_RESOURCE && c >= 0x20 && c < 0x7f;
}

static pca_err
sid_check(const json_t *v, const char *place, enum iam_kind kind,
    struct iam_stmt *s)
{
	char p[PLACE_MAX];
	const char *c;
	pca_err err;

	if (v == NULL)
		return PCA_OK;
	placek(p, place, "Sid");
	if ((err = str_check(v, p, &s->sid)) != PCA_OK)
		return err;
	if (strlen(s->sid) > IAM_SID_MAX)
		return bad(p, "longer than %s characters", "128");
	for (c = s->sid; *c != '\0'; c++)
		if (!sid_char_ok(*c, kind))
			return bad(p, "'%.60s' must be letters and digits only",
			    s->sid);
	return PCA_OK;
}

static pca_err
effect_check(const json_t *v, const char *place, struct iam_stmt *s)
{
	const char *e = json_string_value(v);

	if (v == NULL)
		return bad(place, "%s is missing", "Effect");
	if (e != NULL && strcmp(e, "Allow") == 0)
		s->deny = 0;
	else if (e != NULL && strcmp(e, "Deny") == 0)
		s->deny = 1;
	else
		return bad(place, "Effect must be \"Allow\" or \"Deny\"%s", "");
	return PCA_OK;
}

/* Exactly one of name/notname; *neg set when notname was given. */
static pca_err
either(const json_t *st, const char *name, const char *notname,
    const char *place, const json_t **v, int *neg, char p[PLACE_MAX])
{
	const json_t *a = json_object_get(st, name);
	const json_t *b = json_object_get(st, notname);
	char msg[128];

	if (a != NULL && b != NULL) {
		(void)snprintf(msg, sizeof(msg), "%s and %s are exclusive",
		    name, notname);
		return pca_err_set(PCA_EINVAL, "%s: %s", place, msg);
	}
	*neg = b != NULL;
	*v = a != NULL ? a : b;
	placek(p, place, a != NULL ? name : notname);
	return PCA_OK;
}

static pca_err
stmt_parse(const json_t *st, const char *place, enum iam_kind kind,
    struct iam_stmt *s)
{
	char p[PLACE_MAX];
	const json_t *v;
	pca_err err;

	if (!json_is_object(st))
		return pca_err_set(PCA_EINVAL, "%s: must be an object", place);
	if ((err = stmt_members_check(st, place)) != PCA_OK ||
	    (err = sid_check(json_object_get(st, "Sid"), place, kind, s)) !=
		PCA_OK ||
	    (err = effect_check(json_object_get(st, "Effect"), place, s)) !=
		PCA_OK)
		return err;
	if ((err = either(st, "Action", "NotAction", place, &v, &s->not_action,
		 p)) != PCA_OK)
		return err;
	if (v == NULL)
		return bad(place, "%s is missing", "Action or NotAction");
	if ((err = str_list(v, p, &s->actions, &s->nactions)) != PCA_OK ||
	    (err = actions_check(s->actions, s->nactions, p)) != PCA_OK)
		return err;
	if ((err = either(st, "Resource", "NotResource", place, &v,
		 &s->not_resource, p)) != PCA_OK)
		return err;
	if (v == NULL && kind == IAM_IDENTITY)
		return bad(place, "%s is missing", "Resource or NotResource");
	s->has_resource = v != NULL;
	if (v != NULL &&
	    ((err = str_list(v, p, &s->resources, &s->nresources)) != PCA_OK ||
		(err = resources_check(s->resources, s->nresources, p)) !=
		    PCA_OK))
		return err;
	v = json_object_get(st, "Principal");
	placek(p, place, "Principal");
	if (kind == IAM_IDENTITY && v != NULL)
		return bad(p, "not allowed in an %s policy", "identity");
	if (kind == IAM_RESOURCE && v == NULL)
		return bad(place, "%s is missing", "Principal");
	if (v != NULL && (err = principal_parse(v, p, s)) != PCA_OK)
		return err;
	v = json_object_get(st, "Condition");
	placek(p, place, "Condition");
	if (v != NULL && (err = conds_parse(v, p, s)) != PCA_OK)
		return err;
	return PCA_OK;
}

/* ---- the document ---- */

static void
stmt_free(struct iam_stmt *s)
{
	size_t i;

	free(s->actions);
	free(s->resources);
	free(s->principals);
	for (i = 0; i < s->nconds; i++) {
		free(s->conds[i].vals);
		free(s->conds[i].nets);
		free(s->conds[i].times);
	}
	free(s->conds);
}

void
iam_policy_free(struct iam_policy *p)
{
	size_t i;

	if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	for (i = 0; i < p->n; i++)
		stmt_free(&p->st[i]);
	free(p->st);
	json_decref(p->doc);
	free(p);
}

static pca_err
top_check(const json_t *doc)
{
	const char *k, *ver;
	const json_t *v;

	if (!json_is_object(doc))
		return pca_err_set(PCA_EINVAL, "policy: must be a JSON object");
	json_object_foreach ((json_t *)doc, k, v) {
		if (strcmp(k, "Version") != 0 && strcmp(k, "Id") != 0 &&
		    strcmp(k, "Statement") != 0)
			return bad("policy", "unknown member %.60s", k);
	}
	v = json_object_get(doc, "Version");
	ver = json_string_value(v);
	if (v != NULL && (ver == NULL || (strcmp(ver, "2012-10-17") != 0 &&
					     strcmp(ver, "2008-10-17") != 0)))
		return bad("Version",
		    "must be \"2012-10-17\" or \"2008-10-17\"%s", "");
	v = json_object_get(doc, "Id");
	if (v != NULL && !json_is_string(v))
		return bad("Id", "must be a string%s", "");
	return PCA_OK;
}

static pca_err
statements_parse(struct iam_policy *p)
{
	const json_t *st = json_object_get(p->doc, "Statement");
	char place[PLACE_MAX];
	size_t i, n;
	pca_err err;

	if (st == NULL)
		return bad("policy", "%s is missing", "Statement");
	n = json_is_array(st) ? json_array_size(st) : 1;
	if (!json_is_array(st) && !json_is_object(st))
		return bad("Statement", "must be an object or an array%s", "");
	if (n == 0)
		return bad("Statement", "must not be empty%s", "");
	if (n > IAM_MAX_STATEMENTS)
		return pca_err_set(PCA_ETOOBIG,
		    "Statement: more than %d statements", IAM_MAX_STATEMENTS);
	if ((p->st = calloc(n, sizeof(*p->st))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (i = 0; i < n; i++) {
		placef(place, "Statement", i);
		p->n++;
		err = stmt_parse(json_is_array(st) ? json_array_get(st, i) : st,
		    json_is_array(st) ? place : "Statement", p->kind,
		    &p->st[i]);
		if (err != PCA_OK)
			return err;
	}
	return PCA_OK;
}

/* Nesting of the text (brackets outside strings), checked before jansson. */
static int
too_deep(const char *t, size_t len)
{
	size_t i;
	int depth = 0, in_str = 0;

	for (i = 0; i < len; i++) {
		if (in_str) {
			if (t[i] == '\\')
				i++;
			else if (t[i] == '"')
				in_str = 0;
		} else if (t[i] == '"')
			in_str = 1;
		else if (t[i] == '{' || t[i] == '[') {
			if (++depth > LIM_JSON_DEPTH)
				return 1;
		} else if (t[i] == '}' || t[i] == ']')
			depth--;
	}
	return 0;
}

pca_err
iam_policy_parse(const char *text, size_t len, enum iam_kind kind,
    struct iam_policy **out)
{
	struct iam_policy *p = NULL;
	json_error_t jerr;
	pca_err err;

	if (text == NULL || len == 0)
		return pca_err_set(PCA_EPARSE, "policy: empty document");
	if (len > IAM_MAX_POLICY_BYTES)
		return pca_err_set(PCA_ETOOBIG,
		    "policy: %zu bytes, more than the %d allowed", len,
		    IAM_MAX_POLICY_BYTES);
	if (too_deep(text, len))
		return pca_err_set(PCA_ETOOBIG,
		    "policy: nested deeper than %d levels", LIM_JSON_DEPTH);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	atomic_init(&p->refs, 1);
	p->kind = kind;
	p->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (p->doc == NULL) {
		err = pca_err_set(PCA_EPARSE,
		    "policy: not JSON (line %d column %d: %.100s)", jerr.line,
		    jerr.column, jerr.text);
		goto out;
	}
	if ((err = top_check(p->doc)) != PCA_OK ||
	    (err = statements_parse(p)) != PCA_OK)
		goto out;
	*out = p;
	p = NULL;
out:
	iam_policy_free(p);
	return err;
}

struct iam_policy *
iam_policy_ref(struct iam_policy *p)
{
	if (p != NULL)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

pca_err
iam_policy_text(const struct iam_policy *p, char **out)
{
	char *s = json_dumps(p->doc, JSON_COMPACT | JSON_SORT_KEYS);

	if (s == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	*out = s;
	return PCA_OK;
}
