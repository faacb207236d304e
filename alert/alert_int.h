/* alert_int.h - shared by the alert/ files. */
#ifndef PCA_ALERT_INT_H
#define PCA_ALERT_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "alert.h"

#define ALERT_KINDS 3

struct alert {
	struct alert_conf c;
	struct store *store;
	pthread_t th;
	int started;
	pthread_mutex_t lk;	/* stop, cv; one pass at a time */
	pthread_cond_t cv;
	int stop;
	_Atomic uint64_t raised[ALERT_KINDS];
	_Atomic uint64_t sent, failed;
};

/* Counts a raised alert of kind for /metrics. */
void alert_count(struct alert *, const char *kind);
pca_err alert_feed_pass(struct alert *) PCA_WUR;

#endif
