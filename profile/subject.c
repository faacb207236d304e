/*
 * subject.c - ACM-PCA name shapes (ASN1Subject, GeneralName, OIDs) to
 * OpenSSL objects and back.  Limits and patterns are the botocore model's
 * (spec 2.2); encoding order and string types are spec 4.6.
 */
#include <stdarg.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>

#include "profile_int.h"

#define FIELD_MAX 160

#define OID_TEXT_MAX 64  /* model: CustomObjectIdentifier len */
#define OID_ARCS_MAX 126 /* model: {0,126} further arcs */
#define CUSTOM_ATTRS_MAX 150
#define CUSTOM_VALUE_MAX 256

enum str_kind { STR_UTF8, STR_PRINTABLE, STR_COUNTRY };

/* Spec 4.6 order: this is also the DER order of the RDNs. */
static const struct subj_attr {
	const char *member;
	int nid;
	enum str_kind kind;
	size_t max;
} subj_attrs[] = {
    {"Country", NID_countryName, STR_COUNTRY, 2},
    {"State", NID_stateOrProvinceName, STR_UTF8, 128},
    {"Locality", NID_localityName, STR_UTF8, 128},
    {"Organization", NID_organizationName, STR_UTF8, 64},
    {"OrganizationalUnit", NID_organizationalUnitName, STR_UTF8, 64},
    {"CommonName", NID_commonName, STR_UTF8, 64},
    {"DistinguishedNameQualifier", NID_dnQualifier, STR_PRINTABLE, 64},
    {"Title", NID_title, STR_UTF8, 64},
    {"Surname", NID_surname, STR_UTF8, 40},
    {"GivenName", NID_givenName, STR_UTF8, 16},
    {"Initials", NID_initials, STR_UTF8, 5},
    {"Pseudonym", NID_pseudonym, STR_UTF8, 128},
    {"GenerationQualifier", NID_generationQualifier, STR_UTF8, 3},
    {"SerialNumber", NID_serialNumber, STR_PRINTABLE, 64},
};
#define N_SUBJ_ATTRS (sizeof(subj_attrs) / sizeof(subj_attrs[0]))

static pca_err subject_build(const json_t *, const char *, X509_NAME **);

/* ---- strings ---- */

/* Counts code points of well-formed UTF-8 without NUL; 0 if malformed. */
static int
utf8_count(const uint8_t *s, size_t n, size_t *chars)
{
	size_t i = 0, c = 0, k, j;
	uint32_t cp;

	while (i < n) {
		if (s[i] < 0x80) {
			if (s[i] == 0)
				return 0;
			i++;
			c++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			k = 1, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			k = 2, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			k = 3, cp = s[i] & 0x07;
		else
			return 0;
		if (k > n - i - 1)
			return 0;
		for (j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 &&
			(cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += k + 1;
		c++;
	}
	*chars = c;
	return 1;
}

pca_err
prof_json_string(const json_t *v, const char *field, size_t max, const char **s,
    size_t *len)
{
	size_t n, chars;

	if (!json_is_string(v))
		return pca_err_set(PCA_EINVAL, "%s must be a string", field);
	n = json_string_length(v);
	if (!utf8_count((const uint8_t *)json_string_value(v), n, &chars))
		return pca_err_set(PCA_EINVAL,
		    "%s must be UTF-8 text without NUL characters", field);
	if (chars > max)
		return pca_err_set(PCA_EINVAL,
		    "%s must be at most %zu characters", field, max);
	*s = json_string_value(v);
	*len = n;
	return PCA_OK;
}

static int
is_printable(const char *s, size_t n)
{
	static const char extra[] = " '()+,-./:=?";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != 0 && strchr(extra, c)))
			continue;
		return 0;
	}
	return 1;
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* IA5String text for a GeneralName: ASCII without control characters. */
static int
is_ia5_text(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* ---- OIDs ---- */

static size_t
digits(const char *s, size_t i, size_t n)
{
	size_t d = 0;

	while (i + d < n && s[i + d] >= '0' && s[i + d] <= '9')
		d++;
	return d;
}

/* Model pattern ([0-2])\.([0-9]|([0-3][0-9]))((\.([0-9]+)){0,126}). */
static int
oid_text_ok(const char *s, size_t n)
{
	size_t i, d, arcs = 0;

	if (n < 3 || n > OID_TEXT_MAX || s[0] < '0' || s[0] > '2' ||
	    s[1] != '.')
		return 0;
	d = digits(s, 2, n);
	if (d == 0 || d > 2 || (d == 2 && s[2] > '3'))
		return 0;
	for (i = 2 + d; i < n; i += d) {
		if (s[i++] != '.' || (d = digits(s, i, n)) == 0)
			return 0;
		arcs++;
	}
	return arcs <= OID_ARCS_MAX;
}

pca_err
prof_oid_from_json(const json_t *v, const char *field, ASN1_OBJECT **out)
{
	ASN1_OBJECT *o;
	const char *s;
	size_t n;
	pca_err e;

	if ((e = prof_json_string(v, field, OID_TEXT_MAX, &s, &n)) != PCA_OK)
		return e;
	if (!oid_text_ok(s, n))
		return pca_err_set(PCA_EINVAL,
		    "%s is not an object identifier in dotted form", field);
	if ((o = OBJ_txt2obj(s, 1)) == NULL) {
		ERR_clear_error(); /* the message below says it all */
		return pca_err_set(PCA_EINVAL,
		    "%s is not a valid object identifier", field);
	}
	*out = o;
	return PCA_OK;
}

/* ---- ASN1Subject ---- */

static const struct subj_attr *
attr_by_nid(int nid)
{
	size_t i;

	for (i = 0; nid != NID_undef && i < N_SUBJ_ATTRS; i++)
		if (subj_attrs[i].nid == nid)
			return &subj_attrs[i];
	return NULL;
}

/* Checks one attribute value against its kind and limit. */
static pca_err
attr_value(const json_t *v, const char *field, enum str_kind kind, size_t max,
    const char **s, size_t *n)
{
	pca_err e;

	if ((e = prof_json_string(v, field,
		 kind == STR_COUNTRY ? CUSTOM_VALUE_MAX : max, s, n)) != PCA_OK)
		return e;
	if (kind == STR_COUNTRY &&
	    (*n != 2 || !is_alpha((*s)[0]) || !is_alpha((*s)[1])))
		return pca_err_set(PCA_EINVAL, "%s must be 2 letters", field);
	if (kind == STR_PRINTABLE && !is_printable(*s, *n))
		return pca_err_set(PCA_EINVAL,
		    "%s may contain only letters, digits, space and ' ( ) + , "
		    "- . / : = ?",
		    field);
	return PCA_OK;
}

static pca_err
name_add(X509_NAME *name, const ASN1_OBJECT *obj, enum str_kind kind,
    const char *s, size_t n)
{
	int type =
	    kind == STR_UTF8 ? V_ASN1_UTF8STRING : V_ASN1_PRINTABLESTRING;

	/* loc -1, set 0: appended as a new RDN of its own */
	if (!X509_NAME_add_entry_by_OBJ(name, obj, type,
		(const unsigned char *)s, (int)n, -1, 0))
		return pca_err_set(PCA_ENOMEM, "cannot add a name attribute");
	return PCA_OK;
}

/* A standard member counts when present, not null, and not "". */
static const json_t *
std_member(const json_t *subj, const struct subj_attr *a)
{
	const json_t *v = json_object_get(subj, a->member);

	if (v == NULL || json_is_null(v) ||
	    (json_is_string(v) && json_string_length(v) == 0 &&
		a->kind != STR_COUNTRY))
		return NULL;
	return v;
}

static pca_err
subj_standard(X509_NAME *name, const json_t *subj, const char *field)
{
	char f[FIELD_MAX];
	const json_t *v;
	const char *s;
	size_t i, n;
	pca_err e;

	for (i = 0; i < N_SUBJ_ATTRS; i++) {
		const struct subj_attr *a = &subj_attrs[i];

		if ((v = std_member(subj, a)) == NULL)
			continue;
		prof_fieldf(f, sizeof(f), "%s.%s", field, a->member);
		if ((e = attr_value(v, f, a->kind, a->max, &s, &n)) != PCA_OK)
			return e;
		if ((e = name_add(name, OBJ_nid2obj(a->nid), a->kind, s, n)) !=
		    PCA_OK)
			return e;
	}
	return PCA_OK;
}

static pca_err
subj_custom_one(X509_NAME *name, const json_t *ca, const char *f)
{
	char g[FIELD_MAX];
	const struct subj_attr *a;
	ASN1_OBJECT *obj = NULL;
	const char *s;
	size_t n;
	pca_err e;

	if (!json_is_object(ca))
		return pca_err_set(PCA_EINVAL, "%s must be an object", f);
	prof_fieldf(g, sizeof(g), "%s.ObjectIdentifier", f);
	if ((e = prof_oid_from_json(json_object_get(ca, "ObjectIdentifier"), g,
		 &obj)) != PCA_OK)
		return e;
	prof_fieldf(g, sizeof(g), "%s.Value", f);
	/* a standard type keeps its own string type and limits */
	if ((a = attr_by_nid(OBJ_obj2nid(obj))) != NULL)
		e = attr_value(json_object_get(ca, "Value"), g, a->kind, a->max,
		    &s, &n);
	else
		e = attr_value(json_object_get(ca, "Value"), g, STR_UTF8,
		    CUSTOM_VALUE_MAX, &s, &n);
	if (e == PCA_OK && n == 0)
		e = pca_err_set(PCA_EINVAL, "%s must not be empty", g);
	if (e == PCA_OK)
		e = name_add(name, obj, a != NULL ? a->kind : STR_UTF8, s, n);
	ASN1_OBJECT_free(obj);
	return e;
}

static pca_err
subj_custom(X509_NAME *name, const json_t *list, const char *field)
{
	char f[FIELD_MAX];
	size_t i;
	pca_err e;

	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > CUSTOM_ATTRS_MAX)
		return pca_err_set(PCA_EINVAL,
		    "%s.CustomAttributes must be a list of 1 to %d attributes",
		    field, CUSTOM_ATTRS_MAX);
	for (i = 0; i < json_array_size(list); i++) {
		prof_fieldf(f, sizeof(f), "%s.CustomAttributes[%zu]", field, i);
		if ((e = subj_custom_one(name, json_array_get(list, i), f)) !=
		    PCA_OK)
			return e;
	}
	return PCA_OK;
}

static pca_err
subject_build(const json_t *subj, const char *field, X509_NAME **out)
{
	X509_NAME *name = NULL;
	const json_t *custom;
	size_t i, nstd = 0;
	pca_err e;

	if (!json_is_object(subj))
		return pca_err_set(PCA_EINVAL, "%s must be an object", field);
	for (i = 0; i < N_SUBJ_ATTRS; i++)
		if (std_member(subj, &subj_attrs[i]) != NULL)
			nstd++;
	custom = json_object_get(subj, "CustomAttributes");
	if (custom != NULL && json_is_null(custom))
		custom = NULL;
	if (custom != NULL && nstd > 0)
		return pca_err_set(PCA_EINVAL,
		    "%s.CustomAttributes cannot be combined with standard "
		    "attributes",
		    field);
	if ((name = X509_NAME_new()) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	if (custom != NULL)
		e = subj_custom(name, custom, field);
	else
		e = subj_standard(name, subj, field);
	if (e == PCA_OK && X509_NAME_entry_count(name) == 0)
		e = pca_err_set(PCA_EINVAL,
		    "%s must contain at least one attribute", field);
	if (e != PCA_OK)
		goto out;
	*out = name;
	name = NULL;
out:
	X509_NAME_free(name);
	return e;
}

pca_err
prof_subject_from_json(const json_t *subject, X509_NAME **out)
{
	return subject_build(subject, "Subject", out);
}

/* ---- back to JSON ---- */

/* True when the name looks like our standard encoding (spec 4.6 order). */
static int
name_is_standard(const X509_NAME *name)
{
	const struct subj_attr *a, *prev = NULL;
	const X509_NAME_ENTRY *ne;
	int i, n = X509_NAME_entry_count(name);

	for (i = 0; i < n; i++) {
		ne = X509_NAME_get_entry(name, i);
		if (X509_NAME_ENTRY_set(ne) != i)
			return 0; /* multi-valued RDN */
		a = attr_by_nid(OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne)));
		if (a == NULL || (prev != NULL && a <= prev))
			return 0; /* custom type, repeat or other order */
		prev = a;
	}
	return 1;
}

static pca_err
entry_value(const X509_NAME_ENTRY *ne, json_t **out)
{
	unsigned char *u = NULL;
	int n;

	n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(ne));
	if (n < 0) {
		ERR_clear_error(); /* reported below */
		return pca_err_set(PCA_EINVAL,
		    "a name attribute is not a string");
	}
	*out = json_stringn((const char *)u, (size_t)n);
	OPENSSL_free(u);
	if (*out == NULL)
		return pca_err_set(PCA_EINVAL,
		    "a name attribute is not valid text");
	return PCA_OK;
}

static pca_err
entry_to_json(const X509_NAME_ENTRY *ne, int standard, json_t *obj,
    json_t *list)
{
	const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(ne);
	json_t *v = NULL, *ca = NULL;
	char oid[OID_TEXT_MAX + 16];
	int n;
	pca_err e;

	if ((e = entry_value(ne, &v)) != PCA_OK)
		return e;
	if (standard) {
		if (json_object_set_new(obj,
			attr_by_nid(OBJ_obj2nid(o))->member, v) != 0)
			return pca_err_set(PCA_ENOMEM, "out of memory");
		return PCA_OK;
	}
	n = OBJ_obj2txt(oid, sizeof(oid), o, 1);
	if (n <= 0 || (size_t)n >= sizeof(oid)) {
		json_decref(v);
		return pca_err_set(PCA_EINVAL,
		    "a name attribute type is too long");
	}
	ca = json_pack("{s:s, s:o}", "ObjectIdentifier", oid, "Value", v);
	if (ca == NULL || json_array_append_new(list, ca) != 0)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	return PCA_OK;
}

pca_err
prof_subject_to_json(const X509_NAME *name, json_t **out)
{
	json_t *obj = NULL, *list = NULL;
	int i, n, standard;
	pca_err e = PCA_OK;

	if (name == NULL)
		return pca_err_set(PCA_EINVAL, "no name");
	standard = name_is_standard(name);
	n = X509_NAME_entry_count(name);
	if ((obj = json_object()) == NULL || (list = json_array()) == NULL) {
		e = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n && e == PCA_OK; i++)
		e = entry_to_json(X509_NAME_get_entry(name, i), standard, obj,
		    list);
	if (e != PCA_OK)
		goto out;
	if (json_array_size(list) > 0 &&
	    json_object_set(obj, "CustomAttributes", list) != 0) {
		e = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	*out = obj;
	obj = NULL;
out:
	json_decref(list);
	json_decref(obj);
	return e;
}

/* ---- GeneralName ---- */

enum gn_member {
	GN_OTHER,
	GN_RFC822,
	GN_DNS,
	GN_DIR,
	GN_EDI,
	GN_URI,
	GN_IP,
	GN_RID,
	GN_COUNT
};

static const char *const gn_names[GN_COUNT] = {
    "OtherName",
    "Rfc822Name",
    "DnsName",
    "DirectoryName",
    "EdiPartyName",
    "UniformResourceIdentifier",
    "IpAddress",
    "RegisteredId",
};

static ASN1_STRING *
str_new(int type, const char *s, size_t n)
{
	ASN1_STRING *a = ASN1_STRING_type_new(type);

	if (a != NULL && !ASN1_STRING_set(a, s, (int)n)) {
		ASN1_STRING_free(a);
		a = NULL;
	}
	return a;
}

/* rfc822Name, dNSName, uniformResourceIdentifier: IA5String. */
static pca_err
gn_ia5(GENERAL_NAME *gen, int type, const json_t *v, const char *f, size_t max)
{
	ASN1_STRING *a;
	const char *s;
	size_t n;
	pca_err e;

	if ((e = prof_json_string(v, f, max, &s, &n)) != PCA_OK)
		return e;
	if (n == 0)
		return pca_err_set(PCA_EINVAL, "%s must not be empty", f);
	if (!is_ia5_text(s, n))
		return pca_err_set(PCA_EINVAL, "%s must be printable ASCII", f);
	if ((a = str_new(V_ASN1_IA5STRING, s, n)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	GENERAL_NAME_set0_value(gen, type, a);
	return PCA_OK;
}

static pca_err
gn_ip(GENERAL_NAME *gen, const json_t *v, const char *f)
{
	char txt[48];
	unsigned char ip[16];
	ASN1_OCTET_STRING *a;
	const char *s;
	size_t n, iplen = 16;
	pca_err e;

	if ((e = prof_json_string(v, f, 39, &s, &n)) != PCA_OK)
		return e;
	if (n >= sizeof(txt)) /* 39 characters, but not all ASCII */
		return pca_err_set(PCA_EINVAL,
		    "%s is not an IPv4 or IPv6 address", f);
	memcpy(txt, s, n);
	txt[n] = '\0';
	if (inet_pton(AF_INET, txt, ip) == 1)
		iplen = 4;
	else if (inet_pton(AF_INET6, txt, ip) != 1)
		return pca_err_set(PCA_EINVAL,
		    "%s is not an IPv4 or IPv6 address", f);
	if ((a = str_new(V_ASN1_OCTET_STRING, (const char *)ip, iplen)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	GENERAL_NAME_set0_value(gen, GEN_IPADD, a);
	return PCA_OK;
}

/*
 * A DirectoryString member (UTF8String) replacing *slot (which
 * EDIPARTYNAME_new may have filled with an empty default); an absent
 * optional member leaves *slot alone.
 */
static pca_err
gn_dirstring(const json_t *obj, const char *key, const char *f, int need,
    ASN1_STRING **slot)
{
	char g[FIELD_MAX];
	const json_t *v = json_object_get(obj, key);
	ASN1_STRING *a;
	const char *s;
	size_t n;
	pca_err e;

	prof_fieldf(g, sizeof(g), "%s.%s", f, key);
	if ((v == NULL || json_is_null(v)) && !need)
		return PCA_OK;
	if ((e = prof_json_string(v, g, 256, &s, &n)) != PCA_OK)
		return e;
	if (n == 0)
		return pca_err_set(PCA_EINVAL, "%s must not be empty", g);
	if ((a = str_new(V_ASN1_UTF8STRING, s, n)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	ASN1_STRING_free(*slot);
	*slot = a;
	return PCA_OK;
}

static pca_err
gn_edi(GENERAL_NAME *gen, const json_t *v, const char *f)
{
	EDIPARTYNAME *edi = NULL;
	pca_err e;

	if (!json_is_object(v))
		return pca_err_set(PCA_EINVAL, "%s must be an object", f);
	if ((edi = EDIPARTYNAME_new()) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	if ((e = gn_dirstring(v, "PartyName", f, 1, &edi->partyName)) !=
		PCA_OK ||
	    (e = gn_dirstring(v, "NameAssigner", f, 0, &edi->nameAssigner)) !=
		PCA_OK) {
		EDIPARTYNAME_free(edi);
		return e;
	}
	GENERAL_NAME_set0_value(gen, GEN_EDIPARTY, edi);
	return PCA_OK;
}

/* otherName: type-id and a UTF8String value under [0] EXPLICIT. */
static pca_err
gn_other(GENERAL_NAME *gen, const json_t *v, const char *f)
{
	char g[FIELD_MAX];
	ASN1_OBJECT *oid = NULL;
	ASN1_TYPE *t = NULL;
	ASN1_STRING *str = NULL;
	const char *s;
	size_t n;
	pca_err e;

	if (!json_is_object(v))
		return pca_err_set(PCA_EINVAL, "%s must be an object", f);
	prof_fieldf(g, sizeof(g), "%s.TypeId", f);
	if ((e = prof_oid_from_json(json_object_get(v, "TypeId"), g, &oid)) !=
	    PCA_OK)
		return e;
	prof_fieldf(g, sizeof(g), "%s.Value", f);
	if ((e = prof_json_string(json_object_get(v, "Value"), g, 256, &s,
		 &n)) != PCA_OK)
		goto out;
	if ((str = str_new(V_ASN1_UTF8STRING, s, n)) == NULL ||
	    (t = ASN1_TYPE_new()) == NULL) {
		e = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	ASN1_TYPE_set(t, V_ASN1_UTF8STRING, str);
	str = NULL;
	if (!GENERAL_NAME_set0_othername(gen, oid, t)) {
		e = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	oid = NULL;
	t = NULL;
out:
	ASN1_STRING_free(str);
	ASN1_TYPE_free(t);
	ASN1_OBJECT_free(oid);
	return e;
}

static pca_err
gn_fill(GENERAL_NAME *gen, enum gn_member m, const json_t *v, const char *f)
{
	X509_NAME *dn = NULL;
	ASN1_OBJECT *rid = NULL;
	pca_err e;

	switch (m) {
	case GN_OTHER:
		return gn_other(gen, v, f);
	case GN_RFC822:
		return gn_ia5(gen, GEN_EMAIL, v, f, 256);
	case GN_DNS:
		return gn_ia5(gen, GEN_DNS, v, f, 253);
	case GN_URI:
		return gn_ia5(gen, GEN_URI, v, f, 253);
	case GN_EDI:
		return gn_edi(gen, v, f);
	case GN_IP:
		return gn_ip(gen, v, f);
	case GN_DIR:
		if ((e = subject_build(v, f, &dn)) != PCA_OK)
			return e;
		GENERAL_NAME_set0_value(gen, GEN_DIRNAME, dn);
		return PCA_OK;
	case GN_RID:
		if ((e = prof_oid_from_json(v, f, &rid)) != PCA_OK)
			return e;
		GENERAL_NAME_set0_value(gen, GEN_RID, rid);
		return PCA_OK;
	default:
		return pca_err_set(PCA_EINTERNAL, "unknown GeneralName kind");
	}
}

pca_err
prof_gn_from_json(const json_t *gn, const char *field, GENERAL_NAME **out)
{
	char f[FIELD_MAX];
	GENERAL_NAME *gen = NULL;
	const json_t *v, *found = NULL;
	enum gn_member m = GN_COUNT;
	int i, count = 0;
	pca_err e;

	if (!json_is_object(gn))
		return pca_err_set(PCA_EINVAL, "%s must be an object", field);
	for (i = 0; i < GN_COUNT; i++) {
		v = json_object_get(gn, gn_names[i]);
		if (v != NULL && !json_is_null(v)) {
			count++;
			found = v;
			m = (enum gn_member)i;
		}
	}
	if (count != 1)
		return pca_err_set(PCA_EINVAL,
		    "%s must have exactly one of OtherName, Rfc822Name, "
		    "DnsName, DirectoryName, EdiPartyName, "
		    "UniformResourceIdentifier, IpAddress, RegisteredId",
		    field);
	prof_fieldf(f, sizeof(f), "%s.%s", field, gn_names[m]);
	if ((gen = GENERAL_NAME_new()) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	if ((e = gn_fill(gen, m, found, f)) != PCA_OK) {
		GENERAL_NAME_free(gen);
		return e;
	}
	*out = gen;
	return PCA_OK;
}

pca_err
prof_general_name_from_json(const json_t *gn, GENERAL_NAME **out)
{
	return prof_gn_from_json(gn, "GeneralName", out);
}

pca_err
prof_general_names_from_json(const json_t *list, const char *field,
    GENERAL_NAMES **out)
{
	char f[FIELD_MAX];
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;
	size_t i, n;
	pca_err e = PCA_OK;

	n = json_is_array(list) ? json_array_size(list) : 0;
	if (n == 0 || n > LIM_SAN_ENTRIES)
		return pca_err_set(PCA_EINVAL,
		    "%s must be a list of 1 to %d names", field,
		    LIM_SAN_ENTRIES);
	if ((gens = GENERAL_NAMES_new()) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		prof_fieldf(f, sizeof(f), "%s[%zu]", field, i);
		if ((e = prof_gn_from_json(json_array_get(list, i), f, &gen)) !=
		    PCA_OK)
			goto out;
		if (!sk_GENERAL_NAME_push(gens, gen)) {
			GENERAL_NAME_free(gen);
			e = pca_err_set(PCA_ENOMEM, "out of memory");
			goto out;
		}
	}
	*out = gens;
	gens = NULL;
out:
	GENERAL_NAMES_free(gens);
	return e;
}
