/*
 * targets.c - the endpoints of a discovery run, from the configured
 * host:port list, targets file and CIDR x ports only.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "disc.h"

#define DISC_FILE_MAX (1 << 20)

void
disc_targets_free(struct disc_targets *ts)
{
	if (ts == NULL)
		return;
	free(ts->t);
	ts->t = NULL;
	ts->n = 0;
}

pca_err
disc_starttls_parse(const char *s, enum disc_starttls *out)
{
	if (s == NULL || strcmp(s, "none") == 0)
		*out = DISC_TLS;
	else if (strcmp(s, "smtp") == 0)
		*out = DISC_SMTP;
	else if (strcmp(s, "imap") == 0)
		*out = DISC_IMAP;
	else if (strcmp(s, "postgres") == 0)
		*out = DISC_POSTGRES;
	else
		return pca_err_set(PCA_EINVAL,
		    "starttls must be smtp, imap "
		    "or postgres, not '%.40s'",
		    s);
	return PCA_OK;
}

static pca_err
port_check(const char *p, size_t n)
{
	char buf[8];
	long long v;

	if (n == 0 || n >= sizeof(buf))
		return PCA_EINVAL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (util_strtonum(buf, 1, 65535, &v) != PCA_OK) {
		pca_err_clear();
		return PCA_EINVAL;
	}
	return PCA_OK;
}

static pca_err
add(const struct disc_spec *s, struct disc_targets *ts, const char *host,
    size_t hlen, const char *port, size_t plen)
{
	struct disc_target *t;
	enum disc_starttls st;
	void *p;

	if (ts->n >= DISC_TARGETS_MAX)
		return pca_err_set(PCA_ETOOBIG,
		    "more than %d discovery "
		    "targets",
		    DISC_TARGETS_MAX);
	if (hlen == 0 || hlen > DISC_HOST_MAX ||
	    port_check(port, plen) != PCA_OK)
		return pca_err_set(PCA_EINVAL,
		    "bad discovery target "
		    "'%.*s:%.*s' (host:port)",
		    (int)(hlen > 80 ? 80 : hlen), host,
		    (int)(plen > 8 ? 8 : plen), port);
	if (disc_starttls_parse(s->starttls, &st) != PCA_OK)
		return PCA_EINVAL;
	if ((p = realloc(ts->t, (ts->n + 1) * sizeof(*ts->t))) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	ts->t = p;
	t = &ts->t[ts->n++];
	memset(t, 0, sizeof(*t));
	memcpy(t->host, host, hlen);
	memcpy(t->port, port, plen);
	t->starttls = st;
	if (s->sni != NULL)
		(void)snprintf(t->sni, sizeof(t->sni), "%s", s->sni);
	return PCA_OK;
}

/* "host:port" or "[v6]:port". */
static pca_err
add_hostport(const struct disc_spec *s, struct disc_targets *ts, const char *hp,
    size_t n)
{
	const char *colon;

	if (n > 0 && hp[0] == '[') {
		colon = memchr(hp, ']', n);
		if (colon == NULL || colon + 1 >= hp + n || colon[1] != ':')
			goto bad;
		return add(s, ts, hp + 1, (size_t)(colon - hp - 1), colon + 2,
		    (size_t)(hp + n - colon - 2));
	}
	colon = NULL;
	for (size_t i = 0; i < n; i++)
		if (hp[i] == ':')
			colon = hp + i;
	if (colon == NULL)
		goto bad;
	return add(s, ts, hp, (size_t)(colon - hp), colon + 1,
	    (size_t)(hp + n - colon - 1));
bad:
	return pca_err_set(PCA_EINVAL,
	    "bad discovery target '%.*s' "
	    "(host:port)",
	    (int)(n > 80 ? 80 : n), hp);
}

static pca_err
add_cidr(const struct disc_spec *s, struct disc_targets *ts)
{
	char net[INET_ADDRSTRLEN], ip[INET_ADDRSTRLEN];
	const char *slash = strchr(s->cidr, '/'), *p, *e;
	struct in_addr a;
	long long bits;
	uint32_t base, count, i;
	pca_err err;

	if (s->ports == NULL || *s->ports == '\0')
		return pca_err_set(PCA_EINVAL, "a CIDR range needs ports");
	if (slash == NULL || (size_t)(slash - s->cidr) >= sizeof(net))
		goto bad;
	memcpy(net, s->cidr, (size_t)(slash - s->cidr));
	net[slash - s->cidr] = '\0';
	if (inet_pton(AF_INET, net, &a) != 1 ||
	    util_strtonum(slash + 1, 16, 32, &bits) != PCA_OK)
		goto bad;
	count = (uint32_t)1 << (32 - bits);
	base = ntohl(a.s_addr) & ~(count - 1);
	for (i = 0; i < count; i++) {
		a.s_addr = htonl(base + i);
		if (inet_ntop(AF_INET, &a, ip, sizeof(ip)) == NULL)
			goto bad;
		for (p = s->ports; *p != '\0'; p = *e ? e + 1 : e) {
			e = strchr(p, ',');
			if (e == NULL)
				e = p + strlen(p);
			if ((err = add(s, ts, ip, strlen(ip), p,
				 (size_t)(e - p))) != PCA_OK)
				return err;
		}
	}
	return PCA_OK;
bad:
	pca_err_clear();
	return pca_err_set(PCA_EINVAL,
	    "bad CIDR range '%.60s' (IPv4, "
	    "prefix /16 to /32)",
	    s->cidr);
}

pca_err
disc_targets_build(const struct disc_spec *s, struct disc_targets *out)
{
	struct disc_targets ts = {NULL, 0};
	enum disc_starttls st;
	pca_err err = PCA_OK;
	size_t i;

	if ((err = disc_starttls_parse(s->starttls, &st)) != PCA_OK)
		return err;
	for (i = 0; i < s->nhostports && err == PCA_OK; i++)
		err = add_hostport(s, &ts, s->hostports[i],
		    strlen(s->hostports[i]));
	if (err == PCA_OK && s->cidr != NULL)
		err = add_cidr(s, &ts);
	if (err != PCA_OK) {
		disc_targets_free(&ts);
		return err;
	}
	free(out->t);
	*out = ts;
	return PCA_OK;
}

pca_err
disc_targets_file(const char *path, const struct disc_spec *s,
    struct disc_targets *out)
{
	struct disc_targets ts = {NULL, 0};
	uint8_t *text = NULL;
	const char *p, *e, *end;
	size_t n, len;
	pca_err err;

	if ((err = disc_targets_build(s, &ts)) != PCA_OK)
		return err;
	if ((err = util_file_read(path, DISC_FILE_MAX, &text, &len)) != PCA_OK)
		goto out;
	end = (const char *)text + len;
	for (p = (const char *)text; p < end && err == PCA_OK; p = e + 1) {
		e = memchr(p, '\n', (size_t)(end - p));
		if (e == NULL)
			e = end;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		n = (size_t)(e - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
				    p[n - 1] == '\r'))
			n--;
		if (n == 0 || *p == '#')
			continue;
		err = add_hostport(s, &ts, p, n);
	}
out:
	free(text);
	if (err != PCA_OK) {
		disc_targets_free(&ts);
		return err;
	}
	free(out->t);
	*out = ts;
	return PCA_OK;
}
