/* mon_int.h - shared between the files of monitor/. */
#ifndef PCA_MON_INT_H
#define PCA_MON_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "../store/store.h"
#include "monitor.h"

#define MON_DAY 86400
#define MON_LAT_BUCKETS 12   /* 11 bounds + +Inf */
#define MON_SCAN_MAX 1000000 /* certificates examined per window scan */

/* What is counted about one CA. */
struct mon_ca {
	char uuid[37];
	int64_t active, expired, revoked, pending;
	int64_t exp7, exp30;  /* live, expiring within 7 / 30 days */
	int64_t rsp7, rsp30;  /* the same, delegated OCSP responder
				 certificates (counted apart) */
	int64_t ca_not_after; /* CA certificate; 0 = none */
};

struct mon_rule {
	char policy[64];
	char rule[48];
	uint64_t n;
};

struct mon {
	struct mon_conf conf;
	char *url;
	struct store *store;

	pthread_mutex_t lk; /* engine, policies; held by a pass */
	struct ca_engine *engine;
	const struct pol_set *policies;

	pthread_mutex_t cnt_lk; /* everything counted below */
	struct mon_ca *cas;
	size_t ncas;
	struct mon_rule rules[MON_RULES_MAX];
	size_t nrules;
	uint64_t rules_dropped;
	int64_t last_recount; /* 0: never */
	int64_t last_pass;
	double pass_dur; /* duration of the last pass, s */

	_Atomic uint64_t lat[MON_LAT_BUCKETS];
	_Atomic uint64_t lat_sum_us;
	_Atomic int hsm_ok; /* -1 unknown */
	_Atomic int64_t hsm_checked;
	_Atomic uint64_t wh_sent, wh_failed, wh_covered;
	_Atomic uint64_t wh_pending; /* due at the last pass, not sent */
	unsigned wh_fails;           /* consecutive; thread only */
	int64_t wh_next_try;         /* backoff; thread only */

	pthread_mutex_t feed_lk; /* the fields below; lk, then it */
	uint64_t feed_seq;       /* the counts stand at this record */
	int feed_on;             /* feed_seq set by a recount */
	int feed_followed;       /* our cursor registered */
	int64_t feed_acked_at;

	pthread_t thread;
	int running;
	pthread_mutex_t stop_lk;
	pthread_cond_t stop_cv;
	clockid_t cv_clock; /* of stop_cv's timeouts */
	int stop;
};

#define MON_FEED_NAME "monitor" /* our change feed cursor */

/*
 * follow.c: applies the change feed records after feed_seq to the counts
 * (wait 0: not when another thread is at it).  Returns 0 when the counts
 * need a recount first (none yet, or records were pruned unread).
 */
int mon_feed_apply(struct mon *, int64_t now, int wait);
/* The feed head, registering our cursor first (feed_lk held). */
pca_err mon_feed_head(struct mon *, uint64_t *head) PCA_WUR;

/* The CA's counters (created when new); cnt_lk held.  NULL: table full. */
struct mon_ca *mon_ca_get(struct mon *, const char *uuid);

/*
 * True for a delegated OCSP responder certificate the appliance issued
 * itself (ocsp/signer.c, rolled over automatically): kept out of the
 * expiry counts, the report's ExpiringSoon and the webhook.
 */
int mon_cert_is_responder(const struct store_cert *);

/* Webhook (webhook.c). */
struct mon_due {
	const char *ca_uuid;
	const char *ca_arn;
	const uint8_t *serial;
	size_t serial_len;
	int64_t not_after;
	int64_t now;
	unsigned days;      /* the threshold sent */
	const uint8_t *der; /* for the subject; may be NULL */
	size_t der_len;
	const char *fp;      /* external (discover/): SHA-256 hex;
				ca_uuid, ca_arn unused */
	const char *seen_at; /* external: an endpoint, or NULL */
};
/* 1 when the receiver answered 2xx, else 0 (logged). */
int mon_webhook_send(struct mon *, const struct mon_due *);
/*
 * Handles one live certificate with left seconds to go: 0 nothing due,
 * 1 sent, -1 a failed attempt (stop sending), 2 due but send is 0.
 */
int mon_webhook_cert(struct mon *, struct mon_due *, int64_t left, int send);
/*
 * The same for the external certificates (discover/) expiring before
 * horizon; *send cleared on a failed attempt, *pending counts those due.
 */
pca_err mon_webhook_external(struct mon *, int64_t now, int64_t horizon,
    int *send, uint64_t *pending) PCA_WUR;

#endif
