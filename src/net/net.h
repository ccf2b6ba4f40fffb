/* SPDX-License-Identifier: BSD-3-Clause */
/* net: SIP transports on libevent (RFC 3261 §18): UDP, TCP and TLS
 * listeners, outgoing TCP/TLS connections, the connection ("flow") table
 * with idle timeouts and a cap, stream framing by Content-Length, and the
 * limits that keep slow or hostile peers from pinning memory. */
#ifndef SIPCERT_NET_H
#define SIPCERT_NET_H

#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "base/base.h"

enum net_proto {
	NET_UDP = 0,
	NET_TCP,
	NET_TLS,
};

const char *net_proto_name(enum net_proto p); /* "UDP", "TCP", "TLS" */

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* "192.0.2.1:5060" or "[2001:db8::1]:5061" into out (64 bytes is enough) */
void net_addr_print(const struct net_addr *a, char *out, size_t n);
int net_addr_parse(const char *host, uint16_t port, struct net_addr *out);
uint16_t net_addr_port(const struct net_addr *a);

/* A flow is one connection (TCP/TLS) or, for UDP, the listening socket and
 * the peer address together. Flow ids are never reused in one process, so
 * a stale id simply finds nothing. */
typedef uint64_t net_flow_id;

/* One complete message as it arrived (framed on streams). The bytes are
 * valid only during the callback. */
struct net_rx {
	enum net_proto proto;
	net_flow_id flow; /* UDP: the id of the listening socket's flow */
	struct net_addr peer;
	struct net_addr local;
	const char *data;
	size_t len;
	/* TLS only: the peer's verified certificate (NULL when the peer
	 * sent none), and the SNI name it asked for (NULL when none). */
	X509 *peer_cert;
	const char *sni;
};

typedef void net_rx_cb(void *arg, const struct net_rx *rx);
/* A stream flow closed (peer, error, idle, or cap); its id is now dead.
 * Called from the loop after the turn that closed the flow, never from
 * inside a net_* call. Both callbacks run on the loop thread and may call
 * any net_* function except net_free(). */
typedef void net_closed_cb(void *arg, net_flow_id flow);
/* Outgoing TLS only: may the handshake go on with this server? Called
 * during the handshake, once the chain verified, with the leaf
 * certificate and the name the flow was opened for (net_dest.sni; NULL
 * when none). Return 0 to go on; anything else aborts the handshake
 * before a byte of application data is sent, the flow closes and what
 * was queued on it is dropped (RFC 5922 §7.3: the client checks the
 * server's identity before it trusts the connection). */
typedef int net_tls_peer_cb(void *arg, X509 *leaf, const char *sni);

struct net_opts {
	struct event_base *base;
	SSL_CTX *tls_server_ctx; /* NULL: no TLS listeners possible */
	SSL_CTX *tls_client_ctx; /* NULL: no outgoing TLS */
	size_t max_msg_bytes;	 /* 0: SIP_MAX_MSG_BYTES; at most 16 MiB */
	unsigned max_flows;	 /* stream connections at once; 0: 4096 */
	unsigned idle_timeout_s; /* no traffic: close; 0: 300 */
	/* A message must be complete this long after its first byte
	 * arrived, or the flow is closed (slow loris); 0: 10 s. */
	unsigned msg_timeout_s;
	/* The same bound applies to an outgoing connect plus its TLS
	 * handshake, an incoming handshake, and the flush of a closing
	 * flow. A flow may queue 16 * max_msg_bytes for sending. */
	net_rx_cb *on_rx;
	net_closed_cb *on_closed;	 /* may be NULL */
	net_tls_peer_cb *tls_check_peer; /* NULL: the chain alone */
	void *arg;
};

struct net;

/* The TLS contexts are referenced (SSL_CTX_up_ref), so the caller may
 * free its own references. libevent and OpenSSL write with write(2): the
 * process must ignore SIGPIPE (sipcertd's main does). -EINVAL, -ENOMEM. */
int net_new(struct net **out, const struct net_opts *o);
/* Stop accepting, close every flow, free; on_closed is not called. NULL
 * is a no-op. */
void net_free(struct net *n);

/* Listen on host:port ("0.0.0.0", "::", "127.0.0.1"); port 0 picks an
 * ephemeral one, reported in *bound_port. -EADDRINUSE, -EINVAL. */
int net_listen(struct net *n, enum net_proto proto, const char *host,
	       uint16_t port, uint16_t *bound_port);
/* Stop accepting new connections and datagrams (SIGTERM drain); existing
 * flows stay until closed, and UDP sockets stay open for sending. */
void net_stop_listening(struct net *n);

/* Where to send. With a live stream flow id the bytes go over that flow
 * (RFC 3261 §18.2.2: responses go back over the connection the request
 * came on); otherwise to addr over proto, reusing an open connection to
 * that address or opening one (TCP/TLS; sni names the server for TLS and
 * is checked by the caller's verify policy). */
struct net_dest {
	enum net_proto proto;
	net_flow_id flow; /* 0: none */
	struct net_addr addr;
	const char *sni; /* TLS client: server name, or NULL */
};

/* Queue bytes for sending. -EMSGSIZE for UDP payloads over 1300 bytes
 * (RFC 3261 §18.1.1: the caller must use a stream instead), -ENOENT when
 * the flow is gone and no address was given, -ENOMEM. *used, if not
 * NULL, receives the flow the bytes went to. Also -EMSGSIZE when the
 * flow's send queue is full (a peer that does not read) or a new
 * connection would pass max_flows; -EINVAL for a UDP flow without addr,
 * a malformed addr, or TLS without tls_client_ctx. A UDP datagram the
 * kernel cannot take right now is dropped with 0, like a loss in the
 * network. Reuse: a TCP flow to addr, incoming or outgoing; a TLS flow
 * only when we opened it with the same sni (case-insensitive). Over UDP
 * without a listener of addr's family, an ephemeral socket is opened
 * (and replies to it arrive through on_rx). */
int net_send(struct net *n, const struct net_dest *d, const void *data,
	     size_t len, net_flow_id *used);

/* Close a stream flow after what is queued has been written (then TLS
 * close_notify and FIN; the flow is freed when the peer closes too, or
 * after msg_timeout_s). It is no longer alive from this call on. UDP flow
 * ids are sockets, not closed here. */
void net_flow_close(struct net *n, net_flow_id flow);
bool net_flow_alive(const struct net *n, net_flow_id flow);

struct net_stats {
	unsigned flows;		  /* open stream flows */
	uint64_t rx_msgs;	  /* messages handed to on_rx */
	uint64_t rx_dropped;	  /* framing errors, oversize, caps */
	uint64_t tls_handshakes;  /* completed */
	uint64_t tls_failures;	  /* handshakes that failed */
	uint64_t flows_timed_out; /* idle or slow */
};
void net_stats_get(const struct net *n, struct net_stats *out);

/* ---- tls.c: contexts with sipcert's policy ----------------------------- */

/* TLS 1.2 and 1.3 only; no NULL, export, anonymous or RC4 suites; the
 * RFC 6072 §10.5 suites (TLS_RSA_WITH_AES_128_CBC_SHA and the ECDHE
 * AES-GCM suites) available. cert_file/key_file in PEM. ca_file: trust
 * anchors for client certificates (NULL: do not ask for one);
 * require_client_cert refuses handshakes without one. */
struct net_tls_server_opts {
	const char *cert_file;
	const char *key_file;
	const char *ca_file;
	bool require_client_cert;
};
/* -EINVAL (require_client_cert without ca_file), -ENOENT and other file
 * errors, -EPROTO (crypto_last_error() says why: no certificate, key
 * mismatch, too weak for the security level), -ENOMEM. Encrypted keys
 * are not supported (no pass phrase prompt). */
int net_tls_server_ctx(SSL_CTX **out, const struct net_tls_server_opts *o);
/* Client context: trust anchors from ca_file (NULL: system store);
 * verification of the peer's name is the caller's (RFC 5922 rules). */
int net_tls_client_ctx(SSL_CTX **out, const char *ca_file);
/* Replace a server context's certificate and key in place (SIGHUP):
 * connections already up keep theirs; new handshakes use the new one.
 * Both files are read and checked before anything changes; on failure
 * the context is as it was. -EINVAL when the key type changes (RSA to EC
 * or back: OpenSSL would keep serving the old one too; restart instead). */
int net_tls_reload(SSL_CTX *ctx, const char *cert_file, const char *key_file);

#endif
