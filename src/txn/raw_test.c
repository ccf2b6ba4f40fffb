/* SPDX-License-Identifier: BSD-3-Clause */
/* Stateless answers to garbage (RFC 3261 §8.2.6, §18.2.1, RFC 3581) and
 * the tolerant raw line scan behind them. */
#include "fixture_test.h"

#include <string.h>

TEST(txn_raw_scan_lines)
{
	static const char msg[] = "\r\n\r\nINVITE sip:a@b SIP/2.0\r\n"
				  "v: SIP/2.0/UDP h1;branch=z9hG4bK1\r\n"
				  "VIA : SIP/2.0/UDP h2\r\n"
				  " ;branch=z9hG4bK2\r\n"
				  "f: <sip:x@y>;tag=1\r\n"
				  "From: <sip:second@y>\r\n"
				  "no colon line\r\n"
				  "t:<sip:a@b>\n"
				  "i: abc\r\n"
				  "CSeq: 1 INVITE\r\n"
				  "\r\n"
				  "Via: SIP/2.0/UDP in-body\r\n";
	struct txn_raw r;

	txn_raw_scan(msg, sizeof(msg) - 1, &r);
	TEST_ASSERT(!r.is_response);
	TEST_EQ_SLICE(r.start, "INVITE sip:a@b SIP/2.0");
	TEST_EQ_SLICE(r.method, "INVITE");
	TEST_EQ_INT(r.n_via, 2);
	TEST_EQ_INT(r.n_lines, 6);
	TEST_EQ_INT(r.lines[0].kind, TXN_RAW_VIA);
	TEST_EQ_SLICE(slice_trim(r.lines[0].value),
		      "SIP/2.0/UDP h1;branch=z9hG4bK1");
	/* the fold stays with its header */
	TEST_EQ_SLICE(slice_trim(r.lines[1].value),
		      "SIP/2.0/UDP h2\r\n ;branch=z9hG4bK2");
	TEST_EQ_INT(r.lines[2].kind, TXN_RAW_FROM);
	TEST_EQ_SLICE(slice_trim(r.lines[2].value), "<sip:x@y>;tag=1");
	TEST_EQ_INT(r.lines[3].kind, TXN_RAW_TO);
	TEST_EQ_INT(r.lines[4].kind, TXN_RAW_CALL_ID);
	TEST_EQ_INT(r.lines[5].kind, TXN_RAW_CSEQ);

	txn_raw_scan("SIP/2.0 200 OK\r\nVia: x\r\n", 24, &r);
	TEST_ASSERT(r.is_response);
	txn_raw_scan(NULL, 0, &r);
	TEST_EQ_INT(r.n_lines, 0);
	txn_raw_scan("\r\n\n", 3, &r);
	TEST_EQ_INT(r.start.len, 0);
	return 0;
}

/* Every prefix, and every byte flipped, of a request: scanned and fed to
 * the layer without a crash or an out-of-bounds read. */
TEST(txn_raw_every_prefix_and_mutation)
{
	static const char msg[] =
		"OPTIONS sip:a@example.test SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKpre;rport\r\n"
		"From: <sip:b@example.test>;tag=1\r\n"
		"To: <sip:a@example.test>\r\n"
		"Call-ID: pre@example.test\r\n"
		"CSeq: 7 OPTIONS\r\n"
		"Content-Length: 0\r\n\r\n";
	struct txn_raw r;
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 10));
	f.reply_status = 200;
	for (size_t n = 0; n <= sizeof(msg) - 1; n++) {
		/* a heap copy of exactly n bytes, so ASan sees overreads */
		char *p = mem_alloc(n ? n : 1);

		TEST_ASSERT(p);
		memcpy(p, msg, n);
		txn_raw_scan(p, n, &r);
		fx_rx_len(&f, NET_UDP, "192.0.2.10", 5070, p, n);
		fx_rx_len(&f, NET_TCP, "192.0.2.10", 5070, p, n);
		mem_free(p);
	}
	for (size_t i = 0; i < sizeof(msg) - 1; i++) {
		static const char repl[] = {'\0', '\r', '\n', ',',
					    ';',  '"',	'<',  ' '};

		for (size_t k = 0; k < sizeof(repl); k++) {
			char *p = mem_alloc(sizeof(msg) - 1);

			TEST_ASSERT(p);
			memcpy(p, msg, sizeof(msg) - 1);
			p[i] = repl[k];
			fx_rx_len(&f, NET_UDP, "192.0.2.10", 5070, p,
				  sizeof(msg) - 1);
			mem_free(p);
			if (f.n_sent > FX_MAX_SENT - 16)
				fx_clear_sent(&f);
		}
	}
	fx_fini(&f);
	return 0;
}

TEST(txn_stateless_400_with_received_and_rport)
{
	static const char msg[] =
		"MESSAGE sip:a@example.test SIP/2.0\r\n"
		"Via: SIP/2.0/UDP "
		"ua.example.test:5070;branch=z9hG4bKs1;rport\r\n"
		"Via: SIP/2.0/UDP proxy.example.test;branch=z9hG4bKs0\r\n"
		"From: <sip:b@example.test>;tag=1\r\n"
		"To: <sip:a@example.test>\r\n"
		"Call-ID: garbage@example.test\r\n"
		"CSeq: banana MESSAGE\r\n"
		"Content-Length: 0\r\n\r\n";
	struct txn_stats s;
	struct sip_msg *m;
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 10));
	fx_rx(&f, NET_UDP, "192.0.2.10", 40999, msg);
	TEST_EQ_INT(f.n_requests, 0);
	TEST_EQ_INT(f.n_sent, 1);
	TEST_ASSERT(
		fx_sent_has(&f, 0, "SIP/2.0 400 Malformed CSeq header\r\n"));
	TEST_ASSERT(fx_sent_has(&f, 0,
				"Via: SIP/2.0/UDP ua.example.test:5070;"
				"branch=z9hG4bKs1;rport=40999;"
				"received=192.0.2.10\r\n"
				"Via: SIP/2.0/UDP proxy.example.test;"
				"branch=z9hG4bKs0\r\n"));
	TEST_ASSERT(fx_sent_has(&f, 0, "CSeq: banana MESSAGE\r\n"));
	TEST_ASSERT(fx_sent_has(&f, 0, "Call-ID: garbage@example.test\r\n"));
	TEST_ASSERT(fx_sent_has(&f, 0, "From: <sip:b@example.test>;tag=1\r\n"));
	TEST_ASSERT(fx_sent_has(&f, 0, "To: <sip:a@example.test>;tag="));
	TEST_ASSERT(fx_sent_has(&f, 0, "Content-Length: 0\r\n\r\n"));
	/* back to the source port (RFC 3581), as a datagram */
	TEST_EQ_INT(f.sent[0].dest.proto, NET_UDP);
	TEST_EQ_INT(txn_addr_port(&f.sent[0].dest.addr), 40999);
	/* the retransmission gets the same answer, To tag included */
	fx_rx(&f, NET_UDP, "192.0.2.10", 40999, msg);
	TEST_EQ_INT(f.n_sent, 2);
	TEST_EQ_INT(f.sent[1].len, f.sent[0].len);
	TEST_ASSERT(!memcmp(f.sent[0].data, f.sent[1].data, f.sent[0].len));
	txn_layer_stats(f.l, &s);
	TEST_EQ_INT(s.stateless_errors, 2);
	TEST_EQ_INT(s.requests, 0);
	TEST_EQ_INT(txn_layer_active(f.l), 0);
	fx_fini(&f);

	/* a stream: over the flow; a decodable Via without rport: the
	 * sent-by port for reconnecting */
	TEST_ASSERT(!fx_init(&f, 10));
	{
		static const char tcp[] =
			"MESSAGE sip:a@example.test SIP/2.0\r\n"
			"Via: SIP/2.0/TCP 192.0.2.10:5072;branch=z9hG4bKs2\r\n"
			"From: <sip:b@example.test>;tag=1\r\n"
			"To: <sip:a@example.test>;tag=2\r\n"
			"Call-ID: g2@example.test\r\n"
			"CSeq: 1 MESSAGE\r\n"
			"Max-Forwards: many\r\n"
			"Content-Length: 0\r\n\r\n";

		fx_rx(&f, NET_TCP, "192.0.2.10", 41000, tcp);
		TEST_EQ_INT(f.n_sent, 1);
		m = fx_sent_msg(&f, 0);
		TEST_ASSERT(m);
		TEST_EQ_INT(m->status, 400);
		TEST_EQ_SLICE(m->reason, "Malformed Max-Forwards header");
		TEST_ASSERT(!m->via.received.p); /* sent-by is the source */
		TEST_EQ_SLICE(m->to.tag, "2");	 /* not a second tag */
		sip_msg_free(m);
		TEST_EQ_INT(f.sent[0].dest.proto, NET_TCP);
		TEST_EQ_INT(f.sent[0].dest.flow, 7);
		TEST_EQ_INT(txn_addr_port(&f.sent[0].dest.addr), 5072);
	}
	fx_fini(&f);
	return 0;
}

TEST(txn_stateless_malformed_via_and_505)
{
	static const char bad_via[] = "OPTIONS sip:a@example.test SIP/2.0\r\n"
				      "Via: SIP/2.0/UDP ;;;\r\n"
				      "From: <sip:b@example.test>;tag=1\r\n"
				      "To: <sip:a@example.test>\r\n"
				      "Call-ID: v@example.test\r\n"
				      "CSeq: 1 OPTIONS\r\n\r\n";
	static const char v3[] =
		"OPTIONS sip:a@example.test SIP/3.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKv3\r\n"
		"From: <sip:b@example.test>;tag=1\r\n"
		"To: <sip:a@example.test>\r\n"
		"Call-ID: v3@example.test\r\n"
		"CSeq: 1 OPTIONS\r\n\r\n";
	struct fx f;

	TEST_ASSERT(!fx_init(&f, 10));
	fx_rx(&f, NET_UDP, "192.0.2.10", 41001, bad_via);
	TEST_EQ_INT(f.n_sent, 1);
	TEST_ASSERT(fx_sent_has(&f, 0, "SIP/2.0 400 Malformed Via header\r\n"));
	/* an unreadable Via: copied, received added, straight back */
	TEST_ASSERT(fx_sent_has(&f, 0,
				"Via: SIP/2.0/UDP ;;;;received="
				"192.0.2.10\r\n"));
	TEST_EQ_INT(txn_addr_port(&f.sent[0].dest.addr), 41001);
	fx_rx(&f, NET_UDP, "192.0.2.10", 41001, v3);
	TEST_EQ_INT(f.n_sent, 2);
	TEST_ASSERT(fx_sent_has(&f, 1, "SIP/2.0 505 "));
	TEST_ASSERT(fx_sent_has(&f, 1, "CSeq: 1 OPTIONS\r\n"));
	TEST_EQ_INT(txn_addr_port(&f.sent[1].dest.addr), 5070);
	fx_fini(&f);
	return 0;
}

TEST(txn_stateless_drops)
{
	static const char *const drop[] = {
		/* no Via at all */
		"OPTIONS sip:a@example.test SIP/2.0\r\n"
		"From: <sip:b@example.test>;tag=1\r\n"
		"To: <sip:a@example.test>\r\n"
		"Call-ID: nv@example.test\r\n"
		"CSeq: 1 OPTIONS\r\n\r\n",
		/* a response that does not decode */
		"SIP/2.0 200 OK\r\n"
		"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKr\r\n"
		"CSeq: x\r\n\r\n",
		/* an ACK is never answered */
		"ACK sip:a@example.test SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa\r\n"
		"CSeq: nope ACK\r\n\r\n",
		/* keep-alive CRLFs and nothing */
		"\r\n\r\n",
		"",
		/* a Via that holds a NUL cannot be copied safely */
		NULL,
	};
	static const char nul_via[] =
		"OPTIONS sip:a@b SIP/2.0\r\n"
		"Via: SIP/2.0/UDP h\0x;branch=z9hG4bKn\r\n"
		"CSeq: 1 OPTIONS\r\n\r\n";
	struct txn_stats s;
	struct fx f;
	size_t n = 0;

	TEST_ASSERT(!fx_init(&f, 10));
	for (; drop[n]; n++)
		fx_rx(&f, NET_UDP, "192.0.2.10", 5070, drop[n]);
	fx_rx_len(&f, NET_UDP, "192.0.2.10", 5070, nul_via,
		  sizeof(nul_via) - 1);
	TEST_EQ_INT(f.n_sent, 0);
	TEST_EQ_INT(f.n_requests, 0);
	txn_layer_stats(f.l, &s);
	TEST_EQ_INT(s.dropped, n + 1);
	TEST_EQ_INT(s.stateless_errors, 0);
	/* a From with a NUL is left out, the answer still goes */
	{
		static const char nul_from[] =
			"OPTIONS sip:a@b SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKn\r\n"
			"From: <sip:\0>\r\n"
			"CSeq: 1 OPTIONS\r\n\r\n";

		fx_rx_len(&f, NET_UDP, "192.0.2.10", 5070, nul_from,
			  sizeof(nul_from) - 1);
		TEST_EQ_INT(f.n_sent, 1);
		TEST_ASSERT(!fx_sent_has(&f, 0, "From:"));
		TEST_ASSERT(fx_sent_has(&f, 0, "CSeq: 1 OPTIONS\r\n"));
	}
	fx_fini(&f);
	return 0;
}

/* The raw builder on its own: a reason phrase with controls falls back to
 * the RFC one; folds are joined; no Via is -ENOENT. */
TEST(txn_raw_reply_build)
{
	static const char msg[] = "BYE sip:a@b SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.10:5070\r\n"
				  "\t;branch=z9hG4bKf, SIP/2.0/TCP p2\r\n"
				  "To: <sip:a@b>\r\n"
				  "  ;tag=given\r\n\r\n";
	struct net_rx rx = {.proto = NET_UDP};
	struct net_dest d;
	struct txn_raw r;
	struct buf b;
	const char *out;

	fx_set_addr(&rx.peer, "192.0.2.10", 40000);
	txn_raw_scan(msg, sizeof(msg) - 1, &r);
	buf_init(&b, 4096);
	TEST_EQ_INT(txn_raw_reply(&b, &r, 400, "bad\x01reason", &rx, "t1", &d),
		    0);
	TEST_EQ_INT(buf_cstr(&b, &out), 0);
	TEST_ASSERT(strstr(out, "SIP/2.0 400 Bad Request\r\n"));
	TEST_ASSERT(strstr(out, "Via: SIP/2.0/UDP 192.0.2.10:5070\t;branch="
				"z9hG4bKf, SIP/2.0/TCP p2\r\n"));
	TEST_ASSERT(strstr(out, "To: <sip:a@b>  ;tag=given\r\n"));
	TEST_ASSERT(!strstr(out, "tag=t1"));
	TEST_EQ_INT(txn_addr_port(&d.addr), 5070);
	buf_fini(&b);

	txn_raw_scan("BYE sip:a@b SIP/2.0\r\nTo: x\r\n\r\n", 31, &r);
	buf_init(&b, 4096);
	TEST_EQ_INT(txn_raw_reply(&b, &r, 400, NULL, &rx, NULL, &d), -ENOENT);
	buf_fini(&b);
	return 0;
}
