/*
 * nc.c - the name constraints a policy stamps on the subordinate CA
 * certificates issued by the CA it is bound to (RFC 5280 4.2.1.10):
 * permitted and excluded DNS subtrees, IP ranges and email domains, as
 * the DER extnValue that ca/ puts in the TBSCertificate (critical).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "pol_int.h"

/* A DNS subtree: "host.example.com" or ".example.com" (RFC 5280 4.2.1.10). */
static int
dns_ok(const char *s)
{
	const char *p = s;
	size_t label = 0;

	if (*p == '.')
		p++;
	if (*p == '\0')
		return 0;
	for (; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/* A mailbox "a@host", a host, or ".domain": the host part as for DNS. */
static int
email_ok(const char *s)
{
	const char *at = strchr(s, '@'), *p;

	if (at == NULL)
		return dns_ok(s);
	if (at == s || strchr(at + 1, '@') != NULL || at[1] == '.')
		return 0;
	for (p = s; p < at; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return dns_ok(at + 1);
}

static int
ip_ok(const char *s)
{
	unsigned char a[16];
	size_t n, i;
	int bits;

	if (strchr(s, '/') == NULL || (n = pol_cidr_parse(s, a, &bits)) == 0)
		return 0;
	for (i = 0; i < n; i++) {
		int keep = bits - (int)(8 * i);
		unsigned char mask = keep >= 8 ? 0xff
				     : keep <= 0
					 ? 0
					 : (unsigned char)(0xff << (8 - keep));
		if (a[i] & ~mask)
			return 0; /* host bits set */
	}
	return 1;
}

pca_err
pol_nc_item_check(enum pol_nc_kind k, const char *s)
{
	static const char *const what[POL_NC_KINDS] = {"a DNS name or .domain",
	    "an IP range a.b.c.d/n or x::/n without host bits",
	    "a mailbox, a host or .domain"};
	int ok = k == POL_NC_DNS  ? dns_ok(s)
		 : k == POL_NC_IP ? ip_ok(s)
				  : email_ok(s);

	if (ok)
		return PCA_OK;
	return pca_err_set(PCA_EINVAL, "'%s' is not %s", s, what[k]);
}

/* One GeneralName of kind k from the (already validated) text s. */
static GENERAL_NAME *
nc_name(enum pol_nc_kind k, const char *s)
{
	static const int type[POL_NC_KINDS] = {GEN_DNS, GEN_IPADD, GEN_EMAIL};
	unsigned char a[32];
	ASN1_STRING *v = NULL;
	GENERAL_NAME *g = NULL;
	size_t n, i;
	int bits;

	if (k == POL_NC_IP) {
		if ((n = pol_cidr_parse(s, a, &bits)) == 0)
			return NULL;
		for (i = 0; i < n; i++) {
			int keep = bits - (int)(8 * i);
			a[n + i] = keep >= 8 ? 0xff
				   : keep <= 0
				       ? 0
				       : (unsigned char)(0xff << (8 - keep));
		}
		v = ASN1_OCTET_STRING_new();
		if (v != NULL && !ASN1_OCTET_STRING_set(v, a, (int)(2 * n))) {
			ASN1_OCTET_STRING_free(v);
			v = NULL;
		}
	} else {
		v = ASN1_IA5STRING_new();
		if (v != NULL && !ASN1_STRING_set(v, s, (int)strlen(s))) {
			ASN1_IA5STRING_free(v);
			v = NULL;
		}
	}
	if (v == NULL || (g = GENERAL_NAME_new()) == NULL) {
		ASN1_STRING_free(v);
		return NULL;
	}
	GENERAL_NAME_set0_value(g, type[k], v);
	return g;
}

/* The GeneralSubtrees of lists (NULL when they are all empty). */
static int
nc_subtrees(const struct pol_list *lists, STACK_OF(GENERAL_SUBTREE) * *out)
{
	STACK_OF(GENERAL_SUBTREE) *sk = NULL;
	GENERAL_SUBTREE *st;
	size_t k, i;

	*out = NULL;
	for (k = 0; k < POL_NC_KINDS; k++)
		for (i = 0; i < lists[k].n; i++) {
			if (sk == NULL &&
			    (sk = sk_GENERAL_SUBTREE_new_null()) == NULL)
				return 0;
			if ((st = GENERAL_SUBTREE_new()) == NULL)
				goto bad;
			GENERAL_NAME_free(st->base);
			st->base = nc_name((enum pol_nc_kind)k, lists[k].v[i]);
			if (st->base == NULL ||
			    !sk_GENERAL_SUBTREE_push(sk, st)) {
				GENERAL_SUBTREE_free(st);
				goto bad;
			}
		}
	*out = sk;
	return 1;
bad:
	sk_GENERAL_SUBTREE_pop_free(sk, GENERAL_SUBTREE_free);
	return 0;
}

pca_err
pol_name_constraints_der(const struct pol *p, uint8_t **der, size_t *len)
{
	NAME_CONSTRAINTS *nc = NULL;
	unsigned char *d = NULL;
	int n;
	pca_err e = PCA_OK;

	*der = NULL;
	*len = 0;
	if ((nc = NAME_CONSTRAINTS_new()) == NULL ||
	    !nc_subtrees(p->nc_permit, &nc->permittedSubtrees) ||
	    !nc_subtrees(p->nc_exclude, &nc->excludedSubtrees)) {
		e = pca_err_set(PCA_ENOMEM,
		    "policy %s: cannot build the "
		    "nameConstraints",
		    p->name);
		goto out;
	}
	if (nc->permittedSubtrees == NULL && nc->excludedSubtrees == NULL)
		goto out; /* none defined */
	if ((n = ASN1_item_i2d((ASN1_VALUE *)nc, &d,
		 ASN1_ITEM_rptr(NAME_CONSTRAINTS))) <= 0) {
		e = pca_err_set(PCA_ENOMEM,
		    "policy %s: cannot encode the "
		    "nameConstraints",
		    p->name);
		goto out;
	}
	if ((*der = malloc((size_t)n)) == NULL) {
		e = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	memcpy(*der, d, (size_t)n);
	*len = (size_t)n;
out:
	ERR_clear_error(); /* reported above */
	OPENSSL_free(d);
	NAME_CONSTRAINTS_free(nc);
	return e;
}
