#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "log.h"

#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"

static const char *log_name = "openpca";
static int log_level = LOG_LEVEL_INFO;
static int journal_fd = -1; /* set once, before threads start */

int
log_journal(int on)
{
	if (!on) {
		if (journal_fd >= 0)
			(void)close(journal_fd);
		journal_fd = -1;
		return 0;
	}
	if (journal_fd < 0 &&
	    (journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	return 0;
}

/* syslog(3) priorities of the tags. */
static int
journal_priority(const char *tag)
{
	return strcmp(tag, "fatal") == 0   ? 2
	       : strcmp(tag, "warn") == 0  ? 4
	       : strcmp(tag, "audit") == 0 ? 5
	       : strcmp(tag, "debug") == 0 ? 7
					   : 6;
}

/* One entry; MESSAGE in the binary form (any bytes). 0: sent. */
static int
journal_send(const char *tag, const char *msg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[1600];
	uint64_t len = strlen(msg);
	int n, i;

	n = snprintf(buf, sizeof(buf),
	    "PRIORITY=%d\nSYSLOG_IDENTIFIER=%s\n"
	    "OPENPCA_TAG=%s\nMESSAGE\n",
	    journal_priority(tag), log_name, tag);
	if (n < 0 || (size_t)n + 8 + len + 1 > sizeof(buf))
		return -1;
	for (i = 0; i < 8; i++) /* little-endian 64-bit length */
		buf[n++] = (char)(len >> (8 * i));
	memcpy(buf + n, msg, len);
	n += (int)len;
	buf[n++] = '\n';
	memcpy(sa.sun_path, LOG_JOURNAL_SOCKET, sizeof(LOG_JOURNAL_SOCKET));
	return sendto(journal_fd, buf, (size_t)n, MSG_NOSIGNAL,
		   (struct sockaddr *)&sa, sizeof(sa)) == n
		   ? 0
		   : -1;
}

void
log_init(const char *name, int level)
{
	log_name = name;
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

static void vlog(const char *, const char *, va_list, int)
    __attribute__((format(printf, 2, 0)));

static void
vlog(const char *tag, const char *fmt, va_list ap, int with_errno)
{
	char msg[1024];
	char ts[32];
	struct tm tm;
	time_t now;
	int saved = errno;

	now = time(NULL);
	gmtime_r(&now, &tm);
	(void)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (journal_fd >= 0) {
		char m[1200] = "";
		if (with_errno)
			(void)snprintf(m, sizeof(m), "%s: %s", msg,
			    strerror(saved));
		if (journal_send(tag, with_errno ? m : msg) == 0) {
			errno = saved;
			return;
		}
	}
	if (with_errno)
		fprintf(stderr, "%s %s[%s]: %s: %s\n", ts, log_name, tag, msg,
		    strerror(saved));
	else
		fprintf(stderr, "%s %s[%s]: %s\n", ts, log_name, tag, msg);
	errno = saved;
}

#define LOGFN(fn, lvl, tag, err)                                               \
	void fn(const char *fmt, ...)                                          \
	{                                                                      \
		va_list ap;                                                    \
		if (log_level < (lvl))                                         \
			return;                                                \
		va_start(ap, fmt);                                             \
		vlog(tag, fmt, ap, err);                                       \
		va_end(ap);                                                    \
	}

LOGFN(log_warn, LOG_LEVEL_WARN, "warn", 1)
LOGFN(log_warnx, LOG_LEVEL_WARN, "warn", 0)
LOGFN(log_info, LOG_LEVEL_INFO, "info", 0)
LOGFN(log_debug, LOG_LEVEL_DEBUG, "debug", 0)
LOGFN(log_audit, LOG_LEVEL_WARN, "audit", 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, 0);
	va_end(ap);
	exit(1);
}
