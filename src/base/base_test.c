/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the base toolkit. */
#include "test.h"

TEST(base_scan_lws_folds)
{
	struct scan s = scan_of(SLICE_LIT(" \t\r\n  x"));
	struct scan none = scan_of(SLICE_LIT("x"));

	TEST_EQ_INT(scan_lws(&s), 0);
	TEST_EQ_INT(scan_peek(&s), 'x');
	TEST_EQ_INT(scan_lws(&none), -EBADMSG);
	TEST_EQ_INT(scan_peek(&none), 'x'); /* unchanged on failure */
	return 0;
}

TEST(base_scan_lws_crlf_without_ws_is_not_lws)
{
	struct scan s = scan_of(SLICE_LIT(" \r\nx"));

	TEST_EQ_INT(scan_lws(&s), 0);
	TEST_EQ_INT(scan_peek(&s), '\r');
	return 0;
}

TEST(base_scan_u32_limits)
{
	struct scan s = scan_of(SLICE_LIT("4294967295"));
	struct scan big = scan_of(SLICE_LIT("4294967296"));
	struct scan lead = scan_of(SLICE_LIT("0009x"));
	uint32_t v = 0;

	TEST_EQ_INT(scan_u32(&s, UINT32_MAX, &v), 0);
	TEST_EQ_INT(v, 4294967295u);
	TEST_EQ_INT(scan_u32(&big, UINT32_MAX, &v), -EBADMSG);
	TEST_EQ_INT(scan_u32(&lead, 255, &v), 0);
	TEST_EQ_INT(v, 9);
	TEST_EQ_INT(scan_peek(&lead), 'x');
	return 0;
}

TEST(base_scan_quoted_escapes_and_folds)
{
	struct scan s = scan_of(SLICE_LIT("\"a\\\"b\r\n c\" rest"));
	struct scan open = scan_of(SLICE_LIT("\"abc"));
	struct slice q;

	TEST_EQ_INT(scan_quoted(&s, &q), 0);
	TEST_EQ_SLICE(q, "a\\\"b\r\n c");
	TEST_EQ_INT(scan_quoted(&open, &q), -EBADMSG);
	return 0;
}

TEST(base_buf_cap_is_enforced_and_sticky)
{
	struct buf b;

	buf_init(&b, 8);
	TEST_EQ_INT(buf_append_cstr(&b, "12345678"), 0);
	TEST_EQ_INT(buf_append_byte(&b, '9'), -EMSGSIZE);
	TEST_EQ_INT(buf_printf(&b, "%d", 1), -EMSGSIZE);
	TEST_EQ_INT(b.len, 8);
	buf_fini(&b);
	return 0;
}

TEST(base_buf_printf_and_steal)
{
	struct buf b;
	char *s;
	size_t n;

	buf_init(&b, 1024);
	b.is_secret = true;
	TEST_EQ_INT(buf_printf(&b, "%s=%u", "x", 42u), 0);
	s = buf_steal(&b, &n);
	TEST_ASSERT(s);
	TEST_EQ_STR(s, "x=42");
	TEST_EQ_INT(n, 4);
	mem_free(s);
	buf_fini(&b);
	return 0;
}

TEST(base_arena_alignment_and_big_blocks)
{
	struct arena a;
	char *small, *big, *again;

	arena_init(&a, 64);
	small = arena_alloc(&a, 3);
	big = arena_alloc(&a, 1000);
	again = arena_alloc(&a, 5);
	TEST_ASSERT(small && big && again);
	TEST_EQ_INT((uintptr_t)small % 16, 0);
	TEST_EQ_INT((uintptr_t)again % 16, 0);
	/* a big block must not waste the current chunk */
	TEST_EQ_INT(again - small, 16);
	arena_fini(&a);
	return 0;
}

TEST(base_slice_helpers)
{
	char text[] = "abc";
	struct slice in = slice_of(text + 1, 2);

	TEST_ASSERT(slice_caseeq_cstr(SLICE_LIT("Call-ID"), "call-id"));
	TEST_ASSERT(!slice_caseeq_cstr(SLICE_LIT("Call-ID"), "call-i"));
	TEST_EQ_SLICE(slice_trim(SLICE_LIT(" \tx y\r\n")), "x y");
	TEST_ASSERT(slice_within(in, text, 3));
	TEST_ASSERT(!slice_within(slice_of(text + 2, 2), text, 3));
	return 0;
}

TEST(base_log_levels)
{
	enum log_level l = LOG_LEVEL_ERR;

	TEST_EQ_INT(log_level_parse("debug", &l), 0);
	TEST_EQ_INT(l, LOG_LEVEL_DEBUG);
	TEST_EQ_INT(log_level_parse("loud", &l), -EINVAL);
	TEST_EQ_INT(l, LOG_LEVEL_DEBUG); /* unchanged on failure */
	log_setup(LOG_LEVEL_WARNING, false, "sipcert-test");
	TEST_ASSERT(log_enabled(LOG_LEVEL_ERR));
	TEST_ASSERT(!log_enabled(LOG_LEVEL_INFO));
	log_setup(LOG_LEVEL_INFO, false, "sipcert-test");
	return 0;
}

/* ---- the character tables against the RFC 3261 §25.1 definitions ------- */

static bool def_in(const char *set, int c)
{
	return c > 0 && strchr(set, c) != NULL;
}

TEST(base_char_classes_every_octet)
{
	for (int c = -1; c < 256; c++) {
		bool digit = c >= '0' && c <= '9';
		bool lower = c >= 'a' && c <= 'z';
		bool alpha = lower || (c >= 'A' && c <= 'Z');
		bool hex = digit || (c >= 'a' && c <= 'f') ||
			   (c >= 'A' && c <= 'F');
		bool token = alpha || digit || def_in("-.!%*_+`'~", c);
		bool unres = alpha || digit || def_in("-_.!~*'()", c);
		bool ws = c == ' ' || c == '\t';
		bool space = ws || c == '\r' || c == '\n';

		TEST_EQ_INT(char_is_digit(c), digit);
		TEST_EQ_INT(char_is_alpha(c), alpha);
		TEST_EQ_INT(char_is_hex(c), hex);
		TEST_EQ_INT(char_is_token(c), token);
		TEST_EQ_INT(char_is_unreserved(c), unres);
		TEST_EQ_INT(char_is_ws(c), ws);
		TEST_EQ_INT(char_in(c, CHAR_SPACE), space);
		TEST_EQ_INT(char_in(c, CHAR_LOWER), lower);
		TEST_EQ_INT(hex_val(c) >= 0, hex);
		if (c >= 0) {
			TEST_EQ_INT(char_lower_map[c],
				    c >= 'A' && c <= 'Z' ? c + 32 : c);
			TEST_EQ_INT(char_lower(c), char_lower_map[c]);
		}
	}
	return 0;
}

TEST(base_mem_caseeq_every_pair)
{
	/* each octet against each: equal exactly when they are the same
	 * octet or the two cases of one ASCII letter */
	for (int a = 0; a < 256; a++)
		for (int b = 0; b < 256; b++) {
			char x = (char)a, y = (char)b;
			bool want =
				a == b || (char_is_alpha(a) && (a ^ 0x20) == b);

			if (mem_caseeq(&x, &y, 1) != want) {
				TEST_FAIL_AT("mem_caseeq %02x %02x", a, b);
				return -1;
			}
		}
	TEST_ASSERT(mem_caseeq("", "x", 0));
	TEST_ASSERT(
		slice_caseeq_cstr(SLICE_LIT("CONTENT-type"), "Content-Type"));
	TEST_ASSERT(
		!slice_caseeq_cstr(SLICE_LIT("Content_Type"), "Content-Type"));
	TEST_ASSERT(!slice_caseeq_cstr(SLICE_LIT("x"), NULL));
	TEST_ASSERT(slice_caseeq_cstr(SLICE_NULL, NULL));
	TEST_ASSERT(slice_eq_cstr(SLICE_NULL, ""));
	TEST_ASSERT(!slice_eq_cstr(SLICE_LIT("a"), "A"));
	return 0;
}

/* The word-at-a-time tests give the first matching octet of the eight,
 * whatever comes after it. */
static int swar_check(const char w[8], unsigned char c)
{
	uint64_t x = load8(w), m = swar_has(x, c);
	size_t eq = 8, below = 8;

	for (size_t k = 8; k-- > 0;) {
		if ((unsigned char)w[k] == c)
			eq = k;
		if ((unsigned char)w[k] < c)
			below = k;
	}
	TEST_EQ_INT(m ? swar_first(m) : 8, eq);
	if (c && c <= 128) {
		m = swar_below(x, c);
		TEST_EQ_INT(m ? swar_first(m) : 8, below);
	}
	return 0;
}

TEST(base_swar_first_match)
{
	static const unsigned char probes[] = {0x00, 0x01, 0x1f, 0x20, '"', ',',
					       '<',  '\\', 0x7f, 0x80, 0xff};
	char w[8];

	/* the probe at each position, after octets of one value and before
	 * octets that alternate between 0x00 and the probe */
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++)
		for (size_t pos = 0; pos <= 8; pos++)
			for (int fill = 0; fill < 256; fill += 17) {
				for (size_t k = 0; k < 8; k++) {
					if (k < pos)
						w[k] = (char)fill;
					else if (k == pos || k % 2 == 0)
						w[k] = (char)probes[i];
					else
						w[k] = 0;
				}
				if (swar_check(w, probes[i]))
					return -1;
			}
	/* and every octet value at every position in a word of 'a' */
	for (int c = 0; c < 256; c++)
		for (size_t pos = 0; pos < 8; pos++) {
			memset(w, 'a', sizeof(w));
			w[pos] = (char)c;
			for (size_t i = 0; i < ARRAY_SIZE(probes); i++)
				if (swar_check(w, probes[i]))
					return -1;
		}
	return 0;
}

TEST(base_scan_quoted_every_length_and_position)
{
	char text[48];

	/* "aaa...a" of each length, with a tab, a backslash, UTF-8, a
	 * control or DEL at each position: the eight-octet steps must give
	 * what one octet at a time gives */
	for (size_t n = 0; n < 40; n++)
		for (size_t at = 0; at <= n; at++)
			for (int kind = 0; kind < 5; kind++) {
				size_t len = 0;
				const char *q;
				bool valid = true;

				text[len++] = '"';
				for (size_t k = 0; k < n; k++)
					text[len++] = 'a';
				if (at < n) {
					switch (kind) {
					case 0:
						text[1 + at] = '\t';
						break;
					case 1:
						text[1 + at] = '\\';
						valid = at + 1 < n;
						break;
					case 2:
						text[1 + at] = (char)0xc3;
						break;
					case 3:
						text[1 + at] = 0x01;
						valid = false;
						break;
					default:
						text[1 + at] = 0x7f;
						valid = false;
						break;
					}
				}
				text[len++] = '"';
				/* a backslash just before the closing quote
				 * escapes it, so the string never ends */
				q = scan_quoted_end(text, text + len);
				TEST_ASSERT(valid ? q == text + len : !q);
				/* without the closing quote: never found */
				TEST_ASSERT(
					!scan_quoted_end(text, text + len - 1));
			}
	text[0] = 'x';
	TEST_ASSERT(!scan_quoted_end(text, text + 1));
	TEST_ASSERT(!scan_quoted_end(text, text));
	return 0;
}

TEST(base_scan_sws_and_lws_end)
{
	static const struct {
		const char *in;
		size_t end;
	} v[] = {
		{"x", 0},      {" x", 1},
		{"\t \tx", 3}, {"\r\n x", 3},
		{"\r\nx", 0},  {" \r\nx", 1},
		{"\n\tx", 2},  {" \r\n \r\n\tx", 7},
		{"", 0},       {"\r", 0},
		{" \r\n", 1},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		const char *p = v[i].in, *end = p + strlen(p);
		struct scan s = {p, end};

		TEST_EQ_INT(scan_skip_sws(p, end) - p, v[i].end);
		TEST_EQ_INT(scan_lws(&s), v[i].end ? 0 : -EBADMSG);
		TEST_EQ_INT(s.p - p, v[i].end);
	}
	return 0;
}

TEST(base_scan_u32_u64_bounds)
{
	static const struct {
		const char *in;
		uint32_t max;
		int rc;
		uint32_t v;
	} v[] = {
		{"0", 0, 0, 0},
		{"1", 0, -EBADMSG, 0},
		{"7", 5, -EBADMSG, 0},
		{"5", 5, 0, 5},
		{"255", 255, 0, 255},
		{"256", 255, -EBADMSG, 0},
		{"65535", 65535, 0, 65535},
		{"00065536", 65535, -EBADMSG, 0},
		{"99999999999", UINT32_MAX, -EBADMSG, 0},
		{"", 10, -EBADMSG, 0},
		{"x1", 10, -EBADMSG, 0},
	};
	struct scan s;
	uint64_t w = 0;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		uint32_t got = 12345;

		s = scan_of(slice_cstr(v[i].in));
		TEST_EQ_INT(scan_u32(&s, v[i].max, &got), v[i].rc);
		TEST_EQ_INT(got, v[i].rc ? 12345 : v[i].v);
		TEST_ASSERT(v[i].rc ? s.p == v[i].in : scan_done(&s));
	}
	s = scan_of(SLICE_LIT("18446744073709551615"));
	TEST_EQ_INT(scan_u64(&s, UINT64_MAX, &w), 0);
	TEST_ASSERT(w == UINT64_MAX);
	s = scan_of(SLICE_LIT("18446744073709551616"));
	TEST_EQ_INT(scan_u64(&s, UINT64_MAX, &w), -EBADMSG);
	s = scan_of(SLICE_LIT("1001"));
	TEST_EQ_INT(scan_u64(&s, 1000, &w), -EBADMSG);
	s = scan_of(SLICE_LIT("7"));
	TEST_EQ_INT(scan_u64(&s, 5, &w), -EBADMSG);
	return 0;
}

TEST(base_arena_uninit_and_memdup)
{
	static const char text[] = "0123456789abcdef0123456789abcdef"
				   "0123456789abcdef0123456789abcdef";
	struct arena a;
	char *p, *q, *big;
	bool ok;

	/* checked after arena_fini(), so a failed allocation (--oom) leaks
	 * nothing */
	arena_init(&a, 64);
	p = arena_alloc_uninit(&a, 5);
	q = arena_memdup(&a, "hello", 5);
	big = arena_memdup(&a, text, 64);
	ok = p && q && big && (uintptr_t)p % 16 == 0 &&
	     (uintptr_t)q % 16 == 0 && !strcmp(q, "hello") &&
	     !memcmp(big, text, 64) && big[64] == '\0' &&
	     !arena_memdup(&a, "x", SIZE_MAX);
	arena_fini(&a);
	TEST_ASSERT(ok);
	return 0;
}
