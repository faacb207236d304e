/*
 * sync.h - S3 publication: drains the store's outbox (store_outbox_*),
 * PUTting each queued object with libcurl's SigV4 to the configured
 * endpoint (path-style for S3-compatible servers), retrying with
 * exponential backoff through outages and restarts (one kept-alive
 * connection for the drain).  An object is only
 * ever uploaded in its newest version, one at a time, so an older CRL
 * never overwrites a newer one.  Plus the S3 permission probe of spec 5.1.
 */
#ifndef PCA_SYNC_H
#define PCA_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

struct store;
struct sync;

struct sync_conf {
	const char *endpoint;         /* "http://127.0.0.1:9000" */
	const char *region;           /* SigV4 region */
	int path_style;               /* endpoint/bucket/key */
	const char *credentials_file; /* [default] aws_access_key_id,
					 aws_secret_access_key,
					 aws_session_token; re-read when
					 it changes */
	unsigned retry_max_s;         /* backoff cap; 0 = 900 */
	unsigned timeout_s;           /* per request; 0 = 30 */
};

struct sync_metrics {
	uint64_t puts;
	uint64_t failures;
	uint64_t queued; /* outbox entries at the last pass */
	int64_t last_ok; /* epoch s */
};

pca_err sync_new(const struct sync_conf *, struct store *,
    struct sync **out) PCA_WUR;
/* Starts the drain thread. */
pca_err sync_start(struct sync *) PCA_WUR;
/* Wakes the drain thread (arg: the struct sync; for crl_on_queued). */
void sync_wake(void *arg);
/* Stops the thread (an upload in flight is abandoned) and frees. */
void sync_free(struct sync *);
/*
 * One pass over the outbox, read in pages (memory bounded however many are
 * queued): every due entry is attempted once.  One caller at a time (the
 * drain thread, or a caller without it): the kept-alive handle is its own.
 */
pca_err sync_drain(struct sync *, size_t *published) PCA_WUR;
void sync_metrics_get(struct sync *, struct sync_metrics *);

/*
 * The permission probe of spec 5.1: PUT acm-pca-permission-test-key (or
 * ...-private for bucket-owner-full-control) to bucket.  No such bucket:
 * PCA_EINVAL; access denied: PCA_EVALIDATION with AWS's text ending in
 * "Check your S3 bucket permissions and try again"; S3 unreachable or
 * failing: PCA_EIO.
 */
pca_err sync_s3_probe(struct sync *, const char *bucket,
    const char *acl) PCA_WUR;

/*
 * Whole files (backups), streamed: PUT len bytes read from fd (its SHA-256
 * given in hex, as S3 signs it), and GET an object into fd (at most max
 * bytes; PCA_ENOTFOUND when there is no such object).  No retries: the
 * caller decides.  Errors carry the HTTP status and S3's message.
 */
pca_err sync_s3_put_file(struct sync *, const char *bucket, const char *key,
    const char *content_type, int fd, uint64_t len,
    const char *sha256_hex) PCA_WUR;
pca_err sync_s3_get_file(struct sync *, const char *bucket, const char *key,
    int fd, uint64_t max) PCA_WUR;

/*
 * ListObjectsV2 of every key under prefix, in key order, every page: cb
 * gets each key and size and returns non-zero to stop.  DeleteObject of
 * one key.  No retries; errors as above.
 */
#define SYNC_LIST_PAGE_MAX ((size_t)8 << 20) /* one answer's body */
pca_err sync_s3_list(struct sync *, const char *bucket, const char *prefix,
    int (*cb)(const char *key, uint64_t size, void *arg), void *arg) PCA_WUR;
/* The same, keys after start_after only (ListObjectsV2 start-after). */
pca_err sync_s3_list_after(struct sync *, const char *bucket,
    const char *prefix, const char *start_after,
    int (*cb)(const char *key, uint64_t size, void *arg), void *arg) PCA_WUR;
/* One small object PUT from memory (no retries). */
pca_err sync_s3_put_mem(struct sync *, const char *bucket, const char *key,
    const char *content_type, const void *p, size_t len) PCA_WUR;
pca_err sync_s3_delete(struct sync *, const char *bucket,
    const char *key) PCA_WUR;
/*
 * sync_s3_put_mem, created only when key does not exist ("If-None-Match: *",
 * S3's conditional write): PCA_EEXISTS when it does (HTTP 412).  A server
 * that ignores the header overwrites: callers re-read what they wrote.
 */
pca_err sync_s3_put_new(struct sync *, const char *bucket, const char *key,
    const char *content_type, const void *p, size_t len) PCA_WUR;
/*
 * One small object GET into out (appended; its limit bounds the size),
 * within timeout_s as a whole: the responder role's reads.  PCA_ENOTFOUND
 * for 404; no retries.
 */
struct buf;
pca_err sync_s3_get_mem(struct sync *, const char *bucket, const char *key,
    struct buf *out) PCA_WUR;

#endif
