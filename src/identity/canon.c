/* SPDX-License-Identifier: BSD-3-Clause */
/* The RFC 4474 §9 digest-string, built from an ordered table of parts
 * (STYLE.md B5): the bytes an authentication service signs and a verifier
 * recomputes. */
#include "identity.h"

#include "sip/sip.h"

/* Each extractor appends one part's bytes to out and returns 0, -ENOENT
 * when the part is absent, -EBADMSG when it is malformed, or the buf's
 * error. */
struct digest_src {
	const struct sip_msg *m;
	struct slice body;
};

static int part_addr(struct buf *out, const struct sip_addr *a)
{
	if (!a->uri_s.p || !a->uri_s.len)
		return -ENOENT;
	/* the addr-spec: the URI alone, without display name, brackets or
	 * header parameters (§9) */
	return buf_append_slice(out, a->uri_s);
}

static int part_from(struct buf *out, const struct digest_src *src)
{
	return part_addr(out, &src->m->from);
}

static int part_to(struct buf *out, const struct digest_src *src)
{
	return part_addr(out, &src->m->to);
}

static int part_callid(struct buf *out, const struct digest_src *src)
{
	if (!src->m->call_id.p || !src->m->call_id.len)
		return -ENOENT;
	return buf_append_slice(out, src->m->call_id);
}

static bool is_digit(int c)
{
	return char_is_digit(c);
}

static int part_cseq(struct buf *out, const struct digest_src *src)
{
	const struct sip_hdr *h = sip_msg_hdr(src->m, SIP_HDR_CSEQ);
	const struct sip_cseq *c = &src->m->cseq;
	struct slice digits;
	struct scan s;

	if (!h || !c->method.p || !c->method.len)
		return -ENOENT;
	/* §9: 1*DIGIT SP Method: the digits as written (a signer copies
	 * them, leading zeros and all), one SP whatever LWS the header
	 * held, then the method */
	s = scan_of(h->value);
	scan_sws(&s);
	if (scan_span(&s, is_digit, &digits))
		return -EBADMSG;
	if (buf_append_slice(out, digits) || buf_append_byte(out, ' '))
		return out->err;
	return buf_append_slice(out, c->method);
}

static int part_date(struct buf *out, const struct digest_src *src)
{
	const struct sip_hdr *h = sip_msg_hdr(src->m, SIP_HDR_DATE);
	time_t t;

	if (!h)
		return -ENOENT;
	/* SIP-date is a fixed-form rfc1123-date (RFC 3261 §20.17): once it
	 * parses, its bytes are already canonical */
	if (sip_date_parse(h->value, &t))
		return -EBADMSG;
	return buf_append_slice(out, h->value);
}

static int part_contact(struct buf *out, const struct digest_src *src)
{
	const struct sip_hdr *h = sip_msg_hdr(src->m, SIP_HDR_CONTACT);
	struct sip_addr a;
	struct slice elem;
	struct scan s;

	if (!h)
		return -ENOENT;
	/* the first contact of the first Contact header; "*" has no
	 * addr-spec to sign */
	s = scan_of(h->value);
	if (sip_list_next(&s, &elem) || sip_contact_parse(elem, &a) ||
	    a.is_star)
		return -EBADMSG;
	return buf_append_slice(out, a.uri_s);
}

static int part_body(struct buf *out, const struct digest_src *src)
{
	/* §9: message-body, raw bytes, possibly empty */
	return buf_append_slice(out, src->body);
}

static const struct digest_part {
	const char *what; /* for error messages */
	int (*append)(struct buf *out, const struct digest_src *src);
	bool required;
} digest_parts[] = {
	/* RFC 4474 §9: digest-string = addr-spec "|" addr-spec "|" callid
	 * "|" 1*DIGIT SP Method "|" SIP-date "|" [ addr-spec ] "|"
	 * message-body */
	{"From addr-spec", part_from, true},
	{"To addr-spec", part_to, true},
	{"Call-ID", part_callid, true},
	{"CSeq", part_cseq, true},
	{"Date", part_date, true},
	{"Contact addr-spec", part_contact, false},
	{"body", part_body, false},
};

int identity_digest_print(struct buf *out, const struct sip_msg *m,
			  struct slice body, const char **bad_part)
{
	const struct digest_src src = {m, body};
	size_t len0;
	int err = 0, err0;

	if (!out || !m || (body.len && !body.p))
		return -EINVAL;
	if (out->err)
		return out->err;
	len0 = out->len;
	err0 = out->err;
	for (size_t i = 0; i < ARRAY_SIZE(digest_parts); i++) {
		const struct digest_part *d = &digest_parts[i];

		err = i ? buf_append_byte(out, '|') : 0;
		if (err)
			break;
		err = d->append(out, &src);
		/* an absent optional part is the empty string */
		if (err == -ENOENT && !d->required)
			err = 0;
		if (err) {
			if ((err == -ENOENT || err == -EBADMSG) && bad_part)
				*bad_part = d->what;
			if (err == -ENOENT)
				err = -EBADMSG;
			break;
		}
	}
	if (err) {
		out->len = len0;
		out->err = err0;
	}
	return err;
}

int identity_digest_string_body(const struct sip_msg *m, struct slice body,
				struct buf *out)
{
	return identity_digest_print(out, m, body, NULL);
}

int identity_digest_string(const struct sip_msg *m, struct buf *out)
{
	if (!m)
		return -EINVAL;
	return identity_digest_print(out, m, m->body, NULL);
}
