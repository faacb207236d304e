/*
 * eab.c - external account binding (RFC 8555 section 7.3.4).  An EAB key
 * (made by pcactl acme eab create) is a record "acme-eab"/<kid> holding
 * its CA, its HMAC key sealed by the token (seal_ops, ACME_EAB_SEAL_LABEL,
 * base64url in "hmac_sealed"), the DNS name suffixes its account may
 * order, the issuance policy and the profiles it may use; it binds exactly
 * one account.  newOrder is judged against the suffixes and the policy
 * before any challenge is offered.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "../common/log.h"
#include "../http/http.h"
#include "../store/store.h"
#include "server_int.h"

#define EAB_KEY_MAX 128
#define EAB_SEALED_MAX 512

/* The HMAC key of an EAB record (unsealed by the token); *key malloc'd. */
static pca_err
eab_key(struct acme *a, const json_t *rec, uint8_t **key, size_t *kn)
{
	const char *sb = acme_str(rec, "hmac_sealed");
	uint8_t *sealed = NULL, *plain = NULL;
	size_t sl = 0, pl = 0;
	pca_err err;

	if (!*sb) /* not yet migrated: in the clear */
		return acme_b64url_decode(acme_str(rec, "hmac"),
		    strlen(acme_str(rec, "hmac")), EAB_KEY_MAX, key, kn);
	if (a->seal.unseal == NULL)
		return pca_err_set(PCA_EUNAVAIL, "acme: no token to unseal "
						 "EAB keys");
	if ((err = acme_b64url_decode(sb, strlen(sb), EAB_SEALED_MAX, &sealed,
		 &sl)) != PCA_OK)
		return err;
	err = a->seal.unseal(a->seal.ctx, ACME_EAB_SEAL_LABEL, sealed, sl,
	    &plain, &pl);
	free(sealed);
	if (err != PCA_OK)
		return err;
	if (pl == 0 || pl > EAB_KEY_MAX) {
		OPENSSL_cleanse(plain, pl);
		free(plain);
		return pca_err_set(PCA_EPARSE, "acme: EAB key of bad size");
	}
	*key = plain;
	*kn = pl;
	return PCA_OK;
}

struct migrate {
	struct acme *a;
	json_t *todo; /* kids with an HMAC key in the clear */
};

static int
migrate_one(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct migrate *m = arg;
	json_t *o = json_loadb((const char *)val, len, 0, NULL);

	if (json_is_string(json_object_get(o, "hmac")))
		json_array_append_new(m->todo, json_string(key));
	json_decref(o);
	return json_array_size(m->todo) >= 10000;
}

/* Seals one clear EAB key in place: "hmac" becomes "hmac_sealed". */
static pca_err
migrate_seal(struct acme *a, const char *kid)
{
	json_t *rec = NULL;
	uint8_t *key = NULL, *sealed = NULL;
	size_t kn = 0, sl = 0;
	char *sb = NULL;
	pca_err err;

	if ((err = acme_rec_get(a, "acme-eab", kid, &rec)) != PCA_OK)
		return err;
	if ((err = acme_b64url_decode(acme_str(rec, "hmac"),
		 strlen(acme_str(rec, "hmac")), EAB_KEY_MAX, &key, &kn)) !=
		PCA_OK ||
	    (err = a->seal.seal(a->seal.ctx, ACME_EAB_SEAL_LABEL, key, kn,
		 &sealed, &sl)) != PCA_OK ||
	    (err = acme_b64url_encode(sealed, sl, &sb)) != PCA_OK)
		goto out;
	json_object_del(rec, "hmac");
	json_object_set_new(rec, "hmac_sealed", json_string(sb));
	err = acme_rec_put(a, "acme-eab", kid, rec, 0);
out:
	if (key != NULL)
		OPENSSL_cleanse(key, kn);
	free(key);
	free(sealed);
	free(sb);
	json_decref(rec); /* its "hmac" string went with json_object_del */
	return err;
}

void
acme_eab_migrate(struct acme *a)
{
	struct migrate m = {a, json_array()};
	size_t i, n = 0;
	json_t *v;

	if (a->seal.seal == NULL || m.todo == NULL ||
	    store_kv_foreach(a->st, "acme-eab", migrate_one, &m) != PCA_OK) {
		json_decref(m.todo);
		return;
	}
	json_array_foreach (m.todo, i, v) {
		if (migrate_seal(a, json_string_value(v)) != PCA_OK) {
			log_warnx("acme: EAB key %s stays in the clear: %s",
			    json_string_value(v), pca_err_msg());
			continue;
		}
		n++;
	}
	if (n > 0)
		log_info("acme: %zu EAB keys sealed by the token", n);
	json_decref(m.todo);
}

/* RFC 8555 7.3.4; 1 with *eab (the record) or 0 with a problem set. */
int
acme_eab_check(struct rq *r, const json_t *b, json_t **eab, char *kid_out,
    size_t kid_len)
{
	json_t *prot = NULL, *inner = NULL, *rec = NULL;
	const char *p, *pl, *sig, *alg, *kid, *url;
	uint8_t *pb = NULL, *plb = NULL, *sb = NULL, *key = NULL;
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t pn = 0, pln = 0, sn = 0, kn = 0;
	unsigned ml = 0;
	char *input = NULL, t1[44], t2[44], *ij = NULL;
	const EVP_MD *md = NULL;
	int ok = 0;

	p = json_string_value(json_object_get(b, "protected"));
	pl = json_string_value(json_object_get(b, "payload"));
	sig = json_string_value(json_object_get(b, "signature"));
	if (p == NULL || pl == NULL || sig == NULL ||
	    acme_b64url_decode(p, strlen(p), 4096, &pb, &pn) != PCA_OK ||
	    acme_b64url_decode(pl, strlen(pl), 8192, &plb, &pln) != PCA_OK ||
	    acme_b64url_decode(sig, strlen(sig), 128, &sb, &sn) != PCA_OK ||
	    (prot = json_loadb((char *)pb, pn, 0, NULL)) == NULL ||
	    (inner = json_loadb((char *)plb, pln, 0, NULL)) == NULL) {
		acme_problem(r, 400, "malformed",
		    "externalAccountBinding is not a JWS");
		goto out;
	}
	alg = json_string_value(json_object_get(prot, "alg"));
	kid = json_string_value(json_object_get(prot, "kid"));
	url = json_string_value(json_object_get(prot, "url"));
	if (alg != NULL && !strcmp(alg, "HS256"))
		md = EVP_sha256();
	else if (alg != NULL && !strcmp(alg, "HS384"))
		md = EVP_sha384();
	else if (alg != NULL && !strcmp(alg, "HS512"))
		md = EVP_sha512();
	if (md == NULL || json_object_get(prot, "nonce") != NULL) {
		acme_problem(r, 400, "badSignatureAlgorithm",
		    "externalAccountBinding: alg must be HS256, HS384 or "
		    "HS512 and no nonce");
		goto out;
	}
	if (kid == NULL || strlen(kid) >= kid_len || url == NULL ||
	    strcmp(url, r->url) != 0) {
		acme_problem(r, 400, "malformed",
		    "externalAccountBinding: "
		    "kid and a url equal to the request URL are required");
		goto out;
	}
	if (acme_rec_get(r->a, "acme-eab", kid, &rec) != PCA_OK ||
	    strcmp(acme_str(rec, "ca"), r->ca) != 0) {
		acme_problem(r, 401, "unauthorized",
		    "externalAccountBinding: unknown EAB key id");
		goto out;
	}
	if (*acme_str(rec, "acct")) {
		acme_problem(r, 401, "unauthorized",
		    "externalAccountBinding: this EAB key is already bound to "
		    "an account");
		goto out;
	}
	ij = json_dumps(inner, JSON_COMPACT);
	if (ij == NULL || acme_jwk_thumbprint(ij, t1) != PCA_OK ||
	    acme_jwk_thumbprint(r->jws.jwk, t2) != PCA_OK ||
	    strcmp(t1, t2) != 0) {
		acme_problem(r, 400, "malformed",
		    "externalAccountBinding: "
		    "the payload must be the account's jwk");
		goto out;
	}
	if (eab_key(r->a, rec, &key, &kn) != PCA_OK) {
		log_warnx("acme: EAB key %s: %s", kid, pca_err_msg());
		acme_problem(r, 503, "serverInternal",
		    "the EAB key cannot be "
		    "unsealed now");
		http_resp_hdr(r->resp, "Retry-After", "5");
		goto out;
	}
	if ((input = malloc(strlen(p) + strlen(pl) + 2)) == NULL) {
		acme_problem(r, 500, "serverInternal", "no memory");
		goto out;
	}
	(void)snprintf(input, strlen(p) + strlen(pl) + 2, "%s.%s", p, pl);
	if (HMAC(md, key, (int)kn, (uint8_t *)input, strlen(input), mac, &ml) ==
		NULL ||
	    ml != sn || CRYPTO_memcmp(mac, sb, sn) != 0) {
		acme_problem(r, 401, "unauthorized",
		    "externalAccountBinding: the MAC does not verify");
		goto out;
	}
	(void)snprintf(kid_out, kid_len, "%s", kid);
	*eab = rec;
	rec = NULL;
	ok = 1;
out:
	if (key != NULL)
		OPENSSL_cleanse(key, kn);
	free(key);
	free(input);
	free(ij);
	free(pb);
	free(plb);
	free(sb);
	json_decref(prot);
	json_decref(inner);
	json_decref(rec);
	return ok;
}

/* 1: value is one of the suffixes or below one ("a.b.c" under "b.c"). */
static int
under(const char *v, const char *suffix)
{
	size_t n = strlen(v), s = strlen(suffix);

	if (strcasecmp(v, suffix) == 0)
		return 1;
	return n > s && v[n - s - 1] == '.' &&
	       strcasecmp(v + n - s, suffix) == 0;
}

/* The account's EAB names allow every identifier; else a problem. */
int
acme_eab_names_ok(struct rq *r, const json_t *ids)
{
	const json_t *names = json_object_get(r->acct, "names");
	json_t *id, *s;
	size_t i, j;

	if (!json_is_array(names) || json_array_size(names) == 0)
		return 1;
	json_array_foreach (ids, i, id) {
		json_array_foreach (names, j, s)
			if (under(acme_str(id, "value"), json_string_value(s)))
				break;
		if (j == json_array_size(names)) {
			char *l = json_dumps(names, JSON_COMPACT);

			acme_problem(r, 400, "rejectedIdentifier",
			    "%s is outside the names of EAB key %s "
			    "(allowed suffixes: %s)",
			    acme_str(id, "value"), acme_str(r->acct, "eab"),
			    l ? l : "?");
			free(l);
			return 0;
		}
	}
	return 1;
}
