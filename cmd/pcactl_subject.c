/*
 * pcactl_subject.c - "--subject CN=x,O=y,C=US" to an ACM-PCA ASN1Subject.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "pcactl.h"

static const struct {
	const char *sn;
	const char *member;
} dn_map[] = {
    {"C", "Country"},
    {"ST", "State"},
    {"L", "Locality"},
    {"O", "Organization"},
    {"OU", "OrganizationalUnit"},
    {"CN", "CommonName"},
    {"dnQualifier", "DistinguishedNameQualifier"},
    {"title", "Title"},
    {"SN", "Surname"},
    {"GN", "GivenName"},
    {"initials", "Initials"},
    {"pseudonym", "Pseudonym"},
    {"generationQualifier", "GenerationQualifier"},
    {"serialNumber", "SerialNumber"},
};

static const char *const dn_oid[] = {"2.5.4.6", "2.5.4.8", "2.5.4.7",
    "2.5.4.10", "2.5.4.11", "2.5.4.3", "2.5.4.46", "2.5.4.12", "2.5.4.4",
    "2.5.4.42", "2.5.4.43", "2.5.4.65", "2.5.4.44", "2.5.4.5"};

#define DN_NMAP (sizeof(dn_map) / sizeof(dn_map[0]))
#define DN_ATTRS_MAX 150 /* ACM-PCA's CustomAttributes maximum */
#define DN_PART_MAX 512

static int
dn_is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* A dotted OID like 2.5.4.3: digits separated by single dots. */
static int
dn_is_oid(const char *t)
{
	size_t i;

	if (!isdigit((unsigned char)t[0]))
		return 0;
	for (i = 1; t[i] != '\0'; i++)
		if (!isdigit((unsigned char)t[i]) &&
		    !(t[i] == '.' && t[i - 1] != '.' && t[i + 1] != '\0'))
			return 0;
	return strchr(t, '.') != NULL;
}

/*
 * One "TYPE=value" of --subject (unescaped, spaces around TYPE and value
 * trimmed): its index in dn_map, or DN_NMAP for a dotted OID (then left
 * in part).
 */
static pca_err
dn_attr(const char *dn, char *part, size_t idx, size_t *ti, char **val)
{
	char *eq, *t, *e;
	size_t i;

	if ((eq = strchr(part, '=')) == NULL)
		return pca_err_set(PCA_EINVAL,
		    "--subject '%s': attribute %zu "
		    "'%s' is not TYPE=value",
		    dn, idx, part);
	*eq = '\0';
	for (t = part; dn_is_space(*t); t++)
		;
	for (e = eq; e > t && dn_is_space(e[-1]); e--)
		;
	*e = '\0';
	for (*val = eq + 1; dn_is_space(**val); (*val)++)
		;
	for (e = *val + strlen(*val); e > *val && dn_is_space(e[-1]); e--)
		;
	*e = '\0';
	for (i = 0; i < DN_NMAP; i++)
		if (strcasecmp(dn_map[i].sn, t) == 0)
			break;
	if (i == DN_NMAP && !dn_is_oid(t))
		return pca_err_set(PCA_EINVAL,
		    "--subject '%s': attribute %zu "
		    "has an unknown type '%s' (known: C ST L O OU CN "
		    "dnQualifier title SN GN initials pseudonym "
		    "generationQualifier serialNumber, or a dotted OID)",
		    dn, idx, t);
	if (**val == '\0')
		return pca_err_set(PCA_EINVAL,
		    "--subject '%s': attribute %zu "
		    "'%s' has an empty value",
		    dn, idx, t);
	if (i == DN_NMAP) /* the OID, for the caller */
		memmove(part, t, strlen(t) + 1);
	*ti = i;
	return PCA_OK;
}

/*
 * "CN=x,O=y,C=US" to an ASN1Subject.  Every attribute must parse, wherever
 * it is.  A repeated attribute or a dotted OID gives CustomAttributes, in
 * the order written (ACM-PCA does not mix them with the named members).
 */
pca_err
pcactl_subject_parse(const char *dn, json_t **out)
{
	json_t *named = json_object(), *custom = json_array();
	char part[DN_PART_MAX], *val = NULL;
	const char *p = dn;
	size_t ti = 0, n, idx = 0;
	int use_custom = 0;
	pca_err err = PCA_OK;

	if (named == NULL || custom == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	while (*p != '\0' || idx == 0) {
		idx++;
		for (n = 0; *p != '\0' && *p != ','; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (n + 1 >= sizeof(part)) {
				err = pca_err_set(PCA_EINVAL,
				    "--subject: "
				    "attribute %zu is longer than %d bytes",
				    idx, DN_PART_MAX - 1);
				goto out;
			}
			part[n++] = *p;
		}
		part[n] = '\0';
		if (*p == ',' && p[1] == '\0') {
			err = pca_err_set(PCA_EINVAL,
			    "--subject '%s' ends with "
			    "a comma",
			    dn);
			goto out;
		}
		if (*p == ',')
			p++;
		if (idx > DN_ATTRS_MAX) {
			err = pca_err_set(PCA_EINVAL,
			    "--subject: more than %d "
			    "attributes",
			    DN_ATTRS_MAX);
			goto out;
		}
		if ((err = dn_attr(dn, part, idx, &ti, &val)) != PCA_OK)
			goto out;
		if (ti == DN_NMAP ||
		    json_object_get(named, dn_map[ti].member) != NULL)
			use_custom = 1;
		if ((ti < DN_NMAP &&
			json_object_set_new(named, dn_map[ti].member,
			    json_string(val)) != 0) ||
		    json_array_append_new(custom,
			json_pack("{s:s,s:s}", "ObjectIdentifier",
			    ti < DN_NMAP ? dn_oid[ti] : part, "Value", val)) !=
			0) {
			err = pca_err_set(PCA_EINVAL,
			    "--subject: attribute %zu "
			    "is not UTF-8",
			    idx);
			goto out;
		}
	}
	if (use_custom)
		*out = json_pack("{s:O}", "CustomAttributes", custom);
	else
		*out = json_incref(named);
	if (*out == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
out:
	json_decref(named);
	json_decref(custom);
	return err;
}
