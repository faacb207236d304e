#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *log_name = "openpca";
static int log_level = LOG_LEVEL_INFO;

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
	if (with_errno)
		fprintf(stderr, "%s %s[%s]: %s: %s\n", ts, log_name, tag, msg,
		    strerror(saved));
	else
		fprintf(stderr, "%s %s[%s]: %s\n", ts, log_name, tag, msg);
	errno = saved;
}

#define LOGFN(fn, lvl, tag, err)                                             \
	void fn(const char *fmt, ...)                                        \
	{                                                                    \
		va_list ap;                                                  \
		if (log_level < (lvl))                                       \
			return;                                              \
		va_start(ap, fmt);                                           \
		vlog(tag, fmt, ap, err);                                     \
		va_end(ap);                                                  \
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
