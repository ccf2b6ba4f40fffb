/* SPDX-License-Identifier: BSD-3-Clause */
/* Bounded scanning cursor and the RFC 3261 §25.1 character classes. */
#include "base.h"

#include <string.h>

/* RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*"
 *                          / "_" / "+" / "`" / "'" / "~") */
static const unsigned char token_map[256] = {
	['!'] = 1, ['%'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1,
	['.'] = 1, ['_'] = 1, ['`'] = 1, ['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

bool char_is_token(int c)
{
	return c >= 0 && c < 256 && token_map[c];
}

bool char_is_ws(int c)
{
	return c == ' ' || c == '\t';
}

bool char_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

bool char_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool char_is_hex(int c)
{
	return hex_val(c) >= 0;
}

/* RFC 3261 §25.1: unreserved = alphanum / mark */
bool char_is_unreserved(int c)
{
	return char_is_alpha(c) || char_is_digit(c) ||
	       (c > 0 && strchr("-_.!~*'()", c) != NULL);
}

int hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Length of a line fold (CRLF or LF, then at least one WSP) at p, or 0. */
static size_t fold_len(const char *p, const char *end)
{
	const char *q = p;

	if (q < end && *q == '\r')
		q++;
	if (q >= end || *q != '\n')
		return 0;
	q++;
	if (q >= end || !char_is_ws((unsigned char)*q))
		return 0;
	return (size_t)(q - p);
}

int scan_lws(struct scan *s)
{
	const char *p = s->p;
	bool any = false;

	for (;;) {
		size_t f;

		while (p < s->end && char_is_ws((unsigned char)*p)) {
			p++;
			any = true;
		}
		f = fold_len(p, s->end);
		if (!f)
			break;
		p += f;
	}
	if (!any)
		return -EBADMSG;
	s->p = p;
	return 0;
}

void scan_sws(struct scan *s)
{
	(void)scan_lws(s);
}

int scan_char(struct scan *s, char c)
{
	if (s->p >= s->end || *s->p != c)
		return -EBADMSG;
	s->p++;
	return 0;
}

int scan_sep(struct scan *s, char c)
{
	struct scan t = *s;

	scan_sws(&t);
	if (scan_char(&t, c))
		return -EBADMSG;
	scan_sws(&t);
	*s = t;
	return 0;
}

int scan_token(struct scan *s, struct slice *out)
{
	return scan_span(s, char_is_token, out);
}

int scan_quoted(struct scan *s, struct slice *out)
{
	const char *p = s->p;
	const char *start;

	if (p >= s->end || *p != '"')
		return -EBADMSG;
	start = ++p;
	while (p < s->end) {
		unsigned char c = (unsigned char)*p;
		size_t f;

		if (c == '"') {
			*out = slice_of(start, (size_t)(p - start));
			s->p = p + 1;
			return 0;
		}
		if (c == '\\') {
			/* RFC 3261 §25.1: quoted-pair = "\" (%x00-09 / %x0B-0C
			 * / %x0E-7F) */
			if (p + 1 >= s->end || (unsigned char)p[1] > 0x7f ||
			    p[1] == '\r' || p[1] == '\n')
				return -EBADMSG;
			p += 2;
			continue;
		}
		f = fold_len(p, s->end);
		if (f) {
			p += f;
			continue;
		}
		/* qdtext excludes CR, LF and other controls but WSP; UTF-8
		 * octets are allowed. */
		if (c < 0x20 && c != '\t')
			return -EBADMSG;
		if (c == 0x7f)
			return -EBADMSG;
		p++;
	}
	return -EBADMSG;
}

int scan_u64(struct scan *s, uint64_t max, uint64_t *out)
{
	const char *p = s->p;
	uint64_t v = 0;

	if (p >= s->end || !char_is_digit((unsigned char)*p))
		return -EBADMSG;
	while (p < s->end && char_is_digit((unsigned char)*p)) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (max - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
		p++;
	}
	*out = v;
	s->p = p;
	return 0;
}

int scan_u32(struct scan *s, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (scan_u64(s, max, &v))
		return -EBADMSG;
	*out = (uint32_t)v;
	return 0;
}

int scan_span(struct scan *s, bool (*pred)(int c), struct slice *out)
{
	const char *p = s->p;

	while (p < s->end && pred((unsigned char)*p))
		p++;
	if (p == s->p)
		return -EBADMSG;
	if (out)
		*out = slice_of(s->p, (size_t)(p - s->p));
	s->p = p;
	return 0;
}

int scan_end(struct scan *s)
{
	struct scan t = *s;

	scan_sws(&t);
	if (t.p != t.end)
		return -EBADMSG;
	*s = t;
	return 0;
}

int scan_lit(struct scan *s, const char *lit)
{
	size_t n = strlen(lit);
	struct slice here;

	if ((size_t)(s->end - s->p) < n)
		return -EBADMSG;
	here = slice_of(s->p, n);
	if (!slice_caseeq(here, slice_of(lit, n)))
		return -EBADMSG;
	s->p += n;
	return 0;
}
