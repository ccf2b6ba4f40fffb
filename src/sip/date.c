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

/* Index of the three-letter name at s in names, or -1. ABNF literals are
 * case-insensitive (RFC 2234 §2.3), so "thu" is read as "Thu". */
static int scan_name(struct scan *s, const char (*names)[4], int n)
{
	for (int i = 0; i < n; i++)
		if (!scan_lit(s, names[i]))
			return i;
	return -1;
}

/* Exactly n digits (2DIGIT, 4DIGIT): no sign, no white space. */
static int scan_digits(struct scan *s, unsigned n, int *out)
{
	int v = 0;

	if ((size_t)(s->end - s->p) < n)
		return -EBADMSG;
	for (unsigned i = 0; i < n; i++)
		if (!char_is_digit((unsigned char)s->p[i]))
			return -EBADMSG;
	for (unsigned i = 0; i < n; i++)
		v = v * 10 + (s->p[i] - '0');
	s->p += n;
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

/* rfc1123-date = wkday "," SP date1 SP time SP "GMT"
 * date1 = 2DIGIT SP month SP 4DIGIT; time = 2DIGIT ":" 2DIGIT ":" 2DIGIT.
 * The separators are single SP as in the grammar: folds and runs of white
 * space are refused, since the signer of an Identity (RFC 4474 §9) wrote
 * the value exactly. RFC 4475 §3.1.2.12: any zone but "GMT" is invalid.
 * The weekday must be the one of the date, so one instant has one
 * spelling. Second 60 is accepted only at 23:59 (a leap second, RFC 3339
 * §5.7) and counts as the next second, POSIX time having no leap
 * seconds. Years run from 1970, the epoch, to 9999. */
int sip_date_parse(struct slice v, time_t *out)
{
	struct scan s = scan_of(v);
	int wday, day, mon, year, hour, min, sec;
	struct tm tm = {0};
	time_t midnight;

	wday = scan_name(&s, wkdays, 7);
	if (wday < 0 || scan_char(&s, ',') || scan_char(&s, ' ') ||
	    scan_digits(&s, 2, &day) || scan_char(&s, ' '))
		return -EBADMSG;
	mon = scan_name(&s, months, 12);
	if (mon < 0 || scan_char(&s, ' ') || scan_digits(&s, 4, &year) ||
	    scan_char(&s, ' ') || scan_digits(&s, 2, &hour) ||
	    scan_char(&s, ':') || scan_digits(&s, 2, &min) ||
	    scan_char(&s, ':') || scan_digits(&s, 2, &sec) ||
	    scan_char(&s, ' ') || scan_lit(&s, "GMT") || !scan_done(&s))
		return -EBADMSG;
	if (year < 1970 || day < 1 || day > month_days(year, mon) ||
	    hour > 23 || min > 59 || sec > 60 ||
	    (sec == 60 && (hour != 23 || min != 59)))
		return -EBADMSG;

	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	midnight = timegm(&tm);
	/* -1 is also an error return; no valid midnight from 1970 on is -1 */
	if (midnight < 0)
		return -EBADMSG;
	/* 1970-01-01 was a Thursday */
	if ((int)((midnight / 86400 + 4) % 7) != wday)
		return -EBADMSG;
	*out = midnight + (time_t)hour * 3600 + min * 60 + sec;
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
