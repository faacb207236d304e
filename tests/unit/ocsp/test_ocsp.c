/*
 * test_ocsp.c - the responder's pure pieces: request parsing (requests made
 * by OpenSSL's own OCSP API, hostile variants), GET decoding, response DER
 * (signed here with a software key and verified by OpenSSL's
 * OCSP_basic_verify as an independent check), the table, configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../../x509/x509.h"
#include "../../../common/util.h"
#include "../../../ocsp/ocsp_int.h"

/* ---- fixtures: an issuer and a delegated responder, software keys ---- */

struct pki {
	EVP_PKEY *ca_key, *rs_key;
	X509 *ca, *rs;
};

static X509 *
mk_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, int ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx,
	    ca ? NID_basic_constraints : NID_ext_key_usage,
	    ca ? "critical,CA:TRUE" : "critical,OCSPSigning");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(x, ikey ? ikey : key, EVP_sha256());
	X509_NAME_free(n);
	return x;
}

static void
pki_new(struct pki *p)
{
	p->ca_key = EVP_EC_gen("P-256");
	p->rs_key = EVP_EC_gen("P-256");
	p->ca = mk_cert("Test CA", p->ca_key, NULL, NULL, 1);
	p->rs = mk_cert("Test OCSP", p->rs_key, p->ca, p->ca_key, 0);
	assert_non_null(p->ca);
	assert_non_null(p->rs);
}

static void
pki_free(struct pki *p)
{
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->rs_key);
	X509_free(p->ca);
	X509_free(p->rs);
}

/* A DER request from OpenSSL for serials 1..n, SHA-1 or SHA-256. */
static size_t
mk_req(const struct pki *p, int n, const EVP_MD *md, int nonce_len,
    uint8_t *out, size_t max)
{
	OCSP_REQUEST *q = OCSP_REQUEST_new();
	unsigned char *d = NULL;
	uint8_t nonce[200];
	int i, len;

	for (i = 0; i < n; i++) {
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		ASN1_INTEGER_set(s, 0x1000 + i);
		OCSP_request_add0_id(q,
		    OCSP_cert_id_new(md, X509_get_subject_name(p->ca),
			X509_get0_pubkey_bitstr(p->ca), s));
		ASN1_INTEGER_free(s);
	}
	memset(nonce, 0x5a, sizeof(nonce));
	if (nonce_len > 0)
		OCSP_request_add1_nonce(q, nonce, nonce_len);
	len = i2d_OCSP_REQUEST(q, &d);
	assert_true(len > 0 && (size_t)len <= max);
	memcpy(out, d, (size_t)len);
	OPENSSL_free(d);
	OCSP_REQUEST_free(q);
	return (size_t)len;
}

static void
t_parse_good(void **state)
{
	struct pki p;
	uint8_t der[4096];
	struct ocsp_req r;
	size_t n;

	(void)state;
	pki_new(&p);
	n = mk_req(&p, 1, EVP_sha1(), 0, der, sizeof(der));
	assert_int_equal(ocsp_req_parse(der, n, &r), PCA_OK);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ids[0].hash, OCSP_HASH_SHA1);
	assert_int_equal(r.has_nonce, 0);
	assert_int_equal(r.ids[0].serial_len, 2);
	assert_int_equal(r.ids[0].serial[0], 0x10);

	n = mk_req(&p, 16, EVP_sha256(), 32, der, sizeof(der));
	assert_int_equal(ocsp_req_parse(der, n, &r), PCA_OK);
	assert_int_equal(r.n, 16);
	assert_int_equal(r.ids[15].hash, OCSP_HASH_SHA256);
	assert_int_equal(r.has_nonce, 1);
	assert_int_equal(r.nonce_len, 32);
	assert_int_equal(r.nonce[0], 0x5a);
	pki_free(&p);
}

static void
t_parse_bad(void **state)
{
	struct pki p;
	uint8_t der[8192], big[OCSP_MAX_REQUEST + 1];
	struct ocsp_req r;
	size_t n, i;

	(void)state;
	pki_new(&p);
	n = mk_req(&p, 1, EVP_sha1(), 0, der, sizeof(der));
	for (i = 0; i < n; i++) /* every truncation fails */
		assert_int_not_equal(ocsp_req_parse(der, i, &r), PCA_OK);
	der[n] = 0;
	assert_int_equal(ocsp_req_parse(der, n + 1, &r), PCA_EPARSE);
	/* 17 CertIDs */
	n = mk_req(&p, 17, EVP_sha1(), 0, der, sizeof(der));
	assert_int_equal(ocsp_req_parse(der, n, &r), PCA_ETOOBIG);
	/* nonce of 129 octets (RFC 9654: at most 128) */
	n = mk_req(&p, 1, EVP_sha1(), 129, der, sizeof(der));
	assert_int_equal(ocsp_req_parse(der, n, &r), PCA_EPARSE);
	n = mk_req(&p, 1, EVP_sha1(), 128, der, sizeof(der));
	assert_int_equal(ocsp_req_parse(der, n, &r), PCA_OK);
	/* MD5 CertID */
	n = mk_req(&p, 1, EVP_md5(), 0, der, sizeof(der));
	assert_int_equal(ocsp_req_parse(der, n, &r), PCA_EPARSE);
	/* oversize */
	memset(big, 0x30, sizeof(big));
	assert_int_equal(ocsp_req_parse(big, sizeof(big), &r), PCA_ETOOBIG);
	/* not DER at all, indefinite length */
	assert_int_equal(ocsp_req_parse((const uint8_t *)"hello", 5, &r),
	    PCA_EPARSE);
	assert_int_equal(
	    ocsp_req_parse((const uint8_t *)"\x30\x80\x00\x00", 4, &r),
	    PCA_EPARSE);
	pki_free(&p);
}

static void
t_parse_dup_ext(void **state)
{
	/* a request whose extension 1.2.3 appears twice (RFC 5280 4.2) */
	static const uint8_t q[] = {0x30, 0x56, 0x30, 0x54, 0x30, 0x3e, 0x30,
	    0x3c, 0x30, 0x3a, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02,
	    0x1a, 0x05, 0x00, 0x04, 0x14, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	    1, 1, 1, 1, 1, 1, 1, 0x04, 0x14, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	    2, 2, 2, 2, 2, 2, 2, 2, 0x02, 0x01, 0x07, 0xa2, 0x12, 0x30, 0x10,
	    0x30, 0x06, 0x06, 0x02, 0x2a, 0x03, 0x04, 0x00, 0x30, 0x06, 0x06,
	    0x02, 0x2a, 0x03, 0x04, 0x00};
	uint8_t one[sizeof(q)];
	struct ocsp_req r;

	(void)state;
	assert_int_equal(ocsp_req_parse(q, sizeof(q), &r), PCA_EPARSE);
	/* the same with one extension (lengths fixed up) parses */
	memcpy(one, q, sizeof(q));
	one[1] -= 8;
	one[3] -= 8;
	one[69] -= 8;
	one[71] -= 8;
	assert_int_equal(ocsp_req_parse(one, sizeof(q) - 8, &r), PCA_OK);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.has_nonce, 0);
}

static void
t_get_decode(void **state)
{
	uint8_t *der = NULL;
	size_t n;

	(void)state;
	assert_int_equal(ocsp_get_decode("/MAMCAQA%3D", &der, &n), PCA_OK);
	assert_int_equal(n, 5);
	assert_int_equal(der[0], 0x30);
	free(der);
	assert_int_equal(ocsp_get_decode("/MAMC%2", &der, &n), PCA_EPARSE);
	assert_int_equal(ocsp_get_decode("/!!!!", &der, &n), PCA_EPARSE);
	assert_int_equal(ocsp_get_decode("nope", &der, &n), PCA_EPARSE);
}

/* Signs tbs with key the way hsm_sign would (signature value only). */
static size_t
soft_sign(EVP_PKEY *key, const uint8_t *tbs, size_t len, uint8_t *sig)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t sl = LIM_SIG;

	assert_int_equal(EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, key),
	    1);
	assert_int_equal(EVP_DigestSign(c, sig, &sl, tbs, len), 1);
	EVP_MD_CTX_free(c);
	return sl;
}

static OCSP_RESPONSE *
build(const struct pki *p, const struct ocsp_single *s, size_t n,
    const uint8_t *nonce, size_t nl)
{
	uint8_t kid[20], *tbs = NULL, *der = NULL, sig[LIM_SIG], *spki = NULL;
	size_t tl, dl, sl;
	int spl = i2d_PUBKEY(p->rs_key, &spki);
	unsigned char *cert = NULL;
	int cl = i2d_X509(p->rs, &cert);
	const unsigned char *q;
	OCSP_RESPONSE *r;

	assert_int_equal(x509_spki_keyid(spki, (size_t)spl, kid), PCA_OK);
	assert_int_equal(
	    ocsp_tbs_build(kid, util_now(), s, n, nonce, nl, &tbs, &tl),
	    PCA_OK);
	sl = soft_sign(p->rs_key, tbs, tl, sig);
	assert_int_equal(ocsp_resp_assemble(tbs, tl, PCA_SIG_SHA256_ECDSA, sig,
			     sl, cert, (size_t)cl, &der, &dl),
	    PCA_OK);
	q = der;
	r = d2i_OCSP_RESPONSE(NULL, &q, (long)dl);
	assert_non_null(r);
	assert_ptr_equal(q, der + dl);
	free(tbs);
	free(der);
	OPENSSL_free(spki);
	OPENSSL_free(cert);
	return r;
}

static void
t_response_verifies(void **state)
{
	struct pki p;
	uint8_t der[4096];
	struct ocsp_req q;
	struct ocsp_single s[3];
	OCSP_RESPONSE *r;
	OCSP_BASICRESP *b;
	OCSP_REQUEST *oq;
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *none = sk_X509_new_null();
	ASN1_GENERALIZEDTIME *rev, *tu, *nu;
	const unsigned char *qp = der;
	int status, reason, i;
	int64_t now = util_now();
	size_t n;

	(void)state;
	pki_new(&p);
	X509_STORE_add_cert(st, p.ca);
	n = mk_req(&p, 3, EVP_sha256(), 16, der, sizeof(der));
	assert_int_equal(ocsp_req_parse(der, n, &q), PCA_OK);
	memset(s, 0, sizeof(s));
	for (i = 0; i < 3; i++) {
		s[i].id = &q.ids[i];
		s[i].this_update = now;
		s[i].next_update = now + 86400;
	}
	s[0].status = OCSP_GOOD;
	s[1].status = OCSP_REVOKED;
	s[1].revoked_at = now - 60;
	s[1].reason = 1;
	s[2].status = OCSP_UNKNOWN;
	r = build(&p, s, 3, q.nonce, q.nonce_len);
	assert_int_equal(OCSP_response_status(r),
	    OCSP_RESPONSE_STATUS_SUCCESSFUL);
	b = OCSP_response_get1_basic(r);
	assert_non_null(b);
	assert_int_equal(OCSP_basic_verify(b, none, st, 0), 1);
	oq = d2i_OCSP_REQUEST(NULL, &qp, (long)n);
	assert_int_equal(OCSP_check_nonce(oq, b), 1);
	for (i = 0; i < 3; i++) {
		OCSP_CERTID *id =
		    OCSP_onereq_get0_id(OCSP_request_onereq_get0(oq, i));
		assert_int_equal(OCSP_resp_find_status(b, id, &status, &reason,
				     &rev, &tu, &nu),
		    1);
		assert_int_equal(status, i == 0   ? V_OCSP_CERTSTATUS_GOOD
					 : i == 1 ? V_OCSP_CERTSTATUS_REVOKED
						  : V_OCSP_CERTSTATUS_UNKNOWN);
		if (i == 1)
			assert_int_equal(reason, 1);
		assert_int_equal(OCSP_check_validity(tu, nu, 300, -1), 1);
	}
	OCSP_REQUEST_free(oq);
	OCSP_BASICRESP_free(b);
	OCSP_RESPONSE_free(r);
	sk_X509_free(none);
	X509_STORE_free(st);
	pki_free(&p);
}

static void
t_error_responses(void **state)
{
	const uint8_t *e;
	const unsigned char *q;
	size_t n;
	OCSP_RESPONSE *r;
	int s[] = {OCSP_R_MALFORMED, OCSP_R_TRYLATER, OCSP_R_UNAUTHORIZED,
	    OCSP_R_INTERNAL};
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		e = ocsp_resp_error((enum ocsp_rstatus)s[i], &n);
		q = e;
		r = d2i_OCSP_RESPONSE(NULL, &q, (long)n);
		assert_non_null(r);
		assert_int_equal(OCSP_response_status(r), s[i]);
		OCSP_RESPONSE_free(r);
	}
}

/* The stored record: what is encoded decodes back; other bytes do not. */
static void
t_record(void **state)
{
	const uint8_t der[] = {0x30, 0x03, 0x0a, 0x01, 0x00};
	struct ocsp_crec r, d;
	uint8_t *v = NULL;
	size_t n = 0;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.status = OCSP_REVOKED;
	r.produced = 1700000000;
	r.next_update = 1700086400;
	r.revoked_at = 1690000000;
	r.not_after = 1800000000;
	r.der = der;
	r.len = sizeof(der);
	assert_int_equal(ocsp_crec_encode(&r, &v, &n), PCA_OK);
	assert_int_equal(n, OCSP_REC_HDR + sizeof(der));
	assert_true(ocsp_crec_decode(v, n, &d));
	assert_int_equal(d.status, OCSP_REVOKED);
	assert_int_equal(d.produced, r.produced);
	assert_int_equal(d.next_update, r.next_update);
	assert_int_equal(d.revoked_at, r.revoked_at);
	assert_int_equal(d.not_after, r.not_after);
	assert_int_equal(d.len, sizeof(der));
	assert_memory_equal(d.der, der, sizeof(der));
	assert_string_equal(d.etag, r.etag);
	assert_int_equal(strlen(d.etag), 34);
	assert_false(ocsp_crec_decode(v, OCSP_REC_HDR, &d));
	v[0] ^= 1; /* another format (the old "OCR1" records) */
	assert_false(ocsp_crec_decode(v, n, &d));
	free(v);
}

static void
t_serial_norm(void **state)
{
	const uint8_t a[] = {0x00, 0x80, 0x01}, b[] = {0xff}, *o = NULL;

	(void)state;
	assert_int_equal(ocsp_serial_norm(a, 3, &o), 2);
	assert_int_equal(o[0], 0x80);
	assert_int_equal(ocsp_serial_norm(b, 1, &o), 0);
}

static void
t_conf(void **state)
{
	struct ocsp_conf c;

	(void)state;
	ocsp_conf_default(&c);
	assert_int_equal(ocsp_conf_check(&c), PCA_OK);
	assert_int_equal(ocsp_refresh_at(&c, 1000), 1000 + 12 * 3600);
	c.validity_s = 10 * 86400;
	c.signer_days = 60;
	assert_int_equal(ocsp_conf_check(&c), PCA_OK);
	assert_int_equal(ocsp_refresh_at(&c, 0), 4 * 86400); /* BR cap */
	c.validity_s = 7 * 3600;
	assert_int_equal(ocsp_conf_check(&c), PCA_EINVAL);
	c.validity_s = 11 * 86400;
	assert_int_equal(ocsp_conf_check(&c), PCA_EINVAL);
	ocsp_conf_default(&c);
	c.refresh_s = 20 * 3600; /* only 4 h before nextUpdate */
	assert_int_equal(ocsp_conf_check(&c), PCA_EINVAL);
	ocsp_conf_default(&c);
	c.signer_days = 3;
	assert_int_equal(ocsp_conf_check(&c), PCA_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_parse_good),
	    cmocka_unit_test(t_parse_bad),
	    cmocka_unit_test(t_parse_dup_ext),
	    cmocka_unit_test(t_get_decode),
	    cmocka_unit_test(t_response_verifies),
	    cmocka_unit_test(t_error_responses),
	    cmocka_unit_test(t_record),
	    cmocka_unit_test(t_serial_norm),
	    cmocka_unit_test(t_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
