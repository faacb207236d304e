/*
 * test_monitor.c - monitor/: thresholds, refusal counters, and the expiry
 * webhook's once-per-(certificate, threshold) record across a restart,
 * with a fake receiver in place of HTTP.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "../../../common/buf.h"
#include "../../../monitor/monitor.h"
#include "../../../store/store.h"
#include "../testlib.h"

#define CA "0b9f7f0e-3c1e-4a43-9d65-2f3b8a9c0d11"
#define DAY 86400

static char dir[64];

struct rx {
	int status; /* what the fake receiver answers */
	int n;
	char ids[16][128];
};

static int
fake_post(void *arg, const char *url, const char *json, const char *idem)
{
	struct rx *r = arg;

	assert_string_equal(url, "http://127.0.0.1:9/hook");
	assert_non_null(strstr(json, "\"certificate.expiring\""));
	assert_non_null(strstr(json, idem));
	if (r->status >= 200 && r->status < 300 && r->n < 16)
		(void)snprintf(r->ids[r->n++], 128, "%s", idem);
	return r->status;
}

static int
count(const struct rx *r, const char *suffix)
{
	int i, n = 0;
	size_t l = strlen(suffix);

	for (i = 0; i < r->n; i++)
		if (strlen(r->ids[i]) > l &&
		    strcmp(r->ids[i] + strlen(r->ids[i]) - l, suffix) == 0)
			n++;
	return n;
}

static void
put_cert_as(struct store *s, uint8_t serial, int64_t now, int64_t na,
    const char *tmpl, const char *who)
{
	struct store_cert c;
	uint8_t tbs[4] = {0x30, 0x02, 0x05, 0x00};
	uint8_t der[4] = {0x30, 0x02, 0x05, 0x00};

	memset(&c, 0, sizeof(c));
	memcpy(c.ca_id, CA, 37);
	memset(c.serial, 0x11, 16);
	c.serial[15] = serial;
	c.serial_len = 16;
	c.state = STORE_CERT_PENDING;
	c.not_before = now - 60;
	c.not_after = na;
	c.issued_at = now - 60;
	(void)snprintf(c.template_name, sizeof(c.template_name), "%s", tmpl);
	(void)snprintf(c.requested_by, sizeof(c.requested_by), "%s", who);
	c.tbs = tbs;
	c.tbs_len = sizeof(tbs);
	assert_int_equal(store_cert_reserve(s, &c), PCA_OK);
	assert_int_equal(
	    store_cert_complete(s, CA, c.serial, 16, der, sizeof(der)), PCA_OK);
}

static void
put_cert(struct store *s, uint8_t serial, int64_t now, int64_t na)
{
	put_cert_as(s, serial, now, na, "EE/V1", "test");
}

static struct mon *
new_mon(struct store *s, struct rx *r)
{
	struct mon_conf c;
	struct mon *m = NULL;

	memset(&c, 0, sizeof(c));
	c.webhook_url = "http://127.0.0.1:9/hook";
	assert_int_equal(mon_thresholds_parse("1,30,7", &c), PCA_OK);
	c.interval_s = 60;
	c.post = fake_post;
	c.post_arg = r;
	assert_int_equal(mon_new(&c, s, &m), PCA_OK);
	return m;
}

static void
test_thresholds(void **state)
{
	struct mon_conf c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(mon_thresholds_parse("30,7,1", &c), PCA_OK);
	assert_int_equal(c.nthresholds, 3);
	assert_int_equal(c.thresholds[1], 7);
	assert_int_equal(mon_thresholds_parse("", &c), PCA_EINVAL);
	assert_int_equal(mon_thresholds_parse("0", &c), PCA_EINVAL);
	assert_int_equal(mon_thresholds_parse("7,,1", &c), PCA_EINVAL);
	assert_int_equal(mon_thresholds_parse("x", &c), PCA_EINVAL);
	assert_int_equal(mon_thresholds_parse("1,2,3,4,5,6,7,8,9", &c),
	    PCA_EINVAL);
}

static void
test_refusals(void **state)
{
	struct mon_conf c;
	struct mon *m = NULL;
	struct buf b;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(mon_new(&c, NULL, &m), PCA_OK);
	mon_refusal_note(m, "policy web_server: rule key.rsa_min_bits: 1024");
	mon_refusal_note(m, "policy web_server: rule key.rsa_min_bits: 1024");
	mon_refusal_note(m, "policy x\"y: rule san.dns: deny");
	mon_refusal_note(m, "not a policy message");
	buf_init(&b, 1 << 20);
	assert_int_equal(mon_metrics_render(m, &b), PCA_OK);
	assert_int_equal(buf_nul(&b), PCA_OK);
	assert_non_null(strstr((char *)b.p,
	    "pcad_policy_refusals_total{"
	    "policy=\"web_server\",rule=\"key.rsa_min_bits\"} 2\n"));
	assert_non_null(strstr((char *)b.p, "policy=\"x_y\",rule=\"san.dns\"} "
					    "1\n"));
	assert_non_null(
	    strstr((char *)b.p, "pcad_issuance_duration_seconds_count 0\n"));
	buf_free(&b);
	mon_free(m);
}

static void
test_webhook_once(void **state)
{
	struct store *s = NULL;
	struct rx r;
	struct mon *m;
	struct buf b;
	int64_t now = 1800000000;
	uint8_t ser[16];

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-mon"), 0);
	s = testlib_store_open(dir, 64 << 20);
	put_cert(s, 1, now, now + 3 * DAY);  /* 7 (30 covered) */
	put_cert(s, 2, now, now + 20 * DAY); /* 30, later 7 */
	put_cert(s, 3, now, now + 40 * DAY); /* nothing yet */
	put_cert(s, 4, now, now + 2 * DAY);  /* revoked: nothing */
	put_cert(s, 5, now, now - 5);        /* expired: nothing */
	memset(ser, 0x11, 16);
	ser[15] = 4;
	assert_int_equal(store_cert_revoke(s, CA, ser, 16, now, 1), PCA_OK);

	memset(&r, 0, sizeof(r));
	r.status = 503; /* receiver down */
	m = new_mon(s, &r);
	assert_int_equal(mon_pass(m, now), PCA_OK);
	assert_int_equal(r.n, 0);
	r.status = 200;
	assert_int_equal(mon_pass(m, now + 1), PCA_OK); /* backing off */
	assert_int_equal(r.n, 0);
	assert_int_equal(mon_pass(m, now + 61), PCA_OK);
	assert_int_equal(r.n, 2);
	assert_int_equal(count(&r, "01/7"), 1);
	assert_int_equal(count(&r, "02/30"), 1);
	buf_init(&b, 1 << 20);
	assert_int_equal(mon_metrics_render(m, &b), PCA_OK);
	assert_int_equal(buf_nul(&b), PCA_OK);
	assert_non_null(strstr((char *)b.p,
	    "pcad_certificates_expiring{ca=\"" CA "\",within=\"7d\"} 1\n"));
	assert_non_null(strstr((char *)b.p,
	    "pcad_certificates_expiring{ca=\"" CA "\",within=\"30d\"} 2\n"));
	assert_non_null(strstr((char *)b.p, "pcad_webhook_sent_total 2\n"));
	buf_free(&b);
	assert_int_equal(mon_pass(m, now + 120), PCA_OK);
	assert_int_equal(r.n, 2);
	mon_free(m);

	/* a restart: the same store, a new monitor */
	store_close(s);
	s = NULL;
	s = testlib_store_open(dir, 64 << 20);
	m = new_mon(s, &r);
	assert_int_equal(mon_pass(m, now + 180), PCA_OK);
	assert_int_equal(r.n, 2);
	/* time passes: #2 crosses 7 days, #1 crosses 1 day, #3 crosses 30 */
	assert_int_equal(mon_pass(m, now + 14 * DAY), PCA_OK);
	assert_int_equal(count(&r, "02/7"), 1);
	assert_int_equal(count(&r, "03/30"), 1);
	assert_int_equal(mon_pass(m, now + 2 * DAY + 3600), PCA_OK);
	assert_int_equal(count(&r, "01/1"), 1);
	assert_int_equal(mon_pass(m, now + 2 * DAY + 7200), PCA_OK);
	assert_int_equal(r.n, 5);
	assert_int_equal(count(&r, "/30"), 2);
	assert_int_equal(count(&r, "04/7") + count(&r, "05/1"), 0);
	mon_free(m);
	store_close(s);
	testlib_dir_remove(dir);
}

/*
 * The delegated OCSP responder certificate the appliance rolls over itself
 * (30 days, from day one) is neither "expiring" nor notified; it has a
 * gauge of its own.  An OCSPSigning certificate someone else asked for is
 * an ordinary certificate.
 */
static void
test_responder_apart(void **state)
{
	struct store *s = NULL;
	struct rx r;
	struct mon *m;
	struct buf b;
	int64_t now = 1800000000;

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-mon"), 0);
	s = testlib_store_open(dir, 64 << 20);
	put_cert_as(s, 1, now, now + 29 * DAY,
	    "OCSPSigningCertificate_APIPassthrough/V1", "ocsp-responder");
	put_cert_as(s, 2, now, now + 5 * DAY,
	    "OCSPSigningCertificate_APIPassthrough/V1", "ocsp-responder");
	put_cert_as(s, 3, now, now + 20 * DAY,
	    "OCSPSigningCertificate_APIPassthrough/V1", "AKIAEXAMPLE");
	put_cert(s, 4, now, now + 25 * DAY);
	memset(&r, 0, sizeof(r));
	r.status = 200;
	m = new_mon(s, &r);
	assert_int_equal(mon_pass(m, now), PCA_OK);
	assert_int_equal(r.n, 2); /* #3 and #4 only */
	assert_int_equal(count(&r, "01/30") + count(&r, "02/7"), 0);
	buf_init(&b, 1 << 20);
	assert_int_equal(mon_metrics_render(m, &b), PCA_OK);
	assert_int_equal(buf_nul(&b), PCA_OK);
	assert_non_null(strstr((char *)b.p,
	    "pcad_certificates_expiring{ca=\"" CA "\",within=\"30d\"} 2\n"));
	assert_non_null(strstr((char *)b.p,
	    "pcad_certificates_expiring{ca=\"" CA "\",within=\"7d\"} 0\n"));
	assert_non_null(strstr((char *)b.p,
	    "# TYPE pcad_ocsp_responder_certificates_expiring gauge\n"));
	assert_non_null(
	    strstr((char *)b.p, "pcad_ocsp_responder_certificates_"
				"expiring{ca=\"" CA "\",within=\"30d\"} 2\n"));
	assert_non_null(
	    strstr((char *)b.p, "pcad_ocsp_responder_certificates_"
				"expiring{ca=\"" CA "\",within=\"7d\"} 1\n"));
	buf_free(&b);
	mon_free(m);
	store_close(s);
	testlib_dir_remove(dir);
}

/*
 * The counts follow the store's change feed: issuances and revocations
 * recorded after the pass (by any process: here straight into the store)
 * show on the next scrape, with no recount.
 */
static void
test_feed_counts(void **state)
{
	struct store *s = NULL;
	struct mon_conf c;
	struct mon *m = NULL;
	struct buf b;
	int64_t now = 1800000000;
	uint8_t ser[16];

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-mon"), 0);
	s = testlib_store_open(dir, 64 << 20);
	put_cert(s, 1, now, now + 40 * DAY); /* before the recount */
	memset(&c, 0, sizeof(c));
	c.interval_s = 60;
	assert_int_equal(mon_new(&c, s, &m), PCA_OK);
	assert_int_equal(mon_pass(m, now), PCA_OK); /* the position */
	put_cert(s, 2, now, now + 40 * DAY);
	put_cert(s, 3, now, now + 40 * DAY);
	put_cert(s, 4, now, now + 40 * DAY);
	memset(ser, 0x11, 16);
	ser[15] = 2;
	assert_int_equal(store_cert_revoke(s, CA, ser, 16, now, 1), PCA_OK);
	buf_init(&b, 1 << 20);
	assert_int_equal(mon_metrics_render(m, &b), PCA_OK);
	assert_int_equal(buf_nul(&b), PCA_OK);
	/* 2, 3 and 4 issued, 2 revoked (no engine: no recount of 1) */
	assert_non_null(strstr((char *)b.p,
	    "pcad_certificates{ca=\"" CA "\",status=\"active\"} 2\n"));
	assert_non_null(strstr((char *)b.p,
	    "pcad_certificates{ca=\"" CA "\",status=\"revoked\"} 1\n"));
	buf_free(&b);
	/* a scrape applies each record once */
	buf_init(&b, 1 << 20);
	assert_int_equal(mon_metrics_render(m, &b), PCA_OK);
	assert_int_equal(buf_nul(&b), PCA_OK);
	assert_non_null(strstr((char *)b.p,
	    "pcad_certificates{ca=\"" CA "\",status=\"active\"} 2\n"));
	buf_free(&b);
	mon_free(m);
	store_close(s);
	testlib_dir_remove(dir);
}

/*
 * The expiry window is walked in chunks (memory does not grow with the
 * certificates in it): 9,000 certificates, 5,000 of them expiring in the
 * same second (a chunk boundary inside one notAfter), are each counted once.
 */
static void
test_window_chunks(void **state)
{
	struct store *s = NULL;
	struct store_cert c;
	struct mon_conf mc;
	struct mon *m = NULL;
	struct buf b;
	int64_t now = 1800000000;
	uint8_t tbs[4] = {0x30, 0x02, 0x05, 0x00};
	int i;

	(void)state;
	assert_int_equal(testlib_dir_make(dir, sizeof(dir), "pca-mon"), 0);
	s = testlib_store_open(dir, 256 << 20);
	for (i = 0; i < 9000; i++) {
		memset(&c, 0, sizeof(c));
		memcpy(c.ca_id, CA, 37);
		memset(c.serial, 0x22, 16);
		c.serial[14] = (uint8_t)(i >> 8);
		c.serial[15] = (uint8_t)i;
		c.serial_len = 16;
		c.state = STORE_CERT_PENDING;
		c.not_before = now - 60;
		c.not_after = i < 5000 ? now + 10 * DAY : now + 20 * DAY + i;
		c.issued_at = now - 60;
		(void)snprintf(c.template_name, sizeof(c.template_name), "EE");
		c.tbs = tbs;
		c.tbs_len = sizeof(tbs);
		assert_int_equal(store_cert_reserve(s, &c), PCA_OK);
		assert_int_equal(
		    store_cert_complete(s, CA, c.serial, 16, tbs, sizeof(tbs)),
		    PCA_OK);
	}
	memset(&mc, 0, sizeof(mc));
	mc.interval_s = 60;
	assert_int_equal(mon_new(&mc, s, &m), PCA_OK);
	assert_int_equal(mon_pass(m, now), PCA_OK);
	buf_init(&b, 1 << 20);
	assert_int_equal(mon_metrics_render(m, &b), PCA_OK);
	assert_int_equal(buf_nul(&b), PCA_OK);
	assert_non_null(strstr((char *)b.p,
	    "pcad_certificates_expiring{ca=\"" CA "\",within=\"30d\"} 9000\n"));
	assert_non_null(strstr((char *)b.p,
	    "pcad_certificates_expiring{ca=\"" CA "\",within=\"7d\"} 0\n"));
	buf_free(&b);
	mon_free(m);
	store_close(s);
	testlib_dir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_thresholds),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_webhook_once),
	    cmocka_unit_test(test_window_chunks),
	    cmocka_unit_test(test_responder_apart),
	    cmocka_unit_test(test_feed_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
