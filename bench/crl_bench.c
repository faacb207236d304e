/*
 * crl_bench - the CRL benchmark's two halves, one process each so that
 * each reports its own peak RSS:
 *
 *   crl_bench populate DIR N INDEX   N revoked certificates of one CA in a
 *                                    store at DIR (STORE_NOSYNC, 8 writer
 *                                    threads), and the same entries as an
 *                                    openssl ca index.txt at INDEX
 *   crl_bench build DIR CERT KEY OUT crl_build over that store, signed
 *                                    with KEY (as openssl ca signs)
 *
 * build prints "entries N bytes B seconds S maxrss_kb K" on stdout and
 * "anon_kb A" on stderr: the anonymous (heap) memory with the CRL still
 * held; maxrss also counts the LMDB map's file pages the kernel maps in.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "../common/util.h"
#include "../crl/crl.h"
#include "../store/store.h"

#define CA_ID "0b8a4c1e-2f6a-4d1e-9c3b-7a5d6e8f9a0b"
#define THREADS 8

struct pop {
	struct store *s;
	size_t from, to;
	uint8_t (*serials)[16];
	int64_t now;
	pca_err err;
};

static void *
pop_run(void *arg)
{
	struct pop *p = arg;
	struct store_cert c;
	static const uint8_t der[8] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01,
	    0x01};
	size_t i;

	for (i = p->from; i < p->to && p->err == PCA_OK; i++) {
		memset(&c, 0, sizeof(c));
		memcpy(c.ca_id, CA_ID, 37);
		memcpy(c.serial, p->serials[i], 16);
		c.serial_len = 16;
		c.state = STORE_CERT_PENDING;
		c.not_before = p->now - 86400;
		c.not_after = p->now + 365 * 86400;
		c.issued_at = p->now;
		c.tbs = (uint8_t *)der;
		c.tbs_len = sizeof(der);
		(void)snprintf(c.template_name, sizeof(c.template_name),
		    "EndEntityCertificate/V1");
		if ((p->err = store_cert_reserve(p->s, &c)) == PCA_OK &&
		    (p->err = store_cert_complete(p->s, CA_ID, c.serial, 16,
			 der, sizeof(der))) == PCA_OK)
			p->err = store_cert_revoke(p->s, CA_ID, c.serial, 16,
			    p->now - (int64_t)(i % 86400),
			    i % 5 == 0 ? 0 : (int)(i % 5));
	}
	return NULL;
}

static void
index_line(FILE *f, const uint8_t *s, int64_t exp, int64_t rev, int reason)
{
	static const char *const rn[] = {"unspecified", "keyCompromise",
	    "CACompromise", "affiliationChanged", "superseded"};
	char e[16], r[16], hex[33];
	struct tm tm;
	time_t t = (time_t)exp;

	/* UTCTime form (two-digit year) as openssl ca writes it */
	(void)strftime(e, sizeof(e), "%Y%m%d%H%M%SZ", gmtime_r(&t, &tm));
	t = (time_t)rev;
	(void)strftime(r, sizeof(r), "%Y%m%d%H%M%SZ", gmtime_r(&t, &tm));
	(void)util_hex(s, 16, hex, sizeof(hex), 0);
	for (char *p = hex; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	fprintf(f, "R\t%s\t%s%s%s\t%s\tunknown\t/CN=leaf\n", e + 2, r + 2,
	    reason ? "," : "", reason ? rn[reason] : "", hex);
}

static int
populate(const char *dir, size_t n, const char *index)
{
	struct store_conf sc = {dir, (size_t)256 << 20, 0, STORE_NOSYNC, 0};
	struct pop p[THREADS];
	pthread_t th[THREADS];
	struct store *s = NULL;
	FILE *f;
	size_t i;
	int64_t now = util_now();
	uint8_t(*ser)[16] = calloc(n, 16);

	if (ser == NULL || RAND_bytes((uint8_t *)ser, (int)(n * 16)) != 1 ||
	    store_open(&sc, &s) != PCA_OK)
		return fprintf(stderr, "populate: %s\n", pca_err_msg()), 1;
	for (i = 0; i < n; i++)
		ser[i][0] = (uint8_t)((ser[i][0] & 0x7f) | 0x10);
	for (i = 0; i < THREADS; i++) {
		p[i] = (struct pop){s, n * i / THREADS, n * (i + 1) / THREADS,
		    ser, now, PCA_OK};
		pthread_create(&th[i], NULL, pop_run, &p[i]);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < THREADS; i++)
		if (p[i].err != PCA_OK)
			return fprintf(stderr, "populate: %s\n",
				   pca_strerror(p[i].err)),
			       1;
	store_close(s);
	if ((f = fopen(index, "w")) == NULL)
		return perror(index), 1;
	for (i = 0; i < n; i++)
		index_line(f, ser[i], now + 365 * 86400,
		    now - (int64_t)(i % 86400), (int)(i % 5));
	fclose(f);
	free(ser);
	return 0;
}

static pca_err
sign_evp(void *arg, const uint8_t *tbs, size_t len, uint8_t *sig,
    size_t *sig_len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	size_t sl = 1024;
	int ok = m &&
		 EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, arg) == 1 &&
		 EVP_DigestSign(m, sig, &sl, tbs, len) == 1;

	EVP_MD_CTX_free(m);
	if (!ok)
		return pca_err_set(PCA_EINTERNAL, "signing failed");
	*sig_len = sl;
	return PCA_OK;
}

static uint8_t *
cert_der(const char *path, size_t *len, EVP_PKEY **pub, const char *keyp)
{
	FILE *f = fopen(path, "r"), *k = fopen(keyp, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	uint8_t *der = NULL;
	int n;

	*pub = k ? PEM_read_PrivateKey(k, NULL, NULL, NULL) : NULL;
	if (x != NULL && (n = i2d_X509(x, &der)) > 0)
		*len = (size_t)n;
	X509_free(x);
	if (f)
		fclose(f);
	if (k)
		fclose(k);
	return der;
}

/* RssAnon (KiB) now: with the CRL still held, the heap's peak. */
static long
rss_anon(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "RssAnon:", 8) == 0)
			v = strtol(line + 8, NULL, 10);
	if (f != NULL)
		fclose(f);
	return v;
}

static int
build(const char *dir, const char *cert, const char *key, const char *out)
{
	struct store_conf sc = {dir, 0, 0, STORE_NOSYNC | STORE_NORDAHEAD, 1};
	struct crl_params p;
	struct store *s = NULL;
	struct timespec t0, t1;
	struct rusage ru;
	EVP_PKEY *pk = NULL;
	const unsigned char *q;
	const ASN1_OCTET_STRING *ski;
	uint8_t *cd, *der = NULL;
	size_t cl = 0, len = 0, cnt = 0;
	X509 *x;
	FILE *f;

	if ((cd = cert_der(cert, &cl, &pk, key)) == NULL || pk == NULL ||
	    store_open(&sc, &s) != PCA_OK)
		return fprintf(stderr, "build: cannot open inputs: %s\n",
			   pca_err_msg()),
		       1;
	q = cd;
	x = d2i_X509(NULL, &q, (long)cl);
	ski = X509_get0_subject_key_id(x);
	memset(&p, 0, sizeof(p));
	if (ski == NULL ||
	    crl_cert_subject(cd, cl, &p.issuer, &p.issuer_len) != PCA_OK)
		return fprintf(stderr, "build: CA certificate\n"), 1;
	p.akid = ski->data;
	p.akid_len = (size_t)ski->length;
	p.sigalg = pca_sigalg_from_name("SHA256WITHECDSA");
	p.number = 1;
	p.this_update = util_now() - 3600;
	p.next_update = util_now() + 7 * 86400;
	p.min_when = INT64_MIN;
	p.store = s;
	p.ca_id = CA_ID;
	p.sign = sign_evp;
	p.sign_arg = pk;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (crl_build(&p, &der, &len, &cnt) != PCA_OK)
		return fprintf(stderr, "build: %s\n", pca_err_msg()), 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "anon_kb %ld\n", rss_anon());
	if ((f = fopen(out, "wb")) == NULL || fwrite(der, 1, len, f) != len)
		return perror(out), 1;
	fclose(f);
	printf("entries %zu bytes %zu seconds %.3f maxrss_kb %ld\n", cnt, len,
	    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	    ru.ru_maxrss);
	free(der);
	free(cd);
	X509_free(x);
	EVP_PKEY_free(pk);
	store_close(s);
	return 0;
}

int
main(int argc, char **argv)
{
	long long n;

	if (argc == 5 && strcmp(argv[1], "populate") == 0 &&
	    util_strtonum(argv[3], 1, 100000000, &n) == PCA_OK)
		return populate(argv[2], (size_t)n, argv[4]);
	if (argc == 6 && strcmp(argv[1], "build") == 0)
		return build(argv[2], argv[3], argv[4], argv[5]);
	fprintf(stderr, "usage: crl_bench populate DIR N INDEX | "
			"build DIR CERT KEY OUT\n");
	return 2;
}
