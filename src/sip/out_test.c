/* SPDX-License-Identifier: BSD-3-Clause */
/* The serializer: exact bytes of start lines, header fields and bodies,
 * refusal of header injection, response starts (RFC 3261 §8.2.6.2), reason
 * phrases (§21). */
#include "test.h"

#include "sip/sip.h"

/* Compare the buf with the expected bytes, then free it either way. */
static int expect_bytes(struct buf *b, const char *want, size_t want_len)
{
	bool ok = b->err == 0 && b->len == want_len &&
		  (!want_len || !memcmp(b->p, want, want_len));

	if (!ok)
		TEST_FAIL_AT("buf (err %d) is \"%.*s\", expected \"%.*s\"",
			     b->err, (int)b->len, b->p ? b->p : "",
			     (int)want_len, want);
	buf_fini(b);
	return ok ? 0 : -1;
}

#define EXPECT(b, lit) expect_bytes((b), (lit), sizeof(lit) - 1)

TEST(sip_out_request_line_exact)
{
	struct buf b;

	buf_init(&b, 1024);
	TEST_EQ_INT(sip_out_request_line(&b, "SUBSCRIBE",
					 SLICE_LIT("sip:bob@example.test")),
		    0);
	return EXPECT(&b, "SUBSCRIBE sip:bob@example.test SIP/2.0\r\n");
}

TEST(sip_out_request_line_refuses_bad_input)
{
	static const struct {
		const char *method;
		const char *ruri;
	} v[] = {
		{"INV ITE", "sip:a@b"},	   {"", "sip:a@b"},
		{NULL, "sip:a@b"},	   {"INVITE", ""},
		{"INVITE", "sip:a@b c"},   {"INVITE", "sip:a@b\r\nX: y"},
		{"INVITE", "sip:a@b\x7f"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct buf b;
		int rc, again;

		buf_init(&b, 1024);
		rc = sip_out_request_line(&b, v[i].method,
					  slice_cstr(v[i].ruri));
		/* the refusal sticks: a later append cannot hide it */
		again = sip_out_hdr_cstr(&b, "Max-Forwards", "70");
		TEST_EQ_INT(b.len, 0);
		buf_fini(&b);
		TEST_EQ_INT(rc, -EINVAL);
		TEST_EQ_INT(again, -EINVAL);
	}
	return 0;
}

TEST(sip_out_status_line_exact)
{
	struct buf b;

	buf_init(&b, 1024);
	TEST_EQ_INT(sip_out_status_line(&b, 200, NULL), 0);
	TEST_EQ_INT(sip_out_status_line(&b, 489, NULL), 0);
	TEST_EQ_INT(sip_out_status_line(&b, 199, "Custom\tphrase \xc3\xa9"), 0);
	TEST_EQ_INT(sip_out_status_line(&b, 100, ""), 0);
	return EXPECT(&b, "SIP/2.0 200 OK\r\n"
			  "SIP/2.0 489 Bad Event\r\n"
			  "SIP/2.0 199 Custom\tphrase \xc3\xa9\r\n"
			  "SIP/2.0 100 \r\n");
}

TEST(sip_out_status_line_refuses_bad_input)
{
	static const struct {
		unsigned status;
		const char *reason;
	} v[] = {
		{99, NULL},	     {700, NULL},   {0, "OK"},
		{200, "OK\r\nX: y"}, {200, "O\nK"}, {200, "\x01"},
		{200, "\x7f"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct buf b;
		int rc;

		buf_init(&b, 1024);
		rc = sip_out_status_line(&b, v[i].status, v[i].reason);
		TEST_EQ_INT(b.len, 0);
		TEST_EQ_INT(b.err, -EINVAL);
		buf_fini(&b);
		TEST_EQ_INT(rc, -EINVAL);
	}
	return 0;
}

TEST(sip_out_hdr_exact)
{
	struct buf b;

	buf_init(&b, 1024);
	TEST_EQ_INT(sip_out_hdr(&b, "Event", SLICE_LIT("certificate;id=7")), 0);
	TEST_EQ_INT(sip_out_hdr(&b, "Subject", SLICE_NULL), 0);
	TEST_EQ_INT(sip_out_hdr_cstr(&b, "Max-Forwards", "70"), 0);
	TEST_EQ_INT(sip_out_hdrf(&b, "CSeq", "%u %s", 42u, "NOTIFY"), 0);
	TEST_EQ_INT(sip_out_hdrf(&b, "X-Empty", "%s", ""), 0);
	return EXPECT(&b, "Event: certificate;id=7\r\n"
			  "Subject: \r\n"
			  "Max-Forwards: 70\r\n"
			  "CSeq: 42 NOTIFY\r\n"
			  "X-Empty: \r\n");
}

TEST(sip_out_hdr_refuses_injection)
{
	static const struct {
		const char *name;
		struct slice value;
	} v[] = {
		{"Subject", SLICE_LIT("hi\r\nIdentity: forged")},
		{"Subject", SLICE_LIT("hi\nVia: x")},
		{"Subject", SLICE_LIT("hi\r")},
		{"Subject", SLICE_LIT("a\0b")},
		{"Subject", {NULL, 3}},
		{"Bad Name", SLICE_LIT("v")},
		{"Bad:Name", SLICE_LIT("v")},
		{"Bad\r\nName", SLICE_LIT("v")},
		{"", SLICE_LIT("v")},
		{NULL, SLICE_LIT("v")},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct buf b;
		int rc, rc_cstr, rc_f;
		size_t len;

		buf_init(&b, 1024);
		TEST_EQ_INT(sip_out_hdr_cstr(&b, "To", "<sip:a@b>"), 0);
		len = b.len;
		rc = sip_out_hdr(&b, v[i].name, v[i].value);
		TEST_EQ_INT(b.len, len); /* nothing of the field written */
		buf_reset(&b);
		rc_cstr =
			v[i].value.p && !memchr(v[i].value.p, 0, v[i].value.len)
				? sip_out_hdr_cstr(&b, v[i].name, v[i].value.p)
				: -EINVAL;
		buf_reset(&b);
		/* a value only known after formatting is taken back out */
		TEST_EQ_INT(sip_out_hdr_cstr(&b, "To", "<sip:a@b>"), 0);
		rc_f = sip_out_hdrf(&b, v[i].name, "%.*s", (int)v[i].value.len,
				    v[i].value.p ? v[i].value.p : "xyz");
		if (rc_f)
			TEST_EQ_INT(b.len, len);
		buf_fini(&b);
		TEST_EQ_INT(rc, -EINVAL);
		TEST_EQ_INT(rc_cstr, -EINVAL);
		/* "a\0b" prints as "a" and {NULL,3} as "xyz": both fine
		 * once formatted, when the name is a token */
		if (i == 3 || i == 4)
			TEST_EQ_INT(rc_f, 0);
		else
			TEST_EQ_INT(rc_f, -EINVAL);
	}
	return 0;
}

TEST(sip_out_hdr_cstr_refuses_null_value)
{
	struct buf b;
	int rc;

	buf_init(&b, 1024);
	rc = sip_out_hdr_cstr(&b, "Subject", NULL);
	TEST_EQ_INT(b.err, -EINVAL);
	buf_fini(&b);
	TEST_EQ_INT(rc, -EINVAL);
	TEST_EQ_INT(sip_out_hdr_cstr(NULL, "Subject", "x"), -EINVAL);
	TEST_EQ_INT(sip_out_hdr(NULL, "Subject", SLICE_LIT("x")), -EINVAL);
	TEST_EQ_INT(sip_out_hdrf(NULL, "Subject", "x"), -EINVAL);
	TEST_EQ_INT(sip_out_request_line(NULL, "A", SLICE_LIT("sip:a")),
		    -EINVAL);
	TEST_EQ_INT(sip_out_status_line(NULL, 200, NULL), -EINVAL);
	TEST_EQ_INT(sip_out_body(NULL, NULL, SLICE_NULL), -EINVAL);
	TEST_EQ_INT(sip_out_reply_start(NULL, NULL, 200, NULL, NULL), -EINVAL);
	return 0;
}

TEST(sip_out_body_exact_and_binary_safe)
{
	static const char bin[] = "\0\x01\r\n\r\n\xff";
	struct buf b;
	int rc;

	buf_init(&b, 1024);
	TEST_EQ_INT(sip_out_body(&b, "application/pkix-cert",
				 slice_of(bin, sizeof(bin) - 1)),
		    0);
	TEST_EQ_INT(EXPECT(&b, "Content-Type: application/pkix-cert\r\n"
			       "Content-Length: 7\r\n"
			       "\r\n"
			       "\0\x01\r\n\r\n\xff"),
		    0);

	buf_init(&b, 1024);
	TEST_EQ_INT(sip_out_body(&b, NULL, SLICE_NULL), 0);
	TEST_EQ_INT(EXPECT(&b, "Content-Length: 0\r\n\r\n"), 0);

	buf_init(&b, 1024);
	rc = sip_out_body(&b, "text/plain\r\nX: y", SLICE_LIT("x"));
	TEST_EQ_INT(b.len, 0);
	buf_fini(&b);
	TEST_EQ_INT(rc, -EINVAL);

	buf_init(&b, 1024);
	rc = sip_out_body(&b, NULL, slice_of(NULL, 4));
	buf_fini(&b);
	TEST_EQ_INT(rc, -EINVAL);
	return 0;
}

TEST(sip_out_cap_is_sticky)
{
	struct buf b;
	int rc1, rc2, rc3;

	buf_init(&b, 20);
	rc1 = sip_out_status_line(&b, 200, NULL);
	rc2 = sip_out_hdr_cstr(&b, "Call-ID", "longer-than-the-cap");
	rc3 = sip_out_body(&b, NULL, SLICE_NULL);
	buf_fini(&b);
	TEST_EQ_INT(rc1, 0);
	TEST_EQ_INT(rc2, -EMSGSIZE);
	TEST_EQ_INT(rc3, -EMSGSIZE);
	return 0;
}

/* Two Via fields, the second with two values folded over two lines,
 * compact names, a To without tag. */
static const char register_req[] =
	"REGISTER sip:registrar.example.test SIP/2.0\r\n"
	"Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bKnashds7\r\n"
	"v: SIP/2.0/TCP proxy.example.test;branch=z9hG4bK77ef,\r\n"
	" SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
	"Max-Forwards: 70\r\n"
	"t: Bob <sip:bob@example.test>\r\n"
	"f: Bob <sip:bob@example.test>;tag=456248\r\n"
	"i: 843817637684230@998sdasdh09\r\n"
	"CSeq: 1826 REGISTER\r\n"
	"Contact: <sip:bob@192.0.2.4>\r\n"
	"Expires: 7200\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static const char register_reply[] =
	"SIP/2.0 200 OK\r\n"
	"Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bKnashds7\r\n"
	"Via: SIP/2.0/TCP proxy.example.test;branch=z9hG4bK77ef,"
	" SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
	"From: Bob <sip:bob@example.test>;tag=456248\r\n"
	"To: Bob <sip:bob@example.test>;tag=as1\r\n"
	"Call-ID: 843817637684230@998sdasdh09\r\n"
	"CSeq: 1826 REGISTER\r\n";

static int decode(struct sip_msg **m, const char *text)
{
	return sip_msg_decode(m, text, strlen(text), 0, NULL);
}

TEST(sip_out_reply_start_copies_request_fields)
{
	struct sip_msg *m = NULL;
	struct buf b;
	int rc;

	TEST_EQ_INT(decode(&m, register_req), 0);
	buf_init(&b, 4096);
	rc = sip_out_reply_start(&b, m, 200, NULL, "as1");
	sip_msg_free(m);
	if (rc)
		buf_fini(&b);
	TEST_EQ_INT(rc, 0);
	return EXPECT(&b, register_reply);
}

TEST(sip_out_reply_start_keeps_an_existing_to_tag)
{
	static const char req[] =
		"OPTIONS sip:bob@example.test SIP/2.0\r\n"
		"Via: SIP/2.0/UDP h.example.test;branch=z9hG4bK2\r\n"
		"To: <sip:bob@example.test>;tag=theirs\r\n"
		"From: <sip:a@example.test>;tag=1\r\n"
		"Call-ID: c1\r\n"
		"CSeq: 7 OPTIONS\r\n"
		"\r\n";
	struct sip_msg *m = NULL;
	struct buf b;
	int rc;

	TEST_EQ_INT(decode(&m, req), 0);
	buf_init(&b, 4096);
	rc = sip_out_reply_start(&b, m, 481, NULL, "ours");
	sip_msg_free(m);
	if (rc)
		buf_fini(&b);
	TEST_EQ_INT(rc, 0);
	return EXPECT(&b, "SIP/2.0 481 Call/Transaction Does Not Exist\r\n"
			  "Via: SIP/2.0/UDP h.example.test;branch=z9hG4bK2\r\n"
			  "From: <sip:a@example.test>;tag=1\r\n"
			  "To: <sip:bob@example.test>;tag=theirs\r\n"
			  "Call-ID: c1\r\n"
			  "CSeq: 7 OPTIONS\r\n");
}

TEST(sip_out_reply_start_without_tag)
{
	struct sip_msg *m = NULL;
	struct buf b;
	int rc;

	TEST_EQ_INT(decode(&m, register_req), 0);
	buf_init(&b, 4096);
	rc = sip_out_reply_start(&b, m, 100, "Trying", NULL);
	sip_msg_free(m);
	if (rc)
		buf_fini(&b);
	TEST_EQ_INT(rc, 0);
	return EXPECT(
		&b, "SIP/2.0 100 Trying\r\n"
		    "Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bKnashds7\r\n"
		    "Via: SIP/2.0/TCP proxy.example.test;branch=z9hG4bK77ef,"
		    " SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n"
		    "From: Bob <sip:bob@example.test>;tag=456248\r\n"
		    "To: Bob <sip:bob@example.test>\r\n"
		    "Call-ID: 843817637684230@998sdasdh09\r\n"
		    "CSeq: 1826 REGISTER\r\n");
}

/* Every cap short of the whole reply fails with -EMSGSIZE, never with a
 * half-written success. */
TEST(sip_out_reply_start_every_cap)
{
	struct sip_msg *m = NULL;
	size_t full = sizeof(register_reply) - 1;

	TEST_EQ_INT(decode(&m, register_req), 0);
	for (size_t cap = 0; cap <= full; cap++) {
		struct buf b;
		int rc;

		buf_init(&b, cap);
		rc = sip_out_reply_start(&b, m, 200, NULL, "as1");
		buf_fini(&b);
		if (rc != (cap < full ? -EMSGSIZE : 0)) {
			TEST_FAIL_AT("cap %zu gave %d", cap, rc);
			sip_msg_free(m);
			return -1;
		}
	}
	sip_msg_free(m);
	return 0;
}

TEST(sip_out_reply_start_refuses_misuse)
{
	static const char resp[] = "SIP/2.0 200 OK\r\n"
				   "Via: SIP/2.0/UDP h;branch=z9hG4bK3\r\n"
				   "To: <sip:bob@example.test>;tag=x\r\n"
				   "From: <sip:a@example.test>;tag=1\r\n"
				   "Call-ID: c1\r\n"
				   "CSeq: 7 OPTIONS\r\n"
				   "\r\n";
	struct sip_msg *req = NULL, *rsp = NULL;
	struct buf b;
	int rc_resp, rc_null, rc_tag, rc_status;

	TEST_EQ_INT(decode(&req, register_req), 0);
	if (decode(&rsp, resp)) {
		sip_msg_free(req);
		return -1;
	}
	buf_init(&b, 4096);
	rc_resp = sip_out_reply_start(&b, rsp, 200, NULL, NULL);
	buf_reset(&b);
	rc_null = sip_out_reply_start(&b, NULL, 200, NULL, NULL);
	buf_reset(&b);
	rc_tag = sip_out_reply_start(&b, req, 200, NULL, "a;b");
	buf_reset(&b);
	rc_status = sip_out_reply_start(&b, req, 42, NULL, NULL);
	buf_fini(&b);
	sip_msg_free(req);
	sip_msg_free(rsp);
	TEST_EQ_INT(rc_resp, -EINVAL);
	TEST_EQ_INT(rc_null, -EINVAL);
	TEST_EQ_INT(rc_tag, -EINVAL);
	TEST_EQ_INT(rc_status, -EINVAL);
	return 0;
}

TEST(sip_reason_phrase_table)
{
	static const struct {
		unsigned code;
		const char *text;
	} v[] = {
		{100, "Trying"},
		{180, "Ringing"},
		{181, "Call Is Being Forwarded"},
		{182, "Queued"},
		{183, "Session Progress"},
		{199, "Early Dialog Terminated"},
		{200, "OK"},
		{202, "Accepted"},
		{204, "No Notification"},
		{300, "Multiple Choices"},
		{301, "Moved Permanently"},
		{302, "Moved Temporarily"},
		{305, "Use Proxy"},
		{380, "Alternative Service"},
		{400, "Bad Request"},
		{401, "Unauthorized"},
		{402, "Payment Required"},
		{403, "Forbidden"},
		{404, "Not Found"},
		{405, "Method Not Allowed"},
		{406, "Not Acceptable"},
		{407, "Proxy Authentication Required"},
		{408, "Request Timeout"},
		{410, "Gone"},
		{412, "Conditional Request Failed"},
		{413, "Request Entity Too Large"},
		{414, "Request-URI Too Long"},
		{415, "Unsupported Media Type"},
		{416, "Unsupported URI Scheme"},
		{417, "Unknown Resource-Priority"},
		{420, "Bad Extension"},
		{421, "Extension Required"},
		{423, "Interval Too Brief"},
		{428, "Use Identity Header"},
		{429, "Provide Referrer Identity"},
		{433, "Anonymity Disallowed"},
		{436, "Bad Identity-Info"},
		{437, "Unsupported Certificate"},
		{438, "Invalid Identity Header"},
		{470, "Consent Needed"},
		{480, "Temporarily Unavailable"},
		{481, "Call/Transaction Does Not Exist"},
		{482, "Loop Detected"},
		{483, "Too Many Hops"},
		{484, "Address Incomplete"},
		{485, "Ambiguous"},
		{486, "Busy Here"},
		{487, "Request Terminated"},
		{488, "Not Acceptable Here"},
		{489, "Bad Event"},
		{491, "Request Pending"},
		{493, "Undecipherable"},
		{494, "Security Agreement Required"},
		{500, "Server Internal Error"},
		{501, "Not Implemented"},
		{502, "Bad Gateway"},
		{503, "Service Unavailable"},
		{504, "Server Time-out"},
		{505, "Version Not Supported"},
		{513, "Message Too Large"},
		{600, "Busy Everywhere"},
		{603, "Decline"},
		{604, "Does Not Exist Anywhere"},
		{606, "Not Acceptable"},
		/* unknown codes: the class (RFC 3261 §8.1.3.2) */
		{101, "Provisional"},
		{299, "Successful"},
		{399, "Redirection"},
		{499, "Request Failure"},
		{599, "Server Failure"},
		{699, "Global Failure"},
		{0, "Unknown"},
		{99, "Unknown"},
		{700, "Unknown"},
		{65535, "Unknown"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		TEST_EQ_STR(sip_reason_phrase(v[i].code), v[i].text);
	return 0;
}

/* A message built by hand, as the decoder never lets a stray line break
 * through: folds lose their line break, anything else is refused. */
static int reply_of(struct sip_hdr *hdrs, size_t n, struct buf *b)
{
	struct sip_msg m;

	memset(&m, 0, sizeof(m));
	m.is_request = true;
	m.hdrs = hdrs;
	m.n_hdrs = n;
	return sip_out_reply_start(b, &m, 200, NULL, NULL);
}

TEST(sip_out_reply_start_unfolds_and_refuses_stray_breaks)
{
	static const struct {
		const char *via;
		int rc;
		const char *out; /* the Via line */
	} v[] = {
		{"a\r\n\tb", 0, "Via: a\tb\r\n"},
		{"a\n  b\r\n c", 0, "Via: a  b c\r\n"},
		{"a\rb", -EBADMSG, NULL},
		{"a\r\nb", -EBADMSG, NULL},
		{"a\nb", -EBADMSG, NULL},
		{"a\r\n", -EBADMSG, NULL},
		{"a\r", -EBADMSG, NULL},
	};
	struct sip_hdr hdrs[] = {
		{SIP_HDR_VIA, SLICE_LIT("Via"), SLICE_NULL},
		{SIP_HDR_FROM, SLICE_LIT("From"), SLICE_LIT("<sip:a@b>;tag=1")},
		{SIP_HDR_TO, SLICE_LIT("To"), SLICE_LIT("<sip:c@d>")},
		{SIP_HDR_CALL_ID, SLICE_LIT("Call-ID"), SLICE_LIT("x")},
		{SIP_HDR_CSEQ, SLICE_LIT("CSeq"), SLICE_LIT("1 MESSAGE")},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct buf b;
		int rc;
		bool found;

		hdrs[0].value = slice_cstr(v[i].via);
		buf_init(&b, 1024);
		rc = reply_of(hdrs, ARRAY_SIZE(hdrs), &b);
		found = v[i].out && b.len &&
			memmem(b.p, b.len, v[i].out, strlen(v[i].out));
		buf_fini(&b);
		TEST_EQ_INT(rc, v[i].rc);
		if (!rc)
			TEST_ASSERT(found);
	}
	return 0;
}

TEST(sip_out_reply_start_needs_the_mandatory_fields)
{
	struct sip_hdr hdrs[] = {
		{SIP_HDR_VIA, SLICE_LIT("Via"), SLICE_LIT("SIP/2.0/UDP h")},
		{SIP_HDR_FROM, SLICE_LIT("From"), SLICE_LIT("<sip:a@b>;tag=1")},
		{SIP_HDR_TO, SLICE_LIT("To"), SLICE_LIT("<sip:c@d>")},
		{SIP_HDR_CALL_ID, SLICE_LIT("Call-ID"), SLICE_LIT("x")},
		{SIP_HDR_CSEQ, SLICE_LIT("CSeq"), SLICE_LIT("1 MESSAGE")},
	};

	/* drop each one in turn: the reply cannot be built without it */
	for (size_t i = 0; i <= ARRAY_SIZE(hdrs); i++) {
		struct sip_hdr some[ARRAY_SIZE(hdrs)];
		size_t n = 0;
		struct buf b;
		int rc;

		for (size_t j = 0; j < ARRAY_SIZE(hdrs); j++)
			if (j != i)
				some[n++] = hdrs[j];
		buf_init(&b, 1024);
		rc = reply_of(some, n, &b);
		buf_fini(&b);
		TEST_EQ_INT(rc, i < ARRAY_SIZE(hdrs) ? -EINVAL : 0);
	}
	return 0;
}
