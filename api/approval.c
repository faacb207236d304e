/*
 * approval.c - M-of-N approvals for CA-level operations.
 *
 * An operation named in [approval] operations is not run when first asked
 * for: the request (its operation, account and canonical body, hashed) is
 * recorded as PENDING and answered RequestInProgressException ("pending
 * approval <id>, 0 of 2 approvals").  Approvers (access keys, or
 * "operator:NAME" through pcactl) approve or deny it; the requester never
 * can.  Once the quorum is reached, the same call repeated (same account,
 * operation and body) runs exactly once; repeating it again within the
 * request's lifetime returns that run's result.  Requests expire (default
 * 24 h).  Every step is an audit-chain entry.
 *
 * Records, in the store's generic kv:
 *   approval/<id>         the request (JSON below)
 *   approval-hash/<hash>  the id of the live request for that body
 * A record: {Id, Operation, Account, Requester, RequestHash, Resource,
 * Template, CreatedAt, ExpiresAt, Quorum, Status (PENDING | APPROVED |
 * DENIED | EXPIRED | EXECUTED), Approvals [{By, At}], DeniedBy, Reason,
 * ExecutedAt, Result}.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../store/store.h"
#include "api_int.h"

#define NS "approval"
#define NS_HASH "approval-hash"
#define REC_MAX (64 * 1024)

/* every gate decision and execution is serialised: approvals are rare */
static pthread_mutex_t approval_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const gated_ops[] = {"CreateCertificateAuthority",
    "DeleteCertificateAuthority", "ImportCertificateAuthorityCertificate",
    "UpdateCertificateAuthority", "RestoreCertificateAuthority", "PutPolicy",
    "DeletePolicy", "CreatePermission", "DeletePermission", "RevokeCertificate",
    "IssueCertificate", "IssueCertificate:CA", NULL};

/* ---- configuration ---- */

static int
known_op(const char *op)
{
	int i;

	for (i = 0; gated_ops[i] != NULL; i++)
		if (strcmp(gated_ops[i], op) == 0)
			return 1;
	return 0;
}

/* Splits a comma list into out (trimmed); refuses empty items. */
static pca_err
split_list(const char *what, const char *s, char (*out)[API_APPROVAL_NAME],
    size_t max, size_t *n)
{
	const char *p = s, *e;
	size_t len;

	*n = 0;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		e = p + strcspn(p, ",");
		len = (size_t)(e - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= API_APPROVAL_NAME)
			return pca_err_set(PCA_EINVAL,
			    "[approval] %s: an empty "
			    "or too long item in '%.80s'",
			    what, s);
		if (*n == max)
			return pca_err_set(PCA_EINVAL,
			    "[approval] %s: more "
			    "than %zu items",
			    what, max);
		memcpy(out[*n], p, len);
		out[(*n)++][len] = '\0';
		p = *e ? e + 1 : e;
	}
	return PCA_OK;
}

pca_err
api_approval_conf_parse(const char *ops, const char *approvers,
    long long quorum, long long expiry_h, struct api_approval_conf *c)
{
	size_t i;
	pca_err err;

	memset(c, 0, sizeof(*c));
	if (ops == NULL || *ops == '\0')
		return PCA_OK; /* nothing needs approval */
	if ((err = split_list("operations", ops, c->ops, API_APPROVAL_OPS_MAX,
		 &c->nops)) != PCA_OK)
		return err;
	for (i = 0; i < c->nops; i++)
		if (!known_op(c->ops[i]))
			return pca_err_set(PCA_EINVAL,
			    "[approval] operations: "
			    "'%s' cannot need approval (one of "
			    "CreateCertificateAuthority, "
			    "DeleteCertificateAuthority, "
			    "ImportCertificateAuthorityCertificate, "
			    "UpdateCertificateAuthority, "
			    "RestoreCertificateAuthority, PutPolicy, "
			    "DeletePolicy, CreatePermission, DeletePermission, "
			    "RevokeCertificate, IssueCertificate, "
			    "IssueCertificate:CA)",
			    c->ops[i]);
	if (approvers == NULL ||
	    (err = split_list("approvers", approvers, c->approvers,
		 API_APPROVERS_MAX, &c->napprovers)) != PCA_OK)
		return approvers == NULL ? pca_err_set(PCA_EINVAL,
					       "[approval] "
					       "operations need approvers")
					 : err;
	if (quorum < 1 || (size_t)quorum > c->napprovers)
		return pca_err_set(PCA_EINVAL,
		    "[approval] quorum %lld: between "
		    "1 and the %zu approvers",
		    quorum, c->napprovers);
	if (expiry_h < 1 || expiry_h > 24 * 30)
		return pca_err_set(PCA_EINVAL,
		    "[approval] expiry_hours %lld: "
		    "between 1 and 720",
		    expiry_h);
	c->quorum = (unsigned)quorum;
	c->expiry_s = (unsigned)(expiry_h * 3600);
	return PCA_OK;
}

void
api_approval_set(struct api_ctx *ctx, const struct api_approval_conf *c)
{
	(void)pthread_mutex_lock(&approval_mu);
	ctx->approval = *c;
	(void)pthread_mutex_unlock(&approval_mu);
}

static int
is_ca_template(const char *tarn)
{
	const char *t = tarn ? strstr(tarn, ":template/") : NULL;

	return t != NULL &&
	       (strncmp(t + 10, "RootCACertificate", 17) == 0 ||
		   strncmp(t + 10, "SubordinateCACertificate", 24) == 0);
}

/* Does this call need approval under c? */
static int
gated(const struct api_approval_conf *c, const char *op, const json_t *in)
{
	size_t i;

	for (i = 0; i < c->nops; i++) {
		if (strcmp(c->ops[i], op) == 0)
			return 1;
		if (strcmp(op, "IssueCertificate") == 0 &&
		    strcmp(c->ops[i], "IssueCertificate:CA") == 0 &&
		    is_ca_template(
			json_string_value(json_object_get(in, "TemplateArn"))))
			return 1;
	}
	return 0;
}

/* ---- records ---- */

static pca_err
rec_get(struct store *st, const char *ns, const char *key, json_t **out)
{
	uint8_t *v = NULL;
	size_t n;
	json_error_t je;
	pca_err err;

	if ((err = store_kv_get(st, ns, key, &v, &n)) != PCA_OK)
		return err;
	*out = json_loadb((const char *)v, n, 0, &je);
	free(v);
	if (*out == NULL)
		return pca_err_set(PCA_EDB,
		    "approval record %.64s does not "
		    "decode: %s",
		    key, je.text);
	return PCA_OK;
}

static pca_err
rec_put(struct store *st, const json_t *r)
{
	char *s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	pca_err err;

	if (s == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if (strlen(s) > REC_MAX)
		err = pca_err_set(PCA_ETOOBIG, "approval record too large");
	else
		err = store_kv_put(st, NS,
		    json_string_value(json_object_get(r, "Id")), s, strlen(s),
		    0);
	free(s);
	return err;
}

static const char *
rstr(const json_t *r, const char *k)
{
	return json_string_value(json_object_get(r, k)) ?: "";
}

/* PENDING and past ExpiresAt reads as EXPIRED (persisted when touched). */
static const char *
rec_status(json_t *r, int64_t now)
{
	if (strcmp(rstr(r, "Status"), "PENDING") == 0 &&
	    json_integer_value(json_object_get(r, "ExpiresAt")) <= now)
		json_object_set_new(r, "Status", json_string("EXPIRED"));
	return rstr(r, "Status");
}

static void audit(struct store *st, int64_t now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
audit(struct store *st, int64_t now, const char *fmt, ...)
{
	char line[768];
	uint64_t seq;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (store_audit_append(st, now, line, &seq) != PCA_OK)
		log_warnx("audit append failed for '%s': %s", line,
		    pca_err_msg());
}

/* SHA-256 of account, operation and the canonical body, in hex. */
static pca_err
request_hash(const char *account, const char *op, const json_t *in,
    char hex[65])
{
	char *body = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t md[32];
	int ok;

	ok = body != NULL && c != NULL &&
	     EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(c, account, strlen(account) + 1) &&
	     EVP_DigestUpdate(c, op, strlen(op) + 1) &&
	     EVP_DigestUpdate(c, body, strlen(body)) &&
	     EVP_DigestFinal_ex(c, md, NULL);
	free(body);
	EVP_MD_CTX_free(c);
	if (!ok)
		return pca_err_set(PCA_ENOMEM, "no memory");
	util_hex(md, sizeof(md), hex, 65, 0);
	return PCA_OK;
}

static pca_err
pending(struct api_call *call, const json_t *r)
{
	call->code = "RequestInProgressException";
	return pca_err_set(PCA_EINPROGRESS,
	    "%s needs approval: pending "
	    "approval %s, %zu of %lld approvals (ask an approver to run "
	    "pcactl approval approve %s, or OpenPCA.ApproveRequest)",
	    rstr(r, "Operation"), rstr(r, "Id"),
	    json_array_size(json_object_get(r, "Approvals")),
	    (long long)json_integer_value(json_object_get(r, "Quorum")),
	    rstr(r, "Id"));
}

/*
 * What approvers see of the request: its body, with long strings (CSRs,
 * certificates, policies) replaced by their size and SHA-256, so the
 * record stays small and an approver can match them to what was sent.
 */
static json_t *
request_view(const json_t *in, int depth)
{
	const char *k;
	json_t *v, *o;
	uint8_t md[32];
	char hex[65], text[128];
	size_t i;

	if (depth > 8)
		return json_string("...");
	if (json_is_object(in)) {
		o = json_object();
		json_object_foreach ((json_t *)in, k, v)
			json_object_set_new(o, k, request_view(v, depth + 1));
		return o;
	}
	if (json_is_array(in)) {
		o = json_array();
		json_array_foreach (in, i, v)
			json_array_append_new(o, request_view(v, depth + 1));
		return o;
	}
	if (json_is_string(in) && json_string_length(in) > 256 &&
	    EVP_Digest(json_string_value(in), json_string_length(in), md, NULL,
		EVP_sha256(), NULL)) {
		util_hex(md, sizeof(md), hex, sizeof(hex), 0);
		(void)snprintf(text, sizeof(text), "<%zu bytes, sha256 %s>",
		    json_string_length(in), hex);
		return json_string(text);
	}
	return json_deep_copy(in);
}

static pca_err
request_new(struct api_call *call, const json_t *in, const char *hash,
    const struct api_approval_conf *c, json_t **out)
{
	struct store *st = call->ctx->store;
	int64_t now = call->ctx->now();
	const char *res =
	    json_string_value(json_object_get(in, "CertificateAuthorityArn"));
	char id[37];
	json_t *r;
	pca_err err;

	if (res == NULL)
		res = json_string_value(json_object_get(in, "ResourceArn"));
	if ((err = util_uuid(id)) != PCA_OK)
		return err;
	r = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:I,s:I,s:I,s:s,s:[]}",
	    "Id", id, "Operation", call->op->name, "Account",
	    call->caller.account, "Requester", call->who, "RequestHash", hash,
	    "Resource", res ? res : "-", "Template",
	    json_string_value(json_object_get(in, "TemplateArn")), "CreatedAt",
	    (json_int_t)now, "ExpiresAt", (json_int_t)(now + c->expiry_s),
	    "Quorum", (json_int_t)c->quorum, "Status", "PENDING", "Approvals");
	if (r == NULL ||
	    json_object_set_new(r, "Request", request_view(in, 0)) != 0) {
		json_decref(r);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	if ((err = rec_put(st, r)) != PCA_OK ||
	    (err = store_kv_put(st, NS_HASH, hash, id, strlen(id), 0)) !=
		PCA_OK) {
		json_decref(r);
		return err;
	}
	audit(st, now,
	    "op=ApprovalRequested id=%s operation=%s who=%s "
	    "account=%s ca=%.256s quorum=%u",
	    id, call->op->name, call->who, call->caller.account,
	    res ? res : "-", c->quorum);
	*out = r;
	return PCA_OK;
}

pca_err
api_approval_gate(struct api_call *call, const json_t *in,
    struct api_approval_run *run)
{
	struct store *st = call->ctx->store;
	int64_t now = call->ctx->now();
	struct api_approval_conf c;
	json_t *r = NULL;
	uint8_t *idv = NULL;
	size_t idn;
	char id[37] = "";
	const char *status;
	pca_err err;

	memset(run, 0, sizeof(*run));
	(void)pthread_mutex_lock(&approval_mu);
	c = call->ctx->approval;
	if (!gated(&c, call->op->name, in)) {
		(void)pthread_mutex_unlock(&approval_mu);
		return PCA_OK;
	}
	if ((err = request_hash(call->caller.account, call->op->name, in,
		 run->hash)) != PCA_OK)
		goto out;
	err = store_kv_get(st, NS_HASH, run->hash, &idv, &idn);
	if (err == PCA_OK && idn < sizeof(id)) {
		memcpy(id, idv, idn);
		id[idn] = '\0';
		err = rec_get(st, NS, id, &r);
	}
	free(idv);
	if (err != PCA_OK && err != PCA_ENOTFOUND)
		goto out;
	status = r ? rec_status(r, now) : "";
	if (strcmp(status, "EXECUTED") == 0 &&
	    json_integer_value(json_object_get(r, "ExpiresAt")) > now) {
		/* exactly once: the repeat gets the run's result */
		run->result = json_deep_copy(json_object_get(r, "Result"));
		err =
		    run->result ? PCA_OK : pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if (strcmp(status, "APPROVED") == 0) {
		/* run it now, holding the lock until api_approval_done */
		snprintf(run->id, sizeof(run->id), "%s", id);
		run->claimed = 1;
		json_decref(r);
		return PCA_OK;
	}
	if (strcmp(status, "PENDING") != 0) {
		if (r != NULL && strcmp(status, "EXPIRED") == 0) {
			if ((err = rec_put(st, r)) != PCA_OK)
				goto out;
			audit(st, now, "op=ApprovalExpired id=%s operation=%s",
			    rstr(r, "Id"), rstr(r, "Operation"));
		}
		json_decref(r);
		r = NULL;
		if ((err = request_new(call, in, run->hash, &c, &r)) != PCA_OK)
			goto out;
	}
	err = pending(call, r);
out:
	(void)pthread_mutex_unlock(&approval_mu);
	json_decref(r);
	return err;
}

void
api_approval_done(struct api_call *call, struct api_approval_run *run,
    pca_err result, const json_t *out)
{
	struct store *st = call->ctx->store;
	int64_t now = call->ctx->now();
	json_t *r = NULL;

	if (!run->claimed)
		return;
	if (result == PCA_OK && rec_get(st, NS, run->id, &r) == PCA_OK) {
		json_object_set_new(r, "Status", json_string("EXECUTED"));
		json_object_set_new(r, "ExecutedAt", json_integer(now));
		json_object_set(r, "Result", (json_t *)out);
		if (rec_put(st, r) != PCA_OK)
			log_warnx("approval %s: executed, but its record was "
				  "not updated: %s",
			    run->id, pca_err_msg());
		audit(st, now,
		    "op=ApprovalExecuted id=%s operation=%s "
		    "who=%s",
		    run->id, call->op->name, call->who);
	} else if (result != PCA_OK)
		audit(st, now,
		    "op=ApprovalExecuted id=%s operation=%s who=%s "
		    "result=failed",
		    run->id, call->op->name, call->who);
	json_decref(r);
	run->claimed = 0;
	(void)pthread_mutex_unlock(&approval_mu);
}

/* ---- deciding, listing (API and pcactl) ---- */

static int
is_approver(const struct api_approval_conf *c, const char *who)
{
	size_t i;

	for (i = 0; i < c->napprovers; i++)
		if (strcmp(c->approvers[i], who) == 0)
			return 1;
	return 0;
}

pca_err
api_approval_decide(struct store *st, const struct api_approval_conf *c,
    const struct api_approval_decision *d, json_t **out)
{
	json_t *r = NULL, *a;
	const char *status;
	size_t i;
	pca_err err;

	(void)pthread_mutex_lock(&approval_mu);
	if ((err = rec_get(st, NS, d->id, &r)) != PCA_OK) {
		if (err == PCA_ENOTFOUND)
			err = pca_err_set(PCA_ENOTFOUND,
			    "no approval request "
			    "%.64s",
			    d->id);
		goto out;
	}
	status = rec_status(r, d->now);
	if (!is_approver(c, d->who)) {
		err = pca_err_set(PCA_EPOLICY,
		    "%s is not an approver "
		    "([approval] approvers)",
		    d->who);
		goto out;
	}
	if (strcmp(rstr(r, "Requester"), d->who) == 0) {
		err = pca_err_set(PCA_EPOLICY,
		    "%s asked for request %s and "
		    "cannot approve or deny it",
		    d->who, d->id);
		goto out;
	}
	if (strcmp(status, "PENDING") != 0) {
		if (strcmp(status, "EXPIRED") == 0 && rec_put(st, r) != PCA_OK)
			log_warnx("approval %s: expiry not recorded: %s", d->id,
			    pca_err_msg());
		err = pca_err_set(PCA_ESTATE,
		    "approval request %s is %s, not "
		    "PENDING",
		    d->id, status);
		goto out;
	}
	json_array_foreach (json_object_get(r, "Approvals"), i, a)
		if (strcmp(rstr(a, "By"), d->who) == 0) {
			err = pca_err_set(PCA_EEXISTS,
			    "%s approved request %s "
			    "already",
			    d->who, d->id);
			goto out;
		}
	if (d->approve) {
		json_array_append_new(json_object_get(r, "Approvals"),
		    json_pack("{s:s,s:I}", "By", d->who, "At",
			(json_int_t)d->now));
		if (json_array_size(json_object_get(r, "Approvals")) >=
		    (size_t)json_integer_value(json_object_get(r, "Quorum")))
			json_object_set_new(r, "Status",
			    json_string("APPROVED"));
	} else {
		json_object_set_new(r, "Status", json_string("DENIED"));
		json_object_set_new(r, "DeniedBy", json_string(d->who));
		json_object_set_new(r, "Reason",
		    json_string(d->reason ? d->reason : ""));
	}
	if ((err = rec_put(st, r)) != PCA_OK)
		goto out;
	/* a denied body may be asked for again: a new request then */
	if (!d->approve &&
	    store_kv_del(st, NS_HASH, rstr(r, "RequestHash")) != PCA_OK)
		log_warnx("approval %s: denied, but its body stays bound to "
			  "it: %s",
		    d->id, pca_err_msg());
	audit(st, d->now,
	    "op=%s id=%s operation=%s who=%s approvals=%zu "
	    "status=%s%s%.200s",
	    d->approve ? "ApprovalGranted" : "ApprovalDenied", d->id,
	    rstr(r, "Operation"), d->who,
	    json_array_size(json_object_get(r, "Approvals")), rstr(r, "Status"),
	    d->approve ? "" : " reason=",
	    d->approve ? "" : (d->reason ? d->reason : ""));
	json_object_del(r, "Result");
	*out = r;
	r = NULL;
out:
	(void)pthread_mutex_unlock(&approval_mu);
	json_decref(r);
	return err;
}

struct list_arg {
	const char *status;
	const char *account;
	int64_t now;
	json_t *list;
	int oom;
};

static int
list_cb(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct list_arg *a = arg;
	json_t *r = json_loadb((const char *)val, len, 0, NULL);

	(void)key;
	if (r == NULL)
		return 0; /* store verify reports undecodable records */
	json_object_del(r, "Result");
	if ((a->status == NULL ||
		strcmp(rec_status(r, a->now), a->status) == 0) &&
	    (a->account == NULL ||
		strcmp(rstr(r, "Account"), a->account) == 0)) {
		(void)rec_status(r, a->now);
		if (json_array_append(a->list, r) != 0)
			a->oom = 1;
	}
	json_decref(r);
	return a->oom;
}

static int
by_created(const void *x, const void *y)
{
	json_int_t a = json_integer_value(
	    json_object_get(*(json_t *const *)x, "CreatedAt"));
	json_int_t b = json_integer_value(
	    json_object_get(*(json_t *const *)y, "CreatedAt"));

	return a < b ? -1 : a > b;
}

pca_err
api_approval_list(struct store *st, const char *account, const char *status,
    int64_t now, json_t **out)
{
	struct list_arg a = {status, account, now, json_array(), 0};
	json_t **v = NULL, *sorted = NULL;
	size_t i, n;
	pca_err err;

	if (a.list == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((err = store_kv_foreach(st, NS, list_cb, &a)) != PCA_OK ||
	    (a.oom && (err = pca_err_set(PCA_ENOMEM, "no memory")))) {
		json_decref(a.list);
		return err;
	}
	n = json_array_size(a.list);
	if ((v = calloc(n + 1, sizeof(*v))) == NULL ||
	    (sorted = json_array()) == NULL) {
		free(v);
		json_decref(a.list);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(a.list, i);
	qsort(v, n, sizeof(*v), by_created);
	for (i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(a.list);
	*out = sorted;
	return PCA_OK;
}

pca_err
api_approval_show(struct store *st, const char *id, int64_t now, json_t **out)
{
	pca_err err;

	if ((err = rec_get(st, NS, id, out)) != PCA_OK)
		return err == PCA_ENOTFOUND
			   ? pca_err_set(PCA_ENOTFOUND,
				 "no approval request %.64s", id)
			   : err;
	(void)rec_status(*out, now);
	return PCA_OK;
}

/* ---- OpenPCA.ListApprovals / ApproveRequest / DenyRequest ---- */

int
api_approval_is_op(const char *name)
{
	return strcmp(name, "ListApprovals") == 0 ||
	       strcmp(name, "ApproveRequest") == 0 ||
	       strcmp(name, "DenyRequest") == 0;
}

pca_err
api_op_list_approvals(struct api_call *call, const json_t *in, json_t **out)
{
	json_t *l = NULL;
	pca_err err;

	if ((err = api_approval_list(call->ctx->store, call->caller.account,
		 json_string_value(json_object_get(in, "Status")),
		 call->ctx->now(), &l)) != PCA_OK)
		return err;
	if ((*out = json_pack("{s:o}", "Approvals", l)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	return PCA_OK;
}

static pca_err
decide_op(struct api_call *call, const json_t *in, int approve, json_t **out)
{
	struct api_approval_decision d;
	struct api_approval_conf c;
	json_t *r = NULL;
	pca_err err;

	memset(&d, 0, sizeof(d));
	d.id = json_string_value(json_object_get(in, "RequestId"));
	d.who = call->who;
	d.approve = approve;
	d.reason = json_string_value(json_object_get(in, "Reason"));
	d.now = call->ctx->now();
	(void)pthread_mutex_lock(&approval_mu);
	c = call->ctx->approval;
	(void)pthread_mutex_unlock(&approval_mu);
	if ((err = api_approval_show(call->ctx->store, d.id, d.now, &r)) ==
		PCA_OK &&
	    strcmp(rstr(r, "Account"), call->caller.account) != 0)
		err = pca_err_set(PCA_ENOTFOUND, "no approval request %.64s",
		    d.id);
	json_decref(r);
	if (err == PCA_OK)
		err = api_approval_decide(call->ctx->store, &c, &d, out);
	if (err == PCA_EPOLICY)
		call->code = "AccessDeniedException";
	else if (err == PCA_ESTATE)
		call->code = "InvalidStateException";
	else if (err == PCA_EEXISTS)
		call->code = "InvalidRequestException";
	return err;
}

pca_err
api_op_approve(struct api_call *call, const json_t *in, json_t **out)
{
	return decide_op(call, in, 1, out);
}

pca_err
api_op_deny(struct api_call *call, const json_t *in, json_t **out)
{
	return decide_op(call, in, 0, out);
}
