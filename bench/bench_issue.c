/*
 * bench_issue - issuance throughput of the engine against the raw token
 * sign rate, measured in the same run.
 *
 *   bench_issue CONFIG CSR SECONDS THREADS...
 *
 * For an EC P-256 and an RSA-2048 root CA (created here) it prints, per
 * thread count: the raw C_Sign rate on the token (hsm_bench_raw) and the
 * rate of complete issuances (CSR intake, TBS, reserve, sign, complete,
 * audit) through ca_issue, each durable in LMDB.  Output lines:
 *   raw  <alg> threads=<n> rate=<signs/s>
 *   issue <alg> threads=<n> rate=<certs/s> p50_ms=<> p99_ms=<>
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ca/ca.h"
#include "../cmd/appliance.h"
#include "bench_common.h"
#include "../common/log.h"
#include "../common/util.h"

#define MAX_THREADS 64
#define MAX_SAMPLES 2000000

struct run {
	struct appliance *ap;
	const char *arn;
	const char *sigalg;
	const uint8_t *csr;
	size_t csr_len;
	double until;
	long count;
	int failed;
	double *lat;
	long nlat;
	pthread_mutex_t mu;
};


static void *
worker(void *arg)
{
	struct run *r = arg;
	struct ca_caller c = {r->ap->conf.account, r->ap->conf.region, "bench"};
	struct ca_issue_req q;
	char *arn;
	double t0;
	long n = 0;

	memset(&q, 0, sizeof(q));
	q.ca_arn = r->arn;
	q.csr = r->csr;
	q.csr_len = r->csr_len;
	q.signing_algorithm = r->sigalg;
	q.validity_type = "DAYS";
	q.validity_value = 30;
	while ((t0 = bench_now()) < r->until) {
		if (ca_issue(r->ap->engine, &c, &q, &arn) != PCA_OK) {
			fprintf(stderr, "bench_issue: %s\n", pca_err_msg());
			r->failed = 1;
			break;
		}
		free(arn);
		n++;
		pthread_mutex_lock(&r->mu);
		if (r->nlat < MAX_SAMPLES)
			r->lat[r->nlat++] = bench_now() - t0;
		pthread_mutex_unlock(&r->mu);
	}
	pthread_mutex_lock(&r->mu);
	r->count += n;
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
measure(struct run *r, const char *name, int threads, double secs)
{
	pthread_t th[MAX_THREADS];
	double t0;
	int i;

	r->count = 0;
	r->nlat = 0;
	t0 = bench_now();
	r->until = t0 + secs;
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, r);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	if (r->failed)
		return 1;
	qsort(r->lat, (size_t)r->nlat, sizeof(double), dcmp);
	printf("issue %s threads=%d rate=%.0f p50_ms=%.2f p99_ms=%.2f\n", name,
	    threads, (double)r->count / (bench_now() - t0),
	    r->nlat ? r->lat[r->nlat / 2] * 1000 : 0,
	    r->nlat ? r->lat[r->nlat * 99 / 100] * 1000 : 0);
	fflush(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	static const char *const algs[][3] = {
	    {"ec_p256", "EC_prime256v1", "SHA256WITHECDSA"},
	    {"rsa_2048", "RSA_2048", "SHA256WITHRSA"}};
	struct appliance ap;
	struct run r;
	long long secs, th;
	char *arn, label[64];
	double raw;
	int a, i;

	if (argc < 5) {
		fprintf(stderr, "usage: bench_issue CONFIG CSR SECONDS THREADS...\n");
		return 2;
	}
	log_init("bench", LOG_LEVEL_WARN);
	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.mu, NULL);
	r.lat = calloc(MAX_SAMPLES, sizeof(double));
	if (r.lat == NULL || util_strtonum(argv[3], 1, 3600, &secs) != PCA_OK ||
	    util_file_read(argv[2], 65536, (uint8_t **)&r.csr, &r.csr_len) !=
		PCA_OK ||
	    appliance_open(argv[1], &ap) != PCA_OK) {
		fprintf(stderr, "bench_issue: %s\n", pca_err_msg());
		return 2;
	}
	r.ap = &ap;
	for (a = 0; a < 2; a++) {
		if (bench_make_root(&ap, algs[a][1], algs[a][2], "bench root",
			&arn) != 0)
			return 1;
		r.arn = arn;
		r.sigalg = algs[a][2];
		(void)snprintf(label, sizeof(label), "pca-%s",
		    strrchr(arn, '/') + 1);
		for (i = 4; i < argc; i++) {
			if (util_strtonum(argv[i], 1, MAX_THREADS, &th) != PCA_OK)
				return 2;
			if (th <= 2) {
				if (hsm_bench_raw(ap.hsm, label, (double)secs,
					(unsigned)th, &raw) != PCA_OK) {
					fprintf(stderr, "bench_issue: %s\n",
					    pca_err_msg());
					return 1;
				}
				printf("raw %s threads=%lld rate=%.0f\n",
				    algs[a][0], th, raw);
			}
			if (measure(&r, algs[a][0], (int)th, (double)secs) != 0)
				return 1;
		}
		free(arn);
	}
	appliance_close(&ap);
	free((void *)r.csr);
	free(r.lat);
	return 0;
}
