/*
 * test_query.c - what a handler gets as the path and the query arguments
 * (http/http.h, struct http_req): the path as sent; the arguments split at
 * '&' and the first '=', '+' made a space (libmicrohttpd does that before
 * any unescaping) and %XX left as sent, "" for an argument with no '='.  A real
 * server on loopback (plain listener; the TLS one with a certificate made by
 * the openssl CLI) and a raw HTTP/1.1 request.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../http/http.h"
#include "../testlib.h"

static char dir[64], cert[128], key[128];
static struct http_server *srv;
static unsigned port;

/* Echoes "path\n" then "[name]=[value]\n" per argument. */
static void
echo(void *arg, const struct http_req *r, struct http_resp *o)
{
	char b[1024];
	size_t i, n;

	(void)arg;
	n = (size_t)snprintf(b, sizeof(b), "%s\n", r->path);
	for (i = 0; i < r->nquery && n < sizeof(b); i++)
		n += (size_t)snprintf(b + n, sizeof(b) - n, "[%s]=[%s]\n",
		    r->query[i].name, r->query[i].value);
	http_resp_text(o, 200, "text/plain", b);
}

static int
setup(void **state)
{
	struct http_conf c = {"127.0.0.1:0", cert, key, "127.0.0.1:0", 8, 5, 5,
	    0};
	const struct http_route r = {.port = HTTP_PLAIN,
	    .path = "/q",
	    .methods = HTTP_M_GET,
	    .body_max = 1024,
	    .fn = echo};
	unsigned tls;

	(void)state;
	if (testlib_dir_make(dir, sizeof(dir), "pca-http-query") != 0)
		return -1;
	(void)snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	(void)snprintf(key, sizeof(key), "%s/key.pem", dir);
	const char *const mk[] = {"openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
	    "-out", cert, "-subj", "/CN=localhost", "-days", "1", NULL};
	if (!testlib_run(dir, mk) || http_server_new(&c, &srv) != PCA_OK ||
	    http_route_add(srv, &r) != PCA_OK || http_start(srv) != PCA_OK) {
		fprintf(stderr, "setup: %s\n", pca_err_msg());
		return -1;
	}
	http_ports(srv, &tls, &port);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	http_stop(srv, 1);
	testlib_dir_remove(dir);
	return 0;
}

/* GET target over a fresh connection; *body the answer's body (malloc). */
static void
get(const char *target, char **body)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port)};
	struct timeval tv = {10, 0};
	char req[512], resp[4096], *b;
	size_t n = 0;
	ssize_t k;
	int fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	k = snprintf(req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target);
	assert_int_equal(write(fd, req, (size_t)k), k);
	while (n < sizeof(resp) - 1 &&
	       (k = read(fd, resp + n, sizeof(resp) - 1 - n)) > 0)
		n += (size_t)k;
	close(fd);
	resp[n] = '\0';
	assert_non_null(strstr(resp, "HTTP/1.1 200"));
	assert_non_null(b = strstr(resp, "\r\n\r\n"));
	assert_non_null(*body = strdup(b + 4));
}

static void
test_query_raw(void **state)
{
	char *b = NULL;

	(void)state;
	get("/q?a=%41+b&c&d=x%3Dy=z&%2F=1&e=&f+g=%2B", &b);
	assert_string_equal(b, "/q\n"
			       "[a]=[%41 b]\n"
			       "[c]=[]\n"
			       "[d]=[x%3Dy=z]\n"
			       "[%2F]=[1]\n"
			       "[e]=[]\n"
			       "[f g]=[%2B]\n");
	free(b);
	get("/q", &b);
	assert_string_equal(b, "/q\n");
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query_raw),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
