/* SPDX-License-Identifier: BSD-3-Clause */
/* Transport names and socket addresses: numeric IPv4 and IPv6 only (names
 * are resolved by the caller through RFC 3263, never here, so nothing
 * blocks the loop). */
#include "priv.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *net_proto_name(enum net_proto p)
{
	switch (p) {
	case NET_UDP:
		return "UDP";
	case NET_TCP:
		return "TCP";
	case NET_TLS:
		return "TLS";
	}
	return "?";
}

bool net_addr_valid(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return a->len == sizeof(struct sockaddr_in);
	if (a->ss.ss_family == AF_INET6)
		return a->len == sizeof(struct sockaddr_in6);
	return false;
}

void net_addr_print(const struct net_addr *a, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN];

	if (!out || !n)
		return;
	if (a && net_addr_valid(a) && a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&a->ss;

		if (inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip))) {
			snprintf(out, n, "%s:%u", ip, ntohs(s->sin_port));
			return;
		}
	} else if (a && net_addr_valid(a)) {
		const struct sockaddr_in6 *s = (const void *)&a->ss;

		if (inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip))) {
			snprintf(out, n, "[%s]:%u", ip, ntohs(s->sin6_port));
			return;
		}
	}
	snprintf(out, n, "?");
}

/* "%<ifname>" or "%<index>" after a link-local IPv6 address. */
static int scope_parse(const char *s, uint32_t *out)
{
	uint32_t v;
	unsigned idx;

	if (!*s)
		return -EINVAL;
	if (!slice_u32(slice_cstr(s), UINT32_MAX, &v)) {
		*out = v;
		return 0;
	}
	idx = if_nametoindex(s);
	if (!idx)
		return -EINVAL;
	*out = idx;
	return 0;
}

int net_addr_parse(const char *host, uint16_t port, struct net_addr *out)
{
	char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	struct net_addr a;
	size_t len;
	bool is_bracketed;

	if (!host || !out)
		return -EINVAL;
	len = strlen(host);
	is_bracketed = len >= 2 && host[0] == '[' && host[len - 1] == ']';
	if (is_bracketed) {
		host++;
		len -= 2;
	}
	if (!len || len >= sizeof(text))
		return -EINVAL;
	memcpy(text, host, len);
	text[len] = '\0';

	memset(&a, 0, sizeof(a));
	if (!is_bracketed) {
		struct sockaddr_in *s = (void *)&a.ss;

		if (inet_pton(AF_INET, text, &s->sin_addr) == 1) {
			s->sin_family = AF_INET;
			s->sin_port = htons(port);
			a.len = sizeof(*s);
			*out = a;
			return 0;
		}
	}
	{
		struct sockaddr_in6 *s = (void *)&a.ss;
		char *pct = memchr(text, '%', len);

		if (pct) {
			*pct = '\0';
			if (scope_parse(pct + 1, &s->sin6_scope_id))
				return -EINVAL;
		}
		if (inet_pton(AF_INET6, text, &s->sin6_addr) != 1)
			return -EINVAL;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		a.len = sizeof(*s);
	}
	*out = a;
	return 0;
}

uint16_t net_addr_port(const struct net_addr *a)
{
	if (!a || !net_addr_valid(a))
		return 0;
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)&a->ss)
				     ->sin_port);
	return ntohs(
		((const struct sockaddr_in6 *)(const void *)&a->ss)->sin6_port);
}

bool net_addr_is_any(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&a->ss;

		return s->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)&a->ss;

		return IN6_IS_ADDR_UNSPECIFIED(&s->sin6_addr);
	}
	return false;
}

/* Family, address, port (and IPv6 scope): never the padding, which
 * recvmsg() and accept() do not promise to clear. */
bool net_addr_eq(const struct net_addr *a, const struct net_addr *b)
{
	if (!net_addr_valid(a) || !net_addr_valid(b) ||
	    a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss;
		const struct sockaddr_in *y = (const void *)&b->ss;

		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	{
		const struct sockaddr_in6 *x = (const void *)&a->ss;
		const struct sockaddr_in6 *y = (const void *)&b->ss;

		return x->sin6_port == y->sin6_port &&
		       x->sin6_scope_id == y->sin6_scope_id &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr,
			       sizeof(x->sin6_addr));
	}
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

uint64_t net_addr_hash(const struct net_addr *a)
{
	uint64_t h = 14695981039346656037ull;

	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&a->ss;

		h = fnv1a(h, &s->sin_addr, sizeof(s->sin_addr));
		return fnv1a(h, &s->sin_port, sizeof(s->sin_port));
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)&a->ss;

		h = fnv1a(h, &s->sin6_addr, sizeof(s->sin6_addr));
		return fnv1a(h, &s->sin6_port, sizeof(s->sin6_port));
	}
	return h;
}

int net_addr_from_sa(struct net_addr *out, const struct sockaddr *sa,
		     socklen_t len)
{
	struct net_addr a;

	if (!sa || len > (socklen_t)sizeof(a.ss))
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	memcpy(&a.ss, sa, len);
	a.len = len;
	if (!net_addr_valid(&a))
		return -EINVAL;
	*out = a;
	return 0;
}

int net_addr_local(struct net_addr *out, int fd)
{
	struct net_addr a;

	memset(&a, 0, sizeof(a));
	a.len = sizeof(a.ss);
	if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len))
		return -errno;
	if (!net_addr_valid(&a))
		return -EAFNOSUPPORT;
	*out = a;
	return 0;
}
