/*
 * bench_common.h - shared by the in-process benchmarks (each bench program is
 * its own program, so these are static inline).
 */
#ifndef PCA_BENCH_COMMON_H
#define PCA_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ca/ca.h"
#include "../cmd/appliance.h"

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

#endif
