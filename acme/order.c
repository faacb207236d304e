/*
 * order.c - orders, authorizations and challenges (RFC 8555 sections 7.4,
 * 7.5; RFC 8738 ip identifiers; wildcards "*.<domain>" as an authorization
 * of <domain> with "wildcard": true and dns-01 only) and finalize, which
 * issues through the engine's IssueCertificate path (ca_issue) with the
 * ACME account named in the audit entry; CAA older than 8 hours is checked
 * again there.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../http/http.h"
#include "server_int.h"

static const char *const chal_types[] = {"http-01", "tls-alpn-01", "dns-01"};
#define NCHAL 3
#define CHAL_DNS01 2
/* CAA found at validation serves this long, then finalize checks again */
#define ACME_CAA_REUSE (8 * 3600)

/* ---- identifiers ---- */

static int
dns_ok(const char *s)
{
	size_t n = strlen(s), lab = 0, i;

	if (n == 0 || n > 253 || s[n - 1] == '.')
		return 0;
	for (i = 0; i <= n; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (lab == 0 || lab > 63 || s[i - 1] == '-' ||
			    s[i - lab] == '-')
				return 0;
			lab = 0;
		} else if (islower((unsigned char)c) ||
			   isdigit((unsigned char)c) || c == '-')
			lab++;
		else
			return 0;
	}
	return 1;
}

/*
 * Checks and normalizes one identifier into {type, value}; NULL with a
 * problem set.
 */
static json_t *
ident_check(struct rq *r, const json_t *id)
{
	const char *t = acme_str(id, "type"), *v = acme_str(id, "value");
	char low[256], canon[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	size_t i;

	if (strcmp(t, "dns") == 0) {
		if (strlen(v) >= sizeof(low))
			goto bad;
		for (i = 0; v[i]; i++)
			low[i] = (char)tolower((unsigned char)v[i]);
		low[i] = '\0';
		/* RFC 8555 7.1.3: "*." only as the whole leftmost label */
		if (!dns_ok(strncmp(low, "*.", 2) == 0 ? low + 2 : low))
			goto bad;
		return json_pack("{s:s,s:s}", "type", "dns", "value", low);
	}
	if (strcmp(t, "ip") == 0) {
		if (inet_pton(AF_INET, v, bin) == 1)
			(void)inet_ntop(AF_INET, bin, canon, sizeof(canon));
		else if (inet_pton(AF_INET6, v, bin) == 1)
			(void)inet_ntop(AF_INET6, bin, canon, sizeof(canon));
		else
			goto bad;
		return json_pack("{s:s,s:s}", "type", "ip", "value", canon);
	}
	acme_problem(r, 400, "unsupportedIdentifier",
	    "identifier type \"%.32s\" is not supported (dns, ip)", t);
	return NULL;
bad:
	acme_problem(r, 400, "rejectedIdentifier",
	    "\"%.255s\" is not a valid %s identifier", v, t);
	return NULL;
}

/* ---- views ---- */

static json_t *
chal_view(struct rq *r, const char *authz, size_t i, const json_t *c)
{
	char u[ACME_URL_MAX];
	json_t *o;

	acme_url(r, u, sizeof(u), "chall/%s/%zu", authz, i);
	o = json_pack("{s:s,s:s,s:s,s:s}", "type", acme_str(c, "type"), "url",
	    u, "status", acme_str(c, "status"), "token", acme_str(c, "token"));
	if (o != NULL && json_object_get(c, "validated"))
		json_object_set(o, "validated",
		    json_object_get(c, "validated"));
	if (o != NULL && json_object_get(c, "error"))
		json_object_set(o, "error", json_object_get(c, "error"));
	return o;
}

static json_t *
authz_view(struct rq *r, const char *id, const json_t *z)
{
	json_t *o, *l = json_array(), *c;
	char exp[21];
	size_t i;

	json_array_foreach (json_object_get(z, "challenges"), i, c)
		json_array_append_new(l, chal_view(r, id, i, c));
	util_iso8601(json_integer_value(json_object_get(z, "expires")), exp);
	o = json_pack("{s:s,s:s,s:O,s:o}", "status", acme_str(z, "status"),
	    "expires", exp, "identifier", json_object_get(z, "identifier"),
	    "challenges", l);
	if (o != NULL && json_is_true(json_object_get(z, "wildcard")))
		json_object_set_new(o, "wildcard", json_true());
	return o;
}

static json_t *
order_view(struct rq *r, const char *id, const json_t *o)
{
	json_t *v, *l = json_array(), *x;
	char u[ACME_URL_MAX], f[ACME_URL_MAX], exp[21];
	size_t i;

	json_array_foreach (json_object_get(o, "authzs"), i, x) {
		acme_url(r, u, sizeof(u), "authz/%s", json_string_value(x));
		json_array_append_new(l, json_string(u));
	}
	acme_url(r, f, sizeof(f), "order/%s/finalize", id);
	util_iso8601(json_integer_value(json_object_get(o, "expires")), exp);
	v = json_pack("{s:s,s:s,s:O,s:o,s:s}", "status", acme_str(o, "status"),
	    "expires", exp, "identifiers", json_object_get(o, "identifiers"),
	    "authorizations", l, "finalize", f);
	if (v == NULL)
		return NULL;
	if (*acme_str(o, "cert")) {
		acme_url(r, u, sizeof(u), "cert/%s", acme_str(o, "cert"));
		json_object_set_new(v, "certificate", json_string(u));
	}
	if (json_object_get(o, "error"))
		json_object_set(v, "error", json_object_get(o, "error"));
	if (json_object_get(o, "replaces"))
		json_object_set(v, "replaces", json_object_get(o, "replaces"));
	if (json_object_get(o, "profile"))
		json_object_set(v, "profile", json_object_get(o, "profile"));
	return v;
}

/* ---- newOrder ---- */

/*
 * The challenges offered: a wildcard only dns-01, an ip address not dns-01
 * (RFC 8738 7), a DNS name all three.
 */
static int
chal_offered(size_t i, const char *itype, int wild)
{
	if (wild)
		return i == CHAL_DNS01;
	return i != CHAL_DNS01 || strcmp(itype, "dns") == 0;
}

static json_t *
new_authz(struct rq *r, const char *order, const json_t *ident,
    char id[ACME_ID_MAX])
{
	json_t *z, *cl = json_array(), *zi;
	char tok[ACME_ID_MAX + ACME_ID_MAX];
	const char *v = acme_str(ident, "value");
	int wild = strncmp(v, "*.", 2) == 0;
	size_t i;

	for (i = 0; i < NCHAL; i++) {
		char a[ACME_ID_MAX], b[ACME_ID_MAX];

		if (!chal_offered(i, acme_str(ident, "type"), wild))
			continue;
		if (acme_id_new(a) != PCA_OK || acme_id_new(b) != PCA_OK)
			break;
		(void)snprintf(tok, sizeof(tok), "%s%s", a, b);
		json_array_append_new(cl,
		    json_pack("{s:s,s:s,s:s}", "type", chal_types[i], "token",
			tok, "status", "pending"));
	}
	if (i < NCHAL || acme_id_new(id) != PCA_OK) {
		json_decref(cl);
		return NULL;
	}
	/* RFC 8555 7.1.4: the authorization names the base domain */
	zi = json_pack("{s:s,s:s}", "type", acme_str(ident, "type"), "value",
	    wild ? v + 2 : v);
	z = json_pack("{s:s,s:s,s:s,s:s,s:I,s:o,s:o}", "ca", r->ca, "acct",
	    r->acct_id, "order", order, "status", "pending", "expires",
	    (json_int_t)(util_now() + ACME_ORDER_TTL), "identifier", zi,
	    "challenges", cl);
	if (z != NULL && wild)
		json_object_set_new(z, "wildcard", json_true());
	return z;
}

json_t *
acme_caa_ids_json(const struct acme_dnsconf *d)
{
	json_t *l = json_array();
	size_t i;

	for (i = 0; l != NULL && i < d->nids; i++)
		json_array_append_new(l, json_string(d->ids[i]));
	return l;
}

/* The index of a challenge type in the metrics. */
static size_t
chal_metric(const char *type)
{
	size_t i;

	for (i = 0; i < NCHAL; i++)
		if (strcmp(type, chal_types[i]) == 0)
			return i;
	return 0;
}

static int
idents_check(struct rq *r, const json_t *in, json_t *out)
{
	size_t i, j;
	json_t *v, *n;

	if (!json_is_array(in) || json_array_size(in) == 0 ||
	    json_array_size(in) > ACME_MAX_IDENTS) {
		acme_problem(r, 400, "malformed",
		    "identifiers must be an array of 1 to %d identifiers",
		    ACME_MAX_IDENTS);
		return 0;
	}
	json_array_foreach (in, i, v) {
		if ((n = ident_check(r, v)) == NULL)
			return 0;
		for (j = 0; j < json_array_size(out); j++)
			if (json_equal(json_array_get(out, j), n))
				break;
		if (j == json_array_size(out))
			json_array_append(out, n);
		json_decref(n);
	}
	return 1;
}

/*
 * RFC 9773 section 5: "replaces" names a certificate of this CA that this
 * account ordered and that no other order replaced yet (its serial into
 * hex); absent: 1 with hex "".  0 with a problem set.
 */
static int
replaces_ok(struct rq *r, const json_t *p, char hex[64])
{
	const json_t *v = json_object_get(p, "replaces");
	json_t *rec = NULL;
	int ok = 0;

	hex[0] = '\0';
	if (v == NULL)
		return 1;
	if (!json_is_string(v) || !acme_ari_serial(json_string_value(v), hex)) {
		acme_problem(r, 400, "malformed",
		    "replaces must be an RFC 9773 "
		    "certificate identifier");
		return 0;
	}
	if (acme_rec_get(r->a, "acme-cert", hex, &rec) != PCA_OK ||
	    strcmp(acme_str(rec, "ca"), r->ca) != 0 ||
	    strcmp(acme_str(rec, "acct"), r->acct_id) != 0)
		acme_problem(r, 400, "malformed",
		    "replaces: this account "
		    "ordered no certificate %s from this CA",
		    hex);
	else if (*acme_str(rec, "replaced_by"))
		acme_problem(r, 409, "alreadyReplaced",
		    "certificate %s was "
		    "replaced already (by %s)",
		    hex, acme_str(rec, "replaced_by"));
	else
		ok = 1;
	json_decref(rec);
	return ok;
}

/* The ARI link both ways between the replaced and the new certificate. */
static void
replaces_link(struct rq *r, json_t *rec, const char *old, const char *hex)
{
	json_t *o = NULL;

	json_object_set_new(rec, "replaces", json_string(old));
	pthread_mutex_lock(acme_acct_lock(r->a, r->acct_id));
	if (acme_rec_get(r->a, "acme-cert", old, &o) == PCA_OK &&
	    (json_object_set_new(o, "replaced_by", json_string(hex)) != 0 ||
		acme_rec_put(r->a, "acme-cert", old, o, 0) != PCA_OK))
		log_warnx("acme: certificate %s: replaced_by %s not recorded",
		    old, hex);
	pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
	json_decref(o);
}

/* What the order is issued under (acme_issue_as) in its record. */
static int
order_as(json_t *o, const struct acme_issue_as *as)
{
	return !((as->profile[0] && json_object_set_new(o, "profile",
					json_string(as->profile))) ||
		 (as->policy[0] && json_object_set_new(o, "policy",
				       json_string(as->policy))) ||
		 (as->tmpl[0] && json_object_set_new(o, "template",
				     json_string(as->tmpl))) ||
		 json_object_set_new(o, "days", json_integer(as->days)));
}

/*
 * The authorizations, the order and the account's orders list (newest
 * last, bounded) in one commit, under the account's lock: 1 when stored.
 */
static int
order_store(struct rq *r, const char *oid, json_t *o, json_t *const *zs,
    size_t nz)
{
	struct acme_rec_w w[ACME_BATCH_MAX];
	json_t *a = NULL, *ol;
	size_t i;
	int ok = 0;

	for (i = 0; i < nz; i++)
		w[i] = (struct acme_rec_w){"acme-authz", acme_str(zs[i], "id"),
		    zs[i]};
	w[nz] = (struct acme_rec_w){"acme-order", oid, o};
	pthread_mutex_lock(acme_acct_lock(r->a, r->acct_id));
	if (acme_acct_load(r, r->acct_id, &a) == PCA_OK) {
		ol = json_object_get(a, "orders");
		if (!json_is_array(ol)) {
			ol = json_array();
			json_object_set_new(a, "orders", ol);
		}
		json_array_append_new(ol, json_string(oid));
		while (json_array_size(ol) > ACME_ACCT_ORDERS)
			json_array_remove(ol, 0);
		w[nz + 1] = (struct acme_rec_w){"acme-acct", r->acct_id, a};
		ok = acme_rec_batch(r->a, w, nz + 2) == PCA_OK;
		json_decref(a);
	}
	pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
	return ok;
}

void
acme_new_order(struct rq *r)
{
	json_t *p = NULL, *ids = json_array(), *o = NULL, *zl = json_array();
	json_t *zs[ACME_MAX_IDENTS], *v;
	char oid[ACME_ID_MAX], zid[ACME_ID_MAX], loc[ACME_URL_MAX];
	struct acme_issue_as as;
	char rhex[64] = "";
	size_t i, nz = 0;
	int ok = 0;

	acme_prune_due(r->a);
	if ((p = acme_payload(r)) == NULL)
		goto out;
	if (strcmp(r->ca_status, "ACTIVE") != 0) {
		acme_problem(r, 403, "unauthorized",
		    "the certificate authority is %s", r->ca_status);
		goto out;
	}
	if (json_object_get(p, "notBefore") || json_object_get(p, "notAfter")) {
		acme_problem(r, 400, "malformed",
		    "notBefore and notAfter are not supported");
		goto out;
	}
	if (!idents_check(r, json_object_get(p, "identifiers"), ids))
		goto out;
	if (!acme_eab_names_ok(r, ids) || !acme_issue_as(r, p, &as) ||
	    !acme_policy_names_ok(r, &as, ids) || !replaces_ok(r, p, rhex))
		goto out;
	if (acme_id_new(oid) != PCA_OK)
		goto fail;
	json_array_foreach (ids, i, v) {
		if ((zs[nz] = new_authz(r, oid, v, zid)) == NULL)
			goto fail;
		json_object_set_new(zs[nz++], "id", json_string(zid));
		json_array_append_new(zl, json_string(zid));
	}
	o = json_pack("{s:s,s:s,s:s,s:I,s:O,s:O}", "ca", r->ca, "acct",
	    r->acct_id, "status", "pending", "expires",
	    (json_int_t)(util_now() + ACME_ORDER_TTL), "identifiers", ids,
	    "authzs", zl);
	if (o == NULL)
		goto fail;
	if (json_is_string(json_object_get(p, "replaces")))
		json_object_set(o, "replaces", json_object_get(p, "replaces"));
	if (rhex[0])
		json_object_set_new(o, "replaces_serial", json_string(rhex));
	if (!order_as(o, &as))
		goto fail;
	ok = order_store(r, oid, o, zs, nz);
	if (!ok)
		goto fail;
	acme_count(r->a, &r->a->m_orders);
	acme_count_order(r->a, ACME_OS_PENDING);
	log_info("acme: CA %s: account %s: order %s for %zu identifiers%s%s",
	    r->ca, r->acct_id, oid, json_array_size(ids),
	    json_object_get(o, "replaces") ? ", replaces " : "",
	    json_object_get(o, "replaces") ? acme_str(o, "replaces") : "");
	acme_url(r, loc, sizeof(loc), "order/%s", oid);
	acme_reply(r, 201, order_view(r, oid, o), loc);
	goto out;
fail:
	acme_problem(r, 500, "serverInternal", "the order cannot be stored");
out:
	for (i = 0; i < nz; i++)
		json_decref(zs[i]);
	json_decref(o);
	json_decref(zl);
	json_decref(ids);
	json_decref(p);
}

/* ---- status ---- */

/* pending -> ready/invalid from the authorizations (under mu). */
static void
order_refresh(struct rq *r, const char *id, json_t *o)
{
	json_t *x, *z;
	size_t i, valid = 0, n;
	const char *st = NULL;
	int64_t now = util_now();

	if (strcmp(acme_str(o, "status"), "pending") != 0 &&
	    strcmp(acme_str(o, "status"), "ready") != 0)
		return;
	if (json_integer_value(json_object_get(o, "expires")) < now) {
		st = "invalid";
		goto set;
	}
	n = json_array_size(json_object_get(o, "authzs"));
	json_array_foreach (json_object_get(o, "authzs"), i, x) {
		z = NULL;
		if (acme_rec_get(r->a, "acme-authz", json_string_value(x),
			&z) != PCA_OK)
			return;
		if (!strcmp(acme_str(z, "status"), "valid"))
			valid++;
		else if (strcmp(acme_str(z, "status"), "pending") != 0)
			st = "invalid";
		json_decref(z);
	}
	if (st == NULL && valid == n && n > 0)
		st = "ready";
	if (st == NULL || strcmp(st, acme_str(o, "status")) == 0)
		return;
set:
	acme_count_order(r->a,
	    strcmp(st, "invalid") == 0 ? ACME_OS_INVALID : ACME_OS_READY);
	json_object_set_new(o, "status", json_string(st));
	if (acme_rec_put(r->a, "acme-order", id, o, 0) != PCA_OK)
		log_warnx("acme: order %s: %s", id, pca_err_msg());
}

static pca_err
order_load(struct rq *r, const char *id, json_t **out)
{
	json_t *o = NULL;
	pca_err err;

	if ((err = acme_rec_get(r->a, "acme-order", id, &o)) != PCA_OK)
		return err;
	if (strcmp(acme_str(o, "ca"), r->ca) != 0 ||
	    strcmp(acme_str(o, "acct"), r->acct_id) != 0) {
		json_decref(o);
		return pca_err_set(PCA_ENOTFOUND, "no such order");
	}
	*out = o;
	return PCA_OK;
}

/* ---- finalize ---- */

/* Every SAN and CN name of the CSR in the order's identifiers and back. */
static int
csr_names_match(X509_REQ *req, const json_t *ids, const char **why)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gns = NULL;
	X509_NAME *subj = X509_REQ_get_subject_name(req);
	json_t *seen = json_array(), *v;
	char buf[256], ipb[INET6_ADDRSTRLEN];
	int i, ok = 0, cn;
	size_t k;

	*why = "the CSR's names differ from the order's identifiers";
	if (exts != NULL)
		gns = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gns != NULL && i < sk_GENERAL_NAME_num(gns); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gns, i);
		const unsigned char *d;
		int dl, type;

		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			dl = ASN1_STRING_length(g->d.dNSName);
			if (dl <= 0 || dl >= (int)sizeof(buf))
				goto out;
			for (k = 0; k < (size_t)dl; k++)
				buf[k] = (char)tolower(d[k]);
			buf[dl] = '\0';
			json_array_append_new(seen,
			    json_pack("{s:s,s:s}", "type", "dns", "value",
				buf));
		} else if (g->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(g->d.iPAddress);
			dl = ASN1_STRING_length(g->d.iPAddress);
			type = dl == 4 ? AF_INET : dl == 16 ? AF_INET6 : 0;
			if (type == 0 ||
			    inet_ntop(type, d, ipb, sizeof(ipb)) == NULL)
				goto out;
			json_array_append_new(seen,
			    json_pack("{s:s,s:s}", "type", "ip", "value", ipb));
		} else {
			*why = "the CSR has a SAN that is not a DNS name or IP "
			       "address";
			goto out;
		}
	}
	json_array_foreach (seen, k, v) {
		size_t j;

		for (j = 0; j < json_array_size(ids); j++)
			if (json_equal(json_array_get(ids, j), v))
				break;
		if (j == json_array_size(ids))
			goto out;
	}
	json_array_foreach (ids, k, v) {
		size_t j;

		for (j = 0; j < json_array_size(seen); j++)
			if (json_equal(json_array_get(seen, j), v))
				break;
		if (j == json_array_size(seen))
			goto out;
	}
	cn = X509_NAME_get_text_by_NID(subj, NID_commonName, buf, sizeof(buf));
	if (cn > 0) {
		for (k = 0; buf[k]; k++)
			buf[k] = (char)tolower((unsigned char)buf[k]);
		json_array_foreach (ids, k, v)
			if (!strcmp(acme_str(v, "value"), buf))
				break;
		if (k == json_array_size(ids)) {
			*why = "the CSR's common name is not an identifier of "
			       "the order";
			goto out;
		}
	}
	ok = 1;
out:
	GENERAL_NAMES_free(gns);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	json_decref(seen);
	return ok;
}

/* The order invalid (a CAA recheck at finalize failed). */
static void
order_invalid(struct rq *r, const char *id)
{
	json_t *o = NULL;

	pthread_mutex_lock(acme_acct_lock(r->a, r->acct_id));
	if (acme_rec_get(r->a, "acme-order", id, &o) == PCA_OK) {
		json_object_set_new(o, "status", json_string("invalid"));
		if (acme_rec_put(r->a, "acme-order", id, o, 0) != PCA_OK)
			log_warnx("acme: order %s: %s", id, pca_err_msg());
		else
			acme_count_order(r->a, ACME_OS_INVALID);
	}
	pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
	json_decref(o);
}

/* The order valid and the certificate's owner record: one commit. */
static void
order_done(struct rq *r, const char *id, const char *hex, const json_t *rec)
{
	json_t *o = NULL;
	struct acme_rec_w w[2];

	pthread_mutex_lock(acme_acct_lock(r->a, r->acct_id));
	if (acme_rec_get(r->a, "acme-order", id, &o) == PCA_OK) {
		json_object_set_new(o, "status", json_string("valid"));
		json_object_set_new(o, "cert", json_string(hex));
		w[0] = (struct acme_rec_w){"acme-order", id, o};
		w[1] = (struct acme_rec_w){"acme-cert", hex, rec};
		if (rec == NULL || acme_rec_batch(r->a, w, 2) != PCA_OK)
			log_warnx(
			    "acme: order %s: certificate %s not recorded: "
			    "%s",
			    id, hex, pca_err_msg());
		else
			acme_count_order(r->a, ACME_OS_VALID);
	}
	pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
	json_decref(o);
}

static void
issue(struct rq *r, const char *id, const json_t *ord, const uint8_t *der,
    size_t dl)
{
	struct ca_issue_req q;
	struct ca_caller who = r->caller;
	char w[ACME_ID_MAX + 16], *arn = NULL, hex[80];
	const char *s;
	json_t *rec = NULL, *o = NULL;
	json_int_t days = json_integer_value(json_object_get(ord, "days"));
	pca_err err;

	memset(&q, 0, sizeof(q));
	q.ca_arn = r->arn;
	q.csr = der;
	q.csr_len = dl;
	q.signing_algorithm = r->sig_alg;
	q.validity_type = "DAYS";
	q.validity_value = days > 0 ? days : r->a->c.validity_days;
	if (*acme_str(ord, "policy"))
		q.policy = acme_str(ord, "policy");
	if (*acme_str(ord, "template"))
		q.template_arn = acme_str(ord, "template");
	(void)snprintf(w, sizeof(w), "acme:%s", r->acct_id);
	who.who = w;
	err = ca_issue(r->a->eng, &who, &q, &arn);
	if (err != PCA_OK) {
		char msg[400];

		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		if (err == PCA_EUNAVAIL || err == PCA_EBUSY) {
			http_resp_hdr(r->resp, "Retry-After", "5");
			acme_problem(r, 503, "serverInternal",
			    "issuance is unavailable now; retry: %s", msg);
		} else if (err == PCA_EPOLICY)
			acme_problem(r, 403, "rejectedIdentifier", "%s", msg);
		else if (err == PCA_EBADCSR || err == PCA_EINVAL ||
			 err == PCA_EVALIDATION)
			acme_problem(r, 400, "badCSR", "%s", msg);
		else if (err == PCA_ESTATE)
			acme_problem(r, 403, "unauthorized", "%s", msg);
		else
			acme_problem(r, 500, "serverInternal", "%s", msg);
		return;
	}
	s = strstr(arn, "/certificate/");
	(void)snprintf(hex, sizeof(hex), "%s", s ? s + 13 : "");
	rec = json_pack("{s:s,s:s,s:s,s:I}", "ca", r->ca, "acct", r->acct_id,
	    "order", id, "issued", (json_int_t)util_now());
	if (rec != NULL && *acme_str(ord, "profile"))
		json_object_set(rec, "profile",
		    json_object_get(ord, "profile"));
	if (rec != NULL && *acme_str(ord, "replaces_serial"))
		replaces_link(r, rec, acme_str(ord, "replaces_serial"), hex);
	order_done(r, id, hex, rec);
	acme_count(r->a, &r->a->m_issued);
	log_info("acme: CA %s: account %s: order %s: issued %s", r->ca,
	    r->acct_id, id, hex);
	if (order_load(r, id, &o) == PCA_OK)
		acme_reply(r, 200, order_view(r, id, o), NULL);
	else
		acme_problem(r, 500, "serverInternal", "order vanished");
	json_decref(o);
	json_decref(rec);
	free(arn);
}

/*
 * CAA again, unlocked (DNS lookups), for each dns authorization of order o
 * validated more than ACME_CAA_REUSE ago.  1: issuance may go on; 0 with
 * a caa problem set.
 */
static int
caa_recheck(struct rq *r, const json_t *o)
{
	json_t *x, *z;
	struct acme_caa_req cq;
	char acct[ACME_URL_MAX], why[400], v[256], m[16];
	size_t i;
	int wild, need;
	pca_err e;

	if (r->a->dc.nids == 0)
		return 1;
	acme_url(r, acct, sizeof(acct), "acct/%s", r->acct_id);
	json_array_foreach (json_object_get(o, "authzs"), i, x) {
		z = NULL;
		pthread_mutex_lock(acme_acct_lock(r->a, r->acct_id));
		e = acme_rec_get(r->a, "acme-authz", json_string_value(x), &z);
		pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
		if (e != PCA_OK) {
			acme_problem(r, 500, "serverInternal",
			    "an authorization of the order vanished");
			return 0;
		}
		(void)snprintf(v, sizeof(v), "%s",
		    acme_str(json_object_get(z, "identifier"), "value"));
		(void)snprintf(m, sizeof(m), "%s", acme_str(z, "method"));
		wild = json_is_true(json_object_get(z, "wildcard"));
		need =
		    strcmp(acme_str(json_object_get(z, "identifier"), "type"),
			"dns") == 0 &&
		    util_now() - json_integer_value(
				     json_object_get(z, "validated_at")) >
			ACME_CAA_REUSE;
		json_decref(z);
		if (!need)
			continue;
		memset(&cq, 0, sizeof(cq));
		cq.ids = r->a->dc.ids;
		cq.nids = r->a->dc.nids;
		cq.wildcard = wild;
		cq.account_uri = acct;
		cq.method = m;
		if (acme_caa_check(&r->a->dc.dns, v, &cq, why, sizeof(why)) !=
		    PCA_OK) {
			log_info("acme: CA %s: account %s: CAA re-check at "
				 "finalize refuses: %s",
			    r->ca, r->acct_id, why);
			acme_problem(r, 403, "caa",
			    "%s (checked again at "
			    "finalize: validated over %d hours ago)",
			    why, ACME_CAA_REUSE / 3600);
			return 0;
		}
	}
	return 1;
}

static void
finalize(struct rq *r, const char *id)
{
	json_t *p = NULL, *o = NULL, *ids = NULL;
	uint8_t *der = NULL;
	const uint8_t *dp;
	size_t dl = 0;
	const char *csr, *why;
	X509_REQ *req = NULL;
	EVP_PKEY *pk;

	if ((p = acme_payload(r)) == NULL)
		return;
	csr = json_string_value(json_object_get(p, "csr"));
	if (csr == NULL ||
	    acme_b64url_decode(csr, strlen(csr), 16384, &der, &dl) != PCA_OK) {
		acme_problem(r, 400, "malformed", "csr must be base64url DER");
		goto out;
	}
	dp = der;
	if ((req = d2i_X509_REQ(NULL, &dp, (long)dl)) == NULL ||
	    dp != der + dl || (pk = X509_REQ_get0_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, pk) != 1) {
		acme_problem(r, 400, "badCSR",
		    "the CSR does not parse or its signature does not verify");
		goto out;
	}
	pthread_mutex_lock(acme_acct_lock(r->a, r->acct_id));
	if (order_load(r, id, &o) != PCA_OK) {
		pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
		acme_problem(r, 404, "malformed", "no such order");
		goto out;
	}
	order_refresh(r, id, o);
	if (strcmp(acme_str(o, "status"), "ready") != 0) {
		pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
		acme_problem(r, 403, "orderNotReady", "the order is %s",
		    acme_str(o, "status"));
		goto out;
	}
	ids = json_incref(json_object_get(o, "identifiers"));
	if (!csr_names_match(req, ids, &why)) {
		pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
		acme_problem(r, 400, "badCSR", "%s", why);
		goto out;
	}
	/* processing: in memory only (a crash leaves the order ready) */
	if (!acme_busy_claim(r->a, id)) {
		pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
		http_resp_hdr(r->resp, "Retry-After", "1");
		acme_problem(r, 403, "orderNotReady",
		    "the order is being "
		    "processed");
		goto out;
	}
	pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
	acme_count_order(r->a, ACME_OS_PROCESSING);
	if (!caa_recheck(r, o)) {
		order_invalid(r, id);
		acme_busy_release(r->a, id);
		goto out;
	}
	issue(r, id, o, der, dl);
	acme_busy_release(r->a, id);
out:
	X509_REQ_free(req);
	free(der);
	json_decref(ids);
	json_decref(o);
	json_decref(p);
}

void
acme_order(struct rq *r, const char *id, const char *tail)
{
	json_t *o = NULL;

	if (strcmp(tail, "/finalize") == 0) {
		finalize(r, id);
		return;
	}
	if (*tail != '\0') {
		acme_problem(r, 404, "malformed", "no such resource");
		return;
	}
	pthread_mutex_lock(acme_acct_lock(r->a, r->acct_id));
	if (order_load(r, id, &o) != PCA_OK) {
		pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
		acme_problem(r, 404, "malformed", "no such order");
		return;
	}
	order_refresh(r, id, o);
	pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
	if (!strcmp(acme_str(o, "status"), "ready") && acme_busy(r->a, id))
		json_object_set_new(o, "status", json_string("processing"));
	if (!strcmp(acme_str(o, "status"), "processing"))
		http_resp_hdr(r->resp, "Retry-After", "1");
	acme_reply(r, 200, order_view(r, id, o), NULL);
	json_decref(o);
}

/* ---- authorizations and challenges ---- */

static pca_err
authz_load(struct rq *r, const char *id, json_t **out)
{
	json_t *z = NULL;
	pca_err err;

	if ((err = acme_rec_get(r->a, "acme-authz", id, &z)) != PCA_OK)
		return err;
	if (strcmp(acme_str(z, "ca"), r->ca) != 0 ||
	    strcmp(acme_str(z, "acct"), r->acct_id) != 0) {
		json_decref(z);
		return pca_err_set(PCA_ENOTFOUND, "no such authorization");
	}
	if (!strcmp(acme_str(z, "status"), "pending") &&
	    json_integer_value(json_object_get(z, "expires")) < util_now())
		json_object_set_new(z, "status", json_string("expired"));
	*out = z;
	return PCA_OK;
}

void
acme_authz(struct rq *r, const char *id)
{
	json_t *z = NULL, *p = NULL;

	if (r->jws.payload_len > 0 && (p = acme_payload(r)) == NULL)
		return;
	pthread_mutex_lock(acme_acct_lock(r->a, r->acct_id));
	if (authz_load(r, id, &z) != PCA_OK) {
		pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
		acme_problem(r, 404, "malformed", "no such authorization");
		goto out;
	}
	if (p != NULL) {
		if (strcmp(acme_str(p, "status"), "deactivated") != 0) {
			pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
			acme_problem(r, 400, "malformed",
			    "an authorization's "
			    "status may only become deactivated");
			goto out;
		}
		json_object_set_new(z, "status", json_string("deactivated"));
		if (acme_rec_put(r->a, "acme-authz", id, z, 0) != PCA_OK) {
			pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
			acme_problem(r, 500, "serverInternal", "not stored");
			goto out;
		}
	}
	pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
	if (!strcmp(acme_str(z, "status"), "pending"))
		http_resp_hdr(r->resp, "Retry-After", "1");
	acme_reply(r, 200, authz_view(r, id, z), NULL);
out:
	json_decref(p);
	json_decref(z);
}

/* Runs the validation of challenge i of authorization z (unlocked). */
static void
validate(struct rq *r, const char *zid, size_t i)
{
	json_t *z = NULL, *c, *ident, *err = NULL;
	struct acme_chal ch;
	char thumb[44], ka[256], why[400], type[16], it[8], iv[256], tok[128];
	char acct[ACME_URL_MAX];
	struct acme_caa_req cq;
	const char *ptype = "connection";
	pca_err e;

	pthread_mutex_lock(acme_acct_lock(r->a, r->acct_id));
	if (authz_load(r, zid, &z) != PCA_OK) {
		pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
		return;
	}
	pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
	c = json_array_get(json_object_get(z, "challenges"), i);
	ident = json_object_get(z, "identifier");
	if (acme_jwk_thumbprint(r->jws.jwk, thumb) != PCA_OK)
		goto out;
	(void)snprintf(ka, sizeof(ka), "%s.%s", acme_str(c, "token"), thumb);
	/* copies: z is reloaded before the log line below */
	(void)snprintf(type, sizeof(type), "%s", acme_str(c, "type"));
	(void)snprintf(it, sizeof(it), "%s", acme_str(ident, "type"));
	(void)snprintf(iv, sizeof(iv), "%s", acme_str(ident, "value"));
	(void)snprintf(tok, sizeof(tok), "%s", acme_str(c, "token"));
	memset(&ch, 0, sizeof(ch));
	ch.type = type;
	ch.ident_type = it;
	ch.ident = iv;
	ch.token = tok;
	ch.keyauth = ka;
	ch.port = strcmp(ch.type, "http-01") == 0 ? r->a->c.http01_port
						  : r->a->c.tlsalpn01_port;
	ch.addr = r->a->c.validation_addr;
	ch.timeout_s = r->a->c.timeout_s;
	ch.dns = &r->a->dc.dns;
	if (r->a->dc.nids > 0) { /* CAA (RFC 8659, 8657) */
		acme_url(r, acct, sizeof(acct), "acct/%s", r->acct_id);
		memset(&cq, 0, sizeof(cq));
		cq.ids = r->a->dc.ids;
		cq.nids = r->a->dc.nids;
		cq.wildcard = json_is_true(json_object_get(z, "wildcard"));
		cq.account_uri = acct;
		cq.method = type;
		ch.caa = &cq;
	}
	e = acme_validate(&ch, why, sizeof(why), &ptype);
	pthread_mutex_lock(acme_acct_lock(r->a, r->acct_id));
	json_decref(z);
	z = NULL;
	if (authz_load(r, zid, &z) == PCA_OK) {
		c = json_array_get(json_object_get(z, "challenges"), i);
		if (e == PCA_OK) {
			char now[21];

			util_iso8601(util_now(), now);
			json_object_set_new(c, "status", json_string("valid"));
			json_object_set_new(c, "validated", json_string(now));
			json_object_set_new(z, "validated_at",
			    json_integer((json_int_t)util_now()));
			json_object_set_new(z, "method", json_string(type));
			json_object_set_new(z, "status", json_string("valid"));
		} else {
			err = json_pack("{s:s+,s:s,s:i}", "type",
			    "urn:ietf:params:acme:error:", ptype, "detail", why,
			    "status", 400);
			json_object_set_new(c, "status",
			    json_string("invalid"));
			json_object_set_new(c, "error", err);
			json_object_set_new(z, "status",
			    json_string("invalid"));
		}
		if (acme_rec_put(r->a, "acme-authz", zid, z, 0) != PCA_OK)
			log_warnx("acme: authz %s: %s", zid, pca_err_msg());
	}
	pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
	acme_count(r->a, e == PCA_OK ? &r->a->m_valid[chal_metric(type)]
				     : &r->a->m_invalid[chal_metric(type)]);
	if (e != PCA_OK)
		acme_count_vfail(r->a, ptype);
	log_info("acme: CA %s: %s %s for %s: %s%s%s", r->ca, ch.type, zid,
	    ch.ident, e == PCA_OK ? "valid" : "invalid",
	    e == PCA_OK ? "" : ": ", e == PCA_OK ? "" : why);
out:
	json_decref(z);
}

void
acme_challenge(struct rq *r, const char *zid, const char *idx)
{
	json_t *z = NULL, *p = NULL, *c;
	long long i;
	int run = 0;
	char up[ACME_URL_MAX];

	if (util_strtonum(idx, 0, NCHAL - 1, &i) != PCA_OK) {
		acme_problem(r, 404, "malformed", "no such challenge");
		return;
	}
	if (r->jws.payload_len > 0 && (p = acme_payload(r)) == NULL)
		return;
	pthread_mutex_lock(acme_acct_lock(r->a, r->acct_id));
	if (authz_load(r, zid, &z) != PCA_OK ||
	    (c = json_array_get(json_object_get(z, "challenges"), (size_t)i)) ==
		NULL) {
		pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
		acme_problem(r, 404, "malformed", "no such challenge");
		goto out;
	}
	/* processing: in memory only (a crash leaves it pending) */
	if (p != NULL && !strcmp(acme_str(c, "status"), "pending") &&
	    !strcmp(acme_str(z, "status"), "pending"))
		run = acme_busy_claim(r->a, zid);
	pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
	if (run) {
		validate(r, zid, (size_t)i);
		acme_busy_release(r->a, zid);
		json_decref(z);
		z = NULL;
		pthread_mutex_lock(acme_acct_lock(r->a, r->acct_id));
		if (authz_load(r, zid, &z) != PCA_OK) {
			pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
			acme_problem(r, 500, "serverInternal",
			    "authz vanished");
			goto out;
		}
		pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
		c = json_array_get(json_object_get(z, "challenges"), (size_t)i);
	}
	acme_url(r, up, sizeof(up), "authz/%s", zid);
	acme_link_up(r, up);
	if (!strcmp(acme_str(c, "status"), "pending") && acme_busy(r->a, zid))
		json_object_set_new(c, "status", json_string("processing"));
	if (!strcmp(acme_str(c, "status"), "processing"))
		http_resp_hdr(r->resp, "Retry-After", "1");
	acme_reply(r, 200, chal_view(r, zid, (size_t)i, c), NULL);
out:
	json_decref(p);
	json_decref(z);
}
