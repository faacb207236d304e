/*
 * signcheck.c - the separated signer's own judgement of what it signs
 * (hsm_signer_serve's check callback in pcad's signer process).  The front
 * is not trusted: before a key is used the signer finds the CA that owns
 * the key label in the store (read only) and looks at the bytes itself.
 *
 *   pca-<uuid>       the CA's key: its TBSCertificates (strict DER and the
 *                    lint gate; issuer name and AKI equal to the CA
 *                    certificate's, validity inside it, CA ACTIVE,
 *                    basicConstraints cA=TRUE only for a CA-template
 *                    issuance; without a CA certificate only a ROOT in
 *                    PENDING_CERTIFICATE signing its own), its CSR (the
 *                    key's own public key), its CRLs (lint gate, issuer),
 *                    OCSP responses (lint gate), audit manifests (JSON).
 *   ocsp-<uuid>-<n>  a delegated OCSP key of an existing CA: OCSP
 *                    responses and its own CSR.
 *
 * Anything else is refused with PCA_EPOLICY "signer: ...".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../common/x509.h"
#include "../hsm/hsm.h"
#include "../store/store.h"
#include "../x509/x509.h"
#include "engine_int.h"

enum kind { K_CERT = 1, K_CSR, K_CRL, K_OCSP, K_MANIFEST };

static int
is_uuid(const char *s, size_t n)
{
	size_t i;

	if (n != 36)
		return 0;
	for (i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23
			? s[i] != '-'
			: !((s[i] >= '0' && s[i] <= '9') ||
			      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* The CA uuid a label belongs to; *ocsp for a delegated OCSP key. */
static pca_err
label_owner(const char *label, char uuid[37], int *ocsp)
{
	size_t n = strlen(label);

	if (n == 40 && strncmp(label, "pca-", 4) == 0 &&
	    is_uuid(label + 4, 36)) {
		memcpy(uuid, label + 4, 36);
		*ocsp = 0;
	} else if (n > 42 && strncmp(label, "ocsp-", 5) == 0 &&
		   is_uuid(label + 5, 36) && label[41] == '-' &&
		   strspn(label + 42, "0123456789abcdef") == n - 42) {
		memcpy(uuid, label + 5, 36);
		*ocsp = 1;
	} else
		return pca_err_set(PCA_EPOLICY,
		    "signer: no CA owns the key "
		    "label %s",
		    label);
	uuid[36] = '\0';
	return PCA_OK;
}

static int
bytes_eq(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

/*
 * Contexts built from the record bytes read last (the signer's engine has
 * no cache of its own: its store is read only, so no lazy transitions).
 * A record that changed is built again; refs under e->lock as the engine's.
 */
#define SC_CACHE 32
static pthread_mutex_t sc_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ca_ctx *sc_cache[SC_CACHE];
static size_t sc_next;

static struct ca_ctx *
cache_find(struct ca_engine *e, const char *uuid, const char *raw, size_t len)
{
	struct ca_ctx *c = NULL;
	size_t i;

	pthread_mutex_lock(&sc_mu);
	for (i = 0; i < SC_CACHE && c == NULL; i++)
		if (sc_cache[i] != NULL &&
		    strcmp(sc_cache[i]->uuid, uuid) == 0 &&
		    bytes_eq((const uint8_t *)sc_cache[i]->raw,
			sc_cache[i]->raw_len, (const uint8_t *)raw, len))
			c = sc_cache[i];
	if (c != NULL) {
		pthread_mutex_lock(&e->lock);
		c->refs++;
		pthread_mutex_unlock(&e->lock);
	}
	pthread_mutex_unlock(&sc_mu);
	return c;
}

static void
cache_add(struct ca_engine *e, struct ca_ctx *c)
{
	struct ca_ctx *old;
	size_t i;

	pthread_mutex_lock(&sc_mu);
	for (i = 0; i < SC_CACHE; i++)
		if (sc_cache[i] != NULL &&
		    strcmp(sc_cache[i]->uuid, c->uuid) == 0)
			break;
	if (i == SC_CACHE)
		i = sc_next++ % SC_CACHE;
	old = sc_cache[i];
	pthread_mutex_lock(&e->lock);
	c->refs++;
	pthread_mutex_unlock(&e->lock);
	sc_cache[i] = c;
	pthread_mutex_unlock(&sc_mu);
	ca_ctx_put(e, old);
}

static pca_err
ctx_load(struct ca_engine *e, const char *uuid, struct ca_ctx **out)
{
	char *raw = NULL;
	size_t len;
	pca_err err;

	err = store_ca_get(e->store, uuid, &raw, &len);
	if (err == PCA_ENOTFOUND)
		return pca_err_set(PCA_EPOLICY, "signer: CA %s does not exist",
		    uuid);
	if (err != PCA_OK)
		return err;
	if ((*out = cache_find(e, uuid, raw, len)) == NULL &&
	    (err = ca_ctx_build(e, uuid, raw, len, out)) == PCA_OK)
		cache_add(e, *out);
	free(raw);
	return err;
}

/* The TBS wrapped as a signed object, for OpenSSL's parsers. */
static void *
parse_wrapped(const uint8_t *tbs, size_t len, enum pca_sigalg alg, enum kind k)
{
	static const uint8_t fake[8] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02,
	    0x01, 0x01};
	uint8_t *der = NULL;
	const uint8_t *p;
	size_t dl;
	void *o = NULL;

	if (x509_cert_assemble(tbs, len, alg, fake, sizeof(fake), &der, &dl) !=
	    PCA_OK)
		return NULL;
	p = der;
	if (k == K_CERT)
		o = util_x509_parse_nokey(der, dl);
	else if (k == K_CSR)
		o = d2i_X509_REQ(NULL, &p, (long)dl);
	else if (k == K_CRL)
		o = d2i_X509_CRL(NULL, &p, (long)dl);
	if (o != NULL && k != K_CERT && p != der + dl) {
		if (k == K_CSR)
			X509_REQ_free(o);
		else
			X509_CRL_free(o);
		o = NULL;
	}
	free(der);
	ERR_clear_error();
	return o;
}

/* The first DER elements tell the kinds apart. */
static enum kind
kind_of(const uint8_t *t, size_t len)
{
	struct x509_der el;
	size_t hl;

	if (len > 0 && t[0] == '{')
		return K_MANIFEST;
	if (len < 4 ||
	    x509_der_head(t, len, X509_DER_BER_LEN, &el) != X509_DER_OK ||
	    el.id != 0x30)
		return 0;
	hl = el.hdr;
	if (hl + 2 > len)
		return 0;
	t += hl;
	if (t[0] == 0xa0 && t[1] == 0x03 && hl + 5 <= len && t[2] == 0x02 &&
	    t[4] != 0x00)
		return K_CERT; /* [0] EXPLICIT version v2/v3 */
	if (t[0] == 0xa1 || t[0] == 0xa2 || t[0] == 0xa0)
		return K_OCSP; /* responderID (after an optional version) */
	if (t[0] == 0x02 && t[1] == 0x01 && hl + 3 <= len)
		return t[2] == 0x00 ? K_CSR : K_CRL;
	return 0;
}

static pca_err
refuse(const struct ca_ctx *c, const char *why)
{
	log_warnx("signer: refused for CA %s: %s", c->uuid, why);
	return pca_err_set(PCA_EPOLICY, "signer: refused for CA %s: %s",
	    c->uuid, why);
}

static int
name_eq(const X509_NAME *n, const uint8_t *der, size_t len)
{
	uint8_t *p = NULL;
	int l, eq;

	if ((l = i2d_X509_NAME(n, &p)) <= 0)
		return 0;
	eq = bytes_eq(p, (size_t)l, der, len);
	OPENSSL_free(p);
	return eq;
}

static int64_t
time_of(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return INT64_MIN;
	return util_timegm(&tm);
}

/* basicConstraints cA=TRUE in x. */
static int
is_ca(X509 *x)
{
	BASIC_CONSTRAINTS *bc;
	int crit = 0, ca;

	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	ca = bc != NULL && bc->ca;
	BASIC_CONSTRAINTS_free(bc);
	return ca;
}

/* The AKI keyIdentifier of x is ski. */
static int
aki_is(X509 *x, const uint8_t ski[20])
{
	AUTHORITY_KEYID *a;
	int crit = 0, eq;

	a = X509_get_ext_d2i(x, NID_authority_key_identifier, &crit, NULL);
	eq = a != NULL && a->keyid != NULL &&
	     bytes_eq(a->keyid->data, (size_t)a->keyid->length, ski, 20);
	AUTHORITY_KEYID_free(a);
	return eq;
}

/* x carries the CA's own public key. */
static int
own_key(const struct ca_ctx *c, X509 *x)
{
	uint8_t *p = NULL;
	int l, ok;

	if ((l = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &p)) <= 0)
		return 0;
	ok = bytes_eq(p, (size_t)l, c->spki, c->spki_len);
	OPENSSL_free(p);
	return ok;
}

/* A root signing its own certificate (PENDING_CERTIFICATE or renewal). */
static pca_err
cert_self(const struct ca_ctx *c, X509 *x)
{
	if (c->type != PROF_CA_ROOT)
		return refuse(c, "the CA has no certificate to issue under");
	if (strcmp(c->status, "PENDING_CERTIFICATE") != 0 &&
	    strcmp(c->status, "ACTIVE") != 0)
		return refuse(c, "the root is neither PENDING_CERTIFICATE nor "
				 "ACTIVE");
	if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(x)) !=
	    0)
		return refuse(c, "a root's own certificate must be "
				 "self-issued");
	return own_key(c, x) ? PCA_OK
			     : refuse(c, "a root's own certificate "
					 "must carry its key");
}

static pca_err
check_cert(const struct ca_ctx *c, unsigned flags, enum pca_sigalg alg,
    const uint8_t *tbs, size_t len)
{
	struct x509_lint_req lr = {tbs, len, alg, 0};
	X509 *x;
	pca_err err = PCA_OK;
	int self;

	if ((x = parse_wrapped(tbs, len, alg, K_CERT)) == NULL)
		return refuse(c, "not a TBSCertificate");
	/* a root's own certificate: at creation or a renewal, its own key */
	self = c->type == PROF_CA_ROOT &&
	       X509_NAME_cmp(X509_get_issuer_name(x),
		   X509_get_subject_name(x)) == 0 &&
	       own_key(c, x);
	lr.self_issued = self;
	if (x509_lint_cert(&lr) != PCA_OK)
		err = refuse(c, pca_err_msg());
	else if (c->cert_der == NULL || self)
		err = cert_self(c, x);
	else if (strcmp(c->status, "ACTIVE") != 0)
		err = refuse(c, "the CA is not ACTIVE");
	else if (!name_eq(X509_get_issuer_name(x), c->subject_der,
		     c->subject_len))
		err = refuse(c, "issuer differs from the CA's subject");
	else if (c->has_ski && !aki_is(x, c->ski))
		err = refuse(c, "authorityKeyIdentifier differs from the CA's "
				"key id");
	else if (time_of(X509_get0_notBefore(x)) < c->not_before ||
		 time_of(X509_get0_notAfter(x)) > c->not_after)
		err = refuse(c, "validity outside the CA certificate's");
	else if (is_ca(x) && !(flags & HSM_SIGN_CA_CERT))
		err = refuse(c, "basicConstraints cA=TRUE without a CA "
				"template");
	X509_free(x);
	return err;
}

static pca_err
check_csr(struct hsm *h, const struct ca_ctx *c, const char *label,
    enum pca_sigalg alg, const uint8_t *tbs, size_t len)
{
	X509_REQ *r;
	uint8_t *spki = NULL, *p = NULL;
	size_t sl;
	int l, ok = 0;

	if ((r = parse_wrapped(tbs, len, alg, K_CSR)) == NULL)
		return refuse(c, "not a CertificationRequestInfo");
	if (h != NULL && hsm_key_spki(h, label, &spki, &sl) == PCA_OK &&
	    (l = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(r), &p)) > 0)
		ok = bytes_eq(p, (size_t)l, spki, sl);
	OPENSSL_free(p);
	free(spki);
	X509_REQ_free(r);
	return ok ? PCA_OK
		  : refuse(c, "a CSR must carry the key's own public "
			      "key");
}

static pca_err
check_crl(const struct ca_ctx *c, enum pca_sigalg alg, const uint8_t *tbs,
    size_t len)
{
	X509_CRL *crl;
	pca_err err = PCA_OK;

	if (c->cert_der == NULL)
		return refuse(c, "a CRL needs the CA certificate");
	if (x509_lint_crl(tbs, len, alg) != PCA_OK)
		return refuse(c, pca_err_msg());
	if ((crl = parse_wrapped(tbs, len, alg, K_CRL)) == NULL)
		return refuse(c, "not a TBSCertList");
	if (!name_eq(X509_CRL_get_issuer(crl), c->subject_der, c->subject_len))
		err = refuse(c, "CRL issuer differs from the CA's subject");
	X509_CRL_free(crl);
	return err;
}

static pca_err
check_sign(struct ca_engine *e, struct hsm *h, const char *label,
    unsigned flags, enum pca_sigalg alg, const uint8_t *tbs, size_t len)
{
	struct ca_ctx *c = NULL;
	char uuid[37];
	enum kind k;
	json_t *j;
	int ocsp;
	pca_err err;

	if ((err = label_owner(label, uuid, &ocsp)) != PCA_OK)
		return err;
	k = kind_of(tbs, len);
	/* a CSR proves possession of the key: the CA may not exist yet */
	if (k == K_CSR && !ocsp) {
		struct ca_ctx tmp;

		memset(&tmp, 0, sizeof(tmp));
		memcpy(tmp.uuid, uuid, 37);
		return check_csr(h, &tmp, label, alg, tbs, len);
	}
	if ((err = ctx_load(e, uuid, &c)) != PCA_OK)
		return err;
	if (!ocsp && strcmp(c->label, label) != 0)
		err = refuse(c, "the key label is not the CA's");
	else if (strcmp(c->status, "DELETED") == 0 ||
		 strcmp(c->status, "FAILED") == 0)
		err = refuse(c, "the CA is deleted or failed");
	else if (k == K_CSR)
		err = check_csr(h, c, label, alg, tbs, len);
	else if (k == K_OCSP)
		err = x509_lint_ocsp(tbs, len, alg) == PCA_OK
			  ? PCA_OK
			  : refuse(c, pca_err_msg());
	else if (ocsp)
		err = refuse(c, "a delegated OCSP key signs OCSP responses "
				"only");
	else if (k == K_CERT)
		err = check_cert(c, flags, alg, tbs, len);
	else if (k == K_CRL)
		err = check_crl(c, alg, tbs, len);
	else if (k == K_MANIFEST && c->cert_der != NULL &&
		 (j = json_loadb((const char *)tbs, len, 0, NULL)) != NULL)
		json_decref(j);
	else
		err = refuse(c, "not a certificate, CSR, CRL, OCSP response or "
				"manifest of this CA");
	ca_ctx_put(e, c);
	return err;
}

static pca_err
check_destroy(struct ca_engine *e, const char *label)
{
	struct ca_ctx *c = NULL;
	char uuid[37];
	int ocsp;
	pca_err err;

	if ((err = label_owner(label, uuid, &ocsp)) != PCA_OK)
		return err;
	if (ocsp)
		return PCA_OK;
	if ((err = ctx_load(e, uuid, &c)) != PCA_OK)
		return err == PCA_EPOLICY ? PCA_OK : err; /* no record */
	if (strcmp(c->status, "ACTIVE") == 0 ||
	    strcmp(c->status, "DISABLED") == 0)
		err = refuse(c, "the key of an ACTIVE or DISABLED CA stays");
	ca_ctx_put(e, c);
	return err;
}

pca_err
ca_sign_check(struct ca_engine *e, struct hsm *h, enum hsm_signer_op op,
    const char *label, unsigned flags, enum pca_sigalg alg, const uint8_t *tbs,
    size_t len)
{
	char uuid[37];
	int ocsp;

	switch (op) {
	case HSM_OP_SIGN:
		return check_sign(e, h, label, flags, alg, tbs, len);
	case HSM_OP_KEYGEN:
		return label_owner(label, uuid, &ocsp);
	case HSM_OP_DESTROY:
		return check_destroy(e, label);
	}
	return pca_err_set(PCA_EPOLICY, "signer: unknown operation");
}
