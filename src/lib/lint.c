/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert_lint(): the verdict a sipcert server gives one SIP message, and
 * its JSON rendering (RFC 3261 §7 syntax, RFC 4475 cases, RFC 4474 §13
 * Identity and Identity-Info grammars). */
#include "lib.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "identity/identity.h"
#include "sip/sip.h"

static bool is_b64_or_dot(int c)
{
	return char_is_alpha(c) || char_is_digit(c) || c == '+' || c == '/' ||
	       c == '=' || c == '.';
}

/* RFC 8224 §4.1 writes the Identity value unquoted: signed-identity-digest
 * = 1*(base64-char / ".") followed by ;info=<URI> and other parameters.
 * RFC 4475's mpart01 predates RFC 4474's quotes and uses it; both forms
 * are well-formed. */
static int identity8224_check(struct slice v)
{
	struct scan s = scan_of(v);

	if (scan_span(&s, is_b64_or_dot, NULL))
		return -EBADMSG;
	while (!scan_sep(&s, ';')) {
		struct slice name, inner;

		if (scan_token(&s, &name))
			return -EBADMSG;
		if (scan_sep(&s, '='))
			continue; /* a flag parameter */
		if (scan_peek(&s) == '<') {
			/* ident-info = "info" EQUAL LAQUOT absoluteURI RAQUOT
			 */
			const char *start = ++s.p;
			struct sip_uri u;

			while (!scan_done(&s) && scan_peek(&s) != '>')
				s.p++;
			if (scan_char(&s, '>') ||
			    sip_uri_parse(
				    slice_of(start, (size_t)(s.p - 1 - start)),
				    &u))
				return -EBADMSG;
		} else if (scan_peek(&s) == '"') {
			if (scan_quoted(&s, &inner))
				return -EBADMSG;
		} else if (scan_token(&s, &inner)) {
			return -EBADMSG;
		}
	}
	return scan_end(&s);
}

static int check_identity(const struct sip_msg *m, struct sip_error *err)
{
	const struct sip_hdr *h;
	struct identity_info info;
	struct slice b64;
	struct buf sig;
	int rc;

	for (h = sip_msg_hdr(m, SIP_HDR_IDENTITY_INFO); h;
	     h = sip_msg_hdr_next(m, h))
		if (identity_info_parse(h->value, &info))
			goto bad_info;
	for (h = sip_msg_hdr(m, SIP_HDR_IDENTITY); h;
	     h = sip_msg_hdr_next(m, h)) {
		if (h->value.len && h->value.p[0] != '"') {
			if (identity8224_check(h->value))
				goto bad_sig;
			continue;
		}
		if (identity_sig_parse(h->value, &b64))
			goto bad_sig;
		buf_init(&sig, 4096);
		rc = identity_sig_decode(b64, &sig);
		buf_fini(&sig);
		if (rc)
			goto bad_sig;
	}
	return 0;
bad_info:
	err->status = m->is_request ? 400 : 0;
	snprintf(err->reason, sizeof(err->reason),
		 "Malformed Identity-Info header");
	return -EBADMSG;
bad_sig:
	err->status = m->is_request ? 400 : 0;
	snprintf(err->reason, sizeof(err->reason), "Malformed Identity header");
	return -EBADMSG;
}

/* JSON strings must be UTF-8: bytes that are not are shown as \u00XX
 * escapes of their Latin-1 reading rather than dropped. */
static json_t *json_text(struct slice s)
{
	struct buf b;
	json_t *j;
	const char *c;

	j = json_stringn(s.p ? s.p : "", s.len);
	if (j)
		return j;
	buf_init(&b, s.len * 2 + 1);
	for (size_t i = 0; i < s.len; i++) {
		unsigned char ch = (unsigned char)s.p[i];

		if (ch < 0x80) {
			buf_append_byte(&b, (char)ch);
		} else {
			buf_append_byte(&b, (char)(0xc0 | (ch >> 6)));
			buf_append_byte(&b, (char)(0x80 | (ch & 0x3f)));
		}
	}
	j = buf_cstr(&b, &c) ? NULL : json_stringn(c, b.len);
	buf_fini(&b);
	return j;
}

static json_t *json_uri(const struct sip_uri *u)
{
	static const char *const schemes[] = {
		[SIP_URI_OTHER] = NULL,	 [SIP_URI_SIP] = "sip",
		[SIP_URI_SIPS] = "sips", [SIP_URI_SIPSEC] = "sipsec",
		[SIP_URI_TEL] = "tel",
	};
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "uri", json_text(u->whole));
	json_object_set_new(o, "scheme",
			    schemes[u->scheme] ? json_string(schemes[u->scheme])
					       : json_text(u->scheme_name));
	if (u->user.p)
		json_object_set_new(o, "user", json_text(u->user));
	if (u->password.p)
		json_object_set_new(o, "password", json_text(u->password));
	if (u->host.len)
		json_object_set_new(o, "host", json_text(u->host));
	if (u->has_port)
		json_object_set_new(o, "port", json_integer(u->port));
	if (u->params.p)
		json_object_set_new(o, "params", json_text(u->params));
	if (u->headers.p)
		json_object_set_new(o, "headers", json_text(u->headers));
	if (u->scheme == SIP_URI_TEL || u->scheme == SIP_URI_OTHER)
		json_object_set_new(o, "rest", json_text(u->rest));
	return o;
}

/* Every header by name with its values: list headers split at their
 * top-level commas, others one value per field, in wire order. */
static json_t *json_headers(const struct sip_msg *m)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	for (size_t i = 0; i < m->n_hdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		const char *canon = sip_hdr_name(h->id);
		char name[256];
		json_t *arr;

		if (canon) {
			snprintf(name, sizeof(name), "%s", canon);
		} else {
			snprintf(name, sizeof(name), "%.*s",
				 (int)(h->name.len < 255 ? h->name.len : 255),
				 h->name.p);
		}
		arr = json_object_get(o, name);
		if (!arr) {
			arr = json_array();
			json_object_set_new(o, name, arr);
		}
		if (sip_hdr_is_list(h->id)) {
			struct scan s = scan_of(h->value);
			struct slice e;

			while (!sip_list_next(&s, &e))
				json_array_append_new(arr, json_text(e));
		} else {
			json_array_append_new(arr, json_text(h->value));
		}
	}
	return o;
}

static json_t *json_msg(const struct sip_msg *m)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "valid", json_true());
	if (m->is_request) {
		json_object_set_new(o, "type", json_string("request"));
		json_object_set_new(o, "method", json_text(m->method));
		json_object_set_new(o, "request_uri", json_uri(&m->ruri));
	} else {
		json_object_set_new(o, "type", json_string("response"));
		json_object_set_new(o, "status", json_integer(m->status));
		json_object_set_new(o, "reason", json_text(m->reason));
	}
	json_object_set_new(o, "headers", json_headers(m));
	json_object_set_new(o, "body_length",
			    json_integer((json_int_t)m->body.len));
	return o;
}

static json_t *json_verdict(const struct sipcert_lint_result *res)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "valid", json_false());
	json_object_set_new(
		o, "type",
		json_string(res->is_request ? "request" : "response"));
	if (res->status)
		json_object_set_new(o, "status_code",
				    json_integer(res->status));
	else
		json_object_set_new(o, "action", json_string("drop"));
	json_object_set_new(o, "reason", json_string(res->reason));
	return o;
}

static bool looks_like_response(const void *data, size_t len)
{
	const char *p = data;

	while (len && (*p == '\r' || *p == '\n')) {
		p++;
		len--;
	}
	return len >= 4 && !memcmp(p, "SIP/", 4);
}

SIPCERT_API int sipcert_lint(const void *data, size_t len,
			     struct sipcert_lint_result *res, char **json)
{
	struct sip_msg *m = NULL;
	struct sip_error err = {0};
	json_t *j = NULL;
	int rc;

	if (!res || (!data && len))
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	rc = sip_msg_decode(&m, data, len,
			    SIP_DECODE_DATAGRAM | SIP_DECODE_STRICT, &err);
	if (rc == -ENOMEM)
		return rc;
	if (!rc)
		rc = check_identity(m, &err);
	res->is_request = m ? m->is_request : !looks_like_response(data, len);
	if (rc) {
		res->is_valid = 0;
		res->status = res->is_request ? err.status : 0;
		snprintf(res->reason, sizeof(res->reason), "%s", err.reason);
	} else {
		res->is_valid = 1;
	}
	if (json) {
		char *copy = NULL;
		size_t n;

		j = res->is_valid ? json_msg(m) : json_verdict(res);
		/* dumped straight into our allocator's memory */
		n = j ? json_dumpb(j, NULL, 0,
				   JSON_INDENT(2) | JSON_PRESERVE_ORDER)
		      : 0;
		if (n)
			copy = mem_alloc(n + 1);
		if (copy) {
			json_dumpb(j, copy, n,
				   JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			copy[n] = '\0';
		}
		json_decref(j);
		if (!copy) {
			sip_msg_free(m);
			return -ENOMEM;
		}
		*json = copy;
	}
	sip_msg_free(m);
	return 0;
}
