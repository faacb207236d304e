/*
 * refusal.c - refused requests (issuance policy, lint gate, IAM denials)
 * counted in memory per (principal, rule, rate window), flushed as one store
 * record per flush, and the "refusal_spike" detector that reads those records
 * (see alert.h).
 *
 * Why not one durable record per refusal: a refusal is cheap for the caller
 * to provoke (a CSR the policy refuses costs the attacker nothing), so a
 * commit per refusal would let anyone with a key turn requests into fsyncs.
 * Here a refusal costs a mutex and a counter; the store sees one commit per
 * flush (the alert pass, every interval_s, or the end of a pcactl command),
 * whatever the number of refusals.  The table is bounded (ALERT_REF_SLOTS
 * distinct (principal, rule, window) entries between flushes); a refusal
 * that finds it full is counted as "dropped", stored with the next flush and
 * logged there once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../store/store.h"
#include "alert_int.h"

#define REF_WHO_MAX 90  /* bytes of a principal kept */
#define REF_RULE_MAX 72 /* bytes of a rule kept */
#define REF_BATCH 64    /* records read per pass at most */

struct ref_ent {
	char who[REF_WHO_MAX + 1];
	char rule[REF_RULE_MAX + 1];
	int64_t win;
	uint64_t n;
};

struct alert_refusals {
	struct store *store;
	unsigned window_s;
	pthread_mutex_t lk; /* the fields below */
	struct ref_ent ent[ALERT_REF_SLOTS];
	size_t nent;
	uint64_t dropped;
	unsigned seq; /* records flushed by this process */
};

pca_err
alert_refusals_new(struct store *st, unsigned window_s,
    struct alert_refusals **out)
{
	struct alert_refusals *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	r->store = st;
	r->window_s = window_s ? window_s : 3600;
	pthread_mutex_init(&r->lk, NULL);
	*out = r;
	return PCA_OK;
}

void
alert_refusals_free(struct alert_refusals *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lk);
	free(r);
}

/* Printable label bytes only: a principal or rule goes into keys. */
static void
label(char *dst, size_t n, const char *s)
{
	size_t j = 0;

	for (; s != NULL && *s != '\0' && j + 1 < n; s++)
		dst[j++] = (*s > ' ' && *s < 0x7f && *s != '/' && *s != '|')
			       ? *s
			       : '_';
	dst[j] = '\0';
	if (j == 0)
		(void)snprintf(dst, n, "-");
}

/* Adds n refusals of (who, rule) in window win; r->lk held. */
static void
add(struct alert_refusals *r, const char *who, const char *rule, int64_t win,
    uint64_t n)
{
	size_t i;

	for (i = 0; i < r->nent; i++)
		if (r->ent[i].win == win && strcmp(r->ent[i].who, who) == 0 &&
		    strcmp(r->ent[i].rule, rule) == 0)
			break;
	if (i == r->nent) {
		if (r->nent == ALERT_REF_SLOTS) {
			r->dropped += n;
			return;
		}
		memcpy(r->ent[i].who, who, sizeof(r->ent[i].who));
		memcpy(r->ent[i].rule, rule, sizeof(r->ent[i].rule));
		r->ent[i].win = win;
		r->ent[i].n = 0;
		r->nent++;
	}
	r->ent[i].n += n;
}

void
alert_refusal_note(struct alert_refusals *r, const char *who, const char *rule,
    int64_t now)
{
	char w[REF_WHO_MAX + 1], ru[REF_RULE_MAX + 1];

	if (r == NULL)
		return;
	label(w, sizeof(w), who);
	label(ru, sizeof(ru), rule);
	pthread_mutex_lock(&r->lk);
	add(r, w, ru, now - now % (int64_t)r->window_s, 1);
	pthread_mutex_unlock(&r->lk);
}

/* The entries as the record's JSON text (caller frees). */
static char *
ref_text(const struct ref_ent *v, size_t n, uint64_t dropped, int64_t now)
{
	json_t *o = json_pack("{s:I,s:I,s:[]}", "at", (json_int_t)now,
	    "dropped", (json_int_t)dropped, "e");
	json_t *e = json_object_get(o, "e");
	char *text = NULL;
	size_t i;

	for (i = 0; e != NULL && i < n; i++)
		if (json_array_append_new(e,
			json_pack("[s,s,I,I]", v[i].who, v[i].rule,
			    (json_int_t)v[i].win, (json_int_t)v[i].n)) != 0)
			goto out;
	if (e != NULL)
		text = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	return text;
}

pca_err
alert_refusals_flush(struct alert_refusals *r, int64_t now)
{
	struct ref_ent *v = NULL;
	char key[64], *text = NULL;
	uint64_t dropped;
	size_t n, i;
	pca_err err = PCA_OK;

	if (r == NULL)
		return PCA_OK;
	if ((v = malloc(sizeof(r->ent))) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	pthread_mutex_lock(&r->lk);
	n = r->nent;
	dropped = r->dropped;
	memcpy(v, r->ent, n * sizeof(*v));
	r->nent = 0;
	r->dropped = 0;
	(void)snprintf(key, sizeof(key), "%016llx.%08x.%08x",
	    (unsigned long long)now, (unsigned)getpid(), r->seq++);
	pthread_mutex_unlock(&r->lk);
	if (n == 0 && dropped == 0)
		goto out;
	if (dropped > 0)
		log_warnx("alerts: %llu refusals over the table's %d entries "
			  "were only counted",
		    (unsigned long long)dropped, ALERT_REF_SLOTS);
	if ((text = ref_text(v, n, dropped, now)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "out of memory");
	else
		err = store_kv_put(r->store, ALERT_NS_REFUSALS, key, text,
		    strlen(text), 1);
	if (err != PCA_OK) { /* kept for the next flush */
		pthread_mutex_lock(&r->lk);
		for (i = 0; i < n; i++)
			add(r, v[i].who, v[i].rule, v[i].win, v[i].n);
		r->dropped += dropped;
		pthread_mutex_unlock(&r->lk);
	}
out:
	free(text);
	free(v);
	return err;
}

/* ---- the detector ---- */

/* One (principal, rule, window) count of a record. */
static pca_err
judge(struct alert *a, const char *who, const char *rule, int64_t win,
    uint64_t n, int64_t now)
{
	struct alert_rate q;
	char key[200], id[200];
	json_t *d;
	pca_err err;

	(void)snprintf(key, sizeof(key), "refuse/%.*s|%.*s", REF_WHO_MAX, who,
	    REF_RULE_MAX, rule);
	memset(&q, 0, sizeof(q));
	q.key = key;
	q.when = win;
	q.n = (size_t)n;
	q.sigma = a->c.refusal_sigma;
	q.floor = a->c.refusal_floor;
	if ((err = alert_rate_note(a, &q)) != PCA_OK ||
	    (double)q.count <= q.thr)
		return err;
	if ((d = json_pack("{s:s,s:s,s:I,s:I,s:f}", "principal", who, "rule",
		 rule, "window_start", (json_int_t)q.win, "count",
		 (json_int_t)q.count, "threshold", q.thr)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	(void)snprintf(id, sizeof(id), "refrate/%.*s|%.*s/%lld", REF_WHO_MAX,
	    who, REF_RULE_MAX, rule, (long long)q.win);
	err = alert_raise(a, id, "refusal_spike", d, now);
	json_decref(d);
	return err;
}

/*
 * One record: each count judged, then the record deleted.  A crash between
 * the two counts the record again on the next start: the window's alert id
 * is the same, so no alert is raised twice.
 */
static pca_err
ref_record(struct alert *a, const char *key, const char *text, int64_t now)
{
	json_t *o = json_loads(text, 0, NULL), *e, *x;
	size_t i;
	pca_err err = PCA_OK;

	e = json_object_get(o, "e");
	json_array_foreach (e, i, x) {
		const char *who = json_string_value(json_array_get(x, 0)),
			   *rule = json_string_value(json_array_get(x, 1));
		json_int_t win = json_integer_value(json_array_get(x, 2)),
			   n = json_integer_value(json_array_get(x, 3));

		if (who == NULL || rule == NULL || n <= 0 || win < 0)
			continue;
		if ((err = judge(a, who, rule, win, (uint64_t)n, now)) !=
		    PCA_OK)
			break;
	}
	if (o == NULL || !json_is_array(e))
		log_warnx("alerts: refusal record %s does not parse; dropped",
		    key);
	json_decref(o);
	if (err == PCA_OK)
		err = store_kv_del(a->store, ALERT_NS_REFUSALS, key);
	if (err == PCA_ENOTFOUND) { /* a concurrent pass took it */
		pca_err_clear();
		err = PCA_OK;
	}
	return err;
}

struct ref_walk {
	char *key[REF_BATCH];
	char *text[REF_BATCH];
	size_t n;
};

static int
ref_collect(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct ref_walk *w = arg;
	char *k = strdup(key), *t = malloc(len + 1);

	if (k == NULL || t == NULL) {
		free(k);
		free(t);
		return 1;
	}
	memcpy(t, val, len);
	t[len] = '\0';
	w->key[w->n] = k;
	w->text[w->n++] = t;
	return w->n == REF_BATCH;
}

pca_err
alert_refusal_pass(struct alert *a, int64_t now)
{
	struct ref_walk w;
	size_t i;
	pca_err err;

	if ((err = alert_refusals_flush(a->c.refusals, now)) != PCA_OK) {
		log_warnx("alerts: refusals not recorded: %s", pca_err_msg());
		pca_err_clear();
	}
	do {
		memset(&w, 0, sizeof(w));
		err = store_kv_foreach(a->store, ALERT_NS_REFUSALS, ref_collect,
		    &w);
		for (i = 0; i < w.n; i++) {
			if (err == PCA_OK)
				err = ref_record(a, w.key[i], w.text[i], now);
			free(w.key[i]);
			free(w.text[i]);
		}
	} while (err == PCA_OK && w.n == REF_BATCH);
	return err;
}
