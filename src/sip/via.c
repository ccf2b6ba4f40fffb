/* SPDX-License-Identifier: BSD-3-Clause */
/* Via (RFC 3261 §20.42, §25.1): via-parm = sent-protocol LWS sent-by
 * *( SEMI via-params ), with branch, received and rport (RFC 3581). */
#include "sip.h"

static bool is_hostname_char(int c)
{
	return char_is_alpha(c) || char_is_digit(c) || c == '-' || c == '.';
}

static bool is_ipv6_char(int c)
{
	return char_is_hex(c) || c == ':' || c == '.';
}

static bool all_digits_and_dots(struct slice h, unsigned *dots)
{
	*dots = 0;
	for (size_t i = 0; i < h.len; i++) {
		if (h.p[i] == '.')
			(*dots)++;
		else if (!char_is_digit((unsigned char)h.p[i]))
			return false;
	}
	return true;
}

static bool ipv4_ok(struct slice h)
{
	struct scan s = scan_of(h);

	for (int i = 0; i < 4; i++) {
		uint32_t octet;

		if ((i && scan_char(&s, '.')) || scan_u32(&s, 255, &octet))
			return false;
	}
	return scan_done(&s);
}

/* host = hostname / IPv4address / IPv6reference (RFC 3261 §25.1) */
static int scan_host(struct scan *s, struct slice *host,
		     enum sip_host_type *type)
{
	struct scan t = *s;
	struct slice h;
	unsigned dots;

	if (scan_peek(&t) == '[') {
		const char *start = t.p;

		t.p++;
		if (scan_span(&t, is_ipv6_char, NULL) || scan_char(&t, ']'))
			return -EBADMSG;
		h = slice_of(start, (size_t)(t.p - start));
		*type = SIP_HOST_IPV6;
	} else {
		if (scan_span(&t, is_hostname_char, &h))
			return -EBADMSG;
		if (all_digits_and_dots(h, &dots)) {
			if (dots != 3 || !ipv4_ok(h))
				return -EBADMSG;
			*type = SIP_HOST_IPV4;
		} else {
			if (h.p[0] == '-' || h.p[0] == '.')
				return -EBADMSG;
			*type = SIP_HOST_NAME;
		}
	}
	*host = h;
	*s = t;
	return 0;
}

int sip_via_parse(struct slice v, struct sip_via *out)
{
	struct scan s = scan_of(v);
	struct sip_via via = {0};
	struct slice name, version, value;
	const char *params_start;
	int err;

	/* sent-protocol = protocol-name SLASH protocol-version SLASH
	 * transport, where SLASH = SWS "/" SWS */
	if (scan_token(&s, &name) || scan_sep(&s, '/') ||
	    scan_token(&s, &version) || scan_sep(&s, '/') ||
	    scan_token(&s, &via.transport))
		return -EBADMSG;
	via.proto =
		slice_of(name.p, (size_t)(version.p + version.len - name.p));
	if (scan_lws(&s) || scan_host(&s, &via.host, &via.host_type))
		return -EBADMSG;
	if (!scan_sep(&s, ':')) {
		uint32_t port;

		if (scan_u32(&s, 65535, &port))
			return -EBADMSG;
		via.port = (uint16_t)port;
		via.has_port = true;
	}
	scan_sws(&s);
	params_start = s.p;
	while ((err = sip_param_next(&s, &name, &value)) == 0) {
		if (slice_caseeq_cstr(name, "branch")) {
			if (via.branch.p || !value.len)
				return -EBADMSG;
			via.branch = value;
		} else if (slice_caseeq_cstr(name, "received")) {
			if (via.received.p || !value.len)
				return -EBADMSG;
			via.received = value;
		} else if (slice_caseeq_cstr(name, "rport")) {
			uint32_t port;

			/* RFC 3581 §3: rport with or without a port */
			if (via.has_rport ||
			    (value.len && slice_u32(value, 65535, &port)))
				return -EBADMSG;
			via.has_rport = true;
			via.rport = value;
		} else if (slice_caseeq_cstr(name, "ttl")) {
			uint32_t ttl;

			if (slice_u32(value, 255, &ttl))
				return -EBADMSG;
		}
	}
	if (err != -ENOENT || scan_end(&s))
		return -EBADMSG;
	via.params = slice_of(params_start, (size_t)(s.p - params_start));
	via.params = slice_trim(via.params);
	via.whole = v;
	*out = via;
	return 0;
}
