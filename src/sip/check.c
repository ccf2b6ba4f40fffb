/* SPDX-License-Identifier: BSD-3-Clause */
/* Strict checking of every header whose grammar sipcert knows (RFC 3261
 * §20, RFC 6665 §8.2, RFC 3903 §11): what `sipcert lint` and the fuzzers
 * hold a message to, beyond the eager routing keys. */
#include "sip.h"

#include <stdio.h>

/* option-tag lists (Require, Proxy-Require, Supported, Unsupported) and
 * Allow: comma-separated tokens. */
static int check_tokens(struct slice v)
{
	struct scan s = scan_of(v);
	struct slice elem;
	int err;

	while ((err = sip_list_next(&s, &elem)) == 0) {
		struct scan t = scan_of(elem);

		if (scan_token(&t, NULL) || scan_end(&t))
			return -EBADMSG;
	}
	return err == -ENOENT ? 0 : -EBADMSG;
}

typedef int list_elem_fn(struct slice elem);

static int each(struct slice v, list_elem_fn *fn)
{
	struct scan s = scan_of(v);
	struct slice elem;
	int err;

	while ((err = sip_list_next(&s, &elem)) == 0)
		if (fn(elem))
			return -EBADMSG;
	return err == -ENOENT ? 0 : -EBADMSG;
}

static int contact_elem(struct slice e)
{
	struct sip_addr a;

	return sip_contact_parse(e, &a);
}

static int route_elem(struct slice e)
{
	struct sip_addr a;

	/* RFC 3261 §20.34: route-param = name-addr *( SEMI rr-param ) */
	if (sip_addr_parse(e, &a) || !a.uri_s.len || a.uri_s.p[-1] != '<')
		return -EBADMSG;
	return 0;
}

static int event_elem(struct slice e)
{
	struct sip_event ev;

	return sip_event_parse(e, &ev);
}

static int accept_elem(struct slice e)
{
	struct sip_ctype ct;

	return sip_ctype_parse(e, &ct);
}

static int warning_elem(struct slice e)
{
	struct sip_warning w;

	return sip_warning_parse(e, &w);
}

static int check_one(const struct sip_msg *m, const struct sip_hdr *h)
{
	union {
		struct sip_disposition disp;
		struct sip_substate ss;
		struct sip_auth auth;
		time_t t;
		uint32_t u;
	} x;
	struct scan s;

	(void)m;
	switch (h->id) {
	case SIP_HDR_CONTACT:
		return each(h->value, contact_elem);
	case SIP_HDR_ROUTE:
	case SIP_HDR_RECORD_ROUTE:
		return each(h->value, route_elem);
	case SIP_HDR_REQUIRE:
	case SIP_HDR_PROXY_REQUIRE:
	case SIP_HDR_SUPPORTED:
	case SIP_HDR_UNSUPPORTED:
	case SIP_HDR_ALLOW:
		/* Supported and Allow may be empty (RFC 3261 §20.37) */
		if (!h->value.len &&
		    (h->id == SIP_HDR_SUPPORTED || h->id == SIP_HDR_ALLOW))
			return 0;
		return check_tokens(h->value);
	case SIP_HDR_ALLOW_EVENTS:
		return each(h->value, event_elem);
	case SIP_HDR_ACCEPT:
		/* RFC 3261 §20.1: an empty Accept means no body is acceptable
		 */
		return h->value.len ? each(h->value, accept_elem) : 0;
	case SIP_HDR_CONTENT_DISPOSITION:
		return sip_disposition_parse(h->value, &x.disp);
	case SIP_HDR_DATE:
		return sip_date_parse(h->value, &x.t);
	case SIP_HDR_SUBSCRIPTION_STATE:
		return sip_substate_parse(h->value, &x.ss);
	case SIP_HDR_MIN_EXPIRES:
		return sip_delta_parse(h->value, &x.u);
	case SIP_HDR_RETRY_AFTER:
		return sip_retry_after_parse(h->value, &x.u);
	case SIP_HDR_WARNING:
		return each(h->value, warning_elem);
	case SIP_HDR_AUTHORIZATION:
	case SIP_HDR_PROXY_AUTHORIZATION:
	case SIP_HDR_WWW_AUTHENTICATE:
	case SIP_HDR_PROXY_AUTHENTICATE:
		return sip_auth_parse(h->value, &x.auth);
	case SIP_HDR_SIP_ETAG:
	case SIP_HDR_SIP_IF_MATCH:
		/* RFC 3903 §11.3: entity-tag = token */
		s = scan_of(h->value);
		return scan_token(&s, NULL) || scan_end(&s) ? -EBADMSG : 0;
	default:
		return 0;
	}
}

int sip_msg_check(const struct sip_msg *m, struct sip_error *err)
{
	for (size_t i = 0; i < m->n_hdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];

		if (check_one(m, h)) {
			if (err) {
				err->status = m->is_request ? 400 : 0;
				snprintf(err->reason, sizeof(err->reason),
					 "Malformed %s header",
					 sip_hdr_name(h->id));
			}
			return -EBADMSG;
		}
	}
	return 0;
}
