/*
 * test_csr.c - prof_csr_parse on CSRs made by the openssl CLI (in a mkdtemp
 * directory) and by the OpenSSL API, plus hostile variants of them.
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

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../../profile/profile_int.h"
#include "../../../common/util.h"
#include "../testlib.h"

static char dir[] = "/tmp/test_csr.XXXXXX";

/* ---- helpers ---- */

static uint8_t *
slurp(const char *name, size_t *n)
{
	char path[256];
	uint8_t *p = NULL;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (util_file_read(path, 1 << 20, &p, n) != PCA_OK)
		fail_msg("cannot read %s: %s", path, pca_err_msg());
	return p;
}

static EVP_PKEY *
load_key(const char *name)
{
	char path[256];
	EVP_PKEY *k;
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "r"));
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

static EVP_PKEY *
rsa_gen(unsigned bits, unsigned long e)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;
	BIGNUM *b = BN_new();

	assert_non_null(c);
	assert_true(BN_set_word(b, e));
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(c, (int)bits), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(c, b), 1);
	assert_int_equal(EVP_PKEY_generate(c, &k), 1);
	BN_free(b);
	EVP_PKEY_CTX_free(c);
	return k;
}

/* An EC key with a chosen point format ("compressed"/"uncompressed"). */
static EVP_PKEY *
ec_gen(const char *curve, const char *fmt)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	assert_non_null(k);
	assert_int_equal(EVP_PKEY_set_utf8_string_param(k,
			     OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, fmt),
	    1);
	return k;
}

/* A public RSA key from its numbers (n as hex). */
static EVP_PKEY *
rsa_pub(const char *nhex, const char *ehex)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM *p;
	EVP_PKEY *k = NULL;

	assert_true(BN_hex2bn(&n, nhex) > 0 && BN_hex2bn(&e, ehex) > 0);
	assert_true(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n));
	assert_true(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e));
	assert_non_null(p = OSSL_PARAM_BLD_to_param(b));
	assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
	assert_int_equal(EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p), 1);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(c);
	BN_free(n);
	BN_free(e);
	return k;
}

/* A CSR for pub signed by signer; cn NULL: empty subject. */
static uint8_t *
mkcsr_by(EVP_PKEY *pub, EVP_PKEY *signer, const char *cn,
    STACK_OF(X509_EXTENSION) * exts, size_t *n)
{
	X509_REQ *r = X509_REQ_new();
	unsigned char *der = NULL;
	uint8_t *out;
	int len;

	assert_non_null(r);
	if (cn != NULL)
		assert_true(X509_NAME_add_entry_by_txt(
		    X509_REQ_get_subject_name(r), "CN", MBSTRING_ASC,
		    (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_REQ_set_pubkey(r, pub));
	if (exts != NULL)
		assert_true(X509_REQ_add_extensions(r, exts));
	assert_true(X509_REQ_sign(r, signer, EVP_sha256()) > 0);
	assert_true((len = i2d_X509_REQ(r, &der)) > 0);
	assert_non_null(out = malloc((size_t)len));
	memcpy(out, der, (size_t)len);
	*n = (size_t)len;
	OPENSSL_free(der);
	X509_REQ_free(r);
	return out;
}

static uint8_t *
mkcsr(EVP_PKEY *k, const char *cn, STACK_OF(X509_EXTENSION) * exts, size_t *n)
{
	return mkcsr_by(k, k, cn, exts, n);
}

static X509_EXTENSION *
ext(int nid, const char *value)
{
	X509_EXTENSION *x = X509V3_EXT_nconf_nid(NULL, NULL, nid, value);

	assert_non_null(x);
	return x;
}

static X509_EXTENSION *
ext_raw(const char *oid, int crit, const uint8_t *v, size_t n)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *x;

	assert_true(ASN1_OCTET_STRING_set(os, v, (int)n));
	assert_non_null(x = X509_EXTENSION_create_by_OBJ(NULL, o, crit, os));
	ASN1_OBJECT_free(o);
	ASN1_OCTET_STRING_free(os);
	return x;
}

/* Content length of the TLV at p; *hl gets the header length. */
static size_t
tlv(const uint8_t *p, size_t *hl)
{
	size_t cl = p[1], i;

	*hl = 2;
	if (p[1] & 0x80) {
		cl = 0;
		for (i = 0; i < (size_t)(p[1] & 0x7f); i++)
			cl = cl << 8 | p[2 + i];
		*hl = 2 + (p[1] & 0x7f);
	}
	return cl;
}

/*
 * Re-encodes the DER element at p, giving the element at byte `target`
 * (from base) a non-minimal length (83 00 xx xx) and fixing the lengths of
 * every element around it.  Low tag numbers only (enough for X.509).
 */
static size_t
widen(const uint8_t *base, const uint8_t *p, size_t target, uint8_t *out)
{
	size_t hl, cl = tlv(p, &hl), off = (size_t)(p - base), i, o = 0;
	size_t chl;
	uint8_t *tmp;

	if (off == target) {
		out[0] = p[0];
		out[1] = 0x83;
		out[2] = 0;
		out[3] = (uint8_t)(cl >> 8);
		out[4] = (uint8_t)cl;
		memcpy(out + 5, p + hl, cl);
		return 5 + cl;
	}
	if (!(p[0] & 0x20) || target < off || target >= off + hl + cl) {
		memcpy(out, p, hl + cl);
		return hl + cl;
	}
	assert_non_null(tmp = malloc(cl + 64));
	for (i = hl; i < hl + cl; i += chl + tlv(p + i, &chl))
		o += widen(base, p + i, target, tmp + o);
	out[0] = p[0];
	if (o < 0x80) {
		out[1] = (uint8_t)o;
		hl = 2;
	} else if (o < 0x100) {
		out[1] = 0x81;
		out[2] = (uint8_t)o;
		hl = 3;
	} else {
		out[1] = 0x82;
		out[2] = (uint8_t)(o >> 8);
		out[3] = (uint8_t)o;
		hl = 4;
	}
	memcpy(out + hl, tmp, o);
	free(tmp);
	return hl + o;
}

static uint8_t *
to_crlf(const uint8_t *p, size_t n, size_t *outn)
{
	uint8_t *o = malloc(2 * n);
	size_t i, k = 0;

	assert_non_null(o);
	for (i = 0; i < n; i++) {
		if (p[i] == '\n')
			o[k++] = '\r';
		o[k++] = p[i];
	}
	*outn = k;
	return o;
}

static void
pubkey_der(EVP_PKEY *k, uint8_t **der, size_t *n)
{
	unsigned char *d = NULL;
	int len = i2d_PUBKEY(k, &d);

	assert_true(len > 0);
	*der = (uint8_t *)d;
	*n = (size_t)len;
}

/* ---- fixtures: the openssl CLI ---- */

struct gen {
	const char *name;
	const char *const argv[24];
};

#define SUBJ "/C=US/O=Example/CN=host.example"
static const struct gen gens[] = {
    {"p256", {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
		 "ec_paramgen_curve:P-256", "-nodes", "-keyout", "p256.key",
		 "-subj", SUBJ, "-addext", "subjectAltName=DNS:host.example",
		 "-out", "p256.csr", NULL}},
    {"p384", {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
		 "ec_paramgen_curve:P-384", "-nodes", "-keyout", "p384.key",
		 "-subj", SUBJ, "-sha384", "-out", "p384.csr", NULL}},
    {"p521", {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
		 "ec_paramgen_curve:P-521", "-nodes", "-keyout", "p521.key",
		 "-subj", SUBJ, "-sha512", "-out", "p521.csr", NULL}},
    {"r2048",
	{"openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout",
	    "r2048.key", "-subj", SUBJ, "-out", "r2048.csr", NULL}},
    {"r3072",
	{"openssl", "req", "-new", "-newkey", "rsa:3072", "-nodes", "-keyout",
	    "r3072.key", "-subj", SUBJ, "-sha384", "-out", "r3072.csr", NULL}},
    {"r4096",
	{"openssl", "req", "-new", "-newkey", "rsa:4096", "-nodes", "-keyout",
	    "r4096.key", "-subj", SUBJ, "-sha512", "-out", "r4096.csr", NULL}},
    {"r1024",
	{"openssl", "req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout",
	    "r1024.key", "-subj", SUBJ, "-out", "r1024.csr", NULL}},
    {"k256", {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
		 "ec_paramgen_curve:secp256k1", "-nodes", "-keyout", "k256.key",
		 "-subj", SUBJ, "-out", "k256.csr", NULL}},
    {"explkey", {"openssl", "ecparam", "-name", "prime256v1", "-param_enc",
		    "explicit", "-genkey", "-noout", "-out", "expl.key", NULL}},
    {"expl", {"openssl", "req", "-new", "-key", "expl.key", "-subj", SUBJ,
		 "-out", "expl.csr", NULL}},
    {"sha1rsa", {"openssl", "req", "-new", "-key", "r2048.key", "-sha1",
		    "-subj", SUBJ, "-out", "sha1rsa.csr", NULL}},
    {"sha1ec", {"openssl", "req", "-new", "-key", "p256.key", "-sha1", "-subj",
		   SUBJ, "-out", "sha1ec.csr", NULL}},
    {"md5", {"openssl", "req", "-new", "-key", "r2048.key", "-md5", "-subj",
		SUBJ, "-out", "md5.csr", NULL}},
    {"pss", {"openssl", "req", "-new", "-key", "r2048.key", "-sha256",
		"-sigopt", "rsa_padding_mode:pss", "-sigopt",
		"rsa_pss_saltlen:32", "-subj", SUBJ, "-out", "pss.csr", NULL}},
    {"pss1",
	{"openssl", "req", "-new", "-key", "r2048.key", "-sha1", "-sigopt",
	    "rsa_padding_mode:pss", "-subj", SUBJ, "-out", "pss1.csr", NULL}},
};

static int
setup(void **state)
{
	static const char *const der[] = {"p256", "p384", "p521", "r2048",
	    "r3072", "r4096"};
	char in[64], out[64];
	size_t i;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	for (i = 0; i < sizeof(gens) / sizeof(gens[0]); i++)
		if (!testlib_run(dir, gens[i].argv)) {
			fprintf(stderr, "openssl failed for %s\n",
			    gens[i].name);
			return -1;
		}
	for (i = 0; i < sizeof(der) / sizeof(der[0]); i++) {
		const char *argv[] = {"openssl", "req", "-in", in, "-outform",
		    "DER", "-out", out, NULL};

		(void)snprintf(in, sizeof(in), "%s.csr", der[i]);
		(void)snprintf(out, sizeof(out), "%s.der", der[i]);
		if (!testlib_run(dir, argv))
			return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	const char *const argv[] = {"rm", "-rf", dir, NULL};

	(void)state;
	return testlib_run(dir, argv) ? 0 : -1;
}

/* ---- good CSRs ---- */

static void
check_good(const char *name, enum pca_keyalg alg, int bits)
{
	char f[64];
	uint8_t *pem, *der, *crlf, *spki;
	size_t pn, dn, cn, sn;
	struct prof_csr *c = NULL;
	EVP_PKEY *k;

	(void)snprintf(f, sizeof(f), "%s.csr", name);
	pem = slurp(f, &pn);
	(void)snprintf(f, sizeof(f), "%s.der", name);
	der = slurp(f, &dn);
	(void)snprintf(f, sizeof(f), "%s.key", name);
	k = load_key(f);
	pubkey_der(k, &spki, &sn);
	crlf = to_crlf(pem, pn, &cn);

	assert_int_equal(prof_csr_parse(der, dn, &c), PCA_OK);
	assert_int_equal(c->keyalg, alg);
	assert_int_equal(c->rsa_bits, bits);
	assert_int_equal(c->der_len, dn);
	assert_memory_equal(c->der, der, dn);
	assert_int_equal(c->spki_len, sn);
	assert_memory_equal(c->spki, spki, sn);
	assert_false(prof_csr_subject_empty(c));
	prof_csr_free(c);
	c = NULL;
	assert_int_equal(prof_csr_parse(pem, pn, &c), PCA_OK);
	assert_memory_equal(c->der, der, dn);
	prof_csr_free(c);
	c = NULL;
	assert_int_equal(prof_csr_parse(crlf, cn, &c), PCA_OK);
	assert_memory_equal(c->der, der, dn);
	prof_csr_free(c);
	free(pem);
	free(der);
	free(crlf);
	OPENSSL_free(spki);
	EVP_PKEY_free(k);
}

static void
test_good_ec(void **state)
{
	(void)state;
	check_good("p256", PCA_KEY_EC_P256, 0);
	check_good("p384", PCA_KEY_EC_P384, 0);
	check_good("p521", PCA_KEY_EC_P521, 0);
}

static void
test_good_rsa(void **state)
{
	(void)state;
	check_good("r2048", PCA_KEY_RSA_2048, 2048);
	check_good("r3072", PCA_KEY_RSA_3072, 3072);
	check_good("r4096", PCA_KEY_RSA_4096, 4096);
}

static void
test_good_variants(void **state)
{
	struct prof_csr *c = NULL;
	uint8_t *p, *q;
	size_t n, m;
	char *s;

	(void)state;
	/* the SAN requested by p256.csr */
	p = slurp("p256.csr", &n);
	assert_int_equal(prof_csr_parse(p, n, &c), PCA_OK);
	assert_true(prof_csr_has_san(c));
	assert_int_equal(sk_X509_EXTENSION_num(c->exts), 1);
	prof_csr_free(c);
	c = NULL;
	/* "NEW CERTIFICATE REQUEST" label, whitespace around the block */
	assert_true(asprintf(&s,
			"\n  -----BEGIN NEW CERTIFICATE REQUEST-----"
			"%.*s-----END NEW CERTIFICATE REQUEST-----\n\n",
			(int)(strstr((char *)p, "-----END") - (char *)p - 35),
			(char *)p + 35) > 0);
	assert_int_equal(prof_csr_parse((uint8_t *)s, strlen(s), &c), PCA_OK);
	assert_int_equal(c->keyalg, PCA_KEY_EC_P256);
	prof_csr_free(c);
	c = NULL;
	free(s);
	free(p);
	/* RSASSA-PSS with SHA-256 */
	p = slurp("pss.csr", &n);
	assert_int_equal(prof_csr_parse(p, n, &c), PCA_OK);
	assert_int_equal(c->keyalg, PCA_KEY_RSA_2048);
	assert_false(prof_csr_has_san(c));
	prof_csr_free(c);
	c = NULL;
	free(p);
	/* cmocka's own allocator is not involved: q is from malloc */
	q = slurp("r2048.der", &m);
	assert_int_equal(prof_csr_parse(q, m, &c), PCA_OK);
	assert_null(c->exts);
	prof_csr_free(c);
	free(q);
	prof_csr_free(NULL);
}

/* Odd key numbers: the signature would not verify, the key rule fires. */
static void
expect_rsa(EVP_PKEY *signer, const char *n_hex, const char *e_hex,
    const char *sub)
{
	struct prof_csr *c = NULL;
	EVP_PKEY *pub = rsa_pub(n_hex, e_hex);
	uint8_t *d;
	size_t n;

	d = mkcsr_by(pub, signer, "odd.example", NULL, &n);
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR, sub);
	assert_null(c);
	free(d);
	EVP_PKEY_free(pub);
}

/* RSA sizes outside the enum, e = 3; the rules for other sizes. */
static void
test_rsa_sizes(void **state)
{
	struct prof_csr *c = NULL;
	EVP_PKEY *k;
	uint8_t *d;
	size_t n;
	char nhex[2200 / 4 + 2], *big;

	(void)state;
	k = rsa_gen(2056, 3);
	d = mkcsr(k, "odd.example", NULL, &n);
	assert_int_equal(prof_csr_parse(d, n, &c), PCA_OK);
	assert_int_equal(c->keyalg, PCA_KEY_NONE);
	assert_int_equal(c->rsa_bits, 2056);
	prof_csr_free(c);
	c = NULL;
	free(d);

	/* 2052 bits: 1 then 512 hex digits, the last one odd */
	memset(nhex, 'f', sizeof(nhex));
	nhex[0] = '1';
	nhex[513] = '\0';
	expect_rsa(k, nhex, "010001", "multiple of 8");
	nhex[0] = 'f';
	nhex[512] = '\0';
	expect_rsa(k, nhex, "02", "exponent must be odd");
	expect_rsa(k, nhex, "01", "exponent must be odd");
	expect_rsa(k, nhex,
	    "10000000000000000000000000000000000000000000000000000000000000001",
	    "below 2^256");
	nhex[511] = 'e';
	expect_rsa(k, nhex, "010001", "modulus must be odd");
	/* 8200 bits */
	assert_non_null(big = malloc(8200 / 4 + 1));
	memset(big, 'f', 8200 / 4);
	big[8200 / 4] = '\0';
	expect_rsa(k, big, "010001", "at most RSA-8192");
	free(big);
	EVP_PKEY_free(k);
}

/* ---- framing and encoding ---- */

static void
test_framing(void **state)
{
	struct prof_csr *c = NULL;
	uint8_t *p, *big, *d;
	size_t n, dn;
	char *s;

	(void)state;
	p = slurp("p256.csr", &n);
	/* PEM with trailing garbage */
	assert_true(asprintf(&s, "%.*sjunk\n", (int)n, (char *)p) > 0);
	assert_err(prof_csr_parse((uint8_t *)s, strlen(s), &c), PCA_EBADCSR,
	    "data after the PEM");
	free(s);
	/* two blocks */
	assert_true(
	    asprintf(&s, "%.*s%.*s", (int)n, (char *)p, (int)n, (char *)p) > 0);
	assert_err(prof_csr_parse((uint8_t *)s, strlen(s), &c), PCA_EBADCSR,
	    "more than one PEM block");
	free(s);
	/* wrong label, bad base64, headers */
	assert_true(asprintf(&s, "-----BEGIN CERTIFICATE-----\nMAMCAQU=\n"
				 "-----END CERTIFICATE-----\n") > 0);
	assert_err(prof_csr_parse((uint8_t *)s, strlen(s), &c), PCA_EBADCSR,
	    "CSR PEM is malformed");
	free(s);
	assert_true(asprintf(&s, "-----BEGIN CERTIFICATE REQUEST-----\nMA*C"
				 "\n-----END CERTIFICATE REQUEST-----\n") > 0);
	assert_err(prof_csr_parse((uint8_t *)s, strlen(s), &c), PCA_EBADCSR,
	    "base64");
	free(s);
	free(p);

	/* 1 MiB, and one byte over the limit */
	assert_non_null(big = calloc(1, 1 << 20));
	assert_err(prof_csr_parse(big, 1 << 20, &c), PCA_ETOOBIG, "at most");
	assert_err(prof_csr_parse(big, LIM_CSR_DER + 1, &c), PCA_ETOOBIG,
	    "at most");
	free(big);
	assert_err(prof_csr_parse((const uint8_t *)"", 0, &c), PCA_EBADCSR,
	    "empty");

	d = slurp("r2048.der", &dn);
	/* truncated */
	assert_err(prof_csr_parse(d, dn / 2, &c), PCA_EBADCSR,
	    "does not parse");
	assert_err(prof_csr_parse(d, dn - 1, &c), PCA_EBADCSR,
	    "does not parse");
	/* trailing bytes after the DER */
	assert_non_null(big = malloc(dn + 2));
	memcpy(big, d, dn);
	big[dn] = 0x05;
	big[dn + 1] = 0x00;
	assert_err(prof_csr_parse(big, dn + 2, &c), PCA_EBADCSR,
	    "2 bytes after");
	free(big);
	free(d);
	assert_null(c);
}

static void
test_ber(void **state)
{
	struct prof_csr *c = NULL;
	uint8_t *d, *b, *cn;
	size_t dn, bn;

	(void)state;
	d = slurp("p256.der", &dn);
	assert_non_null(b = malloc(dn + 64));
	/* the outer SEQUENCE length in non-minimal form */
	bn = widen(d, d, 0, b);
	assert_int_equal(bn, dn + 5 - (d[1] & 0x80 ? 2u + (d[1] & 0x7f) : 2u));
	assert_err(prof_csr_parse(b, bn, &c), PCA_EBADCSR, "not canonical DER");
	/*
	 * the CN string inside the subject: OpenSSL keeps the Name's original
	 * bytes, so only the strict DER walk sees this one
	 */
	assert_non_null(cn = memmem(d, dn, "host.example", 12));
	bn = widen(d, d, (size_t)(cn - d) - 2, b);
	assert_err(prof_csr_parse(b, bn, &c), PCA_EBADCSR,
	    "length not in minimal form");
	free(b);
	/* version 1 is not PKCS#10 (signature broken too: checked before) */
	assert_non_null(cn = memmem(d, 12, "\x02\x01\x00", 3));
	cn[2] = 1;
	assert_err(prof_csr_parse(d, dn, &c), PCA_EBADCSR, "CSR version is 1");
	free(d);
	assert_null(c);
}

/* ---- signatures and keys ---- */

static void
test_bad_signature(void **state)
{
	struct prof_csr *c = NULL;
	uint8_t *d;
	size_t n;

	(void)state;
	d = slurp("r2048.der", &n);
	d[n - 1] ^= 0x01;
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR,
	    "signature does not verify");
	free(d);
	d = slurp("p384.der", &n);
	d[n - 1] ^= 0x01;
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR,
	    "signature does not verify");
	free(d);
	assert_null(c);
}

static void
expect_file(const char *name, pca_err code, const char *sub)
{
	struct prof_csr *c = NULL;
	uint8_t *p;
	size_t n;

	p = slurp(name, &n);
	assert_err(prof_csr_parse(p, n, &c), code, sub);
	assert_null(c);
	free(p);
}

static void
test_bad_keys_and_algs(void **state)
{
	struct prof_csr *c = NULL;
	EVP_PKEY *k;
	uint8_t *d;
	size_t n;

	(void)state;
	expect_file("r1024.csr", PCA_EBADCSR,
	    "CSR key is RSA-1024; at least RSA-2048 is required");
	expect_file("k256.csr", PCA_EBADCSR,
	    "CSR uses unsupported curve secp256k1");
	expect_file("expl.csr", PCA_EBADCSR, "explicit curve parameters");
	expect_file("sha1rsa.csr", PCA_EBADCSR,
	    "signed with sha1WithRSAEncryption");
	expect_file("sha1ec.csr", PCA_EBADCSR, "signed with ecdsa-with-SHA1");
	expect_file("md5.csr", PCA_EBADCSR, "signed with md5WithRSA");
	expect_file("pss1.csr", PCA_EBADCSR, "RSASSA-PSS signature must");
	/* compressed EC point */
	k = ec_gen("P-256", "compressed");
	d = mkcsr(k, "c.example", NULL, &n);
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR, "uncompressed point");
	free(d);
	EVP_PKEY_free(k);
	assert_null(c);
}

/* ---- requested extensions ---- */

static void
test_extensions(void **state)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	struct prof_csr *c = NULL;
	EVP_PKEY *k = ec_gen("P-256", "uncompressed");
	uint8_t *d, *q;
	char oid[32];
	size_t n;
	int i;

	(void)state;
	/* empty subject with a SAN */
	sk_X509_EXTENSION_push(exts,
	    ext(NID_subject_alt_name, "DNS:a.example"));
	d = mkcsr(k, NULL, exts, &n);
	assert_int_equal(prof_csr_parse(d, n, &c), PCA_OK);
	assert_true(prof_csr_subject_empty(c));
	assert_true(prof_csr_has_san(c));
	prof_csr_free(c);
	c = NULL;
	free(d);
	/* empty subject, no extension: parses; the engine refuses it */
	d = mkcsr(k, NULL, NULL, &n);
	assert_int_equal(prof_csr_parse(d, n, &c), PCA_OK);
	assert_true(prof_csr_subject_empty(c));
	assert_false(prof_csr_has_san(c));
	prof_csr_free(c);
	c = NULL;
	free(d);
	/* the same OID twice */
	sk_X509_EXTENSION_push(exts,
	    ext(NID_subject_alt_name, "DNS:b.example"));
	d = mkcsr(k, "dup.example", exts, &n);
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR, "more than once");
	free(d);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	/* an empty SAN */
	exts = sk_X509_EXTENSION_new_null();
	sk_X509_EXTENSION_push(exts,
	    ext_raw("2.5.29.17", 0, (const uint8_t *)"\x30\x00", 2));
	d = mkcsr(k, "e.example", exts, &n);
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR, "is empty");
	free(d);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	/* LIM_CSR_EXTS is fine, one more is not */
	exts = sk_X509_EXTENSION_new_null();
	for (i = 0; i < LIM_CSR_EXTS; i++) {
		(void)snprintf(oid, sizeof(oid), "1.3.6.1.4.1.99999.%d", i);
		sk_X509_EXTENSION_push(exts,
		    ext_raw(oid, 0, (const uint8_t *)"\x05\x00", 2));
	}
	d = mkcsr(k, "many.example", exts, &n);
	assert_int_equal(prof_csr_parse(d, n, &c), PCA_OK);
	assert_int_equal(sk_X509_EXTENSION_num(c->exts), LIM_CSR_EXTS);
	prof_csr_free(c);
	c = NULL;
	free(d);
	sk_X509_EXTENSION_push(exts, ext_raw("1.3.6.1.4.1.99999.999", 0,
					 (const uint8_t *)"\x05\x00", 2));
	d = mkcsr(k, "many.example", exts, &n);
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR, "at most 64");
	free(d);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	/* a critical flag encoded as 01, not FF */
	exts = sk_X509_EXTENSION_new_null();
	sk_X509_EXTENSION_push(exts,
	    ext(NID_basic_constraints, "critical,CA:FALSE"));
	d = mkcsr(k, "bool.example", exts, &n);
	assert_non_null(q = memmem(d, n, "\x01\x01\xff", 3));
	q[2] = 0x01;
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR,
	    "BOOLEAN not 00 or FF");
	free(d);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	EVP_PKEY_free(k);
	assert_null(c);
}

/* ---- the DER walker on its own ---- */

static void
test_der_strict(void **state)
{
	static const struct {
		const char *der;
		size_t n;
		const char *rule;
	} v[] = {
	    {"\x30\x03\x02\x01\x05", 5, NULL},
	    {"\x30\x80\x02\x01\x05\x00\x00", 7, "indefinite"},
	    {"\x30\x81\x03\x02\x01\x05", 6, "minimal form"},
	    {"\x30\x04\x02\x03\x00\x05", 6, "runs past"},
	    {"\x30\x04\x02\x02\x00\x05", 6, "INTEGER not in minimal"},
	    {"\x30\x03\x01\x01\x01", 5, "BOOLEAN"},
	    {"\x30\x02\x05\x00\x00", 5, "data after"},
	    {"\x31\x06\x02\x01\x06\x02\x01\x05", 8, "out of order"},
	    {"\x31\x06\x02\x01\x05\x02\x01\x06", 8, NULL},
	    {"\x24\x03\x04\x01\x00", 5, "wrong form"},
	    {"\x10\x00", 2, "wrong form"},
	    {"\x03\x02\x01\x01", 4, "unused bits"},
	    {"\x03\x02\x01\x02", 4, NULL},
	    {"\x06\x03\x2a\x80\x01", 5, "arc not minimal"},
	    {"\x06\x02\x2a\x81", 4, "truncated"},
	    {"\x1f\x1e\x00", 3, "tag number not in minimal"},
	    {"\x1f\x81\x00\x00", 4, NULL},
	    {"\x05\x01\x00", 3, "NULL with content"},
	};
	char why[128];
	size_t i;
	int ok;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ok = x509_der_strict((const uint8_t *)v[i].der, v[i].n, why,
		    sizeof(why));
		if (v[i].rule == NULL && !ok)
			fail_msg("case %zu refused: %s", i, why);
		if (v[i].rule != NULL && (ok || strstr(why, v[i].rule) == NULL))
			fail_msg("case %zu: want '%s', got %s", i, v[i].rule,
			    ok ? "accepted" : why);
	}
}

/* ---- the structure, walked without OpenSSL's decoders ---- */

/* Offsets of every element in the DER tree at p (low tag numbers). */
static size_t
offsets(const uint8_t *base, const uint8_t *p, size_t n, size_t *out, size_t k)
{
	size_t hl, cl;

	while (n > 0) {
		cl = tlv(p, &hl);
		out[k++] = (size_t)(p - base);
		if (p[0] & 0x20)
			k = offsets(base, p + hl, cl, out, k);
		p += hl + cl;
		n -= hl + cl;
	}
	return k;
}

/* Every element of a request in a non-minimal length: all refused. */
static void
test_ber_everywhere(void **state)
{
	static const char *const files[] = {"p256.der", "r2048.der"};
	struct prof_csr *c = NULL;
	size_t off[512], n, dn, bn, i, f;
	uint8_t *d, *b;

	(void)state;
	for (f = 0; f < 2; f++) {
		d = slurp(files[f], &dn);
		assert_non_null(b = malloc(dn + 64));
		n = offsets(d, d, dn, off, 0);
		assert_true(n > 15);
		for (i = 0; i < n; i++) {
			bn = widen(d, d, off[i], b);
			if (prof_csr_parse(b, bn, &c) != PCA_EBADCSR ||
			    strstr(pca_err_msg(), "not canonical DER") == NULL)
				fail_msg("%s element at %zu: %s", files[f],
				    off[i], pca_err_msg());
		}
		/* the outer SEQUENCE with an indefinite length */
		b[0] = 0x30;
		b[1] = 0x80;
		memcpy(b + 2, d + (d[1] & 0x80 ? 2 + (d[1] & 0x7f) : 2),
		    dn - (d[1] & 0x80 ? 2u + (d[1] & 0x7f) : 2u));
		bn = 2 + dn - (d[1] & 0x80 ? 2u + (d[1] & 0x7f) : 2u);
		b[bn++] = 0;
		b[bn++] = 0;
		assert_err(prof_csr_parse(b, bn, &c), PCA_EBADCSR,
		    "indefinite length");
		free(b);
		free(d);
	}
	assert_null(c);
}

/* A CertificationRequest around the given info, signed by k (SHA-256). */
static uint8_t *
sign_info(EVP_PKEY *k, const uint8_t *info, size_t in, size_t *n)
{
	static const uint8_t ecdsa256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
	    0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t sig[160], body[4096], *out;
	size_t sl = sizeof(sig), bl = 0, hl;

	assert_non_null(m);
	assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(m, sig, &sl, info, in), 1);
	EVP_MD_CTX_free(m);
	assert_true(in + sizeof(ecdsa256) + sl + 8 < sizeof(body));
	memcpy(body, info, in);
	bl = in;
	memcpy(body + bl, ecdsa256, sizeof(ecdsa256));
	bl += sizeof(ecdsa256);
	body[bl++] = 0x03;
	body[bl++] = (uint8_t)(sl + 1);
	body[bl++] = 0;
	memcpy(body + bl, sig, sl);
	bl += sl;
	hl = bl < 0x80 ? 2 : bl < 0x100 ? 3 : 4;
	assert_non_null(out = malloc(hl + bl));
	out[0] = 0x30;
	if (hl == 2)
		out[1] = (uint8_t)bl;
	else if (hl == 3) {
		out[1] = 0x81;
		out[2] = (uint8_t)bl;
	} else {
		out[1] = 0x82;
		out[2] = (uint8_t)(bl >> 8);
		out[3] = (uint8_t)bl;
	}
	memcpy(out + hl, body, bl);
	*n = hl + bl;
	return out;
}

/*
 * The request info of a fresh CSR for k with the attributes replaced by
 * tail (tl bytes; the info's length is fixed up).  Short infos only.
 */
static size_t
info_with(EVP_PKEY *k, const uint8_t *tail, size_t tl, uint8_t *out)
{
	uint8_t *d;
	size_t dn, hl, ihl, icl, bl, o;

	d = mkcsr(k, "s.example", NULL, &dn);
	(void)tlv(d, &hl);
	icl = tlv(d + hl, &ihl);
	/* version, subject, spki: everything before the trailing A0 00 */
	assert_int_equal(d[hl + ihl + icl - 2], 0xa0);
	bl = icl - 2 + tl;
	assert_true(bl < 0x100);
	out[0] = 0x30;
	o = 1;
	if (bl >= 0x80)
		out[o++] = 0x81;
	out[o++] = (uint8_t)bl;
	memcpy(out + o, d + hl + ihl, icl - 2);
	memcpy(out + o + icl - 2, tail, tl);
	free(d);
	return o + bl;
}

static void
test_structure(void **state)
{
	EVP_PKEY *k = ec_gen("P-256", "uncompressed");
	struct prof_csr *c = NULL;
	uint8_t info[1100], *d, *q;
	size_t in, n;

	(void)state;
	/* attributes absent (RFC 2986 requires them; OpenSSL never did) */
	in = info_with(k, (const uint8_t *)"", 0, info);
	d = sign_info(k, info, in, &n);
	assert_int_equal(prof_csr_parse(d, n, &c), PCA_OK);
	assert_int_equal(c->keyalg, PCA_KEY_EC_P256);
	assert_null(c->exts);
	prof_csr_free(c);
	c = NULL;
	free(d);
	/* the same, signed properly: the base case */
	in = info_with(k, (const uint8_t *)"\xa0\x00", 2, info);
	d = sign_info(k, info, in, &n);
	assert_int_equal(prof_csr_parse(d, n, &c), PCA_OK);
	prof_csr_free(c);
	c = NULL;
	free(d);
	/* an element after the attributes */
	in = info_with(k, (const uint8_t *)"\xa0\x00\x05\x00", 4, info);
	d = sign_info(k, info, in, &n);
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR, "does not parse");
	free(d);
	/* attributes with the wrong tag */
	in = info_with(k, (const uint8_t *)"\xa1\x00", 2, info);
	d = sign_info(k, info, in, &n);
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR, "does not parse");
	free(d);
	/* an attribute that is not a SEQUENCE { OID, SET } */
	in = info_with(k, (const uint8_t *)"\xa0\x05\x30\x03\x06\x01\x2a", 7,
	    info);
	d = sign_info(k, info, in, &n);
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR, "does not parse");
	free(d);
	/* two extensionRequest attributes (PKCS#9 and Microsoft's) */
	in = info_with(k,
	    (const uint8_t *)"\xa0\x2a"
			     "\x30\x11\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09"
			     "\x0e\x31\x04\x30"
			     "\x02\x30\x00"
			     "\x30\x15\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02"
			     "\x01\x0e\x31\x07"
			     "\x30\x05\x30\x03\x06\x01\x2a",
	    44, info);
	d = sign_info(k, info, in, &n);
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR,
	    "more than one extensionRequest");
	free(d);
	/* an extensionRequest with two values */
	in = info_with(k,
	    (const uint8_t *)"\xa0\x15"
			     "\x30\x13\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09"
			     "\x0e\x31\x06\x30"
			     "\x00\x30\x00\x30\x00",
	    23, info);
	d = sign_info(k, info, in, &n);
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR,
	    "exactly one SEQUENCE");
	free(d);
	/* attributes, an IMPLICIT SET OF: in DER order, and not */
	in = info_with(k,
	    (const uint8_t *)"\xa0\x22"
			     "\x30\x0f\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09"
			     "\x07\x31\x02"
			     "\x0c\x00"
			     "\x30\x0f\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09"
			     "\x0e\x31\x02"
			     "\x30\x00",
	    36, info);
	d = sign_info(k, info, in, &n);
	assert_int_equal(prof_csr_parse(d, n, &c), PCA_OK);
	assert_int_equal(sk_X509_EXTENSION_num(c->exts), 0);
	prof_csr_free(c);
	c = NULL;
	free(d);
	in = info_with(k,
	    (const uint8_t *)"\xa0\x22"
			     "\x30\x0f\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09"
			     "\x0e\x31\x02"
			     "\x30\x00"
			     "\x30\x0f\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09"
			     "\x07\x31\x02"
			     "\x0c\x00",
	    36, info);
	d = sign_info(k, info, in, &n);
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR, "out of order");
	assert_true(strstr(pca_err_msg(), "not canonical DER") != NULL);
	free(d);
	/* trailing bytes inside the signature algorithm */
	in = info_with(k, (const uint8_t *)"\xa0\x00", 2, info);
	d = sign_info(k, info, in, &n);
	assert_non_null(q = memmem(d, n,
			    "\x30\x0a\x06\x08\x2a\x86\x48\xce"
			    "\x3d\x04\x03\x02",
			    12));
	q[1] = 0x0c; /* swallows the BIT STRING's identifier and length */
	assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR, "does not parse");
	free(d);
	EVP_PKEY_free(k);
	assert_null(c);
}

/* Points the import refuses: off the curve, a coordinate not below p. */
static void
test_bad_points(void **state)
{
	static const char *const curves[] = {"P-256", "P-384", "P-521"};
	struct prof_csr *c = NULL;
	unsigned char pt[200];
	EVP_PKEY *k;
	uint8_t *d, *q;
	size_t n, pl, i;

	(void)state;
	for (i = 0; i < 3; i++) {
		k = ec_gen(curves[i], "uncompressed");
		assert_int_equal(EVP_PKEY_get_octet_string_param(k,
				     OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
				     sizeof(pt), &pl),
		    1);
		d = mkcsr(k, "pt.example", NULL, &n);
		assert_non_null(q = memmem(d, n, pt, pl));
		q[pl - 1] ^= 0x01; /* y: off the curve */
		assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR,
		    "not a valid point on");
		q[pl - 1] ^= 0x01;
		memset(q + 1, 0xff, (pl - 1) / 2); /* x >= p */
		assert_err(prof_csr_parse(d, n, &c), PCA_EBADCSR,
		    "not a valid point on");
		free(d);
		EVP_PKEY_free(k);
	}
	assert_null(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_ec),
	    cmocka_unit_test(test_good_rsa),
	    cmocka_unit_test(test_good_variants),
	    cmocka_unit_test(test_rsa_sizes),
	    cmocka_unit_test(test_framing),
	    cmocka_unit_test(test_ber),
	    cmocka_unit_test(test_bad_signature),
	    cmocka_unit_test(test_bad_keys_and_algs),
	    cmocka_unit_test(test_extensions),
	    cmocka_unit_test(test_der_strict),
	    cmocka_unit_test(test_ber_everywhere),
	    cmocka_unit_test(test_structure),
	    cmocka_unit_test(test_bad_points),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
