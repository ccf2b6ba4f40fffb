/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of the HTTPS client against sipcert's own server on the same
 * loop: answers, the server's chain and name checked before the request
 * goes (RFC 9110 §4.3.4, RFC 6125 §6), limits, timeouts and cancels. */
#include "http/testutil.h"

#include "crypto/crypto.h"
#include "dns/dns.h"

enum {
	CF_TEXT_BYTES = 256,
	RAW_WAIT_MS = 3000,
};

/* Which certificate the server shows. */
enum leaf {
	LEAF_LOCALHOST, /* DNS:localhost from the trusted CA */
	LEAF_OTHER,	/* DNS:other.test from the trusted CA */
	LEAF_ROGUE,	/* DNS:localhost from a CA the client does not know */
};

struct cf {
	char dir[TNET_PATH_BYTES];
	struct event_base *base;
	EVP_PKEY *ca_key, *rogue_key, *leaf_key;
	X509 *ca, *rogue, *leaf;
	SSL_CTX *server_ctx;
	SSL_CTX *client_ctx;
	struct http_server *s;
	uint16_t port;
	struct http_client *hc;
	struct net_addr addr; /* the server's */
	/* what the server saw */
	int n_requests;
	enum http_method method;
	char path[CF_TEXT_BYTES];
	char peer[CF_TEXT_BYTES];
	char host[CF_TEXT_BYTES];
	char x_test[CF_TEXT_BYTES];
	char ctype[CF_TEXT_BYTES];
	char body[CF_TEXT_BYTES];
	size_t body_len;
	struct http_request *held;
	/* what the client got */
	int n_answers;
	int err;
	unsigned status;
	char answer[CF_TEXT_BYTES];
	size_t answer_len;
	char x_answer[CF_TEXT_BYTES];
	int n_checks;
	struct http_call *victim; /* cancelled from a callback */
};

static void text_copy(char *out, const char *s)
{
	snprintf(out, CF_TEXT_BYTES, "%s", s ? s : "");
}

/* ---- the server's routes ------------------------------------------------ */

static void srv_record(struct cf *f, struct http_request *r)
{
	struct slice body = http_request_body(r);

	f->n_requests++;
	f->method = http_request_method(r);
	text_copy(f->path, http_request_path(r));
	http_request_peer(r, f->peer, sizeof(f->peer));
	text_copy(f->host, http_request_header(r, "Host"));
	text_copy(f->x_test, http_request_header(r, "X-Test"));
	text_copy(f->ctype, http_request_header(r, "Content-Type"));
	f->body_len = body.len;
	snprintf(f->body, sizeof(f->body), "%.*s", SLICE_FMT(body));
}

static void srv_on_echo(void *arg, struct http_request *r)
{
	static const struct http_header hdrs[] = {{"X-Answer", "42"}};

	srv_record(arg, r);
	(void)http_reply(r, 200, "text/plain", SLICE_LIT("hello"), hdrs,
			 ARRAY_SIZE(hdrs));
}

static void srv_on_store(void *arg, struct http_request *r)
{
	srv_record(arg, r);
	(void)http_reply(r, 201, NULL, SLICE_NULL, NULL, 0);
}

/* A body of n octets: /sized?n=N. */
static void srv_on_sized(void *arg, struct http_request *r)
{
	static char body[1024];
	struct buf n;
	uint32_t len = 0;

	srv_record(arg, r);
	memset(body, 'x', sizeof(body));
	buf_init(&n, 16);
	if (http_request_query(r, "n", &n) ||
	    slice_u32(slice_of(n.p, n.len), sizeof(body), &len))
		len = 0;
	buf_fini(&n);
	(void)http_reply(r, 200, "application/octet-stream",
			 slice_of(body, len), NULL, 0);
}

static void srv_on_hold(void *arg, struct http_request *r)
{
	struct cf *f = arg;

	srv_record(f, r);
	f->held = r;
}

/* ---- the client's side -------------------------------------------------- */

static void on_answer(void *arg, int err, const struct http_answer *a)
{
	struct cf *f = arg;

	f->n_answers++;
	f->err = err;
	if (err)
		return;
	f->status = a->status;
	f->answer_len = a->body.len;
	snprintf(f->answer, sizeof(f->answer), "%.*s", SLICE_FMT(a->body));
	text_copy(f->x_answer, http_answer_header(a, "x-ANSWER"));
}

/* check_peer: the certificate must name other.test, whatever the URL. */
static int peer_is_other(void *arg, X509 *leaf)
{
	struct cf *f = arg;

	f->n_checks++;
	return crypto_cert_matches_dns(leaf, "other.test");
}

static int peer_never(void *arg, X509 *leaf)
{
	struct cf *f = arg;

	(void)leaf;
	f->n_checks++;
	return -1;
}

/* ---- the fixture -------------------------------------------------------- */

static int cert_issue(X509 **out, EVP_PKEY *key, EVP_PKEY *ca_key, X509 *ca,
		      const char *name)
{
	const char *const dns[] = {name};

	return crypto_cert_create(out, key, ca_key, ca,
				  &(struct crypto_cert_opts){
					  .dns_sans = ca ? dns : NULL,
					  .n_dns_sans = ca ? 1 : 0,
					  .common_name = name,
					  .is_ca = !ca,
					  .tls_server_client = ca != NULL,
					  .days = 1,
					  .not_before_offset_s = -60,
				  });
}

static int ca_file_write(struct cf *f, char *path, size_t n)
{
	FILE *fp;
	int ok;

	snprintf(path, n, "%s/ca.pem", f->dir);
	fp = fopen(path, "w");
	if (!fp)
		return -errno;
	ok = PEM_write_X509(fp, f->ca);
	fclose(fp);
	return ok ? 0 : -EIO;
}

static void cf_fini(struct cf *f)
{
	http_client_free(f->hc);
	f->hc = NULL;
	http_server_free(f->s);
	f->s = NULL;
	/* runs libevent's finalizers: the last SSLs go here */
	if (f->base)
		event_base_free(f->base);
	f->base = NULL;
	SSL_CTX_free(f->server_ctx);
	SSL_CTX_free(f->client_ctx);
	X509_free(f->ca);
	X509_free(f->rogue);
	X509_free(f->leaf);
	EVP_PKEY_free(f->ca_key);
	EVP_PKEY_free(f->rogue_key);
	EVP_PKEY_free(f->leaf_key);
	if (f->dir[0])
		tscratch_remove(f->dir);
	ERR_clear_error();
}

/* A trusted CA, the server with the leaf asked for on 127.0.0.1, and a
 * client trusting the CA (max_body 0 and timeout 0: the defaults). */
static int cf_init(struct cf *f, enum leaf which, size_t max_body_bytes,
		   unsigned timeout_ms)
{
	char ca_path[TNET_PATH_BYTES * 2];
	bool is_rogue = which == LEAF_ROGUE;

	memset(f, 0, sizeof(*f));
	signal(SIGPIPE, SIG_IGN);
	if (tscratch_make(f->dir) ||
	    crypto_key_generate(&f->ca_key, CRYPTO_KEY_EC_P256) ||
	    crypto_key_generate(&f->rogue_key, CRYPTO_KEY_EC_P256) ||
	    crypto_key_generate(&f->leaf_key, CRYPTO_KEY_EC_P256) ||
	    cert_issue(&f->ca, f->ca_key, NULL, NULL, "Test CA") ||
	    cert_issue(&f->rogue, f->rogue_key, NULL, NULL, "Test CA") ||
	    cert_issue(&f->leaf, f->leaf_key,
		       is_rogue ? f->rogue_key : f->ca_key,
		       is_rogue ? f->rogue : f->ca,
		       which == LEAF_OTHER ? "other.test" : "localhost") ||
	    ca_file_write(f, ca_path, sizeof(ca_path)) ||
	    net_tls_client_ctx(&f->client_ctx, ca_path))
		goto fail;
	f->server_ctx = SSL_CTX_new(TLS_server_method());
	if (!f->server_ctx ||
	    SSL_CTX_use_certificate(f->server_ctx, f->leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(f->server_ctx, f->leaf_key) != 1)
		goto fail;
	f->base = event_base_new();
	if (!f->base || http_server_new(&f->s, &(struct http_opts){
						       .base = f->base,
						       .tls_ctx = f->server_ctx,
					       }))
		goto fail;
	if (http_route(f->s, "/echo", srv_on_echo, f) ||
	    http_route(f->s, "/store", srv_on_store, f) ||
	    http_route(f->s, "/sized", srv_on_sized, f) ||
	    http_route(f->s, "/hold", srv_on_hold, f) ||
	    http_listen(f->s, "127.0.0.1", 0, &f->port) ||
	    net_addr_parse("127.0.0.1", f->port, &f->addr))
		goto fail;
	if (http_client_new(&f->hc, &(struct http_client_opts){
					    .base = f->base,
					    .tls_ctx = f->client_ctx,
					    .max_body_bytes = max_body_bytes,
					    .timeout_ms = timeout_ms,
				    }))
		goto fail;
	return 0;
fail:
	TEST_FAIL_AT("fixture failed");
	cf_fini(f);
	return -1;
}

static bool answered(struct cf *f)
{
	return f->n_answers > 0;
}

static bool requested(struct cf *f)
{
	return f->n_requests > 0;
}

/* Turn the loop in 1 ms steps until done holds, ms at most. */
static bool cf_run(struct cf *f, bool (*done)(struct cf *f), unsigned ms)
{
	uint64_t until = loop_now_ms() + ms;
	struct timeval tick = {0, 1000};

	while (!done || !done(f)) {
		if (loop_now_ms() >= until)
			return !done;
		event_base_loopexit(f->base, &tick);
		event_base_dispatch(f->base);
	}
	return true;
}

/* One call to url over the server's address; 0 when it was answered,
 * with the outcome in f. */
static int cf_call(struct cf *f, const struct http_call_opts *o)
{
	struct http_call_opts opts = *o;
	struct http_call *call = NULL;
	int rc;

	if (!opts.addr)
		opts.addr = &f->addr;
	rc = http_call(f->hc, &opts, on_answer, f, &call);
	if (rc) {
		TEST_FAIL_AT("http_call: %d", rc);
		return -1;
	}
	/* http.h: the callback never runs inside http_call() */
	if (f->n_answers || !call) {
		TEST_FAIL_AT("called back inside http_call()");
		return -1;
	}
	if (!cf_run(f, answered, RUN_MS)) {
		TEST_FAIL_AT("no answer");
		return -1;
	}
	return 0;
}

/* Whether lo <= ms since t0 < hi (libevent's timers may fire a little
 * before loop_now_ms() says the time is up). */
static bool took(uint64_t t0, uint64_t lo, uint64_t hi)
{
	uint64_t ms = loop_now_ms() - t0;

	if (ms >= lo && ms < hi)
		return true;
	TEST_FAIL_AT("took %llu ms", (unsigned long long)ms);
	return false;
}

static const char *cf_url(struct cf *f, char *out, size_t n, const char *host,
			  const char *path)
{
	snprintf(out, n, "https://%s:%u%s", host, f->port, path);
	return out;
}

/* ---- sockets that do not speak ------------------------------------------ */

/* A socket bound on 127.0.0.1; listening (the kernel completes the
 * handshakes, nobody ever accepts) or not (connects are refused). */
static int quiet_socket(bool is_listening, struct net_addr *addr)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    (is_listening && listen(fd, 8)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) ||
	    net_addr_parse("127.0.0.1", ntohs(sin.sin_port), addr)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A UDP socket on 127.0.0.1 that never reads: a name server that never
 * answers. */
static int quiet_udp(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A server on a thread for answers sipcert's server never gives: it
 * accepts one connection, TLS or not, reads the request head, writes
 * reply and closes. */
struct raw_srv {
	int lfd;
	struct net_addr addr;
	SSL_CTX *ctx; /* NULL: plain TCP */
	const char *reply;
	bool has_close_notify;
	char got[1024];
	size_t got_len;
	pthread_t th;
	bool is_started;
};

static void raw_read_head(struct raw_srv *s, int fd, SSL *ssl)
{
	while (s->got_len < sizeof(s->got) - 1) {
		size_t room = sizeof(s->got) - 1 - s->got_len;
		int n = ssl ? SSL_read(ssl, s->got + s->got_len, (int)room)
			    : (int)recv(fd, s->got + s->got_len, room, 0);

		if (n <= 0)
			break;
		s->got_len += (size_t)n;
		s->got[s->got_len] = '\0';
		/* plain TCP: a TLS hello has no end of head to wait for */
		if (!ssl || strstr(s->got, "\r\n\r\n"))
			break;
	}
}

static void *raw_main(void *arg)
{
	struct raw_srv *s = arg;
	struct pollfd p = {s->lfd, POLLIN, 0};
	struct timeval tv = {RAW_WAIT_MS / 1000, 0};
	SSL *ssl = NULL;
	int fd = -1;

	if (poll(&p, 1, RAW_WAIT_MS) != 1)
		goto out;
	fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		goto out;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (s->ctx) {
		ssl = SSL_new(s->ctx);
		if (!ssl || !SSL_set_fd(ssl, fd) || SSL_accept(ssl) != 1)
			goto out;
	}
	raw_read_head(s, fd, ssl);
	if (ssl && *s->reply)
		(void)SSL_write(ssl, s->reply, (int)strlen(s->reply));
	if (ssl && s->has_close_notify)
		(void)SSL_shutdown(ssl);
	if (!ssl)
		(void)send(fd, s->reply, strlen(s->reply), MSG_NOSIGNAL);
out:
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	OPENSSL_thread_stop();
	return NULL;
}

static int raw_start(struct raw_srv *s, SSL_CTX *ctx, const char *reply,
		     bool has_close_notify)
{
	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->reply = reply;
	s->has_close_notify = has_close_notify;
	s->lfd = quiet_socket(true, &s->addr);
	if (s->lfd < 0)
		return -1;
	if (pthread_create(&s->th, NULL, raw_main, s)) {
		close(s->lfd);
		s->lfd = -1;
		return -1;
	}
	s->is_started = true;
	return 0;
}

static void raw_stop(struct raw_srv *s)
{
	if (s->is_started)
		pthread_join(s->th, NULL);
	s->is_started = false;
	if (s->lfd >= 0)
		close(s->lfd);
	s->lfd = -1;
}

/* ---- answers ------------------------------------------------------------ */

TEST(http_client_get)
{
	static const struct http_header hdrs[] = {{"X-Test", "yes"}};
	struct cf f;
	char url[128], host[64];
	int rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 0, 0))
		return -1;
	if (cf_call(&f, &(struct http_call_opts){
				.url = cf_url(&f, url, sizeof(url), "localhost",
					      "/echo?x=1"),
				.hdrs = hdrs,
				.n_hdrs = ARRAY_SIZE(hdrs),
			}))
		goto out;
	CHECK_EQ(f.err, 0);
	CHECK_EQ(f.status, 200);
	CHECK_EQ(f.answer_len, 5);
	CHECK_EQ(strcmp(f.answer, "hello"), 0);
	CHECK_EQ(strcmp(f.x_answer, "42"), 0);
	/* what went out: GET, origin-form, Host with the URL's port */
	CHECK_EQ(f.n_requests, 1);
	CHECK_EQ(f.method, HTTP_GET);
	CHECK_EQ(strcmp(f.path, "/echo"), 0);
	snprintf(host, sizeof(host), "localhost:%u", f.port);
	CHECK_EQ(strcmp(f.host, host), 0);
	CHECK_EQ(strcmp(f.x_test, "yes"), 0);
	CHECK_EQ(f.body_len, 0);
	rc = 0;
out:
	cf_fini(&f);
	return rc;
}

TEST(http_client_put_body)
{
	static const char body[] = "-----BEGIN CERTIFICATE-----\n";
	struct cf f;
	char url[128];
	int rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 0, 0))
		return -1;
	if (cf_call(&f, &(struct http_call_opts){
				.method = "PUT",
				.url = cf_url(&f, url, sizeof(url), "localhost",
					      "/store"),
				.ctype = "application/x-pem-file",
				.body = SLICE_LIT(body),
			}))
		goto out;
	CHECK_EQ(f.err, 0);
	CHECK_EQ(f.status, 201);
	CHECK_EQ(f.answer_len, 0);
	CHECK_EQ(f.n_requests, 1);
	CHECK_EQ(f.method, HTTP_PUT);
	CHECK_EQ(strcmp(f.ctype, "application/x-pem-file"), 0);
	CHECK_EQ(f.body_len, sizeof(body) - 1);
	CHECK_EQ(strcmp(f.body, body), 0);
	rc = 0;
out:
	cf_fini(&f);
	return rc;
}

/* A 4xx is a result, not an error (STYLE.md B3); and the methods. */
TEST(http_client_status_and_methods)
{
	static const struct {
		const char *method;
		const char *path;
		unsigned status;
		enum http_method seen;
	} v[] = {
		{NULL, "/nowhere", 404, HTTP_OTHER},
		{"DELETE", "/store", 201, HTTP_DELETE},
		{"POST", "/store", 201, HTTP_POST},
		{"HEAD", "/echo", 200, HTTP_HEAD},
	};
	struct cf f;
	char url[128];
	int rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 0, 0))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		f.n_answers = f.n_requests = 0;
		if (cf_call(&f, &(struct http_call_opts){
					.method = v[i].method,
					.url = cf_url(&f, url, sizeof(url),
						      "localhost", v[i].path),
				}))
			goto out;
		CHECK_EQ(f.err, 0);
		CHECK_EQ(f.status, v[i].status);
		CHECK_EQ(f.n_requests, v[i].seen == HTTP_OTHER ? 0 : 1);
		if (v[i].seen != HTTP_OTHER)
			CHECK_EQ(f.method, v[i].seen);
		/* HEAD: no body comes, whatever the Content-Length */
		if (v[i].seen == HTTP_HEAD)
			CHECK_EQ(f.answer_len, 0);
	}
	rc = 0;
out:
	cf_fini(&f);
	return rc;
}

TEST(http_client_refuses_requests)
{
	static const struct http_header crlf[] = {{"X-A", "1\r\nX-B: 2"}};
	static const struct http_header host[] = {{"host", "evil"}};
	static const struct http_header noname[] = {{"", "x"}};
	static const struct http_header space[] = {{"X A", "x"}};
	static const struct {
		const char *url;
		const char *method;
		const struct http_header *hdrs;
		const char *ctype;
		int rc;
	} v[] = {
		{"http://localhost/", NULL, NULL, NULL, -EPROTONOSUPPORT},
		{"ftp://localhost/", NULL, NULL, NULL, -EPROTONOSUPPORT},
		{"HTTPS://LocalHost:1/a?b", NULL, NULL, NULL, 0},
		{"https://localhost", NULL, NULL, NULL, 0},
		{"https://[::1]:1/", NULL, NULL, NULL, 0},
		{"https://", NULL, NULL, NULL, -EINVAL},
		{"https:///x", NULL, NULL, NULL, -EINVAL},
		{"//localhost/x", NULL, NULL, NULL, -EINVAL},
		{"not a url", NULL, NULL, NULL, -EINVAL},
		{"https://user@localhost/", NULL, NULL, NULL, -EINVAL},
		{"https://localhost:0/", NULL, NULL, NULL, -EINVAL},
		{"https://localhost:65536/", NULL, NULL, NULL, -EINVAL},
		{"https://a_b.test/", NULL, NULL, NULL, -EINVAL},
		{"https://-a.test/", NULL, NULL, NULL, -EINVAL},
		{"https://a-.test/", NULL, NULL, NULL, -EINVAL},
		{"https://a..test/", NULL, NULL, NULL, -EINVAL},
		{"https://a.test./", NULL, NULL, NULL, -EINVAL},
		{"https://a%41.test/", NULL, NULL, NULL, -EINVAL},
		{"https://[::g]/", NULL, NULL, NULL, -EINVAL},
		{"https://localhost/a b", NULL, NULL, NULL, -EINVAL},
		{"https://localhost/a\r\nX: y", NULL, NULL, NULL, -EINVAL},
		{"https://localhost/", "get", NULL, NULL, -EINVAL},
		{"https://localhost/", "CONNECT", NULL, NULL, -EINVAL},
		{"https://localhost/", NULL, crlf, NULL, -EINVAL},
		{"https://localhost/", NULL, host, NULL, -EINVAL},
		{"https://localhost/", NULL, noname, NULL, -EINVAL},
		{"https://localhost/", NULL, space, NULL, -EINVAL},
		{"https://localhost/", "PUT", NULL, "a\nb", -EINVAL},
		{"https://localhost/", "PUT", NULL, "", -EINVAL},
	};
	struct http_call *call;
	struct net_addr a;
	struct cf f;
	int rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 0, 0))
		return -1;
	if (net_addr_parse("127.0.0.1", 1, &a))
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		int got;

		call = NULL;
		got = http_call(f.hc,
				&(struct http_call_opts){
					.url = v[i].url,
					.method = v[i].method,
					.hdrs = v[i].hdrs,
					.n_hdrs = v[i].hdrs ? 1 : 0,
					.ctype = v[i].ctype,
					.addr = &a,
				},
				on_answer, &f, &call);
		if (got != v[i].rc)
			TEST_FAIL_AT("%s", v[i].url);
		CHECK_EQ(got, v[i].rc);
		CHECK_EQ(call != NULL, got == 0);
		http_call_cancel(call);
	}
	/* the API's own contract */
	call = NULL;
	CHECK_EQ(http_call(f.hc, &(struct http_call_opts){.addr = &a},
			   on_answer, &f, &call),
		 -EINVAL);
	CHECK_EQ(http_call(f.hc,
			   &(struct http_call_opts){
				   .url = "https://localhost/",
				   .addr = &a,
			   },
			   NULL, &f, &call),
		 -EINVAL);
	CHECK_EQ(http_call(NULL, &(struct http_call_opts){.url = "https://x/"},
			   on_answer, &f, &call),
		 -EINVAL);
	/* a host name without dns (and without an address) goes nowhere */
	CHECK_EQ(http_call(f.hc, &(struct http_call_opts){.url = "https://x/"},
			   on_answer, &f, &call),
		 -EINVAL);
	CHECK_EQ(call == NULL, 1);
	http_call_cancel(NULL);
	/* nothing was sent, nothing calls back */
	cf_run(&f, NULL, 50);
	CHECK_EQ(f.n_answers, 0);
	CHECK_EQ(f.n_requests, 0);
	rc = 0;
out:
	cf_fini(&f);
	return rc;
}

TEST(http_client_answer_header_lookup)
{
	static const struct http_header h[] = {
		{"Content-Type", "text/plain"},
		{"ETag", "\"1\""},
	};
	struct http_answer a = {.headers = h, .n_headers = ARRAY_SIZE(h)};

	TEST_EQ_STR(http_answer_header(&a, "content-type"), "text/plain");
	TEST_EQ_STR(http_answer_header(&a, "ETAG"), "\"1\"");
	TEST_ASSERT(!http_answer_header(&a, "ETa"));
	TEST_ASSERT(!http_answer_header(&a, "ETagx"));
	TEST_ASSERT(!http_answer_header(&a, NULL));
	TEST_ASSERT(!http_answer_header(NULL, "ETag"));
	return 0;
}

/* ---- the server's certificate ------------------------------------------- */

/* A trusted certificate for another host: the handshake stops, and the
 * request never reaches that server. */
TEST(http_client_wrong_name)
{
	struct cf f;
	char url[128];
	int rc = -1;

	if (cf_init(&f, LEAF_OTHER, 0, 0))
		return -1;
	if (cf_call(&f, &(struct http_call_opts){
				.url = cf_url(&f, url, sizeof(url), "localhost",
					      "/echo"),
			}))
		goto out;
	CHECK_EQ(f.err, -EPERM);
	cf_run(&f, NULL, 50);
	CHECK_EQ(f.n_requests, 0);
	CHECK_EQ(f.n_answers, 1);
	rc = 0;
out:
	cf_fini(&f);
	return rc;
}

/* RFC 6125 §6.4: an IP address never matches (and the URL's literal is
 * where the call goes, without dns). */
TEST(http_client_ip_url_never_matches)
{
	struct cf f;
	char url[128];
	int rc = -1;
	struct http_call *call = NULL;

	if (cf_init(&f, LEAF_LOCALHOST, 0, 0))
		return -1;
	CHECK_EQ(http_call(f.hc,
			   &(struct http_call_opts){
				   .url = cf_url(&f, url, sizeof(url),
						 "127.0.0.1", "/echo"),
			   },
			   on_answer, &f, &call),
		 0);
	if (!cf_run(&f, answered, RUN_MS))
		goto out;
	CHECK_EQ(f.err, -EPERM);
	CHECK_EQ(f.n_requests, 0);
	rc = 0;
out:
	cf_fini(&f);
	return rc;
}

TEST(http_client_untrusted_ca)
{
	struct cf f;
	char url[128];
	int rc = -1;

	if (cf_init(&f, LEAF_ROGUE, 0, 0))
		return -1;
	if (cf_call(&f, &(struct http_call_opts){
				.url = cf_url(&f, url, sizeof(url), "localhost",
					      "/echo"),
			}))
		goto out;
	CHECK_EQ(f.err, -EPROTO);
	cf_run(&f, NULL, 50);
	CHECK_EQ(f.n_requests, 0);
	rc = 0;
out:
	cf_fini(&f);
	return rc;
}

/* check_peer replaces the name rule: a certificate for other.test is
 * accepted for localhost, and a refusal wins over a matching name. */
TEST(http_client_check_peer)
{
	struct cf f;
	char url[128];
	int rc = -1;

	if (cf_init(&f, LEAF_OTHER, 0, 0))
		return -1;
	if (cf_call(&f, &(struct http_call_opts){
				.url = cf_url(&f, url, sizeof(url), "localhost",
					      "/echo"),
				.check_peer = peer_is_other,
			}))
		goto out;
	CHECK_EQ(f.err, 0);
	CHECK_EQ(f.status, 200);
	CHECK_EQ(f.n_requests, 1);
	CHECK_EQ(f.n_checks > 0, 1);
	cf_fini(&f);

	if (cf_init(&f, LEAF_LOCALHOST, 0, 0))
		return -1;
	if (cf_call(&f, &(struct http_call_opts){
				.url = cf_url(&f, url, sizeof(url), "localhost",
					      "/echo"),
				.check_peer = peer_never,
			}))
		goto out;
	CHECK_EQ(f.err, -EPERM);
	CHECK_EQ(f.n_checks > 0, 1);
	cf_run(&f, NULL, 50);
	CHECK_EQ(f.n_requests, 0);
	rc = 0;
out:
	cf_fini(&f);
	return rc;
}

/* ---- connections -------------------------------------------------------- */

TEST(http_client_connection_refused)
{
	struct net_addr a;
	struct cf f;
	char url[128];
	int fd = -1, rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 0, 0))
		return -1;
	fd = quiet_socket(false, &a);
	if (fd < 0)
		goto out;
	if (cf_call(&f, &(struct http_call_opts){
				.url = cf_url(&f, url, sizeof(url), "localhost",
					      "/echo"),
				.addr = &a,
			}))
		goto out;
	CHECK_EQ(f.err, -ECONNREFUSED);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	cf_fini(&f);
	return rc;
}

/* The deadline covers connect, TLS and the answer: a socket that never
 * speaks TLS, then a server that never answers the request. */
TEST(http_client_timeout)
{
	struct net_addr a;
	struct cf f;
	char url[128];
	uint64_t t0;
	int fd = -1, rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 0, 200))
		return -1;
	fd = quiet_socket(true, &a);
	if (fd < 0)
		goto out;
	t0 = loop_now_ms();
	if (cf_call(&f, &(struct http_call_opts){
				.url = cf_url(&f, url, sizeof(url), "localhost",
					      "/echo"),
				.addr = &a,
			}))
		goto out;
	CHECK_EQ(f.err, -ETIMEDOUT);
	CHECK_EQ(took(t0, 180, 1500), 1);

	f.n_answers = 0;
	t0 = loop_now_ms();
	if (cf_call(&f, &(struct http_call_opts){
				.url = cf_url(&f, url, sizeof(url), "localhost",
					      "/hold"),
			}))
		goto out;
	CHECK_EQ(f.err, -ETIMEDOUT);
	CHECK_EQ(f.n_requests, 1);
	CHECK_EQ(took(t0, 180, 1500), 1);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	cf_fini(&f);
	return rc;
}

/* ---- limits and broken answers ------------------------------------------ */

TEST(http_client_body_limit)
{
	static const struct {
		const char *path;
		int err;
		size_t len;
	} v[] = {
		{"/sized?n=16", 0, 16},
		{"/sized?n=17", -EMSGSIZE, 0},
		{"/sized?n=1000", -EMSGSIZE, 0},
		{"/sized?n=0", 0, 0},
	};
	struct cf f;
	char url[128];
	int rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 16, 0))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		f.n_answers = 0;
		if (cf_call(&f, &(struct http_call_opts){
					.url = cf_url(&f, url, sizeof(url),
						      "localhost", v[i].path),
				}))
			goto out;
		CHECK_EQ(f.err, v[i].err);
		if (!v[i].err)
			CHECK_EQ(f.answer_len, v[i].len);
	}
	rc = 0;
out:
	cf_fini(&f);
	return rc;
}

/* Answers only a broken or hostile server gives. */
TEST(http_client_broken_answers)
{
	static const struct {
		bool is_tls;
		bool has_close_notify;
		const char *reply;
		int err;
		const char *body;
	} v[] = {
		/* TLS up, then no HTTP */
		{true, true, "SIP/2.0 200 OK\r\n\r\n", -EBADMSG, NULL},
		{true, true, "hello there\r\n\r\n", -EBADMSG, NULL},
		{true, true, "HTTP/1.1 2000 OK\r\n\r\n", -EBADMSG, NULL},
		{true, true, "HTTP/1.1 199 Early\r\n\r\n", -EBADMSG, NULL},
		{true, true, "HTTP/1.1 600 Odd\r\n\r\n", -EBADMSG, NULL},
		{true, true, "", -EBADMSG, NULL},
		/* no TLS at all: a plain HTTP server */
		{false, false, "HTTP/1.1 400 Bad Request\r\n\r\n", -EPROTO,
		 NULL},
		/* over max_body_bytes by Content-Length, by chunks, by
		 * reading to the end */
		{true, true,
		 "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nxx",
		 -EMSGSIZE, NULL},
		{true, true,
		 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n"
		 "0\r\n\r\n",
		 -EMSGSIZE, NULL},
		{true, true,
		 "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
		 "0123456789abcdef0123456789abcdef",
		 -EMSGSIZE, NULL},
		/* within it, the same framings are fine */
		{true, false,
		 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "4\r\n0123\r\n3\r\n456\r\n0\r\n\r\n",
		 0, "0123456"},
		{true, false, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		 0, "abc"},
		{true, true, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc",
		 0, "abc"},
		/* RFC 9112 §9.8: without close_notify, an answer that the
		 * end delimits may be cut short; so may one short of its
		 * Content-Length */
		{true, false, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc",
		 -EBADMSG, NULL},
		{true, true, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabc",
		 -EBADMSG, NULL},
	};
	static char big[HTTP_MAX_HEADERS_BYTES + 64];
	struct raw_srv s = {.lfd = -1};
	struct cf f;
	char url[128];
	int n, rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 20, 0))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		f.n_answers = 0;
		if (raw_start(&s, v[i].is_tls ? f.server_ctx : NULL, v[i].reply,
			      v[i].has_close_notify))
			goto out;
		if (cf_call(&f, &(struct http_call_opts){
					.url = cf_url(&f, url, sizeof(url),
						      "localhost", "/raw"),
					.addr = &s.addr,
				}))
			goto out;
		raw_stop(&s);
		if (f.err != v[i].err)
			TEST_FAIL_AT("case %zu", i);
		CHECK_EQ(f.err, v[i].err);
		if (v[i].body)
			CHECK_EQ(strcmp(f.answer, v[i].body), 0);
		/* a TLS server got the request head */
		if (v[i].is_tls)
			CHECK_EQ(!strncmp(s.got, "GET /raw HTTP/1.1\r\n", 19),
				 1);
	}
	/* a head over HTTP_MAX_HEADERS_BYTES */
	n = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX-Big: ");
	memset(big + n, 'a', sizeof(big) - (size_t)n - 5);
	memcpy(big + sizeof(big) - 5, "\r\n\r\n", 5);
	f.n_answers = 0;
	if (raw_start(&s, f.server_ctx, big, true) ||
	    cf_call(&f, &(struct http_call_opts){
				.url = cf_url(&f, url, sizeof(url), "localhost",
					      "/raw"),
				.addr = &s.addr,
			}))
		goto out;
	CHECK_EQ(f.err, -EBADMSG);
	rc = 0;
out:
	raw_stop(&s);
	cf_fini(&f);
	return rc;
}

/* ---- names through dns -------------------------------------------------- */

/* A client of f's loop resolving through a dns whose only server is a
 * socket that never answers: nothing leaves the machine, and a name
 * without an override stays unresolved. */
struct named {
	int udp_fd;
	struct dns *dns;
	struct http_client *hc;
};

static void named_fini(struct named *n)
{
	http_client_free(n->hc);
	n->hc = NULL;
	dns_free(n->dns);
	n->dns = NULL;
	if (n->udp_fd >= 0)
		close(n->udp_fd);
	n->udp_fd = -1;
}

static int named_init(struct named *n, struct cf *f, unsigned timeout_ms)
{
	char servers[32];
	uint16_t port;

	memset(n, 0, sizeof(*n));
	n->udp_fd = quiet_udp(&port);
	if (n->udp_fd < 0)
		return -1;
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", port);
	if (dns_new(&n->dns,
		    &(struct dns_opts){
			    .base = f->base,
			    .servers = servers,
			    .timeout_ms = 2000,
			    .tries = 1,
		    }) ||
	    http_client_new(&n->hc, &(struct http_client_opts){
					    .base = f->base,
					    .dns = n->dns,
					    .tls_ctx = f->client_ctx,
					    .timeout_ms = timeout_ms,
				    })) {
		named_fini(n);
		return -1;
	}
	return 0;
}

/* The URL's host through dns (an override here); Host and the name
 * check are the URL's. */
TEST(http_client_dns_override)
{
	struct http_call *call = NULL;
	struct named n = {.udp_fd = -1};
	struct cf f;
	char url[128], spec[64], host[64];
	int rc = -1;

	if (cf_init(&f, LEAF_OTHER, 0, 0))
		return -1;
	if (named_init(&n, &f, 0))
		goto out;
	snprintf(spec, sizeof(spec), "other.test:%u:127.0.0.1", f.port);
	CHECK_EQ(dns_add_override(n.dns, spec), 0);
	CHECK_EQ(http_call(n.hc,
			   &(struct http_call_opts){
				   .url = cf_url(&f, url, sizeof(url),
						 "other.test", "/echo"),
			   },
			   on_answer, &f, &call),
		 0);
	CHECK_EQ(f.n_answers, 0);
	if (!cf_run(&f, answered, RUN_MS))
		goto out;
	CHECK_EQ(f.err, 0);
	CHECK_EQ(f.status, 200);
	CHECK_EQ(f.n_requests, 1);
	snprintf(host, sizeof(host), "other.test:%u", f.port);
	CHECK_EQ(strcmp(f.host, host), 0);
	rc = 0;
out:
	named_fini(&n);
	cf_fini(&f);
	return rc;
}

/* The deadline runs during resolution too, and a cancel there stops the
 * query: neither calls back twice nor leaks. */
TEST(http_client_dns_timeout_and_cancel)
{
	struct http_call *call = NULL;
	struct named n = {.udp_fd = -1};
	struct cf f;
	char url[128];
	uint64_t t0;
	int rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 0, 0))
		return -1;
	if (named_init(&n, &f, 150))
		goto out;
	cf_url(&f, url, sizeof(url), "nowhere.test", "/echo");
	t0 = loop_now_ms();
	CHECK_EQ(http_call(n.hc, &(struct http_call_opts){.url = url},
			   on_answer, &f, &call),
		 0);
	if (!cf_run(&f, answered, RUN_MS))
		goto out;
	CHECK_EQ(f.err, -ETIMEDOUT);
	CHECK_EQ(took(t0, 130, 1500), 1);
	f.n_answers = 0;
	CHECK_EQ(http_call(n.hc, &(struct http_call_opts){.url = url},
			   on_answer, &f, &call),
		 0);
	cf_run(&f, NULL, 20);
	http_call_cancel(call);
	cf_run(&f, NULL, 300);
	CHECK_EQ(f.n_answers, 0);
	CHECK_EQ(f.n_requests, 0);
	rc = 0;
out:
	named_fini(&n);
	cf_fini(&f);
	return rc;
}

/* localhost is 127.0.0.1 then ::1 (RFC 6761 §6.3): with the port
 * refused on the first, the call goes on to the second. */
TEST(http_client_tries_targets_in_order)
{
	struct http_call *call = NULL;
	struct named n = {.udp_fd = -1};
	struct net_addr a;
	struct cf f;
	char url[128];
	uint16_t port = 0;
	int fd = -1, rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 0, 0))
		return -1;
	if (named_init(&n, &f, 0))
		goto out;
	/* a port free on both: listening on ::1, refused on 127.0.0.1 */
	for (int i = 0; i < 20 && fd < 0; i++) {
		fd = quiet_socket(false, &a);
		if (fd >= 0 &&
		    http_listen(f.s, "::1", net_addr_port(&a), NULL)) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		TEST_FAIL_AT("no port free on both 127.0.0.1 and ::1");
		goto out;
	}
	port = net_addr_port(&a);
	snprintf(url, sizeof(url), "https://localhost:%u/echo", port);
	CHECK_EQ(http_call(n.hc, &(struct http_call_opts){.url = url},
			   on_answer, &f, &call),
		 0);
	if (!cf_run(&f, answered, RUN_MS))
		goto out;
	CHECK_EQ(f.err, 0);
	CHECK_EQ(f.status, 200);
	CHECK_EQ(strncmp(f.peer, "[::1]:", 6), 0);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	named_fini(&n);
	cf_fini(&f);
	return rc;
}

/* ---- cancels and the client going --------------------------------------- */

TEST(http_client_cancel_before_connect)
{
	struct http_call *call = NULL;
	struct cf f;
	char url[128];
	int rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 0, 0))
		return -1;
	CHECK_EQ(http_call(f.hc,
			   &(struct http_call_opts){
				   .url = cf_url(&f, url, sizeof(url),
						 "localhost", "/echo"),
				   .addr = &f.addr,
			   },
			   on_answer, &f, &call),
		 0);
	http_call_cancel(call);
	cf_run(&f, NULL, 100);
	CHECK_EQ(f.n_answers, 0);
	CHECK_EQ(f.n_requests, 0);
	rc = 0;
out:
	cf_fini(&f);
	return rc;
}

/* Cancelled while the server holds the request: no callback; the late
 * answer finds no one. A second call on the same client still works. */
TEST(http_client_cancel_after_connect)
{
	struct http_call *call = NULL;
	struct cf f;
	char url[128];
	int rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 0, 0))
		return -1;
	CHECK_EQ(http_call(f.hc,
			   &(struct http_call_opts){
				   .url = cf_url(&f, url, sizeof(url),
						 "localhost", "/hold"),
				   .addr = &f.addr,
			   },
			   on_answer, &f, &call),
		 0);
	if (!cf_run(&f, requested, RUN_MS) || !f.held)
		goto out;
	http_call_cancel(call);
	cf_run(&f, NULL, 50);
	CHECK_EQ(f.n_answers, 0);
	(void)http_reply(f.held, 200, NULL, SLICE_NULL, NULL, 0);
	f.held = NULL;
	cf_run(&f, NULL, 20);
	CHECK_EQ(f.n_answers, 0);
	if (cf_call(&f, &(struct http_call_opts){
				.url = cf_url(&f, url, sizeof(url), "localhost",
					      "/echo"),
			}))
		goto out;
	CHECK_EQ(f.err, 0);
	CHECK_EQ(f.status, 200);
	rc = 0;
out:
	cf_fini(&f);
	return rc;
}

/* A call cancelled from inside another call's callback never calls
 * back. */
static void on_answer_cancel(void *arg, int err, const struct http_answer *a)
{
	struct cf *f = arg;

	(void)a;
	f->n_answers++;
	f->err = err;
	http_call_cancel(f->victim);
}

TEST(http_client_cancel_from_callback)
{
	struct http_call *first = NULL;
	struct net_addr a;
	struct cf f;
	char url[128];
	int fd = -1, rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 0, 0))
		return -1;
	fd = quiet_socket(false, &a);
	if (fd < 0)
		goto out;
	/* the first fails fast (refused) and cancels the second */
	CHECK_EQ(http_call(f.hc,
			   &(struct http_call_opts){
				   .url = cf_url(&f, url, sizeof(url),
						 "localhost", "/echo"),
				   .addr = &a,
			   },
			   on_answer_cancel, &f, &first),
		 0);
	CHECK_EQ(http_call(f.hc,
			   &(struct http_call_opts){
				   .url = cf_url(&f, url, sizeof(url),
						 "localhost", "/hold"),
				   .addr = &f.addr,
			   },
			   on_answer, &f, &f.victim),
		 0);
	cf_run(&f, NULL, 200);
	/* the first only: the second never calls back */
	CHECK_EQ(f.n_answers, 1);
	CHECK_EQ(f.err, -ECONNREFUSED);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	cf_fini(&f);
	return rc;
}

/* Freeing the client from one call's callback takes the others along. */
static void on_answer_free(void *arg, int err, const struct http_answer *a)
{
	struct cf *f = arg;

	(void)a;
	f->err = err;
	f->n_answers++;
	http_client_free(f->hc);
	f->hc = NULL;
}

TEST(http_client_free_with_calls_pending)
{
	struct http_call *held = NULL, *fresh = NULL, *quiet = NULL;
	struct net_addr a;
	struct cf f;
	char url[128];
	int fd = -1, rc = -1;

	if (cf_init(&f, LEAF_LOCALHOST, 0, 0))
		return -1;
	fd = quiet_socket(true, &a);
	if (fd < 0)
		goto out;
	cf_url(&f, url, sizeof(url), "localhost", "/hold");
	CHECK_EQ(
		http_call(f.hc,
			  &(struct http_call_opts){.url = url, .addr = &f.addr},
			  on_answer, &f, &held),
		0);
	CHECK_EQ(http_call(f.hc,
			   &(struct http_call_opts){.url = url, .addr = &a},
			   on_answer, &f, &quiet),
		 0);
	if (!cf_run(&f, requested, RUN_MS) || !f.held)
		goto out;
	/* one in the server, one in the kernel's backlog, one not started,
	 * one cancelled and not yet freed */
	CHECK_EQ(
		http_call(f.hc,
			  &(struct http_call_opts){.url = url, .addr = &f.addr},
			  on_answer, &f, &fresh),
		0);
	http_call_cancel(quiet);
	http_client_free(f.hc);
	f.hc = NULL;
	cf_run(&f, NULL, 50);
	CHECK_EQ(f.n_answers, 0);

	/* and from inside a callback */
	if (http_client_new(&f.hc, &(struct http_client_opts){
					   .base = f.base,
					   .tls_ctx = f.client_ctx,
				   }))
		goto out;
	CHECK_EQ(http_call(f.hc,
			   &(struct http_call_opts){
				   .url = cf_url(&f, url, sizeof(url),
						 "localhost", "/echo"),
				   .addr = &f.addr,
			   },
			   on_answer_free, &f, NULL),
		 0);
	CHECK_EQ(http_call(f.hc,
			   &(struct http_call_opts){.url = url, .addr = &a},
			   on_answer_free, &f, NULL),
		 0);
	cf_run(&f, NULL, 300);
	CHECK_EQ(f.n_answers, 1);
	CHECK_EQ(f.err, 0);
	CHECK_EQ(f.hc == NULL, 1);
	rc = 0;
out:
	if (f.held)
		(void)http_reply(f.held, 500, NULL, SLICE_NULL, NULL, 0);
	if (fd >= 0)
		close(fd);
	cf_fini(&f);
	return rc;
}

TEST(http_client_new_refusals)
{
	struct http_client *c = NULL;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct event_base *base = event_base_new();
	int rc = -1;

	if (!ctx || !base)
		goto out;
	CHECK_EQ(http_client_new(NULL,
				 &(struct http_client_opts){
					 .base = base,
					 .tls_ctx = ctx,
				 }),
		 -EINVAL);
	CHECK_EQ(http_client_new(&c, NULL), -EINVAL);
	CHECK_EQ(
		http_client_new(&c, &(struct http_client_opts){.tls_ctx = ctx}),
		-EINVAL);
	CHECK_EQ(http_client_new(&c, &(struct http_client_opts){.base = base}),
		 -EINVAL);
	CHECK_EQ(c == NULL, 1);
	/* the client holds its own reference to the context */
	CHECK_EQ(http_client_new(&c,
				 &(struct http_client_opts){
					 .base = base,
					 .tls_ctx = ctx,
				 }),
		 0);
	SSL_CTX_free(ctx);
	ctx = NULL;
	http_client_free(c);
	http_client_free(NULL);
	rc = 0;
out:
	SSL_CTX_free(ctx);
	if (base)
		event_base_free(base);
	return rc;
}
