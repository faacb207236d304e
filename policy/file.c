/*
 * file.c - the policy set: built-ins, operator-defined policies and
 * bindings from a policy file (conf/policies.example):
 *
 *   [policy NAME]          a policy; "base = OTHER" first copies OTHER
 *   key = value            settings, see set_one() below
 *   # comment              at the start of a line or after a space
 *   [bind]
 *   CA [ACCESS_KEY] = NAME  CA is a CA UUID, a CA ARN or "*"
 *
 * Parsed and validated whole; errors name the file, line and setting.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "pol_int.h"

#define POL_FILE_MAX (1u << 20)
#define POL_LINE_MAX 4096

struct pol_bind {
	char ca[40];   /* UUID or "*" */
	char key[128]; /* access key id, "" = any */
	size_t idx;    /* into set->pols */
};

struct pol_set {
	struct pol *pols;
	size_t n;
	struct pol_bind binds[POL_BIND_MAX];
	size_t nbind;
};

pca_err
pol_set_new(struct pol_set **out)
{
	const struct pol *b;
	struct pol_set *s;
	size_t n;

	b = pol_builtins(&n);
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->pols = calloc(n + POL_MAX, sizeof(*s->pols))) == NULL) {
		free(s);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	memcpy(s->pols, b, n * sizeof(*b));
	s->n = n;
	*out = s;
	return PCA_OK;
}

void
pol_set_free(struct pol_set *s)
{
	if (s == NULL)
		return;
	free(s->pols);
	free(s);
}

static int
find(const struct pol_set *s, const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->pols[i].name, name) == 0) {
			*idx = i;
			return 1;
		}
	return 0;
}

const struct pol *
pol_set_get0(const struct pol_set *s, const char *name)
{
	size_t i;

	return find(s, name, &i) ? &s->pols[i] : NULL;
}

size_t
pol_set_count(const struct pol_set *s)
{
	return s->n;
}

const char *
pol_set_name(const struct pol_set *s, size_t i)
{
	return i < s->n ? s->pols[i].name : NULL;
}

const struct pol *
pol_set_lookup0(const struct pol_set *s, const char *ca, const char *key)
{
	const struct pol_bind *b, *best = NULL;
	int score, top = 0;
	size_t i;

	for (i = 0; s != NULL && i < s->nbind; i++) {
		b = &s->binds[i];
		if (strcmp(b->ca, "*") != 0 &&
		    (ca == NULL || strcmp(b->ca, ca)))
			continue;
		if (b->key[0] != '\0' && (key == NULL || strcmp(b->key, key)))
			continue;
		score = (strcmp(b->ca, "*") != 0 ? 2 : 1) +
			(b->key[0] != '\0' ? 2 : 0);
		if (score > top) {
			top = score;
			best = b;
		}
	}
	return best ? &s->pols[best->idx] : NULL;
}

/* ---- parsing ---- */

struct parse {
	struct pol_set *set;
	const char *name; /* file name, for errors */
	int line;
	struct pol *cur; /* NULL: in [bind] (or before any section) */
	int in_bind;
	int settings; /* settings seen in the current policy */
};

static pca_err
perr(const struct parse *ps, const char *what)
{
	return pca_err_set(PCA_EINVAL, "%s:%d: %s", ps->name, ps->line, what);
}

static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= POL_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* Splits a space- or comma-separated value into a list. */
static pca_err
list_set(struct parse *ps, const char *v, struct pol_list *l)
{
	const char *p = v;
	size_t n;

	l->n = 0;
	while (*p) {
		p += strspn(p, " \t,");
		if ((n = strcspn(p, " \t,")) == 0)
			break;
		if (l->n == POL_LIST_MAX || n >= POL_ITEM_MAX)
			return perr(ps, "list too long or entry too long");
		memcpy(l->v[l->n], p, n);
		l->v[l->n++][n] = '\0';
		p += n;
	}
	return PCA_OK;
}

static pca_err
num_set(struct parse *ps, const char *v, long long max, long long *out)
{
	if (util_strtonum(v, 0, max, out) != PCA_OK)
		return perr(ps, "value is not a number in range");
	return PCA_OK;
}

static pca_err
bool_set(struct parse *ps, const char *v, int *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = 0;
	else
		return perr(ps, "value must be yes or no");
	return PCA_OK;
}

static pca_err
keys_set(struct parse *ps, const char *v, struct pol *p)
{
	struct pol_list l;
	size_t i;
	pca_err e;

	if ((e = list_set(ps, v, &l)) != PCA_OK)
		return e;
	p->keys = 0;
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.v[i], "RSA") == 0)
			p->keys |= 1u << POL_KEY_RSA;
		else if (strcmp(l.v[i], "EC") == 0)
			p->keys |= 1u << POL_KEY_EC;
		else
			return perr(ps, "key_algorithms takes RSA and EC");
	}
	return PCA_OK;
}

static pca_err
ekus_set(struct parse *ps, const char *v, unsigned *out)
{
	struct pol_list l;
	unsigned b;
	size_t i;
	pca_err e;

	if ((e = list_set(ps, v, &l)) != PCA_OK)
		return e;
	*out = 0;
	for (i = 0; i < l.n; i++) {
		if ((b = pol_eku_bit(l.v[i])) == 0)
			return perr(ps, "unknown extendedKeyUsage name");
		*out |= b;
	}
	return PCA_OK;
}

static pca_err
nids_set(struct parse *ps, const char *v, int *nids, size_t *n)
{
	struct pol_list l;
	size_t i;
	pca_err e;
	int nid;

	if ((e = list_set(ps, v, &l)) != PCA_OK)
		return e;
	if (l.n > POL_NIDS_MAX)
		return perr(ps, "too many subject attributes");
	for (i = 0; i < l.n; i++) {
		if ((nid = OBJ_txt2nid(l.v[i])) == NID_undef)
			return perr(ps, "unknown subject attribute");
		nids[i] = nid;
	}
	*n = l.n;
	return PCA_OK;
}

static pca_err
sigs_set(struct parse *ps, const char *v, struct pol_list *l)
{
	size_t i;
	pca_err e;

	if ((e = list_set(ps, v, l)) != PCA_OK)
		return e;
	for (i = 0; i < l->n; i++)
		if (strncmp(l->v[i], "SHA1", 4) == 0)
			return perr(ps, "SHA-1 signing algorithms are never "
					"allowed");
	return PCA_OK;
}

static pca_err
ips_set(struct parse *ps, const char *v, struct pol *p)
{
	size_t i;
	pca_err e;

	p->ip_limited = 1;
	if (strcmp(v, "none") == 0) {
		p->ip_ranges.n = 0;
		return PCA_OK;
	}
	if ((e = list_set(ps, v, &p->ip_ranges)) != PCA_OK)
		return e;
	for (i = 0; i < p->ip_ranges.n; i++)
		if (pol_cidr_check(p->ip_ranges.v[i]) != PCA_OK)
			return perr(ps, "ip_ranges entry is not an address "
					"range");
	return PCA_OK;
}

static pca_err
days_set(struct parse *ps, const char *v, struct pol *p)
{
	long long d;
	pca_err e;

	if ((e = num_set(ps, v, 36500, &d)) != PCA_OK)
		return e;
	p->max_validity_s = d * 86400;
	return PCA_OK;
}

static pca_err
bits_set(struct parse *ps, const char *v, int *out)
{
	long long b;
	pca_err e;

	if ((e = num_set(ps, v, 16384, &b)) != PCA_OK)
		return e;
	*out = (int)b;
	return PCA_OK;
}

static pca_err
base_set(struct parse *ps, const char *v, struct pol *p)
{
	char name[POL_NAME_MAX];
	size_t i;

	if (ps->settings != 0)
		return perr(ps, "base must be the first setting of a policy");
	if (!find(ps->set, v, &i) || &ps->set->pols[i] == p)
		return perr(ps, "base names no earlier policy");
	memcpy(name, p->name, sizeof(name));
	*p = ps->set->pols[i];
	memcpy(p->name, name, sizeof(name));
	return PCA_OK;
}

/*
 * nc_permitted_dns, nc_excluded_dns, nc_permitted_ip, nc_excluded_ip,
 * nc_permitted_email, nc_excluded_email: name constraint subtrees.
 */
static pca_err
nc_set(struct parse *ps, const char *k, const char *v, struct pol *p,
    int *known)
{
	static const char *const kinds[POL_NC_KINDS] = {"dns", "ip", "email"};
	struct pol_list *l;
	size_t i, j;
	int permit;
	pca_err e;

	*known = 0;
	if (strncmp(k, "nc_permitted_", 13) == 0)
		permit = 1;
	else if (strncmp(k, "nc_excluded_", 12) == 0)
		permit = 0;
	else
		return PCA_OK;
	k += permit ? 13 : 12;
	for (i = 0; i < POL_NC_KINDS; i++)
		if (strcmp(k, kinds[i]) == 0)
			break;
	if (i == POL_NC_KINDS)
		return PCA_OK;
	*known = 1;
	l = permit ? &p->nc_permit[i] : &p->nc_exclude[i];
	if ((e = list_set(ps, v, l)) != PCA_OK)
		return e;
	for (j = 0; j < l->n; j++)
		if (pol_nc_item_check((enum pol_nc_kind)i, l->v[j]) != PCA_OK)
			return pca_err_set(PCA_EINVAL, "%s:%d: %s", ps->name,
			    ps->line, pca_err_msg());
	return PCA_OK;
}

/* One "key = value" inside [policy NAME]. */
static pca_err
set_one(struct parse *ps, const char *k, const char *v)
{
	struct pol *p = ps->cur;
	int known;
	pca_err e;

	if (!strcmp(k, "base"))
		return base_set(ps, v, p);
	if (!strcmp(k, "key_algorithms"))
		return keys_set(ps, v, p);
	if (!strcmp(k, "rsa_min_bits"))
		return bits_set(ps, v, &p->rsa_min);
	if (!strcmp(k, "ec_min_bits"))
		return bits_set(ps, v, &p->ec_min);
	if (!strcmp(k, "signing_algorithms"))
		return sigs_set(ps, v, &p->sig_algs);
	if (!strcmp(k, "max_validity_days"))
		return days_set(ps, v, p);
	if (!strcmp(k, "templates"))
		return list_set(ps, v, &p->templates);
	if (!strcmp(k, "eku_required"))
		return ekus_set(ps, v, &p->eku_required);
	if (!strcmp(k, "eku_allowed"))
		return ekus_set(ps, v, &p->eku_allowed);
	if (!strcmp(k, "dns_required"))
		return bool_set(ps, v, &p->dns_required);
	if (!strcmp(k, "wildcard"))
		return bool_set(ps, v, &p->wildcard);
	if (!strcmp(k, "dns_suffix_allow"))
		return list_set(ps, v, &p->dns_allow);
	if (!strcmp(k, "dns_suffix_deny"))
		return list_set(ps, v, &p->dns_deny);
	if (!strcmp(k, "ip_ranges"))
		return ips_set(ps, v, p);
	if (!strcmp(k, "email_domains"))
		return list_set(ps, v, &p->email_domains);
	if (!strcmp(k, "uri_prefixes"))
		return list_set(ps, v, &p->uri_prefixes);
	if (!strcmp(k, "subject_required"))
		return nids_set(ps, v, p->subj_required, &p->nreq);
	if (!strcmp(k, "subject_forbidden"))
		return nids_set(ps, v, p->subj_forbidden, &p->nforb);
	if ((e = nc_set(ps, k, v, p, &known)) != PCA_OK || known)
		return e;
	return pca_err_set(PCA_EINVAL, "%s:%d: unknown policy setting '%s'",
	    ps->name, ps->line, k);
}

/* "CA [ACCESS_KEY] = NAME" inside [bind]. */
static pca_err
bind_one(struct parse *ps, char *k, const char *v)
{
	struct pol_bind *b;
	char *key, *ca = k;
	const char *slash;
	size_t i;

	if (ps->set->nbind == POL_BIND_MAX)
		return perr(ps, "too many bindings");
	b = &ps->set->binds[ps->set->nbind];
	key = ca + strcspn(ca, " \t");
	if (*key != '\0')
		*key++ = '\0';
	key += strspn(key, " \t");
	if ((slash = strstr(ca, "certificate-authority/")) != NULL)
		ca = (char *)slash + 22;
	if (strcmp(ca, "*") != 0 && strlen(ca) != 36)
		return perr(ps, "a binding names a CA by UUID, ARN or '*'");
	if (strlen(key) >= sizeof(b->key) || strpbrk(key, " \t") != NULL)
		return perr(ps, "a binding takes at most one access key");
	if (!find(ps->set, v, &b->idx))
		return perr(ps, "a binding names no known policy");
	(void)snprintf(b->ca, sizeof(b->ca), "%s", ca);
	(void)snprintf(b->key, sizeof(b->key), "%s", key);
	for (i = 0; i < ps->set->nbind; i++)
		if (!strcmp(ps->set->binds[i].ca, b->ca) &&
		    !strcmp(ps->set->binds[i].key, b->key))
			return perr(ps, "this CA and key are bound twice");
	ps->set->nbind++;
	return PCA_OK;
}

static pca_err
section(struct parse *ps, char *s)
{
	char *close = strchr(s, ']');
	struct pol *p;
	size_t i;

	if (close == NULL || close[1] != '\0')
		return perr(ps, "bad section header");
	*close = '\0';
	ps->cur = NULL;
	ps->in_bind = strcmp(s + 1, "bind") == 0;
	if (ps->in_bind)
		return PCA_OK;
	if (strncmp(s + 1, "policy ", 7) != 0 || !valid_name(s + 8))
		return perr(ps, "sections are [policy NAME] and [bind]");
	if (find(ps->set, s + 8, &i))
		return perr(ps, "policy defined twice (or a built-in name)");
	(void)pol_builtins(&i);
	if (ps->set->n >= i + POL_MAX)
		return perr(ps, "too many policies");
	p = &ps->set->pols[ps->set->n++];
	memset(p, 0, sizeof(*p));
	p->wildcard = 1;
	(void)snprintf(p->name, sizeof(p->name), "%s", s + 8);
	ps->cur = p;
	ps->settings = 0;
	return PCA_OK;
}

static char *
trim(char *s)
{
	char *e;

	s += strspn(s, " \t\r");
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Cuts a comment: '#' at the start or after a space or tab. */
static void
comment_cut(char *s)
{
	char *h;

	for (h = strchr(s, '#'); h != NULL; h = strchr(h + 1, '#'))
		if (h == s || h[-1] == ' ' || h[-1] == '\t') {
			*h = '\0';
			return;
		}
}

static pca_err
line_one(struct parse *ps, char *s)
{
	char *eq, *k, *v;
	pca_err e;

	comment_cut(s);
	s = trim(s);
	if (*s == '\0' || *s == '#' || *s == ';')
		return PCA_OK;
	if (*s == '[')
		return section(ps, s);
	if ((eq = strchr(s, '=')) == NULL)
		return perr(ps, "expected 'key = value'");
	*eq = '\0';
	k = trim(s);
	v = trim(eq + 1);
	if (ps->in_bind)
		return bind_one(ps, k, v);
	if (ps->cur == NULL)
		return perr(ps, "setting outside [policy NAME]");
	if ((e = set_one(ps, k, v)) == PCA_OK)
		ps->settings++;
	return e;
}

pca_err
pol_set_parse(const char *text, size_t len, const char *name,
    struct pol_set **out)
{
	struct parse ps = {NULL, name, 0, NULL, 0, 0};
	char line[POL_LINE_MAX];
	size_t off = 0, n;
	pca_err e;

	if (len > POL_FILE_MAX)
		return pca_err_set(PCA_ETOOBIG, "%s: larger than %u bytes",
		    name, POL_FILE_MAX);
	if ((e = pol_set_new(&ps.set)) != PCA_OK)
		return e;
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		n = nl ? (size_t)(nl - (text + off)) : len - off;
		ps.line++;
		if (n >= sizeof(line) || memchr(text + off, '\0', n) != NULL) {
			e = perr(&ps, "line too long or binary");
			goto out;
		}
		memcpy(line, text + off, n);
		line[n] = '\0';
		off += n + 1;
		if ((e = line_one(&ps, line)) != PCA_OK)
			goto out;
	}
	*out = ps.set;
	ps.set = NULL;
out:
	pol_set_free(ps.set);
	return e;
}

pca_err
pol_set_load(const char *path, struct pol_set **out)
{
	uint8_t *text = NULL;
	size_t len = 0;
	pca_err e;

	if ((e = util_file_read(path, POL_FILE_MAX, &text, &len)) != PCA_OK)
		return e;
	e = pol_set_parse((const char *)text, len, path, out);
	free(text);
	return e;
}
