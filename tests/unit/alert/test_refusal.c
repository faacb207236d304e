/*
 * test_refusal.c - alert/: refused issuances counted in memory and written
 * as one store record per flush (none when nothing was refused; bounded
 * table), and the refusal_spike detector: a (principal, rule)'s refusals
 * ten times its baseline raise exactly one alert, not again on later passes
 * nor after a restart; another rule or principal keeps its own baseline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../../alert/alert.h"
#include "../../../store/store.h"
#include "../testlib.h"

#define T0 1000000 /* a window start (window 10 s) */

static char dir[TESTLIB_DIR_LEN];

static struct store *
open_store(void)
{
	return testlib_store_open(dir, 64 << 20);
}

struct recs {
	size_t n;
	json_t *last;
};

static int
rec_cb(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct recs *r = arg;

	(void)key;
	r->n++;
	json_decref(r->last);
	r->last = json_loadb((const char *)val, len, 0, NULL);
	return 0;
}

static struct recs
records(struct store *s)
{
	struct recs r = {0, NULL};

	assert_int_equal(store_kv_foreach(s, ALERT_NS_REFUSALS, rec_cb, &r),
	    PCA_OK);
	return r;
}

/* How many records there are (the last one's JSON freed). */
static size_t
nrecords(struct store *s)
{
	struct recs r = records(s);

	json_decref(r.last);
	return r.n;
}

static void
test_flush(void **state)
{
	struct store *s = open_store();
	struct alert_refusals *r = NULL;
	struct recs rc;
	char who[32];
	int i;

	(void)state;
	assert_int_equal(alert_refusals_new(s, 10, &r), PCA_OK);
	assert_int_equal(alert_refusals_flush(r, T0), PCA_OK);
	assert_int_equal(nrecords(s), 0); /* nothing refused: no write */
	for (i = 0; i < 3; i++)
		alert_refusal_note(r, "AKIA1", "web:key.rsa_min_bits", T0 + i);
	alert_refusal_note(r, "acme:x/y|z", "lint:x", T0 + 1);
	assert_int_equal(alert_refusals_flush(r, T0 + 2), PCA_OK);
	rc = records(s);
	assert_int_equal(rc.n, 1);
	assert_int_equal(json_array_size(json_object_get(rc.last, "e")), 2);
	/* one entry of 3, the other's '/' and '|' replaced */
	assert_int_equal(
	    json_integer_value(json_array_get(
		json_array_get(json_object_get(rc.last, "e"), 0), 3)),
	    3);
	assert_string_equal(
	    json_string_value(json_array_get(
		json_array_get(json_object_get(rc.last, "e"), 1), 0)),
	    "acme:x_y_z");
	json_decref(rc.last);
	assert_int_equal(alert_refusals_flush(r, T0 + 3), PCA_OK);
	assert_int_equal(nrecords(s), 1); /* nothing new: no write */
	/* the bound: ALERT_REF_SLOTS + 44 distinct principals */
	for (i = 0; i < ALERT_REF_SLOTS + 44; i++) {
		(void)snprintf(who, sizeof(who), "AK%d", i);
		alert_refusal_note(r, who, "web:san", T0 + 5);
	}
	assert_int_equal(alert_refusals_flush(r, T0 + 6), PCA_OK);
	rc = records(s);
	assert_int_equal(rc.n, 2);
	assert_int_equal(json_array_size(json_object_get(rc.last, "e")),
	    ALERT_REF_SLOTS);
	assert_int_equal(
	    json_integer_value(json_object_get(rc.last, "dropped")), 44);
	json_decref(rc.last);
	alert_refusals_free(r);
	store_close(s);
}

static size_t
spikes(struct store *s, const char *who)
{
	json_t *l = NULL, *o;
	size_t i, n = 0;

	assert_int_equal(alert_list(s, &l), PCA_OK);
	json_array_foreach (l, i, o) {
		json_t *d = json_object_get(o, "detail");

		if (strcmp(json_string_value(json_object_get(o, "kind")),
			"refusal_spike") == 0 &&
		    strcmp(json_string_value(json_object_get(d, "principal")),
			who) == 0)
			n++;
	}
	json_decref(l);
	return n;
}

/* n refusals of who by rule at when, then one pass at when. */
static void
refuse(struct alert *a, struct alert_refusals *r, const char *who,
    const char *rule, int n, int64_t when)
{
	int i;

	for (i = 0; i < n; i++)
		alert_refusal_note(r, who, rule, when);
	assert_int_equal(alert_pass(a, when), PCA_OK);
}

static void
test_spike(void **state)
{
	struct store *s = open_store();
	struct alert_refusals *r = NULL;
	struct alert_conf c = {NULL, 10, 4, 3, 3, 1, 1, 0, 3, 3, NULL};
	struct alert *a = NULL;
	json_t *l = NULL;

	(void)state;
	assert_int_equal(alert_refusals_new(s, 10, &r), PCA_OK);
	c.refusals = r;
	assert_int_equal(alert_new(&c, s, &a), PCA_OK);
	/* the baseline: one refusal a window, for two principals */
	refuse(a, r, "AK1", "web:key", 1, T0);
	refuse(a, r, "AK2", "web:key", 1, T0);
	refuse(a, r, "AK1", "web:key", 1, T0 + 10);
	refuse(a, r, "AK2", "web:key", 1, T0 + 10);
	assert_int_equal(spikes(s, "AK1"), 0);
	/* ten times AK1's baseline, over three passes of one window */
	refuse(a, r, "AK1", "web:key", 4, T0 + 21);
	refuse(a, r, "AK1", "web:key", 3, T0 + 22);
	refuse(a, r, "AK1", "web:key", 3, T0 + 23);
	assert_int_equal(spikes(s, "AK1"), 1);
	assert_int_equal(spikes(s, "AK2"), 0);
	assert_int_equal(alert_list(s, &l), PCA_OK);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(l, 0), "id")),
	    "refrate/AK1|web:key/1000020");
	json_decref(l);
	assert_int_equal(nrecords(s), 0); /* each record read once */
	/* a restart: a new instance, more refusals in the same window */
	alert_free(a);
	assert_int_equal(alert_new(&c, s, &a), PCA_OK);
	refuse(a, r, "AK1", "web:key", 5, T0 + 24);
	assert_int_equal(spikes(s, "AK1"), 1);
	/* another rule has its own baseline: 2 refusals stay under floor */
	refuse(a, r, "AK1", "web:other", 2, T0 + 25);
	assert_int_equal(spikes(s, "AK1"), 1);
	alert_free(a);
	alert_refusals_free(r);
	store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_prestate_setup_teardown(test_flush,
		testlib_dir_setup, testlib_dir_teardown, dir),
	    cmocka_unit_test_prestate_setup_teardown(test_spike,
		testlib_dir_setup, testlib_dir_teardown, dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
