/* SPDX-License-Identifier: BSD-3-Clause */
/* libsipcert: other users' certificates. Fetching one by SUBSCRIBE
 * Event: certificate (RFC 6072 §6.5) and checking its NOTIFY by §10.3,
 * the cache (§10.1: configurable, one day by default, zero allowed), the
 * 437 rule (§6.1), fingerprints (§10.8), and watching (§6.8). */
#include "ua_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- one NOTIFY through the §10.3 checks -------------------------------- */

struct lib_check {
	struct sipcert_ua *u;
	struct sip_msg *m; /* our copy of the NOTIFY */
	struct ua_checked c;
	struct ua_signer_req *req;
	lib_check_cb *cb;
	void *arg;
};

void lib_check_free(struct lib_check *k)
{
	if (!k)
		return;
	if (k->req)
		ua_signer_cancel(k->req);
	ua_checked_fini(&k->c);
	sip_msg_free(k->m);
	mem_free(k);
}

static void on_signer(void *arg, enum ua_verdict v, X509 *leaf,
		      const char *detail)
{
	struct lib_check *k = arg;

	k->req = NULL;
	if (v != UA_V_OK) {
		k->c.verdict = v;
		snprintf(k->c.detail, sizeof(k->c.detail), "%s",
			 detail ? detail : "");
	} else if (ua_verify_notify_post(k->m, leaf, k->u->anchors, time(NULL),
					 &k->c)) {
		k->c.verdict = UA_V_NOT_CERTIFICATE;
		snprintf(k->c.detail, sizeof(k->c.detail),
			 "the checks could not be completed");
	}
	k->cb(k->arg, k, &k->c);
}

static void on_check_now(evutil_socket_t fd, short what, void *arg)
{
	struct lib_check *k = arg;

	(void)fd;
	(void)what;
	k->cb(k->arg, k, &k->c);
}

int lib_check_start(struct sipcert_ua *u, const struct sip_msg *notify,
		    enum net_proto proto, const char *sub_uri, lib_check_cb *cb,
		    void *arg, struct lib_check **out)
{
	struct lib_check *k = mem_zalloc(sizeof(*k));
	int err;

	if (!k)
		return -ENOMEM;
	k->u = u;
	k->cb = cb;
	k->arg = arg;
	k->c.alg = IDENTITY_ALG_UNKNOWN;
	err = sip_msg_decode(&k->m, notify->raw.p, notify->raw.len,
			     proto == NET_UDP ? SIP_DECODE_DATAGRAM : 0, NULL);
	if (!err)
		err = ua_verify_notify_pre(k->m, sub_uri, time(NULL), &k->c);
	if (!err && k->c.verdict == UA_V_OK)
		err = ua_signer_get(u->signers, k->c.info_url, k->c.domain,
				    on_signer, k, &k->req);
	else if (!err)
		/* refused already: report from the loop, never inside */
		err = event_base_once(u->base, -1, EV_TIMEOUT, on_check_now, k,
				      NULL)
			      ? -ENOMEM
			      : 0;
	if (err) {
		lib_check_free(k);
		return err;
	}
	*out = k;
	return 0;
}

/* ---- the cache --------------------------------------------------------- */

void lib_cache_put(struct sipcert_ua *u, struct sipcert_cert *cert)
{
	struct ua_cache_entry e = {0};
	struct ua_cache_entry prev;
	bool changed = false;
	time_t now = time(NULL);

	snprintf(e.aor, sizeof(e.aor), "%s", cert->aor);
	e.der = cert->der;
	e.der_len = cert->der_len;
	memcpy(e.sha256, cert->sha256, sizeof(e.sha256));
	e.verified_at = now;
	e.not_before = (time_t)cert->not_before;
	e.not_after = (time_t)cert->not_after;
	/* RFC 6072 §10.1: no longer than the configured time, and never
	 * past the certificate's own end */
	e.use_until = now + u->ttl_s;
	if (e.use_until > e.not_after)
		e.use_until = e.not_after;
	snprintf(e.domain, sizeof(e.domain), "%s", cert->identity_domain);
	snprintf(e.alg, sizeof(e.alg), "%s", cert->alg);
	e.externally_validated = cert->externally_validated;
	/* the previous one, to say which fingerprint it replaced */
	*cert->previous_sha256 = '\0';
	if (!ua_cache_get(u->cache, cert->aor, 0, &prev)) {
		memcpy(cert->previous_sha256, prev.sha256,
		       sizeof(cert->previous_sha256));
		ua_cache_entry_fini(&prev);
	}
	if (ua_cache_put(u->cache, &e, &changed))
		changed = false; /* the fingerprint history is best effort */
	cert->changed_early = changed;
	if (!changed || !strcmp(cert->previous_sha256, cert->sha256))
		*cert->previous_sha256 = '\0';
}

static int cert_from_checked(const struct ua_checked *c,
			     struct sipcert_cert **out)
{
	struct sipcert_cert *r;
	int err = lib_cert_new(c->cert, c->aor, &r);

	if (err)
		return err;
	snprintf(r->identity_domain, sizeof(r->identity_domain), "%s",
		 c->domain);
	snprintf(r->alg, sizeof(r->alg), "%s",
		 identity_alg_name(c->alg) ? identity_alg_name(c->alg) : "");
	r->externally_validated = c->externally_validated;
	*out = r;
	return 0;
}

/* aor's certificate from the cache while it may be used (RFC 6072
 * §10.1: the configured time, zero allowed): 0, or -ENOENT. */
static int cache_lookup(struct sipcert_ua *u, const char *aor,
			struct sipcert_cert **out)
{
	struct ua_cache_entry ce;
	X509 *x;
	int err;

	if (u->ttl_s <= 0 || ua_cache_get(u->cache, aor, time(NULL), &ce))
		return -ENOENT;
	err = crypto_cert_from_der(&x, ce.der, ce.der_len);
	if (!err) {
		err = lib_cert_new(x, ce.aor, out);
		X509_free(x);
	}
	if (!err) {
		snprintf((*out)->identity_domain,
			 sizeof((*out)->identity_domain), "%s", ce.domain);
		snprintf((*out)->alg, sizeof((*out)->alg), "%s", ce.alg);
		(*out)->externally_validated = ce.externally_validated;
		(*out)->from_cache = 1;
	}
	ua_cache_entry_fini(&ce);
	return err ? -ENOENT : 0;
}

/* ---- fetching one certificate ------------------------------------------ */

struct lib_fetch {
	struct sipcert_ua *u;
	char aor[256];
	struct ua_sub *sub;
	struct lib_check *check;
	bool sub_over, checked, reported;
	struct sipcert_cert *cert;
	int rc;
	struct sipcert_error e;
	lib_fetch_cb *cb;
	void *arg;
	struct event *ev; /* reports from the loop */
};

static void fetch_free(struct lib_fetch *f)
{
	if (f->sub)
		ua_sub_free(f->sub);
	lib_check_free(f->check);
	sipcert_cert_free(f->cert);
	if (f->ev)
		event_free(f->ev);
	mem_free(f);
}

void lib_fetch_cancel(struct lib_fetch *f)
{
	if (f)
		fetch_free(f);
}

static void fetch_report(struct lib_fetch *f)
{
	if (f->reported)
		return;
	f->reported = true;
	f->cb(f->arg, f->rc, &f->cert, f->rc ? &f->e : NULL);
	fetch_free(f);
}

/* Done when the NOTIFY is checked; a subscription that ended without one
 * says why. */
static void fetch_maybe_done(struct lib_fetch *f)
{
	if (f->checked || (f->sub_over && !f->check))
		fetch_report(f);
}

static void on_fetch_checked(void *arg, struct lib_check *k,
			     const struct ua_checked *c)
{
	struct lib_fetch *f = arg;
	int err;

	(void)k;
	f->checked = true;
	if (c->verdict != UA_V_OK) {
		f->rc = lib_fail_verdict(&f->e, c);
		if (c->verdict == UA_V_NO_CERTIFICATE)
			(void)ua_cache_drop(f->u->cache, f->aor);
	} else {
		err = cert_from_checked(c, &f->cert);
		if (err)
			f->rc = lib_fail(&f->e, err, "internal", "%s",
					 sipcert_strerror(err));
		else
			lib_cache_put(f->u, f->cert);
	}
	fetch_maybe_done(f);
}

static unsigned on_fetch_notify(void *arg, struct ua_sub *s,
				const struct ua_notify *n)
{
	struct lib_fetch *f = arg;
	int err;

	(void)s;
	if (f->check || f->checked)
		return 200; /* one is enough for a fetch */
	err = lib_check_start(f->u, n->msg, n->src->proto, f->aor,
			      on_fetch_checked, f, &f->check);
	if (err) {
		f->checked = true;
		f->rc = lib_fail(&f->e, err, "internal",
				 "the NOTIFY cannot be checked: %s",
				 sipcert_strerror(err));
	}
	return 200;
}

static void on_fetch_event(void *arg, struct ua_sub *s,
			   const struct ua_sub_event *ev)
{
	struct lib_fetch *f = arg;

	(void)s;
	if (ev->is_over) {
		f->sub = NULL; /* gone */
		f->sub_over = true;
	}
	/* a NOTIFY checked (or being checked) decides; without one the
	 * subscription says why there is no certificate */
	if (!f->check && !f->checked && !f->rc &&
	    (ev->is_over || ev->err || ev->status >= 300)) {
		f->rc = lib_fail_sub(&f->e, ev);
		if (!f->rc)
			f->rc = lib_fail(&f->e, -ENOENT, "no_certificate",
					 "the subscription ended without a "
					 "certificate");
	}
	if (ev->is_over)
		fetch_maybe_done(f);
}

static void on_fetch_cached(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fetch_report(arg);
}

int lib_fetch_start(struct sipcert_ua *u, const char *aor, bool no_cache,
		    lib_fetch_cb *cb, void *arg, struct lib_fetch **out)
{
	struct lib_fetch *f = mem_zalloc(sizeof(*f));
	struct ua_sub_opts so = {0};
	int err;

	if (!f)
		return -ENOMEM;
	f->u = u;
	f->cb = cb;
	f->arg = arg;
	err = lib_aor_norm(aor, f->aor, sizeof(f->aor));
	if (err) {
		mem_free(f);
		return err;
	}
	if (!no_cache && !cache_lookup(u, f->aor, &f->cert)) {
		f->ev = event_new(u->base, -1, 0, on_fetch_cached, f);
		if (!f->ev) {
			fetch_free(f);
			return -ENOMEM;
		}
		event_active(f->ev, EV_TIMEOUT, 0);
		*out = f;
		return 0;
	}
	/* RFC 6072 §6.5: SUBSCRIBE Event: certificate to the AOR; a fetch
	 * (RFC 6665 §4.4.3: Expires 0) gets one NOTIFY */
	so.ruri = f->aor;
	so.event = "certificate";
	so.accept = "application/pkix-cert";
	so.expires = 0;
	so.on_notify = on_fetch_notify;
	so.on_event = on_fetch_event;
	so.arg = f;
	err = ua_subscribe(u->ua, &so, &f->sub);
	if (err) {
		fetch_free(f);
		return err;
	}
	*out = f;
	return 0;
}

/* ---- the public calls -------------------------------------------------- */

struct fetch_wait {
	bool done;
	int rc;
	struct sipcert_cert *cert;
	struct sipcert_error e;
};

static void on_fetch_waited(void *arg, int rc, struct sipcert_cert **cert,
			    const struct sipcert_error *e)
{
	struct fetch_wait *w = arg;

	w->done = true;
	w->rc = rc;
	if (!rc) {
		w->cert = *cert;
		*cert = NULL;
	} else if (e) {
		w->e = *e;
	}
}

static int fetch_wait(struct sipcert_ua *u, const char *aor, bool no_cache,
		      struct sipcert_cert **out, struct sipcert_error *e)
{
	struct fetch_wait w = {0};
	struct lib_fetch *f;
	int err;

	err = lib_fetch_start(u, aor, no_cache, on_fetch_waited, &w, &f);
	if (err == -EINVAL)
		return lib_fail(e, err, "usage",
				"\"%s\" is not a SIP address of record", aor);
	if (err)
		return lib_fail(e, err, "internal", "%s",
				sipcert_strerror(err));
	err = lib_run(u, &w.done, u->timeout_ms + 2000);
	if (err) {
		lib_fetch_cancel(f);
		return err == -EINTR
			       ? lib_fail(e, err, "interrupted", "stopped")
			       : lib_fail(e, err, "timeout",
					  "no certificate arrived in "
					  "time");
	}
	if (w.rc) {
		if (e)
			*e = w.e;
		return w.rc;
	}
	*out = w.cert;
	return 0;
}

SIPCERT_API int sipcert_fetch(struct sipcert_ua *ua, const char *aor,
			      unsigned flags, struct sipcert_cert **out,
			      struct sipcert_error *e)
{
	char norm[256];

	if (!ua || !aor || !out)
		return lib_fail(e, -EINVAL, "usage", "missing argument");
	if (flags & SIPCERT_FETCH_HTTP) {
		int err;

		if (lib_aor_norm(aor, norm, sizeof(norm)))
			return lib_fail(e, -EINVAL, "usage",
					"\"%s\" is not a SIP address of record",
					aor);
		/* the same cache as the SIP path (draft-jennings-sipping-
		 * certs §6: configurable, zero allowed) */
		if (!(flags & SIPCERT_FETCH_NO_CACHE) &&
		    !cache_lookup(ua, norm, out))
			return 0;
		err = lib_http_fetch(ua, norm, out, e);
		if (!err)
			lib_cache_put(ua, *out); /* the newest; §10.8 */
		return err;
	}
	return fetch_wait(ua, aor, flags & SIPCERT_FETCH_NO_CACHE, out, e);
}

SIPCERT_API int sipcert_refetch_after_437(struct sipcert_ua *ua,
					  const char *aor,
					  const char *old_sha256,
					  struct sipcert_cert **out,
					  int *changed, struct sipcert_error *e)
{
	char norm[256];
	int err;

	if (!ua || !aor || !out || !changed)
		return lib_fail(e, -EINVAL, "usage", "missing argument");
	if (lib_aor_norm(aor, norm, sizeof(norm)))
		return lib_fail(e, -EINVAL, "usage",
				"\"%s\" is not a SIP address of record", aor);
	/* RFC 6072 §6.1: remove the certificate used, fetch again; retry
	 * only when it changed */
	(void)ua_cache_drop(ua->cache, norm);
	err = fetch_wait(ua, norm, true, out, e);
	if (err)
		return err;
	*changed = !old_sha256 || strcasecmp((*out)->sha256, old_sha256);
	return 0;
}

/* ---- watching ------------------------------------------------------------ */

enum { WATCH_RETRY_S = 5, WATCH_MAX_AORS = 256 };

struct watch;

struct watch_one {
	struct watch *w;
	char aor[256];
	struct ua_sub *sub;
	struct lib_check *check;
	bool gone; /* refused for good */
	struct event *retry;
};

struct watch {
	struct sipcert_ua *u;
	struct watch_one *v;
	size_t n;
	unsigned expires;
	sipcert_watch_cb *cb;
	void *arg;
	size_t n_active; /* subscriptions alive */
	bool stopping;
};

static void watch_report(struct watch_one *o, enum sipcert_watch_kind kind,
			 const struct sipcert_cert *cert,
			 const struct sipcert_error *err)
{
	struct sipcert_watch_event ev = {
		.aor = o->aor,
		.kind = kind,
		.cert = cert,
		.error = err,
	};

	o->w->cb(o->w->arg, &ev);
}

static void on_watch_checked(void *arg, struct lib_check *k,
			     const struct ua_checked *c)
{
	struct watch_one *o = arg;
	struct sipcert_cert *cert = NULL;
	struct sipcert_error e;

	(void)k;
	if (c->verdict == UA_V_NO_CERTIFICATE) {
		/* RFC 6072 §6.8: an empty body revokes: off the cache */
		(void)ua_cache_drop(o->w->u->cache, o->aor);
		(void)lib_fail_verdict(&e, c);
		watch_report(o, SIPCERT_WATCH_REVOKED, NULL, &e);
	} else if (c->verdict != UA_V_OK) {
		(void)lib_fail_verdict(&e, c);
		watch_report(o, SIPCERT_WATCH_REFUSED, NULL, &e);
	} else if (cert_from_checked(c, &cert)) {
		(void)lib_fail(&e, -ENOMEM, "internal", "out of memory");
		watch_report(o, SIPCERT_WATCH_REFUSED, NULL, &e);
	} else {
		lib_cache_put(o->w->u, cert);
		watch_report(o, SIPCERT_WATCH_UPDATE, cert, NULL);
		sipcert_cert_free(cert);
	}
	lib_check_free(o->check);
	o->check = NULL;
}

static unsigned on_watch_notify(void *arg, struct ua_sub *s,
				const struct ua_notify *n)
{
	struct watch_one *o = arg;
	struct sipcert_error e;
	int err;

	(void)s;
	/* the latest NOTIFY wins: a check still running is superseded */
	lib_check_free(o->check);
	o->check = NULL;
	err = lib_check_start(o->w->u, n->msg, n->src->proto, o->aor,
			      on_watch_checked, o, &o->check);
	if (err) {
		(void)lib_fail(&e, err, "internal", "%s",
			       sipcert_strerror(err));
		watch_report(o, SIPCERT_WATCH_REFUSED, NULL, &e);
	}
	return 200;
}

static int watch_subscribe(struct watch_one *o);

static void on_watch_retry(evutil_socket_t fd, short what, void *arg)
{
	struct watch_one *o = arg;
	struct sipcert_error e;
	int err;

	(void)fd;
	(void)what;
	if (o->w->stopping)
		return;
	err = watch_subscribe(o);
	if (err) {
		(void)lib_fail(&e, err, "internal", "%s",
			       sipcert_strerror(err));
		watch_report(o, SIPCERT_WATCH_ENDED, NULL, &e);
	}
}

static void on_watch_event(void *arg, struct ua_sub *s,
			   const struct ua_sub_event *ev)
{
	struct watch_one *o = arg;
	struct sipcert_error e = {0};
	struct timeval tv = {WATCH_RETRY_S, 0};

	(void)s;
	if (!ev->is_over) {
		if (ev->err || ev->status >= 300) {
			(void)lib_fail_sub(&e, ev);
			watch_report(o, SIPCERT_WATCH_REFUSED, NULL, &e);
		}
		return;
	}
	o->sub = NULL;
	o->w->n_active--;
	if (o->w->stopping)
		return;
	if (ev->err || ev->status >= 300)
		(void)lib_fail_sub(&e, ev);
	else
		(void)lib_fail(&e, 0, "ended",
			       "the subscription ended (%.*s); subscribing "
			       "again",
			       SLICE_FMT(ev->reason));
	/* RFC 6665 §4.1.3: "rejected" and "noresource" mean do not retry;
	 * a final failure of the SUBSCRIBE itself (404, 403) too */
	o->gone = (ev->status >= 400 && ev->status != 408) ||
		  slice_eq_cstr(ev->reason, "rejected") ||
		  slice_eq_cstr(ev->reason, "noresource");
	watch_report(o, SIPCERT_WATCH_ENDED, NULL, &e);
	if (!o->gone)
		(void)evtimer_add(o->retry, &tv);
}

static int watch_subscribe(struct watch_one *o)
{
	struct ua_sub_opts so = {0};
	int err;

	so.ruri = o->aor;
	so.event = "certificate";
	so.accept = "application/pkix-cert";
	so.expires = o->w->expires;
	so.on_notify = on_watch_notify;
	so.on_event = on_watch_event;
	so.arg = o;
	err = ua_subscribe(o->w->u->ua, &so, &o->sub);
	if (!err)
		o->w->n_active++;
	return err;
}

static bool watch_all_gone(const struct watch *w)
{
	for (size_t i = 0; i < w->n; i++)
		if (!w->v[i].gone)
			return false;
	return true;
}

static void watch_fini(struct watch *w)
{
	for (size_t i = 0; i < w->n; i++) {
		struct watch_one *o = &w->v[i];

		if (o->sub)
			ua_sub_free(o->sub);
		lib_check_free(o->check);
		if (o->retry)
			event_free(o->retry);
	}
	mem_free(w->v);
}

/* Stop: un-SUBSCRIBE every subscription (RFC 6665 §4.1.2.3, RFC 6072
 * §6.5) and wait a little for the answers. */
static void watch_end(struct watch *w)
{
	bool none = false;
	struct sipcert_ua *u = w->u;

	w->stopping = true;
	for (size_t i = 0; i < w->n; i++) {
		if (w->v[i].retry)
			evtimer_del(w->v[i].retry);
		if (w->v[i].sub)
			ua_sub_end(w->v[i].sub);
	}
	u->stop_flag = 0;
	while (w->n_active && !u->stop_flag) {
		none = false;
		if (lib_run(u, &none, 200) != -ETIMEDOUT)
			break;
		if (!ua_busy(u->ua))
			break;
	}
	u->stop_flag = 1;
}

SIPCERT_API int sipcert_watch(struct sipcert_ua *ua, const char *const *aors,
			      size_t n, unsigned expires, sipcert_watch_cb *cb,
			      void *arg, struct sipcert_error *e)
{
	struct watch w = {0};
	bool never = false;
	int err = 0;

	if (!ua || !aors || !n || !cb)
		return lib_fail(e, -EINVAL, "usage", "missing argument");
	if (n > WATCH_MAX_AORS)
		return lib_fail(e, -EINVAL, "usage", "at most %d AORs",
				WATCH_MAX_AORS);
	w.u = ua;
	w.cb = cb;
	w.arg = arg;
	w.expires = expires ? expires : 3600;
	w.v = mem_zalloc(n * sizeof(*w.v));
	if (!w.v)
		return lib_fail(e, -ENOMEM, "internal", "out of memory");
	w.n = n;
	for (size_t i = 0; i < n && !err; i++) {
		w.v[i].w = &w;
		if (lib_aor_norm(aors[i], w.v[i].aor, sizeof(w.v[i].aor)))
			err = lib_fail(e, -EINVAL, "usage",
				       "\"%s\" is not a SIP address of record",
				       aors[i]);
		else if (!(w.v[i].retry = evtimer_new(ua->base, on_watch_retry,
						      &w.v[i])))
			err = lib_fail(e, -ENOMEM, "internal", "out of memory");
	}
	for (size_t i = 0; i < n && !err; i++)
		if (watch_subscribe(&w.v[i]))
			err = lib_fail(e, -ENOMEM, "internal",
				       "cannot subscribe to %s", w.v[i].aor);
	if (err) {
		watch_fini(&w);
		return err;
	}
	while (!ua->stop_flag && !watch_all_gone(&w))
		(void)lib_run(ua, &never, 1000);
	if (watch_all_gone(&w))
		err = lib_fail(e, -ENOENT, "refused",
			       "every subscription was refused");
	else
		watch_end(&w);
	watch_fini(&w);
	ua->stop_flag = 0;
	return err;
}
