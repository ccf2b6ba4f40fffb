/* SPDX-License-Identifier: BSD-3-Clause */
/* store: the SQLite schema as an ordered list of migrations; PRAGMA
 * user_version says how many have been applied. */
#include "store/sqlite_int.h"

#include <stdio.h>

/*
 * migrations[i] takes a database from version i to i + 1. Append a new
 * one for every change and never edit a released one: a database
 * remembers only its number. Every table that belongs to a user refers to
 * users(aor) with ON DELETE CASCADE, so deleting a user removes the rest
 * (store_user_del()).
 */
static const char *const migrations[] = {
	/* 0 -> 1: users, bindings, credentials, history, subscriptions */
	"CREATE TABLE users ("
	" aor TEXT PRIMARY KEY NOT NULL,"
	" ha1_md5 TEXT,"
	" ha1_sha256 TEXT,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL);"

	/* RFC 3261 §10.3: one row per (AOR, Contact) */
	"CREATE TABLE bindings ("
	" aor TEXT NOT NULL REFERENCES users(aor) ON DELETE CASCADE,"
	" contact TEXT NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" call_id TEXT NOT NULL,"
	" cseq INTEGER NOT NULL,"
	" q INTEGER NOT NULL CHECK (q BETWEEN 0 AND 1000),"
	" path TEXT,"
	" flow TEXT,"
	" instance_id TEXT,"
	" PRIMARY KEY (aor, contact));"
	"CREATE INDEX bindings_expiry ON bindings(expires_at);"

	/* One current credential per (AOR, device); the rowid orders puts
	 * made within the same second. */
	"CREATE TABLE credentials ("
	" aor TEXT NOT NULL REFERENCES users(aor) ON DELETE CASCADE,"
	" device TEXT NOT NULL,"
	" cert_der BLOB NOT NULL,"
	" sealed_pkcs8 BLOB,"
	" etag TEXT NOT NULL,"
	" not_before INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL,"
	" published_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" UNIQUE (aor, device),"
	" UNIQUE (aor, etag));"
	"CREATE INDEX credentials_fp ON credentials(aor, sha256);"
	"CREATE INDEX credentials_expiry ON credentials(expires_at);"

	/* Append-only but for revoked_at: a row per credential put. */
	"CREATE TABLE fingerprints ("
	" id INTEGER PRIMARY KEY,"
	" aor TEXT NOT NULL REFERENCES users(aor) ON DELETE CASCADE,"
	" sha256 TEXT NOT NULL,"
	" not_after INTEGER NOT NULL,"
	" first_seen INTEGER NOT NULL,"
	" revoked_at INTEGER);"
	"CREATE INDEX fingerprints_aor ON fingerprints(aor, sha256);"

	/* RFC 6665 subscriptions with their dialog (RFC 3261 §12) */
	"CREATE TABLE subscriptions ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" aor TEXT NOT NULL REFERENCES users(aor) ON DELETE CASCADE,"
	" package TEXT NOT NULL,"
	" call_id TEXT NOT NULL,"
	" local_tag TEXT NOT NULL,"
	" remote_tag TEXT NOT NULL,"
	" local_uri TEXT NOT NULL,"
	" remote_uri TEXT NOT NULL,"
	" remote_target TEXT NOT NULL,"
	" route_set TEXT,"
	" local_cseq INTEGER NOT NULL,"
	" remote_cseq INTEGER NOT NULL,"
	" flow TEXT,"
	" expires_at INTEGER NOT NULL,"
	" last_notify_at INTEGER NOT NULL,"
	" state TEXT NOT NULL);"
	"CREATE INDEX subscriptions_aor ON subscriptions(aor, package);"
	"CREATE INDEX subscriptions_expiry ON subscriptions(expires_at);",
};

_Static_assert(ARRAY_SIZE(migrations) == STORE_SCHEMA_VERSION,
	       "one migration per schema version");

static int version_get(struct sq *s, int *out)
{
	sqlite3_stmt *q = NULL;
	int rc, r;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_fail(s, rc, "schema version");
	r = store_sqlite_next(s, q, SQLITE_OK, "schema version");
	if (r > 0)
		*out = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (r == 0) {
		store_err_set(&s->base, "schema version: no answer");
		return -EIO;
	}
	return r < 0 ? r : 0;
}

/* 0 when this code can use a database at version v. */
static int version_check(struct sq *s, int v)
{
	if (v > STORE_SCHEMA_VERSION) {
		store_err_set(&s->base,
			      "database schema version %d is newer than the "
			      "%d this sipcert knows: upgrade sipcert",
			      v, STORE_SCHEMA_VERSION);
		return -EPROTO;
	}
	if (v < 0) {
		store_err_set(&s->base, "database schema version %d is invalid",
			      v);
		return -EIO;
	}
	return 0;
}

static int migrate_locked(struct sq *s)
{
	char sql[64];
	int v, rc, err;

	/* read again under the write lock: another process may have
	 * migrated between our first look and BEGIN IMMEDIATE */
	err = version_get(s, &v);
	if (!err)
		err = version_check(s, v);
	if (err)
		return err;
	for (; v < STORE_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return store_sqlite_fail(s, rc, "schema migration");
	}
	/* PRAGMA takes no bound parameters */
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d",
		 STORE_SCHEMA_VERSION);
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_fail(s, rc, "schema version");
	return 0;
}

int store_sqlite_schema_migrate(struct sq *s)
{
	int v, err;

	err = version_get(s, &v);
	if (!err)
		err = version_check(s, v);
	if (err || v == STORE_SCHEMA_VERSION)
		return err;
	/* every step, and the new version number, in one transaction: a
	 * crash half-way leaves the old schema, never a mix */
	err = store_sqlite_begin(s);
	if (err)
		return err;
	return store_sqlite_end(s, migrate_locked(s));
}
