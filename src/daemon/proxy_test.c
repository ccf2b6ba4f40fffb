/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the pure pieces of MESSAGE routing (proxy.c, RFC 3261
 * §16): the binding chosen, its destination, the Route values that name
 * us, the forwarded request (Request-URI, Max-Forwards, Route, the rest
 * byte for byte) and the relayed response (top Via gone). */
#include "test.h"

#include "daemon/sipcertd.h"

/* a CMS-like body with CRLFs and NULs in it */
#define BODY                                                                   \
	"MIME-Version: 1.0\r\n\r\n"                                            \
	"\x30\x82\x01\x00\r\n\r\n\x00\xff binary"
#define BODY_LEN (sizeof(BODY) - 1)

/* A MESSAGE with a folded header, a compact one and an Identity, whose
 * body holds CRLFs and NULs. */
#define HEAD                                                                   \
	"MESSAGE sip:bob@example.test SIP/2.0\r\n"                             \
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa1;rport\r\n"           \
	"Max-Forwards: 12\r\n"                                                 \
	"From: <sip:alice@example.org>;tag=f1\r\n"                             \
	"t: <sip:bob@example.test>\r\n"                                        \
	"Call-ID: c1@192.0.2.1\r\n"                                            \
	"CSeq: 7 MESSAGE\r\n"                                                  \
	"Subject: one\r\n two\r\n"                                             \
	"Identity: \"c2lnbmF0dXJl\"\r\n"                                       \
	"Content-Type: application/pkcs7-mime\r\n"

static int decode(struct sip_msg **m, const char *s, size_t len, bool dgram)
{
	return sip_msg_decode(m, s, len, dgram ? SIP_DECODE_DATAGRAM : 0, NULL);
}

/* One rewrite: the input, the call, and what it must give. */
struct req_case {
	const char *in;
	size_t in_len;
	const char *target;
	size_t pop;
	size_t cap; /* of the output buf; 0: 4096 */
	int rc;
	const char *want; /* when rc is 0 */
	size_t want_len;
};

#define LIT(s) (s), sizeof(s) - 1

static int expect_req(const struct req_case *c)
{
	struct sip_msg *m = NULL;
	struct buf out;
	int rc;

	buf_init(&out, c->cap ? c->cap : 4096);
	rc = decode(&m, c->in, c->in_len, true);
	if (!rc)
		rc = proxy_request_print(&out, m, slice_cstr(c->target),
					 c->pop);
	sip_msg_free(m);
	if (rc != c->rc || (!rc && (out.len != c->want_len ||
				    memcmp(out.p, c->want, out.len)))) {
		TEST_FAIL_AT("rc %d (want %d), got %zu bytes:\n%.*s", rc, c->rc,
			     out.len, (int)out.len, out.p);
		buf_fini(&out);
		return -1;
	}
	buf_fini(&out);
	return 0;
}

TEST(daemon_proxy_request_rewrite)
{
	static const char in[] = HEAD "Content-Length: 38\r\n\r\n" BODY;
	static const char want[] =
		"MESSAGE sip:bob@192.0.2.9:5070;transport=tcp SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa1;rport\r\n"
		"Max-Forwards: 11\r\n"
		"From: <sip:alice@example.org>;tag=f1\r\n"
		"t: <sip:bob@example.test>\r\n"
		"Call-ID: c1@192.0.2.1\r\n"
		"CSeq: 7 MESSAGE\r\n"
		"Subject: one\r\n two\r\n"
		"Identity: \"c2lnbmF0dXJl\"\r\n"
		"Content-Type: application/pkcs7-mime\r\n"
		"Content-Length: 38\r\n\r\n" BODY;
	const struct req_case c = {
		LIT(in),   "sip:bob@192.0.2.9:5070;transport=tcp", 0, 0, 0,
		LIT(want),
	};

	TEST_EQ_INT(BODY_LEN, 38);
	return expect_req(&c);
}

TEST(daemon_proxy_request_adds_max_forwards_and_length)
{
	/* a datagram: no Max-Forwards, no Content-Length, no final CRLF
	 * after the last header and no empty line */
	static const char in[] = "MESSAGE sip:bob@example.test SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP h;branch=z9hG4bKb\r\n"
				 "From: <sip:a@example.org>;tag=1\r\n"
				 "To: <sip:bob@example.test>\r\n"
				 "Call-ID: x\r\n"
				 "CSeq: 1 MESSAGE";
	static const char want[] = "MESSAGE sip:bob@h2 SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP h;branch=z9hG4bKb\r\n"
				   "From: <sip:a@example.org>;tag=1\r\n"
				   "To: <sip:bob@example.test>\r\n"
				   "Call-ID: x\r\n"
				   "CSeq: 1 MESSAGE\r\n"
				   "Max-Forwards: 70\r\n"
				   "Content-Length: 0\r\n\r\n";
	/* the last hop it may take; a body without Content-Length */
	static const char in2[] = "MESSAGE sip:bob@example.test SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP h;branch=z9hG4bKb\r\n"
				  "From: <sip:a@example.org>;tag=1\r\n"
				  "To: <sip:bob@example.test>\r\n"
				  "Call-ID: x\r\n"
				  "CSeq: 1 MESSAGE\r\n"
				  "Max-Forwards: 1\r\n"
				  "\r\nhello";
	static const char want2[] = "MESSAGE sip:bob@h2 SIP/2.0\r\n"
				    "Via: SIP/2.0/UDP h;branch=z9hG4bKb\r\n"
				    "From: <sip:a@example.org>;tag=1\r\n"
				    "To: <sip:bob@example.test>\r\n"
				    "Call-ID: x\r\n"
				    "CSeq: 1 MESSAGE\r\n"
				    "Max-Forwards: 0\r\n"
				    "Content-Length: 5\r\n\r\nhello";
	/* octets past Content-Length in a datagram are not forwarded */
	static const char in3[] = "MESSAGE sip:bob@example.test SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP h;branch=z9hG4bKb\r\n"
				  "From: <sip:a@example.org>;tag=1\r\n"
				  "To: <sip:bob@example.test>\r\n"
				  "Call-ID: x\r\n"
				  "CSeq: 1 MESSAGE\r\n"
				  "l: 2\r\n"
				  "Max-Forwards: 9\r\n"
				  "\r\nhello";
	static const char want3[] = "MESSAGE sip:bob@h2 SIP/2.0\r\n"
				    "Via: SIP/2.0/UDP h;branch=z9hG4bKb\r\n"
				    "From: <sip:a@example.org>;tag=1\r\n"
				    "To: <sip:bob@example.test>\r\n"
				    "Call-ID: x\r\n"
				    "CSeq: 1 MESSAGE\r\n"
				    "l: 2\r\n"
				    "Max-Forwards: 8\r\n"
				    "\r\nhe";
	const struct req_case c[] = {
		{LIT(in), "sip:bob@h2", 0, 0, 0, LIT(want)},
		{LIT(in2), "sip:bob@h2", 0, 0, 0, LIT(want2)},
		{LIT(in3), "sip:bob@h2", 0, 0, 0, LIT(want3)},
	};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		if (expect_req(&c[i]))
			return -1;
	return 0;
}

TEST(daemon_proxy_request_refusals)
{
	static const char mf0[] = "MESSAGE sip:bob@example.test SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP h;branch=z9hG4bKb\r\n"
				  "Max-Forwards: 0\r\n"
				  "From: <sip:a@example.org>;tag=1\r\n"
				  "To: <sip:bob@example.test>\r\n"
				  "Call-ID: x\r\n"
				  "CSeq: 1 MESSAGE\r\n"
				  "Content-Length: 0\r\n\r\n";
	static const char ok[] = HEAD "Content-Length: 38\r\n\r\n" BODY;
	static const char resp[] = "SIP/2.0 200 OK\r\n"
				   "Via: SIP/2.0/UDP h;branch=z9hG4bKb\r\n"
				   "From: <sip:a@example.org>;tag=1\r\n"
				   "To: <sip:bob@example.test>;tag=2\r\n"
				   "Call-ID: x\r\n"
				   "CSeq: 1 MESSAGE\r\n"
				   "Content-Length: 0\r\n\r\n";
	const struct req_case c[] = {
		/* §16.3 step 3: nothing to forward at 0 (the caller: 483) */
		{LIT(mf0), "sip:b@h", 0, 0, -EINVAL, NULL, 0},
		/* a target that would break the request line */
		{LIT(ok), "sip:b@h x", 0, 0, -EINVAL, NULL, 0},
		/* more Route values to drop than there are */
		{LIT(ok), "sip:b@h", 1, 0, -EINVAL, NULL, 0},
		/* the cap */
		{LIT(ok), "sip:b@h", 0, 100, -EMSGSIZE, NULL, 0},
	};
	struct sip_msg *rq = NULL, *rs = NULL;
	struct buf out;
	int a, b;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		if (expect_req(&c[i]))
			return -1;
	/* a response is not a request, nor the other way round */
	buf_init(&out, 4096);
	a = decode(&rs, resp, sizeof(resp) - 1, false);
	b = decode(&rq, ok, sizeof(ok) - 1, false);
	if (!a)
		a = proxy_request_print(&out, rs, slice_cstr("sip:b@h"), 0);
	if (!b)
		b = proxy_response_print(&out, rq);
	sip_msg_free(rs);
	sip_msg_free(rq);
	buf_fini(&out);
	TEST_EQ_INT(a, -EINVAL);
	TEST_EQ_INT(b, -EINVAL);
	TEST_EQ_INT(proxy_request_print(NULL, NULL, SLICE_NULL, 0), -EINVAL);
	TEST_EQ_INT(proxy_response_print(NULL, NULL), -EINVAL);
	return 0;
}

/* Every prefix of a datagram that still decodes is forwarded as a
 * well-framed stream message with the same body. */
TEST(daemon_proxy_request_every_prefix)
{
	static const char in[] = HEAD "Content-Length: 38\r\n\r\n" BODY;
	size_t n_forwarded = 0;

	for (size_t len = 1; len <= sizeof(in) - 1; len++) {
		struct sip_msg *m = NULL, *fwd = NULL;
		struct buf out;
		int rc;

		if (decode(&m, in, len, true))
			continue;
		buf_init(&out, 4096);
		rc = proxy_request_print(&out, m, slice_cstr("sip:b@h"), 0);
		if (!rc)
			rc = decode(&fwd, out.p, out.len, false);
		if (!rc && (!slice_eq(fwd->body, m->body) ||
			    fwd->max_forwards != m->max_forwards - 1 ||
			    fwd->n_hdrs != m->n_hdrs + !m->has_content_length))
			rc = -1;
		sip_msg_free(fwd);
		sip_msg_free(m);
		buf_fini(&out);
		if (rc && rc != -ENOMEM) {
			TEST_FAIL_AT("prefix %zu: rc %d", len, rc);
			return -1;
		}
		if (rc)
			return -1;
		n_forwarded++;
	}
	/* those cut after a header's colon (42), the test is not vacuous */
	TEST_EQ_INT(n_forwarded, 42);
	return 0;
}

/* Route values across two fields, the first two naming us. */
#define ROUTED(r1, r2)                                                         \
	"MESSAGE sip:bob@example.test SIP/2.0\r\n"                             \
	"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKr\r\n"                  \
	"Route: " r1 "\r\n"                                                    \
	"Max-Forwards: 70\r\n"                                                 \
	"Route: " r2 "\r\n"                                                    \
	"From: <sip:alice@example.org>;tag=f1\r\n"                             \
	"To: <sip:bob@example.test>\r\n"                                       \
	"Call-ID: r@192.0.2.1\r\n"                                             \
	"CSeq: 1 MESSAGE\r\n"                                                  \
	"Content-Length: 0\r\n\r\n"

TEST(daemon_proxy_route_own)
{
	static const struct {
		const char *msg;
		int rc;
		size_t own, all;
	} v[] = {
		{ROUTED("<sip:example.test;lr>, <sip:127.0.0.1:5060;lr>",
			"<sip:next.example.org;lr>"),
		 0, 2, 3},
		/* either name, any case, any port */
		{ROUTED("<sip:EXAMPLE.test:5070;lr>",
			"<sip:sip.example.test;lr>, <sip:example.test;lr>"),
		 0, 3, 3},
		/* the address the request came in on, default port */
		{ROUTED("<sip:127.0.0.1:5060;lr>", "<sips:127.0.0.1;lr>"), 0, 1,
		 2},
		{ROUTED("<sip:127.0.0.1:5061;transport=tls;lr>",
			"<sip:127.0.0.1;transport=tls;lr>"),
		 0, 0, 2},
		/* only the leading ones count */
		{ROUTED("<sip:other.example.org;lr>", "<sip:example.test;lr>"),
		 0, 0, 2},
		{ROUTED("<sip:example.test;lr>,", "<sip:example.test;lr>"),
		 -EBADMSG, 0, 0},
		{ROUTED("<sip:example.test;lr>", "not a uri"), -EBADMSG, 0, 0},
	};
	static const char none[] = "MESSAGE sip:bob@example.test SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP h;branch=z9hG4bKb\r\n"
				   "From: <sip:a@example.org>;tag=1\r\n"
				   "To: <sip:bob@example.test>\r\n"
				   "Call-ID: x\r\n"
				   "CSeq: 1 MESSAGE\r\n"
				   "Content-Length: 0\r\n\r\n";
	struct net_addr local;
	struct proxy_self self = {
		.names = {"example.test", "sip.example.test"},
		.local = &local,
	};
	size_t own = 99, all = 99;

	TEST_EQ_INT(net_addr_parse("127.0.0.1", 5060, &local), 0);
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct sip_msg *m = NULL;
		int rc;

		TEST_EQ_INT(decode(&m, v[i].msg, strlen(v[i].msg), false), 0);
		own = all = 99;
		rc = proxy_route_own(m, &self, &own, &all);
		sip_msg_free(m);
		if (rc != v[i].rc ||
		    (!rc && (own != v[i].own || all != v[i].all))) {
			TEST_FAIL_AT("case %zu: rc %d own %zu all %zu", i, rc,
				     own, all);
			return -1;
		}
	}
	{
		struct sip_msg *m = NULL;

		TEST_EQ_INT(decode(&m, none, sizeof(none) - 1, false), 0);
		self.local = NULL;
		TEST_EQ_INT(proxy_route_own(m, &self, &own, &all), 0);
		TEST_EQ_INT(own, 0);
		TEST_EQ_INT(all, 0);
		TEST_EQ_INT(proxy_route_own(m, NULL, &own, &all), -EINVAL);
		sip_msg_free(m);
	}
	return 0;
}

TEST(daemon_proxy_request_pops_routes)
{
	static const char in[] =
		ROUTED("<sip:example.test;lr>, <sip:127.0.0.1:5062;lr>",
		       "<sip:next.example.org;lr>");
	static const char want1[] =
		"MESSAGE sip:bob@h SIP/2.0\r\n"
		"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKr\r\n"
		"Route: <sip:127.0.0.1:5062;lr>\r\n"
		"Max-Forwards: 69\r\n"
		"Route: <sip:next.example.org;lr>\r\n"
		"From: <sip:alice@example.org>;tag=f1\r\n"
		"To: <sip:bob@example.test>\r\n"
		"Call-ID: r@192.0.2.1\r\n"
		"CSeq: 1 MESSAGE\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char want3[] =
		"MESSAGE sip:bob@h SIP/2.0\r\n"
		"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKr\r\n"
		"Max-Forwards: 69\r\n"
		"From: <sip:alice@example.org>;tag=f1\r\n"
		"To: <sip:bob@example.test>\r\n"
		"Call-ID: r@192.0.2.1\r\n"
		"CSeq: 1 MESSAGE\r\n"
		"Content-Length: 0\r\n\r\n";
	const struct req_case c[] = {
		{LIT(in), "sip:bob@h", 1, 0, 0, LIT(want1)},
		{LIT(in), "sip:bob@h", 3, 0, 0, LIT(want3)},
		{LIT(in), "sip:bob@h", 4, 0, -EINVAL, NULL, 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		if (expect_req(&c[i]))
			return -1;
	return 0;
}

static int check_resp(const char *in, size_t len, const char *want,
		      size_t want_len, int want_rc)
{
	struct sip_msg *m = NULL;
	struct buf out;
	int rc;

	TEST_EQ_INT(decode(&m, in, len, true), 0);
	buf_init(&out, 4096);
	rc = proxy_response_print(&out, m);
	sip_msg_free(m);
	if (rc != want_rc ||
	    (!rc && (out.len != want_len || memcmp(out.p, want, out.len)))) {
		TEST_FAIL_AT("rc %d, got %zu bytes:\n%.*s", rc, out.len,
			     (int)out.len, out.p);
		buf_fini(&out);
		return -1;
	}
	buf_fini(&out);
	return 0;
}

TEST(daemon_proxy_response_strips_top_via)
{
	/* our Via alone on its line; an extension header, a body with a
	 * NUL and CRLFs */
	static const char in1[] =
		"SIP/2.0 200 OK\r\n"
		"Via: SIP/2.0/TCP us:5060;branch=z9hG4bKus;rport=1\r\n"
		"v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa1\r\n"
		"From: <sip:a@example.org>;tag=1\r\n"
		"To: <sip:bob@example.test>;tag=2\r\n"
		"Call-ID: x\r\n"
		"CSeq: 1 MESSAGE\r\n"
		"X-Thing:  kept   as is \r\n"
		"Content-Length: 4\r\n\r\n\r\n\x00z";
	static const char want1[] =
		"SIP/2.0 200 OK\r\n"
		"v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa1\r\n"
		"From: <sip:a@example.org>;tag=1\r\n"
		"To: <sip:bob@example.test>;tag=2\r\n"
		"Call-ID: x\r\n"
		"CSeq: 1 MESSAGE\r\n"
		"X-Thing:  kept   as is \r\n"
		"Content-Length: 4\r\n\r\n\r\n\x00z";
	/* all in one field, leading CRLFs, no Content-Length */
	static const char in2[] =
		"\r\nSIP/2.0 486 Busy Here\r\n"
		"Via: SIP/2.0/UDP us;branch=z9hG4bKus , SIP/2.0/UDP "
		"a;branch=z9hG4bKa,SIP/2.0/UDP b;branch=z9hG4bKb\r\n"
		"From: <sip:a@example.org>;tag=1\r\n"
		"To: <sip:bob@example.test>;tag=2\r\n"
		"Call-ID: x\r\n"
		"CSeq: 1 MESSAGE\r\n\r\n";
	static const char want2[] =
		"SIP/2.0 486 Busy Here\r\n"
		"Via: SIP/2.0/UDP a;branch=z9hG4bKa,SIP/2.0/UDP "
		"b;branch=z9hG4bKb\r\n"
		"From: <sip:a@example.org>;tag=1\r\n"
		"To: <sip:bob@example.test>;tag=2\r\n"
		"Call-ID: x\r\n"
		"CSeq: 1 MESSAGE\r\n"
		"Content-Length: 0\r\n\r\n";
	/* §16.7 step 3: only our Via, nobody to relay it to */
	static const char in3[] = "SIP/2.0 200 OK\r\n"
				  "Via: SIP/2.0/UDP us;branch=z9hG4bKus\r\n"
				  "From: <sip:a@example.org>;tag=1\r\n"
				  "To: <sip:bob@example.test>;tag=2\r\n"
				  "Call-ID: x\r\n"
				  "CSeq: 1 MESSAGE\r\n"
				  "Content-Length: 0\r\n\r\n";

	if (check_resp(in1, sizeof(in1) - 1, want1, sizeof(want1) - 1, 0) ||
	    check_resp(in2, sizeof(in2) - 1, want2, sizeof(want2) - 1, 0) ||
	    check_resp(in3, sizeof(in3) - 1, NULL, 0, -ENOENT))
		return -1;
	return 0;
}

/* ---- choosing and addressing the binding -------------------------------- */

static struct binding mkb(const char *contact, uint16_t q, uint64_t at_ms,
			  enum net_proto proto, net_flow_id flow)
{
	struct binding b = {
		.contact = (char *)(uintptr_t)contact,
		.expires_at_ms = at_ms + 3600 * 1000,
		.expires_s = 3600,
		.q = q,
	};

	b.src.proto = proto;
	b.src.flow = flow;
	return b;
}

TEST(daemon_proxy_binding_pick)
{
	struct binding b[4];

	TEST_ASSERT(!proxy_binding_pick(NULL, 0));
	TEST_ASSERT(!proxy_binding_pick(b, 0));
	b[0] = mkb("sip:a@192.0.2.1", 500, 1000, NET_UDP, 1);
	b[1] = mkb("sip:a@192.0.2.2", 1000, 500, NET_UDP, 1);
	b[2] = mkb("sip:a@192.0.2.3", 1000, 900, NET_UDP, 1);
	b[3] = mkb("sip:a@192.0.2.4", 700, 5000, NET_UDP, 1);
	/* the highest q, then the most recent */
	TEST_ASSERT(proxy_binding_pick(b, 4) == &b[2]);
	TEST_ASSERT(proxy_binding_pick(b, 2) == &b[1]);
	TEST_ASSERT(proxy_binding_pick(b, 1) == &b[0]);
	/* equal q and time: the first */
	b[1].expires_at_ms = b[2].expires_at_ms;
	TEST_ASSERT(proxy_binding_pick(b, 3) == &b[1]);
	/* an expiry before its own lifetime (a test clock) counts as 0 */
	b[0] = mkb("sip:a@192.0.2.1", 1000, 0, NET_UDP, 1);
	b[0].expires_at_ms = 10;
	TEST_ASSERT(proxy_binding_pick(b, 2) == &b[1]);
	return 0;
}

TEST(daemon_proxy_binding_dest_contact)
{
	static const struct {
		const char *contact;
		bool need_stream;
		int rc;
		enum net_proto proto;
		const char *addr; /* net_addr_print() of the destination */
		const char *sni;
	} v[] = {
		{"sip:bob@192.0.2.9", false, 0, NET_UDP, "192.0.2.9:5060",
		 NULL},
		{"sip:bob@192.0.2.9", true, 0, NET_TCP, "192.0.2.9:5060", NULL},
		{"sip:bob@192.0.2.9:5070;transport=TCP", false, 0, NET_TCP,
		 "192.0.2.9:5070", NULL},
		{"sip:bob@192.0.2.9;transport=tls", false, 0, NET_TLS,
		 "192.0.2.9:5061", NULL},
		{"sip:bob@192.0.2.9:5080;transport=udp", false, 0, NET_UDP,
		 "192.0.2.9:5080", NULL},
		{"sips:bob@[2001:db8::1]", false, 0, NET_TLS,
		 "[2001:db8::1]:5061", NULL},
		/* a name: the REGISTER's source at the Contact's port */
		{"sips:bob@laptop.example.test:5071", false, 0, NET_TLS,
		 "198.51.100.7:5071", "laptop.example.test"},
		{"sip:bob@laptop.example.test;transport=tcp", false, 0, NET_TCP,
		 "198.51.100.7:5060", NULL},
		{"sip:bob@192.0.2.9;transport=sctp", false, -EPROTONOSUPPORT,
		 NET_UDP, NULL, NULL},
		{"tel:+15551234", false, -EPROTONOSUPPORT, NET_UDP, NULL, NULL},
		{"sip:bob@192.0.2.9;transport", false, -EPROTONOSUPPORT,
		 NET_UDP, NULL, NULL},
		{"not a uri", false, -EBADMSG, NET_UDP, NULL, NULL},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct binding b = mkb(v[i].contact, 1000, 0, NET_TCP, 42);
		struct proxy_dest d;
		char addr[80];
		int rc;

		TEST_EQ_INT(net_addr_parse("198.51.100.7", 40000, &b.src.peer),
			    0);
		memset(&d, 0x5a, sizeof(d));
		/* no net: every flow is dead, so the Contact decides */
		rc = proxy_binding_dest(NULL, &b, v[i].need_stream, &d);
		if (rc != v[i].rc) {
			TEST_FAIL_AT("case %zu (%s): rc %d", i, v[i].contact,
				     rc);
			return -1;
		}
		if (rc) {
			/* untouched on failure */
			TEST_EQ_INT(((unsigned char *)&d)[0], 0x5a);
			continue;
		}
		net_addr_print(&d.nd.addr, addr, sizeof(addr));
		TEST_EQ_INT(d.nd.proto, v[i].proto);
		TEST_EQ_INT(d.nd.flow, 0);
		TEST_EQ_STR(addr, v[i].addr);
		if (v[i].sni)
			TEST_EQ_STR(d.nd.sni, v[i].sni);
		else
			TEST_ASSERT(!d.nd.sni);
	}
	return 0;
}

TEST(daemon_proxy_binding_dest_name_needs_source)
{
	struct binding b =
		mkb("sip:bob@laptop.example.test", 1000, 0, NET_TCP, 0);
	struct proxy_dest d;

	/* a name and no source address to look for it at */
	TEST_EQ_INT(proxy_binding_dest(NULL, &b, false, &d), -EINVAL);
	b.contact = NULL;
	TEST_EQ_INT(proxy_binding_dest(NULL, &b, false, &d), -EINVAL);
	TEST_EQ_INT(proxy_binding_dest(NULL, NULL, false, &d), -EINVAL);
	return 0;
}

static void ignore_rx(void *arg, const struct net_rx *rx)
{
	(void)arg;
	(void)rx;
}

/* A live flow: a real net with a UDP listener (whose flow is alive). */
TEST(daemon_proxy_binding_dest_live_flow)
{
	struct event_base *base = event_base_new();
	struct net *n = NULL;
	struct net_opts o = {0};
	struct binding b;
	struct proxy_dest d;
	net_flow_id flow = 0;
	char addr[80];
	uint16_t port = 0;
	int rc = -1;

	if (!base)
		return -1;
	o.base = base;
	o.on_rx = ignore_rx;
	if (net_new(&n, &o) || net_listen(n, NET_UDP, "127.0.0.1", 0, &port))
		goto out;
	/* the listener's flow: a datagram sent from it names it */
	{
		struct net_dest to = {.proto = NET_UDP};

		if (net_addr_parse("127.0.0.1", port, &to.addr) ||
		    net_send(n, &to, "x", 1, &flow) || !flow)
			goto out;
	}
	b = mkb("sip:bob@192.0.2.9;transport=tcp", 1000, 0, NET_UDP, flow);
	if (net_addr_parse("198.51.100.7", 40000, &b.src.peer))
		goto out;
	/* UDP: our socket, to the REGISTER's source */
	if (proxy_binding_dest(n, &b, false, &d) || d.nd.proto != NET_UDP ||
	    d.nd.flow != flow)
		goto out;
	net_addr_print(&d.nd.addr, addr, sizeof(addr));
	if (strcmp(addr, "198.51.100.7:40000") ||
	    net_addr_port(&d.nd.addr) != 40000)
		goto out;
	/* too large for it: the Contact over a stream */
	if (proxy_binding_dest(n, &b, true, &d) || d.nd.proto != NET_TCP ||
	    d.nd.flow)
		goto out;
	net_addr_print(&d.nd.addr, addr, sizeof(addr));
	if (strcmp(addr, "192.0.2.9:5060"))
		goto out;
	/* a TCP flow id that is not alive: the Contact */
	b.src.proto = NET_TCP;
	b.src.flow = flow + 1000;
	if (proxy_binding_dest(n, &b, false, &d) || d.nd.proto != NET_TCP ||
	    d.nd.flow)
		goto out;
	rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("live flow case failed");
	net_free(n);
	event_base_free(base);
	return rc;
}
