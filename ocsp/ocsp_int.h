/*
 * ocsp_int.h - the responder's pieces, shared by the files of ocsp/ and by
 * its unit tests.
 *
 *   req.c      request parsing (DER, GET decoding)
 *   resp.c     response DER: ResponseData, BasicOCSPResponse, OCSPResponse
 *   table.c    the CAs, the stored response record format
 *   cache.c    the bounded hot cache of pre-signed responses
 *   signer.c   who signs for a CA: delegated certificate or CA key
 *   refresh.c  the refresher thread, the change feed, persistence
 *   serve.c    HTTP answers, nonce budget, caching headers, metrics
 */
#ifndef PCA_OCSP_INT_H
#define PCA_OCSP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/alg.h"
#include "../common/limits.h"
#include "../store/store.h"
#include "ocsp.h"

/* Certificate status (RFC 6960 4.2.1 CertStatus). */
enum ocsp_status { OCSP_GOOD = 0, OCSP_REVOKED = 1, OCSP_UNKNOWN = 2 };

/* OCSPResponseStatus (RFC 6960 4.2.1). */
enum ocsp_rstatus {
	OCSP_R_SUCCESSFUL = 0,
	OCSP_R_MALFORMED = 1,
	OCSP_R_INTERNAL = 2,
	OCSP_R_TRYLATER = 3,
	OCSP_R_SIGREQUIRED = 5,
	OCSP_R_UNAUTHORIZED = 6,
};

#define OCSP_KV_RESP "ocsp"          /* <uuid>/<serial hex>/<1|256> */
#define OCSP_KV_DUE "ocsp-due"       /* <produced hex>/<uuid>/<serial hex> */
#define OCSP_KV_META "ocsp-meta"     /* count; sync/<uuid> */
#define OCSP_KV_SIGNER "ocsp-signer" /* <uuid> -> signer JSON */
#define OCSP_FEED_NAME "ocsp"        /* our change feed cursor */

/* ---- resp.c ---- */

struct ocsp_single {
	const struct ocsp_certid *id;
	enum ocsp_status status;
	int64_t revoked_at;
	int reason; /* CRLReason; < 0 or 0: omitted */
	int64_t this_update;
	int64_t next_update;
};

/* What signs: a key in the token and, when delegated, its certificate. */
struct ocsp_signer {
	char label[LIM_LABEL];
	uint8_t *spki;
	size_t spki_len;
	enum pca_sigalg sigalg;
	uint8_t key_id[20]; /* ResponderID byKey */
	uint8_t *cert;      /* delegated certificate, or NULL */
	size_t cert_len;
	int64_t not_after;  /* of the certificate (or the CA's) */
	int64_t not_before; /* of the certificate; 0 for the CA key */
};

/*
 * How far ahead of the clock a signature time (producedAt, a signer's
 * notBefore) may be before it counts as made under a clock that has since
 * stepped back, and is made again.
 */
#define OCSP_SKEW_S 300
/*
 * The signer's certificate is not valid yet at now (+ OCSP_SKEW_S); 0 for
 * NULL.
 */
int ocsp_signer_future(const struct ocsp_signer *, int64_t now);

/*
 * ResponseData (RFC 6960 4.2.1) for singles, byKey responder id, producedAt;
 * a nonce extension when nonce_len > 0.  Caller frees *tbs.
 */
pca_err ocsp_tbs_build(const uint8_t key_id[20], int64_t produced,
    const struct ocsp_single *, size_t n, const uint8_t *nonce,
    size_t nonce_len, uint8_t **tbs, size_t *tbs_len) PCA_WUR;
/*
 * OCSPResponse (successful) around tbs, the signature and the signer's
 * certificate (when cert != NULL).  Caller frees *der.
 */
pca_err ocsp_resp_assemble(const uint8_t *tbs, size_t tbs_len, enum pca_sigalg,
    const uint8_t *sig, size_t sig_len, const uint8_t *cert, size_t cert_len,
    uint8_t **der, size_t *der_len) PCA_WUR;
/* An unsigned error OCSPResponse (5 bytes, static storage). */
const uint8_t *ocsp_resp_error(enum ocsp_rstatus, size_t *len);
/* DER AlgorithmIdentifier of the CertID hash (NULL parameters). */
const uint8_t *ocsp_hash_algid(enum ocsp_hash, size_t *len);
/* Length of that hash: 20 or 32. */
size_t ocsp_hash_len(enum ocsp_hash);
/* Signs (through hsm/) and assembles a whole response.  Caller frees. */
struct hsm;
pca_err ocsp_resp_sign(struct hsm *, const struct ocsp_signer *,
    int64_t produced, const struct ocsp_single *, size_t n,
    const uint8_t *nonce, size_t nonce_len, uint8_t **der, size_t *len) PCA_WUR;

/* ---- signer.c ---- */

struct ca_engine;
struct ca_info;
struct store;

void ocsp_signer_free(struct ocsp_signer *);
pca_err ocsp_signer_dup(const struct ocsp_signer *,
    struct ocsp_signer **out) PCA_WUR;
/* The CA key itself signs (no certificate in responses). */
pca_err ocsp_signer_ca(const struct ca_info *, int64_t ca_not_after,
    struct ocsp_signer **out) PCA_WUR;
/*
 * The CA's delegated signer: the stored one while it has more than
 * min_left seconds to live, else a new key in the token and a certificate
 * issued with OCSPSigningCertificate_APIPassthrough/V1 (id-pkix-ocsp-nocheck
 * as a custom extension), stored, and the previous key destroyed.
 */
struct ocsp_signer_ctx {
	struct ca_engine *engine;
	struct store *store;
	struct hsm *hsm;
	unsigned days;
	int64_t min_left;
};
pca_err ocsp_signer_delegated(const struct ocsp_signer_ctx *,
    const struct ca_info *, int64_t ca_not_after,
    struct ocsp_signer **out) PCA_WUR;
/* notAfter and (when spki != NULL) the DER SPKI of a certificate. */
pca_err ocsp_cert_facts(const uint8_t *der, size_t len, int64_t *not_after,
    uint8_t **spki, size_t *spki_len) PCA_WUR;
/* The stored delegated signer only (no token use). */
pca_err ocsp_signer_load(struct store *, const char *uuid,
    struct ocsp_signer **out) PCA_WUR;

/* ---- table.c: the CAs, and the stored response records ---- */

/*
 * A pre-signed response as stored (kv OCSP_KV_RESP, record "OCR2": a
 * 64-byte header, then the DER) and as cached.  der is borrowed.
 */
struct ocsp_crec {
	enum ocsp_status status;
	int64_t produced; /* = thisUpdate */
	int64_t next_update;
	int64_t revoked_at;
	int64_t not_after; /* of the certificate */
	char etag[36];     /* "<32 hex>" of the DER's SHA-256 */
	const uint8_t *der;
	size_t len;
};
#define OCSP_REC_HDR 64

/* The record bytes of r (r->etag is computed): caller frees *out. */
pca_err ocsp_crec_encode(struct ocsp_crec *r, uint8_t **out,
    size_t *len) PCA_WUR;
/* Decodes a record (r->der points into p); 0 when it is not one. */
int ocsp_crec_decode(const uint8_t *p, size_t n, struct ocsp_crec *r);
/* The kv key of a response: <uuid>/<serial hex>/<1|256>. */
void ocsp_rec_key(const char *uuid, const uint8_t *serial, size_t n, int h,
    char *k, size_t kl);

struct ocsp_ca {
	char uuid[37];
	int serve; /* authoritative: status and OCSP enabled */
	uint8_t name_hash[2][32];
	uint8_t key_hash[2][32];
	int64_t not_after;
	struct ocsp_signer *signer; /* NULL while none is usable */
	/* refresher only: every certificate has its records (on disk) */
	int synced;
	uint8_t sync_after[STORE_INV_CURSOR_MAX]; /* resync walk */
	size_t sync_len;
};

/* The CAs; slots are never removed nor reordered (only appended). */
struct ocsp_table {
	pthread_rwlock_t lk;
	struct ocsp_ca *cas;
	size_t ncas, capcas;
};

pca_err ocsp_table_init(struct ocsp_table *) PCA_WUR;
void ocsp_table_clear(struct ocsp_table *);
/* Index of the CA whose hashes match id (lock held), or -1. */
long ocsp_table_ca_find(const struct ocsp_table *, const struct ocsp_certid *);
/* Index of the CA with that uuid (lock held), or -1. */
long ocsp_table_ca_by_uuid(const struct ocsp_table *, const char *uuid);
/* Strips a leading 0x00 of a DER INTEGER's content; 0 if not a serial. */
size_t ocsp_serial_norm(const uint8_t *p, size_t n, const uint8_t **out);

/* ---- cache.c: the bounded hot cache ---- */

#define OCSP_CACHE_SHARDS 64

struct ocsp_ckey {
	uint32_t ca;  /* CA slot */
	uint8_t hash; /* enum ocsp_hash */
	uint8_t serial_len;
	uint8_t serial[LIM_SERIAL_BYTES]; /* magnitude */
};

struct ocsp_cshard;
struct ocsp_cache {
	struct ocsp_cshard *s;
	size_t max_bytes, shard_max;
	_Atomic uint64_t evictions;
	_Atomic size_t bytes, entries;
};

/* At most max_bytes (entries and their DER); 0: nothing is cached. */
pca_err ocsp_cache_init(struct ocsp_cache *, size_t max_bytes) PCA_WUR;
void ocsp_cache_clear(struct ocsp_cache *);
/*
 * A hit when k is cached and use(record, arg) returns non-zero (use runs
 * under the shard's read lock, perhaps beside other readers, and copies
 * what it needs).  *gen (may be NULL):
 * what to pass to ocsp_cache_insert after a miss.
 */
int ocsp_cache_get(struct ocsp_cache *, const struct ocsp_ckey *k,
    int (*use)(const struct ocsp_crec *, void *), void *arg, uint64_t *gen);
/* Caches a copy of v, unless the shard changed since gen was read. */
void ocsp_cache_insert(struct ocsp_cache *, const struct ocsp_ckey *k,
    const struct ocsp_crec *v, uint64_t gen);
/*
 * After the store changed k's record: a cached copy is replaced by v (or
 * dropped when v is NULL); readers that missed before do not insert.
 */
void ocsp_cache_update(struct ocsp_cache *, const struct ocsp_ckey *k,
    const struct ocsp_crec *v);
/* Hits and misses so far (summed over the shards). */
void ocsp_cache_stats(struct ocsp_cache *, uint64_t *hits, uint64_t *misses);

/* ---- the responder (refresh.c, serve.c) ---- */

struct ocsp_metrics {
	_Atomic uint64_t rstatus[7]; /* by enum ocsp_rstatus */
	_Atomic uint64_t cstatus[3]; /* by enum ocsp_status */
	_Atomic uint64_t presigned, fresh, nonce_fallback, over_budget;
	_Atomic uint64_t signs, sign_errors, refreshed;
	_Atomic uint64_t unknown_cached;
};

/* ucache.c: signed "unknown" answers, bounded, for a short while */
#define OCSP_UCACHE_SETS 1024
#define OCSP_UCACHE_WAYS 4
#define OCSP_UCACHE_TTL 60 /* seconds (and never past nextUpdate) */
struct ocsp_uent {
	uint8_t key[32]; /* SHA-256 of the CertID as sent */
	int64_t until;
	uint64_t used; /* LRU tick */
	uint8_t *der;
	size_t len;
};
struct ocsp_ucache {
	pthread_mutex_t mu;
	uint64_t tick;
	struct ocsp_uent *v; /* SETS * WAYS */
};
pca_err ocsp_ucache_init(struct ocsp_ucache *) PCA_WUR;
void ocsp_ucache_clear(struct ocsp_ucache *);
/* A copy of the cached answer for id (*der: caller frees); 0: none. */
int ocsp_ucache_get(struct ocsp_ucache *, const struct ocsp_certid *id,
    int64_t now, uint8_t **der, size_t *len);
void ocsp_ucache_put(struct ocsp_ucache *, const struct ocsp_certid *id,
    int64_t until, const uint8_t *der, size_t len);

struct ocsp_responder {
	struct ocsp_conf conf;
	struct store *store;
	struct hsm *hsm;
	struct ocsp_table t;
	struct ocsp_cache cache;
	struct ocsp_metrics m;
	struct ocsp_ucache uc;
	_Atomic(ocsp_unknown_fn) unknown_fn; /* never-issued serials */
	void *_Atomic unknown_arg;

	pthread_mutex_t emu; /* engine (refresher holds it) */
	struct ca_engine *engine;

	pthread_mutex_t mu; /* wake, stop, ready */
	pthread_cond_t cv;
	clockid_t cv_clock; /* of cv's timeouts */
	pthread_cond_t ready_cv;
	int wake, stop, ready;
	int ca_dirty, ca_retry; /* refresher only */
	int64_t ca_synced;
	pthread_t thr;
	int started;
	uint64_t feed_seq;   /* change feed position */
	uint64_t feed_acked; /* ... last recorded as our cursor */
	int64_t feed_ack_at;
	int64_t last_scan;
	int more;                     /* refresher: work left, no nap */
	int future_scan;              /* refresher: look for future-dated */
	_Atomic uint64_t presigned_n; /* certificates with records */
	_Atomic int64_t oldest;       /* producedAt at the index head */

	pthread_mutex_t bmu; /* nonce/fresh signature budget */
	double tokens;
	struct timespec tlast;

	char get_path[128]; /* GETs under the [ocsp] url's path */
};

/* ---- publish.c: the S3 layout (see there) ---- */

#define OCSP_PUB_CHANGES 512 /* status changes a manifest lists */
#define OCSP_PUB_OPS_MAX 8   /* records committed with the objects */

/* <prefix>ocsp/<name hash>/<key hash>/<serial> (serial: magnitude). */
void ocsp_pub_key(const char *prefix, enum ocsp_hash, const uint8_t *name_hash,
    const uint8_t *key_hash, const uint8_t *sn, size_t n, char *out,
    size_t outlen);
/* <prefix>ocsp/get/<base64 of the canonical SHA-1 request>. */
pca_err ocsp_pub_get_key(const char *prefix, const uint8_t name_hash[20],
    const uint8_t key_hash[20], const uint8_t *sn, size_t n, char *out,
    size_t outlen) PCA_WUR;

struct ocsp_pub_item {
	const struct ocsp_ca *ca;
	const uint8_t *sn; /* magnitude */
	size_t n;
	const uint8_t *der[2]; /* by enum ocsp_hash */
	size_t len[2];
	int64_t produced;
	int changed; /* a status change (manifest entry) */
};
/* The records ops and the item's objects (and manifest) in one commit. */
pca_err ocsp_publish_commit(struct ocsp_responder *,
    const struct ocsp_pub_item *, const struct store_kv_op *ops,
    size_t nops) PCA_WUR;
/*
 * The records ops with the certificate's objects forgotten (CA slot ca, or
 * < 0: unknown, then only ops); the copies in S3 stay (a lifecycle rule).
 */
pca_err ocsp_publish_drop(struct ocsp_responder *, long ca, const uint8_t *sn,
    size_t n, const struct store_kv_op *ops, size_t nops) PCA_WUR;

/* Takes one fresh signature from the budget (1) or not (0). */
int ocsp_budget_take(struct ocsp_responder *);
/* Refresh instant for a response signed at t. */
int64_t ocsp_refresh_at(const struct ocsp_conf *, int64_t t);
void ocsp_refresher_wake(struct ocsp_responder *);
/* Initialises r->cv, with timeouts on CLOCK_MONOTONIC (r->cv_clock). */
void ocsp_refresher_cond_init(struct ocsp_responder *);
void *ocsp_refresher_main(void *);

#endif
