/*
 * standby.c - the warm standby (pcad --role standby) and the fencing
 * token that keeps two primaries from issuing at once.
 *
 * Following: a thread reads the change feed the primary ships to
 * <prefix>/feed/ about every second and applies it with bk_replay (the
 * code pcactl restore --replay-feed uses), remembering the last applied
 * sequence in the store's counter BK_STANDBY_COUNTER.
 *
 * Fencing: epochs are objects <prefix>/fence/epoch-<20 digits>.json
 * ({"Epoch", "Holder", "Nonce", "At"}), written create-only (If-None-Match:
 * *) and read back; the current epoch is the highest one listed.  A store
 * remembers the epoch it holds (counter BK_FENCE_COUNTER).  docs/standby.md
 * states what this guarantees and what it does not.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../store/store.h"
#include "../sync/sync.h"
#include "backup.h"

#define STANDBY_POLL_MS 1000
#define FENCE_OBJ_MAX ((uint64_t)4096)

/* ---- counters ---- */

static pca_err
counter_get(struct store *st, const char *name, uint64_t *v)
{
	pca_err err = store_counter_get(st, name, v);

	if (err == PCA_ENOTFOUND) {
		*v = 0;
		return PCA_OK;
	}
	return err;
}

/* The counter becomes v when below it (never lowered). */
static pca_err
counter_lift(struct store *st, const char *name, uint64_t v)
{
	uint64_t cur, now;
	pca_err err;

	if ((err = counter_get(st, name, &cur)) != PCA_OK || cur >= v)
		return err;
	return store_counter_raise(st, name, v, &now);
}

pca_err
bk_fence_local(struct store *st, uint64_t *epoch)
{
	return counter_get(st, BK_FENCE_COUNTER, epoch);
}

pca_err
bk_fence_local_set(struct store *st, uint64_t epoch)
{
	return counter_lift(st, BK_FENCE_COUNTER, epoch);
}

/* ---- the fence objects ---- */

static pca_err
fence_prefix(const struct bk_s3 *p, char *out, size_t n)
{
	size_t l = strlen(p->key);

	while (l > 0 && p->key[l - 1] == '/')
		l--;
	if (snprintf(out, n, "%.*s%sfence/", (int)l, p->key, l ? "/" : "") >=
	    (int)n)
		return pca_err_set(PCA_EINVAL, "S3 prefix too long");
	return PCA_OK;
}

struct fence_list {
	size_t pre_len;
	uint64_t max;
};

static int
fence_list_cb(const char *key, uint64_t size, void *arg)
{
	struct fence_list *l = arg;
	unsigned long long e;
	int end = 0;

	(void)size;
	if (sscanf(key + l->pre_len, "epoch-%20llu.json%n", &e, &end) == 1 &&
	    key[l->pre_len + (size_t)end] == '\0' && e > l->max)
		l->max = e;
	return 0;
}

/* The object of epoch e, parsed (Holder and Nonce copied out). */
static pca_err
fence_read(struct bk_s3 *p, const char *pre, uint64_t e, char *holder,
    size_t hn, char *nonce, size_t nn)
{
	char key[1200], path[PATH_MAX];
	const char *t = getenv("TMPDIR");
	uint8_t *data = NULL;
	json_t *o = NULL;
	size_t len;
	int fd;
	pca_err err;

	(void)snprintf(key, sizeof(key), "%sepoch-%020llu.json", pre,
	    (unsigned long long)e);
	(void)snprintf(path, sizeof(path), "%s/openpca-fence.XXXXXX",
	    t != NULL && *t ? t : "/tmp");
	if ((fd = mkstemp(path)) < 0)
		return pca_err_set(PCA_EIO, "%s: cannot make a temporary file",
		    path);
	err = sync_s3_get_file(p->sync, p->bucket, key, fd, FENCE_OBJ_MAX);
	close(fd);
	if (err == PCA_OK)
		err = util_file_read(path, FENCE_OBJ_MAX, &data, &len);
	(void)unlink(path);
	if (err != PCA_OK)
		return err;
	o = json_loadb((const char *)data, len, 0, NULL);
	free(data);
	if (o == NULL ||
	    (uint64_t)json_integer_value(json_object_get(o, "Epoch")) != e) {
		json_decref(o);
		return pca_err_set(PCA_EPARSE, "s3://%s/%s: not a fence object",
		    p->bucket, key);
	}
	(void)snprintf(holder, hn, "%s",
	    json_string_value(json_object_get(o, "Holder")) ?: "?");
	if (nonce != NULL)
		(void)snprintf(nonce, nn, "%s",
		    json_string_value(json_object_get(o, "Nonce")) ?: "");
	json_decref(o);
	return PCA_OK;
}

pca_err
bk_fence_get(struct bk_s3 *p, struct bk_fence *f)
{
	struct fence_list l;
	char pre[1100];
	pca_err err;

	memset(f, 0, sizeof(*f));
	memset(&l, 0, sizeof(l));
	if ((err = fence_prefix(p, pre, sizeof(pre))) != PCA_OK)
		return err;
	l.pre_len = strlen(pre);
	if ((err = sync_s3_list(p->sync, p->bucket, pre, fence_list_cb, &l)) !=
		PCA_OK ||
	    l.max == 0)
		return err;
	f->epoch = l.max;
	return fence_read(p, pre, l.max, f->holder, sizeof(f->holder), NULL, 0);
}

pca_err
bk_fence_take(struct bk_s3 *p, uint64_t epoch, const char *holder)
{
	uint8_t rnd[16];
	char pre[1100], key[1200], nonce[33], back[33], who[BK_HOLDER_MAX];
	char *text = NULL;
	json_t *o = NULL;
	pca_err err;

	if ((err = fence_prefix(p, pre, sizeof(pre))) != PCA_OK)
		return err;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return pca_err_set(PCA_EINTERNAL, "no random bytes");
	util_hex(rnd, sizeof(rnd), nonce, sizeof(nonce), 0);
	o = json_pack("{s:I,s:s,s:s,s:I}", "Epoch", (json_int_t)epoch, "Holder",
	    holder, "Nonce", nonce, "At", (json_int_t)util_now());
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	(void)snprintf(key, sizeof(key), "%sepoch-%020llu.json", pre,
	    (unsigned long long)epoch);
	if ((err = sync_s3_put_new(p->sync, p->bucket, key, "application/json",
		 text, strlen(text))) != PCA_OK) {
		if (err == PCA_EEXISTS)
			err = pca_err_set(PCA_EEXISTS,
			    "fencing epoch %llu is "
			    "already taken (s3://%s/%s)",
			    (unsigned long long)epoch, p->bucket, key);
		goto out;
	}
	/* a server ignoring If-None-Match: the last writer holds it */
	if ((err = fence_read(p, pre, epoch, who, sizeof(who), back,
		 sizeof(back))) == PCA_OK &&
	    strcmp(back, nonce) != 0)
		err = pca_err_set(PCA_EEXISTS,
		    "fencing epoch %llu was taken "
		    "by %s at the same time",
		    (unsigned long long)epoch, who);
out:
	free(text);
	json_decref(o);
	return err;
}

pca_err
bk_fence_claim(struct store *st, struct bk_s3 *p, const char *holder,
    uint64_t *epoch)
{
	struct bk_fence f;
	uint64_t mine;
	pca_err err;

	if ((err = bk_fence_local(st, &mine)) != PCA_OK ||
	    (err = bk_fence_get(p, &f)) != PCA_OK)
		return err;
	if (f.epoch > mine)
		return pca_err_set(PCA_ESTATE,
		    "fenced: %s was promoted to "
		    "primary (epoch %llu in s3://%s/%s, this store holds "
		    "%llu); "
		    "refusing to start as primary (run it as --role standby, "
		    "or, if that appliance is gone for good, pcactl promote "
		    "this one)",
		    f.holder, (unsigned long long)f.epoch, p->bucket, p->key,
		    (unsigned long long)mine);
	if (f.epoch < mine || f.epoch == 0) {
		/* S3 has none (first start) or an older one: ours goes up */
		mine = mine ? mine : 1;
		if ((err = bk_fence_take(p, mine, holder)) != PCA_OK ||
		    (err = bk_fence_local_set(st, mine)) != PCA_OK)
			return err;
		log_info("fencing: this primary holds epoch %llu",
		    (unsigned long long)mine);
	}
	*epoch = mine;
	return PCA_OK;
}

void
bk_holder_name(const char *api_listen, char *out, size_t n)
{
	char host[128] = "";

	if (gethostname(host, sizeof(host) - 1) != 0)
		(void)snprintf(host, sizeof(host), "unknown-host");
	(void)snprintf(out, n, "%s (API %s)", host,
	    api_listen ? api_listen : "-");
}

/* ---- following ---- */

pca_err
bk_standby_catch_up(struct store *st, struct bk_s3 *p,
    struct bk_replay_stats *n, uint64_t *applied)
{
	uint64_t from, last = 0;
	pca_err err;

	if ((err = counter_get(st, BK_STANDBY_COUNTER, &from)) != PCA_OK ||
	    (err = bk_replay(st, p, from ? from : BK_FEED_FROM_FIRST, n,
		 &last)) != PCA_OK)
		return err;
	if (last > from &&
	    (err = counter_lift(st, BK_STANDBY_COUNTER, last)) != PCA_OK)
		return err;
	*applied = last > from ? last : from;
	return PCA_OK;
}

pca_err
bk_standby_applied_set(struct store *st, uint64_t seq)
{
	return counter_lift(st, BK_STANDBY_COUNTER, seq);
}

struct bk_standby {
	struct store *st;
	struct bk_s3 s3;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t t;
	int t_on, stop;
	int64_t caught_up_at; /* when everything listed was applied */
	struct bk_standby_status s;
};

static void *
follow_thread(void *arg)
{
	struct bk_standby *b = arg;
	struct bk_replay_stats n;
	struct bk_fence f;
	struct timespec ts;
	uint64_t shipped = 0, applied = 0;
	int64_t t0;
	pca_err err;

	pthread_mutex_lock(&b->mu);
	while (!b->stop) {
		pthread_mutex_unlock(&b->mu);
		t0 = util_now();
		if ((err = bk_feed_last_after(&b->s3, applied, &shipped)) ==
		    PCA_OK)
			err = bk_standby_catch_up(b->st, &b->s3, &n, &applied);
		if (err != PCA_OK)
			log_warnx("standby: %s", pca_err_msg());
		else if (n.issued + n.revoked + n.cas + n.purged > 0)
			log_debug("standby: applied up to %llu (%zu issued, "
				  "%zu revoked, %zu CA changes)",
			    (unsigned long long)applied, n.issued, n.revoked,
			    n.cas);
		if (err == PCA_OK && bk_fence_get(&b->s3, &f) != PCA_OK)
			pca_err_clear(); /* the primary's name: optional */
		pthread_mutex_lock(&b->mu);
		if (err == PCA_OK) {
			b->s.applied = applied;
			b->s.shipped = shipped > applied ? shipped : applied;
			b->s.last_ok = util_now();
			b->caught_up_at = t0;
			if (f.epoch > 0) {
				b->s.epoch = f.epoch;
				(void)snprintf(b->s.primary,
				    sizeof(b->s.primary), "%s", f.holder);
			}
		} else
			b->s.failures++;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += STANDBY_POLL_MS / 1000;
		while (!b->stop &&
		       pthread_cond_timedwait(&b->cond, &b->mu, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

pca_err
bk_standby_new(const char *to, const struct sync_conf *s3, struct store *st,
    struct bk_standby **out)
{
	struct bk_standby *b;
	pca_err err;

	if (to == NULL || !bk_is_s3(to) || s3 == NULL)
		return pca_err_set(PCA_EINVAL,
		    "--role standby follows the "
		    "change feed the primary ships: it needs [backup] to = "
		    "s3://BUCKET/PREFIX and [s3] endpoint");
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	b->st = st;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->caught_up_at = util_now();
	if ((err = bk_s3_open(to, s3, &b->s3)) != PCA_OK) {
		bk_standby_free(b);
		return err;
	}
	*out = b;
	return PCA_OK;
}

pca_err
bk_standby_start(struct bk_standby *b)
{
	if (pthread_create(&b->t, NULL, follow_thread, b) != 0)
		return pca_err_set(PCA_EINTERNAL, "cannot start the standby "
						  "thread");
	b->t_on = 1;
	return PCA_OK;
}

void
bk_standby_free(struct bk_standby *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->mu);
	b->stop = 1;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->mu);
	if (b->t_on)
		pthread_join(b->t, NULL);
	sync_free(b->s3.sync);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

void
bk_standby_status_get(struct bk_standby *b, struct bk_standby_status *s)
{
	pthread_mutex_lock(&b->mu);
	*s = b->s;
	s->lag_s = util_now() - b->caught_up_at;
	pthread_mutex_unlock(&b->mu);
}

pca_err
bk_standby_metrics_render(struct bk_standby *b, struct buf *o)
{
	struct bk_standby_status s;

	bk_standby_status_get(b, &s);
	return buf_printf(o,
	    "# HELP pcad_standby_lag_seconds Seconds since this standby last "
	    "applied everything the primary had shipped.\n"
	    "# TYPE pcad_standby_lag_seconds gauge\n"
	    "pcad_standby_lag_seconds %lld\n"
	    "# HELP pcad_standby_lag_sequences Shipped change feed records not "
	    "yet applied (as of the last poll).\n"
	    "# TYPE pcad_standby_lag_sequences gauge\n"
	    "pcad_standby_lag_sequences %llu\n"
	    "# HELP pcad_standby_applied_sequence Last shipped sequence "
	    "applied.\n"
	    "# TYPE pcad_standby_applied_sequence gauge\n"
	    "pcad_standby_applied_sequence %llu\n"
	    "# HELP pcad_standby_failures_total Polls of the shipped feed that "
	    "failed (and are retried).\n"
	    "# TYPE pcad_standby_failures_total counter\n"
	    "pcad_standby_failures_total %llu\n",
	    (long long)s.lag_s, (unsigned long long)(s.shipped - s.applied),
	    (unsigned long long)s.applied, (unsigned long long)s.failures);
}
