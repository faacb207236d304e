/*
 * meta.c - tags, resource policies and permissions of a CA (spec 2.4.9,
 * 2.4.10), kept in the CA record ("Tags", "_Policy", "_Permissions") and
 * changed under the engine's record lock like every other mutation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../store/store.h"
#include "engine_int.h"

#define TAGS_MAX 50
#define PERMS_MAX 100
#define ACM_PRINCIPAL "acm.amazonaws.com"

static const char *const not_gone[] = {"CREATING", "PENDING_CERTIFICATE",
    "ACTIVE", "DISABLED", "EXPIRED", "FAILED", NULL};
static const char *const usable[] = {"CREATING", "PENDING_CERTIFICATE",
    "ACTIVE", "DISABLED", "EXPIRED", NULL};

typedef pca_err (
    *rec_edit)(json_t *rec, const void *arg, char *detail, size_t dlen);

/*
 * Read-modify-write of one record under the engine lock: scope and load,
 * check the state, edit, save, audit.
 */
static pca_err
meta_edit(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    const char *op, const char *const *states, rec_edit edit, const void *arg)
{
	json_t *rec = NULL;
	char uuid[37], detail[256] = "";
	pca_err err;

	pthread_mutex_lock(&e->mut);
	if ((err = ca_rec_begin(e, c, arn, uuid, &rec)) != PCA_OK)
		goto out;
	if (!ca_rec_status_in(rec, states)) {
		err = ca_rec_state_err(rec, op);
		goto out;
	}
	if ((err = edit(rec, arg, detail, sizeof(detail))) != PCA_OK ||
	    (err = ca_rec_save(e, uuid, rec, 0)) != PCA_OK)
		goto out;
	ca_audit(e, c, op, arn, detail);
out:
	pthread_mutex_unlock(&e->mut);
	json_decref(rec);
	return err;
}

/* A deep copy of the record (no lock: a consistent snapshot). */
static pca_err
meta_read(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    json_t **rec)
{
	char uuid[37];
	struct ca_ctx *ctx;
	pca_err err;

	if ((err = ca_arn_check(e, c, arn, uuid)) != PCA_OK ||
	    (err = ca_ctx_get(e, uuid, &ctx)) != PCA_OK)
		return err;
	*rec = json_deep_copy(ctx->rec);
	ca_ctx_put(e, ctx);
	return *rec ? PCA_OK : pca_err_set(PCA_ENOMEM, "no memory");
}

/* ---- tags ---- */

struct tags_arg {
	const struct ca_tag *v;
	size_t n;
};

pca_err
ca_tags_check(const struct ca_tag *tags, size_t n)
{
	size_t i, j;
	const char *k;

	for (i = 0; i < n; i++) {
		k = tags[i].key;
		if (k == NULL)
			return pca_err_set(PCA_EINVAL, "a tag has no Key");
		if (strncmp(k, "aws:", 4) == 0)
			return pca_err_set(PCA_EINVAL,
			    "Tag keys beginning with 'aws:' are reserved "
			    "(key '%.128s')",
			    k);
		for (j = 0; j < i; j++)
			if (strcmp(k, tags[j].key) == 0)
				return pca_err_set(PCA_EINVAL,
				    "Tag key '%.128s' is given twice", k);
	}
	return PCA_OK;
}

static json_t *
tags_of(json_t *rec)
{
	json_t *t = json_object_get(rec, "Tags");

	if (!json_is_array(t)) {
		t = json_array();
		json_object_set_new(rec, "Tags", t);
	}
	return t;
}

static ssize_t
tag_find(const json_t *tags, const char *key)
{
	size_t i;

	for (i = 0; i < json_array_size(tags); i++)
		if (strcmp(json_string_value(
			       json_object_get(json_array_get(tags, i), "Key"))
			       ?: "",
			key) == 0)
			return (ssize_t)i;
	return -1;
}

/* A tag as stored: Key, and Value when given. */
static json_t *
tag_json(const struct ca_tag *t)
{
	if (t->value != NULL)
		return json_pack("{s:s,s:s}", "Key", t->key, "Value", t->value);
	return json_pack("{s:s}", "Key", t->key);
}

static pca_err
tags_add_edit(json_t *rec, const void *arg, char *detail, size_t dlen)
{
	const struct tags_arg *in = arg;
	json_t *tags = tags_of(rec), *copy;
	ssize_t at;
	size_t i;

	for (i = 0; i < in->n; i++) {
		if ((copy = tag_json(&in->v[i])) == NULL)
			return pca_err_set(PCA_ENOMEM, "no memory");
		at = tag_find(tags, in->v[i].key);
		if (at >= 0)
			json_array_set_new(tags, (size_t)at, copy);
		else
			json_array_append_new(tags, copy);
	}
	if (json_array_size(tags) > TAGS_MAX)
		return pca_err_set(PCA_ELIMIT,
		    "A certificate authority can have at most %d tags (this "
		    "request would leave %zu)",
		    TAGS_MAX, json_array_size(tags));
	(void)snprintf(detail, dlen, "tags=%zu", in->n);
	return PCA_OK;
}

pca_err
ca_tags_add(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    const struct ca_tag *tags, size_t n)
{
	const struct tags_arg a = {tags, n};
	pca_err err;

	if ((err = ca_tags_check(tags, n)) != PCA_OK)
		return err;
	return meta_edit(e, c, arn, "TagCertificateAuthority", not_gone,
	    tags_add_edit, &a);
}

static pca_err
tags_remove_edit(json_t *rec, const void *arg, char *detail, size_t dlen)
{
	const struct tags_arg *in = arg;
	const char *have;
	json_t *tags = tags_of(rec);
	ssize_t at;
	size_t i, removed = 0;

	for (i = 0; i < in->n; i++) {
		at = tag_find(tags, in->v[i].key ? in->v[i].key : "");
		if (at < 0)
			continue;
		have = json_string_value(
		    json_object_get(json_array_get(tags, (size_t)at), "Value"));
		if (in->v[i].value != NULL &&
		    (have == NULL || strcmp(in->v[i].value, have) != 0))
			continue;
		json_array_remove(tags, (size_t)at);
		removed++;
	}
	(void)snprintf(detail, dlen, "removed=%zu", removed);
	return PCA_OK;
}

pca_err
ca_tags_remove(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    const struct ca_tag *tags, size_t n)
{
	const struct tags_arg a = {tags, n};
	size_t i;

	for (i = 0; i < n; i++)
		if (strncmp(tags[i].key ? tags[i].key : "", "aws:", 4) == 0)
			return pca_err_set(PCA_EINVAL,
			    "Tag keys beginning with 'aws:' are reserved");
	return meta_edit(e, c, arn, "UntagCertificateAuthority", not_gone,
	    tags_remove_edit, &a);
}

static int
by_key(const void *x, const void *y)
{
	return strcmp(
	    json_string_value(json_object_get(*(json_t *const *)x, "Key"))
		?: "",
	    json_string_value(json_object_get(*(json_t *const *)y, "Key"))
		?: "");
}

/* A new array of the objects of arr, sorted with cmp. */
static pca_err
sorted_copy(const json_t *arr, int (*cmp)(const void *, const void *),
    json_t **out)
{
	size_t n = json_array_size(arr), i;
	json_t **v = calloc(n + 1, sizeof(*v)), *res = json_array();

	if (v == NULL || res == NULL) {
		free(v);
		json_decref(res);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	qsort(v, n, sizeof(*v), cmp);
	for (i = 0; i < n; i++)
		json_array_append(res, v[i]);
	free(v);
	*out = res;
	return PCA_OK;
}

/* A copy of a JSON string member, "" when it is missing; NULL: no memory. */
static char *
str_dup(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return strdup(s ? s : "");
}

void
ca_tags_free(struct ca_tag *tags, size_t n)
{
	size_t i;

	if (tags == NULL)
		return;
	for (i = 0; i < n; i++) {
		free((char *)tags[i].key);
		free((char *)tags[i].value);
	}
	free(tags);
}

pca_err
ca_tags_get(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    struct ca_tag **out, size_t *nout)
{
	json_t *rec = NULL, *sorted = NULL, *t;
	struct ca_tag *v = NULL;
	const char *val;
	size_t n = 0;
	pca_err err;

	if ((err = meta_read(e, c, arn, &rec)) != PCA_OK ||
	    (err = sorted_copy(json_object_get(rec, "Tags"), by_key,
		 &sorted)) != PCA_OK)
		goto out;
	if ((v = calloc(json_array_size(sorted) + 1, sizeof(*v))) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	for (n = 0; n < json_array_size(sorted); n++) {
		t = json_array_get(sorted, n);
		val = json_string_value(json_object_get(t, "Value"));
		v[n].key = str_dup(t, "Key");
		v[n].value = val != NULL ? strdup(val) : NULL;
		if (v[n].key == NULL || (val != NULL && v[n].value == NULL)) {
			n++;
			err = pca_err_set(PCA_ENOMEM, "no memory");
			goto out;
		}
	}
	*out = v;
	*nout = n;
	v = NULL;
out:
	ca_tags_free(v, n);
	json_decref(sorted);
	json_decref(rec);
	return err;
}

/* ---- resource policies ---- */

static pca_err
policy_check(const char *text)
{
	json_t *p = json_loads(text, JSON_REJECT_DUPLICATES, NULL), *st, *s;
	const char *eff;
	size_t i, n;
	pca_err err = PCA_OK;

	st = json_object_get(p, "Statement");
	n = json_is_array(st) ? json_array_size(st) : json_is_object(st);
	if (!json_is_object(p) ||
	    !json_is_string(json_object_get(p, "Version")) || n == 0)
		err = pca_err_set(PCA_EPOLICY,
		    "The resource policy is invalid or is missing a required "
		    "statement: it must be a JSON object with Version and a "
		    "non-empty Statement");
	for (i = 0; err == PCA_OK && i < n; i++) {
		s = json_is_array(st) ? json_array_get(st, i) : st;
		eff = json_string_value(json_object_get(s, "Effect"));
		if (!json_is_object(s) || eff == NULL ||
		    (strcmp(eff, "Allow") != 0 && strcmp(eff, "Deny") != 0) ||
		    json_object_get(s, "Action") == NULL ||
		    json_object_get(s, "Principal") == NULL)
			err = pca_err_set(PCA_EPOLICY,
			    "The resource policy is invalid: statement %zu "
			    "needs Effect (Allow or Deny), Principal and "
			    "Action",
			    i + 1);
	}
	json_decref(p);
	return err;
}

static pca_err
policy_put_edit(json_t *rec, const void *arg, char *detail, size_t dlen)
{
	json_object_set_new(rec, "_Policy", json_string(arg));
	(void)snprintf(detail, dlen, "policy=%zu bytes", strlen(arg));
	return PCA_OK;
}

pca_err
ca_policy_put(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    const char *policy)
{
	pca_err err;

	if ((err = policy_check(policy)) != PCA_OK)
		return err;
	return meta_edit(e, c, arn, "PutPolicy", usable, policy_put_edit,
	    policy);
}

pca_err
ca_policy_get(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    char **out)
{
	json_t *rec = NULL;
	const char *p;
	pca_err err;

	if ((err = meta_read(e, c, arn, &rec)) != PCA_OK)
		return err;
	if ((p = json_string_value(json_object_get(rec, "_Policy"))) == NULL)
		err = pca_err_set(PCA_ENOTFOUND,
		    "No resource policy is attached to %s", arn);
	else if ((*out = strdup(p)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	json_decref(rec);
	return err;
}

static pca_err
policy_del_edit(json_t *rec, const void *arg, char *detail, size_t dlen)
{
	(void)arg;
	(void)snprintf(detail, dlen, "policy=%s",
	    json_object_get(rec, "_Policy") ? "deleted" : "none");
	json_object_del(rec, "_Policy");
	return PCA_OK;
}

pca_err
ca_policy_delete(struct ca_engine *e, const struct ca_caller *c,
    const char *arn)
{
	return meta_edit(e, c, arn, "DeletePolicy", usable, policy_del_edit,
	    NULL);
}

/* ---- permissions ---- */

struct perm_arg {
	const char *principal;
	const char *account;
	const char *const *actions;
	size_t nactions;
};

static json_t *
perms_of(json_t *rec)
{
	json_t *p = json_object_get(rec, "_Permissions");

	if (!json_is_array(p)) {
		p = json_array();
		json_object_set_new(rec, "_Permissions", p);
	}
	return p;
}

static ssize_t
perm_find(const json_t *perms, const char *principal, const char *account)
{
	size_t i;
	const json_t *p;

	for (i = 0; i < json_array_size(perms); i++) {
		p = json_array_get(perms, i);
		if (strcmp(json_string_value(json_object_get(p, "Principal"))
			       ?: "",
			principal) == 0 &&
		    strcmp(
			json_string_value(json_object_get(p, "SourceAccount"))
			    ?: "",
			account) == 0)
			return (ssize_t)i;
	}
	return -1;
}

static pca_err
perm_create_edit(json_t *rec, const void *arg, char *detail, size_t dlen)
{
	const struct perm_arg *a = arg;
	json_t *perms = perms_of(rec), *p, *acts;
	size_t i;

	if (perm_find(perms, a->principal, a->account) >= 0)
		return pca_err_set(PCA_EEXISTS,
		    "The permission for %s from account %s already exists",
		    a->principal, a->account);
	if (json_array_size(perms) >= PERMS_MAX)
		return pca_err_set(PCA_ELIMIT, "too many permissions");
	if ((acts = json_array()) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (i = 0; i < a->nactions; i++)
		if (json_array_append_new(acts, json_string(a->actions[i])) !=
		    0) {
			json_decref(acts);
			return pca_err_set(PCA_ENOMEM, "no memory");
		}
	p = json_pack("{s:s,s:s,s:o,s:I}", "Principal", a->principal,
	    "SourceAccount", a->account, "Actions", acts, "CreatedAt",
	    (json_int_t)util_now());
	if (p == NULL || json_array_append_new(perms, p) != 0)
		return pca_err_set(PCA_ENOMEM, "no memory");
	(void)snprintf(detail, dlen, "principal=%s source_account=%s",
	    a->principal, a->account);
	return PCA_OK;
}

static pca_err
actions_check(const char *const *actions, size_t n)
{
	static const char *const ok[] = {"IssueCertificate", "GetCertificate",
	    "ListPermissions", NULL};
	const char *s;
	size_t i;
	int j;

	if (actions == NULL || n == 0 || n > CA_PERM_ACTIONS_MAX)
		return pca_err_set(PCA_EVALIDATION,
		    "Actions must list 1 to 3 actions");
	for (i = 0; i < n; i++) {
		s = actions[i];
		for (j = 0; s != NULL && ok[j] != NULL; j++)
			if (strcmp(s, ok[j]) == 0)
				break;
		if (s == NULL || ok[j] == NULL)
			return pca_err_set(PCA_EVALIDATION,
			    "Actions may only be IssueCertificate, "
			    "GetCertificate and ListPermissions");
	}
	return PCA_OK;
}

pca_err
ca_perm_create(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    const char *principal, const char *source_account,
    const char *const *actions, size_t nactions)
{
	struct perm_arg a = {principal,
	    source_account ? source_account : c->account, actions, nactions};
	pca_err err;

	if (principal == NULL || strcmp(principal, ACM_PRINCIPAL) != 0)
		return pca_err_set(PCA_EVALIDATION,
		    "1 validation error detected: Value '%.128s' at "
		    "'principal' failed to satisfy constraint: Member must be "
		    "'%s'",
		    principal ? principal : "", ACM_PRINCIPAL);
	if ((err = actions_check(actions, nactions)) != PCA_OK)
		return err;
	return meta_edit(e, c, arn, "CreatePermission", usable,
	    perm_create_edit, &a);
}

static pca_err
perm_delete_edit(json_t *rec, const void *arg, char *detail, size_t dlen)
{
	const struct perm_arg *a = arg;
	json_t *perms = perms_of(rec);
	ssize_t at = perm_find(perms, a->principal, a->account);

	if (at < 0)
		return pca_err_set(PCA_ENOTFOUND,
		    "No permission for %.128s from account %s exists",
		    a->principal, a->account);
	json_array_remove(perms, (size_t)at);
	(void)snprintf(detail, dlen, "principal=%.128s source_account=%s",
	    a->principal, a->account);
	return PCA_OK;
}

pca_err
ca_perm_delete(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    const char *principal, const char *source_account)
{
	struct perm_arg a = {principal,
	    source_account ? source_account : c->account, NULL, 0};

	return meta_edit(e, c, arn, "DeletePermission", usable,
	    perm_delete_edit, &a);
}

/* The policy AWS shows for a permission: the service principal may act. */
static char *
perm_policy(const char *arn, const json_t *p)
{
	json_t *acts = json_array(), *pol;
	const char *acct =
	    json_string_value(json_object_get(p, "SourceAccount"));
	char name[64], *s;
	size_t i;

	for (i = 0;
	     acts != NULL && i < json_array_size(json_object_get(p, "Actions"));
	     i++) {
		(void)snprintf(name, sizeof(name), "acm-pca:%s",
		    json_string_value(
			json_array_get(json_object_get(p, "Actions"), i))
			?: "");
		json_array_append_new(acts, json_string(name));
	}
	pol = json_pack("{s:s,s:[{s:s,s:s,s:{s:O},s:o,s:s,s:{s:{s:s}}}]}",
	    "Version", "2012-10-17", "Statement", "Sid", "acm-permission",
	    "Effect", "Allow", "Principal", "Service",
	    json_object_get(p, "Principal"), "Action", acts, "Resource", arn,
	    "Condition", "StringEquals", "aws:SourceAccount", acct ? acct : "");
	s = pol ? json_dumps(pol, JSON_COMPACT) : NULL;
	json_decref(pol);
	return s;
}

static int
by_principal(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	int c = strcmp(json_string_value(json_object_get(a, "Principal")) ?: "",
	    json_string_value(json_object_get(b, "Principal")) ?: "");

	return c ? c
		 : strcmp(json_string_value(json_object_get(a, "SourceAccount"))
			      ?: "",
		       json_string_value(json_object_get(b, "SourceAccount"))
			   ?: "");
}

void
ca_perm_list_free(struct ca_perm *v, size_t n)
{
	size_t i, k;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].principal);
		free(v[i].source_account);
		for (k = 0; k < v[i].nactions; k++)
			free(v[i].actions[k]);
		free(v[i].policy);
	}
	free(v);
}

/* One stored permission to its ListPermissions form; PCA_ENOMEM. */
static pca_err
perm_of(const char *arn, const json_t *p, struct ca_perm *o)
{
	const json_t *acts = json_object_get(p, "Actions");
	size_t k;

	o->principal = str_dup(p, "Principal");
	o->source_account = str_dup(p, "SourceAccount");
	o->created_at =
	    (int64_t)json_integer_value(json_object_get(p, "CreatedAt"));
	o->policy = perm_policy(arn, p);
	if (o->principal == NULL || o->source_account == NULL ||
	    o->policy == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (k = 0; k < json_array_size(acts) && k < CA_PERM_ACTIONS_MAX; k++) {
		if ((o->actions[k] = strdup(
			 json_string_value(json_array_get(acts, k)) ?: "")) ==
		    NULL)
			return pca_err_set(PCA_ENOMEM, "no memory");
		o->nactions = k + 1;
	}
	return PCA_OK;
}

pca_err
ca_perm_list(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    struct ca_perm **out, size_t *nout)
{
	json_t *rec = NULL, *sorted = NULL;
	struct ca_perm *v = NULL;
	size_t n = 0;
	pca_err err;

	if ((err = meta_read(e, c, arn, &rec)) != PCA_OK)
		return err;
	if (!ca_rec_status_in(rec, usable)) {
		err = pca_err_set(PCA_ESTATE,
		    "The certificate authority is in the %s state; "
		    "ListPermissions is not allowed (%s)",
		    json_string_value(json_object_get(rec, "Status")), arn);
		goto out;
	}
	if ((err = sorted_copy(json_object_get(rec, "_Permissions"),
		 by_principal, &sorted)) != PCA_OK)
		goto out;
	if ((v = calloc(json_array_size(sorted) + 1, sizeof(*v))) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	while (n < json_array_size(sorted)) {
		n++; /* the entry is freed with the others should it fail */
		if ((err = perm_of(arn, json_array_get(sorted, n - 1),
			 &v[n - 1])) != PCA_OK)
			goto out;
	}
	*out = v;
	*nout = n;
	v = NULL;
out:
	ca_perm_list_free(v, n);
	json_decref(rec);
	json_decref(sorted);
	return err;
}

/* ---- CAs shared with the caller ---- */

struct shared_arg {
	const struct ca_caller *c;
	int (*shared)(const char *, void *);
	void *arg;
	json_t *found; /* [[account, arn], ...] */
};

static int
shared_cb(const char *id, const char *json, size_t len, void *arg)
{
	struct shared_arg *a = arg;
	json_t *r = json_loadb(json, len, 0, NULL);
	const char *owner =
	    json_string_value(json_object_get(r, "OwnerAccount"));
	const char *pol = json_string_value(json_object_get(r, "_Policy"));

	(void)id;
	if (owner != NULL && pol != NULL && strcmp(owner, a->c->account) != 0 &&
	    strcmp(json_string_value(json_object_get(r, "_Region")) ?: "",
		a->c->region) == 0 &&
	    a->shared(pol, a->arg))
		json_array_append_new(a->found,
		    json_pack("[s,O]", owner, json_object_get(r, "Arn")));
	json_decref(r);
	return 0;
}

pca_err
ca_list_shared(struct ca_engine *e, const struct ca_caller *c,
    int (*shared)(const char *policy, void *arg), void *arg, json_t **out)
{
	struct shared_arg a = {c, shared, arg, json_array()};
	struct ca_caller owner = {NULL, c->region, c->who};
	json_t *all = json_array(), *d;
	size_t i;
	pca_err err;

	if (a.found == NULL || all == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if ((err = store_ca_foreach(e->store, shared_cb, &a)) != PCA_OK)
		goto out;
	for (i = 0; i < json_array_size(a.found); i++) {
		owner.account = json_string_value(
		    json_array_get(json_array_get(a.found, i), 0));
		if (ca_describe(e, &owner,
			json_string_value(
			    json_array_get(json_array_get(a.found, i), 1)),
			&d) == PCA_OK)
			json_array_append_new(all, d);
	}
	pca_err_clear();
	err = sorted_copy(all, ca_rec_by_created, out);
out:
	json_decref(a.found);
	json_decref(all);
	return err;
}
