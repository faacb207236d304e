/*
 * rotate.c - CA key rotation (OpenPCA.RotateCertificateAuthority, pcactl
 * ca rotate) and its maintenance: scheduled rotation (rotate_before_days)
 * and the retirement of a rotated CA once its last certificate expired.
 *
 * A rotation makes a successor CA with a new key in the token and the same
 * subject, algorithms, revocation configuration, tags, resource policy and
 * permissions; its policy bindings follow (ca_ctx_policy_uuid).  The
 * successor's certificate comes from:
 *   - a root: itself (RootCACertificate/V1), plus two link certificates,
 *     the new key certified by the old one and the old key by the new one,
 *     recorded as issuances of their signers, kept in the store as the
 *     objects rotation/<old id>/{new-signed-by-old,old-signed-by-new}.crt
 *     (served over HTTP, published to the CRL bucket);
 *   - a subordinate whose parent is on the appliance: that parent (or the
 *     parent's own successor), same pathLen;
 *   - a subordinate under an external parent: nobody yet; the successor
 *     waits in PENDING_CERTIFICATE and takes over when its certificate is
 *     imported (ca_rotate_imported).
 * Then the old CA refuses to issue (issue.c names the successor) but keeps
 * its CRLs and OCSP until its last certificate expires; the maintenance
 * pass then disables it.
 *
 * Record members (all internal, shown under "OpenPCA" by describe):
 * _SuccessorArn, _PendingSuccessorArn, _PredecessorArn, _RotatedAt,
 * _RetiredAt, _LinkCertificates, _PolicyUuid, _RotateBeforeDays.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../store/store.h"
#include "engine_int.h"

#define ROT_HOPS_MAX 16 /* successor links followed at most */
#define ROT_LINK_TEMPLATE "OpenPCA/RotationLink"

/* Link certificates: a CA certificate without pathLen, AKI/SKI, CDP/AIA. */
static const struct prof_template link_tmpl = {ROT_LINK_TEMPLATE,
    PROF_TF_SUBORDINATE_CA, 0, 0, -1};
/* A successor of a subordinate without pathLen. */
static const struct prof_template sub_tmpl = {"OpenPCA/SubordinateCA",
    PROF_TF_SUBORDINATE_CA, 0, 0, -1};

/* One rotation at a time in this process (scheduled or asked for). */
static pthread_mutex_t rot_mu = PTHREAD_MUTEX_INITIALIZER;

struct rot {
	struct ca_engine *e;
	struct ca_caller who; /* the caller, scoped to the old CA */
	char old_uuid[37];
	char old_arn[CA_ARN_MAX];
	json_t *old; /* the old CA's record (a copy) */
	char *new_arn;
	char new_uuid[37];
	char *new_csr;  /* the successor's CSR, PEM */
	int64_t new_na; /* the successor certificate's notAfter */
	int pending;    /* external parent: waits for import */
	json_t *links;  /* link certificate paths, or NULL */
};

static void
rot_clear(struct rot *r)
{
	json_decref(r->old);
	free(r->new_arn);
	free(r->new_csr);
	json_decref(r->links);
}

const char *
ca_ctx_policy_uuid(const struct ca_ctx *c)
{
	const char *p =
	    json_string_value(json_object_get(c->rec, "_PolicyUuid"));

	return p != NULL ? p : c->uuid;
}

json_t *
ca_rotate_describe(const json_t *rec)
{
	static const char *const keys[][2] = {
	    {"_SuccessorArn", "SuccessorArn"},
	    {"_PendingSuccessorArn", "PendingSuccessorArn"},
	    {"_PredecessorArn", "PredecessorArn"},
	    {"_RotatedAt", "RotatedAt"},
	    {"_RetiredAt", "RetiredAt"},
	    {"_LinkCertificates", "LinkCertificates"},
	    {"_RotateBeforeDays", "RotateBeforeDays"},
	};
	json_t *o = NULL, *v;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if ((v = json_object_get(rec, keys[i][0])) == NULL)
			continue;
		if (o == NULL && (o = json_object()) == NULL)
			return NULL;
		json_object_set(o, keys[i][1], v);
	}
	return o;
}

static int64_t
rec_int(const json_t *rec, const char *k)
{
	return (int64_t)json_integer_value(json_object_get(rec, k));
}

static const char *
rec_str(const json_t *rec, const char *k)
{
	return json_string_value(json_object_get(rec, k));
}

/* The caller that owns rec's CA, as who. */
static struct ca_caller
owner_of(const json_t *rec, const char *who)
{
	struct ca_caller c = {rec_str(rec, "OwnerAccount"),
	    rec_str(rec, "_Region"), who};

	return c;
}

/* ---- the successor ---- */

static pca_err
rot_create(struct rot *r)
{
	static const char *const copied[] = {"RevocationConfiguration",
	    "UsageMode", "KeyStorageSecurityStandard", NULL};
	const json_t *tags = json_object_get(r->old, "Tags");
	json_t *req;
	size_t i;
	pca_err err;

	req = json_pack("{s:O,s:s}", "CertificateAuthorityConfiguration",
	    json_object_get(r->old, "CertificateAuthorityConfiguration"),
	    "CertificateAuthorityType", rec_str(r->old, "Type"));
	if (req == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (i = 0; copied[i] != NULL; i++)
		if (json_object_get(r->old, copied[i]) != NULL)
			json_object_set(req, copied[i],
			    json_object_get(r->old, copied[i]));
	if (json_array_size(tags) > 0)
		json_object_set(req, "Tags", (json_t *)tags);
	err = ca_create(r->e, &r->who, req, &r->new_arn);
	json_decref(req);
	if (err != PCA_OK)
		return err;
	if ((err = ca_arn_uuid(r->new_arn, r->new_uuid)) != PCA_OK)
		return err;
	return ca_csr_get(r->e, &r->who, r->new_arn, &r->new_csr);
}

/* notAfter for the successor: the old certificate's span from now. */
static int64_t
rot_not_after(const struct rot *r, int days)
{
	int64_t now = util_now();
	int64_t span =
	    rec_int(r->old, "NotAfter") - rec_int(r->old, "NotBefore");

	if (days > 0)
		return now + (int64_t)days * 86400;
	return now + (span > 86400 ? span : 86400);
}

static pca_err
rot_import(struct rot *r, const uint8_t *pem, size_t len, const char *chain)
{
	return ca_import_cert(r->e, &r->who, r->new_arn, pem, len,
	    (const uint8_t *)chain, chain ? strlen(chain) : 0);
}

/* A root: its own RootCACertificate/V1. */
static pca_err
rot_sign_root(struct rot *r, int days)
{
	const json_t *cfg =
	    json_object_get(r->old, "CertificateAuthorityConfiguration");
	char tmpl[128];
	char *cert_arn = NULL, *pem = NULL, *chain = NULL;
	struct ca_issue_req q;
	pca_err err;

	(void)snprintf(tmpl, sizeof(tmpl),
	    "arn:%s:acm-pca:::template/RootCACertificate/V1", r->e->partition);
	memset(&q, 0, sizeof(q));
	q.ca_arn = r->new_arn;
	q.csr = (const uint8_t *)r->new_csr;
	q.csr_len = strlen(r->new_csr);
	q.signing_algorithm = rec_str(cfg, "SigningAlgorithm");
	q.template_arn = tmpl;
	q.validity_type = "ABSOLUTE";
	q.validity_value = r->new_na = rot_not_after(r, days);
	if ((err = ca_issue(r->e, &r->who, &q, &cert_arn)) == PCA_OK &&
	    (err = ca_cert_get(r->e, &r->who, r->new_arn, cert_arn, &pem,
		 &chain)) == PCA_OK)
		err = rot_import(r, (const uint8_t *)pem, strlen(pem), NULL);
	free(cert_arn);
	free(pem);
	free(chain);
	return err;
}

/* True when the CA ctx signed x (same name bytes, signature verifies). */
static int
signed_by(const struct ca_ctx *c, X509 *x)
{
	const uint8_t *der = NULL, *p = c->spki;
	size_t len = 0;
	EVP_PKEY *k;
	int ok;

	if (c->cert_der == NULL || c->subject_der == NULL ||
	    X509_NAME_get0_der(X509_get_issuer_name(x), &der, &len) != 1 ||
	    len != c->subject_len || memcmp(der, c->subject_der, len) != 0)
		return 0;
	if ((k = d2i_PUBKEY(NULL, &p, (long)c->spki_len)) == NULL)
		return 0;
	ok = X509_verify(x, k) == 1;
	EVP_PKEY_free(k);
	return ok;
}

/*
 * The CA on the appliance that signed the old CA's certificate, followed
 * along its own successors; *uuid empty when there is none here.
 */
static pca_err
rot_parent(struct rot *r, const struct ca_ctx *old, char uuid[37])
{
	char(*ids)[37] = NULL;
	const unsigned char *p = old->cert_der;
	struct ca_ctx *c;
	const char *succ;
	X509 *x;
	size_t i, n = 0;
	int hops;
	pca_err err;

	uuid[0] = '\0';
	if ((x = d2i_X509(NULL, &p, (long)old->cert_len)) == NULL)
		return pca_err_set(PCA_EDB,
		    "the certificate of %s is unreadable", old->arn);
	if ((err = ca_info_ids(r->e, &ids, &n)) != PCA_OK)
		goto out;
	for (i = 0; i < n && uuid[0] == '\0'; i++) {
		if (strcmp(ids[i], old->uuid) == 0 ||
		    ca_ctx_get(r->e, ids[i], &c) != PCA_OK)
			continue;
		if (signed_by(c, x))
			memcpy(uuid, c->uuid, 37);
		ca_ctx_put(r->e, c);
	}
	pca_err_clear();
	/* a parent rotated before its child: its successor signs */
	for (hops = 0; uuid[0] != '\0' && hops < ROT_HOPS_MAX; hops++) {
		if ((err = ca_ctx_get(r->e, uuid, &c)) != PCA_OK)
			goto out;
		succ = rec_str(c->rec, "_SuccessorArn");
		if (succ == NULL || ca_arn_uuid(succ, uuid) != PCA_OK)
			hops = ROT_HOPS_MAX;
		ca_ctx_put(r->e, c);
	}
out:
	X509_free(x);
	free(ids);
	return err;
}

static pca_err
join(const char *a, const char *b, char **out)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;

	if ((*out = malloc(la + lb + 1)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	memcpy(*out, a, la);
	if (lb)
		memcpy(*out + la, b, lb);
	(*out)[la + lb] = '\0';
	return PCA_OK;
}

/* The parent pc signs the successor with the old certificate's pathLen. */
static pca_err
rot_sign_by(struct rot *r, struct ca_ctx *pc, int pathlen, int days)
{
	struct ca_caller pw = owner_of(pc->rec, r->who.who);
	const json_t *cfg =
	    json_object_get(pc->rec, "CertificateAuthorityConfiguration");
	char tmpl[160];
	char *cert_arn = NULL, *pem = NULL, *chain = NULL, *ppem = NULL,
	     *pchain = NULL, *full = NULL;
	uint8_t *der = NULL;
	size_t der_len;
	struct ca_issue_req q;
	struct ca_link_req l;
	pca_err err;

	r->new_na = rot_not_after(r, days);
	if (r->new_na > pc->not_after)
		r->new_na = pc->not_after;
	if (pathlen >= 0 && pathlen <= 3) {
		(void)snprintf(tmpl, sizeof(tmpl),
		    "arn:%s:acm-pca:::template/"
		    "SubordinateCACertificate_PathLen%d/V1",
		    r->e->partition, pathlen);
		memset(&q, 0, sizeof(q));
		q.ca_arn = pc->arn;
		q.csr = (const uint8_t *)r->new_csr;
		q.csr_len = strlen(r->new_csr);
		q.signing_algorithm = rec_str(cfg, "SigningAlgorithm");
		q.template_arn = tmpl;
		q.validity_type = "ABSOLUTE";
		q.validity_value = r->new_na;
		if ((err = ca_issue(r->e, &pw, &q, &cert_arn)) != PCA_OK ||
		    (err = ca_cert_get(r->e, &pw, pc->arn, cert_arn, &pem,
			 &chain)) != PCA_OK)
			goto out;
	} else {
		l = (struct ca_link_req){pc->uuid, (const uint8_t *)r->new_csr,
		    strlen(r->new_csr), &sub_tmpl, r->new_na};
		if ((err = ca_issue_link(r->e, &pw, &l, &der, &der_len)) !=
			PCA_OK ||
		    (err = util_pem_encode("CERTIFICATE", der, der_len,
			 &pem)) != PCA_OK)
			goto out;
	}
	if ((err = ca_cacert_get(r->e, &pw, pc->arn, &ppem, &pchain)) !=
		PCA_OK ||
	    (err = join(ppem, pchain, &full)) != PCA_OK)
		goto out;
	err = rot_import(r, (const uint8_t *)pem, strlen(pem), full);
out:
	free(cert_arn);
	free(pem);
	free(chain);
	free(ppem);
	free(pchain);
	free(full);
	free(der);
	return err;
}

static pca_err
rot_sign_sub(struct rot *r, int days)
{
	struct ca_ctx *old = NULL, *pc = NULL;
	char parent[37];
	pca_err err;

	if ((err = ca_ctx_get(r->e, r->old_uuid, &old)) != PCA_OK)
		return err;
	if ((err = rot_parent(r, old, parent)) != PCA_OK)
		goto out;
	if (parent[0] == '\0') {
		/* an external parent: the operator brings the certificate */
		r->pending = 1;
		log_info("rotation of %s: the parent is not on this appliance; "
			 "%s waits for its certificate",
		    r->old_arn, r->new_arn);
		goto out;
	}
	if ((err = ca_ctx_get(r->e, parent, &pc)) != PCA_OK)
		goto out;
	err = rot_sign_by(r, pc, old->pathlen, days);
out:
	ca_ctx_put(r->e, pc);
	ca_ctx_put(r->e, old);
	return err;
}

/* ---- link certificates (roots) ---- */

static pca_err
rot_link(struct rot *r, const char *signer, const char *csr, int64_t na,
    uint8_t **der, size_t *len)
{
	struct ca_link_req l = {signer, (const uint8_t *)csr, strlen(csr),
	    &link_tmpl, na};

	return ca_issue_link(r->e, &r->who, &l, der, len);
}

/* The object metadata: the old CA's CRL bucket, when it publishes one. */
static void
link_meta(const json_t *old, char *out, size_t n)
{
	const json_t *crl =
	    json_object_get(json_object_get(old, "RevocationConfiguration"),
		"CrlConfiguration");
	const char *bucket = rec_str(crl, "S3BucketName");
	const char *acl = rec_str(crl, "S3ObjectAcl");

	if (!json_is_true(json_object_get(crl, "Enabled")))
		bucket = NULL;
	acl = acl && strcmp(acl, "BUCKET_OWNER_FULL_CONTROL") == 0
		  ? "bucket-owner-full-control"
		  : "public-read";
	(void)snprintf(out, n,
	    "{\"bucket\":\"%s\",\"content_type\":"
	    "\"application/pkix-cert\",\"acl\":\"%s\",\"kind\":\"link\"}",
	    bucket ? bucket : "", acl);
}

static pca_err
rot_links(struct rot *r)
{
	const char *old_csr = rec_str(r->old, "_Csr");
	int64_t old_na = rec_int(r->old, "NotAfter");
	uint8_t *fwd = NULL, *back = NULL;
	size_t fwd_len = 0, back_len = 0;
	char k1[STORE_OBJ_KEY_MAX], k2[STORE_OBJ_KEY_MAX], meta[512], cnt[64];
	uint64_t ver;
	struct store_obj_in objs[2];
	pca_err err;

	if (old_csr == NULL)
		return pca_err_set(PCA_EDB, "CA %s has no stored CSR",
		    r->old_arn);
	/* the new key under the old one, the old key under the new one */
	if ((err = rot_link(r, r->old_uuid, r->new_csr,
		 old_na < r->new_na ? old_na : r->new_na, &fwd, &fwd_len)) !=
		PCA_OK ||
	    (err = rot_link(r, r->new_uuid, old_csr, old_na, &back,
		 &back_len)) != PCA_OK)
		goto out;
	(void)snprintf(k1, sizeof(k1), "%s%s/new-signed-by-old.crt",
	    CA_ROTATION_PREFIX, r->old_uuid);
	(void)snprintf(k2, sizeof(k2), "%s%s/old-signed-by-new.crt",
	    CA_ROTATION_PREFIX, r->old_uuid);
	link_meta(r->old, meta, sizeof(meta));
	/* a version above any earlier (failed) attempt's */
	(void)snprintf(cnt, sizeof(cnt), "rotation-links/%s", r->old_uuid);
	if ((err = store_counter_next(r->e->store, cnt, &ver)) != PCA_OK)
		goto out;
	objs[0] = (struct store_obj_in){k1, ver, meta, fwd, fwd_len};
	objs[1] = (struct store_obj_in){k2, ver, meta, back, back_len};
	if ((err = store_obj_put(r->e->store, objs, 2, NULL)) != PCA_OK)
		goto out;
	r->links = json_pack("[s+,s+]", "/", k1, "/", k2);
	if (r->links == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
out:
	free(fwd);
	free(back);
	return err;
}

/* ---- the records ---- */

/* The resource policy with the old ARN replaced by the new one. */
static json_t *
policy_moved(const char *pol, const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to), n = 0;
	const char *p, *q;
	char *s;
	json_t *j;

	for (p = pol; (q = strstr(p, from)) != NULL; p = q + nf)
		n++;
	if ((s = malloc(strlen(pol) + n * (nt > nf ? nt - nf : 0) + 1)) == NULL)
		return NULL;
	s[0] = '\0';
	n = 0;
	for (p = pol; (q = strstr(p, from)) != NULL; p = q + nf) {
		memcpy(s + n, p, (size_t)(q - p));
		n += (size_t)(q - p);
		memcpy(s + n, to, nt);
		n += nt;
	}
	memcpy(s + n, p, strlen(p) + 1);
	j = json_string(s);
	free(s);
	return j;
}

/* The successor inherits what is not in CreateCertificateAuthority. */
static void
inherit(const struct rot *r, json_t *nrec)
{
	const json_t *v;
	const char *pol;

	json_object_set_new(nrec, "_PredecessorArn", json_string(r->old_arn));
	pol = rec_str(r->old, "_PolicyUuid");
	json_object_set_new(nrec, "_PolicyUuid",
	    json_string(pol ? pol : r->old_uuid));
	if ((v = json_object_get(r->old, "_RotateBeforeDays")) != NULL)
		json_object_set(nrec, "_RotateBeforeDays", (json_t *)v);
	if ((v = json_object_get(r->old, "_Permissions")) != NULL)
		json_object_set_new(nrec, "_Permissions", json_deep_copy(v));
	if ((pol = rec_str(r->old, "_Policy")) != NULL)
		json_object_set_new(nrec, "_Policy",
		    policy_moved(pol, r->old_arn, r->new_arn));
	if (r->links != NULL)
		json_object_set(nrec, "_LinkCertificates", r->links);
}

/*
 * The successor a rotation is waiting for, unless the operator abandoned
 * it (deleted, or gone); NULL otherwise.
 */
static const char *
pending_of(struct ca_engine *e, const json_t *rec)
{
	static const char *const gone[] = {"DELETED", "FAILED", NULL};
	const char *p = rec_str(rec, "_PendingSuccessorArn");
	json_t *s = NULL;
	char uuid[37];
	int alive;

	if (p == NULL)
		return NULL;
	if (ca_arn_uuid(p, uuid) != PCA_OK ||
	    ca_rec_load(e, uuid, &s) != PCA_OK) {
		pca_err_clear();
		return NULL;
	}
	alive = !ca_rec_status_in(s, gone);
	json_decref(s);
	return alive ? p : NULL;
}

/* Links both records; from here on the old CA refuses to issue. */
static pca_err
rot_commit(struct rot *r)
{
	json_t *orec = NULL, *nrec = NULL;
	const char *had;
	int64_t now = util_now();
	pca_err err;

	pthread_mutex_lock(&r->e->mut);
	if ((err = ca_rec_load(r->e, r->old_uuid, &orec)) != PCA_OK ||
	    (err = ca_rec_load(r->e, r->new_uuid, &nrec)) != PCA_OK)
		goto out;
	if ((had = rec_str(orec, "_SuccessorArn")) != NULL ||
	    (had = pending_of(r->e, orec)) != NULL) {
		err = pca_err_set(PCA_ESTATE,
		    "certificate authority %s was "
		    "rotated meanwhile (successor %s)",
		    r->old_arn, had);
		goto out;
	}
	json_object_del(orec, "_PendingSuccessorArn"); /* an abandoned one */
	json_object_set_new(orec,
	    r->pending ? "_PendingSuccessorArn" : "_SuccessorArn",
	    json_string(r->new_arn));
	json_object_set_new(orec, "_RotatedAt", json_integer(now));
	if (r->links != NULL)
		json_object_set(orec, "_LinkCertificates", r->links);
	inherit(r, nrec);
	if ((err = ca_rec_save(r->e, r->new_uuid, nrec, 0)) != PCA_OK ||
	    (err = ca_rec_save(r->e, r->old_uuid, orec, 0)) != PCA_OK)
		goto out;
out:
	pthread_mutex_unlock(&r->e->mut);
	json_decref(orec);
	json_decref(nrec);
	if (err == PCA_OK) {
		ca_notify(r->e, CA_EV_CA_CHANGED, r->new_uuid, NULL, 0);
		ca_notify(r->e, CA_EV_CA_CHANGED, r->old_uuid, NULL, 0);
	}
	return err;
}

/* A failed rotation: the half-made successor goes (restorable 7 days). */
static void
rot_undo(struct rot *r)
{
	char msg[512];

	(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
	if (r->new_arn != NULL) {
		if (ca_update(r->e, &r->who, r->new_arn, "DISABLED", NULL) !=
		    PCA_OK)
			pca_err_clear(); /* not ACTIVE yet: delete directly */
		if (ca_delete(r->e, &r->who, r->new_arn, 7) != PCA_OK)
			log_warnx("rotation of %s: could not delete the "
				  "unfinished successor %s: %s",
			    r->old_arn, r->new_arn, pca_err_msg());
	}
	(void)pca_err_set(PCA_OK, "%s", msg);
}

static pca_err
rot_check(struct rot *r, const char *arn)
{
	static const char *const ok[] = {"ACTIVE", NULL};
	const char *succ;
	pca_err err;

	pthread_mutex_lock(&r->e->mut);
	err = ca_rec_begin(r->e, &r->who, arn, r->old_uuid, &r->old);
	pthread_mutex_unlock(&r->e->mut);
	if (err != PCA_OK)
		return err;
	(void)snprintf(r->old_arn, sizeof(r->old_arn), "%s",
	    rec_str(r->old, "Arn"));
	if ((succ = rec_str(r->old, "_SuccessorArn")) != NULL ||
	    (succ = pending_of(r->e, r->old)) != NULL)
		return pca_err_set(PCA_ESTATE,
		    "certificate authority %s has "
		    "been rotated already; its successor is %s",
		    r->old_arn, succ);
	if (!ca_rec_status_in(r->old, ok) ||
	    json_object_get(r->old, "_Cert") == NULL)
		return ca_rec_state_err(r->old, "RotateCertificateAuthority");
	return PCA_OK;
}

pca_err
ca_rotate(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    const struct ca_rotate_req *q, char **successor)
{
	struct rot r;
	char idem[CA_ARN_MAX + 160], *prev = NULL, detail[CA_ARN_MAX + 32];
	pca_err err;

	memset(&r, 0, sizeof(r));
	r.e = e;
	r.who = *c;
	if (q->idempotency_token != NULL) {
		(void)snprintf(idem, sizeof(idem), "rotate|%s|%s|%s|%s",
		    c->account, c->region, arn, q->idempotency_token);
		err = store_idem_get(e->store, idem, util_now(), &prev);
		if (err == PCA_OK) {
			*successor = prev;
			return PCA_OK;
		}
		if (err != PCA_ENOTFOUND)
			return err;
		pca_err_clear();
	}
	pthread_mutex_lock(&rot_mu);
	if ((err = rot_check(&r, arn)) != PCA_OK ||
	    (err = rot_create(&r)) != PCA_OK)
		goto out;
	if (strcmp(rec_str(r.old, "Type"), "ROOT") == 0)
		err = rot_sign_root(&r, q->validity_days);
	else
		err = rot_sign_sub(&r, q->validity_days);
	if (err == PCA_OK && !r.pending &&
	    strcmp(rec_str(r.old, "Type"), "ROOT") == 0)
		err = rot_links(&r);
	if (err == PCA_OK)
		err = rot_commit(&r);
	if (err != PCA_OK) {
		rot_undo(&r);
		goto out;
	}
	(void)snprintf(detail, sizeof(detail), "successor=%s%s", r.new_arn,
	    r.pending ? " pending=certificate" : "");
	ca_audit(e, c, "RotateCertificateAuthority", r.old_arn, detail);
	log_info("CA %s rotated: successor %s%s", r.old_arn, r.new_arn,
	    r.pending ? " (waiting for its certificate)" : "");
	if (q->idempotency_token != NULL &&
	    store_idem_put(e->store, idem, util_now() + e->idem_ttl, r.new_arn,
		util_now()) != PCA_OK)
		log_warnx("idempotency token not recorded: %s", pca_err_msg());
	*successor = r.new_arn;
	r.new_arn = NULL;
out:
	pthread_mutex_unlock(&rot_mu);
	rot_clear(&r);
	return err;
}

void
ca_rotate_imported(struct ca_engine *e, const char *uuid)
{
	json_t *rec = NULL, *prec = NULL;
	const char *pred, *arn;
	char puuid[37];
	struct ca_caller who;
	int done = 0;

	pthread_mutex_lock(&e->mut);
	if (ca_rec_load(e, uuid, &rec) != PCA_OK ||
	    (pred = rec_str(rec, "_PredecessorArn")) == NULL ||
	    ca_arn_uuid(pred, puuid) != PCA_OK ||
	    ca_rec_load(e, puuid, &prec) != PCA_OK)
		goto out;
	arn = rec_str(rec, "Arn");
	if (rec_str(prec, "_PendingSuccessorArn") == NULL ||
	    strcmp(rec_str(prec, "_PendingSuccessorArn"), arn) != 0 ||
	    !ca_rec_status_in(rec, (const char *const[]){"ACTIVE", NULL}))
		goto out;
	json_object_set_new(prec, "_SuccessorArn", json_string(arn));
	json_object_del(prec, "_PendingSuccessorArn");
	if (ca_rec_save(e, puuid, prec, 0) != PCA_OK) {
		log_warnx("rotation of %s: %s", pred, pca_err_msg());
		goto out;
	}
	done = 1;
	who = owner_of(prec, "rotation");
	ca_audit(e, &who, "RotateCertificateAuthority", pred,
	    "successor-imported=ok");
	log_info("CA %s: successor %s has its certificate and takes over", pred,
	    arn);
out:
	pthread_mutex_unlock(&e->mut);
	if (done)
		ca_notify(e, CA_EV_CA_CHANGED, puuid, NULL, 0);
	json_decref(rec);
	json_decref(prec);
	pca_err_clear();
}

pca_err
ca_rotate_schedule(struct ca_engine *e, const struct ca_caller *c,
    const char *arn, int days)
{
	static const char *const ok[] = {"PENDING_CERTIFICATE", "ACTIVE",
	    "DISABLED", NULL};
	json_t *rec = NULL;
	char uuid[37], detail[48];
	pca_err err;

	if (days < -1 || days > 36500)
		return pca_err_set(PCA_EINVAL,
		    "rotate-before days must be 0..36500 (or -1: the default)");
	pthread_mutex_lock(&e->mut);
	if ((err = ca_rec_begin(e, c, arn, uuid, &rec)) != PCA_OK)
		goto out;
	if (!ca_rec_status_in(rec, ok)) {
		err = ca_rec_state_err(rec, "Scheduling a rotation");
		goto out;
	}
	if (days > 0 && json_object_get(rec, "_Cert") != NULL &&
	    (int64_t)days * 86400 >=
		rec_int(rec, "NotAfter") - rec_int(rec, "NotBefore")) {
		err = pca_err_set(PCA_EINVAL,
		    "rotate-before %d days is not "
		    "shorter than the certificate's lifetime: every successor "
		    "would be due at once",
		    days);
		goto out;
	}
	if (days < 0)
		json_object_del(rec, "_RotateBeforeDays");
	else
		json_object_set_new(rec, "_RotateBeforeDays",
		    json_integer(days));
	if ((err = ca_rec_save(e, uuid, rec, 0)) != PCA_OK)
		goto out;
	(void)snprintf(detail, sizeof(detail), "rotate_before_days=%d", days);
	ca_audit(e, c, "ScheduleRotation", arn, detail);
out:
	pthread_mutex_unlock(&e->mut);
	json_decref(rec);
	return err;
}

/* ---- maintenance ---- */

static int
live_cb(const struct store_cert *c, const uint8_t *cur, size_t len, void *arg)
{
	int *live = arg;

	(void)cur;
	(void)len;
	/* the responder's own certificates and link certificates follow
	   the CA; they do not keep it alive */
	if (strncmp(c->template_name, "OCSPSigningCertificate", 22) == 0 ||
	    strcmp(c->template_name, ROT_LINK_TEMPLATE) == 0)
		return 0;
	*live = 1;
	return 1;
}

/* True (in *live) while a certificate of the CA has not expired. */
static pca_err
has_live(struct ca_engine *e, const char *uuid, int64_t now, int *live)
{
	struct store_inv_query q;

	memset(&q, 0, sizeof(q));
	q.ca_id = uuid;
	q.state = STORE_INV_ANY;
	q.from = now;
	q.to = INT64_MAX;
	*live = 0;
	return store_inv_foreach(e->store, &q, live_cb, live, NULL);
}

/* A rotated CA whose last certificate expired: DISABLED. */
static pca_err
retire(struct ca_engine *e, const char *uuid)
{
	json_t *rec = NULL;
	struct ca_caller who;
	int64_t now = util_now();
	pca_err err;

	pthread_mutex_lock(&e->mut);
	if ((err = ca_rec_load(e, uuid, &rec)) != PCA_OK)
		goto out;
	if (!ca_rec_status_in(rec, (const char *const[]){"ACTIVE", NULL}))
		goto out;
	ca_rec_set_status(rec, "DISABLED", now);
	json_object_set_new(rec, "_RetiredAt", json_integer(now));
	if ((err = ca_rec_save(e, uuid, rec, 0)) != PCA_OK)
		goto out;
	who = owner_of(rec, "maintenance");
	ca_audit(e, &who, "RetireCertificateAuthority", rec_str(rec, "Arn"),
	    "status=DISABLED reason=last-certificate-expired");
	log_info("CA %s: rotated and its last certificate expired: disabled",
	    rec_str(rec, "Arn"));
out:
	pthread_mutex_unlock(&e->mut);
	if (err == PCA_OK)
		ca_notify(e, CA_EV_CA_CHANGED, uuid, NULL, 0);
	json_decref(rec);
	return err;
}

/* What the pass does with one CA: 0 nothing, 1 rotate, 2 retire. */
static int
due(struct ca_engine *e, const struct ca_ctx *c, int64_t now)
{
	const json_t *d = json_object_get(c->rec, "_RotateBeforeDays");
	int64_t days =
	    d ? (int64_t)json_integer_value(d) : (int64_t)e->rotate_before_days;

	if (strcmp(c->status, "ACTIVE") != 0 || c->cert_der == NULL ||
	    pending_of(e, c->rec) != NULL)
		return 0;
	if (json_object_get(c->rec, "_SuccessorArn") != NULL)
		return 2;
	/* a window as long as the certificate would rotate every pass */
	if (days <= 0 ||
	    days * 86400 >= c->not_after - rec_int(c->rec, "NotBefore"))
		return 0;
	return c->not_after - now <= days * 86400 ? 1 : 0;
}

pca_err
ca_rotate_maintain(struct ca_engine *e, size_t *rotated, size_t *retired)
{
	char(*ids)[37] = NULL, *succ;
	struct ca_ctx *c;
	struct ca_rotate_req q = {NULL, 0};
	struct ca_caller who;
	char arn[CA_ARN_MAX];
	int64_t now = util_now();
	size_t i, n = 0;
	int what, live;
	pca_err err;

	*rotated = *retired = 0;
	if ((err = ca_info_ids(e, &ids, &n)) != PCA_OK)
		return err;
	for (i = 0; i < n; i++) {
		if (ca_ctx_get(e, ids[i], &c) != PCA_OK) {
			pca_err_clear();
			continue;
		}
		what = due(e, c, now);
		(void)snprintf(arn, sizeof(arn), "%s", c->arn);
		who = owner_of(c->rec, "scheduled-rotation");
		if (what == 1 && ca_rotate(e, &who, arn, &q, &succ) == PCA_OK) {
			(*rotated)++;
			free(succ);
		} else if (what == 1)
			log_warnx("scheduled rotation of %s: %s", arn,
			    pca_err_msg());
		ca_ctx_put(e, c);
		if (what == 2 &&
		    (err = has_live(e, ids[i], now, &live)) == PCA_OK &&
		    !live && (err = retire(e, ids[i])) == PCA_OK)
			(*retired)++;
		if (err != PCA_OK)
			break;
	}
	free(ids);
	return err;
}
