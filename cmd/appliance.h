/*
 * appliance.h - the appliance configuration (pcad.conf) shared by pcad and
 * pcactl: parsed and validated whole, then handed out per subsystem.
 *
 *   [appliance] region, account_id, partition
 *   [hsm]       module, token, pin_file | pin_env, module_env, sessions,
 *               key_storage_standard (the token's certification as the
 *               operator states it; absent: none claimed)
 *   [store]     path, map_size_mb, map_max_mb, feed_min_age_s (change feed
 *               records every follower has read are kept this long; 3600),
 *               feed_max_age_days (and none longer, read or not; 30)
 *   [api]       listen (host:port), tls_cert, tls_key, max_connections
 *               (per listener, both ports; 4096), timeout_s (idle)
 *   [http]      listen (host:port) - OCSP, CRLs, /health, /metrics;
 *               header_timeout_s (TLS handshake + request head, 10),
 *               per_ip_connections (per source address and port, 256;
 *               0: no cap) - both apply to both ports
 *   [ocsp]      url (AIA default), validity_hours, refresh_hours, signer
 *               (delegated|ca), signer_days, nonce (honour|ignore),
 *               nonce_budget (fresh signatures per second), cache_mb,
 *               publish (s3://BUCKET/PREFIX: responses to S3; absent: no)
 *   [responder] cache (the responder role's LMDB directory;
 *               responder-cache), poll_ms (manifest poll, 1000),
 *               crl_bucket (GET /crl/<key> from there; the publish bucket)
 *   [crl]       url_base (CDP default host), delta, delta_base_s,
 *               publish_delay_ms, poll_ms, partition_size
 *   [s3]        endpoint, region, path_style, credentials_file,
 *               retry_max_s, timeout_s
 *   [audit]     min_interval_s
 *   [log]       level (warn, info, debug), target (stderr, journal)
 *   [policy]    file (issuance policies and their bindings; see
 *               conf/policies.example; absent: built-ins, none bound)
 *   [webhook]   url (expiry notifications; absent: none), thresholds_days
 *               ("30,7,1"), interval_s (monitor pass), timeout_s
 *   [monitor]   recount_s (full recount of the certificate counters)
 *   [approval]  operations (comma list: CreateCertificateAuthority, ...,
 *               IssueCertificate:CA), approvers (access key ids or
 *               operator:NAME), quorum (default 2), expiry_hours (24)
 *   [ca]        rotate_before_days (scheduled key rotation; 0 = off)
 *   [process]   separate (pcad signs in a process of its own; yes),
 *               user (the user pcad's processes drop to when started as
 *               root), signer_group (a group only the signer gets: the
 *               token directory's), seccomp (the front's system call
 *               filter with a separated signer; yes)
 *   [acme]      enabled (no), base_url (https://<api listen>), http01_port
 *               (80), tlsalpn01_port (443), validation_addr (connect
 *               validations here instead of resolving; tests),
 *               validity_days (90), timeout_s (per attempt, 10),
 *               eab_required (no: newAccount needs an EAB key of
 *               pcactl acme eab create), resolver (dns-01 and CAA:
 *               IP[:port],...; /etc/resolv.conf), caa_identities (issuer
 *               domain names for CAA; absent: no CAA checking)
 *   [console]   enabled (yes: the web console under /console/ on the API
 *               port), session_minutes (idle expiry, 30),
 *               session_max_hours (absolute expiry, 12)
 *   [discovery] targets (host:port,...), cidr + ports, sni, starttls,
 *               interval_s (3600), concurrency (8), timeout_ms (5000),
 *               rate (connections per second, 20): pcad's scheduled scan
 *   [alerts]    enabled (no), window_s (3600), history (windows, 24),
 *               sigma (3), floor (10), interval_s (5),
 *               ocsp_unknown_per_min (20): anomaly alerts to
 *               the [webhook] url
 *
 * Relative paths are relative to the directory of pcad.conf.
 */
#ifndef PCA_CMD_APPLIANCE_H
#define PCA_CMD_APPLIANCE_H

#include "../acme/acme.h"
#include "../alert/alert.h"
#include "../console/console.h"
#include "../api/api.h"
#include "../ca/ca.h"
#include "../crl/crl.h"
#include "../discover/disc.h"
#include "../common/conf.h"
#include "../hsm/hsm.h"
#include "../monitor/monitor.h"
#include "../ocsp/ocsp.h"
#include "../policy/policy.h"
#include "../store/store.h"

struct appliance_conf {
	struct conf *conf; /* the parsed file (owns the strings below) */
	char *dir;         /* directory of the config file */
	const char *region;
	const char *account;
	struct hsm_conf hsm;
	char *hsm_pin_file;
	struct store_conf store;
	char *store_path;
	long long feed_min_age_s; /* change feed pruning (pcad) */
	long long feed_max_age_s;
	struct ca_engine_conf engine;
	const char *api_listen;
	char *api_tls_cert;
	char *api_tls_key;
	unsigned api_max_conns;
	unsigned api_timeout_s;
	const char *http_listen;
	unsigned http_header_timeout_s;
	unsigned http_per_ip_conns;
	struct ocsp_conf ocsp;
	const char *s3_endpoint;
	const char *s3_region;
	int s3_path_style;
	char *s3_credentials_file;
	unsigned s3_retry_max_s;
	unsigned s3_timeout_s;
	struct crl_conf crl;
	int log_level;
	int log_journal;         /* [log] target = journal */
	char *policy_file;       /* NULL: built-in policies, none bound */
	struct mon_conf monitor; /* [webhook], [monitor] */
	struct api_approval_conf approval; /* [approval] */
	char *backup_to;                   /* [backup] to: s3://... or a dir */
	long long backup_interval_s;       /* [backup] interval_hours */
	unsigned backup_keep;              /* [backup] keep */
	int backup_feed;                   /* [backup] feed = on */
	long long backup_rate_mb;          /* [backup] rate_mb, 0: no limit */
	int proc_separate;                 /* [process] */
	int proc_seccomp;
	const char *proc_user;
	const char *proc_signer_group;
	int acme_enabled; /* [acme] */
	struct acme_conf acme;
	char acme_base[300];
	char *responder_cache; /* [responder] (pcad --role responder) */
	unsigned responder_poll_ms;
	const char *responder_crl_bucket;
	struct con_conf console;        /* [console] */
	int discovery_on;               /* [discovery] targets or cidr given */
	struct disc_job_conf discovery; /* targets owned until started */
	int alerts_on;                  /* [alerts] enabled */
	struct alert_conf alerts;       /* webhook: [webhook] url */
};

/*
 * Every "section.key" the parser accepts, NULL-terminated (static; the
 * list pcad --list-config-keys prints and pcad.conf(5) is checked against).
 */
const char *const *appliance_conf_keys(void);

pca_err appliance_conf_load(const char *path,
    struct appliance_conf *out) PCA_WUR;
void appliance_conf_free(struct appliance_conf *);

struct bk_conf;
struct bk_sched_conf;
struct sync_conf;
/* What a backup (backup/backup.h) takes from a configuration. */
void appliance_backup_conf(const struct appliance_conf *,
    const char *config_path, struct bk_conf *out);
/* pcad's [backup] schedule; *s3 is filled for out->s3 (keep both). */
void appliance_backup_sched_conf(const struct appliance_conf *,
    const char *config_path, struct sync_conf *s3, struct bk_sched_conf *out);

/* An open appliance: token, store and engine, ready to use. */
struct appliance {
	struct appliance_conf conf;
	struct hsm *hsm;
	struct store *store;
	struct ca_engine *engine;
	struct pol_set *policies; /* judged on every issuance */
	/* refused issuances for alert/ ([alerts] enabled; else NULL):
	   flushed by pcad's alert pass and by appliance_close */
	struct alert_refusals *refusals;
};

/*
 * Loads the config and opens store, engine and token (pcactl's way: the
 * token is logged in to at the first command that needs it, so commands
 * that only read never log in next to a running pcad; see
 * hsm_conf.defer_login).
 */
pca_err appliance_open(const char *config_path, struct appliance *out) PCA_WUR;
/*
 * The same with a token already opened (taken over), or, hsm NULL, opened
 * and logged in to at once (pcad's way: a bad token fails the start).
 */
pca_err appliance_open_hsm(const char *config_path, struct hsm *hsm,
    struct appliance *out) PCA_WUR;
void appliance_close(struct appliance *);

/*
 * The policy set of a configuration, and installing it as an engine's
 * policy judge (the set must outlive the engine's use of it).  pcad's
 * reload uses these for the engine it builds.
 */
pca_err appliance_policies_load(const struct appliance_conf *,
    struct pol_set **out) PCA_WUR;
void appliance_policies_attach(struct ca_engine *, struct pol_set *);
/*
 * Called with the message of every policy refusal (for the metrics; set
 * once, before any engine is shared).
 */
void appliance_policies_on_refusal(void (*fn)(void *arg, const char *msg),
    void *arg);

#endif
