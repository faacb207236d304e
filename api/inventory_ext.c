/*
 * inventory_ext.c - certificates we did not issue in the inventory
 * (OpenPCA.ListCertificates with Origin EXTERNAL or ALL): the records of
 * discover/, filtered like ours, judged (weak key, SHA-1, expired,
 * self-signed, unknown issuer); and where discovery saw our own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>

#include "../ca/ca.h"
#include "../discover/disc.h"
#include "../common/util.h"
#include "../store/store.h"
#include "api_int.h"
#include "inventory.h"

pca_err
api_inv_origin_of(const json_t *in, enum api_inv_origin *out)
{
	const char *o = json_string_value(json_object_get(in, "Origin"));

	if (o == NULL || strcmp(o, "OURS") == 0)
		*out = API_INV_OURS;
	else if (strcmp(o, "EXTERNAL") == 0)
		*out = API_INV_EXTERNAL;
	else if (strcmp(o, "ALL") == 0)
		*out = API_INV_ALL;
	else
		return pca_err_set(PCA_EINVAL,
		    "Origin must be one of OURS, EXTERNAL, ALL");
	return PCA_OK;
}

/* ---- the names an issuer may have to count as known ---- */

static void
name_add(json_t *names, const X509_NAME *nm)
{
	char s[512];

	s[0] = '\0';
	(void)X509_NAME_oneline(nm, s, sizeof(s));
	(void)json_object_set_new(names, s, json_true());
}

static void
der_name_add(json_t *names, const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = len <= DISC_CERT_MAX ? d2i_X509(NULL, &p, (long)len) : NULL;

	if (x != NULL)
		name_add(names, X509_get_subject_name(x));
	X509_free(x);
}

static int
ext_name(const struct disc_ext *e, void *arg)
{
	der_name_add(arg, e->der, e->der_len);
	return 0;
}

/* Subjects of every CA of the appliance and every external certificate. */
static pca_err
known_names(struct ca_engine *e, struct store *st, json_t **out)
{
	char(*ids)[37] = NULL;
	struct ca_info ci;
	json_t *names = json_object();
	size_t i, n = 0;
	pca_err err;

	if (names == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	if ((err = ca_info_ids(e, &ids, &n)) != PCA_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if (ca_info_get(e, ids[i], &ci) != PCA_OK) {
			pca_err_clear(); /* deleted since */
			continue;
		}
		if (ci.cert_der != NULL)
			der_name_add(names, ci.cert_der, ci.cert_len);
		ca_info_clear(&ci);
	}
	err = disc_ext_foreach(st, ext_name, names);
out:
	free(ids);
	if (err != PCA_OK) {
		json_decref(names);
		return err;
	}
	*out = names;
	return PCA_OK;
}

/* ---- one page of external certificates ---- */

struct ext_list {
	struct ca_engine *engine;
	struct store *store;
	const struct api_inv_query *q;
	const char *after;
	struct api_inv_page *pg;
	json_t *names; /* known issuer names, made when first needed */
	pca_err err;
};

static int
has_finding(const json_t *it, const char *f)
{
	const json_t *v;
	size_t i;

	json_array_foreach (json_object_get(it, "Findings"), i, v)
		if (strcmp(json_string_value(v), f) == 0)
			return 1;
	return 0;
}

static int
ext_match(const struct api_inv_query *q, const json_t *it)
{
	const char *st = json_string_value(json_object_get(it, "Status"));
	const char *subj = json_string_value(json_object_get(it, "Subject"));
	json_int_t na = json_integer_value(json_object_get(it, "NotAfter"));

	if (q->status != NULL && (st == NULL || strcmp(q->status, st) != 0))
		return 0;
	if (q->has_before && na >= q->before)
		return 0;
	return q->name == NULL ||
	       (subj != NULL && strcasestr(subj, q->name) != NULL);
}

/* UNKNOWN_ISSUER when it applies. */
static pca_err
ext_judge(struct ext_list *l, json_t *it)
{
	const char *iss = json_string_value(json_object_get(it, "Issuer"));
	pca_err err;

	if (iss == NULL || has_finding(it, "SELF_SIGNED"))
		return PCA_OK;
	if (l->names == NULL &&
	    (err = known_names(l->engine, l->store, &l->names)) != PCA_OK)
		return err;
	if (json_object_get(l->names, iss) == NULL &&
	    json_array_append_new(json_object_get(it, "Findings"),
		json_string("UNKNOWN_ISSUER")) != 0)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	return PCA_OK;
}

static int
ext_cb(const struct disc_ext *e, void *arg)
{
	struct ext_list *l = arg;
	struct api_inv_page *pg = l->pg;
	json_t *it;

	if (l->after[0] != '\0' && strcmp(e->fp, l->after) <= 0)
		return 0;
	if ((it = disc_ext_item(e, l->q->now)) == NULL)
		return 0; /* does not parse: recorded, not listable */
	if (!ext_match(l->q, it)) {
		json_decref(it);
		return 0;
	}
	if (json_array_size(pg->items) >= l->q->max) {
		pg->ext_more = 1; /* one more: resume after the last listed */
		json_decref(it);
		return 1;
	}
	if ((l->err = ext_judge(l, it)) == PCA_OK &&
	    json_array_append(pg->items, it) != 0)
		l->err = pca_err_set(PCA_ENOMEM, "out of memory");
	(void)snprintf(pg->ext_last, sizeof(pg->ext_last), "%s", e->fp);
	json_decref(it);
	return l->err != PCA_OK;
}

pca_err
api_inv_ext_list(struct ca_engine *e, struct store *st,
    const struct api_inv_query *q, const char *after, struct api_inv_page *pg)
{
	struct ext_list l;
	pca_err err;

	pg->ext_more = 0;
	pg->ext_last[0] = '\0';
	/* external certificates have neither a CA of ours nor a template */
	if (q->ca_id != NULL || q->tmpl != NULL ||
	    (q->status != NULL && strcmp(q->status, "ISSUED") != 0 &&
		strcmp(q->status, "EXPIRED") != 0))
		return PCA_OK;
	memset(&l, 0, sizeof(l));
	l.engine = e;
	l.store = st;
	l.q = q;
	l.after = after != NULL ? after : "";
	l.pg = pg;
	err = disc_ext_foreach(st, ext_cb, &l);
	if (err == PCA_OK)
		err = l.err;
	json_decref(l.names);
	return err;
}

/* ---- where discovery saw ours ---- */

static int
any_key(const char *key, const uint8_t *val, size_t len, void *arg)
{
	(void)key;
	(void)val;
	(void)len;
	*(int *)arg = 1;
	return 1;
}

pca_err
api_inv_seen_add(struct store *st, json_t *items, int source)
{
	const char *arn, *serial;
	char id[37];
	json_t *it, *eps = NULL;
	size_t i;
	int any = 0;
	pca_err err;

	if (source)
		json_array_foreach (items, i, it)
			if (json_object_set_new(it, "Source",
				json_string("OURS")) != 0)
				return pca_err_set(PCA_ENOMEM, "out of memory");
	if (json_array_size(items) == 0)
		return PCA_OK;
	if ((err = store_kv_foreach(st, DISC_NS_OURS, any_key, &any)) != PCA_OK)
		return err;
	if (!any) /* discovery never saw one of ours */
		return PCA_OK;
	json_array_foreach (items, i, it) {
		arn = json_string_value(
		    json_object_get(it, "CertificateAuthorityArn"));
		serial = json_string_value(json_object_get(it, "Serial"));
		if (arn == NULL || serial == NULL ||
		    ca_arn_uuid(arn, id) != PCA_OK) {
			pca_err_clear();
			continue;
		}
		if ((err = disc_ours_seen(st, id, serial, &eps)) != PCA_OK)
			return err;
		if (json_array_size(eps) > 0 &&
		    json_object_set(it, "SeenAt", eps) != 0) {
			json_decref(eps);
			return pca_err_set(PCA_ENOMEM, "out of memory");
		}
		json_decref(eps);
		eps = NULL;
	}
	return PCA_OK;
}

/* ---- OpenPCA.GetExternalCertificate ---- */

struct ext_one {
	struct ext_list *l;
	json_t *item;
	char *pem;
};

static void
ext_one_cb(const struct disc_ext *e, void *arg)
{
	struct ext_one *o = arg;
	char *b64 = NULL;
	struct buf b;

	if ((o->item = disc_ext_item(e, o->l->q->now)) == NULL)
		return;
	buf_init(&b, 2 * DISC_CERT_MAX + 256);
	if (util_b64_encode(e->der, e->der_len, &b64) == PCA_OK &&
	    buf_addstr(&b, "-----BEGIN CERTIFICATE-----\n") == PCA_OK) {
		size_t i, n = strlen(b64);
		pca_err err = PCA_OK;

		for (i = 0; i < n && err == PCA_OK; i += 64)
			if ((err = buf_add(&b, b64 + i,
				 n - i < 64 ? n - i : 64)) == PCA_OK)
				err = buf_addstr(&b, "\n");
		if (err == PCA_OK &&
		    buf_addstr(&b, "-----END CERTIFICATE-----\n") == PCA_OK &&
		    buf_add(&b, "", 1) == PCA_OK)
			o->pem = (char *)buf_steal(&b, &n);
	}
	buf_free(&b);
	free(b64);
}

static int
fp_valid(const char *fp)
{
	size_t i;

	for (i = 0; fp != NULL && fp[i] != '\0'; i++)
		if (!((fp[i] >= '0' && fp[i] <= '9') ||
			(fp[i] >= 'a' && fp[i] <= 'f')))
			return 0;
	return fp != NULL && i == API_INV_FP_LEN;
}

pca_err
api_op_get_ext_cert(struct api_call *call, const json_t *in, json_t **out)
{
	const char *fp = json_string_value(json_object_get(in, "Fingerprint"));
	struct api_inv_query q;
	struct ext_list l;
	struct ext_one o;
	pca_err err;

	if (!fp_valid(fp))
		return pca_err_set(PCA_EINVAL,
		    "Fingerprint must be the SHA-256 of the certificate in "
		    "64 lower-case hex digits");
	memset(&q, 0, sizeof(q));
	q.now = call->ctx->now();
	memset(&l, 0, sizeof(l));
	l.engine = call->ctx->engine;
	l.store = call->ctx->store;
	l.q = &q;
	memset(&o, 0, sizeof(o));
	o.l = &l;
	err = disc_ext_get(call->ctx->store, fp, ext_one_cb, &o);
	if (err == PCA_ENOTFOUND)
		err = pca_err_set(PCA_ENOTFOUND,
		    "Could not find external certificate %s", fp);
	else if (err == PCA_OK && (o.item == NULL || o.pem == NULL))
		err = pca_err_set(o.item == NULL ? PCA_EBADCERT : PCA_ENOMEM,
		    "external certificate %s cannot be shown", fp);
	if (err == PCA_OK && (err = ext_judge(&l, o.item)) == PCA_OK &&
	    json_object_set_new(o.item, "Certificate", json_string(o.pem)))
		err = pca_err_set(PCA_ENOMEM, "out of memory");
	if (err == PCA_OK) {
		*out = o.item;
		o.item = NULL;
	}
	json_decref(o.item);
	json_decref(l.names);
	free(o.pem);
	return err;
}
