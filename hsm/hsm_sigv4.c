/*
 * hsm_sigv4.c - SigV4 signing keys from sealed API secrets: the secret is
 * unsealed, run through AWS's HMAC chain for one date/region/service scope
 * and wiped; only the 32-byte kSigning leaves.  Through a separated signer
 * (h->ipc) the whole of it runs in the signer (HSM_IPC_SIGV4).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hsm_int.h"

#define SIGV4_PREFIX "AWS4"
#define SIGV4_TERMINATOR "aws4_request"
#define DAY_S 86400

static int
is_leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (y >= 1970). */
static long
days_of(long y, long m, long d)
{
	static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243,
	    273, 304, 334};
	long n = 0, i;

	for (i = 1970; i < y; i++)
		n += is_leap(i) ? 366 : 365;
	n += before[m - 1] + (m > 2 && is_leap(y)) + d - 1;
	return n;
}

/* YYYYMMDD, a real calendar day from 1970 to 9999: its day number. */
static int
date_days(const char *s, long *days)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31};
	long y, m, d;
	size_t i;

	if (strlen(s) != 8)
		return 0;
	for (i = 0; i < 8; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	y = (s[0] - '0') * 1000L + (s[1] - '0') * 100L + (s[2] - '0') * 10L +
	    (s[3] - '0');
	m = (s[4] - '0') * 10L + (s[5] - '0');
	d = (s[6] - '0') * 10L + (s[7] - '0');
	if (y < 1970 || m < 1 || m > 12 || d < 1 ||
	    d > dim[m - 1] + (m == 2 && is_leap(y)))
		return 0;
	*days = days_of(y, m, d);
	return 1;
}

/* 1 to HSM_SIGV4_NAME_MAX characters of [a-z0-9._-]. */
static int
name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > HSM_SIGV4_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

pca_err
hsm_sigv4_scope_check(const struct hsm_sigv4_scope *sc, int64_t now)
{
	long days, today;

	if (sc == NULL || sc->date == NULL || sc->region == NULL ||
	    sc->service == NULL)
		return pca_err_set(PCA_EINVAL, "sigv4: incomplete scope");
	if (!date_days(sc->date, &days))
		return pca_err_set(PCA_EINVAL,
		    "sigv4: scope date '%.8s' is not a YYYYMMDD day", sc->date);
	today = (long)(now >= 0 ? now / DAY_S : -((-now + DAY_S - 1) / DAY_S));
	if (days > today + HSM_SIGV4_DAYS || days < today - HSM_SIGV4_DAYS)
		return pca_err_set(PCA_EINVAL,
		    "sigv4: scope date %s is more than %d day from today",
		    sc->date, HSM_SIGV4_DAYS);
	if (!name_ok(sc->region))
		return pca_err_set(PCA_EINVAL,
		    "sigv4: region must be 1 to %d of [a-z0-9._-]",
		    HSM_SIGV4_NAME_MAX);
	if (!name_ok(sc->service))
		return pca_err_set(PCA_EINVAL,
		    "sigv4: service must be 1 to %d of [a-z0-9._-]",
		    HSM_SIGV4_NAME_MAX);
	return PCA_OK;
}

static void
hmac32(const uint8_t *key, size_t klen, const void *msg, size_t mlen,
    uint8_t out[32])
{
	unsigned int n = 32;

	(void)HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &n);
}

void
hsm_sigv4_derive(const uint8_t *secret, size_t secret_len,
    const struct hsm_sigv4_scope *sc, uint8_t key[HSM_SIGV4_KEY_LEN])
{
	uint8_t k0[sizeof(SIGV4_PREFIX) - 1 + HSM_SIGV4_SECRET_MAX], k[32];
	size_t p = sizeof(SIGV4_PREFIX) - 1;
	size_t n = secret_len > HSM_SIGV4_SECRET_MAX ? HSM_SIGV4_SECRET_MAX
						     : secret_len;

	memcpy(k0, SIGV4_PREFIX, p);
	memcpy(k0 + p, secret, n);
	hmac32(k0, p + n, sc->date, strlen(sc->date), k);
	hmac32(k, 32, sc->region, strlen(sc->region), k);
	hmac32(k, 32, sc->service, strlen(sc->service), k);
	hmac32(k, 32, SIGV4_TERMINATOR, strlen(SIGV4_TERMINATOR), key);
	OPENSSL_cleanse(k0, sizeof(k0));
	OPENSSL_cleanse(k, sizeof(k));
}

pca_err
hsm_sigv4_key(struct hsm *h, const char *label, const uint8_t *sealed,
    size_t len, const struct hsm_sigv4_scope *sc,
    uint8_t key[HSM_SIGV4_KEY_LEN])
{
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	pca_err err;

	if ((err = hsm_label_check(label)) != PCA_OK ||
	    (err = hsm_sigv4_scope_check(sc, (int64_t)time(NULL))) != PCA_OK)
		return err;
	if (h != NULL && h->ipc != NULL)
		return hsm_ipc_sigv4(h, label, sealed, len, sc, key);
	if ((err = hsm_unseal(h, label, sealed, len, &plain, &plain_len)) !=
	    PCA_OK)
		return err;
	if (plain_len > HSM_SIGV4_SECRET_MAX)
		err = pca_err_set(PCA_EINVAL,
		    "sigv4: the secret under %s is over %d bytes", label,
		    HSM_SIGV4_SECRET_MAX);
	else
		hsm_sigv4_derive(plain, plain_len, sc, key);
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	return err;
}
