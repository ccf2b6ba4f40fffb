/* SPDX-License-Identifier: BSD-3-Clause */
/* Generic header parameters: *( SEMI generic-param ), RFC 3261 §25.1:
 * generic-param = token [ EQUAL gen-value ]; gen-value = token / host /
 * quoted-string. */
#include "sip.h"

static bool is_host_char(int c)
{
	/* host = hostname / IPv4address / IPv6reference */
	return char_is_token(c) || c == '[' || c == ']' || c == ':';
}

int sip_param_next(struct scan *s, struct slice *name, struct slice *value)
{
	struct scan t = *s;
	struct slice n, v = SLICE_NULL;

	scan_sws(&t);
	if (scan_done(&t) || scan_peek(&t) == ',')
		return -ENOENT;
	if (scan_sep(&t, ';') || scan_token(&t, &n))
		return -EBADMSG;
	if (!scan_sep(&t, '=')) {
		if (scan_peek(&t) == '"') {
			const char *start = t.p;
			struct slice inner;

			if (scan_quoted(&t, &inner))
				return -EBADMSG;
			v = slice_of(start, (size_t)(t.p - start));
		} else if (scan_span(&t, is_host_char, &v)) {
			return -EBADMSG;
		}
	} else {
		v = slice_of(t.p, 0);
	}
	*name = n;
	*value = v;
	*s = t;
	return 0;
}

int sip_param_find(struct slice params, const char *name, struct slice *value)
{
	struct scan s = scan_of(params);
	struct slice n, v;

	/* a params slice starts at its first ';' or right after it */
	scan_sws(&s);
	if (scan_peek(&s) != ';' && !scan_done(&s)) {
		/* tolerate a slice that begins with the first name */
		struct scan t = s;

		if (scan_token(&t, &n))
			return -EBADMSG;
		v = slice_of(t.p, 0);
		if (!scan_sep(&t, '=')) {
			struct slice inner;
			const char *start = t.p;

			if (scan_peek(&t) == '"' ? scan_quoted(&t, &inner)
						 : scan_span(&t, is_host_char,
							     &inner))
				return -EBADMSG;
			v = slice_of(start, (size_t)(t.p - start));
		}
		if (slice_caseeq_cstr(n, name)) {
			*value = v;
			return 0;
		}
		s = t;
	}
	for (;;) {
		int err = sip_param_next(&s, &n, &v);

		if (err)
			return err == -ENOENT ? -ENOENT : err;
		if (slice_caseeq_cstr(n, name)) {
			*value = v;
			return 0;
		}
	}
}

struct slice sip_unquote(struct slice v)
{
	if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"')
		return slice_of(v.p + 1, v.len - 2);
	return v;
}
