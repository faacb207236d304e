/*
 * part.c - the CRLs of a PARTITIONED CA: one per distinct CDP URI found in
 * its revoked certificates (each certificate's CDP names its partition)
 * plus the open partition, each with a critical IssuingDistributionPoint
 * equal to that URI and only the certificates that carry it.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "../common/limits.h"
#include "crl_int.h"

#define PART_MAX 60

struct pmember {
	uint8_t b[LIM_SERIAL_BYTES];
	size_t n;
	int part; /* index into parts, -1: none */
};

struct pscan {
	struct pmember *v;
	size_t n, cap;
	char *uris[PART_MAX];
	size_t nuris;
	int cur;          /* the partition being built */
	crl_keep_fn keep; /* the caller's filter (expiry) */
	void *keep_arg;
	int oom;
};

static int
collect(const uint8_t *serial, size_t len, int64_t when, int reason, void *arg)
{
	struct pscan *s = arg;
	struct pmember *nv;

	(void)when;
	(void)reason;
	if (len > LIM_SERIAL_BYTES)
		return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		if ((nv = realloc(s->v, s->cap * sizeof(*nv))) == NULL) {
			s->oom = 1;
			return 1;
		}
		s->v = nv;
	}
	memcpy(s->v[s->n].b, serial, len);
	s->v[s->n].n = len;
	s->v[s->n++].part = -1;
	return 0;
}

static int
uri_index(struct pscan *s, const char *uri)
{
	size_t i;

	for (i = 0; i < s->nuris; i++)
		if (strcmp(s->uris[i], uri) == 0)
			return (int)i;
	if (s->nuris == PART_MAX || (s->uris[i] = strdup(uri)) == NULL)
		return -1;
	s->nuris++;
	return (int)i;
}

/* The first fullName URI of the certificate's CDP, or NULL. */
static char *
cert_cdp(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	STACK_OF(DIST_POINT) *dps = NULL;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	char *uri = NULL;
	DIST_POINT *dp;
	GENERAL_NAME *gn;

	if (x != NULL &&
	    (dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL,
		 NULL)) != NULL &&
	    sk_DIST_POINT_num(dps) > 0 &&
	    (dp = sk_DIST_POINT_value(dps, 0))->distpoint != NULL &&
	    dp->distpoint->type == 0 &&
	    sk_GENERAL_NAME_num(dp->distpoint->name.fullname) > 0 &&
	    (gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0))
		    ->type == GEN_URI)
		uri = strndup((const char *)ASN1_STRING_get0_data(
				  gn->d.uniformResourceIdentifier),
		    (size_t)ASN1_STRING_length(
			gn->d.uniformResourceIdentifier));
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	X509_free(x);
	return uri;
}

static int
member_cmp(const void *a, const void *b)
{
	const struct pmember *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->b, y->b, n);

	return c ? c : (x->n < y->n ? -1 : x->n > y->n);
}

static int
keep_part(void *arg, const uint8_t *serial, size_t len)
{
	struct pscan *s = arg;
	struct pmember k, *m;

	if (len > LIM_SERIAL_BYTES)
		return 0;
	memcpy(k.b, serial, len);
	k.n = len;
	k.part = 0; /* member_cmp reads b and n only */
	m = bsearch(&k, s->v, s->n, sizeof(k), member_cmp);
	return m != NULL && m->part == s->cur &&
	       s->keep(s->keep_arg, serial, len);
}

static pca_err
assign(struct crl_job *j, struct pscan *s)
{
	struct store_cert sc;
	char *uri;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (store_cert_get(j->crl->store, j->ca->uuid, s->v[i].b,
			s->v[i].n, &sc) != PCA_OK)
			continue; /* a PENDING record: no CDP known */
		uri = sc.der ? cert_cdp(sc.der, sc.der_len) : NULL;
		store_cert_clear(&sc);
		if (uri != NULL && crl_uri_key(uri) != NULL &&
		    strcmp(crl_uri_key(uri), j->complete_key) != 0)
			s->v[i].part = uri_index(s, uri);
		free(uri);
	}
	for (i = 0; i < json_array_size(j->parts); i++)
		if (json_string_value(json_array_get(j->parts, i)) != NULL &&
		    uri_index(s,
			json_string_value(json_array_get(j->parts, i))) < 0)
			break;
	if (j->ca->cdp_uri != NULL && crl_uri_key(j->ca->cdp_uri) != NULL &&
	    uri_index(s, j->ca->cdp_uri) < 0)
		return pca_err_set(PCA_ELIMIT,
		    "CA %s has more than %d CRL "
		    "partitions with revocations",
		    j->ca->uuid, PART_MAX);
	return PCA_OK;
}

pca_err
crl_partitions(struct crl_job *j, uint64_t number, crl_keep_fn keep,
    void *keep_arg, struct crl_objs *o)
{
	struct pscan s;
	struct crl_params p;
	uint8_t *der;
	size_t len, cnt, i;
	pca_err e;

	memset(&s, 0, sizeof(s));
	s.keep = keep;
	s.keep_arg = keep_arg;
	if ((e = store_revoked_foreach(j->crl->store, j->ca->uuid, collect,
		 &s)) != PCA_OK)
		goto out;
	if (s.oom) {
		e = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if ((e = assign(j, &s)) != PCA_OK)
		goto out;
	json_array_clear(j->parts);
	for (i = 0; i < s.nuris; i++)
		json_array_append_new(j->parts, json_string(s.uris[i]));
	for (i = 0; i < s.nuris && e == PCA_OK; i++) {
		crl_params_init(j, number, &p);
		p.idp_uri = s.uris[i];
		p.keep = keep_part;
		p.keep_arg = &s;
		s.cur = (int)i;
		if ((e = crl_build(&p, &der, &len, &cnt)) == PCA_OK)
			e = crl_obj_add(o, crl_uri_key(s.uris[i]), number,
			    j->meta, der, len);
	}
out:
	for (i = 0; i < s.nuris; i++)
		free(s.uris[i]);
	free(s.v);
	return e;
}
