/*
 * api.h - the ACM-PCA-compatible JSON API (SigV4-authenticated, wire-exact
 * to botocore's model) as handlers on the HTTP server (http/), /health and
 * /metrics on its plain port, plus the registry of API access keys that
 * pcactl manages.
 *
 * Only api/ maps pca_err codes onto ACM-PCA exception names and HTTP
 * statuses.  api/ asks the engine (ca/) and reads records (store/); what
 * it needs from the token and the publishers (health, counters, audit
 * reports, the compliance report) cmd/ hands it as struct api_services, so
 * api/ calls no hsm/, crl/ or monitor/ function.  Sealing API secrets and
 * having SigV4 signing keys derived from them (keys.c; pcad's front never
 * holds an API secret) and the NextToken key (token.c) go through the
 * sealing service of common/seal.h, which cmd/ fills (hsm_seal_ops).
 */
#ifndef PCA_API_H
#define PCA_API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/certref.h"
#include "../common/err.h"
#include "../common/seal.h"

struct ca_engine;
struct store;
struct api_server;

/*
 * Seal label of the API access-key secrets.  A separated signer never
 * unseals these for the front (hsm_signer_conf.secret_label): the front
 * gets per-day SigV4 signing keys derived from them (seal_ops.sigv4_key).
 */
#define API_SEAL_LABEL "pca-api-keys"
/* Seal label of the NextToken HMAC key (token.c), which the front unseals. */
#define API_TOKEN_SEAL_LABEL "pca-api-token"

/* ---- access keys (keys.c) ---- */

/*
 * Creates an access key bound to account (12 digits) and the managed
 * policy named role ("admin", "issuer", "auditor"; docs/iam.md) over every
 * CA.  akid is "AKIA" + 16 upper-case alphanumerics, secret 40 characters;
 * both drawn from the CSPRNG.  The secret is sealed by the token (seal,
 * API_SEAL_LABEL) before it is stored and is returned only here, once.
 * Audited.
 */
pca_err api_key_create(struct store *, const struct seal_ops *seal,
    const char *account, const char *role, char akid[21],
    char secret[41]) PCA_WUR;

/* The identity policy of a key: a managed one (over cas) or a document. */
struct api_key_spec {
	const char *account;    /* 12 digits (create only) */
	const char *managed;    /* "admin", "issuer", "auditor" */
	const char *const *cas; /* managed issuer/auditor: these CAs only */
	size_t ncas;
	const char *policy; /* a custom IAM policy document instead */
};

/* api_key_create with a policy; the document is validated first. */
pca_err api_key_create_ex(struct store *, const struct seal_ops *seal,
    const struct api_key_spec *, char akid[21], char secret[41]) PCA_WUR;
/*
 * The key's policy: *name its managed policy's name or "custom", *doc the
 * document (managed ones expanded), *account the key's account.  Caller
 * frees all three.
 */
pca_err api_key_policy_get(struct store *, const char *akid, char **name,
    char **doc, char **account) PCA_WUR;
/*
 * Replaces the key's policy (spec->account unused); the document is
 * validated first (PCA_EINVAL/PCA_EPARSE/PCA_ETOOBIG naming the place).
 * Audited; a running pcad applies it from the next request on.
 */
pca_err api_key_policy_put(struct store *, const char *akid,
    const struct api_key_spec *) PCA_WUR;
/*
 * Store migration: every version-1 key record (a Role) gets the managed
 * policy of the same name over every CA.  Idempotent; audited per key.
 * A record that cannot be migrated (unknown role) is left as it is (its
 * key stays unusable) and reported as the error after the others are
 * done; *migrated counts the records rewritten.
 */
pca_err api_key_migrate(struct store *, size_t *migrated) PCA_WUR;

/*
 * What pcad would decide for a call by akid (pcactl key policy simulate):
 * op an operation name ("IssueCertificate") or IAM action, resource a CA
 * ARN or NULL, template the TemplateArn or NULL, tags "k=v" strings
 * (aws:RequestTag, aws:TagKeys), source_ip or NULL.  *out is
 * {"Decision": "Allow"|"Deny", "Reason", "Policy", "Statement", "Sid",
 * "Message"}.  The CA's tags and resource policy come from the engine.
 */
struct api_simulate {
	const char *akid;
	const char *op;
	const char *resource;
	const char *template_arn;
	const char *const *tags;
	size_t ntags;
	const char *source_ip;
	const char *partition;
	const char *region;
};
pca_err api_key_simulate(struct store *, struct ca_engine *,
    const struct api_simulate *, json_t **out) PCA_WUR;

/*
 * Every key as [{"AccessKeyId","Account","Policy" (managed name or
 * "custom"),"CAs"?,"PolicyDocument","Status":"ACTIVE"|"REVOKED",
 * "CreatedAt","RevokedAt"?}] (no secrets); caller owns *out.
 */
pca_err api_key_list(struct store *, json_t **out) PCA_WUR;
/*
 * Revokes a key (kept, marked REVOKED, for the record).  PCA_ENOTFOUND for
 * an unknown key, PCA_EALREADY when already revoked.  Audited.  A running
 * pcad refuses the key from its next request on.
 */
pca_err api_key_revoke(struct store *, const char *akid) PCA_WUR;

/* ---- approvals of CA-level operations (approval.c) ---- */

#define API_APPROVAL_OPS_MAX 16
#define API_APPROVERS_MAX 16
#define API_APPROVAL_NAME 64

/* [approval]: which operations need how many of which approvers. */
struct api_approval_conf {
	char ops[API_APPROVAL_OPS_MAX][API_APPROVAL_NAME];
	size_t nops; /* 0: nothing needs approval */
	char approvers[API_APPROVERS_MAX][API_APPROVAL_NAME];
	size_t napprovers; /* access key ids or "operator:NAME" */
	unsigned quorum;
	unsigned expiry_s;
};

/*
 * Parses [approval] operations (comma list of operation names, or
 * "IssueCertificate:CA" for issuance with a CA template), approvers (comma
 * list), quorum and expiry_hours.  ops NULL or empty: no approvals.
 */
pca_err api_approval_conf_parse(const char *ops, const char *approvers,
    long long quorum, long long expiry_h,
    struct api_approval_conf *out) PCA_WUR;

/* One approver's decision on a pending request. */
struct api_approval_decision {
	const char *id;
	const char *who;    /* the approver: access key id or operator:N */
	int approve;        /* else deny */
	const char *reason; /* denials, may be NULL */
	int64_t now;
};

/*
 * Records the decision: PCA_ENOTFOUND (no such request), PCA_EPOLICY (not
 * an approver, or the requester), PCA_ESTATE (not PENDING: approved,
 * denied, expired or executed), PCA_EEXISTS (approved by who already).
 * *out: the request after the decision.
 */
pca_err api_approval_decide(struct store *, const struct api_approval_conf *,
    const struct api_approval_decision *, json_t **out) PCA_WUR;
/* Requests of account (NULL: all) with status (NULL: any), oldest first. */
pca_err api_approval_list(struct store *, const char *account,
    const char *status, int64_t now, json_t **out) PCA_WUR;
pca_err api_approval_show(struct store *, const char *id, int64_t now,
    json_t **out) PCA_WUR;

/* ---- the API's handlers on the HTTP server (http.c) ---- */

struct http_server;
struct buf;

struct api_conf {
	const char *region;    /* the appliance's region: the only
				  region a request may be scoped to */
	const char *partition; /* ARN partition, e.g. "aws" */
};

/* Checks what start and reload need from the configuration (a region). */
pca_err api_conf_check(const struct api_conf *) PCA_WUR;

/*
 * The API service: the engine, store and the token behind seal (copied;
 * its ctx) must outlive it.  It serves nothing until api_server_register
 * puts its handlers on an HTTP server: every request on the HTTPS port
 * (the ACM-PCA API), GET /health and GET /metrics on the plain port.
 */
pca_err api_server_new(const struct api_conf *, struct ca_engine *,
    struct store *, const struct seal_ops *seal,
    struct api_server **out) PCA_WUR;
pca_err api_server_register(struct api_server *, struct http_server *) PCA_WUR;
/*
 * Swaps in a new configuration and engine; requests in progress finish on
 * the old one.  On success *old_engine is the engine no request uses any
 * more (caller frees).  On failure nothing changes.
 */
pca_err api_server_reload(struct api_server *, const struct api_conf *,
    struct ca_engine *engine, struct ca_engine **old_engine) PCA_WUR;
/* Sets which operations need approval (at start and on reload). */
void api_server_approval_set(struct api_server *,
    const struct api_approval_conf *);
/* Frees the service once the HTTP server that calls it has stopped. */
void api_server_free(struct api_server *);

/* The token's counters as GET /metrics shows them. */
struct api_token_stats {
	uint64_t signs;
	uint64_t sign_errors;
	uint64_t recoveries; /* successful re-initializations */
	int available;       /* token usable right now */
};

/*
 * The services the API asks for beyond the engine and the store, set by
 * cmd/ (which owns the token and the publishers).  Any may be NULL.
 *   health: PCA_OK when the token answers, else an error with its message
 *     (GET /health: 503 "component":"token"); NULL: not checked.
 *   token_stats: the token's counters for GET /metrics; NULL: not shown.
 *   audit_create, audit_describe: Create/DescribeCertificateAuthority-
 *     AuditReport (the CA's uuid; *key, *out: caller frees); NULL: no S3
 *     endpoint (Create: RequestFailed, Describe: ResourceNotFound).
 *   report: OpenPCA.GetComplianceReport over the CAs whose ARN has scope;
 *     NULL: PCA_EUNAVAIL.
 *   denied: told (denied_arg, the access key, the operation) of each call
 *     IAM denies (AccessDeniedException), on the request's thread: it must
 *     not block; NULL: nobody is told.
 */
struct api_services {
	void *token; /* argument of health and token_stats */
	pca_err (*health)(void *token);
	void (*token_stats)(void *token, struct api_token_stats *out);
	void *arg; /* argument of the others */
	pca_err (*audit_create)(void *arg, const char *ca_uuid,
	    const char *bucket, const char *format, char id[37], char **key);
	pca_err (*audit_describe)(void *arg, const char *ca_uuid,
	    const char *id, json_t **out);
	pca_err (*report)(void *arg, const char *scope, json_t **out);
	/*
	 * acme_cert: what the ACME records say of a certificate that was
	 * issued through ACME (account, order, RFC 9773 replaces links,
	 * renewal window), as the member "Acme" of its inventory item;
	 * PCA_ENOTFOUND: none.  Asked only for the items of a page whose
	 * RequestedBy is an ACME account.  NULL: no "Acme" members.
	 */
	pca_err (
	    *acme_cert)(struct store *, const struct cert_ref *, json_t **out);
	void *denied_arg;
	void (*denied)(void *denied_arg, const char *who, const char *op);
};

/* Sets the services (before the server is in use). */
void api_server_services_set(struct api_server *, const struct api_services *);

/*
 * The role pcad plays (pcad --role): refuse returns non-zero, with a
 * message naming the primary, while changes must be refused (a standby, a
 * fenced primary): every mutating call is then answered 503
 * ServiceUnavailable, which the SDKs retry.  health adds members to the
 * /health answer (role, lag).  Set before the server is in use.
 */
struct api_role {
	int (*refuse)(void *arg, char *msg, size_t n);
	void (*health)(void *arg, json_t *out);
	void *arg;
};
void api_server_role_set(struct api_server *, const struct api_role *);

/*
 * Extra Prometheus text appended to GET /metrics (API_METRICS_HOOKS hooks
 * at most; add them before the server is in use).
 */
#define API_METRICS_HOOKS 8
pca_err api_server_metrics_hook(struct api_server *,
    pca_err (*fn)(void *arg, struct buf *out), void *arg) PCA_WUR;

/* ---- the web console's questions (console.c) ---- */

/* A signed-in console user: the access key and its account. */
struct api_console_id {
	char akid[21];
	char account[13];
};

/* How an operation or a decision went, as the API would answer it. */
struct api_console_res {
	int status;    /* 200, 403 (AccessDenied), 4xx, 5xx */
	char code[64]; /* exception name */
	char message[768];
};

/*
 * Checks an access key and its secret the way SigV4 does: the signing key
 * of today's scope (appliance region, acm-pca) derived from the secret
 * given must equal the stored key's, compared in constant time.  Unknown,
 * revoked and wrong: PCA_EPOLICY ("wrong access key or secret").
 */
pca_err api_console_signin(struct api_server *, const char *akid,
    const char *secret, struct api_console_id *out) PCA_WUR;
/*
 * Runs a read-only operation (List/Describe/Get of CAs and certificates,
 * OpenPCA ListCertificates) as the key, from ip: shape check, IAM
 * authorization and handler as for a SigV4 request.  *out its output on
 * success; res says how it went either way (403 for AccessDenied).
 */
pca_err api_console_call(struct api_server *, const struct api_console_id *,
    const char *ip, const char *op, const json_t *in, json_t **out,
    struct api_console_res *res) PCA_WUR;
/*
 * The key's IAM decision for action (an operation name or "openpca:...")
 * on resource (a CA ARN or NULL): PCA_OK allowed, PCA_EPOLICY denied (res
 * carries AWS's sentence), another error when it cannot be decided.
 */
pca_err api_console_allowed(struct api_server *, const struct api_console_id *,
    const char *ip, const char *action, const char *resource,
    struct api_console_res *res) PCA_WUR;

#endif
