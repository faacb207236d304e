/*
 * test_sigv4.c - SigV4 verification against signatures computed by
 * botocore's own SigV4Auth (vectors generated at 20261128T235516Z with
 * tests/unit/api/gen_sigv4_vectors.py), plus every rejection path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../api/api_int.h"
#include "../../../common/util.h"
#include "../../../hsm/hsm.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define NOW 1795910116 /* 2026-11-28T23:55:16Z */

struct vec {
	const char *path;
	const struct api_hdr *query;
	size_t nquery;
	const struct api_hdr *hdrs;
	size_t nhdrs;
	const char *body;
	const char *authz;
	const char *canonical;
	const char *region;
};

static const struct api_hdr list_hdrs[] = {
    {"x-amz-target", "ACMPrivateCA.ListCertificateAuthorities"},
    {"content-type", "application/x-amz-json-1.1"},
    {"x-amz-date", "20261128T235516Z"}, {"host", "127.0.0.1:8443"}};
static const struct api_hdr list_query[] = {{NULL, NULL}};
static const struct vec list_vec = {"/", list_query, 0, list_hdrs,
    sizeof(list_hdrs) / sizeof(list_hdrs[0]), "{}",
    "AWS4-HMAC-SHA256 "
    "Credential=AKIAEXAMPLEKEY000001/20261128/us-east-1/acm-pca/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
    "Signature="
    "6527d017eb34f499a884fbe950fef84ad62e45bee8b89eb5d6a4993799653b8a",
    "POST\n/\n\ncontent-type:application/"
    "x-amz-json-1.1\nhost:127.0.0.1:8443\nx-amz-date:20261128T235516Z\nx-amz-"
    "target:ACMPrivateCA.ListCertificateAuthorities\n\ncontent-type;host;x-amz-"
    "date;x-amz-"
    "target\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "us-east-1"};

static const struct api_hdr issue_hdrs[] = {
    {"x-amz-target", "ACMPrivateCA.IssueCertificate"},
    {"content-type", "application/x-amz-json-1.1"},
    {"x-amz-date", "20261128T235516Z"}, {"host", "pca.example:8443"}};
static const struct api_hdr issue_query[] = {{NULL, NULL}};
static const struct vec issue_vec = {"/", issue_query, 0, issue_hdrs,
    sizeof(issue_hdrs) / sizeof(issue_hdrs[0]),
    "{\"CertificateAuthorityArn\":\"arn:aws:acm-pca:eu-west-3:123456789012:"
    "certificate-authority/"
    "0b8a4c1e-2f6a-4d1e-9c3b-7a5d6e8f9a0b\",\"Csr\":\"LS0t\","
    "\"SigningAlgorithm\":\"SHA256WITHECDSA\",\"Validity\":{\"Value\":365,"
    "\"Type\":\"DAYS\"}}",
    "AWS4-HMAC-SHA256 "
    "Credential=AKIAEXAMPLEKEY000001/20261128/eu-west-3/acm-pca/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
    "Signature="
    "441b2d346350255a29507e3613943a1a6a4e0d3ad519df24b6dfc44a7a4e19dc",
    "POST\n/\n\ncontent-type:application/"
    "x-amz-json-1.1\nhost:pca.example:8443\nx-amz-date:20261128T235516Z\nx-amz-"
    "target:ACMPrivateCA.IssueCertificate\n\ncontent-type;host;x-amz-date;x-"
    "amz-"
    "target\n1f51253adfd7eba4d6f3eb6eeeae690893bd8ec9457028c60a8e260f81871e2a",
    "eu-west-3"};

static const struct api_hdr path_hdrs[] = {
    {"x-amz-target", "ACMPrivateCA.ListCertificateAuthorities"},
    {"content-type", "application/x-amz-json-1.1"},
    {"amz-sdk-invocation-id", "  spaced   value  here "},
    {"x-amz-date", "20261128T235516Z"}, {"host", "127.0.0.1:9443"}};
static const struct api_hdr path_query[] = {{"b", "2"}, {"a", "1"}};
static const struct vec path_vec = {"/base/./a//b/../c%20d/", path_query, 2,
    path_hdrs, sizeof(path_hdrs) / sizeof(path_hdrs[0]), "{\"MaxResults\":1}",
    "AWS4-HMAC-SHA256 "
    "Credential=AKIAEXAMPLEKEY000001/20261128/us-east-1/acm-pca/aws4_request, "
    "SignedHeaders=amz-sdk-invocation-id;content-type;host;x-amz-date;x-amz-"
    "target, "
    "Signature="
    "a048c149fef2d01462b9999fd3b0d5f4bc1b3cd19814871bf9c1ea9117350819",
    "POST\n/base/a/c%2520d/\na=1&b=2\namz-sdk-invocation-id:spaced value "
    "here\ncontent-type:application/"
    "x-amz-json-1.1\nhost:127.0.0.1:9443\nx-amz-date:20261128T235516Z\nx-amz-"
    "target:ACMPrivateCA.ListCertificateAuthorities\n\namz-sdk-invocation-id;"
    "content-type;host;x-amz-date;x-amz-"
    "target\n5d327dabe3dd761d0a1fd5ac1ad275322fd6e1d88a5d361c1750ac453ec177b9",
    "us-east-1"};

static void
req_of(const struct vec *v, struct api_http_req *r)
{
	memset(r, 0, sizeof(*r));
	r->method = "POST";
	r->path = v->path;
	r->query = v->query;
	r->nquery = v->nquery;
	r->hdrs = v->hdrs;
	r->nhdrs = v->nhdrs;
	r->body = (const uint8_t *)v->body;
	r->body_len = strlen(v->body);
}

static pca_err
verify(const struct api_http_req *r, const char *authz, int64_t now,
    const char *secret)
{
	struct sigv4_auth a;
	struct hsm_sigv4_scope sc;
	uint8_t k[32];
	pca_err err;

	if ((err = sigv4_parse(authz, &a)) != PCA_OK ||
	    (err = sigv4_check_date(r, &a, now)) != PCA_OK)
		return err;
	/* what the signer hands pcad's front: kSigning, not the secret */
	sc.date = a.date;
	sc.region = a.region;
	sc.service = a.service;
	hsm_sigv4_derive((const uint8_t *)secret, strlen(secret), &sc, k);
	return sigv4_verify(r, &a, k);
}

static void
check_vector(const struct vec *v)
{
	struct api_http_req r;
	struct sigv4_auth a;
	struct buf b;

	req_of(v, &r);
	assert_int_equal(sigv4_parse(v->authz, &a), PCA_OK);
	assert_string_equal(a.akid, "AKIAEXAMPLEKEY000001");
	assert_string_equal(a.region, v->region);
	assert_int_equal(sigv4_check_date(&r, &a, NOW), PCA_OK);
	buf_init(&b, 1 << 20);
	assert_int_equal(sigv4_canonical_request(&r, &a, &b), PCA_OK);
	assert_int_equal(buf_nul(&b), PCA_OK);
	assert_string_equal((char *)b.p, v->canonical);
	buf_free(&b);
	assert_int_equal(verify(&r, v->authz, NOW, SECRET), PCA_OK);
}

static void
test_botocore_list(void **state)
{
	(void)state;
	check_vector(&list_vec);
}

static void
test_botocore_issue(void **state)
{
	(void)state;
	check_vector(&issue_vec);
}

static void
test_botocore_path_query(void **state)
{
	(void)state;
	check_vector(&path_vec);
}

/* AWS's documented derivation example (SigV4 "derive signing key"). */
static void
test_signing_key(void **state)
{
	uint8_t k[32];
	char hex[65];

	(void)state;
	hsm_sigv4_derive((const uint8_t *)SECRET, strlen(SECRET),
	    &(struct hsm_sigv4_scope){"20150830", "us-east-1", "iam"}, k);
	util_hex(k, 32, hex, sizeof(hex), 0);
	assert_string_equal(hex,
	    "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

static void
test_wrong_secret(void **state)
{
	struct api_http_req r;

	(void)state;
	req_of(&list_vec, &r);
	assert_int_equal(verify(&r, list_vec.authz, NOW,
			     "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ"),
	    PCA_EMISMATCH);
}

static void
test_tampered_body(void **state)
{
	struct api_http_req r;

	(void)state;
	req_of(&list_vec, &r);
	r.body = (const uint8_t *)"{ }";
	r.body_len = 3;
	assert_int_equal(verify(&r, list_vec.authz, NOW, SECRET),
	    PCA_EMISMATCH);
}

static void
test_tampered_header(void **state)
{
	struct api_hdr h[4];
	struct api_http_req r;

	(void)state;
	memcpy(h, list_hdrs, sizeof(h));
	h[0].value = "ACMPrivateCA.DeleteCertificateAuthority";
	req_of(&list_vec, &r);
	r.hdrs = h;
	assert_int_equal(verify(&r, list_vec.authz, NOW, SECRET),
	    PCA_EMISMATCH);
	/* a signed header that went missing: IncompleteSignature */
	memcpy(h, list_hdrs, sizeof(h));
	h[1].name = "user-agent"; /* content-type now absent */
	assert_int_equal(verify(&r, list_vec.authz, NOW, SECRET), PCA_EPARSE);
}

static void
test_tampered_path(void **state)
{
	struct api_http_req r;

	(void)state;
	req_of(&list_vec, &r);
	r.path = "/other";
	assert_int_equal(verify(&r, list_vec.authz, NOW, SECRET),
	    PCA_EMISMATCH);
}

static void
test_content_sha256(void **state)
{
	struct api_hdr h[5];
	struct api_http_req r;

	(void)state;
	memcpy(h, list_hdrs, 4 * sizeof(h[0]));
	h[4].name = "x-amz-content-sha256";
	h[4].value =
	    "0000000000000000000000000000000000000000000000000000000000000000";
	req_of(&list_vec, &r);
	r.hdrs = h;
	r.nhdrs = 5;
	assert_int_equal(verify(&r, list_vec.authz, NOW, SECRET),
	    PCA_EMISMATCH);
	h[4].value =
	    "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
	assert_int_equal(verify(&r, list_vec.authz, NOW, SECRET), PCA_OK);
}

static void
test_clock_skew(void **state)
{
	struct api_http_req r;

	(void)state;
	req_of(&list_vec, &r);
	assert_int_equal(verify(&r, list_vec.authz, NOW + 15 * 60, SECRET),
	    PCA_OK);
	assert_int_equal(verify(&r, list_vec.authz, NOW - 15 * 60, SECRET),
	    PCA_OK);
	assert_int_equal(verify(&r, list_vec.authz, NOW + 15 * 60 + 1, SECRET),
	    PCA_EMISMATCH);
	assert_non_null(strstr(pca_err_msg(), "Signature expired"));
	assert_int_equal(verify(&r, list_vec.authz, NOW - 20 * 60, SECRET),
	    PCA_EMISMATCH);
	assert_non_null(strstr(pca_err_msg(), "not yet current"));
}

static void
test_scope_date(void **state)
{
	struct api_http_req r;
	char authz[512];

	(void)state;
	req_of(&list_vec, &r);
	(void)snprintf(authz, sizeof(authz), "%s", list_vec.authz);
	memcpy(strstr(authz, "/20261128/") + 1, "20261127", 8);
	assert_int_equal(verify(&r, authz, NOW, SECRET), PCA_EMISMATCH);
}

static void
test_missing_date(void **state)
{
	struct api_http_req r;
	struct api_hdr h[4];

	(void)state;
	memcpy(h, list_hdrs, sizeof(h));
	h[2].name = "date";
	req_of(&list_vec, &r);
	r.hdrs = h;
	assert_int_equal(verify(&r, list_vec.authz, NOW, SECRET), PCA_EPARSE);
	h[2].name = "x-amz-date";
	h[2].value = "2026-11-28T23:55:16Z";
	assert_int_equal(verify(&r, list_vec.authz, NOW, SECRET), PCA_EPARSE);
}

/*
 * X-Amz-Target picks the operation: a request carrying it must sign it, or
 * a captured GetPolicy could be replayed as DeletePolicy (issue 15).  A
 * request without it (a form-encoded Query-protocol POST) needs only Host
 * and X-Amz-Date.
 */
static void
test_target_must_be_signed(void **state)
{
	struct api_http_req r;
	struct sigv4_auth a;
	const char *unsigned_target =
	    "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEKEY000001/20261128/"
	    "us-east-1/acm-pca/aws4_request, SignedHeaders=content-type;host;"
	    "x-amz-date, Signature="
	    "6527d017eb34f499a884fbe950fef84ad62e45bee8b89eb5d6a4993799653b8a";

	(void)state;
	req_of(&list_vec, &r);
	assert_int_equal(sigv4_parse(unsigned_target, &a), PCA_OK);
	assert_int_equal(sigv4_check_date(&r, &a, NOW), PCA_EPARSE);
	assert_non_null(strstr(pca_err_msg(), "X-Amz-Target"));
	pca_err_clear();
	r.hdrs = list_hdrs + 1; /* the same request without X-Amz-Target */
	r.nhdrs = 3;
	assert_int_equal(sigv4_check_date(&r, &a, NOW), PCA_OK);
}

static void
test_parse_rejects(void **state)
{
	static const char *const bad[] = {"",
	    "AWS4-HMAC-SHA1 Credential=A/20261128/us-east-1/acm-pca/"
	    "aws4_request, SignedHeaders=host;x-amz-date, Signature="
	    "6527d017eb34f499a884fbe950fef84ad62e45bee8b89eb5d6a4993799653b8a",
	    "AWS4-HMAC-SHA256 Credential=A/20261128/us-east-1/acm-pca/"
	    "aws4_request, SignedHeaders=host;x-amz-date",
	    "AWS4-HMAC-SHA256 Credential=A/20261128/us-east-1/s3/aws4_request,"
	    " SignedHeaders=host;x-amz-date, Signature="
	    "6527d017eb34f499a884fbe950fef84ad62e45bee8b89eb5d6a4993799653b8a",
	    "AWS4-HMAC-SHA256 Credential=A/20261128/us-east-1/acm-pca/aws4_x,"
	    " SignedHeaders=host;x-amz-date, Signature="
	    "6527d017eb34f499a884fbe950fef84ad62e45bee8b89eb5d6a4993799653b8a",
	    "AWS4-HMAC-SHA256 Credential=A/20261128/us-east-1/acm-pca/"
	    "aws4_request, SignedHeaders=x-amz-date, Signature="
	    "6527d017eb34f499a884fbe950fef84ad62e45bee8b89eb5d6a4993799653b8a",
	    "AWS4-HMAC-SHA256 Credential=A/20261128/us-east-1/acm-pca/"
	    "aws4_request, SignedHeaders=host, Signature="
	    "6527d017eb34f499a884fbe950fef84ad62e45bee8b89eb5d6a4993799653b8a",
	    "AWS4-HMAC-SHA256 Credential=A/20261128/us-east-1/acm-pca/"
	    "aws4_request, SignedHeaders=host;x-amz-date, Signature=zz27d017eb"
	    "34f499a884fbe950fef84ad62e45bee8b89eb5d6a4993799653b8a",
	    "AWS4-HMAC-SHA256 Credential=A/20261128/us-east-1/acm-pca/"
	    "aws4_request, SignedHeaders=Host;x-amz-date, Signature="
	    "6527d017eb34f499a884fbe950fef84ad62e45bee8b89eb5d6a4993799653b8a",
	    "AWS4-HMAC-SHA256 Credential=A/2026112/us-east-1/acm-pca/"
	    "aws4_request, SignedHeaders=host;x-amz-date, Signature="
	    "6527d017eb34f499a884fbe950fef84ad62e45bee8b89eb5d6a4993799653b8a",
	    "AWS4-HMAC-SHA256 Credential=A/20261128/us-east-1/acm-pca/"
	    "aws4_request/x, SignedHeaders=host;x-amz-date, Signature="
	    "6527d017eb34f499a884fbe950fef84ad62e45bee8b89eb5d6a4993799653b8a",
	    "AWS4-HMAC-SHA256 Credential=A/20261128/us-east-1/acm-pca/"
	    "aws4_request, SignedHeaders=host;;x-amz-date, Signature="
	    "6527d017eb34f499a884fbe950fef84ad62e45bee8b89eb5d6a4993799653b8a",
	    NULL};
	struct sigv4_auth a;
	int i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		if (sigv4_parse(bad[i], &a) != PCA_EPARSE)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void
test_hdr_lookup(void **state)
{
	struct api_http_req r;

	(void)state;
	req_of(&list_vec, &r);
	assert_string_equal(api_hdr_get(&r, "X-AMZ-TARGET"),
	    "ACMPrivateCA.ListCertificateAuthorities");
	assert_null(api_hdr_get(&r, "authorization"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_botocore_list),
	    cmocka_unit_test(test_botocore_issue),
	    cmocka_unit_test(test_botocore_path_query),
	    cmocka_unit_test(test_signing_key),
	    cmocka_unit_test(test_wrong_secret),
	    cmocka_unit_test(test_tampered_body),
	    cmocka_unit_test(test_tampered_header),
	    cmocka_unit_test(test_tampered_path),
	    cmocka_unit_test(test_content_sha256),
	    cmocka_unit_test(test_clock_skew),
	    cmocka_unit_test(test_scope_date),
	    cmocka_unit_test(test_missing_date),
	    cmocka_unit_test(test_target_must_be_signed),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_hdr_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
