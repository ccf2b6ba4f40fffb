/* SPDX-License-Identifier: BSD-3-Clause */
/* net internals shared by its files: the net object, stream connections
 * ("flows"), UDP sockets, listeners and the flow tables. Private to
 * src/net/. */
#ifndef SIPCERT_NET_PRIV_H
#define SIPCERT_NET_PRIV_H

#include "net.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "loop/loop.h"
#include "sip/sip.h"

/* Per-flow events are logged at debug level only: net also runs inside
 * libsipcert, which never prints; net_stats carries the counts. */
#define net_debug(...)                                                         \
	do {                                                                   \
		if (log_enabled(LOG_LEVEL_DEBUG))                              \
			log_msg(LOG_LEVEL_DEBUG, "net", __VA_ARGS__);          \
	} while (0)

enum {
	NET_UDP_MAX_SEND_BYTES = 1300, /* RFC 3261 §18.1.1 */
	NET_UDP_MAX_DGRAM_BYTES = 65535,
	NET_UDP_BATCH = 32, /* datagrams read per wake-up */
	/* UDP receive buffer asked for: a quarter second or more of
	 * requests at 10,000 a second, so that a scheduling pause of the
	 * loop does not drop them (the peers' retransmissions would then
	 * cost more than the pause) */
	NET_UDP_RCVBUF_BYTES = 4 * 1024 * 1024,
	NET_RX_SLACK_BYTES = 4096, /* read watermark above max_msg */
	NET_TX_QUEUE_MSGS = 16,	   /* send queue cap, in max messages */
	NET_DEFAULT_MAX_FLOWS = 4096,
	NET_DEFAULT_IDLE_S = 300,
	NET_DEFAULT_MSG_S = 10,
	NET_ADDR_TEXT_BYTES = 64,
	/* beyond any sane SIP message; keeps the send-queue cap (16x)
	 * far from overflow */
	NET_MAX_MSG_BYTES_LIMIT = 16 * 1024 * 1024,
};

/* A stream flow's life; every change goes through stream.c's
 * conn_set_state() (STYLE.md B5). */
enum conn_state {
	CONN_CONNECTING,  /* outgoing: TCP connect, then TLS handshake */
	CONN_HANDSHAKING, /* incoming TLS: handshake */
	CONN_OPEN,
	CONN_DRAINING, /* net_flow_close(): flushing, then shutting down */
	CONN_CLOSED,   /* on the reap list, freed after this loop turn */
};

struct conn {
	struct net *net;
	net_flow_id id;
	enum net_proto proto;
	enum conn_state state;
	bool is_outgoing;
	bool is_established;	/* connected (TCP) or handshake done (TLS) */
	bool is_wr_shut;	/* DRAINING: our side sent FIN */
	bool want_close_notify; /* TLS: say goodbye properly when freed */
	struct bufferevent *bev;
	struct evbuffer_cb_entry *drain_cb;
	struct net_addr peer;
	struct net_addr local;
	char *sni; /* server: the name the client asked for; client: ours */
	struct sip_framer framer;
	unsigned crlf_run; /* CR/LF bytes seen between messages */
	struct event *timer;
	uint64_t last_io_ms;   /* bytes either way */
	uint64_t msg_start_ms; /* first byte of a partial message, start of
				* a connect, handshake or drain; 0: none */
	uint64_t timer_due_ms;
	struct conn *id_next; /* flow table chains */
	struct conn *addr_next;
	struct conn *dead_next; /* reap list */
};

struct udp_sock {
	struct net *net;
	net_flow_id id;
	int fd;
	struct event *ev;
	struct net_addr local;
	bool is_wildcard; /* bound to 0.0.0.0 or ::: learn local per packet */
	bool is_reading;
	struct udp_sock *next;
};

struct listener {
	struct net *net;
	enum net_proto proto;
	struct evconnlistener *lev;
	struct event *retry; /* re-enable accepting after EMFILE */
	struct listener *next;
};

struct conn_map {
	struct conn **buckets;
	size_t n_buckets; /* a power of two */
	size_t count;
};

struct net {
	struct net_opts o; /* with the defaults applied */
	uint64_t idle_ms;
	uint64_t msg_ms;
	size_t tx_cap_bytes;
	net_flow_id next_id;
	struct conn_map by_id;
	struct conn_map by_addr;
	struct conn *dead_head; /* closed, freed by reap_ev */
	struct conn *dead_tail;
	struct event *reap_ev;
	struct udp_sock *udp;
	struct listener *listeners;
	char *udp_buf;
	size_t udp_buf_bytes;
	struct net_stats stats;
};

/* addr.c */
bool net_addr_valid(const struct net_addr *a);
bool net_addr_eq(const struct net_addr *a, const struct net_addr *b);
uint64_t net_addr_hash(const struct net_addr *a);
int net_addr_from_sa(struct net_addr *out, const struct sockaddr *sa,
		     socklen_t len);
/* The socket's own address (getsockname). */
int net_addr_local(struct net_addr *out, int fd);
bool net_addr_is_any(const struct net_addr *a);

/* net.c: the flow tables and the reap list */
void net_flow_insert(struct net *n, struct conn *c);
struct conn *net_flow_find(const struct net *n, net_flow_id id);
/* A usable stream flow to (proto, addr) for sending, or NULL. */
struct conn *net_flow_find_addr(const struct net *n, enum net_proto proto,
				const struct net_addr *addr, const char *sni);
void net_flow_remove(struct net *n, struct conn *c);
void net_flow_reap_later(struct net *n, struct conn *c);

/* stream.c: TCP and TLS flows. fd is owned from the call on. */
void net_stream_accept(struct net *n, enum net_proto proto, int fd,
		       const struct sockaddr *sa, socklen_t len);
int net_stream_connect(struct conn **out, struct net *n, enum net_proto proto,
		       const struct net_addr *addr, const char *sni);
int net_stream_send(struct conn *c, const void *data, size_t len);
/* Now (deferred free) or after a flush (graceful). */
void net_stream_close(struct conn *c, const char *why);
void net_stream_close_graceful(struct conn *c);
void net_stream_free(struct conn *c);

/* udp.c */
int net_udp_open(struct udp_sock **out, struct net *n,
		 const struct net_addr *bind_addr);
struct udp_sock *net_udp_find(const struct net *n, net_flow_id id);
/* A socket of addr's family, opened on an ephemeral port when none. */
int net_udp_for(struct udp_sock **out, struct net *n,
		const struct net_addr *to);
int net_udp_send(struct udp_sock *s, const struct net_addr *to,
		 const void *data, size_t len);
void net_udp_stop(struct udp_sock *s);
void net_udp_free(struct udp_sock *s);

/* listen.c: a bound, nonblocking, close-on-exec socket (listening when
 * it is a stream), or -errno. */
int net_listen_socket(const struct net_addr *a, int type);

/* tls.c: a connection's SSL with the SNI set when sni is a host name. */
/* check: for an outgoing flow whose net has tls_check_peer, the net to
 * ask (sni must then outlive the handshake); NULL otherwise. */
int net_tls_ssl_new(SSL **out, SSL_CTX *ctx, const char *sni,
		    struct net *check);

#endif
