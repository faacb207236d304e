/*
 * issue_loop - a long-lived issuer for the crash and token-loss tests.
 *
 *   issue_loop CONFIG CA_ARN CSR_FILE COUNT [THREADS]
 *
 * Issues COUNT certificates from one CSR through the engine with THREADS
 * threads (default 1), printing "issued <serial>" once each certificate is
 * durable (that is: after ca_issue returned it).  A retryable error (token
 * unavailable) prints "retry <reason>" and is retried after 50 ms, for at
 * most 60 s in a row; any other error ends the run with status 1.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../cmd/appliance.h"
#include "../../common/log.h"
#include "../../common/util.h"

struct loop {
	struct appliance ap;
	const char *arn;
	uint8_t *csr;
	size_t csr_len;
	long long count;
	long long next;
	int failed;
	pthread_mutex_t mu;
};

static int
take(struct loop *l)
{
	int ok;

	pthread_mutex_lock(&l->mu);
	ok = !l->failed && l->next < l->count;
	if (ok)
		l->next++;
	pthread_mutex_unlock(&l->mu);
	return ok;
}

static void *
worker(void *arg)
{
	struct loop *l = arg;
	struct ca_caller c = {l->ap.conf.account, l->ap.conf.region, "loop"};
	struct ca_issue_req r;
	char *arn;
	time_t first_fail = 0;
	pca_err err;

	memset(&r, 0, sizeof(r));
	r.ca_arn = l->arn;
	r.csr = l->csr;
	r.csr_len = l->csr_len;
	r.signing_algorithm =
	    getenv("LOOP_SIGALG") ? getenv("LOOP_SIGALG") : "SHA256WITHECDSA";
	r.validity_type = "DAYS";
	r.validity_value = 30;
	while (take(l)) {
		for (;;) {
			err = ca_issue(l->ap.engine, &c, &r, &arn);
			if (err == PCA_OK || !pca_err_retryable(err))
				break;
			if (first_fail == 0)
				first_fail = time(NULL);
			pthread_mutex_lock(&l->mu);
			printf("retry %s\n", pca_err_msg());
			fflush(stdout);
			pthread_mutex_unlock(&l->mu);
			if (time(NULL) - first_fail > 60)
				break;
			usleep(50000);
		}
		if (err != PCA_OK) {
			fprintf(stderr, "issue_loop: %s\n", pca_err_msg());
			pthread_mutex_lock(&l->mu);
			l->failed = 1;
			pthread_mutex_unlock(&l->mu);
			return NULL;
		}
		first_fail = 0;
		pthread_mutex_lock(&l->mu);
		printf("issued %s\n", strrchr(arn, '/') + 1);
		fflush(stdout);
		pthread_mutex_unlock(&l->mu);
		free(arn);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct loop l;
	pthread_t th[64];
	long long threads = 1;
	int i;

	if (argc < 5 || argc > 6) {
		fprintf(stderr,
		    "usage: issue_loop CONFIG CA_ARN CSR COUNT [THREADS]\n");
		return 2;
	}
	log_init("issue_loop", LOG_LEVEL_WARN);
	memset(&l, 0, sizeof(l));
	pthread_mutex_init(&l.mu, NULL);
	l.arn = argv[2];
	if (util_strtonum(argv[4], 1, 100000000, &l.count) != PCA_OK ||
	    (argc == 6 && util_strtonum(argv[5], 1, 64, &threads) != PCA_OK) ||
	    util_file_read(argv[3], 65536, &l.csr, &l.csr_len) != PCA_OK ||
	    appliance_open(argv[1], &l.ap) != PCA_OK) {
		fprintf(stderr, "issue_loop: %s\n", pca_err_msg());
		return 2;
	}
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, &l);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	appliance_close(&l.ap);
	free(l.csr);
	return l.failed ? 1 : 0;
}
