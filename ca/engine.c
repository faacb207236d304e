/*
 * engine.c - CA lifecycle: create (key in the token, CSR signed by it),
 * describe, list, CSR, import, update, delete, restore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../hsm/hsm.h"
#include "../store/store.h"
#include "engine_int.h"

pca_err
ca_engine_new(const struct ca_engine_conf *conf, struct hsm *hsm,
    struct store *store, struct ca_engine **out)
{
	struct ca_engine *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	e->hsm = hsm;
	e->store = store;
	(void)snprintf(e->partition, sizeof(e->partition), "%s",
	    conf->partition ? conf->partition : "aws");
	e->ocsp_url = conf->ocsp_url ? strdup(conf->ocsp_url) : NULL;
	e->crl_url_base =
	    conf->crl_url_base ? strdup(conf->crl_url_base) : NULL;
	e->key_storage = conf->key_storage ? strdup(conf->key_storage) : NULL;
	e->max_cas = conf->max_cas ? conf->max_cas : 200;
	e->idem_ttl = conf->idem_ttl ? conf->idem_ttl : 300;
	e->rotate_before_days = conf->rotate_before_days;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->mut, NULL);
	*out = e;
	return PCA_OK;
}

void
ca_engine_free(struct ca_engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->ncache; i++)
		ca_ctx_put(e, e->cache[i].ctx);
	free(e->cache);
	free(e->ocsp_url);
	free(e->crl_url_base);
	free(e->key_storage);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->mut);
	free(e);
}

void
ca_engine_hooks_set(struct ca_engine *e, const struct ca_hooks *h)
{
	e->hooks = *h;
}

/* The S3 permission probe (spec 5.1) when rev (normalized) enables a CRL. */
static pca_err
crl_probe(struct ca_engine *e, const json_t *rev)
{
	const json_t *crl = json_object_get(rev, "CrlConfiguration");

	if (e->hooks.s3_probe == NULL ||
	    !json_is_true(json_object_get(crl, "Enabled")) ||
	    json_object_get(crl, "S3BucketName") == NULL) /* local CRL */
		return PCA_OK;
	return e->hooks.s3_probe(e->hooks.arg,
	    json_string_value(json_object_get(crl, "S3BucketName")),
	    json_string_value(json_object_get(crl, "S3ObjectAcl")));
}

/* A fresh open CRL partition when the record's CRL is PARTITIONED. */
static pca_err
crl_partition_set(json_t *rec)
{
	const json_t *crl =
	    json_object_get(json_object_get(rec, "RevocationConfiguration"),
		"CrlConfiguration");
	const char *type = json_string_value(json_object_get(crl, "CrlType"));
	char part[37];
	pca_err err;

	json_object_del(rec, "_CrlPartition");
	if (!json_is_true(json_object_get(crl, "Enabled")) || type == NULL ||
	    strcmp(type, "PARTITIONED") != 0)
		return PCA_OK;
	if ((err = util_uuid(part)) != PCA_OK)
		return err;
	json_object_set_new(rec, "_CrlPartition", json_string(part));
	return PCA_OK;
}

pca_err
ca_crl_partition_roll(struct ca_engine *e, const char *uuid)
{
	json_t *rec = NULL;
	pca_err err;

	pthread_mutex_lock(&e->mut);
	if ((err = ca_rec_load(e, uuid, &rec)) != PCA_OK ||
	    json_object_get(rec, "_CrlPartition") == NULL)
		goto out; /* not partitioned (any more) */
	if ((err = crl_partition_set(rec)) != PCA_OK ||
	    (err = ca_rec_save(e, uuid, rec, 0)) != PCA_OK)
		goto out;
	ca_notify(e, CA_EV_CA_CHANGED, uuid, NULL, 0);
out:
	pthread_mutex_unlock(&e->mut);
	json_decref(rec);
	return err;
}

/* ---- create ---- */

struct count_arg {
	const char *account;
	const char *region;
	size_t n;
};

static int
count_cb(const char *id, const char *json, size_t len, void *arg)
{
	struct count_arg *a = arg;
	json_t *r = json_loadb(json, len, 0, NULL);

	(void)id;
	if (r != NULL &&
	    strcmp(json_string_value(json_object_get(r, "OwnerAccount")) ?: "",
		a->account) == 0 &&
	    strcmp(json_string_value(json_object_get(r, "_Region")) ?: "",
		a->region) == 0)
		a->n++;
	json_decref(r);
	return 0;
}

static pca_err
create_check(const json_t *req, unsigned flags, enum pca_keyalg *ka,
    enum pca_sigalg *sa, json_t **revocation)
{
	const json_t *cfg =
	    json_object_get(req, "CertificateAuthorityConfiguration");
	const char *type =
	    json_string_value(json_object_get(req, "CertificateAuthorityType"));
	const char *k = json_string_value(json_object_get(cfg, "KeyAlgorithm"));
	const char *s =
	    json_string_value(json_object_get(cfg, "SigningAlgorithm"));
	X509_NAME *name = NULL;
	pca_err err;

	if (type == NULL ||
	    (strcmp(type, "ROOT") && strcmp(type, "SUBORDINATE")))
		return pca_err_set(PCA_EINVAL,
		    "CertificateAuthorityType must be ROOT or SUBORDINATE");
	if ((*ka = pca_keyalg_from_name(k)) == PCA_KEY_NONE)
		return pca_err_set(PCA_EINVAL,
		    "KeyAlgorithm %.32s is not supported by this appliance",
		    k ? k : "(missing)");
	if ((*sa = pca_sigalg_from_name(s)) == PCA_SIG_NONE)
		return pca_err_set(PCA_EINVAL,
		    "SigningAlgorithm %.32s is not supported by this appliance",
		    s ? s : "(missing)");
	if (!pca_sigalg_fits_key(*sa, *ka))
		return pca_err_set(PCA_EINVAL,
		    "SigningAlgorithm %s cannot be used with KeyAlgorithm %s",
		    s, k);
	if ((err = prof_subject_from_json(json_object_get(cfg, "Subject"),
		 &name)) != PCA_OK)
		return err;
	X509_NAME_free(name);
	return ca_revocation_normalize(
	    json_object_get(req, "RevocationConfiguration"),
	    (flags & CA_CREATE_LOCAL_CRL) != 0, revocation);
}

/* Builds the CA's CSR with the token key; *pem caller frees. */
static pca_err
create_csr(struct ca_engine *e, const json_t *cfg, const char *label,
    const uint8_t *spki, size_t spki_len, enum pca_sigalg sa, char **pem)
{
	uint8_t *cri = NULL, *der = NULL;
	size_t cri_len, der_len, sig_len;
	uint8_t sig[LIM_SIG];
	struct hsm_key key = {label, spki, spki_len};
	pca_err err;

	if ((err = prof_csr_info_build(json_object_get(cfg, "Subject"),
		 json_object_get(cfg, "CsrExtensions"), spki, spki_len, &cri,
		 &cri_len)) != PCA_OK)
		return err;
	if ((err = hsm_sign(e->hsm, &key, sa, cri, cri_len, sig, &sig_len)) !=
	    PCA_OK)
		goto out;
	if ((err = x509_cert_assemble(cri, cri_len, sa, sig, sig_len, &der,
		 &der_len)) != PCA_OK)
		goto out;
	err = util_pem_encode("CERTIFICATE REQUEST", der, der_len, pem);
out:
	free(cri);
	free(der);
	return err;
}

/*
 * The KeyStorageSecurityStandard a new CA gets: the one asked for when the
 * token's stated certification meets it (level 3 meets level 2; CCPC only
 * itself), else the stated one; none when nothing is stated.
 */
static pca_err
create_kss(const struct ca_engine *e, const json_t *req, const char **out)
{
	const char *want = json_string_value(
	    json_object_get(req, "KeyStorageSecurityStandard"));
	const char *have = e->key_storage;

	*out = have;
	if (want == NULL)
		return PCA_OK;
	if (have != NULL &&
	    (strcmp(want, have) == 0 ||
		(strcmp(want, "FIPS_140_2_LEVEL_2_OR_HIGHER") == 0 &&
		    strcmp(have, "FIPS_140_2_LEVEL_3_OR_HIGHER") == 0))) {
		*out = want;
		return PCA_OK;
	}
	return pca_err_set(PCA_EINVAL,
	    "KeyStorageSecurityStandard %.40s is not met by this appliance's "
	    "token (stated certification: %s)",
	    want, have ? have : "none; see [hsm] key_storage_standard");
}

static json_t *
create_record(struct ca_engine *e, const struct ca_caller *c, const json_t *req,
    const char *uuid, json_t *revocation, const char *kss)
{
	char arn[CA_ARN_MAX];
	int64_t now = util_now();
	const char *um = json_string_value(json_object_get(req, "UsageMode"));
	json_t *tags = json_object_get(req, "Tags"), *rec;

	ca_arn_make(e, c->account, c->region, uuid, arn);
	rec = json_pack("{s:i,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:O,s:o,s:s,"
			"s:o,s:s}",
	    "_v", 1, "Arn", arn, "OwnerAccount", c->account, "_Region",
	    c->region, "CreatedAt", (json_int_t)now, "LastStateChangeAt",
	    (json_int_t)now, "Type",
	    json_string_value(json_object_get(req, "CertificateAuthorityType")),
	    "Status", "CREATING", "CertificateAuthorityConfiguration",
	    json_object_get(req, "CertificateAuthorityConfiguration"),
	    "RevocationConfiguration", revocation, "UsageMode",
	    um ? um : "GENERAL_PURPOSE", "Tags",
	    tags ? json_incref(tags) : json_array(), "_CreatedBy",
	    c->who ? c->who : "-");
	if (rec != NULL && kss != NULL)
		json_object_set_new(rec, "KeyStorageSecurityStandard",
		    json_string(kss));
	return rec;
}

static pca_err
create_key(struct ca_engine *e, json_t *rec, const char *uuid,
    enum pca_keyalg ka, enum pca_sigalg sa)
{
	char label[CA_LABEL_MAX];
	uint8_t id[16], *spki = NULL;
	size_t idlen, spki_len;
	char *b64 = NULL, *csr = NULL;
	pca_err err;

	char hex[33];
	size_t i, j;

	(void)snprintf(label, sizeof(label), "pca-%s", uuid);
	for (i = j = 0; uuid[i] != '\0' && j < sizeof(hex) - 1; i++)
		if (uuid[i] != '-')
			hex[j++] = uuid[i];
	hex[j] = '\0';
	/* CKA_ID: the 16 bytes of the CA id */
	if ((err = util_unhex(hex, id, sizeof(id), &idlen)) != PCA_OK)
		return err;
	if ((err = hsm_key_generate(e->hsm, label, id, idlen, ka, &spki,
		 &spki_len)) != PCA_OK)
		return err;
	err = create_csr(e,
	    json_object_get(rec, "CertificateAuthorityConfiguration"), label,
	    spki, spki_len, sa, &csr);
	if (err == PCA_OK)
		err = util_b64_encode(spki, spki_len, &b64);
	if (err == PCA_OK) {
		json_object_set_new(rec, "_KeyLabel", json_string(label));
		json_object_set_new(rec, "_Spki", json_string(b64));
		json_object_set_new(rec, "_Csr", json_string(csr));
		ca_rec_set_status(rec, "PENDING_CERTIFICATE", util_now());
	} else {
		pca_err keep = err;
		char msg[512];
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		if (hsm_key_destroy(e->hsm, label) != PCA_OK)
			log_warnx("could not destroy key %s after a failed "
				  "create: %s",
			    label, pca_err_msg());
		err = pca_err_set(keep, "%s", msg);
	}
	free(spki);
	free(b64);
	free(csr);
	return err;
}

static pca_err
idem_lookup(struct ca_engine *e, const char *key, char **result)
{
	pca_err err = store_idem_get(e->store, key, util_now(), result);

	if (err == PCA_ENOTFOUND)
		pca_err_clear();
	return err;
}

static void
idem_remember(struct ca_engine *e, const char *key, const char *result)
{
	int64_t now = util_now();

	if (store_idem_put(e->store, key, now + e->idem_ttl, result, now) !=
	    PCA_OK)
		log_warnx("idempotency token not recorded: %s", pca_err_msg());
}

pca_err
ca_create(struct ca_engine *e, const struct ca_caller *c, const json_t *req,
    char **arn)
{
	return ca_create_ex(e, c, req, 0, arn);
}

pca_err
ca_create_ex(struct ca_engine *e, const struct ca_caller *c, const json_t *req,
    unsigned flags, char **arn)
{
	enum pca_keyalg ka = PCA_KEY_NONE;
	enum pca_sigalg sa = PCA_SIG_NONE;
	json_t *rev = NULL, *rec = NULL;
	struct count_arg cnt = {c->account, c->region, 0};
	const char *tok =
	    json_string_value(json_object_get(req, "IdempotencyToken"));
	char uuid[37], idem[512], *prev = NULL;
	const char *kss;
	pca_err err;

	if ((err = create_kss(e, req, &kss)) != PCA_OK ||
	    (err = create_check(req, flags, &ka, &sa, &rev)) != PCA_OK)
		return err;
	if ((err = crl_probe(e, rev)) != PCA_OK) {
		json_decref(rev);
		return err;
	}
	(void)snprintf(idem, sizeof(idem), "create|%s|%s|%s", c->account,
	    c->region, tok ? tok : "");
	pthread_mutex_lock(&e->mut);
	if (tok != NULL &&
	    (err = idem_lookup(e, idem, &prev)) != PCA_ENOTFOUND) {
		if (err == PCA_OK)
			*arn = prev;
		goto out;
	}
	if ((err = store_ca_foreach(e->store, count_cb, &cnt)) != PCA_OK)
		goto out;
	if (cnt.n >= e->max_cas) {
		err = pca_err_set(PCA_ELIMIT,
		    "account %s already has %zu certificate authorities in %s "
		    "(limit %u)",
		    c->account, cnt.n, c->region, e->max_cas);
		goto out;
	}
	if ((err = util_uuid(uuid)) != PCA_OK)
		goto out;
	if ((rec = create_record(e, c, req, uuid, rev, kss)) == NULL) {
		rev = NULL;
		err = pca_err_set(PCA_ENOMEM, "cannot build the CA record");
		goto out;
	}
	rev = NULL; /* stolen by the record */
	if ((err = crl_partition_set(rec)) != PCA_OK)
		goto out;
	if ((err = create_key(e, rec, uuid, ka, sa)) != PCA_OK)
		goto out;
	if ((err = ca_rec_save(e, uuid, rec, 1)) != PCA_OK) {
		const char *label =
		    json_string_value(json_object_get(rec, "_KeyLabel"));
		char msg[512];
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		if (hsm_key_destroy(e->hsm, label) != PCA_OK)
			log_warnx("could not destroy key %s after a failed "
				  "create: %s",
			    label, pca_err_msg());
		(void)pca_err_set(err, "%s", msg);
		goto out;
	}
	if ((*arn = strdup(json_string_value(json_object_get(rec, "Arn")))) ==
	    NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if (tok != NULL)
		idem_remember(e, idem, *arn);
	ca_audit(e, c, "CreateCertificateAuthority", *arn, "result=ok");
	ca_notify(e, CA_EV_CA_CHANGED, uuid, NULL, 0);
	log_info("created CA %s (%s)", *arn, pca_keyalg_name(ka));
out:
	pthread_mutex_unlock(&e->mut);
	json_decref(rev);
	json_decref(rec);
	return err;
}

/* ---- read-only operations ---- */

static pca_err
get_ctx(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    struct ca_ctx **ctx)
{
	char uuid[37];
	pca_err err;

	if ((err = ca_arn_check(e, c, arn, uuid)) != PCA_OK)
		return err;
	return ca_ctx_get(e, uuid, ctx);
}

pca_err
ca_describe(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    json_t **out)
{
	struct ca_ctx *ctx;
	pca_err err;

	if ((err = get_ctx(e, c, arn, &ctx)) != PCA_OK)
		return err;
	*out = ca_rec_describe(ctx->rec);
	ca_ctx_put(e, ctx);
	return *out ? PCA_OK : pca_err_set(PCA_ENOMEM, "no memory");
}

struct list_arg {
	struct ca_engine *e;
	const struct ca_caller *c;
	json_t *arr;
};

static int
list_cb(const char *id, const char *json, size_t len, void *arg)
{
	struct list_arg *a = arg;
	json_t *r = json_loadb(json, len, 0, NULL);

	(void)id;
	if (r != NULL &&
	    strcmp(json_string_value(json_object_get(r, "OwnerAccount")) ?: "",
		a->c->account) == 0 &&
	    strcmp(json_string_value(json_object_get(r, "_Region")) ?: "",
		a->c->region) == 0)
		json_array_append_new(a->arr,
		    json_string(json_string_value(json_object_get(r, "Arn"))));
	json_decref(r);
	return 0;
}

pca_err
ca_list(struct ca_engine *e, const struct ca_caller *c, json_t **out)
{
	struct list_arg a = {e, c, json_array()};
	json_t **v = NULL, *res = json_array(), *d;
	size_t i, n = 0;
	pca_err err;

	if (a.arr == NULL || res == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((err = store_ca_foreach(e->store, list_cb, &a)) != PCA_OK)
		goto out;
	v = calloc(json_array_size(a.arr) + 1, sizeof(*v));
	for (i = 0; v != NULL && i < json_array_size(a.arr); i++) {
		/* describe applies the lazy transitions; purged CAs vanish */
		if (ca_describe(e, c,
			json_string_value(json_array_get(a.arr, i)),
			&d) == PCA_OK)
			v[n++] = d;
	}
	pca_err_clear();
	if (n > 1)
		qsort(v, n, sizeof(*v), ca_rec_by_created);
	for (i = 0; i < n; i++)
		json_array_append_new(res, v[i]);
	*out = res;
	res = NULL;
out:
	free(v);
	json_decref(a.arr);
	json_decref(res);
	return err;
}

pca_err
ca_csr_get(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    char **pem)
{
	struct ca_ctx *ctx;
	const char *csr;
	pca_err err;

	if ((err = get_ctx(e, c, arn, &ctx)) != PCA_OK)
		return err;
	if (strcmp(ctx->status, "CREATING") == 0)
		err = pca_err_set(PCA_EINPROGRESS,
		    "the CSR of %s is not ready yet", arn);
	else if (strcmp(ctx->status, "DELETED") == 0 ||
		 strcmp(ctx->status, "FAILED") == 0)
		err = ca_state_err(ctx, "GetCertificateAuthorityCsr");
	else if ((csr = json_string_value(json_object_get(ctx->rec, "_Csr"))) ==
		 NULL)
		err = pca_err_set(PCA_EDB, "CA %s has no stored CSR", arn);
	else if ((*pem = strdup(csr)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	ca_ctx_put(e, ctx);
	return err;
}

/* ---- mutations ---- */

/*
 * Loads the record of arn for a read-modify-write; the caller holds
 * e->mut.  Applies lazy transitions first through ca_ctx_get.
 */
pca_err
ca_rec_begin(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    char uuid[37], json_t **rec)
{
	struct ca_ctx *ctx;
	pca_err err;

	if ((err = ca_arn_check(e, c, arn, uuid)) != PCA_OK)
		return err;
	if ((err = ca_ctx_get(e, uuid, &ctx)) != PCA_OK)
		return err;
	ca_ctx_put(e, ctx);
	return ca_rec_load(e, uuid, rec);
}

int
ca_rec_status_in(const json_t *rec, const char *const *list)
{
	const char *st = json_string_value(json_object_get(rec, "Status"));
	int i;

	for (i = 0; st != NULL && list[i] != NULL; i++)
		if (strcmp(st, list[i]) == 0)
			return 1;
	return 0;
}

pca_err
ca_rec_state_err(const json_t *rec, const char *op)
{
	return pca_err_set(PCA_ESTATE,
	    "%s is not allowed while certificate authority %s is %s", op,
	    json_string_value(json_object_get(rec, "Arn")),
	    json_string_value(json_object_get(rec, "Status")));
}

static pca_err
import_apply(json_t *rec, const struct prof_import *imp)
{
	char *cert = NULL, *chain = NULL, serial[3 * LIM_SERIAL_BYTES + 4];
	const char *st = json_string_value(json_object_get(rec, "Status"));
	pca_err err;

	if ((err = util_b64_encode(imp->cert_der, imp->cert_len, &cert)) !=
	    PCA_OK)
		return err;
	if (imp->chain_der != NULL && (err = util_b64_encode(imp->chain_der,
					   imp->chain_len, &chain)) != PCA_OK) {
		free(cert);
		return err;
	}
	util_hex(imp->serial, imp->serial_len, serial, sizeof(serial), 1);
	json_object_set_new(rec, "_Cert", json_string(cert));
	if (chain != NULL)
		json_object_set_new(rec, "_Chain", json_string(chain));
	else
		json_object_del(rec, "_Chain");
	json_object_set_new(rec, "Serial", json_string(serial));
	json_object_set_new(rec, "NotBefore",
	    json_integer((json_int_t)imp->not_before));
	json_object_set_new(rec, "NotAfter",
	    json_integer((json_int_t)imp->not_after));
	/* a DISABLED CA stays DISABLED (spec 2.4.4 step 7) */
	if (strcmp(st, "DISABLED") != 0)
		ca_rec_set_status(rec, "ACTIVE", util_now());
	free(cert);
	free(chain);
	return PCA_OK;
}

/*
 * A renewal (a certificate already installed) keeps the subject byte for
 * byte: the certificates, CRLs and OCSP responses already out name it as
 * their issuer.  A new name means a new CA (OpenPCA.RotateCertificate-
 * Authority).  [appliance]
 */
static pca_err
import_same_subject(const json_t *rec, const struct prof_import *imp)
{
	const char *b64 = json_string_value(json_object_get(rec, "_Cert"));
	const unsigned char *p;
	uint8_t *old = NULL;
	size_t old_len = 0;
	X509 *a = NULL, *b = NULL;
	const uint8_t *da = NULL, *db = NULL;
	size_t la = 0, lb = 0;
	pca_err err = PCA_OK;

	if (b64 == NULL)
		return PCA_OK;
	if ((err = util_b64_decode(b64, strlen(b64), LIM_CERT, &old,
		 &old_len)) != PCA_OK)
		return err;
	p = old;
	a = d2i_X509(NULL, &p, (long)old_len);
	p = imp->cert_der;
	b = d2i_X509(NULL, &p, (long)imp->cert_len);
	if (a == NULL || b == NULL ||
	    X509_NAME_get0_der(X509_get_subject_name(a), &da, &la) != 1 ||
	    X509_NAME_get0_der(X509_get_subject_name(b), &db, &lb) != 1)
		err = pca_err_set(PCA_EBADCERT, "cannot read the subjects");
	else if (la != lb || memcmp(da, db, la) != 0)
		err = pca_err_set(PCA_EMISMATCH,
		    "the new certificate's subject differs from the installed "
		    "certificate's: a renewal keeps the subject (rotate the CA "
		    "for a new one)");
	X509_free(a);
	X509_free(b);
	free(old);
	return err;
}

pca_err
ca_import_cert(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    const uint8_t *cert, size_t cert_len, const uint8_t *chain,
    size_t chain_len)
{
	static const char *const ok[] = {"PENDING_CERTIFICATE", "ACTIVE",
	    "DISABLED", "EXPIRED", NULL};
	struct prof_import *imp = NULL;
	uint8_t *spki = NULL;
	size_t spki_len;
	const char *type, *b64;
	json_t *rec = NULL;
	char uuid[37];
	pca_err err;

	pthread_mutex_lock(&e->mut);
	if ((err = ca_rec_begin(e, c, arn, uuid, &rec)) != PCA_OK)
		goto out;
	if (!ca_rec_status_in(rec, ok)) {
		err = ca_rec_state_err(rec,
		    "ImportCertificateAuthorityCertificate");
		goto out;
	}
	type = json_string_value(json_object_get(rec, "Type"));
	b64 = json_string_value(json_object_get(rec, "_Spki"));
	if ((err = util_b64_decode(b64, strlen(b64), 4096, &spki, &spki_len)) !=
	    PCA_OK)
		goto out;
	if ((err = prof_import_check(
		 strcmp(type, "ROOT") == 0 ? PROF_CA_ROOT : PROF_CA_SUBORDINATE,
		 spki, spki_len, cert, cert_len, chain, chain_len, &imp)) !=
	    PCA_OK)
		goto out;
	if (imp->not_after <= util_now()) {
		err = pca_err_set(PCA_EBADCERT,
		    "the certificate has already expired");
		goto out;
	}
	if ((err = import_same_subject(rec, imp)) != PCA_OK ||
	    (err = import_apply(rec, imp)) != PCA_OK ||
	    (err = ca_rec_save(e, uuid, rec, 0)) != PCA_OK)
		goto out;
	ca_audit(e, c, "ImportCertificateAuthorityCertificate", arn,
	    "result=ok");
	ca_notify(e, CA_EV_CA_CHANGED, uuid, NULL, 0);
	log_info("CA %s certificate imported", arn);
out:
	pthread_mutex_unlock(&e->mut);
	if (err == PCA_OK)
		ca_rotate_imported(e, uuid);
	prof_import_free(imp);
	free(spki);
	json_decref(rec);
	return err;
}

pca_err
ca_update(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    const char *status, const json_t *revocation)
{
	static const char *const ok[] = {"ACTIVE", "DISABLED", NULL};
	json_t *rec = NULL, *rev = NULL;
	char uuid[37];
	pca_err err;

	if (status != NULL && strcmp(status, "ACTIVE") != 0 &&
	    strcmp(status, "DISABLED") != 0)
		return pca_err_set(PCA_EINVAL,
		    "Status may only be ACTIVE or DISABLED, not %.32s", status);
	if (revocation != NULL &&
	    (err = ca_revocation_normalize(revocation, 0, &rev)) != PCA_OK)
		return err;
	if (rev != NULL && (err = crl_probe(e, rev)) != PCA_OK) {
		json_decref(rev);
		return err;
	}
	pthread_mutex_lock(&e->mut);
	if ((err = ca_rec_begin(e, c, arn, uuid, &rec)) != PCA_OK)
		goto out;
	if (!ca_rec_status_in(rec, ok)) {
		err = pca_err_set(PCA_ESTATE,
		    "The certificate authority must be in the ACTIVE or "
		    "DISABLED state to be updated (%s is %s)",
		    arn, json_string_value(json_object_get(rec, "Status")));
		goto out;
	}
	if (status != NULL)
		ca_rec_set_status(rec, status, util_now());
	if (rev != NULL) {
		json_object_set(rec, "RevocationConfiguration", rev);
		if ((err = crl_partition_set(rec)) != PCA_OK)
			goto out;
	}
	if ((err = ca_rec_save(e, uuid, rec, 0)) != PCA_OK)
		goto out;
	ca_audit(e, c, "UpdateCertificateAuthority", arn,
	    status ? (strcmp(status, "ACTIVE") ? "status=DISABLED"
					       : "status=ACTIVE")
		   : "revocation=updated");
	ca_notify(e, CA_EV_CA_CHANGED, uuid, NULL, 0);
out:
	pthread_mutex_unlock(&e->mut);
	json_decref(rec);
	json_decref(rev);
	return err;
}

pca_err
ca_delete(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    int days)
{
	static const char *const ok[] = {"CREATING", "PENDING_CERTIFICATE",
	    "DISABLED", "EXPIRED", "FAILED", NULL};
	static const char *const window[] = {"PENDING_CERTIFICATE", "DISABLED",
	    "EXPIRED", NULL};
	json_t *rec = NULL;
	char uuid[37], detail[64];
	int64_t now = util_now();
	const char *st;
	pca_err err;

	if (days == 0)
		days = 30;
	if (days < 7 || days > 30)
		return pca_err_set(PCA_EINVAL,
		    "PermanentDeletionTimeInDays must be 7..30");
	pthread_mutex_lock(&e->mut);
	if ((err = ca_rec_begin(e, c, arn, uuid, &rec)) != PCA_OK)
		goto out;
	if (!ca_rec_status_in(rec, ok)) {
		err = ca_rec_state_err(rec, "DeleteCertificateAuthority");
		goto out;
	}
	st = json_string_value(json_object_get(rec, "Status"));
	if (ca_rec_status_in(rec, window)) {
		json_object_set_new(rec, "_PreDeletionStatus", json_string(st));
		json_object_set_new(rec, "RestorableUntil",
		    json_integer((json_int_t)(now + (int64_t)days * 86400)));
	}
	ca_rec_set_status(rec, "DELETED", now);
	if ((err = ca_rec_save(e, uuid, rec, 0)) != PCA_OK)
		goto out;
	(void)snprintf(detail, sizeof(detail), "days=%d", days);
	ca_audit(e, c, "DeleteCertificateAuthority", arn, detail);
	ca_notify(e, CA_EV_CA_CHANGED, uuid, NULL, 0);
out:
	pthread_mutex_unlock(&e->mut);
	json_decref(rec);
	return err;
}

pca_err
ca_restore(struct ca_engine *e, const struct ca_caller *c, const char *arn)
{
	static const char *const ok[] = {"DELETED", NULL};
	json_t *rec = NULL;
	const char *prev;
	char uuid[37];
	pca_err err;

	pthread_mutex_lock(&e->mut);
	if ((err = ca_rec_begin(e, c, arn, uuid, &rec)) != PCA_OK)
		goto out;
	prev = json_string_value(json_object_get(rec, "_PreDeletionStatus"));
	if (!ca_rec_status_in(rec, ok) || prev == NULL ||
	    json_integer_value(json_object_get(rec, "RestorableUntil")) <=
		util_now()) {
		err = ca_rec_state_err(rec, "RestoreCertificateAuthority");
		goto out;
	}
	ca_rec_set_status(rec, prev, util_now());
	json_object_del(rec, "RestorableUntil");
	json_object_del(rec, "_PreDeletionStatus");
	if ((err = ca_rec_save(e, uuid, rec, 0)) != PCA_OK)
		goto out;
	ca_audit(e, c, "RestoreCertificateAuthority", arn, "result=ok");
	ca_notify(e, CA_EV_CA_CHANGED, uuid, NULL, 0);
out:
	pthread_mutex_unlock(&e->mut);
	json_decref(rec);
	return err;
}
