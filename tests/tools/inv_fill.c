/*
 * inv_fill - writes synthetic certificate records straight into a store
 * (STORE_NOSYNC) through the store's record path (reserve, complete,
 * revoke: the same records, indexes and change feed entries as the
 * engine's), for the inventory and OCSP tests, make bench-scale and the
 * soak's feeder.
 *
 *   inv_fill STORE_DIR COUNT NOW MANIFEST|- [options] CA_ID...
 *     --same-der         sign one certificate and store its bytes for every
 *                        record (benchmarks)
 *     --revoke-every K   every K-th of the non-PENDING is revoked (default
 *                        7; 0: none)
 *     --no-pending       no PENDING records (default: every 13th)
 *     --start I          first index (default 0)
 *     --pace SECONDS     run for SECONDS next to a running pcad, adding
 *                        certificates so that the CAs' reserved count
 *                        (store_issued_get of the first CA_ID, which counts
 *                        every process's reservations) follows the line
 *                        from its start value to start + COUNT; then
 *                        print what was added
 *
 * Certificate i belongs to CA_ID[i % n], has serial 0x01 || i (8 bytes BE),
 * CN host-<i>.<zone> and SAN DNS:host-<i>.<zone> (zone: corp.example when
 * i % 5 == 0, else web.example), template T[i % 3] (EndEntityCertificate/
 * V1, EndEntityClientAuthCertificate/V1, EndEntityServerAuthCertificate/V1),
 * NotAfter NOW + ((i * 7919) % 500 - 100) days + i % 86400 seconds.  Every
 * 13th stays PENDING; every 7th of the others is revoked (reason 1).
 * The manifest gets one line per certificate:
 *   ca_id serial_hex status not_after template cn
 * with status ISSUED|REVOKED|EXPIRED|PENDING as of NOW.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../common/util.h"
#include "../../store/store.h"

static const char *const tmpls[] = {"EndEntityCertificate/V1",
    "EndEntityClientAuthCertificate/V1", "EndEntityServerAuthCertificate/V1"};

struct fill {
	struct store *st;
	EVP_PKEY *key;
	long long now;
	long long revoke_every; /* 0: none */
	int same, no_pending;
	long long added, revoked;
	uint8_t *der, *tbs; /* --same-der: the one certificate */
	int der_len, tbs_len;
};

static int
make_cert(struct fill *f, long long i, const char *cn, long long na,
    uint8_t **der, int *der_len, uint8_t **tbs, int *tbs_len)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	X509_EXTENSION *ext;
	char san[128];
	int ok;

	(void)snprintf(san, sizeof(san), "DNS:%s", cn);
	ASN1_INTEGER_set_int64(X509_get_serialNumber(x), i + 1);
	X509_set_version(x, 2);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, nm);
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(na - 86400 * 30));
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na);
	X509_set_pubkey(x, f->key);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ok = X509_sign(x, f->key, EVP_sha256()) > 0;
	*der = NULL;
	*tbs = NULL;
	*der_len = ok ? i2d_X509(x, der) : -1;
	*tbs_len = ok ? i2d_re_X509_tbs(x, tbs) : -1;
	X509_NAME_free(nm);
	X509_free(x);
	return *der_len > 0 && *tbs_len > 0;
}

static int
put_one(struct fill *f, const char *ca, long long i, FILE *man)
{
	struct store_cert c;
	char cn[96], hex[41];
	uint8_t *der = NULL, *tbs = NULL;
	int der_len = 0, tbs_len = 0, pending = !f->no_pending && i % 13 == 0;
	int revoked =
		!pending && f->revoke_every > 0 && i % f->revoke_every == 0,
	    rc = 0;
	long long na = f->now + ((i * 7919) % 500 - 100) * 86400LL + i % 86400;
	const char *status;

	(void)snprintf(cn, sizeof(cn), "host-%lld.%s", i,
	    i % 5 == 0 ? "corp.example" : "web.example");
	memset(&c, 0, sizeof(c));
	(void)snprintf(c.ca_id, sizeof(c.ca_id), "%s", ca);
	c.serial[0] = 1;
	for (int k = 0; k < 8; k++)
		c.serial[1 + k] = (uint8_t)(i >> (56 - 8 * k));
	c.serial_len = 9;
	c.not_before = na - 86400 * 30;
	c.not_after = na;
	c.issued_at = f->now;
	(void)snprintf(c.template_name, sizeof(c.template_name), "%s",
	    tmpls[i % 3]);
	(void)snprintf(c.requested_by, sizeof(c.requested_by), "inv_fill");
	if (f->same) {
		der = f->der, der_len = f->der_len;
		tbs = f->tbs, tbs_len = f->tbs_len;
	} else if (!make_cert(f, i, cn, na, &der, &der_len, &tbs, &tbs_len))
		return -1;
	c.tbs = tbs;
	c.tbs_len = (size_t)tbs_len;
	if (store_cert_reserve(f->st, &c) != PCA_OK ||
	    (!pending && store_cert_complete(f->st, ca, c.serial, c.serial_len,
			     der, (size_t)der_len) != PCA_OK) ||
	    (revoked && store_cert_revoke(f->st, ca, c.serial, c.serial_len,
			    f->now, 1) != PCA_OK))
		rc = -1;
	f->added++;
	f->revoked += revoked;
	if (!f->same) {
		OPENSSL_free(der);
		OPENSSL_free(tbs);
	}
	status = pending       ? "PENDING"
		 : revoked     ? "REVOKED"
		 : na < f->now ? "EXPIRED"
			       : "ISSUED";
	util_hex(c.serial, c.serial_len, hex, sizeof(hex), 0);
	if (man != NULL)
		fprintf(man, "%s %s %s %lld %s %s\n", ca, hex, status, na,
		    tmpls[i % 3], cn);
	return rc;
}

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * --pace: keeps the first CA's reserved count on the line from its value
 * at the start to that + n over secs seconds, adding what the others
 * (pcad's API) did not; at most PACE_BURST per round.  At the end it
 * catches up with whatever is still missing.
 */
#define PACE_BURST 256
static int
pace(struct fill *f, char **cas, int ncas, long long n, long long secs,
    long long *i)
{
	long long t0 = mono_ms(), el, want, k;
	uint64_t base, cur;
	struct timespec nap = {0, 10 * 1000000};

	if (store_issued_get(f->st, cas[0], &base) != PCA_OK)
		return -1;
	for (;;) {
		if ((el = mono_ms() - t0) > secs * 1000)
			el = secs * 1000; /* a last round up to base + n */
		if (store_issued_get(f->st, cas[0], &cur) != PCA_OK)
			return -1;
		want =
		    (long long)base + n * el / (secs * 1000) - (long long)cur;
		if (el == secs * 1000 && want <= 0)
			break;
		if (want <= 0) {
			nanosleep(&nap, NULL);
			continue;
		}
		for (k = 0; k < want && k < PACE_BURST; k++, (*i)++)
			if (put_one(f, cas[*i % ncas], *i, NULL) != 0)
				return -1;
	}
	if (store_issued_get(f->st, cas[0], &cur) != PCA_OK)
		return -1;
	printf("inv_fill: %.1f s: %llu certificates reserved under %s, %lld "
	       "of them added here (%lld revoked), %llu by others\n",
	    (double)(mono_ms() - t0) / 1000, (unsigned long long)(cur - base),
	    cas[0], f->added, f->revoked,
	    (unsigned long long)(cur - base) - (unsigned long long)f->added);
	return 0;
}

/* The options between MANIFEST and the CA ids; returns the first CA's. */
static int
options(int argc, char **argv, struct fill *f, long long *start,
    long long *secs)
{
	int a = 5;

	for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
		const char *o = argv[a];
		long long *v = NULL, lo = 0, hi = INT64_MAX;

		if (strcmp(o, "--same-der") == 0)
			f->same = 1;
		else if (strcmp(o, "--no-pending") == 0)
			f->no_pending = 1;
		else if (strcmp(o, "--revoke-every") == 0)
			v = &f->revoke_every;
		else if (strcmp(o, "--start") == 0)
			v = start, hi = 100000000000LL;
		else if (strcmp(o, "--pace") == 0)
			v = secs, lo = 1, hi = 86400;
		else {
			fprintf(stderr, "inv_fill: unknown option %s\n", o);
			return -1;
		}
		if (v != NULL && (++a == argc || util_strtonum(argv[a], lo, hi,
						     v) != PCA_OK)) {
			fprintf(stderr, "inv_fill: %s: a number wanted\n", o);
			return -1;
		}
	}
	return a;
}

int
main(int argc, char **argv)
{
	struct store_conf sc = {0};
	struct fill f = {0};
	FILE *man = NULL;
	long long n, i, now, start = 0, secs = 0;
	int a;

	if (argc < 6) {
		fprintf(stderr,
		    "usage: inv_fill STORE COUNT NOW MANIFEST|- "
		    "[--same-der] [--revoke-every K] [--no-pending] "
		    "[--start I] [--pace SECONDS] CA_ID...\n");
		return 2;
	}
	f.revoke_every = 7;
	if (util_strtonum(argv[2], 0, 100000000, &n) != PCA_OK ||
	    util_strtonum(argv[3], 0, INT64_MAX, &now) != PCA_OK) {
		fprintf(stderr, "inv_fill: %s\n", pca_err_msg());
		return 2;
	}
	if ((a = options(argc, argv, &f, &start, &secs)) < 0 || a >= argc)
		return 2;
	f.now = now;
	if (strcmp(argv[4], "-") != 0 && (man = fopen(argv[4], "w")) == NULL)
		return 1;
	sc.path = argv[1];
	sc.flags = STORE_NOSYNC;
	sc.map_size = (size_t)1 << 30;
	f.key = EVP_EC_gen("P-256");
	if (f.key == NULL || store_open(&sc, &f.st) != PCA_OK) {
		fprintf(stderr, "inv_fill: %s\n", pca_err_msg());
		return 1;
	}
	if (f.same && !make_cert(&f, 0, "host-0.web.example", f.now, &f.der,
			  &f.der_len, &f.tbs, &f.tbs_len))
		return 1;
	i = start;
	if (secs > 0) {
		if (pace(&f, argv + a, argc - a, n, secs, &i) != 0) {
			fprintf(stderr, "inv_fill: %lld: %s\n", i,
			    pca_err_msg());
			return 1;
		}
	} else
		for (; i < start + n; i++)
			if (put_one(&f, argv[a + i % (argc - a)], i, man) !=
			    0) {
				fprintf(stderr, "inv_fill: %lld: %s\n", i,
				    pca_err_msg());
				return 1;
			}
	if (man != NULL)
		fclose(man);
	store_close(f.st);
	EVP_PKEY_free(f.key);
	return 0;
}
