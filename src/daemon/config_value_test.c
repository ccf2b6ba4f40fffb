/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of sipcertd.conf values (config_value.c): listen addresses in
 * their IPv4 and IPv6 forms, relative paths, a wrong value of each kind
 * with its FILE:LINE, list limits. */
#include "testconf.h"

TEST(config_load_ipv6_listen_forms)
{
	static const struct {
		const char *value;
		enum config_transport transport;
		const char *host;
		unsigned port;
	} ok[] = {
		{"udp:[::1]:5070", CONFIG_UDP, "::1", 5070},
		{"tcp:[::]", CONFIG_TCP, "::", 5060},
		{"tls:[2001:db8::5]:15061", CONFIG_TLS, "2001:db8::5", 15061},
		{"TLS:[::ffff:192.0.2.1]", CONFIG_TLS, "::ffff:192.0.2.1",
		 5061},
		{"udp:[fe80::1:2:3:4]:1", CONFIG_UDP, "fe80::1:2:3:4", 1},
	};
	static const struct {
		const char *value, *error;
	} bad[] = {
		{"udp:::1", "an IPv6 address goes in brackets"},
		{"udp:::1:5060", "an IPv6 address goes in brackets"},
		{"udp:[::1", "no ']' after the IPv6 address"},
		{"udp:[::1]5060", "expected ':port' after ']'"},
		{"udp:[192.0.2.1]:5060", "192.0.2.1 is not an IPv6 address"},
		{"udp:[fe80::1%eth0]", "fe80::1%eth0 is not an IPv6 address"},
		{"udp:[]:5060", "missing or overlong address"},
		{"udp:[::1]:0", "0 is not a port (1-65535)"},
		{"tls:[::1]:65536", "65536 is not a port (1-65535)"},
		{"tcp:localhost:5060", "localhost is not an IPv4 address"},
		{"sctp:[::1]", "start with udp:, tcp: or tls:"},
	};
	struct tdir t;
	struct config c;
	struct buf e;
	char text[256];
	int rc = -1;

	buf_init(&e, 8192);
	CHECK(!tdir_make(&t, true));
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		fmt(text, sizeof(text), "[sip]\nlisten = %s\n", ok[i].value);
		CHECK(load_text(&t, text, &c, &e) == 0);
		CHECK(c.sip.n_listen == 1);
		CHECK(c.sip.listen[0].transport == ok[i].transport);
		CHECK(c.sip.listen[0].is_ipv6);
		TEST_EQ_STR(c.sip.listen[0].host, ok[i].host);
		CHECK(c.sip.listen[0].port == ok[i].port);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char want[256];

		fmt(text, sizeof(text), "[sip]\nlisten = %s\n", bad[i].value);
		CHECK(load_text(&t, text, &c, &e) == -EINVAL);
		fmt(want, sizeof(want),
		    "sipcertd.conf:2: [sip] listen: '%s': %s", bad[i].value,
		    bad[i].error);
		TEST_HAS(&e, want);
	}
	/* HTTPS entries take no transport */
	CHECK(load_text(&t, "[https]\nlisten = [::1]:8443, [::2]\n", &c, &e) ==
	      0);
	CHECK(c.https.n_listen == 2 && c.https.listen[0].port == 8443 &&
	      c.https.listen[1].port == 443);
	TEST_EQ_STR(c.https.listen[1].host, "::2");
	CHECK(load_text(&t, "[https]\nlisten = tls:[::1]:8443\n", &c, &e) ==
	      -EINVAL);
	TEST_HAS(&e, "'tls:[::1]:8443': an IPv6 address goes in brackets");
	rc = 0;
out:
	tdir_remove(&t);
	buf_fini(&e);
	return rc;
}

TEST(config_load_relative_paths)
{
	static const char rel_conf[] =
		"[domain]\ncert = cert.pem\nkey = ../domain.key\n"
		"kek = ./../kek\n[store]\nurl = sqlite:s.db\n"
		"[control]\nsocket = c.sock\n";
	struct tdir t;
	struct config c;
	struct buf e;
	char p[TPATH], cwd[TPATH], want[TPATH];
	int rc = -1;
	bool moved = false;

	buf_init(&e, 8192);
	CHECK(!tdir_make(&t, true));
	CHECK(getcwd(cwd, sizeof(cwd)));
	CHECK(!mkdir(tdir_path(&t, "etc", p), 0700));
	CHECK(!tdir_write(&t, "etc/cert.pem", "x", 1));
	CHECK(!tdir_write(&t, "etc/sipcertd.conf", rel_conf, strlen(rel_conf)));
	/* named relative to the working directory: paths still absolute */
	CHECK(!chdir(t.dir));
	moved = true;
	CHECK(config_load(&c, "etc/sipcertd.conf", &e) == 0);
	TEST_EQ_STR(c.path, "etc/sipcertd.conf");
	TEST_EQ_STR(c.base_dir, tdir_path(&t, "etc", p));
	TEST_EQ_STR(c.domain.cert, tdir_path(&t, "etc/cert.pem", p));
	TEST_EQ_STR(c.domain.key, tdir_path(&t, "etc/../domain.key", p));
	TEST_EQ_STR(c.domain.kek, tdir_path(&t, "etc/./../kek", p));
	fmt(want, sizeof(want), "sqlite:%s/etc/s.db", t.dir);
	TEST_EQ_STR(c.store.url, want);
	TEST_EQ_STR(c.control.socket, tdir_path(&t, "etc/c.sock", p));
	/* through a symbolic link: the directory of the file itself */
	CHECK(!symlink("etc/sipcertd.conf", "link.conf"));
	CHECK(config_load(&c, "link.conf", &e) == 0);
	TEST_EQ_STR(c.path, "link.conf");
	TEST_EQ_STR(c.domain.cert, tdir_path(&t, "etc/cert.pem", p));
	/* a file named without a directory */
	CHECK(!chdir("etc"));
	CHECK(config_load(&c, "sipcertd.conf", &e) == 0);
	TEST_EQ_STR(c.domain.cert, tdir_path(&t, "etc/cert.pem", p));
	/* "sqlite:///abs" is an absolute path; ":memory:" is kept */
	CHECK(load_text(&t, "[store]\nurl = sqlite:///nonexistent/x.db\n", &c,
			&e) == -EINVAL);
	TEST_HAS(&e, "sipcertd.conf:2: [store] url: the directory of "
		     "/nonexistent/x.db does not exist");
	CHECK(load_text(&t, "[store]\nurl = sqlite://host/x.db\n", &c, &e) ==
	      -EINVAL);
	TEST_HAS(&e, "[store] url: 'sqlite://host/x.db': sqlite: takes a "
		     "path, not a host");
	CHECK(load_text(&t, "[store]\nurl = sqlite:\n", &c, &e) == -EINVAL);
	TEST_HAS(&e, "[store] url: 'sqlite:': no database file");
	CHECK(load_text(&t, "[store]\nurl = sqlite::memory:\n", &c, &e) == 0);
	TEST_EQ_STR(c.store.url, "sqlite::memory:");
	CHECK(load_text(&t, "[store]\nurl = postgresql://db/sipcert\n", &c,
			&e) == 0);
	TEST_EQ_STR(c.store.url, "postgresql://db/sipcert");
	rc = 0;
out:
	if (moved && chdir(cwd))
		rc = -1;
	tdir_remove(&t);
	buf_fini(&e);
	return rc;
}

/* One file with a bad value for each kind of key: every error is
 * reported, each with its line, and *out is left alone. */
TEST(config_load_value_errors)
{
	static const struct {
		const char *line, *error;
	} cases[] = {
		{"[domain]", NULL},
		{"name = -bad-.example",
		 "[domain] name: '-bad-.example' is not "
		 "a host name"},
		{"cert = missing.pem", "[domain] cert: MISSING/missing.pem: No "
				       "such file or directory"},
		{"key = .", "[domain] key: DIR/. is not a regular file"},
		{"trust_anchors = nope.pem", "[domain] trust_anchors: "
					     "DIR/nope.pem: No such file"},
		{"kek = loose-kek",
		 "[domain] kek: DIR/loose-kek has mode 0644: "
		 "group and other must have no access"},
		{"[sip]", NULL},
		{"listen = tls:127.0.0.1:70000", "[sip] listen: "
						 "'tls:127.0.0.1:70000': 70000 "
						 "is not a port (1-65535)"},
		{"advertised_host = [::1", "[sip] advertised_host: '[::1' is "
					   "not a host name"},
		{"max_message_bytes = 10", "[sip] max_message_bytes: 10 is out "
					   "of range (1500-16777216)"},
		{"max_connections = lots", "[sip] max_connections: 'lots' is "
					   "not a number"},
		{"idle_timeout = 5 minutes",
		 "[sip] idle_timeout: '5 minutes' is "
		 "not a duration"},
		{"message_timeout = 1500ms", "[sip] message_timeout: 1500ms is "
					     "not a whole number of seconds"},
		{"t1 = 500", "[sip] t1: '500' needs a unit, as in 500ms or "
			     "500s"},
		{"t2 = 1ms", "[sip] t2: 1ms is out of range (10ms-10m)"},
		{"t4 = 99999999999s", "[sip] t4: 99999999999s is out of range"},
		{"[tls]", NULL},
		{"require_client_cert = maybe", "[tls] require_client_cert: "
						"'maybe' is not a boolean"},
		{"min_version = 1.1", "[tls] min_version: '1.1' is not 1.2 or "
				      "1.3"},
		{"[https]", NULL},
		{"listen = none, 127.0.0.1", "[https] listen: 'none': none is "
					     "not an IPv4 address"},
		{"[auth]", NULL},
		{"realm = a\"b", "[auth] realm: a realm cannot hold"},
		{"algorithms = SHA-512", "[auth] algorithms: 'SHA-512' is not "
					 "SHA-256 or MD5"},
		{"max_failures = 0", "[auth] max_failures: 0 is out of range "
				     "(1-1000)"},
		{"[registrar]", NULL},
		{"max_bindings = 4294967296", "[registrar] max_bindings: "
					      "4294967296 is out of range"},
		{"[identity]", NULL},
		{"alg = ed25519", "[identity] alg: 'ed25519' is not rsa-sha256 "
				  "or rsa-sha1"},
		{"info_url = ftp://x/y", "[identity] info_url: 'ftp://x/y' is "
					 "not an https:// URL"},
		{"[store]", NULL},
		{"url = mysql://db", "[store] url: 'mysql://db': use "
				     "sqlite:PATH or postgresql://"},
		{"[log]", NULL},
		{"level = chatty", "[log] level: 'chatty' is not a level"},
		{"[control]", NULL},
		{"socket = no/such/dir/s.sock", "[control] socket: the "
						"directory of DIR/no/such/dir/"
						"s.sock does not exist"},
		{"[workers]", NULL},
		{"threads = 257", "[workers] threads: 257 is out of range "
				  "(1-256)"},
	};
	struct tdir t;
	struct config c, before;
	struct buf e, text;
	const char *s;
	char p[TPATH];
	int rc = -1;
	unsigned n_errors = 0;

	buf_init(&e, 64 * 1024);
	buf_init(&text, 8192);
	CHECK(!tdir_make(&t, true));
	CHECK(!tdir_write(&t, "loose-kek", "0123456789abcdef0123456789abcdef",
			  32));
	CHECK(!chmod(tdir_path(&t, "loose-kek", p), 0644));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		buf_printf(&text, "%s\n", cases[i].line);
	CHECK(!buf_cstr(&text, &s));
	memset(&before, 0x5a, sizeof(before));
	c = before;
	CHECK(load_text(&t, s, &c, &e) == -EINVAL);
	CHECK(!memcmp(&c, &before, sizeof(c)));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf want;
		const char *w, *hole;

		if (!cases[i].error)
			continue;
		n_errors++;
		buf_init(&want, 1024);
		buf_printf(&want, "sipcertd.conf:%zu: ", i + 1);
		/* DIR and MISSING stand for the scratch directory */
		hole = strstr(cases[i].error, "DIR");
		if (!hole)
			hole = strstr(cases[i].error, "MISSING");
		if (hole) {
			buf_append(&want, cases[i].error,
				   (size_t)(hole - cases[i].error));
			buf_append_cstr(&want, t.dir);
			buf_append_cstr(&want, hole + (*hole == 'D' ? 3 : 7));
		} else {
			buf_append_cstr(&want, cases[i].error);
		}
		if (buf_cstr(&want, &w) || !has_line(&e, w)) {
			TEST_FAIL_AT("no error \"%s\" in:\n%.*s",
				     want.p ? want.p : "", (int)e.len, e.p);
			buf_fini(&want);
			goto out;
		}
		buf_fini(&want);
	}
	CHECK(count_lines(&e) == n_errors);
	rc = 0;
out:
	tdir_remove(&t);
	buf_fini(&e);
	buf_fini(&text);
	return rc;
}

TEST(config_load_listen_limits)
{
	struct tdir t;
	struct config c;
	struct buf e, text;
	const char *s;
	int rc = -1;

	buf_init(&e, 8192);
	buf_init(&text, 8192);
	CHECK(!tdir_make(&t, true));
	buf_append_cstr(&text, "[sip]\n");
	for (unsigned i = 0; i <= CONFIG_LISTEN_MAX; i++)
		buf_printf(&text, "listen = udp:127.0.0.1:%u\n", 1000 + i);
	CHECK(!buf_cstr(&text, &s));
	CHECK(load_text(&t, s, &c, &e) == -EINVAL);
	TEST_HAS(&e, "sipcertd.conf:18: [sip] listen: more than 16 listen "
		     "addresses");
	CHECK(load_text(&t, "[sip]\nlisten = udp:127.0.0.1:1, \n", &c, &e) ==
	      -EINVAL);
	TEST_HAS(&e, "sipcertd.conf:2: [sip] listen: empty entry in the list");
	CHECK(load_text(&t, "[sip]\nlisten = udp:127.0.0.1:1,,tcp:[::1]\n", &c,
			&e) == -EINVAL);
	TEST_HAS(&e, "[sip] listen: empty entry in the list");
	CHECK(load_text(&t, "[https]\nlisten = 127.0.0.1:1\nlisten = none\n",
			&c, &e) == -EINVAL);
	TEST_HAS(&e, "sipcertd.conf:3: [https] listen: 'none' cannot be "
		     "combined with other listen lines (line 2)");
	CHECK(load_text(&t,
			"[https]\nlisten = none\nlisten = 127.0.0.1:1\n"
			"[identity]\ninfo_url = https://x/y\n",
			&c, &e) == -EINVAL);
	TEST_HAS(&e, "sipcertd.conf:3: [https] listen: 'none' was given "
		     "already (line 2)");
	CHECK(load_text(&t, "[auth]\nalgorithms = MD5, md5\n", &c, &e) ==
	      -EINVAL);
	TEST_HAS(&e, "[auth] algorithms: md5 is listed twice");
	CHECK(load_text(&t, "[auth]\nalgorithms = md5, sha-256\n", &c, &e) ==
	      0);
	CHECK(c.auth.n_algorithms == 2 &&
	      c.auth.algorithms[0] == CONFIG_DIGEST_MD5 &&
	      c.auth.algorithms[1] == CONFIG_DIGEST_SHA256);
	rc = 0;
out:
	tdir_remove(&t);
	buf_fini(&e);
	buf_fini(&text);
	return rc;
}
