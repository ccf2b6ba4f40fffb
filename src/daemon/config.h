/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcertd.conf: the daemon's configuration, its embedded defaults and its
 * validation. The grammar and every key are documented in
 * sipcertd.conf(5); the limits of RFC 3261 §17 and RFC 6072 §6 live here. */
#ifndef SIPCERT_DAEMON_CONFIG_H
#define SIPCERT_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"

enum {
	CONFIG_PATH_MAX = 1024, /* any path or URL, with its NUL */
	CONFIG_NAME_MAX = 254,	/* a host name (253) and its NUL */
	CONFIG_ADDR_MAX = 48,	/* a numeric IPv4 or IPv6 address */
	CONFIG_LISTEN_MAX = 16, /* entries of one listen list */
	CONFIG_FILE_MAX_BYTES = 1024 * 1024,
	CONFIG_SOCKET_PATH_MAX = 108, /* sizeof(sun_path), NUL included */
};

enum config_transport {
	CONFIG_UDP,
	CONFIG_TCP,
	CONFIG_TLS,
};

/* One listening address. host is numeric ("127.0.0.1", "::1": IPv6
 * without its brackets), ready for net_listen(). */
struct config_listen {
	enum config_transport transport; /* [https] entries are CONFIG_TLS */
	bool is_ipv6;
	uint16_t port;
	char host[CONFIG_ADDR_MAX];
};

enum config_digest_alg {
	CONFIG_DIGEST_SHA256, /* RFC 7616, RFC 8760 */
	CONFIG_DIGEST_MD5,    /* RFC 3261 §22.4 */
};

enum config_identity_alg {
	CONFIG_IDENTITY_RSA_SHA256, /* RFC 4474 §13.3 as updated */
	CONFIG_IDENTITY_RSA_SHA1,   /* RFC 4474 §13.3 */
};

enum config_tls_version {
	CONFIG_TLS_1_2,
	CONFIG_TLS_1_3,
};

/* Every path is absolute once loaded: relative values are taken from the
 * configuration file's directory, so chdir() cannot change their meaning.
 * Strings are NUL-terminated and never NULL; "" means unset where a key is
 * optional. Times carry their unit in the name. */
struct config_domain {
	char name[CONFIG_NAME_MAX];
	char cert[CONFIG_PATH_MAX]; /* PEM certificate (RFC 5922 §4) */
	char key[CONFIG_PATH_MAX];  /* its private key */
	char trust_anchors[CONFIG_PATH_MAX]; /* "": the certificate itself */
	char kek[CONFIG_PATH_MAX];	     /* key-encryption key file */
};

struct config_sip {
	struct config_listen listen[CONFIG_LISTEN_MAX];
	size_t n_listen;
	/* Via sent-by and Record-Route host ("" : the listening address);
	 * an IPv6 literal keeps its brackets. */
	char advertised_host[CONFIG_NAME_MAX];
	size_t max_message_bytes;
	uint32_t max_connections;
	uint32_t idle_timeout_s;
	uint32_t message_timeout_s;
	uint32_t t1_ms, t2_ms, t4_ms; /* RFC 3261 §17.1.1.1, Table 4 */
};

struct config_tls {
	bool require_client_cert;
	char client_ca[CONFIG_PATH_MAX]; /* "" : none */
	enum config_tls_version min_version;
};

struct config_https {
	struct config_listen listen[CONFIG_LISTEN_MAX];
	size_t n_listen; /* 0: no HTTPS server ("listen = none") */
	/* Cap of the certificate store's max-age (draft-jennings-sipping-
	 * certs §6: callers' caches must expire for revocation to work) */
	uint32_t cert_cache_max_age_s;
	bool metrics; /* serve /metrics (unauthenticated) */
};

struct config_auth {
	char realm[CONFIG_NAME_MAX]; /* defaults to [domain] name */
	/* challenge order (RFC 8760 §2.3: most preferred first) */
	enum config_digest_alg algorithms[2];
	size_t n_algorithms;
	uint32_t nonce_lifetime_s;
	uint32_t max_failures;
	uint32_t backoff_s;
};

struct config_registrar {
	uint32_t min_expires_s;	    /* RFC 3261 §10.3 step 7: 423 below it */
	uint32_t default_expires_s; /* §10.2.1.1: no expiry asked for */
	uint32_t max_expires_s;
	uint32_t max_bindings; /* contacts per AOR */
	/* Digest-authenticate REGISTER (RFC 3261 §10.3 step 2); "no" only
	 * for a registrar behind a proxy that authenticates for it. */
	bool authenticate;
};

struct config_subscriptions {
	uint32_t min_expires_s;	    /* RFC 6665 §4.2.1.1: 423 below it */
	uint32_t default_expires_s; /* RFC 6072 §6.3: one day */
	uint32_t max_expires_s;
	uint32_t notify_min_interval_s; /* RFC 6072 §6.10, §7.12 */
	uint32_t max_per_aor;
};

struct config_identity {
	enum config_identity_alg alg;
	/* Identity-Info URL (RFC 4474 §9); "" : sipcertd's own HTTPS URL of
	 * the domain certificate. */
	char info_url[CONFIG_PATH_MAX];
};

struct config_store {
	char url[CONFIG_PATH_MAX]; /* "sqlite:/abs/path" or a libpq URI */
};

struct config_log {
	enum log_level level;
	bool to_syslog;
};

struct config_control {
	char socket[CONFIG_SOCKET_PATH_MAX];
};

struct config_workers {
	uint32_t threads;
};

struct config {
	char path[CONFIG_PATH_MAX];	/* the file as named; "" : defaults */
	char base_dir[CONFIG_PATH_MAX]; /* where relative paths start */
	struct config_domain domain;
	struct config_sip sip;
	struct config_tls tls;
	struct config_https https;
	struct config_auth auth;
	struct config_registrar registrar;
	struct config_subscriptions subscriptions;
	struct config_identity identity;
	struct config_store store;
	struct config_log log;
	struct config_control control;
	struct config_workers workers;
};

/* Every function below fills a struct config completely, padding
 * included, so two equal configurations compare equal with memcmp(). */

/* The embedded defaults, with the state files in base_dir (absolute;
 * a relative one stays relative to the working directory): domain
 * example.test, SIP on udp, tcp 127.0.0.1:5060 and tls 127.0.0.1:5061,
 * HTTPS on 127.0.0.1:8443, store sqlite:<dir>/sipcertd.db, certificate
 * <dir>/domain.pem, key <dir>/domain.key, KEK <dir>/kek, control socket
 * <dir>/control.sock, log level info to stderr. Cannot fail: a base_dir
 * too long for the paths is cut to "." (and then config_check() names
 * the files that are missing). */
void config_defaults(struct config *c, const char *base_dir);

/* Read the INI file at path over the defaults (base_dir: the file's own
 * directory) and validate everything, as sipcertd.conf(5) says. Every
 * problem found is appended to errors as one line "FILE:LINE: [section]
 * key: problem" (FILE as given; ":LINE" left out for a problem no single
 * line causes, such as a missing default file), so one run shows all of
 * them. Unknown sections and keys, and keys given twice (except the
 * repeatable listen lists) are errors. Returns 0 and fills *out, or
 * -EINVAL when anything was wrong (*out untouched), -ENOENT / -EACCES /
 * -EMSGSIZE when the file cannot be read (also described in errors),
 * -ENOMEM. */
int config_load(struct config *out, const char *path, struct buf *errors);

/* The checks config_load() makes across keys and on the file system
 * (files that must exist, ranges that depend on each other), for a
 * configuration built otherwise, such as the embedded defaults. Problems
 * are appended to errors, prefixed with c->path or "defaults". 0 or
 * -EINVAL. */
int config_check(const struct config *c, struct buf *errors);

/* Release what c holds and wipe it. Safe on a zeroed or defaulted c. */
void config_fini(struct config *c);

/* "udp", "tcp", "tls" */
const char *config_transport_name(enum config_transport t);

#endif
