/* server_int.h - the request context shared by the files of acme/. */
#ifndef PCA_ACME_SERVER_INT_H
#define PCA_ACME_SERVER_INT_H

#include <pthread.h>
#include <stdarg.h>

#include <jansson.h>

#include "../ca/ca.h"
#include "acme_int.h"

#define ACME_NONCE_LEN 40
#define ACME_URL_MAX 400
#define ACME_ID_MAX 64
#define ACME_MAX_IDENTS 100
#define ACME_ORDER_TTL (7 * 86400)
#define ACME_ACCT_ORDERS 1000	/* order URLs kept per account */

struct http_req;
struct http_resp;

struct acme {
	struct acme_conf c;
	char base[256], region[64], account[32], partition[32], vaddr[64];
	struct ca_engine *eng;
	pthread_rwlock_t englock;	/* eng is replaced under wrlock */
	struct store *st;
	pthread_mutex_t mu;		/* nonces and state updates */
	uint8_t nkey[32];
	uint64_t nseq;
	uint8_t nused[65536 / 8];
	/* metrics (atomic counters, acme_count) */
	uint64_t m_accounts, m_orders, m_issued, m_revoked;
	uint64_t m_valid[3], m_invalid[3]; /* http-01, tls-alpn-01, dns-01 */
	struct acme_dnsconf dc;		/* [acme] resolver, caa_identities */
	uint64_t m_problems;
};

void acme_count(struct acme *, uint64_t *counter);

struct rq {
	struct acme *a;
	const struct http_req *req;
	struct http_resp *resp;
	char ca[37];
	char arn[256];
	char ca_status[32];
	char sig_alg[32];
	struct ca_caller caller;
	const char *rest;		/* path after /acme/<ca>/ */
	char dir[ACME_URL_MAX];		/* base/acme/<ca> */
	char url[ACME_URL_MAX];		/* the request's full URL */
	struct acme_jws jws;
	char acct_id[ACME_ID_MAX];	/* authenticated by kid */
	json_t *acct;
};

void acme_problem(struct rq *, int status, const char *type,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Takes o; 500 problem when o is NULL. */
void acme_reply(struct rq *, int status, json_t *o, const char *location);
void acme_link_up(struct rq *, const char *url);
void acme_url(const struct rq *, char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
json_t *acme_payload(struct rq *);
const char *acme_str(const json_t *, const char *k);

/* state.c: records in the store's kv */
pca_err acme_rec_get(struct acme *, const char *ns, const char *id,
    json_t **out) PCA_WUR;
pca_err acme_rec_put(struct acme *, const char *ns, const char *id,
    const json_t *o, int create) PCA_WUR;
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
int acme_eab_check(struct rq *, const json_t *binding, json_t **eab,
    char *kid, size_t kid_len);
int acme_eab_names_ok(struct rq *, const json_t *ids);
/* cert.c */
void acme_cert(struct rq *, const char *id);
void acme_revoke(struct rq *);
void acme_renewal_info(struct rq *, const char *certid);

#endif
