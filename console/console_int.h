/*
 * console_int.h - shared inside console/: the request a page sees and the
 * page helpers.
 */
#ifndef PCA_CONSOLE_INT_H
#define PCA_CONSOLE_INT_H

#include <pthread.h>

#include <jansson.h>

#include "../api/api.h"
#include "../common/buf.h"
#include "../http/http.h"
#include "console.h"

#define CON_PAGE_MAX (8 * 1024 * 1024) /* one rendered page */
#define CON_CAS_MAX 1000               /* CAs listed on one page */
#define CON_WEEKS 12                   /* weeks on the expiry timeline */
#define CON_INV_PAGE 50                /* inventory rows per page */
#define CON_AUDIT_SHOWN 100            /* newest audit entries shown */

#define CON_THROTTLE_SLOTS 64  /* client addresses with failed sign-ins */
#define CON_SIGNIN_FAILS 5     /* failures per address ... */
#define CON_SIGNIN_WINDOW_S 60 /* ... within this: refused until it ends */

struct con_throttle {
	char ip[64];
	int64_t since; /* first failure of the window */
	unsigned fails;
};

struct con {
	struct api_server *api;
	struct store *store;
	struct con_sessions *sessions;
	pthread_mutex_t mu; /* conf, throttle */
	struct con_conf conf;
	struct con_throttle throttle[CON_THROTTLE_SLOTS];
};

/* One signed-in request being answered. */
struct con_page {
	struct con *con;
	const struct http_req *req;
	struct con_session s;
	struct api_console_id id;
	struct buf *b; /* the page body, after the shell */
	int64_t now;
	int status; /* 200 unless a page says otherwise */
	struct http_hdr q[HTTP_MAX_HEADERS]; /* query, percent-decoded */
	size_t nq;
	char qbuf[8192];
};

/* The percent-decoded query argument name, or NULL. */
const char *con_query(const struct con_page *, const char *name);
/* The page shell around body. */
pca_err con_shell_open(struct con_page *, const char *title) PCA_WUR;
pca_err con_shell_close(struct con_page *) PCA_WUR;
/* A refusal (403, AccessDenied) or another failure, as a readable page. */
pca_err con_refusal(struct con_page *, const struct api_console_res *) PCA_WUR;
/* Runs a read operation as the session's key. */
pca_err con_call(struct con_page *, const char *op, const json_t *in,
    json_t **out, struct api_console_res *res) PCA_WUR;
/* The string member k of o, or "" (never NULL). */
const char *con_str(const json_t *o, const char *k);
/* s percent-encoded for a query string. */
pca_err con_url_escape(struct buf *, const char *s) PCA_WUR;
/*
 * A list page's filter form, opened: its action and the status select with
 * the choices sts ("" is "any"), the request's status selected.
 */
pca_err con_filter_open(struct con_page *, const char *action,
    const char *const *sts, size_t nsts) PCA_WUR;
/*
 * The "Next page" link of a list page: path (e.g. "/console/inventory")
 * with the query arguments named in keep that the request had, and tok.
 */
pca_err con_next_link(struct con_page *, const char *path,
    const char *const *keep, size_t nkeep, const char *tok) PCA_WUR;

/* Inside the console's page builders: stop at the first failure. */
#define E(x)                                                                   \
	do {                                                                   \
		if ((err = (x)) != PCA_OK)                                     \
			goto out;                                              \
	} while (0)
/* A time as "2026-12-04 21:03Z" (HTML-safe). */
void con_time(int64_t t, char out[32]);

/* The pages (pages.c, charts.c, pages_ext.c). */
pca_err con_page_hierarchy(struct con_page *) PCA_WUR;
pca_err con_page_inventory(struct con_page *) PCA_WUR;
pca_err con_page_cert(struct con_page *) PCA_WUR;
pca_err con_page_timeline(struct con_page *) PCA_WUR;
pca_err con_page_freshness(struct con_page *) PCA_WUR;
pca_err con_page_audit(struct con_page *) PCA_WUR;
/* pages_ext.c */
pca_err con_page_alerts(struct con_page *) PCA_WUR;
pca_err con_page_discovery(struct con_page *) PCA_WUR;
pca_err con_page_external(struct con_page *) PCA_WUR;

/* Every CA the key may list (ListCertificateAuthorities, paginated). */
pca_err con_list_cas(struct con_page *, json_t **cas,
    struct api_console_res *res) PCA_WUR;

#endif
