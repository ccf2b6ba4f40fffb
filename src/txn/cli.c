/* SPDX-License-Identifier: BSD-3-Clause */
/* Client transactions: non-INVITE (RFC 3261 §17.1.2, timers E, F, K) and
 * INVITE (§17.1.1, timers A, B, D, and the ACK for 3xx-6xx), our Via with
 * a fresh branch and rport (RFC 3581 §3), response matching (§17.1.3). */
#include "txn_int.h"

#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>

enum cli_state {
	CLI_TRYING, /* "Calling" for INVITE */
	CLI_PROCEEDING,
	CLI_COMPLETED,
};

struct txn_cli {
	struct txn_hnode hnode;	   /* in l->cli_tab until destroyed */
	struct txn_hnode inv_node; /* INVITE: in l->inv_tab, for CANCEL */
	struct txn_layer *l;
	enum cli_state state;
	bool is_invite;
	bool is_reliable;
	struct sip_msg *req; /* as sent, our Via on top */
	struct net_dest dest;
	char *ack; /* INVITE: the ACK for the 3xx-6xx */
	size_t ack_len;
	txn_resp_cb *on_resp; /* NULL once abandoned or finished */
	void *arg;
	struct event *ev_retx;	  /* A or E */
	struct event *ev_timeout; /* B, F, the INVITE guard, D, K */
	unsigned retx_ms;
};

struct txn_cli *txn_cli_of_node(struct txn_hnode *n)
{
	return container_of(n, struct txn_cli, hnode);
}

/* Timer C of a proxy (§16.6 step 11) for an INVITE that got a
 * provisional: without it a callee that rings forever would hold the
 * transaction forever. 360*T1 is three minutes with the default T1. */
static unsigned timer_c_ms(const struct txn_layer *l)
{
	return 360 * l->t1_ms;
}

void txn_cli_destroy(struct txn_cli *c)
{
	if (!c)
		return;
	if (c->l) {
		txn_htab_remove(&c->l->cli_tab, &c->hnode);
		txn_htab_remove(&c->l->inv_tab, &c->inv_node);
	}
	txn_timer_free(&c->ev_retx);
	txn_timer_free(&c->ev_timeout);
	sip_msg_free(c->req);
	mem_free(c->ack);
	mem_free(c);
}

void txn_cli_abandon(struct txn_cli *c)
{
	if (c)
		c->on_resp = NULL;
}

/* End the transaction and tell its owner, last: the callback may free the
 * whole layer. */
static void finish(struct txn_cli *c, int err, const struct sip_msg *resp)
{
	txn_resp_cb *cb = c->on_resp;
	void *arg = c->arg;

	txn_cli_destroy(c);
	if (cb)
		cb(arg, err, resp);
}

static int cli_send(struct txn_cli *c, const void *data, size_t len)
{
	net_flow_id used = 0;
	int err = txn_layer_send(c->l, &c->dest, data, len, &used);

	/* a stream keeps the connection it went out on (the ACK follows) */
	if (!err && c->is_reliable && used)
		c->dest.flow = used;
	return err;
}

static void on_retx(int fd, short what, void *arg)
{
	struct txn_cli *c = arg;
	struct txn_layer *l = c->l;
	int err;

	(void)fd;
	(void)what;
	if (c->state == CLI_COMPLETED)
		return;
	err = cli_send(c, c->req->raw.p, c->req->raw.len);
	if (err) {
		/* §17.1.4: a transport error ends it, reported as such */
		finish(c, err, NULL);
		return;
	}
	if (c->is_invite) {
		/* Timer A doubles with no cap (§17.1.1.2) */
		c->retx_ms *= 2;
	} else if (c->state == CLI_PROCEEDING) {
		c->retx_ms = l->t2_ms; /* §17.1.2.2 */
	} else {
		/* Timer E: doubling up to T2 */
		c->retx_ms =
			c->retx_ms * 2 < l->t2_ms ? c->retx_ms * 2 : l->t2_ms;
	}
	txn_timer_start_ms(c->ev_retx, c->retx_ms);
}

static void on_timeout(int fd, short what, void *arg)
{
	struct txn_cli *c = arg;

	(void)fd;
	(void)what;
	if (c->state == CLI_COMPLETED) {
		/* Timer K or D: retransmitted finals absorbed long enough */
		txn_cli_destroy(c);
		return;
	}
	/* Timer F, Timer B, or the INVITE guard */
	c->l->stats.client_timeouts++;
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_msg(LOG_LEVEL_DEBUG, TXN_LOG, "%.*s %.*s: no answer",
			SLICE_FMT(c->req->method), SLICE_FMT(c->req->call_id));
	finish(c, -ETIMEDOUT, NULL);
}

/* A header value on one line: folds become their white space. */
static int copy_unfolded(struct buf *b, const char *name, struct slice v)
{
	buf_append_cstr(b, name);
	buf_append(b, ": ", 2);
	for (size_t i = 0; i < v.len; i++)
		if (v.p[i] != '\r' && v.p[i] != '\n')
			buf_append_byte(b, v.p[i]);
	return buf_append(b, "\r\n", 2);
}

/* §17.1.1.3: the ACK for a 3xx-6xx: Request-URI, Call-ID, From, CSeq
 * number and the one top Via of the request, To of the response, and the
 * request's Route header fields. */
static int build_ack(struct txn_cli *c, const struct sip_msg *resp)
{
	const struct sip_msg *r = c->req;
	const struct sip_hdr *h;
	struct buf b;
	int err;

	buf_init(&b, SIP_MAX_MSG_BYTES);
	sip_out_request_line(&b, "ACK", r->ruri_s);
	copy_unfolded(&b, "Via", r->via.whole);
	copy_unfolded(&b, "From", sip_msg_hdr(r, SIP_HDR_FROM)->value);
	copy_unfolded(&b, "To", sip_msg_hdr(resp, SIP_HDR_TO)->value);
	copy_unfolded(&b, "Call-ID", r->call_id);
	sip_out_hdrf(&b, "CSeq", "%u ACK", (unsigned)r->cseq.num);
	for (h = sip_msg_hdr(r, SIP_HDR_ROUTE); h; h = sip_msg_hdr_next(r, h))
		if (h->id == SIP_HDR_ROUTE)
			copy_unfolded(&b, "Route", h->value);
	sip_out_hdr_cstr(&b, "Max-Forwards", "70");
	sip_out_body(&b, NULL, SLICE_NULL);
	err = b.err;
	if (!err) {
		mem_free(c->ack);
		c->ack = buf_steal(&b, &c->ack_len);
		if (!c->ack)
			err = -ENOMEM;
	}
	buf_fini(&b);
	return err;
}

static void completed(struct txn_cli *c, const struct sip_msg *resp)
{
	struct txn_layer *l = c->l;
	txn_resp_cb *cb = c->on_resp;
	void *arg = c->arg;

	txn_timer_stop(c->ev_retx);
	txn_timer_stop(c->ev_timeout);
	c->state = CLI_COMPLETED;
	c->on_resp = NULL;
	/* Timer K (T4) or D (64*T1, which is the RFC's 32 s with the
	 * default T1): zero on streams, nothing to absorb there */
	if (c->is_reliable)
		txn_cli_destroy(c);
	else
		txn_timer_start_tv(c->ev_timeout,
				   c->is_invite ? l->tv_64t1 : l->tv_t4);
	if (cb)
		cb(arg, 0, resp);
}

static void invite_rx(struct txn_cli *c, const struct sip_msg *m)
{
	struct txn_layer *l = c->l;

	if (c->state == CLI_COMPLETED) {
		/* a retransmitted final: the same ACK again (§17.1.1.2) */
		l->stats.retransmissions++;
		if (m->status >= 300 && c->ack)
			(void)cli_send(c, c->ack, c->ack_len);
		return;
	}
	if (m->status < 200) {
		/* Proceeding: no more retransmissions, and Timer B gives
		 * way to the guard, restarted by every provisional */
		c->state = CLI_PROCEEDING;
		txn_timer_stop(c->ev_retx);
		txn_timer_start_ms(c->ev_timeout, timer_c_ms(l));
		if (c->on_resp)
			c->on_resp(c->arg, 0, m);
		return;
	}
	if (m->status < 300) {
		/* §17.1.1.2: the 2xx goes up, its ACK is the TU's */
		finish(c, 0, m);
		return;
	}
	if (!build_ack(c, m))
		(void)cli_send(c, c->ack, c->ack_len);
	completed(c, m);
}

static void non_invite_rx(struct txn_cli *c, const struct sip_msg *m)
{
	if (c->state == CLI_COMPLETED) {
		c->l->stats.retransmissions++;
		return;
	}
	if (m->status < 200) {
		/* Timer E keeps running; it fires at T2 from now on */
		c->state = CLI_PROCEEDING;
		if (c->on_resp)
			c->on_resp(c->arg, 0, m);
		return;
	}
	completed(c, m);
}

void txn_cli_rx(struct txn_layer *l, struct sip_msg *m)
{
	struct txn_cli *c = NULL;
	uint64_t hash;

	/* §17.1.3: the branch of the top Via and the CSeq method */
	if (m->via.branch.p) {
		hash = txn_cli_hash(l, m->via.branch);
		for (struct txn_hnode *n = txn_htab_chain(&l->cli_tab, hash); n;
		     n = n->next) {
			struct txn_cli *x = txn_cli_of_node(n);

			if (n->hash == hash &&
			    slice_caseeq(x->req->via.branch, m->via.branch) &&
			    slice_eq(x->req->cseq.method, m->cseq.method)) {
				c = x;
				break;
			}
		}
	}
	if (!c) {
		/* a response nobody waits for: dropped (§18.1.2) */
		if (log_enabled(LOG_LEVEL_DEBUG))
			log_msg(LOG_LEVEL_DEBUG, TXN_LOG,
				"stray %u response for %.*s dropped", m->status,
				SLICE_FMT(m->call_id));
		sip_msg_free(m);
		return;
	}
	if (c->is_invite)
		invite_rx(c, m);
	else
		non_invite_rx(c, m);
	sip_msg_free(m);
}

/* sent-by for our Via: configured, else the address traffic reached us
 * on, else the local address the route to dest leaves from. */
static int sent_by(struct txn_layer *l, const struct net_dest *d, char *out,
		   size_t n)
{
	struct net_addr a = {0};
	char host[INET6_ADDRSTRLEN];
	unsigned proto = (unsigned)d->proto;
	uint16_t port;
	int fd, rc;

	if (l->sent_by[proto]) {
		rc = snprintf(out, n, "%s", l->sent_by[proto]);
		return rc > 0 && (size_t)rc < n ? 0 : -EINVAL;
	}
	if (l->has_local[proto]) {
		a = l->local[proto];
		port = txn_addr_port(&a);
	} else {
		if (d->addr.ss.ss_family != AF_INET &&
		    d->addr.ss.ss_family != AF_INET6)
			return -EINVAL;
		fd = socket(d->addr.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		a.len = sizeof(a.ss);
		rc = connect(fd, (const struct sockaddr *)&d->addr.ss,
			     d->addr.len);
		if (!rc)
			rc = getsockname(fd, (struct sockaddr *)&a.ss, &a.len);
		close(fd);
		if (rc)
			return -EINVAL;
		port = d->proto == NET_TLS ? 5061 : 5060;
	}
	txn_addr_host(&a, host, sizeof(host));
	if (!host[0])
		return -EINVAL;
	rc = snprintf(out, n,
		      a.ss.ss_family == AF_INET6 && strchr(host, ':')
			      ? "[%s]:%u"
			      : "%s:%u",
		      host, port);
	return rc > 0 && (size_t)rc < n ? 0 : -EINVAL;
}

static const char *const proto_names[] = {
	[NET_UDP] = "UDP", [NET_TCP] = "TCP", [NET_TLS] = "TLS"};

/* The caller's request with our Via after the request line, decoded. The
 * Via is fresh, or via (the INVITE's, for its CANCEL) when not NULL. */
static int build_request(struct txn_layer *l, const struct txn_cli_opts *o,
			 const char *via, struct sip_msg **out)
{
	const char *data = o->data;
	const char *lf = memchr(data, '\n', o->len);
	char sb[300], branch[32];
	struct sip_msg *m = NULL;
	struct buf b;
	size_t head;
	int err;

	if (!lf || (o->len >= 4 && !memcmp(data, "SIP/", 4)))
		return -EINVAL;
	if (!via) {
		err = sent_by(l, &o->dest, sb, sizeof(sb));
		if (err)
			return err;
		txn_branch_new(branch);
	}
	head = (size_t)(lf + 1 - data);
	buf_init(&b, SIP_MAX_MSG_BYTES);
	buf_append(&b, data, head);
	if (via)
		sip_out_hdr_cstr(&b, "Via", via);
	else /* RFC 3261 §8.1.1.7 branch; RFC 3581 §3 rport, empty */
		sip_out_hdrf(&b, "Via", "SIP/2.0/%s %s;branch=%s;rport",
			     proto_names[o->dest.proto], sb, branch);
	buf_append(&b, data + head, o->len - head);
	err = b.err;
	if (!err)
		err = sip_msg_decode(&m, b.p, b.len, 0, NULL);
	buf_fini(&b);
	if (err)
		return err == -ENOMEM ? err : -EINVAL;
	/* our own Via must be the top one we read back; ACK is never a
	 * transaction; streams need Content-Length (§18.3) */
	if (!m->is_request || m->method_id == SIP_METHOD_ACK ||
	    (via ? !slice_eq_cstr(m->via.whole, via)
		 : !slice_eq_cstr(m->via.branch, branch)) ||
	    (o->dest.proto != NET_UDP && !m->has_content_length)) {
		sip_msg_free(m);
		return -EINVAL;
	}
	*out = m;
	return 0;
}

static uint64_t invite_hash(const struct txn_layer *l, const struct sip_msg *m)
{
	struct txn_hasher h;

	txn_hasher_init(&h, l->hash_key);
	txn_hasher_feed(&h, m->call_id, false);
	txn_hasher_u32(&h, m->cseq.num);
	return txn_hasher_end(&h);
}

/* §9.1: the INVITE client transaction a CANCEL of ours is for: same
 * Request-URI, Call-ID, From tag and CSeq number. */
static struct txn_cli *find_invite(const struct txn_layer *l,
				   const struct sip_msg *cancel)
{
	uint64_t hash = invite_hash(l, cancel);

	for (struct txn_hnode *n = txn_htab_chain(&l->inv_tab, hash); n;
	     n = n->next) {
		struct txn_cli *c = container_of(n, struct txn_cli, inv_node);
		const struct sip_msg *r = c->req;

		if (n->hash == hash && slice_eq(r->call_id, cancel->call_id) &&
		    r->cseq.num == cancel->cseq.num &&
		    slice_eq(r->from.tag, cancel->from.tag) &&
		    sip_uri_equal(&r->ruri, &cancel->ruri))
			return c;
	}
	return NULL;
}

/* §9.1: "the Via header field ... MUST contain a single Via header field
 * value matching the top Via value in the request being cancelled", so
 * the CANCEL reaches the INVITE's server transaction. */
static int reuse_invite_via(struct txn_layer *l, const struct txn_cli_opts *o,
			    struct sip_msg **req)
{
	struct txn_cli *inv = find_invite(l, *req);
	char *via;
	int err;

	if (!inv)
		return 0;
	via = slice_dup(inv->req->via.whole);
	if (!via)
		return -ENOMEM;
	sip_msg_free(*req);
	*req = NULL;
	err = build_request(l, o, via, req);
	mem_free(via);
	return err;
}

int txn_cli_start(struct txn_layer *l, const struct txn_cli_opts *o,
		  struct txn_cli **out)
{
	struct txn_cli *c;
	int err;

	if (!l || !o || !o->data || !o->len ||
	    (unsigned)o->dest.proto >= ARRAY_SIZE(proto_names))
		return -EINVAL;
	c = mem_zalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->dest = o->dest;
	c->on_resp = o->on_resp;
	c->arg = o->arg;
	c->is_reliable = o->dest.proto != NET_UDP;
	err = build_request(l, o, NULL, &c->req);
	if (!err && c->req->method_id == SIP_METHOD_CANCEL)
		err = reuse_invite_via(l, o, &c->req);
	if (err)
		goto out;
	c->is_invite = c->req->method_id == SIP_METHOD_INVITE;
	c->ev_retx = txn_timer_new(l, on_retx, c);
	c->ev_timeout = txn_timer_new(l, on_timeout, c);
	if (!c->ev_retx || !c->ev_timeout) {
		err = -ENOMEM;
		goto out;
	}
	c->l = l;
	/* §18.1.1: over 1300 bytes on UDP net refuses; the caller must
	 * pick a stream */
	err = cli_send(c, c->req->raw.p, c->req->raw.len);
	if (err)
		goto out;
	txn_htab_insert(&l->cli_tab, &c->hnode,
			txn_cli_hash(l, c->req->via.branch));
	if (c->is_invite)
		txn_htab_insert(&l->inv_tab, &c->inv_node,
				invite_hash(l, c->req));
	/* Timer A or E from T1 on unreliable transports; B or F always */
	if (!c->is_reliable) {
		c->retx_ms = l->t1_ms;
		txn_timer_start_ms(c->ev_retx, c->retx_ms);
	}
	txn_timer_start_tv(c->ev_timeout, l->tv_64t1);
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_msg(LOG_LEVEL_DEBUG, TXN_LOG, "client %.*s %.*s: new",
			SLICE_FMT(c->req->method),
			SLICE_FMT(c->req->via.branch));
out:
	if (err) {
		c->l = NULL;
		txn_cli_destroy(c);
		return err;
	}
	if (out)
		*out = c;
	return 0;
}
