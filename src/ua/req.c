/* SPDX-License-Identifier: BSD-3-Clause */
/* Requests we originate (RFC 3261 §8.1): building them, their targets by
 * outbound proxy or RFC 3263 §4, sending over txn, the digest round
 * (§22.2) and failing over to the next target (RFC 3263 §4.3). */
#include "ua/engine.h"

#include <string.h>

#ifdef SIPCERT_VERSION_STRING
#define UA_USER_AGENT "sipcert/" SIPCERT_VERSION_STRING
#else
#define UA_USER_AGENT "sipcert"
#endif

enum txn_state {
	T_START, /* deferred: resolve, then send */
	T_WAIT,	 /* resolving, or a transaction in progress */
	T_GOT,	 /* deferred: a final answer or an error to act on */
	T_DONE,	 /* deferred: tell the owner */
};

struct ua_txn {
	struct ua_link link; /* in u->txns */
	struct ua *u;
	struct arena arena; /* the copies below */
	const char *method, *ruri, *to, *to_tag, *from_tag, *call_id, *ctype;
	const char **routes;
	size_t n_routes;
	const char **hdrs;
	size_t n_hdrs;
	struct slice body;
	bool tls_only, with_contact;
	uint32_t cseq;
	/* the Request-URI's host, port, transport for RFC 3263 */
	char host[UA_NAME_MAX];
	uint16_t port;
	int proto;
	bool sips;
	struct ua_hop targets[UA_MAX_TARGETS];
	size_t n_targets, i_target;
	bool has_fixed_hop;
	struct ua_hop *hop_out;
	uint32_t *cseq_out;
	struct dns_query *dq;
	struct txn_cli *cli;
	struct ua_hop cur; /* where the transaction in progress went */
	struct ua_auth auth;
	struct event *ev;
	enum txn_state state;
	int err;	     /* T_GOT, T_DONE */
	struct sip_msg *got; /* ours: a copy of the final response */
	int last_err;
	ua_resp_cb *cb;
	void *arg;
};

static const char *const tp_names[] = {
	[NET_UDP] = "udp", [NET_TCP] = "tcp", [NET_TLS] = "tls"};

/* ---- building -------------------------------------------------------------
 */

/* One "Name: value" line of the caller through the serializer, which
 * refuses names that are not tokens and values that would break the
 * line (header injection). */
static int append_line(struct buf *b, const char *line)
{
	const char *colon = strchr(line, ':');
	struct slice name;
	char n[64];

	if (!colon)
		return b->err ? b->err : (b->err = -EINVAL);
	name = slice_trim(slice_of(line, (size_t)(colon - line)));
	if (!name.len || name.len >= sizeof(n))
		return b->err ? b->err : (b->err = -EINVAL);
	memcpy(n, name.p, name.len);
	n[name.len] = '\0';
	return sip_out_hdr(b, n, slice_trim(slice_cstr(colon + 1)));
}

static int build(struct ua_txn *t, const struct ua_hop *hop, struct buf *b)
{
	struct ua *u = t->u;
	char host[80];
	int err;

	sip_out_request_line(b, t->method, slice_cstr(t->ruri));
	/* RFC 3261 §8.1.1.6 */
	sip_out_hdr_cstr(b, "Max-Forwards", "70");
	/* §8.1.1.3: a fresh tag; RFC 3323 §4.1.1.3 for anonymity */
	if (u->aor)
		sip_out_hdrf(b, "From", "<%s>;tag=%s", u->aor, t->from_tag);
	else
		sip_out_hdrf(b, "From",
			     "\"Anonymous\" <sip:anonymous@anonymous.invalid>"
			     ";tag=%s",
			     t->from_tag);
	/* §8.1.1.2: no tag outside a dialog; §12.2.1.1 the remote one in */
	if (t->to_tag)
		sip_out_hdrf(b, "To", "<%s>;tag=%s", t->to, t->to_tag);
	else
		sip_out_hdrf(b, "To", "<%s>", t->to);
	sip_out_hdr_cstr(b, "Call-ID", t->call_id);
	sip_out_hdrf(b, "CSeq", "%u %s", (unsigned)t->cseq, t->method);
	/* §12.2.1.1: a dialog's route set; the outbound proxy is a next
	 * hop only, never a Route (it is the registrar and notifier) */
	for (size_t i = 0; i < t->n_routes; i++)
		sip_out_hdr_cstr(b, "Route", t->routes[i]);
	if (t->with_contact) {
		/* RFC 6665 §4.1.2.1, RFC 3261 §10.2.1: where we are reached
		 * over the transport this request uses */
		err = ua_local_host(u, hop, host, sizeof(host));
		if (err)
			return b->err ? b->err : (b->err = err);
		sip_out_hdrf(b, "Contact", "<sip:%s@%s:%u;transport=%s>",
			     u->contact_user, host, u->port,
			     tp_names[hop->proto]);
	}
	for (size_t i = 0; i < t->auth.n; i++)
		append_line(b, t->auth.c[i].line);
	sip_out_hdr_cstr(b, "User-Agent", UA_USER_AGENT);
	for (size_t i = 0; i < t->n_hdrs; i++)
		append_line(b, t->hdrs[i]);
	return sip_out_body(b, t->ctype, t->body);
}

/* ---- the steps ------------------------------------------------------------
 */

static void finish(struct ua_txn *t, int err, struct sip_msg *resp)
{
	t->state = T_DONE;
	t->err = err;
	sip_msg_free(t->got);
	t->got = resp;
	ua_event_now(t->ev);
}

static void on_txn_resp(void *arg, int err, const struct sip_msg *resp)
{
	struct ua_txn *t = arg;

	if (resp && resp->status < 200)
		return;
	/* acted on from the loop, not from inside net and txn */
	t->cli = NULL;
	t->err = err;
	if (resp && sip_msg_decode(&t->got, resp->raw.p, resp->raw.len,
				   SIP_DECODE_DATAGRAM, NULL))
		t->err = -ENOMEM;
	t->state = T_GOT;
	ua_event_now(t->ev);
}

static int send_hop(struct ua_txn *t, const struct ua_hop *hop)
{
	struct ua *u = t->u;
	struct ua_hop cur = *hop;
	struct buf b;
	int err;

	err = ua_net_ensure(u, &cur.addr);
	if (err)
		return err;
	cur.flow = 0;
	buf_init(&b, SIP_MAX_MSG_BYTES);
	err = build(t, &cur, &b);
	if (!err && cur.proto == NET_UDP && b.len > UA_UDP_ROOM) {
		/* RFC 3261 §18.1.1: too large for UDP, so TCP to the same
		 * address and port */
		cur.proto = NET_TCP;
		buf_reset(&b);
		err = build(t, &cur, &b);
	}
	if (!err && cur.proto != NET_UDP)
		err = ua_flow_get(u, &cur);
	if (!err) {
		struct txn_cli_opts o = {
			.dest.proto = cur.proto,
			.dest.flow = cur.flow,
			.dest.addr = cur.addr,
			.dest.sni = cur.sni[0] ? cur.sni : NULL,
			.data = b.p,
			.len = b.len,
			.on_resp = on_txn_resp,
			.arg = t,
		};

		err = txn_cli_start(u->txn, &o, &t->cli);
	}
	buf_fini(&b);
	if (err)
		return err;
	t->cur = cur;
	t->state = T_WAIT;
	if (t->hop_out)
		*t->hop_out = cur;
	if (t->cseq_out)
		*t->cseq_out = t->cseq;
	return 0;
}

/* Send to the current target, else to the next that takes it. */
static void attempt(struct ua_txn *t)
{
	while (t->i_target < t->n_targets) {
		int err = send_hop(t, &t->targets[t->i_target]);

		if (!err)
			return;
		t->last_err = err;
		t->i_target++;
	}
	finish(t, t->last_err ? t->last_err : -ENOENT, NULL);
}

static void add_target(struct ua_txn *t, enum net_proto proto,
		       const struct net_addr *addr)
{
	struct ua *u = t->u;
	struct ua_hop *h;

	/* RFC 6072 §7.5, §7.8: some requests go over TLS or not at all */
	if (t->n_targets >= UA_MAX_TARGETS || (t->tls_only && proto != NET_TLS))
		return;
	h = &t->targets[t->n_targets++];
	memset(h, 0, sizeof(*h));
	h->proto = proto;
	h->addr = *addr;
	/* RFC 5922 §7.3: the name the server must prove: the proxy's
	 * host, else the domain of the Request-URI */
	if (proto == NET_TLS)
		memcpy(h->sni, u->has_proxy ? u->proxy_host : t->host,
		       UA_NAME_MAX);
}

static void targets_ready(struct ua_txn *t, bool had_any)
{
	if (!t->n_targets) {
		finish(t, had_any && t->tls_only ? -EPROTONOSUPPORT : -ENOENT,
		       NULL);
		return;
	}
	attempt(t);
}

static void on_targets(void *arg, int err, const struct dns_target *tg,
		       size_t n)
{
	struct ua_txn *t = arg;

	t->dq = NULL;
	if (err) {
		finish(t, err, NULL);
		return;
	}
	for (size_t i = 0; i < n; i++)
		add_target(t, tg[i].proto, &tg[i].addr);
	targets_ready(t, n > 0);
}

static void start(struct ua_txn *t)
{
	struct ua *u = t->u;
	struct dns_sip_req q = {
		.host = t->host,
		.port = t->port,
		.proto = t->proto,
		.sips = t->sips,
	};
	struct net_addr addr;
	enum net_proto proto;
	int err;

	t->state = T_WAIT;
	if (t->has_fixed_hop) {
		targets_ready(t, true);
		return;
	}
	/* RFC 3261 §8.1.2: with an outbound proxy, RFC 3263 applies to
	 * the proxy's URI instead of the Request-URI */
	if (u->has_proxy) {
		q.host = u->proxy_host;
		q.port = u->proxy_port;
		q.proto = u->proxy_proto;
		q.sips = u->proxy_sips;
	}
	/* RFC 3263 §4.1, §4.2: a numeric host needs no DNS: the transport
	 * given, else UDP (TLS for sips), at the port given or the
	 * transport's default */
	proto = q.proto >= 0 ? (enum net_proto)q.proto
		: q.sips     ? NET_TLS
			     : NET_UDP;
	if (!net_addr_parse(q.host,
			    q.port	       ? q.port
			    : proto == NET_TLS ? 5061
					       : 5060,
			    &addr)) {
		add_target(t, proto, &addr);
		targets_ready(t, true);
		return;
	}
	if (!u->o.dns) {
		finish(t, -ENOENT, NULL);
		return;
	}
	err = dns_sip_resolve(u->o.dns, &q, on_targets, t, &t->dq);
	if (err)
		finish(t, err, NULL);
}

static void got(struct ua_txn *t)
{
	struct sip_msg *resp = t->got;
	int err;

	t->got = NULL;
	if (!resp) {
		/* RFC 3263 §4.3: a transport error or a timeout moves on to
		 * the next target */
		t->last_err = t->err;
		t->i_target++;
		attempt(t);
		return;
	}
	if (resp->status == 401 || resp->status == 407) {
		err = ua_auth_answer(t->u, &t->auth, resp, t->method, t->ruri,
				     t->body);
		if (!err) {
			/* §22.2: the same request again with credentials,
			 * CSeq + 1, and (the layer's doing) a new branch */
			sip_msg_free(resp);
			t->cseq++;
			err = send_hop(t, &t->targets[t->i_target]);
			if (err) {
				t->last_err = err;
				t->i_target++;
				attempt(t);
			}
			return;
		}
		if (err == -ENOMEM) {
			sip_msg_free(resp);
			finish(t, err, NULL);
			return;
		}
	}
	if (resp->status == 503 && t->i_target + 1 < t->n_targets) {
		/* RFC 3263 §4.3: a 503 is treated like a failure to reach
		 * the server */
		sip_msg_free(resp);
		t->last_err = -ECONNREFUSED;
		t->i_target++;
		attempt(t);
		return;
	}
	finish(t, 0, resp);
}

static void txn_destroy(struct ua_txn *t)
{
	ua_link_del(&t->link);
	if (t->cli)
		txn_cli_abandon(t->cli);
	if (t->dq)
		dns_cancel(t->dq);
	if (t->ev)
		event_free(t->ev);
	sip_msg_free(t->got);
	ua_auth_fini(&t->auth);
	arena_fini(&t->arena);
	mem_free(t);
}

static void deliver(struct ua_txn *t)
{
	ua_resp_cb *cb = t->cb;
	void *arg = t->arg;
	struct sip_msg *resp = t->got;
	int err = t->err;

	t->got = NULL;
	/* gone before the callback, which may free the whole engine */
	txn_destroy(t);
	cb(arg, err, resp);
	sip_msg_free(resp);
}

static void on_step(evutil_socket_t fd, short what, void *arg)
{
	struct ua_txn *t = arg;

	(void)fd;
	(void)what;
	switch (t->state) {
	case T_START:
		start(t);
		break;
	case T_GOT:
		got(t);
		break;
	case T_DONE:
		deliver(t);
		break;
	case T_WAIT:
		break;
	}
}

/* ---- starting and stopping ------------------------------------------------
 */

static const char *dup_str(struct ua_txn *t, const char *s)
{
	return s ? arena_memdup(&t->arena, s, strlen(s)) : NULL;
}

static const char **dup_list(struct ua_txn *t, const char *const *v, size_t n)
{
	const char **out;

	if (!n)
		return NULL;
	out = arena_alloc(&t->arena, n * sizeof(*out));
	for (size_t i = 0; out && i < n; i++) {
		out[i] = v[i] ? dup_str(t, v[i]) : NULL;
		if (!out[i])
			return NULL;
	}
	return out;
}

/* The Request-URI's parts RFC 3263 looks at. */
static int ruri_target(struct ua_txn *t)
{
	static const char *const names[] = {"udp", "tcp", "tls"};
	struct sip_uri uri;
	struct slice v;

	if (sip_uri_parse(slice_cstr(t->ruri), &uri) ||
	    (uri.scheme != SIP_URI_SIP && uri.scheme != SIP_URI_SIPS) ||
	    !uri.host.len || uri.host.len >= sizeof(t->host))
		return -EINVAL;
	memcpy(t->host, uri.host.p, uri.host.len);
	t->host[uri.host.len] = '\0';
	t->port = uri.has_port ? uri.port : 0;
	t->sips = uri.scheme == SIP_URI_SIPS;
	t->proto = -1;
	if (!sip_uri_param(&uri, "transport", &v))
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			if (slice_caseeq_cstr(v, names[i]))
				t->proto = (int)i;
	return 0;
}

int ua_txn_start(struct ua *u, const struct ua_req_spec *s, ua_resp_cb *cb,
		 void *arg, struct ua_txn **out)
{
	struct sip_uri to;
	char tag[TXN_TAG_LEN + 1], call_id[33];
	struct ua_txn *t;
	int err = -ENOMEM;

	if (!u || !s || !s->method || !s->ruri || !cb ||
	    (s->n_hdrs && !s->hdrs) || (s->n_routes && !s->routes) ||
	    (s->to && sip_uri_parse(slice_cstr(s->to), &to)) ||
	    (!s->body.p && s->body.len))
		return -EINVAL;
	t = mem_zalloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	arena_init(&t->arena, 2048);
	t->u = u;
	t->cb = cb;
	t->arg = arg;
	t->method = dup_str(t, s->method);
	t->ruri = dup_str(t, s->ruri);
	t->to = dup_str(t, s->to ? s->to : s->ruri);
	if (!t->method || !t->ruri || !t->to)
		goto out;
	err = ruri_target(t);
	if (err)
		goto out;
	err = -ENOMEM;
	if (!s->from_tag)
		txn_tag_new(tag);
	t->from_tag = dup_str(t, s->from_tag ? s->from_tag : tag);
	if (!s->call_id)
		ua_random_hex(call_id, sizeof(call_id));
	t->call_id = dup_str(t, s->call_id ? s->call_id : call_id);
	t->to_tag = dup_str(t, s->to_tag);
	t->ctype = dup_str(t, s->ctype);
	if (!t->from_tag || !t->call_id || (s->to_tag && !t->to_tag) ||
	    (s->ctype && !t->ctype))
		goto out;
	t->routes = dup_list(t, s->routes, s->n_routes);
	t->hdrs = dup_list(t, s->hdrs, s->n_hdrs);
	if ((s->n_routes && !t->routes) || (s->n_hdrs && !t->hdrs))
		goto out;
	t->n_routes = s->n_routes;
	t->n_hdrs = s->n_hdrs;
	if (s->body.len) {
		t->body.p = arena_memdup(&t->arena, s->body.p, s->body.len);
		if (!t->body.p)
			goto out;
		t->body.len = s->body.len;
	}
	t->tls_only = s->tls_only;
	t->with_contact = s->with_contact;
	/* RFC 3261 §8.1.1.5: below 2^31 */
	t->cseq = s->cseq ? s->cseq & 0x7fffffffu : 1;
	if (s->hop) {
		t->has_fixed_hop = true;
		t->n_targets = 0;
		add_target(t, s->hop->proto, &s->hop->addr);
		if (t->n_targets)
			memcpy(t->targets[0].sni, s->hop->sni, UA_NAME_MAX);
	}
	t->hop_out = s->hop_out;
	t->cseq_out = s->cseq_out;
	t->ev = ua_event_new(u, on_step, t);
	if (!t->ev)
		goto out;
	/* everything happens from the loop: the callback never runs
	 * inside this call */
	t->state = T_START;
	ua_link_add(&u->txns, &t->link);
	ua_event_now(t->ev);
	err = 0;
out:
	if (err) {
		txn_destroy(t);
		return err;
	}
	if (out)
		*out = t;
	return 0;
}

int ua_send(struct ua *u, const struct ua_request *r, ua_resp_cb *cb, void *arg,
	    struct ua_txn **out)
{
	if (!r)
		return -EINVAL;
	return ua_txn_start(u,
			    &(struct ua_req_spec){
				    .method = r->method,
				    .ruri = r->ruri,
				    .to = r->to,
				    .hdrs = r->hdrs,
				    .n_hdrs = r->n_hdrs,
				    .ctype = r->ctype,
				    .body = r->body,
				    .tls_only = r->tls_only,
				    .with_contact = r->with_contact,
			    },
			    cb, arg, out);
}

void ua_txn_cancel(struct ua_txn *t)
{
	if (t)
		txn_destroy(t);
}

void ua_txn_flow_closed(struct ua *u, net_flow_id flow, int err)
{
	for (struct ua_link *l = u->txns; l; l = l->next) {
		struct ua_txn *t = container_of(l, struct ua_txn, link);

		/* txn does not watch streams: a request whose flow died
		 * would otherwise wait for Timer F */
		if (t->state != T_WAIT || !t->cli || t->cur.proto == NET_UDP ||
		    t->cur.flow != flow)
			continue;
		txn_cli_abandon(t->cli);
		t->cli = NULL;
		t->err = err;
		t->state = T_GOT;
		ua_event_now(t->ev);
	}
}

void ua_txn_free_all(struct ua *u)
{
	struct ua_link *l;

	while ((l = u->txns))
		txn_destroy(container_of(l, struct ua_txn, link));
}
