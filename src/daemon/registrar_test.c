/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the registrar (registrar.c, RFC 3261 §10.3): adding,
 * refreshing and removing bindings, "Contact: *", 423, clamping, default
 * and per-contact expiry, q, the Call-ID/CSeq rules, expiry, the binding
 * limit, and 200s listing every binding with its remaining time and a
 * Date, all on an injected clock. */
#include "test.h"

#include <time.h>

#include "daemon/daemon.h"

#define ALICE "sip:alice@example.test"
#define BOB   "sip:bob@example.test"
#define C1    "sip:alice@192.0.2.1:5060"
#define C2    "sip:alice@192.0.2.2:5060;transport=tcp"
#define C3    "sip:alice@192.0.2.3"

/* ---- fixture ------------------------------------------------------------- */

struct rfx {
	struct registrar *r;
	struct sip_msg *m;
	struct registrar_answer ans;
	struct txn_source src;
	uint64_t now;
	unsigned syncs;
	size_t sync_n;
	char sync_aor[64];
};

static uint64_t rfx_clock(void *arg)
{
	return ((const struct rfx *)arg)->now;
}

static void rfx_sync(void *arg, const char *aor, const struct binding *b,
		     size_t n)
{
	struct rfx *f = arg;

	(void)b;
	f->syncs++;
	f->sync_n = n;
	snprintf(f->sync_aor, sizeof(f->sync_aor), "%s", aor);
}

static int rfx_init(struct rfx *f, const struct registrar_opts *o)
{
	struct registrar_opts opts = o ? *o : (struct registrar_opts){0};

	memset(f, 0, sizeof(*f));
	f->now = 5000000;
	f->src.proto = NET_TCP;
	f->src.flow = 7;
	opts.now_ms = rfx_clock;
	opts.clock_arg = f;
	opts.store_sync = rfx_sync;
	opts.sync_arg = f;
	return registrar_new(&f->r, &opts);
}

static void rfx_fini(struct rfx *f)
{
	registrar_answer_fini(&f->ans);
	sip_msg_free(f->m);
	registrar_free(f->r);
	memset(f, 0, sizeof(*f));
}

/* Decode a REGISTER (hdrs: extra lines, each ending in CRLF) into f->m. */
static int rfx_msg(struct rfx *f, const char *to, const char *call_id,
		   uint32_t cseq, const char *hdrs)
{
	struct buf b;
	int err;

	sip_msg_free(f->m);
	f->m = NULL;
	buf_init(&b, 65536);
	(void)buf_printf(&b,
			 "REGISTER sip:example.test SIP/2.0\r\n"
			 "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKr1\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <%s>;tag=f1\r\n"
			 "To: <%s>\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u REGISTER\r\n"
			 "%s"
			 "Content-Length: 0\r\n\r\n",
			 to, to, call_id, (unsigned)cseq, hdrs ? hdrs : "");
	err = b.err;
	if (!err)
		err = sip_msg_decode(&f->m, b.p, b.len, 0, NULL);
	buf_fini(&b);
	return err;
}

/* REGISTER for ALICE; the answer lands in f->ans. */
static int reg_to(struct rfx *f, const char *to, const char *call_id,
		  uint32_t cseq, const char *hdrs)
{
	int err = rfx_msg(f, to, call_id, cseq, hdrs);

	if (err)
		return err;
	registrar_answer_fini(&f->ans);
	return registrar_process(f->r, f->m, &f->src, ALICE, f->now, &f->ans);
}

static int reg(struct rfx *f, const char *call_id, uint32_t cseq,
	       const char *hdrs)
{
	return reg_to(f, ALICE, call_id, cseq, hdrs);
}

static size_t ans_count(const struct rfx *f, const char *prefix)
{
	size_t n = 0;

	for (size_t i = 0; i < f->ans.n_hdrs; i++)
		n += !strncmp(f->ans.hdrs[i], prefix, strlen(prefix));
	return n;
}

/* The expires= the 200 lists for contact uri; -1 when not listed. */
static long ans_expires(const struct rfx *f, const char *uri)
{
	char want[256];
	size_t len;

	len = (size_t)snprintf(want, sizeof(want),
			       "Contact: <%s>;expires=", uri);
	for (size_t i = 0; i < f->ans.n_hdrs; i++) {
		uint32_t v;
		const char *p = f->ans.hdrs[i];
		const char *end;

		if (strncmp(p, want, len))
			continue;
		p += len;
		end = p;
		while (char_is_digit((unsigned char)*end))
			end++;
		if (slice_u32(slice_of(p, (size_t)(end - p)), UINT32_MAX, &v))
			return -1;
		return (long)v;
	}
	return -1;
}

static const char *ans_line(const struct rfx *f, const char *prefix)
{
	for (size_t i = 0; i < f->ans.n_hdrs; i++)
		if (!strncmp(f->ans.hdrs[i], prefix, strlen(prefix)))
			return f->ans.hdrs[i];
	return NULL;
}

/* A 200 with exactly n Contact lines and a Date parseable as now. */
static int ans_ok(const struct rfx *f, size_t n)
{
	const char *date;
	time_t t;

	TEST_EQ_INT(f->ans.status, 200);
	TEST_EQ_STR(f->ans.reason, "OK");
	TEST_EQ_INT(ans_count(f, "Contact: "), n);
	TEST_EQ_INT(ans_count(f, "Date: "), 1);
	date = ans_line(f, "Date: ");
	TEST_EQ_INT(sip_date_parse(slice_cstr(date + 6), &t), 0);
	TEST_ASSERT(t >= time(NULL) - 5 && t <= time(NULL) + 5);
	return 0;
}

#define RFX_TEST(name, opts)                                                   \
	static int name##_body(struct rfx *f);                                 \
	TEST(name)                                                             \
	{                                                                      \
		struct rfx f;                                                  \
		int rc = rfx_init(&f, opts) ? -1 : name##_body(&f);            \
                                                                               \
		rfx_fini(&f);                                                  \
		return rc;                                                     \
	}                                                                      \
	static int name##_body(struct rfx *f)

/* ---- tests --------------------------------------------------------------- */

RFX_TEST(registrar_add_lists_binding_and_date, NULL)
{
	const struct binding *b;
	size_t n;

	TEST_EQ_INT(reg(f, "cid-1", 1, "Contact: <" C1 ">\r\nExpires: 600\r\n"),
		    0);
	if (ans_ok(f, 1))
		return -1;
	TEST_EQ_INT(ans_expires(f, C1), 600);
	TEST_EQ_INT(f->ans.n_hdrs, 2);
	TEST_EQ_INT(registrar_count(f->r), 1);
	b = registrar_lookup(f->r, ALICE, &n);
	TEST_ASSERT(b);
	TEST_EQ_INT(n, 1);
	TEST_EQ_STR(b[0].contact, C1);
	TEST_EQ_STR(b[0].call_id, "cid-1");
	TEST_EQ_INT(b[0].cseq, 1);
	TEST_EQ_INT(b[0].q, 1000);
	TEST_EQ_INT(b[0].expires_s, 600);
	TEST_EQ_INT(b[0].expires_at_ms, f->now + 600 * 1000);
	/* the flow it came over, for routing requests to it later */
	TEST_EQ_INT(b[0].src.proto, NET_TCP);
	TEST_EQ_INT(b[0].src.flow, 7);
	TEST_ASSERT(!b[0].src.peer_cert);
	TEST_EQ_INT(f->syncs, 1);
	TEST_EQ_INT(f->sync_n, 1);
	TEST_EQ_STR(f->sync_aor, ALICE);
	TEST_ASSERT(!registrar_lookup(f->r, BOB, &n));
	TEST_EQ_INT(n, 0);
	return 0;
}

RFX_TEST(registrar_refresh_and_remaining_expiry, NULL)
{
	const struct binding *b;
	size_t n;

	TEST_EQ_INT(reg(f, "cid-1", 1, "Contact: <" C1 ">\r\nExpires: 600\r\n"),
		    0);
	TEST_EQ_INT(reg(f, "cid-2", 1, "Contact: <" C2 ">\r\nExpires: 900\r\n"),
		    0);
	if (ans_ok(f, 2))
		return -1;
	/* the 200 lists every binding, not only the one registered */
	TEST_EQ_INT(ans_expires(f, C1), 600);
	TEST_EQ_INT(ans_expires(f, C2), 900);

	f->now += 100 * 1000;
	f->src.flow = 8;
	TEST_EQ_INT(
		reg(f, "cid-1", 2, "Contact: <" C1 ">\r\nExpires: 1200\r\n"),
		0);
	if (ans_ok(f, 2))
		return -1;
	TEST_EQ_INT(ans_expires(f, C1), 1200);
	TEST_EQ_INT(ans_expires(f, C2), 800); /* what it has left */
	f->now += 500;
	TEST_EQ_INT(reg(f, "cid-9", 1, NULL), 0); /* a query */
	TEST_EQ_INT(ans_expires(f, C2), 800);	  /* rounded up */
	TEST_EQ_INT(ans_expires(f, C1), 1200);

	b = registrar_lookup(f->r, ALICE, &n);
	TEST_EQ_INT(n, 2);
	TEST_EQ_INT(registrar_count(f->r), 2);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(b[i].contact, C1))
			continue;
		TEST_EQ_INT(b[i].cseq, 2);
		TEST_EQ_INT(b[i].expires_s, 1200);
		TEST_EQ_INT(b[i].src.flow, 8); /* the refresh's flow */
	}
	return 0;
}

RFX_TEST(registrar_expires_zero_removes, NULL)
{
	size_t n;

	TEST_EQ_INT(reg(f, "cid-1", 1,
			"Contact: <" C1 ">, <" C2 ">\r\nExpires: 600\r\n"),
		    0);
	if (ans_ok(f, 2))
		return -1;
	TEST_EQ_INT(reg(f, "cid-1", 2, "Contact: <" C1 ">;expires=0\r\n"), 0);
	if (ans_ok(f, 1))
		return -1;
	TEST_EQ_INT(ans_expires(f, C1), -1);
	TEST_EQ_INT(registrar_count(f->r), 1);
	TEST_EQ_INT(reg(f, "cid-1", 3, "Contact: <" C2 ">\r\nExpires: 0\r\n"),
		    0);
	if (ans_ok(f, 0))
		return -1;
	TEST_ASSERT(!registrar_lookup(f->r, ALICE, &n));
	TEST_EQ_INT(registrar_count(f->r), 0);
	TEST_EQ_INT(f->sync_n, 0); /* the store is told the set is empty */
	/* removing a binding that is not there is fine */
	TEST_EQ_INT(reg(f, "cid-1", 4, "Contact: <" C3 ">;expires=0\r\n"), 0);
	if (ans_ok(f, 0))
		return -1;
	return 0;
}

RFX_TEST(registrar_star_rules, NULL)
{
	size_t n;

	TEST_EQ_INT(
		reg(f, "cid-1", 10, "Contact: <" C1 ">\r\nExpires: 600\r\n"),
		0);
	TEST_EQ_INT(reg(f, "cid-2", 1, "Contact: <" C2 ">\r\nExpires: 600\r\n"),
		    0);
	/* "*" needs Expires: 0 and must stand alone (§10.3 step 6) */
	TEST_EQ_INT(reg(f, "cid-1", 11, "Contact: *\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(reg(f, "cid-1", 11, "Contact: *\r\nExpires: 60\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(reg(f, "cid-1", 11,
			"Contact: *\r\nContact: <" C3 ">\r\nExpires: 0\r\n"),
		    0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(
		reg(f, "cid-1", 11, "Contact: *, <" C3 ">\r\nExpires: 0\r\n"),
		0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(f->ans.n_hdrs, 0);
	/* the same Call-ID with a CSeq not higher: aborted, nothing gone */
	TEST_EQ_INT(reg(f, "cid-1", 10, "Contact: *\r\nExpires: 0\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 500);
	TEST_EQ_INT(registrar_count(f->r), 2);
	/* another Call-ID removes everything */
	TEST_EQ_INT(reg(f, "cid-3", 1, "Contact: *\r\nExpires: 0\r\n"), 0);
	if (ans_ok(f, 0))
		return -1;
	TEST_ASSERT(!registrar_lookup(f->r, ALICE, &n));
	TEST_EQ_INT(registrar_count(f->r), 0);
	/* and on an AOR without bindings it is a no-op */
	TEST_EQ_INT(reg(f, "cid-3", 2, "Contact: *\r\nExpires: 0\r\n"), 0);
	if (ans_ok(f, 0))
		return -1;
	return 0;
}

RFX_TEST(registrar_interval_too_brief_423, NULL)
{
	size_t n;

	TEST_EQ_INT(reg(f, "cid-1", 1, "Contact: <" C1 ">\r\nExpires: 30\r\n"),
		    0);
	TEST_EQ_INT(f->ans.status, 423);
	TEST_EQ_STR(f->ans.reason, "Interval Too Brief");
	TEST_EQ_INT(f->ans.n_hdrs, 1);
	TEST_EQ_STR(f->ans.hdrs[0], "Min-Expires: 60");
	TEST_ASSERT(!registrar_lookup(f->r, ALICE, &n));
	/* a contact's own expires counts; one brief contact refuses all */
	TEST_EQ_INT(reg(f, "cid-1", 2,
			"Contact: <" C1 ">, <" C2 ">;expires=59\r\n"
			"Expires: 3600\r\n"),
		    0);
	TEST_EQ_INT(f->ans.status, 423);
	TEST_EQ_INT(registrar_count(f->r), 0);
	TEST_EQ_INT(f->syncs, 0);
	/* zero is a removal, never too brief; the minimum itself is fine */
	TEST_EQ_INT(reg(f, "cid-1", 3, "Contact: <" C1 ">\r\nExpires: 0\r\n"),
		    0);
	TEST_EQ_INT(f->ans.status, 200);
	TEST_EQ_INT(reg(f, "cid-1", 4, "Contact: <" C1 ">\r\nExpires: 60\r\n"),
		    0);
	TEST_EQ_INT(f->ans.status, 200);
	TEST_EQ_INT(ans_expires(f, C1), 60);
	return 0;
}

RFX_TEST(registrar_no_423_from_one_hour,
	 (&(struct registrar_opts){.min_expires_s = 7200}))
{
	/* §10.3 step 7: 423 only below one hour, whatever the minimum */
	TEST_EQ_INT(
		reg(f, "cid-1", 1, "Contact: <" C1 ">\r\nExpires: 3599\r\n"),
		0);
	TEST_EQ_INT(f->ans.status, 423);
	TEST_EQ_STR(f->ans.hdrs[0], "Min-Expires: 7200");
	TEST_EQ_INT(
		reg(f, "cid-1", 2, "Contact: <" C1 ">\r\nExpires: 3600\r\n"),
		0);
	TEST_EQ_INT(f->ans.status, 200);
	TEST_EQ_INT(ans_expires(f, C1), 3600);
	return 0;
}

RFX_TEST(registrar_clamps_to_max_and_refuses_bad_expires,
	 (&(struct registrar_opts){.max_expires_s = 7200}))
{
	TEST_EQ_INT(
		reg(f, "cid-1", 1, "Contact: <" C1 ">\r\nExpires: 100000\r\n"),
		0);
	if (ans_ok(f, 1))
		return -1;
	TEST_EQ_INT(ans_expires(f, C1), 7200);
	/* RFC 3261 §25.1 c-p-expires is delta-seconds: the SIP core
	 * refuses anything else as a malformed Contact (§10.2.1 only
	 * suggests leniency) */
	TEST_EQ_INT(
		reg(f, "cid-1", 2, "Contact: <" C1 ">;expires=99999999999\r\n"),
		0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(reg(f, "cid-1", 3, "Contact: <" C1 ">;expires=soon\r\n"),
		    0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(reg(f, "cid-1", 4, "Contact: <" C1 ">;expires\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 400);
	/* the largest delta-seconds is clamped like any other */
	TEST_EQ_INT(
		reg(f, "cid-1", 5, "Contact: <" C1 ">;expires=4294967295\r\n"),
		0);
	TEST_EQ_INT(ans_expires(f, C1), 7200);
	return 0;
}

RFX_TEST(registrar_default_expires,
	 (&(struct registrar_opts){.default_expires_s = 1800}))
{
	TEST_EQ_INT(reg(f, "cid-1", 1, "Contact: <" C1 ">\r\n"), 0);
	if (ans_ok(f, 1))
		return -1;
	TEST_EQ_INT(ans_expires(f, C1), 1800);
	return 0;
}

RFX_TEST(registrar_builtin_defaults, NULL)
{
	TEST_EQ_INT(reg(f, "cid-1", 1, "Contact: <" C1 ">\r\n"), 0);
	TEST_EQ_INT(ans_expires(f, C1), 3600);
	TEST_EQ_INT(reg(f, "cid-1", 2, "Contact: <" C1 ">;expires=59\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 423);
	TEST_EQ_STR(f->ans.hdrs[0], "Min-Expires: 60");
	TEST_EQ_INT(reg(f, "cid-1", 3, "Contact: <" C1 ">;expires=1000000\r\n"),
		    0);
	TEST_EQ_INT(ans_expires(f, C1), 86400);
	return 0;
}

RFX_TEST(registrar_contact_expires_overrides_header, NULL)
{
	TEST_EQ_INT(reg(f, "cid-1", 1,
			"Contact: <" C1 ">;expires=120\r\n"
			"Contact: <" C2 ">\r\n"
			"Expires: 600\r\n"),
		    0);
	if (ans_ok(f, 2))
		return -1;
	TEST_EQ_INT(ans_expires(f, C1), 120);
	TEST_EQ_INT(ans_expires(f, C2), 600);
	/* an addr-spec without <>: its parameters are the header's */
	TEST_EQ_INT(reg(f, "cid-1", 2, "Contact: " C3 ";expires=300\r\n"), 0);
	TEST_EQ_INT(ans_expires(f, C3), 300);
	return 0;
}

RFX_TEST(registrar_q_values_order_bindings, NULL)
{
	const struct binding *b;
	size_t n;

	TEST_EQ_INT(reg(f, "cid-1", 1,
			"Contact: <" C1 ">;q=0.5, <" C2 ">;q=0.125\r\n"
			"Contact: <" C3 ">;q=1.0\r\n"),
		    0);
	if (ans_ok(f, 3))
		return -1;
	b = registrar_lookup(f->r, ALICE, &n);
	TEST_EQ_INT(n, 3);
	TEST_EQ_STR(b[0].contact, C3);
	TEST_EQ_INT(b[0].q, 1000);
	TEST_EQ_STR(b[1].contact, C1);
	TEST_EQ_INT(b[1].q, 500);
	TEST_EQ_STR(b[2].contact, C2);
	TEST_EQ_INT(b[2].q, 125);
	TEST_EQ_STR(f->ans.hdrs[0], "Contact: <" C3 ">;expires=3600");
	TEST_EQ_STR(f->ans.hdrs[1], "Contact: <" C1 ">;expires=3600;q=0.5");
	TEST_EQ_STR(f->ans.hdrs[2], "Contact: <" C2 ">;expires=3600;q=0.125");
	/* q=0 is a valid preference, not a removal */
	TEST_EQ_INT(reg(f, "cid-1", 2, "Contact: <" C1 ">;q=0\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 200);
	TEST_EQ_STR(f->ans.hdrs[2], "Contact: <" C1 ">;expires=3600;q=0");
	/* RFC 3261 §25.1 qvalue grammar */
	TEST_EQ_INT(reg(f, "cid-1", 3, "Contact: <" C1 ">;q=1.5\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(reg(f, "cid-1", 3, "Contact: <" C1 ">;q=0.1234\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(reg(f, "cid-1", 3, "Contact: <" C1 ">;q=high\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(reg(f, "cid-1", 3, "Contact: <" C1 ">;q=1.001\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(reg(f, "cid-1", 3, "Contact: <" C1 ">;q=0.\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 200);
	return 0;
}

RFX_TEST(registrar_callid_cseq_rules, NULL)
{
	const struct binding *b;
	size_t n;

	TEST_EQ_INT(reg(f, "cid-1", 5, "Contact: <" C1 ">\r\nExpires: 600\r\n"),
		    0);
	TEST_EQ_INT(f->ans.status, 200);
	/* same Call-ID, CSeq not higher: out of order, aborted (§10.3) */
	TEST_EQ_INT(reg(f, "cid-1", 5, "Contact: <" C1 ">\r\nExpires: 0\r\n"),
		    0);
	TEST_EQ_INT(f->ans.status, 500);
	TEST_EQ_INT(f->ans.n_hdrs, 0);
	TEST_EQ_INT(reg(f, "cid-1", 4, "Contact: <" C1 ">\r\nExpires: 60\r\n"),
		    0);
	TEST_EQ_INT(f->ans.status, 500);
	b = registrar_lookup(f->r, ALICE, &n);
	TEST_EQ_INT(n, 1);
	TEST_EQ_INT(b[0].expires_s, 600);
	/* the abort is atomic: the new contact beside it is not added */
	TEST_EQ_INT(reg(f, "cid-1", 5,
			"Contact: <" C2 ">, <" C1 ">\r\nExpires: 60\r\n"),
		    0);
	TEST_EQ_INT(f->ans.status, 500);
	TEST_EQ_INT(registrar_count(f->r), 1);
	/* higher CSeq updates */
	TEST_EQ_INT(reg(f, "cid-1", 6, "Contact: <" C1 ">\r\nExpires: 60\r\n"),
		    0);
	TEST_EQ_INT(ans_expires(f, C1), 60);
	/* another Call-ID (a rebooted phone) updates whatever its CSeq */
	TEST_EQ_INT(reg(f, "cid-2", 1, "Contact: <" C1 ">\r\nExpires: 90\r\n"),
		    0);
	TEST_EQ_INT(ans_expires(f, C1), 90);
	b = registrar_lookup(f->r, ALICE, &n);
	TEST_EQ_STR(b[0].call_id, "cid-2");
	TEST_EQ_INT(b[0].cseq, 1);
	return 0;
}

RFX_TEST(registrar_contacts_compared_as_uris, NULL)
{
	/* §19.1.4: host and parameter names and values are caseless */
	TEST_EQ_INT(reg(f, "cid-1", 1,
			"Contact: <sip:alice@host.example.test;"
			"transport=tcp>\r\n"),
		    0);
	TEST_EQ_INT(reg(f, "cid-1", 2,
			"Contact: <sip:alice@HOST.example.test;"
			"Transport=TCP>;expires=100\r\n"),
		    0);
	if (ans_ok(f, 1))
		return -1;
	TEST_EQ_INT(registrar_count(f->r), 1);
	/* the contact keeps the form it was first registered in */
	TEST_EQ_INT(ans_expires(f, "sip:alice@host.example.test;transport=tcp"),
		    100);
	/* ... but the user part is case-sensitive */
	TEST_EQ_INT(reg(f, "cid-1", 3,
			"Contact: <sip:Alice@host.example.test;"
			"transport=tcp>\r\n"),
		    0);
	TEST_EQ_INT(registrar_count(f->r), 2);
	/* any scheme may be a contact (§10.2.1) */
	TEST_EQ_INT(reg(f, "cid-1", 4, "Contact: <tel:+15551234567>\r\n"), 0);
	TEST_EQ_INT(registrar_count(f->r), 3);
	/* the same URI twice in one request: the later value wins */
	TEST_EQ_INT(reg(f, "cid-1", 5,
			"Contact: <" C1 ">;expires=100, <" C1
			">;expires=200\r\n"),
		    0);
	TEST_EQ_INT(ans_expires(f, C1), 200);
	TEST_EQ_INT(registrar_count(f->r), 4);
	return 0;
}

RFX_TEST(registrar_expiry_sweep, NULL)
{
	size_t n;

	TEST_EQ_INT(reg(f, "cid-1", 1, "Contact: <" C1 ">;expires=60\r\n"), 0);
	TEST_EQ_INT(reg(f, "cid-1", 2, "Contact: <" C2 ">;expires=120\r\n"), 0);
	TEST_EQ_INT(reg_to(f, BOB, "cid-b", 1, "Contact: <" C3 ">\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 403); /* not alice's to register */
	f->now += 60 * 1000 - 1;
	TEST_ASSERT(registrar_lookup(f->r, ALICE, &n));
	TEST_EQ_INT(n, 2);
	f->now += 1;
	/* expired bindings are never returned, nor listed */
	TEST_ASSERT(registrar_lookup(f->r, ALICE, &n));
	TEST_EQ_INT(n, 1);
	TEST_EQ_INT(reg(f, "cid-1", 3, NULL), 0);
	if (ans_ok(f, 1))
		return -1;
	TEST_EQ_INT(ans_expires(f, C2), 60);
	f->now += 60 * 1000;
	TEST_EQ_INT(registrar_count(f->r), 1); /* not swept yet */
	registrar_expire(f->r);
	TEST_EQ_INT(registrar_count(f->r), 0);
	TEST_ASSERT(!registrar_lookup(f->r, ALICE, &n));
	registrar_expire(NULL);
	return 0;
}

RFX_TEST(registrar_max_bindings_403,
	 (&(struct registrar_opts){.max_bindings = 2}))
{
	size_t n;

	TEST_EQ_INT(reg(f, "cid-1", 1, "Contact: <" C1 ">, <" C2 ">\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 200);
	TEST_EQ_INT(reg(f, "cid-1", 2, "Contact: <" C3 ">\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 403);
	TEST_EQ_STR(f->ans.reason, "Too many bindings");
	TEST_EQ_INT(registrar_count(f->r), 2);
	/* replacing one by another in one request stays within it */
	TEST_EQ_INT(
		reg(f, "cid-1", 3, "Contact: <" C1 ">;expires=0, <" C3 ">\r\n"),
		0);
	if (ans_ok(f, 2))
		return -1;
	TEST_EQ_INT(ans_expires(f, C1), -1);
	TEST_ASSERT(registrar_lookup(f->r, ALICE, &n));
	TEST_EQ_INT(n, 2);
	/* an expired binding frees its place */
	f->now += 3600 * 1000;
	TEST_EQ_INT(reg(f, "cid-1", 4, "Contact: <" C1 ">, <" C2 ">\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 200);
	return 0;
}

RFX_TEST(registrar_query_without_contact, NULL)
{
	TEST_EQ_INT(reg(f, "cid-1", 1, NULL), 0);
	if (ans_ok(f, 0))
		return -1;
	TEST_EQ_INT(f->syncs, 0);
	TEST_EQ_INT(reg(f, "cid-1", 2, "Contact: <" C1 ">\r\n"), 0);
	TEST_EQ_INT(reg(f, "other", 1, NULL), 0);
	if (ans_ok(f, 1))
		return -1;
	TEST_EQ_INT(f->syncs, 1);
	return 0;
}

RFX_TEST(registrar_to_must_be_the_aor, NULL)
{
	TEST_EQ_INT(reg_to(f, BOB, "cid-1", 1, "Contact: <" C1 ">\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 403);
	TEST_EQ_INT(reg_to(f, "tel:+15551234567", "cid-1", 1,
			   "Contact: <" C1 ">\r\n"),
		    0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(reg_to(f, "sip:example.test", "cid-1", 1,
			   "Contact: <" C1 ">\r\n"),
		    0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(registrar_count(f->r), 0);
	/* the same user under sips: and with a caseless host */
	TEST_EQ_INT(reg_to(f, "sips:alice@EXAMPLE.test", "cid-1", 1,
			   "Contact: <sips:alice@192.0.2.1:5061>\r\n"),
		    0);
	TEST_EQ_INT(f->ans.status, 200);
	TEST_EQ_INT(registrar_count(f->r), 1);
	return 0;
}

RFX_TEST(registrar_bad_contacts_400, NULL)
{
	struct buf b;
	int err;

	TEST_EQ_INT(reg(f, "cid-1", 1, "Contact: <sip:alice@\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(reg(f, "cid-1", 1, "Contact: <" C1 ">, , <" C2 ">\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(reg(f, "cid-1", 1, "Contact: <" C1 ">;q=\r\n"), 0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(registrar_count(f->r), 0);
	/* more Contact values than one request may carry */
	buf_init(&b, 65536);
	for (unsigned i = 0; i <= SIP_MAX_HDR_VALUES; i++)
		(void)buf_printf(&b, "Contact: <sip:a%u@192.0.2.1>\r\n", i);
	(void)buf_append_byte(&b, '\0');
	err = b.err ? b.err : reg(f, "cid-1", 1, b.p);
	buf_fini(&b);
	TEST_EQ_INT(err, 0);
	TEST_EQ_INT(f->ans.status, 400);
	TEST_EQ_INT(registrar_count(f->r), 0);
	return 0;
}

RFX_TEST(registrar_truncated_contact_values, NULL)
{
	static const char contact[] =
		"\"Alice\" <sip:alice@192.0.2.1:5060;transport=tcp>"
		";q=0.5;expires=120";
	char hdr[256];

	/* every strict prefix: an answer, never a crash or a bad read */
	for (size_t n = 1; n < sizeof(contact) - 1; n++) {
		snprintf(hdr, sizeof(hdr), "Contact: %.*s\r\n", (int)n,
			 contact);
		if (rfx_msg(f, ALICE, "cid-1", (uint32_t)n, hdr))
			continue; /* the decoder refused it already */
		registrar_answer_fini(&f->ans);
		TEST_EQ_INT(registrar_process(f->r, f->m, NULL, ALICE, f->now,
					      &f->ans),
			    0);
		TEST_ASSERT(f->ans.status == 200 || f->ans.status == 400 ||
			    f->ans.status == 423);
	}
	return 0;
}

struct each_seen {
	size_t aors, bindings;
	bool stop;
};

static int each_cb(void *arg, const char *aor, const struct binding *b,
		   size_t n)
{
	struct each_seen *s = arg;

	(void)aor;
	(void)b;
	s->aors++;
	s->bindings += n;
	return s->stop ? 7 : 0;
}

static int each_body(struct rfx *f)
{
	struct each_seen seen = {0};
	char aor[64], contact[96];

	/* many AORs, to grow the table; each registers its own */
	for (unsigned i = 0; i < 200; i++) {
		snprintf(aor, sizeof(aor), "sip:u%u@example.test", i);
		snprintf(contact, sizeof(contact),
			 "Contact: <sip:u%u@192.0.2.9>;expires=%u\r\n", i,
			 i < 100 ? 60 : 600);
		TEST_EQ_INT(rfx_msg(f, aor, "cid", 1, contact), 0);
		registrar_answer_fini(&f->ans);
		TEST_EQ_INT(registrar_process(f->r, f->m, NULL, aor, f->now,
					      &f->ans),
			    0);
		TEST_EQ_INT(f->ans.status, 200);
	}
	TEST_EQ_INT(registrar_count(f->r), 200);
	TEST_EQ_INT(registrar_each(f->r, each_cb, &seen), 0);
	TEST_EQ_INT(seen.aors, 200);
	TEST_EQ_INT(seen.bindings, 200);
	/* each sweeps first: the 100 expired ones are gone */
	f->now += 60 * 1000;
	seen = (struct each_seen){0};
	TEST_EQ_INT(registrar_each(f->r, each_cb, &seen), 0);
	TEST_EQ_INT(seen.aors, 100);
	TEST_EQ_INT(registrar_count(f->r), 100);
	seen = (struct each_seen){.stop = true};
	TEST_EQ_INT(registrar_each(f->r, each_cb, &seen), 7);
	TEST_EQ_INT(seen.aors, 1);
	TEST_EQ_INT(registrar_each(f->r, NULL, NULL), -EINVAL);
	return 0;
}

TEST(registrar_each_visits_every_aor)
{
	struct rfx f;
	int rc = rfx_init(&f, NULL) ? -1 : each_body(&f);

	rfx_fini(&f);
	return rc;
}

static const char options[] = "OPTIONS sip:example.test SIP/2.0\r\n"
			      "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			      "From: <" ALICE ">;tag=1\r\n"
			      "To: <" ALICE ">\r\n"
			      "Call-ID: x\r\n"
			      "CSeq: 1 OPTIONS\r\n"
			      "Max-Forwards: 70\r\n"
			      "Content-Length: 0\r\n\r\n";

RFX_TEST(registrar_process_rejects_misuse, NULL)
{
	struct registrar_answer a = {0};
	size_t n = 9;

	TEST_EQ_INT(rfx_msg(f, ALICE, "cid-1", 1, NULL), 0);
	TEST_EQ_INT(registrar_process(NULL, f->m, NULL, ALICE, f->now, &a),
		    -EINVAL);
	TEST_EQ_INT(registrar_process(f->r, NULL, NULL, ALICE, f->now, &a),
		    -EINVAL);
	TEST_EQ_INT(registrar_process(f->r, f->m, NULL, NULL, f->now, &a),
		    -EINVAL);
	TEST_EQ_INT(registrar_process(f->r, f->m, NULL, ALICE, f->now, NULL),
		    -EINVAL);
	TEST_EQ_INT(a.n_hdrs, 0);
	/* only REGISTER */
	sip_msg_free(f->m);
	f->m = NULL;
	TEST_EQ_INT(
		sip_msg_decode(&f->m, options, sizeof(options) - 1, 0, NULL),
		0);
	TEST_EQ_INT(registrar_process(f->r, f->m, NULL, ALICE, f->now, &a),
		    -EINVAL);
	TEST_ASSERT(!registrar_lookup(NULL, ALICE, &n));
	TEST_EQ_INT(n, 0);
	TEST_ASSERT(!registrar_lookup(f->r, NULL, &n));
	TEST_EQ_INT(registrar_count(NULL), 0);
	TEST_EQ_INT(registrar_new(NULL, &(struct registrar_opts){0}), -EINVAL);
	registrar_free(NULL);
	registrar_answer_fini(NULL);
	return 0;
}
