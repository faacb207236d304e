/*
 * profile.c - what an order is issued under: the ACME profiles of a CA
 * (draft-ietf-acme-profiles: the directory's meta.profiles, newOrder's
 * "profile"), each a record "acme-profile"/"<CA id>/<name>" written by
 * pcactl acme profile set and holding an issuance policy, a template ARN,
 * a validity in days and a description; and the issuance policy an order
 * is judged by before any challenge is offered (the profile's, else the
 * account's EAB policy, else the one bound to the CA), whose name rules
 * (san.*) are checked on the identifiers here and whose every rule is
 * checked again by the engine at finalize.
 *
 * Which profiles an account may name: those its EAB key lists; else, when
 * its key binds a policy, the profiles of that policy; else every profile
 * of the CA.  Without "profile", an order uses the key's policy, or the
 * first profile the key lists, or the CA's binding.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "../policy/policy.h"
#include "../store/store.h"
#include "server_int.h"

#define PROFILES_MAX 64 /* listed in the directory */

int
acme_profile_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > ACME_PROFILE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

struct plist {
	char prefix[48];
	size_t plen;
	json_t *out; /* name -> description */
};

static int
plist_one(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct plist *l = arg;
	json_t *o;

	if (strncmp(key, l->prefix, l->plen) != 0 ||
	    json_object_size(l->out) >= PROFILES_MAX)
		return 1;
	o = json_loadb((const char *)val, len, 0, NULL);
	json_object_set_new(l->out, key + l->plen,
	    json_string(json_is_string(json_object_get(o, "description"))
			    ? acme_str(o, "description")
			    : ""));
	json_decref(o);
	return 0;
}

/* {name: description} of the CA's profiles ({} when none). */
json_t *
acme_profiles_meta(struct rq *r)
{
	struct plist l;

	(void)snprintf(l.prefix, sizeof(l.prefix), "%s/", r->ca);
	l.plen = strlen(l.prefix);
	if ((l.out = json_object()) == NULL)
		return NULL;
	if (store_kv_foreach_from(r->a->st, "acme-profile", l.prefix, plist_one,
		&l) != PCA_OK)
		json_object_clear(l.out);
	return l.out;
}

static int
in_list(const json_t *l, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach (l, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

/* The profile record of the CA, or NULL. */
static json_t *
profile_get(struct rq *r, const char *name)
{
	char key[ACME_ID_MAX + ACME_PROFILE_MAX + 2];
	json_t *o = NULL;

	if (!acme_profile_name_ok(name))
		return NULL;
	(void)snprintf(key, sizeof(key), "%s/%s", r->ca, name);
	if (acme_rec_get(r->a, "acme-profile", key, &o) != PCA_OK)
		return NULL;
	return o;
}

static int
profile_allowed(const json_t *acct, const char *name, const json_t *prof)
{
	const json_t *l = json_object_get(acct, "profiles");
	const char *pol = acme_str(acct, "policy");

	if (json_array_size(l) > 0)
		return in_list(l, name);
	if (*pol)
		return strcmp(acme_str(prof, "policy"), pol) == 0;
	return 1;
}

static int
set_from_profile(struct rq *r, const char *name, const json_t *prof,
    struct acme_issue_as *out)
{
	json_int_t d =
	    json_integer_value(json_object_get(prof, "validity_days"));

	if (strlen(acme_str(prof, "template")) >= sizeof(out->tmpl) ||
	    strlen(acme_str(prof, "policy")) >= sizeof(out->policy)) {
		acme_problem(r, 500, "serverInternal",
		    "profile %s is unreadable", name);
		return 0;
	}
	(void)snprintf(out->profile, sizeof(out->profile), "%s", name);
	(void)snprintf(out->policy, sizeof(out->policy), "%s",
	    acme_str(prof, "policy"));
	(void)snprintf(out->tmpl, sizeof(out->tmpl), "%s",
	    acme_str(prof, "template"));
	if (d > 0 && d <= 36500)
		out->days = (unsigned)d;
	return 1;
}

/*
 * The profile, policy, template and validity of a new order: 1 with *out
 * filled, 0 with a problem set (malformed, invalidProfile).
 */
int
acme_issue_as(struct rq *r, const json_t *payload, struct acme_issue_as *out)
{
	const json_t *pv = json_object_get(payload, "profile");
	const json_t *l = json_object_get(r->acct, "profiles");
	const char *name;
	json_t *prof = NULL;
	int ok = 0;

	memset(out, 0, sizeof(*out));
	out->days = r->a->c.validity_days;
	if (pv != NULL && !json_is_string(pv)) {
		acme_problem(r, 400, "malformed", "profile must be a string");
		return 0;
	}
	if (pv == NULL) {
		if (*acme_str(r->acct, "policy")) {
			(void)snprintf(out->policy, sizeof(out->policy), "%s",
			    acme_str(r->acct, "policy"));
			return 1;
		}
		if (json_array_size(l) == 0)
			return 1; /* the CA's binding */
		name = json_string_value(json_array_get(l, 0));
		if (name == NULL || (prof = profile_get(r, name)) == NULL) {
			acme_problem(r, 400, "invalidProfile",
			    "the default profile of this account's EAB key "
			    "(%.64s) is not defined on this CA",
			    name ? name : "?");
			return 0;
		}
		ok = set_from_profile(r, name, prof, out);
		json_decref(prof);
		return ok;
	}
	name = json_string_value(pv);
	if ((prof = profile_get(r, name)) == NULL) {
		acme_problem(r, 400, "invalidProfile",
		    "profile \"%.64s\" is not offered by this CA (see the "
		    "directory's meta.profiles)",
		    name);
		return 0;
	}
	if (!profile_allowed(r->acct, name, prof)) {
		acme_problem(r, 400, "invalidProfile",
		    "this account (EAB key %.64s) may not use profile "
		    "\"%.64s\"",
		    acme_str(r->acct, "eab"), name);
		json_decref(prof);
		return 0;
	}
	ok = set_from_profile(r, name, prof, out);
	json_decref(prof);
	return ok;
}

/* ---- the identifiers against the policy's name rules ---- */

static GENERAL_NAME *
ident_gn(const json_t *id)
{
	const char *t = acme_str(id, "type"), *v = acme_str(id, "value");
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = NULL;
	ASN1_OCTET_STRING *o = NULL;
	unsigned char bin[16];
	int n = 0;

	if (g == NULL)
		return NULL;
	if (strcmp(t, "dns") == 0) {
		if ((s = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(s, v, (int)strlen(v)))
			goto fail;
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		return g;
	}
	if (inet_pton(AF_INET, v, bin) == 1)
		n = 4;
	else if (inet_pton(AF_INET6, v, bin) == 1)
		n = 16;
	if (n == 0 || (o = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(o, bin, n))
		goto fail;
	GENERAL_NAME_set0_value(g, GEN_IPADD, o);
	return g;
fail:
	ASN1_IA5STRING_free(s);
	ASN1_OCTET_STRING_free(o);
	GENERAL_NAME_free(g);
	return NULL;
}

struct first_fail {
	char rule[48];
	char detail[384];
};

static void
note(const char *rule, int ok, const char *detail, void *arg)
{
	struct first_fail *f = arg;

	if (ok != 0 || f->rule[0] || strncmp(rule, "san.", 4) != 0)
		return;
	(void)snprintf(f->rule, sizeof(f->rule), "%s", rule);
	(void)snprintf(f->detail, sizeof(f->detail), "%s", detail);
}

/*
 * The identifiers against the san.* rules of the order's policy (named, or
 * the CA's binding for this account): 1, or 0 with rejectedIdentifier
 * naming the policy and the rule.
 */
int
acme_policy_names_ok(struct rq *r, const struct acme_issue_as *as,
    const json_t *ids)
{
	const struct pol_set *ps = r->a->c.policies;
	const struct pol *p;
	struct pol_input in;
	struct first_fail f;
	GENERAL_NAME *g;
	char who[ACME_ID_MAX + 8];
	json_t *id;
	size_t i;

	if (ps == NULL)
		return 1;
	(void)snprintf(who, sizeof(who), "acme:%s", r->acct_id);
	p = as->policy[0] ? pol_set_get0(ps, as->policy)
			  : pol_set_lookup0(ps, r->ca, who);
	if (p == NULL && as->policy[0]) {
		acme_problem(r, 400, "rejectedIdentifier",
		    "policy %s: not defined on this appliance", as->policy);
		return 0;
	}
	if (p == NULL)
		return 1;
	memset(&in, 0, sizeof(in));
	in.validity_s = -1;
	in.eku_unknown = 1;
	if ((in.san = GENERAL_NAMES_new()) == NULL)
		goto nomem;
	json_array_foreach (ids, i, id) {
		if ((g = ident_gn(id)) == NULL)
			goto nomem;
		if (!sk_GENERAL_NAME_push(in.san, g)) {
			GENERAL_NAME_free(g);
			goto nomem;
		}
	}
	memset(&f, 0, sizeof(f));
	/* every rule runs; the san.* ones reach f through note */
	if (pol_check(p, &in, note, &f) != PCA_OK)
		pca_err_clear();
	pol_input_clear(&in);
	if (f.rule[0]) {
		acme_problem(r, 400, "rejectedIdentifier",
		    "policy %s: rule %s: %s", pol_name(p), f.rule, f.detail);
		return 0;
	}
	return 1;
nomem:
	pol_input_clear(&in);
	acme_problem(r, 500, "serverInternal", "no memory");
	return 0;
}
