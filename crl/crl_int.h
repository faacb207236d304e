/*
 * crl_int.h - shared by the files of crl/ (publisher, partitions, audit).
 */
#ifndef PCA_CRL_INT_H
#define PCA_CRL_INT_H

#include <pthread.h>

#include "../ca/ca.h"
#include "../store/store.h"
#include "crl.h"

#define CRL_STATE_NS "crlstate"
#define CRL_TRACK_MAX 256

struct crl_track {
	char id[37];
	uint64_t revgen;  /* the generation first seen pending */
	int64_t since_ms; /* when it was first seen */
	uint64_t left;    /* PARTITIONED: issuances here before the
			     open partition is due to be checked */
	int dirty;        /* a change feed record names it: look */
	unsigned fails;   /* builds failed in a row */
	int64_t retry_at; /* after a failure: no new try before this */
};

/* A failed build is retried after CRL_RETRY_MIN_S, doubling per failure in
 * a row up to CRL_RETRY_MAX_S (a build that cannot succeed, e.g. one over
 * a limit, costs its memory once in a while, not every poll).  A build that
 * failed for a passing reason (the token being re-initialized, the signer
 * restarting: PCA_EUNAVAIL, PCA_EBUSY) is retried sooner, from
 * CRL_RETRY_BRIEF_S on, doubling the same way. */
#define CRL_RETRY_MIN_S 60
#define CRL_RETRY_BRIEF_S 2
#define CRL_RETRY_MAX_S 3600

/*
 * The worker follows the store's change feed: each poll it looks only at
 * the CAs that records name (revocations, issuances, CA changes, by any
 * process); every CA is looked at on start, after a feed gap and every
 * CRL_FULL_SCAN_S (the time-driven rebuilds).
 */
#define CRL_FULL_SCAN_S 60
#define CRL_FEED_NAME "crl" /* our change feed cursor */

/*
 * kv crlpart/<CA id>: {"cdp": CDP of the open partition, "start": the CA's
 * store issuance counter when it opened}.  The counter is bumped in every
 * reservation's transaction, so rollover counts issuances by any process
 * and survives restarts.
 */
#define CRL_PART_NS "crlpart"

struct crl {
	struct crl_conf conf;
	char *account;
	struct hsm *hsm;
	struct store *store;
	pthread_rwlock_t elock; /* eng: readers build, attach writes */
	struct ca_engine *eng;
	pthread_mutex_t mu; /* below */
	pthread_cond_t cond;
	int wake, stop, started;
	pthread_t thread;
	void (*queued)(void *);
	void *queued_arg;
	struct crl_metrics m;
	struct crl_track track[CRL_TRACK_MAX];
	size_t ntrack;
	uint64_t feed_seq; /* worker only */
	int64_t full_at;   /* (mu) next full scan; 0: now */
	int untracked;     /* (mu) a CA had no slot: full scan */
};

/* The persisted state of one CA's CRLs (kv crlstate/<id>, JSON). */
struct crl_state {
	uint64_t revgen;  /* revocation generation the CRLs include */
	int64_t gen;      /* generation time of the complete CRL */
	int64_t next;     /* its nextUpdate */
	uint64_t number;  /* its cRLNumber */
	int64_t base_gen; /* the last complete CRL (delta base) */
	char fp[65];      /* SHA-256 of certificate, config and CDP */
	json_t *parts;    /* CDP URIs of every partition published */
	json_t *edge;     /* hex serials in the complete CRL revoked
			     within CRL_EDGE_S of base_gen; NULL:
			     unknown (the delta then repeats them) */
};

/*
 * A revocation is stamped before its transaction commits, so one stamped
 * a little before a complete CRL was built may commit after it: a delta
 * lists every revocation stamped from base_gen - CRL_EDGE_S on, except
 * those the complete CRL already listed (its edge, up to CRL_EDGE_MAX).
 */
#define CRL_EDGE_S 30
#define CRL_EDGE_MAX 4096

/* What one publication of a CA is built from. */
struct crl_job {
	struct crl *crl;
	const struct ca_info *ca;
	const json_t *cfg; /* CrlConfiguration */
	const uint8_t *issuer;
	size_t issuer_len;
	uint8_t akid[64];
	size_t akid_len;
	char meta[512]; /* object meta for sync/ */
	char complete_key[(STORE_OBJ_KEY_MAX + 1)];
	int64_t now;
	int64_t prev_gen; /* drop entries expired before it */
	struct crl_expired *expired;
	json_t *parts; /* partitions: in, then out (borrowed) */
};

int64_t crl_now_ms(void);
/* ca_info -> hsm_sign signer for crl_build. */
pca_err crl_sign_hsm(void *arg, const uint8_t *tbs, size_t len, uint8_t *sig,
    size_t *sig_len) PCA_WUR;

/* crl_build parameters of the job (complete scope, all entries). */
void crl_params_init(const struct crl_job *, uint64_t number,
    struct crl_params *);

/* part.c: partition CRLs of a PARTITIONED CA. */
struct crl_objs {
	struct store_obj_in v[64];
	uint8_t *bodies[64];
	char keys[64][(STORE_OBJ_KEY_MAX + 1)];
	size_t n;
};
pca_err crl_partitions(struct crl_job *, uint64_t number, crl_keep_fn keep,
    void *keep_arg, struct crl_objs *) PCA_WUR;
pca_err crl_obj_add(struct crl_objs *, const char *key, uint64_t version,
    const char *meta, uint8_t *body, size_t len) PCA_WUR;
/* The S3 key of a CDP URL: what follows its host. */
const char *crl_uri_key(const char *uri);

#endif
