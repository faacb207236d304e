/*
 * store_unreserve.c - taking back a reservation the signer never signed.
 *
 * A PENDING record exists so that a certificate signed just before a crash
 * is never lost: its serial and TBS are durable before the token signs.
 * When the token refused (or was unavailable) nothing was signed, so the
 * record would only stay behind as a PENDING certificate that will never
 * be issued; ca/ removes it again with store_cert_unreserve().
 */
#include <string.h>

#include "store_int.h"

struct unreserve_arg {
	uint8_t key[STORE_CERT_KEY_MAX];
	size_t klen;
};

static pca_err
unreserve_run(struct store *s, MDB_txn *txn, void *varg)
{
	struct unreserve_arg *a = varg;
	uint8_t ek[STORE_EXP_KEY_MAX];
	char name[STORE_NAME_MAX];
	MDB_val k = store_val(a->key, a->klen), ekv, rv;
	struct store_rec r;
	size_t eklen;
	pca_err e;
	int rc;

	if ((e = store_rec_get(txn, s->dbi[STORE_DBI_CERTS], &k, &r)) != PCA_OK)
		return e;
	if (r.state != STORE_CERT_PENDING) {
		store_cert_name(a->key, a->klen, name);
		return pca_err_set(PCA_ESTATE,
		    "certificate %s is issued: "
		    "only a PENDING reservation can be taken back",
		    name);
	}
	rc = mdb_get(txn, s->dbi[STORE_DBI_REVOKED], &k, &rv);
	if (rc == 0) {
		store_cert_name(a->key, a->klen, name);
		return pca_err_set(PCA_ESTATE,
		    "certificate %s has a "
		    "revocation: its reservation stays",
		    name);
	}
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(rc, "reading a revocation");
	/* r points into the map: the index entries go before the record */
	if (s->inv_ok &&
	    (e = store_inv_remove(s, txn, a->key, a->klen, &r)) != PCA_OK)
		return e;
	store_exp_key(r.not_after, a->key, a->klen, ek, &eklen);
	ekv = store_val(ek, eklen);
	rc = mdb_del(txn, s->dbi[STORE_DBI_EXPIRY], &ekv, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_mdb_err(rc, "removing a reservation's expiry");
	if ((rc = mdb_del(txn, s->dbi[STORE_DBI_CERTS], &k, NULL)) != 0)
		return store_mdb_err(rc, "removing a reservation");
	return PCA_OK;
}

pca_err
store_cert_unreserve(struct store *s, const char *ca_id, const uint8_t *serial,
    size_t serial_len)
{
	struct unreserve_arg a;
	pca_err e;

	if ((e = store_cert_key(ca_id, serial, serial_len, a.key, &a.klen)) !=
	    PCA_OK)
		return e;
	return store_submit(s, unreserve_run, &a);
}
