/*
 * test_iam.c - the IAM decision table (tests/unit/iam/cases.json, shared
 * with tests/integration/test_iam.py) evaluated with iam/, plus validation
 * errors naming their place, limits, and the matching primitives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../../iam/iam.h"
#include "../../../iam/iam_int.h"

#define ACCOUNT "111122223333"
#define OTHER "222233334444"
#define REGION "us-east-1"
#define CA_ARN(id)                                                             \
	"arn:aws:acm-pca:" REGION ":" ACCOUNT ":certificate-authority/" id
#define CA1 CA_ARN("11111111-1111-4111-8111-111111111111")
#define CA2 CA_ARN("22222222-2222-4222-8222-222222222222")
#define CA3 CA_ARN("33333333-3333-4333-8333-333333333333")
#define T "arn:aws:acm-pca:::template/"

static json_t *
load_cases(void)
{
	char path[1024], exe[900], *slash;
	json_error_t e;
	json_t *j;
	ssize_t n;

	(void)snprintf(path, sizeof(path), "%s", __FILE__);
	if ((slash = strrchr(path, '/')) != NULL)
		(void)snprintf(slash + 1,
		    sizeof(path) - (size_t)(slash + 1 - path), "cases.json");
	if (access(path, R_OK) != 0) {
		/* relative to the binary: <BUILD>/tests/iam/test_iam */
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		assert_true(n > 0);
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		(void)snprintf(path, sizeof(path),
		    "%s/../../../tests/unit/iam/cases.json", exe);
	}
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL)
		fail_msg("%s: %s", path, e.text);
	return j;
}

/* ${NAME} substitution in a policy text. */
static char *
subst(const char *s)
{
	static const char *const from[] = {"${CA1}", "${CA2}", "${CA3}",
	    "${ACCOUNT}", "${OTHER}", "${REGION}", NULL};
	static const char *const to[] = {CA1, CA2, CA3, ACCOUNT, OTHER, REGION};
	size_t cap = strlen(s) * 4 + 1, o = 0;
	char *out = malloc(cap);
	int i;

	assert_non_null(out);
	while (*s != '\0') {
		for (i = 0; from[i] != NULL; i++)
			if (strncmp(s, from[i], strlen(from[i])) == 0)
				break;
		if (from[i] != NULL) {
			size_t n = strlen(to[i]);
			assert_true(o + n < cap);
			memcpy(out + o, to[i], n);
			o += n;
			s += strlen(from[i]);
		} else {
			assert_true(o + 1 < cap);
			out[o++] = *s++;
		}
	}
	out[o] = '\0';
	return out;
}

static const char *
ca_arn(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strcmp(name, "CA1") == 0)
		return CA1;
	if (strcmp(name, "CA2") == 0)
		return CA2;
	if (strcmp(name, "CA3") == 0)
		return CA3;
	fail_msg("unknown CA %s", name);
	return NULL;
}

/* The policy of a table entry, parsed. */
static struct iam_policy *
policy_of(const json_t *spec, enum iam_kind kind)
{
	const char *m = json_string_value(json_object_get(spec, "managed"));
	const json_t *cas = json_object_get(spec, "cas");
	const char *ca[8];
	struct iam_policy *p = NULL;
	char *doc = NULL, *text;
	size_t i, n = json_array_size(cas);

	if (m != NULL) {
		assert_true(n <= 8);
		for (i = 0; i < n; i++)
			ca[i] = ca_arn(
			    strcmp(json_string_value(json_array_get(cas, i)),
				"${CA1}") == 0
				? "CA1"
			    : strcmp(json_string_value(json_array_get(cas, i)),
				  "${CA2}") == 0
				? "CA2"
				: "CA3");
		assert_int_equal(iam_managed_doc(m, ca, n, &doc), PCA_OK);
	} else {
		assert_non_null(doc = json_dumps(spec, JSON_COMPACT));
	}
	text = subst(doc);
	free(doc);
	if (iam_policy_parse(text, strlen(text), kind, &p) != PCA_OK)
		fail_msg("policy does not parse: %s\n%s", pca_err_msg(), text);
	free(text);
	return p;
}

static size_t
tags_of(const json_t *o, struct iam_tag *t, size_t max)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	json_object_foreach ((json_t *)o, k, v) {
		assert_true(n < max);
		t[n].key = k;
		t[n].value = json_string_value(v);
		n++;
	}
	return n;
}

static const char *
classify(const struct iam_verdict *v, int cross, const struct iam_policy *res)
{
	if (v->decision == IAM_ALLOW)
		return "Allow";
	if (v->decision == IAM_EXPLICIT_DENY)
		return "ExplicitDeny";
	if (cross && (res == NULL || !iam_policy_shares(res, OTHER)))
		return "NotShared";
	return "ImplicitDeny";
}

static void
one_case(const json_t *tab, const json_t *c, size_t idx, size_t *failures)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *pname = json_string_value(json_object_get(c, "policy"));
	const char *caller = json_string_value(json_object_get(c, "caller"));
	const char *res = json_string_value(json_object_get(c, "resource"));
	const char *tmpl = json_string_value(json_object_get(c, "template"));
	const char *want = json_string_value(json_object_get(c, "expect"));
	const json_t *sid = json_object_get(c, "sid");
	const json_t *ca = json_object_get(json_object_get(tab, "cas"), res);
	struct iam_policy *id, *rp = NULL;
	struct iam_tag rq[16], rs[16];
	struct iam_request r;
	struct iam_verdict v;
	char action[96], tarn[256];
	const char *got;
	int other = caller != NULL && strcmp(caller, "other") == 0;

	id = policy_of(json_object_get(json_object_get(tab, "policies"), pname),
	    IAM_IDENTITY);
	if (other && json_object_get(ca, "resource_policy") != NULL)
		rp = policy_of(json_object_get(ca, "resource_policy"),
		    IAM_RESOURCE);
	memset(&r, 0, sizeof(r));
	r.account = other ? OTHER : ACCOUNT;
	assert_int_equal(
	    iam_action_of(json_string_value(json_object_get(c, "action")),
		action, sizeof(action)),
	    PCA_OK);
	r.action = action;
	r.resource = res ? ca_arn(res) : "*";
	if (tmpl != NULL || strcmp(action, "acm-pca:IssueCertificate") == 0) {
		(void)snprintf(tarn, sizeof(tarn), T "%s",
		    tmpl ? tmpl : "EndEntityCertificate/V1");
		r.template_arn = tarn;
	}
	r.req_tags = rq;
	r.nreq_tags = tags_of(json_object_get(c, "tags"), rq, 16);
	r.res_tags = rs;
	r.nres_tags = tags_of(json_object_get(ca, "tags"), rs, 16);
	r.source_ip = json_string_value(json_object_get(c, "source_ip"));
	if (r.source_ip == NULL)
		r.source_ip = "127.0.0.1";
	r.secure_transport = 1;
	r.now = (int64_t)time(NULL);
	(void)iam_decide(id, rp, other && res != NULL, &r, &v);
	got = classify(&v, other && res != NULL, rp);
	if (strcmp(got, want) != 0 ||
	    (sid != NULL && strcmp(json_string_value(sid), v.match.sid) != 0)) {
		print_error("case %zu '%s': expected %s%s%s, got %s (Sid '%s', "
			    "statement %d)\n",
		    idx, name, want, sid ? " by Sid " : "",
		    sid ? json_string_value(sid) : "", got, v.match.sid,
		    v.match.index);
		(*failures)++;
	}
	iam_policy_free(id);
	iam_policy_free(rp);
}

static void
test_table(void **state)
{
	json_t *tab = load_cases();
	const json_t *cases = json_object_get(tab, "cases");
	size_t i, failures = 0;

	(void)state;
	assert_true(json_array_size(cases) >= 60);
	for (i = 0; i < json_array_size(cases); i++)
		one_case(tab, json_array_get(cases, i), i, &failures);
	json_decref(tab);
	assert_int_equal(failures, 0);
}

/* ---- validation: each error names its place ---- */

static const struct {
	const char *policy;
	const char *message; /* a substring of the error */
} bad[] = {
    {"{", "not JSON"},
    {"[]", "must be a JSON object"},
    {"{\"Version\":\"2012-10-17\"}", "Statement is missing"},
    {"{\"Version\":\"2013-01-01\",\"Statement\":[]}", "Version: must be"},
    {"{\"Statement\":[]}", "Statement: must not be empty"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"acm-pca:*\","
     "\"Resource\":\"*\"},{\"Effect\":\"Allow\",\"Action\":"
     "\"acm-pca:IssueCertificate\",\"Resource\":\"*\",\"Condition\":"
     "{\"StringEqualz\":{\"acm-pca:TemplateArn\":\"x\"}}}]}",
	"Statement[1].Condition: unknown operator StringEqualz"},
    {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"acm-pca:IssueCert\","
     "\"Resource\":\"*\"}}",
	"Statement.Action: unknown action acm-pca:IssueCert"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"acm-pca:Get*\","
     "\"acm-pca:Frob*\"],\"Resource\":\"*\"}]}",
	"Statement[0].Action[1]: 'acm-pca:Frob*' matches no action"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\","
     "\"Resource\":\"*\"}]}",
	"is not an acm-pca: or openpca: action"},
    {"{\"Statement\":[{\"Effect\":\"Permit\",\"Action\":\"*\","
     "\"Resource\":\"*\"}]}",
	"Statement[0]: Effect must be \"Allow\" or \"Deny\""},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\"}]}",
	"Statement[0]: Resource or NotResource is missing"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotAction\":"
     "\"*\",\"Resource\":\"*\"}]}",
	"Action and NotAction are exclusive"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"ca-1\"}]}",
	"Statement[0].Resource: 'ca-1' is not an ARN or *"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"*\",\"Principal\":\"*\"}]}",
	"Statement[0].Principal: not allowed in an identity policy"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"*\",\"Condition\":{\"StringEquals\":"
     "{\"aws:Username\":\"x\"}}}]}",
	"Statement[0].Condition.StringEquals: unknown condition key "
	"aws:Username"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"*\",\"Condition\":{\"IpAddress\":"
     "{\"acm-pca:TemplateArn\":\"10.0.0.0/8\"}}}]}",
	"operator IpAddress does not apply to acm-pca:TemplateArn"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"*\",\"Condition\":{\"IpAddress\":"
     "{\"aws:SourceIp\":[\"10.0.0.0/8\",\"10.0.0.0/33\"]}}}]}",
	"Statement[0].Condition.IpAddress.aws:SourceIp[1]: '10.0.0.0/33' is "
	"not an IP address"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"*\",\"Condition\":{\"DateLessThan\":"
     "{\"aws:CurrentTime\":\"tomorrow\"}}}]}",
	"'tomorrow' is not a date"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"*\",\"Condition\":{\"Bool\":"
     "{\"aws:SecureTransport\":\"yes\"}}}]}",
	"Statement[0].Condition.Bool.aws:SecureTransport: must be \"true\""},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"*\",\"Condition\":{\"StringEquals\":"
     "{\"aws:RequestTag/\":\"x\"}}}]}",
	"needs a tag key"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"*\",\"Condition\":{\"StringEquals\":"
     "{\"aws:ResourceTag/team\":5}}}]}",
	"must be a string or an array of strings"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"*\",\"Condition\":{\"NullIfExists\":"
     "{\"aws:TagKeys\":\"true\"}}}]}",
	"Null takes no qualifier or IfExists"},
    {"{\"Statement\":[{\"Sid\":\"a-b\",\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"*\"}]}",
	"Statement[0].Sid: 'a-b' must be letters and digits only"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"arn:aws:acm-pca:${aws:username}:1:2:3\"}]}",
	"policy variables"},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"*\",\"Extra\":1}]}",
	"Statement[0]: unknown member Extra"},
    {"{\"Statement\":[],\"Statement\":[]}", "not JSON"},
};

static void
test_validation(void **state)
{
	struct iam_policy *p = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pca_err err = iam_policy_parse(bad[i].policy,
		    strlen(bad[i].policy), IAM_IDENTITY, &p);
		if (err == PCA_OK)
			fail_msg("accepted: %s", bad[i].policy);
		if (strstr(pca_err_msg(), bad[i].message) == NULL)
			fail_msg("policy %zu: '%s' lacks '%s'", i,
			    pca_err_msg(), bad[i].message);
	}
	assert_null(p);
}

static void
test_resource_kind(void **state)
{
	const char *no_principal = "{\"Statement\":[{\"Effect\":\"Allow\","
				   "\"Action\":\"acm-pca:GetCertificate\"}]}";
	const char *svc = "{\"Statement\":[{\"Sid\":\"acm-permission 1\","
			  "\"Effect\":\"Allow\",\"Principal\":"
			  "{\"Service\":\"acm.amazonaws.com\"},\"Action\":"
			  "\"acm-pca:IssueCertificate\",\"Resource\":\"*\","
			  "\"Condition\":{\"StringEquals\":{"
			  "\"aws:SourceAccount\":\"" ACCOUNT "\"}}}]}";
	struct iam_policy *p = NULL;

	(void)state;
	assert_int_equal(iam_policy_parse(no_principal, strlen(no_principal),
			     IAM_RESOURCE, &p),
	    PCA_EINVAL);
	assert_non_null(strstr(pca_err_msg(), "Principal is missing"));
	assert_int_equal(iam_policy_parse(svc, strlen(svc), IAM_RESOURCE, &p),
	    PCA_OK);
	assert_false(iam_policy_shares(p, OTHER)); /* a service, not us */
	iam_policy_free(p);
}

static void
test_limits(void **state)
{
	char *big = malloc(IAM_MAX_POLICY_BYTES + 64), *many;
	struct iam_policy *p = NULL;
	size_t i, o;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', IAM_MAX_POLICY_BYTES + 1);
	big[0] = '{';
	big[IAM_MAX_POLICY_BYTES] = '}';
	assert_int_equal(
	    iam_policy_parse(big, IAM_MAX_POLICY_BYTES + 1, IAM_IDENTITY, &p),
	    PCA_ETOOBIG);
	free(big);
	/* 65 statements */
	assert_non_null(many = malloc(8192));
	o = (size_t)snprintf(many, 8192, "{\"Statement\":[");
	for (i = 0; i <= IAM_MAX_STATEMENTS; i++)
		o += (size_t)snprintf(many + o, 8192 - o,
		    "%s{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":"
		    "\"*\"}",
		    i ? "," : "");
	(void)snprintf(many + o, 8192 - o, "]}");
	assert_int_equal(iam_policy_parse(many, strlen(many), IAM_IDENTITY, &p),
	    PCA_ETOOBIG);
	assert_non_null(strstr(pca_err_msg(), "more than 64 statements"));
	/* nesting */
	memset(many, '[', 40);
	memset(many + 40, ']', 40);
	assert_int_equal(iam_policy_parse(many, 80, IAM_IDENTITY, &p),
	    PCA_ETOOBIG);
	assert_non_null(strstr(pca_err_msg(), "nested deeper than 16"));
	free(many);
	assert_null(p);
}

static void
test_primitives(void **state)
{
	struct iam_net n;
	int64_t t;

	(void)state;
	assert_true(iam_glob("acm-pca:Get*", "ACM-PCA:GetCertificate", 1));
	assert_false(iam_glob("acm-pca:Get*", "acm-pca:ListTags", 1));
	assert_true(iam_glob("a*b*c", "aXXbYYc", 0));
	assert_false(iam_glob("a*b*c", "aXXbYY", 0));
	assert_true(iam_glob("*", "", 0));
	assert_true(
	    iam_arn_like("arn:aws:acm-pca:*:*:certificate-authority/*", CA1));
	assert_false(iam_arn_like("arn:aws:acm-pca:*", CA1));
	assert_true(iam_net_parse("10.0.0.0/8", &n));
	assert_true(iam_net_contains(&n, "10.255.0.1"));
	assert_false(iam_net_contains(&n, "11.0.0.1"));
	assert_true(iam_net_contains(&n, "::ffff:10.1.1.1"));
	assert_true(iam_net_parse("2001:db8::/32", &n));
	assert_true(iam_net_contains(&n, "2001:db8:1::1"));
	assert_false(iam_net_contains(&n, "2001:db9::1"));
	assert_false(iam_net_parse("10.0.0.1/x", &n));
	assert_true(iam_time_parse("2026-12-04T18:00:00Z", &t));
	assert_int_equal(t, 1796407200);
	assert_true(iam_time_parse("2026-12-04T20:00:00+02:00", &t));
	assert_int_equal(t, 1796407200);
	assert_true(iam_time_parse("2026-12-04", &t));
	assert_true(iam_time_parse("1796407200", &t));
	assert_false(iam_time_parse("2026-13-01", &t));
}

static void
test_managed(void **state)
{
	const char *cas[] = {CA1};
	struct iam_policy *p = NULL;
	char *doc = NULL;

	(void)state;
	assert_int_equal(iam_managed_doc("root", NULL, 0, &doc), PCA_EINVAL);
	assert_int_equal(iam_managed_doc("admin", cas, 1, &doc), PCA_EINVAL);
	assert_int_equal(iam_managed_doc("issuer", cas, 1, &doc), PCA_OK);
	assert_int_equal(iam_policy_parse(doc, strlen(doc), IAM_IDENTITY, &p),
	    PCA_OK);
	assert_non_null(strstr(doc, CA1));
	free(doc);
	iam_policy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_validation),
	    cmocka_unit_test(test_resource_kind),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_primitives),
	    cmocka_unit_test(test_managed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
