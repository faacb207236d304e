/*
 * issue.c - IssueCertificate, GetCertificate, GetCertificateAuthority-
 * Certificate, RevokeCertificate and the deep store check.
 *
 * Issuance order (crash safety): reserve (serial + TBS, durable) -> sign in
 * the token -> complete (DER, durable) -> return.  When the token fails,
 * nothing was signed and the reservation is taken back.  The named crash
 * points of crashpoint.c sit between these steps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../hsm/hsm.h"
#include "../store/store.h"
#include "engine_int.h"

#define DEFAULT_TEMPLATE "arn:aws:acm-pca:::template/EndEntityCertificate/V1"
#define SHORT_LIVED_MAX (7 * 86400)

struct issue {
	struct ca_engine *e;
	const struct ca_caller *who;
	struct ca_ctx *ctx;
	const struct prof_template *tmpl;
	struct prof_csr *csr;
	enum pca_sigalg sigalg;
	int self; /* root issuing its own certificate */
	int64_t nb, na;
	uint8_t *self_name; /* issuer name of a self-issued cert */
	size_t self_name_len;
	uint8_t serial[16];
	uint8_t *tbs;
	size_t tbs_len;
	uint8_t *der;
	size_t der_len;
	uint8_t *nc; /* nameConstraints of the CA's policy */
	size_t nc_len;
	int nc_asked;
	struct ca_idem *idem; /* IdempotencyToken, or NULL */
	char *replay;         /* the token's earlier certificate */
};

static void
issue_clear(struct ca_engine *e, struct issue *is)
{
	ca_ctx_put(e, is->ctx);
	prof_csr_free(is->csr);
	free(is->self_name);
	free(is->tbs);
	free(is->der);
	free(is->nc);
	free(is->replay);
}

static pca_err
issue_state(struct issue *is)
{
	const struct ca_ctx *c = is->ctx;
	const char *succ =
	    json_string_value(json_object_get(c->rec, "_SuccessorArn"));

	/* a rotated CA only renews its own OCSP responder (rotate.c) */
	if (succ != NULL && strcmp(c->status, "ACTIVE") == 0 &&
	    !(is->tmpl != NULL && is->tmpl->family == PROF_TF_OCSP_SIGNING &&
		is->who->who != NULL &&
		strcmp(is->who->who, "ocsp-responder") == 0))
		return pca_err_set(PCA_ESTATE,
		    "The certificate authority %s has been rotated and no "
		    "longer issues certificates; issue from its successor %s",
		    c->arn, succ);
	if (strcmp(c->status, "ACTIVE") == 0)
		return PCA_OK;
	if (strcmp(c->status, "PENDING_CERTIFICATE") == 0 &&
	    c->type == PROF_CA_ROOT && is->tmpl != NULL &&
	    prof_template_is_root(is->tmpl)) {
		is->self = 1;
		return PCA_OK;
	}
	return pca_err_set(PCA_ESTATE,
	    "The certificate authority is not in a valid state for issuing "
	    "certificates (%s is %s)",
	    c->arn, c->status);
}

static pca_err
issue_csr(struct issue *is, const struct ca_issue_req *r)
{
	const struct ca_ctx *c = is->ctx;
	pca_err err;

	if ((err = prof_csr_parse(r->csr, r->csr_len, &is->csr)) != PCA_OK) {
		char msg[512];
		if (err != PCA_ETOOBIG)
			return err;
		/* an oversize CSR is a MalformedCSR on the wire */
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		return pca_err_set(PCA_EBADCSR, "%s", msg);
	}
	if (prof_csr_subject_empty(is->csr) && !prof_csr_has_san(is->csr))
		return pca_err_set(PCA_EBADCSR,
		    "the CSR has neither a subject nor a subjectAltName");
	if ((err = prof_csr_names_check(is->csr)) != PCA_OK)
		return err;
	if (prof_template_is_root(is->tmpl) &&
	    (c->type != PROF_CA_ROOT || is->csr->spki_len != c->spki_len ||
		memcmp(is->csr->spki, c->spki, c->spki_len) != 0))
		return pca_err_set(PCA_EINVAL,
		    "template %s needs a ROOT CA and a CSR for the CA's own "
		    "key",
		    is->tmpl->name);
	return PCA_OK;
}

/*
 * No certificate starts before its issuer's certificate: an explicit
 * ValidityNotBefore earlier than the CA's notBefore is refused; the
 * default backdate (now - 60 min) is clamped to it (README, "Validity").
 */
static pca_err
issue_not_before(struct issue *is, const struct ca_issue_req *r)
{
	const struct ca_ctx *c = is->ctx;

	if (is->self || c->cert_der == NULL || is->nb >= c->not_before)
		return PCA_OK;
	if (r->not_before_type != NULL)
		return pca_err_set(PCA_EINVAL,
		    "ValidityNotBefore %lld is earlier than the issuing CA "
		    "certificate's notBefore %lld",
		    (long long)is->nb, (long long)c->not_before);
	is->nb = c->not_before;
	if (is->nb >= is->na)
		return pca_err_set(PCA_EINVAL,
		    "the certificate would end before the issuing CA "
		    "certificate begins (notBefore %lld)",
		    (long long)c->not_before);
	return PCA_OK;
}

static pca_err
issue_args(struct issue *is, const struct ca_issue_req *r, int64_t now)
{
	const struct ca_ctx *c = is->ctx;
	struct prof_validity v = {r->validity_type, r->validity_value,
	    r->not_before_type != NULL, r->not_before_type,
	    r->not_before_value};
	pca_err err;

	is->sigalg = pca_sigalg_from_name(r->signing_algorithm);
	if (!pca_sigalg_fits_key(is->sigalg, c->keyalg))
		return pca_err_set(PCA_EINVAL,
		    "SigningAlgorithm %.32s does not fit the CA key %s",
		    r->signing_algorithm ? r->signing_algorithm : "(missing)",
		    pca_keyalg_name(c->keyalg));
	if (prof_template_is_ca(is->tmpl) && !is->self && c->pathlen >= 0 &&
	    (c->pathlen == 0 || is->tmpl->pathlen >= c->pathlen))
		return pca_err_set(PCA_EINVAL,
		    "template %s is not allowed under a CA with pathLen %d",
		    is->tmpl->name, c->pathlen);
	if ((err = prof_validity_resolve(&v, now, &is->nb, &is->na)) != PCA_OK)
		return err;
	/* the span counts from issuance: the default backdate is not in it */
	if (c->short_lived && !is->self &&
	    is->na - (is->nb > now ? is->nb : now) > SHORT_LIVED_MAX)
		return pca_err_set(PCA_EINVAL,
		    "a SHORT_LIVED_CERTIFICATE CA issues for 7 days at most");
	if ((err = issue_not_before(is, r)) != PCA_OK)
		return err;
	if (!is->self && is->na > c->not_after) {
		char a[21], b[21];
		return pca_err_set(PCA_EVALIDATION,
		    "The certificate validity exceeds the validity period of "
		    "the issuing private CA (notAfter %s is after the CA's %s)",
		    util_iso8601(is->na, a), util_iso8601(c->not_after, b));
	}
	return PCA_OK;
}

/* The name a self-issued root certificate will carry as subject/issuer. */
static pca_err
issue_self_name(struct issue *is, const json_t *pass)
{
	const json_t *subj = NULL;
	X509_NAME *n = NULL;
	unsigned char *der = NULL;
	int len;
	pca_err err = PCA_OK;

	if (is->tmpl->api_passthrough)
		subj = json_object_get(pass, "Subject");
	if (json_is_object(subj)) {
		if ((err = prof_subject_from_json(subj, &n)) != PCA_OK)
			return err;
		len = i2d_X509_NAME(n, &der);
		X509_NAME_free(n);
	} else
		len = i2d_X509_NAME(is->csr->subject, &der);
	if (len <= 0)
		return pca_err_set(PCA_EINTERNAL, "cannot encode the name");
	is->self_name = der;
	is->self_name_len = (size_t)len;
	return err;
}

void
ca_engine_policy_set(struct ca_engine *e,
    pca_err (*judge)(void *, const struct ca_policy_req *), void *arg)
{
	e->policy = judge;
	e->policy_arg = arg;
}

void
ca_engine_refusal_set(struct ca_engine *e,
    void (*fn)(void *, const char *, const char *), void *arg)
{
	e->refusal = fn;
	e->refusal_arg = arg;
}

void
ca_engine_constraints_set(struct ca_engine *e,
    pca_err (*fn)(void *, const char *, const char *, uint8_t **, size_t *),
    void *arg)
{
	e->constraints = fn;
	e->constraints_arg = arg;
}

/*
 * The nameConstraints the issuing CA's policy stamps on a subordinate CA
 * certificate (asked once per issuance; none for other templates).
 */
static pca_err
issue_constraints(struct issue *is)
{
	const struct ca_ctx *c = is->ctx;
	pca_err err;

	if (is->nc_asked || is->self || is->e->constraints == NULL ||
	    !prof_template_is_ca(is->tmpl) || prof_template_is_root(is->tmpl))
		return PCA_OK;
	is->nc_asked = 1;
	if ((err = is->e->constraints(is->e->constraints_arg,
		 ca_ctx_policy_uuid(c), is->who->who, &is->nc, &is->nc_len)) !=
	    PCA_OK)
		log_warnx("nameConstraints of CA %s: %s", c->arn,
		    pca_err_msg());
	return err;
}

/*
 * Policy (end-entity certificates) then lint (every certificate), on the
 * TBS just built: nothing is reserved or signed unless both pass, and
 * is->tbs is not touched again before it is signed.
 */
static pca_err
issue_gate(struct issue *is, const struct ca_issue_req *r)
{
	const struct ca_ctx *c = is->ctx;
	int64_t now = util_now();
	struct ca_policy_req q = {ca_ctx_policy_uuid(c), c->arn, is->who->who,
	    is->tmpl->name, r->signing_algorithm,
	    is->na - (is->nb > now ? is->nb : now), is->tbs, is->tbs_len,
	    r->policy};
	struct x509_lint_req l = {is->tbs, is->tbs_len, is->sigalg, is->self};
	pca_err err;

	if (is->e->policy != NULL && !prof_template_is_ca(is->tmpl) &&
	    (err = is->e->policy(is->e->policy_arg, &q)) != PCA_OK) {
		log_info("policy refused a certificate of CA %s for %s: %s",
		    c->arn, is->who->who ? is->who->who : "-", pca_err_msg());
		return err;
	}
	if ((err = x509_lint_cert(&l)) != PCA_OK) {
		log_warnx("lint gate refused a certificate of CA %s "
			  "(template %s): %s",
		    c->arn, is->tmpl->name, pca_err_msg());
		if (is->e->refusal != NULL)
			is->e->refusal(is->e->refusal_arg, is->who->who,
			    pca_err_msg());
	}
	return err;
}

static pca_err
issue_build(struct issue *is, const struct ca_issue_req *r)
{
	const struct ca_ctx *c = is->ctx;
	struct prof_issuer iss = {c->subject_der, c->subject_len,
	    c->has_ski ? c->ski : NULL, c->has_ski ? 20 : 0};
	struct prof_tbs_req t = {&iss, is->csr, is->tmpl, r->api_passthrough,
	    is->sigalg, is->serial, sizeof(is->serial), is->nb, is->na,
	    c->cdp_uri, c->ocsp_uri, NULL, 0, c->issuers_uri};
	pca_err err;

	if (is->self) {
		if ((err = issue_self_name(is, r->api_passthrough)) != PCA_OK)
			return err;
		iss.name_der = is->self_name;
		iss.name_len = is->self_name_len;
		iss.ski = NULL;
		iss.ski_len = 0;
	}
	if ((err = issue_constraints(is)) != PCA_OK)
		return err;
	t.name_constraints = is->nc;
	t.name_constraints_len = is->nc_len;
	if ((err = prof_serial_new(is->serial)) != PCA_OK ||
	    (err = prof_tbs_build(&t, &is->tbs, &is->tbs_len)) != PCA_OK)
		return err;
	return issue_gate(is, r);
}

static pca_err
issue_record(struct ca_engine *e, const struct ca_caller *who, struct issue *is,
    const struct ca_issue_req *r)
{
	struct store_cert rec;
	pca_err err;
	int tries;

	for (tries = 0; tries < 3; tries++) {
		memset(&rec, 0, sizeof(rec));
		memcpy(rec.ca_id, is->ctx->uuid, 37);
		memcpy(rec.serial, is->serial, sizeof(is->serial));
		rec.serial_len = sizeof(is->serial);
		rec.state = STORE_CERT_PENDING;
		rec.not_before = is->nb;
		rec.not_after = is->na;
		rec.issued_at = util_now();
		(void)snprintf(rec.template_name, sizeof(rec.template_name),
		    "%s", is->tmpl->name);
		(void)snprintf(rec.requested_by, sizeof(rec.requested_by), "%s",
		    who->who ? who->who : "-");
		rec.tbs = is->tbs;
		rec.tbs_len = is->tbs_len;
		if (is->idem != NULL)
			err = ca_idem_reserve(e, is->idem, is->ctx, &rec,
			    &is->replay);
		else
			err = store_cert_reserve(e->store, &rec);
		if (err != PCA_EEXISTS)
			return err;
		/* a 128-bit collision: draw again and rebuild */
		log_warnx("serial collision in CA %s; drawing again",
		    is->ctx->arn);
		free(is->tbs);
		is->tbs = NULL;
		if ((err = issue_build(is, r)) != PCA_OK)
			return err;
	}
	return pca_err_set(PCA_EINTERNAL, "could not draw a unique serial");
}

/* Records the signed certificate and its audit entry in one commit. */
static pca_err
issue_complete(struct ca_engine *e, const struct ca_caller *who,
    const struct issue *is)
{
	struct store_cert c;
	char line[1024], hex[33];

	memset(&c, 0, sizeof(c));
	memcpy(c.ca_id, is->ctx->uuid, 37);
	memcpy(c.serial, is->serial, sizeof(is->serial));
	c.serial_len = sizeof(is->serial);
	c.der = is->der;
	c.der_len = is->der_len;
	c.issued_at = util_now();
	util_hex(is->serial, sizeof(is->serial), hex, sizeof(hex), 0);
	(void)snprintf(line, sizeof(line),
	    "op=IssueCertificate who=%s account=%s region=%s ca=%s serial=%s "
	    "template=%s",
	    who->who ? who->who : "-", who->account, who->region, is->ctx->arn,
	    hex, is->tmpl->name);
	return store_cert_complete_audit(e->store, &c, line);
}

/*
 * Nothing was signed (the token failed or was unavailable): the PENDING
 * record goes again, so a failed attempt leaves no certificate that will
 * never be issued.  The caller's error and message stay.
 */
static pca_err
issue_unreserve(struct ca_engine *e, const struct issue *is, pca_err err)
{
	char msg[512], hex[33];

	(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
	if (store_cert_unreserve(e->store, is->ctx->uuid, is->serial,
		sizeof(is->serial)) != PCA_OK) {
		util_hex(is->serial, sizeof(is->serial), hex, sizeof(hex), 0);
		log_warnx("CA %s serial %s stays PENDING (not signed): %s",
		    is->ctx->arn, hex, pca_err_msg());
	}
	return pca_err_set(err, "%s", msg);
}

static pca_err
issue_sign(struct ca_engine *e, const struct ca_caller *who, struct issue *is)
{
	struct hsm_key key = {is->ctx->label, is->ctx->spki, is->ctx->spki_len};
	uint8_t sig[LIM_SIG];
	size_t sig_len = 0;
	pca_err err;

	/* a separated signer signs cA=TRUE only when told it is a CA
	   template's issuance */
	if ((err = (prof_template_is_ca(is->tmpl) ? hsm_sign_ca
						  : hsm_sign)(e->hsm, &key,
		 is->sigalg, is->tbs, is->tbs_len, sig, &sig_len)) != PCA_OK)
		return issue_unreserve(e, is, err);
	ca_crashpoint("sign");
	if ((err = x509_cert_assemble(is->tbs, is->tbs_len, is->sigalg, sig,
		 sig_len, &is->der, &is->der_len)) != PCA_OK)
		return err;
	ca_crashpoint("commit");
	if ((err = issue_complete(e, who, is)) != PCA_OK)
		return err;
	ca_crashpoint("committed");
	return PCA_OK;
}

static pca_err
cert_arn(const struct ca_ctx *c, const uint8_t *serial, size_t len, char **out)
{
	char hex[2 * LIM_SERIAL_BYTES + 1];
	char buf[CA_ARN_MAX + 64];

	util_hex(serial, len, hex, sizeof(hex), 0);
	(void)snprintf(buf, sizeof(buf), "%s/certificate/%s", c->arn, hex);
	if ((*out = strdup(buf)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	return PCA_OK;
}

/* CA_EV_ISSUED with the issuance's duration (for the latency metric). */
static void
issue_notify(struct ca_engine *e, const struct issue *is,
    const struct timespec *t0)
{
	struct ca_event ev = {CA_EV_ISSUED, is->ctx->uuid, is->serial,
	    sizeof(is->serial), 0};
	struct timespec t1;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ev.seconds = (double)(t1.tv_sec - t0->tv_sec) +
		     (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
	for (i = 0; i < e->nlisteners; i++)
		e->listeners[i].fn(&ev, e->listeners[i].arg);
}

static pca_err
issue_once(struct ca_engine *e, const struct ca_caller *c,
    const struct ca_issue_req *r, struct ca_idem *idem, char **out)
{
	struct timespec t0;
	struct issue is;
	char uuid[37];
	const char *tarn = r->template_arn ? r->template_arn : DEFAULT_TEMPLATE;
	pca_err err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&is, 0, sizeof(is));
	is.e = e;
	is.who = c;
	if ((err = ca_arn_check(e, c, r->ca_arn, uuid)) != PCA_OK ||
	    (err = ca_ctx_get(e, uuid, &is.ctx)) != PCA_OK)
		return err;
	if (idem != NULL) {
		err = ca_idem_lookup(e, idem, uuid, out);
		if (err != PCA_ENOTFOUND)
			goto out; /* replay, mismatch, or a store error */
		pca_err_clear();
		is.idem = idem;
	}
	is.tmpl = prof_template_find(tarn);
	if ((err = issue_state(&is)) != PCA_OK)
		goto out;
	if (is.tmpl == NULL) {
		err = pca_err_set(PCA_EINVAL,
		    "TemplateArn %.200s is not a "
		    "known template",
		    tarn);
		goto out;
	}
	if ((err = issue_csr(&is, r)) != PCA_OK ||
	    (err = issue_args(&is, r, util_now())) != PCA_OK ||
	    (err = issue_build(&is, r)) != PCA_OK)
		goto out;
	ca_crashpoint("lint");
	if ((err = issue_record(e, c, &is, r)) == PCA_EALREADY &&
	    is.replay != NULL) {
		/* a concurrent call with the token issued: its certificate */
		pca_err_clear();
		*out = is.replay;
		is.replay = NULL;
		err = PCA_OK;
		goto out;
	}
	if (err != PCA_OK)
		goto out;
	ca_crashpoint("reserve");
	if ((err = issue_sign(e, c, &is)) != PCA_OK) {
		if (idem != NULL) {
			char msg[512];

			(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
			ca_idem_release(e, idem);
			err = pca_err_set(err, "%s", msg);
		}
		goto out;
	}
	if ((err = cert_arn(is.ctx, is.serial, sizeof(is.serial), out)) !=
	    PCA_OK)
		goto out;
	issue_notify(e, &is, &t0);
	ca_crashpoint("reply");
out:
	issue_clear(e, &is);
	return err;
}

#define IDEM_TRIES 4

pca_err
ca_issue(struct ca_engine *e, const struct ca_caller *c,
    const struct ca_issue_req *r, char **out)
{
	const char *tarn = r->template_arn ? r->template_arn : DEFAULT_TEMPLATE;
	struct ca_idem idem;
	int tries;
	pca_err err;

	if (r->idempotency_token == NULL)
		return issue_once(e, c, r, NULL, out);
	if ((err = ca_idem_init(&idem, c, r, tarn)) != PCA_OK)
		return err;
	for (tries = 0; tries < IDEM_TRIES; tries++) {
		idem.retry = 0;
		err = issue_once(e, c, r, &idem, out);
		if (!idem.retry)
			break;
	}
	ca_idem_clear(&idem);
	return err;
}

/*
 * For rotate.c: a CA certificate from the CA q->uuid for q->csr under a
 * template of the engine's own (a link certificate, or a successor's
 * certificate without pathLen), valid until q->not_after, recorded and
 * audited like any issuance.  *der (caller frees) is the certificate.
 */
pca_err
ca_issue_link(struct ca_engine *e, const struct ca_caller *c,
    const struct ca_link_req *q, uint8_t **der, size_t *der_len)
{
	struct timespec t0;
	struct issue is;
	struct ca_issue_req r;
	const json_t *cfg;
	pca_err err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&is, 0, sizeof(is));
	memset(&r, 0, sizeof(r));
	is.e = e;
	is.who = c;
	is.tmpl = q->tmpl;
	if ((err = ca_ctx_get(e, q->uuid, &is.ctx)) != PCA_OK)
		return err;
	if (strcmp(is.ctx->status, "ACTIVE") != 0 || is.ctx->cert_der == NULL) {
		err = ca_state_err(is.ctx, "Signing a rotation certificate");
		goto out;
	}
	cfg = json_object_get(is.ctx->rec, "CertificateAuthorityConfiguration");
	r.ca_arn = is.ctx->arn;
	r.csr = q->csr;
	r.csr_len = q->csr_len;
	r.signing_algorithm =
	    json_string_value(json_object_get(cfg, "SigningAlgorithm"));
	r.validity_type = "ABSOLUTE";
	r.validity_value = q->not_after;
	if ((err = prof_csr_parse(q->csr, q->csr_len, &is.csr)) != PCA_OK ||
	    (err = issue_args(&is, &r, util_now())) != PCA_OK ||
	    (err = issue_build(&is, &r)) != PCA_OK ||
	    (err = issue_record(e, c, &is, &r)) != PCA_OK ||
	    (err = issue_sign(e, c, &is)) != PCA_OK)
		goto out;
	issue_notify(e, &is, &t0);
	*der = is.der;
	*der_len = is.der_len;
	is.der = NULL;
out:
	issue_clear(e, &is);
	return err;
}

/* ---- retrieval ---- */

static int
template_is_root_name(const char *name)
{
	return strncmp(name, "RootCACertificate", 17) == 0 ||
	       strncmp(name, "BlankRootCACertificate", 22) == 0;
}

static pca_err
cert_serial_from_arn(const char *ca_arn, const char *cert_arn, uint8_t *serial,
    size_t *len)
{
	size_t n = strlen(ca_arn);
	const char *hex;

	if (cert_arn == NULL || strncmp(cert_arn, ca_arn, n) != 0 ||
	    strncmp(cert_arn + n, "/certificate/", 13) != 0)
		return pca_err_set(PCA_EBADARN,
		    "certificate ARN '%.200s' does not belong to %s",
		    cert_arn ? cert_arn : "", ca_arn);
	hex = cert_arn + n + 13;
	if (strlen(hex) != 32 || util_unhex(hex, serial, 16, len) != PCA_OK)
		return pca_err_set(PCA_EBADARN,
		    "certificate ARN '%.200s' does not end in a serial",
		    cert_arn);
	return PCA_OK;
}

static pca_err
chain_join(const char *a, const char *b, char **out)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	char *s = malloc(la + lb + 1);

	if (s == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	memcpy(s, a, la);
	if (lb)
		memcpy(s + la, b, lb);
	s[la + lb] = '\0';
	*out = s;
	return PCA_OK;
}

pca_err
ca_cert_get(struct ca_engine *e, const struct ca_caller *c, const char *ca_arn,
    const char *cert_arn, char **pem, char **chain)
{
	struct ca_ctx *ctx = NULL;
	struct store_cert rec;
	uint8_t serial[16];
	size_t slen = 0;
	char uuid[37];
	int ok_state, root_cert;
	pca_err err;

	memset(&rec, 0, sizeof(rec));
	*chain = NULL;
	if ((err = ca_arn_check(e, c, ca_arn, uuid)) != PCA_OK ||
	    (err = cert_serial_from_arn(ca_arn, cert_arn, serial, &slen)) !=
		PCA_OK ||
	    (err = ca_ctx_get(e, uuid, &ctx)) != PCA_OK)
		return err;
	ok_state = !strcmp(ctx->status, "ACTIVE") ||
		   !strcmp(ctx->status, "DISABLED") ||
		   !strcmp(ctx->status, "EXPIRED");
	if (!ok_state && strcmp(ctx->status, "PENDING_CERTIFICATE") != 0) {
		err = pca_err_set(PCA_ESTATE,
		    "The certificate authority %s is not in the correct state "
		    "to have issued certificates.",
		    ctx->arn);
		goto out;
	}
	if ((err = store_cert_get(e->store, uuid, serial, slen, &rec)) !=
		PCA_OK ||
	    rec.state != STORE_CERT_ISSUED) {
		if (err == PCA_OK || err == PCA_ENOTFOUND)
			err = pca_err_set(PCA_ENOTFOUND,
			    "certificate %s does not exist", cert_arn);
		goto out;
	}
	root_cert = template_is_root_name(rec.template_name);
	if (!ok_state && !root_cert) {
		err = pca_err_set(PCA_ESTATE,
		    "The certificate authority %s is not in the correct state "
		    "to have issued certificates.",
		    ctx->arn);
		goto out;
	}
	if ((err = util_pem_encode("CERTIFICATE", rec.der, rec.der_len, pem)) !=
	    PCA_OK)
		goto out;
	if (!root_cert && ctx->cert_pem != NULL &&
	    (err = chain_join(ctx->cert_pem, ctx->chain_pem, chain)) !=
		PCA_OK) {
		free(*pem);
		goto out;
	}
out:
	store_cert_clear(&rec);
	ca_ctx_put(e, ctx);
	return err;
}

pca_err
ca_cacert_get(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    char **pem, char **chain)
{
	struct ca_ctx *ctx;
	char uuid[37];
	pca_err err;

	*chain = NULL;
	if ((err = ca_arn_check(e, c, arn, uuid)) != PCA_OK ||
	    (err = ca_ctx_get(e, uuid, &ctx)) != PCA_OK)
		return err;
	if ((strcmp(ctx->status, "ACTIVE") && strcmp(ctx->status, "DISABLED") &&
		strcmp(ctx->status, "EXPIRED")) ||
	    ctx->cert_pem == NULL)
		err = pca_err_set(PCA_ESTATE,
		    "The certificate authority %s is %s: it has no "
		    "certificate installed",
		    arn, ctx->status);
	else if ((*pem = strdup(ctx->cert_pem)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	else if (ctx->chain_pem != NULL &&
		 (*chain = strdup(ctx->chain_pem)) == NULL) {
		free(*pem);
		err = pca_err_set(PCA_ENOMEM, "no memory");
	}
	ca_ctx_put(e, ctx);
	return err;
}

/* ---- revocation ---- */

static const struct {
	const char *name;
	int code;
} reasons[] = {
    {"UNSPECIFIED", 0},
    {"KEY_COMPROMISE", 1},
    {"CERTIFICATE_AUTHORITY_COMPROMISE", 2},
    {"AFFILIATION_CHANGED", 3},
    {"SUPERSEDED", 4},
    {"CESSATION_OF_OPERATION", 5},
    {"PRIVILEGE_WITHDRAWN", 9},
    {"A_A_COMPROMISE", 10},
};

static int
reason_code(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(reasons) / sizeof(reasons[0]);
	     i++)
		if (strcmp(reasons[i].name, name) == 0)
			return reasons[i].code;
	return -1;
}

/* Parses a serial for numeric comparison: leading zero octets dropped. */
static pca_err
serial_parse(const char *text, uint8_t *out, size_t *len)
{
	uint8_t buf[LIM_SERIAL_BYTES + 1];
	size_t n, skip = 0;

	if (text == NULL || util_unhex(text, buf, sizeof(buf), &n) != PCA_OK)
		return pca_err_set(PCA_EINVAL,
		    "CertificateSerial '%.64s' is not a hex serial number",
		    text ? text : "");
	while (skip + 1 < n && buf[skip] == 0)
		skip++;
	n -= skip;
	if (n > LIM_SERIAL_BYTES)
		return pca_err_set(PCA_EINVAL,
		    "CertificateSerial '%.64s' is longer than 20 octets", text);
	memcpy(out, buf + skip, n);
	*len = n;
	return PCA_OK;
}

pca_err
ca_revoke(struct ca_engine *e, const struct ca_caller *c, const char *arn,
    const char *serial_text, const char *reason)
{
	struct ca_ctx *ctx = NULL;
	struct store_cert rec;
	uint8_t serial[LIM_SERIAL_BYTES];
	size_t slen = 0;
	char uuid[37], detail[128], hex[2 * LIM_SERIAL_BYTES + 1];
	int code;
	pca_err err;

	memset(&rec, 0, sizeof(rec));
	if ((err = ca_arn_check(e, c, arn, uuid)) != PCA_OK ||
	    (err = ca_ctx_get(e, uuid, &ctx)) != PCA_OK)
		return err;
	if (strcmp(ctx->status, "ACTIVE") && strcmp(ctx->status, "DISABLED")) {
		err = ca_state_err(ctx, "RevokeCertificate");
		goto out;
	}
	if ((code = reason_code(reason)) < 0) {
		err = pca_err_set(PCA_EINVAL,
		    "RevocationReason '%.64s' is not valid",
		    reason ? reason : "");
		goto out;
	}
	if ((err = serial_parse(serial_text, serial, &slen)) != PCA_OK)
		goto out;
	util_hex(serial, slen, hex, sizeof(hex), 0);
	err = store_cert_get(e->store, uuid, serial, slen, &rec);
	if (err == PCA_ENOTFOUND || (err == PCA_OK && slen != 16))
		err = pca_err_set(PCA_ENOTFOUND,
		    "certificate with serial %s was not issued by %s", hex,
		    arn);
	if (err != PCA_OK)
		goto out;
	if (template_is_root_name(rec.template_name)) {
		err = pca_err_set(PCA_EBADREQ,
		    "Self-signed certificate can not be revoked");
		goto out;
	}
	err = store_cert_revoke(e->store, uuid, serial, slen, util_now(), code);
	if (err == PCA_EALREADY)
		err = pca_err_set(PCA_EALREADY,
		    "certificate with serial %s is already revoked", hex);
	if (err != PCA_OK)
		goto out;
	(void)snprintf(detail, sizeof(detail), "serial=%s reason=%s", hex,
	    reason);
	ca_audit(e, c, "RevokeCertificate", arn, detail);
	ca_notify(e, CA_EV_REVOKED, uuid, serial, slen);
out:
	store_cert_clear(&rec);
	ca_ctx_put(e, ctx);
	return err;
}

/* ---- deep verification ---- */

struct verify_arg {
	struct ca_ctx *ctx;
	EVP_PKEY *key;
	size_t checked, problems, done, total;
	void (*problem)(const char *, void *);
	void (*progress)(size_t, size_t, void *);
	void *arg;
};

static void
vproblem(struct verify_arg *a, const struct store_cert *r, const char *what)
{
	char msg[256], hex[2 * LIM_SERIAL_BYTES + 1];

	util_hex(r->serial, r->serial_len, hex, sizeof(hex), 0);
	(void)snprintf(msg, sizeof(msg), "CA %s serial %s: %s", r->ca_id, hex,
	    what);
	a->problems++;
	if (a->problem)
		a->problem(msg, a->arg);
}

static int
verify_cert(const struct store_cert *r, void *arg)
{
	struct verify_arg *a = arg;
	const unsigned char *p = r->der;
	X509 *x;

	if (a->progress && ++a->done % 1000 == 0)
		a->progress(a->done, a->total, a->arg);
	if (r->state != STORE_CERT_ISSUED)
		return 0; /* reserved, never signed: store_verify counts */
	a->checked++;
	if ((x = d2i_X509(NULL, &p, (long)r->der_len)) == NULL ||
	    p != r->der + r->der_len) {
		vproblem(a, r, "stored certificate does not parse");
		X509_free(x);
		return 0;
	}
	if (r->der_len < r->tbs_len ||
	    memmem(r->der, r->der_len, r->tbs, r->tbs_len) == NULL)
		vproblem(a, r, "certificate differs from its recorded TBS");
	if (X509_verify(x, a->key) != 1)
		vproblem(a, r, "signature does not verify under the CA key");
	X509_free(x);
	return 0;
}

struct ca_list_arg {
	char (*ids)[37];
	size_t n, cap;
};

static int
collect_ids(const char *id, const char *json, size_t len, void *arg)
{
	struct ca_list_arg *a = arg;
	void *n;

	(void)json;
	(void)len;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		if ((n = realloc(a->ids, a->cap * sizeof(*a->ids))) == NULL)
			return 1;
		a->ids = n;
	}
	(void)snprintf(a->ids[a->n++], 37, "%s", id);
	return 0;
}

pca_err
ca_verify_all(struct ca_engine *e, size_t *checked, size_t *problems,
    void (*problem)(const char *, void *),
    void (*progress)(size_t, size_t, void *), void *arg)
{
	struct ca_list_arg ids = {NULL, 0, 0};
	struct verify_arg va = {0};
	const unsigned char *p;
	size_t i, n;
	pca_err err;

	va.problem = problem;
	va.progress = progress;
	va.arg = arg;
	if ((err = store_ca_foreach(e->store, collect_ids, &ids)) != PCA_OK)
		goto out;
	if ((err = store_cert_count(e->store, NULL, &va.total)) != PCA_OK)
		goto out;
	for (i = 0; i < ids.n; i++) {
		if ((err = ca_ctx_get(e, ids.ids[i], &va.ctx)) != PCA_OK) {
			if (err == PCA_ENOTFOUND)
				continue; /* purged meanwhile */
			goto out;
		}
		p = va.ctx->spki;
		va.key = d2i_PUBKEY(NULL, &p, (long)va.ctx->spki_len);
		if (va.key == NULL)
			err = pca_err_set(PCA_EDB, "CA %s key is corrupt",
			    ids.ids[i]);
		else
			err = store_cert_foreach(e->store, ids.ids[i],
			    verify_cert, &va);
		EVP_PKEY_free(va.key);
		ca_ctx_put(e, va.ctx);
		if (err != PCA_OK)
			goto out;
	}
	if ((err = store_cert_count(e->store, NULL, &n)) != PCA_OK)
		goto out;
	if (progress)
		progress(va.done, va.total, arg);
	*checked = va.checked;
	*problems = va.problems;
out:
	free(ids.ids);
	return err;
}
