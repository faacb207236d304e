/*
 * pcad - the appliance daemon: the ACM-PCA API on HTTPS and the plain-HTTP
 * port, in the foreground, logging to stderr (or the journal: [log]
 * target).
 *
 *   pcad [--config FILE] [--check-config]
 *        [--role primary|standby|responder]
 *   pcad --list-config-keys
 *
 * --config defaults to $PCAD_CONFIG, then $PCACTL_CONFIG, then
 * var/appliance/pcad.conf (as pcactl).  --list-config-keys prints every
 * "section.key" the configuration parser knows, one per line.
 *
 * --role standby follows the change feed the primary ships to [backup] to
 * (S3) into its own store, serves OCSP and CRLs from it and refuses every
 * change (503 naming the primary) until pcactl promote (docs/standby.md).
 *
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the
 * store.  SIGHUP: re-read the configuration, validate it whole and swap it
 * in; an invalid file changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../api/api.h"
#include "../backup/backup.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../console/console.h"
#include "../crl/crl.h"
#include "../http/http.h"
#include "../monitor/monitor.h"
#include "../ocsp/ocsp.h"
#include "../sync/sync.h"
#include "appliance.h"
#include "pcad_proc.h"
#include "version.h"

#define DRAIN_S 30
#define STOP_WAIT_MS 5000 /* the keeper and signer ending after the front */

static void
usage(void)
{
	fprintf(stderr, "usage: pcad [--config FILE] [--check-config] "
			"[--role primary|standby|responder]\n"
			"       pcad --list-config-keys\n");
	exit(2);
}

static void
help(void)
{
	printf(
	    "usage: pcad [--config FILE] [--check-config] "
	    "[--role primary|standby|responder]\n"
	    "       pcad --version | -h | --help\n\n"
	    "The OpenPCA daemon: the ACM-PCA API (HTTPS), OCSP, CRLs, "
	    "/health and /metrics.\n\n"
	    "  --config FILE    the pcad.conf to serve\n"
	    "  --check-config   validate FILE whole and exit (0 when valid)\n"
	    "  --role standby   follow the primary's change feed in S3, "
	    "serve OCSP/CRLs,\n"
	    "                   refuse changes (pcactl promote makes it "
	    "primary)\n"
	    "  --role responder answer OCSP and CRLs from [ocsp] publish's S3\n"
	    "                   layout (no token, no store; see pcad(8))\n"
	    "  --version        print the version and exit\n"
	    "  -h, --help       print this help and exit\n\n"
	    "Signals: SIGTERM/SIGINT stop after in-flight requests, SIGHUP "
	    "re-reads the configuration.\n");
	exit(0);
}

static void
api_conf_from(const struct appliance_conf *a, struct api_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->region = a->region;
	c->partition = a->engine.partition;
}

static void
http_conf_from(const struct appliance_conf *a, struct http_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->tls_listen = a->api_listen;
	c->tls_cert = a->api_tls_cert;
	c->tls_key = a->api_tls_key;
	c->max_conns = a->api_max_conns;
	c->timeout_s = a->api_timeout_s;
	c->plain_listen = a->http_listen;
	c->head_timeout_s = a->http_header_timeout_s;
	c->per_ip_conns = a->http_per_ip_conns;
}

static int
check_config(const char *path)
{
	struct appliance_conf a;
	struct api_conf c;
	struct http_conf hc;
	pca_err err;

	/* appliance_conf_load's messages start with the file name */
	if ((err = appliance_conf_load(path, &a)) != PCA_OK) {
		fprintf(stderr, "pcad: %s\n", pca_err_msg());
		return 1;
	}
	api_conf_from(&a, &c);
	http_conf_from(&a, &hc);
	if ((err = api_conf_check(&c)) == PCA_OK)
		err = http_conf_check(&hc);
	appliance_conf_free(&a);
	if (err != PCA_OK) {
		fprintf(stderr, "pcad: %s: %s\n", path, pca_err_msg());
		return 1;
	}
	printf("pcad: %s: configuration OK\n", path);
	return 0;
}

/* ---- the OCSP responder's metrics ---- */

static pca_err
ocsp_metrics(void *arg, struct buf *b)
{
	return ocsp_metrics_render(arg, b);
}

/* ---- CRLs, S3 publication, audit reports ---- */

struct publish {
	struct crl *crl;
	struct sync *sync; /* NULL without [s3] endpoint */
	struct mon *mon;   /* counters, compliance report, webhook */
	struct ca_hooks hooks;
};

static pca_err
hook_probe(void *arg, const char *bucket, const char *acl)
{
	return sync_s3_probe(((struct publish *)arg)->sync, bucket, acl);
}

static pca_err
hook_audit_create(void *arg, const char *ca, const char *bucket,
    const char *fmt, char id[37], char **key)
{
	return crl_audit_create(((struct publish *)arg)->crl, ca, bucket, fmt,
	    id, key);
}

static pca_err
hook_audit_describe(void *arg, const char *ca, const char *id, json_t **out)
{
	return crl_audit_describe(((struct publish *)arg)->crl, ca, id, out);
}

static pca_err
hook_report(void *arg, const char *scope, json_t **out)
{
	return mon_report(((struct publish *)arg)->mon, scope, out);
}

/* Hooks and listeners on an engine before it is shared. */
static pca_err
publish_engine(struct publish *p, struct ca_engine *eng)
{
	pca_err err;

	ca_engine_hooks_set(eng, &p->hooks);
	if ((err = crl_listen(p->crl, eng)) != PCA_OK)
		return err;
	return mon_listen(p->mon, eng);
}

/* Does the token answer (the monitor's and GET /health's probe)? */
static pca_err
token_health(void *arg)
{
	return hsm_health(arg);
}

static void
mon_refusal(void *arg, const char *msg)
{
	mon_refusal_note(arg, msg);
}

/* The monitor: its thread starts with publish_start. */
static pca_err
monitor_new(const struct appliance *ap, struct publish *p)
{
	struct mon_conf mc = ap->conf.monitor;
	pca_err err;

	mc.health = token_health;
	mc.health_arg = ap->hsm;
	if ((err = mon_new(&mc, ap->store, &p->mon)) != PCA_OK)
		return err;
	mon_attach(p->mon, ap->engine, ap->policies);
	appliance_policies_on_refusal(mon_refusal, p->mon);
	return PCA_OK;
}

static pca_err
publish_new(const struct appliance *ap, struct publish *p)
{
	struct sync_conf sc = {ap->conf.s3_endpoint, ap->conf.s3_region,
	    ap->conf.s3_path_style, ap->conf.s3_credentials_file,
	    ap->conf.s3_retry_max_s, ap->conf.s3_timeout_s};
	pca_err err;

	memset(p, 0, sizeof(*p));
	p->hooks.arg = p;
	if (sc.endpoint != NULL) {
		if ((err = sync_new(&sc, ap->store, &p->sync)) != PCA_OK)
			return err;
		p->hooks.s3_probe = hook_probe;
	}
	if ((err = crl_new(&ap->conf.crl, ap->hsm, ap->store, &p->crl)) !=
		PCA_OK ||
	    (err = monitor_new(ap, p)) != PCA_OK)
		return err;
	if (p->sync != NULL)
		crl_on_queued(p->crl, sync_wake, p->sync);
	crl_attach(p->crl, ap->engine);
	return publish_engine(p, ap->engine);
}

/* CRL and S3 publication metrics for GET /metrics. */
static pca_err
publish_metrics(void *arg, struct buf *b)
{
	const struct publish *p = arg;
	struct sync_metrics sm;
	pca_err err;

	err = crl_metrics_render(p->crl, b);
	if (err != PCA_OK || p->sync == NULL)
		return err;
	sync_metrics_get(p->sync, &sm);
	return buf_printf(b,
	    "# HELP pcad_s3_puts_total Objects uploaded to S3.\n"
	    "# TYPE pcad_s3_puts_total counter\npcad_s3_puts_total %llu\n"
	    "# HELP pcad_s3_put_failures_total S3 uploads that failed (and "
	    "are retried).\n"
	    "# TYPE pcad_s3_put_failures_total counter\n"
	    "pcad_s3_put_failures_total %llu\n"
	    "# HELP pcad_s3_outbox_queued Objects waiting in the outbox.\n"
	    "# TYPE pcad_s3_outbox_queued gauge\npcad_s3_outbox_queued %llu\n"
	    "# HELP pcad_s3_last_ok_timestamp_seconds The last successful "
	    "upload.\n"
	    "# TYPE pcad_s3_last_ok_timestamp_seconds gauge\n"
	    "pcad_s3_last_ok_timestamp_seconds %lld\n",
	    (unsigned long long)sm.puts, (unsigned long long)sm.failures,
	    (unsigned long long)sm.queued, (long long)sm.last_ok);
}

static pca_err
backup_metrics(void *arg, struct buf *b)
{
	return bk_sched_metrics_render(arg, b);
}

/*
 * [backup]: scheduled backups and change-feed shipping, own threads.  Made
 * before pcad serves (a restored store's feed is lined up with S3's first),
 * started once the metrics can be hooked.
 */
static pca_err
backup_new(const char *path, const struct appliance *ap, struct bk_sched **out,
    const char *holder)
{
	static struct sync_conf s3;
	static struct bk_sched_conf bc;

	*out = NULL;
	if (ap->conf.backup_to == NULL)
		return PCA_OK;
	appliance_backup_sched_conf(&ap->conf, path, &s3, &bc);
	bc.holder = holder;
	return bk_sched_new(&bc, ap->store, out);
}

static pca_err
backup_run(struct bk_sched *bks, struct api_server *api)
{
	pca_err err;

	if (bks == NULL)
		return PCA_OK;
	if ((err = api_server_metrics_hook(api, backup_metrics, bks)) != PCA_OK)
		return err;
	return bk_sched_start(bks);
}

static pca_err
acme_metrics(void *arg, struct buf *b)
{
	return acme_metrics_render(arg, b);
}

static pca_err
alerts_metrics(void *arg, struct buf *b)
{
	return alert_metrics_render(arg, b);
}

static pca_err
monitor_metrics(void *arg, struct buf *b)
{
	return mon_metrics_render(arg, b);
}

/* A standby builds no CRL (no number is used), sends nothing to S3. */
static pca_err
publish_start(struct publish *p, struct api_server *srv, int standby)
{
	pca_err err;

	if ((err = api_server_metrics_hook(srv, publish_metrics, p)) ||
	    (err = api_server_metrics_hook(srv, monitor_metrics, p->mon)))
		return err;
	if (standby)
		return PCA_OK;
	if ((err = crl_start(p->crl)) || (err = mon_start(p->mon)))
		return err;
	return p->sync != NULL ? sync_start(p->sync) : PCA_OK;
}

/* ---- the role: primary (fenced through S3) or standby ---- */

struct role {
	struct bk_sched *bks;       /* primary: the feed shipper */
	struct bk_standby *sb;      /* standby: the follower */
	char holder[BK_HOLDER_MAX]; /* this appliance in fence objects */
};

static int
role_refuse(void *arg, char *msg, size_t n)
{
	struct role *ro = arg;
	struct bk_standby_status st;

	if (ro->sb == NULL)
		return bk_sched_fenced(ro->bks, msg, n);
	bk_standby_status_get(ro->sb, &st);
	(void)snprintf(msg, n,
	    "this appliance is a standby: send changes to "
	    "the primary%s%s (fencing epoch %llu); retry there, or here once "
	    "it is promoted",
	    st.primary[0] ? " " : "", st.primary, (unsigned long long)st.epoch);
	return 1;
}

static void
role_health(void *arg, json_t *o)
{
	struct role *ro = arg;
	struct bk_standby_status st;
	char msg[16];

	if (ro->sb == NULL) {
		(void)json_object_set_new(o, "role", json_string("primary"));
		if (bk_sched_fenced(ro->bks, msg, sizeof(msg)))
			(void)json_object_set_new(o, "fenced", json_true());
		return;
	}
	bk_standby_status_get(ro->sb, &st);
	(void)json_object_set_new(o, "role", json_string("standby"));
	(void)json_object_set_new(o, "primary", json_string(st.primary));
	(void)json_object_set_new(o, "lag_seconds", json_integer(st.lag_s));
	(void)json_object_set_new(o, "lag_sequences",
	    json_integer((json_int_t)(st.shipped - st.applied)));
	(void)json_object_set_new(o, "applied_sequence",
	    json_integer((json_int_t)st.applied));
}

static pca_err
standby_metrics(void *arg, struct buf *b)
{
	return bk_standby_metrics_render(arg, b);
}

/* --role standby: the follower of [backup] to's shipped feed. */
static pca_err
standby_new(const char *path, const struct appliance *ap, struct role *ro)
{
	static struct sync_conf s3;
	static struct bk_sched_conf bc;

	appliance_backup_sched_conf(&ap->conf, path, &s3, &bc);
	return bk_standby_new(ap->conf.backup_to,
	    ap->conf.s3_endpoint ? &s3 : NULL, ap->store, &ro->sb);
}

static pca_err
role_run(struct role *ro, struct api_server *api)
{
	struct api_role ar = {role_refuse, role_health, ro};
	pca_err err;

	api_server_role_set(api, &ar);
	if (ro->sb == NULL)
		return PCA_OK;
	if ((err = api_server_metrics_hook(api, standby_metrics, ro->sb)) !=
	    PCA_OK)
		return err;
	return bk_standby_start(ro->sb);
}

/* Stops the threads (before the engine and the store go). */
static void
publish_free(struct publish *p)
{
	mon_free(p->mon);
	crl_free(p->crl);
	sync_free(p->sync);
	memset(p, 0, sizeof(*p));
}

static int
str_differs(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

/* The token and the store are opened once; changing them needs a restart. */
static void
warn_restart_only(const struct appliance_conf *o,
    const struct appliance_conf *n)
{
	if (str_differs(o->hsm.module, n->hsm.module) ||
	    str_differs(o->hsm.token, n->hsm.token) ||
	    str_differs(o->hsm_pin_file, n->hsm_pin_file) ||
	    str_differs(o->store_path, n->store_path) ||
	    str_differs(o->account, n->account))
		log_warnx("reload: [hsm], [store] and account_id changes "
			  "take effect only after a restart");
}

/* Where the console's freshness page reads CRL and OCSP ages. */
struct fresh {
	struct crl *crl;
	struct ocsp_responder *ocsp;
};

/* The HTTP server and what it serves (pcad's network side). */
struct net {
	struct http_server *http;
	struct api_server *api;
	struct acme *acme; /* NULL unless [acme] enabled */
	struct con *con;   /* NULL unless [console] enabled */
	struct fresh fresh;
};

static void
reload(const char *path, struct appliance *ap, struct net *net,
    struct ocsp_responder *ocsp, struct publish *pub)
{
	struct appliance_conf nc;
	struct ca_engine *eng = NULL, *old = NULL;
	struct pol_set *ps = NULL;
	struct api_conf c;
	struct http_conf hc;

	if (appliance_conf_load(path, &nc) != PCA_OK) {
		log_warnx("reload: %s; keeping the running configuration",
		    pca_err_msg());
		return;
	}
	warn_restart_only(&ap->conf, &nc);
	api_conf_from(&nc, &c);
	http_conf_from(&nc, &hc);
	if (api_conf_check(&c) != PCA_OK ||
	    appliance_policies_load(&nc, &ps) != PCA_OK ||
	    ca_engine_new(&nc.engine, ap->hsm, ap->store, &eng) != PCA_OK ||
	    (appliance_policies_attach(eng, ps), 0) ||
	    publish_engine(pub, eng) != PCA_OK ||
	    ocsp_responder_listen(ocsp, eng) != PCA_OK ||
	    http_reload(net->http, &hc) != PCA_OK ||
	    api_server_reload(net->api, &c, eng, &old) != PCA_OK) {
		log_warnx("reload: %s; keeping the running configuration",
		    pca_err_msg());
		ca_engine_free(eng);
		pol_set_free(ps);
		appliance_conf_free(&nc);
		return;
	}
	api_server_approval_set(net->api, &nc.approval);
	if (net->con != NULL)
		con_reload(net->con, &nc.console);
	/* returns once the responder's thread no longer uses the old engine */
	if (ocsp_responder_set_engine(ocsp, eng, &nc.ocsp) != PCA_OK)
		log_warnx("reload: [ocsp]: %s", pca_err_msg());
	crl_attach(pub->crl, eng); /* the CRL thread leaves old first */
	nc.acme.policies = ps;
	if (net->acme != NULL)
		acme_reload(net->acme, &nc.acme, eng);
	mon_attach(pub->mon, eng, ps); /* so does the monitor */
	ca_engine_free(old);
	ap->engine = eng;
	pol_set_free(ap->policies); /* its engine is gone */
	ap->policies = ps;
	log_init("pcad", nc.log_level);
	if (log_journal(nc.log_journal) != 0)
		log_warn("[log] target = journal: staying on stderr");
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

/*
 * Housekeeping: CA expiry and purges, expired idempotency tokens, change
 * feed records every follower has read.
 */
static void
maintain(struct appliance *ap, int standby)
{
	size_t cas = 0, tokens = 0, feed = 0, rotated = 0, retired = 0;

	if (standby) { /* CA state changes only through the feed */
		if (store_feed_prune(ap->store, util_now(),
			ap->conf.feed_min_age_s, ap->conf.feed_max_age_s,
			&feed) != PCA_OK)
			log_warnx("maintenance: %s", pca_err_msg());
		return;
	}
	if (ca_engine_maintain(ap->engine, &cas, &tokens) != PCA_OK)
		log_warnx("maintenance: %s", pca_err_msg());
	else if (cas || tokens)
		log_info("maintenance: %zu CAs purged, %zu idempotency tokens "
			 "expired",
		    cas, tokens);
	if (store_feed_prune(ap->store, util_now(), ap->conf.feed_min_age_s,
		ap->conf.feed_max_age_s, &feed) != PCA_OK)
		log_warnx("maintenance: %s", pca_err_msg());
	else if (feed > 0)
		log_debug("maintenance: %zu change feed records pruned", feed);
	if (ca_rotate_maintain(ap->engine, &rotated, &retired) != PCA_OK)
		log_warnx("rotation pass: %s", pca_err_msg());
	else if (rotated || retired)
		log_info("rotation pass: %zu CAs rotated, %zu retired", rotated,
		    retired);
	/* free heap pages back to the kernel (see alloc_setup) */
	(void)malloc_trim(0);
}

/*
 * One pcad per appliance: an exclusive lock on <store>/pcad.lock, held for
 * the life of the process.  A second pcad on the same store would share the
 * listeners (SO_REUSEPORT) and serve stale caches, so it is refused.
 */
static int
lock_appliance(const char *path)
{
	struct appliance_conf c;
	char lp[PATH_MAX], pid[32] = "";
	ssize_t n;
	int fd;

	if (appliance_conf_load(path, &c) != PCA_OK)
		fatalx("%s", pca_err_msg());
	(void)snprintf(lp, sizeof(lp), "%s/pcad.lock", c.store_path);
	(void)mkdir(c.store_path, 0700);
	appliance_conf_free(&c);
	if ((fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		fatal("%s", lp);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		n = read(fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		fatalx(
		    "another pcad (pid %s) serves this appliance: %s is locked",
		    pid[0] ? pid : "?", lp);
	}
	(void)snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 ||
	    write(fd, pid, strlen(pid)) != (ssize_t)strlen(pid))
		log_warn("%s", lp);
	/* fd stays open: the lock lasts as long as this process */
	return fd;
}

/*
 * [process] separate = yes: the keeper and the first signer start before
 * anything network-facing; *hsm is then the front's end.  Without: NULL
 * (appliance_open opens the token in process).  The PIN given by pin_env
 * is wiped from the front's environment.
 */
static void
start_signer(const char *path, int lock_fd, struct appliance_conf *a, int *ctl)
{
	char *pin;

	if (appliance_conf_load(path, a) != PCA_OK)
		fatalx("%s", pca_err_msg());
	*ctl = -1;
	if (a->proc_separate && pcad_proc_keeper(path, lock_fd, ctl) != PCA_OK)
		fatalx("%s", pca_err_msg());
	if (a->proc_separate && a->hsm.pin_env != NULL &&
	    (pin = getenv(a->hsm.pin_env)) != NULL) {
		explicit_bzero(pin, strlen(pin));
		(void)unsetenv(a->hsm.pin_env);
	}
}

/* Drops privileges, then opens the appliance (over the signer). */
static pca_err
open_front(const char *path, struct appliance_conf *a, int ctl,
    struct appliance *ap)
{
	struct hsm *h = NULL;
	pca_err err;

	err = pcad_proc_drop(a, 0);
	appliance_conf_free(a);
	if (err != PCA_OK)
		return err;
	if (ctl >= 0 && (err = hsm_proxy_new(ctl, 120, &h)) != PCA_OK)
		return err;
	return appliance_open_hsm(path, h, ap);
}

/*
 * Blocks of this size and more always come from mmap and go back at free.
 * A store batch run again nested (one of its writes failed) allocates and
 * frees about 3 MB of dirty-page lists per write (LMDB nested
 * transactions); with glibc's default (dynamic) threshold the first such
 * free raises the threshold above them, after
 * which they are carved out of each thread's arena, and the small
 * allocations' churn over those arenas made the resident anonymous memory
 * creep (make soak: +5% a minute after the warm-up; flat with this).
 * Setting it also turns the dynamic threshold off.  Before any fork or
 * thread, so the signer has it too.  Not set, as measured by the soak:
 * fewer arenas (M_ARENA_MAX 2 or 4) hold about 1.5 MB less but cost a
 * quarter of the API's issuance rate (the TLS threads contend).
 * maintain() calls malloc_trim(0) once a minute: glibc keeps the pages of
 * freed small chunks resident, and a CRL build over 1,000,000 revocations
 * (make bench-scale) left 429 MB free but resident in the heap, which one
 * malloc_trim gave back (RssAnon 421 MB -> 3.4 MB); under the soak's load
 * it makes no measurable difference.
 */
#define PCAD_MMAP_THRESHOLD (256 * 1024)

static void
alloc_setup(void)
{
	(void)mallopt(M_MMAP_THRESHOLD, PCAD_MMAP_THRESHOLD);
}

static void
harden(void)
{
	struct rlimit rl = {0, 0};

	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &rl);
	/* idle sockets cost little (epoll); the soft descriptor limit
	   should not be what runs out first */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * The ports, bound before the token or the store is opened: a port in use
 * is the one line pcad prints.
 */
static pca_err
net_bind(const char *path, struct net *net)
{
	struct appliance_conf a;
	struct http_conf hc;
	pca_err err;

	if ((err = appliance_conf_load(path, &a)) != PCA_OK)
		return err;
	http_conf_from(&a, &hc);
	err = http_server_new(&hc, &net->http);
	appliance_conf_free(&a);
	return err;
}

/* The token's counters for the API's GET /metrics. */
static void
token_stats(void *arg, struct api_token_stats *out)
{
	struct hsm_stats hs;

	memset(&hs, 0, sizeof(hs));
	hsm_stats_get(arg, &hs);
	out->signs = hs.signs;
	out->sign_errors = hs.sign_errors;
	out->recoveries = hs.recoveries;
	out->available = hs.available;
}

static size_t
fresh_crls(void *arg, struct con_crl *out, size_t max)
{
	struct fresh *f = arg;
	struct crl_metrics *m = calloc(1, sizeof(*m));
	size_t i;

	if (m == NULL)
		return 0;
	crl_metrics_get(f->crl, m);
	for (i = 0; i < m->ncas && i < max; i++) {
		(void)snprintf(out[i].ca, sizeof(out[i].ca), "%s",
		    m->cas[i].ca);
		out[i].this_update = m->cas[i].this_update;
		out[i].next_update = m->cas[i].next_update;
	}
	free(m);
	return i;
}

static int64_t
fresh_ocsp(void *arg)
{
	return ocsp_responder_oldest(((struct fresh *)arg)->ocsp);
}

/* [console]: its routes go before the API's catch-all. */
static pca_err
console_start(struct net *net, struct appliance *ap, struct publish *pub,
    struct ocsp_responder *ocsp)
{
	struct con_conf cc = ap->conf.console;
	pca_err err;

	if (!cc.enabled)
		return PCA_OK;
	net->fresh.crl = pub->crl;
	net->fresh.ocsp = ocsp;
	cc.crls = fresh_crls;
	cc.ocsp_oldest = fresh_ocsp;
	cc.arg = &net->fresh;
	if ((err = con_new(&cc, net->api, ap->store, &net->con)) != PCA_OK)
		return err;
	return con_register(net->con, net->http);
}

/* An IAM denial: a refusal of rule "iam:OP" for alert/. */
static void
iam_denied(void *arg, const char *who, const char *op)
{
	char rule[80];

	(void)snprintf(rule, sizeof(rule), "iam:%s", op);
	alert_refusal_note(arg, who, rule, util_now());
}

/*
 * Every module's routes on the bound server, in order: CRLs, the API (with
 * /health and /metrics), then OCSP (its root GET takes what the others
 * leave); then it serves.  A standby serves no ACME (orders issue).
 */
static pca_err
net_start(struct net *net, const struct api_conf *c, struct appliance *ap,
    struct publish *pub, struct ocsp_responder *ocsp, int standby)
{
	const struct api_services svc = {.token = ap->hsm,
	    .health = token_health,
	    .token_stats = token_stats,
	    .arg = pub,
	    .audit_create = pub->sync != NULL ? hook_audit_create : NULL,
	    .audit_describe = pub->sync != NULL ? hook_audit_describe : NULL,
	    .report = hook_report,
	    .acme_cert = acme_cert_info,
	    .denied_arg = ap->refusals,
	    /* a standby writes nothing: its denials are not counted */
	    .denied = ap->refusals != NULL && !standby ? iam_denied : NULL};
	struct seal_ops seal;
	pca_err err;

	ap->conf.acme.policies = ap->policies;
	hsm_seal_ops(ap->hsm, &seal); /* api/ and acme/ copy it */
	if ((err = api_server_new(c, ap->engine, ap->store, &seal,
		 &net->api)) != PCA_OK)
		return err;
	api_server_services_set(net->api, &svc);
	if ((err = crl_http_register(pub->crl, net->http)) != PCA_OK ||
	    (ap->conf.acme_enabled && !standby && /* before the catch-all */
		((err = acme_new(&ap->conf.acme, ap->engine, ap->store, &seal,
		      &net->acme)) != PCA_OK ||
		    (err = acme_register(net->acme, net->http)) != PCA_OK)) ||
	    (err = console_start(net, ap, pub, ocsp)) != PCA_OK ||
	    (err = api_server_register(net->api, net->http)) != PCA_OK ||
	    (err = ocsp_http_register(ocsp, net->http,
		 ap->conf.engine.ocsp_url)) != PCA_OK ||
	    (err = api_server_metrics_hook(net->api, ocsp_metrics, ocsp)) !=
		PCA_OK ||
	    (net->acme != NULL && (err = api_server_metrics_hook(net->api,
				       acme_metrics, net->acme)) != PCA_OK))
		return err;
	return http_start(net->http);
}

static int
serve(const char *path, int standby)
{
	struct appliance ap;
	struct net net = {NULL, NULL, NULL, NULL, {NULL, NULL}};
	struct ocsp_responder *ocsp = NULL;
	struct publish pub;
	struct bk_sched *bks = NULL;
	struct disc_job *disc = NULL; /* [discovery] */
	struct alert *alerts = NULL;  /* [alerts] */
	struct role ro;
	struct api_conf c;
	sigset_t set;
	int sig = 0, lock_fd, ctl;
	size_t migrated = 0;
	struct appliance_conf pc;

	memset(&pub, 0, sizeof(pub));
	memset(&ro, 0, sizeof(ro));
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* threads started from here on inherit the mask */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	lock_fd = lock_appliance(path);
	start_signer(path, lock_fd, &pc, &ctl);
	if (net_bind(path, &net) != PCA_OK)
		fatalx("%s", pca_err_msg());
	if (open_front(path, &pc, ctl, &ap) != PCA_OK)
		fatalx("%s", pca_err_msg());
	log_init("pcad", ap.conf.log_level);
	if (log_journal(ap.conf.log_journal) != 0)
		log_warn("[log] target = journal: staying on stderr");
	api_conf_from(&ap.conf, &c);
	if (api_key_migrate(ap.store, &migrated) != PCA_OK)
		log_warnx("access keys: %s", pca_err_msg());
	if (migrated > 0)
		log_info("%zu access keys: role -> managed policy", migrated);
	/* the responder listens to the engine before the engine is shared */
	if (ocsp_responder_new(&ap.conf.ocsp, ap.engine, ap.store, ap.hsm,
		&ocsp) != PCA_OK ||
	    publish_new(&ap, &pub) != PCA_OK) {
		log_warnx("%s", pca_err_msg());
		http_stop(net.http, 0);
		publish_free(&pub);
		ocsp_responder_free(ocsp);
		appliance_close(&ap);
		return 1;
	}
	bk_holder_name(ap.conf.api_listen, ro.holder, sizeof(ro.holder));
	if ((standby ? standby_new(path, &ap, &ro)
		     : backup_new(path, &ap, &bks, ro.holder)) != PCA_OK ||
	    ((ro.bks = bks), 0) ||
	    net_start(&net, &c, &ap, &pub, ocsp, standby) != PCA_OK ||
	    (api_server_approval_set(net.api, &ap.conf.approval), 0) ||
	    publish_start(&pub, net.api, standby) != PCA_OK ||
	    role_run(&ro, net.api) != PCA_OK ||
	    backup_run(bks, net.api) != PCA_OK) {
		log_warnx("%s", pca_err_msg());
		http_stop(net.http, 0);
		con_free(net.con);
		api_server_free(net.api);
		bk_standby_free(ro.sb);
		bk_sched_free(bks);
		acme_free(net.acme);
		publish_free(&pub);
		ocsp_responder_free(ocsp);
		appliance_close(&ap);
		return 1;
	}
	if (ap.conf.proc_separate && ap.conf.proc_seccomp) {
		if (pcad_proc_seccomp() != PCA_OK)
			fatalx("%s", pca_err_msg());
		/* tests: a call outside the filter must end the front */
		if (getenv("PCAD_SECCOMP_PROBE") != NULL)
			(void)syscall(SYS_ptrace, 0, 0, 0, 0);
	}
	/* a standby writes nothing: discovery and alerts run on the primary */
	if (!standby && ap.conf.discovery_on &&
	    disc_job_start(&ap.conf.discovery, ap.store, &disc) != PCA_OK)
		log_warnx("discovery: %s", pca_err_msg());
	if (!standby && ap.conf.alerts_on &&
	    (alert_new(&ap.conf.alerts, ap.store, &alerts) != PCA_OK ||
		api_server_metrics_hook(net.api, alerts_metrics, alerts) !=
		    PCA_OK ||
		alert_start(alerts) != PCA_OK))
		log_warnx("alerts: %s", pca_err_msg());
	if (alerts != NULL) /* OCSP questions about serials we never issued */
		ocsp_responder_set_unknown_hook(ocsp, alert_note_unknown,
		    alerts);
	log_info("pcad ready (region %s, account %s, role %s)", ap.conf.region,
	    ap.conf.account, standby ? "standby" : "primary");
	maintain(&ap, standby); /* what fell due while pcad was down */
	while ((sig = wait_signal(&set)) != SIGTERM && sig != SIGINT) {
		if (sig == SIGHUP)
			reload(path, &ap, &net, ocsp, &pub);
		else
			maintain(&ap, standby);
	}
	log_info("signal %d: stopping (in-flight requests finish first)", sig);
	http_stop(net.http, DRAIN_S);
	con_free(net.con);
	disc_job_stop(disc);
	api_server_free(net.api);
	bk_standby_free(ro.sb);
	bk_sched_free(bks);
	acme_free(net.acme);
	publish_free(&pub);
	ocsp_responder_free(ocsp);
	alert_free(alerts); /* after the responder: its unknown hook */
	appliance_close(&ap);
	pcad_proc_wait(STOP_WAIT_MS);
	log_info("stopped");
	return 0;
}

static int
list_config_keys(void)
{
	const char *const *k;

	for (k = appliance_conf_keys(); *k != NULL; k++)
		printf("%s\n", *k);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	int i, check = 0;
	const char *role = "primary";

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--check-config") == 0)
			check = 1;
		else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc &&
			 (strcmp(argv[i + 1], "primary") == 0 ||
			     strcmp(argv[i + 1], "standby") == 0 ||
			     strcmp(argv[i + 1], "responder") == 0))
			role = argv[++i];
		else if (strcmp(argv[i], "--version") == 0) {
			printf("pcad %s\n", PCA_VERSION);
			return 0;
		} else if (strcmp(argv[i], "-h") == 0 ||
			   strcmp(argv[i], "--help") == 0)
			help();
		else if (strcmp(argv[i], "--list-config-keys") == 0 &&
			 argc == 2)
			return list_config_keys();
		else
			usage();
	}
	if (path == NULL && (path = getenv("PCAD_CONFIG")) == NULL &&
	    (path = getenv("PCACTL_CONFIG")) == NULL)
		path = "var/appliance/pcad.conf";
	log_init("pcad", LOG_LEVEL_INFO);
	if (check)
		return check_config(path);
	alloc_setup();
	harden();
	if (strcmp(role, "responder") == 0)
		return pcad_responder_serve(path);
	return serve(path, strcmp(role, "standby") == 0);
}
