/* testlib_hsm.c - a temporary SoftHSM2 token and a p11-kit server for it. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/util.h"
#include "testlib.h"

int
testlib_token_make(struct testlib_token *t, const char *prefix,
    const char *label, const char *so_pin, const char *user_pin,
    mode_t pin_mode)
{
	char path[128], text[256];

	memset(t, 0, sizeof(*t));
	if (testlib_dir_make(t->dir, sizeof(t->dir), prefix) != 0)
		return -1;
	(void)snprintf(path, sizeof(path), "%s/tokens", t->dir);
	if (mkdir(path, 0700) != 0)
		return -1;
	(void)snprintf(text, sizeof(text),
	    "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
	    "log.level = ERROR\n",
	    t->dir);
	(void)snprintf(path, sizeof(path), "%s/softhsm2.conf", t->dir);
	if (util_file_write(path, text, strlen(text), 0600, 1) != PCA_OK)
		return -1;
	(void)snprintf(t->env, sizeof(t->env), "SOFTHSM2_CONF=%s", path);
	(void)snprintf(t->pin, sizeof(t->pin), "%s/pin", t->dir);
	(void)snprintf(text, sizeof(text), "%s\n", user_pin);
	if (util_file_write(t->pin, text, strlen(text), pin_mode, 1) != PCA_OK)
		return -1;
	(void)snprintf(t->label, sizeof(t->label), "%s", label);
	t->conf.module = TESTLIB_SOFTHSM;
	t->conf.token = t->label;
	t->conf.pin_file = t->pin;
	t->conf.module_env = t->env;
	if (hsm_token_init(&t->conf, so_pin, user_pin) != PCA_OK) {
		fprintf(stderr, "hsm_token_init: %s\n", pca_err_msg());
		return -1;
	}
	return 0;
}

void
testlib_token_remove(struct testlib_token *t)
{
	testlib_dir_remove(t->dir);
}

int
testlib_p11_server_start(const char *env, const char *label, const char *sock,
    pid_t *pid)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	char uri[64], envbuf[192];
	pid_t p;
	int fd, i;

	(void)unlink(sock);
	(void)snprintf(uri, sizeof(uri), "pkcs11:token=%s", label);
	(void)snprintf(envbuf, sizeof(envbuf), "%s", env);
	if ((p = fork()) < 0)
		return -1;
	if (p == 0) {
		(void)setpgid(0, 0);
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			(void)dup2(fd, 1);
		(void)putenv(envbuf);
		execlp("p11-kit", "p11-kit", "server", "-f", "--provider",
		    TESTLIB_SOFTHSM, "-n", sock, uri, (char *)NULL);
		_exit(127);
	}
	(void)setpgid(p, p);
	*pid = p;
	for (i = 0; i < 500; i++, nanosleep(&ts, NULL))
		if (access(sock, F_OK) == 0)
			return 0;
	return -1;
}

void
testlib_p11_server_stop(pid_t *pid)
{
	if (*pid > 0) {
		(void)kill(-*pid, SIGKILL);
		(void)waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}
