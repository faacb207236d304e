/*
 * tests/regress/import/driver.c - CA certificate import checks
 * (prof_import_check, spec 2.4.4): "driver -f CASE" (format: case.h) prints
 * the decision and what the import would record.
 */
#include "../regress.h"
#include "case.h"

int
main(int argc, char **argv)
{
	struct import_case c;
	struct prof_import *out = NULL;
	uint8_t *p = NULL;
	size_t len;
	pca_err e;

	regress_input(argc, argv, "regress-import", &p, &len);
	if (import_case_split(p, len, &c) != 0) {
		printf("result: not a case (tests/regress/import/case.h)\n");
		free(p);
		return 0;
	}
	printf("type: %s\n", c.type == PROF_CA_ROOT ? "ROOT" : "SUBORDINATE");
	if ((e = prof_import_check(c.type, c.spki, c.spki_len, c.cert,
		 c.cert_len, c.chain, c.chain_len, &out)) != PCA_OK) {
		regress_error(e);
	} else {
		printf("result: ok\n");
		regress_hex("serial", out->serial, out->serial_len);
		printf("not_before: %lld\nnot_after: %lld\n",
		    (long long)out->not_before, (long long)out->not_after);
		printf("pathlen: %d\nchain_count: %zu\n", out->pathlen,
		    out->chain_count);
		printf("cert_len: %zu\nchain_len: %zu\n", out->cert_len,
		    out->chain_len);
		prof_import_free(out);
	}
	free(c.spki);
	free(p);
	return 0;
}
