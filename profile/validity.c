/*
 * validity.c - IssueCertificate Validity / ValidityNotBefore to notBefore
 * and notAfter (spec 4.5).  The caller checks the issuing CA's notAfter
 * and the short-lived span; this file only resolves and sanity-checks.
 */
#include <string.h>
#include <time.h>

#include "../common/util.h"
#include "profile_int.h"

#define NB_DEFAULT_BACKDATE 3600         /* spec 4.5: now - 60 min */
#define TIME_MAX_T INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define TIME_MIN_T INT64_C(-62135596800) /* 0001-01-01T00:00:00Z */
#define MAX_DAYS INT64_C(3660000)        /* far beyond 9999 */
#define MAX_MONTHS INT64_C(120000)

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int mon) /* mon 0..11 */
{
	static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31};

	return mon == 1 && is_leap(y) ? 29 : d[mon];
}

static int
digit_count(int64_t v)
{
	int n = 0;

	while (v > 0) {
		v /= 10;
		n++;
	}
	return n;
}

/* Takes the low 2 decimal digits off *v and returns them. */
static int
take2(int64_t *v)
{
	int d = (int)(*v % 100);

	*v /= 100;
	return d;
}

/* END_DATE: YYMMDDHHMMSS (YY >= 50 -> 19YY) or YYYYMMDDHHMMSS, UTC. */
static pca_err
end_date(int64_t value, int64_t *out)
{
	struct tm tm;
	int n = digit_count(value);
	int64_t y;

	if (n != 12 && n != 14)
		return pca_err_set(PCA_EINVAL,
		    "Validity.Value for END_DATE must have 12 "
		    "(YYMMDDHHMMSS) or 14 (YYYYMMDDHHMMSS) digits");
	memset(&tm, 0, sizeof(tm));
	tm.tm_sec = take2(&value);
	tm.tm_min = take2(&value);
	tm.tm_hour = take2(&value);
	tm.tm_mday = take2(&value);
	tm.tm_mon = take2(&value) - 1;
	y = value; /* what is left: YY or YYYY */
	if (n == 12)
		y += y >= 50 ? 1900 : 2000;
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > month_days(y, tm.tm_mon) || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 59)
		return pca_err_set(PCA_EINVAL,
		    "Validity.Value for END_DATE is not a valid date and time");
	tm.tm_year = (int)(y - 1900);
	*out = util_timegm(&tm);
	return PCA_OK;
}

/* now + months, calendar arithmetic, day of month clamped. */
static int64_t
add_months(int64_t now, int64_t months)
{
	struct tm tm;
	time_t t = (time_t)now;
	int64_t total, y;
	int mon;

	gmtime_r(&t, &tm);
	total = ((int64_t)tm.tm_year + 1900) * 12 + tm.tm_mon + months;
	y = total / 12;
	mon = (int)(total % 12);
	if (tm.tm_mday > month_days(y, mon))
		tm.tm_mday = month_days(y, mon);
	tm.tm_year = (int)(y - 1900);
	tm.tm_mon = mon;
	return util_timegm(&tm);
}

static pca_err
resolve_end(const char *type, int64_t value, int64_t now, int64_t *out)
{
	if (value < 1)
		return pca_err_set(PCA_EINVAL,
		    "Validity.Value must be at least 1");
	if (strcmp(type, "END_DATE") == 0)
		return end_date(value, out);
	if (strcmp(type, "ABSOLUTE") == 0) {
		*out = value;
		return PCA_OK;
	}
	if (strcmp(type, "DAYS") == 0) {
		if (value > MAX_DAYS)
			goto far;
		*out = now + value * 86400;
		return PCA_OK;
	}
	if (strcmp(type, "MONTHS") == 0 || strcmp(type, "YEARS") == 0) {
		if (value > MAX_MONTHS / (type[0] == 'Y' ? 12 : 1))
			goto far;
		*out = add_months(now, type[0] == 'Y' ? value * 12 : value);
		return PCA_OK;
	}
	return pca_err_set(PCA_EINVAL,
	    "Validity.Type must be END_DATE, ABSOLUTE, DAYS, MONTHS or YEARS");
far:
	return pca_err_set(PCA_EINVAL, "Validity ends after the year 9999");
}

pca_err
prof_validity_resolve(const struct prof_validity *v, int64_t now,
    int64_t *not_before, int64_t *not_after)
{
	int64_t nb, na = 0;
	pca_err e;

	if (v == NULL || v->type == NULL)
		return pca_err_set(PCA_EINVAL, "Validity.Type is required");
	if (now < TIME_MIN_T + NB_DEFAULT_BACKDATE || now >= TIME_MAX_T)
		return pca_err_set(PCA_EINVAL,
		    "the current time is out of range");
	if ((e = resolve_end(v->type, v->value, now, &na)) != PCA_OK)
		return e;
	if (na > TIME_MAX_T)
		return pca_err_set(PCA_EINVAL,
		    "Validity ends after the year 9999");
	nb = now - NB_DEFAULT_BACKDATE;
	if (v->has_not_before) {
		if (v->nb_type == NULL || strcmp(v->nb_type, "ABSOLUTE") != 0)
			return pca_err_set(PCA_EINVAL,
			    "ValidityNotBefore.Type must be ABSOLUTE");
		if (v->nb_value < 1 || v->nb_value > TIME_MAX_T)
			return pca_err_set(PCA_EINVAL,
			    "ValidityNotBefore.Value is out of range");
		nb = v->nb_value;
	}
	if (na <= now)
		return pca_err_set(PCA_EINVAL,
		    "Validity must end in the future");
	if (nb >= na)
		return pca_err_set(PCA_EINVAL,
		    "the validity period must end after it begins (notBefore "
		    "%lld, notAfter %lld)",
		    (long long)nb, (long long)na);
	*not_before = nb;
	*not_after = na;
	return PCA_OK;
}
