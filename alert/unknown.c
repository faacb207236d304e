/*
 * unknown.c - OCSP questions about serials we never issued: a bounded,
 * lock-cheap intake on the serving threads (alert_note_unknown), drained
 * into alerts by the alert thread (alert_unknown_pass).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "../store/store.h"
#include "alert_int.h"

/* FNV-1a over CA id and serial; never 0 (an empty slot). */
static uint64_t
unk_hash(const char *ca, const uint8_t *sn, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; ca[i] != '\0'; i++)
		h = (h ^ (uint8_t)ca[i]) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (i = 0; i < len; i++)
		h = (h ^ sn[i]) * 1099511628211ULL;
	return h != 0 ? h : 1;
}

void
alert_note_unknown(void *arg, const char *ca_id, const uint8_t *serial,
    size_t len)
{
	struct alert *a = arg;
	uint64_t h;
	int64_t min;
	size_t slot;

	if (a == NULL || len == 0 || len > LIM_SERIAL_BYTES ||
	    strlen(ca_id) >= sizeof(a->unk_q[0].ca))
		return;
	h = unk_hash(ca_id, serial, len);
	slot = (size_t)(h % ALERT_UNK_SLOTS);
	/* a repeat of a recent question: nothing to do, no lock */
	if (atomic_exchange(&a->unk_seen[slot], h) == h)
		return;
	min = util_now() / 60;
	pthread_mutex_lock(&a->uk);
	if (a->unk_min != min) {
		a->unk_min = min;
		a->unk_taken = 0;
	}
	if (a->unk_taken < a->c.unknown_per_min &&
	    a->unk_n < a->c.unknown_per_min) {
		memcpy(a->unk_q[a->unk_n].ca, ca_id, strlen(ca_id) + 1);
		memcpy(a->unk_q[a->unk_n].serial, serial, len);
		a->unk_q[a->unk_n].len = len;
		a->unk_n++;
		a->unk_taken++;
	} else
		a->unk_flood++;
	pthread_mutex_unlock(&a->uk);
}

/* Adds n to the count of flood alert id; PCA_ENOTFOUND: not raised yet. */
static pca_err
flood_add(struct alert *a, const char *id, uint64_t n)
{
	uint8_t *val = NULL;
	size_t len;
	json_t *o = NULL, *d;
	char *text = NULL;
	pca_err err;

	if ((err = store_kv_get(a->store, ALERT_NS, id, &val, &len)) != PCA_OK)
		goto out;
	if ((o = json_loadb((const char *)val, len, 0, NULL)) == NULL ||
	    (d = json_object_get(o, "detail")) == NULL) {
		err = pca_err_set(PCA_EDB, "alert %.200s does not parse", id);
		goto out;
	}
	(void)json_object_set_new(d, "count",
	    json_integer(json_integer_value(json_object_get(d, "count")) +
			 (json_int_t)n));
	if ((text = json_dumps(o, JSON_COMPACT)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "out of memory");
	else
		err =
		    store_kv_put(a->store, ALERT_NS, id, text, strlen(text), 0);
out:
	free(val);
	free(text);
	json_decref(o);
	return err;
}

pca_err
alert_unknown_pass(struct alert *a, int64_t now)
{
	struct alert_unk *q = NULL;
	char hex[2 * LIM_SERIAL_BYTES + 1], id[160];
	uint64_t flood;
	size_t i, n;
	json_t *d;
	pca_err err = PCA_OK;

	if ((q = calloc(a->c.unknown_per_min, sizeof(*q))) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	pthread_mutex_lock(&a->uk);
	n = a->unk_n;
	memcpy(q, a->unk_q, n * sizeof(*q));
	a->unk_n = 0;
	flood = a->unk_flood;
	a->unk_flood = 0;
	pthread_mutex_unlock(&a->uk);
	for (i = 0; i < n && err == PCA_OK; i++) {
		util_hex(q[i].serial, q[i].len, hex, sizeof(hex), 0);
		(void)snprintf(id, sizeof(id), "unknown/%s/%s", q[i].ca, hex);
		if ((d = json_pack("{s:s,s:s}", "ca_id", q[i].ca, "serial",
			 hex)) == NULL)
			err = pca_err_set(PCA_ENOMEM, "out of memory");
		else
			err = alert_raise(a, id, "ocsp_unknown_serial", d, now);
		json_decref(d);
	}
	if (err == PCA_OK && flood > 0) {
		(void)snprintf(id, sizeof(id), "unknown-flood/%lld",
		    (long long)(now / 60 * 60));
		if ((d = json_pack("{s:I,s:I}", "count", (json_int_t)flood,
			 "per_minute_bound",
			 (json_int_t)a->c.unknown_per_min)) == NULL)
			err = pca_err_set(PCA_ENOMEM, "out of memory");
		else if ((err = flood_add(a, id, flood)) == PCA_ENOTFOUND) {
			pca_err_clear(); /* the first flood of this minute */
			err = alert_raise(a, id, "ocsp_unknown_flood", d, now);
		}
		json_decref(d);
	}
	free(q);
	return err;
}
