/*
 * feed.c - the change feed shipped to S3 for point-in-time recovery, and
 * read back by pcactl restore --replay-feed and store verify --against-s3.
 *
 * A batch object is JSON: {"Format": "openpca-feed", "Version": 1,
 * "First": n, "Last": m, "Records": [...]}, each record {"Seq", "Type"
 * (ISSUED, REVOKED, CA, CA_PURGED, KEY), "When", "CaId", "Serial" (hex)}
 * plus, for ISSUED, "Der" (base64), "Template", "RequestedBy",
 * "IssuedAt"; for REVOKED, "RevokedAt" and "Reason"; for CA, "Ca" (the CA
 * record's JSON text).  Every feed record is in some batch (KEY records
 * carry no data: access keys are not shipped), so the sequences of the
 * objects are contiguous.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../store/store.h"
#include "../sync/sync.h"
#include "backup.h"

static const char *const type_names[] = {"", "ISSUED", "REVOKED", "CA",
    "CA_PURGED", "KEY"};

struct batch {
	struct store_change *c;
	size_t n, cap;
};

static int
collect_cb(const struct store_change *c, void *arg)
{
	struct batch *b = arg;
	struct store_change *t;

	if (b->n == b->cap) {
		if ((t = realloc(b->c,
			 (b->cap ? 2 * b->cap : 64) * sizeof(*t))) == NULL)
			return 1;
		b->c = t;
		b->cap = b->cap ? 2 * b->cap : 64;
	}
	b->c[b->n++] = *c;
	return 0;
}

static pca_err
rec_issued(struct store *st, const struct store_change *c, json_t *o)
{
	struct store_cert sc;
	char *b64 = NULL;
	pca_err err;

	if ((err = store_cert_get(st, c->ca_id, c->serial, c->serial_len,
		 &sc)) != PCA_OK)
		return err == PCA_ENOTFOUND ? PCA_OK : err; /* purged */
	if (sc.der != NULL &&
	    (err = util_b64_encode(sc.der, sc.der_len, &b64)) == PCA_OK &&
	    (json_object_set_new(o, "Der", json_string(b64)) ||
		json_object_set_new(o, "Template",
		    json_string(sc.template_name)) ||
		json_object_set_new(o, "RequestedBy",
		    json_string(sc.requested_by)) ||
		json_object_set_new(o, "IssuedAt", json_integer(sc.issued_at))))
		err = pca_err_set(PCA_ENOMEM, "no memory");
	free(b64);
	store_cert_clear(&sc);
	return err;
}

static pca_err
rec_revoked(struct store *st, const struct store_change *c, json_t *o)
{
	struct store_cert sc;
	pca_err err;

	if ((err = store_cert_get(st, c->ca_id, c->serial, c->serial_len,
		 &sc)) != PCA_OK)
		return err == PCA_ENOTFOUND ? PCA_OK : err;
	if (sc.revoked &&
	    (json_object_set_new(o, "RevokedAt", json_integer(sc.revoked_at)) ||
		json_object_set_new(o, "Reason", json_integer(sc.reason))))
		err = pca_err_set(PCA_ENOMEM, "no memory");
	store_cert_clear(&sc);
	return err;
}

static pca_err
rec_ca(struct store *st, const struct store_change *c, json_t *o)
{
	char *js = NULL;
	size_t len;
	pca_err err;

	if ((err = store_ca_get(st, c->ca_id, &js, &len)) != PCA_OK)
		return err == PCA_ENOTFOUND ? PCA_OK : err;
	if (json_object_set_new(o, "Ca", json_stringn(js, len)))
		err = pca_err_set(PCA_ENOMEM, "no memory");
	free(js);
	return err;
}

static pca_err
rec_json(struct store *st, const struct store_change *c, json_t *arr)
{
	char hex[2 * LIM_SERIAL_BYTES + 1];
	json_t *o;
	pca_err err = PCA_OK;

	util_hex(c->serial, c->serial_len, hex, sizeof(hex), 0);
	o = json_pack("{s:I,s:s,s:I,s:s,s:s}", "Seq", (json_int_t)c->seq,
	    "Type", (unsigned)c->type < 6 ? type_names[c->type] : "", "When",
	    (json_int_t)c->when, "CaId", c->ca_id, "Serial", hex);
	if (o == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if (c->type == STORE_CHG_CERT_ISSUED)
		err = rec_issued(st, c, o);
	else if (c->type == STORE_CHG_CERT_REVOKED)
		err = rec_revoked(st, c, o);
	else if (c->type == STORE_CHG_CA)
		err = rec_ca(st, c, o);
	if (err == PCA_OK && json_array_append(arr, o) != 0)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	json_decref(o);
	return err;
}

/* <prefix>/feed/ (prefix without trailing slashes) into out. */
static pca_err
feed_prefix(const struct bk_s3 *p, char *out, size_t n)
{
	size_t l = strlen(p->key);

	while (l > 0 && p->key[l - 1] == '/')
		l--;
	if (snprintf(out, n, "%.*s%sfeed/", (int)l, p->key, l ? "/" : "") >=
	    (int)n)
		return pca_err_set(PCA_EINVAL, "S3 prefix too long");
	return PCA_OK;
}

pca_err
bk_feed_ship_once(struct store *st, struct bk_s3 *p, size_t *shipped)
{
	struct batch b = {NULL, 0, 0};
	struct store_feed_pos pos;
	char key[1200], pre[1100];
	json_t *doc = NULL, *arr = NULL;
	char *text = NULL;
	uint64_t cursor = 0;
	size_t i;
	pca_err err;

	*shipped = 0;
	if ((err = feed_prefix(p, pre, sizeof(pre))) != PCA_OK ||
	    (err = store_feed_follow(st, BK_FEED_NAME, &cursor)) != PCA_OK ||
	    (err = store_changes_after(st, cursor, BK_FEED_BATCH_MAX,
		 collect_cb, &b, &pos)) != PCA_OK)
		goto out;
	if (pos.gap)
		log_warnx("feed shipping: records after %llu were pruned "
			  "before they were shipped: point-in-time recovery "
			  "has a hole there",
		    (unsigned long long)cursor);
	if (b.n == 0) {
		/* only pruned records after the cursor: move past them */
		if (pos.last > cursor)
			err = store_feed_ack(st, BK_FEED_NAME, pos.last);
		goto out;
	}
	if ((arr = json_array()) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	for (i = 0; i < b.n && err == PCA_OK; i++)
		err = rec_json(st, &b.c[i], arr);
	if (err != PCA_OK)
		goto out;
	doc = json_pack("{s:s,s:i,s:I,s:I,s:O}", "Format", BK_FEED_FORMAT,
	    "Version", 1, "First", (json_int_t)b.c[0].seq, "Last",
	    (json_int_t)b.c[b.n - 1].seq, "Records", arr);
	if (doc == NULL || (text = json_dumps(doc, JSON_COMPACT)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	(void)snprintf(key, sizeof(key), "%s%020llu-%020llu.json", pre,
	    (unsigned long long)b.c[0].seq,
	    (unsigned long long)b.c[b.n - 1].seq);
	if ((err = sync_s3_put_mem(p->sync, p->bucket, key, "application/json",
		 text, strlen(text))) != PCA_OK ||
	    (err = store_feed_ack(st, BK_FEED_NAME, b.c[b.n - 1].seq)) !=
		PCA_OK)
		goto out;
	*shipped = b.n;
out:
	free(text);
	json_decref(doc);
	json_decref(arr);
	free(b.c);
	return err;
}

/* ---- reading it back ---- */

struct obj {
	char key[1200];
	uint64_t first, last;
};

struct objs {
	struct obj *o;
	size_t n, cap;
	size_t pre_len;
	int bad;
};

static int
list_cb(const char *key, uint64_t size, void *arg)
{
	struct objs *l = arg;
	const char *name = key + l->pre_len;
	unsigned long long a, z;
	struct obj *t;
	int end = 0;

	(void)size;
	if (strlen(key) >= sizeof(l->o->key) ||
	    sscanf(name, "%20llu-%20llu.json%n", &a, &z, &end) != 2 ||
	    name[end] != '\0' || a == 0 || z < a)
		return 0; /* not ours: ignored */
	if (l->n == l->cap) {
		if ((t = realloc(l->o,
			 (l->cap ? 2 * l->cap : 64) * sizeof(*t))) == NULL) {
			l->bad = 1;
			return 1;
		}
		l->o = t;
		l->cap = l->cap ? 2 * l->cap : 64;
	}
	(void)snprintf(l->o[l->n].key, sizeof(l->o->key), "%s", key);
	l->o[l->n].first = a;
	l->o[l->n].last = z;
	l->n++;
	return 0;
}

static pca_err
obj_get(struct bk_s3 *p, const char *key, json_t **out)
{
	char path[PATH_MAX];
	const char *t = getenv("TMPDIR");
	json_error_t je;
	uint8_t *data = NULL;
	size_t len;
	int fd;
	pca_err err;

	(void)snprintf(path, sizeof(path), "%s/openpca-feed.XXXXXX",
	    t != NULL && *t ? t : "/tmp");
	if ((fd = mkstemp(path)) < 0)
		return pca_err_set(PCA_EIO, "%s: %s", path, strerror(errno));
	err = sync_s3_get_file(p->sync, p->bucket, key, fd, BK_FEED_OBJ_MAX);
	close(fd);
	if (err == PCA_OK)
		err = util_file_read(path, BK_FEED_OBJ_MAX, &data, &len);
	(void)unlink(path);
	if (err != PCA_OK)
		return err;
	*out = json_loadb((const char *)data, len, 0, &je);
	free(data);
	if (*out == NULL || !json_is_array(json_object_get(*out, "Records")))
		return pca_err_set(PCA_EPARSE,
		    "s3://%s/%s: not a feed object "
		    "(%s)",
		    p->bucket, key, je.text);
	return PCA_OK;
}

static int
type_of(const char *s)
{
	int i;

	for (i = 1; i < 6; i++)
		if (s != NULL && strcmp(s, type_names[i]) == 0)
			return i;
	return 0;
}

static pca_err
rec_parse(struct bk_s3 *p, const char *key, const json_t *r,
    pca_err (*cb)(const struct bk_feed_rec *, void *), void *arg)
{
	struct bk_feed_rec f;
	uint8_t serial[LIM_SERIAL_BYTES], *der = NULL;
	const char *hex = json_string_value(json_object_get(r, "Serial"));
	const char *b64 = json_string_value(json_object_get(r, "Der"));
	pca_err err = PCA_OK;

	memset(&f, 0, sizeof(f));
	f.seq = (uint64_t)json_integer_value(json_object_get(r, "Seq"));
	f.type = type_of(json_string_value(json_object_get(r, "Type")));
	f.when = json_integer_value(json_object_get(r, "When"));
	f.ca_id = json_string_value(json_object_get(r, "CaId"));
	if (f.ca_id == NULL || f.type == 0 || hex == NULL ||
	    (*hex && util_unhex(hex, serial, sizeof(serial), &f.serial_len) !=
			 PCA_OK))
		return pca_err_set(PCA_EPARSE,
		    "s3://%s/%s: record %llu is "
		    "malformed",
		    p->bucket, key, (unsigned long long)f.seq);
	f.serial = serial;
	if (b64 != NULL && (err = util_b64_decode(b64, strlen(b64), LIM_CERT,
				&der, &f.der_len)) != PCA_OK)
		return err;
	f.der = der;
	f.template_name = json_string_value(json_object_get(r, "Template"));
	f.requested_by = json_string_value(json_object_get(r, "RequestedBy"));
	if (json_object_get(r, "IssuedAt") != NULL)
		f.when = json_integer_value(json_object_get(r, "IssuedAt"));
	f.revoked_at = json_integer_value(json_object_get(r, "RevokedAt"));
	f.reason = (int)json_integer_value(json_object_get(r, "Reason"));
	f.ca_json = json_string_value(json_object_get(r, "Ca"));
	err = cb(&f, arg);
	free(der);
	return err;
}

pca_err
bk_feed_last(struct bk_s3 *p, uint64_t *last)
{
	return bk_feed_last_after(p, 0, last);
}

pca_err
bk_feed_last_after(struct bk_s3 *p, uint64_t known, uint64_t *last)
{
	struct objs l;
	char pre[1100], from[1200] = "";
	size_t i;
	pca_err err;

	memset(&l, 0, sizeof(l));
	*last = 0;
	if ((err = feed_prefix(p, pre, sizeof(pre))) != PCA_OK)
		return err;
	l.pre_len = strlen(pre);
	if (known > BK_FEED_BATCH_MAX) /* as in bk_feed_read */
		(void)snprintf(from, sizeof(from), "%s%020llu", pre,
		    (unsigned long long)(known - BK_FEED_BATCH_MAX));
	if ((err = sync_s3_list_after(p->sync, p->bucket, pre,
		 from[0] ? from : NULL, list_cb, &l)) == PCA_OK &&
	    l.bad)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	for (i = 0; err == PCA_OK && i < l.n; i++)
		if (l.o[i].last > *last)
			*last = l.o[i].last;
	free(l.o);
	return err;
}

pca_err
bk_feed_read(struct bk_s3 *p, uint64_t after,
    pca_err (*cb)(const struct bk_feed_rec *, void *arg), void *arg,
    uint64_t *last)
{
	struct objs l;
	char pre[1100], from[1200] = "";
	uint64_t next = after == BK_FEED_FROM_FIRST ? 1 : after + 1, seq;
	json_t *doc = NULL, *recs, *r;
	size_t i, k;
	pca_err err;

	memset(&l, 0, sizeof(l));
	if ((err = feed_prefix(p, pre, sizeof(pre))) != PCA_OK)
		return err;
	l.pre_len = strlen(pre);
	/*
	 * An object holds at most BK_FEED_BATCH_MAX sequences, so one holding
	 * next starts after next - BK_FEED_BATCH_MAX: the listing starts
	 * there (a follower does not list the whole feed every second).
	 */
	if (after != BK_FEED_FROM_FIRST && next > BK_FEED_BATCH_MAX)
		(void)snprintf(from, sizeof(from), "%s%020llu", pre,
		    (unsigned long long)(next - BK_FEED_BATCH_MAX));
	if ((err = sync_s3_list_after(p->sync, p->bucket, pre,
		 from[0] ? from : NULL, list_cb, &l)) != PCA_OK)
		goto out;
	if (l.bad) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if (after == BK_FEED_FROM_FIRST && l.n > 0)
		next = l.o[0].first;
	for (i = 0; i < l.n && err == PCA_OK; i++) {
		if (l.o[i].last < next)
			continue; /* before the backup, or re-shipped */
		if (l.o[i].first > next) {
			err = pca_err_set(PCA_EDB,
			    "the shipped change feed "
			    "has a hole: records %llu to %llu are not in "
			    "s3://%s/%s",
			    (unsigned long long)next,
			    (unsigned long long)l.o[i].first - 1, p->bucket,
			    pre);
			break;
		}
		if ((err = obj_get(p, l.o[i].key, &doc)) != PCA_OK)
			break;
		recs = json_object_get(doc, "Records");
		json_array_foreach (recs, k, r) {
			seq = (uint64_t)json_integer_value(
			    json_object_get(r, "Seq"));
			if (seq < next)
				continue;
			if (seq != next) {
				err = pca_err_set(PCA_EDB,
				    "s3://%s/%s: record "
				    "%llu where %llu was expected",
				    p->bucket, l.o[i].key,
				    (unsigned long long)seq,
				    (unsigned long long)next);
				break;
			}
			if ((err = rec_parse(p, l.o[i].key, r, cb, arg)) !=
			    PCA_OK)
				break;
			next++;
		}
		json_decref(doc);
		doc = NULL;
	}
	if (err == PCA_OK && last != NULL)
		*last = next - 1;
out:
	free(l.o);
	return err;
}

pca_err
bk_feed_resume(struct store *st, struct bk_s3 *p)
{
	uint64_t last, head;
	pca_err err;

	if ((err = bk_feed_last(p, &last)) != PCA_OK ||
	    (err = store_feed_head(st, &head)) != PCA_OK)
		return err;
	if (last <= head)
		return PCA_OK;
	log_warnx("feed shipping: s3://%s/%s already holds changes up to %llu "
		  "and this store's feed ends at %llu (restored without "
		  "--replay-feed?): the changes in between are not in this "
		  "store; new ones continue after %llu",
	    p->bucket, p->key, (unsigned long long)last,
	    (unsigned long long)head, (unsigned long long)last);
	if ((err = store_feed_advance(st, last)) != PCA_OK)
		return err;
	return store_feed_ack(st, BK_FEED_NAME, last);
}

/* Placeholder records first..last (type KEY: no data) in one object. */
static pca_err
filler_put(struct bk_s3 *p, const char *pre, uint64_t first, uint64_t last)
{
	json_t *arr = json_array(), *doc = NULL;
	char key[1200], *text = NULL;
	uint64_t k;
	pca_err err = PCA_OK;

	for (k = first; arr != NULL && k <= last && err == PCA_OK; k++)
		if (json_array_append_new(arr,
			json_pack("{s:I,s:s,s:I,s:s,"
				  "s:s}",
			    "Seq", (json_int_t)k, "Type", "KEY", "When",
			    (json_int_t)util_now(), "CaId", "", "Serial",
			    "")) != 0)
			err = pca_err_set(PCA_ENOMEM, "no memory");
	if (arr == NULL || err != PCA_OK ||
	    (doc = json_pack("{s:s,s:i,s:I,s:I,s:O}", "Format", BK_FEED_FORMAT,
		 "Version", 1, "First", (json_int_t)first, "Last",
		 (json_int_t)last, "Records", arr)) == NULL ||
	    (text = json_dumps(doc, JSON_COMPACT)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	(void)snprintf(key, sizeof(key), "%s%020llu-%020llu.json", pre,
	    (unsigned long long)first, (unsigned long long)last);
	err = sync_s3_put_mem(p->sync, p->bucket, key, "application/json", text,
	    strlen(text));
out:
	free(text);
	json_decref(doc);
	json_decref(arr);
	return err;
}

pca_err
bk_feed_align(struct store *st, struct bk_s3 *p)
{
	char pre[1100];
	uint64_t last, head, k, z;
	pca_err err;

	if ((err = feed_prefix(p, pre, sizeof(pre))) != PCA_OK ||
	    (err = store_feed_follow(st, BK_FEED_NAME, NULL)) != PCA_OK ||
	    (err = bk_feed_last(p, &last)) != PCA_OK ||
	    (err = store_feed_head(st, &head)) != PCA_OK)
		return err;
	if (last >= head) {
		if (last > head &&
		    (err = store_feed_advance(st, last)) != PCA_OK)
			return err;
		return store_feed_ack(st, BK_FEED_NAME, last);
	}
	for (k = last + 1; k <= head; k = z + 1) {
		z = head - k < BK_FEED_BATCH_MAX ? head
						 : k + BK_FEED_BATCH_MAX - 1;
		if ((err = filler_put(p, pre, k, z)) != PCA_OK)
			return err;
	}
	return store_feed_ack(st, BK_FEED_NAME, head);
}
