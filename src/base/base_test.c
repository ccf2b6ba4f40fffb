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
