/* SPDX-License-Identifier: BSD-3-Clause */
/* The dispatcher: every new request goes to the role that owns its method
 * and Event, after the checks RFC 3261 §8.2 asks of any UAS: method
 * (405/501 with Allow, §8.2.1), URI scheme (416, §8.2.2.1), extensions
 * (420 with Unsupported, §8.2.2.3). */
#include "sipcertd.h"

#include <string.h>

/* The option tags sipcertd understands (Require/Proxy-Require). */
static const char *const supported_tags[] = {"sipsec"};

/* Methods some role of this daemon handles (RFC 3261 §20.5). */
#define ALLOW_HDR                                                              \
	"Allow: REGISTER, OPTIONS, SUBSCRIBE, PUBLISH, MESSAGE, ACK, CANCEL"
/* The event packages of the credential service (RFC 6665 §8.2.2) */
#define ALLOW_EVENTS_HDR "Allow-Events: certificate, credential"
/* What the credential packages send and PUBLISH takes (RFC 6072 §6.4) */
#define ACCEPT_HDR                                                             \
	"Accept: application/pkix-cert, multipart/mixed, application/pkcs8"

static bool tag_supported(struct slice tag)
{
	for (size_t i = 0; i < ARRAY_SIZE(supported_tags); i++)
		if (slice_caseeq_cstr(tag, supported_tags[i]))
			return true;
	return false;
}

/* RFC 3261 §8.2.2.3: every unknown option tag of Require (and, since
 * sipcertd also proxies, Proxy-Require) goes into one Unsupported. */
static int unsupported_tags(const struct sip_msg *m, struct buf *out)
{
	static const enum sip_hdr_id ids[] = {SIP_HDR_REQUIRE,
					      SIP_HDR_PROXY_REQUIRE};

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		for (const struct sip_hdr *h = sip_msg_hdr(m, ids[i]); h;
		     h = sip_msg_hdr_next(m, h)) {
			struct scan s = scan_of(h->value);
			struct slice tag;

			while (!sip_list_next(&s, &tag)) {
				if (tag_supported(tag))
					continue;
				buf_printf(out, "%s%.*s",
					   out->len ? ", " : "Unsupported: ",
					   SLICE_FMT(tag));
			}
		}
	}
	return out->err;
}

static void reply_hdr(struct txn_srv *st, unsigned status, const char *reason,
		      const char *hdr)
{
	const char *hdrs[1] = {hdr};
	struct txn_reply_opts o = {.hdrs = hdrs, .n_hdrs = hdr ? 1 : 0};

	(void)txn_srv_reply(st, status, reason, &o);
}

static void handle_options(struct sipcertd *d, struct txn_srv *st)
{
	const char *hdrs[] = {
		ALLOW_HDR,
		ALLOW_EVENTS_HDR,
		ACCEPT_HDR,
		"Supported: sipsec",
	};
	struct txn_reply_opts o = {.hdrs = hdrs, .n_hdrs = ARRAY_SIZE(hdrs)};

	(void)d;
	(void)txn_srv_reply(st, 200, NULL, &o);
}

/* The AOR a REGISTER, SUBSCRIBE or PUBLISH is about: its To, in the
 * store's normal form, and only of our own domain (RFC 3261 §10.3 steps 1
 * and 5; RFC 6665 §4.2.1: To names the resource). */
static int to_aor(struct sipcertd *d, const struct sip_msg *m, char *aor,
		  size_t n)
{
	const struct sip_uri *to = &m->to.uri;

	if (to->scheme != SIP_URI_SIP && to->scheme != SIP_URI_SIPS)
		return -EBADMSG;
	if (!to->user.p || !slice_caseeq_cstr(to->host, d->cfg.domain.name))
		return -ENOENT;
	return auth_uri_aor(to, aor, n);
}

/* RFC 3261 §22: digest-authenticate m as the owner of aor. True when it
 * is; otherwise the request has been answered (challenge or refusal). */
static bool authenticate(struct sipcertd *d, struct txn_srv *st,
			 const char *aor)
{
	const struct sip_msg *m = txn_srv_msg(st);
	const struct txn_source *src = txn_srv_source(st);
	struct auth_result res;

	auth_check(d->auth, m, &src->peer, false, &res);
	switch (res.verdict) {
	case AUTH_OK:
		/* no third-party registration or publication: the
		 * credentials' AOR is the one the request is about */
		if (strcmp(res.aor, aor)) {
			reply_hdr(st, 403, "Credentials are for another user",
				  NULL);
			return false;
		}
		return true;
	case AUTH_CHALLENGE: {
		const char *hdrs[2] = {res.hdrs[0], res.hdrs[1]};
		struct txn_reply_opts o = {.hdrs = hdrs, .n_hdrs = res.n_hdrs};

		d->stats.auth_challenges++;
		(void)txn_srv_reply(st, res.status, res.reason, &o);
		return false;
	}
	case AUTH_FORBIDDEN:
		break;
	}
	d->stats.auth_failures++;
	log_msg(LOG_LEVEL_NOTICE, "auth", "refused %s: %s", aor, res.reason);
	reply_hdr(st, res.status, res.reason, NULL);
	return false;
}

static void handle_register(struct sipcertd *d, struct txn_srv *st)
{
	const struct sip_msg *m = txn_srv_msg(st);
	char aor[256];
	int err;

	if (!slice_caseeq_cstr(m->ruri.host, d->cfg.domain.name)) {
		reply_hdr(st, 404, "Domain not served here", NULL);
		return;
	}
	err = to_aor(d, m, aor, sizeof(aor));
	if (err) {
		reply_hdr(st, err == -ENOENT ? 404 : 400,
			  err == -ENOENT ? "Not Found"
					 : "To is not a SIP address-of-record",
			  NULL);
		return;
	}
	/* [registrar] authenticate = no: a proxy in front vouches */
	if (!d->cfg.registrar.authenticate || authenticate(d, st, aor))
		registrar_handle(d->registrar, st, aor);
}

/* SUBSCRIBE and PUBLISH of the credential service: the package (489 for
 * others, RFC 6665 §8.2.2), the resource (the To AOR, a user of our
 * domain: 404 otherwise), and for the credential package the rules of
 * RFC 6072 §7.5-§7.9: direct TLS (403), digest as the AOR's owner. */
static void handle_cred(struct sipcertd *d, struct txn_srv *st, bool publish)
{
	const struct sip_msg *m = txn_srv_msg(st);
	const struct txn_source *src = txn_srv_source(st);
	enum cred_pkg pkg;
	const char *why;
	char aor[256];
	int err;

	if (!d->cred) {
		reply_hdr(st, 503, "Credential service unavailable", NULL);
		return;
	}
	err = cred_pkg_of(m, &pkg);
	if (err == -EBADMSG) {
		reply_hdr(st, 400, "Malformed Event", NULL);
		return;
	}
	if (err || (publish && pkg != CRED_PKG_CREDENTIAL)) {
		reply_hdr(st, 489, NULL,
			  publish ? "Allow-Events: credential"
				  : ALLOW_EVENTS_HDR);
		return;
	}
	/* an initial request names the resource in its Request-URI; an
	 * in-dialog one is sent to our Contact. Either way To is the AOR. */
	if (!m->to.tag.p &&
	    !slice_caseeq_cstr(m->ruri.host, d->cfg.domain.name)) {
		reply_hdr(st, 404, "Domain not served here", NULL);
		return;
	}
	err = to_aor(d, m, aor, sizeof(aor));
	if (!err && !userdb_find(d->users, slice_cstr(aor)))
		err = -ENOENT;
	if (err) {
		reply_hdr(st, err == -EBADMSG ? 400 : 404,
			  err == -EBADMSG ? "To is not a SIP address-of-record"
					  : "No such user",
			  NULL);
		return;
	}
	if (pkg == CRED_PKG_CREDENTIAL) {
		why = cred_direct_tls_refusal(m, src->proto);
		if (why) {
			log_msg(LOG_LEVEL_NOTICE, "cred",
				"%s for %s from %s: %s",
				publish ? "PUBLISH" : "SUBSCRIBE", aor,
				net_proto_name(src->proto), why);
			reply_hdr(st, 403, why, NULL);
			return;
		}
		if (!authenticate(d, st, aor))
			return;
	}
	if (publish)
		cred_publish(d->cred, st, aor);
	else
		cred_subscribe(d->cred, st, pkg, aor);
}

void dispatch_request(void *arg, struct txn_srv *st, const struct sip_msg *m)
{
	struct sipcertd *d = arg;
	struct buf unsup;

	d->stats.requests++;
	/* an ACK to a 2xx ends an INVITE we never accept: nothing to do */
	if (m->method_id == SIP_METHOD_ACK)
		return;
	if (d->is_draining) {
		/* RFC 3261 §21.5.4: shutting down, try again elsewhere */
		reply_hdr(st, 503, "Shutting down", "Retry-After: 5");
		return;
	}
	/* RFC 3261 §8.2.2.1: 416 for a scheme we do not serve */
	if (m->ruri.scheme != SIP_URI_SIP && m->ruri.scheme != SIP_URI_SIPS &&
	    m->ruri.scheme != SIP_URI_SIPSEC) {
		reply_hdr(st, 416, NULL, NULL);
		return;
	}
	/* MESSAGE is proxied (proxy.c): RFC 3261 §16.3 checks Proxy-Require
	 * only, Require is for the recipient */
	if (m->method_id == SIP_METHOD_MESSAGE) {
		proxy_message(d, st);
		return;
	}
	buf_init(&unsup, 1024);
	if (unsupported_tags(m, &unsup) || unsup.len) {
		const char *line;

		if (!buf_cstr(&unsup, &line))
			reply_hdr(st, 420, NULL, unsup.err ? NULL : line);
		buf_fini(&unsup);
		return;
	}
	buf_fini(&unsup);
	switch (m->method_id) {
	case SIP_METHOD_REGISTER:
		handle_register(d, st);
		return;
	case SIP_METHOD_OPTIONS:
		handle_options(d, st);
		return;
	case SIP_METHOD_SUBSCRIBE:
		handle_cred(d, st, false);
		return;
	case SIP_METHOD_PUBLISH:
		handle_cred(d, st, true);
		return;
	case SIP_METHOD_OTHER:
		/* RFC 3261 §8.2.1: a method we do not recognise */
		reply_hdr(st, 501, NULL, ALLOW_HDR);
		return;
	default:
		/* known, but no role of this daemon takes it */
		reply_hdr(st, 405, NULL, ALLOW_HDR);
		return;
	}
}
