/*
 * fuzz_caa.c - libFuzzer target for acme/caa.c and the answer walk of
 * acme/dns.c: the input is taken as a DNS message whose CNAME chain is
 * followed from "_acme-challenge.example.test", then as CAA records
 * (flags, tag length, tag, value length, value; at most 8) judged for a
 * wildcard and a plain name, each value parsed as an issue value, and as
 * the [acme] resolver and caa_identities strings.  Nothing may crash or
 * read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../acme/acme_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = {"pki.example.net", "ca2.test"};
	struct acme_caa_rr rr[8];
	struct acme_caa_issue is;
	struct acme_caa_req q;
	char why[300], *t = NULL, *s;
	size_t i = 0, n = 0, k, tl, vl;
	int has = 0;

	if (size < 65536 &&
	    acme_dns_chain(data, (int)size, "_acme-challenge.example.test", 16,
		&t, &has) &&
	    t == NULL)
		abort();
	free(t);
	memset(rr, 0, sizeof(rr));
	while (n < 8 && i + 2 <= size) {
		rr[n].flags = data[i];
		tl = data[i + 1] % 20;
		if ((i += 2) + tl + 1 > size)
			break;
		memcpy(rr[n].tag, data + i, tl < 15 ? tl : 15);
		rr[n].tag_over = tl >= 16;
		i += tl;
		vl = data[i++];
		if (i + vl > size || (rr[n].value = malloc(vl + 1)) == NULL)
			break;
		memcpy(rr[n].value, data + i, vl);
		rr[n].value[vl] = '\0';
		rr[n].len = vl;
		(void)acme_caa_issue_parse(rr[n].value, vl, &is);
		i += vl;
		n++;
	}
	memset(&q, 0, sizeof(q));
	q.ids = ids;
	q.nids = 2;
	q.account_uri = "https://pca.test/acme/x/acct/A";
	q.method = "dns-01";
	for (k = 0; k < 2 && n > 0; k++) {
		q.wildcard = (int)k;
		why[0] = '\0';
		if (acme_caa_decide(rr, n, &q, why, sizeof(why)) >
			ACME_CAA_FORBID ||
		    why[0] == '\0')
			abort();
	}
	for (k = 0; k < n; k++)
		free(rr[k].value);
	if ((s = malloc(size + 1)) != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
		(void)acme_resolver_ok(s);
		(void)acme_caa_ids_ok(s);
		free(s);
	}
	return 0;
}
