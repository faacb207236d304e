/*
 * test_csr_perf.c - the cost of CSR intake: prof_csr_parse in a timing loop
 * for EC P-256, EC P-384 and RSA-2048 CSRs (with a subjectAltName), and the
 * OpenSSL building blocks next to it for comparison.  Prints microseconds
 * per call, wall and this thread's CPU time (steadier on a shared box);
 * asserts only that parsing succeeds, never a time.
 *
 * CSR_PERF_SECONDS (default 0.2) sets the time spent per row (about 25
 * rows); 1 gives steadier figures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../../profile/profile_int.h"

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* This thread's CPU time: steadier than wall time on a shared box. */
static double
cpu_s(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

static double
budget(void)
{
	const char *s = getenv("CSR_PERF_SECONDS");
	double d = s != NULL ? atof(s) : 0.0;

	return d > 0.0 ? d : 0.2;
}

static uint8_t *
mkcsr(EVP_PKEY *k, const EVP_MD *md, size_t *n)
{
	STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *x = X509V3_EXT_nconf_nid(NULL, NULL,
	    NID_subject_alt_name, "DNS:bench.example.com");
	X509_REQ *r = X509_REQ_new();
	unsigned char *der = NULL;
	uint8_t *out;
	int len;

	assert_non_null(x);
	assert_non_null(r);
	assert_true(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r),
	    "O", MBSTRING_ASC, (const unsigned char *)"Example", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r),
	    "CN", MBSTRING_ASC, (const unsigned char *)"bench.example.com", -1,
	    -1, 0));
	assert_true(X509_REQ_set_pubkey(r, k));
	assert_true(sk_X509_EXTENSION_push(sk, x));
	assert_true(X509_REQ_add_extensions(r, sk));
	assert_true(X509_REQ_sign(r, k, md) > 0);
	assert_true((len = i2d_X509_REQ(r, &der)) > 0);
	assert_non_null(out = malloc((size_t)len));
	memcpy(out, der, (size_t)len);
	*n = (size_t)len;
	OPENSSL_free(der);
	X509_REQ_free(r);
	sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
	return out;
}

/* ---- the rows ---- */

enum op {
	OP_PARSE,
	OP_D2I_REQ,
	OP_REQ_VERIFY,
	OP_D2I_NAME,
	OP_FROMDATA,
	OP_PUBCHECK,
	OP_PUBQUICK,
	OP_DUPSET,
	OP_VFY_NEWCTX,
	OP_VFY_ONLY
};

struct fix {
	const char *name;
	uint8_t *der;
	size_t n;
	X509_REQ *req;
	const uint8_t *name_der; /* the subject Name, DER */
	size_t name_len;
	const uint8_t *pub; /* subjectPublicKey content */
	size_t pub_len;
	const char *group; /* EC group name or NULL */
	EVP_PKEY *key;
	EVP_PKEY *tmpl;                   /* domain parameters only */
	EVP_PKEY_CTX *vctx;               /* verify_init done on key */
	unsigned char h[EVP_MAX_MD_SIZE]; /* hash of the request info */
	unsigned hl;
	const uint8_t *sig; /* signature value */
	size_t sig_len;
};

static EVP_PKEY *
fromdata(const struct fix *f)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;
	OSSL_PARAM p[3];

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)f->group, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)f->pub, f->pub_len);
	p[2] = OSSL_PARAM_construct_end();
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, p) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static int
one(struct fix *f, enum op op)
{
	const unsigned char *q;
	struct prof_csr *c = NULL;
	X509_REQ *r;
	X509_NAME *nm;
	EVP_PKEY *k;
	EVP_PKEY_CTX *ctx;
	int ok;

	switch (op) {
	case OP_PARSE:
		ok = prof_csr_parse(f->der, f->n, &c) == PCA_OK;
		prof_csr_free(c);
		return ok;
	case OP_D2I_REQ:
		q = f->der;
		r = d2i_X509_REQ(NULL, &q, (long)f->n);
		ok = r != NULL && X509_REQ_get0_pubkey(r) != NULL;
		X509_REQ_free(r);
		return ok;
	case OP_REQ_VERIFY:
		return X509_REQ_verify(f->req, X509_REQ_get0_pubkey(f->req)) ==
		       1;
	case OP_D2I_NAME:
		q = f->name_der;
		nm = d2i_X509_NAME(NULL, &q, (long)f->name_len);
		X509_NAME_free(nm);
		return nm != NULL;
	case OP_FROMDATA:
		k = fromdata(f);
		EVP_PKEY_free(k);
		return k != NULL;
	case OP_DUPSET:
		k = EVP_PKEY_dup(f->tmpl);
		ok = k != NULL && EVP_PKEY_set_octet_string_param(k,
				      OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
				      (unsigned char *)f->pub, f->pub_len) == 1;
		EVP_PKEY_free(k);
		return ok;
	case OP_VFY_NEWCTX:
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, f->key, NULL);
		ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		     EVP_PKEY_verify(ctx, f->sig, f->sig_len, f->h, f->hl) == 1;
		EVP_PKEY_CTX_free(ctx);
		return ok;
	case OP_VFY_ONLY:
		return EVP_PKEY_verify(f->vctx, f->sig, f->sig_len, f->h,
			   f->hl) == 1;
	case OP_PUBCHECK:
	case OP_PUBQUICK:
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, f->key, NULL);
		ok =
		    ctx != NULL &&
		    (op == OP_PUBCHECK ? EVP_PKEY_public_check(ctx)
				       : EVP_PKEY_public_check_quick(ctx)) == 1;
		EVP_PKEY_CTX_free(ctx);
		return ok;
	}
	return 0;
}

static void
row(struct fix *f, enum op op, const char *what)
{
	double t0, t1, c0, until;
	long n = 0;

	assert_true(one(f, op)); /* warm-up, and it must work */
	t0 = now_s();
	c0 = cpu_s();
	until = t0 + budget();
	do {
		assert_true(one(f, op));
		n++;
	} while ((t1 = now_s()) < until);
	printf("  %-8s %-28s %8.1f us/call wall %8.1f us/call cpu  (%ld)\n",
	    f->name, what, (t1 - t0) * 1e6 / (double)n,
	    (cpu_s() - c0) * 1e6 / (double)n, n);
}

/* Locates the subject and the public key bytes (well-formed input only). */
static size_t
hdr(const uint8_t *p, size_t *cl)
{
	size_t i, nl;

	if (p[1] < 0x80) {
		*cl = p[1];
		return 2;
	}
	nl = p[1] & 0x7f;
	for (*cl = 0, i = 0; i < nl; i++)
		*cl = *cl << 8 | p[2 + i];
	return 2 + nl;
}

static void
fix_init(struct fix *f, const char *name, EVP_PKEY *k, const EVP_MD *md,
    const char *group)
{
	const unsigned char *q;
	const uint8_t *p;
	size_t cl, h;

	memset(f, 0, sizeof(*f));
	f->name = name;
	f->group = group;
	f->der = mkcsr(k, md, &f->n);
	q = f->der;
	assert_non_null(f->req = d2i_X509_REQ(NULL, &q, (long)f->n));
	/* CertificationRequest, CertificationRequestInfo, past version */
	p = f->der + hdr(f->der, &cl);
	p += hdr(p, &cl);
	h = hdr(p, &cl);
	p += h + cl;
	f->name_der = p;
	h = hdr(p, &cl);
	f->name_len = h + cl;
	p += h + cl;
	/* SPKI: past the AlgorithmIdentifier, into the BIT STRING */
	p += hdr(p, &cl);
	h = hdr(p, &cl);
	p += h + cl;
	h = hdr(p, &cl);
	f->pub = p + h + 1;
	f->pub_len = cl - 1;
	/* the signature: after the request info and the algorithm */
	q = f->der + hdr(f->der, &cl);
	h = hdr(q, &cl);
	assert_int_equal(EVP_Digest(q, h + cl, f->h, &f->hl, md, NULL), 1);
	q += h + cl;
	q += hdr(q, &cl) + cl;
	h = hdr(q, &cl);
	f->sig = q + h + 1;
	f->sig_len = cl - 1;
	f->key = group != NULL ? fromdata(f) : NULL;
	if (f->key != NULL) {
		assert_non_null(
		    f->vctx = EVP_PKEY_CTX_new_from_pkey(NULL, f->key, NULL));
		assert_int_equal(EVP_PKEY_verify_init(f->vctx), 1);
	}
	f->tmpl =
	    group != NULL ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", group) : NULL;
	assert_true(group == NULL || f->key != NULL);
}

static void
fix_free(struct fix *f)
{
	free(f->der);
	X509_REQ_free(f->req);
	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->tmpl);
	EVP_PKEY_CTX_free(f->vctx);
}

static void
test_csr_rate(void **state)
{
	EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct fix f[3];
	size_t i;

	(void)state;
	assert_true(p256 != NULL && p384 != NULL && rsa != NULL);
	fix_init(&f[0], "P-256", p256, EVP_sha256(), "P-256");
	fix_init(&f[1], "P-384", p384, EVP_sha384(), "P-384");
	fix_init(&f[2], "RSA-2048", rsa, EVP_sha256(), NULL);
	printf("prof_csr_parse:\n");
	for (i = 0; i < 3; i++)
		row(&f[i], OP_PARSE, "prof_csr_parse");
	printf("building blocks (for comparison):\n");
	for (i = 0; i < 3; i++) {
		row(&f[i], OP_D2I_REQ, "d2i_X509_REQ+get0_pubkey");
		row(&f[i], OP_REQ_VERIFY, "X509_REQ_verify");
		row(&f[i], OP_D2I_NAME, "d2i_X509_NAME");
		if (f[i].group == NULL)
			continue;
		row(&f[i], OP_FROMDATA, "EVP_PKEY_fromdata (EC)");
		row(&f[i], OP_DUPSET, "EVP_PKEY_dup+set pub");
		row(&f[i], OP_PUBCHECK, "EVP_PKEY_public_check");
		row(&f[i], OP_PUBQUICK, "EVP_PKEY_public_check_quick");
		row(&f[i], OP_VFY_NEWCTX, "CTX_new+verify_init+verify");
		row(&f[i], OP_VFY_ONLY, "EVP_PKEY_verify (ECDSA)");
	}
	for (i = 0; i < 3; i++)
		fix_free(&f[i]);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csr_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
