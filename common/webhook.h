/*
 * webhook.h - one JSON POST to a webhook receiver (libcurl), shared by the
 * expiry notifications (monitor/) and the anomaly alerts (alert/).
 */
#ifndef PCA_COMMON_WEBHOOK_H
#define PCA_COMMON_WEBHOOK_H

/*
 * POSTs body (application/json) to url (http or https only) with the header
 * "Idempotency-Key: idem" (at most 400 bytes), waiting timeout_s seconds at
 * most; the answer's body is discarded.  Returns the HTTP status, or 0 when
 * there was no answer (logged once here, with the URL and libcurl's reason;
 * a status is the caller's to judge).  Thread-safe once curl_global_init
 * ran.
 */
int webhook_post(const char *url, const char *body, const char *idem,
    unsigned timeout_s);

#endif
