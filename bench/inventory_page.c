/*
 * inventory_page - times one OpenPCA.ListCertificates page ("expiring
 * within 30 days": Status ISSUED, ExpiringBefore now + 30 d) through the
 * inventory handler in-process, over a store filled by inv_fill.
 *
 *   inventory_page STORE_DIR NOW PAGE RUNS CA_ID...
 *
 * Prints the median and worst page time in ms and the items per page.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../api/inventory.h"
#include "../common/util.h"

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct store_conf sc = {0};
	struct api_inv_ca cas[16];
	struct api_inv_query q;
	struct api_inv_page pg;
	struct store *st = NULL;
	struct timespec t0;
	double t[1000];
	size_t items = 0;
	long long runs, now, max;
	int i, n = 0;

	if (argc < 6)
		return 2;
	if (util_strtonum(argv[4], 1, 1000, &runs) != PCA_OK)
		runs = 10;
	if (util_strtonum(argv[2], 0, INT64_MAX, &now) != PCA_OK ||
	    util_strtonum(argv[3], 1, 1000000, &max) != PCA_OK) {
		fprintf(stderr, "inventory_page: %s\n", pca_err_msg());
		return 2;
	}
	for (i = 5; i < argc && n < 16; i++, n++) {
		(void)snprintf(cas[n].id, sizeof(cas[n].id), "%s", argv[i]);
		(void)snprintf(cas[n].arn, sizeof(cas[n].arn),
		    "arn:aws:acm-pca:us-east-1:123456789012:"
		    "certificate-authority/%s",
		    argv[i]);
	}
	qsort(cas, (size_t)n, sizeof(cas[0]),
	    (int (*)(const void *, const void *))strcmp);
	sc.path = argv[1];
	sc.read_only = 0;
	if (store_open(&sc, &st) != PCA_OK) {
		fprintf(stderr, "inventory_page: %s\n", pca_err_msg());
		return 1;
	}
	memset(&q, 0, sizeof(q));
	q.cas = cas;
	q.ncas = (size_t)n;
	q.status = "ISSUED";
	q.now = now;
	q.has_before = 1;
	q.before = q.now + 30 * 86400;
	q.max = (size_t)max;
	q.max_scan = API_INV_SCAN_MAX;
	for (i = 0; i < runs; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (api_inv_list(st, &q, &pg) != PCA_OK) {
			fprintf(stderr, "inventory_page: %s\n", pca_err_msg());
			return 1;
		}
		t[i] = ms_since(&t0);
		items = json_array_size(pg.items);
		json_decref(pg.items);
	}
	qsort(t, (size_t)runs, sizeof(t[0]), dcmp);
	printf("inventory page (expiring within 30 days, %zu items): "
	       "median %.2f ms, worst %.2f ms, best %.2f ms%s\n",
	    items, t[runs / 2], t[runs - 1], t[0],
	    t[runs - 1] < 50 ? "" : "  [over 50 ms]");
	store_close(st);
	return 0;
}
