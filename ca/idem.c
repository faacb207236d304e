/*
 * idem.c - the IdempotencyToken of IssueCertificate.
 *
 * Scope: (requesting account, region, operation, CA ARN, token), so that
 * another account on a shared CA never meets the owner's token.  The entry
 * is "<SHA-256 of the request, hex> <certificate ARN>" and is claimed in the
 * very LMDB transaction that reserves the serial
 * (store_cert_reserve_claim): of concurrent calls with one token exactly
 * one reserves; the others wait until its certificate is ISSUED and answer
 * its ARN.  A token reused with a different request within the window is
 * InvalidArgs, never another request's certificate.  Should the winner fail
 * to sign, it releases its claim and a waiting call issues instead.
 *
 * Entries written before the scope existed ("issue|<CA owner>|...", the bare
 * ARN) are still honoured, for the CA owner only, until they expire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../store/store.h"
#include "engine_int.h"

#define IDEM_WAIT_MS 30000 /* longest wait for the winner's signature */
#define IDEM_POLL_MS 10
#define IDEM_ORPHAN_S 120 /* an unsigned claim this old lost its owner */
#define IDEM_DIGEST_HEX 64

static pca_err
digest_add(EVP_MD_CTX *m, const void *p, size_t n)
{
	uint8_t len[8];
	size_t i;

	/* length-prefixed, so fields cannot run into each other */
	for (i = 0; i < 8; i++)
		len[i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
	if (!EVP_DigestUpdate(m, len, sizeof(len)) ||
	    (n > 0 && !EVP_DigestUpdate(m, p, n)))
		return pca_err_set(PCA_EINTERNAL, "SHA-256 failed");
	return PCA_OK;
}

static pca_err
digest_str(EVP_MD_CTX *m, const char *s)
{
	return digest_add(m, s ? s : "", s ? strlen(s) + 1 : 0);
}

static pca_err
digest_i64(EVP_MD_CTX *m, int64_t v)
{
	char t[32];

	(void)snprintf(t, sizeof(t), "%lld", (long long)v);
	return digest_str(m, t);
}

/* SHA-256 over every argument that shapes the certificate. */
static pca_err
idem_digest(const struct ca_issue_req *r, const char *tarn, char *hex)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t md[32];
	unsigned mdlen = 0;
	char *pass = NULL;
	pca_err err = PCA_OK;

	if (m == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if (r->api_passthrough != NULL &&
	    (pass = json_dumps(r->api_passthrough,
		 JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if (!EVP_DigestInit_ex(m, EVP_sha256(), NULL)) {
		err = pca_err_set(PCA_EINTERNAL, "SHA-256 failed");
		goto out;
	}
	if ((err = digest_add(m, r->csr, r->csr_len)) != PCA_OK ||
	    (err = digest_str(m, r->signing_algorithm)) != PCA_OK ||
	    (err = digest_str(m, tarn)) != PCA_OK ||
	    (err = digest_str(m, r->validity_type)) != PCA_OK ||
	    (err = digest_i64(m, r->validity_value)) != PCA_OK ||
	    (err = digest_str(m, r->not_before_type)) != PCA_OK ||
	    (err = digest_i64(m,
		 r->not_before_type ? r->not_before_value : 0)) != PCA_OK ||
	    (err = digest_str(m, pass)) != PCA_OK)
		goto out;
	if (!EVP_DigestFinal_ex(m, md, &mdlen) || mdlen != sizeof(md)) {
		err = pca_err_set(PCA_EINTERNAL, "SHA-256 failed");
		goto out;
	}
	util_hex(md, sizeof(md), hex, IDEM_DIGEST_HEX + 1, 0);
out:
	free(pass);
	EVP_MD_CTX_free(m);
	return err;
}

pca_err
ca_idem_init(struct ca_idem *id, const struct ca_caller *c,
    const struct ca_issue_req *r, const char *tarn)
{
	const char *who =
	    r->requester_account ? r->requester_account : c->account;
	int n;

	memset(id, 0, sizeof(*id));
	n = snprintf(id->key, sizeof(id->key), "issue2|%s|%s|%s|%s", who,
	    c->region, r->ca_arn, r->idempotency_token);
	if (n < 0 || (size_t)n >= sizeof(id->key))
		return pca_err_set(PCA_EINVAL, "IdempotencyToken is too long");
	/* the pre-scope key named the CA owner: valid for the owner only */
	if (strcmp(who, c->account) == 0)
		(void)snprintf(id->legacy, sizeof(id->legacy),
		    "issue|%s|%s|%s|%s", c->account, c->region, r->ca_arn,
		    r->idempotency_token);
	return idem_digest(r, tarn, id->digest);
}

void
ca_idem_clear(struct ca_idem *id)
{
	free(id->entry);
	id->entry = NULL;
}

static void
sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

	(void)nanosleep(&t, NULL);
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The serial at the end of "<CA ARN>/certificate/<32 hex>". */
static pca_err
entry_serial(const char *arn, uint8_t serial[16])
{
	const char *p = strrchr(arn, '/');
	size_t n = 0;

	if (p == NULL || strlen(p + 1) != 32 ||
	    util_unhex(p + 1, serial, 16, &n) != PCA_OK || n != 16)
		return pca_err_set(PCA_EDB, "idempotency entry names no "
					    "certificate");
	return PCA_OK;
}

/* Still the entry we follow?  0 when released or replaced meanwhile. */
static int
entry_still(struct ca_engine *e, const struct ca_idem *id, const char *entry)
{
	char *now = NULL;
	int same;

	if (store_idem_get(e->store, id->key, util_now(), &now) != PCA_OK) {
		pca_err_clear();
		return 0;
	}
	same = strcmp(now, entry) == 0;
	free(now);
	return same;
}

/*
 * Waits until the certificate an entry names is ISSUED and answers its
 * ARN.  id->retry when the entry went away (its issuance failed).
 */
static pca_err
idem_follow(struct ca_engine *e, struct ca_idem *id, const char *uuid,
    const char *entry, char **arn)
{
	const char *cert = entry + IDEM_DIGEST_HEX + 1;
	struct store_cert rec;
	struct timespec t0;
	uint8_t serial[16];
	int orphan;
	pca_err err;

	if (strlen(entry) <= IDEM_DIGEST_HEX + 1 ||
	    entry[IDEM_DIGEST_HEX] != ' ')
		return pca_err_set(PCA_EDB, "idempotency entry is corrupt");
	if (memcmp(entry, id->digest, IDEM_DIGEST_HEX) != 0)
		return pca_err_set(PCA_EINVAL,
		    "IdempotencyToken was used within the last %u s for an "
		    "IssueCertificate request with different arguments",
		    e->idem_ttl);
	if ((err = entry_serial(cert, serial)) != PCA_OK)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		memset(&rec, 0, sizeof(rec));
		err = store_cert_get(e->store, uuid, serial, 16, &rec);
		if (err == PCA_OK && rec.state == STORE_CERT_ISSUED) {
			store_cert_clear(&rec);
			if ((*arn = strdup(cert)) == NULL)
				return pca_err_set(PCA_ENOMEM, "no memory");
			return PCA_OK;
		}
		/* claims are made with their reservation: gone = purged */
		orphan = err == PCA_ENOTFOUND ||
			 (err == PCA_OK && rec.state == STORE_CERT_PENDING &&
			     util_now() - rec.issued_at > IDEM_ORPHAN_S);
		store_cert_clear(&rec);
		if (err != PCA_OK && err != PCA_ENOTFOUND)
			return err;
		if (orphan) {
			/* its pcad died between reserve and sign: issue anew */
			pca_err_clear();
			log_warnx("idempotency claim for %s was never signed; "
				  "released",
			    cert);
			if ((err = store_idem_release(e->store, id->key,
				 entry)) != PCA_OK)
				return err;
		}
		if (!entry_still(e, id, entry)) {
			id->retry = 1;
			return pca_err_set(PCA_EBUSY,
			    "the request that held "
			    "this IdempotencyToken failed; retry");
		}
		if (ms_since(&t0) > IDEM_WAIT_MS)
			return pca_err_set(PCA_EBUSY,
			    "a request with this "
			    "IdempotencyToken is still in progress; retry");
		sleep_ms(IDEM_POLL_MS);
	}
}

pca_err
ca_idem_lookup(struct ca_engine *e, struct ca_idem *id, const char *uuid,
    char **arn)
{
	char *entry = NULL;
	int64_t now = util_now();
	pca_err err;

	err = store_idem_get(e->store, id->key, now, &entry);
	if (err == PCA_ENOTFOUND && id->legacy[0] != '\0') {
		pca_err_clear();
		/* a pre-scope entry: the ARN of a finished issuance */
		if ((err = store_idem_get(e->store, id->legacy, now, arn)) ==
		    PCA_OK)
			return PCA_OK;
	}
	if (err != PCA_OK)
		return err;
	err = idem_follow(e, id, uuid, entry, arn);
	free(entry);
	return err;
}

pca_err
ca_idem_reserve(struct ca_engine *e, struct ca_idem *id,
    const struct ca_ctx *ctx, const struct store_cert *rec, char **arn)
{
	struct store_idem_claim cl;
	char hex[2 * LIM_SERIAL_BYTES + 1];
	char *existing = NULL;
	size_t n;
	pca_err err;

	ca_idem_clear(id);
	util_hex(rec->serial, rec->serial_len, hex, sizeof(hex), 0);
	n = IDEM_DIGEST_HEX + 1 + strlen(ctx->arn) + 13 + strlen(hex) + 1;
	if ((id->entry = malloc(n)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	(void)snprintf(id->entry, n, "%s %s/certificate/%s", id->digest,
	    ctx->arn, hex);
	cl.key = id->key;
	cl.result = id->entry;
	cl.now = util_now();
	cl.expires = cl.now + e->idem_ttl;
	err = store_cert_reserve_claim(e->store, rec, &cl, &existing);
	if (err == PCA_OK) {
		id->claimed = 1;
		return PCA_OK;
	}
	if (err != PCA_EALREADY)
		return err;
	/* another call holds the token: its certificate is the answer */
	pca_err_clear();
	err = idem_follow(e, id, ctx->uuid, existing, arn);
	free(existing);
	return err == PCA_OK ? PCA_EALREADY : err;
}

void
ca_idem_release(struct ca_engine *e, struct ca_idem *id)
{
	if (!id->claimed || id->entry == NULL)
		return;
	id->claimed = 0;
	if (store_idem_release(e->store, id->key, id->entry) != PCA_OK)
		log_warnx("idempotency claim not released: %s", pca_err_msg());
}
