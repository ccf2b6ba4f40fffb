/* SPDX-License-Identifier: BSD-3-Clause */
/* The HTTPS server: evhttp (RFC 9112 framing) over OpenSSL bufferevents
 * (RFC 8446), its listeners, routes, the connection cap and the counts of
 * TLS handshakes. Requests and answers are in request.c and reply.c. */
#include "priv.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/err.h>

#include "net/net.h"

enum { LISTEN_BACKLOG = 1024 };

/* RFC 9110 §9: what evhttp lets through to the handlers, which answer 405
 * for what they do not serve. TRACE (cross-site tracing) and CONNECT are
 * never served here: evhttp answers 501 for them. */
static const ev_uint16_t allowed_methods =
	EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_POST |
	EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH;

/* ---- connections --------------------------------------------------------- */

/* The SSL ex_data slot that ties each SSL to its http_conn. */
static CRYPTO_ONCE conn_index_once = CRYPTO_ONCE_STATIC_INIT;
static int conn_index = -1;

static void conn_unlink(struct http_server *s, struct http_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

/* OpenSSL frees the SSL: libevent's finalizer does, a loop turn after
 * evhttp freed the connection (or the bufferevent could not be made). A
 * connection that ends before its handshake did is a failed handshake:
 * a plain-HTTP client, a scanner, a protocol or certificate mismatch. */
static void conn_on_ssl_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad,
			     int idx, long argl, void *argp)
{
	struct http_conn *c = ptr;
	struct http_server *s;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (!c)
		return; /* an SSL of someone else's */
	s = c->srv;
	if (s) {
		if (!c->is_handshaken)
			s->stats.tls_failures++;
		conn_unlink(s, c);
		s->n_conns--;
		if (s->n_conns < s->max_conns)
			s->is_at_cap = false;
	}
	mem_free(c);
}

static void conn_index_init(void)
{
	conn_index =
		SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_on_ssl_free);
}

static void conn_on_ssl_info(const SSL *ssl, int where, int ret)
{
	struct http_conn *c;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_DONE))
		return;
	c = SSL_get_ex_data(ssl, conn_index);
	/* DONE may come again (a TLS 1.2 renegotiation, TLS 1.3 early
	 * data): the connection counts once */
	if (!c || c->is_handshaken)
		return;
	c->is_handshaken = true;
	if (c->srv)
		c->srv->stats.tls_handshakes++;
}

/* A bufferevent that cannot take a socket: evhttp fails to attach the
 * new connection to it and closes the socket at once, so the peer gets
 * neither TLS nor HTTP (were the failure ignored, the socket would never
 * be read and the idle timeout would close it). With CLOSE_ON_FREE
 * evhttp leaves the close to its caller, which closes it once. NULL when
 * even that cannot be had: evhttp then makes a plain bufferevent, and
 * http_request_dispatch() drops whatever arrives on it unanswered. */
static struct bufferevent *conn_refuse(struct event_base *base)
{
	struct bufferevent *pair[2];

	if (bufferevent_pair_new(base, BEV_OPT_CLOSE_ON_FREE, pair))
		return NULL;
	bufferevent_free(pair[1]);
	return pair[0];
}

/* evhttp's bevcb: a TLS server bufferevent for each accepted connection.
 * The socket is attached by evhttp right after, which starts the
 * handshake. */
static struct bufferevent *conn_new(struct event_base *base, void *arg)
{
	struct http_server *s = arg;
	struct http_conn *c;
	struct bufferevent *bev;
	SSL *ssl;

	if (s->n_conns >= s->max_conns) {
		if (!s->is_at_cap)
			log_msg(LOG_LEVEL_WARNING, "http",
				"%u connections open (the cap): refusing more",
				s->n_conns);
		s->is_at_cap = true;
		return conn_refuse(base);
	}
	c = mem_zalloc(sizeof(*c));
	if (!c)
		return conn_refuse(base);
	ERR_clear_error();
	ssl = SSL_new(s->tls_ctx);
	if (!ssl || !SSL_set_ex_data(ssl, conn_index, c)) {
		SSL_free(ssl); /* the slot is empty: c is not freed there */
		mem_free(c);
		ERR_clear_error();
		return conn_refuse(base);
	}
	/* from here the SSL owns c (conn_on_ssl_free) */
	c->srv = s;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	SSL_set_info_callback(ssl, conn_on_ssl_info);
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
					     BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		/* no connection was made: neither a handshake nor a
		 * failure to count */
		conn_unlink(s, c);
		s->n_conns--;
		c->srv = NULL;
		SSL_free(ssl);
		return conn_refuse(base);
	}
	/* peers that close without close_notify end the stream (EOF) like
	 * the others; HTTP framing says whether anything was cut short */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* ---- listeners ----------------------------------------------------------- */

/* evhttp passes itself, not the server, to the listener's error
 * callback; the servers running on this thread find it. Servers are
 * made, used and freed on their loop thread only (http.h). */
static _Thread_local struct http_server *servers_on_thread;

static void listeners_enable(struct http_server *s, bool is_on)
{
	for (struct http_listener *l = s->listeners; l; l = l->next) {
		struct evconnlistener *lev =
			evhttp_bound_socket_get_listener(l->bound);

		if (is_on)
			evconnlistener_enable(lev);
		else
			evconnlistener_disable(lev);
	}
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	listeners_enable(arg, true);
}

/* Out of descriptors or memory: the connection stays in the backlog and
 * the socket readable, so pause instead of spinning on it. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct timeval tv = {0, HTTP_ACCEPT_RETRY_MS * 1000};
	struct http_server *s = servers_on_thread;
	int e = errno;

	(void)lev;
	while (s && s->http != arg)
		s = s->next_on_thread;
	if (!s)
		return;
	http_debug("accept failed: %s", strerror(e));
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		listeners_enable(s, false);
		evtimer_add(s->accept_retry, &tv);
	}
}

static int listen_socket(const struct net_addr *a, struct net_addr *bound)
{
	int one = 1, fd, err = 0;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		err = -errno;
	/* "::" must not take IPv4 too, so "0.0.0.0" can be bound beside it */
	if (!err && a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		err = -errno;
	if (!err && bind(fd, (const struct sockaddr *)&a->ss, a->len))
		err = -errno;
	if (!err && listen(fd, LISTEN_BACKLOG))
		err = -errno;
	bound->len = sizeof(bound->ss);
	if (!err && getsockname(fd, (struct sockaddr *)&bound->ss, &bound->len))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int http_listen(struct http_server *s, const char *host, uint16_t port,
		uint16_t *bound_port)
{
	struct net_addr a, bound;
	struct http_listener *l;
	struct evconnlistener *lev;
	int fd;

	if (!s || !host || net_addr_parse(host, port, &a))
		return -EINVAL;
	fd = listen_socket(&a, &bound);
	if (fd < 0)
		return fd;
	l = mem_zalloc(sizeof(*l));
	/* backlog 0: the socket listens already */
	lev = l ? evconnlistener_new(
			  s->base, NULL, NULL,
			  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd)
		: NULL;
	if (!lev) {
		close(fd);
		mem_free(l);
		return -ENOMEM;
	}
	l->bound = evhttp_bind_listener(s->http, lev);
	if (!l->bound) {
		evconnlistener_free(lev); /* closes the socket */
		mem_free(l);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(lev, on_accept_error);
	l->next = s->listeners;
	s->listeners = l;
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char text[HTTP_PEER_BYTES];

		net_addr_print(&bound, text, sizeof(text));
		http_debug("listening on %s", text);
	}
	if (bound_port)
		*bound_port = net_addr_port(&bound);
	return 0;
}

/* ---- routes -------------------------------------------------------------- */

/* An origin-form path (RFC 9112 §3.2.1) as the request line carries it:
 * no space, control, query or fragment; '*' only as the final wildcard. */
static bool route_path_ok(const char *path, size_t len)
{
	if (len == 0 || path[0] != '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '*')
			return false;
	}
	return true;
}

int http_route(struct http_server *s, const char *path, http_handler_cb *cb,
	       void *arg)
{
	struct http_route *v;
	bool is_prefix;
	size_t len;
	char *copy;

	if (!s || !path || !cb)
		return -EINVAL;
	len = strlen(path);
	is_prefix = len > 0 && path[len - 1] == '*';
	if (is_prefix)
		len--;
	if (!route_path_ok(path, len))
		return -EINVAL;
	for (size_t i = 0; i < s->n_routes; i++) {
		const struct http_route *r = &s->routes[i];

		if (r->is_prefix == is_prefix && r->len == len &&
		    !memcmp(r->path, path, len))
			return -EEXIST;
	}
	copy = mem_strndup(path, len);
	if (!copy)
		return -ENOMEM;
	v = mem_realloc(s->routes, (s->n_routes + 1) * sizeof(*v));
	if (!v) {
		mem_free(copy);
		return -ENOMEM;
	}
	s->routes = v;
	s->routes[s->n_routes++] = (struct http_route){
		.path = copy,
		.len = len,
		.is_prefix = is_prefix,
		.cb = cb,
		.arg = arg,
	};
	return 0;
}

/* ---- the server ---------------------------------------------------------- */

static bool server_name_ok(const char *name)
{
	if (!*name)
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int http_server_new(struct http_server **out, const struct http_opts *o)
{
	struct http_server *s;
	int err = 0;

	if (!out || !o || !o->base || !o->tls_ctx)
		return -EINVAL;
	if (o->server_name && !server_name_ok(o->server_name))
		return -EINVAL;
	if (!CRYPTO_THREAD_run_once(&conn_index_once, conn_index_init) ||
	    conn_index < 0)
		return -ENOMEM;
	s = mem_zalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base = o->base;
	s->max_conns = HTTP_MAX_CONNS;
	s->server_name =
		mem_strdup(o->server_name ? o->server_name : "sipcert");
	s->http = evhttp_new(o->base);
	s->accept_retry = evtimer_new(o->base, on_accept_retry, s);
	if (!s->server_name || !s->http || !s->accept_retry) {
		err = -ENOMEM;
		goto out;
	}
	SSL_CTX_up_ref(o->tls_ctx);
	s->tls_ctx = o->tls_ctx;
	evhttp_set_bevcb(s->http, conn_new, s);
	evhttp_set_gencb(s->http, http_request_dispatch, s);
	evhttp_set_allowed_methods(s->http, allowed_methods);
	/* over these evhttp answers 400 (headers) or 413 (body) itself */
	evhttp_set_max_headers_size(s->http, HTTP_MAX_HEADERS_BYTES);
	evhttp_set_max_body_size(s->http, HTTP_MAX_BODY_BYTES);
	evhttp_set_timeout(s->http, HTTP_TIMEOUT_S);
	/* no guessed Content-Type: answers carry the handler's or none */
	evhttp_set_default_content_type(s->http, NULL);
	s->next_on_thread = servers_on_thread;
	servers_on_thread = s;
out:
	if (err) {
		http_server_free(s);
		return err;
	}
	*out = s;
	return 0;
}

void http_server_free(struct http_server *s)
{
	struct http_server **pp;
	struct http_request *r;
	struct http_conn *c;

	if (!s)
		return;
	for (pp = &servers_on_thread; *pp; pp = &(*pp)->next_on_thread)
		if (*pp == s) {
			*pp = s->next_on_thread;
			break;
		}
	/* libevent frees the SSLs a loop turn after evhttp_free(): cut the
	 * connections loose from the server before it goes */
	while ((c = s->conns)) {
		s->conns = c->next;
		c->srv = NULL;
		c->next = c->prev = NULL;
	}
	s->n_conns = 0;
	/* a request whose connection died is no longer evhttp's to free */
	for (r = s->pending; r; r = r->next)
		if (r->ev && !evhttp_request_get_connection(r->ev)) {
			evhttp_request_free(r->ev);
			r->ev = NULL;
		}
	/* the others go with their connections (on_conn_close orphans the
	 * wrappers), and the listeners with their sockets */
	if (s->http)
		evhttp_free(s->http);
	while ((r = s->pending)) {
		s->pending = r->next;
		mem_free(r);
	}
	while (s->listeners) {
		struct http_listener *l = s->listeners;

		s->listeners = l->next;
		mem_free(l);
	}
	if (s->accept_retry)
		event_free(s->accept_retry);
	for (size_t i = 0; i < s->n_routes; i++)
		mem_free(s->routes[i].path);
	mem_free(s->routes);
	mem_free(s->server_name);
	SSL_CTX_free(s->tls_ctx);
	mem_free(s);
}

void http_server_stats(const struct http_server *s, struct http_stats *out)
{
	if (!out)
		return;
	if (!s) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = s->stats;
}

void http_server_set_max_conns(struct http_server *s, unsigned max_conns)
{
	s->max_conns = max_conns ? max_conns : HTTP_MAX_CONNS;
}

void http_server_set_timeout_ms(struct http_server *s, unsigned timeout_ms)
{
	struct timeval tv = {
		.tv_sec = timeout_ms / 1000,
		.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000,
	};

	if (!timeout_ms)
		tv = (struct timeval){.tv_sec = HTTP_TIMEOUT_S};
	evhttp_set_timeout_tv(s->http, &tv);
}

unsigned http_server_conns(const struct http_server *s)
{
	return s->n_conns;
}
