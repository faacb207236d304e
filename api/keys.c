/*
 * keys.c - the API access-key registry: records in the store's kv database
 * (namespace "keys"), secrets sealed by the token, and the daemon's cache
 * of unsealed secrets, keyed by the exact stored record so a revocation
 * (by pcactl, in another process) takes effect on the next request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../hsm/hsm.h"
#include "../store/store.h"
#include "api_int.h"

#define KEYS_NS "keys"
#define SECRET_RAW 30 /* 30 bytes -> 40 base64 characters */
#define RECORD_MAX 4096

struct keycache_ent {
	char akid[129];
	uint8_t digest[32]; /* SHA-256 of the stored record */
	struct api_key key;
	uint64_t used;
};

struct api_keycache {
	pthread_mutex_t mu;
	struct keycache_ent *ents;
	size_t n;
	uint64_t tick;
};

static const char *const role_names[] = {NULL, "admin", "issuer", "auditor"};

enum api_role
api_role_from_name(const char *s)
{
	int i;

	for (i = API_ROLE_ADMIN; s != NULL && i <= API_ROLE_AUDITOR; i++)
		if (strcmp(s, role_names[i]) == 0)
			return (enum api_role)i;
	return API_ROLE_NONE;
}

static void
audit(struct store *st, const char *text)
{
	uint64_t seq;

	if (store_audit_append(st, util_now(), text, &seq) != PCA_OK)
		log_warnx(
		    "audit append failed for '%s': %s", text, pca_err_msg());
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

/* The stored record: account, role, status and the sealed secret. */
static pca_err
key_record(struct hsm *hsm, const char *account, const char *role,
    const char *secret, char **out)
{
	uint8_t *sealed = NULL;
	size_t sealed_len;
	char *b64 = NULL;
	json_t *rec;
	pca_err err;

	if ((err = hsm_seal(hsm, API_SEAL_LABEL, (const uint8_t *)secret,
		 strlen(secret), &sealed, &sealed_len)) != PCA_OK)
		return err;
	err = util_b64_encode(sealed, sealed_len, &b64);
	free(sealed);
	if (err != PCA_OK)
		return err;
	rec = json_pack("{s:i,s:s,s:s,s:s,s:I,s:s}", "v", 1, "Account", account,
	    "Role", role, "Status", "ACTIVE", "CreatedAt",
	    (json_int_t)util_now(), "Sealed", b64);
	free(b64);
	if (rec == NULL ||
	    (*out = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	json_decref(rec);
	return err;
}

pca_err
api_key_create(struct store *st, struct hsm *hsm, const char *account,
    const char *role, char akid[21], char secret[41])
{
	char id[21], sec[41], *rec = NULL, line[256];
	int tries;
	pca_err err;

	if (!is_account(account))
		return pca_err_set(PCA_EINVAL, "account must be 12 digits");
	if (api_role_from_name(role) == API_ROLE_NONE)
		return pca_err_set(
		    PCA_EINVAL, "role must be admin, issuer or auditor");
	if ((err = make_secret(sec)) != PCA_OK ||
	    (err = key_record(hsm, account, role, sec, &rec)) != PCA_OK)
		goto out;
	for (tries = 0; tries < 8; tries++) {
		memcpy(id, "AKIA", 4);
		if ((err = random_chars(id + 4, 16,
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")) != PCA_OK)
			goto out;
		err = store_kv_put_chg(st, &(struct store_kv_in){KEYS_NS, id,
		    rec, strlen(rec)}, 1, STORE_CHG_KEY, NULL);
		if (err != PCA_EEXISTS)
			break;
	}
	if (err != PCA_OK)
		goto out;
	(void)snprintf(line, sizeof(line),
	    "op=CreateAccessKey who=local akid=%s account=%s role=%s", id,
	    account, role);
	audit(st, line);
	memcpy(akid, id, sizeof(id));
	memcpy(secret, sec, sizeof(sec));
out:
	OPENSSL_cleanse(sec, sizeof(sec));
	free(rec);
	return err;
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

	if (r == NULL) {
		a->err =
		    pca_err_set(PCA_EDB, "access key %s: corrupt record", key);
		return 1;
	}
	o = json_pack("{s:s,s:O,s:O,s:O,s:O}", "AccessKeyId", key, "Account",
	    json_object_get(r, "Account"), "Role", json_object_get(r, "Role"),
	    "Status", json_object_get(r, "Status"), "CreatedAt",
	    json_object_get(r, "CreatedAt"));
	if (o != NULL && json_object_get(r, "RevokedAt") != NULL)
		json_object_set(
		    o, "RevokedAt", json_object_get(r, "RevokedAt"));
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
		err = pca_err_set(
		    PCA_EDB, "access key %.40s: corrupt record", akid);
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(r, "Status")) ?: "",
		"ACTIVE") != 0) {
		err = pca_err_set(
		    PCA_EALREADY, "access key %.40s is already revoked", akid);
		goto out;
	}
	json_object_set_new(r, "Status", json_string("REVOKED"));
	json_object_set_new(r, "RevokedAt", json_integer(util_now()));
	json_object_del(r, "Sealed"); /* the secret is gone for good */
	if ((s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if ((err = store_kv_put_chg(st, &(struct store_kv_in){KEYS_NS, akid,
		 s, strlen(s)}, 0, STORE_CHG_KEY, NULL)) != PCA_OK)
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
	OPENSSL_cleanse(c->ents, API_KEYCACHE_MAX * sizeof(*c->ents));
	free(c->ents);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static int
cache_find(struct api_keycache *c, const char *akid, const uint8_t digest[32],
    struct api_key *out)
{
	size_t i;
	int hit = 0;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < c->n; i++)
		if (strcmp(c->ents[i].akid, akid) == 0 &&
		    memcmp(c->ents[i].digest, digest, 32) == 0) {
			*out = c->ents[i].key;
			c->ents[i].used = ++c->tick;
			hit = 1;
			break;
		}
	pthread_mutex_unlock(&c->mu);
	return hit;
}

static void
cache_put(struct api_keycache *c, const char *akid, const uint8_t digest[32],
    const struct api_key *k)
{
	size_t i, slot = c->n;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < c->n; i++)
		if (strcmp(c->ents[i].akid, akid) == 0)
			slot = i;
	if (slot == c->n && c->n == API_KEYCACHE_MAX)
		for (slot = 0, i = 1; i < c->n; i++)
			if (c->ents[i].used < c->ents[slot].used)
				slot = i;
	if (slot == c->n)
		c->n++;
	OPENSSL_cleanse(&c->ents[slot], sizeof(c->ents[slot]));
	(void)snprintf(
	    c->ents[slot].akid, sizeof(c->ents[slot].akid), "%s", akid);
	memcpy(c->ents[slot].digest, digest, 32);
	c->ents[slot].key = *k;
	c->ents[slot].used = ++c->tick;
	pthread_mutex_unlock(&c->mu);
}

/* Parses an ACTIVE record and unseals its secret. */
static pca_err
key_open(struct hsm *hsm, const uint8_t *val, size_t len, struct api_key *k)
{
	json_t *r = json_loadb((const char *)val, len, 0, NULL);
	const char *acct, *sealed_b64;
	uint8_t *sealed = NULL, *plain = NULL;
	size_t sealed_len, plain_len = 0;
	pca_err err;

	acct = json_string_value(json_object_get(r, "Account"));
	sealed_b64 = json_string_value(json_object_get(r, "Sealed"));
	memset(k, 0, sizeof(*k));
	if (r == NULL || !is_account(acct) || sealed_b64 == NULL ||
	    strcmp(json_string_value(json_object_get(r, "Status")) ?: "",
		"ACTIVE") != 0 ||
	    (k->role = api_role_from_name(json_string_value(
		 json_object_get(r, "Role")))) == API_ROLE_NONE) {
		err = pca_err_set(PCA_ENOTFOUND, "access key is not active");
		goto out;
	}
	memcpy(k->account, acct, 13);
	if ((err = util_b64_decode(sealed_b64, strlen(sealed_b64), RECORD_MAX,
		 &sealed, &sealed_len)) != PCA_OK ||
	    (err = hsm_unseal(hsm, API_SEAL_LABEL, sealed, sealed_len, &plain,
		 &plain_len)) != PCA_OK)
		goto out;
	if (plain_len == 0 || plain_len > sizeof(k->secret)) {
		err = pca_err_set(PCA_EDB, "access key secret has a bad size");
		goto out;
	}
	memcpy(k->secret, plain, plain_len);
	k->secret_len = plain_len;
out:
	mem_free_secure(plain, plain_len);
	free(sealed);
	json_decref(r);
	return err;
}

pca_err
api_key_lookup(struct api_keycache *c, struct store *st, struct hsm *hsm,
    const char *akid, struct api_key *out)
{
	uint8_t *val = NULL, digest[32];
	size_t len = 0;
	struct api_key k;
	pca_err err;

	if ((err = store_kv_get(st, KEYS_NS, akid, &val, &len)) != PCA_OK)
		return err;
	SHA256(val, len, digest);
	if (cache_find(c, akid, digest, out)) {
		free(val);
		return PCA_OK;
	}
	if ((err = key_open(hsm, val, len, &k)) == PCA_OK) {
		cache_put(c, akid, digest, &k);
		*out = k;
	}
	OPENSSL_cleanse(&k, sizeof(k));
	free(val);
	return err;
}
