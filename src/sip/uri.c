/* SPDX-License-Identifier: BSD-3-Clause */
/* URIs: SIP and SIPS (RFC 3261 §19.1, §25.1; sipsec: of
 * draft-gurbani-sip-sipsec-01 §6.2 has the same syntax), tel: (RFC 3966),
 * any other absoluteURI; comparison (§19.1.4, RFC 3966 §4); AOR form. */
#include "sip.h"

#include <string.h>

enum {
	/* uri-parameters, headers or tel parameters in one URI. Comparison
	 * is quadratic in them, so a URI carrying more is refused. */
	URI_MAX_PARAMS = 64,
};

/* RFC 3261 §25.1 character sets beyond unreserved = alphanum / mark:
 * user-unreserved "&=+$,;?/", password "&=+$,", param-unreserved
 * "[]/:&+$", hnv-unreserved "[]/?:+$". Scanning reads them from uri_map
 * below; printing needs the user set as a string too. */
static const char user_unreserved[] = "&=+$,;?/";
/* RFC 2396 §2.2 reserved, which RFC 3261 §19.1.4 refers to */
static const char reserved[] = ";/?:@&=+$,";
/* uric = reserved / unreserved / escaped, plus "[" and "]" which RFC 2732
 * §3 added to reserved for IPv6 literals (http://[2001:db8::1]/):
 * ";/?:@&=+$,[]" in uri_map. */
/* RFC 3966 isdn-subaddress = ";isub=" 1*uric; its ';' ends it. */
static const char isub_extra[] = "/?:@&=+$,";

static const char *const scheme_names[] = {
	[SIP_URI_SIP] = "sip",
	[SIP_URI_SIPS] = "sips",
	[SIP_URI_SIPSEC] = "sipsec",
	[SIP_URI_TEL] = "tel",
};

/* The same sets as bits of one table, for scanning: an octet's bit is
 * set when it may stand unescaped in that part (uri_test.c checks the
 * table against the strings above). */
enum {
	U_UNRES = 1 << 0, /* unreserved = alphanum / mark */
	U_USER = 1 << 1,  /* user_unreserved */
	U_PASS = 1 << 2,  /* password_extra */
	U_PARAM = 1 << 3, /* param_unreserved */
	U_HNV = 1 << 4,	  /* hnv_unreserved */
	U_URIC = 1 << 5,  /* uric_extra */
	U_ISUB = 1 << 6,  /* isub_extra */
	U_HOST = 1 << 7,  /* alphanum / "-" / ".": hostname or IPv4 */
};

static const unsigned char uri_map[256] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 00-07 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 08-0f */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 10-17 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 18-1f */
	0x00, 0x01, 0x00, 0x00, 0x7e, 0x00, 0x6e, 0x01, /* 20-' */
	0x01, 0x01, 0x01, 0x7e, 0x66, 0x81, 0x81, 0x7a, /* (-/ */
	0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, /* 0-7 */
	0x81, 0x81, 0x78, 0x22, 0x00, 0x66, 0x00, 0x72, /* 8-? */
	0x60, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, /* @-G */
	0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, /* H-O */
	0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, /* P-W */
	0x81, 0x81, 0x81, 0x38, 0x00, 0x38, 0x00, 0x01, /* X-_ */
	0x00, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, /* `-g */
	0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, /* h-o */
	0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, /* p-w */
	0x81, 0x81, 0x81, 0x00, 0x00, 0x00, 0x01, 0x00, /* x-7f */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 80-87 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 88-8f */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 90-97 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 98-9f */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* a0-a7 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* a8-af */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* b0-b7 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* b8-bf */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* c0-c7 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* c8-cf */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* d0-d7 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* d8-df */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* e0-e7 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* e8-ef */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* f0-f7 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* f8-ff */
};

static bool in_set(const char *set, int c)
{
	return c > 0 && strchr(set, c) != NULL;
}

static bool is_alnum(int c)
{
	return char_in(c, CHAR_ALPHA | CHAR_DIGIT);
}

static int to_lower(int c)
{
	return char_lower(c);
}

static bool is_escape(const char *p, const char *end)
{
	return end - p >= 3 && p[0] == '%' &&
	       char_is_hex((unsigned char)p[1]) &&
	       char_is_hex((unsigned char)p[2]);
}

/* Skip unreserved characters, characters of the extra sets and escapes;
 * stop at anything else. Inside a URI a '%' must start "%" HEXDIG HEXDIG
 * (§25.1 escaped), so a bare one stops the run and fails the caller. */
static const char *span(const char *p, const char *end, unsigned extra)
{
	const unsigned mask = U_UNRES | extra;

	while (p < end) {
		unsigned char c = (unsigned char)*p;

		if (uri_map[c] & mask) {
			p++;
		} else if (c == '%' && is_escape(p, end)) {
			p += 3;
		} else {
			break;
		}
	}
	return p;
}

static bool chars_ok(const char *p, const char *end, unsigned extra)
{
	return span(p, end, extra) == end;
}

/* No white space, control, non-ASCII octet, '<', '>' or '"' is ever part
 * of a URI (RFC 3261 §25.1: they must be escaped). */
static bool is_never_uri(unsigned char c)
{
	return c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"';
}

/* What a parser that stops early at a limit returns: the limit's
 * -EMSGSIZE, unless an octet no URI may hold comes later, which is the
 * -EBADMSG that a check of the whole URI gives first. */
static int too_many(const char *p, const char *end)
{
	for (; p < end; p++)
		if (is_never_uri((unsigned char)*p))
			return -EBADMSG;
	return -EMSGSIZE;
}

/* ---- hosts --------------------------------------------------------------- */

/* IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT, each
 * octet at most 255. */
static bool ipv4_parse(const char *p, const char *end, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0;
		int n = 0;

		if (i) {
			if (p >= end || *p != '.')
				return false;
			p++;
		}
		while (p < end && n < 3 && char_is_digit((unsigned char)*p)) {
			v = v * 10 + (unsigned)(*p - '0');
			p++;
			n++;
		}
		if (!n || v > 255)
			return false;
		out[i] = (uint8_t)v;
	}
	return p == end;
}

/* IPv6address of RFC 3261 §25.1 with the RFC 4291 §2.2 reading of "::"
 * (one or more zero groups) and of an IPv4 tail (two groups, also right
 * after "::", as in "::192.0.2.1"); no zone identifier. */
static bool ipv6_parse(const char *p, const char *end, uint8_t out[16])
{
	uint16_t g[8];
	int n = 0, gap = -1;

	if (end - p >= 2 && p[0] == ':' && p[1] == ':') {
		gap = 0;
		p += 2;
	} else if (p < end && *p == ':') {
		return false;
	}
	while (p < end) {
		const char *q = p;
		unsigned v = 0;

		while (q < end && *q != ':' && *q != '.')
			q++;
		if (q < end && *q == '.') {
			uint8_t v4[4];

			/* the IPv4 tail ends the address */
			if (n > 6 || !ipv4_parse(p, end, v4))
				return false;
			g[n++] = (uint16_t)(v4[0] << 8 | v4[1]);
			g[n++] = (uint16_t)(v4[2] << 8 | v4[3]);
			break;
		}
		if (q == p || q - p > 4 || n == 8)
			return false;
		for (; p < q; p++) {
			int h = hex_val((unsigned char)*p);

			if (h < 0)
				return false;
			v = v << 4 | (unsigned)h;
		}
		g[n++] = (uint16_t)v;
		if (p == end)
			break;
		p++; /* ':' */
		if (p < end && *p == ':') {
			if (gap >= 0)
				return false;
			gap = n;
			p++;
		} else if (p == end) {
			return false; /* "1:" */
		}
	}
	if (gap < 0 ? n != 8 : n > 7)
		return false;
	memset(out, 0, 16);
	for (int i = 0; i < n; i++) {
		int at = gap < 0 || i < gap ? i : 8 - n + i;

		out[2 * at] = (uint8_t)(g[i] >> 8);
		out[2 * at + 1] = (uint8_t)g[i];
	}
	return true;
}

/* hostname = *( domainlabel "." ) toplabel [ "." ]
 * domainlabel = alphanum / alphanum *( alphanum / "-" ) alphanum
 * toplabel = ALPHA / ALPHA *( alphanum / "-" ) alphanum
 * so an all-numeric last label ("1.2.3.256") is no host name. */
static bool hostname_ok(const char *p, const char *end)
{
	const char *label = p;

	if (p < end && end[-1] == '.')
		end--;
	if (p >= end)
		return false;
	for (const char *q = p;; q++) {
		if (q == end || *q == '.') {
			if (q == label || !is_alnum((unsigned char)*label) ||
			    !is_alnum((unsigned char)q[-1]))
				return false;
			if (q == end)
				return char_is_alpha((unsigned char)*label);
			label = q + 1;
		} else if (!is_alnum((unsigned char)*q) && *q != '-') {
			return false;
		}
	}
}

/* The end of a hostname or IPv4address at p: both are alphanum, "-" and
 * "."; what ends them is the port, the parameters, the headers or the
 * end. One pass checks the labels as hostname_ok() does: an IPv4 address
 * passes those checks too, and only its last label starts with a digit,
 * which no host name's may. NULL when it is neither. */
static const char *name_or_ipv4(const char *p, const char *end,
				enum sip_host_type *type)
{
	const char *q, *label = p, *top = NULL;
	uint8_t a[4];

	for (q = p; q < end; q++) {
		unsigned char c = (unsigned char)*q;

		if (char_in(c, CHAR_ALPHA | CHAR_DIGIT))
			continue;
		if (c == '-') {
			/* a label starts and ends with alphanum */
			if (q == label)
				return NULL;
		} else if (c == '.') {
			if (q == label || q[-1] == '-')
				return NULL;
			top = label;
			label = q + 1;
		} else {
			break;
		}
	}
	if (q < end && *q != ':' && *q != ';' && *q != '?')
		return NULL;
	if (label < q) {
		if (q[-1] == '-')
			return NULL;
		top = label;
	} else if (!top) {
		return NULL; /* empty */
	}
	/* else a trailing dot ends the name: top is the label before it */
	if (char_is_alpha((unsigned char)*top))
		*type = SIP_HOST_NAME;
	else if (ipv4_parse(p, q, a))
		*type = SIP_HOST_IPV4;
	else
		return NULL;
	return q;
}

/* host = hostname / IPv4address / IPv6reference; *pp moves past it. */
static int host_parse(const char **pp, const char *end, struct sip_uri *u)
{
	const char *p = *pp, *q;
	uint8_t a[16];

	if (p < end && *p == '[') {
		q = memchr(p, ']', (size_t)(end - p));
		if (!q || !ipv6_parse(p + 1, q, a))
			return -EBADMSG;
		q++;
		u->host_type = SIP_HOST_IPV6;
	} else {
		q = name_or_ipv4(p, end, &u->host_type);
		if (!q)
			return -EBADMSG;
	}
	u->host = slice_of(p, (size_t)(q - p));
	*pp = q;
	return 0;
}

/* ---- sip:, sips:, sipsec: ------------------------------------------------ */

/* SIP-URI = "sip:" [ userinfo ] hostport uri-parameters [ headers ]
 * userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
 * Neither user nor password nor anything after the host may hold a bare
 * '@', so the first one ends the userinfo; ';' and '?' before it belong
 * to the user (RFC 4475 §3.1.1.9). The characters of telephone-subscriber
 * that may stand unescaped in a SIP URI are all user characters. */
static int sip_parse(const char *p, const char *end, struct sip_uri *u)
{
	const char *at = memchr(p, '@', (size_t)(end - p));
	const char *q;
	size_t n = 0;

	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *uend = colon ? colon : at;

		if (uend == p || !chars_ok(p, uend, U_USER))
			return -EBADMSG;
		u->user = slice_of(p, (size_t)(uend - p));
		if (colon) {
			if (!chars_ok(colon + 1, at, U_PASS))
				return -EBADMSG;
			u->password =
				slice_of(colon + 1, (size_t)(at - colon - 1));
		}
		p = at + 1;
	}
	if (host_parse(&p, end, u))
		return -EBADMSG;
	if (p < end && *p == ':') {
		struct scan s = {p + 1, end};
		uint32_t port;

		if (scan_u32(&s, 65535, &port))
			return -EBADMSG;
		u->port = (uint16_t)port;
		u->has_port = true;
		p = s.p;
	}
	if (p < end && *p == ';') {
		/* uri-parameter = pname [ "=" pvalue ], both 1*paramchar */
		const char *start = ++p;

		for (;;) {
			q = span(p, end, U_PARAM);
			if (q == p)
				return -EBADMSG;
			p = q;
			if (p < end && *p == '=') {
				q = span(p + 1, end, U_PARAM);
				if (q == p + 1)
					return -EBADMSG;
				p = q;
			}
			if (++n > URI_MAX_PARAMS)
				return too_many(p, end);
			if (p == end || *p != ';')
				break;
			p++;
		}
		u->params = slice_of(start, (size_t)(p - start));
	}
	if (p < end && *p == '?') {
		/* header = hname "=" hvalue; hvalue may be empty */
		const char *start = ++p;

		n = 0;
		for (;;) {
			q = span(p, end, U_HNV);
			if (q == p || q == end || *q != '=')
				return -EBADMSG;
			p = span(q + 1, end, U_HNV);
			if (++n > URI_MAX_PARAMS)
				return too_many(p, end);
			if (p == end || *p != '&')
				break;
			p++;
		}
		u->headers = slice_of(start, (size_t)(p - start));
	}
	return p == end ? 0 : -EBADMSG;
}

/* ---- tel: (RFC 3966 §3) -------------------------------------------------- */

static bool is_visual(int c)
{
	return c == '-' || c == '.' || c == '(' || c == ')';
}

/* global-number-digits = "+" *phonedigit DIGIT *phonedigit */
static bool global_digits_ok(const char *p, const char *end)
{
	bool digit = false;

	if (p >= end || *p != '+')
		return false;
	for (p++; p < end; p++) {
		if (char_is_digit((unsigned char)*p))
			digit = true;
		else if (!is_visual((unsigned char)*p))
			return false;
	}
	return digit;
}

/* local-number-digits = *phonedigit-hex (HEXDIG / "*" / "#")
 *			 *phonedigit-hex */
static bool local_digits_ok(const char *p, const char *end)
{
	bool digit = false;

	for (; p < end; p++) {
		int c = (unsigned char)*p;

		if (char_is_hex(c) || c == '*' || c == '#')
			digit = true;
		else if (!is_visual(c))
			return false;
	}
	return digit;
}

/* extension = ";ext=" 1*phonedigit; sipcert wants a digit among them so
 * that the AOR form, which drops visual separators, stays a valid URI. */
static bool ext_ok(const char *p, const char *end)
{
	bool digit = false;

	for (; p < end; p++) {
		if (char_is_digit((unsigned char)*p))
			digit = true;
		else if (!is_visual((unsigned char)*p))
			return false;
	}
	return digit;
}

/* §3: each parameter name MUST NOT appear more than once. */
static bool tel_param_seen(const char *from, const char *to, struct slice name)
{
	while (from < to) {
		const char *e = memchr(from, ';', (size_t)(to - from));
		const char *n_end;

		if (!e)
			e = to;
		n_end = memchr(from, '=', (size_t)(e - from));
		if (!n_end)
			n_end = e;
		if (slice_caseeq(slice_of(from, (size_t)(n_end - from)), name))
			return true;
		from = e + 1;
	}
	return false;
}

/* telephone-subscriber = global-number / local-number
 * global-number = global-number-digits *par
 * local-number = local-number-digits *par context *par
 * par = parameter / extension / isdn-subaddress
 * parameter = ";" pname [ "=" pvalue ], pname = 1*( alphanum / "-" ) */
static int tel_parse(const char *p, const char *end, struct sip_uri *u)
{
	const char *semi = memchr(p, ';', (size_t)(end - p));
	const char *num_end = semi ? semi : end;
	bool is_global = p < end && *p == '+', has_context = false;
	size_t n = 0;

	if (is_global ? !global_digits_ok(p, num_end)
		      : !local_digits_ok(p, num_end))
		return -EBADMSG;
	u->rest = slice_of(p, (size_t)(end - p));
	if (semi) {
		u->params = slice_of(semi + 1, (size_t)(end - semi - 1));
		p = semi + 1;
	}
	while (semi) {
		const char *q = p, *v = NULL, *v_end;
		struct slice name;

		while (q < end && (is_alnum((unsigned char)*q) || *q == '-'))
			q++;
		if (q == p)
			return -EBADMSG;
		name = slice_of(p, (size_t)(q - p));
		v_end = memchr(q, ';', (size_t)(end - q));
		if (!v_end)
			v_end = end;
		if (q < end && *q == '=') {
			v = q + 1;
			if (v == v_end)
				return -EBADMSG;
		} else if (q != v_end) {
			return -EBADMSG;
		}
		if (++n > URI_MAX_PARAMS)
			return too_many(p, end);
		if (tel_param_seen(u->params.p, p, name))
			return -EBADMSG;
		if (slice_caseeq_cstr(name, "phone-context")) {
			/* context = ";phone-context=" descriptor
			 * descriptor = domainname / global-number-digits */
			if (!v || is_global ||
			    !(*v == '+' ? global_digits_ok(v, v_end)
					: hostname_ok(v, v_end)))
				return -EBADMSG;
			has_context = true;
		} else if (slice_caseeq_cstr(name, "ext")) {
			if (!v || !ext_ok(v, v_end))
				return -EBADMSG;
		} else if (slice_caseeq_cstr(name, "isub")) {
			if (!v || !chars_ok(v, v_end, U_ISUB))
				return -EBADMSG;
		} else if (v && !chars_ok(v, v_end, U_PARAM)) {
			/* pvalue = 1*paramchar */
			return -EBADMSG;
		}
		if (v_end == end)
			break;
		p = v_end + 1;
	}
	/* §5.1.5: a local number is meaningful only in its context */
	if (!is_global && !has_context)
		return -EBADMSG;
	return 0;
}

/* ---- parse --------------------------------------------------------------- */

static enum sip_uri_scheme scheme_lookup(struct slice name)
{
	enum sip_uri_scheme sc;

	switch (name.len) {
	case 3:
		sc = char_lower((unsigned char)name.p[0]) == 't' ? SIP_URI_TEL
								 : SIP_URI_SIP;
		break;
	case 4:
		sc = SIP_URI_SIPS;
		break;
	case 6:
		sc = SIP_URI_SIPSEC;
		break;
	default:
		return SIP_URI_OTHER;
	}
	return mem_caseeq(name.p, scheme_names[sc], name.len) ? sc
							      : SIP_URI_OTHER;
}

/* absoluteURI = scheme ":" ( hier-part / opaque-part ) (RFC 3261 §25.1):
 * every character is a uric, and opaque-part is 1* of them. */
static int other_parse(const char *p, const char *end, struct sip_uri *u)
{
	if (p == end || !chars_ok(p, end, U_URIC))
		return -EBADMSG;
	u->rest = slice_of(p, (size_t)(end - p));
	return 0;
}

int sip_uri_parse(struct slice s, struct sip_uri *out)
{
	struct sip_uri u = {0};
	const char *p = s.p, *end, *colon;
	int err;

	if (!out || (!s.p && s.len))
		return -EINVAL;
	if (!s.len)
		return -EBADMSG;
	end = s.p + s.len;
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":". The
	 * grammar of each part below admits no octet that is never part of
	 * a URI (white space, controls, non-ASCII, '<', '>', '"'), so every
	 * octet is checked once, by the part it belongs to. */
	if (!char_is_alpha((unsigned char)*p))
		return -EBADMSG;
	for (colon = p + 1;
	     colon < end &&
	     ((uri_map[(unsigned char)*colon] & U_HOST) || *colon == '+');
	     colon++)
		;
	if (colon == end || *colon != ':')
		return -EBADMSG;
	u.scheme_name = slice_of(p, (size_t)(colon - p));
	u.whole = s;
	u.scheme = scheme_lookup(u.scheme_name);
	switch (u.scheme) {
	case SIP_URI_SIP:
	case SIP_URI_SIPS:
	case SIP_URI_SIPSEC:
		err = sip_parse(colon + 1, end, &u);
		break;
	case SIP_URI_TEL:
		err = tel_parse(colon + 1, end, &u);
		break;
	default:
		err = other_parse(colon + 1, end, &u);
		break;
	}
	if (err)
		return err;
	*out = u;
	return 0;
}

/* ---- escapes ------------------------------------------------------------- */

int sip_uri_unescape(struct buf *out, struct slice s)
{
	size_t i = 0;

	if (!out || (!s.p && s.len))
		return -EINVAL;
	for (size_t k = 0; k < s.len; k++)
		if (s.p[k] == '%' && !is_escape(s.p + k, s.p + s.len))
			return -EBADMSG;
	/* one pass: "%2541" gives "%41", never "A" (RFC 4475 §3.1.1.3) */
	while (i < s.len) {
		const char *pct = memchr(s.p + i, '%', s.len - i);
		size_t run = pct ? (size_t)(pct - s.p) - i : s.len - i;

		(void)buf_append(out, s.p + i, run);
		i += run;
		if (i == s.len)
			break;
		(void)buf_append_byte(
			out, (char)(hex_val((unsigned char)s.p[i + 1]) << 4 |
				    hex_val((unsigned char)s.p[i + 2])));
		i += 3;
	}
	return out->err;
}

/* One comparison unit of escaped text at s.p[i]: the octet it stands for,
 * and whether it must stay apart from that octet written literally. RFC
 * 3261 §19.1.4: "Characters other than those in the reserved set are
 * equivalent to their %HH encoding", so only an escaped reserved character
 * differs from the literal one (";" is a separator, "%3B" is data).
 * Returns the octets consumed. */
static size_t unit_at(struct slice s, size_t i, int *c, bool *escaped)
{
	if (is_escape(s.p + i, s.p + s.len)) {
		*c = hex_val((unsigned char)s.p[i + 1]) << 4 |
		     hex_val((unsigned char)s.p[i + 2]);
		*escaped = in_set(reserved, *c);
		return 3;
	}
	*c = (unsigned char)s.p[i];
	*escaped = false;
	return 1;
}

static bool esc_eq(struct slice a, struct slice b, bool nocase)
{
	size_t i = 0, j = 0;

	while (i < a.len && j < b.len) {
		int ca, cb;
		bool xa, xb;

		i += unit_at(a, i, &ca, &xa);
		j += unit_at(b, j, &cb, &xb);
		if (nocase) {
			ca = to_lower(ca);
			cb = to_lower(cb);
		}
		if (ca != cb || xa != xb)
			return false;
	}
	return i == a.len && j == b.len;
}

/* ---- parameter and header runs ------------------------------------------- */

struct nv {
	struct slice name;
	struct slice value; /* empty for a flag */
};

struct nv_iter {
	struct slice run;
	size_t off;
	char sep; /* ';' between parameters, '&' between headers */
};

static bool nv_next(struct nv_iter *it, struct nv *out)
{
	const char *p, *e, *eq;
	size_t left;

	if (it->off >= it->run.len)
		return false;
	p = it->run.p + it->off;
	left = it->run.len - it->off;
	e = memchr(p, it->sep, left);
	if (!e)
		e = p + left;
	eq = memchr(p, '=', (size_t)(e - p));
	out->name = slice_of(p, (size_t)((eq ? eq : e) - p));
	out->value =
		eq ? slice_of(eq + 1, (size_t)(e - eq - 1)) : slice_of(e, 0);
	it->off = (size_t)(e - it->run.p) + 1;
	return true;
}

/* First entry of run named name (case-insensitive, escapes decoded). */
static bool nv_find(struct slice run, char sep, struct slice name,
		    struct nv *out)
{
	struct nv_iter it = {run, 0, sep};
	struct nv x;

	while (nv_next(&it, &x))
		if (esc_eq(x.name, name, true)) {
			*out = x;
			return true;
		}
	return false;
}

static size_t nv_count(struct slice run, char sep)
{
	struct nv_iter it = {run, 0, sep};
	struct nv x;
	size_t n = 0;

	while (nv_next(&it, &x))
		n++;
	return n;
}

int sip_uri_param(const struct sip_uri *u, const char *name,
		  struct slice *value)
{
	struct nv x;

	if (!u || !name || !value)
		return -EINVAL;
	if (!nv_find(u->params, ';', slice_cstr(name), &x))
		return -ENOENT;
	*value = x.value;
	return 0;
}

/* ---- comparison ---------------------------------------------------------- */

/* §19.1.4: a user, ttl, method or maddr parameter in only one URI never
 * matches; nor does transport (its example "sip:bob@biloxi.com" against
 * ";transport=udp"). Every other parameter in only one URI is ignored. */
static bool param_must_match(struct slice name)
{
	static const char *const names[] = {"user", "ttl", "method", "maddr",
					    "transport"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (esc_eq(name, slice_cstr(names[i]), true))
			return true;
	return false;
}

/* Every parameter of a against b. A name given twice counts by its first
 * occurrence, as sip_uri_param() reads it. */
static bool params_match(struct slice a, struct slice b)
{
	struct nv_iter it = {a, 0, ';'};
	struct nv x, first, y;

	while (nv_next(&it, &x)) {
		if (nv_find(a, ';', x.name, &first) && first.name.p != x.name.p)
			continue;
		if (!nv_find(b, ';', x.name, &y)) {
			if (param_must_match(x.name))
				return false;
			continue;
		}
		if (!esc_eq(x.value, y.value, true))
			return false;
	}
	return true;
}

/* §19.1.4: headers are never ignored; they match as a multiset, names
 * case-insensitively (§7.3.1) and values exactly, after decoding. */
static bool header_eq(const struct nv *x, const struct nv *y)
{
	return esc_eq(x->name, y->name, true) &&
	       esc_eq(x->value, y->value, false);
}

static size_t header_count(struct slice run, const struct nv *h)
{
	struct nv_iter it = {run, 0, '&'};
	struct nv x;
	size_t n = 0;

	while (nv_next(&it, &x))
		n += header_eq(&x, h);
	return n;
}

static bool headers_match(struct slice a, struct slice b)
{
	struct nv_iter it = {a, 0, '&'};
	struct nv x;

	if (nv_count(a, '&') != nv_count(b, '&'))
		return false;
	while (nv_next(&it, &x))
		if (header_count(a, &x) != header_count(b, &x))
			return false;
	return true;
}

/* Addresses compare by value (leading zeros and IPv6 spellings aside),
 * host names case-insensitively; §19.1.4: a name never equals an address. */
static bool host_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	uint8_t x[16], y[16];

	if (a->host_type != b->host_type)
		return false;
	if (!a->host.len || !b->host.len)
		return a->host.len == b->host.len;
	if (a->host_type == SIP_HOST_IPV4 &&
	    ipv4_parse(a->host.p, a->host.p + a->host.len, x) &&
	    ipv4_parse(b->host.p, b->host.p + b->host.len, y))
		return !memcmp(x, y, 4);
	if (a->host_type == SIP_HOST_IPV6 && a->host.len > 2 &&
	    b->host.len > 2 &&
	    ipv6_parse(a->host.p + 1, a->host.p + a->host.len - 1, x) &&
	    ipv6_parse(b->host.p + 1, b->host.p + b->host.len - 1, y))
		return !memcmp(x, y, 16);
	return slice_caseeq(a->host, b->host);
}

static bool sip_equal(const struct sip_uri *a, const struct sip_uri *b)
{
	/* userinfo is case-sensitive; an absent user or password never
	 * matches a present one */
	if (!a->user.p != !b->user.p || !a->password.p != !b->password.p)
		return false;
	if (!esc_eq(a->user, b->user, false) ||
	    !esc_eq(a->password, b->password, false))
		return false;
	if (!host_eq(a, b))
		return false;
	/* an absent port never matches an explicit one, even 5060 */
	if (a->has_port != b->has_port || (a->has_port && a->port != b->port))
		return false;
	return params_match(a->params, b->params) &&
	       params_match(b->params, a->params) &&
	       headers_match(a->headers, b->headers);
}

/* The telephone-subscriber digits before the first ';'. */
static struct slice tel_number(struct slice rest)
{
	const char *semi = rest.len ? memchr(rest.p, ';', rest.len) : NULL;

	return semi ? slice_of(rest.p, (size_t)(semi - rest.p)) : rest;
}

/* RFC 3966 §4: digits compare without visual separators, any case. */
static bool digits_eq(struct slice a, struct slice b)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a.len && is_visual((unsigned char)a.p[i]))
			i++;
		while (j < b.len && is_visual((unsigned char)b.p[j]))
			j++;
		if (i == a.len || j == b.len)
			return i == a.len && j == b.len;
		if (to_lower((unsigned char)a.p[i]) !=
		    to_lower((unsigned char)b.p[j]))
			return false;
		i++;
		j++;
	}
}

/* RFC 3966 §4: parameters compare by name regardless of order, and one
 * that is in only one URI makes them differ. */
static bool tel_params_match(struct slice a, struct slice b)
{
	struct nv_iter it = {a, 0, ';'};
	struct nv x, y;

	while (nv_next(&it, &x)) {
		bool same;

		if (!nv_find(b, ';', x.name, &y))
			return false;
		if (slice_caseeq_cstr(x.name, "phone-context"))
			same = x.value.len && x.value.p[0] == '+'
				       ? digits_eq(x.value, y.value)
				       : slice_caseeq(x.value, y.value);
		else if (slice_caseeq_cstr(x.name, "ext"))
			same = digits_eq(x.value, y.value);
		else
			same = esc_eq(x.value, y.value, true);
		if (!same)
			return false;
	}
	return true;
}

static bool tel_equal(const struct sip_uri *a, const struct sip_uri *b)
{
	struct slice na = tel_number(a->rest), nb = tel_number(b->rest);
	bool ga = na.len && na.p[0] == '+', gb = nb.len && nb.p[0] == '+';

	return ga == gb && digits_eq(na, nb) &&
	       tel_params_match(a->params, b->params) &&
	       tel_params_match(b->params, a->params);
}

bool sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b)
{
	if (!a || !b || a->scheme != b->scheme)
		return false;
	switch (a->scheme) {
	case SIP_URI_SIP:
	case SIP_URI_SIPS:
	case SIP_URI_SIPSEC:
		return sip_equal(a, b);
	case SIP_URI_TEL:
		return tel_equal(a, b);
	default:
		return slice_caseeq(a->scheme_name, b->scheme_name) &&
		       slice_eq(a->rest, b->rest);
	}
}

/* ---- printing ------------------------------------------------------------ */

/* Append escaped text in its normal form: an escape of a character outside
 * the reserved set that may stand literally (unreserved, or in keep) is
 * decoded, every other escape is %HH with upper-case hex, and the literal
 * characters stay. keep holds reserved characters only, so text equal
 * under esc_eq() gives one string and unequal text gives different ones. */
static int append_canon(struct buf *b, struct slice s, const char *keep,
			bool lower)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0;

	while (i < s.len) {
		int c;
		bool escaped;

		i += unit_at(s, i, &c, &escaped);
		if (lower)
			c = to_lower(c);
		if (!escaped && (char_is_unreserved(c) || in_set(keep, c))) {
			(void)buf_append_byte(b, (char)c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			(void)buf_append(b, e, sizeof(e));
		}
	}
	return b->err;
}

/* RFC 5952 §4 text form, with §5 for IPv4-mapped addresses. */
static int append_ipv6(struct buf *b, const uint8_t a[16])
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	int best = -1, best_len = 1;

	if (!memcmp(a, mapped, sizeof(mapped)))
		return buf_printf(b, "[::ffff:%u.%u.%u.%u]", a[12], a[13],
				  a[14], a[15]);
	for (int i = 0; i < 8;) {
		int n = 0;

		while (i + n < 8 && !a[2 * (i + n)] && !a[2 * (i + n) + 1])
			n++;
		if (n > best_len) {
			best = i;
			best_len = n;
		}
		i += n ? n : 1;
	}
	(void)buf_append_byte(b, '[');
	for (int i = 0; i < 8;) {
		if (i == best) {
			(void)buf_append_cstr(b, "::");
			i += best_len;
			continue;
		}
		if (i && i != best + best_len)
			(void)buf_append_byte(b, ':');
		(void)buf_printf(b, "%x",
				 (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
		i++;
	}
	return buf_append_byte(b, ']');
}

static int append_lower(struct buf *b, struct slice s)
{
	for (size_t i = 0; i < s.len; i++)
		(void)buf_append_byte(b, (char)to_lower((unsigned char)s.p[i]));
	return b->err;
}

static int append_host(struct buf *b, const struct sip_uri *u)
{
	uint8_t a[16];

	if (u->host_type == SIP_HOST_IPV4 &&
	    ipv4_parse(u->host.p, u->host.p + u->host.len, a))
		return buf_printf(b, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	if (u->host_type == SIP_HOST_IPV6 && u->host.len > 2 &&
	    ipv6_parse(u->host.p + 1, u->host.p + u->host.len - 1, a))
		return append_ipv6(b, a);
	return append_lower(b, u->host);
}

/* Digits without visual separators, lower case. */
static int append_digits(struct buf *b, struct slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if (!is_visual((unsigned char)s.p[i]))
			(void)buf_append_byte(
				b, (char)to_lower((unsigned char)s.p[i]));
	return b->err;
}

static int append_tel_aor(struct buf *b, const struct sip_uri *u)
{
	struct nv x;

	(void)buf_append_cstr(b, "tel:");
	(void)append_digits(b, tel_number(u->rest));
	if (nv_find(u->params, ';', SLICE_LIT("isub"), &x)) {
		(void)buf_append_cstr(b, ";isub=");
		(void)append_canon(b, x.value, isub_extra, true);
	}
	if (nv_find(u->params, ';', SLICE_LIT("ext"), &x)) {
		(void)buf_append_cstr(b, ";ext=");
		(void)append_digits(b, x.value);
	}
	if (nv_find(u->params, ';', SLICE_LIT("phone-context"), &x)) {
		(void)buf_append_cstr(b, ";phone-context=");
		if (x.value.len && x.value.p[0] == '+')
			(void)append_digits(b, x.value);
		else
			(void)append_lower(b, x.value);
	}
	return b->err;
}

/* The AOR normal form, the key sipcert stores an address-of-record under:
 *
 *   sip:, sips:, sipsec:   SCHEME ":" [ USER "@" ] HOST
 *     SCHEME  "sip", "sips" or "sipsec", lower case;
 *     USER    the user part (case kept: §19.1.4 userinfo is case-sensitive)
 *	       with each escape of an unreserved character decoded and every
 *	       other escape written %HH in upper-case hex, so "%61lice" and
 *	       "alice" give "alice", "%3b" gives "%3B" and ";" stays ";"
 *	       (an escaped reserved character differs from the literal one),
 *	       "%00" and "%40" stay escaped;
 *     HOST    a host name in lower case (a trailing dot kept); an IPv4
 *	       address in dotted decimal without leading zeros; an IPv6
 *	       reference in RFC 5952 text within brackets.
 *     The password, port, parameters and headers are dropped.
 *   tel:   "tel:" NUMBER [ ";isub=" ISUB ] [ ";ext=" EXT ]
 *	    [ ";phone-context=" CONTEXT ], all lower case, NUMBER, EXT and a
 *	    global-number CONTEXT without visual separators (RFC 3966 §4),
 *	    ISUB escapes as for USER; other tel parameters are dropped.
 *
 * URIs equal under §19.1.4 (RFC 3966 §4 for tel:) give the same string;
 * URIs whose user or host differ give different ones. Any other scheme
 * names no AOR: -EINVAL. */
int sip_uri_print_aor(struct buf *out, const struct sip_uri *u)
{
	if (!out || !u)
		return -EINVAL;
	switch (u->scheme) {
	case SIP_URI_SIP:
	case SIP_URI_SIPS:
	case SIP_URI_SIPSEC:
		if (!u->host.len)
			return -EINVAL;
		(void)buf_append_cstr(out, scheme_names[u->scheme]);
		(void)buf_append_byte(out, ':');
		if (u->user.p) {
			(void)append_canon(out, u->user, user_unreserved,
					   false);
			(void)buf_append_byte(out, '@');
		}
		return append_host(out, u);
	case SIP_URI_TEL:
		if (!tel_number(u->rest).len)
			return -EINVAL;
		return append_tel_aor(out, u);
	default:
		return -EINVAL;
	}
}

/* Re-emit u from its fields, the scheme of sip:, sips:, sipsec: and tel:
 * in lower case. For tel: and other schemes, rest holds everything after
 * the colon. */
int sip_uri_print(struct buf *out, const struct sip_uri *u)
{
	if (!out || !u)
		return -EINVAL;
	switch (u->scheme) {
	case SIP_URI_SIP:
	case SIP_URI_SIPS:
	case SIP_URI_SIPSEC:
		if (!u->host.len || (u->user.p && !u->user.len) ||
		    (u->password.p && !u->user.p))
			return -EINVAL;
		(void)buf_append_cstr(out, scheme_names[u->scheme]);
		(void)buf_append_byte(out, ':');
		if (u->user.p) {
			(void)buf_append_slice(out, u->user);
			if (u->password.p) {
				(void)buf_append_byte(out, ':');
				(void)buf_append_slice(out, u->password);
			}
			(void)buf_append_byte(out, '@');
		}
		(void)buf_append_slice(out, u->host);
		if (u->has_port)
			(void)buf_printf(out, ":%u", (unsigned)u->port);
		if (u->params.len) {
			(void)buf_append_byte(out, ';');
			(void)buf_append_slice(out, u->params);
		}
		if (u->headers.len) {
			(void)buf_append_byte(out, '?');
			(void)buf_append_slice(out, u->headers);
		}
		return out->err;
	case SIP_URI_TEL:
		if (!u->rest.len)
			return -EINVAL;
		(void)buf_append_cstr(out, "tel:");
		return buf_append_slice(out, u->rest);
	case SIP_URI_OTHER:
		if (!u->scheme_name.len || !u->rest.len)
			return -EINVAL;
		(void)buf_append_slice(out, u->scheme_name);
		(void)buf_append_byte(out, ':');
		return buf_append_slice(out, u->rest);
	default:
		return -EINVAL;
	}
}
