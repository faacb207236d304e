/*
 * pcad_seccomp.c - the front's system call filter ([process] seccomp, with
 * a separated signer): once pcad serves, every thread of the front may
 * make only the calls below (what libmicrohttpd, OpenSSL, LMDB, libcurl,
 * jansson and our code use); any other call is not made, the front logs
 * "seccomp: denied system call N" and exits at once (a compromised parser
 * should not get to try a second one).  No exec, no fork (clone only with
 * CLONE_THREAD), no ptrace, no mount, no module loading, no privilege
 * changes.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "../common/log.h"
#include "pcad_proc.h"

static const char *const allowed[] = {
    /* memory, threads, time */
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "msync",
    "mincore", "mlock", "munlock", "futex", "set_robust_list",
    "get_robust_list", "rseq", "membarrier", "exit", "exit_group", "gettid",
    "getpid", "getppid", "wait4", "sched_yield", "sched_getaffinity",
    "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres",
    "gettimeofday", "time", "restart_syscall", "rt_sigaction", "rt_sigprocmask",
    "rt_sigreturn", "rt_sigtimedwait", "sigaltstack", "getrandom", "uname",
    "sysinfo", "prctl", "getrlimit", "prlimit64", "getuid", "geteuid", "getgid",
    "getegid", "getgroups", "getresuid", "getresgid", "umask", "getcwd",
    "rt_sigpending", "sched_getparam", "sched_getscheduler", "getitimer",
    "setitimer", "alarm", "timer_create", "timer_settime", "timer_gettime",
    "timer_delete", "mlock2", "sync_file_range", "setpriority", "ioprio_set",
    /* files (the store, configuration, TLS files, CRL cache) */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
    "pwritev", "lseek", "close", "openat", "open", "creat", "fstat",
    "newfstatat", "stat", "lstat", "statx", "statfs", "fstatfs", "fcntl",
    "flock", "dup", "dup2", "dup3", "ioctl", "fsync", "fdatasync", "ftruncate",
    "fallocate", "rename", "renameat", "renameat2", "unlink", "unlinkat",
    "mkdir", "mkdirat", "rmdir", "getdents64", "access", "faccessat",
    "faccessat2", "readlink", "readlinkat", "fchmod", "fadvise64", "sendfile",
    "copy_file_range", "utimensat", "link", "linkat", "truncate", "fchmodat",
    /* sockets (listeners, the signer, S3, webhook, journal) */
    "socket", "socketpair", "bind", "listen", "accept", "accept4", "connect",
    "getsockname", "getpeername", "setsockopt", "getsockopt", "sendto",
    "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
    "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1",
    "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd",
    "eventfd2", "pipe", "pipe2", "timerfd_create", "timerfd_settime",
    "timerfd_gettime", NULL};

static void
denied(int sig, siginfo_t *si, void *uc)
{
	char msg[96] = "pcad: seccomp: denied system call ";
	char num[16];
	size_t n = strlen(msg), i = 0;
	int nr = si->si_syscall;

	(void)sig;
	(void)uc;
	if (nr < 0)
		nr = 0;
	do
		num[i++] = (char)('0' + nr % 10);
	while ((nr /= 10) > 0 && i < sizeof(num));
	while (i > 0 && n < sizeof(msg) - 30)
		msg[n++] = num[--i];
	memcpy(msg + n, "; the front ends\n", 17);
	n += 17;
	if (write(2, msg, n) < 0)
		_exit(159);
	_exit(159);
}

pca_err
pcad_proc_seccomp(void)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	const char *const *p;
	int nr, rc;

#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer stops the world at exit with ptrace and a tracer
	   task: no filter in a sanitizer build (make asan), said once */
	log_warnx("seccomp: not applied in a sanitizer build");
	return PCA_OK;
#endif

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = denied;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) != 0)
		return pca_err_set(PCA_EINTERNAL, "seccomp: sigaction");
	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		return pca_err_set(PCA_EINTERNAL, "seccomp: init failed");
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	/*
	 * Threads, not processes: clone only with CLONE_THREAD; clone3 (whose
	 * flags sit behind a pointer) answers ENOSYS, so glibc falls back to
	 * clone.
	 */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
		    SCMP_SYS(clone3), 0);
	/* signals to itself only (abort, crash points), never the signer */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	for (p = allowed; rc == 0 && *p != NULL; p++) {
		if ((nr = seccomp_syscall_resolve_name(*p)) == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0)
		return pca_err_set(PCA_EINTERNAL, "seccomp: %s", strerror(-rc));
	return PCA_OK;
}
