/* SPDX-License-Identifier: BSD-3-Clause */
/* store: the SQLite backend (the embedded default): opening a database in
 * WAL mode with foreign keys on, the statement cache, transactions. */
#include "store/sqlite_int.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* How long a writer waits for another connection's write lock. */
enum { SQ_BUSY_TIMEOUT_MS = 5000 };

int store_sqlite_fail(struct sq *s, int rc, const char *what)
{
	int err;

	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		err = -ENOMEM;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		err = -EBUSY;
		break;
	case SQLITE_TOOBIG:
		err = -EMSGSIZE;
		break;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			err = -ENOENT; /* the AOR is not a user */
		else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
			 rc == SQLITE_CONSTRAINT_UNIQUE)
			err = -EEXIST;
		else
			err = -EINVAL;
		break;
	default:
		err = -EIO;
		break;
	}
	store_err_set(&s->base, "%s: %s", what,
		      s->db && sqlite3_errcode(s->db) == rc
			      ? sqlite3_errmsg(s->db)
			      : sqlite3_errstr(rc));
	return err;
}

int store_sqlite_stmt(struct sq *s, enum sq_stmt id, const char *sql,
		      sqlite3_stmt **out)
{
	int rc;

	if (!s->stmt[id]) {
		rc = sqlite3_prepare_v3(s->db, sql, -1,
					SQLITE_PREPARE_PERSISTENT, &s->stmt[id],
					NULL);
		if (rc != SQLITE_OK) {
			s->stmt[id] = NULL;
			return store_sqlite_fail(s, rc, "prepare");
		}
	}
	*out = s->stmt[id];
	return 0;
}

void store_sqlite_bind_text(sqlite3_stmt *q, int i, const char *v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	if (!v)
		*rc = sqlite3_bind_null(q, i);
	else
		*rc = sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

void store_sqlite_bind_blob(sqlite3_stmt *q, int i, const void *p, size_t n,
			    int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	if (!p)
		*rc = sqlite3_bind_null(q, i);
	else
		*rc = sqlite3_bind_blob64(q, i, p, n, SQLITE_STATIC);
}

void store_sqlite_bind_i64(sqlite3_stmt *q, int i, int64_t v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = sqlite3_bind_int64(q, i, v);
}

int store_sqlite_next(struct sq *s, sqlite3_stmt *q, int bind_rc,
		      const char *what)
{
	int rc;

	if (bind_rc != SQLITE_OK)
		return store_sqlite_fail(s, bind_rc, what);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_sqlite_fail(s, rc, what);
}

void store_sqlite_done(sqlite3_stmt *q)
{
	/* reset repeats the last step's error, already reported */
	(void)sqlite3_reset(q);
	(void)sqlite3_clear_bindings(q);
}

int store_sqlite_run(struct sq *s, sqlite3_stmt *q, int bind_rc,
		     const char *what, size_t *changes)
{
	int r = store_sqlite_next(s, q, bind_rc, what);

	store_sqlite_done(q);
	if (r < 0)
		return r;
	if (changes)
		*changes = (size_t)sqlite3_changes(s->db);
	return 0;
}

const char *store_sqlite_col_text(sqlite3_stmt *q, int i, int *rc)
{
	const char *v = (const char *)sqlite3_column_text(q, i);

	if (!v && sqlite3_column_type(q, i) != SQLITE_NULL)
		*rc = SQLITE_NOMEM;
	return v;
}

const uint8_t *store_sqlite_col_blob(sqlite3_stmt *q, int i, size_t *len,
				     int *rc)
{
	const uint8_t *v = sqlite3_column_blob(q, i);
	int n = sqlite3_column_bytes(q, i);

	/* a zero-length blob reads as NULL; the store never writes one */
	if (!v && n > 0)
		*rc = SQLITE_NOMEM;
	*len = v ? (size_t)n : 0;
	return v;
}

static int txn_step(struct sq *s, enum sq_stmt id, const char *sql)
{
	sqlite3_stmt *q = NULL;
	int err = store_sqlite_stmt(s, id, sql, &q);

	if (err)
		return err;
	return store_sqlite_run(s, q, SQLITE_OK, sql, NULL);
}

int store_sqlite_begin(struct sq *s)
{
	return txn_step(s, SQ_BEGIN, "BEGIN IMMEDIATE");
}

int store_sqlite_end(struct sq *s, int err)
{
	if (!err) {
		err = txn_step(s, SQ_COMMIT, "COMMIT");
		if (!err)
			return 0;
	}
	/* an I/O error or OOM may already have rolled the transaction back
	 * (SQLite "Response To Errors Within A Transaction") */
	if (!sqlite3_get_autocommit(s->db)) {
		char keep[STORE_ERR_BYTES];

		memcpy(keep, s->base.err, sizeof(keep));
		(void)txn_step(s, SQ_ROLLBACK, "ROLLBACK");
		memcpy(s->base.err, keep, sizeof(keep));
	}
	return err;
}

/* Run a PRAGMA and copy the first column of its first row into out. */
static int pragma(struct sq *s, const char *sql, char *out, size_t out_len)
{
	sqlite3_stmt *q = NULL;
	const char *v;
	int rc, r, err = 0;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_fail(s, rc, sql);
	r = store_sqlite_next(s, q, SQLITE_OK, sql);
	if (r < 0) {
		err = r;
		goto out;
	}
	out[0] = '\0';
	if (r == 0)
		goto out;
	rc = SQLITE_OK;
	v = store_sqlite_col_text(q, 0, &rc);
	if (rc != SQLITE_OK) {
		err = store_sqlite_fail(s, rc, sql);
		goto out;
	}
	if (v) {
		size_t n = strlen(v);

		if (n >= out_len)
			n = out_len - 1;
		memcpy(out, v, n);
		out[n] = '\0';
	}
out:
	sqlite3_finalize(q);
	return err;
}

/* Set a PRAGMA and read it back: SQLite ignores settings it cannot honour
 * (foreign keys compiled out, WAL on an in-memory database). */
static int pragma_set(struct sq *s, const char *set, const char *get,
		      const char *want, const char *alt)
{
	char got[32];
	int err;

	err = pragma(s, set, got, sizeof(got));
	if (!err)
		err = pragma(s, get, got, sizeof(got));
	if (err)
		return err;
	if (strcmp(got, want) && (!alt || strcmp(got, alt))) {
		store_err_set(&s->base, "%s: got \"%s\", not \"%s\"", set, got,
			      want);
		return -EIO;
	}
	return 0;
}

static int configure(struct sq *s)
{
	int err;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, SQ_BUSY_TIMEOUT_MS);
	/* Foreign keys are per connection and off by default; the user
	 * delete cascade depends on them. */
	err = pragma_set(s, "PRAGMA foreign_keys=ON", "PRAGMA foreign_keys",
			 "1", NULL);
	/* WAL: readers do not block the writer, and a commit is one append
	 * to the log. An in-memory database answers "memory". */
	if (!err)
		err = pragma_set(s, "PRAGMA journal_mode=WAL",
				 "PRAGMA journal_mode", "wal", "memory");
	/* FULL: fsync the log at every commit, so a write answered 200
	 * survives power loss; NORMAL could lose the last commits. */
	if (!err)
		err = pragma_set(s, "PRAGMA synchronous=FULL",
				 "PRAGMA synchronous", "2", NULL);
	return err;
}

static void sq_close(struct store *st)
{
	struct sq *s = sq_of(st);

	for (size_t i = 0; i < ARRAY_SIZE(s->stmt); i++)
		sqlite3_finalize(s->stmt[i]);
	/* the last connection to close checkpoints the log into the file */
	sqlite3_close_v2(s->db);
	mem_free(s);
}

/* An HA1 is as good as the password for digest authentication (RFC 7616
 * security considerations): create the file for its owner only. SQLite
 * gives the -wal and -shm files the mode of the database file. When this
 * fails, sqlite3_open_v2() fails too and says why. */
static void file_create_private(const char *path)
{
	int fd;

	if (!strcmp(path, ":memory:"))
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

static const struct store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.user_add = store_sqlite_user_add,
	.user_set_ha1 = store_sqlite_user_set_ha1,
	.user_get = store_sqlite_user_get,
	.user_del = store_sqlite_user_del,
	.user_list = store_sqlite_user_list,
	.binding_put = store_sqlite_binding_put,
	.binding_del = store_sqlite_binding_del,
	.binding_del_aor = store_sqlite_binding_del_aor,
	.binding_list = store_sqlite_binding_list,
	.binding_purge = store_sqlite_binding_purge,
	.cred_put = store_sqlite_cred_put,
	.cred_refresh = store_sqlite_cred_refresh,
	.cred_newest = store_sqlite_cred_newest,
	.cred_get_etag = store_sqlite_cred_get_etag,
	.cred_list = store_sqlite_cred_list,
	.cred_revoke_etag = store_sqlite_cred_revoke_etag,
	.cred_revoke_fp = store_sqlite_cred_revoke_fp,
	.cred_revoke_aor = store_sqlite_cred_revoke_aor,
	.cred_purge = store_sqlite_cred_purge,
	.fp_list = store_sqlite_fp_list,
	.sub_put = store_sqlite_sub_put,
	.sub_get = store_sqlite_sub_get,
	.sub_del = store_sqlite_sub_del,
	.sub_apply = store_sqlite_sub_apply,
	.sub_list = store_sqlite_sub_list,
	.sub_purge = store_sqlite_sub_purge,
};

int store_sqlite_open(struct store **out, const char *path)
{
	struct sq *s;
	int rc, err;

	/* handles are per thread, but several threads use the library */
	if (!sqlite3_threadsafe()) {
		store_open_err_set("sqlite: library built single-threaded");
		return -EIO;
	}
	s = mem_zalloc(sizeof(*s));
	if (!s) {
		store_open_err_set("sqlite: out of memory");
		return -ENOMEM;
	}
	s->base.ops = &sqlite_ops;
	file_create_private(path);
	/* NOMUTEX: a handle is never shared between threads (store.h) */
	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		err = store_sqlite_fail(s, rc, "open");
		goto out;
	}
	err = configure(s);
	if (!err)
		err = store_sqlite_schema_migrate(s);
out:
	if (err) {
		store_open_err_set("sqlite:%s: %s", path, s->base.err);
		sq_close(&s->base);
		return err;
	}
	s->base.err[0] = '\0';
	*out = &s->base;
	return 0;
}
