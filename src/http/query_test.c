/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of the query-string parser (application/x-www-form-urlencoded,
 * RFC 3986 §2.1 escapes): values, strictness, limits, every prefix. */
#include "test.h"

#include "http/query.h"

TEST(http_query_find_values)
{
	static const struct {
		const char *query;
		const char *name;
		int rc;
		const char *value;
	} v[] = {
		{"aor=alice%40example.com&x=1", "aor", 0, "alice@example.com"},
		{"aor=alice%40example.com&x=1", "x", 0, "1"},
		{"a=1&b=two+words", "b", 0, "two words"},
		{"a=%2B%2b", "a", 0, "++"},
		{"a=%e2%82%AC", "a", 0, "\xe2\x82\xac"},
		{"a=%0A", "a", 0, "\n"}, /* only NUL is refused */
		{"a", "a", 0, ""},	 /* no '=': empty value */
		{"a=", "a", 0, ""},
		{"a=b=c", "a", 0, "b=c"},
		{"a=1&a=2", "a", 0, "1"}, /* the first one */
		{"&&a=1&", "a", 0, "1"},
		{"%61=1", "a", 0, "1"}, /* names are decoded too */
		{"na%6De=v", "name", 0, "v"},
		{"a+b=c", "a b", 0, "c"},
		{"a%3D=1", "a=", 0, "1"},
		{"a%3D=1", "a", -ENOENT, NULL},
		{"ab=1", "a", -ENOENT, NULL},
		{"a=1", "ab", -ENOENT, NULL},
		{"b=1", "a", -ENOENT, NULL},
		{"", "a", -ENOENT, NULL},
		{"&&&", "a", -ENOENT, NULL},
		{"a=%00", "a", -EBADMSG, NULL},
		{"a=x%00y", "a", -EBADMSG, NULL},
		{"a=%4", "a", -EBADMSG, NULL},
		{"a=%", "a", -EBADMSG, NULL},
		{"a=%G1", "a", -EBADMSG, NULL},
		{"a=%1G", "a", -EBADMSG, NULL},
		{"%zz=1", "a", -EBADMSG, NULL},
		/* malformed anywhere is malformed: no lenient reading */
		{"b=%zz&a=1", "a", -EBADMSG, NULL},
		{"a=1&b=%", "a", -EBADMSG, NULL},
		{"a=1&b=\x01", "a", -EBADMSG, NULL},
		{"a=\x7f", "a", -EBADMSG, NULL},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct buf out;
		int rc;

		buf_init(&out, 256);
		rc = http_query_find(slice_cstr(v[i].query), v[i].name, &out);
		if (rc != v[i].rc) {
			TEST_FAIL_AT("\"%s\" [%s]: %d, expected %d", v[i].query,
				     v[i].name, rc, v[i].rc);
			buf_fini(&out);
			return -1;
		}
		if (!rc) {
			bool ok = out.len == strlen(v[i].value) &&
				  !memcmp(out.p, v[i].value, out.len) &&
				  out.p[out.len] == '\0';

			buf_fini(&out);
			if (!ok) {
				TEST_FAIL_AT("\"%s\" [%s]: wrong value",
					     v[i].query, v[i].name);
				return -1;
			}
		} else {
			buf_fini(&out);
		}
	}
	return 0;
}

TEST(http_query_find_appends_and_limits)
{
	struct buf out;
	int rc;

	/* appended after what out holds, the NUL not counted */
	buf_init(&out, 64);
	TEST_ASSERT(!buf_append_cstr(&out, "x:"));
	rc = http_query_find(SLICE_LIT("k=v+w"), "k", &out);
	TEST_EQ_INT(rc, 0);
	TEST_EQ_INT(out.len, 5);
	TEST_EQ_STR(out.p, "x:v w");
	/* refused escapes leave out as it was */
	rc = http_query_find(SLICE_LIT("k=%0"), "k", &out);
	TEST_EQ_INT(rc, -EBADMSG);
	TEST_EQ_INT(out.len, 5);
	buf_fini(&out);

	/* the buffer's cap holds: nothing half-appended */
	buf_init(&out, 4);
	rc = http_query_find(SLICE_LIT("k=abcdef"), "k", &out);
	TEST_EQ_INT(rc, -EMSGSIZE);
	TEST_EQ_INT(out.len, 0);
	buf_fini(&out);

	/* a value of exactly the cap fits (the NUL is beyond it) */
	buf_init(&out, 3);
	rc = http_query_find(SLICE_LIT("k=a%62c"), "k", &out);
	TEST_EQ_INT(rc, 0);
	TEST_EQ_STR(out.p, "abc");
	buf_fini(&out);

	buf_init(&out, 16);
	TEST_EQ_INT(http_query_find(SLICE_LIT("k=1"), "", &out), -EINVAL);
	TEST_EQ_INT(http_query_find(SLICE_LIT("k=1"), NULL, &out), -EINVAL);
	TEST_EQ_INT(http_query_find(SLICE_LIT("k=1"), "k", NULL), -EINVAL);
	TEST_EQ_INT(out.len, 0);
	buf_fini(&out);
	return 0;
}

TEST(http_query_next_pairs)
{
	struct scan s = scan_of(SLICE_LIT("a=1&&b&c=&=d&"));
	struct slice n, v;

	TEST_EQ_INT(http_query_next(&s, &n, &v), 0);
	TEST_EQ_SLICE(n, "a");
	TEST_EQ_SLICE(v, "1");
	TEST_EQ_INT(http_query_next(&s, &n, &v), 0);
	TEST_EQ_SLICE(n, "b");
	TEST_EQ_SLICE(v, "");
	TEST_EQ_INT(http_query_next(&s, &n, &v), 0);
	TEST_EQ_SLICE(n, "c");
	TEST_EQ_SLICE(v, "");
	TEST_EQ_INT(http_query_next(&s, &n, &v), 0);
	TEST_EQ_SLICE(n, "");
	TEST_EQ_SLICE(v, "d");
	TEST_EQ_INT(http_query_next(&s, &n, &v), -ENOENT);
	TEST_EQ_INT(http_query_next(&s, &n, &v), -ENOENT);
	return 0;
}

TEST(http_query_decode_components)
{
	struct buf out;

	buf_init(&out, 64);
	TEST_EQ_INT(http_query_decode(&out, SLICE_LIT("+%41b%7e")), 0);
	TEST_EQ_SLICE(buf_slice(&out), " Ab~");
	TEST_EQ_INT(http_query_decode(&out, SLICE_LIT("ok%zz")), -EBADMSG);
	TEST_EQ_SLICE(buf_slice(&out), " Ab~");
	TEST_EQ_INT(http_query_decode(&out, SLICE_LIT("")), 0);
	TEST_EQ_INT(out.len, 4);
	buf_fini(&out);
	TEST_EQ_INT(http_query_check(SLICE_LIT("a=1&b=%20&c")), 0);
	TEST_EQ_INT(http_query_check(SLICE_LIT("a=1&b=%2")), -EBADMSG);
	TEST_EQ_INT(http_query_check(SLICE_LIT("")), 0);
	/* an empty buf's slice has no pointer at all */
	buf_init(&out, 8);
	TEST_EQ_INT(http_query_check(SLICE_NULL), 0);
	TEST_EQ_INT(http_query_decode(&out, SLICE_NULL), 0);
	TEST_EQ_INT(http_query_find(SLICE_NULL, "a", &out), -ENOENT);
	TEST_EQ_INT(out.len, 0);
	buf_fini(&out);
	return 0;
}

/* Every strict prefix, each in a heap block of its exact size, so that
 * a read past the end is caught by the sanitizers. */
TEST(http_query_every_prefix)
{
	static const char q[] =
		"aor=alice%40example.com&n=%C3%A9t%C3%A9+x&flag&z=%7E";

	for (size_t len = 0; len < sizeof(q) - 1; len++) {
		char *copy = mem_alloc(len ? len : 1);
		struct buf out;
		int rc[3];

		TEST_ASSERT(copy);
		memcpy(copy, q, len);
		buf_init(&out, 256);
		rc[0] = http_query_find(slice_of(copy, len), "aor", &out);
		rc[1] = http_query_find(slice_of(copy, len), "n", &out);
		rc[2] = http_query_find(slice_of(copy, len), "z", &out);
		buf_fini(&out);
		mem_free(copy);
		for (int i = 0; i < 3; i++)
			if (rc[i] && rc[i] != -ENOENT && rc[i] != -EBADMSG) {
				TEST_FAIL_AT("prefix %zu: %d", len, rc[i]);
				return -1;
			}
		/* a cut escape is malformed, whichever name is asked */
		if ((len >= 1 && q[len - 1] == '%') ||
		    (len >= 2 && q[len - 2] == '%'))
			TEST_EQ_INT(rc[0], -EBADMSG);
	}
	return 0;
}
