/*
 * store_int.h - private to store/: the store handle, the group-commit queue,
 * key and record encodings.
 *
 * Encodings (all integers big-endian):
 *   CA id        16 raw bytes parsed from the lowercase 36-char UUID
 *   certs key    CA id || serial (1..LIM_SERIAL_BYTES bytes)
 *   expiry key   time || CA id || serial, where time is not_after as a
 *                u64 with the sign bit flipped, so that memcmp order is
 *                numeric order for negative times too
 *   certs value  u8 version (1), u8 state, i64 not_before, i64 not_after,
 *                i64 issued_at, u8 template_len, u8 requested_by_len,
 *                u32 tbs_len, u32 der_len, then the four byte strings
 *   revoked      u8 version (1), i64 when, i32 reason
 *   idem         u8 version (1), i64 expires, result bytes
 *   counters     u64
 *   audit        prev_hash (32) || i64 when || text; key is the u64 seq;
 *                hash_n = SHA-256(seq_be || stored value_n)
 *   meta         "schema" -> u32; "audit_head" -> u64 seq || hash (32);
 *                "feed_head" -> u64 seq; "feed_cursor/<name>" -> u64 seq
 *   feed         u8 version (1), u8 type, i64 when, CA id (16, zeros for
 *                none), u8 serial_len, serial; key is the u64 seq
 *   kv           namespace || 0x00 || key -> opaque bytes (store_generic.c)
 */
#ifndef PCA_STORE_INT_H
#define PCA_STORE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <lmdb.h>

#include "../common/buf.h"
#include "store.h"

#define STORE_BATCH_MAX 512 /* ops per group commit */
#define STORE_GATHER_US 200 /* longest wait for a batch to fill */
#define STORE_MSG_MAX 512   /* an op's error message (as common/err.c) */
#define STORE_MAX_BLOB (1024 * 1024) /* tbs, der, CA JSON, idem, audit */
#define STORE_MAX_READERS 126
#define STORE_ID_BYTES 16
#define STORE_CERT_KEY_MAX (STORE_ID_BYTES + LIM_SERIAL_BYTES)
#define STORE_EXP_KEY_MAX (8 + STORE_CERT_KEY_MAX)
#define STORE_NAME_MAX 96 /* "CA <uuid> serial <hex>" */
#define STORE_REC_VERSION 1
#define STORE_REV_LEN 13
#define STORE_IDEM_HDR 9
#define STORE_AUDIT_HDR 40 /* prev_hash || when */
#define STORE_HEAD_LEN 40  /* seq || hash */
#define STORE_META_SCHEMA "schema"
#define STORE_META_HEAD "audit_head"
#define STORE_META_INV_V "inv_valid" /* the 'v' inventory entries exist */

enum store_dbi {
	STORE_DBI_META,
	STORE_DBI_CAS,
	STORE_DBI_CERTS,
	STORE_DBI_REVOKED,
	STORE_DBI_EXPIRY,
	STORE_DBI_IDEM,
	STORE_DBI_COUNTERS,
	STORE_DBI_AUDIT,
	STORE_DBI_KV,
	STORE_DBI_INV,  /* store_index.c; may be absent read-only */
	STORE_DBI_FEED, /* store_feed.c; may be absent read-only */
	STORE_DBI_COUNT
};

/*
 * One queued write.  run() executes inside the batch's write transaction,
 * or in a transaction nested in it when the batch is run again after one
 * of its ops failed; it returns PCA_EDBFULL only for MDB_MAP_FULL
 * (store_mdb_err), which makes the leader grow the map and run the batch
 * again.  So run() may run more than once and must only write to its arg
 * what it recomputes on every call.
 */
struct store_op {
	pca_err (*run)(struct store *, MDB_txn *, void *arg);
	void *arg;
	pca_err err;
	char msg[STORE_MSG_MAX];
	int done;
	pthread_cond_t cond;
	struct store_op *next;
};

struct store {
	MDB_env *env;
	MDB_dbi dbi[STORE_DBI_COUNT];
	char *path;
	int read_only;
	size_t map_cur; /* current map size (under maplock) */
	size_t map_step;
	size_t map_max;
	/* shared by every transaction, exclusive to resize the map */
	pthread_rwlock_t maplock;
	pthread_key_t depth;   /* this thread's maplock read depth */
	pthread_mutex_t qlock; /* the queue and the fields below it */
	struct store_op *qhead, *qtail;
	size_t qlen;
	int leader;           /* a thread is running a batch */
	int gather;           /* fsync on: let the next batch fill */
	size_t last_batch;    /* ops in the previous batch */
	int gathering;        /* the leader waits on gcond for ops */
	uint64_t nested_runs; /* batches run again nested (by the leader) */
	pthread_cond_t gcond;
	dev_t dev; /* of path: one env per process */
	ino_t ino;
	struct store *reg_next;
	unsigned inited; /* which of the locks above exist */
	int inv_ok;      /* the "inv" database exists */
	int inv_valid;   /* ... with its 'v' entries (STORE_META_INV_V) */
	int feed_ok;     /* the "feed" database exists */
	/* under qlock: the last batch failed for room or I/O (store_health) */
	int trouble; /* PCA_OK, PCA_EIO or PCA_EDBFULL */
	char trouble_msg[STORE_MSG_MAX];
	struct timespec probe_at; /* CLOCK_MONOTONIC of the last probe */
};

/* Internal iteration: set *stop to end early. */
typedef pca_err (
    *store_scan_fn)(const MDB_val *k, const MDB_val *v, void *arg, int *stop);

/* store.c */
pca_err store_mdb_err(int rc, const char *what) PCA_WUR;
pca_err store_commit_err(struct store *, int rc) PCA_WUR;
pca_err store_full_err(struct store *) PCA_WUR;
pca_err store_lock_shared(struct store *) PCA_WUR;
void store_unlock_shared(struct store *);
int store_in_read(struct store *);
pca_err store_map_grow(struct store *) PCA_WUR;
pca_err store_map_adopt(struct store *) PCA_WUR;
pca_err store_rtxn_begin(struct store *, MDB_txn **) PCA_WUR;
void store_rtxn_end(struct store *, MDB_txn *);
pca_err store_scan(MDB_txn *, MDB_dbi, const void *start, size_t slen,
    size_t plen, store_scan_fn, void *arg) PCA_WUR;
pca_err store_scan_read(struct store *, enum store_dbi, const void *start,
    size_t slen, size_t plen, store_scan_fn, void *arg) PCA_WUR;
pca_err store_entries(struct store *, enum store_dbi, size_t *out) PCA_WUR;
/* The writes of store_kv_batch inside txn (store_obj_put_kv). */
struct store_kv_op;
pca_err store_kv_ops_apply(struct store *, MDB_txn *,
    const struct store_kv_op *, size_t n) PCA_WUR;

/* store_audit.c */
pca_err store_audit_put(struct store *, MDB_txn *, int64_t when,
    const char *text, size_t len, uint64_t *seq) PCA_WUR;
#define STORE_AUDIT_MAX_TEXT (64 * 1024)

/* store_health.c: a finished batch tells whether writes fail for room */
void store_health_note(struct store *, const struct store_op *batch);

/* store_commit.c */
pca_err store_submit(struct store *,
    pca_err (*run)(struct store *, MDB_txn *, void *), void *arg) PCA_WUR;

/* store_rec.c: bytes, ids, keys, records */
struct store_rec {
	int state;
	int64_t not_before;
	int64_t not_after;
	int64_t issued_at;
	const char *tmpl;
	size_t tmpl_len;
	const char *by;
	size_t by_len;
	const uint8_t *tbs;
	size_t tbs_len;
	const uint8_t *der;
	size_t der_len;
};

MDB_val store_val(const void *, size_t);
void store_be64_put(uint8_t *, uint64_t);
uint64_t store_be64_get(const uint8_t *);
void store_be32_put(uint8_t *, uint32_t);
uint32_t store_be32_get(const uint8_t *);
void store_i64_put(uint8_t *, int64_t);
int64_t store_i64_get(const uint8_t *);
uint64_t store_time_enc(int64_t);
int64_t store_time_dec(uint64_t);
pca_err store_id_parse(const char *, uint8_t id[STORE_ID_BYTES]) PCA_WUR;
void store_id_format(const uint8_t id[STORE_ID_BYTES], char out[37]);
pca_err store_serial_check(const uint8_t *, size_t) PCA_WUR;
pca_err store_cert_key(const char *ca_id, const uint8_t *serial, size_t len,
    uint8_t out[STORE_CERT_KEY_MAX], size_t *klen) PCA_WUR;
int store_cert_key_ok(const MDB_val *);
void store_exp_key(int64_t not_after, const uint8_t *ckey, size_t cklen,
    uint8_t out[STORE_EXP_KEY_MAX], size_t *klen);
void store_cert_name(const void *ckey, size_t cklen, char out[STORE_NAME_MAX]);
pca_err store_rec_encode(const struct store_rec *, struct buf *) PCA_WUR;
pca_err store_rec_decode(const void *, size_t, struct store_rec *) PCA_WUR;
pca_err store_rec_check(const MDB_val *key, const MDB_val *val,
    struct store_rec *) PCA_WUR;
pca_err store_rec_get(MDB_txn *, MDB_dbi, const MDB_val *key,
    struct store_rec *) PCA_WUR;
pca_err store_rec_copy(const MDB_val *key, const struct store_rec *,
    struct store_cert *) PCA_WUR;
void store_rev_encode(int64_t when, int reason, uint8_t out[STORE_REV_LEN]);
pca_err store_rev_decode(const MDB_val *, int64_t *when, int *reason) PCA_WUR;

/* store_outbox.c: bumps counter "revgen/<CA id>" (ckey: CA id first) */
pca_err store_revgen_bump(struct store *, MDB_txn *,
    const uint8_t *ckey) PCA_WUR;
/* ... and "issued/<CA id>" (every reservation, so every issuance) */
pca_err store_issued_bump(struct store *, MDB_txn *,
    const uint8_t *ckey) PCA_WUR;

/* store_index.c: inventory index entries, in the caller's transaction */
#define STORE_INV_PRE_MAX (2 + STORE_INV_TMPL_MAX)
#define STORE_INV_KEY_MAX (STORE_INV_PRE_MAX + STORE_EXP_KEY_MAX)
/* A store_scan callback that counts the entries into *(size_t *)arg. */
pca_err store_count_each(const MDB_val *k, const MDB_val *v, void *arg,
    int *stop);
/*
 * The certificates of one CA, counted on its inventory keys (about sixty to
 * a page, where the records are a few); *n untouched on an error.  Needs
 * s->inv_ok.
 */
pca_err store_inv_ca_count(struct store *, const uint8_t *ca_id,
    size_t *n) PCA_WUR;
pca_err store_inv_add(struct store *, MDB_txn *, const uint8_t *ckey,
    size_t cklen, const struct store_rec *) PCA_WUR;
pca_err store_inv_issued(struct store *, MDB_txn *, const uint8_t *ckey,
    size_t cklen, int64_t not_after) PCA_WUR;
pca_err store_inv_revoked(struct store *, MDB_txn *, const uint8_t *ckey,
    size_t cklen, int64_t not_after) PCA_WUR;
pca_err store_inv_remove(struct store *, MDB_txn *, const uint8_t *ckey,
    size_t cklen, const struct store_rec *) PCA_WUR;
pca_err store_inv_build(struct store *, MDB_txn *) PCA_WUR;
pca_err store_inv_valid_build(struct store *, MDB_txn *) PCA_WUR;
pca_err store_inv_purge_scan(struct store *, MDB_txn *,
    const uint8_t *id) PCA_WUR;
size_t store_inv_keys(const uint8_t *ckey, size_t cklen,
    const struct store_rec *, int revoked, int valid,
    uint8_t keys[4][STORE_INV_KEY_MAX], size_t lens[4]);

/* store_kv.c: idempotency entries, for a claim made with a reservation */
pca_err store_idem_key(struct store *, const char *key, MDB_val *k) PCA_WUR;
pca_err store_idem_encode(int64_t expires, const char *result,
    struct buf *) PCA_WUR;
/* The live entry's result (caller frees), PCA_ENOTFOUND if none. */
pca_err store_idem_read(struct store *, MDB_txn *, const MDB_val *key,
    int64_t now, char **result) PCA_WUR;
/* store_feed.c: appends a change record in the caller's transaction */
#define STORE_META_FEED "feed_head"
#define STORE_META_CURSOR "feed_cursor/"
#define STORE_FEED_HDR 27 /* version, type, when, CA id, serial_len */
pca_err store_feed_put(struct store *, MDB_txn *, enum store_chg_type,
    const uint8_t *ckey, size_t cklen) PCA_WUR;
struct store_verify_ctx;
pca_err store_feed_verify(struct store *, MDB_txn *,
    void (*problem)(const char *msg, void *arg), void *arg, size_t *records,
    size_t *errors) PCA_WUR;

/* store_audit.c */
pca_err store_audit_hash(uint64_t seq, const void *val, size_t n,
    uint8_t out[32]) PCA_WUR;

#endif
