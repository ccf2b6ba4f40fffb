/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of TLS flows and contexts: TLS 1.2 and 1.3 accepted, older
 * versions and NULL suites refused, the RFC 6072 §10.5 suite available,
 * client certificates, SNI both ways (RFC 6066 §3), verification of the
 * server by outgoing flows, stalled handshakes, reloading. Certificates
 * are made in the test, never checked in. */
#include "priv.h"
#include "testutil.h"

#define MSG                                                                    \
	"OPTIONS sip:a@example.com SIP/2.0\r\n"                                \
	"Via: SIP/2.0/TLS 127.0.0.1;branch=z9hG4bK1\r\n"                       \
	"Content-Length: 0\r\n\r\n"
#define RESP "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"

struct fix {
	char dir[TNET_PATH_BYTES];
	struct tcert srv;
	SSL_CTX *sctx;
	struct tnet t;
	uint16_t port;
	bool has_dir;
};

/* A TLS server net on 127.0.0.1 with a certificate of key type kt; o
 * gives the client-certificate options (cert and key are filled in). */
static int fix_open(struct fix *f, const char *kt,
		    const struct net_tls_server_opts *o,
		    const struct net_opts *no)
{
	struct net_tls_server_opts so =
		o ? *o : (struct net_tls_server_opts){0};
	struct net_opts opts = no ? *no : (struct net_opts){0};

	memset(f, 0, sizeof(*f));
	if (tscratch_make(f->dir))
		return -1;
	f->has_dir = true;
	if (tcert_make(&f->srv, f->dir, "sip.example.com", kt))
		return -1;
	so.cert_file = f->srv.cert;
	so.key_file = f->srv.key;
	if (net_tls_server_ctx(&f->sctx, &so))
		return -1;
	opts.tls_server_ctx = f->sctx;
	if (tnet_init(&f->t, &opts))
		return -1;
	f->t.reply = RESP;
	return net_listen(f->t.n, NET_TLS, "127.0.0.1", 0, &f->port) ? -1 : 0;
}

static void fix_close(struct fix *f)
{
	tnet_fini(&f->t);
	SSL_CTX_free(f->sctx);
	f->sctx = NULL;
	if (f->has_dir)
		tscratch_remove(f->dir);
}

static void client_init(struct tls_client *c, const struct fix *f, SSL_CTX *ctx)
{
	memset(c, 0, sizeof(*c));
	c->host = "127.0.0.1";
	c->port = f->port;
	c->ctx = ctx;
	c->send = MSG;
	c->want_reply = true;
}

static bool client_talked(const struct tls_client *c)
{
	return c->handshake_ok && !c->read_failed &&
	       c->reply_len == strlen(RESP) &&
	       !memcmp(c->reply, RESP, c->reply_len);
}

static int versions(void)
{
	struct fix f;
	struct tls_client c;
	struct net_stats st;
	SSL_CTX *c12 = tls_client_ctx_new(TLS1_2_VERSION, TLS1_2_VERSION);
	SSL_CTX *c13 = tls_client_ctx_new(TLS1_3_VERSION, TLS1_3_VERSION);
	int rc = -1;

	if (!c12 || !c13 || fix_open(&f, "EC", NULL, NULL))
		TNET_FAIL();
	client_init(&c, &f, c12);
	if (!tls_client_run(&f.t, &c) || !client_talked(&c) ||
	    c.version != TLS1_2_VERSION || f.t.n_msgs != 1 ||
	    f.t.msgs[0].proto != NET_TLS || strcmp(f.t.msgs[0].data, MSG) ||
	    f.t.msgs[0].sni || f.t.msgs[0].has_cert)
		TNET_FAIL();
	client_init(&c, &f, c13);
	c.sni = "sip.example.com";
	if (!tls_client_run(&f.t, &c) || !client_talked(&c) ||
	    c.version != TLS1_3_VERSION || f.t.n_msgs != 2 ||
	    !f.t.msgs[1].sni || strcmp(f.t.msgs[1].sni, "sip.example.com"))
		TNET_FAIL();
	net_stats_get(f.t.n, &st);
	if (st.tls_handshakes != 2 || st.tls_failures)
		TNET_FAIL();
	rc = 0;
out:
	fix_close(&f);
	SSL_CTX_free(c12);
	SSL_CTX_free(c13);
	return rc;
}

TEST(net_tls_handshake_1_2_and_1_3)
{
	TEST_EQ_INT(versions(), 0);
	return 0;
}

/* A client that offers only what the policy refuses fails, and the
 * server counts the failure and delivers nothing. */
static int refused(int min_v, int max_v, const char *ciphers)
{
	struct fix f;
	struct tls_client c;
	struct net_stats st;
	SSL_CTX *ctx = tls_client_ctx_new(min_v, max_v);
	int rc = -1;

	if (!ctx || fix_open(&f, "EC", NULL, NULL))
		TNET_FAIL();
	/* let the client offer what OpenSSL would refuse by itself */
	SSL_CTX_set_security_level(ctx, 0);
	if (ciphers && !SSL_CTX_set_cipher_list(ctx, ciphers))
		TNET_FAIL();
	client_init(&c, &f, ctx);
	if (!tls_client_run(&f.t, &c) || c.handshake_ok)
		TNET_FAIL();
	tnet_run(&f.t, NULL, NULL, 50);
	net_stats_get(f.t.n, &st);
	if (f.t.n_msgs || st.tls_handshakes || st.tls_failures != 1 || st.flows)
		TNET_FAIL();
	rc = 0;
out:
	fix_close(&f);
	SSL_CTX_free(ctx);
	return rc;
}

TEST(net_tls_1_1_client_refused)
{
	TEST_EQ_INT(refused(TLS1_VERSION, TLS1_1_VERSION, NULL), 0);
	return 0;
}

TEST(net_tls_null_and_anonymous_suites_refused)
{
	TEST_EQ_INT(refused(TLS1_2_VERSION, TLS1_2_VERSION, "eNULL"), 0);
	TEST_EQ_INT(refused(TLS1_2_VERSION, TLS1_2_VERSION, "aNULL"), 0);
	TEST_EQ_INT(refused(TLS1_2_VERSION, TLS1_2_VERSION, "NULL-MD5"), 0);
	return 0;
}

/* RFC 6072 §10.5: TLS_RSA_WITH_AES_128_CBC_SHA is available. */
static int rfc6072_suite(void)
{
	struct fix f;
	struct tls_client c;
	SSL_CTX *ctx = tls_client_ctx_new(TLS1_2_VERSION, TLS1_2_VERSION);
	int rc = -1;

	if (!ctx || fix_open(&f, "RSA", NULL, NULL) ||
	    !SSL_CTX_set_cipher_list(ctx, "AES128-SHA"))
		TNET_FAIL();
	client_init(&c, &f, ctx);
	if (!tls_client_run(&f.t, &c) || !client_talked(&c) ||
	    strcmp(c.cipher, "AES128-SHA") || f.t.n_msgs != 1)
		TNET_FAIL();
	/* and a default client gets a forward-secret AEAD suite */
	SSL_CTX_free(ctx);
	ctx = tls_client_ctx_new(TLS1_2_VERSION, TLS1_2_VERSION);
	client_init(&c, &f, ctx);
	if (!ctx || !tls_client_run(&f.t, &c) || !client_talked(&c) ||
	    strncmp(c.cipher, "ECDHE-RSA-", 10))
		TNET_FAIL();
	rc = 0;
out:
	fix_close(&f);
	SSL_CTX_free(ctx);
	return rc;
}

TEST(net_tls_rfc6072_suite_available)
{
	TEST_EQ_INT(rfc6072_suite(), 0);
	return 0;
}

static int client_certs(bool require)
{
	struct fix f;
	struct tls_client c;
	struct tcert alice;
	struct net_stats st;
	char dir[TNET_PATH_BYTES];
	SSL_CTX *ctx = tls_client_ctx_new(0, 0);
	SSL_CTX *with = tls_client_ctx_new(0, 0);
	bool has_dir = false;
	int rc = -1;

	memset(&f, 0, sizeof(f));
	if (!ctx || !with || tscratch_make(dir))
		TNET_FAIL();
	has_dir = true;
	if (tcert_make(&alice, dir, "alice.example.com", "EC") ||
	    fix_open(&f, "EC",
		     &(struct net_tls_server_opts){
			     .ca_file = alice.cert,
			     .require_client_cert = require,
		     },
		     NULL) ||
	    SSL_CTX_use_certificate_file(with, alice.cert, SSL_FILETYPE_PEM) !=
		    1 ||
	    SSL_CTX_use_PrivateKey_file(with, alice.key, SSL_FILETYPE_PEM) != 1)
		TNET_FAIL();
	/* without a certificate */
	client_init(&c, &f, ctx);
	if (!tls_client_run(&f.t, &c))
		TNET_FAIL();
	tnet_run(&f.t, NULL, NULL, 50);
	net_stats_get(f.t.n, &st);
	if (require) {
		/* TLS 1.3: the client's side of the handshake may finish
		 * before the server refuses; nothing gets through */
		if (client_talked(&c) || f.t.n_msgs || st.tls_failures != 1)
			TNET_FAIL();
	} else if (!client_talked(&c) || f.t.n_msgs != 1 ||
		   f.t.msgs[0].has_cert) {
		TNET_FAIL();
	}
	/* with one, the server sees who it is */
	client_init(&c, &f, with);
	if (!tls_client_run(&f.t, &c) || !client_talked(&c) ||
	    f.t.n_msgs != (require ? 1 : 2) ||
	    !f.t.msgs[f.t.n_msgs - 1].has_cert ||
	    strcmp(f.t.msgs[f.t.n_msgs - 1].cert_cn, "alice.example.com"))
		TNET_FAIL();
	rc = 0;
out:
	fix_close(&f);
	if (has_dir)
		tscratch_remove(dir);
	SSL_CTX_free(ctx);
	SSL_CTX_free(with);
	return rc;
}

TEST(net_tls_client_certificate)
{
	TEST_EQ_INT(client_certs(true), 0);
	TEST_EQ_INT(client_certs(false), 0);
	return 0;
}

struct two {
	struct tnet *a;
	struct tnet *b;
	int a_msgs;
	int b_msgs;
	int a_closed;
};

static bool two_reached(void *arg)
{
	struct two *w = arg;

	return w->a->n_msgs >= w->a_msgs && w->b->n_msgs >= w->b_msgs &&
	       w->a->n_closed >= w->a_closed;
}

/* An outgoing TLS flow: SNI sent, the server's chain verified against
 * the given anchor, the flow reused for the same name only. */
static int outgoing(void)
{
	struct fix f;
	struct tnet cli;
	struct tcert other;
	struct net_dest d = {.proto = NET_TLS, .sni = "sip.example.com"};
	struct two w = {&cli, NULL, 1, 1, 0};
	struct net_stats st;
	SSL_CTX *cctx = NULL, *bad = NULL;
	net_flow_id f1 = 0, f2 = 0;
	int rc = -1;

	memset(&cli, 0, sizeof(cli));
	if (fix_open(&f, "EC", NULL, NULL) ||
	    net_tls_client_ctx(&cctx, f.srv.cert) ||
	    tcert_make(&other, f.dir, "other.example.com", "EC") ||
	    net_tls_client_ctx(&bad, other.cert) ||
	    tnet_init(&cli, &(struct net_opts){.tls_client_ctx = cctx}) ||
	    net_addr_parse("127.0.0.1", f.port, &d.addr))
		TNET_FAIL();
	w.b = &f.t;
	if (net_send(cli.n, &d, MSG, strlen(MSG), &f1) ||
	    !tnet_run2(&cli, &f.t, two_reached, &w, 3000))
		TNET_FAIL();
	if (!f.t.msgs[0].sni || strcmp(f.t.msgs[0].sni, "sip.example.com") ||
	    cli.msgs[0].flow != f1 || !cli.msgs[0].has_cert ||
	    strcmp(cli.msgs[0].cert_cn, "sip.example.com") ||
	    !cli.msgs[0].sni || strcmp(cli.msgs[0].sni, "sip.example.com") ||
	    strcmp(cli.msgs[0].data, RESP))
		TNET_FAIL();
	/* same name: same flow; another name: a flow of its own */
	if (net_send(cli.n, &d, MSG, strlen(MSG), &f2) || f2 != f1)
		TNET_FAIL();
	d.sni = "SIP.example.com"; /* names compare without case */
	if (net_send(cli.n, &d, MSG, strlen(MSG), &f2) || f2 != f1)
		TNET_FAIL();
	d.sni = "192.0.2.1"; /* an address is never sent as SNI */
	w.a_msgs = 4;
	w.b_msgs = 4;
	if (net_send(cli.n, &d, MSG, strlen(MSG), &f2) || f2 == f1 ||
	    !tnet_run2(&cli, &f.t, two_reached, &w, 3000) || f.t.msgs[3].sni ||
	    cli.msgs[3].flow != f2)
		TNET_FAIL();
	net_stats_get(cli.n, &st);
	if (st.tls_handshakes != 2 || st.flows != 2)
		TNET_FAIL();
	rc = 0;
out:
	tnet_fini(&cli);
	fix_close(&f);
	SSL_CTX_free(cctx);
	SSL_CTX_free(bad);
	return rc;
}

TEST(net_tls_outgoing_sni_verify_reuse)
{
	TEST_EQ_INT(outgoing(), 0);
	return 0;
}

/* A server whose chain does not verify: the flow fails and closes. */
static int outgoing_untrusted(void)
{
	struct fix f;
	struct tnet cli;
	struct tcert other;
	struct net_dest d = {.proto = NET_TLS};
	struct two w = {&cli, NULL, 0, 0, 1};
	struct net_stats st;
	SSL_CTX *bad = NULL;
	net_flow_id f1 = 0;
	int rc = -1;

	memset(&cli, 0, sizeof(cli));
	if (fix_open(&f, "EC", NULL, NULL) ||
	    tcert_make(&other, f.dir, "other.example.com", "EC") ||
	    net_tls_client_ctx(&bad, other.cert) ||
	    tnet_init(&cli, &(struct net_opts){.tls_client_ctx = bad}) ||
	    net_addr_parse("127.0.0.1", f.port, &d.addr))
		TNET_FAIL();
	w.b = &f.t;
	if (net_send(cli.n, &d, MSG, strlen(MSG), &f1) ||
	    !tnet_run2(&cli, &f.t, two_reached, &w, 3000))
		TNET_FAIL();
	tnet_run2(&cli, &f.t, NULL, NULL, 50);
	net_stats_get(cli.n, &st);
	if (cli.closed[0] != f1 || st.tls_failures != 1 || st.tls_handshakes ||
	    f.t.n_msgs || cli.n_msgs)
		TNET_FAIL();
	rc = 0;
out:
	tnet_fini(&cli);
	fix_close(&f);
	SSL_CTX_free(bad);
	return rc;
}

TEST(net_tls_outgoing_untrusted_server_fails)
{
	TEST_EQ_INT(outgoing_untrusted(), 0);
	return 0;
}

/* A TCP connection to the TLS port that never says hello is closed
 * after msg_timeout_s, not kept forever. */
static int stalled_handshake(void)
{
	struct fix f;
	struct net_stats st;
	int fd = -1, rc = -1;

	if (fix_open(&f, "EC", NULL, &(struct net_opts){.msg_timeout_s = 1}))
		TNET_FAIL();
	fd = tclient_connect(SOCK_STREAM, "127.0.0.1", f.port);
	if (fd < 0 || !tclient_wait_eof(&f.t, fd, 3000))
		TNET_FAIL();
	net_stats_get(f.t.n, &st);
	if (st.flows_timed_out != 1 || st.flows)
		TNET_FAIL();
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	fix_close(&f);
	return rc;
}

TEST(net_tls_stalled_handshake_closed)
{
	TEST_EQ_INT(stalled_handshake(), 0);
	return 0;
}

static int ctx_and_reload(void)
{
	char dir[TNET_PATH_BYTES], missing[TNET_PATH_BYTES * 2];
	struct tcert a, b, r;
	SSL_CTX *ctx = NULL, *cli = NULL;
	X509 *before;
	bool has_dir = false;
	int rc = -1;

	if (tscratch_make(dir))
		TNET_FAIL();
	has_dir = true;
	snprintf(missing, sizeof(missing), "%s/missing.pem", dir);
	if (tcert_make(&a, dir, "a.example.com", "EC") ||
	    tcert_make(&b, dir, "b.example.com", "EC") ||
	    tcert_make(&r, dir, "r.example.com", "RSA"))
		TNET_FAIL();
	/* argument and file errors */
	if (net_tls_server_ctx(&ctx, NULL) != -EINVAL ||
	    net_tls_server_ctx(
		    NULL, &(struct net_tls_server_opts){.cert_file = a.cert,
							.key_file = a.key}) !=
		    -EINVAL ||
	    net_tls_server_ctx(&ctx,
			       &(struct net_tls_server_opts){
				       .cert_file = a.cert,
				       .key_file = a.key,
				       .require_client_cert = true}) !=
		    -EINVAL ||
	    net_tls_server_ctx(
		    &ctx, &(struct net_tls_server_opts){.cert_file = missing,
							.key_file = a.key}) !=
		    -ENOENT ||
	    net_tls_server_ctx(
		    &ctx, &(struct net_tls_server_opts){.cert_file = a.cert,
							.key_file = a.key,
							.ca_file = missing}) !=
		    -ENOENT ||
	    /* a key that is not the certificate's */
	    net_tls_server_ctx(
		    &ctx, &(struct net_tls_server_opts){.cert_file = a.cert,
							.key_file = b.key}) !=
		    -EPROTO ||
	    /* a key file where the certificate should be */
	    net_tls_server_ctx(
		    &ctx, &(struct net_tls_server_opts){.cert_file = a.key,
							.key_file = a.key}) !=
		    -EPROTO ||
	    ctx || net_tls_client_ctx(NULL, NULL) != -EINVAL ||
	    net_tls_client_ctx(&cli, missing) != -ENOENT || cli ||
	    net_tls_client_ctx(&cli, NULL))
		TNET_FAIL();
	if (net_tls_server_ctx(
		    &ctx, &(struct net_tls_server_opts){.cert_file = a.cert,
							.key_file = a.key}))
		TNET_FAIL();
	before = SSL_CTX_get0_certificate(ctx);
	/* refused reloads leave the context as it was */
	if (net_tls_reload(NULL, b.cert, b.key) != -EINVAL ||
	    net_tls_reload(ctx, b.cert, a.key) != -EPROTO ||
	    net_tls_reload(ctx, missing, b.key) != -ENOENT ||
	    net_tls_reload(ctx, r.cert, r.key) != -EINVAL ||
	    SSL_CTX_get0_certificate(ctx) != before ||
	    SSL_CTX_check_private_key(ctx) != 1)
		TNET_FAIL();
	if (net_tls_reload(ctx, b.cert, b.key) ||
	    SSL_CTX_get0_certificate(ctx) == before ||
	    SSL_CTX_check_private_key(ctx) != 1)
		TNET_FAIL();
	rc = 0;
out:
	SSL_CTX_free(ctx);
	SSL_CTX_free(cli);
	if (has_dir)
		tscratch_remove(dir);
	return rc;
}

TEST(net_tls_contexts_and_reload)
{
	TEST_EQ_INT(ctx_and_reload(), 0);
	return 0;
}
