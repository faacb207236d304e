/*
 * tests/regress/ocsp/driver.c - the OCSP request parser (ocsp_req_parse):
 * "driver -f REQUEST" (DER) prints the decision and every CertID.
 */
#include "../../../ocsp/ocsp.h"
#include "../regress.h"

int
main(int argc, char **argv)
{
	struct ocsp_req r;
	uint8_t *p = NULL;
	size_t len, i, hl;
	pca_err e;
	char key[64];

	regress_input(argc, argv, "regress-ocsp", &p, &len);
	if ((e = ocsp_req_parse(p, len, &r)) != PCA_OK) {
		regress_error(e);
		free(p);
		return 0;
	}
	printf("result: ok\ncertids: %zu\n", r.n);
	for (i = 0; i < r.n; i++) {
		hl = r.ids[i].hash == OCSP_HASH_SHA1 ? 20 : 32;
		printf("certid %zu hash: %s\n", i,
		    r.ids[i].hash == OCSP_HASH_SHA1 ? "sha1" : "sha256");
		(void)snprintf(key, sizeof(key), "certid %zu name_hash", i);
		regress_hex(key, r.ids[i].name_hash, hl);
		(void)snprintf(key, sizeof(key), "certid %zu key_hash", i);
		regress_hex(key, r.ids[i].key_hash, hl);
		(void)snprintf(key, sizeof(key), "certid %zu serial", i);
		regress_hex(key, r.ids[i].serial, r.ids[i].serial_len);
	}
	if (r.has_nonce)
		regress_hex("nonce", r.nonce, r.nonce_len);
	else
		printf("nonce: none\n");
	free(p);
	return 0;
}
