/*
 * charts.c - the expiry timeline (an SVG bar chart drawn here: issued
 * certificates expiring per week over the next CON_WEEKS weeks, one bar per
 * CA and week that has any) and revocation freshness (CRL and OCSP age).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"

#define WEEK_S (7 * 86400)
#define CHART_W 760
#define CHART_H 260
#define LEFT 40
#define BOTTOM 30
#define TOP 10

#define E(x)                                                                 \
	do {                                                                 \
		if ((err = (x)) != PCA_OK)                                   \
			goto out;                                            \
	} while (0)

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

/* Counts one CA's ISSUED certificates per week into w[CON_WEEKS]. */
static pca_err
count_ca(struct con_page *p, const char *arn, unsigned *w,
    struct api_console_res *res)
{
	json_t *in = NULL, *out = NULL, *certs;
	char *tok = NULL;
	const char *next;
	size_t i, seen = 0;
	int64_t na, k;
	pca_err err = PCA_OK;

	do {
		in = json_pack("{s:s,s:s,s:I,s:i}", "CertificateAuthorityArn",
		    arn, "Status", "ISSUED", "ExpiringBefore",
		    (json_int_t)(p->now + (int64_t)CON_WEEKS * WEEK_S),
		    "MaxResults", 1000);
		if (in == NULL || (tok != NULL && json_object_set_new(in,
					 "NextToken", json_string(tok)) != 0)) {
			err = pca_err_set(PCA_ENOMEM, "no memory");
			break;
		}
		if ((err = con_call(p, "ListCertificates", in, &out, res)) !=
		    PCA_OK)
			break;
		certs = json_object_get(out, "Certificates");
		for (i = 0; i < json_array_size(certs); i++) {
			na = (int64_t)json_number_value(json_object_get(
			    json_array_get(certs, i), "NotAfter"));
			k = (na - p->now) / WEEK_S;
			if (na >= p->now && k >= 0 && k < CON_WEEKS)
				w[k]++;
		}
		seen += json_array_size(certs);
		next = json_string_value(json_object_get(out, "NextToken"));
		free(tok);
		tok = next != NULL ? strdup(next) : NULL;
		json_decref(out);
		json_decref(in);
		out = in = NULL;
	} while (tok != NULL && seen < CON_TIMELINE_SCAN);
	json_decref(in);
	free(tok);
	return err;
}

static pca_err
chart(struct con_page *p, const json_t *cas, const unsigned *w, size_t ncas)
{
	unsigned max = 1, ymax;
	size_t c, k, bars = 0;
	double slot = (double)(CHART_W - LEFT - 10) / CON_WEEKS, bw, h, x;
	double plot = CHART_H - BOTTOM - TOP;
	pca_err err = PCA_OK;

	for (k = 0; k < ncas * CON_WEEKS; k++)
		if (w[k] > max)
			max = w[k];
	ymax = max;
	bw = (slot - 6) / (double)(ncas > 0 ? ncas : 1);
	E(buf_printf(p->b, "<svg id=\"timeline\" xmlns=\"http://www.w3.org/"
	    "2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	    "role=\"img\" aria-label=\"Certificates expiring per week\">"
	    "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
	    "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
	    "<text class=\"lbl\" x=\"2\" y=\"%d\">%u</text>"
	    "<text class=\"lbl\" x=\"2\" y=\"%d\">0</text>",
	    CHART_W, CHART_H, CHART_W, CHART_H, LEFT, TOP, LEFT,
	    CHART_H - BOTTOM, LEFT, CHART_H - BOTTOM, CHART_W - 5,
	    CHART_H - BOTTOM, TOP + 10, ymax, CHART_H - BOTTOM));
	for (k = 0; k < CON_WEEKS; k++)
		E(buf_printf(p->b, "<text class=\"lbl\" x=\"%.1f\" y=\"%d\">"
		    "w%zu</text>", LEFT + slot * (double)k + 3,
		    CHART_H - BOTTOM + 15, k + 1));
	for (c = 0; c < ncas; c++)
		for (k = 0; k < CON_WEEKS; k++) {
			unsigned v = w[c * CON_WEEKS + k];

			if (v == 0)
				continue;
			h = plot * v / ymax;
			x = LEFT + slot * (double)k + 3 + bw * (double)c;
			E(buf_printf(p->b, "<rect class=\"bar c%zu\" x=\"%.1f\" "
			    "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			    "data-week=\"%zu\" data-count=\"%u\"><title>",
			    c % 8, x, CHART_H - BOTTOM - h, bw, h, k + 1, v));
			E(con_html_escape(p->b, jstr(json_array_get(cas, c),
			    "Arn")));
			E(buf_printf(p->b, ": %u in week %zu</title></rect>", v,
			    k + 1));
			bars++;
		}
	E(buf_printf(p->b, "</svg><p id=\"bars\">%zu bars.</p>"
	    "<table id=\"legend\"><tr><th></th><th>CA</th>", bars));
	for (k = 0; k < CON_WEEKS; k++)
		E(buf_printf(p->b, "<th>w%zu</th>", k + 1));
	E(buf_addstr(p->b, "</tr>"));
	for (c = 0; c < ncas; c++) {
		E(buf_printf(p->b, "<tr><td><svg width=\"12\" height=\"12\">"
		    "<rect class=\"c%zu\" width=\"12\" height=\"12\"/></svg>"
		    "</td><td>", c % 8));
		E(con_html_escape(p->b, jstr(json_array_get(cas, c), "Arn")));
		E(buf_addstr(p->b, "</td>"));
		for (k = 0; k < CON_WEEKS; k++)
			E(buf_printf(p->b, "<td>%u</td>", w[c * CON_WEEKS + k]));
		E(buf_addstr(p->b, "</tr>"));
	}
	E(buf_addstr(p->b, "</table>"));
out:
	return err;
}

pca_err
con_page_timeline(struct con_page *p)
{
	struct api_console_res res;
	json_t *cas = NULL;
	unsigned *w = NULL;
	size_t c, n;
	pca_err err;

	memset(&res, 0, sizeof(res));
	if ((err = con_list_cas(p, &cas, &res)) != PCA_OK)
		return res.status != 0 ? con_refusal(p, &res) : err;
	n = json_array_size(cas);
	if ((w = calloc((n + 1) * CON_WEEKS, sizeof(*w))) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	for (c = 0; c < n; c++)
		if ((err = count_ca(p, jstr(json_array_get(cas, c), "Arn"),
			 w + c * CON_WEEKS, &res)) != PCA_OK) {
			err = res.status != 0 ? con_refusal(p, &res) : err;
			goto out;
		}
	E(buf_printf(p->b, "<p>Issued certificates expiring in each of the "
	    "next %d weeks (week 1 starts now), per CA.</p>", CON_WEEKS));
	E(chart(p, cas, w, n));
out:
	free(w);
	json_decref(cas);
	return err;
}

/* ---- revocation freshness ---- */

static pca_err
age_cell(struct con_page *p, int64_t t, int64_t next)
{
	char s[32];
	long long age = (long long)(p->now - t);

	if (t <= 0)
		return buf_addstr(p->b, "<td class=\"warn\">none yet</td>");
	con_time(t, s);
	return buf_printf(p->b, "<td class=\"%s\">%s (%lld min ago)</td>",
	    next > 0 && next < p->now ? "bad" : "ok", s, age / 60);
}

pca_err
con_page_freshness(struct con_page *p)
{
	struct api_console_res res;
	struct con_crl *crls = NULL;
	struct con_conf cf;
	json_t *cas = NULL, *ca;
	const char *arn, *id;
	size_t i, j, ncrl = 0;
	char nu[32];
	int64_t oldest;
	pca_err err;

	memset(&res, 0, sizeof(res));
	if ((err = con_list_cas(p, &cas, &res)) != PCA_OK)
		return res.status != 0 ? con_refusal(p, &res) : err;
	pthread_mutex_lock(&p->con->mu);
	cf = p->con->conf;
	pthread_mutex_unlock(&p->con->mu);
	if ((crls = calloc(CON_CAS_MAX, sizeof(*crls))) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if (cf.crls != NULL)
		ncrl = cf.crls(cf.arg, crls, CON_CAS_MAX);
	oldest = cf.ocsp_oldest != NULL ? cf.ocsp_oldest(cf.arg) : 0;
	if (oldest > 0)
		E(buf_printf(p->b, "<p id=\"ocsp\">OCSP: the oldest pre-signed "
		    "response was signed %lld minutes ago.</p>",
		    (long long)(p->now - oldest) / 60));
	else
		E(buf_addstr(p->b, "<p id=\"ocsp\">OCSP: no pre-signed "
		    "responses yet.</p>"));
	E(buf_addstr(p->b, "<table id=\"freshness\"><tr><th>CA</th>"
	    "<th>Status</th><th>CRL thisUpdate</th><th>CRL nextUpdate</th>"
	    "</tr>"));
	for (i = 0; i < json_array_size(cas); i++) {
		ca = json_array_get(cas, i);
		arn = jstr(ca, "Arn");
		id = strrchr(arn, '/');
		id = id != NULL ? id + 1 : arn;
		for (j = 0; j < ncrl && strcmp(crls[j].ca, id) != 0; j++)
			;
		E(buf_addstr(p->b, "<tr class=\"fresh\"><td>"));
		E(con_html_escape(p->b, arn));
		E(buf_addstr(p->b, "</td><td>"));
		E(con_html_escape(p->b, jstr(ca, "Status")));
		E(buf_addstr(p->b, "</td>"));
		if (j < ncrl) {
			E(age_cell(p, crls[j].this_update, crls[j].next_update));
			con_time(crls[j].next_update, nu);
			E(buf_printf(p->b, "<td>%s</td></tr>", nu));
		} else
			E(buf_addstr(p->b, "<td class=\"warn\">none yet</td>"
			    "<td>-</td></tr>"));
	}
	E(buf_addstr(p->b, "</table>"));
out:
	free(crls);
	json_decref(cas);
	return err;
}
