/*
 * signer.c - who signs a CA's responses.  Delegated (the default): a key
 * generated in the token for this purpose and a certificate the CA issues
 * for it with the OCSPSigningCertificate_APIPassthrough/V1 template
 * (critical KU digitalSignature, critical EKU OCSPSigning) plus
 * id-pkix-ocsp-nocheck (extnValue 0500) as a custom extension, rolled over
 * when less than min_left seconds remain.  Or the CA key itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "../ca/ca.h"
#include "../profile/profile.h"
#include "../x509/x509.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../hsm/hsm.h"
#include "../store/store.h"
#include "ocsp_int.h"

#define NOCHECK_OID "1.3.6.1.5.5.7.48.1.5"
#define NOCHECK_B64 "BQA=" /* 05 00: NULL (BR 7.1.2.8.2) */
#define SIGNER_JSON_MAX (64 * 1024)

void
ocsp_signer_free(struct ocsp_signer *s)
{
	if (s == NULL)
		return;
	free(s->spki);
	free(s->cert);
	free(s);
}

static pca_err
dup_mem(const uint8_t *p, size_t n, uint8_t **out)
{
	*out = NULL;
	if (p == NULL)
		return PCA_OK;
	if ((*out = malloc(n ? n : 1)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	memcpy(*out, p, n);
	return PCA_OK;
}

pca_err
ocsp_signer_dup(const struct ocsp_signer *s, struct ocsp_signer **out)
{
	struct ocsp_signer *d = malloc(sizeof(*d));

	if (d == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	*d = *s;
	d->spki = d->cert = NULL;
	if (dup_mem(s->spki, s->spki_len, &d->spki) != PCA_OK ||
	    dup_mem(s->cert, s->cert_len, &d->cert) != PCA_OK) {
		ocsp_signer_free(d);
		return PCA_ENOMEM;
	}
	*out = d;
	return PCA_OK;
}

/* notAfter and the DER SPKI of a certificate. */
pca_err
ocsp_cert_facts(const uint8_t *der, size_t len, int64_t *not_after,
    uint8_t **spki, size_t *spki_len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	struct tm tm;
	unsigned char *s = NULL;
	int n;

	if (x == NULL || p != der + len ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1 ||
	    (spki != NULL &&
		(n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &s)) <= 0)) {
		X509_free(x);
		return pca_err_set(PCA_EBADCERT, "OCSP: a certificate does "
						 "not parse");
	}
	*not_after = util_timegm(&tm);
	if (spki != NULL) {
		*spki = s;
		*spki_len = (size_t)n;
	}
	X509_free(x);
	return PCA_OK;
}

pca_err
ocsp_signer_ca(const struct ca_info *ci, int64_t ca_not_after,
    struct ocsp_signer **out)
{
	struct ocsp_signer *s = calloc(1, sizeof(*s));
	pca_err err;

	if (s == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	(void)snprintf(s->label, sizeof(s->label), "%s", ci->key_label);
	s->sigalg = (enum pca_sigalg)ci->sigalg;
	s->spki_len = ci->spki_len;
	s->not_after = ca_not_after;
	if ((err = dup_mem(ci->spki, ci->spki_len, &s->spki)) != PCA_OK ||
	    (err = x509_spki_keyid(s->spki, s->spki_len, s->key_id)) !=
		PCA_OK) {
		ocsp_signer_free(s);
		return err;
	}
	*out = s;
	return PCA_OK;
}

/* notBefore of a certificate (0 when it does not parse). */
static int64_t
cert_not_before(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	struct tm tm;
	int64_t t = 0;

	if (x != NULL && ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1)
		t = util_timegm(&tm);
	X509_free(x);
	return t;
}

/* A signer from its label, algorithm and certificate. */
static pca_err
signer_from(const char *label, enum pca_sigalg alg, const uint8_t *cert,
    size_t cert_len, struct ocsp_signer **out)
{
	struct ocsp_signer *s = calloc(1, sizeof(*s));
	pca_err err;

	if (s == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	(void)snprintf(s->label, sizeof(s->label), "%s", label);
	s->sigalg = alg;
	s->cert_len = cert_len;
	if ((err = dup_mem(cert, cert_len, &s->cert)) != PCA_OK ||
	    (err = ocsp_cert_facts(cert, cert_len, &s->not_after, &s->spki,
		 &s->spki_len)) != PCA_OK ||
	    (err = x509_spki_keyid(s->spki, s->spki_len, s->key_id)) !=
		PCA_OK) {
		ocsp_signer_free(s);
		return err;
	}
	s->not_before = cert_not_before(cert, cert_len);
	*out = s;
	return PCA_OK;
}

pca_err
ocsp_signer_load(struct store *st, const char *uuid, struct ocsp_signer **out)
{
	uint8_t *v = NULL, *cert = NULL;
	size_t n, cl;
	json_t *o = NULL;
	const char *label, *b64;
	pca_err err;

	if ((err = store_kv_get(st, OCSP_KV_SIGNER, uuid, &v, &n)) != PCA_OK)
		return err;
	o = json_loadb((const char *)v, n, 0, NULL);
	label = json_string_value(json_object_get(o, "label"));
	b64 = json_string_value(json_object_get(o, "cert"));
	if (label == NULL || b64 == NULL ||
	    util_b64_decode(b64, strlen(b64), LIM_CERT, &cert, &cl) != PCA_OK)
		err = pca_err_set(PCA_EDB,
		    "OCSP signer record of %s is "
		    "damaged",
		    uuid);
	else
		err = signer_from(label,
		    (enum pca_sigalg)json_integer_value(
			json_object_get(o, "sigalg")),
		    cert, cl, out);
	free(v);
	free(cert);
	json_decref(o);
	return err;
}

static pca_err
signer_store(struct store *st, const char *uuid, const struct ocsp_signer *s)
{
	char *b64 = NULL, *txt = NULL;
	json_t *o = NULL;
	pca_err err;

	if ((err = util_b64_encode(s->cert, s->cert_len, &b64)) != PCA_OK)
		return err;
	o = json_pack("{s:s,s:s,s:i}", "label", s->label, "cert", b64, "sigalg",
	    (int)s->sigalg);
	if (o == NULL || (txt = json_dumps(o, JSON_COMPACT)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	else
		err = store_kv_put_chg(st,
		    &(struct store_kv_in){OCSP_KV_SIGNER, uuid, txt,
			strlen(txt)},
		    0, STORE_CHG_KEY, uuid);
	free(b64);
	free(txt);
	json_decref(o);
	return err;
}

/* The partition, region and account of a CA ARN. */
static pca_err
arn_parts(const char *arn, char part[32], char region[32], char acct[16])
{
	char f[4][32];
	const char *p = arn, *c;
	size_t i, n;

	for (i = 0; i < 4; i++) { /* arn : partition : service : region */
		if ((c = strchr(p, ':')) == NULL ||
		    (n = (size_t)(c - p)) >= sizeof(f[0]))
			return pca_err_set(PCA_EBADARN, "bad CA ARN");
		memcpy(f[i], p, n);
		f[i][n] = '\0';
		p = c + 1;
	}
	if ((c = strchr(p, ':')) == NULL || (n = (size_t)(c - p)) != 12)
		return pca_err_set(PCA_EBADARN, "bad CA ARN");
	(void)snprintf(part, 32, "%s", f[1]);
	(void)snprintf(region, 32, "%s", f[3]);
	memcpy(acct, p, 12);
	acct[12] = '\0';
	return PCA_OK;
}

/* A CSR (DER) for a fresh token key labelled label. */
static pca_err
signer_csr(const struct ocsp_signer_ctx *x, const struct ca_info *ci,
    const char *label, uint8_t **csr, size_t *csr_len)
{
	uint8_t id[16], *spki = NULL, *cri = NULL, sig[LIM_SIG];
	size_t spki_len, cri_len, sig_len;
	char cn[64];
	json_t *subj = NULL;
	struct hsm_key key;
	pca_err err;

	if (RAND_bytes(id, sizeof(id)) != 1)
		return pca_err_set(PCA_EINTERNAL, "no random bytes");
	if ((err = hsm_key_generate(x->hsm, label, id, sizeof(id),
		 x509_spki_keyalg(ci->spki, ci->spki_len), &spki, &spki_len)) !=
	    PCA_OK)
		return err;
	(void)snprintf(cn, sizeof(cn), "OCSP Responder %.8s", ci->uuid);
	if ((subj = json_pack("{s:s}", "CommonName", cn)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	key.label = label;
	key.spki = spki;
	key.spki_len = spki_len;
	if ((err = prof_csr_info_build(subj, NULL, spki, spki_len, &cri,
		 &cri_len)) != PCA_OK ||
	    (err = hsm_sign(x->hsm, &key, (enum pca_sigalg)ci->sigalg, cri,
		 cri_len, sig, &sig_len)) != PCA_OK)
		goto out;
	err = x509_cert_assemble(cri, cri_len, (enum pca_sigalg)ci->sigalg, sig,
	    sig_len, csr, csr_len);
out:
	json_decref(subj);
	free(spki);
	free(cri);
	return err;
}

/* Issues the responder certificate for the CSR; *der: caller frees. */
static pca_err
signer_issue(const struct ocsp_signer_ctx *x, const struct ca_info *ci,
    const uint8_t *csr, size_t csr_len, int64_t days, uint8_t **der,
    size_t *der_len)
{
	char part[32], region[32], acct[16], tmpl[128];
	char *arn = NULL, *pem = NULL, *chain = NULL;
	struct ca_caller who;
	struct ca_issue_req r;
	json_t *pt;
	pca_err err;

	if ((err = arn_parts(ci->arn, part, region, acct)) != PCA_OK)
		return err;
	(void)snprintf(tmpl, sizeof(tmpl),
	    "arn:%s:acm-pca:::template/OCSPSigningCertificate_APIPassthrough/"
	    "V1",
	    part);
	pt = json_pack("{s:{s:[{s:s,s:s,s:b}]}}", "Extensions",
	    "CustomExtensions", "ObjectIdentifier", NOCHECK_OID, "Value",
	    NOCHECK_B64, "Critical", 0);
	if (pt == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	who.account = acct;
	who.region = region;
	who.who = "ocsp-responder";
	memset(&r, 0, sizeof(r));
	r.ca_arn = ci->arn;
	r.csr = csr;
	r.csr_len = csr_len;
	r.signing_algorithm = pca_sigalg_name((enum pca_sigalg)ci->sigalg);
	r.template_arn = tmpl;
	r.validity_type = "DAYS";
	r.validity_value = days;
	r.api_passthrough = pt;
	if ((err = ca_issue(x->engine, &who, &r, &arn)) == PCA_OK &&
	    (err = ca_cert_get(x->engine, &who, ci->arn, arn, &pem, &chain)) ==
		PCA_OK)
		err = util_pem_decode(pem, strlen(pem), "CERTIFICATE", LIM_CERT,
		    der, der_len);
	json_decref(pt);
	free(arn);
	free(pem);
	free(chain);
	return err;
}

static pca_err
signer_new(const struct ocsp_signer_ctx *x, const struct ca_info *ci,
    int64_t days, struct ocsp_signer **out)
{
	char label[LIM_LABEL];
	uint8_t *csr = NULL, *cert = NULL;
	size_t csr_len, cert_len;
	pca_err err;

	(void)snprintf(label, sizeof(label), "ocsp-%s-%llx", ci->uuid,
	    (unsigned long long)util_now());
	if ((err = signer_csr(x, ci, label, &csr, &csr_len)) != PCA_OK)
		return err;
	if ((err = signer_issue(x, ci, csr, csr_len, days, &cert, &cert_len)) ==
		PCA_OK &&
	    (err = signer_from(label, (enum pca_sigalg)ci->sigalg, cert,
		 cert_len, out)) == PCA_OK &&
	    (err = signer_store(x->store, ci->uuid, *out)) != PCA_OK) {
		ocsp_signer_free(*out);
		*out = NULL;
	}
	if (err != PCA_OK && hsm_key_destroy(x->hsm, label) != PCA_OK)
		pca_err_clear(); /* the issue error is the one to report */
	free(csr);
	free(cert);
	return err;
}

pca_err
ocsp_signer_delegated(const struct ocsp_signer_ctx *x, const struct ca_info *ci,
    int64_t ca_not_after, struct ocsp_signer **out)
{
	struct ocsp_signer *old = NULL, *s = NULL;
	int64_t now = util_now(), days;
	pca_err err;

	err = ocsp_signer_load(x->store, ci->uuid, &old);
	if (err != PCA_OK && err != PCA_ENOTFOUND)
		return err;
	pca_err_clear();
	/* one issued before the clock stepped back is not valid yet */
	if (old != NULL && old->not_after - now > x->min_left &&
	    !ocsp_signer_future(old, now)) {
		*out = old;
		return PCA_OK;
	}
	days = (ca_not_after - now) / 86400 - 1;
	if (days > (int64_t)x->days)
		days = x->days;
	if (days * 86400 <= x->min_left) {
		ocsp_signer_free(old);
		return pca_err_set(PCA_ESTATE,
		    "CA %s expires too soon for a "
		    "delegated OCSP signer",
		    ci->uuid);
	}
	if ((err = signer_new(x, ci, days, &s)) != PCA_OK) {
		if (old != NULL && old->not_after > now) {
			log_warnx("OCSP: rollover of the signer of %s failed "
				  "(%s); keeping the current one",
			    ci->uuid, pca_err_msg());
			*out = old;
			return PCA_OK;
		}
		ocsp_signer_free(old);
		return err;
	}
	log_info("OCSP: new delegated signer %s for CA %s (until %lld)",
	    s->label, ci->uuid, (long long)s->not_after);
	if (old != NULL && hsm_key_destroy(x->hsm, old->label) != PCA_OK) {
		log_warnx("OCSP: could not destroy old signer key %s: %s",
		    old->label, pca_err_msg());
		pca_err_clear();
	}
	ocsp_signer_free(old);
	*out = s;
	return PCA_OK;
}

int
ocsp_signer_future(const struct ocsp_signer *s, int64_t now)
{
	return s != NULL && s->cert != NULL &&
	       s->not_before > now + OCSP_SKEW_S;
}
