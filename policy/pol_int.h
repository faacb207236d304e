/*
 * pol_int.h - the pieces of policy/ shared by its files and its unit tests.
 */
#ifndef PCA_POL_INT_H
#define PCA_POL_INT_H

#include "policy.h"

#define POL_ITEM_MAX 96 /* characters in one list entry */
#define POL_NIDS_MAX 16

struct pol_list {
	size_t n;
	char v[POL_LIST_MAX][POL_ITEM_MAX];
};

/* Kinds of name constraint subtrees (RFC 5280 4.2.1.10). */
enum pol_nc_kind { POL_NC_DNS, POL_NC_IP, POL_NC_EMAIL, POL_NC_KINDS };

struct pol {
	char name[POL_NAME_MAX];
	unsigned keys; /* 1 << POL_KEY_*; 0 = any */
	int rsa_min;   /* 0 = no minimum */
	int ec_min;
	struct pol_list sig_algs;  /* empty = any (never SHA-1) */
	int64_t max_validity_s;    /* 0 = no maximum */
	struct pol_list templates; /* empty = any */
	unsigned eku_required;
	unsigned eku_allowed; /* 0 = any */
	int dns_required;
	int wildcard;              /* wildcard DNS names allowed */
	struct pol_list dns_allow; /* empty = any */
	struct pol_list dns_deny;
	int ip_limited; /* IP SANs only inside ip_ranges */
	struct pol_list ip_ranges;
	struct pol_list email_domains; /* empty = any */
	struct pol_list uri_prefixes;  /* empty = any */
	size_t nreq, nforb;
	int subj_required[POL_NIDS_MAX]; /* attribute NIDs */
	int subj_forbidden[POL_NIDS_MAX];
	/* nameConstraints stamped on subordinate CA certificates */
	struct pol_list nc_permit[POL_NC_KINDS]; /* empty = none */
	struct pol_list nc_exclude[POL_NC_KINDS];
};

/* An EKU name (as in the policy file) to its bit; 0 when unknown. */
unsigned pol_eku_bit(const char *name);
/* The built-in policies (n of them). */
const struct pol *pol_builtins(size_t *n);

/* True when name matches the suffix rule s (".example.com" or "example.com":
   the domain itself or any name below it; case-insensitive). */
int pol_dns_suffix_match(const char *name, const char *s);
/* True when the address (4 or 16 octets) is inside the CIDR text. */
int pol_ip_in_cidr(const unsigned char *ip, size_t len, const char *cidr);
/* Parses "a.b.c.d/n" or "x::/n"; PCA_EINVAL when it is not a CIDR. */
pca_err pol_cidr_check(const char *cidr) PCA_WUR;
/* "addr/bits" to its octets (4 or 16, the count returned); 0 if not. */
size_t pol_cidr_parse(const char *cidr, unsigned char addr[16], int *bits);
/*
 * PCA_OK when s is a valid subtree of the kind (nc.c): a DNS name or
 * ".domain" of letters, digits, '-' and dots; an IP CIDR without host
 * bits; a mailbox, a host or ".domain".  PCA_EINVAL (message: why) if not.
 */
pca_err pol_nc_item_check(enum pol_nc_kind, const char *s) PCA_WUR;

#endif
