/*
 * tests/regress/csr/driver.c - CSR intake (prof_csr_parse): "driver -f CSR"
 * prints the decision and what was taken from the CSR.
 */
#include <openssl/sha.h>

#include "../../../profile/profile.h"
#include "../regress.h"

int
main(int argc, char **argv)
{
	struct prof_csr *c = NULL;
	uint8_t *p = NULL, md[SHA256_DIGEST_LENGTH];
	size_t len;
	pca_err e;

	regress_input(argc, argv, "regress-csr", &p, &len);
	if ((e = prof_csr_parse(p, len, &c)) != PCA_OK) {
		regress_error(e);
		free(p);
		return 0;
	}
	printf("result: ok\n");
	printf("key: %s\n",
	    c->keyalg != PCA_KEY_NONE ? pca_keyalg_name(c->keyalg) : "other");
	printf("rsa_bits: %d\n", c->rsa_bits);
	regress_name("subject", c->subject);
	printf("subject_empty: %s\n", prof_csr_subject_empty(c) ? "yes" : "no");
	printf("san: %s\n", prof_csr_has_san(c) ? "yes" : "no");
	printf("extensions: %d\n",
	    c->exts != NULL ? sk_X509_EXTENSION_num(c->exts) : 0);
	printf("der_len: %zu\n", c->der_len);
	(void)SHA256(c->spki, c->spki_len, md);
	regress_hex("spki_sha256", md, sizeof(md));
	prof_csr_free(c);
	free(p);
	return 0;
}
