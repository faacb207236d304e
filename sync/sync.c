/*
 * sync.c - the outbox drain: one thread, one upload at a time, the newest
 * version of each object only.  A failed CRL upload is retried with
 * exponential backoff (1 s doubling, capped at retry_max_s); an audit
 * report that S3 refuses (4xx) is ended as failed, so that its report can
 * turn FAILED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../common/conf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../store/store.h"
#include "sync_int.h"

#define AUDIT_MAX_ATTEMPTS 5
#define SYNC_PAGE 256 /* outbox entries in memory at once */

pca_err
sync_creds_load(struct sync *s)
{
	struct stat st;
	struct conf *cf = NULL;
	const char *ak, *sk, *tk;
	pca_err e = PCA_OK;

	pthread_mutex_lock(&s->cmu);
	if (stat(s->cred_path, &st) != 0) {
		e = pca_err_set(PCA_EIO, "S3 credentials file %s: cannot stat",
		    s->cred_path);
		goto out;
	}
	if (s->akid[0] && st.st_mtim.tv_sec == s->cred_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == s->cred_mtime.tv_nsec)
		goto out;
	if ((e = conf_load(s->cred_path, &cf)) != PCA_OK)
		goto out;
	ak = conf_get0(cf, "default", "aws_access_key_id");
	sk = conf_get0(cf, "default", "aws_secret_access_key");
	tk = conf_get0(cf, "default", "aws_session_token");
	if (ak == NULL || sk == NULL || strlen(ak) >= sizeof(s->akid) ||
	    strlen(sk) >= sizeof(s->secret) ||
	    (tk != NULL && strlen(tk) >= sizeof(s->token))) {
		e = pca_err_set(PCA_EINVAL,
		    "%s: [default] needs "
		    "aws_access_key_id and aws_secret_access_key",
		    s->cred_path);
		goto out;
	}
	(void)snprintf(s->akid, sizeof(s->akid), "%s", ak);
	(void)snprintf(s->secret, sizeof(s->secret), "%s", sk);
	(void)snprintf(s->token, sizeof(s->token), "%s", tk ? tk : "");
	s->cred_mtime = st.st_mtim;
out:
	conf_free(cf);
	pthread_mutex_unlock(&s->cmu);
	return e;
}

/* ---- draining ---- */

struct meta {
	json_t *o;
	const char *bucket, *ctype, *acl, *kind;
	json_t *also; /* more keys for the same body, or NULL */
};

static int
meta_parse(const char *text, struct meta *m)
{
	memset(m, 0, sizeof(*m));
	if ((m->o = json_loads(text, 0, NULL)) == NULL)
		return 0;
	m->bucket = json_string_value(json_object_get(m->o, "bucket"));
	m->ctype = json_string_value(json_object_get(m->o, "content_type"));
	m->acl = json_string_value(json_object_get(m->o, "acl"));
	m->kind = json_string_value(json_object_get(m->o, "kind"));
	m->also = json_object_get(m->o, "also");
	if (m->also != NULL && !json_is_array(m->also))
		return 0;
	return m->bucket != NULL && *m->bucket && m->ctype != NULL;
}

static int64_t
backoff(const struct sync *s, uint32_t attempts)
{
	int64_t d = (int64_t)1 << (attempts > 20 ? 20 : attempts);

	return d > (int64_t)s->conf.retry_max_s ? (int64_t)s->conf.retry_max_s
						: d;
}

/* The same body under the keys of meta "also" (an OCSP response's GET key). */
static pca_err
put_also(struct sync *s, const struct meta *m, struct s3_put *r,
    struct s3_result *res)
{
	const char *k;
	size_t i;
	pca_err e = PCA_OK;

	for (i = 0; e == PCA_OK && i < json_array_size(m->also); i++) {
		if ((k = json_string_value(json_array_get(m->also, i))) ==
			NULL ||
		    *k == '\0')
			continue;
		r->key = k;
		e = sync_s3_put_keep(s, r, res);
	}
	return e;
}

/* Results of uploaded OCSP objects, recorded SYNC_BATCH at a time. */
#define SYNC_BATCH 64
struct batch {
	struct store_outbox_ent v[SYNC_BATCH];
	size_t n;
};

static void
batch_flush(struct sync *s, struct batch *b)
{
	if (store_outbox_done_many(s->store, b->v, b->n, util_now()) != PCA_OK)
		log_warnx("sync: recording %zu uploads: %s", b->n,
		    pca_err_msg());
	b->n = 0;
}

/*
 * One due entry: upload the current object, then record the outcome (an
 * OCSP object's success into b, recorded with others).
 */
static pca_err
drain_one(struct sync *s, const struct store_outbox_ent *ent, int *done,
    struct batch *b)
{
	struct store_obj o;
	struct s3_put r;
	struct s3_result res;
	struct meta m;
	int64_t now = util_now();
	int audit, permanent;
	pca_err e, put;

	*done = 0;
	if ((e = store_obj_get(s->store, ent->key, &o)) != PCA_OK)
		return e;
	if (!meta_parse(o.meta, &m)) {
		e = store_outbox_done(s->store, ent->key, o.version, 0,
		    "object has no bucket or content type", now);
		goto out;
	}
	r = (struct s3_put){m.bucket, ent->key, m.ctype, m.acl, o.body,
	    o.body_len, 0};
	put = sync_s3_put_keep(s, &r, &res);
	put = put == PCA_OK ? put_also(s, &m, &r, &res) : put;
	pthread_mutex_lock(&s->mu);
	s->m.puts += put == PCA_OK;
	s->m.failures += put != PCA_OK;
	if (put == PCA_OK)
		s->m.last_ok = now;
	pthread_mutex_unlock(&s->mu);
	if (put == PCA_OK) {
		*done = 1;
		if (m.kind != NULL && strncmp(m.kind, "ocsp", 4) == 0) {
			log_debug("sync: published s3://%s/%s", m.bucket,
			    ent->key);
			b->v[b->n] = *ent;
			b->v[b->n++].version = o.version;
			if (b->n == SYNC_BATCH)
				batch_flush(s, b);
			e = PCA_OK;
			goto out;
		}
		log_info("sync: published s3://%s/%s (version %llu, %zu bytes)",
		    m.bucket, ent->key, (unsigned long long)o.version,
		    o.body_len);
		e = store_outbox_done(s->store, ent->key, o.version, 1, "ok",
		    now);
		goto out;
	}
	log_warnx("sync: %s (attempt %u)", pca_err_msg(), ent->attempts + 1);
	audit = m.kind != NULL && strcmp(m.kind, "audit") == 0;
	permanent = audit && ((res.status >= 400 && res.status < 500) ||
				 ent->attempts + 1 >= AUDIT_MAX_ATTEMPTS);
	if (permanent)
		e = store_outbox_done(s->store, ent->key, o.version, 0,
		    pca_err_msg(), now);
	else
		e = store_outbox_retry(s->store, ent->key, o.version,
		    ent->attempts + 1, now + backoff(s, ent->attempts));
out:
	json_decref(m.o);
	store_obj_clear(&o);
	return e;
}

/* One page of the outbox; *last: its last key ("" when it was empty). */
static pca_err
drain_page(struct sync *s, char *last, size_t *queued, size_t *published,
    int *stopped)
{
	struct store_outbox_ent *v = NULL;
	struct batch *b;
	size_t n = 0, i;
	int64_t now = util_now();
	int done;
	pca_err e;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((e = store_outbox_page(s->store, last, SYNC_PAGE, &v, &n)) !=
	    PCA_OK) {
		free(b);
		return e;
	}
	*queued += n;
	for (i = 0; i < n && !*stopped; i++) {
		pthread_mutex_lock(&s->mu);
		*stopped = s->stop;
		pthread_mutex_unlock(&s->mu);
		if (*stopped || v[i].next_try > now)
			continue;
		if ((e = drain_one(s, &v[i], &done, b)) != PCA_OK)
			log_warnx("sync: %s: %s", v[i].key, pca_err_msg());
		*published += (size_t)done;
	}
	batch_flush(s, b);
	free(b);
	(void)snprintf(last, STORE_OBJ_KEY_MAX + 1, "%s",
	    n > 0 ? v[n - 1].key : "");
	free(v);
	return PCA_OK;
}

pca_err
sync_drain(struct sync *s, size_t *published)
{
	char last[STORE_OBJ_KEY_MAX + 1] = "";
	size_t queued = 0, before;
	int stopped = 0;
	pca_err e;

	*published = 0;
	do {
		before = queued;
		if ((e = drain_page(s, last, &queued, published, &stopped)) !=
		    PCA_OK)
			return e;
	} while (!stopped && queued - before == SYNC_PAGE);
	pthread_mutex_lock(&s->mu);
	s->m.queued = queued;
	pthread_mutex_unlock(&s->mu);
	return PCA_OK;
}

static void *
worker(void *arg)
{
	struct sync *s = arg;
	struct timespec ts;
	size_t n;

	for (;;) {
		if (sync_drain(s, &n) != PCA_OK)
			log_warnx("sync: %s", pca_err_msg());
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_mutex_lock(&s->mu);
		while (!s->wake && !s->stop &&
		       pthread_cond_timedwait(&s->cond, &s->mu, &ts) == 0)
			;
		s->wake = 0;
		if (s->stop) {
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		pthread_mutex_unlock(&s->mu);
	}
}

/* ---- life cycle ---- */

pca_err
sync_new(const struct sync_conf *conf, struct store *store, struct sync **out)
{
	struct sync *s;

	if (conf->endpoint == NULL || conf->credentials_file == NULL ||
	    conf->region == NULL)
		return pca_err_set(PCA_EINVAL, "[s3] needs endpoint, region "
					       "and credentials_file");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return pca_err_set(PCA_EINTERNAL, "libcurl does not start");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	s->conf = *conf;
	s->endpoint = strdup(conf->endpoint);
	s->region = strdup(conf->region);
	s->cred_path = strdup(conf->credentials_file);
	s->conf.endpoint = s->endpoint;
	s->conf.region = s->region;
	s->conf.credentials_file = s->cred_path;
	if (s->conf.retry_max_s == 0)
		s->conf.retry_max_s = 900;
	if (s->conf.timeout_s == 0)
		s->conf.timeout_s = 30;
	s->store = store;
	pthread_mutex_init(&s->cmu, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (s->endpoint == NULL || s->region == NULL || s->cred_path == NULL) {
		sync_free(s);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	*out = s;
	return PCA_OK;
}

pca_err
sync_start(struct sync *s)
{
	if (pthread_create(&s->thread, NULL, worker, s) != 0)
		return pca_err_set(PCA_ENOMEM, "cannot start the S3 thread");
	s->started = 1;
	return PCA_OK;
}

void
sync_wake(void *arg)
{
	struct sync *s = arg;

	pthread_mutex_lock(&s->mu);
	s->wake = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

void
sync_free(struct sync *s)
{
	if (s == NULL)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	if (s->dh != NULL)
		curl_easy_cleanup(s->dh);
	OPENSSL_cleanse(s->secret, sizeof(s->secret));
	OPENSSL_cleanse(s->token, sizeof(s->token));
	pthread_mutex_destroy(&s->cmu);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	free(s->endpoint);
	free(s->region);
	free(s->cred_path);
	free(s);
	curl_global_cleanup();
}

void
sync_metrics_get(struct sync *s, struct sync_metrics *m)
{
	pthread_mutex_lock(&s->mu);
	*m = s->m;
	pthread_mutex_unlock(&s->mu);
}

/* ---- the permission probe (spec 5.1) ---- */

pca_err
sync_s3_probe(struct sync *s, const char *bucket, const char *acl)
{
	static const uint8_t body[] = "permission test";
	int priv = acl != NULL && strcmp(acl, "BUCKET_OWNER_FULL_CONTROL") == 0;
	struct s3_put r = {bucket,
	    priv ? "acm-pca-permission-test-key-private"
		 : "acm-pca-permission-test-key",
	    "text/plain", priv ? "bucket-owner-full-control" : "public-read",
	    body, sizeof(body) - 1, 0};
	struct s3_result res;

	if (sync_s3_put(s, &r, &res) == PCA_OK)
		return PCA_OK;
	if (res.status == 404 || strstr(res.body, "NoSuchBucket") != NULL)
		return pca_err_set(PCA_EINVAL,
		    "The S3 bucket %s does not "
		    "exist",
		    bucket);
	if (res.status == 403)
		return pca_err_set(PCA_EVALIDATION,
		    "Permission error with your "
		    "S3 bucket '%s'. Check that your bucket policy, encryption "
		    "settings, S3 Block Public Access settings, and global "
		    "account permissions are configured correctly. Check your "
		    "S3 bucket permissions and try again.",
		    bucket);
	return pca_err_set(PCA_EIO, "Cannot reach S3 to check bucket %s: %s",
	    bucket, pca_err_msg());
}
