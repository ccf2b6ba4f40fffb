/* SPDX-License-Identifier: BSD-3-Clause */
/* Server transactions: the non-INVITE (RFC 3261 §17.2.2) and INVITE
 * (§17.2.1) state machines, retransmission absorption, CANCEL (§9.2), and
 * the guard that answers 500 for a handler that never does. */
#include "txn_int.h"

#include <string.h>

#include <openssl/x509.h>

static const char *const state_names[] = {
	[TXN_SRV_TRYING] = "Trying",
	[TXN_SRV_PROCEEDING] = "Proceeding",
	[TXN_SRV_COMPLETED] = "Completed",
	[TXN_SRV_CONFIRMED] = "Confirmed",
	[TXN_SRV_TERMINATED] = "Terminated",
};

static void set_state(struct txn_srv *st, enum txn_srv_state next)
{
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_msg(LOG_LEVEL_DEBUG, TXN_LOG, "server %.*s %.*s: %s -> %s",
			SLICE_FMT(st->key.method), SLICE_FMT(st->key.branch),
			state_names[st->state], state_names[next]);
	st->state = next;
}

/* A proxied INVITE may ring for minutes: once the handler sent a
 * provisional, the guard becomes a Timer C (RFC 3261 §16.6 step 11,
 * "greater than 3 minutes": 360*T1). */
static unsigned timer_c_ms(const struct txn_layer *l)
{
	return 360 * l->t1_ms;
}

static void srv_destroy(struct txn_srv *st)
{
	txn_timer_free(&st->ev_retx);
	txn_timer_free(&st->ev_timeout);
	sip_msg_free(st->req);
	mem_free(st->key_buf);
	X509_free(st->src.peer_cert);
	mem_free(st->top_via);
	mem_free(st->resp);
	mem_free(st->resp_tag);
	mem_free(st);
}

struct txn_srv *txn_srv_ref(struct txn_srv *st)
{
	if (st)
		st->refs++;
	return st;
}

struct txn_srv *txn_srv_unref(struct txn_srv *st)
{
	if (!st)
		return NULL;
	if (--st->refs == 0)
		srv_destroy(st);
	else if (st->refs == 1 && st->l)
		txn_srv_compact(st); /* the layer's is the last reference */
	return NULL;
}

void txn_srv_compact(struct txn_srv *st)
{
	struct txn_srv_key *k = &st->key;
	size_t n = k->branch.len + k->host.len + k->method.len;
	char *p, *resp;

	/* an INVITE's request is needed to match its ACK (§17.2.1), an
	 * RFC 2543 request is matched on most of its header fields, and a
	 * request someone else holds a reference to is still theirs */
	if (!st->l || st->refs != 1 || st->is_invite || !st->is_rfc3261 ||
	    st->state != TXN_SRV_COMPLETED || !st->req)
		return;
	p = mem_alloc(n ? n : 1);
	if (!p)
		return; /* the request simply stays */
	memcpy(p, k->branch.p, k->branch.len);
	memcpy(p + k->branch.len, k->host.p, k->host.len);
	memcpy(p + k->branch.len + k->host.len, k->method.p, k->method.len);
	k->host = slice_of(p + k->branch.len, k->host.len);
	k->method = slice_of(p + k->branch.len + k->host.len, k->method.len);
	k->branch = slice_of(p, k->branch.len);
	st->key_buf = p;
	sip_msg_free(st->req);
	st->req = NULL;
	/* the stamped Via went into the response already */
	mem_free(st->top_via);
	st->top_via = NULL;
	X509_free(st->src.peer_cert);
	st->src.peer_cert = NULL;
	/* the response was built in a buffer with room to grow */
	resp = st->resp ? mem_realloc(st->resp, st->resp_len + 1) : NULL;
	if (resp)
		st->resp = resp;
}

const struct sip_msg *txn_srv_msg(const struct txn_srv *st)
{
	return st ? st->req : NULL;
}

const struct txn_source *txn_srv_source(const struct txn_srv *st)
{
	return st ? &st->src : NULL;
}

bool txn_srv_is_pending(const struct txn_srv *st)
{
	return st && st->l &&
	       (st->state == TXN_SRV_TRYING || st->state == TXN_SRV_PROCEEDING);
}

void txn_srv_terminate(struct txn_srv *st)
{
	struct txn_layer *l = st->l;

	if (!l)
		return;
	set_state(st, TXN_SRV_TERMINATED);
	/* the timers belong to the layer's loop: gone now, not at the last
	 * unref, which may come after the loop itself */
	txn_timer_free(&st->ev_retx);
	txn_timer_free(&st->ev_timeout);
	txn_htab_remove(&l->srv_tab, &st->hnode);
	st->l = NULL;
	txn_srv_unref(st);
}

static int srv_send(struct txn_srv *st, const void *data, size_t len)
{
	net_flow_id used = 0;
	int err = txn_layer_send(st->l, &st->dest, data, len, &used);

	/* §18.2.2: should net have opened a new connection, the following
	 * responses use it too */
	if (!err && st->dest.proto != NET_UDP && used)
		st->dest.flow = used;
	return err;
}

static void resend(struct txn_srv *st)
{
	if (st->resp)
		(void)srv_send(st, st->resp, st->resp_len);
}

/* Send a response (data is ours to keep) and move the state machine. On a
 * send error nothing changes: the handler may still answer otherwise. */
static int srv_respond(struct txn_srv *st, unsigned status, char *data,
		       size_t len)
{
	struct txn_layer *l = st->l;
	int err = srv_send(st, data, len);

	if (err) {
		mem_free(data);
		return err;
	}
	mem_free(st->resp);
	st->resp = data;
	st->resp_len = len;
	st->resp_status = status;
	st->has_resp = true;
	if (status < 200) {
		if (st->state == TXN_SRV_TRYING)
			set_state(st, TXN_SRV_PROCEEDING);
		if (st->is_invite) {
			txn_timer_stop(st->ev_retx); /* the 100 timer */
			if (status > 100 && !st->is_auto_100)
				txn_timer_start_ms(st->ev_timeout,
						   timer_c_ms(l));
		}
		return 0;
	}
	txn_timer_stop(st->ev_retx);
	txn_timer_stop(st->ev_timeout);
	if (st->is_invite && status < 300) {
		/* §17.2.1: a 2xx ends the transaction; its reliability is
		 * the TU's (sipcert is no INVITE user agent) */
		txn_srv_terminate(st);
		return 0;
	}
	set_state(st, TXN_SRV_COMPLETED);
	if (st->is_invite) {
		/* Timer G retransmits until the ACK, Timer H gives up */
		if (!st->is_reliable) {
			st->retx_ms = l->t1_ms;
			txn_timer_start_ms(st->ev_retx, st->retx_ms);
		}
		txn_timer_start_tv(st->ev_timeout, l->tv_64t1);
		return 0;
	}
	/* Timer J: 64*T1 for unreliable transports, zero for reliable */
	if (st->is_reliable)
		txn_srv_terminate(st);
	else
		txn_timer_start_tv(st->ev_timeout, l->tv_64t1);
	return 0;
}

/* One "Name: value" line of the caller's, checked like every header. */
static int append_hdr_line(struct buf *b, const char *line)
{
	const char *colon = line ? strchr(line, ':') : NULL;
	struct slice name;
	char n[64];

	if (!colon) {
		if (!b->err)
			b->err = -EINVAL;
		return b->err;
	}
	name = slice_trim(slice_of(line, (size_t)(colon - line)));
	if (!name.len || name.len >= sizeof(n)) {
		if (!b->err)
			b->err = -EINVAL;
		return b->err;
	}
	memcpy(n, name.p, name.len);
	n[name.len] = '\0';
	return sip_out_hdr(b, n, slice_trim(slice_cstr(colon + 1)));
}

/* The To tag of our responses (§8.2.6.2): the same for all of them, be
 * it the caller's (a raw reply, or opts->to_tag) or one we made. */
static const char *srv_tag(struct txn_srv *st)
{
	if (st->resp_tag)
		return st->resp_tag;
	if (!st->tag[0])
		txn_tag_new(st->tag);
	return st->tag;
}

int txn_srv_reply(struct txn_srv *st, unsigned status, const char *reason,
		  const struct txn_reply_opts *opts)
{
	const char *to_tag = NULL;
	struct buf b;
	char *data;
	size_t len;
	int err;

	if (!txn_srv_is_pending(st) || status < 100 || status > 699)
		return -EINVAL;
	/* §8.2.6.2: every response but a 100 carries a To tag */
	if (opts && opts->to_tag)
		to_tag = opts->to_tag;
	else if (status != 100)
		to_tag = srv_tag(st);
	buf_init(&b, SIP_MAX_MSG_BYTES);
	sip_out_reply_start(&b, st->req, status, reason, to_tag);
	if (st->top_via)
		txn_reply_restamp(&b, st->top_via);
	for (size_t i = 0; opts && i < opts->n_hdrs; i++)
		append_hdr_line(&b, opts->hdrs[i]);
	sip_out_body(&b, opts ? opts->ctype : NULL,
		     opts ? opts->body : SLICE_NULL);
	if (b.err) {
		err = b.err;
		buf_fini(&b);
		return err;
	}
	data = buf_steal(&b, &len);
	buf_fini(&b);
	if (!data)
		return -ENOMEM;
	if (opts && opts->to_tag && !st->req->to.tag.p &&
	    (!st->resp_tag || strcmp(st->resp_tag, opts->to_tag))) {
		char *tag = mem_strdup(opts->to_tag);

		if (!tag) {
			mem_free(data);
			return -ENOMEM;
		}
		mem_free(st->resp_tag);
		st->resp_tag = tag;
	}
	st->is_auto_100 = false;
	return srv_respond(st, status, data, len);
}

int txn_srv_reply_raw(struct txn_srv *st, unsigned status, const void *data,
		      size_t len)
{
	struct sip_msg *m;
	char *copy, *tag = NULL;
	int err;

	if (!txn_srv_is_pending(st) || status < 100 || status > 699 || !data)
		return -EINVAL;
	/* it must be the response it says it is: a wrong status would
	 * drive the state machine astray */
	err = sip_msg_decode(&m, data, len, 0, NULL);
	if (err)
		return err == -ENOMEM ? err : -EINVAL;
	if (m->is_request || m->status != status) {
		sip_msg_free(m);
		return -EINVAL;
	}
	if (m->to.tag.p) {
		tag = slice_dup(m->to.tag);
		if (!tag) {
			sip_msg_free(m);
			return -ENOMEM;
		}
	}
	sip_msg_free(m);
	copy = mem_alloc(len ? len : 1);
	if (!copy) {
		mem_free(tag);
		return -ENOMEM;
	}
	memcpy(copy, data, len);
	if (tag) {
		mem_free(st->resp_tag);
		st->resp_tag = tag;
	}
	st->is_auto_100 = false;
	return srv_respond(st, status, copy, len);
}

/* §17.2.1: a 100 when the handler has said nothing yet. */
static void auto_100(struct txn_srv *st)
{
	if (st->has_resp || !txn_srv_is_pending(st))
		return;
	if (!txn_srv_reply(st, 100, NULL, NULL))
		st->is_auto_100 = true;
}

static void on_retx(int fd, short what, void *arg)
{
	struct txn_srv *st = arg;
	struct txn_layer *l = st->l;

	(void)fd;
	(void)what;
	if (st->state == TXN_SRV_PROCEEDING) {
		auto_100(st);
		return;
	}
	if (st->state != TXN_SRV_COMPLETED)
		return;
	/* Timer G: T1, doubling up to T2 (§17.2.1) */
	resend(st);
	st->retx_ms = st->retx_ms * 2 < l->t2_ms ? st->retx_ms * 2 : l->t2_ms;
	txn_timer_start_ms(st->ev_retx, st->retx_ms);
}

static void on_timeout(int fd, short what, void *arg)
{
	struct txn_srv *st = arg;

	(void)fd;
	(void)what;
	switch (st->state) {
	case TXN_SRV_TRYING:
	case TXN_SRV_PROCEEDING:
		/* the handler never answered: the guard does (500), and
		 * the transaction runs its course from Completed */
		log_msg(LOG_LEVEL_NOTICE, TXN_LOG,
			"%.*s %.*s unanswered: 500 sent",
			SLICE_FMT(st->req->method),
			SLICE_FMT(st->req->call_id));
		txn_srv_ref(st);
		if (txn_srv_reply(st, 500, NULL, NULL))
			txn_srv_terminate(st);
		txn_srv_unref(st);
		break;
	case TXN_SRV_COMPLETED:
		/* Timer J (non-INVITE) or H (INVITE: no ACK came) */
		if (st->is_invite && log_enabled(LOG_LEVEL_DEBUG))
			log_msg(LOG_LEVEL_DEBUG, TXN_LOG,
				"INVITE %.*s: no ACK for %u",
				SLICE_FMT(st->req->call_id), st->resp_status);
		txn_srv_terminate(st);
		break;
	case TXN_SRV_CONFIRMED: /* Timer I */
	case TXN_SRV_TERMINATED:
		txn_srv_terminate(st);
		break;
	}
}

/* A request that matched a transaction (§17.2.1, §17.2.2). */
static void absorb(struct txn_srv *st, const struct sip_msg *m)
{
	struct txn_layer *l = st->l;

	if (m->method_id == SIP_METHOD_ACK) {
		if (st->state == TXN_SRV_COMPLETED) {
			/* the ACK for our 3xx-6xx: Confirmed, and Timer I
			 * soaks up its retransmissions */
			set_state(st, TXN_SRV_CONFIRMED);
			txn_timer_stop(st->ev_retx);
			txn_timer_stop(st->ev_timeout);
			if (st->is_reliable)
				txn_srv_terminate(st);
			else
				txn_timer_start_tv(st->ev_timeout, l->tv_t4);
		} else if (st->state == TXN_SRV_CONFIRMED) {
			l->stats.retransmissions++;
		}
		/* an ACK before any final answer acknowledges nothing */
		return;
	}
	l->stats.retransmissions++;
	switch (st->state) {
	case TXN_SRV_TRYING:
		break; /* §17.2.2: absorbed silently */
	case TXN_SRV_PROCEEDING:
		/* the last provisional again; an INVITE retransmitted
		 * before we said anything gets its 100 now */
		if (st->has_resp)
			resend(st);
		else
			auto_100(st);
		break;
	case TXN_SRV_COMPLETED:
		resend(st);
		break;
	case TXN_SRV_CONFIRMED:
	case TXN_SRV_TERMINATED:
		break;
	}
}

static void source_fill(struct txn_source *src, const struct net_rx *rx)
{
	size_t n;

	src->proto = rx->proto;
	src->flow = rx->flow;
	src->peer = rx->peer;
	src->local = rx->local;
	if (rx->peer_cert && X509_up_ref(rx->peer_cert) == 1)
		src->peer_cert = rx->peer_cert;
	if (rx->sni) {
		n = strnlen(rx->sni, sizeof(src->sni) - 1);
		memcpy(src->sni, rx->sni, n);
		src->sni[n] = '\0';
	}
}

/* ACK without a transaction (the ACK for a 2xx, §17.2.3 / §13.3.1.4):
 * the handler sees it through a transaction that cannot be answered. */
static void pass_ack(struct txn_layer *l, const struct net_rx *rx,
		     struct sip_msg *m)
{
	struct txn_srv *st;

	if (!l->on_request) {
		sip_msg_free(m);
		return;
	}
	st = mem_zalloc(sizeof(*st));
	if (!st) {
		sip_msg_free(m);
		l->stats.dropped++;
		return;
	}
	st->refs = 1;
	st->state = TXN_SRV_TERMINATED;
	st->is_reliable = rx->proto != NET_UDP;
	st->req = m;
	source_fill(&st->src, rx);
	l->on_request(l->arg, st, m);
	txn_srv_unref(st);
}

/* The top Via as our responses carry it: NULL when nothing changes. */
static int stamp_top_via(struct txn_srv *st, const struct net_rx *rx)
{
	struct buf b;
	bool is_parsed;
	int err;

	buf_init(&b, SIP_MAX_MSG_BYTES);
	err = txn_via_stamp(&b, st->req->via.whole, &rx->peer, &is_parsed);
	if (!err) {
		/* one line, as sip_out_reply_start copies it: a fold
		 * (CRLF WSP) keeps only its white space (§7.3.1) */
		size_t n = 0;

		for (size_t i = 0; i < b.len; i++)
			if (b.p[i] != '\r' && b.p[i] != '\n')
				b.p[n++] = b.p[i];
		b.len = n;
	}
	if (!err && !slice_eq(buf_slice(&b), st->req->via.whole)) {
		st->top_via = buf_steal(&b, NULL);
		if (!st->top_via)
			err = -ENOMEM;
	}
	buf_fini(&b);
	return err;
}

/* §9.2: a CANCEL that finds its INVITE is answered 200 here, and the
 * INVITE, still pending, 487. The handler hears of it afterwards. */
static void cancel_invite(struct txn_srv *cancel, struct txn_srv *inv)
{
	/* "the To tag of the response to the CANCEL and the To tag in the
	 * response to the original request SHOULD be the same" */
	txn_srv_reply(cancel, 200, NULL,
		      &(struct txn_reply_opts){.to_tag = srv_tag(inv)});
	if (txn_srv_is_pending(inv))
		txn_srv_reply(inv, 487, NULL, NULL);
}

static void srv_start(struct txn_layer *l, const struct net_rx *rx,
		      struct sip_msg *m, uint64_t hash)
{
	struct txn_srv *st, *inv;

	st = mem_zalloc(sizeof(*st));
	if (!st) {
		sip_msg_free(m);
		l->stats.dropped++;
		return;
	}
	st->refs = 1; /* the layer's, dropped at Terminated */
	st->l = l;
	st->req = m;
	st->key = (struct txn_srv_key){
		.branch = m->via.branch,
		.host = m->via.host,
		.method = m->method,
		.port = m->via.port,
		.has_port = m->via.has_port,
	};
	st->is_invite = m->method_id == SIP_METHOD_INVITE;
	st->is_reliable = rx->proto != NET_UDP;
	st->is_rfc3261 = txn_branch_is_rfc3261(m->via.branch);
	st->state = st->is_invite ? TXN_SRV_PROCEEDING : TXN_SRV_TRYING;
	source_fill(&st->src, rx);
	txn_response_dest(&m->via, rx, &st->dest);
	/* Timer G and the 100 timer are the INVITE's only */
	if (st->is_invite)
		st->ev_retx = txn_timer_new(l, on_retx, st);
	st->ev_timeout = txn_timer_new(l, on_timeout, st);
	if ((st->is_invite && !st->ev_retx) || !st->ev_timeout ||
	    stamp_top_via(st, rx)) {
		st->l = NULL;
		txn_srv_unref(st);
		l->stats.dropped++;
		return;
	}
	txn_htab_insert(&l->srv_tab, &st->hnode, hash);
	l->stats.requests++;
	txn_timer_start_tv(st->ev_timeout, l->tv_64t1); /* the guard */
	if (st->is_invite)
		txn_timer_start_ms(st->ev_retx, TXN_AUTO_100_MS);
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_msg(LOG_LEVEL_DEBUG, TXN_LOG, "server %.*s %.*s: new",
			SLICE_FMT(m->method), SLICE_FMT(m->via.branch));

	/* the call may end the transaction (a reply on a stream): hold it
	 * until the handler is back */
	txn_srv_ref(st);
	if (m->method_id == SIP_METHOD_CANCEL) {
		inv = txn_srv_find(l, m, hash, TXN_MATCH_CANCELLED);
		if (inv)
			cancel_invite(st, inv);
	}
	if (l->on_request)
		l->on_request(l->arg, st, m);
	else
		txn_srv_reply(st, 501, NULL, NULL);
	txn_srv_unref(st);
}

void txn_srv_rx(struct txn_layer *l, const struct net_rx *rx, struct sip_msg *m)
{
	uint64_t hash = txn_srv_hash(l, m);
	struct txn_srv *st = txn_srv_find(l, m, hash, TXN_MATCH_SAME);

	if (st) {
		absorb(st, m);
		sip_msg_free(m);
		return;
	}
	/* ACK never starts a transaction (§17.2.3) */
	if (m->method_id == SIP_METHOD_ACK) {
		pass_ack(l, rx, m);
		return;
	}
	srv_start(l, rx, m, hash);
}
