/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of TCP flows: framing (RFC 3261 §18.3), keep-alives (RFC 5626
 * §3.5.1), the limits that close a flow (framing error, oversize, slow
 * loris, idle, max_flows), replies over the request's flow (§18.2.2),
 * outgoing connections and their reuse, graceful close. */
#include "priv.h"
#include "testutil.h"

#define MSG_A                                                                  \
	"MESSAGE sip:a@example.com SIP/2.0\r\n"                                \
	"Via: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKa\r\n"                       \
	"Content-Length: 5\r\n\r\n"                                            \
	"hello"
#define MSG_B                                                                  \
	"OPTIONS sip:b@example.com SIP/2.0\r\n"                                \
	"Via: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKb\r\n"                       \
	"l: 0\r\n\r\n"

/* A server net listening on TCP host, and a client connected to it. */
struct pair {
	struct tnet t;
	uint16_t port;
	int fd;
};

static int pair_open(struct pair *p, const char *host, const struct net_opts *o)
{
	p->fd = -1;
	if (tnet_init(&p->t, o))
		return -1;
	if (net_listen(p->t.n, NET_TCP, host, 0, &p->port))
		return -1;
	p->fd = tclient_connect(SOCK_STREAM, host, p->port);
	return p->fd >= 0 ? 0 : -1;
}

static void pair_close(struct pair *p)
{
	if (p->fd >= 0)
		close(p->fd);
	tnet_fini(&p->t);
}

static int two_in_one_write(const char *host)
{
	struct pair p;
	struct net_stats st;
	int rc = -1;

	if (pair_open(&p, host, NULL) || !tclient_send_str(p.fd, MSG_A MSG_B) ||
	    !tnet_wait_msgs(&p.t, 2, 2000))
		TNET_FAIL();
	net_stats_get(p.t.n, &st);
	if (strcmp(p.t.msgs[0].data, MSG_A) ||
	    strcmp(p.t.msgs[1].data, MSG_B) || p.t.msgs[0].proto != NET_TCP ||
	    p.t.msgs[0].flow != p.t.msgs[1].flow ||
	    !net_flow_alive(p.t.n, p.t.msgs[0].flow) || st.flows != 1 ||
	    st.rx_msgs != 2 || net_addr_port(&p.t.msgs[0].local) != p.port)
		TNET_FAIL();
	rc = 0;
out:
	pair_close(&p);
	return rc;
}

TEST(net_tcp_two_messages_in_one_write)
{
	TEST_EQ_INT(two_in_one_write("127.0.0.1"), 0);
	TEST_EQ_INT(two_in_one_write("::1"), 0);
	return 0;
}

static int byte_by_byte(void)
{
	static const char msg[] = MSG_A;
	struct pair p;
	int rc = -1;

	if (pair_open(&p, "127.0.0.1", NULL))
		TNET_FAIL();
	for (size_t i = 0; i < sizeof(msg) - 1; i++) {
		if (!tclient_send(p.fd, msg + i, 1))
			TNET_FAIL();
		/* every strict prefix is read alone and stays undelivered */
		tnet_run(&p.t, NULL, NULL, 1);
		if (p.t.n_msgs != (i == sizeof(msg) - 2))
			TNET_FAIL();
	}
	if (!tnet_wait_msgs(&p.t, 1, 2000) || strcmp(p.t.msgs[0].data, msg))
		TNET_FAIL();
	rc = 0;
out:
	pair_close(&p);
	return rc;
}

TEST(net_tcp_message_split_byte_by_byte)
{
	TEST_EQ_INT(byte_by_byte(), 0);
	return 0;
}

static int keepalive(void)
{
	struct pair p;
	struct tclient_read r;
	int rc = -1;

	if (pair_open(&p, "127.0.0.1", NULL))
		TNET_FAIL();
	/* RFC 5626 §3.5.1: ping CRLF CRLF, pong CRLF */
	if (!tclient_send_str(p.fd, "\r\n\r\n"))
		TNET_FAIL();
	tclient_read(&p.t, &r, p.fd, 2, 2000);
	if (r.len != 2 || memcmp(r.buf, "\r\n", 2))
		TNET_FAIL();
	/* a ping in two pieces, then a message: one pong, one message */
	if (!tclient_send_str(p.fd, "\r\n"))
		TNET_FAIL();
	tnet_run(&p.t, NULL, NULL, 20);
	if (!tclient_send_str(p.fd, "\r\n" MSG_B) ||
	    !tnet_wait_msgs(&p.t, 1, 2000))
		TNET_FAIL();
	tclient_read(&p.t, &r, p.fd, 2, 2000);
	if (r.len != 2 || strcmp(p.t.msgs[0].data, MSG_B))
		TNET_FAIL();
	/* a lone CRLF is a pong and gets no answer */
	if (!tclient_send_str(p.fd, "\r\n"))
		TNET_FAIL();
	tclient_read(&p.t, &r, p.fd, 1, 100);
	if (r.len || r.is_eof)
		TNET_FAIL();
	rc = 0;
out:
	pair_close(&p);
	return rc;
}

TEST(net_tcp_crlf_ping_answered)
{
	TEST_EQ_INT(keepalive(), 0);
	return 0;
}

/* Bytes that break framing close the flow and count as dropped. */
static int closes_flow(const struct net_opts *o, const char *first,
		       const char *bad, size_t bad_len)
{
	struct pair p;
	struct net_stats st;
	int rc = -1;

	if (pair_open(&p, "127.0.0.1", o))
		TNET_FAIL();
	if (first &&
	    (!tclient_send_str(p.fd, first) || !tnet_wait_msgs(&p.t, 1, 2000)))
		TNET_FAIL();
	if (!tclient_send(p.fd, bad, bad_len) ||
	    !tclient_wait_eof(&p.t, p.fd, 2000) ||
	    !tnet_wait_closed(&p.t, 1, 2000))
		TNET_FAIL();
	net_stats_get(p.t.n, &st);
	if (st.rx_dropped != 1 || st.flows != 0 ||
	    p.t.n_msgs != (first ? 1 : 0))
		TNET_FAIL();
	if (first && (p.t.closed[0] != p.t.msgs[0].flow ||
		      net_flow_alive(p.t.n, p.t.msgs[0].flow)))
		TNET_FAIL();
	rc = 0;
out:
	pair_close(&p);
	return rc;
}

TEST(net_tcp_framing_error_closes_flow)
{
	static const char no_length[] = "OPTIONS sip:a@example.com SIP/2.0\r\n"
					"Via: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
					"\r\n";
	static const char bad_length[] = "OPTIONS sip:a@example.com SIP/2.0\r\n"
					 "Content-Length: -1\r\n\r\n";

	TEST_EQ_INT(closes_flow(NULL, MSG_A, no_length, sizeof(no_length) - 1),
		    0);
	TEST_EQ_INT(closes_flow(NULL, NULL, bad_length, sizeof(bad_length) - 1),
		    0);
	return 0;
}

TEST(net_tcp_oversize_closes_flow)
{
	struct net_opts o = {.max_msg_bytes = 1024};
	static const char big_body[] = "MESSAGE sip:a@example.com SIP/2.0\r\n"
				       "Content-Length: 5000\r\n\r\n";
	char endless[2048];

	/* refused on the Content-Length alone, before the body arrives */
	TEST_EQ_INT(closes_flow(&o, MSG_A, big_body, sizeof(big_body) - 1), 0);
	/* a header block that never ends */
	memset(endless, 'a', sizeof(endless));
	memcpy(endless, "OPTIONS sip:x SIP/2.0\r\nX: ", 26);
	TEST_EQ_INT(closes_flow(&o, NULL, endless, sizeof(endless)), 0);
	return 0;
}

/* Half a message, then a byte now and then: never idle, but the
 * message is not complete within msg_timeout_s. */
static int slow_loris(void)
{
	static const char msg[] = MSG_A;
	struct pair p;
	struct net_stats st;
	uint64_t start = loop_now_ms(), took;
	size_t sent = 40;
	int rc = -1;

	if (pair_open(&p, "127.0.0.1",
		      &(struct net_opts){.msg_timeout_s = 1,
					 .idle_timeout_s = 30}) ||
	    !tclient_send(p.fd, msg, sent))
		TNET_FAIL();
	while (p.t.n_closed == 0 && loop_now_ms() - start < 3000) {
		tnet_run(&p.t, NULL, NULL, 150);
		if (sent < sizeof(msg) - 2 && !p.t.n_closed)
			(void)tclient_send(p.fd, msg + sent++, 1);
	}
	took = loop_now_ms() - start;
	net_stats_get(p.t.n, &st);
	if (p.t.n_closed != 1 || p.t.n_msgs || st.flows_timed_out != 1 ||
	    took < 900 || took > 2500 || !tclient_wait_eof(&p.t, p.fd, 1000))
		TNET_FAIL();
	rc = 0;
out:
	pair_close(&p);
	return rc;
}

TEST(net_tcp_slow_loris_closed)
{
	TEST_EQ_INT(slow_loris(), 0);
	return 0;
}

static int idle_timeout(void)
{
	struct pair p;
	struct net_stats st;
	uint64_t start, took;
	int rc = -1;

	if (pair_open(&p, "127.0.0.1",
		      &(struct net_opts){.idle_timeout_s = 1}) ||
	    !tclient_send_str(p.fd, MSG_B) || !tnet_wait_msgs(&p.t, 1, 2000))
		TNET_FAIL();
	start = loop_now_ms();
	if (!tnet_wait_closed(&p.t, 1, 3000))
		TNET_FAIL();
	took = loop_now_ms() - start;
	net_stats_get(p.t.n, &st);
	if (st.flows_timed_out != 1 || st.flows != 0 || took < 800 ||
	    took > 2000 || p.t.closed[0] != p.t.msgs[0].flow ||
	    !tclient_wait_eof(&p.t, p.fd, 1000))
		TNET_FAIL();
	rc = 0;
out:
	pair_close(&p);
	return rc;
}

TEST(net_tcp_idle_timeout)
{
	TEST_EQ_INT(idle_timeout(), 0);
	return 0;
}

static int max_flows(void)
{
	struct pair p;
	struct net_stats st;
	struct tclient_read r;
	int fd2 = -1, fd3 = -1, rc = -1;

	if (pair_open(&p, "127.0.0.1", &(struct net_opts){.max_flows = 2}) ||
	    !tclient_send_str(p.fd, MSG_B) || !tnet_wait_msgs(&p.t, 1, 2000))
		TNET_FAIL();
	fd2 = tclient_connect(SOCK_STREAM, "127.0.0.1", p.port);
	if (fd2 < 0 || !tclient_send_str(fd2, MSG_B) ||
	    !tnet_wait_msgs(&p.t, 2, 2000))
		TNET_FAIL();
	/* the third is closed at once */
	fd3 = tclient_connect(SOCK_STREAM, "127.0.0.1", p.port);
	if (fd3 < 0 || !tclient_wait_eof(&p.t, fd3, 2000))
		TNET_FAIL();
	net_stats_get(p.t.n, &st);
	if (st.flows != 2 || st.rx_dropped != 1 || p.t.n_closed)
		TNET_FAIL();
	/* the two admitted still work */
	if (!tclient_send_str(p.fd, "\r\n\r\n"))
		TNET_FAIL();
	tclient_read(&p.t, &r, p.fd, 2, 2000);
	if (r.len != 2)
		TNET_FAIL();
	/* room again once one closes */
	close(fd2);
	fd2 = -1;
	if (!tnet_wait_closed(&p.t, 1, 2000))
		TNET_FAIL();
	close(fd3);
	fd3 = tclient_connect(SOCK_STREAM, "127.0.0.1", p.port);
	if (fd3 < 0 || !tclient_send_str(fd3, MSG_B) ||
	    !tnet_wait_msgs(&p.t, 3, 2000))
		TNET_FAIL();
	rc = 0;
out:
	if (fd2 >= 0)
		close(fd2);
	if (fd3 >= 0)
		close(fd3);
	pair_close(&p);
	return rc;
}

TEST(net_tcp_max_flows_cap)
{
	TEST_EQ_INT(max_flows(), 0);
	return 0;
}

/* RFC 3261 §18.2.2: the response goes back over the request's flow;
 * net_flow_close() delivers what was queued before closing. */
static int reply_same_flow(void)
{
	static const char resp[] =
		"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
	struct pair p;
	struct tclient_read r;
	net_flow_id flow;
	int rc = -1;

	if (pair_open(&p, "127.0.0.1", NULL))
		TNET_FAIL();
	p.t.reply = resp;
	if (!tclient_send_str(p.fd, MSG_A) || !tnet_wait_msgs(&p.t, 1, 2000))
		TNET_FAIL();
	tclient_read(&p.t, &r, p.fd, strlen(resp), 2000);
	if (p.t.reply_rc || r.len != strlen(resp) || memcmp(r.buf, resp, r.len))
		TNET_FAIL();
	/* answer, then close: the answer arrives before the end */
	p.t.close_after_reply = true;
	if (!tclient_send_str(p.fd, MSG_B) || !tnet_wait_msgs(&p.t, 2, 2000))
		TNET_FAIL();
	flow = p.t.msgs[1].flow;
	if (net_flow_alive(p.t.n, flow))
		TNET_FAIL();
	/* a closing flow takes nothing more; with no address: -ENOENT */
	if (net_send(p.t.n, &(struct net_dest){.proto = NET_TCP, .flow = flow},
		     "x", 1, NULL) != -ENOENT)
		TNET_FAIL();
	tclient_read(&p.t, &r, p.fd, sizeof(r.buf), 2000);
	if (!r.is_eof || r.len != strlen(resp) || memcmp(r.buf, resp, r.len))
		TNET_FAIL();
	/* the server waits for our end (so no reset can eat its answer)
	 * and then frees the flow */
	tnet_run(&p.t, NULL, NULL, 20);
	if (p.t.n_closed)
		TNET_FAIL();
	shutdown(p.fd, SHUT_WR);
	if (!tnet_wait_closed(&p.t, 1, 2000) || p.t.closed[0] != flow)
		TNET_FAIL();
	rc = 0;
out:
	pair_close(&p);
	return rc;
}

TEST(net_tcp_reply_over_same_flow)
{
	TEST_EQ_INT(reply_same_flow(), 0);
	return 0;
}

/* A message the peer cut short by closing is counted as dropped. */
static int eof_mid_message(void)
{
	struct pair p;
	struct net_stats st;
	int rc = -1;

	if (pair_open(&p, "127.0.0.1", NULL) || !tclient_send(p.fd, MSG_A, 30))
		TNET_FAIL();
	tnet_run(&p.t, NULL, NULL, 20);
	shutdown(p.fd, SHUT_WR);
	if (!tnet_wait_closed(&p.t, 1, 2000))
		TNET_FAIL();
	net_stats_get(p.t.n, &st);
	if (st.rx_dropped != 1 || p.t.n_msgs || st.flows)
		TNET_FAIL();
	rc = 0;
out:
	pair_close(&p);
	return rc;
}

TEST(net_tcp_eof_mid_message_dropped)
{
	TEST_EQ_INT(eof_mid_message(), 0);
	return 0;
}

struct two {
	struct tnet *a;
	struct tnet *b;
	int a_msgs;
	int b_msgs;
	int a_closed;
	int b_closed;
};

static bool two_reached(void *arg)
{
	struct two *w = arg;

	return w->a->n_msgs >= w->a_msgs && w->b->n_msgs >= w->b_msgs &&
	       w->a->n_closed >= w->a_closed && w->b->n_closed >= w->b_closed;
}

/* A client net sends to a server net by address: the first send opens a
 * connection, the second reuses it, the answer comes back on it. */
static int outgoing_reuse(void)
{
	struct tnet cli, srv;
	struct net_dest d = {.proto = NET_TCP};
	struct two w = {&cli, &srv, 1, 2, 0, 0};
	struct net_stats st;
	net_flow_id f1 = 0, f2 = 0;
	uint16_t port = 0;
	int rc = -1;

	if (tnet_init(&cli, NULL))
		return -1;
	if (tnet_init(&srv, NULL)) {
		tnet_fini(&cli);
		return -1;
	}
	srv.reply = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
	if (net_listen(srv.n, NET_TCP, "127.0.0.1", 0, &port) ||
	    net_addr_parse("127.0.0.1", port, &d.addr))
		TNET_FAIL();
	if (net_send(cli.n, &d, MSG_A, strlen(MSG_A), &f1) || !f1 ||
	    !net_flow_alive(cli.n, f1) ||
	    net_send(cli.n, &d, MSG_B, strlen(MSG_B), &f2) || f2 != f1)
		TNET_FAIL();
	/* TLS has no client context here */
	d.proto = NET_TLS;
	if (net_send(cli.n, &d, "x", 1, NULL) != -EINVAL)
		TNET_FAIL();
	w.a_msgs = 2;
	if (!tnet_run2(&cli, &srv, two_reached, &w, 3000))
		TNET_FAIL();
	net_stats_get(cli.n, &st);
	if (strcmp(srv.msgs[0].data, MSG_A) ||
	    strcmp(srv.msgs[1].data, MSG_B) ||
	    srv.msgs[0].flow != srv.msgs[1].flow || cli.msgs[0].flow != f1 ||
	    cli.msgs[1].flow != f1 || st.flows != 1 ||
	    net_addr_port(&cli.msgs[0].peer) != port)
		TNET_FAIL();
	/* closing from the client side ends both */
	net_flow_close(cli.n, f1);
	w.a_closed = 1;
	w.b_closed = 1;
	if (!tnet_run2(&cli, &srv, two_reached, &w, 3000) ||
	    cli.closed[0] != f1 || srv.closed[0] != srv.msgs[0].flow)
		TNET_FAIL();
	/* the next send opens a new flow */
	d.proto = NET_TCP;
	if (net_send(cli.n, &d, MSG_B, strlen(MSG_B), &f2) || f2 == f1)
		TNET_FAIL();
	w.b_msgs = 3;
	if (!tnet_run2(&cli, &srv, two_reached, &w, 3000))
		TNET_FAIL();
	rc = 0;
out:
	tnet_fini(&cli);
	tnet_fini(&srv);
	return rc;
}

TEST(net_tcp_outgoing_connection_reused)
{
	TEST_EQ_INT(outgoing_reuse(), 0);
	return 0;
}

/* Nobody listens: the connect fails, the flow closes, on_closed runs. */
static int connect_refused(void)
{
	struct tnet t;
	struct net_dest d = {.proto = NET_TCP};
	net_flow_id f = 0;
	int fd, rc = -1;

	if (tnet_init(&t, NULL))
		return -1;
	/* a port that was just free */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || net_addr_parse("127.0.0.1", 0, &d.addr) ||
	    bind(fd, (struct sockaddr *)&d.addr.ss, d.addr.len) ||
	    net_addr_local(&d.addr, fd)) {
		if (fd >= 0)
			close(fd);
		TNET_FAIL();
	}
	close(fd);
	if (net_send(t.n, &d, MSG_B, strlen(MSG_B), &f) || !f ||
	    !tnet_wait_closed(&t, 1, 3000) || t.closed[0] != f ||
	    net_flow_alive(t.n, f))
		TNET_FAIL();
	/* a dead flow with an address falls back to a new connection */
	d.flow = f;
	if (net_send(t.n, &d, MSG_B, strlen(MSG_B), &f) || f == d.flow ||
	    !tnet_wait_closed(&t, 2, 3000))
		TNET_FAIL();
	/* a malformed destination */
	d.addr.len = 5;
	if (net_send(t.n, &d, "x", 1, NULL) != -EINVAL ||
	    net_send(t.n, &d, NULL, 1, NULL) != -EINVAL)
		TNET_FAIL();
	rc = 0;
out:
	tnet_fini(&t);
	return rc;
}

TEST(net_tcp_connect_failure_closes_flow)
{
	TEST_EQ_INT(connect_refused(), 0);
	return 0;
}

/* A peer that never reads cannot grow our send queue without bound. */
static int send_queue_cap(void)
{
	struct pair p;
	char chunk[1024];
	net_flow_id flow;
	int rc = -1, err = 0;

	memset(chunk, 'x', sizeof(chunk));
	if (pair_open(&p, "127.0.0.1",
		      &(struct net_opts){.max_msg_bytes = 1024}) ||
	    !tclient_send_str(p.fd, MSG_B) || !tnet_wait_msgs(&p.t, 1, 2000))
		TNET_FAIL();
	flow = p.t.msgs[0].flow;
	/* 16 messages' worth may wait; the kernel takes some too */
	for (int i = 0; i < 10000 && !err; i++) {
		err = net_send(p.t.n, &(struct net_dest){.flow = flow}, chunk,
			       sizeof(chunk), NULL);
		if (i % 64 == 0)
			tnet_run(&p.t, NULL, NULL, 0);
	}
	if (err != -EMSGSIZE || !net_flow_alive(p.t.n, flow))
		TNET_FAIL();
	rc = 0;
out:
	pair_close(&p);
	return rc;
}

TEST(net_tcp_send_queue_capped)
{
	TEST_EQ_INT(send_queue_cap(), 0);
	return 0;
}

/* net_free() with live flows: everything released, no callbacks. */
static int free_with_flows(void)
{
	struct pair p;
	int rc = -1;

	if (pair_open(&p, "127.0.0.1", NULL) || !tclient_send(p.fd, MSG_A, 20))
		TNET_FAIL();
	tnet_run(&p.t, NULL, NULL, 20);
	rc = 0;
out:
	pair_close(&p);
	return rc || p.t.n_closed ? -1 : 0;
}

TEST(net_free_with_live_flows)
{
	TEST_EQ_INT(free_with_flows(), 0);
	return 0;
}
