/*
 * alert.c - the alert thread, webhook delivery of undelivered alerts,
 * listing and acknowledging, /metrics.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../common/webhook.h"
#include "../store/store.h"
#include "alert_int.h"

static const char *const kinds[ALERT_KINDS] = {"issuance_rate",
    "first_template_use", "ca_template_issuance", "ocsp_unknown_serial",
    "ocsp_unknown_flood", "revocation_burst", "refusal_spike"};

void
alert_count(struct alert *a, const char *kind)
{
	size_t i;

	for (i = 0; i < ALERT_KINDS; i++)
		if (strcmp(kinds[i], kind) == 0)
			atomic_fetch_add(&a->raised[i], 1);
}

pca_err
alert_new(const struct alert_conf *c, struct store *st, struct alert **out)
{
	struct alert *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	a->c = *c;
	if (a->c.window_s == 0)
		a->c.window_s = 3600;
	if (a->c.history == 0)
		a->c.history = 24;
	if (a->c.history > ALERT_HISTORY_MAX)
		a->c.history = ALERT_HISTORY_MAX;
	if (a->c.sigma == 0)
		a->c.sigma = 3;
	if (a->c.floor == 0)
		a->c.floor = 10;
	if (a->c.interval_s == 0)
		a->c.interval_s = 5;
	if (a->c.timeout_s == 0)
		a->c.timeout_s = 10;
	if (a->c.unknown_per_min == 0)
		a->c.unknown_per_min = 20;
	if (a->c.refusal_sigma == 0)
		a->c.refusal_sigma = 3;
	if (a->c.refusal_floor == 0)
		a->c.refusal_floor = 10;
	if ((a->unk_q = calloc(a->c.unknown_per_min, sizeof(*a->unk_q))) ==
	    NULL) {
		free(a);
		return pca_err_set(PCA_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&a->uk, NULL);
	a->store = st;
	pthread_mutex_init(&a->lk, NULL);
	pthread_cond_init(&a->cv, NULL);
	*out = a;
	return PCA_OK;
}

/* 1 when the receiver answered 2xx. */
static int
post(struct alert *a, const char *id, const char *body)
{
	int code = webhook_post(a->c.webhook_url, body, id, a->c.timeout_s);

	if (code != 0 && (code < 200 || code >= 300))
		log_warnx("alert webhook %s: HTTP %d for %s", a->c.webhook_url,
		    code, id);
	return code >= 200 && code < 300;
}

struct due {
	char **ids;
	size_t n;
};

static int
collect_due(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct due *d = arg;
	json_t *o = json_loadb((const char *)val, len, 0, NULL);
	void *p;

	if (o != NULL && json_is_false(json_object_get(o, "delivered")) &&
	    (p = realloc(d->ids, (d->n + 1) * sizeof(*d->ids))) != NULL) {
		d->ids = p;
		if ((d->ids[d->n] = strdup(key)) != NULL)
			d->n++;
	}
	json_decref(o);
	return 0;
}

/* Rewrites alert id with field set to v (and when). */
static pca_err
alert_update(struct store *st, const char *id, const char *field, json_t *v,
    const char *extra, json_t *ev)
{
	uint8_t *val = NULL;
	size_t len;
	json_t *o = NULL;
	char *text = NULL;
	pca_err err;

	if ((err = store_kv_get(st, ALERT_NS, id, &val, &len)) != PCA_OK)
		goto out;
	if ((o = json_loadb((const char *)val, len, 0, NULL)) == NULL) {
		err = pca_err_set(PCA_EDB, "alert %.200s does not parse", id);
		goto out;
	}
	(void)json_object_set(o, field, v);
	if (extra != NULL)
		(void)json_object_set(o, extra, ev);
	if ((text = json_dumps(o, JSON_COMPACT)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "out of memory");
	else
		err = store_kv_put(st, ALERT_NS, id, text, strlen(text), 0);
out:
	free(val);
	free(text);
	json_decref(o);
	return err;
}

static void
deliver_one(struct alert *a, const char *id)
{
	uint8_t *val = NULL;
	size_t len;
	char *body = NULL;
	json_t *o = NULL, *t = json_true();

	if (store_kv_get(a->store, ALERT_NS, id, &val, &len) != PCA_OK ||
	    (o = json_loadb((const char *)val, len, 0, NULL)) == NULL) {
		pca_err_clear();
		goto out;
	}
	(void)json_object_set_new(o, "event", json_string("alert.raised"));
	(void)json_object_del(o, "delivered");
	if ((body = json_dumps(o, JSON_COMPACT)) == NULL)
		goto out;
	if (!post(a, id, body)) {
		atomic_fetch_add(&a->failed, 1);
		goto out;
	}
	atomic_fetch_add(&a->sent, 1);
	if (alert_update(a->store, id, "delivered", t, NULL, NULL) != PCA_OK) {
		log_warnx("alert %s: delivery not recorded: %s", id,
		    pca_err_msg());
		pca_err_clear();
	}
out:
	json_decref(t);
	json_decref(o);
	free(body);
	free(val);
}

static pca_err
deliver(struct alert *a)
{
	struct due d = {NULL, 0};
	size_t i;
	pca_err err;

	if (a->c.webhook_url == NULL)
		return PCA_OK;
	err = store_kv_foreach(a->store, ALERT_NS, collect_due, &d);
	for (i = 0; i < d.n; i++) {
		if (err == PCA_OK)
			deliver_one(a, d.ids[i]);
		free(d.ids[i]);
	}
	free(d.ids);
	return err;
}

pca_err
alert_pass(struct alert *a, int64_t now)
{
	pca_err err;

	if ((err = alert_feed_pass(a)) != PCA_OK ||
	    (err = alert_refusal_pass(a, now)) != PCA_OK ||
	    (err = alert_unknown_pass(a, now)) != PCA_OK)
		return err;
	return deliver(a);
}

static void *
alert_main(void *arg)
{
	struct alert *a = arg;
	struct timespec due;

	pthread_mutex_lock(&a->lk);
	while (!a->stop) {
		pthread_mutex_unlock(&a->lk);
		if (alert_pass(a, util_now()) != PCA_OK) {
			log_warnx("alerts: %s", pca_err_msg());
			pca_err_clear();
		}
		(void)clock_gettime(CLOCK_REALTIME, &due);
		due.tv_sec += (time_t)a->c.interval_s;
		pthread_mutex_lock(&a->lk);
		while (!a->stop && pthread_cond_timedwait(&a->cv, &a->lk,
				       &due) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&a->lk);
	return NULL;
}

pca_err
alert_start(struct alert *a)
{
	if (pthread_create(&a->th, NULL, alert_main, a) != 0)
		return pca_err_set(PCA_ENOMEM, "no alert thread");
	a->started = 1;
	return PCA_OK;
}

void
alert_free(struct alert *a)
{
	if (a == NULL)
		return;
	if (a->started) {
		pthread_mutex_lock(&a->lk);
		a->stop = 1;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->lk);
		(void)pthread_join(a->th, NULL);
	}
	pthread_mutex_destroy(&a->lk);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->uk);
	free(a->unk_q);
	free(a);
}

struct lst {
	json_t *items;
	size_t unacked, undelivered;
};

static int
list_add(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct lst *l = arg;
	json_t *o = json_loadb((const char *)val, len, 0, NULL);

	(void)key;
	if (o == NULL)
		return 0;
	l->unacked += !json_is_true(json_object_get(o, "acknowledged"));
	l->undelivered += json_is_false(json_object_get(o, "delivered"));
	(void)json_array_append_new(l->items, o);
	return 0;
}

static int
by_time(const void *x, const void *y)
{
	json_int_t a = json_integer_value(
	    json_object_get(*(json_t *const *)x, "raised_at"));
	json_int_t b = json_integer_value(
	    json_object_get(*(json_t *const *)y, "raised_at"));

	return a < b ? -1 : a > b;
}

static pca_err
list_walk(struct store *st, struct lst *l)
{
	memset(l, 0, sizeof(*l));
	if ((l->items = json_array()) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	return store_kv_foreach(st, ALERT_NS, list_add, l);
}

pca_err
alert_list(struct store *st, json_t **out)
{
	struct lst l;
	json_t **v, *sorted;
	size_t i, n;
	pca_err err;

	if ((err = list_walk(st, &l)) != PCA_OK) {
		json_decref(l.items);
		return err;
	}
	n = json_array_size(l.items);
	if ((v = calloc(n + 1, sizeof(*v))) == NULL ||
	    (sorted = json_array()) == NULL) {
		free(v);
		json_decref(l.items);
		return pca_err_set(PCA_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(l.items, i);
	qsort(v, n, sizeof(*v), by_time);
	for (i = 0; i < n; i++)
		(void)json_array_append(sorted, v[i]);
	free(v);
	json_decref(l.items);
	*out = sorted;
	return PCA_OK;
}

pca_err
alert_ack(struct store *st, const char *id, const char *who, int64_t now)
{
	json_t *t = json_true(),
	       *by = json_pack("{s:s,s:I}", "by", who, "at", (json_int_t)now);
	pca_err err;

	if (t == NULL || by == NULL)
		err = pca_err_set(PCA_ENOMEM, "out of memory");
	else
		err = alert_update(st, id, "acknowledged", t, "ack", by);
	json_decref(t);
	json_decref(by);
	return err;
}

pca_err
alert_metrics_render(struct alert *a, struct buf *b)
{
	struct lst l;
	size_t i;
	pca_err err;

	if ((err = list_walk(a->store, &l)) != PCA_OK)
		goto out;
	err = buf_addstr(b, "# HELP pcad_alerts_raised_total Anomaly alerts "
			    "raised by this pcad, by kind.\n"
			    "# TYPE pcad_alerts_raised_total counter\n");
	for (i = 0; i < ALERT_KINDS && err == PCA_OK; i++)
		err = buf_printf(b,
		    "pcad_alerts_raised_total{kind=\"%s\"} "
		    "%llu\n",
		    kinds[i], (unsigned long long)atomic_load(&a->raised[i]));
	if (err == PCA_OK)
		err = buf_printf(b,
		    "# HELP pcad_alerts_unacknowledged Stored alerts nobody "
		    "acknowledged.\n# TYPE pcad_alerts_unacknowledged gauge\n"
		    "pcad_alerts_unacknowledged %zu\n"
		    "# HELP pcad_alerts_undelivered Alerts the webhook has not "
		    "taken yet.\n# TYPE pcad_alerts_undelivered gauge\n"
		    "pcad_alerts_undelivered %zu\n"
		    "# HELP pcad_alert_webhook_posts_total Alert webhook POSTs "
		    "by result.\n# TYPE pcad_alert_webhook_posts_total "
		    "counter\n"
		    "pcad_alert_webhook_posts_total{result=\"ok\"} %llu\n"
		    "pcad_alert_webhook_posts_total{result=\"failed\"} %llu\n",
		    l.unacked, l.undelivered,
		    (unsigned long long)atomic_load(&a->sent),
		    (unsigned long long)atomic_load(&a->failed));
out:
	json_decref(l.items);
	return err;
}
