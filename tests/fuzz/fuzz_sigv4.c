/*
 * fuzz_sigv4.c - libFuzzer target for the SigV4 verifier: the input is split
 * at newlines into the Authorization header, X-Amz-Date, Host, the raw path,
 * one extra header "name:value" and the body.  Parsing, the date check, the
 * canonical request and the verification must never crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/api_int.h"

#define NOW 1795910116 /* 2026-11-28T23:55:16Z */
#define PARTS 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *part[PARTS], *p, *nl, *colon;
	struct api_hdr hdrs[4];
	struct api_http_req r;
	struct sigv4_auth a;
	size_t i, n = 0;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (i = 0, p = copy; i < PARTS; i++) {
		part[i] = p;
		if ((nl = strchr(p, '\n')) != NULL) {
			*nl = '\0';
			p = nl + 1;
		} else
			p += strlen(p);
	}
	hdrs[n++] = (struct api_hdr){"x-amz-date", part[1]};
	hdrs[n++] = (struct api_hdr){"host", part[2]};
	if ((colon = strchr(part[4], ':')) != NULL) {
		*colon = '\0';
		hdrs[n++] = (struct api_hdr){part[4], colon + 1};
	}
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.path = part[3];
	r.hdrs = hdrs;
	r.nhdrs = n;
	r.body = (const uint8_t *)p;
	r.body_len = (size_t)(copy + size - p);
	if (sigv4_parse(part[0], &a) == PCA_OK &&
	    sigv4_check_date(&r, &a, NOW) == PCA_OK)
		(void)sigv4_verify(&r, &a,
		    (const uint8_t *)"a 32-byte SigV4 signing key ....");
	pca_err_clear();
	free(copy);
	return 0;
}
