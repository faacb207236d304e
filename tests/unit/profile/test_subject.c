/*
 * test_subject.c - ASN1Subject and GeneralName JSON to names (spec 2.2,
 * 4.6) and back.  Expected encodings are written out by hand from the
 * ASN.1 of RFC 5280 and compared with OpenSSL's DER of the result.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/objects.h>

#include "../../../profile/profile_int.h"

static json_t *
J(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);

	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", text, je.text);
	return j;
}

/* Subject JSON text -> code; on success the name in *out. */
static pca_err
subj(const char *text, X509_NAME **out)
{
	json_t *j = J(text);
	pca_err e = prof_subject_from_json(j, out);

	json_decref(j);
	return e;
}

static void
subj_fails(const char *text, const char *msg)
{
	X509_NAME *n = (X509_NAME *)0x1;

	assert_int_equal(subj(text, &n), PCA_EINVAL);
	assert_ptr_equal(n, (X509_NAME *)0x1);
	if (strstr(pca_err_msg(), msg) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", text, pca_err_msg(),
		    msg);
}

static void
subj_ok(const char *text, int entries)
{
	X509_NAME *n = NULL;

	if (subj(text, &n) != PCA_OK)
		fail_msg("%s: %s", text, pca_err_msg());
	assert_int_equal(X509_NAME_entry_count(n), entries);
	X509_NAME_free(n);
}

/* Appends s to the string in dst (size n), truncating. */
static void
cat(char *dst, size_t n, const char *s)
{
	size_t l = strlen(dst);

	(void)snprintf(dst + l, n - l, "%s", s);
}

static void
der_equal(const uint8_t *got, int n, const uint8_t *want, size_t wn)
{
	assert_int_equal(n, (int)wn);
	assert_memory_equal(got, want, wn);
}

static void
test_subject_order_and_types(void **state)
{
	/* members deliberately in an order unlike spec 4.6 */
	const char *all =
	    "{\"SerialNumber\":\"SN-1\",\"GenerationQualifier\":"
	    "\"Jr\",\"Pseudonym\":\"Bob\",\"Initials\":\"RJB\",\"GivenName\":"
	    "\"Robert\",\"Surname\":\"Smith\",\"Title\":\"Dr\","
	    "\"DistinguishedNameQualifier\":\"dnq\",\"CommonName\":\"example."
	    "com\",\"OrganizationalUnit\":\"Ops\",\"Organization\":\"Ex "
	    "Inc\",\"Locality\":\"Seattle\",\"State\":\"WA\",\"Country\":"
	    "\"US\"}";
	static const int order[] = {NID_countryName, NID_stateOrProvinceName,
	    NID_localityName, NID_organizationName, NID_organizationalUnitName,
	    NID_commonName, NID_dnQualifier, NID_title, NID_surname,
	    NID_givenName, NID_initials, NID_pseudonym, NID_generationQualifier,
	    NID_serialNumber};
	/* C=US, CN=a: one RDN each, PrintableString and UTF8String */
	static const uint8_t small[] = {0x30, 0x19, 0x31, 0x0b, 0x30, 0x09,
	    0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x55, 0x53, 0x31, 0x0a,
	    0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0x61};
	X509_NAME *n = NULL;
	X509_NAME_ENTRY *ne;
	unsigned char *der = NULL;
	int i, nid, type, len;

	(void)state;
	assert_int_equal(subj(all, &n), PCA_OK);
	assert_int_equal(X509_NAME_entry_count(n), 14);
	for (i = 0; i < 14; i++) {
		ne = X509_NAME_get_entry(n, i);
		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne));
		assert_int_equal(nid, order[i]);
		assert_int_equal(X509_NAME_ENTRY_set(ne), i);
		type = ASN1_STRING_type(X509_NAME_ENTRY_get_data(ne));
		if (nid == NID_countryName || nid == NID_dnQualifier ||
		    nid == NID_serialNumber)
			assert_int_equal(type, V_ASN1_PRINTABLESTRING);
		else
			assert_int_equal(type, V_ASN1_UTF8STRING);
	}
	X509_NAME_free(n);
	n = NULL;
	assert_int_equal(subj("{\"CommonName\":\"a\",\"Country\":\"US\"}", &n),
	    PCA_OK);
	len = i2d_X509_NAME(n, &der);
	der_equal(der, len, small, sizeof(small));
	OPENSSL_free(der);
	X509_NAME_free(n);
	/* "" counts as absent; null too */
	subj_ok("{\"CommonName\":\"x\",\"Organization\":\"\",\"Title\":null}",
	    1);
}

static void
test_subject_limits(void **state)
{
	char big[600], js[700];
	static const struct {
		const char *member;
		int max;
	} lim[] = {{"Organization", 64}, {"OrganizationalUnit", 64},
	    {"CommonName", 64}, {"Title", 64}, {"State", 128},
	    {"Locality", 128}, {"Pseudonym", 128}, {"Surname", 40},
	    {"GivenName", 16}, {"Initials", 5}, {"GenerationQualifier", 3},
	    {"DistinguishedNameQualifier", 64}, {"SerialNumber", 64}};
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		memset(big, 'a', (size_t)lim[i].max + 1);
		big[lim[i].max] = '\0';
		(void)snprintf(js, sizeof(js), "{\"%s\":\"%s\"}", lim[i].member,
		    big);
		subj_ok(js, 1);
		big[lim[i].max] = 'a';
		big[lim[i].max + 1] = '\0';
		(void)snprintf(js, sizeof(js), "{\"%s\":\"%s\"}", lim[i].member,
		    big);
		(void)snprintf(big, sizeof(big),
		    "Subject.%s must be at most "
		    "%d characters",
		    lim[i].member, lim[i].max);
		subj_fails(js, big);
	}
	/* limits count characters, not bytes */
	js[0] = '\0';
	(void)snprintf(js, sizeof(js), "{\"GivenName\":\"");
	for (k = 0; k < 16; k++)
		cat(js, sizeof(js), "\xc3\xa9");
	cat(js, sizeof(js), "\"}");
	subj_ok(js, 1);
	js[strlen(js) - 2] = '\0';
	cat(js, sizeof(js), "\xc3\xa9\"}");
	subj_fails(js, "Subject.GivenName must be at most 16 characters");
	/* Country: exactly two letters */
	subj_ok("{\"Country\":\"us\"}", 1);
	subj_fails("{\"Country\":\"USA\"}",
	    "Subject.Country must be 2 letters");
	subj_fails("{\"Country\":\"U1\"}", "Subject.Country must be 2 letters");
	subj_fails("{\"Country\":\"\"}", "Subject.Country must be 2 letters");
	/* PrintableString members */
	subj_ok("{\"DistinguishedNameQualifier\":\"a,b'()+-./:=? Z9\"}", 1);
	subj_fails("{\"DistinguishedNameQualifier\":\"a_b\"}",
	    "Subject.DistinguishedNameQualifier may contain only");
	subj_fails("{\"SerialNumber\":\"caf\xc3\xa9\"}",
	    "Subject.SerialNumber may contain only");
	subj_fails("{\"SerialNumber\":\"a*b\"}", "may contain only");
	/* shapes */
	subj_fails("{\"CommonName\":5}", "Subject.CommonName must be a string");
	subj_fails("{}", "Subject must contain at least one attribute");
	subj_fails("{\"CommonName\":\"\"}", "at least one attribute");
	subj_fails("[]", "Subject must be an object");
	subj_fails("{\"CommonName\":\"a\\u0000b\"}", "without NUL");
}

static void
test_custom_attributes(void **state)
{
	X509_NAME *n = NULL;
	X509_NAME_ENTRY *ne;
	char js[16384], oid[80];
	int i;

	(void)state;
	assert_int_equal(
	    subj("{\"CustomAttributes\":["
		 "{\"ObjectIdentifier\":\"2.5.4.3\",\"Value\":\"cn\"},"
		 "{\"ObjectIdentifier\":\"1.3.6.1.4.1.99999.1\",\"Value\":"
		 "\"v\"},"
		 "{\"ObjectIdentifier\":\"2.5.4.6\",\"Value\":\"DE\"}]}",
		&n),
	    PCA_OK);
	assert_int_equal(X509_NAME_entry_count(n), 3);
	ne = X509_NAME_get_entry(n, 0);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne)),
	    NID_commonName);
	assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(ne)),
	    V_ASN1_UTF8STRING);
	ne = X509_NAME_get_entry(n, 1);
	OBJ_obj2txt(oid, sizeof(oid), X509_NAME_ENTRY_get_object(ne), 1);
	assert_string_equal(oid, "1.3.6.1.4.1.99999.1");
	assert_int_equal(X509_NAME_ENTRY_set(ne), 1);
	ne = X509_NAME_get_entry(n, 2);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne)),
	    NID_countryName);
	assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(ne)),
	    V_ASN1_PRINTABLESTRING);
	X509_NAME_free(n);
	subj_fails("{\"CommonName\":\"x\",\"CustomAttributes\":[{"
		   "\"ObjectIdentifier\":\"2.5.4.3\",\"Value\":\"cn\"}]}",
	    "Subject.CustomAttributes cannot be combined with standard "
	    "attributes");
	subj_fails("{\"CustomAttributes\":[]}", "list of 1 to 150");
	subj_fails(
	    "{\"CustomAttributes\":[{\"ObjectIdentifier\":\"2.5.4.3\"}]}",
	    "Subject.CustomAttributes[0].Value must be a string");
	subj_fails("{\"CustomAttributes\":[{\"ObjectIdentifier\":\"2.5.4.3\","
		   "\"Value\":\"\"}]}",
	    "Subject.CustomAttributes[0].Value must not "
	    "be empty");
	subj_fails("{\"CustomAttributes\":[{\"ObjectIdentifier\":\"2.5.4.6\","
		   "\"Value\":\"USA\"}]}",
	    "must be 2 letters");
	/* 151 attributes */
	(void)snprintf(js, sizeof(js), "{\"CustomAttributes\":[");
	for (i = 0; i < 151; i++)
		cat(js, sizeof(js),
		    i ? ",{\"ObjectIdentifier\":\"1.2.3\",\"Value\":\"v\"}"
		      : "{\"ObjectIdentifier\":\"1.2.3\",\"Value\":\"v\"}");
	cat(js, sizeof(js), "]}");
	subj_fails(js, "list of 1 to 150");
	/* OID pattern of the model */
	{
		static const char *bad[] = {"1", "3.1.2", "1.40", "1.2.",
		    ".1.2", "1..2", "a.b", "1.2.3a", "", "1.2 ", "1.-2",
		    "1.2.3.4.5.6.7.8."
		    "9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26"};
		static const char *good[] = {"2.39.1", "0.9",
		    "1.2.840.113549.1."
		    "9.1",
		    "2.5.4.3.77"};
		size_t k;

		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			(void)snprintf(js, sizeof(js),
			    "{\"CustomAttributes\":[{"
			    "\"ObjectIdentifier\":\"%s\",\"Value\":\"v\"}]}",
			    bad[k]);
			subj_fails(js, "ObjectIdentifier");
		}
		for (k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
			(void)snprintf(js, sizeof(js),
			    "{\"CustomAttributes\":[{"
			    "\"ObjectIdentifier\":\"%s\",\"Value\":\"v\"}]}",
			    good[k]);
			subj_ok(js, 1);
		}
	}
}

static void
test_subject_to_json(void **state)
{
	const char *std =
	    "{\"Country\":\"US\",\"State\":\"WA\",\"Locality\":"
	    "\"Seattle\",\"Organization\":\"Ex\",\"OrganizationalUnit\":"
	    "\"Ops\","
	    "\"CommonName\":\"c\",\"DistinguishedNameQualifier\":\"d\","
	    "\"Title\":\"t\",\"Surname\":\"s\",\"GivenName\":\"g\","
	    "\"Initials\":"
	    "\"i\",\"Pseudonym\":\"p\",\"GenerationQualifier\":\"q\","
	    "\"SerialNumber\":\"n\"}";
	const char *custom =
	    "{\"CustomAttributes\":[{\"ObjectIdentifier\":"
	    "\"2.5.4.3\",\"Value\":\"cn\"},{\"ObjectIdentifier\":\"2.5.4.6\","
	    "\"Value\":\"US\"},{\"ObjectIdentifier\":\"1.3.6.1.4.1.99999.1\","
	    "\"Value\":\"caf\xc3\xa9\"}]}";
	X509_NAME *n = NULL;
	json_t *in, *out = NULL;

	(void)state;
	in = J(std);
	assert_int_equal(prof_subject_from_json(in, &n), PCA_OK);
	assert_int_equal(prof_subject_to_json(n, &out), PCA_OK);
	assert_true(json_equal(in, out));
	json_decref(in);
	json_decref(out);
	X509_NAME_free(n);
	n = NULL;
	in = J(custom);
	assert_int_equal(prof_subject_from_json(in, &n), PCA_OK);
	assert_int_equal(prof_subject_to_json(n, &out), PCA_OK);
	assert_true(json_equal(in, out));
	json_decref(in);
	json_decref(out);
	/* a multi-valued RDN and a BMPString come back as custom */
	assert_true(X509_NAME_add_entry_by_NID(n, NID_organizationName,
	    V_ASN1_BMPSTRING, (const unsigned char *)"\0o\0r\0g", 6, -1, -1));
	assert_int_equal(prof_subject_to_json(n, &out), PCA_OK);
	assert_int_equal(
	    json_array_size(json_object_get(out, "CustomAttributes")), 4);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(out, "CustomAttributes"), 3),
		"Value")),
	    "org");
	json_decref(out);
	X509_NAME_free(n);
}

/* GeneralName JSON -> DER of the GENERAL_NAME, compared with want. */
static void
gn_der(const char *text, const uint8_t *want, size_t wn)
{
	json_t *j = J(text);
	GENERAL_NAME *g = NULL;
	unsigned char *der = NULL;
	int n;

	if (prof_general_name_from_json(j, &g) != PCA_OK)
		fail_msg("%s: %s", text, pca_err_msg());
	n = i2d_GENERAL_NAME(g, &der);
	der_equal(der, n, want, wn);
	OPENSSL_free(der);
	GENERAL_NAME_free(g);
	json_decref(j);
}

static void
gn_fails(const char *text, const char *msg)
{
	json_t *j = J(text);
	GENERAL_NAME *g = (GENERAL_NAME *)0x1;

	assert_int_equal(prof_general_name_from_json(j, &g), PCA_EINVAL);
	assert_ptr_equal(g, (GENERAL_NAME *)0x1);
	if (strstr(pca_err_msg(), msg) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", text, pca_err_msg(),
		    msg);
	json_decref(j);
}

static void
test_general_names(void **state)
{
	static const uint8_t dns[] = {0x82, 0x03, 'a', '.', 'b'};
	static const uint8_t mail[] = {0x81, 0x03, 'a', '@', 'b'};
	static const uint8_t uri[] = {0x86, 0x05, 'h', 't', 't', 'p', ':'};
	static const uint8_t ip4[] = {0x87, 0x04, 192, 0, 2, 1};
	static const uint8_t ip6[] = {0x87, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
	static const uint8_t ip6m[] = {0x87, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff, 1, 2, 3, 4};
	static const uint8_t rid[] = {0x88, 0x03, 0x2a, 0x03, 0x04};
	static const uint8_t dir[] = {0xa4, 0x0e, 0x30, 0x0c, 0x31, 0x0a, 0x30,
	    0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 'd'};
	/* otherName: [0] { type-id, [0] EXPLICIT UTF8String } */
	static const uint8_t other[] = {0xa0, 0x14, 0x06, 0x0a, 0x2b, 0x06,
	    0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03, 0xa0, 0x06, 0x0c,
	    0x04, 'u', '@', 'e', 'x'};
	/* ediPartyName: [5] { [0] nameAssigner, [1] partyName } */
	static const uint8_t edi[] = {0xa5, 0x0a, 0xa0, 0x03, 0x0c, 0x01, 'n',
	    0xa1, 0x03, 0x0c, 0x01, 'p'};
	static const uint8_t edi1[] = {0xa5, 0x05, 0xa1, 0x03, 0x0c, 0x01, 'p'};
	char js[512], big[300];
	GENERAL_NAMES *gens = NULL;
	json_t *j;

	(void)state;
	gn_der("{\"DnsName\":\"a.b\"}", dns, sizeof(dns));
	gn_der("{\"Rfc822Name\":\"a@b\"}", mail, sizeof(mail));
	gn_der("{\"UniformResourceIdentifier\":\"http:\"}", uri, sizeof(uri));
	gn_der("{\"IpAddress\":\"192.0.2.1\"}", ip4, sizeof(ip4));
	gn_der("{\"IpAddress\":\"2001:db8::1\"}", ip6, sizeof(ip6));
	gn_der("{\"IpAddress\":\"::ffff:1.2.3.4\"}", ip6m, sizeof(ip6m));
	gn_der("{\"RegisteredId\":\"1.2.3.4\"}", rid, sizeof(rid));
	gn_der("{\"DirectoryName\":{\"CommonName\":\"d\"}}", dir, sizeof(dir));
	gn_der("{\"OtherName\":{\"TypeId\":\"1.3.6.1.4.1.311.20.2.3\","
	       "\"Value\":\"u@ex\"}}",
	    other, sizeof(other));
	gn_der("{\"EdiPartyName\":{\"PartyName\":\"p\",\"NameAssigner\":"
	       "\"n\"}}",
	    edi, sizeof(edi));
	gn_der("{\"EdiPartyName\":{\"PartyName\":\"p\"}}", edi1, sizeof(edi1));
	/* exactly one member */
	gn_fails("{}", "GeneralName must have exactly one of");
	gn_fails("{\"DnsName\":\"a\",\"IpAddress\":\"1.2.3.4\"}",
	    "must have exactly one of");
	gn_fails("\"a.b\"", "GeneralName must be an object");
	/* addresses */
	gn_fails("{\"IpAddress\":\"1.2.3\"}",
	    "GeneralName.IpAddress is not an IPv4 or IPv6 address");
	gn_fails("{\"IpAddress\":\"256.1.1.1\"}", "not an IPv4 or IPv6");
	gn_fails("{\"IpAddress\":\"2001:db8::g\"}", "not an IPv4 or IPv6");
	gn_fails("{\"IpAddress\":\"example.com\"}", "not an IPv4 or IPv6");
	gn_fails(
	    "{\"IpAddress\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
	    "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
	    "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
	    "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}",
	    "not an IPv4");
	gn_fails("{\"IpAddress\":\"1111:2222:3333:4444:5555:6666:7777:88889\"}",
	    "at most 39 characters");
	/* IA5 names */
	gn_fails("{\"DnsName\":\"\"}", "GeneralName.DnsName must not be empty");
	gn_fails("{\"Rfc822Name\":\"\\u00e9@b\"}",
	    "GeneralName.Rfc822Name must be printable ASCII");
	gn_fails("{\"DnsName\":\"a\\tb\"}", "printable ASCII");
	memset(big, 'a', 254);
	big[254] = '\0';
	(void)snprintf(js, sizeof(js), "{\"DnsName\":\"%s\"}", big);
	gn_fails(js, "GeneralName.DnsName must be at most 253 characters");
	big[253] = '\0';
	(void)snprintf(js, sizeof(js), "{\"DnsName\":\"%s\"}", big);
	j = J(js);
	{
		GENERAL_NAME *g = NULL;

		assert_int_equal(prof_general_name_from_json(j, &g), PCA_OK);
		GENERAL_NAME_free(g);
	}
	json_decref(j);
	/* structured members */
	gn_fails("{\"EdiPartyName\":{\"NameAssigner\":\"n\"}}",
	    "GeneralName.EdiPartyName.PartyName must be a string");
	gn_fails("{\"OtherName\":{\"TypeId\":\"x\",\"Value\":\"v\"}}",
	    "GeneralName.OtherName.TypeId is not an object identifier");
	gn_fails("{\"OtherName\":{\"TypeId\":\"1.2.3\"}}",
	    "GeneralName.OtherName.Value must be a string");
	gn_fails("{\"DirectoryName\":{}}",
	    "GeneralName.DirectoryName must contain at least one attribute");
	gn_fails("{\"DirectoryName\":{\"Country\":\"XXX\"}}",
	    "GeneralName.DirectoryName.Country must be 2 letters");
	gn_fails("{\"RegisteredId\":\"1.2.x\"}", "GeneralName.RegisteredId");
	/* lists */
	j = J("[{\"DnsName\":\"a\"},{\"IpAddress\":\"x\"}]");
	assert_int_equal(prof_general_names_from_json(j, "SAN", &gens),
	    PCA_EINVAL);
	assert_string_equal(pca_err_msg(),
	    "SAN[1].IpAddress is not an IPv4 or IPv6 address");
	json_decref(j);
	j = J("[]");
	assert_int_equal(prof_general_names_from_json(j, "SAN", &gens),
	    PCA_EINVAL);
	json_decref(j);
	j = J("[{\"DnsName\":\"a\"},{\"IpAddress\":\"10.0.0.1\"}]");
	assert_int_equal(prof_general_names_from_json(j, "SAN", &gens), PCA_OK);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 2);
	GENERAL_NAMES_free(gens);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_subject_order_and_types),
	    cmocka_unit_test(test_subject_limits),
	    cmocka_unit_test(test_custom_attributes),
	    cmocka_unit_test(test_subject_to_json),
	    cmocka_unit_test(test_general_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
