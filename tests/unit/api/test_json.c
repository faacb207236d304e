/*
 * test_json.c - request decoding and model-driven shape validation (with
 * the Coral messages clients see), pagination tokens, roles and resource
 * policies, and the pca_err -> exception mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../api/api_int.h"

static pca_err
check(const char *op, const char *body, const char **code)
{
	const struct api_op *o = api_op_find(op);
	json_t *in = NULL;
	pca_err err;

	assert_non_null(o);
	if ((err = api_json_decode((const uint8_t *)body, strlen(body), &in)) !=
	    PCA_OK)
		return err;
	err = api_shape_check(o, in, code);
	json_decref(in);
	return err;
}

static void
expect_msg(const char *op, const char *body, pca_err want, const char *msg)
{
	const char *code = NULL;

	assert_int_equal(check(op, body, &code), want);
	if (msg != NULL)
		assert_string_equal(pca_err_msg(), msg);
}

#define ARN                                                                    \
	"arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"        \
	"0b8a4c1e-2f6a-4d1e-9c3b-7a5d6e8f9a0b"

static void
test_decode(void **state)
{
	static const char *const bad[] = {"[]", "1", "\"x\"", "{", "{} x",
	    "{\"a\":1,\"a\":2}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\xff\"}",
	    "{\"a\":[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}", NULL};
	const char *deep16 = "{\"a\":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}";
	json_t *v = NULL;
	int i;

	(void)state;
	assert_int_equal(api_json_decode((const uint8_t *)"", 0, &v), PCA_OK);
	assert_true(json_is_object(v) && json_object_size(v) == 0);
	json_decref(v);
	assert_int_equal(api_json_decode((const uint8_t *)" \n{}\n", 5, &v),
	    PCA_OK);
	json_decref(v);
	for (i = 0; bad[i] != NULL; i++)
		if (api_json_decode((const uint8_t *)bad[i], strlen(bad[i]),
			&v) != PCA_EPARSE)
			fail_msg("accepted %s", bad[i]);
	/* 16 levels are fine, 17 are not (above) */
	assert_int_equal(
	    api_json_decode((const uint8_t *)deep16, strlen(deep16), &v),
	    PCA_OK);
	json_decref(v);
}

static void
test_ops_table(void **state)
{
	size_t i;

	(void)state;
	/* 23 ACM-PCA + OpenPCA.ListCertificates, GetComplianceReport,
	 * ListApprovals, ApproveRequest, DenyRequest,
	 * RotateCertificateAuthority, GetExternalCertificate */
	assert_int_equal(api_nops, 30);
	for (i = 0; i < api_nops; i++)
		assert_ptr_equal(api_op_find(api_ops[i].name), &api_ops[i]);
	assert_null(api_op_find("DescribeCertificateAuthorityX"));
	assert_null(api_op_find(""));
}

static void
test_enum_message(void **state)
{
	(void)state;
	expect_msg("CreateCertificateAuthority",
	    "{\"CertificateAuthorityConfiguration\":{\"KeyAlgorithm\":"
	    "\"RSA_1024\",\"SigningAlgorithm\":\"SHA256WITHRSA\",\"Subject\":"
	    "{\"CommonName\":\"x\"}},\"CertificateAuthorityType\":\"ROOT\"}",
	    PCA_EVALIDATION,
	    "1 validation error detected: Value 'RSA_1024' at "
	    "'certificateAuthorityConfiguration.keyAlgorithm' failed to "
	    "satisfy constraint: Member must satisfy enum value set: "
	    "[RSA_2048, RSA_3072, RSA_4096, EC_prime256v1, EC_secp384r1, "
	    "EC_secp521r1, ML_DSA_44, ML_DSA_65, ML_DSA_87, SM2]");
}

static void
test_range_and_null(void **state)
{
	(void)state;
	expect_msg("DeleteCertificateAuthority",
	    "{\"CertificateAuthorityArn\":\"" ARN "\","
	    "\"PermanentDeletionTimeInDays\":31}",
	    PCA_EVALIDATION,
	    "1 validation error detected: Value '31' at "
	    "'permanentDeletionTimeInDays' failed to satisfy constraint: "
	    "Member must have value less than or equal to 30");
	expect_msg("DescribeCertificateAuthority", "{}", PCA_EVALIDATION,
	    "1 validation error detected: Value null at "
	    "'certificateAuthorityArn' failed to satisfy constraint: Member "
	    "must not be null");
	expect_msg("DescribeCertificateAuthority",
	    "{\"CertificateAuthorityArn\":null}", PCA_EVALIDATION, NULL);
	expect_msg("ListCertificateAuthorities", "{\"MaxResults\":0}",
	    PCA_EVALIDATION,
	    "1 validation error detected: Value '0' at 'maxResults' failed to "
	    "satisfy constraint: Member must have value greater than or equal "
	    "to 1");
	expect_msg("ListCertificateAuthorities", "{\"MaxResults\":1000}",
	    PCA_OK, NULL);
}

static void
test_list_paths(void **state)
{
	char body[1024], key[130];

	(void)state;
	memset(key, 'k', 129);
	key[129] = '\0';
	(void)snprintf(body, sizeof(body),
	    "{\"CertificateAuthorityArn\":\"" ARN
	    "\",\"Tags\":[{\"Key\":\"a\"},"
	    "{\"Key\":\"%s\",\"Value\":\"v\"}]}",
	    key);
	expect_msg("TagCertificateAuthority", body, PCA_EVALIDATION, NULL);
	assert_non_null(strstr(pca_err_msg(),
	    "at 'tags.2.member.key' failed "
	    "to satisfy constraint: Member must have length less than or "
	    "equal to 128"));
	expect_msg("TagCertificateAuthority",
	    "{\"CertificateAuthorityArn\":\"" ARN "\",\"Tags\":[]}",
	    PCA_EVALIDATION, NULL);
	assert_non_null(strstr(pca_err_msg(),
	    "'tags' failed to satisfy "
	    "constraint: Member must have length greater than or equal to 1"));
	expect_msg("TagCertificateAuthority",
	    "{\"CertificateAuthorityArn\":\"" ARN "\",\"Tags\":[{\"Value\":"
	    "\"v\"}]}",
	    PCA_EVALIDATION,
	    "1 validation error detected: Value null at 'tags.1.member.key' "
	    "failed to satisfy constraint: Member must not be null");
}

static void
test_two_errors(void **state)
{
	(void)state;
	expect_msg("RevokeCertificate",
	    "{\"CertificateAuthorityArn\":\"nope\",\"CertificateSerial\":\"01\""
	    ",\"RevocationReason\":\"HOLD\"}",
	    PCA_EVALIDATION, NULL);
	assert_non_null(strstr(pca_err_msg(),
	    "2 validation errors detected: "
	    "Value 'nope' at 'certificateAuthorityArn' failed to satisfy "
	    "constraint: Member must have length greater than or equal to 5; "
	    "Value 'HOLD' at 'revocationReason'"));
}

static void
test_types(void **state)
{
	(void)state;
	expect_msg("DescribeCertificateAuthority",
	    "{\"CertificateAuthorityArn\":5}", PCA_EPARSE, NULL);
	expect_msg("ListCertificateAuthorities", "{\"MaxResults\":\"5\"}",
	    PCA_EPARSE, NULL);
	expect_msg("ListCertificateAuthorities", "{\"MaxResults\":5.0}",
	    PCA_EPARSE, NULL);
	expect_msg("ListCertificateAuthorities", "{\"MaxResults\":4294967297}",
	    PCA_EPARSE, NULL);
	expect_msg("UpdateCertificateAuthority",
	    "{\"CertificateAuthorityArn\":\"" ARN "\",\"RevocationConfiguration"
	    "\":{\"CrlConfiguration\":{\"Enabled\":\"yes\"}}}",
	    PCA_EPARSE, NULL);
	expect_msg("ImportCertificateAuthorityCertificate",
	    "{\"CertificateAuthorityArn\":\"" ARN "\",\"Certificate\":\"***\"}",
	    PCA_EPARSE, NULL);
	/* unknown members are ignored */
	expect_msg("DescribeCertificateAuthority",
	    "{\"CertificateAuthorityArn\":\"" ARN "\",\"Extra\":[1]}", PCA_OK,
	    NULL);
}

static void
test_s3_acl(void **state)
{
	const char *code = NULL;

	(void)state;
	assert_int_equal(check("UpdateCertificateAuthority",
			     "{\"CertificateAuthorityArn\":\"" ARN "\","
			     "\"RevocationConfiguration\":{\"CrlConfiguration\""
			     ":{\"Enabled\":true,\"S3BucketName\":\"bkt\","
			     "\"S3ObjectAcl\":\"PRIVATE\"}}}",
			     &code),
	    PCA_EINVAL);
	assert_string_equal(code, "InvalidS3ObjectAclInCrlConfiguration");
	assert_string_equal(pca_err_msg(),
	    "Invalid value for parameter RevocationConfiguration."
	    "CrlConfiguration.S3ObjectAcl, value: PRIVATE, valid values: "
	    "['PUBLIC_READ', 'BUCKET_OWNER_FULL_CONTROL']");
}

static void
test_blob_limits(void **state)
{
	size_t n = 4 * 11000 + 200;
	char *body = malloc(n), *p;
	int i;

	(void)state;
	assert_non_null(body);
	p = body + snprintf(body, n,
		       "{\"CertificateAuthorityArn\":\"" ARN
		       "\",\"Certificate\":\"");
	for (i = 0; i < 11000; i++, p += 4)
		memcpy(p, "QUFB", 4); /* 33000 decoded bytes */
	(void)snprintf(p, 8, "\"}");
	expect_msg("ImportCertificateAuthorityCertificate", body,
	    PCA_EVALIDATION, NULL);
	assert_non_null(strstr(pca_err_msg(), "Member must have length less "
					      "than or equal to 32768"));
	free(body);
}

static void
test_patterns(void **state)
{
	static const struct {
		enum api_pat p;
		const char *s;
		int ok;
	} v[] = {
	    {API_PAT_ARN, ARN, 1},
	    {API_PAT_ARN, "arn:aws:acm-pca:::template/EndEntityCertificate/V1",
		1},
	    {API_PAT_ARN, ARN "/certificate/0123456789abcdef0123456789abcdef",
		1},
	    {API_PAT_ARN, "arn:aws:acm:us-east-1:1:x", 0},
	    {API_PAT_ARN, "arn::acm-pca:r:1:x", 0},
	    {API_PAT_ARN, "arn:aws:acm-pca:r:12a:x", 0},
	    {API_PAT_ARN, "arn:aws:acm-pca:r:1:x//y", 0},
	    {API_PAT_ARN, "arn:aws:acm-pca:r:1:x:y", 0},
	    {API_PAT_OID, "1.3.6.1.4.1.311.20.2.2", 1},
	    {API_PAT_OID, "2.5.29.30", 1},
	    {API_PAT_OID, "3.1", 0},
	    {API_PAT_OID, "1.40.1", 0},
	    {API_PAT_OID, "1.39", 1},
	    {API_PAT_OID, "1.2.", 0},
	    {API_PAT_BASE64, "AAECAw==", 1},
	    {API_PAT_BASE64, "AAECAwQ=", 1},
	    {API_PAT_BASE64, "AAECAw=", 0},
	    {API_PAT_BASE64, "AA=CAw==", 0},
	    {API_PAT_TAG, "env:prod/team_1=a+b-c@d. x", 1},
	    {API_PAT_TAG, "caf\xc3\xa9 \xe4\xb8\xad", 1},
	    {API_PAT_TAG, "a#b", 0},
	    {API_PAT_TAG, "a\x01", 0},
	    {API_PAT_PRINTABLE, "Acme, Inc. (EU) 1+1=2?", 1},
	    {API_PAT_PRINTABLE, "x_y", 0},
	    {API_PAT_COUNTRY, "US", 1},
	    {API_PAT_COUNTRY, "U1", 0},
	    {API_PAT_CRLPATH, "a/b-c", 1},
	    {API_PAT_CRLPATH, "a//b", 0},
	    {API_PAT_CRLPATH, "/a", 0},
	    {API_PAT_LATIN1, "tok\t\xc3\xbf", 1},
	    {API_PAT_LATIN1, "\xc4\x80", 0},
	    {API_PAT_NOSTAR, "acm.amazonaws.com", 1},
	    {API_PAT_NOSTAR, "*", 0},
	    {API_PAT_REPORT_ID, "0b8a4c1e-2f6a-4d1e-9c3b-7a5d6e8f9a0b", 1},
	    {API_PAT_REPORT_ID, "0B8a4c1e-2f6a-4d1e-9c3b-7a5d6e8f9a0b", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (api_pat_match(v[i].p, v[i].s, strlen(v[i].s)) != v[i].ok)
			fail_msg("pattern %d on '%s': expected %d", v[i].p,
			    v[i].s, v[i].ok);
	assert_int_equal(api_utf16_len("\xf0\x9f\x98\x80x", 5), 3);
	assert_int_equal(api_utf16_len("\xc0\x80", 2), -1);
}

static void
test_tokens(void **state)
{
	uint8_t key[API_TOKEN_KEY_LEN] = {1, 2, 3};
	char *t = NULL, *last = NULL;

	(void)state;
	assert_int_equal(api_token_make(key, "ListTags", "scope-a", "k|1", &t),
	    PCA_OK);
	assert_int_equal(api_token_open(key, "ListTags", "scope-a", t, &last),
	    PCA_OK);
	assert_string_equal(last, "k|1");
	free(last);
	assert_int_equal(api_token_open(key, "ListTags", "scope-b", t, &last),
	    PCA_EPARSE);
	assert_int_equal(
	    api_token_open(key, "ListPermissions", "scope-a", t, &last),
	    PCA_EPARSE);
	t[3] = t[3] == 'A' ? 'B' : 'A';
	assert_int_equal(api_token_open(key, "ListTags", "scope-a", t, &last),
	    PCA_EPARSE);
	assert_int_equal(
	    api_token_open(key, "ListTags", "scope-a", "garbage", &last),
	    PCA_EPARSE);
	assert_int_equal(api_token_open(key, "ListTags", "scope-a", ".", &last),
	    PCA_EPARSE);
	free(t);
	key[0] = 9; /* another appliance's key */
	assert_int_equal(api_token_make(key, "ListTags", "s", "x", &t), PCA_OK);
	key[0] = 1;
	assert_int_equal(api_token_open(key, "ListTags", "s", t, &last),
	    PCA_EPARSE);
	free(t);
}

/* The managed policy (the old role) allows op on a CA (or "*"). */
static int
managed_allows(const char *name, const char *op)
{
	struct iam_policy *p = NULL;
	struct iam_request r;
	char *doc = NULL, action[96];
	int ok;

	assert_int_equal(iam_managed_doc(name, NULL, 0, &doc), PCA_OK);
	assert_int_equal(iam_policy_parse(doc, strlen(doc), IAM_IDENTITY, &p),
	    PCA_OK);
	assert_int_equal(iam_action_of(op, action, sizeof(action)), PCA_OK);
	memset(&r, 0, sizeof(r));
	r.account = "111122223333";
	r.action = action;
	r.resource = strncmp(op, "List", 4) == 0 ? "*" : ARN;
	r.template_arn = "arn:aws:acm-pca:::template/EndEntityCertificate/V1";
	ok = iam_decide(p, NULL, 0, &r, NULL) == IAM_ALLOW;
	iam_policy_free(p);
	free(doc);
	return ok;
}

static void
test_roles(void **state)
{
	(void)state;
	assert_true(managed_allows("admin", "DeletePolicy"));
	assert_true(managed_allows("issuer", "IssueCertificate"));
	assert_true(managed_allows("issuer", "GetCertificate"));
	assert_true(managed_allows("issuer", "ListCertificateAuthorities"));
	assert_false(managed_allows("issuer", "RevokeCertificate"));
	assert_false(managed_allows("issuer", "GetPolicy"));
	assert_true(managed_allows("auditor", "GetPolicy"));
	assert_true(managed_allows("auditor", "ListTags"));
	assert_false(managed_allows("auditor", "IssueCertificate"));
	assert_false(
	    managed_allows("auditor", "CreateCertificateAuthorityAuditReport"));
}

enum rp_verdict { RP_NOT_SHARED, RP_ALLOW, RP_DENY };

/* A CA's resource policy for a caller of another account. */
static enum rp_verdict
rp_eval(const char *policy, const char *account, const char *action,
    const char *tmpl)
{
	struct iam_policy *p = NULL;
	struct iam_request r;
	enum rp_verdict v;

	if (iam_policy_parse(policy, strlen(policy), IAM_RESOURCE, &p) !=
	    PCA_OK)
		return RP_NOT_SHARED;
	memset(&r, 0, sizeof(r));
	r.account = account;
	r.action = action;
	r.resource = ARN;
	r.template_arn = tmpl;
	if (!iam_policy_shares(p, account))
		v = RP_NOT_SHARED;
	else
		v = iam_policy_eval(p, &r, NULL) == IAM_MATCH_ALLOW ? RP_ALLOW
								    : RP_DENY;
	iam_policy_free(p);
	return v;
}

#define POLICY(stmt) "{\"Version\":\"2012-10-17\",\"Statement\":[" stmt "]}"
#define TMPL "arn:aws:acm-pca:::template/EndEntityCertificate/V1"

static void
test_policy(void **state)
{
	const char *allow = POLICY(
	    "{\"Sid\":\"1\",\"Effect\":\"Allow\","
	    "\"Principal\":{\"AWS\":\"222233334444\"},\"Action\":["
	    "\"acm-pca:IssueCertificate\",\"acm-pca:Get*\"],\"Resource\":\"" ARN
	    "\",\"Condition\":{\"StringEquals\":{\"acm-pca:TemplateArn\":"
	    "\"" TMPL "\"}}},{\"Sid\":\"1\",\"Effect\":\"Allow\",\"Principal\":"
	    "{\"AWS\":\"arn:aws:iam::222233334444:root\"},\"Action\":"
	    "\"acm-pca:DescribeCertificateAuthority\",\"Resource\":\"*\"}");
	const char *deny = POLICY(
	    "{\"Effect\":\"Allow\",\"Principal\":\"*\","
	    "\"Action\":\"acm-pca:*\"},{\"Effect\":\"Deny\",\"Principal\":"
	    "{\"AWS\":[\"999\",\"222233334444\"]},\"Action\":"
	    "\"acm-pca:IssueCertificate\"}");
	const char *like =
	    POLICY("{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
		   "\"222233334444\"},\"Action\":\"acm-pca:IssueCertificate\","
		   "\"Condition\":{\"StringLike\":{\"acm-pca:TemplateArn\":"
		   "\"arn:aws:acm-pca:::template/EndEntity*\"}}}");

	(void)state;
	assert_int_equal(
	    rp_eval(allow, "222233334444", "acm-pca:IssueCertificate", TMPL),
	    RP_ALLOW);
	assert_int_equal(
	    rp_eval(allow, "222233334444", "acm-pca:IssueCertificate",
		"arn:aws:acm-pca:::template/CodeSigningCertificate/"
		"V1"),
	    RP_DENY);
	assert_int_equal(
	    rp_eval(allow, "222233334444", "acm-pca:GetCertificate", NULL),
	    RP_DENY); /* the condition needs a TemplateArn */
	assert_int_equal(rp_eval(allow, "222233334444",
			     "ACM-PCA:describecertificateauthority", NULL),
	    RP_ALLOW);
	assert_int_equal(rp_eval(allow, "555566667777",
			     "acm-pca:DescribeCertificateAuthority", NULL),
	    RP_NOT_SHARED);
	assert_int_equal(
	    rp_eval(deny, "222233334444", "acm-pca:IssueCertificate", TMPL),
	    RP_DENY);
	assert_int_equal(
	    rp_eval(deny, "222233334444", "acm-pca:GetCertificate", NULL),
	    RP_ALLOW);
	assert_int_equal(rp_eval(like, "222233334444",
			     "acm-pca:IssueCertificate",
			     "arn:aws:acm-pca:::template/"
			     "EndEntityClientAuthCertificate/V1"),
	    RP_ALLOW);
	assert_int_equal(rp_eval("not json", "222233334444",
			     "acm-pca:IssueCertificate", TMPL),
	    RP_NOT_SHARED);
}

static void
test_errors(void **state)
{
	struct api_error e;

	(void)state;
	api_error_from("IssueCertificate", PCA_EUNAVAIL, "token gone", &e);
	assert_int_equal(e.status, 503);
	assert_string_equal(e.code, "ServiceUnavailable");
	assert_null(strstr(e.message, "token gone"));
	api_error_from("IssueCertificate", PCA_EBUSY, "busy", &e);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "ThrottlingException");
	api_error_from("IssueCertificate", PCA_EDB, "lmdb", &e);
	assert_int_equal(e.status, 500);
	assert_string_equal(e.code, "InternalFailure");
	api_error_from("TagCertificateAuthority", PCA_ELIMIT, "51", &e);
	assert_string_equal(e.code, "TooManyTagsException");
	api_error_from("CreateCertificateAuthority", PCA_ELIMIT, "200", &e);
	assert_string_equal(e.code, "LimitExceededException");
	api_error_from("CreatePermission", PCA_EEXISTS, "dup", &e);
	assert_string_equal(e.code, "PermissionAlreadyExistsException");
	api_error_from("GetCertificate", PCA_EINPROGRESS, "wait", &e);
	assert_string_equal(e.code, "RequestInProgressException");
	assert_string_equal(e.message, "wait");
	api_error_from("IssueCertificate", PCA_EBADCSR, "bad", &e);
	assert_string_equal(e.code, "MalformedCSRException");
	api_error_from("IssueCertificate", PCA_EVALIDATION, "x", &e);
	assert_string_equal(e.code, "ValidationException");
	assert_int_equal(e.status, 400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode),
	    cmocka_unit_test(test_ops_table),
	    cmocka_unit_test(test_enum_message),
	    cmocka_unit_test(test_range_and_null),
	    cmocka_unit_test(test_list_paths),
	    cmocka_unit_test(test_two_errors),
	    cmocka_unit_test(test_types),
	    cmocka_unit_test(test_s3_acl),
	    cmocka_unit_test(test_blob_limits),
	    cmocka_unit_test(test_patterns),
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_roles),
	    cmocka_unit_test(test_policy),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
