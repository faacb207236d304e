/*
 * monitor.c - counters behind /metrics, kept current without walking the
 * store on a scrape, and the background pass (recount, expiry scan,
 * webhook, token health).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/x509.h>

#include "../ca/ca.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "mon_int.h"

static const double lat_bounds[MON_LAT_BUCKETS - 1] = {0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};

pca_err
mon_thresholds_parse(const char *s, struct mon_conf *c)
{
	long long v;
	char tok[16];
	size_t n = 0, len;
	pca_err err;

	while (*s != '\0') {
		len = strcspn(s, ",");
		if (len == 0 || len >= sizeof(tok) || n == MON_THRESHOLDS_MAX)
			return pca_err_set(PCA_EINVAL,
			    "thresholds_days: "
			    "expected up to %d numbers of days separated by "
			    "commas",
			    MON_THRESHOLDS_MAX);
		memcpy(tok, s, len);
		tok[len] = '\0';
		if ((err = util_strtonum(tok, 1, 3650, &v)) != PCA_OK)
			return pca_err_set(PCA_EINVAL,
			    "thresholds_days: '%s' "
			    "is not a number of days (1..3650)",
			    tok);
		c->thresholds[n++] = (unsigned)v;
		s += len;
		if (*s == ',')
			s++;
	}
	if (n == 0)
		return pca_err_set(PCA_EINVAL, "thresholds_days is empty");
	c->nthresholds = n;
	return PCA_OK;
}

static int
cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/*
 * Timeouts on the monotonic clock: a wall clock step cannot stretch them
 * (should that clock be refused, the wall clock it is).
 */
static void
mon_cond_init(struct mon *m)
{
	pthread_condattr_t a;

	m->cv_clock = CLOCK_MONOTONIC;
	if (pthread_condattr_init(&a) != 0) {
		m->cv_clock = CLOCK_REALTIME;
		pthread_cond_init(&m->stop_cv, NULL);
		return;
	}
	if (pthread_condattr_setclock(&a, CLOCK_MONOTONIC) != 0)
		m->cv_clock = CLOCK_REALTIME;
	pthread_cond_init(&m->stop_cv, &a);
	(void)pthread_condattr_destroy(&a);
}

pca_err
mon_new(const struct mon_conf *c, struct store *store, struct mon **out)
{
	static const unsigned def[] = {30, 7, 1};
	struct mon *m;
	size_t i;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	m->conf = *c;
	if (m->conf.nthresholds == 0) {
		for (i = 0; i < 3; i++)
			m->conf.thresholds[i] = def[i];
		m->conf.nthresholds = 3;
	}
	qsort(m->conf.thresholds, m->conf.nthresholds, sizeof(unsigned),
	    cmp_uint);
	if (m->conf.interval_s == 0)
		m->conf.interval_s = 60;
	if (m->conf.timeout_s == 0)
		m->conf.timeout_s = 10;
	if (m->conf.recount_s == 0)
		m->conf.recount_s = 900;
	if (c->webhook_url != NULL &&
	    (m->url = strdup(c->webhook_url)) == NULL) {
		free(m);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	m->conf.webhook_url = m->url;
	if (m->url != NULL && m->conf.post == NULL &&
	    curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(m->url);
		free(m);
		return pca_err_set(PCA_EINTERNAL, "curl_global_init failed");
	}
	m->store = store;
	m->hsm_ok = -1;
	pthread_mutex_init(&m->lk, NULL);
	pthread_mutex_init(&m->cnt_lk, NULL);
	pthread_mutex_init(&m->feed_lk, NULL);
	pthread_mutex_init(&m->stop_lk, NULL);
	mon_cond_init(m);
	*out = m;
	return PCA_OK;
}

void
mon_free(struct mon *m)
{
	if (m == NULL)
		return;
	if (m->running) {
		pthread_mutex_lock(&m->stop_lk);
		m->stop = 1;
		pthread_cond_signal(&m->stop_cv);
		pthread_mutex_unlock(&m->stop_lk);
		pthread_join(m->thread, NULL);
	}
	pthread_mutex_destroy(&m->lk);
	pthread_mutex_destroy(&m->cnt_lk);
	pthread_mutex_destroy(&m->feed_lk);
	pthread_mutex_destroy(&m->stop_lk);
	pthread_cond_destroy(&m->stop_cv);
	free(m->cas);
	free(m->url);
	free(m);
}

void
mon_attach(struct mon *m, struct ca_engine *e, const struct pol_set *ps)
{
	pthread_mutex_lock(&m->lk);
	m->engine = e;
	m->policies = ps;
	pthread_mutex_unlock(&m->lk);
}

struct mon_ca *
mon_ca_get(struct mon *m, const char *uuid)
{
	struct mon_ca *n;
	size_t i;

	for (i = 0; i < m->ncas; i++)
		if (strcmp(m->cas[i].uuid, uuid) == 0)
			return &m->cas[i];
	if (m->ncas == MON_CAS_MAX ||
	    (n = realloc(m->cas, (m->ncas + 1) * sizeof(*n))) == NULL)
		return NULL;
	m->cas = n;
	n = &m->cas[m->ncas++];
	memset(n, 0, sizeof(*n));
	(void)snprintf(n->uuid, sizeof(n->uuid), "%s", uuid);
	return n;
}

/*
 * Engine events: on the issuing thread, so only the latency histogram
 * (the counts follow the store's change feed: follow.c).
 */
static void
on_event(const struct ca_event *ev, void *arg)
{
	struct mon *m = arg;
	size_t b;

	if (ev->type != CA_EV_ISSUED)
		return;
	for (b = 0; b < MON_LAT_BUCKETS - 1 && ev->seconds > lat_bounds[b]; b++)
		;
	atomic_fetch_add(&m->lat[b], 1);
	atomic_fetch_add(&m->lat_sum_us, (uint64_t)(ev->seconds * 1e6 + 0.5));
}

pca_err
mon_listen(struct mon *m, struct ca_engine *e)
{
	return ca_engine_listen(e, on_event, m);
}

/* ---- policy refusals ---- */

static void
label_copy(char *dst, size_t n, const char *s, size_t len)
{
	size_t i, j = 0;

	for (i = 0; i < len && j + 1 < n; i++) {
		char ch = s[i];
		dst[j++] = (ch >= 'a' && ch <= 'z') ||
				   (ch >= 'A' && ch <= 'Z') ||
				   (ch >= '0' && ch <= '9') || ch == '_' ||
				   ch == '.' || ch == '-'
			       ? ch
			       : '_';
	}
	dst[j] = '\0';
}

void
mon_refusal_note(struct mon *m, const char *msg)
{
	char pol[64], rule[48];
	const char *p, *r;
	size_t i;

	if (m == NULL || msg == NULL || (p = strstr(msg, "policy ")) == NULL ||
	    (r = strstr(p, ": rule ")) == NULL)
		return;
	p += 7;
	label_copy(pol, sizeof(pol), p, (size_t)(r - p));
	r += 7;
	label_copy(rule, sizeof(rule), r, strcspn(r, ":"));
	pthread_mutex_lock(&m->cnt_lk);
	for (i = 0; i < m->nrules; i++)
		if (!strcmp(m->rules[i].policy, pol) &&
		    !strcmp(m->rules[i].rule, rule))
			break;
	if (i == m->nrules && m->nrules < MON_RULES_MAX) {
		memcpy(m->rules[i].policy, pol, sizeof(pol));
		memcpy(m->rules[i].rule, rule, sizeof(rule));
		m->rules[i].n = 0;
		m->nrules++;
	}
	if (i < m->nrules)
		m->rules[i].n++;
	else
		m->rules_dropped++;
	pthread_mutex_unlock(&m->cnt_lk);
}

/* ---- the full recount ---- */

struct revset {
	uint8_t (*s)[LIM_SERIAL_BYTES + 1]; /* [0] = length */
	size_t n, cap;
};

static int
rev_add(const uint8_t *serial, size_t len, int64_t when, int reason, void *arg)
{
	struct revset *r = arg;
	void *p;

	(void)when;
	(void)reason;
	if (len > LIM_SERIAL_BYTES)
		return 0;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		if ((p = realloc(r->s, r->cap * sizeof(*r->s))) == NULL)
			return 1;
		r->s = p;
	}
	memset(r->s[r->n], 0, sizeof(r->s[0]));
	r->s[r->n][0] = (uint8_t)len;
	memcpy(&r->s[r->n][1], serial, len);
	r->n++;
	return 0;
}

static int
rev_cmp(const void *a, const void *b)
{
	return memcmp(a, b, LIM_SERIAL_BYTES + 1);
}

struct recount {
	struct mon_ca c;
	struct revset rev;
	int64_t now;
};

static int
count_cert(const struct store_cert *sc, void *arg)
{
	struct recount *rc = arg;
	uint8_t key[LIM_SERIAL_BYTES + 1];

	if (sc->state != STORE_CERT_ISSUED) {
		rc->c.pending++;
		return 0;
	}
	memset(key, 0, sizeof(key));
	key[0] = (uint8_t)sc->serial_len;
	memcpy(key + 1, sc->serial, sc->serial_len);
	if (rc->rev.n &&
	    bsearch(key, rc->rev.s, rc->rev.n, sizeof(key), rev_cmp) != NULL)
		rc->c.revoked++;
	else if (sc->not_after <= rc->now)
		rc->c.expired++;
	else
		rc->c.active++;
	return 0;
}

static pca_err
recount_ca(struct mon *m, const char *uuid, int64_t now, struct mon_ca *out)
{
	struct recount rc;
	pca_err err;

	memset(&rc, 0, sizeof(rc));
	rc.now = now;
	if ((err = store_revoked_foreach(m->store, uuid, rev_add, &rc.rev)) ==
	    PCA_OK) {
		if (rc.rev.n)
			qsort(rc.rev.s, rc.rev.n, sizeof(rc.rev.s[0]), rev_cmp);
		err = store_cert_foreach(m->store, uuid, count_cert, &rc);
	}
	free(rc.rev.s);
	if (err == PCA_OK) {
		out->active = rc.c.active;
		out->expired = rc.c.expired;
		out->revoked = rc.c.revoked;
		out->pending = rc.c.pending;
	}
	return err;
}

/* ---- the pass ---- */

struct ent {
	char ca[37];
	uint8_t serial[LIM_SERIAL_BYTES];
	size_t serial_len;
	int64_t not_after;
};

/*
 * A walk of the expiry index over [from, to), MON_CHUNK entries at a time
 * (at most MON_SCAN_MAX in all), so memory does not grow with the number of
 * certificates in the window.  A chunk resumes at the last entry's notAfter
 * and skips what it already delivered (index order: notAfter, CA, serial).
 */
#define MON_CHUNK 4096

struct ents {
	struct ent *e; /* MON_CHUNK */
	size_t n, total;
	int64_t from, to;
	int have_last, done;
	struct ent last;
};

static int
ent_cmp_last(const struct ents *l, const char *ca, const uint8_t *serial,
    size_t len)
{
	int c = strcmp(ca, l->last.ca);
	size_t m = len < l->last.serial_len ? len : l->last.serial_len;

	if (c == 0 && (c = memcmp(serial, l->last.serial, m)) == 0)
		c = (len > l->last.serial_len) - (len < l->last.serial_len);
	return c;
}

static int
ent_add(const char *ca, const uint8_t *serial, size_t len, int64_t na,
    void *arg)
{
	struct ents *l = arg;

	if (len > LIM_SERIAL_BYTES)
		return 0;
	if (l->have_last && na == l->last.not_after &&
	    ent_cmp_last(l, ca, serial, len) <= 0)
		return 0; /* delivered by the previous chunk */
	(void)snprintf(l->e[l->n].ca, 37, "%s", ca);
	memcpy(l->e[l->n].serial, serial, len);
	l->e[l->n].serial_len = len;
	l->e[l->n].not_after = na;
	return ++l->n == MON_CHUNK;
}

static pca_err
ents_init(struct ents *l, int64_t from, int64_t to)
{
	memset(l, 0, sizeof(*l));
	l->from = from;
	l->to = to;
	if ((l->e = malloc(MON_CHUNK * sizeof(*l->e))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	return PCA_OK;
}

/* The next chunk into l->e[0..n); 0 at the end (or on error: *err). */
static int
ents_next(struct mon *m, struct ents *l, pca_err *err)
{
	*err = PCA_OK;
	if (l->done || l->from >= l->to)
		return 0;
	l->n = 0;
	if ((*err = store_expiry_foreach(m->store, l->from, l->to, ent_add,
		 l)) != PCA_OK)
		return 0;
	l->total += l->n;
	if (l->n < MON_CHUNK || l->total >= MON_SCAN_MAX)
		l->done = 1;
	else {
		l->last = l->e[l->n - 1];
		l->have_last = 1;
		l->from = l->last.not_after;
	}
	return l->n > 0;
}

int
mon_cert_is_responder(const struct store_cert *sc)
{
	static const char tmpl[] = "OCSPSigningCertificate_APIPassthrough/";

	return strncmp(sc->template_name, tmpl, sizeof(tmpl) - 1) == 0 &&
	       strcmp(sc->requested_by, "ocsp-responder") == 0;
}

/* The issued, unrevoked record of e in *sc, else 0. */
static int
live_get(struct mon *m, const struct ent *e, struct store_cert *sc)
{
	memset(sc, 0, sizeof(*sc));
	if (store_cert_get(m->store, e->ca, e->serial, e->serial_len, sc) !=
	    PCA_OK) {
		pca_err_clear();
		return 0;
	}
	if (sc->state == STORE_CERT_ISSUED && !sc->revoked)
		return 1;
	store_cert_clear(sc);
	return 0;
}

/* Certificates that expired since the last pass leave "active". */
static void
pass_expired(struct mon *m, int64_t from, int64_t now)
{
	struct ents l;
	struct store_cert sc;
	struct mon_ca *c;
	size_t i;
	pca_err err;

	if (from >= now || ents_init(&l, from, now) != PCA_OK) {
		pca_err_clear();
		return;
	}
	while (ents_next(m, &l, &err))
		for (i = 0; i < l.n; i++) {
			if (!live_get(m, &l.e[i], &sc))
				continue;
			store_cert_clear(&sc);
			pthread_mutex_lock(&m->cnt_lk);
			if ((c = mon_ca_get(m, l.e[i].ca)) != NULL &&
			    c->active > 0) {
				c->active--;
				c->expired++;
			}
			pthread_mutex_unlock(&m->cnt_lk);
		}
	if (err != PCA_OK)
		pca_err_clear();
	free(l.e);
}

static int64_t
cert_not_after(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	struct tm tm;
	int64_t t = 0;

	if (x != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		t = util_timegm(&tm);
	X509_free(x);
	return t;
}

/* CAs: their certificate's expiry, and a recount when due. */
static pca_err
pass_cas(struct mon *m, int64_t now, int recount)
{
	char(*ids)[37] = NULL;
	struct ca_info ci;
	struct mon_ca mc, *c;
	size_t n = 0, i;
	pca_err err;

	if (m->engine == NULL)
		return PCA_OK;
	if ((err = ca_info_ids(m->engine, &ids, &n)) != PCA_OK)
		return err;
	for (i = 0; i < n && err == PCA_OK; i++) {
		memset(&mc, 0, sizeof(mc));
		if (ca_info_get(m->engine, ids[i], &ci) == PCA_OK) {
			if (ci.cert_der != NULL)
				mc.ca_not_after =
				    cert_not_after(ci.cert_der, ci.cert_len);
			ca_info_clear(&ci);
		}
		if (recount)
			err = recount_ca(m, ids[i], now, &mc);
		pthread_mutex_lock(&m->cnt_lk);
		if ((c = mon_ca_get(m, ids[i])) != NULL) {
			c->ca_not_after = mc.ca_not_after;
			if (recount) {
				c->active = mc.active;
				c->expired = mc.expired;
				c->revoked = mc.revoked;
				c->pending = mc.pending;
			}
		}
		pthread_mutex_unlock(&m->cnt_lk);
	}
	free(ids);
	return err;
}

/*
 * A recount at a feed position: the counts are those of the store at feed
 * record h, taken again when records were appended while counting (at most
 * twice; a third count stands, and the next recount corrects it).
 */
static pca_err
pass_recount(struct mon *m, int64_t now)
{
	uint64_t h = 0, h2 = 0;
	pca_err err;
	int tries;

	pthread_mutex_lock(&m->feed_lk);
	for (tries = 0; tries < 3; tries++) {
		if ((err = mon_feed_head(m, &h)) != PCA_OK ||
		    (err = pass_cas(m, now, 1)) != PCA_OK ||
		    (err = mon_feed_head(m, &h2)) != PCA_OK || h2 == h)
			break;
	}
	if (err == PCA_OK) {
		m->feed_seq = h2;
		m->feed_on = 1;
	}
	pthread_mutex_unlock(&m->feed_lk);
	return err;
}

static const char *
ca_arn_of(struct mon *m, const char *uuid, char *buf, size_t n)
{
	struct ca_info ci;

	buf[0] = '\0';
	if (m->engine != NULL && ca_info_get(m->engine, uuid, &ci) == PCA_OK) {
		(void)snprintf(buf, n, "%s", ci.arn);
		ca_info_clear(&ci);
	} else {
		pca_err_clear();
	}
	return buf;
}

/* Expiring within 7/30 days, and the webhook, over the window. */
static pca_err
pass_window(struct mon *m, int64_t now)
{
	unsigned maxd = m->conf.thresholds[m->conf.nthresholds - 1];
	int64_t horizon = now + (int64_t)(maxd > 30 ? maxd : 30) * MON_DAY;
	struct ents l;
	struct store_cert sc;
	struct mon_ca *c;
	char arn[256];
	uint64_t pending = 0;
	int send = m->url != NULL && now >= m->wh_next_try, r;
	size_t i;
	pca_err err;

	if ((err = ents_init(&l, now, horizon)) != PCA_OK)
		return err;
	pthread_mutex_lock(&m->cnt_lk);
	for (i = 0; i < m->ncas; i++)
		m->cas[i].exp7 = m->cas[i].exp30 = m->cas[i].rsp7 =
		    m->cas[i].rsp30 = 0;
	pthread_mutex_unlock(&m->cnt_lk);
	while (ents_next(m, &l, &err))
		for (i = 0; i < l.n; i++) {
			int64_t left = l.e[i].not_after - now;
			struct mon_due d;
			int rsp;

			if (left <= 0 || !live_get(m, &l.e[i], &sc))
				continue;
			rsp = mon_cert_is_responder(&sc);
			pthread_mutex_lock(&m->cnt_lk);
			if ((c = mon_ca_get(m, l.e[i].ca)) != NULL && rsp) {
				c->rsp7 += left <= 7 * MON_DAY;
				c->rsp30 += left <= 30 * MON_DAY;
			} else if (c != NULL) {
				c->exp7 += left <= 7 * MON_DAY;
				c->exp30 += left <= 30 * MON_DAY;
			}
			pthread_mutex_unlock(&m->cnt_lk);
			if (m->url != NULL && !rsp) {
				d = (struct mon_due){l.e[i].ca,
				    ca_arn_of(m, l.e[i].ca, arn, sizeof(arn)),
				    l.e[i].serial, l.e[i].serial_len,
				    l.e[i].not_after, now, 0, sc.der,
				    sc.der_len, NULL, NULL};
				r = mon_webhook_cert(m, &d, left, send);
				if (r < 0)
					send = 0; /* back off: the rest waits */
				pending += r < 0 || r == 2;
			}
			store_cert_clear(&sc);
		}
	if (err == PCA_OK && m->url != NULL)
		err = mon_webhook_external(m, now, horizon, &send, &pending);
	atomic_store(&m->wh_pending, pending);
	free(l.e);
	return err;
}

pca_err
mon_pass(struct mon *m, int64_t now)
{
	int recount;
	pca_err err;

	if (m->conf.health != NULL) {
		atomic_store(&m->hsm_ok,
		    m->conf.health(m->conf.health_arg) == PCA_OK);
		atomic_store(&m->hsm_checked, now);
		pca_err_clear();
	}
	pthread_mutex_lock(&m->lk);
	recount = m->last_recount == 0 ||
		  now - m->last_recount >= (int64_t)m->conf.recount_s ||
		  now < m->last_pass || /* the clock stepped back */
		  !mon_feed_apply(m, now, 1);
	if (!recount)
		pass_expired(m, m->last_pass, now);
	err = recount ? pass_recount(m, now) : pass_cas(m, now, 0);
	if (err == PCA_OK)
		err = pass_window(m, now);
	pthread_mutex_unlock(&m->lk);
	if (err == PCA_OK && recount)
		m->last_recount = now;
	m->last_pass = now;
	return err;
}

static void *
mon_main(void *arg)
{
	struct mon *m = arg;
	struct timespec ts;
	struct timespec t0, t1;
	int64_t wait_s;

	pthread_mutex_lock(&m->stop_lk);
	while (!m->stop) {
		pthread_mutex_unlock(&m->stop_lk);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (mon_pass(m, util_now()) != PCA_OK)
			log_warnx("monitor: %s", pca_err_msg());
		clock_gettime(CLOCK_MONOTONIC, &t1);
		pthread_mutex_lock(&m->cnt_lk);
		m->pass_dur = (double)(t1.tv_sec - t0.tv_sec) +
			      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		pthread_mutex_unlock(&m->cnt_lk);
		wait_s = m->conf.interval_s;
		if (m->wh_next_try > util_now() &&
		    m->wh_next_try - util_now() < wait_s)
			wait_s = m->wh_next_try - util_now();
		clock_gettime(m->cv_clock, &ts);
		ts.tv_sec += wait_s;
		pthread_mutex_lock(&m->stop_lk);
		while (!m->stop && pthread_cond_timedwait(&m->stop_cv,
				       &m->stop_lk, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&m->stop_lk);
	return NULL;
}

pca_err
mon_start(struct mon *m)
{
	if (pthread_create(&m->thread, NULL, mon_main, m) != 0)
		return pca_err_set(PCA_EINTERNAL, "monitor thread not started");
	m->running = 1;
	return PCA_OK;
}

/* ---- /metrics ---- */

static pca_err
render_cas(struct mon *m, struct buf *b, int64_t now)
{
	static const char *const st[] = {"active", "expired", "revoked",
	    "pending"};
	size_t i, k;
	pca_err err;

	err = buf_addstr(b, "# HELP pcad_certificates Certificates by CA and "
			    "status.\n# TYPE pcad_certificates gauge\n");
	for (i = 0; i < m->ncas && err == PCA_OK; i++) {
		const struct mon_ca *c = &m->cas[i];
		int64_t v[4] = {c->active, c->expired, c->revoked, c->pending};
		for (k = 0; k < 4 && err == PCA_OK; k++)
			err = buf_printf(b,
			    "pcad_certificates{ca=\"%s\","
			    "status=\"%s\"} %lld\n",
			    c->uuid, st[k], (long long)v[k]);
	}
	if (err == PCA_OK)
		err =
		    buf_addstr(b, "# HELP pcad_certificates_expiring Live "
				  "certificates expiring within the window.\n"
				  "# TYPE pcad_certificates_expiring gauge\n");
	for (i = 0; i < m->ncas && err == PCA_OK; i++)
		err = buf_printf(b,
		    "pcad_certificates_expiring{ca=\"%s\",within=\"7d\"} %lld\n"
		    "pcad_certificates_expiring{ca=\"%s\",within=\"30d\"} "
		    "%lld\n",
		    m->cas[i].uuid, (long long)m->cas[i].exp7, m->cas[i].uuid,
		    (long long)m->cas[i].exp30);
	if (err == PCA_OK)
		err = buf_addstr(b,
		    "# HELP pcad_ocsp_responder_certificates_"
		    "expiring Delegated OCSP responder certificates (rolled "
		    "over automatically) expiring within the window.\n"
		    "# TYPE pcad_ocsp_responder_certificates_expiring gauge\n");
	for (i = 0; i < m->ncas && err == PCA_OK; i++)
		err = buf_printf(b,
		    "pcad_ocsp_responder_certificates_expiring{ca=\"%s\","
		    "within=\"7d\"} %lld\n"
		    "pcad_ocsp_responder_certificates_expiring{ca=\"%s\","
		    "within=\"30d\"} %lld\n",
		    m->cas[i].uuid, (long long)m->cas[i].rsp7, m->cas[i].uuid,
		    (long long)m->cas[i].rsp30);
	if (err == PCA_OK)
		err = buf_addstr(b,
		    "# HELP pcad_ca_certificate_expiry_seconds "
		    "Seconds until the CA certificate expires.\n"
		    "# TYPE pcad_ca_certificate_expiry_seconds gauge\n");
	for (i = 0; i < m->ncas && err == PCA_OK; i++)
		if (m->cas[i].ca_not_after != 0)
			err = buf_printf(b,
			    "pcad_ca_certificate_expiry_seconds{ca=\"%s\"} "
			    "%lld\n",
			    m->cas[i].uuid,
			    (long long)(m->cas[i].ca_not_after - now));
	if (err == PCA_OK)
		err = buf_addstr(b,
		    "# HELP pcad_ca_certificate_not_after_"
		    "timestamp_seconds notAfter of the CA certificate.\n"
		    "# TYPE pcad_ca_certificate_not_after_timestamp_seconds "
		    "gauge\n");
	for (i = 0; i < m->ncas && err == PCA_OK; i++)
		if (m->cas[i].ca_not_after != 0)
			err = buf_printf(b,
			    "pcad_ca_certificate_not_after_"
			    "timestamp_seconds{ca=\"%s\"} %lld\n",
			    m->cas[i].uuid, (long long)m->cas[i].ca_not_after);
	return err;
}

static pca_err
render_rules(struct mon *m, struct buf *b)
{
	size_t i;
	pca_err err;

	err = buf_addstr(b, "# HELP pcad_policy_refusals_total Issuances "
			    "refused by policy, by rule.\n"
			    "# TYPE pcad_policy_refusals_total counter\n");
	for (i = 0; i < m->nrules && err == PCA_OK; i++)
		err = buf_printf(b,
		    "pcad_policy_refusals_total{policy=\"%s\","
		    "rule=\"%s\"} %llu\n",
		    m->rules[i].policy, m->rules[i].rule,
		    (unsigned long long)m->rules[i].n);
	return err;
}

static pca_err
render_latency(struct mon *m, struct buf *b)
{
	uint64_t cum = 0;
	size_t k;
	pca_err err;

	err =
	    buf_addstr(b, "# HELP pcad_issuance_duration_seconds "
			  "IssueCertificate in the engine, to the commit.\n"
			  "# TYPE pcad_issuance_duration_seconds histogram\n");
	for (k = 0; k < MON_LAT_BUCKETS && err == PCA_OK; k++) {
		cum += atomic_load(&m->lat[k]);
		if (k < MON_LAT_BUCKETS - 1)
			err = buf_printf(b,
			    "pcad_issuance_duration_seconds_"
			    "bucket{le=\"%g\"} %llu\n",
			    lat_bounds[k], (unsigned long long)cum);
		else
			err = buf_printf(b,
			    "pcad_issuance_duration_seconds_"
			    "bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cum);
	}
	if (err == PCA_OK)
		err = buf_printf(b,
		    "pcad_issuance_duration_seconds_sum %.6f\n"
		    "pcad_issuance_duration_seconds_count %llu\n",
		    (double)atomic_load(&m->lat_sum_us) / 1e6,
		    (unsigned long long)cum);
	return err;
}

/*
 * The allocator's own view (glibc mallinfo2, summed over every arena):
 * in use against held but free tells a growing structure from
 * fragmentation when the process's anonymous memory grows.
 */
static pca_err
render_malloc(struct buf *b)
{
	struct mallinfo2 mi = mallinfo2();

	return buf_printf(b,
	    "# HELP pcad_malloc_in_use_bytes Heap bytes allocated and not "
	    "freed (all arenas, mmapped chunks included).\n"
	    "# TYPE pcad_malloc_in_use_bytes gauge\n"
	    "pcad_malloc_in_use_bytes %zu\n"
	    "# HELP pcad_malloc_free_bytes Heap bytes held by the allocator "
	    "but free (fragmentation and caches).\n"
	    "# TYPE pcad_malloc_free_bytes gauge\n"
	    "pcad_malloc_free_bytes %zu\n"
	    "# HELP pcad_malloc_mmapped_bytes Bytes in chunks mmapped on "
	    "their own.\n"
	    "# TYPE pcad_malloc_mmapped_bytes gauge\n"
	    "pcad_malloc_mmapped_bytes %zu\n",
	    mi.uordblks + mi.hblkhd, mi.fordblks, mi.hblkhd);
}

pca_err
mon_metrics_render(struct mon *m, struct buf *b)
{
	int64_t now = util_now();
	int ok = atomic_load(&m->hsm_ok);
	pca_err err;

	(void)mon_feed_apply(m, now, 0); /* changes since the last pass */
	pthread_mutex_lock(&m->cnt_lk);
	if ((err = render_cas(m, b, now)) == PCA_OK &&
	    (err = render_rules(m, b)) == PCA_OK)
		err = buf_printf(b,
		    "# HELP pcad_monitor_recount_timestamp_seconds When the "
		    "certificate counts were last recounted from the store.\n"
		    "# TYPE pcad_monitor_recount_timestamp_seconds gauge\n"
		    "pcad_monitor_recount_timestamp_seconds %lld\n"
		    "# HELP pcad_monitor_pass_seconds Duration of the last "
		    "monitor pass.\n"
		    "# TYPE pcad_monitor_pass_seconds gauge\n"
		    "pcad_monitor_pass_seconds %.6f\n",
		    (long long)m->last_recount, m->pass_dur);
	pthread_mutex_unlock(&m->cnt_lk);
	if (err == PCA_OK)
		err = render_latency(m, b);
	if (err == PCA_OK)
		err = render_malloc(b);
	if (err == PCA_OK && ok >= 0)
		err = buf_printf(b,
		    "# HELP pcad_hsm_healthy Token health probe of the "
		    "monitor pass (1 ok).\n# TYPE pcad_hsm_healthy gauge\n"
		    "pcad_hsm_healthy %d\n"
		    "# HELP pcad_hsm_health_checked_timestamp_seconds When the "
		    "token was last probed.\n"
		    "# TYPE pcad_hsm_health_checked_timestamp_seconds gauge\n"
		    "pcad_hsm_health_checked_timestamp_seconds %lld\n",
		    ok, (long long)atomic_load(&m->hsm_checked));
	if (err == PCA_OK && m->url != NULL)
		err = buf_printf(b,
		    "# HELP pcad_webhook_sent_total Expiry notifications "
		    "delivered.\n"
		    "# TYPE pcad_webhook_sent_total counter\n"
		    "pcad_webhook_sent_total %llu\n"
		    "# HELP pcad_webhook_failures_total Expiry notifications "
		    "that failed.\n"
		    "# TYPE pcad_webhook_failures_total counter\n"
		    "pcad_webhook_failures_total %llu\n"
		    "# HELP pcad_webhook_pending Notifications due but not yet "
		    "delivered.\n"
		    "# TYPE pcad_webhook_pending gauge\n"
		    "pcad_webhook_pending %llu\n",
		    (unsigned long long)atomic_load(&m->wh_sent),
		    (unsigned long long)atomic_load(&m->wh_failed),
		    (unsigned long long)atomic_load(&m->wh_pending));
	return err;
}
