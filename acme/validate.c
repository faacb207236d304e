/*
 * validate.c - challenge validation from the appliance: http-01 (RFC 8555
 * 8.3) with libcurl, tls-alpn-01 (RFC 8737) with an OpenSSL client and
 * dns-01 (RFC 8555 8.4) through c-ares (dns.c).  Each attempt is bounded
 * by timeout_s; two attempts, a second apart.  A valid challenge of a dns
 * identifier is followed by the CAA check (caa.c) when it is configured.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "acme_int.h"

#define HTTP01_BODY_MAX 1024
#define ATTEMPTS 2

struct body {
	char b[HTTP01_BODY_MAX + 1];
	size_t n;
	int over;
};

static size_t
body_cb(char *p, size_t sz, size_t nm, void *arg)
{
	struct body *b = arg;
	size_t n = sz * nm;

	if (b->n + n > HTTP01_BODY_MAX) {
		b->over = 1;
		return 0;
	}
	memcpy(b->b + b->n, p, n);
	b->n += n;
	return n;
}

static pca_err
http01(const struct acme_chal *c, char *why, size_t wl, const char **pt)
{
	CURL *h;
	CURLcode cc;
	struct body b;
	struct curl_slist *ct = NULL;
	char url[512], to[128];
	long code = 0;
	pca_err err = PCA_EIO;
	int v6 = strchr(c->ident, ':') != NULL;

	memset(&b, 0, sizeof(b));
	(void)snprintf(url, sizeof(url),
	    "http://%s%s%s:%u/.well-known/acme-challenge/%s", v6 ? "[" : "",
	    c->ident, v6 ? "]" : "", c->port, c->token);
	if ((h = curl_easy_init()) == NULL) {
		(void)snprintf(why, wl, "no HTTP client");
		return PCA_ENOMEM;
	}
	if (c->addr != NULL) {
		(void)snprintf(to, sizeof(to), "::%s:", c->addr);
		ct = curl_slist_append(NULL, to);
		(void)curl_easy_setopt(h, CURLOPT_CONNECT_TO, ct);
	}
	(void)curl_easy_setopt(h, CURLOPT_URL, url);
	(void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	(void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)c->timeout_s);
	(void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)c->timeout_s);
	(void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	(void)curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	(void)curl_easy_setopt(h, CURLOPT_USERAGENT, "openpca-acme/1");
	(void)curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	cc = curl_easy_perform(h);
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK && !b.over) {
		*pt = "connection";
		(void)snprintf(why, wl, "%s: %s", url, curl_easy_strerror(cc));
	} else if (b.over) {
		*pt = "incorrectResponse";
		(void)snprintf(why, wl, "%s: response over %d bytes", url,
		    HTTP01_BODY_MAX);
	} else if (code != 200) {
		*pt = code == 404 ? "incorrectResponse" : "connection";
		(void)snprintf(why, wl, "%s: HTTP status %ld", url, code);
	} else {
		while (
		    b.n > 0 && (b.b[b.n - 1] == '\n' || b.b[b.n - 1] == '\r' ||
				   b.b[b.n - 1] == ' ' || b.b[b.n - 1] == '\t'))
			b.n--;
		b.b[b.n] = '\0';
		if (strcmp(b.b, c->keyauth) == 0)
			err = PCA_OK;
		else {
			*pt = "incorrectResponse";
			(void)snprintf(why, wl,
			    "%s: the key authorization "
			    "does not match",
			    url);
		}
	}
	curl_slist_free_all(ct);
	curl_easy_cleanup(h);
	return err;
}

/* A TCP connection within timeout_s; -1 with why. */
static int
tcp_connect(const char *host, unsigned port, unsigned timeout_s, char *why,
    size_t wl)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct pollfd pfd;
	struct timeval tv = {(time_t)timeout_s, 0};
	char ps[8];
	int fd = -1, e = 0, rc;
	socklen_t el = sizeof(e);

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	(void)snprintf(ps, sizeof(ps), "%u", port);
	if ((rc = getaddrinfo(host, ps, &hints, &res)) != 0) {
		(void)snprintf(why, wl, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
		    errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, (int)timeout_s * 1000) != 1 ||
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) !=
				0 ||
			    e != 0) {
				close(fd);
				fd = -1;
				continue;
			}
		}
		break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		(void)snprintf(why, wl, "%s port %u: cannot connect", host,
		    port);
		return -1;
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* The certificate's SAN is exactly the identifier. */
static int
san_is(X509 *x, const struct acme_chal *c)
{
	GENERAL_NAMES *g =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	GENERAL_NAME *n;
	unsigned char ip[16];
	int ok = 0, l;

	if (g == NULL || sk_GENERAL_NAME_num(g) != 1)
		goto out;
	n = sk_GENERAL_NAME_value(g, 0);
	if (!strcmp(c->ident_type, "dns") && n->type == GEN_DNS) {
		l = ASN1_STRING_length(n->d.dNSName);
		ok = (size_t)l == strlen(c->ident) &&
		     strncasecmp(
			 (const char *)ASN1_STRING_get0_data(n->d.dNSName),
			 c->ident, (size_t)l) == 0;
	} else if (!strcmp(c->ident_type, "ip") && n->type == GEN_IPADD) {
		l = ASN1_STRING_length(n->d.iPAddress);
		ok = (l == 4 && inet_pton(AF_INET, c->ident, ip) == 1) ||
		     (l == 16 && inet_pton(AF_INET6, c->ident, ip) == 1);
		ok = ok && memcmp(ip, ASN1_STRING_get0_data(n->d.iPAddress),
			       (size_t)l) == 0;
	}
out:
	GENERAL_NAMES_free(g);
	return ok;
}

/* id-pe-acmeIdentifier: critical, OCTET STRING of SHA-256(keyauth). */
static int
acme_ext_ok(X509 *x, const char *keyauth)
{
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	X509_EXTENSION *e;
	const ASN1_OCTET_STRING *v;
	uint8_t want[2 + 32];
	unsigned hl = 0;
	int i, ok = 0;

	if (oid == NULL)
		return 0;
	i = X509_get_ext_by_OBJ(x, oid, -1);
	ASN1_OBJECT_free(oid);
	if (i < 0 || (e = X509_get_ext(x, i)) == NULL ||
	    !X509_EXTENSION_get_critical(e))
		return 0;
	v = X509_EXTENSION_get_data(e);
	want[0] = 0x04;
	want[1] = 32;
	if (EVP_Digest(keyauth, strlen(keyauth), want + 2, &hl, EVP_sha256(),
		NULL) &&
	    ASN1_STRING_length(v) == (int)sizeof(want) &&
	    memcmp(ASN1_STRING_get0_data(v), want, sizeof(want)) == 0)
		ok = 1;
	return ok;
}

static pca_err
tlsalpn01(const struct acme_chal *c, char *why, size_t wl, const char **pt)
{
	static const unsigned char alpn[] = "\x0a"
					    "acme-tls/1";
	SSL_CTX *ctx = NULL;
	SSL *s = NULL;
	X509 *x = NULL;
	const unsigned char *proto = NULL;
	unsigned plen = 0;
	char sni[80];
	int fd;
	pca_err err = PCA_EIO;

	*pt = "connection";
	if ((fd = tcp_connect(c->addr ? c->addr : c->ident, c->port,
		 c->timeout_s, why, wl)) < 0)
		return PCA_EIO;
	*pt = "tls";
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0 ||
	    (s = SSL_new(ctx)) == NULL || SSL_set_fd(s, fd) != 1) {
		(void)snprintf(why, wl, "no TLS client");
		goto out;
	}
	SSL_set_verify(s, SSL_VERIFY_NONE, NULL);
	if (!strcmp(c->ident_type, "dns"))
		(void)SSL_set_tlsext_host_name(s, c->ident);
	else { /* RFC 8738 section 6: the reverse-mapping name */
		unsigned char ip[4];

		if (inet_pton(AF_INET, c->ident, ip) == 1) {
			(void)snprintf(sni, sizeof(sni),
			    "%u.%u.%u.%u.in-addr.arpa", ip[3], ip[2], ip[1],
			    ip[0]);
			(void)SSL_set_tlsext_host_name(s, sni);
		}
	}
	if (SSL_connect(s) != 1) {
		(void)snprintf(why, wl, "%s port %u: TLS handshake failed",
		    c->ident, c->port);
		goto out;
	}
	SSL_get0_alpn_selected(s, &proto, &plen);
	*pt = "unauthorized";
	if (plen != 10 || memcmp(proto, "acme-tls/1", 10) != 0) {
		(void)snprintf(why, wl,
		    "%s: the server did not select the "
		    "acme-tls/1 protocol",
		    c->ident);
		goto out;
	}
	if ((x = SSL_get1_peer_certificate(s)) == NULL || !san_is(x, c)) {
		(void)snprintf(why, wl,
		    "%s: the certificate's only SAN must "
		    "be the identifier",
		    c->ident);
		goto out;
	}
	if (!acme_ext_ok(x, c->keyauth)) {
		(void)snprintf(why, wl,
		    "%s: the acmeIdentifier extension is "
		    "missing, not critical or wrong",
		    c->ident);
		goto out;
	}
	err = PCA_OK;
out:
	X509_free(x);
	if (s != NULL)
		(void)SSL_shutdown(s);
	SSL_free(s);
	SSL_CTX_free(ctx);
	close(fd);
	return err;
}

/* RFC 8555 8.4: a TXT at _acme-challenge.<domain> = b64url(SHA-256(ka)) */
static pca_err
dns01(const struct acme_chal *c, char *why, size_t wl, const char **pt)
{
	uint8_t h[32];
	unsigned hl = 0;
	char name[300], w[300], *want = NULL, **v = NULL;
	size_t n = 0, i;
	pca_err err;

	*pt = "dns";
	if (c->dns == NULL || strcmp(c->ident_type, "dns") != 0) {
		(void)snprintf(why, wl, "dns-01 is for dns identifiers");
		return PCA_EINVAL;
	}
	(void)snprintf(name, sizeof(name), "_acme-challenge.%s", c->ident);
	if (!EVP_Digest(c->keyauth, strlen(c->keyauth), h, &hl, EVP_sha256(),
		NULL) ||
	    acme_b64url_encode(h, sizeof(h), &want) != PCA_OK) {
		(void)snprintf(why, wl, "no digest");
		return PCA_EINTERNAL;
	}
	if ((err = acme_dns_txt(c->dns, name, &v, &n, w, sizeof(w))) !=
	    PCA_OK) {
		(void)snprintf(why, wl, "%s", w);
		goto out;
	}
	err = PCA_EIO;
	*pt = "incorrectResponse";
	for (i = 0; i < n; i++)
		if (strcmp(v[i], want) == 0)
			err = PCA_OK;
	if (err != PCA_OK && n == 0)
		(void)snprintf(why, wl, "no TXT record at %s", name);
	else if (err != PCA_OK)
		(void)snprintf(why, wl,
		    "none of the %zu TXT records at %s is "
		    "the key authorization's digest",
		    n, name);
out:
	acme_dns_strv_free(v, n);
	free(want);
	return err;
}

/* CAA (caa.c) once the challenge is valid; PCA_OK when off. */
static pca_err
caa(const struct acme_chal *c, char *why, size_t wl, const char **pt)
{
	pca_err err;

	if (c->caa == NULL || strcmp(c->ident_type, "dns") != 0)
		return PCA_OK;
	err = acme_caa_check(c->dns, c->ident, c->caa, why, wl);
	if (err != PCA_OK)
		*pt = "caa";
	return err;
}

pca_err
acme_validate(const struct acme_chal *c, char *why, size_t wl, const char **pt)
{
	int i;
	pca_err err = PCA_EIO;

	for (i = 0; i < ATTEMPTS; i++) {
		if (i > 0)
			(void)sleep(1);
		if (!strcmp(c->type, "http-01"))
			err = http01(c, why, wl, pt);
		else if (!strcmp(c->type, "tls-alpn-01"))
			err = tlsalpn01(c, why, wl, pt);
		else if (!strcmp(c->type, "dns-01"))
			err = dns01(c, why, wl, pt);
		else {
			(void)snprintf(why, wl, "unsupported challenge");
			return PCA_EUNSUPPORTED;
		}
		if (err == PCA_OK)
			return caa(c, why, wl, pt);
	}
	return err;
}
