/* SPDX-License-Identifier: BSD-3-Clause */
/* The header vocabulary: full and compact names (RFC 3261 §7.3.3, §20;
 * RFC 6665 §8.2; RFC 3903 §11; RFC 4474 §13) mapped through one table, and
 * the splitting of comma-separated header values (RFC 3261 §7.3.1). */
#include "sip.h"

struct hdr_def {
	const char *name;
	char compact;
	bool is_list;
};

static const struct hdr_def hdr_defs[SIP_HDR__COUNT] = {
	[SIP_HDR_ACCEPT] = {"Accept", 0, true},
	[SIP_HDR_ACCEPT_ENCODING] = {"Accept-Encoding", 0, true},
	[SIP_HDR_ACCEPT_LANGUAGE] = {"Accept-Language", 0, true},
	[SIP_HDR_ALLOW] = {"Allow", 0, true},
	[SIP_HDR_ALLOW_EVENTS] = {"Allow-Events", 'u', true},
	/* credentials contain commas between auth-params: not a list */
	[SIP_HDR_AUTHORIZATION] = {"Authorization", 0, false},
	[SIP_HDR_CALL_ID] = {"Call-ID", 'i', false},
	[SIP_HDR_CONTACT] = {"Contact", 'm', true},
	[SIP_HDR_CONTENT_DISPOSITION] = {"Content-Disposition", 0, false},
	[SIP_HDR_CONTENT_ENCODING] = {"Content-Encoding", 'e', true},
	[SIP_HDR_CONTENT_ID] = {"Content-ID", 0, false},
	[SIP_HDR_CONTENT_LENGTH] = {"Content-Length", 'l', false},
	[SIP_HDR_CONTENT_TYPE] = {"Content-Type", 'c', false},
	[SIP_HDR_CSEQ] = {"CSeq", 0, false},
	[SIP_HDR_DATE] = {"Date", 0, false},
	[SIP_HDR_EVENT] = {"Event", 'o', false},
	[SIP_HDR_EXPIRES] = {"Expires", 0, false},
	[SIP_HDR_FROM] = {"From", 'f', false},
	[SIP_HDR_IDENTITY] = {"Identity", 'y', false},
	[SIP_HDR_IDENTITY_INFO] = {"Identity-Info", 'n', false},
	[SIP_HDR_MAX_FORWARDS] = {"Max-Forwards", 0, false},
	[SIP_HDR_MIN_EXPIRES] = {"Min-Expires", 0, false},
	[SIP_HDR_PROXY_AUTHENTICATE] = {"Proxy-Authenticate", 0, false},
	[SIP_HDR_PROXY_AUTHORIZATION] = {"Proxy-Authorization", 0, false},
	[SIP_HDR_PROXY_REQUIRE] = {"Proxy-Require", 0, true},
	[SIP_HDR_RECORD_ROUTE] = {"Record-Route", 0, true},
	[SIP_HDR_REQUIRE] = {"Require", 0, true},
	[SIP_HDR_RETRY_AFTER] = {"Retry-After", 0, false},
	[SIP_HDR_ROUTE] = {"Route", 0, true},
	[SIP_HDR_SIP_ETAG] = {"SIP-ETag", 0, false},
	[SIP_HDR_SIP_IF_MATCH] = {"SIP-If-Match", 0, false},
	[SIP_HDR_SUBJECT] = {"Subject", 's', false},
	[SIP_HDR_SUBSCRIPTION_STATE] = {"Subscription-State", 0, false},
	[SIP_HDR_SUPPORTED] = {"Supported", 'k', true},
	[SIP_HDR_TIMESTAMP] = {"Timestamp", 0, false},
	[SIP_HDR_TO] = {"To", 't', false},
	[SIP_HDR_UNSUPPORTED] = {"Unsupported", 0, true},
	[SIP_HDR_USER_AGENT] = {"User-Agent", 0, false},
	[SIP_HDR_SERVER] = {"Server", 0, false},
	[SIP_HDR_VIA] = {"Via", 'v', true},
	[SIP_HDR_WARNING] = {"Warning", 0, true},
	[SIP_HDR_WWW_AUTHENTICATE] = {"WWW-Authenticate", 0, false},
};

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

enum sip_hdr_id sip_hdr_lookup(struct slice name)
{
	int first;

	if (!name.len)
		return SIP_HDR_OTHER;
	first = lower((unsigned char)name.p[0]);
	if (name.len == 1) {
		for (int i = 1; i < SIP_HDR__COUNT; i++)
			if (hdr_defs[i].compact == first)
				return (enum sip_hdr_id)i;
		return SIP_HDR_OTHER;
	}
	/* the first letter and the length rule out all but a few rows */
	for (int i = 1; i < SIP_HDR__COUNT; i++) {
		const char *n = hdr_defs[i].name;

		if (lower((unsigned char)n[0]) == first &&
		    slice_caseeq_cstr(name, n))
			return (enum sip_hdr_id)i;
	}
	return SIP_HDR_OTHER;
}

const char *sip_hdr_name(enum sip_hdr_id id)
{
	if (id <= SIP_HDR_OTHER || id >= SIP_HDR__COUNT)
		return NULL;
	return hdr_defs[id].name;
}

bool sip_hdr_is_list(enum sip_hdr_id id)
{
	if (id <= SIP_HDR_OTHER || id >= SIP_HDR__COUNT)
		return false;
	return hdr_defs[id].is_list;
}

int sip_list_next(struct scan *s, struct slice *elem)
{
	const char *p = s->p;
	const char *start;
	bool in_quote = false, in_angle = false;

	/* skip white space and the separator left by the previous call */
	while (p < s->end && (char_is_ws((unsigned char)*p) || *p == '\r' ||
			      *p == '\n'))
		p++;
	if (p >= s->end)
		return -ENOENT;
	start = p;
	for (; p < s->end; p++) {
		char c = *p;

		if (in_quote) {
			if (c == '\\' && p + 1 < s->end)
				p++;
			else if (c == '"')
				in_quote = false;
			continue;
		}
		if (c == '"')
			in_quote = true;
		else if (c == '<' && !in_angle)
			in_angle = true;
		else if (c == '>' && in_angle)
			in_angle = false;
		else if (c == ',' && !in_angle)
			break;
	}
	if (in_quote || in_angle)
		return -EBADMSG;
	*elem = slice_trim(slice_of(start, (size_t)(p - start)));
	if (!elem->len)
		return -EBADMSG;
	if (p < s->end) {
		/* a trailing comma with nothing after it is an empty element */
		const char *q = p + 1;

		while (q < s->end && (char_is_ws((unsigned char)*q) ||
				      *q == '\r' || *q == '\n'))
			q++;
		if (q >= s->end)
			return -EBADMSG;
		p++;
	}
	s->p = p;
	return 0;
}
