/* SPDX-License-Identifier: BSD-3-Clause */
/* RFC 4474 §9 digest-string: the Appendix B INVITE and BYE byte-exact,
 * each part's normalisation, required parts, caps and truncation. */
#include "identity/testutil.h"

/* ---- RFC 4474 Appendix B ------------------------------------------------- */

TEST(identity_canon_rfc_invite_body_slice)
{
	struct sip_msg *m = NULL;
	struct buf out;
	char *data = NULL;
	size_t len;
	const char *hdr_end;
	struct slice body;
	int rc = -1;

	buf_init(&out, 4096);
	TEST_ASSERT(!rfc_read("invite.message", &data, &len));
	/* as published: Content-Length 147, body 172; as a datagram the
	 * decoder keeps 147 octets, so the signed body is passed apart */
	if (sip_msg_decode(&m, data, len, SIP_DECODE_DATAGRAM, NULL))
		goto out;
	if (m->body.len != 147)
		goto out;
	hdr_end = memmem(data, len, "\r\n\r\n", 4);
	if (!hdr_end)
		goto out;
	body = slice_of(hdr_end + 4, len - (size_t)(hdr_end + 4 - data));
	if (body.len != 172)
		goto out;
	if (identity_digest_string_body(m, body, &out) ||
	    !rfc_equals("invite.canonical", out.p, out.len))
		goto out;
	/* and over the 147 octets Content-Length claims, it differs */
	buf_reset(&out);
	if (identity_digest_string(m, &out) ||
	    rfc_equals("invite.canonical", out.p, out.len))
		goto out;
	rc = 0;
out:
	buf_fini(&out);
	sip_msg_free(m);
	mem_free(data);
	return rc;
}

TEST(identity_canon_rfc_invite)
{
	struct sip_msg *m = NULL;
	struct buf out;
	int rc = -1;

	buf_init(&out, 4096);
	if (rfc_msg("invite.message", &m) || identity_digest_string(m, &out))
		goto out;
	if (!rfc_equals("invite.canonical", out.p, out.len))
		goto out;
	/* the signed form decodes to the same digest-string: Identity and
	 * Identity-Info are not in it */
	sip_msg_free(m);
	m = NULL;
	buf_reset(&out);
	if (rfc_msg("invite.identity", &m) || identity_digest_string(m, &out))
		goto out;
	rc = rfc_equals("invite.canonical", out.p, out.len) ? 0 : -1;
out:
	buf_fini(&out);
	sip_msg_free(m);
	return rc;
}

TEST(identity_canon_rfc_bye)
{
	struct sip_msg *m = NULL;
	struct buf out;
	const char *bad = NULL;
	int rc = -1;

	buf_init(&out, 4096);
	/* bye.message as published has no Date, which §9 requires: the
	 * RFC computed bye.canonical from bye.identity, which has one */
	if (rfc_msg("bye.message", &m))
		goto out;
	if (identity_digest_print(&out, m, m->body, &bad) != -EBADMSG || !bad ||
	    strcmp(bad, "Date") || out.len || out.err)
		goto out;
	sip_msg_free(m);
	m = NULL;
	if (rfc_msg("bye.identity", &m) || identity_digest_string(m, &out))
		goto out;
	/* no Contact and no body: "||" at the end */
	rc = rfc_equals("bye.canonical", out.p, out.len) ? 0 : -1;
out:
	buf_fini(&out);
	sip_msg_free(m);
	return rc;
}

/* ---- each part ----------------------------------------------------------- */

/* The digest-string of a request built from header lines and a body. */
static int digest_of(const char *hdrs, const char *body, struct buf *out,
		     const char **bad)
{
	struct sip_msg *m = NULL;
	struct buf msg;
	int err;

	buf_init(&msg, 8192);
	buf_printf(&msg,
		   "INVITE sip:bob@biloxi.example.org SIP/2.0\r\n"
		   "Via: SIP/2.0/TLS h.example.com;branch=z9hG4bK1\r\n"
		   "%sContent-Length: %zu\r\n\r\n%s",
		   hdrs, strlen(body), body);
	err = msg.err;
	if (!err)
		err = sip_msg_decode(&m, msg.p, msg.len, 0, NULL);
	if (!err)
		err = identity_digest_print(out, m, m->body, bad);
	sip_msg_free(m);
	buf_fini(&msg);
	return err;
}

#define BASE_FROM "From: Alice <sip:alice@a.example.com>;tag=1\r\n"
#define BASE_TO	  "To: <sip:bob@b.example.org>\r\n"
#define BASE_ID	  "Call-ID: c1@h\r\n"
#define BASE_CSEQ "CSeq: 7 INVITE\r\n"
#define BASE_DATE "Date: Thu, 21 Feb 2002 13:02:03 GMT\r\n"

static int digest_is(const char *hdrs, const char *body, const char *want)
{
	struct buf out;
	int rc = -1;

	buf_init(&out, 8192);
	if (digest_of(hdrs, body, &out, NULL))
		goto out;
	if (!slice_eq(buf_slice(&out), slice_cstr(want))) {
		fprintf(stderr, "    got \"%.*s\"\n    want \"%s\"\n",
			SLICE_FMT(buf_slice(&out)), want);
		goto out;
	}
	rc = 0;
out:
	buf_fini(&out);
	return rc;
}

static int digest_fails(const char *hdrs, const char *what)
{
	struct buf out;
	const char *bad = NULL;
	int rc = -1;

	buf_init(&out, 8192);
	if (digest_of(hdrs, "", &out, &bad) != -EBADMSG || !bad ||
	    strcmp(bad, what) || out.len) {
		fprintf(stderr, "    %s: bad part \"%s\"\n", what,
			bad ? bad : "(none)");
		goto out;
	}
	rc = 0;
out:
	buf_fini(&out);
	return rc;
}

TEST(identity_canon_parts)
{
	/* the minimal request: no Contact, no body */
	TEST_ASSERT(
		!digest_is(BASE_FROM BASE_TO BASE_ID BASE_CSEQ BASE_DATE, "",
			   "sip:alice@a.example.com|sip:bob@b.example.org|"
			   "c1@h|7 INVITE|Thu, 21 Feb 2002 13:02:03 GMT||"));
	/* addr-spec forms: no brackets, quoted display name, URI params
	 * kept, header params dropped; CSeq LWS normalised, its digits kept; a
	 * folded CSeq; Contact with header params and a second contact */
	TEST_ASSERT(!digest_is(
		"From: sip:alice@a.example.com;tag=9\r\n"
		"To: \"Bob B\" <sip:bob@b.example.org;transport=tls>;x=1\r\n"
		"Call-ID: c1\r\n"
		"CSeq:   007\r\n \t INVITE\r\n" BASE_DATE
		"Contact: <sip:a@h.example.com:5061>;expires=60, <sip:z@z>\r\n",
		"v=0\r\n",
		"sip:alice@a.example.com|sip:bob@b.example.org;transport=tls|"
		"c1|007 INVITE|Thu, 21 Feb 2002 13:02:03 GMT|"
		"sip:a@h.example.com:5061|v=0\r\n"));
	/* compact header names count the same */
	TEST_ASSERT(!digest_is(
		"f: <sip:a@a>\r\nt: <sip:b@b>\r\ni: x\r\n" BASE_CSEQ BASE_DATE
		"m: sip:c@c\r\n",
		"|",
		"sip:a@a|sip:b@b|x|7 INVITE|"
		"Thu, 21 Feb 2002 13:02:03 GMT|sip:c@c||"));
	return 0;
}

TEST(identity_canon_required)
{
	TEST_ASSERT(!digest_fails(BASE_FROM BASE_TO BASE_ID BASE_CSEQ, "Date"));
	TEST_ASSERT(!digest_fails(BASE_FROM BASE_TO BASE_ID BASE_CSEQ
				  "Date: Thu, 21 Feb 2002 13:02:03 UTC\r\n",
				  "Date"));
	/* 21 Feb 2002 was a Thursday */
	TEST_ASSERT(!digest_fails(BASE_FROM BASE_TO BASE_ID BASE_CSEQ
				  "Date: Fri, 21 Feb 2002 13:02:03 GMT\r\n",
				  "Date"));
	TEST_ASSERT(!digest_fails(BASE_FROM BASE_TO BASE_ID BASE_CSEQ BASE_DATE
				  "Contact: *\r\n",
				  "Contact addr-spec"));
	TEST_ASSERT(!digest_fails(BASE_FROM BASE_TO BASE_ID BASE_CSEQ BASE_DATE
				  "Contact: <sip:a@b\r\n",
				  "Contact addr-spec"));
	return 0;
}

/* The decoder refuses a request without From, To, Call-ID or CSeq, so
 * the digest's own checks are reached through a message emptied by
 * hand (a message built by other code could lack them). */
TEST(identity_canon_required_eager)
{
	static const char *const what[] = {"From addr-spec", "To addr-spec",
					   "Call-ID", "CSeq"};
	struct sip_msg *m = NULL;
	struct buf out, msg;
	int rc = -1;

	buf_init(&out, 4096);
	buf_init(&msg, 4096);
	for (size_t i = 0; i < ARRAY_SIZE(what); i++) {
		const char *bad = NULL;

		sip_msg_free(m);
		m = NULL;
		if (rfc_msg("invite.message", &m))
			goto out;
		if (i == 0)
			m->from.uri_s = SLICE_NULL;
		else if (i == 1)
			m->to.uri_s = SLICE_NULL;
		else if (i == 2)
			m->call_id = SLICE_NULL;
		else
			m->cseq.method = SLICE_NULL;
		if (identity_digest_print(&out, m, m->body, &bad) != -EBADMSG ||
		    !bad || strcmp(bad, what[i]) || out.len) {
			TEST_FAIL_AT("%s not reported", what[i]);
			goto out;
		}
	}
	rc = 0;
out:
	sip_msg_free(m);
	buf_fini(&msg);
	buf_fini(&out);
	return rc;
}

TEST(identity_canon_args_and_cap)
{
	struct sip_msg *m = NULL;
	struct buf out;
	int rc = -1;

	buf_init(&out, 100);
	if (rfc_msg("invite.message", &m))
		goto out;
	if (identity_digest_string(NULL, &out) != -EINVAL ||
	    identity_digest_string(m, NULL) != -EINVAL ||
	    identity_digest_string_body(m, slice_of(NULL, 3), &out) != -EINVAL)
		goto out;
	/* 100 bytes cannot hold the 323-byte digest-string: the cap is
	 * reported and the buffer left as it was, reusable */
	if (buf_append_cstr(&out, "keep") ||
	    identity_digest_string(m, &out) != -EMSGSIZE || out.len != 4 ||
	    out.err || memcmp(out.p, "keep", 4))
		goto out;
	/* an empty explicit body gives an empty last part */
	buf_fini(&out);
	buf_init(&out, 4096);
	if (identity_digest_string_body(m, SLICE_NULL, &out) ||
	    out.p[out.len - 1] != '|')
		goto out;
	/* a buffer already in error is refused untouched */
	out.err = -ENOMEM;
	if (identity_digest_string(m, &out) != -ENOMEM)
		goto out;
	rc = 0;
out:
	buf_fini(&out);
	sip_msg_free(m);
	return rc;
}

/* Every strict prefix of the signed INVITE that still decodes gives a
 * digest-string or -EBADMSG, never a crash or a read past the message. */
TEST(identity_canon_truncation)
{
	char *data = NULL;
	size_t len;
	struct buf out;
	int rc = -1;

	buf_init(&out, 4096);
	TEST_ASSERT(!rfc_read("invite.identity", &data, &len));
	for (size_t n = 0; n < len; n++) {
		struct sip_msg *m = NULL;
		int err;

		if (sip_msg_decode(&m, data, n, SIP_DECODE_DATAGRAM, NULL))
			continue;
		buf_reset(&out);
		err = identity_digest_string(m, &out);
		sip_msg_free(m);
		if (err && err != -EBADMSG)
			goto out;
	}
	rc = 0;
out:
	buf_fini(&out);
	mem_free(data);
	return rc;
}
