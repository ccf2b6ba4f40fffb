/* SPDX-License-Identifier: BSD-3-Clause */
/* certstore: sipcertd's HTTPS certificate store (draft-jennings-sipping-
 * certs §4-§6: GET and digest-authenticated PUT of search-cgi, several
 * certificates per AOR) and the users' self-service page and JSON API
 * (the draft's authenticated out-of-band revocation). */
#ifndef SIPCERT_DAEMON_CERTSTORE_H
#define SIPCERT_DAEMON_CERTSTORE_H

#include "cred/cred.h"
#include "daemon/daemon.h"
#include "http/http.h"
#include "store/store.h"

/*
 * Routes (all on the HTTPS server, TLS only):
 *   GET|HEAD /search-cgi?email=user%40domain  (or ?sip=user%40domain)
 *       every current certificate of the AOR: one as application/pkix-cert
 *       (DER), several as application/pkcs7-mime; smime-type=certs-only (a
 *       degenerate SignedData, DER); 404 when none, for an unknown user or
 *       another domain; 400 for a bad query. Cache-Control max-age and
 *       Expires never past the earliest notAfter nor the configured cap;
 *       Last-Modified, ETag, 304 for a matching If-None-Match.
 *   PUT /search-cgi?...   body application/pkix-cert (DER): enrols it for
 *       the AOR as the device named by a Sip-Instance header (the RFC 5626
 *       +sip.instance value) or "http". HTTP Digest (RFC 7616: SHA-256 and
 *       MD5, the SIP users' HA1s); 201 new, 200 replaced, with
 *       {"aor","sha256","device","not_after"}; 401, 403 (another user's
 *       AOR), 400 (RFC 6072 §7.9 checks), 409 (a 33rd device), 415
 *       (media type or encoding).
 *   GET  /self/, /self/app.js, /self/style.css: the page (digest login).
 *   GET  /self/api/certs    {"aor", "certs": [{"sha256", "sha1",
 *       "subject", "issuer", "not_before", "not_after", "device",
 *       "published_at"}]} (times RFC 3339 UTC), newest first.
 *   POST /self/api/revoke   {"sha256": "..."} -> {"revoked": true}; 404
 *       {"revoked": false} when it is no current certificate of the user.
 *       Needs X-Requested-With: sipcert and Content-Type application/json
 *       (403 otherwise: no cross-site form can send them).
 * SIP watchers of the AOR are told of every change (cred_changed()).
 */

struct certstore;

struct certstore_opts {
	struct event_base *base;
	struct http_server *http; /* the routes are added to it */
	const char *store_url;	  /* a handle of our own, on our thread */
	const char *domain;
	struct auth *auth; /* the SIP digest authenticator (shared) */
	/* told after each enrolment and revocation; NULL: nobody */
	struct cred_service *cred;
	uint32_t cache_max_age_s; /* cap of max-age; 0: callers revalidate */
};

struct certstore_stats {
	uint64_t lookups;     /* search-cgi GET and HEAD answered */
	uint64_t enrolments;  /* PUTs stored */
	uint64_t revocations; /* through /self/api/revoke */
	uint64_t auth_challenges;
	uint64_t auth_failures; /* wrong credentials, backing-off sources */
	uint64_t store_jobs;
	uint64_t store_ns; /* store time, summed */
};

/* Open the store, start the store thread and add the routes. -EINVAL,
 * -ENOMEM, -EEXIST (a route taken), store_open()'s errors. */
int certstore_new(struct certstore **out, const struct certstore_opts *o);
/* Finish the store call under way (its request is answered), cancel the
 * queued ones (503), close the store. Before the HTTP server is freed.
 * NULL is a no-op. */
void certstore_free(struct certstore *cs);
void certstore_stats_get(const struct certstore *cs,
			 struct certstore_stats *out);

/* ---- certstore_fmt.c: the pure parts ----------------------------------- */

/* The AOR of a search-cgi value ("user@domain", already %-decoded;
 * "sip:user@domain" too) in AOR normal form. -EBADMSG when it is no
 * user@host (400), -ENOENT when host is not domain (404), -EMSGSIZE. */
int certstore_aor_parse(struct slice value, const char *domain, char *out,
			size_t n);

/* Append a degenerate PKCS#7 SignedData holding the n DER certificates
 * (RFC 2315 §9.1, the certs-only message of RFC 8551 §3.2.2), DER.
 * -EINVAL (n 0), -EBADMSG (a certificate is no DER X.509), -EPROTO,
 * -ENOMEM, -EMSGSIZE. */
int certstore_pkcs7_certs(const struct slice *ders, size_t n, struct buf *out);

/* What the caching headers are computed from, per certificate served. */
struct certstore_cert_info {
	const char *sha256; /* 64 hex digits */
	int64_t not_after;
	int64_t published_at;
};

/* Caching headers of a search-cgi answer (RFC 9111 §5.2.2.1, §5.3; RFC
 * 9110 §8.8.2, §8.8.3): max-age is min(cap_s, earliest notAfter - now),
 * not below 0, and "no-cache" when 0; Expires now + max-age; Last-Modified
 * the latest published_at; a strong ETag from the fingerprints in order. */
struct certstore_cache {
	uint32_t max_age_s;
	char cache_control[40];
	char expires[40];
	char last_modified[40];
	char etag[40]; /* with its quotes */
};
int certstore_cache_compute(const struct certstore_cert_info *c, size_t n,
			    int64_t now, uint32_t cap_s,
			    struct certstore_cache *out);

/* RFC 9110 §13.1.2: does If-None-Match (NULL: absent) match etag? Weak
 * comparison; "*" matches; a malformed list matches nothing. */
bool certstore_etag_match(const char *if_none_match, const char *etag);

/* IMF-fixdate (RFC 9110 §5.6.7), 29 characters, into out (30 bytes). */
int certstore_http_date(int64_t t, char *out, size_t n);
/* RFC 3339 UTC "2026-09-01T12:00:00Z" into out (21 bytes). */
int certstore_rfc3339(int64_t t, char *out, size_t n);

/* Does a Content-Type value name type/subtype (parameters ignored,
 * case-insensitive)? NULL is no. */
bool certstore_ctype_is(const char *value, const char *type);

/* A device name from a Sip-Instance header (printable ASCII, 1..127
 * octets, trimmed; the RFC 5626 +sip.instance form) or "http" when NULL.
 * -EBADMSG. */
int certstore_device_parse(const char *header, char *out, size_t n);

/* The body of POST /self/api/revoke: {"sha256": "<64 hex digits>"}, in
 * lower case into out (65 bytes). -EBADMSG. */
int certstore_revoke_parse(struct slice body, char out[65]);

/* Append the JSON of GET /self/api/certs for aor's credentials. -EBADMSG
 * when a stored certificate does not parse, -ENOMEM, -EMSGSIZE. */
int certstore_certs_json(const char *aor, struct store_cred *const *v, size_t n,
			 struct buf *out);

/* ---- the page's files, embedded at build time (scripts/embed.py) ------- */

struct certstore_www_file {
	const char *name; /* "index.html", "app.js", "style.css" */
	const unsigned char *data;
	size_t len;
};
extern const struct certstore_www_file certstore_www_files[];
extern const size_t certstore_www_n_files;

/* The embedded file served at /self/<name> ("" : index.html), or NULL. */
const struct certstore_www_file *certstore_www_find(const char *name);
/* Its Content-Type by extension; application/octet-stream otherwise. */
const char *certstore_www_ctype(const char *name);

#endif
