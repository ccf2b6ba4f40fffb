/* SPDX-License-Identifier: BSD-3-Clause */
/* URIs: RFC 3261 §19.1 and §25.1 grammar, §19.1.4 comparison with all its
 * examples, RFC 3966 tel:, sipsec:, escapes (RFC 4475 §3.1.1.3-4, §3.1.1.9)
 * and the AOR normal form. */
#include "test.h"

#include "sip/sip.h"

static int parse(const char *s, struct sip_uri *u)
{
	return sip_uri_parse(slice_cstr(s), u);
}

/* Every string of list parses (want_ok) or is refused with -EBADMSG. */
static int check_all(const char *const *list, size_t n, bool want_ok)
{
	for (size_t i = 0; i < n; i++) {
		struct sip_uri u;
		int rc = parse(list[i], &u);

		if (want_ok ? rc != 0 : rc != -EBADMSG) {
			TEST_FAIL_AT("%s: %s gave %d",
				     want_ok ? "refused" : "accepted", list[i],
				     rc);
			return -1;
		}
	}
	return 0;
}

#define ALL_OK(list)  check_all(list, ARRAY_SIZE(list), true)
#define ALL_BAD(list) check_all(list, ARRAY_SIZE(list), false)

/* 1 when a and b are equal both ways, 0 when unequal both ways, -1 when
 * either does not parse or the comparison is not symmetric. */
static int cmp(const char *a, const char *b)
{
	struct sip_uri x, y;
	bool ab, ba;

	if (parse(a, &x) || parse(b, &y)) {
		TEST_FAIL_AT("does not parse: %s or %s", a, b);
		return -1;
	}
	ab = sip_uri_equal(&x, &y);
	ba = sip_uri_equal(&y, &x);
	if (ab != ba) {
		TEST_FAIL_AT("asymmetric: %s vs %s", a, b);
		return -1;
	}
	if (!sip_uri_equal(&x, &x) || !sip_uri_equal(&y, &y)) {
		TEST_FAIL_AT("not reflexive: %s or %s", a, b);
		return -1;
	}
	return ab;
}

struct pair {
	const char *a;
	const char *b;
};

static int check_pairs(const struct pair *p, size_t n, int want)
{
	for (size_t i = 0; i < n; i++)
		if (cmp(p[i].a, p[i].b) != want) {
			TEST_FAIL_AT("expected %s: %s vs %s",
				     want ? "equal" : "unequal", p[i].a,
				     p[i].b);
			return -1;
		}
	return 0;
}

/* The AOR of uri is want (NULL: print_aor refuses with -EINVAL). */
static bool aor_is(const char *uri, const char *want)
{
	struct sip_uri u;
	struct buf b;
	int rc;
	bool ok;

	buf_init(&b, 4096);
	rc = parse(uri, &u);
	if (!rc)
		rc = sip_uri_print_aor(&b, &u);
	if (!want)
		ok = rc == -EINVAL;
	else
		ok = !rc && slice_eq(buf_slice(&b), slice_cstr(want));
	if (!ok)
		TEST_FAIL_AT("AOR of %s: rc %d \"%.*s\", expected %s", uri, rc,
			     SLICE_FMT(buf_slice(&b)), want ? want : "-EINVAL");
	buf_fini(&b);
	return ok;
}

/* ---- the grammar --------------------------------------------------------- */

TEST(sip_uri_basic_fields)
{
	struct sip_uri u;

	TEST_EQ_INT(parse("sip:alice@atlanta.com", &u), 0);
	TEST_EQ_INT(u.scheme, SIP_URI_SIP);
	TEST_EQ_SLICE(u.scheme_name, "sip");
	TEST_EQ_SLICE(u.user, "alice");
	TEST_ASSERT(!u.password.p);
	TEST_EQ_SLICE(u.host, "atlanta.com");
	TEST_EQ_INT(u.host_type, SIP_HOST_NAME);
	TEST_ASSERT(!u.has_port);
	TEST_EQ_INT(u.port, 0);
	TEST_ASSERT(!u.params.p);
	TEST_ASSERT(!u.headers.p);
	TEST_ASSERT(!u.rest.p);
	TEST_EQ_SLICE(u.whole, "sip:alice@atlanta.com");
	return 0;
}

TEST(sip_uri_every_component)
{
	struct sip_uri u;

	TEST_EQ_INT(parse("sips:alice:secretword@atlanta.com:5061;transport=tcp"
			  ";lr?subject=project%20x&priority=urgent",
			  &u),
		    0);
	TEST_EQ_INT(u.scheme, SIP_URI_SIPS);
	TEST_EQ_SLICE(u.user, "alice");
	TEST_EQ_SLICE(u.password, "secretword");
	TEST_EQ_SLICE(u.host, "atlanta.com");
	TEST_ASSERT(u.has_port);
	TEST_EQ_INT(u.port, 5061);
	TEST_EQ_SLICE(u.params, "transport=tcp;lr");
	TEST_EQ_SLICE(u.headers, "subject=project%20x&priority=urgent");
	return 0;
}

TEST(sip_uri_scheme_case_insensitive)
{
	struct sip_uri u;

	TEST_EQ_INT(parse("SIP:a@b.test", &u), 0);
	TEST_EQ_INT(u.scheme, SIP_URI_SIP);
	TEST_EQ_SLICE(u.scheme_name, "SIP");
	TEST_EQ_INT(parse("SiPs:a@b.test", &u), 0);
	TEST_EQ_INT(u.scheme, SIP_URI_SIPS);
	TEST_EQ_INT(parse("SIPSEC:a@b.test", &u), 0);
	TEST_EQ_INT(u.scheme, SIP_URI_SIPSEC);
	TEST_EQ_INT(parse("TEL:+1234", &u), 0);
	TEST_EQ_INT(u.scheme, SIP_URI_TEL);
	/* near misses are other schemes, checked as absoluteURI */
	TEST_EQ_INT(parse("sipx:a@b.test", &u), 0);
	TEST_EQ_INT(u.scheme, SIP_URI_OTHER);
	TEST_EQ_INT(parse("si:a@b.test", &u), 0);
	TEST_EQ_INT(u.scheme, SIP_URI_OTHER);
	return 0;
}

/* draft-gurbani-sip-sipsec-01 §6.2: same syntax as sip:, its own scheme */
TEST(sip_uri_sipsec)
{
	struct sip_uri u;

	TEST_EQ_INT(parse("sipsec:vkg@example.com", &u), 0);
	TEST_EQ_INT(u.scheme, SIP_URI_SIPSEC);
	TEST_EQ_SLICE(u.user, "vkg");
	TEST_EQ_SLICE(u.host, "example.com");
	TEST_EQ_INT(parse("sipsec:vkg@[2001:db8::1]:5061;transport=tls", &u),
		    0);
	TEST_EQ_INT(u.host_type, SIP_HOST_IPV6);
	TEST_EQ_INT(u.port, 5061);
	TEST_EQ_INT(parse("sipsec:", &u), -EBADMSG);
	TEST_EQ_INT(parse("sipsec:vkg@", &u), -EBADMSG);
	TEST_EQ_INT(cmp("sipsec:vkg@example.com", "sips:vkg@example.com"), 0);
	TEST_EQ_INT(cmp("sipsec:vkg@example.com", "sip:vkg@example.com"), 0);
	TEST_EQ_INT(cmp("sipsec:vkg@example.com", "SIPSEC:vkg@EXAMPLE.com"), 1);
	return 0;
}

TEST(sip_uri_host_only)
{
	struct sip_uri u;

	TEST_EQ_INT(parse("sip:example.com", &u), 0);
	TEST_ASSERT(!u.user.p);
	TEST_ASSERT(!u.password.p);
	TEST_EQ_SLICE(u.host, "example.com");
	TEST_EQ_INT(parse("sip:example.com:5060;lr", &u), 0);
	TEST_ASSERT(!u.user.p);
	TEST_EQ_INT(u.port, 5060);
	TEST_EQ_SLICE(u.params, "lr");
	TEST_EQ_INT(parse("sip:", &u), -EBADMSG);
	TEST_EQ_INT(parse("sip:@example.com", &u), -EBADMSG);
	TEST_EQ_INT(parse("sip::pw@example.com", &u), -EBADMSG);
	return 0;
}

/* RFC 4475 §3.1.1.2 (intmeth.dat): every user-unreserved character and a
 * password with its own set */
TEST(sip_uri_user_and_password_chars)
{
	struct sip_uri u;

	TEST_EQ_INT(parse("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/"
			  ";;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
			  "@example.com",
			  &u),
		    0);
	TEST_EQ_SLICE(u.user,
		      "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
	TEST_EQ_SLICE(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
	TEST_EQ_SLICE(u.host, "example.com");
	/* ';' and '?' before '@' belong to the user */
	TEST_EQ_INT(parse("sip:a?b=c@h.test", &u), 0);
	TEST_EQ_SLICE(u.user, "a?b=c");
	TEST_ASSERT(!u.headers.p);
	/* no parameter or header may hold a bare '@', so the only reading
	 * of these is a user with ';' or '?' in it */
	TEST_EQ_INT(parse("sip:h.test;a@b.test", &u), 0);
	TEST_EQ_SLICE(u.user, "h.test;a");
	TEST_EQ_SLICE(u.host, "b.test");
	TEST_ASSERT(!u.params.p);
	/* an empty password is present */
	TEST_EQ_INT(parse("sip:alice:@h.test", &u), 0);
	TEST_ASSERT(u.password.p);
	TEST_EQ_INT(u.password.len, 0);
	return 0;
}

TEST(sip_uri_user_and_password_refusals)
{
	static const char *const bad[] = {
		"sip:a[b@h.test",   "sip:a]b@h.test",	"sip:a{b@h.test",
		"sip:a|b@h.test",   "sip:a\\b@h.test",	"sip:a^b@h.test",
		"sip:a`b@h.test",   "sip:a#b@h.test",	"sip:a:b;c@h.test",
		"sip:a:b?c@h.test", "sip:a:b/c@h.test", "sip:a:b:c@h.test",
		"sip:a@b@h.test",   "sip:a:b@@h.test",	"sip:@h.test",
		"sip:a%@h.test",    "sip:a:%g0@h.test",
	};

	return ALL_BAD(bad);
}

/* RFC 4475 §3.1.1.9 (semiuri.dat) */
TEST(sip_uri_semicolon_user)
{
	struct sip_uri u;
	struct buf b;
	int rc;

	TEST_EQ_INT(parse("sip:user;par=u%40example.net@example.com", &u), 0);
	TEST_EQ_SLICE(u.user, "user;par=u%40example.net");
	TEST_EQ_SLICE(u.host, "example.com");
	TEST_ASSERT(!u.params.p);
	buf_init(&b, 256);
	rc = sip_uri_unescape(&b, u.user);
	TEST_ASSERT(rc == 0 && slice_eq(buf_slice(&b),
					SLICE_LIT("user;par=u@example.net")));
	buf_fini(&b);
	return 0;
}

/* RFC 4475 §3.1.1.3 (esc01.dat) */
TEST(sip_uri_escapes)
{
	static const char *const good[] = {
		"sip:sips%3Auser%40example.com@example.net",
		"sip:%75se%72@example.com",
		"sip:I%20have%20spaces@example.net",
		"sip:a%2b%2B@h.test;p%41ram=v%61lue?h%20=v%7e",
		"sip:u:p%41ss@h.test",
	};
	static const char *const bad[] = {
		"sip:%G1@h.test",   "sip:%4@h.test",	 "sip:a%@h.test",
		"sip:h.test;p=%4",  "sip:h.test;p%zz=1", "sip:h.test?h=%",
		"sip:h.test?h%1=v", "sip:u:%4x@h.test",	 "mailto:a%2",
		"tel:+1;x=%GG",	    "tel:+1;isub=%1",
	};
	struct sip_uri u;

	TEST_EQ_INT(parse("sip:sips%3Auser%40example.com@example.net", &u), 0);
	TEST_EQ_SLICE(u.user, "sips%3Auser%40example.com");
	TEST_EQ_SLICE(u.host, "example.net");
	if (ALL_OK(good) || ALL_BAD(bad))
		return -1;
	return 0;
}

/* RFC 4475 §3.1.1.4 (escnull.dat): %00 is data, not the end */
TEST(sip_uri_escaped_null)
{
	struct sip_uri u;
	struct buf b;
	bool ok;

	TEST_EQ_INT(parse("sip:null-%00-null@example.com", &u), 0);
	buf_init(&b, 64);
	ok = !sip_uri_unescape(&b, u.user) && b.len == 11 &&
	     !memcmp(b.p, "null-\0-null", 11);
	buf_fini(&b);
	TEST_ASSERT(ok);
	TEST_EQ_INT(cmp("sip:%00@host5.example.com",
			"sip:%00%00@host5.example.com"),
		    0);
	return 0;
}

TEST(sip_uri_unescape_single_pass)
{
	struct buf b;
	bool ok;

	buf_init(&b, 64);
	/* "value%2541" is "value%41", never "valueA" */
	ok = !sip_uri_unescape(&b, SLICE_LIT("value%2541")) &&
	     slice_eq(buf_slice(&b), SLICE_LIT("value%41"));
	buf_reset(&b);
	ok = ok && !sip_uri_unescape(&b, SLICE_LIT("%41%62c%7E%7e")) &&
	     slice_eq(buf_slice(&b), SLICE_LIT("Abc~~"));
	buf_reset(&b);
	ok = ok && !sip_uri_unescape(&b, SLICE_LIT("plain")) &&
	     slice_eq(buf_slice(&b), SLICE_LIT("plain"));
	buf_reset(&b);
	ok = ok && !sip_uri_unescape(&b, SLICE_NULL) && b.len == 0;
	/* malformed escapes append nothing */
	ok = ok && sip_uri_unescape(&b, SLICE_LIT("ab%4")) == -EBADMSG &&
	     sip_uri_unescape(&b, SLICE_LIT("%G1")) == -EBADMSG &&
	     sip_uri_unescape(&b, SLICE_LIT("%")) == -EBADMSG && b.len == 0;
	ok = ok && sip_uri_unescape(NULL, SLICE_LIT("a")) == -EINVAL &&
	     sip_uri_unescape(&b, slice_of(NULL, 3)) == -EINVAL;
	buf_fini(&b);
	TEST_ASSERT(ok);
	return 0;
}

TEST(sip_uri_unescape_hits_cap)
{
	struct buf b;
	int rc;

	buf_init(&b, 4);
	rc = sip_uri_unescape(&b, SLICE_LIT("%41%42%43%44%45"));
	buf_fini(&b);
	TEST_EQ_INT(rc, -EMSGSIZE);
	return 0;
}

TEST(sip_uri_hostnames)
{
	static const char *const good[] = {
		"sip:a",
		"sip:a.b",
		"sip:example.com.",
		"sip:a-b.c-d.example",
		"sip:1a.b2",
		"sip:x.y.z.w.v.u.t",
		"sip:u@EXAMPLE.COM",
		"sip:a.b-c",
		"sip:9.9.9.com",
		"sip:a.b1",
	};
	static const char *const bad[] = {
		"sip:-a.com", "sip:a-.com", "sip:a..com",   "sip:.com",
		"sip:com..",  "sip:a.1com", "sip:1.2.3",    "sip:a_b.com",
		"sip:123",    "sip:a.b-",   "sip:a.-b",	    "sip:.",
		"sip:a.b.1",  "sip:u@",	    "sip:h*st.com", "sip:ex%41.com",
	};

	if (ALL_OK(good) || ALL_BAD(bad))
		return -1;
	return 0;
}

TEST(sip_uri_ipv4)
{
	static const char *const good[] = {
		"sip:192.0.2.1",   "sip:0.0.0.0",   "sip:255.255.255.255",
		"sip:u@010.0.0.1", "sip:1.2.3.4:5", "sip:1.2.3.4;lr",
	};
	static const char *const bad[] = {
		"sip:256.1.1.1",  "sip:1.2.3.256", "sip:1.2.3.4.5",
		"sip:1234.1.1.1", "sip:1..2.3",	   "sip:1.2.3.",
		"sip:1.2.3.4.",	  "sip:.1.2.3.4",  "sip:1.2.3.-4",
	};
	struct sip_uri u;

	TEST_EQ_INT(parse("sip:u@192.0.2.1:5060", &u), 0);
	TEST_EQ_INT(u.host_type, SIP_HOST_IPV4);
	TEST_EQ_SLICE(u.host, "192.0.2.1");
	if (ALL_OK(good) || ALL_BAD(bad))
		return -1;
	return 0;
}

TEST(sip_uri_ipv6_valid)
{
	static const char *const good[] = {
		"sip:[::]",
		"sip:[::1]",
		"sip:[1::]",
		"sip:[2001:db8::9:1]",
		"sip:[2001:DB8:0:0:0:0:0:1]",
		"sip:[1:2:3:4:5:6:7:8]",
		"sip:[1::2:3:4:5:6:7]",
		"sip:[1:2:3:4:5:6:7::]",
		"sip:[::ffff:192.0.2.128]",
		"sip:[::192.0.2.128]",
		"sip:[1:2:3:4:5:6:192.0.2.1]",
		"sip:[1::5:6:192.0.2.1]",
		"sip:[fe80::0001]",
		"sip:u@[2001:db8::10]:5070;transport=tcp",
	};
	struct sip_uri u;

	TEST_EQ_INT(parse("sip:[2001:db8::10]:5070", &u), 0);
	TEST_EQ_INT(u.host_type, SIP_HOST_IPV6);
	TEST_EQ_SLICE(u.host, "[2001:db8::10]");
	TEST_ASSERT(u.has_port);
	TEST_EQ_INT(u.port, 5070);
	/* RFC 5118 §4.5: the port is outside the brackets */
	TEST_EQ_INT(parse("sip:[2001:db8::10:5070]", &u), 0);
	TEST_ASSERT(!u.has_port);
	return ALL_OK(good);
}

TEST(sip_uri_ipv6_invalid)
{
	static const char *const bad[] = {
		"sip:[]",
		"sip:[:]",
		"sip:[:::]",
		"sip:[1:::2]",
		"sip:[1::2::3]",
		"sip:[:1::2]",
		"sip:[1::2:]",
		"sip:[1:2:3:4:5:6:7]",
		"sip:[1:2:3:4:5:6:7:8:9]",
		"sip:[1::2:3:4:5:6:7:8]",
		"sip:[12345::1]",
		"sip:[g::1]",
		"sip:[::1",
		"sip:::1",
		"sip:2001:db8::1",
		"sip:[::1]]",
		"sip:[::1]x",
		"sip:[1:2:3:4:5:6:7:1.2.3.4]",
		"sip:[::1.2.3]",
		"sip:[::1.2.3.256]",
		"sip:[1.2.3.4]",
		"sip:[1.2.3.4::]",
		"sip:[::ffff:1.2.3.4:5]",
		"sip:[fe80::1%25eth0]",
		"sip:[::1]:",
	};

	return ALL_BAD(bad);
}

TEST(sip_uri_ports)
{
	static const char *const bad[] = {
		"sip:h.test:",
		"sip:h.test:65536",
		"sip:h.test:99999999999",
		"sip:h.test:-1",
		"sip:h.test:5060a",
		"sip:h.test:50:60",
		"sip:h.test::5060",
		"sip:h.test:+5",
		"sip:u@h.test:0x10",
	};
	struct sip_uri u;

	TEST_EQ_INT(parse("sip:h.test:0", &u), 0);
	TEST_ASSERT(u.has_port);
	TEST_EQ_INT(u.port, 0);
	TEST_EQ_INT(parse("sip:h.test:65535", &u), 0);
	TEST_EQ_INT(u.port, 65535);
	TEST_EQ_INT(parse("sip:h.test:0005060", &u), 0);
	TEST_EQ_INT(u.port, 5060);
	return ALL_BAD(bad);
}

TEST(sip_uri_params_grammar)
{
	static const char *const good[] = {
		"sip:h.test;lr",
		"sip:h.test;transport=tcp;lr;maddr=239.255.255.1;ttl=15",
		"sip:h.test;p=[]/:&+$-_.!~*'()",
		"sip:h.test;%41=%42",
		"sip:h.test;user=phone;method=REGISTER",
		"sip:h.test;a=b?c=d",
	};
	static const char *const bad[] = {
		"sip:h.test;",	    "sip:h.test;;",    "sip:h.test;a;",
		"sip:h.test;a=",    "sip:h.test;=b",   "sip:h.test;a=b=c",
		"sip:u@h.test;a@b", "sip:h.test;a=b;", "sip:h.test;a=\"b\"",
		"sip:h.test;a=b,c", "sip:h.test;a=%",  "sip:h.test;a=b#",
	};
	struct sip_uri u;

	TEST_EQ_INT(parse("sip:u@h.test:5060;transport=udp;lr?x=y", &u), 0);
	TEST_EQ_SLICE(u.params, "transport=udp;lr");
	TEST_EQ_SLICE(u.headers, "x=y");
	if (ALL_OK(good) || ALL_BAD(bad))
		return -1;
	return 0;
}

TEST(sip_uri_headers_grammar)
{
	static const char *const good[] = {
		"sip:h.test?a=b",
		"sip:h.test?a=",
		"sip:h.test?a=b&c=d&e=",
		"sip:h.test?Route=%3Csip:example.com%3E",
		"sip:h.test?h=[]/?:+$-_.!~*'()",
		"sip:biloxi.com;method=REGISTER?to=sip:bob%40biloxi.com",
	};
	static const char *const bad[] = {
		"sip:h.test?",	       "sip:h.test?a",
		"sip:h.test?=b",       "sip:h.test?a=b&",
		"sip:h.test?a=b&&c=d", "sip:h.test?a=b;c",
		"sip:h.test?a=b=c",    "sip:u@h.test?a=b@c",
		"sip:h.test?a=b?c=d&", "sip:h.test?a&b=c",
	};
	struct sip_uri u;

	TEST_EQ_INT(parse("sip:h.test?subject=project%20x&priority=urgent", &u),
		    0);
	TEST_EQ_SLICE(u.headers, "subject=project%20x&priority=urgent");
	if (ALL_OK(good) || ALL_BAD(bad))
		return -1;
	return 0;
}

TEST(sip_uri_param_lookup)
{
	struct sip_uri u;
	struct slice v;

	TEST_EQ_INT(parse("sip:h.test;Transport=TCP;lr;maddr=1.2.3.4;lr=x"
			  ";%74tl=5",
			  &u),
		    0);
	TEST_EQ_INT(sip_uri_param(&u, "transport", &v), 0);
	TEST_EQ_SLICE(v, "TCP");
	TEST_EQ_INT(sip_uri_param(&u, "TRANSPORT", &v), 0);
	TEST_EQ_SLICE(v, "TCP");
	/* a flag has an empty value; the first of two wins */
	v = SLICE_LIT("unchanged");
	TEST_EQ_INT(sip_uri_param(&u, "lr", &v), 0);
	TEST_ASSERT(v.p);
	TEST_EQ_INT(v.len, 0);
	TEST_EQ_INT(sip_uri_param(&u, "maddr", &v), 0);
	TEST_EQ_SLICE(v, "1.2.3.4");
	/* escaped names match their decoded form */
	TEST_EQ_INT(sip_uri_param(&u, "ttl", &v), 0);
	TEST_EQ_SLICE(v, "5");
	v = SLICE_LIT("unchanged");
	TEST_EQ_INT(sip_uri_param(&u, "user", &v), -ENOENT);
	TEST_EQ_SLICE(v, "unchanged");
	TEST_EQ_INT(sip_uri_param(&u, "l", &v), -ENOENT);
	TEST_EQ_INT(sip_uri_param(&u, "lrx", &v), -ENOENT);
	TEST_EQ_INT(parse("sip:h.test", &u), 0);
	TEST_EQ_INT(sip_uri_param(&u, "lr", &v), -ENOENT);
	TEST_EQ_INT(parse("tel:+1-201-555-0123;ext=99", &u), 0);
	TEST_EQ_INT(sip_uri_param(&u, "EXT", &v), 0);
	TEST_EQ_SLICE(v, "99");
	TEST_EQ_INT(parse("urn:x;lr", &u), 0);
	TEST_EQ_INT(sip_uri_param(&u, "lr", &v), -ENOENT);
	TEST_EQ_INT(sip_uri_param(NULL, "lr", &v), -EINVAL);
	TEST_EQ_INT(sip_uri_param(&u, NULL, &v), -EINVAL);
	TEST_EQ_INT(sip_uri_param(&u, "lr", NULL), -EINVAL);
	return 0;
}

/* Parse prefix followed by n times unit, counter, tail. */
static int parse_repeated(const char *prefix, const char *unit,
			  const char *tail, size_t n)
{
	struct buf b;
	struct sip_uri u;
	int rc;

	buf_init(&b, 64 * 1024);
	(void)buf_append_cstr(&b, prefix);
	for (size_t i = 0; i < n; i++)
		(void)buf_printf(&b, "%s%u%s", unit, (unsigned)i, tail);
	rc = b.err ? b.err : sip_uri_parse(buf_slice(&b), &u);
	buf_fini(&b);
	return rc;
}

TEST(sip_uri_param_and_header_limit)
{
	TEST_EQ_INT(parse_repeated("sip:h.test;p=0", ";p", "=1", 63), 0);
	TEST_EQ_INT(parse_repeated("sip:h.test;p=0", ";p", "=1", 64),
		    -EMSGSIZE);
	TEST_EQ_INT(parse_repeated("sip:h.test?h=0", "&h", "=1", 63), 0);
	TEST_EQ_INT(parse_repeated("sip:h.test?h=0", "&h", "=1", 64),
		    -EMSGSIZE);
	TEST_EQ_INT(parse_repeated("tel:+1", ";p", "", 64), 0);
	TEST_EQ_INT(parse_repeated("tel:+1", ";p", "", 65), -EMSGSIZE);
	/* length alone is no limit: long users, hosts and values parse */
	TEST_EQ_INT(parse_repeated("sip:", "a", "-", 5000), -EBADMSG);
	TEST_EQ_INT(parse_repeated("sip:", "a", ".", 5000), 0);
	TEST_EQ_INT(parse_repeated("sip:u", "", "", 5000), 0);
	TEST_EQ_INT(parse_repeated("sip:h.test;p=", "v", "", 5000), 0);
	return 0;
}

/* ---- tel: (RFC 3966) ----------------------------------------------------- */

TEST(sip_uri_tel_forms)
{
	static const char *const good[] = {
		"tel:+1-201-555-0123",
		"tel:+1(201)555.0123",
		"tel:+12015550123;ext=1234",
		"tel:+1-201-555-0123;ext=1-2.3",
		"tel:+358-555-1234567;postd=pp22",
		"tel:+1234;isub=a:b/c?d@e&f=g+h$i,j%41",
		"tel:7042;phone-context=example.com",
		"tel:863-1234;phone-context=+1-914-555",
		"tel:*86#;phone-context=Example.COM.",
		"tel:aBcD;phone-context=example.com",
		"tel:7042;foo;phone-context=example.com;bar=[1]:2",
		"tel:+1;a-b=c",
	};
	struct sip_uri u;

	TEST_EQ_INT(parse("tel:+1-201-555-0123;ext=1234;x=y", &u), 0);
	TEST_EQ_INT(u.scheme, SIP_URI_TEL);
	TEST_EQ_SLICE(u.rest, "+1-201-555-0123;ext=1234;x=y");
	TEST_EQ_SLICE(u.params, "ext=1234;x=y");
	TEST_ASSERT(!u.user.p);
	TEST_EQ_INT(u.host_type, SIP_HOST_NONE);
	TEST_EQ_INT(parse("tel:+1234", &u), 0);
	TEST_EQ_SLICE(u.rest, "+1234");
	TEST_ASSERT(!u.params.p);
	return ALL_OK(good);
}

TEST(sip_uri_tel_refusals)
{
	static const char *const bad[] = {
		"tel:",
		"tel:+",
		"tel:+-().",
		"tel:7042",
		"tel:7042;ext=1",
		"tel:+1;phone-context=example.com",
		"tel:12g4;phone-context=example.com",
		"tel:+1a",
		"tel:+1 2",
		"tel:+1;",
		"tel:+1;;x",
		"tel:+1;=x",
		"tel:+1;a=",
		"tel:+1;a_b=1",
		"tel:+1;a=b c",
		"tel:+1;a=\"b\"",
		"tel:+1;ext=",
		"tel:+1;ext",
		"tel:+1;ext=a1",
		"tel:+1;ext=--",
		"tel:+1;isub=",
		"tel:+1;ext=1;EXT=2",
		"tel:+1;x;x",
		"tel:1;phone-context=example.com;phone-context=b.test",
		"tel:1;phone-context=",
		"tel:1;phone-context=1.2",
		"tel:1;phone-context=+",
		"tel:1;phone-context=-a.com",
		"tel:1;phone-context",
		"tel:+1;a=b=c",
		"tel:+1@example.com",
		"tel:+1#2",
	};

	return ALL_BAD(bad);
}

/* RFC 3966 §4 */
TEST(sip_uri_tel_equal)
{
	static const struct pair same[] = {
		{"tel:+1-201-555-0123", "tel:+12015550123"},
		{"tel:+1(201)555.0123", "TEL:+1-201-555-0123"},
		{"tel:+1234;ext=1-2;foo=bar", "tel:+1234;FOO=BAR;ext=12"},
		{"tel:abc;phone-context=Example.com",
		 "tel:ABC;phone-context=example.COM"},
		{"tel:7042;phone-context=+1-914-555",
		 "tel:70-42;phone-context=+1914555"},
		{"tel:+1;isub=%41b", "tel:+1;isub=ab"},
	};
	static const struct pair differ[] = {
		{"tel:+1234", "tel:+12345"},
		{"tel:+1234", "tel:1234;phone-context=example.com"},
		{"tel:+1234;ext=1", "tel:+1234"},
		{"tel:+1234;foo", "tel:+1234"},
		{"tel:+1234;foo", "tel:+1234;foo=1"},
		{"tel:1;phone-context=a.test", "tel:1;phone-context=b.test"},
		{"tel:1;phone-context=+12", "tel:1;phone-context=+123"},
		{"tel:+1234", "sip:+1234@example.com;user=phone"},
	};

	if (check_pairs(same, ARRAY_SIZE(same), 1) ||
	    check_pairs(differ, ARRAY_SIZE(differ), 0))
		return -1;
	return 0;
}

/* ---- other schemes ------------------------------------------------------- */

TEST(sip_uri_other_schemes)
{
	static const char *const good[] = {
		"isbn:2983792873",
		"http://www.example.com",
		"name:John_Smith",
		"nobodyKnowsThisScheme:totallyopaquecontent",
		"soap.beep://192.0.2.103:3002",
		"https://certs.example.com/search-cgi?sip=user%40example.com",
		"https://[2001:db8::1]:443/x",
		"mailto:a@b.test",
		"urn:ietf:params:xml:ns:a",
		"cid:1234@example.com",
		"a+b-c.d:x",
		"x:/abs/path",
	};
	static const char *const bad[] = {
		"1abc:x",  ":x",     "abc",   "abc:",	"a_b:c",
		"x:#frag", "x:a{b}", "x:a|b", "x:a\\b", "x:a^b",
		"x:a`b",   "x:50%",  "x:%zz", "-x:y",	"+x:y",
	};
	struct sip_uri u;

	TEST_EQ_INT(parse("soap.beep://192.0.2.103:3002", &u), 0);
	TEST_EQ_INT(u.scheme, SIP_URI_OTHER);
	TEST_EQ_SLICE(u.scheme_name, "soap.beep");
	TEST_EQ_SLICE(u.rest, "//192.0.2.103:3002");
	TEST_ASSERT(!u.host.p && !u.user.p && !u.params.p && !u.headers.p);
	if (ALL_OK(good) || ALL_BAD(bad))
		return -1;
	TEST_EQ_INT(cmp("HTTP://www.example.com", "http://www.example.com"), 1);
	TEST_EQ_INT(cmp("http://www.example.com", "http://WWW.example.com"), 0);
	TEST_EQ_INT(cmp("urn:a", "urn:a%41"), 0);
	TEST_EQ_INT(cmp("urn:a", "urx:a"), 0);
	return 0;
}

/* White space, controls, '<', '>', '"' and non-ASCII are never part of a
 * URI (RFC 4475 §3.1.2.7, §3.1.2.8, §3.1.2.14). */
TEST(sip_uri_forbidden_characters)
{
	static const char *const where[] = {
		"sip:%sa@h.test",   "sip:a%s@h.test", "sip:a:p%s@h.test",
		"sip:a@h%s.test",   "sip:a@h.test%s", "sip:h.test;a=%sb",
		"sip:h.test?a=%sb", "tel:+1%s2",      "tel:+1;a=%sb",
		"x:a%sb",	    "%ssip:a@h.test", "sip:a@[::1%s]",
	};
	static const char *const chars[] = {
		" ", "\t", "\r", "\n",	     "\x01", "\x7f",
		"<", ">",  "\"", "\xc3\xa9", "\x80", "\xff",
	};
	struct sip_uri u;

	for (size_t i = 0; i < ARRAY_SIZE(where); i++)
		for (size_t j = 0; j < ARRAY_SIZE(chars); j++) {
			const char *at = strstr(where[i], "%s");
			struct buf b;
			int rc;

			buf_init(&b, 64);
			(void)buf_append(&b, where[i], (size_t)(at - where[i]));
			(void)buf_append_cstr(&b, chars[j]);
			(void)buf_append_cstr(&b, at + 2);
			rc = sip_uri_parse(buf_slice(&b), &u);
			if (rc != -EBADMSG)
				TEST_FAIL_AT("accepted: %.*s",
					     SLICE_FMT(buf_slice(&b)));
			buf_fini(&b);
			if (rc != -EBADMSG)
				return -1;
		}
	/* a NUL byte inside the slice is refused too */
	TEST_EQ_INT(sip_uri_parse(slice_of("sip:a\0b@h.test", 14), &u),
		    -EBADMSG);
	TEST_EQ_INT(parse("<sip:user@example.com>", &u), -EBADMSG);
	TEST_EQ_INT(parse("sip:user@example.com; lr", &u), -EBADMSG);
	return 0;
}

TEST(sip_uri_api_misuse)
{
	struct sip_uri u = {.port = 77};
	struct buf b;

	TEST_EQ_INT(sip_uri_parse(SLICE_LIT("sip:a@b.test"), NULL), -EINVAL);
	TEST_EQ_INT(sip_uri_parse(slice_of(NULL, 4), &u), -EINVAL);
	TEST_EQ_INT(sip_uri_parse(SLICE_NULL, &u), -EBADMSG);
	TEST_EQ_INT(sip_uri_parse(SLICE_LIT(""), &u), -EBADMSG);
	/* the out-parameter is untouched on failure */
	TEST_EQ_INT(parse("sip:a@b.test:99999", &u), -EBADMSG);
	TEST_EQ_INT(u.port, 77);
	TEST_ASSERT(!sip_uri_equal(NULL, &u));
	TEST_ASSERT(!sip_uri_equal(&u, NULL));
	buf_init(&b, 64);
	TEST_EQ_INT(sip_uri_print(NULL, &u), -EINVAL);
	TEST_EQ_INT(sip_uri_print(&b, NULL), -EINVAL);
	TEST_EQ_INT(sip_uri_print_aor(NULL, &u), -EINVAL);
	TEST_EQ_INT(sip_uri_print_aor(&b, NULL), -EINVAL);
	TEST_EQ_INT(b.len, 0);
	buf_fini(&b);
	return 0;
}

/* Every URI of the RFC 4475 torture messages' request lines, To, From,
 * Contact and Route (tests/data/sip/torture/). */
TEST(sip_uri_torture_uris)
{
	static const char *const good[] = {
		"sip:vivekg@chair-dnrc.example.com;unknownparam",
		"sip:vivekg@chair-dnrc.example.com",
		"sip:jdrosen@example.com",
		("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/"
		 ";;*:&it+has=1"
		 ",weird!*pas$wo~d_too.(doesn't-it)@example.com"),
		("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
		 "@example.com"),
		"sip:mundane@example.com",
		"sip:sips%3Auser%40example.com@example.net",
		"sip:%75se%72@example.com",
		"sip:I%20have%20spaces@example.net",
		"sip:null-%00-null@example.com",
		"sip:%00@host5.example.com",
		"sip:%00%00@host5.example.com",
		"sip:registrar.example.com",
		"sip:resource@example.com",
		"sip:alias1@host1.example.com",
		/* longreq.dat To */
		("sip:user@example.com:6000;unknownparam1=verylonglonglonglo"
		 "nglonglonglonglonglonglonglonglonglonglonglonglonglonglong"
		 "longlongvalue;longparamnamenamenamenamenamenamenamenamenam"
		 "enamenamenamenamenamenamenamenamenamenamenamenamenamenamen"
		 "amename=shortvalue;verylonglonglonglonglonglonglonglonglon"
		 "glonglonglonglonglonglonglonglonglonglonglonglonglonglongl"
		 "onglongParameterNameWithNoValue"),
		"sip:user;par=u%40example.net@example.com",
		"sip:127.0.0.1:5080",
		"sip:fluffy@127.0.0.1:5070",
		"sip:+19725552222@gw1.example.net;unknownparam",
		"sip:user@example.com?Route=%3Csip:example.com%3E",
		"sip:user@example.com?Route=%3Csip:sip.example.com%3E",
		"sip:+13035551111@ift.client.example.net;user=phone",
		"sip:UserB@example.com;maddr=ss1.example.com",
		"sip:+16505552222@ss1.example.net;user=phone",
		"sip:t.watson@example.org",
		"sip:a.g.bell@example.com",
		"sip:j_user@example.com",
		"sip:caller@host39923.example.net",
		"sip:remote-target@example.com",
		"nobodyKnowsThisScheme:totallyopaquecontent",
		"soap.beep://192.0.2.103:3002",
		"isbn:2983792873",
		"http://www.example.com",
		"name:John_Smith",
	};
	static const char *const bad[] = {
		/* ltgtruri.dat, lwsruri.dat, badaspec.dat */
		"<sip:user@example.com>",
		"sip:user@example.com; lr",
		" sip:t.watson@example.org ",
	};

	if (ALL_OK(good) || ALL_BAD(bad))
		return -1;
	return 0;
}

/* Every strict prefix parses or is refused with -EBADMSG, from an
 * exact-size copy so the sanitizer build sees any read past the end. */
TEST(sip_uri_truncation)
{
	static const char *const full[] = {
		("sips:alice:pw%41@[2001:db8::192.0.2.1]:5061;transport=tls;lr"
		 "?subject=x%20y&priority=urgent"),
		"sip:user;par=u%40example.net@example.com;maddr=10.0.0.1",
		"sipsec:vkg@example.com.:65535;a=[b]",
		"tel:863-1234;isub=a%2Fb;phone-context=+1-914-555;x=y",
		"tel:+1-201-555-0123;ext=1234",
		"https://[::ffff:1.2.3.4]/search-cgi?sip=a%40b",
	};

	for (size_t i = 0; i < ARRAY_SIZE(full); i++) {
		size_t len = strlen(full[i]);
		struct sip_uri u;

		TEST_EQ_INT(parse(full[i], &u), 0);
		for (size_t n = 0; n < len; n++) {
			char *copy = mem_alloc(n ? n : 1);
			int rc;

			TEST_ASSERT(copy);
			memcpy(copy, full[i], n);
			rc = sip_uri_parse(slice_of(copy, n), &u);
			if (!rc && !sip_uri_equal(&u, &u))
				rc = 1;
			mem_free(copy);
			if (rc && rc != -EBADMSG) {
				TEST_FAIL_AT("%.*s gave %d", (int)n, full[i],
					     rc);
				return -1;
			}
		}
	}
	return 0;
}

/* ---- comparison (RFC 3261 §19.1.4) --------------------------------------- */

TEST(sip_uri_equal_rfc3261_examples_equal)
{
	static const struct pair same[] = {
		{"sip:%61lice@atlanta.com;transport=TCP",
		 "sip:alice@AtLanTa.CoM;Transport=tcp"},
		{"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"},
		{"sip:carol@chicago.com", "sip:carol@chicago.com;security=on"},
		{"sip:carol@chicago.com;newparam=5",
		 "sip:carol@chicago.com;security=on"},
		{"sip:biloxi.com;transport=tcp;method=REGISTER"
		 "?to=sip:bob%40biloxi.com",
		 "sip:biloxi.com;method=REGISTER;transport=tcp"
		 "?to=sip:bob%40biloxi.com"},
		{"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
		 "sip:alice@atlanta.com?priority=urgent&subject=project%20x"},
		/* §19.1.4 text: escaped and plain forms are the same */
		{"sip:%61lice@atlanta.com", "sip:alice@AtLanTa.CoM"},
		{"sip:carol@chicago.com", "sip:carol@chicago.com;security=off"},
	};

	return check_pairs(same, ARRAY_SIZE(same), 1);
}

TEST(sip_uri_equal_rfc3261_examples_unequal)
{
	static const struct pair differ[] = {
		/* different usernames */
		{"SIP:ALICE@AtLanTa.CoM;Transport=udp",
		 "sip:alice@AtLanTa.CoM;Transport=UDP"},
		/* can resolve to different ports */
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"},
		/* can resolve to different transports */
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"},
		/* can resolve to different port and transports */
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"},
		/* different header component */
		{"sip:carol@chicago.com",
		 "sip:carol@chicago.com?Subject=next%20meeting"},
		/* even though that's what phone21.boxesbybob.com resolves to */
		{"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"},
		/* equality is not transitive */
		{"sip:carol@chicago.com;security=on",
		 "sip:carol@chicago.com;security=off"},
		/* a SIP and a SIPS URI are never equivalent */
		{"sip:alice@atlanta.com", "sips:alice@atlanta.com"},
	};

	return check_pairs(differ, ARRAY_SIZE(differ), 0);
}

TEST(sip_uri_equal_userinfo)
{
	static const struct pair same[] = {
		{"sip:a%3bb@h.test", "sip:a%3Bb@h.test"},
		{"sip:a%7Eb@h.test", "sip:a~b@h.test"},
		{"sip:u:p%61ss@h.test", "sip:u:pass@h.test"},
		{"sip:%00@h.test", "sip:%00@h.test"},
	};
	static const struct pair differ[] = {
		/* §19.1.4: only non-reserved characters equal their escapes */
		{"sip:a%3Bb@h.test", "sip:a;b@h.test"},
		{"sip:a%2Bb@h.test", "sip:a+b@h.test"},
		{"sip:Alice@h.test", "sip:alice@h.test"},
		{"sip:%41lice@h.test", "sip:alice@h.test"},
		{"sip:alice@h.test", "sip:h.test"},
		{"sip:alice:pw@h.test", "sip:alice@h.test"},
		{"sip:alice:@h.test", "sip:alice@h.test"},
		{"sip:alice:pw@h.test", "sip:alice:PW@h.test"},
		{"sip:%00@h.test", "sip:%00%00@h.test"},
		{"sip:a@h.test", "sip:a%00@h.test"},
	};

	if (check_pairs(same, ARRAY_SIZE(same), 1) ||
	    check_pairs(differ, ARRAY_SIZE(differ), 0))
		return -1;
	return 0;
}

TEST(sip_uri_equal_hosts_and_ports)
{
	static const struct pair same[] = {
		{"sip:a@EXAMPLE.com", "sip:a@example.COM"},
		{"sip:a@[::1]", "sip:a@[0:0:0:0:0:0:0:1]"},
		{"sip:a@[2001:DB8::1]", "sip:a@[2001:db8:0::0:1]"},
		{"sip:a@[::ffff:192.0.2.1]", "sip:a@[::FFFF:c000:201]"},
		{"sip:a@010.0.0.1", "sip:a@10.0.0.1"},
		{"sip:a@h.test:05060", "sip:a@h.test:5060"},
	};
	static const struct pair differ[] = {
		{"sip:a@[::1]", "sip:a@[::2]"},
		{"sip:a@1.2.3.4", "sip:a@1.2.3.5"},
		{"sip:a@h.test", "sip:a@h.test."},
		{"sip:a@h.test", "sip:a@h.tes"},
		{"sip:a@h.test:5060", "sip:a@h.test:5061"},
		{"sip:a@h.test:0", "sip:a@h.test"},
		{"sip:a@[::1.2.3.4]", "sip:a@1.2.3.4"},
	};

	if (check_pairs(same, ARRAY_SIZE(same), 1) ||
	    check_pairs(differ, ARRAY_SIZE(differ), 0))
		return -1;
	return 0;
}

TEST(sip_uri_equal_params)
{
	static const struct pair same[] = {
		{"sip:h.test;lr", "sip:h.test"},
		{"sip:h.test;LR", "sip:h.test;lr"},
		{"sip:h.test;maddr=H.TEST", "sip:h.test;maddr=h.test"},
		{"sip:h.test;method=invite", "sip:h.test;method=INVITE"},
		{"sip:h.test;%6D%61ddr=x.test", "sip:h.test;maddr=x.test"},
		{"sip:h.test;a=1;b=2", "sip:h.test;b=2;a=1"},
		{"sip:h.test;a=%41", "sip:h.test;a=a"},
		{"sip:h.test;a=1;a=2", "sip:h.test;a=1"},
	};
	static const struct pair differ[] = {
		{"sip:h.test;user=phone", "sip:h.test"},
		{"sip:h.test;ttl=1", "sip:h.test"},
		{"sip:h.test;method=INVITE", "sip:h.test"},
		{"sip:h.test;maddr=h.test", "sip:h.test"},
		{"sip:h.test;transport=udp", "sip:h.test"},
		{"sip:h.test;user=ip", "sip:h.test;user=phone"},
		{"sip:h.test;lr", "sip:h.test;lr=on"},
		{"sip:h.test;a=1", "sip:h.test;a=2"},
		{"sip:h.test;a=%3A", "sip:h.test;a=:"},
		{"sip:h.test;a=1;a=2", "sip:h.test;a=2"},
	};

	if (check_pairs(same, ARRAY_SIZE(same), 1) ||
	    check_pairs(differ, ARRAY_SIZE(differ), 0))
		return -1;
	return 0;
}

TEST(sip_uri_equal_headers)
{
	static const struct pair same[] = {
		{"sip:h.test?a=1&b=2", "sip:h.test?b=2&a=1"},
		{"sip:h.test?Subject=x", "sip:h.test?subject=x"},
		{"sip:h.test?a=%78", "sip:h.test?a=x"},
		{"sip:h.test?a=1&a=1&b=2", "sip:h.test?a=1&b=2&a=1"},
	};
	static const struct pair differ[] = {
		{"sip:h.test?a=1", "sip:h.test"},
		{"sip:h.test?a=1", "sip:h.test?a=2"},
		{"sip:h.test?a=x", "sip:h.test?a=X"},
		{"sip:h.test?a=1&b=2", "sip:h.test?a=1"},
		{"sip:h.test?a=1&a=1&b=2", "sip:h.test?a=1&b=2&b=2"},
		{"sip:h.test?a=", "sip:h.test?a=1"},
	};

	if (check_pairs(same, ARRAY_SIZE(same), 1) ||
	    check_pairs(differ, ARRAY_SIZE(differ), 0))
		return -1;
	return 0;
}

/* ---- the AOR normal form ------------------------------------------------- */

TEST(sip_uri_aor_forms)
{
	static const struct pair forms[] = {
		{"sip:alice@atlanta.com", "sip:alice@atlanta.com"},
		{"SIP:%61lice@AtLanTa.CoM:5060;transport=tcp?x=y",
		 "sip:alice@atlanta.com"},
		{"sip:Alice:secret@atlanta.com", "sip:Alice@atlanta.com"},
		{"sips:bob@Biloxi.COM", "sips:bob@biloxi.com"},
		{"SIPSEC:vkg@Example.com", "sipsec:vkg@example.com"},
		{"sip:example.com", "sip:example.com"},
		{"sip:user;par=u%40example.net@example.com",
		 "sip:user;par=u%40example.net@example.com"},
		{"sip:sips%3auser%40example.com@example.net",
		 "sip:sips%3Auser%40example.com@example.net"},
		{"sip:I%20have%20spaces@example.net",
		 "sip:I%20have%20spaces@example.net"},
		{"sip:null-%00-null@example.com",
		 "sip:null-%00-null@example.com"},
		{"sip:%7e%2d%5F@h.test", "sip:~-_@h.test"},
		{"sip:a@010.000.0.1", "sip:a@10.0.0.1"},
		{"sip:a@[2001:DB8:0:0:0:0:0:1]", "sip:a@[2001:db8::1]"},
		{"sip:a@[0:0:0:0:0:0:0:0]", "sip:a@[::]"},
		{"sip:a@[1:0:0:2:0:0:0:3]", "sip:a@[1:0:0:2::3]"},
		{"sip:a@[1:0:0:2:0:0:3:4]", "sip:a@[1::2:0:0:3:4]"},
		{"sip:a@[1:0:2:3:4:5:6:7]", "sip:a@[1:0:2:3:4:5:6:7]"},
		{"sip:a@[::ffff:C000:0201]", "sip:a@[::ffff:192.0.2.1]"},
		{"sip:a@[::192.0.2.1]", "sip:a@[::c000:201]"},
		{"sip:a@Example.COM.", "sip:a@example.com."},
		{"tel:+1-201-555-0123", "tel:+12015550123"},
		{"TEL:+1(201)555.0123;ext=1-2;foo=bar",
		 "tel:+12015550123;ext=12"},
		{"tel:86-3A;phone-context=Example.COM;isub=%41b%2f",
		 "tel:863a;isub=ab%2F;phone-context=example.com"},
		{"tel:7042;phone-context=+1-914-555",
		 "tel:7042;phone-context=+1914555"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(forms); i++)
		if (!aor_is(forms[i].a, forms[i].b))
			return -1;
	return 0;
}

TEST(sip_uri_aor_refusals)
{
	struct sip_uri u = {0};
	struct buf b;
	int rc;

	TEST_ASSERT(aor_is("http://www.example.com", NULL));
	TEST_ASSERT(aor_is("urn:x", NULL));
	/* a hand-made URI without a host has no AOR */
	u.scheme = SIP_URI_SIP;
	buf_init(&b, 64);
	rc = sip_uri_print_aor(&b, &u);
	buf_fini(&b);
	TEST_EQ_INT(rc, -EINVAL);
	return 0;
}

/* The AOR is a function of the §19.1.4 equivalence class and tells
 * different users apart: these URIs differ in nothing but user and host,
 * so two are equal exactly when their AORs are. */
TEST(sip_uri_aor_follows_equality)
{
	static const char *const uris[] = {
		"sip:%61lice@atlanta.com;transport=TCP",
		"sip:alice@AtLanTa.CoM;Transport=tcp",
		"SIP:ALICE@AtLanTa.CoM;Transport=udp",
		"sip:a%3Bb@h.test",
		"sip:a%3bb@h.test",
		"sip:a;b@h.test",
		"sip:%00@host5.example.com",
		"sip:%00%00@host5.example.com",
		"sip:a@[::1]",
		"sip:a@[0::0:1]",
		"sip:a@1.2.3.4",
		"sip:a@01.2.3.4",
		"sip:a%2b@h.test",
		"sip:a+@h.test",
		"sip:a%2541@h.test",
		"sip:a%41@h.test",
		"sip:aA@h.test",
		"sips:alice@atlanta.com",
		"sipsec:alice@atlanta.com",
		"tel:+1-234",
		"tel:+1234",
		"tel:1234;phone-context=a.test",
		"tel:1234;phone-context=b.test",
	};
	struct sip_uri u[ARRAY_SIZE(uris)];
	struct buf b[ARRAY_SIZE(uris)];
	int ok = 0;

	for (size_t i = 0; i < ARRAY_SIZE(uris); i++) {
		buf_init(&b[i], 256);
		if (parse(uris[i], &u[i]) || sip_uri_print_aor(&b[i], &u[i])) {
			TEST_FAIL_AT("no AOR for %s", uris[i]);
			ok = -1;
		}
	}
	for (size_t i = 0; !ok && i < ARRAY_SIZE(uris); i++) {
		struct sip_uri again;
		struct buf b2;

		/* the AOR is itself a URI with the same AOR */
		buf_init(&b2, 256);
		if (sip_uri_parse(buf_slice(&b[i]), &again) ||
		    sip_uri_print_aor(&b2, &again) ||
		    !slice_eq(buf_slice(&b2), buf_slice(&b[i]))) {
			TEST_FAIL_AT("AOR of %s not stable", uris[i]);
			ok = -1;
		}
		buf_fini(&b2);
		for (size_t j = 0; !ok && j < ARRAY_SIZE(uris); j++) {
			bool eq = sip_uri_equal(&u[i], &u[j]);
			bool same =
				slice_eq(buf_slice(&b[i]), buf_slice(&b[j]));

			if (eq != same) {
				TEST_FAIL_AT("%s vs %s: equal %d, same AOR %d",
					     uris[i], uris[j], eq, same);
				ok = -1;
			}
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(uris); i++)
		buf_fini(&b[i]);
	return ok;
}

/* ---- printing ------------------------------------------------------------ */

TEST(sip_uri_print_round_trip)
{
	static const struct pair forms[] = {
		{"sip:alice@atlanta.com", "sip:alice@atlanta.com"},
		{"SIPS:Alice:pw@[2001:DB8::1]:0;Transport=TLS?A=B&c=",
		 "sips:Alice:pw@[2001:DB8::1]:0;Transport=TLS?A=B&c="},
		{"sip:u:@h.test:0005060", "sip:u:@h.test:5060"},
		{"SipSec:vkg@example.com", "sipsec:vkg@example.com"},
		{"sip:user;par=u%40example.net@example.com",
		 "sip:user;par=u%40example.net@example.com"},
		{"Tel:+1-201-555-0123;ext=1", "tel:+1-201-555-0123;ext=1"},
		{"HTTP://www.example.com", "HTTP://www.example.com"},
		{"sip:%00@host5.example.com", "sip:%00@host5.example.com"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		struct sip_uri u, v;
		struct buf b;
		bool ok;

		buf_init(&b, 256);
		ok = !parse(forms[i].a, &u) && !sip_uri_print(&b, &u) &&
		     slice_eq(buf_slice(&b), slice_cstr(forms[i].b)) &&
		     !sip_uri_parse(buf_slice(&b), &v) && sip_uri_equal(&u, &v);
		if (!ok)
			TEST_FAIL_AT("%s printed \"%.*s\"", forms[i].a,
				     SLICE_FMT(buf_slice(&b)));
		buf_fini(&b);
		if (!ok)
			return -1;
	}
	return 0;
}

TEST(sip_uri_print_from_fields)
{
	struct sip_uri u;
	struct buf b;
	bool ok;
	int bad_host, bad_user, bad_pw, bad_scheme, bad_other, bad_tel;

	/* a caller strips the headers and parameters before reusing a URI */
	TEST_EQ_INT(parse("sip:bob@biloxi.com:5070;lr?Subject=x", &u), 0);
	u.headers = SLICE_NULL;
	u.params = SLICE_NULL;
	buf_init(&b, 256);
	ok = !sip_uri_print(&b, &u) &&
	     slice_eq(buf_slice(&b), SLICE_LIT("sip:bob@biloxi.com:5070"));
	buf_reset(&b);
	/* a hand-built one, scheme_name unset */
	u = (struct sip_uri){.scheme = SIP_URI_SIPS,
			     .host = SLICE_LIT("h.test"),
			     .host_type = SIP_HOST_NAME};
	ok = ok && !sip_uri_print(&b, &u) &&
	     slice_eq(buf_slice(&b), SLICE_LIT("sips:h.test"));
	buf_reset(&b);
	u.host = SLICE_NULL;
	bad_host = sip_uri_print(&b, &u);
	u.host = SLICE_LIT("h.test");
	u.user = slice_of("", 0);
	bad_user = sip_uri_print(&b, &u);
	u.user = SLICE_NULL;
	u.password = SLICE_LIT("pw");
	bad_pw = sip_uri_print(&b, &u);
	u.password = SLICE_NULL;
	u.scheme = (enum sip_uri_scheme)99;
	bad_scheme = sip_uri_print(&b, &u);
	u.scheme = SIP_URI_OTHER;
	bad_other = sip_uri_print(&b, &u);
	u.scheme = SIP_URI_TEL;
	bad_tel = sip_uri_print(&b, &u);
	ok = ok && b.len == 0;
	/* the buf's cap is reported */
	buf_fini(&b);
	buf_init(&b, 8);
	TEST_EQ_INT(parse("sip:alice@atlanta.com", &u), 0);
	ok = ok && sip_uri_print(&b, &u) == -EMSGSIZE &&
	     sip_uri_print_aor(&b, &u) == -EMSGSIZE;
	buf_fini(&b);
	TEST_ASSERT(ok);
	TEST_EQ_INT(bad_host, -EINVAL);
	TEST_EQ_INT(bad_user, -EINVAL);
	TEST_EQ_INT(bad_pw, -EINVAL);
	TEST_EQ_INT(bad_scheme, -EINVAL);
	TEST_EQ_INT(bad_other, -EINVAL);
	TEST_EQ_INT(bad_tel, -EINVAL);
	return 0;
}

/* ---- every octet in every part, against the sets of RFC 3261 §25.1 ------ */

static bool in_chars(const char *set, int c)
{
	return c > 0 && strchr(set, c) != NULL;
}

static bool unreserved(int c)
{
	return char_is_alpha(c) || char_is_digit(c) || in_chars("-_.!~*'()", c);
}

/* Whether "<before><c><after>" is a URI, octet c standing where the part
 * under test is. Octets that end the part are listed with what they make
 * of the rest. */
static bool octet_ok(int part, int c)
{
	switch (part) {
	case 0: /* user: "sip:a" c "b@h" */
		if (c == ':')
			return true; /* then "b" is the password */
		if (c == '@' || c == '%')
			return false;
		return unreserved(c) || in_chars("&=+$,;?/", c);
	case 1: /* password: "sip:u:a" c "b@h" */
		if (c == '@' || c == '%' || c == ':')
			return false;
		return unreserved(c) || in_chars("&=+$,", c);
	case 2: /* uri-parameter: "sip:h;a" c "b" */
		if (c == '@' || c == ';' || c == '=')
			return true; /* user "h;a"; two params; a value */
		if (c == '?' || c == '%')
			return false;
		return unreserved(c) || in_chars("[]/:&+$", c);
	case 3: /* header value: "sip:h?n=a" c "b" */
		if (c == '@')
			return true; /* user "h?n=a", host "b" */
		if (c == '&' || c == '=' || c == '%')
			return false;
		return unreserved(c) || in_chars("[]/?:+$", c);
	case 4: /* another scheme: "x:a" c "b" */
		return c != '%' &&
		       (unreserved(c) || in_chars(";/?:@&=+$,[]", c));
	case 5: /* scheme: "a" c "b:x" */
		return char_is_alpha(c) || char_is_digit(c) ||
		       in_chars("+-.:", c);
	default: /* host: "sip:a" c "b" */
		if (c == '@' || c == ';')
			return true;
		return char_is_alpha(c) || char_is_digit(c) || c == '-' ||
		       c == '.';
	}
}

TEST(sip_uri_every_octet_in_every_part)
{
	static const char *const forms[][2] = {
		{"sip:a", "b@h"},   {"sip:u:a", "b@h"}, {"sip:h;a", "b"},
		{"sip:h?n=a", "b"}, {"x:a", "b"},	{"a", "b:x"},
		{"sip:a", "b"},
	};

	for (int part = 0; part < (int)ARRAY_SIZE(forms); part++)
		for (int c = 0; c < 256; c++) {
			char v[32];
			size_t n1 = strlen(forms[part][0]);
			size_t n2 = strlen(forms[part][1]);
			struct sip_uri u;
			int rc;

			memcpy(v, forms[part][0], n1);
			v[n1] = (char)c;
			memcpy(v + n1 + 1, forms[part][1], n2);
			rc = sip_uri_parse(slice_of(v, n1 + 1 + n2), &u);
			if ((rc == 0) != octet_ok(part, c)) {
				TEST_FAIL_AT("part %d octet %02x: %d", part, c,
					     rc);
				return -1;
			}
		}
	return 0;
}

TEST(sip_uri_host_labels)
{
	static const struct {
		const char *in;
		int rc;
		enum sip_host_type type;
	} v[] = {
		{"sip:a.b.c", 0, SIP_HOST_NAME},
		{"sip:example.test.", 0, SIP_HOST_NAME},
		{"sip:a-b.c-d", 0, SIP_HOST_NAME},
		{"sip:1a.b2", 0, SIP_HOST_NAME},
		{"sip:a.1b", -EBADMSG, 0}, /* toplabel starts with ALPHA */
		{"sip:1.2.3.4", 0, SIP_HOST_IPV4},
		{"sip:1.2.3.4.", -EBADMSG, 0},
		{"sip:1.2.3.256", -EBADMSG, 0},
		{"sip:1.2.3", -EBADMSG, 0},
		{"sip:01.002.3.4", 0, SIP_HOST_IPV4},
		{"sip:1234.2.3.4", -EBADMSG, 0},
		{"sip:1.2.3.4a", -EBADMSG, 0},
		{"sip:1.2.3.a4", 0, SIP_HOST_NAME},
		{"sip:a..b", -EBADMSG, 0},
		{"sip:a.", 0, SIP_HOST_NAME},
		{"sip:a..", -EBADMSG, 0},
		{"sip:.", -EBADMSG, 0},
		{"sip:.a", -EBADMSG, 0},
		{"sip:-a", -EBADMSG, 0},
		{"sip:a-", -EBADMSG, 0},
		{"sip:a-.b", -EBADMSG, 0},
		{"sip:a.-b", -EBADMSG, 0},
		{"sip:a.b-", -EBADMSG, 0},
		{"sip:a.b-.", -EBADMSG, 0},
		{"sip:", -EBADMSG, 0},
		{"sip:u@", -EBADMSG, 0},
		{"sip:a_b", -EBADMSG, 0},
		{"sip:a.b:5060", 0, SIP_HOST_NAME},
		{"sip:1.2.3.4;x", 0, SIP_HOST_IPV4},
		{"sip:a.b.?h=v", 0, SIP_HOST_NAME},
		{"sip:a.b/c", -EBADMSG, 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct sip_uri u;
		int rc = sip_uri_parse(slice_cstr(v[i].in), &u);

		if (rc != v[i].rc || (!rc && u.host_type != v[i].type)) {
			TEST_FAIL_AT("%s: %d type %d", v[i].in, rc,
				     rc ? -1 : (int)u.host_type);
			return -1;
		}
	}
	return 0;
}

TEST(sip_uri_limit_or_bad_octet)
{
	/* more than 64 parameters is -EMSGSIZE, but an octet no URI may
	 * hold is -EBADMSG wherever it stands */
	char v[600];
	size_t n = 0;

	n += (size_t)snprintf(v + n, sizeof(v) - n, "sip:h");
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(v + n, sizeof(v) - n, ";p%d", i);
	TEST_EQ_INT(sip_uri_parse(slice_of(v, n), &(struct sip_uri){0}),
		    -EMSGSIZE);
	v[n] = ' ';
	TEST_EQ_INT(sip_uri_parse(slice_of(v, n + 1), &(struct sip_uri){0}),
		    -EBADMSG);
	v[n] = '"';
	TEST_EQ_INT(sip_uri_parse(slice_of(v, n + 1), &(struct sip_uri){0}),
		    -EBADMSG);
	n = (size_t)snprintf(v, sizeof(v), "tel:+1");
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(v + n, sizeof(v) - n, ";p%d", i);
	TEST_EQ_INT(sip_uri_parse(slice_of(v, n), &(struct sip_uri){0}),
		    -EMSGSIZE);
	v[n] = 0x7f;
	TEST_EQ_INT(sip_uri_parse(slice_of(v, n + 1), &(struct sip_uri){0}),
		    -EBADMSG);
	return 0;
}
