/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for sqlite.c and sqlite_schema.c: the connection settings,
 * migration from an empty file, refusal of a newer schema. */
#include "store/sqlite_int.h"
#include "store/testdb.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

/* The integer answer of a one-value query on a raw connection. */
static int raw_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);

	if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		*out = sqlite3_column_int(q, 0);
	else
		rc = SQLITE_ERROR;
	sqlite3_finalize(q);
	return rc;
}

static int raw_text_eq(sqlite3 *db, const char *sql, const char *want)
{
	sqlite3_stmt *q = NULL;
	int ok = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		ok = !strcmp((const char *)sqlite3_column_text(q, 0), want);
	sqlite3_finalize(q);
	return ok;
}

/* Run sql on the file with a raw connection of our own. */
static int raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static int settings(struct store *st, struct testdb *t)
{
	sqlite3 *db = sq_of(st)->db;
	struct stat sb;
	char wal[160];
	int v = -1;

	/* HA1s are password equivalents: owner only, the log too */
	TEST_EQ_INT(stat(t->path, &sb), 0);
	TEST_EQ_INT(sb.st_mode & 0777, 0600);
	TEST_EQ_INT(testdb_user(st, "sip:a@example.com"), 0);
	snprintf(wal, sizeof(wal), "%s-wal", t->path);
	TEST_EQ_INT(stat(wal, &sb), 0);
	TEST_EQ_INT(sb.st_mode & 0777, 0600);
	TEST_ASSERT(raw_text_eq(db, "PRAGMA journal_mode", "wal"));
	TEST_EQ_INT(raw_int(db, "PRAGMA foreign_keys", &v), SQLITE_OK);
	TEST_EQ_INT(v, 1);
	TEST_EQ_INT(raw_int(db, "PRAGMA synchronous", &v), SQLITE_OK);
	TEST_EQ_INT(v, 2); /* FULL */
	TEST_EQ_INT(raw_int(db, "PRAGMA busy_timeout", &v), SQLITE_OK);
	TEST_ASSERT(v > 0);
	TEST_EQ_INT(raw_int(db, "PRAGMA user_version", &v), SQLITE_OK);
	TEST_EQ_INT(v, STORE_SCHEMA_VERSION);
	return 0;
}

TEST(store_sqlite_connection_settings)
{
	return testdb_run(settings);
}

TEST(store_schema_migrates_an_empty_file)
{
	struct store *st = NULL;
	struct store_user *u = NULL;
	struct testdb t;
	sqlite3 *db = NULL;
	int fd, v = -1, n = -1, rc;

	TEST_ASSERT(!testdb_init(&t));
	fd = open(t.path, O_WRONLY | O_CREAT | O_TRUNC, 0600); /* 0 bytes */
	if (fd >= 0)
		close(fd);
	rc = fd < 0 ? -1 : store_open(&st, t.url);
	if (!rc)
		rc = testdb_user(st, "sip:a@example.com");
	store_close(st);
	st = NULL;
	/* reopening an up-to-date database migrates nothing, loses nothing */
	if (!rc)
		rc = store_open(&st, t.url);
	if (!rc)
		rc = store_user_get(st, "sip:a@example.com", &u);
	store_close(st);
	if (!rc && sqlite3_open(t.path, &db) == SQLITE_OK) {
		rc = raw_int(db, "PRAGMA user_version", &v);
		if (!rc)
			rc = raw_int(db,
				     "SELECT count(*) FROM sqlite_master WHERE"
				     " type = 'table' AND name IN ('users',"
				     " 'bindings', 'credentials',"
				     " 'fingerprints', 'subscriptions')",
				     &n);
	}
	sqlite3_close(db);
	testdb_fini(&t);
	TEST_EQ_INT(rc, 0);
	TEST_ASSERT(u);
	TEST_EQ_STR(u->aor, "sip:a@example.com");
	store_user_free(u);
	TEST_EQ_INT(v, STORE_SCHEMA_VERSION);
	TEST_EQ_INT(n, 5);
	return 0;
}

TEST(store_schema_refuses_a_newer_version)
{
	struct store *st = NULL;
	struct testdb t;
	char sql[64];
	int rc;

	TEST_ASSERT(!testdb_init(&t));
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d",
		 STORE_SCHEMA_VERSION + 1);
	rc = raw_exec(t.path, sql);
	if (rc == SQLITE_OK)
		rc = store_open(&st, t.url);
	testdb_fini(&t);
	TEST_EQ_INT(rc, -EPROTO);
	TEST_ASSERT(!st);
	TEST_ASSERT(strstr(store_last_error(NULL), "newer"));
	TEST_ASSERT(strstr(store_last_error(NULL), t.path));
	return 0;
}

TEST(store_schema_refuses_a_negative_version)
{
	struct store *st = NULL;
	struct testdb t;
	int rc;

	TEST_ASSERT(!testdb_init(&t));
	rc = raw_exec(t.path, "PRAGMA user_version=-3");
	if (rc == SQLITE_OK)
		rc = store_open(&st, t.url);
	testdb_fini(&t);
	TEST_EQ_INT(rc, -EIO);
	TEST_ASSERT(strstr(store_last_error(NULL), "invalid"));
	return 0;
}

/* A migration that fails half-way leaves the old schema: version 0, and
 * none of the tables it created before the failure. */
TEST(store_schema_failed_migration_rolls_back)
{
	struct store *st = NULL;
	struct testdb t;
	sqlite3 *db = NULL;
	int rc, v = -1, n = -1;

	TEST_ASSERT(!testdb_init(&t));
	/* "subscriptions" comes last in migration 1 and will collide */
	rc = raw_exec(t.path, "CREATE TABLE subscriptions (x)");
	if (rc == SQLITE_OK)
		rc = store_open(&st, t.url);
	if (rc == -EIO && sqlite3_open(t.path, &db) == SQLITE_OK) {
		if (raw_int(db, "PRAGMA user_version", &v) ||
		    raw_int(db,
			    "SELECT count(*) FROM sqlite_master WHERE"
			    " name = 'users'",
			    &n))
			v = -1;
	}
	sqlite3_close(db);
	testdb_fini(&t);
	TEST_EQ_INT(rc, -EIO);
	TEST_ASSERT(strstr(store_last_error(NULL), "already exists"));
	TEST_EQ_INT(v, 0);
	TEST_EQ_INT(n, 0);
	return 0;
}

/* Two handles (as two worker threads or two processes have) see each
 * other's committed writes. */
static int two_handles(struct store *st, struct testdb *t)
{
	struct store *other = NULL;
	struct store_user *u = NULL;
	int rc;

	TEST_EQ_INT(store_open(&other, t->url), 0);
	rc = testdb_user(st, "sip:a@example.com");
	if (!rc)
		rc = store_user_get(other, "sip:a@example.com", &u);
	if (!rc)
		rc = store_user_del(other, "sip:a@example.com");
	if (!rc)
		rc = store_user_get(st, "sip:a@example.com", &u) == -ENOENT
			     ? 0
			     : -1;
	store_close(other);
	TEST_EQ_INT(rc, 0);
	TEST_ASSERT(u);
	store_user_free(u);
	return 0;
}

TEST(store_two_handles_share_one_database)
{
	return testdb_run(two_handles);
}

TEST(store_memory_database_works)
{
	struct store *st = NULL;
	struct store_user **v = NULL;
	size_t n = 9;
	int rc;

	TEST_EQ_INT(store_open(&st, "sqlite::memory:"), 0);
	rc = testdb_user(st, "sip:a@example.com");
	if (!rc)
		rc = store_user_list(st, &v, &n);
	store_close(st);
	TEST_EQ_INT(rc, 0);
	TEST_EQ_INT(n, 1);
	store_list_free(v, n);
	return 0;
}
