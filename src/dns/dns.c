/* SPDX-License-Identifier: BSD-3-Clause */
/* dns: the resolver: c-ares driven by the libevent loop (allocator hooks,
 * sockets, timer), name servers, names, curl-style static overrides and the
 * life of a query; the lookups (RFC 3263 §4, RFC 2782) are in resolve.c. */
#include "dns_int.h"

#include <pthread.h>
#include <string.h>

#define DNS_LOG "dns"

/* One socket c-ares asked us to watch. */
struct dns_sock {
	struct dns_sock *next;
	ares_socket_t fd;
	struct event *ev;
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

/* ---- names ------------------------------------------------------------ */

/* A name as the caller gave it: printable ASCII, no white space. */
int dns_name_copy(char out[NAME_BYTES], const char *name)
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
struct slice dns_name_slice(const char *name)
{
	struct slice s = slice_cstr(name);

	if (s.len > 1 && s.p[s.len - 1] == '.')
		s.len--;
	return s;
}

static bool name_eq(const char *a, const char *b)
{
	return slice_caseeq(dns_name_slice(a), dns_name_slice(b));
}

/* ---- overrides -------------------------------------------------------- */

const struct override *dns_override_find(const struct dns *d, const char *host,
					 uint16_t port)
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
	if (dns_name_copy(o.host, text))
		return -EINVAL;
	host = dns_name_slice(o.host);
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

void dns_query_free(struct dns_query *q)
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

void dns_query_finish(struct dns_query *q, int err)
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
	dns_query_free(q);
}

int dns_query_new(struct dns_query **out, struct dns *d, dns_targets_cb *cb,
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
int dns_query_started(struct dns_query *q, struct dns_query **out)
{
	timer_rearm(q->d);
	if (out)
		*out = q;
	return 0;
}

void dns_cancel(struct dns_query *q)
{
	if (!q)
		return;
	q->is_cancelled = true;
	/* outstanding c-ares requests still point at q: it is freed when
	 * the last one calls back (query_step) */
	if (!q->pending && !q->is_calling_back)
		dns_query_free(q);
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
		dns_query_free(d->queries);
	while (d->socks)
		sock_drop(&d->socks);
	if (d->timer)
		event_free(d->timer);
	if (d->has_library)
		library_release();
	mem_free(d->overrides);
	mem_free(d);
}
