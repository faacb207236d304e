/*
 * fuzz_iam.c - libFuzzer target for the IAM policy parser and evaluator:
 * the first byte picks identity or resource grammar and the request
 * (action, template, tags, source address), the rest is the policy text,
 * parsed and, when it parses, evaluated and re-serialised.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../iam/iam.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const actions[] = {"acm-pca:IssueCertificate",
	    "acm-pca:TagCertificateAuthority", "openpca:ListCertificates",
	    "acm-pca:ListCertificateAuthorities"};
	static const struct iam_tag tags[] = {{"team", "web"}, {"tmp1", NULL}};
	struct iam_policy *p = NULL, *none = NULL;
	struct iam_request r;
	struct iam_verdict v;
	char *text = NULL;

	if (size == 0)
		return 0;
	if (iam_policy_parse((const char *)data + 1, size - 1,
		(data[0] & 1) ? IAM_RESOURCE : IAM_IDENTITY, &p) != PCA_OK) {
		pca_err_clear();
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.account = "222233334444";
	r.action = actions[(data[0] >> 1) & 3];
	r.resource = (data[0] & 8) ? "*"
				   : "arn:aws:acm-pca:us-east-1:111122223333:"
				     "certificate-authority/x";
	r.template_arn = (data[0] & 16) ? NULL
					: "arn:aws:acm-pca:::template/"
					  "EndEntityCertificate/V1";
	r.req_tags = tags;
	r.nreq_tags = 2;
	r.res_tags = tags;
	r.nres_tags = 1;
	r.source_ip = (data[0] & 32) ? "::1" : "10.1.2.3";
	r.secure_transport = (data[0] & 64) ? -1 : 1;
	r.now = 1796407200;
	if (data[0] & 1)
		(void)iam_decide(none, p, 1, &r, &v);
	else
		(void)iam_decide(p, none, 0, &r, &v);
	(void)iam_policy_shares(p, "222233334444");
	if (iam_policy_text(p, &text) == PCA_OK)
		free(text);
	iam_policy_free(p);
	pca_err_clear();
	return 0;
}
