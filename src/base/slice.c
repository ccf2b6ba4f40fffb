/* SPDX-License-Identifier: BSD-3-Clause */
/* Slices: const views of bytes that are never NUL-terminated. */
#include "base.h"

#include <string.h>

struct slice slice_cstr(const char *s)
{
	return (struct slice){s, s ? strlen(s) : 0};
}

bool slice_eq(struct slice a, struct slice b)
{
	return a.len == b.len && (a.len == 0 || !memcmp(a.p, b.p, a.len));
}

bool slice_caseeq(struct slice a, struct slice b)
{
	return a.len == b.len && mem_caseeq(a.p, b.p, a.len);
}

struct slice slice_trim(struct slice s)
{
	while (s.len && char_in((unsigned char)s.p[0], CHAR_SPACE)) {
		s.p++;
		s.len--;
	}
	while (s.len && char_in((unsigned char)s.p[s.len - 1], CHAR_SPACE))
		s.len--;
	return s;
}

bool slice_within(struct slice s, const void *base, size_t len)
{
	const char *b = base;

	if (!s.p)
		return s.len == 0;
	return s.p >= b && s.len <= len && (size_t)(s.p - b) <= len - s.len;
}

char *slice_dup(struct slice s)
{
	return mem_strndup(s.p ? s.p : "", s.len);
}

int slice_u32(struct slice s, uint32_t max, uint32_t *out)
{
	struct scan sc = scan_of(s);

	if (scan_u32(&sc, max, out) || !scan_done(&sc))
		return -EBADMSG;
	return 0;
}
