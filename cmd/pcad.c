/*
 * pcad - the appliance daemon: the ACM-PCA API on HTTPS and the plain-HTTP
 * port, in the foreground, logging to stderr.
 *
 *   pcad --config FILE [--check-config]
 *
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the
 * store.  SIGHUP: re-read the configuration, validate it whole and swap it
 * in; an invalid file changes nothing.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "../api/api.h"
#include "../common/log.h"
#include "appliance.h"

#define DRAIN_S 30

static void
usage(void)
{
	fprintf(stderr, "usage: pcad --config FILE [--check-config]\n");
	exit(2);
}

static void
api_conf_from(const struct appliance_conf *a, struct api_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->api_listen = a->api_listen;
	c->tls_cert = a->api_tls_cert;
	c->tls_key = a->api_tls_key;
	c->max_conns = a->api_max_conns;
	c->timeout_s = a->api_timeout_s;
	c->http_listen = a->http_listen;
	c->region = a->region;
	c->partition = a->engine.partition;
}

static int
check_config(const char *path)
{
	struct appliance_conf a;
	struct api_conf c;
	pca_err err;

	if ((err = appliance_conf_load(path, &a)) == PCA_OK) {
		api_conf_from(&a, &c);
		err = api_conf_check(&c);
		appliance_conf_free(&a);
	}
	if (err != PCA_OK) {
		printf("pcad: %s: %s\n", path, pca_err_msg());
		return 1;
	}
	printf("pcad: %s: configuration OK\n", path);
	return 0;
}

static int
str_differs(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

/* The token and the store are opened once; changing them needs a restart. */
static void
warn_restart_only(
    const struct appliance_conf *o, const struct appliance_conf *n)
{
	if (str_differs(o->hsm.module, n->hsm.module) ||
	    str_differs(o->hsm.token, n->hsm.token) ||
	    str_differs(o->hsm_pin_file, n->hsm_pin_file) ||
	    str_differs(o->store_path, n->store_path) ||
	    str_differs(o->account, n->account))
		log_warnx("reload: [hsm], [store] and account_id changes "
			  "take effect only after a restart");
}

static void
reload(const char *path, struct appliance *ap, struct api_server *srv)
{
	struct appliance_conf nc;
	struct ca_engine *eng = NULL, *old = NULL;
	struct api_conf c;

	if (appliance_conf_load(path, &nc) != PCA_OK) {
		log_warnx("reload: %s; keeping the running configuration",
		    pca_err_msg());
		return;
	}
	warn_restart_only(&ap->conf, &nc);
	api_conf_from(&nc, &c);
	if (ca_engine_new(&nc.engine, ap->hsm, ap->store, &eng) != PCA_OK ||
	    api_server_reload(srv, &c, eng, &old) != PCA_OK) {
		log_warnx("reload: %s; keeping the running configuration",
		    pca_err_msg());
		ca_engine_free(eng);
		appliance_conf_free(&nc);
		return;
	}
	ca_engine_free(old);
	ap->engine = eng;
	log_init("pcad", nc.log_level);
	/*
	 * The engine and the listeners copied what they keep; the token and
	 * the store go on with the configuration they were opened with.
	 */
	appliance_conf_free(&nc);
	log_info("reloaded %s", path);
}

#define MAINTAIN_EVERY_S 60

/* The next signal of set, or 0 after MAINTAIN_EVERY_S without one. */
static int
wait_signal(const sigset_t *set)
{
	struct timespec ts = {MAINTAIN_EVERY_S, 0};
	int sig;

	while ((sig = sigtimedwait(set, NULL, &ts)) < 0 && errno == EINTR)
		;
	return sig < 0 ? 0 : sig;
}

/* Housekeeping: CA expiry and purges, expired idempotency tokens. */
static void
maintain(struct appliance *ap)
{
	size_t cas = 0, tokens = 0;

	if (ca_engine_maintain(ap->engine, &cas, &tokens) != PCA_OK)
		log_warnx("maintenance: %s", pca_err_msg());
	else if (cas || tokens)
		log_info("maintenance: %zu CAs purged, %zu idempotency tokens "
			 "expired", cas, tokens);
}

static void
harden(void)
{
	struct rlimit rl = {0, 0};

	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &rl);
}

static int
serve(const char *path)
{
	struct appliance ap;
	struct api_server *srv = NULL;
	struct api_conf c;
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* threads started from here on inherit the mask */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (appliance_open(path, &ap) != PCA_OK)
		fatalx("%s", pca_err_msg());
	log_init("pcad", ap.conf.log_level);
	api_conf_from(&ap.conf, &c);
	if (api_server_start(&c, ap.engine, ap.store, ap.hsm, &srv) != PCA_OK) {
		log_warnx("%s", pca_err_msg());
		appliance_close(&ap);
		return 1;
	}
	log_info("pcad ready (region %s, account %s)", ap.conf.region,
	    ap.conf.account);
	while ((sig = wait_signal(&set)) != SIGTERM && sig != SIGINT) {
		if (sig == SIGHUP)
			reload(path, &ap, srv);
		else
			maintain(&ap);
	}
	log_info("signal %d: stopping (in-flight requests finish first)", sig);
	api_server_stop(srv, DRAIN_S);
	appliance_close(&ap);
	log_info("stopped");
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	int i, check = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--check-config") == 0)
			check = 1;
		else
			usage();
	}
	if (path == NULL)
		usage();
	log_init("pcad", LOG_LEVEL_INFO);
	if (check)
		return check_config(path);
	harden();
	return serve(path);
}
