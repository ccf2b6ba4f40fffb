/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of sipcertd.conf loading (config.c): defaults, every key, the
 * grammar and each class of error with its FILE:LINE, duplicates, unknown
 * names, checks across keys, the example file. */
#include "testconf.h"

/* ---- defaults ------------------------------------------------------- */

TEST(config_defaults_are_the_documented_ones)
{
	struct config c;

	config_defaults(&c, "/var/lib/sipcert");
	TEST_EQ_STR(c.path, "");
	TEST_EQ_STR(c.base_dir, "/var/lib/sipcert");
	TEST_EQ_STR(c.domain.name, "example.test");
	TEST_EQ_STR(c.domain.cert, "/var/lib/sipcert/domain.pem");
	TEST_EQ_STR(c.domain.key, "/var/lib/sipcert/domain.key");
	TEST_EQ_STR(c.domain.kek, "/var/lib/sipcert/kek");
	TEST_EQ_STR(c.domain.trust_anchors, "");
	TEST_EQ_INT(c.sip.n_listen, 3);
	TEST_EQ_INT(c.sip.listen[0].transport, CONFIG_UDP);
	TEST_EQ_INT(c.sip.listen[1].transport, CONFIG_TCP);
	TEST_EQ_INT(c.sip.listen[2].transport, CONFIG_TLS);
	TEST_EQ_INT(c.sip.listen[0].port, 5060);
	TEST_EQ_INT(c.sip.listen[1].port, 5060);
	TEST_EQ_INT(c.sip.listen[2].port, 5061);
	for (size_t i = 0; i < 3; i++) {
		TEST_EQ_STR(c.sip.listen[i].host, "127.0.0.1");
		TEST_ASSERT(!c.sip.listen[i].is_ipv6);
	}
	TEST_EQ_STR(c.sip.advertised_host, "");
	TEST_EQ_INT(c.sip.max_message_bytes, 65535);
	TEST_EQ_INT(c.sip.max_connections, 4096);
	TEST_EQ_INT(c.sip.idle_timeout_s, 300);
	TEST_EQ_INT(c.sip.message_timeout_s, 10);
	TEST_EQ_INT(c.sip.t1_ms, 500);
	TEST_EQ_INT(c.sip.t2_ms, 4000);
	TEST_EQ_INT(c.sip.t4_ms, 5000);
	TEST_ASSERT(!c.tls.require_client_cert);
	TEST_EQ_STR(c.tls.client_ca, "");
	TEST_EQ_INT(c.tls.min_version, CONFIG_TLS_1_2);
	TEST_EQ_INT(c.https.n_listen, 1);
	TEST_EQ_STR(c.https.listen[0].host, "127.0.0.1");
	TEST_EQ_INT(c.https.listen[0].port, 8443);
	TEST_EQ_INT(c.https.listen[0].transport, CONFIG_TLS);
	TEST_EQ_INT(c.https.cert_cache_max_age_s, 86400);
	TEST_ASSERT(c.https.metrics);
	TEST_EQ_STR(c.auth.realm, "example.test");
	TEST_EQ_INT(c.auth.n_algorithms, 2);
	TEST_EQ_INT(c.auth.algorithms[0], CONFIG_DIGEST_SHA256);
	TEST_EQ_INT(c.auth.algorithms[1], CONFIG_DIGEST_MD5);
	TEST_EQ_INT(c.auth.nonce_lifetime_s, 300);
	TEST_EQ_INT(c.auth.max_failures, 5);
	TEST_EQ_INT(c.auth.backoff_s, 60);
	TEST_EQ_INT(c.registrar.min_expires_s, 60);
	TEST_EQ_INT(c.registrar.default_expires_s, 3600);
	TEST_EQ_INT(c.registrar.max_expires_s, 86400);
	TEST_EQ_INT(c.registrar.max_bindings, 10);
	TEST_EQ_INT(c.subscriptions.min_expires_s, 60);
	TEST_EQ_INT(c.subscriptions.default_expires_s, 86400);
	TEST_EQ_INT(c.subscriptions.max_expires_s, 7 * 86400);
	TEST_EQ_INT(c.subscriptions.notify_min_interval_s, 60);
	TEST_EQ_INT(c.subscriptions.max_per_aor, 100);
	TEST_EQ_INT(c.identity.alg, CONFIG_IDENTITY_RSA_SHA256);
	TEST_EQ_STR(c.identity.info_url, "");
	TEST_EQ_STR(c.store.url, "sqlite:/var/lib/sipcert/sipcertd.db");
	TEST_EQ_INT(c.log.level, LOG_LEVEL_INFO);
	TEST_ASSERT(!c.log.to_syslog);
	TEST_EQ_STR(c.control.socket, "/var/lib/sipcert/control.sock");
	TEST_EQ_INT(c.workers.threads, 4);
	config_fini(&c);
	TEST_EQ_STR(c.domain.name, "");
	return 0;
}

TEST(config_defaults_with_overlong_dir)
{
	static char dir[CONFIG_PATH_MAX + 10];
	struct config c;
	struct buf e;
	int err;

	memset(dir, 'a', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = '\0';
	config_defaults(&c, dir);
	TEST_EQ_STR(c.base_dir, ".");
	TEST_EQ_STR(c.domain.cert, "./domain.pem");
	/* a directory that fits the paths but not the socket */
	dir[200] = '\0';
	config_defaults(&c, dir);
	TEST_EQ_STR(c.control.socket, "");
	TEST_ASSERT(strlen(c.domain.cert) == 200 + strlen("/domain.pem"));
	buf_init(&e, 8192);
	err = config_check(&c, &e);
	TEST_EQ_INT(err, -EINVAL);
	err = has_line(&e, "defaults: [control] socket: the default path is "
			   "longer than 107 bytes")
		      ? 0
		      : -1;
	buf_fini(&e);
	TEST_EQ_INT(err, 0);
	config_defaults(&c, NULL);
	TEST_EQ_STR(c.base_dir, ".");
	config_defaults(NULL, "/x"); /* harmless */
	return 0;
}

TEST(config_check_names_missing_default_files)
{
	struct tdir t;
	struct config c;
	struct buf e;
	char want[TPATH + 64];
	int rc = -1;

	buf_init(&e, 16384);
	CHECK(!tdir_make(&t, false));
	config_defaults(&c, t.dir);
	CHECK(config_check(&c, &e) == -EINVAL);
	fmt(want, sizeof(want),
	    "defaults: [domain] cert: %s/domain.pem "
	    "(the default): No such file or directory",
	    t.dir);
	TEST_HAS(&e, want);
	TEST_HAS(&e, "defaults: [domain] key: ");
	TEST_HAS(&e, "defaults: [domain] kek: ");
	CHECK(count_lines(&e) == 3);
	tdir_remove(&t);
	CHECK(!tdir_make(&t, true));
	config_defaults(&c, t.dir);
	buf_reset(&e);
	CHECK(config_check(&c, &e) == 0);
	CHECK(e.len == 0);
	CHECK(config_check(NULL, &e) == -EINVAL);
	rc = 0;
out:
	tdir_remove(&t);
	buf_fini(&e);
	return rc;
}

/* ---- loading -------------------------------------------------------- */

TEST(config_load_minimal_file_keeps_defaults)
{
	struct tdir t;
	struct config c, d;
	struct buf e;
	char p[TPATH];
	int rc = -1;

	buf_init(&e, 8192);
	CHECK(!tdir_make(&t, true));
	CHECK(load_text(&t, "[domain]\nname = sip.example.com\n", &c, &e) == 0);
	CHECK(e.len == 0);
	TEST_EQ_STR(c.path, tdir_path(&t, "sipcertd.conf", p));
	TEST_EQ_STR(c.domain.name, "sip.example.com");
	/* the realm follows the domain (RFC 3261 §22.1) */
	TEST_EQ_STR(c.auth.realm, "sip.example.com");
	config_defaults(&d, c.base_dir);
	TEST_EQ_STR(c.domain.cert, d.domain.cert);
	TEST_EQ_STR(c.store.url, d.store.url);
	CHECK(c.sip.n_listen == 3 && c.https.n_listen == 1);
	CHECK(c.registrar.default_expires_s == 3600);
	/* an empty file is the defaults, too */
	CHECK(load_text(&t, "", &c, &e) == 0);
	TEST_EQ_STR(c.domain.name, "example.test");
	TEST_EQ_STR(c.auth.realm, "example.test");
	rc = 0;
out:
	tdir_remove(&t);
	buf_fini(&e);
	return rc;
}

static const char full_conf[] =
	"; every key, none at its default\n"
	"[domain]\n"
	"name = example.com\n"
	"cert = certs/domain.pem\n"
	"key = certs/domain.key\n"
	"trust_anchors = certs/ca.pem\n"
	"kek = /KEKDIR/kek\n"
	"\n"
	"[sip]\n"
	"listen = udp:192.0.2.1:5070, tcp:[2001:db8::1]:5070\n"
	"listen = tls:[::1], udp:0.0.0.0\n"
	"advertised_host = sip.example.com\n"
	"max_message_bytes = 128k\n"
	"max_connections = 100\n"
	"idle_timeout = 10m\n"
	"message_timeout = 30\n"
	"t1 = 250ms\n"
	"t2 = 8s\n"
	"t4 = 2500ms\n"
	"[tls]\n"
	"require_client_cert = on\n"
	"client_ca = certs/clients.pem\n"
	"min_version = 1.3\n"
	"[https]\n"
	"listen = [::]:443, 127.0.0.1\n"
	"cert_cache_max_age = 10m\n"
	"metrics = no\n"
	"[auth]\n"
	"realm = Example Users\n"
	"algorithms = md5\n"
	"nonce_lifetime = 1h\n"
	"max_failures = 3\n"
	"backoff = 2m\n"
	"[registrar]\n"
	"min_expires = 30\n"
	"default_expires = 2h\n"
	"max_expires = 2d\n"
	"max_bindings = 4\n"
	"[subscriptions]\n"
	"min_expires = 2m\n"
	"default_expires = 12h\n"
	"max_expires = 14d\n"
	"notify_min_interval = 0\n"
	"max_per_aor = 7\n"
	"[identity]\n"
	"alg = rsa-sha1\n"
	"info_url = https://certs.example.com/domain.pem\n"
	"[store]\n"
	"url = sqlite:data/store.db\n"
	"[log]\n"
	"level = debug\n"
	"syslog = yes\n"
	"[control]\n"
	"socket = /run/sipcertd.sock\n"
	"[workers]\n"
	"threads = 16\n";

/* full_conf with KEKDIR replaced by dir, and its files made. */
static int full_conf_setup(const struct tdir *t, struct buf *text)
{
	static const char *const files[] = {"certs/domain.pem",
					    "certs/domain.key", "certs/ca.pem",
					    "certs/clients.pem"};
	const char *at = strstr(full_conf, "/KEKDIR");
	char p[TPATH];
	int err;

	buf_append(text, full_conf, (size_t)(at - full_conf));
	buf_append_cstr(text, t->dir);
	buf_append_cstr(text, at + strlen("/KEKDIR"));
	if (mkdir(tdir_path(t, "certs", p), 0700) ||
	    mkdir(tdir_path(t, "data", p), 0700))
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		err = tdir_write(t, files[i], "x", 1);
		if (err)
			return err;
	}
	return text->err;
}

TEST(config_load_every_key)
{
	struct tdir t;
	struct config c;
	struct buf e, text;
	const char *s;
	char p[TPATH];
	int rc = -1;

	buf_init(&e, 8192);
	buf_init(&text, 8192);
	CHECK(!tdir_make(&t, true));
	CHECK(!full_conf_setup(&t, &text) && !buf_cstr(&text, &s));
	CHECK(load_text(&t, s, &c, &e) == 0);
	TEST_EQ_STR(c.domain.name, "example.com");
	TEST_EQ_STR(c.domain.cert, tdir_path(&t, "certs/domain.pem", p));
	TEST_EQ_STR(c.domain.key, tdir_path(&t, "certs/domain.key", p));
	TEST_EQ_STR(c.domain.trust_anchors, tdir_path(&t, "certs/ca.pem", p));
	TEST_EQ_STR(c.domain.kek, tdir_path(&t, "kek", p));
	CHECK(c.sip.n_listen == 4);
	CHECK(c.sip.listen[0].transport == CONFIG_UDP);
	TEST_EQ_STR(c.sip.listen[0].host, "192.0.2.1");
	CHECK(c.sip.listen[0].port == 5070 && !c.sip.listen[0].is_ipv6);
	CHECK(c.sip.listen[1].transport == CONFIG_TCP);
	TEST_EQ_STR(c.sip.listen[1].host, "2001:db8::1");
	CHECK(c.sip.listen[1].port == 5070 && c.sip.listen[1].is_ipv6);
	CHECK(c.sip.listen[2].transport == CONFIG_TLS);
	TEST_EQ_STR(c.sip.listen[2].host, "::1");
	CHECK(c.sip.listen[2].port == 5061);
	CHECK(c.sip.listen[3].transport == CONFIG_UDP);
	TEST_EQ_STR(c.sip.listen[3].host, "0.0.0.0");
	CHECK(c.sip.listen[3].port == 5060);
	TEST_EQ_STR(c.sip.advertised_host, "sip.example.com");
	CHECK(c.sip.max_message_bytes == 128 * 1024);
	CHECK(c.sip.max_connections == 100);
	CHECK(c.sip.idle_timeout_s == 600);
	CHECK(c.sip.message_timeout_s == 30);
	CHECK(c.sip.t1_ms == 250 && c.sip.t2_ms == 8000 && c.sip.t4_ms == 2500);
	CHECK(c.tls.require_client_cert);
	TEST_EQ_STR(c.tls.client_ca, tdir_path(&t, "certs/clients.pem", p));
	CHECK(c.tls.min_version == CONFIG_TLS_1_3);
	CHECK(c.https.n_listen == 2);
	TEST_EQ_STR(c.https.listen[0].host, "::");
	CHECK(c.https.listen[0].port == 443 && c.https.listen[0].is_ipv6);
	TEST_EQ_STR(c.https.listen[1].host, "127.0.0.1");
	CHECK(c.https.listen[1].port == 443);
	CHECK(c.https.cert_cache_max_age_s == 600 && !c.https.metrics);
	TEST_EQ_STR(c.auth.realm, "Example Users");
	CHECK(c.auth.n_algorithms == 1 &&
	      c.auth.algorithms[0] == CONFIG_DIGEST_MD5);
	CHECK(c.auth.nonce_lifetime_s == 3600 && c.auth.max_failures == 3 &&
	      c.auth.backoff_s == 120);
	CHECK(c.registrar.min_expires_s == 30 &&
	      c.registrar.default_expires_s == 7200 &&
	      c.registrar.max_expires_s == 2 * 86400 &&
	      c.registrar.max_bindings == 4);
	CHECK(c.subscriptions.min_expires_s == 120 &&
	      c.subscriptions.default_expires_s == 43200 &&
	      c.subscriptions.max_expires_s == 14 * 86400 &&
	      c.subscriptions.notify_min_interval_s == 0 &&
	      c.subscriptions.max_per_aor == 7);
	CHECK(c.identity.alg == CONFIG_IDENTITY_RSA_SHA1);
	TEST_EQ_STR(c.identity.info_url,
		    "https://certs.example.com/domain.pem");
	fmt(p, sizeof(p), "sqlite:%s/data/store.db", t.dir);
	TEST_EQ_STR(c.store.url, p);
	CHECK(c.log.level == LOG_LEVEL_DEBUG && c.log.to_syslog);
	TEST_EQ_STR(c.control.socket, "/run/sipcertd.sock");
	CHECK(c.workers.threads == 16);
	rc = 0;
out:
	tdir_remove(&t);
	buf_fini(&e);
	buf_fini(&text);
	return rc;
}

/* Every strict prefix of a valid file is handled: loaded or refused with
 * errors, never a crash or a leak. */
TEST(config_load_every_prefix)
{
	struct tdir t;
	struct config c;
	struct buf e, text;
	const char *s;
	char p[TPATH];
	int rc = -1;

	buf_init(&e, 64 * 1024);
	buf_init(&text, 8192);
	CHECK(!tdir_make(&t, true));
	CHECK(!full_conf_setup(&t, &text) && !buf_cstr(&text, &s));
	for (size_t n = 0; n < text.len; n++) {
		int err;

		CHECK(!tdir_write(&t, "sipcertd.conf", s, n));
		buf_reset(&e);
		err = config_load(&c, tdir_path(&t, "sipcertd.conf", p), &e);
		CHECK(err == 0 || err == -EINVAL);
		CHECK((err == 0) == (e.len == 0));
	}
	rc = 0;
out:
	tdir_remove(&t);
	buf_fini(&e);
	buf_fini(&text);
	return rc;
}

TEST(config_load_lexical_forms)
{
	struct tdir t;
	struct config c;
	struct buf e;
	int rc = -1;

	buf_init(&e, 8192);
	CHECK(!tdir_make(&t, true));
	/* BOM, CRLF, indentation, comments of both kinds, inline comment,
	 * repeated section header, spaces around '=' */
	CHECK(load_text(&t,
			"\xef\xbb\xbf; comment\r\n"
			"# another\r\n"
			"  [sip]   ; trailing comment\r\n"
			"\tmax_connections=12 ; inline\r\n"
			"    idle_timeout   =   1h\r\n"
			"[log]\r\n"
			"level = warning\r\n"
			"[sip]\r\n"
			"t1 = 1s\r\n",
			&c, &e) == 0);
	CHECK(c.sip.max_connections == 12);
	CHECK(c.sip.idle_timeout_s == 3600);
	CHECK(c.sip.t1_ms == 1000);
	CHECK(c.log.level == LOG_LEVEL_WARNING);
	/* booleans, every spelling */
	{
		static const char *const yes[] = {"yes", "TRUE", "On", "1"};
		static const char *const no[] = {"no", "False", "OFF", "0"};
		char text[128];

		for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
			fmt(text, sizeof(text), "[log]\nsyslog = %s\n", yes[i]);
			CHECK(load_text(&t, text, &c, &e) == 0);
			CHECK(c.log.to_syslog);
			fmt(text, sizeof(text), "[log]\nsyslog = %s\n", no[i]);
			CHECK(load_text(&t, text, &c, &e) == 0);
			CHECK(!c.log.to_syslog);
		}
	}
	/* sizes and durations */
	CHECK(load_text(&t,
			"[sip]\nmax_message_bytes = 1M\nidle_timeout = 1d\n"
			"t2 = 1m\n[subscriptions]\nmax_expires = 30d\n",
			&c, &e) == 0);
	CHECK(c.sip.max_message_bytes == 1024 * 1024);
	CHECK(c.sip.idle_timeout_s == 86400 && c.sip.t2_ms == 60000);
	CHECK(c.subscriptions.max_expires_s == 30 * 86400);
	CHECK(load_text(&t, "[sip]\nmax_message_bytes = 2000\n", &c, &e) == 0);
	CHECK(c.sip.max_message_bytes == 2000);
	/* HTTPS off, with the URL given elsewhere */
	CHECK(load_text(&t,
			"[https]\nlisten = none\n[identity]\n"
			"info_url = http://203.0.113.5/c.pem\n",
			&c, &e) == 0);
	CHECK(c.https.n_listen == 0);
	rc = 0;
out:
	tdir_remove(&t);
	buf_fini(&e);
	return rc;
}

TEST(config_load_duplicates_and_repeatable_listen)
{
	struct tdir t;
	struct config c;
	struct buf e;
	int rc = -1;

	buf_init(&e, 8192);
	CHECK(!tdir_make(&t, true));
	CHECK(load_text(&t,
			"[sip]\nmax_connections = 5\n[log]\nlevel = debug\n"
			"[sip]\nmax_connections = 6\n",
			&c, &e) == -EINVAL);
	TEST_HAS(&e, "sipcertd.conf:6: [sip] max_connections: given twice "
		     "(first on line 2)");
	CHECK(count_lines(&e) == 1);
	/* a wrong first value still counts as given */
	CHECK(load_text(&t, "[log]\nlevel = loud\nlevel = info\n", &c, &e) ==
	      -EINVAL);
	TEST_HAS(&e, "sipcertd.conf:2: [log] level: 'loud' is not a level");
	TEST_HAS(&e, "sipcertd.conf:3: [log] level: given twice (first on "
		     "line 2)");
	/* listen adds up over lines */
	CHECK(load_text(&t,
			"[sip]\nlisten = udp:127.0.0.1:1\nlisten = "
			"udp:127.0.0.1:2, udp:127.0.0.1:3\n",
			&c, &e) == 0);
	CHECK(c.sip.n_listen == 3 && c.sip.listen[2].port == 3);
	/* the same address twice, and TCP-family sharing a port */
	CHECK(load_text(&t,
			"[sip]\nlisten = udp:127.0.0.1:7, tcp:127.0.0.1:7\n"
			"listen = udp:127.0.0.1:7\nlisten = tls:127.0.0.1:7\n"
			"[https]\nlisten = 127.0.0.1:7\n",
			&c, &e) == -EINVAL);
	TEST_HAS(&e, "sipcertd.conf:3: [sip] listen: 127.0.0.1 port 7 is "
		     "already taken by [sip] listen (line 2)");
	TEST_HAS(&e, "sipcertd.conf:4: [sip] listen: 127.0.0.1 port 7 is "
		     "already taken by [sip] listen (line 2)");
	TEST_HAS(&e, "sipcertd.conf:6: [https] listen: 127.0.0.1 port 7 is "
		     "already taken by [sip] listen (line 2)");
	/* a conflict on IPv6 shows the brackets */
	CHECK(load_text(&t,
			"[sip]\nlisten = tcp:[::1]:9\n[https]\n"
			"listen = [::1]:9\n",
			&c, &e) == -EINVAL);
	TEST_HAS(&e, "sipcertd.conf:4: [https] listen: [::1] port 9 is "
		     "already taken by [sip] listen (line 2)");
	rc = 0;
out:
	tdir_remove(&t);
	buf_fini(&e);
	return rc;
}

TEST(config_load_unknown_names)
{
	struct tdir t;
	struct config c;
	struct buf e;
	int rc = -1;

	buf_init(&e, 8192);
	CHECK(!tdir_make(&t, true));
	CHECK(load_text(&t,
			"orphan = 1\n"
			"[sipp]\n"
			"ignored = because the section was reported\n"
			"[frobnicate]\n"
			"[sip]\n"
			"max_conections = 5\n"
			"realm = x\n"
			"colour = blue\n"
			"[SIP]\n",
			&c, &e) == -EINVAL);
	TEST_HAS(&e, "sipcertd.conf:1: 'orphan' outside any section");
	TEST_HAS(&e, "sipcertd.conf:2: unknown section [sipp] (did you mean "
		     "[sip]?)");
	TEST_HAS(&e, "sipcertd.conf:4: unknown section [frobnicate]\n");
	TEST_HAS(&e, "sipcertd.conf:6: [sip] unknown key 'max_conections' "
		     "(did you mean 'max_connections'?)");
	TEST_HAS(&e, "sipcertd.conf:7: [sip] unknown key 'realm' (it belongs "
		     "in [auth])");
	TEST_HAS(&e, "sipcertd.conf:8: [sip] unknown key 'colour'\n");
	TEST_HAS(&e, "sipcertd.conf:9: unknown section [SIP] (did you mean "
		     "[sip]?)");
	CHECK(count_lines(&e) == 7);
	rc = 0;
out:
	tdir_remove(&t);
	buf_fini(&e);
	return rc;
}

TEST(config_load_syntax_errors)
{
	static char long_line[400];
	struct tdir t;
	struct config c;
	struct buf e, text;
	const char *s;
	int rc = -1;

	buf_init(&e, 8192);
	buf_init(&text, 8192);
	CHECK(!tdir_make(&t, true));
	memset(long_line, 'x', sizeof(long_line) - 1);
	buf_printf(&text,
		   "[sip\n"		  /* 1 */
		   "[log] level = info\n" /* 2 */
		   "[]\n"		  /* 3 */
		   "[ log ]\n"		  /* 4 */
		   "[log]\n"		  /* 5 */
		   "level\n"		  /* 6 */
		   "level: info\n"	  /* 7 */
		   "= info\n"		  /* 8 */
		   "level ;c = info\n"	  /* 9 */
		   "syslog = %s\n"	  /* 10 */
		   "syslog = \n"	  /* 11 */
		   "level = in\tfo\n"	  /* 12 */
		   "level = info\rx\n"	  /* 13 */
		   "level = debug\n",	  /* 14 */
		   long_line);
	buf_append(&text, "x = \0\n", 6); /* 15 */
	CHECK(!buf_cstr(&text, &s));
	CHECK(!tdir_write(&t, "sipcertd.conf", text.p, text.len));
	{
		char p[TPATH];

		CHECK(config_load(&c, tdir_path(&t, "sipcertd.conf", p), &e) ==
		      -EINVAL);
	}
	TEST_HAS(&e, "sipcertd.conf:1: no ']' closing the section name");
	TEST_HAS(&e, "sipcertd.conf:2: text after the section header");
	TEST_HAS(&e, "sipcertd.conf:3: malformed section name '[]'");
	TEST_HAS(&e, "sipcertd.conf:4: malformed section name '[ log ]'");
	TEST_HAS(&e, "sipcertd.conf:6: expected 'key = value' or '[section]'");
	TEST_HAS(&e, "sipcertd.conf:7: expected 'key = value'");
	TEST_HAS(&e, "sipcertd.conf:8: no key before '='");
	TEST_HAS(&e, "sipcertd.conf:9: expected 'key = value'");
	TEST_HAS(&e, "sipcertd.conf:10: line longer than 198 characters");
	TEST_HAS(&e, "sipcertd.conf:11: [log] syslog: no value");
	TEST_HAS(&e, "sipcertd.conf:12: [log] level: control character in "
		     "the value");
	TEST_HAS(&e, "sipcertd.conf:13: control character in the line");
	/* the count survived the long line; line 12 counted as given */
	TEST_HAS(&e, "sipcertd.conf:14: [log] level: given twice (first on "
		     "line 12)");
	TEST_HAS(&e, "sipcertd.conf:15: control character in the line");
	CHECK(count_lines(&e) == 14);
	rc = 0;
out:
	tdir_remove(&t);
	buf_fini(&e);
	buf_fini(&text);
	return rc;
}

TEST(config_load_cross_key_errors)
{
	struct tdir t;
	struct config c;
	struct buf e;
	char want[TPATH + 128];
	int rc = -1;

	buf_init(&e, 8192);
	CHECK(!tdir_make(&t, true));
	CHECK(load_text(&t,
			"[sip]\n"
			"t2 = 400ms\n"
			"t1 = 1s\n"
			"[tls]\n"
			"require_client_cert = yes\n"
			"[registrar]\n"
			"min_expires = 2h\n"
			"[subscriptions]\n"
			"default_expires = 30d\n"
			"[https]\n"
			"listen = none\n",
			&c, &e) == -EINVAL);
	TEST_HAS(&e, "sipcertd.conf:3: [sip] t1 (1000) is greater than t2 "
		     "(400)");
	TEST_HAS(&e, "sipcertd.conf:5: [tls] require_client_cert: yes needs "
		     "client_ca");
	TEST_HAS(&e, "sipcertd.conf:7: [registrar] min_expires (7200) is "
		     "greater than default_expires (3600)");
	TEST_HAS(&e, "sipcertd.conf:9: [subscriptions] default_expires "
		     "(2592000) is greater than max_expires (604800)");
	TEST_HAS(&e, "sipcertd.conf:11: [identity] info_url: needed when "
		     "[https] listen = none");
	CHECK(count_lines(&e) == 5);
	/* defaulted files are checked when needed, without a line */
	tdir_remove(&t);
	CHECK(!tdir_make(&t, false));
	CHECK(load_text(&t,
			"[sip]\nlisten = udp:127.0.0.1:5060\n"
			"[https]\nlisten = none\n[identity]\n"
			"info_url = https://h/c\n",
			&c, &e) == -EINVAL);
	fmt(want, sizeof(want),
	    "sipcertd.conf: [domain] kek: %s/kek "
	    "(the default): No such file",
	    t.dir);
	TEST_HAS(&e, want);
	/* even without TLS the key signs every NOTIFY (RFC 4474 §5): the
	 * certificate and key are needed too */
	fmt(want, sizeof(want),
	    "sipcertd.conf: [domain] key: %s/domain.key "
	    "(the default): No such file",
	    t.dir);
	TEST_HAS(&e, want);
	CHECK(count_lines(&e) == 3);
	/* the sip list cannot be emptied */
	CHECK(load_text(&t, "[sip]\nlisten = none\n", &c, &e) == -EINVAL);
	TEST_HAS(&e, "sipcertd.conf:2: [sip] listen: sipcertd needs at least "
		     "one SIP listen address");
	rc = 0;
out:
	tdir_remove(&t);
	buf_fini(&e);
	return rc;
}

TEST(config_load_unreadable_file)
{
	struct config c;
	struct buf e;
	int rc = -1;

	buf_init(&e, 1024);
	CHECK(config_load(&c, "/nonexistent/sipcertd.conf", &e) == -ENOENT);
	TEST_HAS(&e, "/nonexistent/sipcertd.conf: cannot read: No such file");
	CHECK(config_load(NULL, "x", &e) == -EINVAL);
	CHECK(config_load(&c, NULL, &e) == -EINVAL);
	CHECK(config_load(&c, "", &e) == -EINVAL);
	/* errors may be NULL: the code is still right */
	CHECK(config_load(&c, "/nonexistent/x", NULL) == -ENOENT);
	CHECK(!strcmp(config_transport_name(CONFIG_UDP), "udp") &&
	      !strcmp(config_transport_name(CONFIG_TCP), "tcp") &&
	      !strcmp(config_transport_name(CONFIG_TLS), "tls"));
	rc = 0;
out:
	buf_fini(&e);
	return rc;
}

/* etc/sipcertd.conf.example with its "; key = value" lines made live:
 * the values shown are the defaults, except for keys unset by default
 * (shown with an example value). DIR/ stands for the file's directory. */
static int example_uncommented(const char *text, size_t len, struct buf *out)
{
	static const char *const examples[] = {
		"trust_anchors", "advertised_host", "client_ca", "info_url"};
	const char *end = text + len;

	for (const char *l = text; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		size_t n = nl ? (size_t)(nl + 1 - l) : (size_t)(end - l);
		size_t k = 2;
		bool is_live = n > 2 && !strncmp(l, "; ", 2);

		while (is_live && k < n &&
		       (char_is_alpha(l[k]) || char_is_digit(l[k]) ||
			l[k] == '_'))
			k++;
		is_live = is_live && k > 2 && k + 3 < n &&
			  !strncmp(l + k, " = ", 3);
		for (size_t i = 0; is_live && i < ARRAY_SIZE(examples); i++)
			if (k - 2 == strlen(examples[i]) &&
			    !strncmp(l + 2, examples[i], k - 2))
				is_live = false;
		if (!is_live) {
			buf_append(out, l, n);
		} else {
			struct slice v = slice_of(l + 2, n - 2);
			const char *dir = memmem(v.p, v.len, "DIR/", 4);

			if (dir) {
				buf_append(out, v.p, (size_t)(dir - v.p));
				v = slice_of(dir + 4,
					     v.len - (size_t)(dir + 4 - v.p));
			}
			buf_append_slice(out, v);
		}
		l += n;
	}
	return out->err;
}

/* etc/sipcertd.conf.example is the defaults, annotated: loading it must
 * give exactly config_defaults(), as written (all commented out) and with
 * every default it shows uncommented. */
TEST(config_example_file_is_the_defaults)
{
	struct tdir t;
	struct config c, d;
	struct buf e, path, live;
	char *text = NULL;
	size_t len = 0;
	const char *p;
	int rc = -1;

	buf_init(&e, 8192);
	buf_init(&path, TPATH);
	buf_init(&live, 64 * 1024);
	CHECK(!tdir_make(&t, true));
	CHECK(!test_read_file("../../etc/sipcertd.conf.example", &text, &len));
	CHECK(!example_uncommented(text, len, &live));
	/* the uncommenting did something: every section has keys */
	CHECK(live.len < len);
	buf_printf(&path, "%s/sipcertd.conf", t.dir);
	CHECK(!buf_cstr(&path, &p));
	config_defaults(&d, t.dir);
	memcpy(d.path, p, strlen(p) + 1);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0)
			CHECK(!tdir_write(&t, "sipcertd.conf", text, len));
		else
			CHECK(!tdir_write(&t, "sipcertd.conf", live.p,
					  live.len));
		buf_reset(&e);
		if (config_load(&c, p, &e)) {
			TEST_FAIL_AT("pass %d: %.*s", pass, (int)e.len, e.p);
			goto out;
		}
		CHECK(!memcmp(&c, &d, sizeof(c)));
	}
	rc = 0;
out:
	mem_free(text);
	tdir_remove(&t);
	buf_fini(&e);
	buf_fini(&path);
	buf_fini(&live);
	return rc;
}
