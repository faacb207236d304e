/*
 * cache.c - the bounded hot cache of pre-signed responses in front of the
 * store.  Shards (each a mutex, a hash table and an LRU list) keep the
 * serving threads apart; each shard holds at most its share of the byte
 * budget and evicts its least recently used entries to stay under it.
 *
 * Coherence with the store: a reader that missed remembers its shard's
 * generation before reading the store, and its insert is refused when the
 * refresher changed anything in that shard meanwhile (ocsp_cache_update
 * runs after the store commit and bumps the generation), so an answer read
 * from an older snapshot can never land after its replacement.
 */
#include <stdlib.h>
#include <string.h>

#include "ocsp_int.h"

#define SHARD_BUCKETS 256 /* initial buckets per shard (power of 2) */

struct ocsp_centry {
	struct ocsp_centry *hnext;       /* hash chain */
	struct ocsp_centry *prev, *next; /* newest first */
	_Atomic int used;                /* hit since it was last passed over */
	struct ocsp_ckey k;
	size_t cost;
	struct ocsp_crec v; /* v.der points into data[] */
	uint8_t data[];
};

struct ocsp_cshard {
	pthread_rwlock_t mu;
	_Atomic uint64_t hits, misses;
	struct ocsp_centry **b;
	size_t nb, n, bytes;
	struct ocsp_centry *lru; /* sentinel (no data[]) */
	uint64_t gen;
};

static uint64_t
key_hash(const struct ocsp_ckey *k)
{
	uint64_t h = 1469598103934665603ULL ^ k->ca ^ ((uint64_t)k->hash << 40);
	size_t i;

	for (i = 0; i < k->serial_len; i++)
		h = (h ^ k->serial[i]) * 1099511628211ULL;
	/* a final mix, so that every bit of a serial reaches the top bits */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static int
key_eq(const struct ocsp_ckey *a, const struct ocsp_ckey *b)
{
	return a->ca == b->ca && a->hash == b->hash &&
	       a->serial_len == b->serial_len &&
	       memcmp(a->serial, b->serial, a->serial_len) == 0;
}

pca_err
ocsp_cache_init(struct ocsp_cache *c, size_t max_bytes)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->max_bytes = max_bytes;
	c->shard_max = max_bytes / OCSP_CACHE_SHARDS;
	if ((c->s = calloc(OCSP_CACHE_SHARDS, sizeof(*c->s))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (i = 0; i < OCSP_CACHE_SHARDS; i++) {
		struct ocsp_cshard *s = &c->s[i];

		pthread_rwlock_init(&s->mu, NULL);
		if ((s->lru = calloc(1, sizeof(*s->lru))) != NULL)
			s->lru->prev = s->lru->next = s->lru;
		if (s->lru == NULL ||
		    (s->b = calloc(SHARD_BUCKETS, sizeof(*s->b))) == NULL) {
			ocsp_cache_clear(c);
			return pca_err_set(PCA_ENOMEM, "no memory");
		}
		s->nb = SHARD_BUCKETS;
	}
	return PCA_OK;
}

void
ocsp_cache_clear(struct ocsp_cache *c)
{
	struct ocsp_centry *e, *n;
	size_t i;

	if (c->s == NULL)
		return;
	for (i = 0; i < OCSP_CACHE_SHARDS; i++) {
		struct ocsp_cshard *s = &c->s[i];

		if (s->lru != NULL && s->lru->next != NULL)
			for (e = s->lru->next; e != s->lru; e = n) {
				n = e->next;
				free(e);
			}
		free(s->lru);
		free(s->b);
		pthread_rwlock_destroy(&s->mu);
	}
	free(c->s);
	memset(c, 0, sizeof(*c));
}

static struct ocsp_cshard *
shard_of(struct ocsp_cache *c, const struct ocsp_ckey *k, uint64_t *h)
{
	*h = key_hash(k);
	return &c->s[(*h >> 48) % OCSP_CACHE_SHARDS];
}

static struct ocsp_centry **
find(struct ocsp_cshard *s, const struct ocsp_ckey *k, uint64_t h)
{
	struct ocsp_centry **pp;

	for (pp = &s->b[h & (s->nb - 1)]; *pp != NULL; pp = &(*pp)->hnext)
		if (key_eq(&(*pp)->k, k))
			break;
	return pp;
}

static void
lru_unlink(struct ocsp_centry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void
lru_front(struct ocsp_cshard *s, struct ocsp_centry *e)
{
	e->next = s->lru->next;
	e->prev = s->lru;
	s->lru->next->prev = e;
	s->lru->next = e;
}

/* Unlinks *pp from its chain and the LRU and frees it. */
static void
remove_at(struct ocsp_cache *c, struct ocsp_cshard *s, struct ocsp_centry **pp)
{
	struct ocsp_centry *e = *pp;

	*pp = e->hnext;
	lru_unlink(e);
	s->n--;
	s->bytes -= e->cost;
	atomic_fetch_sub(&c->bytes, e->cost);
	atomic_fetch_sub(&c->entries, 1);
	free(e);
}

static void
grow(struct ocsp_cshard *s)
{
	struct ocsp_centry **nb, *e, *n;
	size_t i;

	if ((nb = calloc(2 * s->nb, sizeof(*nb))) == NULL)
		return; /* longer chains */
	for (i = 0; i < s->nb; i++)
		for (e = s->b[i]; e != NULL; e = n) {
			n = e->hnext;
			e->hnext = nb[key_hash(&e->k) & (2 * s->nb - 1)];
			nb[key_hash(&e->k) & (2 * s->nb - 1)] = e;
		}
	free(s->b);
	s->b = nb;
	s->nb *= 2;
}

static struct ocsp_centry *
entry_new(const struct ocsp_ckey *k, const struct ocsp_crec *v)
{
	struct ocsp_centry *e = malloc(sizeof(*e) + v->len);

	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->k = *k;
	e->v = *v;
	memcpy(e->data, v->der, v->len);
	e->v.der = e->data;
	e->cost = sizeof(*e) + v->len;
	return e;
}

/* Adds e (not present) and evicts down to the shard's budget. */
static void
add(struct ocsp_cache *c, struct ocsp_cshard *s, struct ocsp_centry *e,
    uint64_t h)
{
	struct ocsp_centry **pp;

	if (s->n >= s->nb)
		grow(s);
	pp = &s->b[h & (s->nb - 1)];
	e->hnext = *pp;
	*pp = e;
	lru_front(s, e);
	s->n++;
	s->bytes += e->cost;
	atomic_fetch_add(&c->bytes, e->cost);
	atomic_fetch_add(&c->entries, 1);
	while (s->bytes > c->shard_max && s->lru->prev != s->lru) {
		struct ocsp_centry *old = s->lru->prev;

		if (old != e && atomic_exchange(&old->used, 0)) {
			lru_unlink(old); /* used: a second chance */
			lru_front(s, old);
			continue;
		}
		remove_at(c, s, find(s, &old->k, key_hash(&old->k)));
		atomic_fetch_add(&c->evictions, 1);
	}
}

int
ocsp_cache_get(struct ocsp_cache *c, const struct ocsp_ckey *k,
    int (*use)(const struct ocsp_crec *, void *), void *arg, uint64_t *gen)
{
	uint64_t h;
	struct ocsp_cshard *s = shard_of(c, k, &h);
	struct ocsp_centry *e;
	int hit = 0;

	pthread_rwlock_rdlock(&s->mu);
	if ((e = *find(s, k, h)) != NULL && use(&e->v, arg)) {
		hit = 1;
		if (!atomic_load_explicit(&e->used, memory_order_relaxed))
			atomic_store_explicit(&e->used, 1,
			    memory_order_relaxed);
	}
	if (gen != NULL)
		*gen = s->gen;
	pthread_rwlock_unlock(&s->mu);
	atomic_fetch_add_explicit(hit ? &s->hits : &s->misses, 1,
	    memory_order_relaxed);
	return hit;
}

void
ocsp_cache_insert(struct ocsp_cache *c, const struct ocsp_ckey *k,
    const struct ocsp_crec *v, uint64_t gen)
{
	uint64_t h;
	struct ocsp_cshard *s = shard_of(c, k, &h);
	struct ocsp_centry *e, **pp;

	if (sizeof(*e) + v->len > c->shard_max || (e = entry_new(k, v)) == NULL)
		return;
	pthread_rwlock_wrlock(&s->mu);
	if (s->gen != gen) {
		pthread_rwlock_unlock(&s->mu);
		free(e);
		return; /* changed meanwhile: the store has a newer one */
	}
	if (*(pp = find(s, k, h)) != NULL)
		remove_at(c, s, pp); /* another reader was first */
	add(c, s, e, h);
	pthread_rwlock_unlock(&s->mu);
}

void
ocsp_cache_update(struct ocsp_cache *c, const struct ocsp_ckey *k,
    const struct ocsp_crec *v)
{
	uint64_t h;
	struct ocsp_cshard *s = shard_of(c, k, &h);
	struct ocsp_centry *e = NULL, **pp;

	if (v != NULL && sizeof(*e) + v->len <= c->shard_max)
		e = entry_new(k, v); /* NULL (no memory): dropped below */
	pthread_rwlock_wrlock(&s->mu);
	s->gen++;
	if (*(pp = find(s, k, h)) == NULL) {
		pthread_rwlock_unlock(&s->mu);
		free(e); /* not cached: the store serves it when asked */
		return;
	}
	remove_at(c, s, pp);
	if (e != NULL)
		add(c, s, e, h);
	pthread_rwlock_unlock(&s->mu);
}

void
ocsp_cache_stats(struct ocsp_cache *c, uint64_t *hits, uint64_t *misses)
{
	size_t i;

	*hits = *misses = 0;
	for (i = 0; c->s != NULL && i < OCSP_CACHE_SHARDS; i++) {
		*hits += atomic_load(&c->s[i].hits);
		*misses += atomic_load(&c->s[i].misses);
	}
}
