/*
 * caa.c - Certification Authority Authorization (RFC 8659) with the
 * account and method binding parameters of RFC 8657.  The tree is
 * climbed from the validated domain towards the root for the first
 * non-empty CAA RRset; that set decides: an unknown tag flagged critical
 * forbids; a wildcard certificate is judged by "issuewild" when the set
 * has any, else by "issue"; a set with neither permits; otherwise one of
 * the appliance's issuer domain names ([acme] caa_identities) must be
 * named, with an accounturi (if any) equal to the ordering account's URL
 * and validationmethods (if any) listing the challenge used.  "issue ;"
 * names no issuer, so it forbids.  A lookup that fails (SERVFAIL,
 * timeout) is an error, never a pass.  Also the configuration of the
 * resolver and the identities (acme_dnsconf_set).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "acme_int.h"

#define WSP(c) ((c) == ' ' || (c) == '\t')

static size_t
skip_wsp(const char *v, size_t i, size_t len)
{
	while (i < len && WSP(v[i]))
		i++;
	return i;
}

/* label *("." label), label = alnum *( *"-" alnum ) */
static int
domain_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		int edge =
		    i == 0 || s[i - 1] == '.' || i + 1 == n || s[i + 1] == '.';

		if (s[i] == '.') {
			if (i == 0 || s[i - 1] == '.' || i + 1 == n)
				return 0;
		} else if (s[i] == '-') {
			if (edge)
				return 0;
		} else if (!isalnum((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* One "tag = value" parameter at v[*i]; 0 malformed. */
static int
param(const char *v, size_t len, size_t *i, struct acme_caa_issue *o)
{
	char tag[32], val[256];
	size_t t = 0, k = 0;

	while (*i < len && (isalnum((unsigned char)v[*i]) || v[*i] == '-')) {
		if (t + 1 >= sizeof(tag))
			return 0;
		tag[t++] = v[(*i)++];
	}
	tag[t] = '\0';
	if (t == 0 || tag[0] == '-' || tag[t - 1] == '-')
		return 0;
	*i = skip_wsp(v, *i, len);
	if (*i >= len || v[*i] != '=')
		return 0;
	*i = skip_wsp(v, *i + 1, len);
	while (*i < len && v[*i] >= 0x21 && v[*i] <= 0x7e && v[*i] != ';') {
		if (k + 1 >= sizeof(val))
			return 0;
		val[k++] = v[(*i)++];
	}
	val[k] = '\0';
	if (strcasecmp(tag, "accounturi") == 0)
		(void)snprintf(o->accounturi, sizeof(o->accounturi), "%s", val);
	else if (strcasecmp(tag, "validationmethods") == 0)
		(void)snprintf(o->methods, sizeof(o->methods), "%s", val);
	/* other parameters are ignored (RFC 8659 4.2) */
	return 1;
}

int
acme_caa_issue_parse(const char *v, size_t len, struct acme_caa_issue *o)
{
	size_t i, d = 0;

	memset(o, 0, sizeof(*o));
	i = skip_wsp(v, 0, len);
	while (i < len &&
	       (isalnum((unsigned char)v[i]) || v[i] == '-' || v[i] == '.')) {
		if (d + 1 >= sizeof(o->domain))
			return 0;
		o->domain[d++] = (char)tolower((unsigned char)v[i++]);
	}
	o->domain[d] = '\0';
	if (d > 0 && !domain_ok(o->domain))
		return 0;
	i = skip_wsp(v, i, len);
	if (i == len)
		return 1;
	if (v[i] != ';')
		return 0;
	i = skip_wsp(v, i + 1, len);
	while (i < len) {
		if (!param(v, len, &i, o))
			return 0;
		i = skip_wsp(v, i, len);
		if (i == len)
			break;
		if (v[i] != ';')
			return 0;
		i = skip_wsp(v, i + 1, len);
	}
	return 1;
}

/* m is in the comma-separated list l. */
static int
in_list(const char *l, const char *m)
{
	size_t n = strlen(m), k;

	for (;;) {
		k = strcspn(l, ",");
		if (k == n && strncmp(l, m, n) == 0)
			return 1;
		if (l[k] == '\0')
			return 0;
		l += k + 1;
	}
}

static int
is_ours(const struct acme_caa_req *q, const char *domain)
{
	size_t i;

	for (i = 0; i < q->nids; i++)
		if (strcasecmp(q->ids[i], domain) == 0)
			return 1;
	return 0;
}

/* One issue/issuewild record authorizes this request; *why if not. */
static int
authorizes(const struct acme_caa_rr *r, const struct acme_caa_req *q,
    const char **why)
{
	struct acme_caa_issue is;

	if (memchr(r->value, '\0', r->len) != NULL ||
	    !acme_caa_issue_parse(r->value, r->len, &is)) {
		*why = "a malformed value";
		return 0;
	}
	if (is.domain[0] == '\0') {
		*why = "no issuer (\";\")";
		return 0;
	}
	if (!is_ours(q, is.domain)) {
		*why = "another CA";
		return 0;
	}
	if (is.accounturi[0] != '\0' &&
	    (q->account_uri == NULL ||
		strcmp(is.accounturi, q->account_uri) != 0)) {
		*why = "our CA for another account (accounturi)";
		return 0;
	}
	if (is.methods[0] != '\0' &&
	    (q->method == NULL || !in_list(is.methods, q->method))) {
		*why = "our CA with other validation methods";
		return 0;
	}
	return 1;
}

static int
known_tag(const char *t)
{
	return strcasecmp(t, "issue") == 0 || strcasecmp(t, "issuewild") == 0 ||
	       strcasecmp(t, "iodef") == 0;
}

enum acme_caa_verdict
acme_caa_decide(const struct acme_caa_rr *rr, size_t n,
    const struct acme_caa_req *q, char *why, size_t wl)
{
	const char *tag = "issue", *w = NULL;
	size_t i, used = 0;

	for (i = 0; i < n; i++)
		if ((rr[i].flags & 0x80) &&
		    (rr[i].tag_over || !known_tag(rr[i].tag))) {
			(void)snprintf(why, wl,
			    "an unknown property \"%s\" is "
			    "flagged critical",
			    rr[i].tag);
			return ACME_CAA_FORBID;
		}
	if (q->wildcard)
		for (i = 0; i < n; i++)
			if (!rr[i].tag_over &&
			    strcasecmp(rr[i].tag, "issuewild") == 0)
				tag = "issuewild";
	for (i = 0; i < n; i++) {
		if (rr[i].tag_over || strcasecmp(rr[i].tag, tag) != 0)
			continue;
		used++;
		if (authorizes(&rr[i], q, &w)) {
			(void)snprintf(why, wl, "\"%s %s\" authorizes this CA",
			    tag, rr[i].value);
			return ACME_CAA_PERMIT;
		}
	}
	if (used == 0) {
		(void)snprintf(why, wl, "no %s property", tag);
		return ACME_CAA_PERMIT;
	}
	if (used == 1)
		(void)snprintf(why, wl, "\"%s\" names %s, not this CA (%s)",
		    tag, w, q->nids > 0 ? q->ids[0] : "-");
	else
		(void)snprintf(why, wl,
		    "none of the %zu \"%s\" properties "
		    "authorizes this CA (%s; the last names %s)",
		    used, tag, q->nids > 0 ? q->ids[0] : "-", w);
	return ACME_CAA_FORBID;
}

pca_err
acme_caa_check(const struct acme_dns *d, const char *domain,
    const struct acme_caa_req *q, char *why, size_t wl)
{
	struct acme_caa_rr *rr = NULL;
	size_t n = 0;
	const char *name = domain;
	char w[300];
	int64_t deadline = acme_dns_deadline(d->timeout_s);
	enum acme_caa_verdict v;

	for (;;) {
		if (acme_dns_caa(d, name, deadline, &rr, &n, w, sizeof(w)) !=
		    PCA_OK) {
			(void)snprintf(why, wl,
			    "CAA for %s cannot be checked: "
			    "%s",
			    domain, w);
			return PCA_EIO;
		}
		if (n > 0) {
			v = acme_caa_decide(rr, n, q, w, sizeof(w));
			acme_caa_rrs_free(rr, n);
			if (name == domain)
				(void)snprintf(why, wl, "CAA at %s: %s", name,
				    w);
			else
				(void)snprintf(why, wl,
				    "CAA at %s (for %s): "
				    "%s",
				    name, domain, w);
			return v == ACME_CAA_PERMIT ? PCA_OK : PCA_EPOLICY;
		}
		acme_caa_rrs_free(rr, n);
		rr = NULL;
		if ((name = strchr(name, '.')) == NULL)
			break;
		name++;
	}
	(void)snprintf(why, wl, "no CAA records at %s or above", domain);
	return PCA_OK;
}

int
acme_caa_ids_ok(const char *s)
{
	char b[254];
	size_t k, n = 0;

	if (s == NULL || *s == '\0' || strlen(s) >= 512)
		return 0;
	for (;;) {
		k = strcspn(s, ",");
		if (k == 0 || k >= sizeof(b) || ++n > ACME_CAA_MAX_IDS)
			return 0;
		memcpy(b, s, k);
		b[k] = '\0';
		if (!domain_ok(b))
			return 0;
		if (s[k] == '\0')
			return 1;
		s += k + 1;
	}
}

void
acme_dnsconf_set(struct acme_dnsconf *d, const struct acme_conf *c)
{
	char *p, *e;
	size_t i;

	memset(d, 0, sizeof(*d));
	if (c->resolver != NULL && acme_resolver_ok(c->resolver)) {
		(void)snprintf(d->servers, sizeof(d->servers), "%s",
		    c->resolver);
		d->dns.servers = d->servers;
	}
	d->dns.timeout_s = c->timeout_s ? c->timeout_s : 10;
	if (c->caa_identities == NULL || !acme_caa_ids_ok(c->caa_identities))
		return;
	(void)snprintf(d->idbuf, sizeof(d->idbuf), "%s", c->caa_identities);
	for (i = 0; d->idbuf[i]; i++)
		d->idbuf[i] = (char)tolower((unsigned char)d->idbuf[i]);
	for (p = d->idbuf; d->nids < ACME_CAA_MAX_IDS; p = e + 1) {
		d->ids[d->nids++] = p;
		if ((e = strchr(p, ',')) == NULL)
			break;
		*e = '\0';
	}
}
