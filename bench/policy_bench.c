/*
 * policy_bench - what the policy + lint gate costs issuance, in one run.
 *
 *   policy_bench CONFIG CSR SECONDS THREADS...
 *
 * For an EC P-256 root CA (created here), per thread count, alternating
 * three times: complete issuances through ca_issue with no policy judge
 * ("off") and with web_server bound to the CA ("on").  The lint gate sits
 * in the signing path and cannot be switched off, so the gate itself
 * (policy judgement + x509_lint_cert on a real TBS of this CA) is also timed
 * alone, and its share of the CPU time of one issuance (busy cores / rate)
 * is reported.  Output lines:
 *   issue policy=<off|on> threads=<n> rate=<certs/s>
 *   gate policy_us=<> lint_us=<> total_us=<>
 *   overhead threads=<n> measured=<%> gate_share=<%> target=<5%
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "../ca/ca.h"
#include "../x509/x509.h"
#include "../cmd/appliance.h"
#include "bench_common.h"

#define REPS 3
#define GATE_N 20000

/* The TBS of one certificate the CA issues (as signed). */
static int
sample_tbs(struct bench_run *r, unsigned char **tbs, int *len)
{
	struct ca_caller c = {r->ap->conf.account, r->ap->conf.region, "bench"};
	struct ca_issue_req q;
	char *arn = NULL, *pem = NULL, *chain = NULL;
	uint8_t *der = NULL;
	size_t der_len;
	const unsigned char *p;
	X509 *x = NULL;

	bench_req_init(&q, r);
	*len = 0;
	if (ca_issue(r->ap->engine, &c, &q, &arn) == PCA_OK &&
	    ca_cert_get(r->ap->engine, &c, r->arn, arn, &pem, &chain) ==
		PCA_OK &&
	    util_pem_decode(pem, strlen(pem), "CERTIFICATE", 65536, &der,
		&der_len) == PCA_OK) {
		p = der;
		if ((x = d2i_X509(NULL, &p, (long)der_len)) != NULL)
			*len = i2d_re_X509_tbs(x, tbs);
	}
	X509_free(x);
	free(der);
	free(arn);
	free(pem);
	free(chain);
	return *len > 0 ? 0 : 1;
}

/* One policy judgement, as cmd/appliance.c makes it. */
static pca_err
judge(const struct pol *p, const uint8_t *tbs, size_t len)
{
	struct pol_input in;
	pca_err err;

	if ((err = pol_input_from_tbs(tbs, len, &in)) != PCA_OK)
		return err;
	in.sig_alg = "SHA256WITHECDSA";
	in.validity_s = 30 * 86400;
	in.tmpl = "EndEntityCertificate/V1";
	err = pol_check(p, &in, NULL, NULL);
	pol_input_clear(&in);
	return err;
}

/* Microseconds per policy judgement and per lint of tbs. */
static int
gate_time(const struct pol *p, const uint8_t *tbs, size_t len, double *pol_us,
    double *lint_us)
{
	struct x509_lint_req l = {tbs, len, PCA_SIG_SHA256_ECDSA, 0};
	double t0;
	int i;

	t0 = bench_now();
	for (i = 0; i < GATE_N; i++)
		if (judge(p, tbs, len) != PCA_OK)
			return 1;
	*pol_us = (bench_now() - t0) * 1e6 / GATE_N;
	t0 = bench_now();
	for (i = 0; i < GATE_N; i++)
		if (x509_lint_cert(&l) != PCA_OK)
			return 1;
	*lint_us = (bench_now() - t0) * 1e6 / GATE_N;
	return 0;
}

/* Alternates off and on REPS times; the medians. */
static int
compare(struct bench_run *r, struct pol_set *ps, int th, double secs,
    double *off, double *on)
{
	double v[2][REPS];
	int i, k;

	for (i = 0; i < REPS; i++)
		for (k = 0; k < 2; k++) {
			if (k == 0)
				ca_engine_policy_set(r->ap->engine, NULL, NULL);
			else
				appliance_policies_attach(r->ap->engine, ps);
			if ((v[k][i] = bench_run_rate(r, th, secs)) < 0)
				return 1;
			printf("issue policy=%s threads=%d rate=%.0f\n",
			    k ? "on" : "off", th, v[k][i]);
			fflush(stdout);
		}
	qsort(v[0], REPS, sizeof(double), bench_dcmp);
	qsort(v[1], REPS, sizeof(double), bench_dcmp);
	*off = v[0][REPS / 2];
	*on = v[1][REPS / 2];
	return 0;
}

int
main(int argc, char **argv)
{
	struct appliance ap;
	struct pol_set *ps = NULL;
	struct bench_run r;
	long long secs, th;
	unsigned char *tbs = NULL;
	char *arn = NULL, bind[128];
	double off, on, pol_us, lint_us, busy;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int i, tbs_len;

	if (argc < 5) {
		fprintf(stderr,
		    "usage: policy_bench CONFIG CSR SECONDS THREADS...\n");
		return 2;
	}
	if (ncpu < 1)
		ncpu = 1;
	if (bench_run_open(&r, &ap, "policy_bench", argv, &secs) != 0)
		return 2;
	r.sigalg = "SHA256WITHECDSA";
	if (bench_make_root(&ap, "EC_prime256v1", "SHA256WITHECDSA",
		"policy bench root", &arn) != 0)
		return 1;
	r.arn = arn;
	(void)snprintf(bind, sizeof(bind), "[bind]\n%s = web_server\n",
	    strrchr(arn, '/') + 1);
	if (pol_set_parse(bind, strlen(bind), "bench", &ps) != PCA_OK ||
	    sample_tbs(&r, &tbs, &tbs_len) != 0 ||
	    gate_time(pol_set_get0(ps, "web_server"), tbs, (size_t)tbs_len,
		&pol_us, &lint_us) != 0) {
		fprintf(stderr, "policy_bench: gate: %s\n", pca_err_msg());
		return 1;
	}
	printf("gate policy_us=%.1f lint_us=%.1f total_us=%.1f\n", pol_us,
	    lint_us, pol_us + lint_us);
	for (i = 4; i < argc; i++) {
		if (util_strtonum(argv[i], 1, BENCH_MAX_THREADS, &th) != PCA_OK)
			return 2;
		if (compare(&r, ps, (int)th, (double)secs, &off, &on) != 0)
			return 1;
		/* CPU time of one issuance: busy cores / rate */
		busy = th < ncpu ? (double)th : (double)ncpu;
		printf("overhead threads=%lld off=%.0f on=%.0f measured=%.1f%% "
		       "gate_share=%.1f%% target=<5%%\n",
		    th, off, on, 100.0 * (off - on) / off,
		    100.0 * (pol_us + lint_us) * 1e-6 * on / busy);
		fflush(stdout);
	}
	ca_engine_policy_set(ap.engine, NULL, NULL);
	appliance_close(&ap);
	pol_set_free(ps);
	OPENSSL_free(tbs);
	free(arn);
	free((void *)r.csr);
	return 0;
}
