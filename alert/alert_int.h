/* alert_int.h - shared by the alert/ files. */
#ifndef PCA_ALERT_INT_H
#define PCA_ALERT_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "../common/limits.h"
#include "alert.h"

#define ALERT_KINDS 7
#define ALERT_UNK_SLOTS 4096 /* recent (CA, serial) hashes */

struct alert_unk {
	char ca[40];
	uint8_t serial[LIM_SERIAL_BYTES];
	size_t len;
};

struct alert {
	struct alert_conf c;
	struct store *store;
	pthread_t th;
	int started;
	pthread_mutex_t lk; /* stop, cv; one pass at a time */
	pthread_cond_t cv;
	int stop;
	_Atomic uint64_t raised[ALERT_KINDS];
	_Atomic uint64_t sent, failed;
	/* OCSP unknown serials (alert_note_unknown) */
	_Atomic uint64_t unk_seen[ALERT_UNK_SLOTS];
	pthread_mutex_t uk;      /* the fields below */
	struct alert_unk *unk_q; /* unknown_per_min entries */
	size_t unk_n;
	int64_t unk_min;    /* minute of unk_taken */
	unsigned unk_taken; /* queued this minute */
	uint64_t unk_flood; /* dropped over the bound since the last pass */
};

/* Counts a raised alert of kind for /metrics. */
void alert_count(struct alert *, const char *kind);
pca_err alert_feed_pass(struct alert *) PCA_WUR;
/* Raises the queued unknown-serial alerts and the flood count. */
pca_err alert_unknown_pass(struct alert *, int64_t now) PCA_WUR;
/*
 * A rate window of key (ALERT_NS_RATE): n more events at when; out: the
 * window's start, its count and the threshold it is judged against.  The
 * window never moves back (a late count joins the current window).
 */
struct alert_rate {
	const char *key;
	int64_t when;
	size_t n;
	unsigned sigma, floor;
	int64_t win;  /* out */
	size_t count; /* out */
	double thr;   /* out */
};
pca_err alert_rate_note(struct alert *, struct alert_rate *) PCA_WUR;
/* Flushes this process's refusal counts, then judges every record. */
pca_err alert_refusal_pass(struct alert *, int64_t now) PCA_WUR;
pca_err alert_raise(struct alert *, const char *id, const char *kind,
    json_t *detail, int64_t now) PCA_WUR;

#endif
