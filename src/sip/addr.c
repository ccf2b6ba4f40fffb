/* SPDX-License-Identifier: BSD-3-Clause */
/* Addresses: ( name-addr / addr-spec ) *( SEMI params ) for From, To
 * (RFC 3261 §20.20, §20.39), Contact (§20.10) and Route/Record-Route. */
#include "sip.h"

#include <string.h>

/* display-name = *(token LWS) / quoted-string. Leaves s after the display
 * name and before "<", or fails without consuming when there is none. */
static int scan_display(struct scan *s, struct slice *display, bool *quoted)
{
	struct scan t = *s;
	struct slice inner;

	if (scan_peek(&t) == '"') {
		if (scan_quoted(&t, &inner))
			return -EBADMSG;
		*display = inner;
		*quoted = true;
		*s = t;
		return 0;
	}
	{
		const char *start = t.p, *last_end = t.p;
		struct slice tok;

		while (!scan_token(&t, &tok)) {
			last_end = t.p;
			if (scan_lws(&t))
				break;
		}
		*display = slice_of(start, (size_t)(last_end - start));
		*quoted = false;
		s->p = display->len ? t.p : s->p;
	}
	return 0;
}

static int parse_uri_in_angles(struct scan *s, struct sip_addr *a)
{
	const char *start;

	/* LAQUOT = SWS "<"; RAQUOT = ">" SWS; nothing else inside */
	scan_sws(s);
	if (scan_char(s, '<'))
		return -EBADMSG;
	start = s->p;
	s->p = memchr(start, '>', (size_t)(s->end - start));
	if (!s->p)
		s->p = s->end;
	a->uri_s = slice_of(start, (size_t)(s->p - start));
	if (scan_char(s, '>'))
		return -EBADMSG;
	return sip_uri_parse(a->uri_s, &a->uri);
}

static int addr_parse(struct slice v, struct sip_addr *out, bool allow_star)
{
	struct scan s = scan_of(v);
	struct sip_addr a = {0};
	struct slice name, value;
	const char *params_start;
	int err;

	if (allow_star) {
		struct scan t = s;

		/* RFC 3261 §20.10: Contact: * */
		if (!scan_char(&t, '*') && !scan_end(&t)) {
			a.is_star = true;
			*out = a;
			return 0;
		}
	}
	if (scan_display(&s, &a.display, &a.display_quoted))
		return -EBADMSG;
	scan_sws(&s);
	if (scan_peek(&s) == '<') {
		if (parse_uri_in_angles(&s, &a))
			return -EBADMSG;
	} else if (a.display_quoted) {
		return -EBADMSG; /* a quoted display name needs <URI> */
	} else {
		const char *start;

		/* what looked like display tokens was the URI's scheme */
		s = scan_of(v);
		start = s.p;

		/* RFC 3261 §20.10: without angle brackets, everything after
		 * the first ';' is a header parameter, and a URI with '?' or
		 * ',' needs the brackets (RFC 4475 §3.1.2.13). */
		a.display = SLICE_NULL;
		while (!scan_done(&s) && scan_peek(&s) != ';' &&
		       !char_is_ws(scan_peek(&s)) && scan_peek(&s) != '\r' &&
		       scan_peek(&s) != '\n')
			s.p++;
		a.uri_s = slice_of(start, (size_t)(s.p - start));
		for (size_t i = 0; i < a.uri_s.len; i++)
			if (a.uri_s.p[i] == '?' || a.uri_s.p[i] == ',')
				return -EBADMSG;
		if (sip_uri_parse(a.uri_s, &a.uri))
			return -EBADMSG;
	}
	scan_sws(&s);
	params_start = s.p;
	while ((err = sip_param_next(&s, &name, &value)) == 0) {
		if (slice_caseeq_cstr(name, "tag")) {
			/* tag-param = "tag" EQUAL token */
			struct scan t = scan_of(value);

			if (a.tag.p || scan_token(&t, NULL) || !scan_done(&t))
				return -EBADMSG;
			a.tag = value;
		} else if (allow_star && slice_caseeq_cstr(name, "expires")) {
			uint32_t d;

			if (sip_delta_parse(value, &d))
				return -EBADMSG;
		} else if (allow_star && slice_caseeq_cstr(name, "q")) {
			/* qvalue = ( "0" [ "." 0*3DIGIT ] )
			 *        / ( "1" [ "." 0*3("0") ] ) */
			struct scan q = scan_of(value);
			struct slice frac = SLICE_NULL;
			int lead = scan_peek(&q);

			if (lead != '0' && lead != '1')
				return -EBADMSG;
			q.p++;
			if (!scan_char(&q, '.'))
				(void)scan_span(&q, char_is_digit, &frac);
			if (!scan_done(&q) || frac.len > 3)
				return -EBADMSG;
			for (size_t i = 0; lead == '1' && i < frac.len; i++)
				if (frac.p[i] != '0')
					return -EBADMSG;
		}
	}
	if (err != -ENOENT || scan_end(&s))
		return -EBADMSG;
	a.params = slice_trim(
		slice_of(params_start, (size_t)(s.p - params_start)));
	*out = a;
	return 0;
}

int sip_addr_parse(struct slice v, struct sip_addr *out)
{
	return addr_parse(v, out, false);
}

int sip_contact_parse(struct slice v, struct sip_addr *out)
{
	return addr_parse(v, out, true);
}
