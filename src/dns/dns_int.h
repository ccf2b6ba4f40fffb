/* SPDX-License-Identifier: BSD-3-Clause */
/* dns internals shared by dns.c and resolve.c: limits, the resolver and
 * query state, and what the lookups use from dns.c (names, overrides, the
 * life of a query). Private to src/dns/. */
#ifndef SIPCERT_DNS_INT_H
#define SIPCERT_DNS_INT_H

#include "dns.h"

#include <ares.h>

enum {
	MAX_TARGETS = 16,	/* targets handed to the caller */
	MAX_HOPS = MAX_TARGETS, /* (proto, host, port) looked up */
	MAX_SRV_NAMES = 6,	/* SRV names one resolution asks for */
	MAX_RRS = 32,		/* NAPTR or SRV records of one name used */
	MAX_OVERRIDES = 1024,
	MAX_SERVERS_BYTES = 4096,
	NAME_BYTES = 256,
	DEFAULT_TIMEOUT_MS = 2000,
	DEFAULT_TRIES = 2,
	PORT_DNS = 53,
	PORT_SIP = 5060,
	PORT_SIPS = 5061,
};

_Static_assert(sizeof(((struct dns_target *)0)->host) == NAME_BYTES,
	       "a target's host holds any name we copy");

struct override {
	char host[NAME_BYTES]; /* lower case, no trailing dot */
	uint16_t port;
	struct net_addr addr;
};

struct dns {
	struct event_base *base;
	ares_channel ch;
	struct event *timer; /* re-armed from ares_timeout() */
	struct dns_sock *socks;
	struct dns_query *queries;
	struct override *overrides;
	size_t n_overrides;
	bool has_library;
};

enum query_stage {
	STAGE_NAPTR,
	STAGE_SRV,
	STAGE_ADDR,
	STAGE_DONE,
};

struct srv_name {
	struct dns_query *q;
	enum net_proto proto;
	char name[NAME_BYTES]; /* empty: too long to ask */
	struct ares_srv_reply *reply;
	int err;
};

/* A host and port whose A and AAAA records become targets. */
struct hop {
	struct dns_query *q;
	enum net_proto proto;
	char host[NAME_BYTES];
	uint16_t port;
	struct net_addr *v4, *v6;
	size_t n_v4, n_v6;
	int err;
};

struct dns_query {
	struct dns *d;
	struct dns_query *next, **pprev; /* pprev NULL: not in d->queries */
	dns_targets_cb *cb;
	void *arg;
	struct event *done_ev; /* delivers the answer from the loop */
	enum query_stage stage;
	/* c-ares requests not called back yet, plus one while a stage
	 * starts its requests (some call back at once) */
	unsigned pending;
	bool is_cancelled;
	bool is_calling_back;
	bool is_unavailable; /* an SRV target "." (RFC 2782) */
	bool is_sips;
	int naptr_err;
	int err;
	/* where the A/AAAA fallback goes when there is no SRV record */
	char host[NAME_BYTES];
	uint16_t port; /* 0: the default port of fallback_proto */
	bool has_fallback;
	enum net_proto fallback_proto;
	struct srv_name srv[MAX_SRV_NAMES];
	size_t n_srv;
	struct hop hops[MAX_HOPS];
	size_t n_hops;
	struct dns_target t[MAX_TARGETS];
	size_t n_t;
};

/* ---- dns.c ------------------------------------------------------------ */

/* A name as the caller gave it: printable ASCII, no white space. */
int dns_name_copy(char out[NAME_BYTES], const char *name);
/* Without one trailing dot: "example.com." is "example.com". */
struct slice dns_name_slice(const char *name);

/* The override for host (case-insensitive, trailing dot or not) and port,
 * or NULL. */
const struct override *dns_override_find(const struct dns *d, const char *host,
					 uint16_t port);

/* A query on d->queries, its answer delivered from the loop. */
int dns_query_new(struct dns_query **out, struct dns *d, dns_targets_cb *cb,
		  void *arg);
void dns_query_free(struct dns_query *q);
/* Done with err (0: q->t holds q->n_t targets); the callback runs from
 * the loop, never from inside this call. */
void dns_query_finish(struct dns_query *q, int err);
/* The query has started: re-arm the c-ares timer, set *out. Returns 0. */
int dns_query_started(struct dns_query *q, struct dns_query **out);

#endif
