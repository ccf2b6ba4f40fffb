/* SPDX-License-Identifier: BSD-3-Clause */
/* Media types: Content-Type (RFC 3261 §20.15), the media-range of one
 * Accept element (§20.1) and Content-Disposition (§20.11), grammar §25.1. */
#include "sip.h"

static bool is_token(struct slice v)
{
	if (!v.len)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!char_is_token((unsigned char)v.p[i]))
			return false;
	return true;
}

/* RFC 2046 §5.1.1: bchars = bcharsnospace / " "; bcharsnospace = DIGIT /
 * ALPHA / "'" / "(" / ")" / "+" / "_" / "," / "-" / "." / "/" / ":" / "="
 * / "?"; boundary = 0*69<bchars> bcharsnospace. A boundary outside this
 * set could never be matched safely by the multipart splitter. */
static bool boundary_ok(struct slice b)
{
	static const unsigned char bchars_extra[256] = {
		['\''] = 1, ['('] = 1, [')'] = 1, ['+'] = 1, ['_'] = 1,
		[','] = 1,  ['-'] = 1, ['.'] = 1, ['/'] = 1, [':'] = 1,
		['='] = 1,  ['?'] = 1, [' '] = 1,
	};

	if (b.len < 1 || b.len > 70 || b.p[b.len - 1] == ' ')
		return false;
	for (size_t i = 0; i < b.len; i++) {
		int c = (unsigned char)b.p[i];

		if (!char_in(c, CHAR_ALPHA | CHAR_DIGIT) && !bchars_extra[c])
			return false;
	}
	return true;
}

/* media-type = m-type SLASH m-subtype *( SEMI m-parameter );
 * m-parameter = m-attribute EQUAL m-value; m-value = token / quoted-string.
 * An Accept element's media-range uses the same shape with "*" wildcards
 * ("*" is a token character, so only the "*" + "/" + subtype combination
 * needs refusing). */
int sip_ctype_parse(struct slice v, struct sip_ctype *out)
{
	struct scan s = scan_of(v);
	struct sip_ctype ct = {0};
	struct slice name, value;
	const char *params_start;
	int err;

	if (scan_token(&s, &ct.type) || scan_sep(&s, '/') ||
	    scan_token(&s, &ct.subtype))
		return -EBADMSG;
	/* RFC 3261 §20.1: media-range = "*" "/" "*" / m-type "/" "*" / ... */
	if (slice_eq_cstr(ct.type, "*") && !slice_eq_cstr(ct.subtype, "*"))
		return -EBADMSG;
	scan_sws(&s);
	params_start = s.p;
	while ((err = sip_param_next(&s, &name, &value)) == 0) {
		/* sip_param_next() also lets flags and host values through;
		 * an m-value is strictly a token or a quoted-string */
		if (!value.len || (value.p[0] != '"' && !is_token(value)))
			return -EBADMSG;
		if (!slice_caseeq_cstr(name, "boundary"))
			continue;
		/* RFC 2046 §5.1.1: exactly one boundary */
		if (ct.boundary.p || !boundary_ok(sip_unquote(value)))
			return -EBADMSG;
		ct.boundary = sip_unquote(value);
	}
	if (err != -ENOENT || scan_end(&s))
		return -EBADMSG;
	ct.params = slice_trim(
		slice_of(params_start, (size_t)(s.p - params_start)));
	*out = ct;
	return 0;
}

bool sip_ctype_matches(const struct sip_ctype *range, const char *type,
		       const char *subtype)
{
	if (!range || !type || !subtype)
		return false;
	/* RFC 3261 §20.1 (media-range); type and subtype compare
	 * case-insensitively (RFC 2045 §5.1) */
	if (slice_eq_cstr(range->type, "*"))
		return slice_eq_cstr(range->subtype, "*");
	if (!slice_caseeq_cstr(range->type, type))
		return false;
	return slice_eq_cstr(range->subtype, "*") ||
	       slice_caseeq_cstr(range->subtype, subtype);
}

/* Content-Disposition = disp-type *( SEMI disp-param );
 * disp-param = handling-param / generic-param;
 * handling-param = "handling" EQUAL ( "optional" / "required" /
 * other-handling ), other-handling = token. */
int sip_disposition_parse(struct slice v, struct sip_disposition *out)
{
	struct scan s = scan_of(v);
	struct sip_disposition d = {0};
	struct slice name, value;
	const char *params_start;
	bool has_handling = false;
	int err;

	if (scan_token(&s, &d.type))
		return -EBADMSG;
	scan_sws(&s);
	params_start = s.p;
	while ((err = sip_param_next(&s, &name, &value)) == 0) {
		if (!slice_caseeq_cstr(name, "handling"))
			continue;
		if (has_handling || !is_token(value))
			return -EBADMSG;
		has_handling = true;
	}
	if (err != -ENOENT || scan_end(&s))
		return -EBADMSG;
	d.params = slice_trim(
		slice_of(params_start, (size_t)(s.p - params_start)));
	*out = d;
	return 0;
}
