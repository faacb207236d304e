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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ca/ca.h"
#include "../cmd/appliance.h"
#include "bench_common.h"

#define MAX_SAMPLES 2000000

static int
measure(struct bench_run *r, const char *name, int threads, double secs)
{
	double rate = bench_run_rate(r, threads, secs);

	if (rate < 0)
		return 1;
	qsort(r->lat, (size_t)r->nlat, sizeof(double), bench_dcmp);
	printf("issue %s threads=%d rate=%.0f p50_ms=%.2f p99_ms=%.2f\n", name,
	    threads, rate, r->nlat ? r->lat[r->nlat / 2] * 1000 : 0,
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
	struct bench_run r;
	long long secs, th;
	char *arn, label[64];
	double raw;
	int a, i;

	if (argc < 5) {
		fprintf(stderr,
		    "usage: bench_issue CONFIG CSR SECONDS THREADS...\n");
		return 2;
	}
	if (bench_run_open(&r, &ap, "bench_issue", argv, &secs) != 0)
		return 2;
	if ((r.lat = calloc(MAX_SAMPLES, sizeof(double))) == NULL)
		return 2;
	r.max_lat = MAX_SAMPLES;
	for (a = 0; a < 2; a++) {
		if (bench_make_root(&ap, algs[a][1], algs[a][2], "bench root",
			&arn) != 0)
			return 1;
		r.arn = arn;
		r.sigalg = algs[a][2];
		(void)snprintf(label, sizeof(label), "pca-%s",
		    strrchr(arn, '/') + 1);
		for (i = 4; i < argc; i++) {
			if (util_strtonum(argv[i], 1, BENCH_MAX_THREADS, &th) !=
			    PCA_OK)
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
