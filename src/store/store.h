/* SPDX-License-Identifier: BSD-3-Clause */
/* store: sipcertd's persistent state behind one backend-neutral interface:
 * users and digest HA1s, REGISTER bindings (RFC 3261 §10), credentials per
 * AOR with their fingerprint history (RFC 6072), subscriptions (RFC 6665). */
#ifndef SIPCERT_STORE_H
#define SIPCERT_STORE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Handles. store_open() gives one handle on one database. A handle is not
 * shared between threads: the daemon gives each worker thread its own, and
 * the database (SQLite in WAL mode, or PostgreSQL) arbitrates between them
 * and between processes. Calls block (they may fsync), so the event loop
 * never calls them directly (STYLE.md B6).
 *
 * Durability. A call that returned 0 after a write has committed it: it
 * survives the process being killed at any moment and, with the SQLite
 * backend's synchronous=FULL, a power loss too. That costs one fsync of
 * the write-ahead log per committed write; the alternative (NORMAL) would
 * be faster but could lose the last writes on power loss, after the
 * client had been answered 200. Every write of several rows is one
 * transaction: it happens entirely or not at all.
 *
 * Errors. Every int-returning call gives 0 or a negative errno:
 *   -EINVAL  a NULL or malformed argument (bad hex, q outside 0..1000)
 *   -ENOENT  nothing matched (no such user, binding, credential, ...)
 *   -EEXIST  a duplicate (user AOR, entity tag of another device)
 *   -EBUSY   the database stayed locked longer than the busy timeout
 *   -EIO     a database error
 *   -EMSGSIZE  a text or blob longer than the limits below
 *   -ENOMEM  out of memory
 *   -EPROTO  the database schema is newer than this code (store_open)
 *   -EPROTONOSUPPORT  the URL names a backend this build does not have
 * store_last_error() then says what happened, for the log.
 *
 * Records. Each record returned is one allocation (strings and blobs live
 * inside it) that the caller frees with its _free() function; a list is
 * an array of such records freed with store_list_free(). The same structs
 * are the arguments of writes: the store copies what it keeps.
 *
 * Times are Unix seconds (int64_t). Reads that filter by expiry take the
 * current time as an argument (`now`), so callers and tests decide it.
 * AORs are compared exactly: callers pass the normalised "sip:user@domain".
 */

/* The schema version this code writes (PRAGMA user_version in SQLite).
 * store_open() migrates older databases up to it and refuses newer ones. */
enum { STORE_SCHEMA_VERSION = 1 };

/* Longest text field and blob the store accepts (-EMSGSIZE beyond). */
enum {
	STORE_TEXT_MAX_BYTES = 8192,
	STORE_BLOB_MAX_BYTES = 256 * 1024,
};

struct store;

/* Open the database named by url and bring its schema up to date:
 *   "sqlite:/path/to/file.db"  (also "sqlite:///path", "sqlite::memory:")
 * The file is created when missing, readable by its owner only (HA1s are
 * password equivalents). Fails with -EPROTO when the schema is newer than
 * STORE_SCHEMA_VERSION, -EPROTONOSUPPORT for an unknown scheme, -EINVAL
 * for a malformed url, -EIO when the file is not a database or cannot be
 * opened; store_last_error(NULL) then explains on the calling thread.
 * *out is set only on success. */
int store_open(struct store **out, const char *url);
/* Close the handle; NULL is a no-op. */
void store_close(struct store *st);
/* Message about the last failed call on st ("" when none). With NULL: the
 * last failed store_open() on this thread. Valid until the next call. */
const char *store_last_error(const struct store *st);
/* Backend name: "sqlite". */
const char *store_backend(const struct store *st);

/* Free every record of a list and the array; NULL is a no-op. */
void store_list_free(void *v, size_t n);

/* ---- users ------------------------------------------------------------ */

/* A user of the domain and the HA1 values of RFC 7616 §3.4.2 digest
 * authentication: lower-case hex H(username:realm:password), 32 digits
 * for MD5 and 64 for SHA-256; NULL when that algorithm is not offered. */
struct store_user {
	const char *aor;
	const char *ha1_md5;
	const char *ha1_sha256;
	int64_t created_at; /* store_user_add() sets both times from it */
	int64_t updated_at; /* store_user_set_ha1() sets it */
};

/* Add a user; -EEXIST when the AOR exists. */
int store_user_add(struct store *st, const struct store_user *u);
/* Replace both HA1 values of u->aor (a password change); -ENOENT. */
int store_user_set_ha1(struct store *st, const struct store_user *u);
int store_user_get(struct store *st, const char *aor, struct store_user **out);
/* Delete the user with its bindings, credentials, fingerprint history and
 * subscriptions (foreign-key cascade); -ENOENT. */
int store_user_del(struct store *st, const char *aor);
/* Every user, ordered by AOR. */
int store_user_list(struct store *st, struct store_user ***out, size_t *n);
int store_user_dup(struct store_user **out, const struct store_user *u);
void store_user_free(struct store_user *u);

/* ---- bindings (RFC 3261 §10.3) --------------------------------------- */

struct store_binding {
	const char *aor;
	const char *contact;	 /* Contact URI as registered */
	int64_t expires_at;	 /* registration time + granted expiry */
	const char *call_id;	 /* §10.3 step 7: Call-ID and CSeq of the */
	uint32_t cseq;		 /* REGISTER that last updated the binding */
	uint32_t q_permille;	 /* q-value times 1000, 0..1000 */
	const char *path;	 /* RFC 3327 Path values, or NULL */
	const char *flow;	 /* the transport flow the REGISTER came on */
	const char *instance_id; /* RFC 5626 +sip.instance, or NULL */
};

/* Insert or update the binding (aor, contact); -ENOENT when aor is not a
 * user. */
int store_binding_put(struct store *st, const struct store_binding *b);
int store_binding_del(struct store *st, const char *aor, const char *contact);
/* Remove every binding of aor (§10.3 step 6, "Contact: *"); 0 when none. */
int store_binding_del_aor(struct store *st, const char *aor);
/* Bindings of aor not expired at now (expires_at > now), highest q
 * first. */
int store_binding_list(struct store *st, const char *aor, int64_t now,
		       struct store_binding ***out, size_t *n);
/* Delete bindings expired at now; n_removed may be NULL. */
int store_binding_purge(struct store *st, int64_t now, size_t *n_removed);
int store_binding_dup(struct store_binding **out,
		      const struct store_binding *b);
void store_binding_free(struct store_binding *b);

/* ---- credentials (RFC 6072) ------------------------------------------- */

/* One current credential per (aor, device): each enrolling device keeps
 * its own, and the `certificate` package serves the newest. The store
 * never sees a plaintext private key: sealed_pkcs8 was sealed with the
 * key-encryption key before it got here. */
struct store_cred {
	const char *aor;
	const char *device;	 /* enrolling device or instance id */
	const uint8_t *cert_der; /* X.509 certificate, DER */
	size_t cert_len;
	const uint8_t *sealed_pkcs8; /* sealed PKCS#8, or NULL */
	size_t sealed_pkcs8_len;
	const char *etag;   /* RFC 3903 entity tag, unique per aor */
	int64_t not_before; /* certificate validity */
	int64_t not_after;
	int64_t published_at; /* when the PUBLISH was accepted */
	int64_t expires_at;   /* RFC 3903 publication expiry */
	const char *sha256;   /* lower-case hex SHA-256 of cert_der */
};

/* A fingerprint history entry: one per stored credential, kept when the
 * credential is replaced, expires or is revoked. */
struct store_fp {
	const char *aor;
	const char *sha256;
	int64_t not_after;
	int64_t first_seen; /* published_at of the put that added it */
	int64_t revoked_at; /* 0 while not revoked */
};

/* Insert, or replace the credential of (aor, device), and append its
 * fingerprint to the history, in one transaction. -ENOENT when aor is not
 * a user, -EEXIST when another device of aor holds c->etag. */
int store_cred_put(struct store *st, const struct store_cred *c);
/* RFC 3903 §4.1 refresh: give the publication etag a new entity tag and
 * expiry; -ENOENT when no credential of aor has etag, -EEXIST when
 * new_etag is taken. */
int store_cred_refresh(struct store *st, const char *aor, const char *etag,
		       const char *new_etag, int64_t expires_at);
/* The credential the `certificate` package serves: the newest current one
 * (highest published_at, the later put on a tie) whose publication and
 * certificate are both unexpired at now; -ENOENT when none. */
int store_cred_newest(struct store *st, const char *aor, int64_t now,
		      struct store_cred **out);
/* The publication of aor with entity tag etag, unexpired at now (RFC 3903
 * §6: an expired publication no longer matches); -ENOENT. */
int store_cred_get_etag(struct store *st, const char *aor, const char *etag,
			int64_t now, struct store_cred **out);
/* Every current credential of aor at now, newest first. */
int store_cred_list(struct store *st, const char *aor, int64_t now,
		    struct store_cred ***out, size_t *n);
/* Revoke the certificate published under etag: every current credential
 * of aor with that certificate is removed and its history entries are
 * marked revoked at now; -ENOENT. */
int store_cred_revoke_etag(struct store *st, const char *aor, const char *etag,
			   int64_t now);
/* The same by fingerprint; -ENOENT when it is neither current nor an
 * unrevoked history entry of aor. */
int store_cred_revoke_fp(struct store *st, const char *aor, const char *sha256,
			 int64_t now);
/* Revoke every current credential of aor; n_revoked may be NULL. */
int store_cred_revoke_aor(struct store *st, const char *aor, int64_t now,
			  size_t *n_revoked);
/* Delete credentials whose publication or certificate expired at now;
 * their history stays. n_removed may be NULL. */
int store_cred_purge(struct store *st, int64_t now, size_t *n_removed);
int store_cred_dup(struct store_cred **out, const struct store_cred *c);
void store_cred_free(struct store_cred *c);

/* Fingerprint history of aor, oldest first. */
int store_fp_list(struct store *st, const char *aor, struct store_fp ***out,
		  size_t *n);
int store_fp_dup(struct store_fp **out, const struct store_fp *f);
void store_fp_free(struct store_fp *f);

/* ---- subscriptions (RFC 6665 §4.1, RFC 3261 §12 dialog state) -------- */

struct store_sub {
	const char *id;	     /* unique, chosen by the notifier */
	const char *aor;     /* the resource watched */
	const char *package; /* "certificate" or "credential" */
	const char *call_id; /* §12.1.1 dialog id ... */
	const char *local_tag;
	const char *remote_tag;
	const char *local_uri; /* ... and the rest of the dialog state */
	const char *remote_uri;
	const char *remote_target; /* the subscriber's Contact */
	const char *route_set;	   /* Route values, comma-separated, or NULL */
	uint32_t local_cseq;
	uint32_t remote_cseq;
	const char *flow; /* RFC 5626 flow the SUBSCRIBE came on */
	int64_t expires_at;
	int64_t last_notify_at; /* 0 before the first NOTIFY */
	const char *state;	/* RFC 6665 §4.1.3: "pending", "active", ... */
};

/* What store_sub_list() returns: subscriptions unexpired at now, of aor
 * (NULL: of every AOR) and package (NULL: of every package). */
struct store_sub_filter {
	const char *aor;
	const char *package;
	int64_t now;
};

/* Insert or update the subscription s->id; -ENOENT when s->aor is not a
 * user. */
int store_sub_put(struct store *st, const struct store_sub *s);
int store_sub_get(struct store *st, const char *id, struct store_sub **out);
int store_sub_del(struct store *st, const char *id);
/* Apply many subscription changes in one transaction (group commit):
 * every put inserts or updates its record (as store_sub_put()), every id
 * in dels is deleted (an id not stored is no error). A put whose AOR is
 * not (or no longer) a user is skipped, not an error: the user was
 * deleted meanwhile; n_skipped (may be NULL) counts them. All or nothing
 * otherwise: on any other failure nothing changed. Either array may be
 * empty (NULL with 0). -EINVAL for NULL where a count is non-zero or a
 * malformed record, -EBUSY, -EIO, -ENOMEM, -EMSGSIZE as elsewhere.
 * The puts go first, in order, then the deletes: an id in both arrays
 * ends deleted, and of two puts of one id the later wins. */
int store_sub_apply(struct store *st, const struct store_sub *const *puts,
		    size_t n_puts, const char *const *dels, size_t n_dels,
		    size_t *n_skipped);
/* Ordered by AOR, package, then id. A restart lists every AOR. */
int store_sub_list(struct store *st, const struct store_sub_filter *f,
		   struct store_sub ***out, size_t *n);
/* Delete subscriptions expired at now; n_removed may be NULL. */
int store_sub_purge(struct store *st, int64_t now, size_t *n_removed);
int store_sub_dup(struct store_sub **out, const struct store_sub *s);
void store_sub_free(struct store_sub *s);

#endif
