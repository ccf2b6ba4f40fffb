/* SPDX-License-Identifier: BSD-3-Clause */
/* dns: c-ares driven by the libevent loop; RFC 3263 §4 (NAPTR, SRV, A and
 * AAAA) for SIP URIs, RFC 2782 SRV order, the _certificates._tcp lookup of
 * draft-jennings-sipping-certs §4, and curl-style static overrides. */
#include "dns.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#define DNS_LOG "dns"

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

/* RFC 1035 §3.2.4 class IN; RFC 1035 §3.2.2 A, RFC 3596 §2.1 AAAA,
 * RFC 2782 SRV, RFC 3403 §4 NAPTR. */
enum {
	RR_CLASS_IN = 1,
	RR_TYPE_A = 1,
	RR_TYPE_AAAA = 28,
	RR_TYPE_SRV = 33,
	RR_TYPE_NAPTR = 35,
};

_Static_assert(sizeof(((struct dns_target *)0)->host) == NAME_BYTES,
	       "a target's host holds any name we copy");

struct override {
	char host[NAME_BYTES]; /* lower case, no trailing dot */
	uint16_t port;
	struct net_addr addr;
};

/* One socket c-ares asked us to watch. */
struct dns_sock {
	struct dns_sock *next;
	ares_socket_t fd;
	struct event *ev;
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

/* ---- c-ares library: one set of allocator hooks for the process ------ */

static pthread_mutex_t lib_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned lib_users;

/* c-ares allocates through mem_* so the leak check and the OOM sweep see
 * its memory too. The hooks are global: set with the first channel,
 * restored by ares_library_cleanup() after the last. */
static int library_acquire(void)
{
	int rc = ARES_SUCCESS;

	pthread_mutex_lock(&lib_mu);
	if (!lib_users)
		rc = ares_library_init_mem(ARES_LIB_INIT_ALL, mem_alloc,
					   mem_free, mem_realloc);
	if (rc == ARES_SUCCESS)
		lib_users++;
	pthread_mutex_unlock(&lib_mu);
	return rc;
}

static void library_release(void)
{
	pthread_mutex_lock(&lib_mu);
	if (lib_users && !--lib_users)
		ares_library_cleanup();
	pthread_mutex_unlock(&lib_mu);
}

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

/* A name as the caller gave it: printable ASCII, no white space. */
static int name_copy(char out[NAME_BYTES], const char *name)
{
	size_t n;

	if (!name)
		return -EINVAL;
	n = strlen(name);
	if (!n || n >= NAME_BYTES)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= ' ' ||
		    (unsigned char)name[i] >= 0x7f)
			return -EINVAL;
	memcpy(out, name, n + 1);
	return 0;
}

/* Without one trailing dot: "example.com." is "example.com". */
static struct slice name_slice(const char *name)
{
	struct slice s = slice_cstr(name);

	if (s.len > 1 && s.p[s.len - 1] == '.')
		s.len--;
	return s;
}

static bool name_eq(const char *a, const char *b)
{
	return slice_caseeq(name_slice(a), name_slice(b));
}

/* RFC 6761 §6.3: localhost and its subdomains are the loopback. */
static bool name_is_localhost(const char *name)
{
	struct slice s = name_slice(name);
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

/* ---- overrides -------------------------------------------------------- */

static const struct override *override_find(const struct dns *d,
					    const char *host, uint16_t port)
{
	for (size_t i = 0; i < d->n_overrides; i++)
		if (d->overrides[i].port == port &&
		    name_eq(d->overrides[i].host, host))
			return &d->overrides[i];
	return NULL;
}

int dns_add_override(struct dns *d, const char *spec)
{
	struct override o;
	const char *c1, *c2;
	struct slice host;
	uint32_t port;
	char text[NAME_BYTES];

	if (!d || !spec)
		return -EINVAL;
	/* HOST:PORT:ADDRESS; the address may hold colons (IPv6) */
	c1 = strchr(spec, ':');
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2 || (size_t)(c1 - spec) >= sizeof(text))
		return -EINVAL;
	memcpy(text, spec, (size_t)(c1 - spec));
	text[c1 - spec] = '\0';
	memset(&o, 0, sizeof(o));
	if (name_copy(o.host, text))
		return -EINVAL;
	host = name_slice(o.host);
	for (size_t i = 0; i < host.len; i++)
		o.host[i] = (char)char_lower((unsigned char)o.host[i]);
	o.host[host.len] = '\0';
	if (slice_u32(slice_of(c1 + 1, (size_t)(c2 - c1 - 1)), UINT16_MAX,
		      &port) ||
	    !port)
		return -EINVAL;
	o.port = (uint16_t)port;
	if (net_addr_parse(c2 + 1, o.port, &o.addr))
		return -EINVAL;

	/* a later spec for the same HOST:PORT replaces the earlier */
	for (size_t i = 0; i < d->n_overrides; i++) {
		if (d->overrides[i].port == o.port &&
		    !strcmp(d->overrides[i].host, o.host)) {
			d->overrides[i] = o;
			return 0;
		}
	}
	if (d->n_overrides >= MAX_OVERRIDES)
		return -EMSGSIZE;
	{
		struct override *v = mem_realloc(
			d->overrides, (d->n_overrides + 1) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->overrides = v;
	}
	d->overrides[d->n_overrides++] = o;
	return 0;
}

/* ---- driving c-ares from the loop ------------------------------------- */

static void timer_rearm(struct dns *d)
{
	struct timeval tv;

	if (ares_timeout(d->ch, NULL, &tv))
		evtimer_add(d->timer, &tv);
	else
		evtimer_del(d->timer);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	(void)fd;
	(void)what;
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	timer_rearm(d);
}

static void on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	/* may close this socket and free this event: libevent allows
	 * event_free() of the running event from its callback */
	ares_process_fd(d->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	timer_rearm(d);
}

static void sock_drop(struct dns_sock **pp)
{
	struct dns_sock *s = *pp;

	*pp = s->next;
	if (s->ev)
		event_free(s->ev);
	mem_free(s);
}

/* ARES_OPT_SOCK_STATE_CB: one persistent event per socket, for the
 * directions c-ares waits on; none means the socket is being closed. */
static void on_sock_state(void *data, ares_socket_t fd, int readable,
			  int writable)
{
	struct dns *d = data;
	struct dns_sock **pp = &d->socks, *s;
	short what =
		(short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

	while (*pp && (*pp)->fd != fd)
		pp = &(*pp)->next;
	if (!what) {
		if (*pp)
			sock_drop(pp);
		return;
	}
	s = *pp;
	if (!s) {
		s = mem_zalloc(sizeof(*s));
		if (!s)
			goto fail;
		s->fd = fd;
		s->next = d->socks;
		d->socks = s;
	}
	if (s->ev)
		event_free(s->ev);
	s->ev = event_new(d->base, fd, what | EV_PERSIST, on_sock, d);
	if (s->ev && !event_add(s->ev, NULL))
		return;
fail:
	/* the queries on this socket end by c-ares's timeout */
	log_msg(LOG_LEVEL_ERR, DNS_LOG, "cannot watch socket %d", (int)fd);
}

/* ---- queries ---------------------------------------------------------- */

static void query_step(struct dns_query *q);

static void query_unlink(struct dns_query *q)
{
	if (!q->pprev)
		return;
	if (q->next)
		q->next->pprev = q->pprev;
	*q->pprev = q->next;
	q->pprev = NULL;
	q->next = NULL;
}

static void query_free(struct dns_query *q)
{
	query_unlink(q);
	if (q->done_ev)
		event_free(q->done_ev);
	for (size_t i = 0; i < q->n_srv; i++)
		if (q->srv[i].reply)
			ares_free_data(q->srv[i].reply);
	for (size_t i = 0; i < q->n_hops; i++) {
		mem_free(q->hops[i].v4);
		mem_free(q->hops[i].v6);
	}
	mem_free(q);
}

static void query_finish(struct dns_query *q, int err)
{
	q->err = err;
	q->stage = STAGE_DONE;
	/* never from inside the call that started the query, nor from
	 * inside ares_process_fd(): the caller may dns_free() in its
	 * callback */
	event_active(q->done_ev, EV_TIMEOUT, 1);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	(void)fd;
	(void)what;
	query_unlink(q);
	q->is_calling_back = true;
	if (!q->is_cancelled)
		q->cb(q->arg, q->err, q->err ? NULL : q->t,
		      q->err ? 0 : q->n_t);
	query_free(q);
}

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
	if (name_copy(h->host, host))
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
	const struct override *o = override_find(d, h->host, h->port);
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
	query_finish(q, q->n_t ? 0 : err);
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
		query_finish(q, err);
		return;
	}
	/* RFC 3263 §4.2: no SRV record: A and AAAA of the name, with the
	 * transport determined before and its default port; for
	 * _certificates._tcp the fallback host (draft-jennings-sipping-
	 * certs §4) */
	if (hop_add(q, q->fallback_proto, q->host,
		    q->port ? q->port : port_default(q->fallback_proto))) {
		query_finish(q, -ENOENT);
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
		query_finish(q, q->naptr_err);
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

/* After each answer: when the stage has nothing outstanding, move on. */
static void query_step(struct dns_query *q)
{
	if (q->pending || q->stage == STAGE_DONE)
		return;
	if (q->is_cancelled) {
		query_free(q);
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

static int query_new(struct dns_query **out, struct dns *d, dns_targets_cb *cb,
		     void *arg)
{
	struct dns_query *q;

	if (!d || !cb)
		return -EINVAL;
	q = mem_zalloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->done_ev = event_new(d->base, -1, 0, on_done, q);
	if (!q->done_ev) {
		mem_free(q);
		return -ENOMEM;
	}
	q->d = d;
	q->cb = cb;
	q->arg = arg;
	q->naptr_err = -ENOENT;
	q->next = d->queries;
	if (q->next)
		q->next->pprev = &q->next;
	q->pprev = &d->queries;
	d->queries = q;
	*out = q;
	return 0;
}

/* The query has started (and may be finished, its answer deferred). */
static int query_started(struct dns_query *q, struct dns_query **out)
{
	timer_rearm(q->d);
	if (out)
		*out = q;
	return 0;
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

	if (!r || name_copy(host, r->host) || r->proto < -1 ||
	    r->proto > NET_TLS)
		return -EINVAL;
	err = query_new(&q, d, cb, arg);
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
		return query_started(q, out);
	}
	/* an override for the default port stands for the whole lookup */
	if (override_find(d, host, port_default(proto))) {
		(void)hop_add(q, proto, host, port_default(proto));
		addr_start(q);
		return query_started(q, out);
	}
	/* RFC 3263 §4.2: a transport given but no port: SRV of that
	 * transport only */
	if (r->proto >= 0) {
		srv_add_for(q, proto);
		srv_start(q);
		return query_started(q, out);
	}
	naptr_start(q);
	return query_started(q, out);
}

int dns_host_resolve(struct dns *d, const char *host, uint16_t port,
		     dns_targets_cb *cb, void *arg, struct dns_query **out)
{
	struct dns_query *q;
	int err;

	if (!host || !port || strlen(host) >= NAME_BYTES)
		return -EINVAL;
	err = query_new(&q, d, cb, arg);
	if (err)
		return err;
	err = hop_add(q, NET_TCP, host, port);
	if (err) {
		query_free(q);
		return err;
	}
	addr_start(q);
	return query_started(q, out);
}

int dns_srv_resolve(struct dns *d, const char *srv_name,
		    const char *fallback_host, uint16_t fallback_port,
		    dns_targets_cb *cb, void *arg, struct dns_query **out)
{
	struct dns_query *q;
	char name[NAME_BYTES], host[NAME_BYTES];
	int err;

	if (name_copy(name, srv_name))
		return -EINVAL;
	if (fallback_host && (!fallback_port || name_copy(host, fallback_host)))
		return -EINVAL;
	err = query_new(&q, d, cb, arg);
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
	return query_started(q, out);
}

void dns_cancel(struct dns_query *q)
{
	if (!q)
		return;
	q->is_cancelled = true;
	/* outstanding c-ares requests still point at q: it is freed when
	 * the last one calls back (query_step) */
	if (!q->pending && !q->is_calling_back)
		query_free(q);
}

/* ---- the resolver ----------------------------------------------------- */

/* "ADDR[:PORT],..." as ares_set_servers_ports_csv() takes it, each entry
 * checked to be a numeric address: "192.0.2.1", "192.0.2.1:5353",
 * "2001:db8::1", "[2001:db8::1]:53". */
static int servers_csv(const char *in, struct buf *out)
{
	struct slice rest = slice_cstr(in);

	if (!rest.len)
		return -EINVAL;
	while (rest.len) {
		const char *comma = memchr(rest.p, ',', rest.len);
		struct slice e = slice_trim(slice_of(
			rest.p, comma ? (size_t)(comma - rest.p) : rest.len));
		struct slice host = e, port = SLICE_NULL;
		const char *colon = memchr(e.p, ':', e.len);
		char text[64], printed[64];
		uint32_t port_num = PORT_DNS;
		struct net_addr a;

		if (e.len && e.p[0] == '[') {
			const char *close = memchr(e.p, ']', e.len);

			if (!close)
				return -EINVAL;
			host = slice_of(e.p, (size_t)(close - e.p) + 1);
			if (host.len < e.len) {
				if (close[1] != ':')
					return -EINVAL;
				port = slice_of(close + 2,
						e.len - host.len - 1);
			}
		} else if (colon &&
			   !memchr(colon + 1, ':',
				   e.len - (size_t)(colon - e.p) - 1)) {
			host = slice_of(e.p, (size_t)(colon - e.p));
			port = slice_of(colon + 1,
					e.len - (size_t)(colon - e.p) - 1);
		}
		if (!host.len || host.len >= sizeof(text))
			return -EINVAL;
		if (port.p &&
		    (slice_u32(port, UINT16_MAX, &port_num) || !port_num))
			return -EINVAL;
		memcpy(text, host.p, host.len);
		text[host.len] = '\0';
		if (net_addr_parse(text, (uint16_t)port_num, &a))
			return -EINVAL;
		net_addr_print(&a, printed, sizeof(printed));
		if (out->len)
			buf_append_byte(out, ',');
		buf_append_cstr(out, printed);
		if (!comma)
			break;
		rest = slice_of(comma + 1,
				rest.len - (size_t)(comma + 1 - rest.p));
		if (!rest.len)
			return -EINVAL; /* a trailing comma */
	}
	return out->err;
}

static int channel_start(struct dns *d, const struct dns_opts *o,
			 const char *csv)
{
	struct ares_options ao;
	int rc;

	memset(&ao, 0, sizeof(ao));
	ao.timeout = (int)(o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS);
	ao.tries = (int)(o->tries ? o->tries : DEFAULT_TRIES);
	ao.sock_state_cb = on_sock_state;
	ao.sock_state_cb_data = d;
	rc = ares_init_options(&d->ch, &ao,
			       ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
				       ARES_OPT_SOCK_STATE_CB);
	if (rc != ARES_SUCCESS) {
		d->ch = NULL;
		goto fail;
	}
	if (csv) {
		rc = ares_set_servers_ports_csv(d->ch, csv);
		if (rc != ARES_SUCCESS)
			goto fail;
	}
	return 0;
fail:
	log_msg(LOG_LEVEL_ERR, DNS_LOG, "c-ares: %s", ares_strerror(rc));
	return rc == ARES_ENOMEM ? -ENOMEM : -EPROTO;
}

int dns_new(struct dns **out, const struct dns_opts *o)
{
	struct dns *d = NULL;
	struct buf csv;
	const char *servers = NULL;
	int err;

	if (!out || !o || !o->base || o->timeout_ms > INT32_MAX ||
	    o->tries > INT32_MAX)
		return -EINVAL;
	buf_init(&csv, MAX_SERVERS_BYTES);
	if (o->servers) {
		err = servers_csv(o->servers, &csv);
		if (!err)
			err = buf_cstr(&csv, &servers);
		if (err) {
			err = err == -ENOMEM ? -ENOMEM : -EINVAL;
			goto out;
		}
	}
	d = mem_zalloc(sizeof(*d));
	if (!d) {
		err = -ENOMEM;
		goto out;
	}
	d->base = o->base;
	d->timer = evtimer_new(d->base, on_timer, d);
	if (!d->timer) {
		err = -ENOMEM;
		goto out;
	}
	err = library_acquire();
	if (err) {
		log_msg(LOG_LEVEL_ERR, DNS_LOG, "c-ares: %s",
			ares_strerror(err));
		err = err == ARES_ENOMEM ? -ENOMEM : -EPROTO;
		goto out;
	}
	d->has_library = true;
	err = channel_start(d, o, servers);
out:
	buf_fini(&csv);
	if (err) {
		dns_free(d);
		return err;
	}
	*out = d;
	return 0;
}

void dns_free(struct dns *d)
{
	if (!d)
		return;
	/* c-ares calls each pending request back with ARES_EDESTRUCTION
	 * (ignored) and reports its sockets closed */
	if (d->ch)
		ares_destroy(d->ch);
	while (d->queries)
		query_free(d->queries);
	while (d->socks)
		sock_drop(&d->socks);
	if (d->timer)
		event_free(d->timer);
	if (d->has_library)
		library_release();
	mem_free(d->overrides);
	mem_free(d);
}
