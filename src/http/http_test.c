/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of the HTTPS server's requests and answers over loopback TLS:
 * routes, methods, the query, bodies, answers and their headers (RFC
 * 9110, RFC 9112), late answers, and the limits on size. */
#include "http/testutil.h"

TEST(http_route_rules)
{
	struct fx f;
	int rc = -1;

	if (fx_init(&f))
		return -1;
	CHECK_EQ(http_route(f.s, "/search-cgi", on_cert, &f), -EEXIST);
	CHECK_EQ(http_route(f.s, "/cert/*", on_cert, &f), -EEXIST);
	/* the exact path and the prefix are two routes */
	CHECK_EQ(http_route(f.s, "/search-cgi*", on_cert, &f), 0);
	CHECK_EQ(http_route(f.s, "/", on_cert, &f), 0);
	CHECK_EQ(http_route(f.s, "", on_cert, &f), -EINVAL);
	CHECK_EQ(http_route(f.s, "*", on_cert, &f), -EINVAL);
	CHECK_EQ(http_route(f.s, "no-slash", on_cert, &f), -EINVAL);
	CHECK_EQ(http_route(f.s, "/a b", on_cert, &f), -EINVAL);
	CHECK_EQ(http_route(f.s, "/a?b", on_cert, &f), -EINVAL);
	CHECK_EQ(http_route(f.s, "/a*b", on_cert, &f), -EINVAL);
	CHECK_EQ(http_route(f.s, "/a", NULL, &f), -EINVAL);
	CHECK_EQ(http_route(NULL, "/a", on_cert, &f), -EINVAL);
	rc = 0;
out:
	fx_fini(&f);
	return rc;
}

TEST(http_server_args)
{
	struct fx f;
	struct http_server *s = NULL;
	uint16_t port = 0;
	int err, rc = -1;

	if (fx_init(&f))
		return -1;
	err = http_server_new(&s, &(struct http_opts){.base = f.base});
	CHECK_EQ(err, -EINVAL);
	err = http_server_new(&s, &(struct http_opts){.tls_ctx = f.server_ctx});
	CHECK_EQ(err, -EINVAL);
	err = http_server_new(&s, &(struct http_opts){
					  .base = f.base,
					  .tls_ctx = f.server_ctx,
					  .server_name = "bad\r\nname",
				  });
	CHECK_EQ(err, -EINVAL);
	CHECK_EQ(s == NULL, 1);
	CHECK_EQ(http_server_new(NULL, NULL), -EINVAL);
	CHECK_EQ(http_listen(f.s, "localhost", 0, NULL), -EINVAL);
	CHECK_EQ(http_listen(f.s, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(http_listen(f.s, "127.0.0.1", f.port, NULL), -EADDRINUSE);
	CHECK_EQ(http_listen(f.s, "::1", 0, &port), 0);
	CHECK_EQ(port != 0 && port != f.port, 1);
	http_server_free(NULL);
	rc = 0;
out:
	fx_fini(&f);
	return rc;
}

TEST(http_get_with_query)
{
	struct fx f;
	struct tc c;
	char v[128], want[64];
	const char *body;
	int rc = -1;

	if (fx_init(&f))
		return -1;
	if (fx_exchange(
		    &f, &c,
		    "GET /search-cgi?x=1&aor=alice%40example.com+x HTTP/1.1\r\n"
		    "Host: localhost\r\nConnection: close\r\n\r\n"))
		goto out;
	if (tc_status(&c) != 200 || f.n_calls != 1 || f.reply_rc ||
	    f.method != HTTP_GET || strcmp(f.path, "/search-cgi") ||
	    strcmp(f.query, "alice@example.com x"))
		goto out;
	body = tc_body(&c);
	if (!body || strcmp(body, "cert of alice@example.com x\n"))
		goto out;
	/* the headers every answer carries, and the type and length */
	if (!tc_header(&c, "Content-Type", v, sizeof(v)) ||
	    strcmp(v, "text/plain") ||
	    !tc_header(&c, "Content-Length", v, sizeof(v)) || strcmp(v, "28") ||
	    !tc_header(&c, "Server", v, sizeof(v)) || strcmp(v, "sipcert") ||
	    !tc_header(&c, "Cache-Control", v, sizeof(v)) ||
	    strcmp(v, "no-store") ||
	    !tc_header(&c, "X-Content-Type-Options", v, sizeof(v)) ||
	    strcmp(v, "nosniff") ||
	    !tc_header(&c, "Strict-Transport-Security", v, sizeof(v)) ||
	    strncmp(v, "max-age=", 8) || !tc_header(&c, "Date", v, sizeof(v)) ||
	    strlen(v) != 29 || strcmp(v + 25, " GMT"))
		goto out;
	/* the client's address as the server saw it */
	snprintf(want, sizeof(want), "127.0.0.1:");
	if (strncmp(f.peer, want, strlen(want)) || strlen(f.peer) < 11)
		goto out;
	rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\", peer %s", c.rx, f.peer);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

TEST(http_head_has_length_no_body)
{
	struct fx f;
	struct tc c;
	char v[32];
	int rc = -1;

	if (fx_init(&f))
		return -1;
	if (fx_exchange(&f, &c,
			"HEAD /search-cgi?aor=bob HTTP/1.1\r\n"
			"Host: localhost\r\nConnection: close\r\n\r\n"))
		goto out;
	/* "cert of bob\n": its length, not its bytes */
	if (tc_status(&c) == 200 && f.method == HTTP_HEAD &&
	    tc_header(&c, "Content-Length", v, sizeof(v)) && !strcmp(v, "12") &&
	    tc_body(&c) && !*tc_body(&c) && !strstr(c.rx, "cert of"))
		rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\"", c.rx);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

TEST(http_put_with_body)
{
	static const char req[] = "PUT /search-cgi HTTP/1.1\r\n"
				  "Host: localhost\r\n"
				  "Content-Type: application/pkix-cert\r\n"
				  "Content-Length: 11\r\n"
				  "Connection: close\r\n\r\n"
				  "hello\0world";
	struct fx f;
	struct tc c;
	char v[32];
	int rc = -1;

	if (fx_init(&f))
		return -1;
	if (tc_open(&c, f.client_ctx, f.port))
		goto out;
	tc_send(&c, req, sizeof(req) - 1);
	if (!fx_run(&f, &c, NULL, NULL, NULL))
		goto out;
	/* the body whole, with its NUL octet; no content in the 201 */
	if (tc_status(&c) == 201 && f.method == HTTP_PUT && f.body_len == 11 &&
	    !strcmp(f.body, "hello") &&
	    !strcmp(f.ctype, "application/pkix-cert") &&
	    tc_header(&c, "Content-Length", v, sizeof(v)) && !strcmp(v, "0") &&
	    !tc_header(&c, "Content-Type", v, sizeof(v)))
		rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\"", c.rx);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

TEST(http_not_found)
{
	struct fx f;
	struct tc c;
	struct http_stats st;
	char v[64];
	int rc = -1;

	if (fx_init(&f))
		return -1;
	/* "/cert" is not under "/cert/" */
	if (fx_exchange(&f, &c,
			"GET /cert HTTP/1.1\r\nHost: localhost\r\n"
			"Connection: close\r\n\r\n"))
		goto out;
	http_server_stats(f.s, &st);
	if (tc_status(&c) == 404 && f.n_calls == 0 && tc_body(&c) &&
	    !strcmp(tc_body(&c), "not found\n") &&
	    tc_header(&c, "Content-Type", v, sizeof(v)) &&
	    !strncmp(v, "text/plain", 10) &&
	    tc_header(&c, "Strict-Transport-Security", v, sizeof(v)) &&
	    st.requests == 1 && st.status_4xx == 1 && st.status_5xx == 0)
		rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\"", c.rx);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

TEST(http_prefix_route)
{
	struct fx f;
	struct tc c;
	int rc = -1;

	if (fx_init(&f))
		return -1;
	if (fx_exchange(&f, &c,
			"GET /cert/alice%40example.com?x=1 HTTP/1.1\r\n"
			"Host: localhost\r\nConnection: close\r\n\r\n"))
		goto out;
	/* the path as sent, without the query */
	if (tc_status(&c) == 200 && f.n_calls == 1 &&
	    !strcmp(f.path, "/cert/alice%40example.com") && tc_body(&c) &&
	    !strcmp(tc_body(&c), "/cert/alice%40example.com"))
		rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\"", c.rx);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

TEST(http_method_not_allowed)
{
	struct fx f;
	struct tc c;
	char v[64];
	int rc = -1;

	if (fx_init(&f))
		return -1;
	if (fx_exchange(&f, &c,
			"DELETE /search-cgi HTTP/1.1\r\nHost: localhost\r\n"
			"Connection: close\r\n\r\n"))
		goto out;
	if (tc_status(&c) == 405 && f.method == HTTP_DELETE && !f.reply_rc &&
	    !strncmp(c.rx, "HTTP/1.1 405 Method Not Allowed\r\n", 33) &&
	    tc_header(&c, "Allow", v, sizeof(v)) &&
	    !strcmp(v, "GET, HEAD, PUT"))
		rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\"", c.rx);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

/* evhttp refuses TRACE itself; OPTIONS reaches the handler */
TEST(http_methods_other)
{
	struct fx f;
	struct tc c;
	int rc = -1;

	if (fx_init(&f))
		return -1;
	if (fx_exchange(&f, &c,
			"TRACE /search-cgi HTTP/1.1\r\nHost: localhost\r\n"
			"Connection: close\r\n\r\n") ||
	    tc_status(&c) != 501 || f.n_calls != 0)
		goto out;
	tc_close(&c);
	if (fx_exchange(&f, &c,
			"OPTIONS /search-cgi HTTP/1.1\r\nHost: localhost\r\n"
			"Connection: close\r\n\r\n") ||
	    tc_status(&c) != 405 || f.n_calls != 1 || f.method != HTTP_OTHER)
		goto out;
	rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\"", c.rx);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

TEST(http_bad_query_refused)
{
	struct fx f;
	struct tc c;
	int rc = -1;

	if (fx_init(&f))
		return -1;
	if (fx_exchange(&f, &c,
			"GET /search-cgi?aor=al%00ice HTTP/1.1\r\n"
			"Host: localhost\r\nConnection: close\r\n\r\n"))
		goto out;
	if (tc_status(&c) == 400 && f.query_rc == -EBADMSG)
		rc = 0;
	tc_close(&c);
	if (rc)
		goto out;
	rc = -1;
	if (!fx_exchange(&f, &c,
			 "GET /search-cgi?other=1 HTTP/1.1\r\n"
			 "Host: localhost\r\nConnection: close\r\n\r\n") &&
	    tc_status(&c) == 400 && f.query_rc == -ENOENT)
		rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\"", c.rx);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

static void on_late(evutil_socket_t fd, short what, void *arg)
{
	struct fx *f = arg;

	(void)fd;
	(void)what;
	f->reply_rc = http_reply(f->held, 200, "text/plain",
				 SLICE_LIT("late\n"), NULL, 0);
	f->held = NULL;
}

TEST(http_delayed_answer)
{
	struct fx f;
	struct tc c;
	struct timeval tv = {0, 20 * 1000};
	int one = 1, rc = -1;

	if (fx_init(&f))
		return -1;
	if (tc_open(&c, f.client_ctx, f.port))
		goto out;
	tc_send_str(&c, "GET /hold HTTP/1.1\r\nHost: localhost\r\n"
			"Connection: close\r\n\r\n");
	if (!fx_run(&f, &c, NULL, calls_reached, &one) || !f.held)
		goto out;
	/* nothing is sent before the handler answers */
	f.timer = evtimer_new(f.base, on_late, &f);
	if (!f.timer || evtimer_add(f.timer, &tv) || c.rx_len)
		goto out;
	if (!fx_run(&f, &c, NULL, NULL, NULL))
		goto out;
	if (tc_status(&c) == 200 && !f.reply_rc && !f.held && tc_body(&c) &&
	    !strcmp(tc_body(&c), "late\n"))
		rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\"", c.rx);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

TEST(http_header_injection_refused)
{
	struct fx f;
	struct tc c;
	struct http_stats st;
	int rc = -1;

	if (fx_init(&f))
		return -1;
	if (fx_exchange(&f, &c,
			"GET /inject HTTP/1.1\r\nHost: localhost\r\n"
			"Connection: close\r\n\r\n"))
		goto out;
	http_server_stats(f.s, &st);
	/* a 500 instead, with none of the handler's headers or body */
	if (tc_status(&c) == 500 && f.reply_rc == -EINVAL &&
	    !strstr(c.rx, "X-Evil") && !strstr(c.rx, "X-Ok") &&
	    !strstr(c.rx, "secret") && tc_count(&c, "HTTP/1.1") == 1 &&
	    st.status_5xx == 1)
		rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\"", c.rx);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

TEST(http_reply_checks_arguments)
{
	struct fx f;
	struct tc c;
	char v[32];
	int rc = -1;

	if (fx_init(&f))
		return -1;
	if (fx_exchange(&f, &c,
			"GET /bad-status HTTP/1.1\r\nHost: localhost\r\n"
			"Connection: close\r\n\r\n") ||
	    tc_status(&c) != 500 || f.reply_rc != -EINVAL)
		goto out;
	tc_close(&c);
	/* the handler's Cache-Control replaces no-store, once */
	if (fx_exchange(&f, &c,
			"GET /cached HTTP/1.1\r\nHost: localhost\r\n"
			"Connection: close\r\n\r\n") ||
	    tc_status(&c) != 200 || f.reply_rc ||
	    !tc_header(&c, "Cache-Control", v, sizeof(v)) ||
	    strcmp(v, "max-age=60") || tc_count(&c, "Cache-Control") != 1)
		goto out;
	CHECK_EQ(http_reply(NULL, 200, NULL, SLICE_NULL, NULL, 0), -EINVAL);
	rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\"", c.rx);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

TEST(http_body_too_large)
{
	struct fx f;
	struct tc c;
	char req[256];
	int rc = -1;

	if (fx_init(&f))
		return -1;
	snprintf(req, sizeof(req),
		 "PUT /search-cgi HTTP/1.1\r\nHost: localhost\r\n"
		 "Content-Length: %d\r\n\r\n",
		 HTTP_MAX_BODY_BYTES + 1);
	if (fx_exchange(&f, &c, req))
		goto out;
	/* refused on its announced length, before any of it is read */
	if (tc_status(&c) == 413 && f.n_calls == 0)
		rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%s\"", c.rx);
	tc_close(&c);
	fx_fini(&f);
	return rc;
}

TEST(http_headers_too_large)
{
	struct fx f;
	struct tc c;
	struct buf req;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	if (fx_init(&f))
		return -1;
	buf_init(&req, 64 * 1024);
	buf_printf(&req, "GET /search-cgi?aor=a HTTP/1.1\r\nHost: localhost\r\n"
			 "X-Big: ");
	for (int i = 0; i < HTTP_MAX_HEADERS_BYTES / 64 + 1; i++)
		buf_append_cstr(&req, "0123456789abcdef0123456789abcdef"
				      "0123456789abcdef0123456789abcdef");
	buf_append_cstr(&req, "\r\nConnection: close\r\n\r\n");
	if (req.err || tc_open(&c, f.client_ctx, f.port))
		goto out;
	tc_send(&c, req.p, req.len);
	/* refused before any handler sees it */
	if (fx_run(&f, &c, NULL, NULL, NULL) && tc_status(&c) == 400 &&
	    f.n_calls == 0)
		rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("answer: \"%.200s\"", c.rx);
	tc_close(&c);
	buf_fini(&req);
	fx_fini(&f);
	return rc;
}
