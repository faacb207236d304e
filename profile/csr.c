/*
 * csr.c - CSR intake: a PKCS#10 request (RFC 2986) from an untrusted
 * client, as PEM or DER, to a verified struct prof_csr.
 *
 * Order of the checks (cheapest first, the signature last but one):
 *   size limit, PEM framing, every byte consumed, strict DER
 *   (x509_der_strict, which alone makes the encoding canonical), the PKCS#10
 *   structure, subject Name, version, signature algorithm, key,
 *   self-signature, requested extensions.
 *
 * The request is walked on its DER bytes; OpenSSL never decodes it as an
 * X509_REQ.  d2i_X509_REQ (and X509_REQ_verify) turn the key into an
 * EVP_PKEY through the OSSL_DECODER machinery, which costs more than the
 * rest of an issuance (openssl/openssl#20051, #19119).  Instead the key
 * numbers go to EVP_PKEY_fromdata, the signature is checked over the
 * CertificationRequestInfo bytes as received with digests fetched once,
 * and only the subject Name and the extensions are d2i'd (plain ASN.1
 * templates, no decoders).
 *
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/util.h"
#include "../x509/x509.h"
#include "profile_int.h"

#define CSR_LABEL "CERTIFICATE REQUEST"
#define CSR_LABEL_NEW "NEW CERTIFICATE REQUEST"
#define CSR_BEGIN_NEW "-----BEGIN " CSR_LABEL_NEW "-----"
#define RSA_MAX_E_BITS 256

/*
 * A rule that BER allows and only DER forbids says so: its text carries
 * DER_ONLY (x509_der_strict).  Every other rule is broken in any encoding
 * (what d2i refuses).
 */
#define DER_ONLY X509_DER_ONLY

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
prof_pem_one(const uint8_t *p, size_t len, const char *label, size_t max,
    pca_err code, const char *what, uint8_t **der, size_t *der_len)
{
	char msg[256];
	pca_err e;

	if (pem_blocks(p, len) > 1)
		return pca_err_set(code,
		    "%s PEM holds more than one PEM "
		    "block; exactly one is required",
		    what);
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
	return prof_pem_one(p, len, label, LIM_CSR_DER, PCA_EBADCSR, "CSR", der,
	    der_len);
}

/* ---- the request's structure, walked on the DER itself ---- */

/* AlgorithmIdentifier ::= SEQUENCE { OID, ANY OPTIONAL } */
struct der_alg {
	struct x509_der oid;
	struct x509_der par; /* par.tlv NULL: absent */
};

static int
der_alg(const struct x509_der *seq, struct der_alg *a)
{
	const uint8_t *p = seq->c;
	size_t n = seq->clen;

	memset(&a->par, 0, sizeof(a->par));
	if (seq->id != 0x30 || !x509_der_want(&p, &n, 0x06, &a->oid))
		return 0;
	if (n > 0 && !x509_der_get(&p, &n, &a->par))
		return 0;
	return n == 0;
}

/* The parameters' type as X509_ALGOR_get0 names it (all we tell apart). */
static int
der_alg_ptype(const struct der_alg *a)
{
	if (a->par.tlv == NULL)
		return V_ASN1_UNDEF;
	switch (a->par.id) {
	case 0x05:
		return V_ASN1_NULL;
	case 0x06:
		return V_ASN1_OBJECT;
	case 0x30:
		return V_ASN1_SEQUENCE;
	default:
		return V_ASN1_OTHER;
	}
}

/* The parts of a CertificationRequest (RFC 2986 section 4). */
struct csr_parts {
	struct x509_der cri; /* CertificationRequestInfo, signed */
	struct x509_der version;
	struct x509_der subject;
	struct x509_der spki;
	struct der_alg kalg;
	struct x509_der key;   /* subjectPublicKey BIT STRING */
	struct x509_der attrs; /* [0] attributes; attrs.tlv NULL: absent */
	struct der_alg salg;
	struct x509_der sig; /* signature BIT STRING */
};

/* Attribute ::= SEQUENCE { type OID, values SET OF ANY } */
static int
csr_attr(const struct x509_der *a, struct x509_der *type, struct x509_der *vals)
{
	const uint8_t *p = a->c;
	size_t n = a->clen;

	return a->id == 0x30 && x509_der_want(&p, &n, 0x06, type) &&
	       x509_der_want(&p, &n, 0x31, vals) && n == 0;
}

/*
 * 1 if the request has the PKCS#10 structure, 0 if not; -1 if its
 * attributes, an IMPLICIT SET OF that x509_der_strict cannot know for one,
 * are out of DER order (X.690 11.6), with *off at the first one out.
 */
static int
csr_structure(const struct x509_der *outer, struct csr_parts *s, size_t *off)
{
	struct x509_der spki_alg, type, vals, a, prev = {0};
	const uint8_t *p = outer->c;
	const unsigned char *q;
	X509_ATTRIBUTE *xa;
	size_t n = outer->clen;
	int order = 1;

	memset(s, 0, sizeof(*s));
	if (!x509_der_want(&p, &n, 0x30, &s->cri) ||
	    !x509_der_get(&p, &n, &a) || !der_alg(&a, &s->salg) ||
	    !x509_der_want(&p, &n, 0x03, &s->sig) || n != 0)
		return 0;
	p = s->cri.c;
	n = s->cri.clen;
	if (!x509_der_want(&p, &n, 0x02, &s->version) ||
	    !x509_der_want(&p, &n, 0x30, &s->subject) ||
	    !x509_der_want(&p, &n, 0x30, &s->spki))
		return 0;
	/* attributes are required by RFC 2986, optional to OpenSSL */
	if (n > 0 && (!x509_der_want(&p, &n, 0xa0, &s->attrs) || n != 0))
		return 0;
	p = s->spki.c;
	n = s->spki.clen;
	if (!x509_der_get(&p, &n, &spki_alg) || !der_alg(&spki_alg, &s->kalg) ||
	    !x509_der_want(&p, &n, 0x03, &s->key) || n != 0)
		return 0;
	/* each Attribute as OpenSSL reads it (values are ANY: d2i checks
	 * the lengths of BMPString, UniversalString and times in them) */
	p = s->attrs.c;
	n = s->attrs.clen;
	while (n > 0) {
		if (!x509_der_get(&p, &n, &a) || !csr_attr(&a, &type, &vals))
			return 0;
		q = a.tlv;
		xa = d2i_X509_ATTRIBUTE(NULL, &q, (long)a.len);
		X509_ATTRIBUTE_free(xa);
		if (xa == NULL || q != a.tlv + a.len)
			return 0;
		if (order && prev.tlv != NULL &&
		    !x509_der_set_order(prev.tlv, prev.len, a.tlv, a.len)) {
			*off = (size_t)(a.tlv - outer->tlv);
			order = 0;
		}
		prev = a;
	}
	return order ? 1 : -1;
}

/*
 * Framing (every byte consumed), strict DER over the whole tree, and the
 * PKCS#10 structure.  The strict walk is the canonicality guarantee: the
 * structure has no DEFAULT fields outside the extensions (re-encoded in
 * csr_check_exts), so strict DER is the only encoding there is.  In the
 * order d2i gave before: what is not even BER, or not a PKCS#10 request,
 * "does not parse"; then bytes after it; then BER that is not DER.
 */
static pca_err
csr_decode(const uint8_t *der, size_t len, struct csr_parts *s)
{
	struct x509_der outer;
	const uint8_t *p = der;
	size_t n, total = len, off = 0;
	char why[128];
	int r, strict, shape = 1;

	if (len > LONG_MAX)
		return pca_err_set(PCA_ETOOBIG, "CSR is too large");
	if ((r = x509_ber_extent(der, len, 0x30, &total)) == 0)
		goto bad;
	strict = x509_der_strict(der, total, why, sizeof(why));
	if (!strict && strstr(why, DER_ONLY) == NULL)
		return pca_err_set(PCA_EBADCSR,
		    "CSR does not parse as a "
		    "PKCS#10 CertificationRequest: %s",
		    why);
	n = total;
	if (strict && (!x509_der_want(&p, &n, 0x30, &outer) || n != 0 ||
			  (shape = csr_structure(&outer, s, &off)) == 0))
		goto bad;
	if (total != len)
		return pca_err_set(PCA_EBADCSR,
		    "CSR has %zu bytes after the "
		    "CertificationRequest",
		    len - total);
	if (!strict)
		return pca_err_set(PCA_EBADCSR, "CSR is not canonical DER: %s",
		    why);
	if (shape < 0)
		return pca_err_set(PCA_EBADCSR,
		    "CSR is not canonical DER: "
		    "attributes (a SET OF) out of order " DER_ONLY " at byte "
		    "%zu",
		    off);
	return PCA_OK;
bad:
	return pca_err_set(PCA_EBADCSR,
	    "CSR does not parse as a PKCS#10 CertificationRequest");
}

/* The subject: the Name as OpenSSL reads it, every byte consumed. */
static pca_err
csr_subject(const struct csr_parts *s, X509_NAME **out)
{
	const unsigned char *q = s->subject.tlv;

	*out = d2i_X509_NAME(NULL, &q, (long)s->subject.len);
	if (*out == NULL || q != s->subject.tlv + s->subject.len)
		return pca_err_set(PCA_EBADCSR,
		    "CSR does not parse as a PKCS#10 CertificationRequest");
	return PCA_OK;
}

/* INTEGER version: 0 only; others named as a long (-1 if too large). */
static pca_err
csr_version(const struct x509_der *v)
{
	long x;
	size_t i;

	if (v->clen == 1 && v->c[0] == 0)
		return PCA_OK;
	if (v->clen > sizeof(long))
		x = -1;
	else {
		x = (v->c[0] & 0x80) ? -1 : 0;
		for (i = 0; i < v->clen; i++)
			x = (long)((unsigned long)x << 8 | v->c[i]);
	}
	return pca_err_set(PCA_EBADCSR,
	    "CSR version is %ld; only v1 (0) is "
	    "defined (RFC 2986)",
	    x);
}

/* ---- object identifiers ---- */

/* The element is an OBJECT IDENTIFIER with the contents of o. */
static int
oid_is(const struct x509_der *e, const struct x509_oid *o)
{
	return e->id == 0x06 && x509_oid_is(e->c, e->clen, o);
}

/* Index of e in the n OIDs at o, or -1. */
static int
oid_find(const struct x509_der *e, const struct x509_oid *o, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (oid_is(e, &o[i]))
			return i;
	return -1;
}

/* The OID's name as OBJ_obj2txt gives it (for messages only). */
static const char *
oid_name(const struct x509_der *e, char *buf, size_t n)
{
	const unsigned char *q = e->tlv;
	ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &q, (long)e->len);

	if (o == NULL || OBJ_obj2txt(buf, (int)n, o, 0) <= 0)
		(void)snprintf(buf, n, "an unknown algorithm");
	ASN1_OBJECT_free(o);
	return buf;
}

/* ---- digests and curves, set up once ---- */

static const char *const sha2_names[3] = {"SHA2-256", "SHA2-384", "SHA2-512"};
static const char *const curve_names[3] = {"P-256", "P-384", "P-521"};
static EVP_MD *sha2_md[3];
static EVP_PKEY *curve_tmpl[3]; /* the curve's domain parameters only */
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

static EVP_PKEY *
key_fromdata(const char *type, int selection, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *k = NULL;

	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, selection, params) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static void
setup(void)
{
	OSSL_PARAM p[2];
	int i;

	ERR_set_mark();
	for (i = 0; i < 3; i++) {
		sha2_md[i] = EVP_MD_fetch(NULL, sha2_names[i], NULL);
		p[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve_names[i], 0);
		p[1] = OSSL_PARAM_construct_end();
		curve_tmpl[i] = key_fromdata("EC", EVP_PKEY_KEY_PARAMETERS, p);
	}
	(void)ERR_pop_to_mark();
}

/* The fetched SHA-2 digest for 0..2 (SHA-256, -384, -512). */
static const EVP_MD *
sha2_get(int i)
{
	(void)pthread_once(&setup_once, setup);
	return i >= 0 && i < 3 ? sha2_md[i] : NULL;
}

/*
 * An EC public key on curve 0..2 (P-256, -384, -521) from its point: a
 * copy of the curve's parameters, then the point set as the encoded
 * public key.  The same EC_POINT_oct2point as EVP_PKEY_fromdata with
 * the group name and the point (which refuses points off the curve and
 * coordinates not below p), without building the group each time
 * (EC_GROUP_new_by_curve_name: about 40 of the 50 us fromdata costs).
 * NULL if the point is not valid; with *internal set if OpenSSL failed.
 */
static EVP_PKEY *
ec_key(int curve, const uint8_t *pt, size_t n, int *internal)
{
	EVP_PKEY *k;

	(void)pthread_once(&setup_once, setup);
	*internal = 1;
	if (curve_tmpl[curve] == NULL ||
	    (k = EVP_PKEY_dup(curve_tmpl[curve])) == NULL)
		return NULL;
	*internal = 0;
	if (EVP_PKEY_set_octet_string_param(k,
		OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, (unsigned char *)pt,
		n) != 1) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/* ---- signature algorithm ---- */

/* What the signature algorithm asks of the key and of the verifier. */
struct sigalg {
	int fam; /* EVP_PKEY_RSA or EVP_PKEY_EC */
	int md;  /* 0..2: SHA-256/384/512 */
	int pss;
	int saltlen; /* PSS only */
};

static int
sha2_index(const X509_ALGOR *a)
{
	const ASN1_OBJECT *obj;
	int ptype;

	if (a == NULL)
		return -1;
	X509_ALGOR_get0(&obj, &ptype, NULL, a);
	if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
		return -1;
	switch (OBJ_obj2nid(obj)) {
	case NID_sha256:
		return 0;
	case NID_sha384:
		return 1;
	case NID_sha512:
		return 2;
	default:
		return -1;
	}
}

/* RSASSA-PSS (RFC 4055): SHA-2, MGF1 with the same hash, trailer 1. */
static pca_err
csr_check_pss(const struct der_alg *a, struct sigalg *sa)
{
	const unsigned char *q;
	RSA_PSS_PARAMS *pss = NULL;
	X509_ALGOR *mgfmd = NULL;
	const ASN1_OBJECT *mgf;
	const void *mval;
	long salt;
	int mtype;
	pca_err e = PCA_OK;

	if (der_alg_ptype(a) != V_ASN1_SEQUENCE)
		return pca_err_set(PCA_EBADCSR,
		    "CSR RSASSA-PSS signature has no parameters");
	q = a->par.tlv;
	pss = d2i_RSA_PSS_PARAMS(NULL, &q, (long)a->par.len);
	if (pss == NULL || (sa->md = sha2_index(pss->hashAlgorithm)) < 0 ||
	    pss->maskGenAlgorithm == NULL) {
		e = pca_err_set(PCA_EBADCSR,
		    "CSR RSASSA-PSS signature must "
		    "name SHA-256, SHA-384 or SHA-512 and MGF1 explicitly");
		goto out;
	}
	X509_ALGOR_get0(&mgf, &mtype, &mval, pss->maskGenAlgorithm);
	if (OBJ_obj2nid(mgf) == NID_mgf1 && mtype == V_ASN1_SEQUENCE) {
		q = ASN1_STRING_get0_data(mval);
		mgfmd = d2i_X509_ALGOR(NULL, &q, ASN1_STRING_length(mval));
	}
	if (mgfmd == NULL || sha2_index(mgfmd) != sa->md ||
	    (pss->trailerField != NULL &&
		ASN1_INTEGER_get(pss->trailerField) != 1)) {
		e = pca_err_set(PCA_EBADCSR,
		    "CSR RSASSA-PSS signature must "
		    "use MGF1 with its own hash and trailer field 1");
		goto out;
	}
	/* saltLength DEFAULT 20; a negative one cannot verify */
	salt = pss->saltLength == NULL ? 20 : ASN1_INTEGER_get(pss->saltLength);
	sa->saltlen = salt >= 0 && salt <= INT_MAX ? (int)salt : -1;
	sa->pss = 1;
out:
	X509_ALGOR_free(mgfmd);
	RSA_PSS_PARAMS_free(pss);
	return e;
}

static pca_err
csr_check_sigalg(const struct der_alg *a, struct sigalg *sa)
{
	char name[80];
	int ptype = der_alg_ptype(a);

	memset(sa, 0, sizeof(*sa));
	if ((sa->md = oid_find(&a->oid, X509_OID_RSA_SHA2, 3)) >= 0) {
		sa->fam = EVP_PKEY_RSA;
		return ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF
			   ? PCA_OK
			   : pca_err_set(PCA_EBADCSR,
				 "CSR RSA signature algorithm "
				 "parameters must be NULL (RFC 4055)");
	}
	if ((sa->md = oid_find(&a->oid, X509_OID_ECDSA_SHA2, 3)) >= 0) {
		sa->fam = EVP_PKEY_EC;
		return ptype == V_ASN1_UNDEF
			   ? PCA_OK
			   : pca_err_set(PCA_EBADCSR,
				 "CSR ECDSA signature algorithm "
				 "must have no parameters (RFC 5758)");
	}
	if (oid_is(&a->oid, &X509_OID_RSA_PSS)) {
		sa->fam = EVP_PKEY_RSA;
		return csr_check_pss(a, sa);
	}
	return pca_err_set(PCA_EBADCSR,
	    "CSR is signed with %s; only "
	    "SHA-256/384/512 with RSA (PKCS#1 v1.5 or PSS) or ECDSA is "
	    "accepted",
	    oid_name(&a->oid, name, sizeof(name)));
}

/* ---- key ---- */

/* Big-endian unsigned content to the native order OSSL_PARAM BNs use. */
static void
be_to_native(const uint8_t *be, size_t n, uint8_t *out)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	memcpy(out, be, n);
#else
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = be[n - 1 - i];
#endif
}

/* Bits in a minimal non-negative INTEGER's content. */
static int
int_bits(const uint8_t *c, size_t n)
{
	int b = 0;
	uint8_t top;

	while (n > 1 && c[0] == 0) {
		c++;
		n--;
	}
	for (top = c[0]; top != 0; top >>= 1)
		b++;
	return (int)(n - 1) * 8 + b;
}

/* The key's content octets, unused bits 0 (octet-aligned, RFC 5280). */
static int
key_octets(const struct x509_der *key, const uint8_t **pk, size_t *pklen)
{
	if (key->clen < 1 || key->c[0] != 0)
		return 0;
	*pk = key->c + 1;
	*pklen = key->clen - 1;
	return 1;
}

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
static pca_err
csr_check_rsa(const struct csr_parts *s, struct prof_csr *c, EVP_PKEY **out)
{
	uint8_t nb[LIM_RSA_MAX_BITS / 8], eb[RSA_MAX_E_BITS / 8];
	struct x509_der seq, n, e;
	const uint8_t *pk, *p;
	size_t pklen, left;
	char why[128];
	OSSL_PARAM params[3];
	int bits, ebits;

	if (der_alg_ptype(&s->kalg) != V_ASN1_NULL)
		return pca_err_set(PCA_EBADCSR,
		    "CSR RSA key algorithm "
		    "parameters must be NULL (RFC 3279 2.3.1)");
	if (!key_octets(&s->key, &pk, &pklen) ||
	    !x509_der_strict(pk, pklen, why, sizeof(why)) ||
	    (p = pk, left = pklen, !x509_der_want(&p, &left, 0x30, &seq)) ||
	    (p = seq.c, left = seq.clen, !x509_der_want(&p, &left, 0x02, &n)) ||
	    !x509_der_want(&p, &left, 0x02, &e) || left != 0 || (n.c[0] & 0x80))
		return pca_err_set(PCA_EBADCSR,
		    "CSR RSA public key does not decode");
	bits = int_bits(n.c, n.clen);
	if (bits < LIM_RSA_MIN_BITS)
		return pca_err_set(PCA_EBADCSR,
		    "CSR key is RSA-%d; at least "
		    "RSA-%d is required",
		    bits, LIM_RSA_MIN_BITS);
	if (bits > LIM_RSA_MAX_BITS)
		return pca_err_set(PCA_EBADCSR,
		    "CSR key is RSA-%d; at most "
		    "RSA-%d is accepted",
		    bits, LIM_RSA_MAX_BITS);
	if (bits % 8 != 0 || !(n.c[n.clen - 1] & 1))
		return pca_err_set(PCA_EBADCSR,
		    "CSR RSA modulus must be odd "
		    "and a multiple of 8 bits long (BR 6.1.6)");
	ebits = (e.c[0] & 0x80) ? 0 : int_bits(e.c, e.clen);
	if (!(e.c[e.clen - 1] & 1) || ebits < 2 || ebits > RSA_MAX_E_BITS)
		return pca_err_set(PCA_EBADCSR,
		    "CSR RSA public exponent must "
		    "be odd, at least 3 and below 2^%d",
		    RSA_MAX_E_BITS);
	/* minimal INTEGERs: a leading 00 only before a high bit */
	if (n.c[0] == 0) {
		n.c++;
		n.clen--;
	}
	if (e.c[0] == 0) {
		e.c++;
		e.clen--;
	}
	be_to_native(n.c, n.clen, nb);
	be_to_native(e.c, e.clen, eb);
	params[0] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_N, nb, n.clen);
	params[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_E, eb, e.clen);
	params[2] = OSSL_PARAM_construct_end();
	*out = key_fromdata("RSA", EVP_PKEY_PUBLIC_KEY, params);
	if (*out == NULL)
		return pca_err_set(PCA_EBADCSR,
		    "CSR RSA public key does not decode");
	c->rsa_bits = bits;
	c->keyalg = bits == 2048   ? PCA_KEY_RSA_2048
		    : bits == 3072 ? PCA_KEY_RSA_3072
		    : bits == 4096 ? PCA_KEY_RSA_4096
				   : PCA_KEY_NONE;
	return PCA_OK;
}

static pca_err
csr_check_ec(const struct csr_parts *s, struct prof_csr *c, EVP_PKEY **out)
{
	static const struct {
		const struct x509_oid *oid;
		int flen;
		enum pca_keyalg alg;
		const char *name;
	} curves[] = {{&X509_OID_P256, 32, PCA_KEY_EC_P256, "P-256"},
	    {&X509_OID_P384, 48, PCA_KEY_EC_P384, "P-384"},
	    {&X509_OID_P521, 66, PCA_KEY_EC_P521, "P-521"}};
	const uint8_t *pk;
	char name[80];
	size_t i, pklen;
	int ptype = der_alg_ptype(&s->kalg), internal;

	if (ptype == V_ASN1_SEQUENCE)
		return pca_err_set(PCA_EBADCSR,
		    "CSR EC key uses explicit "
		    "curve parameters; only the named curves P-256, P-384 and "
		    "P-521 are accepted");
	if (ptype != V_ASN1_OBJECT)
		return pca_err_set(PCA_EBADCSR, "CSR EC key names no curve");
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (oid_is(&s->kalg.par, curves[i].oid))
			break;
	if (i == sizeof(curves) / sizeof(curves[0]))
		return pca_err_set(PCA_EBADCSR,
		    "CSR uses unsupported curve %s;"
		    " P-256, P-384 or P-521 is required",
		    oid_name(&s->kalg.par, name, sizeof(name)));
	if (!key_octets(&s->key, &pk, &pklen) ||
	    pklen != 1 + 2 * (size_t)curves[i].flen || pk[0] != 0x04)
		return pca_err_set(PCA_EBADCSR,
		    "CSR EC public key is not an "
		    "uncompressed point (RFC 5480 2.2)");
	if ((*out = ec_key((int)i, pk, pklen, &internal)) == NULL)
		return internal
			   ? pca_err_set(PCA_EINTERNAL,
				 "cannot make "
				 "an EC %s key",
				 curves[i].name)
			   : pca_err_set(PCA_EBADCSR,
				 "CSR EC public key is not a valid point on %s",
				 curves[i].name);
	c->keyalg = curves[i].alg;
	c->rsa_bits = 0;
	return PCA_OK;
}

static pca_err
csr_check_key(const struct csr_parts *s, int fam, struct prof_csr *c,
    EVP_PKEY **out)
{
	char name[80];
	int rsa;
	pca_err e;

	if (s->key.clen <= 1)
		return pca_err_set(PCA_EBADCSR, "CSR has no public key");
	if ((rsa = oid_is(&s->kalg.oid, &X509_OID_RSA)) != 0)
		e = csr_check_rsa(s, c, out);
	else if (oid_is(&s->kalg.oid, &X509_OID_EC))
		e = csr_check_ec(s, c, out);
	else
		return pca_err_set(PCA_EBADCSR,
		    "CSR key type %s is not "
		    "supported; RSA or EC P-256/P-384/P-521 is required",
		    oid_name(&s->kalg.oid, name, sizeof(name)));
	if (e == PCA_OK && fam != (rsa ? EVP_PKEY_RSA : EVP_PKEY_EC))
		return pca_err_set(PCA_EBADCSR,
		    "CSR signature algorithm does "
		    "not fit its %s key",
		    rsa ? "RSA" : "EC");
	return e;
}

/* ---- the self-signature ---- */

/*
 * Hash with the digest fetched once, then verify the hash; the signature
 * BIT STRING must be octet-aligned (as ASN1_item_verify requires).
 */
static pca_err
csr_verify(const struct csr_parts *s, const struct sigalg *sa, EVP_PKEY *k)
{
	const EVP_MD *md = sha2_get(sa->md);
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	EVP_PKEY_CTX *ctx = NULL;
	int ok;

	if (md == NULL)
		return pca_err_set(PCA_EINTERNAL,
		    "SHA-2 digests are not available");
	ok = s->sig.clen > 1 && s->sig.c[0] == 0 &&
	     (!sa->pss || sa->saltlen >= 0) &&
	     EVP_Digest(s->cri.tlv, s->cri.len, h, &hl, md, NULL) == 1 &&
	     (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL)) != NULL &&
	     EVP_PKEY_verify_init(ctx) == 1;
	if (ok && sa->fam == EVP_PKEY_RSA)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx,
			 sa->pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) >
			 0 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, md) > 0 &&
		     (!sa->pss || (EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0 &&
				      EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
					  sa->saltlen) > 0));
	ok = ok &&
	     EVP_PKEY_verify(ctx, s->sig.c + 1, s->sig.clen - 1, h, hl) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok ? PCA_OK
		  : pca_err_set(PCA_EBADCSR,
			"CSR signature does not verify with the CSR's own key");
}

/* ---- requested extensions ---- */

/* The one extensionRequest value (a SEQUENCE), if any (NULL tlv). */
static pca_err
csr_ext_attr(const struct csr_parts *s, struct x509_der *seq)
{
	struct x509_der a, type, vals, found = {0};
	const uint8_t *p = s->attrs.c, *vp;
	size_t n = s->attrs.clen, vn;

	memset(seq, 0, sizeof(*seq));
	while (n > 0) {
		if (!x509_der_get(&p, &n, &a) || !csr_attr(&a, &type, &vals))
			return pca_err_set(PCA_EBADCSR,
			    "CSR does not parse "
			    "as a PKCS#10 CertificationRequest");
		if (!oid_is(&type, &X509_OID_EXT_REQ) &&
		    !oid_is(&type, &X509_OID_MS_EXT_REQ))
			continue;
		if (found.tlv != NULL)
			return pca_err_set(PCA_EBADCSR,
			    "CSR has more than one extensionRequest attribute");
		found = vals;
	}
	if (found.tlv == NULL)
		return PCA_OK;
	vp = found.c;
	vn = found.clen;
	if (!x509_der_want(&vp, &vn, 0x30, seq) || vn != 0) {
		memset(seq, 0, sizeof(*seq));
		return pca_err_set(PCA_EBADCSR,
		    "CSR extensionRequest "
		    "attribute must hold exactly one SEQUENCE of extensions");
	}
	return PCA_OK;
}

static pca_err
csr_ext_rules(const STACK_OF(X509_EXTENSION) * exts)
{
	X509_EXTENSION *x;
	GENERAL_NAMES *gn;
	char name[80];
	int i, j, n = sk_X509_EXTENSION_num(exts);

	if (n > LIM_CSR_EXTS)
		return pca_err_set(PCA_EBADCSR,
		    "CSR requests %d extensions; "
		    "at most %d are accepted",
		    n, LIM_CSR_EXTS);
	for (i = 0; i < n; i++) {
		x = sk_X509_EXTENSION_value(exts, i);
		for (j = i + 1; j < n; j++)
			if (OBJ_cmp(X509_EXTENSION_get_object(x),
				X509_EXTENSION_get_object(
				    sk_X509_EXTENSION_value(exts, j))) == 0) {
				(void)OBJ_obj2txt(name, sizeof(name),
				    X509_EXTENSION_get_object(x), 0);
				return pca_err_set(PCA_EBADCSR,
				    "CSR requests "
				    "the %s extension more than once",
				    name);
			}
		if (OBJ_obj2nid(X509_EXTENSION_get_object(x)) !=
		    NID_subject_alt_name)
			continue;
		gn = X509V3_EXT_d2i(x);
		j = gn != NULL ? sk_GENERAL_NAME_num(gn) : 0;
		GENERAL_NAMES_free(gn);
		if (j <= 0)
			return pca_err_set(PCA_EBADCSR,
			    "CSR subjectAltName "
			    "extension does not parse or is empty");
	}
	return PCA_OK;
}

static pca_err
csr_check_exts(const struct csr_parts *s, struct prof_csr *c)
{
	struct x509_der seq;
	const unsigned char *q;
	unsigned char *re = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	int n;
	pca_err e;

	if ((e = csr_ext_attr(s, &seq)) != PCA_OK || seq.tlv == NULL)
		return e;
	q = seq.tlv;
	exts = d2i_X509_EXTENSIONS(NULL, &q, (long)seq.len);
	if (exts == NULL || q != seq.tlv + seq.len) {
		e = pca_err_set(PCA_EBADCSR,
		    "CSR extensionRequest does not parse as Extensions");
		goto out;
	}
	n = i2d_X509_EXTENSIONS(exts, &re);
	if (n < 0 || (size_t)n != seq.len ||
	    memcmp(re, seq.tlv, seq.len) != 0) {
		e = pca_err_set(PCA_EBADCSR,
		    "CSR extensionRequest is not "
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

static pca_err
csr_check(struct prof_csr *c)
{
	struct csr_parts s;
	struct sigalg sa;
	EVP_PKEY *k = NULL;
	pca_err e;

	if ((e = csr_decode(c->der, c->der_len, &s)) != PCA_OK ||
	    (e = csr_subject(&s, &c->subject)) != PCA_OK ||
	    (e = csr_version(&s.version)) != PCA_OK ||
	    (e = csr_check_sigalg(&s.salg, &sa)) != PCA_OK ||
	    (e = csr_check_key(&s, sa.fam, c, &k)) != PCA_OK ||
	    (e = csr_verify(&s, &sa, k)) != PCA_OK ||
	    (e = csr_check_exts(&s, c)) != PCA_OK)
		goto out;
	/* the SubjectPublicKeyInfo bytes exactly as they are in the input */
	if ((c->spki = malloc(s.spki.len)) == NULL) {
		e = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(c->spki, s.spki.tlv, s.spki.len);
	c->spki_len = s.spki.len;
out:
	EVP_PKEY_free(k);
	return e;
}

pca_err
prof_csr_parse(const uint8_t *p, size_t len, struct prof_csr **out)
{
	struct prof_csr *c = NULL;
	pca_err e;

	assert(out != NULL);
	if (len > LIM_CSR_DER)
		return pca_err_set(PCA_ETOOBIG,
		    "CSR is %zu bytes; at most %d "
		    "are accepted",
		    len, LIM_CSR_DER);
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
		(void)ERR_pop_to_mark(); /* decode noise, judged */
	prof_csr_free(c);
	return e;
}

void
prof_csr_free(struct prof_csr *c)
{
	if (c == NULL)
		return;
	X509_NAME_free(c->subject);
	free(c->der);
	free(c->spki);
	sk_X509_EXTENSION_pop_free(c->exts, X509_EXTENSION_free);
	free(c);
}

int
prof_csr_subject_empty(const struct prof_csr *c)
{
	return X509_NAME_entry_count(c->subject) == 0;
}

int
prof_csr_has_san(const struct prof_csr *c)
{
	int i;

	for (i = 0; i < sk_X509_EXTENSION_num(c->exts); i++)
		if (OBJ_obj2nid(X509_EXTENSION_get_object(
			sk_X509_EXTENSION_value(c->exts, i))) ==
		    NID_subject_alt_name)
			return 1;
	return 0;
}
