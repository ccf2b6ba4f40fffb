/* SPDX-License-Identifier: BSD-3-Clause */
/* store: subscriptions with their dialog state (RFC 6665 §4.1, RFC 3261
 * §12), in SQLite, so a restarted notifier resumes them. */
#include "store/sqlite_int.h"

#define SUB_COLS                                                               \
	"id, aor, package, call_id, local_tag, remote_tag, local_uri,"         \
	" remote_uri, remote_target, route_set, local_cseq, remote_cseq,"      \
	" flow, expires_at, last_notify_at, state"

static int sub_read(struct sq *s, sqlite3_stmt *q, struct store_sub **out)
{
	struct store_sub sub;
	int rc = SQLITE_OK;

	sub.id = store_sqlite_col_text(q, 0, &rc);
	sub.aor = store_sqlite_col_text(q, 1, &rc);
	sub.package = store_sqlite_col_text(q, 2, &rc);
	sub.call_id = store_sqlite_col_text(q, 3, &rc);
	sub.local_tag = store_sqlite_col_text(q, 4, &rc);
	sub.remote_tag = store_sqlite_col_text(q, 5, &rc);
	sub.local_uri = store_sqlite_col_text(q, 6, &rc);
	sub.remote_uri = store_sqlite_col_text(q, 7, &rc);
	sub.remote_target = store_sqlite_col_text(q, 8, &rc);
	sub.route_set = store_sqlite_col_text(q, 9, &rc);
	sub.local_cseq = (uint32_t)sqlite3_column_int64(q, 10);
	sub.remote_cseq = (uint32_t)sqlite3_column_int64(q, 11);
	sub.flow = store_sqlite_col_text(q, 12, &rc);
	sub.expires_at = sqlite3_column_int64(q, 13);
	sub.last_notify_at = sqlite3_column_int64(q, 14);
	sub.state = store_sqlite_col_text(q, 15, &rc);
	if (rc != SQLITE_OK)
		return store_sqlite_fail(s, rc, "read subscription");
	return store_sub_dup(out, &sub);
}

int store_sqlite_sub_put(struct store *st, const struct store_sub *sub)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(
		s, SQ_SUB_PUT,
		"INSERT INTO subscriptions (" SUB_COLS ")"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		" ?13, ?14, ?15, ?16)"
		" ON CONFLICT (id) DO UPDATE SET"
		" aor = excluded.aor, package = excluded.package,"
		" call_id = excluded.call_id,"
		" local_tag = excluded.local_tag,"
		" remote_tag = excluded.remote_tag,"
		" local_uri = excluded.local_uri,"
		" remote_uri = excluded.remote_uri,"
		" remote_target = excluded.remote_target,"
		" route_set = excluded.route_set,"
		" local_cseq = excluded.local_cseq,"
		" remote_cseq = excluded.remote_cseq,"
		" flow = excluded.flow, expires_at = excluded.expires_at,"
		" last_notify_at = excluded.last_notify_at,"
		" state = excluded.state",
		&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, sub->id, &rc);
	store_sqlite_bind_text(q, 2, sub->aor, &rc);
	store_sqlite_bind_text(q, 3, sub->package, &rc);
	store_sqlite_bind_text(q, 4, sub->call_id, &rc);
	store_sqlite_bind_text(q, 5, sub->local_tag, &rc);
	store_sqlite_bind_text(q, 6, sub->remote_tag, &rc);
	store_sqlite_bind_text(q, 7, sub->local_uri, &rc);
	store_sqlite_bind_text(q, 8, sub->remote_uri, &rc);
	store_sqlite_bind_text(q, 9, sub->remote_target, &rc);
	store_sqlite_bind_text(q, 10, sub->route_set, &rc);
	store_sqlite_bind_i64(q, 11, sub->local_cseq, &rc);
	store_sqlite_bind_i64(q, 12, sub->remote_cseq, &rc);
	store_sqlite_bind_text(q, 13, sub->flow, &rc);
	store_sqlite_bind_i64(q, 14, sub->expires_at, &rc);
	store_sqlite_bind_i64(q, 15, sub->last_notify_at, &rc);
	store_sqlite_bind_text(q, 16, sub->state, &rc);
	return store_sqlite_run(s, q, rc, "put subscription", NULL);
}

int store_sqlite_sub_get(struct store *st, const char *id,
			 struct store_sub **out)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_SUB_GET,
				"SELECT " SUB_COLS " FROM subscriptions"
				" WHERE id = ?1",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, id, &rc);
	err = store_sqlite_next(s, q, rc, "get subscription");
	if (err > 0)
		err = sub_read(s, q, out);
	else if (!err) {
		store_err_set(st, "get subscription: no subscription %s", id);
		err = -ENOENT;
	}
	store_sqlite_done(q);
	return err;
}

int store_sqlite_sub_del(struct store *st, const char *id)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_SUB_DEL,
				"DELETE FROM subscriptions WHERE id = ?1", &q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, id, &rc);
	err = store_sqlite_run(s, q, rc, "delete subscription", &n);
	if (!err && !n) {
		store_err_set(st, "delete subscription: no subscription %s",
			      id);
		err = -ENOENT;
	}
	return err;
}

int store_sqlite_sub_list(struct store *st, const struct store_sub_filter *f,
			  struct store_vec *out)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_SUB_LIST,
				"SELECT " SUB_COLS " FROM subscriptions"
				" WHERE (?1 IS NULL OR aor = ?1)"
				" AND (?2 IS NULL OR package = ?2)"
				" AND expires_at > ?3"
				" ORDER BY aor, package, id",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, f->aor, &rc);
	store_sqlite_bind_text(q, 2, f->package, &rc);
	store_sqlite_bind_i64(q, 3, f->now, &rc);
	for (;;) {
		struct store_sub *sub = NULL;

		err = store_sqlite_next(s, q, rc, "list subscriptions");
		if (err <= 0)
			break;
		err = sub_read(s, q, &sub);
		if (!err)
			err = store_vec_push(out, sub);
		if (err) {
			store_sub_free(sub);
			break;
		}
	}
	store_sqlite_done(q);
	return err;
}

int store_sqlite_sub_purge(struct store *st, int64_t now, size_t *n)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	/* a subscription not refreshed in time has ended */
	err = store_sqlite_stmt(s, SQ_SUB_PURGE,
				"DELETE FROM subscriptions"
				" WHERE expires_at <= ?1",
				&q);
	if (err)
		return err;
	store_sqlite_bind_i64(q, 1, now, &rc);
	return store_sqlite_run(s, q, rc, "purge subscriptions", n);
}
