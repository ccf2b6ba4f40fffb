/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for match.c: RFC 5922 §7 domain certificate identities. Whole
 * names, case-insensitive, no wildcards, no sub-domains, no IPs. */
#include <arpa/inet.h>

#include "crypto/testutil.h"

/* A raw certificate with the given CN and names "U:value" (URI), "D:"
 * (DNS), "I:" (IPv4 dotted quad) or "E:" (email). */
static int cert_with(X509 **out, const char *cn, const char *const *names,
		     size_t n)
{
	GENERAL_NAMES *gens = NULL;
	int err = 0;

	if (names) {
		gens = sk_GENERAL_NAME_new_null();
		if (!gens)
			return -ENOMEM;
	}
	for (size_t i = 0; !err && i < n; i++) {
		const char *v = names[i] + 2;
		unsigned char ip[4];

		switch (names[i][0]) {
		case 'U':
			err = test_gens_add(gens, GEN_URI, v, strlen(v));
			break;
		case 'D':
			err = test_gens_add(gens, GEN_DNS, v, strlen(v));
			break;
		case 'E':
			err = test_gens_add(gens, GEN_EMAIL, v, strlen(v));
			break;
		default:
			if (inet_pton(AF_INET, v, ip) != 1)
				err = -EINVAL;
			else
				err = test_gens_add(gens, GEN_IPADD, ip, 4);
			break;
		}
	}
	if (!err)
		err = test_cert_raw(out, cn, gens, false, false);
	GENERAL_NAMES_free(gens);
	return err;
}

struct match_case {
	const char *cn;
	const char *names[3]; /* NULL-terminated; names[0] NULL: no SAN */
	const char *host;
	int sip_domain; /* expected crypto_cert_matches_sip_domain() */
	int dns;	/* expected crypto_cert_matches_dns() */
};

static const struct match_case cases[] = {
	/* §7.2: DNS names compare case-insensitively */
	{NULL, {"U:sip:EXAMPLE.test"}, "example.test", 0, -ENOENT},
	{NULL, {"U:sip:example.test"}, "Example.TEST", 0, -ENOENT},
	{NULL, {"U:SIP:example.test"}, "example.test", 0, -ENOENT},
	/* §7.2: no sub-domain inference, either way */
	{NULL, {"U:sip:example.test"}, "a.example.test", -ENOENT, -ENOENT},
	{NULL, {"U:sip:a.example.test"}, "example.test", -ENOENT, -ENOENT},
	{NULL, {"D:example.test"}, "sip.example.test", -ENOENT, -ENOENT},
	{NULL, {"D:sip.example.test"}, "example.test", -ENOENT, -ENOENT},
	{NULL, {"D:example.test"}, "xexample.test", -ENOENT, -ENOENT},
	{NULL, {"D:example.test."}, "example.test", -ENOENT, -ENOENT},
	/* §7.2: "*.example.com" matches only itself, never a host */
	{NULL, {"D:*.example.test"}, "a.example.test", -ENOENT, -ENOENT},
	{NULL, {"U:sip:*.example.test"}, "a.example.test", -ENOENT, -ENOENT},
	{NULL, {"D:.example.test"}, "a.example.test", -ENOENT, -ENOENT},
	{"*.example.test", {NULL}, "a.example.test", -ENOENT, -ENOENT},
	/* §7.1: a URI with a user part is no domain identity; "sips" is
	 * not used; only the DNS name is compared, not port or params */
	{NULL, {"U:sip:alice@example.test"}, "example.test", -ENOENT, -ENOENT},
	{NULL, {"U:sips:example.test"}, "example.test", -ENOENT, -ENOENT},
	{NULL, {"U:sip:example.test:5061"}, "example.test", 0, -ENOENT},
	{NULL,
	 {"U:sip:example.test;transport=tls"},
	 "example.test",
	 0,
	 -ENOENT},
	{NULL, {"U:http://example.test/"}, "example.test", -ENOENT, -ENOENT},
	{NULL, {"U:sip:"}, "example.test", -ENOENT, -ENOENT},
	/* §7.1: DNS entries are SIP domain identities only when there is
	 * no sip URI identity */
	{NULL, {"D:example.test"}, "example.test", 0, 0},
	{NULL,
	 {"U:sip:other.test", "D:example.test"},
	 "example.test",
	 -ENOENT,
	 0},
	{NULL,
	 {"U:sip:bob@other.test", "D:example.test"},
	 "example.test",
	 0,
	 0},
	{NULL,
	 {"U:sip:example.test", "D:proxy.example.test"},
	 "proxy.example.test",
	 -ENOENT,
	 0},
	{NULL, {"D:Host.Example.Test"}, "host.example.test", 0, 0},
	/* the CN: for a SIP domain only without any SAN (§7.1 step 2); for
	 * a host only without URI and DNS entries (RFC 6125 §6.4.4) */
	{"example.test", {NULL}, "example.test", 0, 0},
	{"Example.Test", {NULL}, "example.test", 0, 0},
	{"example.test", {"D:other.test"}, "example.test", -ENOENT, -ENOENT},
	{"example.test",
	 {"U:sip:other.test"},
	 "example.test",
	 -ENOENT,
	 -ENOENT},
	{"example.test", {"I:192.0.2.1"}, "example.test", -ENOENT, 0},
	{"example.test", {"E:a@example.test"}, "example.test", -ENOENT, 0},
	{"Example Test CA", {NULL}, "example.test", -ENOENT, -ENOENT},
	{NULL, {NULL}, "example.test", -ENOENT, -ENOENT},
	/* an IP address is never a match, whatever the certificate says */
	{NULL, {"I:192.0.2.1"}, "192.0.2.1", -ENOENT, -ENOENT},
	{NULL, {"D:192.0.2.1"}, "192.0.2.1", -ENOENT, -ENOENT},
	{"192.0.2.1", {NULL}, "192.0.2.1", -ENOENT, -ENOENT},
	{NULL, {"U:sip:[2001:db8::1]"}, "2001:db8::1", -ENOENT, -ENOENT},
	{NULL, {"U:sip:[2001:db8::1]"}, "[2001:db8::1]", -ENOENT, -ENOENT},
	/* not a host name: API misuse */
	{NULL, {"D:example.test"}, "", -EINVAL, -EINVAL},
	{NULL, {"D:*.example.test"}, "*.example.test", -EINVAL, -EINVAL},
	{NULL, {"D:a..b"}, "a..b", -EINVAL, -EINVAL},
	{NULL, {"D:example.test"}, ".example.test", -EINVAL, -EINVAL},
	{NULL, {"D:exa mple.test"}, "exa mple.test", -EINVAL, -EINVAL},
};

TEST(crypto_cert_match_rfc5922_cases)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct match_case *c = &cases[i];
		size_t n = 0;
		X509 *x = NULL;
		int sip, dns;

		while (n < ARRAY_SIZE(c->names) && c->names[n])
			n++;
		TEST_EQ_INT(cert_with(&x, c->cn, n ? c->names : NULL, n), 0);
		sip = crypto_cert_matches_sip_domain(x, c->host);
		dns = crypto_cert_matches_dns(x, c->host);
		X509_free(x);
		if (sip != c->sip_domain || dns != c->dns) {
			TEST_FAIL_AT("case %zu (%s): sip %d dns %d, expected "
				     "%d %d",
				     i, c->host, sip, dns, c->sip_domain,
				     c->dns);
			return -1;
		}
	}
	return 0;
}

/* A NUL octet inside a name never lets its prefix match. */
TEST(crypto_cert_match_nul_in_name)
{
	static const char dns[] = "example.test\0.evil.test";
	static const char uri[] = "sip:example.test\0.evil.test";
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	X509 *x = NULL;
	int rc = -1;

	if (!gens || test_gens_add(gens, GEN_DNS, dns, sizeof(dns) - 1) ||
	    test_gens_add(gens, GEN_URI, uri, sizeof(uri) - 1) ||
	    test_cert_raw(&x, "example.test", gens, false, false))
		goto out;
	if (crypto_cert_matches_dns(x, "example.test") != -ENOENT ||
	    crypto_cert_matches_sip_domain(x, "example.test") != -ENOENT)
		goto out;
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	X509_free(x);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_cert_match_atlanta_cn)
{
	char *pem = NULL;
	size_t len = 0;
	X509 *x = NULL;
	int rc = -1;

	/* RFC 4474's certificates name their host in the CN only */
	TEST_EQ_INT(test_read_file("rfc4474/atlanta.cer", &pem, &len), 0);
	if (crypto_cert_from_pem(&x, pem, len) ||
	    crypto_cert_matches_dns(x, "atlanta.example.com") ||
	    crypto_cert_matches_sip_domain(x, "ATLANTA.example.com") ||
	    crypto_cert_matches_dns(x, "example.com") != -ENOENT)
		goto out;
	if (crypto_cert_matches_dns(NULL, "a.test") != -EINVAL ||
	    crypto_cert_matches_dns(x, NULL) != -EINVAL ||
	    crypto_cert_matches_sip_domain(NULL, "a.test") != -EINVAL ||
	    crypto_cert_matches_sip_domain(x, NULL) != -EINVAL)
		goto out;
	rc = 0;
out:
	mem_free(pem);
	X509_free(x);
	TEST_EQ_INT(rc, 0);
	return 0;
}
