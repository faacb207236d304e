/*
 * backup.h - backups of the appliance (used by pcactl and pcad), the
 * schedule pcad keeps, and the change feed shipped to S3 for
 * point-in-time recovery.
 *
 * A backup is one tar archive (pax, libarchive) holding manifest.json,
 * data.mdb (a compacted copy of the store taken inside one read
 * transaction), pcad.conf, the policy file and the API's public TLS
 * parts; docs/backup.md describes it.  No private key, PIN or TLS server
 * key is ever in it.
 *
 * The feed shipper follows the store's change feed (a cursor named
 * BK_FEED_NAME kept in the store, acknowledged only after the batch is in
 * S3, so nothing is lost across restarts or crashes) and writes each batch
 * as <prefix>/feed/<first>-<last>.json (sequences zero-padded to 20
 * digits, so keys sort in feed order).
 */
#ifndef PCA_BACKUP_H
#define PCA_BACKUP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/err.h"

struct store;
struct sync;
struct sync_conf;
struct ca_engine_conf;
struct buf;

#define BK_FORMAT "openpca-backup"
#define BK_VERSION 1
#define BK_MANIFEST "manifest.json"
#define BK_SMALL_MAX ((size_t)4 << 20) /* manifest, config, policies */
#define BK_PARTS_MAX 8
#define BK_CHUNK 65536
#define BK_COPY_CHUNK ((size_t)1 << 20) /* the store copy, the archive */
#define BK_S3_MAX ((uint64_t)1 << 40)   /* a backup fetched from S3 */
#define BK_FEED_NAME "s3-feed"
#define BK_FEED_FORMAT "openpca-feed"
#define BK_FEED_BATCH_MAX 1000               /* records in one feed object */
#define BK_FEED_OBJ_MAX ((uint64_t)64 << 20) /* one feed object */

struct bk_part {
	char name[32];
	char path[PATH_MAX]; /* the file on disk */
	uint64_t size;
	char sha256[65];
};

struct bk_archive {
	char tmp[PATH_MAX]; /* scratch directory (removed at the end) */
	struct bk_part part[BK_PARTS_MAX];
	size_t nparts;
	json_t *manifest;
	char sha256[65]; /* of the archive bk_make wrote */
	uint64_t size;
};

/* What a backup takes from the configuration. */
struct bk_conf {
	const char *config_path; /* pcad.conf, copied as it is */
	const char *dir;         /* its directory (tls/ is under it) */
	const char *region, *account;
	const char *policy_file;  /* NULL: none */
	const char *api_tls_cert; /* NULL: none */
	const struct ca_engine_conf *engine;
	size_t map_max;       /* [store] map_max */
	const char *work_dir; /* scratch for an archive on its way
				 to S3 (pcad: the store's dir) */
	uint64_t rate;        /* bytes a second the archive is
				 written at, at most, 0: no limit
				 ([backup] rate_mb) */
};

/*
 * Writes a backup of the open store st to file (refused if it exists;
 * written under file.partial and linked into place, so it is complete or
 * absent).  b (zeroed by the caller) keeps the manifest; its scratch
 * directory is made next to file.  Free b with bk_free.  The work is done
 * by a thread of its own at background priority (nice 19, idle I/O
 * class), its files written out as they grow (under 2 MiB waiting at a
 * time, beyond a scratch copy's share of free memory, removed unwritten)
 * and the archive at most c->rate bytes a second, so the store's own
 * commits are not kept waiting behind it.
 */
pca_err bk_make(const struct bk_conf *, struct store *st, const char *file,
    struct bk_archive *b) PCA_WUR;
void bk_free(struct bk_archive *);
pca_err bk_part_add(struct bk_archive *, const char *name,
    const char *path) PCA_WUR;

/* Small file helpers. */
pca_err bk_path_fmt(char *out, const char *a, const char *b) PCA_WUR;
void bk_rm_tree(const char *path);
pca_err bk_file_hash(const char *path, char hex[65], uint64_t *size) PCA_WUR;

/* ---- S3: s3://bucket/key ---- */

struct bk_s3 {
	struct sync *sync;
	char bucket[64];
	char key[1024];
};

int bk_is_s3(const char *where);
/* "s3://bucket/key" into b; key may be empty (a prefix). */
pca_err bk_s3_url_parse(const char *url, struct bk_s3 *b) PCA_WUR;
/* bk_s3_url_parse and a sync of its own (free b->sync with sync_free). */
pca_err bk_s3_open(const char *url, const struct sync_conf *sc,
    struct bk_s3 *b) PCA_WUR;
/* PUTs file to b->key; a (may be NULL: file is hashed) has its hash. */
pca_err bk_s3_upload(struct bk_s3 *b, const char *file,
    const struct bk_archive *a) PCA_WUR;
/* GETs b->key into a new file path (mode 0600). */
pca_err bk_s3_fetch(struct bk_s3 *b, const char *path) PCA_WUR;
/* b->key (a prefix) becomes <prefix>/openpca-<time>-<id>.tar. */
pca_err bk_s3_backup_key(struct bk_s3 *b, const json_t *manifest) PCA_WUR;

/* ---- scheduled backups (pcad) ---- */

struct bk_sched_conf {
	const char *to;             /* s3://bucket/prefix or a directory */
	int64_t interval_s;         /* between backups */
	unsigned keep;              /* backups kept (older ones deleted) */
	int feed;                   /* ship the change feed (S3 only) */
	const struct sync_conf *s3; /* NULL without [s3] */
	struct bk_conf bk;
	const char *holder; /* this primary, in fencing objects */
};

struct bk_metrics {
	int64_t last_ok;    /* epoch s of the last success, 0: none */
	uint64_t last_size; /* bytes of that backup */
	uint64_t failures;
	uint64_t feed_shipped; /* records shipped by this process */
	uint64_t feed_failures;
	uint64_t feed_last;   /* last sequence in S3 */
	int64_t feed_last_ok; /* epoch s */
};

struct bk_sched;

/*
 * The schedule: a thread that backs the store up every interval_s (the
 * first when the newest backup at c->to is older than that), deleting all
 * but the newest keep; and, with c->feed, a thread shipping the change
 * feed to <prefix>/feed/ about every second.  The strings of c must
 * outlive the schedule.
 */
pca_err bk_sched_new(const struct bk_sched_conf *c, struct store *st,
    struct bk_sched **out) PCA_WUR;
pca_err bk_sched_start(struct bk_sched *) PCA_WUR;
void bk_sched_free(struct bk_sched *);
void bk_sched_metrics_get(struct bk_sched *, struct bk_metrics *);
/*
 * Non-zero once the feed shipper saw a higher fencing epoch in S3 than the
 * one this primary holds (another appliance was promoted): msg says who.
 * Shipping has stopped then; pcad refuses every change.
 */
int bk_sched_fenced(struct bk_sched *, char *msg, size_t n);
/* Prometheus text of the pcad_backup_* metrics. */
pca_err bk_sched_metrics_render(struct bk_sched *, struct buf *) PCA_WUR;

/*
 * Ships the feed records after the cursor (at most one batch); *shipped
 * says how many records went (0: nothing new).  For tests and the thread.
 */
pca_err bk_feed_ship_once(struct store *, struct bk_s3 *prefix,
    size_t *shipped) PCA_WUR;

/*
 * Before shipping from a store: when S3 already holds sequences beyond
 * the store's feed head (a store restored without replaying them), the
 * store's feed continues after them (store_feed_advance, cursor there), so
 * no sequence is shipped twice with different changes; logged.
 */
pca_err bk_feed_resume(struct store *, struct bk_s3 *prefix) PCA_WUR;

/* ---- reading the shipped feed (pcactl) ---- */

/* One shipped record; pointers valid during the callback only. */
struct bk_feed_rec {
	uint64_t seq;
	int type; /* enum store_chg_type */
	int64_t when;
	const char *ca_id; /* "" when none */
	const uint8_t *serial;
	size_t serial_len;
	const uint8_t *der; /* issued: the certificate */
	size_t der_len;
	const char *template_name; /* issued */
	const char *requested_by;  /* issued */
	int64_t revoked_at;        /* revoked */
	int reason;
	const char *ca_json; /* CA changed: the record */
};

/*
 * Calls cb for every shipped record with a sequence above after, in
 * sequence order, from every object under <prefix>/feed/ (after =
 * BK_FEED_FROM_FIRST: from the oldest object there); cb returns a
 * pca_err (not PCA_OK stops).  *last (may be NULL) gets the last sequence
 * read.  A hole in the sequences: PCA_EDB naming it.
 */
#define BK_FEED_FROM_FIRST UINT64_MAX /* after: from the oldest kept */
pca_err bk_feed_read(struct bk_s3 *prefix, uint64_t after,
    pca_err (*cb)(const struct bk_feed_rec *, void *arg), void *arg,
    uint64_t *last) PCA_WUR;

/* The last sequence shipped under <prefix>/feed/ (0: none). */
pca_err bk_feed_last(struct bk_s3 *prefix, uint64_t *last) PCA_WUR;
/*
 * The same, knowing that sequence `known` was shipped: lists only the
 * objects that can hold it or later ones (a follower's poll).
 */
pca_err bk_feed_last_after(struct bk_s3 *prefix, uint64_t known,
    uint64_t *last) PCA_WUR;

/* ---- applying it (replay.c: restore, standby, promote) ---- */

struct bk_replay_stats {
	size_t issued, revoked, cas, purged, skipped;
};

/*
 * Applies every shipped record after `after` to st (bk_feed_read's
 * order and hole checks); applying a record twice changes nothing.  n
 * (may be NULL) counts what was applied; *last as bk_feed_read.
 */
pca_err bk_replay(struct store *st, struct bk_s3 *prefix, uint64_t after,
    struct bk_replay_stats *n, uint64_t *last) PCA_WUR;

/* Every CA's CRL number counter raised above its CRL published in S3. */
pca_err bk_crl_numbers_raise(struct store *st, struct sync *sy) PCA_WUR;

/*
 * After a catch-up, before this store ships (promotion): the store's feed
 * head and S3's last shipped sequence lined up.  Head below S3's last:
 * the store's feed continues after it.  Head above it (the standby's own
 * records of what it applied): placeholder records (type KEY, no data)
 * fill S3's feed up to the head.  The shipping cursor is set there, so
 * what this store records next is shipped next.
 */
pca_err bk_feed_align(struct store *st, struct bk_s3 *prefix) PCA_WUR;

/* ---- warm standby and fencing (standby.c) ---- */

#define BK_FENCE_COUNTER "fence/epoch"       /* the epoch a store holds */
#define BK_STANDBY_COUNTER "standby/applied" /* last shipped seq applied */
#define BK_HOLDER_MAX 256

struct bk_fence {
	uint64_t epoch;             /* 0: no epoch in S3 yet */
	char holder[BK_HOLDER_MAX]; /* who took it (host and API port) */
};

/* "<host name> (API <listen>)": who holds an epoch. */
void bk_holder_name(const char *api_listen, char *out, size_t n);
/* The highest epoch under <prefix>/fence/ and its holder. */
pca_err bk_fence_get(struct bk_s3 *prefix, struct bk_fence *f) PCA_WUR;
/*
 * Takes epoch: a create-only PUT of <prefix>/fence/epoch-<N>.json, read
 * back; PCA_EEXISTS when someone else holds it.
 */
pca_err bk_fence_take(struct bk_s3 *prefix, uint64_t epoch,
    const char *holder) PCA_WUR;
/* The epoch this store holds (0: none), and raising it. */
pca_err bk_fence_local(struct store *, uint64_t *epoch) PCA_WUR;
pca_err bk_fence_local_set(struct store *, uint64_t epoch) PCA_WUR;
/*
 * A primary starting: PCA_ESTATE ("fenced: ...", naming the holder) when
 * S3 holds a higher epoch than the store; when S3 holds none or a lower
 * one, takes the store's (1 at the first start).  *epoch: the one held.
 */
pca_err bk_fence_claim(struct store *, struct bk_s3 *prefix, const char *holder,
    uint64_t *epoch) PCA_WUR;

/*
 * Applies what was shipped after the store's BK_STANDBY_COUNTER (all of
 * it when unset) and moves the counter; *applied: the last sequence
 * applied.
 */
pca_err bk_standby_catch_up(struct store *, struct bk_s3 *prefix,
    struct bk_replay_stats *n, uint64_t *applied) PCA_WUR;
/* Records that the shipped feed up to seq is in the store (restore). */
pca_err bk_standby_applied_set(struct store *, uint64_t seq) PCA_WUR;

struct bk_standby_status {
	uint64_t applied; /* last shipped sequence applied */
	uint64_t shipped; /* last shipped, as of the last poll */
	int64_t lag_s;    /* since everything was applied */
	int64_t last_ok;  /* epoch s of the last good poll */
	uint64_t failures;
	uint64_t epoch;              /* the primary's fencing epoch */
	char primary[BK_HOLDER_MAX]; /* its holder ("" when unknown) */
};

struct bk_standby;

/*
 * pcad --role standby: a thread that applies the feed shipped under the
 * S3 prefix `to` about every second.  to and s3 must outlive it.
 */
pca_err bk_standby_new(const char *to, const struct sync_conf *s3,
    struct store *st, struct bk_standby **out) PCA_WUR;
pca_err bk_standby_start(struct bk_standby *) PCA_WUR;
void bk_standby_free(struct bk_standby *);
void bk_standby_status_get(struct bk_standby *, struct bk_standby_status *);
pca_err bk_standby_metrics_render(struct bk_standby *, struct buf *) PCA_WUR;

#endif
