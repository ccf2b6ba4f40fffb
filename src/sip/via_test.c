/* SPDX-License-Identifier: BSD-3-Clause */
/* Via (RFC 3261 §20.42), addresses (§20.10, §20.20) and the scalar
 * headers (§20.14, §20.16, §20.22, §20.33, §20.43). */
#include "test.h"

#include "sip/sip.h"

TEST(sip_via_forms)
{
	struct sip_via v;

	TEST_EQ_INT(sip_via_parse(SLICE_LIT("SIP / 2.0 / UDP first.example.com:"
					    "4000;ttl=16;maddr=224.2.0.1 ;"
					    "branch=z9hG4bKa7c6a8dlze.1"),
				  &v),
		    0);
	TEST_EQ_SLICE(v.transport, "UDP");
	TEST_EQ_SLICE(v.host, "first.example.com");
	TEST_EQ_INT(v.port, 4000);
	TEST_EQ_SLICE(v.branch, "z9hG4bKa7c6a8dlze.1");
	TEST_EQ_INT(sip_via_parse(SLICE_LIT("SIP/2.0/TLS [2001:db8::9]:5061"
					    ";rport=5061;received=2001:db8::9"),
				  &v),
		    0);
	TEST_EQ_INT(v.host_type, SIP_HOST_IPV6);
	TEST_EQ_SLICE(v.rport, "5061");
	TEST_EQ_SLICE(v.received, "2001:db8::9");
	TEST_EQ_INT(sip_via_parse(SLICE_LIT("SIP/2.0/UDP 255.255.255.255"), &v),
		    0);
	TEST_EQ_INT(v.host_type, SIP_HOST_IPV4);
	return 0;
}

TEST(sip_via_refusals)
{
	static const char *const bad[] = {
		"SIP/2.0/UDP 192.0.2.15;;",
		"SIP/2.0/UDP",
		"SIP/2.0 UDP host",
		"SIP/2.0/UDP host:70000",
		"SIP/2.0/UDP 1.2.3.256",
		"SIP/2.0/UDP host;branch=",
		"SIP/2.0/UDP host;branch=a;branch=b",
		"SIP/2.0/UDP host;rport=x",
		"SIP/2.0/UDP [::1",
		"SIP/2.0/UDP host junk",
	};
	struct sip_via v;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (sip_via_parse(slice_cstr(bad[i]), &v) != -EBADMSG) {
			TEST_FAIL_AT("accepted: %s", bad[i]);
			return -1;
		}
	return 0;
}

TEST(sip_addr_forms)
{
	struct sip_addr a;

	TEST_EQ_INT(sip_addr_parse(SLICE_LIT("\"Bob \\\"B\\\"\"<sip:bob@b.test>"
					     ";tag=x1"),
				   &a),
		    0);
	TEST_ASSERT(a.display_quoted);
	TEST_EQ_SLICE(a.tag, "x1");
	TEST_EQ_INT(
		sip_addr_parse(SLICE_LIT("Joe  Blow <sips:joe@b.test>"), &a),
		0);
	TEST_EQ_SLICE(a.display, "Joe  Blow");
	TEST_EQ_INT(a.uri.scheme, SIP_URI_SIPS);
	/* without <>, ;params belong to the header, not the URI */
	TEST_EQ_INT(sip_addr_parse(SLICE_LIT("sip:c@b.test;tag=99"), &a), 0);
	TEST_ASSERT(!a.display.p);
	TEST_EQ_SLICE(a.uri_s, "sip:c@b.test");
	TEST_EQ_SLICE(a.tag, "99");
	TEST_EQ_INT(sip_contact_parse(SLICE_LIT("*"), &a), 0);
	TEST_ASSERT(a.is_star);
	TEST_EQ_INT(sip_contact_parse(SLICE_LIT("<sip:a@b.test>;q=0.7;"
						"expires=3600"),
				      &a),
		    0);
	TEST_EQ_INT(sip_addr_parse(SLICE_LIT("<tel:+1-201-555-0123>"), &a), 0);
	TEST_EQ_INT(a.uri.scheme, SIP_URI_TEL);
	return 0;
}

TEST(sip_addr_refusals)
{
	static const char *const bad[] = {
		"Bell, Alexander <sip:a.g.bell@bell-tel.com>",
		"\"Watson, Thomas\" < sip:t.watson@example.org >",
		"\"unterminated <sip:a@b.test>",
		"sip:user@example.com?Route=%3Csip:sip.example.com%3E",
		"<sip:a@b.test>;tag=",
		"<sip:a@b.test>;tag=a;tag=b",
		"<sip:a@b.test",
		"\"x\" sip:a@b.test",
	};
	static const char *const bad_contacts[] = {
		"<sip:a@b.test>;expires=280297596632815",
		"<sip:a@b.test>;q=1.5",
		"<sip:a@b.test>;q=0.1234",
		"<sip:a@b.test>;;;",
	};
	struct sip_addr a;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (sip_addr_parse(slice_cstr(bad[i]), &a) != -EBADMSG) {
			TEST_FAIL_AT("accepted: %s", bad[i]);
			return -1;
		}
	for (size_t i = 0; i < ARRAY_SIZE(bad_contacts); i++)
		if (sip_contact_parse(slice_cstr(bad_contacts[i]), &a) !=
		    -EBADMSG) {
			TEST_FAIL_AT("accepted: %s", bad_contacts[i]);
			return -1;
		}
	return 0;
}

TEST(sip_scalar_headers)
{
	struct sip_cseq c;
	struct sip_warning w;
	uint32_t u;

	TEST_EQ_INT(sip_cseq_parse(SLICE_LIT("0009 \r\n INVITE"), &c), 0);
	TEST_EQ_INT(c.num, 9);
	TEST_EQ_INT(c.method_id, SIP_METHOD_INVITE);
	TEST_EQ_INT(sip_cseq_parse(SLICE_LIT("9"), &c), -EBADMSG);
	TEST_EQ_INT(sip_cseq_parse(SLICE_LIT("-1 INVITE"), &c), -EBADMSG);
	TEST_EQ_INT(sip_max_forwards_parse(SLICE_LIT("0068"), &u), 0);
	TEST_EQ_INT(u, 68);
	TEST_EQ_INT(sip_delta_parse(SLICE_LIT("4294967295"), &u), 0);
	TEST_EQ_INT(sip_delta_parse(SLICE_LIT("4294967296"), &u), -EBADMSG);
	TEST_EQ_INT(sip_content_length_parse(SLICE_LIT("-999"), &u), -EBADMSG);
	TEST_EQ_INT(sip_callid_parse(SLICE_LIT("f81d4fae@[2001:db8::1]")), 0);
	TEST_EQ_INT(sip_callid_parse(SLICE_LIT("a b")), -EBADMSG);
	TEST_EQ_INT(sip_callid_parse(SLICE_LIT("a@")), -EBADMSG);
	TEST_EQ_INT(sip_retry_after_parse(SLICE_LIT("18000;duration=3600"), &u),
		    0);
	TEST_EQ_INT(u, 18000);
	TEST_EQ_INT(sip_retry_after_parse(SLICE_LIT("120 (I'm in a (meeting))"),
					  &u),
		    0);
	TEST_EQ_INT(sip_retry_after_parse(SLICE_LIT("10 (open"), &u), -EBADMSG);
	TEST_EQ_INT(sip_warning_parse(SLICE_LIT("399 sipcert.test "
						"\"Certificate expired\""),
				      &w),
		    0);
	TEST_EQ_INT(w.code, 399);
	TEST_EQ_SLICE(w.text, "Certificate expired");
	TEST_EQ_INT(sip_warning_parse(SLICE_LIT("1812 h \"x\""), &w), -EBADMSG);
	return 0;
}

TEST(sip_params_find_and_next)
{
	struct slice v;
	struct scan s = scan_of(SLICE_LIT(" ; a = \"q, x\" ;b;c=[::1] , d"));
	struct slice n;

	TEST_EQ_INT(sip_param_find(SLICE_LIT(";lr;Tag=abc"), "tag", &v), 0);
	TEST_EQ_SLICE(v, "abc");
	TEST_EQ_INT(sip_param_find(SLICE_LIT(";lr;tag=abc"), "lr", &v), 0);
	TEST_EQ_INT(v.len, 0);
	TEST_EQ_INT(sip_param_find(SLICE_LIT(";lr"), "maddr", &v), -ENOENT);
	TEST_EQ_INT(sip_param_next(&s, &n, &v), 0);
	TEST_EQ_SLICE(n, "a");
	TEST_EQ_SLICE(sip_unquote(v), "q, x");
	TEST_EQ_INT(sip_param_next(&s, &n, &v), 0);
	TEST_EQ_SLICE(n, "b");
	TEST_EQ_INT(sip_param_next(&s, &n, &v), 0);
	TEST_EQ_SLICE(v, "[::1]");
	TEST_EQ_INT(sip_param_next(&s, &n, &v), -ENOENT);
	return 0;
}
