/* SPDX-License-Identifier: BSD-3-Clause */
/* MESSAGE routing (RFC 3428 §4, §6; RFC 6072 §9.1): a MESSAGE for a user
 * of our domain is forwarded statefully (RFC 3261 §16) to that user's best
 * registered contact, and its final response is relayed back. */
#include "sipcertd.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#define PROXY_LOG "proxy"

enum {
	/* RFC 3428 §7 and RFC 3261 §18.1.1: what may travel over UDP */
	PROXY_UDP_MAX_BYTES = 1300,
	/* §16.6 step 3: a request without Max-Forwards gets this many */
	PROXY_MAX_FORWARDS = 70,
	/* room left for the Via txn_cli_start() inserts (its sent-by is at
	 * most 299 bytes, plus the branch and the parameter names) */
	PROXY_VIA_ROOM = 400,
};

/* One MESSAGE in flight: the sender's server transaction and ours. */
struct fwd {
	struct fwd *next;
	struct fwd **pprev;
	struct txn_srv *st;	/* our reference */
	struct txn_cli *cli;	/* NULL once it has given its final answer */
	struct event *deadline; /* the 480 before the guard's 500 */
	struct proxy_dest dest; /* holds the TLS name while it is sent */
	char target[64];	/* for the log: where it went */
};

struct proxy {
	struct fwd *fwds;
};

/* ---- pure pieces: choosing, addressing, rewriting ------------------------ */

static uint64_t registered_at(const struct binding *b)
{
	uint64_t life = (uint64_t)b->expires_s * 1000;

	return b->expires_at_ms > life ? b->expires_at_ms - life : 0;
}

const struct binding *proxy_binding_pick(const struct binding *b, size_t n)
{
	const struct binding *best = NULL;

	/* RFC 3261 §16.6 / §10.2.1.2: the highest q first; among equals the
	 * contact registered last is the one the user is most likely at */
	for (size_t i = 0; b && i < n; i++)
		if (!best || b[i].q > best->q ||
		    (b[i].q == best->q &&
		     registered_at(&b[i]) > registered_at(best)))
			best = &b[i];
	return best;
}

static void addr_set_port(struct net_addr *a, uint16_t port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)(void *)&a->ss)->sin_port = htons(port);
	else if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)&a->ss)->sin6_port =
			htons(port);
}

/* The Contact URI as a destination (RFC 3263 §4.1, §4.2 without DNS). */
static int contact_dest(const struct binding *b, bool need_stream,
			struct proxy_dest *d)
{
	struct sip_uri u;
	struct slice v, h;
	uint16_t port;
	char host[64];

	if (sip_uri_parse(slice_cstr(b->contact), &u))
		return -EBADMSG;
	if (u.scheme != SIP_URI_SIP && u.scheme != SIP_URI_SIPS)
		return -EPROTONOSUPPORT;
	/* §4.1: a sips: URI over TLS; else its transport parameter; else,
	 * for a sip: URI, UDP */
	d->nd.proto = NET_UDP;
	if (u.scheme == SIP_URI_SIPS) {
		d->nd.proto = NET_TLS;
	} else if (!sip_uri_param(&u, "transport", &v)) {
		if (slice_caseeq_cstr(v, "tcp"))
			d->nd.proto = NET_TCP;
		else if (slice_caseeq_cstr(v, "tls"))
			d->nd.proto = NET_TLS;
		else if (!slice_caseeq_cstr(v, "udp"))
			return -EPROTONOSUPPORT; /* SCTP, WS: not spoken */
	}
	/* RFC 3261 §18.1.1: too large for UDP goes over a stream */
	if (need_stream && d->nd.proto == NET_UDP)
		d->nd.proto = NET_TCP;
	port = u.has_port && u.port	? u.port
	       : d->nd.proto == NET_TLS ? 5061
					: 5060;
	h = u.host;
	if (u.host_type == SIP_HOST_IPV4 || u.host_type == SIP_HOST_IPV6) {
		if (u.host_type == SIP_HOST_IPV6) {
			h.p++;
			h.len -= 2;
		}
		if (h.len >= sizeof(host))
			return -EINVAL;
		memcpy(host, h.p, h.len);
		host[h.len] = '\0';
		return net_addr_parse(host, port, &d->nd.addr);
	}
	/* A name: sipcertd resolves none on this path (RFC 3263 would ask
	 * DNS). The host the REGISTER came from is where that user agent
	 * was, so it is asked at the Contact's port; TLS checks the name. */
	if (u.host_type != SIP_HOST_NAME || !b->src.peer.len ||
	    h.len >= sizeof(d->sni))
		return -EINVAL;
	d->nd.addr = b->src.peer;
	addr_set_port(&d->nd.addr, port);
	if (d->nd.proto == NET_TLS) {
		memcpy(d->sni, h.p, h.len);
		d->sni[h.len] = '\0';
	}
	return 0;
}

int proxy_binding_dest(const struct net *net, const struct binding *b,
		       bool need_stream, struct proxy_dest *out)
{
	struct proxy_dest d;
	int err;

	if (!b || !b->contact || !out)
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	/* Back over the flow the REGISTER came on while it lives (the user
	 * agent may sit behind a NAT that lets nothing else in); a UDP
	 * "flow" is our socket, sending to the address it came from. */
	if (net_flow_alive(net, b->src.flow) &&
	    !(need_stream && b->src.proto == NET_UDP)) {
		d.nd.proto = b->src.proto;
		d.nd.flow = b->src.flow;
		if (b->src.proto == NET_UDP)
			d.nd.addr = b->src.peer;
	} else {
		err = contact_dest(b, need_stream, &d);
		if (err)
			return err;
	}
	*out = d;
	out->nd.sni = out->sni[0] ? out->sni : NULL;
	return 0;
}

/* Is u this server: our domain or advertised host, or the address and
 * port the request reached us on? */
static bool names_us(const struct sip_uri *u, const struct proxy_self *self)
{
	struct slice h = u->host;
	struct slice v;
	struct net_addr a;
	char host[64], want[80], have[80];
	uint16_t port;

	for (size_t i = 0; i < ARRAY_SIZE(self->names); i++)
		if (self->names[i] && self->names[i][0] &&
		    slice_caseeq_cstr(h, self->names[i]))
			return true;
	if (!self->local ||
	    (u->host_type != SIP_HOST_IPV4 && u->host_type != SIP_HOST_IPV6))
		return false;
	if (u->host_type == SIP_HOST_IPV6) {
		h.p++;
		h.len -= 2;
	}
	if (h.len >= sizeof(host))
		return false;
	memcpy(host, h.p, h.len);
	host[h.len] = '\0';
	port = u->has_port && u->port ? u->port
	       : u->scheme == SIP_URI_SIPS ||
			       (!sip_uri_param(u, "transport", &v) &&
				slice_caseeq_cstr(v, "tls"))
		       ? 5061
		       : 5060;
	if (net_addr_parse(host, port, &a))
		return false;
	net_addr_print(&a, want, sizeof(want));
	net_addr_print(self->local, have, sizeof(have));
	return !strcmp(want, have);
}

int proxy_route_own(const struct sip_msg *req, const struct proxy_self *self,
		    size_t *n_own, size_t *n_all)
{
	size_t own = 0, all = 0;
	bool is_leading = true;

	if (!req || !self || !n_own || !n_all)
		return -EINVAL;
	for (const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_ROUTE); h;
	     h = sip_msg_hdr_next(req, h)) {
		struct scan s = scan_of(h->value);
		struct slice e;
		int rc;

		if (h->id != SIP_HDR_ROUTE)
			continue;
		while (!(rc = sip_list_next(&s, &e))) {
			struct sip_addr a;

			if (sip_addr_parse(e, &a))
				return -EBADMSG;
			all++;
			if (is_leading && names_us(&a.uri, self))
				own++;
			else
				is_leading = false;
		}
		if (rc != -ENOENT)
			return -EBADMSG;
	}
	*n_own = own;
	*n_all = all;
	return 0;
}

static int fail(struct buf *b, int err)
{
	if (!b->err)
		b->err = err;
	return b->err;
}

/* Where the header field whose value ends at p ends: after its line end
 * and any continuation lines, as sip_msg_decode() reads them. */
static const char *field_end(const char *p, const char *end)
{
	for (;;) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));

		if (!lf)
			return end;
		p = lf + 1;
		if (p >= end || (*p != ' ' && *p != '\t'))
			return p;
	}
}

static const char *hdr_end(const struct sip_msg *m, size_t i)
{
	const struct sip_hdr *h = &m->hdrs[i];

	if (i + 1 < m->n_hdrs)
		return m->hdrs[i + 1].name.p;
	return field_end(h->value.p + h->value.len, m->raw.p + m->raw.len);
}

static int count_values(struct slice v, size_t *n)
{
	struct scan s = scan_of(v);
	struct slice e;
	size_t k = 0;
	int rc;

	while (!(rc = sip_list_next(&s, &e)))
		k++;
	if (rc != -ENOENT)
		return -EBADMSG;
	*n = k;
	return 0;
}

/* h again, as written, without its first skip values. */
static int print_rest(struct buf *out, const struct sip_hdr *h, size_t skip)
{
	struct scan s = scan_of(h->value);
	struct slice e = SLICE_NULL;
	const char *end = h->value.p + h->value.len;

	for (size_t i = 0; i <= skip; i++)
		if (sip_list_next(&s, &e))
			return fail(out, -EBADMSG);
	buf_append_slice(out, h->name);
	buf_append(out, ": ", 2);
	buf_append(out, e.p, (size_t)(end - e.p));
	return buf_append(out, "\r\n", 2);
}

/* From the copied point to the end of the header block as received, the
 * fields sipcert adds, the empty line and the body, byte for byte. */
static int print_tail(struct buf *out, const struct sip_msg *m,
		      const char *copied, bool add_max_forwards)
{
	const char *end = hdr_end(m, m->n_hdrs - 1);

	buf_append(out, copied, (size_t)(end - copied));
	/* a datagram may end right after its last value */
	if (end[-1] != '\n')
		buf_append(out, "\r\n", 2);
	if (add_max_forwards)
		buf_printf(out, "Max-Forwards: %d\r\n", PROXY_MAX_FORWARDS);
	/* RFC 3261 §18.3: a stream needs it, and the next hop may be one */
	if (!m->has_content_length)
		buf_printf(out, "Content-Length: %zu\r\n", m->body.len);
	buf_append(out, "\r\n", 2);
	return buf_append_slice(out, m->body);
}

int proxy_request_print(struct buf *out, const struct sip_msg *req,
			struct slice target, size_t pop_routes)
{
	const char *copied;
	char method[32];

	if (!out)
		return -EINVAL;
	if (!req || !req->is_request || !req->n_hdrs ||
	    req->method.len >= sizeof(method) ||
	    (req->has_max_forwards && !req->max_forwards))
		return fail(out, -EINVAL);
	memcpy(method, req->method.p, req->method.len);
	method[req->method.len] = '\0';
	/* §16.6 step 2: the Request-URI becomes the target */
	sip_out_request_line(out, method, target);
	copied = req->hdrs[0].name.p;
	for (size_t i = 0; i < req->n_hdrs && !out->err; i++) {
		const struct sip_hdr *h = &req->hdrs[i];
		size_t n;

		if (h->id == SIP_HDR_MAX_FORWARDS) {
			/* §16.6 step 3 */
			buf_append(out, copied, (size_t)(h->name.p - copied));
			buf_printf(out, "%.*s: %u\r\n", SLICE_FMT(h->name),
				   (unsigned)req->max_forwards - 1);
			copied = hdr_end(req, i);
		} else if (h->id == SIP_HDR_ROUTE && pop_routes) {
			/* §16.4: the Route values that name us go */
			if (count_values(h->value, &n))
				return fail(out, -EBADMSG);
			buf_append(out, copied, (size_t)(h->name.p - copied));
			if (n > pop_routes)
				print_rest(out, h, pop_routes);
			pop_routes -= n < pop_routes ? n : pop_routes;
			copied = hdr_end(req, i);
		}
	}
	if (pop_routes)
		return fail(out, -EINVAL); /* more than the request has */
	return print_tail(out, req, copied, !req->has_max_forwards);
}

int proxy_response_print(struct buf *out, const struct sip_msg *resp)
{
	const char *copied;

	if (!out)
		return -EINVAL;
	if (!resp || resp->is_request || !resp->n_hdrs)
		return fail(out, -EINVAL);
	/* §16.7 step 3: with no Via left the response was for us alone */
	if (resp->n_via < 2)
		return -ENOENT;
	/* the status line as received (after any leading CRLFs, §7.5) */
	copied = resp->raw.p;
	while (*copied == '\r' || *copied == '\n')
		copied++;
	for (size_t i = 0; i < resp->n_hdrs; i++) {
		const struct sip_hdr *h = &resp->hdrs[i];
		size_t n;

		if (h->id != SIP_HDR_VIA)
			continue;
		if (count_values(h->value, &n))
			return fail(out, -EBADMSG);
		buf_append(out, copied, (size_t)(h->name.p - copied));
		if (n > 1)
			print_rest(out, h, 1);
		copied = hdr_end(resp, i);
		break;
	}
	return print_tail(out, resp, copied, false);
}

/* ---- the forward: server transaction in, client transaction out ---------- */

static void reply(struct txn_srv *st, unsigned status, const char *reason,
		  const char *hdr)
{
	const char *hdrs[1] = {hdr};
	struct txn_reply_opts o = {.hdrs = hdrs, .n_hdrs = hdr ? 1 : 0};

	if (txn_srv_is_pending(st))
		(void)txn_srv_reply(st, status, reason, &o);
}

static void fwd_free(struct fwd *f)
{
	if (f->pprev) {
		*f->pprev = f->next;
		if (f->next)
			f->next->pprev = f->pprev;
	}
	/* a client transaction still running finishes quietly */
	txn_cli_abandon(f->cli);
	if (f->deadline)
		event_free(f->deadline);
	txn_srv_unref(f->st);
	mem_free(f);
}

static void relay(struct fwd *f, const struct sip_msg *resp)
{
	struct buf b;
	int err;

	buf_init(&b, SIP_MAX_MSG_BYTES);
	err = proxy_response_print(&b, resp);
	if (!err)
		err = txn_srv_reply_raw(f->st, resp->status, b.p, b.len);
	buf_fini(&b);
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_msg(LOG_LEVEL_DEBUG, PROXY_LOG, "MESSAGE %.*s: %u from %s",
			SLICE_FMT(resp->call_id), resp->status, f->target);
	if (err) {
		log_msg(LOG_LEVEL_NOTICE, PROXY_LOG,
			"MESSAGE %.*s: %u from %s not relayed: %s",
			SLICE_FMT(resp->call_id), resp->status, f->target,
			strerror(-err));
		reply(f->st, 502, NULL, NULL);
	}
}

static void on_resp(void *arg, int err, const struct sip_msg *resp)
{
	struct fwd *f = arg;

	/* §16.7 step 5: a 100 stays here; RFC 4320 §4.1: no other
	 * provisional is sent to a non-INVITE either */
	if (!err && resp->status < 200)
		return;
	f->cli = NULL; /* gone after its final call */
	if (!err) {
		relay(f, resp);
	} else {
		log_msg(LOG_LEVEL_NOTICE, PROXY_LOG, "MESSAGE to %s: %s",
			f->target, strerror(-err));
		/* RFC 4320 §4.1: no 408 to a non-INVITE request (RFC
		 * 3261 §16.8 said so before); §16.9: a transport error */
		if (err == -ETIMEDOUT)
			reply(f->st, 480, "No answer from the recipient", NULL);
		else
			reply(f->st, 503, "Contact unreachable", NULL);
	}
	fwd_free(f);
}

/* The sender's server transaction answers 500 by itself at 64*T1, when
 * our Timer F, started a moment later, has not fired yet. A definite
 * answer is therefore sent one T1 earlier and the client transaction left
 * to finish quietly; a response in that last T1 is lost. It is 480, not
 * the 408 of RFC 3261 §16.8: RFC 4320 §4.1 forbids a transaction-stateful
 * element to send 408 to a non-INVITE request. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct fwd *f = arg;

	(void)fd;
	(void)what;
	log_msg(LOG_LEVEL_NOTICE, PROXY_LOG, "MESSAGE to %s: no answer",
		f->target);
	reply(f->st, 480, "No answer from the recipient", NULL);
	fwd_free(f);
}

static int cli_start(struct sipcertd *d, struct fwd *f, const struct buf *b)
{
	struct txn_cli_opts o = {
		.dest = f->dest.nd,
		.data = b->p,
		.len = b->len,
		.on_resp = on_resp,
		.arg = f,
	};

	if (f->dest.nd.flow && !f->dest.nd.addr.len)
		snprintf(f->target, sizeof(f->target), "%s flow %llu",
			 net_proto_name(f->dest.nd.proto),
			 (unsigned long long)f->dest.nd.flow);
	else
		net_addr_print(&f->dest.nd.addr, f->target, sizeof(f->target));
	return txn_cli_start(d->txn, &o, &f->cli);
}

/* The Request-URI for a Contact: without its headers part, which a
 * Request-URI may not carry (RFC 3261 §19.1.5). */
static struct slice contact_target(const char *contact)
{
	struct slice c = slice_cstr(contact);
	struct sip_uri u;

	if (!sip_uri_parse(c, &u) && u.headers.p)
		c.len = (size_t)(u.headers.p - 1 - c.p);
	return c;
}

/* §16.6: one target, the binding b; pop_routes Route values named us. */
static void forward(struct sipcertd *d, struct txn_srv *st,
		    const struct binding *b, size_t pop_routes)
{
	const struct sip_msg *m = txn_srv_msg(st);
	uint32_t t1_ms = d->cfg.sip.t1_ms ? d->cfg.sip.t1_ms : TXN_T1_MS;
	uint64_t wait_ms = 63 * (uint64_t)t1_ms;
	struct timeval tv = {(time_t)(wait_ms / 1000),
			     (suseconds_t)(wait_ms % 1000) * 1000};
	struct fwd *f;
	struct buf out;
	bool is_too_big;
	int err;

	if (!d->proxy) {
		d->proxy = mem_zalloc(sizeof(*d->proxy));
		if (!d->proxy) {
			reply(st, 500, NULL, NULL);
			return;
		}
	}
	f = mem_zalloc(sizeof(*f));
	if (!f) {
		reply(st, 500, NULL, NULL);
		return;
	}
	f->deadline = evtimer_new(d->base, on_deadline, f);
	if (!f->deadline) {
		mem_free(f);
		reply(st, 500, NULL, NULL);
		return;
	}
	err = proxy_binding_dest(d->net, b, false, &f->dest);
	if (err) {
		log_msg(LOG_LEVEL_NOTICE, PROXY_LOG, "MESSAGE to %s: %s",
			b->contact, strerror(-err));
		reply(st, 480, "Contact unreachable", NULL);
		fwd_free(f);
		return;
	}
	buf_init(&out, SIP_MAX_MSG_BYTES - PROXY_VIA_ROOM);
	err = proxy_request_print(&out, m, contact_target(b->contact),
				  pop_routes);
	is_too_big = out.err == -EMSGSIZE;
	if (!err)
		err = cli_start(d, f, &out);
	if (err == -EMSGSIZE && !is_too_big && f->dest.nd.proto == NET_UDP) {
		/* RFC 3261 §18.1.1: too large for UDP, so a stream to the
		 * Contact (net refuses datagrams over 1300 bytes) */
		err = proxy_binding_dest(d->net, b, true, &f->dest);
		if (!err)
			err = cli_start(d, f, &out);
	}
	buf_fini(&out);
	if (err) {
		log_msg(LOG_LEVEL_NOTICE, PROXY_LOG, "MESSAGE to %s: %s",
			b->contact, strerror(-err));
		if (is_too_big)
			reply(st, 513, NULL, NULL);
		else if (err == -ENOMEM)
			reply(st, 500, NULL, NULL);
		else
			reply(st, 503, "Contact unreachable", NULL);
		fwd_free(f);
		return;
	}
	f->st = txn_srv_ref(st);
	f->next = d->proxy->fwds;
	if (f->next)
		f->next->pprev = &f->next;
	f->pprev = &d->proxy->fwds;
	d->proxy->fwds = f;
	(void)evtimer_add(f->deadline, &tv);
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_msg(LOG_LEVEL_DEBUG, PROXY_LOG, "MESSAGE %.*s to %s via %s",
			SLICE_FMT(m->call_id), b->contact, f->target);
}

/* RFC 3261 §16.3 step 5: the extensions a proxy must know. Require is the
 * recipient's business and goes through untouched. */
static bool require_checked(struct txn_srv *st, const struct sip_msg *m)
{
	struct buf unsup;
	const char *line;
	bool ok;

	buf_init(&unsup, 1024);
	for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_PROXY_REQUIRE); h;
	     h = sip_msg_hdr_next(m, h)) {
		struct scan s = scan_of(h->value);
		struct slice tag;

		if (h->id != SIP_HDR_PROXY_REQUIRE)
			continue;
		/* "sipsec" is the one tag sipcertd knows (dispatch.c) */
		while (!sip_list_next(&s, &tag))
			if (!slice_caseeq_cstr(tag, "sipsec"))
				buf_printf(&unsup, "%s%.*s",
					   unsup.len ? ", " : "Unsupported: ",
					   SLICE_FMT(tag));
	}
	ok = !unsup.len && !unsup.err;
	if (!ok)
		reply(st, 420, NULL,
		      !unsup.err && !buf_cstr(&unsup, &line) ? line : NULL);
	buf_fini(&unsup);
	return ok;
}

void proxy_message(struct sipcertd *d, struct txn_srv *st)
{
	const struct sip_msg *m = txn_srv_msg(st);
	const struct txn_source *src = txn_srv_source(st);
	const struct proxy_self self = {
		.names = {d->cfg.domain.name, d->cfg.sip.advertised_host},
		.local = &src->local,
	};
	const struct binding *b;
	size_t n, n_own, n_all;
	char aor[256];

	/* RFC 3428 §7: at most 1300 bytes unless every hop is congestion
	 * safe; one that came over UDP was not */
	if (src->proto == NET_UDP && m->raw.len > PROXY_UDP_MAX_BYTES) {
		reply(st, 513, NULL, NULL);
		return;
	}
	/* §16.3 step 2: a scheme we can route (sipsec: is the tunnel's) */
	if (m->ruri.scheme != SIP_URI_SIP && m->ruri.scheme != SIP_URI_SIPS) {
		reply(st, 416, NULL, NULL);
		return;
	}
	/* §16.3 step 3 */
	if (m->has_max_forwards && !m->max_forwards) {
		reply(st, 483, NULL, NULL);
		return;
	}
	if (!require_checked(st, m))
		return;
	/* §16.4: Route values naming us go; one naming anyone else would
	 * make us relay */
	if (proxy_route_own(m, &self, &n_own, &n_all)) {
		reply(st, 400, "Malformed Route", NULL);
		return;
	}
	/* §16.5: the targets are the bindings of a user of our domain; a
	 * MESSAGE for anywhere else is refused (no open relay) */
	if (n_own < n_all ||
	    !slice_caseeq_cstr(m->ruri.host, d->cfg.domain.name)) {
		reply(st, 403, "Relaying denied", NULL);
		return;
	}
	if (!m->ruri.user.p || auth_uri_aor(&m->ruri, aor, sizeof(aor)) ||
	    !userdb_find(d->users, slice_cstr(aor))) {
		reply(st, 404, "No such user", NULL);
		return;
	}
	b = registrar_lookup(d->registrar, aor, &n);
	b = proxy_binding_pick(b, n);
	if (!b) {
		/* RFC 3261 §21.4.18: a user of ours, registered nowhere */
		reply(st, 480, NULL, NULL);
		return;
	}
	forward(d, st, b, n_own);
}

void proxy_stop(struct sipcertd *d)
{
	if (!d || !d->proxy)
		return;
	while (d->proxy->fwds)
		fwd_free(d->proxy->fwds);
	mem_free(d->proxy);
	d->proxy = NULL;
}
