/*
 * test_caa.c - acme/caa.c: the issue/issuewild value grammar of RFC 8659
 * 4.2 with the RFC 8657 parameters, then the decision for one RRset as a
 * table (critical flags, issue vs issuewild, empty issuer, accounturi,
 * validationmethods), and the configuration checks of [acme] resolver and
 * caa_identities.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../acme/acme_int.h"

#define ACCT "https://pca.test/acme/x/acct/A1"

static void
test_issue_parse(void **state)
{
	static const struct {
		const char *v;
		int ok;
		const char *domain, *acct, *methods;
	} t[] = {
	    {"pki.example.net", 1, "pki.example.net", "", ""},
	    {"  PKI.Example.NET  ", 1, "pki.example.net", "", ""},
	    {";", 1, "", "", ""},
	    {"", 1, "", "", ""},
	    {"  ;  ", 1, "", "", ""},
	    {"ca.test; accounturi=" ACCT, 1, "ca.test", ACCT, ""},
	    {"ca.test;validationmethods=dns-01,http-01", 1, "ca.test", "",
		"dns-01,http-01"},
	    {"ca.test; accounturi = " ACCT " ; validationmethods=dns-01", 1,
		"ca.test", ACCT, "dns-01"},
	    {"ca.test; other=x", 1, "ca.test", "", ""},
	    {"ca.test; =x", 0, NULL, NULL, NULL},
	    {"ca.test; key", 0, NULL, NULL, NULL},
	    {"ca.test; a=b c=d", 0, NULL, NULL, NULL},
	    {"ca.test extra", 0, NULL, NULL, NULL},
	    {"-ca.test", 0, NULL, NULL, NULL},
	    {"ca..test", 0, NULL, NULL, NULL},
	    {"ca.test.", 0, NULL, NULL, NULL},
	    {"ca_test", 0, NULL, NULL, NULL},
	};
	struct acme_caa_issue o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = acme_caa_issue_parse(t[i].v, strlen(t[i].v), &o);

		if (r != t[i].ok)
			fail_msg("\"%s\": parse %d, want %d", t[i].v, r,
			    t[i].ok);
		if (!t[i].ok)
			continue;
		assert_string_equal(o.domain, t[i].domain);
		assert_string_equal(o.accounturi, t[i].acct);
		assert_string_equal(o.methods, t[i].methods);
	}
}

/* Records as "flags tag value|flags tag value|..." */
static size_t
rrs(const char *spec, struct acme_caa_rr *out, size_t max)
{
	char buf[512], *rec, *next, *tag, *val;
	size_t n = 0;

	(void)snprintf(buf, sizeof(buf), "%s", spec);
	for (rec = buf; rec != NULL && n < max; rec = next) {
		if ((next = strchr(rec, '|')) != NULL)
			*next++ = '\0';
		memset(&out[n], 0, sizeof(out[n]));
		out[n].flags = rec[0] == '1' ? 128 : 0; /* "0" or "128" */
		tag = strchr(rec, ' ') + 1;
		val = strchr(tag, ' ');
		*val++ = '\0';
		(void)snprintf(out[n].tag, sizeof(out[n].tag), "%s", tag);
		out[n].value = strdup(val);
		out[n].len = strlen(val);
		n++;
	}
	return n;
}

static void
test_decide(void **state)
{
	static const char *const ids[] = {"pki.example.net", "ca2.test"};
	static const struct {
		const char *rrs;
		int wild;
		const char *method;
		enum acme_caa_verdict want;
	} t[] = {
	    /* issue */
	    {"0 issue pki.example.net", 0, "dns-01", ACME_CAA_PERMIT},
	    {"0 issue PKI.EXAMPLE.NET", 0, "dns-01", ACME_CAA_PERMIT},
	    {"0 issue ca2.test", 0, "http-01", ACME_CAA_PERMIT},
	    {"0 issue letsencrypt.org", 0, "dns-01", ACME_CAA_FORBID},
	    {"0 issue letsencrypt.org|0 issue pki.example.net", 0, "dns-01",
		ACME_CAA_PERMIT},
	    {"0 issue ;", 0, "dns-01", ACME_CAA_FORBID},
	    {"0 issue ;|0 issue pki.example.net", 0, "dns-01", ACME_CAA_PERMIT},
	    {"0 issue pki.example.net extra", 0, "dns-01", ACME_CAA_FORBID},
	    /* no issue property at all */
	    {"0 iodef mailto:sec@example.test", 0, "dns-01", ACME_CAA_PERMIT},
	    {"0 issuewild letsencrypt.org", 0, "dns-01", ACME_CAA_PERMIT},
	    /* critical flags */
	    {"128 tbs unknown|0 issue pki.example.net", 0, "dns-01",
		ACME_CAA_FORBID},
	    {"0 tbs unknown|0 issue pki.example.net", 0, "dns-01",
		ACME_CAA_PERMIT},
	    {"128 issue pki.example.net", 0, "dns-01", ACME_CAA_PERMIT},
	    {"128 ISSUE pki.example.net", 0, "dns-01", ACME_CAA_PERMIT},
	    /* wildcards */
	    {"0 issue pki.example.net", 1, "dns-01", ACME_CAA_PERMIT},
	    {"0 issue pki.example.net|0 issuewild ;", 1, "dns-01",
		ACME_CAA_FORBID},
	    {"0 issue letsencrypt.org|0 issuewild pki.example.net", 1, "dns-01",
		ACME_CAA_PERMIT},
	    {"0 issue letsencrypt.org|0 issuewild pki.example.net", 0, "dns-01",
		ACME_CAA_FORBID},
	    {"0 issue pki.example.net|0 issuewild letsencrypt.org", 1, "dns-01",
		ACME_CAA_FORBID},
	    /* RFC 8657 */
	    {"0 issue pki.example.net; accounturi=" ACCT, 0, "dns-01",
		ACME_CAA_PERMIT},
	    {"0 issue pki.example.net; accounturi=" ACCT "2", 0, "dns-01",
		ACME_CAA_FORBID},
	    {"0 issue pki.example.net; validationmethods=dns-01", 0, "dns-01",
		ACME_CAA_PERMIT},
	    {"0 issue pki.example.net; validationmethods=dns-01", 0, "http-01",
		ACME_CAA_FORBID},
	    {"0 issue pki.example.net; validationmethods=http-01,dns-01", 0,
		"dns-01", ACME_CAA_PERMIT},
	    {"0 issue pki.example.net; validationmethods=dns-01x", 0, "dns-01",
		ACME_CAA_FORBID},
	};
	struct acme_caa_rr r[8];
	struct acme_caa_req q;
	char why[300];
	size_t i, n, k;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = rrs(t[i].rrs, r, 8);
		memset(&q, 0, sizeof(q));
		q.ids = ids;
		q.nids = 2;
		q.wildcard = t[i].wild;
		q.account_uri = ACCT;
		q.method = t[i].method;
		why[0] = '\0';
		if (acme_caa_decide(r, n, &q, why, sizeof(why)) != t[i].want)
			fail_msg("case %zu \"%s\" (wildcard %d, %s): %s", i,
			    t[i].rrs, t[i].wild, t[i].method, why);
		assert_true(why[0] != '\0');
		for (k = 0; k < n; k++)
			free(r[k].value);
	}
}

static void
test_forbid_says_why(void **state)
{
	static const char *const ids[] = {"pki.example.net"};
	struct acme_caa_rr r[2];
	struct acme_caa_req q;
	char why[300];
	size_t n, k;

	(void)state;
	memset(&q, 0, sizeof(q));
	q.ids = ids;
	q.nids = 1;
	n = rrs("0 issue letsencrypt.org", r, 2);
	assert_int_equal(acme_caa_decide(r, n, &q, why, sizeof(why)),
	    ACME_CAA_FORBID);
	assert_non_null(strstr(why, "pki.example.net"));
	assert_non_null(strstr(why, "another CA"));
	for (k = 0; k < n; k++)
		free(r[k].value);
	n = rrs("128 future x", r, 2);
	assert_int_equal(acme_caa_decide(r, n, &q, why, sizeof(why)),
	    ACME_CAA_FORBID);
	assert_non_null(strstr(why, "critical"));
	for (k = 0; k < n; k++)
		free(r[k].value);
}

static void
test_conf_checks(void **state)
{
	struct acme_conf c;
	struct acme_dnsconf d;

	(void)state;
	assert_true(acme_resolver_ok("127.0.0.1"));
	assert_true(acme_resolver_ok("127.0.0.1:5353,[::1]:53"));
	assert_true(acme_resolver_ok("::1"));
	assert_false(acme_resolver_ok(""));
	assert_false(acme_resolver_ok("127.0.0.1:0"));
	assert_false(acme_resolver_ok("127.0.0.1:65536"));
	assert_false(acme_resolver_ok("dns.example:53"));
	assert_false(acme_resolver_ok("127.0.0.1,"));
	assert_false(acme_resolver_ok("1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,"
				      "1.1.1.5"));
	assert_true(acme_caa_ids_ok("pki.example.net"));
	assert_true(acme_caa_ids_ok("pki.example.net,Other.Test"));
	assert_false(acme_caa_ids_ok("pki.example.net,"));
	assert_false(acme_caa_ids_ok("pki example"));
	assert_false(acme_caa_ids_ok("*.example.net"));
	memset(&c, 0, sizeof(c));
	c.resolver = "127.0.0.1:5353";
	c.caa_identities = "PKI.example.net,ca2.test";
	c.timeout_s = 3;
	acme_dnsconf_set(&d, &c);
	assert_string_equal(d.dns.servers, "127.0.0.1:5353");
	assert_int_equal(d.dns.timeout_s, 3);
	assert_int_equal(d.nids, 2);
	assert_string_equal(d.ids[0], "pki.example.net");
	assert_string_equal(d.ids[1], "ca2.test");
	c.caa_identities = NULL;
	c.resolver = NULL;
	acme_dnsconf_set(&d, &c);
	assert_null(d.dns.servers);
	assert_int_equal(d.nids, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_issue_parse),
	    cmocka_unit_test(test_decide),
	    cmocka_unit_test(test_forbid_says_why),
	    cmocka_unit_test(test_conf_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
