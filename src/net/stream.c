/* SPDX-License-Identifier: BSD-3-Clause */
/* TCP and TLS flows on bufferevents: framing by Content-Length (RFC 3261
 * §18.3), CRLF keep-alives (RFC 5626 §3.5.1), idle and per-message
 * timeouts, capped buffers both ways, graceful and deferred close. */
#include "priv.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

static const char *const state_names[] = {
	[CONN_CONNECTING] = "connecting",
	[CONN_HANDSHAKING] = "handshaking",
	[CONN_OPEN] = "open",
	[CONN_DRAINING] = "draining",
	[CONN_CLOSED] = "closed",
};

/* The one place a flow changes state, logged (STYLE.md B5). */
static void conn_set_state(struct conn *c, enum conn_state next,
			   const char *why)
{
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char peer[NET_ADDR_TEXT_BYTES];

		net_addr_print(&c->peer, peer, sizeof(peer));
		net_debug("%s flow %llu %s: %s -> %s (%s)",
			  net_proto_name(c->proto), (unsigned long long)c->id,
			  peer, state_names[c->state], state_names[next], why);
	}
	c->state = next;
}

static SSL *conn_ssl(const struct conn *c)
{
	return c->proto == NET_TLS ? bufferevent_openssl_get_ssl(c->bev) : NULL;
}

/* ---- timers: one per flow, for the nearer of two deadlines ------------- */

static uint64_t conn_due_ms(const struct conn *c)
{
	const struct net *n = c->net;
	uint64_t due = c->last_io_ms + n->idle_ms;

	if (c->msg_start_ms && c->msg_start_ms + n->msg_ms < due)
		due = c->msg_start_ms + n->msg_ms;
	return due;
}

/* Activity only moves the idle deadline later, so a pending timer that
 * fires early simply re-arms; only an earlier deadline re-adds it. */
static void conn_timer_arm(struct conn *c)
{
	uint64_t due = conn_due_ms(c), now = loop_now_ms();
	struct timeval tv;

	if (evtimer_pending(c->timer, NULL) && c->timer_due_ms <= due)
		return;
	c->timer_due_ms = due;
	due = due > now ? due - now : 0;
	tv.tv_sec = (time_t)(due / 1000u);
	tv.tv_usec = (suseconds_t)(due % 1000u) * 1000;
	evtimer_add(c->timer, &tv);
}

static void conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct net *n = c->net;
	uint64_t now = loop_now_ms();

	(void)fd;
	(void)what;
	if (c->msg_start_ms && now >= c->msg_start_ms + n->msg_ms) {
		/* slow loris, a stalled handshake, connect or flush */
		n->stats.flows_timed_out++;
		net_debug("flow %llu: msg_timeout_s (%u) expired",
			  (unsigned long long)c->id, n->o.msg_timeout_s);
		c->want_close_notify = c->is_established;
		net_stream_close(c, "msg_timeout_s");
		return;
	}
	if (now >= c->last_io_ms + n->idle_ms) {
		n->stats.flows_timed_out++;
		c->want_close_notify = c->is_established;
		net_stream_close(c, "idle_timeout_s");
		return;
	}
	conn_timer_arm(c);
}

/* Bytes left the send queue: the peer is reading, the flow is not idle. */
static void conn_on_drain(struct evbuffer *b,
			  const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	(void)b;
	if (info->n_deleted)
		c->last_io_ms = loop_now_ms();
}

/* ---- receiving ----------------------------------------------------------- */

static void conn_deliver(struct conn *c, const char *p, size_t len)
{
	struct net *n = c->net;
	struct net_rx rx = {
		.proto = c->proto,
		.flow = c->id,
		.peer = c->peer,
		.local = c->local,
		.data = p,
		.len = len,
	};
	SSL *ssl = conn_ssl(c);

	if (ssl) {
		/* only a certificate that passed verification is reported */
		if (SSL_get_verify_result(ssl) == X509_V_OK)
			rx.peer_cert = SSL_get0_peer_certificate(ssl);
		rx.sni = c->sni;
	}
	n->stats.rx_msgs++;
	n->o.on_rx(n->o.arg, &rx);
}

/* RFC 5626 §3.5.1: a CRLF CRLF ping is answered with a CRLF pong; a lone
 * CRLF is a pong and needs no answer. Counting across reads answers a
 * ping that arrived in pieces. */
static void conn_keepalive(struct conn *c, size_t n_bytes)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	c->crlf_run += (unsigned)n_bytes;
	while (c->crlf_run >= 4) {
		c->crlf_run -= 4;
		if (evbuffer_get_length(out) + 2 <= c->net->tx_cap_bytes)
			bufferevent_write(c->bev, "\r\n", 2);
	}
}

/* Hand every complete message in the input to on_rx. A framing error or
 * an oversize message closes the flow: a stream cannot be re-synchronised
 * once its framing is lost (RFC 3261 §18.3). */
static void conn_process_input(struct conn *c)
{
	struct net *n = c->net;
	struct evbuffer *in = bufferevent_get_input(c->bev);

	while (c->state == CONN_OPEN) {
		size_t avail = evbuffer_get_length(in), ka = 0;
		size_t look =
			avail < n->o.max_msg_bytes ? avail : n->o.max_msg_bytes;
		const char *p;
		ssize_t len;

		if (!avail)
			break;
		p = (const char *)evbuffer_pullup(in, (ev_ssize_t)look);
		if (!p) {
			net_stream_close(c, "out of memory");
			break;
		}
		len = sip_frame(&c->framer, p, look, &ka);
		if (len == 0 && ka) {
			evbuffer_drain(in, ka);
			conn_keepalive(c, ka);
			continue;
		}
		c->crlf_run = 0;
		if (len == -EAGAIN) {
			/* the message's first byte starts its clock */
			if (!c->msg_start_ms) {
				c->msg_start_ms = loop_now_ms();
				conn_timer_arm(c);
			}
			break;
		}
		if (len < 0) {
			n->stats.rx_dropped++;
			net_debug("flow %llu: %s", (unsigned long long)c->id,
				  len == -EMSGSIZE ? "max_msg_bytes exceeded"
						   : "framing error");
			net_stream_close(c, len == -EMSGSIZE ? "oversize"
							     : "framing");
			break;
		}
		c->msg_start_ms = 0;
		conn_deliver(c, p, (size_t)len);
		/* the callback may have closed the flow; it is freed only
		 * after this turn, so draining its buffer is still safe */
		evbuffer_drain(in, (size_t)len);
	}
}

static void conn_on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	c->last_io_ms = loop_now_ms();
	if (c->state == CONN_DRAINING) {
		/* closing: nothing more is delivered, but reading on lets
		 * the peer's FIN (or close_notify) end the flow */
		evbuffer_drain(bufferevent_get_input(bev),
			       evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	conn_process_input(c);
}

/* ---- sending and closing ------------------------------------------------- */

/* The send queue is empty: a draining flow now says goodbye (TLS
 * close_notify, then FIN) and waits, bounded by msg_timeout_s, for the
 * peer's end so that unread data of ours is not lost to a reset. */
static void conn_on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	SSL *ssl = conn_ssl(c);
	evutil_socket_t fd;

	if (c->state != CONN_DRAINING || c->is_wr_shut ||
	    evbuffer_get_length(bufferevent_get_output(bev)))
		return;
	if (!c->is_established) {
		net_stream_close(c, "closed before connected");
		return;
	}
	if (ssl) {
		ERR_clear_error();
		(void)SSL_shutdown(ssl);
		ERR_clear_error();
	}
	fd = bufferevent_getfd(bev);
	if (fd < 0 || shutdown(fd, SHUT_WR)) {
		net_stream_close(c, "closed after flush");
		return;
	}
	c->is_wr_shut = true;
}

static void conn_established(struct conn *c)
{
	struct net *n = c->net;
	SSL *ssl = conn_ssl(c);

	if (ssl) {
		if (!SSL_is_init_finished(ssl))
			return; /* TCP is up; the handshake goes on */
		n->stats.tls_handshakes++;
		if (!c->is_outgoing && !c->sni) {
			/* the servername callback accepted it (tls.c) */
			const char *name = SSL_get_servername(
				ssl, TLSEXT_NAMETYPE_host_name);

			if (name)
				c->sni = mem_strdup(name);
		}
	}
	c->is_established = true;
	c->last_io_ms = loop_now_ms();
	if (c->is_outgoing)
		(void)net_addr_local(&c->local, bufferevent_getfd(c->bev));
	if (c->state == CONN_DRAINING) {
		/* closed while connecting: flush what was queued */
		c->msg_start_ms = c->last_io_ms;
		conn_timer_arm(c);
		conn_on_write(c->bev, c);
		return;
	}
	c->msg_start_ms = 0;
	conn_set_state(c, CONN_OPEN, ssl ? "handshake done" : "connected");
	conn_timer_arm(c);
	conn_process_input(c);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct net *n = c->net;
	const char *why;

	if (what & BEV_EVENT_CONNECTED) {
		conn_established(c);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	why = what & BEV_EVENT_EOF ? "peer closed" : "error";
	if (c->proto == NET_TLS && !c->is_established) {
		unsigned long e = bufferevent_get_openssl_error(bev);

		/* a refused TCP connect is no TLS failure; a handshake the
		 * peer aborted or OpenSSL refused is */
		if (e || !c->is_outgoing || (what & BEV_EVENT_EOF)) {
			n->stats.tls_failures++;
			why = "handshake failed";
		}
		if (e && log_enabled(LOG_LEVEL_DEBUG)) {
			char msg[256];

			ERR_error_string_n(e, msg, sizeof(msg));
			net_debug("flow %llu: TLS: %s",
				  (unsigned long long)c->id, msg);
		}
		while (bufferevent_get_openssl_error(bev))
			;
	} else if (c->state == CONN_OPEN && (what & BEV_EVENT_EOF)) {
		/* a message cut short by the peer's close */
		struct evbuffer *in = bufferevent_get_input(bev);

		if (evbuffer_get_length(in))
			n->stats.rx_dropped++;
	}
	net_stream_close(c, why);
}

int net_stream_send(struct conn *c, const void *data, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	/* a peer that does not read cannot make us queue without bound */
	if (evbuffer_get_length(out) + len > c->net->tx_cap_bytes) {
		net_debug("flow %llu: send queue full (%zu bytes)",
			  (unsigned long long)c->id, evbuffer_get_length(out));
		return -EMSGSIZE;
	}
	if (bufferevent_write(c->bev, data, len))
		return -ENOMEM;
	c->last_io_ms = loop_now_ms();
	return 0;
}

void net_stream_close(struct conn *c, const char *why)
{
	if (c->state == CONN_CLOSED)
		return;
	conn_set_state(c, CONN_CLOSED, why);
	/* no lookup finds it and no callback reaches it from now on */
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->drain_cb) {
		evbuffer_remove_cb_entry(bufferevent_get_output(c->bev),
					 c->drain_cb);
		c->drain_cb = NULL;
	}
	evtimer_del(c->timer);
	net_flow_remove(c->net, c);
	net_flow_reap_later(c->net, c);
}

void net_stream_close_graceful(struct conn *c)
{
	struct evbuffer *out;

	if (c->state >= CONN_DRAINING)
		return;
	out = bufferevent_get_output(c->bev);
	if (!c->is_established && !evbuffer_get_length(out)) {
		net_stream_close(c, "closed before connected");
		return;
	}
	conn_set_state(c, CONN_DRAINING, "closing");
	/* flushing and the goodbye are bounded like a message */
	c->msg_start_ms = loop_now_ms();
	conn_timer_arm(c);
	if (c->is_established)
		conn_on_write(c->bev, c);
}

void net_stream_free(struct conn *c)
{
	SSL *ssl;

	if (!c)
		return;
	ssl = c->bev ? conn_ssl(c) : NULL;
	if (ssl && c->want_close_notify && !c->is_wr_shut) {
		/* timeouts and net_free() end TLS properly; the alert is
		 * best effort on a nonblocking socket */
		ERR_clear_error();
		(void)SSL_shutdown(ssl);
		ERR_clear_error();
	}
	if (c->bev) {
		bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
		bufferevent_free(c->bev); /* closes the socket, frees SSL */
	}
	if (c->timer)
		event_free(c->timer);
	mem_free(c->sni);
	mem_free(c);
}

/* ---- creating flows ------------------------------------------------------ */

/* A flow around fd, which it owns from now on (closed on failure). */
static int conn_new(struct conn **out, struct net *n, enum net_proto proto,
		    int fd, const struct net_addr *peer, const char *sni,
		    bool is_outgoing)
{
	struct event_base *base = n->o.base;
	struct conn *c;
	SSL *ssl = NULL;
	int err = 0;

	c = mem_zalloc(sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->net = n;
	c->proto = proto;
	c->peer = *peer;
	c->is_outgoing = is_outgoing;
	c->state = is_outgoing	      ? CONN_CONNECTING
		   : proto == NET_TLS ? CONN_HANDSHAKING
				      : CONN_OPEN;
	c->last_io_ms = loop_now_ms();
	sip_framer_init(&c->framer, n->o.max_msg_bytes);
	c->timer = evtimer_new(base, conn_on_timer, c);
	if (sni)
		c->sni = mem_strdup(sni);
	if (!c->timer || (sni && !c->sni)) {
		err = -ENOMEM;
		goto out;
	}
	if (proto == NET_TLS) {
		err = net_tls_ssl_new(
			&ssl,
			is_outgoing ? n->o.tls_client_ctx : n->o.tls_server_ctx,
			is_outgoing ? c->sni : NULL,
			is_outgoing && n->o.tls_check_peer ? n : NULL);
		if (err)
			goto out;
		/* libevent frees ssl when this fails (CLOSE_ON_FREE) */
		c->bev = bufferevent_openssl_socket_new(
			base, fd, ssl,
			is_outgoing ? BUFFEREVENT_SSL_CONNECTING
				    : BUFFEREVENT_SSL_ACCEPTING,
			BEV_OPT_CLOSE_ON_FREE);
		if (c->bev)
			/* a peer's FIN without close_notify is an end of
			 * stream, not an error: SIP frames its messages */
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev =
			bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!c->bev) {
		err = -ENOMEM;
		goto out;
	}
	fd = -1; /* the bufferevent's now */
	bufferevent_setcb(c->bev, conn_on_read, conn_on_write, conn_on_event,
			  c);
	/* the input never holds much more than one message (slack lets
	 * the framer see the next message's start) */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
				 n->o.max_msg_bytes + NET_RX_SLACK_BYTES);
	c->drain_cb = evbuffer_add_cb(bufferevent_get_output(c->bev),
				      conn_on_drain, c);
	if (!c->drain_cb) {
		err = -ENOMEM;
		goto out;
	}
	c->id = n->next_id++;
out:
	if (err) {
		if (fd >= 0)
			close(fd);
		net_stream_free(c);
		return err;
	}
	*out = c;
	return 0;
}

void net_stream_accept(struct net *n, enum net_proto proto, int fd,
		       const struct sockaddr *sa, socklen_t len)
{
	struct net_addr peer;
	struct conn *c;

	if (net_addr_from_sa(&peer, sa, len)) {
		close(fd);
		return;
	}
	if (n->by_id.count >= n->o.max_flows) {
		/* refused at once: a flood of connections pins nothing */
		n->stats.rx_dropped++;
		net_debug("max_flows (%u) reached: connection refused",
			  n->o.max_flows);
		close(fd);
		return;
	}
	if (conn_new(&c, n, proto, fd, &peer, NULL, false))
		return;
	(void)net_addr_local(&c->local, bufferevent_getfd(c->bev));
	net_flow_insert(n, c);
	if (proto == NET_TLS) {
		/* a handshake is bounded like a message */
		c->msg_start_ms = c->last_io_ms;
	} else {
		c->is_established = true;
	}
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char text[NET_ADDR_TEXT_BYTES];

		net_addr_print(&peer, text, sizeof(text));
		net_debug("%s flow %llu accepted from %s",
			  net_proto_name(proto), (unsigned long long)c->id,
			  text);
	}
	conn_timer_arm(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

int net_stream_connect(struct conn **out, struct net *n, enum net_proto proto,
		       const struct net_addr *addr, const char *sni)
{
	struct conn *c;
	int fd, err;

	fd = socket(addr->ss.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = conn_new(&c, n, proto, fd, addr, sni, true);
	if (err)
		return err;
	/* nonblocking: completion or failure arrives as an event */
	errno = 0;
	if (bufferevent_socket_connect(c->bev,
				       (const struct sockaddr *)&addr->ss,
				       (int)addr->len)) {
		err = errno ? -errno : -ECONNREFUSED;
		net_stream_free(c);
		return err;
	}
	net_flow_insert(n, c);
	/* connect and handshake are bounded like a message */
	c->msg_start_ms = c->last_io_ms;
	conn_timer_arm(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char text[NET_ADDR_TEXT_BYTES];

		net_addr_print(addr, text, sizeof(text));
		net_debug("%s flow %llu connecting to %s",
			  net_proto_name(proto), (unsigned long long)c->id,
			  text);
	}
	*out = c;
	return 0;
}
