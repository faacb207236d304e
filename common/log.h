/*
 * log.h - relayd-shaped logging to stderr.  Library code logs only where it
 * has the context (the rule broken, the object); callers do not re-log.
 * Never log PINs, key bytes, session handles or request bodies.
 */
#ifndef PCA_COMMON_LOG_H
#define PCA_COMMON_LOG_H

#define LOG_LEVEL_WARN 0
#define LOG_LEVEL_INFO 1
#define LOG_LEVEL_DEBUG 2

/* name: process name in each line; level: LOG_LEVEL_*. */
void log_init(const char *name, int level);
int log_getlevel(void);
/*
 * on: lines go to the systemd journal over its native protocol
 * (/run/systemd/journal/socket; PRIORITY, SYSLOG_IDENTIFIER, OPENPCA_TAG,
 * MESSAGE), falling back to stderr when a datagram cannot be sent; off:
 * stderr (the default).  0, or -1 (errno set) when the socket cannot be
 * made.  Called at start and on reload.
 */
int log_journal(int on);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Audit channel: one key=value line per event, always emitted. */
void log_audit(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
