/*
 * lint_names.c - the CSR's names under the lint gate's name syntax rules
 * (x509/lint_names.c), before anything is built from the request
 * (MalformedCSR); and the ca_lint_* names of those rules.
 */
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "../x509/x509.h"
#include "ca_int.h"

int
ca_lint_name_ok(const X509_NAME *nm, const char *where, char *d, size_t n)
{
	return x509_lint_name_ok(nm, where, d, n);
}

int
ca_lint_gens_ok(
    const GENERAL_NAMES *gens, int nc, const char *where, char *d, size_t n)
{
	return x509_lint_gens_ok(gens, nc, where, d, n);
}

/* ---- the CSR ---- */

pca_err
ca_csr_names_check(const struct ca_csr *c)
{
	GENERAL_NAMES *san = NULL;
	char d[256];
	int crit = -1, ok = 1;

	if (!ca_lint_name_ok(c->subject, "CSR subject", d, sizeof(d)))
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
		ok =
		    ca_lint_gens_ok(san, 0, "CSR subjectAltName", d, sizeof(d));
	GENERAL_NAMES_free(san);
	if (!ok)
		return pca_err_set(PCA_EBADCSR, "CSR name: rule %s", d);
	return PCA_OK;
}
