/*
 * eval.c - evaluating a compiled policy against a request context, and
 * IAM's combination of the identity and resource policies.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../common/util.h"
#include "iam_int.h"

/* ---- matching primitives ---- */

static int
ch_eq(char a, char b, int fold)
{
	return a == b ||
	       (fold && tolower((unsigned char)a) == tolower((unsigned char)b));
}

/* Iterative glob: linear backtracking on the last star only. */
static int
glob_n(const char *p, size_t pn, const char *s, size_t sn, int fold)
{
	size_t pi = 0, si = 0, star = (size_t)-1, resume = 0;

	while (si < sn) {
		if (pi < pn && p[pi] == '*') {
			star = pi++;
			resume = si;
		} else if (pi < pn &&
			   (p[pi] == '?' || ch_eq(p[pi], s[si], fold))) {
			pi++;
			si++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++resume;
		} else
			return 0;
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

int
iam_glob(const char *pat, const char *s, int fold)
{
	return glob_n(pat, strlen(pat), s, strlen(s), fold);
}

/* The i-th colon-separated part (the sixth takes the rest). */
static int
arn_part(const char *arn, int i, const char **p, size_t *n)
{
	const char *c = arn, *e;
	int k;

	for (k = 0; k < i; k++) {
		if ((c = strchr(c, ':')) == NULL)
			return 0;
		c++;
	}
	e = i < 5 ? strchr(c, ':') : NULL;
	*p = c;
	*n = e != NULL ? (size_t)(e - c) : strlen(c);
	return i == 5 || e != NULL;
}

int
iam_arn_like(const char *pat, const char *arn)
{
	const char *a, *b;
	size_t an, bn;
	int i;

	if (strcmp(pat, "*") == 0)
		return 1;
	for (i = 0; i < 6; i++) {
		if (!arn_part(pat, i, &a, &an) || !arn_part(arn, i, &b, &bn) ||
		    !glob_n(a, an, b, bn, 0))
			return 0;
	}
	return 1;
}

int
iam_net_parse(const char *s, struct iam_net *out)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	long long pfx;

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = 4;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = 6;
	else
		return 0;
	out->prefix = out->family == 4 ? 32 : 128;
	if (slash != NULL) {
		if (util_strtonum(slash + 1, 0, out->prefix, &pfx) != PCA_OK)
			return 0;
		out->prefix = (unsigned)pfx;
	}
	return 1;
}

int
iam_net_contains(const struct iam_net *net, const char *ip)
{
	struct iam_net a;
	unsigned i, bits;

	if (ip == NULL || strchr(ip, '/') != NULL || !iam_net_parse(ip, &a))
		return 0;
	if (a.family == 6 && net->family == 4 &&
	    memcmp(a.addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		/* an IPv4-mapped IPv6 address */
		memmove(a.addr, a.addr + 12, 4);
		a.family = 4;
	}
	if (a.family != net->family)
		return 0;
	for (i = 0; i < net->prefix; i += 8) {
		bits = net->prefix - i >= 8 ? 8 : net->prefix - i;
		if ((a.addr[i / 8] ^ net->addr[i / 8]) &
		    (uint8_t)(0xff00 >> bits))
			return 0;
	}
	return 1;
}

static int
digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 1;
}

int
iam_time_parse(const char *s, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, se = 0, oh = 0, om = 0, sign = 0;
	long long secs;
	const char *c;

	if (strspn(s, "0123456789") == strlen(s)) {
		if (util_strtonum(s, 0, 253402300799LL, &secs) != PCA_OK)
			return 0;
		*out = secs;
		return 1;
	}
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d))
		return 0;
	c = s + 10;
	if (*c == 'T') {
		if (!digits(c + 1, 2, &h) || c[3] != ':' ||
		    !digits(c + 4, 2, &mi))
			return 0;
		c += 6;
		if (*c == ':') {
			if (!digits(c + 1, 2, &se))
				return 0;
			c += 3;
			if (*c == '.')
				for (c++; *c >= '0' && *c <= '9'; c++)
					;
		}
		if (*c == 'Z')
			c++;
		else if (*c == '+' || *c == '-') {
			sign = *c == '-' ? -1 : 1;
			if (!digits(c + 1, 2, &oh) || c[3] != ':' ||
			    !digits(c + 4, 2, &om))
				return 0;
			c += 6;
		}
	}
	if (*c != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60 || oh > 23 || om > 59)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = util_timegm(&tm) - (int64_t)sign * (oh * 3600 + om * 60);
	return 1;
}

int
iam_principal_is(const char *p, const char *account)
{
	const char *c;

	if (account == NULL)
		return 0;
	if (strcmp(p, "*") == 0 || strcmp(p, account) == 0)
		return 1;
	/* arn:<partition>:iam::<account>:<root|user/...|role/...> */
	if (strncmp(p, "arn:", 4) != 0 || (c = strstr(p, ":iam::")) == NULL)
		return 0;
	c += 6;
	return strncmp(c, account, 12) == 0 && c[12] == ':';
}

/* ---- conditions ---- */

/* The values of a key in the request; *n 0 when the key is absent. */
struct kvals {
	const char *s[IAM_MAX_VALUES];
	size_t n;
	char buf[24];
};

static void
tags_get(const struct iam_tag *t, size_t n, const char *key, struct kvals *v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (key != NULL && strcmp(t[i].key, key) == 0 &&
		    t[i].value != NULL) {
			v->s[v->n++] = t[i].value;
			return;
		}
}

static void
key_values(const struct iam_cond *c, const struct iam_request *r,
    struct kvals *v)
{
	size_t i;

	v->n = 0;
	switch (c->key) {
	case IAM_K_TEMPLATE:
		if (r->template_arn != NULL)
			v->s[v->n++] = r->template_arn;
		break;
	case IAM_K_REQ_TAG:
		tags_get(r->req_tags, r->nreq_tags, c->tag, v);
		break;
	case IAM_K_RES_TAG:
		tags_get(r->res_tags, r->nres_tags, c->tag, v);
		break;
	case IAM_K_TAG_KEYS:
		for (i = 0; i < r->nreq_tags && v->n < IAM_MAX_VALUES; i++)
			v->s[v->n++] = r->req_tags[i].key;
		break;
	case IAM_K_SOURCE_IP:
		if (r->source_ip != NULL)
			v->s[v->n++] = r->source_ip;
		break;
	case IAM_K_TIME:
		(void)snprintf(v->buf, sizeof(v->buf), "%lld",
		    (long long)r->now);
		v->s[v->n++] = v->buf;
		break;
	case IAM_K_SECURE:
		if (r->secure_transport >= 0)
			v->s[v->n++] = r->secure_transport ? "true" : "false";
		break;
	case IAM_K_ACCOUNT:
		if (r->account != NULL)
			v->s[v->n++] = r->account;
		break;
	case IAM_K_SOURCE_ACCOUNT:
		break; /* never set for an access key's call */
	}
}

static int
op_negated(enum iam_op op)
{
	return op == IAM_OP_STR_NE || op == IAM_OP_STR_NE_CI ||
	       op == IAM_OP_STR_NOTLIKE || op == IAM_OP_ARN_NE ||
	       op == IAM_OP_ARN_NOTLIKE || op == IAM_OP_NOTIP ||
	       op == IAM_OP_DATE_NE;
}

/* The positive form of the operator holds for value s and policy value i. */
static int
one(const struct iam_cond *c, const char *s, size_t i)
{
	int64_t t;

	switch (c->op) {
	case IAM_OP_STR_EQ:
	case IAM_OP_STR_NE:
		return strcmp(c->vals[i], s) == 0;
	case IAM_OP_STR_EQ_CI:
	case IAM_OP_STR_NE_CI:
		return strcasecmp(c->vals[i], s) == 0;
	case IAM_OP_STR_LIKE:
	case IAM_OP_STR_NOTLIKE:
		return iam_glob(c->vals[i], s, 0);
	case IAM_OP_ARN_EQ:
	case IAM_OP_ARN_NE:
	case IAM_OP_ARN_LIKE:
	case IAM_OP_ARN_NOTLIKE:
		return iam_arn_like(c->vals[i], s);
	case IAM_OP_IP:
	case IAM_OP_NOTIP:
		return iam_net_contains(&c->nets[i], s);
	case IAM_OP_BOOL:
		return strcmp(s, c->flag ? "true" : "false") == 0;
	case IAM_OP_NULL:
		return 0;
	case IAM_OP_DATE_EQ:
	case IAM_OP_DATE_NE:
	case IAM_OP_DATE_LT:
	case IAM_OP_DATE_LE:
	case IAM_OP_DATE_GT:
	case IAM_OP_DATE_GE:
		break;
	}
	if (!iam_time_parse(s, &t))
		return 0;
	switch (c->op) {
	case IAM_OP_DATE_LT:
		return t < c->times[i];
	case IAM_OP_DATE_LE:
		return t <= c->times[i];
	case IAM_OP_DATE_GT:
		return t > c->times[i];
	case IAM_OP_DATE_GE:
		return t >= c->times[i];
	default:
		return t == c->times[i];
	}
}

/* The operator (negation included) holds for one request value. */
static int
holds_for(const struct iam_cond *c, const char *s)
{
	size_t i;
	int any = 0;

	if (c->op == IAM_OP_BOOL)
		return one(c, s, 0);
	for (i = 0; i < c->nvals && !any; i++)
		any = one(c, s, i);
	return op_negated(c->op) ? !any : any;
}

static int
cond_holds(const struct iam_cond *c, const struct iam_request *r)
{
	struct kvals v;
	size_t i;
	int any = 0;

	key_values(c, r, &v);
	if (c->op == IAM_OP_NULL)
		return c->flag ? v.n == 0 : v.n > 0;
	if (v.n == 0) {
		if (c->if_exists || c->qual == IAM_Q_ALL)
			return 1;
		if (c->qual == IAM_Q_ANY)
			return 0;
		return op_negated(c->op);
	}
	if (c->qual == IAM_Q_ALL) {
		for (i = 0; i < v.n; i++)
			if (!holds_for(c, v.s[i]))
				return 0;
		return 1;
	}
	if (c->qual == IAM_Q_ANY || !op_negated(c->op)) {
		for (i = 0; i < v.n && !any; i++)
			any = holds_for(c, v.s[i]);
		return any;
	}
	/* a negated operator on a multivalued key: no value may match */
	for (i = 0; i < v.n; i++)
		if (!holds_for(c, v.s[i]))
			return 0;
	return 1;
}

/* ---- statements ---- */

static int
list_any(const char **l, size_t n, const char *s, int fold, int arn)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (arn ? (strcmp(l[i], "*") == 0 || iam_glob(l[i], s, 0))
			: iam_glob(l[i], s, fold))
			return 1;
	return 0;
}

static int
principal_applies(const struct iam_stmt *s, const struct iam_policy *p,
    const char *account)
{
	size_t i;

	if (p->kind == IAM_IDENTITY || s->principal_any)
		return 1;
	for (i = 0; i < s->nprincipals; i++)
		if (iam_principal_is(s->principals[i], account))
			return 1;
	return 0;
}

static int
stmt_applies(const struct iam_stmt *s, const struct iam_policy *p,
    const struct iam_request *r)
{
	size_t i;

	if (!principal_applies(s, p, r->account))
		return 0;
	if (list_any(s->actions, s->nactions, r->action, 1, 0) == s->not_action)
		return 0;
	if (s->has_resource && list_any(s->resources, s->nresources,
				   r->resource, 0, 1) == s->not_resource)
		return 0;
	for (i = 0; i < s->nconds; i++)
		if (!cond_holds(&s->conds[i], r))
			return 0;
	return 1;
}

static void
match_set(struct iam_match *m, enum iam_effect e, const struct iam_stmt *s,
    size_t i)
{
	m->effect = e;
	m->index = (int)i;
	(void)snprintf(m->sid, sizeof(m->sid), "%s", s->sid ? s->sid : "");
}

enum iam_effect
iam_policy_eval(const struct iam_policy *p, const struct iam_request *r,
    struct iam_match *out)
{
	struct iam_match m;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.index = -1;
	for (i = 0; p != NULL && i < p->n; i++) {
		if (!stmt_applies(&p->st[i], p, r))
			continue;
		if (p->st[i].deny) {
			match_set(&m, IAM_MATCH_DENY, &p->st[i], i);
			break;
		}
		if (m.effect == IAM_NO_MATCH)
			match_set(&m, IAM_MATCH_ALLOW, &p->st[i], i);
	}
	if (out != NULL)
		*out = m;
	return m.effect;
}

int
iam_policy_shares(const struct iam_policy *p, const char *account)
{
	size_t i, j;

	for (i = 0; p != NULL && i < p->n; i++) {
		if (p->st[i].deny)
			continue;
		if (p->st[i].principal_any)
			return 1;
		for (j = 0; j < p->st[i].nprincipals; j++)
			if (iam_principal_is(p->st[i].principals[j], account))
				return 1;
	}
	return 0;
}

int
iam_policy_uses_resource_tags(const struct iam_policy *p)
{
	size_t i, j;

	for (i = 0; p != NULL && i < p->n; i++)
		for (j = 0; j < p->st[i].nconds; j++)
			if (p->st[i].conds[j].key == IAM_K_RES_TAG)
				return 1;
	return 0;
}

enum iam_decision
iam_decide(const struct iam_policy *identity, const struct iam_policy *resource,
    int cross_account, const struct iam_request *r, struct iam_verdict *out)
{
	struct iam_match im, rm;
	struct iam_verdict v;

	memset(&v, 0, sizeof(v));
	memset(&rm, 0, sizeof(rm));
	rm.index = -1;
	(void)iam_policy_eval(identity, r, &im);
	if (cross_account)
		(void)iam_policy_eval(resource, r, &rm);
	if (im.effect == IAM_MATCH_DENY) {
		v.decision = IAM_EXPLICIT_DENY;
		v.match = im;
	} else if (rm.effect == IAM_MATCH_DENY) {
		v.decision = IAM_EXPLICIT_DENY;
		v.by_resource = 1;
		v.match = rm;
	} else if (im.effect != IAM_MATCH_ALLOW) {
		v.decision = IAM_IMPLICIT_DENY;
		v.match = im;
	} else if (cross_account && rm.effect != IAM_MATCH_ALLOW) {
		v.decision = IAM_IMPLICIT_DENY;
		v.need_resource = 1;
		v.by_resource = 1;
		v.match = rm;
	} else {
		v.decision = IAM_ALLOW;
		v.match = im;
	}
	if (out != NULL)
		*out = v;
	return v.decision;
}
