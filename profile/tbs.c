/*
 * tbs.c - the TBSCertificate of an issued certificate (spec section 4).
 *
 * The DER is assembled directly: version, serial, the signature
 * AlgorithmIdentifier, the issuer Name as the CA certificate's bytes, the
 * validity (UTCTime through 2049, GeneralizedTime after), the subject, the
 * CSR's SubjectPublicKeyInfo bytes (never through an EVP_PKEY) and the
 * extensions.  Extensions are collected tier by tier in precedence order
 * (template and computed > CA configuration and policy > ApiPassthrough >
 * CSR); a later tier never replaces an OID an earlier one set or
 * reserved, so the output never holds an extension twice.
 */
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/objects.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "profile_int.h"

#define TBS_MAX (256 * 1024)
#define EXT_MAX (16 + LIM_CSR_EXTS + LIM_CUSTOM_EXTS)
#define OWN_MAX 8
#define URI_MAX 2048
#define KEYID_MAX 64
#define EKU_MAX 20        /* model: ExtendedKeyUsageList */
#define POLICIES_MAX 20   /* model: CertificatePolicyList */
#define QUALIFIERS_MAX 20 /* model: PolicyQualifierInfoList */
#define CPS_URI_MAX 256
#define FIELD_MAX 160

/* Extension OIDs (contents octets). */
static const uint8_t OID_BC[] = {0x55, 0x1d, 0x13};
static const uint8_t OID_KU[] = {0x55, 0x1d, 0x0f};
static const uint8_t OID_EKU[] = {0x55, 0x1d, 0x25};
static const uint8_t OID_SKI[] = {0x55, 0x1d, 0x0e};
static const uint8_t OID_AKI[] = {0x55, 0x1d, 0x23};
static const uint8_t OID_SAN[] = {0x55, 0x1d, 0x11};
static const uint8_t OID_CDP[] = {0x55, 0x1d, 0x1f};
static const uint8_t OID_CP[] = {0x55, 0x1d, 0x20};
static const uint8_t OID_NC[] = {0x55, 0x1d, 0x1e};
static const uint8_t OID_AIA[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01,
    0x01};
static const uint8_t OID_OCSP[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30,
    0x01};
static const uint8_t OID_CA_ISSUERS[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
    0x30, 0x02};
static const uint8_t OID_CPS[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x02,
    0x01};

/* Template extnValues. */
static const uint8_t BC_EE[] = {0x30, 0x00};
static const uint8_t BC_CA[] = {0x30, 0x03, 0x01, 0x01, 0xff};
static const uint8_t BC_CA_PL[4][8] = {
    {0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00},
    {0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x01},
    {0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x02},
    {0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x03},
};
static const uint8_t KU_DS_KE[] = {0x03, 0x02, 0x05, 0xa0};
static const uint8_t KU_DS[] = {0x03, 0x02, 0x07, 0x80};
static const uint8_t KU_CA[] = {0x03, 0x02, 0x01, 0x86}; /* DS CS CRL */
#define KP(x) 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, x
static const uint8_t EKU_SC[] = {0x30, 0x14, KP(1), KP(2)};
static const uint8_t EKU_C[] = {0x30, 0x0a, KP(2)};
static const uint8_t EKU_S[] = {0x30, 0x0a, KP(1)};
static const uint8_t EKU_CODE[] = {0x30, 0x0a, KP(3)};
static const uint8_t EKU_OCSP[] = {0x30, 0x0a, KP(9)};

struct blob {
	const uint8_t *p;
	size_t n;
};
#define BLOB(a)                                                                \
	{                                                                      \
		a, sizeof(a)                                                   \
	}

/* Spec 4.2 per family: KU and EKU (none for Blank), EKU criticality. */
static const struct family {
	struct blob ku, eku;
	int eku_crit;
	int blank;
} families[] = {
    [PROF_TF_END_ENTITY] = {BLOB(KU_DS_KE), BLOB(EKU_SC), 0, 0},
    [PROF_TF_END_ENTITY_CLIENT] = {BLOB(KU_DS_KE), BLOB(EKU_C), 0, 0},
    [PROF_TF_END_ENTITY_SERVER] = {BLOB(KU_DS_KE), BLOB(EKU_S), 0, 0},
    [PROF_TF_CODE_SIGNING] = {BLOB(KU_DS), BLOB(EKU_CODE), 1, 0},
    [PROF_TF_OCSP_SIGNING] = {BLOB(KU_DS), BLOB(EKU_OCSP), 1, 0},
    [PROF_TF_ROOT_CA] = {BLOB(KU_CA), {NULL, 0}, 0, 0},
    [PROF_TF_SUBORDINATE_CA] = {BLOB(KU_CA), {NULL, 0}, 0, 0},
    [PROF_TF_BLANK_END_ENTITY] = {{NULL, 0}, {NULL, 0}, 0, 1},
    [PROF_TF_BLANK_END_ENTITY_CRIT_BC] = {{NULL, 0}, {NULL, 0}, 0, 1},
    [PROF_TF_BLANK_SUBORDINATE_CA] = {{NULL, 0}, {NULL, 0}, 0, 1},
    [PROF_TF_BLANK_ROOT_CA] = {{NULL, 0}, {NULL, 0}, 0, 1},
};
#define N_FAMILIES (sizeof(families) / sizeof(families[0]))

/* ExtendedKeyUsageType -> OID contents. */
static const uint8_t EK_SERVER[] = {0x2b, 6, 1, 5, 5, 7, 3, 1};
static const uint8_t EK_CLIENT[] = {0x2b, 6, 1, 5, 5, 7, 3, 2};
static const uint8_t EK_CODE[] = {0x2b, 6, 1, 5, 5, 7, 3, 3};
static const uint8_t EK_EMAIL[] = {0x2b, 6, 1, 5, 5, 7, 3, 4};
static const uint8_t EK_TIME[] = {0x2b, 6, 1, 5, 5, 7, 3, 8};
static const uint8_t EK_OCSP[] = {0x2b, 6, 1, 5, 5, 7, 3, 9};
static const uint8_t EK_SCL[] = {0x2b, 6, 1, 4, 1, 0x82, 0x37, 0x14, 2, 2};
static const uint8_t EK_DOC[] = {0x2b, 6, 1, 5, 5, 7, 3, 0x24};
static const uint8_t EK_CT[] = {0x2b, 6, 1, 4, 1, 0xd6, 0x79, 2, 4, 4};
static const struct {
	const char *name;
	struct blob oid;
} eku_types[] = {
    {"SERVER_AUTH", BLOB(EK_SERVER)},
    {"CLIENT_AUTH", BLOB(EK_CLIENT)},
    {"CODE_SIGNING", BLOB(EK_CODE)},
    {"EMAIL_PROTECTION", BLOB(EK_EMAIL)},
    {"TIME_STAMPING", BLOB(EK_TIME)},
    {"OCSP_SIGNING", BLOB(EK_OCSP)},
    {"SMART_CARD_LOGIN", BLOB(EK_SCL)},
    {"DOCUMENT_SIGNING", BLOB(EK_DOC)},
    {"CERTIFICATE_TRANSPARENCY", BLOB(EK_CT)},
};

static const char *const ku_names[9] = {"DigitalSignature", "NonRepudiation",
    "KeyEncipherment", "DataEncipherment", "KeyAgreement", "KeyCertSign",
    "CRLSign", "EncipherOnly", "DecipherOnly"};

/* ---- the extension set ---- */

struct ext {
	size_t off, len;         /* the Extension DER in the arena */
	size_t oid_off, oid_len; /* its OID contents in the arena */
};

struct exts {
	struct buf arena;
	struct ext e[EXT_MAX];
	size_t n;
	struct blob own[OWN_MAX]; /* OIDs the template reserves */
	size_t nown;
	int san_critical; /* empty subject: SAN must be critical */
};

static int
blob_eq(const uint8_t *p, size_t n, const uint8_t *q, size_t m)
{
	return n == m && memcmp(p, q, n) == 0;
}

static int
ext_has(const struct exts *x, const uint8_t *oid, size_t oid_len)
{
	size_t i;

	for (i = 0; i < x->nown; i++)
		if (blob_eq(x->own[i].p, x->own[i].n, oid, oid_len))
			return 1;
	for (i = 0; i < x->n; i++)
		if (blob_eq(x->arena.p + x->e[i].oid_off, x->e[i].oid_len, oid,
			oid_len))
			return 1;
	return 0;
}

static void
ext_reserve(struct exts *x, const uint8_t *oid, size_t oid_len)
{
	if (x->nown < OWN_MAX && !ext_has(x, oid, oid_len)) {
		x->own[x->nown].p = oid;
		x->own[x->nown].n = oid_len;
		x->nown++;
	}
}

/*
 * Adds Extension {oid, critical, OCTET STRING val} unless the OID is
 * already present or reserved (then silently dropped: lower precedence).
 */
static pca_err
ext_add(struct exts *x, const uint8_t *oid, size_t oid_len, int crit,
    const uint8_t *val, size_t val_len)
{
	static const uint8_t t[] = {0xff};
	struct ext *e;
	size_t start = x->arena.len, h;
	pca_err err;

	if (oid_len == 0 || oid_len > 127)
		return pca_err_set(PCA_EINVAL, "extension OID of %zu octets",
		    oid_len);
	if (ext_has(x, oid, oid_len))
		return PCA_OK;
	if (x->n >= EXT_MAX)
		return pca_err_set(PCA_ETOOBIG, "more than %d extensions",
		    EXT_MAX);
	if (x->san_critical && blob_eq(oid, oid_len, OID_SAN, sizeof(OID_SAN)))
		crit = 1; /* RFC 5280 4.2.1.6 */
	if ((err = x509_der_put(&x->arena, 0x06, oid, oid_len)) != PCA_OK ||
	    (crit && (err = x509_der_put(&x->arena, 0x01, t, 1)) != PCA_OK) ||
	    (err = x509_der_put(&x->arena, 0x04, val, val_len)) != PCA_OK)
		return err;
	/* the Extension's header: what x509_der_wrap puts before them */
	h = x509_der_hdr_len(x->arena.len - start);
	if ((err = x509_der_wrap(&x->arena, start, 0x30)) != PCA_OK)
		return err;
	e = &x->e[x->n++];
	e->off = start;
	e->len = x->arena.len - start;
	e->oid_off = start + h + 2;
	e->oid_len = oid_len;
	return PCA_OK;
}

static pca_err
ext_add_blob(struct exts *x, const uint8_t *oid, size_t oid_len, int crit,
    const struct buf *v)
{
	return ext_add(x, oid, oid_len, crit, v->p, v->len);
}

static int
ext_present(const struct exts *x, const uint8_t *oid, size_t oid_len)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		if (blob_eq(x->arena.p + x->e[i].oid_off, x->e[i].oid_len, oid,
			oid_len))
			return 1;
	return 0;
}

/* ---- key usage (shared with csrinfo.c) ---- */

pca_err
prof_ku_from_json(const json_t *ku, const char *field, uint8_t out[5],
    size_t *len)
{
	const json_t *v;
	unsigned bits = 0;
	int i, hi = -1;

	if (!json_is_object(ku))
		return pca_err_set(PCA_EINVAL, "%s must be an object", field);
	for (i = 0; i < 9; i++) {
		v = json_object_get(ku, ku_names[i]);
		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_boolean(v))
			return pca_err_set(PCA_EINVAL,
			    "%s.%s must be true or false", field, ku_names[i]);
		if (json_is_true(v)) {
			bits |= 1u << i;
			hi = i;
		}
	}
	if (hi < 0)
		return pca_err_set(PCA_EINVAL, "%s must set at least one usage",
		    field);
	/* named bit i is bit 7 - i % 8 of octet i / 8; no trailing zeros */
	out[0] = 0x03;
	out[1] = (uint8_t)(hi / 8 + 2);
	out[2] = (uint8_t)(7 - hi % 8);
	out[3] = out[4] = 0;
	for (i = 0; i <= hi; i++)
		if (bits & (1u << i))
			out[3 + i / 8] |= (uint8_t)(0x80 >> (i % 8));
	*len = (size_t)hi / 8 + 4;
	return PCA_OK;
}

/* ---- tier 1: template, computed identifiers, CA configuration ---- */

static pca_err
tmpl_exts(struct exts *x, const struct prof_template *t)
{
	const struct family *f = &families[t->family];
	const uint8_t *bc = BC_EE;
	size_t bc_len = sizeof(BC_EE);
	int bc_crit = 1;
	pca_err e;

	if (prof_template_is_ca(t)) {
		bc = t->pathlen >= 0 ? BC_CA_PL[t->pathlen] : BC_CA;
		bc_len = t->pathlen >= 0 ? sizeof(BC_CA_PL[0]) : sizeof(BC_CA);
	} else if (t->family != PROF_TF_BLANK_END_ENTITY_CRIT_BC)
		bc_crit = 0; /* CA:FALSE is non-critical (spec 4.2) */
	if ((e = ext_add(x, OID_BC, sizeof(OID_BC), bc_crit, bc, bc_len)) !=
	    PCA_OK)
		return e;
	if (f->blank)
		return PCA_OK;
	if ((e = ext_add(x, OID_KU, sizeof(OID_KU), 1, f->ku.p, f->ku.n)) !=
	    PCA_OK)
		return e;
	if (f->eku.p != NULL &&
	    (e = ext_add(x, OID_EKU, sizeof(OID_EKU), f->eku_crit, f->eku.p,
		 f->eku.n)) != PCA_OK)
		return e;
	ext_reserve(x, OID_EKU, sizeof(OID_EKU)); /* "none" is fixed too */
	return PCA_OK;
}

static pca_err
keyid_exts(struct exts *x, const struct prof_tbs_req *r)
{
	uint8_t v[4 + KEYID_MAX], id[20];
	const struct prof_issuer *is = r->issuer;
	pca_err e;

	if ((e = x509_spki_keyid(r->csr->spki, r->csr->spki_len, id)) != PCA_OK)
		return e;
	v[0] = 0x04;
	v[1] = sizeof(id);
	memcpy(v + 2, id, sizeof(id));
	if ((e = ext_add(x, OID_SKI, sizeof(OID_SKI), 0, v, 2 + sizeof(id))) !=
	    PCA_OK)
		return e;
	if (prof_template_is_root(r->tmpl))
		return PCA_OK; /* the root APIPassthrough may bring one */
	if (is->ski != NULL && is->ski_len > 0) {
		v[0] = 0x30;
		v[1] = (uint8_t)(is->ski_len + 2);
		v[2] = 0x80; /* keyIdentifier [0] IMPLICIT */
		v[3] = (uint8_t)is->ski_len;
		memcpy(v + 4, is->ski, is->ski_len);
		if ((e = ext_add(x, OID_AKI, sizeof(OID_AKI), 0, v,
			 4 + is->ski_len)) != PCA_OK)
			return e;
	}
	ext_reserve(x, OID_AKI, sizeof(OID_AKI));
	return PCA_OK;
}

static pca_err
uri_check(const char *uri, const char *what)
{
	size_t i, n = strlen(uri);

	if (n == 0 || n > URI_MAX)
		return pca_err_set(PCA_EINVAL,
		    "the %s URL must be 1 to %d characters", what, URI_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)uri[i] <= 0x20 ||
		    (unsigned char)uri[i] >= 0x7f)
			return pca_err_set(PCA_EINVAL,
			    "the %s URL must be printable ASCII without spaces",
			    what);
	return PCA_OK;
}

/*
 * CDP: one DistributionPoint, fullName = URI; AIA: id-ad-ocsp = URI, then
 * id-ad-caIssuers = URI when there is one.
 */
static pca_err
config_exts(struct exts *x, const struct prof_tbs_req *r, struct buf *v)
{
	size_t n;
	pca_err e;

	if (prof_template_is_root(r->tmpl)) { /* never on a root */
		ext_reserve(x, OID_CDP, sizeof(OID_CDP));
		ext_reserve(x, OID_AIA, sizeof(OID_AIA));
		return PCA_OK;
	}
	if (r->cdp_uri != NULL) {
		v->len = 0;
		if ((e = uri_check(r->cdp_uri, "CRL distribution point")) ||
		    (e = x509_der_put(v, 0x86, r->cdp_uri,
			 strlen(r->cdp_uri))) ||
		    (e = x509_der_wrap(v, 0, 0xa0)) || /* fullName */
		    (e = x509_der_wrap(v, 0, 0xa0)) || /* distributionPoint */
		    (e = x509_der_wrap(v, 0, 0x30)) || /* DistributionPoint */
		    (e = x509_der_wrap(v, 0, 0x30)) ||
		    (e = ext_add_blob(x, OID_CDP, sizeof(OID_CDP), 0, v)))
			return e;
	}
	if (r->ocsp_uri != NULL) {
		v->len = 0;
		if ((e = uri_check(r->ocsp_uri, "OCSP")) ||
		    (e = x509_der_put(v, 0x06, OID_OCSP, sizeof(OID_OCSP))) ||
		    (e = x509_der_put(v, 0x86, r->ocsp_uri,
			 strlen(r->ocsp_uri))) ||
		    (e = x509_der_wrap(v, 0, 0x30)))
			return e;
		n = v->len; /* then id-ad-caIssuers = URI */
		if (r->issuers_uri != NULL &&
		    ((e = uri_check(r->issuers_uri, "caIssuers")) ||
			(e = x509_der_put(v, 0x06, OID_CA_ISSUERS,
			     sizeof(OID_CA_ISSUERS))) ||
			(e = x509_der_put(v, 0x86, r->issuers_uri,
			     strlen(r->issuers_uri))) ||
			(e = x509_der_wrap(v, n, 0x30))))
			return e;
		if ((e = x509_der_wrap(v, 0, 0x30)) ||
		    (e = ext_add_blob(x, OID_AIA, sizeof(OID_AIA), 0, v)))
			return e;
	}
	return PCA_OK;
}

/* nameConstraints from the issuing CA's policy: critical, CA only. */
static pca_err
nc_ext(struct exts *x, const struct prof_tbs_req *r)
{
	const uint8_t *p = r->name_constraints;
	size_t n = r->name_constraints_len;
	const unsigned char *q = p;
	NAME_CONSTRAINTS *nc;
	int ok;

	if (p == NULL)
		return PCA_OK;
	if (!prof_template_is_ca(r->tmpl))
		return pca_err_set(PCA_EINVAL,
		    "nameConstraints belong in CA "
		    "certificates only (RFC 5280 4.2.1.10), not %s",
		    r->tmpl->name);
	if (n == 0 || n > LONG_MAX || !x509_der_check(p, n) ||
	    (nc = (NAME_CONSTRAINTS *)ASN1_item_d2i(NULL, &q, (long)n,
		 ASN1_ITEM_rptr(NAME_CONSTRAINTS))) == NULL) {
		ERR_clear_error(); /* reported below */
		return pca_err_set(PCA_EINVAL,
		    "the policy's nameConstraints are not valid DER");
	}
	ok = q == p + n;
	NAME_CONSTRAINTS_free(nc);
	if (!ok)
		return pca_err_set(PCA_EINVAL,
		    "the policy's nameConstraints are not valid DER");
	return ext_add(x, OID_NC, sizeof(OID_NC), 1, p, n);
}

/* ---- tier 2: ApiPassthrough ---- */

struct custom_ext {
	ASN1_OBJECT *oid;
	uint8_t *val;
	size_t len;
	int crit;
};

struct api {
	const json_t *san, *ku, *eku, *cp, *custom;
	struct custom_ext *c;
	size_t nc;
};

static const json_t *
member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return v != NULL && json_is_null(v) ? NULL : v;
}

static pca_err
api_san(struct exts *x, const json_t *list, struct buf *v)
{
	GENERAL_NAMES *gens = NULL;
	unsigned char *der = NULL;
	int n;
	pca_err e;

	if ((e = prof_general_names_from_json(list,
		 "ApiPassthrough.Extensions.SubjectAlternativeNames", &gens)) !=
	    PCA_OK)
		return e;
	n = i2d_GENERAL_NAMES(gens, &der);
	GENERAL_NAMES_free(gens);
	if (n <= 0)
		return pca_err_set(PCA_ENOMEM,
		    "cannot encode the subjectAltName");
	v->len = 0;
	e = buf_add(v, der, (size_t)n);
	OPENSSL_free(der);
	if (e == PCA_OK)
		e = ext_add_blob(x, OID_SAN, sizeof(OID_SAN), 0, v);
	return e;
}

/* One ExtendedKeyUsage item: its OID contents into v (deduplicated). */
static pca_err
eku_item(const json_t *it, const char *f, struct buf *v, size_t start)
{
	ASN1_OBJECT *o = NULL;
	const json_t *t = member(it, "ExtendedKeyUsageType");
	const json_t *id = member(it, "ExtendedKeyUsageObjectIdentifier");
	const uint8_t *p = NULL;
	size_t i, n = 0, off;
	pca_err e = PCA_OK;

	if (!json_is_object(it) || (t == NULL) == (id == NULL))
		return pca_err_set(PCA_EINVAL,
		    "%s must have exactly one of ExtendedKeyUsageType, "
		    "ExtendedKeyUsageObjectIdentifier",
		    f);
	for (i = 0; t != NULL && i < sizeof(eku_types) / sizeof(eku_types[0]);
	     i++)
		if (json_is_string(t) &&
		    strcmp(json_string_value(t), eku_types[i].name) == 0)
			p = eku_types[i].oid.p, n = eku_types[i].oid.n;
	if (t != NULL && p == NULL)
		return pca_err_set(PCA_EINVAL,
		    "%s.ExtendedKeyUsageType is not a known type", f);
	if (id != NULL) {
		if ((e = prof_oid_from_json(id, f, &o)) != PCA_OK)
			return e;
		p = OBJ_get0_data(o);
		n = OBJ_length(o);
	}
	for (off = start; off < v->len; off += 2 + v->p[off + 1])
		if (blob_eq(v->p + off + 2, v->p[off + 1], p, n))
			goto out; /* listed twice: once is enough */
	e = x509_der_put(v, 0x06, p, n);
out:
	ASN1_OBJECT_free(o);
	return e;
}

static pca_err
api_eku(struct exts *x, const json_t *list, struct buf *v)
{
	char f[FIELD_MAX];
	size_t i, n = json_is_array(list) ? json_array_size(list) : 0;
	pca_err e;

	if (n == 0 || n > EKU_MAX)
		return pca_err_set(PCA_EINVAL,
		    "ApiPassthrough.Extensions.ExtendedKeyUsage must be a list "
		    "of 1 to %d items",
		    EKU_MAX);
	v->len = 0;
	for (i = 0; i < n; i++) {
		prof_fieldf(f, sizeof(f),
		    "ApiPassthrough.Extensions.ExtendedKeyUsage[%zu]", i);
		if ((e = eku_item(json_array_get(list, i), f, v, 0)) != PCA_OK)
			return e;
	}
	if ((e = x509_der_wrap(v, 0, 0x30)) != PCA_OK)
		return e;
	return ext_add_blob(x, OID_EKU, sizeof(OID_EKU), 0, v);
}

static pca_err
api_ku(struct exts *x, const json_t *ku)
{
	uint8_t v[5];
	size_t n;
	pca_err e;

	if ((e = prof_ku_from_json(ku, "ApiPassthrough.Extensions.KeyUsage", v,
		 &n)) != PCA_OK)
		return e;
	return ext_add(x, OID_KU, sizeof(OID_KU), 1, v, n);
}

static pca_err
cp_qualifiers(const json_t *list, const char *f, struct buf *v)
{
	char g[FIELD_MAX];
	const json_t *q, *id;
	const char *s;
	size_t i, n, len, start = v->len, qs;
	pca_err e;

	n = json_is_array(list) ? json_array_size(list) : 0;
	if (n == 0 || n > QUALIFIERS_MAX)
		return pca_err_set(PCA_EINVAL,
		    "%s.PolicyQualifiers must be a list of 1 to %d qualifiers",
		    f, QUALIFIERS_MAX);
	for (i = 0; i < n; i++) {
		q = json_array_get(list, i);
		prof_fieldf(g, sizeof(g), "%s.PolicyQualifiers[%zu]", f, i);
		id = member(q, "PolicyQualifierId");
		if (!json_is_object(q) || !json_is_string(id) ||
		    strcmp(json_string_value(id), "CPS") != 0)
			return pca_err_set(PCA_EINVAL,
			    "%s.PolicyQualifierId must be CPS", g);
		prof_fieldf(g, sizeof(g),
		    "%s.PolicyQualifiers[%zu].Qualifier.CpsUri", f, i);
		if ((e = prof_json_string(
			 member(member(q, "Qualifier"), "CpsUri"), g,
			 CPS_URI_MAX, &s, &len)) != PCA_OK)
			return e;
		if (len == 0 || uri_check(s, g) != PCA_OK)
			return pca_err_set(PCA_EINVAL,
			    "%s must be a non-empty printable ASCII URI", g);
		qs = v->len;
		if ((e = x509_der_put(v, 0x06, OID_CPS, sizeof(OID_CPS))) ||
		    (e = x509_der_put(v, 0x16, s, len)) || /* IA5String */
		    (e = x509_der_wrap(v, qs, 0x30)))
			return e;
	}
	return x509_der_wrap(v, start, 0x30);
}

static pca_err
api_cp(struct exts *x, const json_t *list, struct buf *v)
{
	char f[FIELD_MAX], g[FIELD_MAX];
	ASN1_OBJECT *ids[POLICIES_MAX] = {NULL};
	const json_t *pi;
	size_t i, j, n, ps;
	pca_err e = PCA_OK;

	n = json_is_array(list) ? json_array_size(list) : 0;
	if (n == 0 || n > POLICIES_MAX)
		return pca_err_set(PCA_EINVAL,
		    "ApiPassthrough.Extensions.CertificatePolicies must be a "
		    "list of 1 to %d policies",
		    POLICIES_MAX);
	v->len = 0;
	for (i = 0; i < n && e == PCA_OK; i++) {
		pi = json_array_get(list, i);
		prof_fieldf(f, sizeof(f),
		    "ApiPassthrough.Extensions.CertificatePolicies[%zu]", i);
		prof_fieldf(g, sizeof(g), "%s.CertPolicyId", f);
		if (!json_is_object(pi)) {
			e = pca_err_set(PCA_EINVAL, "%s must be an object", f);
			break;
		}
		if ((e = prof_oid_from_json(member(pi, "CertPolicyId"), g,
			 &ids[i])) != PCA_OK)
			break;
		for (j = 0; j < i; j++)
			if (OBJ_cmp(ids[i], ids[j]) == 0)
				e = pca_err_set(PCA_EINVAL,
				    "%s repeats a policy (RFC 5280 4.2.1.4)",
				    g);
		ps = v->len;
		if (e == PCA_OK)
			e = x509_der_put(v, 0x06, OBJ_get0_data(ids[i]),
			    (size_t)OBJ_length(ids[i]));
		if (e == PCA_OK && member(pi, "PolicyQualifiers") != NULL)
			e = cp_qualifiers(member(pi, "PolicyQualifiers"), f, v);
		if (e == PCA_OK)
			e = x509_der_wrap(v, ps, 0x30);
	}
	for (i = 0; i < n && i < POLICIES_MAX; i++)
		ASN1_OBJECT_free(ids[i]);
	if (e == PCA_OK && (e = x509_der_wrap(v, 0, 0x30)) == PCA_OK)
		e = ext_add_blob(x, OID_CP, sizeof(OID_CP), 0, v);
	return e;
}

/* True when a value of a type OpenSSL knows parses as that type. */
static int
ext_value_parses(const ASN1_OBJECT *oid, const uint8_t *p, size_t n)
{
	const X509V3_EXT_METHOD *m = X509V3_EXT_get_nid(OBJ_obj2nid(oid));
	const unsigned char *q = p;
	void *v = NULL;
	int ok;

	if (m == NULL || n > LONG_MAX)
		return m == NULL;
	if (m->it != NULL)
		v = ASN1_item_d2i(NULL, &q, (long)n, ASN1_ITEM_ptr(m->it));
	else if (m->d2i != NULL)
		v = m->d2i(NULL, &q, (long)n);
	else
		return 1;
	if (v == NULL) {
		ERR_clear_error(); /* the caller reports the field */
		return 0;
	}
	ok = q == p + n;
	if (m->it != NULL)
		ASN1_item_free(v, ASN1_ITEM_ptr(m->it));
	else if (m->ext_free != NULL)
		m->ext_free(v);
	return ok;
}

static pca_err
custom_one(const json_t *it, const char *f, struct custom_ext *c)
{
	char g[FIELD_MAX];
	const json_t *crit;
	const char *s;
	size_t n;
	pca_err e;

	if (!json_is_object(it))
		return pca_err_set(PCA_EINVAL, "%s must be an object", f);
	prof_fieldf(g, sizeof(g), "%s.ObjectIdentifier", f);
	if ((e = prof_oid_from_json(member(it, "ObjectIdentifier"), g,
		 &c->oid)) != PCA_OK)
		return e;
	prof_fieldf(g, sizeof(g), "%s.Critical", f);
	crit = member(it, "Critical");
	if (crit != NULL && !json_is_boolean(crit))
		return pca_err_set(PCA_EINVAL, "%s must be true or false", g);
	c->crit = crit != NULL && json_is_true(crit);
	prof_fieldf(g, sizeof(g), "%s.Value", f);
	if ((e = prof_json_string(member(it, "Value"), g, LIM_CUSTOM_EXT_VALUE,
		 &s, &n)) != PCA_OK)
		return e;
	if (n == 0 || util_b64_decode(s, n, LIM_CUSTOM_EXT_VALUE, &c->val,
			  &c->len) != PCA_OK)
		return pca_err_set(PCA_EINVAL,
		    "%s must be base64 of 1 to %d characters", g,
		    LIM_CUSTOM_EXT_VALUE);
	if (!x509_der_check(c->val, c->len) ||
	    !ext_value_parses(c->oid, c->val, c->len))
		return pca_err_set(PCA_EINVAL,
		    "%s is not the DER of a valid extension value", g);
	return PCA_OK;
}

/* Request duplicates: two CustomExtensions, or one and a named member. */
static pca_err
custom_dups(const struct api *a)
{
	static const struct {
		int nid;
		const char *name;
	} named[] = {{NID_subject_alt_name, "SubjectAlternativeNames"},
	    {NID_key_usage, "KeyUsage"},
	    {NID_ext_key_usage, "ExtendedKeyUsage"},
	    {NID_certificate_policies, "CertificatePolicies"}};
	const json_t *given[] = {a->san, a->ku, a->eku, a->cp};
	size_t i, j;
	int nid;

	for (i = 0; i < a->nc; i++) {
		for (j = 0; j < i; j++)
			if (OBJ_cmp(a->c[i].oid, a->c[j].oid) == 0)
				return pca_err_set(PCA_EINVAL,
				    "ApiPassthrough.Extensions."
				    "CustomExtensions[%zu] repeats the "
				    "extension of CustomExtensions[%zu]",
				    i, j);
		nid = OBJ_obj2nid(a->c[i].oid);
		for (j = 0; j < 4; j++)
			if (nid == named[j].nid && given[j] != NULL)
				return pca_err_set(PCA_EINVAL,
				    "ApiPassthrough.Extensions."
				    "CustomExtensions[%zu] repeats "
				    "ApiPassthrough.Extensions.%s",
				    i, named[j].name);
	}
	return PCA_OK;
}

static void
api_free(struct api *a)
{
	size_t i;

	for (i = 0; i < a->nc; i++) {
		ASN1_OBJECT_free(a->c[i].oid);
		free(a->c[i].val);
	}
	free(a->c);
	memset(a, 0, sizeof(*a));
}

static pca_err
api_parse(const json_t *api, struct api *a)
{
	char f[FIELD_MAX];
	const json_t *ext;
	size_t i, n;
	pca_err e;

	if (api == NULL)
		return PCA_OK;
	if (!json_is_object(api))
		return pca_err_set(PCA_EINVAL,
		    "ApiPassthrough must be an object");
	if ((ext = member(api, "Extensions")) == NULL)
		return PCA_OK;
	if (!json_is_object(ext))
		return pca_err_set(PCA_EINVAL,
		    "ApiPassthrough.Extensions must be an object");
	a->san = member(ext, "SubjectAlternativeNames");
	a->ku = member(ext, "KeyUsage");
	a->eku = member(ext, "ExtendedKeyUsage");
	a->cp = member(ext, "CertificatePolicies");
	if ((a->custom = member(ext, "CustomExtensions")) == NULL)
		return PCA_OK;
	n = json_is_array(a->custom) ? json_array_size(a->custom) : 0;
	if (n == 0 || n > LIM_CUSTOM_EXTS)
		return pca_err_set(PCA_EINVAL,
		    "ApiPassthrough.Extensions.CustomExtensions must be a list "
		    "of 1 to %d extensions",
		    LIM_CUSTOM_EXTS);
	if ((a->c = calloc(n, sizeof(*a->c))) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	for (i = 0; i < n; i++, a->nc++) {
		prof_fieldf(f, sizeof(f),
		    "ApiPassthrough.Extensions.CustomExtensions[%zu]", i);
		if ((e = custom_one(json_array_get(a->custom, i), f,
			 &a->c[i])) != PCA_OK) {
			a->nc++; /* free what it holds */
			return e;
		}
	}
	return custom_dups(a);
}

/*
 * Named members first, then CustomExtensions; KeyUsage and EKU only where
 * the template leaves them open (Blank*), else silently dropped.
 */
static pca_err
api_exts(struct exts *x, const struct api *a, struct buf *v)
{
	size_t i;
	pca_err e;

	if (a->san != NULL && (e = api_san(x, a->san, v)) != PCA_OK)
		return e;
	if (a->ku != NULL && !ext_has(x, OID_KU, sizeof(OID_KU)) &&
	    (e = api_ku(x, a->ku)) != PCA_OK)
		return e;
	if (a->eku != NULL && !ext_has(x, OID_EKU, sizeof(OID_EKU)) &&
	    (e = api_eku(x, a->eku, v)) != PCA_OK)
		return e;
	if (a->cp != NULL && (e = api_cp(x, a->cp, v)) != PCA_OK)
		return e;
	for (i = 0; i < a->nc; i++)
		if ((e = ext_add(x, OBJ_get0_data(a->c[i].oid),
			 (size_t)OBJ_length(a->c[i].oid), a->c[i].crit,
			 a->c[i].val, a->c[i].len)) != PCA_OK)
			return e;
	return PCA_OK;
}

/* ---- tier 3: the CSR ---- */

/*
 * A critical CSR extension the CA cannot interpret is never copied into a
 * certificate (RFC 5280 4.2: relying parties must reject what they do not
 * recognise, and neither could the lint gate judge it): MalformedCSR.
 */
static pca_err
csr_ext_known(X509_EXTENSION *ext, int i)
{
	const ASN1_OBJECT *o = X509_EXTENSION_get_object(ext);
	char txt[80];

	if (X509_EXTENSION_get_critical(ext) <= 0 ||
	    X509V3_EXT_get_nid(OBJ_obj2nid(o)) != NULL)
		return PCA_OK;
	if (OBJ_obj2txt(txt, sizeof(txt), o, 1) <= 0)
		(void)snprintf(txt, sizeof(txt), "?");
	return pca_err_set(PCA_EBADCSR,
	    "CSR extension %d (%s) is critical and not one the CA "
	    "understands; a passthrough template never copies it (RFC 5280 "
	    "4.2)",
	    i, txt);
}

/*
 * SAN always comes from the CSR when nothing earlier set it; the other
 * requested extensions only for CSR varieties.  basicConstraints, SKI and
 * AKI are never taken from the CSR.
 */
static pca_err
csr_exts(struct exts *x, const struct prof_tbs_req *r)
{
	const STACK_OF(X509_EXTENSION) *sk = r->csr->exts;
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *d;
	const uint8_t *oid;
	size_t oid_len;
	int i;
	pca_err e;

	for (i = 0; sk != NULL && i < sk_X509_EXTENSION_num(sk); i++) {
		ext = sk_X509_EXTENSION_value(sk, i);
		oid = OBJ_get0_data(X509_EXTENSION_get_object(ext));
		oid_len = (size_t)OBJ_length(X509_EXTENSION_get_object(ext));
		if (oid == NULL ||
		    blob_eq(oid, oid_len, OID_BC, sizeof(OID_BC)) ||
		    blob_eq(oid, oid_len, OID_SKI, sizeof(OID_SKI)) ||
		    blob_eq(oid, oid_len, OID_AKI, sizeof(OID_AKI)))
			continue;
		if (!r->tmpl->csr_passthrough &&
		    !blob_eq(oid, oid_len, OID_SAN, sizeof(OID_SAN)))
			continue;
		if (ext_has(x, oid, oid_len))
			continue;
		if ((e = csr_ext_known(ext, i)) != PCA_OK)
			return e;
		d = X509_EXTENSION_get_data(ext);
		if (!x509_der_check(ASN1_STRING_get0_data(d),
			(size_t)ASN1_STRING_length(d)) ||
		    !ext_value_parses(X509_EXTENSION_get_object(ext),
			ASN1_STRING_get0_data(d),
			(size_t)ASN1_STRING_length(d)))
			return pca_err_set(PCA_EBADCSR,
			    "CSR extension %d has a value that is not valid "
			    "DER for its type",
			    i);
		if ((e = ext_add(x, oid, oid_len,
			 X509_EXTENSION_get_critical(ext) > 0,
			 ASN1_STRING_get0_data(d),
			 (size_t)ASN1_STRING_length(d))) != PCA_OK)
			return e;
	}
	return PCA_OK;
}

/* ---- encoding ---- */

static pca_err
serial_put(struct buf *b, const uint8_t *s, size_t n)
{
	uint8_t v[LIM_SERIAL_BYTES + 2];

	if (s == NULL || n == 0 || n > LIM_SERIAL_BYTES + 1)
		return pca_err_set(PCA_EINVAL, "serial of %zu bytes", n);
	while (n > 1 && s[0] == 0)
		s++, n--;
	if (s[0] == 0)
		return pca_err_set(PCA_EINVAL, "the serial must be positive");
	v[0] = 0; /* keeps a top-bit-set value positive */
	memcpy(v + 1, s, n);
	if (s[0] & 0x80)
		n++;
	if (n > LIM_SERIAL_BYTES)
		return pca_err_set(PCA_EINVAL,
		    "the serial is longer than %d octets (RFC 5280 4.1.2.2)",
		    LIM_SERIAL_BYTES);
	return x509_der_put(b, 0x02, (s[0] & 0x80) ? v : v + 1, n);
}

/* UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5). */
static pca_err
time_put(struct buf *b, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char s[40];
	int y;

	if (gmtime_r(&tt, &tm) == NULL)
		return pca_err_set(PCA_EINVAL, "time %lld is out of range",
		    (long long)t);
	y = tm.tm_year + 1900;
	if (y < 0 || y > 9999)
		return pca_err_set(PCA_EINVAL, "year %d cannot be encoded", y);
	if (y >= 1950 && y <= 2049) {
		prof_fieldf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ", y % 100,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
		return x509_der_put(b, 0x17, s, 13);
	}
	prof_fieldf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", y, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return x509_der_put(b, 0x18, s, 15);
}

struct subject {
	X509_NAME *owned; /* from ApiPassthrough.Subject */
	const unsigned char *der;
	size_t len;
	int empty;
};

static pca_err
tbs_encode(const struct prof_tbs_req *r, const struct subject *sj,
    const struct exts *x, uint8_t **out, size_t *out_len)
{
	static const uint8_t ver[] = {0xa0, 0x03, 0x02, 0x01, 0x02};
	uint8_t alg[32];
	size_t alg_len, i, vs, es;
	struct buf b;
	pca_err e;

	buf_init(&b, TBS_MAX);
	if ((e = x509_sigalg_der(r->sigalg, alg, sizeof(alg), &alg_len)) ||
	    (e = buf_add(&b, ver, sizeof(ver))) ||
	    (e = serial_put(&b, r->serial, r->serial_len)) ||
	    (e = buf_add(&b, alg, alg_len)) ||
	    (e = buf_add(&b, r->issuer->name_der, r->issuer->name_len)))
		goto out;
	vs = b.len;
	if ((e = time_put(&b, r->not_before)) ||
	    (e = time_put(&b, r->not_after)) ||
	    (e = x509_der_wrap(&b, vs, 0x30)) ||
	    (e = buf_add(&b, sj->der, sj->len)) ||
	    (e = buf_add(&b, r->csr->spki, r->csr->spki_len)))
		goto out;
	es = b.len;
	for (i = 0; i < x->n; i++)
		if ((e = buf_add(&b, x->arena.p + x->e[i].off, x->e[i].len)))
			goto out;
	if ((e = x509_der_wrap(&b, es, 0x30)) ||
	    (e = x509_der_wrap(&b, es, 0xa3)) ||
	    (e = x509_der_wrap(&b, 0, 0x30)))
		goto out;
	*out = buf_steal(&b, out_len);
out:
	buf_free(&b);
	return e;
}

/* ---- the whole ---- */

static pca_err
req_check(const struct prof_tbs_req *r)
{
	const struct prof_issuer *is = r ? r->issuer : NULL;
	const struct prof_csr *c = r ? r->csr : NULL;

	if (r == NULL || is == NULL || c == NULL || r->tmpl == NULL ||
	    c->subject == NULL || c->spki == NULL)
		return pca_err_set(PCA_EINVAL,
		    "incomplete certificate request");
	if ((unsigned)r->tmpl->family >= N_FAMILIES || r->tmpl->pathlen < -1 ||
	    r->tmpl->pathlen > 3)
		return pca_err_set(PCA_EINVAL, "unknown template family");
	if (is->name_der == NULL ||
	    !x509_der_check(is->name_der, is->name_len) ||
	    is->name_der[0] != 0x30)
		return pca_err_set(PCA_EINVAL, "the issuer name is not DER");
	if (is->ski != NULL && is->ski_len > KEYID_MAX)
		return pca_err_set(PCA_EINVAL,
		    "the issuer key identifier is longer than %d bytes",
		    KEYID_MAX);
	if (!x509_der_check(c->spki, c->spki_len))
		return pca_err_set(PCA_EINVAL, "the CSR public key is not DER");
	if (r->not_before >= r->not_after)
		return pca_err_set(PCA_EINVAL,
		    "notBefore must be before notAfter");
	return PCA_OK;
}

/* Re-sets the current message with a prefix (a JSON path). */
static pca_err
err_prefix(pca_err e, const char *prefix)
{
	char m[400];

	prof_fieldf(m, sizeof(m), "%s", pca_err_msg());
	return pca_err_set(e, "%s%s", prefix, m);
}

static pca_err
subject_pick(const struct prof_tbs_req *r, const json_t *api,
    struct subject *sj)
{
	const json_t *s = api != NULL ? member(api, "Subject") : NULL;
	const X509_NAME *name;
	pca_err e;

	if (s != NULL) {
		if ((e = prof_subject_from_json(s, &sj->owned)) != PCA_OK)
			return err_prefix(e, "ApiPassthrough.");
		name = sj->owned;
	} else
		name = r->csr->subject;
	if (name == NULL || !X509_NAME_get0_der(name, &sj->der, &sj->len))
		return pca_err_set(PCA_ENOMEM, "cannot encode the subject");
	sj->empty = X509_NAME_entry_count(name) == 0;
	return PCA_OK;
}

pca_err
prof_tbs_build(const struct prof_tbs_req *r, uint8_t **tbs, size_t *tbs_len)
{
	struct exts x;
	struct api a;
	struct subject sj = {NULL, NULL, 0, 0};
	struct buf v;
	const json_t *api = NULL;
	pca_err e;

	memset(&a, 0, sizeof(a));
	x.n = x.nown = 0;
	buf_init(&x.arena, TBS_MAX);
	buf_init(&v, TBS_MAX);
	if ((e = req_check(r)) != PCA_OK)
		goto out;
	if (r->tmpl->api_passthrough && r->api_passthrough != NULL &&
	    !json_is_null(r->api_passthrough))
		api = r->api_passthrough;
	if ((e = api_parse(api, &a)) != PCA_OK ||
	    (e = subject_pick(r, api, &sj)) != PCA_OK)
		goto out;
	x.san_critical = sj.empty;
	if ((e = tmpl_exts(&x, r->tmpl)) != PCA_OK ||
	    (e = keyid_exts(&x, r)) != PCA_OK ||
	    (e = config_exts(&x, r, &v)) != PCA_OK ||
	    (e = nc_ext(&x, r)) != PCA_OK ||
	    (e = api_exts(&x, &a, &v)) != PCA_OK ||
	    (e = csr_exts(&x, r)) != PCA_OK)
		goto out;
	if (sj.empty && !ext_present(&x, OID_SAN, sizeof(OID_SAN))) {
		e = pca_err_set(PCA_EINVAL,
		    "the certificate would have neither a subject "
		    "nor a subjectAltName");
		goto out;
	}
	e = tbs_encode(r, &sj, &x, tbs, tbs_len);
out:
	api_free(&a);
	X509_NAME_free(sj.owned);
	buf_free(&x.arena);
	buf_free(&v);
	return e;
}
