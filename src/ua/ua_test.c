/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for the UA engine against a SIP server in the test on net and
 * txn: digest (RFC 3261 §22.2, RFC 8760), subscriptions (RFC 6665 §4.1),
 * incoming requests, RFC 3263 failover and TLS identity (RFC 5922 §7.3). */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "test.h"

#include "crypto/crypto.h"
#include "loop/loop.h"
#include "ua/engine.h"

enum {
	TSRV_MAX = 16,
	FX_T1_MS = 50,
	RUN_MS = 5000,
};

/* ---- a SIP server on net and txn -------------------------------------- */

struct tsrv;
typedef void tsrv_handler(struct tsrv *s, struct txn_srv *st,
			  const struct sip_msg *req);

struct tsrv_req {
	struct sip_msg *m; /* a copy */
	enum net_proto proto;
	net_flow_id flow;
	struct net_addr peer;
};

struct tsrv {
	struct net *net;
	struct txn_layer *txn;
	uint16_t port; /* UDP and TCP */
	uint16_t tls_port;
	tsrv_handler *handler;
	void *arg;
	struct tsrv_req reqs[TSRV_MAX];
	int n_reqs;
	/* answers to what the server sent (NOTIFY, MESSAGE) */
	unsigned answers[TSRV_MAX];
	int n_answers;
	int answer_err;
	char allow[64]; /* Allow of the last answer */
	uint32_t cseq;
};

static void tsrv_on_rx(void *arg, const struct net_rx *rx)
{
	struct tsrv *s = arg;

	txn_layer_rx(s->txn, rx);
}

static void tsrv_on_request(void *arg, struct txn_srv *st,
			    const struct sip_msg *req)
{
	struct tsrv *s = arg;
	const struct txn_source *src = txn_srv_source(st);

	if (req->method_id == SIP_METHOD_ACK)
		return;
	if (s->n_reqs < TSRV_MAX) {
		struct tsrv_req *r = &s->reqs[s->n_reqs];

		if (!sip_msg_decode(&r->m, req->raw.p, req->raw.len,
				    SIP_DECODE_DATAGRAM, NULL)) {
			r->proto = src->proto;
			r->flow = src->flow;
			r->peer = src->peer;
			s->n_reqs++;
		}
	}
	if (s->handler)
		s->handler(s, st, req);
	else
		(void)txn_srv_reply(st, 200, NULL, NULL);
}

static int tsrv_init(struct tsrv *s, struct event_base *base, SSL_CTX *tls)
{
	int err = -EADDRINUSE;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 8 && err == -EADDRINUSE; i++) {
		err = net_new(&s->net, &(struct net_opts){
					       .base = base,
					       .tls_server_ctx = tls,
					       .on_rx = tsrv_on_rx,
					       .arg = s,
				       });
		if (err)
			return err;
		err = net_listen(s->net, NET_UDP, "127.0.0.1", 0, &s->port);
		if (!err)
			err = net_listen(s->net, NET_TCP, "127.0.0.1", s->port,
					 NULL);
		if (!err && tls)
			err = net_listen(s->net, NET_TLS, "127.0.0.1", 0,
					 &s->tls_port);
		if (err) {
			net_free(s->net);
			s->net = NULL;
		}
	}
	if (err)
		return err;
	return txn_layer_new(&s->txn, &(struct txn_opts){
					      .base = base,
					      .net = s->net,
					      .t1_ms = FX_T1_MS,
					      .on_request = tsrv_on_request,
					      .arg = s,
				      });
}

static void tsrv_fini(struct tsrv *s)
{
	txn_layer_free(s->txn);
	net_free(s->net);
	for (int i = 0; i < s->n_reqs; i++)
		sip_msg_free(s->reqs[i].m);
	memset(s, 0, sizeof(*s));
}

static void tsrv_on_answer(void *arg, int err, const struct sip_msg *resp)
{
	struct tsrv *s = arg;
	const struct sip_hdr *h;

	if (resp && resp->status < 200)
		return;
	if (err) {
		s->answer_err = err;
		return;
	}
	if (s->n_answers < TSRV_MAX)
		s->answers[s->n_answers++] = resp->status;
	h = sip_msg_hdr(resp, SIP_HDR_ALLOW);
	snprintf(s->allow, sizeof(s->allow), "%.*s", h ? (int)h->value.len : 0,
		 h ? h->value.p : "");
}

/* Send a request the test built (without Via) to dest. */
static int tsrv_send(struct tsrv *s, const struct net_dest *d, struct buf *b)
{
	int err = b->err;

	if (!err)
		err = txn_cli_start(s->txn,
				    &(struct txn_cli_opts){
					    .dest = *d,
					    .data = b->p,
					    .len = b->len,
					    .on_resp = tsrv_on_answer,
					    .arg = s,
				    },
				    NULL);
	buf_fini(b);
	return err;
}

/* A NOTIFY in the dialog of the SUBSCRIBE r (our tag to_tag): to its
 * Contact over UDP, or back over its flow on a stream. */
static int tsrv_notify(struct tsrv *s, const struct tsrv_req *r,
		       const char *to_tag, const char *substate)
{
	const struct sip_hdr *c = sip_msg_hdr(r->m, SIP_HDR_CONTACT);
	struct net_dest d = {.proto = r->proto, .flow = r->flow};
	struct sip_addr a;
	char host[64];
	struct buf b;

	if (!c || sip_contact_parse(c->value, &a) ||
	    a.uri.host.len >= sizeof(host))
		return -EINVAL;
	memcpy(host, a.uri.host.p, a.uri.host.len);
	host[a.uri.host.len] = '\0';
	if (r->proto == NET_UDP) {
		if (net_addr_parse(host, a.uri.port, &d.addr))
			return -EINVAL;
	} else {
		d.addr = r->peer;
	}
	buf_init(&b, SIP_MAX_MSG_BYTES);
	sip_out_request_line(&b, "NOTIFY", a.uri_s);
	sip_out_hdr_cstr(&b, "Max-Forwards", "70");
	sip_out_hdrf(&b, "From", "<%.*s>;tag=%s", SLICE_FMT(r->m->to.uri_s),
		     to_tag);
	sip_out_hdr(&b, "To", sip_msg_hdr(r->m, SIP_HDR_FROM)->value);
	sip_out_hdr(&b, "Call-ID", r->m->call_id);
	sip_out_hdrf(&b, "CSeq", "%u NOTIFY", (unsigned)++s->cseq);
	sip_out_hdrf(&b, "Contact", "<sip:notifier@127.0.0.1:%u;transport=%s>",
		     s->port, r->proto == NET_UDP ? "udp" : "tcp");
	sip_out_hdr_cstr(&b, "Event", "certificate");
	sip_out_hdr_cstr(&b, "Subscription-State", substate);
	sip_out_body(&b, NULL, SLICE_NULL);
	return tsrv_send(s, &d, &b);
}

/* A request from nowhere to the UA at 127.0.0.1:port over UDP. */
static int tsrv_send_to_ua(struct tsrv *s, uint16_t port, const char *method,
			   const char *call_id, const char *event)
{
	struct net_dest d = {.proto = NET_UDP};
	struct buf b;

	if (net_addr_parse("127.0.0.1", port, &d.addr))
		return -EINVAL;
	buf_init(&b, SIP_MAX_MSG_BYTES);
	sip_out_request_line(&b, method, SLICE_LIT("sip:alice@127.0.0.1"));
	sip_out_hdr_cstr(&b, "Max-Forwards", "70");
	sip_out_hdr_cstr(&b, "From", "<sip:bob@example.test>;tag=b1");
	sip_out_hdr_cstr(&b, "To", "<sip:alice@example.test>;tag=a1");
	sip_out_hdr_cstr(&b, "Call-ID", call_id);
	sip_out_hdrf(&b, "CSeq", "%u %s", (unsigned)++s->cseq, method);
	if (event) {
		sip_out_hdr_cstr(&b, "Event", event);
		sip_out_hdr_cstr(&b, "Subscription-State", "active");
	}
	sip_out_body(&b, "text/plain", SLICE_LIT("hello"));
	return tsrv_send(s, &d, &b);
}

/* ---- throw-away PKI ---------------------------------------------------- */

struct tpki {
	char dir[200];
	char ca[256], crt[256], key[256];
};

static int pem_save(X509 *x, const char *path)
{
	struct buf b;
	int err;

	buf_init(&b, 64 * 1024);
	err = crypto_cert_pem(x, &b);
	if (!err)
		err = crypto_file_write_atomic(path, b.p, b.len, 0644);
	buf_fini(&b);
	return err;
}

/* A CA and a server certificate it issued with these names. */
static int tpki_make(struct tpki *p, const char *dns_name, const char *uri)
{
	const char *tmp = getenv("TMPDIR");
	EVP_PKEY *cak = NULL, *k = NULL;
	X509 *ca = NULL, *x = NULL;
	int err;

	snprintf(p->dir, sizeof(p->dir), "%s/sipcert-ua-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(p->dir))
		return -errno;
	snprintf(p->ca, sizeof(p->ca), "%s/ca.pem", p->dir);
	snprintf(p->crt, sizeof(p->crt), "%s/server.pem", p->dir);
	snprintf(p->key, sizeof(p->key), "%s/server.key", p->dir);
	err = crypto_key_generate(&cak, CRYPTO_KEY_EC_P256);
	if (!err)
		err = crypto_key_generate(&k, CRYPTO_KEY_EC_P256);
	if (!err)
		err = crypto_cert_create(&ca, cak, NULL, NULL,
					 &(struct crypto_cert_opts){
						 .common_name = "ua test CA",
						 .is_ca = true,
						 .days = 1,
						 .not_before_offset_s = -300,
					 });
	if (!err)
		err = crypto_cert_create(
			&x, k, cak, ca,
			&(struct crypto_cert_opts){
				.dns_sans = dns_name ? &dns_name : NULL,
				.n_dns_sans = dns_name ? 1 : 0,
				.uri_sans = uri ? &uri : NULL,
				.n_uri_sans = uri ? 1 : 0,
				.common_name = "ua test server",
				.tls_server_client = true,
				.days = 1,
				.not_before_offset_s = -300,
			});
	if (!err)
		err = pem_save(ca, p->ca);
	if (!err)
		err = pem_save(x, p->crt);
	if (!err)
		err = crypto_key_private_save(k, CRYPTO_PEM, p->key);
	X509_free(ca);
	X509_free(x);
	EVP_PKEY_free(cak);
	EVP_PKEY_free(k);
	return err;
}

static void tpki_remove(struct tpki *p)
{
	if (!p->dir[0])
		return;
	(void)unlink(p->ca);
	(void)unlink(p->crt);
	(void)unlink(p->key);
	(void)rmdir(p->dir);
}

/* ---- the fixture ----------------------------------------------------- */

struct fx {
	struct event_base *base;
	struct dns *dns;
	struct tsrv srv;
	struct ua *ua;
	SSL_CTX *tls_server;
	SSL_CTX *tls_client;
	struct tpki pki;
	/* ua_send */
	int n_cb;
	int cb_err;
	unsigned cb_status;
	/* the digest server */
	struct sip_challenge_opts ch[2];
	size_t n_ch;
	int n_challenged;
	int verify_rc;
	enum sip_digest_alg cred_alg;
	unsigned fail_status; /* a wrong answer: this (401: challenge) */
	bool stale_once;
	/* the notifier */
	bool notify_first;
	unsigned granted;
	const char *substate;
	unsigned refresh_status; /* refresh_refused_handler's answer */
	/* the subscriber */
	struct ua_sub *sub;
	int n_notify;
	enum ua_sub_state last_state;
	char last_reason[32];
	bool had_src;
	unsigned notify_answer;
	int n_events, n_over;
	int over_err;
	unsigned first_status;
	bool end_on_notify;
	/* incoming requests */
	int n_in;
	char in_method[16];
	char in_body[16];
};

static int fx_init(struct fx *f, bool with_tls, const char *dns_name,
		   const char *uri)
{
	int err;

	memset(f, 0, sizeof(*f));
	signal(SIGPIPE, SIG_IGN);
	f->base = event_base_new();
	if (!f->base)
		return -ENOMEM;
	f->substate = "active;expires=60";
	f->granted = 60;
	f->notify_answer = 200;
	if (with_tls) {
		err = tpki_make(&f->pki, dns_name, uri);
		if (!err)
			err = net_tls_server_ctx(
				&f->tls_server, &(struct net_tls_server_opts){
							.cert_file = f->pki.crt,
							.key_file = f->pki.key,
						});
		if (!err)
			err = net_tls_client_ctx(&f->tls_client, f->pki.ca);
		if (err)
			return err;
	}
	err = dns_new(&f->dns, &(struct dns_opts){
				       .base = f->base,
				       /* nothing answers: overrides only */
				       .servers = "127.0.0.1:9",
				       .timeout_ms = 200,
				       .tries = 1,
			       });
	if (err)
		return err;
	err = tsrv_init(&f->srv, f->base, f->tls_server);
	f->srv.arg = f;
	return err;
}

static void fx_fini(struct fx *f)
{
	ua_free(f->ua);
	tsrv_fini(&f->srv);
	dns_free(f->dns);
	SSL_CTX_free(f->tls_server);
	SSL_CTX_free(f->tls_client);
	tpki_remove(&f->pki);
	if (f->base)
		event_base_free(f->base);
	ERR_clear_error();
}

static unsigned fx_on_request(void *arg, const struct sip_msg *req,
			      const struct txn_source *src)
{
	struct fx *f = arg;

	(void)src;
	f->n_in++;
	snprintf(f->in_method, sizeof(f->in_method), "%.*s",
		 SLICE_FMT(req->method));
	snprintf(f->in_body, sizeof(f->in_body), "%.*s", SLICE_FMT(req->body));
	return 202;
}

struct ua_cfg {
	const char *proxy_host;	  /* NULL: 127.0.0.1 */
	uint16_t port;		  /* 0: the server's UDP and TCP port */
	const char *proxy_params; /* ";transport=tcp" */
	const char *password;
	const char *listen_host;
	unsigned t1_ms;
	bool with_on_request;
	bool anonymous;
};

static int fx_ua(struct fx *f, const struct ua_cfg *c)
{
	char proxy[128];

	snprintf(proxy, sizeof(proxy), "sip:%s:%u%s",
		 c->proxy_host ? c->proxy_host : "127.0.0.1",
		 c->port ? c->port : f->srv.port,
		 c->proxy_params ? c->proxy_params : "");
	return ua_new(
		&f->ua,
		&(struct ua_opts){
			.base = f->base,
			.dns = f->dns,
			.tls_ctx = f->tls_client,
			.aor = c->anonymous ? NULL : "sip:alice@example.test",
			.password = c->password,
			.proxy = proxy,
			.listen_host = c->listen_host,
			.t1_ms = c->t1_ms ? c->t1_ms : FX_T1_MS,
			.on_request = c->with_on_request ? fx_on_request : NULL,
			.arg = f,
		});
}

/* Run the loop in 2 ms turns until *n reaches want or ms pass. */
static bool run_until(struct fx *f, const int *n, int want, unsigned ms)
{
	uint64_t until = loop_now_ms() + ms;
	struct timeval tick = {0, 2000};

	while (!n || *n < want) {
		if (loop_now_ms() >= until)
			return false;
		event_base_loopexit(f->base, &tick);
		event_base_dispatch(f->base);
	}
	return true;
}

static void run_for(struct fx *f, unsigned ms)
{
	(void)run_until(f, NULL, 0, ms);
}

static void on_resp(void *arg, int err, const struct sip_msg *resp)
{
	struct fx *f = arg;

	f->n_cb++;
	f->cb_err = err;
	f->cb_status = resp ? resp->status : 0;
}

static bool hdr_is(const struct sip_msg *m, enum sip_hdr_id id,
		   const char *value)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);

	return h && slice_eq_cstr(h->value, value);
}

static bool hdr_has(const struct sip_msg *m, const char *name, const char *part)
{
	const struct sip_hdr *h = sip_msg_hdr_named(m, name);

	return h && memmem(h->value.p, h->value.len, part, strlen(part));
}

/* ---- the digest server ------------------------------------------------ */

static void challenge(struct fx *f, struct txn_srv *st, const char *nonce,
		      bool stale)
{
	char lines[2][512];
	const char *hdrs[2];
	size_t n = 0;

	for (size_t i = 0; i < f->n_ch; i++) {
		struct sip_challenge_opts o = f->ch[i];
		struct buf b;
		const char *v;

		if (nonce)
			o.nonce = nonce;
		o.stale = stale;
		buf_init(&b, 400);
		if (!sip_auth_print_challenge(&b, &o) && !buf_cstr(&b, &v))
			snprintf(lines[n], sizeof(lines[n]),
				 "WWW-Authenticate: %s", v);
		else
			snprintf(lines[n], sizeof(lines[n]), "X-Broken: 1");
		hdrs[n] = lines[n];
		n++;
		buf_fini(&b);
	}
	f->n_challenged++;
	(void)txn_srv_reply(
		st, 401, NULL,
		&(struct txn_reply_opts){.hdrs = hdrs, .n_hdrs = n});
}

static void digest_handler(struct tsrv *s, struct txn_srv *st,
			   const struct sip_msg *req)
{
	struct fx *f = s->arg;
	const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_AUTHORIZATION);
	char ha1[SIP_DIGEST_HEX_MAX + 1];
	struct sip_auth cred;

	if (!h) {
		challenge(f, st, NULL, false);
		return;
	}
	f->verify_rc = -EBADMSG;
	if (!sip_auth_parse(h->value, &cred) &&
	    !sip_digest_ha1(cred.alg, SLICE_LIT("alice"),
			    SLICE_LIT("example.test"), SLICE_LIT("secret"),
			    ha1)) {
		f->cred_alg = cred.alg;
		f->verify_rc =
			sip_digest_verify(&cred, ha1, req->method, req->body);
	}
	if (!f->verify_rc && f->stale_once) {
		/* RFC 7616 §3.3: the nonce aged; the UA answers again */
		f->stale_once = false;
		challenge(f, st, "fresh-nonce", true);
		return;
	}
	if (!f->verify_rc) {
		(void)txn_srv_reply(st, 200, NULL, NULL);
		return;
	}
	if (f->fail_status == 401)
		challenge(f, st, NULL, false);
	else
		(void)txn_srv_reply(st, f->fail_status, NULL, NULL);
}

static void fx_md5_challenge(struct fx *f)
{
	f->ch[0] = (struct sip_challenge_opts){
		.realm = "example.test",
		.nonce = "n0nce-1",
		.opaque = "op4que",
		.alg = SIP_DIGEST_MD5,
		.qop_auth = true,
	};
	f->n_ch = 1;
	f->fail_status = 403;
}

static const char *const publish_hdrs[] = {
	"Event: credential",
	"Expires: 3600",
};

static int fx_publish(struct fx *f)
{
	return ua_send(f->ua,
		       &(struct ua_request){
			       .method = "PUBLISH",
			       .ruri = "sip:alice@example.test",
			       .hdrs = publish_hdrs,
			       .n_hdrs = ARRAY_SIZE(publish_hdrs),
			       .ctype = "application/pkix-cert",
			       .body = SLICE_LIT("0123456789"),
		       },
		       on_resp, f, NULL);
}

static int publish_digest(struct fx *f)
{
	const struct sip_msg *a, *b;
	const struct sip_hdr *h;
	struct sip_auth cred;

	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.password = "secret"}), 0);
	fx_md5_challenge(f);
	f->srv.handler = digest_handler;
	TEST_EQ_INT(fx_publish(f), 0);
	/* never inside the call */
	TEST_EQ_INT(f->n_cb, 0);
	TEST_ASSERT(ua_busy(f->ua));
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_err, 0);
	TEST_EQ_INT(f->cb_status, 200);
	TEST_EQ_INT(f->verify_rc, 0);
	TEST_EQ_INT(f->srv.n_reqs, 2);
	TEST_ASSERT(!ua_busy(f->ua));
	a = f->srv.reqs[0].m;
	b = f->srv.reqs[1].m;
	/* RFC 3261 §8.1.1: what every request of ours carries */
	TEST_EQ_SLICE(a->method, "PUBLISH");
	TEST_EQ_SLICE(a->ruri_s, "sip:alice@example.test");
	TEST_ASSERT(hdr_is(a, SIP_HDR_MAX_FORWARDS, "70"));
	TEST_EQ_SLICE(a->from.uri_s, "sip:alice@example.test");
	TEST_ASSERT(a->from.tag.len >= 8);
	TEST_ASSERT(!a->to.tag.p);
	TEST_EQ_SLICE(a->to.uri_s, "sip:alice@example.test");
	TEST_ASSERT(a->call_id.len >= 16);
	TEST_ASSERT(hdr_has(a, "User-Agent", "sipcert"));
	TEST_ASSERT(hdr_is(a, SIP_HDR_EVENT, "credential"));
	TEST_ASSERT(hdr_is(a, SIP_HDR_EXPIRES, "3600"));
	TEST_ASSERT(hdr_is(a, SIP_HDR_CONTENT_TYPE, "application/pkix-cert"));
	TEST_EQ_SLICE(a->body, "0123456789");
	/* the proxy is a next hop, no Route */
	TEST_ASSERT(!sip_msg_hdr(a, SIP_HDR_ROUTE));
	TEST_ASSERT(!sip_msg_hdr(a, SIP_HDR_CONTACT));
	/* §22.2: the same request with CSeq + 1 and a new branch */
	TEST_EQ_INT(b->cseq.num, a->cseq.num + 1);
	TEST_ASSERT(!slice_eq(a->via.branch, b->via.branch));
	TEST_ASSERT(slice_eq(a->call_id, b->call_id));
	TEST_ASSERT(slice_eq(a->from.tag, b->from.tag));
	h = sip_msg_hdr(b, SIP_HDR_AUTHORIZATION);
	TEST_ASSERT(h);
	TEST_EQ_INT(sip_auth_parse(h->value, &cred), 0);
	TEST_EQ_SLICE(cred.username, "alice");
	TEST_EQ_SLICE(cred.uri, "sip:alice@example.test");
	TEST_EQ_SLICE(cred.qop, "auth");
	TEST_EQ_SLICE(cred.nc, "00000001");
	TEST_EQ_SLICE(cred.opaque, "op4que");
	TEST_ASSERT(cred.cnonce.len >= 16);
	TEST_EQ_INT(cred.alg, SIP_DIGEST_MD5);
	/* the password itself never goes out */
	TEST_ASSERT(!memmem(b->raw.p, b->raw.len, "secret", 6));
	return 0;
}

TEST(ua_engine_publish_digest)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = publish_digest(&f);
	fx_fini(&f);
	return rc;
}

static int digest_wrong_password(struct fx *f)
{
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.password = "wrong"}), 0);
	fx_md5_challenge(f);
	f->srv.handler = digest_handler;
	TEST_EQ_INT(fx_publish(f), 0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_err, 0);
	TEST_EQ_INT(f->cb_status, 403);
	TEST_EQ_INT(f->verify_rc, -EACCES);
	TEST_EQ_INT(f->srv.n_reqs, 2);
	return 0;
}

TEST(ua_engine_digest_wrong_password)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = digest_wrong_password(&f);
	fx_fini(&f);
	return rc;
}

/* A second 401 for a realm already answered is final; with stale=true
 * it is answered once more. */
static int digest_rechallenge(struct fx *f)
{
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.password = "wrong"}), 0);
	fx_md5_challenge(f);
	f->fail_status = 401;
	f->srv.handler = digest_handler;
	TEST_EQ_INT(fx_publish(f), 0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_status, 401);
	TEST_EQ_INT(f->srv.n_reqs, 2);
	TEST_EQ_INT(f->n_challenged, 2);
	ua_free(f->ua);
	f->ua = NULL;

	/* the right password, but the nonce went stale once */
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.password = "secret"}), 0);
	f->stale_once = true;
	f->n_cb = 0;
	TEST_EQ_INT(fx_publish(f), 0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_status, 200);
	TEST_EQ_INT(f->srv.n_reqs, 5);
	TEST_ASSERT(hdr_has(f->srv.reqs[4].m, "Authorization", "fresh-nonce"));
	TEST_EQ_INT(f->srv.reqs[4].m->cseq.num, f->srv.reqs[2].m->cseq.num + 2);
	return 0;
}

TEST(ua_engine_digest_rechallenge)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = digest_rechallenge(&f);
	fx_fini(&f);
	return rc;
}

static int digest_sha256(struct fx *f)
{
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.password = "secret"}), 0);
	fx_md5_challenge(f);
	/* RFC 8760 §2.4: the server lists MD5 first; SHA-256 is taken */
	f->ch[1] = f->ch[0];
	f->ch[1].alg = SIP_DIGEST_SHA256;
	f->ch[1].nonce = "n0nce-256";
	f->n_ch = 2;
	f->srv.handler = digest_handler;
	TEST_EQ_INT(fx_publish(f), 0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_status, 200);
	TEST_EQ_INT(f->verify_rc, 0);
	TEST_EQ_INT(f->cred_alg, SIP_DIGEST_SHA256);
	TEST_ASSERT(hdr_has(f->srv.reqs[1].m, "Authorization", "SHA-256"));
	TEST_ASSERT(hdr_has(f->srv.reqs[1].m, "Authorization", "n0nce-256"));
	return 0;
}

TEST(ua_engine_digest_prefers_sha256)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = digest_sha256(&f);
	fx_fini(&f);
	return rc;
}

/* No password: the 401 is the answer. */
static int digest_no_password(struct fx *f)
{
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.anonymous = true}), 0);
	fx_md5_challenge(f);
	f->srv.handler = digest_handler;
	TEST_EQ_INT(fx_publish(f), 0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_status, 401);
	TEST_EQ_INT(f->srv.n_reqs, 1);
	/* RFC 3323 §4.1.1.3 */
	TEST_EQ_SLICE(f->srv.reqs[0].m->from.uri_s,
		      "sip:anonymous@anonymous.invalid");
	return 0;
}

TEST(ua_engine_digest_no_password)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = digest_no_password(&f);
	fx_fini(&f);
	return rc;
}

/* ---- targets and transports --------------------------------------------- */

static int tls_only_tcp(struct fx *f)
{
	TEST_EQ_INT(
		fx_ua(f, &(struct ua_cfg){.proxy_params = ";transport=tcp"}),
		0);
	TEST_EQ_INT(ua_send(f->ua,
			    &(struct ua_request){
				    .method = "PUBLISH",
				    .ruri = "sip:alice@example.test",
				    .tls_only = true,
			    },
			    on_resp, f, NULL),
		    0);
	TEST_EQ_INT(f->n_cb, 0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_err, -EPROTONOSUPPORT);
	run_for(f, 50);
	TEST_EQ_INT(f->srv.n_reqs, 0);
	return 0;
}

TEST(ua_engine_tls_only_refused_over_tcp)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = tls_only_tcp(&f);
	fx_fini(&f);
	return rc;
}

static void silent_handler(struct tsrv *s, struct txn_srv *st,
			   const struct sip_msg *req)
{
	(void)s;
	(void)st;
	(void)req;
}

static int timeout(struct fx *f)
{
	uint64_t t0;

	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.t1_ms = 10}), 0);
	f->srv.handler = silent_handler;
	t0 = loop_now_ms();
	TEST_EQ_INT(fx_publish(f), 0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	/* Timer F: 64*T1 */
	TEST_EQ_INT(f->cb_err, -ETIMEDOUT);
	TEST_EQ_INT(f->cb_status, 0);
	TEST_ASSERT(loop_now_ms() - t0 >= 600);
	TEST_EQ_INT(f->srv.n_reqs, 1);
	return 0;
}

TEST(ua_engine_timeout)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = timeout(&f);
	fx_fini(&f);
	return rc;
}

static int tcp_refused(struct fx *f)
{
	uint16_t port = f->srv.port;

	/* nobody listens there any more */
	tsrv_fini(&f->srv);
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.proxy_params = ";transport=tcp",
					      .port = port}),
		    0);
	TEST_EQ_INT(fx_publish(f), 0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_err, -ECONNREFUSED);
	return 0;
}

TEST(ua_engine_tcp_refused)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = tcp_refused(&f);
	fx_fini(&f);
	return rc;
}

static int register_contact(struct fx *f)
{
	static const char *const hdrs[] = {"Expires: 600"};
	const struct sip_msg *m;
	char want[96];

	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){0}), 0);
	TEST_ASSERT(ua_port(f->ua) != 0);
	TEST_EQ_INT(ua_send(f->ua,
			    &(struct ua_request){
				    .method = "REGISTER",
				    .ruri = "sip:example.test",
				    .to = "sip:alice@example.test",
				    .hdrs = hdrs,
				    .n_hdrs = 1,
				    .with_contact = true,
			    },
			    on_resp, f, NULL),
		    0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_status, 200);
	TEST_EQ_INT(f->srv.n_reqs, 1);
	m = f->srv.reqs[0].m;
	TEST_EQ_SLICE(m->ruri_s, "sip:example.test");
	TEST_EQ_SLICE(m->to.uri_s, "sip:alice@example.test");
	/* the listening port (UDP and TCP alike), the flow's transport */
	snprintf(want, sizeof(want), "<sip:alice@127.0.0.1:%u;transport=udp>",
		 ua_port(f->ua));
	TEST_ASSERT(hdr_is(m, SIP_HDR_CONTACT, want));
	TEST_ASSERT(hdr_is(m, SIP_HDR_EXPIRES, "600"));
	return 0;
}

TEST(ua_engine_register_contact)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = register_contact(&f);
	fx_fini(&f);
	return rc;
}

/* RFC 3261 §18.1.1: a request too large for UDP goes over TCP. */
static int large_over_tcp(struct fx *f)
{
	static char big[2000];

	memset(big, 'x', sizeof(big));
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){0}), 0);
	TEST_EQ_INT(ua_send(f->ua,
			    &(struct ua_request){
				    .method = "MESSAGE",
				    .ruri = "sip:bob@example.test",
				    .ctype = "text/plain",
				    .body = slice_of(big, sizeof(big)),
			    },
			    on_resp, f, NULL),
		    0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_status, 200);
	TEST_EQ_INT(f->srv.n_reqs, 1);
	TEST_EQ_INT(f->srv.reqs[0].proto, NET_TCP);
	TEST_EQ_INT(f->srv.reqs[0].m->body.len, sizeof(big));
	TEST_ASSERT(slice_eq_cstr(f->srv.reqs[0].m->via.transport, "TCP"));
	return 0;
}

TEST(ua_engine_large_request_over_tcp)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = large_over_tcp(&f);
	fx_fini(&f);
	return rc;
}

/* A name server in the test that answers every A query with two
 * addresses (and AAAA with none), and a TCP listener that accepts and
 * hangs up at once: the first target fails, the second is taken (RFC
 * 3263 §4.3). */
struct tdns {
	int fd;
	uint16_t port;
	struct event *ev;
	const char *ips[2];
};

static void tdns_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct tdns *d = arg;
	unsigned char q[512], r[600];
	struct sockaddr_storage from;
	socklen_t from_len = sizeof(from);
	ssize_t n;
	size_t p = 12, len;
	unsigned qtype, an;

	(void)what;
	n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &from_len);
	if (n < 12)
		return;
	while (p < (size_t)n && q[p])
		p += (size_t)q[p] + 1;
	p += 5; /* the root label, QTYPE, QCLASS */
	if (p > (size_t)n)
		return;
	qtype = (unsigned)q[p - 4] << 8 | q[p - 3];
	an = qtype == 1 ? 2 : 0;
	memcpy(r, q, p);
	r[2] = 0x81; /* QR, RD */
	r[3] = 0x80; /* RA, NOERROR */
	memset(r + 4, 0, 8);
	r[5] = 1; /* QDCOUNT */
	r[7] = (unsigned char)an;
	len = p;
	for (unsigned i = 0; i < an; i++) {
		static const unsigned char rr[] = {0xc0, 0x0c, 0, 1,  0, 1,
						   0,	 0,    0, 60, 0, 4};

		memcpy(r + len, rr, sizeof(rr));
		len += sizeof(rr);
		if (inet_pton(AF_INET, d->ips[i], r + len) != 1)
			return;
		len += 4;
	}
	(void)sendto(fd, r, len, 0, (struct sockaddr *)&from, from_len);
}

static int tdns_start(struct tdns *d, struct event_base *base)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (d->fd < 0 || bind(d->fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(d->fd, (struct sockaddr *)&a, &len))
		return -errno;
	d->port = ntohs(a.sin_port);
	d->ev = event_new(base, d->fd, EV_READ | EV_PERSIST, tdns_on_read, d);
	return d->ev && !event_add(d->ev, NULL) ? 0 : -ENOMEM;
}

struct thangup {
	int fd;
	struct event *ev;
	int n_accepted;
};

static void thangup_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct thangup *h = arg;
	int c = accept(fd, NULL, NULL);

	(void)what;
	if (c >= 0) {
		close(c);
		h->n_accepted++;
	}
}

static int thangup_start(struct thangup *h, struct event_base *base,
			 const char *ip, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1;

	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (h->fd < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		return -EINVAL;
	(void)setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->fd, (struct sockaddr *)&a, sizeof(a)) || listen(h->fd, 4))
		return -errno;
	h->ev = event_new(base, h->fd, EV_READ | EV_PERSIST, thangup_on_accept,
			  h);
	return h->ev && !event_add(h->ev, NULL) ? 0 : -ENOMEM;
}

static int failover(struct fx *f, struct tdns *d, struct thangup *h)
{
	char servers[32];

	d->ips[0] = "127.0.0.2";
	d->ips[1] = "127.0.0.1";
	TEST_EQ_INT(tdns_start(d, f->base), 0);
	TEST_EQ_INT(thangup_start(h, f->base, "127.0.0.2", f->srv.port), 0);
	dns_free(f->dns);
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", d->port);
	TEST_EQ_INT(dns_new(&f->dns, &(struct dns_opts){.base = f->base,
							.servers = servers}),
		    0);
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.proxy_host = "two.test",
					      .proxy_params = ";transport=tcp",
					      .listen_host = "127.0.0.1"}),
		    0);
	TEST_EQ_INT(fx_publish(f), 0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_err, 0);
	TEST_EQ_INT(f->cb_status, 200);
	TEST_EQ_INT(h->n_accepted, 1);
	TEST_EQ_INT(f->srv.n_reqs, 1);
	return 0;
}

TEST(ua_engine_failover_next_target)
{
	struct tdns d = {.fd = -1};
	struct thangup h = {.fd = -1};
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = failover(&f, &d, &h);
	ua_free(f.ua);
	f.ua = NULL;
	if (d.ev)
		event_free(d.ev);
	if (h.ev)
		event_free(h.ev);
	if (d.fd >= 0)
		close(d.fd);
	if (h.fd >= 0)
		close(h.fd);
	fx_fini(&f);
	return rc;
}

/* ---- incoming requests ----------------------------------------------------
 */

static int message_in(struct fx *f)
{
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.listen_host = "127.0.0.1",
					      .with_on_request = true}),
		    0);
	TEST_ASSERT(ua_port(f->ua) != 0);
	TEST_EQ_INT(tsrv_send_to_ua(&f->srv, ua_port(f->ua), "MESSAGE",
				    "m1@test", NULL),
		    0);
	TEST_ASSERT(run_until(f, &f->srv.n_answers, 1, RUN_MS));
	TEST_EQ_INT(f->n_in, 1);
	TEST_EQ_STR(f->in_method, "MESSAGE");
	TEST_EQ_STR(f->in_body, "hello");
	TEST_EQ_INT(f->srv.answers[0], 202);
	ua_free(f->ua);
	f->ua = NULL;

	/* without a handler: 405 with Allow (RFC 3261 §8.2.1) */
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.listen_host = "127.0.0.1"}), 0);
	TEST_EQ_INT(tsrv_send_to_ua(&f->srv, ua_port(f->ua), "MESSAGE",
				    "m2@test", NULL),
		    0);
	TEST_ASSERT(run_until(f, &f->srv.n_answers, 2, RUN_MS));
	TEST_EQ_INT(f->srv.answers[1], 405);
	TEST_EQ_STR(f->srv.allow, "NOTIFY, MESSAGE, OPTIONS");
	TEST_EQ_INT(f->n_in, 1);
	return 0;
}

TEST(ua_engine_message_in)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = message_in(&f);
	fx_fini(&f);
	return rc;
}

static int notify_unknown(struct fx *f)
{
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.listen_host = "127.0.0.1",
					      .with_on_request = true}),
		    0);
	TEST_EQ_INT(tsrv_send_to_ua(&f->srv, ua_port(f->ua), "NOTIFY",
				    "nobody@test", "certificate"),
		    0);
	TEST_ASSERT(run_until(f, &f->srv.n_answers, 1, RUN_MS));
	/* RFC 6665 §4.1.3: no such subscription */
	TEST_EQ_INT(f->srv.answers[0], 481);
	TEST_EQ_INT(f->n_in, 0);
	return 0;
}

TEST(ua_engine_notify_unknown_481)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = notify_unknown(&f);
	fx_fini(&f);
	return rc;
}

/* ---- subscriptions ---------------------------------------------------- */

static const char srv_tag[] = "srvtag";

/* The notifier: 200 (with the granted Expires and a Contact) and a
 * NOTIFY, in the order the test asks for; an un-SUBSCRIBE gets its
 * terminated NOTIFY. */
static void sub_handler(struct tsrv *s, struct txn_srv *st,
			const struct sip_msg *req)
{
	struct fx *f = s->arg;
	const struct tsrv_req *r = &s->reqs[s->n_reqs - 1];
	char exp[32], contact[96];
	const char *hdrs[2] = {exp, contact};
	bool is_end = req->has_expires && !req->expires;
	const char *state = is_end ? "terminated;reason=timeout" : f->substate;

	snprintf(exp, sizeof(exp), "Expires: %u", is_end ? 0 : f->granted);
	snprintf(contact, sizeof(contact),
		 "Contact: <sip:notifier@127.0.0.1:%u;transport=%s>", s->port,
		 r->proto == NET_UDP ? "udp" : "tcp");
	if (f->notify_first)
		(void)tsrv_notify(s, r, srv_tag, state);
	(void)txn_srv_reply(st, 200, NULL,
			    &(struct txn_reply_opts){.hdrs = hdrs,
						     .n_hdrs = 2,
						     .to_tag = srv_tag});
	/* a refresh of an active subscription needs no NOTIFY here */
	if (!f->notify_first && (req->to.tag.p == NULL || is_end))
		(void)tsrv_notify(s, r, srv_tag, state);
}

static unsigned on_notify(void *arg, struct ua_sub *s,
			  const struct ua_notify *n)
{
	struct fx *f = arg;

	(void)s;
	f->n_notify++;
	f->last_state = n->state;
	f->had_src = n->src != NULL && n->msg != NULL;
	snprintf(f->last_reason, sizeof(f->last_reason), "%.*s",
		 SLICE_FMT(n->reason));
	return f->notify_answer;
}

static void on_sub_event(void *arg, struct ua_sub *s,
			 const struct ua_sub_event *e)
{
	struct fx *f = arg;

	(void)s;
	f->n_events++;
	if (f->n_events == 1)
		f->first_status = e->status;
	if (e->is_over) {
		f->n_over++;
		f->over_err = e->err;
		f->sub = NULL;
	}
}

static int fx_subscribe(struct fx *f, unsigned expires)
{
	return ua_subscribe(f->ua,
			    &(struct ua_sub_opts){
				    .ruri = "sip:bob@example.test",
				    .event = "certificate",
				    .accept = "application/pkix-cert",
				    .expires = expires,
				    .on_notify = on_notify,
				    .on_event = on_sub_event,
				    .arg = f,
			    },
			    &f->sub);
}

static int fetch(struct fx *f, bool notify_first)
{
	const struct sip_msg *m;
	char want[96];

	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){0}), 0);
	f->srv.handler = sub_handler;
	f->notify_first = notify_first;
	f->substate = "terminated;reason=timeout";
	TEST_EQ_INT(fx_subscribe(f, 0), 0);
	TEST_EQ_INT(f->n_events, 0);
	TEST_ASSERT(run_until(f, &f->n_over, 1, RUN_MS));
	/* RFC 6665 §4.4.3: one NOTIFY, then over; the 2xx reported */
	TEST_EQ_INT(f->n_notify, 1);
	TEST_EQ_INT(f->last_state, UA_SUB_TERMINATED);
	TEST_EQ_STR(f->last_reason, "timeout");
	TEST_ASSERT(f->had_src);
	TEST_EQ_INT(f->n_events, 2);
	TEST_EQ_INT(f->first_status, 200);
	TEST_EQ_INT(f->over_err, 0);
	TEST_ASSERT(run_until(f, &f->srv.n_answers, 1, RUN_MS));
	TEST_EQ_INT(f->srv.answers[0], 200);
	TEST_EQ_INT(f->srv.n_reqs, 1);
	m = f->srv.reqs[0].m;
	TEST_EQ_SLICE(m->method, "SUBSCRIBE");
	TEST_ASSERT(hdr_is(m, SIP_HDR_EVENT, "certificate"));
	TEST_ASSERT(hdr_is(m, SIP_HDR_ACCEPT, "application/pkix-cert"));
	TEST_ASSERT(hdr_is(m, SIP_HDR_EXPIRES, "0"));
	snprintf(want, sizeof(want), "<sip:alice@127.0.0.1:%u;transport=udp>",
		 ua_port(f->ua));
	TEST_ASSERT(hdr_is(m, SIP_HDR_CONTACT, want));
	run_for(f, 20);
	TEST_ASSERT(!ua_busy(f->ua));
	TEST_EQ_INT(f->n_over, 1);
	return 0;
}

TEST(ua_engine_fetch)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = fetch(&f, false);
	fx_fini(&f);
	return rc;
}

TEST(ua_engine_fetch_notify_first)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = fetch(&f, true);
	fx_fini(&f);
	return rc;
}

static int refresh_and_end(struct fx *f)
{
	const struct sip_msg *a, *b, *c;
	char want[96];

	TEST_EQ_INT(
		fx_ua(f, &(struct ua_cfg){.proxy_params = ";transport=tcp"}),
		0);
	f->srv.handler = sub_handler;
	f->granted = 2;
	f->substate = "active;expires=2";
	TEST_EQ_INT(fx_subscribe(f, 60), 0);
	TEST_ASSERT(run_until(f, &f->n_notify, 1, RUN_MS));
	TEST_EQ_INT(f->last_state, UA_SUB_ACTIVE);
	TEST_ASSERT(run_until(f, &f->n_events, 1, RUN_MS));
	TEST_EQ_INT(f->first_status, 200);
	/* RFC 6665 §4.1.2.1: refreshed within the 2 s granted */
	TEST_ASSERT(run_until(f, &f->srv.n_reqs, 2, 2000));
	a = f->srv.reqs[0].m;
	b = f->srv.reqs[1].m;
	TEST_ASSERT(hdr_is(a, SIP_HDR_EXPIRES, "60"));
	snprintf(want, sizeof(want), "<sip:alice@127.0.0.1:%u;transport=tcp>",
		 ua_port(f->ua));
	TEST_ASSERT(hdr_is(a, SIP_HDR_CONTACT, want));
	/* in the dialog: its target, the notifier's tag, CSeq + 1, the
	 * same flow */
	snprintf(want, sizeof(want), "sip:notifier@127.0.0.1:%u;transport=tcp",
		 f->srv.port);
	TEST_EQ_SLICE(b->ruri_s, want);
	TEST_EQ_SLICE(b->to.tag, srv_tag);
	TEST_EQ_SLICE(b->to.uri_s, "sip:bob@example.test");
	TEST_ASSERT(slice_eq(a->call_id, b->call_id));
	TEST_ASSERT(slice_eq(a->from.tag, b->from.tag));
	TEST_EQ_INT(b->cseq.num, a->cseq.num + 1);
	TEST_EQ_INT(f->srv.reqs[1].proto, NET_TCP);
	TEST_EQ_INT(f->srv.reqs[1].flow, f->srv.reqs[0].flow);
	TEST_EQ_INT(f->n_over, 0);
	/* RFC 6665 §4.1.2.3: Expires 0 in the dialog */
	ua_sub_end(f->sub);
	TEST_ASSERT(run_until(f, &f->n_over, 1, RUN_MS));
	TEST_EQ_INT(f->srv.n_reqs, 3);
	c = f->srv.reqs[2].m;
	TEST_ASSERT(hdr_is(c, SIP_HDR_EXPIRES, "0"));
	TEST_EQ_SLICE(c->to.tag, srv_tag);
	TEST_EQ_INT(c->cseq.num, b->cseq.num + 1);
	TEST_EQ_INT(f->last_state, UA_SUB_TERMINATED);
	TEST_EQ_INT(f->over_err, 0);
	TEST_EQ_INT(f->n_events, 2);
	run_for(f, 20);
	TEST_EQ_INT(f->n_over, 1);
	TEST_ASSERT(!ua_busy(f->ua));
	return 0;
}

TEST(ua_engine_subscription_refresh_and_end)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = refresh_and_end(&f);
	fx_fini(&f);
	return rc;
}

/* The first SUBSCRIBE as sub_handler; a refresh answered refresh_status */
static void refresh_refused_handler(struct tsrv *s, struct txn_srv *st,
				    const struct sip_msg *req)
{
	struct fx *f = s->arg;

	if (!req->to.tag.p) {
		sub_handler(s, st, req);
		return;
	}
	(void)txn_srv_reply(st, f->refresh_status, NULL,
			    &(struct txn_reply_opts){.to_tag = srv_tag});
}

/* RFC 6665 §4.1.2.2: a refresh answered with one of the codes that end
 * a subscription ends it at once, without an un-SUBSCRIBE; any other
 * error leaves it to the time last granted. */
static int refresh_refused(struct fx *f, unsigned status, bool ends)
{
	TEST_EQ_INT(
		fx_ua(f, &(struct ua_cfg){.proxy_params = ";transport=tcp"}),
		0);
	f->srv.handler = refresh_refused_handler;
	f->refresh_status = status;
	f->granted = 2;
	f->substate = "active;expires=2";
	TEST_EQ_INT(fx_subscribe(f, 60), 0);
	TEST_ASSERT(run_until(f, &f->n_notify, 1, RUN_MS));
	/* the refresh, at half the 2 s granted */
	TEST_ASSERT(run_until(f, &f->srv.n_reqs, 2, 2000));
	run_for(f, 100);
	TEST_EQ_INT(f->n_over, ends ? 1 : 0);
	TEST_EQ_INT(f->n_events, 2);
	if (!ends)
		TEST_ASSERT(run_until(f, &f->n_over, 1, 2000));
	run_for(f, 50);
	TEST_EQ_INT(f->srv.n_reqs, 2);
	TEST_EQ_INT(f->n_over, 1);
	TEST_ASSERT(!ua_busy(f->ua));
	return 0;
}

TEST(ua_engine_refresh_refused_ends_or_keeps)
{
	static const struct {
		unsigned status;
		bool ends;
	} c[] = {{489, true}, {404, true}, {500, false}};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		struct fx f;
		int rc = fx_init(&f, false, NULL, NULL);

		if (!rc)
			rc = refresh_refused(&f, c[i].status, c[i].ends);
		fx_fini(&f);
		if (rc) {
			fprintf(stderr, "refresh answered %u\n", c[i].status);
			return rc;
		}
	}
	return 0;
}

static int notify_437(struct fx *f)
{
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){0}), 0);
	f->srv.handler = sub_handler;
	f->notify_answer = 437;
	TEST_EQ_INT(fx_subscribe(f, 3600), 0);
	TEST_ASSERT(run_until(f, &f->n_over, 1, RUN_MS));
	TEST_EQ_INT(f->n_notify, 1);
	TEST_ASSERT(run_until(f, &f->srv.n_answers, 1, RUN_MS));
	TEST_EQ_INT(f->srv.answers[0], 437);
	/* RFC 6665 §4.1.3: nothing more is sent, no un-SUBSCRIBE */
	run_for(f, 200);
	TEST_EQ_INT(f->srv.n_reqs, 1);
	TEST_EQ_INT(f->n_over, 1);
	TEST_ASSERT(!ua_busy(f->ua));
	return 0;
}

TEST(ua_engine_notify_437_ends)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = notify_437(&f);
	fx_fini(&f);
	return rc;
}

static void reject_handler(struct tsrv *s, struct txn_srv *st,
			   const struct sip_msg *req)
{
	(void)s;
	(void)req;
	(void)txn_srv_reply(st, 404, NULL, NULL);
}

static int sub_refused(struct fx *f)
{
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){0}), 0);
	f->srv.handler = reject_handler;
	TEST_EQ_INT(fx_subscribe(f, 3600), 0);
	TEST_ASSERT(run_until(f, &f->n_over, 1, RUN_MS));
	/* one event: the failure is the end */
	TEST_EQ_INT(f->n_events, 1);
	TEST_EQ_INT(f->first_status, 404);
	TEST_EQ_INT(f->n_notify, 0);
	return 0;
}

TEST(ua_engine_subscribe_refused)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = sub_refused(&f);
	fx_fini(&f);
	return rc;
}

/* ua_sub_end before any answer: over without a dialog to end; then the
 * late NOTIFY finds no subscription. */
static int end_early(struct fx *f)
{
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){0}), 0);
	f->srv.handler = silent_handler;
	TEST_EQ_INT(fx_subscribe(f, 3600), 0);
	ua_sub_end(f->sub);
	TEST_EQ_INT(f->n_over, 0);
	TEST_ASSERT(run_until(f, &f->n_over, 1, RUN_MS));
	TEST_EQ_INT(f->n_events, 1);
	TEST_ASSERT(!ua_busy(f->ua));
	return 0;
}

TEST(ua_engine_sub_end_early)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = end_early(&f);
	fx_fini(&f);
	return rc;
}

/* ---- TLS: the server's identity (RFC 5922 §7.3) ---------------------- */

/* With tls_check_peer, a TLS server whose certificate names another host
 * gets nothing: the handshake stops, the request fails with -EPERM. */
static int tls_wrong_host(struct fx *f)
{
	struct net_stats st;
	char spec[64];

	snprintf(spec, sizeof(spec), "good.test:%u:127.0.0.1", f->srv.tls_port);
	TEST_EQ_INT(dns_add_override(f->dns, spec), 0);
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.proxy_host = "good.test",
					      .proxy_params = ";transport=tls",
					      .port = f->srv.tls_port,
					      .listen_host = "127.0.0.1"}),
		    0);
	TEST_EQ_INT(fx_publish(f), 0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_err, -EPERM);
	run_for(f, 50);
	TEST_EQ_INT(f->srv.n_reqs, 0);
	net_stats_get(f->srv.net, &st);
	TEST_EQ_INT(st.rx_msgs, 0);
	return 0;
}

TEST(ua_engine_tls_wrong_host)
{
	struct fx f;
	int rc = fx_init(&f, true, "other.test", NULL);

	if (!rc)
		rc = tls_wrong_host(&f);
	fx_fini(&f);
	return rc;
}

static int tls_good(struct fx *f)
{
	char spec[64];

	snprintf(spec, sizeof(spec), "good.test:%u:127.0.0.1", f->srv.tls_port);
	TEST_EQ_INT(dns_add_override(f->dns, spec), 0);
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.proxy_host = "good.test",
					      .proxy_params = ";transport=tls",
					      .port = f->srv.tls_port,
					      .listen_host = "127.0.0.1"}),
		    0);
	TEST_EQ_INT(ua_send(f->ua,
			    &(struct ua_request){
				    .method = "PUBLISH",
				    .ruri = "sip:alice@example.test",
				    .tls_only = true,
			    },
			    on_resp, f, NULL),
		    0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_err, 0);
	TEST_EQ_INT(f->cb_status, 200);
	TEST_EQ_INT(f->srv.n_reqs, 1);
	TEST_EQ_INT(f->srv.reqs[0].proto, NET_TLS);
	return 0;
}

TEST(ua_engine_tls_good)
{
	struct fx f;
	int rc = fx_init(&f, true, "good.test", NULL);

	if (!rc)
		rc = tls_good(&f);
	fx_fini(&f);
	return rc;
}

/* Without a proxy the certificate must name the SIP domain of the
 * Request-URI (URI:sip:DOMAIN, RFC 5922 §7.1); a subscription over TLS
 * gets its NOTIFY back over the same flow. */
static int tls_domain(struct fx *f)
{
	char spec[64], ruri[96];

	snprintf(spec, sizeof(spec), "example.test:%u:127.0.0.1",
		 f->srv.tls_port);
	TEST_EQ_INT(dns_add_override(f->dns, spec), 0);
	TEST_EQ_INT(ua_new(&f->ua,
			   &(struct ua_opts){
				   .base = f->base,
				   .dns = f->dns,
				   .tls_ctx = f->tls_client,
				   .aor = "sip:alice@example.test",
				   .t1_ms = FX_T1_MS,
				   .arg = f,
			   }),
		    0);
	f->srv.handler = sub_handler;
	f->substate = "terminated;reason=timeout";
	snprintf(ruri, sizeof(ruri), "sip:bob@example.test:%u;transport=tls",
		 f->srv.tls_port);
	TEST_EQ_INT(ua_subscribe(f->ua,
				 &(struct ua_sub_opts){
					 .ruri = ruri,
					 .event = "certificate",
					 .tls_only = true,
					 .on_notify = on_notify,
					 .on_event = on_sub_event,
					 .arg = f,
				 },
				 &f->sub),
		    0);
	TEST_ASSERT(run_until(f, &f->n_over, 1, RUN_MS));
	TEST_EQ_INT(f->over_err, 0);
	TEST_EQ_INT(f->first_status, 200);
	TEST_EQ_INT(f->n_notify, 1);
	TEST_EQ_INT(f->srv.reqs[0].proto, NET_TLS);
	TEST_ASSERT(hdr_has(f->srv.reqs[0].m, "Contact", "transport=tls"));
	return 0;
}

TEST(ua_engine_tls_domain)
{
	struct fx f;
	int rc = fx_init(&f, true, NULL, "sip:example.test");

	if (!rc)
		rc = tls_domain(&f);
	fx_fini(&f);
	return rc;
}

/* ---- API edges ------------------------------------------------------------
 */

static void free_in_cb(void *arg, int err, const struct sip_msg *resp)
{
	struct fx *f = arg;

	(void)err;
	(void)resp;
	f->n_cb++;
	/* a callback may free the engine */
	ua_free(f->ua);
	f->ua = NULL;
}

static int api_edges(struct fx *f)
{
	struct ua *u = NULL;
	struct ua_txn *t = NULL;

	TEST_EQ_INT(ua_new(&u, &(struct ua_opts){.base = f->base,
						 .aor = "alice@example.test"}),
		    -EINVAL);
	TEST_EQ_INT(ua_new(&u, &(struct ua_opts){.base = f->base,
						 .proxy = "sip:p;transport=x"}),
		    -EINVAL);
	TEST_EQ_INT(ua_new(&u, &(struct ua_opts){.base = f->base,
						 .listen_host = "nowhere"}),
		    -EINVAL);
	TEST_ASSERT(!u);
	ua_free(NULL);
	TEST_ASSERT(!ua_busy(NULL));
	TEST_EQ_INT(fx_ua(f, &(struct ua_cfg){.password = "secret"}), 0);
	TEST_EQ_INT(ua_send(f->ua,
			    &(struct ua_request){.method = "PUBLISH",
						 .ruri = "alice"},
			    on_resp, f, NULL),
		    -EINVAL);
	TEST_EQ_INT(ua_send(f->ua,
			    &(struct ua_request){.method = "PUBLISH",
						 .ruri = "sip:a@b",
						 .to = "<bad"},
			    on_resp, f, NULL),
		    -EINVAL);
	/* cancelled: never called back */
	TEST_EQ_INT(fx_publish(f), 0);
	TEST_EQ_INT(
		ua_send(f->ua,
			&(struct ua_request){.method = "PUBLISH",
					     .ruri = "sip:alice@example.test"},
			on_resp, f, &t),
		0);
	ua_txn_cancel(t);
	ua_txn_cancel(NULL);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	run_for(f, 100);
	TEST_EQ_INT(f->n_cb, 1);
	TEST_EQ_INT(f->srv.n_reqs, 1);
	/* a header that would break its line is refused (injection) */
	f->n_cb = 0;
	TEST_EQ_INT(ua_send(f->ua,
			    &(struct ua_request){
				    .method = "MESSAGE",
				    .ruri = "sip:bob@example.test",
				    .hdrs =
					    (const char *const[]){
						    "X-A: 1\r\nX-B: 2"},
				    .n_hdrs = 1,
			    },
			    on_resp, f, NULL),
		    0);
	TEST_ASSERT(run_until(f, &f->n_cb, 1, RUN_MS));
	TEST_EQ_INT(f->cb_err, -EINVAL);
	TEST_EQ_INT(f->srv.n_reqs, 1);
	/* freeing the engine from its own callback */
	TEST_EQ_INT(
		ua_send(f->ua,
			&(struct ua_request){.method = "OPTIONS",
					     .ruri = "sip:bob@example.test"},
			free_in_cb, f, NULL),
		0);
	TEST_ASSERT(run_until(f, &f->n_cb, 2, RUN_MS));
	TEST_ASSERT(!f->ua);
	return 0;
}

TEST(ua_engine_api_edges)
{
	struct fx f;
	int rc = fx_init(&f, false, NULL, NULL);

	if (!rc)
		rc = api_edges(&f);
	fx_fini(&f);
	return rc;
}
