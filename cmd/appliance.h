/*
 * appliance.h - the appliance configuration (pcad.conf) shared by pcad and
 * pcactl: parsed and validated whole, then handed out per subsystem.
 *
 *   [appliance] region, account_id, partition
 *   [hsm]       module, token, pin_file | pin_env, module_env, sessions
 *   [store]     path, map_size_mb, map_max_mb
 *   [api]       listen (host:port), tls_cert, tls_key, max_connections,
 *               timeout_s
 *   [http]      listen (host:port) - OCSP, CRLs, /health, /metrics
 *   [ocsp]      url (AIA default)
 *   [crl]       url_base (CDP default host)
 *   [s3]        endpoint, region, path_style, credentials_file
 *   [log]       level (warn, info, debug)
 *
 * Relative paths are relative to the directory of pcad.conf.
 */
#ifndef PCA_CMD_APPLIANCE_H
#define PCA_CMD_APPLIANCE_H

#include "../ca/ca.h"
#include "../common/conf.h"
#include "../hsm/hsm.h"
#include "../store/store.h"

struct appliance_conf {
	struct conf *conf;	/* the parsed file (owns the strings below) */
	char *dir;		/* directory of the config file */
	const char *region;
	const char *account;
	struct hsm_conf hsm;
	char *hsm_pin_file;
	struct store_conf store;
	char *store_path;
	struct ca_engine_conf engine;
	const char *api_listen;
	char *api_tls_cert;
	char *api_tls_key;
	unsigned api_max_conns;
	unsigned api_timeout_s;
	const char *http_listen;
	const char *s3_endpoint;
	const char *s3_region;
	int s3_path_style;
	char *s3_credentials_file;
	int log_level;
};

pca_err appliance_conf_load(const char *path, struct appliance_conf *out)
    PCA_WUR;
void appliance_conf_free(struct appliance_conf *);

/* An open appliance: token, store and engine, ready to use. */
struct appliance {
	struct appliance_conf conf;
	struct hsm *hsm;
	struct store *store;
	struct ca_engine *engine;
};

/* Loads the config and opens token, store and engine. */
pca_err appliance_open(const char *config_path, struct appliance *out)
    PCA_WUR;
void appliance_close(struct appliance *);

#endif
