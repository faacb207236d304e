/*
 * rules.c - the built-in policies and the rules every policy is made of.
 * Each rule reads the input and the policy and answers ok (1), violated (0)
 * or not judged (-1, the input lacks what the rule needs).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>

#include "pol_int.h"

#define DAY 86400LL
#define KEYS_ANY ((1u << POL_KEY_RSA) | (1u << POL_KEY_EC))

static const struct pol builtins[] = {
    {.name = "web_server",
	.keys = KEYS_ANY,
	.rsa_min = 2048,
	.ec_min = 256,
	.max_validity_s = 398 * DAY,
	.eku_required = POL_EKU_SERVER,
	.eku_allowed = POL_EKU_SERVER | POL_EKU_CLIENT,
	.dns_required = 1,
	.wildcard = 1},
    {.name = "client_auth",
	.keys = KEYS_ANY,
	.rsa_min = 2048,
	.ec_min = 256,
	.max_validity_s = 180 * DAY,
	.eku_required = POL_EKU_CLIENT,
	.eku_allowed = POL_EKU_CLIENT,
	.wildcard = 1},
    {.name = "code_signing",
	.keys = KEYS_ANY,
	.rsa_min = 3072,
	.ec_min = 384,
	.max_validity_s = 1096 * DAY,
	.eku_required = POL_EKU_CODE,
	.eku_allowed = POL_EKU_CODE,
	.wildcard = 1},
    {.name = "internal_service",
	.keys = 1u << POL_KEY_EC,
	.ec_min = 256,
	.max_validity_s = 90 * DAY,
	.eku_required = POL_EKU_SERVER | POL_EKU_CLIENT,
	.eku_allowed = POL_EKU_SERVER | POL_EKU_CLIENT,
	.wildcard = 1},
};

const struct pol *
pol_builtins(size_t *n)
{
	*n = sizeof(builtins) / sizeof(builtins[0]);
	return builtins;
}

const char *
pol_name(const struct pol *p)
{
	return p->name;
}

static const char *
key_name(enum pol_key k)
{
	return k == POL_KEY_RSA ? "RSA" : k == POL_KEY_EC ? "EC" : "other";
}

static int
r_key_alg(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	(void)snprintf(d, n, "%s key is not allowed", key_name(in->key));
	return p->keys == 0 || (p->keys & (1u << in->key)) != 0;
}

static int
r_rsa_bits(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	if (in->key != POL_KEY_RSA || p->rsa_min == 0)
		return 1;
	(void)snprintf(d, n, "RSA key of %d bits is below the minimum of %d",
	    in->key_bits, p->rsa_min);
	return in->key_bits >= p->rsa_min;
}

static int
r_ec_bits(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	if (in->key != POL_KEY_EC || p->ec_min == 0)
		return 1;
	(void)snprintf(d, n, "EC key of %d bits is below the minimum of %d",
	    in->key_bits, p->ec_min);
	return in->key_bits >= p->ec_min;
}

static int
list_has(const struct pol_list *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

static int
r_no_sha1(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	(void)p;
	if (in->sig_alg == NULL)
		return -1;
	(void)snprintf(d, n, "%s uses SHA-1", in->sig_alg);
	return strncasecmp(in->sig_alg, "SHA1", 4) != 0;
}

static int
r_sig_algs(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	if (p->sig_algs.n == 0)
		return 1;
	if (in->sig_alg == NULL)
		return -1;
	(void)snprintf(d, n, "%s is not an allowed signing algorithm",
	    in->sig_alg);
	return list_has(&p->sig_algs, in->sig_alg);
}

static int
r_validity(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	if (p->max_validity_s == 0)
		return 1;
	if (in->validity_s < 0)
		return -1;
	/* in days, like the rule (a validity ending mid-day: 1 decimal) */
	if (in->validity_s % DAY == 0)
		(void)snprintf(d, n,
		    "validity of %lld days exceeds the maximum "
		    "of %lld days",
		    (long long)(in->validity_s / DAY),
		    (long long)(p->max_validity_s / DAY));
	else
		(void)snprintf(d, n,
		    "validity of %.1f days exceeds the maximum "
		    "of %lld days",
		    (double)in->validity_s / DAY,
		    (long long)(p->max_validity_s / DAY));
	return in->validity_s <= p->max_validity_s;
}

static int
r_templates(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	char alt[POL_ITEM_MAX + 4];
	size_t i;

	if (p->templates.n == 0)
		return 1;
	if (in->tmpl == NULL)
		return -1;
	(void)snprintf(d, n, "template %s is not allowed", in->tmpl);
	for (i = 0; i < p->templates.n; i++) {
		(void)snprintf(alt, sizeof(alt), "%s/V1", p->templates.v[i]);
		if (strcmp(in->tmpl, p->templates.v[i]) == 0 ||
		    strcmp(in->tmpl, alt) == 0)
			return 1;
	}
	return 0;
}

static const struct {
	unsigned bit;
	const char *name;
} ekus[] = {
    {POL_EKU_SERVER, "serverAuth"},
    {POL_EKU_CLIENT, "clientAuth"},
    {POL_EKU_CODE, "codeSigning"},
    {POL_EKU_EMAIL, "emailProtection"},
    {POL_EKU_TIME, "timeStamping"},
    {POL_EKU_OCSP, "OCSPSigning"},
    {POL_EKU_OTHER, "other"},
};

static const char *
eku_first(unsigned bits)
{
	size_t i;

	for (i = 0; i < sizeof(ekus) / sizeof(ekus[0]); i++)
		if (bits & ekus[i].bit)
			return ekus[i].name;
	return "?";
}

unsigned
pol_eku_bit(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(ekus) / sizeof(ekus[0]) - 1; i++)
		if (strcasecmp(name, ekus[i].name) == 0)
			return ekus[i].bit;
	return 0;
}

static int
r_eku_req(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	unsigned miss = p->eku_required & ~in->eku;

	if (in->eku_unknown && p->eku_required != 0)
		return -1;
	if (miss == 0)
		return 1;
	(void)snprintf(d, n, "extendedKeyUsage %s is required",
	    eku_first(miss));
	return 0;
}

static int
r_eku_allowed(const struct pol *p, const struct pol_input *in, char *d,
    size_t n)
{
	unsigned extra = in->eku & ~p->eku_allowed;

	if (in->eku_unknown && p->eku_allowed != 0)
		return -1;
	if (p->eku_allowed == 0 || extra == 0)
		return 1;
	(void)snprintf(d, n, "extendedKeyUsage %s is not allowed",
	    eku_first(extra));
	return 0;
}

/* Runs fn over every SAN of type; the first failing one ends the walk. */
static int
san_each(const struct pol_input *in, int type,
    int (*fn)(const struct pol *, const GENERAL_NAME *, char *, size_t),
    const struct pol *p, char *d, size_t n)
{
	int i;

	for (i = 0; in->san != NULL && i < sk_GENERAL_NAME_num(in->san); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(in->san, i);
		if (g->type == type && !fn(p, g, d, n))
			return 0;
	}
	return 1;
}

static void
ia5_text(const ASN1_IA5STRING *s, char *out, size_t n)
{
	int len = ASN1_STRING_length(s);
	const unsigned char *p = ASN1_STRING_get0_data(s);
	size_t i, m = (size_t)len < n - 1 ? (size_t)len : n - 1;

	for (i = 0; i < m; i++)
		out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	out[m] = '\0';
}

static int
r_dns_required(const struct pol *p, const struct pol_input *in, char *d,
    size_t n)
{
	int i;

	if (!p->dns_required)
		return 1;
	for (i = 0; in->san != NULL && i < sk_GENERAL_NAME_num(in->san); i++)
		if (sk_GENERAL_NAME_value(in->san, i)->type == GEN_DNS)
			return 1;
	(void)snprintf(d, n, "a DNS subjectAltName is required");
	return 0;
}

static int
dns_one(const struct pol *p, const GENERAL_NAME *g, char *d, size_t n)
{
	char name[256];
	size_t i;

	ia5_text(g->d.dNSName, name, sizeof(name));
	if (!p->wildcard && strchr(name, '*') != NULL) {
		(void)snprintf(d, n, "wildcard:%s is not allowed", name);
		return 0;
	}
	for (i = 0; i < p->dns_deny.n; i++)
		if (pol_dns_suffix_match(name, p->dns_deny.v[i])) {
			(void)snprintf(d, n, "deny:%s is under denied %s", name,
			    p->dns_deny.v[i]);
			return 0;
		}
	for (i = 0; i < p->dns_allow.n; i++)
		if (pol_dns_suffix_match(name, p->dns_allow.v[i]))
			return 1;
	(void)snprintf(d, n, "allow:%s is not under an allowed suffix", name);
	return p->dns_allow.n == 0;
}

/* One rule for wildcard, deny and allow: the detail says which. */
static int
r_dns_names(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	return san_each(in, GEN_DNS, dns_one, p, d, n);
}

static int
ip_one(const struct pol *p, const GENERAL_NAME *g, char *d, size_t n)
{
	const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
	size_t len = (size_t)ASN1_STRING_length(g->d.iPAddress), i;
	char txt[INET6_ADDRSTRLEN] = "?";

	for (i = 0; i < p->ip_ranges.n; i++)
		if (pol_ip_in_cidr(a, len, p->ip_ranges.v[i]))
			return 1;
	if (len == 4 || len == 16)
		(void)inet_ntop(len == 4 ? AF_INET : AF_INET6, a, txt,
		    sizeof(txt));
	(void)snprintf(d, n, "IP address %s is outside the allowed ranges",
	    txt);
	return 0;
}

static int
r_ip(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	return !p->ip_limited || san_each(in, GEN_IPADD, ip_one, p, d, n);
}

static int
email_one(const struct pol *p, const GENERAL_NAME *g, char *d, size_t n)
{
	char addr[256];
	const char *at;

	ia5_text(g->d.rfc822Name, addr, sizeof(addr));
	at = strrchr(addr, '@');
	if (at != NULL && list_has(&p->email_domains, at + 1))
		return 1;
	(void)snprintf(d, n, "email %s is not in an allowed domain", addr);
	return 0;
}

static int
r_email(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	return p->email_domains.n == 0 ||
	       san_each(in, GEN_EMAIL, email_one, p, d, n);
}

static int
uri_one(const struct pol *p, const GENERAL_NAME *g, char *d, size_t n)
{
	char uri[512];
	size_t i;

	ia5_text(g->d.uniformResourceIdentifier, uri, sizeof(uri));
	for (i = 0; i < p->uri_prefixes.n; i++)
		if (strncmp(uri, p->uri_prefixes.v[i],
			strlen(p->uri_prefixes.v[i])) == 0)
			return 1;
	(void)snprintf(d, n, "URI %s matches no allowed prefix", uri);
	return 0;
}

static int
r_uri(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	return p->uri_prefixes.n == 0 ||
	       san_each(in, GEN_URI, uri_one, p, d, n);
}

static int
r_subj_req(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	size_t i;

	for (i = 0; i < p->nreq; i++)
		if (in->subject == NULL ||
		    X509_NAME_get_index_by_NID(in->subject, p->subj_required[i],
			-1) < 0) {
			(void)snprintf(d, n, "subject attribute %s is required",
			    OBJ_nid2sn(p->subj_required[i]));
			return 0;
		}
	return 1;
}

static int
r_subj_forb(const struct pol *p, const struct pol_input *in, char *d, size_t n)
{
	size_t i;

	for (i = 0; i < p->nforb && in->subject != NULL; i++)
		if (X509_NAME_get_index_by_NID(in->subject,
			p->subj_forbidden[i], -1) >= 0) {
			(void)snprintf(d, n,
			    "subject attribute %s is forbidden",
			    OBJ_nid2sn(p->subj_forbidden[i]));
			return 0;
		}
	return 1;
}

static const struct rule {
	const char *name;
	pca_err code;
	int (*fn)(const struct pol *, const struct pol_input *, char *, size_t);
} rules[] = {
    {"key.algorithm", PCA_EBADCSR, r_key_alg},
    {"key.rsa_min_bits", PCA_EBADCSR, r_rsa_bits},
    {"key.ec_min_bits", PCA_EBADCSR, r_ec_bits},
    {"signing.no_sha1", PCA_EINVAL, r_no_sha1},
    {"signing.algorithms", PCA_EINVAL, r_sig_algs},
    {"validity.max_days", PCA_EINVAL, r_validity},
    {"templates", PCA_EINVAL, r_templates},
    {"eku.required", PCA_EINVAL, r_eku_req},
    {"eku.allowed", PCA_EINVAL, r_eku_allowed},
    {"san.dns_required", PCA_EINVAL, r_dns_required},
    {"san.dns", PCA_EINVAL, r_dns_names},
    {"san.ip_ranges", PCA_EINVAL, r_ip},
    {"san.email_domains", PCA_EINVAL, r_email},
    {"san.uri_prefixes", PCA_EINVAL, r_uri},
    {"subject.required", PCA_EINVAL, r_subj_req},
    {"subject.forbidden", PCA_EINVAL, r_subj_forb},
};

/* "san.dns" carries its sub-rule in front of the detail ("deny:..."). */
static void
rule_name(const char *base, char *detail, char *out, size_t n)
{
	static const char *const sub[][2] = {
	    {"wildcard", "san.dns_wildcard"},
	    {"deny", "san.dns_suffix_deny"},
	    {"allow", "san.dns_suffix_allow"},
	};
	char *colon = strchr(detail, ':');
	size_t i;

	(void)snprintf(out, n, "%s", base);
	if (strcmp(base, "san.dns") != 0 || colon == NULL)
		return;
	*colon = '\0';
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
		if (strcmp(detail, sub[i][0]) == 0)
			(void)snprintf(out, n, "%s", sub[i][1]);
	memmove(detail, colon + 1, strlen(colon + 1) + 1);
}

pca_err
pol_check(const struct pol *p, const struct pol_input *in,
    void (*note)(const char *, int, const char *, void *), void *arg)
{
	char detail[384], name[48];
	pca_err first = PCA_OK;
	size_t i;
	int ok;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		detail[0] = '\0';
		ok = rules[i].fn(p, in, detail, sizeof(detail));
		if (ok == 0)
			rule_name(rules[i].name, detail, name, sizeof(name));
		else
			(void)snprintf(name, sizeof(name), "%s", rules[i].name);
		if (note != NULL)
			note(name, ok, ok == 0 ? detail : "", arg);
		if (ok != 0 || first != PCA_OK)
			continue;
		first = pca_err_set(rules[i].code, "policy %s: rule %s: %s",
		    p->name, name, detail);
		if (note == NULL)
			break;
	}
	return first;
}
