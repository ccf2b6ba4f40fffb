/* SPDX-License-Identifier: BSD-3-Clause */
/* The credential service's SUBSCRIBE (RFC 6072 §6.6, §7.6, RFC 6665 §4.2.1)
 * and the changes that owe a resource's watchers a NOTIFY (a PUBLISH, a
 * revocation, RFC 6072 §7.7). */
#include "svc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define ALLOW_EVENTS "Allow-Events: certificate, credential"

void svc_reply(struct txn_srv *st, unsigned status, const char *reason,
	       const char *const *hdrs, size_t n)
{
	struct txn_reply_opts o = {.hdrs = hdrs, .n_hdrs = n};

	(void)txn_srv_reply(st, status, reason, &o);
}

/* ---- SUBSCRIBE ---------------------------------------------------------- */

/* The 200 for a SUBSCRIBE whose subscription the store now holds, then
 * the NOTIFY RFC 6665 §4.2.1.2 asks for at once. */
void svc_sub_answer(struct cred_service *c, struct sub *s)
{
	uint64_t now = loop_now_ms();
	unsigned left = s->expires_ms > now
				? (unsigned)((s->expires_ms - now + 500) / 1000)
				: 0;
	char expires[32], contact[320];
	const char *hdrs[3] = {expires, contact, ALLOW_EVENTS};
	struct txn_reply_opts o = {
		.hdrs = hdrs, .n_hdrs = 3, .to_tag = sub_str(s, S_LOCAL_TAG)};

	if (!s->st)
		return;
	snprintf(expires, sizeof(expires), "Expires: %u", left);
	snprintf(contact, sizeof(contact), "Contact: <%s>",
		 c->contact[s->proto]);
	(void)txn_srv_reply(s->st, 200, NULL, &o);
	s->st = txn_srv_unref(s->st);
	c->stats.subscribes++;
	s->flags |= F_DIRTY | F_NOW;
	svc_sub_schedule(c, s);
}

static int contact_of(const struct sip_msg *m, struct sip_addr *out)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CONTACT);
	struct scan sc;
	struct slice v;

	if (!h)
		return -ENOENT;
	sc = scan_of(h->value);
	if (sip_list_next(&sc, &v) || sip_contact_parse(v, out) || out->is_star)
		return -EBADMSG;
	return 0;
}

/* The Record-Route values, in order: the notifier's route set (RFC 3261
 * §12.1.1). */
static int route_set(const struct sip_msg *m, struct buf *out)
{
	for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE); h;
	     h = sip_msg_hdr_next(m, h)) {
		struct scan sc = scan_of(h->value);
		struct slice v;

		while (!sip_list_next(&sc, &v))
			buf_printf(out, "%s%.*s", out->len ? ", " : "",
				   SLICE_FMT(v));
	}
	return out->err;
}

static char *dup_slice(struct slice s, char *buf, size_t n)
{
	if (!s.p || s.len >= n)
		return NULL;
	memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	return buf;
}

static void set_source(struct sub *s, const struct txn_source *src)
{
	s->proto = (uint8_t)src->proto;
	s->flow = src->flow;
	caddr_from(&s->peer, &src->peer);
}

/* Expiry limits and the cap for pkg: a credential subscription never
 * outlives its certificate (§7.6). */
static uint32_t sub_cap(const struct res *r, enum cred_pkg pkg)
{
	int64_t left;

	if (pkg != CRED_PKG_CREDENTIAL || !r->cert ||
	    svc_res_lapsed(r, (int64_t)time(NULL)))
		return UINT32_MAX;
	left = r->not_after - (int64_t)time(NULL);
	return left <= 0 ? 0 : left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
}

/* RFC 6665 §4.2.1.1, RFC 3903 §6 step 3: an expiry below min_s */
void svc_reply_423(struct txn_srv *st, uint32_t min_s)
{
	char min[48];
	const char *hdrs[1] = {min};

	snprintf(min, sizeof(min), "Min-Expires: %u", min_s);
	svc_reply(st, 423, NULL, hdrs, 1);
}

static void subscribe_new(struct cred_service *c, struct txn_srv *st,
			  enum cred_pkg pkg, struct res *r)
{
	const struct sip_msg *m = txn_srv_msg(st);
	struct sip_addr contact;
	char cid[256], rtag[128], lu[256], ru[256], tgt[256], eid[128];
	char tag[TXN_TAG_LEN + 1];
	const char *str[S__N];
	uint32_t granted;
	struct buf routes;
	struct sub *s;
	int err;

	err = cred_expires(m, &c->o.sub_limits, sub_cap(r, pkg), &granted);
	if (err == -ERANGE) {
		svc_reply_423(st, c->o.sub_limits.min_s);
		return;
	}
	if (r->n_subs >= c->o.max_per_aor) {
		const char *hdrs[1] = {"Retry-After: 60"};

		svc_reply(st, 503, "Too many subscriptions to this resource",
			  hdrs, 1);
		return;
	}
	if (contact_of(m, &contact)) {
		svc_reply(st, 400, "Missing or bad Contact", NULL, 0);
		return;
	}
	txn_tag_new(tag);
	str[S_CALL_ID] = dup_slice(m->call_id, cid, sizeof(cid));
	str[S_LOCAL_TAG] = tag;
	str[S_REMOTE_TAG] = dup_slice(m->from.tag, rtag, sizeof(rtag));
	str[S_LOCAL_URI] = slice_eq_cstr(m->to.uri_s, r->aor)
				   ? ""
				   : dup_slice(m->to.uri_s, lu, sizeof(lu));
	str[S_REMOTE_URI] = dup_slice(m->from.uri_s, ru, sizeof(ru));
	str[S_TARGET] = dup_slice(contact.uri_s, tgt, sizeof(tgt));
	str[S_EVENT_ID] =
		m->event.id.p ? dup_slice(m->event.id, eid, sizeof(eid)) : "";
	if (!str[S_CALL_ID] || !str[S_REMOTE_TAG] || !str[S_LOCAL_URI] ||
	    !str[S_REMOTE_URI] || !str[S_TARGET] || !str[S_EVENT_ID]) {
		svc_reply(st, 400,
			  m->from.tag.p ? "Dialog identifiers too long"
					: "From has no tag",
			  NULL, 0);
		return;
	}
	buf_init(&routes, 4096);
	err = route_set(m, &routes);
	if (!err)
		err = buf_append_byte(&routes, '\0');
	str[S_ROUTE] = err ? NULL : routes.p ? routes.p : "";
	s = str[S_ROUTE] ? svc_sub_new(c, r, str) : NULL;
	buf_fini(&routes);
	if (!s) {
		svc_reply(st, err == -EMSGSIZE ? 400 : 500,
			  err == -EMSGSIZE ? "Route set too long" : NULL, NULL,
			  0);
		return;
	}
	s->pkg = (uint8_t)pkg;
	s->remote_cseq = m->cseq.num;
	set_source(s, txn_srv_source(st));
	s->expires_ms = loop_now_ms() + (uint64_t)granted * 1000;
	s->st = txn_srv_ref(st);
	if (!granted) {
		/* RFC 6665 §4.4.3 a fetch: answer, one NOTIFY, done; nothing
		 * to store */
		s->flags |= F_GONE;
		s->reason = R_TIMEOUT;
		svc_sub_answer(c, s);
		return;
	}
	/* answered once the store has it (a 200 means it survives a
	 * restart) */
	jobs_persist(c, s);
}

static void subscribe_in_dialog(struct cred_service *c, struct txn_srv *st,
				enum cred_pkg pkg, const char *aor)
{
	const struct sip_msg *m = txn_srv_msg(st);
	struct sub *s = svc_sub_find(c, m->call_id, m->to.tag, m->from.tag);
	struct sip_addr contact;
	uint32_t granted;
	int err;

	/* RFC 6665 §4.2.1.2: a refresh of a subscription we do not know */
	if (!s || (s->flags & F_GONE)) {
		svc_reply(st, 481, NULL, NULL, 0);
		return;
	}
	/* RFC 6072 §6.9: one subscription per resource per dialog */
	if (s->pkg != pkg || strcmp(s->res->aor, aor) ||
	    !slice_eq_cstr(m->event.id.p ? m->event.id : slice_of("", 0),
			   sub_str(s, S_EVENT_ID))) {
		svc_reply(st, 403, "One subscription per dialog", NULL, 0);
		return;
	}
	/* RFC 3261 §12.2.2: CSeq must grow within the dialog */
	if (m->cseq.num <= s->remote_cseq) {
		svc_reply(st, 500, "CSeq out of order", NULL, 0);
		return;
	}
	err = cred_expires(m, &c->o.sub_limits, sub_cap(s->res, pkg), &granted);
	if (err == -ERANGE) {
		svc_reply_423(st, c->o.sub_limits.min_s);
		return;
	}
	/* RFC 6665 §3.1: SUBSCRIBE is a target refresh request, so its
	 * Contact becomes the dialog's remote target (RFC 3261 §12.2.2):
	 * the Request-URI of the NOTIFYs from now on, stored with it */
	if (!contact_of(m, &contact) &&
	    !slice_eq_cstr(contact.uri_s, sub_str(s, S_TARGET))) {
		char tgt[256];
		const char *t = dup_slice(contact.uri_s, tgt, sizeof(tgt));
		struct sub *moved = t ? svc_sub_retarget(c, s, t) : NULL;

		if (!moved) {
			svc_reply(st, t ? 500 : 400,
				  t ? NULL : "Contact too long", NULL, 0);
			return;
		}
		s = moved;
	}
	s->remote_cseq = m->cseq.num;
	set_source(s, txn_srv_source(st));
	if (s->st) {
		/* an earlier refresh still waiting: this one supersedes it */
		svc_sub_answer(c, s);
	}
	s->st = txn_srv_ref(st);
	s->expires_ms = loop_now_ms() + (uint64_t)granted * 1000;
	if (!granted) {
		/* unsubscribe: 200, then the final NOTIFY (RFC 6665
		 * §4.2.1.4) */
		s->flags |= F_GONE;
		s->reason = R_TIMEOUT;
		svc_sub_answer(c, s); /* its removal deletes the record */
		return;
	}
	jobs_persist(c, s);
}

void cred_subscribe(struct cred_service *c, struct txn_srv *st,
		    enum cred_pkg pkg, const char *aor)
{
	const struct sip_msg *m = txn_srv_msg(st);
	struct waiter *w;
	struct res *r;
	bool ok;

	if (c->is_closing) {
		svc_reply(st, 503, "Shutting down", NULL, 0);
		return;
	}
	if (cred_accept_ok(m, pkg, &ok)) {
		svc_reply(st, 400, "Malformed Accept", NULL, 0);
		return;
	}
	if (!ok) {
		/* RFC 6072 §6.4, §7.4: we send only these types */
		static const char accept_cred[] =
			"Accept: multipart/mixed, application/pkix-cert, "
			"application/pkcs8";
		const char *hdrs[1] = {pkg == CRED_PKG_CERTIFICATE
					       ? "Accept: application/pkix-cert"
					       : accept_cred};

		svc_reply(st, 406, NULL, hdrs, 1);
		return;
	}
	if (m->to.tag.p) {
		subscribe_in_dialog(c, st, pkg, aor);
		return;
	}
	if (c->n_subs >= c->o.max_subscriptions) {
		const char *hdrs[1] = {"Retry-After: 60"};

		svc_reply(st, 503, "Too many subscriptions", hdrs, 1);
		return;
	}
	r = svc_res_get(c, aor, true);
	if (!r) {
		svc_reply(st, 500, NULL, NULL, 0);
		return;
	}
	/* a lapsed credential is read again first: another device's may
	 * be current (RFC 6072 §6.7: the current certificate) */
	if (r->is_ready && !svc_res_lapsed(r, (int64_t)time(NULL))) {
		subscribe_new(c, st, pkg, r);
		svc_res_maybe_idle(c, r);
		return;
	}
	if (r->is_ready)
		r->notify_all = true; /* lapsed: its watchers learn too */
	w = mem_zalloc(sizeof(*w));
	if (!w || jobs_load(c, r)) {
		mem_free(w);
		svc_reply(st, 500, NULL, NULL, 0);
		svc_res_maybe_idle(c, r);
		return;
	}
	w->st = txn_srv_ref(st);
	w->pkg = pkg;
	w->next = r->waiters;
	r->waiters = w;
}

/* Owed to every watcher of r (a new credential, a revocation). */
static void res_notify_all(struct cred_service *c, struct res *r)
{
	bool deactivate = r->deactivate;

	uint64_t now = loop_now_ms();
	uint32_t cap = sub_cap(r, CRED_PKG_CREDENTIAL);

	r->notify_all = r->deactivate = false;
	for (struct sub *s = r->subs; s; s = s->res_next) {
		if (s->flags & F_GONE)
			continue;
		s->flags |= F_DIRTY;
		/* §7.6: a credential subscription never outlives the
		 * certificate it now carries */
		if (s->pkg == CRED_PKG_CREDENTIAL && cap != UINT32_MAX &&
		    now + (uint64_t)cap * 1000 < s->expires_ms)
			s->expires_ms = now + (uint64_t)cap * 1000;
		if (deactivate && s->pkg == CRED_PKG_CREDENTIAL) {
			/* §7.7: end it so the subscriber re-authenticates */
			s->flags |= F_GONE | F_NOW;
			s->reason = R_DEACTIVATED;
		}
		svc_sub_schedule(c, s);
	}
}

/* A load finished: the waiting SUBSCRIBEs go on, and the watchers that
 * were owed a NOTIFY get it. */
void svc_res_loaded(struct cred_service *c, struct res *r)
{
	struct waiter *w = r->waiters, *next;

	r->waiters = NULL;
	for (; w; w = next) {
		next = w->next;
		if (txn_srv_is_pending(w->st))
			subscribe_new(c, w->st, w->pkg, r);
		txn_srv_unref(w->st);
		mem_free(w);
	}
	if (r->notify_all) {
		res_notify_all(c, r);
	} else {
		for (struct sub *s = r->subs; s; s = s->res_next)
			if (s->flags & F_DIRTY)
				svc_sub_schedule(c, s);
	}
	svc_res_maybe_idle(c, r);
}

void cred_changed(struct cred_service *c, const char *aor, bool revoked)
{
	struct res *r = svc_res_get(c, aor, false);

	if (!r)
		return;
	r->notify_all = true;
	r->deactivate = r->deactivate || revoked;
	if (jobs_load(c, r))
		log_msg(LOG_LEVEL_ERR, "cred", "cannot reload %s", aor);
	svc_res_maybe_idle(c, r);
}

void cred_deactivate(struct cred_service *c, const char *aor)
{
	struct res *r = svc_res_get(c, aor, false);

	if (!r)
		return;
	for (struct sub *s = r->subs; s; s = s->res_next) {
		if (s->pkg != CRED_PKG_CREDENTIAL || (s->flags & F_GONE))
			continue;
		s->flags |= F_GONE | F_DIRTY | F_NOW;
		s->reason = R_DEACTIVATED;
		svc_sub_schedule(c, s);
	}
	svc_res_maybe_idle(c, r);
}

void cred_publish(struct cred_service *c, struct txn_srv *st, const char *aor)
{
	int err;

	if (c->is_closing) {
		svc_reply(st, 503, "Shutting down", NULL, 0);
		return;
	}
	err = jobs_publish(c, st, aor);
	if (err)
		svc_reply(st, 500, NULL, NULL, 0);
}
