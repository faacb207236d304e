/*
 * jws.c - flattened JWS (RFC 7515) as ACME uses it (RFC 8555 section 6.2):
 * strict header parsing, JWK to OpenSSL keys, signature verification and
 * RFC 7638 thumbprints.  Every input is hostile and bounded.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "acme_int.h"

#define JWK_MAX 4096
#define FIELD_MAX 2048

static const char b64u[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pca_err
acme_b64url_encode(const uint8_t *p, size_t n, char **out)
{
	char *s;
	size_t i, o = 0;
	uint32_t v;

	if ((s = malloc(n / 3 * 4 + 5)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		s[o++] = b64u[v >> 18 & 63];
		s[o++] = b64u[v >> 12 & 63];
		s[o++] = b64u[v >> 6 & 63];
		s[o++] = b64u[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		s[o++] = b64u[v >> 18 & 63];
		s[o++] = b64u[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		s[o++] = b64u[v >> 18 & 63];
		s[o++] = b64u[v >> 12 & 63];
		s[o++] = b64u[v >> 6 & 63];
	}
	s[o] = '\0';
	*out = s;
	return PCA_OK;
}

static int
b64u_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

pca_err
acme_b64url_decode(const char *s, size_t n, size_t max, uint8_t **out,
    size_t *len)
{
	uint8_t *p;
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0, v;

	if (n % 4 == 1 || n / 4 * 3 + 3 > max + 3)
		return pca_err_set(PCA_EPARSE, "base64url: bad length");
	if ((p = malloc(n / 4 * 3 + 3)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (i = 0; i < n; i++) {
		if ((v = b64u_val((unsigned char)s[i])) < 0) {
			free(p);
			return pca_err_set(PCA_EPARSE,
			    "base64url: bad character");
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (o > max) {
		free(p);
		return pca_err_set(PCA_ETOOBIG, "base64url: too long");
	}
	p[o] = '\0'; /* room: n/4*3+3 > o */
	*out = p;
	*len = o;
	return PCA_OK;
}

void
acme_jws_clear(struct acme_jws *j)
{
	free(j->nonce);
	free(j->url);
	free(j->kid);
	free(j->jwk);
	free(j->payload);
	memset(j, 0, sizeof(*j));
}

static char *
dup_str(const json_t *v)
{
	const char *s = json_string_value(v);

	if (s == NULL || strlen(s) > FIELD_MAX)
		return NULL;
	return strdup(s);
}

/* The three members, each a string of base64url; nothing else allowed. */
static enum acme_jws_err
jws_parts(const json_t *o, const char **p, const char **pl, const char **sig,
    const char **why)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o)) {
		*why = "the body is not a flattened JWS object";
		return ACME_JWS_MALFORMED;
	}
	json_object_foreach ((json_t *)o, k, v) {
		if (strcmp(k, "protected") && strcmp(k, "payload") &&
		    strcmp(k, "signature")) {
			*why = strcmp(k, "header") == 0
				   ? "unprotected header not allowed"
				   : "unknown member in the JWS";
			return ACME_JWS_MALFORMED;
		}
	}
	*p = json_string_value(json_object_get(o, "protected"));
	*pl = json_string_value(json_object_get(o, "payload"));
	*sig = json_string_value(json_object_get(o, "signature"));
	if (*p == NULL || *pl == NULL || *sig == NULL) {
		*why = "protected, payload and signature are required strings";
		return ACME_JWS_MALFORMED;
	}
	return ACME_JWS_OK;
}

static int
alg_known(const char *a)
{
	return !strcmp(a, "RS256") || !strcmp(a, "ES256") ||
	       !strcmp(a, "ES384") || !strcmp(a, "ES512") ||
	       !strcmp(a, "EdDSA");
}

static enum acme_jws_err
header_parse(const json_t *h, int nonce_optional, struct acme_jws *out,
    const char **why)
{
	const char *alg, *k;
	json_t *v, *jwk;

	if (!json_is_object(h)) {
		*why = "the protected header is not a JSON object";
		return ACME_JWS_MALFORMED;
	}
	json_object_foreach ((json_t *)h, k, v) {
		if (strcmp(k, "alg") && strcmp(k, "nonce") &&
		    strcmp(k, "url") && strcmp(k, "jwk") && strcmp(k, "kid")) {
			*why = strcmp(k, "crit") == 0
				   ? "crit names an extension this server does "
				     "not "
				     "understand"
			       : strcmp(k, "b64") == 0
				   ? "b64 is not supported"
				   : "unknown member in the protected header";
			if (strcmp(k, "crit") == 0 || strcmp(k, "b64") == 0)
				return ACME_JWS_MALFORMED;
		}
	}
	if ((alg = json_string_value(json_object_get(h, "alg"))) == NULL) {
		*why = "the protected header has no alg";
		return ACME_JWS_MALFORMED;
	}
	if (!alg_known(alg)) {
		*why = "alg must be RS256, ES256, ES384, ES512 or EdDSA";
		return ACME_JWS_BADALG;
	}
	(void)snprintf(out->alg, sizeof(out->alg), "%s", alg);
	if ((out->url = dup_str(json_object_get(h, "url"))) == NULL) {
		*why = "the protected header has no url";
		return ACME_JWS_MALFORMED;
	}
	out->nonce = dup_str(json_object_get(h, "nonce"));
	if (out->nonce == NULL && !nonce_optional) {
		*why = "the protected header has no nonce";
		return ACME_JWS_MALFORMED;
	}
	jwk = json_object_get(h, "jwk");
	v = json_object_get(h, "kid");
	if ((jwk == NULL) == (v == NULL)) {
		*why = "the protected header needs exactly one of jwk and kid";
		return ACME_JWS_MALFORMED;
	}
	if (v != NULL && (out->kid = dup_str(v)) == NULL) {
		*why = "kid is not a string";
		return ACME_JWS_MALFORMED;
	}
	if (jwk != NULL) {
		if (!json_is_object(jwk) ||
		    (out->jwk = json_dumps(jwk, JSON_COMPACT)) == NULL ||
		    strlen(out->jwk) > JWK_MAX) {
			*why = "jwk is not a JSON object";
			return ACME_JWS_MALFORMED;
		}
		out->has_jwk = 1;
	}
	return ACME_JWS_OK;
}

enum acme_jws_err
acme_jws_parse(const uint8_t *body, size_t len, int nonce_optional,
    struct acme_jws *out, const char **why)
{
	json_t *o = NULL, *h = NULL;
	const char *p, *pl, *sig;
	uint8_t *hb = NULL;
	size_t hl;
	enum acme_jws_err r;
	json_error_t je;

	memset(out, 0, sizeof(*out));
	*why = "malformed JWS";
	if (len > ACME_JWS_MAX) {
		*why = "the request body is too large";
		return ACME_JWS_MALFORMED;
	}
	o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
	if ((r = jws_parts(o, &p, &pl, &sig, why)) != ACME_JWS_OK)
		goto out;
	r = ACME_JWS_MALFORMED;
	if (acme_b64url_decode(p, strlen(p), FIELD_MAX * 4, &hb, &hl) !=
	    PCA_OK) {
		*why = "the protected header is not base64url";
		goto out;
	}
	if ((h = json_loadb((const char *)hb, hl, JSON_REJECT_DUPLICATES,
		 &je)) == NULL) {
		*why = "the protected header is not JSON";
		goto out;
	}
	if ((r = header_parse(h, nonce_optional, out, why)) != ACME_JWS_OK)
		goto out;
	r = ACME_JWS_MALFORMED;
	if (acme_b64url_decode(pl, strlen(pl), ACME_JWS_MAX, &out->payload,
		&out->payload_len) != PCA_OK) {
		*why = "the payload is not base64url";
		goto out;
	}
	r = ACME_JWS_OK;
out:
	if (r != ACME_JWS_OK)
		acme_jws_clear(out);
	free(hb);
	json_decref(h);
	json_decref(o);
	return r;
}

/* ---- keys ---- */

static int
b64_member(const json_t *o, const char *name, size_t max, uint8_t **p,
    size_t *n)
{
	const char *s = json_string_value(json_object_get(o, name));

	if (s == NULL)
		return 0;
	return acme_b64url_decode(s, strlen(s), max, p, n) == PCA_OK && *n > 0;
}

static EVP_PKEY *
key_rsa(const json_t *o)
{
	uint8_t *n = NULL, *e = NULL;
	size_t nl = 0, el = 0;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *pa = NULL;
	EVP_PKEY_CTX *c = NULL;
	EVP_PKEY *k = NULL;

	if (!b64_member(o, "n", 1024, &n, &nl) ||
	    !b64_member(o, "e", 8, &e, &el) || nl < 256)
		goto out;
	if ((bn = BN_bin2bn(n, (int)nl, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)el, NULL)) == NULL ||
	    (b = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (pa = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    (c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(c) <= 0 ||
	    EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, pa) <= 0)
		k = NULL;
	if (k != NULL && EVP_PKEY_get_bits(k) < 2048) {
		EVP_PKEY_free(k);
		k = NULL;
	}
out:
	free(n);
	free(e);
	BN_free(bn);
	BN_free(be);
	OSSL_PARAM_free(pa);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(c);
	return k;
}

static EVP_PKEY *
key_ec(const json_t *o, const char *crv, size_t clen)
{
	const char *group = clen == 32   ? "P-256"
			    : clen == 48 ? "P-384"
					 : "P-521";
	uint8_t *x = NULL, *y = NULL, pt[1 + 2 * 66];
	size_t xl = 0, yl = 0;
	OSSL_PARAM pa[3];
	EVP_PKEY_CTX *c = NULL;
	EVP_PKEY *k = NULL;

	(void)crv;
	if (!b64_member(o, "x", 66, &x, &xl) ||
	    !b64_member(o, "y", 66, &y, &yl) || xl != clen || yl != clen)
		goto out;
	pt[0] = 4;
	memcpy(pt + 1, x, clen);
	memcpy(pt + 1 + clen, y, clen);
	pa[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)group, 0);
	pa[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt,
	    1 + 2 * clen);
	pa[2] = OSSL_PARAM_construct_end();
	if ((c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(c) <= 0 ||
	    EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, pa) <= 0)
		k = NULL;
	if (k != NULL) { /* the point must be on the curve */
		EVP_PKEY_CTX_free(c);
		if ((c = EVP_PKEY_CTX_new(k, NULL)) == NULL ||
		    EVP_PKEY_public_check(c) <= 0) {
			EVP_PKEY_free(k);
			k = NULL;
		}
	}
out:
	free(x);
	free(y);
	EVP_PKEY_CTX_free(c);
	return k;
}

static EVP_PKEY *
key_okp(const json_t *o)
{
	uint8_t *x = NULL;
	size_t xl = 0;
	EVP_PKEY *k = NULL;

	if (b64_member(o, "x", 32, &x, &xl) && xl == 32)
		k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32);
	free(x);
	return k;
}

/* The key of a JWK, checked against alg (NULL: any). */
static EVP_PKEY *
jwk_key(const char *jwk, const char *alg, const char **why)
{
	json_t *o;
	const char *kty, *crv;
	EVP_PKEY *k = NULL;
	json_error_t je;

	*why = "the JWK is not a supported public key";
	if ((o = json_loads(jwk, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return NULL;
	kty = json_string_value(json_object_get(o, "kty"));
	crv = json_string_value(json_object_get(o, "crv"));
	if (json_object_get(o, "d") != NULL || kty == NULL)
		goto out;
	if (strcmp(kty, "RSA") == 0) {
		if (alg == NULL || strcmp(alg, "RS256") == 0)
			k = key_rsa(o);
	} else if (strcmp(kty, "EC") == 0 && crv != NULL) {
		if (strcmp(crv, "P-256") == 0 &&
		    (!alg || !strcmp(alg, "ES256")))
			k = key_ec(o, crv, 32);
		else if (strcmp(crv, "P-384") == 0 &&
			 (!alg || !strcmp(alg, "ES384")))
			k = key_ec(o, crv, 48);
		else if (strcmp(crv, "P-521") == 0 &&
			 (!alg || !strcmp(alg, "ES512")))
			k = key_ec(o, crv, 66);
	} else if (strcmp(kty, "OKP") == 0 && crv != NULL &&
		   strcmp(crv, "Ed25519") == 0 &&
		   (!alg || !strcmp(alg, "EdDSA")))
		k = key_okp(o);
out:
	json_decref(o);
	return k;
}

/* JOSE r||s to a DER ECDSA-Sig-Value. */
static int
ec_sig_der(const uint8_t *s, size_t n, size_t clen, uint8_t **der, int *dl)
{
	ECDSA_SIG *es;
	BIGNUM *r, *ss;

	*der = NULL;
	if (n != 2 * clen || (es = ECDSA_SIG_new()) == NULL)
		return 0;
	r = BN_bin2bn(s, (int)clen, NULL);
	ss = BN_bin2bn(s + clen, (int)clen, NULL);
	if (r == NULL || ss == NULL || !ECDSA_SIG_set0(es, r, ss)) {
		BN_free(r);
		BN_free(ss);
		ECDSA_SIG_free(es);
		return 0;
	}
	*dl = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	return *dl > 0;
}

enum acme_jws_err
acme_jws_verify(const uint8_t *body, size_t len, const char *alg,
    const char *jwk, const char **why)
{
	json_t *o = NULL;
	const char *p, *pl, *sig;
	char *input = NULL;
	uint8_t *s = NULL, *der = NULL;
	size_t sl = 0, il;
	int dl = 0, ok = 0;
	EVP_PKEY *k = NULL;
	EVP_MD_CTX *mc = NULL;
	const EVP_MD *md = NULL;
	enum acme_jws_err r = ACME_JWS_MALFORMED;
	json_error_t je;

	if ((o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES,
		 &je)) == NULL ||
	    (r = jws_parts(o, &p, &pl, &sig, why)) != ACME_JWS_OK)
		goto out;
	if ((k = jwk_key(jwk, alg, why)) == NULL) {
		r = ACME_JWS_BADKEY;
		goto out;
	}
	r = ACME_JWS_MALFORMED;
	if (acme_b64url_decode(sig, strlen(sig), 1024, &s, &sl) != PCA_OK) {
		*why = "the signature is not base64url";
		goto out;
	}
	il = strlen(p) + 1 + strlen(pl);
	if ((input = malloc(il + 1)) == NULL)
		goto out;
	(void)snprintf(input, il + 1, "%s.%s", p, pl);
	if (strcmp(alg, "RS256") == 0 || strcmp(alg, "ES256") == 0)
		md = EVP_sha256();
	else if (strcmp(alg, "ES384") == 0)
		md = EVP_sha384();
	else if (strcmp(alg, "ES512") == 0)
		md = EVP_sha512();
	r = ACME_JWS_BADSIG;
	*why = "the JWS signature does not verify";
	if (alg[0] == 'E' && alg[1] == 'S') {
		if (!ec_sig_der(s, sl,
			alg[2] == '2'   ? 32
			: alg[2] == '3' ? 48
					: 66,
			&der, &dl))
			goto out;
	}
	if ((mc = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(mc, NULL, md, NULL, k) <= 0)
		goto out;
	ok = EVP_DigestVerify(mc, der ? der : s, der ? (size_t)dl : sl,
		 (const uint8_t *)input, il) == 1;
	if (ok)
		r = ACME_JWS_OK;
out:
	EVP_MD_CTX_free(mc);
	EVP_PKEY_free(k);
	OPENSSL_free(der);
	free(s);
	free(input);
	json_decref(o);
	return r;
}

pca_err
acme_jwk_thumbprint(const char *jwk, char out[44])
{
	json_t *o, *c = NULL;
	const char *kty;
	static const char *const rsa[] = {"e", "kty", "n", NULL};
	static const char *const ec[] = {"crv", "kty", "x", "y", NULL};
	static const char *const okp[] = {"crv", "kty", "x", NULL};
	const char *const *m = NULL;
	char *txt = NULL, *b = NULL;
	uint8_t h[32];
	unsigned hl = 0;
	pca_err err = PCA_EPARSE;
	json_error_t je;

	if ((o = json_loads(jwk, 0, &je)) == NULL)
		return pca_err_set(PCA_EPARSE, "jwk: not JSON");
	kty = json_string_value(json_object_get(o, "kty"));
	if (kty && !strcmp(kty, "RSA"))
		m = rsa;
	else if (kty && !strcmp(kty, "EC"))
		m = ec;
	else if (kty && !strcmp(kty, "OKP"))
		m = okp;
	if (m == NULL || (c = json_object()) == NULL)
		goto out;
	for (; *m != NULL; m++) {
		json_t *v = json_object_get(o, *m);

		if (!json_is_string(v) || json_object_set(c, *m, v) != 0)
			goto out;
	}
	if ((txt = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS)) == NULL ||
	    !EVP_Digest(txt, strlen(txt), h, &hl, EVP_sha256(), NULL) ||
	    acme_b64url_encode(h, hl, &b) != PCA_OK)
		goto out;
	memcpy(out, b, 44);
	out[43] = '\0';
	err = PCA_OK;
out:
	if (err != PCA_OK)
		(void)pca_err_set(err, "jwk: not a supported key");
	free(txt);
	free(b);
	json_decref(c);
	json_decref(o);
	return err;
}

EVP_PKEY *
acme_jwk_pkey(const char *jwk)
{
	const char *why;

	return jwk_key(jwk, NULL, &why);
}
