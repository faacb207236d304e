/*
 * state.c - ACME records (accounts, orders, authorizations, key index) as
 * JSON in the store's kv, namespaces "acme-acct", "acme-order",
 * "acme-authz", "acme-key" and "acme-cert".  Each record names its CA, so
 * an id from another CA's path is not found.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "../store/store.h"
#include "server_int.h"

#define REC_MAX (256 * 1024)

pca_err
acme_rec_get(struct acme *a, const char *ns, const char *id, json_t **out)
{
	uint8_t *v = NULL;
	size_t n = 0;
	json_t *o;
	json_error_t je;
	pca_err err;

	if ((err = store_kv_get(a->st, ns, id, &v, &n)) != PCA_OK)
		return err;
	o = json_loadb((const char *)v, n, 0, &je);
	free(v);
	if (!json_is_object(o)) {
		json_decref(o);
		return pca_err_set(PCA_EPARSE, "acme: record %s/%s unreadable",
		    ns, id);
	}
	*out = o;
	return PCA_OK;
}

pca_err
acme_rec_put(struct acme *a, const char *ns, const char *id, const json_t *o,
    int create)
{
	char *s;
	pca_err err;

	if ((s = json_dumps(o, JSON_COMPACT)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if (strlen(s) > REC_MAX)
		err = pca_err_set(PCA_ETOOBIG, "acme: record too large");
	else
		err = store_kv_put(a->st, ns, id, s, strlen(s), create);
	free(s);
	return err;
}

pca_err
acme_rec_batch(struct acme *a, const struct acme_rec_w *w, size_t n)
{
	struct store_kv_op ops[ACME_BATCH_MAX];
	char *txt[ACME_BATCH_MAX];
	size_t i;
	pca_err err = PCA_OK;

	if (n > ACME_BATCH_MAX)
		return pca_err_set(PCA_EINVAL, "acme: batch too large");
	memset(txt, 0, sizeof(txt));
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < n && err == PCA_OK; i++) {
		if ((txt[i] = json_dumps(w[i].o, JSON_COMPACT)) == NULL)
			err = pca_err_set(PCA_ENOMEM, "no memory");
		else if (strlen(txt[i]) > REC_MAX)
			err =
			    pca_err_set(PCA_ETOOBIG, "acme: record too large");
		ops[i] = (struct store_kv_op){w[i].ns, w[i].id, txt[i],
		    txt[i] ? strlen(txt[i]) : 0, 0};
	}
	if (err == PCA_OK)
		err = store_kv_batch(a->st, ops, n);
	for (i = 0; i < n; i++)
		free(txt[i]);
	return err;
}

pca_err
acme_rec_del(struct acme *a, const char *ns, const char *id)
{
	return store_kv_del(a->st, ns, id);
}

pca_err
acme_id_new(char out[ACME_ID_MAX])
{
	uint8_t r[16];
	char *s = NULL;
	pca_err err;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return pca_err_set(PCA_EINTERNAL, "no randomness");
	if ((err = acme_b64url_encode(r, sizeof(r), &s)) != PCA_OK)
		return err;
	(void)snprintf(out, ACME_ID_MAX, "%s", s);
	free(s);
	return PCA_OK;
}

pca_err
acme_acct_load(struct rq *r, const char *id, json_t **out)
{
	json_t *o = NULL;
	pca_err err;

	if ((err = acme_rec_get(r->a, "acme-acct", id, &o)) != PCA_OK)
		return err;
	if (strcmp(acme_str(o, "ca"), r->ca) != 0) {
		json_decref(o);
		return pca_err_set(PCA_ENOTFOUND, "acme: no such account");
	}
	*out = o;
	return PCA_OK;
}

static int
busy_find(struct acme *a, const char *id)
{
	int i;

	for (i = 0; i < ACME_BUSY_MAX; i++)
		if (a->busy[i][0] && strcmp(a->busy[i], id) == 0)
			return i;
	return -1;
}

int
acme_busy_claim(struct acme *a, const char *id)
{
	int i, ok = 0;

	if (strlen(id) >= ACME_ID_MAX)
		return 0;
	pthread_mutex_lock(&a->bmu);
	if (busy_find(a, id) < 0)
		for (i = 0; i < ACME_BUSY_MAX; i++)
			if (!a->busy[i][0]) {
				(void)snprintf(a->busy[i], ACME_ID_MAX, "%s",
				    id);
				ok = 1;
				break;
			}
	pthread_mutex_unlock(&a->bmu);
	return ok;
}

void
acme_busy_release(struct acme *a, const char *id)
{
	int i;

	pthread_mutex_lock(&a->bmu);
	if ((i = busy_find(a, id)) >= 0)
		a->busy[i][0] = '\0';
	pthread_mutex_unlock(&a->bmu);
}

int
acme_busy(struct acme *a, const char *id)
{
	int b;

	pthread_mutex_lock(&a->bmu);
	b = busy_find(a, id) >= 0;
	pthread_mutex_unlock(&a->bmu);
	return b;
}
