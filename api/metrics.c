/*
 * metrics.c - request counters and latency histograms for /metrics
 * (Prometheus text exposition format 0.0.4), lock-free on the hot path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

static const double bounds[API_LAT_BUCKETS - 1] = {0.001, 0.0025, 0.005, 0.01,
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};
static const char *const outcome_names[API_OUT_MAX] = {"ok", "client_error",
    "server_error"};

pca_err
api_metrics_init(struct api_metrics *m)
{
	size_t n = api_nops + 1;

	memset(m, 0, sizeof(*m));
	m->count = calloc(n * API_OUT_MAX, sizeof(*m->count));
	m->lat = calloc(n * API_LAT_BUCKETS, sizeof(*m->lat));
	m->lat_sum_us = calloc(n, sizeof(*m->lat_sum_us));
	if (m->count == NULL || m->lat == NULL || m->lat_sum_us == NULL) {
		api_metrics_free(m);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	return PCA_OK;
}

void
api_metrics_free(struct api_metrics *m)
{
	free(m->count);
	free(m->lat);
	free(m->lat_sum_us);
	memset(m, 0, sizeof(*m));
}

void
api_metrics_observe(struct api_metrics *m, size_t op, int status,
    double seconds)
{
	int out = status < 400   ? API_OUT_OK
		  : status < 500 ? API_OUT_CLIENT
				 : API_OUT_SERVER;
	size_t b;

	if (op > api_nops)
		op = api_nops;
	for (b = 0; b < API_LAT_BUCKETS - 1 && seconds > bounds[b]; b++)
		;
	atomic_fetch_add(&m->count[op * API_OUT_MAX + (size_t)out], 1);
	atomic_fetch_add(&m->lat[op * API_LAT_BUCKETS + b], 1);
	atomic_fetch_add(&m->lat_sum_us[op], (uint64_t)(seconds * 1e6 + 0.5));
}

static const char *
op_name(size_t i)
{
	return i < api_nops ? api_ops[i].name : "none";
}

static pca_err
render_counts(struct api_metrics *m, struct buf *b)
{
	size_t i;
	int o;
	pca_err err;

	err = buf_addstr(b, "# HELP pcad_api_requests_total API requests by "
			    "operation and outcome.\n"
			    "# TYPE pcad_api_requests_total counter\n");
	for (i = 0; i <= api_nops && err == PCA_OK; i++)
		for (o = 0; o < API_OUT_MAX && err == PCA_OK; o++)
			err = buf_printf(b,
			    "pcad_api_requests_total{op=\"%s\",outcome=\"%s\"} "
			    "%llu\n",
			    op_name(i), outcome_names[o],
			    (unsigned long long)atomic_load(
				&m->count[i * API_OUT_MAX + (size_t)o]));
	return err;
}

static pca_err
render_histogram(struct api_metrics *m, struct buf *b)
{
	uint64_t cum, n;
	size_t i, k;
	pca_err err;

	err = buf_addstr(b, "# HELP pcad_api_request_duration_seconds API "
			    "request latency.\n"
			    "# TYPE pcad_api_request_duration_seconds "
			    "histogram\n");
	for (i = 0; i <= api_nops && err == PCA_OK; i++) {
		for (cum = 0, k = 0; k < API_LAT_BUCKETS; k++)
			cum += atomic_load(&m->lat[i * API_LAT_BUCKETS + k]);
		if (cum == 0)
			continue;
		for (n = 0, k = 0; k < API_LAT_BUCKETS && err == PCA_OK; k++) {
			n += atomic_load(&m->lat[i * API_LAT_BUCKETS + k]);
			if (k < API_LAT_BUCKETS - 1)
				err = buf_printf(b,
				    "pcad_api_request_duration_seconds_bucket"
				    "{op=\"%s\",le=\"%g\"} %llu\n",
				    op_name(i), bounds[k],
				    (unsigned long long)n);
			else
				err = buf_printf(b,
				    "pcad_api_request_duration_seconds_bucket"
				    "{op=\"%s\",le=\"+Inf\"} %llu\n",
				    op_name(i), (unsigned long long)n);
		}
		if (err == PCA_OK)
			err = buf_printf(b,
			    "pcad_api_request_duration_seconds_sum{op=\"%s\"} "
			    "%.6f\npcad_api_request_duration_seconds_count"
			    "{op=\"%s\"} %llu\n",
			    op_name(i),
			    (double)atomic_load(&m->lat_sum_us[i]) / 1e6,
			    op_name(i), (unsigned long long)cum);
	}
	return err;
}

static pca_err
render_misc(struct api_metrics *m, const struct api_services *svc,
    struct buf *b)
{
	struct api_token_stats hs;
	pca_err err;

	err = buf_printf(b,
	    "# HELP pcad_api_auth_failures_total Requests refused by "
	    "authentication.\n"
	    "# TYPE pcad_api_auth_failures_total counter\n"
	    "pcad_api_auth_failures_total %llu\n"
	    "# HELP pcad_api_rejected_total Requests refused before "
	    "dispatch (framing, limits).\n"
	    "# TYPE pcad_api_rejected_total counter\n"
	    "pcad_api_rejected_total %llu\n"
	    "# HELP pcad_api_inflight API requests in progress.\n"
	    "# TYPE pcad_api_inflight gauge\npcad_api_inflight %llu\n"
	    "# HELP pcad_http_requests_total Requests on the plain-HTTP "
	    "port.\n"
	    "# TYPE pcad_http_requests_total counter\n"
	    "pcad_http_requests_total %llu\n",
	    (unsigned long long)atomic_load(&m->auth_fail),
	    (unsigned long long)atomic_load(&m->rejected),
	    (unsigned long long)atomic_load(&m->inflight),
	    (unsigned long long)atomic_load(&m->http_requests));
	if (err != PCA_OK || svc == NULL || svc->token_stats == NULL)
		return err;
	memset(&hs, 0, sizeof(hs));
	svc->token_stats(svc->token, &hs);
	return buf_printf(b,
	    "# HELP pcad_hsm_signs_total Signatures made in the token.\n"
	    "# TYPE pcad_hsm_signs_total counter\npcad_hsm_signs_total %llu\n"
	    "# HELP pcad_hsm_sign_errors_total Signatures that failed.\n"
	    "# TYPE pcad_hsm_sign_errors_total counter\n"
	    "pcad_hsm_sign_errors_total %llu\n"
	    "# HELP pcad_hsm_recoveries_total Recoveries from token loss.\n"
	    "# TYPE pcad_hsm_recoveries_total counter\n"
	    "pcad_hsm_recoveries_total %llu\n"
	    "# HELP pcad_hsm_available The token answers (1) or not (0).\n"
	    "# TYPE pcad_hsm_available gauge\npcad_hsm_available %d\n",
	    (unsigned long long)hs.signs, (unsigned long long)hs.sign_errors,
	    (unsigned long long)hs.recoveries, hs.available ? 1 : 0);
}

pca_err
api_metrics_render(struct api_metrics *m, const struct api_services *svc,
    struct buf *b)
{
	pca_err err;

	if ((err = render_counts(m, b)) != PCA_OK ||
	    (err = render_histogram(m, b)) != PCA_OK)
		return err;
	return render_misc(m, svc, b);
}
