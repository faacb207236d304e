/*
 * console.c - the console's routes: static assets, sign-in and sign-out,
 * the session and CSRF checks, the security headers, and the page shell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../store/store.h"
#include "console_int.h"

#define PREFIX "/console/"
#define COOKIE "pca_console"
#define CT_HTML "text/html; charset=utf-8"
#define CSP                                                                    \
	"default-src 'none'; style-src 'self'; img-src 'self' data:; "         \
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

static const char css[] =
    "body{font-family:sans-serif;margin:0;color:#1d2329;background:#f6f7f9}"
    "header{background:#1d3557;color:#fff;padding:.5em 1em;display:flex;"
    "align-items:center;gap:1em;flex-wrap:wrap}"
    "header a{color:#fff;text-decoration:none;margin-right:1em}"
    "header form{margin-left:auto}"
    "main{padding:1em 2em}"
    "table{border-collapse:collapse;background:#fff}"
    "th,td{border:1px solid #ccd;padding:.25em .5em;text-align:left;"
    "font-size:90%}"
    "pre{background:#fff;border:1px solid #ccd;padding:.5em;"
    "overflow-x:auto}"
    "ul.tree{list-style:none;padding-left:1.5em}"
    "ul.tree li{margin:.25em 0}"
    "ul.seen{margin:0;padding-left:1em}td.findings span{margin-right:.25em}"
    ".st-ACTIVE,.st-ISSUED,.ok{color:#1b7a1b;font-weight:bold}"
    ".st-DISABLED,.st-EXPIRED,.st-FAILED,.st-DELETED,.st-REVOKED,.bad"
    "{color:#b00020;font-weight:bold}"
    ".st-PENDING_CERTIFICATE,.st-CREATING,.st-PENDING,.warn"
    "{color:#a05a00;font-weight:bold}"
    "form.filters label{margin-right:1em}"
    ".refusal{background:#fff0f0;border:1px solid #b00020;padding:1em}"
    ".login{max-width:28em;background:#fff;padding:1em 2em;"
    "border:1px solid #ccd;margin:3em auto}"
    ".login input{width:100%;margin:.25em 0 1em}"
    "svg{background:#fff;border:1px solid #ccd}"
    ".bar{stroke:#1d2329;stroke-width:.5}"
    ".c0{fill:#457b9d}.c1{fill:#e76f51}.c2{fill:#2a9d8f}.c3{fill:#e9c46a}"
    ".c4{fill:#8d5fd3}.c5{fill:#f4a261}.c6{fill:#264653}.c7{fill:#a8dadc}"
    ".axis{stroke:#1d2329}.lbl{font-size:11px;fill:#1d2329}\n";

static const char favicon[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">"
    "<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#1d3557\"/>"
    "<path d=\"M4 8l3 3 5-6\" stroke=\"#fff\" stroke-width=\"2\" "
    "fill=\"none\"/></svg>\n";

/* ---- small helpers ---- */

const char *
con_query(const struct con_page *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nq; i++)
		if (strcmp(p->q[i].name, name) == 0)
			return p->q[i].value;
	return NULL;
}

/* s percent-decoded ('+' a space) into *o (within end); NULL when full. */
static const char *
url_decode(const char *s, char **o, const char *end)
{
	char *start = *o, c;
	int h, l;

	for (; *s != '\0'; s++) {
		c = *s;
		if (c == '+')
			c = ' ';
		else if (c == '%' && (h = util_hexval(s[1])) >= 0 &&
			 (l = util_hexval(s[2])) >= 0 && (h || l)) {
			c = (char)(h << 4 | l);
			s += 2;
		}
		if (*o + 1 >= end)
			return NULL;
		*(*o)++ = c;
	}
	if (*o >= end)
		return NULL;
	*(*o)++ = '\0';
	return start;
}

/* The request's query arguments, decoded (as many as fit). */
static void
query_decode(struct con_page *p)
{
	char *o = p->qbuf, *end = p->qbuf + sizeof(p->qbuf);
	const char *n, *v;
	size_t i;

	for (i = 0; i < p->req->nquery && p->nq < HTTP_MAX_HEADERS; i++) {
		if ((n = url_decode(p->req->query[i].name, &o, end)) == NULL ||
		    (v = url_decode(
			 p->req->query[i].value ? p->req->query[i].value : "",
			 &o, end)) == NULL)
			break;
		p->q[p->nq].name = n;
		p->q[p->nq++].value = v;
	}
}

const char *
con_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

pca_err
con_url_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3];
	pca_err err = PCA_OK;

	for (; s != NULL && *s != '\0' && err == PCA_OK; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~')
			err = buf_add(b, s, 1);
		else {
			e[0] = '%';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			err = buf_add(b, e, 3);
		}
	}
	return err;
}

void
con_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%d %H:%MZ", &tm) == 0)
		(void)snprintf(out, 32, "-");
}

static void
security_headers(struct http_resp *o)
{
	http_resp_hdr(o, "Content-Security-Policy", CSP);
	http_resp_hdr(o, "X-Content-Type-Options", "nosniff");
	http_resp_hdr(o, "X-Frame-Options", "DENY");
	http_resp_hdr(o, "Referrer-Policy", "same-origin");
	http_resp_hdr(o, "Cache-Control", "no-store");
}

static void
redirect(struct http_resp *o, const char *to)
{
	http_resp_text(o, 303, "text/plain; charset=utf-8", "See Other\n");
	http_resp_hdr(o, "Location", to);
}

/* Form field name of an x-www-form-urlencoded body, decoded: 1, 0 absent,
   -1 malformed or too long. */
static int
form_get(const uint8_t *body, size_t len, const char *name, char *out,
    size_t outlen)
{
	size_t i = 0, nl = strlen(name), o;
	int h, l;

	while (i < len) {
		size_t end = i;

		while (end < len && body[end] != '&')
			end++;
		if (end - i > nl && body[i + nl] == '=' &&
		    memcmp(body + i, name, nl) == 0) {
			for (o = 0, i += nl + 1; i < end; i++) {
				char c = (char)body[i];

				if (c == '+')
					c = ' ';
				else if (c == '%') {
					if (i + 2 >= end)
						return -1;
					h = util_hexval(body[i + 1]);
					l = util_hexval(body[i + 2]);
					if (h < 0 || l < 0)
						return -1;
					c = (char)(h << 4 | l);
					i += 2;
				}
				if (c == '\0' || o + 1 >= outlen)
					return -1;
				out[o++] = c;
			}
			out[o] = '\0';
			return 1;
		}
		if (end - i == nl && memcmp(body + i, name, nl) == 0) {
			out[0] = '\0';
			return 1;
		}
		i = end + 1;
	}
	return 0;
}

/* The session cookie's value, or NULL (in buf). */
static const char *
cookie_sid(const struct http_req *r, char *buf, size_t n)
{
	size_t i;
	const char *c, *p;

	for (i = 0; i < r->nhdrs; i++) {
		if (strcasecmp(r->hdrs[i].name, "cookie") != 0)
			continue;
		for (c = r->hdrs[i].value; c != NULL && *c != '\0';) {
			while (*c == ' ' || *c == ';')
				c++;
			p = c + strcspn(c, ";");
			if ((size_t)(p - c) == strlen(COOKIE) + 1 + 64 &&
			    strncmp(c, COOKIE "=", strlen(COOKIE) + 1) == 0 &&
			    n > 64) {
				memcpy(buf, c + strlen(COOKIE) + 1, 64);
				buf[64] = '\0';
				return buf;
			}
			c = p;
		}
	}
	return NULL;
}

/*
 * A POST must come from our own pages: Origin (which browsers send on
 * every form POST) equal to https://<Host>.
 */
static int
origin_ok(const struct http_req *r)
{
	const char *origin = http_req_hdr(r, "origin");
	const char *host = http_req_hdr(r, "host");
	char want[300];
	int n;

	if (origin == NULL || host == NULL)
		return 0;
	n = snprintf(want, sizeof(want), "https://%s", host);
	return n > 0 && (size_t)n < sizeof(want) &&
	       strcasecmp(origin, want) == 0;
}

static void
con_conf_get(struct con *c, struct con_conf *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->conf;
	pthread_mutex_unlock(&c->mu);
}

/* ---- the shell ---- */

pca_err
con_shell_open(struct con_page *p, const char *title)
{
	static const char *const nav[][2] = {{"", "CA hierarchy"},
	    {"inventory", "Inventory"}, {"timeline", "Expiry timeline"},
	    {"freshness", "Revocation freshness"}, {"alerts", "Alerts"},
	    {"discovery", "Discovery"}, {"audit", "Audit chain"}};
	pca_err err;
	size_t i;

	err = buf_addstr(p->b,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>OpenPCA console: ");
	if (err == PCA_OK)
		err = con_html_escape(p->b, title);
	if (err == PCA_OK)
		err = buf_addstr(p->b,
		    "</title><link rel=\"stylesheet\" "
		    "href=\"/console/style.css\"><link rel=\"icon\" "
		    "type=\"image/svg+xml\" href=\"/console/favicon.svg\">"
		    "</head><body><header><strong>OpenPCA</strong><nav>");
	for (i = 0; err == PCA_OK && i < sizeof(nav) / sizeof(nav[0]); i++)
		err = buf_printf(p->b, "<a href=\"/console/%s\">%s</a>",
		    nav[i][0], nav[i][1]);
	if (err == PCA_OK)
		err = buf_addstr(p->b,
		    "</nav><form method=\"post\" "
		    "action=\"/console/logout\"><span id=\"who\">");
	if (err == PCA_OK)
		err = con_html_escape(p->b, p->id.akid);
	if (err == PCA_OK)
		err = buf_printf(p->b,
		    "</span> <input type=\"hidden\" "
		    "name=\"csrf\" value=\"%s\"><button type=\"submit\" "
		    "id=\"signout\">Sign out</button></form></header><main>"
		    "<h1>",
		    p->s.csrf);
	if (err == PCA_OK)
		err = con_html_escape(p->b, title);
	return err == PCA_OK ? buf_addstr(p->b, "</h1>") : err;
}

pca_err
con_shell_close(struct con_page *p)
{
	return buf_addstr(p->b, "</main></body></html>\n");
}

pca_err
con_refusal(struct con_page *p, const struct api_console_res *res)
{
	pca_err err;

	p->status = res->status >= 400 ? res->status : 500;
	err = buf_printf(p->b,
	    "<div class=\"refusal\" id=\"refusal\"><p>"
	    "<strong>%s</strong></p><p>",
	    p->status == 403 ? "Not allowed" : "This page cannot be shown");
	if (err == PCA_OK)
		err = con_html_escape(p->b, res->code);
	if (err == PCA_OK)
		err = buf_addstr(p->b, ": ");
	if (err == PCA_OK)
		err = con_html_escape(p->b, res->message);
	return err == PCA_OK ? buf_addstr(p->b, "</p></div>") : err;
}

pca_err
con_call(struct con_page *p, const char *op, const json_t *in, json_t **out,
    struct api_console_res *res)
{
	return api_console_call(p->con->api, &p->id, p->req->remote_ip, op, in,
	    out, res);
}

/* ---- sign-in ---- */

static void
login_page(struct http_resp *o, int status, const char *msg)
{
	struct buf b;
	pca_err err;

	buf_init(&b, 64 * 1024);
	err = buf_addstr(&b,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>OpenPCA console: sign in</title>"
	    "<link rel=\"stylesheet\" href=\"/console/style.css\">"
	    "<link rel=\"icon\" type=\"image/svg+xml\" "
	    "href=\"/console/favicon.svg\"></head><body>"
	    "<div class=\"login\"><h1>OpenPCA console</h1>");
	if (err == PCA_OK && msg != NULL) {
		err = buf_addstr(&b, "<p class=\"bad\" id=\"error\">");
		if (err == PCA_OK)
			err = con_html_escape(&b, msg);
		if (err == PCA_OK)
			err = buf_addstr(&b, "</p>");
	}
	if (err == PCA_OK)
		err = buf_addstr(&b,
		    "<form method=\"post\" "
		    "action=\"/console/login\" autocomplete=\"off\">"
		    "<label for=\"akid\">Access key ID</label>"
		    "<input id=\"akid\" name=\"akid\" required "
		    "maxlength=\"20\">"
		    "<label for=\"secret\">Secret access key</label>"
		    "<input id=\"secret\" name=\"secret\" type=\"password\" "
		    "required maxlength=\"128\">"
		    "<button type=\"submit\" id=\"signin\">Sign in</button>"
		    "</form><p>Read-only.  What you see is what the key's IAM "
		    "policy allows.</p></div></body></html>\n");
	if (err != PCA_OK) {
		buf_free(&b);
		http_resp_text(o, 500, "text/plain", "internal error\n");
		return;
	}
	o->status = status;
	o->content_type = CT_HTML;
	o->body = buf_steal(&b, &o->len);
}

/* The address's slot (taking over the oldest when new); under c->mu. */
static struct con_throttle *
throttle_slot(struct con *c, const char *ip, int64_t now)
{
	struct con_throttle *t, *old = &c->throttle[0];
	size_t i;

	for (i = 0; i < CON_THROTTLE_SLOTS; i++) {
		t = &c->throttle[i];
		if (t->fails > 0 && strcmp(t->ip, ip) == 0) {
			if (now - t->since >= CON_SIGNIN_WINDOW_S ||
			    now < t->since)
				t->fails = 0;
			return t;
		}
		if (t->fails == 0 || t->since < old->since)
			old = t;
	}
	memset(old, 0, sizeof(*old));
	(void)snprintf(old->ip, sizeof(old->ip), "%s", ip);
	return old;
}

/* True when the address has used up its failed sign-ins. */
static int
throttled(struct con *c, const char *ip, int64_t now)
{
	int over;

	pthread_mutex_lock(&c->mu);
	over = throttle_slot(c, ip, now)->fails >= CON_SIGNIN_FAILS;
	pthread_mutex_unlock(&c->mu);
	return over;
}

/* Counts a failure (fail) or clears the address (success). */
static void
throttle_note(struct con *c, const char *ip, int64_t now, int fail)
{
	struct con_throttle *t;

	pthread_mutex_lock(&c->mu);
	t = throttle_slot(c, ip, now);
	if (!fail)
		t->fails = 0;
	else if (t->fails++ == 0)
		t->since = now;
	pthread_mutex_unlock(&c->mu);
}

/* An access key id as typed, fit for a log line (A-Z 0-9 only). */
static void
akid_safe(const char *in, char out[21])
{
	size_t i, n = 0;

	for (i = 0; in[i] != '\0' && n < 20; i++)
		if ((in[i] >= 'A' && in[i] <= 'Z') ||
		    (in[i] >= '0' && in[i] <= '9'))
			out[n++] = in[i];
	out[n] = '\0';
}

/* Sign-ins go to the audit log: who looked, from where. */
static void
audit_signin(struct con *c, const char *akid, const char *ip, int ok)
{
	char line[160], safe[21];
	uint64_t seq;

	akid_safe(akid, safe);
	(void)snprintf(line, sizeof(line),
	    "op=ConsoleSignIn who=%s source=%.64s result=%s",
	    safe[0] ? safe : "-", ip, ok ? "OK" : "Refused");
	if (store_audit_append(c->store, util_now(), line, &seq) != PCA_OK)
		log_warnx("audit append failed for '%s': %s", line,
		    pca_err_msg());
}

static void
do_login(struct con *c, const struct http_req *r, struct http_resp *o)
{
	char akid[32], secret[160], cookie[256], hex[65];
	const char *ip = r->remote_ip ? r->remote_ip : "-";
	struct api_console_id id;
	struct con_session s;
	struct con_conf cf;
	pca_err err;

	if (form_get(r->body, r->len, "akid", akid, sizeof(akid)) != 1 ||
	    form_get(r->body, r->len, "secret", secret, sizeof(secret)) != 1) {
		OPENSSL_cleanse(secret, sizeof(secret));
		login_page(o, 400, "Give an access key ID and its secret.");
		return;
	}
	if (throttled(c, ip, util_now())) {
		OPENSSL_cleanse(secret, sizeof(secret));
		login_page(o, 429,
		    "Too many failed sign-ins from this address; "
		    "try again in a minute.");
		return;
	}
	err = api_console_signin(c->api, akid, secret, &id);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (err == PCA_OK || err == PCA_EPOLICY) {
		throttle_note(c, ip, util_now(), err != PCA_OK);
		audit_signin(c, akid, ip, err == PCA_OK);
	}
	if (err == PCA_EPOLICY) {
		akid_safe(akid, akid);
		log_info("console: sign-in refused for %s from %s",
		    akid[0] ? akid : "-", ip);
		login_page(o, 401, "Wrong access key or secret.");
		return;
	}
	con_conf_get(c, &cf);
	if (err != PCA_OK ||
	    (err = con_session_open(c->sessions, id.akid, id.account,
		 util_now(), cf.idle_s, cf.max_s, &s)) != PCA_OK) {
		login_page(o, err == PCA_ELIMIT ? 503 : 500, pca_err_msg());
		return;
	}
	(void)util_hex(s.id, sizeof(s.id), hex, sizeof(hex), 0);
	(void)snprintf(cookie, sizeof(cookie),
	    COOKIE "=%s; Path=/console/; HttpOnly; Secure; SameSite=Strict; "
		   "Max-Age=%u",
	    hex, cf.max_s);
	OPENSSL_cleanse(hex, sizeof(hex));
	OPENSSL_cleanse(&s, sizeof(s));
	log_info("console: %s signed in from %s", id.akid, ip);
	redirect(o, PREFIX);
	http_resp_hdr(o, "Set-Cookie", cookie);
	OPENSSL_cleanse(cookie, sizeof(cookie));
}

static void
do_logout(struct con *c, const struct con_session *s, struct http_resp *o)
{
	con_session_close(c->sessions, s->id);
	redirect(o, PREFIX "login");
	http_resp_hdr(o, "Set-Cookie",
	    COOKIE "=; Path=/console/; HttpOnly; "
		   "Secure; SameSite=Strict; Max-Age=0");
}

/* ---- pages ---- */

static const struct {
	const char *path; /* after /console/ */
	pca_err (*fn)(struct con_page *);
	const char *title;
} pages[] = {
    {"", con_page_hierarchy, "CA hierarchy"},
    {"inventory", con_page_inventory, "Inventory"},
    {"cert", con_page_cert, "Certificate"},
    {"timeline", con_page_timeline, "Expiry timeline"},
    {"freshness", con_page_freshness, "Revocation freshness"},
    {"audit", con_page_audit, "Audit chain"},
    {"alerts", con_page_alerts, "Alerts"},
    {"discovery", con_page_discovery, "Discovery"},
    {"external", con_page_external, "External certificate"},
};

static void
page(struct con *c, const struct http_req *r, const struct con_session *s,
    size_t i, struct http_resp *o)
{
	struct con_page p;
	struct buf b;
	pca_err err;

	memset(&p, 0, sizeof(p));
	buf_init(&b, CON_PAGE_MAX);
	p.con = c;
	p.req = r;
	p.s = *s;
	p.b = &b;
	p.now = util_now();
	p.status = 200;
	(void)snprintf(p.id.akid, sizeof(p.id.akid), "%s", s->akid);
	(void)snprintf(p.id.account, sizeof(p.id.account), "%s", s->account);
	query_decode(&p);
	if ((err = con_shell_open(&p, pages[i].title)) == PCA_OK &&
	    (err = pages[i].fn(&p)) == PCA_OK)
		err = con_shell_close(&p);
	OPENSSL_cleanse(&p.s, sizeof(p.s));
	if (err != PCA_OK) {
		log_warnx("console: %s: %s", r->path, pca_err_msg());
		buf_free(&b);
		http_resp_text(o, 500, "text/plain; charset=utf-8",
		    "The console could not render this page.\n");
		return;
	}
	o->status = p.status;
	o->content_type = CT_HTML;
	o->body = buf_steal(&b, &o->len);
}

static void
route(struct con *c, const struct http_req *r, const char *sub,
    struct http_resp *o)
{
	int post = strcmp(r->method, "POST") == 0;
	char sidbuf[65], csrf[2 * CON_CSRF_LEN + 1];
	struct con_session s;
	struct con_conf cf;
	const char *sid;
	size_t i;

	if (strcmp(sub, "style.css") == 0 && !post) {
		http_resp_text(o, 200, "text/css; charset=utf-8", css);
		return;
	}
	if (strcmp(sub, "favicon.svg") == 0 && !post) {
		http_resp_text(o, 200, "image/svg+xml", favicon);
		return;
	}
	if (post && !origin_ok(r)) {
		http_resp_text(o, 403, "text/plain; charset=utf-8",
		    "Refused: this form was not sent from the console's own "
		    "pages (Origin).\n");
		return;
	}
	if (strcmp(sub, "login") == 0) {
		if (post)
			do_login(c, r, o);
		else
			login_page(o, 200, NULL);
		return;
	}
	con_conf_get(c, &cf);
	sid = cookie_sid(r, sidbuf, sizeof(sidbuf));
	if (sid == NULL || con_session_find(c->sessions, sid, util_now(),
			       cf.idle_s, cf.max_s, &s) != PCA_OK) {
		redirect(o, PREFIX "login");
		return;
	}
	OPENSSL_cleanse(sidbuf, sizeof(sidbuf));
	if (post) {
		/* every form carries the session's token */
		if (form_get(r->body, r->len, "csrf", csrf, sizeof(csrf)) !=
			1 ||
		    strlen(csrf) != strlen(s.csrf) ||
		    CRYPTO_memcmp(csrf, s.csrf, strlen(s.csrf)) != 0)
			http_resp_text(o, 403, "text/plain; charset=utf-8",
			    "Refused: the form's CSRF token is missing or "
			    "wrong.\n");
		else if (strcmp(sub, "logout") == 0)
			do_logout(c, &s, o);
		else
			http_resp_text(o, 405, "text/plain; charset=utf-8",
			    "Method not allowed\n");
		OPENSSL_cleanse(&s, sizeof(s));
		return;
	}
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (strcmp(sub, pages[i].path) == 0) {
			page(c, r, &s, i, o);
			OPENSSL_cleanse(&s, sizeof(s));
			return;
		}
	OPENSSL_cleanse(&s, sizeof(s));
	http_resp_text(o, 404, "text/plain; charset=utf-8",
	    "No such console page\n");
}

static void
handle(void *arg, const struct http_req *r, struct http_resp *o)
{
	struct con *c = arg;
	char sub[64];
	size_t n;

	if (strcmp(r->path, "/console") == 0) {
		redirect(o, PREFIX);
	} else {
		n = strcspn(r->path + strlen(PREFIX), "?");
		if (n >= sizeof(sub))
			http_resp_text(o, 404, "text/plain; charset=utf-8",
			    "No such console page\n");
		else {
			memcpy(sub, r->path + strlen(PREFIX), n);
			sub[n] = '\0';
			route(c, r, sub, o);
		}
	}
	security_headers(o);
}

/* ---- life cycle ---- */

pca_err
con_new(const struct con_conf *conf, struct api_server *api, struct store *st,
    struct con **out)
{
	struct con *c;
	pca_err err;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((err = con_sessions_new(CON_SESSIONS_MAX, &c->sessions)) !=
	    PCA_OK) {
		free(c);
		return err;
	}
	pthread_mutex_init(&c->mu, NULL);
	c->api = api;
	c->store = st;
	c->conf = *conf;
	*out = c;
	return PCA_OK;
}

pca_err
con_register(struct con *c, struct http_server *http)
{
	struct http_route rt;
	pca_err err;

	memset(&rt, 0, sizeof(rt));
	rt.port = HTTP_TLS;
	rt.methods = HTTP_M_GET | HTTP_M_HEAD | HTTP_M_POST;
	rt.body_max = CON_BODY_MAX;
	rt.fn = handle;
	rt.arg = c;
	rt.path = "/console";
	if ((err = http_route_add(http, &rt)) != PCA_OK)
		return err;
	rt.path = PREFIX;
	rt.prefix = 1;
	return http_route_add(http, &rt);
}

void
con_reload(struct con *c, const struct con_conf *conf)
{
	pthread_mutex_lock(&c->mu);
	c->conf.idle_s = conf->idle_s;
	c->conf.max_s = conf->max_s;
	pthread_mutex_unlock(&c->mu);
}

void
con_free(struct con *c)
{
	if (c == NULL)
		return;
	con_sessions_free(c->sessions);
	pthread_mutex_destroy(&c->mu);
	free(c);
}
