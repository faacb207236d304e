/*
 * fuzz_import.c - libFuzzer target for CA certificate import
 * (prof_import_check, spec 2.4.4).  An input in the case format of
 * tests/regress/import/case.h (type line, CA key, certificate, chain) is
 * checked as such; any other input is checked as the certificate of a
 * ROOT and of a SUBORDINATE CA (with itself as the chain) under a fixed
 * P-256 key.  Seeds: tests/fuzz/corpus/import/ and tests/regress/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../regress/import/case.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* SubjectPublicKeyInfo of a P-256 key (any valid key will do). */
static const uint8_t spki[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
    0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1,
    0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2, 0x77,
    0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8,
    0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e,
    0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b,
    0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};

static void
check(enum prof_ca_type type, const uint8_t *key, size_t keylen,
    const uint8_t *cert, size_t certlen, const uint8_t *chain, size_t chainlen)
{
	struct prof_import *out = NULL;

	if (prof_import_check(type, key, keylen, cert, certlen, chain, chainlen,
		&out) == PCA_OK) {
		if (out == NULL || out->cert_der == NULL ||
		    (type == PROF_CA_SUBORDINATE && out->chain_count == 0))
			abort();
		prof_import_free(out);
	}
	pca_err_clear();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_case c;

	if (import_case_split(data, size, &c) == 0) {
		check(c.type, c.spki, c.spki_len, c.cert, c.cert_len, c.chain,
		    c.chain_len);
		free(c.spki);
		return 0;
	}
	free(c.spki);
	pca_err_clear();
	check(PROF_CA_ROOT, spki, sizeof(spki), data, size, NULL, 0);
	check(PROF_CA_SUBORDINATE, spki, sizeof(spki), data, size, data, size);
	return 0;
}
