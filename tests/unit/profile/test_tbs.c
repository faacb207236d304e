/*
 * test_tbs.c - certificates and CSRs built by ca/ (der.c, template.c,
 * tbs.c, csrinfo.c), signed here with software keys and checked by
 * independent readers: `openssl verify -x509_strict`, `openssl req
 * -verify`, and python3-cryptography through tests/unit/profile/certdump.py.
 * Expectations are written from spec 4.1-4.6, not from the tables in ca/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "../../../profile/profile_int.h"
#include "../../../common/buf.h"
#include "../../../common/util.h"
#include "../testlib.h"

#define O_BC "2.5.29.19"
#define O_KU "2.5.29.15"
#define O_EKU "2.5.29.37"
#define O_SKI "2.5.29.14"
#define O_AKI "2.5.29.35"
#define O_SAN "2.5.29.17"
#define O_CDP "2.5.29.31"
#define O_CP "2.5.29.32"
#define O_AIA "1.3.6.1.5.5.7.1.1"
#define O_SIA "1.3.6.1.5.5.7.1.11"
#define O_CSR_CUSTOM "1.3.6.1.4.1.99999.10"
#define O_API_CUSTOM "1.3.6.1.4.1.99999.20"
#define CDP "http://crl.example.com/crl/7e1c.crl"
#define OCSP "http://ocsp.example.com"
#define ARN_PREFIX "arn:aws:acm-pca:::template/"
#define MAXARGS 128

static struct fixture {
	char dir[64];
	char dumper[1024];
	int64_t now;
	EVP_PKEY *root_key, *sub_key, *leaf_key, *self_key;
	char *root_pem, *sub_pem;
	uint8_t *root_name, *sub_name;
	size_t root_name_len, sub_name_len;
	uint8_t root_ski[20], sub_ski[20];
	struct prof_issuer sub;
	char sub_ski_hex[41], root_ski_hex[41];
} F;

/* ---- processes and files ---- */

static char *
path_of(const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", F.dir, name) > 0);
	return p;
}

/* Writes der as a PEM file <name>; returns the path (caller frees). */
static char *
write_pem(const char *name, const char *label, const uint8_t *der, size_t n)
{
	char *pem = NULL, *path = path_of(name);

	assert_int_equal(util_pem_encode(label, der, n, &pem), PCA_OK);
	assert_int_equal(util_file_write(path, pem, strlen(pem), 0600, 0),
	    PCA_OK);
	free(pem);
	return path;
}

static void
find_dumper(void)
{
	char exe[900], *slash;
	const char *env = getenv("CA_TEST_DATA");
	ssize_t n;

	if (env != NULL) {
		(void)snprintf(F.dumper, sizeof(F.dumper), "%s/certdump.py",
		    env);
		if (access(F.dumper, R_OK) == 0)
			return;
	}
	/* relative to the source file, as make compiles it from the root */
	(void)snprintf(F.dumper, sizeof(F.dumper), "%s", __FILE__);
	if ((slash = strrchr(F.dumper, '/')) != NULL) {
		(void)snprintf(slash + 1,
		    sizeof(F.dumper) - (size_t)(slash + 1 - F.dumper),
		    "certdump.py");
		if (access(F.dumper, R_OK) == 0)
			return;
	}
	/* relative to the binary: <BUILD>/tests/profile/test_tbs */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	(void)snprintf(F.dumper, sizeof(F.dumper),
	    "%s/../../../tests/unit/profile/certdump.py", exe);
	if (access(F.dumper, R_OK) != 0)
		fail_msg("certdump.py not found; set CA_TEST_DATA");
}

/* Runs certdump.py over the files; returns its JSON array. */
static json_t *
dump(char *const *paths, size_t n)
{
	char *argv[MAXARGS + 3], *out = NULL;
	json_error_t je;
	json_t *j;
	size_t i;
	int rc;

	assert_true(n <= MAXARGS);
	argv[0] = "python3";
	argv[1] = F.dumper;
	for (i = 0; i < n; i++)
		argv[2 + i] = paths[i];
	argv[2 + n] = NULL;
	rc = testlib_run_capture(argv, 0, &out);
	if (rc != 0)
		fail_msg("certdump.py failed (%d): %s", rc, out);
	j = json_loads(out, 0, &je);
	if (j == NULL || json_array_size(j) != n)
		fail_msg("certdump.py output: %s", out);
	free(out);
	for (i = 0; i < n; i++)
		if (strcmp(json_string_value(
			       json_object_get(json_array_get(j, i), "kind")),
			"error") == 0)
			fail_msg("%s: %s", paths[i],
			    json_string_value(json_object_get(
				json_array_get(j, i), "error")));
	return j;
}

static json_t *
dump1(const char *path)
{
	char *p[1] = {(char *)path};
	json_t *a = dump(p, 1), *c = json_array_get(a, 0);

	json_incref(c);
	json_decref(a);
	return c;
}

static int
verify(const char *ca, const char *untrusted, const char *leaf, char **out)
{
	char *argv[] = {"openssl", "verify", "-x509_strict", "-CAfile",
	    (char *)ca, (char *)(untrusted ? "-untrusted" : leaf),
	    (char *)untrusted, (char *)leaf, NULL};

	if (untrusted == NULL)
		argv[6] = NULL;
	return testlib_run_capture(argv, 1, out);
}

static void
verify_ok(const char *ca, const char *untrusted, const char *leaf)
{
	char *out = NULL;

	if (verify(ca, untrusted, leaf, &out) != 0 ||
	    strstr(out, ": OK") == NULL)
		fail_msg("openssl verify %s: %s", leaf, out);
	free(out);
}

/* ---- keys, CSRs, signing ---- */

static X509_EXTENSION *
xconf(const char *name, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *x;

	X509V3_set_ctx(&ctx, NULL, NULL, NULL, NULL, 0);
	x = X509V3_EXT_nconf(NULL, &ctx, name, value);
	if (x == NULL)
		fail_msg("cannot make extension %s = %s", name, value);
	return x;
}

static X509_EXTENSION *
xraw(const char *oid, int crit, const uint8_t *der, size_t n)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
	X509_EXTENSION *x;

	assert_non_null(o);
	assert_true(ASN1_OCTET_STRING_set(s, der, (int)n));
	x = X509_EXTENSION_create_by_OBJ(NULL, o, crit, s);
	assert_non_null(x);
	ASN1_OBJECT_free(o);
	ASN1_OCTET_STRING_free(s);
	return x;
}

/*
 * A parsed CSR as csr.c would hand it over: subject from key/value pairs
 * (NULL-terminated; none for an empty subject), extensions consumed.
 */
static struct prof_csr *
csr_new(EVP_PKEY *key, const char *const *subj, X509_EXTENSION **exts,
    size_t nexts)
{
	STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	struct prof_csr *c = calloc(1, sizeof(*c));
	const unsigned char *p;
	size_t i;

	assert_non_null(c);
	for (i = 0; subj != NULL && subj[i] != NULL; i += 2)
		assert_true(
		    X509_NAME_add_entry_by_txt(name, subj[i], MBSTRING_UTF8,
			(const unsigned char *)subj[i + 1], -1, -1, 0));
	assert_true(X509_REQ_set_subject_name(req, name));
	assert_true(X509_REQ_set_pubkey(req, key));
	for (i = 0; i < nexts; i++)
		assert_true(sk_X509_EXTENSION_push(sk, exts[i]));
	if (nexts > 0)
		assert_true(X509_REQ_add_extensions(req, sk));
	sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	c->der_len = (size_t)i2d_X509_REQ(req, &c->der);
	X509_REQ_free(req);
	X509_NAME_free(name);
	p = c->der;
	req = d2i_X509_REQ(NULL, &p, (long)c->der_len);
	assert_non_null(req);
	assert_non_null(
	    c->subject = X509_NAME_dup(X509_REQ_get_subject_name(req)));
	c->spki_len =
	    (size_t)i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &c->spki);
	c->keyalg = x509_spki_keyalg(c->spki, c->spki_len);
	c->exts = X509_REQ_get_extensions(req);
	X509_REQ_free(req);
	return c;
}

static void
csr_del(struct prof_csr *c)
{
	if (c == NULL)
		return;
	X509_NAME_free(c->subject);
	OPENSSL_free(c->der);
	OPENSSL_free(c->spki);
	sk_X509_EXTENSION_pop_free(c->exts, X509_EXTENSION_free);
	free(c);
}

static enum pca_sigalg
alg_for(EVP_PKEY *k)
{
	return EVP_PKEY_is_a(k, "RSA") ? PCA_SIG_SHA256_RSA
				       : PCA_SIG_SHA384_ECDSA;
}

/* Signs tbs with key and assembles the certificate (or CSR). */
static uint8_t *
sign(const uint8_t *tbs, size_t n, EVP_PKEY *key, enum pca_sigalg alg,
    size_t *len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	const EVP_MD *md = EVP_get_digestbynid(pca_sigalg_md_nid(alg));
	uint8_t sig[LIM_SIG], *der = NULL;
	size_t sl = sizeof(sig);

	assert_int_equal(EVP_DigestSignInit(m, NULL, md, NULL, key), 1);
	assert_int_equal(EVP_DigestSign(m, sig, &sl, tbs, n), 1);
	EVP_MD_CTX_free(m);
	assert_int_equal(x509_cert_assemble(tbs, n, alg, sig, sl, &der, len),
	    PCA_OK);
	return der;
}

struct spec {
	const char *tmpl; /* e.g. "EndEntityCertificate/V1" */
	const struct prof_csr *csr;
	const char *api;                  /* ApiPassthrough JSON, or NULL */
	const struct prof_issuer *issuer; /* NULL: the test sub CA */
	EVP_PKEY *key;                    /* NULL: the sub CA key */
	const char *cdp, *ocsp, *issuers;
	int64_t nb, na;        /* 0: now - 3600, now + 30 days */
	const uint8_t *serial; /* NULL: a fixed 16-byte serial */
	size_t serial_len;
	enum pca_sigalg alg; /* NONE: by key */
};

static const uint8_t serial16[16] = {0x7f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    12, 13, 14, 15};

static pca_err
tbs_of(const struct spec *s, uint8_t **tbs, size_t *len)
{
	char arn[256];
	json_error_t je;
	json_t *api = NULL;
	pca_err e;
	struct prof_tbs_req r;

	(void)snprintf(arn, sizeof(arn), ARN_PREFIX "%s", s->tmpl);
	memset(&r, 0, sizeof(r));
	if ((r.tmpl = prof_template_find(arn)) == NULL)
		fail_msg("no template %s", arn);
	if (s->api != NULL &&
	    (api = json_loads(s->api, JSON_DECODE_ANY, &je)) == NULL)
		fail_msg("bad test JSON %s: %s", s->api, je.text);
	r.issuer = s->issuer ? s->issuer : &F.sub;
	r.csr = s->csr;
	r.api_passthrough = api;
	r.sigalg = s->alg ? s->alg : alg_for(s->key ? s->key : F.sub_key);
	r.serial = s->serial ? s->serial : serial16;
	r.serial_len = s->serial ? s->serial_len : sizeof(serial16);
	r.not_before = s->nb ? s->nb : F.now - 3600;
	r.not_after = s->na ? s->na : F.now + 30 * 86400;
	r.cdp_uri = s->cdp;
	r.ocsp_uri = s->ocsp;
	r.issuers_uri = s->issuers;
	e = prof_tbs_build(&r, tbs, len);
	json_decref(api);
	return e;
}

/* Builds, signs and writes <file>; returns the PEM path. */
static char *
issue(const struct spec *s, const char *file)
{
	uint8_t *tbs = NULL, *der;
	size_t tbs_len, der_len;
	EVP_PKEY *key = s->key ? s->key : F.sub_key;
	char *path;

	if (tbs_of(s, &tbs, &tbs_len) != PCA_OK)
		fail_msg("%s: %s", s->tmpl, pca_err_msg());
	der = sign(tbs, tbs_len, key, s->alg ? s->alg : alg_for(key), &der_len);
	path = write_pem(file, "CERTIFICATE", der, der_len);
	free(tbs);
	free(der);
	return path;
}

static void
expect_fail(const struct spec *s, pca_err code, const char *msg)
{
	uint8_t *tbs = (uint8_t *)0x1;
	size_t len = 77;
	pca_err e = tbs_of(s, &tbs, &len);

	if (e != code)
		fail_msg("%s: got %s (%s), want %s", s->tmpl, pca_strerror(e),
		    pca_err_msg(), pca_strerror(code));
	assert_ptr_equal(tbs, (uint8_t *)0x1);
	assert_int_equal(len, 77);
	if (msg != NULL && strstr(pca_err_msg(), msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", pca_err_msg(), msg);
}

/* ---- reading the dump ---- */

static const char *
jstr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_string(v))
		fail_msg("no string %s", k);
	return json_string_value(v);
}

/* The raw extension with oid (NULL if absent); fails when repeated. */
static json_t *
xget(const json_t *c, const char *oid)
{
	json_t *x, *found = NULL;
	size_t i;

	json_array_foreach (json_object_get(c, "exts"), i, x)
		if (strcmp(jstr(x, "oid"), oid) == 0) {
			if (found != NULL)
				fail_msg("extension %s appears twice", oid);
			found = x;
		}
	return found;
}

static void
expect_crit(const json_t *c, const char *oid, int crit)
{
	json_t *x = xget(c, oid);

	if (x == NULL)
		fail_msg("extension %s missing", oid);
	if (json_is_true(json_object_get(x, "critical")) != crit)
		fail_msg("extension %s critical is %d, want %d", oid, !crit,
		    crit);
}

static void
expect_absent(const json_t *c, const char *oid)
{
	if (xget(c, oid) != NULL)
		fail_msg("extension %s present, want absent", oid);
}

/* The decoded extension value, compact JSON text (caller frees). */
static char *
dec(const json_t *c, const char *oid)
{
	const json_t *d = json_object_get(c, "dec");

	if (d == NULL)
		fail_msg("extensions did not decode: %s",
		    json_string_value(json_object_get(c, "dec_error")));
	return json_dumps(json_object_get(d, oid),
	    JSON_COMPACT | JSON_ENCODE_ANY);
}

static void
expect_dec(const json_t *c, const char *oid, const char *want)
{
	char *got = dec(c, oid);

	if (got == NULL || strcmp(got, want) != 0)
		fail_msg("extension %s is %s, want %s", oid,
		    got ? got : "(none)", want);
	free(got);
}

static void
hexs(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* ---- fixture: a root and a subordinate CA made by the code ---- */

static const char *const root_subj[] = {"C", "US", "O", "OpenPCA Test", "CN",
    "Test Root", NULL};
static const char *const sub_subj[] = {"C", "US", "O", "OpenPCA Test", "CN",
    "Test Sub", NULL};

static void
cert_ids(const char *pem_path, uint8_t **name, size_t *name_len,
    uint8_t ski[20])
{
	uint8_t *txt = NULL, *der = NULL;
	const unsigned char *p, *nd;
	size_t n, dl;
	X509 *x;

	assert_int_equal(util_file_read(pem_path, 1 << 20, &txt, &n), PCA_OK);
	assert_int_equal(
	    util_pem_decode((char *)txt, n, "CERTIFICATE", 1 << 20, &der, &dl),
	    PCA_OK);
	p = der;
	x = d2i_X509(NULL, &p, (long)dl);
	assert_non_null(x);
	assert_int_equal(ASN1_STRING_length(X509_get0_subject_key_id(x)), 20);
	memcpy(ski, ASN1_STRING_get0_data(X509_get0_subject_key_id(x)), 20);
	assert_true(X509_NAME_get0_der(X509_get_subject_name(x), &nd, &n));
	*name = malloc(n);
	memcpy(*name, nd, n);
	*name_len = n;
	X509_free(x);
	free(txt);
	free(der);
}

static int
setup(void **state)
{
	struct prof_csr *c;
	const unsigned char *nd;
	size_t nl;
	struct prof_issuer root_self, root_iss;
	struct spec s;

	(void)state;
	memset(&F, 0, sizeof(F));
	F.now = util_now();
	assert_int_equal(testlib_dir_make(F.dir, sizeof(F.dir), "test_tbs"), 0);
	find_dumper();
	F.root_key = EVP_EC_gen("P-256");
	F.sub_key = EVP_RSA_gen(2048);
	F.leaf_key = EVP_EC_gen("P-256");
	F.self_key = EVP_EC_gen("P-384");
	assert_true(F.root_key && F.sub_key && F.leaf_key && F.self_key);
	/* the root: RootCACertificate/V1 over its own CSR, self-signed */
	c = csr_new(F.root_key, root_subj, NULL, 0);
	assert_true(X509_NAME_get0_der(c->subject, &nd, &nl));
	root_self = (struct prof_issuer){nd, nl, NULL, 0};
	memset(&s, 0, sizeof(s));
	s.tmpl = "RootCACertificate/V1";
	s.csr = c;
	s.issuer = &root_self;
	s.key = F.root_key;
	s.alg = PCA_SIG_SHA256_ECDSA;
	s.nb = F.now - 7200;
	s.na = F.now + 3650 * 86400LL;
	F.root_pem = issue(&s, "root.pem");
	csr_del(c);
	cert_ids(F.root_pem, &F.root_name, &F.root_name_len, F.root_ski);
	/* the sub: PathLen3 from the root, RSA 2048 key */
	c = csr_new(F.sub_key, sub_subj, NULL, 0);
	root_iss =
	    (struct prof_issuer){F.root_name, F.root_name_len, F.root_ski, 20};
	s.tmpl = "SubordinateCACertificate_PathLen3/V1";
	s.csr = c;
	s.issuer = &root_iss;
	s.cdp = CDP;
	s.ocsp = OCSP;
	s.na = F.now + 1000 * 86400LL;
	F.sub_pem = issue(&s, "sub.pem");
	csr_del(c);
	cert_ids(F.sub_pem, &F.sub_name, &F.sub_name_len, F.sub_ski);
	F.sub = (struct prof_issuer){F.sub_name, F.sub_name_len, F.sub_ski, 20};
	hexs(F.sub_ski, 20, F.sub_ski_hex);
	hexs(F.root_ski, 20, F.root_ski_hex);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	testlib_dir_remove(F.dir);
	EVP_PKEY_free(F.root_key);
	EVP_PKEY_free(F.sub_key);
	EVP_PKEY_free(F.leaf_key);
	EVP_PKEY_free(F.self_key);
	free(F.root_pem);
	free(F.sub_pem);
	free(F.root_name);
	free(F.sub_name);
	return 0;
}

/* ---- der.c ---- */

/* An RSA SubjectPublicKeyInfo with a random modulus of exactly bits. */
static uint8_t *
rsa_spki(int bits, size_t *len)
{
	BIGNUM *n = BN_new(), *e = BN_new();
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;
	unsigned char *der = NULL;

	assert_true(BN_rand(n, bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD));
	assert_true(BN_set_word(e, 65537));
	assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n));
	assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e));
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
	*len = (size_t)i2d_PUBKEY(pk, &der);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return der;
}

static enum pca_keyalg
keyalg_of(EVP_PKEY *k, uint8_t **spki, size_t *len)
{
	*spki = NULL;
	*len = (size_t)i2d_PUBKEY(k, spki);
	return x509_spki_keyalg(*spki, *len);
}

static void
test_sigalg_and_spki(void **state)
{
	uint8_t buf[64], *spki, *alg_der = NULL, id[20], want[20];
	size_t n, len;
	int i, pkn;
	const char *curves[] = {"P-256", "P-384", "P-521", "secp256k1"};
	const enum pca_keyalg ec_want[] = {PCA_KEY_EC_P256, PCA_KEY_EC_P384,
	    PCA_KEY_EC_P521, PCA_KEY_NONE};
	const int rsa_bits[] = {2048, 3072, 4096, 1024, 2047, 8192};
	const enum pca_keyalg rsa_want[] = {PCA_KEY_RSA_2048, PCA_KEY_RSA_3072,
	    PCA_KEY_RSA_4096, PCA_KEY_NONE, PCA_KEY_NONE, PCA_KEY_NONE};
	const unsigned char *pk;
	X509_PUBKEY *xp;
	EVP_PKEY *k;

	(void)state;
	/* AlgorithmIdentifiers equal OpenSSL's own encoding */
	for (i = PCA_SIG_NONE + 1; i < PCA_SIG_MAX; i++) {
		X509_ALGOR *a = X509_ALGOR_new();
		int an;

		assert_true(X509_ALGOR_set0(a, OBJ_nid2obj(pca_sigalg_nid(i)),
		    pca_sigalg_is_rsa(i) ? V_ASN1_NULL : V_ASN1_UNDEF, NULL));
		an = i2d_X509_ALGOR(a, &alg_der);
		assert_int_equal(x509_sigalg_der(i, buf, sizeof(buf), &n),
		    PCA_OK);
		assert_int_equal(n, an);
		assert_memory_equal(buf, alg_der, n);
		OPENSSL_free(alg_der);
		alg_der = NULL;
		X509_ALGOR_free(a);
		assert_int_equal(x509_sigalg_der(i, buf, n - 1, &n),
		    PCA_ETOOBIG);
	}
	assert_int_equal(x509_sigalg_der(PCA_SIG_NONE, buf, sizeof(buf), &n),
	    PCA_EUNSUPPORTED);
	assert_int_equal(x509_sigalg_der(PCA_SIG_MAX, buf, sizeof(buf), &n),
	    PCA_EUNSUPPORTED);
	/* key algorithms */
	for (i = 0; i < 4; i++) {
		k = EVP_EC_gen(curves[i]);
		assert_int_equal(keyalg_of(k, &spki, &len), ec_want[i]);
		/* SKI method 1: SHA-1 of the BIT STRING value, via OpenSSL */
		xp = X509_PUBKEY_new();
		assert_true(X509_PUBKEY_set(&xp, k));
		assert_true(X509_PUBKEY_get0_param(NULL, &pk, &pkn, NULL, xp));
		SHA1(pk, (size_t)pkn, want);
		assert_int_equal(x509_spki_keyid(spki, len, id), PCA_OK);
		assert_memory_equal(id, want, 20);
		/* truncated and trailing bytes */
		assert_int_equal(x509_spki_keyalg(spki, len - 1), PCA_KEY_NONE);
		assert_int_equal(x509_spki_keyid(spki, len - 1, id),
		    PCA_EINVAL);
		X509_PUBKEY_free(xp);
		OPENSSL_free(spki);
		EVP_PKEY_free(k);
	}
	for (i = 0; i < 6; i++) {
		spki = rsa_spki(rsa_bits[i], &len);
		assert_int_equal(x509_spki_keyalg(spki, len), rsa_want[i]);
		OPENSSL_free(spki);
	}
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_int_equal(keyalg_of(k, &spki, &len), PCA_KEY_NONE);
	assert_int_equal(x509_spki_keyid(spki, len, id), PCA_OK);
	OPENSSL_free(spki);
	EVP_PKEY_free(k);
	assert_int_equal(x509_spki_keyalg((const uint8_t *)"\x30\x00", 2),
	    PCA_KEY_NONE);
	assert_int_equal(x509_spki_keyalg(NULL, 0), PCA_KEY_NONE);
}

static void
test_serial_assemble_dercheck(void **state)
{
	uint8_t s[16], prev[16] = {0}, *der = NULL;
	static const uint8_t sig[3] = {1, 2, 3};
	static const uint8_t tbs[] = {0x30, 0x03, 0x02, 0x01, 0x05};
	/* SEQ{tbs, AlgId(ecdsa-with-SHA256), BIT STRING 00 01 02 03} */
	static const uint8_t want[] = {0x30, 0x17, 0x30, 0x03, 0x02, 0x01, 0x05,
	    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03,
	    0x02, 0x03, 0x04, 0x00, 0x01, 0x02, 0x03};
	size_t n;
	int i, same = 0;

	(void)state;
	for (i = 0; i < 300; i++) {
		assert_int_equal(prof_serial_new(s), PCA_OK);
		assert_true(s[0] != 0);
		same += memcmp(s, prev, 16) == 0;
		memcpy(prev, s, 16);
	}
	assert_int_equal(same, 0);
	assert_int_equal(x509_cert_assemble(tbs, sizeof(tbs),
			     PCA_SIG_SHA256_ECDSA, sig, sizeof(sig), &der, &n),
	    PCA_OK);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(der, want, n);
	free(der);
	der = NULL;
	assert_int_equal(x509_cert_assemble(tbs + 1, 4, PCA_SIG_SHA256_ECDSA,
			     sig, 3, &der, &n),
	    PCA_EINVAL);
	assert_int_equal(
	    x509_cert_assemble(tbs, 5, PCA_SIG_SHA256_ECDSA, sig, 0, &der, &n),
	    PCA_EINVAL);
	assert_int_equal(x509_cert_assemble(tbs, 5, PCA_SIG_SHA256_ECDSA, sig,
			     LIM_SIG + 1, &der, &n),
	    PCA_EINVAL);
	assert_int_equal(
	    x509_cert_assemble(tbs, 5, PCA_SIG_NONE, sig, 3, &der, &n),
	    PCA_EUNSUPPORTED);
	assert_null(der);
	/* the structural DER check */
	assert_true(x509_der_check(tbs, sizeof(tbs)));
	assert_true(x509_der_check(want, sizeof(want)));
	assert_false(x509_der_check(want, sizeof(want) - 1));
	assert_false(x509_der_check((const uint8_t *)"\x30\x80\x00\x00", 4));
	assert_false(x509_der_check((const uint8_t *)"\x04\x81\x01\x00", 4));
	assert_false(x509_der_check((const uint8_t *)"\x05\x00\x05\x00", 4));
	assert_false(
	    x509_der_check((const uint8_t *)"\x30\x03\x04\x05\x00", 5));
	assert_false(x509_der_check(NULL, 0));
	assert_true(x509_der_check((const uint8_t *)"\x05\x00", 2));
	assert_true(x509_der_check((const uint8_t *)"\x9f\x21\x01\x00", 4));
}

/* ---- templates: the names of spec 4.2, written out independently ---- */

struct tinfo {
	char name[128];
	char family[96]; /* name without variety and "/V1" */
	int api, csr;    /* variety */
	int pathlen;     /* -1: none */
	int blank, root, ca;
	int crit_bc; /* BlankEndEntity..._CriticalBasicConstraints */
};

static size_t
spec_names(struct tinfo *t, size_t max)
{
	static const char *const ee[] = {"EndEntityCertificate",
	    "EndEntityClientAuthCertificate", "EndEntityServerAuthCertificate",
	    "CodeSigningCertificate", "OCSPSigningCertificate"};
	static const char *const var[] = {"", "_CSRPassthrough",
	    "_APIPassthrough", "_APICSRPassthrough"};
	char fam[96];
	size_t n = 0, i, v, p;

#define ADD(f, vi)                                                             \
	do {                                                                   \
		assert_true(n < max);                                          \
		memset(&t[n], 0, sizeof(t[n]));                                \
		(void)snprintf(t[n].name, sizeof(t[n].name), "%s%s/V1", f,     \
		    var[vi]);                                                  \
		(void)snprintf(t[n].family, sizeof(t[n].family), "%s", f);     \
		t[n].csr = (vi) == 1 || (vi) == 3;                             \
		t[n].api = (vi) >= 2;                                          \
		n++;                                                           \
	} while (0)
	for (i = 0; i < 5; i++)
		for (v = 0; v < 4; v++)
			ADD(ee[i], v);
	ADD("RootCACertificate", 0);
	ADD("RootCACertificate", 2);
	for (p = 0; p < 4; p++) {
		(void)snprintf(fam, sizeof(fam),
		    "SubordinateCACertificate_PathLen%zu", p);
		for (v = 0; v < 4; v++)
			ADD(fam, v);
	}
	for (v = 1; v < 4; v++) {
		ADD("BlankEndEntityCertificate", v);
		ADD("BlankEndEntityCertificate_CriticalBasicConstraints", v);
	}
	for (p = 0; p < 4; p++) {
		(void)snprintf(fam, sizeof(fam),
		    "BlankSubordinateCACertificate_PathLen%zu", p);
		for (v = 1; v < 4; v++)
			ADD(fam, v);
	}
	ADD("BlankRootCACertificate", 2);
	for (p = 0; p < 4; p++) {
		(void)snprintf(fam, sizeof(fam),
		    "BlankRootCACertificate_PathLen%zu", p);
		ADD(fam, 2);
	}
#undef ADD
	for (i = 0; i < n; i++) {
		const char *pl = strstr(t[i].family, "_PathLen");

		t[i].pathlen = pl ? pl[8] - '0' : -1;
		t[i].blank = strncmp(t[i].family, "Blank", 5) == 0;
		t[i].root = strstr(t[i].family, "RootCA") != NULL;
		t[i].ca = strstr(t[i].family, "CACertificate") != NULL;
		t[i].crit_bc = strstr(t[i].family, "CriticalBasic") != NULL;
	}
	return n;
}

static enum prof_tmpl_family
family_of(const char *f)
{
	static const struct {
		const char *prefix;
		enum prof_tmpl_family fam;
	} m[] = {{"EndEntityCertificate", PROF_TF_END_ENTITY},
	    {"EndEntityClientAuth", PROF_TF_END_ENTITY_CLIENT},
	    {"EndEntityServerAuth", PROF_TF_END_ENTITY_SERVER},
	    {"CodeSigning", PROF_TF_CODE_SIGNING},
	    {"OCSPSigning", PROF_TF_OCSP_SIGNING}, {"RootCA", PROF_TF_ROOT_CA},
	    {"SubordinateCA", PROF_TF_SUBORDINATE_CA},
	    {"BlankEndEntityCertificate_Critical",
		PROF_TF_BLANK_END_ENTITY_CRIT_BC},
	    {"BlankEndEntity", PROF_TF_BLANK_END_ENTITY},
	    {"BlankSubordinateCA", PROF_TF_BLANK_SUBORDINATE_CA},
	    {"BlankRootCA", PROF_TF_BLANK_ROOT_CA}};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strncmp(f, m[i].prefix, strlen(m[i].prefix)) == 0)
			return m[i].fam;
	fail_msg("no family for %s", f);
	return PROF_TF_END_ENTITY;
}

static void
test_template_table(void **state)
{
	struct tinfo t[80];
	const struct prof_template *tp, *all;
	char arn[256];
	size_t n, i, nall;
	static const char *const unknown[] = {ARN_PREFIX
	    "EndEntityCertificate/V2",
	    ARN_PREFIX "RootCACertificate_CSRPassthrough/V1",
	    ARN_PREFIX "RootCACertificate_APICSRPassthrough/V1",
	    ARN_PREFIX "BlankEndEntityCertificate/V1",
	    ARN_PREFIX "BlankSubordinateCACertificate_PathLen0/V1",
	    ARN_PREFIX "BlankRootCACertificate/V1",
	    ARN_PREFIX "BlankRootCACertificate_CSRPassthrough/V1",
	    ARN_PREFIX "SubordinateCACertificate_PathLen4/V1",
	    ARN_PREFIX "SubordinateCACertificate/V1",
	    ARN_PREFIX "endentitycertificate/V1",
	    ARN_PREFIX "EndEntityCertificate/V1/",
	    ARN_PREFIX "EndEntityCertificate",
	    "arn:aws:acm-pca:us-east-1::template/EndEntityCertificate/V1",
	    "arn:aws:acm-pca::123456789012:template/EndEntityCertificate/V1",
	    "arn::acm-pca:::template/EndEntityCertificate/V1",
	    "arn:AWS:acm-pca:::template/EndEntityCertificate/V1",
	    "arn:aws:acm:::template/EndEntityCertificate/V1",
	    "EndEntityCertificate/V1", "", NULL};

	(void)state;
	n = spec_names(t, 80);
	assert_int_equal(n, 61);
	all = prof_template_all(&nall);
	assert_int_equal(nall, n);
	for (i = 0; i < n; i++) {
		assert_true(snprintf(arn, sizeof(arn), ARN_PREFIX "%s",
				t[i].name) < (int)sizeof(arn));
		if ((tp = prof_template_find(arn)) == NULL)
			fail_msg("template %s not found", t[i].name);
		assert_string_equal(tp->name, t[i].name);
		assert_int_equal(tp->api_passthrough, t[i].api);
		assert_int_equal(tp->csr_passthrough, t[i].csr);
		assert_int_equal(tp->pathlen, t[i].pathlen);
		assert_int_equal(prof_template_is_root(tp), t[i].root);
		assert_int_equal(prof_template_is_ca(tp), t[i].ca);
		assert_int_equal(tp->family, family_of(t[i].family));
		/* any partition */
		assert_true(snprintf(arn, sizeof(arn),
				"arn:aws-us-gov:acm-pca:::template/%s",
				t[i].name) < (int)sizeof(arn));
		assert_ptr_equal(prof_template_find(arn), tp);
	}
	assert_int_equal(prof_template_find("arn:aws-cn:acm-pca:::template/"
					    "EndEntityCertificate/V1")
			     ->family,
	    PROF_TF_END_ENTITY);
	for (i = 0; i < nall; i++) { /* the table holds nothing else */
		size_t k;

		for (k = 0; k < n && strcmp(all[i].name, t[k].name) != 0; k++)
			;
		assert_true(k < n);
	}
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		if (prof_template_find(unknown[i]) != NULL)
			fail_msg("%s should be unknown", unknown[i]);
}

/* ---- a chain made by the code, checked by openssl and python ---- */

static const char *const leaf_subj[] = {"CN", "leaf.example", NULL};

static void
test_chain(void **state)
{
	X509_EXTENSION *x[1];
	struct prof_csr *c;
	struct spec s;
	char *leaf, *paths[3], spki_hex[2048], hex[256];
	json_t *d, *root, *sub, *lf;

	(void)state;
	x[0] = xconf("subjectAltName", "DNS:leaf.example,IP:192.0.2.7");
	c = csr_new(F.leaf_key, leaf_subj, x, 1);
	memset(&s, 0, sizeof(s));
	s.tmpl = "EndEntityCertificate/V1";
	s.csr = c;
	s.cdp = CDP;
	s.ocsp = OCSP;
	leaf = issue(&s, "leaf.pem");
	verify_ok(F.root_pem, F.sub_pem, leaf);
	verify_ok(F.root_pem, NULL, F.sub_pem);
	verify_ok(F.root_pem, NULL, F.root_pem);
	paths[0] = F.root_pem;
	paths[1] = F.sub_pem;
	paths[2] = leaf;
	d = dump(paths, 3);
	root = json_array_get(d, 0);
	sub = json_array_get(d, 1);
	lf = json_array_get(d, 2);
	/* v3, the same AlgorithmIdentifier inside and outside */
	assert_string_equal(jstr(lf, "version_field"), "a003020102");
	assert_string_equal(jstr(root, "tbs_sigalg"),
	    "300a06082a8648ce3d040302");
	assert_string_equal(jstr(root, "tbs_sigalg"),
	    jstr(root, "outer_sigalg"));
	assert_string_equal(jstr(lf, "tbs_sigalg"),
	    "300d06092a864886f70d01010b0500");
	assert_string_equal(jstr(lf, "tbs_sigalg"), jstr(lf, "outer_sigalg"));
	/* the issuer is a byte copy of the issuing CA's subject */
	assert_string_equal(jstr(root, "issuer_der"),
	    jstr(root, "subject_der"));
	assert_string_equal(jstr(sub, "issuer_der"), jstr(root, "subject_der"));
	assert_string_equal(jstr(lf, "issuer_der"), jstr(sub, "subject_der"));
	/* the SPKI is the CSR's bytes; the SKI is method 1 over them */
	hexs(c->spki, c->spki_len, spki_hex);
	assert_string_equal(jstr(lf, "spki_der"), spki_hex);
	expect_crit(lf, O_SKI, 0);
	(void)snprintf(hex, sizeof(hex), "\"%s\"", jstr(lf, "spki_keyid"));
	expect_dec(lf, O_SKI, hex);
	(void)snprintf(hex, sizeof(hex), "\"%s\"", jstr(root, "spki_keyid"));
	expect_dec(root, O_SKI, hex);
	/* AKI links: leaf -> sub -> root; the root has none */
	expect_absent(root, O_AKI);
	(void)snprintf(hex, sizeof(hex), "{\"keyid\":\"%s\",\"issuer\":false}",
	    jstr(sub, "spki_keyid"));
	expect_dec(lf, O_AKI, hex);
	(void)snprintf(hex, sizeof(hex), "{\"keyid\":\"%s\",\"issuer\":false}",
	    jstr(root, "spki_keyid"));
	expect_dec(sub, O_AKI, hex);
	expect_crit(lf, O_AKI, 0);
	/* CA extensions */
	expect_crit(root, O_BC, 1);
	expect_dec(root, O_BC, "{\"ca\":true,\"pathlen\":null}");
	expect_dec(sub, O_BC, "{\"ca\":true,\"pathlen\":3}");
	expect_absent(root, O_CDP);
	expect_absent(root, O_AIA);
	expect_dec(sub, O_CDP, "[[[\"uri\",\"" CDP "\"]]]");
	/* the leaf */
	expect_dec(lf, O_SAN,
	    "[[\"dns\",\"leaf.example\"],[\"ip\","
	    "\"192.0.2.7\"]]");
	expect_crit(lf, O_SAN, 0);
	expect_dec(lf, O_AIA,
	    "[[\"1.3.6.1.5.5.7.48.1\",[\"uri\",\"" OCSP "\"]]]");
	expect_crit(lf, O_AIA, 0);
	expect_crit(lf, O_CDP, 0);
	/* serial: positive, 16 octets as given; times UTCTime */
	assert_string_equal(jstr(lf, "serial_raw"),
	    "7f0102030405060708090a0b0c0d0e0f");
	assert_int_equal(json_integer_value(json_object_get(lf, "nb_tag")),
	    0x17);
	assert_int_equal(json_integer_value(json_object_get(lf, "nb")),
	    F.now - 3600);
	assert_int_equal(json_integer_value(json_object_get(lf, "na")),
	    F.now + 30 * 86400);
	json_decref(d);
	free(leaf);
	csr_del(c);
}

/*
 * AIA caIssuers (RFC 5280 4.2.2.1) follows the OCSP URL in the one AIA
 * extension, and goes with it: no OCSP URL, no AIA at all.
 */
static void
test_ca_issuers(void **state)
{
	static const char *const aia_subj[] = {"CN", "aia.example", NULL};
	struct prof_csr *c;
	struct spec s;
	char *leaf, *none, *paths[2];
	json_t *d;

	(void)state;
	c = csr_new(F.leaf_key, aia_subj, NULL, 0);
	memset(&s, 0, sizeof(s));
	s.tmpl = "EndEntityCertificate/V1";
	s.csr = c;
	s.ocsp = OCSP;
	s.issuers = "http://pki.example/ca/x.crt";
	leaf = issue(&s, "aia.pem");
	verify_ok(F.root_pem, F.sub_pem, leaf);
	s.ocsp = NULL;
	none = issue(&s, "noaia.pem");
	paths[0] = leaf;
	paths[1] = none;
	d = dump(paths, 2);
	expect_dec(json_array_get(d, 0), O_AIA,
	    "[[\"1.3.6.1.5.5.7.48.1\","
	    "[\"uri\",\"" OCSP "\"]],[\"1.3.6.1.5.5.7.48.2\",[\"uri\","
	    "\"http://pki.example/ca/x.crt\"]]]");
	expect_crit(json_array_get(d, 0), O_AIA, 0);
	expect_absent(json_array_get(d, 1), O_AIA);
	json_decref(d);
	free(leaf);
	free(none);
	csr_del(c);
}

/* ---- every template: spec 4.2 and 4.3 over the same inputs ---- */

static const uint8_t csr_aki[] = {0x30, 0x06, 0x80, 0x04, 1, 2, 3, 4};
static const uint8_t csr_custom[] = {0x05, 0x00};
static const uint8_t csr_cp[] = {0x30, 0x07, 0x30, 0x05, 0x06, 0x03, 0x2a, 0x03,
    0x04}; /* policy 1.2.3.4 */

/* A CSR asking for everything; ca selects a CA-like keyUsage. */
static struct prof_csr *
greedy_csr(EVP_PKEY *key, int ca)
{
	static const char *const subj[] = {"CN", "csr.example", "O", "CSR Org",
	    NULL};
	X509_EXTENSION *x[9];

	x[0] = xconf("subjectAltName", "DNS:csr.example.com");
	x[1] = xconf("keyUsage", ca ? "critical,keyCertSign,cRLSign"
				    : "critical,digitalSignature,keyAgreement");
	x[2] = xconf("extendedKeyUsage", "emailProtection");
	x[3] = xraw("2.5.29.32", 0, csr_cp, sizeof(csr_cp));
	x[4] = xconf("basicConstraints",
	    ca ? "critical,CA:FALSE" : "critical,CA:TRUE");
	x[5] = xconf("subjectKeyIdentifier", "01:02:03:04");
	x[6] = xraw("2.5.29.35", 0, csr_aki, sizeof(csr_aki));
	x[7] = xconf("crlDistributionPoints", "URI:http://csr.example/crl");
	x[8] = xraw(O_CSR_CUSTOM, 0, csr_custom, sizeof(csr_custom));
	return csr_new(key, subj, x, 9);
}

#define API_CUSTOM_B64 "DANhYmM=" /* UTF8String "abc" */
#define API_REST                                                               \
	"\"ExtendedKeyUsage\":[{\"ExtendedKeyUsageType\":\"CLIENT_AUTH\"},"    \
	"{\"ExtendedKeyUsageObjectIdentifier\":\"1.3.6.1.4.1.99999.7\"}],"     \
	"\"SubjectAlternativeNames\":[{\"DnsName\":\"api.example.com\"}],"     \
	"\"CertificatePolicies\":[{\"CertPolicyId\":\"2.23.140.1.2.1\","       \
	"\"PolicyQualifiers\":[{\"PolicyQualifierId\":\"CPS\",\"Qualifier\":"  \
	"{\"CpsUri\":\"https://cps.example/cps\"}}]}],"                        \
	"\"CustomExtensions\":[{\"ObjectIdentifier\":\"" O_API_CUSTOM          \
	"\",\"Value\":\"" API_CUSTOM_B64 "\"}]}}"
static const char api_ee[] =
    "{\"Subject\":{\"CommonName\":\"api.example\","
    "\"Country\":\"US\"},\"Extensions\":{\"KeyUsage\":{\"DigitalSignature\":"
    "true,\"NonRepudiation\":true}," API_REST;
static const char api_ca[] =
    "{\"Subject\":{\"CommonName\":\"api.example\","
    "\"Country\":\"US\"},\"Extensions\":{\"KeyUsage\":{\"DigitalSignature\":"
    "true,\"NonRepudiation\":true,\"KeyCertSign\":true,\"CRLSign\":true}"
    "," API_REST;

/* Template-fixed KU/EKU by family (spec 4.2), as decoded JSON text. */
static void
family_ku_eku(const char *f, const char **ku, const char **eku, int *ecrit)
{
	*ecrit = 0;
	*eku = NULL;
	*ku = "[\"digital_signature\",\"key_encipherment\"]";
	if (strcmp(f, "EndEntityCertificate") == 0)
		*eku = "[\"1.3.6.1.5.5.7.3.1\",\"1.3.6.1.5.5.7.3.2\"]";
	else if (strcmp(f, "EndEntityClientAuthCertificate") == 0)
		*eku = "[\"1.3.6.1.5.5.7.3.2\"]";
	else if (strcmp(f, "EndEntityServerAuthCertificate") == 0)
		*eku = "[\"1.3.6.1.5.5.7.3.1\"]";
	else if (strcmp(f, "CodeSigningCertificate") == 0) {
		*ku = "[\"digital_signature\"]";
		*eku = "[\"1.3.6.1.5.5.7.3.3\"]";
		*ecrit = 1;
	} else if (strcmp(f, "OCSPSigningCertificate") == 0) {
		*ku = "[\"digital_signature\"]";
		*eku = "[\"1.3.6.1.5.5.7.3.9\"]";
		*ecrit = 1;
	} else
		*ku = "[\"digital_signature\",\"key_cert_sign\",\"crl_sign\"]";
}

static void
check_template_cert(const struct tinfo *t, const json_t *c)
{
	const char *ku, *eku;
	char want[256];
	int ecrit, n = 0;

	/* basicConstraints: template only (the CSR's is never copied) */
	expect_crit(c, O_BC, t->ca || t->crit_bc);
	if (t->ca && t->pathlen >= 0)
		(void)snprintf(want, sizeof(want),
		    "{\"ca\":true,\"pathlen\":%d}", t->pathlen);
	else
		(void)snprintf(want, sizeof(want),
		    "{\"ca\":%s,\"pathlen\":"
		    "null}",
		    t->ca ? "true" : "false");
	expect_dec(c, O_BC, want);
	n++;
	/* SKI computed, never the CSR's 01020304 */
	(void)snprintf(want, sizeof(want), "\"%s\"", jstr(c, "spki_keyid"));
	expect_dec(c, O_SKI, want);
	expect_crit(c, O_SKI, 0);
	n++;
	/* AKI, CDP, AIA: never on roots; the CSR's AKI and CDP never */
	if (t->root) {
		expect_absent(c, O_AKI);
		expect_absent(c, O_CDP);
		expect_absent(c, O_AIA);
	} else {
		(void)snprintf(want, sizeof(want),
		    "{\"keyid\":\"%s\","
		    "\"issuer\":false}",
		    F.sub_ski_hex);
		expect_dec(c, O_AKI, want);
		expect_dec(c, O_CDP, "[[[\"uri\",\"" CDP "\"]]]");
		expect_dec(c, O_AIA,
		    "[[\"1.3.6.1.5.5.7.48.1\",[\"uri\",\"" OCSP "\"]]]");
		expect_crit(c, O_CDP, 0);
		expect_crit(c, O_AIA, 0);
		n += 3;
	}
	/* subject and SAN: API for API varieties, else the CSR's */
	expect_dec(c, O_SAN,
	    t->api ? "[[\"dns\",\"api.example.com\"]]"
		   : "[[\"dns\",\"csr.example.com\"]]");
	n++;
	assert_string_equal(
	    json_string_value(json_array_get(
		json_array_get(json_array_get(json_object_get(c, "subject"),
				   t->api ? 1 : 0),
		    0),
		2)),
	    t->api ? "api.example" : "csr.example");
	/* keyUsage and EKU */
	if (!t->blank) {
		family_ku_eku(t->family, &ku, &eku, &ecrit);
		expect_dec(c, O_KU, ku);
		expect_crit(c, O_KU, 1);
		n++;
		if (eku != NULL) {
			expect_dec(c, O_EKU, eku);
			expect_crit(c, O_EKU, ecrit);
			n++;
		} else
			expect_absent(c, O_EKU);
	} else if (t->api) {
		expect_dec(c, O_KU,
		    t->ca ? "[\"digital_signature\","
			    "\"content_commitment\",\"key_cert_sign\",\"crl_"
			    "sign\"]"
			  : "[\"digital_signature\",\"content_commitment\"]");
		expect_crit(c, O_KU, 1);
		expect_dec(c, O_EKU,
		    "[\"1.3.6.1.5.5.7.3.2\","
		    "\"1.3.6.1.4.1.99999.7\"]");
		n += 2;
	} else {
		expect_dec(c, O_KU,
		    t->ca ? "[\"key_cert_sign\",\"crl_sign\"]"
			  : "[\"digital_signature\",\"key_agreement\"]");
		expect_crit(c, O_KU, 1);
		expect_dec(c, O_EKU, "[\"1.3.6.1.5.5.7.3.4\"]");
		n += 2;
	}
	/* policies and custom extensions by variety */
	if (t->api)
		expect_dec(c, O_CP,
		    "[[\"2.23.140.1.2.1\",[\"https://"
		    "cps.example/cps\"]]]");
	else if (t->csr)
		expect_dec(c, O_CP, "[[\"1.2.3.4\",[]]]");
	else
		expect_absent(c, O_CP);
	n += t->api || t->csr;
	if (t->csr) {
		expect_crit(c, O_CSR_CUSTOM, 0);
		n++;
	} else
		expect_absent(c, O_CSR_CUSTOM);
	if (t->api) {
		expect_crit(c, O_API_CUSTOM, 0);
		assert_string_equal(jstr(xget(c, O_API_CUSTOM), "value"),
		    "0c03616263");
		n++;
	} else
		expect_absent(c, O_API_CUSTOM);
	/* nothing else */
	assert_int_equal(json_array_size(json_object_get(c, "exts")), n);
}

static void
test_every_template(void **state)
{
	struct tinfo t[80];
	char *paths[80] = {NULL}, file[160];
	struct prof_csr *ee, *ca, *rootc;
	struct prof_issuer self[80];
	X509_NAME *an = NULL;
	json_t *aj, *d;
	const unsigned char *nd;
	size_t n, i, nl;
	struct spec s;

	(void)state;
	n = spec_names(t, 80);
	ee = greedy_csr(F.leaf_key, 0);
	ca = greedy_csr(F.leaf_key, 1);
	rootc = greedy_csr(F.self_key, 1);
	aj = json_loads(api_ca, 0, NULL);
	assert_int_equal(
	    prof_subject_from_json(json_object_get(aj, "Subject"), &an),
	    PCA_OK);
	for (i = 0; i < n; i++) {
		memset(&s, 0, sizeof(s));
		s.tmpl = t[i].name;
		s.csr = t[i].root ? rootc : t[i].ca ? ca : ee;
		s.api = t[i].ca ? api_ca : api_ee;
		s.cdp = CDP;
		s.ocsp = OCSP;
		if (t[i].root) { /* self-issued: issuer = own subject */
			assert_true(X509_NAME_get0_der(
			    t[i].api ? an : rootc->subject, &nd, &nl));
			self[i] = (struct prof_issuer){nd, nl, NULL, 0};
			s.issuer = &self[i];
			s.key = F.self_key;
		}
		(void)snprintf(file, sizeof(file), "t%02zu.pem", i);
		paths[i] = issue(&s, file);
	}
	d = dump(paths, n);
	for (i = 0; i < n; i++) {
		const json_t *c = json_array_get(d, i);

		if (json_object_get(c, "dec") == NULL)
			fail_msg("%s: %s", t[i].name,
			    json_string_value(json_object_get(c, "dec_error")));
		print_message("checking %s\n", t[i].name);
		check_template_cert(&t[i], c);
		if (t[i].root)
			verify_ok(paths[i], NULL, paths[i]);
		else
			verify_ok(F.root_pem, F.sub_pem, paths[i]);
		free(paths[i]);
	}
	json_decref(d);
	json_decref(aj);
	X509_NAME_free(an);
	csr_del(ee);
	csr_del(ca);
	csr_del(rootc);
}

/* ---- precedence details (spec 4.1, 4.3) ---- */

static json_t *
issue_dump(const struct spec *s, const char *file)
{
	char *p = issue(s, file);
	json_t *c = dump1(p);

	free(p);
	return c;
}

static void
test_precedence(void **state)
{
	X509_EXTENSION *x[3];
	struct prof_csr *plain, *withcdp;
	struct spec s;
	json_t *c;
	char *p;

	(void)state;
	plain = csr_new(F.leaf_key, leaf_subj, NULL, 0);
	x[0] = xconf("crlDistributionPoints", "URI:http://csr.example/crl");
	x[1] = xconf("authorityInfoAccess", "OCSP;URI:http://csr.example/ocsp");
	x[2] = xconf("keyUsage", "digitalSignature");
	withcdp = csr_new(F.leaf_key, leaf_subj, x, 3);
	memset(&s, 0, sizeof(s));

	/* non-Blank: API KeyUsage/EKU and template OIDs in CustomExtensions
	 * are dropped; BC, SKI, AKI stay the template's / computed */
	s.tmpl = "EndEntityServerAuthCertificate_APIPassthrough/V1";
	s.csr = plain;
	s.api =
	    "{\"Extensions\":{\"KeyUsage\":{\"KeyAgreement\":true},"
	    "\"ExtendedKeyUsage\":[{\"ExtendedKeyUsageType\":\"CODE_SIGNING\"}]"
	    ","
	    "\"CustomExtensions\":["
	    "{\"ObjectIdentifier\":\"2.5.29.19\",\"Value\":\"MAMBAf8=\","
	    "\"Critical\":true},"
	    "{\"ObjectIdentifier\":\"2.5.29.14\",\"Value\":\"BAMBAgM=\"},"
	    "{\"ObjectIdentifier\":\"2.5.29.35\",\"Value\":\"MAWAAwECAw==\"},"
	    "{\"ObjectIdentifier\":\"1.3.6.1.4.1.99999.30\",\"Value\":\"BQA=\","
	    "\"Critical\":true}]}}";
	c = issue_dump(&s, "p1.pem");
	expect_dec(c, O_KU, "[\"digital_signature\",\"key_encipherment\"]");
	expect_dec(c, O_EKU, "[\"1.3.6.1.5.5.7.3.1\"]");
	expect_dec(c, O_BC, "{\"ca\":false,\"pathlen\":null}");
	expect_crit(c, O_BC, 0);
	assert_int_equal(strlen(jstr(xget(c, O_SKI), "value")), 44);
	expect_absent(c, O_CDP); /* no CA CDP, not a CSR variety */
	expect_crit(c, "1.3.6.1.4.1.99999.30", 1);
	assert_int_equal(json_array_size(json_object_get(c, "exts")), 6);
	json_decref(c);
	/* a critical unknown extension makes openssl refuse the cert */
	p = issue(&s, "p1b.pem");
	{
		char *out = NULL;

		assert_int_not_equal(verify(F.root_pem, F.sub_pem, p, &out), 0);
		assert_non_null(strstr(out, "unhandled critical extension"));
		free(out);
	}
	free(p);

	/* a root APIPassthrough takes AKI only from CustomExtensions */
	{
		struct prof_csr *rc = csr_new(F.self_key, root_subj, NULL, 0);
		const unsigned char *nd;
		size_t nl;
		struct prof_issuer self;

		assert_true(X509_NAME_get0_der(rc->subject, &nd, &nl));
		self = (struct prof_issuer){nd, nl, F.sub_ski, 20};
		s.tmpl = "RootCACertificate_APIPassthrough/V1";
		s.csr = rc;
		s.issuer = &self;
		s.key = F.self_key;
		s.cdp = CDP;
		s.ocsp = OCSP;
		s.api = "{\"Extensions\":{\"CustomExtensions\":["
			"{\"ObjectIdentifier\":\"2.5.29.35\",\"Value\":"
			"\"MAWAAwECAw==\"},{\"ObjectIdentifier\":\"2.5.29.31\","
			"\"Value\":\"MBQwEqAQoA6GDGh0dHA6Ly94L2NybA==\"}]}}";
		c = issue_dump(&s, "p2.pem");
		expect_dec(c, O_AKI, "{\"keyid\":\"010203\",\"issuer\":false}");
		expect_absent(c, O_CDP); /* never on a root */
		expect_absent(c, O_AIA);
		json_decref(c);
		s.api = NULL;
		s.tmpl = "RootCACertificate/V1";
		c = issue_dump(&s, "p3.pem");
		expect_absent(c, O_AKI); /* even with an issuer SKI */
		json_decref(c);
		csr_del(rc);
		s.issuer = NULL;
		s.key = NULL;
	}

	/* the CSR's CDP/AIA: honoured for CSR varieties only when the CA
	 * configures none; the CA's wins otherwise */
	s.tmpl = "EndEntityCertificate_CSRPassthrough/V1";
	s.csr = withcdp;
	s.api = NULL;
	s.cdp = NULL;
	s.ocsp = NULL;
	c = issue_dump(&s, "p4.pem");
	expect_dec(c, O_CDP, "[[[\"uri\",\"http://csr.example/crl\"]]]");
	expect_dec(c, O_AIA,
	    "[[\"1.3.6.1.5.5.7.48.1\",[\"uri\","
	    "\"http://csr.example/ocsp\"]]]");
	expect_dec(c, O_KU, "[\"digital_signature\",\"key_encipherment\"]");
	json_decref(c);
	s.cdp = CDP;
	s.ocsp = OCSP;
	c = issue_dump(&s, "p5.pem");
	expect_dec(c, O_CDP, "[[[\"uri\",\"" CDP "\"]]]");
	expect_dec(c, O_AIA,
	    "[[\"1.3.6.1.5.5.7.48.1\",[\"uri\",\"" OCSP "\"]]]");
	json_decref(c);
	s.tmpl = "EndEntityCertificate/V1";
	s.cdp = s.ocsp = NULL;
	c = issue_dump(&s, "p6.pem");
	expect_absent(c, O_CDP);
	expect_absent(c, O_AIA);
	json_decref(c);
	/* a Blank CSR variety: the CDP may also come from the API */
	s.tmpl = "BlankEndEntityCertificate_CriticalBasicConstraints_"
		 "APIPassthrough/V1";
	s.csr = plain;
	s.api =
	    "{\"Extensions\":{\"CustomExtensions\":[{\"ObjectIdentifier\":"
	    "\"2.5.29.31\",\"Value\":\"MBQwEqAQoA6GDGh0dHA6Ly94L2NybA==\"}]}}";
	c = issue_dump(&s, "p7.pem");
	expect_dec(c, O_CDP, "[[[\"uri\",\"http://x/crl\"]]]");
	expect_crit(c, O_BC, 1);
	expect_absent(c, O_KU); /* neither API nor CSR gives one */
	expect_absent(c, O_EKU);
	json_decref(c);
	s.cdp = CDP;
	c = issue_dump(&s, "p8.pem");
	expect_dec(c, O_CDP, "[[[\"uri\",\"" CDP "\"]]]");
	json_decref(c);

	/* APICSR: API KU over the CSR's; CSR EKU fills in */
	x[0] = xconf("keyUsage", "critical,keyAgreement");
	x[1] = xconf("extendedKeyUsage", "timeStamping");
	{
		struct prof_csr *k = csr_new(F.leaf_key, leaf_subj, x, 2);

		s.tmpl = "BlankEndEntityCertificate_APICSRPassthrough/V1";
		s.csr = k;
		s.api = "{\"Extensions\":{\"KeyUsage\":{\"DigitalSignature\":"
			"true,\"KeyAgreement\":true,\"EncipherOnly\":true,"
			"\"DecipherOnly\":true}}}";
		c = issue_dump(&s, "p9.pem");
		/* the BIT STRING: bits 0 4 7 8, so 7 unused bits in 2 octets */
		assert_string_equal(jstr(xget(c, O_KU), "value"), "0303078980");
		expect_dec(c, O_KU,
		    "[\"digital_signature\",\"key_agreement\","
		    "\"encipher_only\",\"decipher_only\"]");
		expect_crit(c, O_KU, 1);
		expect_dec(c, O_EKU, "[\"1.3.6.1.5.5.7.3.8\"]");
		json_decref(c);
		s.tmpl = "BlankEndEntityCertificate_CSRPassthrough/V1";
		c = issue_dump(&s, "p10.pem");
		expect_dec(c, O_KU, "[\"key_agreement\"]");
		json_decref(c);
		csr_del(k);
	}

	/* every ExtendedKeyUsageType, one custom OID, a duplicate dropped */
	s.tmpl = "BlankEndEntityCertificate_APIPassthrough/V1";
	s.csr = plain;
	s.api =
	    "{\"Extensions\":{\"ExtendedKeyUsage\":["
	    "{\"ExtendedKeyUsageType\":\"SERVER_AUTH\"},"
	    "{\"ExtendedKeyUsageType\":\"CLIENT_AUTH\"},"
	    "{\"ExtendedKeyUsageType\":\"CODE_SIGNING\"},"
	    "{\"ExtendedKeyUsageType\":\"EMAIL_PROTECTION\"},"
	    "{\"ExtendedKeyUsageType\":\"TIME_STAMPING\"},"
	    "{\"ExtendedKeyUsageType\":\"OCSP_SIGNING\"},"
	    "{\"ExtendedKeyUsageType\":\"SMART_CARD_LOGIN\"},"
	    "{\"ExtendedKeyUsageType\":\"DOCUMENT_SIGNING\"},"
	    "{\"ExtendedKeyUsageType\":\"CERTIFICATE_TRANSPARENCY\"},"
	    "{\"ExtendedKeyUsageObjectIdentifier\":\"1.3.6.1.5.5.7.3.1\"},"
	    "{\"ExtendedKeyUsageObjectIdentifier\":\"1.2.3.4.5\"}],"
	    "\"KeyUsage\":{\"DigitalSignature\":true,\"NonRepudiation\":true,"
	    "\"KeyEncipherment\":true,\"DataEncipherment\":true,"
	    "\"KeyAgreement\":true,\"KeyCertSign\":false,\"CRLSign\":true}}}";
	c = issue_dump(&s, "p11.pem");
	expect_dec(c, O_EKU,
	    "[\"1.3.6.1.5.5.7.3.1\",\"1.3.6.1.5.5.7.3.2\","
	    "\"1.3.6.1.5.5.7.3.3\",\"1.3.6.1.5.5.7.3.4\",\"1.3.6.1.5.5.7.3.8\","
	    "\"1.3.6.1.5.5.7.3.9\",\"1.3.6.1.4.1.311.20.2.2\","
	    "\"1.3.6.1.5.5.7.3.36\",\"1.3.6.1.4.1.11129.2.4.4\",\"1.2.3.4."
	    "5\"]");
	expect_crit(c, O_EKU, 0);
	expect_dec(c, O_KU,
	    "[\"digital_signature\",\"content_commitment\","
	    "\"key_encipherment\",\"data_encipherment\",\"key_agreement\","
	    "\"crl_sign\"]");
	json_decref(c);
	/* ApiPassthrough is ignored, not refused, for other varieties */
	s.tmpl = "BlankEndEntityCertificate_CSRPassthrough/V1";
	s.api = "{\"Subject\":{\"Country\":\"bad\"},\"Extensions\":5}";
	c = issue_dump(&s, "p12.pem");
	assert_string_equal(
	    json_string_value(json_array_get(
		json_array_get(json_array_get(json_object_get(c, "subject"), 0),
		    0),
		2)),
	    "leaf.example");
	json_decref(c);
	s.api = "[1,2]";
	s.tmpl = "EndEntityCertificate/V1";
	c = issue_dump(&s, "p13.pem");
	json_decref(c);
	csr_del(plain);
	csr_del(withcdp);
}

/* ---- empty subjects, API SAN over the CSR's ---- */

static void
test_empty_subject(void **state)
{
	X509_EXTENSION *x[1];
	struct prof_csr *c, *bare;
	struct spec s;
	json_t *d;
	char *p;

	(void)state;
	x[0] = xconf("subjectAltName", "DNS:nosubject.example");
	c = csr_new(F.leaf_key, NULL, x, 1);
	memset(&s, 0, sizeof(s));
	s.tmpl = "EndEntityCertificate/V1";
	s.csr = c;
	p = issue(&s, "e1.pem");
	verify_ok(F.root_pem, F.sub_pem, p);
	d = dump1(p);
	assert_int_equal(json_array_size(json_object_get(d, "subject")), 0);
	assert_string_equal(jstr(d, "subject_der"), "3000");
	expect_crit(d, O_SAN, 1); /* RFC 5280 4.2.1.6 */
	json_decref(d);
	free(p);
	/* API SAN replaces the CSR's, and is critical too */
	s.tmpl = "EndEntityCertificate_APICSRPassthrough/V1";
	s.api =
	    "{\"Extensions\":{\"SubjectAlternativeNames\":["
	    "{\"IpAddress\":\"2001:db8::42\"},{\"Rfc822Name\":\"a@b.example\"},"
	    "{\"UniformResourceIdentifier\":\"spiffe://td/x\"},"
	    "{\"DirectoryName\":{\"CommonName\":\"dn\"}},"
	    "{\"RegisteredId\":\"1.2.3.4\"},"
	    "{\"OtherName\":{\"TypeId\":\"1.3.6.1.4.1.311.20.2.3\","
	    "\"Value\":\"upn@x\"}}]}}";
	d = issue_dump(&s, "e2.pem");
	expect_crit(d, O_SAN, 1);
	expect_dec(d, O_SAN,
	    "[[\"ip\",\"2001:db8::42\"],[\"email\","
	    "\"a@b.example\"],[\"uri\",\"spiffe://td/x\"],[\"dir\",\"CN=dn\"],"
	    "[\"rid\",\"1.2.3.4\"],[\"other\",\"1.3.6.1.4.1.311.20.2.3\","
	    "\"0c0575706e4078\"]]");
	json_decref(d);
	/* EdiPartyName: python cannot read it; check the raw value */
	s.api = "{\"Extensions\":{\"SubjectAlternativeNames\":["
		"{\"EdiPartyName\":{\"PartyName\":\"p\",\"NameAssigner\":\"n\"}"
		"}]}}";
	d = issue_dump(&s, "e3.pem");
	assert_string_equal(jstr(xget(d, O_SAN), "value"),
	    "300ca50aa0030c016ea1030c0170");
	json_decref(d);
	/* neither subject nor SAN */
	bare = csr_new(F.leaf_key, NULL, NULL, 0);
	s.csr = bare;
	s.api = NULL;
	expect_fail(&s, PCA_EINVAL, "neither a subject nor a subjectAltName");
	/* ... unless the API gives a subject */
	s.tmpl = "EndEntityCertificate_APIPassthrough/V1";
	s.api = "{\"Subject\":{\"CommonName\":\"from api\"}}";
	d = issue_dump(&s, "e4.pem");
	assert_string_equal(
	    json_string_value(json_array_get(
		json_array_get(json_array_get(json_object_get(d, "subject"), 0),
		    0),
		2)),
	    "from api");
	assert_int_equal(
	    json_integer_value(json_array_get(
		json_array_get(json_array_get(json_object_get(d, "subject"), 0),
		    0),
		1)),
	    0x0c);
	json_decref(d);
	csr_del(bare);
	csr_del(c);
}

/* ---- times and serials ---- */

#define T testlib_utc

static void
test_times_and_serials(void **state)
{
	static const struct {
		int64_t nb, na;
		int nb_tag, na_tag;
	} tc[] = {
	    {0, 0, 0x17, 0x17}, /* filled in below */
	    {0, 0, 0x17, 0x18},
	    {0, 0, 0x18, 0x17},
	    {0, 0, 0x18, 0x18},
	};
	int64_t nb[4], na[4];
	static const uint8_t hi[16] = {0xe8, 0xcb, 0xd2, 0xbe, 1, 2, 3, 4, 5, 6,
	    7, 8, 9, 10, 11, 12};
	static const uint8_t lead0[4] = {0, 0, 0x01, 0x80};
	static const uint8_t zero[3] = {0, 0, 0};
	static const uint8_t big21[21] = {0, 0x80};
	static const uint8_t big20[20] = {0x80};
	struct prof_csr *c;
	struct spec s;
	json_t *d;
	char file[32];
	size_t i;

	(void)state;
	nb[0] = T(2049, 12, 31, 23, 59, 58);
	na[0] = T(2049, 12, 31, 23, 59, 59);
	nb[1] = T(2049, 12, 31, 23, 59, 59);
	na[1] = T(2050, 1, 1, 0, 0, 0);
	nb[2] = T(1949, 12, 31, 23, 59, 59);
	na[2] = T(1950, 1, 1, 0, 0, 0);
	nb[3] = T(2050, 6, 1, 0, 0, 0);
	na[3] = T(9999, 12, 31, 23, 59, 59);
	c = csr_new(F.leaf_key, leaf_subj, NULL, 0);
	memset(&s, 0, sizeof(s));
	s.tmpl = "EndEntityCertificate/V1";
	s.csr = c;
	for (i = 0; i < 4; i++) {
		s.nb = nb[i];
		s.na = na[i];
		(void)snprintf(file, sizeof(file), "time%zu.pem", i);
		d = issue_dump(&s, file);
		assert_int_equal(
		    json_integer_value(json_object_get(d, "nb_tag")),
		    tc[i].nb_tag);
		assert_int_equal(
		    json_integer_value(json_object_get(d, "na_tag")),
		    tc[i].na_tag);
		assert_int_equal(json_integer_value(json_object_get(d, "nb")),
		    nb[i]);
		assert_int_equal(json_integer_value(json_object_get(d, "na")),
		    na[i]);
		json_decref(d);
	}
	s.nb = s.na = 0;
	/* a top-bit-set serial gets a leading 00 (17 octets), like AWS's */
	s.serial = hi;
	s.serial_len = sizeof(hi);
	d = issue_dump(&s, "ser1.pem");
	assert_string_equal(jstr(d, "serial_raw"),
	    "00e8cbd2be0102030405060708090a0b0c");
	assert_string_equal(jstr(d, "serial"),
	    "e8cbd2be0102030405060708090a0b0c");
	json_decref(d);
	/* leading zero octets are dropped (minimal INTEGER) */
	s.serial = lead0;
	s.serial_len = sizeof(lead0);
	d = issue_dump(&s, "ser2.pem");
	assert_string_equal(jstr(d, "serial_raw"), "0180");
	json_decref(d);
	s.serial = zero;
	s.serial_len = sizeof(zero);
	expect_fail(&s, PCA_EINVAL, "positive");
	s.serial = big21; /* 20 octets + sign octet: too long */
	s.serial_len = sizeof(big21);
	expect_fail(&s, PCA_EINVAL, "longer than 20");
	s.serial = big20;
	s.serial_len = sizeof(big20);
	expect_fail(&s, PCA_EINVAL, "longer than 20");
	s.serial_len = 19;
	d = issue_dump(&s, "ser3.pem");
	assert_int_equal(strlen(jstr(d, "serial_raw")), 40);
	json_decref(d);
	csr_del(c);
}

/* ---- refusals ---- */

static void
test_refusals(void **state)
{
	struct prof_csr *c;
	struct spec s;
	struct prof_issuer bad = {(const uint8_t *)"\x31\x00", 2, NULL, 0};
	struct prof_issuer longski = {F.sub_name, 0, F.sub_ski, 65};
	uint8_t *tbs = NULL;
	size_t n;

	(void)state;
	longski.name_len = F.sub_name_len;
	c = csr_new(F.leaf_key, leaf_subj, NULL, 0);
	memset(&s, 0, sizeof(s));
	s.csr = c;
	s.tmpl = "BlankEndEntityCertificate_APIPassthrough/V1";
#define REFUSE(j, msg)                                                         \
	do {                                                                   \
		s.api = j;                                                     \
		expect_fail(&s, PCA_EINVAL, msg);                              \
	} while (0)
	REFUSE("5", "ApiPassthrough must be an object");
	REFUSE("{\"Extensions\":[]}", "ApiPassthrough.Extensions must be an "
				      "object");
	REFUSE("{\"Subject\":{\"Country\":\"USA\"}}",
	    "ApiPassthrough.Subject.Country must be 2 letters");
	REFUSE("{\"Extensions\":{\"SubjectAlternativeNames\":[{\"IpAddress\":"
	       "\"1.2.3.4.5\"}]}}",
	    "ApiPassthrough.Extensions."
	    "SubjectAlternativeNames[0].IpAddress is not an IPv4 or IPv6");
	REFUSE("{\"Extensions\":{\"SubjectAlternativeNames\":[]}}",
	    "SubjectAlternativeNames must be a list of 1 to 150");
	REFUSE("{\"Extensions\":{\"KeyUsage\":{\"DigitalSignature\":false}}}",
	    "ApiPassthrough.Extensions.KeyUsage must set at least one usage");
	REFUSE("{\"Extensions\":{\"KeyUsage\":{\"DigitalSignature\":1}}}",
	    "KeyUsage.DigitalSignature must be true or false");
	REFUSE("{\"Extensions\":{\"ExtendedKeyUsage\":[{"
	       "\"ExtendedKeyUsageType\":\"SERVER_AUTH\","
	       "\"ExtendedKeyUsageObjectIdentifier\":\"1.2.3\"}]}}",
	    "ExtendedKeyUsage[0] must have exactly one of");
	REFUSE("{\"Extensions\":{\"ExtendedKeyUsage\":[{"
	       "\"ExtendedKeyUsageType\":\"ANY\"}]}}",
	    "not a known type");
	REFUSE("{\"Extensions\":{\"CertificatePolicies\":[{\"CertPolicyId\":"
	       "\"1.2.3\"},{\"CertPolicyId\":\"1.2.3\"}]}}",
	    "CertificatePolicies[1].CertPolicyId repeats a policy");
	REFUSE("{\"Extensions\":{\"CertificatePolicies\":[{\"CertPolicyId\":"
	       "\"1.2.3\",\"PolicyQualifiers\":[{\"PolicyQualifierId\":"
	       "\"UNOTICE\","
	       "\"Qualifier\":{\"CpsUri\":\"http://x\"}}]}]}}",
	    "PolicyQualifiers[0].PolicyQualifierId must be CPS");
	/* custom extensions: duplicates within the request, bad values */
	REFUSE("{\"Extensions\":{\"CustomExtensions\":["
	       "{\"ObjectIdentifier\":\"1.2.3.4\",\"Value\":\"BQA=\"},"
	       "{\"ObjectIdentifier\":\"1.2.3.4\",\"Value\":\"BQA=\"}]}}",
	    "CustomExtensions[1] repeats the extension of CustomExtensions[0]");
	REFUSE(
	    "{\"Extensions\":{\"SubjectAlternativeNames\":[{\"DnsName\":"
	    "\"a\"}],\"CustomExtensions\":[{\"ObjectIdentifier\":\"2.5.29.17\","
	    "\"Value\":\"MAOCAWE=\"}]}}",
	    "CustomExtensions[0] repeats "
	    "ApiPassthrough.Extensions.SubjectAlternativeNames");
	REFUSE("{\"Extensions\":{\"CustomExtensions\":[{\"ObjectIdentifier\":"
	       "\"1.2.3.4\",\"Value\":\"BQA\"}]}}",
	    "CustomExtensions[0].Value "
	    "must be base64");
	REFUSE("{\"Extensions\":{\"CustomExtensions\":[{\"ObjectIdentifier\":"
	       "\"1.2.3.4\",\"Value\":\"MIAFAAAA\"}]}}",
	    "CustomExtensions[0]."
	    "Value is not the DER");
	REFUSE("{\"Extensions\":{\"CustomExtensions\":[{\"ObjectIdentifier\":"
	       "\"2.5.29.15\",\"Value\":\"AgEB\"}]}}",
	    "is not the DER of a valid");
	REFUSE("{\"Extensions\":{\"CustomExtensions\":[{\"ObjectIdentifier\":"
	       "\"1.2.3.4\",\"Value\":\"BQA=\",\"Critical\":\"yes\"}]}}",
	    "CustomExtensions[0].Critical must be true or false");
	REFUSE("{\"Extensions\":{\"CustomExtensions\":[{\"ObjectIdentifier\":"
	       "\"1.2.3.4.\",\"Value\":\"BQA=\"}]}}",
	    "CustomExtensions[0].ObjectIdentifier is not an object identifier");
	REFUSE("{\"Extensions\":{\"CustomExtensions\":[]}}",
	    "list of 1 to 150");
	/* the duplicate is refused even where the template drops both */
	s.tmpl = "EndEntityCertificate_APIPassthrough/V1";
	REFUSE("{\"Extensions\":{\"KeyUsage\":{\"DigitalSignature\":true},"
	       "\"CustomExtensions\":[{\"ObjectIdentifier\":\"2.5.29.15\","
	       "\"Value\":\"AwIHgA==\"}]}}",
	    "repeats ApiPassthrough.Extensions."
	    "KeyUsage");
	/* but a bad KeyUsage the template overrides is simply dropped */
	s.api = "{\"Extensions\":{\"KeyUsage\":{\"DigitalSignature\":false}}}";
	assert_int_equal(tbs_of(&s, &tbs, &n), PCA_OK);
	free(tbs);
	tbs = NULL;
#undef REFUSE
	/* request shape */
	s.api = NULL;
	s.issuer = &bad;
	expect_fail(&s, PCA_EINVAL, "issuer name");
	s.issuer = &longski;
	expect_fail(&s, PCA_EINVAL, "key identifier");
	s.issuer = NULL;
	s.nb = F.now;
	s.na = F.now;
	expect_fail(&s, PCA_EINVAL, "notBefore must be before notAfter");
	s.nb = s.na = 0;
	s.alg = PCA_SIG_NONE;
	s.key = NULL;
	{
		struct prof_tbs_req r;

		memset(&r, 0, sizeof(r));
		assert_int_equal(prof_tbs_build(&r, &tbs, &n), PCA_EINVAL);
		assert_int_equal(prof_tbs_build(NULL, &tbs, &n), PCA_EINVAL);
		r.issuer = &F.sub;
		r.csr = c;
		r.tmpl =
		    prof_template_find(ARN_PREFIX "EndEntityCertificate/V1");
		r.serial = serial16;
		r.serial_len = 16;
		r.not_before = 1;
		r.not_after = 2;
		r.sigalg = PCA_SIG_NONE;
		assert_int_equal(prof_tbs_build(&r, &tbs, &n),
		    PCA_EUNSUPPORTED);
		r.sigalg = PCA_SIG_SHA256_ECDSA;
		r.cdp_uri = "http://has space/crl";
		assert_int_equal(prof_tbs_build(&r, &tbs, &n), PCA_EINVAL);
		r.cdp_uri = "";
		assert_int_equal(prof_tbs_build(&r, &tbs, &n), PCA_EINVAL);
		r.cdp_uri = NULL;
		r.ocsp_uri = "http://\xc3\xa9";
		assert_int_equal(prof_tbs_build(&r, &tbs, &n), PCA_EINVAL);
		r.ocsp_uri = "http://ocsp.example";
		r.issuers_uri = "http://has space/ca/x.crt";
		assert_int_equal(prof_tbs_build(&r, &tbs, &n), PCA_EINVAL);
		r.ocsp_uri = NULL;
		r.issuers_uri = NULL;
		assert_null(tbs);
	}
	csr_del(c);
}

/* A CSR extension whose value is not DER for its type is refused. */
static void
test_bad_csr_extension(void **state)
{
	static const uint8_t notsan[] = {0x02, 0x01, 0x01}; /* INTEGER */
	X509_EXTENSION *x[1];
	struct prof_csr *c;
	struct spec s;

	(void)state;
	x[0] = xraw("2.5.29.17", 0, notsan, sizeof(notsan));
	c = csr_new(F.leaf_key, leaf_subj, x, 1);
	memset(&s, 0, sizeof(s));
	s.csr = c;
	s.tmpl = "EndEntityCertificate/V1";
	expect_fail(&s, PCA_EBADCSR, "not valid DER for its type");
	csr_del(c);
}

/* An unknown critical CSR extension is never copied (issue 15). */
static void
test_unknown_critical_csr_extension(void **state)
{
	X509_EXTENSION *x[1];
	struct prof_csr *c;
	struct spec s;
	char *path;

	(void)state;
	x[0] = xraw(O_CSR_CUSTOM, 1, csr_custom, sizeof(csr_custom));
	c = csr_new(F.leaf_key, leaf_subj, x, 1);
	memset(&s, 0, sizeof(s));
	s.csr = c;
	s.tmpl = "EndEntityCertificate_CSRPassthrough/V1";
	expect_fail(&s, PCA_EBADCSR, "critical and not one the CA");
	s.tmpl = "BlankEndEntityCertificate_APICSRPassthrough/V1";
	expect_fail(&s, PCA_EBADCSR, "critical and not one the CA");
	/* a base template drops CSR extensions anyway */
	s.tmpl = "EndEntityCertificate/V1";
	path = issue(&s, "uc.pem");
	free(path);
	csr_del(c);
	/* the same extension non-critical is still copied */
	x[0] = xraw(O_CSR_CUSTOM, 0, csr_custom, sizeof(csr_custom));
	c = csr_new(F.leaf_key, leaf_subj, x, 1);
	s.csr = c;
	s.tmpl = "EndEntityCertificate_CSRPassthrough/V1";
	path = issue(&s, "uc2.pem");
	free(path);
	csr_del(c);
}

/* ---- the CA's own CSR ---- */

static char *
cri_csr(const char *subject, const char *exts, EVP_PKEY *key, const char *file,
    pca_err *err)
{
	json_t *sj = json_loads(subject, 0, NULL);
	json_t *ej = exts ? json_loads(exts, JSON_DECODE_ANY, NULL) : NULL;
	uint8_t *spki = NULL, *cri = NULL, *der;
	size_t spki_len, cri_len, der_len;
	char *path = NULL;

	spki_len = (size_t)i2d_PUBKEY(key, &spki);
	*err = prof_csr_info_build(sj, ej, spki, spki_len, &cri, &cri_len);
	if (*err == PCA_OK) {
		der = sign(cri, cri_len, key, alg_for(key), &der_len);
		path = write_pem(file, "CERTIFICATE REQUEST", der, der_len);
		free(der);
		free(cri);
	} else
		assert_null(cri);
	OPENSSL_free(spki);
	json_decref(sj);
	json_decref(ej);
	return path;
}

static void
req_verify_ok(const char *path)
{
	char *argv[] = {"openssl", "req", "-verify", "-noout", "-in",
	    (char *)path, NULL};
	char *out = NULL;

	if (testlib_run_capture(argv, 1, &out) != 0 ||
	    strstr(out, "verify OK") == NULL)
		fail_msg("openssl req -verify %s: %s", path, out);
	free(out);
}

static void
test_csr_info(void **state)
{
	const char *subject = "{\"Country\":\"US\",\"Organization\":\"Ex\","
			      "\"CommonName\":\"Example Root\"}";
	const char *exts =
	    "{\"KeyUsage\":{\"KeyCertSign\":true,\"CRLSign\":"
	    "true,\"DigitalSignature\":true},\"SubjectInformationAccess\":["
	    "{\"AccessMethod\":{\"AccessMethodType\":\"CA_REPOSITORY\"},"
	    "\"AccessLocation\":{\"UniformResourceIdentifier\":"
	    "\"http://repo.example/ca\"}},"
	    "{\"AccessMethod\":{\"CustomObjectIdentifier\":\"1.3.6.1.5.5.7.48."
	    "13\""
	    "},\"AccessLocation\":{\"UniformResourceIdentifier\":"
	    "\"https://rrdp.example/notify.xml\"}},"
	    "{\"AccessMethod\":{\"AccessMethodType\":\"RESOURCE_PKI_MANIFEST\"}"
	    ","
	    "\"AccessLocation\":{\"DnsName\":\"m.example\"}}]}";
	char *p, *raw;
	json_t *d;
	pca_err e;

	(void)state;
	/* with CsrExtensions: extensionRequest with KU and SIA */
	p = cri_csr(subject, exts, F.leaf_key, "ca1.csr", &e);
	assert_int_equal(e, PCA_OK);
	req_verify_ok(p);
	d = dump1(p);
	assert_true(json_is_true(json_object_get(d, "signature_valid")));
	assert_string_equal(jstr(d, "version_field"), "020100");
	assert_string_equal(
	    json_string_value(json_array_get(
		json_array_get(json_array_get(json_object_get(d, "subject"), 2),
		    0),
		2)),
	    "Example Root");
	expect_dec(d, O_KU,
	    "[\"digital_signature\",\"key_cert_sign\","
	    "\"crl_sign\"]");
	expect_dec(d, O_SIA,
	    "[[\"1.3.6.1.5.5.7.48.5\",[\"uri\","
	    "\"http://repo.example/ca\"]],[\"1.3.6.1.5.5.7.48.13\",[\"uri\","
	    "\"https://rrdp.example/notify.xml\"]],[\"1.3.6.1.5.5.7.48.10\","
	    "[\"dns\",\"m.example\"]]]");
	raw = json_dumps(json_object_get(d, "exts_raw"), JSON_COMPACT);
	assert_string_equal(raw,
	    "[{\"oid\":\"2.5.29.15\",\"critical\":true},"
	    "{\"oid\":\"1.3.6.1.5.5.7.1.11\",\"critical\":false}]");
	free(raw);
	json_decref(d);
	free(p);
	/* without: an empty attributes [0] */
	p = cri_csr(subject, NULL, F.sub_key, "ca2.csr", &e);
	assert_int_equal(e, PCA_OK);
	req_verify_ok(p);
	d = dump1(p);
	assert_string_equal(jstr(d, "attributes_der"), "a000");
	assert_string_equal(jstr(d, "sigalg"), "1.2.840.113549.1.1.11");
	json_decref(d);
	free(p);
	/* CsrExtensions that yield nothing: no attribute either */
	p = cri_csr(subject, "{\"SubjectInformationAccess\":[]}", F.leaf_key,
	    "ca3.csr", &e);
	assert_int_equal(e, PCA_OK);
	d = dump1(p);
	assert_string_equal(jstr(d, "attributes_der"), "a000");
	json_decref(d);
	free(p);
	/* refusals */
	assert_null(cri_csr("{}", NULL, F.leaf_key, "x", &e));
	assert_int_equal(e, PCA_EINVAL);
	assert_null(cri_csr(subject, "{\"KeyUsage\":{}}", F.leaf_key, "x", &e));
	assert_string_equal(pca_err_msg(),
	    "CsrExtensions.KeyUsage must set at least one usage");
	assert_null(cri_csr(subject,
	    "{\"SubjectInformationAccess\":[{"
	    "\"AccessMethod\":{\"AccessMethodType\":\"CA_REPOSITORY\","
	    "\"CustomObjectIdentifier\":\"1.2.3\"},\"AccessLocation\":{"
	    "\"DnsName\":\"x\"}}]}",
	    F.leaf_key, "x", &e));
	assert_string_equal(pca_err_msg(),
	    "CsrExtensions."
	    "SubjectInformationAccess[0].AccessMethod must have exactly one of "
	    "CustomObjectIdentifier, AccessMethodType");
	assert_null(cri_csr(subject,
	    "{\"SubjectInformationAccess\":[{"
	    "\"AccessMethod\":{\"AccessMethodType\":\"OCSP\"},"
	    "\"AccessLocation\":{\"DnsName\":\"x\"}}]}",
	    F.leaf_key, "x", &e));
	assert_int_equal(e, PCA_EINVAL);
	assert_null(cri_csr(subject,
	    "{\"SubjectInformationAccess\":[{"
	    "\"AccessMethod\":{\"AccessMethodType\":\"CA_REPOSITORY\"},"
	    "\"AccessLocation\":{}}]}",
	    F.leaf_key, "x", &e));
	assert_true(strstr(pca_err_msg(),
			"SubjectInformationAccess[0]."
			"AccessLocation must have exactly one of") != NULL);
	assert_null(cri_csr(subject, "[]", F.leaf_key, "x", &e));
	assert_int_equal(e, PCA_EINVAL);
	{
		uint8_t *cri = NULL;
		size_t n;
		json_t *sj = json_loads(subject, 0, NULL);

		assert_int_equal(prof_csr_info_build(sj, NULL,
				     (const uint8_t *)"\x30\x00", 2, &cri, &n),
		    PCA_EINVAL);
		assert_int_equal(
		    prof_csr_info_build(sj, NULL, NULL, 0, &cri, &n),
		    PCA_EINVAL);
		json_decref(sj);
	}
}

/* ---- with the real CSR intake (csr.c) in front ---- */

static void
test_with_csr_parse(void **state)
{
	struct prof_csr *mine, *parsed = NULL;
	struct spec s;
	json_t *c;
	char *path;

	(void)state;
	mine = greedy_csr(F.leaf_key, 0);
	if (prof_csr_parse(mine->der, mine->der_len, &parsed) != PCA_OK)
		fail_msg("prof_csr_parse: %s", pca_err_msg());
	assert_int_equal(parsed->spki_len, mine->spki_len);
	assert_memory_equal(parsed->spki, mine->spki, mine->spki_len);
	assert_int_equal(parsed->keyalg, PCA_KEY_EC_P256);
	memset(&s, 0, sizeof(s));
	s.tmpl = "EndEntityCertificate_APICSRPassthrough/V1";
	s.csr = parsed;
	s.api = api_ee;
	s.cdp = CDP;
	s.ocsp = OCSP;
	path = issue(&s, "parsed.pem");
	verify_ok(F.root_pem, F.sub_pem, path);
	c = dump1(path);
	expect_dec(c, O_SAN, "[[\"dns\",\"api.example.com\"]]");
	expect_dec(c, O_CDP, "[[[\"uri\",\"" CDP "\"]]]");
	expect_dec(c, O_BC, "{\"ca\":false,\"pathlen\":null}");
	expect_crit(c, O_CSR_CUSTOM, 0);
	json_decref(c);
	free(path);
	prof_csr_free(parsed);
	csr_del(mine);
}

/* ---- the hot path: printed, not asserted ---- */

static void
test_rate(void **state)
{
	X509_EXTENSION *x[1];
	struct prof_csr *c;
	struct prof_tbs_req r;
	struct timespec a, b;
	uint8_t *tbs;
	size_t n;
	long i, count = 0;
	double secs;

	(void)state;
	x[0] = xconf("subjectAltName", "DNS:bench.example");
	c = csr_new(F.leaf_key, leaf_subj, x, 1);
	memset(&r, 0, sizeof(r));
	r.issuer = &F.sub;
	r.csr = c;
	r.tmpl = prof_template_find(ARN_PREFIX "EndEntityCertificate/V1");
	r.sigalg = PCA_SIG_SHA256_RSA;
	r.serial = serial16;
	r.serial_len = 16;
	r.not_before = F.now - 3600;
	r.not_after = F.now + 86400;
	r.cdp_uri = CDP;
	r.ocsp_uri = OCSP;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		for (i = 0; i < 1000; i++) {
			assert_int_equal(prof_tbs_build(&r, &tbs, &n), PCA_OK);
			free(tbs);
		}
		count += 1000;
		clock_gettime(CLOCK_MONOTONIC, &b);
		secs = (double)(b.tv_sec - a.tv_sec) +
		       (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	} while (secs < 1.0);
	print_message(
	    "prof_tbs_build EndEntityCertificate/V1, EC P-256 CSR with "
	    "SAN, CDP+AIA: %.0f calls/s (%zu-byte TBS)\n",
	    (double)count / secs, n);
	csr_del(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sigalg_and_spki),
	    cmocka_unit_test(test_serial_assemble_dercheck),
	    cmocka_unit_test(test_template_table),
	    cmocka_unit_test(test_chain),
	    cmocka_unit_test(test_ca_issuers),
	    cmocka_unit_test(test_every_template),
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_empty_subject),
	    cmocka_unit_test(test_times_and_serials),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_bad_csr_extension),
	    cmocka_unit_test(test_unknown_critical_csr_extension),
	    cmocka_unit_test(test_csr_info),
	    cmocka_unit_test(test_with_csr_parse),
	    cmocka_unit_test(test_rate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
