/*
 * fuzz_jws.c - libFuzzer target for acme/jws.c: the input is a request
 * body parsed as a flattened JWS (strict header rules); when it parses,
 * its signature is checked with its own jwk, the jwk is thumbprinted, and
 * the payload is parsed again as a key-change inner JWS.  It must never
 * crash or read out of bounds, and a parse that fails leaves nothing set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../acme/acme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_jws j, in;
	const char *why = NULL;
	char thumb[44];
	uint8_t *p = NULL;
	size_t n = 0;

	if (acme_jws_parse(data, size, size & 1, &j, &why) != ACME_JWS_OK) {
		if (j.url != NULL || j.payload != NULL || why == NULL)
			abort();
		goto b64;
	}
	if (j.url == NULL || (j.has_jwk && j.jwk == NULL))
		abort();
	if (j.jwk != NULL) {
		(void)acme_jws_verify(data, size, j.alg, j.jwk, &why);
		if (acme_jwk_thumbprint(j.jwk, thumb) == PCA_OK &&
		    strlen(thumb) != 43)
			abort();
	}
	if (acme_jws_parse(j.payload, j.payload_len, 1, &in, &why) ==
	    ACME_JWS_OK)
		acme_jws_clear(&in);
	acme_jws_clear(&j);
b64:
	if (acme_b64url_decode((const char *)data, size, 4096, &p, &n) ==
	    PCA_OK) {
		if (n > 4096)
			abort();
		free(p);
	}
	return 0;
}
