/*
 * replay.c - the shipped change feed applied to a store: pcactl restore
 * --replay-feed, pcad --role standby (continuously) and pcactl promote use
 * this one code.  Applying a record twice changes nothing (an issued
 * certificate already complete is skipped, a revocation already made is
 * PCA_EALREADY), so a follower may re-read from any earlier position.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/limits.h"
#include "../common/util.h"
#include "../store/store.h"
#include "../sync/sync.h"
#include "backup.h"

static const char *
tmp_dir_get(void)
{
	const char *t = getenv("TMPDIR");

	return t != NULL && *t ? t : "/tmp";
}

struct replay_st {
	struct store *st;
	struct bk_replay_stats n;
};

static int64_t
asn1_epoch(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	return ASN1_TIME_to_tm(t, &tm) == 1 ? util_timegm(&tm) : 0;
}

/* An issued certificate back into the store: reserve, then complete. */
static pca_err
replay_issued(struct replay_st *r, const struct bk_feed_rec *f)
{
	struct store_cert c, old;
	const uint8_t *p = f->der;
	const ASN1_INTEGER *sn;
	uint8_t *tbs = NULL;
	X509 *x = NULL;
	int tl;
	pca_err err;

	if (f->der == NULL) { /* gone (CA purged) before it was shipped */
		r->n.skipped++;
		return PCA_OK;
	}
	memset(&c, 0, sizeof(c));
	if ((x = d2i_X509(NULL, &p, (long)f->der_len)) == NULL ||
	    p != f->der + f->der_len ||
	    (sn = X509_get0_serialNumber(x)) == NULL ||
	    (size_t)ASN1_STRING_length(sn) != f->serial_len ||
	    memcmp(ASN1_STRING_get0_data(sn), f->serial, f->serial_len) != 0 ||
	    (tl = i2d_re_X509_tbs(x, &tbs)) <= 0) {
		err = pca_err_set(PCA_EPARSE,
		    "shipped record %llu: not the "
		    "certificate it names",
		    (unsigned long long)f->seq);
		goto out;
	}
	(void)snprintf(c.ca_id, sizeof(c.ca_id), "%s", f->ca_id);
	memcpy(c.serial, f->serial, f->serial_len);
	c.serial_len = f->serial_len;
	c.state = STORE_CERT_PENDING;
	c.not_before = asn1_epoch(X509_get0_notBefore(x));
	c.not_after = asn1_epoch(X509_get0_notAfter(x));
	c.issued_at = f->when;
	(void)snprintf(c.template_name, sizeof(c.template_name), "%s",
	    f->template_name ? f->template_name : "");
	(void)snprintf(c.requested_by, sizeof(c.requested_by), "%s",
	    f->requested_by ? f->requested_by : "");
	c.tbs = tbs;
	c.tbs_len = (size_t)tl;
	if ((err = store_cert_reserve(r->st, &c)) == PCA_EEXISTS) {
		/* replayed before (or in the backup): complete it if needed */
		if ((err = store_cert_get(r->st, c.ca_id, c.serial,
			 c.serial_len, &old)) != PCA_OK)
			goto out;
		tl = old.state == STORE_CERT_ISSUED;
		store_cert_clear(&old);
		if (tl) {
			r->n.skipped++;
			goto out;
		}
	} else if (err != PCA_OK)
		goto out;
	if ((err = store_cert_complete(r->st, c.ca_id, c.serial, c.serial_len,
		 f->der, f->der_len)) == PCA_OK)
		r->n.issued++;
out:
	OPENSSL_free(tbs);
	X509_free(x);
	return err;
}

static pca_err
replay_cb(const struct bk_feed_rec *f, void *arg)
{
	struct replay_st *r = arg;
	pca_err err = PCA_OK;

	switch (f->type) {
	case STORE_CHG_CERT_ISSUED:
		return replay_issued(r, f);
	case STORE_CHG_CERT_REVOKED:
		if (f->revoked_at == 0) {
			r->n.skipped++;
			return PCA_OK;
		}
		err = store_cert_revoke(r->st, f->ca_id, f->serial,
		    f->serial_len, f->revoked_at, f->reason);
		if (err == PCA_OK)
			r->n.revoked++;
		return err == PCA_EALREADY ? PCA_OK : err;
	case STORE_CHG_CA:
		if (f->ca_json == NULL) {
			r->n.skipped++;
			return PCA_OK;
		}
		if ((err = store_ca_put(r->st, f->ca_id, f->ca_json,
			 strlen(f->ca_json), 0)) == PCA_OK)
			r->n.cas++;
		return err;
	case STORE_CHG_CA_PURGED:
		err = store_ca_purge(r->st, f->ca_id);
		if (err == PCA_OK)
			r->n.purged++;
		return err == PCA_ENOTFOUND ? PCA_OK : err;
	default:
		r->n.skipped++; /* access keys are not shipped */
		return PCA_OK;
	}
}

#define REPLAY_CAS_MAX 4096 /* CAs whose CRL number is read back */
#define REPLAY_CRL_MAX ((uint64_t)256 << 20) /* one CRL fetched */

struct crl_ca {
	char id[37];
	char key[600];
	char bucket[64];
};

struct crl_cas {
	struct crl_ca v[REPLAY_CAS_MAX];
	size_t n;
};

static int
crl_ca_cb(const char *id, const char *json, size_t len, void *arg)
{
	struct crl_cas *l = arg;
	json_t *r = json_loadb(json, len, 0, NULL), *cfg;
	const char *b, *cp;

	cfg = json_object_get(json_object_get(r, "RevocationConfiguration"),
	    "CrlConfiguration");
	b = json_string_value(json_object_get(cfg, "S3BucketName"));
	cp = json_string_value(json_object_get(cfg, "CustomPath"));
	if (b != NULL && *b && strlen(b) < sizeof(l->v->bucket) &&
	    l->n < REPLAY_CAS_MAX) {
		(void)snprintf(l->v[l->n].id, sizeof(l->v->id), "%s", id);
		(void)snprintf(l->v[l->n].bucket, sizeof(l->v->bucket), "%s",
		    b);
		(void)snprintf(l->v[l->n].key, sizeof(l->v->key), "%s/%s.crl",
		    cp && *cp ? cp : "crl", id);
		l->n++;
	}
	json_decref(r);
	return 0;
}

/* The number of the CRL at bucket/key (0 when there is none). */
static pca_err
crl_number_s3(struct sync *sy, const struct crl_ca *c, uint64_t *num)
{
	char path[PATH_MAX];
	uint8_t *der = NULL;
	const uint8_t *p;
	X509_CRL *crl = NULL;
	ASN1_INTEGER *n = NULL;
	size_t len;
	int fd;
	pca_err err;

	*num = 0;
	(void)snprintf(path, sizeof(path), "%s/openpca-crl.XXXXXX",
	    tmp_dir_get());
	if ((fd = mkstemp(path)) < 0)
		return pca_err_set(PCA_EIO, "%s: %s", path, strerror(errno));
	err = sync_s3_get_file(sy, c->bucket, c->key, fd, REPLAY_CRL_MAX);
	close(fd);
	if (err == PCA_OK)
		err = util_file_read(path, REPLAY_CRL_MAX, &der, &len);
	(void)unlink(path);
	if (err == PCA_ENOTFOUND)
		return PCA_OK;
	if (err != PCA_OK)
		return err;
	p = der;
	if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL ||
	    (n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL)) ==
		NULL ||
	    ASN1_INTEGER_get_uint64(num, n) != 1)
		err = pca_err_set(PCA_EPARSE,
		    "s3://%s/%s: not a CRL with a "
		    "number",
		    c->bucket, c->key);
	ASN1_INTEGER_free(n);
	X509_CRL_free(crl);
	free(der);
	return err;
}

/* Every CA's crlnum counter raised above the CRL published in S3. */
pca_err
bk_crl_numbers_raise(struct store *st, struct sync *sy)
{
	struct crl_cas *l = calloc(1, sizeof(*l));
	char name[64];
	uint64_t num, now;
	size_t i;
	pca_err err;

	if (l == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((err = store_ca_foreach(st, crl_ca_cb, l)) != PCA_OK)
		goto out;
	for (i = 0; i < l->n && err == PCA_OK; i++) {
		if ((err = crl_number_s3(sy, &l->v[i], &num)) != PCA_OK ||
		    num == 0)
			continue;
		(void)snprintf(name, sizeof(name), "crlnum/%s", l->v[i].id);
		err = store_counter_raise(st, name, num, &now);
	}
out:
	free(l);
	return err;
}

pca_err
bk_replay(struct store *st, struct bk_s3 *p, uint64_t after,
    struct bk_replay_stats *n, uint64_t *last)
{
	struct replay_st r;
	pca_err err;

	memset(&r, 0, sizeof(r));
	r.st = st;
	err = bk_feed_read(p, after, replay_cb, &r, last);
	if (n != NULL)
		*n = r.n;
	return err;
}
