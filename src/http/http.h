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

#endif
