/* SPDX-License-Identifier: BSD-3-Clause */
/* store: users and their digest HA1s, and REGISTER bindings (RFC 3261
 * §10.3), in SQLite. */
#include "store/sqlite_int.h"

#define USER_COLS "aor, ha1_md5, ha1_sha256, created_at, updated_at"

static int user_read(struct sq *s, sqlite3_stmt *q, struct store_user **out)
{
	struct store_user u;
	int rc = SQLITE_OK;

	u.aor = store_sqlite_col_text(q, 0, &rc);
	u.ha1_md5 = store_sqlite_col_text(q, 1, &rc);
	u.ha1_sha256 = store_sqlite_col_text(q, 2, &rc);
	u.created_at = sqlite3_column_int64(q, 3);
	u.updated_at = sqlite3_column_int64(q, 4);
	if (rc != SQLITE_OK)
		return store_sqlite_fail(s, rc, "read user");
	return store_user_dup(out, &u);
}

int store_sqlite_user_add(struct store *st, const struct store_user *u)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_USER_ADD,
				"INSERT INTO users (" USER_COLS ")"
				" VALUES (?1, ?2, ?3, ?4, ?4)",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, u->aor, &rc);
	store_sqlite_bind_text(q, 2, u->ha1_md5, &rc);
	store_sqlite_bind_text(q, 3, u->ha1_sha256, &rc);
	store_sqlite_bind_i64(q, 4, u->created_at, &rc);
	return store_sqlite_run(s, q, rc, "add user", NULL);
}

int store_sqlite_user_set_ha1(struct store *st, const struct store_user *u)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_USER_SET_HA1,
				"UPDATE users SET ha1_md5 = ?2,"
				" ha1_sha256 = ?3, updated_at = ?4"
				" WHERE aor = ?1",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, u->aor, &rc);
	store_sqlite_bind_text(q, 2, u->ha1_md5, &rc);
	store_sqlite_bind_text(q, 3, u->ha1_sha256, &rc);
	store_sqlite_bind_i64(q, 4, u->updated_at, &rc);
	err = store_sqlite_run(s, q, rc, "set HA1", &n);
	if (!err && !n) {
		store_err_set(st, "set HA1: no user %s", u->aor);
		err = -ENOENT;
	}
	return err;
}

int store_sqlite_user_get(struct store *st, const char *aor,
			  struct store_user **out)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_USER_GET,
				"SELECT " USER_COLS " FROM users"
				" WHERE aor = ?1",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	err = store_sqlite_next(s, q, rc, "get user");
	if (err > 0)
		err = user_read(s, q, out);
	else if (!err) {
		store_err_set(st, "get user: no user %s", aor);
		err = -ENOENT;
	}
	store_sqlite_done(q);
	return err;
}

int store_sqlite_user_del(struct store *st, const char *aor)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	int rc = SQLITE_OK;
	int err;

	/* one statement: the cascade (schema) is part of it, atomically */
	err = store_sqlite_stmt(s, SQ_USER_DEL,
				"DELETE FROM users WHERE aor = ?1", &q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	err = store_sqlite_run(s, q, rc, "delete user", &n);
	if (!err && !n) {
		store_err_set(st, "delete user: no user %s", aor);
		err = -ENOENT;
	}
	return err;
}

int store_sqlite_user_list(struct store *st, struct store_vec *out)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int err;

	err = store_sqlite_stmt(s, SQ_USER_LIST,
				"SELECT " USER_COLS " FROM users"
				" ORDER BY aor",
				&q);
	if (err)
		return err;
	for (;;) {
		struct store_user *u = NULL;

		err = store_sqlite_next(s, q, SQLITE_OK, "list users");
		if (err <= 0)
			break;
		err = user_read(s, q, &u);
		if (!err)
			err = store_vec_push(out, u);
		if (err) {
			store_user_free(u);
			break;
		}
	}
	store_sqlite_done(q);
	return err;
}

#define BINDING_COLS                                                           \
	"aor, contact, expires_at, call_id, cseq, q, path, flow, instance_id"

static int binding_read(struct sq *s, sqlite3_stmt *q,
			struct store_binding **out)
{
	struct store_binding b;
	int rc = SQLITE_OK;

	b.aor = store_sqlite_col_text(q, 0, &rc);
	b.contact = store_sqlite_col_text(q, 1, &rc);
	b.expires_at = sqlite3_column_int64(q, 2);
	b.call_id = store_sqlite_col_text(q, 3, &rc);
	b.cseq = (uint32_t)sqlite3_column_int64(q, 4);
	b.q_permille = (uint32_t)sqlite3_column_int64(q, 5);
	b.path = store_sqlite_col_text(q, 6, &rc);
	b.flow = store_sqlite_col_text(q, 7, &rc);
	b.instance_id = store_sqlite_col_text(q, 8, &rc);
	if (rc != SQLITE_OK)
		return store_sqlite_fail(s, rc, "read binding");
	return store_binding_dup(out, &b);
}

int store_sqlite_binding_put(struct store *st, const struct store_binding *b)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	/* §10.3 step 7: a REGISTER updates the binding of its Contact */
	err = store_sqlite_stmt(
		s, SQ_BINDING_PUT,
		"INSERT INTO bindings (" BINDING_COLS ")"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
		" ON CONFLICT (aor, contact) DO UPDATE SET"
		" expires_at = excluded.expires_at,"
		" call_id = excluded.call_id, cseq = excluded.cseq,"
		" q = excluded.q, path = excluded.path,"
		" flow = excluded.flow, instance_id = excluded.instance_id",
		&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, b->aor, &rc);
	store_sqlite_bind_text(q, 2, b->contact, &rc);
	store_sqlite_bind_i64(q, 3, b->expires_at, &rc);
	store_sqlite_bind_text(q, 4, b->call_id, &rc);
	store_sqlite_bind_i64(q, 5, b->cseq, &rc);
	store_sqlite_bind_i64(q, 6, b->q_permille, &rc);
	store_sqlite_bind_text(q, 7, b->path, &rc);
	store_sqlite_bind_text(q, 8, b->flow, &rc);
	store_sqlite_bind_text(q, 9, b->instance_id, &rc);
	return store_sqlite_run(s, q, rc, "put binding", NULL);
}

int store_sqlite_binding_del(struct store *st, const char *aor,
			     const char *contact)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_BINDING_DEL,
				"DELETE FROM bindings"
				" WHERE aor = ?1 AND contact = ?2",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	store_sqlite_bind_text(q, 2, contact, &rc);
	err = store_sqlite_run(s, q, rc, "delete binding", &n);
	if (!err && !n) {
		store_err_set(st, "delete binding: %s has no binding %s", aor,
			      contact);
		err = -ENOENT;
	}
	return err;
}

int store_sqlite_binding_del_aor(struct store *st, const char *aor)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_BINDING_DEL_AOR,
				"DELETE FROM bindings WHERE aor = ?1", &q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	return store_sqlite_run(s, q, rc, "delete bindings", NULL);
}

int store_sqlite_binding_list(struct store *st, const char *aor, int64_t now,
			      struct store_vec *out)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	/* §10.2.4: the 200 lists the bindings still in force, and a proxy
	 * tries the highest q first (§16.6) */
	err = store_sqlite_stmt(s, SQ_BINDING_LIST,
				"SELECT " BINDING_COLS " FROM bindings"
				" WHERE aor = ?1 AND expires_at > ?2"
				" ORDER BY q DESC, contact",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	store_sqlite_bind_i64(q, 2, now, &rc);
	for (;;) {
		struct store_binding *b = NULL;

		err = store_sqlite_next(s, q, rc, "list bindings");
		if (err <= 0)
			break;
		err = binding_read(s, q, &b);
		if (!err)
			err = store_vec_push(out, b);
		if (err) {
			store_binding_free(b);
			break;
		}
	}
	store_sqlite_done(q);
	return err;
}

int store_sqlite_binding_purge(struct store *st, int64_t now, size_t *n)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_BINDING_PURGE,
				"DELETE FROM bindings WHERE expires_at <= ?1",
				&q);
	if (err)
		return err;
	store_sqlite_bind_i64(q, 1, now, &rc);
	return store_sqlite_run(s, q, rc, "purge bindings", n);
}
