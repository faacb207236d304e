/*
 * engine_int.h - shared by engine.c (CA lifecycle), issue.c (issuance,
 * retrieval, revocation) and record.c (CA records, ARNs, revocation
 * configuration, the issuing-context cache).
 */
#ifndef PCA_CA_ENGINE_INT_H
#define PCA_CA_ENGINE_INT_H

#include <pthread.h>

#include "ca.h"
#include "../profile/profile.h"
#include "../x509/x509.h"

#define CA_ARN_MAX 256
#define CA_LABEL_MAX 48

/*
 * An immutable, parsed view of one CA record, shared by concurrent
 * issuances; rebuilt whenever the stored record bytes change.
 */
struct ca_ctx {
	int refs;  /* under engine->lock */
	char *raw; /* record bytes it was built from */
	size_t raw_len;
	json_t *rec; /* the parsed record */
	char uuid[37];
	char arn[CA_ARN_MAX];
	char account[16];
	char region[32];
	enum prof_ca_type type;
	const char *status; /* points into rec */
	enum pca_keyalg keyalg;
	char label[CA_LABEL_MAX];
	uint8_t *spki;
	size_t spki_len;
	int short_lived;
	/* once a CA certificate is installed: */
	uint8_t *cert_der;
	size_t cert_len;
	uint8_t *subject_der; /* CA cert subject, issuer of its certs */
	size_t subject_len;
	uint8_t ski[20];
	int has_ski;
	int64_t not_before;
	int64_t not_after;
	int pathlen;       /* -1: none */
	char *cert_pem;    /* the CA certificate, PEM */
	char *chain_pem;   /* the CA's chain (no CA cert), or NULL */
	char *cdp_uri;     /* NULL: no CDP */
	char *ocsp_uri;    /* NULL: no AIA */
	char *issuers_uri; /* AIA caIssuers, or NULL */
};

struct ca_ctx_slot {
	char uuid[37];
	struct ca_ctx *ctx;
};

struct ca_engine {
	struct hsm *hsm;
	struct store *store;
	char partition[32];
	char *ocsp_url;
	char *crl_url_base;
	char *key_storage; /* NULL: no certification claimed */
	unsigned max_cas;
	unsigned idem_ttl;
	unsigned rotate_before_days;
	pthread_mutex_t lock; /* cache and refcounts */
	pthread_mutex_t mut;  /* serializes CA record mutations */
	struct ca_ctx_slot *cache;
	size_t ncache;
	struct {
		void (*fn)(const struct ca_event *, void *);
		void *arg;
	} listeners[CA_LISTENERS_MAX];
	size_t nlisteners;
	struct ca_hooks hooks;
	/* issuance policy judge (ca_engine_policy_set), or NULL */
	pca_err (*policy)(void *, const struct ca_policy_req *);
	void *policy_arg;
	/* nameConstraints source (ca_engine_constraints_set), or NULL */
	pca_err (*constraints)(void *, const char *, const char *, uint8_t **,
	    size_t *);
	void *constraints_arg;
	/* told about lint refusals (ca_engine_refusal_set), or NULL */
	void (*refusal)(void *, const char *, const char *);
	void *refusal_arg;
};

/* ---- idem.c: IssueCertificate's IdempotencyToken ---- */

struct store_cert;

struct ca_idem {
	char key[CA_ARN_MAX + 160];    /* issue2|account|region|CA|token */
	char legacy[CA_ARN_MAX + 160]; /* pre-scope key; "" if not ours */
	char digest[65];               /* SHA-256 of the request, hex */
	char *entry;                   /* what this call claims with */
	int claimed;                   /* our claim is recorded */
	int retry;                     /* the claim followed went away */
};

/* Scope key and request digest; ca_idem_clear frees. */
pca_err ca_idem_init(struct ca_idem *, const struct ca_caller *,
    const struct ca_issue_req *, const char *template_arn) PCA_WUR;
void ca_idem_clear(struct ca_idem *);
/*
 * A replay: PCA_OK with the earlier certificate's ARN (after waiting for
 * its signature); PCA_ENOTFOUND: no live entry, issue; PCA_EINVAL: the
 * token was used with different arguments.
 */
pca_err ca_idem_lookup(struct ca_engine *, struct ca_idem *, const char *uuid,
    char **arn) PCA_WUR;
/*
 * Reserves rec with the token's claim in one transaction.  PCA_EALREADY
 * (with *arn) when another call holds the token: its certificate.
 */
pca_err ca_idem_reserve(struct ca_engine *, struct ca_idem *,
    const struct ca_ctx *, const struct store_cert *rec, char **arn) PCA_WUR;
/* Gives up this call's claim after a failed issuance. */
void ca_idem_release(struct ca_engine *, struct ca_idem *);

/* ---- record.c ---- */

/*
 * Parses and scopes a CA ARN for the caller: PCA_EBADARN when malformed or
 * of another partition, region or account.
 */
pca_err ca_arn_check(const struct ca_engine *, const struct ca_caller *,
    const char *arn, char uuid[37]) PCA_WUR;
void ca_arn_make(const struct ca_engine *, const char *account,
    const char *region, const char *uuid, char out[CA_ARN_MAX]);

/*
 * The CA for uuid as a shared context (release with ca_ctx_put).  A record
 * whose lazy transitions are due (ACTIVE/DISABLED past NotAfter becomes
 * EXPIRED; DELETED past RestorableUntil is purged) is updated first.
 */
pca_err ca_ctx_get(struct ca_engine *, const char *uuid,
    struct ca_ctx **out) PCA_WUR;
void ca_ctx_put(struct ca_engine *, struct ca_ctx *);
/* Builds a context from record bytes (no cache); for verify and list. */
pca_err ca_ctx_build(struct ca_engine *, const char *uuid, const char *raw,
    size_t raw_len, struct ca_ctx **out) PCA_WUR;
void ca_ctx_free(struct ca_ctx *);

/* Writes a record (caller holds engine->mut). */
pca_err ca_rec_save(struct ca_engine *, const char *uuid, json_t *rec,
    int create) PCA_WUR;
/* A deep copy of the stored record for read-modify-write under mut. */
pca_err ca_rec_load(struct ca_engine *, const char *uuid, json_t **rec) PCA_WUR;
/*
 * Scopes arn to the caller, applies lazy transitions and loads a deep copy
 * of the record for a read-modify-write; the caller holds engine->mut and
 * saves with ca_rec_save.
 */
pca_err ca_rec_begin(struct ca_engine *, const struct ca_caller *,
    const char *arn, char uuid[37], json_t **rec) PCA_WUR;
/* True when the record's Status is one of the NULL-terminated list. */
int ca_rec_status_in(const json_t *rec, const char *const *list);
/* PCA_ESTATE naming the operation, the CA and its status. */
pca_err ca_rec_state_err(const json_t *rec, const char *op);
/* Sets Status and LastStateChangeAt. */
void ca_rec_set_status(json_t *rec, const char *status, int64_t now);
/* qsort order of CertificateAuthority objects: CreatedAt, then Arn. */
int ca_rec_by_created(const void *, const void *);
/* The CertificateAuthority output object of a record. */
json_t *ca_rec_describe(const json_t *rec);

/*
 * Validates RevocationConfiguration per spec 5.1 and returns it with the
 * defaults filled in (absent halves become {"Enabled":false}); local_crl
 * lets an enabled CrlConfiguration leave out S3BucketName (a CRL served by
 * pcad only: pcactl's default, never the API's).
 */
pca_err ca_revocation_normalize(const json_t *in, int local_crl,
    json_t **out) PCA_WUR;

/* Appends an audit entry; a failure is logged (the operation stands). */
void ca_audit(struct ca_engine *, const struct ca_caller *, const char *op,
    const char *arn, const char *detail);

/* Tells every listener about a durable change. */
void ca_notify(struct ca_engine *, enum ca_event_type, const char *uuid,
    const uint8_t *serial, size_t serial_len);

/* ---- issue.c / rotate.c: key rotation ---- */

struct ca_link_req {
	const char *uuid;   /* the signing CA (ACTIVE) */
	const uint8_t *csr; /* the subject's CSR (its key, name) */
	size_t csr_len;
	const struct prof_template *tmpl; /* a CA family, not a root one */
	int64_t not_after;
};

/* A CA certificate signed by q->uuid (issue.c); *der caller frees. */
pca_err ca_issue_link(struct ca_engine *, const struct ca_caller *,
    const struct ca_link_req *q, uint8_t **der, size_t *der_len) PCA_WUR;
/*
 * The CA id the policy judge and the nameConstraints source see for c:
 * its first predecessor's (rotate.c), so bindings survive a rotation.
 */
const char *ca_ctx_policy_uuid(const struct ca_ctx *c);
/* The "OpenPCA" member of DescribeCertificateAuthority, or NULL. */
json_t *ca_rotate_describe(const json_t *rec);
/*
 * Called by ca_import_cert after a certificate is installed in uuid: a
 * successor waiting for its certificate (rotated under an external
 * parent) now takes over from its predecessor.
 */
void ca_rotate_imported(struct ca_engine *, const char *uuid);

/* pca_err_set with the CA state in the message. */
pca_err ca_state_err(const struct ca_ctx *, const char *op);

/* ---- crashpoint.c: the crash-test hook (tests only) ---- */

/*
 * Ends the process with SIGKILL when PCA_CRASHPOINT=name[:n] names this
 * point and issuance passes it for the n-th time (n defaults to 1).  The
 * points, in issuance order: lint, reserve, sign, commit, committed, reply.
 * Does nothing when the variable is unset (the normal case).
 */
void ca_crashpoint(const char *name);

#endif
