/*
 * crashpoint.c - named crash points for the crash-safety test (reliability
 * matrix T2).  For tests only: PCA_CRASHPOINT=name[:n] in the environment of
 * pcad, pcactl or a test tool makes the n-th pass through the named point
 * of issuance (counted over all threads) kill the process with SIGKILL, as
 * "kill -9" at exactly that moment would.  The variable is read once, at
 * the first point passed; unset (the normal case) every point is a no-op.
 * The hook's state is process-wide by nature: it stands for the process.
 *
 *   lint       the TBS passed policy and the lint gate, nothing reserved
 *   reserve    the serial and TBS are durable (PENDING)
 *   sign       the token signed, nothing recorded yet
 *   commit     the certificate is assembled, before its commit
 *   committed  the certificate and its audit entry are durable
 *   reply      issuance finished, before the caller gets the answer
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "engine_int.h"

#define CP_NAME_MAX 16

static const char *const cp_points[] = {"lint", "reserve", "sign", "commit",
    "committed", "reply"};

static pthread_once_t cp_once = PTHREAD_ONCE_INIT;
static char cp_name[CP_NAME_MAX];
static long long cp_at;
static atomic_llong cp_seen;

static int
cp_known(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cp_points) / sizeof(cp_points[0]); i++)
		if (strcmp(cp_points[i], name) == 0)
			return 1;
	return 0;
}

static void
cp_init(void)
{
	const char *v = getenv("PCA_CRASHPOINT");
	const char *colon;
	char name[CP_NAME_MAX];
	long long n = 1;
	size_t len;

	if (v == NULL || v[0] == '\0')
		return;
	colon = strchr(v, ':');
	len = colon ? (size_t)(colon - v) : strlen(v);
	if (len == 0 || len >= sizeof(name))
		goto bad;
	memcpy(name, v, len);
	name[len] = '\0';
	if (!cp_known(name) ||
	    (colon && util_strtonum(colon + 1, 1, 1000000000, &n) != PCA_OK))
		goto bad;
	memcpy(cp_name, name, len + 1);
	cp_at = n;
	log_warnx("PCA_CRASHPOINT: this process kills itself at pass %lld of "
		  "crash point %s (a test hook)",
	    n, name);
	return;
bad:
	log_warnx("PCA_CRASHPOINT=%.40s is not name[:n] with a known point "
		  "(lint, reserve, sign, commit, committed, reply); ignored",
	    v);
}

void
ca_crashpoint(const char *name)
{
	(void)pthread_once(&cp_once, cp_init);
	if (cp_name[0] == '\0' || strcmp(cp_name, name) != 0)
		return;
	if (atomic_fetch_add(&cp_seen, 1) + 1 != cp_at)
		return;
	log_warnx("crash point %s reached: killing the process", name);
	(void)kill(getpid(), SIGKILL);
	_exit(137);
}
