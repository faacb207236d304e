/*
 * webhook.c - expiry notifications: one JSON POST per (certificate,
 * threshold), recorded in the store after a 2xx (see monitor.h for the
 * guarantee).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../common/webhook.h"
#include "../discover/disc.h"
#include "mon_int.h"

#define BACKOFF_MAX_S 3600

/* The HTTP status of a POST, 0 when there was no answer. */
static int
http_post(struct mon *m, const char *json, const char *idem)
{
	if (m->conf.post != NULL)
		return m->conf.post(m->conf.post_arg, m->url, json, idem);
	return webhook_post(m->url, json, idem, m->conf.timeout_s);
}

static void
subject_of(const uint8_t *der, size_t len, char *out, size_t n)
{
	const unsigned char *p = der;
	X509 *x = der ? d2i_X509(NULL, &p, (long)len) : NULL;

	out[0] = '\0';
	if (x != NULL)
		(void)X509_NAME_oneline(X509_get_subject_name(x), out, (int)n);
	X509_free(x);
}

int
mon_webhook_send(struct mon *m, const struct mon_due *d)
{
	char hex[2 * LIM_SERIAL_BYTES + 1], idem[128], subj[256], iso[21];
	char *body = NULL;
	json_t *o;
	int status;

	util_hex(d->serial, d->serial_len, hex, sizeof(hex), 0);
	if (d->fp != NULL)
		(void)snprintf(idem, sizeof(idem), "external/%s/%u", d->fp,
		    d->days);
	else
		(void)snprintf(idem, sizeof(idem), "%s/%s/%u", d->ca_uuid, hex,
		    d->days);
	subject_of(d->der, d->der_len, subj, sizeof(subj));
	o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "id", idem,
	    "event", "certificate.expiring", "threshold_days", (int)d->days,
	    "ca_id", d->ca_uuid, "ca_arn", d->ca_arn, "serial", hex, "subject",
	    subj, "not_after", util_iso8601(d->not_after, iso),
	    "not_after_epoch", (json_int_t)d->not_after, "seconds_left",
	    (json_int_t)(d->not_after - d->now));
	if (o != NULL && d->fp != NULL) {
		(void)json_object_set_new(o, "source", json_string("EXTERNAL"));
		(void)json_object_set_new(o, "fingerprint", json_string(d->fp));
		if (d->seen_at != NULL)
			(void)json_object_set_new(o, "seen_at",
			    json_string(d->seen_at));
	}
	if (o != NULL && d->ca_arn[0] != '\0') {
		char carn[400];
		(void)snprintf(carn, sizeof(carn), "%s/certificate/%s",
		    d->ca_arn, hex);
		(void)json_object_set_new(o, "certificate_arn",
		    json_string(carn));
	}
	if (o == NULL || (body = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return 0;
	}
	json_decref(o);
	status = http_post(m, body, idem);
	free(body);
	if (status >= 200 && status < 300)
		return 1;
	if (status != 0)
		log_warnx("webhook %s: HTTP %d for %s", m->url, status, idem);
	return 0;
}

static void
kv_key(const struct mon_due *d, unsigned days, char *out, size_t n)
{
	char hex[2 * LIM_SERIAL_BYTES + 1];

	util_hex(d->serial, d->serial_len, hex, sizeof(hex), 0);
	if (d->fp != NULL)
		(void)snprintf(out, n, "external/%s/%u", d->fp, days);
	else
		(void)snprintf(out, n, "%s/%s/%u", d->ca_uuid, hex, days);
}

static int
recorded(struct mon *m, const struct mon_due *d, unsigned days)
{
	char key[128];
	uint8_t *v = NULL;
	size_t len;
	pca_err err;

	kv_key(d, days, key, sizeof(key));
	err = store_kv_get(m->store, MON_KV_NS, key, &v, &len);
	free(v);
	if (err != PCA_OK)
		pca_err_clear();
	/* a store error counts as recorded: retried on the next pass */
	return err != PCA_ENOTFOUND;
}

static void
record(struct mon *m, const struct mon_due *d, unsigned days, const char *what)
{
	char key[128], val[64];
	pca_err err;

	kv_key(d, days, key, sizeof(key));
	(void)snprintf(val, sizeof(val), "%s %lld", what, (long long)d->now);
	err = store_kv_put(m->store, MON_KV_NS, key, val, strlen(val), 1);
	if (err != PCA_OK && err != PCA_EEXISTS)
		log_warnx("webhook: %s not recorded: %s", key, pca_err_msg());
	pca_err_clear();
}

int
mon_webhook_cert(struct mon *m, struct mon_due *d, int64_t left, int send)
{
	size_t i, k = m->conf.nthresholds;

	/* the smallest threshold crossed (thresholds ascend) */
	for (i = 0; i < m->conf.nthresholds; i++)
		if (left <= (int64_t)m->conf.thresholds[i] * MON_DAY) {
			k = i;
			break;
		}
	if (k == m->conf.nthresholds || recorded(m, d, m->conf.thresholds[k]))
		return 0;
	if (!send)
		return 2;
	d->days = m->conf.thresholds[k];
	if (!mon_webhook_send(m, d)) {
		atomic_fetch_add(&m->wh_failed, 1);
		if (m->wh_fails < 16)
			m->wh_fails++;
		left = (int64_t)m->conf.interval_s << (m->wh_fails - 1);
		m->wh_next_try =
		    d->now + (left > BACKOFF_MAX_S ? BACKOFF_MAX_S : left);
		return -1;
	}
	m->wh_fails = 0;
	m->wh_next_try = 0;
	atomic_fetch_add(&m->wh_sent, 1);
	record(m, d, d->days, "sent");
	/* larger thresholds crossed together are covered by this one */
	for (i = k + 1; i < m->conf.nthresholds; i++) {
		record(m, d, m->conf.thresholds[i], "covered");
		atomic_fetch_add(&m->wh_covered, 1);
	}
	return 1;
}

/* An external certificate due for a look, copied out of the walk (the
 * store is not written from inside its read transaction). */
struct ext_due {
	char fp[65];
	char where[DISC_HOST_MAX + 12];
	uint8_t *der;
	size_t len;
};

struct ext_pass {
	int64_t now, horizon;
	struct ext_due *v;
	size_t n;
	int oom;
};

static int64_t
ext_not_after(const uint8_t *der, size_t len)
{
	const unsigned char *q = der;
	X509 *x = d2i_X509(NULL, &q, (long)len);
	struct tm tm;
	int64_t na = 0;

	if (x != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		na = util_timegm(&tm);
	X509_free(x);
	return na;
}

static int
ext_collect(const struct disc_ext *e, void *arg)
{
	struct ext_pass *p = arg;
	int64_t na = ext_not_after(e->der, e->der_len);
	const char *w = json_string_value(json_object_get(
	    json_array_get(json_object_get(e->rec, "endpoints"), 0), "where"));
	struct ext_due *d;
	void *t;

	if (na <= p->now || na > p->horizon)
		return 0;
	if ((t = realloc(p->v, (p->n + 1) * sizeof(*p->v))) == NULL ||
	    (((struct ext_due *)t)[p->n].der = malloc(e->der_len)) == NULL) {
		if (t != NULL)
			p->v = t;
		p->oom = 1;
		return 1;
	}
	p->v = t;
	d = &p->v[p->n++];
	(void)snprintf(d->fp, sizeof(d->fp), "%s", e->fp);
	(void)snprintf(d->where, sizeof(d->where), "%s", w ? w : "");
	memcpy(d->der, e->der, e->der_len);
	d->len = e->der_len;
	return 0;
}

/* 0 nothing due, 1 sent, -1 failed, 2 due (see mon_webhook_cert). */
static int
ext_send(struct mon *m, const struct ext_due *e, int64_t now, int send)
{
	const unsigned char *q = e->der;
	X509 *x = d2i_X509(NULL, &q, (long)e->len);
	const ASN1_INTEGER *ai;
	struct mon_due d;
	int r;

	if (x == NULL)
		return 0;
	ai = X509_get0_serialNumber(x);
	memset(&d, 0, sizeof(d));
	d.ca_uuid = "external";
	d.ca_arn = "";
	d.serial = ai->data;
	d.serial_len = ai->length > 0 && ai->length <= LIM_SERIAL_BYTES
			   ? (size_t)ai->length
			   : 0;
	d.not_after = ext_not_after(e->der, e->len);
	d.now = now;
	d.der = e->der;
	d.der_len = e->len;
	d.fp = e->fp;
	d.seen_at = e->where[0] ? e->where : NULL;
	r = mon_webhook_cert(m, &d, d.not_after - now, send);
	X509_free(x);
	return r;
}

pca_err
mon_webhook_external(struct mon *m, int64_t now, int64_t horizon, int *send,
    uint64_t *pending)
{
	struct ext_pass p;
	size_t i;
	pca_err err;
	int r;

	memset(&p, 0, sizeof(p));
	p.now = now;
	p.horizon = horizon;
	err = disc_ext_foreach(m->store, ext_collect, &p);
	if (err == PCA_OK && p.oom)
		err = pca_err_set(PCA_ENOMEM, "out of memory");
	for (i = 0; i < p.n; i++) {
		if (err == PCA_OK) {
			r = ext_send(m, &p.v[i], now, *send);
			if (r < 0)
				*send = 0; /* back off: the rest waits */
			*pending += r < 0 || r == 2;
		}
		free(p.v[i].der);
	}
	free(p.v);
	return err;
}
