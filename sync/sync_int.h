/*
 * sync_int.h - shared by sync.c (the outbox drain) and s3.c (one PUT).
 */
#ifndef PCA_SYNC_INT_H
#define PCA_SYNC_INT_H

#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/crypto.h>

#include "../common/buf.h"
#include "sync.h"

struct sync {
	struct sync_conf conf;
	char *endpoint, *region, *cred_path;
	struct store *store;
	pthread_mutex_t cmu; /* credentials */
	char akid[128];
	char secret[128];
	char token[2048];
	struct timespec cred_mtime;
	pthread_mutex_t mu; /* below */
	pthread_cond_t cond;
	int wake, stop, started;
	pthread_t thread;
	struct sync_metrics m;
	void *dh; /* the drain thread's CURL handle */
};

struct s3_put {
	const char *bucket;
	const char *key;
	const char *content_type;
	const char *acl; /* x-amz-acl or NULL */
	const uint8_t *body;
	size_t len;
	int if_none_match; /* "If-None-Match: *": create only */
};

struct s3_result {
	long status;     /* HTTP status, 0 when none */
	char body[1024]; /* start of the response body */
	size_t body_len;
};

/* (Re)reads the credentials file when it changed. */
pca_err sync_creds_load(struct sync *) PCA_WUR;
/* PCA_EIO when there is no 2xx answer (res->status tells which). */
pca_err sync_s3_put(struct sync *, const struct s3_put *,
    struct s3_result *) PCA_WUR;
/*
 * The same on the drain thread's own handle, whose connection is kept
 * alive from one upload to the next (no TCP/TLS set-up per object).
 */
pca_err sync_s3_put_keep(struct sync *, const struct s3_put *,
    struct s3_result *) PCA_WUR;

#endif
