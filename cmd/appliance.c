#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../backup/backup.h"
#include "../sync/sync.h"
#include "../common/log.h"
#include "../common/util.h"
#include "appliance.h"

static const char *const known_keys[] = {"appliance.region",
    "appliance.account_id", "appliance.partition", "hsm.module", "hsm.token",
    "hsm.pin_file", "hsm.pin_env", "hsm.module_env", "hsm.sessions",
    "hsm.key_storage_standard", "store.path", "store.map_size_mb",
    "store.map_max_mb", "store.feed_min_age_s", "store.feed_max_age_days",
    "api.listen", "api.tls_cert", "api.tls_key", "api.max_connections",
    "api.timeout_s", "http.listen", "http.header_timeout_s",
    "http.per_ip_connections", "ocsp.url", "ocsp.validity_hours",
    "ocsp.refresh_hours", "ocsp.signer", "ocsp.signer_days", "ocsp.nonce",
    "ocsp.nonce_budget", "ocsp.cache_mb", "ocsp.publish", "ocsp.publish_acl",
    "responder.cache", "responder.poll_ms", "responder.crl_bucket",
    "crl.url_base", "crl.delta", "crl.delta_base_s", "crl.publish_delay_ms",
    "crl.poll_ms", "crl.partition_size", "audit.min_interval_s",
    "s3.retry_max_s", "s3.timeout_s", "s3.endpoint", "s3.region",
    "s3.path_style", "s3.credentials_file", "log.level", "log.target",
    "policy.file", "webhook.url", "webhook.thresholds_days",
    "webhook.interval_s", "webhook.timeout_s", "monitor.recount_s",
    "approval.operations", "approval.approvers", "approval.quorum",
    "approval.expiry_hours", "ca.rotate_before_days", "backup.to",
    "backup.interval_hours", "backup.keep", "backup.feed", "backup.rate_mb",
    "process.separate", "process.user", "process.signer_group",
    "process.seccomp", "acme.enabled", "acme.base_url", "acme.http01_port",
    "acme.tlsalpn01_port", "acme.validation_addr", "acme.validity_days",
    "acme.timeout_s", "acme.eab_required", "acme.resolver",
    "acme.caa_identities", "acme.keep_days", "console.enabled",
    "console.session_minutes", "console.session_max_hours", "discovery.targets",
    "discovery.cidr", "discovery.ports", "discovery.sni", "discovery.starttls",
    "discovery.interval_s", "discovery.concurrency", "discovery.timeout_ms",
    "discovery.rate", "alerts.enabled", "alerts.window_s", "alerts.history",
    "alerts.sigma", "alerts.floor", "alerts.interval_s",
    "alerts.ocsp_unknown_per_min", "alerts.refusal_sigma",
    "alerts.refusal_floor", NULL};

const char *const *
appliance_conf_keys(void)
{
	return known_keys;
}

static pca_err
require(const struct conf *c, const char *sect, const char *key,
    const char **out)
{
	if ((*out = conf_get0(c, sect, key)) == NULL || **out == '\0')
		return pca_err_set(PCA_EINVAL, "%s: [%s] %s is required",
		    conf_name(c), sect, key);
	return PCA_OK;
}

static pca_err
load_identity(struct appliance_conf *a)
{
	const char *p;
	long long n;
	pca_err err;

	if ((err = require(a->conf, "appliance", "region", &a->region)) !=
		PCA_OK ||
	    (err = require(a->conf, "appliance", "account_id", &a->account)) !=
		PCA_OK)
		return err;
	if (strlen(a->account) != 12 || strspn(a->account, "0123456789") != 12)
		return pca_err_set(PCA_EINVAL,
		    "%s: [appliance] account_id must be 12 digits",
		    conf_name(a->conf));
	for (p = a->region; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			*p == '-'))
			return pca_err_set(PCA_EINVAL,
			    "%s: [appliance] region '%s' is not a region name",
			    conf_name(a->conf), a->region);
	a->engine.partition =
	    conf_str(a->conf, "appliance", "partition", "aws");
	if ((err = conf_num(a->conf, "ca", "rotate_before_days", 0, 36500, 0,
		 &n)) != PCA_OK)
		return err;
	a->engine.rotate_before_days = (unsigned)n;
	return PCA_OK;
}

static pca_err
load_hsm_store(struct appliance_conf *a)
{
	long long n, sz, mx;
	pca_err err;

	if ((err = require(a->conf, "hsm", "module", &a->hsm.module)) !=
		PCA_OK ||
	    (err = require(a->conf, "hsm", "token", &a->hsm.token)) != PCA_OK)
		return err;
	if ((err = conf_path(a->conf, "hsm", "pin_file", NULL,
		 &a->hsm_pin_file)) != PCA_OK)
		return err;
	a->hsm.pin_file = a->hsm_pin_file;
	a->hsm.pin_env = conf_get0(a->conf, "hsm", "pin_env");
	if (a->hsm.pin_file == NULL && a->hsm.pin_env == NULL)
		return pca_err_set(PCA_EINVAL,
		    "%s: [hsm] needs pin_file or pin_env", conf_name(a->conf));
	a->hsm.module_env = conf_get0(a->conf, "hsm", "module_env");
	if ((err = conf_num(a->conf, "hsm", "sessions", 1, 64, 4, &n)) !=
	    PCA_OK)
		return err;
	a->hsm.sessions = (unsigned)n;
	a->engine.key_storage =
	    conf_get0(a->conf, "hsm", "key_storage_standard");
	if (a->engine.key_storage != NULL &&
	    strcmp(a->engine.key_storage, "FIPS_140_2_LEVEL_3_OR_HIGHER") &&
	    strcmp(a->engine.key_storage, "FIPS_140_2_LEVEL_2_OR_HIGHER") &&
	    strcmp(a->engine.key_storage, "CCPC_LEVEL_1_OR_HIGHER"))
		return pca_err_set(PCA_EINVAL,
		    "%s: [hsm] key_storage_standard "
		    "must be FIPS_140_2_LEVEL_3_OR_HIGHER, "
		    "FIPS_140_2_LEVEL_2_OR_HIGHER or CCPC_LEVEL_1_OR_HIGHER",
		    conf_name(a->conf));
	if ((err = conf_path(a->conf, "store", "path", "data",
		 &a->store_path)) != PCA_OK ||
	    (err = conf_num(a->conf, "store", "map_size_mb", 1, 1 << 20, 64,
		 &sz)) != PCA_OK ||
	    (err = conf_num(a->conf, "store", "map_max_mb", 1, 1 << 24, 65536,
		 &mx)) != PCA_OK)
		return err;
	if (mx < sz)
		return pca_err_set(PCA_EINVAL,
		    "%s: [store] map_max_mb is smaller than map_size_mb",
		    conf_name(a->conf));
	if ((err = conf_num(a->conf, "store", "feed_min_age_s", 0, 86400, 3600,
		 &a->feed_min_age_s)) != PCA_OK ||
	    (err = conf_num(a->conf, "store", "feed_max_age_days", 1, 3650, 30,
		 &n)) != PCA_OK)
		return err;
	a->feed_max_age_s = n * 86400;
	a->store.path = a->store_path;
	a->store.map_size = (size_t)sz << 20;
	a->store.map_max = (size_t)mx << 20;
	return PCA_OK;
}

static pca_err
load_ocsp(struct appliance_conf *a)
{
	const char *f = conf_name(a->conf), *s;
	long long v, rf, d, b, cm;
	pca_err err;

	ocsp_conf_default(&a->ocsp);
	if ((err = conf_num(a->conf, "ocsp", "validity_hours", 8, 240, 24,
		 &v)) != PCA_OK ||
	    (err = conf_num(a->conf, "ocsp", "refresh_hours", 0, 96, 0, &rf)) !=
		PCA_OK ||
	    (err = conf_num(a->conf, "ocsp", "signer_days", 2, 3650, 30, &d)) !=
		PCA_OK ||
	    (err = conf_num(a->conf, "ocsp", "nonce_budget", 0, 1000000, 200,
		 &b)) != PCA_OK ||
	    (err = conf_num(a->conf, "ocsp", "cache_mb", 0, 65536, 64, &cm)) !=
		PCA_OK)
		return err;
	a->ocsp.cache_mb = (unsigned)cm;
	a->ocsp.validity_s = (unsigned)(v * 3600);
	a->ocsp.refresh_s = (unsigned)(rf * 3600);
	a->ocsp.signer_days = (unsigned)d;
	a->ocsp.nonce_budget = (unsigned)b;
	s = conf_str(a->conf, "ocsp", "signer", "delegated");
	if (strcmp(s, "delegated") == 0)
		a->ocsp.signer = OCSP_SIGNER_DELEGATED;
	else if (strcmp(s, "ca") == 0)
		a->ocsp.signer = OCSP_SIGNER_CA;
	else
		return pca_err_set(PCA_EINVAL,
		    "%s: [ocsp] signer must be delegated or ca", f);
	s = conf_str(a->conf, "ocsp", "nonce", "honour");
	if (strcmp(s, "honour") != 0 && strcmp(s, "ignore") != 0)
		return pca_err_set(PCA_EINVAL,
		    "%s: [ocsp] nonce must be honour or ignore", f);
	a->ocsp.nonce_ignore = strcmp(s, "ignore") == 0;
	if ((err = ocsp_conf_check(&a->ocsp)) != PCA_OK)
		return pca_err_set(err, "%s: %s", f, pca_err_msg());
	return PCA_OK;
}

static pca_err
load_crl(struct appliance_conf *a)
{
	long long n[7];
	pca_err err;

	if ((err = conf_bool(a->conf, "crl", "delta", 0, &a->crl.delta)) ||
	    (err = conf_num(a->conf, "crl", "delta_base_s", 1, 86400 * 30, 3600,
		 &n[0])) ||
	    (err = conf_num(a->conf, "crl", "publish_delay_ms", 0, 600000, 200,
		 &n[1])) ||
	    (err = conf_num(a->conf, "crl", "poll_ms", 50, 600000, 1000,
		 &n[2])) ||
	    (err = conf_num(a->conf, "crl", "partition_size", 1, 100000000,
		 CRL_PARTITION_DEFAULT, &n[3])) ||
	    (err = conf_num(a->conf, "audit", "min_interval_s", 0, 86400, 1800,
		 &n[4])) ||
	    (err = conf_num(a->conf, "s3", "retry_max_s", 1, 86400, 900,
		 &n[5])) ||
	    (err = conf_num(a->conf, "s3", "timeout_s", 1, 3600, 30, &n[6])))
		return err;
	a->crl.delta_base_s = (unsigned)n[0];
	a->crl.publish_delay_ms = (unsigned)n[1];
	a->crl.poll_ms = (unsigned)n[2];
	a->crl.partition_size = (uint64_t)n[3];
	a->crl.audit_min_interval_s = (unsigned)n[4];
	a->crl.account = a->account;
	a->s3_retry_max_s = (unsigned)n[5];
	a->s3_timeout_s = (unsigned)n[6];
	return PCA_OK;
}

static pca_err
load_console(struct appliance_conf *a)
{
	long long n[2];
	pca_err err;

	if ((err = conf_bool(a->conf, "console", "enabled", 1,
		 &a->console.enabled)) ||
	    (err = conf_num(a->conf, "console", "session_minutes", 1, 1440, 30,
		 &n[0])) ||
	    (err = conf_num(a->conf, "console", "session_max_hours", 1, 168, 12,
		 &n[1])))
		return err;
	a->console.idle_s = (unsigned)n[0] * 60;
	a->console.max_s = (unsigned)n[1] * 3600;
	return PCA_OK;
}

static pca_err
load_acme(struct appliance_conf *a)
{
	long long n[4], keep;
	pca_err err;

	if ((err = conf_num(a->conf, "acme", "keep_days", 0, 3650, 30,
		 &keep)) != PCA_OK)
		return err;
	a->acme.keep_days = (unsigned)keep;
	if ((err = conf_bool(a->conf, "acme", "enabled", 0,
		 &a->acme_enabled)) ||
	    (err = conf_bool(a->conf, "acme", "eab_required", 0,
		 &a->acme.eab_required)) ||
	    (err = conf_num(a->conf, "acme", "http01_port", 1, 65535, 80,
		 &n[0])) ||
	    (err = conf_num(a->conf, "acme", "tlsalpn01_port", 1, 65535, 443,
		 &n[1])) ||
	    (err = conf_num(a->conf, "acme", "validity_days", 1, 3650, 90,
		 &n[2])) ||
	    (err = conf_num(a->conf, "acme", "timeout_s", 1, 120, 10, &n[3])))
		return err;
	a->acme.http01_port = (unsigned)n[0];
	a->acme.tlsalpn01_port = (unsigned)n[1];
	a->acme.validity_days = (unsigned)n[2];
	a->acme.timeout_s = (unsigned)n[3];
	a->acme.validation_addr = conf_get0(a->conf, "acme", "validation_addr");
	a->acme.resolver = conf_get0(a->conf, "acme", "resolver");
	a->acme.caa_identities = conf_get0(a->conf, "acme", "caa_identities");
	if (a->acme.resolver != NULL && !acme_resolver_ok(a->acme.resolver))
		return pca_err_set(PCA_EINVAL,
		    "%s: [acme] resolver must be "
		    "1 to 4 of IP[:port] or [IPv6]:port, comma-separated",
		    conf_name(a->conf));
	if (a->acme.caa_identities != NULL &&
	    !acme_caa_ids_ok(a->acme.caa_identities))
		return pca_err_set(PCA_EINVAL,
		    "%s: [acme] caa_identities must "
		    "be 1 to 8 DNS names, comma-separated",
		    conf_name(a->conf));
	a->acme.partition = a->engine.partition;
	a->acme.region = a->region;
	a->acme.account = a->account;
	if ((a->acme.base_url = conf_get0(a->conf, "acme", "base_url")) ==
	    NULL) {
		(void)snprintf(a->acme_base, sizeof(a->acme_base), "https://%s",
		    a->api_listen);
		a->acme.base_url = a->acme_base;
	}
	if (strncmp(a->acme.base_url, "https://", 8) != 0 ||
	    a->acme.base_url[strlen(a->acme.base_url) - 1] == '/' ||
	    strlen(a->acme.base_url) > 200)
		return pca_err_set(PCA_EINVAL,
		    "%s: [acme] base_url must be "
		    "https://host[:port] without a trailing slash",
		    conf_name(a->conf));
	return PCA_OK;
}

static pca_err
load_services(struct appliance_conf *a)
{
	long long n;
	const char *lvl;
	pca_err err;

	a->api_listen = conf_str(a->conf, "api", "listen", "127.0.0.1:8443");
	a->http_listen = conf_str(a->conf, "http", "listen", "127.0.0.1:8080");
	if ((err = conf_path(a->conf, "api", "tls_cert", "tls/server.pem",
		 &a->api_tls_cert)) != PCA_OK ||
	    (err = conf_path(a->conf, "api", "tls_key", "tls/server.key",
		 &a->api_tls_key)) != PCA_OK ||
	    (err = conf_path(a->conf, "s3", "credentials_file", NULL,
		 &a->s3_credentials_file)) != PCA_OK)
		return err;
	if ((err = conf_num(a->conf, "api", "max_connections", 1, 65536, 4096,
		 &n)) != PCA_OK)
		return err;
	a->api_max_conns = (unsigned)n;
	if ((err = conf_num(a->conf, "api", "timeout_s", 1, 3600, 30, &n)) !=
	    PCA_OK)
		return err;
	a->api_timeout_s = (unsigned)n;
	if ((err = conf_num(a->conf, "http", "header_timeout_s", 1, 3600, 10,
		 &n)) != PCA_OK)
		return err;
	a->http_header_timeout_s = (unsigned)n;
	if ((err = conf_num(a->conf, "http", "per_ip_connections", 0, 65536,
		 256, &n)) != PCA_OK)
		return err;
	a->http_per_ip_conns = (unsigned)n;
	if ((err = conf_path(a->conf, "policy", "file", NULL,
		 &a->policy_file)) != PCA_OK)
		return err;
	a->engine.ocsp_url = conf_get0(a->conf, "ocsp", "url");
	a->engine.crl_url_base = conf_get0(a->conf, "crl", "url_base");
	a->s3_endpoint = conf_get0(a->conf, "s3", "endpoint");
	a->s3_region = conf_str(a->conf, "s3", "region", a->region);
	if ((err = conf_bool(a->conf, "s3", "path_style", 1,
		 &a->s3_path_style)) != PCA_OK)
		return err;
	lvl = conf_str(a->conf, "log", "level", "info");
	if (strcmp(lvl, "warn") == 0)
		a->log_level = LOG_LEVEL_WARN;
	else if (strcmp(lvl, "info") == 0)
		a->log_level = LOG_LEVEL_INFO;
	else if (strcmp(lvl, "debug") == 0)
		a->log_level = LOG_LEVEL_DEBUG;
	else
		return pca_err_set(PCA_EINVAL,
		    "%s: [log] level must be warn, info or debug",
		    conf_name(a->conf));
	lvl = conf_str(a->conf, "log", "target", "stderr");
	if (strcmp(lvl, "journal") && strcmp(lvl, "stderr"))
		return pca_err_set(PCA_EINVAL,
		    "%s: [log] target must be stderr or journal",
		    conf_name(a->conf));
	a->log_journal = strcmp(lvl, "journal") == 0;
	return PCA_OK;
}

static pca_err
load_monitor(struct appliance_conf *a)
{
	struct mon_conf *m = &a->monitor;
	const char *s;
	long long n[3];
	pca_err err;

	m->webhook_url = conf_get0(a->conf, "webhook", "url");
	if (m->webhook_url != NULL && strncmp(m->webhook_url, "http://", 7) &&
	    strncmp(m->webhook_url, "https://", 8))
		return pca_err_set(PCA_EINVAL,
		    "%s: [webhook] url must be "
		    "http:// or https://",
		    conf_name(a->conf));
	if ((s = conf_get0(a->conf, "webhook", "thresholds_days")) != NULL &&
	    (err = mon_thresholds_parse(s, m)) != PCA_OK)
		return pca_err_set(err, "%s: [webhook] %s", conf_name(a->conf),
		    pca_err_msg());
	if ((err = conf_num(a->conf, "webhook", "interval_s", 1, 86400, 60,
		 &n[0])) ||
	    (err = conf_num(a->conf, "webhook", "timeout_s", 1, 300, 10,
		 &n[1])) ||
	    (err = conf_num(a->conf, "monitor", "recount_s", 1, 86400 * 7, 900,
		 &n[2])))
		return err;
	m->interval_s = (unsigned)n[0];
	m->timeout_s = (unsigned)n[1];
	m->recount_s = (unsigned)n[2];
	return PCA_OK;
}

/* [discovery]: the endpoints pcad scans, and nothing else. */
static pca_err
load_discovery(struct appliance_conf *a)
{
	struct disc_job_conf *d = &a->discovery;
	struct disc_spec sp;
	const char *list = conf_get0(a->conf, "discovery", "targets"), *p, *e;
	char *copy = NULL, *hp[DISC_TARGETS_MAX];
	long long n[4];
	size_t k = 0;
	pca_err err;

	memset(&sp, 0, sizeof(sp));
	sp.cidr = conf_get0(a->conf, "discovery", "cidr");
	sp.ports = conf_get0(a->conf, "discovery", "ports");
	sp.sni = conf_get0(a->conf, "discovery", "sni");
	sp.starttls = conf_get0(a->conf, "discovery", "starttls");
	if ((err = conf_num(a->conf, "discovery", "interval_s", 10, 86400 * 7,
		 3600, &n[0])) ||
	    (err = conf_num(a->conf, "discovery", "concurrency", 1, 64, 8,
		 &n[1])) ||
	    (err = conf_num(a->conf, "discovery", "timeout_ms", 100, 600000,
		 5000, &n[2])) ||
	    (err = conf_num(a->conf, "discovery", "rate", 1, 10000, 20, &n[3])))
		return err;
	if (list == NULL && sp.cidr == NULL)
		return PCA_OK;
	if (list != NULL && (copy = strdup(list)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (p = copy; p != NULL && *p != '\0' && k < DISC_TARGETS_MAX; p = e) {
		while (*p == ' ' || *p == ',')
			p++;
		e = p + strcspn(p, ", ");
		if (e > p)
			hp[k++] = (char *)p;
		if (*e != '\0')
			*(char *)e++ = '\0';
	}
	sp.hostports = (const char *const *)hp;
	sp.nhostports = k;
	err = disc_targets_build(&sp, &d->targets);
	free(copy);
	if (err != PCA_OK)
		return pca_err_set(err, "%s: [discovery] %s",
		    conf_name(a->conf), pca_err_msg());
	d->interval_s = (unsigned)n[0];
	d->scan.concurrency = (unsigned)n[1];
	d->scan.timeout_ms = (unsigned)n[2];
	d->scan.rate = (unsigned)n[3];
	a->discovery_on = d->targets.n > 0;
	return PCA_OK;
}

/* [alerts]: anomaly detection (off unless enabled). */
static pca_err
load_alerts(struct appliance_conf *a)
{
	struct alert_conf *c = &a->alerts;
	long long n[8];
	pca_err err;

	if ((err = conf_bool(a->conf, "alerts", "enabled", 0, &a->alerts_on)) !=
		PCA_OK ||
	    (err = conf_num(a->conf, "alerts", "window_s", 1, 86400 * 7, 3600,
		 &n[0])) ||
	    (err = conf_num(a->conf, "alerts", "history", 1, ALERT_HISTORY_MAX,
		 24, &n[1])) ||
	    (err = conf_num(a->conf, "alerts", "sigma", 1, 100, 3, &n[2])) ||
	    (err = conf_num(a->conf, "alerts", "floor", 1, 1000000, 10,
		 &n[3])) ||
	    (err = conf_num(a->conf, "alerts", "interval_s", 1, 3600, 5,
		 &n[4])) ||
	    (err = conf_num(a->conf, "alerts", "ocsp_unknown_per_min", 1, 10000,
		 20, &n[5])) ||
	    (err = conf_num(a->conf, "alerts", "refusal_sigma", 1, 100, 3,
		 &n[6])) ||
	    (err = conf_num(a->conf, "alerts", "refusal_floor", 1, 1000000, 10,
		 &n[7])))
		return err;
	c->webhook_url = a->monitor.webhook_url;
	c->timeout_s = a->monitor.timeout_s;
	c->window_s = (unsigned)n[0];
	c->history = (unsigned)n[1];
	c->sigma = (unsigned)n[2];
	c->floor = (unsigned)n[3];
	c->interval_s = (unsigned)n[4];
	c->unknown_per_min = (unsigned)n[5];
	c->refusal_sigma = (unsigned)n[6];
	c->refusal_floor = (unsigned)n[7];
	return PCA_OK;
}

static pca_err
load_approval(struct appliance_conf *a)
{
	long long q, h;
	pca_err err;

	if ((err = conf_num(a->conf, "approval", "quorum", 1, API_APPROVERS_MAX,
		 2, &q)) != PCA_OK ||
	    (err = conf_num(a->conf, "approval", "expiry_hours", 1, 720, 24,
		 &h)) != PCA_OK)
		return err;
	if ((err = api_approval_conf_parse(
		 conf_get0(a->conf, "approval", "operations"),
		 conf_get0(a->conf, "approval", "approvers"), q, h,
		 &a->approval)) != PCA_OK)
		return pca_err_set(err, "%s: %s", conf_name(a->conf),
		    pca_err_msg());
	return PCA_OK;
}

/* The policy file is validated with the rest (--check-config, reload). */
static pca_err
check_policies(const struct appliance_conf *a)
{
	struct pol_set *ps = NULL;
	pca_err err;

	if (a->policy_file == NULL)
		return PCA_OK;
	err = pol_set_load(a->policy_file, &ps);
	pol_set_free(ps);
	return err;
}

/* "24", "0.5", "0.01": hours (up to 6 decimals) into seconds. */
static pca_err
hours_parse(const struct conf *c, const char *v, long long *out)
{
	char ip[16], fp[8] = "000000";
	const char *dot = strchr(v, '.');
	size_t il = dot ? (size_t)(dot - v) : strlen(v), fl = 0;
	long long h = 0, f = 0;

	if (dot != NULL)
		fl = strlen(dot + 1);
	if (il == 0 || il >= sizeof(ip) || fl > 6 ||
	    strspn(v, "0123456789") != il ||
	    (dot && strspn(dot + 1, "0123456789") != fl))
		goto bad;
	memcpy(ip, v, il);
	ip[il] = '\0';
	if (dot)
		memcpy(fp, dot + 1, fl);
	if (util_strtonum(ip, 0, 24 * 365, &h) != PCA_OK ||
	    util_strtonum(fp, 0, 999999, &f) != PCA_OK)
		goto bad;
	*out = h * 3600 + f * 3600 / 1000000;
	if (*out >= 10)
		return PCA_OK;
bad:
	return pca_err_set(PCA_EINVAL,
	    "%s: [backup] interval_hours must be "
	    "a number of hours (decimals allowed) of at least 10 seconds, up "
	    "to a year",
	    conf_name(c));
}

static pca_err
load_backup(struct appliance_conf *a)
{
	const char *to = conf_get0(a->conf, "backup", "to"), *iv;
	long long n;
	pca_err err;

	a->backup_interval_s = 24 * 3600;
	if ((iv = conf_get0(a->conf, "backup", "interval_hours")) != NULL &&
	    (err = hours_parse(a->conf, iv, &a->backup_interval_s)) != PCA_OK)
		return err;
	if ((err = conf_num(a->conf, "backup", "keep", 1, 100000, 7, &n)) !=
		PCA_OK ||
	    (err = conf_bool(a->conf, "backup", "feed", 0, &a->backup_feed)) !=
		PCA_OK)
		return err;
	a->backup_keep = (unsigned)n;
	if ((err = conf_num(a->conf, "backup", "rate_mb", 0, 1 << 20, 0,
		 &a->backup_rate_mb)) != PCA_OK)
		return err;
	if (to == NULL || *to == '\0') {
		if (a->backup_feed)
			return pca_err_set(PCA_EINVAL,
			    "%s: [backup] feed = on "
			    "needs [backup] to = s3://BUCKET/PREFIX",
			    conf_name(a->conf));
		return PCA_OK;
	}
	if (strncmp(to, "s3://", 5) != 0) {
		if (a->backup_feed)
			return pca_err_set(PCA_EINVAL,
			    "%s: [backup] feed = on "
			    "needs [backup] to in S3",
			    conf_name(a->conf));
		return conf_path(a->conf, "backup", "to", NULL, &a->backup_to);
	}
	if (a->s3_endpoint == NULL)
		return pca_err_set(PCA_EINVAL,
		    "%s: [backup] to = %s needs "
		    "[s3] endpoint",
		    conf_name(a->conf), to);
	if ((a->backup_to = strdup(to)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	return PCA_OK;
}

void
appliance_backup_conf(const struct appliance_conf *ac, const char *config_path,
    struct bk_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->config_path = config_path;
	c->dir = ac->dir;
	c->region = ac->region;
	c->account = ac->account;
	c->policy_file = ac->policy_file;
	c->api_tls_cert = ac->api_tls_cert;
	c->engine = &ac->engine;
	c->map_max = ac->store.map_max;
	c->work_dir = ac->store.path;
	c->rate = (uint64_t)ac->backup_rate_mb << 20;
}

void
appliance_backup_sched_conf(const struct appliance_conf *ac,
    const char *config_path, struct sync_conf *s3, struct bk_sched_conf *c)
{
	memset(c, 0, sizeof(*c));
	memset(s3, 0, sizeof(*s3));
	s3->endpoint = ac->s3_endpoint;
	s3->region = ac->s3_region;
	s3->path_style = ac->s3_path_style;
	s3->credentials_file = ac->s3_credentials_file;
	s3->retry_max_s = ac->s3_retry_max_s;
	s3->timeout_s = ac->s3_timeout_s;
	c->to = ac->backup_to;
	c->interval_s = ac->backup_interval_s;
	c->keep = ac->backup_keep;
	c->feed = ac->backup_feed;
	c->s3 = ac->s3_endpoint != NULL ? s3 : NULL;
	appliance_backup_conf(ac, config_path, &c->bk);
}

/* [process]: the separated signer and the users pcad drops to. */
static pca_err
load_process(struct appliance_conf *a)
{
	pca_err err;

	if ((err = conf_bool(a->conf, "process", "separate", 1,
		 &a->proc_separate)) != PCA_OK)
		return err;
	if ((err = conf_bool(a->conf, "process", "seccomp", 1,
		 &a->proc_seccomp)) != PCA_OK)
		return err;
	a->proc_user = conf_get0(a->conf, "process", "user");
	a->proc_signer_group = conf_get0(a->conf, "process", "signer_group");
	if (a->proc_signer_group != NULL && a->proc_user == NULL)
		return pca_err_set(PCA_EINVAL,
		    "%s: [process] signer_group "
		    "needs user",
		    conf_name(a->conf));
	return PCA_OK;
}

/* "s3://BUCKET[/PREFIX]": a DNS-style bucket, a prefix of safe characters. */
static pca_err
publish_parse(const char *f, const char *to, struct ocsp_conf *o)
{
	const char *b = to + 5, *sl;
	size_t bl, pl;

	if (strncmp(to, "s3://", 5) != 0)
		goto bad;
	sl = strchr(b, '/');
	bl = sl ? (size_t)(sl - b) : strlen(b);
	pl = sl ? strlen(sl + 1) : 0;
	if (bl < 3 || bl >= sizeof(o->publish_bucket) ||
	    strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") < bl ||
	    pl + 2 > sizeof(o->publish_prefix) ||
	    (pl > 0 && (strspn(sl + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
				       "KLMNOPQRSTUVWXYZ0123456789._-/") < pl ||
			   sl[1] == '/' || strstr(sl, "//") != NULL)))
		goto bad;
	(void)snprintf(o->publish_bucket, sizeof(o->publish_bucket), "%.*s",
	    (int)bl, b);
	(void)snprintf(o->publish_prefix, sizeof(o->publish_prefix), "%s%s",
	    pl ? sl + 1 : "", pl && sl[pl] != '/' ? "/" : "");
	return PCA_OK;
bad:
	return pca_err_set(PCA_EINVAL,
	    "%s: [ocsp] publish must be "
	    "s3://BUCKET[/PREFIX] (bucket 3 to 63 of a-z 0-9 . -, prefix at "
	    "most 45 of A-Z a-z 0-9 . _ - /)",
	    f);
}

/* [ocsp] publish and the responder role's [responder]. */
static pca_err
load_readpath(struct appliance_conf *a)
{
	const char *f = conf_name(a->conf), *to, *acl;
	long long n;
	pca_err err;

	if ((to = conf_get0(a->conf, "ocsp", "publish")) != NULL) {
		if ((err = publish_parse(f, to, &a->ocsp)) != PCA_OK)
			return err;
		if (a->s3_endpoint == NULL)
			return pca_err_set(PCA_EINVAL,
			    "%s: [ocsp] publish "
			    "needs [s3] endpoint",
			    f);
	}
	acl = conf_str(a->conf, "ocsp", "publish_acl", "public-read");
	if (strcmp(acl, "public-read") != 0 && strcmp(acl, "none") != 0 &&
	    strcmp(acl, "bucket-owner-full-control") != 0)
		return pca_err_set(PCA_EINVAL,
		    "%s: [ocsp] publish_acl must be "
		    "public-read, bucket-owner-full-control or none",
		    f);
	(void)snprintf(a->ocsp.publish_acl, sizeof(a->ocsp.publish_acl), "%s",
	    strcmp(acl, "none") == 0 ? "" : acl);
	if ((err = conf_path(a->conf, "responder", "cache", "responder-cache",
		 &a->responder_cache)) != PCA_OK ||
	    (err = conf_num(a->conf, "responder", "poll_ms", 100, 60000, 1000,
		 &n)) != PCA_OK)
		return err;
	a->responder_poll_ms = (unsigned)n;
	a->responder_crl_bucket = conf_get0(a->conf, "responder", "crl_bucket");
	return PCA_OK;
}

pca_err
appliance_conf_load(const char *path, struct appliance_conf *a)
{
	const char *slash;
	pca_err err;

	memset(a, 0, sizeof(*a));
	if ((err = conf_load(path, &a->conf)) != PCA_OK)
		return err;
	slash = strrchr(path, '/');
	a->dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (a->dir == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	else if ((err = conf_check_known(a->conf, known_keys)) == PCA_OK &&
		 (err = load_identity(a)) == PCA_OK &&
		 (err = load_hsm_store(a)) == PCA_OK &&
		 (err = load_services(a)) == PCA_OK &&
		 (err = load_ocsp(a)) == PCA_OK &&
		 (err = load_crl(a)) == PCA_OK &&
		 (err = load_monitor(a)) == PCA_OK &&
		 (err = load_approval(a)) == PCA_OK &&
		 (err = load_backup(a)) == PCA_OK &&
		 (err = load_process(a)) == PCA_OK &&
		 (err = load_acme(a)) == PCA_OK &&
		 (err = load_readpath(a)) == PCA_OK &&
		 (err = load_console(a)) == PCA_OK &&
		 (err = load_discovery(a)) == PCA_OK &&
		 (err = load_alerts(a)) == PCA_OK)
		err = check_policies(a);
	if (err != PCA_OK) {
		/* every message names the file once, at its start */
		const char *m = pca_err_msg();
		size_t pl = strlen(path);

		if (strncmp(m, path, pl) != 0 || m[pl] != ':')
			err = pca_err_set(err, "%s: %s", path, m);
		appliance_conf_free(a);
	}
	return err;
}

void
appliance_conf_free(struct appliance_conf *a)
{
	conf_free(a->conf);
	free(a->dir);
	free(a->hsm_pin_file);
	free(a->store_path);
	free(a->api_tls_cert);
	free(a->api_tls_key);
	free(a->s3_credentials_file);
	free(a->backup_to);
	free(a->policy_file);
	free(a->responder_cache);
	disc_targets_free(&a->discovery.targets);
	memset(a, 0, sizeof(*a));
}

static void (*refusal_fn)(void *, const char *);
static void *refusal_arg;
/* the appliance's refusal counts for alert/ (one appliance a process) */
static struct alert_refusals *refusal_rec;

/*
 * The rule of a refusal message, "policy NAME: rule RULE: ..." (policy.h)
 * or "lint: [WHAT: ]rule RULE: ..." (x509/), as "NAME:RULE" / "lint:RULE".
 */
static void
refusal_rule(const char *msg, char *out, size_t n)
{
	const char *r = strstr(msg, "rule ");
	int ml = (int)strcspn(msg, ":"); /* "policy NAME" or "lint" */

	if (r == NULL)
		(void)snprintf(out, n, "%.*s", ml, msg);
	else if (strncmp(msg, "policy ", 7) == 0 && ml > 7)
		(void)snprintf(out, n, "%.*s:%.*s", ml - 7, msg + 7,
		    (int)strcspn(r + 5, ":"), r + 5);
	else
		(void)snprintf(out, n, "%.*s:%.*s", ml, msg,
		    (int)strcspn(r + 5, ":"), r + 5);
}

static void
refusal_count(const char *who, const char *msg)
{
	char rule[128];

	if (refusal_rec == NULL)
		return;
	refusal_rule(msg, rule, sizeof(rule));
	alert_refusal_note(refusal_rec, who ? who : "-", rule, util_now());
}

/* The engine's lint gate refused a certificate. */
static void
lint_refused(void *arg, const char *who, const char *msg)
{
	(void)arg;
	refusal_count(who, msg);
}

/* The engine's policy judge: the policy bound to the CA (and key). */
static pca_err
policy_judge(void *arg, const struct ca_policy_req *q)
{
	const struct pol *p =
	    q->policy != NULL ? pol_set_get0(arg, q->policy)
			      : pol_set_lookup0(arg, q->ca_uuid, q->access_key);
	struct pol_input in;
	pca_err err;

	if (p == NULL && q->policy != NULL)
		return pca_err_set(PCA_EINVAL, "policy %s: not defined",
		    q->policy);
	if (p == NULL)
		return PCA_OK;
	if ((err = pol_input_from_tbs(q->tbs, q->tbs_len, &in)) != PCA_OK)
		return pca_err_set(PCA_EINTERNAL, "%s", pca_err_msg());
	in.sig_alg = q->signing_algorithm;
	in.validity_s = q->validity_s;
	in.tmpl = q->template_name;
	err = pol_check(p, &in, NULL, NULL);
	pol_input_clear(&in);
	if (err != PCA_OK && refusal_fn != NULL)
		refusal_fn(refusal_arg, pca_err_msg());
	if (err != PCA_OK)
		refusal_count(q->access_key, pca_err_msg());
	return err;
}

void
appliance_policies_on_refusal(void (*fn)(void *, const char *), void *arg)
{
	refusal_fn = fn;
	refusal_arg = arg;
}

pca_err
appliance_policies_load(const struct appliance_conf *a, struct pol_set **out)
{
	return a->policy_file ? pol_set_load(a->policy_file, out)
			      : pol_set_new(out);
}

/* The nameConstraints of the policy bound to the issuing CA (and key). */
static pca_err
policy_constraints(void *arg, const char *ca_uuid, const char *access_key,
    uint8_t **der, size_t *len)
{
	const struct pol *p = pol_set_lookup0(arg, ca_uuid, access_key);

	*der = NULL;
	*len = 0;
	return p == NULL ? PCA_OK : pol_name_constraints_der(p, der, len);
}

void
appliance_policies_attach(struct ca_engine *e, struct pol_set *ps)
{
	ca_engine_policy_set(e, policy_judge, ps);
	ca_engine_constraints_set(e, policy_constraints, ps);
	ca_engine_refusal_set(e, lint_refused, NULL);
}

static pca_err
policies_open(struct appliance *ap)
{
	pca_err err;

	if ((err = appliance_policies_load(&ap->conf, &ap->policies)) == PCA_OK)
		appliance_policies_attach(ap->engine, ap->policies);
	return err;
}

/* The refusal counts of an appliance with [alerts] enabled. */
static pca_err
appliance_refusals_open(struct appliance *ap)
{
	pca_err err = alert_refusals_new(ap->store, ap->conf.alerts.window_s,
	    &ap->refusals);

	if (err == PCA_OK) {
		refusal_rec = ap->refusals;
		ap->conf.alerts.refusals = ap->refusals;
	}
	return err;
}

static pca_err
open_with(const char *path, struct hsm *hsm, int defer_login,
    struct appliance *ap)
{
	pca_err err;

	memset(ap, 0, sizeof(*ap));
	ap->hsm = hsm;
	if ((err = appliance_conf_load(path, &ap->conf)) != PCA_OK) {
		hsm_close(hsm);
		ap->hsm = NULL;
		return err;
	}
	ap->conf.hsm.defer_login = defer_login;
	if ((err = store_open(&ap->conf.store, &ap->store)) != PCA_OK ||
	    (ap->conf.alerts_on &&
		(err = appliance_refusals_open(ap)) != PCA_OK) ||
	    (ap->hsm == NULL &&
		(err = hsm_open(&ap->conf.hsm, &ap->hsm)) != PCA_OK) ||
	    (err = ca_engine_new(&ap->conf.engine, ap->hsm, ap->store,
		 &ap->engine)) != PCA_OK ||
	    (err = policies_open(ap)) != PCA_OK) {
		char msg[512];
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		appliance_close(ap);
		return pca_err_set(err, "%s", msg);
	}
	return PCA_OK;
}

pca_err
appliance_open(const char *path, struct appliance *ap)
{
	return open_with(path, NULL, 1, ap);
}

pca_err
appliance_open_hsm(const char *path, struct hsm *hsm, struct appliance *ap)
{
	return open_with(path, hsm, 0, ap);
}

/*
 * Writes what the appliance's refusal counts hold and frees them; the
 * caller's error message (pcactl prints it after closing) survives.
 */
static void
refusals_close(struct appliance *ap)
{
	char msg[1024];

	if (ap->refusals == NULL)
		return;
	(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
	if (alert_refusals_flush(ap->refusals, util_now()) != PCA_OK)
		log_warnx("alerts: refusals not recorded: %s", pca_err_msg());
	if (msg[0] != '\0')
		(void)pca_err_set(PCA_EINVAL, "%s", msg);
	else
		pca_err_clear();
	if (refusal_rec == ap->refusals)
		refusal_rec = NULL;
	alert_refusals_free(ap->refusals);
	ap->refusals = NULL;
}

void
appliance_close(struct appliance *ap)
{
	ca_engine_free(ap->engine);
	refusals_close(ap);
	pol_set_free(ap->policies);
	hsm_close(ap->hsm);
	store_close(ap->store);
	appliance_conf_free(&ap->conf);
	memset(ap, 0, sizeof(*ap));
}
