/*
 * test_crl.c - crl_build against a real store: DER accepted by OpenSSL,
 * issuer byte copy, entries in serial order with reason codes (none for
 * unspecified), sign-bit padding of serials, UTCTime/GeneralizedTime,
 * delta CRLs (deltaCRLIndicator, only entries since the base), IDP,
 * FreshestCRL; plus the store outbox (newer versions only).
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "../../../crl/crl.h"
#include "../../../store/store.h"
#include "../testlib.h"

#define CA "0b8a4c1e-2f6a-4d1e-9c3b-7a5d6e8f9a0b"

static char dir[64];
static struct store *st;
static EVP_PKEY *key;
static uint8_t name[] = {0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55,
    0x04, 0x03, 0x0c, 0x04, 'T', 'e', 's', 't'};
static uint8_t kid[20] = {1, 2, 3, 4, 5};

static void
add(uint8_t first, int64_t when, int reason)
{
	static const uint8_t der[8] = {0x30, 6, 2, 1, 1, 2, 1, 1};
	struct store_cert c;

	memset(&c, 0, sizeof(c));
	memcpy(c.ca_id, CA, 37);
	memset(c.serial, first, 16);
	c.serial_len = 16;
	c.not_before = 0;
	c.not_after = 4102444800LL;
	c.tbs = (uint8_t *)der;
	c.tbs_len = sizeof(der);
	assert_int_equal(store_cert_reserve(st, &c), PCA_OK);
	assert_int_equal(store_cert_complete(st, CA, c.serial, 16, der, 8),
	    PCA_OK);
	assert_int_equal(store_cert_revoke(st, CA, c.serial, 16, when, reason),
	    PCA_OK);
}

static int
setup(void **state)
{
	EVP_PKEY_CTX *k = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "crltest"), 0);
	st = testlib_store_open(dir, 64 << 20);
	assert_true(EVP_PKEY_keygen_init(k) == 1 &&
		    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(k,
			NID_X9_62_prime256v1) == 1 &&
		    EVP_PKEY_keygen(k, &key) == 1);
	EVP_PKEY_CTX_free(k);
	add(0x11, 1700000000, 1);   /* keyCompromise */
	add(0x90, 1700000100, 0);   /* unspecified; serial needs a 00 */
	add(0x22, 2600000000LL, 4); /* superseded, after 2049 */
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	store_close(st);
	EVP_PKEY_free(key);
	testlib_dir_remove(dir);
	return 0;
}

static pca_err
sign(void *arg, const uint8_t *tbs, size_t len, uint8_t *sig, size_t *sl)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok;

	(void)arg;
	*sl = 1024;
	ok = EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestSign(m, sig, sl, tbs, len) == 1;
	EVP_MD_CTX_free(m);
	return ok ? PCA_OK : PCA_EINTERNAL;
}

static X509_CRL *
build(struct crl_params *p, size_t *entries)
{
	uint8_t *der = NULL;
	const unsigned char *q;
	size_t len = 0;
	X509_CRL *crl;
	unsigned char *re = NULL;

	p->issuer = name;
	p->issuer_len = sizeof(name);
	p->akid = kid;
	p->akid_len = sizeof(kid);
	p->sigalg = pca_sigalg_from_name("SHA256WITHECDSA");
	p->this_update = 1700000000;
	p->next_update = 1700604800;
	p->store = st;
	p->ca_id = CA;
	p->sign = sign;
	assert_int_equal(crl_build(p, &der, &len, entries), PCA_OK);
	q = der;
	crl = d2i_X509_CRL(NULL, &q, (long)len);
	assert_non_null(crl);
	assert_ptr_equal(q, der + len); /* every byte consumed */
	assert_int_equal(i2d_X509_CRL(crl, &re), (int)len);
	assert_memory_equal(re, der, len); /* DER, re-encodes the same */
	assert_int_equal(X509_CRL_verify(crl, key), 1);
	OPENSSL_free(re);
	free(der);
	return crl;
}

static int
reason_of(X509_REVOKED *r)
{
	ASN1_ENUMERATED *e =
	    X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
	int v = e ? (int)ASN1_ENUMERATED_get(e) : -1;

	ASN1_ENUMERATED_free(e);
	return v;
}

static void
complete(void **state)
{
	struct crl_params p;
	size_t n;
	X509_CRL *crl;
	STACK_OF(X509_REVOKED) * rs;
	const ASN1_INTEGER *sn;
	ASN1_INTEGER *num;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.number = 1700000000123ULL;
	p.min_when = INT64_MIN;
	p.idp_uri = "http://h/crl/x/p.crl";
	p.freshest_uri = "http://h/crl/x.delta.crl";
	crl = build(&p, &n);
	assert_int_equal(n, 3);
	assert_int_equal(X509_CRL_get_version(crl), 1);
	rs = X509_CRL_get_REVOKED(crl);
	assert_int_equal(sk_X509_REVOKED_num(rs), 3);
	assert_int_equal(reason_of(sk_X509_REVOKED_value(rs, 0)), 1);
	assert_int_equal(reason_of(sk_X509_REVOKED_value(rs, 1)), 4);
	assert_int_equal(reason_of(sk_X509_REVOKED_value(rs, 2)), -1);
	assert_int_equal(ASN1_STRING_type(X509_REVOKED_get0_revocationDate(
			     sk_X509_REVOKED_value(rs, 1))),
	    V_ASN1_GENERALIZEDTIME);
	sn = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rs, 2));
	assert_int_equal(ASN1_STRING_length(sn), 16); /* positive 0x90.. */
	assert_int_equal(ASN1_STRING_type(sn), V_ASN1_INTEGER);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_int_equal(ASN1_INTEGER_get(num), 1700000000123LL);
	ASN1_INTEGER_free(num);
	assert_int_equal(X509_EXTENSION_get_critical(X509_CRL_get_ext(crl,
			     X509_CRL_get_ext_by_NID(crl,
				 NID_issuing_distribution_point, -1))),
	    1);
	assert_true(X509_CRL_get_ext_by_NID(crl, NID_freshest_crl, -1) >= 0);
	assert_true(X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) < 0);
	X509_CRL_free(crl);
}

static void
delta(void **state)
{
	struct crl_params p;
	size_t n;
	X509_CRL *crl;
	ASN1_INTEGER *base;
	int crit = 0;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.number = 7;
	p.delta_base = 5;
	p.min_when = 1700000050; /* the base was built before 2 and 3 */
	crl = build(&p, &n);
	assert_int_equal(n, 2);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	base = X509_CRL_get_ext_d2i(crl, NID_delta_crl, &crit, NULL);
	assert_non_null(base);
	assert_int_equal(crit, 1);
	assert_int_equal(ASN1_INTEGER_get(base), 5);
	ASN1_INTEGER_free(base);
	X509_CRL_free(crl);
}

static void
outbox(void **state)
{
	struct store_obj_in o = {"crl/x.crl", 10, "{}", (const uint8_t *)"a",
	    1};
	struct store_kv_in kv = {"crlstate", "x", "s", 1};
	struct store_outbox_ent *v = NULL;
	struct store_obj got;
	struct store_pub pub;
	size_t n = 0;
	uint64_t c1, c2;

	(void)state;
	assert_int_equal(store_obj_put(st, &o, 1, &kv), PCA_OK);
	o.version = 9;
	assert_int_equal(store_obj_put(st, &o, 1, NULL), PCA_EALREADY);
	o.version = 11;
	o.body = (const uint8_t *)"b";
	assert_int_equal(store_obj_put(st, &o, 1, NULL), PCA_OK);
	assert_int_equal(store_outbox_list(st, &v, &n), PCA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].version, 11);
	free(v);
	/* a result for the superseded version leaves the newer one queued */
	assert_int_equal(store_outbox_done(st, "crl/x.crl", 10, 1, "ok", 1),
	    PCA_OK);
	assert_int_equal(store_outbox_list(st, &v, &n), PCA_OK);
	assert_int_equal(n, 1);
	free(v);
	assert_int_equal(store_outbox_done(st, "crl/x.crl", 11, 1, "ok", 2),
	    PCA_OK);
	assert_int_equal(store_outbox_list(st, &v, &n), PCA_OK);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(store_pub_get(st, "crl/x.crl", &pub), PCA_OK);
	assert_int_equal(pub.version, 11);
	assert_int_equal(store_obj_get(st, "crl/x.crl", &got), PCA_OK);
	assert_memory_equal(got.body, "b", 1);
	store_obj_clear(&got);
	assert_int_equal(store_counter_raise(st, "n", 100, &c1), PCA_OK);
	assert_int_equal(store_counter_raise(st, "n", 50, &c2), PCA_OK);
	assert_int_equal(c1, 100); /* clock stepped back: still + 1 */
	assert_int_equal(c2, 101);
	assert_int_equal(store_revgen_get(st, CA, &c1), PCA_OK);
	assert_int_equal(c1, 3); /* one per revocation */
}

/*
 * issue 16: a partition of the default size (CRL_PARTITION_DEFAULT
 * certificates) with 10% revoked makes a CRL under 1 MB, at the worst
 * entry size: a 20-byte serial with its top bit set (a 00 is added), a
 * reason code and a GeneralizedTime (after 2049) on each entry, plus the
 * IssuingDistributionPoint of a partition.
 */
#define WORST_CA "7f000000-0000-4000-8000-000000000016"

static void
partition_default_size(void **state)
{
	static const uint8_t der[8] = {0x30, 6, 2, 1, 1, 2, 1, 1};
	struct crl_params p;
	struct store_cert c;
	size_t i, n = CRL_PARTITION_DEFAULT / 10, entries = 0;
	const unsigned char *q;
	uint8_t *out = NULL;
	X509_CRL *crl;
	size_t len = 0;

	(void)state;
	for (i = 0; i < n; i++) {
		memset(&c, 0, sizeof(c));
		memcpy(c.ca_id, WORST_CA, 37);
		memset(c.serial, 0xff, 20);
		c.serial[0] = 0x80;
		c.serial[17] = (uint8_t)(i >> 16);
		c.serial[18] = (uint8_t)(i >> 8);
		c.serial[19] = (uint8_t)i;
		c.serial_len = 20;
		c.not_after = 4102444800LL;
		c.tbs = (uint8_t *)der;
		c.tbs_len = sizeof(der);
		assert_int_equal(store_cert_reserve(st, &c), PCA_OK);
		assert_int_equal(
		    store_cert_complete(st, WORST_CA, c.serial, 20, der, 8),
		    PCA_OK);
		assert_int_equal(store_cert_revoke(st, WORST_CA, c.serial, 20,
				     2600000000LL, 1),
		    PCA_OK);
	}
	memset(&p, 0, sizeof(p));
	p.number = 0x7fffffff;
	p.idp_uri = "http://crl.example.com/crl/"
		    "7f000000-0000-4000-8000-000000000016/p/4294967295.crl";
	p.issuer = name;
	p.issuer_len = sizeof(name);
	p.akid = kid;
	p.akid_len = sizeof(kid);
	p.sigalg = pca_sigalg_from_name("SHA256WITHECDSA");
	p.this_update = 1700000000;
	p.next_update = 1700604800;
	p.store = st;
	p.ca_id = WORST_CA;
	p.sign = sign;
	assert_int_equal(crl_build(&p, &out, &len, &entries), PCA_OK);
	assert_int_equal(entries, n);
	q = out;
	assert_non_null(crl = d2i_X509_CRL(NULL, &q, (long)len));
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)),
	    (int)n);
	print_message("partition of %d certificates, 10%% revoked: CRL of "
		      "%zu bytes (%.1f per entry)\n",
	    CRL_PARTITION_DEFAULT, len, (double)len / (double)n);
	assert_true(len <= 1024 * 1024);
	X509_CRL_free(crl);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest t[] = {
	    cmocka_unit_test(complete),
	    cmocka_unit_test(delta),
	    cmocka_unit_test(outbox),
	    cmocka_unit_test(partition_default_size),
	};
	return cmocka_run_group_tests(t, setup, teardown);
}
