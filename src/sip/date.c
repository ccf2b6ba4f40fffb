/* SPDX-License-Identifier: BSD-3-Clause */
/* Date (RFC 3261 §20.17): the rfc1123-date of RFC 2616 §3.3.1, GMT only,
 * checked strictly because RFC 4474 §5 signs it and §6 bounds its age. */
#include "sip.h"

static const char wkdays[7][4] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* The latest instant whose year still has four digits, 9999-12-31
 * 23:59:59 GMT (compared as int64_t so a 32-bit time_t still builds). */
#define DATE_MAX INT64_C(253402300799)

/* Index of the three-letter name at p in names, or -1. ABNF literals are
 * case-insensitive (RFC 2234 §2.3), so "thu" is read as "Thu". */
static int name_index(const char *p, const char (*names)[4], int n)
{
	for (int i = 0; i < n; i++)
		if (mem_caseeq(p, names[i], 3))
			return i;
	return -1;
}

/* The n digits at p (2DIGIT, 4DIGIT): no sign, no white space. */
static int digits_at(const char *p, unsigned n, int *out)
{
	int v = 0;

	for (unsigned i = 0; i < n; i++) {
		if (!char_is_digit((unsigned char)p[i]))
			return -EBADMSG;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

static bool is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int month_days(int year, int mon)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31};

	return mon == 1 && is_leap(year) ? 29 : days[mon];
}

/* Days from 1970-01-01 to year-mon-day (mon 0-11) in the proleptic
 * Gregorian calendar, for years from 1970 (H. Hinnant's days_from_civil,
 * with March as the first month of the computing year). */
static int64_t days_since_epoch(int year, int mon, int day)
{
	int y = year - (mon < 2);
	int era = y / 400;
	int yoe = y - era * 400;
	int mp = mon < 2 ? mon + 10 : mon - 2;
	int doy = (153 * mp + 2) / 5 + day - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int64_t)era * 146097 + doe - 719468;
}

/* rfc1123-date = wkday "," SP date1 SP time SP "GMT"
 * date1 = 2DIGIT SP month SP 4DIGIT; time = 2DIGIT ":" 2DIGIT ":" 2DIGIT.
 * The separators are single SP as in the grammar: folds and runs of white
 * space are refused, since the signer of an Identity (RFC 4474 §9) wrote
 * the value exactly, so a valid date is always 29 octets:
 * "Sun, 06 Nov 1994 08:49:37 GMT". RFC 4475 §3.1.2.12: any zone but "GMT"
 * is invalid. The weekday must be the one of the date, so one instant has
 * one spelling. Second 60 is accepted only at 23:59 (a leap second, RFC
 * 3339 §5.7) and counts as the next second, POSIX time having no leap
 * seconds. Years run from 1970, the epoch, to 9999. */
int sip_date_parse(struct slice v, time_t *out)
{
	const char *p = v.p;
	int wday, day, mon, year, hour, min, sec;
	int64_t days, t;

	if (v.len != 29 || p[3] != ',' || p[4] != ' ' || p[7] != ' ' ||
	    p[11] != ' ' || p[16] != ' ' || p[19] != ':' || p[22] != ':' ||
	    p[25] != ' ' || !mem_caseeq(p + 26, "GMT", 3))
		return -EBADMSG;
	wday = name_index(p, wkdays, 7);
	mon = name_index(p + 8, months, 12);
	if (wday < 0 || mon < 0 || digits_at(p + 5, 2, &day) ||
	    digits_at(p + 12, 4, &year) || digits_at(p + 17, 2, &hour) ||
	    digits_at(p + 20, 2, &min) || digits_at(p + 23, 2, &sec))
		return -EBADMSG;
	if (year < 1970 || day < 1 || day > month_days(year, mon) ||
	    hour > 23 || min > 59 || sec > 60 ||
	    (sec == 60 && (hour != 23 || min != 59)))
		return -EBADMSG;
	days = days_since_epoch(year, mon, day);
	/* 1970-01-01 was a Thursday */
	if ((int)((days + 4) % 7) != wday)
		return -EBADMSG;
	t = days * 86400 + hour * 3600 + min * 60 + sec;
	/* a time_t of 32 bits ends in 2038 */
	if ((int64_t)(time_t)t != t)
		return -EBADMSG;
	*out = (time_t)t;
	return 0;
}

static char *put_digits(char *p, int v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

/* Written by hand rather than with strftime(), whose %a and %b follow the
 * process locale. Instants outside what a Date can spell (before the
 * epoch, after year 9999) are clamped to the nearest one it can. */
void sip_date_format(time_t t, char out[30])
{
	struct tm tm;
	char *p = out;

	if (t < 0)
		t = 0;
	if ((int64_t)t > DATE_MAX)
		t = (time_t)DATE_MAX;
	if (!gmtime_r(&t, &tm)) {
		t = 0;
		(void)gmtime_r(&t, &tm);
	}
	p = put_str(p, wkdays[tm.tm_wday]);
	p = put_str(p, ", ");
	p = put_digits(p, tm.tm_mday, 2);
	*p++ = ' ';
	p = put_str(p, months[tm.tm_mon]);
	*p++ = ' ';
	p = put_digits(p, tm.tm_year + 1900, 4);
	*p++ = ' ';
	p = put_digits(p, tm.tm_hour, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_min, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_sec, 2);
	p = put_str(p, " GMT");
	*p = '\0';
}
