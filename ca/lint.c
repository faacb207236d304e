/*
 * lint.c - the pre-signing lint gate (BR 4.3.1.2) under the ca_lint_*
 * names the engine, crl/ and ocsp/ call: the rules live in x509/
 * (lint_cert.c, lint_crl.c, lint_ocsp.c over one rule runner).
 */
#include "../x509/x509.h"
#include "engine_int.h"

pca_err
ca_lint_tbs(const struct ca_lint_req *r)
{
	struct x509_lint_req x = {
	    .tbs = r->tbs,
	    .tbs_len = r->tbs_len,
	    .sigalg = r->sigalg,
	    .self_issued = r->self_issued,
	};

	return x509_lint_cert(&x);
}

pca_err
ca_lint_crl_tbs(const uint8_t *tbs, size_t len, enum pca_sigalg sigalg)
{
	return x509_lint_crl(tbs, len, sigalg);
}

pca_err
ca_lint_ocsp_tbs(const uint8_t *tbs, size_t len, enum pca_sigalg sigalg)
{
	return x509_lint_ocsp(tbs, len, sigalg);
}
