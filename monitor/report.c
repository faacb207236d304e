/*
 * report.c - the compliance report: one walk over the live certificates of
 * the CAs in scope, each judged by its DER and by the policy bound to its
 * CA (and requester) today.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "../acme/acme.h"
#include "../ca/ca.h"
#include "../common/buf.h"
#include "../common/util.h"
#include "../discover/disc.h"
#include "../policy/policy.h"
#include "mon_int.h"

#define RSA_FLOOR 2048
#define EC_FLOOR 256

struct rep {
	const struct mon_report_req *q;
	const char *ca_arn;
	const char *ca_uuid;
	json_t *weak, *sha1, *outlive, *soon, *cas, *early;
	json_t *summary;
	size_t live, nweak, nsha1, noutlive, nsoon, nresponder;
	size_t nwindow, nearly; /* RFC 9773 windows open, moved */
	int64_t rotated_at;     /* of the CA walked, or 0 */
	int truncated;
	pca_err err;
};

static void
add(struct rep *r, json_t *list, json_t *item)
{
	if (json_array_size(list) < MON_REPORT_ITEMS_MAX)
		(void)json_array_append(list, item);
	else
		r->truncated = 1;
}

/* Key algorithm and size of x (bits; EC: the field size). */
static const char *
key_of(X509 *x, int *bits)
{
	EVP_PKEY *k = X509_get0_pubkey(x);

	*bits = k ? EVP_PKEY_get_bits(k) : 0;
	if (k == NULL)
		return "UNKNOWN";
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
		return "RSA";
	case EVP_PKEY_EC:
		return "EC";
	case EVP_PKEY_DSA:
		return "DSA";
	case EVP_PKEY_ED25519:
		return "ED25519";
	default:
		return "OTHER";
	}
}

struct notes {
	char key_rule[160];
	char validity[160];
};

static void
note(const char *rule, int ok, const char *detail, void *arg)
{
	struct notes *n = arg;

	if (ok != 0)
		return;
	if (strncmp(rule, "key.", 4) == 0 && n->key_rule[0] == '\0')
		(void)snprintf(n->key_rule, sizeof(n->key_rule), "%s: %s", rule,
		    detail);
	else if (strcmp(rule, "validity.max_days") == 0)
		(void)snprintf(n->validity, sizeof(n->validity), "%s", detail);
}

static void
judge_policy(struct rep *r, const struct store_cert *c, const char **pname,
    struct notes *n)
{
	const struct pol *p;
	struct pol_input in;
	int64_t start =
	    c->not_before > c->issued_at ? c->not_before : c->issued_at;

	memset(n, 0, sizeof(*n));
	*pname = NULL;
	/* policies judge end-entity certificates only, as the engine does */
	if (r->q->policies == NULL ||
	    strstr(c->template_name, "CACertificate") != NULL ||
	    (p = pol_set_lookup0(r->q->policies, c->ca_id,
		 strcmp(c->requested_by, "-") ? c->requested_by : NULL)) ==
		NULL ||
	    pol_input_from_tbs(c->tbs, c->tbs_len, &in) != PCA_OK) {
		pca_err_clear();
		return;
	}
	*pname = pol_name(p);
	in.validity_s = c->not_after - start;
	if (pol_check(p, &in, note, n) != PCA_OK)
		pca_err_clear();
	pol_input_clear(&in);
}

static json_t *
item(struct rep *r, const struct store_cert *c, X509 *x)
{
	char hex[2 * LIM_SERIAL_BYTES + 1], subj[256], iso[21];

	util_hex(c->serial, c->serial_len, hex, sizeof(hex), 0);
	subj[0] = '\0';
	(void)X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	return json_pack("{s:s,s:s,s:s,s:s,s:s}", "CertificateAuthorityArn",
	    r->ca_arn, "Serial", hex, "Subject", subj, "NotAfter",
	    util_iso8601(c->not_after, iso), "Template", c->template_name);
}

static void
judge(struct rep *r, const struct store_cert *c, X509 *x)
{
	const char *alg, *pname;
	struct notes n;
	json_t *it;
	int bits, sig = X509_get_signature_nid(x), md = NID_undef;
	int64_t left = c->not_after - r->q->now;

	if ((it = item(r, c, x)) == NULL)
		return;
	alg = key_of(x, &bits);
	judge_policy(r, c, &pname, &n);
	if ((!strcmp(alg, "RSA") && bits < RSA_FLOOR) ||
	    (!strcmp(alg, "EC") && bits < EC_FLOOR) || !strcmp(alg, "DSA") ||
	    n.key_rule[0] != '\0') {
		json_t *w = json_deep_copy(it);
		(void)json_object_set_new(w, "KeyAlgorithm", json_string(alg));
		(void)json_object_set_new(w, "KeyBits", json_integer(bits));
		(void)json_object_set_new(w, "Reason",
		    json_string(n.key_rule[0] ? n.key_rule
					      : "below the absolute floor "
						"(RSA 2048, EC P-256)"));
		if (pname != NULL)
			(void)json_object_set_new(w, "Policy",
			    json_string(pname));
		add(r, r->weak, w);
		json_decref(w);
		r->nweak++;
	}
	(void)OBJ_find_sigid_algs(sig, &md, NULL);
	if (md == NID_sha1 || sig == NID_sha1WithRSAEncryption ||
	    sig == NID_ecdsa_with_SHA1) {
		json_t *w = json_deep_copy(it);
		(void)json_object_set_new(w, "SignatureAlgorithm",
		    json_string(OBJ_nid2sn(sig)));
		add(r, r->sha1, w);
		json_decref(w);
		r->nsha1++;
	}
	if (n.validity[0] != '\0') {
		json_t *w = json_deep_copy(it);
		(void)json_object_set_new(w, "Policy", json_string(pname));
		(void)json_object_set_new(w, "Reason", json_string(n.validity));
		add(r, r->outlive, w);
		json_decref(w);
		r->noutlive++;
	}
	if (left <= (int64_t)r->q->soon_days * MON_DAY &&
	    mon_cert_is_responder(c))
		r->nresponder++; /* rolled over by the responder itself */
	else if (left <= (int64_t)r->q->soon_days * MON_DAY) {
		json_t *w = json_deep_copy(it);
		(void)json_object_set_new(w, "DaysLeft",
		    json_real((double)left / MON_DAY));
		add(r, r->soon, w);
		json_decref(w);
		r->nsoon++;
	}
	json_decref(it);
}

struct revset {
	char (*hex)[2 * LIM_SERIAL_BYTES + 1];
	size_t n, cap;
};

static int
rev_add(const uint8_t *serial, size_t len, int64_t when, int reason, void *arg)
{
	struct revset *s = arg;
	void *p;

	(void)when;
	(void)reason;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		if ((p = realloc(s->hex, s->cap * sizeof(*s->hex))) == NULL)
			return 1;
		s->hex = p;
	}
	util_hex(serial, len, s->hex[s->n++], sizeof(s->hex[0]), 0);
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * The RFC 9773 window ACME clients are told (acme_ari_window): counted
 * when open; listed when an operator (pcactl cert renew-early) or the CA's
 * rotation moved it, so the report shows the fleet moving.
 */
static void
ari(struct rep *r, const struct store_cert *c)
{
	char hex[2 * LIM_SERIAL_BYTES + 1], iso[21], ws[21];
	int64_t start, end;
	int early = 0;
	size_t skip = c->serial_len > 1 && c->serial[0] == 0;
	json_t *it;

	util_hex(c->serial + skip, c->serial_len - skip, hex, sizeof(hex), 0);
	if (acme_ari_window(r->q->store, r->ca_uuid, hex, c->not_before,
		c->not_after, r->rotated_at, &start, &end, &early) != PCA_OK) {
		pca_err_clear();
		return;
	}
	if (start > r->q->now)
		return;
	r->nwindow++;
	if (!early)
		return;
	r->nearly++;
	it =
	    json_pack("{s:s,s:s,s:s,s:s}", "CertificateAuthorityArn", r->ca_arn,
		"Serial", hex, "NotAfter", util_iso8601(c->not_after, iso),
		"WindowStart", util_iso8601(start, ws));
	if (it != NULL)
		add(r, r->early, it);
	json_decref(it);
}

/* When the CA was rotated (OpenPCA.RotatedAt of its description), or 0. */
static int64_t
rotated_at(struct rep *r, const char *arn)
{
	char part[4][64] = {{0}};
	const char *p = arn, *q;
	struct ca_caller who;
	json_t *d = NULL;
	int64_t at;
	int i;

	for (i = 0; i < 5; i++) { /* arn:P:acm-pca:REGION:ACCOUNT: */
		if ((q = strchr(p, ':')) == NULL)
			return 0;
		if (i >= 1 && (size_t)(q - p) < sizeof(part[0]) && i - 1 < 4)
			(void)snprintf(part[i - 1], sizeof(part[0]), "%.*s",
			    (int)(q - p), p);
		p = q + 1;
	}
	who = (struct ca_caller){part[3], part[2], "report"};
	if (r->q->engine == NULL ||
	    ca_describe(r->q->engine, &who, arn, &d) != PCA_OK) {
		pca_err_clear();
		return 0;
	}
	at = json_integer_value(
	    json_object_get(json_object_get(d, "OpenPCA"), "RotatedAt"));
	json_decref(d);
	return at;
}

struct walk {
	struct rep *r;
	struct revset rev;
};

static int
each_cert(const struct store_cert *c, void *arg)
{
	struct walk *w = arg;
	char hex[2 * LIM_SERIAL_BYTES + 1];
	const unsigned char *p = c->der;
	X509 *x;

	if (c->state != STORE_CERT_ISSUED || c->der == NULL ||
	    c->not_after <= w->r->q->now)
		return 0;
	util_hex(c->serial, c->serial_len, hex, sizeof(hex), 0);
	if (w->rev.n &&
	    bsearch(hex, w->rev.hex, w->rev.n, sizeof(hex), str_cmp) != NULL)
		return 0;
	if ((x = d2i_X509(NULL, &p, (long)c->der_len)) == NULL)
		return 0;
	w->r->live++;
	judge(w->r, c, x);
	X509_free(x);
	ari(w->r, c);
	return 0;
}

static pca_err
report_ca(struct rep *r, const struct ca_info *ci)
{
	struct walk w;
	int64_t na;
	pca_err err;

	r->ca_arn = ci->arn;
	r->ca_uuid = ci->uuid;
	r->rotated_at = rotated_at(r, ci->arn);
	if (ci->cert_der != NULL) {
		const unsigned char *p = ci->cert_der;
		X509 *x = d2i_X509(NULL, &p, (long)ci->cert_len);
		struct tm tm;
		char iso[21];

		if (x != NULL &&
		    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1 &&
		    (na = util_timegm(&tm)) - r->q->now <= 365 * MON_DAY) {
			json_t *o = json_pack("{s:s,s:s,s:s,s:f}",
			    "CertificateAuthorityArn", ci->arn, "Status",
			    ci->status, "NotAfter", util_iso8601(na, iso),
			    "DaysLeft", (double)(na - r->q->now) / MON_DAY);
			if (o != NULL)
				(void)json_array_append_new(r->cas, o);
		}
		X509_free(x);
	}
	memset(&w, 0, sizeof(w));
	w.r = r;
	if ((err = store_revoked_foreach(r->q->store, ci->uuid, rev_add,
		 &w.rev)) == PCA_OK) {
		if (w.rev.n)
			qsort(w.rev.hex, w.rev.n, sizeof(w.rev.hex[0]),
			    str_cmp);
		err = store_cert_foreach(r->q->store, ci->uuid, each_cert, &w);
	}
	free(w.rev.hex);
	return err;
}

/* ---- external certificates (discover/) ---- */

struct ext_rep {
	const struct mon_report_req *q;
	json_t *names; /* subject -> true: issuers we know */
	json_t *items;
	size_t n, nfind;
	int truncated;
};

static int
ext_name(const struct disc_ext *e, void *arg)
{
	struct ext_rep *x = arg;
	const unsigned char *p = e->der;
	X509 *c = d2i_X509(NULL, &p, (long)e->der_len);
	char subj[512];

	if (c != NULL) {
		subj[0] = '\0';
		(void)X509_NAME_oneline(X509_get_subject_name(c), subj,
		    sizeof(subj));
		(void)json_object_set_new(x->names, subj, json_true());
	}
	X509_free(c);
	return 0;
}

static int
ext_judge(const struct disc_ext *e, void *arg)
{
	struct ext_rep *x = arg;
	json_t *it = disc_ext_item(e, x->q->now), *f;
	const char *iss;
	size_t i;
	json_t *v;
	int self = 0;

	if (it == NULL)
		return 0;
	f = json_object_get(it, "Findings");
	json_array_foreach (f, i, v)
		self |= strcmp(json_string_value(v), "SELF_SIGNED") == 0;
	iss = json_string_value(json_object_get(it, "Issuer"));
	if (!self && iss != NULL && json_object_get(x->names, iss) == NULL)
		(void)json_array_append_new(f, json_string("UNKNOWN_ISSUER"));
	if (json_integer_value(json_object_get(it, "NotAfter")) - x->q->now <=
		(int64_t)x->q->soon_days * MON_DAY &&
	    json_integer_value(json_object_get(it, "NotAfter")) > x->q->now)
		(void)json_array_append_new(f, json_string("EXPIRING_SOON"));
	x->n++;
	x->nfind += json_array_size(f) > 0;
	if (json_array_size(x->items) < MON_REPORT_ITEMS_MAX)
		(void)json_array_append(x->items, it);
	else
		x->truncated = 1;
	json_decref(it);
	return 0;
}

/* Our CA certificates' subjects count as known issuers. */
static void
ext_our_names(const struct mon_report_req *q, char (*ids)[37], size_t n,
    json_t *names)
{
	struct ca_info ci;
	const unsigned char *p;
	char subj[512];
	size_t i;
	X509 *c;

	for (i = 0; i < n; i++) {
		if (ca_info_get(q->engine, ids[i], &ci) != PCA_OK) {
			pca_err_clear();
			continue;
		}
		p = ci.cert_der;
		c = p != NULL ? d2i_X509(NULL, &p, (long)ci.cert_len) : NULL;
		if (c != NULL) {
			subj[0] = '\0';
			(void)X509_NAME_oneline(X509_get_subject_name(c), subj,
			    sizeof(subj));
			(void)json_object_set_new(names, subj, json_true());
		}
		X509_free(c);
		ca_info_clear(&ci);
	}
}

/* "External" and its summary counts into the report o. */
static pca_err
report_external(const struct mon_report_req *q, char (*ids)[37], size_t n,
    json_t *o)
{
	struct ext_rep x;
	json_t *sum = json_object_get(o, "Summary");
	pca_err err;

	memset(&x, 0, sizeof(x));
	x.q = q;
	x.names = json_object();
	x.items = json_array();
	if (x.names == NULL || x.items == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	ext_our_names(q, ids, n, x.names);
	if ((err = disc_ext_foreach(q->store, ext_name, &x)) != PCA_OK ||
	    (err = disc_ext_foreach(q->store, ext_judge, &x)) != PCA_OK)
		goto out;
	(void)json_object_set_new(sum, "ExternalCertificates",
	    json_integer((json_int_t)x.n));
	(void)json_object_set_new(sum, "ExternalWithFindings",
	    json_integer((json_int_t)x.nfind));
	if (x.truncated)
		(void)json_object_set_new(sum, "Truncated", json_true());
	(void)json_object_set(o, "External", x.items);
out:
	json_decref(x.names);
	json_decref(x.items);
	return err;
}

pca_err
mon_report_build(const struct mon_report_req *q0, json_t **out)
{
	struct mon_report_req q = *q0;
	char(*ids)[37] = NULL;
	struct ca_info ci;
	struct rep r;
	size_t n = 0, i;
	char iso[21];
	json_t *o = NULL;
	pca_err err;

	if (q.soon_days == 0)
		q.soon_days = 30;
	memset(&r, 0, sizeof(r));
	r.q = &q;
	r.weak = json_array();
	r.sha1 = json_array();
	r.outlive = json_array();
	r.soon = json_array();
	r.cas = json_array();
	r.early = json_array();
	if (!r.weak || !r.sha1 || !r.outlive || !r.soon || !r.cas || !r.early) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if (q.engine != NULL &&
	    (err = ca_info_ids(q.engine, &ids, &n)) != PCA_OK)
		goto out;
	for (i = 0, err = PCA_OK; i < n && err == PCA_OK; i++) {
		if (ca_info_get(q.engine, ids[i], &ci) != PCA_OK) {
			pca_err_clear();
			continue;
		}
		if (q.scope == NULL || strstr(ci.arn, q.scope) != NULL)
			err = report_ca(&r, &ci);
		ca_info_clear(&ci);
	}
	if (err != PCA_OK)
		goto out;
	o = json_pack("{s:s,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:b,s:I},"
		      "s:O,s:O,s:O,s:O,s:O}",
	    "GeneratedAt", util_iso8601(q.now, iso), "Summary",
	    "LiveCertificates", (json_int_t)r.live, "WeakKeys",
	    (json_int_t)r.nweak, "Sha1", (json_int_t)r.nsha1, "OutlivingPolicy",
	    (json_int_t)r.noutlive, "ExpiringSoon", (json_int_t)r.nsoon,
	    "CaCertificatesExpiring", (json_int_t)json_array_size(r.cas),
	    "ExpiringSoonDays", (int)q.soon_days, "Truncated", r.truncated,
	    "OcspResponderCertificatesExpiring", (json_int_t)r.nresponder,
	    "WeakKeys", r.weak, "Sha1", r.sha1, "OutlivingPolicy", r.outlive,
	    "ExpiringSoon", r.soon, "CaCertificatesExpiring", r.cas);
	if (o != NULL &&
	    (json_object_set_new(json_object_get(o, "Summary"),
		 "RenewalWindowOpen", json_integer((json_int_t)r.nwindow)) ||
		json_object_set_new(json_object_get(o, "Summary"),
		    "RenewalRequestedEarly",
		    json_integer((json_int_t)r.nearly)) ||
		json_object_set(o, "RenewalRequestedEarly", r.early))) {
		json_decref(o);
		o = NULL;
	}
	if (o == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	else if (q.scope == NULL &&
		 (err = report_external(&q, ids, n, o)) != PCA_OK)
		json_decref(o);
	else
		*out = o;
out:
	free(ids);
	json_decref(r.weak);
	json_decref(r.sha1);
	json_decref(r.outlive);
	json_decref(r.soon);
	json_decref(r.cas);
	json_decref(r.early);
	return err;
}

pca_err
mon_report(struct mon *m, const char *scope, json_t **out)
{
	struct mon_report_req q;
	pca_err err;

	pthread_mutex_lock(&m->lk);
	q = (struct mon_report_req){m->store, m->engine, m->policies, scope,
	    util_now(),
	    m->conf.thresholds[m->conf.nthresholds - 1] > 30
		? m->conf.thresholds[m->conf.nthresholds - 1]
		: 30};
	err = mon_report_build(&q, out);
	pthread_mutex_unlock(&m->lk);
	return err;
}

/* ---- the table ---- */

static pca_err
table_section(struct buf *b, const json_t *rep, const char *name,
    const char *extra)
{
	const json_t *list = json_object_get(rep, name), *it;
	size_t i;
	pca_err err;

	err = buf_printf(b, "\n%s (%zu)\n", name, json_array_size(list));
	json_array_foreach (list, i, it) {
		const json_t *e = extra ? json_object_get(it, extra) : NULL;
		const char *arn = json_string_value(
		    json_object_get(it, "CertificateAuthorityArn"));
		const char *ca =
		    arn && strrchr(arn, '/') ? strrchr(arn, '/') + 1 : "-";
		char ev[200] = "";

		if (err != PCA_OK)
			break;
		if (json_is_string(e))
			(void)snprintf(ev, sizeof(ev), "%s",
			    json_string_value(e));
		else if (json_is_number(e))
			(void)snprintf(ev, sizeof(ev), "%.1f",
			    json_number_value(e));
		err = buf_printf(b, "  %-36s  %-32s  %-20s  %s  %s\n", ca,
		    json_string_value(json_object_get(it, "Serial"))
			? json_string_value(json_object_get(it, "Serial"))
			: "CA",
		    json_string_value(json_object_get(it, "NotAfter")),
		    json_string_value(json_object_get(it, "Subject"))
			? json_string_value(json_object_get(it, "Subject"))
			: "",
		    ev);
	}
	return err;
}

/* External certificates: one line each, with their findings. */
static pca_err
ext_table(struct buf *b, const json_t *rep)
{
	const json_t *ext = json_object_get(rep, "External"), *it, *f, *v;
	pca_err err = PCA_OK;
	size_t i, k;

	if (!json_is_array(ext))
		return PCA_OK;
	err = buf_printf(b, "\nExternal certificates (%zu)\n",
	    json_array_size(ext));
	json_array_foreach (ext, i, it) {
		if (err != PCA_OK)
			break;
		err = buf_printf(b, "  %.16s  %s  seen at %s:",
		    json_string_value(json_object_get(it, "Fingerprint")),
		    json_string_value(json_object_get(it, "Subject")),
		    json_string_value(json_object_get(
			json_array_get(json_object_get(it, "SeenAt"), 0),
			"where"))
			?: "-");
		f = json_object_get(it, "Findings");
		json_array_foreach (f, k, v)
			if (err == PCA_OK)
				err =
				    buf_printf(b, " %s", json_string_value(v));
		if (err == PCA_OK)
			err = buf_addstr(b,
			    json_array_size(f) ? "\n" : " none\n");
	}
	return err;
}

pca_err
mon_report_table(const json_t *rep, struct buf *b)
{
	const json_t *s = json_object_get(rep, "Summary");
	pca_err err;

	err = buf_printf(b,
	    "Compliance report %s\n"
	    "  live certificates            %lld\n"
	    "  weak keys                    %lld\n"
	    "  SHA-1 signatures             %lld\n"
	    "  outliving their policy       %lld\n"
	    "  expiring within %lld days     %lld\n"
	    "  (OCSP responder certificates, rolled over automatically: "
	    "%lld)\n"
	    "  CA certificates expiring within a year  %lld\n"
	    "  ACME renewal window open (RFC 9773)    %lld\n"
	    "  ACME renewal requested early          %lld\n",
	    json_string_value(json_object_get(rep, "GeneratedAt")),
	    (long long)json_integer_value(
		json_object_get(s, "LiveCertificates")),
	    (long long)json_integer_value(json_object_get(s, "WeakKeys")),
	    (long long)json_integer_value(json_object_get(s, "Sha1")),
	    (long long)json_integer_value(
		json_object_get(s, "OutlivingPolicy")),
	    (long long)json_integer_value(
		json_object_get(s, "ExpiringSoonDays")),
	    (long long)json_integer_value(json_object_get(s, "ExpiringSoon")),
	    (long long)json_integer_value(
		json_object_get(s, "OcspResponderCertificatesExpiring")),
	    (long long)json_integer_value(
		json_object_get(s, "CaCertificatesExpiring")),
	    (long long)json_integer_value(
		json_object_get(s, "RenewalWindowOpen")),
	    (long long)json_integer_value(
		json_object_get(s, "RenewalRequestedEarly")));
	if (err == PCA_OK &&
	    (err = table_section(b, rep, "WeakKeys", "Reason")) == PCA_OK &&
	    (err = table_section(b, rep, "Sha1", "SignatureAlgorithm")) ==
		PCA_OK &&
	    (err = table_section(b, rep, "OutlivingPolicy", "Reason")) ==
		PCA_OK &&
	    (err = table_section(b, rep, "ExpiringSoon", "DaysLeft")) == PCA_OK)
		err =
		    table_section(b, rep, "CaCertificatesExpiring", "DaysLeft");
	if (err == PCA_OK)
		err = table_section(b, rep, "RenewalRequestedEarly",
		    "WindowStart");
	if (err == PCA_OK)
		err = ext_table(b, rep);
	if (err == PCA_OK)
		err = buf_nul(b);
	return err;
}
