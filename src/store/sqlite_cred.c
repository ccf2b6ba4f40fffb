/* SPDX-License-Identifier: BSD-3-Clause */
/* store: credentials per AOR and device (RFC 6072 §6), their publications
 * (RFC 3903 entity tags and expiry) and fingerprint history, in SQLite. */
#include "store/sqlite_int.h"

#define CRED_COLS                                                              \
	"aor, device, cert_der, sealed_pkcs8, etag, not_before, not_after,"    \
	" published_at, expires_at, sha256"

/* A credential is current while its publication and its certificate are
 * both unexpired (RFC 3903 §6; RFC 6072 §10.3 checks validity too). */
#define CRED_CURRENT "expires_at > ?2 AND not_after > ?2"

/* Newest first; the rowid breaks ties within one second, because a put
 * deletes and inserts, so the later put has the higher rowid. */
#define CRED_NEWEST_FIRST " ORDER BY published_at DESC, rowid DESC"

static int cred_read(struct sq *s, sqlite3_stmt *q, struct store_cred **out)
{
	struct store_cred c;
	int rc = SQLITE_OK;

	c.aor = store_sqlite_col_text(q, 0, &rc);
	c.device = store_sqlite_col_text(q, 1, &rc);
	c.cert_der = store_sqlite_col_blob(q, 2, &c.cert_len, &rc);
	c.sealed_pkcs8 = store_sqlite_col_blob(q, 3, &c.sealed_pkcs8_len, &rc);
	c.etag = store_sqlite_col_text(q, 4, &rc);
	c.not_before = sqlite3_column_int64(q, 5);
	c.not_after = sqlite3_column_int64(q, 6);
	c.published_at = sqlite3_column_int64(q, 7);
	c.expires_at = sqlite3_column_int64(q, 8);
	c.sha256 = store_sqlite_col_text(q, 9, &rc);
	if (rc != SQLITE_OK)
		return store_sqlite_fail(s, rc, "read credential");
	return store_cred_dup(out, &c);
}

/* Step q once and read the credential; -ENOENT when there is none. */
static int cred_one(struct sq *s, sqlite3_stmt *q, int rc, const char *what,
		    struct store_cred **out)
{
	int err = store_sqlite_next(s, q, rc, what);

	if (err > 0)
		err = cred_read(s, q, out);
	else if (!err) {
		store_err_set(&s->base, "%s: no such credential", what);
		err = -ENOENT;
	}
	store_sqlite_done(q);
	return err;
}

static int cred_put_locked(struct sq *s, const struct store_cred *c)
{
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	/* replace the device's credential: delete, then insert, so the new
	 * row gets the highest rowid (CRED_NEWEST_FIRST) */
	err = store_sqlite_stmt(s, SQ_CRED_DEL_DEVICE,
				"DELETE FROM credentials"
				" WHERE aor = ?1 AND device = ?2",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, c->aor, &rc);
	store_sqlite_bind_text(q, 2, c->device, &rc);
	err = store_sqlite_run(s, q, rc, "put credential", NULL);
	if (err)
		return err;

	err = store_sqlite_stmt(s, SQ_CRED_INSERT,
				"INSERT INTO credentials (" CRED_COLS ")"
				" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
				" ?10)",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, c->aor, &rc);
	store_sqlite_bind_text(q, 2, c->device, &rc);
	store_sqlite_bind_blob(q, 3, c->cert_der, c->cert_len, &rc);
	store_sqlite_bind_blob(q, 4, c->sealed_pkcs8, c->sealed_pkcs8_len, &rc);
	store_sqlite_bind_text(q, 5, c->etag, &rc);
	store_sqlite_bind_i64(q, 6, c->not_before, &rc);
	store_sqlite_bind_i64(q, 7, c->not_after, &rc);
	store_sqlite_bind_i64(q, 8, c->published_at, &rc);
	store_sqlite_bind_i64(q, 9, c->expires_at, &rc);
	store_sqlite_bind_text(q, 10, c->sha256, &rc);
	err = store_sqlite_run(s, q, rc, "put credential", NULL);
	if (err)
		return err;

	err = store_sqlite_stmt(s, SQ_FP_INSERT,
				"INSERT INTO fingerprints"
				" (aor, sha256, not_after, first_seen)"
				" VALUES (?1, ?2, ?3, ?4)",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, c->aor, &rc);
	store_sqlite_bind_text(q, 2, c->sha256, &rc);
	store_sqlite_bind_i64(q, 3, c->not_after, &rc);
	store_sqlite_bind_i64(q, 4, c->published_at, &rc);
	return store_sqlite_run(s, q, rc, "put credential history", NULL);
}

int store_sqlite_cred_put(struct store *st, const struct store_cred *c)
{
	struct sq *s = sq_of(st);
	int err = store_sqlite_begin(s);

	if (err)
		return err;
	return store_sqlite_end(s, cred_put_locked(s, c));
}

int store_sqlite_cred_refresh(struct store *st, const char *aor,
			      const char *etag, const char *new_etag,
			      int64_t expires_at)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_CRED_REFRESH,
				"UPDATE credentials SET etag = ?3,"
				" expires_at = ?4"
				" WHERE aor = ?1 AND etag = ?2",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	store_sqlite_bind_text(q, 2, etag, &rc);
	store_sqlite_bind_text(q, 3, new_etag, &rc);
	store_sqlite_bind_i64(q, 4, expires_at, &rc);
	err = store_sqlite_run(s, q, rc, "refresh credential", &n);
	if (!err && !n) {
		store_err_set(st, "refresh credential: %s has no etag %s", aor,
			      etag);
		err = -ENOENT;
	}
	return err;
}

int store_sqlite_cred_newest(struct store *st, const char *aor, int64_t now,
			     struct store_cred **out)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(
		s, SQ_CRED_NEWEST,
		"SELECT " CRED_COLS " FROM credentials"
		" WHERE aor = ?1 AND " CRED_CURRENT CRED_NEWEST_FIRST
		" LIMIT 1",
		&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	store_sqlite_bind_i64(q, 2, now, &rc);
	return cred_one(s, q, rc, "newest credential", out);
}

int store_sqlite_cred_get_etag(struct store *st, const char *aor,
			       const char *etag, int64_t now,
			       struct store_cred **out)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_CRED_GET_ETAG,
				"SELECT " CRED_COLS " FROM credentials"
				" WHERE aor = ?1 AND etag = ?3"
				" AND expires_at > ?2",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	store_sqlite_bind_i64(q, 2, now, &rc);
	store_sqlite_bind_text(q, 3, etag, &rc);
	return cred_one(s, q, rc, "credential by etag", out);
}

int store_sqlite_cred_list(struct store *st, const char *aor, int64_t now,
			   struct store_vec *out)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(
		s, SQ_CRED_LIST,
		"SELECT " CRED_COLS " FROM credentials"
		" WHERE aor = ?1 AND " CRED_CURRENT CRED_NEWEST_FIRST,
		&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	store_sqlite_bind_i64(q, 2, now, &rc);
	for (;;) {
		struct store_cred *c = NULL;

		err = store_sqlite_next(s, q, rc, "list credentials");
		if (err <= 0)
			break;
		err = cred_read(s, q, &c);
		if (!err)
			err = store_vec_push(out, c);
		if (err) {
			store_cred_free(c);
			break;
		}
	}
	store_sqlite_done(q);
	return err;
}

/* Remove every current credential of aor with this certificate and mark
 * its history revoked; *n counts the rows either changed. */
static int revoke_fp_locked(struct sq *s, const char *aor, const char *sha256,
			    int64_t now, size_t *n)
{
	sqlite3_stmt *q = NULL;
	size_t deleted = 0, marked = 0;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_CRED_DEL_FP,
				"DELETE FROM credentials"
				" WHERE aor = ?1 AND sha256 = ?2",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	store_sqlite_bind_text(q, 2, sha256, &rc);
	err = store_sqlite_run(s, q, rc, "revoke credential", &deleted);
	if (err)
		return err;

	err = store_sqlite_stmt(s, SQ_FP_REVOKE,
				"UPDATE fingerprints SET revoked_at = ?3"
				" WHERE aor = ?1 AND sha256 = ?2"
				" AND revoked_at IS NULL",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	store_sqlite_bind_text(q, 2, sha256, &rc);
	store_sqlite_bind_i64(q, 3, now, &rc);
	err = store_sqlite_run(s, q, rc, "revoke credential history", &marked);
	if (err)
		return err;
	*n = deleted + marked;
	return 0;
}

/* The fingerprint of the credential of aor published under etag, copied
 * (the statement is reset before it is used). */
static int fp_of_etag(struct sq *s, const char *aor, const char *etag,
		      char **out)
{
	sqlite3_stmt *q = NULL;
	const char *v;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_CRED_FP_OF_ETAG,
				"SELECT sha256 FROM credentials"
				" WHERE aor = ?1 AND etag = ?2",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	store_sqlite_bind_text(q, 2, etag, &rc);
	err = store_sqlite_next(s, q, rc, "revoke credential");
	if (err > 0) {
		v = store_sqlite_col_text(q, 0, &rc);
		if (rc != SQLITE_OK || !v) {
			err = store_sqlite_fail(s, rc, "revoke credential");
		} else {
			*out = mem_strdup(v);
			err = *out ? 0 : -ENOMEM;
		}
	} else if (!err) {
		store_err_set(&s->base, "revoke credential: %s has no etag %s",
			      aor, etag);
		err = -ENOENT;
	}
	store_sqlite_done(q);
	return err;
}

static int revoke_etag_locked(struct sq *s, const char *aor, const char *etag,
			      int64_t now)
{
	char *sha256 = NULL;
	size_t n;
	int err;

	err = fp_of_etag(s, aor, etag, &sha256);
	if (!err)
		err = revoke_fp_locked(s, aor, sha256, now, &n);
	mem_free(sha256);
	return err;
}

int store_sqlite_cred_revoke_etag(struct store *st, const char *aor,
				  const char *etag, int64_t now)
{
	struct sq *s = sq_of(st);
	int err = store_sqlite_begin(s);

	if (err)
		return err;
	return store_sqlite_end(s, revoke_etag_locked(s, aor, etag, now));
}

int store_sqlite_cred_revoke_fp(struct store *st, const char *aor,
				const char *sha256, int64_t now)
{
	struct sq *s = sq_of(st);
	size_t n = 0;
	int err = store_sqlite_begin(s);

	if (err)
		return err;
	err = revoke_fp_locked(s, aor, sha256, now, &n);
	if (!err && !n) {
		store_err_set(st, "revoke credential: %s has no fingerprint %s",
			      aor, sha256);
		err = -ENOENT;
	}
	return store_sqlite_end(s, err);
}

static int revoke_aor_locked(struct sq *s, const char *aor, int64_t now,
			     size_t *n)
{
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_FP_REVOKE_AOR,
				"UPDATE fingerprints SET revoked_at = ?2"
				" WHERE aor = ?1 AND revoked_at IS NULL"
				" AND sha256 IN (SELECT sha256"
				" FROM credentials WHERE aor = ?1)",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	store_sqlite_bind_i64(q, 2, now, &rc);
	err = store_sqlite_run(s, q, rc, "revoke credential history", NULL);
	if (err)
		return err;

	err = store_sqlite_stmt(s, SQ_CRED_DEL_AOR,
				"DELETE FROM credentials WHERE aor = ?1", &q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	return store_sqlite_run(s, q, rc, "revoke credentials", n);
}

int store_sqlite_cred_revoke_aor(struct store *st, const char *aor, int64_t now,
				 size_t *n)
{
	struct sq *s = sq_of(st);
	int err = store_sqlite_begin(s);

	if (err)
		return err;
	return store_sqlite_end(s, revoke_aor_locked(s, aor, now, n));
}

int store_sqlite_cred_purge(struct store *st, int64_t now, size_t *n)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_CRED_PURGE,
				"DELETE FROM credentials"
				" WHERE expires_at <= ?1 OR not_after <= ?1",
				&q);
	if (err)
		return err;
	store_sqlite_bind_i64(q, 1, now, &rc);
	return store_sqlite_run(s, q, rc, "purge credentials", n);
}

static int fp_read(struct sq *s, sqlite3_stmt *q, struct store_fp **out)
{
	struct store_fp f;
	int rc = SQLITE_OK;

	f.aor = store_sqlite_col_text(q, 0, &rc);
	f.sha256 = store_sqlite_col_text(q, 1, &rc);
	f.not_after = sqlite3_column_int64(q, 2);
	f.first_seen = sqlite3_column_int64(q, 3);
	f.revoked_at = sqlite3_column_int64(q, 4); /* NULL reads as 0 */
	if (rc != SQLITE_OK)
		return store_sqlite_fail(s, rc, "read fingerprint");
	return store_fp_dup(out, &f);
}

int store_sqlite_fp_list(struct store *st, const char *aor,
			 struct store_vec *out)
{
	struct sq *s = sq_of(st);
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_OK;
	int err;

	err = store_sqlite_stmt(s, SQ_FP_LIST,
				"SELECT aor, sha256, not_after, first_seen,"
				" revoked_at FROM fingerprints"
				" WHERE aor = ?1 ORDER BY id",
				&q);
	if (err)
		return err;
	store_sqlite_bind_text(q, 1, aor, &rc);
	for (;;) {
		struct store_fp *f = NULL;

		err = store_sqlite_next(s, q, rc, "list fingerprints");
		if (err <= 0)
			break;
		err = fp_read(s, q, &f);
		if (!err)
			err = store_vec_push(out, f);
		if (err) {
			store_fp_free(f);
			break;
		}
	}
	store_sqlite_done(q);
	return err;
}
