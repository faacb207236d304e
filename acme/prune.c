/*
 * prune.c - bounded growth of the ACME records: orders and authorizations
 * whose expiry lies more than keep seconds in the past (so every finished,
 * invalid or abandoned one, valid ones included: their certificates stay
 * reachable through "acme-cert") are deleted, and the orders leave their
 * account's list.  Accounts, EAB keys and certificate records stay.  pcad
 * runs it at most hourly (from newOrder), pcactl acme prune on demand.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../store/store.h"
#include "server_int.h"

#define PRUNE_BATCH 5000 /* records per pass and namespace */

struct old {
	int64_t before; /* expired before this */
	json_t *ids;    /* [[id, acct]] */
};

static int
old_one(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct old *o = arg;
	json_t *v = json_loadb((const char *)val, len, 0, NULL);
	json_t *e = json_object_get(v, "expires");

	if (!json_is_integer(e) || json_integer_value(e) < o->before)
		json_array_append_new(o->ids,
		    json_pack("[s,s]", key, acme_str(v, "acct")));
	json_decref(v);
	return json_array_size(o->ids) >= PRUNE_BATCH;
}

/* Removes the pruned orders from their accounts' lists. */
static void
accounts_fix(struct store *st, json_t *gone, struct acme *ac)
{
	json_t *byacct = json_object(), *pair, *l, *ol, *v;
	const char *acct;
	uint8_t *val = NULL;
	size_t i, n = 0;
	char *txt;

	json_array_foreach (gone, i, pair) {
		acct = json_string_value(json_array_get(pair, 1));
		if (acct == NULL || !*acct)
			continue;
		if ((l = json_object_get(byacct, acct)) == NULL)
			json_object_set_new(byacct, acct, l = json_object());
		json_object_set(l, json_string_value(json_array_get(pair, 0)),
		    json_true());
	}
	json_object_foreach (byacct, acct, l) {
		json_t *a = NULL;

		if (ac != NULL)
			pthread_mutex_lock(acme_acct_lock(ac, acct));
		if (store_kv_get(st, "acme-acct", acct, &val, &n) == PCA_OK)
			a = json_loadb((const char *)val, n, 0, NULL);
		free(val);
		val = NULL;
		ol = json_object_get(a, "orders");
		for (i = 0; i < json_array_size(ol);) {
			v = json_array_get(ol, i);
			if (json_object_get(l, json_string_value(v)) != NULL)
				json_array_remove(ol, i);
			else
				i++;
		}
		txt = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
		if (txt != NULL && store_kv_put(st, "acme-acct", acct, txt,
				       strlen(txt), 0) != PCA_OK)
			log_warnx("acme: prune: account %s: %s", acct,
			    pca_err_msg());
		if (ac != NULL)
			pthread_mutex_unlock(acme_acct_lock(ac, acct));
		free(txt);
		json_decref(a);
	}
	json_decref(byacct);
}

static pca_err
prune_ns(struct store *st, const char *ns, int64_t before, size_t *count,
    json_t **gone)
{
	struct old o = {before, json_array()};
	json_t *pair;
	size_t i;
	pca_err err;

	*count = 0;
	if (o.ids == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((err = store_kv_foreach(st, ns, old_one, &o)) != PCA_OK) {
		json_decref(o.ids);
		return err;
	}
	json_array_foreach (o.ids, i, pair) {
		err = store_kv_del(st, ns,
		    json_string_value(json_array_get(pair, 0)));
		if (err != PCA_OK && err != PCA_ENOTFOUND)
			break;
		err = PCA_OK;
		(*count)++;
	}
	if (gone != NULL)
		*gone = o.ids;
	else
		json_decref(o.ids);
	return err;
}

pca_err
acme_prune_store(struct store *st, int64_t now, int64_t keep_s, size_t *orders,
    size_t *authzs, struct acme *ac)
{
	json_t *gone = NULL;
	size_t no = 0, na = 0;
	pca_err err;

	if ((err = prune_ns(st, "acme-order", now - keep_s, &no, &gone)) ==
	    PCA_OK)
		err = prune_ns(st, "acme-authz", now - keep_s, &na, NULL);
	if (gone != NULL && json_array_size(gone) > 0)
		accounts_fix(st, gone, ac);
	json_decref(gone);
	if (orders != NULL)
		*orders = no;
	if (authzs != NULL)
		*authzs = na;
	return err;
}

pca_err
acme_prune(struct store *st, int64_t now, int64_t keep_s, size_t *orders,
    size_t *authzs)
{
	return acme_prune_store(st, now, keep_s, orders, authzs, NULL);
}

/* At most hourly, on the thread of a request. */
void
acme_prune_due(struct acme *a)
{
	int64_t now = util_now();
	size_t no = 0, na = 0;
	int run = 0;

	pthread_mutex_lock(&a->mu);
	if (now - a->last_prune >= 3600) {
		a->last_prune = now;
		run = 1;
	}
	pthread_mutex_unlock(&a->mu);
	if (!run)
		return;
	if (acme_prune_store(a->st, now, (int64_t)a->c.keep_days * 86400, &no,
		&na, a) != PCA_OK)
		log_warnx("acme: prune: %s", pca_err_msg());
	else if (no + na > 0)
		log_info("acme: pruned %zu orders and %zu authorizations "
			 "expired over %u days ago",
		    no, na, a->c.keep_days);
}
