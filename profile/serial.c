/*
 * serial.c - fresh certificate serial numbers and the field-path helper the
 * profile's messages use.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "profile_int.h"

pca_err
prof_serial_new(uint8_t out[16])
{
	uint8_t s[16];
	int tries;

	if (RAND_bytes(s, sizeof(s)) != 1)
		goto fail;
	for (tries = 0; s[0] == 0 && tries < 64; tries++)
		if (RAND_bytes(s, 1) != 1)
			goto fail;
	if (s[0] == 0)
		goto fail;
	memcpy(out, s, sizeof(s));
	return PCA_OK;
fail:
	pca_err_set(PCA_EINTERNAL, "random number generator failed");
	pca_err_add_openssl();
	return PCA_EINTERNAL;
}

void
prof_fieldf(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out, n, fmt, ap);
	va_end(ap);
}
