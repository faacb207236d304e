/*
 * managed.c - the actions policies may name and the built-in managed
 * policies that replace the old roles: admin, issuer, auditor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "iam_int.h"

/* The 23 ACM-PCA operations and the OpenPCA.* extension operations. */
static const char *const actions[] = {
    "acm-pca:CreateCertificateAuthority",
    "acm-pca:CreateCertificateAuthorityAuditReport",
    "acm-pca:CreatePermission",
    "acm-pca:DeleteCertificateAuthority",
    "acm-pca:DeletePermission",
    "acm-pca:DeletePolicy",
    "acm-pca:DescribeCertificateAuthority",
    "acm-pca:DescribeCertificateAuthorityAuditReport",
    "acm-pca:GetCertificate",
    "acm-pca:GetCertificateAuthorityCertificate",
    "acm-pca:GetCertificateAuthorityCsr",
    "acm-pca:GetPolicy",
    "acm-pca:ImportCertificateAuthorityCertificate",
    "acm-pca:IssueCertificate",
    "acm-pca:ListCertificateAuthorities",
    "acm-pca:ListPermissions",
    "acm-pca:ListTags",
    "acm-pca:PutPolicy",
    "acm-pca:RestoreCertificateAuthority",
    "acm-pca:RevokeCertificate",
    "acm-pca:TagCertificateAuthority",
    "acm-pca:UntagCertificateAuthority",
    "acm-pca:UpdateCertificateAuthority",
    "openpca:ApproveRequest",
    "openpca:DenyRequest",
    "openpca:GetAuditLog",
    "openpca:GetComplianceReport",
    "openpca:GetExternalCertificate",
    "openpca:ListAlerts",
    "openpca:ListApprovals",
    "openpca:ListCertificates",
    "openpca:RotateCertificateAuthority",
    NULL,
};

int
iam_action_known(const char *action)
{
	int i;

	for (i = 0; actions[i] != NULL; i++)
		if (iam_glob(action, actions[i], 1))
			return 1;
	return 0;
}

pca_err
iam_action_of(const char *op, char *out, size_t outlen)
{
	int i, n;

	for (i = 0; actions[i] != NULL; i++)
		if (strcmp(strchr(actions[i], ':') + 1, op) == 0) {
			n = snprintf(out, outlen, "%s", actions[i]);
			if (n < 0 || (size_t)n >= outlen)
				break;
			return PCA_OK;
		}
	return pca_err_set(PCA_EINVAL, "no IAM action for operation %.80s", op);
}

/* End-entity template families: every variety, no Blank*, no CA. */
static const char *const ee_templates[] = {
    "arn:*:acm-pca:::template/EndEntity*",
    "arn:*:acm-pca:::template/CodeSigningCertificate*",
    "arn:*:acm-pca:::template/OCSPSigningCertificate*",
    NULL,
};

static const char *const issuer_read[] = {
    "acm-pca:DescribeCertificateAuthority",
    "acm-pca:DescribeCertificateAuthorityAuditReport",
    "acm-pca:GetCertificate",
    "acm-pca:GetCertificateAuthorityCertificate",
    "acm-pca:GetCertificateAuthorityCsr",
    "acm-pca:ListPermissions",
    "acm-pca:ListTags",
    NULL,
};

static const char *const auditor_read[] = {
    "acm-pca:Describe*",
    "acm-pca:Get*",
    "acm-pca:List*",
    "openpca:Get*",
    "openpca:List*",
    NULL,
};

int
iam_managed_known(const char *name)
{
	return name != NULL &&
	       (strcmp(name, "admin") == 0 || strcmp(name, "issuer") == 0 ||
		   strcmp(name, "auditor") == 0);
}

static json_t *
strings(const char *const *l)
{
	json_t *a = json_array();

	for (; a != NULL && *l != NULL; l++)
		if (json_array_append_new(a, json_string(*l)) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *
cas_json(const char *const *cas, size_t ncas)
{
	json_t *a;
	size_t i;

	if (ncas == 0)
		return json_string("*");
	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < ncas; i++)
		if (json_array_append_new(a, json_string(cas[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *
issuer_doc(const char *const *cas, size_t ncas)
{
	return json_pack("{s:s,s:[{s:s,s:s,s:o,s:o},{s:s,s:s,s:s,s:s},"
			 "{s:s,s:s,s:s,s:o,s:{s:{s:o}}}]}",
	    "Version", "2012-10-17", "Statement", "Sid", "IssuerRead", "Effect",
	    "Allow", "Action", strings(issuer_read), "Resource",
	    cas_json(cas, ncas), "Sid", "IssuerList", "Effect", "Allow",
	    "Action", "acm-pca:ListCertificateAuthorities", "Resource", "*",
	    "Sid", "IssuerIssueEndEntity", "Effect", "Allow", "Action",
	    "acm-pca:IssueCertificate", "Resource", cas_json(cas, ncas),
	    "Condition", "StringLike", "acm-pca:TemplateArn",
	    strings(ee_templates));
}

static json_t *
auditor_doc(const char *const *cas, size_t ncas)
{
	if (ncas == 0)
		return json_pack("{s:s,s:[{s:s,s:s,s:o,s:s}]}", "Version",
		    "2012-10-17", "Statement", "Sid", "AuditorRead", "Effect",
		    "Allow", "Action", strings(auditor_read), "Resource", "*");
	return json_pack("{s:s,s:[{s:s,s:s,s:o,s:o},{s:s,s:s,s:s,s:s}]}",
	    "Version", "2012-10-17", "Statement", "Sid", "AuditorRead",
	    "Effect", "Allow", "Action", strings(auditor_read), "Resource",
	    cas_json(cas, ncas), "Sid", "AuditorList", "Effect", "Allow",
	    "Action", "acm-pca:ListCertificateAuthorities", "Resource", "*");
}

pca_err
iam_managed_doc(const char *name, const char *const *cas, size_t ncas,
    char **out)
{
	json_t *d = NULL;
	char *s;

	if (!iam_managed_known(name))
		return pca_err_set(PCA_EINVAL,
		    "unknown managed policy '%.40s' (admin, issuer or auditor)",
		    name ? name : "");
	if (strcmp(name, "admin") == 0 && ncas > 0)
		return pca_err_set(PCA_EINVAL,
		    "the admin policy covers every CA; --ca applies to issuer "
		    "and auditor");
	if (ncas > IAM_MAX_VALUES)
		return pca_err_set(PCA_ETOOBIG, "more than %d CAs",
		    IAM_MAX_VALUES);
	if (strcmp(name, "admin") == 0)
		d = json_pack("{s:s,s:[{s:s,s:s,s:s,s:s}]}", "Version",
		    "2012-10-17", "Statement", "Sid", "Admin", "Effect",
		    "Allow", "Action", "*", "Resource", "*");
	else if (strcmp(name, "issuer") == 0)
		d = issuer_doc(cas, ncas);
	else
		d = auditor_doc(cas, ncas);
	s = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	if (s == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	*out = s;
	return PCA_OK;
}
