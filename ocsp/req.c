/*
 * req.c - OCSPRequest parsing (RFC 6960 4.1.1) over x509/'s bounded DER
 * reader: no allocation, every length checked against what remains,
 * definite minimal lengths only, every byte consumed.  The request
 * signature (optionalSignature) and requestorName are skipped: this
 * responder does not require signed requests.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "../x509/x509.h"
#include "ocsp_int.h"

#define TAG_BOOL 0x01
#define TAG_INT 0x02
#define TAG_OCTETS 0x04
#define TAG_NULL 0x05
#define TAG_OID 0x06
#define TAG_SEQ 0x30

struct der {
	const uint8_t *p;
	size_t left;
};

struct tlv {
	unsigned tag;
	const uint8_t *c;
	size_t len;
};

static const uint8_t OID_SHA1[] = {0x2b, 0x0e, 0x03, 0x02, 0x1a};
static const uint8_t OID_SHA256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
    0x02, 0x01};
static const uint8_t OID_NONCE[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30,
    0x01, 0x02};

static pca_err
bad(const char *what)
{
	return pca_err_set(PCA_EPARSE, "OCSP request: %s (RFC 6960 4.1.1)",
	    what);
}

/* Reads one TLV (single-octet tag, definite minimal length, at most two
 * length octets: requests are small) with x509/'s reader. */
static pca_err
next(struct der *d, struct tlv *t)
{
	struct x509_der el;

	memset(t, 0, sizeof(*t));
	switch (x509_der_next(&d->p, &d->left, X509_DER_LOWTAG | X509_DER_LEN2,
	    &el)) {
	case X509_DER_OK:
		break;
	case X509_DER_ETRUNC:
		return bad("truncated element");
	case X509_DER_EHIGHTAG:
		return bad("high tag number");
	case X509_DER_EINDEF:
		return bad("indefinite length");
	case X509_DER_ELENSHORT:
		return bad("length not minimal");
	case X509_DER_EOVERRUN:
		return bad("element longer than its container");
	default: /* too many or truncated length octets, or a leading 00 */
		return bad("length too long or not minimal");
	}
	t->tag = el.id;
	t->c = el.c;
	t->len = el.clen;
	return PCA_OK;
}

static pca_err
expect(struct der *d, unsigned tag, struct der *inner)
{
	struct tlv t;
	pca_err err;

	inner->p = NULL;
	inner->left = 0;
	if ((err = next(d, &t)) != PCA_OK)
		return err;
	if (t.tag != tag)
		return bad("unexpected element");
	inner->p = t.c;
	inner->left = t.len;
	return PCA_OK;
}

static int
peek(const struct der *d, unsigned tag)
{
	return d->left > 0 && d->p[0] == tag;
}

static pca_err
hash_alg(struct der *d, enum ocsp_hash *h)
{
	struct der a, o;
	struct tlv t;
	pca_err err;

	if ((err = expect(d, TAG_SEQ, &a)) != PCA_OK ||
	    (err = expect(&a, TAG_OID, &o)) != PCA_OK)
		return err;
	if (o.left == sizeof(OID_SHA1) && memcmp(o.p, OID_SHA1, o.left) == 0)
		*h = OCSP_HASH_SHA1;
	else if (o.left == sizeof(OID_SHA256) &&
		 memcmp(o.p, OID_SHA256, o.left) == 0)
		*h = OCSP_HASH_SHA256;
	else
		return bad(
		    "CertID hash algorithm is neither SHA-1 nor SHA-256");
	if (a.left > 0) {
		if ((err = next(&a, &t)) != PCA_OK)
			return err;
		if (t.tag != TAG_NULL || t.len != 0 || a.left != 0)
			return bad("hash algorithm parameters are not NULL");
	}
	return PCA_OK;
}

static pca_err
octets(struct der *d, uint8_t *out, size_t want)
{
	struct der o;
	pca_err err;

	if ((err = expect(d, TAG_OCTETS, &o)) != PCA_OK)
		return err;
	if (o.left != want)
		return bad("CertID hash has the wrong length");
	memcpy(out, o.p, want);
	return PCA_OK;
}

static pca_err
certid(struct der *d, struct ocsp_certid *id)
{
	struct der c, s;
	pca_err err;

	if ((err = expect(d, TAG_SEQ, &c)) != PCA_OK ||
	    (err = hash_alg(&c, &id->hash)) != PCA_OK ||
	    (err = octets(&c, id->name_hash, ocsp_hash_len(id->hash))) !=
		PCA_OK ||
	    (err = octets(&c, id->key_hash, ocsp_hash_len(id->hash))) !=
		PCA_OK ||
	    (err = expect(&c, TAG_INT, &s)) != PCA_OK)
		return err;
	if (c.left != 0)
		return bad("trailing data in CertID");
	if (s.left == 0 || s.left > sizeof(id->serial))
		return bad("serialNumber is empty or longer than 20 octets");
	if (s.left > 1 && ((s.p[0] == 0 && !(s.p[1] & 0x80)) ||
			      (s.p[0] == 0xff && (s.p[1] & 0x80))))
		return bad("serialNumber is not minimal DER");
	memcpy(id->serial, s.p, s.left);
	id->serial_len = s.left;
	return PCA_OK;
}

/* One Extension; a nonce goes into r (once), critical unknowns fail. */
static pca_err
extension(struct der *d, struct ocsp_req *r, int nonce_ok, struct der *oid)
{
	struct der e, v, n;
	struct tlv t;
	int crit = 0, is_nonce;
	pca_err err;

	if ((err = expect(d, TAG_SEQ, &e)) != PCA_OK ||
	    (err = expect(&e, TAG_OID, oid)) != PCA_OK)
		return err;
	if (peek(&e, TAG_BOOL)) {
		if ((err = next(&e, &t)) != PCA_OK)
			return err;
		if (t.len != 1 || t.c[0] != 0xff)
			return bad("critical flag is not DER TRUE");
		crit = 1;
	}
	if ((err = expect(&e, TAG_OCTETS, &v)) != PCA_OK)
		return err;
	if (e.left != 0)
		return bad("trailing data in an extension");
	is_nonce = oid->left == sizeof(OID_NONCE) &&
		   memcmp(oid->p, OID_NONCE, oid->left) == 0;
	if (!is_nonce || !nonce_ok)
		return crit ? bad("unsupported critical extension") : PCA_OK;
	if ((err = expect(&v, TAG_OCTETS, &n)) != PCA_OK)
		return err;
	if (v.left != 0 || n.left == 0 || n.left > OCSP_MAX_NONCE)
		return pca_err_set(PCA_EPARSE,
		    "OCSP request: nonce must be one OCTET STRING of 1 to 128 "
		    "octets (RFC 9654 2.1)");
	memcpy(r->nonce, n.p, n.left);
	r->nonce_len = n.left;
	r->has_nonce = 1;
	return PCA_OK;
}

#define EXTS_MAX 32

/* [tag] EXPLICIT Extensions: 1..EXTS_MAX extensions, no OID twice. */
static pca_err
extensions(struct der *d, unsigned tag, struct ocsp_req *r, int nonce_ok)
{
	struct der x, s, seen[EXTS_MAX];
	size_t n = 0, i;
	pca_err err;

	if ((err = expect(d, tag, &x)) != PCA_OK ||
	    (err = expect(&x, TAG_SEQ, &s)) != PCA_OK)
		return err;
	if (x.left != 0 || s.left == 0)
		return bad("malformed extensions");
	while (s.left > 0) {
		if (n == EXTS_MAX)
			return bad("too many extensions");
		if ((err = extension(&s, r, nonce_ok, &seen[n])) != PCA_OK)
			return err;
		for (i = 0; i < n; i++)
			if (seen[i].left == seen[n].left &&
			    memcmp(seen[i].p, seen[n].p, seen[i].left) == 0)
				return bad("an extension appears twice "
					   "(RFC 5280 4.2)");
		n++;
	}
	return PCA_OK;
}

/* Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] } */
static pca_err
request_list(struct der *l, struct ocsp_req *r)
{
	struct der q;
	pca_err err;

	if (l->left == 0)
		return bad("requestList is empty");
	while (l->left > 0) {
		if (r->n == OCSP_MAX_CERTIDS)
			return pca_err_set(PCA_ETOOBIG,
			    "OCSP request: more than %d CertIDs",
			    OCSP_MAX_CERTIDS);
		if ((err = expect(l, TAG_SEQ, &q)) != PCA_OK ||
		    (err = certid(&q, &r->ids[r->n])) != PCA_OK)
			return err;
		if (peek(&q, 0xa0) &&
		    (err = extensions(&q, 0xa0, r, 0)) != PCA_OK)
			return err;
		if (q.left != 0)
			return bad("trailing data in a Request");
		r->n++;
	}
	return PCA_OK;
}

static pca_err
tbs_request(struct der *t, struct ocsp_req *r)
{
	struct der v, i, l;
	struct tlv skip;
	pca_err err;

	if (peek(t, 0xa0)) {
		if ((err = expect(t, 0xa0, &v)) != PCA_OK ||
		    (err = expect(&v, TAG_INT, &i)) != PCA_OK)
			return err;
		if (v.left != 0 || i.left != 1 || i.p[0] != 0)
			return bad("version is not v1");
	}
	if (peek(t, 0xa1) && (err = next(t, &skip)) != PCA_OK)
		return err;
	if ((err = expect(t, TAG_SEQ, &l)) != PCA_OK ||
	    (err = request_list(&l, r)) != PCA_OK)
		return err;
	if (peek(t, 0xa2) && (err = extensions(t, 0xa2, r, 1)) != PCA_OK)
		return err;
	if (t->left != 0)
		return bad("trailing data in tbsRequest");
	return PCA_OK;
}

pca_err
ocsp_req_parse(const uint8_t *p, size_t len, struct ocsp_req *out)
{
	struct der d = {p, len}, o, t;
	struct tlv sig;
	pca_err err;

	if (len > OCSP_MAX_REQUEST)
		return pca_err_set(PCA_ETOOBIG,
		    "OCSP request of %zu bytes is over the %d-byte limit", len,
		    OCSP_MAX_REQUEST);
	memset(out, 0, sizeof(*out));
	if ((err = expect(&d, TAG_SEQ, &o)) != PCA_OK)
		return err;
	if (d.left != 0)
		return bad("data after the OCSPRequest");
	if ((err = expect(&o, TAG_SEQ, &t)) != PCA_OK ||
	    (err = tbs_request(&t, out)) != PCA_OK)
		return err;
	if (peek(&o, 0xa0) && (err = next(&o, &sig)) != PCA_OK)
		return err;
	if (o.left != 0)
		return bad("trailing data in OCSPRequest");
	return PCA_OK;
}

#define GET_PATH_MAX (2 * OCSP_MAX_REQUEST * 3)

pca_err
ocsp_get_decode(const char *path, uint8_t **der, size_t *len)
{
	char *s = NULL;
	size_t n, i, o = 0;
	int hi, lo;
	pca_err err;

	if (path == NULL || *path != '/')
		return pca_err_set(PCA_EPARSE, "OCSP GET: path must start "
					       "with '/' (RFC 6960 A.1)");
	path++;
	if ((n = strlen(path)) > GET_PATH_MAX)
		return pca_err_set(PCA_ETOOBIG, "OCSP GET: path too long");
	if ((s = malloc(n + 1)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (i = 0; i < n; i++) {
		if (path[i] != '%') {
			s[o++] = path[i];
			continue;
		}
		if (i + 2 >= n ||
		    (hi = util_hexval((unsigned char)path[i + 1])) < 0 ||
		    (lo = util_hexval((unsigned char)path[i + 2])) < 0) {
			free(s);
			return pca_err_set(PCA_EPARSE,
			    "OCSP GET: bad percent-encoding");
		}
		s[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	s[o] = '\0';
	err = util_b64_decode(s, o, OCSP_MAX_REQUEST, der, len);
	free(s);
	if (err != PCA_OK)
		return pca_err_set(err == PCA_ETOOBIG ? PCA_ETOOBIG
						      : PCA_EPARSE,
		    "OCSP GET: %s", pca_err_msg());
	return PCA_OK;
}
