/*
 * pcad_proc.c - pcad's processes (acme-client/relayd style):
 *
 *   front   the pcad process itself: listeners, TLS, HTTP, JSON, SigV4,
 *           OCSP, CRLs, the engine and the store; its struct hsm forwards
 *           every token call to the signer (hsm_proxy_new).
 *   keeper  forked first, before anything network-facing or any thread;
 *           keeps the privileges needed to start a signer and does nothing
 *           else: starts one, hands its socket to the front over ctl,
 *           waits for it to end, starts the next.  Ends with the front.
 *   signer  the only process that loads the PKCS#11 module, reads the PIN
 *           and holds sessions; opens the store read only (to judge what
 *           it signs, ca_sign_check), drops privileges, never dumps core,
 *           and serves hsm_signer_serve until the front goes away; it
 *           never unseals an API secret for the front, only derives
 *           per-day SigV4 signing keys from it (secret_label).
 *
 * Started as root with [process] user, the front drops to that user with
 * no supplementary group, the signer to the same user plus
 * [process] signer_group (the token directory's group); the PIN file is
 * read by the signer before it drops.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../api/api.h"
#include "../common/log.h"
#include "pcad_proc.h"

#define SIGNER_BACKOFF_MS 1000 /* a signer that lived less waits this */
#define KEEPER_POLL_MS 50
#define SIGNER_STOP_MS 3000 /* a signer's own exit (C_Finalize) may take */

static pid_t keeper_pid = -1; /* the front's child, for pcad_proc_wait */

static void
no_core(void)
{
	struct rlimit rl = {0, 0};

	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &rl);
}

pca_err
pcad_proc_drop(const struct appliance_conf *a, int signer)
{
	struct passwd pwb, *pw = NULL;
	struct group grb, *gr = NULL;
	char pbuf[4096], gbuf[4096];
	gid_t groups[1];
	size_t ng = 0;

	if (a->proc_user == NULL) {
		if (geteuid() == 0 && !signer)
			log_warnx("running as root: set [process] user");
		return PCA_OK;
	}
	if (geteuid() != 0)
		return pca_err_set(PCA_EINVAL,
		    "[process] user = %s: pcad "
		    "must be started as root to drop to it",
		    a->proc_user);
	if (getpwnam_r(a->proc_user, &pwb, pbuf, sizeof(pbuf), &pw) != 0 ||
	    pw == NULL)
		return pca_err_set(PCA_EINVAL,
		    "[process] user = %s: no such "
		    "user",
		    a->proc_user);
	if (pw->pw_uid == 0)
		return pca_err_set(PCA_EINVAL, "[process] user = %s is root",
		    a->proc_user);
	if (signer && a->proc_signer_group != NULL) {
		if (getgrnam_r(a->proc_signer_group, &grb, gbuf, sizeof(gbuf),
			&gr) != 0 ||
		    gr == NULL)
			return pca_err_set(PCA_EINVAL,
			    "[process] signer_group "
			    "= %s: no such group",
			    a->proc_signer_group);
		groups[ng++] = gr->gr_gid;
	}
	if (setgroups(ng, groups) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
		return pca_err_set(PCA_EINVAL, "dropping to %s: %s",
		    a->proc_user, strerror(errno));
	if (setuid(0) == 0)
		return pca_err_set(PCA_EINTERNAL,
		    "dropping to %s: root came "
		    "back",
		    a->proc_user);
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (signer)
		no_core(); /* setuid made it dumpable again */
	return PCA_OK;
}

/* ---- the signer ---- */

struct signer_arg {
	struct ca_engine *e;
	struct hsm *h;
};

static pca_err
signer_check(void *arg, enum hsm_signer_op op, const char *label,
    unsigned flags, enum pca_sigalg alg, const uint8_t *tbs, size_t len)
{
	struct signer_arg *s = arg;

	return ca_sign_check(s->e, s->h, op, label, flags, alg, tbs, len);
}

/* Tells the keeper "ok" or the error; the keeper tells the front. */
static void
signer_status(int st, pca_err err)
{
	char msg[HSM_IPC_MSG_MAX + 1];
	int n;

	n = snprintf(msg, sizeof(msg), "%s",
	    err == PCA_OK ? "" : pca_err_msg());
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = (int)sizeof(msg) - 1;
	/* a pipe: one write each, far below PIPE_BUF */
	if (write(st, &err, sizeof(err)) != (ssize_t)sizeof(err) ||
	    write(st, msg, (size_t)n) != (ssize_t)n)
		log_warn("signer: status");
	(void)close(st);
}

static void
signer_main(const char *path, int fd, int st)
{
	struct appliance_conf a;
	struct store_conf sc;
	struct store *store = NULL;
	struct hsm *h = NULL;
	struct signer_arg sa = {NULL, NULL};
	struct hsm_signer_conf hc;
	pca_err err;

	no_core();
	(void)prctl(PR_SET_NAME, "pcad-signer", 0, 0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	log_init("pcad-signer", LOG_LEVEL_INFO);
	if ((err = appliance_conf_load(path, &a)) != PCA_OK) {
		signer_status(st, err);
		_exit(1);
	}
	log_init("pcad-signer", a.log_level);
	sc = a.store;
	sc.read_only = 1;
	if ((err = hsm_open(&a.hsm, &h)) != PCA_OK ||
	    (err = store_open(&sc, &store)) != PCA_OK ||
	    (err = ca_engine_new(&a.engine, h, store, &sa.e)) != PCA_OK ||
	    (err = pcad_proc_drop(&a, 1)) != PCA_OK) {
		signer_status(st, err);
		_exit(1);
	}
	sa.h = h;
	signer_status(st, PCA_OK);
	memset(&hc, 0, sizeof(hc));
	hc.threads = a.hsm.sessions ? a.hsm.sessions : 4;
	hc.check = signer_check;
	hc.arg = &sa;
	/* API secrets stay here: the front gets SigV4 signing keys only */
	hc.secret_label = API_SEAL_LABEL;
	err = hsm_signer_serve(h, fd, &hc);
	ca_engine_free(sa.e);
	store_close(store);
	hsm_close(h);
	appliance_conf_free(&a);
	_exit(err == PCA_OK ? 0 : 3);
}

/* ---- the keeper ---- */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The front is gone, so the signer's socket is closed and it is ending on
 * its own (sessions closed, the module finalized): wait for that, bounded,
 * before SIGKILL, so the token is released when the keeper exits.
 */
static void
keeper_stop_signer(pid_t pid)
{
	int64_t end = mono_ms() + SIGNER_STOP_MS;
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (mono_ms() >= end) {
			log_warnx("signer (pid %ld) still running %d ms after "
				  "the front: killing it",
			    (long)pid, SIGNER_STOP_MS);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return;
		}
		(void)poll(NULL, 0, 20);
	}
}

/*
 * Starts one signer; sends its socket (or its error) to the front.
 * Returns its pid, or -1 when it did not start.
 */
static pid_t
keeper_spawn(const char *path, int ctl, int first)
{
	int sp[2], st[2];
	pca_err err = PCA_EUNAVAIL;
	char msg[HSM_IPC_MSG_MAX + 1] = "the signer died while starting";
	ssize_t n;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0 ||
	    pipe2(st, O_CLOEXEC) != 0) {
		log_warn("keeper: socketpair");
		return -1;
	}
	if ((pid = fork()) < 0) {
		log_warn("keeper: fork");
		close(sp[0]), close(sp[1]), close(st[0]), close(st[1]);
		return -1;
	}
	if (pid == 0) {
		close(sp[0]);
		close(st[0]);
		close(ctl);
		signer_main(path, sp[1], st[1]);
		_exit(1);
	}
	close(sp[1]);
	close(st[1]);
	if (hsm_ipc_read_full(st[0], &err, sizeof(err)) != 0)
		err = PCA_EUNAVAIL;
	else if ((n = read(st[0], msg, sizeof(msg) - 1)) >= 0)
		msg[n] = '\0';
	close(st[0]);
	if (err == PCA_OK)
		log_info("signer (pid %ld) serves", (long)pid);
	else if (!first)
		log_warnx("signer: %s", msg);
	if (hsm_keeper_send(ctl, err, msg, sp[0]) != PCA_OK && err == PCA_OK)
		log_warnx("keeper: %s", pca_err_msg());
	close(sp[0]);
	return pid;
}

static void
keeper_main(const char *path, int ctl)
{
	struct pollfd p = {ctl, POLLIN, 0};
	int64_t started;
	pid_t pid = -1;
	int first = 1, status;
	sigset_t all;
	char go;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/*
	 * A signal to the whole group (Ctrl-C, systemd's stop) is for the
	 * front: the keeper and its signer end when the front closes its
	 * sockets, after the in-flight requests it lets finish.
	 */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	(void)prctl(PR_SET_NAME, "pcad-keeper", 0, 0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	no_core();
	log_init("pcad-keeper", LOG_LEVEL_INFO);
	/* the first signer starts once the front holds its ports */
	if (recv(ctl, &go, 1, 0) != 1)
		_exit(0);
	for (;;) {
		started = mono_ms();
		pid = keeper_spawn(path, ctl, first);
		if (first && pid > 0 && waitpid(pid, &status, WNOHANG) == pid)
			pid = -1;
		first = 0;
		while (pid > 0) {
			if (poll(&p, 1, KEEPER_POLL_MS) > 0) {
				/* the front is gone: so is its signer */
				keeper_stop_signer(pid);
				_exit(0);
			}
			if (waitpid(pid, &status, WNOHANG) != pid)
				continue;
			if (WIFSIGNALED(status))
				log_warnx("signer (pid %ld) killed by signal "
					  "%d; starting another",
				    (long)pid, WTERMSIG(status));
			else
				log_warnx("signer (pid %ld) exited with %d; "
					  "starting another",
				    (long)pid, WEXITSTATUS(status));
			pid = -1;
		}
		if (mono_ms() - started < SIGNER_BACKOFF_MS &&
		    poll(&p, 1, SIGNER_BACKOFF_MS) > 0)
			_exit(0);
	}
}

pca_err
pcad_proc_keeper(const char *path, int lock_fd, int *ctl)
{
	int sp[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0)
		return pca_err_set(PCA_EIO, "socketpair: %s", strerror(errno));
	if ((pid = fork()) < 0) {
		close(sp[0]);
		close(sp[1]);
		return pca_err_set(PCA_EIO, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(sp[0]);
		if (lock_fd >= 0)
			close(lock_fd);
		keeper_main(path, sp[1]);
		_exit(0);
	}
	close(sp[1]);
	*ctl = sp[0];
	keeper_pid = pid;
	return PCA_OK;
}

void
pcad_proc_wait(int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;
	int status;
	pid_t r;

	if (keeper_pid <= 0)
		return;
	while (
	    (r = waitpid(keeper_pid, &status, WNOHANG)) == 0 && mono_ms() < end)
		(void)poll(NULL, 0, 20);
	if (r == 0)
		log_warnx("keeper (pid %ld) still running after %d ms; "
			  "stopping without it",
		    (long)keeper_pid, timeout_ms);
	keeper_pid = -1;
}
