/*
 * crl.c - the CRL publisher: a worker thread that looks at the CAs whose
 * CRL is enabled and (re)builds their CRLs when a revocation generation is
 * pending (after publish_delay_ms, so a burst gives one CRL), when the CA
 * certificate, revocation configuration or CDP changed, when half of the
 * validity window has passed, when the CRL is dated ahead of the clock
 * (which stepped back), and on startup when stale.  Which CAs to look at
 * comes from the store's change feed (crl_int.h, CRL_FULL_SCAN_S); what is
 * due from the store's typed per-CA counters.  The CRLs and the new state
 * are recorded in one store transaction, which queues them in the outbox
 * that sync/ drains.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "../x509/x509.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../hsm/hsm.h"
#include "crl_int.h"

#define DAY 86400
#define CRL_SKEW_S 300 /* a CRL dated further ahead is rebuilt */

struct crl_expired {
	struct ser {
		uint8_t b[LIM_SERIAL_BYTES];
		size_t n;
	} * v;
	size_t n, cap;
	const char *ca_id;
};

int64_t
crl_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pca_err
crl_sign_hsm(void *arg, const uint8_t *tbs, size_t len, uint8_t *sig,
    size_t *sig_len)
{
	struct crl_job *j = arg;
	struct hsm_key k = {j->ca->key_label, j->ca->spki, j->ca->spki_len};

	return hsm_sign(j->crl->hsm, &k, (enum pca_sigalg)j->ca->sigalg, tbs,
	    len, sig, sig_len);
}

/* crl_build's signer: the lint gate, on the very bytes, then the token. */
static pca_err
crl_sign_linted(void *arg, const uint8_t *tbs, size_t len, uint8_t *sig,
    size_t *sig_len)
{
	struct crl_job *j = arg;
	pca_err e;

	if ((e = x509_lint_crl(tbs, len, (enum pca_sigalg)j->ca->sigalg)) !=
	    PCA_OK) {
		log_warnx("lint gate refused a CRL of CA %s: %s", j->ca->arn,
		    pca_err_msg());
		return e;
	}
	return crl_sign_hsm(arg, tbs, len, sig, sig_len);
}

const char *
crl_uri_key(const char *uri)
{
	const char *p = strstr(uri, "://");

	if (p == NULL || (p = strchr(p + 3, '/')) == NULL)
		return NULL;
	return p + 1;
}

/* ---- expired entries (listed in one CRL after expiry, then dropped) ---- */

static int
ser_cmp(const void *a, const void *b)
{
	const struct ser *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->b, y->b, n);

	if (c != 0)
		return c;
	return x->n < y->n ? -1 : x->n > y->n;
}

static int
exp_cb(const char *ca_id, const uint8_t *serial, size_t len, int64_t not_after,
    void *arg)
{
	struct crl_expired *x = arg;
	struct ser *nv;

	(void)not_after;
	if (strcmp(ca_id, x->ca_id) != 0 || len > LIM_SERIAL_BYTES)
		return 0;
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 64;
		if ((nv = realloc(x->v, x->cap * sizeof(*nv))) == NULL)
			return 1;
		x->v = nv;
	}
	memcpy(x->v[x->n].b, serial, len);
	x->v[x->n++].n = len;
	return 0;
}

static int
keep_unexpired(void *arg, const uint8_t *serial, size_t len)
{
	struct crl_expired *x = arg;
	struct ser k;

	if (x == NULL || x->n == 0 || len > LIM_SERIAL_BYTES)
		return 1;
	memcpy(k.b, serial, len);
	k.n = len;
	return bsearch(&k, x->v, x->n, sizeof(k), ser_cmp) == NULL;
}

static pca_err
expired_load(struct crl_job *j, struct crl_expired *x)
{
	pca_err e;

	memset(x, 0, sizeof(*x));
	x->ca_id = j->ca->uuid;
	if (j->prev_gen <= 0)
		return PCA_OK;
	e = store_expiry_foreach(j->crl->store, INT64_MIN, j->prev_gen, exp_cb,
	    x);
	if (e == PCA_OK && x->n > 0)
		qsort(x->v, x->n, sizeof(*x->v), ser_cmp);
	return e;
}

/* ---- state ---- */

static void
state_load(struct crl *c, const char *id, struct crl_state *st)
{
	uint8_t *v = NULL;
	size_t n;
	json_t *o;

	memset(st, 0, sizeof(*st));
	if (store_kv_get(c->store, CRL_STATE_NS, id, &v, &n) != PCA_OK)
		return;
	if ((o = json_loadb((const char *)v, n, 0, NULL)) != NULL) {
		st->revgen =
		    (uint64_t)json_integer_value(json_object_get(o, "revgen"));
		st->gen = json_integer_value(json_object_get(o, "gen"));
		st->next = json_integer_value(json_object_get(o, "next"));
		st->number =
		    (uint64_t)json_integer_value(json_object_get(o, "number"));
		st->base_gen =
		    json_integer_value(json_object_get(o, "base_gen"));
		(void)snprintf(st->fp, sizeof(st->fp), "%s",
		    json_string_value(json_object_get(o, "fp")) ?: "");
		st->parts = json_incref(json_object_get(o, "parts"));
		st->edge = json_incref(json_object_get(o, "edge"));
	}
	json_decref(o);
	free(v);
}

static char *
state_text(const struct crl_state *st)
{
	json_t *o = json_pack("{sIsIsIsIsIssso*so*}", "revgen",
	    (json_int_t)st->revgen, "gen", (json_int_t)st->gen, "next",
	    (json_int_t)st->next, "number", (json_int_t)st->number, "base_gen",
	    (json_int_t)st->base_gen, "fp", st->fp, "parts",
	    json_incref(st->parts), "edge", json_incref(st->edge));
	char *t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return t;
}

/* SHA-256 over what the CRLs depend on besides revocations. */
static void
fingerprint(const struct ca_info *ca, char out[65])
{
	unsigned char md[32];
	unsigned int ml = 0;
	char *rev = json_dumps(ca->revocation, JSON_COMPACT | JSON_SORT_KEYS);
	EVP_MD_CTX *m = EVP_MD_CTX_new();

	out[0] = 0;
	if (m != NULL && rev != NULL &&
	    EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(m, ca->cert_der, ca->cert_len) == 1 &&
	    EVP_DigestUpdate(m, rev, strlen(rev)) == 1 &&
	    EVP_DigestUpdate(m, ca->cdp_uri ?: "", strlen(ca->cdp_uri ?: "")) ==
		1 &&
	    EVP_DigestUpdate(m, ca->status, strlen(ca->status)) == 1 &&
	    EVP_DigestFinal_ex(m, md, &ml) == 1)
		(void)util_hex(md, ml, out, 65, 0);
	EVP_MD_CTX_free(m);
	free(rev);
}

/* ---- one publication ---- */

static pca_err
job_init(struct crl *c, const struct ca_info *ca, struct crl_job *j)
{
	const char *bucket, *acl, *cpath;
	const unsigned char *p = ca->cert_der;
	const ASN1_OCTET_STRING *ski;
	X509 *x = NULL;
	pca_err e;

	memset(j, 0, sizeof(*j));
	j->crl = c;
	j->ca = ca;
	j->now = util_now();
	j->cfg = json_object_get(ca->revocation, "CrlConfiguration");
	if ((e = crl_cert_subject(ca->cert_der, ca->cert_len, &j->issuer,
		 &j->issuer_len)) != PCA_OK)
		return e;
	if ((x = d2i_X509(NULL, &p, (long)ca->cert_len)) == NULL)
		return pca_err_set(PCA_EBADCERT,
		    "CA %s: certificate does not "
		    "parse",
		    ca->uuid);
	if ((ski = X509_get0_subject_key_id(x)) != NULL &&
	    (size_t)ski->length <= sizeof(j->akid) && ski->length > 0) {
		memcpy(j->akid, ski->data, (size_t)ski->length);
		j->akid_len = (size_t)ski->length;
	} else if ((e = x509_spki_keyid(ca->spki, ca->spki_len, j->akid)) ==
		   PCA_OK)
		j->akid_len = 20;
	X509_free(x);
	if (e != PCA_OK)
		return e;
	bucket = json_string_value(json_object_get(j->cfg, "S3BucketName"));
	acl = json_string_value(json_object_get(j->cfg, "S3ObjectAcl"));
	acl = acl && strcmp(acl, "BUCKET_OWNER_FULL_CONTROL") == 0
		  ? "bucket-owner-full-control"
		  : "public-read";
	cpath = json_string_value(json_object_get(j->cfg, "CustomPath"));
	(void)snprintf(j->meta, sizeof(j->meta),
	    "{\"bucket\":\"%s\","
	    "\"content_type\":\"application/pkix-crl\",\"acl\":\"%s\"}",
	    bucket ? bucket : "", acl);
	(void)snprintf(j->complete_key, sizeof(j->complete_key), "%s/%s.crl",
	    cpath && *cpath ? cpath : "crl", ca->uuid);
	return PCA_OK;
}

static int
partitioned(const struct crl_job *j)
{
	const char *t = json_string_value(json_object_get(j->cfg, "CrlType"));

	return t != NULL && strcmp(t, "PARTITIONED") == 0;
}

/* URL of the complete CRL's delta, from the CDP when there is one. */
static void
delta_uri(const struct crl_job *j, char *out, size_t n)
{
	const char *base = j->ca->cdp_uri, *k;
	size_t bl;

	out[0] = 0;
	if (base == NULL || (k = crl_uri_key(base)) == NULL)
		return;
	bl = (size_t)(k - base);
	(void)snprintf(out, n, "%.*s%.*s.delta.crl", (int)bl, base,
	    (int)(strlen(j->complete_key) - 4), j->complete_key);
}

static void
delta_key(const struct crl_job *j, char *out, size_t n)
{
	(void)snprintf(out, n, "%.*s.delta.crl",
	    (int)(strlen(j->complete_key) - 4), j->complete_key);
}

static int64_t
expiration_days(const struct crl_job *j)
{
	json_int_t d =
	    json_integer_value(json_object_get(j->cfg, "ExpirationInDays"));

	return d > 0 ? (int64_t)d : 7;
}

void
crl_params_init(const struct crl_job *j, uint64_t number, struct crl_params *p)
{
	memset(p, 0, sizeof(*p));
	p->issuer = j->issuer;
	p->issuer_len = j->issuer_len;
	p->akid = j->akid;
	p->akid_len = j->akid_len;
	p->sigalg = (enum pca_sigalg)j->ca->sigalg;
	p->number = number;
	p->this_update = j->now - 3600;
	p->next_update = j->now + expiration_days(j) * DAY;
	p->min_when = INT64_MIN;
	p->store = j->crl->store;
	p->ca_id = j->ca->uuid;
	p->keep = keep_unexpired;
	p->keep_arg = j->expired;
	p->sign = crl_sign_linted;
	p->sign_arg = (void *)j;
}

pca_err
crl_obj_add(struct crl_objs *o, const char *key, uint64_t version,
    const char *meta, uint8_t *body, size_t len)
{
	if (o->n == sizeof(o->v) / sizeof(o->v[0])) {
		free(body);
		return pca_err_set(PCA_ELIMIT,
		    "more than %zu CRLs in one "
		    "publication",
		    o->n);
	}
	(void)snprintf(o->keys[o->n], sizeof(o->keys[0]), "%s", key);
	o->bodies[o->n] = body;
	o->v[o->n].key = o->keys[o->n];
	o->v[o->n].version = version;
	o->v[o->n].meta = meta;
	o->v[o->n].body = body;
	o->v[o->n].body_len = len;
	o->n++;
	return PCA_OK;
}

static void
objs_free(struct crl_objs *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->bodies[i]);
	o->n = 0;
}

/* ---- the edge of a complete CRL (see CRL_EDGE_S) ---- */

struct crl_edge {
	struct ser *v;
	size_t n, cap;
	int64_t from;
	int over; /* too many: not recorded */
};

static void
edge_note(void *arg, const uint8_t *serial, size_t len, int64_t when)
{
	struct crl_edge *ed = arg;
	struct ser *nv;

	if (serial == NULL) {
		ed->n = 0;
		ed->over = 0;
		return;
	}
	if (when < ed->from || ed->over)
		return;
	if (len > LIM_SERIAL_BYTES || ed->n == CRL_EDGE_MAX) {
		ed->over = 1;
		return;
	}
	if (ed->n == ed->cap) {
		ed->cap = ed->cap ? 2 * ed->cap : 16;
		if ((nv = realloc(ed->v, ed->cap * sizeof(*nv))) == NULL) {
			ed->over = 1;
			return;
		}
		ed->v = nv;
	}
	memcpy(ed->v[ed->n].b, serial, len);
	ed->v[ed->n++].n = len;
}

/* The edge as state JSON (hex serials), NULL when not recorded. */
static json_t *
edge_json(const struct crl_edge *ed)
{
	char hex[2 * LIM_SERIAL_BYTES + 1];
	json_t *a;
	size_t i;

	if (ed->over || (a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < ed->n; i++)
		if (util_hex(ed->v[i].b, ed->v[i].n, hex, sizeof(hex), 0) ==
			NULL ||
		    json_array_append_new(a, json_string(hex)) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The edge recorded in the state, sorted; 0 when none is recorded. */
static int
edge_load(const json_t *a, struct crl_edge *ed)
{
	size_t i, n;

	memset(ed, 0, sizeof(*ed));
	if (!json_is_array(a) || json_array_size(a) > CRL_EDGE_MAX)
		return 0;
	if ((ed->v = calloc(json_array_size(a) + 1, sizeof(*ed->v))) == NULL)
		return 0;
	for (i = 0; i < json_array_size(a); i++) {
		if (json_string_value(json_array_get(a, i)) == NULL ||
		    util_unhex(json_string_value(json_array_get(a, i)),
			ed->v[i].b, LIM_SERIAL_BYTES, &n) != PCA_OK) {
			free(ed->v);
			ed->v = NULL;
			return 0;
		}
		ed->v[i].n = n;
	}
	ed->n = json_array_size(a);
	qsort(ed->v, ed->n, sizeof(*ed->v), ser_cmp);
	return 1;
}

struct delta_keep {
	struct crl_expired *expired;
	struct crl_edge edge;
};

static int
keep_delta(void *arg, const uint8_t *serial, size_t len)
{
	struct delta_keep *d = arg;
	struct ser k;

	if (!keep_unexpired(d->expired, serial, len))
		return 0;
	if (d->edge.n == 0 || len > LIM_SERIAL_BYTES)
		return 1;
	memcpy(k.b, serial, len);
	k.n = len;
	return bsearch(&k, d->edge.v, d->edge.n, sizeof(k), ser_cmp) == NULL;
}

/* The delta CRL on the base recorded in st (entries since base_gen). */
static pca_err
build_delta(struct crl_job *j, const struct crl_state *st, uint64_t base,
    struct crl_objs *o)
{
	struct crl_params p;
	struct delta_keep dk;
	char key[STORE_OBJ_KEY_MAX + 1];
	uint64_t n;
	uint8_t *der = NULL;
	size_t len, cnt;
	char name[64];
	pca_err e;

	(void)snprintf(name, sizeof(name), "crlnum/%s", j->ca->uuid);
	if ((e = store_counter_raise(j->crl->store, name,
		 (uint64_t)crl_now_ms(), &n)) != PCA_OK)
		return e;
	crl_params_init(j, n, &p);
	p.delta_base = base;
	p.min_when = st->base_gen - CRL_EDGE_S;
	dk.expired = j->expired;
	(void)edge_load(st->edge, &dk.edge);
	p.keep = keep_delta;
	p.keep_arg = &dk;
	e = crl_build(&p, &der, &len, &cnt);
	free(dk.edge.v);
	if (e != PCA_OK)
		return e;
	delta_key(j, key, sizeof(key));
	return crl_obj_add(o, key, n, j->meta, der, len);
}

/* The CA's CRL gauges (c->mu held); a full table drops the newcomer. */
static void
ca_metrics_note(struct crl *c, const char *ca, int64_t this_update,
    int64_t next_update, int64_t entries)
{
	struct crl_ca_metrics *m = NULL;
	size_t i;

	for (i = 0; i < c->m.ncas; i++)
		if (strcmp(c->m.cas[i].ca, ca) == 0)
			m = &c->m.cas[i];
	if (m == NULL && c->m.ncas < CRL_METRICS_CAS) {
		m = &c->m.cas[c->m.ncas++];
		(void)snprintf(m->ca, sizeof(m->ca), "%s", ca);
		m->entries = -1;
	}
	if (m == NULL)
		return;
	m->this_update = this_update;
	m->next_update = next_update;
	if (entries >= 0)
		m->entries = entries;
}

/* The complete CRL (and partitions, and an empty delta on it). */
static pca_err
build_full(struct crl_job *j, struct crl_state *st, struct crl_objs *o)
{
	struct crl_params p;
	struct crl_edge ed = {NULL, 0, 0, 0, 0};
	char name[64], durl[600];
	uint8_t *der = NULL;
	size_t len, cnt;
	uint64_t n;
	pca_err e;

	(void)snprintf(name, sizeof(name), "crlnum/%s", j->ca->uuid);
	if ((e = store_counter_raise(j->crl->store, name,
		 (uint64_t)crl_now_ms(), &n)) != PCA_OK)
		return e;
	crl_params_init(j, n, &p);
	delta_uri(j, durl, sizeof(durl));
	if (j->crl->conf.delta && durl[0])
		p.freshest_uri = durl;
	ed.from = j->now - CRL_EDGE_S;
	p.listed = edge_note;
	p.listed_arg = &ed;
	e = crl_build(&p, &der, &len, &cnt);
	json_decref(st->edge);
	st->edge = e == PCA_OK ? edge_json(&ed) : NULL;
	free(ed.v);
	if (e != PCA_OK || (e = crl_obj_add(o, j->complete_key, n, j->meta, der,
				len)) != PCA_OK)
		return e;
	if (partitioned(j) &&
	    (e = crl_partitions(j, n, keep_unexpired, j->expired, o)) != PCA_OK)
		return e;
	st->gen = j->now;
	st->base_gen = j->now;
	st->next = p.next_update;
	st->number = n;
	pthread_mutex_lock(&j->crl->mu);
	j->crl->m.entries = cnt;
	if (j->crl->m.next_update == 0 || p.next_update < j->crl->m.next_update)
		j->crl->m.next_update = p.next_update;
	ca_metrics_note(j->crl, j->ca->uuid, j->now, p.next_update,
	    (int64_t)cnt);
	pthread_mutex_unlock(&j->crl->mu);
	if (j->crl->conf.delta && durl[0])
		return build_delta(j, st, n, o);
	return PCA_OK;
}

static pca_err
record(struct crl *c, const struct ca_info *ca, const struct crl_state *st,
    struct crl_objs *o)
{
	struct store_kv_in kv = {CRL_STATE_NS, ca->uuid, NULL, 0};
	char *txt = state_text(st);
	pca_err e;

	if (txt == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	kv.val = txt;
	kv.len = strlen(txt);
	e = store_obj_put(c->store, o->v, o->n, &kv);
	free(txt);
	return e;
}

/* Builds and records the CRLs of ca; full: complete, else a delta. */
static pca_err
publish(struct crl *c, const struct ca_info *ca, struct crl_state *st,
    uint64_t revgen, int full)
{
	struct crl_expired x;
	struct crl_objs *o = NULL;
	struct crl_job j;
	pca_err e;

	memset(&x, 0, sizeof(x));
	if ((e = job_init(c, ca, &j)) != PCA_OK)
		return e;
	/* never drop entries as expired by a clock that has stepped back */
	j.prev_gen = st->gen < j.now ? st->gen : j.now;
	j.expired = &x;
	if (st->parts == NULL)
		st->parts = json_array();
	j.parts = st->parts;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((e = expired_load(&j, &x)) != PCA_OK)
		goto out;
	e = full ? build_full(&j, st, o) : build_delta(&j, st, st->number, o);
	if (e != PCA_OK)
		goto out;
	st->revgen = revgen;
	fingerprint(ca, st->fp);
	if ((e = record(c, ca, st, o)) == PCA_OK)
		log_info("crl: CA %s: %zu CRL object(s) recorded, number "
			 "%llu%s",
		    ca->uuid, o->n, (unsigned long long)o->v[0].version,
		    full ? "" : " (delta)");
out:
	objs_free(o);
	free(o);
	free(x.v);
	return e;
}

/* ---- deciding ---- */

enum due { DUE_NO, DUE_WAIT, DUE_FULL, DUE_DELTA };

static int
publishable(const struct ca_info *ca)
{
	const json_t *cfg = json_object_get(ca->revocation, "CrlConfiguration");

	return json_is_true(json_object_get(cfg, "Enabled")) &&
	       ca->cert_der != NULL &&
	       (strcmp(ca->status, "ACTIVE") == 0 ||
		   strcmp(ca->status, "DISABLED") == 0 ||
		   strcmp(ca->status, "EXPIRED") == 0);
}

/* Finds or adds the tracking slot of a CA (mu held); NULL when full. */
static struct crl_track *
track_get(struct crl *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->ntrack && strcmp(c->track[i].id, id) != 0; i++)
		;
	if (i == c->ntrack) {
		if (c->ntrack == CRL_TRACK_MAX)
			return NULL;
		memset(&c->track[i], 0, sizeof(c->track[i]));
		(void)snprintf(c->track[i].id, sizeof(c->track[i].id), "%s",
		    id);
		c->ntrack++;
	}
	return &c->track[i];
}

/* ---- partition rollover ---- */

static int
ca_partitioned(const struct ca_info *ca)
{
	const json_t *cfg = json_object_get(ca->revocation, "CrlConfiguration");
	const char *t = json_string_value(json_object_get(cfg, "CrlType"));

	return json_is_true(json_object_get(cfg, "Enabled")) && t != NULL &&
	       strcmp(t, "PARTITIONED") == 0 && ca->cdp_uri != NULL;
}

/* The open partition recorded for the CA: 0 when none is. */
static int
part_load(struct crl *c, const char *id, char *cdp, size_t n, uint64_t *start)
{
	uint8_t *v = NULL;
	size_t len;
	json_t *o = NULL;
	int ok = 0;

	if (store_kv_get(c->store, CRL_PART_NS, id, &v, &len) == PCA_OK &&
	    (o = json_loadb((const char *)v, len, 0, NULL)) != NULL &&
	    json_string_value(json_object_get(o, "cdp")) != NULL) {
		(void)snprintf(cdp, n, "%s",
		    json_string_value(json_object_get(o, "cdp")));
		*start =
		    (uint64_t)json_integer_value(json_object_get(o, "start"));
		ok = 1;
	}
	json_decref(o);
	free(v);
	return ok;
}

static pca_err
part_save(struct crl *c, const char *id, const char *cdp, uint64_t start)
{
	json_t *o = json_pack("{sssI}", "cdp", cdp, "start", (json_int_t)start);
	char *t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	pca_err e;

	json_decref(o);
	if (t == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	e = store_kv_put(c->store, CRL_PART_NS, id, t, strlen(t), 0);
	free(t);
	return e;
}

static void
part_left(struct crl *c, const char *id, uint64_t left)
{
	struct crl_track *t;

	pthread_mutex_lock(&c->mu);
	if ((t = track_get(c, id)) != NULL)
		t->left = left;
	pthread_mutex_unlock(&c->mu);
}

/*
 * Opens a new partition when partition_size certificates were reserved
 * since the open one opened (the first partition of a CA counts from 0).
 */
static pca_err
part_check(struct crl *c, const char *id)
{
	struct ca_info ca;
	char cdp[1100];
	uint64_t issued = 0, start = 0, left = 0;
	pca_err e;

	if ((e = ca_info_get(c->eng, id, &ca)) != PCA_OK)
		return e;
	if (!ca_partitioned(&ca) ||
	    (e = store_issued_get(c->store, id, &issued)) != PCA_OK)
		goto out;
	if (!part_load(c, id, cdp, sizeof(cdp), &start))
		e = part_save(c, id, ca.cdp_uri, start = 0);
	else if (strcmp(cdp, ca.cdp_uri) != 0)
		e = part_save(c, id, ca.cdp_uri, start = issued);
	else if (issued - start >= c->conf.partition_size) {
		ca_info_clear(&ca);
		if ((e = ca_crl_partition_roll(c->eng, id)) != PCA_OK ||
		    (e = ca_info_get(c->eng, id, &ca)) != PCA_OK)
			return e;
		if (ca_partitioned(&ca))
			e = part_save(c, id, ca.cdp_uri, start = issued);
		log_info("crl: CA %s: partition of %llu certificates closed",
		    id, (unsigned long long)c->conf.partition_size);
	}
	if (e == PCA_OK && ca_partitioned(&ca))
		left = c->conf.partition_size - (issued - start);
out:
	part_left(c, id, left);
	ca_info_clear(&ca);
	return e;
}

/* Coalescing: a pending generation waits publish_delay_ms once. */
static int
delay_over(struct crl *c, const char *id, uint64_t revgen, int64_t *since)
{
	int64_t now = crl_now_ms();
	struct crl_track *t;
	int over = 1;

	pthread_mutex_lock(&c->mu);
	if ((t = track_get(c, id)) != NULL) {
		if (t->revgen == 0) {
			t->revgen = revgen;
			t->since_ms = now;
		}
		*since = t->since_ms;
		over = now - t->since_ms >= (int64_t)c->conf.publish_delay_ms;
	}
	pthread_mutex_unlock(&c->mu);
	return over;
}

static void
track_clear(struct crl *c, const char *id)
{
	struct crl_track *t;

	pthread_mutex_lock(&c->mu);
	if ((t = track_get(c, id)) != NULL)
		t->revgen = 0;
	pthread_mutex_unlock(&c->mu);
}

static enum due
due_of(struct crl *c, const struct ca_info *ca, const struct crl_state *st,
    uint64_t revgen, int64_t *since)
{
	char fp[65];
	int64_t now = util_now();

	fingerprint(ca, fp);
	*since = 0;
	/* gen ahead of the clock: built before the clock stepped back */
	if (st->number == 0 || strcmp(fp, st->fp) != 0 ||
	    now >= st->gen + (st->next - st->gen) / 2 ||
	    st->gen > now + CRL_SKEW_S)
		return DUE_FULL;
	if (revgen <= st->revgen)
		return DUE_NO;
	if (!delay_over(c, ca->uuid, revgen, since))
		return DUE_WAIT;
	if (c->conf.delta && now - st->base_gen < (int64_t)c->conf.delta_base_s)
		return DUE_DELTA;
	return DUE_FULL;
}

static void
latency_note(struct crl *c, int64_t since_ms)
{
	static const int64_t lim[7] = {100, 250, 500, 1000, 2500, 5000, 10000};
	int64_t d = crl_now_ms() - since_ms;
	int i;

	for (i = 0; i < 7 && d > lim[i]; i++)
		;
	c->m.lat_buckets[i]++;
	c->m.lat_sum_ms += d > 0 ? (uint64_t)d : 0;
}

/* After a failed build: 1 while the CA's retry is not due yet. */
static int
backing_off(struct crl *c, const char *id)
{
	struct crl_track *t;
	int64_t now = util_now();
	int r = 0;

	pthread_mutex_lock(&c->mu);
	if ((t = track_get(c, id)) != NULL && t->fails > 0)
		r = now < t->retry_at && t->retry_at <= now + CRL_RETRY_MAX_S;
	pthread_mutex_unlock(&c->mu);
	return r;
}

/* Notes a build's outcome: a failure pushes the next try out. */
static void
build_note(struct crl *c, const char *id, pca_err e)
{
	struct crl_track *t;
	int64_t wait = e == PCA_EUNAVAIL || e == PCA_EBUSY ? CRL_RETRY_BRIEF_S
							   : CRL_RETRY_MIN_S;
	unsigned i;

	pthread_mutex_lock(&c->mu);
	if ((t = track_get(c, id)) != NULL) {
		if (e == PCA_OK || e == PCA_EALREADY)
			t->fails = 0;
		else {
			for (i = 0; i < t->fails && wait < CRL_RETRY_MAX_S; i++)
				wait *= 2;
			if (wait > CRL_RETRY_MAX_S)
				wait = CRL_RETRY_MAX_S;
			t->fails++;
			t->retry_at = util_now() + wait;
			/* a full scan then, if none comes sooner */
			if (c->full_at > t->retry_at)
				c->full_at = t->retry_at;
			log_warnx("crl: CA %s: build failed %u time(s) in a "
				  "row; next try in %lld s",
			    id, t->fails, (long long)wait);
		}
	}
	pthread_mutex_unlock(&c->mu);
}

/* Looks at one CA and publishes when due; *wait set when it must wait. */
static pca_err
scan_one(struct crl *c, const char *id, int force, int *wait)
{
	struct ca_info ca;
	struct crl_state st;
	uint64_t revgen = 0;
	int64_t since = 0;
	enum due d;
	pca_err e;

	memset(&st, 0, sizeof(st));
	if ((e = ca_info_get(c->eng, id, &ca)) != PCA_OK)
		return e;
	if (!publishable(&ca))
		goto out;
	state_load(c, id, &st);
	if (st.gen != 0) { /* a CRL of an earlier process: its age */
		pthread_mutex_lock(&c->mu);
		ca_metrics_note(c, id, st.gen, st.next, -1);
		pthread_mutex_unlock(&c->mu);
	}
	if ((e = store_revgen_get(c->store, id, &revgen)) != PCA_OK)
		goto out;
	d = force ? DUE_FULL : due_of(c, &ca, &st, revgen, &since);
	if (d == DUE_WAIT)
		*wait = 1;
	if (d == DUE_NO || d == DUE_WAIT)
		goto out;
	if (!force && backing_off(c, id))
		goto out;
	e = publish(c, &ca, &st, revgen, d == DUE_FULL);
	build_note(c, id, e);
	pthread_mutex_lock(&c->mu);
	c->m.builds++;
	c->m.build_errors += e != PCA_OK && e != PCA_EALREADY;
	c->m.last_build = util_now();
	if (e == PCA_OK && since > 0)
		latency_note(c, since);
	pthread_mutex_unlock(&c->mu);
	if (e == PCA_OK)
		track_clear(c, id);
	if (e == PCA_OK && c->queued != NULL)
		c->queued(c->queued_arg);
out:
	json_decref(st.parts);
	json_decref(st.edge);
	ca_info_clear(&ca);
	return e;
}

/* The worker looks at the CA on its next poll (a feed record, a wait). */
static void
mark_dirty(struct crl *c, const char *id)
{
	struct crl_track *t;

	pthread_mutex_lock(&c->mu);
	if ((t = track_get(c, id)) != NULL)
		t->dirty = 1;
	else
		c->untracked = 1; /* no slot: a full scan then */
	pthread_mutex_unlock(&c->mu);
}

static void
scan_all(struct crl *c, int *wait)
{
	char(*ids)[37] = NULL;
	size_t n = 0, i;
	int w;

	pthread_rwlock_rdlock(&c->elock);
	if (c->eng != NULL && ca_info_ids(c->eng, &ids, &n) == PCA_OK)
		for (i = 0; i < n; i++) {
			w = 0;
			if (part_check(c, ids[i]) != PCA_OK ||
			    scan_one(c, ids[i], 0, &w) != PCA_OK)
				log_warnx("crl: CA %s: %s", ids[i],
				    pca_err_msg());
			if (w) { /* coalescing: look again soon */
				*wait = 1;
				mark_dirty(c, ids[i]);
			}
		}
	pthread_rwlock_unlock(&c->elock);
	free(ids);
}

/* ---- following the change feed ---- */

static int
feed_cb(const struct store_change *ch, void *arg)
{
	if (ch->ca_id[0] != '\0')
		mark_dirty(arg, ch->ca_id);
	return 0;
}

/* Marks the CAs the new feed records name; 0 when a full scan is due. */
static int
feed_read(struct crl *c)
{
	struct store_feed_pos pos;

	do {
		if (store_changes_after(c->store, c->feed_seq, 100000, feed_cb,
			c, &pos) != PCA_OK) {
			log_warnx("crl: reading the change feed: %s",
			    pca_err_msg());
			pca_err_clear();
			return 0;
		}
		c->feed_seq = pos.last;
		if (pos.gap)
			return 0;
	} while (pos.more);
	return !c->untracked;
}

/* Every CA, from a feed position taken first. */
static void
scan_full(struct crl *c, int *wait)
{
	uint64_t head = c->feed_seq;
	int64_t now;
	size_t i;

	if (store_feed_follow(c->store, CRL_FEED_NAME, NULL) != PCA_OK ||
	    store_feed_head(c->store, &head) != PCA_OK ||
	    (c->feed_seq != 0 && store_feed_ack(c->store, CRL_FEED_NAME,
				     c->feed_seq) != PCA_OK)) {
		log_warnx("crl: following the change feed: %s", pca_err_msg());
		pca_err_clear();
	}
	c->feed_seq = head;
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < c->ntrack; i++)
		c->track[i].dirty = 0;
	c->untracked = 0;
	pthread_mutex_unlock(&c->mu);
	scan_all(c, wait);
	pthread_mutex_lock(&c->mu);
	now = util_now();
	c->full_at = now + CRL_FULL_SCAN_S;
	/* sooner when a failed build's retry falls due before it */
	for (i = 0; i < c->ntrack; i++)
		if (c->track[i].fails > 0 && c->track[i].retry_at > now &&
		    c->track[i].retry_at < c->full_at)
			c->full_at = c->track[i].retry_at;
	pthread_mutex_unlock(&c->mu);
}

/* The CAs marked by feed records (or still waiting to coalesce). */
static void
scan_dirty(struct crl *c, int *wait)
{
	char(*ids)[37] = NULL;
	size_t n = 0, i;
	int w;
	pca_err e;

	pthread_mutex_lock(&c->mu);
	if (c->ntrack > 0 && (ids = calloc(c->ntrack, sizeof(*ids))) == NULL)
		c->full_at = 0; /* no memory: everything, next time */
	for (i = 0; ids != NULL && i < c->ntrack; i++)
		if (c->track[i].dirty) {
			c->track[i].dirty = 0;
			memcpy(ids[n++], c->track[i].id, sizeof(ids[0]));
		}
	pthread_mutex_unlock(&c->mu);
	pthread_rwlock_rdlock(&c->elock);
	for (i = 0; i < n && c->eng != NULL; i++) {
		w = 0;
		if ((e = part_check(c, ids[i])) != PCA_OK ||
		    (e = scan_one(c, ids[i], 0, &w)) != PCA_OK) {
			if (e != PCA_ENOTFOUND) /* purged meanwhile */
				log_warnx("crl: CA %s: %s", ids[i],
				    pca_err_msg());
			pca_err_clear();
		}
		if (w) {
			*wait = 1;
			mark_dirty(c, ids[i]);
		}
	}
	pthread_rwlock_unlock(&c->elock);
	free(ids);
}

/* A full scan is due: first, after a while, a clock jump, or asked for. */
static int
full_due(struct crl *c)
{
	int64_t now = util_now();
	int due;

	pthread_mutex_lock(&c->mu);
	due = c->full_at == 0 || now >= c->full_at ||
	      now < c->full_at - CRL_FULL_SCAN_S;
	pthread_mutex_unlock(&c->mu);
	return due;
}

static void *
worker(void *arg)
{
	struct crl *c = arg;
	struct timespec ts;
	int wait = 0;
	long ms;

	for (;;) {
		wait = 0;
		if (full_due(c) || !feed_read(c))
			scan_full(c, &wait);
		else
			scan_dirty(c, &wait);
		ms = wait ? 50 : (long)c->conf.poll_ms;
		(void)clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&c->mu);
		while (!c->wake && !c->stop &&
		       pthread_cond_timedwait(&c->cond, &c->mu, &ts) == 0)
			;
		c->wake = 0;
		if (c->stop) {
			pthread_mutex_unlock(&c->mu);
			return NULL;
		}
		pthread_mutex_unlock(&c->mu);
	}
}

static void
on_event(const struct ca_event *ev, void *arg)
{
	struct crl *c = arg;
	struct crl_track *t;

	pthread_mutex_lock(&c->mu);
	if (ev->type == CA_EV_ISSUED) {
		/* a hint only: the count that decides is in the store */
		if ((t = track_get(c, ev->ca_uuid)) != NULL && t->left > 0 &&
		    --t->left == 0) {
			c->wake = 1;
			pthread_cond_signal(&c->cond);
		}
		pthread_mutex_unlock(&c->mu);
		return;
	}
	c->wake = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mu);
}

/* ---- life cycle ---- */

/* Timeouts on the monotonic clock: a wall clock step cannot stretch them. */
static pca_err
cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t a;
	int rc;

	if (pthread_condattr_init(&a) != 0)
		return PCA_ENOMEM;
	rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC) != 0 ||
	     pthread_cond_init(cv, &a) != 0;
	(void)pthread_condattr_destroy(&a);
	return rc ? PCA_ENOMEM : PCA_OK;
}

pca_err
crl_new(const struct crl_conf *conf, struct hsm *hsm, struct store *store,
    struct crl **out)
{
	struct crl *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	c->conf = *conf;
	if (c->conf.delta_base_s == 0)
		c->conf.delta_base_s = 3600;
	if (c->conf.poll_ms == 0)
		c->conf.poll_ms = 1000;
	if (c->conf.partition_size == 0)
		c->conf.partition_size = CRL_PARTITION_DEFAULT;
	c->account = strdup(conf->account ? conf->account : "");
	c->conf.account = c->account;
	c->hsm = hsm;
	c->store = store;
	pthread_rwlock_init(&c->elock, NULL);
	pthread_mutex_init(&c->mu, NULL);
	if (cond_init_mono(&c->cond) != PCA_OK) {
		pthread_rwlock_destroy(&c->elock);
		pthread_mutex_destroy(&c->mu);
		free(c->account);
		free(c);
		return pca_err_set(PCA_ENOMEM, "cannot create the CRL "
					       "worker's condition");
	}
	if (c->account == NULL) {
		crl_free(c);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	*out = c;
	return PCA_OK;
}

pca_err
crl_listen(struct crl *c, struct ca_engine *eng)
{
	return ca_engine_listen(eng, on_event, c);
}

void
crl_attach(struct crl *c, struct ca_engine *eng)
{
	pthread_rwlock_wrlock(&c->elock);
	c->eng = eng;
	pthread_rwlock_unlock(&c->elock);
	/* a new configuration may change every CA's CRLs: look at all */
	pthread_mutex_lock(&c->mu);
	c->full_at = 0;
	c->wake = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mu);
}

void
crl_on_queued(struct crl *c, void (*fn)(void *), void *arg)
{
	c->queued = fn;
	c->queued_arg = arg;
}

pca_err
crl_start(struct crl *c)
{
	if (pthread_create(&c->thread, NULL, worker, c) != 0)
		return pca_err_set(PCA_ENOMEM, "cannot start the CRL thread");
	c->started = 1;
	return PCA_OK;
}

void
crl_free(struct crl *c)
{
	if (c == NULL)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->mu);
		c->stop = 1;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
	}
	pthread_rwlock_destroy(&c->elock);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cond);
	free(c->account);
	free(c);
}

pca_err
crl_publish_now(struct crl *c, const char *id)
{
	int wait = 0;
	pca_err e;

	pthread_rwlock_rdlock(&c->elock);
	e = c->eng ? scan_one(c, id, 1, &wait)
		   : pca_err_set(PCA_ESTATE, "no engine attached");
	pthread_rwlock_unlock(&c->elock);
	return e;
}

void
crl_metrics_get(struct crl *c, struct crl_metrics *m)
{
	pthread_mutex_lock(&c->mu);
	*m = c->m;
	pthread_mutex_unlock(&c->mu);
}

pca_err
crl_metrics_render(struct crl *c, struct buf *b)
{
	static const char *const le[] = {"0.1", "0.25", "0.5", "1", "2.5", "5",
	    "10", "+Inf"};
	struct crl_metrics *cm;
	uint64_t cum = 0;
	int64_t now = util_now();
	size_t i;
	pca_err err;

	if ((cm = malloc(sizeof(*cm))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	crl_metrics_get(c, cm);
	err = buf_printf(b,
	    "# HELP pcad_crl_builds_total CRL builds (complete and delta).\n"
	    "# TYPE pcad_crl_builds_total counter\npcad_crl_builds_total %llu\n"
	    "# HELP pcad_crl_build_errors_total CRL builds that failed.\n"
	    "# TYPE pcad_crl_build_errors_total counter\n"
	    "pcad_crl_build_errors_total %llu\n"
	    "# HELP pcad_crl_entries Entries of the CA's last complete CRL.\n"
	    "# TYPE pcad_crl_entries gauge\n",
	    (unsigned long long)cm->builds,
	    (unsigned long long)cm->build_errors);
	for (i = 0; i < cm->ncas && err == PCA_OK; i++)
		if (cm->cas[i].entries >= 0)
			err =
			    buf_printf(b, "pcad_crl_entries{ca=\"%s\"} %lld\n",
				cm->cas[i].ca, (long long)cm->cas[i].entries);
	if (err == PCA_OK)
		err = buf_addstr(b, "# HELP pcad_crl_age_seconds Seconds since "
				    "the thisUpdate of the CA's complete CRL.\n"
				    "# TYPE pcad_crl_age_seconds gauge\n");
	for (i = 0; i < cm->ncas && err == PCA_OK; i++)
		err = buf_printf(b, "pcad_crl_age_seconds{ca=\"%s\"} %lld\n",
		    cm->cas[i].ca, (long long)(now - cm->cas[i].this_update));
	if (err == PCA_OK)
		err = buf_addstr(b,
		    "# HELP pcad_crl_next_update_timestamp_"
		    "seconds nextUpdate of the CA's complete CRL.\n"
		    "# TYPE pcad_crl_next_update_timestamp_seconds gauge\n");
	for (i = 0; i < cm->ncas && err == PCA_OK; i++)
		err = buf_printf(b,
		    "pcad_crl_next_update_timestamp_seconds"
		    "{ca=\"%s\"} %lld\n",
		    cm->cas[i].ca, (long long)cm->cas[i].next_update);
	if (err == PCA_OK)
		err = buf_addstr(b,
		    "# HELP pcad_crl_revocation_to_crl_seconds "
		    "From a revocation to the CRL that lists it.\n"
		    "# TYPE pcad_crl_revocation_to_crl_seconds histogram\n");
	for (i = 0; err == PCA_OK && i < 8; i++) {
		cum += cm->lat_buckets[i];
		err = buf_printf(b,
		    "pcad_crl_revocation_to_crl_seconds_bucket{le=\"%s\"} "
		    "%llu\n",
		    le[i], (unsigned long long)cum);
	}
	if (err == PCA_OK)
		err = buf_printf(b,
		    "pcad_crl_revocation_to_crl_seconds_sum "
		    "%.3f\npcad_crl_revocation_to_crl_seconds_count %llu\n",
		    (double)cm->lat_sum_ms / 1000.0, (unsigned long long)cum);
	free(cm);
	return err;
}
