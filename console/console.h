/*
 * console.h - the read-only web console, served by pcad under /console/ on
 * the API's HTTPS port: sign-in with an access key, a server-side session
 * (random 256-bit id in an HttpOnly; Secure; SameSite=Strict cookie, idle
 * and absolute expiry, a per-session CSRF token in every form, Origin
 * checked on every POST), and server-rendered pages (no scripts) whose
 * content the key's IAM policy decides: the CA hierarchy, the inventory
 * with certificate details, an expiry timeline (SVG), revocation
 * freshness and the verified audit chain.  Every answer carries a strict
 * Content-Security-Policy.  docs/console.md.
 *
 * The console asks the API (api/) to check keys and run read operations
 * as the signed-in key, and the store for the audit chain; freshness data
 * comes from callbacks cmd/pcad.c wires (CRLs, OCSP).
 */
#ifndef PCA_CONSOLE_H
#define PCA_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

struct api_server;
struct http_server;
struct store;
struct buf;
struct con;

#define CON_SESSIONS_MAX 256 /* signed-in sessions at once */
#define CON_BODY_MAX 4096    /* a console form */

/* One CA's CRL as the publisher last made it. */
struct con_crl {
	char ca[37];         /* CA id */
	int64_t this_update; /* 0: none yet */
	int64_t next_update;
};

struct con_conf {
	int enabled;     /* [console] enabled */
	unsigned idle_s; /* [console] session_minutes */
	unsigned max_s;  /* [console] session_max_hours */
	/* freshness sources, may be NULL: CRLs per CA (returns how many
	   were written, at most max), the oldest pre-signed OCSP response */
	size_t (*crls)(void *arg, struct con_crl *out, size_t max);
	int64_t (*ocsp_oldest)(void *arg); /* epoch s, 0: none */
	void *arg;
};

/* The console over the API service and the store (both outlive it). */
pca_err con_new(const struct con_conf *, struct api_server *, struct store *,
    struct con **out) PCA_WUR;
/* Its routes under /console/ (before the API's catch-all). */
pca_err con_register(struct con *, struct http_server *) PCA_WUR;
/* Session length settings on reload. */
void con_reload(struct con *, const struct con_conf *);
void con_free(struct con *);

/* ---- HTML (html.c) ---- */

/* Appends s HTML-escaped (& < > " ' and control characters). */
pca_err con_html_escape(struct buf *, const char *s) PCA_WUR;
/* The same for n bytes. */
pca_err con_html_escape_n(struct buf *, const char *s, size_t n) PCA_WUR;

/* ---- sessions (session.c) ---- */

#define CON_SID_LEN 32 /* bytes; 64 hex characters in the cookie */
#define CON_CSRF_LEN 32

struct con_session {
	uint8_t id[CON_SID_LEN];
	char csrf[2 * CON_CSRF_LEN + 1]; /* hex */
	char akid[21];
	char account[13];
	int64_t created;
	int64_t used;
};

struct con_sessions;

pca_err con_sessions_new(size_t max, struct con_sessions **out) PCA_WUR;
void con_sessions_free(struct con_sessions *);
/*
 * A new session for akid/account at now: fresh random id and CSRF token;
 * expired sessions make room first; PCA_ELIMIT when every slot is live.
 * *out is a copy.
 */
pca_err con_session_open(struct con_sessions *, const char *akid,
    const char *account, int64_t now, unsigned idle_s, unsigned max_s,
    struct con_session *out) PCA_WUR;
/*
 * The live session whose id is hex (64 hex characters): found, not idle
 * for idle_s nor older than max_s (then it is dropped); its use time is
 * now.  PCA_ENOTFOUND otherwise.  *out is a copy.
 */
pca_err con_session_find(struct con_sessions *, const char *hex, int64_t now,
    unsigned idle_s, unsigned max_s, struct con_session *out) PCA_WUR;
/* Ends the session with that id (sign-out); unknown ids are ignored. */
void con_session_close(struct con_sessions *, const uint8_t id[CON_SID_LEN]);
/* Live sessions. */
size_t con_sessions_count(struct con_sessions *);

#endif
