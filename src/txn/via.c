/* SPDX-License-Identifier: BSD-3-Clause */
/* The top Via of what we answer: received and rport (RFC 3261 §18.2.1,
 * RFC 3581 §4) and where the response goes (RFC 3261 §18.2.2). */
#include "txn_int.h"

#include <arpa/inet.h>
#include <string.h>

void txn_addr_host(const struct net_addr *a, char *out, size_t n)
{
	const struct sockaddr_in *v4 = (const void *)&a->ss;
	const struct sockaddr_in6 *v6 = (const void *)&a->ss;

	if (!n)
		return;
	out[0] = '\0';
	if (a->ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &v4->sin_addr, out, (socklen_t)n);
	} else if (a->ss.ss_family == AF_INET6) {
		/* a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d;
		 * the Via the peer wrote has the IPv4 form */
		if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr))
			inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], out,
				  (socklen_t)n);
		else
			inet_ntop(AF_INET6, &v6->sin6_addr, out, (socklen_t)n);
	}
}

uint16_t txn_addr_port(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)&a->ss)
				     ->sin_port);
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)&a->ss)
				     ->sin6_port);
	return 0;
}

void txn_addr_set_port(struct net_addr *a, uint16_t port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)(void *)&a->ss)->sin_port = htons(port);
	else if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)&a->ss)->sin6_port =
			htons(port);
}

bool txn_addr_is_unspecified(const struct net_addr *a)
{
	const struct sockaddr_in *v4 = (const void *)&a->ss;
	const struct sockaddr_in6 *v6 = (const void *)&a->ss;

	if (a->ss.ss_family == AF_INET)
		return v4->sin_addr.s_addr == htonl(INADDR_ANY);
	if (a->ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr);
	return true;
}

/* Is the sent-by host the address the packet came from? Only literal
 * addresses can be; a name never is (§18.2.1 compares, it does not
 * resolve). */
static bool host_is_source(const struct sip_via *via,
			   const struct net_addr *src)
{
	char host[64], ip[INET6_ADDRSTRLEN];
	struct slice h = via->host;
	unsigned char a[16], b[16];
	int af;

	if (via->host_type == SIP_HOST_IPV6 && h.len >= 2) {
		h.p++;
		h.len -= 2;
		af = AF_INET6;
	} else if (via->host_type == SIP_HOST_IPV4) {
		af = AF_INET;
	} else {
		return false;
	}
	if (h.len >= sizeof(host))
		return false;
	memcpy(host, h.p, h.len);
	host[h.len] = '\0';
	txn_addr_host(src, ip, sizeof(ip));
	if (inet_pton(af, host, a) != 1 || inet_pton(af, ip, b) != 1)
		return false;
	return !memcmp(a, b, af == AF_INET ? 4 : 16);
}

int txn_via_stamp(struct buf *out, struct slice via_parm,
		  const struct net_addr *src, bool *is_parsed)
{
	char host[INET6_ADDRSTRLEN];
	struct sip_via via;
	struct slice name, value;
	struct scan s;
	const char *end;

	txn_addr_host(src, host, sizeof(host));
	if (sip_via_parse(via_parm, &via)) {
		/* a Via we cannot read: say where it really came from, and
		 * the caller answers straight to the source */
		*is_parsed = false;
		buf_append_slice(out, via_parm);
		return buf_printf(out, ";received=%s", host);
	}
	*is_parsed = true;
	/* RFC 3581 §4: with rport, received is added even when equal */
	if (!via.has_rport && host_is_source(&via, src))
		return buf_append_slice(out, via_parm);
	end = via.params.len ? via.params.p : via_parm.p + via_parm.len;
	buf_append(out, via_parm.p, (size_t)(end - via_parm.p));
	/* keep every parameter as written but received and rport, which
	 * take our values */
	s = scan_of(via.params);
	for (;;) {
		const char *at = s.p;

		if (sip_param_next(&s, &name, &value))
			break;
		if (slice_caseeq_cstr(name, "received"))
			continue;
		if (slice_caseeq_cstr(name, "rport"))
			buf_printf(out, ";rport=%u", txn_addr_port(src));
		else
			buf_append(out, at, (size_t)(s.p - at));
	}
	return buf_printf(out, ";received=%s", host);
}

void txn_response_dest(const struct sip_via *via, const struct net_rx *rx,
		       struct net_dest *out)
{
	uint16_t port;

	memset(out, 0, sizeof(*out));
	out->proto = rx->proto;
	out->flow = rx->flow;
	out->addr = rx->peer;
	if (!via)
		return;
	if (rx->proto == NET_UDP) {
		/* RFC 3581 §4: to the source port; RFC 3261 §18.2.2: else to
		 * the received address at the sent-by port. A maddr (a
		 * multicast answer) is not honoured: sipcert does not
		 * answer into groups. */
		if (via->has_rport)
			return;
		port = via->has_port && via->port ? via->port : 5060;
	} else {
		/* streams go back over the flow; should it be gone, net
		 * opens one to the received address at the sent-by port */
		port = via->has_port && via->port ? via->port
		       : rx->proto == NET_TLS	  ? 5061
						  : 5060;
	}
	txn_addr_set_port(&out->addr, port);
}

int txn_reply_restamp(struct buf *b, const char *top_via)
{
	const char *p, *end, *eol, *lf;
	struct slice elem;
	struct scan s;
	struct buf nb;

	if (b->err)
		return b->err;
	/* sip_out_reply_start writes the status line, then "Via: " */
	end = b->p + b->len;
	lf = memchr(b->p, '\n', b->len);
	if (!lf || end - (lf + 1) < 5 || memcmp(lf + 1, "Via: ", 5)) {
		b->err = -EINVAL;
		return b->err;
	}
	p = lf + 6;
	eol = memchr(p, '\r', (size_t)(end - p));
	if (!eol)
		eol = end;
	s = scan_of(slice_of(p, (size_t)(eol - p)));
	if (sip_list_next(&s, &elem))
		elem = slice_of(p, (size_t)(eol - p));
	buf_init(&nb, b->max);
	buf_append(&nb, b->p, (size_t)(elem.p - b->p));
	buf_append_cstr(&nb, top_via);
	buf_append(&nb, elem.p + elem.len, (size_t)(end - (elem.p + elem.len)));
	if (nb.err) {
		b->err = nb.err;
		buf_fini(&nb);
		return b->err;
	}
	buf_fini(b);
	*b = nb;
	return 0;
}
