/*
 * dns.c - the DNS lookups of dns-01 (RFC 8555 8.4) and CAA (RFC 8659)
 * through c-ares: a channel per lookup (thread-safe, nothing shared),
 * the configured resolvers ("ip[:port],...") or /etc/resolv.conf, a
 * deadline over the whole lookup including CNAME hops, and the record
 * data decoded by c-ares (ares_parse_txt_reply_ext, ares_parse_caa_reply).
 * Only the answer section's CNAME chain is walked here, with
 * ares_expand_name, to follow an alias the server did not chase.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ares.h>

#include "../common/util.h"
#include "acme_int.h"

#define DNS_T_TXT 16
#define DNS_T_CNAME 5
#define DNS_T_CAA 257
#define DNS_HOPS 8       /* CNAME hops followed at most */
#define DNS_TXT_MAX 64   /* TXT records kept */
#define DNS_CAA_MAX 64   /* CAA records kept */
#define DNS_VAL_MAX 1024 /* a TXT or CAA value */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc = ARES_ENOTINITIALIZED;

static void
lib_init(void)
{
	lib_rc = ares_library_init(ARES_LIB_INIT_ALL);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
acme_dns_deadline(unsigned timeout_s)
{
	return mono_ms() + (int64_t)timeout_s * 1000;
}

/* One server "ip", "ip:port", "[ip6]:port" or "ip6". */
static int
server_ok(const char *s, size_t n)
{
	char b[INET6_ADDRSTRLEN + 8], *p, *port = NULL;
	unsigned char bin[16];
	long long v;

	if (n == 0 || n >= sizeof(b))
		return 0;
	memcpy(b, s, n);
	b[n] = '\0';
	if (b[0] == '[') {
		if ((p = strchr(b, ']')) == NULL)
			return 0;
		*p = '\0';
		if (p[1] == ':')
			port = p + 2;
		else if (p[1] != '\0')
			return 0;
		if (inet_pton(AF_INET6, b + 1, bin) != 1)
			return 0;
	} else if (inet_pton(AF_INET6, b, bin) == 1) {
		return 1;
	} else {
		if ((p = strchr(b, ':')) != NULL) {
			*p = '\0';
			port = p + 1;
		}
		if (inet_pton(AF_INET, b, bin) != 1)
			return 0;
	}
	if (port == NULL)
		return 1;
	return strspn(port, "0123456789") == strlen(port) &&
	       util_strtonum(port, 1, 65535, &v) == PCA_OK;
}

int
acme_resolver_ok(const char *s)
{
	size_t k, n = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 256)
		return 0;
	for (;;) {
		k = strcspn(s, ",");
		if (!server_ok(s, k) || ++n > ACME_DNS_MAX_SERVERS)
			return 0;
		if (s[k] == '\0')
			return 1;
		s += k + 1;
	}
}

/* ---- one query on a channel of its own ---- */

struct qres {
	int done;
	int status;
	unsigned char *buf;
	int len;
};

static void
qcb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct qres *q = arg;

	(void)timeouts;
	q->done = 1;
	q->status = status;
	if (abuf != NULL && alen > 0 &&
	    (q->buf = malloc((size_t)alen)) != NULL) {
		memcpy(q->buf, abuf, (size_t)alen);
		q->len = alen;
	}
}

/* Drives the channel until the answer or the deadline. */
static void
run(ares_channel ch, struct qres *q, int64_t deadline)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct pollfd pf[ARES_GETSOCK_MAXNUM];
	struct timeval tv, *tp;
	int64_t left;
	unsigned bits;
	int i, n, ms, rd, wr;

	while (!q->done) {
		if ((left = deadline - mono_ms()) <= 0) {
			ares_cancel(ch); /* qcb: ARES_ECANCELLED */
			q->done = 1;
			q->status = ARES_ETIMEOUT;
			break;
		}
		/* the bits read unsigned: c-ares's ARES_GETSOCK_WRITABLE
		 * shifts an int 1 by up to 31 places (undefined) */
		bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
		for (i = n = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			rd = (bits >> i) & 1u;
			wr = (bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u;
			if (!rd && !wr)
				continue;
			pf[n].fd = socks[i];
			pf[n].events =
			    (short)((rd ? POLLIN : 0) | (wr ? POLLOUT : 0));
			pf[n++].revents = 0;
		}
		ms = left > 1000 ? 1000 : (int)left;
		if ((tp = ares_timeout(ch, NULL, &tv)) != NULL &&
		    tp->tv_sec * 1000 + tp->tv_usec / 1000 < ms)
			ms = (int)(tp->tv_sec * 1000 + tp->tv_usec / 1000);
		if (poll(pf, (nfds_t)n, ms) <= 0) {
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (i = 0; i < n && !q->done; i++)
			ares_process_fd(ch,
			    pf[i].revents & (POLLIN | POLLERR | POLLHUP)
				? pf[i].fd
				: ARES_SOCKET_BAD,
			    pf[i].revents & POLLOUT ? pf[i].fd
						    : ARES_SOCKET_BAD);
	}
}

static const char *
status_text(int st)
{
	switch (st) {
	case ARES_ESERVFAIL:
		return "SERVFAIL";
	case ARES_EREFUSED:
		return "REFUSED";
	case ARES_ETIMEOUT:
		return "no answer in time (resolver down or unreachable)";
	case ARES_ECONNREFUSED:
		return "the resolver refused the connection";
	default:
		return ares_strerror(st);
	}
}

/*
 * name/type through the resolvers: PCA_OK with q filled (status
 * ARES_SUCCESS, ENODATA or ENOTFOUND), else PCA_EIO with why.
 */
static pca_err
query(const struct acme_dns *d, const char *name, int type, int64_t deadline,
    struct qres *q, char *why, size_t wl)
{
	ares_channel ch;
	struct ares_options o;
	int rc, per;

	memset(q, 0, sizeof(*q));
	(void)pthread_once(&lib_once, lib_init);
	if (lib_rc != ARES_SUCCESS) {
		(void)snprintf(why, wl, "DNS: %s", ares_strerror(lib_rc));
		return PCA_EINTERNAL;
	}
	memset(&o, 0, sizeof(o));
	/* three tries per server fit in the budget (c-ares doubles) */
	per = (int)((deadline - mono_ms()) / 4);
	o.timeout = per < 200 ? 200 : per > 3000 ? 3000 : per;
	o.tries = 3;
	/* NOCHECKRESP: a SERVFAIL or REFUSED is reported as such (else
	   c-ares 1.18 turns it into "connection refused") */
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS | ARES_FLAG_NOCHECKRESP;
	o.ednspsz = 1232;
	rc = ares_init_options(&ch, &o,
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
		ARES_OPT_EDNSPSZ);
	if (rc != ARES_SUCCESS) {
		(void)snprintf(why, wl, "DNS: %s", ares_strerror(rc));
		return PCA_EIO;
	}
	if (d->servers != NULL &&
	    (rc = ares_set_servers_ports_csv(ch, d->servers)) != ARES_SUCCESS) {
		ares_destroy(ch);
		(void)snprintf(why, wl, "DNS: resolver %s: %s", d->servers,
		    ares_strerror(rc));
		return PCA_EINVAL;
	}
	ares_query(ch, name, 1 /* C_IN */, type, qcb, q);
	run(ch, q, deadline);
	ares_destroy(ch);
	if (q->status == ARES_SUCCESS || q->status == ARES_ENODATA ||
	    q->status == ARES_ENOTFOUND)
		return PCA_OK;
	(void)snprintf(why, wl, "DNS %s query for %s: %s",
	    type == DNS_T_CAA ? "CAA" : "TXT", name, status_text(q->status));
	free(q->buf);
	q->buf = NULL;
	return PCA_EIO;
}

/* ---- the answer's CNAME chain ---- */

static int
rd16(const unsigned char *p)
{
	return p[0] << 8 | p[1];
}

int
acme_dns_chain(const unsigned char *m, int len, const char *name, int type,
    char **target, int *has)
{
	const unsigned char *p = m + 12, *end = m + len;
	char *cur, *own = NULL, *t = NULL;
	long el;
	int qd, an, i, rt, rdl, hops, ok = 0;

	if (len < 12 || (cur = strdup(name)) == NULL)
		return 0;
	qd = rd16(m + 4);
	an = rd16(m + 6);
	*has = 0;
	for (i = 0; i < qd; i++) {
		if (ares_expand_name(p, m, len, &own, &el) != ARES_SUCCESS)
			goto out;
		ares_free_string(own);
		own = NULL;
		if ((p += el + 4) > end)
			goto out;
	}
	/* chains are short: rescan the answers once per hop */
	for (hops = 0; hops <= DNS_HOPS; hops++) {
		const unsigned char *a = p;
		int moved = 0;

		for (i = 0; i < an; i++) {
			if (ares_expand_name(a, m, len, &own, &el) !=
				ARES_SUCCESS ||
			    a + el + 10 > end)
				goto out;
			a += el;
			rt = rd16(a);
			rdl = rd16(a + 8);
			a += 10;
			if (a + rdl > end)
				goto out;
			if (strcasecmp(own, cur) == 0) {
				if (rt == type)
					*has = 1;
				else if (rt == DNS_T_CNAME && !moved &&
					 ares_expand_name(a, m, len, &t, &el) ==
					     ARES_SUCCESS) {
					free(cur);
					cur = strdup(t);
					ares_free_string(t);
					t = NULL;
					moved = 1;
					if (cur == NULL)
						goto out;
				}
			}
			ares_free_string(own);
			own = NULL;
			a += rdl;
		}
		if (!moved || *has)
			break;
	}
	*target = cur;
	cur = NULL;
	ok = 1;
out:
	ares_free_string(own);
	free(cur);
	return ok;
}

/*
 * The answer for name/type after following CNAMEs (a new query when the
 * server did not chase one): PCA_OK with *q (buf NULL when no record).
 */
static pca_err
lookup(const struct acme_dns *d, const char *name, int type, int64_t deadline,
    struct qres *q, char *why, size_t wl)
{
	char cur[256], *t = NULL;
	int hop, has = 0;
	pca_err err;

	(void)snprintf(cur, sizeof(cur), "%s", name);
	for (hop = 0; hop <= DNS_HOPS; hop++) {
		if ((err = query(d, cur, type, deadline, q, why, wl)) != PCA_OK)
			return err;
		if (q->buf == NULL)
			return PCA_OK;
		if (!acme_dns_chain(q->buf, q->len, cur, type, &t, &has)) {
			(void)snprintf(why, wl,
			    "DNS answer for %s is "
			    "malformed",
			    cur);
			free(q->buf);
			q->buf = NULL;
			return PCA_EIO;
		}
		if (has || strcasecmp(t, cur) == 0 ||
		    strlen(t) >= sizeof(cur)) {
			free(t);
			if (!has) {
				free(q->buf);
				q->buf = NULL;
			}
			return PCA_OK;
		}
		(void)snprintf(cur, sizeof(cur), "%s", t);
		free(t);
		t = NULL;
		free(q->buf);
		q->buf = NULL;
	}
	(void)snprintf(why, wl, "DNS: more than %d CNAMEs from %s", DNS_HOPS,
	    name);
	return PCA_EIO;
}

/* ---- TXT and CAA ---- */

void
acme_dns_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/* Appends a chunk to record *r (strings of one TXT record join). */
static int
txt_add(char **r, size_t *rl, const unsigned char *p, size_t n)
{
	char *x;

	if (*rl + n > DNS_VAL_MAX || (x = realloc(*r, *rl + n + 1)) == NULL)
		return 0;
	memcpy(x + *rl, p, n);
	*rl += n;
	x[*rl] = '\0';
	*r = x;
	return 1;
}

pca_err
acme_dns_txt(const struct acme_dns *d, const char *name, char ***out,
    size_t *nout, char *why, size_t wl)
{
	struct qres q;
	struct ares_txt_ext *txt = NULL, *t;
	char **v = NULL;
	size_t n = 0, rl = 0;
	int rc, bad = 0;
	pca_err err;

	if ((err = lookup(d, name, DNS_T_TXT, acme_dns_deadline(d->timeout_s),
		 &q, why, wl)) != PCA_OK)
		return err;
	if (q.buf != NULL) {
		rc = ares_parse_txt_reply_ext(q.buf, q.len, &txt);
		free(q.buf);
		if (rc != ARES_SUCCESS && rc != ARES_ENODATA) {
			(void)snprintf(why, wl, "DNS TXT answer for %s: %s",
			    name, ares_strerror(rc));
			return PCA_EIO;
		}
		if ((v = calloc(DNS_TXT_MAX, sizeof(*v))) == NULL) {
			ares_free_data(txt);
			return PCA_ENOMEM;
		}
	}
	for (t = txt; t != NULL; t = t->next) {
		if (t->record_start) {
			if (n == DNS_TXT_MAX)
				break; /* the first DNS_TXT_MAX are judged */
			n++;
			rl = 0;
		}
		if (n > 0 && !txt_add(&v[n - 1], &rl, t->txt, t->length)) {
			bad = 1;
			break;
		}
	}
	ares_free_data(txt);
	if (bad) {
		acme_dns_strv_free(v, n);
		(void)snprintf(why, wl,
		    "DNS TXT answer for %s: a record over "
		    "%d bytes",
		    name, DNS_VAL_MAX);
		return PCA_EIO;
	}
	*out = v;
	*nout = n;
	return PCA_OK;
}

void
acme_caa_rrs_free(struct acme_caa_rr *r, size_t n)
{
	size_t i;

	for (i = 0; r != NULL && i < n; i++)
		free(r[i].value);
	free(r);
}

pca_err
acme_dns_caa(const struct acme_dns *d, const char *name, int64_t deadline,
    struct acme_caa_rr **out, size_t *nout, char *why, size_t wl)
{
	struct qres q;
	struct ares_caa_reply *caa = NULL, *c;
	struct acme_caa_rr *r = NULL;
	size_t n = 0;
	int rc;
	pca_err err;

	if ((err = lookup(d, name, DNS_T_CAA, deadline, &q, why, wl)) != PCA_OK)
		return err;
	if (q.buf != NULL) {
		rc = ares_parse_caa_reply(q.buf, q.len, &caa);
		free(q.buf);
		if (rc != ARES_SUCCESS && rc != ARES_ENODATA) {
			(void)snprintf(why, wl, "DNS CAA answer for %s: %s",
			    name, ares_strerror(rc));
			return PCA_EIO;
		}
		if ((r = calloc(DNS_CAA_MAX, sizeof(*r))) == NULL) {
			ares_free_data(caa);
			return PCA_ENOMEM;
		}
	}
	for (c = caa; c != NULL && n < DNS_CAA_MAX; c = c->next) {
		r[n].flags = (unsigned)c->critical & 0xff;
		(void)snprintf(r[n].tag, sizeof(r[n].tag), "%.*s",
		    (int)(c->plength < sizeof(r[n].tag) ? c->plength
							: sizeof(r[n].tag) - 1),
		    (const char *)c->property);
		r[n].tag_over = c->plength >= sizeof(r[n].tag);
		if (c->length > DNS_VAL_MAX ||
		    (r[n].value = malloc(c->length + 1)) == NULL)
			break;
		memcpy(r[n].value, c->value, c->length);
		r[n].value[c->length] = '\0';
		r[n].len = c->length;
		n++;
	}
	ares_free_data(caa);
	if (c != NULL) {
		acme_caa_rrs_free(r, n);
		(void)snprintf(why, wl,
		    "DNS CAA answer for %s: too many "
		    "or too large records",
		    name);
		return PCA_EIO;
	}
	*out = r;
	*nout = n;
	return PCA_OK;
}
