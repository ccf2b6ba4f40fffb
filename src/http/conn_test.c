/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of the HTTPS server's connections: TLS only (RFC 8446; plain
 * HTTP gets no answer), handshake counts, the cap, idle timeouts, and
 * requests outliving their client or their server. */
#include "http/testutil.h"

/* The server goes with a request unanswered: dropped, nothing leaks, the
 * client sees the connection close without an answer. */
TEST(http_free_with_pending_request)
{
	struct fx f;
	struct tc c;
	int one = 1, rc = -1;

	if (fx_init(&f))
		return -1;
	if (tc_open(&c, f.client_ctx, f.port))
		goto out;
	tc_send_str(&c, "GET /hold HTTP/1.1\r\nHost: localhost\r\n\r\n");
	if (!fx_run(&f, &c, NULL, calls_reached, &one) || !f.held)
		goto out;
	http_server_free(f.s);
	f.s = NULL;
	f.held = NULL;
	if (fx_run(&f, &c, NULL, NULL, NULL) && c.rx_len == 0)
		rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\"", c.rx);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

/* The client leaves first; the late answer finds no one, and a request
 * still held when the server goes is dropped as well. */
TEST(http_client_gone_before_answer)
{
	struct fx f;
	struct tc c;
	int two = 2, one = 1, rc = -1;

	if (fx_init(&f))
		return -1;
	if (tc_open(&c, f.client_ctx, f.port))
		goto out;
	tc_send_str(&c, "GET /hold HTTP/1.1\r\nHost: localhost\r\n\r\n");
	if (!fx_run(&f, &c, NULL, calls_reached, &one) || !f.held)
		goto out;
	tc_close(&c);
	fx_spin(&f, 20);
	CHECK_EQ(http_reply(f.held, 200, NULL, SLICE_NULL, NULL, 0), 0);
	f.held = NULL;
	if (tc_open(&c, f.client_ctx, f.port))
		goto out;
	tc_send_str(&c, "GET /hold HTTP/1.1\r\nHost: localhost\r\n\r\n");
	if (!fx_run(&f, &c, NULL, calls_reached, &two) || !f.held)
		goto out;
	tc_close(&c);
	fx_spin(&f, 20);
	rc = 0;
out:
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

TEST(http_plain_client_gets_no_answer)
{
	static const char req[] =
		"GET /search-cgi?aor=x HTTP/1.1\r\n"
		"Host: localhost\r\nConnection: close\r\n\r\n";
	struct fx f;
	struct tc c;
	struct http_stats st;
	uint64_t one = 1;
	int rc = -1;

	if (fx_init(&f))
		return -1;
	if (tc_open(&c, NULL, f.port))
		goto out;
	tc_send(&c, req, sizeof(req) - 1);
	if (!fx_run(&f, &c, NULL, NULL, NULL) ||
	    !fx_run(&f, NULL, NULL, failures_reached, &one))
		goto out;
	http_server_stats(f.s, &st);
	/* at most a TLS alert, never HTTP */
	if (!strstr(c.rx, "HTTP/") && f.n_calls == 0 && st.requests == 0 &&
	    st.tls_failures == 1 && st.tls_handshakes == 0 &&
	    http_server_conns(f.s) == 0)
		rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\"", c.rx);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

/* Idle connections are closed: one that never starts its handshake (a
 * failure), one that did and then sends no request. */
TEST(http_idle_timeout)
{
	struct fx f;
	struct tc c1, c2;
	struct http_stats st;
	unsigned zero = 0;
	uint64_t t0;
	int rc = -1;

	memset(&c2, 0, sizeof(c2));
	c2.fd = -1;
	if (fx_init(&f))
		return -1;
	http_server_set_timeout_ms(f.s, 50);
	t0 = loop_now_ms();
	if (tc_open(&c1, NULL, f.port) || tc_open(&c2, f.client_ctx, f.port) ||
	    !fx_run(&f, &c1, &c2, NULL, NULL) || !c2.is_handshaken ||
	    c1.rx_len || c2.rx_len || loop_now_ms() - t0 < 40 ||
	    !fx_run(&f, NULL, NULL, conns_are, &zero))
		goto out;
	http_server_stats(f.s, &st);
	if (st.tls_handshakes == 1 && st.tls_failures == 1 && !st.requests)
		rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("closed after %llu ms",
			     (unsigned long long)(loop_now_ms() - t0));
	tc_close(&c1);
	tc_close(&c2);
	fx_fini(&f);
	return rc;
}

TEST(http_stats_counters)
{
	struct fx f;
	struct tc c, c2;
	struct http_stats st;
	unsigned zero = 0;
	uint64_t two = 2;
	int rc = -1;

	memset(&c2, 0, sizeof(c2));
	c2.fd = -1;
	if (fx_init(&f))
		return -1;
	http_server_stats(f.s, &st);
	TEST_ASSERT(!st.requests && !st.tls_handshakes && !st.tls_failures);
	/* two requests on one connection (keep-alive), then a third */
	if (tc_open(&c, f.client_ctx, f.port))
		goto out;
	tc_send_str(&c,
		    "GET /search-cgi?aor=a HTTP/1.1\r\nHost: localhost\r\n\r\n"
		    "GET /nowhere HTTP/1.1\r\nHost: localhost\r\n"
		    "Connection: close\r\n\r\n");
	if (!fx_run(&f, &c, NULL, NULL, NULL) || tc_count(&c, "HTTP/1.1 ") != 2)
		goto out;
	tc_close(&c);
	if (fx_exchange(&f, &c,
			"GET /bad-status HTTP/1.1\r\nHost: localhost\r\n"
			"Connection: close\r\n\r\n"))
		goto out;
	tc_close(&c);
	/* a handshake that fails: plain bytes; one that never starts */
	if (tc_open(&c, NULL, f.port) || tc_open(&c2, NULL, f.port))
		goto out;
	tc_send_str(&c, "hello\r\n\r\n");
	tc_close(&c2);
	if (!fx_run(&f, &c, NULL, failures_reached, &two) ||
	    !fx_run(&f, NULL, NULL, conns_are, &zero))
		goto out;
	http_server_stats(f.s, &st);
	if (st.requests == 3 && st.tls_handshakes == 2 &&
	    st.tls_failures == 2 && st.status_4xx == 1 && st.status_5xx == 1)
		rc = 0;
	else
		TEST_FAIL_AT("requests %llu handshakes %llu failures %llu "
			     "4xx %llu 5xx %llu",
			     (unsigned long long)st.requests,
			     (unsigned long long)st.tls_handshakes,
			     (unsigned long long)st.tls_failures,
			     (unsigned long long)st.status_4xx,
			     (unsigned long long)st.status_5xx);
out:
	tc_close(&c);
	tc_close(&c2);
	fx_fini(&f);
	return rc;
}

/* Past the cap a connection is closed at once, with neither TLS nor
 * HTTP; when one ends, the next is served. */
TEST(http_connection_cap)
{
	struct fx f;
	struct tc c1, c2;
	unsigned zero = 0;
	int rc = -1;

	memset(&c2, 0, sizeof(c2));
	c2.fd = -1;
	if (fx_init(&f))
		return -1;
	http_server_set_max_conns(f.s, 1);
	if (tc_open(&c1, f.client_ctx, f.port) ||
	    !fx_run(&f, &c1, NULL, handshaken, &c1) || !c1.is_handshaken ||
	    http_server_conns(f.s) != 1)
		goto out;
	if (tc_open(&c2, f.client_ctx, f.port) ||
	    !fx_run(&f, NULL, &c2, handshaken, &c2) || c2.is_handshaken ||
	    c2.rx_len != 0 || http_server_conns(f.s) != 1)
		goto out;
	tc_close(&c2);
	tc_close(&c1);
	if (!fx_run(&f, NULL, NULL, conns_are, &zero))
		goto out;
	if (fx_exchange(&f, &c2,
			"GET /search-cgi?aor=c HTTP/1.1\r\nHost: localhost\r\n"
			"Connection: close\r\n\r\n") ||
	    tc_status(&c2) != 200)
		goto out;
	rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("conns %u", f.s ? http_server_conns(f.s) : 0);
	tc_close(&c1);
	tc_close(&c2);
	fx_fini(&f);
	return rc;
}
