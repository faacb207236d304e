/*
 * test_cache.c - the bounded hot cache of pre-signed OCSP responses: hits
 * and misses, the byte bound and LRU eviction, a re-signed response
 * replacing the cached one, and a stale insert refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../ocsp/ocsp_int.h"

static void
key(uint32_t ca, int h, unsigned i, struct ocsp_ckey *k)
{
	memset(k, 0, sizeof(*k));
	k->ca = ca;
	k->hash = (uint8_t)h;
	k->serial_len = 16;
	k->serial[0] = 0x40;
	k->serial[13] = (uint8_t)(i >> 16);
	k->serial[14] = (uint8_t)(i >> 8);
	k->serial[15] = (uint8_t)i;
}

static void
rec(struct ocsp_crec *r, const uint8_t *der, size_t len, int64_t produced)
{
	memset(r, 0, sizeof(*r));
	r->status = OCSP_GOOD;
	r->produced = produced;
	r->next_update = produced + 86400;
	r->not_after = produced + 30 * 86400;
	(void)snprintf(r->etag, sizeof(r->etag), "\"%lld\"",
	    (long long)produced);
	r->der = der;
	r->len = len;
}

struct seen {
	int64_t produced;
	uint8_t first;
	size_t len;
};

static int
take(const struct ocsp_crec *r, void *arg)
{
	struct seen *s = arg;

	s->produced = r->produced;
	s->first = r->der[0];
	s->len = r->len;
	return 1;
}

static int
refuse(const struct ocsp_crec *r, void *arg)
{
	(void)r;
	(void)arg;
	return 0;
}

static void
t_hit_miss(void **state)
{
	struct ocsp_cache c;
	struct ocsp_ckey k, k2;
	struct ocsp_crec r;
	struct seen s;
	uint8_t der[500];
	uint64_t gen = 0, hits, misses;

	(void)state;
	memset(der, 0x30, sizeof(der));
	assert_int_equal(ocsp_cache_init(&c, 1 << 20), PCA_OK);
	key(0, 0, 1, &k);
	assert_false(ocsp_cache_get(&c, &k, take, &s, &gen));
	rec(&r, der, sizeof(der), 1000);
	ocsp_cache_insert(&c, &k, &r, gen);
	memset(&s, 0, sizeof(s));
	assert_true(ocsp_cache_get(&c, &k, take, &s, NULL));
	assert_int_equal(s.produced, 1000);
	assert_int_equal(s.len, sizeof(der));
	/* the other hash, another CA: other entries */
	key(0, 1, 1, &k2);
	assert_false(ocsp_cache_get(&c, &k2, take, &s, NULL));
	key(1, 0, 1, &k2);
	assert_false(ocsp_cache_get(&c, &k2, take, &s, NULL));
	/* an entry the caller finds unusable (expired) is a miss */
	assert_false(ocsp_cache_get(&c, &k, refuse, NULL, NULL));
	ocsp_cache_stats(&c, &hits, &misses);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 4);
	assert_int_equal(atomic_load(&c.entries), 1);
	ocsp_cache_clear(&c);
}

static void
t_bounded(void **state)
{
	struct ocsp_cache c;
	struct ocsp_ckey k;
	struct ocsp_crec r;
	struct seen s;
	uint8_t der[500];
	uint64_t gen;
	size_t max = 256 * 1024, hits = 0;
	unsigned i;

	(void)state;
	memset(der, 0x30, sizeof(der));
	assert_int_equal(ocsp_cache_init(&c, max), PCA_OK);
	for (i = 0; i < 20000; i++) {
		key(0, 0, i, &k);
		assert_false(ocsp_cache_get(&c, &k, take, &s, &gen));
		rec(&r, der, sizeof(der), i);
		ocsp_cache_insert(&c, &k, &r, gen);
		assert_true(atomic_load(&c.bytes) <= max);
	}
	/* 20,000 x ~600 bytes into 256 KiB: most were evicted */
	assert_true(atomic_load(&c.evictions) > 19000);
	assert_true(atomic_load(&c.entries) < 500);
	assert_true(atomic_load(&c.entries) > 100);
	/* the most recent ones stay, the first ones went */
	for (i = 19990; i < 20000; i++) {
		key(0, 0, i, &k);
		hits += (size_t)ocsp_cache_get(&c, &k, take, &s, NULL);
	}
	assert_true(hits >= 8);
	key(0, 0, 0, &k);
	assert_false(ocsp_cache_get(&c, &k, take, &s, NULL));
	ocsp_cache_clear(&c);
}

static void
t_lru(void **state)
{
	struct ocsp_cache c;
	struct ocsp_ckey k, hot;
	struct ocsp_crec r;
	struct seen s;
	uint8_t der[400];
	uint64_t gen;
	unsigned i;

	(void)state;
	memset(der, 0x30, sizeof(der));
	assert_int_equal(ocsp_cache_init(&c, 128 * 1024), PCA_OK);
	key(2, 0, 7, &hot);
	(void)ocsp_cache_get(&c, &hot, take, &s, &gen);
	rec(&r, der, sizeof(der), 7);
	ocsp_cache_insert(&c, &hot, &r, gen);
	for (i = 100; i < 20000; i++) {
		/* the hot entry is used all along: never the LRU one */
		assert_true(ocsp_cache_get(&c, &hot, take, &s, NULL));
		key(2, 0, i, &k);
		(void)ocsp_cache_get(&c, &k, take, &s, &gen);
		ocsp_cache_insert(&c, &k, &r, gen);
	}
	assert_true(ocsp_cache_get(&c, &hot, take, &s, NULL));
	assert_true(atomic_load(&c.evictions) > 0);
	ocsp_cache_clear(&c);
}

static void
t_resigned_replaces(void **state)
{
	struct ocsp_cache c;
	struct ocsp_ckey k, other;
	struct ocsp_crec r;
	struct seen s;
	uint8_t a[300], b[320];
	uint64_t gen, stale;

	(void)state;
	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	assert_int_equal(ocsp_cache_init(&c, 1 << 20), PCA_OK);
	key(0, 1, 42, &k);
	(void)ocsp_cache_get(&c, &k, take, &s, &gen);
	rec(&r, a, sizeof(a), 100);
	ocsp_cache_insert(&c, &k, &r, gen);
	/* re-signed: the cached copy is the new one */
	rec(&r, b, sizeof(b), 200);
	r.status = OCSP_REVOKED;
	ocsp_cache_update(&c, &k, &r);
	assert_true(ocsp_cache_get(&c, &k, take, &s, NULL));
	assert_int_equal(s.produced, 200);
	assert_int_equal(s.first, 0xbb);
	assert_int_equal(s.len, sizeof(b));
	assert_int_equal(atomic_load(&c.entries), 1);
	/* a reader that missed before a re-signature does not insert */
	key(0, 1, 43, &other);
	assert_false(ocsp_cache_get(&c, &other, take, &s, &stale));
	rec(&r, b, sizeof(b), 300);
	ocsp_cache_update(&c, &other, &r); /* not cached: nothing kept */
	assert_false(ocsp_cache_get(&c, &other, take, &s, NULL));
	rec(&r, a, sizeof(a), 250); /* what it read from the old snapshot */
	ocsp_cache_insert(&c, &other, &r, stale);
	assert_false(ocsp_cache_get(&c, &other, take, &s, NULL));
	/* dropped */
	ocsp_cache_update(&c, &k, NULL);
	assert_false(ocsp_cache_get(&c, &k, take, &s, NULL));
	assert_int_equal(atomic_load(&c.entries), 0);
	assert_int_equal(atomic_load(&c.bytes), 0);
	ocsp_cache_clear(&c);
}

static void
t_disabled(void **state)
{
	struct ocsp_cache c;
	struct ocsp_ckey k;
	struct ocsp_crec r;
	struct seen s;
	uint8_t der[100];
	uint64_t gen;

	(void)state;
	memset(der, 0x30, sizeof(der));
	assert_int_equal(ocsp_cache_init(&c, 0), PCA_OK);
	key(0, 0, 1, &k);
	(void)ocsp_cache_get(&c, &k, take, &s, &gen);
	rec(&r, der, sizeof(der), 1);
	ocsp_cache_insert(&c, &k, &r, gen);
	assert_false(ocsp_cache_get(&c, &k, take, &s, NULL));
	assert_int_equal(atomic_load(&c.bytes), 0);
	ocsp_cache_clear(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_hit_miss),
	    cmocka_unit_test(t_bounded),
	    cmocka_unit_test(t_lru),
	    cmocka_unit_test(t_resigned_replaces),
	    cmocka_unit_test(t_disabled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
