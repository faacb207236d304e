/*
 * info.c - what the revocation publishers (crl/, ocsp/) read about CAs,
 * and the change events they listen to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "../store/store.h"
#include "engine_int.h"

pca_err
ca_engine_listen(struct ca_engine *e,
    void (*fn)(const struct ca_event *, void *), void *arg)
{
	if (e->nlisteners == CA_LISTENERS_MAX)
		return pca_err_set(PCA_ELIMIT, "too many engine listeners");
	e->listeners[e->nlisteners].fn = fn;
	e->listeners[e->nlisteners].arg = arg;
	e->nlisteners++;
	return PCA_OK;
}

void
ca_notify(struct ca_engine *e, enum ca_event_type type, const char *uuid,
    const uint8_t *serial, size_t serial_len)
{
	struct ca_event ev = {type, uuid, serial, serial_len, 0};
	size_t i;

	for (i = 0; i < e->nlisteners; i++)
		e->listeners[i].fn(&ev, e->listeners[i].arg);
}

static pca_err
dup_bytes(const uint8_t *p, size_t n, uint8_t **out)
{
	if (p == NULL) {
		*out = NULL;
		return PCA_OK;
	}
	if ((*out = malloc(n)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	memcpy(*out, p, n);
	return PCA_OK;
}

pca_err
ca_info_get(struct ca_engine *e, const char *uuid, struct ca_info *out)
{
	struct ca_ctx *c;
	const json_t *cfg;
	pca_err err;

	memset(out, 0, sizeof(*out));
	if ((err = ca_ctx_get(e, uuid, &c)) != PCA_OK)
		return err;
	memcpy(out->uuid, c->uuid, 37);
	(void)snprintf(out->arn, sizeof(out->arn), "%s", c->arn);
	(void)snprintf(out->status, sizeof(out->status), "%s", c->status);
	(void)snprintf(out->key_label, sizeof(out->key_label), "%s", c->label);
	out->root = c->type == PROF_CA_ROOT;
	cfg = json_object_get(c->rec, "CertificateAuthorityConfiguration");
	out->sigalg = (int)pca_sigalg_from_name(
	    json_string_value(json_object_get(cfg, "SigningAlgorithm")));
	out->spki_len = c->spki_len;
	out->cert_len = c->cert_len;
	out->revocation =
	    json_deep_copy(json_object_get(c->rec, "RevocationConfiguration"));
	out->cdp_uri = c->cdp_uri ? strdup(c->cdp_uri) : NULL;
	out->ocsp_uri = c->ocsp_uri ? strdup(c->ocsp_uri) : NULL;
	if ((err = dup_bytes(c->spki, c->spki_len, &out->spki)) == PCA_OK)
		err = dup_bytes(c->cert_der, c->cert_len, &out->cert_der);
	if (err == PCA_OK &&
	    (out->revocation == NULL || (c->cdp_uri && !out->cdp_uri) ||
		(c->ocsp_uri && !out->ocsp_uri)))
		err = pca_err_set(PCA_ENOMEM, "no memory");
	ca_ctx_put(e, c);
	if (err != PCA_OK)
		ca_info_clear(out);
	return err;
}

void
ca_info_clear(struct ca_info *i)
{
	free(i->spki);
	free(i->cert_der);
	json_decref(i->revocation);
	free(i->cdp_uri);
	free(i->ocsp_uri);
	memset(i, 0, sizeof(*i));
}

struct ids_arg {
	char (*ids)[37];
	size_t n, cap;
	int oom;
};

static int
ids_cb(const char *id, const char *json, size_t len, void *arg)
{
	struct ids_arg *a = arg;
	void *n;

	(void)json;
	(void)len;
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		if ((n = realloc(a->ids, a->cap * sizeof(*a->ids))) == NULL) {
			a->oom = 1;
			return 1;
		}
		a->ids = n;
	}
	(void)snprintf(a->ids[a->n++], 37, "%s", id);
	return 0;
}

pca_err
ca_info_ids(struct ca_engine *e, char (**ids)[37], size_t *n)
{
	struct ids_arg a = {NULL, 0, 0, 0};
	pca_err err;

	if ((err = store_ca_foreach(e->store, ids_cb, &a)) == PCA_OK && a.oom)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	if (err != PCA_OK) {
		free(a.ids);
		return err;
	}
	*ids = a.ids;
	*n = a.n;
	return PCA_OK;
}

pca_err
ca_engine_maintain(struct ca_engine *e, size_t *purged_cas,
    size_t *purged_tokens)
{
	char(*ids)[37] = NULL;
	struct ca_ctx *c;
	size_t i, n = 0, gone = 0, tokens = 0;
	pca_err err;

	if ((err = ca_info_ids(e, &ids, &n)) != PCA_OK)
		return err;
	for (i = 0; i < n; i++) {
		/* getting a CA applies its due transitions */
		err = ca_ctx_get(e, ids[i], &c);
		if (err == PCA_OK)
			ca_ctx_put(e, c);
		else if (err == PCA_ENOTFOUND)
			gone++;
		else
			break;
	}
	free(ids);
	if (err == PCA_ENOTFOUND)
		err = PCA_OK;
	if (err == PCA_OK)
		err = store_idem_purge(e->store, util_now(), 0, &tokens);
	if (err != PCA_OK)
		return err;
	pca_err_clear();
	if (purged_cas != NULL)
		*purged_cas = gone;
	if (purged_tokens != NULL)
		*purged_tokens = tokens;
	return PCA_OK;
}
