/* SPDX-License-Identifier: BSD-3-Clause */
/* The credential service's store thread: loading a resource's current
 * credential, PUBLISH (RFC 3903 §6, RFC 6072 §7.8, §7.9), the group
 * commit of subscription records (RFC 6665 state that survives a
 * restart) and their resumption. One thread with its own store handle:
 * jobs run in the order submitted, so a load never overtakes a write. */
#include "svc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum {
	FLUSH_MAX = 8192, /* records per group commit */
	FLOW_TEXT_MAX = 80,
};

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int submit(struct cred_service *c, loop_job_cb *job, loop_done_cb *done,
		  void *arg)
{
	int err;

	if (!c->store_pool)
		return -ESHUTDOWN;
	err = loop_pool_submit(c->store_pool, job, done, arg);
	if (!err)
		c->n_jobs++;
	return err;
}

/* ---- a resource's credential -------------------------------------------- */

static int res_set(struct res *r, const struct store_cred *cr)
{
	uint8_t *cert = NULL, *sealed = NULL;

	if (cr) {
		cert = mem_alloc(cr->cert_len);
		if (!cert)
			return -ENOMEM;
		memcpy(cert, cr->cert_der, cr->cert_len);
		if (cr->sealed_pkcs8_len) {
			sealed = mem_alloc(cr->sealed_pkcs8_len);
			if (!sealed) {
				mem_free(cert);
				return -ENOMEM;
			}
			memcpy(sealed, cr->sealed_pkcs8, cr->sealed_pkcs8_len);
		}
	}
	mem_free(r->cert);
	mem_free(r->sealed);
	r->cert = cert;
	r->cert_len = cr ? cr->cert_len : 0;
	r->sealed = sealed;
	r->sealed_len = cr ? cr->sealed_pkcs8_len : 0;
	r->not_after = cr ? cr->not_after : 0;
	r->lapse_at = !cr			       ? 0
		      : cr->expires_at < cr->not_after ? cr->expires_at
						       : cr->not_after;
	return 0;
}

struct load_job {
	struct cred_service *c;
	struct res *r;
	struct store_cred *cred;
	int err;
	uint64_t ns;
	char aor[];
};

static void load_run(void *arg)
{
	struct load_job *j = arg;
	uint64_t t0 = mono_ns();

	j->err = store_cred_newest(j->c->st, j->aor, (int64_t)time(NULL),
				   &j->cred);
	if (j->err && j->err != -ENOENT)
		log_msg(LOG_LEVEL_ERR, "cred", "loading %s: %s", j->aor,
			store_last_error(j->c->st));
	j->ns = mono_ns() - t0;
}

static void load_done(void *arg, bool is_cancelled)
{
	struct load_job *j = arg;
	struct cred_service *c = j->c;
	struct res *r = j->r;

	c->n_jobs--;
	r->is_loading = false;
	c->stats.store_ns += j->ns;
	c->stats.store_jobs++;
	if (is_cancelled) {
		store_cred_free(j->cred);
		mem_free(j);
		return;
	}
	if (!j->err || j->err == -ENOENT) {
		if (!res_set(r, j->err ? NULL : j->cred))
			r->is_ready = true;
	}
	store_cred_free(j->cred);
	mem_free(j);
	if (r->load_again) {
		/* it changed while we read: read again before anyone is
		 * told */
		r->load_again = false;
		if (!jobs_load(c, r))
			return;
	}
	if (!r->is_ready) {
		/* the store failed: the waiting SUBSCRIBEs get a 500 */
		struct waiter *w = r->waiters, *next;

		r->waiters = NULL;
		for (; w; w = next) {
			next = w->next;
			(void)txn_srv_reply(w->st, 500, "Store unavailable",
					    NULL);
			txn_srv_unref(w->st);
			mem_free(w);
		}
	}
	svc_res_loaded(c, r);
}

int jobs_load(struct cred_service *c, struct res *r)
{
	size_t len = strlen(r->aor);
	struct load_job *j;
	int err;

	if (r->is_loading) {
		r->load_again = true;
		return 0;
	}
	j = mem_zalloc(sizeof(*j) + len + 1);
	if (!j)
		return -ENOMEM;
	j->c = c;
	j->r = r;
	memcpy(j->aor, r->aor, len + 1);
	err = submit(c, load_run, load_done, j);
	if (err) {
		mem_free(j);
		return err;
	}
	r->is_loading = true;
	return 0;
}

/* ---- group commit of subscription records ------------------------------- */

struct flush_job {
	struct cred_service *c;
	struct store_sub **puts;
	struct sub **subs; /* parallel to puts; NULL once removed */
	size_t n_puts;
	char **dels;
	size_t n_dels;
	size_t n_skipped;
	int err;
	uint64_t ns;
};

static void flush_soon(struct cred_service *c)
{
	if (!c->flushing && !c->is_closing)
		event_active(c->flush_ev, 0, 0);
}

static void queue_del(struct cred_service *c, struct sub *s, size_t i)
{
	c->queue[i] = c->queue[--c->n_queue];
	s->flags &= (uint8_t)~F_QUEUED;
}

void jobs_persist(struct cred_service *c, struct sub *s)
{
	if (s->flags & F_GONE)
		return; /* its removal deletes the record */
	if (!(s->flags & F_QUEUED)) {
		if (c->n_queue == c->cap_queue) {
			size_t n = c->cap_queue ? c->cap_queue * 2 : 256;
			struct sub **q = mem_realloc(c->queue, n * sizeof(*q));

			if (!q) {
				log_msg(LOG_LEVEL_ERR, "cred",
					"out of memory: subscription %s not "
					"stored",
					sub_str(s, S_LOCAL_TAG));
				return;
			}
			c->queue = q;
			c->cap_queue = n;
		}
		c->queue[c->n_queue++] = s;
		s->flags |= F_QUEUED;
	}
	s->flags |= F_STORED;
	flush_soon(c);
}

void jobs_forget(struct cred_service *c, struct sub *s)
{
	if (s->flags & F_QUEUED) {
		for (size_t i = c->n_queue; i-- > 0;)
			if (c->queue[i] == s) {
				queue_del(c, s, i);
				break;
			}
	}
	if ((s->flags & F_FLUSHING) && c->flushing) {
		for (size_t i = 0; i < c->flushing->n_puts; i++)
			if (c->flushing->subs[i] == s)
				c->flushing->subs[i] = NULL;
	}
	if (s->flags & F_STORED) {
		char *id = mem_strdup(sub_str(s, S_LOCAL_TAG));

		if (c->n_dels == c->cap_dels) {
			size_t n = c->cap_dels ? c->cap_dels * 2 : 256;
			char **d = mem_realloc(c->dels, n * sizeof(*d));

			if (d) {
				c->dels = d;
				c->cap_dels = n;
			}
		}
		if (id && c->n_dels < c->cap_dels) {
			c->dels[c->n_dels++] = id;
		} else {
			mem_free(id);
			log_msg(LOG_LEVEL_ERR, "cred",
				"out of memory: subscription %s stays stored",
				sub_str(s, S_LOCAL_TAG));
		}
		flush_soon(c);
	}
	s->flags &= (uint8_t) ~(F_QUEUED | F_FLUSHING | F_STORED);
}

void jobs_moved(struct cred_service *c, const struct sub *from, struct sub *to)
{
	if (to->flags & F_QUEUED)
		for (size_t i = 0; i < c->n_queue; i++)
			if (c->queue[i] == from) {
				c->queue[i] = to;
				break;
			}
	if ((to->flags & F_FLUSHING) && c->flushing)
		for (size_t i = 0; i < c->flushing->n_puts; i++)
			if (c->flushing->subs[i] == from)
				c->flushing->subs[i] = to;
}

/* "tcp:192.0.2.1:5060", "udp:[2001:db8::1]:5060": where a subscription's
 * SUBSCRIBE came from, for its NOTIFYs after a restart. */
static void flow_text(const struct sub *s, char out[FLOW_TEXT_MAX])
{
	struct net_addr a;
	char addr[64];

	if (caddr_to(&s->peer, &a)) {
		snprintf(out, FLOW_TEXT_MAX, "%s:", net_proto_name(s->proto));
	} else {
		net_addr_print(&a, addr, sizeof(addr));
		snprintf(out, FLOW_TEXT_MAX, "%s:%s", net_proto_name(s->proto),
			 addr);
	}
	for (char *p = out; *p && *p != ':'; p++)
		*p = (char)char_lower(*p);
}

static int flow_parse(const char *text, struct sub *s)
{
	static const char *const names[] = {"udp:", "tcp:", "tls:"};
	const char *colon;
	char host[64];
	struct net_addr a;
	uint32_t port;
	size_t hl;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strncmp(text, names[i], 4))
			continue;
		s->proto = (uint8_t)i;
		text += 4;
		colon = strrchr(text, ':');
		if (!colon || slice_u32(slice_cstr(colon + 1), 65535, &port))
			return -EINVAL;
		hl = (size_t)(colon - text);
		if (hl >= 2 && text[0] == '[' && text[hl - 1] == ']') {
			text++;
			hl -= 2;
		}
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, hl);
		host[hl] = '\0';
		if (net_addr_parse(host, (uint16_t)port, &a))
			return -EINVAL;
		caddr_from(&s->peer, &a);
		return 0;
	}
	return -EINVAL;
}

static int sub_record(const struct sub *s, struct store_sub **out)
{
	uint64_t now = loop_now_ms();
	int64_t left = s->expires_ms > now
			       ? (int64_t)((s->expires_ms - now) / 1000)
			       : 0;
	char flow[FLOW_TEXT_MAX], package[160];
	const char *lu = sub_str(s, S_LOCAL_URI), *eid = sub_str(s, S_EVENT_ID);
	struct store_sub rec = {
		.id = sub_str(s, S_LOCAL_TAG),
		.aor = s->res->aor,
		.package = package,
		.call_id = sub_str(s, S_CALL_ID),
		.local_tag = sub_str(s, S_LOCAL_TAG),
		.remote_tag = sub_str(s, S_REMOTE_TAG),
		.local_uri = *lu ? lu : s->res->aor,
		.remote_uri = sub_str(s, S_REMOTE_URI),
		.remote_target = sub_str(s, S_TARGET),
		.route_set = *sub_str(s, S_ROUTE) ? sub_str(s, S_ROUTE) : NULL,
		.local_cseq = s->local_cseq,
		.remote_cseq = s->remote_cseq,
		.flow = flow,
		.expires_at = (int64_t)time(NULL) + left,
		.last_notify_at = 0,
		.state = "active",
	};

	/* the package column holds the Event value: "certificate;id=7" */
	if ((size_t)snprintf(package, sizeof(package), "%s%s%s",
			     cred_pkg_name(s->pkg), *eid ? ";id=" : "",
			     eid) >= sizeof(package))
		return -EMSGSIZE;
	flow_text(s, flow);
	return store_sub_dup(out, &rec);
}

static void flush_run(void *arg)
{
	struct flush_job *j = arg;
	uint64_t t0 = mono_ns();

	j->err = store_sub_apply(
		j->c->st, (const struct store_sub *const *)j->puts, j->n_puts,
		(const char *const *)j->dels, j->n_dels, &j->n_skipped);
	if (j->err)
		log_msg(LOG_LEVEL_ERR, "cred",
			"storing %zu subscription(s): %s", j->n_puts,
			store_last_error(j->c->st));
	j->ns = mono_ns() - t0;
}

static void flush_job_free(struct flush_job *j)
{
	store_list_free(j->puts, j->n_puts);
	for (size_t i = 0; i < j->n_dels; i++)
		mem_free(j->dels[i]);
	mem_free(j->dels);
	mem_free(j->subs);
	mem_free(j);
}

static void flush_done(void *arg, bool is_cancelled)
{
	struct flush_job *j = arg;
	struct cred_service *c = j->c;

	c->n_jobs--;
	if (is_cancelled)
		flush_run(j); /* the thread is gone: the handle is ours */
	c->stats.store_ns += j->ns;
	c->stats.store_jobs++;
	for (size_t i = 0; i < j->n_puts; i++)
		if (j->subs[i])
			j->subs[i]->flags &= (uint8_t)~F_FLUSHING;
	c->flushing = NULL;
	for (size_t i = 0; i < j->n_puts; i++) {
		struct sub *s = j->subs[i];

		if (!s || !s->st)
			continue;
		if (j->err) {
			(void)txn_srv_reply(s->st, 500, "Store unavailable",
					    NULL);
			s->st = txn_srv_unref(s->st);
			s->flags &= (uint8_t)~F_STORED;
			svc_sub_remove(c, s);
			continue;
		}
		svc_sub_answer(c, s);
	}
	flush_job_free(j);
	if (!c->is_closing)
		jobs_flush(c);
}

void jobs_flush(struct cred_service *c)
{
	struct flush_job *j;
	size_t n = c->n_queue < FLUSH_MAX ? c->n_queue : FLUSH_MAX;

	if (c->flushing || (!c->n_queue && !c->n_dels))
		return;
	j = mem_zalloc(sizeof(*j));
	if (!j)
		return;
	j->c = c;
	if (n) {
		j->puts = mem_zalloc(n * sizeof(*j->puts));
		j->subs = mem_zalloc(n * sizeof(*j->subs));
		if (!j->puts || !j->subs) {
			flush_job_free(j);
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct sub *s = c->queue[c->n_queue - 1];

		if (sub_record(s, &j->puts[j->n_puts])) {
			log_msg(LOG_LEVEL_ERR, "cred",
				"subscription %s cannot be stored",
				sub_str(s, S_LOCAL_TAG));
			queue_del(c, s, c->n_queue - 1);
			continue;
		}
		j->subs[j->n_puts++] = s;
		queue_del(c, s, c->n_queue - 1);
		s->flags |= F_FLUSHING;
	}
	j->dels = c->dels;
	j->n_dels = c->n_dels;
	c->dels = NULL;
	c->n_dels = c->cap_dels = 0;
	c->flushing = j;
	if (!submit(c, flush_run, flush_done, j))
		return;
	/* no store thread (shutting down) or no room: write it now; done
	 * counts it off like a job of the pool */
	c->n_jobs++;
	flush_run(j);
	flush_done(j, false);
}

/* ---- resuming after a restart ------------------------------------------- */

struct resume_job {
	struct cred_service *c;
	struct store_sub **subs;
	size_t n;
	int err;
	uint64_t ns;
};

static void resume_run(void *arg)
{
	struct resume_job *j = arg;
	struct store_sub_filter f = {.now = (int64_t)time(NULL)};
	uint64_t t0 = mono_ns();

	(void)store_sub_purge(j->c->st, f.now, NULL);
	j->err = store_sub_list(j->c->st, &f, &j->subs, &j->n);
	if (j->err)
		log_msg(LOG_LEVEL_ERR, "cred", "reading subscriptions: %s",
			store_last_error(j->c->st));
	j->ns = mono_ns() - t0;
}

static int resume_one(struct cred_service *c, const struct store_sub *rec)
{
	const char *str[S__N];
	const char *semi = strchr(rec->package, ';');
	size_t plen =
		semi ? (size_t)(semi - rec->package) : strlen(rec->package);
	int64_t left = rec->expires_at - (int64_t)time(NULL);
	enum cred_pkg pkg;
	struct res *r;
	struct sub *s;

	if (plen == 11 && !strncmp(rec->package, "certificate", 11))
		pkg = CRED_PKG_CERTIFICATE;
	else if (plen == 10 && !strncmp(rec->package, "credential", 10))
		pkg = CRED_PKG_CREDENTIAL;
	else
		return -EINVAL;
	r = svc_res_get(c, rec->aor, true);
	if (!r)
		return -ENOMEM;
	str[S_CALL_ID] = rec->call_id;
	str[S_LOCAL_TAG] = rec->id;
	str[S_REMOTE_TAG] = rec->remote_tag;
	str[S_LOCAL_URI] =
		strcmp(rec->local_uri, rec->aor) ? rec->local_uri : "";
	str[S_REMOTE_URI] = rec->remote_uri;
	str[S_TARGET] = rec->remote_target;
	str[S_ROUTE] = rec->route_set ? rec->route_set : "";
	str[S_EVENT_ID] = semi && !strncmp(semi, ";id=", 4) ? semi + 4 : "";
	s = svc_sub_new(c, r, str);
	if (!s)
		return -ENOMEM;
	s->pkg = (uint8_t)pkg;
	/* past every CSeq sent since the record was written */
	s->local_cseq = rec->local_cseq + CRED_CSEQ_STEP;
	s->remote_cseq = rec->remote_cseq;
	s->flags = F_STORED;
	s->expires_ms = loop_now_ms() + (uint64_t)(left > 0 ? left : 0) * 1000;
	if (!rec->flow || flow_parse(rec->flow, s)) {
		svc_sub_remove(c, s);
		return -EINVAL;
	}
	if (pkg == CRED_PKG_CREDENTIAL) {
		/* RFC 6072 §7.7: only over the TLS connection it came on,
		 * which died with the old process; the user agent
		 * subscribes again when it reconnects (§7.5) */
		svc_sub_remove(c, s);
		return 1;
	}
	svc_sub_schedule(c, s);
	return 0;
}

static void resume_done(void *arg, bool is_cancelled)
{
	struct resume_job *j = arg;
	struct cred_service *c = j->c;
	size_t n_ok = 0, n_dropped = 0;

	c->n_jobs--;
	c->stats.store_ns += j->ns;
	c->stats.store_jobs++;
	for (size_t i = 0; !is_cancelled && !j->err && i < j->n; i++) {
		int err = resume_one(c, j->subs[i]);

		if (!err)
			n_ok++;
		else
			n_dropped++;
	}
	if (!is_cancelled && !j->err)
		log_msg(LOG_LEVEL_NOTICE, "cred",
			"resumed %zu subscription(s); %zu ended (credential "
			"subscriptions need their TLS connection)",
			n_ok, n_dropped);
	store_list_free(j->subs, j->n);
	mem_free(j);
}

int jobs_resume(struct cred_service *c)
{
	struct resume_job *j = mem_zalloc(sizeof(*j));
	int err;

	if (!j)
		return -ENOMEM;
	j->c = c;
	err = submit(c, resume_run, resume_done, j);
	if (err)
		mem_free(j);
	return err;
}

/* ---- PUBLISH (RFC 3903 §6, RFC 6072 §7.9) -------------------------------- */

enum pub_op {
	P_PUT,	   /* a new or modified publication */
	P_REFRESH, /* no body, SIP-If-Match: a new expiry */
	P_REMOVE,  /* no body, Expires: 0: revocation */
	P_REFUSE,  /* refused, but SIP-If-Match is checked first */
};

struct pub_job {
	struct cred_service *c;
	struct txn_srv *st;
	enum pub_op op;
	char aor[256];
	char if_match[64]; /* "" : none */
	char etag[TXN_TAG_LEN + 1];
	char device[128];
	char sha256[65];
	uint8_t *cert, *sealed;
	size_t cert_len, sealed_len;
	int64_t not_before, not_after;
	uint32_t asked_s; /* UINT32_MAX: until notAfter */
	/* P_REFUSE: the answer, once the entity-tag matched */
	unsigned refuse_status;
	char refuse_reason[64]; /* "": the status's own phrase */
	char refuse_hdr[2][320];
	size_t refuse_n_hdrs;
	/* results */
	unsigned status;
	const char *reason;
	uint32_t granted_s;
	bool changed, revoked;
	struct store_cred *newest;
	uint64_t ns;
};

static void pub_run_put(struct pub_job *j, int64_t now)
{
	struct store *st = j->c->st;
	struct store_cred *old = NULL;
	struct store_cred rec = {
		.aor = j->aor,
		.device = j->device,
		.cert_der = j->cert,
		.cert_len = j->cert_len,
		.sealed_pkcs8 = j->sealed,
		.sealed_pkcs8_len = j->sealed_len,
		.etag = j->etag,
		.not_before = j->not_before,
		.not_after = j->not_after,
		.published_at = now,
		.expires_at = now + j->asked_s,
		.sha256 = j->sha256,
	};
	int err;

	if (*j->if_match) {
		/* RFC 3903 §6 step 5: modify the publication it names */
		err = store_cred_get_etag(st, j->aor, j->if_match, now, &old);
		if (err) {
			j->status = err == -ENOENT ? 412 : 500;
			return;
		}
		rec.device = old->device;
	}
	err = store_cred_put(st, &rec);
	store_cred_free(old);
	if (err) {
		j->status = 500;
		return;
	}
	j->granted_s = j->asked_s;
	j->changed = true;
	j->status = 200;
}

static void pub_run(void *arg)
{
	struct pub_job *j = arg;
	struct store *st = j->c->st;
	int64_t now = (int64_t)time(NULL);
	uint64_t t0 = mono_ns();
	struct store_cred *old = NULL;
	int err;

	switch (j->op) {
	case P_PUT:
		pub_run_put(j, now);
		break;
	case P_REFRESH:
		err = store_cred_get_etag(st, j->aor, j->if_match, now, &old);
		if (!err) {
			int64_t until = old->not_after;

			if (j->asked_s != UINT32_MAX &&
			    now + j->asked_s < until)
				until = now + j->asked_s;
			err = store_cred_refresh(st, j->aor, j->if_match,
						 j->etag, until);
			j->granted_s =
				until > now ? (uint32_t)(until - now) : 0;
			store_cred_free(old);
		}
		j->status = !err ? 200 : err == -ENOENT ? 412 : 500;
		break;
	case P_REFUSE:
		/* RFC 3903 §6 step 3 comes before the expiry (step 4) and
		 * the body (step 5): an unknown entity-tag is a 412 */
		err = store_cred_get_etag(st, j->aor, j->if_match, now, &old);
		store_cred_free(old);
		j->status = !err	     ? j->refuse_status
			    : err == -ENOENT ? 412
					     : 500;
		break;
	case P_REMOVE:
		if (*j->if_match)
			err = store_cred_revoke_etag(st, j->aor, j->if_match,
						     now);
		else
			err = store_cred_revoke_aor(st, j->aor, now, NULL);
		j->status = !err ? 200 : err == -ENOENT ? 412 : 500;
		j->changed = j->revoked = !err;
		break;
	}
	if (j->status == 500)
		log_msg(LOG_LEVEL_ERR, "cred", "PUBLISH for %s: %s", j->aor,
			store_last_error(st));
	if (j->changed) {
		err = store_cred_newest(st, j->aor, now, &j->newest);
		if (err && err != -ENOENT)
			log_msg(LOG_LEVEL_ERR, "cred", "reading %s: %s", j->aor,
				store_last_error(st));
	}
	j->ns = mono_ns() - t0;
}

static void pub_job_free(struct pub_job *j)
{
	if (j->st)
		txn_srv_unref(j->st);
	mem_free(j->cert);
	mem_free(j->sealed);
	store_cred_free(j->newest);
	mem_free(j);
}

static void pub_done(void *arg, bool is_cancelled)
{
	struct pub_job *j = arg;
	struct cred_service *c = j->c;
	char etag[96], expires[32];
	const char *hdrs[2] = {expires, etag};
	struct txn_reply_opts o = {.hdrs = hdrs};
	struct res *r;

	c->n_jobs--;
	c->stats.store_ns += j->ns;
	c->stats.store_jobs++;
	if (is_cancelled) {
		(void)txn_srv_reply(j->st, 503, "Shutting down", NULL);
		pub_job_free(j);
		return;
	}
	if (j->status == 200) {
		snprintf(expires, sizeof(expires), "Expires: %u",
			 j->op == P_REMOVE ? 0 : j->granted_s);
		/* RFC 3903 §6: every 2xx carries a SIP-ETag; a removal's
		 * names the publication it removed */
		snprintf(etag, sizeof(etag), "SIP-ETag: %s",
			 j->op == P_REMOVE && *j->if_match ? j->if_match
							   : j->etag);
		o.n_hdrs = 2;
		c->stats.publishes++;
		log_msg(LOG_LEVEL_INFO, "cred", "%s %s%s%s",
			j->op == P_PUT	     ? "published for"
			: j->op == P_REFRESH ? "refreshed for"
					     : "revoked for",
			j->aor, j->op == P_PUT ? ": sha256 " : "",
			j->op == P_PUT ? j->sha256 : "");
	}
	if (j->op == P_REFUSE && j->status == j->refuse_status) {
		const char *rh[2] = {j->refuse_hdr[0], j->refuse_hdr[1]};

		(void)txn_srv_reply(
			j->st, j->status,
			*j->refuse_reason ? j->refuse_reason : NULL,
			&(struct txn_reply_opts){.hdrs = rh,
						 .n_hdrs = j->refuse_n_hdrs});
		pub_job_free(j);
		return;
	}
	(void)txn_srv_reply(j->st, j->status,
			    j->status == 412   ? NULL
			    : j->status == 500 ? "Store unavailable"
					       : NULL,
			    &o);
	r = j->changed ? svc_res_get(c, j->aor, false) : NULL;
	if (r && !res_set(r, j->newest)) {
		/* §7.9: every watcher of the AOR learns the new state */
		r->is_ready = true;
		r->notify_all = true;
		r->deactivate = r->deactivate || j->revoked;
		svc_res_loaded(c, r);
	}
	pub_job_free(j);
}

/* Refuse a PUBLISH with status, reason (NULL: the status's phrase) and
 * up to two header lines: at once, or, with SIP-If-Match, once the store
 * has found that entity-tag (RFC 3903 §6: step 3 before steps 4 and 5).
 * 1: answered now; 0: j goes to the store as P_REFUSE. */
static int pub_refuse(struct txn_srv *st, struct pub_job *j, unsigned status,
		      const char *reason, const char *h0, const char *h1)
{
	const char *hdrs[2] = {h0, h1};
	size_t n = h1 ? 2 : h0 ? 1 : 0;

	if (!*j->if_match) {
		(void)txn_srv_reply(
			st, status, reason,
			&(struct txn_reply_opts){.hdrs = hdrs, .n_hdrs = n});
		return 1;
	}
	j->op = P_REFUSE;
	j->refuse_status = status;
	snprintf(j->refuse_reason, sizeof(j->refuse_reason), "%s",
		 reason ? reason : "");
	for (size_t i = 0; i < n; i++)
		snprintf(j->refuse_hdr[i], sizeof(j->refuse_hdr[i]), "%s",
			 hdrs[i]);
	j->refuse_n_hdrs = n;
	return 0;
}

static int refuse(struct cred_service *c, struct txn_srv *st, struct pub_job *j,
		  const struct cred_refusal *why)
{
	char warning[300];

	/* RFC 3261 §20.43: 399 is the miscellaneous warning */
	snprintf(warning, sizeof(warning), "Warning: 399 %s \"%s\"", c->domain,
		 why->warning ? why->warning : why->reason);
	return pub_refuse(st, j, why->status, why->reason, warning,
			  why->status == 415 ? "Accept: application/pkix-cert, "
					       "multipart/mixed"
					     : NULL);
}

/* RFC 6665 §4.2.1.1, RFC 3903 §6 step 4: an expiry below the minimum */
static int refuse_423(struct cred_service *c, struct txn_srv *st,
		      struct pub_job *j)
{
	char min[48];

	snprintf(min, sizeof(min), "Min-Expires: %u", c->o.pub_min_expires_s);
	return pub_refuse(st, j, 423, NULL, min, NULL);
}

/* The device a publication belongs to (one current credential each): the
 * Contact's +sip.instance (RFC 5626 §4.1), else the one default device. */
static void pub_device(const struct sip_msg *m, char *out, size_t n)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CONTACT);
	struct sip_addr a;
	struct slice v;

	snprintf(out, n, "sip");
	if (!h || sip_contact_parse(h->value, &a) || a.is_star ||
	    sip_param_find(a.params, "+sip.instance", &v))
		return;
	v = sip_unquote(v);
	if (v.len && v.len < n) {
		memcpy(out, v.p, v.len);
		out[v.len] = '\0';
	}
}

static int pub_body(struct cred_service *c, struct txn_srv *st,
		    struct pub_job *j)
{
	const struct sip_msg *m = txn_srv_msg(st);
	time_t now = time(NULL);
	struct cred_publication p;
	struct cred_refusal why;
	struct cred_expiry_limits l;
	uint32_t cap;
	struct buf sealed;
	int err;

	if (m->has_expires && !m->expires)
		return pub_refuse(st, j, 400, "Expires 0 with a body", NULL,
				  NULL);
	err = cred_publication_parse(m, now, &p, &why);
	if (err == -ENOMEM)
		return err;
	if (err)
		return refuse(c, st, j, &why);
	/* RFC 6072 §7.8: the publication lasts as long as the certificate
	 * by default, and never longer */
	cap = p.not_after - now > UINT32_MAX ? UINT32_MAX
					     : (uint32_t)(p.not_after - now);
	l = (struct cred_expiry_limits){c->o.pub_min_expires_s, cap, cap};
	err = cred_expires(m, &l, cap, &j->asked_s);
	if (err == -ERANGE) {
		cred_publication_fini(&p);
		return refuse_423(c, st, j);
	}
	j->op = P_PUT;
	j->not_before = p.not_before;
	j->not_after = p.not_after;
	memcpy(j->sha256, p.sha256, sizeof(j->sha256));
	j->cert = mem_alloc(p.cert_der.len);
	err = j->cert ? 0 : -ENOMEM;
	if (!err) {
		memcpy(j->cert, p.cert_der.p, p.cert_der.len);
		j->cert_len = p.cert_der.len;
	}
	if (!err && p.pkcs8.p) {
		/* at rest only sealed with the KEK, bound to the AOR */
		buf_init(&sealed, STORE_BLOB_MAX_BYTES);
		err = crypto_seal(&c->kek, j->aor, strlen(j->aor), p.pkcs8.p,
				  p.pkcs8.len, &sealed);
		if (!err)
			j->sealed =
				(uint8_t *)buf_steal(&sealed, &j->sealed_len);
		buf_fini(&sealed);
	}
	pub_device(m, j->device, sizeof(j->device));
	cred_publication_fini(&p);
	return err;
}

int jobs_publish(struct cred_service *c, struct txn_srv *st, const char *aor)
{
	const struct sip_msg *m = txn_srv_msg(st);
	const struct sip_hdr *im = sip_msg_hdr(m, SIP_HDR_SIP_IF_MATCH);
	struct pub_job *j;
	int err = 0;

	j = mem_zalloc(sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->c = c;
	if (snprintf(j->aor, sizeof(j->aor), "%s", aor) >= (int)sizeof(j->aor))
		err = -EINVAL;
	if (!err && im) {
		struct slice v = slice_trim(im->value);
		bool is_one = v.len && !sip_msg_hdr_next(m, im);

		/* RFC 3903 §6 step 3: a single entity-tag (a token), else
		 * 400; one longer than any we make matches none: 412 */
		for (size_t i = 0; i < v.len && is_one; i++)
			is_one = char_is_token((unsigned char)v.p[i]);
		if (!is_one) {
			(void)txn_srv_reply(st, 400, "Bad SIP-If-Match", NULL);
			err = 1;
		} else if (v.len >= sizeof(j->if_match)) {
			(void)txn_srv_reply(st, 412, NULL, NULL);
			err = 1;
		} else {
			memcpy(j->if_match, v.p, v.len);
		}
	}
	txn_tag_new(j->etag);
	if (!err && m->body.len) {
		err = pub_body(c, st, j);
	} else if (!err && m->has_expires && !m->expires) {
		j->op = P_REMOVE;
	} else if (!err && *j->if_match) {
		j->op = P_REFRESH;
		j->asked_s = m->has_expires ? m->expires : UINT32_MAX;
		if (m->has_expires && m->expires < c->o.pub_min_expires_s)
			err = refuse_423(c, st, j);
	} else if (!err) {
		/* RFC 3903 §6 step 4 */
		(void)txn_srv_reply(st, 400,
				    "PUBLISH without a body needs SIP-If-Match",
				    NULL);
		err = 1;
	}
	if (!err) {
		j->st = txn_srv_ref(st);
		err = submit(c, pub_run, pub_done, j);
		if (!err)
			return 0;
	}
	pub_job_free(j);
	return err == 1 ? 0 : err;
}
