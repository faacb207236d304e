/*
 * case.h - the file format of a CA import case (tests/regress/import/ and
 * the fuzz_import seeds): a first line "ROOT" or "SUBORDINATE" (the CA's
 * type), then the CA key as one "PUBLIC KEY" PEM block, then the CA
 * certificate to import (the bytes up to and including the first line
 * ending "-----END CERTIFICATE-----", or everything when there is none),
 * then the chain (the rest; none when empty).  Used by the regress driver
 * and by tests/fuzz/fuzz_import.c.
 */
#ifndef IMPORT_CASE_H
#define IMPORT_CASE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../profile/profile.h"
#include "../../../common/util.h"

struct import_case {
	enum prof_ca_type type;
	uint8_t *spki; /* DER; owned */
	size_t spki_len;
	const uint8_t *cert, *chain; /* into the input */
	size_t cert_len, chain_len;
};

/* The end of the line holding the first needle at or after p, or NULL. */
static inline const uint8_t *
import_case_after(const uint8_t *p, const uint8_t *end, const char *needle)
{
	const uint8_t *q = memmem(p, (size_t)(end - p), needle, strlen(needle));

	if (q == NULL)
		return NULL;
	q += strlen(needle);
	while (q < end && *q != '\n')
		q++;
	return q < end ? q + 1 : end;
}

/* Splits p (len bytes) into c; 0, or -1 when the frame is not there. */
static inline int
import_case_split(const uint8_t *p, size_t len, struct import_case *c)
{
	const uint8_t *end = p + len, *k, *ke, *ce;

	memset(c, 0, sizeof(*c));
	if ((k = memchr(p, '\n', len)) == NULL)
		return -1;
	if ((size_t)(k - p) == 4 && memcmp(p, "ROOT", 4) == 0)
		c->type = PROF_CA_ROOT;
	else if ((size_t)(k - p) == 11 && memcmp(p, "SUBORDINATE", 11) == 0)
		c->type = PROF_CA_SUBORDINATE;
	else
		return -1;
	k++;
	if ((ke = import_case_after(k, end, "-----END PUBLIC KEY-----")) ==
		NULL ||
	    util_pem_decode((const char *)k, (size_t)(ke - k), "PUBLIC KEY",
		LIM_CSR_DER, &c->spki, &c->spki_len) != PCA_OK)
		return -1;
	if ((ce = import_case_after(ke, end, "-----END CERTIFICATE-----")) ==
	    NULL)
		ce = end;
	c->cert = ke;
	c->cert_len = (size_t)(ce - ke);
	c->chain = ce < end ? ce : NULL;
	c->chain_len = (size_t)(end - ce);
	return 0;
}

#endif
