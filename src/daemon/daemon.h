/* SPDX-License-Identifier: BSD-3-Clause */
/* daemon: sipcertd's services and their wiring. This header is the
 * contract between main.c, the dispatcher and the roles (registrar,
 * digest authenticator, control socket; the credential service later).
 * Everything here runs on the loop thread unless it says otherwise. */
#ifndef SIPCERT_DAEMON_H
#define SIPCERT_DAEMON_H

#include "loop/loop.h"
#include "net/net.h"
#include "sip/sip.h"
#include "store/store.h"
#include "txn/txn.h"

struct sipcertd;

/* ---- userdb.c: the user table, in memory ------------------------------ */

/* Users (AOR -> HA1s) are read from the store at start and on SIGHUP and
 * kept in a hash table, so a digest check never waits on the database.
 * Admin changes write the store first, then the table. */
struct userdb;

struct userdb_user {
	char *aor;	     /* "sip:alice@example.test" (AOR normal form) */
	char ha1_md5[33];    /* lower-case hex */
	char ha1_sha256[65]; /* lower-case hex */
};

int userdb_new(struct userdb **out);
void userdb_free(struct userdb *db);
/* Replace the whole table with the store's users (start, SIGHUP). */
int userdb_load(struct userdb *db, struct store *st);
const struct userdb_user *userdb_find(const struct userdb *db,
				      struct slice aor);
/* Add or replace one user / remove one (after the store write). */
int userdb_put(struct userdb *db, const char *aor, const char *ha1_md5,
	       const char *ha1_sha256);
int userdb_del(struct userdb *db, const char *aor);
size_t userdb_count(const struct userdb *db);
/* Visit every user (order unspecified); stop when cb returns non-zero
 * and return that value (0 when every user was visited). */
int userdb_each(const struct userdb *db,
		int (*cb)(void *arg, const struct userdb_user *u), void *arg);

/* ---- auth.c: digest authentication (RFC 3261 §22, RFC 8760) -------------- */

struct auth;

struct auth_opts {
	const char *realm;	     /* the domain */
	unsigned nonce_lifetime_s;   /* stale=true after this; 0: 300 */
	unsigned max_failures;	     /* per source before back-off; 0: 5 */
	unsigned backoff_s;	     /* first back-off; doubles; 0: 30 */
	const unsigned char *secret; /* nonce key; NULL: random per start */
	size_t secret_len;
	/* What to offer and accept, most preferred first (RFC 8760 §2.4);
	 * n_algs 0: SHA-256 then MD5. Only SIP_DIGEST_SHA256 and _MD5. */
	enum sip_digest_alg algs[2];
	size_t n_algs;
	unsigned max_nonces;  /* nonce-count records; 0: 65536 */
	unsigned max_sources; /* failure counters; 0: 65536 */
	/* Clock in milliseconds; NULL: the wall clock (nonces carry their
	 * issue time, so nodes sharing the secret must agree). Tests
	 * inject one. */
	uint64_t (*now_ms)(void *arg);
	void *clock_arg;
};

enum auth_verdict {
	AUTH_OK = 0,	/* credentials valid: *aor_out names the user */
	AUTH_CHALLENGE, /* send 401/407 with the challenge headers */
	AUTH_FORBIDDEN, /* 403: wrong user for this AOR, or backing off */
};

struct auth_result {
	enum auth_verdict verdict;
	unsigned status;    /* 401, 407 or 403 (0 for AUTH_OK); 500
			     * (AUTH_FORBIDDEN) when out of memory */
	const char *reason; /* reason phrase for the answer */
	/* for AUTH_CHALLENGE: complete header lines ("WWW-Authenticate: ...")
	 * offering SHA-256 then MD5, qop=auth, stale when the nonce expired */
	char hdrs[2][512];
	size_t n_hdrs;
	char aor[256]; /* for AUTH_OK: the authenticated AOR */
	/* wrong, malformed or replayed credentials (or another user's):
	 * counted toward the source's back-off */
	bool is_failure;
};

int auth_new(struct auth **out, const struct auth_opts *o,
	     const struct userdb *users);
void auth_free(struct auth *a);
/* Check req (REGISTER, SUBSCRIBE, PUBLISH, ...) from source src against
 * the users: proxy selects Proxy-Authorization/407 instead of
 * Authorization/401. The digest username is the AOR's user part and the
 * realm its domain. Nonces are bound to the secret and a time stamp;
 * nonce counts are tracked so a replayed nc is refused; comparison is
 * constant-time; repeated failures from one source address back off. */
void auth_check(struct auth *a, const struct sip_msg *req,
		const struct net_addr *src, bool proxy,
		struct auth_result *out);
/* An HTTP request to authenticate (RFC 7616 over RFC 9110 §11.6). */
struct auth_http_req {
	const char *method;	   /* "GET", "PUT", ... */
	const char *target;	   /* the request-target as received */
	const char *authorization; /* the Authorization value; NULL: none */
};
/* Digest-authenticate an HTTP request as any user of the realm: the same
 * users, HA1s, nonces, nonce counts and per-source back-off as
 * auth_check(), the digest username being the AOR's user part. AUTH_OK
 * names the user in out->aor (the caller decides what it may do);
 * AUTH_CHALLENGE is a 401 with "WWW-Authenticate: ..." lines in
 * out->hdrs; AUTH_FORBIDDEN a 403 while the source backs off (500 when
 * out of memory). A nonce count not above one already accepted is
 * answered stale=true rather than refused: a browser's parallel requests
 * on one nonce may arrive out of order. */
void auth_check_http(struct auth *a, const struct auth_http_req *r,
		     const struct net_addr *src, struct auth_result *out);
/* The AOR a sip: or sips: URI names, in the form users and bindings are
 * keyed by: "sip:user@domain" (AOR normal form; sips: maps to sip:, one
 * user whatever transport it asks for). -EINVAL for another scheme or no
 * user part, -EMSGSIZE when it does not fit n bytes with its NUL. */
int auth_uri_aor(const struct sip_uri *u, char *out, size_t n);

/* ---- registrar.c: REGISTER (RFC 3261 §10) ------------------------------- */

struct registrar;
struct binding;

struct registrar_opts {
	unsigned min_expires_s;	    /* 423 below; 0: 60 */
	unsigned max_expires_s;	    /* clamp; 0: 86400 */
	unsigned default_expires_s; /* no Expires anywhere; 0: 3600 */
	unsigned max_bindings;	    /* per AOR; 0: 16 */
	/* Clock for binding expiry; NULL: loop_now_ms(). Tests inject one. */
	uint64_t (*now_ms)(void *arg);
	void *clock_arg;
	/* Told after each REGISTER that changed aor's bindings, with the
	 * whole new set (n may be 0); NULL: none. Expiry is not reported
	 * (the store purges by time itself). */
	void (*store_sync)(void *arg, const char *aor, const struct binding *b,
			   size_t n);
	void *sync_arg;
};

struct binding {
	char *contact;		/* the Contact URI as registered */
	uint64_t expires_at_ms; /* loop_now_ms() clock */
	uint32_t expires_s;	/* as granted */
	char *call_id;
	uint32_t cseq;
	uint16_t q;	       /* per mille */
	struct txn_source src; /* the flow it came over (for routing) */
};

int registrar_new(struct registrar **out, const struct registrar_opts *o);
void registrar_free(struct registrar *r);
/* Handle an authenticated REGISTER for aor: update the bindings and
 * answer (200 with every current Contact;expires=N and Date, 423 with
 * Min-Expires, 400 for a bad Contact or '*' misuse, 500 on out of order
 * CSeq per §10.3 step 7). Bindings are soft state kept in memory;
 * store_sync (if not NULL) is told about each change for persistence. */
void registrar_handle(struct registrar *r, struct txn_srv *st, const char *aor);

/* What registrar_handle() answers, decided without a transaction. */
struct registrar_answer {
	unsigned status;
	const char *reason;
	char **hdrs; /* "Name: value" lines: Contact..., Date; Min-Expires */
	size_t n_hdrs;
};
/* Apply REGISTER req from src (may be NULL) for aor at now_ms (the
 * registrar's clock) and fill *out; free it with registrar_answer_fini().
 * -EINVAL, -ENOMEM, -EMSGSIZE (an answer too large); on error nothing
 * changed and the caller answers 500. */
int registrar_process(struct registrar *r, const struct sip_msg *req,
		      const struct txn_source *src, const char *aor,
		      uint64_t now_ms, struct registrar_answer *out);
void registrar_answer_fini(struct registrar_answer *a);
/* The current bindings of aor (NULL, 0 when none): valid until the next
 * registrar call. Expired bindings are never returned. */
const struct binding *registrar_lookup(struct registrar *r, const char *aor,
				       size_t *n);
size_t registrar_count(const struct registrar *r); /* all bindings */
/* Visit every AOR with its bindings. */
int registrar_each(struct registrar *r,
		   int (*cb)(void *arg, const char *aor,
			     const struct binding *b, size_t n),
		   void *arg);
/* Drop expired bindings (a timer calls this). */
void registrar_expire(struct registrar *r);

#endif
