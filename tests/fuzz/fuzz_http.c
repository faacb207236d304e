/*
 * fuzz_http.c - libFuzzer target for request-head handling (http/) and the
 * OCSP GET path decoding.  Each input is a raw HTTP/1.1 byte stream:
 *  1. its head is split into header lines as libmicrohttpd does (name up to
 *     the first ':', value trimmed) and judged by http_head_check (RFC 9112
 *     6.3 framing), whose verdict must be consistent;
 *  2. the request-line path goes through the OCSP GET path decoding (under
 *     "/ocsp" and at the root: ocsp_get_path, ocsp_get_decode, then
 *     ocsp_req_parse on what decodes);
 *  3. the bytes are sent to a real http/ server in this process (plain
 *     listener on loopback, libmicrohttpd configured as pcad configures it,
 *     with routes shaped like pcad's: a head handler and drain limit as the
 *     API has, a content-type route as OCSP POST, prefix and exact routes),
 *     so the framing rules, routing, body limits and error paths run on
 *     whatever the parser makes of them.  No crash, leak or sanitizer report
 *     is allowed.
 * Seeds: tests/fuzz/corpus/http/.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../../common/err.h"
#include "../../http/http.h"
#include "../../ocsp/ocsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_server *srv;
static unsigned plain_port;

/* ---- 1 and 2: the pure parts ---- */

static void
check_head(const char *head)
{
	struct http_hdr h[HTTP_MAX_HEADERS + 1];
	char *copy = strdup(head), *line, *next, *colon, *v;
	enum http_body body;
	uint64_t clen;
	size_t n = 0;
	pca_err err;

	if (copy == NULL)
		return;
	line = strstr(copy, "\r\n"); /* skip the request line */
	for (line = line ? line + 2 : NULL;
	     line != NULL && *line != '\0' && n <= HTTP_MAX_HEADERS;
	     line = next) {
		if ((next = strstr(line, "\r\n")) != NULL) {
			*next = '\0';
			next += 2;
		}
		if (*line == '\0')
			break;
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		h[n++] = (struct http_hdr){line, v};
	}
	err = http_head_check(h, n, &body, &clen);
	if (err == PCA_OK && n > HTTP_MAX_HEADERS)
		abort();
	if (err == PCA_OK && body == HTTP_BODY_CHUNKED)
		for (size_t i = 0; i < n; i++)
			if (strcasecmp(h[i].name, "Content-Length") == 0)
				abort(); /* CL with TE passed */
	pca_err_clear();
	free(copy);
}

static void
check_path(const char *head)
{
	static const char *const prefixes[] = {"", "/ocsp"};
	char path[16384];
	const char *sp = strchr(head, ' '), *end, *rel;
	struct ocsp_req r;
	uint8_t *der = NULL;
	size_t len, i;

	if (sp == NULL || (end = strchr(sp + 1, ' ')) == NULL ||
	    (size_t)(end - sp - 1) >= sizeof(path))
		return;
	memcpy(path, sp + 1, (size_t)(end - sp - 1));
	path[end - sp - 1] = '\0';
	for (i = 0; i < 2; i++) {
		if ((rel = ocsp_get_path(prefixes[i], path)) == NULL)
			continue;
		if (rel[0] != '/' || rel[1] == '\0')
			abort();
		if (ocsp_get_decode(rel, &der, &len) == PCA_OK) {
			if (ocsp_req_parse(der, len, &r) == PCA_OK &&
			    (r.n == 0 || r.n > OCSP_MAX_CERTIDS))
				abort();
			free(der);
			der = NULL;
		}
		pca_err_clear();
	}
}

/* ---- 3: a live server ---- */

static void
echo(void *arg, const struct http_req *r, struct http_resp *o)
{
	char s[256];

	(void)arg;
	(void)snprintf(s, sizeof(s), "%s %.100s %zu %zu", r->method, r->path,
	    r->len, r->nhdrs);
	http_resp_text(o, 200, "text/plain", s);
}

static void
ocsp_get(void *arg, const struct http_req *r, struct http_resp *o)
{
	const char *rel = ocsp_get_path("/ocsp", r->path);
	struct ocsp_req q;
	uint8_t *der = NULL;
	size_t len;

	(void)arg;
	if (rel == NULL)
		return; /* declined */
	if (ocsp_get_decode(rel, &der, &len) == PCA_OK &&
	    ocsp_req_parse(der, len, &q) == PCA_OK)
		http_resp_text(o, 200, "application/ocsp-response", "good");
	else
		http_resp_text(o, 200, "application/ocsp-response", "bad");
	pca_err_clear();
	free(der);
}

static void
api_head(void *arg, const struct http_req *r, struct http_resp *o)
{
	(void)arg;
	if (strcmp(r->method, "POST") != 0)
		http_resp_text(o, 405, "application/json", "{}");
	else if (http_req_hdr(r, "Transfer-Encoding") != NULL)
		http_resp_text(o, 411, "application/json", "{}");
}

static void
api_error(void *arg, const struct http_req *r, int status, const char *msg,
    struct http_resp *o)
{
	(void)arg;
	(void)r;
	http_resp_text(o, status, "application/json", msg);
}

static int
write_pem(const char *dir, char *cert, char *key, size_t max)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f;
	int ok = 0;

	(void)snprintf(cert, max, "%s/cert.pem", dir);
	(void)snprintf(key, max, "%s/key.pem", dir);
	if (k == NULL || x == NULL)
		goto out;
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (X509_sign(x, k, EVP_sha256()) == 0)
		goto out;
	if ((f = fopen(cert, "w")) == NULL)
		goto out;
	ok = PEM_write_X509(f, x);
	fclose(f);
	if (!ok || (f = fopen(key, "w")) == NULL)
		goto out;
	ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return ok;
}

static void
server_start(void)
{
	static char dir[] = "/tmp/openpca-fuzz-http.XXXXXX";
	char cert[128], key[128];
	struct http_conf c = {"127.0.0.1:0", cert, key, "127.0.0.1:0", 64, 5, 5,
	    0};
	const struct http_route routes[] = {
	    {.port = HTTP_PLAIN,
		.path = "/crl/",
		.prefix = 1,
		.methods = HTTP_M_ANY,
		.body_max = 1024,
		.fn = echo},
	    {.port = HTTP_PLAIN,
		.path = "/health",
		.methods = HTTP_M_GET | HTTP_M_HEAD,
		.body_max = 1024,
		.fn = echo},
	    {.port = HTTP_PLAIN,
		.path = "/api",
		.prefix = 1,
		.methods = HTTP_M_ANY,
		.body_max = 4096,
		.drain_max = 65536,
		.head = api_head,
		.fn = echo,
		.error = api_error},
	    {.port = HTTP_PLAIN,
		.path = "/",
		.prefix = 1,
		.methods = HTTP_M_POST,
		.content_type = "application/ocsp-request",
		.body_max = 8192,
		.fn = echo},
	    {.port = HTTP_PLAIN,
		.path = "/ocsp/",
		.prefix = 1,
		.methods = HTTP_M_GET | HTTP_M_HEAD,
		.body_max = 1024,
		.fn = ocsp_get},
	    {.port = HTTP_TLS,
		.path = "/",
		.prefix = 1,
		.methods = HTTP_M_ANY,
		.body_max = 1024,
		.fn = echo},
	};
	unsigned tls_port;
	size_t i;

	if (mkdtemp(dir) == NULL || !write_pem(dir, cert, key, sizeof(cert)) ||
	    http_server_new(&c, &srv) != PCA_OK)
		abort();
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (http_route_add(srv, &routes[i]) != PCA_OK)
			abort();
	if (http_start(srv) != PCA_OK)
		abort();
	http_ports(srv, &tls_port, &plain_port);
	(void)unlink(cert);
	(void)unlink(key);
	(void)rmdir(dir);
}

static void
send_live(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa;
	struct timeval tv = {2, 0};
	struct pollfd pfd;
	char buf[4096];
	size_t off = 0;
	ssize_t n;
	int fd, got = 0;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)plain_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return;
	}
	while (off < size &&
	       (n = send(fd, data + off, size - off, MSG_NOSIGNAL)) > 0)
		off += (size_t)n;
	(void)shutdown(fd, SHUT_WR);
	/* until EOF, or 5 ms without an answer, or 1 ms of quiet after one (a
	   kept-alive connection may not notice the half-close at once, and a
	   head left incomplete is closed only ~20 ms after the EOF).  The
	   server has the whole input and its FIN by then (our close sends no
	   RST while nothing of ours is unread), so it still parses all of
	   it; what it does after the close runs its error paths.  Waiting up
	   to 1 s made ~80 runs a second at 2% of a CPU. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, got ? 1 : 5) > 0 &&
	       (n = recv(fd, buf, sizeof(buf), 0)) > 0)
		got = 1;
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *head;

	if (srv == NULL)
		server_start();
	if ((head = malloc(size + 1)) == NULL)
		return 0;
	memcpy(head, data, size);
	head[size] = '\0'; /* stops at the first NUL, as a C string does */
	check_head(head);
	check_path(head);
	free(head);
	send_live(data, size);
	return 0;
}
