/*
 * test_import.c - prof_import_check (spec 2.4.4) on hierarchies built with the
 * OpenSSL API, one made by the openssl CLI, and broken variants of them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../../profile/profile_int.h"
#include "../../../common/buf.h"
#include "../../../common/util.h"
#include "../testlib.h"

#define DAY 86400
#define CA_EXTS                                                                \
	"basicConstraints=critical,CA:TRUE",                                   \
	    "keyUsage=critical,keyCertSign,cRLSign",                           \
	    "subjectKeyIdentifier=hash"

/* ---- building certificates ---- */

struct cs {
	const char *cn;
	EVP_PKEY *key;
	X509 *issuer;   /* NULL: self-issued */
	EVP_PKEY *ikey; /* NULL: key */
	int64_t nb, na; /* offsets from now */
	long serial;
	const char *ext[8]; /* "name=value"; "1.x.y=..." raw, critical */
};

static void
add_ext(X509 *x, X509V3_CTX *ctx, const char *spec)
{
	char name[64];
	const char *eq = strchr(spec, '=');
	X509_EXTENSION *e;
	ASN1_OBJECT *o;
	ASN1_OCTET_STRING *os;

	assert_non_null(eq);
	(void)snprintf(name, sizeof(name), "%.*s", (int)(eq - spec), spec);
	if (name[0] >= '0' && name[0] <= '9') {
		o = OBJ_txt2obj(name, 1);
		os = ASN1_OCTET_STRING_new();
		assert_true(ASN1_OCTET_STRING_set(os,
		    (const unsigned char *)"\x05\x00", 2));
		e = X509_EXTENSION_create_by_OBJ(NULL, o, 1, os);
		ASN1_OBJECT_free(o);
		ASN1_OCTET_STRING_free(os);
	} else {
		e = X509V3_EXT_nconf(NULL, ctx, name, eq + 1);
	}
	assert_non_null(e);
	assert_true(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
}

static X509 *
mkcert(const struct cs *s)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	X509V3_CTX ctx;
	int64_t now = util_now();
	size_t i;

	assert_non_null(x);
	assert_true(X509_set_version(x, 2));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x),
	    s->serial ? s->serial : 1));
	assert_true(X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)s->cn, -1, -1, 0));
	assert_true(X509_set_subject_name(x, nm));
	assert_true(X509_set_issuer_name(x,
	    s->issuer != NULL ? X509_get_subject_name(s->issuer) : nm));
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x),
	    (time_t)(now + (s->nb ? s->nb : -3600))));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x),
	    (time_t)(now + (s->na ? s->na : 365 * DAY))));
	assert_true(X509_set_pubkey(x, s->key));
	X509V3_set_ctx(&ctx, s->issuer != NULL ? s->issuer : x, x, NULL, NULL,
	    0);
	for (i = 0; i < 8 && s->ext[i] != NULL; i++)
		add_ext(x, &ctx, s->ext[i]);
	assert_true(
	    X509_sign(x, s->ikey != NULL ? s->ikey : s->key, EVP_sha256()) > 0);
	X509_NAME_free(nm);
	return x;
}

struct blob {
	uint8_t *der;
	size_t der_len;
	char *pem;
};

static void
blob_of(X509 *x, struct blob *b)
{
	unsigned char *d = NULL;
	int n = i2d_X509(x, &d);

	assert_true(n > 0);
	assert_non_null(b->der = malloc((size_t)n));
	memcpy(b->der, d, (size_t)n);
	b->der_len = (size_t)n;
	OPENSSL_free(d);
	assert_int_equal(
	    util_pem_encode("CERTIFICATE", b->der, b->der_len, &b->pem),
	    PCA_OK);
}

static void
blob_free(struct blob *b)
{
	free(b->der);
	free(b->pem);
	memset(b, 0, sizeof(*b));
}

static void
spki_of(EVP_PKEY *k, struct blob *b)
{
	unsigned char *d = NULL;
	int n = i2d_PUBKEY(k, &d);

	assert_true(n > 0);
	assert_non_null(b->der = malloc((size_t)n));
	memcpy(b->der, d, (size_t)n);
	b->der_len = (size_t)n;
	b->pem = NULL;
	OPENSSL_free(d);
}

/* The strings joined (PEM chains). */
static char *
cat(const char *a, const char *b, const char *c)
{
	char *s;

	assert_true(asprintf(&s, "%s%s%s", a, b != NULL ? b : "",
			c != NULL ? c : "") > 0);
	return s;
}

/* ---- fixture: root <- int1 <- int2 ---- */

struct fx {
	EVP_PKEY *kroot, *kint1, *kint2, *kother;
	X509 *root, *int1, *int2;
	struct blob root_b, int1_b, int2_b;
	struct blob sroot, sint1, sint2, sother; /* SPKIs */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->kroot = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	f->kint1 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	f->kint2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->kother = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!f->kroot || !f->kint1 || !f->kint2 || !f->kother)
		return -1;
	f->root = mkcert(&(struct cs){.cn = "Root",
	    .key = f->kroot,
	    .na = 3650 * DAY,
	    .serial = 0x1234,
	    .ext = {CA_EXTS}});
	f->int1 = mkcert(&(struct cs){.cn = "Int1",
	    .key = f->kint1,
	    .issuer = f->root,
	    .ikey = f->kroot,
	    .na = 1825 * DAY,
	    .serial = 2,
	    .ext = {CA_EXTS, "authorityKeyIdentifier=keyid"}});
	f->int2 = mkcert(&(struct cs){.cn = "Int2",
	    .key = f->kint2,
	    .issuer = f->int1,
	    .ikey = f->kint1,
	    .na = 730 * DAY,
	    .serial = 3,
	    .ext = {"basicConstraints=critical,CA:TRUE,pathlen:0",
		"keyUsage=critical,keyCertSign,cRLSign",
		"subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"}});
	blob_of(f->root, &f->root_b);
	blob_of(f->int1, &f->int1_b);
	blob_of(f->int2, &f->int2_b);
	spki_of(f->kroot, &f->sroot);
	spki_of(f->kint1, &f->sint1);
	spki_of(f->kint2, &f->sint2);
	spki_of(f->kother, &f->sother);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	X509_free(f->root);
	X509_free(f->int1);
	X509_free(f->int2);
	EVP_PKEY_free(f->kroot);
	EVP_PKEY_free(f->kint1);
	EVP_PKEY_free(f->kint2);
	EVP_PKEY_free(f->kother);
	blob_free(&f->root_b);
	blob_free(&f->int1_b);
	blob_free(&f->int2_b);
	blob_free(&f->sroot);
	blob_free(&f->sint1);
	blob_free(&f->sint2);
	blob_free(&f->sother);
	free(f);
	return 0;
}

static pca_err
imp(enum prof_ca_type t, const struct blob *spki, const char *cert,
    const char *chain, struct prof_import **out)
{
	return prof_import_check(t, spki->der, spki->der_len,
	    (const uint8_t *)cert, strlen(cert), (const uint8_t *)chain,
	    chain != NULL ? strlen(chain) : 0, out);
}

/* A root or sub variant: the error expected with its own SPKI. */
static void
expect(enum prof_ca_type t, X509 *x, EVP_PKEY *k, const char *chain,
    pca_err code, const char *sub)
{
	struct prof_import *out = NULL;
	struct blob b, s;

	blob_of(x, &b);
	spki_of(k, &s);
	assert_err(imp(t, &s, b.pem, chain, &out), code, sub);
	assert_true(code == PCA_OK ? out != NULL : out == NULL);
	prof_import_free(out);
	blob_free(&b);
	blob_free(&s);
}

/* ---- ROOT ---- */

static void
test_root_good(void **state)
{
	struct fx *f = *state;
	struct prof_import *out = NULL;
	const ASN1_TIME *t;
	struct tm tm;

	assert_int_equal(
	    imp(PROF_CA_ROOT, &f->sroot, f->root_b.pem, NULL, &out), PCA_OK);
	assert_int_equal(out->cert_len, f->root_b.der_len);
	assert_memory_equal(out->cert_der, f->root_b.der, out->cert_len);
	assert_null(out->chain_der);
	assert_int_equal(out->chain_len, 0);
	assert_int_equal(out->chain_count, 0);
	assert_int_equal(out->serial_len, 2);
	assert_int_equal(out->serial[0], 0x12);
	assert_int_equal(out->serial[1], 0x34);
	assert_int_equal(out->pathlen, -1);
	t = X509_get0_notAfter(f->root);
	assert_true(ASN1_TIME_to_tm(t, &tm));
	assert_int_equal(out->not_after, util_timegm(&tm));
	assert_true(out->not_before < out->not_after);
	assert_true(out->not_after - out->not_before == 3650 * DAY + 3600);
	prof_import_free(out);
	out = NULL;
	/* DER, and an empty or blank chain */
	assert_int_equal(prof_import_check(PROF_CA_ROOT, f->sroot.der,
			     f->sroot.der_len, f->root_b.der, f->root_b.der_len,
			     (const uint8_t *)" \r\n", 3, &out),
	    PCA_OK);
	prof_import_free(out);
	out = NULL;
	assert_int_equal(imp(PROF_CA_ROOT, &f->sroot, f->root_b.pem, "", &out),
	    PCA_OK);
	prof_import_free(out);
	prof_import_free(NULL);
}

static void
test_root_bad(void **state)
{
	struct fx *f = *state;
	struct prof_import *out = NULL;
	X509 *x;

	/* a chain with a root */
	assert_err(
	    imp(PROF_CA_ROOT, &f->sroot, f->root_b.pem, f->root_b.pem, &out),
	    PCA_EBADREQ, "without a certificate chain");
	/* int1 is not self-signed */
	assert_err(imp(PROF_CA_ROOT, &f->sint1, f->int1_b.pem, NULL, &out),
	    PCA_EMISMATCH, "issuer differs from its subject");
	/* subject == issuer, but signed by another key */
	x = mkcert(&(struct cs){.cn = "Self",
	    .key = f->kint2,
	    .ikey = f->kother,
	    .ext = {CA_EXTS}});
	expect(PROF_CA_ROOT, x, f->kint2, NULL, PCA_EMISMATCH,
	    "does not verify with its own key");
	X509_free(x);
	/* the certificate's key is not the CA key */
	assert_err(imp(PROF_CA_ROOT, &f->sother, f->root_b.pem, NULL, &out),
	    PCA_EMISMATCH, "is not the key of this certificate authority");
	assert_null(out);
}

/* Steps 3 and 4 on a self-signed root. */
static void
test_extensions(void **state)
{
	struct fx *f = *state;
	X509 *x;
	struct {
		const char *ext[4];
		pca_err code;
		const char *sub;
	} v[] = {
	    {{"keyUsage=critical,keyCertSign"}, PCA_EBADCERT,
		"no basicConstraints"},
	    {{"basicConstraints=CA:TRUE"}, PCA_EBADCERT, "not critical"},
	    {{"basicConstraints=critical,CA:FALSE"}, PCA_EBADCERT, "CA:FALSE"},
	    {{"basicConstraints=critical,CA:TRUE",
		 "crlDistributionPoints=critical,URI:http://x.example/c.crl"},
		PCA_EBADCERT,
		"crlDistributionPoints extension (2.5.29.31) critical"},
	    {{"basicConstraints=critical,CA:TRUE",
		 "authorityInfoAccess=critical,OCSP;URI:http://x.example/"},
		PCA_EBADCERT,
		"authorityInfoAccess extension (1.3.6.1.5.5.7.1.1)"},
	    {{"basicConstraints=critical,CA:TRUE",
		 "policyConstraints=critical,requireExplicitPolicy:0"},
		PCA_EBADCERT, "policyConstraints"},
	    {{"basicConstraints=critical,CA:TRUE", "1.3.6.1.4.1.99999.7=x"},
		PCA_EBADCERT, "unknown extension (1.3.6.1.4.1.99999.7)"},
	    /* allowed critical: SKI, nameConstraints, EKU */
	    {{"basicConstraints=critical,CA:TRUE,pathlen:3",
		 "subjectKeyIdentifier=critical,hash",
		 "nameConstraints=critical,permitted;DNS:example.com",
		 "extendedKeyUsage=critical,serverAuth"},
		PCA_OK, ""},
	};
	struct prof_import *out = NULL;
	struct blob b;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		x = mkcert(&(struct cs){.cn = "Root",
		    .key = f->kroot,
		    .ext = {v[i].ext[0], v[i].ext[1], v[i].ext[2],
			v[i].ext[3]}});
		blob_of(x, &b);
		assert_err(imp(PROF_CA_ROOT, &f->sroot, b.pem, NULL, &out),
		    v[i].code, v[i].sub);
		if (v[i].code == PCA_OK)
			assert_int_equal(out->pathlen, 3);
		prof_import_free(out);
		out = NULL;
		blob_free(&b);
		X509_free(x);
	}
}

/* ---- SUBORDINATE ---- */

static void
test_sub_good(void **state)
{
	struct fx *f = *state;
	struct prof_import *out = NULL;
	char *chain, *crlf;
	size_t i, k;

	/* int1 <- root */
	assert_int_equal(imp(PROF_CA_SUBORDINATE, &f->sint1, f->int1_b.pem,
			     f->root_b.pem, &out),
	    PCA_OK);
	assert_int_equal(out->chain_count, 1);
	assert_int_equal(out->chain_len, f->root_b.der_len);
	assert_memory_equal(out->chain_der, f->root_b.der, out->chain_len);
	assert_int_equal(out->serial_len, 1);
	assert_int_equal(out->serial[0], 2);
	prof_import_free(out);
	out = NULL;
	/* a single DER certificate as the chain */
	assert_int_equal(prof_import_check(PROF_CA_SUBORDINATE, f->sint1.der,
			     f->sint1.der_len, f->int1_b.der, f->int1_b.der_len,
			     f->root_b.der, f->root_b.der_len, &out),
	    PCA_OK);
	prof_import_free(out);
	out = NULL;
	/* int2 <- int1 <- root, CRLF and blank lines between blocks */
	chain = cat(f->int1_b.pem, "\n\n", f->root_b.pem);
	assert_non_null(crlf = malloc(2 * strlen(chain) + 1));
	for (i = k = 0; chain[i] != '\0'; i++) {
		if (chain[i] == '\n')
			crlf[k++] = '\r';
		crlf[k++] = chain[i];
	}
	crlf[k] = '\0';
	assert_int_equal(
	    imp(PROF_CA_SUBORDINATE, &f->sint2, f->int2_b.pem, crlf, &out),
	    PCA_OK);
	assert_int_equal(out->chain_count, 2);
	assert_int_equal(out->chain_len, f->int1_b.der_len + f->root_b.der_len);
	assert_memory_equal(out->chain_der, f->int1_b.der, f->int1_b.der_len);
	assert_memory_equal(out->chain_der + f->int1_b.der_len, f->root_b.der,
	    f->root_b.der_len);
	assert_int_equal(out->pathlen, 0);
	prof_import_free(out);
	free(chain);
	free(crlf);
}

static void
test_sub_shape(void **state)
{
	struct fx *f = *state;
	struct prof_import *out = NULL;
	char *chain;

	assert_err(
	    imp(PROF_CA_SUBORDINATE, &f->sint1, f->int1_b.pem, NULL, &out),
	    PCA_EBADREQ, "needs its certificate chain");
	assert_err(
	    imp(PROF_CA_SUBORDINATE, &f->sint1, f->int1_b.pem, "\n", &out),
	    PCA_EBADREQ, "needs its certificate chain");
	assert_err(imp(PROF_CA_SUBORDINATE, &f->sroot, f->root_b.pem,
		       f->root_b.pem, &out),
	    PCA_EBADREQ, "must not be self-signed");
	/* wrong order */
	chain = cat(f->root_b.pem, f->int1_b.pem, NULL);
	assert_err(
	    imp(PROF_CA_SUBORDINATE, &f->sint2, f->int2_b.pem, chain, &out),
	    PCA_EMISMATCH, "ordered issuer-first");
	free(chain);
	/* the certificate itself in the chain */
	chain = cat(f->int2_b.pem, f->int1_b.pem, f->root_b.pem);
	assert_err(
	    imp(PROF_CA_SUBORDINATE, &f->sint2, f->int2_b.pem, chain, &out),
	    PCA_EMISMATCH, "the CA certificate itself");
	free(chain);
	/* a repeat */
	chain = cat(f->int1_b.pem, f->int1_b.pem, f->root_b.pem);
	assert_err(
	    imp(PROF_CA_SUBORDINATE, &f->sint2, f->int2_b.pem, chain, &out),
	    PCA_EMISMATCH, "chain certificate 2 repeats it");
	free(chain);
	/* no root at the end */
	assert_err(imp(PROF_CA_SUBORDINATE, &f->sint2, f->int2_b.pem,
		       f->int1_b.pem, &out),
	    PCA_EMISMATCH, "not a self-signed root");
	/* not the issuer at all */
	assert_err(imp(PROF_CA_SUBORDINATE, &f->sint2, f->int2_b.pem,
		       f->root_b.pem, &out),
	    PCA_EMISMATCH, "is not the issuer of CA certificate");
	assert_null(out);
}

static void
test_sub_links(void **state)
{
	struct fx *f = *state;
	struct prof_import *out = NULL;
	X509 *fake, *x;
	struct blob b;
	char *chain;

	/* a root with the same name but another key */
	fake = mkcert(&(struct cs){.cn = "Root",
	    .key = f->kother,
	    .na = 3650 * DAY,
	    .ext = {CA_EXTS}});
	blob_of(fake, &b);
	assert_err(
	    imp(PROF_CA_SUBORDINATE, &f->sint1, f->int1_b.pem, b.pem, &out),
	    PCA_EMISMATCH,
	    "signature of CA certificate does not verify with the key of "
	    "chain certificate 1");
	blob_free(&b);
	X509_free(fake);
	/* int1 with a flipped signature byte, in the middle of the chain */
	blob_of(f->int1, &b);
	b.der[b.der_len - 1] ^= 1;
	free(b.pem);
	assert_int_equal(
	    util_pem_encode("CERTIFICATE", b.der, b.der_len, &b.pem), PCA_OK);
	chain = cat(b.pem, f->root_b.pem, NULL);
	assert_err(
	    imp(PROF_CA_SUBORDINATE, &f->sint2, f->int2_b.pem, chain, &out),
	    PCA_EMISMATCH, "signature of chain certificate 1 does not verify");
	free(chain);
	blob_free(&b);
	/* a leaf as issuer */
	fake = mkcert(&(struct cs){.cn = "Leafish",
	    .key = f->kint1,
	    .issuer = f->root,
	    .ikey = f->kroot,
	    .ext = {"basicConstraints=critical,CA:FALSE"}});
	x = mkcert(&(struct cs){.cn = "Sub",
	    .key = f->kint2,
	    .issuer = fake,
	    .ikey = f->kint1,
	    .na = 30 * DAY,
	    .ext = {CA_EXTS}});
	blob_of(fake, &b);
	chain = cat(b.pem, f->root_b.pem, NULL);
	expect(PROF_CA_SUBORDINATE, x, f->kint2, chain, PCA_EMISMATCH,
	    "chain certificate 1 is not a CA certificate");
	free(chain);
	blob_free(&b);
	X509_free(x);
	X509_free(fake);
	assert_null(out);
}

/* A root with the given basicConstraints and keyUsage keyCertSign. */
static X509 *
mkroot(struct fx *f, const char *bc)
{
	return mkcert(&(struct cs){.cn = "R",
	    .key = f->kroot,
	    .na = 3650 * DAY,
	    .ext = {bc, "keyUsage=critical,keyCertSign"}});
}

/* Imports i2 (key kint2) with the chain i1 (if any), root. */
static void
expect_chain(struct fx *f, X509 *i2, X509 *i1, X509 *root, pca_err code,
    const char *sub)
{
	struct blob b1 = {0}, b0;
	char *chain;

	blob_of(root, &b0);
	if (i1 != NULL)
		blob_of(i1, &b1);
	chain = cat(i1 != NULL ? b1.pem : "", b0.pem, NULL);
	expect(PROF_CA_SUBORDINATE, i2, f->kint2, chain, code, sub);
	free(chain);
	blob_free(&b0);
	blob_free(&b1);
}

static void
test_sub_constraints(void **state)
{
	struct fx *f = *state;
	X509 *r, *i1, *i2;

	/* root pathlen:0 cannot have a CA under it */
	r = mkroot(f, "basicConstraints=critical,CA:TRUE,pathlen:0");
	i2 = mkcert(&(struct cs){.cn = "I2",
	    .key = f->kint2,
	    .issuer = r,
	    .ikey = f->kroot,
	    .ext = {CA_EXTS}});
	expect_chain(f, i2, NULL, r, PCA_EMISMATCH,
	    "chain certificate 1 has pathLenConstraint 0, but 1 CA");
	X509_free(i2);
	X509_free(r);
	/* root pathlen:1, int1 without pathlen, int2 under int1: 2 > 1 */
	r = mkroot(f, "basicConstraints=critical,CA:TRUE,pathlen:1");
	i1 = mkcert(&(struct cs){.cn = "I1",
	    .key = f->kint1,
	    .issuer = r,
	    .ikey = f->kroot,
	    .na = 900 * DAY,
	    .ext = {CA_EXTS}});
	i2 = mkcert(&(struct cs){.cn = "I2",
	    .key = f->kint2,
	    .issuer = i1,
	    .ikey = f->kint1,
	    .ext = {CA_EXTS}});
	expect_chain(f, i2, i1, r, PCA_EMISMATCH,
	    "chain certificate 2 has pathLenConstraint 1, but 2 CA");
	X509_free(i2);
	X509_free(i1);
	X509_free(r);
	/* pathlen:2 is enough; but int2 (1000 days) outlives int1 (900) */
	r = mkroot(f, "basicConstraints=critical,CA:TRUE,pathlen:2");
	i1 = mkcert(&(struct cs){.cn = "I1",
	    .key = f->kint1,
	    .issuer = r,
	    .ikey = f->kroot,
	    .na = 900 * DAY,
	    .ext = {CA_EXTS}});
	i2 = mkcert(&(struct cs){.cn = "I2",
	    .key = f->kint2,
	    .issuer = i1,
	    .ikey = f->kint1,
	    .na = 1000 * DAY,
	    .ext = {CA_EXTS}});
	expect_chain(f, i2, i1, r, PCA_EMISMATCH,
	    "is not within that of its issuer chain certificate 1");
	X509_free(i2);
	/* ... and starts before it */
	i2 = mkcert(&(struct cs){.cn = "I2",
	    .key = f->kint2,
	    .issuer = i1,
	    .ikey = f->kint1,
	    .nb = -2 * DAY,
	    .ext = {CA_EXTS}});
	expect_chain(f, i2, i1, r, PCA_EMISMATCH, "is not within that of");
	X509_free(i2);
	/* with 800 days it is fine */
	i2 = mkcert(&(struct cs){.cn = "I2",
	    .key = f->kint2,
	    .issuer = i1,
	    .ikey = f->kint1,
	    .na = 800 * DAY,
	    .ext = {CA_EXTS}});
	expect_chain(f, i2, i1, r, PCA_OK, "");
	X509_free(i2);
	X509_free(i1);
	/* keyUsage without keyCertSign on the issuer */
	i1 = mkcert(&(struct cs){.cn = "I1",
	    .key = f->kint1,
	    .issuer = r,
	    .ikey = f->kroot,
	    .na = 900 * DAY,
	    .ext = {"basicConstraints=critical,CA:TRUE",
		"keyUsage=critical,cRLSign"}});
	i2 = mkcert(&(struct cs){.cn = "I2",
	    .key = f->kint2,
	    .issuer = i1,
	    .ikey = f->kint1,
	    .ext = {CA_EXTS}});
	expect_chain(f, i2, i1, r, PCA_EMISMATCH,
	    "keyUsage does not allow keyCertSign");
	X509_free(i2);
	X509_free(i1);
	X509_free(r);
}

/* ---- parsing and limits ---- */

static void
test_parse(void **state)
{
	struct fx *f = *state;
	struct prof_import *out = NULL;
	char *s, *big;
	uint8_t *d;
	size_t i;

	/* garbage in the chain: bad base64, text between blocks, not DER */
	s = cat(f->int1_b.pem,
	    "-----BEGIN CERTIFICATE-----\nnot*base64\n"
	    "-----END CERTIFICATE-----\n",
	    NULL);
	assert_err(imp(PROF_CA_SUBORDINATE, &f->sint2, f->int2_b.pem, s, &out),
	    PCA_EBADCERT, "chain certificate 2 PEM is malformed");
	free(s);
	s = cat(f->int1_b.pem, "hello\n", f->root_b.pem);
	assert_err(imp(PROF_CA_SUBORDINATE, &f->sint2, f->int2_b.pem, s, &out),
	    PCA_EBADCERT, "data other than PEM CERTIFICATE blocks");
	free(s);
	s = cat(f->int1_b.pem,
	    "-----BEGIN CERTIFICATE-----\nMAMCAQU=\n"
	    "-----END CERTIFICATE-----\n",
	    NULL);
	assert_err(imp(PROF_CA_SUBORDINATE, &f->sint2, f->int2_b.pem, s, &out),
	    PCA_EBADCERT, "chain certificate 2 does not parse");
	free(s);
	s = cat(f->int1_b.pem, "-----BEGIN CERTIFICATE-----\nMAMCAQU=\n", NULL);
	assert_err(imp(PROF_CA_SUBORDINATE, &f->sint2, f->int2_b.pem, s, &out),
	    PCA_EBADCERT, "has no '-----END CERTIFICATE-----' line");
	free(s);
	/* the certificate: two blocks, trailing text, trailing DER bytes */
	s = cat(f->root_b.pem, f->root_b.pem, NULL);
	assert_err(imp(PROF_CA_ROOT, &f->sroot, s, NULL, &out), PCA_EBADCERT,
	    "more than one PEM block");
	free(s);
	s = cat(f->root_b.pem, "x", NULL);
	assert_err(imp(PROF_CA_ROOT, &f->sroot, s, NULL, &out), PCA_EBADCERT,
	    "data after the PEM");
	free(s);
	assert_non_null(d = malloc(f->root_b.der_len + 1));
	memcpy(d, f->root_b.der, f->root_b.der_len);
	d[f->root_b.der_len] = 0;
	assert_err(prof_import_check(PROF_CA_ROOT, f->sroot.der,
		       f->sroot.der_len, d, f->root_b.der_len + 1, NULL, 0,
		       &out),
	    PCA_EBADCERT, "1 bytes after the certificate");
	/* BER: the outer length in long form with a leading zero */
	assert_non_null(d = realloc(d, f->root_b.der_len + 1));
	assert_int_equal(f->root_b.der[1], 0x82);
	d[0] = 0x30;
	d[1] = 0x83;
	d[2] = 0;
	memcpy(d + 3, f->root_b.der + 2, f->root_b.der_len - 2);
	assert_err(prof_import_check(PROF_CA_ROOT, f->sroot.der,
		       f->sroot.der_len, d, f->root_b.der_len + 1, NULL, 0,
		       &out),
	    PCA_EBADCERT, "not canonical DER");
	free(d);
	assert_err(imp(PROF_CA_ROOT, &f->sroot, "", NULL, &out), PCA_EBADCERT,
	    "is empty");
	/* sizes */
	assert_non_null(big = malloc(LIM_CHAIN + 2));
	memset(big, ' ', LIM_CHAIN + 1);
	big[LIM_CHAIN + 1] = '\0';
	assert_err(imp(PROF_CA_ROOT, &f->sroot, big + LIM_CHAIN - LIM_CERT,
		       NULL, &out),
	    PCA_ETOOBIG, "CA certificate is 32769 bytes");
	assert_err(
	    imp(PROF_CA_SUBORDINATE, &f->sint1, f->int1_b.pem, big, &out),
	    PCA_ETOOBIG, "certificate chain is 2097153 bytes");
	free(big);
	s = strdup("");
	for (i = 0; i < LIM_CHAIN_CERTS + 1; i++) {
		char *t = cat(s, f->root_b.pem, NULL);

		free(s);
		s = t;
	}
	assert_err(imp(PROF_CA_SUBORDINATE, &f->sint1, f->int1_b.pem, s, &out),
	    PCA_ETOOBIG, "more than 16 certificates");
	free(s);
	assert_null(out);
}

/* ---- a hierarchy made by the openssl CLI ---- */

static char dir[] = "/tmp/test_import.XXXXXX";

static char *
slurp(const char *name)
{
	char path[256];
	uint8_t *p = NULL;
	size_t n;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (util_file_read(path, 1 << 20, &p, &n) != PCA_OK)
		fail_msg("cannot read %s: %s", path, pca_err_msg());
	return (char *)p;
}

static void
test_openssl_cli(void **state)
{
	static const char *const gen[][32] = {
	    {"openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
		"ec_paramgen_curve:P-256", "-nodes", "-keyout", "root.key",
		"-subj", "/C=US/O=Example/CN=CLI Root", "-days", "3650",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext",
		"keyUsage=critical,keyCertSign,cRLSign", "-out", "root.pem",
		NULL},
	    {"openssl", "req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes",
		"-keyout", "int.key", "-subj", "/C=US/O=Example/CN=CLI Int",
		"-CA", "root.pem", "-CAkey", "root.key", "-days", "1000",
		"-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
		"-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out",
		"int.pem", NULL},
	    {"openssl", "pkey", "-in", "int.key", "-pubout", "-outform", "DER",
		"-out", "int.spki", NULL},
	    {"openssl", "req", "-x509", "-new", "-key", "int.key", "-subj",
		"/C=US/O=Example/CN=CLI Int", "-CA", "root.pem", "-CAkey",
		"root.key", "-days", "5000", "-addext",
		"basicConstraints=critical,CA:TRUE", "-out", "long.pem", NULL},
	};
	const char *const rm[] = {"rm", "-rf", dir, NULL};
	struct prof_import *out = NULL;
	char *root, *in, *lng;
	uint8_t *spki = NULL;
	size_t i, sn;
	char path[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < sizeof(gen) / sizeof(gen[0]); i++)
		if (!testlib_run(dir, gen[i]))
			fail_msg("openssl step %zu failed", i);
	root = slurp("root.pem");
	in = slurp("int.pem");
	lng = slurp("long.pem");
	(void)snprintf(path, sizeof(path), "%s/int.spki", dir);
	assert_int_equal(util_file_read(path, 4096, &spki, &sn), PCA_OK);
	assert_int_equal(prof_import_check(PROF_CA_SUBORDINATE, spki, sn,
			     (uint8_t *)in, strlen(in), (uint8_t *)root,
			     strlen(root), &out),
	    PCA_OK);
	assert_int_equal(out->pathlen, 0);
	assert_int_equal(out->chain_count, 1);
	prof_import_free(out);
	out = NULL;
	/* 5000 days under a 3650-day root */
	assert_err(prof_import_check(PROF_CA_SUBORDINATE, spki, sn,
		       (uint8_t *)lng, strlen(lng), (uint8_t *)root,
		       strlen(root), &out),
	    PCA_EMISMATCH, "not within that of its issuer");
	free(root);
	free(in);
	free(lng);
	free(spki);
	assert_true(testlib_run(dir, rm));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_root_good),
	    cmocka_unit_test(test_root_bad),
	    cmocka_unit_test(test_extensions),
	    cmocka_unit_test(test_sub_good),
	    cmocka_unit_test(test_sub_shape),
	    cmocka_unit_test(test_sub_links),
	    cmocka_unit_test(test_sub_constraints),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_openssl_cli),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
