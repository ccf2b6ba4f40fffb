/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz harness for the SIP message surface: stream framing, datagram and
 * stream decoding, then every lazy header parser over every header, with
 * the invariant that every slice lies inside the message's bytes. */
#include <stdlib.h>
#include <string.h>

#include "sip/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool cond)
{
	if (!cond)
		abort();
}

static void within(struct slice s, const struct sip_msg *m)
{
	must(slice_within(s, m->raw.p, m->raw.len));
}

static void check_uri(const struct sip_uri *u, const struct sip_msg *m)
{
	within(u->whole, m);
	within(u->user, m);
	within(u->password, m);
	within(u->host, m);
	within(u->params, m);
	within(u->headers, m);
	within(u->rest, m);
}

static void parse_lazy(const struct sip_msg *m, const struct sip_hdr *h)
{
	struct scan s = scan_of(h->value);
	struct slice e;
	union {
		struct sip_addr addr;
		struct sip_via via;
		struct sip_substate ss;
		struct sip_ctype ct;
		struct sip_disposition disp;
		struct sip_auth auth;
		struct sip_warning w;
		struct sip_event ev;
		time_t t;
		uint32_t u;
	} x;

	within(h->name, m);
	within(h->value, m);
	while (!sip_list_next(&s, &e)) {
		within(e, m);
		if (!sip_contact_parse(e, &x.addr)) {
			within(x.addr.display, m);
			within(x.addr.params, m);
			within(x.addr.tag, m);
			if (!x.addr.is_star)
				check_uri(&x.addr.uri, m);
		}
		if (!sip_via_parse(e, &x.via)) {
			within(x.via.host, m);
			within(x.via.branch, m);
			within(x.via.params, m);
		}
		if (!sip_ctype_parse(e, &x.ct))
			within(x.ct.boundary, m);
		if (!sip_event_parse(e, &x.ev))
			within(x.ev.package, m);
		(void)sip_warning_parse(e, &x.w);
	}
	(void)sip_substate_parse(h->value, &x.ss);
	(void)sip_disposition_parse(h->value, &x.disp);
	if (!sip_auth_parse(h->value, &x.auth)) {
		within(x.auth.realm, m);
		within(x.auth.nonce, m);
		within(x.auth.response, m);
	}
	(void)sip_date_parse(h->value, &x.t);
	(void)sip_retry_after_parse(h->value, &x.u);
}

static void check_msg(const struct sip_msg *m, const uint8_t *data, size_t size)
{
	struct buf out;

	must(m->raw.len == size && !memcmp(m->raw.p, data, size));
	within(m->body, m);
	if (m->is_request) {
		within(m->method, m);
		check_uri(&m->ruri, m);
	}
	within(m->call_id, m);
	check_uri(&m->from.uri, m);
	check_uri(&m->to.uri, m);
	within(m->via.host, m);
	for (size_t i = 0; i < m->n_hdrs; i++)
		parse_lazy(m, &m->hdrs[i]);
	if (m->has_ctype && m->ctype.boundary.p) {
		struct sip_part parts[8];
		size_t n;

		if (!sip_multipart_parse(m->body, m->ctype.boundary, parts,
					 ARRAY_SIZE(parts), &n))
			for (size_t i = 0; i < n; i++)
				within(parts[i].body, m);
	}
	/* a reply can be built for any request we accepted */
	if (m->is_request) {
		buf_init(&out, 1 << 17);
		must(sip_out_reply_start(&out, m, 400, NULL, "t1") == 0);
		buf_fini(&out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_msg *m = NULL;
	struct sip_framer f;
	size_t ka = 0;
	ssize_t n;

	if (!sip_msg_decode(&m, data, size,
			    SIP_DECODE_DATAGRAM | SIP_DECODE_STRICT, NULL)) {
		check_msg(m, data, size);
		sip_msg_free(m);
	}
	sip_framer_init(&f, SIP_MAX_MSG_BYTES);
	n = sip_frame(&f, (const char *)data, size, &ka);
	must(ka <= size);
	if (n > 0) {
		must((size_t)n <= size);
		if (!sip_msg_decode(&m, data, (size_t)n, 0, NULL)) {
			must(m->body.len == m->content_length);
			sip_msg_free(m);
		}
	}
	return 0;
}
