/* SPDX-License-Identifier: BSD-3-Clause */
/* control: sipcertd's local control socket. Admin commands (users,
 * bindings, credentials with RFC 6072 §7.9 revocation, statistics) as one
 * JSON object per line over a unix stream socket that only the daemon's
 * own user or root may use. */
#ifndef SIPCERT_DAEMON_CONTROL_H
#define SIPCERT_DAEMON_CONTROL_H

#include <sys/types.h>

#include "daemon/daemon.h"

/*
 * Protocol. The client sends one JSON object on one line ending in LF:
 *   {"cmd": "user.add", "aor": "sip:alice@example.test", "password": "pw"}
 * and gets one line back:
 *   {"ok": true, ...}   or
 *   {"ok": false, "error": "<code>", "message": "<for people>"}
 * A connection may carry several requests, one after the other.
 *
 * Commands and what an answer adds to "ok": true:
 *   user.add     aor, password  "aor" (its normal form)
 *   user.passwd  aor, password  "aor"
 *   user.del     aor            "aor"
 *   user.list                   "aors": [...], "count": N
 *   bindings.list [aor]         "bindings": [{"aor", "contact",
 *                               "expires" (seconds left), "q" (per mille),
 *                               "proto", "source"}], "count": N
 *   cred.list    aor            "credentials": [{"device", "sha256",
 *                               "not_before", "not_after" (Unix seconds),
 *                               "published_at", "expires" (seconds the
 *                               publication has left), "etag", "has_key"
 *                               (a sealed private key is stored)}],
 *                               "count": N; the current credentials of
 *                               aor, newest first
 *   cred.revoke  aor [sha256]   "revoked": N; with "sha256" (64 lower-case
 *                               hex digits) the certificate with that
 *                               fingerprint, without it every current
 *                               credential of aor (RFC 6072 §7.9). N counts
 *                               the current credentials removed: 0 when
 *                               there were none, or when the certificate
 *                               was only in the fingerprint history (it is
 *                               marked revoked there all the same)
 *   stats                       "stats": {"users": N, "bindings": N, ...}
 *
 * Error codes (stable: scripts test them):
 *   bad_json         the line is not JSON
 *   bad_request      not an object, or a member is missing or mistyped
 *                    (cred.revoke: "sha256" present but not 64 lower-case
 *                    hex digits; leave it out to revoke them all)
 *   too_large        a line over CONTROL_MAX_LINE_BYTES (then closed)
 *   unknown_command  "cmd" names nothing above
 *   bad_aor          not a sip: URI with a user part
 *   foreign_domain   the AOR is not in the daemon's domain
 *   bad_password     empty, or with a NUL character
 *   exists           user.add of an AOR that is a user already
 *   not_found        user.passwd / user.del / bindings.list / cred.list /
 *                    cred.revoke of a non-user; cred.revoke of a
 *                    fingerprint aor neither holds nor held unrevoked
 *   store            the database failed (the message says how)
 *   internal         out of memory or similar
 *   forbidden        the peer is neither the daemon's user nor root
 *                    (sent once, then the connection is closed)
 *
 * Passwords are hashed into the RFC 7616 §3.4.2 HA1 values (MD5 and
 * SHA-256) as soon as the request is read, then wiped from every buffer
 * sipcert holds them in; they are never logged.
 */

enum {
	CONTROL_MAX_LINE_BYTES = 64 * 1024, /* a request line, LF excluded */
	CONTROL_MAX_ANSWER_BYTES = 16 * 1024 * 1024, /* what clients accept */
	CONTROL_MAX_CONNS = 32, /* open admin connections */
};

struct control;

/* The sink a stats callback fills; counters appear in the answer in the
 * order they were put. */
struct control_stats;

/* Add one counter ("transactions", "flows", ...) to a stats answer:
 * 0, -EINVAL (NULL or empty name), -ENOMEM. */
int control_stats_put(struct control_stats *s, const char *name,
		      uint64_t value);

/* Called on the loop thread for each "stats" request, after "users" and
 * "bindings" were put; puts the daemon's other counters. */
typedef void control_stats_cb(void *arg, struct control_stats *s);

/* Called on the loop thread after a user was deleted or changed its
 * password, once the store and the user table both have the change.
 * RFC 6072 §7.7: the credential service ends the AOR's credential
 * subscriptions ("deactivated"), so a rogue device holding the old
 * secret stops receiving credentials. aor is the normal form, valid
 * during the call only. */
typedef void control_user_changed_cb(void *arg, const char *aor);

/* Called on the loop thread after credentials of aor were revoked by
 * cred.revoke (once the store has the change). RFC 6072 §7.9: the
 * credential service notifies the AOR's watchers; §7.7: credential
 * subscriptions end with reason=deactivated. Not called when the revoke
 * failed or removed no current credential. aor is the normal form, valid
 * during the call only. */
typedef void control_creds_changed_cb(void *arg, const char *aor);

struct control_opts {
	struct event_base *base;
	/* Where to listen: its directory must exist, belong to this user
	 * or root, and not be writable by others. */
	const char *socket_path;
	/* Written by control's own worker thread only: give control a handle
	 * nobody else uses (store.h: a handle is not shared by threads). */
	struct store *store;
	struct userdb *users;	     /* read and updated on the loop thread */
	struct registrar *registrar; /* NULL: bindings.list answers none */
	const char *domain;	     /* NULL: AORs of any domain */
	unsigned idle_timeout_ms;    /* silent connection closed; 0: 30000 */
	control_stats_cb *on_stats;  /* NULL: users and bindings only */
	void *stats_arg;
	control_user_changed_cb *on_user_changed; /* NULL: none yet */
	void *user_changed_arg;
	control_creds_changed_cb *on_creds_changed; /* NULL: none yet */
	void *creds_changed_arg;
};

/* Listen on o->socket_path (mode 0600; the directory checked as above,
 * -EPERM when it is writable by others or owned by another user). A
 * socket file left by a dead daemon is removed; -EADDRINUSE when a live
 * one answers there, -EEXIST when the path is something else than a
 * socket (left alone). -ENAMETOOLONG for a path sun_path cannot hold,
 * -EINVAL for missing options, -ENOMEM, other -errno from the socket
 * calls. Starts a worker thread for the store writes. The process must
 * ignore SIGPIPE (sipcertd's main does): a client may leave before its
 * answer is written. *out set only on success. */
int control_new(struct control **out, const struct control_opts *o);

/* Set (or clear with NULL) the user-changed hook after control_new():
 * the credential service is created later than the control socket. */
void control_on_user_changed(struct control *c, control_user_changed_cb *cb,
			     void *arg);

/* Set (or clear with NULL) the credentials-changed hook after
 * control_new(), for the same reason. */
void control_on_creds_changed(struct control *c, control_creds_changed_cb *cb,
			      void *arg);

/* Stop listening, finish the store write in progress (its change reaches
 * the user table and the hooks; its client gets no answer), close every
 * connection and remove the socket file if it is still ours. Loop thread
 * only; NULL is a no-op. */
void control_free(struct control *c);

/* The access rule: a peer may use the socket when it runs as the
 * daemon's own user or as root. */
bool control_peer_allowed(uid_t peer_uid, uid_t own_uid);

#endif
