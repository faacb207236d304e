/*
 * csrinfo.c - the CertificationRequestInfo of a CA's own CSR (RFC 2986):
 * version 0, the configured subject, the token key's SPKI bytes, and an
 * extensionRequest attribute only when CsrExtensions is given and yields
 * an extension (spec 2.4.1, 4.4 "SIA").
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "../common/buf.h"
#include "profile_int.h"

#define CRI_MAX (64 * 1024)
#define FIELD_MAX 160

static const uint8_t OID_EXT_REQ[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
    0x09, 0x0e};
static const uint8_t OID_KU[] = {0x55, 0x1d, 0x0f};
static const uint8_t OID_SIA[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01,
    0x0b};

static const uint8_t AM_REPO[] = {0x2b, 6, 1, 5, 5, 7, 0x30, 0x05};
static const uint8_t AM_MANIFEST[] = {0x2b, 6, 1, 5, 5, 7, 0x30, 0x0a};
static const uint8_t AM_NOTIFY[] = {0x2b, 6, 1, 5, 5, 7, 0x30, 0x0d};
static const struct {
	const char *name;
	const uint8_t *oid;
	size_t len;
} access_methods[] = {
    {"CA_REPOSITORY", AM_REPO, sizeof(AM_REPO)},
    {"RESOURCE_PKI_MANIFEST", AM_MANIFEST, sizeof(AM_MANIFEST)},
    {"RESOURCE_PKI_NOTIFY", AM_NOTIFY, sizeof(AM_NOTIFY)},
};

static const json_t *
member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return v != NULL && json_is_null(v) ? NULL : v;
}

/* Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue } */
static pca_err
ext_put(struct buf *b, const uint8_t *oid, size_t oid_len, int crit,
    const uint8_t *val, size_t val_len)
{
	static const uint8_t t[] = {0xff};
	size_t start = b->len;
	pca_err e;

	if ((e = x509_der_put(b, 0x06, oid, oid_len)) != PCA_OK ||
	    (crit && (e = x509_der_put(b, 0x01, t, 1)) != PCA_OK) ||
	    (e = x509_der_put(b, 0x04, val, val_len)) != PCA_OK)
		return e;
	return x509_der_wrap(b, start, 0x30);
}

/* AccessMethod: exactly one of CustomObjectIdentifier, AccessMethodType. */
static pca_err
access_method(const json_t *am, const char *f, struct buf *v)
{
	char g[FIELD_MAX];
	const json_t *id = member(am, "CustomObjectIdentifier");
	const json_t *type = member(am, "AccessMethodType");
	ASN1_OBJECT *o = NULL;
	size_t i;
	pca_err e;

	if (!json_is_object(am) || (id == NULL) == (type == NULL))
		return pca_err_set(PCA_EINVAL,
		    "%s must have exactly one of CustomObjectIdentifier, "
		    "AccessMethodType",
		    f);
	if (id != NULL) {
		prof_fieldf(g, sizeof(g), "%s.CustomObjectIdentifier", f);
		if ((e = prof_oid_from_json(id, g, &o)) != PCA_OK)
			return e;
		e = x509_der_put(v, 0x06, OBJ_get0_data(o),
		    (size_t)OBJ_length(o));
		ASN1_OBJECT_free(o);
		return e;
	}
	for (i = 0; i < sizeof(access_methods) / sizeof(access_methods[0]); i++)
		if (json_is_string(type) && strcmp(json_string_value(type),
						access_methods[i].name) == 0)
			return x509_der_put(v, 0x06, access_methods[i].oid,
			    access_methods[i].len);
	return pca_err_set(PCA_EINVAL,
	    "%s.AccessMethodType must be CA_REPOSITORY, RESOURCE_PKI_MANIFEST "
	    "or RESOURCE_PKI_NOTIFY",
	    f);
}

static pca_err
access_description(const json_t *ad, const char *f, struct buf *v)
{
	char g[FIELD_MAX];
	GENERAL_NAME *gn = NULL;
	unsigned char *der = NULL;
	size_t start = v->len;
	int n;
	pca_err e;

	if (!json_is_object(ad))
		return pca_err_set(PCA_EINVAL, "%s must be an object", f);
	prof_fieldf(g, sizeof(g), "%s.AccessMethod", f);
	if ((e = access_method(member(ad, "AccessMethod"), g, v)) != PCA_OK)
		return e;
	prof_fieldf(g, sizeof(g), "%s.AccessLocation", f);
	if ((e = prof_gn_from_json(member(ad, "AccessLocation"), g, &gn)) !=
	    PCA_OK)
		return e;
	n = i2d_GENERAL_NAME(gn, &der);
	GENERAL_NAME_free(gn);
	if (n <= 0)
		return pca_err_set(PCA_ENOMEM, "cannot encode %s", g);
	e = buf_add(v, der, (size_t)n);
	OPENSSL_free(der);
	if (e != PCA_OK)
		return e;
	return x509_der_wrap(v, start, 0x30);
}

static pca_err
sia_ext(const json_t *list, struct buf *exts)
{
	char f[FIELD_MAX];
	struct buf v;
	size_t i, n = json_is_array(list) ? json_array_size(list) : 0;
	pca_err e = PCA_OK;

	if (!json_is_array(list) || n > LIM_SAN_ENTRIES)
		return pca_err_set(PCA_EINVAL,
		    "CsrExtensions.SubjectInformationAccess must be a list of "
		    "at most %d access descriptions",
		    LIM_SAN_ENTRIES);
	if (n == 0)
		return PCA_OK; /* nothing to request */
	buf_init(&v, CRI_MAX);
	for (i = 0; i < n && e == PCA_OK; i++) {
		prof_fieldf(f, sizeof(f),
		    "CsrExtensions.SubjectInformationAccess[%zu]", i);
		e = access_description(json_array_get(list, i), f, &v);
	}
	if (e == PCA_OK && (e = x509_der_wrap(&v, 0, 0x30)) == PCA_OK)
		e = ext_put(exts, OID_SIA, sizeof(OID_SIA), 0, v.p, v.len);
	buf_free(&v);
	return e;
}

static pca_err
ext_list(const json_t *ce, struct buf *x)
{
	uint8_t ku[5];
	size_t ku_len;
	const json_t *v;
	pca_err e;

	if (!json_is_object(ce))
		return pca_err_set(PCA_EINVAL,
		    "CsrExtensions must be an object");
	if ((v = member(ce, "KeyUsage")) != NULL) {
		if ((e = prof_ku_from_json(v, "CsrExtensions.KeyUsage", ku,
			 &ku_len)) != PCA_OK ||
		    (e = ext_put(x, OID_KU, sizeof(OID_KU), 1, ku, ku_len)) !=
			PCA_OK)
			return e;
	}
	if ((v = member(ce, "SubjectInformationAccess")) != NULL &&
	    (e = sia_ext(v, x)) != PCA_OK)
		return e;
	return PCA_OK;
}

/*
 * The attributes' contents: Attribute { extensionRequest, SET {
 * Extensions } } when CsrExtensions yields an extension, else nothing.
 */
static pca_err
ext_request(const json_t *ce, struct buf *b)
{
	struct buf x;
	size_t at = b->len, set;
	pca_err e;

	if (ce == NULL || json_is_null(ce))
		return PCA_OK;
	buf_init(&x, CRI_MAX);
	if ((e = ext_list(ce, &x)) != PCA_OK || x.len == 0)
		goto out;
	if ((e = x509_der_put(b, 0x06, OID_EXT_REQ, sizeof(OID_EXT_REQ))) !=
	    PCA_OK)
		goto out;
	set = b->len;
	if ((e = buf_add(b, x.p, x.len)) != PCA_OK ||
	    (e = x509_der_wrap(b, set, 0x30)) != PCA_OK ||
	    (e = x509_der_wrap(b, set, 0x31)) != PCA_OK ||
	    (e = x509_der_wrap(b, at, 0x30)) != PCA_OK)
		goto out;
out:
	buf_free(&x);
	return e;
}

pca_err
prof_csr_info_build(const json_t *subject, const json_t *csr_extensions,
    const uint8_t *spki, size_t spki_len, uint8_t **cri, size_t *cri_len)
{
	static const uint8_t ver0[] = {0x02, 0x01, 0x00};
	X509_NAME *name = NULL;
	const unsigned char *nder;
	size_t nlen, as;
	struct buf b;
	pca_err e;

	buf_init(&b, CRI_MAX);
	if (spki == NULL || !x509_der_check(spki, spki_len) ||
	    spki[0] != 0x30 ||
	    x509_spki_keyalg(spki, spki_len) == PCA_KEY_NONE) {
		e = pca_err_set(PCA_EINVAL, "the CA public key is not a "
					    "supported SubjectPublicKeyInfo");
		goto out;
	}
	if ((e = prof_subject_from_json(subject, &name)) != PCA_OK)
		goto out;
	if (!X509_NAME_get0_der(name, &nder, &nlen)) {
		e = pca_err_set(PCA_ENOMEM, "cannot encode the subject");
		goto out;
	}
	if ((e = buf_add(&b, ver0, sizeof(ver0))) != PCA_OK ||
	    (e = buf_add(&b, nder, nlen)) != PCA_OK ||
	    (e = buf_add(&b, spki, spki_len)) != PCA_OK)
		goto out;
	as = b.len;
	if ((e = ext_request(csr_extensions, &b)) != PCA_OK ||
	    (e = x509_der_wrap(&b, as, 0xa0)) != PCA_OK || /* [0] SET OF */
	    (e = x509_der_wrap(&b, 0, 0x30)) != PCA_OK)
		goto out;
	*cri = buf_steal(&b, cri_len);
out:
	X509_NAME_free(name);
	buf_free(&b);
	return e;
}
