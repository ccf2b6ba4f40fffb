/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the http unit tests: a non-blocking OpenSSL client
 * stepped between turns of the server's loop, and a server on its own
 * event base with throw-away certificates and handlers that record what
 * they saw. Static inline, so each *_test.c uses what it needs. */
#ifndef SIPCERT_HTTP_TESTUTIL_H
#define SIPCERT_HTTP_TESTUTIL_H

#include <fcntl.h>

#include "net/testutil.h"

#include "http/http.h"
#include "http/priv.h"

enum {
	TC_RX_BYTES = 16 * 1024,
	RUN_MS = 3000, /* a generous bound; each exchange takes a few ms */
};

/* TEST_EQ_INT that goes to the test's cleanup instead of returning. */
#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_) {                                                \
			TEST_FAIL_AT("%s == %lld, expected %lld", #a, a_, b_); \
			goto out;                                              \
		}                                                              \
	} while (0)

/* ---- a client in the test's thread ----------------------------------- */

struct tc {
	int fd;
	SSL *ssl; /* NULL: plain TCP */
	bool is_handshaken;
	bool has_failed;
	bool is_eof;
	const char *tx;
	size_t tx_len, tx_off;
	char rx[TC_RX_BYTES + 1];
	size_t rx_len;
};

static inline int tc_open(struct tc *c, SSL_CTX *ctx, uint16_t port)
{
	char sni[] = "localhost";

	memset(c, 0, sizeof(*c));
	c->fd = tclient_connect(SOCK_STREAM, "127.0.0.1", port);
	if (c->fd < 0)
		return -1;
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK))
		return -1;
	if (!ctx)
		return 0;
	c->ssl = SSL_new(ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) ||
	    !SSL_set_tlsext_host_name(c->ssl, sni))
		return -1;
	SSL_set_connect_state(c->ssl);
	return 0;
}

static inline void tc_close(struct tc *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	ERR_clear_error();
}

static inline void tc_send(struct tc *c, const char *data, size_t len)
{
	c->tx = data;
	c->tx_len = len;
	c->tx_off = 0;
}

static inline void tc_send_str(struct tc *c, const char *s)
{
	tc_send(c, s, strlen(s));
}

/* As far as the client can go without blocking. */
static inline void tc_step(struct tc *c)
{
	int n;

	ERR_clear_error();
	if (c->ssl && !c->is_handshaken && !c->has_failed) {
		n = SSL_do_handshake(c->ssl);
		if (n == 1) {
			c->is_handshaken = true;
		} else {
			int e = SSL_get_error(c->ssl, n);

			if (e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE) {
				c->has_failed = true;
				c->is_eof = true;
			}
			return;
		}
	}
	while (c->tx_off < c->tx_len && !c->has_failed) {
		size_t left = c->tx_len - c->tx_off;

		if (c->ssl)
			n = SSL_write(c->ssl, c->tx + c->tx_off, (int)left);
		else
			n = (int)send(c->fd, c->tx + c->tx_off, left,
				      MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->tx_off += (size_t)n;
			continue;
		}
		if (c->ssl ? SSL_get_error(c->ssl, n) != SSL_ERROR_WANT_WRITE &&
				     SSL_get_error(c->ssl, n) !=
					     SSL_ERROR_WANT_READ
			   : errno != EAGAIN && errno != EINTR)
			c->has_failed = true;
		break;
	}
	while (!c->is_eof && c->rx_len < TC_RX_BYTES) {
		size_t room = TC_RX_BYTES - c->rx_len;

		if (c->ssl) {
			n = SSL_read(c->ssl, c->rx + c->rx_len, (int)room);
			if (n <= 0) {
				int e = SSL_get_error(c->ssl, n);

				if (e != SSL_ERROR_WANT_READ &&
				    e != SSL_ERROR_WANT_WRITE)
					c->is_eof = true;
				break;
			}
		} else {
			n = (int)recv(c->fd, c->rx + c->rx_len, room,
				      MSG_DONTWAIT);
			if (n == 0 ||
			    (n < 0 && errno != EAGAIN && errno != EINTR))
				c->is_eof = true;
			if (n <= 0)
				break;
		}
		c->rx_len += (size_t)n;
	}
	c->rx[c->rx_len] = '\0';
}

/* The status code of the answer received, or -1. */
static inline int tc_status(const struct tc *c)
{
	if (c->rx_len < 12 || memcmp(c->rx, "HTTP/1.1 ", 9))
		return -1;
	return (c->rx[9] - '0') * 100 + (c->rx[10] - '0') * 10 +
	       (c->rx[11] - '0');
}

/* Where the body starts, or NULL before the end of the headers. */
static inline const char *tc_body(const struct tc *c)
{
	const char *end = strstr(c->rx, "\r\n\r\n");

	return end ? end + 4 : NULL;
}

/* The value of header name in the (first) answer, in out; false when
 * it has none. */
static inline bool tc_header(const struct tc *c, const char *name, char *out,
			     size_t n)
{
	const char *body = tc_body(c);
	const char *p = strstr(c->rx, "\r\n");
	size_t len = strlen(name);

	while (p && body && p + 2 < body) {
		const char *line = p + 2, *eol = strstr(line, "\r\n");

		if (!eol)
			break;
		if ((size_t)(eol - line) > len && line[len] == ':' &&
		    mem_caseeq(line, name, len)) {
			const char *v = line + len + 1;

			while (*v == ' ')
				v++;
			snprintf(out, n, "%.*s", (int)(eol - v), v);
			return true;
		}
		p = eol;
	}
	return false;
}

static inline int tc_count(const struct tc *c, const char *what)
{
	int n = 0;

	for (const char *p = c->rx; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/* ---- the server under test ------------------------------------------- */

struct fx {
	char dir[TNET_PATH_BYTES];
	struct event_base *base;
	SSL_CTX *server_ctx;
	SSL_CTX *client_ctx;
	struct http_server *s;
	uint16_t port;
	/* what the handlers saw and did */
	int n_calls;
	enum http_method method;
	char path[128];
	char peer[64];
	char query[64];
	int query_rc;
	char body[64];
	size_t body_len;
	char ctype[64];
	int reply_rc;
	struct http_request *held;
	struct event *timer;
};

static inline void on_search(void *arg, struct http_request *r);
static inline void on_cert(void *arg, struct http_request *r);
static inline void on_hold(void *arg, struct http_request *r);
static inline void on_inject(void *arg, struct http_request *r);
static inline void on_bad_status(void *arg, struct http_request *r);
static inline void on_cached(void *arg, struct http_request *r);

static inline void fx_fini(struct fx *f)
{
	http_server_free(f->s);
	f->s = NULL;
	if (f->timer)
		event_free(f->timer);
	/* runs libevent's finalizers: the last SSLs go here */
	if (f->base)
		event_base_free(f->base);
	SSL_CTX_free(f->server_ctx);
	SSL_CTX_free(f->client_ctx);
	if (f->dir[0])
		tscratch_remove(f->dir);
	ERR_clear_error();
}

static inline int fx_init(struct fx *f)
{
	struct tcert cert;

	memset(f, 0, sizeof(*f));
	signal(SIGPIPE, SIG_IGN);
	if (tscratch_make(f->dir) ||
	    tcert_make(&cert, f->dir, "localhost", "EC"))
		goto fail;
	if (net_tls_server_ctx(&f->server_ctx, &(struct net_tls_server_opts){
						       .cert_file = cert.cert,
						       .key_file = cert.key,
					       }))
		goto fail;
	f->client_ctx = tls_client_ctx_new(0, 0);
	f->base = event_base_new();
	if (!f->client_ctx || !f->base ||
	    http_server_new(&f->s, &(struct http_opts){
					   .base = f->base,
					   .tls_ctx = f->server_ctx,
				   }))
		goto fail;
	if (http_route(f->s, "/search-cgi", on_search, f) ||
	    http_route(f->s, "/cert/*", on_cert, f) ||
	    http_route(f->s, "/hold", on_hold, f) ||
	    http_route(f->s, "/inject", on_inject, f) ||
	    http_route(f->s, "/bad-status", on_bad_status, f) ||
	    http_route(f->s, "/cached", on_cached, f) ||
	    http_listen(f->s, "127.0.0.1", 0, &f->port))
		goto fail;
	return 0;
fail:
	TEST_FAIL_AT("fixture failed");
	fx_fini(f);
	return -1;
}

/* Run the server's loop in turns of 1 ms, stepping the clients, until
 * done holds (or each client reached EOF when done is NULL). */
static inline bool fx_run(struct fx *f, struct tc *c1, struct tc *c2,
			  bool (*done)(struct fx *f, void *arg), void *arg)
{
	uint64_t until = loop_now_ms() + RUN_MS;
	struct timeval tick = {0, 1000};

	for (;;) {
		bool is_done;

		if (c1)
			tc_step(c1);
		if (c2)
			tc_step(c2);
		if (done)
			is_done = done(f, arg);
		else
			is_done = (!c1 || c1->is_eof) && (!c2 || c2->is_eof);
		if (is_done)
			return true;
		if (loop_now_ms() >= until)
			return false;
		event_base_loopexit(f->base, &tick);
		event_base_dispatch(f->base);
	}
}

/* Turn the loop for about ms, for what needs no observable end. */
static inline void fx_spin(struct fx *f, unsigned ms)
{
	uint64_t until = loop_now_ms() + ms;
	struct timeval tick = {0, 1000};

	while (loop_now_ms() < until) {
		event_base_loopexit(f->base, &tick);
		event_base_dispatch(f->base);
	}
}

/* One request over a new TLS connection, until the server closes it. */
static inline int fx_exchange(struct fx *f, struct tc *c, const char *req)
{
	if (tc_open(c, f->client_ctx, f->port))
		return -1;
	tc_send_str(c, req);
	if (!fx_run(f, c, NULL, NULL, NULL)) {
		TEST_FAIL_AT("no end of answer: \"%s\"", c->rx);
		return -1;
	}
	return c->has_failed ? -1 : 0;
}

static inline bool calls_reached(struct fx *f, void *arg)
{
	return f->n_calls >= *(const int *)arg;
}

static inline void record(struct fx *f, struct http_request *r)
{
	struct slice body = http_request_body(r);
	const char *ct = http_request_header(r, "content-type");

	f->n_calls++;
	f->method = http_request_method(r);
	snprintf(f->path, sizeof(f->path), "%s", http_request_path(r));
	http_request_peer(r, f->peer, sizeof(f->peer));
	snprintf(f->ctype, sizeof(f->ctype), "%s", ct ? ct : "");
	f->body_len = body.len;
	snprintf(f->body, sizeof(f->body), "%.*s", SLICE_FMT(body));
}

/* The certificate store's search: GET and HEAD by aor, PUT stores. */
static inline void on_search(void *arg, struct http_request *r)
{
	static const struct http_header allow[] = {
		{"Allow", "GET, HEAD, PUT"},
	};
	struct fx *f = arg;
	struct buf aor;
	char text[128];
	int n;

	record(f, r);
	switch (http_request_method(r)) {
	case HTTP_GET:
	case HTTP_HEAD:
		buf_init(&aor, 64);
		f->query_rc = http_request_query(r, "aor", &aor);
		snprintf(f->query, sizeof(f->query), "%s",
			 f->query_rc ? "" : aor.p);
		if (f->query_rc) {
			f->reply_rc =
				http_reply(r, 400, "text/plain",
					   SLICE_LIT("bad aor\n"), NULL, 0);
		} else {
			n = snprintf(text, sizeof(text), "cert of %s\n", aor.p);
			f->reply_rc =
				http_reply(r, 200, "text/plain",
					   slice_of(text, (size_t)n), NULL, 0);
		}
		buf_fini(&aor);
		break;
	case HTTP_PUT:
		f->reply_rc = http_reply(r, 201, NULL, SLICE_NULL, NULL, 0);
		break;
	default:
		f->reply_rc = http_reply(r, 405, NULL, SLICE_NULL, allow,
					 ARRAY_SIZE(allow));
		break;
	}
}

static inline void on_cert(void *arg, struct http_request *r)
{
	struct fx *f = arg;
	const char *path;

	record(f, r);
	path = http_request_path(r);
	f->reply_rc = http_reply(r, 200, "application/pkix-cert",
				 slice_cstr(path), NULL, 0);
}

static inline void on_hold(void *arg, struct http_request *r)
{
	struct fx *f = arg;

	record(f, r);
	f->held = r;
}

static inline void on_inject(void *arg, struct http_request *r)
{
	static const struct http_header evil[] = {
		{"X-Ok", "fine"},
		{"X-Note", "a\r\nX-Evil: 1"},
	};
	struct fx *f = arg;

	record(f, r);
	f->reply_rc = http_reply(r, 200, "text/plain", SLICE_LIT("secret"),
				 evil, ARRAY_SIZE(evil));
}

static inline void on_bad_status(void *arg, struct http_request *r)
{
	struct fx *f = arg;

	record(f, r);
	f->reply_rc = http_reply(r, 99, NULL, SLICE_NULL, NULL, 0);
}

static inline void on_cached(void *arg, struct http_request *r)
{
	static const struct http_header cc[] = {
		{"Cache-Control", "max-age=60"},
	};
	struct fx *f = arg;

	record(f, r);
	f->reply_rc = http_reply(r, 200, "text/plain", SLICE_LIT("x"), cc,
				 ARRAY_SIZE(cc));
}

static inline bool failures_reached(struct fx *f, void *arg)
{
	struct http_stats st;

	http_server_stats(f->s, &st);
	return st.tls_failures >= *(const uint64_t *)arg;
}

static inline bool conns_are(struct fx *f, void *arg)
{
	return http_server_conns(f->s) == *(const unsigned *)arg;
}

static inline bool handshaken(struct fx *f, void *arg)
{
	const struct tc *c = arg;

	(void)f;
	return c->is_handshaken || c->has_failed;
}

#endif
