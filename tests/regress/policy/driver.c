/*
 * tests/regress/policy/driver.c - policy decisions (pol_check): "driver -f
 * CSR" judges the certificate the CSR asks for (pol_input_from_csr; the
 * signing algorithm SHA256WITHRSA or SHA256WITHECDSA by key, 90 days,
 * EndEntityCertificate/V1) against every policy: the four built-ins and
 * those of ../policies.conf (next to good/ and bad/).  Prints each rule's
 * verdict and each policy's decision.
 */
#include <libgen.h>

#include "../../../policy/policy.h"
#include "../regress.h"

static void
note(const char *rule, int ok, const char *detail, void *arg)
{
	(void)arg;
	printf("  rule %s: %s%s%s\n", rule,
	    ok > 0    ? "ok"
	    : ok == 0 ? "FAIL"
		      : "not judged",
	    detail != NULL && *detail != '\0' ? ": " : "",
	    detail != NULL ? detail : "");
}

static struct pol_set *
policies(const char *input)
{
	char *d = strdup(input), path[4096];
	struct pol_set *ps = NULL;

	if (d == NULL)
		exit(2);
	/* <area>/<good|bad>/<case> -> <area>/policies.conf */
	(void)snprintf(path, sizeof(path), "%s/../policies.conf", dirname(d));
	free(d);
	if (pol_set_load(path, &ps) != PCA_OK) {
		fprintf(stderr, "regress-policy: %s\n", pca_err_msg());
		exit(2);
	}
	return ps;
}

int
main(int argc, char **argv)
{
	struct pol_input in;
	struct pol_set *ps;
	uint8_t *p = NULL;
	size_t len, i;
	pca_err e;

	regress_input(argc, argv, "regress-policy", &p, &len);
	ps = policies(argv[2]);
	if ((e = pol_input_from_csr(p, len, &in)) != PCA_OK) {
		regress_error(e);
		goto out;
	}
	in.sig_alg =
	    in.key == POL_KEY_RSA ? "SHA256WITHRSA" : "SHA256WITHECDSA";
	in.validity_s = 90 * 86400;
	in.tmpl = "EndEntityCertificate/V1";
	printf("key: %s %d\n",
	    in.key == POL_KEY_RSA  ? "RSA"
	    : in.key == POL_KEY_EC ? "EC"
				   : "other",
	    in.key_bits);
	for (i = 0; i < pol_set_count(ps); i++) {
		const struct pol *pol = pol_set_get0(ps, pol_set_name(ps, i));

		printf("policy %s\n", pol_name(pol));
		if ((e = pol_check(pol, &in, note, NULL)) == PCA_OK)
			printf("  decision: issue\n");
		else
			printf("  decision: refuse %s: %s\n", pca_strerror(e),
			    pca_err_msg());
		pca_err_clear();
	}
	pol_input_clear(&in);
out:
	pol_set_free(ps);
	free(p);
	return 0;
}
