/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for store.c and rec.c: opening by URL, the argument checks
 * every backend relies on, and single-allocation records. */
#include "store/testdb.h"

#include <fcntl.h>
#include <unistd.h>

#include "test.h"

static int open_close(const char *url)
{
	struct store *st = NULL;
	int rc = store_open(&st, url);

	if (!rc) {
		if (strcmp(store_backend(st), "sqlite"))
			rc = -1;
		store_close(st);
	}
	return rc;
}

TEST(store_open_url_forms)
{
	struct testdb t;
	char url[200];
	int rc;

	TEST_ASSERT(!testdb_init(&t));
	rc = open_close(t.url); /* sqlite:/tmp/... */
	if (!rc) {
		snprintf(url, sizeof(url), "sqlite://%s", t.path);
		rc = open_close(url);
	}
	testdb_fini(&t);
	TEST_EQ_INT(rc, 0);
	TEST_EQ_INT(open_close("sqlite::memory:"), 0);
	return 0;
}

TEST(store_open_rejects_bad_urls)
{
	struct store *st = (struct store *)&st; /* must stay untouched */
	struct store *const untouched = st;

	TEST_EQ_INT(store_open(&st, NULL), -EINVAL);
	TEST_EQ_INT(store_open(NULL, "sqlite::memory:"), -EINVAL);
	TEST_EQ_INT(store_open(&st, "sqlite:"), -EINVAL);
	TEST_ASSERT(strstr(store_last_error(NULL), "no database file"));
	TEST_EQ_INT(store_open(&st, "sqlite://host/db"), -EINVAL);
	TEST_ASSERT(strstr(store_last_error(NULL), "not a host"));
	TEST_EQ_INT(store_open(&st, "postgresql://db.example.com/sipcert"),
		    -EPROTONOSUPPORT);
	TEST_ASSERT(strstr(store_last_error(NULL), "PostgreSQL"));
	TEST_EQ_INT(store_open(&st, "mysql://x"), -EPROTONOSUPPORT);
	TEST_EQ_INT(store_open(&st, "/tmp/x.db"), -EPROTONOSUPPORT);
	TEST_ASSERT(st == untouched);
	/* a directory that does not exist cannot hold the file */
	TEST_EQ_INT(store_open(&st, "sqlite:/nonexistent-sipcert/x/y.db"),
		    -EIO);
	TEST_ASSERT(strstr(store_last_error(NULL), "y.db"));
	TEST_ASSERT(st == untouched);
	return 0;
}

TEST(store_open_rejects_a_file_that_is_not_a_database)
{
	static const char junk[] = "this is not an SQLite database, not at "
				   "all, it is just some text in a file...";
	struct store *st = NULL;
	struct testdb t;
	int fd, rc;

	TEST_ASSERT(!testdb_init(&t));
	fd = open(t.path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = fd >= 0 && write(fd, junk, sizeof(junk)) == sizeof(junk) ? 0 : -1;
	if (fd >= 0)
		close(fd);
	if (!rc)
		rc = store_open(&st, t.url);
	testdb_fini(&t);
	TEST_EQ_INT(rc, -EIO);
	TEST_ASSERT(!st);
	TEST_ASSERT(strstr(store_last_error(NULL), "not a database"));
	return 0;
}

TEST(store_null_handles)
{
	struct store_user *u = NULL;

	store_close(NULL);
	store_list_free(NULL, 3);
	store_user_free(NULL);
	store_cred_free(NULL);
	TEST_EQ_STR(store_backend(NULL), "");
	TEST_EQ_INT(store_user_add(NULL, NULL), -EINVAL);
	TEST_EQ_INT(store_user_get(NULL, "sip:a@example.com", &u), -EINVAL);
	TEST_EQ_INT(store_binding_purge(NULL, 0, NULL), -EINVAL);
	TEST_EQ_INT(store_cred_purge(NULL, 0, NULL), -EINVAL);
	TEST_EQ_INT(store_sub_purge(NULL, 0, NULL), -EINVAL);
	TEST_ASSERT(!u);
	return 0;
}

static const char hex32[] = "0123456789abcdef0123456789abcdef";
static const char hex64[] = "0123456789abcdef0123456789abcdef"
			    "0123456789abcdef0123456789abcdef";

static int user_checks(struct store *st, struct testdb *t)
{
	static const struct {
		const char *aor, *md5, *sha256;
		int rc;
		const char *why;
	} v[] = {
		{NULL, NULL, NULL, -EINVAL, "aor missing"},
		{"", NULL, NULL, -EINVAL, "aor empty"},
		{"sip:a@example.com", "0123", NULL, -EINVAL, "ha1_md5"},
		{"sip:a@example.com", "0123456789ABCDEF0123456789abcdef", NULL,
		 -EINVAL, "ha1_md5"},
		{"sip:a@example.com", NULL, hex32, -EINVAL, "ha1_sha256"},
		{"sip:a@example.com", hex64, NULL, -EINVAL, "ha1_md5"},
		{"sip:a@example.com", hex32, hex64, 0, ""},
		{"sip:b@example.com", NULL, NULL, 0, ""},
	};
	char *long_aor;
	int rc;

	(void)t;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		rc = store_user_add(st, &(struct store_user){
						.aor = v[i].aor,
						.ha1_md5 = v[i].md5,
						.ha1_sha256 = v[i].sha256,
					});
		TEST_EQ_INT(rc, v[i].rc);
		TEST_ASSERT(strstr(store_last_error(st), v[i].why));
	}
	TEST_EQ_INT(store_user_add(st, NULL), -EINVAL);
	TEST_EQ_INT(store_user_set_ha1(st, NULL), -EINVAL);
	TEST_EQ_INT(store_user_del(st, NULL), -EINVAL);
	TEST_EQ_INT(store_user_get(st, "sip:a@example.com", NULL), -EINVAL);
	TEST_EQ_INT(store_user_list(st, NULL, NULL), -EINVAL);

	long_aor = mem_alloc(STORE_TEXT_MAX_BYTES + 2);
	TEST_ASSERT(long_aor);
	memset(long_aor, 'a', STORE_TEXT_MAX_BYTES + 1);
	long_aor[STORE_TEXT_MAX_BYTES + 1] = '\0';
	rc = store_user_add(st, &(struct store_user){.aor = long_aor});
	long_aor[STORE_TEXT_MAX_BYTES] = '\0'; /* exactly the limit */
	if (rc == -EMSGSIZE)
		rc = store_user_add(st, &(struct store_user){.aor = long_aor});
	mem_free(long_aor);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(store_user_arguments_are_checked)
{
	return testdb_run(user_checks);
}

static int record_checks(struct store *st, struct testdb *t)
{
	struct testdb_cred tc;
	struct store_binding b = {
		.aor = "sip:a@example.com",
		.contact = "sip:a@192.0.2.1",
		.call_id = "c1",
		.q_permille = 1001,
	};
	struct store_sub s = {
		.id = "s1",
		.aor = "sip:a@example.com",
		.package = "certificate",
		.call_id = "c",
		.local_tag = "l",
		.local_uri = "sip:a@example.com",
		.remote_uri = "sip:b@example.com",
		.remote_target = "sip:b@192.0.2.2",
		.state = "active",
	};

	(void)t;
	TEST_EQ_INT(testdb_user(st, "sip:a@example.com"), 0);

	TEST_EQ_INT(store_binding_put(st, &b), -EINVAL); /* q above 1 */
	TEST_ASSERT(strstr(store_last_error(st), "q 1001"));
	b.q_permille = 1000;
	b.cseq = 0x80000000u; /* RFC 3261 §8.1.1.5 */
	TEST_EQ_INT(store_binding_put(st, &b), -EINVAL);
	b.cseq = 1;
	b.call_id = NULL;
	TEST_EQ_INT(store_binding_put(st, &b), -EINVAL);
	b.call_id = "c1";
	TEST_EQ_INT(store_binding_put(st, &b), 0);
	TEST_EQ_INT(store_binding_put(st, NULL), -EINVAL);
	TEST_EQ_INT(store_binding_del(st, "sip:a@example.com", NULL), -EINVAL);

	testdb_cred_fill(&tc, "sip:a@example.com", "d1", 1);
	tc.c.cert_len = 0;
	TEST_EQ_INT(store_cred_put(st, &tc.c), -EINVAL);
	tc.c.cert_len = STORE_BLOB_MAX_BYTES + 1;
	TEST_EQ_INT(store_cred_put(st, &tc.c), -EMSGSIZE);
	testdb_cred_fill(&tc, "sip:a@example.com", "d1", 1);
	tc.c.sealed_pkcs8 = NULL; /* a length without bytes */
	TEST_EQ_INT(store_cred_put(st, &tc.c), -EINVAL);
	TEST_ASSERT(strstr(store_last_error(st), "sealed_pkcs8"));
	testdb_cred_fill(&tc, "sip:a@example.com", "d1", 1);
	tc.sha256[63] = '\0';
	TEST_EQ_INT(store_cred_put(st, &tc.c), -EINVAL);
	testdb_cred_fill(&tc, "sip:a@example.com", "d1", 1);
	tc.c.not_after = tc.c.not_before - 1;
	TEST_EQ_INT(store_cred_put(st, &tc.c), -EINVAL);
	testdb_cred_fill(&tc, "sip:a@example.com", NULL, 1);
	TEST_EQ_INT(store_cred_put(st, &tc.c), -EINVAL);
	TEST_EQ_INT(store_cred_revoke_fp(st, "sip:a@example.com", "00", 1),
		    -EINVAL);
	TEST_EQ_INT(store_cred_refresh(st, "sip:a@example.com", "e", NULL, 1),
		    -EINVAL);

	TEST_EQ_INT(store_sub_put(st, &s), -EINVAL); /* no remote tag */
	TEST_ASSERT(strstr(store_last_error(st), "remote_tag"));
	s.remote_tag = "r";
	s.remote_cseq = 0x80000000u;
	TEST_EQ_INT(store_sub_put(st, &s), -EINVAL);
	s.remote_cseq = 1;
	TEST_EQ_INT(store_sub_put(st, &s), 0);
	TEST_EQ_STR(store_last_error(st), "");
	TEST_EQ_INT(store_sub_list(st, NULL, NULL, NULL), -EINVAL);
	return 0;
}

TEST(store_record_arguments_are_checked)
{
	return testdb_run(record_checks);
}

TEST(store_cred_dup_is_one_allocation)
{
	static const uint8_t cert[] = {0x30, 0x82, 0x00, 0x01, 0x00};
	struct store_cred in = {
		.aor = "sip:a@example.com",
		.device = "dev",
		.cert_der = cert,
		.cert_len = sizeof(cert),
		.etag = "e1",
		.sha256 = hex64,
		.not_after = 7,
	};
	struct store_cred *c = NULL;
	long before = mem_live_blocks();
	const char *lo, *hi;

	TEST_EQ_INT(store_cred_dup(&c, &in), 0);
	TEST_EQ_INT(mem_live_blocks() - before, 1);
	lo = (const char *)c;
	hi = lo + sizeof(*c) + 200;
	TEST_ASSERT(c->aor != in.aor && c->aor > lo && c->aor < hi);
	TEST_EQ_STR(c->aor, "sip:a@example.com");
	TEST_EQ_STR(c->device, "dev");
	TEST_EQ_STR(c->etag, "e1");
	TEST_EQ_STR(c->sha256, hex64);
	TEST_EQ_INT(c->cert_len, sizeof(cert));
	TEST_ASSERT(c->cert_der != cert && !memcmp(c->cert_der, cert, 5));
	TEST_ASSERT(!c->sealed_pkcs8 && !c->sealed_pkcs8_len);
	TEST_EQ_INT(c->not_after, 7);
	store_cred_free(c);
	TEST_EQ_INT(store_cred_dup(NULL, &in), -EINVAL);
	TEST_EQ_INT(store_sub_dup(NULL, NULL), -EINVAL);
	return 0;
}

TEST(store_dup_fails_cleanly_without_memory)
{
	struct store_binding in = {
		.aor = "sip:a@example.com", .contact = "x", .call_id = "c"};
	struct store_binding *b = NULL;

	mem_fail_after(1);
	TEST_EQ_INT(store_binding_dup(&b, &in), -ENOMEM);
	mem_fail_after(0);
	TEST_ASSERT(!b);
	return 0;
}
