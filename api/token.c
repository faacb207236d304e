/*
 * token.c - opaque NextTokens: base64url of {operation, scope, last key}
 * plus a truncated HMAC-SHA256 under a key sealed in the store (under
 * API_TOKEN_SEAL_LABEL), so a token survives a restart and a forged or
 * altered one is refused (InvalidNextTokenException).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../store/store.h"
#include "api_int.h"

#define TOKEN_NS "api"
#define TOKEN_KEY "nexttoken-key"
#define MAC_LEN 16
#define TOKEN_MAX 4096

/* A fresh key, sealed under API_TOKEN_SEAL_LABEL, stored (or replacing). */
static pca_err
token_key_new(struct store *st, const struct seal_ops *seal, int replace)
{
	uint8_t fresh[API_TOKEN_KEY_LEN], *sealed = NULL;
	size_t sealed_len = 0;
	pca_err err;

	if (RAND_bytes(fresh, sizeof(fresh)) != 1)
		return pca_err_set(PCA_EINTERNAL, "CSPRNG failure");
	err = seal->seal(seal->ctx, API_TOKEN_SEAL_LABEL, fresh, sizeof(fresh),
	    &sealed, &sealed_len);
	OPENSSL_cleanse(fresh, sizeof(fresh));
	if (err != PCA_OK)
		return err;
	err = store_kv_put(st, TOKEN_NS, TOKEN_KEY, sealed, sealed_len,
	    replace ? 0 : 1);
	free(sealed);
	return err == PCA_EEXISTS ? PCA_OK : err; /* another made one */
}

/*
 * The key is sealed under a label of its own (API_TOKEN_SEAL_LABEL), never
 * the API secrets' one, which a separated signer does not unseal for the
 * front.  A key that does not open under it (sealed under the API label
 * by an older version, or under another token before a token migration)
 * is replaced: only NextTokens handed out before become invalid.
 */
pca_err
api_token_key_load(struct store *st, const struct seal_ops *seal,
    uint8_t key[API_TOKEN_KEY_LEN])
{
	uint8_t *val = NULL, *plain = NULL;
	size_t len = 0, plain_len = 0;
	pca_err err = PCA_OK;
	int tries;

	if (seal->seal == NULL || seal->unseal == NULL)
		return pca_err_set(PCA_EUNAVAIL,
		    "no token to seal the NextToken key");
	for (tries = 0; tries < 3; tries++) {
		err = store_kv_get(st, TOKEN_NS, TOKEN_KEY, &val, &len);
		if (err == PCA_ENOTFOUND) {
			pca_err_clear();
			if ((err = token_key_new(st, seal, 0)) != PCA_OK)
				return err;
			continue;
		}
		if (err != PCA_OK)
			return err;
		err = seal->unseal(seal->ctx, API_TOKEN_SEAL_LABEL, val, len,
		    &plain, &plain_len);
		free(val);
		val = NULL;
		if (err != PCA_EMISMATCH && err != PCA_ENOTFOUND)
			break;
		log_info("api: a new NextToken key (the stored one does not "
			 "open under %s: %s)",
		    API_TOKEN_SEAL_LABEL, pca_err_msg());
		pca_err_clear();
		if ((err = token_key_new(st, seal, 1)) != PCA_OK)
			return err;
	}
	if (err != PCA_OK)
		return err;
	if (plain_len != API_TOKEN_KEY_LEN)
		err = pca_err_set(PCA_EDB, "the NextToken key has a bad size");
	else
		memcpy(key, plain, API_TOKEN_KEY_LEN);
	mem_free_secure(plain, plain_len);
	return err;
}

static void
mac(const uint8_t key[API_TOKEN_KEY_LEN], const char *p, size_t n,
    uint8_t out[32])
{
	unsigned int len = 32;

	(void)HMAC(EVP_sha256(), key, API_TOKEN_KEY_LEN, (const uint8_t *)p, n,
	    out, &len);
}

/* base64url without padding. */
static pca_err
b64url(const uint8_t *p, size_t n, struct buf *out)
{
	char *s = NULL, *c;
	pca_err err;

	if ((err = util_b64_encode(p, n, &s)) != PCA_OK)
		return err;
	for (c = s; *c != '\0'; c++)
		if (*c == '+')
			*c = '-';
		else if (*c == '/')
			*c = '_';
		else if (*c == '=')
			*c = '\0';
	err = buf_addstr(out, s);
	free(s);
	return err;
}

static pca_err
unb64url(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
	char tmp[TOKEN_MAX + 4];
	size_t i;

	if (n == 0 || n > TOKEN_MAX || n % 4 == 1)
		return pca_err_set(PCA_EPARSE, "bad token encoding");
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (c == '+' || c == '/' || c == '=' || c == ' ' ||
			 c == '\n' || c == '\r' || c == '\t')
			return pca_err_set(PCA_EPARSE, "bad token encoding");
		tmp[i] = c;
	}
	while (i % 4 != 0)
		tmp[i++] = '=';
	return util_b64_decode(tmp, i, TOKEN_MAX, out, outlen);
}

pca_err
api_token_make(const uint8_t key[API_TOKEN_KEY_LEN], const char *op,
    const char *scope, const char *last, char **out)
{
	json_t *o = json_pack("{s:i,s:s,s:s,s:s}", "v", 1, "o", op, "s", scope,
	    "k", last);
	char *payload = NULL;
	uint8_t m[32];
	struct buf b;
	size_t n;
	pca_err err = PCA_OK;

	buf_init(&b, 2 * TOKEN_MAX);
	if (o == NULL ||
	    (payload = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	mac(key, payload, strlen(payload), m);
	if ((err = b64url((const uint8_t *)payload, strlen(payload), &b)) !=
		PCA_OK ||
	    (err = buf_addstr(&b, ".")) != PCA_OK ||
	    (err = b64url(m, MAC_LEN, &b)) != PCA_OK ||
	    (err = buf_nul(&b)) != PCA_OK)
		goto out;
	*out = (char *)buf_steal(&b, &n);
out:
	buf_free(&b);
	free(payload);
	json_decref(o);
	return err;
}

pca_err
api_token_open(const uint8_t key[API_TOKEN_KEY_LEN], const char *op,
    const char *scope, const char *token, char **last)
{
	const char *dot = strchr(token, '.');
	uint8_t *payload = NULL, *sent = NULL, m[32];
	size_t plen = 0, slen = 0;
	json_t *o = NULL;
	const char *k;
	pca_err err = PCA_EPARSE;

	if (dot == NULL ||
	    unb64url(token, (size_t)(dot - token), &payload, &plen) != PCA_OK ||
	    unb64url(dot + 1, strlen(dot + 1), &sent, &slen) != PCA_OK ||
	    slen != MAC_LEN)
		goto out;
	mac(key, (const char *)payload, plen, m);
	if (CRYPTO_memcmp(m, sent, MAC_LEN) != 0)
		goto out;
	o = json_loadb((const char *)payload, plen, 0, NULL);
	k = json_string_value(json_object_get(o, "k"));
	if (k == NULL ||
	    strcmp(json_string_value(json_object_get(o, "o")) ?: "", op) ||
	    strcmp(json_string_value(json_object_get(o, "s")) ?: "", scope))
		goto out;
	if ((*last = strdup(k)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	err = PCA_OK;
out:
	if (err == PCA_EPARSE)
		(void)pca_err_set(PCA_EPARSE,
		    "The NextToken is not valid for this request.");
	free(payload);
	free(sent);
	json_decref(o);
	return err;
}
