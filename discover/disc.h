/*
 * disc.h - certificate discovery: TLS endpoints named by configuration are
 * contacted (never anything else), the chains they present are recorded in
 * the store next to our own certificates.
 *
 * Records (store_kv):
 *   DISC_NS_EXT  SHA-256 hex of the DER -> an external certificate:
 *                {"der":BASE64,"source":"scan"|"import","first_seen":T,
 *                 "last_seen":T,"endpoints":[{"where","sni","first","last"}]}
 *   DISC_NS_OURS "CAID/SERIALHEX" -> {"endpoints":[...]}: where one of our
 *                certificates was seen (the certificate record is untouched)
 * A certificate seen again updates its endpoint entry (no duplicates).
 *
 * Scanning: at most DISC_TARGETS_MAX endpoints per run; `concurrency`
 * threads; each connection bounded by timeout_ms (connect, STARTTLS and
 * handshake each); connection starts spaced to at most `rate` per second.
 * The peer's chain is taken as presented; nothing is verified (discovery
 * reports, it does not trust).
 */
#ifndef PCA_DISC_H
#define PCA_DISC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/err.h"

struct store;

#define DISC_NS_EXT "disc.ext"
#define DISC_NS_OURS "disc.ours"
#define DISC_TARGETS_MAX 4096
#define DISC_CHAIN_MAX 10     /* certificates kept per endpoint */
#define DISC_CERT_MAX 16384   /* DER bytes per certificate */
#define DISC_ENDPOINTS_MAX 64 /* endpoints kept per certificate */
#define DISC_HOST_MAX 255

enum disc_starttls {
	DISC_TLS = 0,
	DISC_SMTP,
	DISC_IMAP,
	DISC_POSTGRES,
};

struct disc_target {
	char host[DISC_HOST_MAX + 1];
	char port[8];
	char sni[DISC_HOST_MAX + 1]; /* "" = none */
	enum disc_starttls starttls;
};

/* The endpoints of one run, built from the configured lists only. */
struct disc_targets {
	struct disc_target *t;
	size_t n;
};

struct disc_spec {
	const char *const *hostports; /* "host:port" or "[v6]:port" */
	size_t nhostports;
	const char *cidr;     /* "10.0.0.0/28" (IPv4, /16 or longer) */
	const char *ports;    /* "443,8443" for the CIDR hosts */
	const char *sni;      /* SNI for every target; NULL none */
	const char *starttls; /* smtp|imap|postgres; NULL: TLS */
};

/* Expands spec into out (free with disc_targets_free). PCA_EINVAL names
 * the bad item; PCA_ETOOBIG beyond DISC_TARGETS_MAX endpoints. */
pca_err disc_targets_build(const struct disc_spec *,
    struct disc_targets *out) PCA_WUR;
/* Adds the lines of a targets file ("host:port" per line, # comments). */
pca_err disc_targets_file(const char *path, const struct disc_spec *,
    struct disc_targets *out) PCA_WUR;
void disc_targets_free(struct disc_targets *);
pca_err disc_starttls_parse(const char *, enum disc_starttls *) PCA_WUR;

struct disc_conf {
	unsigned concurrency; /* threads; 0 = 8 */
	unsigned timeout_ms;  /* per phase; 0 = 5000 */
	unsigned rate;        /* connection starts per second; 0 = 20 */
};

/* What one endpoint presented. */
struct disc_result {
	const struct disc_target *target;
	int ok;                       /* a handshake completed */
	char error[160];              /* when !ok */
	uint8_t *der[DISC_CHAIN_MAX]; /* leaf first */
	size_t len[DISC_CHAIN_MAX];
	size_t n;
};

/*
 * Contacts every target (and nothing else); results[i] belongs to
 * targets->t[i] (free with disc_results_free).
 */
pca_err disc_scan(const struct disc_conf *, const struct disc_targets *,
    struct disc_result **results) PCA_WUR;
void disc_results_free(struct disc_result *, size_t n);

/* Where and how a certificate was seen. */
struct disc_seen {
	const char *where;  /* "host:port", or the file name of an import */
	const char *sni;    /* may be NULL */
	const char *source; /* "scan" or "import" */
	int64_t when;
};

struct disc_import_stats {
	size_t ours, external, new_external;
};

/*
 * Records one certificate: ours (matched to its store record by CA and
 * serial and the same DER) gets the endpoint added under DISC_NS_OURS,
 * anything else is kept under DISC_NS_EXT.  ca_of (may be NULL) names the
 * CA (id into ca_id) when der is one of our CA certificates, which then
 * count as ours and are not recorded.
 */
struct disc_ours {
	int (*ca_of)(void *arg, const uint8_t *der, size_t len, char ca_id[37]);
	void *arg;
};
pca_err disc_record(struct store *, const struct disc_ours *,
    const uint8_t *der, size_t len, const struct disc_seen *,
    struct disc_import_stats *) PCA_WUR;

/* PEM (one or more CERTIFICATE blocks) or DER in p: each certificate. */
pca_err disc_parse_certs(const uint8_t *p, size_t n,
    int (*cb)(const uint8_t *der, size_t len, void *arg), void *arg) PCA_WUR;

/* One external certificate as listed (borrowed during the callback). */
struct disc_ext {
	const char *fp; /* SHA-256 hex */
	const uint8_t *der;
	size_t der_len;
	const json_t *rec; /* the record (see above) */
};
/* Calls cb for every external certificate; non-zero from cb stops. */
pca_err disc_ext_foreach(struct store *,
    int (*cb)(const struct disc_ext *, void *arg), void *arg) PCA_WUR;
/* Calls cb for the external certificate of fingerprint fp (SHA-256 hex);
 * PCA_ENOTFOUND when there is none, PCA_EPARSE when its record is bad. */
pca_err disc_ext_get(struct store *, const char *fp,
    void (*cb)(const struct disc_ext *, void *arg), void *arg) PCA_WUR;
/* The endpoints one of our certificates was seen at (caller decrefs),
 * an empty array when none. */
pca_err disc_ours_seen(struct store *, const char *ca_id, const char *serial,
    json_t **out) PCA_WUR;

/*
 * An inventory item of an external certificate: {"Fingerprint","Source":
 * "EXTERNAL","Subject","Issuer","Serial","NotBefore","NotAfter","Status"
 * (ISSUED|EXPIRED),"SeenAt":[...],"Findings":[...]} where Findings lists
 * WEAK_KEY, SHA1, EXPIRED, SELF_SIGNED (and the caller may add
 * UNKNOWN_ISSUER).  NULL on a certificate that does not parse.
 */
json_t *disc_ext_item(const struct disc_ext *, int64_t now);

/* The scheduled job of pcad ([discovery]): a thread scanning every
 * interval_s and recording what it finds. */
struct disc_job_conf {
	struct disc_conf scan;
	struct disc_targets targets; /* owned by the job once started */
	unsigned interval_s;         /* 0 = 3600 */
	struct disc_ours ours;
};
struct disc_job;
pca_err disc_job_start(struct disc_job_conf *, struct store *,
    struct disc_job **out) PCA_WUR;
void disc_job_stop(struct disc_job *);

#endif
