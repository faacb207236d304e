/*
 * bench_common.h - shared by the in-process benchmarks (each bench program is
 * its own program, so these are static inline).
 */
#ifndef PCA_BENCH_COMMON_H
#define PCA_BENCH_COMMON_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ca/ca.h"
#include "../cmd/appliance.h"
#include "../common/log.h"
#include "../common/util.h"

#define BENCH_MAX_THREADS 64

static inline double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * An ACTIVE root CA (key ka, signing sa) through the engine: create, its
 * CSR, its self-issued certificate, import.  0 on success.
 */
static inline int
bench_make_root(struct appliance *ap, const char *ka, const char *sa,
    const char *cn, char **arn)
{
	struct ca_caller c = {ap->conf.account, ap->conf.region, "bench"};
	struct ca_issue_req q;
	json_t *req;
	char *csr = NULL, *cert_arn = NULL, *pem = NULL, *chain = NULL;
	int rc = 1;

	req = json_pack("{s:s,s:{s:s,s:s,s:{s:s}}}", "CertificateAuthorityType",
	    "ROOT", "CertificateAuthorityConfiguration", "KeyAlgorithm", ka,
	    "SigningAlgorithm", sa, "Subject", "CommonName", cn);
	memset(&q, 0, sizeof(q));
	if (ca_create(ap->engine, &c, req, arn) != PCA_OK ||
	    ca_csr_get(ap->engine, &c, *arn, &csr) != PCA_OK)
		goto out;
	q.ca_arn = *arn;
	q.csr = (const uint8_t *)csr;
	q.csr_len = strlen(csr);
	q.signing_algorithm = sa;
	q.template_arn = "arn:aws:acm-pca:::template/RootCACertificate/V1";
	q.validity_type = "YEARS";
	q.validity_value = 10;
	if (ca_issue(ap->engine, &c, &q, &cert_arn) != PCA_OK ||
	    ca_cert_get(ap->engine, &c, *arn, cert_arn, &pem, &chain) !=
		PCA_OK ||
	    ca_import_cert(ap->engine, &c, *arn, (const uint8_t *)pem,
		strlen(pem), NULL, 0) != PCA_OK)
		goto out;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench: root %s: %s\n", ka, pca_err_msg());
	json_decref(req);
	free(csr);
	free(cert_arn);
	free(pem);
	free(chain);
	return rc;
}

/*
 * The issuance loop shared by bench_issue and policy_bench: THREADS
 * threads call ca_issue on one CA with one CSR (30 days) until a deadline.
 * With lat set (room for max_lat samples) each call's latency is kept.
 */
struct bench_run {
	const char *prog; /* for error lines */
	struct appliance *ap;
	const char *arn;
	const char *sigalg;
	const uint8_t *csr;
	size_t csr_len;
	double until;
	long count;
	int failed;
	double *lat;
	long nlat, max_lat;
	pthread_mutex_t mu;
};

/*
 * Opens the appliance (argv[1]) and reads the CSR (argv[2]) and the cell
 * length in seconds (argv[3]) into r and *secs; prog names the program.
 * Returns 0, or 2 after a line on stderr.
 */
static inline int
bench_run_open(struct bench_run *r, struct appliance *ap, const char *prog,
    char **argv, long long *secs)
{
	memset(r, 0, sizeof(*r));
	r->prog = prog;
	pthread_mutex_init(&r->mu, NULL);
	log_init("bench", LOG_LEVEL_WARN);
	if (util_strtonum(argv[3], 1, 3600, secs) != PCA_OK ||
	    util_file_read(argv[2], 65536, (uint8_t **)&r->csr, &r->csr_len) !=
		PCA_OK ||
	    appliance_open(argv[1], ap) != PCA_OK) {
		fprintf(stderr, "%s: %s\n", prog, pca_err_msg());
		return 2;
	}
	r->ap = ap;
	return 0;
}

/* The request every worker sends: r's CA, CSR and signing algorithm. */
static inline void
bench_req_init(struct ca_issue_req *q, const struct bench_run *r)
{
	memset(q, 0, sizeof(*q));
	q->ca_arn = r->arn;
	q->csr = r->csr;
	q->csr_len = r->csr_len;
	q->signing_algorithm = r->sigalg;
	q->validity_type = "DAYS";
	q->validity_value = 30;
}

/*
 * One issuance of a worker of r (caller c, request q), begun at t0; its
 * latency kept when r keeps latencies.  0, or -1 after reporting the error
 * (r->failed set).
 */
static inline int
bench_issue_one(struct bench_run *r, const struct ca_caller *c,
    struct ca_issue_req *q, double t0)
{
	char *arn;

	if (ca_issue(r->ap->engine, c, q, &arn) != PCA_OK) {
		fprintf(stderr, "%s: %s\n", r->prog, pca_err_msg());
		r->failed = 1;
		return -1;
	}
	free(arn);
	if (r->lat == NULL)
		return 0;
	pthread_mutex_lock(&r->mu);
	if (r->nlat < r->max_lat)
		r->lat[r->nlat++] = bench_now() - t0;
	pthread_mutex_unlock(&r->mu);
	return 0;
}

/* Adds a worker's n issuances to r's count. */
static inline void
bench_count(struct bench_run *r, long n)
{
	pthread_mutex_lock(&r->mu);
	r->count += n;
	pthread_mutex_unlock(&r->mu);
}

static inline void *
bench_worker(void *arg)
{
	struct bench_run *r = arg;
	struct ca_caller c = {r->ap->conf.account, r->ap->conf.region, "bench"};
	struct ca_issue_req q;
	double t0;
	long n = 0;

	bench_req_init(&q, r);
	while ((t0 = bench_now()) < r->until &&
	       bench_issue_one(r, &c, &q, t0) == 0)
		n++;
	bench_count(r, n);
	return NULL;
}

/* Issuances per second with threads workers for secs; -1 on a failure. */
static inline double
bench_run_rate(struct bench_run *r, int threads, double secs)
{
	pthread_t th[BENCH_MAX_THREADS];
	double t0;
	int i;

	r->count = 0;
	r->nlat = 0;
	t0 = bench_now();
	r->until = t0 + secs;
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, bench_worker, r);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	return r->failed ? -1 : (double)r->count / (bench_now() - t0);
}

/* qsort comparator for doubles. */
static inline int
bench_dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#endif
