/* SPDX-License-Identifier: BSD-3-Clause */
/* Generic header parameters: *( SEMI generic-param ), RFC 3261 §25.1:
 * generic-param = token [ EQUAL gen-value ]; gen-value = token / host /
 * quoted-string. */
#include "sip.h"

/* gen-value octets outside quotes: token, and host = hostname /
 * IPv4address / IPv6reference adds "[", "]" and ":". */
static const unsigned char gen_value_map[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00-0f */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10-1f */
	0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, /* 20-/ */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, /* 0-? */
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* @-O */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, /* P-_ */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* `-o */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, /* p-7f */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 80-8f */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 90-9f */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* a0-af */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* b0-bf */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* c0-cf */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* d0-df */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* e0-ef */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* f0-ff */
};

static bool is_host_char(int c)
{
	return (unsigned)c < 256 && gen_value_map[c];
}

int sip_param_next(struct scan *s, struct slice *name, struct slice *value)
{
	const char *end = s->end;
	const char *p = scan_skip_sws(s->p, end);
	const char *n, *n_end, *q;

	if (p >= end || *p == ',')
		return -ENOENT;
	/* SEMI = SWS ";" SWS */
	if (*p != ';')
		return -EBADMSG;
	n = scan_skip_sws(p + 1, end);
	for (n_end = n; n_end < end && char_is_token((unsigned char)*n_end);
	     n_end++)
		;
	if (n_end == n)
		return -EBADMSG;
	/* EQUAL = SWS "=" SWS; without it the parameter is a flag */
	q = scan_skip_sws(n_end, end);
	if (q < end && *q == '=') {
		const char *v = scan_skip_sws(q + 1, end);

		if (v < end && *v == '"') {
			q = scan_quoted_end(v, end);
			if (!q)
				return -EBADMSG;
		} else {
			for (q = v; q < end && gen_value_map[(unsigned char)*q];
			     q++)
				;
			if (q == v)
				return -EBADMSG;
		}
		*value = slice_of(v, (size_t)(q - v));
		p = q;
	} else {
		*value = slice_of(n_end, 0);
		p = n_end;
	}
	*name = slice_of(n, (size_t)(n_end - n));
	s->p = p;
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

			if (scan_peek(&t) == '"'
				    ? scan_quoted(&t, &inner)
				    : scan_span(&t, is_host_char, &inner))
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
