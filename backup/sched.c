/*
 * sched.c - pcad's scheduled backups ([backup] to, interval_hours, keep)
 * and its change-feed shipper ([backup] feed), each in a thread of its
 * own: a backup costs issuance one long read transaction, nothing more.
 *
 * Backups are named openpca-<YYYYMMDDTHHMMSSZ>-<id>.tar (the name pcactl
 * backup --to s3://... uses), so the newest is the last in key order and
 * the schedule survives restarts: the first backup is due interval_s after
 * the newest one found at the destination.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../store/store.h"
#include "../sync/sync.h"
#include "backup.h"
#include "backup_int.h"

#define SCHED_RETRY_S 60  /* after a failed backup */
#define FEED_POLL_MS 1000 /* feed shipping: at most this far behind */
#define FEED_RETRY_MAX_S 30
#define NAMES_MAX 100000

struct names {
	char (*v)[1100];
	size_t n, cap;
	size_t pre_len;    /* of the listed prefix */
	char newest[1100]; /* the newest name and its size */
	uint64_t newest_size;
};

struct bk_sched {
	struct bk_sched_conf c;
	struct store *st;
	struct bk_s3 s3;   /* backups (prefix in key) */
	struct bk_s3 fs3;  /* feed shipping: a sync of its own */
	char prefix[1024]; /* S3 prefix without trailing slash */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int stop;
	pthread_t bt, ft;
	int bt_on, ft_on;
	int resumed;    /* the feed continues after S3's last record */
	uint64_t epoch; /* the fencing epoch this primary holds */
	int claimed;    /* ... checked against S3 */
	int fenced;     /* a higher epoch is in S3: no more changes */
	char fence_msg[512];
	struct bk_metrics m;
};

/* ---- names: openpca-<time>-<id>.tar ---- */

static int
name_time(const char *name, int64_t *t)
{
	struct tm tm;
	const char *e;

	memset(&tm, 0, sizeof(tm));
	if (strncmp(name, "openpca-", 8) != 0 ||
	    (e = strptime(name + 8, "%Y%m%dT%H%M%SZ-", &tm)) == NULL ||
	    strlen(e) < 5 || strcmp(e + strlen(e) - 4, ".tar") != 0)
		return 0;
	*t = util_timegm(&tm);
	return 1;
}

static int
names_add(struct names *l, const char *name, uint64_t size)
{
	char(*t)[1100];
	int64_t when;

	if (!name_time(name, &when) || strlen(name) >= sizeof(*l->v) ||
	    l->n >= NAMES_MAX)
		return 0;
	if (l->n == l->cap) {
		if ((t = realloc(l->v,
			 (l->cap ? 2 * l->cap : 16) * sizeof(*t))) == NULL)
			return 1;
		l->v = t;
		l->cap = l->cap ? 2 * l->cap : 16;
	}
	if (l->n == 0 || strcmp(name, l->newest) > 0) {
		(void)snprintf(l->newest, sizeof(l->newest), "%s", name);
		l->newest_size = size;
	}
	(void)snprintf(l->v[l->n++], sizeof(*l->v), "%s", name);
	return 0;
}

static int
s3_name_cb(const char *key, uint64_t size, void *arg)
{
	struct names *l = arg;

	return names_add(l, key + l->pre_len, size);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The backups at the destination, oldest first. */
static pca_err
names_list(struct bk_sched *s, struct names *l)
{
	char pre[1100];
	struct dirent *de;
	struct stat sb;
	char path[PATH_MAX];
	DIR *d;
	pca_err err = PCA_OK;

	memset(l, 0, sizeof(*l));
	if (s->s3.sync != NULL) {
		(void)snprintf(pre, sizeof(pre), "%s%sopenpca-", s->prefix,
		    s->prefix[0] ? "/" : "");
		l->pre_len = strlen(pre) - strlen("openpca-");
		err =
		    sync_s3_list(s->s3.sync, s->s3.bucket, pre, s3_name_cb, l);
	} else if ((d = opendir(s->c.to)) == NULL)
		err = pca_err_set(PCA_EIO, "%s: %s", s->c.to, strerror(errno));
	else {
		while ((de = readdir(d)) != NULL) {
			(void)snprintf(path, sizeof(path), "%s/%s", s->c.to,
			    de->d_name);
			if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
				(void)names_add(l, de->d_name,
				    (uint64_t)sb.st_size);
		}
		closedir(d);
	}
	if (err == PCA_OK && l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), name_cmp);
	return err;
}

/* Deletes all but the newest keep. */
static void
prune(struct bk_sched *s)
{
	struct names l;
	char key[2200];
	size_t i;

	if (names_list(s, &l) != PCA_OK) {
		log_warnx("backup: listing old backups: %s", pca_err_msg());
		free(l.v);
		return;
	}
	for (i = 0; i + s->c.keep < l.n; i++) {
		(void)snprintf(key, sizeof(key), "%s%s%s",
		    s->s3.sync ? s->prefix : s->c.to,
		    (s->s3.sync ? s->prefix[0] != 0 : 1) ? "/" : "", l.v[i]);
		if (s->s3.sync != NULL &&
		    sync_s3_delete(s->s3.sync, s->s3.bucket, key) != PCA_OK)
			log_warnx("backup: %s", pca_err_msg());
		else if (s->s3.sync == NULL && unlink(key) != 0)
			log_warn("backup: %s", key);
		else
			log_info("backup: deleted %s (keep = %u)", l.v[i],
			    s->c.keep);
	}
	free(l.v);
}

/* One backup to the destination. */
static pca_err
backup_one(struct bk_sched *s, uint64_t *size)
{
	struct bk_archive b;
	struct bk_s3 up;
	struct stat sb;
	char file[PATH_MAX], final[PATH_MAX + 1100];
	const char *dir = s->s3.sync ? s->c.bk.work_dir : s->c.to;
	pca_err err;

	memset(&b, 0, sizeof(b));
	if (snprintf(file, sizeof(file), "%s/.openpca-backup-in-progress.tar",
		dir) >= (int)sizeof(file))
		return pca_err_set(PCA_EINVAL, "%s: path too long", dir);
	(void)unlink(file); /* left by a crash */
	if ((err = bk_make(&s->c.bk, s->st, file, &b)) != PCA_OK)
		goto out;
	if (stat(file, &sb) != 0) {
		err = pca_err_set(PCA_EIO, "%s: %s", file, strerror(errno));
		goto out;
	}
	*size = (uint64_t)sb.st_size;
	if (s->s3.sync != NULL) {
		up = s->s3;
		(void)snprintf(up.key, sizeof(up.key), "%s", s->prefix);
		if ((err = bk_s3_backup_key(&up, b.manifest)) != PCA_OK ||
		    (err = bk_s3_upload(&up, file, &b)) != PCA_OK)
			goto out;
		(void)snprintf(final, sizeof(final), "s3://%s/%s", up.bucket,
		    up.key);
	} else {
		memset(&up, 0, sizeof(up));
		if ((err = bk_s3_backup_key(&up, b.manifest)) != PCA_OK)
			goto out;
		(void)snprintf(final, sizeof(final), "%s/%s", s->c.to, up.key);
		if (rename(file, final) != 0) {
			err = pca_err_set(PCA_EIO, "%s: %s", final,
			    strerror(errno));
			goto out;
		}
	}
	log_info("backup %s: %lld certificates, %llu bytes -> %s",
	    json_string_value(json_object_get(b.manifest, "BackupId")),
	    (long long)json_integer_value(
		json_object_get(b.manifest, "Certificates")),
	    (unsigned long long)*size, final);
out:
	(void)unlink(file);
	bk_free(&b);
	return err;
}

/* Sleeps until t (epoch s) or stop; returns stop. */
static int
sleep_until(struct bk_sched *s, int64_t t_ms)
{
	struct timespec ts;
	int stop;

	ts.tv_sec = (time_t)(t_ms / 1000);
	ts.tv_nsec = (long)(t_ms % 1000) * 1000000L;
	pthread_mutex_lock(&s->mu);
	while (!s->stop &&
	       pthread_cond_timedwait(&s->cond, &s->mu, &ts) != ETIMEDOUT)
		;
	stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
backup_thread(void *arg)
{
	struct bk_sched *s = arg;
	struct names l;
	int64_t due = util_now(), newest;
	uint64_t size = 0;

	bk_thread_background(); /* the upload reads the archive back */
	if (names_list(s, &l) == PCA_OK && l.n > 0 &&
	    name_time(l.v[l.n - 1], &newest)) {
		due = newest + s->c.interval_s;
		pthread_mutex_lock(&s->mu);
		s->m.last_ok = newest;
		s->m.last_size = l.newest_size;
		pthread_mutex_unlock(&s->mu);
	}
	free(l.v);
	while (!sleep_until(s, due * 1000)) {
		if (backup_one(s, &size) != PCA_OK) {
			log_warnx("backup: %s", pca_err_msg());
			pthread_mutex_lock(&s->mu);
			s->m.failures++;
			pthread_mutex_unlock(&s->mu);
			due = util_now() + (s->c.interval_s < SCHED_RETRY_S
						   ? s->c.interval_s
						   : SCHED_RETRY_S);
			continue;
		}
		pthread_mutex_lock(&s->mu);
		s->m.last_ok = util_now();
		s->m.last_size = size;
		pthread_mutex_unlock(&s->mu);
		due = util_now() + s->c.interval_s;
		prune(s);
	}
	return NULL;
}

/*
 * Before shipping: this primary still holds the newest fencing epoch.
 * Once another appliance holds a higher one, this one is fenced for
 * good: nothing more is shipped and pcad refuses changes (until restart,
 * which refuses to start).  0: ship.
 */
static int
fence_check(struct bk_sched *s)
{
	struct bk_fence f;
	pca_err err;

	if (s->fenced)
		return 1;
	if (!s->claimed) {
		err = bk_fence_claim(s->st, &s->fs3,
		    s->c.holder ? s->c.holder : "unnamed", &s->epoch);
		if (err == PCA_OK) {
			s->claimed = 1;
			return 0;
		}
	} else if ((err = bk_fence_get(&s->fs3, &f)) == PCA_OK) {
		if (f.epoch <= s->epoch)
			return 0;
		err = pca_err_set(PCA_ESTATE,
		    "fenced: %s was promoted to "
		    "primary (epoch %llu, this one holds %llu)",
		    f.holder, (unsigned long long)f.epoch,
		    (unsigned long long)s->epoch);
	}
	if (err != PCA_ESTATE) {
		log_warnx("fencing: %s (not shipping until S3 answers)",
		    pca_err_msg());
		return 1;
	}
	pthread_mutex_lock(&s->mu);
	(void)snprintf(s->fence_msg, sizeof(s->fence_msg), "%s", pca_err_msg());
	s->fenced = 1;
	pthread_mutex_unlock(&s->mu);
	log_warnx("%s: this appliance stops issuing and shipping",
	    s->fence_msg);
	return 1;
}

int
bk_sched_fenced(struct bk_sched *s, char *msg, size_t n)
{
	int f;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	f = s->fenced;
	if (f)
		(void)snprintf(msg, n, "%s", s->fence_msg);
	pthread_mutex_unlock(&s->mu);
	return f;
}

static void *
feed_thread(void *arg)
{
	struct bk_sched *s = arg;
	int64_t wait_ms = FEED_POLL_MS, fail_ms = 0;
	int resumed = 0;
	size_t n;
	uint64_t head = 0;

	resumed = s->resumed;
	while (!sleep_until(s, now_ms() + wait_ms)) {
		if (!resumed) {
			if (bk_feed_resume(s->st, &s->fs3) != PCA_OK) {
				log_warnx("feed shipping: %s", pca_err_msg());
				pthread_mutex_lock(&s->mu);
				s->m.feed_failures++;
				pthread_mutex_unlock(&s->mu);
				wait_ms = FEED_RETRY_MAX_S * 1000 / 3;
				continue;
			}
			resumed = 1;
		}
		/* ship everything there is, batch after batch, each one
		   only while this primary holds the newest epoch */
		do {
			if (fence_check(s)) {
				n = 0;
				break;
			}
			if (bk_feed_ship_once(s->st, &s->fs3, &n) != PCA_OK) {
				log_warnx("feed shipping: %s", pca_err_msg());
				pthread_mutex_lock(&s->mu);
				s->m.feed_failures++;
				pthread_mutex_unlock(&s->mu);
				fail_ms = fail_ms ? fail_ms * 2 : FEED_POLL_MS;
				if (fail_ms > FEED_RETRY_MAX_S * 1000)
					fail_ms = FEED_RETRY_MAX_S * 1000;
				break;
			}
			fail_ms = 0;
			pthread_mutex_lock(&s->mu);
			s->m.feed_shipped += n;
			s->m.feed_last_ok = util_now();
			if (store_feed_follow(s->st, BK_FEED_NAME, &head) ==
			    PCA_OK)
				s->m.feed_last = head;
			pthread_mutex_unlock(&s->mu);
		} while (n == BK_FEED_BATCH_MAX);
		wait_ms = fail_ms ? fail_ms : FEED_POLL_MS;
	}
	return NULL;
}

pca_err
bk_sched_new(const struct bk_sched_conf *c, struct store *st,
    struct bk_sched **out)
{
	struct bk_sched *s;
	size_t n;
	pca_err err = PCA_OK;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	s->c = *c;
	s->st = st;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (bk_is_s3(c->to)) {
		if (c->s3 == NULL)
			err = pca_err_set(PCA_EINVAL,
			    "[backup] to = %s needs "
			    "[s3] endpoint",
			    c->to);
		else if ((err = bk_s3_open(c->to, c->s3, &s->s3)) == PCA_OK &&
			 c->feed)
			err = bk_s3_open(c->to, c->s3, &s->fs3);
		(void)snprintf(s->prefix, sizeof(s->prefix), "%s", s->s3.key);
		while ((n = strlen(s->prefix)) > 0 && s->prefix[n - 1] == '/')
			s->prefix[n - 1] = '\0';
	} else if (c->feed)
		err = pca_err_set(PCA_EINVAL, "[backup] feed needs [backup] "
					      "to in S3");
	if (err == PCA_OK && c->feed)
		err = store_feed_follow(st, BK_FEED_NAME, NULL);
	if (err != PCA_OK) {
		bk_sched_free(s);
		return err;
	}
	/*
	 * Before anything can change the store (pcad calls this before it
	 * serves): a store behind S3's shipped feed (restored without replay)
	 * continues after S3's last record, so no change made from now on is
	 * numbered below it.  S3 unreachable: the feed thread tries again.
	 */
	if (c->feed) {
		err = bk_fence_claim(st, &s->fs3,
		    c->holder ? c->holder : "unnamed", &s->epoch);
		if (err == PCA_ESTATE) {
			bk_sched_free(s);
			return err;
		}
		if (err == PCA_OK)
			s->claimed = 1;
		else
			log_warnx("fencing: %s (checked again before shipping)",
			    pca_err_msg());
		if (bk_feed_resume(st, &s->fs3) == PCA_OK)
			s->resumed = 1;
		else
			log_warnx("feed shipping: %s (retrying)",
			    pca_err_msg());
	}
	*out = s;
	return PCA_OK;
}

pca_err
bk_sched_start(struct bk_sched *s)
{
	if (pthread_create(&s->bt, NULL, backup_thread, s) != 0)
		return pca_err_set(PCA_EINTERNAL, "cannot start the backup "
						  "thread");
	s->bt_on = 1;
	if (s->fs3.sync != NULL) {
		if (pthread_create(&s->ft, NULL, feed_thread, s) != 0)
			return pca_err_set(PCA_EINTERNAL,
			    "cannot start the "
			    "feed shipping thread");
		s->ft_on = 1;
	}
	return PCA_OK;
}

void
bk_sched_free(struct bk_sched *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	if (s->bt_on)
		pthread_join(s->bt, NULL);
	if (s->ft_on)
		pthread_join(s->ft, NULL);
	sync_free(s->s3.sync);
	sync_free(s->fs3.sync);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void
bk_sched_metrics_get(struct bk_sched *s, struct bk_metrics *m)
{
	pthread_mutex_lock(&s->mu);
	*m = s->m;
	pthread_mutex_unlock(&s->mu);
}

pca_err
bk_sched_metrics_render(struct bk_sched *s, struct buf *b)
{
	struct bk_metrics m;
	pca_err err;

	bk_sched_metrics_get(s, &m);
	err = buf_printf(b,
	    "# HELP pcad_backup_last_success_timestamp_seconds When the newest "
	    "backup was taken (0: none yet).\n"
	    "# TYPE pcad_backup_last_success_timestamp_seconds gauge\n"
	    "pcad_backup_last_success_timestamp_seconds %lld\n"
	    "# HELP pcad_backup_age_seconds Age of the newest backup.\n"
	    "# TYPE pcad_backup_age_seconds gauge\n"
	    "pcad_backup_age_seconds %lld\n"
	    "# HELP pcad_backup_size_bytes Size of the newest backup.\n"
	    "# TYPE pcad_backup_size_bytes gauge\n"
	    "pcad_backup_size_bytes %llu\n"
	    "# HELP pcad_backup_failures_total Scheduled backups that failed.\n"
	    "# TYPE pcad_backup_failures_total counter\n"
	    "pcad_backup_failures_total %llu\n",
	    (long long)m.last_ok,
	    (long long)(m.last_ok ? util_now() - m.last_ok : -1),
	    (unsigned long long)m.last_size, (unsigned long long)m.failures);
	if (err != PCA_OK || s->fs3.sync == NULL)
		return err;
	return buf_printf(b,
	    "# HELP pcad_backup_feed_records_total Change feed records "
	    "shipped to S3.\n"
	    "# TYPE pcad_backup_feed_records_total counter\n"
	    "pcad_backup_feed_records_total %llu\n"
	    "# HELP pcad_backup_feed_failures_total Feed shipments that "
	    "failed (and are retried).\n"
	    "# TYPE pcad_backup_feed_failures_total counter\n"
	    "pcad_backup_feed_failures_total %llu\n"
	    "# HELP pcad_backup_feed_sequence Last change feed sequence "
	    "in S3.\n"
	    "# TYPE pcad_backup_feed_sequence gauge\n"
	    "pcad_backup_feed_sequence %llu\n",
	    (unsigned long long)m.feed_shipped,
	    (unsigned long long)m.feed_failures,
	    (unsigned long long)m.feed_last);
}
