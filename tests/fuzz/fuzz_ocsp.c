/*
 * fuzz_ocsp.c - libFuzzer target for the OCSP request parser: the bytes as
 * a POST body (ocsp_req_parse) and as a GET path (ocsp_get_decode, then
 * the parser on what it decodes).  Seeds: tests/fuzz/corpus/ocsp/ (requests
 * from openssl ocsp and python cryptography: SHA-1/SHA-256, nonce, several
 * CertIDs, signed).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/err.h"
#include "../../ocsp/ocsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ocsp_req r;
	uint8_t *der = NULL;
	size_t len;
	char *path;

	if (ocsp_req_parse(data, size, &r) == PCA_OK &&
	    (r.n == 0 || r.n > OCSP_MAX_CERTIDS ||
		r.nonce_len > OCSP_MAX_NONCE))
		abort();
	pca_err_clear();
	if (size > 3 * OCSP_MAX_REQUEST || (path = malloc(size + 2)) == NULL)
		return 0;
	path[0] = '/';
	memcpy(path + 1, data, size);
	path[size + 1] = '\0';
	if (ocsp_get_decode(path, &der, &len) == PCA_OK) {
		if (ocsp_req_parse(der, len, &r) == PCA_OK && r.n == 0)
			abort();
		free(der);
	}
	pca_err_clear();
	free(path);
	return 0;
}
