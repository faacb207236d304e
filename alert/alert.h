/*
 * alert.h - anomaly alerts, fed by the store's typed change feed (never by
 * log text): each issuance by any process is judged against
 *   - its principal's own rolling baseline: the issuances of the current
 *     window (window_s) above max(floor, mean + sigma * stddev) of the
 *     principal's last `history` windows raise "issuance_rate" once per
 *     window;
 *   - "first_template_use": the first issuance under a template by a
 *     principal (access key id, ACME account, "pcactl");
 *   - "ca_template_issuance": any issuance under a CA certificate template;
 *   - "revocation_burst": a CA's revocations in the window above the same
 *     threshold against the CA's own baseline (id "revrate/CA/WINDOW");
 *   - "ocsp_unknown_serial" / "ocsp_unknown_flood": see alert_note_unknown;
 *   - "refusal_spike": requests of a principal refused by one rule (policy
 *     "POLICY:RULE", lint gate "lint:RULE", IAM "iam:OP") in the window above
 *     max(refusal_floor, mean + refusal_sigma * stddev) of that (principal,
 *     rule)'s own baseline (id "refrate/WHO|RULE/WINDOW"); see
 *     alert_refusal_note.
 *
 * Principals are the issuance record's requested_by: an access key id,
 * "acme:ACCOUNT" for an ACME account's orders, "pcactl".
 *
 * An alert's id is derived from the event (e.g. "rate/WHO/WINDOW"), so an
 * event raises exactly one alert however often the feed is read: the alert
 (store_kv ALERT_NS, created only if the id is new) is its own outbox
 * entry: "delivered" false until the webhook receiver answered 2xx to its
 * POST (header Idempotency-Key: the id).  The feed cursor is kept in the
 * store (follower "alert"), so a restart resumes where processing stopped
 * and re-raises nothing.
 */
#ifndef PCA_ALERT_H
#define PCA_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/err.h"

struct buf;
struct store;
struct alert;
struct alert_refusals;

#define ALERT_NS "alert"
#define ALERT_NS_RATE "alert.rate"
#define ALERT_NS_SEEN "alert.seen"
#define ALERT_NS_REFUSALS "alert.refusals"
#define ALERT_REF_SLOTS 256 /* (principal, rule, window) counts a flush */
#define ALERT_HISTORY_MAX 168

struct alert_conf {
	const char *webhook_url;  /* NULL: alerts are only stored */
	unsigned window_s;        /* rate window; 0 = 3600 */
	unsigned history;         /* windows in the baseline; 0 = 24 */
	unsigned sigma;           /* 0 = 3 */
	unsigned floor;           /* least count alerting; 0 = 10 */
	unsigned interval_s;      /* pass period; 0 = 5 */
	unsigned timeout_s;       /* per POST; 0 = 10 */
	unsigned unknown_per_min; /* OCSP unknown-serial alerts a minute;
				     0 = 20 */
	unsigned refusal_sigma;   /* refusal_spike; 0 = 3 */
	unsigned refusal_floor;   /* 0 = 10 */
	/* this process's refusal counts, flushed by each pass (may be NULL;
	   not owned) */
	struct alert_refusals *refusals;
};

pca_err alert_new(const struct alert_conf *, struct store *,
    struct alert **out) PCA_WUR;
pca_err alert_start(struct alert *) PCA_WUR;
/* Stops the thread and frees (NULL: nothing). */
void alert_free(struct alert *);
/* One pass on the caller's thread: the feed since the cursor, then the
 * undelivered alerts. */
pca_err alert_pass(struct alert *, int64_t now) PCA_WUR;
/* pcad_alerts_total{kind}, pcad_alerts_unacknowledged, outbox depth. */
pca_err alert_metrics_render(struct alert *, struct buf *) PCA_WUR;

/*
 * OCSP asked about a serial of CA ca_id that we never issued (the ocsp/
 * unknown hook; arg: the struct alert).  Never blocks nor writes the store:
 * a table of recent (CA, serial) hashes drops repeats, at most
 * unknown_per_min new ones a minute are queued for the alert thread (one
 * "ocsp_unknown_serial" alert each, id "unknown/CA/SERIAL"); beyond that
 * they are only counted, and each pass raises one "ocsp_unknown_flood"
 * alert per minute with the count.
 */
void alert_note_unknown(void *arg, const char *ca_id, const uint8_t *serial,
    size_t len);

/*
 * Refused issuances, counted where they happen (any process with an engine)
 * and read by the alert pass of pcad from the store:
 * alert_refusal_note counts one refusal of who by rule in memory (a mutex,
 * no store access: cheap on the issuing thread, so refused requests cannot
 * be turned into store commits); alert_refusals_flush writes the counts
 * since the last flush as one record (ALERT_NS_REFUSALS), or nothing when
 * there were none; on a store error the counts stay for the next flush.
 * At most ALERT_REF_SLOTS distinct (principal, rule, window) entries are
 * kept between flushes; more are counted as dropped.  window_s: the rate
 * window (0 = 3600) the counts are grouped by.  Thread-safe.
 */
pca_err alert_refusals_new(struct store *, unsigned window_s,
    struct alert_refusals **out) PCA_WUR;
void alert_refusal_note(struct alert_refusals *, const char *who,
    const char *rule, int64_t now);
pca_err alert_refusals_flush(struct alert_refusals *, int64_t now) PCA_WUR;
/* Frees without flushing (NULL: nothing). */
void alert_refusals_free(struct alert_refusals *);

/* Every alert, oldest first (caller decrefs *out). */
pca_err alert_list(struct store *, json_t **out) PCA_WUR;
/* Marks id acknowledged by who.  PCA_ENOTFOUND for an unknown id. */
pca_err alert_ack(struct store *, const char *id, const char *who,
    int64_t now) PCA_WUR;

#endif
