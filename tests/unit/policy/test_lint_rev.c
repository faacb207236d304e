/*
 * test_lint_rev.c - the lint gate for CRLs and OCSP responses
 * (x509/lint_crl.c, x509/lint_ocsp.c): good inputs pass, and each
 * deliberately broken one is refused naming its rule.  TBSCertLists come
 * from OpenSSL's own encoder (i2d_re_X509_CRL_tbs); ResponseData is
 * assembled here with the DER helpers, field by field, so that each field
 * can be broken on its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "../../../x509/x509.h"
#include "../../../common/buf.h"

/* ---- CRLs ---- */

struct crl_spec {
	int version; /* 1: v1 (version omitted) */
	int no_next, next_before, no_number, number_crit, big_number;
	int no_aki, dup_ext, empty_issuer, reason, reason_crit, zero_serial;
	int rev_utc_nosec; /* revocationDate UTCTime without seconds */
	int sha384;        /* inner signature differs from the outer */
};

static void
crl_ext(X509_CRL *c, int nid, int crit, void *v)
{
	X509_CRL_add1_ext_i2d(c, nid, v, crit, X509V3_ADD_APPEND);
}

static void
crl_entry(X509_CRL *c, const struct crl_spec *s, time_t now)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_adj(NULL, now, 1, 0); /* after: allowed */
	ASN1_ENUMERATED *e;

	if (s->rev_utc_nosec)
		ASN1_STRING_set(t, "2510090000Z", 11);

	ASN1_INTEGER_set(sn, s->zero_serial ? 0 : 0x4242);
	X509_REVOKED_set_serialNumber(r, sn);
	X509_REVOKED_set_revocationDate(r, t);
	if (s->reason >= 0) {
		e = ASN1_ENUMERATED_new();
		ASN1_ENUMERATED_set(e, s->reason);
		X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, s->reason_crit,
		    0);
		ASN1_ENUMERATED_free(e);
	}
	X509_CRL_add0_revoked(c, r);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
}

static pca_err
crl_lint(const struct crl_spec *s, const char **msg)
{
	static const unsigned char kid[20] = {1, 2, 3, 4, 5};
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509_CRL *c = X509_CRL_new();
	X509_NAME *n = X509_NAME_new();
	AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	ASN1_TIME *t;
	unsigned char *tbs = NULL;
	time_t now = 1760000000;
	int len;
	pca_err e;

	X509_CRL_set_version(c,
	    s->version ? X509_CRL_VERSION_1 : X509_CRL_VERSION_2);
	if (!s->empty_issuer)
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
		    (const unsigned char *)"ca", -1, -1, 0);
	X509_CRL_set_issuer_name(c, n);
	t = ASN1_TIME_adj(NULL, now, 0, 0);
	X509_CRL_set1_lastUpdate(c, t);
	ASN1_TIME_free(t);
	if (!s->no_next) {
		t = ASN1_TIME_adj(NULL, now, s->next_before ? -1 : 7, 0);
		X509_CRL_set1_nextUpdate(c, t);
		ASN1_TIME_free(t);
	}
	crl_entry(c, s, now);
	aki->keyid = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(aki->keyid, kid, sizeof(kid));
	if (!s->no_aki)
		crl_ext(c, NID_authority_key_identifier, 0, aki);
	if (s->big_number) {
		BIGNUM *b = BN_new();
		BN_set_bit(b, 170);
		BN_to_ASN1_INTEGER(b, num);
		BN_free(b);
	} else
		ASN1_INTEGER_set(num, 7);
	if (!s->no_number)
		crl_ext(c, NID_crl_number, s->number_crit, num);
	if (s->dup_ext)
		crl_ext(c, NID_crl_number, 0, num);
	if (X509_CRL_sign(c, k, s->sha384 ? EVP_sha384() : EVP_sha256()) <= 0)
		fail_msg("X509_CRL_sign");
	len = i2d_re_X509_CRL_tbs(c, &tbs);
	if (len <= 0)
		fail_msg("i2d_re_X509_CRL_tbs");
	e = x509_lint_crl(tbs, (size_t)len, PCA_SIG_SHA256_ECDSA);
	*msg = pca_err_msg();
	OPENSSL_free(tbs);
	AUTHORITY_KEYID_free(aki);
	ASN1_INTEGER_free(num);
	X509_NAME_free(n);
	X509_CRL_free(c);
	EVP_PKEY_free(k);
	return e;
}

static void
crl_refused(const struct crl_spec *s, const char *rule)
{
	const char *m;

	assert_int_equal(crl_lint(s, &m), PCA_EINVAL);
	if (strstr(m, rule) == NULL)
		fail_msg("wanted rule %s, got '%s'", rule, m);
}

static void
test_crl(void **state)
{
	struct crl_spec s;
	const char *m;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.reason = 1;
	assert_int_equal(crl_lint(&s, &m), PCA_OK);
	s.reason = -1; /* no reasonCode at all: fine */
	assert_int_equal(crl_lint(&s, &m), PCA_OK);
#define BROKEN(field, value, rule)                                             \
	do {                                                                   \
		memset(&s, 0, sizeof(s));                                      \
		s.reason = 1;                                                  \
		s.field = value;                                               \
		crl_refused(&s, rule);                                         \
	} while (0)
	BROKEN(version, 1, "crl_version_not_2");
	BROKEN(sha384, 1, "crl_tbs_signature_alg_matches");
	BROKEN(empty_issuer, 1, "issuer_field_empty");
	BROKEN(no_next, 1, "crl_has_next_update");
	BROKEN(next_before, 1, "crl_next_update_before_this_update");
	BROKEN(no_number, 1, "crl_missing_crl_number");
	BROKEN(number_crit, 1, "crl_missing_crl_number");
	BROKEN(big_number, 1, "crl_missing_crl_number");
	BROKEN(no_aki, 1, "crl_has_authority_key_identifier");
	BROKEN(dup_ext, 1, "ext_duplicate_extension");
	BROKEN(zero_serial, 1, "serial_number_not_positive");
	BROKEN(rev_utc_nosec, 1, "wrong_time_format");
	BROKEN(reason, 0, "crl_valid_reason_codes"); /* unspecified */
	BROKEN(reason, 7, "crl_valid_reason_codes");
	BROKEN(reason, 11, "crl_valid_reason_codes");
	BROKEN(reason, 8, "crl_valid_reason_codes"); /* not a delta */
	BROKEN(reason_crit, 1, "crl_valid_reason_codes");
#undef BROKEN
	{
		static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
		assert_int_equal(
		    x509_lint_crl(junk, sizeof(junk), PCA_SIG_SHA256_ECDSA),
		    PCA_EINVAL);
		assert_int_equal(x509_lint_crl(junk, 3, PCA_SIG_SHA256_ECDSA),
		    PCA_EINVAL);
	}
}

/* ---- OCSP ResponseData ---- */

struct ocsp_spec {
	int version;       /* put an explicit [0] version */
	int by_name_empty; /* responderID byName, empty */
	int short_key;     /* byKey of 19 octets */
	int produced_utc;  /* producedAt as UTCTime */
	int produced_frac; /* producedAt with fractions */
	int no_singles;
	int status; /* 0 good, 1 revoked, 2 unknown, 3 bad tag */
	int next_before, no_next;
	int reason;     /* revoked: reason, -1 none */
	int reason_ext; /* reasonCode in singleExtensions */
	int dup_ext;    /* two nonce extensions */
};

static void
put(struct buf *b, unsigned tag, const void *p, size_t n)
{
	assert_int_equal(x509_der_put(b, tag, p, n), PCA_OK);
}

static void
wrap(struct buf *b, size_t start, unsigned tag)
{
	assert_int_equal(x509_der_wrap(b, start, tag), PCA_OK);
}

static void
gtime(struct buf *b, const char *s)
{
	put(b, 0x18, s, strlen(s));
}

static void
single(struct buf *b, const struct ocsp_spec *s)
{
	static const uint8_t alg[] = {0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
	    0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00};
	static const uint8_t h[32] = {1}, serial[] = {0x42, 0x42};
	static const uint8_t reason_ext[] = {0x30, 0x0d, 0x30, 0x0b, 0x06, 0x03,
	    0x55, 0x1d, 0x15, 0x04, 0x04, 0x0a, 0x02, 0x01, 0x01};
	size_t start = b->len, cs = b->len, r;
	uint8_t reason = (uint8_t)s->reason;

	assert_int_equal(buf_add(b, alg, sizeof(alg)), PCA_OK);
	put(b, 0x04, h, 32);
	put(b, 0x04, h, 32);
	put(b, 0x02, serial, sizeof(serial));
	wrap(b, cs, 0x30);
	if (s->status == 0)
		put(b, 0x80, "", 0);
	else if (s->status == 2)
		put(b, 0x82, "", 0);
	else if (s->status == 3)
		put(b, 0x83, "", 0);
	else {
		r = b->len;
		gtime(b, "20251001000000Z");
		if (s->reason >= 0) {
			size_t rs = b->len;
			put(b, 0x0a, &reason, 1);
			wrap(b, rs, 0xa0);
		}
		wrap(b, r, 0xa1);
	}
	gtime(b, "20251009000000Z");
	if (!s->no_next) {
		r = b->len;
		gtime(b,
		    s->next_before ? "20251008000000Z" : "20251016000000Z");
		wrap(b, r, 0xa0);
	}
	if (s->reason_ext) {
		r = b->len;
		assert_int_equal(
		    buf_add(b, reason_ext + 2, sizeof(reason_ext) - 2), PCA_OK);
		wrap(b, r, 0x30);
		wrap(b, r, 0xa1);
	}
	wrap(b, start, 0x30);
}

static void
nonce(struct buf *b)
{
	static const uint8_t oid[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30,
	    0x01, 0x02};
	static const uint8_t v[] = {0x04, 0x02, 0xab, 0xcd};
	size_t start = b->len;

	put(b, 0x06, oid, sizeof(oid));
	put(b, 0x04, v, sizeof(v));
	wrap(b, start, 0x30);
}

static pca_err
ocsp_lint(const struct ocsp_spec *s, const char **msg)
{
	static const uint8_t key[20] = {9, 9, 9};
	static const uint8_t v1[] = {0xa0, 0x03, 0x02, 0x01, 0x00};
	struct buf b;
	size_t rs;
	pca_err e;

	buf_init(&b, 65536);
	if (s->version)
		assert_int_equal(buf_add(&b, v1, sizeof(v1)), PCA_OK);
	rs = b.len;
	if (s->by_name_empty) {
		put(&b, 0x30, "", 0);
		wrap(&b, rs, 0xa1);
	} else {
		put(&b, 0x04, key, s->short_key ? 19 : 20);
		wrap(&b, rs, 0xa2);
	}
	gtime(&b, s->produced_frac ? "20251009000000.5Z" : "20251009000000Z");
	if (s->produced_utc) { /* replace it: a UTCTime of 13 */
		b.len -= 17;
		put(&b, 0x17, "251009000000Z", 13);
	}
	rs = b.len;
	if (!s->no_singles)
		single(&b, s);
	wrap(&b, rs, 0x30);
	if (s->dup_ext) {
		rs = b.len;
		nonce(&b);
		nonce(&b);
		wrap(&b, rs, 0x30);
		wrap(&b, rs, 0xa1);
	}
	wrap(&b, 0, 0x30);
	e = x509_lint_ocsp(b.p, b.len, PCA_SIG_SHA256_ECDSA);
	*msg = pca_err_msg();
	buf_free(&b);
	return e;
}

static void
test_ocsp(void **state)
{
	struct ocsp_spec s;
	const char *m;
	int st;

	(void)state;
	for (st = 0; st < 3; st++) {
		memset(&s, 0, sizeof(s));
		s.status = st;
		s.reason = st == 1 ? 1 : -1;
		if (ocsp_lint(&s, &m) != PCA_OK)
			fail_msg("status %d: %s", st, m);
	}
#define BROKEN(field, value, rule)                                             \
	do {                                                                   \
		memset(&s, 0, sizeof(s));                                      \
		s.status = 1;                                                  \
		s.reason = 1;                                                  \
		s.field = value;                                               \
		assert_int_equal(ocsp_lint(&s, &m), PCA_EINVAL);               \
		if (strstr(m, rule) == NULL)                                   \
			fail_msg("wanted rule %s, got '%s'", rule, m);         \
	} while (0)
	BROKEN(version, 1, "ocsp_version_v1_omitted");
	BROKEN(by_name_empty, 1, "ocsp_responder_id");
	BROKEN(short_key, 1, "ocsp_responder_id");
	BROKEN(produced_utc, 1, "ocsp_tbs_parses"); /* OpenSSL's refusal */
	BROKEN(produced_frac, 1, "ocsp_produced_at");
	BROKEN(no_singles, 1, "ocsp_responses_present");
	BROKEN(status, 3, "ocsp_tbs_parses");
	BROKEN(next_before, 1, "ocsp_next_update_before_this_update");
	BROKEN(no_next, 1, "ocsp_time_format");
	BROKEN(reason, 7, "ocsp_revoked_info");
	BROKEN(reason_ext, 1, "ocsp_reason_in_single_extensions");
	BROKEN(dup_ext, 1, "ext_duplicate_extension");
#undef BROKEN
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crl),
	    cmocka_unit_test(test_ocsp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
