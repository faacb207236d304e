/*
 * acct.c - accounts (RFC 8555 section 7.3): newAccount (onlyReturnExisting,
 * contact), the account resource (update, deactivation), its orders list,
 * and key rollover (section 7.3.5).
 */
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../http/http.h"
#include "server_int.h"

#define CONTACTS_MAX 10

static json_t *
acct_view(struct rq *r, const json_t *a, const char *id)
{
	char u[ACME_URL_MAX];
	json_t *o, *c = json_object_get(a, "contact");

	acme_url(r, u, sizeof(u), "acct/%s/orders", id);
	o = json_pack("{s:s,s:O,s:s,s:O}", "status", acme_str(a, "status"),
	    "key", json_object_get(a, "key"), "orders", u, "contact",
	    c ? c : json_array());
	if (o != NULL && c == NULL)
		json_decref(json_object_get(o, "contact"));
	return o;
}

/* contact: an array of at most 10 "mailto:" strings without hfields. */
static int
contact_ok(struct rq *r, const json_t *c)
{
	size_t i;
	json_t *v;
	const char *s;

	if (c == NULL)
		return 1;
	if (!json_is_array(c) || json_array_size(c) > CONTACTS_MAX) {
		acme_problem(r, 400, "malformed",
		    "contact must be an array of at most %d URLs",
		    CONTACTS_MAX);
		return 0;
	}
	json_array_foreach (c, i, v) {
		s = json_string_value(v);
		if (s == NULL || strncmp(s, "mailto:", 7) != 0) {
			acme_problem(r, 400, "unsupportedContact",
			    "only mailto: contacts are supported");
			return 0;
		}
		if (strlen(s) > 254 || strchr(s, '?') || strchr(s, ',') ||
		    strchr(s + 7, '@') == NULL) {
			acme_problem(r, 400, "invalidContact",
			    "contact %zu is not a single mailto: address", i);
			return 0;
		}
	}
	return 1;
}

/* What an EAB key binds, copied into its account (0 on success). */
static int
eab_copy(json_t *acct, json_t *eab, const char *k)
{
	json_t *v = json_object_get(eab, k);

	return v == NULL ? 0 : json_object_set(acct, k, v);
}

static void
key_index(const struct rq *r, const char *thumb, char *out, size_t n)
{
	(void)snprintf(out, n, "%s/%s", r->ca, thumb);
}

void
acme_new_account(struct rq *r)
{
	json_t *p = NULL, *a = NULL, *ix = NULL, *eab = NULL;
	char thumb[44], kk[128], id[ACME_ID_MAX], loc[ACME_URL_MAX];
	char ekid[ACME_ID_MAX];
	int only;

	if ((p = acme_payload(r)) == NULL)
		return;
	if (acme_jwk_thumbprint(r->jws.jwk, thumb) != PCA_OK) {
		acme_problem(r, 400, "badPublicKey", "unsupported jwk");
		goto out;
	}
	key_index(r, thumb, kk, sizeof(kk));
	only = json_is_true(json_object_get(p, "onlyReturnExisting"));
	pthread_mutex_lock(&r->a->mu);
	if (acme_rec_get(r->a, "acme-key", kk, &ix) == PCA_OK) {
		pthread_mutex_unlock(&r->a->mu);
		(void)snprintf(id, sizeof(id), "%s", acme_str(ix, "acct"));
		if (acme_acct_load(r, id, &a) != PCA_OK) {
			acme_problem(r, 500, "serverInternal",
			    "the account of this key cannot be read");
			goto out;
		}
		acme_url(r, loc, sizeof(loc), "acct/%s", id);
		acme_reply(r, 200, acct_view(r, a, id), loc);
		goto out;
	}
	if (only) {
		pthread_mutex_unlock(&r->a->mu);
		acme_problem(r, 400, "accountDoesNotExist",
		    "no account has this key");
		goto out;
	}
	if (!contact_ok(r, json_object_get(p, "contact"))) {
		pthread_mutex_unlock(&r->a->mu);
		goto out;
	}
	if (json_object_get(p, "externalAccountBinding") != NULL) {
		if (!acme_eab_check(r,
			json_object_get(p, "externalAccountBinding"), &eab,
			ekid, sizeof(ekid))) {
			pthread_mutex_unlock(&r->a->mu);
			goto out;
		}
	} else if (r->a->c.eab_required) {
		pthread_mutex_unlock(&r->a->mu);
		acme_problem(r, 403, "externalAccountRequired",
		    "this CA needs an external account binding (an EAB key "
		    "from pcactl acme eab create)");
		goto out;
	}
	if (acme_id_new(id) != PCA_OK ||
	    (a = json_loads(r->jws.jwk, 0, NULL)) == NULL ||
	    (a = json_pack("{s:s,s:s,s:o,s:I,s:[]}", "ca", r->ca, "status",
		 "valid", "key", a, "created", (json_int_t)util_now(),
		 "orders")) == NULL ||
	    (json_object_get(p, "contact") &&
		json_object_set(a, "contact", json_object_get(p, "contact"))) ||
	    (eab != NULL &&
		(json_object_set_new(a, "eab", json_string(ekid)) ||
		    eab_copy(a, eab, "names") || eab_copy(a, eab, "policy") ||
		    eab_copy(a, eab, "profiles") ||
		    json_object_set_new(eab, "acct", json_string(id)) ||
		    acme_rec_put(r->a, "acme-eab", ekid, eab, 0) != PCA_OK)) ||
	    (ix = json_pack("{s:s}", "acct", id)) == NULL ||
	    acme_rec_put(r->a, "acme-acct", id, a, 1) != PCA_OK ||
	    acme_rec_put(r->a, "acme-key", kk, ix, 1) != PCA_OK) {
		pthread_mutex_unlock(&r->a->mu);
		acme_problem(r, 500, "serverInternal",
		    "the account cannot be stored: %s", pca_err_msg());
		goto out;
	}
	pthread_mutex_unlock(&r->a->mu);
	acme_count(r->a, &r->a->m_accounts);
	log_info("acme: CA %s: account %s created%s%s", r->ca, id,
	    eab ? " with EAB key " : "", eab ? ekid : "");
	acme_url(r, loc, sizeof(loc), "acct/%s", id);
	acme_reply(r, 201, acct_view(r, a, id), loc);
out:
	json_decref(eab);
	json_decref(ix);
	json_decref(a);
	json_decref(p);
}

static void
orders_list(struct rq *r)
{
	json_t *l = json_array(), *v;
	char u[ACME_URL_MAX];
	size_t i;

	json_array_foreach (json_object_get(r->acct, "orders"), i, v) {
		acme_url(r, u, sizeof(u), "order/%s", json_string_value(v));
		json_array_append_new(l, json_string(u));
	}
	acme_reply(r, 200, json_pack("{s:o}", "orders", l), NULL);
}

void
acme_account(struct rq *r, const char *id, const char *tail)
{
	json_t *p = NULL, *a = NULL;
	const char *st;

	if (strcmp(id, r->acct_id) != 0) {
		acme_problem(r, 403, "unauthorized",
		    "an account may only see itself");
		return;
	}
	if (strcmp(tail, "/orders") == 0) {
		orders_list(r);
		return;
	}
	if (*tail != '\0') {
		acme_problem(r, 404, "malformed", "no such resource");
		return;
	}
	if (r->jws.payload_len == 0) { /* POST-as-GET */
		acme_reply(r, 200, acct_view(r, r->acct, id), NULL);
		return;
	}
	if ((p = acme_payload(r)) == NULL)
		return;
	st = json_string_value(json_object_get(p, "status"));
	if (st != NULL && strcmp(st, "deactivated") != 0) {
		acme_problem(r, 400, "malformed",
		    "an account's status may only become deactivated");
		goto out;
	}
	if (!contact_ok(r, json_object_get(p, "contact")))
		goto out;
	pthread_mutex_lock(acme_acct_lock(r->a, id));
	if (acme_acct_load(r, id, &a) == PCA_OK) {
		if (st != NULL)
			json_object_set_new(a, "status",
			    json_string("deactivated"));
		if (json_object_get(p, "contact"))
			json_object_set(a, "contact",
			    json_object_get(p, "contact"));
	}
	if (a == NULL || acme_rec_put(r->a, "acme-acct", id, a, 0) != PCA_OK) {
		pthread_mutex_unlock(acme_acct_lock(r->a, id));
		acme_problem(r, 500, "serverInternal",
		    "the account cannot be stored");
		goto out;
	}
	pthread_mutex_unlock(acme_acct_lock(r->a, id));
	if (st != NULL)
		log_info("acme: CA %s: account %s deactivated", r->ca, id);
	acme_reply(r, 200, acct_view(r, a, id), NULL);
out:
	json_decref(a);
	json_decref(p);
}

/* RFC 8555 7.3.5: the inner JWS, signed by the new key, names the account
 * and the old key. */
void
acme_key_change(struct rq *r)
{
	struct acme_jws in;
	const char *why = NULL;
	json_t *ip = NULL, *a = NULL, *ix = NULL, *old = NULL;
	char told[44], tcur[44], tnew[44], kk[128], kn[128], *cur = NULL;
	char loc[ACME_URL_MAX];
	json_error_t je;

	memset(&in, 0, sizeof(in));
	if (r->jws.payload_len == 0 ||
	    acme_jws_parse(r->jws.payload, r->jws.payload_len, 1, &in, &why) !=
		ACME_JWS_OK ||
	    !in.has_jwk) {
		acme_problem(r, 400, "malformed",
		    "the payload must be a JWS signed by the new key (jwk): %s",
		    why ? why : "no jwk");
		goto out;
	}
	if (strcmp(in.url, r->jws.url) != 0) {
		acme_problem(r, 400, "malformed",
		    "the inner JWS url differs from the outer one");
		goto out;
	}
	if (acme_jws_verify(r->jws.payload, r->jws.payload_len, in.alg, in.jwk,
		&why) != ACME_JWS_OK) {
		acme_problem(r, 400, "malformed", "inner JWS: %s", why);
		goto out;
	}
	ip = json_loadb((const char *)in.payload, in.payload_len, 0, &je);
	old = json_object_get(ip, "oldKey");
	if (!json_is_object(ip) ||
	    strcmp(acme_str(ip, "account"), r->jws.kid) != 0 ||
	    !json_is_object(old)) {
		acme_problem(r, 400, "malformed",
		    "the inner payload must name this account and its old key");
		goto out;
	}
	cur = json_dumps(old, JSON_COMPACT);
	if (cur == NULL || acme_jwk_thumbprint(cur, told) != PCA_OK ||
	    acme_jwk_thumbprint(r->jws.jwk, tcur) != PCA_OK ||
	    strcmp(told, tcur) != 0) {
		acme_problem(r, 400, "malformed",
		    "oldKey is not the account's current key");
		goto out;
	}
	if (acme_jwk_thumbprint(in.jwk, tnew) != PCA_OK) {
		acme_problem(r, 400, "badPublicKey", "unsupported new key");
		goto out;
	}
	key_index(r, tcur, kk, sizeof(kk));
	key_index(r, tnew, kn, sizeof(kn));
	pthread_mutex_lock(&r->a->mu);
	pthread_mutex_lock(acme_acct_lock(r->a, r->acct_id));
	if (acme_rec_get(r->a, "acme-key", kn, &ix) == PCA_OK) {
		pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
		pthread_mutex_unlock(&r->a->mu);
		acme_url(r, loc, sizeof(loc), "acct/%s", acme_str(ix, "acct"));
		http_resp_hdr(r->resp, "Location", loc);
		acme_problem(r, 409, "conflict",
		    "the new key is already an account's key");
		goto out;
	}
	if (acme_acct_load(r, r->acct_id, &a) != PCA_OK ||
	    json_object_set_new(a, "key", json_loads(in.jwk, 0, NULL)) ||
	    (ix = json_pack("{s:s}", "acct", r->acct_id)) == NULL ||
	    acme_rec_put(r->a, "acme-key", kn, ix, 1) != PCA_OK ||
	    acme_rec_put(r->a, "acme-acct", r->acct_id, a, 0) != PCA_OK ||
	    acme_rec_del(r->a, "acme-key", kk) != PCA_OK) {
		pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
		pthread_mutex_unlock(&r->a->mu);
		acme_problem(r, 500, "serverInternal",
		    "the key change cannot be stored");
		goto out;
	}
	pthread_mutex_unlock(acme_acct_lock(r->a, r->acct_id));
	pthread_mutex_unlock(&r->a->mu);
	log_info("acme: CA %s: account %s changed its key", r->ca, r->acct_id);
	acme_reply(r, 200, acct_view(r, a, r->acct_id), NULL);
out:
	free(cur);
	json_decref(ix);
	json_decref(a);
	json_decref(ip);
	acme_jws_clear(&in);
}
