/*
 * fuzz_sts.c - libFuzzer target for the STS Query-protocol form parser:
 * the input is a form-encoded body; Action and Version are looked up with
 * small and large buffers.  It must never crash, read or write out of
 * bounds, and a found value is always NUL-terminated within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/api_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"Action", "Version", "", "A"};
	char small[4], big[128];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (api_sts_form_get(data, size, names[i], small,
			sizeof(small)) == 1 &&
		    memchr(small, '\0', sizeof(small)) == NULL)
			abort();
		if (api_sts_form_get(data, size, names[i], big, sizeof(big)) ==
			1 &&
		    memchr(big, '\0', sizeof(big)) == NULL)
			abort();
	}
	return 0;
}
