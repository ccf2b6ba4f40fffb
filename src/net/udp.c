/* SPDX-License-Identifier: BSD-3-Clause */
/* SIP over UDP (RFC 3261 §18): one datagram is one message, read in
 * batches per wake-up; keep-alives dropped; nothing over 1300 bytes sent
 * (RFC 3261 §18.1.1, checked in net.c). */
#include "priv.h"

#include <string.h>
#include <unistd.h>

enum { STUN_MAGIC_COOKIE = 0x2112a442 };

/* Keep-alives carry no message: empty datagrams, CRLFs (RFC 5626
 * §3.5.1's stream form, which some agents send over UDP too), the zero
 * bytes some NATed phones send, and STUN (RFC 5389 §6: first two bits
 * zero, magic cookie at offset 4), which RFC 5626 §4.4.2 uses on UDP. */
static bool udp_is_keepalive(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' &&
		    p[i] != '\t' && p[i] != '\0')
			break;
	if (i == len)
		return true;
	return len >= 20 && (p[0] & 0xc0) == 0 &&
	       ((uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		(uint32_t)p[6] << 8 | p[7]) == STUN_MAGIC_COOKIE;
}

/* The address a datagram was sent to, from IP_PKTINFO or IPV6_PKTINFO:
 * on a wildcard socket this is the local address the peer used. */
static void udp_local_from_cmsg(struct net_addr *local, struct msghdr *mh,
				uint16_t port)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
	     cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO &&
		    local->ss.ss_family == AF_INET) {
			struct in_pktinfo pi;
			struct sockaddr_in *s = (void *)&local->ss;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			s->sin_addr = pi.ipi_addr;
			s->sin_port = htons(port);
			return;
		}
		if (cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO &&
		    local->ss.ss_family == AF_INET6) {
			struct in6_pktinfo pi;
			struct sockaddr_in6 *s = (void *)&local->ss;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			s->sin6_addr = pi.ipi6_addr;
			s->sin6_port = htons(port);
			return;
		}
	}
}

/* Read up to NET_UDP_BATCH datagrams: enough to amortise the wake-up,
 * few enough that a flood on one socket cannot starve the others. */
static void udp_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct udp_sock *s = arg;
	struct net *n = s->net;

	(void)what;
	for (int i = 0; i < NET_UDP_BATCH && s->is_reading; i++) {
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
			struct cmsghdr align;
		} cbuf;
		struct net_rx rx = {.proto = NET_UDP, .flow = s->id};
		struct iovec iov = {n->udp_buf, n->udp_buf_bytes};
		struct msghdr mh = {
			.msg_name = &rx.peer.ss,
			.msg_namelen = sizeof(rx.peer.ss),
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf.buf,
			.msg_controllen = sizeof(cbuf.buf),
		};
		ssize_t got = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN: drained */
		}
		rx.peer.len = mh.msg_namelen;
		if (mh.msg_flags & MSG_TRUNC) {
			n->stats.rx_dropped++;
			net_debug("UDP flow %llu: max_msg_bytes (%zu) exceeded",
				  (unsigned long long)s->id, n->udp_buf_bytes);
			continue;
		}
		if (!net_addr_valid(&rx.peer) ||
		    udp_is_keepalive((const unsigned char *)n->udp_buf,
				     (size_t)got))
			continue;
		rx.local = s->local;
		if (s->is_wildcard)
			udp_local_from_cmsg(&rx.local, &mh,
					    net_addr_port(&s->local));
		rx.data = n->udp_buf;
		rx.len = (size_t)got;
		n->stats.rx_msgs++;
		n->o.on_rx(n->o.arg, &rx);
	}
}

/* A receive buffer of NET_UDP_RCVBUF_BYTES: beyond net.core.rmem_max
 * when the process may (CAP_NET_ADMIN), else as far as rmem_max lets.
 * Best effort: the default buffer still works, it just overflows
 * sooner under load. */
static void udp_grow_rcvbuf(int fd)
{
	int want = NET_UDP_RCVBUF_BYTES;

#ifdef SO_RCVBUFFORCE
	if (!setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)))
		return;
#endif
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want)))
		net_debug("UDP receive buffer of %d bytes refused: %s", want,
			  strerror(errno));
}

int net_udp_open(struct udp_sock **out, struct net *n,
		 const struct net_addr *bind_addr)
{
	struct udp_sock *s;
	int one = 1, fd, err;

	fd = net_listen_socket(bind_addr, SOCK_DGRAM);
	if (fd < 0)
		return fd;
	udp_grow_rcvbuf(fd);
	s = mem_zalloc(sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->net = n;
	s->fd = fd;
	s->is_wildcard = net_addr_is_any(bind_addr);
	err = net_addr_local(&s->local, fd);
	if (err)
		goto out;
	if (s->is_wildcard &&
	    (bind_addr->ss.ss_family == AF_INET
		     ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))
		     : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
				  sizeof(one)))) {
		err = -errno;
		goto out;
	}
	s->ev = event_new(n->o.base, fd, EV_READ | EV_PERSIST, udp_on_read, s);
	if (!s->ev || event_add(s->ev, NULL)) {
		err = -ENOMEM;
		goto out;
	}
	s->is_reading = true;
	s->id = n->next_id++;
	s->next = n->udp;
	n->udp = s;
out:
	if (err) {
		net_udp_free(s);
		return err;
	}
	*out = s;
	return 0;
}

struct udp_sock *net_udp_find(const struct net *n, net_flow_id id)
{
	for (struct udp_sock *s = n->udp; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

int net_udp_for(struct udp_sock **out, struct net *n, const struct net_addr *to)
{
	struct net_addr any;

	for (struct udp_sock *s = n->udp; s; s = s->next)
		if (s->local.ss.ss_family == to->ss.ss_family) {
			*out = s;
			return 0;
		}
	/* a user agent without a listener still sends and hears replies */
	if (net_addr_parse(to->ss.ss_family == AF_INET ? "0.0.0.0" : "::", 0,
			   &any))
		return -EINVAL;
	return net_udp_open(out, n, &any);
}

int net_udp_send(struct udp_sock *s, const struct net_addr *to,
		 const void *data, size_t len)
{
	ssize_t sent;

	do
		sent = sendto(s->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			      (const struct sockaddr *)&to->ss, to->len);
	while (sent < 0 && errno == EINTR);
	if (sent >= 0)
		return 0;
	/* a full socket buffer loses the datagram like the network would;
	 * UDP transactions retransmit (RFC 3261 §17.1.2.2) */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
		net_debug("UDP flow %llu: send buffer full, datagram lost",
			  (unsigned long long)s->id);
		return 0;
	}
	return -errno;
}

void net_udp_stop(struct udp_sock *s)
{
	if (s->is_reading && s->ev)
		event_del(s->ev);
	s->is_reading = false;
}

void net_udp_free(struct udp_sock *s)
{
	if (!s)
		return;
	if (s->ev)
		event_free(s->ev);
	if (s->fd >= 0)
		close(s->fd);
	mem_free(s);
}
