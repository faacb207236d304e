/* testlib_store.c - an LMDB store opened for a test (store/). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../store/store.h"
#include "testlib.h"

struct store *
testlib_store_open(const char *dir, size_t map_max)
{
	struct store_conf c = {dir, 1 << 20, map_max, STORE_NOSYNC, 0};
	struct store *s = NULL;

	if (store_open(&c, &s) != PCA_OK)
		fail_msg("store_open %s: %s", dir, pca_err_msg());
	return s;
}

void
testlib_store_cert(struct store_cert *c, const char *ca, uint32_t serial,
    int64_t not_after, uint8_t *tbs, size_t tbs_len)
{
	memset(c, 0, sizeof(*c));
	(void)snprintf(c->ca_id, sizeof(c->ca_id), "%s", ca);
	c->serial[0] = 0x40; /* positive, fixed length */
	c->serial[1] = (uint8_t)(serial >> 24);
	c->serial[2] = (uint8_t)(serial >> 16);
	c->serial[3] = (uint8_t)(serial >> 8);
	c->serial[4] = (uint8_t)serial;
	c->serial_len = 5;
	c->state = STORE_CERT_PENDING;
	c->not_before = not_after - 86400;
	c->not_after = not_after;
	c->issued_at = not_after - 86400;
	(void)snprintf(c->template_name, sizeof(c->template_name),
	    "EndEntityCertificate/V1");
	(void)snprintf(c->requested_by, sizeof(c->requested_by), "test");
	memset(tbs, (int)(serial & 0xff), tbs_len);
	c->tbs = tbs;
	c->tbs_len = tbs_len;
}
