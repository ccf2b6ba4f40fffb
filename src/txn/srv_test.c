/* SPDX-License-Identifier: BSD-3-Clause */
/* Server transaction tests: RFC 3261 §17.2.1 (INVITE), §17.2.2
 * (non-INVITE), §9.2 (CANCEL), RFC 2543 matching, §18.2 received/rport. */
#include "fixture_test.h"

#include <arpa/inet.h>

static const char B1[] = "z9hG4bKsrv1";

TEST(txn_srv_new_request_once_retransmission_absorbed)
{
	struct fx f;
	struct txn_stats s;
	char req[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	f.mode = FX_HOLD;
	fx_fmt(req, sizeof(req), &(struct fx_req){.branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_requests, 1);
	TEST_ASSERT(f.held && txn_srv_is_pending(f.held));
	TEST_EQ_INT(txn_layer_active(f.l), 1);
	/* Trying: the retransmission is absorbed silently */
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_requests, 1);
	TEST_EQ_INT(f.n_sent, 0);
	/* the final answer, then the retransmission gets it again */
	TEST_EQ_INT(txn_srv_reply(f.held, 200, NULL, NULL), 0);
	TEST_ASSERT(!txn_srv_is_pending(f.held));
	TEST_EQ_INT(txn_srv_reply(f.held, 202, NULL, NULL), -EINVAL);
	TEST_EQ_INT(f.n_sent, 1);
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_requests, 1);
	TEST_EQ_INT(f.n_sent, 2);
	TEST_EQ_INT(f.sent[1].len, f.sent[0].len);
	TEST_ASSERT(!memcmp(f.sent[1].data, f.sent[0].data, f.sent[0].len));
	TEST_EQ_INT(fx_sent_status(&f, 1), 200);
	txn_layer_stats(f.l, &s);
	TEST_EQ_INT(s.requests, 1);
	TEST_EQ_INT(s.retransmissions, 2);
	/* a different branch is a new transaction */
	fx_fmt(req, sizeof(req), &(struct fx_req){.branch = "z9hG4bKother"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_requests, 2);
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_proceeding_resends_provisional)
{
	struct fx f;
	char req[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	f.mode = FX_HOLD;
	fx_fmt(req, sizeof(req), &(struct fx_req){.branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(txn_srv_reply(f.held, 100, NULL, NULL), 0);
	TEST_ASSERT(txn_srv_is_pending(f.held));
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_sent, 2);
	TEST_EQ_INT(fx_sent_status(&f, 1), 100);
	/* a 100 carries no To tag (§8.2.6.2) */
	TEST_ASSERT(!fx_sent_has(&f, 1, "tag=") ||
		    fx_sent_has(&f, 1, "To: <sip:alice@example.test>\r\n"));
	TEST_EQ_INT(txn_srv_reply(f.held, 404, NULL, NULL), 0);
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_sent, 4);
	TEST_EQ_INT(fx_sent_status(&f, 3), 404);
	TEST_EQ_INT(f.n_requests, 1);
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_timer_j_cleans_up)
{
	struct fx f;
	char req[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	fx_fmt(req, sizeof(req), &(struct fx_req){.branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_sent, 1);
	TEST_EQ_INT(txn_layer_active(f.l), 1);
	/* J = 64*T1 = 640 ms: still there before, gone after */
	fx_run_ms(&f, 500);
	TEST_EQ_INT(txn_layer_active(f.l), 1);
	fx_run_ms(&f, 250);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	/* no retransmission of a non-INVITE final on its own */
	TEST_EQ_INT(f.n_sent, 1);
	/* a request now starts afresh */
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_requests, 2);
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_reliable_ends_at_final)
{
	struct fx f;
	char req[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.branch = B1, .via_proto = "TCP"});
	fx_rx(&f, NET_TCP, "192.0.2.10", 40000, req);
	/* J is zero on a stream; the answer goes over the flow, with the
	 * sent-by port to reconnect to should the flow be gone */
	TEST_EQ_INT(f.n_sent, 1);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	TEST_EQ_INT(f.sent[0].dest.proto, NET_TCP);
	TEST_EQ_INT(f.sent[0].dest.flow, 7);
	TEST_EQ_INT(txn_addr_port(&f.sent[0].dest.addr), 5070);
	/* INVITE on a stream: no Timer G; ACK ends it at once (I = 0) */
	f.reply_status = 486;
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){
		       .method = "INVITE", .branch = B1, .via_proto = "TCP"});
	fx_rx(&f, NET_TCP, "192.0.2.10", 40000, req);
	TEST_EQ_INT(f.n_sent, 2);
	TEST_EQ_INT(txn_layer_active(f.l), 1);
	fx_run_ms(&f, 60);
	TEST_EQ_INT(f.n_sent, 2);
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_invite_auto_100)
{
	struct fx f;
	struct sip_msg *m;
	char req[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	f.mode = FX_HOLD;
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE", .branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_sent, 0);
	fx_run_ms(&f, 150);
	TEST_EQ_INT(f.n_sent, 0);
	fx_run_ms(&f, 100);
	TEST_EQ_INT(f.n_sent, 1);
	m = fx_sent_msg(&f, 0);
	TEST_ASSERT(m);
	TEST_EQ_INT(m->status, 100);
	TEST_ASSERT(!m->to.tag.p);
	sip_msg_free(m);
	TEST_ASSERT(txn_srv_is_pending(f.held));
	/* the retransmitted INVITE gets the 100 again */
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_sent, 2);
	TEST_EQ_INT(fx_sent_status(&f, 1), 100);
	TEST_EQ_INT(f.n_requests, 1);
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_invite_early_retransmission_gets_100)
{
	struct fx f;
	char req[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	f.mode = FX_HOLD;
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE", .branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_sent, 1);
	TEST_EQ_INT(fx_sent_status(&f, 0), 100);
	/* a handler's 180 replaces it, and no second 100 comes */
	TEST_EQ_INT(txn_srv_reply(f.held, 180, NULL, NULL), 0);
	fx_run_ms(&f, 250);
	TEST_EQ_INT(f.n_sent, 2);
	TEST_EQ_INT(fx_sent_status(&f, 1), 180);
	fx_fini(&f);
	return 0;
}

/* Timer G: T1, 2T1, 4T1, then T2 (= 4T1 here) between retransmissions. */
TEST(txn_srv_invite_486_timer_g_until_ack)
{
	struct fx f;
	struct sip_msg *m;
	struct txn_stats s;
	char req[1024], ack[1024], tag[64];
	size_t n;

	TEST_ASSERT(!fx_init(&f, 20));
	f.reply_status = 486;
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE", .branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_sent, 1);
	fx_run_ms(&f, 230); /* sends at 20, 60, 140, 220 */
	TEST_EQ_INT(f.n_sent, 5);
	for (size_t i = 1; i < f.n_sent; i++) {
		static const unsigned at[] = {0, 20, 60, 140, 220};

		TEST_EQ_INT(fx_sent_status(&f, i), 486);
		TEST_ASSERT(f.sent[i].at_ms + 5 >= at[i]);
		TEST_ASSERT(f.sent[i].at_ms <= at[i] + 40);
	}
	m = fx_sent_msg(&f, 0);
	TEST_ASSERT(m && m->to.tag.len > 0 && m->to.tag.len < sizeof(tag));
	memcpy(tag, m->to.tag.p, m->to.tag.len);
	tag[m->to.tag.len] = '\0';
	sip_msg_free(m);
	/* the ACK: Confirmed, no more retransmissions, not for the handler */
	fx_fmt(ack, sizeof(ack),
	       &(struct fx_req){.method = "ACK", .branch = B1, .to_tag = tag});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, ack);
	n = f.n_sent;
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, ack);
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_sent, n);
	TEST_EQ_INT(f.n_requests, 1);
	TEST_EQ_INT(txn_layer_active(f.l), 1);
	/* Timer I = T4 = 100 ms */
	fx_run_ms(&f, 130);
	TEST_EQ_INT(f.n_sent, n);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	txn_layer_stats(f.l, &s);
	TEST_EQ_INT(s.retransmissions, 2);
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_invite_timer_h)
{
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 10));
	f.reply_status = 486;
	{
		char req[1024];

		fx_fmt(req, sizeof(req),
		       &(struct fx_req){.method = "INVITE", .branch = B1});
		fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	}
	/* H = 64*T1 = 640 ms; G at 10, 30, 70, then every 40 ms */
	fx_run_ms(&f, 600);
	TEST_EQ_INT(txn_layer_active(f.l), 1);
	TEST_ASSERT(f.n_sent >= 14);
	fx_run_ms(&f, 120);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	{
		size_t n = f.n_sent;

		fx_run_ms(&f, 100);
		TEST_EQ_INT(f.n_sent, n);
	}
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_invite_2xx_ends_and_ack_goes_up)
{
	struct fx f;
	char req[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE", .branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_sent, 1);
	TEST_EQ_INT(fx_sent_status(&f, 0), 200);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	/* the ACK for the 2xx is a new request for the handler, which
	 * cannot answer it */
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "ACK",
				.branch = "z9hG4bKack2xx",
				.to_tag = "x"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_requests, 2);
	TEST_EQ_INT(f.last_method, SIP_METHOD_ACK);
	TEST_ASSERT(!f.last_pending);
	TEST_EQ_INT(f.n_sent, 1);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_cancel_200_and_487)
{
	struct fx f;
	struct sip_msg *a, *b;
	char req[1024], cancel[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	f.mode = FX_HOLD;
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE", .branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_ASSERT(f.held);
	fx_fmt(cancel, sizeof(cancel),
	       &(struct fx_req){.method = "CANCEL", .branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, cancel);
	/* 200 for the CANCEL, 487 for the INVITE, same To tag (§9.2) */
	TEST_EQ_INT(f.n_sent, 2);
	a = fx_sent_msg(&f, 0);
	b = fx_sent_msg(&f, 1);
	TEST_ASSERT(a && b);
	TEST_EQ_INT(a->status, 200);
	TEST_EQ_SLICE(a->cseq.method, "CANCEL");
	TEST_EQ_INT(b->status, 487);
	TEST_EQ_SLICE(b->cseq.method, "INVITE");
	TEST_ASSERT(a->to.tag.len && slice_eq(a->to.tag, b->to.tag));
	sip_msg_free(a);
	sip_msg_free(b);
	/* the handler heard of the CANCEL, already answered */
	TEST_EQ_INT(f.n_requests, 2);
	TEST_EQ_INT(f.last_method, SIP_METHOD_CANCEL);
	TEST_ASSERT(!f.last_pending);
	TEST_ASSERT(!txn_srv_is_pending(f.held));
	TEST_EQ_INT(txn_srv_reply(f.held, 200, NULL, NULL), -EINVAL);
	/* a retransmitted CANCEL gets its 200 again */
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, cancel);
	TEST_EQ_INT(f.n_sent, 3);
	TEST_EQ_INT(fx_sent_status(&f, 2), 200);
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_cancel_unknown_goes_to_handler)
{
	struct fx f;
	char cancel[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	f.reply_status = 481;
	fx_fmt(cancel, sizeof(cancel),
	       &(struct fx_req){.method = "CANCEL", .branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, cancel);
	TEST_EQ_INT(f.n_requests, 1);
	TEST_ASSERT(f.last_pending);
	TEST_EQ_INT(f.n_sent, 1);
	TEST_EQ_INT(fx_sent_status(&f, 0), 481);
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_unanswered_gets_500)
{
	struct fx f;
	char req[1024];

	TEST_ASSERT(!fx_init(&f, 5));
	f.mode = FX_IGNORE;
	fx_fmt(req, sizeof(req), &(struct fx_req){.branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	/* the guard fires at 64*T1 = 320 ms */
	fx_run_ms(&f, 250);
	TEST_EQ_INT(f.n_sent, 0);
	fx_run_ms(&f, 120);
	TEST_EQ_INT(f.n_sent, 1);
	TEST_EQ_INT(fx_sent_status(&f, 0), 500);
	/* then Timer J runs its course */
	TEST_EQ_INT(txn_layer_active(f.l), 1);
	fx_run_ms(&f, 350);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_async_answer_with_ref)
{
	struct fx f;
	struct txn_srv *late;
	char req[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	f.mode = FX_HOLD;
	fx_fmt(req, sizeof(req), &(struct fx_req){.branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	fx_run_ms(&f, 20);
	TEST_EQ_INT(txn_srv_reply(f.held, 202, NULL, NULL), 0);
	TEST_EQ_INT(fx_sent_status(&f, 0), 202);
	/* after Timer J the layer lets go; our reference still works */
	fx_run_ms(&f, 700);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	TEST_ASSERT(txn_srv_msg(f.held) && txn_srv_source(f.held));
	TEST_EQ_INT(txn_srv_source(f.held)->proto, NET_UDP);
	TEST_ASSERT(!txn_srv_is_pending(f.held));
	TEST_EQ_INT(txn_srv_reply(f.held, 200, NULL, NULL), -EINVAL);
	f.held = txn_srv_unref(f.held);
	TEST_ASSERT(!f.held);
	/* a reference outliving the layer: cancelled, freed on unref */
	fx_fmt(req, sizeof(req), &(struct fx_req){.branch = "z9hG4bKlate"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	late = f.held;
	f.held = NULL;
	TEST_ASSERT(late && txn_srv_is_pending(late));
	txn_layer_free(f.l);
	f.l = NULL;
	TEST_ASSERT(!txn_srv_is_pending(late));
	TEST_EQ_INT(txn_srv_reply(late, 200, NULL, NULL), -EINVAL);
	TEST_ASSERT(txn_srv_msg(late));
	late = txn_srv_unref(late);
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_received_and_rport)
{
	struct fx f;
	struct sip_msg *m;
	char req[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	/* a name as sent-by, with rport: received and rport=source port,
	 * sent back to the source port (RFC 3581 §4) */
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.branch = B1,
				.sent_by = "ua.example.test",
				.has_rport = true});
	fx_rx(&f, NET_UDP, "192.0.2.10", 40123, req);
	m = fx_sent_msg(&f, 0);
	TEST_ASSERT(m);
	TEST_EQ_SLICE(m->via.received, "192.0.2.10");
	TEST_EQ_SLICE(m->via.rport, "40123");
	TEST_EQ_SLICE(m->via.branch, B1);
	sip_msg_free(m);
	TEST_EQ_INT(txn_addr_port(&f.sent[0].dest.addr), 40123);
	TEST_EQ_INT(f.sent[0].dest.flow, 7);
	/* the literal source address as sent-by, no rport: unchanged, to
	 * the sent-by port (§18.2.2) */
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.branch = "z9hG4bKb2",
				.sent_by = "192.0.2.10:5080"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 40123, req);
	TEST_ASSERT(fx_sent_has(&f, 1,
				"Via: SIP/2.0/UDP 192.0.2.10:5080;"
				"branch=z9hG4bKb2\r\n"));
	TEST_EQ_INT(txn_addr_port(&f.sent[1].dest.addr), 5080);
	/* another address, no port, no rport: received, port 5060 */
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.branch = "z9hG4bKb3",
				.sent_by = "203.0.113.5"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 40123, req);
	m = fx_sent_msg(&f, 2);
	TEST_ASSERT(m);
	TEST_EQ_SLICE(m->via.received, "192.0.2.10");
	TEST_ASSERT(!m->via.has_rport);
	sip_msg_free(m);
	TEST_EQ_INT(txn_addr_port(&f.sent[2].dest.addr), 5060);
	/* IPv6 source: received without brackets */
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.branch = "z9hG4bKb4",
				.sent_by = "[2001:db8::1]:5070",
				.has_rport = true});
	fx_rx(&f, NET_UDP, "2001:db8::2", 5071, req);
	TEST_ASSERT(fx_sent_has(&f, 3, ";rport=5071;received=2001:db8::2"));
	/* the same IPv6 address in another spelling is the source */
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.branch = "z9hG4bKb5",
				.sent_by = "[2001:DB8:0::2]:5070"});
	fx_rx(&f, NET_UDP, "2001:db8::2", 5071, req);
	TEST_ASSERT(!fx_sent_has(&f, 4, "received="));
	fx_fini(&f);
	return 0;
}

/* RFC 3261 §17.2.3 for RFC 2543 peers: no magic cookie in the branch. */
TEST(txn_srv_rfc2543_matching)
{
	struct fx f;
	struct sip_msg *m;
	char req[1024], ack[1024], tag[64];

	TEST_ASSERT(!fx_init(&f, 10));
	f.reply_status = 486;
	fx_fmt(req, sizeof(req), &(struct fx_req){.method = "INVITE"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_requests, 1);
	TEST_EQ_INT(f.n_sent, 1);
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_requests, 1);
	TEST_EQ_INT(f.n_sent, 2);
	/* another CSeq, another Call-ID, another branch-less Via: new */
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE", .cseq = 2});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_requests, 2);
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE", .call_id = "other@x"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_requests, 3);
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE", .branch = "old1"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_requests, 4);
	/* an ACK with a wrong To tag is not for the transaction */
	fx_fmt(ack, sizeof(ack),
	       &(struct fx_req){.method = "ACK", .to_tag = "wrong"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, ack);
	TEST_EQ_INT(f.n_requests, 5);
	TEST_EQ_INT(f.last_method, SIP_METHOD_ACK);
	/* the right one confirms it silently */
	m = fx_sent_msg(&f, 0);
	TEST_ASSERT(m && m->to.tag.len && m->to.tag.len < sizeof(tag));
	memcpy(tag, m->to.tag.p, m->to.tag.len);
	tag[m->to.tag.len] = '\0';
	sip_msg_free(m);
	fx_fmt(ack, sizeof(ack),
	       &(struct fx_req){.method = "ACK", .to_tag = tag});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, ack);
	TEST_EQ_INT(f.n_requests, 5);
	/* the cookie-less CANCEL finds its INVITE too (§9.2) */
	f.mode = FX_HOLD;
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE", .cseq = 9});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "CANCEL", .cseq = 9});
	{
		size_t n = f.n_sent;

		fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
		TEST_EQ_INT(f.n_sent, n + 2);
		TEST_EQ_INT(fx_sent_status(&f, n + 1), 487);
	}
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_reply_options)
{
	struct fx f;
	struct sip_msg *m;
	char req[1024];
	static const char *const hdrs[] = {"Expires: 60", "X-Test:  spaced  "};
	static const char *const bad[] = {"no colon here"};
	static const char *const inject[] = {"X-A: a\r\nX-B: b"};
	static const char resp[] = "SIP/2.0 202 Accepted\r\n"
				   "Via: SIP/2.0/UDP 192.0.2.10:5070;"
				   "branch=z9hG4bKsrv1\r\n"
				   "From: <sip:bob@example.test>;tag=ft1\r\n"
				   "To: <sip:alice@example.test>;tag=raw1\r\n"
				   "Call-ID: c1@example.test\r\n"
				   "CSeq: 1 MESSAGE\r\n"
				   "Content-Length: 0\r\n\r\n";

	TEST_ASSERT(!fx_init(&f, 10));
	f.mode = FX_HOLD;
	fx_fmt(req, sizeof(req), &(struct fx_req){.branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(txn_srv_reply(
			    f.held, 200, "Fine",
			    &(struct txn_reply_opts){.hdrs = bad, .n_hdrs = 1}),
		    -EINVAL);
	TEST_EQ_INT(txn_srv_reply(f.held, 200, NULL,
				  &(struct txn_reply_opts){.hdrs = inject,
							   .n_hdrs = 1}),
		    -EINVAL);
	TEST_EQ_INT(txn_srv_reply(f.held, 99, NULL, NULL), -EINVAL);
	TEST_EQ_INT(txn_srv_reply_raw(f.held, 200, resp, sizeof(resp) - 1),
		    -EINVAL);
	TEST_EQ_INT(txn_srv_reply_raw(f.held, 202, "garbage", 7), -EINVAL);
	TEST_EQ_INT(f.n_sent, 0);
	TEST_ASSERT(txn_srv_is_pending(f.held));
	/* a transport failure leaves it pending */
	f.send_err = -EMSGSIZE;
	TEST_EQ_INT(txn_srv_reply(f.held, 200, NULL, NULL), -EMSGSIZE);
	TEST_ASSERT(txn_srv_is_pending(f.held));
	f.send_err = 0;
	TEST_EQ_INT(txn_srv_reply(f.held, 200, "Fine",
				  &(struct txn_reply_opts){
					  .hdrs = hdrs,
					  .n_hdrs = 2,
					  .ctype = "text/plain",
					  .body = SLICE_LIT("hello"),
					  .to_tag = "mytag",
				  }),
		    0);
	m = fx_sent_msg(&f, 0);
	TEST_ASSERT(m);
	TEST_EQ_INT(m->status, 200);
	TEST_EQ_SLICE(m->reason, "Fine");
	TEST_EQ_SLICE(m->to.tag, "mytag");
	TEST_EQ_SLICE(m->body, "hello");
	TEST_ASSERT(m->has_expires && m->expires == 60);
	TEST_EQ_SLICE(sip_msg_hdr_named(m, "X-Test")->value, "spaced");
	TEST_EQ_SLICE(m->ctype.subtype, "plain");
	sip_msg_free(m);
	fx_fini(&f);

	/* a raw reply goes out as given */

	TEST_ASSERT(!fx_init(&f, 10));
	f.mode = FX_HOLD;
	fx_fmt(req, sizeof(req), &(struct fx_req){.branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(txn_srv_reply_raw(f.held, 202, resp, sizeof(resp) - 1), 0);
	TEST_EQ_INT(f.n_sent, 1);
	TEST_EQ_INT(f.sent[0].len, sizeof(resp) - 1);
	TEST_ASSERT(!memcmp(f.sent[0].data, resp, sizeof(resp) - 1));
	TEST_EQ_INT(txn_srv_reply_raw(f.held, 202, resp, sizeof(resp) - 1),
		    -EINVAL);
	fx_fini(&f);
	return 0;
}

TEST(txn_srv_source_kept)
{
	struct fx f;
	const struct txn_source *src;
	char req[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	f.mode = FX_HOLD;
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.branch = B1,
				.via_proto = "TLS",
				.sent_by = "ua.example.test"});
	fx_rx(&f, NET_TLS, "192.0.2.10", 40000, req);
	src = txn_srv_source(f.held);
	TEST_ASSERT(src);
	TEST_EQ_INT(src->proto, NET_TLS);
	TEST_EQ_INT(src->flow, 7);
	TEST_EQ_INT(txn_addr_port(&src->peer), 40000);
	TEST_EQ_INT(txn_addr_port(&src->local), 5060);
	TEST_ASSERT(!src->peer_cert);
	TEST_EQ_STR(src->sni, "");
	TEST_EQ_INT(txn_srv_reply(f.held, 200, NULL, NULL), 0);
	/* TLS without a sent-by port: 5061 to reconnect to */
	TEST_EQ_INT(txn_addr_port(&f.sent[0].dest.addr), 5061);
	TEST_EQ_INT(f.sent[0].dest.flow, 7);
	TEST_ASSERT(!txn_srv_msg(NULL) && !txn_srv_source(NULL));
	TEST_ASSERT(!txn_srv_is_pending(NULL));
	TEST_ASSERT(!txn_srv_ref(NULL) && !txn_srv_unref(NULL));
	fx_fini(&f);
	return 0;
}

/* One To tag for every response of a transaction (§8.2.6.2), the
 * handler's when it chose one, also on the layer's 487 and the CANCEL's
 * 200 (§9.2). */
TEST(txn_srv_to_tag_consistent)
{
	struct fx f;
	char req[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	f.mode = FX_HOLD;
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE", .branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_ASSERT(f.held);
	TEST_EQ_INT(txn_srv_reply(f.held, 180, NULL,
				  &(struct txn_reply_opts){.to_tag = "h1"}),
		    0);
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "CANCEL", .branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_sent, 3);
	TEST_ASSERT(
		fx_sent_has(&f, 0, "To: <sip:alice@example.test>;tag=h1\r\n"));
	TEST_ASSERT(
		fx_sent_has(&f, 1, "To: <sip:alice@example.test>;tag=h1\r\n"));
	TEST_ASSERT(
		fx_sent_has(&f, 2, "To: <sip:alice@example.test>;tag=h1\r\n"));
	TEST_EQ_INT(fx_sent_status(&f, 2), 487);
	fx_fini(&f);

	/* a request with a To tag keeps it: no second tag */
	TEST_ASSERT(!fx_init(&f, 10));
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.branch = B1, .to_tag = "dlg"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_ASSERT(
		fx_sent_has(&f, 0, "To: <sip:alice@example.test>;tag=dlg\r\n"));
	fx_fini(&f);
	return 0;
}

/* A folded top Via: the response carries it on one line, stamped. */
TEST(txn_srv_folded_via)
{
	static const char req[] =
		"OPTIONS sip:a@example.test SIP/2.0\r\n"
		"Via: SIP/2.0/UDP ua.example.test\r\n"
		" ;branch=z9hG4bKfold;rport, SIP/2.0/UDP p\r\n"
		"From: <sip:b@example.test>;tag=1\r\n"
		"To: <sip:a@example.test>\r\n"
		"Call-ID: fold@example.test\r\n"
		"CSeq: 1 OPTIONS\r\n"
		"Content-Length: 0\r\n\r\n";
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 10));
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_sent, 1);
	TEST_ASSERT(
		fx_sent_has(&f, 0,
			    "\r\nVia: SIP/2.0/UDP ua.example.test "
			    ";branch=z9hG4bKfold;rport=5070;"
			    "received=192.0.2.10, SIP/2.0/UDP p\r\nFrom: "));
	fx_fini(&f);
	return 0;
}

/* A non-INVITE in Completed that only the layer holds keeps its match key
 * and its response, not the request: retransmissions still get the
 * response, the key still tells transactions apart (§17.2.3). */
TEST(txn_srv_completed_non_invite_compacted)
{
	struct fx f;
	struct txn_srv *st;
	char req[1024], other[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	f.mode = FX_HOLD;
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.branch = B1, .has_rport = true});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	st = f.held;
	TEST_ASSERT(st && st->top_via);
	TEST_EQ_INT(txn_srv_reply(st, 404, NULL, NULL), 0);
	/* the handler still holds it: the request stays */
	TEST_ASSERT(txn_srv_msg(st) && !st->key_buf);
	f.held = txn_srv_unref(f.held);
	TEST_ASSERT(!st->req && st->key_buf && !st->top_via);
	TEST_EQ_INT(txn_layer_active(f.l), 1);
	/* the retransmission: the same bytes again, no new request */
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_requests, 1);
	TEST_EQ_INT(f.n_sent, 2);
	TEST_EQ_INT(f.sent[1].len, f.sent[0].len);
	TEST_ASSERT(!memcmp(f.sent[1].data, f.sent[0].data, f.sent[0].len));
	TEST_EQ_INT(fx_sent_status(&f, 1), 404);
	/* the branch compares case-insensitively */
	fx_fmt(other, sizeof(other),
	       &(struct fx_req){.branch = "z9hG4bKSRV1", .has_rport = true});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, other);
	TEST_EQ_INT(f.n_requests, 1);
	TEST_EQ_INT(f.n_sent, 3);
	/* another method, or another sent-by, is another transaction */
	f.mode = FX_REPLY;
	f.reply_status = 200;
	fx_fmt(other, sizeof(other),
	       &(struct fx_req){.method = "OPTIONS", .branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, other);
	TEST_EQ_INT(f.n_requests, 2);
	fx_fmt(other, sizeof(other),
	       &(struct fx_req){.branch = B1, .sent_by = "192.0.2.10:5071"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5071, other);
	TEST_EQ_INT(f.n_requests, 3);
	fx_fmt(other, sizeof(other),
	       &(struct fx_req){.branch = B1, .sent_by = "192.0.2.11:5070"});
	fx_rx(&f, NET_UDP, "192.0.2.11", 5070, other);
	TEST_EQ_INT(f.n_requests, 4);
	TEST_EQ_INT(txn_layer_active(f.l), 4);
	/* Timer J still ends them */
	fx_run_ms(&f, 750);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	fx_fini(&f);
	return 0;
}

/* What keeps its request in Completed: an INVITE (its ACK is matched
 * against it) and an RFC 2543 request (matched on its header fields). */
TEST(txn_srv_compact_keeps_invite_and_rfc2543)
{
	struct fx f;
	struct txn_srv *st;
	char req[1024], ack[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	f.mode = FX_HOLD;
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE", .branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	st = f.held;
	TEST_EQ_INT(txn_srv_reply(st, 486, NULL, NULL), 0);
	f.held = txn_srv_unref(f.held);
	TEST_ASSERT(st->req && !st->key_buf);
	fx_fmt(ack, sizeof(ack),
	       &(struct fx_req){.method = "ACK", .branch = B1});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, ack);
	TEST_EQ_INT(st->state, TXN_SRV_CONFIRMED);

	/* RFC 2543: no magic cookie in the branch */
	fx_fmt(req, sizeof(req), &(struct fx_req){.call_id = "old@x"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	st = f.held;
	TEST_ASSERT(st && !st->is_rfc3261);
	TEST_EQ_INT(txn_srv_reply(st, 200, NULL, NULL), 0);
	f.held = txn_srv_unref(f.held);
	TEST_ASSERT(st->req && !st->key_buf);
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_requests, 2);
	TEST_EQ_INT(fx_sent_status(&f, f.n_sent - 1), 200);
	fx_fini(&f);
	return 0;
}
