/*
 * test_webhook.c - common/webhook.c against a one-shot HTTP server on
 * loopback: the POST carries the body, Content-Type and Idempotency-Key,
 * the receiver's status comes back; no answer (a closed port) is 0; an
 * idempotency key over the bound is refused before any connection.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "../../../common/webhook.h"

struct srv {
	int fd;
	int status;
	char req[4096];
};

/* Reads one request (headers and a body of Content-Length), answers. */
static void *
serve(void *arg)
{
	struct srv *s = arg;
	size_t n = 0;
	ssize_t r;
	char out[128], *h, *cl;
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	while (n + 1 < sizeof(s->req) &&
	       (r = read(c, s->req + n, sizeof(s->req) - 1 - n)) > 0) {
		n += (size_t)r;
		s->req[n] = '\0';
		if ((h = strstr(s->req, "\r\n\r\n")) != NULL &&
		    (cl = strstr(s->req, "Content-Length: ")) != NULL &&
		    strlen(h + 4) >= (size_t)strtol(cl + 16, NULL, 10))
			break;
	}
	(void)snprintf(out, sizeof(out),
	    "HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nok", s->status);
	(void)!write(c, out, strlen(out));
	close(c);
	return NULL;
}

static int
listen_any(int *port)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void
post_status(int status)
{
	struct srv s;
	pthread_t th;
	char url[64];
	int port;

	memset(&s, 0, sizeof(s));
	s.status = status;
	s.fd = listen_any(&port);
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
	assert_int_equal(pthread_create(&th, NULL, serve, &s), 0);
	assert_int_equal(webhook_post(url, "{\"id\":\"a/1\"}", "a/1", 10),
	    status);
	(void)pthread_join(th, NULL);
	close(s.fd);
	assert_non_null(strstr(s.req, "POST /hook HTTP/1.1\r\n"));
	assert_non_null(strstr(s.req, "\r\nIdempotency-Key: a/1\r\n"));
	assert_non_null(strstr(s.req, "\r\nContent-Type: application/json"));
	assert_non_null(strstr(s.req, "\r\n\r\n{\"id\":\"a/1\"}"));
}

static void
test_post(void **state)
{
	(void)state;
	post_status(204);
	post_status(503);
}

static void
test_no_answer(void **state)
{
	char url[64], idem[402];
	int port, fd = listen_any(&port);

	(void)state;
	close(fd); /* nobody listens there now */
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	assert_int_equal(webhook_post(url, "{}", "x", 5), 0);
	memset(idem, 'k', sizeof(idem) - 1);
	idem[sizeof(idem) - 1] = '\0';
	assert_int_equal(webhook_post(url, "{}", idem, 5), 0);
	/* a scheme other than http(s) is never contacted */
	assert_int_equal(webhook_post("file:///etc/passwd", "{}", "x", 5), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_post),
	    cmocka_unit_test(test_no_answer),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
