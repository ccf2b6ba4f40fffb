/* SPDX-License-Identifier: BSD-3-Clause */
/* Small scalar headers of RFC 3261 §20: CSeq (§20.16), Call-ID (§20.8),
 * delta-seconds (Expires §20.19, Min-Expires §20.23), Max-Forwards (§20.22),
 * Content-Length (§20.14), Retry-After (§20.33) and Warning (§20.43). */
#include "sip.h"

#include <string.h>

/* RFC 3261 §20.16: CSeq = 1*DIGIT LWS Method. §8.1.1.5 asks senders for a
 * value below 2^31; a receiver refuses only what does not fit 32 bits
 * (RFC 4475 §3.1.2.4). */
int sip_cseq_parse(struct slice v, struct sip_cseq *out)
{
	struct scan s = scan_of(v);
	struct sip_cseq c;

	if (scan_u32(&s, UINT32_MAX, &c.num) || scan_lws(&s) ||
	    scan_token(&s, &c.method) || scan_end(&s))
		return -EBADMSG;
	c.method_id = sip_method_lookup(c.method);
	*out = c;
	return 0;
}

int sip_delta_parse(struct slice v, uint32_t *out)
{
	struct scan s = scan_of(v);
	uint32_t d;

	if (scan_u32(&s, UINT32_MAX, &d) || scan_end(&s))
		return -EBADMSG;
	*out = d;
	return 0;
}

int sip_max_forwards_parse(struct slice v, uint32_t *out)
{
	struct scan s = scan_of(v);
	uint32_t d;

	/* RFC 3261 §20.22: an integer in the range 0-255 */
	if (scan_u32(&s, 255, &d) || scan_end(&s))
		return -EBADMSG;
	*out = d;
	return 0;
}

int sip_content_length_parse(struct slice v, uint32_t *out)
{
	return sip_delta_parse(v, out);
}

/* RFC 3261 §25.1: word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" /
 * "+" / "`" / "'" / "~" / "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/"
 * / "[" / "]" / "?" / "{" / "}" ) */
static bool is_word_char(int c)
{
	if (char_is_token(c))
		return true;
	switch (c) {
	case '(':
	case ')':
	case '<':
	case '>':
	case ':':
	case '\\':
	case '"':
	case '/':
	case '[':
	case ']':
	case '?':
	case '{':
	case '}':
		return true;
	default:
		return false;
	}
}

int sip_callid_parse(struct slice v)
{
	struct scan s = scan_of(v);

	if (scan_span(&s, is_word_char, NULL))
		return -EBADMSG;
	if (!scan_char(&s, '@') && scan_span(&s, is_word_char, NULL))
		return -EBADMSG;
	return scan_end(&s);
}

/* comment = LPAREN *(ctext / quoted-pair / comment) RPAREN, nesting
 * bounded so a hostile value cannot make us count forever. */
static int scan_comment(struct scan *s)
{
	struct scan t = *s;
	unsigned depth = 0;

	if (scan_char(&t, '('))
		return -EBADMSG;
	depth = 1;
	while (!scan_done(&t)) {
		int c = scan_peek(&t);

		t.p++;
		if (c == '\\') {
			if (scan_done(&t))
				return -EBADMSG;
			t.p++;
		} else if (c == '(') {
			if (++depth > 32)
				return -EBADMSG;
		} else if (c == ')') {
			if (--depth == 0) {
				*s = t;
				return 0;
			}
		}
	}
	return -EBADMSG;
}

/* Retry-After = delta-seconds [ comment ] *( SEMI retry-param ) */
int sip_retry_after_parse(struct slice v, uint32_t *seconds)
{
	struct scan s = scan_of(v);
	struct slice n, val;
	uint32_t d;
	int err;

	if (scan_u32(&s, UINT32_MAX, &d))
		return -EBADMSG;
	scan_sws(&s);
	if (scan_peek(&s) == '(' && scan_comment(&s))
		return -EBADMSG;
	while ((err = sip_param_next(&s, &n, &val)) == 0) {
		uint32_t dur;

		/* retry-param = ("duration" EQUAL delta-seconds) / generic */
		if (slice_caseeq_cstr(n, "duration") &&
		    sip_delta_parse(val, &dur))
			return -EBADMSG;
	}
	if (err != -ENOENT || scan_end(&s))
		return -EBADMSG;
	*seconds = d;
	return 0;
}

/* warning-value = warn-code SP warn-agent SP warn-text;
 * warn-code = 3DIGIT; warn-agent = hostport / pseudonym */
int sip_warning_parse(struct slice v, struct sip_warning *out)
{
	struct scan s = scan_of(v);
	struct sip_warning w;
	struct slice code;
	uint32_t c;

	if (scan_span(&s, char_is_digit, &code) || code.len != 3 ||
	    slice_u32(code, 999, &c) || scan_char(&s, ' '))
		return -EBADMSG;
	w.code = (uint16_t)c;
	{
		const char *start = s.p;

		while (!scan_done(&s) && scan_peek(&s) != ' ')
			s.p++;
		w.agent = slice_of(start, (size_t)(s.p - start));
	}
	if (!w.agent.len || scan_char(&s, ' ') || scan_quoted(&s, &w.text) ||
	    scan_end(&s))
		return -EBADMSG;
	for (size_t i = 0; i < w.agent.len; i++)
		if (!char_is_token((unsigned char)w.agent.p[i]) &&
		    !strchr("[]:", w.agent.p[i]))
			return -EBADMSG;
	*out = w;
	return 0;
}
