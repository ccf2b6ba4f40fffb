/* SPDX-License-Identifier: BSD-3-Clause */
/* dns lookups: RFC 3263 §4 for SIP URIs (NAPTR per §4.1 and RFC 3403 §4,
 * SRV per §4.2 in RFC 2782 order, A and AAAA), the _certificates._tcp SRV
 * of draft-jennings-sipping-certs §4 with its fallback, and plain A/AAAA. */
#include "dns_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 1035 §3.2.4 class IN; RFC 1035 §3.2.2 A, RFC 3596 §2.1 AAAA,
 * RFC 2782 SRV, RFC 3403 §4 NAPTR. */
enum {
	RR_CLASS_IN = 1,
	RR_TYPE_A = 1,
	RR_TYPE_AAAA = 28,
	RR_TYPE_SRV = 33,
	RR_TYPE_NAPTR = 35,
};

/* ---- errors and names ------------------------------------------------- */

static int ares_err(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
	case ARES_EBADNAME:
		return -ENOENT;
	case ARES_ETIMEOUT:
		return -ETIMEDOUT;
	case ARES_ECONNREFUSED:
		return -ECONNREFUSED;
	case ARES_ENOMEM:
		return -ENOMEM;
	default: /* EBADRESP, EFORMERR, ESERVFAIL, EREFUSED, ENOTIMP... */
		return -EPROTO;
	}
}

/* When nothing usable was found: the first error that says more than
 * "no such record". */
static int err_merge(int acc, int err)
{
	return acc == -ENOENT && err < 0 ? err : acc;
}

/* RFC 6761 §6.3: localhost and its subdomains are the loopback. */
static bool name_is_localhost(const char *name)
{
	struct slice s = dns_name_slice(name);
	struct slice tail = SLICE_LIT(".localhost");

	if (slice_caseeq_cstr(s, "localhost"))
		return true;
	return s.len > tail.len &&
	       slice_caseeq(slice_of(s.p + s.len - tail.len, tail.len), tail);
}

/* RFC 3261 §19.1.2: 5060, and 5061 for TLS. */
static uint16_t port_default(enum net_proto proto)
{
	return proto == NET_TLS ? PORT_SIPS : PORT_SIP;
}

/* ---- addresses (A and AAAA) ------------------------------------------- */

static void query_step(struct dns_query *q);

static void hop_put(struct hop *h, const struct net_addr *a)
{
	bool is_v4 = a->ss.ss_family == AF_INET;
	struct net_addr **v = is_v4 ? &h->v4 : &h->v6;
	size_t *n = is_v4 ? &h->n_v4 : &h->n_v6;
	struct net_addr *grown;

	if (*n >= MAX_TARGETS)
		return;
	grown = mem_realloc(*v, (*n + 1) * sizeof(**v));
	if (!grown) {
		h->err = err_merge(h->err, -ENOMEM);
		return;
	}
	*v = grown;
	grown[(*n)++] = *a;
}

static int hop_add(struct dns_query *q, enum net_proto proto, const char *host,
		   uint16_t port)
{
	struct hop *h;

	if (q->n_hops >= MAX_HOPS)
		return -EMSGSIZE;
	h = &q->hops[q->n_hops];
	memset(h, 0, sizeof(*h));
	if (dns_name_copy(h->host, host))
		return -EINVAL;
	h->q = q;
	h->proto = proto;
	h->port = port;
	h->err = -ENOENT;
	q->n_hops++;
	return 0;
}

static void addr_answer(struct hop *h, int family, int status,
			const unsigned char *abuf, int alen)
{
	struct dns_query *q = h->q;

	q->pending--;
	if (status == ARES_EDESTRUCTION)
		return; /* dns_free(): nothing more may start */
	if (status == ARES_SUCCESS && !q->is_cancelled) {
		struct net_addr a;
		int n = MAX_TARGETS;

		memset(&a, 0, sizeof(a));
		if (family == AF_INET) {
			struct ares_addrttl v[MAX_TARGETS];
			struct sockaddr_in *sin = (void *)&a.ss;

			status = ares_parse_a_reply(abuf, alen, NULL, v, &n);
			sin->sin_family = AF_INET;
			sin->sin_port = htons(h->port);
			a.len = sizeof(*sin);
			for (int i = 0; !status && i < n; i++) {
				sin->sin_addr = v[i].ipaddr;
				hop_put(h, &a);
			}
		} else {
			struct ares_addr6ttl v[MAX_TARGETS];
			struct sockaddr_in6 *sin6 = (void *)&a.ss;

			status = ares_parse_aaaa_reply(abuf, alen, NULL, v, &n);
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(h->port);
			a.len = sizeof(*sin6);
			for (int i = 0; !status && i < n; i++) {
				memcpy(&sin6->sin6_addr, &v[i].ip6addr,
				       sizeof(sin6->sin6_addr));
				hop_put(h, &a);
			}
		}
	}
	h->err = err_merge(h->err, ares_err(status));
	query_step(q);
}

static void on_a(void *arg, int status, int timeouts, unsigned char *abuf,
		 int alen)
{
	(void)timeouts;
	addr_answer(arg, AF_INET, status, abuf, alen);
}

static void on_aaaa(void *arg, int status, int timeouts, unsigned char *abuf,
		    int alen)
{
	(void)timeouts;
	addr_answer(arg, AF_INET6, status, abuf, alen);
}

static void hop_lookup(struct hop *h)
{
	struct dns *d = h->q->d;
	const struct override *o = dns_override_find(d, h->host, h->port);
	struct net_addr a;

	/* an override answers instead of DNS (curl's --resolve) */
	if (o) {
		hop_put(h, &o->addr);
		return;
	}
	if (!net_addr_parse(h->host, h->port, &a)) {
		hop_put(h, &a);
		return;
	}
	if (name_is_localhost(h->host)) {
		if (!net_addr_parse("127.0.0.1", h->port, &a))
			hop_put(h, &a);
		if (!net_addr_parse("::1", h->port, &a))
			hop_put(h, &a);
		return;
	}
	h->q->pending += 2;
	ares_query(d->ch, h->host, RR_CLASS_IN, RR_TYPE_A, on_a, h);
	ares_query(d->ch, h->host, RR_CLASS_IN, RR_TYPE_AAAA, on_aaaa, h);
}

static void addr_start(struct dns_query *q)
{
	q->stage = STAGE_ADDR;
	q->pending++; /* until every lookup has started */
	for (size_t i = 0; i < q->n_hops && !q->is_cancelled; i++)
		hop_lookup(&q->hops[i]);
	q->pending--;
	query_step(q);
}

/* Every target in hop order, IPv4 before IPv6 within a hop. */
static void addr_done(struct dns_query *q)
{
	int err = -ENOENT;

	for (size_t i = 0; i < q->n_hops; i++) {
		const struct hop *h = &q->hops[i];

		if (!h->n_v4 && !h->n_v6)
			err = err_merge(err, h->err);
		for (size_t k = 0;
		     k < h->n_v4 + h->n_v6 && q->n_t < MAX_TARGETS; k++) {
			struct dns_target *t = &q->t[q->n_t];

			t->proto = h->proto;
			t->addr = k < h->n_v4 ? h->v4[k] : h->v6[k - h->n_v4];
			memcpy(t->host, h->host, sizeof(t->host));
			q->n_t++;
		}
	}
	dns_query_finish(q, q->n_t ? 0 : err);
}

/* ---- SRV (RFC 2782) --------------------------------------------------- */

static void srv_add(struct dns_query *q, enum net_proto proto,
		    const char *prefix, const char *name)
{
	struct srv_name *s;
	int n;

	if (q->n_srv >= MAX_SRV_NAMES)
		return;
	s = &q->srv[q->n_srv++];
	memset(s, 0, sizeof(*s));
	s->q = q;
	s->proto = proto;
	s->err = -ENOENT;
	n = snprintf(s->name, sizeof(s->name), "%s%s", prefix, name);
	if (n < 0 || (size_t)n >= sizeof(s->name))
		s->name[0] = '\0'; /* longer than a name may be */
}

/* RFC 3263 §4.2 (and §4.1 for the list without NAPTR): _sips for TLS,
 * _sip otherwise. */
static void srv_add_for(struct dns_query *q, enum net_proto proto)
{
	static const char *const prefix[] = {
		[NET_UDP] = "_sip._udp.",
		[NET_TCP] = "_sip._tcp.",
		[NET_TLS] = "_sips._tcp.",
	};

	srv_add(q, proto, prefix[proto], q->host);
}

static void on_srv(void *arg, int status, int timeouts, unsigned char *abuf,
		   int alen)
{
	struct srv_name *s = arg;
	struct dns_query *q = s->q;

	(void)timeouts;
	q->pending--;
	if (status == ARES_EDESTRUCTION)
		return;
	if (status == ARES_SUCCESS && !q->is_cancelled)
		status = ares_parse_srv_reply(abuf, alen, &s->reply);
	s->err = ares_err(status);
	query_step(q);
}

static void srv_start(struct dns_query *q)
{
	q->stage = STAGE_SRV;
	q->pending++;
	for (size_t i = 0; i < q->n_srv && !q->is_cancelled; i++) {
		struct srv_name *s = &q->srv[i];

		if (!s->name[0])
			continue;
		q->pending++;
		ares_query(q->d->ch, s->name, RR_CLASS_IN, RR_TYPE_SRV, on_srv,
			   s);
	}
	q->pending--;
	query_step(q);
}

/* RFC 2782 "Usage rules": lowest priority first; within a priority,
 * records with weight 0 first, then repeatedly pick the first whose
 * running weight sum reaches a uniform random number in [0, sum]. */
static size_t srv_order(const struct ares_srv_reply *list,
			const struct ares_srv_reply **v)
{
	size_t n = 0;

	for (; list && n < MAX_RRS; list = list->next) {
		size_t i = n++;

		/* stable insertion by (priority, weight != 0) */
		while (i > 0 && (v[i - 1]->priority > list->priority ||
				 (v[i - 1]->priority == list->priority &&
				  v[i - 1]->weight && !list->weight))) {
			v[i] = v[i - 1];
			i--;
		}
		v[i] = list;
	}
	for (size_t lo = 0; lo < n;) {
		size_t hi = lo;

		while (hi < n && v[hi]->priority == v[lo]->priority)
			hi++;
		for (size_t a = lo; a + 1 < hi; a++) {
			const struct ares_srv_reply *pick;
			uint32_t sum = 0, run = 0, r;
			size_t k;

			for (k = a; k < hi; k++)
				sum += v[k]->weight;
			r = arc4random_uniform(sum + 1);
			for (k = a; k + 1 < hi; k++) {
				run += v[k]->weight;
				if (run >= r)
					break;
			}
			pick = v[k];
			memmove(&v[a + 1], &v[a], (k - a) * sizeof(*v));
			v[a] = pick;
		}
		lo = hi;
	}
	return n;
}

static void srv_done(struct dns_query *q)
{
	int err = -ENOENT;

	for (size_t i = 0; i < q->n_srv; i++) {
		struct srv_name *s = &q->srv[i];
		const struct ares_srv_reply *v[MAX_RRS];
		size_t n;

		if (s->err) {
			err = err_merge(err, s->err);
			continue;
		}
		n = srv_order(s->reply, v);
		for (size_t k = 0; k < n; k++) {
			/* RFC 2782: a Target of "." means the service is
			 * decidedly not available at this domain */
			if (!v[k]->host[0] || !strcmp(v[k]->host, ".")) {
				q->is_unavailable = true;
				continue;
			}
			(void)hop_add(q, s->proto, v[k]->host, v[k]->port);
		}
		/* the hops hold copies; free now, while the c-ares
		 * allocator hooks are surely in place */
		ares_free_data(s->reply);
		s->reply = NULL;
	}
	if (q->n_hops) {
		addr_start(q);
		return;
	}
	if (err != -ENOENT || q->is_unavailable || !q->has_fallback) {
		dns_query_finish(q, err);
		return;
	}
	/* RFC 3263 §4.2: no SRV record: A and AAAA of the name, with the
	 * transport determined before and its default port; for
	 * _certificates._tcp the fallback host (draft-jennings-sipping-
	 * certs §4) */
	if (hop_add(q, q->fallback_proto, q->host,
		    q->port ? q->port : port_default(q->fallback_proto))) {
		dns_query_finish(q, -ENOENT);
		return;
	}
	addr_start(q);
}

/* ---- NAPTR (RFC 3263 §4.1, RFC 3403 §4) ------------------------------ */

struct naptr_use {
	const struct ares_naptr_reply *rr;
	enum net_proto proto;
};

/* The records a SIP client may follow: flag "s" (the next lookup is SRV;
 * any other flag would need another NAPTR level, which we do not
 * follow), one of our services, and a replacement name. For a SIPS URI
 * only SIPS+D2T; for a SIP URI all three (RFC 3263 §4.1: a client that
 * supports TLS keeps the SIPS records). */
static bool naptr_usable(const struct dns_query *q,
			 const struct ares_naptr_reply *rr,
			 enum net_proto *proto)
{
	static const struct {
		const char *service;
		enum net_proto proto;
	} services[] = {
		{"SIPS+D2T", NET_TLS},
		{"SIP+D2T", NET_TCP},
		{"SIP+D2U", NET_UDP},
	};
	const char *flags = (const char *)rr->flags;

	if (!flags || char_lower((unsigned char)flags[0]) != 's' || flags[1] ||
	    !rr->replacement || !rr->replacement[0] ||
	    !strcmp(rr->replacement, "."))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(services); i++) {
		if (q->is_sips && services[i].proto != NET_TLS)
			continue;
		if (rr->service &&
		    slice_caseeq_cstr(slice_cstr((const char *)rr->service),
				      services[i].service)) {
			*proto = services[i].proto;
			return true;
		}
	}
	return false;
}

static void naptr_answer(struct dns_query *q, const unsigned char *abuf,
			 int alen)
{
	struct ares_naptr_reply *reply = NULL;
	struct naptr_use v[MAX_RRS];
	size_t n = 0;
	int status;

	status = ares_parse_naptr_reply(abuf, alen, &reply);
	q->naptr_err = ares_err(status);
	if (status)
		return;
	for (const struct ares_naptr_reply *rr = reply; rr && n < MAX_RRS;
	     rr = rr->next) {
		enum net_proto proto;
		size_t i = n;

		if (!naptr_usable(q, rr, &proto))
			continue;
		/* RFC 3403 §4.1: order first, then preference */
		while (i > 0 && (v[i - 1].rr->order > rr->order ||
				 (v[i - 1].rr->order == rr->order &&
				  v[i - 1].rr->preference > rr->preference))) {
			v[i] = v[i - 1];
			i--;
		}
		v[i].rr = rr;
		v[i].proto = proto;
		n++;
	}
	for (size_t i = 0; i < n; i++)
		srv_add(q, v[i].proto, "", v[i].rr->replacement);
	/* RFC 3263 §4.2: without SRV, the transport NAPTR chose */
	if (n)
		q->fallback_proto = v[0].proto;
	ares_free_data(reply);
}

static void on_naptr(void *arg, int status, int timeouts, unsigned char *abuf,
		     int alen)
{
	struct dns_query *q = arg;

	(void)timeouts;
	q->pending--;
	if (status == ARES_EDESTRUCTION)
		return;
	q->naptr_err = ares_err(status);
	if (status == ARES_SUCCESS && !q->is_cancelled)
		naptr_answer(q, abuf, alen);
	query_step(q);
}

static void naptr_done(struct dns_query *q)
{
	/* no answer at all: SRV and A would go unanswered too */
	if (q->naptr_err && q->naptr_err != -ENOENT) {
		dns_query_finish(q, q->naptr_err);
		return;
	}
	/* RFC 3263 §4.1: no (usable) NAPTR: SRV for each transport we
	 * support; all that answer are tried, TLS first */
	if (!q->n_srv) {
		srv_add_for(q, NET_TLS);
		if (!q->is_sips) {
			srv_add_for(q, NET_TCP);
			srv_add_for(q, NET_UDP);
		}
	}
	srv_start(q);
}

static void naptr_start(struct dns_query *q)
{
	q->stage = STAGE_NAPTR;
	q->pending++;
	/* on_naptr moves on (at once when c-ares answers at once) */
	ares_query(q->d->ch, q->host, RR_CLASS_IN, RR_TYPE_NAPTR, on_naptr, q);
}

/* ---- the lookups ------------------------------------------------------ */

/* After each answer: when the stage has nothing outstanding, move on. */
static void query_step(struct dns_query *q)
{
	if (q->pending || q->stage == STAGE_DONE)
		return;
	if (q->is_cancelled) {
		dns_query_free(q);
		return;
	}
	switch (q->stage) {
	case STAGE_NAPTR:
		naptr_done(q);
		break;
	case STAGE_SRV:
		srv_done(q);
		break;
	case STAGE_ADDR:
		addr_done(q);
		break;
	case STAGE_DONE:
		break;
	}
}

int dns_sip_resolve(struct dns *d, const struct dns_sip_req *r,
		    dns_targets_cb *cb, void *arg, struct dns_query **out)
{
	struct dns_query *q;
	enum net_proto proto;
	struct net_addr a;
	char host[NAME_BYTES];
	bool is_numeric;
	int err;

	if (!r || dns_name_copy(host, r->host) || r->proto < -1 ||
	    r->proto > NET_TLS)
		return -EINVAL;
	err = dns_query_new(&q, d, cb, arg);
	if (err)
		return err;
	memcpy(q->host, host, sizeof(host));
	q->is_sips = r->sips;
	is_numeric = !net_addr_parse(host, 0, &a);

	/* RFC 3263 §4.1: the transport parameter; else UDP for SIP and
	 * TCP (TLS) for SIPS with a numeric host or an explicit port. A
	 * SIPS URI is reached over TLS whatever it says (RFC 3261
	 * §26.2.2). */
	proto = r->proto >= 0 ? (enum net_proto)r->proto : NET_UDP;
	if (r->sips)
		proto = NET_TLS;
	q->fallback_proto = proto;
	q->has_fallback = true;

	/* RFC 3263 §4.2: a numeric host or an explicit port is used as
	 * is (the port defaulting for the transport) */
	if (is_numeric || r->port) {
		(void)hop_add(q, proto, host,
			      r->port ? r->port : port_default(proto));
		addr_start(q);
		return dns_query_started(q, out);
	}
	/* an override for the default port stands for the whole lookup */
	if (dns_override_find(d, host, port_default(proto))) {
		(void)hop_add(q, proto, host, port_default(proto));
		addr_start(q);
		return dns_query_started(q, out);
	}
	/* RFC 3263 §4.2: a transport given but no port: SRV of that
	 * transport only */
	if (r->proto >= 0) {
		srv_add_for(q, proto);
		srv_start(q);
		return dns_query_started(q, out);
	}
	naptr_start(q);
	return dns_query_started(q, out);
}

int dns_host_resolve(struct dns *d, const char *host, uint16_t port,
		     dns_targets_cb *cb, void *arg, struct dns_query **out)
{
	struct dns_query *q;
	int err;

	if (!host || !port || strlen(host) >= NAME_BYTES)
		return -EINVAL;
	err = dns_query_new(&q, d, cb, arg);
	if (err)
		return err;
	err = hop_add(q, NET_TCP, host, port);
	if (err) {
		dns_query_free(q);
		return err;
	}
	addr_start(q);
	return dns_query_started(q, out);
}

int dns_srv_resolve(struct dns *d, const char *srv_name,
		    const char *fallback_host, uint16_t fallback_port,
		    dns_targets_cb *cb, void *arg, struct dns_query **out)
{
	struct dns_query *q;
	char name[NAME_BYTES], host[NAME_BYTES];
	int err;

	if (dns_name_copy(name, srv_name))
		return -EINVAL;
	if (fallback_host &&
	    (!fallback_port || dns_name_copy(host, fallback_host)))
		return -EINVAL;
	err = dns_query_new(&q, d, cb, arg);
	if (err)
		return err;
	q->fallback_proto = NET_TCP;
	if (fallback_host) {
		q->has_fallback = true;
		memcpy(q->host, host, sizeof(host));
		q->port = fallback_port;
	}
	srv_add(q, NET_TCP, "", name);
	srv_start(q);
	return dns_query_started(q, out);
}
