/*
 * api.h - the ACM-PCA-compatible JSON API (SigV4-authenticated, wire-exact
 * to botocore's model) as handlers on the HTTP server (http/), /health and
 * /metrics on its plain port, plus the registry of API access keys that
 * pcactl manages.
 *
 * Only api/ maps pca_err codes onto ACM-PCA exception names and HTTP
 * statuses.  api/ asks the engine (ca/) and reads records (store/); it uses
 * the token (hsm/) only to seal and unseal secrets and to report health.
 */
#ifndef PCA_API_H
#define PCA_API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/err.h"

struct ca_engine;
struct hsm;
struct store;
struct api_server;

/* Token label of the AES key sealing API secrets at rest. */
#define API_SEAL_LABEL "pca-api-keys"

/* ---- access keys (keys.c) ---- */

/*
 * Creates an access key bound to account (12 digits) and role ("admin",
 * "issuer": issue/get/describe/list only, "auditor": read-only).  akid is
 * "AKIA" + 16 upper-case alphanumerics, secret 40 characters; both drawn
 * from the CSPRNG.  The secret is sealed by the token (API_SEAL_LABEL)
 * before it is stored and is returned only here, once.  Audited.
 */
pca_err api_key_create(struct store *, struct hsm *, const char *account,
    const char *role, char akid[21], char secret[41]) PCA_WUR;
/*
 * Every key as [{"AccessKeyId","Account","Role","Status":"ACTIVE"|
 * "REVOKED","CreatedAt","RevokedAt"?}] (no secrets); caller owns *out.
 */
pca_err api_key_list(struct store *, json_t **out) PCA_WUR;
/*
 * Revokes a key (kept, marked REVOKED, for the record).  PCA_ENOTFOUND for
 * an unknown key, PCA_EALREADY when already revoked.  Audited.  A running
 * pcad refuses the key from its next request on.
 */
pca_err api_key_revoke(struct store *, const char *akid) PCA_WUR;

/* ---- the API's handlers on the HTTP server (http.c) ---- */

struct http_server;
struct buf;

struct api_conf {
	const char *region;      /* the appliance's region: the only
				    region a request may be scoped to */
	const char *partition;   /* ARN partition, e.g. "aws" */
};

/* Checks what start and reload need from the configuration (a region). */
pca_err api_conf_check(const struct api_conf *) PCA_WUR;

/*
 * The API service: the engine, store and token must outlive it.  It serves
 * nothing until api_server_register puts its handlers on an HTTP server:
 * every request on the HTTPS port (the ACM-PCA API), GET /health and
 * GET /metrics on the plain port.
 */
pca_err api_server_new(const struct api_conf *, struct ca_engine *,
    struct store *, struct hsm *, struct api_server **out) PCA_WUR;
pca_err api_server_register(struct api_server *, struct http_server *)
    PCA_WUR;
/*
 * Swaps in a new configuration and engine; requests in progress finish on
 * the old one.  On success *old_engine is the engine no request uses any
 * more (caller frees).  On failure nothing changes.
 */
pca_err api_server_reload(struct api_server *, const struct api_conf *,
    struct ca_engine *engine, struct ca_engine **old_engine) PCA_WUR;
/* Frees the service once the HTTP server that calls it has stopped. */
void api_server_free(struct api_server *);

/*
 * Extra Prometheus text appended to GET /metrics (API_METRICS_HOOKS hooks
 * at most; add them before the server is in use).
 */
#define API_METRICS_HOOKS 8
pca_err api_server_metrics_hook(struct api_server *,
    pca_err (*fn)(void *arg, struct buf *out), void *arg) PCA_WUR;

#endif
