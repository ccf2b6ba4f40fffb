/* SPDX-License-Identifier: BSD-3-Clause */
/* Message decoding: start lines, header indexing, folding, compact forms,
 * eager keys, body framing on datagrams and streams. */
#include "test.h"

#include "sip/sip.h"

#define SUBSCRIBE_CERT                                                         \
	"SUBSCRIBE sip:bob@example.test SIP/2.0\r\n"                           \
	"v: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK776asdhds;rport\r\n"      \
	"Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKx, "                \
	"SIP/2.0/TCP host.example.test\r\n"                                    \
	"Max-Forwards: 70\r\n"                                                 \
	"t: <sip:bob@example.test>\r\n"                                        \
	"f: \"Alice\" <sip:alice@example.test>;tag=1928301774\r\n"             \
	"i: a84b4c76e66710@pc33.example.test\r\n"                              \
	"CSeq: 314159 SUBSCRIBE\r\n"                                           \
	"o: certificate;id=7\r\n"                                              \
	"Expires:\r\n 3600\r\n"                                                \
	"Accept: application/pkix-cert\r\n"                                    \
	"X-Extension: ;;,,;;,;\r\n"                                            \
	"l: 0\r\n"                                                             \
	"\r\n"

static int decode(struct sip_msg **m, const char *text, unsigned flags)
{
	return sip_msg_decode(m, text, strlen(text), flags, NULL);
}

TEST(sip_msg_decode_request_eager_keys)
{
	struct sip_msg *m = NULL;

	TEST_EQ_INT(decode(&m, SUBSCRIBE_CERT, SIP_DECODE_STRICT), 0);
	TEST_ASSERT(m->is_request);
	TEST_EQ_INT(m->method_id, SIP_METHOD_SUBSCRIBE);
	TEST_EQ_SLICE(m->ruri.host, "example.test");
	TEST_EQ_INT(m->n_via, 3);
	TEST_EQ_SLICE(m->via.transport, "TLS");
	TEST_EQ_SLICE(m->via.branch, "z9hG4bK776asdhds");
	TEST_ASSERT(m->via.has_rport);
	TEST_EQ_INT(m->via.port, 5061);
	TEST_EQ_SLICE(m->from.display, "Alice");
	TEST_EQ_SLICE(m->from.tag, "1928301774");
	TEST_ASSERT(!m->to.tag.p);
	TEST_EQ_SLICE(m->to.uri.user, "bob");
	TEST_EQ_SLICE(m->call_id, "a84b4c76e66710@pc33.example.test");
	TEST_EQ_INT(m->cseq.num, 314159);
	TEST_EQ_INT(m->cseq.method_id, SIP_METHOD_SUBSCRIBE);
	TEST_ASSERT(m->has_max_forwards);
	TEST_EQ_INT(m->max_forwards, 70);
	TEST_ASSERT(m->has_event);
	TEST_EQ_SLICE(m->event.package, "certificate");
	TEST_EQ_SLICE(m->event.id, "7");
	TEST_ASSERT(m->has_expires);
	TEST_EQ_INT(m->expires, 3600); /* folded value */
	TEST_EQ_INT(m->body.len, 0);
	TEST_ASSERT(sip_msg_hdr(m, SIP_HDR_ACCEPT));
	TEST_EQ_SLICE(sip_msg_hdr_named(m, "x-extension")->value, ";;,,;;,;");
	sip_msg_free(m);
	return 0;
}

TEST(sip_msg_hdr_next_walks_repeated_fields)
{
	struct sip_msg *m = NULL;
	const struct sip_hdr *h;
	int n = 0;

	TEST_EQ_INT(decode(&m, SUBSCRIBE_CERT, 0), 0);
	for (h = sip_msg_hdr(m, SIP_HDR_VIA); h; h = sip_msg_hdr_next(m, h))
		n++;
	TEST_EQ_INT(n, 2); /* two Via fields, three values */
	sip_msg_free(m);
	return 0;
}

TEST(sip_msg_decode_response)
{
	static const char resp[] =
		"SIP/2.0 200 OK\r\n"
		"Via: SIP/2.0/UDP "
		"192.0.2.1;branch=z9hG4bKa;received=1.2.3.4\r\n"
		"To: <sip:bob@example.test>;tag=x\r\n"
		"From: <sip:alice@example.test>;tag=y\r\n"
		"Call-ID: c\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
	struct sip_msg *m = NULL;

	TEST_EQ_INT(decode(&m, resp, SIP_DECODE_STRICT), 0);
	TEST_ASSERT(!m->is_request);
	TEST_EQ_INT(m->status, 200);
	TEST_EQ_SLICE(m->reason, "OK");
	TEST_EQ_SLICE(m->via.received, "1.2.3.4");
	sip_msg_free(m);
	return 0;
}

TEST(sip_msg_binary_body_with_content_length)
{
	static const char head[] = "NOTIFY sip:a@b.test SIP/2.0\r\n"
				   "Via: SIP/2.0/TCP h.test;branch=z9hG4bK1\r\n"
				   "To: <sip:a@b.test>;tag=1\r\n"
				   "From: <sip:c@b.test>;tag=2\r\n"
				   "Call-ID: x\r\nCSeq: 2 NOTIFY\r\n"
				   "Content-Type: application/pkix-cert\r\n"
				   "Content-Length: 6\r\n\r\n";
	char wire[sizeof(head) + 6];
	struct sip_msg *m = NULL;

	memcpy(wire, head, sizeof(head) - 1);
	memcpy(wire + sizeof(head) - 1, "\x30\x00\r\n\xff\x01", 6);
	TEST_EQ_INT(sip_msg_decode(&m, wire, sizeof(wire) - 1, 0, NULL), 0);
	TEST_EQ_INT(m->body.len, 6);
	TEST_ASSERT(!memcmp(m->body.p, "\x30\x00\r\n\xff\x01", 6));
	TEST_EQ_SLICE(m->ctype.subtype, "pkix-cert");
	sip_msg_free(m);
	/* on a stream the body must be exactly Content-Length */
	TEST_EQ_INT(sip_msg_decode(&m, wire, sizeof(wire) - 2, 0, NULL),
		    -EBADMSG);
	/* in a datagram, octets past Content-Length are discarded */
	TEST_EQ_INT(sip_msg_decode(&m, wire, sizeof(wire), SIP_DECODE_DATAGRAM,
				   NULL),
		    0);
	TEST_EQ_INT(m->body.len, 6);
	sip_msg_free(m);
	return 0;
}

struct bad_case {
	const char *what;
	const char *text;
	unsigned status;
};

#define BASE_HDRS                                                              \
	"Via: SIP/2.0/UDP h.test;branch=z9hG4bK1\r\n"                          \
	"To: <sip:a@b.test>\r\nFrom: <sip:c@b.test>;tag=2\r\n"                 \
	"Call-ID: x\r\n"

TEST(sip_msg_refusals_carry_status_and_reason)
{
	static const struct bad_case cases[] = {
		{"version",
		 "OPTIONS sip:a@b.test SIP/3.0\r\n" BASE_HDRS
		 "CSeq: 1 OPTIONS\r\n\r\n",
		 505},
		{"no version",
		 "OPTIONS sip:a@b.test\r\n" BASE_HDRS "CSeq: 1 OPTIONS\r\n\r\n",
		 400},
		{"cseq method",
		 "OPTIONS sip:a@b.test SIP/2.0\r\n" BASE_HDRS
		 "CSeq: 1 INVITE\r\n\r\n",
		 400},
		{"cseq big",
		 "OPTIONS sip:a@b.test SIP/2.0\r\n" BASE_HDRS
		 "CSeq: 4294967296 OPTIONS\r\n\r\n",
		 400},
		{"no call-id",
		 "OPTIONS sip:a@b.test SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP h.test\r\n"
		 "To: <sip:a@b.test>\r\nFrom: <sip:c@b.test>\r\n"
		 "CSeq: 1 OPTIONS\r\n\r\n",
		 400},
		{"two to",
		 "OPTIONS sip:a@b.test SIP/2.0\r\n" BASE_HDRS
		 "To: <sip:z@b.test>\r\nCSeq: 1 OPTIONS\r\n\r\n",
		 400},
		{"max-forwards",
		 "OPTIONS sip:a@b.test SIP/2.0\r\n" BASE_HDRS
		 "CSeq: 1 OPTIONS\r\nMax-Forwards: 256\r\n\r\n",
		 400},
		{"cl too big",
		 "OPTIONS sip:a@b.test SIP/2.0\r\n" BASE_HDRS
		 "CSeq: 1 OPTIONS\r\nContent-Length: 9\r\n\r\nab",
		 400},
		{"no colon",
		 "OPTIONS sip:a@b.test SIP/2.0\r\n" BASE_HDRS
		 "CSeq: 1 OPTIONS\r\nBroken header\r\n\r\n",
		 400},
		{"bad via",
		 "OPTIONS sip:a@b.test SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP h.test;;\r\n"
		 "To: <sip:a@b.test>\r\nFrom: <sip:c@b.test>\r\n"
		 "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
		 400},
		{"response code",
		 "SIP/2.0 700 Nope\r\n" BASE_HDRS "CSeq: 1 OPTIONS\r\n\r\n", 0},
		{"ruri lws",
		 "OPTIONS sip:a@b.test; lr SIP/2.0\r\n" BASE_HDRS
		 "CSeq: 1 OPTIONS\r\n\r\n",
		 400},
		{"strict contact",
		 "OPTIONS sip:a@b.test SIP/2.0\r\n" BASE_HDRS
		 "CSeq: 1 OPTIONS\r\n"
		 "Contact: <sip:a@b.test>;expires=x\r\n\r\n",
		 400},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sip_msg *m = NULL;
		struct sip_error err = {0};
		int rc = sip_msg_decode(
			&m, cases[i].text, strlen(cases[i].text),
			SIP_DECODE_DATAGRAM | SIP_DECODE_STRICT, &err);

		if (rc != -EBADMSG || err.status != cases[i].status ||
		    !err.reason[0]) {
			TEST_FAIL_AT("%s: rc %d status %u", cases[i].what, rc,
				     err.status);
			sip_msg_free(m);
			return -1;
		}
	}
	return 0;
}

TEST(sip_msg_header_count_limit)
{
	struct buf b;
	struct sip_msg *m = NULL;
	struct sip_error err = {0};

	buf_init(&b, 1 << 20);
	buf_append_cstr(&b, "OPTIONS sip:a@b.test SIP/2.0\r\n" BASE_HDRS
			    "CSeq: 1 OPTIONS\r\n");
	for (int i = 0; i < SIP_MAX_HEADERS; i++)
		buf_printf(&b, "X-H%d: v\r\n", i);
	buf_append_cstr(&b, "\r\n");
	TEST_EQ_INT(sip_msg_decode(&m, b.p, b.len, 0, &err), -EBADMSG);
	TEST_EQ_INT(err.status, 400);
	buf_fini(&b);
	return 0;
}

TEST(sip_msg_size_limit)
{
	static char big[SIP_MAX_MSG_BYTES + 1];
	struct sip_msg *m = NULL;
	struct sip_error err = {0};

	memset(big, 'a', sizeof(big));
	TEST_EQ_INT(sip_msg_decode(&m, big, sizeof(big), 0, &err), -EMSGSIZE);
	TEST_EQ_INT(err.status, 513);
	TEST_ASSERT(!m);
	return 0;
}

TEST(sip_msg_leading_crlf_and_bare_lf)
{
	static const char text[] = "\r\n\r\nOPTIONS sip:a@b.test SIP/2.0\n"
				   "Via: SIP/2.0/UDP h.test;branch=z9hG4bK1\n"
				   "To: <sip:a@b.test>\nFrom: <sip:c@b.test>\n"
				   "Call-ID: x\nCSeq: 1 OPTIONS\n\nbody";
	struct sip_msg *m = NULL;

	TEST_EQ_INT(decode(&m, text, SIP_DECODE_DATAGRAM), 0);
	TEST_EQ_SLICE(m->body, "body");
	sip_msg_free(m);
	return 0;
}

TEST(sip_method_and_header_tables)
{
	TEST_EQ_INT(sip_method_lookup(SLICE_LIT("PUBLISH")),
		    SIP_METHOD_PUBLISH);
	/* method names are case-sensitive (RFC 3261 §7.1) */
	TEST_EQ_INT(sip_method_lookup(SLICE_LIT("publish")), SIP_METHOD_OTHER);
	TEST_EQ_STR(sip_method_name(SIP_METHOD_CONNECT), "CONNECT");
	TEST_EQ_INT(sip_hdr_lookup(SLICE_LIT("y")), SIP_HDR_IDENTITY);
	TEST_EQ_INT(sip_hdr_lookup(SLICE_LIT("N")), SIP_HDR_IDENTITY_INFO);
	TEST_EQ_INT(sip_hdr_lookup(SLICE_LIT("o")), SIP_HDR_EVENT);
	TEST_EQ_INT(sip_hdr_lookup(SLICE_LIT("u")), SIP_HDR_ALLOW_EVENTS);
	TEST_EQ_INT(sip_hdr_lookup(SLICE_LIT("sip-etag")), SIP_HDR_SIP_ETAG);
	TEST_EQ_INT(sip_hdr_lookup(SLICE_LIT("CALL-id")), SIP_HDR_CALL_ID);
	TEST_EQ_INT(sip_hdr_lookup(SLICE_LIT("Call-IDx")), SIP_HDR_OTHER);
	TEST_EQ_INT(sip_hdr_lookup(SLICE_LIT("q")), SIP_HDR_OTHER);
	TEST_EQ_STR(sip_hdr_name(SIP_HDR_SUBSCRIPTION_STATE),
		    "Subscription-State");
	return 0;
}

TEST(sip_list_next_respects_quotes_and_angles)
{
	struct scan s = scan_of(SLICE_LIT(
		"\"a, b\" <sip:x@y;p=1,2>;q=1 , <sip:z@y> ,\r\n <sip:w@y>"));
	struct slice e;

	TEST_EQ_INT(sip_list_next(&s, &e), 0);
	TEST_EQ_SLICE(e, "\"a, b\" <sip:x@y;p=1,2>;q=1");
	TEST_EQ_INT(sip_list_next(&s, &e), 0);
	TEST_EQ_SLICE(e, "<sip:z@y>");
	TEST_EQ_INT(sip_list_next(&s, &e), 0);
	TEST_EQ_SLICE(e, "<sip:w@y>");
	TEST_EQ_INT(sip_list_next(&s, &e), -ENOENT);
	s = scan_of(SLICE_LIT("a,,b"));
	TEST_EQ_INT(sip_list_next(&s, &e), 0);
	TEST_EQ_INT(sip_list_next(&s, &e), -EBADMSG);
	s = scan_of(SLICE_LIT("a,"));
	TEST_EQ_INT(sip_list_next(&s, &e), -EBADMSG);
	s = scan_of(SLICE_LIT("\"open"));
	TEST_EQ_INT(sip_list_next(&s, &e), -EBADMSG);
	return 0;
}

/* ---- the header-name hash: every name, every case, the near misses ------ */

/* Look the name up from a heap block of exactly its length, so that a
 * sanitizer sees any read past either end of it. */
static enum sip_hdr_id lookup_exact(const char *name, size_t len)
{
	char *copy = mem_alloc(len ? len : 1);
	enum sip_hdr_id id;

	if (!copy)
		return SIP_HDR__COUNT; /* no header's id */
	memcpy(copy, name, len);
	id = sip_hdr_lookup(slice_of(copy, len));
	mem_free(copy);
	return id;
}

TEST(sip_hdr_lookup_every_name_and_case)
{
	for (int id = SIP_HDR_OTHER + 1; id < SIP_HDR__COUNT; id++) {
		const char *name = sip_hdr_name((enum sip_hdr_id)id);
		size_t len = strlen(name);
		char v[32];

		TEST_ASSERT(len < sizeof(v));
		TEST_EQ_INT(lookup_exact(name, len), id);
		for (int form = 0; form < 4; form++) {
			for (size_t i = 0; i < len; i++) {
				int c = (unsigned char)name[i];

				if (form == 0)
					c = char_lower(c);
				else if (form == 1 && c >= 'a' && c <= 'z')
					c -= 32;
				else if (form >= 2 && char_is_alpha(c) &&
					 (i + (size_t)form) % 2)
					c ^= 0x20;
				v[i] = (char)c;
			}
			TEST_EQ_INT(lookup_exact(v, len), id);
		}
	}
	return 0;
}

TEST(sip_hdr_lookup_near_misses)
{
	for (int id = SIP_HDR_OTHER + 1; id < SIP_HDR__COUNT; id++) {
		const char *name = sip_hdr_name((enum sip_hdr_id)id);
		size_t len = strlen(name);
		char v[40];

		/* one octet shorter, longer, or changed anywhere: never this
		 * header, and another one only if it has that very name ("T"
		 * is the compact form of To itself) */
		if (len > 2)
			TEST_EQ_INT(lookup_exact(name, len - 1), SIP_HDR_OTHER);
		memcpy(v, name, len);
		v[len] = 's';
		TEST_EQ_INT(lookup_exact(v, len + 1), SIP_HDR_OTHER);
		for (size_t i = 0; i < len; i++) {
			static const unsigned char flips[] = {0x01, 0x40, 0x80,
							      0x60, 0x08};

			for (size_t f = 0; f < ARRAY_SIZE(flips); f++) {
				enum sip_hdr_id got;

				memcpy(v, name, len);
				v[i] = (char)(v[i] ^ flips[f]);
				got = lookup_exact(v, len);
				if (got == SIP_HDR_OTHER)
					continue;
				if ((int)got == id ||
				    !slice_caseeq_cstr(slice_of(v, len),
						       sip_hdr_name(got))) {
					TEST_FAIL_AT("%.*s gave %d", (int)len,
						     v, got);
					return -1;
				}
			}
			/* '-' and CR differ only in the case bit */
			if (name[i] == '-') {
				memcpy(v, name, len);
				v[i] = '\r';
				TEST_EQ_INT(lookup_exact(v, len),
					    SIP_HDR_OTHER);
				v[i] = '_';
				TEST_EQ_INT(lookup_exact(v, len),
					    SIP_HDR_OTHER);
			}
		}
	}
	TEST_EQ_INT(sip_hdr_lookup(SLICE_NULL), SIP_HDR_OTHER);
	TEST_EQ_INT(sip_hdr_lookup(SLICE_LIT("Session-Expires")),
		    SIP_HDR_OTHER);
	TEST_EQ_INT(
		sip_hdr_lookup(SLICE_LIT("Subscription-Statex-long-one-here")),
		SIP_HDR_OTHER);
	return 0;
}

TEST(sip_hdr_lookup_compact_forms)
{
	static const struct {
		char c;
		enum sip_hdr_id id;
	} v[] = {
		{'c', SIP_HDR_CONTENT_TYPE}, {'e', SIP_HDR_CONTENT_ENCODING},
		{'f', SIP_HDR_FROM},	     {'i', SIP_HDR_CALL_ID},
		{'k', SIP_HDR_SUPPORTED},    {'l', SIP_HDR_CONTENT_LENGTH},
		{'m', SIP_HDR_CONTACT},	     {'n', SIP_HDR_IDENTITY_INFO},
		{'o', SIP_HDR_EVENT},	     {'s', SIP_HDR_SUBJECT},
		{'t', SIP_HDR_TO},	     {'u', SIP_HDR_ALLOW_EVENTS},
		{'v', SIP_HDR_VIA},	     {'y', SIP_HDR_IDENTITY},
	};

	/* every one-octet name: the fourteen letters in either case, and
	 * nothing else */
	for (int c = 0; c < 256; c++) {
		enum sip_hdr_id want = SIP_HDR_OTHER;

		for (size_t i = 0; i < ARRAY_SIZE(v); i++)
			if (char_lower(c) == v[i].c)
				want = v[i].id;
		{
			char one = (char)c;

			TEST_EQ_INT(lookup_exact(&one, 1), want);
		}
	}
	return 0;
}

TEST(sip_method_lookup_every_method)
{
	for (int m = SIP_METHOD_OTHER + 1; m <= SIP_METHOD_CONNECT; m++) {
		const char *name = sip_method_name((enum sip_method)m);
		size_t len = strlen(name);
		char v[16];

		TEST_EQ_INT(sip_method_lookup(slice_cstr(name)), m);
		/* case-sensitive (RFC 3261 §7.1), exact length */
		for (size_t i = 0; i < len; i++) {
			memcpy(v, name, len);
			v[i] = (char)char_lower((unsigned char)v[i]);
			TEST_EQ_INT(sip_method_lookup(slice_of(v, len)),
				    SIP_METHOD_OTHER);
			v[i] = 'X';
			TEST_EQ_INT(sip_method_lookup(slice_of(v, len)),
				    name[i] == 'X' ? m : SIP_METHOD_OTHER);
		}
		TEST_EQ_INT(sip_method_lookup(slice_of(name, len - 1)),
			    SIP_METHOD_OTHER);
	}
	TEST_EQ_INT(sip_method_lookup(SLICE_NULL), SIP_METHOD_OTHER);
	TEST_EQ_INT(sip_method_lookup(SLICE_LIT("INVITEX")), SIP_METHOD_OTHER);
	TEST_EQ_INT(sip_method_lookup(SLICE_LIT("REGISTERS")),
		    SIP_METHOD_OTHER);
	return 0;
}

/* The splitter one octet at a time, as RFC 3261 §7.3.1 reads: commas
 * outside quotes and <...> separate; the reference for the fast one. */
static int ref_list_next(struct scan *s, struct slice *elem)
{
	const char *p = s->p, *start;
	bool in_quote = false, in_angle = false;

	while (p < s->end && char_in((unsigned char)*p, CHAR_SPACE))
		p++;
	if (p >= s->end)
		return -ENOENT;
	start = p;
	for (; p < s->end; p++) {
		char c = *p;

		if (in_quote) {
			if (c == '\\' && p + 1 < s->end)
				p++;
			else if (c == '"')
				in_quote = false;
			continue;
		}
		if (c == '"')
			in_quote = true;
		else if (c == '<' && !in_angle)
			in_angle = true;
		else if (c == '>' && in_angle)
			in_angle = false;
		else if (c == ',' && !in_angle)
			break;
	}
	if (in_quote || in_angle)
		return -EBADMSG;
	*elem = slice_trim(slice_of(start, (size_t)(p - start)));
	if (!elem->len)
		return -EBADMSG;
	if (p < s->end) {
		const char *q = p + 1;

		while (q < s->end && char_in((unsigned char)*q, CHAR_SPACE))
			q++;
		if (q >= s->end)
			return -EBADMSG;
		p++;
	}
	s->p = p;
	return 0;
}

TEST(sip_list_next_matches_reference)
{
	static const char alphabet[] = "aaaaaaaa,,\"<> \\\t";
	uint32_t seed = 12345;

	/* values of every length up to 40 from an alphabet heavy in the
	 * octets that matter, each in a block of its exact size */
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)round % 41;
		char *v = mem_alloc(len ? len : 1);
		struct scan a, b;

		TEST_ASSERT(v);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			v[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		a = b = scan_of(slice_of(v, len));
		for (;;) {
			struct slice ea = SLICE_NULL, eb = SLICE_NULL;
			int ra = sip_list_next(&a, &ea);
			int rb = ref_list_next(&b, &eb);

			/* on an error the fast one leaves elem alone */
			if (ra != rb || a.p != b.p ||
			    (!ra && (ea.p != eb.p || ea.len != eb.len))) {
				TEST_FAIL_AT("\"%.*s\": %d vs %d", (int)len, v,
					     ra, rb);
				mem_free(v);
				return -1;
			}
			if (ra)
				break;
		}
		mem_free(v);
	}
	return 0;
}
