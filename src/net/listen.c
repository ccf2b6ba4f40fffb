/* SPDX-License-Identifier: BSD-3-Clause */
/* Listening sockets: UDP, TCP and TLS on IPv4 and IPv6 (RFC 3261 §18.2.1:
 * a server listens on every transport it supports), several at once. */
#include "priv.h"

#include <string.h>
#include <unistd.h>

enum {
	LISTEN_BACKLOG = 1024,
	ACCEPT_RETRY_MS = 100, /* after EMFILE: breathe, then accept again */
};

int net_listen_socket(const struct net_addr *a, int type)
{
	int one = 1, fd, err = 0;

	fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Streams reuse a port left in TIME_WAIT by a restart. Datagram
	 * sockets do not: on Linux that would let a second daemon bind the
	 * same UDP port and silently take half the traffic. */
	if (type == SOCK_STREAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		err = -errno;
	/* "::" must not also take IPv4, so "0.0.0.0" can be bound beside
	 * it; IPv4 peers never appear as mapped addresses */
	if (!err && a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		err = -errno;
	if (!err && bind(fd, (const struct sockaddr *)&a->ss, a->len))
		err = -errno;
	if (!err && type == SOCK_STREAM && listen(fd, LISTEN_BACKLOG))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static void listener_on_accept(struct evconnlistener *lev, evutil_socket_t fd,
			       struct sockaddr *sa, int len, void *arg)
{
	struct listener *l = arg;

	(void)lev;
	net_stream_accept(l->net, l->proto, fd, sa, (socklen_t)len);
}

static void listener_on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->lev);
}

/* Out of descriptors: the pending connection stays in the backlog and
 * the socket stays readable, so pause instead of spinning on it. */
static void listener_on_error(struct evconnlistener *lev, void *arg)
{
	struct listener *l = arg;
	int e = errno;
	struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};

	net_debug("accept failed: %s", strerror(e));
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		evconnlistener_disable(lev);
		evtimer_add(l->retry, &tv);
	}
}

static void listener_free(struct listener *l)
{
	if (!l)
		return;
	if (l->lev)
		evconnlistener_free(l->lev); /* closes the socket */
	if (l->retry)
		event_free(l->retry);
	mem_free(l);
}

static int listen_stream(struct net *n, enum net_proto proto,
			 const struct net_addr *a, struct net_addr *bound)
{
	struct listener *l;
	int fd, err;

	fd = net_listen_socket(a, SOCK_STREAM);
	if (fd < 0)
		return fd;
	err = net_addr_local(bound, fd);
	if (err) {
		close(fd);
		return err;
	}
	l = mem_zalloc(sizeof(*l));
	if (!l) {
		close(fd);
		return -ENOMEM;
	}
	l->net = n;
	l->proto = proto;
	l->retry = evtimer_new(n->o.base, listener_on_retry, l);
	/* backlog 0: the socket listens already; accepted sockets come
	 * nonblocking and close-on-exec */
	l->lev = evconnlistener_new(
		n->o.base, listener_on_accept, l,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!l->lev)
		close(fd);
	if (!l->lev || !l->retry) {
		listener_free(l);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(l->lev, listener_on_error);
	l->next = n->listeners;
	n->listeners = l;
	return 0;
}

int net_listen(struct net *n, enum net_proto proto, const char *host,
	       uint16_t port, uint16_t *bound_port)
{
	struct net_addr a, bound;
	int err;

	if (!n || !host)
		return -EINVAL;
	if (proto == NET_TLS && !n->o.tls_server_ctx)
		return -EINVAL;
	if (net_addr_parse(host, port, &a))
		return -EINVAL;
	switch (proto) {
	case NET_UDP: {
		struct udp_sock *s;

		err = net_udp_open(&s, n, &a);
		if (!err)
			bound = s->local;
		break;
	}
	case NET_TCP:
	case NET_TLS:
		err = listen_stream(n, proto, &a, &bound);
		break;
	default:
		return -EINVAL;
	}
	if (err)
		return err;
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char text[NET_ADDR_TEXT_BYTES];

		net_addr_print(&bound, text, sizeof(text));
		net_debug("listening on %s %s", net_proto_name(proto), text);
	}
	if (bound_port)
		*bound_port = net_addr_port(&bound);
	return 0;
}

void net_stop_listening(struct net *n)
{
	struct listener *l;

	if (!n)
		return;
	while ((l = n->listeners)) {
		n->listeners = l->next;
		listener_free(l);
	}
	for (struct udp_sock *s = n->udp; s; s = s->next)
		net_udp_stop(s);
}
