/*
 * api_load - load generator for the ACM-PCA JSON 1.1 API (make bench,
 * bench/run_api.sh).  Drives pcad (HTTPS, TLS verified against a CA bundle)
 * or any other ACM-PCA endpoint such as moto_server (plain HTTP) the same
 * way: libcurl with CURLOPT_AWS_SIGV4, one thread and one keep-alive easy
 * handle per connection, each looping IssueCertificate + GetCertificate
 * pairs for a fixed time.
 *
 *   api_load --endpoint URL --csr FILE [options]
 *     --endpoint URL       https://HOST:PORT or http://HOST:PORT
 *     --cacert FILE        CA bundle the server certificate must verify
 *                          against (https; without it the system store)
 *     --creds FILE         AWS shared-credentials file (profile "default"
 *                          or --profile NAME)
 *     --key AKID:SECRET    credentials given directly instead of --creds
 *     --region R           SigV4 scope and ARN region (default us-east-1)
 *     --csr FILE           PEM CSR sent (base64) in every IssueCertificate
 *     --ca-arn ARN         issue from this ACTIVE CA; without it one EC
 *                          P-256 root CA is created and activated first,
 *                          through the same API
 *     --seconds S          length of each measured cell (default 5)
 *     --conns N[,N...]     connection counts, one cell each (default 1)
 *     --label NAME         second word of the output lines (default "api")
 *
 * Each connection first does one untimed pair (TCP + TLS set-up), then all
 * start together.  A pair counts when it completes inside the window.
 * Output, one line per cell on stdout:
 *   api <label> conns=<n> secs=<s> pairs=<n> rate=<pairs/s> errors=<n>
 *       p50_ms=<> p99_ms=<> issue_p50_ms=<> get_p50_ms=<> new_conns=<n>
 * (new_conns: connections opened inside the window; 0 means keep-alive
 * held.)  Any non-200 answer or transport error is printed on stderr with
 * the response body, stops the cell and makes the exit status 1; 2 is for
 * usage and set-up errors.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#define MAX_CONNS 256
#define MAX_BODY (1024 * 1024)
#define CA_TEMPLATE "arn:aws:acm-pca:::template/RootCACertificate/V1"

struct opts {
	const char *endpoint;
	const char *cacert;
	const char *label;
	char region[64];
	char userpwd[600];
	char sigv4[128];
	char *ca_arn;
	char *issue_body;
	double secs;
};

static struct opts o = {.label = "api", .region = "us-east-1", .secs = 5};

struct buf {
	char *p;
	size_t len, cap;
};

struct cell;

struct worker {
	struct cell *cell;
	pthread_t th;
	CURL *h;
	struct curl_slist *hdr[2]; /* IssueCertificate, GetCertificate */
	struct buf resp;
	char errbuf[CURL_ERROR_SIZE];
	double *lat, *lat_issue, *lat_get;
	size_t nlat, cap;
	long new_conns;
	long errors;
};

struct cell {
	int conns;
	atomic_int stop;
	atomic_int reported;
	pthread_barrier_t ready, go;
	double start, deadline;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Noreturn void
die(const char *what)
{
	fprintf(stderr, "api_load: %s\n", what);
	exit(2);
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		die("out of memory");
	return p;
}

static size_t
on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;

	if (b->len + len + 1 > MAX_BODY)
		return 0;
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, ptr, len);
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

static char *
b64(const unsigned char *p, size_t len)
{
	char *out = xrealloc(NULL, 4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)len);
	return out;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	size_t n = 0, cap = 0, r;

	if (f == NULL)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			p = xrealloc(p, cap);
		}
		r = fread(p + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	p[n] = '\0';
	*len = n;
	return p;
}

/* AWS shared-credentials file: the two keys of [profile]. */
static int
load_creds(const char *path, const char *profile)
{
	char line[1024], sect[128] = "", akid[256] = "", secret[256] = "";
	char k[128], v[256];
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " [%127[^]]]", sect) == 1)
			continue;
		if (strcmp(sect, profile) != 0 ||
		    sscanf(line, " %127[^= \t] = %255s", k, v) != 2)
			continue;
		if (strcmp(k, "aws_access_key_id") == 0)
			(void)snprintf(akid, sizeof(akid), "%s", v);
		else if (strcmp(k, "aws_secret_access_key") == 0)
			(void)snprintf(secret, sizeof(secret), "%s", v);
	}
	fclose(f);
	if (akid[0] == '\0' || secret[0] == '\0')
		return -1;
	(void)snprintf(o.userpwd, sizeof(o.userpwd), "%s:%s", akid, secret);
	return 0;
}

static struct curl_slist *
target_headers(const char *op)
{
	struct curl_slist *l = NULL, *t;
	char h[128];

	(void)snprintf(h, sizeof(h), "X-Amz-Target: ACMPrivateCA.%s", op);
	if ((t = curl_slist_append(l, h)) == NULL)
		die("out of memory");
	l = t;
	if ((t = curl_slist_append(l,
		 "Content-Type: application/x-amz-json-1.1")) == NULL)
		die("out of memory");
	return t;
}

static void
handle_init(struct worker *w)
{
	if ((w->h = curl_easy_init()) == NULL)
		die("curl_easy_init failed");
	curl_easy_setopt(w->h, CURLOPT_URL, o.endpoint);
	curl_easy_setopt(w->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->h, CURLOPT_AWS_SIGV4, o.sigv4);
	curl_easy_setopt(w->h, CURLOPT_USERPWD, o.userpwd);
	curl_easy_setopt(w->h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(w->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(w->h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(w->h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o.cacert != NULL)
		curl_easy_setopt(w->h, CURLOPT_CAINFO, o.cacert);
	curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(w->h, CURLOPT_WRITEDATA, &w->resp);
	curl_easy_setopt(w->h, CURLOPT_ERRORBUFFER, w->errbuf);
	curl_easy_setopt(w->h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(w->h, CURLOPT_EXPECT_100_TIMEOUT_MS, 100L);
	w->hdr[0] = target_headers("IssueCertificate");
	w->hdr[1] = target_headers("GetCertificate");
}

static void
handle_free(struct worker *w)
{
	curl_easy_cleanup(w->h);
	curl_slist_free_all(w->hdr[0]);
	curl_slist_free_all(w->hdr[1]);
	free(w->resp.p);
	w->h = NULL;
	w->resp.p = NULL;
}

/*
 * One POST.  Returns the HTTP status (0 on a transport error); the body is
 * in w->resp.  *new_conn: whether a connection had to be opened.
 */
static long
post(struct worker *w, struct curl_slist *hdr, const char *body, long *new_conn)
{
	long status = 0, nc = 0;
	CURLcode rc;

	w->resp.len = 0;
	if (w->resp.p != NULL)
		w->resp.p[0] = '\0';
	w->errbuf[0] = '\0';
	curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(w->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(w->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	rc = curl_easy_perform(w->h);
	if (rc != CURLE_OK) {
		if (w->errbuf[0] == '\0')
			(void)snprintf(w->errbuf, sizeof(w->errbuf), "%s",
			    curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(w->h, CURLINFO_NUM_CONNECTS, &nc);
	if (new_conn != NULL)
		*new_conn = nc;
	return status;
}

/* The string member KEY of the JSON response body, or NULL. */
static char *
resp_str(struct worker *w, const char *key)
{
	json_t *j, *v;
	char *s = NULL;

	if (w->resp.p == NULL ||
	    (j = json_loadb(w->resp.p, w->resp.len, 0, NULL)) == NULL)
		return NULL;
	if ((v = json_object_get(j, key)) != NULL && json_is_string(v))
		s = strdup(json_string_value(v));
	json_decref(j);
	return s;
}

static void
report(struct worker *w, const char *op, long status, const char *why)
{
	struct cell *c = w->cell;

	if (c != NULL && atomic_exchange(&c->reported, 1))
		return;
	if (status == 0)
		fprintf(stderr,
		    "api_load: %s conns=%d: %s: transport error: %s\n", o.label,
		    c ? c->conns : 1, op,
		    w->errbuf[0] ? w->errbuf : "(no detail)");
	else
		fprintf(stderr,
		    "api_load: %s conns=%d: %s: HTTP %ld%s%s: %.400s\n",
		    o.label, c ? c->conns : 1, op, status, why ? ", " : "",
		    why ? why : "", w->resp.p ? w->resp.p : "");
}

/* JSON text of a one- or two-member object of strings. */
static char *
body2(const char *k1, const char *v1, const char *k2, const char *v2)
{
	json_t *j = k2 != NULL ? json_pack("{s:s,s:s}", k1, v1, k2, v2)
			       : json_pack("{s:s}", k1, v1);
	char *s;

	if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL)
		die("out of memory");
	json_decref(j);
	return s;
}

/*
 * IssueCertificate + GetCertificate.  0 on success; latencies of the two
 * calls in ti/tg, connections opened in *nc.
 */
static int
pair(struct worker *w, double *ti, double *tg, long *nc)
{
	char *arn, *gbody, *pem;
	long st, n1 = 0, n2 = 0;
	double t0 = now_s(), t1;

	st = post(w, w->hdr[0], o.issue_body, &n1);
	t1 = now_s();
	if (st != 200) {
		report(w, "IssueCertificate", st, NULL);
		return -1;
	}
	if ((arn = resp_str(w, "CertificateArn")) == NULL) {
		report(w, "IssueCertificate", st, "no CertificateArn");
		return -1;
	}
	gbody =
	    body2("CertificateAuthorityArn", o.ca_arn, "CertificateArn", arn);
	free(arn);
	st = post(w, w->hdr[1], gbody, &n2);
	free(gbody);
	*tg = now_s() - t1;
	*ti = t1 - t0;
	*nc = n1 + n2;
	if (st != 200) {
		report(w, "GetCertificate", st, NULL);
		return -1;
	}
	pem = resp_str(w, "Certificate");
	if (pem == NULL ||
	    strncmp(pem, "-----BEGIN CERTIFICATE-----", 27) != 0) {
		free(pem);
		report(w, "GetCertificate", st, "no PEM Certificate");
		return -1;
	}
	free(pem);
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct cell *c = w->cell;
	double ti, tg, t0, t1;
	long nc;

	/* Untimed warm-up pair: connection and TLS session set up. */
	if (pair(w, &ti, &tg, &nc) != 0) {
		w->errors++;
		atomic_store(&c->stop, 1);
	}
	pthread_barrier_wait(&c->ready);
	pthread_barrier_wait(&c->go);
	while (!atomic_load(&c->stop) && (t0 = now_s()) < c->deadline) {
		if (pair(w, &ti, &tg, &nc) != 0) {
			w->errors++;
			atomic_store(&c->stop, 1);
			break;
		}
		if ((t1 = now_s()) > c->deadline)
			break;
		if (w->nlat == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 4096;
			w->lat = xrealloc(w->lat, w->cap * sizeof(double));
			w->lat_issue =
			    xrealloc(w->lat_issue, w->cap * sizeof(double));
			w->lat_get =
			    xrealloc(w->lat_get, w->cap * sizeof(double));
		}
		w->lat[w->nlat] = t1 - t0;
		w->lat_issue[w->nlat] = ti;
		w->lat_get[w->nlat] = tg;
		w->nlat++;
		w->new_conns += nc;
	}
	return NULL;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct_ms(double *v, size_t n, int pct)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(double), dcmp);
	return v[n * (size_t)pct / 100] * 1000;
}

static int
run_cell(int conns)
{
	struct worker *w = calloc((size_t)conns, sizeof(*w));
	struct cell c;
	double *all[3] = {NULL, NULL, NULL};
	size_t n = 0, k;
	long errors = 0, new_conns = 0;
	int i;

	if (w == NULL)
		die("out of memory");
	memset(&c, 0, sizeof(c));
	c.conns = conns;
	atomic_init(&c.stop, 0);
	atomic_init(&c.reported, 0);
	c.deadline = 1e300;
	pthread_barrier_init(&c.ready, NULL, (unsigned)conns + 1);
	pthread_barrier_init(&c.go, NULL, (unsigned)conns + 1);
	for (i = 0; i < conns; i++) {
		w[i].cell = &c;
		handle_init(&w[i]);
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0)
			die("pthread_create failed");
	}
	pthread_barrier_wait(&c.ready);
	c.start = now_s();
	c.deadline = c.start + o.secs;
	pthread_barrier_wait(&c.go);
	for (i = 0; i < conns; i++) {
		pthread_join(w[i].th, NULL);
		n += w[i].nlat;
	}
	for (k = 0; k < 3; k++)
		all[k] = xrealloc(NULL, (n ? n : 1) * sizeof(double));
	n = 0;
	for (i = 0; i < conns; i++) {
		memcpy(all[0] + n, w[i].lat, w[i].nlat * sizeof(double));
		memcpy(all[1] + n, w[i].lat_issue, w[i].nlat * sizeof(double));
		memcpy(all[2] + n, w[i].lat_get, w[i].nlat * sizeof(double));
		n += w[i].nlat;
		errors += w[i].errors;
		new_conns += w[i].new_conns;
		handle_free(&w[i]);
		free(w[i].lat);
		free(w[i].lat_issue);
		free(w[i].lat_get);
	}
	printf("api %s conns=%d secs=%g pairs=%zu rate=%.1f errors=%ld "
	       "p50_ms=%.2f p99_ms=%.2f issue_p50_ms=%.2f get_p50_ms=%.2f "
	       "new_conns=%ld\n",
	    o.label, conns, o.secs, n, (double)n / o.secs, errors,
	    pct_ms(all[0], n, 50), pct_ms(all[0], n, 99), pct_ms(all[1], n, 50),
	    pct_ms(all[2], n, 50), new_conns);
	fflush(stdout);
	for (k = 0; k < 3; k++)
		free(all[k]);
	pthread_barrier_destroy(&c.ready);
	pthread_barrier_destroy(&c.go);
	free(w);
	return errors ? 1 : 0;
}

/*
 * A set-up call: retried while the server answers RequestInProgress
 * (asynchronous key generation or issuance), 30 s at most.  Returns the
 * string member KEY of the answer (NULL when KEY is NULL).
 */
static char *
setup_call(struct worker *w, const char *op, const char *body, const char *key,
    int *ok)
{
	struct curl_slist *hdr = target_headers(op);
	double until = now_s() + 30;
	struct timespec ts = {0, 200 * 1000 * 1000};
	char *s = NULL;
	long st;

	for (;;) {
		st = post(w, hdr, body, NULL);
		if (st == 400 && w->resp.p != NULL &&
		    strstr(w->resp.p, "RequestInProgressException") != NULL &&
		    now_s() < until) {
			nanosleep(&ts, NULL);
			continue;
		}
		break;
	}
	curl_slist_free_all(hdr);
	if (st != 200) {
		report(w, op, st, NULL);
		*ok = 0;
		return NULL;
	}
	if (key != NULL && (s = resp_str(w, key)) == NULL) {
		report(w, op, st, "member missing");
		*ok = 0;
	}
	return s;
}

/* Create an EC P-256 root CA and activate it (self-issue, import). */
static char *
setup_ca(void)
{
	struct worker w;
	json_t *j;
	char *body, *arn, *csr, *csr64, *cert_arn, *pem, *pem64;
	int ok = 1;

	memset(&w, 0, sizeof(w));
	handle_init(&w);
	j = json_pack("{s:s,s:{s:s,s:s,s:{s:s,s:s}}}",
	    "CertificateAuthorityType", "ROOT",
	    "CertificateAuthorityConfiguration", "KeyAlgorithm",
	    "EC_prime256v1", "SigningAlgorithm", "SHA256WITHECDSA", "Subject",
	    "CommonName", "OpenPCA API bench root", "Organization",
	    "OpenPCA Bench");
	if (j == NULL || (body = json_dumps(j, JSON_COMPACT)) == NULL)
		die("out of memory");
	json_decref(j);
	arn = setup_call(&w, "CreateCertificateAuthority", body,
	    "CertificateAuthorityArn", &ok);
	free(body);
	if (!ok)
		exit(2);
	body = body2("CertificateAuthorityArn", arn, NULL, NULL);
	csr = setup_call(&w, "GetCertificateAuthorityCsr", body, "Csr", &ok);
	free(body);
	if (!ok)
		exit(2);
	csr64 = b64((const unsigned char *)csr, strlen(csr));
	j = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:i}}",
	    "CertificateAuthorityArn", arn, "Csr", csr64, "SigningAlgorithm",
	    "SHA256WITHECDSA", "TemplateArn", CA_TEMPLATE, "Validity", "Type",
	    "YEARS", "Value", 10);
	if (j == NULL || (body = json_dumps(j, JSON_COMPACT)) == NULL)
		die("out of memory");
	json_decref(j);
	cert_arn =
	    setup_call(&w, "IssueCertificate", body, "CertificateArn", &ok);
	free(body);
	if (!ok)
		exit(2);
	body =
	    body2("CertificateAuthorityArn", arn, "CertificateArn", cert_arn);
	pem = setup_call(&w, "GetCertificate", body, "Certificate", &ok);
	free(body);
	if (!ok)
		exit(2);
	pem64 = b64((const unsigned char *)pem, strlen(pem));
	body = body2("CertificateAuthorityArn", arn, "Certificate", pem64);
	(void)setup_call(&w, "ImportCertificateAuthorityCertificate", body,
	    NULL, &ok);
	if (!ok)
		exit(2);
	free(body);
	free(csr);
	free(csr64);
	free(cert_arn);
	free(pem);
	free(pem64);
	handle_free(&w);
	return arn;
}

static _Noreturn void
usage(void)
{
	fprintf(stderr,
	    "usage: api_load --endpoint URL --csr FILE [--cacert FILE]\n"
	    "         (--creds FILE [--profile P] | --key AKID:SECRET)\n"
	    "         [--region R] [--ca-arn ARN] [--seconds S]\n"
	    "         [--conns N[,N...]] [--label NAME]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *creds = NULL, *profile = "default", *key = NULL;
	const char *csr_path = NULL, *conns = "1";
	char *csr, *csr64, *list, *tok, *save = NULL, *end;
	json_t *j;
	size_t csr_len;
	long n;
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--endpoint") == 0)
			o.endpoint = v;
		else if (strcmp(a, "--cacert") == 0)
			o.cacert = v;
		else if (strcmp(a, "--creds") == 0)
			creds = v;
		else if (strcmp(a, "--profile") == 0)
			profile = v;
		else if (strcmp(a, "--key") == 0)
			key = v;
		else if (strcmp(a, "--region") == 0)
			(void)snprintf(o.region, sizeof(o.region), "%s", v);
		else if (strcmp(a, "--csr") == 0)
			csr_path = v;
		else if (strcmp(a, "--ca-arn") == 0)
			o.ca_arn = strdup(v);
		else if (strcmp(a, "--seconds") == 0)
			o.secs = strtod(v, NULL);
		else if (strcmp(a, "--conns") == 0)
			conns = v;
		else if (strcmp(a, "--label") == 0)
			o.label = v;
		else
			usage();
	}
	if (o.endpoint == NULL || csr_path == NULL ||
	    (creds == NULL) == (key == NULL) || o.secs <= 0 || o.secs > 3600)
		usage();
	if (key != NULL) {
		if (strchr(key, ':') == NULL)
			usage();
		(void)snprintf(o.userpwd, sizeof(o.userpwd), "%s", key);
	} else if (load_creds(creds, profile) != 0) {
		die("no aws_access_key_id/aws_secret_access_key in the "
		    "credentials file profile");
	}
	(void)snprintf(o.sigv4, sizeof(o.sigv4), "aws:amz:%s:acm-pca",
	    o.region);
	if ((csr = read_file(csr_path, &csr_len)) == NULL)
		die("cannot read the CSR file");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("curl_global_init failed");
	if (o.ca_arn == NULL) {
		o.ca_arn = setup_ca();
		fprintf(stderr, "api_load: %s: root CA %s active\n", o.label,
		    o.ca_arn);
	}
	csr64 = b64((const unsigned char *)csr, csr_len);
	j = json_pack("{s:s,s:s,s:s,s:{s:s,s:i}}", "CertificateAuthorityArn",
	    o.ca_arn, "Csr", csr64, "SigningAlgorithm", "SHA256WITHECDSA",
	    "Validity", "Type", "DAYS", "Value", 30);
	if (j == NULL || (o.issue_body = json_dumps(j, JSON_COMPACT)) == NULL)
		die("out of memory");
	json_decref(j);
	free(csr);
	free(csr64);

	if ((list = strdup(conns)) == NULL)
		die("out of memory");
	for (tok = strtok_r(list, ",", &save); tok != NULL && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		n = strtol(tok, &end, 10);
		if (*end != '\0' || n < 1 || n > MAX_CONNS)
			usage();
		rc = run_cell((int)n);
	}
	free(list);
	free(o.issue_body);
	free(o.ca_arn);
	curl_global_cleanup();
	if (rc != 0)
		fprintf(stderr,
		    "api_load: %s: FAILED (non-200 answer or "
		    "transport error, see above)\n",
		    o.label);
	return rc;
}
