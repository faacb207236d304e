/*
 * iam.h - IAM policies for the API: parsing and validating identity and
 * resource policies in AWS's JSON grammar, evaluating them for one request
 * the way IAM does, and the built-in managed policies (admin, issuer,
 * auditor).  Pure judgement: no I/O, no store, no HTTP; depends on common/
 * and jansson only.
 *
 * Grammar supported (docs/iam.md): Version, Id, Statement (object or
 * array) with Sid, Effect Allow|Deny, Action|NotAction ("acm-pca:<op>",
 * "openpca:<op>", wildcards * and ?), Resource|NotResource ("*" or ARNs
 * with wildcards), Principal (resource policies only), Condition with the
 * String*, Arn*, Bool, Null, IpAddress/NotIpAddress and Date* operators,
 * the ForAnyValue:/ForAllValues: qualifiers and the IfExists suffix.
 * Condition keys: acm-pca:TemplateArn, aws:RequestTag/<key>,
 * aws:ResourceTag/<key>, aws:TagKeys, aws:SourceIp, aws:CurrentTime,
 * aws:SecureTransport, aws:PrincipalAccount (and aws:SourceAccount, which
 * only service principals carry: never present for an access key).
 *
 * Thread-safety: a parsed policy is immutable; any number of threads may
 * evaluate it at once.
 */
#ifndef PCA_IAM_H
#define PCA_IAM_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

#define IAM_MAX_POLICY_BYTES 10240 /* policy document text */
#define IAM_MAX_STATEMENTS 64
#define IAM_MAX_VALUES 64     /* entries of one Action/Resource/value list */
#define IAM_MAX_CONDITIONS 32 /* operator x key pairs of one statement */
#define IAM_MAX_STRING 2048   /* one string of a policy */
#define IAM_SID_MAX 128

/* Resource policies carry a Principal; identity policies must not. */
enum iam_kind {
	IAM_IDENTITY = 0,
	IAM_RESOURCE,
};

struct iam_policy;

/*
 * Parses and validates a policy document (len bytes, at most
 * IAM_MAX_POLICY_BYTES).  On failure: PCA_ETOOBIG (size, counts),
 * PCA_EPARSE (not JSON) or PCA_EINVAL (grammar), with a message naming the
 * place, e.g. "Statement[1].Condition: unknown operator StringEqualz".
 */
pca_err iam_policy_parse(const char *text, size_t len, enum iam_kind,
    struct iam_policy **out) PCA_WUR;
/*
 * Policies are reference counted, so one parsed policy can serve many
 * requests at once (api/ caches the parsed policy of each access key):
 * iam_policy_ref takes another reference and returns p; iam_policy_free
 * drops one, and the last one frees.  Both are safe from any thread.
 */
struct iam_policy *iam_policy_ref(struct iam_policy *p);
void iam_policy_free(struct iam_policy *);
/* The policy re-serialised compactly (keys sorted); caller frees. */
pca_err iam_policy_text(const struct iam_policy *, char **out) PCA_WUR;

struct iam_tag {
	const char *key;
	const char *value; /* NULL for UntagCertificateAuthority's keys */
};

/* The request context of one call. */
struct iam_request {
	const char *account;      /* the caller's account (12 digits) */
	const char *action;       /* "acm-pca:IssueCertificate" */
	const char *resource;     /* a CA ARN, or "*" for account-level ops */
	const char *template_arn; /* acm-pca:TemplateArn (issuance), or NULL */
	const struct iam_tag *req_tags; /* aws:RequestTag/<k>, aws:TagKeys */
	size_t nreq_tags;
	const struct iam_tag *res_tags; /* aws:ResourceTag/<k> */
	size_t nres_tags;
	const char *source_ip; /* aws:SourceIp, or NULL */
	int secure_transport;  /* aws:SecureTransport: 1, 0, -1 absent */
	int64_t now;           /* aws:CurrentTime, Unix seconds */
};

enum iam_effect {
	IAM_NO_MATCH = 0,
	IAM_MATCH_ALLOW,
	IAM_MATCH_DENY,
};

/* The statement that decided: its index and Sid ("" when it has none). */
struct iam_match {
	enum iam_effect effect;
	int index;
	char sid[IAM_SID_MAX + 1];
};

/*
 * One policy against one request: IAM_MATCH_DENY (the first matching Deny)
 * if any Deny statement applies, else IAM_MATCH_ALLOW (the first matching
 * Allow), else IAM_NO_MATCH.  In a resource policy only statements whose
 * Principal names req->account (or "*") apply.
 */
enum iam_effect iam_policy_eval(const struct iam_policy *,
    const struct iam_request *, struct iam_match *out);

/*
 * True when an Allow statement of a resource policy names the account as a
 * principal, whatever its actions: the CA is shared with that account.
 */
int iam_policy_shares(const struct iam_policy *, const char *account);

/* True when a condition reads aws:ResourceTag (the CA's tags are needed). */
int iam_policy_uses_resource_tags(const struct iam_policy *);

enum iam_decision {
	IAM_ALLOW = 0,
	IAM_IMPLICIT_DENY,
	IAM_EXPLICIT_DENY,
};

struct iam_verdict {
	enum iam_decision decision;
	int by_resource;        /* 1 when the resource policy decided */
	int need_resource;      /* implicit deny: the resource policy lacked the
				   allow (cross-account) */
	struct iam_match match; /* the deciding statement, if any */
};

/*
 * The decision as IAM makes it: an explicit Deny in either policy wins;
 * otherwise the identity policy must allow and, for a cross-account call,
 * so must the CA's resource policy; otherwise the implicit deny.  identity
 * NULL: no policy (implicit deny); resource NULL: none attached.  The
 * resource policy is consulted only when cross_account is set.
 */
enum iam_decision iam_decide(const struct iam_policy *identity,
    const struct iam_policy *resource, int cross_account,
    const struct iam_request *, struct iam_verdict *out);

/* ---- actions and managed policies (managed.c) ---- */

/* True when action ("acm-pca:Op", case-insensitive) is one we know. */
int iam_action_known(const char *action);
/* The IAM action of an API operation name ("acm-pca:Op"/"openpca:Op"). */
pca_err iam_action_of(const char *op, char *out, size_t outlen) PCA_WUR;
/* True when name is a managed policy: "admin", "issuer", "auditor". */
int iam_managed_known(const char *name);
/*
 * The document of a managed policy.  cas (ncas entries, ARNs, may hold
 * wildcards) limits issuer and auditor to those CAs; ncas 0: every CA.
 * admin takes no CAs.  Caller frees *out.
 */
pca_err iam_managed_doc(const char *name, const char *const *cas, size_t ncas,
    char **out) PCA_WUR;

#endif
