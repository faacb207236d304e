/*
 * store.h - LMDB, the system of record.  Records only: no business rules.
 *
 * Named databases:
 *   meta        schema version and other store-wide keys
 *   cas         CA id (36-char UUID) -> CA record (JSON text owned by ca/)
 *   certs       CA id (16 bytes) || serial -> certificate record
 *   revoked     CA id (16 bytes) || serial -> revocation (time, reason)
 *   expiry      notAfter (8 bytes BE) || CA id (16) || serial -> ""
 *   inv         inventory indexes: by CA, template, PENDING, revoked
 *   idem        idempotency scope key -> expiry + result
 *   counters    name -> uint64 (CRL numbers, ...)
 *   audit       sequence (8 bytes BE) -> hash-chained entry
 *   feed        sequence (8 bytes BE) -> typed change record
 *
 * Durability: every write function returns only after its transaction is
 * committed (fsync'd unless STORE_NOSYNC).  Concurrent writers are grouped
 * into one LMDB transaction (group commit); one writer's failure (say
 * MDB_KEYEXIST) does not undo another's (the batch then runs again with each
 * writer in a nested transaction of its own).
 *
 * Everything handed out is a copy owned by the caller: nothing points into
 * LMDB's map after a function returns.
 *
 * MDB_MAP_FULL grows the map (by map_size, up to map_max); at map_max the
 * write fails with PCA_EDBFULL.  ENOSPC, EROFS and EIO fail with PCA_EIO.
 * In every failure case the store is left as it was before the call.
 */
#ifndef PCA_STORE_H
#define PCA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../common/limits.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_NOSYNC 0x1 /* tests and benchmarks only */
#define STORE_NORDAHEAD                                                        \
	0x2 /* no OS readahead (MDB_NORDAHEAD): for                            \
	       stores larger than the page cache */

struct store;

struct store_conf {
	const char *path; /* directory holding data.mdb */
	size_t map_size;  /* initial map size and growth step; 0 = 64 MiB */
	size_t map_max;   /* hard maximum; 0 = 64 GiB */
	unsigned flags;   /* STORE_* */
	int read_only;    /* open MDB_RDONLY (verify, reports) */
};

pca_err store_open(const struct store_conf *, struct store **out) PCA_WUR;
void store_close(struct store *);

/* ---- CAs ---- */

/* create: refuse (PCA_EEXISTS) when the id exists; else replace. */
pca_err store_ca_put(struct store *, const char *ca_id, const char *json,
    size_t len, int create) PCA_WUR;
/* Caller frees *json (NUL-terminated). PCA_ENOTFOUND when absent. */
pca_err store_ca_get(struct store *, const char *ca_id, char **json,
    size_t *len) PCA_WUR;
/* Calls cb for every CA in id order; a non-zero return from cb stops. */
pca_err store_ca_foreach(struct store *,
    int (*cb)(const char *ca_id, const char *json, size_t len, void *arg),
    void *arg) PCA_WUR;
/* Removes the CA and all of its certificates, revocations, index entries. */
pca_err store_ca_purge(struct store *, const char *ca_id) PCA_WUR;
/* Number of CA records. */
pca_err store_ca_count(struct store *, size_t *out) PCA_WUR;

/* ---- certificates ---- */

enum store_cert_state {
	STORE_CERT_PENDING = 1, /* serial and TBS recorded, not signed yet */
	STORE_CERT_ISSUED = 2,  /* signed certificate recorded */
};

struct store_cert {
	char ca_id[37];
	uint8_t serial[LIM_SERIAL_BYTES];
	size_t serial_len;
	enum store_cert_state state;
	int64_t not_before;
	int64_t not_after;
	int64_t issued_at;
	char template_name[96]; /* e.g. "EndEntityCertificate/V1" */
	char requested_by[128]; /* who asked (access key id, "pcactl") */
	uint8_t *tbs;           /* PENDING and ISSUED: the TBS bytes */
	size_t tbs_len;
	uint8_t *der; /* ISSUED: the certificate */
	size_t der_len;
	int revoked; /* filled by store_cert_get */
	int64_t revoked_at;
	int reason; /* RFC 5280 CRLReason code */
};

/*
 * Records a PENDING certificate (serial + TBS) and its expiry index entry.
 * PCA_EEXISTS when the (CA, serial) exists (MDB_NOOVERWRITE).
 */
pca_err store_cert_reserve(struct store *, const struct store_cert *) PCA_WUR;

/* An idempotency claim made together with a reservation. */
struct store_idem_claim {
	const char *key;    /* idempotency scope key */
	const char *result; /* recorded under key (e.g. the future ARN) */
	int64_t expires;
	int64_t now;
};

/*
 * store_cert_reserve and the claim in one transaction: exactly one of
 * several concurrent reservations with the same claim key wins.  When key
 * holds an entry that has not expired at claim->now, nothing is written and
 * PCA_EALREADY is returned with that entry's result in *existing (caller
 * frees); else the certificate is reserved and key -> result recorded.
 * PCA_EEXISTS as store_cert_reserve (serial collision).
 */
pca_err store_cert_reserve_claim(struct store *, const struct store_cert *,
    const struct store_idem_claim *, char **existing) PCA_WUR;
/* PENDING -> ISSUED with the signed DER. PCA_ESTATE if not PENDING. */
pca_err store_cert_complete(struct store *, const char *ca_id,
    const uint8_t *serial, size_t serial_len, const uint8_t *der,
    size_t der_len) PCA_WUR;
/*
 * store_cert_complete for c (ca_id, serial, der) that also appends
 * audit_text to the audit log, stamped c->issued_at, in the same
 * transaction: one durable commit for both.
 */
pca_err store_cert_complete_audit(struct store *, const struct store_cert *c,
    const char *audit_text) PCA_WUR;
/*
 * Takes back a reservation that was never signed (the token failed): the
 * PENDING record and its index entries go, as if never reserved (the
 * store_issued_get counter keeps counting it).  PCA_ESTATE when the
 * certificate is not PENDING or has a revocation, PCA_ENOTFOUND if absent.
 */
pca_err store_cert_unreserve(struct store *, const char *ca_id,
    const uint8_t *serial, size_t serial_len) PCA_WUR;
/* Copies the record into *out (free with store_cert_clear). */
pca_err store_cert_get(struct store *, const char *ca_id, const uint8_t *serial,
    size_t serial_len, struct store_cert *out) PCA_WUR;
void store_cert_clear(struct store_cert *);
/*
 * Calls cb for every certificate of ca_id (all CAs when NULL) in serial
 * order.  The record passed to cb is only valid during the call.
 */
pca_err store_cert_foreach(struct store *, const char *ca_id,
    int (*cb)(const struct store_cert *, void *arg), void *arg) PCA_WUR;
pca_err store_cert_count(struct store *, const char *ca_id,
    size_t *out) PCA_WUR;

/* ---- revocations ---- */

/*
 * Records a revocation.  PCA_ENOTFOUND when the certificate is unknown,
 * PCA_EALREADY when already revoked.
 */
pca_err store_cert_revoke(struct store *, const char *ca_id,
    const uint8_t *serial, size_t serial_len, int64_t when, int reason) PCA_WUR;
/* Streams a CA's revocations in serial order (for CRLs). */
pca_err store_revoked_foreach(struct store *, const char *ca_id,
    int (*cb)(const uint8_t *serial, size_t serial_len, int64_t when,
	int reason, void *arg),
    void *arg) PCA_WUR;

/* ---- expiry index ---- */

/* Certificates with not_after in [from, to), in not_after order. */
pca_err store_expiry_foreach(struct store *, int64_t from, int64_t to,
    int (*cb)(const char *ca_id, const uint8_t *serial, size_t serial_len,
	int64_t not_after, void *arg),
    void *arg) PCA_WUR;

/* ---- inventory (store_index.c) ---- */

/* Which certificates an inventory walk keeps, besides CA and template. */
enum store_inv_state {
	STORE_INV_ANY = 0,
	STORE_INV_PENDING, /* reserved, not signed */
	STORE_INV_REVOKED, /* revoked (whatever the expiry) */
	STORE_INV_VALID,   /* signed and not revoked */
};

#define STORE_INV_TMPL_MAX 95 /* template names are cut to this */
#define STORE_INV_CURSOR_MAX                                                   \
	(2 + STORE_INV_TMPL_MAX + 8 + 16 + LIM_SERIAL_BYTES)

struct store_inv_query {
	const char *ca_id; /* NULL: every CA */
	const char *tmpl;  /* template name; NULL: every template */
	enum store_inv_state state;
	int64_t from, to;     /* not_after in [from, to) */
	const uint8_t *after; /* resume after this cursor; NULL: start */
	size_t after_len;
	size_t max_scan; /* index entries to examine; 0 = no limit */
};

/* Where a walk stopped: resume with after = cursor when more is set. */
struct store_inv_pos {
	uint8_t cursor[STORE_INV_CURSOR_MAX];
	size_t len;
	int more; /* stopped by cb or max_scan, not by the end */
};

/*
 * Calls cb, in not_after order, for each certificate matching q (with its
 * revocation filled in), walking the most selective inventory index.  cb
 * gets the certificate's cursor (resume after it to continue past it) and
 * returns non-zero to stop.  *end (may be NULL) tells where the walk
 * stopped.  A cursor from another query: PCA_EINVAL.
 */
pca_err store_inv_foreach(struct store *, const struct store_inv_query *q,
    int (*cb)(const struct store_cert *, const uint8_t *cursor, size_t len,
	void *arg),
    void *arg, struct store_inv_pos *end) PCA_WUR;

/* ---- idempotency tokens ---- */

/*
 * Returns the result stored under key if it has not expired at now
 * (caller frees *result), else PCA_ENOTFOUND.
 */
pca_err store_idem_get(struct store *, const char *key, int64_t now,
    char **result) PCA_WUR;
/* Stores key -> result until expires; replaces an expired entry only. */
pca_err store_idem_put(struct store *, const char *key, int64_t expires,
    const char *result, int64_t now) PCA_WUR;
/*
 * Removes key if it still holds exactly result (a claim whose issuance
 * failed, so that a retry may issue); another result is left alone.
 */
pca_err store_idem_release(struct store *, const char *key,
    const char *result) PCA_WUR;

/*
 * Removes up to max (0: 10,000) entries that expired at now; *removed
 * (may be NULL) says how many.  Call it now and then: entries are never
 * removed otherwise.
 */
pca_err store_idem_purge(struct store *, int64_t now, size_t max,
    size_t *removed) PCA_WUR;

/* ---- counters ---- */

/* Atomically increments and returns the new value (first call gives 1). */
pca_err store_counter_next(struct store *, const char *name,
    uint64_t *out) PCA_WUR;
pca_err store_counter_get(struct store *, const char *name,
    uint64_t *out) PCA_WUR;

/* ---- audit log ---- */

/*
 * Appends one entry.  Each stored entry carries the SHA-256 of the previous
 * stored entry, so altering, removing or reordering entries breaks the
 * chain.  Returns the sequence number (from 1).
 */
pca_err store_audit_append(struct store *, int64_t when, const char *text,
    uint64_t *seq) PCA_WUR;
pca_err store_audit_foreach(struct store *, uint64_t from_seq,
    int (*cb)(uint64_t seq, int64_t when, const char *text,
	const uint8_t prev_hash[32], void *arg),
    void *arg) PCA_WUR;
/* The current chain head: sequence and SHA-256 of the last entry. */
pca_err store_audit_head(struct store *, uint64_t *seq,
    uint8_t hash[32]) PCA_WUR;

/* What store_audit_verify found. */
struct store_audit_check {
	uint64_t entries;   /* entries whose chain checked */
	uint64_t last;      /* the last of them */
	uint8_t hash[32];   /* its hash */
	uint64_t broken_at; /* 0: unbroken; else the first entry that does
			       not carry its predecessor's hash (or the
			       head that does not match the chain) */
};
/*
 * Walks the audit log from entry 1: every entry must carry the hash of the
 * one before and the head must match the last; entries appended during the
 * walk are left for the next check.
 */
pca_err store_audit_verify(struct store *,
    struct store_audit_check *out) PCA_WUR;

/* ---- generic records (store/kv.c) ---- */

/*
 * Small records of other modules (access keys, ...) in one database "kv",
 * keyed by namespace and key.  create: PCA_EEXISTS if the key exists.
 * Values are copied out (caller frees *val).
 */
pca_err store_kv_put(struct store *, const char *ns, const char *key,
    const void *val, size_t len, int create) PCA_WUR;
pca_err store_kv_get(struct store *, const char *ns, const char *key,
    uint8_t **val, size_t *len) PCA_WUR;
pca_err store_kv_del(struct store *, const char *ns, const char *key) PCA_WUR;
pca_err store_kv_foreach(struct store *, const char *ns,
    int (*cb)(const char *key, const uint8_t *val, size_t len, void *arg),
    void *arg) PCA_WUR;

/*
 * The value of ns/key as it lies in the map, passed to cb inside one read
 * transaction (no copy; valid only during the call).  cb's result is
 * returned; PCA_ENOTFOUND when there is no such record.
 */
pca_err store_kv_view(struct store *, const char *ns, const char *key,
    pca_err (*cb)(const uint8_t *val, size_t len, void *arg),
    void *arg) PCA_WUR;
/* store_kv_foreach from the first key >= from, in key (memcmp) order. */
pca_err store_kv_foreach_from(struct store *, const char *ns, const char *from,
    int (*cb)(const char *key, const uint8_t *val, size_t len, void *arg),
    void *arg) PCA_WUR;

/* One write of store_kv_batch: a put, or a delete (absent is fine). */
struct store_kv_op {
	const char *ns;
	const char *key;
	const void *val;
	size_t len;
	int del;
};
/* Applies n puts and deletes in one transaction: all or none. */
pca_err store_kv_batch(struct store *, const struct store_kv_op *ops,
    size_t n) PCA_WUR;

/* ---- publication outbox (store_outbox.c) ---- */

/*
 * Objects to publish (CRLs, audit reports) under a key such as
 * "crl/<CA id>.crl": the current version of each is kept (served over HTTP
 * and published from here) and queued in the outbox until a publisher
 * reports it done.  A version never replaces a newer one.  Each
 * revocation bumps the counter "revgen/<CA id>" in its own transaction, so
 * that a publisher in any process learns that the CA's CRLs are due.
 */
#define STORE_OBJ_KEY_MAX 255
#define STORE_OBJ_MAX ((size_t)512 << 20)

struct store_obj_in {
	const char *key;  /* 1..STORE_OBJ_KEY_MAX bytes */
	uint64_t version; /* > 0; must exceed the recorded one */
	const char *meta; /* text for the publisher (bucket, type...) */
	const uint8_t *body;
	size_t body_len;
};

/* A generic record (store_kv_*) written with the objects. */
struct store_kv_in {
	const char *ns;
	const char *key;
	const void *val;
	size_t len;
};

/*
 * Records n objects as current and queues each for publication, together
 * with the state record (may be NULL), in one transaction.  PCA_EALREADY,
 * with nothing written, when one key has a version >= the given one.
 */
pca_err store_obj_put(struct store *, const struct store_obj_in *objs, size_t n,
    const struct store_kv_in *state) PCA_WUR;
/*
 * The same with the writes of store_kv_batch (ops, none in the outbox's
 * namespaces) in that transaction; an object of version 0 takes the
 * recorded version + 1 (the OCSP publisher's objects).
 */
pca_err store_obj_put_kv(struct store *, const struct store_obj_in *objs,
    size_t n, const struct store_kv_op *ops, size_t nops) PCA_WUR;
/*
 * Forgets objects (current version, queued upload, last result; absent
 * keys are fine) with the writes ops, in one transaction: what the OCSP
 * publisher does when a certificate's responses go (the uploaded copies
 * stay where they are).
 */
pca_err store_obj_drop_kv(struct store *, const char *const *keys, size_t n,
    const struct store_kv_op *ops, size_t nops) PCA_WUR;

struct store_obj {
	char key[STORE_OBJ_KEY_MAX + 1];
	uint64_t version;
	char *meta; /* NUL-terminated */
	uint8_t *body;
	size_t body_len;
};

/* The current object (caller clears it).  PCA_ENOTFOUND when none. */
pca_err store_obj_get(struct store *, const char *key,
    struct store_obj *out) PCA_WUR;
void store_obj_clear(struct store_obj *);

struct store_outbox_ent {
	char key[STORE_OBJ_KEY_MAX + 1];
	uint64_t version;  /* the version queued */
	uint32_t attempts; /* failed attempts so far */
	int64_t next_try;  /* not before (epoch s); 0 = now */
};

/* Every queued object in key order (caller frees *out). */
pca_err store_outbox_list(struct store *, struct store_outbox_ent **out,
    size_t *n) PCA_WUR;
/*
 * At most max queued objects whose keys sort after `after` ("": from the
 * first), in key order (caller frees *out): a bounded walk of a queue that
 * may hold millions (one OCSP response per certificate).
 */
pca_err store_outbox_page(struct store *, const char *after, size_t max,
    struct store_outbox_ent **out, size_t *n) PCA_WUR;
/*
 * Ends the attempts at key/version: removes the outbox entry if it still
 * names that version (a newer one stays queued) and records the result
 * (ok or not, a detail text of at most 256 bytes) unless a newer version's
 * result is recorded already.
 */
pca_err store_outbox_done(struct store *, const char *key, uint64_t version,
    int ok, const char *detail, int64_t when) PCA_WUR;
/*
 * store_outbox_done(key, version, ok, "ok", when) for n uploads in one
 * transaction (the drain's many small objects: one commit, not n).
 */
pca_err store_outbox_done_many(struct store *, const struct store_outbox_ent *v,
    size_t n, int64_t when) PCA_WUR;
/* Records a failed attempt at key/version (no-op if superseded). */
pca_err store_outbox_retry(struct store *, const char *key, uint64_t version,
    uint32_t attempts, int64_t next_try) PCA_WUR;

struct store_pub {
	uint64_t version;
	int ok;
	int64_t when;
	char detail[257];
};

/* The last recorded result for key.  PCA_ENOTFOUND when none. */
pca_err store_pub_get(struct store *, const char *key,
    struct store_pub *out) PCA_WUR;
/* The CA's revocation generation (0 before the first revocation). */
pca_err store_revgen_get(struct store *, const char *ca_id,
    uint64_t *out) PCA_WUR;
/*
 * Certificates reserved (so issued or being issued) under the CA by any
 * process, counted in the reservation's transaction (0 before the first).
 */
pca_err store_issued_get(struct store *, const char *ca_id,
    uint64_t *out) PCA_WUR;
/* Atomically sets the counter to max(value + 1, floor) and returns it. */
pca_err store_counter_raise(struct store *, const char *name, uint64_t floor,
    uint64_t *out) PCA_WUR;

/* ---- backup (store_copy.c) ---- */

/*
 * Writes a compacted copy of the whole store to fd inside one read
 * transaction, so the copy is consistent while other threads and processes
 * keep writing.  fd is an empty regular file opened for writing (fsynced at
 * the end) or the write end of a pipe (whose reader owns durability).  The
 * copy is a data.mdb that store_open can open.  First the map is grown to
 * leave room for what writers add while the copy lasts.
 */
pca_err store_copy_fd(struct store *, int fd) PCA_WUR;

/* ---- change feed (store_feed.c) ---- */

/*
 * Every change other modules follow is appended, in the same transaction as
 * the change itself, to an ordered feed: {sequence, type, CA id, serial}.
 * Sequences start at 1, grow by one per record and are never reused (a
 * record of an aborted transaction never existed).  A reader in any process
 * (pcad or pcactl writing) sees a record exactly when the change is
 * committed, so a follower that processes the records after its cursor
 * misses nothing and needs no other signal.
 *
 * The feed is bounded: store_feed_prune() removes records every registered
 * follower has passed once they are older than min_age_s, and any record
 * older than max_age_s (a follower left that far behind sees a gap and
 * must resynchronise from the records themselves).
 */
enum store_chg_type {
	STORE_CHG_CERT_ISSUED = 1,  /* certificate signed and recorded */
	STORE_CHG_CERT_REVOKED = 2, /* certificate revoked */
	STORE_CHG_CA = 3,           /* CA record created or changed */
	STORE_CHG_CA_PURGED = 4,    /* CA and its records removed */
	STORE_CHG_KEY = 5,          /* a key record (store_kv_put_chg) */
};

struct store_change {
	uint64_t seq;
	enum store_chg_type type;
	int64_t when;   /* wall clock of the append (epoch s) */
	char ca_id[37]; /* "" when the change names no CA */
	uint8_t serial[LIM_SERIAL_BYTES];
	size_t serial_len; /* 0 when the change names no certificate */
};

/* Where a read of the feed stopped. */
struct store_feed_pos {
	uint64_t last; /* last record delivered (else the seq asked) */
	uint64_t head; /* newest record when read (0: none ever) */
	int gap;       /* records after seq were pruned unread */
	int more;      /* stopped by max or cb before the head */
};

/*
 * Reads the feed after a position, in one read transaction (a consistent
 * snapshot: records committed meanwhile are read by the next call).
 * @param[in] seq  the last record already processed (0: from the start)
 * @param[in] max  records to deliver at most (0: no limit)
 * @param[in] cb   called for each record in sequence order; the record is
 *                 only valid during the call; non-zero stops after it
 * @param[out] pos (may be NULL) where the read stopped: continue with
 *                 seq = pos->last.  pos->gap set means records after seq
 *                 were pruned before this caller read them: its view is
 *                 stale and must be rebuilt from the records themselves
 *                 (the records that remain are still delivered).
 * @return PCA_OK; PCA_EINVAL without cb; PCA_EDB for a corrupt record;
 *         PCA_EBUSY when no reader slot is free.
 */
pca_err store_changes_after(struct store *, uint64_t seq, size_t max,
    int (*cb)(const struct store_change *, void *arg), void *arg,
    struct store_feed_pos *pos) PCA_WUR;
/* The newest sequence appended (0 when the feed never had a record). */
pca_err store_feed_head(struct store *, uint64_t *head) PCA_WUR;

/*
 * Followers: a named cursor kept in the store, so pruning waits for it.
 * follow registers name (1 to STORE_FEED_NAME_MAX bytes) at the current
 * head if it is new and returns its cursor in *cursor (may be NULL).
 * ack records that name has processed every record up to seq (never
 * beyond the head: PCA_EINVAL).  unfollow removes the cursor
 * (PCA_ENOTFOUND when there is none).
 */
#define STORE_FEED_NAME_MAX 64
pca_err store_feed_follow(struct store *, const char *name,
    uint64_t *cursor) PCA_WUR;
pca_err store_feed_ack(struct store *, const char *name, uint64_t seq) PCA_WUR;
pca_err store_feed_unfollow(struct store *, const char *name) PCA_WUR;

/*
 * Removes, in one transaction, up to STORE_FEED_PRUNE_MAX records: those
 * at or before every follower's cursor and stamped before now - min_age_s,
 * and those stamped before now - max_age_s whatever the cursors.
 * *removed (may be NULL) says how many.
 */
#define STORE_FEED_PRUNE_MAX 100000
pca_err store_feed_prune(struct store *, int64_t now, int64_t min_age_s,
    int64_t max_age_s, size_t *removed) PCA_WUR;

/*
 * For a restore that replays a feed shipped elsewhere up to seq: when the
 * head is below seq, removes every record (followers see a gap and
 * resynchronise) and makes seq the head, so the next record is seq + 1
 * and no sequence is used twice for different changes.  Nothing happens
 * when the head is at or above seq.
 */
pca_err store_feed_advance(struct store *, uint64_t seq) PCA_WUR;

/*
 * store_kv_put (create 1 or 0) or store_kv_del (create -1) that appends a
 * change of type (ca_id may be NULL) in the same transaction.
 */
pca_err store_kv_put_chg(struct store *, const struct store_kv_in *, int create,
    enum store_chg_type type, const char *ca_id) PCA_WUR;

/* ---- health ---- */

/*
 * PCA_OK when writes can be expected to succeed now.  PCA_EIO when the
 * store's filesystem has less than 1 MiB free, or when the last write batch
 * failed for room or I/O (disk full, map at map_max, read-only) and a small
 * probe write (at most one a second) still fails; PCA_EDBFULL for a map at
 * map_max.  The message says why.  For /health: a full disk is reported
 * before and while issuance fails, and clears once a write succeeds.
 */
pca_err store_health(struct store *) PCA_WUR;

/* ---- verification ---- */

struct store_verify_report {
	size_t cas;
	size_t certs;
	size_t pending; /* reserved but never completed */
	size_t revoked;
	size_t audit_entries;
	size_t feed_records; /* change feed records kept */
	size_t errors;
};

/*
 * Walks every record: decodes each, checks the certificate and expiry
 * indexes agree, every revocation names a known certificate, the audit hash
 * chain is unbroken, the change feed has no hole up to its head.  Each
 * problem found is reported through problem(); progress(done, total) is
 * called now and then (either may be NULL).
 */
pca_err store_verify(struct store *, struct store_verify_report *,
    void (*problem)(const char *msg, void *arg),
    void (*progress)(size_t done, size_t total, void *arg), void *arg) PCA_WUR;

#endif
