/*
 * fuzz_policy.c - libFuzzer target for the policy file parser
 * (pol_set_parse): arbitrary text as a policy file; when it parses, every
 * policy's nameConstraints are built and the bindings looked up.  Seeds:
 * tests/fuzz/corpus/policy/ (conf/policies.example and smaller files).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../common/err.h"
#include "../../policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_set *ps = NULL;
	uint8_t *der = NULL;
	size_t i, len;

	if (pol_set_parse((const char *)data, size, "fuzz", &ps) == PCA_OK) {
		for (i = 0; i < pol_set_count(ps); i++) {
			const struct pol *p =
			    pol_set_get0(ps, pol_set_name(ps, i));

			if (p == NULL)
				abort();
			if (pol_name_constraints_der(p, &der, &len) == PCA_OK)
				free(der);
			der = NULL;
			pca_err_clear();
		}
		(void)pol_set_lookup0(ps,
		    "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "AKIAEXAMPLE");
		pol_set_free(ps);
	}
	pca_err_clear();
	return 0;
}
