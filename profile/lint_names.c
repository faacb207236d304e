/*
 * lint_names.c - the CSR's names under the lint gate's name syntax rules
 * (x509/lint_names.c), before anything is built from the request
 * (MalformedCSR).
 */
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "profile_int.h"

pca_err
prof_csr_names_check(const struct prof_csr *c)
{
	GENERAL_NAMES *san = NULL;
	char d[256];
	int crit = -1, ok = 1;

	if (!x509_lint_name_ok(c->subject, "CSR subject", d, sizeof(d)))
		return pca_err_set(PCA_EBADCSR, "CSR name: rule %s", d);
	if (c->exts != NULL)
		san =
		    X509V3_get_d2i(c->exts, NID_subject_alt_name, &crit, NULL);
	if (san == NULL && crit != -1) {
		ERR_clear_error();
		return pca_err_set(PCA_EBADCSR,
		    "CSR name: rule ext_san_parses "
		    "(RFC 5280 4.2.1.6): the requested subjectAltName does "
		    "not decode (or appears twice)");
	}
	if (san != NULL)
		ok = x509_lint_gens_ok(san, 0, "CSR subjectAltName", d,
		    sizeof(d));
	GENERAL_NAMES_free(san);
	if (!ok)
		return pca_err_set(PCA_EBADCSR, "CSR name: rule %s", d);
	return PCA_OK;
}
