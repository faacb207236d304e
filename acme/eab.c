/*
 * eab.c - external account binding (RFC 8555 section 7.3.4).  An EAB key
 * (made by pcactl acme eab create) is a record "acme-eab"/<kid> holding
 * its CA, its HMAC key and the DNS name suffixes its account may order;
 * it binds exactly one account.  newOrder is judged against the suffixes
 * before any challenge is offered.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "server_int.h"

#define EAB_KEY_MAX 128

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
		acme_problem(r, 400, "malformed", "externalAccountBinding: "
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
		acme_problem(r, 400, "malformed", "externalAccountBinding: "
		    "the payload must be the account's jwk");
		goto out;
	}
	if (acme_b64url_decode(acme_str(rec, "hmac"),
		strlen(acme_str(rec, "hmac")), EAB_KEY_MAX, &key, &kn) !=
	    PCA_OK || (input = malloc(strlen(p) + strlen(pl) + 2)) == NULL) {
		acme_problem(r, 500, "serverInternal", "EAB key unreadable");
		goto out;
	}
	(void)snprintf(input, strlen(p) + strlen(pl) + 2, "%s.%s", p, pl);
	if (HMAC(md, key, (int)kn, (uint8_t *)input, strlen(input), mac,
		&ml) == NULL || ml != sn || CRYPTO_memcmp(mac, sb, sn) != 0) {
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
	json_array_foreach(ids, i, id) {
		json_array_foreach(names, j, s)
			if (under(acme_str(id, "value"), json_string_value(s)))
				break;
		if (j == json_array_size(names)) {
			char *l = json_dumps(names, JSON_COMPACT);

			acme_problem(r, 400, "rejectedIdentifier",
			    "%s is outside the names of EAB key %s "
			    "(allowed suffixes: %s)", acme_str(id, "value"),
			    acme_str(r->acct, "eab"), l ? l : "?");
			free(l);
			return 0;
		}
	}
	return 1;
}
