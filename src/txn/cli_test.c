/* SPDX-License-Identifier: BSD-3-Clause */
/* Client transaction tests: RFC 3261 §17.1.2 (timers E, F, K), §17.1.1
 * (A, B, D, the ACK for 3xx-6xx), §17.1.3 matching, §9.1 CANCEL, our Via
 * (§8.1.1.7, RFC 3581 §3). */
#include "fixture_test.h"

#include <stdio.h>
#include <string.h>

static const char REQ[] = "MESSAGE sip:alice@example.test SIP/2.0\r\n"
			  "Max-Forwards: 70\r\n"
			  "From: <sip:bob@example.test>;tag=c1\r\n"
			  "To: <sip:alice@example.test>\r\n"
			  "Call-ID: cli@example.test\r\n"
			  "CSeq: 5 MESSAGE\r\n"
			  "Content-Length: 0\r\n\r\n";

static const char INV[] = "INVITE sip:alice@example.test SIP/2.0\r\n"
			  "Route: <sip:proxy.example.test;lr>\r\n"
			  "Max-Forwards: 70\r\n"
			  "From: <sip:bob@example.test>;tag=c1\r\n"
			  "To: <sip:alice@example.test>\r\n"
			  "Call-ID: inv@example.test\r\n"
			  "CSeq: 9 INVITE\r\n"
			  "Content-Length: 0\r\n\r\n";

static int start(struct fx *f, enum net_proto proto, const char *req,
		 struct txn_cli **c)
{
	struct txn_cli_opts o = {
		.dest = {.proto = proto},
		.data = req,
		.len = strlen(req),
		.on_resp = fx_on_resp,
		.arg = f,
	};

	fx_set_addr(&o.dest.addr, "192.0.2.20", 5060);
	return txn_cli_start(f->l, &o, c);
}

/* A response to sent request i: status, To tag, CSeq method of it. */
static void respond(struct fx *f, size_t i, unsigned status, const char *to_tag)
{
	struct sip_msg *m = fx_sent_msg(f, i);
	char out[2048];

	if (!m)
		return;
	snprintf(out, sizeof(out),
		 "SIP/2.0 %u %s\r\n"
		 "Via: %.*s;received=192.0.2.99\r\n"
		 "From: <sip:bob@example.test>;tag=c1\r\n"
		 "To: <sip:alice@example.test>%s%s\r\n"
		 "Call-ID: %.*s\r\n"
		 "CSeq: %u %.*s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 status, sip_reason_phrase(status), SLICE_FMT(m->via.whole),
		 to_tag ? ";tag=" : "", to_tag ? to_tag : "",
		 SLICE_FMT(m->call_id), m->cseq.num, SLICE_FMT(m->cseq.method));
	sip_msg_free(m);
	fx_rx(f, NET_UDP, "192.0.2.20", 5060, out);
}

TEST(txn_cli_via_inserted_with_rport)
{
	struct txn_cli *c;
	struct sip_msg *m;
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 10));
	TEST_EQ_INT(start(&f, NET_UDP, REQ, &c), 0);
	TEST_EQ_INT(f.n_sent, 1);
	/* right after the request line, the rest as given */
	TEST_ASSERT(!strncmp(f.sent[0].data,
			     "MESSAGE sip:alice@example.test SIP/2.0\r\n"
			     "Via: SIP/2.0/UDP 198.51.100.1:5060;"
			     "branch=z9hG4bK",
			     81));
	TEST_ASSERT(fx_sent_has(&f, 0, ";rport\r\nMax-Forwards: 70\r\n"));
	TEST_EQ_INT(f.sent[0].len, sizeof(REQ) - 1 + 79);
	m = fx_sent_msg(&f, 0);
	TEST_ASSERT(m);
	TEST_EQ_INT(m->via.branch.len, 29);
	TEST_ASSERT(m->via.has_rport && !m->via.rport.len);
	sip_msg_free(m);
	TEST_EQ_INT(txn_addr_port(&f.sent[0].dest.addr), 5060);
	/* TLS uses its configured sent-by; each request its own branch */
	TEST_EQ_INT(start(&f, NET_TLS, REQ, &c), 0);
	TEST_ASSERT(fx_sent_has(&f, 1, "Via: SIP/2.0/TLS sip.example.test;"));
	TEST_ASSERT(strncmp(strstr(f.sent[0].data, "branch="),
			    strstr(f.sent[1].data, "branch="), 36));
	TEST_EQ_INT(txn_layer_active(f.l), 2);
	/* misuse */
	TEST_EQ_INT(start(&f, NET_UDP, "no line end", &c), -EINVAL);
	TEST_EQ_INT(start(&f, NET_UDP, "SIP/2.0 200 OK\r\n\r\n", &c), -EINVAL);
	TEST_EQ_INT(start(&f, NET_UDP,
			  "ACK sip:a@b SIP/2.0\r\nFrom: <sip:b@c>;tag=1\r\n"
			  "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 ACK\r\n"
			  "Content-Length: 0\r\n\r\n",
			  &c),
		    -EINVAL);
	TEST_EQ_INT(start(&f, NET_TCP,
			  "OPTIONS sip:a@b SIP/2.0\r\nFrom: <sip:b@c>;tag=1\r\n"
			  "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
			  "\r\n",
			  &c),
		    -EINVAL); /* no Content-Length on a stream */
	TEST_EQ_INT(txn_cli_start(NULL, NULL, &c), -EINVAL);
	TEST_EQ_INT(f.n_sent, 2);
	fx_fini(&f);
	return 0;
}

TEST(txn_cli_sent_by_fallbacks)
{
	struct txn_cli_opts o = {
		.dest = {.proto = NET_UDP},
		.data = REQ,
		.len = sizeof(REQ) - 1,
	};
	struct txn_cli *c;
	struct fx f;
	char req[1024];

	TEST_ASSERT(!fx_init_opts(&f, 10, false));
	/* nothing configured or learned: the source address of the route
	 * to the destination, at the transport's default port */
	fx_set_addr(&o.dest.addr, "127.0.0.1", 5060);
	TEST_EQ_INT(txn_cli_start(f.l, &o, &c), 0);
	TEST_ASSERT(fx_sent_has(&f, 0, "Via: SIP/2.0/UDP 127.0.0.1:5060;"));
	o.dest.proto = NET_TLS;
	TEST_EQ_INT(txn_cli_start(f.l, &o, &c), 0);
	TEST_ASSERT(fx_sent_has(&f, 1, "Via: SIP/2.0/TLS 127.0.0.1:5061;"));
	/* a flow without an address: nothing to go by */
	memset(&o.dest.addr, 0, sizeof(o.dest.addr));
	o.dest.flow = 3;
	TEST_EQ_INT(txn_cli_start(f.l, &o, &c), -EINVAL);
	/* once a request came in, the address it reached */
	f.mode = FX_IGNORE;
	fx_fmt(req, sizeof(req), &(struct fx_req){.branch = "z9hG4bKl"});
	fx_rx(&f, NET_TLS, "192.0.2.10", 5070, req);
	TEST_EQ_INT(txn_cli_start(f.l, &o, &c), 0);
	TEST_ASSERT(fx_sent_has(&f, 2, "Via: SIP/2.0/TLS 198.51.100.1:5060;"));
	TEST_EQ_INT(f.sent[2].dest.flow, 3);
	/* without a net, the default sender refuses */
	txn_layer_set_sender(f.l, NULL, NULL);
	TEST_EQ_INT(txn_cli_start(f.l, &o, &c), -EINVAL);
	fx_fini(&f);
	return 0;
}

/* Timer E over UDP: T1, 2T1, 4T1, then T2 between retransmissions. */
TEST(txn_cli_timer_e_schedule)
{
	static const unsigned at[] = {0, 20, 60, 140, 220, 300, 380};
	struct txn_cli *c;
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 20)); /* T2 = 80 */
	TEST_EQ_INT(start(&f, NET_UDP, REQ, &c), 0);
	fx_run_ms(&f, 390);
	TEST_EQ_INT(f.n_sent, ARRAY_SIZE(at));
	for (size_t i = 0; i < ARRAY_SIZE(at); i++) {
		TEST_ASSERT(f.sent[i].at_ms + 5 >= at[i]);
		TEST_ASSERT(f.sent[i].at_ms <= at[i] + 40);
		if (i) {
			uint64_t gap = f.sent[i].at_ms - f.sent[i - 1].at_ms;
			uint64_t want = at[i] - at[i - 1];

			TEST_ASSERT(gap + 5 >= want && gap <= want + 30);
		}
		TEST_EQ_INT(f.sent[i].len, f.sent[0].len);
		TEST_ASSERT(
			!memcmp(f.sent[i].data, f.sent[0].data, f.sent[0].len));
	}
	TEST_EQ_INT(f.n_resp, 0);
	fx_fini(&f);
	return 0;
}

TEST(txn_cli_timer_f_timeout)
{
	struct txn_stats s;
	struct txn_cli *c;
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 5)); /* F = 320 ms */
	TEST_EQ_INT(start(&f, NET_UDP, REQ, &c), 0);
	fx_run_ms(&f, 280);
	TEST_EQ_INT(f.n_resp, 0);
	fx_run_ms(&f, 100);
	TEST_EQ_INT(f.n_resp, 1);
	TEST_EQ_INT(f.last_err, -ETIMEDOUT);
	TEST_EQ_INT(f.statuses[0], 0);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	txn_layer_stats(f.l, &s);
	TEST_EQ_INT(s.client_timeouts, 1);
	/* retransmissions stop with it */
	{
		size_t n = f.n_sent;

		fx_run_ms(&f, 60);
		TEST_EQ_INT(f.n_sent, n);
	}
	fx_fini(&f);
	return 0;
}

TEST(txn_cli_provisional_then_final_then_timer_k)
{
	struct txn_stats s;
	struct txn_cli *c;
	struct fx f;
	size_t n;

	TEST_ASSERT(!fx_init(&f, 20)); /* T2 = 80, T4 = 100 */
	TEST_EQ_INT(start(&f, NET_UDP, REQ, &c), 0);
	respond(&f, 0, 100, NULL);
	TEST_EQ_INT(f.n_resp, 1);
	TEST_EQ_INT(f.statuses[0], 100);
	TEST_EQ_INT(f.last_err, 0);
	/* E goes on in Proceeding: 20 (already due), then T2 apart */
	fx_run_ms(&f, 150);
	TEST_EQ_INT(f.n_sent, 3); /* 0, 20, 100 */
	TEST_ASSERT(f.sent[2].at_ms >= f.sent[1].at_ms + 75);
	respond(&f, 0, 200, "srv");
	TEST_EQ_INT(f.n_resp, 2);
	TEST_EQ_INT(f.statuses[1], 200);
	/* Completed: retransmitted finals absorbed, no more requests */
	respond(&f, 0, 200, "srv");
	respond(&f, 0, 180, NULL);
	TEST_EQ_INT(f.n_resp, 2);
	n = f.n_sent;
	TEST_EQ_INT(txn_layer_active(f.l), 1);
	fx_run_ms(&f, 130); /* K = T4 */
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	TEST_EQ_INT(f.n_sent, n);
	txn_layer_stats(f.l, &s);
	TEST_EQ_INT(s.retransmissions, 2);
	/* a response nobody waits for */
	respond(&f, 0, 200, "srv");
	TEST_EQ_INT(f.n_resp, 2);
	fx_fini(&f);
	return 0;
}

TEST(txn_cli_matching_branch_and_method)
{
	struct txn_cli *c;
	struct sip_msg *m;
	struct fx f;
	char out[2048];

	TEST_ASSERT(!fx_init(&f, 10));
	TEST_EQ_INT(start(&f, NET_UDP, REQ, &c), 0);
	m = fx_sent_msg(&f, 0);
	TEST_ASSERT(m);
	/* same branch, other CSeq method: not ours (§17.1.3) */
	snprintf(out, sizeof(out),
		 "SIP/2.0 200 OK\r\nVia: %.*s\r\n"
		 "From: <sip:bob@example.test>;tag=c1\r\n"
		 "To: <sip:alice@example.test>;tag=2\r\n"
		 "Call-ID: cli@example.test\r\nCSeq: 5 OPTIONS\r\n"
		 "Content-Length: 0\r\n\r\n",
		 SLICE_FMT(m->via.whole));
	fx_rx(&f, NET_UDP, "192.0.2.20", 5060, out);
	TEST_EQ_INT(f.n_resp, 0);
	/* the branch in another case still matches (§7.3.1) */
	snprintf(out, sizeof(out),
		 "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x;branch=%.*s\r\n"
		 "From: <sip:bob@example.test>;tag=c1\r\n"
		 "To: <sip:alice@example.test>;tag=2\r\n"
		 "Call-ID: cli@example.test\r\nCSeq: 5 MESSAGE\r\n"
		 "Content-Length: 0\r\n\r\n",
		 SLICE_FMT(m->via.branch));
	for (char *p = strstr(out, "branch=") + 14; *p != '\r'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	sip_msg_free(m);
	fx_rx(&f, NET_UDP, "192.0.2.20", 5060, out);
	TEST_EQ_INT(f.n_resp, 1);
	TEST_EQ_INT(f.statuses[0], 200);
	/* no branch at all */
	fx_rx(&f, NET_UDP, "192.0.2.20", 5060,
	      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x\r\n"
	      "From: <sip:b@c>;tag=1\r\nTo: <sip:a@b>\r\n"
	      "Call-ID: x\r\nCSeq: 5 MESSAGE\r\nContent-Length: 0\r\n\r\n");
	TEST_EQ_INT(f.n_resp, 1);
	fx_fini(&f);
	return 0;
}

TEST(txn_cli_invite_ack_for_486)
{
	struct txn_cli *c;
	struct sip_msg *inv, *ack;
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 10));
	TEST_EQ_INT(start(&f, NET_UDP, INV, &c), 0);
	respond(&f, 0, 180, NULL);
	TEST_EQ_INT(f.n_resp, 1);
	/* Proceeding: Timer A stops */
	fx_run_ms(&f, 60);
	TEST_EQ_INT(f.n_sent, 1);
	respond(&f, 0, 486, "busy1");
	TEST_EQ_INT(f.n_resp, 2);
	TEST_EQ_INT(f.statuses[1], 486);
	TEST_EQ_INT(f.n_sent, 2);
	inv = fx_sent_msg(&f, 0);
	ack = fx_sent_msg(&f, 1);
	TEST_ASSERT(inv && ack);
	/* §17.1.1.3 */
	TEST_EQ_INT(ack->method_id, SIP_METHOD_ACK);
	TEST_ASSERT(slice_eq(ack->ruri_s, inv->ruri_s));
	TEST_ASSERT(slice_eq(ack->via.whole, inv->via.whole));
	TEST_EQ_INT(ack->n_via, 1);
	TEST_EQ_SLICE(ack->to.tag, "busy1");
	TEST_ASSERT(slice_eq(ack->from.tag, inv->from.tag));
	TEST_ASSERT(slice_eq(ack->call_id, inv->call_id));
	TEST_EQ_INT(ack->cseq.num, 9);
	TEST_EQ_SLICE(ack->cseq.method, "ACK");
	TEST_EQ_SLICE(sip_msg_hdr(ack, SIP_HDR_ROUTE)->value,
		      "<sip:proxy.example.test;lr>");
	TEST_EQ_INT(ack->body.len, 0);
	sip_msg_free(inv);
	sip_msg_free(ack);
	/* the retransmitted 486 gets the same ACK, not the owner */
	respond(&f, 0, 486, "busy1");
	TEST_EQ_INT(f.n_resp, 2);
	TEST_EQ_INT(f.n_sent, 3);
	TEST_EQ_INT(f.sent[2].len, f.sent[1].len);
	TEST_ASSERT(!memcmp(f.sent[2].data, f.sent[1].data, f.sent[1].len));
	/* Timer D = 64*T1 */
	fx_run_ms(&f, 600);
	TEST_EQ_INT(txn_layer_active(f.l), 1);
	fx_run_ms(&f, 100);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	fx_fini(&f);
	return 0;
}

TEST(txn_cli_invite_timer_a_and_b)
{
	static const unsigned at[] = {0, 10, 30, 70, 150, 310};
	struct txn_cli *c;
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 10)); /* B = 640 ms */
	TEST_EQ_INT(start(&f, NET_UDP, INV, &c), 0);
	fx_run_ms(&f, 600);
	/* Timer A doubles without the T2 cap (§17.1.1.2) */
	TEST_EQ_INT(f.n_sent, ARRAY_SIZE(at));
	for (size_t i = 0; i < ARRAY_SIZE(at); i++) {
		TEST_ASSERT(f.sent[i].at_ms + 5 >= at[i]);
		TEST_ASSERT(f.sent[i].at_ms <= at[i] + 40);
	}
	TEST_EQ_INT(f.n_resp, 0);
	fx_run_ms(&f, 80);
	TEST_EQ_INT(f.n_resp, 1);
	TEST_EQ_INT(f.last_err, -ETIMEDOUT);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	fx_fini(&f);
	return 0;
}

TEST(txn_cli_invite_2xx_goes_up)
{
	struct txn_cli *c;
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 10));
	TEST_EQ_INT(start(&f, NET_UDP, INV, &c), 0);
	respond(&f, 0, 200, "ok");
	TEST_EQ_INT(f.n_resp, 1);
	TEST_EQ_INT(f.statuses[0], 200);
	/* no ACK from the layer for a 2xx; the transaction is over */
	TEST_EQ_INT(f.n_sent, 1);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	fx_fini(&f);
	return 0;
}

TEST(txn_cli_reliable_no_retransmissions)
{
	struct txn_cli *c;
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 10));
	f.send_flow = 42;
	TEST_EQ_INT(start(&f, NET_TCP, INV, &c), 0);
	TEST_ASSERT(fx_sent_has(&f, 0, "Via: SIP/2.0/TCP 198.51.100.1:5060;"));
	fx_run_ms(&f, 100);
	TEST_EQ_INT(f.n_sent, 1);
	/* the ACK goes over the connection the INVITE used; D is 0 */
	respond(&f, 0, 603, "no");
	TEST_EQ_INT(f.n_sent, 2);
	TEST_EQ_INT(fx_sent_method(&f, 1), SIP_METHOD_ACK);
	TEST_EQ_INT(f.sent[1].dest.flow, 42);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	/* non-INVITE on a stream: K is 0 */
	TEST_EQ_INT(start(&f, NET_TCP, REQ, &c), 0);
	respond(&f, 2, 200, "ok");
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	TEST_EQ_INT(f.n_resp, 2);
	fx_fini(&f);
	return 0;
}

TEST(txn_cli_cancel_reuses_invite_via)
{
	static const char cancel[] = "CANCEL sip:alice@example.test SIP/2.0\r\n"
				     "Max-Forwards: 70\r\n"
				     "From: <sip:bob@example.test>;tag=c1\r\n"
				     "To: <sip:alice@example.test>\r\n"
				     "Call-ID: inv@example.test\r\n"
				     "CSeq: 9 CANCEL\r\n"
				     "Content-Length: 0\r\n\r\n";
	struct txn_cli *c;
	struct sip_msg *a, *b;
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 10));
	TEST_EQ_INT(start(&f, NET_UDP, INV, &c), 0);
	respond(&f, 0, 180, NULL);
	TEST_EQ_INT(start(&f, NET_UDP, cancel, &c), 0);
	a = fx_sent_msg(&f, 0);
	b = fx_sent_msg(&f, 1);
	TEST_ASSERT(a && b);
	TEST_EQ_INT(b->method_id, SIP_METHOD_CANCEL);
	TEST_ASSERT(slice_eq(a->via.whole, b->via.whole));
	sip_msg_free(a);
	sip_msg_free(b);
	TEST_EQ_INT(txn_layer_active(f.l), 2);
	/* the responses go each to its own transaction */
	respond(&f, 1, 200, "t");
	TEST_EQ_INT(f.n_resp, 2);
	respond(&f, 0, 487, "t");
	TEST_EQ_INT(f.n_resp, 3);
	TEST_EQ_INT(f.statuses[2], 487);
	TEST_EQ_INT(fx_sent_method(&f, 2), SIP_METHOD_ACK);
	/* a CANCEL for no INVITE of ours gets a fresh branch */
	TEST_EQ_INT(start(&f, NET_UDP,
			  "CANCEL sip:alice@example.test SIP/2.0\r\n"
			  "From: <sip:bob@example.test>;tag=c1\r\n"
			  "To: <sip:alice@example.test>\r\n"
			  "Call-ID: none@example.test\r\nCSeq: 1 CANCEL\r\n"
			  "Content-Length: 0\r\n\r\n",
			  &c),
		    0);
	fx_fini(&f);
	return 0;
}

TEST(txn_cli_abandon_is_quiet)
{
	struct txn_cli *c;
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 5));
	TEST_EQ_INT(start(&f, NET_UDP, REQ, &c), 0);
	txn_cli_abandon(c);
	txn_cli_abandon(NULL);
	respond(&f, 0, 100, NULL);
	fx_run_ms(&f, 400); /* past F */
	TEST_EQ_INT(f.n_resp, 0);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	TEST_ASSERT(f.n_sent > 3); /* it still retransmitted */
	fx_fini(&f);
	return 0;
}

TEST(txn_cli_transport_errors)
{
	struct txn_cli *c = NULL;
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 10));
	/* at once: returned, nothing left behind, no callback */
	f.send_err = -EMSGSIZE;
	TEST_EQ_INT(start(&f, NET_UDP, REQ, &c), -EMSGSIZE);
	TEST_ASSERT(!c);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	/* on a retransmission: reported through the callback (§17.1.4) */
	f.send_err = 0;
	TEST_EQ_INT(start(&f, NET_UDP, REQ, &c), 0);
	f.send_err = -ENETUNREACH;
	fx_run_ms(&f, 15);
	TEST_EQ_INT(f.n_resp, 1);
	TEST_EQ_INT(f.last_err, -ENETUNREACH);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	fx_fini(&f);
	return 0;
}

/* The final callback may free the whole layer. */
TEST(txn_cli_layer_freed_in_callback)
{
	struct txn_cli *c;
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 10));
	TEST_EQ_INT(start(&f, NET_UDP, REQ, &c), 0);
	TEST_EQ_INT(start(&f, NET_UDP, INV, &c), 0);
	f.free_layer_in_cb = true;
	respond(&f, 0, 404, "x");
	TEST_EQ_INT(f.n_resp, 1);
	TEST_ASSERT(!f.l);
	fx_run_ms(&f, 30);
	TEST_EQ_INT(f.n_resp, 1);
	fx_fini(&f);

	TEST_ASSERT(!fx_init(&f, 5));
	TEST_EQ_INT(start(&f, NET_UDP, INV, &c), 0);
	f.free_layer_in_cb = true;
	fx_run_ms(&f, 400); /* timer B calls back */
	TEST_EQ_INT(f.n_resp, 1);
	TEST_ASSERT(!f.l);
	fx_fini(&f);
	return 0;
}
