/* SPDX-License-Identifier: BSD-3-Clause */
/* The header vocabulary: full and compact names (RFC 3261 §7.3.3, §20;
 * RFC 6665 §8.2; RFC 3903 §11; RFC 4474 §13) mapped through one table, and
 * the splitting of comma-separated header values (RFC 3261 §7.3.1). */
#include "sip.h"

#include <string.h>

struct hdr_def {
	const char *name;
	unsigned char len;
	char compact;
	bool is_list;
};

#define HDR(name, compact, is_list)                                            \
	{                                                                      \
		name, sizeof(name) - 1, compact, is_list                       \
	}

static const struct hdr_def hdr_defs[SIP_HDR__COUNT] = {
	[SIP_HDR_ACCEPT] = HDR("Accept", 0, true),
	[SIP_HDR_ACCEPT_ENCODING] = HDR("Accept-Encoding", 0, true),
	[SIP_HDR_ACCEPT_LANGUAGE] = HDR("Accept-Language", 0, true),
	[SIP_HDR_ALLOW] = HDR("Allow", 0, true),
	[SIP_HDR_ALLOW_EVENTS] = HDR("Allow-Events", 'u', true),
	/* credentials contain commas between auth-params: not a list */
	[SIP_HDR_AUTHORIZATION] = HDR("Authorization", 0, false),
	[SIP_HDR_CALL_ID] = HDR("Call-ID", 'i', false),
	[SIP_HDR_CONTACT] = HDR("Contact", 'm', true),
	[SIP_HDR_CONTENT_DISPOSITION] = HDR("Content-Disposition", 0, false),
	[SIP_HDR_CONTENT_ENCODING] = HDR("Content-Encoding", 'e', true),
	[SIP_HDR_CONTENT_ID] = HDR("Content-ID", 0, false),
	[SIP_HDR_CONTENT_LENGTH] = HDR("Content-Length", 'l', false),
	[SIP_HDR_CONTENT_TYPE] = HDR("Content-Type", 'c', false),
	[SIP_HDR_CSEQ] = HDR("CSeq", 0, false),
	[SIP_HDR_DATE] = HDR("Date", 0, false),
	[SIP_HDR_EVENT] = HDR("Event", 'o', false),
	[SIP_HDR_EXPIRES] = HDR("Expires", 0, false),
	[SIP_HDR_FROM] = HDR("From", 'f', false),
	[SIP_HDR_IDENTITY] = HDR("Identity", 'y', false),
	[SIP_HDR_IDENTITY_INFO] = HDR("Identity-Info", 'n', false),
	[SIP_HDR_MAX_FORWARDS] = HDR("Max-Forwards", 0, false),
	[SIP_HDR_MIN_EXPIRES] = HDR("Min-Expires", 0, false),
	[SIP_HDR_PROXY_AUTHENTICATE] = HDR("Proxy-Authenticate", 0, false),
	[SIP_HDR_PROXY_AUTHORIZATION] = HDR("Proxy-Authorization", 0, false),
	[SIP_HDR_PROXY_REQUIRE] = HDR("Proxy-Require", 0, true),
	[SIP_HDR_RECORD_ROUTE] = HDR("Record-Route", 0, true),
	[SIP_HDR_REQUIRE] = HDR("Require", 0, true),
	[SIP_HDR_RETRY_AFTER] = HDR("Retry-After", 0, false),
	[SIP_HDR_ROUTE] = HDR("Route", 0, true),
	[SIP_HDR_SIP_ETAG] = HDR("SIP-ETag", 0, false),
	[SIP_HDR_SIP_IF_MATCH] = HDR("SIP-If-Match", 0, false),
	[SIP_HDR_SUBJECT] = HDR("Subject", 's', false),
	[SIP_HDR_SUBSCRIPTION_STATE] = HDR("Subscription-State", 0, false),
	[SIP_HDR_SUPPORTED] = HDR("Supported", 'k', true),
	[SIP_HDR_TIMESTAMP] = HDR("Timestamp", 0, false),
	[SIP_HDR_TO] = HDR("To", 't', false),
	[SIP_HDR_UNSUPPORTED] = HDR("Unsupported", 0, true),
	[SIP_HDR_USER_AGENT] = HDR("User-Agent", 0, false),
	[SIP_HDR_SERVER] = HDR("Server", 0, false),
	[SIP_HDR_VIA] = HDR("Via", 'v', true),
	[SIP_HDR_WARNING] = HDR("Warning", 0, true),
	[SIP_HDR_WWW_AUTHENTICATE] = HDR("WWW-Authenticate", 0, false),
};

/* Header-name lookup is one probe into a perfect hash of the length and
 * the first and last letters, lower-cased, then one comparison. The slots
 * are constant expressions, so two names landing in one slot fail the
 * build (-Woverride-init, -Winitializer-overrides with -Werror), and
 * hdr_test.c looks up every name in every case. A new header needs a
 * HDR_SLOT row here; if it collides, pick new multipliers. */
#define HDR_HASH(len, first, last)                                             \
	(((unsigned)(len) + 11u * (unsigned)(first) +                          \
	  23u * (unsigned)(last)) &                                            \
	 127u)
#define HDR_SLOT(len, first, last, id) [HDR_HASH(len, first, last)] = id

static const unsigned char hdr_slots[128] = {
	HDR_SLOT(6, 'a', 't', SIP_HDR_ACCEPT),
	HDR_SLOT(15, 'a', 'g', SIP_HDR_ACCEPT_ENCODING),
	HDR_SLOT(15, 'a', 'e', SIP_HDR_ACCEPT_LANGUAGE),
	HDR_SLOT(5, 'a', 'w', SIP_HDR_ALLOW),
	HDR_SLOT(12, 'a', 's', SIP_HDR_ALLOW_EVENTS),
	HDR_SLOT(13, 'a', 'n', SIP_HDR_AUTHORIZATION),
	HDR_SLOT(7, 'c', 'd', SIP_HDR_CALL_ID),
	HDR_SLOT(7, 'c', 't', SIP_HDR_CONTACT),
	HDR_SLOT(19, 'c', 'n', SIP_HDR_CONTENT_DISPOSITION),
	HDR_SLOT(16, 'c', 'g', SIP_HDR_CONTENT_ENCODING),
	HDR_SLOT(10, 'c', 'd', SIP_HDR_CONTENT_ID),
	HDR_SLOT(14, 'c', 'h', SIP_HDR_CONTENT_LENGTH),
	HDR_SLOT(12, 'c', 'e', SIP_HDR_CONTENT_TYPE),
	HDR_SLOT(4, 'c', 'q', SIP_HDR_CSEQ),
	HDR_SLOT(4, 'd', 'e', SIP_HDR_DATE),
	HDR_SLOT(5, 'e', 't', SIP_HDR_EVENT),
	HDR_SLOT(7, 'e', 's', SIP_HDR_EXPIRES),
	HDR_SLOT(4, 'f', 'm', SIP_HDR_FROM),
	HDR_SLOT(8, 'i', 'y', SIP_HDR_IDENTITY),
	HDR_SLOT(13, 'i', 'o', SIP_HDR_IDENTITY_INFO),
	HDR_SLOT(12, 'm', 's', SIP_HDR_MAX_FORWARDS),
	HDR_SLOT(11, 'm', 's', SIP_HDR_MIN_EXPIRES),
	HDR_SLOT(18, 'p', 'e', SIP_HDR_PROXY_AUTHENTICATE),
	HDR_SLOT(19, 'p', 'n', SIP_HDR_PROXY_AUTHORIZATION),
	HDR_SLOT(13, 'p', 'e', SIP_HDR_PROXY_REQUIRE),
	HDR_SLOT(12, 'r', 'e', SIP_HDR_RECORD_ROUTE),
	HDR_SLOT(7, 'r', 'e', SIP_HDR_REQUIRE),
	HDR_SLOT(11, 'r', 'r', SIP_HDR_RETRY_AFTER),
	HDR_SLOT(5, 'r', 'e', SIP_HDR_ROUTE),
	HDR_SLOT(8, 's', 'g', SIP_HDR_SIP_ETAG),
	HDR_SLOT(12, 's', 'h', SIP_HDR_SIP_IF_MATCH),
	HDR_SLOT(7, 's', 't', SIP_HDR_SUBJECT),
	HDR_SLOT(18, 's', 'e', SIP_HDR_SUBSCRIPTION_STATE),
	HDR_SLOT(9, 's', 'd', SIP_HDR_SUPPORTED),
	HDR_SLOT(9, 't', 'p', SIP_HDR_TIMESTAMP),
	HDR_SLOT(2, 't', 'o', SIP_HDR_TO),
	HDR_SLOT(11, 'u', 'd', SIP_HDR_UNSUPPORTED),
	HDR_SLOT(10, 'u', 't', SIP_HDR_USER_AGENT),
	HDR_SLOT(6, 's', 'r', SIP_HDR_SERVER),
	HDR_SLOT(3, 'v', 'a', SIP_HDR_VIA),
	HDR_SLOT(7, 'w', 'g', SIP_HDR_WARNING),
	HDR_SLOT(16, 'w', 'e', SIP_HDR_WWW_AUTHENTICATE),
};

/* RFC 3261 §7.3.3 compact forms, RFC 4474 §13 "y" and "n", by the lower
 * case letter. */
static const unsigned char hdr_compact[128] = {
	['c'] = SIP_HDR_CONTENT_TYPE, ['e'] = SIP_HDR_CONTENT_ENCODING,
	['f'] = SIP_HDR_FROM,	      ['i'] = SIP_HDR_CALL_ID,
	['k'] = SIP_HDR_SUPPORTED,    ['l'] = SIP_HDR_CONTENT_LENGTH,
	['m'] = SIP_HDR_CONTACT,      ['n'] = SIP_HDR_IDENTITY_INFO,
	['o'] = SIP_HDR_EVENT,	      ['s'] = SIP_HDR_SUBJECT,
	['t'] = SIP_HDR_TO,	      ['u'] = SIP_HDR_ALLOW_EVENTS,
	['v'] = SIP_HDR_VIA,	      ['y'] = SIP_HDR_IDENTITY,
};

/* Does a (n octets) equal the table name t, ignoring case? t holds only
 * letters and '-', so the bit that tells a letter's case (0x20) is masked
 * exactly where t has a letter (bit 0x40 set), and a '-' must match
 * itself. Eight or four octets at a time, the last load overlapping. */
static bool word_caseeq(uint64_t x, uint64_t y)
{
	uint64_t m = (y >> 1) & UINT64_C(0x2020202020202020);

	return (x | m) == (y | m);
}

static uint64_t load4(const char *p)
{
	uint32_t x;

	memcpy(&x, p, sizeof(x));
	return x;
}

static bool hdr_name_eq(const char *a, const char *t, size_t n)
{
	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8)
			if (!word_caseeq(load8(a + i), load8(t + i)))
				return false;
		return word_caseeq(load8(a + n - 8), load8(t + n - 8));
	}
	if (n >= 4)
		return word_caseeq(load4(a), load4(t)) &&
		       word_caseeq(load4(a + n - 4), load4(t + n - 4));
	return mem_caseeq(a, t, n);
}

enum sip_hdr_id sip_hdr_lookup(struct slice name)
{
	const struct hdr_def *d;
	unsigned first, id;

	if (!name.len)
		return SIP_HDR_OTHER;
	first = char_lower_map[(unsigned char)name.p[0]];
	if (name.len == 1)
		return first < 128 ? (enum sip_hdr_id)hdr_compact[first]
				   : SIP_HDR_OTHER;
	if (name.len > 32)
		return SIP_HDR_OTHER;
	id = hdr_slots[HDR_HASH(
		name.len, first,
		char_lower_map[(unsigned char)name.p[name.len - 1]])];
	d = &hdr_defs[id];
	if (!id || d->len != name.len || !hdr_name_eq(name.p, d->name, d->len))
		return SIP_HDR_OTHER;
	return (enum sip_hdr_id)id;
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

/* The octets that end a run of plain list text: outside brackets ',' '"'
 * '<'; inside them '"' '>'. */
enum { LIST_OUT = 1, LIST_IN = 2 };
static const unsigned char list_stop[256] = {
	[','] = LIST_OUT,
	['"'] = LIST_OUT | LIST_IN,
	['<'] = LIST_OUT,
	['>'] = LIST_IN,
};

/* Past the quoted-string whose opening quote is just before p, or NULL
 * when it does not close. */
static const char *skip_quoted(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

int sip_list_next(struct scan *s, struct slice *elem)
{
	const char *p = s->p, *end = s->end;
	const char *start, *last;

	/* skip white space and the separator left by the previous call */
	while (p < end && char_in((unsigned char)*p, CHAR_SPACE))
		p++;
	if (p >= end)
		return -ENOENT;
	start = p;
	for (;;) {
		/* to the next ',', '"' or '<', eight octets at a time */
		while (end - p >= 8) {
			uint64_t x = load8(p);
			uint64_t m = swar_has(x, ',') | swar_has(x, '"') |
				     swar_has(x, '<');

			if (m) {
				p += swar_first(m);
				break;
			}
			p += 8;
		}
		while (p < end && !(list_stop[(unsigned char)*p] & LIST_OUT))
			p++;
		if (p >= end || *p == ',')
			break;
		if (*p == '"') {
			p = skip_quoted(p + 1, end);
			if (!p)
				return -EBADMSG;
			continue;
		}
		/* '<': a comma inside the brackets belongs to the URI */
		for (p++;;) {
			while (p < end &&
			       !(list_stop[(unsigned char)*p] & LIST_IN))
				p++;
			if (p >= end)
				return -EBADMSG;
			if (*p == '>')
				break;
			p = skip_quoted(p + 1, end);
			if (!p)
				return -EBADMSG;
		}
		p++;
	}
	/* start is not white space: only the end needs trimming */
	for (last = p;
	     last > start && char_in((unsigned char)last[-1], CHAR_SPACE);
	     last--)
		;
	if (last == start)
		return -EBADMSG;
	if (p < end) {
		/* a trailing comma with nothing after it is an empty element */
		const char *q = p + 1;

		while (q < end && char_in((unsigned char)*q, CHAR_SPACE))
			q++;
		if (q >= end)
			return -EBADMSG;
		p++;
	}
	*elem = slice_of(start, (size_t)(last - start));
	s->p = p;
	return 0;
}
