/* SPDX-License-Identifier: BSD-3-Clause */
/* The UA engine's internals shared by ua.c, req.c, auth.c and sub.c: the
 * engine object, next hops and the flows we opened (RFC 3263, RFC 5922
 * §7.3), requests in progress, digest state and incoming requests. */
#ifndef SIPCERT_UA_ENGINE_H
#define SIPCERT_UA_ENGINE_H

#include "ua/ua.h"

#define UA_LOG "ua"

enum {
	UA_NAME_MAX = 256,  /* host names, SNI, realms */
	UA_MAX_TARGETS = 8, /* RFC 3263 targets tried for one request */
	UA_MAX_ROUTES = 16, /* a dialog's route set */
	UA_MAX_REALMS = 4,  /* digest credentials in one request */
	UA_AUTH_ROUNDS = 4, /* stale=true renewals per realm, at most */
	UA_UDP_ROOM = 1100, /* larger requests go over TCP: the 1300 bytes
			     * of RFC 3261 §18.1.1 less room for Via */
};

/* A doubly linked list entry (container_of to the object). */
struct ua_link {
	struct ua_link *next;
	struct ua_link **pprev;
};

static inline void ua_link_add(struct ua_link **head, struct ua_link *l)
{
	l->next = *head;
	l->pprev = head;
	if (*head)
		(*head)->pprev = &l->next;
	*head = l;
}

static inline void ua_link_del(struct ua_link *l)
{
	if (!l->pprev)
		return;
	*l->pprev = l->next;
	if (l->next)
		l->next->pprev = l->pprev;
	l->next = NULL;
	l->pprev = NULL;
}

/* Where a request goes: the transport, the address and for TLS the name
 * the server's certificate must carry; flow is the stream it went over. */
struct ua_hop {
	enum net_proto proto;
	struct net_addr addr;
	char sni[UA_NAME_MAX]; /* "" without TLS */
	net_flow_id flow;      /* 0: none (UDP, or not yet sent) */
};

/* A stream flow we opened, so that its end can be told to the requests
 * riding on it and a refused TLS identity told apart (RFC 5922 §7.3). */
struct ua_flow {
	struct ua_link link;
	net_flow_id id;
	enum net_proto proto;
	struct net_addr addr;
	char sni[UA_NAME_MAX];
	bool is_checked;       /* TLS: tls_check_peer ran for it */
	bool is_refused;       /* ... and the certificate did not name sni */
	bool had_rx;	       /* something arrived over it */
	uint64_t tls_failures; /* net's count when it was opened */
};

/* Set around a callback into the user: ua_free() marks every guard, so
 * the code after the callback knows not to touch anything. */
struct ua_guard {
	struct ua_guard *next;
	bool is_dead;
};

/* An incoming request waiting for its handler (on_request or a
 * subscription's on_notify), which runs from the loop, not from net. */
struct ua_in {
	struct ua_link link;
	struct ua *u;
	struct txn_srv *st; /* referenced */
	struct ua_sub *sub; /* a NOTIFY of this subscription; NULL: none */
	bool is_notify;
	struct event *ev;
};

struct ua {
	struct ua_opts o; /* the strings point to the copies below */
	char *aor;
	char *username;
	char *password;
	size_t password_len;
	char *proxy;
	char *listen_host;
	char contact_user[UA_NAME_MAX]; /* the AOR's user or "anonymous" */
	char auth_user[UA_NAME_MAX];	/* username, or the AOR's user */
	/* the outbound proxy (RFC 3261 §8.1.2), when set */
	bool has_proxy;
	char proxy_host[UA_NAME_MAX]; /* IPv6 with its brackets */
	uint16_t proxy_port;	      /* 0: none given */
	int proxy_proto;	      /* -1: no transport parameter */
	bool proxy_sips;
	/* created with the listeners, at ua_new() or before the first send */
	struct net *net;
	struct txn_layer *txn;
	char bound_host[64];   /* the listening address, no brackets */
	uint16_t port;	       /* UDP and TCP alike */
	struct ua_link *txns;  /* struct ua_txn */
	struct ua_link *subs;  /* struct ua_sub */
	struct ua_link *ins;   /* struct ua_in */
	struct ua_link *flows; /* struct ua_flow */
	struct ua_guard *guards;
};

/* ---- ua.c ---------------------------------------------------------------- */

/* Listen (UDP and TCP on one port number) if not yet: host from the
 * options, else picked for the first target (loopback or any). */
int ua_net_ensure(struct ua *u, const struct net_addr *first);
/* The stream flow to hop (opened now when there is none alive): its id
 * into hop->flow. */
int ua_flow_get(struct ua *u, struct ua_hop *hop);
/* Our address toward hop for a Contact, as "host" or "[v6]". */
int ua_local_host(struct ua *u, const struct ua_hop *hop, char *out, size_t n);
/* The port we listen on (UDP and TCP), 0 before listening. */
uint16_t ua_port(const struct ua *u);

void ua_guard_push(struct ua *u, struct ua_guard *g);
/* False when u died during the callback (then touch nothing). */
bool ua_guard_pop(struct ua *u, struct ua_guard *g);

/* Deferred work on the loop: an event of u's base that fires once. */
struct event *ua_event_new(struct ua *u,
			   void (*fn)(evutil_socket_t, short, void *),
			   void *arg);
void ua_event_now(struct event *ev);
void ua_event_in_ms(struct event *ev, uint64_t ms);
uint64_t ua_t1_ms(const struct ua *u);

/* A random token of n - 1 hex digits, NUL-ended (cnonce, Call-ID). */
void ua_random_hex(char *out, size_t n);

/* ---- req.c: requests, targets, retries ------------------------------------
 */

/* What a request carries; copied by ua_txn_start(). */
struct ua_req_spec {
	const char *method;
	const char *ruri;
	const char *to;		   /* the To URI; NULL: ruri */
	const char *to_tag;	   /* in a dialog: the remote tag */
	const char *from_tag;	   /* NULL: a fresh one */
	const char *call_id;	   /* NULL: a fresh one */
	uint32_t cseq;		   /* 0: 1 */
	const char *const *routes; /* Route values in order (a route set) */
	size_t n_routes;
	const char *const *hdrs;
	size_t n_hdrs;
	const char *ctype;
	struct slice body;
	bool tls_only;
	bool with_contact;
	/* In a dialog: send to this hop (its flow while alive). */
	const struct ua_hop *hop;
	/* Filled with the hop and CSeq of each attempt (the caller's
	 * memory, which must outlive the request or cancel it). */
	struct ua_hop *hop_out;
	uint32_t *cseq_out;
};

/* The callback runs from the loop, never inside this call; after it the
 * request is gone. */
int ua_txn_start(struct ua *u, const struct ua_req_spec *s, ua_resp_cb *cb,
		 void *arg, struct ua_txn **out);
/* A stream flow closed: requests waiting on it fail (or move on). */
void ua_txn_flow_closed(struct ua *u, net_flow_id flow, int err);
/* ua_free(): every request, without callbacks. */
void ua_txn_free_all(struct ua *u);

/* ---- auth.c: digest answers (RFC 3261 §22.2, RFC 7616, RFC 8760) ------ */

struct ua_auth_cred {
	bool is_proxy; /* Proxy-Authorization (407) */
	char realm[UA_NAME_MAX];
	char nonce[UA_NAME_MAX];
	unsigned rounds;
	char *line; /* "Authorization: Digest ..." */
};

struct ua_auth {
	struct ua_auth_cred c[UA_MAX_REALMS];
	size_t n;
};

/* Answer the challenges of a 401/407 for a request with method and
 * Request-URI uri (and body, for auth-int): 0 when the request is to be
 * sent again with ua_auth_line()s; -EACCES when this response is final
 * (no password, the same nonce again without stale=true, nothing we can
 * answer); -ENOMEM. */
int ua_auth_answer(struct ua *u, struct ua_auth *a, const struct sip_msg *resp,
		   const char *method, const char *uri, struct slice body);
void ua_auth_fini(struct ua_auth *a);

/* ---- sub.c ----------------------------------------------------------------
 */

/* A NOTIFY arrived: the subscription it belongs to (RFC 6665 §4.1.2.4:
 * Call-ID, our tag, the notifier's tag once known, Event), or NULL. */
struct ua_sub *ua_sub_match(struct ua *u, const struct sip_msg *notify);
/* Its turn on the loop: on_notify, the answer, the state change. */
void ua_sub_notify(struct ua_sub *s, struct ua_in *in);
/* ua_free(): every subscription, without callbacks. */
void ua_sub_free_all(struct ua *u);

/* ua.c: done with an incoming request (unreference, unlink, free). */
void ua_in_free(struct ua_in *in);

#endif
