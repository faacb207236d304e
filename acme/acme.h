/*
 * acme.h - an ACME server (RFC 8555) per CA on the API's HTTPS listener,
 * under /acme/<CA id>/: directory, nonces, accounts, orders, http-01 and
 * tls-alpn-01 validation done by pcad itself, finalize through the same
 * engine path as IssueCertificate (ca_issue: policy, lint gate, token,
 * LMDB record, an audit entry naming the ACME account), certificate
 * download, revocation and key change.  State lives in the store's kv
 * records (namespaces "acme-*"), so it survives a restart; nonces live in
 * memory (bounded) and are single-use.
 */
#ifndef PCA_ACME_H
#define PCA_ACME_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/certref.h"
#include "../common/err.h"

struct ca_engine;
struct store;
struct http_server;
struct seal_ops;
struct pol_set;
struct acme;

/* Seal label of the EAB HMAC keys at rest ("acme-eab" records). */
#define ACME_EAB_SEAL_LABEL "pca-acme-eab"

#define ACME_PROFILE_MAX 63 /* a profile's name */
/* 1: 1 to 63 of [A-Za-z0-9._-] (an ACME profile's name). */
int acme_profile_name_ok(const char *);

struct acme_conf {
	const char *base_url;  /* "https://host:port", no trailing slash */
	const char *partition; /* ARN partition; NULL = "aws" */
	const char *region;    /* the appliance's, which scope CA ARNs */
	const char *account;
	unsigned http01_port;        /* 80 */
	unsigned tlsalpn01_port;     /* 443 */
	const char *validation_addr; /* connect validations here instead of
				   resolving the identifier; NULL: resolve */
	unsigned validity_days;      /* issued certificates; 90 */
	unsigned timeout_s;          /* per validation attempt; 10 */
	int eab_required;            /* newAccount needs an EAB key */
	const char *resolver;        /* dns-01/CAA: "ip[:port],..."; NULL:
					/etc/resolv.conf */
	const char *caa_identities;  /* "ca.example.net,..."; NULL: no CAA
				    checking */
	unsigned keep_days;          /* orders and authorizations are deleted
					this long after they expire */
	/*
	 * The issuance policies (borrowed; replaced by acme_reload): an
	 * order's identifiers are judged by its policy's name rules before
	 * any challenge.  NULL: no policy judged here (the engine still
	 * judges at finalize).
	 */
	const struct pol_set *policies;
};

/* 1: s is 1-4 resolvers "ip[:port]" or "[ip6]:port", comma-separated. */
int acme_resolver_ok(const char *s);
/* 1: s is 1-8 DNS names (issuer domain names), comma-separated. */
int acme_caa_ids_ok(const char *s);

/*
 * seal (common/seal.h, copied; NULL or no seal: no token) unseals the EAB
 * HMAC keys (ACME_EAB_SEAL_LABEL); EAB keys still stored in the clear by
 * an older pcactl are sealed here once.
 */
pca_err acme_new(const struct acme_conf *, struct ca_engine *, struct store *,
    const struct seal_ops *seal, struct acme **out) PCA_WUR;
/* The /acme/ route on the HTTPS listener (before http_start). */
pca_err acme_register(struct acme *, struct http_server *) PCA_WUR;
/*
 * A new engine and configuration after a reload (returns once no request
 * uses the old engine).
 */
void acme_reload(struct acme *, const struct acme_conf *, struct ca_engine *);
void acme_free(struct acme *);

/*
 * Deletes the ACME orders and authorizations that expired before
 * now - keep_s (the orders also leave their account's list); accounts,
 * EAB keys and certificate records stay.  At most 5,000 of each per call.
 * For pcactl acme prune; pcad prunes by itself at most hourly.
 */
pca_err acme_prune(struct store *, int64_t now, int64_t keep_s, size_t *orders,
    size_t *authzs) PCA_WUR;

/*
 * The RFC 9773 suggested renewal window of a certificate (CA ca_uuid, hex
 * serial without leading zero octet, valid nb..na): the last third of its
 * lifetime; moved into the past (the hour before the mark) when an
 * operator ran pcactl cert renew-early for it or its CA after nb, or the
 * CA was rotated after nb (rotated_at; 0: not rotated).  *early (may be
 * NULL): 1 when moved.
 */
pca_err acme_ari_window(struct store *, const char *ca_uuid, const char *hex,
    int64_t nb, int64_t na, int64_t rotated_at, int64_t *start, int64_t *end,
    int *early) PCA_WUR;

/*
 * What the ACME records say of a certificate issued through ACME (for the
 * inventory): {"AccountId","OrderId","Profile"?,"Replaces"?,"ReplacedBy"?
 * (RFC 9773 links, hex serials),"SuggestedWindow":{"Start","End"} (epoch
 * seconds, acme_ari_window),"RenewalRequestedEarly"}.  One record read
 * (plus the two renew-early marks); PCA_ENOTFOUND when the certificate was
 * not issued through ACME (or by another CA).  *out: caller decrefs.
 */
pca_err acme_cert_info(struct store *, const struct cert_ref *,
    json_t **out) PCA_WUR;

struct buf;
/*
 * Prometheus text for GET /metrics: accounts and orders created, orders
 * by the states they entered, certificates issued and revoked,
 * validations by type and result, problem documents sent (counters since
 * start).
 */
pca_err acme_metrics_render(struct acme *, struct buf *) PCA_WUR;

/* ---- JWS (jws.c), exposed for tests and the fuzzer ---- */

#define ACME_JWS_MAX (64 * 1024) /* a request body */

struct acme_jws {
	char alg[16];
	char *nonce; /* all malloc'd; NULL when absent */
	char *url;
	char *kid;
	char *jwk;        /* the jwk member as compact JSON */
	uint8_t *payload; /* decoded; "" for POST-as-GET */
	size_t payload_len;
	int has_jwk;
};

enum acme_jws_err {
	ACME_JWS_OK = 0,
	ACME_JWS_MALFORMED, /* urn:...:malformed */
	ACME_JWS_BADALG,    /* badSignatureAlgorithm */
	ACME_JWS_BADSIG,    /* unauthorized (bad signature) */
	ACME_JWS_BADKEY,    /* badPublicKey */
};

/*
 * Parses a flattened JWS and its protected header (strict: alg, url and,
 * unless nonce_optional, nonce required; jwk xor kid; crit refused; b64 only
 * base64url).  Nothing is verified yet.  *why: a static sentence.
 */
enum acme_jws_err acme_jws_parse(const uint8_t *body, size_t len,
    int nonce_optional, struct acme_jws *out, const char **why);
/*
 * Verifies the signature of body (the same flattened JWS) with the key in
 * jwk (a JSON object text); the key must be one of RS256 (2048+ bits),
 * ES256/384/512, EdDSA (Ed25519) matching alg.
 */
enum acme_jws_err acme_jws_verify(const uint8_t *body, size_t len,
    const char *alg, const char *jwk, const char **why);
/* RFC 7638 thumbprint, base64url (44 bytes with NUL). */
pca_err acme_jwk_thumbprint(const char *jwk, char out[44]) PCA_WUR;
void acme_jws_clear(struct acme_jws *);

/* base64url without padding; *out malloc'd (NUL-terminated). */
pca_err acme_b64url_encode(const uint8_t *p, size_t n, char **out) PCA_WUR;
pca_err acme_b64url_decode(const char *s, size_t n, size_t max, uint8_t **out,
    size_t *len) PCA_WUR;

#endif
