/*
 * ocsp_ceiling.c - the HTTP ceiling for the OCSP benchmark: a minimal
 * libmicrohttpd server (the library pcad's plain-HTTP port uses) that
 * answers every request, GET or POST, with the same 1,536-byte body.
 *
 *   ocsp_ceiling PORT [THREADS]     (127.0.0.1 only; SIGTERM stops it)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include "../common/util.h"

#define BODY_LEN 1536

static char body[BODY_LEN];

static enum MHD_Result
answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size,
    void **con_cls)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	if (*con_cls == NULL) { /* first call: headers only */
		*con_cls = body;
		return MHD_YES;
	}
	if (*upload_size > 0) { /* the request body: consumed */
		*upload_size = 0;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(sizeof(body), body,
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/ocsp-response");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	long long port, threads = 2;
	sigset_t set;
	int sig;

	if (argc < 2 || util_strtonum(argv[1], 1, 65535, &port) != PCA_OK ||
	    (argc > 2 && util_strtonum(argv[2], 1, 64, &threads) != PCA_OK)) {
		fprintf(stderr, "usage: ocsp_ceiling PORT [THREADS]\n");
		return 2;
	}
	memset(body, 'x', sizeof(body));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO, 0,
	    NULL, NULL, answer, NULL, MHD_OPTION_SOCK_ADDR, &sa,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
	    MHD_OPTION_CONNECTION_LIMIT, 1024U, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "ocsp_ceiling: cannot listen on port %lld\n",
		    port);
		return 1;
	}
	printf("listening on 127.0.0.1:%lld\n", port);
	fflush(stdout);
	(void)sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
