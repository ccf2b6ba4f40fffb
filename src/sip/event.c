/* SPDX-License-Identifier: BSD-3-Clause */
/* The SIP-specific event notification headers: Event (RFC 6665 §8.2.1,
 * §7.2) and Subscription-State (RFC 6665 §8.2.3, grammar of §7.2). */
#include "sip.h"

/* RFC 6665 §7.2: event-type = event-package *( "." event-template ), each
 * part a token-nodot. A token may hold dots, so the split is checked after
 * the fact: no empty part means no leading, trailing or doubled dot. */
static int scan_event_type(struct scan *s, struct slice *out)
{
	struct scan t = *s;
	struct slice type;

	if (scan_token(&t, &type))
		return -EBADMSG;
	if (type.p[0] == '.' || type.p[type.len - 1] == '.')
		return -EBADMSG;
	for (size_t i = 1; i < type.len; i++)
		if (type.p[i] == '.' && type.p[i - 1] == '.')
			return -EBADMSG;
	*out = type;
	*s = t;
	return 0;
}

/* A value that must be a bare token: not a flag, not quoted, and none of
 * the host characters sip_param_next() lets through. */
static bool is_token(struct slice v)
{
	if (!v.len)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!char_is_token((unsigned char)v.p[i]))
			return false;
	return true;
}

/* Event = event-type *( SEMI event-param );
 * event-param = generic-param / ( "id" EQUAL token ) */
int sip_event_parse(struct slice v, struct sip_event *out)
{
	struct scan s = scan_of(v);
	struct sip_event ev = {0};
	struct slice name, value;
	const char *params_start;
	int err;

	if (scan_event_type(&s, &ev.package))
		return -EBADMSG;
	scan_sws(&s);
	params_start = s.p;
	while ((err = sip_param_next(&s, &name, &value)) == 0) {
		if (!slice_caseeq_cstr(name, "id"))
			continue;
		/* one subscription has one id (RFC 6665 §8.2.1) */
		if (ev.id.p || !is_token(value))
			return -EBADMSG;
		ev.id = value;
	}
	if (err != -ENOENT || scan_end(&s))
		return -EBADMSG;
	ev.params = slice_trim(
		slice_of(params_start, (size_t)(s.p - params_start)));
	*out = ev;
	return 0;
}

/* delta-seconds (RFC 3261 §25.1) as a parameter value, once only. */
static int param_delta(struct slice value, bool *seen, uint32_t *out)
{
	if (*seen || sip_delta_parse(value, out))
		return -EBADMSG;
	*seen = true;
	return 0;
}

/* Subscription-State = substate-value *( SEMI subexp-params );
 * substate-value = "active" / "pending" / "terminated" / extension-substate;
 * subexp-params = ("reason" EQUAL event-reason-value)
 *   / ("expires" EQUAL delta-seconds) / ("retry-after" EQUAL delta-seconds)
 *   / generic-param.
 * Each named parameter may appear once: two expires values leave the
 * subscriber guessing which one the notifier meant. */
int sip_substate_parse(struct slice v, struct sip_substate *out)
{
	struct scan s = scan_of(v);
	struct sip_substate ss = {0};
	struct slice name, value;
	const char *params_start;
	int err;

	if (scan_token(&s, &ss.state))
		return -EBADMSG;
	scan_sws(&s);
	params_start = s.p;
	while ((err = sip_param_next(&s, &name, &value)) == 0) {
		if (slice_caseeq_cstr(name, "reason")) {
			/* event-reason-value: a registered name or a token */
			if (ss.reason.p || !is_token(value))
				return -EBADMSG;
			ss.reason = value;
		} else if (slice_caseeq_cstr(name, "expires")) {
			if (param_delta(value, &ss.has_expires, &ss.expires))
				return -EBADMSG;
		} else if (slice_caseeq_cstr(name, "retry-after")) {
			if (param_delta(value, &ss.has_retry_after,
					&ss.retry_after))
				return -EBADMSG;
		}
	}
	if (err != -ENOENT || scan_end(&s))
		return -EBADMSG;
	ss.params = slice_trim(
		slice_of(params_start, (size_t)(s.p - params_start)));
	*out = ss;
	return 0;
}

bool sip_status_ends_subscription(unsigned status)
{
	switch (status) {
	case 404: /* Not Found */
	case 405: /* Method Not Allowed */
	case 408: /* Request Timeout */
	case 410: /* Gone */
	case 416: /* Unsupported URI Scheme */
	case 489: /* Bad Event */
	case 501: /* Not Implemented */
	case 604: /* Does Not Exist Anywhere */
		return true;
	default:
		/* 480-485: Temporarily Unavailable to Ambiguous */
		return status >= 480 && status <= 485;
	}
}
