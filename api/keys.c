/*
 * keys.c - the API access-key registry: records in the store's kv database
 * (namespace "keys"), secrets sealed by the token, and the daemon's cache
 * of SigV4 signing keys (kSigning per access key, date, region and
 * service; the token's side derives them from the sealed secret, which
 * pcad never unseals here), keyed by the exact stored record so a
 * revocation (by pcactl, in another process) takes effect on the next
 * request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../iam/iam.h"
#include "../store/store.h"
#include "api_int.h"

#define KEYS_NS "keys"
#define SECRET_RAW 30 /* 30 bytes -> 40 base64 characters */
#define RECORD_MAX (IAM_MAX_POLICY_BYTES + 4096)
#define KEY_RECORD_V 2

struct keycache_ent {
	char akid[129];
	uint8_t digest[32]; /* SHA-256 of the stored record */
	char date[9];
	char region[64];
	char service[64];
	char account[13];
	uint8_t ksigning[32];
	struct iam_policy *pol; /* the record's policy, parsed (a reference) */
	uint64_t used;
};

struct api_keycache {
	pthread_mutex_t mu;
	struct keycache_ent *ents;
	size_t n;
	uint64_t tick;
};

static void
audit(struct store *st, const char *text)
{
	uint64_t seq;

	if (store_audit_append(st, util_now(), text, &seq) != PCA_OK)
		log_warnx("audit append failed for '%s': %s", text,
		    pca_err_msg());
}

/* n characters from alphabet (size < 256) drawn without modulo bias. */
static pca_err
random_chars(char *out, size_t n, const char *alphabet)
{
	size_t k = strlen(alphabet), i = 0, limit = 256 - 256 % k;
	unsigned char b[64];
	size_t j;

	while (i < n) {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return pca_err_set(PCA_EINTERNAL, "CSPRNG failure");
		for (j = 0; j < sizeof(b) && i < n; j++)
			if (b[j] < limit)
				out[i++] = alphabet[b[j] % k];
	}
	out[n] = '\0';
	return PCA_OK;
}

static pca_err
make_secret(char secret[41])
{
	uint8_t raw[SECRET_RAW];
	char *b64 = NULL;
	pca_err err;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return pca_err_set(PCA_EINTERNAL, "CSPRNG failure");
	err = util_b64_encode(raw, sizeof(raw), &b64);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (err != PCA_OK)
		return err;
	memcpy(secret, b64, 40);
	secret[40] = '\0';
	mem_free_secure(b64, strlen(b64));
	return PCA_OK;
}

static int
is_account(const char *s)
{
	return s != NULL && strlen(s) == 12 && strspn(s, "0123456789") == 12;
}

/*
 * The record's "Policy" member: {"Managed": name, "CAs": [...]} for a
 * built-in managed policy, {"Document": {...}} for a custom one.
 */
static pca_err
policy_member(const struct api_key_spec *sp, json_t **out)
{
	struct iam_policy *p = NULL;
	json_t *o, *cas;
	char *doc = NULL;
	size_t i;
	pca_err err;

	if (sp->policy != NULL) {
		if ((err = iam_policy_parse(sp->policy, strlen(sp->policy),
			 IAM_IDENTITY, &p)) != PCA_OK)
			return err;
		iam_policy_free(p);
		o = json_pack("{s:o}", "Document",
		    json_loads(sp->policy, 0, NULL));
	} else {
		/* validates the name and the CAs */
		if ((err = iam_managed_doc(sp->managed, sp->cas, sp->ncas,
			 &doc)) != PCA_OK)
			return err;
		free(doc);
		cas = json_array();
		for (i = 0; cas != NULL && i < sp->ncas; i++)
			if (json_array_append_new(cas, json_string(sp->cas[i])))
				break;
		o = json_pack("{s:s,s:o}", "Managed", sp->managed, "CAs", cas);
	}
	if (o == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	*out = o;
	return PCA_OK;
}

static pca_err
cas_check(const struct api_key_spec *sp)
{
	size_t i;

	for (i = 0; i < sp->ncas; i++)
		if (strncmp(sp->cas[i], "arn:", 4) != 0 ||
		    strstr(sp->cas[i], ":certificate-authority/") == NULL)
			return pca_err_set(PCA_EINVAL,
			    "--ca %.100s is not a CA ARN "
			    "(arn:aws:acm-pca:REGION:ACCOUNT:"
			    "certificate-authority/ID)",
			    sp->cas[i]);
	if (sp->policy != NULL && sp->ncas > 0)
		return pca_err_set(PCA_EINVAL,
		    "--ca goes with a managed policy (--role), not --policy");
	return PCA_OK;
}

/* The stored record: account, policy, status and the sealed secret. */
static pca_err
key_record(const struct seal_ops *seal, const struct api_key_spec *sp,
    const char *secret, char **out)
{
	uint8_t *sealed = NULL;
	size_t sealed_len;
	char *b64 = NULL;
	json_t *rec, *pol = NULL;
	pca_err err;

	if (seal->seal == NULL)
		return pca_err_set(PCA_EUNAVAIL, "no token to seal the secret");
	if ((err = policy_member(sp, &pol)) != PCA_OK)
		return err;
	if ((err = seal->seal(seal->ctx, API_SEAL_LABEL,
		 (const uint8_t *)secret, strlen(secret), &sealed,
		 &sealed_len)) != PCA_OK) {
		json_decref(pol);
		return err;
	}
	err = util_b64_encode(sealed, sealed_len, &b64);
	free(sealed);
	if (err != PCA_OK) {
		json_decref(pol);
		return err;
	}
	rec = json_pack("{s:i,s:s,s:o,s:s,s:I,s:s}", "v", KEY_RECORD_V,
	    "Account", sp->account, "Policy", pol, "Status", "ACTIVE",
	    "CreatedAt", (json_int_t)util_now(), "Sealed", b64);
	free(b64);
	if (rec == NULL ||
	    (*out = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	json_decref(rec);
	return err;
}

pca_err
api_key_create(struct store *st, const struct seal_ops *seal,
    const char *account, const char *role, char akid[21], char secret[41])
{
	struct api_key_spec sp;

	memset(&sp, 0, sizeof(sp));
	sp.account = account;
	sp.managed = role;
	return api_key_create_ex(st, seal, &sp, akid, secret);
}

pca_err
api_key_create_ex(struct store *st, const struct seal_ops *seal,
    const struct api_key_spec *sp, char akid[21], char secret[41])
{
	char id[21], sec[41], *rec = NULL, line[256];
	int tries;
	pca_err err;

	if (!is_account(sp->account))
		return pca_err_set(PCA_EINVAL, "account must be 12 digits");
	if (sp->policy == NULL && !iam_managed_known(sp->managed))
		return pca_err_set(PCA_EINVAL,
		    "role must be admin, issuer or auditor");
	if ((err = cas_check(sp)) != PCA_OK)
		return err;
	if ((err = make_secret(sec)) != PCA_OK ||
	    (err = key_record(seal, sp, sec, &rec)) != PCA_OK)
		goto out;
	for (tries = 0; tries < 8; tries++) {
		memcpy(id, "AKIA", 4);
		if ((err = random_chars(id + 4, 16,
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")) != PCA_OK)
			goto out;
		err = store_kv_put_chg(st,
		    &(struct store_kv_in){KEYS_NS, id, rec, strlen(rec)}, 1,
		    STORE_CHG_KEY, NULL);
		if (err != PCA_EEXISTS)
			break;
	}
	if (err != PCA_OK)
		goto out;
	(void)snprintf(line, sizeof(line),
	    "op=CreateAccessKey who=local akid=%s account=%s policy=%s "
	    "cas=%zu",
	    id, sp->account, sp->policy ? "custom" : sp->managed, sp->ncas);
	audit(st, line);
	memcpy(akid, id, sizeof(id));
	memcpy(secret, sec, sizeof(sec));
out:
	OPENSSL_cleanse(sec, sizeof(sec));
	free(rec);
	return err;
}

/*
 * The policy of a record: *name the managed policy's name or "custom",
 * *doc its document (managed ones expanded).  Version-1 records carry a
 * Role, which is the managed policy of the same name over every CA.
 */
static pca_err
record_policy(const json_t *r, const char **name, char **doc)
{
	const json_t *pol = json_object_get(r, "Policy");
	const json_t *cas = json_object_get(pol, "CAs");
	const char *m, *ca[IAM_MAX_VALUES];
	size_t i, n = 0;

	if (pol == NULL) {
		m = json_string_value(json_object_get(r, "Role"));
		if (!iam_managed_known(m))
			return pca_err_set(PCA_EDB,
			    "access key record has "
			    "neither a policy nor a known role");
		*name = m;
		return iam_managed_doc(m, NULL, 0, doc);
	}
	if (json_object_get(pol, "Document") != NULL) {
		*doc = json_dumps(json_object_get(pol, "Document"),
		    JSON_COMPACT | JSON_SORT_KEYS);
		*name = "custom";
		return *doc ? PCA_OK : pca_err_set(PCA_ENOMEM, "no memory");
	}
	m = json_string_value(json_object_get(pol, "Managed"));
	for (i = 0; i < json_array_size(cas) && n < IAM_MAX_VALUES; i++)
		if (json_is_string(json_array_get(cas, i)))
			ca[n++] = json_string_value(json_array_get(cas, i));
	*name = m;
	return iam_managed_doc(m, ca, n, doc);
}

struct list_arg {
	json_t *arr;
	pca_err err;
};

static int
list_cb(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct list_arg *a = arg;
	json_t *r = json_loadb((const char *)val, len, 0, NULL), *o;
	const char *name = NULL;
	char *doc = NULL;

	if (r == NULL || record_policy(r, &name, &doc) != PCA_OK) {
		json_decref(r);
		a->err =
		    pca_err_set(PCA_EDB, "access key %s: corrupt record", key);
		return 1;
	}
	o = json_pack("{s:s,s:O,s:s,s:o,s:O,s:O}", "AccessKeyId", key,
	    "Account", json_object_get(r, "Account"), "Policy", name,
	    "PolicyDocument", json_loads(doc, 0, NULL), "Status",
	    json_object_get(r, "Status"), "CreatedAt",
	    json_object_get(r, "CreatedAt"));
	free(doc);
	if (o != NULL &&
	    json_is_array(
		json_object_get(json_object_get(r, "Policy"), "CAs")) &&
	    json_array_size(
		json_object_get(json_object_get(r, "Policy"), "CAs")) > 0)
		json_object_set(o, "CAs",
		    json_object_get(json_object_get(r, "Policy"), "CAs"));
	if (o != NULL && json_object_get(r, "RevokedAt") != NULL)
		json_object_set(o, "RevokedAt",
		    json_object_get(r, "RevokedAt"));
	json_decref(r);
	if (o == NULL || json_array_append_new(a->arr, o) != 0) {
		a->err = pca_err_set(PCA_ENOMEM, "no memory");
		return 1;
	}
	return 0;
}

pca_err
api_key_list(struct store *st, json_t **out)
{
	struct list_arg a = {json_array(), PCA_OK};
	pca_err err;

	if (a.arr == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((err = store_kv_foreach(st, KEYS_NS, list_cb, &a)) == PCA_OK)
		err = a.err;
	if (err != PCA_OK) {
		json_decref(a.arr);
		return err;
	}
	*out = a.arr;
	return PCA_OK;
}

pca_err
api_key_revoke(struct store *st, const char *akid)
{
	uint8_t *val = NULL;
	size_t len;
	json_t *r = NULL;
	char *s = NULL, line[256];
	pca_err err;

	if ((err = store_kv_get(st, KEYS_NS, akid, &val, &len)) != PCA_OK) {
		if (err == PCA_ENOTFOUND)
			err = pca_err_set(PCA_ENOTFOUND,
			    "access key %.40s does not exist", akid);
		return err;
	}
	if ((r = json_loadb((const char *)val, len, 0, NULL)) == NULL) {
		err = pca_err_set(PCA_EDB, "access key %.40s: corrupt record",
		    akid);
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(r, "Status")) ?: "",
		"ACTIVE") != 0) {
		err = pca_err_set(PCA_EALREADY,
		    "access key %.40s is already revoked", akid);
		goto out;
	}
	json_object_set_new(r, "Status", json_string("REVOKED"));
	json_object_set_new(r, "RevokedAt", json_integer(util_now()));
	json_object_del(r, "Sealed"); /* the secret is gone for good */
	if ((s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if ((err = store_kv_put_chg(st,
		 &(struct store_kv_in){KEYS_NS, akid, s, strlen(s)}, 0,
		 STORE_CHG_KEY, NULL)) != PCA_OK)
		goto out;
	(void)snprintf(line, sizeof(line),
	    "op=RevokeAccessKey who=local akid=%.40s", akid);
	audit(st, line);
out:
	free(val);
	free(s);
	json_decref(r);
	return err;
}

/* ---- the daemon's cache ---- */

pca_err
api_keycache_new(struct api_keycache **out)
{
	struct api_keycache *c = calloc(1, sizeof(*c));

	if (c == NULL ||
	    (c->ents = calloc(API_KEYCACHE_MAX, sizeof(*c->ents))) == NULL) {
		free(c);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	pthread_mutex_init(&c->mu, NULL);
	*out = c;
	return PCA_OK;
}

void
api_keycache_free(struct api_keycache *c)
{
	if (c == NULL)
		return;
	while (c->n > 0)
		iam_policy_free(c->ents[--c->n].pol);
	OPENSSL_cleanse(c->ents, API_KEYCACHE_MAX * sizeof(*c->ents));
	free(c->ents);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* The entry's scope is a's. */
static int
ent_scope_is(const struct keycache_ent *e, const struct sigv4_auth *a)
{
	return strcmp(e->date, a->date) == 0 &&
	       strcmp(e->region, a->region) == 0 &&
	       strcmp(e->service, a->service) == 0;
}

static int
cache_find(struct api_keycache *c, const struct sigv4_auth *a,
    const uint8_t digest[32], struct api_key *out)
{
	size_t i;
	int hit = 0;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < c->n; i++)
		if (strcmp(c->ents[i].akid, a->akid) == 0 &&
		    memcmp(c->ents[i].digest, digest, 32) == 0 &&
		    ent_scope_is(&c->ents[i], a)) {
			memcpy(out->account, c->ents[i].account,
			    sizeof(out->account));
			memcpy(out->ksigning, c->ents[i].ksigning,
			    sizeof(out->ksigning));
			out->parsed = iam_policy_ref(c->ents[i].pol);
			c->ents[i].used = ++c->tick;
			hit = 1;
			break;
		}
	pthread_mutex_unlock(&c->mu);
	return hit;
}

/* Drops entry i (the last one takes its place); under mu. */
static void
cache_drop(struct api_keycache *c, size_t i)
{
	iam_policy_free(c->ents[i].pol);
	if (i != c->n - 1)
		c->ents[i] = c->ents[c->n - 1];
	OPENSSL_cleanse(&c->ents[c->n - 1], sizeof(c->ents[0]));
	c->n--;
}

/* Forgets every entry of akid (revoked: its keys are wiped at once). */
static void
cache_forget(struct api_keycache *c, const char *akid)
{
	size_t i;

	pthread_mutex_lock(&c->mu);
	for (i = c->n; i-- > 0;)
		if (strcmp(c->ents[i].akid, akid) == 0)
			cache_drop(c, i);
	pthread_mutex_unlock(&c->mu);
}

/*
 * Remembers k for a's key and scope; the key's entries for an older
 * record (revoked, re-sealed, policy changed) go, the least recently used
 * entry makes room.
 */
static void
cache_put(struct api_keycache *c, const struct sigv4_auth *a,
    const uint8_t digest[32], const struct api_key *k)
{
	struct keycache_ent *e;
	size_t i, slot;

	pthread_mutex_lock(&c->mu);
	for (i = c->n; i-- > 0;)
		if (strcmp(c->ents[i].akid, a->akid) == 0 &&
		    (memcmp(c->ents[i].digest, digest, 32) != 0 ||
			ent_scope_is(&c->ents[i], a)))
			cache_drop(c, i);
	if (c->n == API_KEYCACHE_MAX) {
		for (slot = 0, i = 1; i < c->n; i++)
			if (c->ents[i].used < c->ents[slot].used)
				slot = i;
		cache_drop(c, slot);
	}
	e = &c->ents[c->n++];
	(void)snprintf(e->akid, sizeof(e->akid), "%s", a->akid);
	memcpy(e->digest, digest, 32);
	(void)snprintf(e->date, sizeof(e->date), "%s", a->date);
	(void)snprintf(e->region, sizeof(e->region), "%s", a->region);
	(void)snprintf(e->service, sizeof(e->service), "%s", a->service);
	memcpy(e->account, k->account, sizeof(e->account));
	memcpy(e->ksigning, k->ksigning, sizeof(e->ksigning));
	e->pol = iam_policy_ref(k->parsed);
	e->used = ++c->tick;
	pthread_mutex_unlock(&c->mu);
}

/*
 * Parses an ACTIVE record and has the signing key of a's scope derived
 * from its sealed secret (by the signer when separated): the secret
 * itself is never unsealed here.
 */
static pca_err
key_open(const struct seal_ops *seal, const uint8_t *val, size_t len,
    const struct sigv4_auth *a, struct api_key *k)
{
	json_t *r = json_loadb((const char *)val, len, 0, NULL);
	struct seal_scope sc = {a->date, a->region, a->service};
	const char *acct, *sealed_b64;
	uint8_t *sealed = NULL;
	size_t sealed_len;
	pca_err err;

	acct = json_string_value(json_object_get(r, "Account"));
	sealed_b64 = json_string_value(json_object_get(r, "Sealed"));
	memset(k, 0, sizeof(*k));
	if (r == NULL || !is_account(acct) || sealed_b64 == NULL ||
	    strcmp(json_string_value(json_object_get(r, "Status")) ?: "",
		"ACTIVE") != 0) {
		err = pca_err_set(PCA_ENOTFOUND, "access key is not active");
		goto out;
	}
	memcpy(k->account, acct, 13);
	if ((err = util_b64_decode(sealed_b64, strlen(sealed_b64), RECORD_MAX,
		 &sealed, &sealed_len)) != PCA_OK)
		goto out;
	if (seal->sigv4_key == NULL)
		err = pca_err_set(PCA_EUNAVAIL, "no token to derive keys");
	else
		err = seal->sigv4_key(seal->ctx, API_SEAL_LABEL, sealed,
		    sealed_len, &sc, k->ksigning);
out:
	free(sealed);
	json_decref(r);
	return err;
}

/*
 * The key's policy document from its record: parsed into *parsed, or, when
 * it does not parse, as text in *text (api_authorize logs and denies).
 */
static pca_err
key_policy(const uint8_t *val, size_t len, struct iam_policy **parsed,
    char **text)
{
	json_t *r = json_loadb((const char *)val, len, 0, NULL);
	const char *name;
	char *doc = NULL;
	pca_err err;

	if (r == NULL)
		return pca_err_set(PCA_EDB, "access key: corrupt record");
	err = record_policy(r, &name, &doc);
	json_decref(r);
	if (err != PCA_OK)
		return err;
	if (iam_policy_parse(doc, strlen(doc), IAM_IDENTITY, parsed) == PCA_OK)
		free(doc);
	else
		*text = doc;
	return PCA_OK;
}

void
api_key_release(struct api_key *k)
{
	free(k->policy);
	k->policy = NULL;
	iam_policy_free(k->parsed);
	k->parsed = NULL;
	OPENSSL_cleanse(k->ksigning, sizeof(k->ksigning));
}

pca_err
api_key_lookup(struct api_keycache *c, struct store *st,
    const struct seal_ops *seal, const struct sigv4_auth *a,
    struct api_key *out)
{
	uint8_t *val = NULL, digest[32];
	size_t len = 0;
	struct api_key k;
	int hit;
	pca_err err;

	if ((err = store_kv_get(st, KEYS_NS, a->akid, &val, &len)) != PCA_OK)
		return err;
	SHA256(val, len, digest);
	memset(&k, 0, sizeof(k));
	hit = cache_find(c, a, digest, &k);
	if (hit && k.parsed != NULL)
		err = PCA_OK; /* the record and its parsed policy, as cached */
	else if (hit) /* a policy that does not parse: its text, to log */
		err = key_policy(val, len, &k.parsed, &k.policy);
	else if ((err = key_open(seal, val, len, a, &k)) == PCA_OK &&
		 (err = key_policy(val, len, &k.parsed, &k.policy)) == PCA_OK)
		cache_put(c, a, digest, &k);
	else if (err == PCA_ENOTFOUND)
		cache_forget(c, a->akid);
	if (err == PCA_OK)
		*out = k;
	else
		api_key_release(&k);
	OPENSSL_cleanse(&k, sizeof(k));
	free(val);
	return err;
}

/* ---- policies ---- */

static pca_err
record_get(struct store *st, const char *akid, json_t **out)
{
	uint8_t *val = NULL;
	size_t len;
	json_t *r;
	pca_err err;

	if ((err = store_kv_get(st, KEYS_NS, akid, &val, &len)) != PCA_OK) {
		if (err == PCA_ENOTFOUND)
			err = pca_err_set(PCA_ENOTFOUND,
			    "access key %.40s does not exist", akid);
		return err;
	}
	r = json_loadb((const char *)val, len, 0, NULL);
	free(val);
	if (r == NULL)
		return pca_err_set(PCA_EDB, "access key %.40s: corrupt record",
		    akid);
	*out = r;
	return PCA_OK;
}

pca_err
api_key_policy_get(struct store *st, const char *akid, char **name, char **doc,
    char **account)
{
	json_t *r = NULL;
	const char *n = NULL, *acct;
	char *d = NULL;
	pca_err err;

	if ((err = record_get(st, akid, &r)) != PCA_OK)
		return err;
	acct = json_string_value(json_object_get(r, "Account"));
	if ((err = record_policy(r, &n, &d)) == PCA_OK &&
	    ((*name = strdup(n)) == NULL ||
		(*account = strdup(acct ? acct : "")) == NULL)) {
		free(*name);
		err = pca_err_set(PCA_ENOMEM, "no memory");
	}
	if (err == PCA_OK)
		*doc = d;
	else
		free(d);
	json_decref(r);
	return err;
}

/* Rewrites a record with a new Policy member (validated by the caller). */
static pca_err
record_put_policy(struct store *st, const char *akid, json_t *r, json_t *pol)
{
	char *s;
	pca_err err;

	json_object_set_new(r, "Policy", pol);
	json_object_del(r, "Role");
	json_object_set_new(r, "v", json_integer(KEY_RECORD_V));
	if ((s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	err = store_kv_put(st, KEYS_NS, akid, s, strlen(s), 0);
	free(s);
	return err;
}

pca_err
api_key_policy_put(struct store *st, const char *akid,
    const struct api_key_spec *sp)
{
	json_t *r = NULL, *pol = NULL;
	char line[256];
	pca_err err;

	if (sp->policy == NULL && !iam_managed_known(sp->managed))
		return pca_err_set(PCA_EINVAL,
		    "role must be admin, issuer or auditor");
	if ((err = cas_check(sp)) != PCA_OK ||
	    (err = policy_member(sp, &pol)) != PCA_OK)
		return err;
	if ((err = record_get(st, akid, &r)) != PCA_OK)
		goto out;
	if (strcmp(json_string_value(json_object_get(r, "Status")) ?: "",
		"ACTIVE") != 0) {
		err = pca_err_set(PCA_ESTATE, "access key %.40s is revoked",
		    akid);
		goto out;
	}
	err = record_put_policy(st, akid, r, pol);
	pol = NULL;
	if (err != PCA_OK)
		goto out;
	(void)snprintf(line, sizeof(line),
	    "op=PutAccessKeyPolicy who=local akid=%.40s policy=%s cas=%zu",
	    akid, sp->policy ? "custom" : sp->managed, sp->ncas);
	audit(st, line);
out:
	json_decref(pol);
	json_decref(r);
	return err;
}

/* ---- migration: version-1 records (a Role) to managed policies ---- */

struct migrate_arg {
	char (*ids)[129];
	size_t n, cap;
	pca_err err;
};

static int
migrate_cb(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct migrate_arg *a = arg;
	json_t *r = json_loadb((const char *)val, len, 0, NULL);
	int old = r != NULL && json_object_get(r, "Policy") == NULL;

	json_decref(r);
	if (!old)
		return 0;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		char(*ids)[129] = realloc(a->ids, cap * sizeof(*ids));
		if (ids == NULL) {
			a->err = pca_err_set(PCA_ENOMEM, "no memory");
			return 1;
		}
		a->ids = ids;
		a->cap = cap;
	}
	(void)snprintf(a->ids[a->n++], sizeof(a->ids[0]), "%.128s", key);
	return 0;
}

static pca_err
migrate_one(struct store *st, const char *akid)
{
	json_t *r = NULL, *pol;
	const char *role;
	char line[256];
	pca_err err;

	if ((err = record_get(st, akid, &r)) != PCA_OK)
		return err;
	role = json_string_value(json_object_get(r, "Role"));
	if (json_object_get(r, "Policy") != NULL) {
		json_decref(r);
		return PCA_OK; /* done meanwhile */
	}
	if (!iam_managed_known(role)) {
		err = pca_err_set(PCA_EDB,
		    "access key %.40s: unknown role '%.20s'", akid,
		    role ? role : "");
		json_decref(r); /* role points into r */
		return err;
	}
	(void)snprintf(line, sizeof(line),
	    "op=MigrateAccessKey who=local akid=%.40s role=%s policy=%s", akid,
	    role, role);
	pol = json_pack("{s:s,s:[]}", "Managed", role, "CAs");
	if (pol == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	else
		err = record_put_policy(st, akid, r, pol);
	json_decref(r);
	if (err == PCA_OK)
		audit(st, line);
	return err;
}

pca_err
api_key_migrate(struct store *st, size_t *migrated)
{
	struct migrate_arg a = {NULL, 0, 0, PCA_OK};
	size_t i, done = 0;
	char msg[256];
	pca_err err, e, first = PCA_OK;

	if ((err = store_kv_foreach(st, KEYS_NS, migrate_cb, &a)) == PCA_OK)
		err = a.err;
	for (i = 0; err == PCA_OK && i < a.n; i++) {
		/* one bad record does not hold back the others */
		if ((e = migrate_one(st, a.ids[i])) == PCA_OK)
			done++;
		else if (first == PCA_OK) {
			first = e;
			(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		}
	}
	free(a.ids);
	if (migrated != NULL)
		*migrated = done;
	if (err == PCA_OK && first != PCA_OK)
		err = pca_err_set(first, "%s", msg);
	return err;
}
