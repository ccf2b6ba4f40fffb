/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of numeric address parsing and printing and transport names. */
#include "priv.h"

#include <arpa/inet.h>

#include "test.h"

TEST(net_addr_parse_print)
{
	static const struct {
		const char *host;
		uint16_t port;
		int rc;
		const char *printed;
	} v[] = {
		{"127.0.0.1", 5060, 0, "127.0.0.1:5060"},
		{"0.0.0.0", 0, 0, "0.0.0.0:0"},
		{"192.0.2.255", 65535, 0, "192.0.2.255:65535"},
		{"::1", 5061, 0, "[::1]:5061"},
		{"[2001:db8::1]", 5060, 0, "[2001:db8::1]:5060"},
		{"::", 5060, 0, "[::]:5060"},
		{"fe80::1%1", 5060, 0, "[fe80::1]:5060"},
		{"::ffff:192.0.2.1", 1, 0, "[::ffff:192.0.2.1]:1"},
		{"", 5060, -EINVAL, NULL},
		{"[]", 5060, -EINVAL, NULL},
		{"localhost", 5060, -EINVAL, NULL}, /* names: RFC 3263's job */
		{"example.com", 5060, -EINVAL, NULL},
		{"1.2.3", 5060, -EINVAL, NULL},
		{"1.2.3.4.5", 5060, -EINVAL, NULL},
		{"256.1.1.1", 5060, -EINVAL, NULL},
		{"[1.2.3.4]", 5060, -EINVAL, NULL},
		{"[::1", 5060, -EINVAL, NULL},
		{"::1]", 5060, -EINVAL, NULL},
		{"fe80::1%", 5060, -EINVAL, NULL},
		{"fe80::1%no-such-if0", 5060, -EINVAL, NULL},
		{"1.2.3.4 ", 5060, -EINVAL, NULL},
		{"2001:db8::g", 5060, -EINVAL, NULL},
		{"::1::", 5060, -EINVAL, NULL},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct net_addr a = {.len = 77};
		char out[64];
		int rc = net_addr_parse(v[i].host, v[i].port, &a);

		TEST_EQ_INT(rc, v[i].rc);
		if (rc) {
			TEST_EQ_INT(a.len, 77); /* untouched on failure */
			continue;
		}
		net_addr_print(&a, out, sizeof(out));
		TEST_EQ_STR(out, v[i].printed);
		TEST_EQ_INT(net_addr_port(&a), v[i].port);
	}
	TEST_EQ_INT(net_addr_parse(NULL, 1, &(struct net_addr){0}), -EINVAL);
	TEST_EQ_INT(net_addr_parse("::1", 1, NULL), -EINVAL);
	return 0;
}

TEST(net_addr_print_edges)
{
	struct net_addr a, junk = {.len = 3};
	char out[64], small[8];

	TEST_EQ_INT(net_addr_parse("[2001:db8::1]", 5061, &a), 0);
	/* truncated, still terminated */
	net_addr_print(&a, small, sizeof(small));
	TEST_EQ_STR(small, "[2001:d");
	net_addr_print(&junk, out, sizeof(out));
	TEST_EQ_STR(out, "?");
	net_addr_print(NULL, out, sizeof(out));
	TEST_EQ_STR(out, "?");
	net_addr_print(&a, NULL, 10); /* no crash */
	net_addr_print(&a, out, 0);
	TEST_EQ_INT(net_addr_port(NULL), 0);
	TEST_EQ_INT(net_addr_port(&junk), 0);
	TEST_EQ_STR(net_proto_name(NET_UDP), "UDP");
	TEST_EQ_STR(net_proto_name(NET_TCP), "TCP");
	TEST_EQ_STR(net_proto_name(NET_TLS), "TLS");
	TEST_EQ_STR(net_proto_name((enum net_proto)9), "?");
	return 0;
}

TEST(net_addr_eq_hash)
{
	struct net_addr a, b, c, d, e;

	TEST_EQ_INT(net_addr_parse("192.0.2.1", 5060, &a), 0);
	TEST_EQ_INT(net_addr_parse("192.0.2.1", 5060, &b), 0);
	TEST_EQ_INT(net_addr_parse("192.0.2.1", 5061, &c), 0);
	TEST_EQ_INT(net_addr_parse("::ffff:192.0.2.1", 5060, &d), 0);
	TEST_EQ_INT(net_addr_parse("192.0.2.2", 5060, &e), 0);
	/* padding differences do not matter */
	memset((char *)&b.ss + sizeof(struct sockaddr_in), 0xa5,
	       sizeof(b.ss) - sizeof(struct sockaddr_in));
	TEST_ASSERT(net_addr_eq(&a, &b));
	TEST_ASSERT(net_addr_hash(&a) == net_addr_hash(&b));
	TEST_ASSERT(!net_addr_eq(&a, &c));
	TEST_ASSERT(!net_addr_eq(&a, &d)); /* mapped is another family */
	TEST_ASSERT(!net_addr_eq(&a, &e));
	TEST_ASSERT(net_addr_hash(&a) != net_addr_hash(&c));

	TEST_EQ_INT(net_addr_parse("fe80::1%1", 5060, &a), 0);
	TEST_EQ_INT(net_addr_parse("fe80::1%2", 5060, &b), 0);
	TEST_ASSERT(!net_addr_eq(&a, &b)); /* another link */
	TEST_ASSERT(net_addr_eq(&a, &a));

	TEST_EQ_INT(net_addr_parse("0.0.0.0", 1, &a), 0);
	TEST_EQ_INT(net_addr_parse("::", 1, &b), 0);
	TEST_ASSERT(net_addr_is_any(&a) && net_addr_is_any(&b));
	TEST_ASSERT(!net_addr_is_any(&c));
	TEST_EQ_INT(net_addr_from_sa(&e, (struct sockaddr *)&c.ss, 3), -EINVAL);
	TEST_EQ_INT(net_addr_from_sa(&e, (struct sockaddr *)&c.ss, c.len), 0);
	TEST_ASSERT(net_addr_eq(&e, &c));
	return 0;
}
