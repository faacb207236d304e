/*
 * ocsp.h - the RFC 6960 OCSP responder on pcad's plain-HTTP port.
 *
 * Every live certificate of every CA with OCSP enabled has a response
 * signed ahead of time (one with a SHA-1 and one with a SHA-256 CertID),
 * kept in the store (kv namespace "ocsp") and served from there (read in
 * place inside a read transaction) through a bounded hot cache
 * (cache_mb), so memory does not grow with the number of certificates, a
 * start loads nothing, and a restart while the token is down still
 * serves.  An index in producedAt order tells what is due.  A refresher thread
 * signs them through hsm/ (by key label: no key ever reaches this module),
 * re-signs at the refresh point (default half the validity), and follows
 * the store's typed change feed (store_changes_after): a revocation or
 * issuance made through this process (ca_engine_listen wakes the thread) or
 * by another process (pcactl, seen by polling every OCSP_POLL_MS) is
 * re-signed within a second.  An answer or a delegated signer dated more
 * than OCSP_SKEW_S ahead of the clock (the clock stepped back) is made
 * again, on start and on every pass.
 *
 * Serving never touches the token nor writes to the store.  A fresh
 * signature is needed only for a nonce (RFC 9654, within a signatures-per-
 * second budget, else the pre-signed response without nonce), for several
 * CertIDs in one request, and for a signed "unknown"; if the token is down
 * then, the answer is tryLater.
 *
 * Answers: good / revoked (time, reason) / unknown (never issued, or
 * expired) signed; unauthorized for a CA we do not know, with OCSP disabled,
 * or DELETED; malformedRequest for anything that does not parse or is over
 * OCSP_MAX_REQUEST bytes or OCSP_MAX_CERTIDS CertIDs.
 */
#ifndef PCA_OCSP_H
#define PCA_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../common/limits.h"

struct ca_engine;
struct hsm;
struct store;
struct buf;
struct ocsp_responder;

#define OCSP_MAX_REQUEST 4096 /* request DER bytes (RFC 5019 GET: 255) */
#define OCSP_MAX_CERTIDS 16   /* CertIDs in one request */
#define OCSP_MAX_NONCE 128    /* RFC 9654 2.1 */
#define OCSP_POLL_MS 250      /* change feed poll (other processes) */

enum ocsp_signer_mode {
	OCSP_SIGNER_DELEGATED = 0, /* per-CA OCSPSigning certificate */
	OCSP_SIGNER_CA,            /* the CA key itself */
};

struct ocsp_conf {
	unsigned validity_s; /* nextUpdate - thisUpdate; 8 h..10 d */
	unsigned refresh_s;  /* re-sign this long after thisUpdate;
				0 = min(validity / 2, 4 days) */
	enum ocsp_signer_mode signer;
	unsigned signer_days;  /* delegated certificate lifetime */
	int nonce_ignore;      /* true: nonces are dropped (RFC 5019) */
	unsigned nonce_budget; /* fresh signatures per second */
	unsigned cache_mb;     /* hot response cache (MiB); 0: none */
	/* [ocsp] publish = s3://BUCKET/PREFIX: every pre-signed response
	   also goes to S3 through the outbox (publish.c); "" bucket: not */
	char publish_bucket[64];
	char publish_prefix[48]; /* "" or ending in '/' */
	char publish_acl[32];    /* x-amz-acl, "" for none */
};

/*
 * Defaults: 24 h validity, delegated, 30-day signer, nonces, 200/s, a
 * 64 MiB cache.
 */
void ocsp_conf_default(struct ocsp_conf *);
/* Range checks (BR 4.9.10 validity, refresh < validity, ...). */
pca_err ocsp_conf_check(const struct ocsp_conf *) PCA_WUR;

/*
 * Loads the stored responses, registers with the engine and starts the
 * refresher thread.  engine, store and hsm must outlive the responder.
 */
pca_err ocsp_responder_new(const struct ocsp_conf *, struct ca_engine *,
    struct store *, struct hsm *, struct ocsp_responder **out) PCA_WUR;
/*
 * Registers the responder's change listener on a new engine (pcad reload);
 * call before the engine is shared.
 */
pca_err ocsp_responder_listen(struct ocsp_responder *,
    struct ca_engine *) PCA_WUR;
/*
 * Switches to that engine (and conf when not NULL): returns once the
 * refresher no longer uses the previous engine, which the caller may then
 * free.
 */
pca_err ocsp_responder_set_engine(struct ocsp_responder *, struct ca_engine *,
    const struct ocsp_conf *) PCA_WUR;
void ocsp_responder_free(struct ocsp_responder *);
/*
 * Called (on the serving thread, so it must be quick and never block) for
 * each CertID of a CA we serve whose serial has no record: someone presents
 * a certificate we never issued.  ca_id: the CA's id; serial: normalized
 * (no leading zeros).  Set fn NULL to stop; cmd/ wires it to alert/.
 */
typedef void (*ocsp_unknown_fn)(void *arg, const char *ca_id,
    const uint8_t *serial, size_t len);
void ocsp_responder_set_unknown_hook(struct ocsp_responder *,
    ocsp_unknown_fn fn, void *arg);

/* Waits (at most timeout_ms) until every known certificate is pre-signed. */
pca_err ocsp_responder_wait_ready(struct ocsp_responder *,
    unsigned timeout_ms) PCA_WUR;

/* ---- HTTP (the transport maps these onto its own types) ---- */

struct ocsp_http_req {
	const char *method;       /* GET, HEAD or POST */
	const char *path;         /* as sent, not URL-decoded */
	const char *content_type; /* or NULL */
	const uint8_t *body;
	size_t len;
};

#define OCSP_HTTP_HDRS 4
struct ocsp_http_resp {
	int status; /* HTTP status */
	const char *content_type;
	uint8_t *body; /* malloc'd; the caller frees */
	size_t len;
	size_t nhdrs;
	struct {
		const char *name;
		char value[80];
	} hdrs[OCSP_HTTP_HDRS];
};

/*
 * Answers one request (any thread).  out is always filled; a GET whose path
 * is not URL-encoded base64 is declined: status 0, no body (a 404 for the
 * transport), so other resources on the port keep their answers.
 */
void ocsp_http_handle(struct ocsp_responder *, const struct ocsp_http_req *,
    struct ocsp_http_resp *out);

/*
 * Puts the responder on the plain port of an HTTP server: POST of
 * application/ocsp-request to any path; GET/HEAD /<request> under the path
 * of url (the [ocsp] url, e.g. http://host/ocsp: GET /ocsp/<request>; NULL
 * or no path: only at the root) and at the root.  Register it after the
 * other plain-port routes: its root GET takes any path they leave.
 */
struct http_server;
/*
 * The "/<request>" part of a GET path under prefix ("" for the root, or
 * the url's path without a trailing '/'), or NULL when path is not
 * <prefix>/<something>.  Borrowed from path.
 */
const char *ocsp_get_path(const char *prefix, const char *path);
pca_err ocsp_http_register(struct ocsp_responder *, struct http_server *,
    const char *url) PCA_WUR;

/* When the oldest pre-signed response was signed (epoch s), 0: none. */
int64_t ocsp_responder_oldest(struct ocsp_responder *);
/* Prometheus text: responses by status, pre-signed vs fresh, age, budget. */
pca_err ocsp_metrics_render(struct ocsp_responder *, struct buf *) PCA_WUR;

/* ---- request parsing (req.c), exposed for tests and the fuzzer ---- */

enum ocsp_hash { OCSP_HASH_SHA1 = 0, OCSP_HASH_SHA256 = 1 };

struct ocsp_certid {
	enum ocsp_hash hash;
	uint8_t name_hash[32];
	uint8_t key_hash[32];
	uint8_t serial[LIM_SERIAL_BYTES + 1]; /* INTEGER content, as sent */
	size_t serial_len;
};

struct ocsp_req {
	size_t n;
	struct ocsp_certid ids[OCSP_MAX_CERTIDS];
	int has_nonce;
	uint8_t nonce[OCSP_MAX_NONCE];
	size_t nonce_len;
};

/*
 * Parses a DER OCSPRequest: at most OCSP_MAX_REQUEST bytes, every byte
 * consumed, version v1, 1..OCSP_MAX_CERTIDS CertIDs hashed with SHA-1 or
 * SHA-256, no duplicate extension, nonce 1..128 octets.  PCA_EPARSE or
 * PCA_ETOOBIG with the rule broken in pca_err_msg().
 */
pca_err ocsp_req_parse(const uint8_t *p, size_t len,
    struct ocsp_req *out) PCA_WUR;
/*
 * The request of a GET path "/<url-encoded base64>" (RFC 6960 A.1): caller
 * frees *der.
 */
pca_err ocsp_get_decode(const char *path, uint8_t **der, size_t *len) PCA_WUR;

/* ---- the responder role (replica.c): answers from S3, no token ---- */

struct buf;
struct ocsp_replica;
struct ocsp_replica_conf {
	const char *bucket;     /* [ocsp] publish's bucket */
	const char *prefix;     /* ... and prefix ("" or "dir/") */
	const char *crl_bucket; /* GET /crl/<key>: <crl_bucket>/crl/<key> */
	unsigned poll_ms;       /* manifest poll; 1000 */
	/* One S3 GET into out; PCA_ENOTFOUND when there is no object. */
	pca_err (*fetch)(void *arg, const char *bucket, const char *key,
	    struct buf *out);
	/* Every key under prefix (cb returns non-zero to stop). */
	pca_err (*list)(void *arg, const char *bucket, const char *prefix,
	    int (*cb)(const char *key, uint64_t size, void *cbarg),
	    void *cbarg);
	void *arg;
};

/*
 * A responder that serves the published layout with cache (its own store:
 * kv records only) and follows the manifests every poll_ms.  Starts its
 * poll thread.
 */
pca_err ocsp_replica_new(const struct ocsp_replica_conf *, struct store *cache,
    struct ocsp_replica **out) PCA_WUR;
/* /health, /metrics, /crl/<key> and OCSP (POST, GET /<req>, GET <url
 * path>/<req>). */
pca_err ocsp_replica_register(struct ocsp_replica *, struct http_server *,
    const char *url) PCA_WUR;
void ocsp_replica_free(struct ocsp_replica *);

#endif
