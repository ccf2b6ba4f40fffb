/* SPDX-License-Identifier: BSD-3-Clause */
/* txn: SIP transactions (RFC 3261 §17) over net: non-INVITE server and
 * client (timers E, F, J, K), INVITE server (1xx, 3xx-6xx retransmission
 * with timers G, H, I, ACK absorption), retransmissions absorbed,
 * stateless 400 answers to garbage, and the RFC 3261 §18.2.1 received /
 * rport rules. Everything runs on the loop thread. */
#ifndef SIPCERT_TXN_H
#define SIPCERT_TXN_H

#include "net/net.h"
#include "sip/sip.h"

/* RFC 3261 §17.1.1.1 defaults, in milliseconds. */
enum { TXN_T1_MS = 500, TXN_T2_MS = 4000, TXN_T4_MS = 5000 };

struct txn_layer;
struct txn_srv;
struct txn_cli;

/* Where a request came from: kept by the server transaction. */
struct txn_source {
	enum net_proto proto;
	net_flow_id flow;
	struct net_addr peer;
	struct net_addr local;
	X509 *peer_cert; /* TLS client certificate, or NULL (owned by txn) */
	char sni[256];	 /* empty when none */
};

/* A new request (not a retransmission, not an ACK to a non-2xx final).
 * The handler must answer it with txn_srv_reply*() now or later; a
 * transaction the handler leaves unanswered for 64*T1 gets a 500. To
 * answer later, take a reference (txn_srv_ref) and drop it after the
 * final answer. ACKs for 2xx and CANCEL go to the handler too. */
typedef void txn_request_cb(void *arg, struct txn_srv *st,
			    const struct sip_msg *req);

struct txn_opts {
	struct event_base *base;
	struct net *net;
	unsigned t1_ms, t2_ms, t4_ms; /* 0: RFC defaults */
	/* sent-by for the Via we add to requests we originate, per proto
	 * ("sip.example.test:5061"); NULL entries: the listening address */
	const char *via_sent_by[3];
	txn_request_cb *on_request;
	void *arg;
};

int txn_layer_new(struct txn_layer **out, const struct txn_opts *o);
/* Feed one received message (the net_rx_cb of the daemon calls this). */
void txn_layer_rx(struct txn_layer *l, const struct net_rx *rx);
/* Transactions still in progress (for a bounded SIGTERM drain). */
size_t txn_layer_active(const struct txn_layer *l);
/* Cancel every transaction without callbacks; free. NULL is a no-op. */
void txn_layer_free(struct txn_layer *l);

struct txn_stats {
	uint64_t requests;	   /* new server transactions */
	uint64_t retransmissions;  /* absorbed */
	uint64_t stateless_errors; /* 400s sent for garbage */
	uint64_t dropped;	   /* garbage we could not even answer */
	uint64_t client_timeouts;  /* timer F / B fired */
};
void txn_layer_stats(const struct txn_layer *l, struct txn_stats *out);

/* ---- server transactions --------------------------------------------- */

const struct sip_msg *txn_srv_msg(const struct txn_srv *st);
const struct txn_source *txn_srv_source(const struct txn_srv *st);
struct txn_srv *txn_srv_ref(struct txn_srv *st);
/* Returns NULL, so: st = txn_srv_unref(st); */
struct txn_srv *txn_srv_unref(struct txn_srv *st);
/* False once a final response went out (or the layer cancelled it). */
bool txn_srv_is_pending(const struct txn_srv *st);

/* Extra headers (each a full "Name: value" line without CRLF) and an
 * optional body for a reply built by the layer. */
struct txn_reply_opts {
	const char *const *hdrs;
	size_t n_hdrs;
	const char *ctype; /* with body */
	struct slice body;
	const char *to_tag; /* added to To when the request had none; NULL:
			     * the layer makes one for final non-100 replies */
};

/* Build the reply with sip_out_reply_start() plus opts and send it over
 * the request's flow (RFC 3261 §18.2.2). 1xx keeps the transaction
 * pending; 2xx-6xx ends it. -EINVAL after a final reply. */
int txn_srv_reply(struct txn_srv *st, unsigned status, const char *reason,
		  const struct txn_reply_opts *opts);
/* Send a reply the caller built completely (e.g. signed). */
int txn_srv_reply_raw(struct txn_srv *st, unsigned status, const void *data,
		      size_t len);

/* ---- client transactions --------------------------------------------- */

/* Called for each provisional and for the final response (resp non-NULL,
 * err 0), or once with err -ETIMEDOUT (timer F/B) or a transport error
 * (resp NULL). After the final call the transaction is gone. */
typedef void txn_resp_cb(void *arg, int err, const struct sip_msg *resp);

struct txn_cli_opts {
	struct net_dest dest;
	/* The request without a Via for us: the layer inserts the top Via
	 * (sent-by, fresh RFC 3261 branch, rport) after the request line. */
	const void *data;
	size_t len;
	txn_resp_cb *on_resp;
	void *arg;
};

int txn_cli_start(struct txn_layer *l, const struct txn_cli_opts *o,
		  struct txn_cli **out);
/* Stop calling back (its owner is going away); the transaction itself
 * finishes quietly. */
void txn_cli_abandon(struct txn_cli *c);

/* A fresh branch: "z9hG4bK" + 22 random base64url chars, NUL-ended. */
void txn_branch_new(char out[32]);
enum { TXN_TAG_LEN = 16 };
/* A To tag (RFC 3261 §19.3): TXN_TAG_LEN random base64url chars (96
 * bits), NUL-ended; also what a dialog's notifier uses as its local tag. */
void txn_tag_new(char out[TXN_TAG_LEN + 1]);

#endif
