/* SPDX-License-Identifier: BSD-3-Clause */
/* libsipcert: the credential agent of RFC 6072 §5: stay subscribed to
 * one's own credential, make and publish a new one when there is none or
 * when the current one is about to run out (after a random wait, unless
 * another device renewed it first), and subscribe again after
 * "deactivated". */
#include "ua_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

enum {
	AGENT_RENEW_BEFORE_S = 600, /* RFC 6072 §5 */
	AGENT_MAX_WAIT_S = 300,	    /* RFC 6072 §5 */
	AGENT_RESUBSCRIBE_S = 5,
	AGENT_EXPIRES_S = 3600,
};

struct agent {
	struct sipcert_ua *u;
	const char *pass;
	enum sipcert_key_type key_type;
	unsigned renew_before_s, max_wait_s, expires;
	sipcert_agent_cb *cb;
	void *arg;
	struct ua_sub *sub;
	struct event *renew_ev; /* notAfter - renew_before_s */
	struct event *wait_ev;	/* the random wait ran out */
	struct event *resub_ev; /* subscribe again */
	char current[65];	/* SHA-256 of the credential we hold */
	char renewing[65];	/* the one the wait is for */
	bool want_publish;	/* make and publish a new one */
	bool if_match;		/* ... replacing ours (SIP-If-Match) */
	bool stopping;
	bool kick; /* wake the main loop */
};

static void agent_say(struct agent *a, enum sipcert_agent_kind kind,
		      const struct sipcert_cert *cert,
		      const struct sipcert_error *e)
{
	struct sipcert_agent_event ev = {
		.kind = kind, .cert = cert, .error = e};

	a->cb(a->arg, &ev);
}

static void agent_error(struct agent *a, const struct sipcert_error *e)
{
	agent_say(a, SIPCERT_AGENT_ERROR, NULL, e);
}

static void agent_arm(struct event *ev, time_t seconds)
{
	struct timeval tv = {seconds > 0 ? seconds : 0, 0};

	(void)evtimer_add(ev, &tv);
}

static unsigned random_below(unsigned n)
{
	unsigned v = 0;

	if (!n || RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		return 0;
	return v % (n + 1);
}

static unsigned on_agent_notify(void *arg, struct ua_sub *s,
				const struct ua_notify *n)
{
	struct agent *a = arg;
	struct sipcert_cert *info = NULL;
	struct sipcert_error e;
	X509 *cert = NULL;
	time_t nb, na, now = time(NULL);
	bool with_key;
	int err;

	(void)s;
	if (!n->msg->body.len) {
		if (n->state == UA_SUB_TERMINATED)
			return 200; /* the end, not a revocation */
		/* RFC 6072 §5: nothing published (or revoked): make one */
		agent_say(a, SIPCERT_AGENT_EMPTY, NULL, NULL);
		*a->current = '\0';
		a->want_publish = true;
		a->if_match = false;
		a->kick = true;
		return 200;
	}
	/* a certificate alone is fine: our key is kept from before */
	err = lib_cred_open(a->u, n->msg, a->pass, &cert, &with_key, &e);
	if (err) {
		agent_error(a, &e);
		return err == -EACCES ? 437 : 200; /* RFC 6072 §7.10 */
	}
	if (lib_cert_new(cert, a->u->aor, &info) ||
	    crypto_cert_times(cert, &nb, &na)) {
		X509_free(cert);
		sipcert_cert_free(info);
		return 200;
	}
	X509_free(cert);
	memcpy(a->current, info->sha256, sizeof(a->current));
	agent_say(a, SIPCERT_AGENT_CREDENTIAL, info, NULL);
	sipcert_cert_free(info);
	/* a new credential cancels a renewal waiting to happen (§5: another
	 * device did it) */
	evtimer_del(a->wait_ev);
	*a->renewing = '\0';
	agent_arm(a->renew_ev, na - (time_t)a->renew_before_s - now);
	return 200;
}

static void on_agent_renew(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	/* RFC 6072 §5: within 600 s of notAfter wait a random 0-300 s; if
	 * no new credential came meanwhile, make one */
	memcpy(a->renewing, a->current, sizeof(a->renewing));
	agent_say(a, SIPCERT_AGENT_RENEWING, NULL, NULL);
	agent_arm(a->wait_ev, random_below(a->max_wait_s));
}

static void on_agent_wait(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	if (strcmp(a->renewing, a->current))
		return; /* another device renewed it */
	a->want_publish = true;
	a->if_match = true;
	a->kick = true;
}

static int agent_subscribe(struct agent *a);

static void on_agent_resub(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	struct sipcert_error e;

	(void)fd;
	(void)what;
	if (a->stopping || a->sub)
		return;
	if (agent_subscribe(a)) {
		(void)lib_fail(&e, -ENOMEM, "internal", "cannot subscribe");
		agent_error(a, &e);
		agent_arm(a->resub_ev, AGENT_RESUBSCRIBE_S);
	}
}

static void on_agent_event(void *arg, struct ua_sub *s,
			   const struct ua_sub_event *ev)
{
	struct agent *a = arg;
	struct sipcert_error e;

	(void)s;
	if (!ev->is_over) {
		if (!ev->err && ev->status >= 200 && ev->status < 300)
			agent_say(a, SIPCERT_AGENT_SUBSCRIBED, NULL, NULL);
		else if (ev->err || ev->status >= 300)
			goto failed;
		return;
	}
	a->sub = NULL;
	if (a->stopping)
		return;
	if (slice_eq_cstr(ev->reason, "deactivated")) {
		/* RFC 6665 §4.1.3: subscribe again at once */
		agent_say(a, SIPCERT_AGENT_DEACTIVATED, NULL, NULL);
		agent_arm(a->resub_ev, 0);
		return;
	}
failed:
	if (lib_fail_sub(&e, ev) == 0)
		(void)lib_fail(&e, 0, "ended", "the subscription ended (%.*s)",
			       SLICE_FMT(ev->reason));
	agent_error(a, &e);
	if (ev->is_over)
		agent_arm(a->resub_ev, AGENT_RESUBSCRIBE_S);
}

static int agent_subscribe(struct agent *a)
{
	struct ua_sub_opts so = {0};

	so.ruri = a->u->aor;
	so.event = "credential";
	so.accept = "multipart/mixed, application/pkix-cert, "
		    "application/pkcs8";
	so.expires = a->expires;
	so.tls_only = true;
	so.on_notify = on_agent_notify;
	so.on_event = on_agent_event;
	so.arg = a;
	return ua_subscribe(a->u->ua, &so, &a->sub);
}

/* Make a credential and publish it with its key (from the main loop,
 * never inside a callback). */
static void agent_publish(struct agent *a)
{
	struct sipcert_publish_opts po = {0};
	struct sipcert_publish_result res = {0};
	struct sipcert_error e;

	a->want_publish = false;
	po.force_new = 1;
	po.key_type = a->key_type;
	po.with_key = 1;
	po.passphrase = a->pass;
	if (sipcert_publish(a->u, &po, &res, &e)) {
		agent_error(a, &e);
		return;
	}
	agent_say(a, SIPCERT_AGENT_PUBLISHED, res.cert, NULL);
	sipcert_cert_free(res.cert);
}

static void agent_fini(struct agent *a)
{
	if (a->sub)
		ua_sub_free(a->sub);
	if (a->renew_ev)
		event_free(a->renew_ev);
	if (a->wait_ev)
		event_free(a->wait_ev);
	if (a->resub_ev)
		event_free(a->resub_ev);
}

SIPCERT_API int sipcert_agent(struct sipcert_ua *ua,
			      const struct sipcert_agent_opts *o,
			      sipcert_agent_cb *cb, void *arg,
			      struct sipcert_error *e)
{
	struct agent a = {0};
	bool none = false;
	int err;

	if (!ua || !o || !cb)
		return lib_fail(e, -EINVAL, "usage", "missing argument");
	if (!ua->aor)
		return lib_fail(e, -EINVAL, "usage", "the agent needs our AOR");
	if (!o->passphrase || !*o->passphrase)
		return lib_fail(e, -EINVAL, "passphrase_required",
				"the agent publishes the key: it needs a pass "
				"phrase");
	a.u = ua;
	a.pass = o->passphrase;
	a.key_type = o->key_type;
	a.renew_before_s =
		o->renew_before_s ? o->renew_before_s : AGENT_RENEW_BEFORE_S;
	a.max_wait_s = o->max_wait_s ? o->max_wait_s : AGENT_MAX_WAIT_S;
	a.expires = o->expires ? o->expires : AGENT_EXPIRES_S;
	a.cb = cb;
	a.arg = arg;
	a.renew_ev = evtimer_new(ua->base, on_agent_renew, &a);
	a.wait_ev = evtimer_new(ua->base, on_agent_wait, &a);
	a.resub_ev = evtimer_new(ua->base, on_agent_resub, &a);
	if (!a.renew_ev || !a.wait_ev || !a.resub_ev) {
		agent_fini(&a);
		return lib_fail(e, -ENOMEM, "internal", "out of memory");
	}
	err = agent_subscribe(&a);
	if (err) {
		agent_fini(&a);
		return lib_fail(e, err, "internal", "cannot subscribe: %s",
				sipcert_strerror(err));
	}
	while (!ua->stop_flag) {
		a.kick = false;
		(void)lib_run(ua, &a.kick, 1000);
		if (a.want_publish && !ua->stop_flag)
			agent_publish(&a);
	}
	/* unsubscribe (RFC 6665 §4.1.2.3) and wait briefly for it */
	a.stopping = true;
	if (a.sub) {
		ua_sub_end(a.sub);
		ua->stop_flag = 0;
		for (int i = 0; i < 25 && a.sub && !ua->stop_flag; i++)
			(void)lib_run(ua, &none, 200);
	}
	agent_fini(&a);
	ua->stop_flag = 0;
	return 0;
}
