/*
 * server.c - the ACME resources (RFC 8555 section 7) under
 * /acme/<CA id>/ on the HTTPS listener: routing, nonces, problem documents,
 * authentication of every POST by its JWS, and the directory.  Accounts,
 * orders and authorizations are in acct.c and order.c.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "../ca/ca.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../http/http.h"
#include "../store/store.h"
#include "server_int.h"

#define NONCE_WIN 65536u /* nonces outstanding at most */

static void
nonce_new(struct acme *a, char out[ACME_NONCE_LEN])
{
	uint8_t raw[8 + 16], mac[32];
	unsigned ml = 0;
	uint64_t seq;
	char *s = NULL;
	int i;

	pthread_mutex_lock(&a->nmu);
	seq = a->nseq++;
	a->nused[(seq % NONCE_WIN) / 8] &= (uint8_t) ~(1u << (seq % 8));
	pthread_mutex_unlock(&a->nmu);
	for (i = 0; i < 8; i++)
		raw[i] = (uint8_t)(seq >> (56 - 8 * i));
	(void)HMAC(EVP_sha256(), a->nkey, sizeof(a->nkey), raw, 8, mac, &ml);
	memcpy(raw + 8, mac, 16);
	out[0] = '\0';
	if (acme_b64url_encode(raw, sizeof(raw), &s) == PCA_OK)
		(void)snprintf(out, ACME_NONCE_LEN, "%s", s);
	free(s);
}

/* 1: the nonce was ours, recent and unused (now used); 0: badNonce. */
static int
nonce_use(struct acme *a, const char *nonce)
{
	uint8_t *raw = NULL, mac[32];
	size_t n = 0;
	unsigned ml = 0;
	uint64_t seq = 0;
	int i, ok = 0;
	uint8_t bit;

	if (acme_b64url_decode(nonce, strlen(nonce), 24, &raw, &n) != PCA_OK ||
	    n != 24)
		goto out;
	(void)HMAC(EVP_sha256(), a->nkey, sizeof(a->nkey), raw, 8, mac, &ml);
	if (CRYPTO_memcmp(mac, raw + 8, 16) != 0)
		goto out;
	for (i = 0; i < 8; i++)
		seq = seq << 8 | raw[i];
	pthread_mutex_lock(&a->nmu);
	bit = (uint8_t)(1u << (seq % 8));
	if (seq < a->nseq && a->nseq - seq <= NONCE_WIN &&
	    !(a->nused[(seq % NONCE_WIN) / 8] & bit)) {
		a->nused[(seq % NONCE_WIN) / 8] |= bit;
		ok = 1;
	}
	pthread_mutex_unlock(&a->nmu);
out:
	free(raw);
	return ok;
}

/* ---- responses ---- */

void
acme_problem(struct rq *r, int status, const char *type, const char *fmt, ...)
{
	char detail[512];
	json_t *o;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s+,s:s,s:i}", "type",
	    "urn:ietf:params:acme:error:", type, "detail", detail, "status",
	    status);
	free(r->resp->body);
	r->resp->body = NULL;
	r->resp->len = 0;
	if (o != NULL)
		r->resp->body = (uint8_t *)json_dumps(o, JSON_COMPACT);
	if (r->resp->body != NULL)
		r->resp->len = strlen((char *)r->resp->body);
	r->resp->status = status;
	r->resp->content_type = "application/problem+json";
	json_decref(o);
	if (r->a != NULL)
		acme_count(r->a, &r->a->m_problems);
	if (status >= 500 || strcmp(type, "badNonce") != 0)
		log_debug("acme: %s %s: %d %s: %s", r->req->method,
		    r->req->path, status, type, detail);
}

void
acme_reply(struct rq *r, int status, json_t *o, const char *location)
{
	char *s;

	if (o == NULL ||
	    (s = json_dumps(o, JSON_COMPACT | JSON_INDENT(0))) == NULL) {
		json_decref(o);
		acme_problem(r, 500, "serverInternal", "out of memory");
		return;
	}
	json_decref(o);
	free(r->resp->body);
	r->resp->body = (uint8_t *)s;
	r->resp->len = strlen(s);
	r->resp->status = status;
	r->resp->content_type = "application/json";
	if (location != NULL)
		http_resp_hdr(r->resp, "Location", location);
}

void
acme_link_up(struct rq *r, const char *url)
{
	char v[400];

	(void)snprintf(v, sizeof(v), "<%s>;rel=\"up\"", url);
	http_resp_hdr(r->resp, "Link", v);
}

void
acme_url(const struct rq *r, char *out, size_t n, const char *fmt, ...)
{
	char tail[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(tail, sizeof(tail), fmt, ap);
	va_end(ap);
	(void)snprintf(out, n, "%s/%s", r->dir, tail);
}

/* ---- the directory ---- */

static void
directory(struct rq *r)
{
	char u[6][ACME_URL_MAX];
	json_t *o, *pr;

	acme_url(r, u[0], sizeof(u[0]), "new-nonce");
	acme_url(r, u[1], sizeof(u[1]), "new-account");
	acme_url(r, u[2], sizeof(u[2]), "new-order");
	acme_url(r, u[3], sizeof(u[3]), "revoke-cert");
	acme_url(r, u[4], sizeof(u[4]), "key-change");
	acme_url(r, u[5], sizeof(u[5]), "renewal-info");
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:b}}", "newNonce", u[0],
	    "newAccount", u[1], "newOrder", u[2], "revokeCert", u[3],
	    "keyChange", u[4], "renewalInfo", u[5], "meta",
	    "externalAccountRequired", r->a->c.eab_required);
	if (o != NULL && r->a->dc.nids > 0) /* RFC 8555 7.1.1 */
		json_object_set_new(json_object_get(o, "meta"), "caaIdentities",
		    acme_caa_ids_json(&r->a->dc));
	pr = acme_profiles_meta(r);
	if (o != NULL && json_object_size(pr) > 0)
		json_object_set(json_object_get(o, "meta"), "profiles", pr);
	json_decref(pr);
	acme_reply(r, 200, o, NULL);
}

/* ---- authentication ---- */

/*
 * The JWS of a POST: parsed, url and nonce checked, signature verified
 * with the jwk (want_jwk) or the key of the account named by kid (which
 * must be valid).  0 with a problem set on failure.
 */
static int
authenticate(struct rq *r, int want_jwk)
{
	const char *why = NULL, *ct;
	enum acme_jws_err e;
	const char *types[] = {"", "malformed", "badSignatureAlgorithm",
	    "unauthorized", "badPublicKey"};
	char pfx[ACME_URL_MAX];
	size_t pl;

	ct = http_req_hdr(r->req, "Content-Type");
	if (ct == NULL || strncmp(ct, "application/jose+json", 21) != 0) {
		acme_problem(r, 415, "malformed",
		    "Content-Type must be application/jose+json");
		return 0;
	}
	if ((e = acme_jws_parse(r->req->body, r->req->len, 0, &r->jws, &why)) !=
	    ACME_JWS_OK) {
		acme_problem(r, e == ACME_JWS_BADALG ? 400 : 400, types[e],
		    "%s", why);
		return 0;
	}
	if (strcmp(r->jws.url, r->url) != 0) {
		acme_problem(r, 401, "unauthorized",
		    "the JWS url does not match the request URL");
		return 0;
	}
	if (!nonce_use(r->a, r->jws.nonce)) {
		acme_problem(r, 400, "badNonce",
		    "the nonce is unknown, expired or already used");
		return 0;
	}
	if (want_jwk != r->jws.has_jwk) {
		acme_problem(r, 400, "malformed",
		    want_jwk
			? "this resource needs a jwk in the protected header"
			: "this resource needs a kid in the protected header");
		return 0;
	}
	if (!want_jwk) {
		acme_url(r, pfx, sizeof(pfx), "acct/");
		pl = strlen(pfx);
		if (strncmp(r->jws.kid, pfx, pl) != 0 ||
		    strlen(r->jws.kid + pl) >= sizeof(r->acct_id) ||
		    strchr(r->jws.kid + pl, '/') != NULL) {
			acme_problem(r, 400, "accountDoesNotExist",
			    "kid is not an account URL of this CA");
			return 0;
		}
		(void)snprintf(r->acct_id, sizeof(r->acct_id), "%s",
		    r->jws.kid + pl);
		if (acme_acct_load(r, r->acct_id, &r->acct) != PCA_OK) {
			acme_problem(r, 400, "accountDoesNotExist",
			    "no such account");
			return 0;
		}
		if (strcmp(acme_str(r->acct, "status"), "valid") != 0) {
			acme_problem(r, 401, "unauthorized",
			    "the account is %s", acme_str(r->acct, "status"));
			return 0;
		}
		free(r->jws.jwk);
		r->jws.jwk =
		    json_dumps(json_object_get(r->acct, "key"), JSON_COMPACT);
		if (r->jws.jwk == NULL) {
			acme_problem(r, 500, "serverInternal", "no memory");
			return 0;
		}
	}
	if ((e = acme_jws_verify(r->req->body, r->req->len, r->jws.alg,
		 r->jws.jwk, &why)) != ACME_JWS_OK) {
		acme_problem(r,
		    e == ACME_JWS_BADKEY   ? 400
		    : e == ACME_JWS_BADSIG ? 401
					   : 400,
		    types[e], "%s", why);
		return 0;
	}
	return 1;
}

/* The payload as a JSON object ({} allowed); NULL with a problem set. */
json_t *
acme_payload(struct rq *r)
{
	json_t *o;
	json_error_t je;

	if (r->jws.payload_len == 0) {
		acme_problem(r, 400, "malformed",
		    "this resource needs a JSON object payload");
		return NULL;
	}
	o = json_loadb((const char *)r->jws.payload, r->jws.payload_len,
	    JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		acme_problem(r, 400, "malformed",
		    "the payload is not a JSON "
		    "object");
		return NULL;
	}
	return o;
}

const char *
acme_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* ---- the CA ---- */

static int
ca_lookup(struct rq *r)
{
	json_t *d = NULL;
	const char *st, *alg, *pred;
	pca_err err;

	(void)snprintf(r->arn, sizeof(r->arn),
	    "arn:%s:acm-pca:%s:%s:certificate-authority/%s",
	    r->a->c.partition ? r->a->c.partition : "aws", r->a->c.region,
	    r->a->c.account, r->ca);
	r->caller.account = r->a->c.account;
	r->caller.region = r->a->c.region;
	r->caller.who = "acme";
	if ((err = ca_describe(r->a->eng, &r->caller, r->arn, &d)) != PCA_OK) {
		if (err == PCA_ENOTFOUND || err == PCA_EBADARN)
			acme_problem(r, 404, "malformed",
			    "no such certificate authority");
		else
			acme_problem(r, 503, "serverInternal",
			    "the CA cannot be read now");
		return 0;
	}
	st = json_string_value(json_object_get(d, "Status"));
	alg = json_string_value(json_object_get(
	    json_object_get(d, "CertificateAuthorityConfiguration"),
	    "SigningAlgorithm"));
	pred = json_string_value(
	    json_object_get(json_object_get(d, "OpenPCA"), "PredecessorArn"));
	r->rotated_at = json_integer_value(
	    json_object_get(json_object_get(d, "OpenPCA"), "RotatedAt"));
	r->root =
	    json_is_string(json_object_get(d, "Type")) &&
	    strcmp(json_string_value(json_object_get(d, "Type")), "ROOT") == 0;
	if (pred != NULL && strlen(pred) > 36)
		(void)snprintf(r->pred, sizeof(r->pred), "%s",
		    pred + strlen(pred) - 36);
	(void)snprintf(r->ca_status, sizeof(r->ca_status), "%s", st ? st : "");
	(void)snprintf(r->sig_alg, sizeof(r->sig_alg), "%s", alg ? alg : "");
	json_decref(d);
	return 1;
}

/* ---- routing ---- */

static int
is_uuid(const char *s, size_t n)
{
	char b[37];

	if (n != 36)
		return 0;
	memcpy(b, s, 36);
	b[36] = '\0';
	return util_is_uuid(b);
}

/* "name/<id>[/tail]": 1 with id copied and *tail set. */
static int
res_id(const char *rest, const char *name, char *id, size_t idlen,
    const char **tail)
{
	size_t n = strlen(name), k;

	if (strncmp(rest, name, n) != 0 || rest[n] != '/')
		return 0;
	rest += n + 1;
	k = strcspn(rest, "/");
	if (k == 0 || k >= idlen)
		return 0;
	memcpy(id, rest, k);
	id[k] = '\0';
	*tail = rest + k;
	return 1;
}

static void
post(struct rq *r)
{
	const char *rest = r->rest, *tail = NULL;
	char id[ACME_ID_MAX];

	if (strcmp(rest, "new-account") == 0) {
		if (authenticate(r, 1))
			acme_new_account(r);
		return;
	}
	if (strcmp(rest, "revoke-cert") == 0) {
		struct acme_jws peek;
		const char *why;

		/* by the account (kid) or by the certificate's key (jwk) */
		if (acme_jws_parse(r->req->body, r->req->len, 0, &peek, &why) !=
		    ACME_JWS_OK) {
			(void)authenticate(r, 0);
			return;
		}
		int jwk = peek.has_jwk;

		acme_jws_clear(&peek);
		if (authenticate(r, jwk))
			acme_revoke(r);
		return;
	}
	if (!authenticate(r, 0))
		return;
	if (strcmp(rest, "new-order") == 0)
		acme_new_order(r);
	else if (strcmp(rest, "key-change") == 0)
		acme_key_change(r);
	else if (res_id(rest, "acct", id, sizeof(id), &tail))
		acme_account(r, id, tail);
	else if (res_id(rest, "order", id, sizeof(id), &tail))
		acme_order(r, id, tail);
	else if (res_id(rest, "authz", id, sizeof(id), &tail) && !*tail)
		acme_authz(r, id);
	else if (res_id(rest, "chall", id, sizeof(id), &tail) &&
		 tail[0] == '/' && tail[1] != '\0')
		acme_challenge(r, id, tail + 1);
	else if (res_id(rest, "cert", id, sizeof(id), &tail))
		acme_cert(r, id, tail);
	else
		acme_problem(r, 404, "malformed", "no such resource");
}

static void
handle(void *arg, const struct http_req *req, struct http_resp *resp)
{
	struct acme *a = arg;
	struct rq r;
	char nonce[ACME_NONCE_LEN];
	const char *p = req->path + strlen("/acme/");
	size_t k;

	memset(&r, 0, sizeof(r));
	r.a = a;
	r.req = req;
	r.resp = resp;
	nonce_new(a, nonce);
	http_resp_hdr(resp, "Replay-Nonce", nonce);
	http_resp_hdr(resp, "Cache-Control", "no-store");
	pthread_rwlock_rdlock(&a->englock);
	k = strcspn(p, "/");
	if (!is_uuid(p, k) || p[k] != '/' || strlen(req->path) > 300) {
		acme_problem(&r, 404, "malformed", "no such resource");
		goto out;
	}
	memcpy(r.ca, p, 36);
	r.ca[36] = '\0';
	r.rest = p + 37;
	(void)snprintf(r.dir, sizeof(r.dir), "%s/acme/%s", a->c.base_url, r.ca);
	(void)snprintf(r.url, sizeof(r.url), "%s%s", a->c.base_url, req->path);
	if (!ca_lookup(&r))
		goto out;
	{
		char idx[ACME_URL_MAX + 32];

		(void)snprintf(idx, sizeof(idx), "<%s/directory>;rel=\"index\"",
		    r.dir);
		http_resp_hdr(resp, "Link", idx);
	}
	if (strcmp(req->method, "POST") != 0) {
		if (strcmp(r.rest, "directory") == 0)
			directory(&r);
		else if (strcmp(r.rest, "new-nonce") == 0) {
			resp->status =
			    strcmp(req->method, "HEAD") == 0 ? 200 : 204;
		} else if (strncmp(r.rest, "renewal-info/", 13) == 0)
			acme_renewal_info(&r, r.rest + 13);
		else
			acme_problem(&r, 405, "malformed",
			    "use POST (POST-as-GET) for this resource");
		goto out;
	}
	post(&r);
out:
	pthread_rwlock_unlock(&a->englock);
	acme_jws_clear(&r.jws);
	json_decref(r.acct);
	if (resp->status == 0)
		resp->status = 500;
}

static void
framing_error(void *arg, const struct http_req *req, int status,
    const char *message, struct http_resp *resp)
{
	struct rq r;

	memset(&r, 0, sizeof(r));
	r.a = arg;
	r.req = req;
	r.resp = resp;
	acme_problem(&r, status, status == 413 ? "malformed" : "malformed",
	    "%s", message);
}

pca_err
acme_register(struct acme *a, struct http_server *h)
{
	const struct http_route rt = {.port = HTTP_TLS,
	    .path = "/acme/",
	    .prefix = 1,
	    .methods = HTTP_M_GET | HTTP_M_HEAD | HTTP_M_POST,
	    .body_max = ACME_JWS_MAX,
	    .drain_max = 1024 * 1024,
	    .fn = handle,
	    .error = framing_error,
	    .arg = a};

	return http_route_add(h, &rt);
}

static void
conf_copy(struct acme *a, const struct acme_conf *c)
{
	a->c = *c;
	(void)snprintf(a->base, sizeof(a->base), "%s", c->base_url);
	(void)snprintf(a->region, sizeof(a->region), "%s", c->region);
	(void)snprintf(a->account, sizeof(a->account), "%s", c->account);
	(void)snprintf(a->partition, sizeof(a->partition), "%s",
	    c->partition ? c->partition : "aws");
	(void)snprintf(a->vaddr, sizeof(a->vaddr), "%s",
	    c->validation_addr ? c->validation_addr : "");
	a->c.base_url = a->base;
	a->c.region = a->region;
	a->c.account = a->account;
	a->c.partition = a->partition;
	a->c.validation_addr = a->vaddr[0] ? a->vaddr : NULL;
	if (a->c.http01_port == 0)
		a->c.http01_port = 80;
	if (a->c.tlsalpn01_port == 0)
		a->c.tlsalpn01_port = 443;
	if (a->c.validity_days == 0)
		a->c.validity_days = 90;
	if (a->c.timeout_s == 0)
		a->c.timeout_s = 10;
	acme_dnsconf_set(&a->dc, c);
	a->c.resolver = NULL; /* a->dc holds the copies */
	a->c.caa_identities = NULL;
}

pca_err
acme_new(const struct acme_conf *c, struct ca_engine *eng, struct store *st,
    const struct seal_ops *seal, struct acme **out)
{
	struct acme *a;
	size_t i;

	if (c->base_url == NULL || c->region == NULL || c->account == NULL)
		return pca_err_set(PCA_EINVAL, "acme: base_url, region and "
					       "account are required");
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	conf_copy(a, c);
	a->eng = eng;
	a->st = st;
	if (seal != NULL)
		a->seal = *seal;
	memset(a->nused, 0xff, sizeof(a->nused));
	if (RAND_bytes(a->nkey, sizeof(a->nkey)) != 1) {
		free(a);
		return pca_err_set(PCA_EINTERNAL, "acme: no randomness");
	}
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->nmu, NULL);
	pthread_mutex_init(&a->bmu, NULL);
	for (i = 0; i < ACME_STRIPES; i++)
		pthread_mutex_init(&a->amu[i], NULL);
	pthread_rwlock_init(&a->englock, NULL);
	acme_eab_migrate(a);
	*out = a;
	return PCA_OK;
}

void
acme_reload(struct acme *a, const struct acme_conf *c, struct ca_engine *eng)
{
	pthread_rwlock_wrlock(&a->englock);
	a->eng = eng;
	if (c->base_url != NULL && c->region != NULL && c->account != NULL)
		conf_copy(a, c);
	a->c.policies = c->policies; /* the old set is freed after this */
	pthread_rwlock_unlock(&a->englock);
}

void
acme_free(struct acme *a)
{
	size_t i;

	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->nmu);
	pthread_mutex_destroy(&a->bmu);
	for (i = 0; i < ACME_STRIPES; i++)
		pthread_mutex_destroy(&a->amu[i]);
	pthread_rwlock_destroy(&a->englock);
	OPENSSL_cleanse(a->nkey, sizeof(a->nkey));
	free(a);
}

pthread_mutex_t *
acme_acct_lock(struct acme *a, const char *acct)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *acct; acct++)
		h = (h ^ (uint8_t)*acct) * 16777619u;
	return &a->amu[h % ACME_STRIPES];
}

/* Lock-free: problems are counted with mu held or not. */
void
acme_count(struct acme *a, uint64_t *c)
{
	(void)a;
	(void)__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

void
acme_count_order(struct acme *a, enum acme_ostate st)
{
	if ((unsigned)st < ACME_OSTATE_N)
		acme_count(a, &a->m_ostate[st]);
}

static const char *const vfail_types[ACME_VFAIL_N] = {"connection",
    "incorrectResponse", "tls", "unauthorized", "dns", "caa", "other"};

void
acme_count_vfail(struct acme *a, const char *ptype)
{
	size_t i;

	for (i = 0; i + 1 < ACME_VFAIL_N; i++)
		if (ptype != NULL && strcmp(ptype, vfail_types[i]) == 0)
			break;
	acme_count(a, &a->m_vfail[i]);
}

static int
kv_count(const char *key, const uint8_t *v, size_t n, void *arg)
{
	(void)key;
	(void)v;
	(void)n;
	(*(uint64_t *)arg)++;
	return 0;
}

/*
 * Failed validations by problem type, invalid orders, and the records
 * kept now (accounts, orders and authorizations not yet pruned: counted,
 * not parsed).
 */
static pca_err
metrics_more(struct acme *a, struct buf *b)
{
	static const char *const ostates[ACME_OSTATE_N] = {"pending", "ready",
	    "processing", "valid", "invalid"};
	static const char *const ns[3][2] = {{"acme-acct", "accounts"},
	    {"acme-order", "orders"}, {"acme-authz", "authorizations"}};
	uint64_t n;
	size_t i;
	pca_err err;

	err = buf_printf(b,
	    "# HELP pcad_acme_validation_failures_total "
	    "Failed challenge validations by ACME problem type.\n"
	    "# TYPE pcad_acme_validation_failures_total counter\n");
	for (i = 0; i < ACME_VFAIL_N && err == PCA_OK; i++)
		err = buf_printf(b,
		    "pcad_acme_validation_failures_total{"
		    "problem=\"%s\"} %llu\n",
		    vfail_types[i],
		    (unsigned long long)__atomic_load_n(&a->m_vfail[i],
			__ATOMIC_RELAXED));
	if (err == PCA_OK)
		err = buf_printf(b,
		    "# HELP pcad_acme_orders_invalid_total "
		    "Orders that became invalid.\n"
		    "# TYPE pcad_acme_orders_invalid_total counter\n"
		    "pcad_acme_orders_invalid_total %llu\n"
		    "# HELP pcad_acme_orders_total Orders that entered each "
		    "state (RFC 8555 7.1.6) since start.\n"
		    "# TYPE pcad_acme_orders_total counter\n",
		    (unsigned long long)__atomic_load_n(
			&a->m_ostate[ACME_OS_INVALID], __ATOMIC_RELAXED));
	for (i = 0; i < ACME_OSTATE_N && err == PCA_OK; i++)
		err = buf_printf(b,
		    "pcad_acme_orders_total{state=\"%s\"} %llu\n", ostates[i],
		    (unsigned long long)__atomic_load_n(&a->m_ostate[i],
			__ATOMIC_RELAXED));
	if (err == PCA_OK)
		err = buf_printf(b, "# HELP pcad_acme_records ACME records in "
				    "the store.\n"
				    "# TYPE pcad_acme_records gauge\n");
	for (i = 0; i < 3 && err == PCA_OK; i++) {
		n = 0;
		if (store_kv_foreach(a->st, ns[i][0], kv_count, &n) != PCA_OK)
			pca_err_clear();
		err = buf_printf(b, "pcad_acme_records{kind=\"%s\"} %llu\n",
		    ns[i][1], (unsigned long long)n);
	}
	return err;
}

pca_err
acme_metrics_render(struct acme *a, struct buf *b)
{
	uint64_t v[12];
	pca_err err;

	v[0] = __atomic_load_n(&a->m_accounts, __ATOMIC_RELAXED);
	v[1] = __atomic_load_n(&a->m_orders, __ATOMIC_RELAXED);
	v[2] = __atomic_load_n(&a->m_issued, __ATOMIC_RELAXED);
	v[3] = __atomic_load_n(&a->m_revoked, __ATOMIC_RELAXED);
	v[4] = __atomic_load_n(&a->m_valid[0], __ATOMIC_RELAXED);
	v[5] = __atomic_load_n(&a->m_invalid[0], __ATOMIC_RELAXED);
	v[6] = __atomic_load_n(&a->m_valid[1], __ATOMIC_RELAXED);
	v[7] = __atomic_load_n(&a->m_invalid[1], __ATOMIC_RELAXED);
	v[8] = __atomic_load_n(&a->m_problems, __ATOMIC_RELAXED);
	v[9] = __atomic_load_n(&a->m_valid[2], __ATOMIC_RELAXED);
	v[10] = __atomic_load_n(&a->m_invalid[2], __ATOMIC_RELAXED);
	err = buf_printf(b,
	    "# HELP pcad_acme_total ACME events since start.\n"
	    "# TYPE pcad_acme_total counter\n"
	    "pcad_acme_total{event=\"account_created\"} %llu\n"
	    "pcad_acme_total{event=\"order_created\"} %llu\n"
	    "pcad_acme_total{event=\"certificate_issued\"} %llu\n"
	    "pcad_acme_total{event=\"certificate_revoked\"} %llu\n"
	    "pcad_acme_total{event=\"problem\"} %llu\n"
	    "# HELP pcad_acme_validations_total Challenge validations by type "
	    "and result.\n"
	    "# TYPE pcad_acme_validations_total counter\n"
	    "pcad_acme_validations_total{type=\"http-01\",result=\"valid\"} "
	    "%llu\n"
	    "pcad_acme_validations_total{type=\"http-01\",result=\"invalid\"} "
	    "%llu\n"
	    "pcad_acme_validations_total{type=\"tls-alpn-01\","
	    "result=\"valid\"} %llu\n"
	    "pcad_acme_validations_total{type=\"tls-alpn-01\","
	    "result=\"invalid\"} %llu\n"
	    "pcad_acme_validations_total{type=\"dns-01\",result=\"valid\"} "
	    "%llu\n"
	    "pcad_acme_validations_total{type=\"dns-01\",result=\"invalid\"} "
	    "%llu\n",
	    (unsigned long long)v[0], (unsigned long long)v[1],
	    (unsigned long long)v[2], (unsigned long long)v[3],
	    (unsigned long long)v[8], (unsigned long long)v[4],
	    (unsigned long long)v[5], (unsigned long long)v[6],
	    (unsigned long long)v[7], (unsigned long long)v[9],
	    (unsigned long long)v[10]);
	if (err == PCA_OK)
		err = metrics_more(a, b);
	return err;
}
