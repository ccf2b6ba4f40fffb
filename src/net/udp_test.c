/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of SIP over UDP: round trips on IPv4 and IPv6, the RFC 3261
 * §18.1.1 size rule, keep-alives, oversize datagrams, wildcard sockets
 * and sending without a listener. */
#include "priv.h"
#include "testutil.h"

static const char options_msg[] =
	"OPTIONS sip:a@example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\n"
	"Content-Length: 0\r\n\r\n";

static int udp_round_trip(const char *host)
{
	struct tnet t;
	struct tclient_read r;
	struct net_stats st;
	uint16_t port = 0;
	int fd = -1, rc = -1;

	if (tnet_init(&t, NULL))
		return -1;
	t.reply = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
	if (net_listen(t.n, NET_UDP, host, 0, &port) || !port)
		TNET_FAIL();
	fd = tclient_connect(SOCK_DGRAM, host, port);
	if (fd < 0 || !tclient_send_str(fd, options_msg) ||
	    !tnet_wait_msgs(&t, 1, 2000))
		TNET_FAIL();
	if (t.msgs[0].proto != NET_UDP || strcmp(t.msgs[0].data, options_msg) ||
	    !net_flow_alive(t.n, t.msgs[0].flow) ||
	    net_addr_port(&t.msgs[0].local) != port || t.msgs[0].sni ||
	    t.msgs[0].has_cert || t.reply_rc)
		TNET_FAIL();
	/* the answer came back to the sender's address */
	tclient_read(&t, &r, fd, strlen(t.reply), 2000);
	if (r.len != strlen(t.reply) || memcmp(r.buf, t.reply, r.len))
		TNET_FAIL();
	/* a UDP flow is the socket: closing it is not for net_flow_close */
	net_flow_close(t.n, t.msgs[0].flow);
	net_stats_get(t.n, &st);
	if (!net_flow_alive(t.n, t.msgs[0].flow) || st.rx_msgs != 1 ||
	    st.flows != 0)
		TNET_FAIL();
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	tnet_fini(&t);
	return rc;
}

TEST(net_udp_round_trip_ipv4)
{
	TEST_EQ_INT(udp_round_trip("127.0.0.1"), 0);
	return 0;
}

TEST(net_udp_round_trip_ipv6)
{
	TEST_EQ_INT(udp_round_trip("::1"), 0);
	return 0;
}

/* RFC 3261 §18.1.1: nothing over 1300 bytes goes out over UDP. */
static int udp_size_rule(void)
{
	char big[1301];
	struct tnet t;
	struct tclient_read r;
	struct net_dest d = {.proto = NET_UDP};
	net_flow_id used = 0;
	uint16_t port = 0;
	int fd = -1, rc = -1;

	memset(big, 'x', sizeof(big));
	if (tnet_init(&t, NULL))
		return -1;
	if (net_listen(t.n, NET_UDP, "127.0.0.1", 0, &port))
		TNET_FAIL();
	fd = tclient_connect(SOCK_DGRAM, "127.0.0.1", port);
	if (fd < 0 || !tclient_send_str(fd, options_msg) ||
	    !tnet_wait_msgs(&t, 1, 2000))
		TNET_FAIL();
	d.flow = t.msgs[0].flow;
	d.addr = t.msgs[0].peer;
	if (net_send(t.n, &d, big, 1301, &used) != -EMSGSIZE || used)
		TNET_FAIL();
	d.flow = 0; /* by address: the same rule */
	if (net_send(t.n, &d, big, 1301, &used) != -EMSGSIZE || used)
		TNET_FAIL();
	d.flow = t.msgs[0].flow;
	if (net_send(t.n, &d, big, 1300, &used) || used != d.flow)
		TNET_FAIL();
	tclient_read(&t, &r, fd, 1300, 2000);
	if (r.len != 1300)
		TNET_FAIL();
	/* a UDP flow without a peer address is a caller error */
	d.addr.len = 0;
	if (net_send(t.n, &d, "x", 1, NULL) != -EINVAL)
		TNET_FAIL();
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	tnet_fini(&t);
	return rc;
}

TEST(net_udp_send_over_1300_refused)
{
	TEST_EQ_INT(udp_size_rule(), 0);
	return 0;
}

static int udp_keepalives_and_oversize(void)
{
	static const char stun[20] = {0x00, 0x01, 0x00,	      0x00,
				      0x21, 0x12, (char)0xa4, 0x42};
	char big[3000];
	struct tnet t;
	struct net_stats st;
	uint16_t port = 0;
	int fd = -1, rc = -1;

	memset(big, 'x', sizeof(big));
	if (tnet_init(&t, &(struct net_opts){.max_msg_bytes = 2000}))
		return -1;
	if (net_listen(t.n, NET_UDP, "127.0.0.1", 0, &port))
		TNET_FAIL();
	fd = tclient_connect(SOCK_DGRAM, "127.0.0.1", port);
	if (fd < 0 || send(fd, "", 0, 0) != 0 ||
	    !tclient_send_str(fd, "\r\n\r\n") ||
	    !tclient_send(fd, "\0\0\0\0", 4) ||
	    !tclient_send_str(fd, " \t\r\n") ||
	    !tclient_send(fd, stun, sizeof(stun)) ||
	    !tclient_send(fd, big, sizeof(big)) ||
	    !tclient_send_str(fd, options_msg) || !tnet_wait_msgs(&t, 1, 2000))
		TNET_FAIL();
	/* only the message arrived; the oversize datagram was counted */
	tnet_run(&t, NULL, NULL, 50);
	net_stats_get(t.n, &st);
	if (t.n_msgs != 1 || strcmp(t.msgs[0].data, options_msg) ||
	    st.rx_dropped != 1 || st.rx_msgs != 1)
		TNET_FAIL();
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	tnet_fini(&t);
	return rc;
}

TEST(net_udp_keepalives_and_oversize_dropped)
{
	TEST_EQ_INT(udp_keepalives_and_oversize(), 0);
	return 0;
}

/* A socket bound to 0.0.0.0 reports the address the peer used. */
static int udp_wildcard_local(void)
{
	struct tnet t;
	uint16_t port = 0, port6 = 0;
	int fd = -1, rc = -1;
	char text[64], want[64];

	if (tnet_init(&t, NULL))
		return -1;
	/* "::" beside "0.0.0.0" on the same port (IPV6_V6ONLY) */
	if (net_listen(t.n, NET_UDP, "0.0.0.0", 0, &port) ||
	    net_listen(t.n, NET_UDP, "::", port, &port6) || port6 != port)
		TNET_FAIL();
	fd = tclient_connect(SOCK_DGRAM, "127.0.0.1", port);
	if (fd < 0 || !tclient_send_str(fd, options_msg) ||
	    !tnet_wait_msgs(&t, 1, 2000))
		TNET_FAIL();
	net_addr_print(&t.msgs[0].local, text, sizeof(text));
	snprintf(want, sizeof(want), "127.0.0.1:%u", port);
	if (strcmp(text, want))
		TNET_FAIL();
	close(fd);
	fd = tclient_connect(SOCK_DGRAM, "::1", port);
	if (fd < 0 || !tclient_send_str(fd, options_msg) ||
	    !tnet_wait_msgs(&t, 2, 2000))
		TNET_FAIL();
	net_addr_print(&t.msgs[1].local, text, sizeof(text));
	snprintf(want, sizeof(want), "[::1]:%u", port);
	if (strcmp(text, want) || t.msgs[1].flow == t.msgs[0].flow)
		TNET_FAIL();
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	tnet_fini(&t);
	return rc;
}

TEST(net_udp_wildcard_reports_local_address)
{
	TEST_EQ_INT(udp_wildcard_local(), 0);
	return 0;
}

/* A user agent sends without listening; the answer comes back on the
 * ephemeral socket the send opened. */
static int udp_send_without_listener(void)
{
	struct tnet t;
	struct net_addr srv, from;
	struct net_dest d = {.proto = NET_UDP};
	socklen_t flen = sizeof(from.ss);
	net_flow_id used = 0, used2 = 0;
	char buf[512];
	ssize_t got;
	int fd = -1, rc = -1;
	struct timeval tv = {2, 0};

	if (tnet_init(&t, NULL))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || net_addr_parse("127.0.0.1", 0, &srv) ||
	    bind(fd, (struct sockaddr *)&srv.ss, srv.len) ||
	    net_addr_local(&d.addr, fd))
		TNET_FAIL();
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (net_send(t.n, &d, options_msg, strlen(options_msg), &used) ||
	    !used || !net_flow_alive(t.n, used))
		TNET_FAIL();
	got = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from.ss,
		       &flen);
	from.len = flen;
	if (got != (ssize_t)strlen(options_msg) ||
	    sendto(fd, "SIP/2.0 200 OK\r\n\r\n", 18, 0,
		   (struct sockaddr *)&from.ss, from.len) != 18 ||
	    !tnet_wait_msgs(&t, 1, 2000) || t.msgs[0].flow != used)
		TNET_FAIL();
	/* the same socket serves the next send */
	if (net_send(t.n, &d, "x", 1, &used2) || used2 != used)
		TNET_FAIL();
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	tnet_fini(&t);
	return rc;
}

TEST(net_udp_send_without_listener)
{
	TEST_EQ_INT(udp_send_without_listener(), 0);
	return 0;
}

static int listen_errors(void)
{
	struct tnet t;
	uint16_t port = 0, again = 0;
	int rc = -1;

	if (tnet_init(&t, NULL))
		return -1;
	if (net_listen(t.n, NET_UDP, "127.0.0.1", 0, &port) ||
	    net_listen(t.n, NET_UDP, "127.0.0.1", port, &again) !=
		    -EADDRINUSE ||
	    again != 0 || net_listen(t.n, NET_TCP, "127.0.0.1", 0, &port) ||
	    net_listen(t.n, NET_TCP, "127.0.0.1", port, NULL) != -EADDRINUSE ||
	    net_listen(t.n, NET_TCP, "localhost", 0, NULL) != -EINVAL ||
	    net_listen(t.n, NET_TCP, NULL, 0, NULL) != -EINVAL ||
	    net_listen(NULL, NET_TCP, "::1", 0, NULL) != -EINVAL ||
	    net_listen(t.n, (enum net_proto)7, "::1", 0, NULL) != -EINVAL ||
	    /* no server context, no TLS listener */
	    net_listen(t.n, NET_TLS, "127.0.0.1", 0, NULL) != -EINVAL)
		TNET_FAIL();
	/* after stop, a new listener may take the same TCP port */
	net_stop_listening(t.n);
	if (net_listen(t.n, NET_TCP, "127.0.0.1", port, NULL))
		TNET_FAIL();
	rc = 0;
out:
	tnet_fini(&t);
	return rc;
}

TEST(net_listen_errors)
{
	TEST_EQ_INT(listen_errors(), 0);
	return 0;
}

TEST(net_new_bad_args)
{
	struct event_base *base = event_base_new();
	struct net *n = NULL;
	struct net_stats st = {.flows = 5};

	TEST_ASSERT(base);
	TEST_EQ_INT(net_new(&n, NULL), -EINVAL);
	TEST_EQ_INT(net_new(NULL, &(struct net_opts){.base = base}), -EINVAL);
	TEST_EQ_INT(net_new(&n, &(struct net_opts){.base = base}), -EINVAL);
	TEST_EQ_INT(net_new(&n, &(struct net_opts){.on_rx = tnet_on_rx}),
		    -EINVAL);
	TEST_ASSERT(!n);
	net_free(NULL);
	net_stop_listening(NULL);
	net_flow_close(NULL, 1);
	TEST_ASSERT(!net_flow_alive(NULL, 1));
	net_stats_get(NULL, &st);
	TEST_EQ_INT(st.flows, 5);
	TEST_EQ_INT(net_send(NULL, &(struct net_dest){0}, "x", 1, NULL),
		    -EINVAL);
	event_base_free(base);
	return 0;
}

/* net.core.rmem_max, or -1 when it cannot be read */
static long rmem_max(void)
{
	char line[64];
	FILE *f = fopen("/proc/sys/net/core/rmem_max", "r");
	long v = -1;

	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f)) {
		char *end;

		v = strtol(line, &end, 10);
		if (end == line)
			v = -1;
	}
	fclose(f);
	return v;
}

/* A listening UDP socket asks for NET_UDP_RCVBUF_BYTES: with the right to
 * exceed rmem_max it gets them, else as much as rmem_max allows (Linux
 * reports twice the size set, for its bookkeeping). */
static int udp_rcvbuf_grown(void)
{
	struct tnet t;
	uint16_t port = 0;
	long max = rmem_max(), floor;
	int got = 0, rc = -1;
	socklen_t len = sizeof(got);

	if (tnet_init(&t, NULL))
		return -1;
	if (net_listen(t.n, NET_UDP, "127.0.0.1", 0, &port) || !t.n->udp ||
	    getsockopt(t.n->udp->fd, SOL_SOCKET, SO_RCVBUF, &got, &len))
		TNET_FAIL();
	/* the default (rmem_default, not doubled) stays below this */
	floor = max > 0 && max < NET_UDP_RCVBUF_BYTES ? max
						      : NET_UDP_RCVBUF_BYTES;
	if (got < 2 * floor)
		TNET_FAIL();
	rc = 0;
out:
	tnet_fini(&t);
	return rc;
}

TEST(net_udp_receive_buffer_grown)
{
	TEST_EQ_INT(udp_rcvbuf_grown(), 0);
	return 0;
}
