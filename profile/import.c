/*
 * import.c - ImportCertificateAuthorityCertificate checks (spec 2.4.4),
 * in the spec's order:
 *   1. parse: PEM (one CERTIFICATE block) or DER, <= LIM_CERT, every byte
 *      consumed, strict DER, byte-identical re-encoding   PCA_EBADCERT
 *   2. the certificate's SPKI is the CA key's SPKI           PCA_EMISMATCH
 *   3. basicConstraints present, critical, CA:TRUE           PCA_EBADCERT
 *   4. only the allowed extensions may be critical           PCA_EBADCERT
 *   5. ROOT: self-signed (PCA_EMISMATCH), no chain (PCA_EBADREQ)
 *   6. SUBORDINATE: not self-signed and a chain (PCA_EBADREQ); the chain
 *      parses (PCA_EBADCERT), is issuer-first with a self-signed root
 *      last, holds neither the certificate nor a repeat, every signature
 *      verifies, every issuer is a CA allowed to sign certificates,
 *      pathLenConstraints hold and validity periods nest   PCA_EMISMATCH
 * "Self-signed" is: issuer name equals subject name (X509_NAME_cmp) and
 * the signature verifies with the certificate's own key.  Links are
 * checked with X509_verify one by one (no X509_STORE, so no clock and no
 * trust store are involved; expiry is the engine's call).
 */
#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "profile_int.h"

#define CERT_LABEL "CERTIFICATE"
#define CERT_BEGIN "-----BEGIN " CERT_LABEL "-----"
#define CERT_END "-----END " CERT_LABEL "-----"

struct imp_cert {
	X509 *x;
	uint8_t *der;
	size_t der_len;
	int64_t nb, na; /* notBefore, notAfter */
	char what[64];  /* "CA certificate", "chain certificate 2" */
};

/* [0] is the imported certificate, [1..n] the chain, issuer-first. */
struct imp_ctx {
	struct imp_cert c[1 + LIM_CHAIN_CERTS];
	size_t n;
	enum prof_ca_type type;
	const uint8_t *spki; /* the CA key */
	size_t spki_len;
	const uint8_t *chain; /* as given */
	size_t chain_len;
};

enum imp_bc { IMP_BC_ABSENT, IMP_BC_BAD, IMP_BC_OK };

static void
imp_ctx_free(struct imp_ctx *ctx)
{
	size_t i;

	for (i = 0; i < 1 + LIM_CHAIN_CERTS; i++) {
		X509_free(ctx->c[i].x);
		free(ctx->c[i].der);
	}
}

static int
imp_blank(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; p != NULL && i < len; i++)
		if (!isspace(p[i]))
			return 0;
	return 1;
}

/* UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280). */
static int
imp_time(const ASN1_TIME *t, int64_t *out)
{
	const unsigned char *d = ASN1_STRING_get0_data(t);
	int n = ASN1_STRING_length(t), i;
	struct tm tm;

	if (n != (ASN1_STRING_type(t) == V_ASN1_UTCTIME              ? 13
		     : ASN1_STRING_type(t) == V_ASN1_GENERALIZEDTIME ? 15
								     : -1) ||
	    d[n - 1] != 'Z')
		return 0;
	for (i = 0; i < n - 1; i++)
		if (!isdigit(d[i]))
			return 0;
	if (!ASN1_TIME_to_tm(t, &tm))
		return 0;
	*out = util_timegm(&tm);
	return 1;
}

/* Version, matching signature algorithms, unique extensions, times. */
static pca_err
imp_fields(struct imp_cert *c)
{
	const X509_ALGOR *sa;
	long v = X509_get_version(c->x);
	int i, j, n = X509_get_ext_count(c->x);
	char name[80];

	if (v < 0 || v > 2 || (n > 0 && v != 2))
		return pca_err_set(PCA_EBADCERT,
		    "%s has version %ld; with "
		    "extensions only v3 (2) is valid (RFC 5280 4.1.2.1)",
		    c->what, v);
	X509_get0_signature(NULL, &sa, c->x);
	if (X509_ALGOR_cmp(sa, X509_get0_tbs_sigalg(c->x)) != 0)
		return pca_err_set(PCA_EBADCERT,
		    "%s signature algorithm "
		    "differs from the one in its TBSCertificate (RFC 5280 "
		    "4.1.1.2)",
		    c->what);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (OBJ_cmp(X509_EXTENSION_get_object(
					X509_get_ext(c->x, i)),
				X509_EXTENSION_get_object(
				    X509_get_ext(c->x, j))) == 0) {
				(void)OBJ_obj2txt(name, sizeof(name),
				    X509_EXTENSION_get_object(
					X509_get_ext(c->x, i)),
				    0);
				return pca_err_set(PCA_EBADCERT,
				    "%s has the "
				    "%s extension twice (RFC 5280 4.2)",
				    c->what, name);
			}
	if (!imp_time(X509_get0_notBefore(c->x), &c->nb) ||
	    !imp_time(X509_get0_notAfter(c->x), &c->na))
		return pca_err_set(PCA_EBADCERT,
		    "%s validity is not a "
		    "UTCTime or GeneralizedTime in Zulu with seconds (RFC "
		    "5280 4.1.2.5)",
		    c->what);
	return PCA_OK;
}

/* c->der to c->x: every byte consumed, strict DER, same re-encoding. */
static pca_err
imp_parse(struct imp_cert *c)
{
	const unsigned char *q = c->der;
	unsigned char *re = NULL;
	char why[128];
	int n;
	pca_err e;

	if (c->der_len > LONG_MAX)
		return pca_err_set(PCA_ETOOBIG, "%s is too large", c->what);
	if ((c->x = d2i_X509(NULL, &q, (long)c->der_len)) == NULL)
		return pca_err_set(PCA_EBADCERT,
		    "%s does not parse as an "
		    "X.509 certificate",
		    c->what);
	if (q != c->der + c->der_len)
		return pca_err_set(PCA_EBADCERT,
		    "%s has %zu bytes after the "
		    "certificate",
		    c->what, c->der_len - (size_t)(q - c->der));
	if (!x509_der_strict(c->der, c->der_len, why, sizeof(why)))
		return pca_err_set(PCA_EBADCERT, "%s is not canonical DER: %s",
		    c->what, why);
	/* force a fresh encoding of the (otherwise cached) TBSCertificate */
	if (i2d_re_X509_tbs(c->x, NULL) <= 0 || (n = i2d_X509(c->x, &re)) <= 0)
		return pca_err_set(PCA_EBADCERT, "%s cannot be re-encoded",
		    c->what);
	e = (size_t)n == c->der_len && memcmp(re, c->der, c->der_len) == 0
		? PCA_OK
		: pca_err_set(PCA_EBADCERT,
		      "%s is not canonical DER: "
		      "re-encoding it gives different bytes",
		      c->what);
	OPENSSL_free(re);
	return e == PCA_OK ? imp_fields(c) : e;
}

/* One certificate, PEM (one CERTIFICATE block) or DER. */
static pca_err
imp_load(const uint8_t *p, size_t len, struct imp_cert *c)
{
	pca_err e;

	if (len > LIM_CERT && !util_is_pem(p, len))
		return pca_err_set(PCA_ETOOBIG,
		    "%s is %zu bytes; at most %d "
		    "are accepted",
		    c->what, len, LIM_CERT);
	if (p == NULL || imp_blank(p, len))
		return pca_err_set(PCA_EBADCERT, "%s is empty", c->what);
	if (util_is_pem(p, len)) {
		e = prof_pem_one(p, len, CERT_LABEL, LIM_CERT, PCA_EBADCERT,
		    c->what, &c->der, &c->der_len);
		if (e != PCA_OK)
			return e;
	} else {
		if ((c->der = malloc(len)) == NULL)
			return pca_err_set(PCA_ENOMEM, "out of memory");
		memcpy(c->der, p, len);
		c->der_len = len;
	}
	return imp_parse(c);
}

/* Serial magnitude, no sign octet (step 1: an unusable serial is bad). */
static pca_err
imp_serial(X509 *x, struct prof_import *imp)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	const unsigned char *d = ASN1_STRING_get0_data(sn);
	size_t n = (size_t)ASN1_STRING_length(sn);

	if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER)
		return pca_err_set(PCA_EBADCERT,
		    "CA certificate serial number "
		    "is negative (RFC 5280 4.1.2.2)");
	while (n > 1 && d[0] == 0) {
		d++;
		n--;
	}
	if (n == 0 || n > sizeof(imp->serial))
		return pca_err_set(PCA_EBADCERT,
		    "CA certificate serial number "
		    "is %zu octets long; at most %zu are accepted",
		    n, sizeof(imp->serial));
	memcpy(imp->serial, d, n);
	imp->serial_len = n;
	return PCA_OK;
}

static pca_err
imp_check_key(X509 *x, const uint8_t *spki, size_t spki_len)
{
	unsigned char *k = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &k);
	int same = n > 0 && (size_t)n == spki_len && spki != NULL &&
		   memcmp(k, spki, spki_len) == 0;

	OPENSSL_free(k);
	return same ? PCA_OK
		    : pca_err_set(PCA_EMISMATCH,
			  "the CA "
			  "certificate's public key is not the key of this "
			  "certificate "
			  "authority");
}

static enum imp_bc
imp_bc(X509 *x, int *crit, int *ca, int *pathlen)
{
	BASIC_CONSTRAINTS *bc;
	int64_t v = -1;
	enum imp_bc r = IMP_BC_OK;

	*crit = -1;
	if ((bc = X509_get_ext_d2i(x, NID_basic_constraints, crit, NULL)) ==
	    NULL)
		return *crit == -1 ? IMP_BC_ABSENT : IMP_BC_BAD;
	*ca = bc->ca != 0;
	if (bc->pathlen != NULL && (!ASN1_INTEGER_get_int64(&v, bc->pathlen) ||
				       v < 0 || v > INT_MAX || !*ca))
		r = IMP_BC_BAD;
	else
		*pathlen = (int)v;
	BASIC_CONSTRAINTS_free(bc);
	return r;
}

/* Step 3. */
static pca_err
imp_check_bc(X509 *x, int *pathlen)
{
	int crit, ca = 0, pl = -1;

	switch (imp_bc(x, &crit, &ca, &pl)) {
	case IMP_BC_ABSENT:
		return pca_err_set(PCA_EBADCERT, "CA certificate has no "
						 "basicConstraints extension");
	case IMP_BC_BAD:
		return pca_err_set(PCA_EBADCERT,
		    "CA certificate "
		    "basicConstraints extension does not parse or has a bad "
		    "pathLenConstraint");
	case IMP_BC_OK:
		break;
	}
	if (!crit)
		return pca_err_set(PCA_EBADCERT,
		    "CA certificate "
		    "basicConstraints extension is not critical");
	if (!ca)
		return pca_err_set(PCA_EBADCERT,
		    "CA certificate "
		    "basicConstraints has CA:FALSE");
	*pathlen = pl;
	return PCA_OK;
}

/* Step 4: which extensions may be critical (spec 2.4.4, AWS doc). */
static pca_err
imp_check_crit(X509 *x)
{
	static const int ok[] = {NID_authority_key_identifier,
	    NID_basic_constraints, NID_certificate_policies, NID_ext_key_usage,
	    NID_inhibit_any_policy, NID_issuer_alt_name, NID_key_usage,
	    NID_name_constraints, NID_policy_mappings, NID_subject_alt_name,
	    NID_subject_directory_attributes, NID_subject_key_identifier,
	    NID_sinfo_access};
	const ASN1_OBJECT *obj;
	char oid[80];
	int i, nid;
	size_t k;

	for (i = 0; i < X509_get_ext_count(x); i++) {
		if (!X509_EXTENSION_get_critical(X509_get_ext(x, i)))
			continue;
		obj = X509_EXTENSION_get_object(X509_get_ext(x, i));
		nid = OBJ_obj2nid(obj);
		for (k = 0; k < sizeof(ok) / sizeof(ok[0]); k++)
			if (ok[k] == nid)
				break;
		if (k < sizeof(ok) / sizeof(ok[0]))
			continue;
		(void)OBJ_obj2txt(oid, sizeof(oid), obj, 1);
		return pca_err_set(PCA_EBADCERT,
		    "CA certificate marks the %s "
		    "extension (%s) critical; AIA, CRL distribution points, "
		    "freshestCRL, policyConstraints and unknown extensions "
		    "must not be critical",
		    nid != NID_undef ? OBJ_nid2sn(nid) : "unknown", oid);
	}
	return PCA_OK;
}

static int
imp_self_issued(X509 *x)
{
	return X509_NAME_cmp(X509_get_subject_name(x),
		   X509_get_issuer_name(x)) == 0;
}

static int
imp_signed_by(X509 *child, X509 *issuer)
{
	EVP_PKEY *k = X509_get0_pubkey(issuer);

	return k != NULL && X509_verify(child, k) == 1;
}

/* Step 5. */
static pca_err
imp_root(struct imp_ctx *ctx, const uint8_t *chain, size_t chain_len)
{
	X509 *x = ctx->c[0].x;

	if (!imp_self_issued(x))
		return pca_err_set(PCA_EMISMATCH,
		    "a ROOT CA certificate must "
		    "be self-signed, but its issuer differs from its subject");
	if (!imp_signed_by(x, x))
		return pca_err_set(PCA_EMISMATCH,
		    "a ROOT CA certificate must "
		    "be self-signed, but its signature does not verify with "
		    "its own key");
	if (!imp_blank(chain, chain_len))
		return pca_err_set(PCA_EBADREQ,
		    "a ROOT CA certificate is "
		    "imported without a certificate chain");
	return PCA_OK;
}

/* The chain as concatenated PEM CERTIFICATE blocks (or one DER cert). */
static pca_err
imp_chain_split(struct imp_ctx *ctx, const uint8_t *p, size_t len)
{
	size_t i = 0, end;
	const uint8_t *q;
	struct imp_cert *c;
	pca_err e;

	for (;;) {
		while (i < len && isspace(p[i]))
			i++;
		if (i == len)
			return PCA_OK;
		if (ctx->n == LIM_CHAIN_CERTS)
			return pca_err_set(PCA_ETOOBIG,
			    "certificate chain "
			    "holds more than %d certificates",
			    LIM_CHAIN_CERTS);
		c = &ctx->c[1 + ctx->n++];
		(void)snprintf(c->what, sizeof(c->what),
		    "chain certificate "
		    "%zu",
		    ctx->n);
		if (len - i < strlen(CERT_BEGIN) ||
		    memcmp(p + i, CERT_BEGIN, strlen(CERT_BEGIN)) != 0)
			return pca_err_set(PCA_EBADCERT,
			    "certificate chain "
			    "has data other than PEM CERTIFICATE blocks at "
			    "byte %zu",
			    i);
		if ((q = memmem(p + i, len - i, CERT_END, strlen(CERT_END))) ==
		    NULL)
			return pca_err_set(PCA_EBADCERT,
			    "%s PEM has no '%s' "
			    "line",
			    c->what, CERT_END);
		end = (size_t)(q - p) + strlen(CERT_END);
		if ((e = prof_pem_one(p + i, end - i, CERT_LABEL, LIM_CERT,
			 PCA_EBADCERT, c->what, &c->der, &c->der_len)) !=
			PCA_OK ||
		    (e = imp_parse(c)) != PCA_OK)
			return e;
		i = end;
	}
}

static pca_err
imp_chain_load(struct imp_ctx *ctx, const uint8_t *p, size_t len)
{
	if (util_is_pem(p, len))
		return imp_chain_split(ctx, p, len);
	ctx->n = 1;
	(void)snprintf(ctx->c[1].what, sizeof(ctx->c[1].what),
	    "chain certificate 1");
	return imp_load(p, len, &ctx->c[1]);
}

/* No repeats; issuer-first by name; a self-signed root last. */
static pca_err
imp_chain_order(struct imp_ctx *ctx)
{
	struct imp_cert *c = ctx->c;
	size_t i, j;

	for (i = 1; i <= ctx->n; i++)
		for (j = 0; j < i; j++)
			if (c[i].der_len == c[j].der_len &&
			    memcmp(c[i].der, c[j].der, c[i].der_len) == 0)
				return pca_err_set(PCA_EMISMATCH,
				    "the "
				    "certificate chain must not contain %s "
				    "(%s repeats it)",
				    j == 0 ? "the CA certificate itself"
					   : c[j].what,
				    c[i].what);
	for (i = 1; i <= ctx->n; i++)
		if (X509_NAME_cmp(X509_get_issuer_name(c[i - 1].x),
			X509_get_subject_name(c[i].x)) != 0)
			return pca_err_set(PCA_EMISMATCH,
			    "%s is not the "
			    "issuer of %s (names differ); the chain must be "
			    "ordered issuer-first with the root last",
			    c[i].what, c[i - 1].what);
	if (!imp_self_issued(c[ctx->n].x) ||
	    !imp_signed_by(c[ctx->n].x, c[ctx->n].x))
		return pca_err_set(PCA_EMISMATCH,
		    "the last certificate of "
		    "the chain (%s) is not a self-signed root",
		    c[ctx->n].what);
	for (i = 1; i <= ctx->n; i++)
		if (!imp_signed_by(c[i - 1].x, c[i].x))
			return pca_err_set(PCA_EMISMATCH,
			    "the signature of %s "
			    "does not verify with the key of %s",
			    c[i - 1].what, c[i].what);
	return PCA_OK;
}

/* Issuer constraints (RFC 5280 6.1.4 (k)-(n)) and validity nesting. */
static pca_err
imp_chain_limits(struct imp_ctx *ctx)
{
	struct imp_cert *c = ctx->c;
	char t[4][21];
	size_t i, below = 0;
	int crit, ca = 0, pl = -1;

	for (i = 1; i <= ctx->n; i++) {
		if (imp_bc(c[i].x, &crit, &ca, &pl) != IMP_BC_OK || !ca)
			return pca_err_set(PCA_EMISMATCH,
			    "%s is not a CA "
			    "certificate (basicConstraints CA:TRUE)",
			    c[i].what);
		if (!(X509_get_key_usage(c[i].x) & KU_KEY_CERT_SIGN))
			return pca_err_set(PCA_EMISMATCH,
			    "%s keyUsage does "
			    "not allow keyCertSign",
			    c[i].what);
		below += !imp_self_issued(c[i - 1].x);
		if (pl >= 0 && below > (size_t)pl)
			return pca_err_set(PCA_EMISMATCH,
			    "%s has "
			    "pathLenConstraint %d, but %zu CA certificate(s) "
			    "follow it",
			    c[i].what, pl, below);
		if (c[i - 1].nb < c[i].nb || c[i - 1].na > c[i].na)
			return pca_err_set(PCA_EMISMATCH,
			    "the validity of %s "
			    "(%s to %s) is not within that of its issuer %s "
			    "(%s to %s)",
			    c[i - 1].what, util_iso8601(c[i - 1].nb, t[0]),
			    util_iso8601(c[i - 1].na, t[1]), c[i].what,
			    util_iso8601(c[i].nb, t[2]),
			    util_iso8601(c[i].na, t[3]));
	}
	return PCA_OK;
}

/* Step 6. */
static pca_err
imp_sub(struct imp_ctx *ctx, const uint8_t *chain, size_t chain_len)
{
	X509 *x = ctx->c[0].x;
	pca_err e;

	if (imp_self_issued(x) && imp_signed_by(x, x))
		return pca_err_set(PCA_EBADREQ, "a SUBORDINATE CA certificate "
						"must not be self-signed");
	if (imp_blank(chain, chain_len))
		return pca_err_set(PCA_EBADREQ, "a SUBORDINATE CA certificate "
						"needs its certificate chain");
	if ((e = imp_chain_load(ctx, chain, chain_len)) != PCA_OK ||
	    (e = imp_chain_order(ctx)) != PCA_OK)
		return e;
	return imp_chain_limits(ctx);
}

static pca_err
imp_fill(struct imp_ctx *ctx, struct prof_import *imp)
{
	struct buf b;
	size_t i;
	pca_err e;

	imp->cert_der = ctx->c[0].der;
	imp->cert_len = ctx->c[0].der_len;
	ctx->c[0].der = NULL;
	imp->not_before = ctx->c[0].nb;
	imp->not_after = ctx->c[0].na;
	if (ctx->n == 0)
		return PCA_OK;
	buf_init(&b, LIM_CHAIN);
	for (i = 1; i <= ctx->n; i++)
		if ((e = buf_add(&b, ctx->c[i].der, ctx->c[i].der_len)) !=
		    PCA_OK) {
			buf_free(&b);
			return e;
		}
	imp->chain_der = buf_steal(&b, &imp->chain_len);
	imp->chain_count = ctx->n;
	return PCA_OK;
}

static pca_err
imp_steps(struct imp_ctx *ctx, const uint8_t *cert, size_t cert_len,
    struct prof_import *imp)
{
	pca_err e;

	(void)snprintf(ctx->c[0].what, sizeof(ctx->c[0].what),
	    "CA certificate");
	if ((e = imp_load(cert, cert_len, &ctx->c[0])) != PCA_OK ||
	    (e = imp_serial(ctx->c[0].x, imp)) != PCA_OK ||
	    (e = imp_check_key(ctx->c[0].x, ctx->spki, ctx->spki_len)) !=
		PCA_OK ||
	    (e = imp_check_bc(ctx->c[0].x, &imp->pathlen)) != PCA_OK ||
	    (e = imp_check_crit(ctx->c[0].x)) != PCA_OK)
		return e;
	if (ctx->type == PROF_CA_ROOT)
		e = imp_root(ctx, ctx->chain, ctx->chain_len);
	else if (ctx->type == PROF_CA_SUBORDINATE)
		e = imp_sub(ctx, ctx->chain, ctx->chain_len);
	else
		e = pca_err_set(PCA_EBADREQ, "unknown CA type %d",
		    (int)ctx->type);
	return e != PCA_OK ? e : imp_fill(ctx, imp);
}

pca_err
prof_import_check(enum prof_ca_type type, const uint8_t *spki, size_t spki_len,
    const uint8_t *cert, size_t cert_len, const uint8_t *chain,
    size_t chain_len, struct prof_import **out)
{
	struct imp_ctx *ctx = NULL;
	struct prof_import *imp = NULL;
	pca_err e;

	assert(out != NULL);
	if (cert_len > LIM_CERT)
		return pca_err_set(PCA_ETOOBIG,
		    "CA certificate is %zu bytes; "
		    "at most %d are accepted",
		    cert_len, LIM_CERT);
	if (chain_len > LIM_CHAIN)
		return pca_err_set(PCA_ETOOBIG,
		    "certificate chain is %zu "
		    "bytes; at most %d are accepted",
		    chain_len, LIM_CHAIN);
	ERR_set_mark();
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL ||
	    (imp = calloc(1, sizeof(*imp))) == NULL) {
		e = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	imp->pathlen = -1;
	ctx->type = type;
	ctx->spki = spki;
	ctx->spki_len = spki_len;
	ctx->chain = chain;
	ctx->chain_len = chain_len;
	if ((e = imp_steps(ctx, cert, cert_len, imp)) != PCA_OK)
		goto out;
	*out = imp;
	imp = NULL;
out:
	if (e != PCA_OK)
		pca_err_add_openssl();
	else
		(void)ERR_pop_to_mark(); /* decode noise, judged */
	if (ctx != NULL)
		imp_ctx_free(ctx);
	free(ctx);
	prof_import_free(imp);
	return e;
}

void
prof_import_free(struct prof_import *imp)
{
	if (imp == NULL)
		return;
	free(imp->cert_der);
	free(imp->chain_der);
	free(imp);
}
