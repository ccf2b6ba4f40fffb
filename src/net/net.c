/* SPDX-License-Identifier: BSD-3-Clause */
/* The net object: options and limits, the flow table (by id, and by peer
 * address for connection reuse), deferred freeing of closed flows, and
 * net_send()'s choice of flow (RFC 3261 §18.1.1, §18.2.2). */
#include "priv.h"

#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>

enum { MAP_MIN_BUCKETS = 64 };

/* ---- the two chained hash maps ------------------------------------------ */

static int map_init(struct conn_map *m)
{
	m->buckets = mem_zalloc(MAP_MIN_BUCKETS * sizeof(*m->buckets));
	if (!m->buckets)
		return -ENOMEM;
	m->n_buckets = MAP_MIN_BUCKETS;
	m->count = 0;
	return 0;
}

/* Ids count up, so their low bits spread them evenly already. */
static size_t id_slot(const struct conn_map *m, net_flow_id id)
{
	return (size_t)(id & (m->n_buckets - 1));
}

static size_t addr_slot(const struct conn_map *m, enum net_proto proto,
			const struct net_addr *a)
{
	uint64_t h =
		net_addr_hash(a) ^ ((uint64_t)proto * 0x9e3779b97f4a7c15ull);

	return (size_t)((h ^ (h >> 29)) & (m->n_buckets - 1));
}

/* Double the buckets when the chains grow past one entry on average; on
 * ENOMEM keep the longer chains, which are slower but still correct. */
static void map_grow(struct conn_map *m, bool by_addr)
{
	struct conn_map bigger;
	size_t n = m->n_buckets * 2;

	if (m->count < m->n_buckets)
		return;
	bigger.buckets = mem_zalloc(n * sizeof(*bigger.buckets));
	if (!bigger.buckets)
		return;
	bigger.n_buckets = n;
	bigger.count = m->count;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct conn *c = m->buckets[i], *next;

		for (; c; c = next) {
			size_t s;

			if (by_addr) {
				next = c->addr_next;
				s = addr_slot(&bigger, c->proto, &c->peer);
				c->addr_next = bigger.buckets[s];
			} else {
				next = c->id_next;
				s = id_slot(&bigger, c->id);
				c->id_next = bigger.buckets[s];
			}
			bigger.buckets[s] = c;
		}
	}
	mem_free(m->buckets);
	*m = bigger;
}

void net_flow_insert(struct net *n, struct conn *c)
{
	size_t s;

	map_grow(&n->by_id, false);
	s = id_slot(&n->by_id, c->id);
	c->id_next = n->by_id.buckets[s];
	n->by_id.buckets[s] = c;
	n->by_id.count++;

	map_grow(&n->by_addr, true);
	s = addr_slot(&n->by_addr, c->proto, &c->peer);
	c->addr_next = n->by_addr.buckets[s];
	n->by_addr.buckets[s] = c;
	n->by_addr.count++;
}

struct conn *net_flow_find(const struct net *n, net_flow_id id)
{
	struct conn *c;

	for (c = n->by_id.buckets[id_slot(&n->by_id, id)]; c; c = c->id_next)
		if (c->id == id)
			return c;
	return NULL;
}

static bool sni_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcasecmp(a, b);
}

/* TCP reuses any live flow to the address, incoming ones too (a client
 * behind NAT is reachable only over the flow it opened, RFC 5626 §5).
 * TLS reuses only flows we opened for the same server name: a flow that
 * authenticated one domain must not carry another's traffic (RFC 5922). */
struct conn *net_flow_find_addr(const struct net *n, enum net_proto proto,
				const struct net_addr *addr, const char *sni)
{
	struct conn *c =
		n->by_addr.buckets[addr_slot(&n->by_addr, proto, addr)];

	for (; c; c = c->addr_next) {
		if (c->proto != proto || c->state >= CONN_DRAINING ||
		    !net_addr_eq(&c->peer, addr))
			continue;
		if (proto == NET_TLS &&
		    (!c->is_outgoing || !sni_eq(c->sni, sni)))
			continue;
		return c;
	}
	return NULL;
}

void net_flow_remove(struct net *n, struct conn *c)
{
	struct conn **pp;

	pp = &n->by_id.buckets[id_slot(&n->by_id, c->id)];
	for (; *pp; pp = &(*pp)->id_next)
		if (*pp == c) {
			*pp = c->id_next;
			n->by_id.count--;
			break;
		}
	pp = &n->by_addr.buckets[addr_slot(&n->by_addr, c->proto, &c->peer)];
	for (; *pp; pp = &(*pp)->addr_next)
		if (*pp == c) {
			*pp = c->addr_next;
			n->by_addr.count--;
			break;
		}
}

/* ---- deferred free (STYLE.md B4: close is deferred) --------------------- */

/* Runs as its own event after the callbacks of the turn that closed the
 * flows, so no callback ever returns into a freed connection. */
static void net_on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct net *n = arg;
	struct conn *c;

	(void)fd;
	(void)what;
	while ((c = n->dead_head)) {
		net_flow_id id = c->id;

		n->dead_head = c->dead_next;
		if (!n->dead_head)
			n->dead_tail = NULL;
		net_stream_free(c);
		if (n->o.on_closed)
			n->o.on_closed(n->o.arg, id);
	}
}

void net_flow_reap_later(struct net *n, struct conn *c)
{
	c->dead_next = NULL;
	if (n->dead_tail)
		n->dead_tail->dead_next = c;
	else
		n->dead_head = c;
	n->dead_tail = c;
	event_active(n->reap_ev, EV_TIMEOUT, 0);
}

/* ---- the net object ------------------------------------------------------ */

int net_new(struct net **out, const struct net_opts *o)
{
	struct net *n;
	int err;

	if (!out || !o || !o->base || !o->on_rx ||
	    o->max_msg_bytes > NET_MAX_MSG_BYTES_LIMIT)
		return -EINVAL;
	n = mem_zalloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->o = *o;
	if (!n->o.max_msg_bytes)
		n->o.max_msg_bytes = SIP_MAX_MSG_BYTES;
	if (!n->o.max_flows)
		n->o.max_flows = NET_DEFAULT_MAX_FLOWS;
	if (!n->o.idle_timeout_s)
		n->o.idle_timeout_s = NET_DEFAULT_IDLE_S;
	if (!n->o.msg_timeout_s)
		n->o.msg_timeout_s = NET_DEFAULT_MSG_S;
	n->idle_ms = (uint64_t)n->o.idle_timeout_s * 1000u;
	n->msg_ms = (uint64_t)n->o.msg_timeout_s * 1000u;
	n->tx_cap_bytes = n->o.max_msg_bytes * NET_TX_QUEUE_MSGS;
	n->next_id = 1;
	/* one datagram never exceeds 64 KiB, whatever the message cap */
	n->udp_buf_bytes = n->o.max_msg_bytes < NET_UDP_MAX_DGRAM_BYTES
				   ? n->o.max_msg_bytes
				   : NET_UDP_MAX_DGRAM_BYTES;
	n->udp_buf = mem_alloc(n->udp_buf_bytes);
	if (!n->udp_buf) {
		err = -ENOMEM;
		goto out;
	}
	err = map_init(&n->by_id);
	if (!err)
		err = map_init(&n->by_addr);
	if (err)
		goto out;
	n->reap_ev = event_new(o->base, -1, 0, net_on_reap, n);
	if (!n->reap_ev) {
		err = -ENOMEM;
		goto out;
	}
	/* the contexts are shared with the caller, who may free theirs */
	if (n->o.tls_server_ctx)
		SSL_CTX_up_ref(n->o.tls_server_ctx);
	if (n->o.tls_client_ctx)
		SSL_CTX_up_ref(n->o.tls_client_ctx);
out:
	if (err) {
		mem_free(n->by_addr.buckets);
		mem_free(n->by_id.buckets);
		mem_free(n->udp_buf);
		mem_free(n);
		return err;
	}
	*out = n;
	return 0;
}

void net_free(struct net *n)
{
	struct udp_sock *s;
	struct conn *c;

	if (!n)
		return;
	net_stop_listening(n);
	for (size_t i = 0; i < n->by_id.n_buckets; i++)
		while ((c = n->by_id.buckets[i])) {
			n->by_id.buckets[i] = c->id_next;
			net_stream_free(c);
		}
	while ((c = n->dead_head)) {
		n->dead_head = c->dead_next;
		net_stream_free(c);
	}
	while ((s = n->udp)) {
		n->udp = s->next;
		net_udp_free(s);
	}
	event_free(n->reap_ev);
	SSL_CTX_free(n->o.tls_server_ctx);
	SSL_CTX_free(n->o.tls_client_ctx);
	mem_free(n->by_addr.buckets);
	mem_free(n->by_id.buckets);
	mem_free(n->udp_buf);
	mem_free(n);
}

/* ---- sending ------------------------------------------------------------- */

static int send_udp(struct net *n, struct udp_sock *s, const struct net_dest *d,
		    const void *data, size_t len, net_flow_id *used)
{
	int err;

	/* RFC 3261 §18.1.1: larger messages go over a congestion-controlled
	 * transport; the caller chooses which */
	if (len > NET_UDP_MAX_SEND_BYTES)
		return -EMSGSIZE;
	if (!s || s->local.ss.ss_family != d->addr.ss.ss_family) {
		err = net_udp_for(&s, n, &d->addr);
		if (err)
			return err;
	}
	err = net_udp_send(s, &d->addr, data, len);
	if (!err && used)
		*used = s->id;
	return err;
}

static int send_stream(struct net *n, const struct net_dest *d,
		       const void *data, size_t len, net_flow_id *used)
{
	struct conn *c;
	bool is_new = false;
	int err;

	if (d->proto == NET_TLS && !n->o.tls_client_ctx)
		return -EINVAL;
	c = net_flow_find_addr(n, d->proto, &d->addr, d->sni);
	if (!c) {
		if (n->by_id.count >= n->o.max_flows) {
			net_debug("max_flows (%u) reached: no new connection",
				  n->o.max_flows);
			return -EMSGSIZE;
		}
		err = net_stream_connect(&c, n, d->proto, &d->addr, d->sni);
		if (err)
			return err;
		is_new = true;
	}
	err = net_stream_send(c, data, len);
	if (err) {
		if (is_new)
			net_stream_close(c, "first send failed");
		return err;
	}
	if (used)
		*used = c->id;
	return 0;
}

int net_send(struct net *n, const struct net_dest *d, const void *data,
	     size_t len, net_flow_id *used)
{
	bool has_addr;

	if (!n || !d || (!data && len))
		return -EINVAL;
	has_addr = d->addr.len != 0;
	if (has_addr && !net_addr_valid(&d->addr))
		return -EINVAL;
	if (d->flow) {
		struct conn *c = net_flow_find(n, d->flow);
		struct udp_sock *s;

		/* RFC 3261 §18.2.2: back over the connection the request
		 * came on, while it lives */
		if (c && c->state < CONN_DRAINING) {
			int err = net_stream_send(c, data, len);

			if (!err && used)
				*used = c->id;
			return err;
		}
		s = net_udp_find(n, d->flow);
		if (s) {
			if (!has_addr)
				return -EINVAL; /* a UDP flow has no peer */
			return send_udp(n, s, d, data, len, used);
		}
	}
	/* the flow is gone: §18.2.2 opens a new connection to the address
	 * the caller derived from Via received/rport or the target */
	if (!has_addr)
		return -ENOENT;
	switch (d->proto) {
	case NET_UDP:
		return send_udp(n, NULL, d, data, len, used);
	case NET_TCP:
	case NET_TLS:
		return send_stream(n, d, data, len, used);
	}
	return -EINVAL;
}

void net_flow_close(struct net *n, net_flow_id flow)
{
	struct conn *c;

	if (!n)
		return;
	c = net_flow_find(n, flow);
	if (c)
		net_stream_close_graceful(c);
}

bool net_flow_alive(const struct net *n, net_flow_id flow)
{
	const struct conn *c;

	if (!n || !flow)
		return false;
	c = net_flow_find(n, flow);
	if (c)
		return c->state < CONN_DRAINING;
	return net_udp_find(n, flow) != NULL;
}

void net_stats_get(const struct net *n, struct net_stats *out)
{
	if (!n || !out)
		return;
	*out = n->stats;
	out->flows = (unsigned)n->by_id.count;
}
