/* acme_int.h - shared between the files of acme/ only. */
#ifndef PCA_ACME_INT_H
#define PCA_ACME_INT_H

#include <openssl/evp.h>

#include "acme.h"

/* The public key of a JWK (any supported type), or NULL. */
EVP_PKEY *acme_jwk_pkey(const char *jwk);

/* ---- dns.c: lookups through c-ares ---- */

#define ACME_DNS_MAX_SERVERS 4
#define ACME_CAA_MAX_IDS 8

struct acme_dns {
	const char *servers; /* "ip[:port],..." or NULL: resolv.conf */
	unsigned timeout_s;  /* one whole lookup, CNAME hops included */
};

struct acme_caa_rr {
	unsigned flags; /* bit 128: issuer critical */
	char tag[16];
	int tag_over; /* the tag was longer than tag[] */
	char *value;  /* NUL-terminated copy */
	size_t len;
};

/*
 * The TXT records at name after CNAMEs, each record's strings joined:
 * PCA_OK with *v (n may be 0: NXDOMAIN or no TXT; free with
 * acme_dns_strv_free); PCA_EIO etc. with why (SERVFAIL, timeout, ...).
 */
pca_err acme_dns_txt(const struct acme_dns *, const char *name, char ***v,
    size_t *n, char *why, size_t wl) PCA_WUR;
void acme_dns_strv_free(char **v, size_t n);
/* A deadline for acme_dns_caa: now + timeout_s on the monotonic clock. */
int64_t acme_dns_deadline(unsigned timeout_s);
/* The CAA RRset at name after CNAMEs (n 0: none); deadline: monotonic ms. */
pca_err acme_dns_caa(const struct acme_dns *, const char *name,
    int64_t deadline, struct acme_caa_rr **rrs, size_t *n, char *why,
    size_t wl) PCA_WUR;
void acme_caa_rrs_free(struct acme_caa_rr *, size_t n);
/*
 * Follows the CNAMEs from name through the answer section of the DNS
 * message m (with ares_expand_name): *target the chain's last name
 * (malloc'd), *has 1 when a record of type is owned by it.  0 when the
 * message is malformed.  Exposed for the fuzzer.
 */
int acme_dns_chain(const unsigned char *m, int len, const char *name, int type,
    char **target, int *has);

/* The resolver and CAA identities of a configuration (self-contained). */
struct acme_dnsconf {
	char servers[260];
	char idbuf[520];
	const char *ids[ACME_CAA_MAX_IDS];
	size_t nids;
	struct acme_dns dns;
};

void acme_dnsconf_set(struct acme_dnsconf *, const struct acme_conf *);

/* ---- caa.c: RFC 8659 (and RFC 8657 parameters) ---- */

struct acme_caa_req {
	const char *const *ids; /* our issuer domain names, lower case */
	size_t nids;
	int wildcard;            /* the certificate will name *.<domain> */
	const char *account_uri; /* RFC 8657 accounturi; NULL: not checked */
	const char *method;      /* RFC 8657 validationmethods */
};

enum acme_caa_verdict {
	ACME_CAA_PERMIT = 0,
	ACME_CAA_FORBID,
};

/* An issue/issuewild value (RFC 8659 4.2, RFC 8657 parameters). */
struct acme_caa_issue {
	char domain[254];     /* "" : no issuer (";" alone) */
	char accounturi[256]; /* "" when absent */
	char methods[256];    /* "" when absent */
};

/* 1 parsed, 0 malformed (a malformed value authorizes no one). */
int acme_caa_issue_parse(const char *v, size_t len, struct acme_caa_issue *);
/* The decision for one relevant RRset (n > 0); why says which rule. */
enum acme_caa_verdict acme_caa_decide(const struct acme_caa_rr *, size_t n,
    const struct acme_caa_req *, char *why, size_t wl);
/*
 * Climbs from domain towards the root (RFC 8659 3) for the first
 * non-empty CAA RRset and judges it: PCA_OK permitted; PCA_EPOLICY
 * forbidden; PCA_EIO the lookup failed (never a silent pass).  Bounded by
 * d->timeout_s as a whole.
 */
pca_err acme_caa_check(const struct acme_dns *, const char *domain,
    const struct acme_caa_req *, char *why, size_t wl) PCA_WUR;

struct acme_chal {
	const char *type;       /* "http-01", "tls-alpn-01", "dns-01" */
	const char *ident_type; /* "dns", "ip" */
	const char *ident;
	const char *token;
	const char *keyauth; /* token "." thumbprint */
	unsigned port;
	const char *addr; /* connect here, or NULL: resolve ident */
	unsigned timeout_s;
	const struct acme_dns *dns;     /* dns-01 and CAA lookups */
	const struct acme_caa_req *caa; /* NULL: CAA checking is off */
};

/*
 * Validates one challenge from here (bounded timeouts, two attempts).
 * PCA_OK: valid; otherwise *why is a sentence for the problem's detail
 * and *ptype the ACME error type (connection, incorrectResponse, tls,
 * unauthorized, dns, caa).  After a valid challenge of a dns identifier
 * the CAA RRset is checked when c->caa is set.
 */
pca_err acme_validate(const struct acme_chal *, char *why, size_t whylen,
    const char **ptype) PCA_WUR;

#endif
