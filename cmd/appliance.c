#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "appliance.h"

static const char *const known_keys[] = {
	"appliance.region", "appliance.account_id", "appliance.partition",
	"hsm.module", "hsm.token", "hsm.pin_file", "hsm.pin_env",
	"hsm.module_env", "hsm.sessions",
	"store.path", "store.map_size_mb", "store.map_max_mb",
	"api.listen", "api.tls_cert", "api.tls_key", "api.max_connections",
	"api.timeout_s",
	"http.listen", "ocsp.url", "crl.url_base",
	"s3.endpoint", "s3.region", "s3.path_style", "s3.credentials_file",
	"log.level", NULL};

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
	pca_err err;

	if ((err = require(a->conf, "appliance", "region", &a->region)) !=
		PCA_OK ||
	    (err = require(a->conf, "appliance", "account_id", &a->account)) !=
		PCA_OK)
		return err;
	if (strlen(a->account) != 12 ||
	    strspn(a->account, "0123456789") != 12)
		return pca_err_set(PCA_EINVAL,
		    "%s: [appliance] account_id must be 12 digits",
		    conf_name(a->conf));
	for (p = a->region; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			*p == '-'))
			return pca_err_set(PCA_EINVAL,
			    "%s: [appliance] region '%s' is not a region name",
			    conf_name(a->conf), a->region);
	a->engine.partition = conf_str(a->conf, "appliance", "partition",
	    "aws");
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
	a->store.path = a->store_path;
	a->store.map_size = (size_t)sz << 20;
	a->store.map_max = (size_t)mx << 20;
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
	if ((err = conf_num(a->conf, "api", "max_connections", 1, 65536, 256,
		 &n)) != PCA_OK)
		return err;
	a->api_max_conns = (unsigned)n;
	if ((err = conf_num(a->conf, "api", "timeout_s", 1, 3600, 30, &n)) !=
	    PCA_OK)
		return err;
	a->api_timeout_s = (unsigned)n;
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
	    (err = load_hsm_store(a)) == PCA_OK)
		err = load_services(a);
	if (err != PCA_OK)
		appliance_conf_free(a);
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
	memset(a, 0, sizeof(*a));
}

pca_err
appliance_open(const char *path, struct appliance *ap)
{
	pca_err err;

	memset(ap, 0, sizeof(*ap));
	if ((err = appliance_conf_load(path, &ap->conf)) != PCA_OK)
		return err;
	if ((err = store_open(&ap->conf.store, &ap->store)) != PCA_OK ||
	    (err = hsm_open(&ap->conf.hsm, &ap->hsm)) != PCA_OK ||
	    (err = ca_engine_new(&ap->conf.engine, ap->hsm, ap->store,
		 &ap->engine)) != PCA_OK) {
		char msg[512];
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		appliance_close(ap);
		return pca_err_set(err, "%s", msg);
	}
	return PCA_OK;
}

void
appliance_close(struct appliance *ap)
{
	ca_engine_free(ap->engine);
	hsm_close(ap->hsm);
	store_close(ap->store);
	appliance_conf_free(&ap->conf);
	memset(ap, 0, sizeof(*ap));
}
