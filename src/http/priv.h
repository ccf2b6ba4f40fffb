/* SPDX-License-Identifier: BSD-3-Clause */
/* http internals shared by its files: the server, its routes, TLS
 * connections and the requests handed to handlers. Private to src/http/
 * (and its tests, which use the two hooks at the end). */
#ifndef SIPCERT_HTTP_PRIV_H
#define SIPCERT_HTTP_PRIV_H

#include "http.h"

#include <event2/http.h>

/* Per-connection and per-request events are logged at debug level only;
 * http_stats carries the counts. */
#define http_debug(...)                                                        \
	do {                                                                   \
		if (log_enabled(LOG_LEVEL_DEBUG))                              \
			log_msg(LOG_LEVEL_DEBUG, "http", __VA_ARGS__);         \
	} while (0)

enum {
	HTTP_PEER_BYTES = 64,	    /* "[v6 address]:port" and its NUL */
	HTTP_ACCEPT_RETRY_MS = 100, /* after EMFILE: breathe, then accept */
};

struct http_route {
	char *path; /* without the trailing '*' */
	size_t len;
	bool is_prefix;
	http_handler_cb *cb;
	void *arg;
};

struct http_listener {
	struct http_listener *next;
	struct evhttp_bound_socket *bound; /* owned by the evhttp */
};

/* One TLS connection, tied to its SSL (ex_data) from the moment evhttp
 * asks for a bufferevent until OpenSSL frees the SSL, which libevent
 * does one loop turn after the connection closed. */
struct http_conn {
	struct http_server *srv; /* NULL once the server is gone */
	struct http_conn *next, *prev;
	bool is_handshaken;
};

struct http_request {
	struct http_server *srv;
	/* NULL once libevent dropped the request with its connection */
	struct evhttp_request *ev;
	struct http_request *next, *prev; /* the server's pending list */
	enum http_method method;
	struct slice body;
	char peer[HTTP_PEER_BYTES];
};

struct http_server {
	struct event_base *base;
	SSL_CTX *tls_ctx;
	char *server_name;
	struct evhttp *http;
	struct http_listener *listeners;
	struct event *accept_retry;
	struct http_route *routes;
	size_t n_routes;
	struct http_conn *conns;
	unsigned n_conns;
	unsigned max_conns;
	bool is_at_cap;		      /* logged once per episode */
	struct http_request *pending; /* handed to handlers, not answered */
	struct http_stats stats;
	struct http_server *next_on_thread; /* http.c's accept-error lookup */
};

/* request.c: evhttp's callback for every request that reached us. */
void http_request_dispatch(struct evhttp_request *ev, void *arg);
/* request.c: libevent is dropping a connection: forget its requests. */
void http_request_orphan_all(struct http_server *s,
			     struct evhttp_connection *evcon);
/* request.c, for http_reply(): take r off the pending list and free it;
 * its evhttp request (NULL when libevent dropped it), server and method
 * are what remains. */
struct evhttp_request *http_request_take(struct http_request *r,
					 struct http_server **s,
					 enum http_method *method);
/* reply.c: answer ev (not wrapped, or no longer) with the checked status
 * and headers; the request is gone after the call. */
int http_answer(struct http_server *s, struct evhttp_request *ev,
		enum http_method method, unsigned status, const char *ctype,
		struct slice body, const struct http_header *hdrs,
		size_t n_hdrs);

/* Test hooks: the connection cap (HTTP_MAX_CONNS unless set), the idle
 * timeout of connections accepted from now on (HTTP_TIMEOUT_S unless
 * set), and the number of connections open right now. */
void http_server_set_max_conns(struct http_server *s, unsigned max_conns);
void http_server_set_timeout_ms(struct http_server *s, unsigned timeout_ms);
unsigned http_server_conns(const struct http_server *s);

#endif
