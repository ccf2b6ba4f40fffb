/* SPDX-License-Identifier: BSD-3-Clause */
/* SIP message decoding (RFC 3261 §7, §18.3, §20): one copy of the bytes in
 * an arena, one pass to split the start line and index the headers, eager
 * parsing of the routing keys, lazy parsing of the rest. */
#include "sip.h"

#include <stdio.h>
#include <string.h>

static const char *const method_names[] = {
	[SIP_METHOD_INVITE] = "INVITE",
	[SIP_METHOD_ACK] = "ACK",
	[SIP_METHOD_BYE] = "BYE",
	[SIP_METHOD_CANCEL] = "CANCEL",
	[SIP_METHOD_REGISTER] = "REGISTER",
	[SIP_METHOD_OPTIONS] = "OPTIONS",
	[SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE",
	[SIP_METHOD_NOTIFY] = "NOTIFY",
	[SIP_METHOD_PUBLISH] = "PUBLISH",
	[SIP_METHOD_MESSAGE] = "MESSAGE",
	[SIP_METHOD_INFO] = "INFO",
	[SIP_METHOD_PRACK] = "PRACK",
	[SIP_METHOD_UPDATE] = "UPDATE",
	[SIP_METHOD_REFER] = "REFER",
	[SIP_METHOD_CONNECT] = "CONNECT",
};

enum sip_method sip_method_lookup(struct slice name)
{
	enum sip_method m;

	/* the length and the first letter leave at most one candidate */
	switch (name.len) {
	case 3:
		m = name.p[0] == 'A' ? SIP_METHOD_ACK : SIP_METHOD_BYE;
		break;
	case 4:
		m = SIP_METHOD_INFO;
		break;
	case 5:
		m = name.p[0] == 'P' ? SIP_METHOD_PRACK : SIP_METHOD_REFER;
		break;
	case 6:
		m = name.p[0] == 'I'   ? SIP_METHOD_INVITE
		    : name.p[0] == 'C' ? SIP_METHOD_CANCEL
		    : name.p[0] == 'N' ? SIP_METHOD_NOTIFY
				       : SIP_METHOD_UPDATE;
		break;
	case 7:
		m = name.p[0] == 'O'   ? SIP_METHOD_OPTIONS
		    : name.p[0] == 'P' ? SIP_METHOD_PUBLISH
		    : name.p[0] == 'M' ? SIP_METHOD_MESSAGE
				       : SIP_METHOD_CONNECT;
		break;
	case 8:
		m = SIP_METHOD_REGISTER;
		break;
	case 9:
		m = SIP_METHOD_SUBSCRIBE;
		break;
	default:
		return SIP_METHOD_OTHER;
	}
	return !memcmp(name.p, method_names[m], name.len) ? m
							  : SIP_METHOD_OTHER;
}

const char *sip_method_name(enum sip_method m)
{
	if (m <= SIP_METHOD_OTHER || (size_t)m >= ARRAY_SIZE(method_names))
		return NULL;
	return method_names[m];
}

PRINTF_LIKE(3, 4)
static int fail(struct sip_error *err, unsigned status, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->status = (uint16_t)status;
		va_start(ap, fmt);
		vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* End of the line starting at p: points at its CR (or bare LF); *next is
 * the start of the following line. NULL when no line end is found. */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	if (!lf)
		return NULL;
	*next = lf + 1;
	return lf > p && lf[-1] == '\r' ? lf - 1 : lf;
}

/* RFC 3261 §25.1: SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT */
static int version_check(struct slice v, struct sip_error *err, bool is_req)
{
	struct scan s = scan_of(v);
	uint32_t major, minor;

	if (v.len == 7 && !memcmp(v.p, "SIP/2.0", 7))
		return 0;
	if (scan_lit(&s, "SIP/") || scan_u32(&s, 999, &major) ||
	    scan_char(&s, '.') || scan_u32(&s, 999, &minor) || !scan_done(&s))
		return fail(err, is_req ? 400 : 0, "Malformed SIP-Version");
	if (major != 2 || minor != 0)
		return fail(err, is_req ? 505 : 0,
			    "SIP version %.*s not supported", SLICE_FMT(v));
	return 0;
}

static bool is_reason_char(int c)
{
	/* Reason-Phrase = *(reserved / unreserved / escaped / UTF8-NONASCII
	 * / UTF8-CONT / SP / HTAB): every octet but the controls */
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int parse_status_line(struct sip_msg *m, struct slice line,
			     struct sip_error *err)
{
	struct scan s = scan_of(line);
	struct slice version, code;
	uint32_t status;

	m->is_request = false;
	if (scan_span(&s, char_is_token, NULL) || scan_char(&s, '/') ||
	    scan_span(&s, char_is_token, NULL))
		return fail(err, 0, "Malformed Status-Line");
	version = slice_of(line.p, (size_t)(s.p - line.p));
	if (version_check(version, err, false))
		return -EBADMSG;
	/* Status-Code = 3DIGIT, 100-699 (RFC 3261 §7.2, RFC 4475 §3.1.2.19) */
	if (scan_char(&s, ' ') || scan_span(&s, char_is_digit, &code) ||
	    code.len != 3 || slice_u32(code, 999, &status) || status < 100 ||
	    status > 699)
		return fail(err, 0, "Status-Code out of range");
	m->status = (uint16_t)status;
	if (scan_done(&s)) {
		m->reason = slice_of(s.p, 0);
		return 0;
	}
	if (scan_char(&s, ' '))
		return fail(err, 0, "Malformed Status-Line");
	m->reason = slice_of(s.p, (size_t)(s.end - s.p));
	for (size_t i = 0; i < m->reason.len; i++)
		if (!is_reason_char((unsigned char)m->reason.p[i]))
			return fail(err, 0, "Bad octet in Reason-Phrase");
	return 0;
}

/* Request-Line = Method SP Request-URI SP SIP-Version CRLF: exactly one
 * SP each (RFC 4475 §3.1.2.9, §3.1.2.10: we refuse extra white space
 * rather than forward it). */
static int parse_request_line(struct sip_msg *m, struct slice line,
			      struct sip_error *err)
{
	struct scan s = scan_of(line);
	const char *last_sp;

	m->is_request = true;
	if (scan_token(&s, &m->method) || scan_char(&s, ' '))
		return fail(err, 400, "Malformed Request-Line");
	m->method_id = sip_method_lookup(m->method);
	last_sp = NULL;
	for (const char *p = s.end; p > s.p; p--)
		if (p[-1] == ' ') {
			last_sp = p - 1;
			break;
		}
	if (!last_sp)
		return fail(err, 400, "Malformed Request-Line");
	m->ruri_s = slice_of(s.p, (size_t)(last_sp - s.p));
	if (version_check(slice_of(last_sp + 1, (size_t)(s.end - last_sp - 1)),
			  err, true))
		return -EBADMSG;
	/* sip_uri_parse() refuses white space too; this only picks the
	 * reason */
	if (!m->ruri_s.len || sip_uri_parse(m->ruri_s, &m->ruri)) {
		for (size_t i = 0; i < m->ruri_s.len; i++)
			if (char_is_ws((unsigned char)m->ruri_s.p[i]))
				return fail(err, 400,
					    "White space in Request-URI");
		return fail(err, 400, "Malformed Request-URI");
	}
	/* RFC 3261 §19.1.1 table: headers are not allowed in a Request-URI
	 * (RFC 4475 §3.1.2.11: we refuse rather than ignore them). */
	if (m->ruri.headers.p && m->ruri.scheme != SIP_URI_OTHER)
		return fail(err, 400, "Request-URI carries headers");
	return 0;
}

/* Index the header lines of [p, end) into m->hdrs. Returns the start of
 * the body, or NULL after fail(). */
static const char *index_headers(struct sip_msg *m, const char *p,
				 const char *end, struct sip_error *err)
{
	size_t cap = 32;
	struct sip_hdr *hdrs =
		arena_alloc_uninit(&m->arena, cap * sizeof(*hdrs));
	unsigned status = m->is_request ? 400 : 0;

	if (!hdrs) {
		fail(err, 500, "Out of memory");
		return NULL;
	}
	m->hdrs = hdrs;
	m->n_hdrs = 0;
	while (p < end) {
		const char *next, *eol, *q, *v;
		struct sip_hdr *h;

		eol = line_end(p, end, &next);
		if (eol == p) /* the empty line */
			return next;
		if (!eol) {
			/* no line end: a last header without CRLF */
			eol = end;
			next = end;
		}
		/* unfold: continuation lines begin with SP or HTAB */
		while (next < end && char_is_ws((unsigned char)*next)) {
			const char *n2, *e2 = line_end(next, end, &n2);

			if (!e2) {
				e2 = end;
				n2 = end;
			}
			eol = e2;
			next = n2;
		}
		/* RFC 3261 §7.3.1: a CR only ever starts a line end; a bare
		 * one inside a value would be trimmed or split differently by
		 * every element on the path */
		for (const char *cr = memchr(p, '\r', (size_t)(eol - p)); cr;
		     cr = memchr(cr + 1, '\r', (size_t)(eol - cr - 1)))
			if (cr + 1 >= eol || cr[1] != '\n') {
				fail(err, status, "Bare CR in a header field");
				return NULL;
			}
		if (m->n_hdrs == SIP_MAX_HEADERS) {
			fail(err, 400, "More than %d header fields",
			     SIP_MAX_HEADERS);
			return NULL;
		}
		if (m->n_hdrs == cap) {
			struct sip_hdr *bigger = arena_alloc_uninit(
				&m->arena, 2 * cap * sizeof(*hdrs));

			if (!bigger) {
				fail(err, 500, "Out of memory");
				return NULL;
			}
			memcpy(bigger, hdrs, cap * sizeof(*hdrs));
			hdrs = bigger;
			m->hdrs = hdrs;
			cap *= 2;
		}
		/* message-header = field-name HCOLON field-value, where
		 * HCOLON = *( SP / HTAB ) ":" SWS */
		q = p;
		while (q < eol && char_is_token((unsigned char)*q))
			q++;
		if (q == p) {
			fail(err, status, "Malformed header field name");
			return NULL;
		}
		h = &hdrs[m->n_hdrs];
		h->name = slice_of(p, (size_t)(q - p));
		while (q < eol && char_is_ws((unsigned char)*q))
			q++;
		if (q >= eol || *q != ':') {
			fail(err, status, "Header field %.*s without ':'",
			     SLICE_FMT(h->name));
			return NULL;
		}
		m->n_hdrs++;
		h->id = sip_hdr_lookup(h->name);
		/* the value, trimmed of SP, HTAB, CR and LF at both ends */
		for (v = q + 1;
		     v < eol && char_in((unsigned char)*v, CHAR_SPACE); v++)
			;
		while (eol > v && char_in((unsigned char)eol[-1], CHAR_SPACE))
			eol--;
		h->value = slice_of(v, (size_t)(eol - v));
		p = next;
	}
	/* RFC 3261 §7 asks for the empty line; a datagram that simply ends
	 * after its last header has no body and is accepted. */
	return end;
}

struct eager_ctx {
	struct sip_msg *m;
	struct sip_error *err;
	unsigned status; /* what a server answers: 400, or 0 to drop */
};

static int single(struct eager_ctx *c, const struct sip_hdr *h, bool *seen)
{
	/* RFC 4475 §3.3.8: single-valued headers appear once */
	if (*seen)
		return fail(c->err, c->status, "More than one %s header",
			    sip_hdr_name(h->id));
	*seen = true;
	return 0;
}

static int eager_via(struct eager_ctx *c, const struct sip_hdr *h)
{
	struct scan s = scan_of(h->value);
	struct slice elem;
	int err;

	while ((err = sip_list_next(&s, &elem)) == 0) {
		struct sip_via via;

		if (sip_via_parse(elem, &via))
			return fail(c->err, c->status, "Malformed Via header");
		if (c->m->n_via++ == 0)
			c->m->via = via;
	}
	if (err != -ENOENT)
		return fail(c->err, c->status, "Malformed Via header");
	return 0;
}

/* Parse the headers routing needs (STYLE.md B5: eager keys). */
static int parse_eager(struct sip_msg *m, struct sip_error *err)
{
	struct eager_ctx c = {m, err, m->is_request ? 400 : 0};
	bool seen_from = false, seen_to = false, seen_callid = false,
	     seen_cseq = false, seen_mf = false, seen_ct = false,
	     seen_event = false, seen_expires = false;

	for (size_t i = 0; i < m->n_hdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];

		switch (h->id) {
		case SIP_HDR_VIA:
			if (eager_via(&c, h))
				return -EBADMSG;
			break;
		case SIP_HDR_FROM:
			if (single(&c, h, &seen_from))
				return -EBADMSG;
			if (sip_addr_parse(h->value, &m->from))
				return fail(err, c.status,
					    "Malformed From header");
			break;
		case SIP_HDR_TO:
			if (single(&c, h, &seen_to))
				return -EBADMSG;
			if (sip_addr_parse(h->value, &m->to))
				return fail(err, c.status,
					    "Malformed To header");
			break;
		case SIP_HDR_CALL_ID:
			if (single(&c, h, &seen_callid))
				return -EBADMSG;
			if (sip_callid_parse(h->value))
				return fail(err, c.status,
					    "Malformed Call-ID header");
			m->call_id = h->value;
			break;
		case SIP_HDR_CSEQ:
			if (single(&c, h, &seen_cseq))
				return -EBADMSG;
			if (sip_cseq_parse(h->value, &m->cseq))
				return fail(err, c.status,
					    "Malformed CSeq header");
			break;
		case SIP_HDR_MAX_FORWARDS:
			if (single(&c, h, &seen_mf))
				return -EBADMSG;
			if (sip_max_forwards_parse(h->value, &m->max_forwards))
				return fail(err, c.status,
					    "Malformed Max-Forwards header");
			m->has_max_forwards = true;
			break;
		case SIP_HDR_CONTENT_LENGTH:
			/* RFC 4475 §3.3.9: several values break framing */
			if (m->has_content_length)
				return fail(err, c.status,
					    "More than one Content-Length");
			if (sip_content_length_parse(h->value,
						     &m->content_length))
				return fail(err, c.status,
					    "Malformed Content-Length header");
			m->has_content_length = true;
			break;
		case SIP_HDR_CONTENT_TYPE:
			if (single(&c, h, &seen_ct))
				return -EBADMSG;
			if (sip_ctype_parse(h->value, &m->ctype))
				return fail(err, c.status,
					    "Malformed Content-Type header");
			m->has_ctype = true;
			break;
		case SIP_HDR_EVENT:
			if (single(&c, h, &seen_event))
				return -EBADMSG;
			if (sip_event_parse(h->value, &m->event))
				return fail(err, c.status,
					    "Malformed Event header");
			m->has_event = true;
			break;
		case SIP_HDR_EXPIRES:
			if (single(&c, h, &seen_expires))
				return -EBADMSG;
			if (sip_delta_parse(h->value, &m->expires))
				return fail(err, c.status,
					    "Malformed Expires header");
			m->has_expires = true;
			break;
		default:
			break;
		}
	}
	/* RFC 3261 §8.1.1: To, From, CSeq, Call-ID and Via are mandatory
	 * (Max-Forwards too, but RFC 2543 peers omit it: §3.4.1 of RFC
	 * 4475 asks us to accept them). */
	if (!seen_to || !seen_from || !seen_callid || !seen_cseq || !m->n_via)
		return fail(err, c.status, "Missing %s header",
			    !seen_to	   ? "To"
			    : !seen_from   ? "From"
			    : !seen_callid ? "Call-ID"
			    : !seen_cseq   ? "CSeq"
					   : "Via");
	/* RFC 3261 §8.2.2... the CSeq method must match the request's */
	if (m->is_request && !slice_eq(m->cseq.method, m->method))
		return fail(err, 400, "CSeq method does not match the request");
	return 0;
}

static int set_body(struct sip_msg *m, const char *p, const char *end,
		    unsigned flags, struct sip_error *err)
{
	size_t avail = (size_t)(end - p);
	unsigned status = m->is_request ? 400 : 0;

	if (!m->has_content_length) {
		m->body = slice_of(p, avail);
		return 0;
	}
	if (m->content_length > avail)
		return fail(err, status, "Content-Length larger than message");
	/* RFC 3261 §18.3: octets past Content-Length in a datagram are
	 * discarded; on a stream the framer cut the message exactly. */
	if (!(flags & SIP_DECODE_DATAGRAM) && m->content_length != avail)
		return fail(err, status, "Content-Length does not match body");
	m->body = slice_of(p, m->content_length);
	return 0;
}

int sip_msg_decode(struct sip_msg **mp, const void *data, size_t len,
		   unsigned flags, struct sip_error *err)
{
	struct arena a;
	struct sip_msg *m;
	const char *p, *end, *next, *eol;
	char *copy;
	int rc = -EBADMSG;

	if (!mp || (!data && len))
		return -EINVAL;
	if (len > SIP_MAX_MSG_BYTES) {
		fail(err, 513, "Message Too Large");
		return -EMSGSIZE;
	}
	/* one chunk holds the struct, the copy and a typical header array */
	arena_init(&a, sizeof(*m) + len + 1 + 32 * sizeof(struct sip_hdr) + 64);
	m = arena_alloc(&a, sizeof(*m));
	copy = m ? arena_memdup(&a, data, len) : NULL;
	if (!copy) {
		arena_fini(&a);
		fail(err, 500, "Out of memory");
		return -ENOMEM;
	}
	m->arena = a;
	m->raw = slice_of(copy, len);
	p = copy;
	end = copy + len;

	/* RFC 3261 §7.5: ignore CRLFs before the start line */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	if (p == end) {
		fail(err, 0, "Empty message");
		goto out;
	}
	eol = line_end(p, end, &next);
	if (!eol) {
		fail(err, 400, "No end to the start line");
		goto out;
	}
	if (end - p >= 4 && !memcmp(p, "SIP/", 4)) {
		if (parse_status_line(m, slice_of(p, (size_t)(eol - p)), err))
			goto out;
	} else if (parse_request_line(m, slice_of(p, (size_t)(eol - p)), err)) {
		goto out;
	}
	p = index_headers(m, next, end, err);
	if (!p) {
		rc = err && err->status == 500 ? -ENOMEM : -EBADMSG;
		goto out;
	}
	if (parse_eager(m, err) || set_body(m, p, end, flags, err))
		goto out;
	if ((flags & SIP_DECODE_STRICT) && sip_msg_check(m, err))
		goto out;
	*mp = m;
	return 0;
out:
	sip_msg_free(m);
	return rc;
}

void sip_msg_free(struct sip_msg *m)
{
	struct arena a;

	if (!m)
		return;
	a = m->arena; /* the struct lives in its own arena */
	arena_fini(&a);
}

const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
	for (size_t i = 0; i < m->n_hdrs; i++)
		if (m->hdrs[i].id == id)
			return &m->hdrs[i];
	return NULL;
}

const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m,
				       const struct sip_hdr *prev)
{
	size_t i;

	if (!prev)
		return NULL;
	for (i = (size_t)(prev - m->hdrs) + 1; i < m->n_hdrs; i++)
		if (m->hdrs[i].id == prev->id &&
		    (prev->id != SIP_HDR_OTHER ||
		     slice_caseeq(m->hdrs[i].name, prev->name)))
			return &m->hdrs[i];
	return NULL;
}

const struct sip_hdr *sip_msg_hdr_named(const struct sip_msg *m,
					const char *name)
{
	enum sip_hdr_id id = sip_hdr_lookup(slice_cstr(name));

	if (id != SIP_HDR_OTHER)
		return sip_msg_hdr(m, id);
	for (size_t i = 0; i < m->n_hdrs; i++)
		if (slice_caseeq_cstr(m->hdrs[i].name, name))
			return &m->hdrs[i];
	return NULL;
}
