/*
 * backup_bench - what an online backup costs issuance: engine issuances
 * (token signing, store commits) paced at RATE per second from THREADS
 * threads for SECS seconds without a backup, then again exactly while
 * bk_make copies the store and writes the archive (the backup pcactl and
 * pcad take; at least a second).  Prints the copy time, the
 * store and archive sizes, and issuance p50/p99 of both runs.
 *
 *   backup_bench PCAD_CONF CSR SECS THREADS RATE OUT_DIR [RATE_MB]
 *
 * RATE_MB replaces the configuration's [backup] rate_mb (0: no limit).
 */
#include <sys/stat.h>
#include <unistd.h>

#include "../backup/backup.h"
#include "bench_common.h"

/* BACKUP_BENCH_TRACE=FILE: each issuance of the run during the backup as
 * "start latency" (seconds since the backup began), to see when it stalls */
static FILE *trace_fp;
static double trace_t0;
static pthread_mutex_t trace_mu = PTHREAD_MUTEX_INITIALIZER;

struct paced {
	struct bench_run *r;
	double period;      /* seconds between one thread's calls */
	volatile int *stop; /* set when the backup ended (run B) */
};

static void *
paced_worker(void *arg)
{
	struct paced *p = arg;
	struct bench_run *r = p->r;
	struct ca_caller c = {r->ap->conf.account, r->ap->conf.region, "bench"};
	struct ca_issue_req q;
	struct timespec ts;
	double next = bench_now(), t0, d;
	long n = 0;

	bench_req_init(&q, r);
	while (
	    (t0 = bench_now()) < r->until || (p->stop != NULL && !*p->stop)) {
		if (t0 < next) {
			d = next - t0;
			ts.tv_sec = (time_t)d;
			ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
			nanosleep(&ts, NULL);
			t0 = bench_now();
		}
		next += p->period;
		if (bench_issue_one(r, &c, &q, t0) != 0)
			break;
		n++;
		if (p->stop != NULL && trace_fp != NULL) {
			pthread_mutex_lock(&trace_mu);
			fprintf(trace_fp, "%.4f %.4f\n", t0 - trace_t0,
			    bench_now() - t0);
			pthread_mutex_unlock(&trace_mu);
		}
	}
	bench_count(r, n);
	return NULL;
}

struct bk_job {
	struct bk_conf c;
	struct store *st;
	char file[PATH_MAX];
	double secs;
	int failed;
	volatile int done;
};

static void *
backup_worker(void *arg)
{
	struct bk_job *j = arg;
	struct bk_archive b;
	double t0 = bench_now();

	memset(&b, 0, sizeof(b));
	if (bk_make(&j->c, j->st, j->file, &b) != PCA_OK) {
		fprintf(stderr, "backup_bench: backup: %s\n", pca_err_msg());
		j->failed = 1;
	}
	j->secs = bench_now() - t0;
	bk_free(&b);
	j->done = 1;
	return NULL;
}

/* One run: rate/s from threads for secs (and until *stop when given). */
static double
run(struct bench_run *r, int threads, double rate, double secs,
    volatile int *stop, double *p50, double *p99)
{
	pthread_t th[BENCH_MAX_THREADS];
	struct paced p = {r, (double)threads / rate, stop};
	double t0 = bench_now(), el;
	int i;

	r->count = 0;
	r->nlat = 0;
	r->until = t0 + secs;
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, paced_worker, &p);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	el = bench_now() - t0;
	qsort(r->lat, (size_t)r->nlat, sizeof(double), bench_dcmp);
	*p50 = r->nlat ? r->lat[r->nlat / 2] * 1e3 : 0;
	*p99 = r->nlat ? r->lat[(r->nlat * 99) / 100] * 1e3 : 0;
	return r->failed ? -1 : (double)r->count / el;
}

static long long
file_size(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0 ? (long long)sb.st_size : -1;
}

int
main(int argc, char **argv)
{
	struct appliance ap;
	struct bench_run r;
	struct bk_job j;
	pthread_t bt;
	char *arn = NULL, data[PATH_MAX];
	long long secs, threads, rate, rate_mb = -1, size0;
	double ra, rb, a50, a99, b50, b99;

	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: backup_bench PCAD_CONF CSR SECS "
				"THREADS RATE OUT_DIR [RATE_MB]\n");
		return 2;
	}
	if (bench_run_open(&r, &ap, "backup_bench", argv, &secs) != 0)
		return 2;
	if (util_strtonum(argv[4], 1, BENCH_MAX_THREADS, &threads) != PCA_OK ||
	    util_strtonum(argv[5], 1, 100000, &rate) != PCA_OK ||
	    (argc == 8 &&
		util_strtonum(argv[7], 0, 1 << 20, &rate_mb) != PCA_OK)) {
		fprintf(stderr,
		    "backup_bench: THREADS 1..%d, RATE 1..100000, "
		    "RATE_MB 0..1048576\n",
		    BENCH_MAX_THREADS);
		return 2;
	}
	r.max_lat = 4000000;
	if ((r.lat = calloc((size_t)r.max_lat, sizeof(double))) == NULL ||
	    bench_make_root(&ap, "EC_prime256v1", "SHA256WITHECDSA",
		"Backup Bench Root", &arn) != 0)
		return 1;
	r.arn = arn;
	r.sigalg = "SHA256WITHECDSA";
	(void)snprintf(data, sizeof(data), "%s/data.mdb", ap.conf.store.path);

	ra =
	    run(&r, (int)threads, (double)rate, (double)secs, NULL, &a50, &a99);
	size0 = file_size(data);
	memset(&j, 0, sizeof(j));
	appliance_backup_conf(&ap.conf, argv[1], &j.c);
	if (rate_mb >= 0)
		j.c.rate = (uint64_t)rate_mb << 20;
	j.st = ap.store;
	(void)snprintf(j.file, sizeof(j.file), "%s/bench-backup.tar", argv[6]);
	(void)unlink(j.file);
	if (getenv("BACKUP_BENCH_TRACE") != NULL &&
	    (trace_fp = fopen(getenv("BACKUP_BENCH_TRACE"), "w")) != NULL) {
		struct timespec wall;

		clock_gettime(CLOCK_REALTIME, &wall);
		trace_t0 = bench_now();
		fprintf(trace_fp, "# backup began at %lld.%06ld (wall)\n",
		    (long long)wall.tv_sec, wall.tv_nsec / 1000);
	}
	pthread_create(&bt, NULL, backup_worker, &j);
	/* exactly while the backup runs (at least a second) */
	rb = run(&r, (int)threads, (double)rate, 1.0, &j.done, &b50, &b99);
	pthread_join(bt, NULL);
	if (trace_fp != NULL)
		fprintf(trace_fp, "# backup took %.3f s\n", j.secs);
	if (trace_fp != NULL)
		fclose(trace_fp);
	if (ra < 0 || rb < 0 || j.failed)
		return 1;
	printf("store %.1f MiB before the backup, %.1f MiB after; backup copy "
	       "%.2f s, archive %.1f MiB\n",
	    (double)size0 / 1048576.0, (double)file_size(data) / 1048576.0,
	    j.secs, (double)file_size(j.file) / 1048576.0);
	if (j.c.rate == 0)
		printf(
		    "backup write rate limit: none ([backup] rate_mb = 0)\n");
	else
		printf("backup write rate limit: %llu MiB/s ([backup] "
		       "rate_mb)\n",
		    (unsigned long long)(j.c.rate >> 20));
	printf("%-26s %10s %10s %10s\n", "issuance (paced)", "per s", "p50 ms",
	    "p99 ms");
	printf("%-26s %10.0f %10.2f %10.2f\n", "without a backup", ra, a50,
	    a99);
	printf("%-26s %10.0f %10.2f %10.2f\n", "during the backup", rb, b50,
	    b99);
	printf("p99 during / without: %.2fx (target < 2x at >= 500/s)\n",
	    a99 > 0 ? b99 / a99 : 0);
	(void)unlink(j.file);
	free(arn);
	free(r.lat);
	free((void *)r.csr);
	appliance_close(&ap);
	return 0;
}
