/*
 * pages_ext.c - the anomaly alerts (alert/, after an IAM check of
 * openpca:ListAlerts) and the discovery results: external certificates
 * through OpenPCA.ListCertificates with Origin EXTERNAL, and where our own
 * were seen (discover/'s records, for the CAs the key may list).  Every
 * field is escaped: certificates from the network are attacker-controlled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../alert/alert.h"
#include "../discover/disc.h"
#include "../store/store.h"
#include "console_int.h"

#define CON_ALERTS_SHOWN 200 /* newest alerts on the page */
#define CON_SEEN_SHOWN 200   /* our certificates seen, on the page */
#define CA_MARK "certificate-authority/"
#define EXT_HEAD                                                               \
	"<tr><th>Subject</th><th>Issuer</th><th>Serial</th><th>Not after</th>" \
	"<th>Status</th><th>Findings</th><th>Seen at</th><th>First seen</th>"  \
	"<th>Last seen</th></tr>"

/* The CAs the key may list, by id: {"<id>": {CA}}; empty when it may not
   list any (pages then show what needs no CA). */
static pca_err
visible_cas(struct con_page *p, json_t **out)
{
	struct api_console_res res;
	json_t *cas = NULL, *ca, *m = json_object();
	const char *arn, *id;
	size_t i;
	pca_err err;

	if (m == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	memset(&res, 0, sizeof(res));
	if ((err = con_list_cas(p, &cas, &res)) != PCA_OK) {
		if (res.status == 0) {
			json_decref(m);
			return err;
		}
		pca_err_clear(); /* refused: no CA is visible */
	}
	json_array_foreach (cas, i, ca) {
		arn = con_str(ca, "Arn");
		if ((id = strstr(arn, CA_MARK)) != NULL)
			(void)json_object_set(m, id + strlen(CA_MARK), ca);
	}
	json_decref(cas);
	*out = m;
	return PCA_OK;
}

/* A CA's common name, else its ARN. */
static const char *
ca_name(const json_t *ca)
{
	const json_t *subj = json_object_get(
	    json_object_get(ca, "CertificateAuthorityConfiguration"),
	    "Subject");
	const char *cn = json_string_value(json_object_get(subj, "CommonName"));

	return cn != NULL ? cn : con_str(ca, "Arn");
}

/* ---- alerts ---- */

/* The detail members other than principal and CA, as "k=v" pairs. */
static pca_err
alert_detail(struct con_page *p, const json_t *d)
{
	const char *k;
	json_t *v;
	char *t;
	int first = 1;
	pca_err err = PCA_OK;

	json_object_foreach ((json_t *)d, k, v) {
		if (strcmp(k, "principal") == 0 || strcmp(k, "ca_id") == 0)
			continue;
		if (!first)
			E(buf_addstr(p->b, ", "));
		first = 0;
		E(con_html_escape(p->b, k));
		E(buf_addstr(p->b, "="));
		if (json_is_string(v)) {
			E(con_html_escape(p->b, json_string_value(v)));
			continue;
		}
		if ((t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) ==
		    NULL) {
			err = pca_err_set(PCA_ENOMEM, "no memory");
			goto out;
		}
		err = con_html_escape(p->b, t);
		free(t);
		if (err != PCA_OK)
			goto out;
	}
out:
	return err;
}

static pca_err
alert_row(struct con_page *p, const json_t *a, const json_t *ca)
{
	const json_t *d = json_object_get(a, "detail"),
		     *ack = json_object_get(a, "ack");
	int acked = json_is_true(json_object_get(a, "acknowledged"));
	char w[32], at[32];
	pca_err err = PCA_OK;

	con_time(json_integer_value(json_object_get(a, "raised_at")), w);
	E(buf_printf(p->b, "<tr class=\"alert %s\"><td>%s</td><td>",
	    acked ? "acked" : "open", w));
	E(con_html_escape(p->b, con_str(a, "kind")));
	E(buf_addstr(p->b, "</td><td>"));
	E(con_html_escape(p->b,
	    json_object_get(d, "principal") ? con_str(d, "principal") : "-"));
	E(buf_addstr(p->b, "</td><td>"));
	E(con_html_escape(p->b, ca != NULL ? ca_name(ca) : "-"));
	E(buf_addstr(p->b, "</td><td>"));
	E(alert_detail(p, d));
	E(buf_addstr(p->b, "<br><small>"));
	E(con_html_escape(p->b, con_str(a, "id")));
	E(buf_addstr(p->b, "</small></td><td>"));
	if (acked) {
		con_time(json_integer_value(json_object_get(ack, "at")), at);
		E(buf_addstr(p->b,
		    "<span class=\"ok\">acknowledged</span> by "));
		E(con_html_escape(p->b, con_str(ack, "by")));
		E(buf_printf(p->b, " at %s", at));
	} else
		E(buf_addstr(p->b, "<span class=\"warn\">open</span>"));
	E(buf_addstr(p->b, "</td></tr>"));
out:
	return err;
}

pca_err
con_page_alerts(struct con_page *p)
{
	struct api_console_res res;
	json_t *all = NULL, *cas = NULL, *a, *ca;
	const char *st = con_query(p, "state"), *id;
	int open_only = st != NULL && strcmp(st, "open") == 0;
	size_t i, shown = 0, open = 0, hidden = 0;
	pca_err err;

	memset(&res, 0, sizeof(res));
	if ((err = api_console_allowed(p->con->api, &p->id, p->req->remote_ip,
		 "openpca:ListAlerts", NULL, &res)) != PCA_OK)
		return res.status != 0 ? con_refusal(p, &res) : err;
	if ((err = visible_cas(p, &cas)) != PCA_OK ||
	    (err = alert_list(p->con->store, &all)) != PCA_OK)
		goto out;
	E(buf_printf(p->b,
	    "<form class=\"filters\" method=\"get\" action=\"/console/alerts\">"
	    "<label>Show <select name=\"state\"><option value=\"\">all"
	    "</option><option value=\"open\"%s>open only</option></select>"
	    "</label><button type=\"submit\">Filter</button></form>"
	    "<table id=\"alerts\"><tr><th>Raised</th><th>Kind</th>"
	    "<th>Principal</th><th>CA</th><th>Details</th><th>State</th></tr>",
	    open_only ? " selected" : ""));
	for (i = json_array_size(all); i-- > 0;) { /* newest first */
		a = json_array_get(all, i);
		id = json_string_value(
		    json_object_get(json_object_get(a, "detail"), "ca_id"));
		ca = id != NULL ? json_object_get(cas, id) : NULL;
		if (id != NULL && ca == NULL) {
			hidden++; /* about a CA this key may not list */
			continue;
		}
		if (json_is_true(json_object_get(a, "acknowledged"))) {
			if (open_only)
				continue;
		} else
			open++;
		if (shown < CON_ALERTS_SHOWN) {
			E(alert_row(p, a, ca));
			shown++;
		}
	}
	E(buf_printf(p->b,
	    "</table><p id=\"count\">%zu alerts shown (newest first, at most "
	    "%d), %zu open; %zu about CAs this key may not list are left "
	    "out.</p>",
	    shown, CON_ALERTS_SHOWN, open, hidden));
out:
	json_decref(all);
	json_decref(cas);
	return err;
}

/* ---- discovery ---- */

/* "where (SNI name), first - last" for each endpoint. */
static pca_err
endpoints(struct con_page *p, const json_t *eps)
{
	const json_t *e;
	char f[32], l[32];
	size_t i;
	pca_err err = PCA_OK;

	E(buf_addstr(p->b, "<ul class=\"seen\">"));
	json_array_foreach (eps, i, e) {
		con_time(json_integer_value(json_object_get(e, "first")), f);
		con_time(json_integer_value(json_object_get(e, "last")), l);
		E(buf_addstr(p->b, "<li>"));
		E(con_html_escape(p->b, con_str(e, "where")));
		if (con_str(e, "sni")[0] != '\0') {
			E(buf_addstr(p->b, " (SNI "));
			E(con_html_escape(p->b, con_str(e, "sni")));
			E(buf_addstr(p->b, ")"));
		}
		E(buf_printf(p->b, " <small>%s to %s</small></li>", f, l));
	}
	E(buf_addstr(p->b, "</ul>"));
out:
	return err;
}

static pca_err
ext_row(struct con_page *p, const json_t *c)
{
	const json_t *f;
	char na[32], fs[32], ls[32];
	size_t i;
	pca_err err = PCA_OK;

	con_time(json_integer_value(json_object_get(c, "NotAfter")), na);
	con_time(json_integer_value(json_object_get(c, "FirstSeen")), fs);
	con_time(json_integer_value(json_object_get(c, "LastSeen")), ls);
	E(buf_addstr(p->b, "<tr class=\"ext\"><td class=\"subject\">"));
	E(con_html_escape(p->b, con_str(c, "Subject")));
	E(buf_addstr(p->b, "</td><td class=\"issuer\">"));
	E(con_html_escape(p->b, con_str(c, "Issuer")));
	E(buf_addstr(p->b, "</td><td><a href=\"/console/external?fp="));
	E(con_url_escape(p->b, con_str(c, "Fingerprint")));
	E(buf_addstr(p->b, "\">"));
	E(con_html_escape(p->b, con_str(c, "Serial")));
	E(buf_printf(p->b, "</a></td><td>%s</td><td class=\"st-", na));
	E(con_html_escape(p->b, con_str(c, "Status")));
	E(buf_addstr(p->b, "\">"));
	E(con_html_escape(p->b, con_str(c, "Status")));
	E(buf_addstr(p->b, "</td><td class=\"findings\">"));
	json_array_foreach (json_object_get(c, "Findings"), i, f) {
		E(buf_addstr(p->b, "<span class=\"bad\">"));
		E(con_html_escape(p->b, json_string_value(f)));
		E(buf_addstr(p->b, "</span> "));
	}
	E(buf_addstr(p->b, "</td><td>"));
	E(endpoints(p, json_object_get(c, "SeenAt")));
	E(buf_printf(p->b, "</td><td>%s</td><td>%s</td></tr>", fs, ls));
out:
	return err;
}

static pca_err
disc_form(struct con_page *p)
{
	static const char *const sts[] = {"", "ISSUED", "EXPIRED"};
	pca_err err = PCA_OK;

	E(con_filter_open(p, "/console/discovery", sts,
	    sizeof(sts) / sizeof(sts[0])));
	E(buf_addstr(p->b, "<label>Subject contains <input "
			   "name=\"name\" value=\""));
	E(con_html_escape(p->b, con_query(p, "name")));
	E(buf_addstr(p->b, "\"></label><button type=\"submit\">Filter"
			   "</button></form>"));
out:
	return err;
}

static pca_err
disc_request(struct con_page *p, json_t **out)
{
	json_t *in = json_pack("{s:s,s:i}", "Origin", "EXTERNAL", "MaxResults",
	    CON_INV_PAGE);
	const char *v;

	if (in == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((v = con_query(p, "status")) != NULL && v[0] != '\0')
		json_object_set_new(in, "Status", json_string(v));
	if ((v = con_query(p, "name")) != NULL && v[0] != '\0')
		json_object_set_new(in, "NameContains", json_string(v));
	if ((v = con_query(p, "next")) != NULL && v[0] != '\0')
		json_object_set_new(in, "NextToken", json_string(v));
	*out = in;
	return PCA_OK;
}

/* The filters the discovery page's next page keeps. */
static const char *const disc_keep[] = {"status", "name"};

/* Our certificates discovery saw, for the CAs the key may list. */
struct seen_walk {
	struct con_page *p;
	json_t *cas;
	json_t *allowed; /* CA id -> the IAM decision, asked once each */
	size_t n, hidden;
	pca_err err;
};

static int
seen_ok(struct seen_walk *w, const char *id, const json_t *ca)
{
	struct api_console_res res;
	json_t *d = json_object_get(w->allowed, id);
	pca_err e;

	if (d != NULL)
		return json_is_true(d);
	e = api_console_allowed(w->p->con->api, &w->p->id, w->p->req->remote_ip,
	    "openpca:ListCertificates", con_str(ca, "Arn"), &res);
	pca_err_clear();
	(void)json_object_set_new(w->allowed, id, json_boolean(e == PCA_OK));
	return e == PCA_OK;
}

static pca_err
seen_row(struct seen_walk *w, const json_t *ca, const char *serial,
    const json_t *rec)
{
	struct con_page *p = w->p;
	pca_err err = PCA_OK;

	E(buf_addstr(p->b, "<tr class=\"ours\"><td>"));
	E(con_html_escape(p->b, ca_name(ca)));
	E(buf_addstr(p->b, "</td><td><a href=\"/console/cert?ca="));
	E(con_url_escape(p->b, con_str(ca, "Arn")));
	E(buf_addstr(p->b, "&amp;arn="));
	E(con_url_escape(p->b, con_str(ca, "Arn")));
	E(buf_addstr(p->b, "%2Fcertificate%2F"));
	E(con_url_escape(p->b, serial));
	E(buf_addstr(p->b, "\">"));
	E(con_html_escape(p->b, serial));
	E(buf_addstr(p->b, "</a></td><td>"));
	E(endpoints(p, json_object_get(rec, "endpoints")));
	E(buf_addstr(p->b, "</td></tr>"));
out:
	return err;
}

static int
seen_cb(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct seen_walk *w = arg;
	const char *slash = strchr(key, '/');
	char id[37];
	json_t *ca, *rec;

	if (slash == NULL || (size_t)(slash - key) != sizeof(id) - 1)
		return 0;
	memcpy(id, key, sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	if ((ca = json_object_get(w->cas, id)) == NULL || !seen_ok(w, id, ca)) {
		w->hidden++;
		return 0;
	}
	if (w->n >= CON_SEEN_SHOWN)
		return 1;
	if ((rec = json_loadb((const char *)val, len, 0, NULL)) == NULL)
		return 0;
	w->err = seen_row(w, ca, slash + 1, rec);
	json_decref(rec);
	w->n++;
	return w->err != PCA_OK;
}

static pca_err
seen_ours(struct con_page *p)
{
	struct seen_walk w;
	pca_err err;

	memset(&w, 0, sizeof(w));
	w.p = p;
	if ((w.allowed = json_object()) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((err = visible_cas(p, &w.cas)) != PCA_OK)
		goto out;
	E(buf_addstr(p->b,
	    "<h2>Our certificates seen at endpoints</h2><table "
	    "id=\"seen-ours\"><tr><th>CA</th><th>Serial</th><th>Seen at</th>"
	    "</tr>"));
	if ((err = store_kv_foreach(p->con->store, DISC_NS_OURS, seen_cb,
		 &w)) == PCA_OK)
		err = w.err;
	if (err != PCA_OK)
		goto out;
	E(buf_printf(p->b,
	    "</table><p id=\"seen-count\">%zu shown (at most %d); %zu of CAs "
	    "this key may not list are left out.</p>",
	    w.n, CON_SEEN_SHOWN, w.hidden));
out:
	json_decref(w.allowed);
	json_decref(w.cas);
	return err;
}

pca_err
con_page_discovery(struct con_page *p)
{
	struct api_console_res res;
	json_t *in = NULL, *out = NULL, *certs;
	const char *next;
	size_t i;
	pca_err err;

	memset(&res, 0, sizeof(res));
	if ((err = disc_form(p)) != PCA_OK ||
	    (err = disc_request(p, &in)) != PCA_OK)
		return err;
	if ((err = con_call(p, "ListCertificates", in, &out, &res)) != PCA_OK) {
		json_decref(in);
		return res.status != 0 ? con_refusal(p, &res) : err;
	}
	certs = json_object_get(out, "Certificates");
	E(buf_printf(p->b,
	    "<h2>External certificates</h2><p id=\"count\">%zu external "
	    "certificates on this page (found by discovery or imported).</p>"
	    "<table id=\"external\">" EXT_HEAD,
	    json_array_size(certs)));
	for (i = 0; i < json_array_size(certs); i++)
		E(ext_row(p, json_array_get(certs, i)));
	E(buf_addstr(p->b, "</table>"));
	if ((next = json_string_value(json_object_get(out, "NextToken"))) !=
	    NULL)
		E(con_next_link(p, "/console/discovery", disc_keep,
		    sizeof(disc_keep) / sizeof(disc_keep[0]), next));
	if (con_query(p, "next") == NULL) /* the first page only */
		E(seen_ours(p));
out:
	json_decref(in);
	json_decref(out);
	return err;
}

/* ---- one external certificate ---- */

static pca_err
ext_decoded(struct con_page *p, const char *pem)
{
	BIO *in = BIO_new_mem_buf(pem, -1), *o = BIO_new(BIO_s_mem());
	X509 *x = in != NULL ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
	char *t = NULL;
	long n = 0;
	pca_err err = PCA_OK;

	if (x == NULL || o == NULL ||
	    X509_print_ex(o, x, XN_FLAG_ONELINE, X509_FLAG_NO_SIGDUMP) != 1) {
		ERR_clear_error(); /* shown as not decodable */
		err = buf_addstr(p->b, "<p class=\"bad\">The certificate does "
				       "not decode.</p>");
		goto out;
	}
	n = BIO_get_mem_data(o, &t);
	E(buf_addstr(p->b, "<pre id=\"decoded\">"));
	if (n > 0)
		E(con_html_escape_n(p->b, t, (size_t)n));
	E(buf_addstr(p->b, "</pre>"));
out:
	X509_free(x);
	BIO_free(in);
	BIO_free(o);
	return err;
}

pca_err
con_page_external(struct con_page *p)
{
	struct api_console_res res;
	const char *fp = con_query(p, "fp");
	json_t *in = NULL, *out = NULL;
	pca_err err;

	memset(&res, 0, sizeof(res));
	if (fp == NULL) {
		res.status = 400;
		(void)snprintf(res.code, sizeof(res.code), "InvalidArgs");
		(void)snprintf(res.message, sizeof(res.message),
		    "name a certificate: ?fp=<SHA-256 fingerprint>");
		return con_refusal(p, &res);
	}
	if ((in = json_pack("{s:s}", "Fingerprint", fp)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((err = con_call(p, "GetExternalCertificate", in, &out, &res)) !=
	    PCA_OK) {
		json_decref(in);
		return res.status != 0 ? con_refusal(p, &res) : err;
	}
	E(buf_addstr(p->b, "<p><small>SHA-256 "));
	E(con_html_escape(p->b, fp));
	E(buf_addstr(p->b, "</small></p><table id=\"summary\">" EXT_HEAD));
	E(ext_row(p, out));
	E(buf_addstr(p->b, "</table>"));
	E(ext_decoded(p, con_str(out, "Certificate")));
	E(buf_addstr(p->b, "<details><summary>PEM</summary><pre>"));
	E(con_html_escape(p->b, con_str(out, "Certificate")));
	E(buf_addstr(p->b, "</pre></details>"));
out:
	json_decref(in);
	json_decref(out);
	return err;
}
