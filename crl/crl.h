/*
 * crl.h - CRLs (RFC 5280 section 5) for the CAs of the engine: complete,
 * partitioned and delta CRLs, built by streaming the store's revocation
 * index, signed through the token, recorded as store objects (and so
 * queued in the store's outbox for sync/ to publish) in one transaction
 * with the CRL state; plus audit reports (spec 5.4) with a signed manifest.
 *
 * crl/ decides what to publish and when; it never talks to S3 itself.
 */
#ifndef PCA_CRL_H
#define PCA_CRL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/alg.h"
#include "../common/err.h"

struct hsm;
struct store;
struct ca_engine;
struct crl;

/* ---- the builder (build.c): pure, no token, no engine ---- */

/* Signs tbs into sig (LIM_SIG bytes); sets *sig_len. */
typedef pca_err (*crl_sign_fn)(void *arg, const uint8_t *tbs, size_t len,
    uint8_t *sig, size_t *sig_len);
/* True to list the revoked serial (partition members, unexpired ones). */
typedef int (*crl_keep_fn)(void *arg, const uint8_t *serial, size_t len);

struct crl_params {
	const uint8_t *issuer; /* issuer Name DER (byte copy) */
	size_t issuer_len;
	const uint8_t *akid; /* AKI keyIdentifier (CA's SKI) */
	size_t akid_len;
	enum pca_sigalg sigalg;
	uint64_t number; /* cRLNumber (> 0) */
	int64_t this_update;
	int64_t next_update;
	const char *idp_uri;      /* critical IDP fullName, or NULL */
	const char *freshest_uri; /* FreshestCRL (delta location), or NULL */
	uint64_t delta_base;      /* > 0: a delta CRL on that base */
	int64_t min_when;         /* delta: revoked at or after this */
	struct store *store;      /* entries: store_revoked_foreach */
	const char *ca_id;
	crl_keep_fn keep; /* NULL: every entry */
	void *keep_arg;
	crl_sign_fn sign;
	void *sign_arg;
	/*
	 * Optional: told each entry written into the CRL (serial NULL first:
	 * start over, the build is retried when the index changed under it).
	 */
	void (*listed)(void *arg, const uint8_t *serial, size_t len,
	    int64_t when);
	void *listed_arg;
};

/*
 * Builds and signs a DER CertificateList v2: entries in serial order with
 * a reasonCode entry extension except for unspecified (0); CRL extensions
 * AKI, cRLNumber, then IDP (critical), deltaCRLIndicator (critical) and
 * FreshestCRL as asked.  Two streaming passes over the index (size, then
 * bytes) into one exactly sized buffer.  *der: caller frees.
 */
pca_err crl_build(const struct crl_params *, uint8_t **der, size_t *len,
    size_t *entries) PCA_WUR;

/*
 * The subject Name of a DER certificate (a pointer into cert) and its
 * subjectKeyIdentifier (or NULL/0 when it has none).
 */
pca_err crl_cert_subject(const uint8_t *cert, size_t len, const uint8_t **name,
    size_t *name_len) PCA_WUR;

/* ---- the publisher (crl.c) ---- */

/*
 * The appliance's default certificates per partition: a partition's CRL
 * stays <= 1 MB (issue 16) at a realistic worst case.  An entry is at most
 * ~56 bytes (SEQUENCE 2, a 20-byte serial with a 00: 2+21, GeneralizedTime
 * 2+15, reasonCode extension 2+12), the rest of the CRL under 1 KB, so
 * 100,000 certificates at 10% revoked are 10,000 x 56 = 560 KB (measured
 * by tests/unit/crl partition_default_size); the 1 MB edge is near 18%
 * revoked (~42 bytes per entry with 16-byte serials, no reason: ~24%).  The
 * API's CrlConfiguration is not involved (AWS fixes no count; this is ours).
 */
#define CRL_PARTITION_DEFAULT 100000

struct crl_conf {
	int delta;                     /* delta CRLs + FreshestCRL */
	unsigned delta_base_s;         /* complete CRLs on revocation at most
					  this often when delta; 0 = 3600 */
	unsigned publish_delay_ms;     /* coalescing window; 0 = none */
	unsigned poll_ms;              /* look for changes made elsewhere;
					  0 = 1000 */
	uint64_t partition_size;       /* certificates per partition;
					  0 = CRL_PARTITION_DEFAULT */
	unsigned audit_min_interval_s; /* per CA; 0 = none */
	const char *account;           /* awsAccountId of audit reports */
};

#define CRL_METRICS_CAS 256 /* CAs with their own CRL gauges */

/* The complete CRL of one CA, as last seen by the worker. */
struct crl_ca_metrics {
	char ca[37];
	int64_t this_update; /* epoch s; 0: none yet */
	int64_t next_update;
	int64_t entries; /* -1: unknown (not built by this process) */
};

struct crl_metrics {
	uint64_t builds;
	uint64_t build_errors;
	uint64_t entries;        /* of the last complete CRL */
	int64_t last_build;      /* epoch s */
	int64_t next_update;     /* earliest nextUpdate published */
	uint64_t lat_buckets[8]; /* revocation seen -> recorded, ms:
				    <=100,250,500,1000,2500,5000,10000,+ */
	uint64_t lat_sum_ms;     /* sum of the observations above */
	struct crl_ca_metrics cas[CRL_METRICS_CAS];
	size_t ncas;
};

pca_err crl_new(const struct crl_conf *, struct hsm *, struct store *,
    struct crl **out) PCA_WUR;
/* Listens to the engine's events (before the engine is shared). */
pca_err crl_listen(struct crl *, struct ca_engine *) PCA_WUR;
/*
 * Uses engine from now on; the previous engine is no longer used when this
 * returns, so the caller may free it.
 */
void crl_attach(struct crl *, struct ca_engine *);
/* Called after objects were queued (e.g. to wake sync/). */
void crl_on_queued(struct crl *, void (*fn)(void *), void *arg);
/* Starts the worker thread. */
pca_err crl_start(struct crl *) PCA_WUR;
/* Stops the worker and frees everything (NULL is fine). */
void crl_free(struct crl *);
/* Builds and records the CRLs of one CA now (tests, pcactl). */
pca_err crl_publish_now(struct crl *, const char *ca_id) PCA_WUR;
void crl_metrics_get(struct crl *, struct crl_metrics *);
/*
 * The pcad_crl_* families in the Prometheus text format: builds, errors,
 * per-CA entries, age and nextUpdate (label ca), and the
 * revocation-to-CRL histogram.
 */
struct buf;
pca_err crl_metrics_render(struct crl *, struct buf *) PCA_WUR;

/*
 * GET/HEAD /crl/<key> on the plain-HTTP port (http.c): the current object
 * of that key, application/pkix-crl, with caching headers derived from the
 * CRL's thisUpdate/nextUpdate (Last-Modified, Expires, Cache-Control
 * max-age, a strong ETag); If-None-Match / If-Modified-Since answer 304.
 */
struct http_server;
pca_err crl_http_register(struct crl *, struct http_server *) PCA_WUR;

/* ---- audit reports (audit.c) ---- */

/*
 * CreateCertificateAuthorityAuditReport for the CA: builds the report
 * (JSON or CSV, spec 5.4) and its signed manifest and queues both for
 * bucket.  *id (37 bytes) and *key (caller frees) as the API returns them.
 * PCA_EINPROGRESS within the rate-limit interval.
 */
pca_err crl_audit_create(struct crl *, const char *ca_id, const char *bucket,
    const char *format, char id[37], char **key) PCA_WUR;
/*
 * {AuditReportStatus, S3BucketName, S3Key, CreatedAt} of a report.
 * PCA_ENOTFOUND for an unknown id or one of another CA.
 */
pca_err crl_audit_describe(struct crl *, const char *ca_id, const char *id,
    json_t **out) PCA_WUR;
/*
 * Checks a report against its manifest: the manifest signature under the
 * certificate it carries, the report's SHA-256, its row count.  When
 * store is not NULL, also that the audit-log chain in the store passes
 * through the manifest's head.  Problems as PCA_EMISMATCH with the reason.
 */
pca_err crl_audit_verify(const uint8_t *report, size_t report_len,
    const uint8_t *manifest, size_t manifest_len, struct store *store) PCA_WUR;

#endif
