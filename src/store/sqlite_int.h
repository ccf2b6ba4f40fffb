/* SPDX-License-Identifier: BSD-3-Clause */
/* store: the SQLite backend's handle, statement cache and helpers, shared
 * by sqlite*.c (private to src/store/). */
#ifndef SIPCERT_STORE_SQLITE_INT_H
#define SIPCERT_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/backend.h"

/* Every statement a handle prepares, once, on first use. */
enum sq_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_USER_ADD,
	SQ_USER_SET_HA1,
	SQ_USER_GET,
	SQ_USER_DEL,
	SQ_USER_LIST,
	SQ_BINDING_PUT,
	SQ_BINDING_DEL,
	SQ_BINDING_DEL_AOR,
	SQ_BINDING_LIST,
	SQ_BINDING_PURGE,
	SQ_CRED_DEL_DEVICE,
	SQ_CRED_INSERT,
	SQ_CRED_REFRESH,
	SQ_CRED_NEWEST,
	SQ_CRED_GET_ETAG,
	SQ_CRED_LIST,
	SQ_CRED_FP_OF_ETAG,
	SQ_CRED_DEL_FP,
	SQ_CRED_DEL_AOR,
	SQ_CRED_PURGE,
	SQ_FP_INSERT,
	SQ_FP_REVOKE,
	SQ_FP_REVOKE_AOR,
	SQ_FP_LIST,
	SQ_SUB_PUT,
	SQ_SUB_GET,
	SQ_SUB_DEL,
	SQ_SUB_APPLY_PUT,
	SQ_SUB_LIST,
	SQ_SUB_PURGE,
	SQ_N_STMTS
};

struct sq {
	struct store base;
	sqlite3 *db;
	sqlite3_stmt *stmt[SQ_N_STMTS];
};

static inline struct sq *sq_of(struct store *st)
{
	return container_of(st, struct sq, base);
}

/* Map an SQLite result code to a negative errno and record the reason
 * (what, then SQLite's message) on the handle. */
int store_sqlite_fail(struct sq *s, int rc, const char *what);

/* The cached statement id, prepared from sql the first time. */
int store_sqlite_stmt(struct sq *s, enum sq_stmt id, const char *sql,
		      sqlite3_stmt **out);

/* Binders chain through *rc: each does nothing once *rc is not SQLITE_OK.
 * A NULL string or blob binds SQL NULL. Values stay owned by the caller
 * until store_sqlite_done(). */
void store_sqlite_bind_text(sqlite3_stmt *q, int i, const char *v, int *rc);
void store_sqlite_bind_blob(sqlite3_stmt *q, int i, const void *p, size_t n,
			    int *rc);
void store_sqlite_bind_i64(sqlite3_stmt *q, int i, int64_t v, int *rc);

/* Step q: 1 with a row, 0 when done, or a negative errno; bind_rc is the
 * binders' result, checked first. */
int store_sqlite_next(struct sq *s, sqlite3_stmt *q, int bind_rc,
		      const char *what);
/* Reset q and release its bindings, ready for the next use. */
void store_sqlite_done(sqlite3_stmt *q);
/* Run a write statement to completion, then store_sqlite_done(); changes
 * (may be NULL) gets the number of rows it changed. */
int store_sqlite_run(struct sq *s, sqlite3_stmt *q, int bind_rc,
		     const char *what, size_t *changes);

/* Column readers: a SQL NULL gives NULL; *rc becomes SQLITE_NOMEM when
 * SQLite could not produce a value that is there. */
const char *store_sqlite_col_text(sqlite3_stmt *q, int i, int *rc);
const uint8_t *store_sqlite_col_blob(sqlite3_stmt *q, int i, size_t *len,
				     int *rc);

/* BEGIN IMMEDIATE: take the write lock now, so a transaction never fails
 * half-way on a lock another connection holds. */
int store_sqlite_begin(struct sq *s);
/* COMMIT when err is 0, else ROLLBACK; returns err or the COMMIT error. */
int store_sqlite_end(struct sq *s, int err);

/* sqlite_schema.c: bring the schema to STORE_SCHEMA_VERSION. */
int store_sqlite_schema_migrate(struct sq *s);

/* sqlite_user.c */
int store_sqlite_user_add(struct store *st, const struct store_user *u);
int store_sqlite_user_set_ha1(struct store *st, const struct store_user *u);
int store_sqlite_user_get(struct store *st, const char *aor,
			  struct store_user **out);
int store_sqlite_user_del(struct store *st, const char *aor);
int store_sqlite_user_list(struct store *st, struct store_vec *out);
int store_sqlite_binding_put(struct store *st, const struct store_binding *b);
int store_sqlite_binding_del(struct store *st, const char *aor,
			     const char *contact);
int store_sqlite_binding_del_aor(struct store *st, const char *aor);
int store_sqlite_binding_list(struct store *st, const char *aor, int64_t now,
			      struct store_vec *out);
int store_sqlite_binding_purge(struct store *st, int64_t now, size_t *n);

/* sqlite_cred.c */
int store_sqlite_cred_put(struct store *st, const struct store_cred *c);
int store_sqlite_cred_refresh(struct store *st, const char *aor,
			      const char *etag, const char *new_etag,
			      int64_t expires_at);
int store_sqlite_cred_newest(struct store *st, const char *aor, int64_t now,
			     struct store_cred **out);
int store_sqlite_cred_get_etag(struct store *st, const char *aor,
			       const char *etag, int64_t now,
			       struct store_cred **out);
int store_sqlite_cred_list(struct store *st, const char *aor, int64_t now,
			   struct store_vec *out);
int store_sqlite_cred_revoke_etag(struct store *st, const char *aor,
				  const char *etag, int64_t now);
int store_sqlite_cred_revoke_fp(struct store *st, const char *aor,
				const char *sha256, int64_t now);
int store_sqlite_cred_revoke_aor(struct store *st, const char *aor, int64_t now,
				 size_t *n);
int store_sqlite_cred_purge(struct store *st, int64_t now, size_t *n);
int store_sqlite_fp_list(struct store *st, const char *aor,
			 struct store_vec *out);

/* sqlite_sub.c */
int store_sqlite_sub_put(struct store *st, const struct store_sub *sub);
int store_sqlite_sub_get(struct store *st, const char *id,
			 struct store_sub **out);
int store_sqlite_sub_del(struct store *st, const char *id);
int store_sqlite_sub_apply(struct store *st,
			   const struct store_sub *const *puts, size_t n_puts,
			   const char *const *dels, size_t n_dels,
			   size_t *n_skipped);
int store_sqlite_sub_list(struct store *st, const struct store_sub_filter *f,
			  struct store_vec *out);
int store_sqlite_sub_purge(struct store *st, int64_t now, size_t *n);

#endif
