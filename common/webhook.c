/*
 * webhook.c - one JSON POST to a webhook receiver (see webhook.h).
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "webhook.h"

#define WEBHOOK_IDEM_MAX 400

static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

int
webhook_post(const char *url, const char *body, const char *idem,
    unsigned timeout_s)
{
	struct curl_slist *h = NULL, *h2;
	char hdr[WEBHOOK_IDEM_MAX + 24];
	long code = 0;
	CURLcode rc;
	CURL *c;

	if (strlen(idem) > WEBHOOK_IDEM_MAX) {
		log_warnx("webhook %s: idempotency key over %d bytes", url,
		    WEBHOOK_IDEM_MAX);
		return 0;
	}
	if ((c = curl_easy_init()) == NULL)
		return 0;
	(void)snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", idem);
	if ((h = curl_slist_append(NULL, "Content-Type: application/json")) ==
		NULL ||
	    (h2 = curl_slist_append(h, hdr)) == NULL) {
		curl_slist_free_all(h);
		curl_easy_cleanup(c);
		return 0;
	}
	h = h2;
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	(void)curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if ((rc = curl_easy_perform(c)) == CURLE_OK)
		(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	else
		log_warnx("webhook %s: %s", url, curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return (int)code;
}
