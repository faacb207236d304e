/*
 * csr.c - CSR intake: a PKCS#10 request (RFC 2986) from an untrusted
 * client, as PEM or DER, to a verified struct ca_csr.
 *
 * Order of the checks (cheapest first, the signature last but one):
 *   size limit, PEM framing, d2i with every byte consumed, strict DER
 *   (ca_der_strict) and byte-identical re-encoding, version, signature
 *   algorithm, key, self-signature, requested extensions.
 * Every rejection is PCA_EBADCSR (PCA_ETOOBIG for size) with one sentence
 * naming the rule in pca_err_msg().
 *
 * Key policy (BR 6.1.5-6.1.6): RSA only as rsaEncryption with NULL
 * parameters, modulus 2048..LIM_RSA_MAX_BITS bits and a multiple of 8,
 * modulus odd, public exponent odd, >= 3 and < 2^256.  Sizes other than
 * 2048/3072/4096 are accepted with keyalg PCA_KEY_NONE.  EC only on the
 * named curves P-256/P-384/P-521 with an uncompressed point on the curve.
 */
#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/util.h"
#include "ca_int.h"

#define CSR_LABEL "CERTIFICATE REQUEST"
#define CSR_LABEL_NEW "NEW CERTIFICATE REQUEST"
#define CSR_BEGIN_NEW "-----BEGIN " CSR_LABEL_NEW "-----"
#define DER_MAX_DEPTH 32
#define RSA_MAX_E_BITS 256

/* ---- strict DER (X.690 section 10) ---- */

struct der_tlv {
	unsigned cls;		/* 0 universal .. 3 private */
	int cons;		/* constructed */
	uint32_t tag;		/* tag number */
	size_t hdr;		/* identifier + length octets */
	size_t clen;		/* content length */
};

static int
der_fail(char *why, size_t wl, size_t off, const char *rule)
{
	(void)snprintf(why, wl, "%s at byte %zu", rule, off);
	return 0;
}

/* Identifier octets: low tag numbers in one octet, high ones minimal. */
static int
der_tag(const uint8_t *p, size_t n, struct der_tlv *t, const char **rule)
{
	size_t i = 1;

	t->cls = p[0] >> 6;
	t->cons = (p[0] & 0x20) != 0;
	t->tag = p[0] & 0x1f;
	if (t->tag != 0x1f)
		return 1;
	t->tag = 0;
	if (n < 2 || p[1] == 0x80) {
		*rule = "tag number not in minimal form";
		return 0;
	}
	do {
		if (i >= n || i > 4) {
			*rule = "tag number too long or truncated";
			return 0;
		}
		t->tag = t->tag << 7 | (p[i] & 0x7f);
	} while (p[i++] & 0x80);
	if (t->tag < 0x1f) {
		*rule = "tag number not in minimal form";
		return 0;
	}
	t->hdr = i;
	return 1;
}

/* One TLV header at p (n bytes left): definite, minimal, in bounds. */
static int
der_head(const uint8_t *p, size_t n, struct der_tlv *t, const char **rule)
{
	size_t i, nl, len = 0;

	t->hdr = 1;
	if (!der_tag(p, n, t, rule))
		return 0;
	i = t->hdr;
	if (i >= n) {
		*rule = "element truncated";
		return 0;
	}
	if (p[i] < 0x80) {
		len = p[i++];
	} else if (p[i] == 0x80) {
		*rule = "indefinite length (BER, not DER)";
		return 0;
	} else {
		nl = p[i++] & 0x7f;
		if (nl > 4 || nl > n - i) {
			*rule = "length field too long or truncated";
			return 0;
		}
		if (p[i] == 0) {
			*rule = "length not in minimal form (BER, not DER)";
			return 0;
		}
		while (nl-- > 0)
			len = len << 8 | p[i++];
		if (len < 0x80) {
			*rule = "length not in minimal form (BER, not DER)";
			return 0;
		}
	}
	if (len > n - i) {
		*rule = "element runs past the end of its container";
		return 0;
	}
	t->hdr = i;
	t->clen = len;
	return 1;
}

/* Universal types that DER encodes primitive only. */
static int
der_prim_only(uint32_t tag)
{
	static const uint8_t prim[] = {1, 2, 3, 4, 5, 6, 9, 10, 12, 13, 18,
	    19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
	size_t i;

	for (i = 0; i < sizeof(prim); i++)
		if (prim[i] == tag)
			return 1;
	return 0;
}

/* Content rules for BOOLEAN, INTEGER, BIT STRING, NULL and OID. */
static const char *
der_prim_rule(uint32_t tag, const uint8_t *c, size_t n)
{
	size_t i;

	switch (tag) {
	case 1:
		return n == 1 && (c[0] == 0 || c[0] == 0xff) ? NULL :
		    "BOOLEAN not 00 or FF";
	case 2:
	case 10:
		if (n == 0 || (n > 1 && ((c[0] == 0 && !(c[1] & 0x80)) ||
		    (c[0] == 0xff && (c[1] & 0x80)))))
			return "INTEGER not in minimal form";
		return NULL;
	case 3:
		if (n == 0 || c[0] > 7 || (n == 1 && c[0] != 0) ||
		    (n > 1 && (c[n - 1] & ((1u << c[0]) - 1)) != 0))
			return "BIT STRING with bad or non-zero unused bits";
		return NULL;
	case 5:
		return n == 0 ? NULL : "NULL with content";
	case 6:
		if (n == 0 || (c[n - 1] & 0x80))
			return "OBJECT IDENTIFIER truncated";
		for (i = 0; i < n; i++)
			if (c[i] == 0x80 && (i == 0 || !(c[i - 1] & 0x80)))
				return "OBJECT IDENTIFIER arc not minimal";
		return NULL;
	default:
		return NULL;
	}
}

/* X.690 11.6: the elements of a SET OF in ascending order. */
static int
der_set_order(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int r = memcmp(a, b, an < bn ? an : bn);

	return r < 0 || (r == 0 && an <= bn);
}

static int
der_walk(const uint8_t *base, const uint8_t *p, size_t n, int depth,
    int is_set, char *why, size_t wl)
{
	const uint8_t *prev = NULL;
	size_t prev_n = 0, tl;
	struct der_tlv t;
	const char *rule = NULL;

	if (depth > DER_MAX_DEPTH)
		return der_fail(why, wl, (size_t)(p - base), "nested too deep");
	while (n > 0) {
		if (!der_head(p, n, &t, &rule))
			return der_fail(why, wl, (size_t)(p - base), rule);
		tl = t.hdr + t.clen;
		if (t.cls == 0 && (t.tag == 0 ||
		    (t.cons && der_prim_only(t.tag)) ||
		    (!t.cons && (t.tag == 16 || t.tag == 17))))
			return der_fail(why, wl, (size_t)(p - base),
			    "universal type in the wrong form");
		if (t.cls == 0 && !t.cons &&
		    (rule = der_prim_rule(t.tag, p + t.hdr, t.clen)) != NULL)
			return der_fail(why, wl, (size_t)(p - base), rule);
		if (is_set && prev != NULL &&
		    !der_set_order(prev, prev_n, p, tl))
			return der_fail(why, wl, (size_t)(p - base),
			    "SET OF elements out of order");
		if (t.cons && !der_walk(base, p + t.hdr, t.clen, depth + 1,
		    t.cls == 0 && t.tag == 17, why, wl))
			return 0;
		prev = p;
		prev_n = tl;
		p += tl;
		n -= tl;
	}
	return 1;
}

int
ca_der_strict(const uint8_t *p, size_t len, char *why, size_t whylen)
{
	struct der_tlv t;
	const char *rule = NULL;

	if (len == 0)
		return der_fail(why, whylen, 0, "no data");
	if (!der_head(p, len, &t, &rule))
		return der_fail(why, whylen, 0, rule);
	if (t.hdr + t.clen != len)
		return der_fail(why, whylen, t.hdr + t.clen,
		    "data after the outer element");
	return der_walk(p, p, len, 0, 0, why, whylen);
}

/* ---- framing and decoding ---- */

/* Number of "-----BEGIN " lines (a cheap count, to name two blocks). */
static size_t
pem_blocks(const uint8_t *p, size_t len)
{
	const uint8_t *q;
	size_t n = 0;

	while ((q = memmem(p, len, "-----BEGIN ", 11)) != NULL) {
		n++;
		len -= (size_t)(q - p) + 11;
		p = q + 11;
	}
	return n;
}

/* util_pem_decode's parse failures as EBADCSR/EBADCERT with a prefix. */
pca_err
ca_pem_one(const uint8_t *p, size_t len, const char *label, size_t max,
    pca_err code, const char *what, uint8_t **der, size_t *der_len)
{
	char msg[256];
	pca_err e;

	if (pem_blocks(p, len) > 1)
		return pca_err_set(code, "%s PEM holds more than one PEM "
		    "block; exactly one is required", what);
	e = util_pem_decode((const char *)p, len, label, max, der, der_len);
	if (e == PCA_EPARSE) {
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		return pca_err_set(code, "%s PEM is malformed: %s", what, msg);
	}
	return e;
}

static pca_err
csr_unframe(const uint8_t *p, size_t len, uint8_t **der, size_t *der_len)
{
	const char *label = CSR_LABEL;
	size_t i = 0;

	if (!util_is_pem(p, len)) {
		if ((*der = malloc(len)) == NULL)
			return pca_err_set(PCA_ENOMEM, "out of memory");
		memcpy(*der, p, len);
		*der_len = len;
		return PCA_OK;
	}
	while (i < len && isspace(p[i]))
		i++;
	if (len - i >= strlen(CSR_BEGIN_NEW) &&
	    memcmp(p + i, CSR_BEGIN_NEW, strlen(CSR_BEGIN_NEW)) == 0)
		label = CSR_LABEL_NEW;
	return ca_pem_one(p, len, label, LIM_CSR_DER, PCA_EBADCSR, "CSR", der,
	    der_len);
}

/* d2i, every byte consumed, strict DER, re-encoding byte-identical. */
static pca_err
csr_decode(const uint8_t *der, size_t len, X509_REQ **out)
{
	const unsigned char *q = der;
	unsigned char *re = NULL;
	X509_REQ *req = NULL;
	char why[128];
	int n;
	pca_err e = PCA_OK;

	if (len > LONG_MAX)
		return pca_err_set(PCA_ETOOBIG, "CSR is too large");
	if ((req = d2i_X509_REQ(NULL, &q, (long)len)) == NULL)
		return pca_err_set(PCA_EBADCSR,
		    "CSR does not parse as a PKCS#10 CertificationRequest");
	if (q != der + len) {
		e = pca_err_set(PCA_EBADCSR, "CSR has %zu bytes after the "
		    "CertificationRequest", len - (size_t)(q - der));
		goto out;
	}
	if (!ca_der_strict(der, len, why, sizeof(why))) {
		e = pca_err_set(PCA_EBADCSR, "CSR is not canonical DER: %s",
		    why);
		goto out;
	}
	/* force a fresh encoding of the (otherwise cached) request info */
	if (i2d_re_X509_REQ_tbs(req, NULL) <= 0 ||
	    (n = i2d_X509_REQ(req, &re)) <= 0) {
		e = pca_err_set(PCA_EBADCSR, "CSR cannot be re-encoded");
		goto out;
	}
	if ((size_t)n != len || memcmp(re, der, len) != 0) {
		e = pca_err_set(PCA_EBADCSR, "CSR is not canonical DER: "
		    "re-encoding it gives different bytes");
		goto out;
	}
	*out = req;
	req = NULL;
out:
	OPENSSL_free(re);
	X509_REQ_free(req);
	return e;
}

/* ---- signature algorithm ---- */

static int
sha2_nid(const X509_ALGOR *a)
{
	const ASN1_OBJECT *obj;
	int ptype, nid;

	if (a == NULL)
		return 0;
	X509_ALGOR_get0(&obj, &ptype, NULL, a);
	nid = OBJ_obj2nid(obj);
	if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
		return 0;
	return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512 ?
	    nid : 0;
}

/* RSASSA-PSS (RFC 4055): SHA-2, MGF1 with the same hash, trailer 1. */
static pca_err
csr_check_pss(int ptype, const void *pval)
{
	const ASN1_STRING *s = pval;
	const unsigned char *q;
	RSA_PSS_PARAMS *pss = NULL;
	X509_ALGOR *mgfmd = NULL;
	const ASN1_OBJECT *mgf;
	const void *mval;
	int mtype, md;
	pca_err e = PCA_OK;

	if (ptype != V_ASN1_SEQUENCE)
		return pca_err_set(PCA_EBADCSR,
		    "CSR RSASSA-PSS signature has no parameters");
	q = ASN1_STRING_get0_data(s);
	pss = d2i_RSA_PSS_PARAMS(NULL, &q, ASN1_STRING_length(s));
	if (pss == NULL || (md = sha2_nid(pss->hashAlgorithm)) == 0 ||
	    pss->maskGenAlgorithm == NULL) {
		e = pca_err_set(PCA_EBADCSR, "CSR RSASSA-PSS signature must "
		    "name SHA-256, SHA-384 or SHA-512 and MGF1 explicitly");
		goto out;
	}
	X509_ALGOR_get0(&mgf, &mtype, &mval, pss->maskGenAlgorithm);
	if (OBJ_obj2nid(mgf) == NID_mgf1 && mtype == V_ASN1_SEQUENCE) {
		q = ASN1_STRING_get0_data(mval);
		mgfmd = d2i_X509_ALGOR(NULL, &q, ASN1_STRING_length(mval));
	}
	if (mgfmd == NULL || sha2_nid(mgfmd) != md ||
	    (pss->trailerField != NULL &&
		ASN1_INTEGER_get(pss->trailerField) != 1)) {
		e = pca_err_set(PCA_EBADCSR, "CSR RSASSA-PSS signature must "
		    "use MGF1 with its own hash and trailer field 1");
		goto out;
	}
out:
	X509_ALGOR_free(mgfmd);
	RSA_PSS_PARAMS_free(pss);
	return e;
}

/* *fam: the key type the signature algorithm needs. */
static pca_err
csr_check_sigalg(const X509_REQ *req, int *fam)
{
	const ASN1_BIT_STRING *sig;
	const X509_ALGOR *alg;
	const ASN1_OBJECT *obj;
	const void *pval;
	char name[80];
	int ptype;

	X509_REQ_get0_signature(req, &sig, &alg);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	switch (OBJ_obj2nid(obj)) {
	case NID_sha256WithRSAEncryption:
	case NID_sha384WithRSAEncryption:
	case NID_sha512WithRSAEncryption:
		*fam = EVP_PKEY_RSA;
		return ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF ? PCA_OK :
		    pca_err_set(PCA_EBADCSR, "CSR RSA signature algorithm "
		    "parameters must be NULL (RFC 4055)");
	case NID_ecdsa_with_SHA256:
	case NID_ecdsa_with_SHA384:
	case NID_ecdsa_with_SHA512:
		*fam = EVP_PKEY_EC;
		return ptype == V_ASN1_UNDEF ? PCA_OK :
		    pca_err_set(PCA_EBADCSR, "CSR ECDSA signature algorithm "
		    "must have no parameters (RFC 5758)");
	case NID_rsassaPss:
		*fam = EVP_PKEY_RSA;
		return csr_check_pss(ptype, pval);
	default:
		(void)OBJ_obj2txt(name, sizeof(name), obj, 0);
		return pca_err_set(PCA_EBADCSR, "CSR is signed with %s; only "
		    "SHA-256/384/512 with RSA (PKCS#1 v1.5 or PSS) or ECDSA "
		    "is accepted", name);
	}
}

/* ---- key ---- */

static pca_err
csr_rsa_numbers(const BIGNUM *n, const BIGNUM *e, struct ca_csr *c)
{
	int bits = BN_num_bits(n);

	if (bits < LIM_RSA_MIN_BITS)
		return pca_err_set(PCA_EBADCSR, "CSR key is RSA-%d; at least "
		    "RSA-%d is required", bits, LIM_RSA_MIN_BITS);
	if (bits > LIM_RSA_MAX_BITS)
		return pca_err_set(PCA_EBADCSR, "CSR key is RSA-%d; at most "
		    "RSA-%d is accepted", bits, LIM_RSA_MAX_BITS);
	if (bits % 8 != 0 || !BN_is_odd(n))
		return pca_err_set(PCA_EBADCSR, "CSR RSA modulus must be odd "
		    "and a multiple of 8 bits long (BR 6.1.6)");
	if (BN_is_negative(e) || !BN_is_odd(e) || BN_num_bits(e) < 2 ||
	    BN_num_bits(e) > RSA_MAX_E_BITS)
		return pca_err_set(PCA_EBADCSR, "CSR RSA public exponent must "
		    "be odd, at least 3 and below 2^%d", RSA_MAX_E_BITS);
	c->rsa_bits = bits;
	c->keyalg = bits == 2048 ? PCA_KEY_RSA_2048 :
	    bits == 3072 ? PCA_KEY_RSA_3072 :
	    bits == 4096 ? PCA_KEY_RSA_4096 : PCA_KEY_NONE;
	return PCA_OK;
}

static pca_err
csr_check_rsa(X509_REQ *req, const X509_ALGOR *pa, struct ca_csr *c)
{
	EVP_PKEY *pkey;
	BIGNUM *n = NULL, *e = NULL;
	int ptype;
	pca_err err;

	X509_ALGOR_get0(NULL, &ptype, NULL, pa);
	if (ptype != V_ASN1_NULL)
		return pca_err_set(PCA_EBADCSR, "CSR RSA key algorithm "
		    "parameters must be NULL (RFC 3279 2.3.1)");
	if ((pkey = X509_REQ_get0_pubkey(req)) == NULL ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
		err = pca_err_set(PCA_EBADCSR,
		    "CSR RSA public key does not decode");
		goto out;
	}
	err = csr_rsa_numbers(n, e, c);
out:
	BN_free(n);
	BN_free(e);
	return err;
}

static pca_err
csr_check_ec(X509_REQ *req, const X509_ALGOR *pa, const unsigned char *pk,
    int pklen, struct ca_csr *c)
{
	static const struct {
		int nid, flen;
		enum pca_keyalg alg;
		const char *name;
	} curves[] = {{NID_X9_62_prime256v1, 32, PCA_KEY_EC_P256, "P-256"},
	    {NID_secp384r1, 48, PCA_KEY_EC_P384, "P-384"},
	    {NID_secp521r1, 66, PCA_KEY_EC_P521, "P-521"}};
	const void *pval;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey;
	char name[80];
	int ptype, nid, ok;
	size_t i;

	X509_ALGOR_get0(NULL, &ptype, &pval, pa);
	if (ptype == V_ASN1_SEQUENCE)
		return pca_err_set(PCA_EBADCSR, "CSR EC key uses explicit "
		    "curve parameters; only the named curves P-256, P-384 and "
		    "P-521 are accepted");
	if (ptype != V_ASN1_OBJECT)
		return pca_err_set(PCA_EBADCSR, "CSR EC key names no curve");
	nid = OBJ_obj2nid(pval);
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].nid == nid)
			break;
	if (i == sizeof(curves) / sizeof(curves[0])) {
		(void)OBJ_obj2txt(name, sizeof(name), pval, 0);
		return pca_err_set(PCA_EBADCSR, "CSR uses unsupported curve %s;"
		    " P-256, P-384 or P-521 is required", name);
	}
	if (pklen != 1 + 2 * curves[i].flen || pk[0] != 0x04)
		return pca_err_set(PCA_EBADCSR, "CSR EC public key is not an "
		    "uncompressed point (RFC 5480 2.2)");
	ok = (pkey = X509_REQ_get0_pubkey(req)) != NULL &&
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) != NULL &&
	    EVP_PKEY_public_check_quick(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok)
		return pca_err_set(PCA_EBADCSR, "CSR EC public key is not a "
		    "valid point on %s", curves[i].name);
	c->keyalg = curves[i].alg;
	c->rsa_bits = 0;
	return PCA_OK;
}

static pca_err
csr_check_key(X509_REQ *req, int fam, struct ca_csr *c)
{
	X509_PUBKEY *xpk = X509_REQ_get_X509_PUBKEY(req);
	ASN1_OBJECT *kobj = NULL;
	const unsigned char *pk = NULL;
	X509_ALGOR *pa = NULL;
	char name[80];
	int pklen = 0, knid;
	pca_err e;

	if (xpk == NULL ||
	    !X509_PUBKEY_get0_param(&kobj, &pk, &pklen, &pa, xpk) ||
	    pk == NULL || pklen <= 0)
		return pca_err_set(PCA_EBADCSR, "CSR has no public key");
	knid = OBJ_obj2nid(kobj);
	if (knid == NID_rsaEncryption)
		e = csr_check_rsa(req, pa, c);
	else if (knid == NID_X9_62_id_ecPublicKey)
		e = csr_check_ec(req, pa, pk, pklen, c);
	else {
		(void)OBJ_obj2txt(name, sizeof(name), kobj, 0);
		return pca_err_set(PCA_EBADCSR, "CSR key type %s is not "
		    "supported; RSA or EC P-256/P-384/P-521 is required", name);
	}
	if (e == PCA_OK &&
	    fam != (knid == NID_rsaEncryption ? EVP_PKEY_RSA : EVP_PKEY_EC))
		return pca_err_set(PCA_EBADCSR, "CSR signature algorithm does "
		    "not fit its %s key", knid == NID_rsaEncryption ? "RSA" :
		    "EC");
	return e;
}

/* ---- requested extensions ---- */

static pca_err
csr_ext_attr(X509_REQ *req, const ASN1_STRING **seq)
{
	X509_ATTRIBUTE *attr;
	const ASN1_TYPE *t;
	int i = X509_REQ_get_attr_by_NID(req, NID_ext_req, -1);
	int ms = X509_REQ_get_attr_by_NID(req, NID_ms_ext_req, -1);

	*seq = NULL;
	if (i < 0 && ms < 0)
		return PCA_OK;
	if ((i >= 0 && ms >= 0) ||
	    X509_REQ_get_attr_by_NID(req, NID_ext_req, i) >= 0 ||
	    X509_REQ_get_attr_by_NID(req, NID_ms_ext_req, ms) >= 0)
		return pca_err_set(PCA_EBADCSR,
		    "CSR has more than one extensionRequest attribute");
	attr = X509_REQ_get_attr(req, i >= 0 ? i : ms);
	if (X509_ATTRIBUTE_count(attr) != 1 ||
	    (t = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL ||
	    t->type != V_ASN1_SEQUENCE)
		return pca_err_set(PCA_EBADCSR, "CSR extensionRequest "
		    "attribute must hold exactly one SEQUENCE of extensions");
	*seq = t->value.sequence;
	return PCA_OK;
}

static pca_err
csr_ext_rules(const STACK_OF(X509_EXTENSION) *exts)
{
	X509_EXTENSION *x;
	GENERAL_NAMES *gn;
	char name[80];
	int i, j, n = sk_X509_EXTENSION_num(exts);

	if (n > LIM_CSR_EXTS)
		return pca_err_set(PCA_EBADCSR, "CSR requests %d extensions; "
		    "at most %d are accepted", n, LIM_CSR_EXTS);
	for (i = 0; i < n; i++) {
		x = sk_X509_EXTENSION_value(exts, i);
		for (j = i + 1; j < n; j++)
			if (OBJ_cmp(X509_EXTENSION_get_object(x),
			    X509_EXTENSION_get_object(
			    sk_X509_EXTENSION_value(exts, j))) == 0) {
				(void)OBJ_obj2txt(name, sizeof(name),
				    X509_EXTENSION_get_object(x), 0);
				return pca_err_set(PCA_EBADCSR, "CSR requests "
				    "the %s extension more than once", name);
			}
		if (OBJ_obj2nid(X509_EXTENSION_get_object(x)) !=
		    NID_subject_alt_name)
			continue;
		gn = X509V3_EXT_d2i(x);
		j = gn != NULL ? sk_GENERAL_NAME_num(gn) : 0;
		GENERAL_NAMES_free(gn);
		if (j <= 0)
			return pca_err_set(PCA_EBADCSR, "CSR subjectAltName "
			    "extension does not parse or is empty");
	}
	return PCA_OK;
}

static pca_err
csr_check_exts(struct ca_csr *c)
{
	const ASN1_STRING *seq;
	const unsigned char *q, *end;
	unsigned char *re = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	int n;
	pca_err e;

	if ((e = csr_ext_attr(c->req, &seq)) != PCA_OK || seq == NULL)
		return e;
	q = ASN1_STRING_get0_data(seq);
	end = q + ASN1_STRING_length(seq);
	exts = d2i_X509_EXTENSIONS(NULL, &q, ASN1_STRING_length(seq));
	if (exts == NULL || q != end) {
		e = pca_err_set(PCA_EBADCSR,
		    "CSR extensionRequest does not parse as Extensions");
		goto out;
	}
	n = i2d_X509_EXTENSIONS(exts, &re);
	if (n != ASN1_STRING_length(seq) ||
	    memcmp(re, ASN1_STRING_get0_data(seq), (size_t)n) != 0) {
		e = pca_err_set(PCA_EBADCSR, "CSR extensionRequest is not "
		    "canonical DER (e.g. an explicit critical FALSE)");
		goto out;
	}
	if ((e = csr_ext_rules(exts)) != PCA_OK)
		goto out;
	c->exts = exts;
	exts = NULL;
out:
	OPENSSL_free(re);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return e;
}

/* ---- the request ---- */

/* The SubjectPublicKeyInfo bytes exactly as they are in the input. */
static pca_err
csr_spki_copy(struct ca_csr *c)
{
	const uint8_t *p = c->der;
	size_t n = c->der_len, i;
	struct der_tlv t;
	const char *rule;

	/* into CertificationRequest, into CertificationRequestInfo */
	for (i = 0; i < 2; i++) {
		if (!der_head(p, n, &t, &rule))
			goto bad;
		p += t.hdr;
		n = t.clen;
	}
	/* past version and subject */
	for (i = 0; i < 2; i++) {
		if (!der_head(p, n, &t, &rule))
			goto bad;
		p += t.hdr + t.clen;
		n -= t.hdr + t.clen;
	}
	if (!der_head(p, n, &t, &rule) || p[0] != 0x30)
		goto bad;
	if ((c->spki = malloc(t.hdr + t.clen)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	memcpy(c->spki, p, t.hdr + t.clen);
	c->spki_len = t.hdr + t.clen;
	return PCA_OK;
bad:
	return pca_err_set(PCA_EBADCSR, "CSR SubjectPublicKeyInfo not found");
}

static pca_err
csr_check(struct ca_csr *c)
{
	int fam = 0;
	long v;
	pca_err e;

	if ((e = csr_decode(c->der, c->der_len, &c->req)) != PCA_OK)
		return e;
	if ((v = X509_REQ_get_version(c->req)) != 0)
		return pca_err_set(PCA_EBADCSR, "CSR version is %ld; only v1 "
		    "(0) is defined (RFC 2986)", v);
	if ((e = csr_check_sigalg(c->req, &fam)) != PCA_OK ||
	    (e = csr_check_key(c->req, fam, c)) != PCA_OK)
		return e;
	if (X509_REQ_verify(c->req, X509_REQ_get0_pubkey(c->req)) != 1)
		return pca_err_set(PCA_EBADCSR,
		    "CSR signature does not verify with the CSR's own key");
	if ((e = csr_check_exts(c)) != PCA_OK)
		return e;
	return csr_spki_copy(c);
}

pca_err
ca_csr_parse(const uint8_t *p, size_t len, struct ca_csr **out)
{
	struct ca_csr *c = NULL;
	pca_err e;

	assert(out != NULL);
	if (len > LIM_CSR_DER)
		return pca_err_set(PCA_ETOOBIG, "CSR is %zu bytes; at most %d "
		    "are accepted", len, LIM_CSR_DER);
	if (p == NULL || len == 0)
		return pca_err_set(PCA_EBADCSR, "CSR is empty");
	ERR_set_mark();
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		e = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = csr_unframe(p, len, &c->der, &c->der_len)) != PCA_OK ||
	    (e = csr_check(c)) != PCA_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	if (e != PCA_OK)
		pca_err_add_openssl();
	else
		(void)ERR_pop_to_mark();	/* decode noise, judged */
	ca_csr_free(c);
	return e;
}

void
ca_csr_free(struct ca_csr *c)
{
	if (c == NULL)
		return;
	X509_REQ_free(c->req);
	free(c->der);
	free(c->spki);
	sk_X509_EXTENSION_pop_free(c->exts, X509_EXTENSION_free);
	free(c);
}

int
ca_csr_subject_empty(const struct ca_csr *c)
{
	return X509_NAME_entry_count(X509_REQ_get_subject_name(c->req)) == 0;
}

int
ca_csr_has_san(const struct ca_csr *c)
{
	int i;

	for (i = 0; i < sk_X509_EXTENSION_num(c->exts); i++)
		if (OBJ_obj2nid(X509_EXTENSION_get_object(
		    sk_X509_EXTENSION_value(c->exts, i))) ==
		    NID_subject_alt_name)
			return 1;
	return 0;
}
