/* SPDX-License-Identifier: BSD-3-Clause */
/* txn internals shared by the module's files: the layer, both transaction
 * kinds, the hash table they live in, and the test hook for sending. */
#ifndef SIPCERT_TXN_INT_H
#define SIPCERT_TXN_INT_H

#include "txn/txn.h"

#define TXN_LOG "txn"

/* RFC 3261 §17.2.1: a 100 when the TU has not answered in 200 ms. */
enum { TXN_AUTO_100_MS = 200 };

/* ---- hash.c: keyed hashing and a chained table -------------------------- */

/* SipHash-2-4 with a per-layer random key, so a peer choosing branches
 * cannot pile its transactions into one chain. Fed incrementally. */
struct txn_hasher {
	uint64_t v[4];
	uint64_t tail;
	size_t n; /* bytes fed */
};

void txn_hasher_init(struct txn_hasher *h, const uint64_t key[2]);
/* Feed bytes; fold_case lowers ASCII letters first (values compared
 * case-insensitively must hash alike). */
void txn_hasher_feed(struct txn_hasher *h, struct slice s, bool fold_case);
void txn_hasher_u32(struct txn_hasher *h, uint32_t v);
uint64_t txn_hasher_end(struct txn_hasher *h);

/* Intrusive node; pprev is NULL while the node is in no table. */
struct txn_hnode {
	struct txn_hnode *next;
	struct txn_hnode **pprev;
	uint64_t hash;
};

struct txn_htab {
	struct txn_hnode **buckets;
	size_t mask; /* buckets - 1, a power of two minus one */
	size_t n;
};

int txn_htab_init(struct txn_htab *t);
void txn_htab_fini(struct txn_htab *t);
/* Never fails: when growing is impossible the chains just get longer. */
void txn_htab_insert(struct txn_htab *t, struct txn_hnode *n, uint64_t hash);
void txn_htab_remove(struct txn_htab *t, struct txn_hnode *n);
/* The chain that holds hash (walk ->next, compare ->hash first). */
struct txn_hnode *txn_htab_chain(const struct txn_htab *t, uint64_t hash);
/* Unlink the next node at or after bucket *cursor (start at 0), or NULL
 * when none is left. Nothing may be inserted while draining. */
struct txn_hnode *txn_htab_pop(struct txn_htab *t, size_t *cursor);

/* ---- layer.c ------------------------------------------------------------ */

/* How the layer hands bytes to the transport: net_send by default. */
typedef int txn_send_fn(void *arg, const struct net_dest *d, const void *data,
			size_t len, net_flow_id *used);

struct txn_layer {
	struct event_base *base;
	struct net *net;
	unsigned t1_ms, t2_ms, t4_ms;
	const struct timeval *tv_64t1; /* libevent common timeouts */
	const struct timeval *tv_t4;
	struct timeval plain_64t1, plain_t4; /* if those are refused */
	char *sent_by[3];
	/* learned from received traffic: the fallback sent-by */
	struct net_addr local[3];
	bool has_local[3];
	txn_request_cb *on_request;
	void *arg;
	txn_send_fn *send;
	void *send_arg;
	uint64_t hash_key[2];
	struct txn_htab srv_tab;
	struct txn_htab cli_tab;
	struct txn_htab inv_tab; /* INVITE clients by Call-ID and CSeq */
	struct txn_stats stats;
};

/* Test hook: capture what would be sent (fn NULL restores net_send). */
void txn_layer_set_sender(struct txn_layer *l, txn_send_fn *fn, void *arg);
int txn_layer_send(struct txn_layer *l, const struct net_dest *d,
		   const void *data, size_t len, net_flow_id *used);

/* Timers: ms 0 is not started (callers treat 0 as "at once"). */
struct event *txn_timer_new(struct txn_layer *l, void (*fn)(int, short, void *),
			    void *arg);
void txn_timer_start_ms(struct event *ev, unsigned ms);
void txn_timer_start_tv(struct event *ev, const struct timeval *tv);
void txn_timer_stop(struct event *ev);
void txn_timer_free(struct event **ev);

/* ---- via.c: RFC 3261 §18.2.1 / §18.2.2, RFC 3581 ------------------------ */

/* The source as a received= value (IPv6 without brackets, IPv4-mapped
 * IPv6 as IPv4) into out (64 bytes). */
void txn_addr_host(const struct net_addr *a, char *out, size_t n);
uint16_t txn_addr_port(const struct net_addr *a);
void txn_addr_set_port(struct net_addr *a, uint16_t port);
bool txn_addr_is_unspecified(const struct net_addr *a);

/* Append via_parm to out with received= (when the sent-by host is not the
 * source address, or rport asks for it) and rport=<source port> (when
 * present). *is_parsed says whether the via-parm was understood. */
int txn_via_stamp(struct buf *out, struct slice via_parm,
		  const struct net_addr *src, bool *is_parsed);
/* Where a response to a request with top Via via goes (§18.2.2): the
 * request's flow on streams, the source with rport, else the source
 * address at the sent-by port. via NULL: straight back to the source. */
void txn_response_dest(const struct sip_via *via, const struct net_rx *rx,
		       struct net_dest *out);
/* Replace the first via-parm of the response start in b by top_via. */
int txn_reply_restamp(struct buf *b, const char *top_via);

/* ---- branch.c ----------------------------------------------------------- */

/* Fill with random bytes (OpenSSL's DRBG). */
void txn_random(void *out, size_t n);

/* ---- raw.c: what a message that failed to decode still offers ----------- */

enum txn_raw_kind {
	TXN_RAW_VIA,
	TXN_RAW_FROM,
	TXN_RAW_TO,
	TXN_RAW_CALL_ID,
	TXN_RAW_CSEQ,
};

enum { TXN_RAW_MAX_LINES = 64 };

struct txn_raw {
	struct slice start; /* the first line, without its line end */
	bool is_response;   /* starts with "SIP/" */
	struct slice method;
	struct {
		enum txn_raw_kind kind;
		struct slice value; /* may span folds: raw, untrimmed ends */
	} lines[TXN_RAW_MAX_LINES];
	size_t n_lines;
	size_t n_via;
};

/* Tolerant line scan of a header block: never fails, never reads outside
 * [data, data + len). The first From, To, Call-ID and CSeq, and every Via
 * line (up to the cap) are kept. */
void txn_raw_scan(const void *data, size_t len, struct txn_raw *out);
/* Build a stateless error response to rx from raw lines, and where it
 * goes: -ENOENT without a Via line, -EINVAL when the Via cannot be copied
 * safely (From, To, Call-ID or CSeq that cannot are left out). to_tag is
 * added to a To without one. */
int txn_raw_reply(struct buf *b, const struct txn_raw *r, unsigned status,
		  const char *reason, const struct net_rx *rx,
		  const char *to_tag, struct net_dest *dest);
/* The receive path's answer to a request that did not decode. */
void txn_stateless_error(struct txn_layer *l, const struct net_rx *rx,
			 const struct sip_error *err);

/* ---- srv.c -------------------------------------------------------------- */

enum txn_srv_state {
	TXN_SRV_TRYING,
	TXN_SRV_PROCEEDING,
	TXN_SRV_COMPLETED,
	TXN_SRV_CONFIRMED,
	TXN_SRV_TERMINATED,
};

/* What §17.2.3 matches an RFC 3261 request on: the top Via's branch and
 * sent-by, and the method. It points into the request until the request
 * is let go (txn_srv_compact), then into key_buf. */
struct txn_srv_key {
	struct slice branch, host, method;
	uint16_t port;
	bool has_port;
};

struct txn_srv {
	struct txn_hnode hnode; /* in l->srv_tab while not terminated */
	struct txn_layer *l;	/* NULL once terminated */
	unsigned refs;
	enum txn_srv_state state;
	bool is_invite;
	bool is_reliable;
	bool is_rfc3261; /* branch with the magic cookie */
	bool has_resp;
	bool is_auto_100;    /* the last response is the layer's 100 */
	struct sip_msg *req; /* NULL once compacted */
	struct txn_srv_key key;
	char *key_buf; /* the key's bytes once req is gone */
	struct txn_source src;
	struct net_dest dest;
	char *top_via; /* stamped top via-parm, or NULL when unchanged */
	char *resp;    /* last response sent */
	size_t resp_len;
	unsigned resp_status;
	char tag[TXN_TAG_LEN + 1]; /* To tag we answer with ("" none yet) */
	char *resp_tag;		  /* To tag of a raw final, for RFC 2543 ACKs */
	struct event *ev_retx;	  /* G, or the 100 Trying timer: INVITE */
	struct event *ev_timeout; /* guard, J, H, I */
	unsigned retx_ms;
};

/* A decoded request from rx: match, absorb, or start a transaction. */
void txn_srv_rx(struct txn_layer *l, const struct net_rx *rx,
		struct sip_msg *m);
/* End it now: timers off, out of the table, the layer's reference
 * dropped. No callbacks. */
void txn_srv_terminate(struct txn_srv *st);
/* A non-INVITE server transaction in Completed that only the layer holds
 * keeps no more than its match key and its response for Timer J (64*T1
 * on UDP): the request, its Via stamp and the spare bytes of the
 * response go. Idempotent; a no-op for anything else. */
void txn_srv_compact(struct txn_srv *st);

/* ---- match.c: RFC 3261 §17.2.3 and §17.1.3 ------------------------------ */

bool txn_branch_is_rfc3261(struct slice branch);
/* Hash of a request's server-transaction key; INVITE, its ACK and its
 * CANCEL hash alike so §9.2 finds the INVITE from the CANCEL. */
uint64_t txn_srv_hash(const struct txn_layer *l, const struct sip_msg *m);
enum txn_match_as {
	TXN_MATCH_SAME,	     /* retransmission, or ACK for the INVITE */
	TXN_MATCH_CANCELLED, /* the INVITE a CANCEL names (§9.2) */
};
struct txn_srv *txn_srv_find(const struct txn_layer *l, const struct sip_msg *m,
			     uint64_t hash, enum txn_match_as as);
uint64_t txn_cli_hash(const struct txn_layer *l, struct slice branch);

/* ---- cli.c -------------------------------------------------------------- */

/* A decoded response: match it to a client transaction (§17.1.3). */
void txn_cli_rx(struct txn_layer *l, struct sip_msg *m);
/* Free without callbacks (layer teardown). */
void txn_cli_destroy(struct txn_cli *c);
struct txn_cli *txn_cli_of_node(struct txn_hnode *n);
struct txn_srv *txn_srv_of_node(struct txn_hnode *n);

#endif
