/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the net unit tests: a net on its own event base that
 * records what arrives, a loop runner with a deadline, blocking loopback
 * clients, a TLS client on a thread, and throw-away certificates made in
 * the test. Static inline, so each *_test.c uses what it needs. */
#ifndef SIPCERT_NET_TESTUTIL_H
#define SIPCERT_NET_TESTUTIL_H

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "test.h"

#include "net.h"
#include "loop/loop.h"

/* In the helpers the tests run: report where a check failed, then go
 * to the helper's cleanup. */
#define TNET_FAIL()                                                            \
	do {                                                                   \
		TEST_FAIL_AT("check failed");                                  \
		goto out;                                                      \
	} while (0)

enum {
	TNET_MAX_MSGS = 16,
	TNET_PATH_BYTES = 256,
};

struct tnet_msg {
	net_flow_id flow;
	enum net_proto proto;
	struct net_addr peer;
	struct net_addr local;
	char *data;
	size_t len;
	char *sni;
	bool has_cert;
	char cert_cn[64];
};

struct tnet {
	struct event_base *base;
	struct net *n;
	struct tnet_msg msgs[TNET_MAX_MSGS];
	int n_msgs;
	net_flow_id closed[TNET_MAX_MSGS];
	int n_closed;
	/* when set, each message is answered with this over its flow */
	const char *reply;
	bool close_after_reply;
	int reply_rc;
};

static inline void tnet_on_rx(void *arg, const struct net_rx *rx)
{
	struct tnet *t = arg;
	struct tnet_msg *m;

	if (t->n_msgs >= TNET_MAX_MSGS)
		return;
	m = &t->msgs[t->n_msgs++];
	memset(m, 0, sizeof(*m));
	m->flow = rx->flow;
	m->proto = rx->proto;
	m->peer = rx->peer;
	m->local = rx->local;
	m->data = mem_strndup(rx->data, rx->len);
	if (!m->data) { /* OOM sweep: as if it never arrived */
		t->n_msgs--;
		return;
	}
	m->len = rx->len;
	m->sni = rx->sni ? mem_strdup(rx->sni) : NULL;
	m->has_cert = rx->peer_cert != NULL;
	if (rx->peer_cert)
		X509_NAME_get_text_by_NID(X509_get_subject_name(rx->peer_cert),
					  NID_commonName, m->cert_cn,
					  sizeof(m->cert_cn));
	if (t->reply) {
		struct net_dest d = {
			.proto = rx->proto, .flow = rx->flow, .addr = rx->peer};

		t->reply_rc =
			net_send(t->n, &d, t->reply, strlen(t->reply), NULL);
		if (t->close_after_reply)
			net_flow_close(t->n, rx->flow);
	}
}

static inline void tnet_on_closed(void *arg, net_flow_id flow)
{
	struct tnet *t = arg;

	if (t->n_closed < TNET_MAX_MSGS)
		t->closed[t->n_closed++] = flow;
}

/* A net with o's limits (base, callbacks and arg are filled in). */
static inline int tnet_init(struct tnet *t, const struct net_opts *o)
{
	struct net_opts opts = o ? *o : (struct net_opts){0};
	int err;

	memset(t, 0, sizeof(*t));
	/* libevent and OpenSSL write with write(2): a peer's reset must
	 * not kill the runner, as it must not kill sipcertd (net.h) */
	signal(SIGPIPE, SIG_IGN);
	t->base = event_base_new();
	if (!t->base)
		return -ENOMEM;
	opts.base = t->base;
	opts.on_rx = tnet_on_rx;
	opts.on_closed = tnet_on_closed;
	opts.arg = t;
	err = net_new(&t->n, &opts);
	if (err) {
		event_base_free(t->base);
		t->base = NULL;
	}
	return err;
}

static inline void tnet_fini(struct tnet *t)
{
	net_free(t->n);
	t->n = NULL;
	for (int i = 0; i < t->n_msgs; i++) {
		mem_free(t->msgs[i].data);
		mem_free(t->msgs[i].sni);
	}
	t->n_msgs = 0;
	if (t->base)
		event_base_free(t->base);
	t->base = NULL;
}

static inline bool tnet_was_closed(const struct tnet *t, net_flow_id flow)
{
	for (int i = 0; i < t->n_closed; i++)
		if (t->closed[i] == flow)
			return true;
	return false;
}

typedef bool tnet_pred(void *arg);

/* Run the loops of up to two nets in turns of 2 ms until pred holds or
 * timeout_ms passes; true when it held. */
static inline bool tnet_run2(struct tnet *a, struct tnet *b, tnet_pred *pred,
			     void *arg, unsigned timeout_ms)
{
	uint64_t until = loop_now_ms() + timeout_ms;
	struct timeval tick = {0, 2000};

	for (;;) {
		if (pred && pred(arg))
			return true;
		if (loop_now_ms() >= until)
			return false;
		event_base_loopexit(a->base, &tick);
		event_base_dispatch(a->base);
		if (b) {
			event_base_loopexit(b->base, &tick);
			event_base_dispatch(b->base);
		}
	}
}

static inline bool tnet_run(struct tnet *t, tnet_pred *pred, void *arg,
			    unsigned timeout_ms)
{
	return tnet_run2(t, NULL, pred, arg, timeout_ms);
}

struct tnet_count {
	const int *n;
	int want;
};

static inline bool tnet_count_reached(void *arg)
{
	const struct tnet_count *c = arg;

	return *c->n >= c->want;
}

/* Run until t has n messages (or timeout_ms). */
static inline bool tnet_wait_msgs(struct tnet *t, int n, unsigned timeout_ms)
{
	struct tnet_count c = {&t->n_msgs, n};

	return tnet_run(t, tnet_count_reached, &c, timeout_ms);
}

static inline bool tnet_wait_closed(struct tnet *t, int n, unsigned timeout_ms)
{
	struct tnet_count c = {&t->n_closed, n};

	return tnet_run(t, tnet_count_reached, &c, timeout_ms);
}

/* ---- blocking loopback clients ---------------------------------------- */

static inline int tclient_addr(struct net_addr *a, const char *host,
			       uint16_t port)
{
	return net_addr_parse(host, port, a);
}

/* A connected blocking socket (loopback connects complete in the kernel
 * without the server's loop running). -1 on failure. */
static inline int tclient_connect(int type, const char *host, uint16_t port)
{
	struct net_addr a;
	struct timeval tv = {3, 0};
	int fd;

	if (net_addr_parse(host, port, &a))
		return -1;
	fd = socket(a.ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a.ss, a.len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline bool tclient_send(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

static inline bool tclient_send_str(int fd, const char *s)
{
	return tclient_send(fd, s, strlen(s));
}

struct tclient_read {
	int fd;
	char buf[4096];
	size_t len;
	size_t want;
	bool is_eof;
};

static inline bool tclient_read_step(void *arg)
{
	struct tclient_read *r = arg;
	struct pollfd p = {r->fd, POLLIN, 0};

	while (!r->is_eof && r->len < r->want && r->len < sizeof(r->buf) &&
	       poll(&p, 1, 0) == 1) {
		ssize_t n = recv(r->fd, r->buf + r->len,
				 sizeof(r->buf) - r->len, MSG_DONTWAIT);

		if (n > 0)
			r->len += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			r->is_eof = true;
		else
			break;
	}
	return r->is_eof || r->len >= r->want;
}

/* Run t's loop while reading fd until want bytes, EOF or timeout. */
static inline void tclient_read(struct tnet *t, struct tclient_read *r, int fd,
				size_t want, unsigned timeout_ms)
{
	r->fd = fd;
	r->len = 0;
	r->want = want;
	r->is_eof = false;
	tnet_run(t, tclient_read_step, r, timeout_ms);
}

/* Run t's loop until the server closes fd (EOF or reset). */
static inline bool tclient_wait_eof(struct tnet *t, int fd, unsigned timeout_ms)
{
	struct tclient_read r;

	tclient_read(t, &r, fd, sizeof(r.buf) + 1, timeout_ms);
	return r.is_eof;
}

/* ---- throw-away certificates --------------------------------------------- */

static inline int tscratch_make(char dir[TNET_PATH_BYTES])
{
	const char *base = getenv("TMPDIR");
	int n;

	if (!base || !*base)
		base = "/tmp";
	n = snprintf(dir, TNET_PATH_BYTES, "%s/sipcert-net-XXXXXX", base);
	if (n < 0 || n >= TNET_PATH_BYTES)
		return -ENAMETOOLONG;
	return mkdtemp(dir) ? 0 : -errno;
}

static inline void tscratch_remove(const char *dir)
{
	char path[TNET_PATH_BYTES * 2];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			(void)unlink(path);
		}
	closedir(d);
	(void)rmdir(dir);
}

struct tcert {
	char cert[TNET_PATH_BYTES * 2];
	char key[TNET_PATH_BYTES * 2];
};

/* A self-signed certificate for cn (also its DNS name) on a fresh key,
 * "EC" (P-256) or "RSA" (2048), written as dir/<cn>.crt and .key. */
static inline int tcert_make(struct tcert *out, const char *dir, const char *cn,
			     const char *type)
{
	EVP_PKEY *k =
		!strcmp(type, "RSA")
			? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
			: EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509_EXTENSION *san = NULL;
	char dns[128];
	FILE *f;
	int err = 0;

	snprintf(dns, sizeof(dns), "DNS:%s", cn);
	snprintf(out->cert, sizeof(out->cert), "%s/%s.crt", dir, cn);
	snprintf(out->key, sizeof(out->key), "%s/%s.key", dir, cn);
	if (!k || !x || !name)
		err = -ENOMEM;
	if (!err)
		san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
					  dns);
	if (!err && (!san ||
		     !X509_NAME_add_entry_by_NID(
			     name, NID_commonName, MBSTRING_UTF8,
			     (const unsigned char *)cn, -1, -1, 0) ||
		     !X509_set_version(x, X509_VERSION_3) ||
		     !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
		     !X509_set_subject_name(x, name) ||
		     !X509_set_issuer_name(x, name) ||
		     !X509_gmtime_adj(X509_getm_notBefore(x), -60) ||
		     !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
		     !X509_set_pubkey(x, k) || !X509_add_ext(x, san, -1) ||
		     !X509_sign(x, k, EVP_sha256())))
		err = -EPROTO;
	if (!err) {
		f = fopen(out->cert, "w");
		if (!f || !PEM_write_X509(f, x))
			err = -EIO;
		if (f)
			fclose(f);
	}
	if (!err) {
		f = fopen(out->key, "w");
		if (!f ||
		    !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL))
			err = -EIO;
		if (f)
			fclose(f);
	}
	X509_EXTENSION_free(san);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return err;
}

/* ---- a TLS client on its own thread (blocking OpenSSL) ------------------- */

struct tls_client {
	uint16_t port;
	const char *host;
	SSL_CTX *ctx; /* the test's, with the policy under test */
	const char *sni;
	const char *send;
	bool want_reply;
	/* results */
	atomic_int is_done;
	bool handshake_ok;
	bool read_failed;
	int version;
	char cipher[64];
	char reply[256];
	size_t reply_len;
	pthread_t th;
};

static inline void *tls_client_main(void *arg)
{
	struct tls_client *c = arg;
	int fd = tclient_connect(SOCK_STREAM, c->host, c->port);
	SSL *ssl = fd >= 0 ? SSL_new(c->ctx) : NULL;
	char sni[256];

	/* a writable copy: OpenSSL's macro casts the const away */
	snprintf(sni, sizeof(sni), "%s", c->sni ? c->sni : "");
	if (ssl && SSL_set_fd(ssl, fd) &&
	    (!c->sni || SSL_set_tlsext_host_name(ssl, sni)) &&
	    SSL_connect(ssl) == 1) {
		c->handshake_ok = true;
		c->version = SSL_version(ssl);
		snprintf(c->cipher, sizeof(c->cipher), "%s",
			 SSL_get_cipher_name(ssl));
		if (c->send)
			(void)SSL_write(ssl, c->send, (int)strlen(c->send));
		if (c->want_reply) {
			int n = SSL_read(ssl, c->reply, sizeof(c->reply) - 1);

			if (n > 0)
				c->reply_len = (size_t)n;
			else
				c->read_failed = true;
		}
		(void)SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	OPENSSL_thread_stop();
	atomic_store(&c->is_done, 1);
	return NULL;
}

static inline bool tls_client_done(void *arg)
{
	struct tls_client *c = arg;

	return atomic_load(&c->is_done) != 0;
}

/* Start the client, run t's loop until it finishes (5 s at most), join. */
static inline bool tls_client_run(struct tnet *t, struct tls_client *c)
{
	bool done;

	atomic_store(&c->is_done, 0);
	if (pthread_create(&c->th, NULL, tls_client_main, c))
		return false;
	done = tnet_run(t, tls_client_done, c, 5000);
	pthread_join(c->th, NULL);
	return done;
}

/* A test client context: no verification of our throw-away server
 * certificate (the server's policy is what these tests look at). */
static inline SSL_CTX *tls_client_ctx_new(int min_version, int max_version)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (min_version)
		SSL_CTX_set_min_proto_version(ctx, min_version);
	if (max_version)
		SSL_CTX_set_max_proto_version(ctx, max_version);
	return ctx;
}

#endif
