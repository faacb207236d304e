/*
 * pcad_responder.c - pcad --role responder: a read-only replica that
 * answers OCSP and serves CRLs from what a primary publishes to S3 ([ocsp]
 * publish), with a local LMDB cache ([responder] cache).  No token is
 * opened and the issuing store is never touched; run as many as needed
 * behind any load balancer.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../http/http.h"
#include "../ocsp/ocsp.h"
#include "../store/store.h"
#include "../sync/sync.h"
#include "appliance.h"
#include "pcad_proc.h"

static pca_err
s3_fetch(void *arg, const char *bucket, const char *key, struct buf *out)
{
	return sync_s3_get_mem(arg, bucket, key, out);
}

static pca_err
s3_list(void *arg, const char *bucket, const char *prefix,
    int (*cb)(const char *key, uint64_t size, void *cbarg), void *cbarg)
{
	return sync_s3_list(arg, bucket, prefix, cb, cbarg);
}

struct replica {
	struct store *cache;
	struct sync *s3;
	struct http_server *http;
	struct ocsp_replica *rp;
};

static void
replica_free(struct replica *r)
{
	http_stop(r->http, 5);
	ocsp_replica_free(r->rp);
	sync_free(r->s3);
	store_close(r->cache);
}

static pca_err
replica_start(const struct appliance_conf *a, struct replica *r)
{
	struct store_conf stc = {.path = a->responder_cache};
	struct sync_conf sc = {a->s3_endpoint, a->s3_region, a->s3_path_style,
	    a->s3_credentials_file, a->s3_retry_max_s, a->s3_timeout_s};
	struct ocsp_replica_conf rc;
	struct http_conf hc;
	pca_err err;

	if (a->ocsp.publish_bucket[0] == '\0')
		return pca_err_set(PCA_EINVAL,
		    "%s: the responder role needs "
		    "[ocsp] publish = s3://BUCKET/PREFIX",
		    conf_name(a->conf));
	memset(&hc, 0, sizeof(hc));
	hc.tls_listen = a->api_listen;
	hc.tls_cert = a->api_tls_cert;
	hc.tls_key = a->api_tls_key;
	hc.max_conns = a->api_max_conns;
	hc.timeout_s = a->api_timeout_s;
	hc.plain_listen = a->http_listen;
	hc.head_timeout_s = a->http_header_timeout_s;
	hc.per_ip_conns = a->http_per_ip_conns;
	(void)mkdir(a->responder_cache, 0700);
	if ((err = http_server_new(&hc, &r->http)) != PCA_OK ||
	    (err = store_open(&stc, &r->cache)) != PCA_OK ||
	    (err = sync_new(&sc, r->cache, &r->s3)) != PCA_OK)
		return err;
	memset(&rc, 0, sizeof(rc));
	rc.bucket = a->ocsp.publish_bucket;
	rc.prefix = a->ocsp.publish_prefix;
	rc.crl_bucket = a->responder_crl_bucket;
	rc.poll_ms = a->responder_poll_ms;
	rc.fetch = s3_fetch;
	rc.list = s3_list;
	rc.arg = r->s3;
	if ((err = ocsp_replica_new(&rc, r->cache, &r->rp)) != PCA_OK ||
	    (err = ocsp_replica_register(r->rp, r->http, a->engine.ocsp_url)) !=
		PCA_OK)
		return err;
	return http_start(r->http);
}

int
pcad_responder_serve(const char *path)
{
	struct appliance_conf a;
	struct replica r;
	sigset_t set;
	int sig = 0;

	memset(&r, 0, sizeof(r));
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (appliance_conf_load(path, &a) != PCA_OK)
		fatalx("%s", pca_err_msg());
	log_init("pcad", a.log_level);
	if (pcad_proc_drop(&a, 0) != PCA_OK ||
	    replica_start(&a, &r) != PCA_OK) {
		log_warnx("%s", pca_err_msg());
		replica_free(&r);
		appliance_conf_free(&a);
		return 1;
	}
	log_info("pcad ready (role responder, s3://%s/%s)",
	    a.ocsp.publish_bucket, a.ocsp.publish_prefix);
	while (sigwait(&set, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		if (sig == SIGHUP)
			log_info("SIGHUP: the responder role reads its "
				 "configuration at start only (restart it)");
	log_info("signal %d: stopping", sig);
	replica_free(&r);
	appliance_conf_free(&a);
	return 0;
}
