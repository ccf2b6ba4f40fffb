/* SPDX-License-Identifier: BSD-3-Clause */
/* txn over the real net, UDP on 127.0.0.1: a client transaction reaching
 * a server transaction and back (rport), the INVITE/486/ACK exchange, and
 * a stateless 400 to a raw socket. */
#include "test.h"
#include "txn/txn_int.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct side {
	struct net *n;
	struct txn_layer *l;
	uint16_t port;
	char sent_by[64];
};

struct world {
	struct event_base *base;
	struct side a, b; /* a serves, b asks */
	unsigned a_requests;
	unsigned n_resp;
	unsigned status;
	int err;
	char rport[16];
	char received[64];
};

static void rx_a(void *arg, const struct net_rx *rx)
{
	struct world *w = arg;

	txn_layer_rx(w->a.l, rx);
}

static void rx_b(void *arg, const struct net_rx *rx)
{
	struct world *w = arg;

	txn_layer_rx(w->b.l, rx);
}

static void on_request(void *arg, struct txn_srv *st, const struct sip_msg *req)
{
	struct world *w = arg;

	w->a_requests++;
	if (txn_srv_is_pending(st))
		(void)txn_srv_reply(
			st, req->method_id == SIP_METHOD_INVITE ? 486 : 200,
			NULL, NULL);
}

static void on_resp(void *arg, int err, const struct sip_msg *resp)
{
	struct world *w = arg;
	size_t n;

	w->n_resp++;
	w->err = err;
	w->status = resp ? resp->status : 0;
	if (!resp)
		return;
	n = resp->via.rport.len < sizeof(w->rport) ? resp->via.rport.len : 0;
	memcpy(w->rport, resp->via.rport.p, n);
	w->rport[n] = '\0';
	n = resp->via.received.len < sizeof(w->received)
		    ? resp->via.received.len
		    : 0;
	memcpy(w->received, resp->via.received.p, n);
	w->received[n] = '\0';
}

static int side_init(struct world *w, struct side *s, net_rx_cb *rx,
		     txn_request_cb *on_req)
{
	int err;

	err = net_new(&s->n, &(struct net_opts){
				     .base = w->base, .on_rx = rx, .arg = w});
	if (!err)
		err = net_listen(s->n, NET_UDP, "127.0.0.1", 0, &s->port);
	if (err)
		return err;
	snprintf(s->sent_by, sizeof(s->sent_by), "127.0.0.1:%u", s->port);
	return txn_layer_new(&s->l, &(struct txn_opts){
					    .base = w->base,
					    .net = s->n,
					    .t1_ms = 50,
					    .t2_ms = 200,
					    .t4_ms = 100,
					    .via_sent_by = {s->sent_by},
					    .on_request = on_req,
					    .arg = w,
				    });
}

static void side_fini(struct side *s)
{
	txn_layer_free(s->l);
	net_free(s->n);
}

/* Run the loop in 10 ms steps until *flag reaches want or ms pass. */
static void run_until(struct world *w, const unsigned *flag, unsigned want,
		      unsigned ms)
{
	for (unsigned t = 0; t < ms && (!flag || *flag < want); t += 10) {
		struct timeval tv = {0, 10000};

		event_base_loopexit(w->base, &tv);
		event_base_dispatch(w->base);
	}
}

static int start(struct world *w, const char *req)
{
	struct txn_cli_opts o = {
		.dest = {.proto = NET_UDP},
		.data = req,
		.len = strlen(req),
		.on_resp = on_resp,
		.arg = w,
	};
	struct txn_cli *c;

	if (net_addr_parse("127.0.0.1", w->a.port, &o.dest.addr))
		return -EINVAL;
	return txn_cli_start(w->b.l, &o, &c);
}

TEST(txn_udp_real_net_round_trips)
{
	static const char options[] = "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n"
				      "Max-Forwards: 70\r\n"
				      "From: <sip:b@example.test>;tag=u1\r\n"
				      "To: <sip:a@example.test>\r\n"
				      "Call-ID: udp1@example.test\r\n"
				      "CSeq: 1 OPTIONS\r\n"
				      "Content-Length: 0\r\n\r\n";
	static const char invite[] = "INVITE sip:a@127.0.0.1 SIP/2.0\r\n"
				     "Max-Forwards: 70\r\n"
				     "From: <sip:b@example.test>;tag=u2\r\n"
				     "To: <sip:a@example.test>\r\n"
				     "Call-ID: udp2@example.test\r\n"
				     "CSeq: 1 INVITE\r\n"
				     "Content-Length: 0\r\n\r\n";
	struct world *w = mem_zalloc(sizeof(*w));
	struct txn_stats s;
	int rc = -1;

	TEST_ASSERT(w);
	w->base = event_base_new();
	if (!w->base || side_init(w, &w->a, rx_a, on_request) ||
	    side_init(w, &w->b, rx_b, NULL)) {
		TEST_FAIL_AT("set-up failed");
		goto out;
	}
	/* OPTIONS and its 200, back to the port it came from (rport) */
	if (start(w, options))
		goto out;
	run_until(w, &w->n_resp, 1, 2000);
	if (w->n_resp != 1 || w->err || w->status != 200 ||
	    strcmp(w->received, "127.0.0.1") || !w->rport[0]) {
		TEST_FAIL_AT("OPTIONS: %u responses, err %d, status %u, "
			     "received %s rport %s",
			     w->n_resp, w->err, w->status, w->received,
			     w->rport);
		goto out;
	}
	/* INVITE, 486, the ACK from b's layer confirms a's transaction:
	 * it ends after T4 (100 ms), not after Timer H (3.2 s); only the
	 * OPTIONS one, in Timer J (3.2 s), is left */
	if (start(w, invite))
		goto out;
	run_until(w, &w->n_resp, 2, 2000);
	if (w->n_resp != 2 || w->status != 486) {
		TEST_FAIL_AT("INVITE: %u responses, status %u", w->n_resp,
			     w->status);
		goto out;
	}
	run_until(w, NULL, 0, 400);
	txn_layer_stats(w->a.l, &s);
	if (txn_layer_active(w->a.l) != 1 || w->a_requests != 2 ||
	    s.requests != 2 || s.retransmissions != 0) {
		TEST_FAIL_AT("a: %zu active, %u requests",
			     txn_layer_active(w->a.l), w->a_requests);
		goto out;
	}
	rc = 0;
out:
	side_fini(&w->a);
	side_fini(&w->b);
	if (w->base)
		event_base_free(w->base);
	mem_free(w);
	return rc;
}

/* A request that fails to decode, from a plain socket: 400 back to it,
 * with received and rport. */
TEST(txn_udp_real_net_stateless_400)
{
	static const char bad[] = "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.1:5060;"
				  "branch=z9hG4bKraw;rport\r\n"
				  "From: <sip:b@example.test>;tag=r1\r\n"
				  "To: <sip:a@example.test>\r\n"
				  "Call-ID: raw@example.test\r\n"
				  "CSeq: x OPTIONS\r\n"
				  "Content-Length: 0\r\n\r\n";
	struct world *w = mem_zalloc(sizeof(*w));
	struct sockaddr_in to = {.sin_family = AF_INET}, me;
	socklen_t me_len = sizeof(me);
	char buf[2048], want[128];
	ssize_t n = -1;
	int fd = -1, rc = -1;

	TEST_ASSERT(w);
	w->base = event_base_new();
	if (!w->base || side_init(w, &w->a, rx_a, on_request))
		goto out;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	to.sin_port = htons(w->a.port);
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	if (fd < 0 ||
	    sendto(fd, bad, sizeof(bad) - 1, 0, (struct sockaddr *)&to,
		   sizeof(to)) != (ssize_t)(sizeof(bad) - 1) ||
	    getsockname(fd, (struct sockaddr *)&me, &me_len))
		goto out;
	for (int i = 0; i < 200 && n < 0; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		run_until(w, NULL, 0, 10);
		if (poll(&p, 1, 0) == 1)
			n = recv(fd, buf, sizeof(buf) - 1, 0);
	}
	if (n <= 0) {
		TEST_FAIL_AT("no answer");
		goto out;
	}
	buf[n] = '\0';
	snprintf(want, sizeof(want), ";rport=%u;received=127.0.0.1\r\n",
		 ntohs(me.sin_port));
	if (strncmp(buf, "SIP/2.0 400 Malformed CSeq header\r\n", 35) ||
	    !strstr(buf, want) || !strstr(buf, "CSeq: x OPTIONS\r\n")) {
		TEST_FAIL_AT("answer: %s", buf);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	side_fini(&w->a);
	if (w->base)
		event_base_free(w->base);
	mem_free(w);
	return rc;
}
