/*
 * test_rotate.c - ca/rotate.c against a real engine: a private SoftHSM2
 * token, an LMDB store in a mkdtemp() directory.  A root is rotated; the
 * link certificates are checked with OpenSSL (names, AKI/SKI, signature by
 * the other key); the old CA refuses to issue except for its OCSP
 * responder; renewal keeps key and subject; the schedule guard.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../../ca/ca.h"
#include "../../../common/util.h"
#include "../../../hsm/hsm.h"
#include "../../../store/store.h"
#include "../testlib.h"

#define TMPL "arn:aws:acm-pca:::template/"

static struct testlib_token tok;
static struct hsm *hsm;
static struct store *st;
static struct ca_engine *eng;
static const struct ca_caller who = {"123456789012", "us-east-1", "pcactl"};

static int
setup(void **state)
{
	char path[128];
	struct ca_engine_conf ec;

	(void)state;
	assert_int_equal(testlib_token_make(&tok, "pca-rot", "rot-token",
			     "5678", "1234", 0400),
	    0);
	assert_int_equal(hsm_open(&tok.conf, &hsm), PCA_OK);
	(void)snprintf(path, sizeof(path), "%s/store", tok.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	st = testlib_store_open(path, 256 << 20);
	memset(&ec, 0, sizeof(ec));
	assert_int_equal(ca_engine_new(&ec, hsm, st, &eng), PCA_OK);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	ca_engine_free(eng);
	store_close(st);
	hsm_close(hsm);
	testlib_token_remove(&tok);
	return 0;
}

static char *
issue(const char *ca, const char *csr, const char *tmpl, const char *vtype,
    int64_t v, const json_t *pass, const struct ca_caller *c)
{
	struct ca_issue_req r;
	char t[128], *arn = NULL, *pem = NULL, *chain = NULL;

	memset(&r, 0, sizeof(r));
	(void)snprintf(t, sizeof(t), TMPL "%s", tmpl);
	r.ca_arn = ca;
	r.csr = (const uint8_t *)csr;
	r.csr_len = strlen(csr);
	r.signing_algorithm = "SHA256WITHECDSA";
	r.template_arn = t;
	r.validity_type = vtype;
	r.validity_value = v;
	r.api_passthrough = pass;
	if (ca_issue(eng, c ? c : &who, &r, &arn) != PCA_OK)
		return NULL;
	assert_int_equal(ca_cert_get(eng, c ? c : &who, ca, arn, &pem, &chain),
	    PCA_OK);
	free(arn);
	free(chain);
	return pem;
}

/* An ACTIVE EC root named cn; *arn caller frees. */
static char *
make_root(const char *cn)
{
	json_t *req = json_pack("{s:s,s:{s:s,s:s,s:{s:s,s:s}}}",
	    "CertificateAuthorityType", "ROOT",
	    "CertificateAuthorityConfiguration", "KeyAlgorithm",
	    "EC_prime256v1", "SigningAlgorithm", "SHA256WITHECDSA", "Subject",
	    "CommonName", cn, "Country", "US");
	char *arn = NULL, *csr = NULL, *pem;

	assert_int_equal(ca_create(eng, &who, req, &arn), PCA_OK);
	json_decref(req);
	assert_int_equal(ca_csr_get(eng, &who, arn, &csr), PCA_OK);
	pem = issue(arn, csr, "RootCACertificate/V1", "YEARS", 10, NULL, NULL);
	assert_non_null(pem);
	assert_int_equal(ca_import_cert(eng, &who, arn, (uint8_t *)pem,
			     strlen(pem), NULL, 0),
	    PCA_OK);
	free(csr);
	free(pem);
	return arn;
}

static X509 *
cacert(const char *arn)
{
	char *pem = NULL, *chain = NULL;
	uint8_t *der = NULL;
	size_t len;
	const unsigned char *p;
	X509 *x;

	assert_int_equal(ca_cacert_get(eng, &who, arn, &pem, &chain), PCA_OK);
	assert_int_equal(
	    util_pem_decode(pem, strlen(pem), "CERTIFICATE", 65536, &der, &len),
	    PCA_OK);
	p = der;
	x = d2i_X509(NULL, &p, (long)len);
	assert_non_null(x);
	free(pem);
	free(chain);
	free(der);
	return x;
}

static X509 *
link_cert(const char *old_arn, const char *name)
{
	struct store_obj o;
	char key[256];
	const unsigned char *p;
	X509 *x;

	(void)snprintf(key, sizeof(key), CA_ROTATION_PREFIX "%s/%s",
	    strrchr(old_arn, '/') + 1, name);
	assert_int_equal(store_obj_get(st, key, &o), PCA_OK);
	assert_non_null(strstr(o.meta, "application/pkix-cert"));
	p = o.body;
	x = d2i_X509(NULL, &p, (long)o.body_len);
	assert_non_null(x);
	store_obj_clear(&o);
	return x;
}

static int
same_key(X509 *a, X509 *b)
{
	return EVP_PKEY_eq(X509_get0_pubkey(a), X509_get0_pubkey(b)) == 1;
}

/* The link: subject = issuer = the root's name, key of `key`, signed by
   `signer`, AKI = the signer's SKI, a CA without pathLen. */
static void
check_link(X509 *l, X509 *key, X509 *signer)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(signer);
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(l);

	assert_int_equal(
	    X509_NAME_cmp(X509_get_subject_name(l), X509_get_subject_name(key)),
	    0);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(l),
			     X509_get_subject_name(signer)),
	    0);
	assert_true(same_key(l, key));
	assert_int_equal(X509_verify(l, X509_get0_pubkey(signer)), 1);
	assert_non_null(ski);
	assert_non_null(aki);
	assert_int_equal(ASN1_OCTET_STRING_cmp(ski, aki), 0);
	assert_true(X509_check_ca(l) >= 1);
	assert_int_equal(X509_get_pathlen(l), -1);
}

static void
test_root_rotation(void **state)
{
	char *old = make_root("Unit Root"), *succ = NULL, *again = NULL;
	struct ca_rotate_req r = {"tok-1", 0};
	json_t *d = NULL, *link;
	X509 *xo, *xn, *fwd, *back;
	char *csr = NULL, *pem;
	struct ca_caller ocsp = {who.account, who.region, "ocsp-responder"};
	json_t *pass;

	(void)state;
	assert_int_equal(ca_rotate(eng, &who, old, &r, &succ), PCA_OK);
	assert_int_equal(ca_rotate(eng, &who, old, &r, &again), PCA_OK);
	assert_string_equal(succ, again); /* the idempotency token */
	free(again);
	r.idempotency_token = NULL;
	assert_int_equal(ca_rotate(eng, &who, old, &r, &again), PCA_ESTATE);
	assert_non_null(strstr(pca_err_msg(), succ));

	/* describe: the link both ways */
	assert_int_equal(ca_describe(eng, &who, old, &d), PCA_OK);
	link = json_object_get(d, "OpenPCA");
	assert_string_equal(
	    json_string_value(json_object_get(link, "SuccessorArn")), succ);
	assert_int_equal(
	    json_array_size(json_object_get(link, "LinkCertificates")), 2);
	assert_string_equal(json_string_value(json_object_get(d, "Status")),
	    "ACTIVE");
	json_decref(d);
	assert_int_equal(ca_describe(eng, &who, succ, &d), PCA_OK);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(d, "OpenPCA"),
		"PredecessorArn")),
	    old);
	json_decref(d);

	/* the certificates */
	xo = cacert(old);
	xn = cacert(succ);
	assert_int_equal(
	    X509_NAME_cmp(X509_get_subject_name(xo), X509_get_subject_name(xn)),
	    0);
	assert_false(same_key(xo, xn));
	fwd = link_cert(old, "new-signed-by-old.crt");
	back = link_cert(old, "old-signed-by-new.crt");
	check_link(fwd, xn, xo);
	check_link(back, xo, xn);

	/* the old CA issues nothing but its OCSP responder's certificate */
	assert_int_equal(ca_csr_get(eng, &who, succ, &csr), PCA_OK);
	assert_null(
	    issue(old, csr, "EndEntityCertificate/V1", "DAYS", 1, NULL, NULL));
	assert_non_null(strstr(pca_err_msg(), "successor"));
	assert_non_null(strstr(pca_err_msg(), succ));
	pass = json_pack("{}");
	pem = issue(old, csr, "OCSPSigningCertificate_APIPassthrough/V1",
	    "DAYS", 1, pass, &ocsp);
	assert_non_null(pem);
	free(pem);
	assert_null(issue(old, csr, "OCSPSigningCertificate_APIPassthrough/V1",
	    "DAYS", 1, pass, NULL));
	json_decref(pass);
	/* the successor issues */
	pem =
	    issue(succ, csr, "EndEntityCertificate/V1", "DAYS", 1, NULL, NULL);
	assert_non_null(pem);
	free(pem);
	X509_free(xo);
	X509_free(xn);
	X509_free(fwd);
	X509_free(back);
	free(csr);
	free(old);
	free(succ);
}

/* Renewal: a new certificate for the same key replaces the served one;
   another key's certificate is refused (the subject rule: test_rotation). */
static void
test_renewal(void **state)
{
	char *ca = make_root("Renewed Root"), *csr = NULL, *pem, *chain = NULL;
	char *other_ca = make_root("Other Root"), *other = NULL;
	X509 *before, *after;

	(void)state;
	before = cacert(ca);
	assert_int_equal(ca_csr_get(eng, &who, ca, &csr), PCA_OK);
	pem = issue(ca, csr, "RootCACertificate/V1", "YEARS", 5, NULL, NULL);
	assert_int_equal(
	    ca_import_cert(eng, &who, ca, (uint8_t *)pem, strlen(pem), NULL, 0),
	    PCA_OK);
	after = cacert(ca);
	assert_true(same_key(before, after));
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(before),
				 X509_get0_serialNumber(after)),
	    0);
	assert_int_equal(ca_cacert_get(eng, &who, other_ca, &other, &chain),
	    PCA_OK);
	assert_int_equal(ca_import_cert(eng, &who, ca, (uint8_t *)other,
			     strlen(other), NULL, 0),
	    PCA_EMISMATCH);
	X509_free(before);
	X509_free(after);
	free(pem);
	free(other);
	free(chain);
	free(csr);
	free(ca);
	free(other_ca);
}

static void
test_schedule(void **state)
{
	char *ca = make_root("Scheduled Root");
	size_t rotated = 9, retired = 9;
	json_t *d = NULL;

	(void)state;
	/* 10 years: a window of 10 years or more would rotate forever */
	assert_int_equal(ca_rotate_schedule(eng, &who, ca, 3700), PCA_EINVAL);
	assert_int_equal(ca_rotate_schedule(eng, &who, ca, 30), PCA_OK);
	assert_int_equal(ca_describe(eng, &who, ca, &d), PCA_OK);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(d, "OpenPCA"),
		"RotateBeforeDays")),
	    30);
	json_decref(d);
	assert_int_equal(ca_rotate_schedule(eng, &who, ca, -2), PCA_EINVAL);
	assert_int_equal(ca_rotate_maintain(eng, &rotated, &retired), PCA_OK);
	assert_int_equal(rotated, 0); /* nothing within 30 days of expiry */
	assert_int_equal(retired, 0); /* the rotated roots' certificates live */
	assert_int_equal(ca_rotate_schedule(eng, &who, ca, -1), PCA_OK);
	assert_int_equal(ca_describe(eng, &who, ca, &d), PCA_OK);
	assert_null(json_object_get(d, "OpenPCA"));
	json_decref(d);
	free(ca);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_root_rotation),
	    cmocka_unit_test(test_renewal),
	    cmocka_unit_test(test_schedule),
	};

	if (access(TESTLIB_SOFTHSM, R_OK) != 0) {
		printf("# SKIP SoftHSM2 not installed\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
