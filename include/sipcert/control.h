/* SPDX-License-Identifier: BSD-3-Clause */
/* Talking to a running sipcertd through its local control socket: user
 * administration (digest credentials, RFC 7616), registered bindings
 * (RFC 3261 §10), stored certificates and their revocation (RFC 6072
 * §7.9) and statistics, as JSON. */
#ifndef SIPCERT_CONTROL_H
#define SIPCERT_CONTROL_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The socket. sipcertd listens on the path its configuration file names
 * in [control] socket (relative paths start in the configuration file's
 * directory), by default "control.sock" beside the file. Only the
 * daemon's own user and root may use it.
 *
 * The protocol is one JSON object per line each way. A request names a
 * command in "cmd"; the answer is {"ok": true, ...} or {"ok": false,
 * "error": CODE, "message": TEXT} with one of the stable codes bad_json,
 * bad_request, too_large, unknown_command, bad_aor, foreign_domain,
 * bad_password, exists, not_found, store, internal, forbidden.
 * sipcert(1) and sipcertd(8) describe the commands; the helpers below
 * build each request.
 *
 * Every call here blocks for at most SIPCERT_CONTROL_TIMEOUT_MS in all
 * (connect, send, answer) and returns 0 once a complete answer arrived,
 * whether the daemon did what was asked or refused it: the answer's "ok"
 * says which. A negative code means there was no answer:
 *   -EINVAL        a NULL argument, or a request that is not one line
 *   -ENOENT        no socket at the path (sipcertd is not running), or
 *                  the configuration file does not exist
 *   -ECONNREFUSED  a socket file nobody listens on (sipcertd died)
 *   -EACCES        the socket or the configuration file is not ours
 *   -ENAMETOOLONG  the socket path does not fit a unix socket address
 *   -ETIMEDOUT     no complete answer in time
 *   -EMSGSIZE      a request over 64 KiB or an answer over 16 MiB
 *   -EPROTO        the connection closed early, or the answer is not a
 *                  JSON object with a boolean "ok"
 *   -ENOMEM, or another negative errno from the system calls
 * On success *response_json is a NUL-terminated JSON object without a
 * line end, owned by the caller, who frees it with sipcert_free(); on
 * failure it is left untouched.
 */

/** The longest a call waits, in milliseconds. */
#define SIPCERT_CONTROL_TIMEOUT_MS 5000

/**
 * Find the control socket of the sipcertd configured by config_path,
 * as sipcertd itself does (see above), without connecting.
 * @param config_path  sipcertd.conf
 * @param path         receives the socket path; free it with
 *                     sipcert_free()
 * @return 0; -EINVAL for NULL arguments; -ENOENT, -EACCES and other
 *         -errno when the file cannot be read; -EMSGSIZE for a file over
 *         1 MiB; -ENAMETOOLONG when the path would not fit a unix socket
 *         address; -ENOMEM.
 */
int sipcert_control_socket_path(const char *config_path, char **path);

/**
 * Send one request and wait for its answer.
 * @param config_path    sipcertd.conf, to find the socket
 * @param request_json   a JSON object on one line (no LF), such as
 *                       {"cmd":"user.list"}; the daemon checks it
 * @param response_json  receives the answer (see above)
 * @return 0 when the daemon answered, or a negative code (see above).
 */
int sipcert_control_call(const char *config_path, const char *request_json,
			 char **response_json);

/**
 * Add a user: the daemon stores the digest HA1 values (MD5 and SHA-256)
 * of password for username = the AOR's user part, realm = its domain.
 * The request built here is wiped from memory after it was sent.
 * @param aor       "sip:alice@example.com" ("alice@example.com" too)
 * @param password  the digest password (not empty)
 * @return as sipcert_control_call(); a duplicate is answered with the
 *         error code "exists".
 */
int sipcert_control_user_add(const char *config_path, const char *aor,
			     const char *password, char **response_json);

/**
 * Change a user's password; sipcertd also ends the AOR's credential
 * subscriptions (RFC 6072 §7.7). Parameters and result as
 * sipcert_control_user_add(); an unknown AOR gets "not_found".
 */
int sipcert_control_user_passwd(const char *config_path, const char *aor,
				const char *password, char **response_json);

/**
 * Delete a user with everything the store keeps for it (bindings,
 * credentials, subscriptions). Result as sipcert_control_call(); an
 * unknown AOR gets "not_found".
 */
int sipcert_control_user_del(const char *config_path, const char *aor,
			     char **response_json);

/**
 * List the users: the answer carries "aors" (sorted) and "count".
 * Result as sipcert_control_call().
 */
int sipcert_control_user_list(const char *config_path, char **response_json);

/**
 * List the registered bindings of aor, or of every AOR when aor is NULL:
 * the answer carries "bindings", each with "aor", "contact", "expires"
 * (seconds left), "q" (per mille), "proto" and "source" (the address the
 * REGISTER came from), and "count". Result as sipcert_control_call().
 */
int sipcert_control_bindings_list(const char *config_path, const char *aor,
				  char **response_json);

/**
 * The daemon's counters: the answer carries "stats", an object of
 * name: number ("users", "bindings", "transactions", "flows", ...).
 * Result as sipcert_control_call().
 */
int sipcert_control_stats(const char *config_path, char **response_json);

/**
 * List the current credentials of aor (RFC 6072: one per enrolling
 * device), newest first: the answer carries "credentials", each with
 * "device", "sha256" (the certificate's fingerprint, lower-case hex),
 * "not_before" and "not_after" (Unix seconds), "published_at" (Unix
 * seconds), "expires" (seconds the publication has left), "etag" (its
 * RFC 3903 entity tag) and "has_key" (true when the store keeps the
 * device's sealed private key), and "count".
 * @param aor  "sip:alice@example.com" ("alice@example.com" too)
 * @return as sipcert_control_call(); -EINVAL for a NULL aor; an AOR that
 *         is not a user gets "not_found".
 */
int sipcert_control_cred_list(const char *config_path, const char *aor,
			      char **response_json);

/**
 * Revoke credentials of aor (RFC 6072 §7.9, a lost or compromised
 * device): the store drops them and marks their fingerprints revoked,
 * the daemon notifies the AOR's certificate watchers and ends its
 * credential subscriptions (§7.7). The answer carries "revoked", the
 * number of current credentials removed.
 * @param aor     as sipcert_control_cred_list()
 * @param sha256  the fingerprint of the certificate to revoke, 64
 *                lower-case hex digits as cred.list shows it; NULL
 *                revokes every current credential of aor
 * @return as sipcert_control_call(); -EINVAL for a NULL aor. A malformed
 *         fingerprint is answered with "bad_request", an unknown AOR or
 *         fingerprint with "not_found".
 */
int sipcert_control_cred_revoke(const char *config_path, const char *aor,
				const char *sha256, char **response_json);

#ifdef __cplusplus
}
#endif
#endif
