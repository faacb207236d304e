/*
 * charts.c - the expiry timeline (an SVG bar chart drawn here: issued
 * certificates expiring per week over the next CON_WEEKS weeks, one bar per
 * CA and week that has any) and revocation freshness (CRL and OCSP age).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "../store/store.h"
#include "console_int.h"

#define WEEK_S ((int64_t)7 * 86400)
#define CHART_W 760
#define CHART_H 260
#define LEFT 40
#define BOTTOM 30
#define TOP 10

struct week_count {
	int64_t now;
	unsigned *w;
};

static int
count_one(const struct store_cert *c, const uint8_t *cursor, size_t len,
    void *arg)
{
	struct week_count *wc = arg;
	int64_t k = (c->not_after - wc->now) / WEEK_S;

	(void)cursor;
	(void)len;
	if (c->not_after >= wc->now && k >= 0 && k < CON_WEEKS)
		wc->w[k]++;
	return 0;
}

/*
 * Counts one CA's ISSUED certificates (signed, not revoked, not expired)
 * per week into w[CON_WEEKS], when the key may list them (the decision of
 * OpenPCA.ListCertificates on that CA), from the store's inventory index:
 * no certificate is decoded.
 */
static pca_err
count_ca(struct con_page *p, const char *arn, unsigned *w,
    struct api_console_res *res)
{
	struct store_inv_query q;
	struct week_count wc = {p->now, w};
	const char *id = strrchr(arn, '/');
	pca_err err;

	if ((err = api_console_allowed(p->con->api, &p->id, p->req->remote_ip,
		 "ListCertificates", arn, res)) != PCA_OK)
		return err;
	if (id == NULL || !util_is_uuid(id + 1))
		return PCA_OK; /* not one of ours: nothing recorded */
	memset(&q, 0, sizeof(q));
	q.ca_id = id + 1;
	q.state = STORE_INV_VALID;
	q.from = p->now;
	q.to = p->now + (int64_t)CON_WEEKS * WEEK_S;
	return store_inv_foreach(p->con->store, &q, count_one, &wc, NULL);
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
	E(buf_printf(p->b,
	    "<svg id=\"timeline\" xmlns=\"http://www.w3.org/"
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
		E(buf_printf(p->b,
		    "<text class=\"lbl\" x=\"%.1f\" y=\"%d\">"
		    "w%zu</text>",
		    LEFT + slot * (double)k + 3, CHART_H - BOTTOM + 15, k + 1));
	for (c = 0; c < ncas; c++)
		for (k = 0; k < CON_WEEKS; k++) {
			unsigned v = w[c * CON_WEEKS + k];

			if (v == 0)
				continue;
			h = plot * v / ymax;
			x = LEFT + slot * (double)k + 3 + bw * (double)c;
			E(buf_printf(p->b,
			    "<rect class=\"bar c%zu\" x=\"%.1f\" "
			    "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			    "data-week=\"%zu\" data-count=\"%u\"><title>",
			    c % 8, x, CHART_H - BOTTOM - h, bw, h, k + 1, v));
			E(con_html_escape(p->b,
			    con_str(json_array_get(cas, c), "Arn")));
			E(buf_printf(p->b, ": %u in week %zu</title></rect>", v,
			    k + 1));
			bars++;
		}
	E(buf_printf(p->b,
	    "</svg><p id=\"bars\">%zu bars.</p>"
	    "<table id=\"legend\"><tr><th></th><th>CA</th>",
	    bars));
	for (k = 0; k < CON_WEEKS; k++)
		E(buf_printf(p->b, "<th>w%zu</th>", k + 1));
	E(buf_addstr(p->b, "</tr>"));
	for (c = 0; c < ncas; c++) {
		E(buf_printf(p->b,
		    "<tr><td><svg width=\"12\" height=\"12\">"
		    "<rect class=\"c%zu\" width=\"12\" height=\"12\"/></svg>"
		    "</td><td>",
		    c % 8));
		E(con_html_escape(p->b,
		    con_str(json_array_get(cas, c), "Arn")));
		E(buf_addstr(p->b, "</td>"));
		for (k = 0; k < CON_WEEKS; k++)
			E(buf_printf(p->b, "<td>%u</td>",
			    w[c * CON_WEEKS + k]));
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
		if ((err = count_ca(p, con_str(json_array_get(cas, c), "Arn"),
			 w + c * CON_WEEKS, &res)) != PCA_OK) {
			err = res.status != 0 ? con_refusal(p, &res) : err;
			goto out;
		}
	E(buf_printf(p->b,
	    "<p>Issued certificates expiring in each of the "
	    "next %d weeks (week 1 starts now), per CA.</p>",
	    CON_WEEKS));
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
		E(buf_printf(p->b,
		    "<p id=\"ocsp\">OCSP: the oldest pre-signed "
		    "response was signed %lld minutes ago.</p>",
		    (long long)(p->now - oldest) / 60));
	else
		E(buf_addstr(p->b, "<p id=\"ocsp\">OCSP: no pre-signed "
				   "responses yet.</p>"));
	E(buf_addstr(p->b,
	    "<table id=\"freshness\"><tr><th>CA</th>"
	    "<th>Status</th><th>CRL thisUpdate</th><th>CRL nextUpdate</th>"
	    "</tr>"));
	for (i = 0; i < json_array_size(cas); i++) {
		ca = json_array_get(cas, i);
		arn = con_str(ca, "Arn");
		id = strrchr(arn, '/');
		id = id != NULL ? id + 1 : arn;
		for (j = 0; j < ncrl && strcmp(crls[j].ca, id) != 0; j++)
			;
		E(buf_addstr(p->b, "<tr class=\"fresh\"><td>"));
		E(con_html_escape(p->b, arn));
		E(buf_addstr(p->b, "</td><td>"));
		E(con_html_escape(p->b, con_str(ca, "Status")));
		E(buf_addstr(p->b, "</td>"));
		if (j < ncrl) {
			E(age_cell(p, crls[j].this_update,
			    crls[j].next_update));
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
