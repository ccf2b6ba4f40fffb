/* SPDX-License-Identifier: BSD-3-Clause */
/* Stream framing: where one SIP message ends on TCP or TLS (RFC 3261
 * §18.3, by Content-Length) and CRLF keep-alives (RFC 5626 §3.5.1). */
#include "sip.h"

#include <limits.h>
#include <string.h>

void sip_framer_init(struct sip_framer *f, size_t max_msg_bytes)
{
	/* the length must fit the ssize_t that sip_frame() returns */
	if (!max_msg_bytes)
		max_msg_bytes = SIP_MAX_MSG_BYTES;
	if (max_msg_bytes > SSIZE_MAX)
		max_msg_bytes = SSIZE_MAX;
	f->scanned = 0;
	f->msg_len = 0;
	f->max_msg_bytes = max_msg_bytes;
}

static void restart(struct sip_framer *f)
{
	f->scanned = 0;
	f->msg_len = 0;
}

/* The end of the header block in buf[from, to): just past the empty line
 * that follows a line end. CRLF CRLF is the rule; LF LF (and the mixed
 * forms) are accepted as the decoder accepts bare LF line ends. 0 when
 * not found. */
static size_t blank_line_end(const char *buf, size_t from, size_t to)
{
	const char *p = buf + from;
	const char *end = buf + to;

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));

		if (!lf)
			break;
		if (lf + 1 < end && lf[1] == '\n')
			return (size_t)(lf + 2 - buf);
		if (lf + 2 < end && lf[1] == '\r' && lf[2] == '\n')
			return (size_t)(lf + 3 - buf);
		p = lf + 1;
	}
	return 0;
}

/* End of the line content at p (its CR or LF) and the start of the next
 * line. The header block always ends in a line end, so one is found. */
static const char *line_next(const char *p, const char *end,
			     const char **content_end)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	if (!lf) {
		*content_end = end;
		return end;
	}
	*content_end = lf > p && lf[-1] == '\r' ? lf - 1 : lf;
	return lf + 1;
}

/* Find Content-Length in the header block hdr[0, len) (the start line
 * first, the empty line last). 0 with its value, -EBADMSG when it is
 * missing, malformed or given twice with different values. */
static int find_content_length(const char *hdr, size_t len, uint32_t *out)
{
	const char *end = hdr + len;
	const char *content_end;
	const char *p = line_next(hdr, end, &content_end); /* start line */
	bool found = false;
	uint32_t cl = 0;

	while (p < end) {
		const char *next = line_next(p, end, &content_end);
		struct scan s = scan_of(slice_of(p, (size_t)(content_end - p)));
		struct slice name;
		const char *vstart;
		uint32_t v;

		if (content_end == p) /* the empty line */
			break;
		/* a line that starts with WSP continues the previous header
		 * (RFC 3261 §7.3.1); one that is not "token *WSP :" is left
		 * for the decoder to refuse */
		if (char_is_ws(scan_peek(&s)) || scan_token(&s, &name)) {
			p = next;
			continue;
		}
		while (char_is_ws(scan_peek(&s)))
			s.p++;
		if (scan_char(&s, ':') ||
		    (!slice_caseeq_cstr(name, "Content-Length") &&
		     !slice_caseeq_cstr(name, "l"))) {
			p = next;
			continue;
		}
		/* the value runs on through folded continuation lines */
		vstart = s.p;
		while (next < end && char_is_ws((unsigned char)*next))
			next = line_next(next, end, &content_end);
		s = scan_of(slice_of(vstart, (size_t)(content_end - vstart)));
		/* RFC 3261 §20.14: Content-Length = ... HCOLON 1*DIGIT */
		scan_sws(&s);
		if (scan_u32(&s, UINT32_MAX, &v) || scan_end(&s))
			return -EBADMSG;
		/* RFC 4475 §3.3.9 shows the harm of two lengths; the same
		 * one repeated frames the message the same way */
		if (found && v != cl)
			return -EBADMSG;
		found = true;
		cl = v;
		p = next;
	}
	/* RFC 3261 §18.3: on a stream the header field MUST be used */
	if (!found)
		return -EBADMSG;
	*out = cl;
	return 0;
}

ssize_t sip_frame(struct sip_framer *f, const char *buf, size_t len,
		  size_t *keepalive_bytes)
{
	size_t n, limit, from, hdr_len;
	uint32_t cl;

	if (!f || !keepalive_bytes || (!buf && len))
		return -EINVAL;
	*keepalive_bytes = 0;
	if (!len)
		return -EAGAIN; /* and no pointer arithmetic on a NULL buf */

	/* RFC 5626 §3.5.1: a CRLF CRLF ping or CRLF pong sits between
	 * messages, never inside one, so it can only lead the buffer. */
	for (n = 0; n < len && (buf[n] == '\r' || buf[n] == '\n'); n++)
		;
	if (n) {
		restart(f);
		*keepalive_bytes = n;
		return 0;
	}

	/* a caller that consumed bytes we did not hand out starts over */
	if (f->scanned > len)
		restart(f);

	if (!f->msg_len) {
		/* Resume the search a little before where the last one
		 * stopped: a terminator may straddle the old end (the
		 * last_len idea of picohttpparser). */
		limit = len < f->max_msg_bytes ? len : f->max_msg_bytes;
		from = f->scanned > 2 ? f->scanned - 2 : 0;
		hdr_len = blank_line_end(buf, from, limit);
		if (!hdr_len) {
			if (len >= f->max_msg_bytes) {
				restart(f);
				return -EMSGSIZE;
			}
			f->scanned = len;
			return -EAGAIN;
		}
		if (find_content_length(buf, hdr_len, &cl)) {
			restart(f);
			return -EBADMSG;
		}
		/* refuse now rather than wait for a body we will refuse */
		if (cl > f->max_msg_bytes - hdr_len) {
			restart(f);
			return -EMSGSIZE;
		}
		f->scanned = hdr_len;
		f->msg_len = hdr_len + cl;
	}
	if (len < f->msg_len)
		return -EAGAIN;
	n = f->msg_len;
	restart(f);
	return (ssize_t)n;
}
