/* SPDX-License-Identifier: BSD-3-Clause */
/* Layer tests: the keyed hash and table, branches and tags, thousands of
 * transactions, teardown without callbacks, options. */
#include "fixture_test.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* SipHash-2-4 reference vectors (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", appendix A): key 00..0f, message 00..(n-1). */
TEST(txn_hash_siphash_vectors)
{
	static const struct {
		size_t n;
		uint64_t want;
	} v[] = {
		{0, 0x726fdb47dd0e0e31ULL},
		{1, 0x74f839c593dc67fdULL},
		{8, 0x93f5f5799a932462ULL},
		{15, 0xa129ca6149be45e5ULL},
	};
	unsigned char msg[16];
	uint64_t key[2];
	unsigned char kb[16];

	for (int i = 0; i < 16; i++) {
		kb[i] = (unsigned char)i;
		msg[i] = (unsigned char)i;
	}
	key[0] = key[1] = 0;
	for (int i = 7; i >= 0; i--) {
		key[0] = key[0] << 8 | kb[i];
		key[1] = key[1] << 8 | kb[8 + i];
	}
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct txn_hasher h;

		txn_hasher_init(&h, key);
		/* fed in two pieces: the incremental form is the same */
		txn_hasher_feed(&h, slice_of((const char *)msg, v[i].n / 2),
				false);
		txn_hasher_feed(&h,
				slice_of((const char *)msg + v[i].n / 2,
					 v[i].n - v[i].n / 2),
				false);
		TEST_ASSERT(txn_hasher_end(&h) == v[i].want);
	}
	/* fold_case hashes "ABC" as "abc" */
	{
		struct txn_hasher a, b;

		txn_hasher_init(&a, key);
		txn_hasher_init(&b, key);
		txn_hasher_feed(&a, SLICE_LIT("z9hG4bK-ABC"), true);
		txn_hasher_feed(&b, SLICE_LIT("z9hg4bk-abc"), false);
		TEST_ASSERT(txn_hasher_end(&a) == txn_hasher_end(&b));
	}
	return 0;
}

struct item {
	struct txn_hnode node;
	unsigned id;
};

static struct item *find(struct txn_htab *t, uint64_t hash, unsigned id)
{
	for (struct txn_hnode *n = txn_htab_chain(t, hash); n; n = n->next) {
		struct item *it = container_of(n, struct item, node);

		if (n->hash == hash && it->id == id)
			return it;
	}
	return NULL;
}

TEST(txn_hash_table_grow_remove_pop)
{
	enum { N = 10000 };
	struct item *items = mem_zalloc(N * sizeof(*items));
	struct txn_htab t;
	size_t cursor = 0, popped = 0, longest = 0;
	struct txn_hnode *n;

	TEST_ASSERT(items);
	TEST_EQ_INT(txn_htab_init(&t), 0);
	for (unsigned i = 0; i < N; i++) {
		items[i].id = i;
		/* spread like SipHash output would */
		txn_htab_insert(&t, &items[i].node,
				(uint64_t)i * 0x9e3779b97f4a7c15ULL);
	}
	TEST_EQ_INT(t.n, N);
	TEST_ASSERT(t.mask + 1 >= N); /* it grew */
	for (size_t b = 0; b <= t.mask; b++) {
		size_t len = 0;

		for (n = t.buckets[b]; n; n = n->next)
			len++;
		if (len > longest)
			longest = len;
	}
	TEST_ASSERT(longest <= 8);
	for (unsigned i = 0; i < N; i++)
		TEST_ASSERT(find(&t, (uint64_t)i * 0x9e3779b97f4a7c15ULL, i) ==
			    &items[i]);
	for (unsigned i = 0; i < N; i += 2)
		txn_htab_remove(&t, &items[i].node);
	txn_htab_remove(&t, &items[0].node); /* twice: a no-op */
	TEST_EQ_INT(t.n, N / 2);
	TEST_ASSERT(!find(&t, 0, 0));
	TEST_ASSERT(find(&t, 0x9e3779b97f4a7c15ULL, 1) == &items[1]);
	while ((n = txn_htab_pop(&t, &cursor))) {
		TEST_ASSERT(container_of(n, struct item, node)->id % 2 == 1);
		TEST_ASSERT(!n->pprev);
		popped++;
	}
	TEST_EQ_INT(popped, N / 2);
	TEST_EQ_INT(t.n, 0);
	txn_htab_fini(&t);
	mem_free(items);
	return 0;
}

TEST(txn_branch_and_tag_format)
{
	char a[32], b[32], t[TXN_TAG_LEN + 1];

	txn_branch_new(a);
	txn_branch_new(b);
	TEST_EQ_INT(strlen(a), 29);
	TEST_ASSERT(!strncmp(a, "z9hG4bK", 7));
	TEST_ASSERT(strcmp(a, b));
	for (size_t i = 7; i < 29; i++)
		TEST_ASSERT(char_is_alpha((unsigned char)a[i]) ||
			    char_is_digit((unsigned char)a[i]) || a[i] == '-' ||
			    a[i] == '_');
	TEST_ASSERT(txn_branch_is_rfc3261(slice_cstr(a)));
	TEST_ASSERT(!txn_branch_is_rfc3261(SLICE_LIT("z9hG4bK")));
	TEST_ASSERT(!txn_branch_is_rfc3261(SLICE_LIT("Z9HG4BKabc")));
	TEST_ASSERT(!txn_branch_is_rfc3261(SLICE_NULL));
	txn_tag_new(t);
	TEST_EQ_INT(strlen(t), TXN_TAG_LEN);
	for (size_t i = 0; i < TXN_TAG_LEN; i++)
		TEST_ASSERT(char_is_token((unsigned char)t[i]));
	return 0;
}

/* Identifiers come from a block of DRBG output: many in a row are all
 * different, and a forked child does not repeat the parent's next one. */
TEST(txn_tags_unique_across_blocks_and_fork)
{
	enum { N = 200 };
	char(*tags)[TXN_TAG_LEN + 1] = mem_zalloc(N * sizeof(*tags));
	char mine[TXN_TAG_LEN + 1], child[TXN_TAG_LEN + 1] = "";
	int fds[2], status = 0;
	pid_t pid;

	TEST_ASSERT(tags);
	/* 200 tags draw 3,200 octets: several refills */
	for (size_t i = 0; i < N; i++)
		txn_tag_new(tags[i]);
	for (size_t i = 0; i < N; i++)
		for (size_t j = i + 1; j < N; j++)
			TEST_ASSERT(strcmp(tags[i], tags[j]));
	mem_free(tags);
	TEST_ASSERT(!pipe(fds));
	pid = fork();
	TEST_ASSERT(pid >= 0);
	if (pid == 0) {
		char t[TXN_TAG_LEN + 1];
		ssize_t w;

		txn_tag_new(t);
		w = write(fds[1], t, TXN_TAG_LEN);
		_exit(w == TXN_TAG_LEN ? 0 : 1);
	}
	close(fds[1]);
	txn_tag_new(mine);
	TEST_EQ_INT(read(fds[0], child, TXN_TAG_LEN), TXN_TAG_LEN);
	close(fds[0]);
	TEST_EQ_INT(waitpid(pid, &status, 0), pid);
	TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	TEST_ASSERT(strcmp(mine, child));
	return 0;
}

/* Thousands of server transactions: each retransmission finds its own
 * (the right Call-ID comes back), without scanning. */
TEST(txn_layer_thousands_of_transactions)
{
	enum { N = 5000 };
	struct txn_stats s;
	struct fx *f = mem_zalloc(sizeof(*f));
	char req[1024], branch[64], callid[64];

	TEST_ASSERT(f);
	TEST_ASSERT(!fx_init(f, 500));
	for (unsigned i = 0; i < N; i++) {
		snprintf(branch, sizeof(branch), "z9hG4bK%u", i);
		snprintf(callid, sizeof(callid), "call%u@example.test", i);
		fx_fmt(req, sizeof(req),
		       &(struct fx_req){.branch = branch, .call_id = callid});
		fx_rx(f, NET_UDP, "192.0.2.10", 5070, req);
		fx_clear_sent(f);
	}
	TEST_EQ_INT(txn_layer_active(f->l), N);
	TEST_EQ_INT(f->n_requests, N);
	for (unsigned i = 0; i < N; i++) {
		struct sip_msg *m;

		snprintf(branch, sizeof(branch), "z9hG4bK%u", i);
		snprintf(callid, sizeof(callid), "call%u@example.test", i);
		fx_fmt(req, sizeof(req),
		       &(struct fx_req){.branch = branch, .call_id = callid});
		fx_rx(f, NET_UDP, "192.0.2.10", 5070, req);
		TEST_EQ_INT(f->n_sent, 1);
		m = fx_sent_msg(f, 0);
		TEST_ASSERT(m);
		TEST_ASSERT(slice_eq_cstr(m->call_id, callid));
		sip_msg_free(m);
		fx_clear_sent(f);
	}
	TEST_EQ_INT(f->n_requests, N);
	txn_layer_stats(f->l, &s);
	TEST_EQ_INT(s.requests, N);
	TEST_EQ_INT(s.retransmissions, N);
	TEST_ASSERT(f->l->srv_tab.mask + 1 >= N);
	fx_fini(f);
	mem_free(f);
	return 0;
}

/* txn_layer_free with everything in flight: no callbacks, no leaks. */
TEST(txn_layer_free_cancels_everything)
{
	struct txn_cli *c;
	struct fx f;
	char req[1024];

	TEST_ASSERT(!fx_init(&f, 10));
	f.mode = FX_IGNORE;
	fx_fmt(req, sizeof(req), &(struct fx_req){.branch = "z9hG4bKa"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE", .branch = "z9hG4bKb"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	f.mode = FX_REPLY;
	f.reply_status = 486;
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE", .branch = "z9hG4bKc"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	{
		struct txn_cli_opts o = {
			.dest = {.proto = NET_UDP},
			.data = "OPTIONS sip:a@b SIP/2.0\r\n"
				"From: <sip:b@c>;tag=1\r\nTo: <sip:a@b>\r\n"
				"Call-ID: x\r\nCSeq: 1 OPTIONS\r\n"
				"Content-Length: 0\r\n\r\n",
			.on_resp = fx_on_resp,
			.arg = &f,
		};

		o.len = strlen(o.data);
		fx_set_addr(&o.dest.addr, "192.0.2.20", 5060);
		TEST_EQ_INT(txn_cli_start(f.l, &o, &c), 0);
		o.data = "INVITE sip:a@b SIP/2.0\r\n"
			 "From: <sip:b@c>;tag=1\r\nTo: <sip:a@b>\r\n"
			 "Call-ID: y\r\nCSeq: 1 INVITE\r\n"
			 "Content-Length: 0\r\n\r\n";
		o.len = strlen(o.data);
		TEST_EQ_INT(txn_cli_start(f.l, &o, &c), 0);
	}
	fx_run_ms(&f, 15);
	TEST_EQ_INT(txn_layer_active(f.l), 5);
	txn_layer_free(f.l);
	f.l = NULL;
	fx_run_ms(&f, 50);
	TEST_EQ_INT(f.n_resp, 0);
	TEST_EQ_INT(txn_layer_active(NULL), 0);
	fx_fini(&f);
	return 0;
}

TEST(txn_layer_options_and_misuse)
{
	struct event_base *base = event_base_new();
	struct txn_layer *l = NULL;
	struct txn_stats s;
	struct fx f;
	char req[1024];

	TEST_ASSERT(base);
	TEST_EQ_INT(txn_layer_new(&l, NULL), -EINVAL);
	TEST_EQ_INT(txn_layer_new(NULL, &(struct txn_opts){.base = base}),
		    -EINVAL);
	TEST_EQ_INT(txn_layer_new(&l, &(struct txn_opts){0}), -EINVAL);
	/* T2 below T1 makes no schedule */
	TEST_EQ_INT(txn_layer_new(&l, &(struct txn_opts){.base = base,
							 .t1_ms = 100,
							 .t2_ms = 50}),
		    -EINVAL);
	TEST_ASSERT(!l);
	TEST_EQ_INT(txn_layer_new(&l, &(struct txn_opts){.base = base}), 0);
	TEST_EQ_INT(l->t1_ms, TXN_T1_MS);
	TEST_EQ_INT(l->t2_ms, TXN_T2_MS);
	TEST_EQ_INT(l->t4_ms, TXN_T4_MS);
	txn_layer_rx(l, NULL);
	txn_layer_rx(NULL, NULL);
	txn_layer_stats(NULL, &s);
	TEST_EQ_INT(s.requests, 0);
	txn_layer_stats(l, NULL);
	txn_layer_free(l);
	event_base_free(base);

	/* no handler: requests are answered 501 */
	TEST_ASSERT(!fx_init(&f, 10));
	f.l->on_request = NULL;
	fx_fmt(req, sizeof(req), &(struct fx_req){.branch = "z9hG4bKn"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(fx_sent_status(&f, 0), 501);
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "ACK", .branch = "z9hG4bKm"});
	fx_rx(&f, NET_UDP, "192.0.2.10", 5070, req);
	TEST_EQ_INT(f.n_sent, 1);
	/* an unknown transport number is dropped */
	{
		struct net_rx rx = {.proto = (enum net_proto)7,
				    .data = req,
				    .len = strlen(req)};

		txn_layer_rx(f.l, &rx);
		rx.proto = NET_UDP;
		rx.data = NULL;
		rx.len = 0;
		txn_layer_rx(f.l, &rx);
		txn_layer_stats(f.l, &s);
		TEST_EQ_INT(s.dropped, 2);
	}
	fx_fini(&f);
	return 0;
}

/* One exchange of everything the layer does, for the allocation-failure
 * sweep below. */
static void oom_scenario(struct fx *f)
{
	static const char garbage[] = "OPTIONS sip:a@b SIP/2.0\r\n"
				      "Via: SIP/2.0/UDP 192.0.2.10;rport\r\n"
				      "CSeq: x OPTIONS\r\n\r\n";
	struct txn_cli_opts o = {
		.dest = {.proto = NET_UDP},
		.data = "INVITE sip:a@b SIP/2.0\r\n"
			"From: <sip:b@c>;tag=1\r\nTo: <sip:a@b>\r\n"
			"Call-ID: y\r\nCSeq: 1 INVITE\r\n"
			"Content-Length: 0\r\n\r\n",
		.on_resp = fx_on_resp,
		.arg = f,
	};
	struct txn_cli *c;
	char req[1024], resp[1024];
	struct sip_msg *m;

	f->mode = FX_HOLD;
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "INVITE",
				.branch = "z9hG4bKo",
				.has_rport = true,
				.sent_by = "x.test"});
	fx_rx(f, NET_UDP, "192.0.2.10", 5070, req);
	fx_rx(f, NET_UDP, "192.0.2.10", 5070, req);
	fx_fmt(req, sizeof(req),
	       &(struct fx_req){.method = "CANCEL",
				.branch = "z9hG4bKo",
				.has_rport = true,
				.sent_by = "x.test"});
	fx_rx(f, NET_UDP, "192.0.2.10", 5070, req);
	if (f->held)
		(void)txn_srv_reply(
			f->held, 200, NULL,
			&(struct txn_reply_opts){.ctype = "text/plain",
						 .body = SLICE_LIT("x")});
	fx_rx(f, NET_UDP, "192.0.2.10", 5070, garbage);
	fx_set_addr(&o.dest.addr, "192.0.2.20", 5060);
	o.len = strlen(o.data);
	if (txn_cli_start(f->l, &o, &c) || !(m = fx_sent_msg(f, f->n_sent - 1)))
		return;
	snprintf(resp, sizeof(resp),
		 "SIP/2.0 486 Busy Here\r\nVia: %.*s\r\n"
		 "From: <sip:b@c>;tag=1\r\nTo: <sip:a@b>;tag=9\r\n"
		 "Call-ID: y\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		 SLICE_FMT(m->via.whole));
	sip_msg_free(m);
	fx_rx(f, NET_UDP, "192.0.2.20", 5060, resp);
	fx_rx(f, NET_UDP, "192.0.2.20", 5060, resp);
}

/* Every allocation the layer makes in that exchange, failed in turn:
 * no crash, and nothing left behind once the layer is freed. */
TEST(txn_layer_oom_sweep)
{
	struct fx *f = mem_zalloc(sizeof(*f));
	long total;

	TEST_ASSERT(f);
	TEST_ASSERT(!fx_init(f, 10));
	mem_alloc_count_reset();
	oom_scenario(f);
	total = mem_alloc_count();
	fx_fini(f);
	TEST_ASSERT(total > 20);
	for (long n = 1; n <= total; n++) {
		long before = mem_live_blocks();

		TEST_ASSERT(!fx_init(f, 10));
		mem_fail_after(n);
		oom_scenario(f);
		mem_fail_after(0);
		fx_fini(f);
		if (mem_live_blocks() != before) {
			TEST_FAIL_AT("leak after failing allocation %ld", n);
			mem_free(f);
			return -1;
		}
	}
	mem_free(f);
	return 0;
}
