/*
 * lint_names.c - name syntax rules of the lint gate (zlint's subject and
 * SAN syntax lints; RFC 5280 4.1.2.6, 4.2.1.6, 4.2.1.10 and Appendix A).
 * The same rules judge the names of a CSR before anything is built from it
 * (MalformedCSR) and every certificate's subject, subjectAltName and
 * nameConstraints in the lint gate (InvalidArgs for ApiPassthrough names).
 *
 * Each check returns 1 when the names are fine, else 0 with
 * "<zlint rule> (<RFC>): <detail>" in d.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "../common/limits.h"
#include "x509_int.h"

#define UB_NAME 32768 /* ub-name, RFC 5280 Appendix A */
#define UB_DNS 253    /* RFC 1034 3.1, without the root dot */
#define UB_LABEL 63
#define UB_EMAIL 255 /* ub-emailaddress-length */

enum kind {
	K_DIR,       /* DirectoryString: PrintableString or UTF8 */
	K_PRINTABLE, /* PrintableString only */
	K_IA5,       /* IA5String only */
};

static const struct attr_rule {
	int nid;
	enum kind kind;
	int min, max; /* characters */
} attr_rules[] = {
    {NID_commonName, K_DIR, 1, 64},
    {NID_organizationName, K_DIR, 1, 64},
    {NID_organizationalUnitName, K_DIR, 1, 64},
    {NID_localityName, K_DIR, 1, 128},
    {NID_stateOrProvinceName, K_DIR, 1, 128},
    {NID_countryName, K_PRINTABLE, 2, 2},
    {NID_serialNumber, K_PRINTABLE, 1, 64},
    {NID_dnQualifier, K_PRINTABLE, 1, UB_NAME},
    {NID_pkcs9_emailAddress, K_IA5, 1, UB_EMAIL},
    {NID_domainComponent, K_IA5, 1, UB_LABEL},
    {NID_title, K_DIR, 1, 64},
    {NID_surname, K_DIR, 1, UB_NAME},
    {NID_givenName, K_DIR, 1, UB_NAME},
    {NID_initials, K_DIR, 1, UB_NAME},
    {NID_generationQualifier, K_DIR, 1, UB_NAME},
    {NID_name, K_DIR, 1, UB_NAME},
    {NID_pseudonym, K_DIR, 1, 128},
    {NID_postalCode, K_DIR, 1, 40},
    {NID_streetAddress, K_DIR, 1, 128},
    {NID_businessCategory, K_DIR, 1, 128},
    {NID_organizationIdentifier, K_DIR, 1, 64},
    {NID_jurisdictionCountryName, K_PRINTABLE, 2, 2},
    {NID_jurisdictionStateOrProvinceName, K_DIR, 1, 128},
    {NID_jurisdictionLocalityName, K_DIR, 1, 128},
};

static const struct attr_rule attr_other = {NID_undef, K_DIR, 1, UB_NAME};

static const struct attr_rule *
attr_rule(int nid)
{
	size_t i;

	for (i = 0; i < sizeof(attr_rules) / sizeof(attr_rules[0]); i++)
		if (attr_rules[i].nid == nid)
			return &attr_rules[i];
	return &attr_other;
}

static int
is_printable_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || strchr(" '()+,-./:=?", c) != NULL;
}

/*
 * Characters of a well-formed UTF-8 string (no overlong forms, surrogates
 * or code points over U+10FFFF); -1 when malformed.
 */
static long
utf8_chars(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	unsigned long cp;
	long chars = 0;

	while (i < n) {
		unsigned char c = s[i];

		if (c < 0x80) {
			len = 1;
			cp = c;
		} else if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else
			return -1;
		if (n - i < len)
			return -1;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return -1;
		i += len;
		chars++;
	}
	return chars;
}

/* One attribute value: type, charset, no control characters, bounds. */
static int
attr_ok(const X509_NAME_ENTRY *ne, const char *where, char *d, size_t n)
{
	const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(ne);
	const ASN1_STRING *v = X509_NAME_ENTRY_get_data(ne);
	const struct attr_rule *a = attr_rule(OBJ_obj2nid(obj));
	const unsigned char *p = ASN1_STRING_get0_data(v);
	int type = ASN1_STRING_type(v), len = ASN1_STRING_length(v), i;
	char name[64];
	long chars = len;

	if (OBJ_obj2txt(name, sizeof(name), obj, 0) <= 0)
		(void)snprintf(name, sizeof(name), "?");
	if ((a->kind == K_PRINTABLE && type != V_ASN1_PRINTABLESTRING) ||
	    (a->kind == K_IA5 && type != V_ASN1_IA5STRING) ||
	    (a->kind == K_DIR && type != V_ASN1_PRINTABLESTRING &&
		type != V_ASN1_UTF8STRING)) {
		(void)snprintf(d, n,
		    "subject_dn_string_type (RFC 5280 "
		    "4.1.2.6): %s %s is a %s, not %s",
		    where, name, ASN1_tag2str(type),
		    a->kind == K_PRINTABLE ? "a PrintableString"
		    : a->kind == K_IA5     ? "an IA5String"
					   : "a PrintableString or UTF8String");
		return 0;
	}
	for (i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] == 0x7f) {
			(void)snprintf(d, n,
			    "subject_contains_control_"
			    "character (RFC 5280 4.1.2.6): %s %s has byte "
			    "0x%02x at offset %d",
			    where, name, p[i], i);
			return 0;
		}
	if (type == V_ASN1_PRINTABLESTRING)
		for (i = 0; i < len; i++)
			if (!is_printable_char(p[i])) {
				(void)snprintf(d, n,
				    "subject_printable_string_"
				    "badalpha (X.680 41.4): %s %s has '%c' in "
				    "a PrintableString",
				    where, name, p[i]);
				return 0;
			}
	if (type == V_ASN1_IA5STRING)
		for (i = 0; i < len; i++)
			if (p[i] >= 0x80) {
				(void)snprintf(d, n,
				    "subject_ia5_string (X.680 "
				    "41.4): %s %s is not ASCII",
				    where, name);
				return 0;
			}
	if (type == V_ASN1_UTF8STRING &&
	    (chars = utf8_chars(p, (size_t)len)) < 0) {
		(void)snprintf(d, n,
		    "subject_utf8_string (RFC 3629): %s %s is "
		    "not well-formed UTF-8",
		    where, name);
		return 0;
	}
	if (chars < a->min || chars > a->max) {
		(void)snprintf(d, n,
		    "subject_%s_max_length (RFC 5280 Appendix "
		    "A): %s %s has %ld characters; %d..%d allowed",
		    OBJ_nid2sn(OBJ_obj2nid(obj)), where, name, chars, a->min,
		    a->max);
		return 0;
	}
	return 1;
}

int
x509_lint_name_ok(const X509_NAME *name, const char *where, char *d, size_t n)
{
	int i, c = X509_NAME_entry_count(name);

	for (i = 0; i < c; i++)
		if (!attr_ok(X509_NAME_get_entry(name, i), where, d, n))
			return 0;
	return 1;
}

/* ---- GeneralNames ---- */

static int
is_ldh(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

/*
 * A host name in preferred name syntax (RFC 1034 3.5, RFC 5280 4.2.1.6):
 * 1..253 octets, no trailing dot, labels of 1..63 LDH octets not starting
 * or ending in '-'; wild: "*" may be the whole leftmost label.  IDNs must
 * come as A-labels (RFC 5890), so anything non-ASCII is refused.
 */
static int
dns_ok(const unsigned char *s, size_t len, int wild, const char *where, char *d,
    size_t n)
{
	size_t i = 0, start, lab;

	if (len == 0 || len > UB_DNS || s[len - 1] == '.') {
		(void)snprintf(d, n,
		    "dnsname_%s (RFC 1034 3.1): %s dNSName "
		    "of %zu octets%s",
		    len == 0       ? "empty"
		    : len > UB_DNS ? "too_long"
				   : "trailing_dot",
		    where, len,
		    len && s[len - 1] == '.' ? " ends in '.'"
					     : "; 1..253 allowed");
		return 0;
	}
	if (wild && len >= 2 && s[0] == '*' && s[1] == '.')
		i = 2;
	for (; i <= len; i++) {
		start = i;
		while (i < len && s[i] != '.')
			i++;
		lab = i - start;
		if (lab == 0 || lab > UB_LABEL) {
			(void)snprintf(d, n,
			    "dnsname_%s (RFC 1034 3.1): %s "
			    "dNSName has a label of %zu octets",
			    lab ? "label_too_long" : "empty_label", where, lab);
			return 0;
		}
		if (s[start] == '-' || s[i - 1] == '-') {
			(void)snprintf(d, n,
			    "dnsname_hyphen_in_label_edge (RFC "
			    "1034 3.5): %s dNSName label starts or ends in "
			    "'-'",
			    where);
			return 0;
		}
		for (; start < i; start++)
			if (!is_ldh(s[start])) {
				(void)snprintf(d, n,
				    "dnsname_bad_character_"
				    "in_label (RFC 1034 3.5, RFC 5890): %s "
				    "dNSName has byte 0x%02x%s",
				    where, s[start],
				    s[start] == '*' ? " ('*' only as the whole "
						      "leftmost label)"
				    : s[start] >= 0x80 ? " (IDNs must be "
							 "A-labels)"
						       : "");
				return 0;
			}
	}
	return 1;
}

static int
ia5_visible(const unsigned char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

/* local-part "@" domain (RFC 5321 4.1.2 Dot-string, RFC 5280 4.2.1.6). */
static int
email_ok(const unsigned char *s, size_t len, const char *where, char *d,
    size_t n)
{
	const unsigned char *at = len ? memchr(s, '@', len) : NULL;
	size_t i, local = at ? (size_t)(at - s) : 0;

	(void)snprintf(d, n,
	    "ext_san_rfc822_format_invalid (RFC 5280 "
	    "4.2.1.6, RFC 5321 4.1.2): %s rfc822Name is not "
	    "local-part@domain in printable ASCII",
	    where);
	if (at == NULL || local == 0 || local > 64 || len > UB_EMAIL ||
	    !ia5_visible(s, len) || s[0] == '.' || s[local - 1] == '.')
		return 0;
	for (i = 0; i < local; i++)
		if (!is_ldh(s[i]) &&
		    strchr("!#$%&'*+/=?^_`{|}~.", s[i]) == NULL)
			return 0;
		else if (s[i] == '.' && i + 1 < local && s[i + 1] == '.')
			return 0;
	return dns_ok(at + 1, len - local - 1, 0, where, d, n);
}

/* scheme ":" rest, printable ASCII without spaces (RFC 3986 3). */
static int
uri_ok(const unsigned char *s, size_t len, const char *where, char *d, size_t n)
{
	size_t i;

	(void)snprintf(d, n,
	    "ext_san_uri_format_invalid (RFC 5280 4.2.1.6, "
	    "RFC 3986 3): %s uniformResourceIdentifier is not "
	    "scheme:rest in printable ASCII",
	    where);
	if (len < 2 || !ia5_visible(s, len) ||
	    !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return 0;
	for (i = 1; i < len && s[i] != ':'; i++)
		if (!is_ldh(s[i]) && s[i] != '+' && s[i] != '.')
			return 0;
	if (i >= len - 1)
		return 0;
	for (; i < len; i++)
		if (strchr("\"<>\\^`{|}", s[i]) != NULL)
			return 0;
	return 1;
}

static int
gen_ok(const GENERAL_NAME *g, int nc, const char *where, char *d, size_t n)
{
	const ASN1_STRING *s = NULL;
	const unsigned char *p;
	const char *what;
	size_t len;
	int ip;

	switch (g->type) {
	case GEN_DNS:
	case GEN_EMAIL:
	case GEN_URI:
		s = g->d.ia5;
		break;
	case GEN_IPADD:
		ip = ASN1_STRING_length(g->d.ip);
		if (nc ? (ip == 8 || ip == 32) : (ip == 4 || ip == 16))
			return 1;
		(void)snprintf(d, n,
		    "ext_%s_ip_length (RFC 5280 %s): %s "
		    "iPAddress of %d octets; %s allowed",
		    nc ? "nc" : "san", nc ? "4.2.1.10" : "4.2.1.6", where, ip,
		    nc ? "8 or 32" : "4 or 16");
		return 0;
	case GEN_DIRNAME:
		return x509_lint_name_ok(g->d.directoryName, where, d, n);
	default:
		return 1; /* otherName, x400, ediParty, registeredID */
	}
	p = ASN1_STRING_get0_data(s);
	len = (size_t)ASN1_STRING_length(s);
	what = g->type == GEN_DNS     ? "dNSName"
	       : g->type == GEN_EMAIL ? "rfc822Name"
				      : "uniformResourceIdentifier";
	if (len == 0 && !nc) {
		(void)snprintf(d, n,
		    "ext_san_empty_name (RFC 5280 4.2.1.6): "
		    "%s has an empty %s",
		    where, what);
		return 0;
	}
	if (memchr(p, 0, len) != NULL || (nc && !ia5_visible(p, len))) {
		(void)snprintf(d, n,
		    "ext_san_contains_nul (RFC 5280 4.2.1.6): "
		    "%s %s has a NUL or non-printable byte",
		    where, what);
		return 0;
	}
	if (nc)
		return 1; /* subtree forms (".example.com") differ */
	if (g->type == GEN_DNS)
		return dns_ok(p, len, 1, where, d, n);
	if (g->type == GEN_EMAIL)
		return email_ok(p, len, where, d, n);
	return uri_ok(p, len, where, d, n);
}

int
x509_lint_gens_ok(const GENERAL_NAMES *gens, int nc, const char *where, char *d,
    size_t n)
{
	int i, c = sk_GENERAL_NAME_num(gens);

	if (!nc && c > LIM_CERT_SANS) {
		(void)snprintf(d, n,
		    "ext_san_too_many_names (limits.h "
		    "LIM_CERT_SANS): %s has %d names; at most %d",
		    where, c, LIM_CERT_SANS);
		return 0;
	}
	for (i = 0; i < c; i++)
		if (!gen_ok(sk_GENERAL_NAME_value(gens, i), nc, where, d, n))
			return 0;
	return 1;
}
