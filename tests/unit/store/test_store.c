#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/sha.h>

#include "../../../store/store.h"
#include "../testlib.h"

#define CA1 "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define CA2 "ffffffff-0000-4000-8000-000000000001"
#define CA3 "12345678-1234-4234-8234-123456789abc"
#define MIB ((size_t)1 << 20)

/* ---- helpers ---- */

static void
rmtree(const char *dir)
{
	testlib_dir_remove(dir);
}

static char *
tmpdir(void)
{
	return testlib_dir_new("pca-store");
}

static struct store *
open_store(const char *dir, size_t map, size_t max, unsigned flags, int ro)
{
	struct store_conf c = {dir, map, max, flags, ro};
	struct store *s = NULL;
	pca_err e;

	e = store_open(&c, &s);
	if (e != PCA_OK)
		fail_msg("store_open %s: %s: %s", dir, pca_strerror(e),
		    pca_err_msg());
	return s;
}

static pca_err
reserve(struct store *s, const char *ca, uint32_t serial, int64_t not_after)
{
	struct store_cert c;
	uint8_t tbs[64];

	testlib_store_cert(&c, ca, serial, not_after, tbs, sizeof(tbs));
	return store_cert_reserve(s, &c);
}

static void
serial5(uint32_t serial, uint8_t out[5])
{
	out[0] = 0x40;
	out[1] = (uint8_t)(serial >> 24);
	out[2] = (uint8_t)(serial >> 16);
	out[3] = (uint8_t)(serial >> 8);
	out[4] = (uint8_t)serial;
}

struct vres {
	struct store_verify_report rep;
	char msgs[4096];
	size_t progress_calls;
	size_t last_done, last_total;
};

static void
v_problem(const char *msg, void *arg)
{
	struct vres *r = arg;
	size_t n = strlen(r->msgs);

	(void)snprintf(r->msgs + n, sizeof(r->msgs) - n, "%s\n", msg);
}

static void
v_progress(size_t done, size_t total, void *arg)
{
	struct vres *r = arg;

	r->progress_calls++;
	r->last_done = done;
	r->last_total = total;
}

static void
verify(struct store *s, struct vres *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(store_verify(s, &r->rep, v_problem, v_progress, r),
	    PCA_OK);
}

static void
verify_clean(struct store *s)
{
	struct vres r;

	verify(s, &r);
	if (r.rep.errors != 0)
		fail_msg("verify found %zu problems:\n%s", r.rep.errors,
		    r.msgs);
}

/* Opens one named database of a closed store directly with LMDB. */
static MDB_env *
raw_open(const char *dir, const char *db, MDB_txn **txn, MDB_dbi *dbi)
{
	MDB_env *env = NULL;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, txn), 0);
	assert_int_equal(mdb_dbi_open(*txn, db, 0, dbi), 0);
	return env;
}

static void
raw_close(MDB_env *env, MDB_txn *txn)
{
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void
cert_key(const char *ca, uint32_t serial, uint8_t key[21])
{
	int i;
	unsigned x;

	for (i = 0; i < 16; i++) {
		while (*ca == '-')
			ca++;
		assert_int_equal(sscanf(ca, "%2x", &x), 1);
		key[i] = (uint8_t)x;
		ca += 2;
	}
	serial5(serial, key + 16);
}

/* ---- open, schema, read-only ---- */

static void
test_open_schema(void **state)
{
	char *dir = tmpdir();
	struct store_conf c = {dir, 0, 0, 0, 0};
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0), *s2 = NULL;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {6, "schema"}, v;
	uint8_t two[4] = {0, 0, 0, 2};

	(void)state;
	assert_int_equal(store_ca_put(s, CA1, "{}", 2, 1), PCA_OK);
	/* one env per process */
	assert_int_equal(store_open(&c, &s2), PCA_EBUSY);
	assert_null(s2);
	store_close(s);
	s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	verify_clean(s);
	store_close(s);
	/* a newer schema is refused, and nothing is written */
	env = raw_open(dir, "meta", &txn, &dbi);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_int_equal(v.mv_size, 4);
	v.mv_data = two;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	raw_close(env, txn);
	assert_int_equal(store_open(&c, &s2), PCA_EUNSUPPORTED);
	assert_non_null(strstr(pca_err_msg(), "schema version 2"));
	c.read_only = 1;
	assert_int_equal(store_open(&c, &s2), PCA_EUNSUPPORTED);
	/* a missing schema on a non-empty store is refused too */
	env = raw_open(dir, "meta", &txn, &dbi);
	assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	raw_close(env, txn);
	c.read_only = 0;
	assert_int_equal(store_open(&c, &s2), PCA_EDB);
	assert_non_null(strstr(pca_err_msg(), "no schema version"));
	/* bad configuration */
	c.map_size = 4 * MIB;
	c.map_max = 2 * MIB;
	assert_int_equal(store_open(&c, &s2), PCA_EINVAL);
	c.map_size = 0;
	c.map_max = 0;
	c.flags = 0x80;
	assert_int_equal(store_open(&c, &s2), PCA_EINVAL);
	assert_null(s2);
	rmtree(dir);
	free(dir);
}

static int
ca_cb_noop(const char *id, const char *json, size_t len, void *arg)
{
	(void)id;
	(void)json;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

static void
test_read_only(void **state)
{
	char *dir = tmpdir(), *missing = NULL;
	struct store_conf c = {NULL, 0, 0, 0, 1};
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0), *r = NULL;
	struct store_cert cert;
	uint8_t tbs[16], ser[5], h[32];
	uint64_t n;
	size_t cnt;
	char *json = NULL;
	int calls = 0;

	(void)state;
	assert_int_equal(store_ca_put(s, CA1, "{}", 2, 1), PCA_OK);
	assert_int_equal(reserve(s, CA1, 1, 1000), PCA_OK);
	assert_int_equal(store_counter_next(s, "crl", &n), PCA_OK);
	store_close(s);
	s = open_store(dir, 0, 0, 0, 1);
	assert_int_equal(store_ca_get(s, CA1, &json, &cnt), PCA_OK);
	assert_string_equal(json, "{}");
	free(json);
	assert_int_equal(store_ca_foreach(s, ca_cb_noop, &calls), PCA_OK);
	assert_int_equal(calls, 1);
	assert_int_equal(store_cert_count(s, NULL, &cnt), PCA_OK);
	assert_int_equal(cnt, 1);
	verify_clean(s);
	/* every write refuses */
	testlib_store_cert(&cert, CA1, 2, 1000, tbs, sizeof(tbs));
	serial5(1, ser);
	assert_int_equal(store_cert_reserve(s, &cert), PCA_EINVAL);
	assert_string_equal(pca_err_msg(), "store opened read-only");
	assert_int_equal(store_ca_put(s, CA2, "{}", 2, 1), PCA_EINVAL);
	assert_int_equal(store_ca_purge(s, CA1), PCA_EINVAL);
	assert_int_equal(store_cert_complete(s, CA1, ser, 5, tbs, 4),
	    PCA_EINVAL);
	assert_int_equal(store_cert_revoke(s, CA1, ser, 5, 5, 1), PCA_EINVAL);
	assert_int_equal(store_idem_put(s, "k", 10, "r", 1), PCA_EINVAL);
	assert_int_equal(store_counter_next(s, "crl", &n), PCA_EINVAL);
	assert_int_equal(store_audit_append(s, 1, "x", &n), PCA_EINVAL);
	assert_string_equal(pca_err_msg(), "store opened read-only");
	assert_int_equal(store_counter_get(s, "crl", &n), PCA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_audit_head(s, &n, h), PCA_OK);
	assert_int_equal(n, 0);
	store_close(s);
	/* read-only open of a store that does not exist */
	assert_true(asprintf(&missing, "%s/none", dir) > 0);
	c.path = missing;
	assert_int_equal(store_open(&c, &r), PCA_ENOTFOUND);
	free(missing);
	rmtree(dir);
	free(dir);
}

/* ---- CAs ---- */

struct ca_seen {
	char ids[4][37];
	char json[4][32];
	int n, stop_after;
};

static int
ca_cb(const char *id, const char *json, size_t len, void *arg)
{
	struct ca_seen *c = arg;

	assert_int_equal(strlen(json), len);
	(void)snprintf(c->ids[c->n], 37, "%s", id);
	(void)snprintf(c->json[c->n], 32, "%s", json);
	return ++c->n == c->stop_after;
}

static void
test_ca(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	struct ca_seen seen;
	char *json = NULL;
	size_t len, n;

	(void)state;
	assert_int_equal(store_ca_put(s, CA2, "{\"b\":1}", 7, 1), PCA_OK);
	assert_int_equal(store_ca_put(s, CA1, "{\"a\":1}", 7, 1), PCA_OK);
	assert_int_equal(store_ca_put(s, CA1, "{\"a\":2}", 7, 1), PCA_EEXISTS);
	assert_non_null(strstr(pca_err_msg(), CA1));
	assert_int_equal(store_ca_get(s, CA1, &json, &len), PCA_OK);
	assert_string_equal(json, "{\"a\":1}");
	free(json);
	assert_int_equal(store_ca_put(s, CA1, "{\"a\":22}", 8, 0), PCA_OK);
	assert_int_equal(store_ca_get(s, CA1, &json, &len), PCA_OK);
	assert_string_equal(json, "{\"a\":22}");
	assert_int_equal(len, 8);
	free(json);
	json = NULL;
	assert_int_equal(store_ca_get(s, CA3, &json, &len), PCA_ENOTFOUND);
	assert_null(json);
	assert_int_equal(store_ca_get(s, "not-a-uuid", &json, &len),
	    PCA_EINVAL);
	assert_int_equal(
	    store_ca_put(s, "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D", "{}", 2, 1),
	    PCA_EINVAL);
	assert_int_equal(store_ca_put(s, CA3, "", 0, 1), PCA_EINVAL);
	assert_int_equal(store_ca_count(s, &n), PCA_OK);
	assert_int_equal(n, 2);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_ca_foreach(s, ca_cb, &seen), PCA_OK);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.ids[0], CA1); /* id order */
	assert_string_equal(seen.json[0], "{\"a\":22}");
	assert_string_equal(seen.ids[1], CA2);
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 1;
	assert_int_equal(store_ca_foreach(s, ca_cb, &seen), PCA_OK);
	assert_int_equal(seen.n, 1);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* ---- certificates ---- */

struct cert_seen {
	uint32_t serials[64];
	int n;
	int states[64];
};

static int
cert_cb(const struct store_cert *c, void *arg)
{
	struct cert_seen *cs = arg;

	cs->serials[cs->n] = (uint32_t)c->serial[1] << 24 |
			     (uint32_t)c->serial[2] << 16 |
			     (uint32_t)c->serial[3] << 8 | c->serial[4];
	cs->states[cs->n] = c->state;
	cs->n++;
	return 0;
}

static void
test_cert_lifecycle(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	struct store_cert c, got;
	uint8_t tbs[100], tbs2[100], der[300], ser[5];

	(void)state;
	testlib_store_cert(&c, CA1, 7, 2000000000, tbs, sizeof(tbs));
	assert_int_equal(store_cert_reserve(s, &c), PCA_OK);
	assert_int_equal(store_cert_get(s, CA1, c.serial, 5, &got), PCA_OK);
	assert_string_equal(got.ca_id, CA1);
	assert_int_equal(got.state, STORE_CERT_PENDING);
	assert_int_equal(got.serial_len, 5);
	assert_memory_equal(got.serial, c.serial, 5);
	assert_int_equal(got.not_after, 2000000000);
	assert_int_equal(got.not_before, 2000000000 - 86400);
	assert_string_equal(got.template_name, "EndEntityCertificate/V1");
	assert_string_equal(got.requested_by, "test");
	assert_int_equal(got.tbs_len, sizeof(tbs));
	assert_memory_equal(got.tbs, tbs, sizeof(tbs));
	assert_null(got.der);
	assert_false(got.revoked);
	store_cert_clear(&got);
	/* duplicate serial: refused, the first record unchanged */
	testlib_store_cert(&c, CA1, 7, 1500000000, tbs2, sizeof(tbs2));
	memset(tbs2, 0xee, sizeof(tbs2));
	assert_int_equal(store_cert_reserve(s, &c), PCA_EEXISTS);
	assert_non_null(strstr(pca_err_msg(), "serial 4000000007"));
	assert_non_null(strstr(pca_err_msg(), CA1));
	assert_int_equal(store_cert_get(s, CA1, c.serial, 5, &got), PCA_OK);
	assert_int_equal(got.not_after, 2000000000);
	assert_memory_equal(got.tbs, tbs, sizeof(tbs));
	store_cert_clear(&got);
	/* complete */
	memset(der, 0x30, sizeof(der));
	assert_int_equal(
	    store_cert_complete(s, CA1, c.serial, 5, der, sizeof(der)), PCA_OK);
	assert_int_equal(store_cert_get(s, CA1, c.serial, 5, &got), PCA_OK);
	assert_int_equal(got.state, STORE_CERT_ISSUED);
	assert_int_equal(got.der_len, sizeof(der));
	assert_memory_equal(got.der, der, sizeof(der));
	assert_memory_equal(got.tbs, tbs, sizeof(tbs));
	store_cert_clear(&got);
	assert_int_equal(
	    store_cert_complete(s, CA1, c.serial, 5, der, sizeof(der)),
	    PCA_ESTATE);
	serial5(99, ser);
	assert_int_equal(store_cert_complete(s, CA1, ser, 5, der, sizeof(der)),
	    PCA_ENOTFOUND);
	assert_int_equal(store_cert_get(s, CA1, ser, 5, &got), PCA_ENOTFOUND);
	assert_int_equal(store_cert_get(s, CA1, ser, 0, &got), PCA_EINVAL);
	assert_int_equal(store_cert_get(s, CA1, ser, 21, &got), PCA_EINVAL);
	/* reserve refuses a DER or a missing TBS */
	testlib_store_cert(&c, CA1, 8, 100, tbs, sizeof(tbs));
	c.der = der;
	c.der_len = 1;
	assert_int_equal(store_cert_reserve(s, &c), PCA_EINVAL);
	c.der = NULL;
	c.der_len = 0;
	c.tbs_len = 0;
	assert_int_equal(store_cert_reserve(s, &c), PCA_EINVAL);
	store_close(s);
	rmtree(dir);
	free(dir);
}

static void
test_cert_foreach_count(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	struct cert_seen seen;
	uint8_t der[3] = {0x30, 1, 0}, ser[5];
	size_t n;

	(void)state;
	assert_int_equal(reserve(s, CA1, 7, 100), PCA_OK);
	serial5(7, ser);
	assert_int_equal(store_cert_complete(s, CA1, ser, 5, der, sizeof(der)),
	    PCA_OK);
	assert_int_equal(reserve(s, CA1, 3, 100), PCA_OK);
	assert_int_equal(reserve(s, CA1, 5, 100), PCA_OK);
	assert_int_equal(reserve(s, CA2, 1, 100), PCA_OK);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_cert_foreach(s, CA1, cert_cb, &seen), PCA_OK);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.serials[0], 3);
	assert_int_equal(seen.serials[1], 5);
	assert_int_equal(seen.serials[2], 7);
	assert_int_equal(seen.states[2], STORE_CERT_ISSUED);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_cert_foreach(s, NULL, cert_cb, &seen), PCA_OK);
	assert_int_equal(seen.n, 4);
	assert_int_equal(store_cert_count(s, CA1, &n), PCA_OK);
	assert_int_equal(n, 3);
	assert_int_equal(store_cert_count(s, CA2, &n), PCA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_cert_count(s, CA3, &n), PCA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_cert_count(s, NULL, &n), PCA_OK);
	assert_int_equal(n, 4);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* ---- revocations ---- */

struct rev_seen {
	uint32_t serials[16];
	int64_t when[16];
	int reason[16];
	int n;
};

static int
rev_cb(const uint8_t *serial, size_t len, int64_t when, int reason, void *arg)
{
	struct rev_seen *r = arg;

	assert_int_equal(len, 5);
	r->serials[r->n] = (uint32_t)serial[3] << 8 | serial[4];
	r->when[r->n] = when;
	r->reason[r->n] = reason;
	r->n++;
	return 0;
}

static void
test_revoke(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	struct store_cert got;
	struct rev_seen seen;
	uint8_t ser[5];
	uint32_t i;

	(void)state;
	for (i = 1; i <= 6; i++)
		assert_int_equal(reserve(s, CA1, i * 0x101, 100), PCA_OK);
	assert_int_equal(reserve(s, CA2, 0x101, 100), PCA_OK);
	/* revoke out of order; the stream comes back in serial order */
	serial5(5 * 0x101, ser);
	assert_int_equal(store_cert_revoke(s, CA1, ser, 5, 1700000005, 1),
	    PCA_OK);
	serial5(2 * 0x101, ser);
	assert_int_equal(store_cert_revoke(s, CA1, ser, 5, -5, 4), PCA_OK);
	assert_int_equal(store_cert_revoke(s, CA1, ser, 5, 9, 4), PCA_EALREADY);
	assert_non_null(strstr(pca_err_msg(), "already revoked"));
	serial5(0x101, ser);
	assert_int_equal(store_cert_revoke(s, CA2, ser, 5, 77, 0), PCA_OK);
	serial5(99, ser);
	assert_int_equal(store_cert_revoke(s, CA1, ser, 5, 1, 1),
	    PCA_ENOTFOUND);
	assert_int_equal(store_cert_revoke(s, CA3, ser, 5, 1, 1),
	    PCA_ENOTFOUND);
	serial5(0x101, ser);
	assert_int_equal(store_cert_revoke(s, CA1, ser, 5, 1, 11), PCA_EINVAL);
	assert_int_equal(store_cert_revoke(s, CA1, ser, 5, 1, -1), PCA_EINVAL);
	/* get carries the revocation */
	serial5(2 * 0x101, ser);
	assert_int_equal(store_cert_get(s, CA1, ser, 5, &got), PCA_OK);
	assert_true(got.revoked);
	assert_int_equal(got.revoked_at, -5);
	assert_int_equal(got.reason, 4);
	store_cert_clear(&got);
	serial5(3 * 0x101, ser);
	assert_int_equal(store_cert_get(s, CA1, ser, 5, &got), PCA_OK);
	assert_false(got.revoked);
	store_cert_clear(&got);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_revoked_foreach(s, CA1, rev_cb, &seen), PCA_OK);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.serials[0], 2 * 0x101);
	assert_int_equal(seen.when[0], -5);
	assert_int_equal(seen.reason[0], 4);
	assert_int_equal(seen.serials[1], 5 * 0x101);
	assert_int_equal(seen.when[1], 1700000005);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_revoked_foreach(s, CA2, rev_cb, &seen), PCA_OK);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.when[0], 77);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_revoked_foreach(s, CA3, rev_cb, &seen), PCA_OK);
	assert_int_equal(seen.n, 0);
	verify_clean(s);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* ---- expiry index ---- */

struct exp_seen {
	int64_t t[16];
	char ca[16][37];
	uint32_t serial[16];
	int n, stop_after;
};

static int
exp_cb(const char *ca, const uint8_t *serial, size_t len, int64_t t, void *arg)
{
	struct exp_seen *e = arg;

	assert_int_equal(len, 5);
	e->t[e->n] = t;
	(void)snprintf(e->ca[e->n], 37, "%s", ca);
	e->serial[e->n] = serial[4];
	return ++e->n == e->stop_after;
}

static void
test_expiry(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	struct exp_seen e;

	(void)state;
	assert_int_equal(reserve(s, CA1, 1, 300), PCA_OK);
	assert_int_equal(reserve(s, CA1, 2, 100), PCA_OK);
	assert_int_equal(reserve(s, CA2, 3, 200), PCA_OK);
	assert_int_equal(reserve(s, CA1, 4, -50), PCA_OK);
	assert_int_equal(reserve(s, CA1, 5, 200), PCA_OK);
	assert_int_equal(reserve(s, CA1, 6, INT64_MAX), PCA_OK);
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_expiry_foreach(s, 100, 300, exp_cb, &e), PCA_OK);
	assert_int_equal(e.n, 3); /* [100, 300): 300 excluded */
	assert_int_equal(e.t[0], 100);
	assert_int_equal(e.serial[0], 2);
	assert_int_equal(e.t[1], 200);
	assert_int_equal(e.t[2], 200);
	assert_string_equal(e.ca[1], CA1); /* same time: key order */
	assert_int_equal(e.serial[1], 5);
	assert_string_equal(e.ca[2], CA2);
	memset(&e, 0, sizeof(e));
	assert_int_equal(
	    store_expiry_foreach(s, INT64_MIN, INT64_MAX, exp_cb, &e), PCA_OK);
	assert_int_equal(e.n, 5);
	assert_int_equal(e.t[0], -50); /* negative times sort first */
	assert_int_equal(e.t[4], 300);
	memset(&e, 0, sizeof(e));
	e.stop_after = 2;
	assert_int_equal(
	    store_expiry_foreach(s, INT64_MIN, INT64_MAX, exp_cb, &e), PCA_OK);
	assert_int_equal(e.n, 2);
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_expiry_foreach(s, 301, 301, exp_cb, &e), PCA_OK);
	assert_int_equal(e.n, 0);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* ---- purge ---- */

static void
test_purge(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	struct exp_seen e;
	struct rev_seen r;
	uint8_t ser[5];
	char *json = NULL;
	size_t n, len;
	uint32_t i;

	(void)state;
	assert_int_equal(store_ca_put(s, CA1, "{}", 2, 1), PCA_OK);
	assert_int_equal(store_ca_put(s, CA2, "{}", 2, 1), PCA_OK);
	for (i = 1; i <= 10; i++) {
		assert_int_equal(reserve(s, CA1, i, 1000 + i), PCA_OK);
		assert_int_equal(reserve(s, CA2, i, 1000 + i), PCA_OK);
	}
	serial5(3, ser);
	assert_int_equal(store_cert_revoke(s, CA1, ser, 5, 5, 1), PCA_OK);
	assert_int_equal(store_cert_revoke(s, CA2, ser, 5, 5, 1), PCA_OK);
	assert_int_equal(store_ca_purge(s, CA1), PCA_OK);
	assert_int_equal(store_ca_get(s, CA1, &json, &len), PCA_ENOTFOUND);
	assert_int_equal(store_cert_count(s, CA1, &n), PCA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_cert_count(s, CA2, &n), PCA_OK);
	assert_int_equal(n, 10);
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_revoked_foreach(s, CA1, rev_cb, &r), PCA_OK);
	assert_int_equal(r.n, 0);
	assert_int_equal(store_revoked_foreach(s, CA2, rev_cb, &r), PCA_OK);
	assert_int_equal(r.n, 1);
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_expiry_foreach(s, 0, 5000, exp_cb, &e), PCA_OK);
	assert_int_equal(e.n, 10);
	for (i = 0; i < 10; i++)
		assert_string_equal(e.ca[i], CA2);
	assert_int_equal(store_ca_get(s, CA2, &json, &len), PCA_OK);
	free(json);
	assert_int_equal(store_ca_purge(s, CA1), PCA_ENOTFOUND);
	verify_clean(s);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* A CA whose certificate record is corrupt still purges completely. */
static void
test_purge_corrupt(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	struct exp_seen e;
	uint8_t key[21];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {sizeof(key), key}, v = {3, "bad"};

	(void)state;
	assert_int_equal(reserve(s, CA1, 1, 10), PCA_OK);
	assert_int_equal(reserve(s, CA1, 2, 20), PCA_OK);
	assert_int_equal(reserve(s, CA2, 2, 15), PCA_OK);
	store_close(s);
	cert_key(CA1, 2, key);
	env = raw_open(dir, "certs", &txn, &dbi);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	raw_close(env, txn);
	s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	assert_int_equal(store_ca_purge(s, CA1), PCA_OK);
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_expiry_foreach(s, 0, 100, exp_cb, &e), PCA_OK);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.ca[0], CA2);
	verify_clean(s);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* ---- idempotency and counters ---- */

static void
test_idem(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	char *res = NULL;

	(void)state;
	assert_int_equal(store_idem_get(s, "tok", 100, &res), PCA_ENOTFOUND);
	assert_int_equal(store_idem_put(s, "tok", 400, "arn:1", 100), PCA_OK);
	assert_int_equal(store_idem_get(s, "tok", 399, &res), PCA_OK);
	assert_string_equal(res, "arn:1");
	free(res);
	res = NULL;
	assert_int_equal(store_idem_put(s, "tok", 900, "arn:2", 399),
	    PCA_EEXISTS);
	assert_int_equal(store_idem_get(s, "tok", 400, &res), PCA_ENOTFOUND);
	assert_null(res);
	/* expired: replaced */
	assert_int_equal(store_idem_put(s, "tok", 900, "arn:2", 400), PCA_OK);
	assert_int_equal(store_idem_get(s, "tok", 500, &res), PCA_OK);
	assert_string_equal(res, "arn:2");
	free(res);
	assert_int_equal(store_idem_put(s, "", 900, "x", 1), PCA_EINVAL);
	assert_int_equal(store_idem_put(s, "k2", 900, NULL, 1), PCA_EINVAL);
	assert_int_equal(store_idem_put(s, "k2", 900, "", 1), PCA_OK);
	assert_int_equal(store_idem_get(s, "k2", 1, &res), PCA_OK);
	assert_string_equal(res, "");
	free(res);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* A reservation that claims a token: one winner, the rest see its result. */
static void
test_idem_claim(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	struct store_idem_claim cl = {"scope|tok", "d arn:1", 400, 100};
	struct store_cert c, got;
	uint8_t tbs[32];
	char *ex = NULL, *res = NULL;
	size_t n = 0;

	(void)state;
	testlib_store_cert(&c, CA1, 1, 10000, tbs, sizeof(tbs));
	assert_int_equal(store_cert_reserve_claim(s, &c, &cl, &ex), PCA_OK);
	assert_null(ex);
	assert_int_equal(store_idem_get(s, "scope|tok", 101, &res), PCA_OK);
	assert_string_equal(res, "d arn:1");
	free(res);
	/* a second claim: nothing reserved, the first result handed back */
	testlib_store_cert(&c, CA1, 2, 10000, tbs, sizeof(tbs));
	cl.result = "d arn:2";
	assert_int_equal(store_cert_reserve_claim(s, &c, &cl, &ex),
	    PCA_EALREADY);
	assert_string_equal(ex, "d arn:1");
	free(ex);
	ex = NULL;
	assert_int_equal(store_cert_get(s, CA1, c.serial, c.serial_len, &got),
	    PCA_ENOTFOUND);
	/* a serial collision leaves no claim behind */
	testlib_store_cert(&c, CA1, 1, 10000, tbs, sizeof(tbs));
	cl.key = "scope|tok2";
	assert_int_equal(store_cert_reserve_claim(s, &c, &cl, &ex),
	    PCA_EEXISTS);
	assert_int_equal(store_idem_get(s, "scope|tok2", 101, &res),
	    PCA_ENOTFOUND);
	/* release: only the holder's own result goes */
	assert_int_equal(store_idem_release(s, "scope|tok", "d arn:2"), PCA_OK);
	assert_int_equal(store_idem_get(s, "scope|tok", 101, &res), PCA_OK);
	free(res);
	assert_int_equal(store_idem_release(s, "scope|tok", "d arn:1"), PCA_OK);
	assert_int_equal(store_idem_get(s, "scope|tok", 101, &res),
	    PCA_ENOTFOUND);
	assert_int_equal(store_idem_release(s, "scope|tok", "d arn:1"), PCA_OK);
	/* released or expired: claimable again */
	testlib_store_cert(&c, CA1, 3, 10000, tbs, sizeof(tbs));
	cl.key = "scope|tok";
	cl.result = "d arn:3";
	assert_int_equal(store_cert_reserve_claim(s, &c, &cl, &ex), PCA_OK);
	testlib_store_cert(&c, CA1, 4, 10000, tbs, sizeof(tbs));
	cl.now = 400;
	cl.expires = 700;
	cl.result = "d arn:4";
	assert_int_equal(store_cert_reserve_claim(s, &c, &cl, &ex), PCA_OK);
	assert_int_equal(store_cert_count(s, CA1, &n), PCA_OK);
	assert_int_equal(n, 3);
	store_close(s);
	rmtree(dir);
	free(dir);
}

#define CLAIM_THREADS 16

struct claim_thread {
	struct store *s;
	int i;
	pca_err err;
	char *existing;
};

static void *
claim_thread(void *arg)
{
	struct claim_thread *t = arg;
	struct store_cert c;
	uint8_t tbs[32];
	char res[32];
	struct store_idem_claim cl = {"scope|race", res, 1000, 100};

	(void)snprintf(res, sizeof(res), "d arn:%d", t->i);
	testlib_store_cert(&c, CA2, (uint32_t)t->i + 1, 10000, tbs,
	    sizeof(tbs));
	t->err = store_cert_reserve_claim(t->s, &c, &cl, &t->existing);
	return NULL;
}

/* Concurrent claims of one token (group commit): exactly one reserves. */
static void
test_idem_claim_race(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, 0, 0);
	struct claim_thread t[CLAIM_THREADS];
	pthread_t th[CLAIM_THREADS];
	char *res = NULL;
	size_t n = 0;
	int i, won = 0;

	(void)state;
	for (i = 0; i < CLAIM_THREADS; i++) {
		t[i] = (struct claim_thread){s, i, PCA_OK, NULL};
		assert_int_equal(
		    pthread_create(&th[i], NULL, claim_thread, &t[i]), 0);
	}
	for (i = 0; i < CLAIM_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(store_idem_get(s, "scope|race", 101, &res), PCA_OK);
	for (i = 0; i < CLAIM_THREADS; i++) {
		if (t[i].err == PCA_OK) {
			won++;
			assert_null(t[i].existing);
		} else {
			assert_int_equal(t[i].err, PCA_EALREADY);
			assert_string_equal(t[i].existing, res);
		}
		free(t[i].existing);
	}
	assert_int_equal(won, 1);
	assert_int_equal(store_cert_count(s, CA2, &n), PCA_OK);
	assert_int_equal(n, 1);
	free(res);
	store_close(s);
	rmtree(dir);
	free(dir);
}

static void
test_counters(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, 0, 0);
	uint64_t v;
	int i;

	(void)state;
	assert_int_equal(store_counter_get(s, "crl", &v), PCA_OK);
	assert_int_equal(v, 0);
	for (i = 1; i <= 3; i++) {
		assert_int_equal(store_counter_next(s, "crl", &v), PCA_OK);
		assert_int_equal(v, (uint64_t)i);
	}
	assert_int_equal(store_counter_next(s, "other", &v), PCA_OK);
	assert_int_equal(v, 1);
	assert_int_equal(store_counter_next(s, "", &v), PCA_EINVAL);
	store_close(s);
	s = open_store(dir, 0, 0, 0, 0);
	assert_int_equal(store_counter_get(s, "crl", &v), PCA_OK);
	assert_int_equal(v, 3);
	assert_int_equal(store_counter_next(s, "crl", &v), PCA_OK);
	assert_int_equal(v, 4);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* ---- audit ---- */

struct audit_seen {
	uint64_t seq[8];
	int64_t when[8];
	char text[8][32];
	uint8_t prev[8][32];
	int n;
};

static int
audit_cb(uint64_t seq, int64_t when, const char *text, const uint8_t prev[32],
    void *arg)
{
	struct audit_seen *a = arg;

	a->seq[a->n] = seq;
	a->when[a->n] = when;
	(void)snprintf(a->text[a->n], 32, "%s", text);
	memcpy(a->prev[a->n], prev, 32);
	a->n++;
	return 0;
}

/* hash_n = SHA-256(seq_be || prev || when_be || text), computed here */
static void
audit_hash(uint64_t seq, const uint8_t prev[32], int64_t when, const char *text,
    uint8_t out[32])
{
	uint8_t b[8 + 32 + 8 + 32];
	size_t n = strlen(text);
	int i;

	for (i = 0; i < 8; i++) {
		b[i] = (uint8_t)(seq >> (56 - 8 * i));
		b[40 + i] = (uint8_t)((uint64_t)when >> (56 - 8 * i));
	}
	memcpy(b + 8, prev, 32);
	memcpy(b + 48, text, n);
	SHA256(b, 48 + n, out);
}

static void
test_audit(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, 0, 0);
	const char *texts[] = {"issue serial=01", "revoke serial=01",
	    "crl number=1"};
	struct audit_seen a;
	uint8_t h[32], want[32], zero[32];
	uint64_t seq;
	struct vres r;
	int i;

	(void)state;
	memset(zero, 0, sizeof(zero));
	assert_int_equal(store_audit_head(s, &seq, h), PCA_OK);
	assert_int_equal(seq, 0);
	assert_memory_equal(h, zero, 32);
	for (i = 0; i < 3; i++) {
		assert_int_equal(
		    store_audit_append(s, 1000 + i, texts[i], &seq), PCA_OK);
		assert_int_equal(seq, (uint64_t)i + 1);
	}
	store_close(s);
	s = open_store(dir, 0, 0, 0, 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(store_audit_foreach(s, 1, audit_cb, &a), PCA_OK);
	assert_int_equal(a.n, 3);
	assert_memory_equal(a.prev[0], zero, 32);
	for (i = 0; i < 3; i++) {
		assert_int_equal(a.seq[i], (uint64_t)i + 1);
		assert_int_equal(a.when[i], 1000 + i);
		assert_string_equal(a.text[i], texts[i]);
		audit_hash(a.seq[i], a.prev[i], a.when[i], a.text[i], want);
		if (i < 2)
			assert_memory_equal(a.prev[i + 1], want, 32);
	}
	assert_int_equal(store_audit_head(s, &seq, h), PCA_OK);
	assert_int_equal(seq, 3);
	assert_memory_equal(h, want, 32);
	memset(&a, 0, sizeof(a));
	assert_int_equal(store_audit_foreach(s, 2, audit_cb, &a), PCA_OK);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.seq[0], 2);
	assert_int_equal(store_audit_append(s, 1, NULL, &seq), PCA_EINVAL);
	verify(s, &r);
	assert_int_equal(r.rep.errors, 0);
	assert_int_equal(r.rep.audit_entries, 3);
	assert_int_equal(r.last_done, 3);
	assert_int_equal(r.last_total, 3);
	store_close(s);
	rmtree(dir);
	free(dir);
}

static void
audit_setup(const char *dir, int entries)
{
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	char text[32];
	uint64_t seq;
	int i;

	for (i = 1; i <= entries; i++) {
		(void)snprintf(text, sizeof(text), "event number %d", i);
		assert_int_equal(store_audit_append(s, i, text, &seq), PCA_OK);
	}
	verify_clean(s);
	store_close(s);
}

static void
test_audit_tamper(void **state)
{
	char *dir = tmpdir();
	struct store *s;
	uint8_t key[8] = {0, 0, 0, 0, 0, 0, 0, 3}, buf[128];
	MDB_val k = {8, key}, v;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	struct vres r;

	(void)state;
	/* change one character of entry 3's text */
	audit_setup(dir, 5);
	env = raw_open(dir, "audit", &txn, &dbi);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_true(v.mv_size <= sizeof(buf));
	memcpy(buf, v.mv_data, v.mv_size);
	buf[v.mv_size - 1] ^= 1;
	v.mv_data = buf;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	raw_close(env, txn);
	s = open_store(dir, 0, 0, 0, 1);
	verify(s, &r);
	assert_int_equal(r.rep.errors, 1);
	assert_non_null(strstr(r.msgs, "entry 4 does not carry the hash of "
				       "entry 3"));
	store_close(s);
	rmtree(dir);
	/* delete entry 3 */
	assert_int_equal(mkdir(dir, 0700), 0);
	audit_setup(dir, 5);
	env = raw_open(dir, "audit", &txn, &dbi);
	assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	raw_close(env, txn);
	s = open_store(dir, 0, 0, 0, 1);
	verify(s, &r);
	assert_true(r.rep.errors >= 1);
	assert_non_null(strstr(r.msgs, "entry 4 follows entry 2"));
	store_close(s);
	rmtree(dir);
	/* delete the last entry: only the head in meta shows it */
	assert_int_equal(mkdir(dir, 0700), 0);
	audit_setup(dir, 5);
	key[7] = 5;
	env = raw_open(dir, "audit", &txn, &dbi);
	assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	raw_close(env, txn);
	s = open_store(dir, 0, 0, 0, 1);
	verify(s, &r);
	assert_int_equal(r.rep.errors, 1);
	assert_non_null(strstr(r.msgs, "audit head does not match"));
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* ---- corruption and index consistency ---- */

/*
 * Damages a closed store of CA1 serials 1..6 (all notAfter 5000): serial 2
 * a length past the value, 3 an unknown version, 4 ISSUED without DER, 5
 * removed but indexed and revoked, 6 unindexed, and an index entry for 77.
 */
static void
corrupt_store(const char *dir)
{
	uint8_t key[21], ek[29], rv[13] = {1}, *rec;
	MDB_val k = {sizeof(key), key}, v, e = {sizeof(ek), ek}, x = {0, ""};
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	env = raw_open(dir, "certs", &txn, &dbi);
	cert_key(CA1, 2, key);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	rec = malloc(v.mv_size);
	assert_non_null(rec);
	memcpy(rec, v.mv_data, v.mv_size);
	rec[28] = 0x7f; /* high byte of the TBS length */
	v.mv_data = rec;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	cert_key(CA1, 3, key);
	rec[28] = 0;
	rec[0] = 9;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	cert_key(CA1, 4, key);
	rec[0] = 1;
	rec[1] = STORE_CERT_ISSUED;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	free(rec);
	cert_key(CA1, 5, key);
	assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(mdb_dbi_open(txn, "revoked", 0, &dbi), 0);
	v.mv_size = sizeof(rv);
	v.mv_data = rv;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_dbi_open(txn, "expiry", 0, &dbi), 0);
	memset(ek, 0, 8);
	ek[0] = 0x80; /* 5000 with the sign bit flipped */
	ek[6] = 5000 >> 8;
	ek[7] = 5000 & 0xff;
	cert_key(CA1, 6, ek + 8);
	assert_int_equal(mdb_del(txn, dbi, &e, NULL), 0);
	cert_key(CA1, 77, ek + 8);
	assert_int_equal(mdb_put(txn, dbi, &e, &x, 0), 0);
	raw_close(env, txn);
}

static void
test_verify_corrupt(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	struct store_cert got;
	struct cert_seen seen;
	uint8_t ser[5], der[10] = {0x30};
	struct vres r;
	uint32_t i;

	(void)state;
	for (i = 1; i <= 6; i++)
		assert_int_equal(reserve(s, CA1, i, 5000), PCA_OK);
	serial5(1, ser);
	assert_int_equal(store_cert_complete(s, CA1, ser, 5, der, sizeof(der)),
	    PCA_OK);
	verify(s, &r);
	assert_int_equal(r.rep.errors, 0);
	assert_int_equal(r.rep.certs, 6);
	assert_int_equal(r.rep.pending, 5);
	assert_true(r.progress_calls >= 2);
	assert_int_equal(r.last_done, 6);
	store_close(s);
	corrupt_store(dir);
	s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	verify(s, &r);
	assert_int_equal(r.rep.certs, 5);
	assert_int_equal(r.rep.revoked, 1);
	assert_int_equal(r.rep.errors, 8);
	/* serial 4 made ISSUED behind the store's back has no 'v' entry */
	assert_non_null(strstr(r.msgs, "serial 4000000004: missing from the "
				       "inventory index"));
	assert_non_null(strstr(r.msgs, "CA " CA1 " serial 4000000002: record "
				       "lengths"));
	assert_non_null(strstr(r.msgs, "serial 4000000003: record version 9"));
	assert_non_null(strstr(r.msgs, "serial 4000000004: ISSUED without"));
	assert_non_null(
	    strstr(r.msgs, "expiry index entry for certificate "
			   "CA " CA1 " serial 4000000005: no such"));
	assert_non_null(strstr(r.msgs,
	    "revocation of certificate CA " CA1 " serial 4000000005: no such"));
	assert_non_null(strstr(r.msgs, "serial 4000000006: no expiry index"));
	assert_non_null(strstr(r.msgs, "serial 400000004d: no such"));
	/* reading the corrupt record fails cleanly and names it */
	serial5(2, ser);
	assert_int_equal(store_cert_get(s, CA1, ser, 5, &got), PCA_EDB);
	assert_non_null(strstr(pca_err_msg(), "CA " CA1 " serial 4000000002"));
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_cert_foreach(s, CA1, cert_cb, &seen), PCA_EDB);
	assert_int_equal(seen.n, 1); /* serial 1, then serial 2 fails */
	assert_int_equal(store_cert_complete(s, CA1, ser, 5, der, sizeof(der)),
	    PCA_EDB);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* ---- iteration callbacks ---- */

struct cb_ctx {
	struct store *s;
	pca_err write_err, read_err;
};

static int
ca_cb_reenter(const char *id, const char *json, size_t len, void *arg)
{
	struct cb_ctx *c = arg;
	char *j = NULL;
	size_t n;

	(void)json;
	(void)len;
	c->write_err = store_ca_put(c->s, CA3, "{}", 2, 1);
	c->read_err = store_ca_get(c->s, id, &j, &n);
	free(j);
	return 1;
}

static void
test_callback_reentry(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	struct cb_ctx c = {s, PCA_OK, PCA_EINTERNAL};
	size_t n;

	(void)state;
	assert_int_equal(store_ca_put(s, CA1, "{}", 2, 1), PCA_OK);
	assert_int_equal(store_ca_foreach(s, ca_cb_reenter, &c), PCA_OK);
	assert_int_equal(c.write_err, PCA_EINVAL);
	assert_int_equal(c.read_err, PCA_OK);
	/* and writes work again once the iteration is over */
	assert_int_equal(store_ca_put(s, CA3, "{}", 2, 1), PCA_OK);
	assert_int_equal(store_ca_count(s, &n), PCA_OK);
	assert_int_equal(n, 2);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* ---- group commit ---- */

#define GC_THREADS 8
#define GC_PER 2000
#define GC_DUPS 3  /* per thread */
#define GC_SIDE 50 /* counter and audit ops per thread */

struct gc_thread {
	struct store *s;
	int id;
	int ok, dup_ok, dup_msg_ok, other_err;
	uint64_t counters[GC_SIDE];
	char last_err[256];
};

static uint32_t
dup_serial(int thread, int k)
{
	return 0x7f000000u | (uint32_t)(thread * 16 + k);
}

static void *
gc_worker(void *arg)
{
	struct gc_thread *t = arg;
	char want[64], text[64];
	uint64_t seq;
	pca_err e;
	int j;

	for (j = 0; j < GC_PER; j++) {
		e = reserve(t->s, CA1, (uint32_t)(t->id * GC_PER + j),
		    1000 + j);
		if (e == PCA_OK)
			t->ok++;
		else {
			t->other_err++;
			(void)snprintf(t->last_err, sizeof(t->last_err), "%s",
			    pca_err_msg());
		}
		if (j % (GC_PER / GC_DUPS) == 7) {
			int k = j / (GC_PER / GC_DUPS);

			e = reserve(t->s, CA1, dup_serial(t->id, k), 5);
			(void)snprintf(want, sizeof(want), "serial 40%08x",
			    dup_serial(t->id, k));
			if (e == PCA_EEXISTS)
				t->dup_ok++;
			if (e == PCA_EEXISTS &&
			    strstr(pca_err_msg(), "already exists") != NULL &&
			    strstr(pca_err_msg(), want) != NULL)
				t->dup_msg_ok++;
		}
		if (j % (GC_PER / GC_SIDE) == 0) {
			if (store_counter_next(t->s, "gc",
				&t->counters[j / (GC_PER / GC_SIDE)]) != PCA_OK)
				t->other_err++;
			(void)snprintf(text, sizeof(text), "t%d j%d", t->id, j);
			if (store_audit_append(t->s, j, text, &seq) != PCA_OK)
				t->other_err++;
		}
	}
	return NULL;
}

static int
u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_group_commit(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	struct gc_thread t[GC_THREADS];
	pthread_t tid[GC_THREADS];
	uint64_t all[GC_THREADS * GC_SIDE], v;
	struct vres r;
	size_t n;
	int i, k;

	(void)state;
	/* the duplicates' first copies, recorded before the race */
	for (i = 0; i < GC_THREADS; i++)
		for (k = 0; k < GC_DUPS; k++)
			assert_int_equal(reserve(s, CA1, dup_serial(i, k), 5),
			    PCA_OK);
	memset(t, 0, sizeof(t));
	for (i = 0; i < GC_THREADS; i++) {
		t[i].s = s;
		t[i].id = i;
		assert_int_equal(
		    pthread_create(&tid[i], NULL, gc_worker, &t[i]), 0);
	}
	for (i = 0; i < GC_THREADS; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	for (i = 0; i < GC_THREADS; i++) {
		if (t[i].other_err != 0)
			fail_msg("thread %d: %d failures, last: %s", i,
			    t[i].other_err, t[i].last_err);
		assert_int_equal(t[i].ok, GC_PER);
		assert_int_equal(t[i].dup_ok, GC_DUPS);
		assert_int_equal(t[i].dup_msg_ok, GC_DUPS);
		memcpy(all + i * GC_SIDE, t[i].counters, sizeof(t[i].counters));
	}
	/* every counter value handed out once: 1..N */
	qsort(all, GC_THREADS * GC_SIDE, sizeof(all[0]), u64cmp);
	for (i = 0; i < GC_THREADS * GC_SIDE; i++)
		assert_int_equal(all[i], (uint64_t)i + 1);
	store_close(s);
	s = open_store(dir, 0, 0, STORE_NOSYNC, 0);
	assert_int_equal(store_cert_count(s, CA1, &n), PCA_OK);
	assert_int_equal(n, GC_THREADS * GC_PER + GC_THREADS * GC_DUPS);
	assert_int_equal(store_counter_get(s, "gc", &v), PCA_OK);
	assert_int_equal(v, GC_THREADS * GC_SIDE);
	verify(s, &r);
	assert_int_equal(r.rep.errors, 0);
	assert_int_equal(r.rep.audit_entries, GC_THREADS * GC_SIDE);
	assert_int_equal(r.rep.pending, n);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* ---- map growth and exhaustion ---- */

/* Reserves certificates with big TBSes until a failure or max; returns n. */
static size_t
fill(struct store *s, const char *ca, size_t tbs_len, size_t max, pca_err *e)
{
	struct store_cert c;
	uint8_t *tbs = malloc(tbs_len);
	size_t i;

	assert_non_null(tbs);
	*e = PCA_OK;
	for (i = 0; i < max; i++) {
		testlib_store_cert(&c, ca, (uint32_t)i, 1000 + (int64_t)i, tbs,
		    tbs_len);
		if ((*e = store_cert_reserve(s, &c)) != PCA_OK)
			break;
	}
	free(tbs);
	return i;
}

static void
check_first(struct store *s, const char *ca, size_t tbs_len)
{
	struct store_cert got;
	uint8_t ser[5];

	serial5(0, ser);
	assert_int_equal(store_cert_get(s, ca, ser, 5, &got), PCA_OK);
	assert_int_equal(got.tbs_len, tbs_len);
	assert_int_equal(got.tbs[tbs_len - 1], 0);
	store_cert_clear(&got);
}

static void
test_map_growth(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, MIB, 64 * MIB, STORE_NOSYNC, 0);
	struct stat st;
	char *file = NULL;
	size_t n;
	pca_err e;

	(void)state;
	/* 2000 x 4 KiB: about 8 MiB through a map that starts at 1 MiB */
	assert_int_equal(fill(s, CA1, 4096, 2000, &e), 2000);
	assert_int_equal(e, PCA_OK);
	store_close(s);
	assert_true(asprintf(&file, "%s/data.mdb", dir) > 0);
	assert_int_equal(stat(file, &st), 0);
	assert_true((size_t)st.st_size > 8 * MIB);
	free(file);
	s = open_store(dir, MIB, 64 * MIB, STORE_NOSYNC, 0);
	assert_int_equal(store_cert_count(s, NULL, &n), PCA_OK);
	assert_int_equal(n, 2000);
	check_first(s, CA1, 4096);
	verify_clean(s);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* Resizes under concurrent writers and readers (nested reads included). */
struct grow_thread {
	struct store *s;
	int id;
	atomic_int *stop;
	int err;
	size_t reads;
	char msg[256];
};

static void *
grow_writer(void *arg)
{
	struct grow_thread *t = arg;
	struct store_cert c;
	static _Thread_local uint8_t tbs[4096];
	uint32_t i;

	for (i = 0; i < 300 && t->err == 0; i++) {
		testlib_store_cert(&c, CA1, (uint32_t)t->id << 16 | i, 1000,
		    tbs, sizeof(tbs));
		if (store_cert_reserve(t->s, &c) != PCA_OK) {
			t->err = 1;
			(void)snprintf(t->msg, sizeof(t->msg), "%s",
			    pca_err_msg());
		}
	}
	return NULL;
}

static int
grow_cb(const struct store_cert *c, void *arg)
{
	struct grow_thread *t = arg;
	struct store_cert got;

	/* a read from inside an iteration: must not deadlock on a resize */
	if (store_cert_get(t->s, c->ca_id, c->serial, c->serial_len, &got) !=
	    PCA_OK)
		t->err = 1;
	else
		store_cert_clear(&got);
	return ++t->reads % 50 == 0;
}

static void *
grow_reader(void *arg)
{
	struct grow_thread *t = arg;
	size_t n;

	while (!atomic_load(t->stop) && t->err == 0)
		if (store_cert_count(t->s, NULL, &n) != PCA_OK ||
		    store_cert_foreach(t->s, NULL, grow_cb, t) != PCA_OK)
			t->err = 1;
	return NULL;
}

static void
test_growth_concurrent(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, MIB, 256 * MIB, STORE_NOSYNC, 0);
	struct grow_thread t[6];
	pthread_t tid[6];
	atomic_int stop = 0;
	size_t n;
	int i;

	(void)state;
	memset(t, 0, sizeof(t));
	for (i = 0; i < 6; i++) {
		t[i].s = s;
		t[i].id = i;
		t[i].stop = &stop;
		assert_int_equal(pthread_create(&tid[i], NULL,
				     i < 4 ? grow_writer : grow_reader, &t[i]),
		    0);
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	atomic_store(&stop, 1);
	for (i = 4; i < 6; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	for (i = 0; i < 6; i++)
		if (t[i].err != 0)
			fail_msg("thread %d failed: %s", i, t[i].msg);
	assert_int_equal(store_cert_count(s, NULL, &n), PCA_OK);
	assert_int_equal(n, 4 * 300);
	verify_clean(s);
	store_close(s);
	rmtree(dir);
	free(dir);
}

static void
test_map_full(void **state)
{
	char *dir = tmpdir();
	struct store *s = open_store(dir, MIB, 3 * MIB, STORE_NOSYNC, 0);
	size_t n, got;
	uint64_t v;
	pca_err e;

	(void)state;
	assert_int_equal(store_counter_next(s, "c", &v), PCA_OK);
	n = fill(s, CA1, 4096, 100000, &e);
	assert_int_equal(e, PCA_EDBFULL);
	assert_non_null(strstr(pca_err_msg(), "store is full"));
	assert_non_null(strstr(pca_err_msg(), "of 3145728 maximum"));
	assert_true(n > 100);
	/* still serving: reads work, small writes may or may not fit */
	assert_int_equal(store_cert_count(s, NULL, &got), PCA_OK);
	assert_int_equal(got, n);
	store_close(s);
	s = open_store(dir, MIB, 3 * MIB, STORE_NOSYNC, 0);
	assert_int_equal(store_cert_count(s, NULL, &got), PCA_OK);
	assert_int_equal(got, n);
	check_first(s, CA1, 4096);
	assert_int_equal(store_counter_get(s, "c", &v), PCA_OK);
	assert_int_equal(v, 1);
	verify_clean(s);
	store_close(s);
	/* a larger maximum lets issuance resume */
	s = open_store(dir, MIB, 8 * MIB, STORE_NOSYNC, 0);
	assert_int_equal(reserve(s, CA2, 1, 1), PCA_OK);
	verify_clean(s);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* ---- filesystem failures ---- */

static void
test_disk_full(void **state)
{
	char *dir = *state;
	struct store *s;
	size_t n, got;
	pca_err e;

	/* fsync on: a real commit path */
	s = open_store(dir, MIB, 64 * MIB, 0, 0);
	n = fill(s, CA1, 8192, 100000, &e);
	assert_int_equal(e, PCA_EIO);
	/* LMDB turns the short write at the end of the disk into EIO */
	assert_true(strstr(pca_err_msg(), "No space left on device") != NULL ||
		    strstr(pca_err_msg(), "Input/output error") != NULL);
	assert_non_null(strstr(pca_err_msg(), " bytes free on the filesystem"));
	assert_true(n > 10);
	assert_int_equal(store_cert_count(s, NULL, &got), PCA_OK);
	assert_int_equal(got, n);
	store_close(s);
	/* room again: everything that was acknowledged is there */
	assert_int_equal(
	    mount("tmpfs", dir, "tmpfs", MS_REMOUNT, "size=32m,mode=0700"), 0);
	s = open_store(dir, MIB, 64 * MIB, 0, 0);
	assert_int_equal(store_cert_count(s, NULL, &got), PCA_OK);
	assert_int_equal(got, n);
	check_first(s, CA1, 8192);
	verify_clean(s);
	assert_int_equal(reserve(s, CA2, 1, 1), PCA_OK);
	store_close(s);
}

static void
test_readonly_fs(void **state)
{
	char *dir = *state;
	struct store_conf c = {dir, 0, 0, 0, 0};
	struct store *s = NULL;
	size_t n;

	s = open_store(dir, MIB, 0, 0, 0);
	assert_int_equal(reserve(s, CA1, 1, 1), PCA_OK);
	store_close(s);
	s = NULL;
	assert_int_equal(
	    mount("tmpfs", dir, "tmpfs", MS_REMOUNT | MS_RDONLY, "size=2m"), 0);
	assert_int_equal(store_open(&c, &s), PCA_EIO);
	assert_non_null(strstr(pca_err_msg(), "Read-only file system"));
	assert_null(s);
	/* a read-only open still works, without a lock file */
	s = open_store(dir, 0, 0, 0, 1);
	assert_int_equal(store_cert_count(s, NULL, &n), PCA_OK);
	assert_int_equal(n, 1);
	verify_clean(s);
	store_close(s);
}

/*
 * RLIMIT_FSIZE with SIGXFSZ ignored makes writes past the limit fail with
 * EFBIG: a disk-full stand-in that needs no privilege.  The limit applies
 * to the whole process, so the filling runs in a child.
 */
static void
efbig_child(const char *dir, int fd)
{
	struct store_conf conf = {dir, MIB, 64 * MIB, 0, 0};
	struct store *s = NULL;
	struct store_cert c;
	struct rlimit rl;
	struct stat st;
	static uint8_t tbs[8192];
	char file[512];
	size_t n;
	pca_err e = PCA_OK;
	int code;

	(void)snprintf(file, sizeof(file), "%s/data.mdb", dir);
	if (store_open(&conf, &s) != PCA_OK || stat(file, &st) != 0)
		_exit(2);
	(void)signal(SIGXFSZ, SIG_IGN);
	rl.rlim_cur = rl.rlim_max = (rlim_t)st.st_size + 512 * 1024;
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		_exit(3);
	for (n = 0; n < 100000 && e == PCA_OK; n++) {
		testlib_store_cert(&c, CA1, (uint32_t)n, 1000, tbs,
		    sizeof(tbs));
		e = store_cert_reserve(s, &c);
	}
	n--;
	/* EFBIG, or EIO when LMDB sees a short write at the limit */
	code = e != PCA_EIO ? 4
	       : strstr(pca_err_msg(), "File too large") == NULL &&
		       strstr(pca_err_msg(), "Input/output error") == NULL
		   ? 5
		   : 0;
	if (write(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		code = 6;
	store_close(s);
	_exit(code);
}

static void
test_efbig(void **state)
{
	char *dir = tmpdir();
	struct store *s;
	int fds[2], status;
	size_t n = 0, got;
	pid_t pid;

	(void)state;
	s = open_store(dir, MIB, 64 * MIB, 0, 0);
	store_close(s);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		efbig_child(dir, fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(read(fds[0], &n, sizeof(n)), sizeof(n));
	(void)close(fds[0]);
	(void)close(fds[1]);
	assert_true(n > 10);
	s = open_store(dir, MIB, 64 * MIB, 0, 0);
	assert_int_equal(store_cert_count(s, NULL, &got), PCA_OK);
	assert_int_equal(got, n);
	verify_clean(s);
	assert_int_equal(reserve(s, CA2, 1, 1), PCA_OK);
	store_close(s);
	rmtree(dir);
	free(dir);
}

/* ---- throughput (printed, not asserted) ---- */

struct tp_thread {
	struct store *s;
	int id;
	atomic_int *stop;
	size_t n;
	int err;
};

static void *
tp_worker(void *arg)
{
	struct tp_thread *t = arg;
	struct store_cert c;
	uint8_t tbs[700];

	while (!atomic_load(t->stop)) {
		testlib_store_cert(&c, CA1,
		    (uint32_t)(t->id << 24) | (uint32_t)t->n, 1000, tbs,
		    sizeof(tbs));
		if (store_cert_reserve(t->s, &c) != PCA_OK) {
			t->err = 1;
			break;
		}
		t->n++;
	}
	return NULL;
}

static double
tp_run(const char *dir, int base, int threads, double secs)
{
	struct store *s = open_store(dir, 0, 0, 0, 0); /* fsync on */
	struct tp_thread t[GC_THREADS];
	pthread_t tid[GC_THREADS];
	struct timespec a, b;
	atomic_int stop = 0;
	size_t total = 0;
	double el;
	int i;

	memset(t, 0, sizeof(t));
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &a), 0);
	for (i = 0; i < threads; i++) {
		t[i].s = s;
		t[i].id = base + i;
		t[i].stop = &stop;
		assert_int_equal(
		    pthread_create(&tid[i], NULL, tp_worker, &t[i]), 0);
	}
	(void)usleep((useconds_t)(secs * 1e6));
	atomic_store(&stop, 1);
	for (i = 0; i < threads; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(t[i].err, 0);
		total += t[i].n;
	}
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &b), 0);
	el = (double)(b.tv_sec - a.tv_sec) +
	     (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	store_close(s);
	return (double)total / el;
}

static void
test_throughput(void **state)
{
	char *dir = tmpdir();
	double one, eight;

	(void)state;
	one = tp_run(dir, 1, 1, 1.5);
	eight = tp_run(dir, 2, 8, 1.5);
	print_message("throughput (fsync on, %s): 1 thread %.0f reserves/s, "
		      "8 threads %.0f reserves/s\n",
	    dir, one, eight);
	rmtree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_schema),
	    cmocka_unit_test(test_read_only),
	    cmocka_unit_test(test_ca),
	    cmocka_unit_test(test_cert_lifecycle),
	    cmocka_unit_test(test_cert_foreach_count),
	    cmocka_unit_test(test_revoke),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_purge),
	    cmocka_unit_test(test_purge_corrupt),
	    cmocka_unit_test(test_idem),
	    cmocka_unit_test(test_idem_claim),
	    cmocka_unit_test(test_idem_claim_race),
	    cmocka_unit_test(test_counters),
	    cmocka_unit_test(test_audit),
	    cmocka_unit_test(test_audit_tamper),
	    cmocka_unit_test(test_verify_corrupt),
	    cmocka_unit_test(test_callback_reentry),
	    cmocka_unit_test(test_group_commit),
	    cmocka_unit_test(test_map_growth),
	    cmocka_unit_test(test_growth_concurrent),
	    cmocka_unit_test(test_map_full),
	    /* on a 2 MiB tmpfs */
	    cmocka_unit_test_prestate_setup_teardown(test_disk_full,
		testlib_tmpfs_setup, testlib_tmpfs_teardown, "2m"),
	    cmocka_unit_test_prestate_setup_teardown(test_readonly_fs,
		testlib_tmpfs_setup, testlib_tmpfs_teardown, "2m"),
	    cmocka_unit_test(test_efbig),
	    cmocka_unit_test(test_throughput),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
