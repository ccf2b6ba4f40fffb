/* SPDX-License-Identifier: BSD-3-Clause */
/* Requests: routing by path (RFC 9110 §4.2.1 paths, matched as they are
 * sent), the pending list of requests handlers answer later, and what a
 * handler may read of a request (RFC 9112 §3.2 target, §5 headers). */
#include "priv.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>

#include "query.h"

static const struct http_route *route_find(const struct http_server *s,
					   const char *path)
{
	size_t len = strlen(path);

	for (size_t i = 0; i < s->n_routes; i++) {
		const struct http_route *r = &s->routes[i];

		if (r->is_prefix
			    ? len >= r->len && !memcmp(path, r->path, r->len)
			    : len == r->len && !memcmp(path, r->path, len))
			return r;
	}
	return NULL;
}

static enum http_method method_of(const struct evhttp_request *ev)
{
	switch (evhttp_request_get_command(ev)) {
	case EVHTTP_REQ_GET:
		return HTTP_GET;
	case EVHTTP_REQ_HEAD:
		return HTTP_HEAD;
	case EVHTTP_REQ_PUT:
		return HTTP_PUT;
	case EVHTTP_REQ_POST:
		return HTTP_POST;
	case EVHTTP_REQ_DELETE:
		return HTTP_DELETE;
	default:
		return HTTP_OTHER;
	}
}

/* Only a connection whose TLS handshake is complete is served: http.h
 * promises that plain HTTP never gets an answer, whatever bufferevent
 * evhttp ended up with. */
static bool conn_is_tls(struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	return ssl && SSL_is_init_finished(ssl);
}

static void peer_print(struct evhttp_connection *evcon, char *out, size_t n)
{
	char *addr = NULL;
	ev_uint16_t port = 0;

	evhttp_connection_get_peer(evcon, &addr, &port);
	if (!addr)
		snprintf(out, n, "?");
	else if (strchr(addr, ':'))
		snprintf(out, n, "[%s]:%u", addr, (unsigned)port);
	else
		snprintf(out, n, "%s:%u", addr, (unsigned)port);
}

void http_request_orphan_all(struct http_server *s,
			     struct evhttp_connection *evcon)
{
	for (struct http_request *r = s->pending; r; r = r->next)
		if (r->ev && evhttp_request_get_connection(r->ev) == evcon) {
			r->ev = NULL;
			r->body = slice_of(NULL, 0);
		}
}

/* evhttp frees a connection with the requests still on it (the server
 * going away): the handlers' wrappers must let go of them first. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	http_request_orphan_all(arg, evcon);
}

static void pending_unlink(struct http_server *s, struct http_request *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		s->pending = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

void http_request_dispatch(struct evhttp_request *ev, void *arg)
{
	static const char not_found[] = "not found\n";
	struct http_server *s = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	enum http_method method = method_of(ev);
	const struct http_route *route;
	struct evbuffer *in;
	struct http_request *r;
	const char *path;
	size_t len;

	if (!evcon || !conn_is_tls(evcon)) {
		if (evcon)
			evhttp_connection_free(evcon); /* and ev with it */
		return;
	}
	s->stats.requests++;
	evhttp_connection_set_closecb(evcon, on_conn_close, s);
	path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!path) {
		(void)http_answer(s, ev, method, 400, NULL, SLICE_NULL, NULL,
				  0);
		return;
	}
	route = route_find(s, path);
	if (!route) {
		(void)http_answer(s, ev, method, 404,
				  "text/plain; charset=utf-8",
				  SLICE_LIT(not_found), NULL, 0);
		return;
	}
	r = mem_zalloc(sizeof(*r));
	in = evhttp_request_get_input_buffer(ev);
	len = evbuffer_get_length(in);
	if (r && len) {
		/* one contiguous run, valid while the request lives */
		const unsigned char *p = evbuffer_pullup(in, -1);

		r->body = p ? slice_of((const char *)p, len) : SLICE_NULL;
	}
	if (!r || (len && !r->body.p)) {
		mem_free(r);
		(void)http_answer(s, ev, method, 500, NULL, SLICE_NULL, NULL,
				  0);
		return;
	}
	r->srv = s;
	r->ev = ev;
	r->method = method;
	peer_print(evcon, r->peer, sizeof(r->peer));
	r->next = s->pending;
	if (s->pending)
		s->pending->prev = r;
	s->pending = r;
	/* r may be answered, and so gone, before this returns */
	route->cb(route->arg, r);
}

struct evhttp_request *http_request_take(struct http_request *r,
					 struct http_server **s,
					 enum http_method *method)
{
	struct evhttp_request *ev = r->ev;

	*s = r->srv;
	*method = r->method;
	pending_unlink(r->srv, r);
	mem_free(r);
	return ev;
}

enum http_method http_request_method(const struct http_request *r)
{
	return r ? r->method : HTTP_OTHER;
}

const char *http_request_path(const struct http_request *r)
{
	const struct evhttp_uri *uri =
		r && r->ev ? evhttp_request_get_evhttp_uri(r->ev) : NULL;
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

	return path ? path : "";
}

const char *http_request_target(const struct http_request *r)
{
	const char *t = r && r->ev ? evhttp_request_get_uri(r->ev) : NULL;

	return t ? t : "";
}

int http_request_query(const struct http_request *r, const char *name,
		       struct buf *out)
{
	const struct evhttp_uri *uri;
	const char *query;

	if (!r || !name || !*name || !out)
		return -EINVAL;
	uri = r->ev ? evhttp_request_get_evhttp_uri(r->ev) : NULL;
	query = uri ? evhttp_uri_get_query(uri) : NULL;
	if (!query)
		return -ENOENT;
	return http_query_find(slice_cstr(query), name, out);
}

const char *http_request_header(const struct http_request *r, const char *name)
{
	if (!r || !r->ev || !name)
		return NULL;
	return evhttp_find_header(evhttp_request_get_input_headers(r->ev),
				  name);
}

struct slice http_request_body(const struct http_request *r)
{
	return r ? r->body : SLICE_NULL;
}

void http_request_peer(const struct http_request *r, char *out, size_t n)
{
	if (out && n)
		snprintf(out, n, "%s", r ? r->peer : "");
}
