/*
 * job.c - pcad's scheduled discovery ([discovery]): one scan of the
 * configured targets at start and every interval_s, each chain recorded.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "disc.h"

struct disc_job {
	struct disc_job_conf c;
	struct store *store;
	pthread_t th;
	pthread_mutex_t lk;
	pthread_cond_t cv;
	int stop;
};

/* One run: scan, then record every presented certificate. */
static void
job_run(struct disc_job *j)
{
	struct disc_import_stats st = {0, 0, 0};
	struct disc_result *res = NULL;
	struct disc_seen seen;
	char where[DISC_HOST_MAX + 12];
	size_t i, k, up = 0;

	if (disc_scan(&j->c.scan, &j->c.targets, &res) != PCA_OK) {
		log_warnx("discovery: %s", pca_err_msg());
		pca_err_clear();
		return;
	}
	for (i = 0; i < j->c.targets.n; i++) {
		if (!res[i].ok)
			continue;
		up++;
		(void)snprintf(where, sizeof(where), "%s:%s",
		    j->c.targets.t[i].host, j->c.targets.t[i].port);
		seen = (struct disc_seen){where, j->c.targets.t[i].sni, "scan",
		    util_now()};
		for (k = 0; k < res[i].n; k++)
			if (disc_record(j->store, &j->c.ours, res[i].der[k],
				res[i].len[k], &seen, &st) != PCA_OK) {
				log_warnx("discovery: %s: %s", where,
				    pca_err_msg());
				pca_err_clear();
			}
	}
	log_info("discovery: %zu of %zu endpoints answered; %zu of ours, "
		 "%zu external (%zu new)",
	    up, j->c.targets.n, st.ours, st.external, st.new_external);
	disc_results_free(res, j->c.targets.n);
}

static void *
job_main(void *arg)
{
	struct disc_job *j = arg;
	struct timespec due;
	int stop;

	for (;;) {
		job_run(j);
		(void)clock_gettime(CLOCK_REALTIME, &due);
		due.tv_sec += (time_t)j->c.interval_s;
		pthread_mutex_lock(&j->lk);
		while (!j->stop && pthread_cond_timedwait(&j->cv, &j->lk,
				       &due) != ETIMEDOUT)
			;
		stop = j->stop;
		pthread_mutex_unlock(&j->lk);
		if (stop)
			return NULL;
	}
}

pca_err
disc_job_start(struct disc_job_conf *c, struct store *st, struct disc_job **out)
{
	struct disc_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	j->c = *c;
	if (j->c.interval_s == 0)
		j->c.interval_s = 3600;
	j->store = st;
	pthread_mutex_init(&j->lk, NULL);
	pthread_cond_init(&j->cv, NULL);
	if (pthread_create(&j->th, NULL, job_main, j) != 0) {
		pthread_mutex_destroy(&j->lk);
		pthread_cond_destroy(&j->cv);
		free(j);
		return pca_err_set(PCA_ENOMEM, "no discovery thread");
	}
	c->targets.t = NULL; /* the job owns them now */
	c->targets.n = 0;
	*out = j;
	return PCA_OK;
}

void
disc_job_stop(struct disc_job *j)
{
	if (j == NULL)
		return;
	pthread_mutex_lock(&j->lk);
	j->stop = 1;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->lk);
	(void)pthread_join(j->th, NULL);
	pthread_mutex_destroy(&j->lk);
	pthread_cond_destroy(&j->cv);
	disc_targets_free(&j->c.targets);
	free(j);
}
