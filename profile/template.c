/*
 * template.c - the ACM-PCA certificate templates of spec 4.2: every family
 * with the varieties that exist, looked up by template ARN.
 */
#include <string.h>

#include "profile_int.h"

#define B 0  /* base: no passthrough */
#define C 1  /* _CSRPassthrough */
#define A 2  /* _APIPassthrough */
#define AC 3 /* _APICSRPassthrough */

#define T(n, fam, v, pl)                                                       \
	{                                                                      \
		n "/V1", fam, (v) >= A, (v) == C || (v) == AC, pl              \
	}

#define FOUR(n, fam, pl)                                                       \
	T(n, fam, B, pl), T(n "_CSRPassthrough", fam, C, pl),                  \
	    T(n "_APIPassthrough", fam, A, pl),                                \
	    T(n "_APICSRPassthrough", fam, AC, pl)
#define BLANK3(n, fam, pl)                                                     \
	T(n "_CSRPassthrough", fam, C, pl),                                    \
	    T(n "_APIPassthrough", fam, A, pl),                                \
	    T(n "_APICSRPassthrough", fam, AC, pl)

static const struct prof_template templates[] = {
    FOUR("EndEntityCertificate", PROF_TF_END_ENTITY, -1),
    FOUR("EndEntityClientAuthCertificate", PROF_TF_END_ENTITY_CLIENT, -1),
    FOUR("EndEntityServerAuthCertificate", PROF_TF_END_ENTITY_SERVER, -1),
    FOUR("CodeSigningCertificate", PROF_TF_CODE_SIGNING, -1),
    FOUR("OCSPSigningCertificate", PROF_TF_OCSP_SIGNING, -1),
    T("RootCACertificate", PROF_TF_ROOT_CA, B, -1),
    T("RootCACertificate_APIPassthrough", PROF_TF_ROOT_CA, A, -1),
    FOUR("SubordinateCACertificate_PathLen0", PROF_TF_SUBORDINATE_CA, 0),
    FOUR("SubordinateCACertificate_PathLen1", PROF_TF_SUBORDINATE_CA, 1),
    FOUR("SubordinateCACertificate_PathLen2", PROF_TF_SUBORDINATE_CA, 2),
    FOUR("SubordinateCACertificate_PathLen3", PROF_TF_SUBORDINATE_CA, 3),
    BLANK3("BlankEndEntityCertificate", PROF_TF_BLANK_END_ENTITY, -1),
    BLANK3("BlankEndEntityCertificate_CriticalBasicConstraints",
	PROF_TF_BLANK_END_ENTITY_CRIT_BC, -1),
    BLANK3("BlankSubordinateCACertificate_PathLen0",
	PROF_TF_BLANK_SUBORDINATE_CA, 0),
    BLANK3("BlankSubordinateCACertificate_PathLen1",
	PROF_TF_BLANK_SUBORDINATE_CA, 1),
    BLANK3("BlankSubordinateCACertificate_PathLen2",
	PROF_TF_BLANK_SUBORDINATE_CA, 2),
    BLANK3("BlankSubordinateCACertificate_PathLen3",
	PROF_TF_BLANK_SUBORDINATE_CA, 3),
    T("BlankRootCACertificate_APIPassthrough", PROF_TF_BLANK_ROOT_CA, A, -1),
    T("BlankRootCACertificate_PathLen0_APIPassthrough", PROF_TF_BLANK_ROOT_CA,
	A, 0),
    T("BlankRootCACertificate_PathLen1_APIPassthrough", PROF_TF_BLANK_ROOT_CA,
	A, 1),
    T("BlankRootCACertificate_PathLen2_APIPassthrough", PROF_TF_BLANK_ROOT_CA,
	A, 2),
    T("BlankRootCACertificate_PathLen3_APIPassthrough", PROF_TF_BLANK_ROOT_CA,
	A, 3),
};

#define N_TEMPLATES (sizeof(templates) / sizeof(templates[0]))
#define ARN_SERVICE ":acm-pca:::template/"
#define PARTITION_MAX 32

const struct prof_template *
prof_template_find(const char *arn)
{
	const char *p, *name;
	size_t i, n;

	if (arn == NULL || strncmp(arn, "arn:", 4) != 0)
		return NULL;
	p = arn + 4;
	for (n = 0; p[n] != '\0' && p[n] != ':'; n++)
		if (!((p[n] >= 'a' && p[n] <= 'z') ||
			(p[n] >= '0' && p[n] <= '9') || p[n] == '-'))
			return NULL;
	if (n == 0 || n > PARTITION_MAX)
		return NULL;
	if (strncmp(p + n, ARN_SERVICE, strlen(ARN_SERVICE)) != 0)
		return NULL;
	name = p + n + strlen(ARN_SERVICE);
	for (i = 0; i < N_TEMPLATES; i++)
		if (strcmp(name, templates[i].name) == 0)
			return &templates[i];
	return NULL;
}

int
prof_template_is_root(const struct prof_template *t)
{
	return t != NULL && (t->family == PROF_TF_ROOT_CA ||
				t->family == PROF_TF_BLANK_ROOT_CA);
}

int
prof_template_is_ca(const struct prof_template *t)
{
	return prof_template_is_root(t) ||
	       (t != NULL && (t->family == PROF_TF_SUBORDINATE_CA ||
				 t->family == PROF_TF_BLANK_SUBORDINATE_CA));
}

/* The table, for tests and for listing; *n receives its length. */
const struct prof_template *
prof_template_all(size_t *n)
{
	*n = N_TEMPLATES;
	return templates;
}
