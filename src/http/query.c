/* SPDX-License-Identifier: BSD-3-Clause */
/* Query strings as application/x-www-form-urlencoded pairs (RFC 3986
 * §3.4 and §2.1 percent-encoding, '+' for a space as HTML forms send it),
 * parsed strictly: evhttp's decoder passes bad escapes through silently. */
#include "query.h"

int http_query_next(struct scan *s, struct slice *name, struct slice *value)
{
	const char *p = s->p, *eq, *amp;

	/* empty pairs ("a=1&&b=2", a trailing '&') carry nothing */
	while (p < s->end && *p == '&')
		p++;
	if (p >= s->end) {
		s->p = p;
		return -ENOENT;
	}
	amp = memchr(p, '&', (size_t)(s->end - p));
	if (!amp)
		amp = s->end;
	eq = memchr(p, '=', (size_t)(amp - p));
	if (eq) {
		*name = slice_of(p, (size_t)(eq - p));
		*value = slice_of(eq + 1, (size_t)(amp - eq - 1));
	} else {
		*name = slice_of(p, (size_t)(amp - p));
		*value = slice_of(amp, 0);
	}
	s->p = amp;
	return 0;
}

/* The octet of the escape at p[0] == '%', or -1 when it is not two hex
 * digits or encodes NUL: a value with a NUL could not be handed out as a
 * C string, and a truncated name would match another. */
static int escape_val(const char *p, const char *end)
{
	int hi, lo;

	if (end - p < 3)
		return -1;
	hi = hex_val((unsigned char)p[1]);
	lo = hex_val((unsigned char)p[2]);
	if (hi < 0 || lo < 0 || (hi | lo) == 0)
		return -1;
	return hi << 4 | lo;
}

static bool is_ctl(int c)
{
	return c < 0x20 || c == 0x7f;
}

static int component_check(struct slice raw)
{
	const char *p = raw.p, *end = raw.len ? raw.p + raw.len : raw.p;

	while (p < end) {
		int c = (unsigned char)*p;

		if (c == '%') {
			if (escape_val(p, end) < 0)
				return -EBADMSG;
			p += 3;
			continue;
		}
		/* RFC 3986 §2: control octets never appear raw in a URI */
		if (is_ctl(c))
			return -EBADMSG;
		p++;
	}
	return 0;
}

int http_query_decode(struct buf *out, struct slice raw)
{
	const char *p = raw.p, *end;
	size_t old_len = out->len;
	int err;

	if (!raw.len)
		return 0; /* also {NULL, 0}, an empty buf's slice */
	end = raw.p + raw.len;
	err = component_check(raw);
	if (err)
		return err;
	while (p < end && !err) {
		const char *run = p;

		/* copy runs of literal octets in one append */
		while (p < end && *p != '%' && *p != '+')
			p++;
		if (p > run)
			err = buf_append(out, run, (size_t)(p - run));
		if (err || p >= end)
			break;
		if (*p == '+') {
			err = buf_append_byte(out, ' ');
			p++;
		} else {
			err = buf_append_byte(out, (char)escape_val(p, end));
			p += 3;
		}
	}
	if (err)
		out->len = old_len;
	return err;
}

int http_query_check(struct slice query)
{
	struct scan s;
	struct slice name, value;

	if (!query.len)
		return 0;
	s = scan_of(query);
	while (!http_query_next(&s, &name, &value))
		if (component_check(name) || component_check(value))
			return -EBADMSG;
	return 0;
}

/* Whether the checked raw name decodes to name, without a copy. */
static bool name_is(struct slice raw, const char *name)
{
	const char *p = raw.p, *end = raw.len ? raw.p + raw.len : raw.p;
	size_t k = 0;

	while (p < end) {
		int c = (unsigned char)*p;

		if (c == '+') {
			c = ' ';
			p++;
		} else if (c == '%') {
			c = escape_val(p, end);
			p += 3;
		} else {
			p++;
		}
		if (name[k] == '\0' || (unsigned char)name[k] != c)
			return false;
		k++;
	}
	return name[k] == '\0';
}

int http_query_find(struct slice query, const char *name, struct buf *out)
{
	struct scan s;
	struct slice n, v;
	const char *unused;
	size_t old_len;
	int err;

	if (!name || !*name || !out)
		return -EINVAL;
	/* the whole query first: a malformed pair anywhere could be the
	 * one a lenient reader would have taken */
	err = http_query_check(query);
	if (err)
		return err;
	if (!query.len)
		return -ENOENT;
	s = scan_of(query);
	while (!http_query_next(&s, &n, &v)) {
		if (!name_is(n, name))
			continue;
		old_len = out->len;
		err = http_query_decode(out, v);
		if (!err)
			err = buf_cstr(out, &unused);
		if (err)
			out->len = old_len;
		return err;
	}
	return -ENOENT;
}
