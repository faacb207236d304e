/*
 * pages.c - the CA hierarchy, the inventory, one certificate and the audit
 * chain.  Data comes from read operations run as the signed-in key (its
 * policy decides) and, for the audit chain, from the store after an IAM
 * check of openpca:GetAuditLog.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/util.h"
#include "../store/store.h"
#include "console_int.h"

static int64_t
jtime(const json_t *o, const char *k)
{
	return (int64_t)json_number_value(json_object_get(o, k));
}

pca_err
con_list_cas(struct con_page *p, json_t **cas, struct api_console_res *res)
{
	json_t *all = json_array(), *in = NULL, *out = NULL;
	const char *next = NULL;
	char *tok = NULL;
	pca_err err = PCA_OK;

	if (all == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	do {
		in = json_pack("{s:i}", "MaxResults", 100);
		if (in == NULL ||
		    (tok != NULL && json_object_set_new(in, "NextToken",
					json_string(tok)) != 0)) {
			err = pca_err_set(PCA_ENOMEM, "no memory");
			break;
		}
		if ((err = con_call(p, "ListCertificateAuthorities", in, &out,
			 res)) != PCA_OK)
			break;
		json_array_extend(all,
		    json_object_get(out, "CertificateAuthorities"));
		next = json_string_value(json_object_get(out, "NextToken"));
		free(tok);
		tok = next != NULL ? strdup(next) : NULL;
		json_decref(out);
		json_decref(in);
		out = in = NULL;
	} while (tok != NULL && json_array_size(all) < CON_CAS_MAX);
	json_decref(in);
	free(tok);
	if (err != PCA_OK) {
		json_decref(all);
		return err;
	}
	*cas = all;
	return PCA_OK;
}

/* ---- the CA hierarchy ---- */

struct node {
	const json_t *ca;
	X509 *cert;
	size_t parent; /* index, or SIZE_MAX for a root / unknown */
};

static X509 *
pem_x509(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return x;
}

static pca_err
ca_cert(struct con_page *p, const char *arn, X509 **out)
{
	struct api_console_res res;
	json_t *in = json_pack("{s:s}", "CertificateAuthorityArn", arn);
	json_t *o = NULL;
	pca_err err;

	*out = NULL;
	if (in == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	err = con_call(p, "GetCertificateAuthorityCertificate", in, &o, &res);
	json_decref(in);
	if (err == PCA_OK)
		*out = pem_x509(con_str(o, "Certificate"));
	json_decref(o);
	/* no certificate yet, or not allowed: shown without a parent */
	return PCA_OK;
}

static pca_err
tree_item(struct con_page *p, const struct node *n, size_t nn, size_t i,
    int depth)
{
	const json_t *ca = n[i].ca, *subj;
	const char *st = con_str(ca, "Status");
	char na[32];
	size_t j;
	pca_err err = PCA_OK;

	subj = json_object_get(
	    json_object_get(ca, "CertificateAuthorityConfiguration"),
	    "Subject");
	con_time(jtime(ca, "NotAfter"), na);
	E(buf_addstr(p->b, "<li class=\"ca\"><strong>"));
	E(con_html_escape(p->b, json_object_get(subj, "CommonName")
				    ? con_str(subj, "CommonName")
				    : con_str(ca, "Arn")));
	E(buf_addstr(p->b, "</strong> "));
	E(con_html_escape(p->b, con_str(ca, "Type")));
	E(buf_addstr(p->b, " <span class=\"st-"));
	E(con_html_escape(p->b, st));
	E(buf_addstr(p->b, "\">"));
	E(con_html_escape(p->b, st));
	E(buf_printf(p->b, "</span> expires %s", na));
	if (jtime(ca, "NotAfter") > 0 && jtime(ca, "NotAfter") < p->now)
		E(buf_addstr(p->b, " <span class=\"bad\">(expired)</span>"));
	E(buf_addstr(p->b, "<br><small>"));
	E(con_html_escape(p->b, con_str(ca, "Arn")));
	E(buf_addstr(p->b, "</small>"));
	if (depth < 16) {
		int open = 0;

		for (j = 0; j < nn && err == PCA_OK; j++)
			if (n[j].parent == i) {
				if (!open)
					E(buf_addstr(p->b,
					    "<ul class=\"tree\">"));
				open = 1;
				E(tree_item(p, n, nn, j, depth + 1));
			}
		if (open)
			E(buf_addstr(p->b, "</ul>"));
	}
	E(buf_addstr(p->b, "</li>"));
out:
	return err;
}

pca_err
con_page_hierarchy(struct con_page *p)
{
	struct api_console_res res;
	struct node *n = NULL;
	json_t *cas = NULL;
	size_t i, j, nn;
	pca_err err;

	if ((err = con_list_cas(p, &cas, &res)) != PCA_OK)
		return res.status != 0 ? con_refusal(p, &res) : err;
	nn = json_array_size(cas);
	if ((n = calloc(nn + 1, sizeof(*n))) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	for (i = 0; i < nn; i++) {
		n[i].ca = json_array_get(cas, i);
		n[i].parent = SIZE_MAX;
		E(ca_cert(p, con_str(n[i].ca, "Arn"), &n[i].cert));
	}
	for (i = 0; i < nn; i++)
		for (j = 0; j < nn && n[i].cert != NULL; j++)
			if (i != j && n[j].cert != NULL &&
			    X509_check_issued(n[j].cert, n[i].cert) ==
				X509_V_OK)
				n[i].parent = j;
	E(buf_printf(p->b,
	    "<p id=\"count\">%zu certificate authorities "
	    "visible to this key.</p><ul class=\"tree\" id=\"hierarchy\">",
	    nn));
	for (i = 0; i < nn; i++)
		if (n[i].parent == SIZE_MAX)
			E(tree_item(p, n, nn, i, 0));
	E(buf_addstr(p->b, "</ul>"));
out:
	for (i = 0; n != NULL && i < nn; i++)
		X509_free(n[i].cert);
	free(n);
	json_decref(cas);
	return err;
}

/* ---- the inventory ---- */

static const char *const inv_filters[][2] = {{"status", "Status"},
    {"name", "NameContains"}, {"ca", "CertificateAuthorityArn"},
    {"template", "TemplateArn"}};

static pca_err
inv_form(struct con_page *p)
{
	static const char *const sts[] = {"", "ISSUED", "EXPIRED", "REVOKED",
	    "PENDING"};
	pca_err err = PCA_OK;
	size_t i;

	E(con_filter_open(p, "/console/inventory", sts,
	    sizeof(sts) / sizeof(sts[0])));
	for (i = 1; i < 4; i++) {
		E(buf_printf(p->b, "<label>%s <input name=\"%s\" value=\"",
		    inv_filters[i][1], inv_filters[i][0]));
		E(con_html_escape(p->b, con_query(p, inv_filters[i][0])));
		E(buf_addstr(p->b, "\"></label>"));
	}
	E(buf_addstr(p->b, "<label>Expiring within (days) <input "
			   "name=\"days\" size=\"5\" value=\""));
	E(con_html_escape(p->b, con_query(p, "days")));
	E(buf_addstr(p->b, "\"></label><button type=\"submit\">Filter"
			   "</button></form>"));
out:
	return err;
}

/* The ListCertificates request of the page's filters. */
static pca_err
inv_request(struct con_page *p, json_t **out, struct api_console_res *res)
{
	json_t *in = json_pack("{s:i}", "MaxResults", CON_INV_PAGE);
	const char *v;
	long long days;
	size_t i;

	if (in == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (i = 0; i < 4; i++)
		if ((v = con_query(p, inv_filters[i][0])) != NULL &&
		    v[0] != '\0')
			json_object_set_new(in, inv_filters[i][1],
			    json_string(v));
	if ((v = con_query(p, "next")) != NULL && v[0] != '\0')
		json_object_set_new(in, "NextToken", json_string(v));
	if ((v = con_query(p, "days")) != NULL && v[0] != '\0') {
		if (util_strtonum(v, 0, 36500, &days) != PCA_OK) {
			json_decref(in);
			res->status = 400;
			(void)snprintf(res->code, sizeof(res->code),
			    "InvalidArgsException");
			(void)snprintf(res->message, sizeof(res->message),
			    "days must be a whole number from 0 to 36500");
			return pca_err_set(PCA_EINVAL, "%s", res->message);
		}
		json_object_set_new(in, "ExpiringBefore",
		    json_integer(p->now + days * 86400));
	}
	*out = in;
	return PCA_OK;
}

static pca_err
cert_link(struct con_page *p, const json_t *c)
{
	pca_err err = PCA_OK;

	E(buf_addstr(p->b, "<a href=\"/console/cert?ca="));
	E(con_url_escape(p->b, con_str(c, "CertificateAuthorityArn")));
	E(buf_addstr(p->b, "&amp;arn="));
	E(con_url_escape(p->b, con_str(c, "CertificateArn")));
	E(buf_addstr(p->b, "\">"));
	E(con_html_escape(p->b, con_str(c, "Serial")));
	E(buf_addstr(p->b, "</a>"));
out:
	return err;
}

static pca_err
inv_row(struct con_page *p, const json_t *c)
{
	const char *st = con_str(c, "Status");
	char na[32];
	pca_err err = PCA_OK;

	con_time(jtime(c, "NotAfter"), na);
	E(buf_addstr(p->b, "<tr class=\"cert\"><td>"));
	E(cert_link(p, c));
	E(buf_addstr(p->b, "</td><td>"));
	E(con_html_escape(p->b, con_str(c, "Subject")));
	E(buf_addstr(p->b, "</td><td class=\"st-"));
	E(con_html_escape(p->b, st));
	E(buf_addstr(p->b, "\">"));
	E(con_html_escape(p->b, st));
	E(buf_printf(p->b, "</td><td>%s</td><td>", na));
	E(con_html_escape(p->b, con_str(c, "CertificateAuthorityArn")));
	E(buf_addstr(p->b, "</td></tr>"));
out:
	return err;
}

pca_err
con_next_link(struct con_page *p, const char *path, const char *const *keep,
    size_t nkeep, const char *tok)
{
	const char *v;
	pca_err err = PCA_OK;
	size_t i;

	E(buf_printf(p->b, "<p><a id=\"next\" href=\"%s?", path));
	for (i = 0; i < nkeep; i++)
		if ((v = con_query(p, keep[i])) != NULL) {
			E(buf_printf(p->b, "%s=", keep[i]));
			E(con_url_escape(p->b, v));
			E(buf_addstr(p->b, "&amp;"));
		}
	E(buf_addstr(p->b, "next="));
	E(con_url_escape(p->b, tok));
	E(buf_addstr(p->b, "\">Next page</a></p>"));
out:
	return err;
}

pca_err
con_filter_open(struct con_page *p, const char *action, const char *const *sts,
    size_t nsts)
{
	const char *v = con_query(p, "status");
	pca_err err = PCA_OK;
	size_t i;

	E(buf_printf(p->b,
	    "<form class=\"filters\" method=\"get\" action=\"%s\"><label>"
	    "Status <select name=\"status\">",
	    action));
	for (i = 0; i < nsts; i++)
		E(buf_printf(p->b, "<option value=\"%s\"%s>%s</option>", sts[i],
		    v != NULL && strcmp(v, sts[i]) == 0 ? " selected" : "",
		    sts[i][0] ? sts[i] : "any"));
	E(buf_addstr(p->b, "</select></label>"));
out:
	return err;
}

/* The filters the inventory's next page keeps. */
static const char *const inv_keep[] = {"status", "name", "ca", "template",
    "days"};

pca_err
con_page_inventory(struct con_page *p)
{
	struct api_console_res res;
	json_t *in = NULL, *out = NULL, *certs;
	const char *next;
	size_t i;
	pca_err err;

	memset(&res, 0, sizeof(res));
	if ((err = inv_form(p)) != PCA_OK)
		return err;
	if ((err = inv_request(p, &in, &res)) != PCA_OK ||
	    (err = con_call(p, "ListCertificates", in, &out, &res)) != PCA_OK) {
		json_decref(in);
		return res.status != 0 ? con_refusal(p, &res) : err;
	}
	certs = json_object_get(out, "Certificates");
	E(buf_printf(p->b,
	    "<p id=\"count\">%zu certificates on this page."
	    "</p><table id=\"inventory\"><tr><th>Serial</th><th>Subject</th>"
	    "<th>Status</th><th>Not after</th><th>CA</th></tr>",
	    json_array_size(certs)));
	for (i = 0; i < json_array_size(certs); i++)
		E(inv_row(p, json_array_get(certs, i)));
	E(buf_addstr(p->b, "</table>"));
	if ((next = json_string_value(json_object_get(out, "NextToken"))) !=
	    NULL)
		E(con_next_link(p, "/console/inventory", inv_keep,
		    sizeof(inv_keep) / sizeof(inv_keep[0]), next));
out:
	json_decref(in);
	json_decref(out);
	return err;
}

/* ---- one certificate ---- */

static pca_err
x509_text(struct con_page *p, X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *t = NULL;
	long n;
	pca_err err = PCA_OK;

	if (bio == NULL ||
	    X509_print_ex(bio, x, XN_FLAG_ONELINE,
		X509_FLAG_NO_SIGDUMP | X509_FLAG_NO_PUBKEY) != 1) {
		BIO_free(bio);
		return pca_err_set(PCA_EBADCERT, "certificate cannot be shown");
	}
	n = BIO_get_mem_data(bio, &t);
	err = buf_addstr(p->b, "<pre id=\"decoded\">");
	if (err == PCA_OK && n > 0)
		err = con_html_escape_n(p->b, t, (size_t)n);
	if (err == PCA_OK)
		err = buf_addstr(p->b, "</pre>");
	BIO_free(bio);
	return err;
}

static pca_err
name_line(struct con_page *p, const X509_NAME *nm)
{
	char s[512];

	if (X509_NAME_oneline(nm, s, sizeof(s)) == NULL)
		(void)snprintf(s, sizeof(s), "?");
	return con_html_escape(p->b, s);
}

static pca_err
chain_list(struct con_page *p, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x;
	char na[32];
	pca_err err = PCA_OK;
	int k = 0;

	E(buf_addstr(p->b, "<h2>Chain</h2><ol id=\"chain\">"));
	while (bio != NULL && err == PCA_OK &&
	       (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		const ASN1_TIME *t = X509_get0_notAfter(x);
		struct tm tm;

		con_time(t != NULL && ASN1_TIME_to_tm(t, &tm) == 1
			     ? util_timegm(&tm)
			     : 0,
		    na);
		if ((err = buf_addstr(p->b, "<li>")) == PCA_OK &&
		    (err = name_line(p, X509_get_subject_name(x))) == PCA_OK &&
		    (err = buf_addstr(p->b, " <small>issued by ")) == PCA_OK &&
		    (err = name_line(p, X509_get_issuer_name(x))) == PCA_OK)
			err = buf_printf(p->b, ", expires %s</small></li>", na);
		X509_free(x);
		k++;
	}
	ERR_clear_error(); /* end of the PEM list */
	if (err == PCA_OK)
		err = buf_printf(p->b,
		    "</ol><p>%d certificates up to the "
		    "root.</p>",
		    k);
out:
	BIO_free(bio);
	return err;
}

pca_err
con_page_cert(struct con_page *p)
{
	struct api_console_res res;
	const char *ca = con_query(p, "ca"), *arn = con_query(p, "arn");
	json_t *in = NULL, *out = NULL;
	X509 *x = NULL;
	pca_err err;

	memset(&res, 0, sizeof(res));
	if (ca == NULL || arn == NULL) {
		res.status = 400;
		(void)snprintf(res.code, sizeof(res.code), "InvalidArgs");
		(void)snprintf(res.message, sizeof(res.message),
		    "name a certificate: ?ca=<CA ARN>&arn=<certificate ARN>");
		return con_refusal(p, &res);
	}
	if ((in = json_pack("{s:s,s:s}", "CertificateAuthorityArn", ca,
		 "CertificateArn", arn)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((err = con_call(p, "GetCertificate", in, &out, &res)) != PCA_OK) {
		json_decref(in);
		return res.status != 0 ? con_refusal(p, &res) : err;
	}
	E(buf_addstr(p->b, "<p><small>"));
	E(con_html_escape(p->b, arn));
	E(buf_addstr(p->b, "</small></p>"));
	if ((x = pem_x509(con_str(out, "Certificate"))) == NULL) {
		ERR_clear_error();
		E(buf_addstr(p->b, "<p class=\"bad\">The certificate does not "
				   "decode.</p>"));
	} else
		E(x509_text(p, x));
	E(chain_list(p, con_str(out, "CertificateChain")));
	E(buf_addstr(p->b, "<details><summary>PEM</summary><pre>"));
	E(con_html_escape(p->b, con_str(out, "Certificate")));
	E(buf_addstr(p->b, "</pre></details>"));
out:
	X509_free(x);
	json_decref(in);
	json_decref(out);
	return err;
}

/* ---- the audit chain ---- */

struct audit_tail {
	uint64_t from;
	size_t n;
	struct con_page *p;
	pca_err err;
};

static int
audit_row(uint64_t seq, int64_t when, const char *text, const uint8_t prev[32],
    void *arg)
{
	struct audit_tail *t = arg;
	char w[32];

	(void)prev;
	con_time(when, w);
	if ((t->err = buf_printf(t->p->b, "<tr><td>%llu</td><td>%s</td><td>",
		 (unsigned long long)seq, w)) == PCA_OK &&
	    (t->err = con_html_escape(t->p->b, text)) == PCA_OK)
		t->err = buf_addstr(t->p->b, "</td></tr>");
	/* entries appended since the check wait for the next page */
	return t->err != PCA_OK || ++t->n >= CON_AUDIT_SHOWN;
}

pca_err
con_page_audit(struct con_page *p)
{
	struct api_console_res res;
	struct store_audit_check chk;
	struct audit_tail t;
	char hex[65];
	pca_err err;

	if ((err = api_console_allowed(p->con->api, &p->id, p->req->remote_ip,
		 "openpca:GetAuditLog", NULL, &res)) != PCA_OK)
		return res.status != 0 ? con_refusal(p, &res) : err;
	if ((err = store_audit_verify(p->con->store, &chk)) != PCA_OK)
		return err;
	(void)util_hex(chk.hash, sizeof(chk.hash), hex, sizeof(hex), 0);
	if (chk.broken_at == 0)
		err = buf_printf(p->b,
		    "<p id=\"verdict\" class=\"ok\">Verified"
		    ": %llu entries, each carrying the SHA-256 of the one "
		    "before; the head matches (entry %llu, %s).</p>",
		    (unsigned long long)chk.entries,
		    (unsigned long long)chk.last, hex);
	else
		err = buf_printf(p->b,
		    "<p id=\"verdict\" class=\"bad\">BROKEN"
		    ": the chain breaks at entry %llu (%llu entries before it "
		    "check).</p>",
		    (unsigned long long)chk.broken_at,
		    (unsigned long long)chk.entries);
	if (err != PCA_OK)
		return err;
	memset(&t, 0, sizeof(t));
	t.p = p;
	t.from =
	    chk.last > CON_AUDIT_SHOWN ? chk.last - CON_AUDIT_SHOWN + 1 : 1;
	if ((err = buf_printf(p->b,
		 "<h2>Entries %llu to %llu</h2><table "
		 "id=\"audit\"><tr><th>#</th><th>When</th><th>Entry</th></tr>",
		 (unsigned long long)t.from, (unsigned long long)chk.last)) !=
	    PCA_OK)
		return err;
	if ((err = store_audit_foreach(p->con->store, t.from, audit_row, &t)) !=
	    PCA_OK)
		return err;
	if (t.err != PCA_OK)
		return t.err;
	return buf_addstr(p->b, "</table>");
}
