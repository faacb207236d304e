/*
 * ca.h - the issuance engine: ACM-PCA CA lifecycle and certificate
 * issuance over a PKCS#11 signer (hsm/) and LMDB records (store/).
 *
 * Most requests and outputs are C structs and strings (tags, permissions,
 * issuance, rotation, the publishers' struct ca_info); api/ translates
 * JSON.  Still in the ACM-PCA shapes (jansson objects with the model's
 * member names, as the CA record stores them): CreateCertificateAuthority's
 * request, the CertificateAuthority objects of describe and list, the
 * RevocationConfiguration of ca_update and ca_info, and ApiPassthrough.
 * Shape validation (types, lengths, enums: ValidationException) is the
 * caller's job; the engine checks semantics and state and answers with
 * pca_err codes api/ maps onto exception names:
 *
 *   PCA_EBADARN InvalidArn       PCA_ENOTFOUND ResourceNotFound
 *   PCA_ESTATE InvalidState       PCA_EINVAL InvalidArgs
 *   PCA_EBADCSR MalformedCSR      PCA_EBADCERT MalformedCertificate
 *   PCA_EMISMATCH CertificateMismatch   PCA_EBADREQ InvalidRequest
 *   PCA_EALREADY RequestAlreadyProcessed  PCA_ELIMIT LimitExceeded
 *   PCA_EINPROGRESS RequestInProgress  PCA_EVALIDATION Validation
 *   PCA_EUNAVAIL, PCA_EBUSY: retryable    others: RequestFailed
 *
 * Crash ordering of an issuance: the serial and the exact to-be-signed
 * bytes are committed before signing; the signed certificate is committed
 * before it is returned.  A crash in between leaves a PENDING record that
 * can still be revoked, never a certificate nobody knows about.
 *
 * All functions are thread-safe.  Mutations of one CA are serialized.
 */
#ifndef PCA_CA_H
#define PCA_CA_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/err.h"
#include "../hsm/hsm.h"

struct hsm;
struct store;
struct ca_engine;

struct ca_engine_conf {
	const char *partition;    /* ARN partition; NULL = "aws" */
	const char *ocsp_url;     /* AIA OCSP URL when OCSP is enabled and no
				     OcspCustomCname; NULL = AWS's form */
	const char *crl_url_base; /* CDP base when no CustomCname (e.g.
				   "http://127.0.0.1:8080"); NULL = S3 form */
	unsigned max_cas;         /* per account+region; 0 = 200 */
	unsigned idem_ttl;        /* idempotency window, s; 0 = 300 */
	/*
	 * The certification the operator states for the token
	 * (FIPS_140_2_LEVEL_3_OR_HIGHER, FIPS_140_2_LEVEL_2_OR_HIGHER or
	 * CCPC_LEVEL_1_OR_HIGHER), recorded as a new CA's
	 * KeyStorageSecurityStandard; a request asking for more is refused.
	 * NULL: none claimed (the field is left out).
	 */
	const char *key_storage;
	unsigned rotate_before_days; /* scheduled rotation of every CA this
				   many days before its certificate expires
				   (a CA's own setting wins); 0 = off */
};

/* Who is calling: the account and region every ARN is scoped to. */
struct ca_caller {
	const char *account; /* 12 digits */
	const char *region;  /* e.g. "us-east-1" */
	const char *who;     /* access key id or "pcactl", for the audit */
};

/*
 * Services the engine calls out to (set by pcad; optional): s3_probe runs
 * when CreateCertificateAuthority or UpdateCertificateAuthority enables a
 * CRL (spec 5.1), and its error is the operation's.
 */
struct ca_hooks {
	void *arg;
	pca_err (*s3_probe)(void *arg, const char *bucket, const char *acl);
};

pca_err ca_engine_new(const struct ca_engine_conf *, struct hsm *,
    struct store *, struct ca_engine **out) PCA_WUR;
void ca_engine_free(struct ca_engine *);
/* Sets the hooks (before the engine is shared between threads). */
void ca_engine_hooks_set(struct ca_engine *, const struct ca_hooks *);

/*
 * CreateCertificateAuthority.  req holds CertificateAuthorityConfiguration,
 * CertificateAuthorityType, and optionally RevocationConfiguration,
 * IdempotencyToken, KeyStorageSecurityStandard, Tags, UsageMode.  Generates
 * the key in the token, builds and signs the CA's CSR; the CA is then
 * PENDING_CERTIFICATE.  *arn: caller frees.
 */
pca_err ca_create(struct ca_engine *, const struct ca_caller *,
    const json_t *req, char **arn) PCA_WUR;
/*
 * ca_create with flags: CA_CREATE_LOCAL_CRL lets an enabled
 * CrlConfiguration leave out S3BucketName (a CRL served by pcad under
 * /crl/ and never uploaded: pcactl's default; the API keeps AWS's rule).
 */
#define CA_CREATE_LOCAL_CRL 1u
pca_err ca_create_ex(struct ca_engine *, const struct ca_caller *,
    const json_t *req, unsigned flags, char **arn) PCA_WUR;

/* DescribeCertificateAuthority: a CertificateAuthority object. */
pca_err ca_describe(struct ca_engine *, const struct ca_caller *,
    const char *arn, json_t **out) PCA_WUR;

/*
 * Every CA of the caller's account+region (DELETED ones still restorable
 * included) as CertificateAuthority objects ordered by CreatedAt, ARN.
 */
pca_err ca_list(struct ca_engine *, const struct ca_caller *,
    json_t **out) PCA_WUR;

/* GetCertificateAuthorityCsr: the stored PEM CSR (caller frees). */
pca_err ca_csr_get(struct ca_engine *, const struct ca_caller *,
    const char *arn, char **pem) PCA_WUR;

/*
 * ImportCertificateAuthorityCertificate: cert and chain are the decoded
 * blobs (PEM, or DER for the certificate); chain may be NULL.
 */
pca_err ca_import_cert(struct ca_engine *, const struct ca_caller *,
    const char *arn, const uint8_t *cert, size_t cert_len, const uint8_t *chain,
    size_t chain_len) PCA_WUR;

struct ca_issue_req {
	const char *ca_arn;
	const uint8_t *csr; /* decoded Csr blob: PEM or DER */
	size_t csr_len;
	const char *signing_algorithm; /* SHA256WITHECDSA, ... */
	const char *template_arn;      /* NULL: EndEntityCertificate/V1 */
	const char *validity_type;     /* END_DATE ABSOLUTE DAYS MONTHS YEARS */
	int64_t validity_value;
	const char *not_before_type; /* ValidityNotBefore, or NULL */
	int64_t not_before_value;
	const json_t *api_passthrough; /* or NULL */
	const char *idempotency_token; /* or NULL */
	/*
	 * The calling account, which scopes the token (it differs from the
	 * caller's account, the CA owner's, on a shared CA); NULL: the
	 * caller's account.
	 */
	const char *requester_account;
	/*
	 * An issuance policy by name that replaces the one bound to the CA
	 * (an ACME account's EAB key or profile); NULL: the binding.
	 */
	const char *policy;
};

/* IssueCertificate. *cert_arn: caller frees. */
pca_err ca_issue(struct ca_engine *, const struct ca_caller *,
    const struct ca_issue_req *, char **cert_arn) PCA_WUR;

/*
 * GetCertificate: the certificate PEM and the chain PEM (the issuing CA's
 * certificate then its chain, root last; *chain NULL for a root's
 * self-issued certificate).  Caller frees both.
 */
pca_err ca_cert_get(struct ca_engine *, const struct ca_caller *,
    const char *ca_arn, const char *cert_arn, char **pem, char **chain) PCA_WUR;

/* GetCertificateAuthorityCertificate; *chain NULL for a ROOT CA. */
pca_err ca_cacert_get(struct ca_engine *, const struct ca_caller *,
    const char *arn, char **pem, char **chain) PCA_WUR;

/*
 * RevokeCertificate.  serial: hex, colons optional, any case, leading zero
 * octet tolerated; reason: an ACM-PCA RevocationReason name.
 */
pca_err ca_revoke(struct ca_engine *, const struct ca_caller *, const char *arn,
    const char *serial, const char *reason) PCA_WUR;

/*
 * UpdateCertificateAuthority: status "ACTIVE"/"DISABLED" or NULL;
 * revocation replaces the stored RevocationConfiguration, or NULL.
 */
pca_err ca_update(struct ca_engine *, const struct ca_caller *, const char *arn,
    const char *status, const json_t *revocation) PCA_WUR;

/* DeleteCertificateAuthority (days 7..30, 0 = 30) / Restore. */
pca_err ca_delete(struct ca_engine *, const struct ca_caller *, const char *arn,
    int days) PCA_WUR;
pca_err ca_restore(struct ca_engine *, const struct ca_caller *,
    const char *arn) PCA_WUR;

/*
 * Deep check for "pcactl store verify": every issued certificate parses,
 * names its CA as issuer and verifies under the CA key; every PENDING
 * record is reported; problems go through problem().
 */
pca_err ca_verify_all(struct ca_engine *, size_t *checked, size_t *problems,
    void (*problem)(const char *msg, void *arg),
    void (*progress)(size_t done, size_t total, void *arg), void *arg) PCA_WUR;

/*
 * Housekeeping, for the daemon to call now and then: applies the lazy
 * transitions of every CA (EXPIRED; DELETED past its restore window is
 * purged: key destroyed, records removed) and drops expired idempotency
 * tokens.  The counts may be NULL.
 */
pca_err ca_engine_maintain(struct ca_engine *, size_t *purged_cas,
    size_t *purged_tokens) PCA_WUR;

/* ---- key rotation (rotate.c) ---- */

/* Where link certificates are kept: rotation/<old CA id>/<name>.crt */
#define CA_ROTATION_PREFIX "rotation/"

struct ca_rotate_req {
	const char *idempotency_token; /* or NULL */
	int validity_days;             /* the successor's certificate; 0: the
					  old certificate's span, from now */
};

/*
 * OpenPCA.RotateCertificateAuthority: an ACTIVE CA gets a successor with a
 * new key (same subject, algorithms, revocation configuration, tags,
 * resource policy, permissions, policy bindings), signed by the parent on
 * the appliance (a root: by itself, plus link certificates both ways).
 * From then on the old CA refuses to issue (PCA_ESTATE naming the
 * successor) and keeps its CRLs and OCSP.  Under a parent that is not on
 * the appliance the successor waits in PENDING_CERTIFICATE and takes over
 * when its certificate is imported.  *successor: caller frees.
 */
pca_err ca_rotate(struct ca_engine *, const struct ca_caller *, const char *arn,
    const struct ca_rotate_req *, char **successor) PCA_WUR;
/* The CA's own rotate_before_days (0: never; -1: the engine's default). */
pca_err ca_rotate_schedule(struct ca_engine *, const struct ca_caller *,
    const char *arn, int days) PCA_WUR;
/*
 * The rotation pass (pcad's maintenance, pcactl ca rotate --due): rotates
 * the CAs due by rotate_before_days and disables rotated CAs whose last
 * certificate has expired.
 */
pca_err ca_rotate_maintain(struct ca_engine *, size_t *rotated,
    size_t *retired) PCA_WUR;

/* Splits "arn:...:certificate-authority/<uuid>" into its UUID (37 bytes). */
pca_err ca_arn_uuid(const char *arn, char uuid[37]) PCA_WUR;

/* ---- tags, resource policies, permissions (meta.c) ---- */

/* One tag of a CA. */
struct ca_tag {
	const char *key;   /* NULL only in a malformed request */
	const char *value; /* NULL: the tag has no value */
};

/*
 * A Tags list as CreateCertificateAuthority and TagCertificateAuthority
 * take it: PCA_EINVAL (InvalidTag) for a missing key, a key starting with
 * "aws:" or a key given twice.
 */
pca_err ca_tags_check(const struct ca_tag *, size_t n) PCA_WUR;
/*
 * TagCertificateAuthority: upserts by key; more than 50 tags afterwards:
 * PCA_ELIMIT.  Any state but DELETED.
 */
pca_err ca_tags_add(struct ca_engine *, const struct ca_caller *,
    const char *arn, const struct ca_tag *, size_t n) PCA_WUR;
/*
 * UntagCertificateAuthority: an entry without value removes the key, one
 * with a value only when it matches; missing keys are ignored.
 */
pca_err ca_tags_remove(struct ca_engine *, const struct ca_caller *,
    const char *arn, const struct ca_tag *, size_t n) PCA_WUR;
/*
 * ListTags: the tags ordered by key, in any state; *tags and its strings
 * are the caller's (ca_tags_free).
 */
pca_err ca_tags_get(struct ca_engine *, const struct ca_caller *,
    const char *arn, struct ca_tag **tags, size_t *n) PCA_WUR;
void ca_tags_free(struct ca_tag *, size_t n);

/*
 * PutPolicy: stored verbatim; PCA_EPOLICY when it is not a JSON object with
 * Version and a non-empty Statement whose entries have an Effect of Allow or
 * Deny.  Not in DELETED or FAILED.
 */
pca_err ca_policy_put(struct ca_engine *, const struct ca_caller *,
    const char *arn, const char *policy) PCA_WUR;
/* GetPolicy (any state): PCA_ENOTFOUND when none is attached. */
pca_err ca_policy_get(struct ca_engine *, const struct ca_caller *,
    const char *arn, char **policy) PCA_WUR;
/* DeletePolicy: succeeds when none is attached.  Not DELETED/FAILED. */
pca_err ca_policy_delete(struct ca_engine *, const struct ca_caller *,
    const char *arn) PCA_WUR;

#define CA_PERM_ACTIONS_MAX 3

/*
 * CreatePermission: principal acm.amazonaws.com (else PCA_EVALIDATION),
 * 1..CA_PERM_ACTIONS_MAX actions of IssueCertificate, GetCertificate,
 * ListPermissions (else PCA_EVALIDATION); source_account NULL = the
 * caller's account.  The same (principal, source account) twice:
 * PCA_EEXISTS.  Not DELETED/FAILED.
 */
pca_err ca_perm_create(struct ca_engine *, const struct ca_caller *,
    const char *arn, const char *principal, const char *source_account,
    const char *const *actions, size_t nactions) PCA_WUR;
/* DeletePermission: PCA_ENOTFOUND when there is no such permission. */
pca_err ca_perm_delete(struct ca_engine *, const struct ca_caller *,
    const char *arn, const char *principal, const char *source_account) PCA_WUR;
/* One permission as ListPermissions shows it. */
struct ca_perm {
	char *principal;
	char *source_account;
	char *actions[CA_PERM_ACTIONS_MAX];
	size_t nactions;
	int64_t created_at; /* Unix seconds */
	char *policy;       /* the resource policy it stands for,
			       JSON text */
};

/*
 * ListPermissions: ordered by principal, source account; *perms is the
 * caller's (ca_perm_list_free).  DELETED: PCA_ESTATE "The certificate
 * authority is in the DELETED state".
 */
pca_err ca_perm_list(struct ca_engine *, const struct ca_caller *,
    const char *arn, struct ca_perm **perms, size_t *n) PCA_WUR;
void ca_perm_list_free(struct ca_perm *, size_t n);

/*
 * ListCertificateAuthorities(ResourceOwner=OTHER_ACCOUNTS): the CAs of
 * other accounts in the caller's region whose resource policy passes
 * shared(policy, arg), as CertificateAuthority objects ordered by
 * CreatedAt, ARN.
 */
pca_err ca_list_shared(struct ca_engine *, const struct ca_caller *,
    int (*shared)(const char *policy, void *arg), void *arg,
    json_t **out) PCA_WUR;

/* ---- issuance policy (policy/, wired by cmd/) ---- */

/* What the policy judge is shown for one end-entity certificate. */
struct ca_policy_req {
	const char *ca_uuid;
	const char *ca_arn;
	const char *access_key;        /* the caller's "who", or NULL */
	const char *template_name;     /* "EndEntityCertificate/V1" */
	const char *signing_algorithm; /* "SHA256WITHECDSA" */
	int64_t validity_s;            /* from issuance to notAfter */
	const uint8_t *tbs;            /* the TBSCertificate to be signed */
	size_t tbs_len;
	const char *policy; /* ca_issue_req's policy, or NULL */
};

/*
 * Sets the judge asked about every end-entity certificate after its TBS is
 * built and before anything is reserved or signed; its error (with its
 * message) refuses the issuance.  NULL: no policy.  Set before the engine
 * is shared between threads; arg must outlive the engine's use.
 */
void ca_engine_policy_set(struct ca_engine *,
    pca_err (*judge)(void *arg, const struct ca_policy_req *), void *arg);

/*
 * Sets the function told about every certificate the lint gate refuses
 * (who: the caller's "who", or NULL; msg: the gate's message, "lint: ...
 * rule RULE: ...").  Called on the issuing thread: it must not block.
 * NULL: nobody is told.  Same rules as ca_engine_policy_set.
 */
void ca_engine_refusal_set(struct ca_engine *,
    void (*fn)(void *arg, const char *who, const char *msg), void *arg);

/*
 * Sets the source of the nameConstraints (RFC 5280 4.2.1.10) stamped,
 * critical, on the subordinate CA certificates a CA issues: fn gives the
 * extnValue DER for the issuing CA (uuid) and caller (access_key, or NULL)
 * in *der (malloc'd, the engine frees it), or *der NULL for none; its
 * error refuses the issuance.  Same rules as ca_engine_policy_set.
 */
void ca_engine_constraints_set(struct ca_engine *,
    pca_err (*fn)(void *arg, const char *ca_uuid, const char *access_key,
	uint8_t **der, size_t *len),
    void *arg);

/* ---- for the revocation publishers (crl/, ocsp/) ---- */

enum ca_event_type {
	CA_EV_ISSUED = 1, /* a certificate was recorded as issued */
	CA_EV_REVOKED,    /* a certificate was revoked */
	CA_EV_CA_CHANGED, /* a CA record changed (created, imported,
			     updated, deleted, restored, expired) */
};

struct ca_event {
	enum ca_event_type type;
	const char *ca_uuid;
	const uint8_t *serial; /* ISSUED, REVOKED; else NULL */
	size_t serial_len;
	double seconds; /* ISSUED through ca_issue: its duration,
			   request to commit (metrics); else 0 */
};

#define CA_LISTENERS_MAX 8

/*
 * Registers fn to be called after each durable change made through this
 * engine, on the thread that made it (so fn must only queue work).  Set up
 * listeners before the engine is shared between threads.
 */
pca_err ca_engine_listen(struct ca_engine *,
    void (*fn)(const struct ca_event *, void *arg), void *arg) PCA_WUR;

/*
 * Opens a new CRL partition for a PARTITIONED CA (certificates issued from
 * now on carry its CDP); a no-op for other CAs.
 */
pca_err ca_crl_partition_roll(struct ca_engine *, const char *uuid) PCA_WUR;

/*
 * AIA caIssuers of the certificates of a CA with OCSP enabled, when the
 * appliance has a public base ([crl] url_base):
 * <base>/ca/<CA id>.crt, the CA certificate in DER (pcad's plain-HTTP port).
 */
#define CA_ISSUERS_PREFIX "ca/"

/* A copy of what a publisher needs to know about one CA. */
struct ca_info {
	char uuid[37];
	char arn[256];
	char status[24];    /* ACTIVE, DISABLED, DELETED, ... */
	int root;           /* ROOT (1) or SUBORDINATE (0) */
	char key_label[48]; /* the CA key in the token */
	uint8_t *spki;      /* its public key, DER SPKI */
	size_t spki_len;
	int sigalg;        /* enum pca_sigalg of the CA config */
	uint8_t *cert_der; /* CA certificate; NULL before import */
	size_t cert_len;
	json_t *revocation; /* RevocationConfiguration (a copy) */
	char *cdp_uri;      /* CDP written into its certificates */
	char *ocsp_uri;     /* AIA OCSP URL, or NULL */
};

/* Fills *out for the CA (any account); release with ca_info_clear. */
pca_err ca_info_get(struct ca_engine *, const char *uuid,
    struct ca_info *out) PCA_WUR;
void ca_info_clear(struct ca_info *);
/* The ids of every CA in the store (caller frees *ids). */
pca_err ca_info_ids(struct ca_engine *, char (**ids)[37], size_t *n) PCA_WUR;

/*
 * The separated signer's check (signcheck.c): may the key labelled label
 * be used for op on these bytes?  Reads the CA records of e's store (read
 * only is enough; no cache) and, for a CSR, the key's public key from h.
 * PCA_OK or PCA_EPOLICY "signer: ..." (logged).
 */
pca_err ca_sign_check(struct ca_engine *e, struct hsm *h, enum hsm_signer_op op,
    const char *label, unsigned flags, enum pca_sigalg alg, const uint8_t *tbs,
    size_t len) PCA_WUR;

#endif
