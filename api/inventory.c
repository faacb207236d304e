/*
 * inventory.c - the certificate inventory: filters mapped onto a store
 * inventory walk, subject and SANs read from each candidate's DER (or TBS
 * while PENDING), one page of items.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/util.h"
#include "../x509/x509.h"
#include "api_int.h"
#include "inventory.h"

#define TMPL_MARK ":acm-pca:::template/"
/* RequestedBy of what an ACME account ordered (acme/order.c) */
#define ACME_WHO_PREFIX "acme:"

static const char *const reasons[] = {"UNSPECIFIED", "KEY_COMPROMISE",
    "CERTIFICATE_AUTHORITY_COMPROMISE", "AFFILIATION_CHANGED", "SUPERSEDED",
    "CESSATION_OF_OPERATION", "CERTIFICATE_HOLD", "UNSPECIFIED",
    "REMOVE_FROM_CRL", "PRIVILEGE_WITHDRAWN", "A_A_COMPROMISE"};

struct inv_list {
	const struct api_inv_query *q;
	json_t *items;
	size_t n;
	int full; /* one more match than the page holds */
	uint8_t cursor[STORE_INV_CURSOR_MAX];
	size_t cursor_len;
	pca_err err;
};

const char *
api_inv_tmpl_name(const char *s)
{
	const char *p = s != NULL ? strstr(s, TMPL_MARK) : NULL;

	return p != NULL ? p + strlen(TMPL_MARK) : s;
}

/*
 * One DER element at *p (end e): its tag, content and the next element.
 * Parsing the X.509 structure fully would decode the public key, which
 * OpenSSL 3 does through its (slow) decoder lookup; the inventory needs
 * only the subject and the SAN extension.
 */
static int
der_next(const uint8_t **p, const uint8_t *e, int *tag, const uint8_t **c,
    size_t *len)
{
	struct x509_der el;
	size_t n = (size_t)(e - *p);

	if (x509_der_next(p, &n, X509_DER_BER_LEN | X509_DER_LEN3, &el) !=
	    X509_DER_OK)
		return 0;
	*tag = el.id;
	*c = el.c;
	*len = el.clen;
	return 1;
}

/* The subject name and the SAN extension value inside a TBS. */
static void
tbs_parts(const uint8_t *tbs, size_t n, const uint8_t **subj, size_t *slen,
    const uint8_t **san, size_t *sanlen)
{
	static const uint8_t oid[] = {0x06, 0x03, 0x55, 0x1d, 0x11};
	const uint8_t *p = tbs, *e = tbs + n, *c, *x, *xe, *f, *fe, *el, *q;
	size_t len, i;
	int tag;

	*subj = *san = NULL;
	if (!der_next(&p, e, &tag, &c, &len) || tag != 0x30)
		return;
	p = c;
	e = c + len;
	for (i = 0; q = p, der_next(&p, e, &tag, &c, &len); i++) {
		if (i == 0 && tag == 0xa0) {
			i--; /* version */
			continue;
		}
		if (i == 4) { /* serial, sigalg, issuer, validity, subject */
			*subj = q;
			*slen = (size_t)(c + len - q);
		}
		if (tag != 0xa3)
			continue;
		el = c;
		if (!der_next(&el, c + len, &tag, &x, &len) || tag != 0x30)
			return;
		for (xe = x + len; der_next(&x, xe, &tag, &f, &len);) {
			fe = f + len;
			el = f;
			if (len < sizeof(oid) + 2 ||
			    memcmp(f, oid, sizeof(oid)) != 0)
				continue;
			el = f + sizeof(oid);
			while (der_next(&el, fe, &tag, &c, &len))
				if (tag == 0x04) {
					*san = c;
					*sanlen = len;
				}
		}
	}
}

static json_t *
inv_subject(const uint8_t *der, size_t n)
{
	X509_NAME *nm = d2i_X509_NAME(NULL, &der, (long)n);
	BIO *b = nm != NULL ? BIO_new(BIO_s_mem()) : NULL;
	char *p = NULL;
	long len;
	json_t *s = NULL;

	if (b != NULL &&
	    X509_NAME_print_ex(b, nm, 0,
		XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (len = BIO_get_mem_data(b, &p)) >= 0)
		s = json_stringn(p, (size_t)len);
	BIO_free(b);
	X509_NAME_free(nm);
	return s;
}

static json_t *
inv_gn(const GENERAL_NAME *g)
{
	char buf[INET6_ADDRSTRLEN + 4], *t = NULL;
	const ASN1_STRING *s;
	json_t *j;

	switch (g->type) {
	case GEN_DNS:
	case GEN_EMAIL:
	case GEN_URI:
		s = g->d.ia5;
		if ((t = malloc((size_t)s->length + 8)) == NULL)
			return NULL;
		(void)snprintf(t, (size_t)s->length + 8, "%s:%.*s",
		    g->type == GEN_DNS   ? "DNS"
		    : g->type == GEN_URI ? "URI"
					 : "email",
		    s->length, (const char *)s->data);
		j = json_string(t);
		free(t);
		return j;
	case GEN_IPADD:
		s = g->d.ip;
		memcpy(buf, "IP:", 4);
		if (inet_ntop(s->length == 4 ? AF_INET : AF_INET6, s->data,
			buf + 3, sizeof(buf) - 3) == NULL ||
		    (s->length != 4 && s->length != 16))
			return NULL;
		return json_string(buf);
	default:
		return NULL;
	}
}

static json_t *
inv_sans(const uint8_t *der, size_t n)
{
	GENERAL_NAMES *gs = der ? d2i_GENERAL_NAMES(NULL, &der, (long)n) : NULL;
	json_t *a = json_array(), *v;
	int i;

	for (i = 0; a != NULL && gs != NULL && i < sk_GENERAL_NAME_num(gs); i++)
		if ((v = inv_gn(sk_GENERAL_NAME_value(gs, i))) != NULL)
			json_array_append_new(a, v);
	GENERAL_NAMES_free(gs);
	return a;
}

/* Case-insensitive substring match of the subject or any SAN value. */
static int
inv_name_match(const char *name, json_t *subject, json_t *sans)
{
	const char *v, *colon;
	json_t *e;
	size_t i;

	if (name == NULL)
		return 1;
	if (subject != NULL && strcasestr(json_string_value(subject), name))
		return 1;
	json_array_foreach (sans, i, e) {
		v = json_string_value(e);
		colon = strchr(v, ':');
		if (strcasestr(colon != NULL ? colon + 1 : v, name))
			return 1;
	}
	return 0;
}

static const char *
inv_status(const struct store_cert *c, int64_t now)
{
	if (c->revoked)
		return "REVOKED";
	if (c->state != STORE_CERT_ISSUED)
		return "PENDING";
	return c->not_after < now ? "EXPIRED" : "ISSUED";
}

static int
ca_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct api_inv_ca *)e)->id);
}

/* 1: requested_by is an ACME account's ("acme:<account id>"). */
static int
inv_by_acme(const char *requested_by)
{
	return strncmp(requested_by, ACME_WHO_PREFIX,
		   strlen(ACME_WHO_PREFIX)) == 0;
}

static json_t *
inv_item(const struct inv_list *l, const struct store_cert *c,
    const struct api_inv_ca *ca, json_t *subject, json_t *sans)
{
	char hex[2 * LIM_SERIAL_BYTES + 1], arn[400], tarn[200];
	json_t *o;

	util_hex(c->serial, c->serial_len, hex, sizeof(hex), 0);
	(void)snprintf(arn, sizeof(arn), "%s/certificate/%s", ca->arn, hex);
	(void)snprintf(tarn, sizeof(tarn), "arn:%s%s%s",
	    l->q->partition ? l->q->partition : "aws", TMPL_MARK,
	    c->template_name);
	o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:O,s:O,s:s,s:s}",
	    "CertificateArn", arn, "CertificateAuthorityArn", ca->arn, "Serial",
	    hex, "Status", inv_status(c, l->q->now), "NotBefore",
	    (json_int_t)c->not_before, "NotAfter", (json_int_t)c->not_after,
	    "IssuedAt", (json_int_t)c->issued_at, "Subject", subject,
	    "SubjectAlternativeNames", sans, "TemplateArn", tarn, "RequestedBy",
	    c->requested_by);
	if (o != NULL && c->revoked) {
		json_object_set_new(o, "RevokedAt",
		    json_integer((json_int_t)c->revoked_at));
		json_object_set_new(o, "RevocationReason",
		    json_string(
			reasons[c->reason >= 0 && c->reason <= 10 ? c->reason
								  : 0]));
	}
	return o;
}

static int
inv_cb(const struct store_cert *c, const uint8_t *cur, size_t len, void *arg)
{
	struct inv_list *l = arg;
	const struct api_inv_ca *ca;
	json_t *subject = NULL, *sans = NULL, *item;
	const uint8_t *sp, *xp;
	size_t sl = 0, xl = 0;

	ca = bsearch(c->ca_id, l->q->cas, l->q->ncas, sizeof(*ca), ca_cmp);
	if (ca == NULL || (l->q->acme_only && !inv_by_acme(c->requested_by)))
		return 0;
	if (c->tbs != NULL) {
		tbs_parts(c->tbs, c->tbs_len, &sp, &sl, &xp, &xl);
		if (sp != NULL)
			subject = inv_subject(sp, sl);
		sans = inv_sans(xp, xl);
	}
	if (subject == NULL)
		subject = json_string("");
	if (sans == NULL)
		sans = json_array();
	if (inv_name_match(l->q->name, subject, sans)) {
		if (l->n == l->q->max) {
			l->full = 1;
		} else if ((item = inv_item(l, c, ca, subject, sans)) == NULL ||
			   json_array_append_new(l->items, item) != 0) {
			l->err = pca_err_set(PCA_ENOMEM, "out of memory");
		} else {
			l->n++;
			memcpy(l->cursor, cur, len);
			l->cursor_len = len;
		}
	}
	json_decref(subject);
	json_decref(sans);
	return l->full || l->err != PCA_OK;
}

/* The store query of the filters; PCA_EINVAL for an unknown status. */
static pca_err
inv_store_query(const struct api_inv_query *q, struct store_inv_query *sq)
{
	memset(sq, 0, sizeof(*sq));
	sq->ca_id = q->ca_id;
	sq->tmpl = q->tmpl;
	sq->from = INT64_MIN;
	sq->to = INT64_MAX;
	sq->after = q->after;
	sq->after_len = q->after_len;
	sq->max_scan = q->max_scan;
	if (q->status == NULL)
		sq->state = STORE_INV_ANY;
	else if (strcmp(q->status, "ISSUED") == 0) {
		sq->state = STORE_INV_VALID;
		sq->from = q->now;
	} else if (strcmp(q->status, "EXPIRED") == 0) {
		sq->state = STORE_INV_VALID;
		sq->to = q->now;
	} else if (strcmp(q->status, "REVOKED") == 0)
		sq->state = STORE_INV_REVOKED;
	else if (strcmp(q->status, "PENDING") == 0)
		sq->state = STORE_INV_PENDING;
	else
		return pca_err_set(PCA_EINVAL, "Status must be one of ISSUED, "
					       "REVOKED, EXPIRED, PENDING");
	if (q->has_before && q->before < sq->to)
		sq->to = q->before;
	return PCA_OK;
}

/*
 * The one certificate q->serial names (of q->ca_id), read directly; the
 * other filters still apply.  Absent: no item.
 */
static pca_err
inv_one(struct store *st, const struct api_inv_query *q, struct inv_list *l,
    struct store_inv_pos *end)
{
	struct store_cert c;
	uint8_t none[1];
	pca_err e;

	memset(&c, 0, sizeof(c));
	memset(end, 0, sizeof(*end));
	e = store_cert_get(st, q->ca_id, q->serial, q->serial_len, &c);
	if (e == PCA_ENOTFOUND) {
		pca_err_clear();
		return PCA_OK;
	}
	if (e != PCA_OK)
		return e;
	if ((q->status == NULL ||
		strcmp(q->status, inv_status(&c, q->now)) == 0) &&
	    (!q->has_before || c.not_after < q->before))
		(void)inv_cb(&c, none, 0, l);
	store_cert_clear(&c);
	return PCA_OK;
}

pca_err
api_inv_list(struct store *st, const struct api_inv_query *q,
    struct api_inv_page *out)
{
	struct store_inv_query sq;
	struct store_inv_pos end;
	struct inv_list l;
	pca_err e;

	memset(&l, 0, sizeof(l));
	l.q = q;
	if ((e = inv_store_query(q, &sq)) != PCA_OK)
		return e;
	if (q->serial != NULL && q->ca_id == NULL)
		return pca_err_set(PCA_EINVAL, "Serial needs "
					       "CertificateAuthorityArn");
	if ((l.items = json_array()) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	if (q->serial != NULL)
		e = inv_one(st, q, &l, &end);
	else
		e = store_inv_foreach(st, &sq, inv_cb, &l, &end);
	if (e == PCA_OK && l.err != PCA_OK)
		e = l.err;
	if (e != PCA_OK) {
		json_decref(l.items);
		return e;
	}
	memset(out, 0, sizeof(*out));
	out->items = l.items;
	if (l.full) {
		memcpy(out->cursor, l.cursor, l.cursor_len);
		out->cursor_len = l.cursor_len;
		out->more = 1;
	} else if (end.more) {
		memcpy(out->cursor, end.cursor, end.len);
		out->cursor_len = end.len;
		out->more = 1;
	}
	return PCA_OK;
}

/* ---- OpenPCA.ListCertificates ---- */

int
api_op_is_ext(const char *name)
{
	return strcmp(name, "ListCertificates") == 0 ||
	       strcmp(name, "GetExternalCertificate") == 0 ||
	       strcmp(name, "RotateCertificateAuthority") == 0;
}

static void
inv_cas_free(struct api_inv_ca *cas)
{
	free(cas);
}

static int
ca_sort(const void *a, const void *b)
{
	return strcmp(((const struct api_inv_ca *)a)->id,
	    ((const struct api_inv_ca *)b)->id);
}

/* The caller's CAs, sorted by id. */
static pca_err
inv_cas(struct api_call *call, struct api_inv_ca **out, size_t *n)
{
	json_t *items = NULL, *e;
	struct api_inv_ca *cas = NULL;
	const char *arn;
	size_t i, k = 0;
	pca_err err;

	if ((err = ca_list(call->ctx->engine, &call->caller, &items)) != PCA_OK)
		return err;
	if ((cas = calloc(json_array_size(items) + 1, sizeof(*cas))) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach (items, i, e) {
		arn = json_string_value(json_object_get(e, "Arn"));
		if (arn == NULL || strlen(arn) >= sizeof(cas[k].arn) ||
		    ca_arn_uuid(arn, cas[k].id) != PCA_OK) {
			pca_err_clear();
			continue;
		}
		memcpy(cas[k].arn, arn, strlen(arn) + 1);
		cas[k].rotated_at = json_integer_value(json_object_get(
		    json_object_get(e, "OpenPCA"), "RotatedAt"));
		k++;
	}
	qsort(cas, k, sizeof(*cas), ca_sort);
	*out = cas;
	*n = k;
	cas = NULL;
out:
	free(cas);
	json_decref(items);
	return err;
}

/* The filters of the request, also what its NextToken is bound to. */
static pca_err
inv_filters(struct api_call *call, const json_t *in,
    const struct api_inv_ca *cas, size_t n, struct api_inv_query *q,
    char id[37], uint8_t ser[LIM_SERIAL_BYTES])
{
	const char *hex = json_string_value(json_object_get(in, "Serial"));
	const char *arn =
	    json_string_value(json_object_get(in, "CertificateAuthorityArn"));
	const json_t *b = json_object_get(in, "ExpiringBefore");
	json_int_t max = json_integer_value(json_object_get(in, "MaxResults"));

	memset(q, 0, sizeof(*q));
	q->cas = cas;
	q->ncas = n;
	q->status = json_string_value(json_object_get(in, "Status"));
	q->name = json_string_value(json_object_get(in, "NameContains"));
	q->tmpl = api_inv_tmpl_name(
	    json_string_value(json_object_get(in, "TemplateArn")));
	q->acme_only =
	    json_is_true(json_object_get(in, "IssuedThroughAcme")) != 0;
	q->has_before = b != NULL;
	q->before = json_integer_value(b);
	q->partition = call->ctx->partition;
	q->now = call->ctx->now();
	q->max = max > 0 ? (size_t)max : API_PAGE_DEFAULT;
	if (q->max > API_INV_PAGE_MAX)
		q->max = API_INV_PAGE_MAX;
	q->max_scan = API_INV_SCAN_MAX;
	if (hex != NULL) {
		if (util_unhex(hex, ser, LIM_SERIAL_BYTES, &q->serial_len) !=
			PCA_OK ||
		    q->serial_len == 0) {
			pca_err_clear();
			return pca_err_set(PCA_EINVAL,
			    "Serial must be a certificate serial number in hex "
			    "(at most %d octets)",
			    LIM_SERIAL_BYTES);
		}
		q->serial = ser;
		if (arn == NULL)
			return pca_err_set(PCA_EINVAL,
			    "Serial needs "
			    "CertificateAuthorityArn");
	}
	if (arn == NULL)
		return PCA_OK;
	if (ca_arn_uuid(arn, id) != PCA_OK)
		return pca_err_set(PCA_EBADARN,
		    "%.300s is not a valid "
		    "certificate authority ARN",
		    arn);
	if (bsearch(id, cas, n, sizeof(*cas), ca_cmp) == NULL)
		return pca_err_set(PCA_ENOTFOUND,
		    "Could not find certificate "
		    "authority %.300s",
		    arn);
	q->ca_id = id;
	return PCA_OK;
}

static const char *
inv_str(const json_t *in, const char *m)
{
	const char *s = json_string_value(json_object_get(in, m));

	return s != NULL ? s : "-";
}

static void
inv_scope(struct api_call *call, const json_t *in, char *out, size_t n)
{
	const json_t *b = json_object_get(in, "ExpiringBefore");

	(void)snprintf(out, n,
	    "%s|%s|%.300s|%s|%lld|%d|%.256s|%.300s|%.16s|%d|%.50s",
	    call->caller.account, call->caller.region,
	    inv_str(in, "CertificateAuthorityArn"), inv_str(in, "Status"),
	    (long long)json_integer_value(b), b != NULL,
	    inv_str(in, "NameContains"), inv_str(in, "TemplateArn"),
	    inv_str(in, "Origin"),
	    json_is_true(json_object_get(in, "IssuedThroughAcme")) != 0,
	    inv_str(in, "Serial"));
}

/* The cursor of the request's NextToken into q; a token of the external
   certificates ("x" and the fingerprint listed last) into xafter. */
static pca_err
inv_token_open(struct api_call *call, const json_t *in, const char *scope,
    uint8_t cur[STORE_INV_CURSOR_MAX], struct api_inv_query *q,
    char xafter[API_INV_FP_LEN + 2])
{
	const char *tok = json_string_value(json_object_get(in, "NextToken"));
	char *last = NULL;
	pca_err err;

	if (tok == NULL)
		return PCA_OK;
	if ((err = api_token_open(call->ctx->token_key, call->op->name, scope,
		 tok, &last)) == PCA_OK &&
	    last[0] == 'x' && strlen(last) <= API_INV_FP_LEN + 1) {
		memcpy(xafter, last, strlen(last) + 1);
		free(last);
		return PCA_OK;
	}
	if (err != PCA_OK || (err = util_unhex(last, cur, STORE_INV_CURSOR_MAX,
				  &q->after_len)) != PCA_OK) {
		free(last);
		call->code = "InvalidNextTokenException";
		return pca_err_set(PCA_EPARSE, "The NextToken is not valid "
					       "for this request.");
	}
	free(last);
	q->after = cur;
	return PCA_OK;
}

static pca_err
inv_answer(struct api_call *call, const char *scope, struct api_inv_page *pg,
    json_t **out)
{
	char hex[2 * STORE_INV_CURSOR_MAX + 2], *next = NULL;
	json_t *o;
	pca_err err;

	if ((o = json_pack("{s:O}", "Certificates", pg->items)) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	if (pg->ext_more)
		(void)snprintf(hex, sizeof(hex), "x%s", pg->ext_last);
	if (pg->more)
		util_hex(pg->cursor, pg->cursor_len, hex, sizeof(hex), 0);
	if (pg->more || pg->ext_more) {
		if ((err = api_token_make(call->ctx->token_key, call->op->name,
			 scope, hex, &next)) != PCA_OK) {
			json_decref(o);
			return err;
		}
		json_object_set_new(o, "NextToken", json_string(next));
		free(next);
	}
	*out = o;
	return PCA_OK;
}

/*
 * "Acme" of the page's items that an ACME account ordered: one record
 * lookup each, after the inventory walk (no store transaction is open),
 * so a page costs at most its own size in lookups.  An item whose record
 * is gone (or cannot be read) is left without "Acme".
 */
static pca_err
inv_acme(struct api_call *call, const struct api_inv_query *q, json_t *items)
{
	const struct api_inv_ca *ca;
	struct cert_ref ref;
	const char *arn, *rb;
	json_t *it, *a;
	size_t i;
	char id[37];

	if (call->ctx->svc.acme_cert == NULL)
		return PCA_OK;
	json_array_foreach (items, i, it) {
		rb = json_string_value(json_object_get(it, "RequestedBy"));
		arn = json_string_value(
		    json_object_get(it, "CertificateAuthorityArn"));
		if (rb == NULL || !inv_by_acme(rb) || arn == NULL ||
		    ca_arn_uuid(arn, id) != PCA_OK ||
		    (ca = bsearch(id, q->cas, q->ncas, sizeof(*ca), ca_cmp)) ==
			NULL) {
			pca_err_clear();
			continue;
		}
		ref.ca_uuid = id;
		ref.serial = json_string_value(json_object_get(it, "Serial"));
		ref.not_before =
		    json_integer_value(json_object_get(it, "NotBefore"));
		ref.not_after =
		    json_integer_value(json_object_get(it, "NotAfter"));
		ref.rotated_at = ca->rotated_at;
		a = NULL;
		if (ref.serial == NULL ||
		    call->ctx->svc.acme_cert(call->ctx->store, &ref, &a) !=
			PCA_OK) {
			pca_err_clear();
			continue;
		}
		if (json_object_set_new(it, "Acme", a) != 0)
			return pca_err_set(PCA_ENOMEM, "out of memory");
	}
	return PCA_OK;
}

pca_err
api_op_list_certs(struct api_call *call, const json_t *in, json_t **out)
{
	uint8_t cur[STORE_INV_CURSOR_MAX], ser[LIM_SERIAL_BYTES];
	struct api_inv_ca *cas = NULL;
	struct api_inv_query q;
	struct api_inv_page pg;
	enum api_inv_origin org;
	char scope[1536], id[37], xafter[API_INV_FP_LEN + 2] = "";
	size_t n = 0;
	pca_err err;

	memset(&pg, 0, sizeof(pg));
	inv_scope(call, in, scope, sizeof(scope));
	if ((err = api_inv_origin_of(in, &org)) != PCA_OK ||
	    (err = inv_cas(call, &cas, &n)) != PCA_OK ||
	    (err = inv_filters(call, in, cas, n, &q, id, ser)) != PCA_OK ||
	    (err = inv_token_open(call, in, scope, cur, &q, xafter)) != PCA_OK)
		goto out;
	if (org == API_INV_EXTERNAL || xafter[0] != '\0') {
		if ((pg.items = json_array()) == NULL) {
			err = pca_err_set(PCA_ENOMEM, "out of memory");
			goto out;
		}
	} else if ((err = api_inv_list(call->ctx->store, &q, &pg)) != PCA_OK ||
		   (err = inv_acme(call, &q, pg.items)) != PCA_OK ||
		   (err = api_inv_seen_add(call->ctx->store, pg.items,
			org == API_INV_ALL)) != PCA_OK)
		goto out;
	/* external certificates are neither issued through ACME nor ours */
	if (org != API_INV_OURS && !pg.more && !q.acme_only &&
	    q.serial == NULL &&
	    (err = api_inv_ext_list(call->ctx->engine, call->ctx->store, &q,
		 xafter[0] != '\0' ? xafter + 1 : "", &pg)) != PCA_OK)
		goto out;
	err = inv_answer(call, scope, &pg, out);
out:
	json_decref(pg.items);
	inv_cas_free(cas);
	return err;
}
