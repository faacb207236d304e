/*
 * audit.c - audit reports (spec 5.4): one row per certificate the CA
 * issued, revoked ones included, as JSON or CSV, built from the store;
 * with a manifest signed by the CA key through the token that carries the
 * report's SHA-256 and the audit-log hash-chain head, so that an auditor
 * can check the report offline (crl_audit_verify, pcactl audit verify).
 * Report and manifest are queued in the outbox in one transaction with
 * the report record; their status follows from the publication results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../hsm/hsm.h"
#include "../store/store.h"
#include "crl_int.h"

#define NS_REPORT "auditrep"
#define NS_LAST "auditlast"
#define REPORT_MAX ((size_t)256 << 20)

static const char *const reason_names[11] = {"UNSPECIFIED", "KEY_COMPROMISE",
    "CERTIFICATE_AUTHORITY_COMPROMISE", "AFFILIATION_CHANGED", "SUPERSEDED",
    "CESSATION_OF_OPERATION", NULL, NULL, NULL, "PRIVILEGE_WITHDRAWN",
    "A_A_COMPROMISE"};

struct report {
	const struct ca_info *ca;
	const char *account;
	char partition[32];
	int csv;
	struct buf out;
	size_t rows;
	pca_err err;
};

static void
ts(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%S+0000", &tm) == 0)
		(void)snprintf(out, 32, "?");
}

static char *
subject_of(const struct store_cert *sc)
{
	const unsigned char *p = sc->der;
	X509 *x = d2i_X509(NULL, &p, (long)sc->der_len);
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL, *d;
	long n;

	if (x != NULL && b != NULL &&
	    X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
		XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_get_mem_data(b, &d)) >= 0)
		s = strndup(d, (size_t)n);
	BIO_free(b);
	X509_free(x);
	return s;
}

/* The row's fields in spec order; NULL for absent ones. */
static void
row_fields(struct report *r, const struct store_cert *sc, char *subj,
    char f[11][400])
{
	char hex[3 * LIM_SERIAL_BYTES + 1];

	memset(f, 0, 11 * 400);
	(void)snprintf(f[0], 400, "%s", r->account);
	(void)util_hex(sc->serial, sc->serial_len, hex, sizeof(hex), 0);
	(void)snprintf(f[2], 400, "%s/certificate/%s", r->ca->arn, hex);
	(void)util_hex(sc->serial, sc->serial_len, hex, sizeof(hex), 1);
	(void)snprintf(f[3], 400, "%s", hex);
	(void)snprintf(f[4], 400, "%s", subj ? subj : "");
	ts(sc->not_before, f[5]);
	ts(sc->not_after, f[6]);
	ts(sc->issued_at, f[7]);
	if (sc->revoked) {
		ts(sc->revoked_at, f[8]);
		(void)snprintf(f[9], 400, "%s",
		    sc->reason >= 0 && sc->reason <= 10 &&
			    reason_names[sc->reason]
			? reason_names[sc->reason]
			: "UNSPECIFIED");
	}
	(void)snprintf(f[10], 400, "arn:%s:acm-pca:::template/%s", r->partition,
	    sc->template_name);
}

static const char *const fields[11] = {"awsAccountId",
    "requestedByServicePrincipal", "certificateArn", "serial", "subject",
    "notBefore", "notAfter", "issuedAt", "revokedAt", "revocationReason",
    "templateArn"};

static pca_err
csv_row(struct buf *b, char f[11][400], const char *subj)
{
	const char *p;
	pca_err e = PCA_OK;
	int i;

	for (i = 0; i < 11 && e == PCA_OK; i++) {
		if (i > 0)
			e = buf_add(b, ",", 1);
		if (i != 4) {
			if (e == PCA_OK)
				e = buf_addstr(b, f[i]);
			continue;
		}
		if (e == PCA_OK)
			e = buf_add(b, "\"", 1);
		for (p = subj ? subj : ""; e == PCA_OK && *p; p++)
			e = *p == '"' ? buf_add(b, "\"\"", 2)
				      : buf_add(b, p, 1);
		if (e == PCA_OK)
			e = buf_add(b, "\"", 1);
	}
	return e ? e : buf_add(b, "\r\n", 2);
}

static pca_err
json_row(struct buf *b, char f[11][400], const char *subj, size_t rows)
{
	json_t *o = json_object();
	char *t = NULL;
	pca_err e;
	int i;

	for (i = 0; i < 11; i++)
		if (f[i][0] || i == 4)
			json_object_set_new(o, fields[i],
			    json_string(i == 4 ? (subj ? subj : "") : f[i]));
	if ((t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		e = pca_err_set(PCA_ENOMEM, "no memory");
	else if ((e = buf_add(b, rows ? "," : "[", 1)) == PCA_OK)
		e = buf_addstr(b, t);
	free(t);
	json_decref(o);
	return e;
}

static int
row_cb(const struct store_cert *sc, void *arg)
{
	struct report *r = arg;
	char f[11][400], *subj;

	if (sc->state != STORE_CERT_ISSUED || sc->der == NULL)
		return 0;
	subj = subject_of(sc);
	row_fields(r, sc, subj, f);
	r->err = r->csv ? csv_row(&r->out, f, subj)
			: json_row(&r->out, f, subj, r->rows);
	free(subj);
	r->rows++;
	return r->err != PCA_OK;
}

static pca_err
report_build(struct crl *c, const struct ca_info *ca, int csv, struct report *r)
{
	const char *p = ca->arn + 4, *q = strchr(p, ':');
	pca_err e;
	int i;

	memset(r, 0, sizeof(*r));
	r->ca = ca;
	r->account = c->account;
	r->csv = csv;
	(void)snprintf(r->partition, sizeof(r->partition), "%.*s",
	    q ? (int)(q - p) : 3, q ? p : "aws");
	buf_init(&r->out, REPORT_MAX);
	for (i = 0; csv && i < 11 && r->err == PCA_OK; i++)
		r->err = buf_printf(&r->out, "%s%s", i ? "," : "", fields[i]);
	if (csv && r->err == PCA_OK)
		r->err = buf_add(&r->out, "\r\n", 2);
	if (r->err != PCA_OK)
		return r->err;
	if ((e = store_cert_foreach(c->store, ca->uuid, row_cb, r)) != PCA_OK)
		return e;
	if (r->err != PCA_OK)
		return r->err;
	if (!csv)
		return buf_addstr(&r->out, r->rows ? "]" : "[]");
	return PCA_OK;
}

/* ---- the manifest ---- */

static pca_err
sha256_hex(const uint8_t *p, size_t n, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(p, n, md);
	(void)util_hex(md, sizeof(md), out, 65, 0);
	return PCA_OK;
}

struct mf_in {
	const struct ca_info *ca;
	const char *bucket, *key, *format;
	const struct buf *report;
	size_t rows;
	int64_t now;
};

static char *
payload_text(struct crl *c, const struct mf_in *m)
{
	uint8_t head[32];
	uint64_t seq = 0;
	char hx[65], rh[65];
	json_t *o;
	char *t;

	if (store_audit_head(c->store, &seq, head) != PCA_OK)
		return NULL;
	(void)util_hex(head, 32, hx, sizeof(hx), 0);
	(void)sha256_hex(m->report->p, m->report->len, rh);
	o = json_pack("{sssssssssIsssIsIss}", "caArn", m->ca->arn, "bucket",
	    m->bucket, "reportKey", m->key, "format", m->format, "createdAt",
	    (json_int_t)m->now, "reportSha256", rh, "rows", (json_int_t)m->rows,
	    "auditLogSeq", (json_int_t)seq, "auditLogHead", hx);
	t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return t;
}

static pca_err
manifest_build(struct crl *c, const struct mf_in *m, char **out)
{
	struct hsm_key k = {m->ca->key_label, m->ca->spki, m->ca->spki_len};
	uint8_t sig[LIM_SIG];
	size_t sl = 0;
	char *pl = NULL, *b64p = NULL, *b64s = NULL, *pem = NULL;
	json_t *o = NULL;
	pca_err e;

	if ((pl = payload_text(c, m)) == NULL) {
		e = pca_err_set(PCA_ENOMEM, "cannot build the manifest");
		goto out;
	}
	/* a manifest, not a CRL: signed without the CRL lint gate */
	if ((e = hsm_sign(c->hsm, &k, (enum pca_sigalg)m->ca->sigalg,
		 (const uint8_t *)pl, strlen(pl), sig, &sl)) ||
	    (e = util_b64_encode((const uint8_t *)pl, strlen(pl), &b64p)) ||
	    (e = util_b64_encode(sig, sl, &b64s)) ||
	    (e = util_pem_encode("CERTIFICATE", m->ca->cert_der,
		 m->ca->cert_len, &pem)))
		goto out;
	o = json_pack("{ssssssssss}", "payload", b64p, "signature", b64s,
	    "signingAlgorithm", pca_sigalg_name((enum pca_sigalg)m->ca->sigalg),
	    "certificate", pem, "version", "1");
	if (o == NULL || (*out = json_dumps(o,
			      JSON_INDENT(1) | JSON_PRESERVE_ORDER)) == NULL)
		e = pca_err_set(PCA_ENOMEM, "no memory");
out:
	json_decref(o);
	free(pl);
	free(b64p);
	free(b64s);
	free(pem);
	return e;
}

/* ---- the operations ---- */

static pca_err
rate_check(struct crl *c, const char *ca_id, int64_t now)
{
	uint8_t *v = NULL;
	size_t n;
	long long last;
	pca_err e = PCA_OK;

	if (c->conf.audit_min_interval_s == 0 ||
	    store_kv_get(c->store, NS_LAST, ca_id, &v, &n) != PCA_OK)
		return PCA_OK;
	if (util_strtonum((char *)v, 0, INT64_MAX, &last) == PCA_OK &&
	    now - last < (int64_t)c->conf.audit_min_interval_s)
		e = pca_err_set(PCA_EINPROGRESS,
		    "An audit report for this CA "
		    "was created less than %u seconds ago",
		    c->conf.audit_min_interval_s);
	free(v);
	return e;
}

static pca_err
queue_report(struct crl *c, const struct mf_in *m, const char *manifest,
    const char *id)
{
	char meta[600], mkey[STORE_OBJ_KEY_MAX + 1], mmeta[600], *rec;
	struct store_obj_in objs[2];
	struct store_kv_in kv = {NS_REPORT, id, NULL, 0};
	pca_err e;

	(void)snprintf(meta, sizeof(meta),
	    "{\"bucket\":\"%s\",\"content_type"
	    "\":\"%s\",\"kind\":\"audit\"}",
	    m->bucket,
	    strcmp(m->format, "CSV") == 0 ? "text/csv" : "application/json");
	(void)snprintf(mmeta, sizeof(mmeta),
	    "{\"bucket\":\"%s\",\"content_"
	    "type\":\"application/json\",\"kind\":\"audit\"}",
	    m->bucket);
	(void)snprintf(mkey, sizeof(mkey), "%s.manifest.json", m->key);
	objs[0] = (struct store_obj_in){m->key, 1, meta, m->report->p,
	    m->report->len};
	objs[1] = (struct store_obj_in){mkey, 1, mmeta,
	    (const uint8_t *)manifest, strlen(manifest)};
	rec = json_dumps(json_pack("{sssssssssI}", "ca", m->ca->uuid, "bucket",
			     m->bucket, "key", m->key, "manifest", mkey,
			     "created", (json_int_t)m->now),
	    JSON_COMPACT);
	if (rec == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	kv.val = rec;
	kv.len = strlen(rec);
	e = store_obj_put(c->store, objs, 2, &kv);
	free(rec);
	return e;
}

static pca_err
audit_create_locked(struct crl *c, const struct ca_info *ca, struct mf_in *m,
    char id[37], char **key)
{
	struct report r;
	char kb[STORE_OBJ_KEY_MAX + 1], *manifest = NULL, t[32];
	pca_err e;

	if ((e = rate_check(c, ca->uuid, m->now)) != PCA_OK)
		return e;
	if ((e = report_build(c, ca, strcmp(m->format, "CSV") == 0, &r)) ||
	    (e = util_uuid(id)))
		goto out;
	(void)snprintf(kb, sizeof(kb), "audit-report/%s/%s.%s", ca->uuid, id,
	    strcmp(m->format, "CSV") == 0 ? "csv" : "json");
	m->key = kb;
	m->report = &r.out;
	m->rows = r.rows;
	if ((e = manifest_build(c, m, &manifest)) ||
	    (e = queue_report(c, m, manifest, id)))
		goto out;
	(void)snprintf(t, sizeof(t), "%lld", (long long)m->now);
	if (store_kv_put(c->store, NS_LAST, ca->uuid, t, strlen(t), 0) !=
	    PCA_OK)
		log_warnx("audit: CA %s: %s", ca->uuid, pca_err_msg());
	if ((*key = strdup(kb)) == NULL)
		e = pca_err_set(PCA_ENOMEM, "no memory");
	else
		log_info("audit: report %s of CA %s: %zu rows queued for "
			 "s3://%s/%s",
		    id, ca->uuid, r.rows, m->bucket, kb);
out:
	m->key = NULL; /* both pointed into this frame */
	m->report = NULL;
	free(manifest);
	buf_free(&r.out);
	return e;
}

pca_err
crl_audit_create(struct crl *c, const char *ca_id, const char *bucket,
    const char *format, char id[37], char **key)
{
	struct ca_info ca;
	struct mf_in m;
	pca_err e;

	memset(&m, 0, sizeof(m));
	m.bucket = bucket;
	m.format = format && strcmp(format, "CSV") == 0 ? "CSV" : "JSON";
	m.now = util_now();
	pthread_rwlock_rdlock(&c->elock);
	if (c->eng == NULL)
		e = pca_err_set(PCA_ESTATE, "no engine attached");
	else if ((e = ca_info_get(c->eng, ca_id, &ca)) == PCA_OK) {
		m.ca = &ca;
		e = ca.cert_der == NULL
			? pca_err_set(PCA_ESTATE,
			      "CA %s has no "
			      "certificate",
			      ca_id)
			: audit_create_locked(c, &ca, &m, id, key);
		ca_info_clear(&ca);
	}
	pthread_rwlock_unlock(&c->elock);
	if (e == PCA_OK && c->queued != NULL)
		c->queued(c->queued_arg);
	return e;
}

/* CREATING until both objects are published; FAILED if one failed. */
static const char *
report_status(struct crl *c, const char *key, const char *mkey)
{
	struct store_pub a, b;
	int ha = store_pub_get(c->store, key, &a) == PCA_OK;
	int hb = store_pub_get(c->store, mkey, &b) == PCA_OK;

	if ((ha && !a.ok) || (hb && !b.ok))
		return "FAILED";
	return ha && hb ? "SUCCESS" : "CREATING";
}

pca_err
crl_audit_describe(struct crl *c, const char *ca_id, const char *id,
    json_t **out)
{
	uint8_t *v = NULL;
	size_t n;
	json_t *r = NULL;
	const char *key, *mkey;
	pca_err e;

	if ((e = store_kv_get(c->store, NS_REPORT, id, &v, &n)) != PCA_OK ||
	    (r = json_loadb((char *)v, n, 0, NULL)) == NULL ||
	    strcmp(json_string_value(json_object_get(r, "ca")) ?: "", ca_id) !=
		0) {
		e = pca_err_set(PCA_ENOTFOUND,
		    "Audit report %s does not exist "
		    "for this certificate authority",
		    id);
		goto out;
	}
	key = json_string_value(json_object_get(r, "key"));
	mkey = json_string_value(json_object_get(r, "manifest"));
	*out = json_pack("{sssOsssO}", "AuditReportStatus",
	    report_status(c, key ?: "", mkey ?: ""), "S3BucketName",
	    json_object_get(r, "bucket"), "S3Key", key ?: "", "CreatedAt",
	    json_object_get(r, "created"));
	if (*out == NULL)
		e = pca_err_set(PCA_ENOMEM, "no memory");
out:
	json_decref(r);
	free(v);
	return e;
}

/* ---- offline verification ---- */

static pca_err
sig_check(const json_t *mf, const uint8_t *pl, size_t pl_len)
{
	const char *sig64 = json_string_value(json_object_get(mf, "signature"));
	const char *pem = json_string_value(json_object_get(mf, "certificate"));
	enum pca_sigalg alg = pca_sigalg_from_name(
	    json_string_value(json_object_get(mf, "signingAlgorithm")));
	uint8_t *sig = NULL;
	size_t sl = 0;
	BIO *b = NULL;
	X509 *x = NULL;
	EVP_MD_CTX *m = NULL;
	pca_err e = pca_err_set(PCA_EMISMATCH, "manifest signature does not "
					       "verify under its certificate");

	if (sig64 == NULL || pem == NULL ||
	    util_b64_decode(sig64, strlen(sig64), LIM_SIG, &sig, &sl) !=
		PCA_OK ||
	    (b = BIO_new_mem_buf(pem, -1)) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL ||
	    (m = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit(m, NULL,
		EVP_get_digestbynid(pca_sigalg_md_nid(alg)), NULL,
		X509_get0_pubkey(x)) == 1 &&
	    EVP_DigestVerify(m, sig, sl, pl, pl_len) == 1)
		e = PCA_OK;
out:
	EVP_MD_CTX_free(m);
	X509_free(x);
	BIO_free(b);
	free(sig);
	return e;
}

struct head_arg {
	uint64_t seq;
	uint8_t hash[32];
	int found;
};

static int
head_cb(uint64_t seq, int64_t when, const char *text,
    const uint8_t prev_hash[32], void *arg)
{
	struct head_arg *h = arg;

	(void)when;
	(void)text;
	if (seq == h->seq + 1) {
		h->found = 1;
		memcpy(h->hash, prev_hash, 32);
	}
	return 1;
}

/* The store's chain passes through seq with that hash. */
static pca_err
chain_check(struct store *s, uint64_t seq, const char *hex)
{
	struct head_arg h;
	uint64_t hs;
	uint8_t hh[32];
	char got[65];
	pca_err e;

	memset(&h, 0, sizeof(h));
	h.seq = seq;
	if ((e = store_audit_foreach(s, seq + 1, head_cb, &h)) != PCA_OK)
		return e;
	if (!h.found) {
		if ((e = store_audit_head(s, &hs, hh)) != PCA_OK)
			return e;
		if (hs != seq)
			return pca_err_set(PCA_EMISMATCH,
			    "audit log has no "
			    "entry %llu",
			    (unsigned long long)seq);
		memcpy(h.hash, hh, 32);
	}
	(void)util_hex(h.hash, 32, got, sizeof(got), 0);
	if (strcmp(got, hex) != 0)
		return pca_err_set(PCA_EMISMATCH,
		    "audit log entry %llu hashes "
		    "to %s, the manifest says %s",
		    (unsigned long long)seq, got, hex);
	return PCA_OK;
}

pca_err
crl_audit_verify(const uint8_t *report, size_t report_len,
    const uint8_t *manifest, size_t manifest_len, struct store *store)
{
	json_t *mf = NULL, *pl = NULL;
	const char *p64;
	uint8_t *pb = NULL;
	size_t pn = 0;
	char rh[65];
	pca_err e;

	if ((mf = json_loadb((const char *)manifest, manifest_len, 0, NULL)) ==
		NULL ||
	    (p64 = json_string_value(json_object_get(mf, "payload"))) == NULL ||
	    util_b64_decode(p64, strlen(p64), 1 << 20, &pb, &pn) != PCA_OK ||
	    (pl = json_loadb((const char *)pb, pn, 0, NULL)) == NULL) {
		e = pca_err_set(PCA_EPARSE, "the manifest is not an audit "
					    "report manifest");
		goto out;
	}
	if ((e = sig_check(mf, pb, pn)) != PCA_OK)
		goto out;
	(void)sha256_hex(report, report_len, rh);
	if (strcmp(rh, json_string_value(json_object_get(pl, "reportSha256"))
			   ?: "") != 0) {
		e = pca_err_set(PCA_EMISMATCH,
		    "the report does not match its "
		    "manifest: SHA-256 %s, signed %s",
		    rh, json_string_value(json_object_get(pl, "reportSha256")));
		goto out;
	}
	if (store != NULL)
		e = chain_check(store,
		    (uint64_t)json_integer_value(
			json_object_get(pl, "auditLogSeq")),
		    json_string_value(json_object_get(pl, "auditLogHead"))
			?: "");
out:
	json_decref(pl);
	json_decref(mf);
	free(pb);
	return e;
}
