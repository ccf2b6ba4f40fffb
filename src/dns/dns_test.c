/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of dns against a small authoritative responder run in the test on
 * the same loop: RFC 3263 §4 (NAPTR, SRV, A/AAAA, default ports), RFC 2782
 * order, the _certificates._tcp fallback, overrides, errors, cancel. */
#include "dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/loop.h"
#include "test.h"

/* ---- a canned zone and the responder that serves it ------------------ */

enum {
	T_A = 1,
	T_AAAA = 28,
	T_SRV = 33,
	T_NAPTR = 35,
	TDNS_MAX_SEEN = 64,
	TDNS_NAME_BYTES = 256,
};

struct trr {
	const char *name;
	int type;
	const char *data; /* A/AAAA: the address; SRV, NAPTR: the target */
	uint16_t a, b;	  /* SRV: priority, weight; NAPTR: order, pref */
	uint16_t port;	  /* SRV */
	const char *flags, *service;
	bool is_broken; /* the RDATA cut short */
};

/* clang-format off */
#define RR_A(n, ip)    {.name = n, .type = T_A, .data = ip}
#define RR_AAAA(n, ip) {.name = n, .type = T_AAAA, .data = ip}
#define RR_SRV(n, pri, w, pt, t) \
	{.name = n, .type = T_SRV, .data = t, .a = pri, .b = w, .port = pt}
#define RR_NAPTR(n, o, p, f, s, t) \
	{.name = n, .type = T_NAPTR, .data = t, .a = o, .b = p, \
	 .flags = f, .service = s}
/* clang-format on */

struct tdns_seen {
	char name[TDNS_NAME_BYTES];
	int type;
};

struct tdns {
	int fd;
	uint16_t port;
	struct event *ev;
	const struct trr *zone;
	size_t n_zone;
	bool is_silent; /* read queries, never answer */
	size_t cut;	/* > 0: send only this many bytes of each answer */
	int n_queries;
	struct tdns_seen seen[TDNS_MAX_SEEN];
};

struct wbuf {
	unsigned char p[1500];
	size_t len;
	bool is_full;
};

static void w_bytes(struct wbuf *w, const void *p, size_t n)
{
	if (w->is_full || n > sizeof(w->p) - w->len) {
		w->is_full = true;
		return;
	}
	memcpy(w->p + w->len, p, n);
	w->len += n;
}

static void w_u16(struct wbuf *w, unsigned v)
{
	unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};

	w_bytes(w, b, 2);
}

static void w_u32(struct wbuf *w, uint32_t v)
{
	w_u16(w, v >> 16);
	w_u16(w, v & 0xffff);
}

/* RFC 1035 §3.1: a name as labels, uncompressed; "." or "" is the root */
static void w_name(struct wbuf *w, const char *name)
{
	const char *p = name;

	while (*p && strcmp(p, ".")) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		unsigned char len = (unsigned char)n;

		w_bytes(w, &len, 1);
		w_bytes(w, p, n);
		p += n;
		if (*p)
			p++;
	}
	w_bytes(w, "", 1);
}

static void w_cstring(struct wbuf *w, const char *s)
{
	unsigned char len = (unsigned char)strlen(s);

	w_bytes(w, &len, 1);
	w_bytes(w, s, len);
}

/* The RDATA of one record (RFC 1035 §3.4.1, RFC 3596, RFC 2782, RFC
 * 3403 §4.1). */
static void w_rdata(struct wbuf *w, const struct trr *rr)
{
	switch (rr->type) {
	case T_A: {
		struct in_addr a;

		(void)inet_pton(AF_INET, rr->data, &a);
		w_bytes(w, &a, sizeof(a));
		break;
	}
	case T_AAAA: {
		struct in6_addr a;

		(void)inet_pton(AF_INET6, rr->data, &a);
		w_bytes(w, &a, sizeof(a));
		break;
	}
	case T_SRV:
		w_u16(w, rr->a);
		w_u16(w, rr->b);
		w_u16(w, rr->port);
		w_name(w, rr->data);
		break;
	case T_NAPTR:
		w_u16(w, rr->a);
		w_u16(w, rr->b);
		w_cstring(w, rr->flags);
		w_cstring(w, rr->service);
		w_cstring(w, "");
		w_name(w, rr->data);
		break;
	}
}

/* The question's name as dotted text; the offset past the question, or
 * 0 when it is not one plain name with type and class. */
static size_t q_parse(const unsigned char *p, size_t len, char *name, int *type)
{
	size_t off = 12, out = 0;

	for (;;) {
		size_t n;

		if (off >= len)
			return 0;
		n = p[off++];
		if (!n)
			break;
		if (n > 63 || off + n > len || out + n + 2 > TDNS_NAME_BYTES)
			return 0;
		if (out)
			name[out++] = '.';
		memcpy(name + out, p + off, n);
		out += n;
		off += n;
	}
	name[out] = '\0';
	if (off + 4 > len)
		return 0;
	*type = p[off] << 8 | p[off + 1];
	return off + 4;
}

static void tdns_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct tdns *s = arg;
	unsigned char in[1500];
	struct sockaddr_storage peer;
	socklen_t peer_len = sizeof(peer);
	char name[TDNS_NAME_BYTES];
	struct wbuf w = {.len = 0};
	bool is_known = false;
	size_t q_end, n_ans = 0;
	ssize_t got;
	int type;

	(void)what;
	got = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&peer,
		       &peer_len);
	if (got < 12)
		return;
	q_end = q_parse(in, (size_t)got, name, &type);
	if (!q_end)
		return;
	if (s->n_queries < TDNS_MAX_SEEN) {
		memcpy(s->seen[s->n_queries].name, name, sizeof(name));
		s->seen[s->n_queries].type = type;
	}
	s->n_queries++;
	if (s->is_silent)
		return;

	for (size_t i = 0; i < s->n_zone; i++) {
		if (strcasecmp(s->zone[i].name, name))
			continue;
		is_known = true;
		if (s->zone[i].type == type)
			n_ans++;
	}
	/* header: the query's id, QR AA RD(copied), RCODE NXDOMAIN for an
	 * unknown name (RFC 1035 §4.1.1) */
	w_bytes(&w, in, 2);
	w_u16(&w, 0x8400 | (in[2] & 0x01) << 8 | (is_known ? 0 : 3));
	w_u16(&w, 1);
	w_u16(&w, (unsigned)n_ans);
	w_u16(&w, 0);
	w_u16(&w, 0);
	w_bytes(&w, in + 12, q_end - 12);
	for (size_t i = 0; i < s->n_zone; i++) {
		const struct trr *rr = &s->zone[i];
		struct wbuf rd = {.len = 0};

		if (strcasecmp(rr->name, name) || rr->type != type)
			continue;
		w_rdata(&rd, rr);
		if (rr->is_broken)
			rd.len = rd.len > 3 ? 3 : rd.len;
		w_u16(&w, 0xc00c); /* the question's name */
		w_u16(&w, (unsigned)type);
		w_u16(&w, 1);
		w_u32(&w, 60);
		w_u16(&w, (unsigned)rd.len);
		w_bytes(&w, rd.p, rd.len);
	}
	if (w.is_full)
		return;
	if (s->cut && s->cut < w.len)
		w.len = s->cut;
	(void)sendto(fd, w.p, w.len, 0, (struct sockaddr *)&peer, peer_len);
}

/* On the loopback of family (AF_INET or AF_INET6), an ephemeral port. */
static int tdns_start(struct tdns *s, struct event_base *base, int family,
		      const struct trr *zone, size_t n_zone)
{
	struct net_addr a;
	int err;

	memset(s, 0, sizeof(*s));
	s->zone = zone;
	s->n_zone = n_zone;
	err = net_addr_parse(family == AF_INET ? "127.0.0.1" : "::1", 0, &a);
	if (err)
		return err;
	s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return -errno;
	if (bind(s->fd, (struct sockaddr *)&a.ss, a.len) ||
	    getsockname(s->fd, (struct sockaddr *)&a.ss, &a.len)) {
		err = -errno;
		close(s->fd);
		s->fd = -1;
		return err;
	}
	s->port = net_addr_port(&a);
	s->ev = event_new(base, s->fd, EV_READ | EV_PERSIST, tdns_on_read, s);
	if (!s->ev || event_add(s->ev, NULL)) {
		close(s->fd);
		return -ENOMEM;
	}
	return 0;
}

static void tdns_stop(struct tdns *s)
{
	if (s->ev)
		event_free(s->ev);
	s->ev = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static int tdns_asked(const struct tdns *s, int type)
{
	int n = 0;

	for (int i = 0; i < s->n_queries && i < TDNS_MAX_SEEN; i++)
		n += s->seen[i].type == type;
	return n;
}

static bool tdns_asked_name(const struct tdns *s, const char *name)
{
	for (int i = 0; i < s->n_queries && i < TDNS_MAX_SEEN; i++)
		if (!strcasecmp(s->seen[i].name, name))
			return true;
	return false;
}

/* ---- the resolver under test on the same loop ------------------------ */

struct tctx {
	struct event_base *base;
	struct dns *d;
	struct tdns srv;
	int n_calls;
	int err;
	struct dns_target t[16];
	size_t n;
	bool free_in_callback;
};

static void on_targets(void *arg, int err, const struct dns_target *t, size_t n)
{
	struct tctx *c = arg;

	c->n_calls++;
	c->err = err;
	c->n = n < ARRAY_SIZE(c->t) ? n : ARRAY_SIZE(c->t);
	if (c->n)
		memcpy(c->t, t, c->n * sizeof(*t));
	if (c->free_in_callback) {
		dns_free(c->d);
		c->d = NULL;
	}
}

static int tctx_init_family(struct tctx *c, int family, const struct trr *zone,
			    size_t n_zone, unsigned timeout_ms, unsigned tries)
{
	char servers[64];
	int err;

	memset(c, 0, sizeof(*c));
	c->srv.fd = -1;
	c->base = event_base_new();
	if (!c->base)
		return -ENOMEM;
	err = tdns_start(&c->srv, c->base, family, zone, n_zone);
	if (err)
		return err;
	snprintf(servers, sizeof(servers),
		 family == AF_INET ? "127.0.0.1:%u" : "[::1]:%u", c->srv.port);
	return dns_new(&c->d, &(struct dns_opts){
				      .base = c->base,
				      .servers = servers,
				      .timeout_ms = timeout_ms,
				      .tries = tries,
			      });
}

static int tctx_init_opts(struct tctx *c, const struct trr *zone, size_t n_zone,
			  unsigned timeout_ms, unsigned tries)
{
	return tctx_init_family(c, AF_INET, zone, n_zone, timeout_ms, tries);
}

static int tctx_init(struct tctx *c, const struct trr *zone, size_t n_zone)
{
	return tctx_init_opts(c, zone, n_zone, 1000, 2);
}

static void tctx_fini(struct tctx *c)
{
	dns_free(c->d);
	c->d = NULL;
	tdns_stop(&c->srv);
	if (c->base)
		event_base_free(c->base);
	c->base = NULL;
}

/* Run the loop in 5 ms turns for ms milliseconds, or until want calls. */
static void tctx_run(struct tctx *c, int want, unsigned ms)
{
	uint64_t until = loop_now_ms() + ms;
	struct timeval tick = {0, 5000};

	while (c->n_calls < want && loop_now_ms() < until) {
		event_base_loopexit(c->base, &tick);
		event_base_dispatch(c->base);
	}
}

/* One resolution to its answer: 0 when the callback ran exactly once,
 * and never inside the call. */
static int wait_answer(struct tctx *c, int rc)
{
	if (rc) {
		TEST_FAIL_AT("resolve returned %d", rc);
		return -1;
	}
	if (c->n_calls) {
		TEST_FAIL_AT("called back inside the resolve call");
		return -1;
	}
	tctx_run(c, 1, 5000);
	if (c->n_calls != 1) {
		TEST_FAIL_AT("%d callbacks", c->n_calls);
		return -1;
	}
	return 0;
}

static int sip(struct tctx *c, const char *host, uint16_t port, int proto,
	       bool sips)
{
	struct dns_sip_req r = {
		.host = host, .port = port, .proto = proto, .sips = sips};

	c->n_calls = 0;
	return wait_answer(c, dns_sip_resolve(c->d, &r, on_targets, c, NULL));
}

static int host(struct tctx *c, const char *name, uint16_t port)
{
	c->n_calls = 0;
	return wait_answer(
		c, dns_host_resolve(c->d, name, port, on_targets, c, NULL));
}

static int srv(struct tctx *c, const char *name, const char *fb_host,
	       uint16_t fb_port)
{
	c->n_calls = 0;
	return wait_answer(c, dns_srv_resolve(c->d, name, fb_host, fb_port,
					      on_targets, c, NULL));
}

/* t[i] is proto to addr ("192.0.2.1:5060") from host (NULL: any). */
static bool target_is(const struct tctx *c, size_t i, enum net_proto proto,
		      const char *addr, const char *from)
{
	char text[64];

	if (i >= c->n) {
		TEST_FAIL_AT("no target %zu (%zu targets)", i, c->n);
		return false;
	}
	net_addr_print(&c->t[i].addr, text, sizeof(text));
	if (c->t[i].proto != proto || strcmp(text, addr) ||
	    (from && strcmp(c->t[i].host, from))) {
		TEST_FAIL_AT("target %zu is %s %s from %s, expected %s %s "
			     "from %s",
			     i, net_proto_name(c->t[i].proto), text,
			     c->t[i].host, net_proto_name(proto), addr,
			     from ? from : "*");
		return false;
	}
	return true;
}

#define EXPECT_TARGET(c, i, proto, addr, from)                                 \
	do {                                                                   \
		if (!target_is(c, i, proto, addr, from))                       \
			goto out;                                              \
	} while (0)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			TEST_FAIL_AT("check failed: %s", #cond);               \
			goto out;                                              \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_) {                                                \
			TEST_FAIL_AT("%s == %lld, expected %lld", #a, a_, b_); \
			goto out;                                              \
		}                                                              \
	} while (0)

/* ---- tests ------------------------------------------------------------ */

TEST(dns_override_replaces_dns)
{
	struct tctx c;
	int rc = -1;

	CHECK(!tctx_init(&c, NULL, 0));
	CHECK(!dns_add_override(c.d, "SIP.Example.COM:5060:192.0.2.7"));
	/* a later spec for the same host and port wins */
	CHECK(!dns_add_override(c.d, "sip.example.com:5060:192.0.2.8"));
	CHECK(!dns_add_override(c.d, "sip.example.com:5061:[2001:db8::1]"));
	CHECK(!dns_add_override(c.d, "api.example.com:443:2001:db8::2"));
	CHECK(!dns_add_override(c.d, "other.example.com:5070:192.0.2.9"));

	/* the default port's override skips NAPTR and SRV */
	CHECK(!sip(&c, "sip.example.com.", 0, -1, false));
	CHECK_EQ(c.err, 0);
	CHECK_EQ(c.n, 1);
	EXPECT_TARGET(&c, 0, NET_UDP, "192.0.2.8:5060", "sip.example.com.");
	CHECK(!sip(&c, "Sip.Example.Com", 0, -1, true));
	CHECK_EQ(c.n, 1);
	EXPECT_TARGET(&c, 0, NET_TLS, "[2001:db8::1]:5061", NULL);
	CHECK(!host(&c, "api.example.com", 443));
	CHECK_EQ(c.n, 1);
	EXPECT_TARGET(&c, 0, NET_TCP, "[2001:db8::2]:443", "api.example.com");
	/* an explicit port reaches the override of that port */
	CHECK(!sip(&c, "other.example.com", 5070, NET_TCP, false));
	CHECK_EQ(c.n, 1);
	EXPECT_TARGET(&c, 0, NET_TCP, "192.0.2.9:5070", NULL);
	CHECK_EQ(c.srv.n_queries, 0);

	/* an override for another port does not stand for the lookup */
	CHECK(!sip(&c, "other.example.com", 0, -1, false));
	CHECK_EQ(c.err, -ENOENT);
	CHECK_EQ(tdns_asked(&c.srv, T_NAPTR), 1);
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_ip_literal)
{
	struct tctx c;
	int rc = -1;

	CHECK(!tctx_init(&c, NULL, 0));
	CHECK(!sip(&c, "192.0.2.1", 0, -1, false));
	CHECK_EQ(c.n, 1);
	EXPECT_TARGET(&c, 0, NET_UDP, "192.0.2.1:5060", "192.0.2.1");
	/* RFC 3263 §4.1: TCP (TLS) for SIPS, on 5061 */
	CHECK(!sip(&c, "[2001:db8::5]", 0, -1, true));
	CHECK_EQ(c.n, 1);
	EXPECT_TARGET(&c, 0, NET_TLS, "[2001:db8::5]:5061", "[2001:db8::5]");
	CHECK(!sip(&c, "192.0.2.1", 5070, NET_TCP, false));
	EXPECT_TARGET(&c, 0, NET_TCP, "192.0.2.1:5070", NULL);
	CHECK(!sip(&c, "192.0.2.1", 0, NET_TLS, false));
	EXPECT_TARGET(&c, 0, NET_TLS, "192.0.2.1:5061", NULL);
	CHECK(!host(&c, "::1", 8443));
	EXPECT_TARGET(&c, 0, NET_TCP, "[::1]:8443", NULL);
	/* RFC 6761 §6.3 */
	CHECK(!host(&c, "localhost", 80));
	CHECK_EQ(c.n, 2);
	EXPECT_TARGET(&c, 0, NET_TCP, "127.0.0.1:80", "localhost");
	EXPECT_TARGET(&c, 1, NET_TCP, "[::1]:80", "localhost");
	CHECK_EQ(c.srv.n_queries, 0);
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_explicit_port_asks_addresses_only)
{
	static const struct trr zone[] = {
		RR_AAAA("a.example.com", "2001:db8::10"),
		RR_A("a.example.com", "192.0.2.10"),
		RR_A("a.example.com", "192.0.2.11"),
	};
	struct tctx c;
	int rc = -1;

	CHECK(!tctx_init(&c, zone, ARRAY_SIZE(zone)));
	CHECK(!sip(&c, "a.example.com", 5080, NET_TCP, false));
	CHECK_EQ(c.err, 0);
	CHECK_EQ(c.n, 3);
	/* IPv4 first */
	EXPECT_TARGET(&c, 0, NET_TCP, "192.0.2.10:5080", "a.example.com");
	EXPECT_TARGET(&c, 1, NET_TCP, "192.0.2.11:5080", "a.example.com");
	EXPECT_TARGET(&c, 2, NET_TCP, "[2001:db8::10]:5080", NULL);
	/* RFC 3263 §4.1: an explicit port without transport is UDP */
	CHECK(!sip(&c, "a.example.com", 5080, -1, false));
	EXPECT_TARGET(&c, 0, NET_UDP, "192.0.2.10:5080", NULL);
	CHECK(!sip(&c, "a.example.com", 5081, -1, true));
	EXPECT_TARGET(&c, 0, NET_TLS, "192.0.2.10:5081", NULL);
	CHECK_EQ(tdns_asked(&c.srv, T_NAPTR), 0);
	CHECK_EQ(tdns_asked(&c.srv, T_SRV), 0);
	CHECK_EQ(tdns_asked(&c.srv, T_A), 3);
	CHECK_EQ(tdns_asked(&c.srv, T_AAAA), 3);
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_naptr_srv_a)
{
	static const struct trr zone[] = {
		RR_NAPTR("example.com", 20, 10, "s", "SIP+D2U",
			 "_sip._udp.example.com"),
		RR_NAPTR("example.com", 10, 20, "S", "sip+d2t",
			 "_sip._tcp.example.com"),
		RR_NAPTR("example.com", 10, 10, "s", "SIPS+D2T",
			 "_sips._tcp.example.com"),
		/* not ours: another flag, SCTP, no replacement */
		RR_NAPTR("example.com", 1, 10, "u", "E2U+sip", "."),
		RR_NAPTR("example.com", 1, 10, "s", "SIP+D2S",
			 "_sip._sctp.example.com"),
		RR_NAPTR("example.com", 1, 10, "", "SIP+D2U",
			 "_sip._udp.other.example"),
		RR_NAPTR("example.com", 1, 10, "sp", "SIP+D2U",
			 "_sip._udp.other.example"),
		RR_SRV("_sips._tcp.example.com", 0, 0, 5061, "tls.example.com"),
		RR_SRV("_sip._tcp.example.com", 0, 0, 5062, "tcp.example.com"),
		RR_SRV("_sip._udp.example.com", 0, 0, 5063, "udp.example.com"),
		RR_SRV("_sip._sctp.example.com", 0, 0, 5064, "x.example.com"),
		RR_A("tls.example.com", "192.0.2.1"),
		RR_A("tcp.example.com", "192.0.2.2"),
		RR_A("udp.example.com", "192.0.2.3"),
		RR_AAAA("udp.example.com", "2001:db8::3"),
	};
	struct tctx c;
	int rc = -1;

	CHECK(!tctx_init(&c, zone, ARRAY_SIZE(zone)));
	CHECK(!sip(&c, "example.com", 0, -1, false));
	CHECK_EQ(c.err, 0);
	CHECK_EQ(c.n, 4);
	/* NAPTR order, then preference */
	EXPECT_TARGET(&c, 0, NET_TLS, "192.0.2.1:5061", "tls.example.com");
	EXPECT_TARGET(&c, 1, NET_TCP, "192.0.2.2:5062", "tcp.example.com");
	EXPECT_TARGET(&c, 2, NET_UDP, "192.0.2.3:5063", "udp.example.com");
	EXPECT_TARGET(&c, 3, NET_UDP, "[2001:db8::3]:5063", NULL);
	CHECK(!tdns_asked_name(&c.srv, "_sip._sctp.example.com"));
	CHECK(!tdns_asked_name(&c.srv, "_sip._udp.other.example"));
	/* the three replacements, no SRV name of our own */
	CHECK_EQ(tdns_asked(&c.srv, T_SRV), 3);

	/* SIPS: only SIPS+D2T */
	CHECK(!sip(&c, "example.com", 0, -1, true));
	CHECK_EQ(c.n, 1);
	EXPECT_TARGET(&c, 0, NET_TLS, "192.0.2.1:5061", "tls.example.com");
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_srv_without_naptr)
{
	static const struct trr zone[] = {
		RR_SRV("_sip._udp.example.net", 0, 0, 5070, "sip.example.net"),
		RR_A("sip.example.net", "192.0.2.20"),
		/* NAPTR records none of which we can use */
		RR_NAPTR("example.org", 10, 10, "s", "SIP+D2S",
			 "_sip._sctp.example.org"),
		RR_SRV("_sip._tcp.example.org", 0, 0, 5071, "sip.example.org"),
		RR_A("sip.example.org", "192.0.2.21"),
	};
	struct tctx c;
	int rc = -1;

	CHECK(!tctx_init(&c, zone, ARRAY_SIZE(zone)));
	CHECK(!sip(&c, "example.net", 0, -1, false));
	CHECK_EQ(c.err, 0);
	CHECK_EQ(c.n, 1);
	EXPECT_TARGET(&c, 0, NET_UDP, "192.0.2.20:5070", "sip.example.net");
	/* RFC 3263 §4.1: one SRV query per transport */
	CHECK(tdns_asked_name(&c.srv, "_sips._tcp.example.net"));
	CHECK(tdns_asked_name(&c.srv, "_sip._tcp.example.net"));
	CHECK(tdns_asked_name(&c.srv, "_sip._udp.example.net"));

	CHECK(!sip(&c, "example.org", 0, -1, false));
	CHECK_EQ(c.n, 1);
	EXPECT_TARGET(&c, 0, NET_TCP, "192.0.2.21:5071", "sip.example.org");

	/* a transport parameter: only that transport's SRV */
	CHECK(!sip(&c, "example.net", 0, NET_TCP, false));
	CHECK_EQ(c.err, -ENOENT);
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_no_srv_uses_default_port)
{
	static const struct trr zone[] = {
		RR_AAAA("host.example.org", "2001:db8::30"),
		RR_A("host.example.org", "192.0.2.30"),
	};
	struct tctx c;
	int rc = -1;

	CHECK(!tctx_init(&c, zone, ARRAY_SIZE(zone)));
	CHECK(!sip(&c, "host.example.org", 0, -1, false));
	CHECK_EQ(c.err, 0);
	CHECK_EQ(c.n, 2);
	EXPECT_TARGET(&c, 0, NET_UDP, "192.0.2.30:5060", "host.example.org");
	EXPECT_TARGET(&c, 1, NET_UDP, "[2001:db8::30]:5060", NULL);
	CHECK_EQ(tdns_asked(&c.srv, T_NAPTR), 1);
	CHECK_EQ(tdns_asked(&c.srv, T_SRV), 3);

	CHECK(!sip(&c, "host.example.org", 0, -1, true));
	CHECK_EQ(c.n, 2);
	EXPECT_TARGET(&c, 0, NET_TLS, "192.0.2.30:5061", NULL);
	EXPECT_TARGET(&c, 1, NET_TLS, "[2001:db8::30]:5061", NULL);
	CHECK(!sip(&c, "host.example.org", 0, NET_TCP, false));
	EXPECT_TARGET(&c, 0, NET_TCP, "192.0.2.30:5060", NULL);
	CHECK(!sip(&c, "host.example.org", 0, NET_TLS, false));
	EXPECT_TARGET(&c, 0, NET_TLS, "192.0.2.30:5061", NULL);
	CHECK(tdns_asked_name(&c.srv, "_sips._tcp.host.example.org"));
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_srv_priority_and_weight)
{
	static const struct trr zone[] = {
		RR_SRV("_sip._tcp.prio.example", 20, 0, 5060, "b.prio.example"),
		RR_SRV("_sip._tcp.prio.example", 30, 9, 5060, "c.prio.example"),
		RR_SRV("_sip._tcp.prio.example", 10, 5, 5060, "a.prio.example"),
		RR_A("a.prio.example", "192.0.2.51"),
		RR_A("b.prio.example", "192.0.2.52"),
		RR_A("c.prio.example", "192.0.2.53"),
		/* weight 0 against a heavy one: almost never first */
		RR_SRV("_sip._tcp.w.example", 10, 0, 5060, "zero.w.example"),
		RR_SRV("_sip._tcp.w.example", 10, 60000, 5060,
		       "heavy.w.example"),
		RR_A("zero.w.example", "192.0.2.60"),
		RR_A("heavy.w.example", "192.0.2.61"),
		/* equal weights: either first */
		RR_SRV("_sip._tcp.eq.example", 10, 1, 5060, "x.eq.example"),
		RR_SRV("_sip._tcp.eq.example", 10, 1, 5060, "y.eq.example"),
		RR_A("x.eq.example", "192.0.2.70"),
		RR_A("y.eq.example", "192.0.2.71"),
	};
	struct tctx c;
	int rc = -1, heavy_first = 0, x_first = 0;

	CHECK(!tctx_init(&c, zone, ARRAY_SIZE(zone)));
	CHECK(!sip(&c, "prio.example", 0, NET_TCP, false));
	CHECK_EQ(c.n, 3);
	EXPECT_TARGET(&c, 0, NET_TCP, "192.0.2.51:5060", "a.prio.example");
	EXPECT_TARGET(&c, 1, NET_TCP, "192.0.2.52:5060", "b.prio.example");
	EXPECT_TARGET(&c, 2, NET_TCP, "192.0.2.53:5060", "c.prio.example");

	for (int i = 0; i < 40; i++) {
		CHECK(!sip(&c, "w.example", 0, NET_TCP, false));
		CHECK_EQ(c.n, 2);
		heavy_first += !strcmp(c.t[0].host, "heavy.w.example");
		CHECK(!sip(&c, "eq.example", 0, NET_TCP, false));
		CHECK_EQ(c.n, 2);
		x_first += !strcmp(c.t[0].host, "x.eq.example");
	}
	/* P(zero first) = 1/60001 each time; x first: 1/2 */
	CHECK(heavy_first >= 38);
	CHECK(x_first > 0 && x_first < 40);
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_certificates_srv_and_fallback)
{
	static const struct trr zone[] = {
		RR_SRV("_certificates._tcp.example.com", 0, 0, 8443,
		       "certs.example.com"),
		RR_A("certs.example.com", "192.0.2.40"),
		RR_A("certificates.example.org", "192.0.2.41"),
		RR_A("certificates.example.net", "192.0.2.42"),
		RR_SRV("_certificates._tcp.example.net", 0, 0, 0, "."),
	};
	struct tctx c;
	int rc = -1;

	CHECK(!tctx_init(&c, zone, ARRAY_SIZE(zone)));
	CHECK(!srv(&c, "_certificates._tcp.example.com",
		   "certificates.example.com", 443));
	CHECK_EQ(c.err, 0);
	CHECK_EQ(c.n, 1);
	EXPECT_TARGET(&c, 0, NET_TCP, "192.0.2.40:8443", "certs.example.com");
	CHECK(!tdns_asked_name(&c.srv, "certificates.example.com"));

	/* no SRV record: the fallback host and port */
	CHECK(!srv(&c, "_certificates._tcp.example.org",
		   "certificates.example.org", 443));
	CHECK_EQ(c.err, 0);
	CHECK_EQ(c.n, 1);
	EXPECT_TARGET(&c, 0, NET_TCP, "192.0.2.41:443",
		      "certificates.example.org");
	CHECK(!srv(&c, "_certificates._tcp.example.org", NULL, 0));
	CHECK_EQ(c.err, -ENOENT);
	/* RFC 2782: "." says the service is not there: no fallback */
	CHECK(!srv(&c, "_certificates._tcp.example.net",
		   "certificates.example.net", 443));
	CHECK_EQ(c.err, -ENOENT);
	CHECK(!tdns_asked_name(&c.srv, "certificates.example.net"));
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_nxdomain)
{
	static const struct trr zone[] = {
		RR_A("exists.example", "192.0.2.80"),
	};
	struct tctx c;
	int rc = -1;

	CHECK(!tctx_init(&c, zone, ARRAY_SIZE(zone)));
	CHECK(!sip(&c, "nowhere.example", 0, -1, false));
	CHECK_EQ(c.err, -ENOENT);
	CHECK_EQ(c.n, 0);
	CHECK(!host(&c, "nowhere.example", 443));
	CHECK_EQ(c.err, -ENOENT);
	/* the name exists without AAAA (NODATA): the A alone */
	CHECK(!host(&c, "exists.example", 443));
	CHECK_EQ(c.err, 0);
	CHECK_EQ(c.n, 1);
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_ipv6_server)
{
	static const struct trr zone[] = {
		RR_A("v6.example", "192.0.2.100"),
	};
	struct tctx c;
	int rc = -1, err;

	err = tctx_init_family(&c, AF_INET6, zone, ARRAY_SIZE(zone), 1000, 2);
	if (err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT) {
		fprintf(stderr, "    no IPv6 loopback: skipped\n");
		rc = 0;
		goto out;
	}
	CHECK(!err);
	CHECK(!host(&c, "v6.example", 443));
	CHECK_EQ(c.err, 0);
	EXPECT_TARGET(&c, 0, NET_TCP, "192.0.2.100:443", "v6.example");
	CHECK_EQ(c.srv.n_queries, 2);
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_timeout)
{
	struct tctx c;
	uint64_t t0;
	int rc = -1;

	CHECK(!tctx_init_opts(&c, NULL, 0, 50, 1));
	c.srv.is_silent = true;
	t0 = loop_now_ms();
	CHECK(!host(&c, "slow.example", 443));
	CHECK_EQ(c.err, -ETIMEDOUT);
	CHECK(loop_now_ms() - t0 < 2000);
	CHECK(!sip(&c, "slow.example", 0, -1, false));
	CHECK_EQ(c.err, -ETIMEDOUT);
	/* NAPTR went unanswered: nothing more was asked */
	CHECK_EQ(tdns_asked(&c.srv, T_SRV), 0);
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_connection_refused)
{
	struct tctx c;
	int rc = -1;

	CHECK(!tctx_init_opts(&c, NULL, 0, 500, 1));
	/* nothing listens on the port any more: ICMP port unreachable */
	tdns_stop(&c.srv);
	CHECK(!host(&c, "gone.example", 443));
	CHECK_EQ(c.err, -ECONNREFUSED);
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_malformed_answers)
{
	static const struct trr zone[] = {
		{.name = "_sip._tcp.bad.example",
		 .type = T_SRV,
		 .data = "x.bad.example",
		 .port = 5060,
		 .is_broken = true},
		{.name = "bad.example",
		 .type = T_NAPTR,
		 .data = "_sip._tcp.bad.example",
		 .flags = "s",
		 .service = "SIP+D2T",
		 .is_broken = true},
		{.name = "a.bad.example",
		 .type = T_A,
		 .data = "192.0.2.90",
		 .is_broken = true},
		RR_A("ok.example", "192.0.2.91"),
	};
	struct tctx c;
	int rc = -1;

	CHECK(!tctx_init_opts(&c, zone, ARRAY_SIZE(zone), 20, 1));
	CHECK(!sip(&c, "bad.example", 0, NET_TCP, false));
	CHECK_EQ(c.err, -EPROTO);
	CHECK(!sip(&c, "bad.example", 0, -1, false));
	CHECK_EQ(c.err, -EPROTO);
	CHECK(!host(&c, "a.bad.example", 443));
	CHECK(c.err == -EPROTO || c.err == -ENOENT);

	/* every strict prefix of a good answer: an error, never a crash */
	CHECK(!host(&c, "ok.example", 443));
	CHECK_EQ(c.err, 0);
	for (size_t cut = 1; cut < 12 + 12 + 16; cut++) {
		c.srv.cut = cut;
		CHECK(!host(&c, "ok.example", 443));
		CHECK(c.err == -EPROTO || c.err == -ENOENT ||
		      c.err == -ETIMEDOUT);
	}
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_cancel_never_calls_back)
{
	struct tctx c;
	struct dns_query *q1 = NULL, *q2 = NULL, *q3 = NULL;
	struct dns_sip_req r = {.host = "slow.example", .proto = -1};
	int rc = -1;

	CHECK(!tctx_init_opts(&c, NULL, 0, 50, 1));
	c.srv.is_silent = true;
	CHECK(!dns_add_override(c.d, "fast.example:443:192.0.2.1"));
	/* cancelled while c-ares still waits for the server */
	CHECK(!dns_sip_resolve(c.d, &r, on_targets, &c, &q1));
	CHECK(q1);
	CHECK(!dns_srv_resolve(c.d, "_certificates._tcp.slow.example",
			       "certificates.slow.example", 443, on_targets, &c,
			       &q2));
	/* cancelled with its answer already made, not yet delivered */
	CHECK(!dns_host_resolve(c.d, "fast.example", 443, on_targets, &c, &q3));
	dns_cancel(q1);
	dns_cancel(q2);
	dns_cancel(q3);
	dns_cancel(NULL);
	tctx_run(&c, 1, 300);
	CHECK_EQ(c.n_calls, 0);
	CHECK(c.srv.n_queries >= 1);
	/* the resolver still works afterwards */
	c.srv.is_silent = false;
	CHECK(!host(&c, "fast.example", 443));
	EXPECT_TARGET(&c, 0, NET_TCP, "192.0.2.1:443", NULL);
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_free_with_queries_pending)
{
	struct tctx c;
	struct dns_query *q = NULL;
	struct dns_sip_req r = {.host = "slow.example", .proto = -1};
	int rc = -1;

	CHECK(!tctx_init_opts(&c, NULL, 0, 50, 1));
	c.srv.is_silent = true;
	CHECK(!dns_add_override(c.d, "fast.example:443:192.0.2.1"));
	CHECK(!dns_sip_resolve(c.d, &r, on_targets, &c, NULL));
	CHECK(!dns_host_resolve(c.d, "slow.example", 80, on_targets, &c, NULL));
	CHECK(!dns_host_resolve(c.d, "slower.example", 80, on_targets, &c, &q));
	CHECK(!dns_host_resolve(c.d, "fast.example", 443, on_targets, &c,
				NULL));
	tctx_run(&c, 1, 10); /* let the queries go out */
	/* cancelled while c-ares still holds its requests */
	dns_cancel(q);
	CHECK_EQ(c.n_calls, 1); /* fast.example */
	CHECK(!dns_host_resolve(c.d, "fast.example", 443, on_targets, &c,
				NULL));
	dns_free(c.d);
	c.d = NULL;
	tctx_run(&c, 2, 300);
	CHECK_EQ(c.n_calls, 1);
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_free_inside_callback)
{
	struct tctx c;
	struct dns_sip_req r = {.host = "slow.example", .proto = -1};
	int rc = -1;

	CHECK(!tctx_init_opts(&c, NULL, 0, 50, 1));
	c.srv.is_silent = true;
	CHECK(!dns_add_override(c.d, "fast.example:443:192.0.2.1"));
	CHECK(!dns_sip_resolve(c.d, &r, on_targets, &c, NULL));
	c.free_in_callback = true;
	CHECK(!dns_host_resolve(c.d, "fast.example", 443, on_targets, &c,
				NULL));
	tctx_run(&c, 2, 300);
	CHECK_EQ(c.n_calls, 1);
	CHECK(!c.d);
	rc = 0;
out:
	tctx_fini(&c);
	return rc;
}

TEST(dns_bad_arguments)
{
	static const char *const bad_servers[] = {
		"",
		"127.0.0.1:",
		"127.0.0.1:0",
		"127.0.0.1:70000",
		"127.0.0.1:53x",
		"[::1",
		"[::1]x",
		"[::1]:",
		"ns.example",
		"127.0.0.1,",
		"127.0.0.1,,127.0.0.2",
		",127.0.0.1",
	};
	static const char *const good_servers[] = {
		"127.0.0.1",
		"127.0.0.1:5353,[::1]:53",
		"::1",
		" 192.0.2.1 , 192.0.2.2:54",
	};
	static const char *const bad_overrides[] = {
		"",
		"host",
		"host:5060",
		"host:5060:",
		":5060:192.0.2.1",
		"host:0:192.0.2.1",
		"host:65536:192.0.2.1",
		"host:50x:192.0.2.1",
		"host::192.0.2.1",
		"host:5060:not-an-address",
		"host:5060:192.0.2.1:5",
		"host:5060:[::1",
		"host:5060:192.0.2.1,192.0.2.2",
		"ho st:5060:192.0.2.1",
	};
	struct event_base *base = event_base_new();
	struct dns *d = NULL;
	struct dns_sip_req r = {.host = "example.com", .proto = -1};
	int rc = -1;

	CHECK(base);
	for (size_t i = 0; i < ARRAY_SIZE(bad_servers); i++) {
		int err = dns_new(
			&d, &(struct dns_opts){.base = base,
					       .servers = bad_servers[i]});

		if (err != -EINVAL) {
			TEST_FAIL_AT("servers \"%s\": %d", bad_servers[i], err);
			goto out;
		}
		CHECK(!d);
	}
	for (size_t i = 0; i < ARRAY_SIZE(good_servers); i++) {
		int err = dns_new(
			&d, &(struct dns_opts){.base = base,
					       .servers = good_servers[i]});

		if (err) {
			TEST_FAIL_AT("servers \"%s\": %d", good_servers[i],
				     err);
			goto out;
		}
		dns_free(d);
		d = NULL;
	}
	CHECK_EQ(dns_new(&d, NULL), -EINVAL);
	CHECK_EQ(dns_new(&d, &(struct dns_opts){.base = NULL}), -EINVAL);
	CHECK(!dns_new(
		&d, &(struct dns_opts){.base = base, .servers = "127.0.0.1"}));
	for (size_t i = 0; i < ARRAY_SIZE(bad_overrides); i++) {
		if (dns_add_override(d, bad_overrides[i]) != -EINVAL) {
			TEST_FAIL_AT("override \"%s\" taken", bad_overrides[i]);
			goto out;
		}
	}
	CHECK_EQ(dns_add_override(NULL, "h:1:192.0.2.1"), -EINVAL);
	CHECK_EQ(dns_add_override(d, NULL), -EINVAL);

	CHECK_EQ(dns_sip_resolve(d, NULL, on_targets, NULL, NULL), -EINVAL);
	CHECK_EQ(dns_sip_resolve(d, &r, NULL, NULL, NULL), -EINVAL);
	r.proto = NET_TLS + 1;
	CHECK_EQ(dns_sip_resolve(d, &r, on_targets, NULL, NULL), -EINVAL);
	r.proto = -1;
	r.host = "";
	CHECK_EQ(dns_sip_resolve(d, &r, on_targets, NULL, NULL), -EINVAL);
	r.host = NULL;
	CHECK_EQ(dns_sip_resolve(d, &r, on_targets, NULL, NULL), -EINVAL);
	CHECK_EQ(dns_host_resolve(d, "example.com", 0, on_targets, NULL, NULL),
		 -EINVAL);
	CHECK_EQ(dns_host_resolve(d, NULL, 80, on_targets, NULL, NULL),
		 -EINVAL);
	CHECK_EQ(dns_host_resolve(NULL, "example.com", 80, on_targets, NULL,
				  NULL),
		 -EINVAL);
	CHECK_EQ(dns_srv_resolve(d, "_certificates._tcp.example.com",
				 "certificates.example.com", 0, on_targets,
				 NULL, NULL),
		 -EINVAL);
	CHECK_EQ(dns_srv_resolve(d, NULL, NULL, 0, on_targets, NULL, NULL),
		 -EINVAL);
	dns_free(NULL);
	rc = 0;
out:
	dns_free(d);
	if (base)
		event_base_free(base);
	return rc;
}
