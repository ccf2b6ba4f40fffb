/* SPDX-License-Identifier: BSD-3-Clause */
/* The txn tests' fixture: a layer on its own event base whose sends are
 * captured, a scripted request handler, and request templates. */
#ifndef SIPCERT_TXN_FIXTURE_TEST_H
#define SIPCERT_TXN_FIXTURE_TEST_H

#include "test.h"
#include "txn/txn_int.h"

enum { FX_MAX_SENT = 1024, FX_MAX_RESP = 32 };

struct fx_sent {
	struct net_dest dest;
	char *data;
	size_t len;
	uint64_t at_ms; /* since fx_init */
};

enum fx_mode {
	FX_REPLY,  /* answer reply_status at once */
	FX_HOLD,   /* keep a reference in held, answer later */
	FX_IGNORE, /* never answer */
};

struct fx {
	struct event_base *base;
	struct txn_layer *l;
	uint64_t t0_ms;
	struct fx_sent sent[FX_MAX_SENT];
	size_t n_sent;
	int send_err;	       /* returned by the capture when non-zero */
	net_flow_id send_flow; /* reported as the flow used */
	/* the request handler */
	enum fx_mode mode;
	unsigned reply_status;
	unsigned n_requests;
	struct txn_srv *held;
	enum sip_method last_method;
	bool last_pending;
	/* the client callback */
	unsigned n_resp;
	int last_err;
	unsigned statuses[FX_MAX_RESP];
	bool free_layer_in_cb; /* txn_layer_free from the callback */
};

/* t1_ms with T2 = 4*T1 and T4 = 5*T1. */
int fx_init(struct fx *f, unsigned t1_ms);
/* has_sent_by false: no via_sent_by configured. */
int fx_init_opts(struct fx *f, unsigned t1_ms, bool has_sent_by);
void fx_fini(struct fx *f);
uint64_t fx_now_ms(void);
/* Run the loop for ms milliseconds. */
void fx_run_ms(struct fx *f, unsigned ms);
/* Receive msg from ip:port over proto (flow 7, local 198.51.100.1:5060). */
void fx_rx(struct fx *f, enum net_proto proto, const char *ip, uint16_t port,
	   const char *msg);
void fx_rx_len(struct fx *f, enum net_proto proto, const char *ip,
	       uint16_t port, const void *msg, size_t len);
void fx_set_addr(struct net_addr *a, const char *ip, uint16_t port);
/* Decode what was sent (UDP framing); NULL if it does not decode. */
struct sip_msg *fx_sent_msg(const struct fx *f, size_t i);
/* Status of a sent response; 0 for a request or garbage. */
unsigned fx_sent_status(const struct fx *f, size_t i);
/* Method of a sent request, or SIP_METHOD_OTHER. */
enum sip_method fx_sent_method(const struct fx *f, size_t i);
bool fx_sent_has(const struct fx *f, size_t i, const char *needle);
void fx_clear_sent(struct fx *f);

struct fx_req {
	const char *method;	 /* "MESSAGE" */
	const char *branch;	 /* NULL: no branch parameter */
	const char *call_id;	 /* NULL: "c1@example.test" */
	unsigned cseq;		 /* 0: 1 */
	const char *cseq_method; /* NULL: method */
	const char *to_tag;	 /* NULL: none */
	const char *sent_by;	 /* NULL: "192.0.2.10:5070" */
	const char *via_proto;	 /* NULL: "UDP" */
	bool has_rport;
	const char *ruri; /* NULL: "sip:alice@example.test" */
};

/* Format a request from the template into out (NUL-ended). */
const char *fx_fmt(char *out, size_t n, const struct fx_req *r);

/* The client callback (arg is the struct fx). */
void fx_on_resp(void *arg, int err, const struct sip_msg *resp);

#endif
