/* SPDX-License-Identifier: BSD-3-Clause */
/* The configuration sipcert_domain_create() writes is one sipcertd
 * accepts: create a domain, load its sipcertd.conf with config_load(),
 * check the values. It spans libsipcert and the daemon, which no module
 * may include together (scripts/check-layers.sh), so it lives here. */
#include "test.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sipcert/admin.h>

#include "daemon/config.h"

/* snprintf that cuts silently: test paths are short, and a cut one just
 * fails the test's checks. */
PRINTF_LIKE(3, 4)
static void fmt(char *out, size_t size, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	(void)vsnprintf(out, size, f, ap);
	va_end(ap);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			fmt(p, sizeof(p), "%s/%s", dir, e->d_name);
			(void)unlink(p);
		}
	closedir(d);
	(void)rmdir(dir);
}

static int check_domain(const char *host, unsigned sip, unsigned tls,
			unsigned https)
{
	const char *base = getenv("TMPDIR");
	struct sipcert_domain_info info = {0};
	struct config c;
	struct buf e;
	char dir[256], p[512];
	int rc = -1;

	buf_init(&e, 16384);
	fmt(dir, sizeof(dir), "%s/sipcert-dconf-XXXXXX",
	    base && *base ? base : "/tmp");
	if (!mkdtemp(dir))
		return -1;
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			TEST_FAIL_AT("assertion failed: %s", #cond);           \
			goto out;                                              \
		}                                                              \
	} while (0)
	CHECK(sipcert_domain_create(
		      &(struct sipcert_domain_opts){
			      .domain = "example.com",
			      .host = host,
			      .dir = dir,
			      .sip_port = sip,
			      .tls_port = tls,
			      .https_port = https,
		      },
		      &info) == 0);
	if (config_load(&c, info.config, &e)) {
		TEST_FAIL_AT("%s does not load:\n%.*s", info.config, (int)e.len,
			     e.p);
		goto out;
	}
	CHECK(e.len == 0);
	TEST_EQ_STR(c.path, info.config);
	TEST_EQ_STR(c.base_dir, info.dir);
	TEST_EQ_STR(c.domain.name, "example.com");
	TEST_EQ_STR(c.domain.cert, info.cert);
	TEST_EQ_STR(c.domain.key, info.key);
	TEST_EQ_STR(c.domain.trust_anchors, info.ca_cert);
	TEST_EQ_STR(c.domain.kek, info.kek);
	fmt(p, sizeof(p), "sqlite:%s", info.store);
	TEST_EQ_STR(c.store.url, p);
	fmt(p, sizeof(p), "%s/control.sock", info.dir);
	TEST_EQ_STR(c.control.socket, p);
	CHECK(c.sip.n_listen == 3);
	CHECK(c.sip.listen[0].transport == CONFIG_UDP &&
	      c.sip.listen[0].port == info.sip_port);
	CHECK(c.sip.listen[1].transport == CONFIG_TCP &&
	      c.sip.listen[1].port == info.sip_port);
	CHECK(c.sip.listen[2].transport == CONFIG_TLS &&
	      c.sip.listen[2].port == info.tls_port);
	for (size_t i = 0; i < 3; i++)
		TEST_EQ_STR(c.sip.listen[i].host, "127.0.0.1");
	CHECK(c.https.n_listen == 1 &&
	      c.https.listen[0].port == info.https_port);
	TEST_EQ_STR(c.auth.realm, "example.com");
	/* everything else is at its default */
	CHECK(c.sip.t1_ms == 500 && c.sip.t2_ms == 4000 && c.sip.t4_ms == 5000);
	CHECK(c.registrar.min_expires_s == 60 &&
	      c.registrar.default_expires_s == 3600 &&
	      c.registrar.max_expires_s == 86400);
	CHECK(c.subscriptions.default_expires_s == 86400 &&
	      c.subscriptions.notify_min_interval_s == 60);
	CHECK(c.identity.alg == CONFIG_IDENTITY_RSA_SHA256 &&
	      !c.identity.info_url[0]);
	CHECK(c.log.level == LOG_LEVEL_INFO && !c.log.to_syslog);
	CHECK(c.workers.threads == 4);
	TEST_EQ_STR(c.sip.advertised_host, "");
	rc = 0;
out:
#undef CHECK
	sipcert_domain_info_fini(&info);
	remove_dir(dir);
	buf_fini(&e);
	return rc;
}

TEST(domain_config_loads_with_defaults)
{
	return check_domain(NULL, 0, 0, 0);
}

TEST(domain_config_loads_with_ports_and_host)
{
	return check_domain("sip.example.net", 5070, 5071, 443);
}
