/*
 * follow.c - the counts behind pcad_certificates kept current from the
 * store's change feed: an issuance or revocation made by any process (pcad
 * or pcactl) moves them, with no recount.  A recount sets the feed position
 * the counts stand at; each pass and each scrape applies the records after
 * it.
 */
#include <string.h>

#include "../common/log.h"
#include "mon_int.h"

#define FEED_BATCH 100000 /* records applied per call */
#define ACK_EVERY_S 30    /* our cursor, recorded this often */

struct apply {
	struct mon *m;
	int64_t now;
};

/* A revocation moves one certificate from active (or expired) to revoked. */
static void
apply_revoked(struct mon *m, const struct store_change *c, int64_t now)
{
	struct store_cert sc;
	struct mon_ca *ca;
	int expired = 0;

	if (store_cert_get(m->store, c->ca_id, c->serial, c->serial_len, &sc) ==
	    PCA_OK) {
		expired = sc.not_after <= now;
		store_cert_clear(&sc);
	} else {
		pca_err_clear(); /* purged since: the recount fixes it */
	}
	pthread_mutex_lock(&m->cnt_lk);
	if ((ca = mon_ca_get(m, c->ca_id)) != NULL) {
		if (expired && ca->expired > 0)
			ca->expired--;
		else if (!expired && ca->active > 0)
			ca->active--;
		ca->revoked++;
	}
	pthread_mutex_unlock(&m->cnt_lk);
}

static int
apply_cb(const struct store_change *c, void *arg)
{
	struct apply *a = arg;
	struct mon_ca *ca;

	if (c->ca_id[0] == '\0')
		return 0;
	switch (c->type) {
	case STORE_CHG_CERT_ISSUED:
		pthread_mutex_lock(&a->m->cnt_lk);
		if ((ca = mon_ca_get(a->m, c->ca_id)) != NULL)
			ca->active++;
		pthread_mutex_unlock(&a->m->cnt_lk);
		break;
	case STORE_CHG_CERT_REVOKED:
		apply_revoked(a->m, c, a->now);
		break;
	case STORE_CHG_CA_PURGED:
		pthread_mutex_lock(&a->m->cnt_lk);
		if ((ca = mon_ca_get(a->m, c->ca_id)) != NULL)
			ca->active = ca->expired = ca->revoked = ca->pending =
			    ca->exp7 = ca->exp30 = 0;
		pthread_mutex_unlock(&a->m->cnt_lk);
		break;
	default:
		break;
	}
	return 0;
}

/* feed_lk held. */
static void
apply_locked(struct mon *m, int64_t now)
{
	struct apply a = {m, now};
	struct store_feed_pos pos;

	do {
		if (store_changes_after(m->store, m->feed_seq, FEED_BATCH,
			apply_cb, &a, &pos) != PCA_OK) {
			log_warnx("monitor: reading the change feed: %s",
			    pca_err_msg());
			pca_err_clear();
			return;
		}
		m->feed_seq = pos.last;
		if (pos.gap) {
			/* records we never read are gone: count afresh */
			m->feed_on = 0;
			return;
		}
	} while (pos.more);
}

int
mon_feed_apply(struct mon *m, int64_t now, int wait)
{
	int on;

	if (m->store == NULL)
		return 0;
	if (wait)
		pthread_mutex_lock(&m->feed_lk);
	else if (pthread_mutex_trylock(&m->feed_lk) != 0)
		return 1; /* a recount or a pass is at it */
	if (m->feed_on)
		apply_locked(m, now);
	on = m->feed_on;
	if (on && wait && now - m->feed_acked_at >= ACK_EVERY_S) {
		m->feed_acked_at = now;
		if (store_feed_ack(m->store, MON_FEED_NAME, m->feed_seq) !=
		    PCA_OK) {
			log_warnx("monitor: recording the change feed cursor: "
				  "%s",
			    pca_err_msg());
			pca_err_clear();
		}
	}
	pthread_mutex_unlock(&m->feed_lk);
	return on;
}

pca_err
mon_feed_head(struct mon *m, uint64_t *head)
{
	pca_err err;

	if (m->store == NULL) {
		*head = 0;
		return PCA_OK;
	}
	if (!m->feed_followed) {
		if ((err = store_feed_follow(m->store, MON_FEED_NAME, NULL)) !=
		    PCA_OK)
			return err;
		m->feed_followed = 1;
	}
	return store_feed_head(m->store, head);
}
