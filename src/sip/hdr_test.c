/* SPDX-License-Identifier: BSD-3-Clause */
/* Event and Subscription-State (RFC 6665 §8.2), Content-Type and Accept
 * media ranges (RFC 3261 §20.15, §20.1), Content-Disposition (§20.11) and
 * Date (§20.17, RFC 4475 §3.1.2.12). */
#include "test.h"

#include "sip/sip.h"

/* ---- every strict prefix, each in a buffer of its exact size ------------- */

struct parsed {
	struct slice s[4];
	size_t n;
};

typedef int parse_fn(struct slice v, struct parsed *p);

static int parse_event(struct slice v, struct parsed *p)
{
	struct sip_event ev;
	int rc = sip_event_parse(v, &ev);

	if (!rc)
		*p = (struct parsed){{ev.package, ev.id, ev.params}, 3};
	return rc;
}

static int parse_substate(struct slice v, struct parsed *p)
{
	struct sip_substate ss;
	int rc = sip_substate_parse(v, &ss);

	if (!rc)
		*p = (struct parsed){{ss.state, ss.reason, ss.params}, 3};
	return rc;
}

static int parse_ctype(struct slice v, struct parsed *p)
{
	struct sip_ctype ct;
	int rc = sip_ctype_parse(v, &ct);

	if (!rc)
		*p = (struct parsed){
			{ct.type, ct.subtype, ct.params, ct.boundary}, 4};
	return rc;
}

static int parse_disposition(struct slice v, struct parsed *p)
{
	struct sip_disposition d;
	int rc = sip_disposition_parse(v, &d);

	if (!rc)
		*p = (struct parsed){{d.type, d.params}, 2};
	return rc;
}

static int parse_date(struct slice v, struct parsed *p)
{
	time_t t;

	p->n = 0;
	return sip_date_parse(v, &t);
}

/* The whole input parses; every strict prefix, copied to a heap block of
 * exactly its length (so a sanitizer sees any read past the end), either
 * parses with slices inside it or is -EBADMSG. */
static int every_prefix(parse_fn *fn, const char *in)
{
	size_t len = strlen(in);

	for (size_t n = 0; n <= len; n++) {
		char *copy = mem_alloc(n ? n : 1);
		struct parsed p = {.n = 0};
		bool ok = true;
		int rc;

		if (!copy)
			return -1;
		memcpy(copy, in, n);
		rc = fn(slice_of(copy, n), &p);
		if (n == len && rc)
			ok = false;
		if (rc && rc != -EBADMSG)
			ok = false;
		for (size_t i = 0; !rc && i < p.n; i++)
			if (!slice_within(p.s[i], copy, n))
				ok = false;
		mem_free(copy);
		if (!ok) {
			TEST_FAIL_AT("prefix %zu of \"%s\": %d", n, in, rc);
			return -1;
		}
	}
	return 0;
}

static int all_refused(parse_fn *fn, const char *const *bad, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct parsed p;
		int rc = fn(slice_cstr(bad[i]), &p);

		if (rc != -EBADMSG) {
			TEST_FAIL_AT("\"%s\" gave %d, expected -EBADMSG",
				     bad[i], rc);
			return -1;
		}
	}
	return 0;
}

/* ---- Event --------------------------------------------------------------- */

TEST(sip_event_forms)
{
	static const struct {
		const char *in;
		const char *package;
		const char *id; /* NULL: absent */
		const char *params;
	} v[] = {
		{"certificate", "certificate", NULL, ""},
		{"credential", "credential", NULL, ""},
		{"presence.winfo", "presence.winfo", NULL, ""},
		{"certificate;id=42", "certificate", "42", ";id=42"},
		{"credential ; ID = a.b-7 ;x", "credential", "a.b-7",
		 "; ID = a.b-7 ;x"},
		{"presence.winfo.winfo;vendor=\"a;b\"", "presence.winfo.winfo",
		 NULL, ";vendor=\"a;b\""},
		{"certificate\r\n ;id=1\r\n\t;y=2", "certificate", "1",
		 ";id=1\r\n\t;y=2"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct sip_event ev;

		TEST_EQ_INT(sip_event_parse(slice_cstr(v[i].in), &ev), 0);
		TEST_EQ_SLICE(ev.package, v[i].package);
		if (v[i].id)
			TEST_EQ_SLICE(ev.id, v[i].id);
		else
			TEST_ASSERT(!ev.id.p);
		TEST_EQ_SLICE(ev.params, v[i].params);
		if (every_prefix(parse_event, v[i].in))
			return -1;
	}
	return 0;
}

TEST(sip_event_refusals)
{
	static const char *const bad[] = {
		"",
		";id=1",
		".presence",
		"presence.",
		"presence..winfo",
		"presence winfo",
		"certificate;id", /* id needs a value */
		"certificate;id=",
		"certificate;id=\"42\"", /* token, not quoted */
		"certificate;id=[::1]",
		"certificate;id=1;id=2",
		"certificate;",
		"certificate;;id=1",
		"certificate, credential", /* Event is not a list */
		"certi\"ficate",
		"certificate;id=1 junk",
		"certificate\r\n;id=1", /* a line break that is no fold */
	};
	struct sip_event ev = {.package = SLICE_LIT("kept")};

	if (all_refused(parse_event, bad, ARRAY_SIZE(bad)))
		return -1;
	/* the out-parameter is untouched on failure */
	TEST_EQ_INT(sip_event_parse(SLICE_LIT("a..b"), &ev), -EBADMSG);
	TEST_EQ_SLICE(ev.package, "kept");
	return 0;
}

/* ---- Subscription-State -------------------------------------------------- */

TEST(sip_substate_forms)
{
	struct sip_substate ss;

	TEST_EQ_INT(sip_substate_parse(SLICE_LIT("active;expires=3600"), &ss),
		    0);
	TEST_EQ_SLICE(ss.state, "active");
	TEST_ASSERT(ss.has_expires && ss.expires == 3600);
	TEST_ASSERT(!ss.has_retry_after && !ss.reason.p);
	TEST_EQ_SLICE(ss.params, ";expires=3600");

	TEST_EQ_INT(sip_substate_parse(SLICE_LIT("pending"), &ss), 0);
	TEST_EQ_SLICE(ss.state, "pending");
	TEST_ASSERT(!ss.has_expires && !ss.params.len);

	TEST_EQ_INT(sip_substate_parse(SLICE_LIT("terminated ; reason=timeout"
						 "\r\n ;retry-after=4294967295"
						 ";x=\"y\""),
				       &ss),
		    0);
	TEST_EQ_SLICE(ss.state, "terminated");
	TEST_EQ_SLICE(ss.reason, "timeout");
	TEST_ASSERT(ss.has_retry_after && ss.retry_after == UINT32_MAX);
	TEST_ASSERT(!ss.has_expires);

	/* extension substate and reason values are tokens */
	TEST_EQ_INT(sip_substate_parse(SLICE_LIT("x-held;reason=x-why;"
						 "expires=0"),
				       &ss),
		    0);
	TEST_EQ_SLICE(ss.state, "x-held");
	TEST_EQ_SLICE(ss.reason, "x-why");
	TEST_ASSERT(ss.has_expires && ss.expires == 0);

	if (every_prefix(parse_substate,
			 "terminated;reason=noresource;retry-after=30") ||
	    every_prefix(parse_substate, "active;expires=600;a=\"b\""))
		return -1;
	return 0;
}

TEST(sip_substate_refusals)
{
	static const char *const bad[] = {
		"",
		";expires=1",
		"active;expires=1;expires=1",
		"active;expires=4294967296",
		"active;expires=-1",
		"active;expires",
		"active;expires=\"60\"",
		"active;expires=60s",
		"terminated;retry-after=1;retry-after=2",
		"terminated;retry-after=x",
		"terminated;reason=a;reason=b",
		"terminated;reason",
		"terminated;reason=\"timeout\"",
		"active pending",
		"active,pending",
		"active;",
	};

	return all_refused(parse_substate, bad, ARRAY_SIZE(bad));
}

/* ---- Content-Type, Accept ------------------------------------------------ */

TEST(sip_ctype_forms)
{
	struct sip_ctype ct;

	TEST_EQ_INT(sip_ctype_parse(SLICE_LIT("application/sdp"), &ct), 0);
	TEST_EQ_SLICE(ct.type, "application");
	TEST_EQ_SLICE(ct.subtype, "sdp");
	TEST_ASSERT(!ct.params.len && !ct.boundary.p);

	TEST_EQ_INT(sip_ctype_parse(SLICE_LIT("multipart/mixed;boundary="
					      "\"unique boundary-1\""),
				    &ct),
		    0);
	TEST_EQ_SLICE(ct.subtype, "mixed");
	TEST_EQ_SLICE(ct.boundary, "unique boundary-1");
	TEST_EQ_SLICE(ct.params, ";boundary=\"unique boundary-1\"");

	TEST_EQ_INT(sip_ctype_parse(SLICE_LIT("Multipart / Mixed ;\r\n "
					      "BOUNDARY=\"xyz'()+_,-./:=?\";"
					      "charset=utf-8"),
				    &ct),
		    0);
	TEST_EQ_SLICE(ct.type, "Multipart");
	TEST_EQ_SLICE(ct.subtype, "Mixed");
	TEST_EQ_SLICE(ct.boundary, "xyz'()+_,-./:=?");

	/* media ranges of Accept (RFC 3261 §20.1) */
	TEST_EQ_INT(sip_ctype_parse(SLICE_LIT("*/*"), &ct), 0);
	TEST_EQ_SLICE(ct.type, "*");
	TEST_EQ_INT(sip_ctype_parse(SLICE_LIT("application/*;q=0.5"), &ct), 0);
	TEST_EQ_SLICE(ct.subtype, "*");
	TEST_EQ_SLICE(ct.params, ";q=0.5");

	if (every_prefix(parse_ctype, "text/plain; charset=\"utf-8\"") ||
	    every_prefix(parse_ctype, "multipart/mixed;boundary=b1") ||
	    every_prefix(parse_ctype, "*/*"))
		return -1;
	return 0;
}

TEST(sip_ctype_refusals)
{
	static const char *const bad[] = {
		"",
		"application",
		"application/",
		"/sdp",
		"*/sdp", /* not a media-range of §20.1 */
		"application/sdp/x",
		"text/html;charset",
		"text/html;charset=",
		"text/html;charset=[::1]",
		"text/html junk",
		"text/html, text/plain",
		"text/html;",
		"multipart/mixed;boundary=a;boundary=b",
		"multipart/mixed;boundary=\"\"",
		"multipart/mixed;boundary=\"a\\\"b\"",
		"multipart/mixed;boundary=\"ends in space \"",
		"multipart/mixed;boundary=\"unterminated",
		/* 71 characters: RFC 2046 §5.1.1 allows 70 */
		("multipart/mixed;boundary=a2345678901234567890123456789012345"
		 "678901234567890123456789012345678901"),
	};
	struct sip_ctype ct;

	/* and 70 characters are fine */
	TEST_EQ_INT(sip_ctype_parse(SLICE_LIT("multipart/mixed;boundary="
					      "a23456789012345678901234567890"
					      "1234567890123456789012345678"
					      "901234567890"),
				    &ct),
		    0);
	TEST_EQ_INT(ct.boundary.len, 70);
	return all_refused(parse_ctype, bad, ARRAY_SIZE(bad));
}

TEST(sip_ctype_matches)
{
	static const struct {
		const char *range;
		const char *type, *subtype;
		bool match;
	} v[] = {
		{"*/*", "application", "pkix-cert", true},
		{"application/*", "application", "pkix-cert", true},
		{"application/*", "APPLICATION", "x", true},
		{"application/*", "text", "plain", false},
		{"application/pkix-cert", "Application", "PKIX-Cert", true},
		{"application/pkix-cert", "application", "pkcs8", false},
		{"application/pkix-cert;q=0.1", "application", "pkix-cert",
		 true},
		{"text/plain", "application", "plain", false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct sip_ctype r;

		TEST_EQ_INT(sip_ctype_parse(slice_cstr(v[i].range), &r), 0);
		if (sip_ctype_matches(&r, v[i].type, v[i].subtype) !=
		    v[i].match) {
			TEST_FAIL_AT("%s vs %s/%s", v[i].range, v[i].type,
				     v[i].subtype);
			return -1;
		}
	}
	{
		struct sip_ctype r;

		TEST_EQ_INT(sip_ctype_parse(SLICE_LIT("*/*"), &r), 0);
		TEST_ASSERT(!sip_ctype_matches(NULL, "a", "b"));
		TEST_ASSERT(!sip_ctype_matches(&r, NULL, "b"));
		TEST_ASSERT(!sip_ctype_matches(&r, "a", NULL));
	}
	return 0;
}

/* ---- Content-Disposition ------------------------------------------------- */

TEST(sip_disposition_forms)
{
	struct sip_disposition d;

	TEST_EQ_INT(sip_disposition_parse(SLICE_LIT("session"), &d), 0);
	TEST_EQ_SLICE(d.type, "session");
	TEST_ASSERT(!d.params.len);
	TEST_EQ_INT(sip_disposition_parse(SLICE_LIT("render ;handling=optional"
						    ";x=\"y\""),
					  &d),
		    0);
	TEST_EQ_SLICE(d.type, "render");
	TEST_EQ_SLICE(d.params, ";handling=optional;x=\"y\"");
	TEST_EQ_INT(sip_disposition_parse(SLICE_LIT("x-cert\r\n ;Handling="
						    "REQUIRED"),
					  &d),
		    0);
	TEST_EQ_SLICE(d.type, "x-cert");
	if (every_prefix(parse_disposition, "icon;handling=required;a=b"))
		return -1;
	return 0;
}

TEST(sip_disposition_refusals)
{
	static const char *const bad[] = {
		"",
		";handling=optional",
		"render;handling",
		"render;handling=\"optional\"",
		"render;handling=optional;handling=required",
		"render;",
		"render junk",
		"render,session",
		"ren@der",
	};

	return all_refused(parse_disposition, bad, ARRAY_SIZE(bad));
}

/* ---- Date ---------------------------------------------------------------- */

TEST(sip_date_values)
{
	static const struct {
		const char *in;
		long long t;
	} v[] = {
		/* RFC 4474 Appendix B, the signed INVITE */
		{"Thu, 21 Feb 2002 13:02:03 GMT", 1014296523},
		/* RFC 2616 §3.3.1 */
		{"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
		{"Thu, 01 Jan 1970 00:00:00 GMT", 0},
		/* leap years: divisible by 4, and by 400 at a century */
		{"Thu, 29 Feb 2024 12:00:00 GMT", 1709208000},
		{"Tue, 29 Feb 2000 00:00:00 GMT", 951782400},
		{"Sun, 28 Feb 2100 00:00:00 GMT", 4107456000},
		{"Tue, 19 Jan 2038 03:14:08 GMT", 2147483648},
		{"Fri, 31 Dec 9999 23:59:59 GMT", 253402300799},
		/* a leap second counts as the next second */
		{"Sat, 31 Dec 2016 23:59:60 GMT", 1483228800},
		/* ABNF literals are case-insensitive (RFC 2234 §2.3) */
		{"thu, 21 FEB 2002 13:02:03 gmt", 1014296523},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		time_t t = -1;

		TEST_EQ_INT(sip_date_parse(slice_cstr(v[i].in), &t), 0);
		TEST_EQ_INT(t, v[i].t);
		if (every_prefix(parse_date, v[i].in))
			return -1;
	}
	return 0;
}

TEST(sip_date_refusals)
{
	static const char *const bad[] = {
		"",
		/* RFC 4475 §3.1.2.12 (baddate.dat): not GMT */
		"Sat, 13 Nov 2010 23:29:00 EST",
		"Sat, 13 Nov 2010 23:29:00 UT",
		"Sat, 13 Nov 2010 23:29:00 UTC",
		"Sat, 13 Nov 2010 23:29:00 +0000",
		"Sat, 13 Nov 2010 23:29:00",
		/* the weekday must be the date's */
		"Fri, 13 Nov 2010 23:29:00 GMT",
		"Xyz, 13 Nov 2010 23:29:00 GMT",
		/* no February 29 outside leap years */
		"Wed, 29 Feb 2023 00:00:00 GMT",
		"Mon, 29 Feb 2100 00:00:00 GMT",
		"Sat, 30 Feb 2024 00:00:00 GMT",
		"Thu, 31 Apr 2024 00:00:00 GMT",
		"Sat, 00 Nov 2010 23:29:00 GMT",
		"Sat, 32 Nov 2010 23:29:00 GMT",
		"Sat, 13 Nox 2010 23:29:00 GMT",
		/* clock ranges; second 60 only at 23:59 */
		"Sat, 13 Nov 2010 24:00:00 GMT",
		"Sat, 13 Nov 2010 23:60:00 GMT",
		"Sat, 13 Nov 2010 23:29:61 GMT",
		"Sat, 13 Nov 2010 22:59:60 GMT",
		/* exact digit counts */
		"Sat, 3 Nov 2010 23:29:00 GMT",
		"Sat, 13 Nov 10 23:29:00 GMT",
		"Sat, 13 Nov 02010 23:29:00 GMT",
		"Sat, 13 Nov 2010 3:29:00 GMT",
		"Sat, 13 Nov 2010 +3:29:00 GMT",
		/* before the epoch */
		"Wed, 31 Dec 1969 23:59:59 GMT",
		"Sat, 01 Jan 0000 00:00:00 GMT",
		/* the single SP of the grammar, and nothing after GMT */
		"Sat,  13 Nov 2010 23:29:00 GMT",
		"Sat,13 Nov 2010 23:29:00 GMT",
		"Sat, 13 Nov 2010  23:29:00 GMT",
		"Sat, 13\tNov 2010 23:29:00 GMT",
		"Sat, 13 Nov 2010\r\n 23:29:00 GMT",
		"Sat, 13 Nov 2010 23:29:00 GMT ",
		"Sat, 13 Nov 2010 23:29:00 GMTx",
		"Sat, 13 Nov 2010 23:29:00 GMT\r\n",
		/* rfc850 and asctime forms are HTTP's, not SIP's */
		"Saturday, 13-Nov-10 23:29:00 GMT",
		"Sat Nov 13 23:29:00 2010",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		time_t t = 7;

		if (sip_date_parse(slice_cstr(bad[i]), &t) != -EBADMSG ||
		    t != 7) {
			TEST_FAIL_AT("accepted: \"%s\"", bad[i]);
			return -1;
		}
	}
	return 0;
}

TEST(sip_date_format)
{
	static const struct {
		long long t;
		const char *out;
	} v[] = {
		{784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
		{1014296523, "Thu, 21 Feb 2002 13:02:03 GMT"},
		{0, "Thu, 01 Jan 1970 00:00:00 GMT"},
		{951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
		/* clamped to what a Date can spell */
		{-1, "Thu, 01 Jan 1970 00:00:00 GMT"},
		{253402300800, "Fri, 31 Dec 9999 23:59:59 GMT"},
	};
	char out[30];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		sip_date_format((time_t)v[i].t, out);
		TEST_EQ_STR(out, v[i].out);
	}
	return 0;
}

TEST(sip_date_round_trip)
{
	/* one instant a day for 400 years (a full Gregorian cycle, so
	 * every weekday, month length and leap rule), at a moving time of
	 * day */
	for (long long d = 0; d <= 146097; d++) {
		time_t t = (time_t)(d * 86400 + (d * 7919) % 86400), back = -1;
		char out[30];

		sip_date_format(t, out);
		if (strlen(out) != 29 ||
		    sip_date_parse(slice_cstr(out), &back) || back != t) {
			TEST_FAIL_AT("%lld -> \"%s\" -> %lld", (long long)t,
				     out, (long long)back);
			return -1;
		}
	}
	return 0;
}

TEST(sip_date_refuses_every_wrong_weekday)
{
	static const char *const days[7] = {"Sun", "Mon", "Tue", "Wed",
					    "Thu", "Fri", "Sat"};

	/* each of 400 days with each weekday: only its own one parses */
	for (long long d = 0; d < 400; d++) {
		time_t t = (time_t)(d * 86400 * 37), back;
		char out[30];
		int ok = 0;

		sip_date_format(t, out);
		for (int w = 0; w < 7; w++) {
			memcpy(out, days[w], 3);
			if (!sip_date_parse(slice_of(out, 29), &back)) {
				ok++;
				TEST_EQ_INT(back, t);
			}
		}
		TEST_EQ_INT(ok, 1);
	}
	return 0;
}

/* RFC 6665 §4.1.2.2 and §4.2.2: the answers that end a subscription */
TEST(sip_status_ends_subscription)
{
	/* RFC 6665 §4.2.2's list, and 408 */
	static const unsigned ends[] = {404, 405, 408, 410, 416, 480, 481,
					482, 483, 484, 485, 489, 501, 604};
	/* success, provisional, and errors for this transaction only
	 * (RFC 5057): around the list's edges too */
	static const unsigned stays[] = {100, 180, 200, 202, 299, 300, 302,
					 400, 401, 403, 406, 407, 409, 415,
					 420, 423, 479, 486, 487, 488, 491,
					 500, 502, 503, 600, 603, 0,   999};

	for (size_t i = 0; i < ARRAY_SIZE(ends); i++)
		TEST_ASSERT(sip_status_ends_subscription(ends[i]));
	for (size_t i = 0; i < ARRAY_SIZE(stays); i++)
		TEST_ASSERT(!sip_status_ends_subscription(stays[i]));
	return 0;
}
