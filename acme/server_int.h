/* server_int.h - the request context shared by the files of acme/. */
#ifndef PCA_ACME_SERVER_INT_H
#define PCA_ACME_SERVER_INT_H

#include <pthread.h>
#include <stdarg.h>

#include <jansson.h>

#include "../ca/ca.h"
#include "../common/seal.h"
#include "acme_int.h"

#define ACME_NONCE_LEN 40
#define ACME_URL_MAX 400
#define ACME_ID_MAX 64
#define ACME_MAX_IDENTS 100
#define ACME_ORDER_TTL (7 * 86400)
#define ACME_ACCT_ORDERS 1000 /* order URLs kept per account */
#define ACME_STRIPES 64       /* account locks */
#define ACME_BUSY_MAX 256     /* finalizations + validations at once */
#define ACME_ROOTS_MEMO 32    /* subordinates whose root is remembered */
#define ACME_VFAIL_N 7        /* acme_vfail_types */

/* The states of an order (RFC 8555 7.1.6), counted for GET /metrics. */
enum acme_ostate {
	ACME_OS_PENDING,
	ACME_OS_READY,
	ACME_OS_PROCESSING,
	ACME_OS_VALID,
	ACME_OS_INVALID,
	ACME_OSTATE_N
};

struct http_req;
struct http_resp;

struct acme {
	struct acme_conf c;
	char base[256], region[64], account[32], partition[32], vaddr[64];
	struct ca_engine *eng;
	pthread_rwlock_t englock; /* eng is replaced under wrlock */
	struct store *st;
	struct seal_ops seal; /* the token's; seal NULL: none */
	pthread_mutex_t mu;   /* accounts made, keys changed, EAB */
	pthread_mutex_t amu[ACME_STRIPES];     /* one account's records (its
					       orders, authorizations, list) */
	pthread_mutex_t nmu;                   /* nonces */
	pthread_mutex_t bmu;                   /* busy */
	char busy[ACME_BUSY_MAX][ACME_ID_MAX]; /* orders being finalized,
					   authorizations being validated */
	struct acme_root_memo { /* a subordinate's root (cert.c), */
		char ca[37], root[37], pred[37]; /* under bmu */
		int64_t at;                      /* 0: empty */
	} roots[ACME_ROOTS_MEMO];
	uint8_t nkey[32];
	uint64_t nseq;
	uint8_t nused[65536 / 8];
	int64_t last_prune; /* under mu */
	/* metrics (atomic counters, acme_count) */
	uint64_t m_accounts, m_orders, m_issued, m_revoked;
	uint64_t m_valid[3], m_invalid[3]; /* http-01, tls-alpn-01, dns-01 */
	struct acme_dnsconf dc;            /* [acme] resolver, caa_identities */
	uint64_t m_problems;
	/* orders that entered each state (enum acme_ostate) since start */
	uint64_t m_ostate[ACME_OSTATE_N];
	uint64_t m_vfail[ACME_VFAIL_N]; /* failed validations by problem */
};

void acme_count(struct acme *, uint64_t *counter);
/* An order entered state st (a counter of GET /metrics, by state). */
void acme_count_order(struct acme *, enum acme_ostate st);
/* A failed validation's problem type, counted for /metrics. */
void acme_count_vfail(struct acme *, const char *ptype);
/*
 * The lock of an account's records (orders, authorizations, the account
 * record); taken after mu when both are needed.
 */
pthread_mutex_t *acme_acct_lock(struct acme *, const char *acct);

struct rq {
	struct acme *a;
	const struct http_req *req;
	struct http_resp *resp;
	char ca[37];
	char arn[256];
	char ca_status[32];
	char sig_alg[32];
	int root;           /* a ROOT CA */
	char pred[37];      /* its rotation predecessor, or "" */
	int64_t rotated_at; /* when it was rotated, or 0 */
	struct ca_caller caller;
	const char *rest;       /* path after /acme/<ca>/ */
	char dir[ACME_URL_MAX]; /* base/acme/<ca> */
	char url[ACME_URL_MAX]; /* the request's full URL */
	struct acme_jws jws;
	char acct_id[ACME_ID_MAX]; /* authenticated by kid */
	json_t *acct;
};

void acme_problem(struct rq *, int status, const char *type, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
/* Takes o; 500 problem when o is NULL. */
void acme_reply(struct rq *, int status, json_t *o, const char *location);
void acme_link_up(struct rq *, const char *url);
void acme_url(const struct rq *, char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
json_t *acme_payload(struct rq *);
const char *acme_str(const json_t *, const char *k);

/*
 * state.c: what is in progress lives in memory only (a restart forgets
 * it, and the client retries): 1 when id was claimed now, 0 when it is
 * busy already or the table is full.
 */
int acme_busy_claim(struct acme *, const char *id);
void acme_busy_release(struct acme *, const char *id);
int acme_busy(struct acme *, const char *id);
/* state.c: records in the store's kv */
pca_err acme_rec_get(struct acme *, const char *ns, const char *id,
    json_t **out) PCA_WUR;
pca_err acme_rec_put(struct acme *, const char *ns, const char *id,
    const json_t *o, int create) PCA_WUR;
/* Several puts in one commit (all or none). */
#define ACME_BATCH_MAX (ACME_MAX_IDENTS + 2)
struct acme_rec_w {
	const char *ns, *id;
	const json_t *o;
};
pca_err acme_rec_batch(struct acme *, const struct acme_rec_w *,
    size_t n) PCA_WUR;
pca_err acme_rec_del(struct acme *, const char *ns, const char *id) PCA_WUR;
pca_err acme_id_new(char out[ACME_ID_MAX]) PCA_WUR;
pca_err acme_acct_load(struct rq *, const char *id, json_t **out) PCA_WUR;

/* acct.c */
void acme_new_account(struct rq *);
void acme_account(struct rq *, const char *id, const char *tail);
void acme_key_change(struct rq *);
/* order.c */
void acme_new_order(struct rq *);
void acme_order(struct rq *, const char *id, const char *tail);
void acme_authz(struct rq *, const char *id);
void acme_challenge(struct rq *, const char *authz, const char *idx);
/* The directory's meta.caaIdentities (a new array). */
json_t *acme_caa_ids_json(const struct acme_dnsconf *);
/* eab.c */
int acme_eab_check(struct rq *, const json_t *binding, json_t **eab, char *kid,
    size_t kid_len);
int acme_eab_names_ok(struct rq *, const json_t *ids);
/* Seals EAB HMAC keys stored in the clear (once, at start). */
void acme_eab_migrate(struct acme *);
/* profile.c: what an order is issued under */
struct acme_issue_as {
	char profile[ACME_PROFILE_MAX + 1]; /* "" when none */
	char policy[64];                    /* "" : the CA's binding */
	char tmpl[256];                     /* template ARN; "" : the default */
	unsigned days;                      /* validity */
};
json_t *acme_profiles_meta(struct rq *);
int acme_issue_as(struct rq *, const json_t *payload,
    struct acme_issue_as *out);
int acme_policy_names_ok(struct rq *, const struct acme_issue_as *,
    const json_t *ids);
/* prune.c */
void acme_prune_due(struct acme *);
pca_err acme_prune_store(struct store *, int64_t now, int64_t keep_s,
    size_t *orders, size_t *authzs, struct acme *a) PCA_WUR;
/* cert.c */
void acme_cert(struct rq *, const char *id, const char *tail);
void acme_revoke(struct rq *);
void acme_renewal_info(struct rq *, const char *certid);
/* The serial (hex, no leading zero octet) of an RFC 9773 certificate id. */
int acme_ari_serial(const char *certid, char hex[64]);

#endif
