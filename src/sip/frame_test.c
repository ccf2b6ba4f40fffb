/* SPDX-License-Identifier: BSD-3-Clause */
/* Stream framing: Content-Length rules of RFC 3261 §18.3, keep-alives of
 * RFC 5626 §3.5.1, resumption over a growing buffer, size limits. */
#include "test.h"

#include "sip/sip.h"

#define REGISTER_HEAD                                                          \
	"REGISTER sip:example.test SIP/2.0\r\n"                                \
	"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKframe1\r\n"             \
	"Max-Forwards: 70\r\n"                                                 \
	"From: <sip:alice@example.test>;tag=8a7d\r\n"                          \
	"To: <sip:alice@example.test>\r\n"                                     \
	"Call-ID: f81d4fae@192.0.2.1\r\n"                                      \
	"CSeq: 1 REGISTER\r\n"

/* a body that holds an empty line must not end the message early */
static const char msg_body[] = REGISTER_HEAD "Content-Type: text/plain\r\n"
					     "Content-Length: 12\r\n"
					     "\r\n"
					     "ab\r\n\r\ncdefgh";

static const char msg_empty[] = REGISTER_HEAD "l: 0\r\n"
					      "\r\n";

/* Frame a heap copy of exactly len bytes, so ASan sees any read past the
 * end (the guard-page idea of STYLE.md B8). */
static ssize_t frame_copy(struct sip_framer *f, const char *data, size_t len,
			  size_t *ka)
{
	char *p = mem_alloc(len ? len : 1);
	ssize_t r;

	if (!p)
		return -ENOMEM;
	memcpy(p, data, len);
	r = sip_frame(f, p, len, ka);
	mem_free(p);
	return r;
}

static ssize_t frame_str(size_t max, const char *s, size_t *ka)
{
	struct sip_framer f;

	sip_framer_init(&f, max);
	return frame_copy(&f, s, strlen(s), ka);
}

TEST(sip_frame_single_message)
{
	size_t ka = 99;

	TEST_EQ_INT(frame_str(0, msg_body, &ka), sizeof(msg_body) - 1);
	TEST_EQ_INT(ka, 0);
	TEST_EQ_INT(frame_str(0, msg_empty, &ka), sizeof(msg_empty) - 1);
	TEST_EQ_INT(ka, 0);
	return 0;
}

TEST(sip_frame_back_to_back_messages)
{
	struct sip_framer f;
	struct buf b;
	size_t ka = 0;
	ssize_t r1, r2, r3;

	buf_init(&b, 4096);
	buf_append_cstr(&b, msg_body);
	buf_append_cstr(&b, msg_empty);
	buf_append_cstr(&b, "OPTIONS sip:x"); /* the start of a third */
	TEST_EQ_INT(b.err, 0);
	sip_framer_init(&f, 0);
	r1 = sip_frame(&f, b.p, b.len, &ka);
	r2 = r1 > 0 ? sip_frame(&f, b.p + r1, b.len - (size_t)r1, &ka) : -1;
	r3 = r2 > 0 ? sip_frame(&f, b.p + r1 + r2, b.len - (size_t)(r1 + r2),
				&ka)
		    : -1;
	buf_fini(&b);
	TEST_EQ_INT(r1, sizeof(msg_body) - 1);
	TEST_EQ_INT(r2, sizeof(msg_empty) - 1);
	TEST_EQ_INT(r3, -EAGAIN);
	return 0;
}

/* Feed msg one byte more each call to one framer, then check every strict
 * prefix against a fresh framer too. */
static int every_split(const char *msg, size_t len)
{
	struct sip_framer f, fresh;
	size_t ka;
	ssize_t r;

	sip_framer_init(&f, 0);
	for (size_t k = 1; k < len; k++) {
		r = frame_copy(&f, msg, k, &ka);
		if (r != -EAGAIN || ka) {
			TEST_FAIL_AT("growing prefix %zu gave %zd", k, r);
			return -1;
		}
		sip_framer_init(&fresh, 0);
		r = frame_copy(&fresh, msg, k, &ka);
		if (r != -EAGAIN) {
			TEST_FAIL_AT("fresh prefix %zu gave %zd", k, r);
			return -1;
		}
	}
	r = frame_copy(&f, msg, len, &ka);
	TEST_EQ_INT(r, len);
	/* a returned message leaves the framer ready for the next one */
	TEST_EQ_INT(f.scanned, 0);
	TEST_EQ_INT(f.msg_len, 0);
	return 0;
}

TEST(sip_frame_every_split_point)
{
	static const char lflf[] = "MESSAGE sip:bob@example.test SIP/2.0\n"
				   "Via: SIP/2.0/TCP h;branch=z9hG4bKlf\n"
				   "Content-Length: 3\n"
				   "\n"
				   "\n\nx";

	TEST_EQ_INT(every_split(msg_body, sizeof(msg_body) - 1), 0);
	TEST_EQ_INT(every_split(msg_empty, sizeof(msg_empty) - 1), 0);
	TEST_EQ_INT(every_split(lflf, sizeof(lflf) - 1), 0);
	return 0;
}

TEST(sip_frame_resumes_where_it_stopped)
{
	struct sip_framer f;
	size_t ka, head = sizeof(msg_body) - 1 - 12;

	sip_framer_init(&f, 0);
	TEST_EQ_INT(sip_frame(&f, msg_body, 40, &ka), -EAGAIN);
	TEST_EQ_INT(f.scanned, 40);
	TEST_EQ_INT(f.msg_len, 0);
	/* the header block complete, the body not yet: both are known */
	TEST_EQ_INT(sip_frame(&f, msg_body, head + 3, &ka), -EAGAIN);
	TEST_EQ_INT(f.scanned, head);
	TEST_EQ_INT(f.msg_len, sizeof(msg_body) - 1);
	TEST_EQ_INT(sip_frame(&f, msg_body, sizeof(msg_body) - 1, &ka),
		    sizeof(msg_body) - 1);
	/* a caller that hands a shorter buffer than before starts over */
	TEST_EQ_INT(sip_frame(&f, msg_body, 60, &ka), -EAGAIN);
	TEST_EQ_INT(sip_frame(&f, msg_body, 10, &ka), -EAGAIN);
	TEST_EQ_INT(f.scanned, 10);
	return 0;
}

TEST(sip_frame_keepalives)
{
	struct sip_framer f;
	static const char ping_then_msg[] =
		"\r\n\r\n" REGISTER_HEAD "l: 0\r\n\r\n";
	size_t ka = 99;

	/* RFC 5626 §3.5.1: CRLF CRLF ping, CRLF pong */
	TEST_EQ_INT(frame_str(0, "\r\n\r\n", &ka), 0);
	TEST_EQ_INT(ka, 4);
	TEST_EQ_INT(frame_str(0, "\r\n", &ka), 0);
	TEST_EQ_INT(ka, 2);
	TEST_EQ_INT(frame_str(0, "\n", &ka), 0);
	TEST_EQ_INT(ka, 1);
	ka = 99;
	TEST_EQ_INT(frame_str(0, "", &ka), -EAGAIN);
	TEST_EQ_INT(ka, 0);

	sip_framer_init(&f, 0);
	TEST_EQ_INT(
		sip_frame(&f, ping_then_msg, sizeof(ping_then_msg) - 1, &ka),
		0);
	TEST_EQ_INT(ka, 4);
	TEST_EQ_INT(sip_frame(&f, ping_then_msg + 4, sizeof(ping_then_msg) - 5,
			      &ka),
		    sizeof(ping_then_msg) - 5);
	TEST_EQ_INT(ka, 0);
	return 0;
}

TEST(sip_frame_content_length_forms)
{
	static const struct {
		const char *hdrs; /* between REGISTER_HEAD and the blank line */
		ssize_t body;	  /* expected Content-Length, or error */
	} v[] = {
		{"Content-Length: 3\r\n", 3},
		{"l: 3\r\n", 3},		      /* compact form */
		{"L:3\r\n", 3},			      /* case, no space */
		{"content-LENGTH \t:  3 \t\r\n", 3},  /* WSP around */
		{"Content-Length: 003\r\n", 3},	      /* leading zeros */
		{"Content-Length:\r\n 3\r\n", 3},     /* folded value */
		{"Content-Length: 3\r\nl: 3\r\n", 3}, /* same value twice */
		/* folded header before it; its continuation is no header */
		{"Subject: a\r\n l: 9\r\n\tb\r\nContent-Length: 3\r\n", 3},
		{"Content-Length: 0\r\n", 0},
		{"Content-Length: 4294967295\r\n", -EMSGSIZE},
		{"", -EBADMSG},			       /* missing */
		{"Content-Length-X: 3\r\n", -EBADMSG}, /* another header */
		{"X-l: 3\r\n", -EBADMSG},
		{"Content-Length: -1\r\n", -EBADMSG},
		{"Content-Length:\r\n", -EBADMSG}, /* empty */
		{"Content-Length: 3a\r\n", -EBADMSG},
		{"Content-Length: a\r\n", -EBADMSG},
		{"Content-Length: 3 4\r\n", -EBADMSG},
		{"Content-Length: +3\r\n", -EBADMSG},
		{"Content-Length: 4294967296\r\n", -EBADMSG}, /* overflow */
		{"Content-Length: 99999999999999999999999\r\n", -EBADMSG},
		{"Content-Length: 3\r\nl: 4\r\n", -EBADMSG}, /* conflict */
		{"l: 3\r\nContent-Length: 3\r\nl: 0\r\n", -EBADMSG},
	};
	struct buf b;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		size_t ka, head;
		ssize_t r;

		buf_init(&b, 4096);
		buf_append_cstr(&b, REGISTER_HEAD);
		buf_append_cstr(&b, v[i].hdrs);
		buf_append_cstr(&b, "\r\n");
		head = b.len;
		buf_append_cstr(&b, "xyz"); /* three body bytes */
		if (b.err) {
			buf_fini(&b);
			return -1;
		}
		{
			struct sip_framer f;

			sip_framer_init(&f, 0);
			r = frame_copy(&f, b.p, b.len, &ka);
		}
		buf_fini(&b);
		if (r !=
		    (v[i].body >= 0 ? (ssize_t)head + v[i].body : v[i].body)) {
			TEST_FAIL_AT("case %zu (%s): %zd", i, v[i].hdrs, r);
			return -1;
		}
	}
	return 0;
}

TEST(sip_frame_size_limits)
{
	struct sip_framer f;
	size_t ka, len = sizeof(msg_body) - 1;
	size_t head = len - 12;

	/* exactly at the limit is fine */
	TEST_EQ_INT(frame_str(len, msg_body, &ka), len);
	/* the body would cross it: refused once the header block is in,
	 * before any body byte arrives */
	sip_framer_init(&f, len - 1);
	TEST_EQ_INT(sip_frame(&f, msg_body, head, &ka), -EMSGSIZE);
	TEST_EQ_INT(f.msg_len, 0);
	/* the header block itself is longer than the limit */
	sip_framer_init(&f, head - 1);
	TEST_EQ_INT(sip_frame(&f, msg_body, head - 2, &ka), -EAGAIN);
	TEST_EQ_INT(sip_frame(&f, msg_body, head - 1, &ka), -EMSGSIZE);
	sip_framer_init(&f, head - 1);
	TEST_EQ_INT(sip_frame(&f, msg_body, len, &ka), -EMSGSIZE);
	/* no end in sight and the buffer already holds the limit */
	sip_framer_init(&f, 16);
	TEST_EQ_INT(sip_frame(&f, "REGISTER sip:x SIP/2.0\r\nVia:", 28, &ka),
		    -EMSGSIZE);
	/* 0 asks for the default */
	sip_framer_init(&f, 0);
	TEST_EQ_INT(f.max_msg_bytes, SIP_MAX_MSG_BYTES);
	return 0;
}

TEST(sip_frame_body_with_blank_lines_back_to_back)
{
	struct sip_framer f;
	struct buf b;
	size_t ka;
	ssize_t r1, r2;

	buf_init(&b, 4096);
	buf_append_cstr(&b, msg_body);
	buf_append_cstr(&b, msg_body);
	TEST_EQ_INT(b.err, 0);
	sip_framer_init(&f, 0);
	r1 = sip_frame(&f, b.p, b.len, &ka);
	r2 = r1 > 0 ? sip_frame(&f, b.p + r1, b.len - (size_t)r1, &ka) : -1;
	buf_fini(&b);
	TEST_EQ_INT(r1, sizeof(msg_body) - 1);
	TEST_EQ_INT(r2, sizeof(msg_body) - 1);
	return 0;
}

TEST(sip_frame_frames_what_the_decoder_accepts)
{
	struct sip_framer f;
	struct sip_msg *m = NULL;
	size_t ka;
	ssize_t r;
	int rc;

	sip_framer_init(&f, 0);
	r = sip_frame(&f, msg_body, sizeof(msg_body) - 1, &ka);
	TEST_EQ_INT(r, sizeof(msg_body) - 1);
	rc = sip_msg_decode(&m, msg_body, (size_t)r, 0, NULL);
	TEST_EQ_INT(rc, 0);
	TEST_EQ_INT(m->body.len, 12);
	TEST_EQ_INT(memcmp(m->body.p, "ab\r\n\r\ncdefgh", 12), 0);
	sip_msg_free(m);
	return 0;
}

TEST(sip_frame_refuses_misuse)
{
	struct sip_framer f;
	size_t ka;

	sip_framer_init(&f, 0);
	TEST_EQ_INT(sip_frame(NULL, "x", 1, &ka), -EINVAL);
	TEST_EQ_INT(sip_frame(&f, "x", 1, NULL), -EINVAL);
	TEST_EQ_INT(sip_frame(&f, NULL, 1, &ka), -EINVAL);
	TEST_EQ_INT(sip_frame(&f, NULL, 0, &ka), -EAGAIN);
	return 0;
}
