/* SPDX-License-Identifier: BSD-3-Clause */
/* http: sipcertd's HTTPS server on libevent's evhttp over OpenSSL
 * bufferevents (RFC 9110, RFC 9112 via evhttp; RFC 8446 TLS). It serves
 * what the daemon routes to it: the Identity-Info certificate (RFC 4474
 * §9), later the certificate store and the self-service page. TLS only:
 * a client speaking plain HTTP never gets an HTTP answer. Everything runs
 * on the loop thread. */
#ifndef SIPCERT_HTTP_H
#define SIPCERT_HTTP_H

#include <event2/event.h>
#include <openssl/ssl.h>

#include "base/base.h"
#include "net/net.h"

enum {
	HTTP_MAX_HEADERS_BYTES = 16 * 1024,
	HTTP_MAX_BODY_BYTES = 256 * 1024,
	HTTP_MAX_CONNS = 1024,
	HTTP_TIMEOUT_S = 30, /* idle and slow requests */
};

struct http_server;
struct http_request; /* one request, alive until answered */

/* A request reached a route. The handler answers it now or later with
 * http_reply(); a request not answered when the server is freed is
 * dropped without an answer. */
typedef void http_handler_cb(void *arg, struct http_request *req);

struct http_opts {
	struct event_base *base;
	/* Server context with the domain certificate and key (referenced;
	 * the caller may free its own reference). Required. */
	SSL_CTX *tls_ctx;
	/* Value of the Server header; NULL: "sipcert". */
	const char *server_name;
};

int http_server_new(struct http_server **out, const struct http_opts *o);
/* Stop listening, drop every connection and pending request, free. NULL
 * is a no-op. */
void http_server_free(struct http_server *s);

/* Listen on host:port (numeric host; port 0: ephemeral, reported in
 * *bound_port, which may be NULL). -EADDRINUSE, -EINVAL, -ENOMEM. */
int http_listen(struct http_server *s, const char *host, uint16_t port,
		uint16_t *bound_port);

/* Route requests whose path (without the query) is exactly path, or,
 * with a trailing "*", starts with what precedes it, to cb. Methods are
 * the handler's business (http_reply 405 with Allow for others). Routes
 * are matched in the order added; no route: 404. -EINVAL, -ENOMEM,
 * -EEXIST for a path routed already. */
int http_route(struct http_server *s, const char *path, http_handler_cb *cb,
	       void *arg);

/* ---- the request ------------------------------------------------------- */

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_PUT,
	HTTP_POST,
	HTTP_DELETE,
	HTTP_OTHER,
};

enum http_method http_request_method(const struct http_request *r);
/* Path without the query, still %-encoded, e.g. "/search-cgi". */
const char *http_request_path(const struct http_request *r);
/* The request-target as the request line carried it ("/search-cgi?
 * email=bob%40example.com"), for RFC 7616 §3.4.6's digest-uri check;
 * "" when the request is gone. */
const char *http_request_target(const struct http_request *r);
/* The decoded value of query parameter name (application/x-www-form-
 * urlencoded: '+' is a space, %HH decoded; a value with a NUL octet is
 * refused), appended to out with its NUL; 0, -ENOENT when absent,
 * -EBADMSG when malformed. */
int http_request_query(const struct http_request *r, const char *name,
		       struct buf *out);
/* A request header's value (case-insensitive name), or NULL. */
const char *http_request_header(const struct http_request *r, const char *name);
/* The request body (empty slice when none). Valid until answered. */
struct slice http_request_body(const struct http_request *r);
/* The client's address, "192.0.2.1:40000", into out (64 bytes do). */
void http_request_peer(const struct http_request *r, char *out, size_t n);

/* ---- answers ------------------------------------------------------------ */

struct http_header {
	const char *name;
	const char *value;
};

/* Answer with status (its standard reason phrase), the given headers
 * (values with CR or LF are refused: -EINVAL, and a 500 goes out
 * instead), Content-Type ctype when body is not empty (or ctype is not
 * NULL), and the body (not sent for HEAD, but its Content-Length is).
 * Every answer also carries Server, Date, Cache-Control: no-store unless
 * the handler gave a Cache-Control, X-Content-Type-Options: nosniff and
 * Strict-Transport-Security. The request is gone after the call. */
int http_reply(struct http_request *r, unsigned status, const char *ctype,
	       struct slice body, const struct http_header *hdrs,
	       size_t n_hdrs);

struct http_stats {
	uint64_t requests;
	uint64_t tls_handshakes;
	uint64_t tls_failures;
	uint64_t status_4xx;
	uint64_t status_5xx;
};
void http_server_stats(const struct http_server *s, struct http_stats *out);

/* ---- client.c: HTTPS client ------------------------------------------- */

/* Requests over TLS only (an URL that is not https: is -EPROTONOSUPPORT),
 * on libevent's HTTP client over OpenSSL bufferevents. The server's
 * certificate must chain to the context's trust anchors and name the
 * URL's host (RFC 9110 §4.3.4, RFC 6125: DNS: entries, or the CN without
 * any; whole, case-insensitive, no wildcards, never an IP address); the
 * caller's check_peer may replace that name rule (e.g. "the AOR's domain,
 * not the SRV target", draft-jennings-sipping-certs §4). Host names are
 * resolved through dns (its overrides included). Redirects are not
 * followed. */
struct http_client;
struct http_call;
struct dns;

struct http_client_opts {
	struct event_base *base;
	struct dns *dns;
	/* Client context with the trust anchors (net_tls_client_ctx());
	 * referenced. */
	SSL_CTX *tls_ctx;
	size_t max_body_bytes; /* 0: HTTP_MAX_BODY_BYTES */
	unsigned timeout_ms;   /* connect + TLS + answer; 0: 10000 */
};

int http_client_new(struct http_client **out, const struct http_client_opts *o);
/* Cancel every call without calling back; free. NULL is a no-op. */
void http_client_free(struct http_client *c);

struct http_call_opts {
	const char *method; /* "GET" (NULL), "PUT", "POST", "DELETE" */
	const char *url;    /* https://host[:port]/path?query */
	/* Connect here instead of resolving the URL's host (an SRV
	 * target); the URL's host still goes in Host and SNI. NULL: the
	 * URL's host and port through dns. */
	const struct net_addr *addr;
	const struct http_header *hdrs; /* extra request headers */
	size_t n_hdrs;
	const char *ctype; /* with body */
	struct slice body;
	/* Replaces the host-name check of the server's certificate:
	 * return 0 to accept the (chain-verified) leaf. NULL: the rule
	 * above against the URL's host. */
	int (*check_peer)(void *arg, X509 *leaf);
};

/* The answer: status, headers, body; valid during the callback only. */
struct http_answer {
	unsigned status;
	struct slice body;
	/* headers[i] name/value, as received */
	const struct http_header *headers;
	size_t n_headers;
};
/* A header of the answer (case-insensitive name), or NULL. */
const char *http_answer_header(const struct http_answer *a, const char *name);

/* err 0 with an answer (any status), or: -ENOENT / -ETIMEDOUT from dns,
 * -ECONNREFUSED, -ETIMEDOUT, -EPROTO (TLS failed: untrusted chain),
 * -EPERM (the certificate does not name the server), -EMSGSIZE (body
 * over the limit), -EBADMSG (not HTTP). The call is gone after it. */
typedef void http_call_cb(void *arg, int err, const struct http_answer *a);

/* -EPROTONOSUPPORT (not https:), -EINVAL (malformed URL or options),
 * -ENOMEM. The callback never runs inside this call. */
int http_call(struct http_client *c, const struct http_call_opts *o,
	      http_call_cb *cb, void *arg, struct http_call **out);
/* Stop a call; its callback is not called. */
void http_call_cancel(struct http_call *call);

#endif
