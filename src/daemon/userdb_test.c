/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the in-memory user table (userdb.c): put, find, replace,
 * delete, visiting, growth, HA1 validation, and loading from a real
 * temporary SQLite store. */
#include "test.h"

#include "daemon/daemon.h"
#include "store/testdb.h"

#define MD5_1 "00112233445566778899aabbccddeeff"
#define MD5_2 "ffeeddccbbaa99887766554433221100"
#define SHA_1 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static int put_find_body(struct userdb *db)
{
	const struct userdb_user *u;

	TEST_EQ_INT(userdb_count(db), 0);
	TEST_ASSERT(!userdb_find(db, SLICE_LIT("sip:alice@example.test")));
	TEST_EQ_INT(userdb_put(db, "sip:alice@example.test", MD5_1, SHA_1), 0);
	TEST_EQ_INT(userdb_put(db, "sip:bob@example.test", MD5_2, NULL), 0);
	TEST_EQ_INT(userdb_count(db), 2);

	u = userdb_find(db, SLICE_LIT("sip:alice@example.test"));
	TEST_ASSERT(u);
	TEST_EQ_STR(u->aor, "sip:alice@example.test");
	TEST_EQ_STR(u->ha1_md5, MD5_1);
	TEST_EQ_STR(u->ha1_sha256, SHA_1);
	u = userdb_find(db, SLICE_LIT("sip:bob@example.test"));
	TEST_ASSERT(u);
	TEST_EQ_STR(u->ha1_sha256, ""); /* not offered for bob */
	/* exact keys: a slice that is not NUL-terminated, a prefix, case */
	TEST_ASSERT(userdb_find(db, slice_of("sip:bob@example.testX", 20)));
	TEST_ASSERT(!userdb_find(db, SLICE_LIT("sip:bob@example.tes")));
	TEST_ASSERT(!userdb_find(db, SLICE_LIT("sip:Bob@example.test")));
	TEST_ASSERT(!userdb_find(db, SLICE_NULL));
	TEST_ASSERT(!userdb_find(NULL, SLICE_LIT("sip:bob@example.test")));

	/* put replaces; upper-case hex is stored lower-case */
	TEST_EQ_INT(userdb_put(db, "sip:alice@example.test",
			       "FFEEDDCCBBAA99887766554433221100", NULL),
		    0);
	TEST_EQ_INT(userdb_count(db), 2);
	u = userdb_find(db, SLICE_LIT("sip:alice@example.test"));
	TEST_ASSERT(u);
	TEST_EQ_STR(u->ha1_md5, MD5_2);
	TEST_EQ_STR(u->ha1_sha256, "");

	TEST_EQ_INT(userdb_del(db, "sip:alice@example.test"), 0);
	TEST_EQ_INT(userdb_del(db, "sip:alice@example.test"), -ENOENT);
	TEST_ASSERT(!userdb_find(db, SLICE_LIT("sip:alice@example.test")));
	TEST_EQ_INT(userdb_count(db), 1);
	return 0;
}

TEST(userdb_put_find_replace_del)
{
	struct userdb *db = NULL;
	int rc = userdb_new(&db) ? -1 : put_find_body(db);

	userdb_free(db);
	return rc;
}

static int invalid_body(struct userdb *db)
{
	char long_aor[300];

	TEST_EQ_INT(userdb_put(db, NULL, MD5_1, NULL), -EINVAL);
	TEST_EQ_INT(userdb_put(db, "", MD5_1, NULL), -EINVAL);
	/* HA1s are hex of exactly the algorithm's length */
	TEST_EQ_INT(userdb_put(db, "sip:a@example.test", "0011", NULL),
		    -EINVAL);
	TEST_EQ_INT(userdb_put(db, "sip:a@example.test", MD5_1 "00", NULL),
		    -EINVAL);
	TEST_EQ_INT(userdb_put(db, "sip:a@example.test",
			       "g0112233445566778899aabbccddeeff", NULL),
		    -EINVAL);
	TEST_EQ_INT(userdb_put(db, "sip:a@example.test", NULL, MD5_1), -EINVAL);
	TEST_EQ_INT(userdb_put(db, "sip:a@example.test", SHA_1, NULL), -EINVAL);
	/* longer than an AOR can be (it must fit auth_result's aor) */
	memset(long_aor, 'a', sizeof(long_aor) - 1);
	long_aor[sizeof(long_aor) - 1] = '\0';
	TEST_EQ_INT(userdb_put(db, long_aor, MD5_1, NULL), -EMSGSIZE);
	long_aor[255] = '\0';
	TEST_EQ_INT(userdb_put(db, long_aor, MD5_1, NULL), 0);
	TEST_EQ_INT(userdb_count(db), 1);
	TEST_EQ_INT(userdb_put(NULL, "sip:a@example.test", MD5_1, NULL),
		    -EINVAL);
	TEST_EQ_INT(userdb_del(db, NULL), -EINVAL);
	TEST_EQ_INT(userdb_del(NULL, "x"), -EINVAL);
	TEST_EQ_INT(userdb_count(NULL), 0);
	TEST_EQ_INT(userdb_new(NULL), -EINVAL);
	userdb_free(NULL);
	return 0;
}

TEST(userdb_rejects_bad_input)
{
	struct userdb *db = NULL;
	int rc = userdb_new(&db) ? -1 : invalid_body(db);

	userdb_free(db);
	return rc;
}

struct visit {
	size_t n;
	size_t stop_at;
	bool seen_u7;
};

static int visit_cb(void *arg, const struct userdb_user *u)
{
	struct visit *v = arg;

	v->n++;
	if (!strcmp(u->aor, "sip:u7@example.test"))
		v->seen_u7 = true;
	return v->n == v->stop_at ? 42 : 0;
}

static int grow_body(struct userdb *db)
{
	struct visit v = {0};
	char aor[64];

	/* enough users to double the buckets a few times */
	for (unsigned i = 0; i < 500; i++) {
		snprintf(aor, sizeof(aor), "sip:u%u@example.test", i);
		TEST_EQ_INT(userdb_put(db, aor, MD5_1, NULL), 0);
	}
	TEST_EQ_INT(userdb_count(db), 500);
	for (unsigned i = 0; i < 500; i++) {
		const struct userdb_user *u;

		snprintf(aor, sizeof(aor), "sip:u%u@example.test", i);
		u = userdb_find(db, slice_cstr(aor));
		TEST_ASSERT(u);
		TEST_EQ_STR(u->aor, aor);
	}
	TEST_EQ_INT(userdb_each(db, visit_cb, &v), 0);
	TEST_EQ_INT(v.n, 500);
	TEST_ASSERT(v.seen_u7);
	/* a non-zero return stops the walk and is passed back */
	v = (struct visit){.stop_at = 10};
	TEST_EQ_INT(userdb_each(db, visit_cb, &v), 42);
	TEST_EQ_INT(v.n, 10);
	TEST_EQ_INT(userdb_each(db, NULL, &v), -EINVAL);
	for (unsigned i = 0; i < 500; i += 2) {
		snprintf(aor, sizeof(aor), "sip:u%u@example.test", i);
		TEST_EQ_INT(userdb_del(db, aor), 0);
	}
	TEST_EQ_INT(userdb_count(db), 250);
	TEST_ASSERT(!userdb_find(db, SLICE_LIT("sip:u2@example.test")));
	TEST_ASSERT(userdb_find(db, SLICE_LIT("sip:u3@example.test")));
	return 0;
}

TEST(userdb_grows_and_visits_every_user)
{
	struct userdb *db = NULL;
	int rc = userdb_new(&db) ? -1 : grow_body(db);

	userdb_free(db);
	return rc;
}

static int load_body(struct userdb *db, struct store *st)
{
	const struct userdb_user *u;

	TEST_EQ_INT(store_user_add(st,
				   &(struct store_user){
					   .aor = "sip:alice@example.test",
					   .ha1_md5 = MD5_1,
					   .ha1_sha256 = SHA_1,
					   .created_at = 100,
				   }),
		    0);
	TEST_EQ_INT(store_user_add(st,
				   &(struct store_user){
					   .aor = "sip:bob@example.test",
					   .ha1_md5 = MD5_2,
					   .created_at = 100,
				   }),
		    0);
	/* a user only in memory: load replaces the whole table */
	TEST_EQ_INT(userdb_put(db, "sip:stale@example.test", MD5_1, NULL), 0);

	TEST_EQ_INT(userdb_load(db, st), 0);
	TEST_EQ_INT(userdb_count(db), 2);
	TEST_ASSERT(!userdb_find(db, SLICE_LIT("sip:stale@example.test")));
	u = userdb_find(db, SLICE_LIT("sip:alice@example.test"));
	TEST_ASSERT(u);
	TEST_EQ_STR(u->ha1_md5, MD5_1);
	TEST_EQ_STR(u->ha1_sha256, SHA_1);
	u = userdb_find(db, SLICE_LIT("sip:bob@example.test"));
	TEST_ASSERT(u);
	TEST_EQ_STR(u->ha1_md5, MD5_2);
	TEST_EQ_STR(u->ha1_sha256, "");

	/* SIGHUP after an admin change in the store */
	TEST_EQ_INT(store_user_del(st, "sip:bob@example.test"), 0);
	TEST_EQ_INT(store_user_set_ha1(st,
				       &(struct store_user){
					       .aor = "sip:alice@example.test",
					       .ha1_md5 = MD5_2,
					       .updated_at = 200,
				       }),
		    0);
	TEST_EQ_INT(userdb_load(db, st), 0);
	TEST_EQ_INT(userdb_count(db), 1);
	u = userdb_find(db, SLICE_LIT("sip:alice@example.test"));
	TEST_ASSERT(u);
	TEST_EQ_STR(u->ha1_md5, MD5_2);
	TEST_EQ_STR(u->ha1_sha256, "");
	TEST_EQ_INT(userdb_load(db, NULL), -EINVAL);
	TEST_EQ_INT(userdb_load(NULL, st), -EINVAL);
	return 0;
}

TEST(userdb_load_from_sqlite_store)
{
	struct userdb *db = NULL;
	struct store *st = NULL;
	struct testdb t;
	int rc = -1;

	if (testdb_init(&t))
		return -1;
	if (!store_open(&st, t.url) && !userdb_new(&db))
		rc = load_body(db, st);
	userdb_free(db);
	store_close(st);
	testdb_fini(&t);
	return rc;
}

static int load_empty_body(struct userdb *db, struct store *st)
{
	/* an empty store empties the table */
	TEST_EQ_INT(userdb_put(db, "sip:a@example.test", MD5_1, NULL), 0);
	TEST_EQ_INT(userdb_load(db, st), 0);
	TEST_EQ_INT(userdb_count(db), 0);
	return 0;
}

TEST(userdb_load_empty_store)
{
	struct userdb *db = NULL;
	struct store *st = NULL;
	struct testdb t;
	int rc = -1;

	if (testdb_init(&t))
		return -1;
	if (!store_open(&st, t.url) && !userdb_new(&db))
		rc = load_empty_body(db, st);
	userdb_free(db);
	store_close(st);
	testdb_fini(&t);
	return rc;
}
