/* SPDX-License-Identifier: BSD-3-Clause */
/* The serializer: start lines, header fields and bodies of what sipcert
 * sends (RFC 3261 §7), response starts (§8.2.6.2), reason phrases (§21). */
#include "sip.h"

#include <string.h>

/* Record err as the buf's first error and return the sticky one. A refused
 * header poisons the whole message: a caller that chains appends and looks
 * only at the end must not send the message without it. */
static int fail(struct buf *b, int err)
{
	if (!b->err)
		b->err = err;
	return b->err;
}

static bool is_token_cstr(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!char_is_token((unsigned char)*s))
			return false;
	return true;
}

/* A header value must stay on its line: CR or LF would let a value start a
 * header of its own (header injection), and NUL cuts it short for peers
 * written in C. Folding is never produced (RFC 3261 §7.3.1 allows it, but
 * nothing we send needs it). */
static bool is_value_ok(struct slice v)
{
	for (size_t i = 0; i < v.len; i++)
		if (v.p[i] == '\r' || v.p[i] == '\n' || v.p[i] == '\0')
			return false;
	return true;
}

int sip_out_request_line(struct buf *b, const char *method, struct slice ruri)
{
	if (!b)
		return -EINVAL;
	if (b->err)
		return b->err;
	/* RFC 3261 §7.1: Method SP Request-URI SP SIP-Version CRLF; a URI
	 * has no white space or controls in it */
	if (!is_token_cstr(method) || !ruri.len || !ruri.p)
		return fail(b, -EINVAL);
	for (size_t i = 0; i < ruri.len; i++) {
		unsigned char c = (unsigned char)ruri.p[i];

		if (c <= ' ' || c == 0x7f)
			return fail(b, -EINVAL);
	}
	buf_append_cstr(b, method);
	buf_append_byte(b, ' ');
	buf_append_slice(b, ruri);
	return buf_append_cstr(b, " SIP/2.0\r\n");
}

int sip_out_status_line(struct buf *b, unsigned status, const char *reason)
{
	if (!b)
		return -EINVAL;
	if (b->err)
		return b->err;
	/* RFC 3261 §7.2: Status-Code is 3DIGIT, classes 1xx to 6xx */
	if (status < 100 || status > 699)
		return fail(b, -EINVAL);
	if (!reason)
		reason = sip_reason_phrase(status);
	/* Reason-Phrase: any octet but the controls, HTAB allowed */
	for (const char *p = reason; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < ' ' && c != '\t') || c == 0x7f)
			return fail(b, -EINVAL);
	}
	return buf_printf(b, "SIP/2.0 %03u %s\r\n", status, reason);
}

int sip_out_hdr(struct buf *b, const char *name, struct slice value)
{
	if (!b)
		return -EINVAL;
	if (b->err)
		return b->err;
	if (!is_token_cstr(name) || (!value.p && value.len) ||
	    !is_value_ok(value))
		return fail(b, -EINVAL);
	buf_append_cstr(b, name);
	buf_append(b, ": ", 2);
	buf_append_slice(b, value);
	return buf_append(b, "\r\n", 2);
}

int sip_out_hdr_cstr(struct buf *b, const char *name, const char *value)
{
	if (!b)
		return -EINVAL;
	if (!value)
		return b->err ? b->err : fail(b, -EINVAL);
	return sip_out_hdr(b, name, slice_cstr(value));
}

int sip_out_hdrf(struct buf *b, const char *name, const char *fmt, ...)
{
	size_t start, vstart;
	va_list ap;
	int err;

	if (!b)
		return -EINVAL;
	if (b->err)
		return b->err;
	if (!is_token_cstr(name) || !fmt)
		return fail(b, -EINVAL);
	start = b->len;
	buf_append_cstr(b, name);
	buf_append(b, ": ", 2);
	vstart = b->len;
	va_start(ap, fmt);
	err = buf_vprintf(b, fmt, ap);
	va_end(ap);
	if (err)
		return fail(b, err);
	/* the value is only known once printed: check it, and take the
	 * whole field back out if it would break the line */
	if (!is_value_ok(slice_of(b->p + vstart, b->len - vstart))) {
		b->len = start;
		return fail(b, -EINVAL);
	}
	return buf_append(b, "\r\n", 2);
}

int sip_out_body(struct buf *b, const char *ctype, struct slice body)
{
	if (!b)
		return -EINVAL;
	if (b->err)
		return b->err;
	if (!body.p && body.len)
		return fail(b, -EINVAL);
	if (ctype && sip_out_hdr_cstr(b, "Content-Type", ctype))
		return b->err;
	/* RFC 3261 §18.3: a stream needs Content-Length, so it is always
	 * sent, even as 0 */
	buf_printf(b, "Content-Length: %zu\r\n\r\n", body.len);
	return buf_append_slice(b, body);
}

/* Copy a received header value onto one line. A decoded value may still
 * hold folds (CRLF then WSP); RFC 3261 §7.3.1 makes them equal to the white
 * space alone, so only the line break is dropped. Any other CR or LF is
 * refused as in sip_out_hdr(). */
static int copy_hdr(struct buf *b, const char *name, struct slice v,
		    const char *tag)
{
	size_t i = 0, seg = 0;

	buf_append_cstr(b, name);
	buf_append(b, ": ", 2);
	while (i < v.len) {
		size_t j = i;

		if (v.p[i] != '\r' && v.p[i] != '\n') {
			i++;
			continue;
		}
		if (v.p[j] == '\r')
			j++;
		if (j >= v.len || v.p[j] != '\n' || j + 1 >= v.len ||
		    !char_is_ws((unsigned char)v.p[j + 1]))
			return fail(b, -EBADMSG);
		buf_append(b, v.p + seg, i - seg);
		i = seg = j + 1;
	}
	buf_append(b, v.p + seg, v.len - seg);
	if (tag) {
		buf_append_cstr(b, ";tag=");
		buf_append_cstr(b, tag);
	}
	return buf_append(b, "\r\n", 2);
}

static int copy_one(struct buf *b, const struct sip_msg *req,
		    enum sip_hdr_id id, const char *tag)
{
	const struct sip_hdr *h = sip_msg_hdr(req, id);

	/* the decoder refuses a request without it (RFC 3261 §8.1.1) */
	if (!h)
		return fail(b, -EINVAL);
	return copy_hdr(b, sip_hdr_name(id), h->value, tag);
}

int sip_out_reply_start(struct buf *b, const struct sip_msg *req,
			unsigned status, const char *reason, const char *to_tag)
{
	const struct sip_hdr *h;

	if (!b)
		return -EINVAL;
	if (b->err)
		return b->err;
	/* RFC 3261 §19.3: tag = token */
	if (!req || !req->is_request || (to_tag && !is_token_cstr(to_tag)))
		return fail(b, -EINVAL);
	if (sip_out_status_line(b, status, reason))
		return b->err;
	/* RFC 3261 §8.2.6.2: the Via values in the same order, so the
	 * response retraces the request's path */
	h = sip_msg_hdr(req, SIP_HDR_VIA);
	if (!h)
		return fail(b, -EINVAL);
	for (; h; h = sip_msg_hdr_next(req, h))
		if (copy_hdr(b, "Via", h->value, NULL))
			return b->err;
	/* From, Call-ID and CSeq equal the request's; To too, with our tag
	 * when the request had none */
	if (copy_one(b, req, SIP_HDR_FROM, NULL) ||
	    copy_one(b, req, SIP_HDR_TO, req->to.tag.p ? NULL : to_tag) ||
	    copy_one(b, req, SIP_HDR_CALL_ID, NULL) ||
	    copy_one(b, req, SIP_HDR_CSEQ, NULL))
		return b->err;
	return 0;
}

/* RFC 3261 §21, with the codes of the extensions sipcert meets; sorted by
 * code for the binary search. */
static const struct reason {
	unsigned short code;
	const char *text;
} reasons[] = {
	{100, "Trying"},
	{180, "Ringing"},
	{181, "Call Is Being Forwarded"},
	{182, "Queued"},
	{183, "Session Progress"},
	{199, "Early Dialog Terminated"}, /* RFC 6228 */
	{200, "OK"},
	{202, "Accepted"},	  /* RFC 6665 §8.3.1 (from RFC 3265) */
	{204, "No Notification"}, /* RFC 5839 */
	{300, "Multiple Choices"},
	{301, "Moved Permanently"},
	{302, "Moved Temporarily"},
	{305, "Use Proxy"},
	{380, "Alternative Service"},
	{400, "Bad Request"},
	{401, "Unauthorized"},
	{402, "Payment Required"},
	{403, "Forbidden"},
	{404, "Not Found"},
	{405, "Method Not Allowed"},
	{406, "Not Acceptable"},
	{407, "Proxy Authentication Required"},
	{408, "Request Timeout"},
	{410, "Gone"},
	{412, "Conditional Request Failed"}, /* RFC 3903 §11.2.1 */
	{413, "Request Entity Too Large"},
	{414, "Request-URI Too Long"},
	{415, "Unsupported Media Type"},
	{416, "Unsupported URI Scheme"},
	{417, "Unknown Resource-Priority"}, /* RFC 4412 */
	{420, "Bad Extension"},
	{421, "Extension Required"},
	{423, "Interval Too Brief"},
	{428, "Use Identity Header"},	    /* RFC 4474 */
	{429, "Provide Referrer Identity"}, /* RFC 3892 */
	{433, "Anonymity Disallowed"},	    /* RFC 5079 */
	{436, "Bad Identity-Info"},	    /* RFC 4474 */
	{437, "Unsupported Certificate"},   /* RFC 4474 */
	{438, "Invalid Identity Header"},   /* RFC 4474 */
	{470, "Consent Needed"},	    /* RFC 5360 */
	{480, "Temporarily Unavailable"},
	{481, "Call/Transaction Does Not Exist"},
	{482, "Loop Detected"},
	{483, "Too Many Hops"},
	{484, "Address Incomplete"},
	{485, "Ambiguous"},
	{486, "Busy Here"},
	{487, "Request Terminated"},
	{488, "Not Acceptable Here"},
	{489, "Bad Event"}, /* RFC 6665 §8.3.2 */
	{491, "Request Pending"},
	{493, "Undecipherable"},
	{494, "Security Agreement Required"}, /* RFC 3329 */
	{500, "Server Internal Error"},
	{501, "Not Implemented"},
	{502, "Bad Gateway"},
	{503, "Service Unavailable"},
	{504, "Server Time-out"},
	{505, "Version Not Supported"},
	{513, "Message Too Large"},
	{600, "Busy Everywhere"},
	{603, "Decline"},
	{604, "Does Not Exist Anywhere"},
	{606, "Not Acceptable"},
};

/* RFC 3261 §8.1.3.2: an unknown code is treated as x00 of its class; its
 * phrase names the class (the §21 section titles). */
static const char *const class_phrases[] = {
	"Provisional",	   "Successful",     "Redirection",
	"Request Failure", "Server Failure", "Global Failure",
};

const char *sip_reason_phrase(unsigned status)
{
	size_t lo = 0, hi = ARRAY_SIZE(reasons);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (reasons[mid].code == status)
			return reasons[mid].text;
		if (reasons[mid].code < status)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (status < 100 || status > 699)
		return "Unknown";
	return class_phrases[status / 100 - 1];
}
