/*
 * iam_int.h - shared inside iam/: the compiled form of a policy.  Strings
 * are borrowed from the policy's JSON document, which the policy keeps.
 */
#ifndef PCA_IAM_INT_H
#define PCA_IAM_INT_H

#include <jansson.h>
#include <stdatomic.h>

#include "iam.h"

enum iam_op {
	IAM_OP_STR_EQ = 1,
	IAM_OP_STR_NE,
	IAM_OP_STR_EQ_CI,
	IAM_OP_STR_NE_CI,
	IAM_OP_STR_LIKE,
	IAM_OP_STR_NOTLIKE,
	IAM_OP_ARN_EQ,
	IAM_OP_ARN_NE,
	IAM_OP_ARN_LIKE,
	IAM_OP_ARN_NOTLIKE,
	IAM_OP_BOOL,
	IAM_OP_NULL,
	IAM_OP_IP,
	IAM_OP_NOTIP,
	IAM_OP_DATE_EQ,
	IAM_OP_DATE_NE,
	IAM_OP_DATE_LT,
	IAM_OP_DATE_LE,
	IAM_OP_DATE_GT,
	IAM_OP_DATE_GE,
};

enum iam_qual {
	IAM_Q_NONE = 0,
	IAM_Q_ANY, /* ForAnyValue: */
	IAM_Q_ALL, /* ForAllValues: */
};

enum iam_key {
	IAM_K_TEMPLATE = 1, /* acm-pca:TemplateArn */
	IAM_K_REQ_TAG,      /* aws:RequestTag/<tag> */
	IAM_K_RES_TAG,      /* aws:ResourceTag/<tag> */
	IAM_K_TAG_KEYS,     /* aws:TagKeys (multivalued) */
	IAM_K_SOURCE_IP,
	IAM_K_TIME,
	IAM_K_SECURE,
	IAM_K_ACCOUNT,        /* aws:PrincipalAccount */
	IAM_K_SOURCE_ACCOUNT, /* aws:SourceAccount: service principals only */
};

struct iam_net {
	int family; /* 4 or 6 */
	uint8_t addr[16];
	unsigned prefix;
};

struct iam_cond {
	enum iam_op op;
	enum iam_qual qual;
	int if_exists;
	enum iam_key key;
	const char *tag; /* the <tag> of RequestTag/ResourceTag */
	const char **vals;
	size_t nvals;
	struct iam_net *nets; /* IpAddress: one per value */
	int64_t *times;       /* Date*: one per value */
	int flag;             /* Bool/Null: the value */
};

struct iam_stmt {
	const char *sid;
	int deny;
	int not_action;
	const char **actions;
	size_t nactions;
	int has_resource; /* resource policies may leave it out */
	int not_resource;
	const char **resources;
	size_t nresources;
	int principal_any;
	const char **principals; /* AWS principals (accounts, ARNs) */
	size_t nprincipals;
	struct iam_cond *conds;
	size_t nconds;
};

struct iam_policy {
	atomic_uint refs; /* iam_policy_ref; the last iam_policy_free frees */
	json_t *doc;
	enum iam_kind kind;
	struct iam_stmt *st;
	size_t n;
};

/* Glob with * and ? ; fold: ASCII case-insensitive. */
int iam_glob(const char *pat, const char *s, int fold);
/* ArnLike: the six colon-separated parts globbed one by one. */
int iam_arn_like(const char *pat, const char *arn);
/* "a.b.c.d[/n]" or an IPv6 address[/n]. */
int iam_net_parse(const char *s, struct iam_net *out);
int iam_net_contains(const struct iam_net *net, const char *ip);
/* ISO 8601 (YYYY-MM-DD[Thh:mm[:ss][Z|+hh:mm]]) or Unix seconds. */
int iam_time_parse(const char *s, int64_t *out);
/* Principal string matching an account. */
int iam_principal_is(const char *p, const char *account);

#endif
