/*
 * fuzz_csr.c - libFuzzer target for CSR intake: prof_csr_parse on arbitrary
 * bytes (PEM or DER), the name syntax rules on what parsed
 * (prof_csr_names_check), then prof_csr_free.  Build (from the top directory):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -I/usr/include/p11-kit-1 tests/fuzz/fuzz_csr.c profile/csr.c \
 *     profile/lint_names.c $(ls x509/[a-z]*.c) \
 *     $(ls common/[a-z]*.c) -o fuzz_csr -lcrypto -ljansson
 * Seeds: tests/regress/csr/good/ and tests/regress/csr/bad/.
 */
#include <stddef.h>
#include <stdint.h>

#include "../../profile/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prof_csr *c = NULL;

	if (prof_csr_parse(data, size, &c) == PCA_OK) {
		(void)prof_csr_subject_empty(c);
		(void)prof_csr_has_san(c);
		if (prof_csr_names_check(c) != PCA_OK)
			pca_err_clear();
		prof_csr_free(c);
	}
	return 0;
}
