/* SPDX-License-Identifier: BSD-3-Clause */
/* The HTTPS client: one request per TLS connection (RFC 9112 §9.6) on
 * libevent's evhttp over OpenSSL bufferevents, the server's certificate
 * checked in the handshake (RFC 9110 §4.3.4, RFC 6125 §6) so that a
 * request never reaches a server that is not the one named. */
#include "priv.h"

#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"
#include "dns/dns.h"
#include "loop/loop.h"

enum {
	CLIENT_TIMEOUT_MS = 10000,
	CLIENT_MAX_TARGETS = 16, /* addresses tried for one call */
	CLIENT_MAX_HDRS = 64,	 /* extra request headers */
	/* evhttp's own timers stay behind the call's deadline, so that a
	 * timeout is always the call's and reported as one */
	CLIENT_SLACK_MS = 1000,
	CLIENT_ARENA_BYTES = 4096,
	HOST_MAX_BYTES = 253, /* RFC 1035 §2.3.4, without the final dot */
	HTTPS_PORT = 443,     /* RFC 9110 §4.2.2 */
};

/* A call's life. call_set_state() is the one place where it changes. */
enum call_state {
	CALL_STARTING,	 /* step: connect to the next target */
	CALL_RESOLVING,	 /* waiting for dns */
	CALL_EXCHANGING, /* connect, TLS and HTTP on one connection */
	CALL_DONE,	 /* step: drop the connection, call back, free */
	CALL_DELIVERING, /* in the caller's callback */
	CALL_CANCELLED,	 /* step: drop the connection, free */
};

struct http_client {
	struct event_base *base;
	struct dns *dns;
	SSL_CTX *tls_ctx;
	size_t max_body_bytes;
	unsigned timeout_ms;
	struct http_call *calls; /* every call not yet freed */
};

struct http_call {
	struct http_client *c; /* not touched once delivering */
	struct http_call *next, *prev;
	enum call_state state;
	/* the copies of the request, the targets and the answer */
	struct arena arena;
	http_call_cb *cb;
	void *arg;
	int (*check_peer)(void *arg, X509 *leaf);
	/* the request */
	enum evhttp_cmd_type method;
	char *host;	 /* without brackets: SNI and the name check */
	char *authority; /* host[:port] as in the URL, for Host */
	char *target;	 /* origin-form: path[?query] */
	uint16_t port;
	bool is_ip; /* an IP literal: no SNI, never a name match */
	struct http_header *hdrs;
	size_t n_hdrs;
	char *ctype;
	struct slice body;
	/* where to, in order */
	struct net_addr *targets;
	size_t n_targets;
	size_t next_target;
	struct dns_query *query;
	int last_err; /* why the last target could not be reached */
	uint64_t deadline_ms;
	/* the attempt under way */
	struct evhttp_connection *evcon;
	SSL *ssl; /* the connection's, while it is ours */
	bool has_heard_server;
	bool is_handshaken;
	bool has_req_err;
	enum evhttp_request_error req_err;
	int tls_err; /* -EPERM (the name) or -EPROTO (the chain) */
	/* the outcome */
	int err;
	struct http_answer answer;
	struct event *step;	/* deferred work: never inside a callback */
	struct event *deadline; /* timeout_ms from http_call() */
};

static const char *const state_names[] = {
	[CALL_STARTING] = "starting",	  [CALL_RESOLVING] = "resolving",
	[CALL_EXCHANGING] = "exchanging", [CALL_DONE] = "done",
	[CALL_DELIVERING] = "delivering", [CALL_CANCELLED] = "cancelled",
};

static void call_set_state(struct http_call *call, enum call_state next)
{
	http_debug("client %s%s: %s -> %s", call->host, call->target,
		   state_names[call->state], state_names[next]);
	call->state = next;
}

/* ---- the TLS connection ------------------------------------------------- */

/* The SSL ex_data slot that ties a connection's SSL to its call; emptied
 * when the call lets the connection go, so a late callback finds none. */
static CRYPTO_ONCE call_index_once = CRYPTO_ONCE_STATIC_INIT;
static int call_index = -1;

static void call_index_init(void)
{
	call_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static struct http_call *ssl_call(const SSL *ssl)
{
	struct http_call *call = ssl ? SSL_get_ex_data(ssl, call_index) : NULL;

	/* a connection whose call is over or going is trusted with nothing */
	return call && call->state == CALL_EXCHANGING ? call : NULL;
}

/* RFC 9110 §4.3.4: the chain verified against the context's anchors and
 * the leaf names the server (RFC 6125 §6.4: DNS-ID, exact, no wildcard),
 * or satisfies the caller's own rule. Failing here aborts the handshake
 * before a byte of the request is written. */
static int call_on_verify(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(
		xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct http_call *call = ssl_call(ssl);
	X509 *leaf;
	int rc;

	if (!call)
		return 0;
	if (!ok) {
		if (!call->tls_err)
			http_debug("client %s: certificate refused: %s",
				   call->host,
				   X509_verify_cert_error_string(
					   X509_STORE_CTX_get_error(xs)));
		call->tls_err = -EPROTO;
		return 0;
	}
	if (X509_STORE_CTX_get_error_depth(xs) != 0)
		return 1;
	leaf = X509_STORE_CTX_get_current_cert(xs);
	rc = call->check_peer ? call->check_peer(call->arg, leaf)
			      : crypto_cert_matches_dns(leaf, call->host);
	/* the caller's check may have cancelled the call */
	if (call->state != CALL_EXCHANGING)
		return 0;
	if (rc) {
		http_debug("client %s: the certificate names another server",
			   call->host);
		call->tls_err = -EPERM;
		X509_STORE_CTX_set_error(xs, X509_V_ERR_HOSTNAME_MISMATCH);
		return 0;
	}
	return 1;
}

/* A record header came from the server: the TCP connection was up and
 * someone answered. A target that never said a word could not be reached
 * (refused, or closed at once), and the next one is tried. (OpenSSL
 * reports our own hello as sent even when the socket refused it, so
 * what we wrote proves nothing.) */
static void call_on_msg(int write_p, int version, int content_type,
			const void *buf, size_t len, SSL *ssl, void *arg)
{
	struct http_call *call = ssl_call(ssl);

	(void)version;
	(void)content_type;
	(void)buf;
	(void)len;
	(void)arg;
	if (call && !write_p)
		call->has_heard_server = true;
}

static void call_on_info(const SSL *ssl, int where, int ret)
{
	struct http_call *call = ssl_call(ssl);

	(void)ret;
	if (call && (where & SSL_CB_HANDSHAKE_DONE))
		call->is_handshaken = true;
}

/* Let the connection go: its SSL forgets the call first, then evhttp
 * drops the connection and any request on it without calling back. */
static void conn_drop(struct http_call *call)
{
	if (call->ssl) {
		SSL_set_ex_data(call->ssl, call_index, NULL);
		call->ssl = NULL;
	}
	if (call->evcon) {
		evhttp_connection_free(call->evcon);
		call->evcon = NULL;
	}
	/* what libevent left of a failed handshake is not for the next */
	ERR_clear_error();
}

/* ---- the call's steps --------------------------------------------------- */

static void call_finish(struct http_call *call, int err)
{
	call->err = err;
	call_set_state(call, CALL_DONE);
	event_active(call->step, EV_TIMEOUT, 1);
}

static void call_unlink(struct http_call *call)
{
	struct http_client *c = call->c;

	if (call->prev)
		call->prev->next = call->next;
	else if (c->calls == call)
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->next = call->prev = NULL;
}

static void call_free(struct http_call *call)
{
	conn_drop(call);
	if (call->query)
		dns_cancel(call->query);
	if (call->step)
		event_free(call->step);
	if (call->deadline)
		event_free(call->deadline);
	arena_fini(&call->arena);
	mem_free(call);
}

/* evhttp connects by name: a numeric one, so it never resolves. */
static int addr_numeric(const struct net_addr *a, char *out, size_t n)
{
	const void *in;

	if (a->ss.ss_family == AF_INET)
		in = &((const struct sockaddr_in *)(const void *)&a->ss)
			      ->sin_addr;
	else if (a->ss.ss_family == AF_INET6)
		in = &((const struct sockaddr_in6 *)(const void *)&a->ss)
			      ->sin6_addr;
	else
		return -EINVAL;
	return inet_ntop(a->ss.ss_family, in, out, (socklen_t)n) ? 0 : -EINVAL;
}

static int add_header(struct evkeyvalq *h, const char *name, const char *value)
{
	return evhttp_add_header(h, name, value) ? -ENOMEM : 0;
}

/* The request for one attempt, with its headers and body. */
static int request_fill(struct http_call *call, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char len[24];
	int err;

	/* RFC 9110 §7.2: Host is the URL's authority; RFC 9112 §9.6: one
	 * request, then the connection closes */
	err = add_header(h, "Host", call->authority);
	if (!err)
		err = add_header(h, "Connection", "close");
	if (!err)
		err = add_header(h, "User-Agent", "sipcert");
	for (size_t i = 0; !err && i < call->n_hdrs; i++)
		err = add_header(h, call->hdrs[i].name, call->hdrs[i].value);
	if (!err && call->ctype)
		err = add_header(h, "Content-Type", call->ctype);
	/* RFC 9110 §8.6: a PUT or POST says its length even when zero */
	if (!err && (call->body.len || call->method == EVHTTP_REQ_PUT ||
		     call->method == EVHTTP_REQ_POST)) {
		snprintf(len, sizeof(len), "%zu", call->body.len);
		err = add_header(h, "Content-Length", len);
	}
	if (!err && call->body.len &&
	    evbuffer_add(evhttp_request_get_output_buffer(req), call->body.p,
			 call->body.len))
		err = -ENOMEM;
	return err;
}

static void call_on_done(struct evhttp_request *req, void *arg);
static void call_on_error(enum evhttp_request_error e, void *arg);

/* Open a TLS connection to the next target and queue the request on it.
 * 0: under way (its end comes through call_on_done, perhaps before this
 * returns); otherwise the target could not even be tried. */
static int attempt_start(struct http_call *call)
{
	const struct net_addr *a = &call->targets[call->next_target++];
	struct http_client *c = call->c;
	char host[INET6_ADDRSTRLEN];
	struct evhttp_request *req;
	struct bufferevent *bev;
	struct timeval tv;
	uint64_t now = loop_now_ms(), left_ms;
	SSL *ssl;
	int err;

	err = addr_numeric(a, host, sizeof(host));
	if (err)
		return err;
	call->has_heard_server = false;
	call->is_handshaken = false;
	call->has_req_err = false;
	call->tls_err = 0;
	ERR_clear_error();
	ssl = SSL_new(c->tls_ctx);
	if (!ssl || !SSL_set_ex_data(ssl, call_index, call) ||
	    (!call->is_ip && !SSL_set_tlsext_host_name(ssl, call->host))) {
		SSL_free(ssl);
		ERR_clear_error();
		return -ENOMEM;
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, call_on_verify);
	SSL_set_msg_callback(ssl, call_on_msg);
	SSL_set_info_callback(ssl, call_on_info);
	bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
					     BUFFEREVENT_SSL_CONNECTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return -ENOMEM;
	}
	/* no dirty shutdown: an answer that only the end of the connection
	 * delimits is whole only with close_notify (RFC 9112 §9.8); one
	 * framed by Content-Length or chunks is whole before the end */
	call->evcon = evhttp_connection_base_bufferevent_new(
		c->base, NULL, bev, host, net_addr_port(a));
	if (!call->evcon) {
		bufferevent_free(bev); /* and the SSL with it */
		return -ENOMEM;
	}
	call->ssl = ssl;
	evhttp_connection_set_max_body_size(call->evcon,
					    (ev_ssize_t)c->max_body_bytes);
	evhttp_connection_set_max_headers_size(call->evcon,
					       HTTP_MAX_HEADERS_BYTES);
	left_ms = call->deadline_ms > now ? call->deadline_ms - now : 0;
	left_ms += CLIENT_SLACK_MS;
	tv.tv_sec = (time_t)(left_ms / 1000);
	tv.tv_usec = (suseconds_t)(left_ms % 1000 * 1000);
	evhttp_connection_set_timeout_tv(call->evcon, &tv);
	req = evhttp_request_new(call_on_done, call);
	if (!req)
		return -ENOMEM;
	evhttp_request_set_error_cb(req, call_on_error);
	err = request_fill(call, req);
	if (err) {
		evhttp_request_free(req);
		return err;
	}
	call_set_state(call, CALL_EXCHANGING);
	/* on failure evhttp has freed the request: no socket could be had
	 * for this target */
	if (evhttp_make_request(call->evcon, req, call->method, call->target)) {
		call_set_state(call, CALL_STARTING);
		return -ECONNREFUSED;
	}
	return 0;
}

/* Try the targets in order until one is under way. */
static void call_next(struct http_call *call)
{
	int err;

	while (call->next_target < call->n_targets) {
		err = attempt_start(call);
		if (!err)
			return;
		conn_drop(call);
		if (err == -ENOMEM) {
			call_finish(call, err);
			return;
		}
		call->last_err = err;
	}
	call_finish(call, call->last_err ? call->last_err : -ECONNREFUSED);
}

static void call_deliver(struct http_call *call)
{
	call_unlink(call);
	call_set_state(call, CALL_DELIVERING);
	call->cb(call->arg, call->err, call->err ? NULL : &call->answer);
	call_free(call);
}

/* Everything that may free a connection or call back runs here, on a
 * loop turn of its own: never inside evhttp, OpenSSL, dns or the
 * caller's http_call(). */
static void call_on_step(evutil_socket_t fd, short what, void *arg)
{
	struct http_call *call = arg;

	(void)fd;
	(void)what;
	switch (call->state) {
	case CALL_STARTING:
		conn_drop(call);
		call_next(call);
		break;
	case CALL_DONE:
		conn_drop(call);
		call_deliver(call);
		break;
	case CALL_CANCELLED:
		call_unlink(call);
		call_free(call);
		break;
	case CALL_RESOLVING:
	case CALL_EXCHANGING:
	case CALL_DELIVERING:
		break;
	}
}

static void call_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_call *call = arg;

	(void)fd;
	(void)what;
	if (call->state != CALL_STARTING && call->state != CALL_RESOLVING &&
	    call->state != CALL_EXCHANGING)
		return;
	if (call->query) {
		dns_cancel(call->query);
		call->query = NULL;
	}
	http_debug("client %s%s: no answer in %u ms", call->host, call->target,
		   call->c->timeout_ms);
	call_finish(call, -ETIMEDOUT);
}

static void call_on_resolved(void *arg, int err, const struct dns_target *t,
			     size_t n)
{
	struct http_call *call = arg;

	call->query = NULL;
	if (call->state != CALL_RESOLVING)
		return;
	if (!err && !n)
		err = -ENOENT;
	if (n > CLIENT_MAX_TARGETS)
		n = CLIENT_MAX_TARGETS;
	if (!err) {
		call->targets =
			arena_alloc(&call->arena, n * sizeof(*call->targets));
		if (!call->targets)
			err = -ENOMEM;
	}
	if (err) {
		call_finish(call, err);
		return;
	}
	for (size_t i = 0; i < n; i++)
		call->targets[i] = t[i].addr;
	call->n_targets = n;
	call_set_state(call, CALL_STARTING);
	event_active(call->step, EV_TIMEOUT, 1);
}

/* ---- the answer --------------------------------------------------------- */

static void call_on_error(enum evhttp_request_error e, void *arg)
{
	struct http_call *call = arg;

	if (call->state != CALL_EXCHANGING)
		return;
	call->has_req_err = true;
	call->req_err = e;
}

/* Copy what evhttp received: it frees the request after the callback. */
static int answer_take(struct http_call *call, struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(b), n = 0;
	struct http_header *hdrs;
	int status = evhttp_request_get_response_code(req);
	struct evkeyval *kv;
	char *body;

	/* RFC 9110 §15: three digits; a 1xx is interim, never the answer
	 * (evhttp would hand one over as final) */
	if (status < 200 || status > 599)
		return -EBADMSG;
	/* evhttp checked Content-Length and what arrived; so again here */
	if (len > call->c->max_body_bytes)
		return -EMSGSIZE;
	for (kv = in->tqh_first; kv; kv = kv->next.tqe_next)
		n++;
	hdrs = arena_alloc(&call->arena, (n ? n : 1) * sizeof(*hdrs));
	body = arena_alloc_uninit(&call->arena, len + 1);
	if (!hdrs || !body)
		return -ENOMEM;
	n = 0;
	for (kv = in->tqh_first; kv; kv = kv->next.tqe_next, n++) {
		hdrs[n].name =
			arena_memdup(&call->arena, kv->key, strlen(kv->key));
		hdrs[n].value = arena_memdup(&call->arena, kv->value,
					     strlen(kv->value));
		if (!hdrs[n].name || !hdrs[n].value)
			return -ENOMEM;
	}
	if (evbuffer_copyout(b, body, len) != (ev_ssize_t)len)
		return -ENOMEM;
	body[len] = '\0';
	call->answer = (struct http_answer){
		.status = (unsigned)status,
		.body = slice_of(body, len),
		.headers = hdrs,
		.n_headers = n,
	};
	return 0;
}

/* Why an attempt ended without an answer; 1: the target was never
 * reached (the next one is tried). */
static int attempt_error(const struct http_call *call)
{
	if (call->tls_err)
		return call->tls_err;
	if (call->has_req_err) {
		switch (call->req_err) {
		case EVREQ_HTTP_DATA_TOO_LONG:
			return -EMSGSIZE;
		case EVREQ_HTTP_INVALID_HEADER:
			/* also a head over HTTP_MAX_HEADERS_BYTES: evhttp
			 * does not tell the two apart */
			return -EBADMSG;
		case EVREQ_HTTP_TIMEOUT:
			return -ETIMEDOUT;
		default:
			break;
		}
	}
	if (!call->has_heard_server)
		return 1;
	/* the server answered the hello with something else than TLS, or
	 * broke the handshake off */
	if (!call->is_handshaken)
		return -EPROTO;
	/* TLS up, but no HTTP answer came (RFC 9112 §2.2) */
	return -EBADMSG;
}

/* evhttp's end of the request: req NULL (or without a status) when it
 * failed. Inside evhttp: only record, and step on the next turn. */
static void call_on_done(struct evhttp_request *req, void *arg)
{
	struct http_call *call = arg;
	int err;

	if (call->state != CALL_EXCHANGING)
		return;
	if (req && evhttp_request_get_response_code(req) > 0 &&
	    !call->has_req_err) {
		call_finish(call, answer_take(call, req));
		return;
	}
	err = attempt_error(call);
	if (err < 0) {
		call_finish(call, err);
		return;
	}
	http_debug("client %s%s: target %zu of %zu not reached", call->host,
		   call->target, call->next_target, call->n_targets);
	call->last_err = -ECONNREFUSED;
	call_set_state(call, CALL_STARTING);
	event_active(call->step, EV_TIMEOUT, 1);
}

const char *http_answer_header(const struct http_answer *a, const char *name)
{
	size_t len;

	if (!a || !name)
		return NULL;
	len = strlen(name);
	for (size_t i = 0; i < a->n_headers; i++)
		if (strlen(a->headers[i].name) == len &&
		    mem_caseeq(a->headers[i].name, name, len))
			return a->headers[i].value;
	return NULL;
}

/* ---- the request -------------------------------------------------------- */

/* RFC 1123 §2.1 host names: LDH labels of 1..63 octets, no dot at the
 * end (the name goes in SNI and is compared with the certificate). */
static bool host_name_ok(const char *s, size_t len)
{
	size_t label = 0;

	if (!len || len > HOST_MAX_BYTES)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!char_is_alpha(ch) && !char_is_digit(ch) && ch != '-')
			return false;
		if ((ch == '-' && !label) || ++label > 63)
			return false;
	}
	return label && s[len - 1] != '-';
}

static int host_take(struct http_call *call, const char *host)
{
	size_t len = strlen(host);
	unsigned char ip[sizeof(struct in6_addr)];
	char text[INET6_ADDRSTRLEN + 1];

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		/* RFC 3986 §3.2.2: IPv6 only (no IPvFuture, no zone) */
		if (len - 2 >= sizeof(text))
			return -EINVAL;
		memcpy(text, host + 1, len - 2);
		text[len - 2] = '\0';
		if (inet_pton(AF_INET6, text, ip) != 1)
			return -EINVAL;
		call->is_ip = true;
		host++;
		len -= 2;
	} else if (len < sizeof(text) && inet_pton(AF_INET, host, ip) == 1) {
		call->is_ip = true;
	} else if (!host_name_ok(host, len)) {
		return -EINVAL;
	}
	call->host = arena_memdup(&call->arena, host, len);
	return call->host ? 0 : -ENOMEM;
}

/* https://host[:port][/path][?query][#fragment] (RFC 9110 §4.2.2). */
static int url_take(struct http_call *call, const char *url)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme, *host, *path, *query;
	struct buf b;
	int port, err;

	if (!u)
		return -EINVAL;
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	port = evhttp_uri_get_port(u);
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	if (!scheme || !host) {
		err = -EINVAL;
		goto out;
	}
	if (!slice_caseeq_cstr(slice_cstr(scheme), "https")) {
		err = -EPROTONOSUPPORT;
		goto out;
	}
	/* RFC 9110 §4.2.4: no userinfo in an https URI sent anywhere */
	if (evhttp_uri_get_userinfo(u) || port == 0) {
		err = -EINVAL;
		goto out;
	}
	err = host_take(call, host);
	if (err)
		goto out;
	call->port = port > 0 ? (uint16_t)port : HTTPS_PORT;
	buf_init(&b, 64 * 1024);
	if (port > 0)
		buf_printf(&b, "%s:%d", host, port);
	else
		buf_append_cstr(&b, host);
	if (!b.err)
		call->authority = arena_memdup(&call->arena, b.p, b.len);
	buf_reset(&b);
	/* RFC 9112 §3.2.1: origin-form; an empty path is "/" */
	buf_append_cstr(&b, path && *path ? path : "/");
	if (query) {
		buf_append_byte(&b, '?');
		buf_append_cstr(&b, query);
	}
	if (!b.err)
		call->target = arena_memdup(&call->arena, b.p, b.len);
	err = b.err == -EMSGSIZE ? -EINVAL : b.err;
	buf_fini(&b);
	if (!err && (!call->authority || !call->target))
		err = -ENOMEM;
out:
	evhttp_uri_free(u);
	return err;
}

static bool value_ok(const char *v)
{
	/* RFC 9110 §5.5: no CR, LF or other controls but HTAB */
	for (; *v; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
			return false;
	return true;
}

static bool name_ok(const char *n)
{
	/* the framing and the connection are the client's own */
	static const char *const own[] = {
		"Host",	   "Connection", "Content-Length", "Transfer-Encoding",
		"Upgrade", "TE",
	};

	if (!*n)
		return false;
	for (const char *p = n; *p; p++)
		if (!char_is_token((unsigned char)*p))
			return false;
	for (size_t i = 0; i < ARRAY_SIZE(own); i++)
		if (slice_caseeq_cstr(slice_cstr(n), own[i]))
			return false;
	return true;
}

static int method_take(struct http_call *call, const char *m)
{
	static const struct {
		const char *name;
		enum evhttp_cmd_type type;
	} methods[] = {
		{"GET", EVHTTP_REQ_GET},       {"HEAD", EVHTTP_REQ_HEAD},
		{"PUT", EVHTTP_REQ_PUT},       {"POST", EVHTTP_REQ_POST},
		{"DELETE", EVHTTP_REQ_DELETE},
	};

	if (!m) {
		call->method = EVHTTP_REQ_GET;
		return 0;
	}
	/* RFC 9110 §9.1: method names are case-sensitive */
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		if (!strcmp(m, methods[i].name)) {
			call->method = methods[i].type;
			return 0;
		}
	return -EINVAL;
}

static char *arena_strdup(struct arena *a, const char *s)
{
	return arena_memdup(a, s, strlen(s));
}

/* Method, headers, Content-Type and body, copied: the caller's may go
 * once http_call() returns. */
static int request_take(struct http_call *call, const struct http_call_opts *o)
{
	struct arena *a = &call->arena;
	int err = method_take(call, o->method);

	if (err)
		return err;
	if ((o->n_hdrs && !o->hdrs) || o->n_hdrs > CLIENT_MAX_HDRS ||
	    (o->ctype && (!*o->ctype || !value_ok(o->ctype))) ||
	    (o->body.len && !o->body.p))
		return -EINVAL;
	for (size_t i = 0; i < o->n_hdrs; i++)
		if (!o->hdrs[i].name || !o->hdrs[i].value ||
		    !name_ok(o->hdrs[i].name) || !value_ok(o->hdrs[i].value))
			return -EINVAL;
	if (o->n_hdrs) {
		call->hdrs = arena_alloc(a, o->n_hdrs * sizeof(*call->hdrs));
		if (!call->hdrs)
			return -ENOMEM;
	}
	for (size_t i = 0; i < o->n_hdrs; i++) {
		call->hdrs[i].name = arena_strdup(a, o->hdrs[i].name);
		call->hdrs[i].value = arena_strdup(a, o->hdrs[i].value);
		if (!call->hdrs[i].name || !call->hdrs[i].value)
			return -ENOMEM;
	}
	call->n_hdrs = o->n_hdrs;
	if (o->ctype) {
		call->ctype = arena_strdup(a, o->ctype);
		if (!call->ctype)
			return -ENOMEM;
	}
	if (o->body.len) {
		char *body = arena_memdup(a, o->body.p, o->body.len);

		if (!body)
			return -ENOMEM;
		call->body = slice_of(body, o->body.len);
	}
	return 0;
}

/* Where to connect: the caller's address, the URL's IP literal, or what
 * dns says the URL's host is. */
static int route_take(struct http_call *call, const struct net_addr *addr)
{
	struct net_addr ip;
	char text[INET6_ADDRSTRLEN + 2];
	int err;

	if (addr || call->is_ip) {
		if (addr) {
			if ((addr->ss.ss_family != AF_INET &&
			     addr->ss.ss_family != AF_INET6) ||
			    !net_addr_port(addr))
				return -EINVAL;
			ip = *addr;
		} else {
			snprintf(text, sizeof(text),
				 strchr(call->host, ':') ? "[%s]" : "%s",
				 call->host);
			if (net_addr_parse(text, call->port, &ip))
				return -EINVAL;
		}
		call->targets = arena_alloc(&call->arena, sizeof(ip));
		if (!call->targets)
			return -ENOMEM;
		call->targets[0] = ip;
		call->n_targets = 1;
		call_set_state(call, CALL_STARTING);
		event_active(call->step, EV_TIMEOUT, 1);
		return 0;
	}
	if (!call->c->dns)
		return -EINVAL;
	call_set_state(call, CALL_RESOLVING);
	err = dns_host_resolve(call->c->dns, call->host, call->port,
			       call_on_resolved, call, &call->query);
	if (err)
		call->query = NULL;
	return err;
}

int http_call(struct http_client *c, const struct http_call_opts *o,
	      http_call_cb *cb, void *arg, struct http_call **out)
{
	struct http_call *call;
	struct timeval tv;
	int err;

	if (!c || !o || !o->url || !cb)
		return -EINVAL;
	call = mem_zalloc(sizeof(*call));
	if (!call)
		return -ENOMEM;
	arena_init(&call->arena, CLIENT_ARENA_BYTES);
	call->c = c;
	call->cb = cb;
	call->arg = arg;
	call->check_peer = o->check_peer;
	call->state = CALL_STARTING;
	err = url_take(call, o->url);
	if (!err)
		err = request_take(call, o);
	if (!err) {
		call->step = event_new(c->base, -1, 0, call_on_step, call);
		call->deadline = evtimer_new(c->base, call_on_deadline, call);
		if (!call->step || !call->deadline)
			err = -ENOMEM;
	}
	if (!err) {
		call->deadline_ms = loop_now_ms() + c->timeout_ms;
		err = route_take(call, o->addr);
	}
	if (!err) {
		tv.tv_sec = (time_t)(c->timeout_ms / 1000);
		tv.tv_usec = (suseconds_t)(c->timeout_ms % 1000 * 1000);
		if (evtimer_add(call->deadline, &tv))
			err = -ENOMEM;
	}
	if (err) {
		call_free(call);
		return err;
	}
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	if (out)
		*out = call;
	return 0;
}

void http_call_cancel(struct http_call *call)
{
	if (!call || call->state == CALL_CANCELLED ||
	    call->state == CALL_DELIVERING)
		return;
	if (call->query) {
		dns_cancel(call->query);
		call->query = NULL;
	}
	event_del(call->deadline);
	/* the connection goes on the next turn: this may be called from
	 * anywhere, evhttp's callbacks included */
	call_set_state(call, CALL_CANCELLED);
	event_active(call->step, EV_TIMEOUT, 1);
}

/* ---- the client --------------------------------------------------------- */

int http_client_new(struct http_client **out, const struct http_client_opts *o)
{
	struct http_client *c;

	if (!out || !o || !o->base || !o->tls_ctx)
		return -EINVAL;
	if (!CRYPTO_THREAD_run_once(&call_index_once, call_index_init) ||
	    call_index < 0)
		return -ENOMEM;
	c = mem_zalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base = o->base;
	c->dns = o->dns;
	SSL_CTX_up_ref(o->tls_ctx);
	c->tls_ctx = o->tls_ctx;
	c->max_body_bytes =
		o->max_body_bytes ? o->max_body_bytes : HTTP_MAX_BODY_BYTES;
	if (c->max_body_bytes > (size_t)EV_SSIZE_MAX) /* evhttp's is signed */
		c->max_body_bytes = (size_t)EV_SSIZE_MAX;
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : CLIENT_TIMEOUT_MS;
	*out = c;
	return 0;
}

void http_client_free(struct http_client *c)
{
	struct http_call *call;

	if (!c)
		return;
	while ((call = c->calls)) {
		call_unlink(call);
		call_free(call);
	}
	SSL_CTX_free(c->tls_ctx);
	mem_free(c);
}
