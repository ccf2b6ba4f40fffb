/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for multipart bodies (RFC 2046 §5.1, RFC 5621): splitting,
 * binary parts, limits, truncation, the RFC 4475 mpart01 body, building. */
#include "test.h"

#include "sip/sip.h"

/* multipart.c's test hook for the random source (not in sip.h). */
typedef int multipart_rand_cb(unsigned char *buf, int n);
void sip_multipart_rand_hook(multipart_rand_cb *cb);

#define BOUNDARY_LEN 40 /* "sipcert-" and 32 hex digits */

static int parse(struct slice body, const char *boundary,
		 struct sip_part *parts, size_t max, size_t *n)
{
	return sip_multipart_parse(body, slice_cstr(boundary), parts, max, n);
}

/* A heap copy of exactly len bytes: a read past the end is an ASan error. */
static char *dup_exact(const char *p, size_t len)
{
	char *d = mem_alloc(len ? len : 1);

	if (d && len)
		memcpy(d, p, len);
	return d;
}

static const char simple_body[] =
	"This is the preamble.\r\n"
	"--simple boundary\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"first\r\n"
	"--simple boundary \t\r\n" /* transport padding */
	"content-type: application/pkix-cert\r\n"
	"CONTENT-ID: <cert@example.com>\r\n"
	"Content-Disposition: attachment;\r\n handling=optional\r\n"
	"X-Other: ignored\r\n"
	"\r\n"
	"second\r\n"
	"\r\n"
	"--simple boundary--\r\n"
	"This is the epilogue.\r\n";

TEST(sip_multipart_parse_preamble_padding_epilogue)
{
	struct sip_part p[4];
	size_t n = 0;

	TEST_EQ_INT(parse(SLICE_LIT(simple_body), "simple boundary", p, 4, &n),
		    0);
	TEST_EQ_INT(n, 2);
	TEST_EQ_SLICE(p[0].headers, "Content-Type: text/plain");
	TEST_EQ_SLICE(p[0].ctype, "text/plain");
	TEST_ASSERT(!p[0].content_id.p && !p[0].disposition.p);
	TEST_EQ_SLICE(p[0].body, "first");
	TEST_EQ_SLICE(p[1].ctype, "application/pkix-cert");
	TEST_EQ_SLICE(p[1].content_id, "<cert@example.com>");
	TEST_EQ_SLICE(p[1].disposition, "attachment;\r\n handling=optional");
	/* the CRLF before the delimiter belongs to it, not to the body */
	TEST_EQ_SLICE(p[1].body, "second\r\n");
	TEST_ASSERT(p[1].headers.len > 0);
	TEST_EQ_INT(p[1].headers.p[p[1].headers.len - 1], 'd');
	return 0;
}

TEST(sip_multipart_parse_no_headers_and_empty_parts)
{
	static const char body[] = "--b\r\n"
				   "\r\n"
				   "no headers\r\n"
				   "--b\r\n"
				   "\r\n"
				   "--b\r\n"
				   "Content-Type: a/b\r\n"
				   "--b--";
	struct sip_part p[4];
	size_t n = 0;

	TEST_EQ_INT(parse(SLICE_LIT(body), "b", p, 4, &n), 0);
	TEST_EQ_INT(n, 3);
	/* a part with no headers starts with the empty line */
	TEST_EQ_INT(p[0].headers.len, 0);
	TEST_ASSERT(!p[0].ctype.p);
	TEST_EQ_SLICE(p[0].body, "no headers");
	/* an empty body-part: no headers, no body */
	TEST_EQ_INT(p[1].headers.len, 0);
	TEST_EQ_INT(p[1].body.len, 0);
	/* headers only: the close-delimiter ends the body-part at once */
	TEST_EQ_SLICE(p[2].ctype, "a/b");
	TEST_EQ_INT(p[2].body.len, 0);
	/* whatever follows the close-delimiter is epilogue */
	TEST_EQ_INT(parse(SLICE_LIT("--b\r\n\r\nx\r\n--b--x\r\n--b\r\n"), "b",
			  p, 4, &n),
		    0);
	TEST_EQ_INT(n, 1);
	TEST_EQ_SLICE(p[0].body, "x");
	return 0;
}

TEST(sip_multipart_parse_binary_bodies)
{
	/* NUL, 0xff, bare LF, and lines that only look like delimiters */
	static const char body[] =
		"--xy\r\n"
		"Content-Type: application/octet-stream\r\n"
		"\r\n"
		"\x30\x82\x00\xff\n--xy\r\n" /* bare LF before it */
		"\r\n--xyz\r\n"		     /* longer boundary */
		"\r\n--xy-\r\n"		     /* not a close */
		" --xy\r\n"		     /* not at line start */
		"\r\n\r\n"
		"\r\n--xy\r\n"
		"\r\n"
		"\0\r\n--"
		"\r\n--xy--\t \r\n";
	static const char first[] = "\x30\x82\x00\xff\n--xy\r\n"
				    "\r\n--xyz\r\n"
				    "\r\n--xy-\r\n"
				    " --xy\r\n"
				    "\r\n\r\n";
	struct sip_part p[2];
	size_t n = 0;

	TEST_EQ_INT(parse(SLICE_LIT(body), "xy", p, 2, &n), 0);
	TEST_EQ_INT(n, 2);
	TEST_EQ_INT(p[0].body.len, sizeof(first) - 1);
	TEST_ASSERT(!memcmp(p[0].body.p, first, sizeof(first) - 1));
	TEST_EQ_INT(p[1].body.len, 5);
	TEST_ASSERT(!memcmp(p[1].body.p, "\0\r\n--", 5));
	return 0;
}

TEST(sip_multipart_parse_malformed)
{
	static const struct {
		const char *body;
		const char *boundary;
	} v[] = {
		{"", "b"},
		{"no delimiter at all\r\n", "b"},
		{"--b\r\nContent-Type: a/b\r\n\r\nx", "b"}, /* no close */
		{"--b\r\n\r\nx\r\n--b\r\n\r\ny\r\n", "b"},  /* no close */
		{"--b--\r\n", "b"},			    /* no part */
		{"--b", "b"},
		{"--b\r\nnot a header\r\n\r\nx\r\n--b--", "b"},
		{"--b\r\n: no name\r\n\r\nx\r\n--b--", "b"},
		{"--b\r\nContent-Type: a/b\nX: y\r\n\r\nx\r\n--b--", "b"},
		{"--b\r\nContent-Type: a/b\rX: y\r\n\r\nx\r\n--b--", "b"},
		{"--b\r\n folded: x\r\n\r\nx\r\n--b--", "b"},
		{"--b\r\nContent-Type: a/b\r\ncontent-type: c/d\r\n\r\nx\r\n"
		 "--b--",
		 "b"},
		{"--b\r\nContent-ID: <1>\r\nContent-ID: <2>\r\n\r\nx\r\n--b--",
		 "b"},
		/* RFC 2046 §5.1.1 boundaries: 1-70 bchars, no final space */
		{"--\r\n\r\nx\r\n----", ""},
		{"--b \r\n\r\nx\r\n--b --", "b "},
		{"--b\"\r\n\r\nx\r\n--b\"--", "b\""},
		{"--0123456789012345678901234567890123456789012345678901234567"
		 "8901234567890\r\n\r\nx\r\n--012345678901234567890123456789012"
		 "34567890123456789012345678901234567890--",
		 "012345678901234567890123456789012345678901234567890123456789"
		 "01234567890"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct sip_part p[4];
		size_t n = 99;
		int rc = parse(slice_cstr(v[i].body), v[i].boundary, p, 4, &n);

		if (rc != -EBADMSG)
			TEST_FAIL_AT("case %zu", i);
		TEST_EQ_INT(rc, -EBADMSG);
		TEST_EQ_INT(n, 99);
	}
	/* a 70-character boundary is the longest allowed */
	TEST_EQ_INT(
		parse(SLICE_LIT("--0123456789012345678901234567890123456789"
				"012345678901234567890123456789\r\n\r\nx\r\n"
				"--0123456789012345678901234567890123456789"
				"012345678901234567890123456789--"),
		      "0123456789012345678901234567890123456789"
		      "012345678901234567890123456789",
		      NULL, 0, &(size_t){0}),
		-EMSGSIZE);
	return 0;
}

TEST(sip_multipart_parse_api_misuse)
{
	struct sip_part p[1];
	size_t n;

	TEST_EQ_INT(parse(SLICE_LIT("--b\r\n\r\nx\r\n--b--"), "b", p, 1, NULL),
		    -EINVAL);
	TEST_EQ_INT(parse(SLICE_LIT("--b\r\n\r\nx\r\n--b--"), "b", NULL, 1, &n),
		    -EINVAL);
	TEST_EQ_INT(parse(slice_of(NULL, 3), "b", p, 1, &n), -EINVAL);
	TEST_EQ_INT(parse(SLICE_NULL, "b", p, 1, &n), -EBADMSG);
	return 0;
}

TEST(sip_multipart_parse_part_limit)
{
	static const char body[] = "--b\r\n\r\n1\r\n"
				   "--b\r\n\r\n2\r\n"
				   "--b\r\n\r\n3\r\n"
				   "--b--\r\n";
	struct sip_part p[3];
	size_t n = 42;

	memset(p, 0, sizeof(p));
	TEST_EQ_INT(parse(SLICE_LIT(body), "b", p, 2, &n), -EMSGSIZE);
	/* out-parameters are untouched on failure */
	TEST_EQ_INT(n, 42);
	TEST_ASSERT(!p[0].body.p && !p[1].body.p);
	TEST_EQ_INT(parse(SLICE_LIT(body), "b", p, 3, &n), 0);
	TEST_EQ_INT(n, 3);
	TEST_EQ_SLICE(p[2].body, "3");
	return 0;
}

static int check_prefixes(const char *body, size_t len, const char *boundary,
			  size_t complete_at)
{
	for (size_t i = 0; i < len; i++) {
		char *d = dup_exact(body, i);
		struct sip_part p[4];
		size_t n = 0;
		int rc;

		if (!d)
			return -1;
		rc = parse(slice_of(d, i), boundary, p, 4, &n);
		for (size_t k = 0; rc == 0 && k < n; k++)
			if (!slice_within(p[k].headers, d, i) ||
			    !slice_within(p[k].body, d, i) ||
			    !slice_within(p[k].ctype, d, i))
				rc = -1;
		mem_free(d);
		if (rc != (i >= complete_at ? 0 : -EBADMSG)) {
			TEST_FAIL_AT("prefix of %zu bytes: %d", i, rc);
			return -1;
		}
	}
	return 0;
}

TEST(sip_multipart_parse_every_prefix)
{
	const char *close = strstr(simple_body, "--simple boundary--");
	size_t complete_at;

	TEST_ASSERT(close);
	/* a body ending right after the close-delimiter is complete */
	complete_at = (size_t)(close - simple_body) + 19;
	return check_prefixes(simple_body, sizeof(simple_body) - 1,
			      "simple boundary", complete_at);
}

/* RFC 4475 §3.1.1.11: a MESSAGE whose multipart body has a binary second
 * part (a DER signature with NUL octets and bare LFs). */
static int check_mpart01(const char *msg, size_t len)
{
	const char *hdr_end = memmem(msg, len, "\r\n\r\n", 4);
	struct slice body;
	struct sip_part p[4];
	size_t n = 0;

	TEST_ASSERT(hdr_end);
	body = slice_of(hdr_end + 4, len - (size_t)(hdr_end + 4 - msg));
	TEST_EQ_INT(body.len, 553); /* its Content-Length */
	/* the boundary of its Content-Type header */
	TEST_ASSERT(memmem(msg, len, "boundary=7a9cbec02ceef655\r\n", 27));
	TEST_EQ_INT(parse(body, "7a9cbec02ceef655", p, 4, &n), 0);
	TEST_EQ_INT(n, 2);
	TEST_EQ_SLICE(p[0].ctype, "text/plain");
	TEST_EQ_SLICE(p[0].body, "Hello");
	TEST_EQ_SLICE(p[1].ctype, "application/octet-stream");
	TEST_EQ_INT(p[1].body.len, 342);
	/* DER: a SEQUENCE with a two-byte length, ending in 0x05 */
	TEST_ASSERT(!memcmp(p[1].body.p, "\x30\x82\x01\x52", 4));
	TEST_EQ_INT((unsigned char)p[1].body.p[341], 0x05);
	TEST_ASSERT(memchr(p[1].body.p, '\0', p[1].body.len));
	return check_prefixes(body.p, body.len, "7a9cbec02ceef655",
			      body.len - 2);
}

TEST(sip_multipart_parse_torture_mpart01)
{
	char *msg = NULL;
	size_t len = 0;
	int rc;

	TEST_EQ_INT(test_read_file("sip/torture/mpart01.dat", &msg, &len), 0);
	rc = check_mpart01(msg, len);
	mem_free(msg);
	return rc;
}

/* DER-like bodies: NUL, 0xff, CRLF and dashes inside. */
static const char der1[] = "\x30\x82\x01\x0a\x02\x82\x01\x01\x00\xff\r\n"
			   "--\r\n--sipcert-\x00\x00\xff";
static const char der2[] = "\r\n\r\n\x00--\xff\xfe\r\n";

static int check_build_round_trip(struct buf *b)
{
	const struct sip_part_out out[] = {
		{.ctype = "application/pkix-cert",
		 .content_id = "<cert@example.com>",
		 .body = slice_of(der1, sizeof(der1) - 1)},
		{.ctype = "application/pkcs8",
		 .disposition = "by-reference;handling=optional",
		 .body = slice_of(der2, sizeof(der2) - 1)},
		{.ctype = "text/plain", .body = SLICE_NULL},
	};
	char boundary[72];
	struct sip_part p[3];
	struct buf want;
	size_t n = 0;
	int rc = -1;

	TEST_EQ_INT(sip_multipart_build(b, out, 3, boundary), 0);
	TEST_EQ_INT(strlen(boundary), BOUNDARY_LEN);
	TEST_ASSERT(!strncmp(boundary, "sipcert-", 8));
	for (size_t i = 8; i < BOUNDARY_LEN; i++)
		TEST_ASSERT(char_is_hex((unsigned char)boundary[i]));

	buf_init(&want, 4096);
	(void)buf_printf(&want,
			 "--%s\r\nContent-Type: application/pkix-cert\r\n"
			 "Content-ID: <cert@example.com>\r\n\r\n",
			 boundary);
	(void)buf_append(&want, der1, sizeof(der1) - 1);
	(void)buf_printf(&want,
			 "\r\n--%s\r\nContent-Type: application/pkcs8\r\n"
			 "Content-Disposition: by-reference;handling=optional"
			 "\r\n\r\n",
			 boundary);
	(void)buf_append(&want, der2, sizeof(der2) - 1);
	(void)buf_printf(&want,
			 "\r\n--%s\r\nContent-Type: text/plain\r\n\r\n"
			 "\r\n--%s--\r\n",
			 boundary, boundary);
	if (want.err || !slice_eq(buf_slice(&want), buf_slice(b))) {
		TEST_FAIL_AT("built body differs from the expected one");
		goto out;
	}
	if (parse(buf_slice(b), boundary, p, 3, &n) || n != 3 ||
	    !slice_eq(p[0].body, out[0].body) ||
	    !slice_eq(p[1].body, out[1].body) || p[2].body.len != 0 ||
	    !slice_eq_cstr(p[0].ctype, "application/pkix-cert") ||
	    !slice_eq_cstr(p[0].content_id, "<cert@example.com>") ||
	    !slice_eq_cstr(p[1].disposition,
			   "by-reference;handling=optional") ||
	    p[1].content_id.p || !slice_eq_cstr(p[2].ctype, "text/plain")) {
		TEST_FAIL_AT("parse of the built body differs");
		goto out;
	}
	rc = 0;
out:
	buf_fini(&want);
	return rc;
}

TEST(sip_multipart_build_round_trip_binary)
{
	struct buf b;
	int rc;

	buf_init(&b, 4096);
	rc = check_build_round_trip(&b);
	buf_fini(&b);
	return rc;
}

static int rand_calls;

/* Call k fills with the byte 0x11 * k: boundaries sipcert-000..., -111... */
static int rand_steps(unsigned char *buf, int n)
{
	memset(buf, 0x11 * rand_calls, (size_t)n);
	rand_calls++;
	return 1;
}

static int rand_fails(unsigned char *buf, int n)
{
	(void)buf;
	(void)n;
	return 0;
}

static int check_collision(struct buf *b)
{
	/* the part holds the first boundary the builder will draw */
	static const char body[] =
		"x\r\n--sipcert-00000000000000000000000000000000\r\ny";
	const struct sip_part_out out[] = {
		{.ctype = "text/plain", .body = SLICE_LIT(body)},
	};
	char boundary[72] = "untouched";
	struct sip_part p[2];
	size_t n = 0;

	rand_calls = 0;
	sip_multipart_rand_hook(rand_steps);
	TEST_EQ_INT(sip_multipart_build(b, out, 1, boundary), 0);
	TEST_EQ_INT(rand_calls, 2);
	TEST_EQ_STR(boundary, "sipcert-11111111111111111111111111111111");
	TEST_EQ_INT(parse(buf_slice(b), boundary, p, 2, &n), 0);
	TEST_EQ_INT(n, 1);
	TEST_EQ_SLICE(p[0].body, body);

	/* a source that always collides gives up instead of looping */
	buf_reset(b);
	rand_calls = 0;
	{
		static const char all[] =
			"sipcert-00000000000000000000000000000000 "
			"sipcert-11111111111111111111111111111111 "
			"sipcert-22222222222222222222222222222222 "
			"sipcert-33333333333333333333333333333333 "
			"sipcert-44444444444444444444444444444444 "
			"sipcert-55555555555555555555555555555555 "
			"sipcert-66666666666666666666666666666666 "
			"sipcert-77777777777777777777777777777777 "
			"sipcert-88888888888888888888888888888888";
		const struct sip_part_out o2[] = {
			{.ctype = "text/plain", .body = SLICE_LIT(all)},
		};

		TEST_EQ_INT(sip_multipart_build(b, o2, 1, boundary), -EPROTO);
		TEST_EQ_INT(b->len, 0);
		TEST_EQ_STR(boundary,
			    "sipcert-11111111111111111111111111111111");
	}
	sip_multipart_rand_hook(rand_fails);
	TEST_EQ_INT(sip_multipart_build(b, out, 1, boundary), -EPROTO);
	TEST_EQ_INT(b->len, 0);
	return 0;
}

TEST(sip_multipart_build_redraws_a_colliding_boundary)
{
	struct buf b;
	int rc;

	buf_init(&b, 4096);
	rc = check_collision(&b);
	sip_multipart_rand_hook(NULL);
	buf_fini(&b);
	return rc;
}

static int check_build_errors(struct buf *b)
{
	const struct sip_part_out ok[] = {
		{.ctype = "text/plain", .body = SLICE_LIT("hello")},
	};
	const struct sip_part_out bad[][1] = {
		{{.ctype = NULL, .body = SLICE_LIT("x")}},
		{{.ctype = "text/plain\r\nX: injected",
		  .body = SLICE_LIT("x")}},
		{{.ctype = "a/b",
		  .content_id = "<a>\n",
		  .body = SLICE_LIT("")}},
		{{.ctype = "a/b", .disposition = "x\r", .body = SLICE_LIT("")}},
		{{.ctype = "a/b", .body = slice_of(NULL, 2)}},
	};
	char boundary[72] = "untouched";
	char first[72];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		TEST_EQ_INT(sip_multipart_build(b, bad[i], 1, boundary),
			    -EINVAL);
	TEST_EQ_INT(sip_multipart_build(b, ok, 0, boundary), -EINVAL);
	TEST_EQ_INT(sip_multipart_build(b, NULL, 1, boundary), -EINVAL);
	TEST_EQ_INT(sip_multipart_build(NULL, ok, 1, boundary), -EINVAL);
	TEST_EQ_INT(sip_multipart_build(b, ok, 1, NULL), -EINVAL);
	TEST_EQ_STR(boundary, "untouched");
	TEST_EQ_INT(b->len, 0);

	/* a fresh boundary each time */
	TEST_EQ_INT(sip_multipart_build(b, ok, 1, first), 0);
	buf_reset(b);
	TEST_EQ_INT(sip_multipart_build(b, ok, 1, boundary), 0);
	TEST_ASSERT(strcmp(first, boundary));
	return 0;
}

TEST(sip_multipart_build_rejects_bad_parts)
{
	struct buf b;
	int rc;

	buf_init(&b, 4096);
	rc = check_build_errors(&b);
	buf_fini(&b);
	return rc;
}

static int check_build_cap(struct buf *b)
{
	const struct sip_part_out ok[] = {
		{.ctype = "text/plain", .body = SLICE_LIT("hello")},
	};
	char boundary[72] = "untouched";

	TEST_EQ_INT(buf_append_cstr(b, "kept"), 0);
	TEST_EQ_INT(sip_multipart_build(b, ok, 1, boundary), -EMSGSIZE);
	/* nothing half-written, and the boundary is not reported */
	TEST_EQ_SLICE(buf_slice(b), "kept");
	TEST_EQ_STR(boundary, "untouched");
	return 0;
}

TEST(sip_multipart_build_respects_the_buffer_cap)
{
	struct buf b;
	int rc;

	buf_init(&b, 64);
	rc = check_build_cap(&b);
	buf_fini(&b);
	return rc;
}
