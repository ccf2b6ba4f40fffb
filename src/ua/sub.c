/* SPDX-License-Identifier: BSD-3-Clause */
/* Subscriptions as a subscriber (RFC 6665 §4.1): SUBSCRIBE, the dialog
 * from its 2xx or an earlier NOTIFY (§4.1.2.4), NOTIFY answers (§4.1.3),
 * refresh (§4.1.2.2), fetch (§4.4.3) and un-SUBSCRIBE (§4.1.2.3). */
#include "ua/engine.h"

#include <string.h>

#include "loop/loop.h"

enum sub_state {
	SUB_STARTING, /* the initial SUBSCRIBE has no 2xx yet */
	SUB_ACTIVE,
	SUB_ENDING, /* un-SUBSCRIBE sent */
	SUB_OVER,   /* is_over on its way */
};

enum sub_req {
	REQ_INITIAL,
	REQ_REFRESH,
	REQ_UNSUB,
};

enum sub_timer {
	TM_NONE,
	TM_REFRESH, /* send the refresh */
	TM_EXPIRE,  /* a refresh failed; the subscription runs out now */
	TM_GUARD,   /* waiting for the last NOTIFY or answer (64*T1) */
};

enum { SUB_TEXT_MAX = 128 };

struct ua_sub {
	struct ua_link link; /* in u->subs until destroyed */
	struct ua *u;
	char *ruri, *event, *accept;
	unsigned expires;
	bool tls_only;
	bool is_fetch; /* Expires 0: over after its 2xx and final NOTIFY */
	ua_notify_cb *on_notify;
	ua_sub_cb *on_event;
	void *arg;
	enum sub_state state;
	/* the dialog (RFC 3261 §12) */
	char call_id[33];
	char local_tag[TXN_TAG_LEN + 1];
	char *remote_tag;
	char *remote_target;
	char *routes[UA_MAX_ROUTES];
	size_t n_routes;
	uint32_t cseq;
	uint32_t remote_cseq;
	bool has_remote_cseq;
	struct ua_hop hop; /* the next hop of the initial SUBSCRIBE */
	/* the request in progress */
	struct ua_txn *req;
	enum sub_req req_kind;
	bool got_2xx, got_terminated;
	struct event *timer;
	enum sub_timer timer_kind;
	uint64_t expires_at_ms;
	/* the end, told from the loop */
	struct event *over_ev;
	int over_err;
	unsigned over_status;
	char phrase[SUB_TEXT_MAX];
	char reason[SUB_TEXT_MAX];
	unsigned in_cb;
	bool is_freed; /* ua_sub_free() from a callback: freed after it */
};

static void copy_text(char *out, struct slice s)
{
	size_t n = s.len < SUB_TEXT_MAX - 1 ? s.len : SUB_TEXT_MAX - 1;

	if (n)
		memcpy(out, s.p, n);
	out[n] = '\0';
}

/* ---- life and death --------------------------------------------------- */

static void dialog_fini(struct ua_sub *s)
{
	mem_free(s->remote_tag);
	mem_free(s->remote_target);
	for (size_t i = 0; i < s->n_routes; i++)
		mem_free(s->routes[i]);
	s->remote_tag = s->remote_target = NULL;
	s->n_routes = 0;
}

/* Stop everything that could call back; NOTIFYs still queued for it get
 * a 481 when their turn comes. */
static void sub_quiesce(struct ua_sub *s)
{
	if (s->req) {
		ua_txn_cancel(s->req);
		s->req = NULL;
	}
	if (s->timer)
		evtimer_del(s->timer);
	if (s->over_ev)
		event_del(s->over_ev);
	for (struct ua_link *l = s->u->ins; l; l = l->next) {
		struct ua_in *in = container_of(l, struct ua_in, link);

		if (in->sub == s)
			in->sub = NULL;
	}
}

static void sub_destroy(struct ua_sub *s)
{
	sub_quiesce(s);
	ua_link_del(&s->link);
	if (s->timer)
		event_free(s->timer);
	if (s->over_ev)
		event_free(s->over_ev);
	dialog_fini(s);
	mem_free(s->ruri);
	mem_free(s->event);
	mem_free(s->accept);
	mem_free(s);
}

/* After a callback into the user: false when s (or the whole engine) is
 * gone and must not be touched. */
static bool cb_leave(struct ua_sub *s, struct ua *u, struct ua_guard *g)
{
	if (!ua_guard_pop(u, g))
		return false;
	s->in_cb--;
	if (s->is_freed) {
		if (!s->in_cb)
			sub_destroy(s);
		return false;
	}
	return true;
}

static bool emit(struct ua_sub *s, int err, unsigned status,
		 struct slice phrase)
{
	struct ua *u = s->u;
	struct ua_guard g;

	if (!s->on_event)
		return true;
	s->in_cb++;
	ua_guard_push(u, &g);
	s->on_event(s->arg, s,
		    &(struct ua_sub_event){
			    .err = err,
			    .status = status,
			    .phrase = phrase,
		    });
	return cb_leave(s, u, &g);
}

/* The end, exactly once: stop, and tell from the loop. */
static void sub_over(struct ua_sub *s, int err, unsigned status,
		     struct slice phrase, struct slice reason)
{
	if (s->state == SUB_OVER)
		return;
	sub_quiesce(s);
	s->state = SUB_OVER;
	s->over_err = err;
	s->over_status = status;
	copy_text(s->phrase, phrase);
	copy_text(s->reason, reason);
	ua_event_now(s->over_ev);
}

static void on_over(evutil_socket_t fd, short what, void *arg)
{
	struct ua_sub *s = arg;
	struct ua *u = s->u;
	struct ua_guard g;

	(void)fd;
	(void)what;
	if (!s->on_event) {
		sub_destroy(s);
		return;
	}
	/* still linked: a ua_free() from the callback frees it */
	s->in_cb++;
	ua_guard_push(u, &g);
	s->on_event(s->arg, s,
		    &(struct ua_sub_event){
			    .err = s->over_err,
			    .status = s->over_status,
			    .phrase = slice_cstr(s->phrase),
			    .is_over = true,
			    .reason = slice_cstr(s->reason),
		    });
	if (!ua_guard_pop(u, &g))
		return;
	sub_destroy(s);
}

/* ---- the dialog -----------------------------------------------------------
 */

/* The first Contact's URI: the remote target (RFC 3261 §12.1.2). */
static int set_target(struct ua_sub *s, const struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CONTACT);
	struct sip_addr a;
	struct slice elem;
	struct scan sc;
	char *t;

	if (!h)
		return 0;
	sc = scan_of(h->value);
	if (sip_list_next(&sc, &elem) || sip_contact_parse(elem, &a) ||
	    a.is_star ||
	    (a.uri.scheme != SIP_URI_SIP && a.uri.scheme != SIP_URI_SIPS))
		return -EBADMSG;
	t = slice_dup(a.uri_s);
	if (!t)
		return -ENOMEM;
	mem_free(s->remote_target);
	s->remote_target = t;
	return 0;
}

/* The route set from Record-Route: reversed from a response (RFC 3261
 * §12.1.2), as it came from a request (§12.1.1, a NOTIFY that made the
 * dialog). */
static int set_routes(struct ua_sub *s, const struct sip_msg *m,
		      bool is_reversed)
{
	char *v[UA_MAX_ROUTES];
	size_t n = 0;

	for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE); h;
	     h = sip_msg_hdr_next(m, h)) {
		struct scan sc = scan_of(h->value);
		struct slice elem;

		while (!sip_list_next(&sc, &elem)) {
			if (n == UA_MAX_ROUTES)
				goto fail;
			v[n] = slice_dup(elem);
			if (!v[n])
				goto fail;
			n++;
		}
	}
	for (size_t i = 0; i < s->n_routes; i++)
		mem_free(s->routes[i]);
	for (size_t i = 0; i < n; i++)
		s->routes[i] = v[is_reversed ? n - 1 - i : i];
	s->n_routes = n;
	return 0;
fail:
	while (n)
		mem_free(v[--n]);
	return -EMSGSIZE;
}

/* The dialog from a 2xx or a NOTIFY, once: the remote tag, target and
 * route set. */
static int dialog_make(struct ua_sub *s, const struct sip_msg *m,
		       bool is_response)
{
	struct slice tag = is_response ? m->to.tag : m->from.tag;
	int err;

	if (s->remote_tag)
		return 0;
	if (!tag.p || !tag.len)
		return -EBADMSG;
	s->remote_tag = slice_dup(tag);
	if (!s->remote_tag)
		return -ENOMEM;
	err = set_target(s, m);
	if (!err)
		err = set_routes(s, m, is_response);
	if (err)
		dialog_fini(s);
	return err;
}

/* ---- sending --------------------------------------------------------------
 */

static void on_sub_resp(void *arg, int err, const struct sip_msg *resp);

static int send_subscribe(struct ua_sub *s, enum sub_req kind, unsigned exp)
{
	bool in_dialog = kind != REQ_INITIAL;
	const char *hdrs[3];
	struct buf b[3];
	size_t n = 0;
	int err = 0;

	/* RFC 6665 §4.1.2.1: Event, Expires, and what we accept */
	for (size_t i = 0; i < ARRAY_SIZE(b); i++)
		buf_init(&b[i], 1024);
	buf_printf(&b[n++], "Event: %s", s->event);
	buf_printf(&b[n++], "Expires: %u", exp);
	if (s->accept)
		buf_printf(&b[n++], "Accept: %s", s->accept);
	for (size_t i = 0; i < n && !err; i++)
		err = buf_cstr(&b[i], &hdrs[i]);
	if (!err)
		err = ua_txn_start(
			s->u,
			&(struct ua_req_spec){
				.method = "SUBSCRIBE",
				/* §12.2.1.1: in the dialog, to its target */
				.ruri = in_dialog && s->remote_target
						? s->remote_target
						: s->ruri,
				.to = s->ruri,
				.to_tag = in_dialog ? s->remote_tag : NULL,
				.from_tag = s->local_tag,
				.call_id = s->call_id,
				.cseq = s->cseq + 1,
				.routes =
					in_dialog
						? (const char *const *)s->routes
						: NULL,
				.n_routes = in_dialog ? s->n_routes : 0,
				.hdrs = hdrs,
				.n_hdrs = n,
				.tls_only = s->tls_only,
				.with_contact = true,
				/* the same next hop as the initial SUBSCRIBE
				 * (its flow while it lives) */
				.hop = in_dialog ? &s->hop : NULL,
				.hop_out = &s->hop,
				.cseq_out = &s->cseq,
			},
			on_sub_resp, s, &s->req);
	for (size_t i = 0; i < ARRAY_SIZE(b); i++)
		buf_fini(&b[i]);
	if (!err) {
		s->cseq++;
		s->req_kind = kind;
	}
	return err;
}

static void timer_start(struct ua_sub *s, enum sub_timer kind, uint64_t ms)
{
	evtimer_del(s->timer);
	s->timer_kind = kind;
	ua_event_in_ms(s->timer, ms);
}

/* RFC 6665 §4.1.2.1: refresh before the granted time runs out: at half
 * of it, and at least 5 s before the end when there is room for that. */
static void schedule_refresh(struct ua_sub *s, uint32_t granted_s)
{
	uint64_t total = (uint64_t)granted_s * 1000, ms = total / 2;

	if (total > 5000 && total - ms < 5000)
		ms = total - 5000;
	s->expires_at_ms = loop_now_ms() + total;
	timer_start(s, TM_REFRESH, ms);
}

/* Waiting for the final NOTIFY and the answer, at most 64*T1 (32 s). */
static void guard_start(struct ua_sub *s)
{
	timer_start(s, TM_GUARD, 64 * ua_t1_ms(s->u));
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ua_sub *s = arg;
	int err;

	(void)fd;
	(void)what;
	switch (s->timer_kind) {
	case TM_REFRESH:
		if (s->state != SUB_ACTIVE || s->req)
			return;
		err = send_subscribe(s, REQ_REFRESH, s->expires);
		if (err)
			sub_over(s, err, 0, SLICE_NULL, SLICE_NULL);
		return;
	case TM_EXPIRE:
		sub_over(s, -ETIMEDOUT, 0, SLICE_NULL, SLICE_NULL);
		return;
	case TM_GUARD:
		/* an un-SUBSCRIBE ends anyway; a fetch never got its
		 * NOTIFY */
		sub_over(s, s->state == SUB_ENDING ? 0 : -ETIMEDOUT, 0,
			 SLICE_NULL, SLICE_NULL);
		return;
	case TM_NONE:
		return;
	}
}

/* ---- answers to our SUBSCRIBEs ------------------------------------------ */

static uint32_t granted_of(const struct ua_sub *s, const struct sip_msg *r,
			   unsigned asked)
{
	(void)s;
	/* RFC 6665 §4.1.2.1: the 2xx's Expires is the duration; a notifier
	 * may shorten it, never lengthen */
	if (r->has_expires && r->expires < asked)
		return r->expires;
	return asked;
}

static void initial_answered(struct ua_sub *s, int err,
			     const struct sip_msg *resp)
{
	uint32_t granted;

	if (err || resp->status >= 300) {
		/* RFC 6665 §4.1.2.1: a failure means no subscription */
		sub_over(s, err, resp ? resp->status : 0,
			 resp ? resp->reason : SLICE_NULL, SLICE_NULL);
		return;
	}
	s->got_2xx = true;
	err = dialog_make(s, resp, true);
	if (err) {
		sub_over(s, err == -ENOMEM ? err : -EPROTO, resp->status,
			 resp->reason, SLICE_NULL);
		return;
	}
	granted = granted_of(s, resp, s->expires);
	if (s->is_fetch || !granted) {
		/* RFC 6665 §4.4.3: a fetch ends with its one NOTIFY */
		s->is_fetch = true;
		if (s->got_terminated) {
			if (emit(s, 0, resp->status, resp->reason))
				sub_over(s, 0, 0, SLICE_NULL,
					 slice_cstr(s->reason));
			return;
		}
		guard_start(s);
	} else {
		s->state = SUB_ACTIVE;
		schedule_refresh(s, granted);
	}
	(void)emit(s, 0, resp->status, resp->reason);
}

static void refresh_answered(struct ua_sub *s, int err,
			     const struct sip_msg *resp)
{
	uint64_t now = loop_now_ms();
	uint32_t granted;

	if (!err && resp->status < 300) {
		granted = granted_of(s, resp, s->expires);
		if (!granted) {
			/* the notifier ends it: its NOTIFY follows */
			s->is_fetch = true;
			s->got_2xx = true;
			guard_start(s);
			return;
		}
		(void)set_target(s, resp);
		schedule_refresh(s, granted);
		return;
	}
	/* RFC 6665 §4.1.2.2: 404, 405, 410, 416, 480-485, 489, 501 and 604
	 * say the subscription is gone; without an answer (408, timeout,
	 * transport) we cannot keep it either */
	if (err || sip_status_ends_subscription(resp->status)) {
		sub_over(s, err, resp ? resp->status : 0,
			 resp ? resp->reason : SLICE_NULL, SLICE_NULL);
		return;
	}
	/* any other failure: it lasts until the time granted runs out */
	if (!emit(s, 0, resp->status, resp->reason))
		return;
	timer_start(s, TM_EXPIRE,
		    s->expires_at_ms > now ? s->expires_at_ms - now : 0);
}

static void unsub_answered(struct ua_sub *s, int err,
			   const struct sip_msg *resp)
{
	if (err || resp->status >= 300) {
		sub_over(s, err, resp ? resp->status : 0,
			 resp ? resp->reason : SLICE_NULL, SLICE_NULL);
		return;
	}
	/* RFC 6665 §4.1.2.3: the NOTIFY with terminated follows (or came
	 * already) */
	s->got_2xx = true;
	if (s->got_terminated)
		sub_over(s, 0, 0, SLICE_NULL, slice_cstr(s->reason));
}

static void on_sub_resp(void *arg, int err, const struct sip_msg *resp)
{
	struct ua_sub *s = arg;

	s->req = NULL;
	if (s->state == SUB_OVER)
		return;
	switch (s->req_kind) {
	case REQ_INITIAL:
		initial_answered(s, err, resp);
		break;
	case REQ_REFRESH:
		refresh_answered(s, err, resp);
		break;
	case REQ_UNSUB:
		unsub_answered(s, err, resp);
		break;
	}
}

/* ---- NOTIFY ----------------------------------------------------------- */

struct ua_sub *ua_sub_match(struct ua *u, const struct sip_msg *m)
{
	if (!m->has_event || m->event.id.p || !m->to.tag.p)
		return NULL;
	for (struct ua_link *l = u->subs; l; l = l->next) {
		struct ua_sub *s = container_of(l, struct ua_sub, link);

		/* RFC 6665 §4.1.2.4: Call-ID, the tags (the notifier's
		 * once we know it) and the Event package with its id (we
		 * send none) */
		if (s->state == SUB_OVER || s->is_freed ||
		    !slice_eq_cstr(m->call_id, s->call_id) ||
		    !slice_eq_cstr(m->to.tag, s->local_tag) ||
		    (s->remote_tag &&
		     !slice_eq_cstr(m->from.tag, s->remote_tag)) ||
		    !slice_caseeq_cstr(m->event.package, s->event))
			continue;
		return s;
	}
	return NULL;
}

static void reply(struct ua_in *in, unsigned status)
{
	(void)txn_srv_reply(in->st, status, NULL, NULL);
	ua_in_free(in);
}

/* Checks before the handler sees it: 0, or the status to answer. */
static unsigned notify_check(struct ua_sub *s, const struct sip_msg *m,
			     struct sip_substate *ss)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_SUBSCRIPTION_STATE);

	if (s->state == SUB_OVER ||
	    (s->remote_tag && !slice_eq_cstr(m->from.tag, s->remote_tag)))
		return 481;
	/* RFC 3261 §12.2.2: an older CSeq than one seen is refused */
	if (s->has_remote_cseq && m->cseq.num < s->remote_cseq)
		return 500;
	/* RFC 6665 §8.2.3: Subscription-State is mandatory in a NOTIFY */
	if (!h || sip_substate_parse(h->value, ss))
		return 400;
	return 0;
}

void ua_sub_notify(struct ua_sub *s, struct ua_in *in)
{
	struct ua *u = s->u;
	const struct sip_msg *m = txn_srv_msg(in->st);
	struct sip_substate ss;
	struct ua_notify n = {0};
	struct ua_guard g;
	unsigned status;
	int err;

	status = notify_check(s, m, &ss);
	if (status) {
		reply(in, status);
		return;
	}
	/* RFC 6665 §4.1.2.4: a NOTIFY before the 2xx makes the dialog */
	err = dialog_make(s, m, false);
	if (!err && s->remote_tag)
		/* RFC 3261 §12.2.2: a target refresh moves the target */
		err = set_target(s, m);
	if (err) {
		reply(in, err == -ENOMEM ? 500 : 400);
		return;
	}
	s->remote_cseq = m->cseq.num;
	s->has_remote_cseq = true;
	n.msg = m;
	n.src = txn_srv_source(in->st);
	if (slice_caseeq_cstr(ss.state, "terminated"))
		n.state = UA_SUB_TERMINATED;
	else if (slice_caseeq_cstr(ss.state, "pending"))
		n.state = UA_SUB_PENDING;
	else /* active, or an extension value understood as such */
		n.state = UA_SUB_ACTIVE;
	n.reason = ss.reason;
	n.expires = ss.has_expires ? ss.expires : 0;
	if (n.state == UA_SUB_TERMINATED)
		copy_text(s->reason, ss.reason);
	status = 200;
	if (s->on_notify) {
		s->in_cb++;
		ua_guard_push(u, &g);
		status = s->on_notify(s->arg, s, &n);
		if (!ua_guard_pop(u, &g))
			return; /* ua_free() took in with it */
		s->in_cb--;
		if (status < 200 || status > 699)
			status = 500;
	}
	reply(in, status);
	if (s->is_freed) {
		if (!s->in_cb)
			sub_destroy(s);
		return;
	}
	if (s->state == SUB_OVER)
		return;
	if (status >= 300) {
		/* RFC 6665 §4.1.3: refusing a NOTIFY ends the subscription;
		 * nothing more is sent */
		sub_over(s, 0, 0, SLICE_NULL, SLICE_NULL);
		return;
	}
	if (n.state == UA_SUB_TERMINATED) {
		s->got_terminated = true;
		/* a fetch or un-SUBSCRIBE also waits for its answer */
		if ((s->is_fetch || s->state == SUB_ENDING) && !s->got_2xx &&
		    s->req)
			return;
		sub_over(s, 0, 0, SLICE_NULL, slice_cstr(s->reason));
		return;
	}
	/* RFC 6665 §4.1.3: expires in Subscription-State adjusts ours */
	if (s->state == SUB_ACTIVE && !s->is_fetch && !s->req &&
	    ss.has_expires && ss.expires && ss.expires <= s->expires)
		schedule_refresh(s, ss.expires);
}

/* ---- the API ------------------------------------------------------------ */

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!char_is_token((unsigned char)*s))
			return false;
	return true;
}

int ua_subscribe(struct ua *u, const struct ua_sub_opts *o, struct ua_sub **out)
{
	struct ua_sub *s;
	int err = -ENOMEM;

	if (!u || !o || !o->ruri || !o->event || !out || !is_token(o->event))
		return -EINVAL;
	s = mem_zalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->u = u;
	s->ruri = mem_strdup(o->ruri);
	s->event = mem_strdup(o->event);
	s->accept = o->accept ? mem_strdup(o->accept) : NULL;
	s->timer = ua_event_new(u, on_timer, s);
	s->over_ev = ua_event_new(u, on_over, s);
	if (!s->ruri || !s->event || (o->accept && !s->accept) || !s->timer ||
	    !s->over_ev)
		goto out;
	s->expires = o->expires;
	s->is_fetch = o->expires == 0;
	s->tls_only = o->tls_only;
	s->on_notify = o->on_notify;
	s->on_event = o->on_event;
	s->arg = o->arg;
	s->state = SUB_STARTING;
	txn_tag_new(s->local_tag);
	ua_random_hex(s->call_id, sizeof(s->call_id));
	ua_link_add(&u->subs, &s->link);
	err = send_subscribe(s, REQ_INITIAL, s->expires);
out:
	if (err) {
		sub_destroy(s);
		return err;
	}
	*out = s;
	return 0;
}

void ua_sub_end(struct ua_sub *s)
{
	int err;

	if (!s || s->is_freed || s->state == SUB_OVER || s->state == SUB_ENDING)
		return;
	if (s->is_fetch || !s->remote_tag || !s->hop.addr.len) {
		/* no dialog to end in (a fetch ends by itself): stop */
		sub_over(s, 0, 0, SLICE_NULL, SLICE_NULL);
		return;
	}
	if (s->req) {
		ua_txn_cancel(s->req);
		s->req = NULL;
	}
	/* RFC 6665 §4.1.2.3: SUBSCRIBE with Expires 0 in the dialog; then
	 * it is over with the final NOTIFY and the answer, or after 64*T1 */
	s->state = SUB_ENDING;
	s->got_2xx = false;
	s->got_terminated = false;
	guard_start(s);
	err = send_subscribe(s, REQ_UNSUB, 0);
	if (err)
		sub_over(s, err, 0, SLICE_NULL, SLICE_NULL);
}

void ua_sub_free(struct ua_sub *s)
{
	if (!s)
		return;
	if (s->in_cb) {
		/* inside one of its callbacks: freed when it returns */
		sub_quiesce(s);
		s->is_freed = true;
		return;
	}
	sub_destroy(s);
}

void ua_sub_free_all(struct ua *u)
{
	struct ua_link *l;

	while ((l = u->subs))
		sub_destroy(container_of(l, struct ua_sub, link));
}
