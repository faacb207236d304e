/*
 * record.c - CA records (JSON in the store), ARNs, revocation configuration
 * rules (spec 5.1) and the cache of parsed issuing contexts.
 */
#include <ctype.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../hsm/hsm.h"
#include "../store/store.h"
#include "engine_int.h"

void
ca_arn_make(const struct ca_engine *e, const char *account, const char *region,
    const char *uuid, char out[CA_ARN_MAX])
{
	(void)snprintf(out, CA_ARN_MAX,
	    "arn:%s:acm-pca:%s:%s:certificate-authority/%s", e->partition,
	    region, account, uuid);
}

pca_err
ca_arn_uuid(const char *arn, char uuid[37])
{
	const char *p;
	static const char marker[] = ":certificate-authority/";

	if (arn == NULL || strncmp(arn, "arn:", 4) != 0 ||
	    (p = strstr(arn, marker)) == NULL)
		return pca_err_set(PCA_EBADARN,
		    "'%.80s' is not a certificate authority ARN",
		    arn ? arn : "");
	p += sizeof(marker) - 1;
	if (strlen(p) != 36 || !util_is_uuid(p))
		return pca_err_set(PCA_EBADARN,
		    "ARN '%.120s' does not end in a certificate authority id",
		    arn);
	memcpy(uuid, p, 37);
	return PCA_OK;
}

pca_err
ca_arn_check(const struct ca_engine *e, const struct ca_caller *c,
    const char *arn, char uuid[37])
{
	char want[CA_ARN_MAX];
	pca_err err;

	if ((err = ca_arn_uuid(arn, uuid)) != PCA_OK)
		return err;
	ca_arn_make(e, c->account, c->region, uuid, want);
	if (strcmp(want, arn) != 0)
		return pca_err_set(PCA_EBADARN,
		    "ARN '%.160s' is not in partition %s, region %s, "
		    "account %s",
		    arn, e->partition, c->region, c->account);
	return PCA_OK;
}

/* ---- revocation configuration (spec 5.1) ---- */

static int
is_bucket_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 3 || n > 63)
		return 0;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) ||
			isdigit((unsigned char)s[i]) || s[i] == '-' ||
			s[i] == '.'))
			return 0;
	return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

static pca_err
check_cname(const char *field, const char *v)
{
	const char *p;

	if (strncasecmp(v, "http://", 7) == 0 ||
	    strncasecmp(v, "https://", 8) == 0)
		return pca_err_set(PCA_EINVAL,
		    "%s must not start with http:// or https://", field);
	if (strlen(v) > 253)
		return pca_err_set(PCA_EINVAL, "%s is longer than 253", field);
	for (p = v; *p; p++)
		if (!(isalnum((unsigned char)*p) ||
			strchr("-;/?:@&=+$,%_.!~*()'", *p) != NULL))
			return pca_err_set(PCA_EINVAL,
			    "%s contains the invalid character '%c'", field,
			    *p);
	return PCA_OK;
}

static pca_err
only_enabled(const json_t *o, const char *name)
{
	if (json_object_size(o) != 1)
		return pca_err_set(PCA_EINVAL,
		    "a disabled %s must contain only Enabled:false", name);
	return PCA_OK;
}

static pca_err
crl_normalize(const json_t *in, int local, json_t **out)
{
	json_t *o;
	const json_t *v;
	const char *acl, *type, *cname;

	if (!json_is_boolean(json_object_get(in, "Enabled")))
		return pca_err_set(PCA_EINVAL,
		    "CrlConfiguration.Enabled is required");
	if (!json_is_true(json_object_get(in, "Enabled"))) {
		if (only_enabled(in, "CrlConfiguration") != PCA_OK)
			return PCA_EINVAL;
		*out = json_pack("{s:b}", "Enabled", 0);
		return *out ? PCA_OK : pca_err_set(PCA_ENOMEM, "no memory");
	}
	v = json_object_get(in, "S3BucketName");
	/* a local CRL (pcactl only): no bucket, so no S3 settings either */
	if (local && v == NULL) {
		if (json_object_get(in, "S3ObjectAcl") != NULL)
			return pca_err_set(PCA_EINVAL,
			    "CrlConfiguration."
			    "S3ObjectAcl needs an S3BucketName");
	} else if (!json_is_string(v) || !is_bucket_name(json_string_value(v)))
		return pca_err_set(PCA_EINVAL,
		    "CrlConfiguration.S3BucketName is required and must be a "
		    "valid S3 bucket name");
	cname = json_string_value(json_object_get(in, "CustomCname"));
	if (cname != NULL && *cname != '\0' &&
	    check_cname("CrlConfiguration.CustomCname", cname) != PCA_OK)
		return PCA_EINVAL;
	v = json_object_get(in, "CrlDistributionPointExtensionConfiguration");
	if (cname != NULL && *cname != '\0' &&
	    json_is_true(json_object_get(v, "OmitExtension")))
		return pca_err_set(PCA_EINVAL,
		    "CrlConfiguration: OmitExtension cannot be combined with "
		    "CustomCname");
	acl = json_string_value(json_object_get(in, "S3ObjectAcl"));
	if (acl != NULL && strcmp(acl, "PUBLIC_READ") != 0 &&
	    strcmp(acl, "BUCKET_OWNER_FULL_CONTROL") != 0)
		return pca_err_set(PCA_EINVAL,
		    "Invalid value for parameter RevocationConfiguration."
		    "CrlConfiguration.S3ObjectAcl, value: %.64s, valid values: "
		    "['PUBLIC_READ', 'BUCKET_OWNER_FULL_CONTROL']",
		    acl);
	type = json_string_value(json_object_get(in, "CrlType"));
	if (type != NULL && strcmp(type, "COMPLETE") != 0 &&
	    strcmp(type, "PARTITIONED") != 0)
		return pca_err_set(PCA_EINVAL,
		    "CrlConfiguration.CrlType must be COMPLETE or PARTITIONED");
	/*
	 * Describe echoes what was sent plus S3ObjectAcl, the one default AWS
	 * documents and returns (PUBLIC_READ; Terraform's tests read it back).
	 * ExpirationInDays and CrlType are not echoed when absent: the CRL
	 * builder uses 7 days and COMPLETE for them (README, "Describe").
	 */
	if ((o = json_deep_copy(in)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if (acl == NULL && json_object_get(in, "S3BucketName") != NULL)
		json_object_set_new(o, "S3ObjectAcl",
		    json_string("PUBLIC_READ"));
	*out = o;
	return PCA_OK;
}

static pca_err
ocsp_normalize(const json_t *in, json_t **out)
{
	const char *cname;

	if (!json_is_boolean(json_object_get(in, "Enabled")))
		return pca_err_set(PCA_EINVAL,
		    "OcspConfiguration.Enabled is required");
	if (!json_is_true(json_object_get(in, "Enabled"))) {
		if (only_enabled(in, "OcspConfiguration") != PCA_OK)
			return PCA_EINVAL;
		*out = json_pack("{s:b}", "Enabled", 0);
		return *out ? PCA_OK : pca_err_set(PCA_ENOMEM, "no memory");
	}
	cname = json_string_value(json_object_get(in, "OcspCustomCname"));
	if (cname != NULL && *cname != '\0' &&
	    check_cname("OcspConfiguration.OcspCustomCname", cname) != PCA_OK)
		return PCA_EINVAL;
	*out = json_deep_copy(in);
	return *out ? PCA_OK : pca_err_set(PCA_ENOMEM, "no memory");
}

pca_err
ca_revocation_normalize(const json_t *in, int local_crl, json_t **out)
{
	const json_t *crl = json_object_get(in, "CrlConfiguration");
	const json_t *ocsp = json_object_get(in, "OcspConfiguration");
	json_t *c = NULL, *o = NULL, *r;
	pca_err err;

	if (in != NULL && !json_is_object(in))
		return pca_err_set(PCA_EINVAL,
		    "RevocationConfiguration must be an object");
	if (crl != NULL) {
		if ((err = crl_normalize(crl, local_crl, &c)) != PCA_OK)
			return err;
	} else
		c = json_pack("{s:b}", "Enabled", 0);
	if (ocsp != NULL) {
		if ((err = ocsp_normalize(ocsp, &o)) != PCA_OK) {
			json_decref(c);
			return err;
		}
	} else
		o = json_pack("{s:b}", "Enabled", 0);
	r = json_pack("{s:o,s:o}", "CrlConfiguration", c, "OcspConfiguration",
	    o);
	if (r == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	*out = r;
	return PCA_OK;
}

/* ---- records ---- */

void
ca_rec_set_status(json_t *rec, const char *status, int64_t now)
{
	const char *old = json_string_value(json_object_get(rec, "Status"));

	if (old != NULL && strcmp(old, status) == 0)
		return;
	json_object_set_new(rec, "Status", json_string(status));
	json_object_set_new(rec, "LastStateChangeAt", json_integer(now));
}

pca_err
ca_rec_save(struct ca_engine *e, const char *uuid, json_t *rec, int create)
{
	char *s;
	pca_err err;

	if ((s = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return pca_err_set(PCA_ENOMEM, "cannot serialize CA record");
	err = store_ca_put(e->store, uuid, s, strlen(s), create);
	free(s);
	return err;
}

pca_err
ca_rec_load(struct ca_engine *e, const char *uuid, json_t **rec)
{
	char *raw = NULL;
	size_t len;
	json_error_t jerr;
	json_t *r;
	pca_err err;

	if ((err = store_ca_get(e->store, uuid, &raw, &len)) != PCA_OK) {
		if (err == PCA_ENOTFOUND)
			return pca_err_set(PCA_ENOTFOUND,
			    "certificate authority %s does not exist", uuid);
		return err;
	}
	r = json_loadb(raw, len, 0, &jerr);
	free(raw);
	if (r == NULL)
		return pca_err_set(PCA_EDB, "CA record %s is corrupt: %s", uuid,
		    jerr.text);
	*rec = r;
	return PCA_OK;
}

static const char *const describe_keys[] = {"Arn", "OwnerAccount", "CreatedAt",
    "LastStateChangeAt", "Type", "Serial", "Status", "NotBefore", "NotAfter",
    "FailureReason", "CertificateAuthorityConfiguration",
    "RevocationConfiguration", "RestorableUntil", "KeyStorageSecurityStandard",
    "UsageMode", NULL};

json_t *
ca_rec_describe(const json_t *rec)
{
	json_t *o = json_object(), *v;
	int i;

	if (o == NULL)
		return NULL;
	for (i = 0; describe_keys[i] != NULL; i++)
		if ((v = json_object_get(rec, describe_keys[i])) != NULL)
			json_object_set(o, describe_keys[i], v);
	/* rotation links (rotate.c): a member the SDKs ignore */
	if ((v = ca_rotate_describe(rec)) != NULL)
		json_object_set_new(o, "OpenPCA", v);
	return o;
}

int
ca_rec_by_created(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	json_int_t ta = json_integer_value(json_object_get(a, "CreatedAt"));
	json_int_t tb = json_integer_value(json_object_get(b, "CreatedAt"));

	if (ta != tb)
		return ta < tb ? -1 : 1;
	return strcmp(json_string_value(json_object_get(a, "Arn")) ?: "",
	    json_string_value(json_object_get(b, "Arn")) ?: "");
}

pca_err
ca_state_err(const struct ca_ctx *c, const char *op)
{
	return pca_err_set(PCA_ESTATE,
	    "%s is not allowed while certificate authority %s is %s", op,
	    c->arn, c->status);
}

void
ca_audit(struct ca_engine *e, const struct ca_caller *c, const char *op,
    const char *arn, const char *detail)
{
	char line[1024];
	uint64_t seq;
	char msg[512];

	(void)snprintf(line, sizeof(line),
	    "op=%s who=%s account=%s region=%s ca=%s %s", op,
	    c->who ? c->who : "-", c->account, c->region, arn ? arn : "-",
	    detail ? detail : "");
	(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
	if (store_audit_append(e->store, util_now(), line, &seq) != PCA_OK)
		log_warnx("audit append failed for '%s': %s", line,
		    pca_err_msg());
	/* keep the caller's error message intact */
	(void)pca_err_set(PCA_OK, "%s", msg);
}
