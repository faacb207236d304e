/*
 * detect.c - the detector: change feed records to alerts (see alert.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../store/store.h"
#include "alert_int.h"

#define ALERT_FEED "alert"
#define ALERT_BATCH 1000

/* Records an alert if id is new (an old id: nothing). */
pca_err
alert_raise(struct alert *a, const char *id, const char *kind, json_t *detail,
    int64_t now)
{
	char *text = NULL;
	json_t *o;
	pca_err err;

	o = json_pack("{s:s,s:s,s:O,s:I,s:b,s:b}", "id", id, "kind", kind,
	    "detail", detail, "raised_at", (json_int_t)now, "delivered", 0,
	    "acknowledged", 0);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return pca_err_set(PCA_ENOMEM, "out of memory");
	}
	json_decref(o);
	err = store_kv_put(a->store, ALERT_NS, id, text, strlen(text), 1);
	free(text);
	if (err == PCA_EEXISTS) {
		pca_err_clear(); /* raised before: once per event */
		return PCA_OK;
	}
	if (err == PCA_OK) {
		log_warnx("alert %s raised", id);
		alert_count(a, kind);
	}
	return err;
}

/* Square root by Newton's method (no libm for one call). */
static double
root(double v)
{
	double r = v > 1 ? v : 1;
	int i;

	if (v <= 0)
		return 0;
	for (i = 0; i < 64; i++)
		r = (r + v / r) / 2;
	return r;
}

/* The key's window state, updated with q->n events at q->when. */
pca_err
alert_rate_note(struct alert *a, struct alert_rate *q)
{
	uint8_t *v = NULL;
	size_t len = 0, n, i;
	json_t *st = NULL, *h;
	char *text = NULL;
	double mean = 0, var = 0, x;
	int64_t w = q->when - q->when % (int64_t)a->c.window_s, last;
	pca_err err;

	err = store_kv_get(a->store, ALERT_NS_RATE, q->key, &v, &len);
	if (err == PCA_OK)
		st = json_loadb((const char *)v, len, 0, NULL);
	else if (err == PCA_ENOTFOUND)
		pca_err_clear();
	else
		return err;
	free(v);
	if (st == NULL)
		st = json_pack("{s:I,s:i,s:[]}", "win", (json_int_t)w, "count",
		    0, "hist");
	h = json_object_get(st, "hist");
	last = json_integer_value(json_object_get(st, "win"));
	if (st == NULL || !json_is_array(h)) {
		json_decref(st);
		return pca_err_set(PCA_EDB, "alert rate record of %.64s",
		    q->key);
	}
	if (w < last) /* late: joins the current window */
		w = last;
	/* close the windows between the last one and this one */
	for (; last < w && json_array_size(h) <= a->c.history + 1;
	     last += a->c.window_s) {
		(void)json_array_append_new(h,
		    json_integer(
			json_integer_value(json_object_get(st, "count"))));
		(void)json_object_set_new(st, "count", json_integer(0));
	}
	while (json_array_size(h) > a->c.history)
		(void)json_array_remove(h, 0);
	(void)json_object_set_new(st, "win", json_integer(w));
	q->count =
	    (size_t)json_integer_value(json_object_get(st, "count")) + q->n;
	(void)json_object_set_new(st, "count",
	    json_integer((json_int_t)q->count));
	n = json_array_size(h);
	for (i = 0; i < n; i++)
		mean += (double)json_integer_value(json_array_get(h, i));
	mean = n ? mean / (double)n : 0;
	for (i = 0; i < n; i++) {
		x = (double)json_integer_value(json_array_get(h, i)) - mean;
		var += x * x;
	}
	var = n ? var / (double)n : 0;
	q->thr = mean + (double)q->sigma * root(var);
	if (q->thr < (double)q->floor)
		q->thr = (double)q->floor;
	q->win = w;
	if ((text = json_dumps(st, JSON_COMPACT)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "out of memory");
	else
		err = store_kv_put(a->store, ALERT_NS_RATE, q->key, text,
		    strlen(text), 0);
	free(text);
	json_decref(st);
	return err;
}

/* One event of key at when against the rate detector's sigma and floor. */
static pca_err
rate_note(struct alert *a, const char *key, int64_t when, int64_t *win,
    size_t *count, double *threshold)
{
	struct alert_rate q = {key, when, 1, a->c.sigma, a->c.floor, 0, 0, 0};
	pca_err err = alert_rate_note(a, &q);

	*win = q.win;
	*count = q.count;
	*threshold = q.thr;
	return err;
}

static pca_err
on_issued(struct alert *a, const struct store_change *ch)
{
	struct store_cert c;
	char hex[2 * LIM_SERIAL_BYTES + 1], id[400], key[300];
	const char *who;
	json_t *d = NULL;
	double thr = 0;
	int64_t win = 0;
	size_t count = 0;
	pca_err err;

	if ((err = store_cert_get(a->store, ch->ca_id, ch->serial,
		 ch->serial_len, &c)) == PCA_ENOTFOUND) {
		pca_err_clear(); /* purged since */
		return PCA_OK;
	}
	if (err != PCA_OK)
		return err;
	who = c.requested_by[0] != '\0' ? c.requested_by : "-";
	util_hex(c.serial, c.serial_len, hex, sizeof(hex), 0);
	d = json_pack("{s:s,s:s,s:s,s:s}", "principal", who, "ca_id", c.ca_id,
	    "serial", hex, "template", c.template_name);
	if (d == NULL) {
		err = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	if (strncmp(who, "acme:", 5) == 0) /* an ACME account's order */
		(void)json_object_set_new(d, "acme_account",
		    json_string(who + 5));
	if (strstr(c.template_name, "CACertificate") != NULL) {
		(void)snprintf(id, sizeof(id), "catmpl/%s/%s", c.ca_id, hex);
		if ((err = alert_raise(a, id, "ca_template_issuance", d,
			 ch->when)) != PCA_OK)
			goto out;
	}
	(void)snprintf(key, sizeof(key), "%.128s|%.96s", who, c.template_name);
	err = store_kv_put(a->store, ALERT_NS_SEEN, key, "1", 1, 1);
	if (err == PCA_OK) {
		(void)snprintf(id, sizeof(id), "first/%s", key);
		if ((err = alert_raise(a, id, "first_template_use", d,
			 ch->when)) != PCA_OK)
			goto out;
	} else if (err == PCA_EEXISTS) {
		pca_err_clear();
	} else
		goto out;
	if ((err = rate_note(a, who, ch->when, &win, &count, &thr)) != PCA_OK)
		goto out;
	if ((double)count > thr) {
		(void)json_object_set_new(d, "window_start", json_integer(win));
		(void)json_object_set_new(d, "count",
		    json_integer((json_int_t)count));
		(void)json_object_set_new(d, "threshold", json_real(thr));
		(void)snprintf(id, sizeof(id), "rate/%.128s/%lld", who,
		    (long long)win);
		err = alert_raise(a, id, "issuance_rate", d, ch->when);
	}
out:
	json_decref(d);
	store_cert_clear(&c);
	return err;
}

/*
 * A revocation: the CA's revocations in the window against the CA's own
 * baseline (rate key "revoke/CAID"), as for issuances.  Per CA only: the
 * record does not say who revoked.
 */
static pca_err
on_revoked(struct alert *a, const struct store_change *ch)
{
	char key[64], id[128];
	json_t *d;
	double thr = 0;
	int64_t win = 0;
	size_t count = 0;
	pca_err err;

	(void)snprintf(key, sizeof(key), "revoke/%s", ch->ca_id);
	if ((err = rate_note(a, key, ch->when, &win, &count, &thr)) != PCA_OK ||
	    (double)count <= thr)
		return err;
	if ((d = json_pack("{s:s,s:I,s:I,s:f}", "ca_id", ch->ca_id,
		 "window_start", (json_int_t)win, "count", (json_int_t)count,
		 "threshold", thr)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	(void)snprintf(id, sizeof(id), "revrate/%s/%lld", ch->ca_id,
	    (long long)win);
	err = alert_raise(a, id, "revocation_burst", d, ch->when);
	json_decref(d);
	return err;
}

/* The records of one read, copied (nothing is written from inside it). */
struct feed_walk {
	struct store_change *v;
	size_t n;
};

static int
on_change(const struct store_change *ch, void *arg)
{
	struct feed_walk *w = arg;

	w->v[w->n++] = *ch;
	return 0;
}

/* Records since the follower's cursor; the cursor advances past each. */
pca_err
alert_feed_pass(struct alert *a)
{
	struct store_feed_pos pos;
	struct feed_walk w = {NULL, 0};
	uint64_t cur = 0, done;
	size_t i;
	pca_err err, e2;

	if ((err = store_feed_follow(a->store, ALERT_FEED, &cur)) != PCA_OK)
		return err;
	if ((w.v = calloc(ALERT_BATCH, sizeof(*w.v))) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	do {
		w.n = 0;
		done = cur;
		err = store_changes_after(a->store, cur, ALERT_BATCH, on_change,
		    &w, &pos);
		for (i = 0; i < w.n && err == PCA_OK; i++) {
			if (w.v[i].type == STORE_CHG_CERT_ISSUED &&
			    w.v[i].serial_len > 0)
				err = on_issued(a, &w.v[i]);
			else if (w.v[i].type == STORE_CHG_CERT_REVOKED &&
				 w.v[i].ca_id[0] != '\0')
				err = on_revoked(a, &w.v[i]);
			if (err == PCA_OK)
				done = w.v[i].seq;
		}
		if (done > cur) {
			e2 = store_feed_ack(a->store, ALERT_FEED, done);
			if (err == PCA_OK)
				err = e2;
			cur = done;
		}
		if (err == PCA_OK && pos.gap)
			log_warnx("alerts: change feed records were pruned "
				  "unread; some issuances were not judged");
	} while (err == PCA_OK && pos.more);
	free(w.v);
	return err;
}
