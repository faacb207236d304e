/*
 * monitor.h - certificate monitoring: the /metrics gauges about what the
 * store holds, the compliance report and expiry notifications by webhook.
 * monitor/ reads the store and asks the engine (ca_info_*); it signs
 * nothing and changes no certificate record.
 *
 * Counts (certificates by CA and status) are never computed on a scrape:
 * a background thread walks the store once at start and then every
 * recount_s, each time at a position of the store's change feed; in
 * between, the feed's records after that position (issuances and
 * revocations by any process, pcactl included) and an expiry index scan of
 * [last pass, now) keep them current.  A scrape applies the records since
 * the last one and copies the counters.
 *
 * Expiry notifications: on every pass (interval_s) the thread scans the
 * expiry index for certificates expiring within the largest threshold.
 * For each issued, unrevoked, unexpired certificate the smallest threshold
 * (days) it has crossed is due unless already recorded; larger thresholds
 * crossed at the same time are recorded as covered (never sent).  A
 * notification is recorded (store_kv, namespace MON_KV_NS, key
 * "CAID/SERIAL/DAYS") only after the receiver answered 2xx, so delivery is
 * at least once per (certificate, threshold) for as long as the
 * certificate is unexpired; a duplicate is possible only when pcad stops
 * between the 2xx and the commit.  Each POST carries the header
 * "Idempotency-Key: CAID/SERIAL/DAYS" (also "id" in the body) for the
 * receiver to deduplicate.  Failures back off exponentially (interval_s
 * doubling, at most 1 hour) and stop the pass.
 */
#ifndef PCA_MONITOR_H
#define PCA_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/err.h"

struct buf;
struct ca_engine;
struct ca_event;
struct pol_set;
struct store;
struct mon;

#define MON_THRESHOLDS_MAX 8
#define MON_KV_NS "mon.webhook"
#define MON_REPORT_ITEMS_MAX 10000 /* entries per report section */
#define MON_RULES_MAX 128          /* (policy, rule) refusal counters */
#define MON_CAS_MAX 4096           /* CAs counted */

struct mon_conf {
	const char *webhook_url;                 /* NULL: no notifications */
	unsigned thresholds[MON_THRESHOLDS_MAX]; /* days, > 0 */
	size_t nthresholds;                      /* 0: 30, 7, 1 */
	unsigned interval_s;                     /* pass period; 0 = 60 */
	unsigned timeout_s;                      /* per POST; 0 = 10 */
	unsigned recount_s; /* full recount period; 0 = 900 */
	/* test seam: replaces the HTTP POST; returns the HTTP status or 0 */
	int (*post)(void *arg, const char *url, const char *json,
	    const char *idem_key);
	void *post_arg;
	/* token health probe (pcad: hsm_health), or NULL */
	pca_err (*health)(void *arg);
	void *health_arg;
};

/* Parses "30,7,1" into c->thresholds (PCA_EINVAL names the fault). */
pca_err mon_thresholds_parse(const char *s, struct mon_conf *c) PCA_WUR;

/* The store must outlive the monitor. */
pca_err mon_new(const struct mon_conf *, struct store *,
    struct mon **out) PCA_WUR;
/* Stops the thread (a POST in flight ends within timeout_s) and frees. */
void mon_free(struct mon *);

/*
 * The engine and the policies to use from now on (either may be NULL);
 * returns once no pass or report uses the previous ones.
 */
void mon_attach(struct mon *, struct ca_engine *, const struct pol_set *);
/* Counts issuances (and their latency) and revocations of this engine. */
pca_err mon_listen(struct mon *, struct ca_engine *) PCA_WUR;
/* Starts the background thread. */
pca_err mon_start(struct mon *) PCA_WUR;
/* One pass now, on the caller's thread (tests; pcactl). */
pca_err mon_pass(struct mon *, int64_t now) PCA_WUR;

/* A policy refusal, from its message "policy NAME: rule RULE: ...". */
void mon_refusal_note(struct mon *, const char *msg);
/* Prometheus text for GET /metrics. */
pca_err mon_metrics_render(struct mon *, struct buf *) PCA_WUR;

/*
 * The compliance report over the live (issued, unrevoked, unexpired)
 * certificates of every CA whose ARN contains scope (NULL: all):
 * {"GeneratedAt", "Summary":{...}, "WeakKeys":[], "Sha1":[],
 * "OutlivingPolicy":[], "ExpiringSoon":[], "CaCertificatesExpiring":[]}.
 * ps may be NULL (then only absolute floors judge keys).
 */
struct mon_report_req {
	struct store *store;
	struct ca_engine *engine;
	const struct pol_set *policies;
	const char *scope;
	int64_t now;
	unsigned soon_days; /* "expiring soon"; 0 = 30 */
};
pca_err mon_report_build(const struct mon_report_req *, json_t **out) PCA_WUR;
/* The same with the attached engine and policies. */
pca_err mon_report(struct mon *, const char *scope, json_t **out) PCA_WUR;
/* The report as a readable table (NUL-terminated in out). */
pca_err mon_report_table(const json_t *report, struct buf *out) PCA_WUR;

#endif
