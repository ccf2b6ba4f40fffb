/* SPDX-License-Identifier: BSD-3-Clause */
/* The credential service's NOTIFYs on their way: due by the deadline heap at
 * one per rate window (RFC 6072 §6.10, §7.12), signed on the worker pool
 * (RFC 4474 §5, RFC 6072 §8), sent and answered (RFC 6665 §4.2.2). */
#include "svc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum {
	NOTIFY_MAX_BYTES = 512 * 1024,
	/* RFC 3261 §18.1.1: over 1300 bytes goes by TCP; the transaction
	 * layer adds a Via of at most this much */
	VIA_ROOM = 200,
	UDP_MAX = 1300,
	RETRY_MS = 200,
	/* NOTIFYs handed to the signers at once: a fan-out to thousands of
	 * watchers is built as the signers catch up, not all up front
	 * (SIGN_REFILL left: build more) */
	SIGN_AHEAD = 512,
	SIGN_REFILL = 128,
};

/* ---- NOTIFY ------------------------------------------------------------- */

void svc_notify_free(struct notify *n)
{
	if (n->key)
		EVP_PKEY_free(n->key);
	buf_fini(&n->head);
	buf_fini(&n->tail);
	buf_fini(&n->out);
	mem_free(n);
}

/* A signing context for key, from those the worker threads gave back
 * (one made when none fits): setting one up costs more than hashing the
 * NOTIFY. NULL when none can be made; the job then signs with the key. */
static struct identity_signer *signer_take(struct cred_service *c,
					   EVP_PKEY *key)
{
	struct identity_signer *sg = NULL;

	pthread_mutex_lock(&c->signers_mu);
	if (c->n_signers)
		sg = c->signers[--c->n_signers];
	pthread_mutex_unlock(&c->signers_mu);
	/* made for a key a SIGHUP has replaced since */
	if (sg && !identity_signer_is_for(sg, key, c->o.alg)) {
		identity_signer_free(sg);
		sg = NULL;
	}
	if (!sg && identity_signer_new(&sg, key, c->o.alg))
		sg = NULL;
	return sg;
}

static void signer_give(struct cred_service *c, struct identity_signer *sg)
{
	pthread_mutex_lock(&c->signers_mu);
	if (c->n_signers < CRED_SIGNERS_MAX) {
		c->signers[c->n_signers++] = sg;
		sg = NULL;
	}
	pthread_mutex_unlock(&c->signers_mu);
	identity_signer_free(sg);
}

/* Drop every kept signer (and with it its reference to the key). */
void svc_signers_clear(struct cred_service *c)
{
	pthread_mutex_lock(&c->signers_mu);
	while (c->n_signers)
		identity_signer_free(c->signers[--c->n_signers]);
	pthread_mutex_unlock(&c->signers_mu);
}

static void notify_sign_job(void *arg)
{
	struct notify *n = arg;
	struct cred_service *c = n->c;
	struct identity_signer *sg;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	sg = signer_take(c, n->key);
	if (sg) {
		n->err = cred_notify_sign_with(sg, c->info_url,
					       buf_slice(&n->head),
					       buf_slice(&n->tail), &n->out);
		signer_give(c, sg);
	} else {
		n->err = cred_notify_sign(n->key, c->o.alg, c->info_url,
					  buf_slice(&n->head),
					  buf_slice(&n->tail), &n->out);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	n->sign_ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u +
		     (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec;
}

static void sub_failed(struct cred_service *c, struct sub *s, const char *why)
{
	c->stats.notifies_failed++;
	log_msg(LOG_LEVEL_INFO, "cred",
		"subscription %s to %s (%s) removed: %s",
		sub_str(s, S_LOCAL_TAG), s->res->aor, cred_pkg_name(s->pkg),
		why);
	svc_sub_remove(c, s);
}

static void notify_resp(void *arg, int err, const struct sip_msg *resp)
{
	struct notify *n = arg;
	struct cred_service *c = n->c;
	struct sub *s = n->sub;
	char why[64];

	if (!err && resp && resp->status < 200)
		return;
	c->n_notifies--;
	svc_notify_free(n);
	if (!s)
		return;
	s->notify = NULL;
	/* RFC 6665 §4.2.2: a NOTIFY that times out, or is answered with one
	 * of the codes sip_status_ends_subscription() lists, removes the
	 * subscription; so does a transport failure (the flow is gone). */
	if (err || !resp) {
		snprintf(why, sizeof(why), "NOTIFY failed: %s",
			 err == -ETIMEDOUT ? "no answer" : strerror(-err));
		sub_failed(c, s, why);
		return;
	}
	if (sip_status_ends_subscription(resp->status)) {
		snprintf(why, sizeof(why), "NOTIFY answered %u", resp->status);
		sub_failed(c, s, why);
		return;
	}
	if (resp->status >= 300)
		log_msg(LOG_LEVEL_INFO, "cred", "NOTIFY to %s answered %u",
			sub_str(s, S_TARGET), resp->status);
	if ((s->flags & F_GONE) && !(s->flags & F_DIRTY)) {
		/* the final NOTIFY went out: the subscription is over */
		svc_sub_remove(c, s);
		return;
	}
	svc_sub_schedule(c, s);
}

/* Where the NOTIFY goes: back over the flow its SUBSCRIBE came on while
 * that is open (RFC 6072 §7.7: the credential package only there); over
 * UDP to the source address when it fits (RFC 3261 §18.1.1); otherwise
 * by TCP (or TLS for transport=tls / sips:) to the Contact's address —
 * its host when numeric, else the address the SUBSCRIBE came from. */
static int notify_dest(struct cred_service *c, struct sub *s, size_t len,
		       struct net_dest *d)
{
	struct sip_uri u;
	struct slice v;
	struct net_addr peer;
	uint16_t port;

	memset(d, 0, sizeof(*d));
	if (s->proto != NET_UDP && s->flow &&
	    net_flow_alive(c->o.net, s->flow)) {
		d->proto = s->proto;
		d->flow = s->flow;
		return 0;
	}
	if (s->pkg == CRED_PKG_CREDENTIAL)
		return -ENOTCONN;
	if (s->proto == NET_UDP && len + VIA_ROOM <= UDP_MAX &&
	    !caddr_to(&s->peer, &d->addr)) {
		d->proto = NET_UDP;
		return 0;
	}
	if (sip_uri_parse(slice_cstr(sub_str(s, S_TARGET)), &u))
		return -EINVAL;
	d->proto = NET_TCP;
	if (u.scheme == SIP_URI_SIPS || (!sip_uri_param(&u, "transport", &v) &&
					 slice_caseeq_cstr(v, "tls")))
		d->proto = NET_TLS;
	port = u.has_port ? u.port : d->proto == NET_TLS ? 5061 : 5060;
	if (u.host_type == SIP_HOST_IPV4 || u.host_type == SIP_HOST_IPV6) {
		char host[64];
		struct slice h = u.host;

		if (u.host_type == SIP_HOST_IPV6) {
			h.p++;
			h.len -= 2;
		}
		if (h.len >= sizeof(host))
			return -EINVAL;
		memcpy(host, h.p, h.len);
		host[h.len] = '\0';
		return net_addr_parse(host, port, &d->addr);
	}
	if (caddr_to(&s->peer, &peer))
		return -EINVAL;
	d->addr = peer;
	if (d->addr.ss.ss_family == AF_INET)
		((struct sockaddr_in *)(void *)&d->addr.ss)->sin_port =
			htons(port);
	else
		((struct sockaddr_in6 *)(void *)&d->addr.ss)->sin6_port =
			htons(port);
	return 0;
}

static void notify_signed(void *arg, bool is_cancelled)
{
	struct notify *n = arg;
	struct cred_service *c = n->c;
	struct sub *s = n->sub;
	struct net_dest d;
	int err;

	c->n_jobs--;
	c->n_signing--;
	if (c->is_sign_full && c->n_signing <= SIGN_REFILL && !is_cancelled) {
		/* the signers are catching up: build the next ones */
		c->is_sign_full = false;
		svc_timer_arm(c);
	}
	if (is_cancelled || !s) {
		if (s)
			s->notify = NULL;
		svc_notify_free(n);
		return;
	}
	c->stats.sign_ns += n->sign_ns;
	c->stats.sign_jobs++;
	if (n->err) {
		log_msg(LOG_LEVEL_ERR, "cred", "signing a NOTIFY for %s: %s",
			s->res->aor, strerror(-n->err));
		s->notify = NULL;
		svc_notify_free(n);
		sub_failed(c, s, "NOTIFY could not be signed");
		return;
	}
	c->stats.notifies_signed++;
	buf_fini(&n->head);
	buf_fini(&n->tail);
	err = notify_dest(c, s, n->out.len, &d);
	if (!err) {
		struct txn_cli_opts o = {
			.dest = d,
			.data = n->out.p,
			.len = n->out.len,
			.on_resp = notify_resp,
			.arg = n,
		};

		err = txn_cli_start(c->o.txn, &o, &n->cli);
		/* §6.10: the window runs from when a NOTIFY goes out */
		s->next_ok_ms = loop_now_ms() +
				(uint64_t)c->o.notify_min_interval_s * 1000;
	}
	buf_fini(&n->out);
	if (err) {
		s->notify = NULL;
		svc_notify_free(n);
		sub_failed(
			c, s,
			err == -ENOTCONN
				? "its TLS connection is gone (RFC 6072 §7.7)"
				: "no way to send the NOTIFY");
		return;
	}
	c->n_notifies++;
}

static int notify_body(struct cred_service *c, struct sub *s,
		       struct cred_body *body)
{
	struct res *r = s->res;
	struct buf key;
	int err;

	/* §7.9: no body when the credential is revoked; §6.7: nor when it
	 * has lapsed (the current certificate, or an empty body) */
	if (!r->cert || svc_res_lapsed(r, (int64_t)time(NULL)) ||
	    (s->flags & F_GONE && s->reason == R_DEACTIVATED))
		return 0;
	if (s->pkg == CRED_PKG_CERTIFICATE || !r->sealed)
		return cred_notify_body(s->pkg,
					slice_of((char *)r->cert, r->cert_len),
					slice_of(NULL, 0), body);
	buf_init(&key, STORE_BLOB_MAX_BYTES);
	key.is_secret = true;
	err = crypto_unseal(&c->kek, r->aor, strlen(r->aor), r->sealed,
			    r->sealed_len, &key);
	if (!err)
		err = cred_notify_body(s->pkg,
				       slice_of((char *)r->cert, r->cert_len),
				       buf_slice(&key), body);
	buf_fini(&key);
	return err;
}

/* Build the NOTIFY for s's current state and hand it to a signer. */
static int notify_start(struct cred_service *c, struct sub *s)
{
	uint64_t now = loop_now_ms();
	struct cred_body body;
	struct notify *n;
	char substate[64];
	int err;

	if (!s->res->is_ready) {
		/* the resource comes back from the store first; its load
		 * reschedules every watcher */
		(void)jobs_load(c, s->res);
		return -EAGAIN;
	}
	if (s->flags & F_GONE)
		snprintf(substate, sizeof(substate), "terminated;reason=%s",
			 s->reason == R_DEACTIVATED ? "deactivated"
						    : "timeout");
	else
		snprintf(substate, sizeof(substate), "active;expires=%u",
			 (unsigned)((s->expires_ms - now + 999) / 1000));
	n = mem_zalloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->c = c;
	if (EVP_PKEY_up_ref(c->key))
		n->key = c->key;
	buf_init(&n->head, NOTIFY_MAX_BYTES);
	buf_init(&n->tail, NOTIFY_MAX_BYTES);
	buf_init(&n->out, NOTIFY_MAX_BYTES);
	buf_init(&body.bytes, NOTIFY_MAX_BYTES);
	body.ctype[0] = '\0';
	if (s->pkg == CRED_PKG_CREDENTIAL) {
		body.bytes.is_secret = true;
		n->tail.is_secret = true;
		n->out.is_secret = true;
	}
	err = n->key ? notify_body(c, s, &body) : -ENOMEM;
	if (!err) {
		const char *lu = sub_str(s, S_LOCAL_URI);
		struct cred_notify_req r = {
			.request_uri = sub_str(s, S_TARGET),
			.route_set = *sub_str(s, S_ROUTE) ? sub_str(s, S_ROUTE)
							  : NULL,
			.local_uri = *lu ? lu : s->res->aor,
			.local_tag = sub_str(s, S_LOCAL_TAG),
			.remote_uri = sub_str(s, S_REMOTE_URI),
			.remote_tag = sub_str(s, S_REMOTE_TAG),
			.call_id = sub_str(s, S_CALL_ID),
			.cseq = s->local_cseq + 1,
			.contact = c->contact[s->proto],
			.pkg = s->pkg,
			.event_id = *sub_str(s, S_EVENT_ID)
					    ? sub_str(s, S_EVENT_ID)
					    : NULL,
			.substate = substate,
			.date = time(NULL),
			.body = &body,
		};

		err = cred_notify_build(&r, &n->head, &n->tail);
	}
	buf_fini(&body.bytes);
	if (!err)
		err = loop_pool_submit(c->o.sign_pool, notify_sign_job,
				       notify_signed, n);
	if (err) {
		svc_notify_free(n);
		return err;
	}
	c->n_jobs++;
	c->n_signing++;
	s->notify = n;
	n->sub = s;
	s->local_cseq++;
	s->flags &= (uint8_t) ~(F_DIRTY | F_NOW);
	/* the stored CSeq runs ahead by CSEQ_STEP at resumption, so it is
	 * written only every CSEQ_STEP NOTIFYs (RFC 3261 §12.2.1.1: CSeq
	 * grows within the dialog, by any amount) */
	if (!(s->flags & F_GONE) && !(s->local_cseq % CRED_CSEQ_STEP))
		jobs_persist(c, s);
	return 0;
}

void svc_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cred_service *c = arg;
	uint64_t now = loop_now_ms();

	(void)fd;
	(void)what;
	while (c->heap_n && c->heap[0]->due_ms <= now) {
		struct sub *s = c->heap[0];
		int err;

		if (c->n_signing >= SIGN_AHEAD) {
			/* enough for the signers: a completion re-arms the
			 * timer once they have caught up */
			c->is_sign_full = true;
			return;
		}
		svc_heap_del(c, s);
		if (svc_res_lapsed(s->res, (int64_t)time(NULL)))
			svc_res_lapse(c, s->res);
		if (now >= s->expires_ms && !(s->flags & F_GONE)) {
			/* RFC 6665 §4.2.2.3: expired, a final NOTIFY */
			s->flags |= F_GONE | F_DIRTY;
			s->reason = R_TIMEOUT;
		}
		if (s->st || s->notify)
			continue; /* their completions reschedule */
		if (!(s->flags & F_DIRTY)) {
			if (s->flags & F_GONE)
				svc_sub_remove(c, s);
			else
				(void)svc_heap_set(c, s, s->expires_ms);
			continue;
		}
		err = notify_start(c, s);
		if (err == -EAGAIN)
			continue; /* the load reschedules it */
		if (err == -EMSGSIZE && loop_pool_pending(c->o.sign_pool)) {
			/* the signers are saturated: try again shortly */
			(void)svc_heap_set(c, s, now + RETRY_MS);
			continue;
		}
		if (err) {
			log_msg(LOG_LEVEL_ERR, "cred", "NOTIFY for %s: %s",
				s->res->aor, strerror(-err));
			sub_failed(c, s, "NOTIFY could not be built");
			continue;
		}
		if (!(s->flags & F_GONE))
			(void)svc_heap_set(c, s, s->expires_ms);
	}
	svc_timer_arm(c);
}
