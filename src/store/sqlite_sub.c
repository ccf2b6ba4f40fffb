/* SPDX-License-Identifier: BSD-3-Clause */
/* store: subscriptions with their dialog state (RFC 6665 §4.1, RFC 3261
 * §12), in SQLite, so a restarted notifier resumes them; batches of puts
 * and deletes in one transaction (group commit). */
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

/* Insert, or update every column of the row with the same id. */
#define SUB_UPSERT                                                             \
	" ON CONFLICT (id) DO UPDATE SET"                                      \
	" aor = excluded.aor, package = excluded.package,"                     \
	" call_id = excluded.call_id, local_tag = excluded.local_tag,"         \
	" remote_tag = excluded.remote_tag, local_uri = excluded.local_uri,"   \
	" remote_uri = excluded.remote_uri,"                                   \
	" remote_target = excluded.remote_target,"                             \
	" route_set = excluded.route_set, local_cseq = excluded.local_cseq,"   \
	" remote_cseq = excluded.remote_cseq, flow = excluded.flow,"           \
	" expires_at = excluded.expires_at,"                                   \
	" last_notify_at = excluded.last_notify_at, state = excluded.state"

#define SUB_PARAMS                                                             \
	"?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "   \
	"?16"

/* Bind sub to ?1..?16 in SUB_COLS order; the result chains through *rc. */
static void sub_bind(sqlite3_stmt *q, const struct store_sub *sub, int *rc)
{
	store_sqlite_bind_text(q, 1, sub->id, rc);
	store_sqlite_bind_text(q, 2, sub->aor, rc);
	store_sqlite_bind_text(q, 3, sub->package, rc);
	store_sqlite_bind_text(q, 4, sub->call_id, rc);
	store_sqlite_bind_text(q, 5, sub->local_tag, rc);
	store_sqlite_bind_text(q, 6, sub->remote_tag, rc);
	store_sqlite_bind_text(q, 7, sub->local_uri, rc);
	store_sqlite_bind_text(q, 8, sub->remote_uri, rc);
	store_sqlite_bind_text(q, 9, sub->remote_target, rc);
	store_sqlite_bind_text(q, 10, sub->route_set, rc);
	store_sqlite_bind_i64(q, 11, sub->local_cseq, rc);
	store_sqlite_bind_i64(q, 12, sub->remote_cseq, rc);
	store_sqlite_bind_text(q, 13, sub->flow, rc);
	store_sqlite_bind_i64(q, 14, sub->expires_at, rc);
	store_sqlite_bind_i64(q, 15, sub->last_notify_at, rc);
	store_sqlite_bind_text(q, 16, sub->state, rc);
}

int store_sqlite_sub_put(struct store *st, const struct store_sub *sub)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	/* the foreign key on aor fails the put when it is not a user */
	err = store_sqlite_stmt(s, SQ_SUB_PUT,
				"INSERT INTO subscriptions (" SUB_COLS ")"
				" VALUES (" SUB_PARAMS ")" SUB_UPSERT,
				&q);
	if (err)
		return err;
	sub_bind(q, sub, &rc);
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

/* Delete the subscription id; n gets 1, or 0 when there was none. */
static int sub_del_run(struct sq *s, const char *id, size_t *n)
{
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_SUB_DEL,
				"DELETE FROM subscriptions WHERE id = ?1", &q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, id, &rc);
	return store_sqlite_run(s, q, rc, "delete subscription", n);
}

int store_sqlite_sub_del(struct store *st, const char *id)
{
	struct sq *s = sq_of(st);
	size_t n = 0;
	int err;

	err = sub_del_run(s, id, &n);
	if (!err && !n) {
		store_err_set(st, "delete subscription: no subscription %s",
			      id);
		err = -ENOENT;
	}
	return err;
}

/* The batch's work under the write lock. A put checks in the same
 * statement that its AOR is a user: a user deleted by another connection
 * before BEGIN IMMEDIATE makes it change no row (skipped: deleting the
 * user took its subscriptions with it, and a put must not bring one
 * back), and no user can be deleted after it until COMMIT. */
static int sub_apply_locked(struct sq *s, const struct store_sub *const *puts,
			    size_t n_puts, const char *const *dels,
			    size_t n_dels, size_t *n_skipped)
{
	sqlite3_stmt *q = NULL;
	size_t skipped = 0;
	int err;

	/* a SELECT with a WHERE clause before ON CONFLICT: without it
	 * SQLite would read ON as a join constraint */
	err = store_sqlite_stmt(s, SQ_SUB_APPLY_PUT,
				"INSERT INTO subscriptions (" SUB_COLS ")"
				" SELECT " SUB_PARAMS
				" WHERE EXISTS (SELECT 1 FROM users"
				" WHERE aor = ?2)" SUB_UPSERT,
				&q);
	if (err)
		return err;
	for (size_t i = 0; i < n_puts; i++) {
		int rc = SQLITE_OK;
		size_t n = 0;

		sub_bind(q, puts[i], &rc);
		err = store_sqlite_run(s, q, rc, "apply subscriptions", &n);
		if (err)
			return err;
		if (!n)
			skipped++;
	}
	for (size_t i = 0; i < n_dels; i++) {
		/* an id not stored is no error: it ended already */
		err = sub_del_run(s, dels[i], NULL);
		if (err)
			return err;
	}
	*n_skipped = skipped;
	return 0;
}

int store_sqlite_sub_apply(struct store *st,
			   const struct store_sub *const *puts, size_t n_puts,
			   const char *const *dels, size_t n_dels,
			   size_t *n_skipped)
{
	struct sq *s = sq_of(st);
	size_t skipped = 0;
	int err;

	/* one transaction, so one fsync of the log for the whole batch */
	err = store_sqlite_begin(s);
	if (err)
		return err;
	err = store_sqlite_end(
		s, sub_apply_locked(s, puts, n_puts, dels, n_dels, &skipped));
	if (!err)
		*n_skipped = skipped;
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
