/* SPDX-License-Identifier: BSD-3-Clause */
/* The credential service's NOTIFY: bodies (RFC 6072 §6.4, §7.4), the
 * request within the subscription's dialog (§6.7, §7.7, RFC 6665 §8.2)
 * and its Identity signature (RFC 6072 §8, RFC 4474 §5, §9). */
#include "cred_int.h"

#include <inttypes.h>

#include <openssl/crypto.h>

static const char ctype_pkix[] = "application/pkix-cert";
static const char ctype_pkcs8[] = "application/pkcs8";
static const char ctype_multipart[] = "multipart/mixed;boundary=";

/* the prefix and the longest boundary (71 octets) fit struct cred_body */
_Static_assert(sizeof(ctype_multipart) - 1 + 71 <
		       sizeof(((struct cred_body *)0)->ctype),
	       "room for the multipart Content-Type");

/* ---- bodies ------------------------------------------------------------- */

/* RFC 6072 §7.4: multipart/mixed (RFC 2046 §5.1) holding the DER
 * certificate and, when there is one, the PKCS#8 key. The parts carry no
 * Content-Disposition: "signal" applies to the NOTIFY's body as a whole
 * (§6.4). "The transport encoding of all the MIME bodies is binary": said
 * in each part, since MIME's own default would be 7bit (RFC 2045 §6.1). */
static int body_credential(struct slice cert_der, struct slice pkcs8,
			   struct cred_body *out)
{
	const struct sip_part_out parts[2] = {
		{.ctype = ctype_pkix,
		 .transfer_encoding = "binary",
		 .body = cert_der},
		{.ctype = ctype_pkcs8,
		 .transfer_encoding = "binary",
		 .body = pkcs8},
	};
	const size_t pre = sizeof(ctype_multipart) - 1;
	char boundary[72];
	size_t blen;
	int err;

	err = sip_multipart_build(&out->bytes, parts, pkcs8.len ? 2 : 1,
				  boundary);
	if (err)
		return err;
	/* the boundary is "sipcert-" and hex: a token, so it needs no
	 * quotes (RFC 2045 §5.1) */
	blen = strnlen(boundary, sizeof(boundary) - 1);
	memcpy(out->ctype, ctype_multipart, pre);
	memcpy(out->ctype + pre, boundary, blen);
	out->ctype[pre + blen] = '\0';
	return 0;
}

int cred_notify_body(enum cred_pkg pkg, struct slice cert_der,
		     struct slice pkcs8, struct cred_body *out)
{
	int err;

	if (!out || (!cert_der.p && cert_der.len) || (!pkcs8.p && pkcs8.len) ||
	    (pkg != CRED_PKG_CERTIFICATE && pkg != CRED_PKG_CREDENTIAL))
		return -EINVAL;
	/* the body is all of out->bytes: it must start empty */
	if (out->bytes.len)
		return -EINVAL;
	if (out->bytes.err)
		return out->bytes.err;
	/* §6.7, §7.9: no certificate (none published, or revoked) is a
	 * NOTIFY with no body at all */
	if (!cert_der.len) {
		out->ctype[0] = '\0';
		return 0;
	}
	if (pkg == CRED_PKG_CREDENTIAL) {
		err = body_credential(cert_der, pkcs8, out);
	} else {
		/* §6.4: the DER certificate alone (RFC 2585); the
		 * certificate package never carries the key */
		err = buf_append_slice(&out->bytes, cert_der);
		if (!err)
			memcpy(out->ctype, ctype_pkix, sizeof(ctype_pkix));
	}
	if (err) {
		/* as it came: empty, no error */
		out->bytes.len = 0;
		out->bytes.err = 0;
	}
	return err;
}

/* ---- the request -------------------------------------------------------- */

static int build_head(const struct cred_notify_req *r, const char *event,
		      struct buf *head)
{
	char date[30];

	/* RFC 3261 §12.2.1.1: a request within the dialog goes to the
	 * remote target, through the route set, with the dialog's tags */
	sip_out_request_line(head, "NOTIFY", slice_cstr(r->request_uri));
	if (r->route_set)
		sip_out_hdr_cstr(head, "Route", r->route_set);
	sip_out_hdr_cstr(head, "Max-Forwards", "70");
	/* RFC 6072 §6.7: From is the SUBSCRIBE's To (the local side) */
	sip_out_hdrf(head, "From", "<%s>;tag=%s", r->local_uri, r->local_tag);
	sip_out_hdrf(head, "To", "<%s>;tag=%s", r->remote_uri, r->remote_tag);
	sip_out_hdr_cstr(head, "Call-ID", r->call_id);
	sip_out_hdrf(head, "CSeq", "%" PRIu32 " NOTIFY", r->cseq);
	/* RFC 6665 §4.2.2: a NOTIFY carries Contact, Event (§8.2.1) and
	 * Subscription-State (§8.2.3) */
	sip_out_hdrf(head, "Contact", "<%s>", r->contact);
	/* RFC 6665 §8.2.1: the id of the SUBSCRIBE's Event is echoed */
	if (r->event_id)
		sip_out_hdrf(head, "Event", "%s;id=%s", event, r->event_id);
	else
		sip_out_hdr_cstr(head, "Event", event);
	sip_out_hdr_cstr(head, "Subscription-State", r->substate);
	/* RFC 4474 §9 signs the Date, so it is always sent */
	sip_date_format(r->date, date);
	return sip_out_hdr_cstr(head, "Date", date);
}

static int build_tail(const struct cred_body *body, struct buf *tail)
{
	if (!body || !body->bytes.len)
		return sip_out_body(tail, NULL, SLICE_NULL);
	sip_out_hdr_cstr(tail, "Content-Type", body->ctype);
	/* RFC 6072 §6.4 (and §7.4 by reference): Content-Disposition
	 * "signal" (RFC 3204 §5): the body is for the user agent, not
	 * for rendering to the user */
	sip_out_hdr_cstr(tail, "Content-Disposition", "signal");
	return sip_out_body(tail, NULL, buf_slice(&body->bytes));
}

/* A body cred_notify_body() made: no error, and with bytes a terminated,
 * non-empty Content-Type. */
static bool body_ok(const struct cred_body *body)
{
	if (body->bytes.err)
		return false;
	if (!body->bytes.len)
		return true;
	return body->ctype[0] &&
	       memchr(body->ctype, '\0', sizeof(body->ctype)) != NULL;
}

int cred_notify_build(const struct cred_notify_req *r, struct buf *head,
		      struct buf *tail)
{
	const char *event;

	if (!r || !head || !tail || !r->request_uri || !r->local_uri ||
	    !r->local_tag || !r->remote_uri || !r->remote_tag || !r->call_id ||
	    !r->contact || !r->substate)
		return -EINVAL;
	if (r->pkg != CRED_PKG_CERTIFICATE && r->pkg != CRED_PKG_CREDENTIAL)
		return -EINVAL;
	/* RFC 6665 §8.2.1: Event is the package name alone */
	event = cred_pkg_name(r->pkg);
	/* RFC 3261 §8.1.1.5: the sequence number stays below 2^31 */
	if (r->cseq > INT32_MAX)
		return -EINVAL;
	if (r->body && !body_ok(r->body))
		return -EINVAL;
	if (build_head(r, event, head))
		return head->err;
	return build_tail(r->body, tail);
}

/* ---- the signature ------------------------------------------------------ */

/* The decoder refuses a request without Via (RFC 3261 §8.1.1), but the
 * transaction layer adds ours only when it sends. Parsing alone gets this
 * stand-in: the digest-string (RFC 4474 §9) covers From, To, Call-ID,
 * CSeq, Date, Contact and the body, never Via, so the signature does not
 * depend on it, and it never reaches the output. */
static const char sign_via[] =
	"Via: SIP/2.0/TLS sign.invalid;branch=z9hG4bKsipcertsign\r\n";

/* Does s lie (partly) inside b's storage, which appending may move? */
static bool overlaps(struct slice s, const struct buf *b)
{
	return s.len && b->p && s.p < b->p + b->cap && b->p < s.p + s.len;
}

/* Sign with signer when given, else with key and alg. */
static int notify_sign(EVP_PKEY *key, enum identity_alg alg,
		       struct identity_signer *signer, const char *info_url,
		       struct slice head, struct slice tail, struct buf *out)
{
	const size_t via_len = sizeof(sign_via) - 1;
	struct sip_msg *m = NULL;
	size_t len0, n;
	int err, err0;

	if (!info_url || !out || !head.p || !head.len ||
	    (!tail.p && tail.len) || overlaps(head, out) || overlaps(tail, out))
		return -EINVAL;
	if (out->err)
		return out->err;
	if (head.len > SIP_MAX_MSG_BYTES || tail.len > SIP_MAX_MSG_BYTES)
		return -EMSGSIZE;
	n = head.len + via_len + tail.len;
	if (n > SIP_MAX_MSG_BYTES)
		return -EMSGSIZE;
	len0 = out->len;
	err0 = out->err;

	/* The bytes to parse are put together in out's own storage, past
	 * its end: the signed message is longer than them (the Identity
	 * lines outweigh the stand-in Via), so this costs no allocation
	 * of its own, and the message written next covers them entirely. */
	buf_append_slice(out, head);
	buf_append(out, sign_via, via_len);
	err = buf_append_slice(out, tail);
	if (err)
		goto out;
	/* one decode, stream framing: Content-Length must match the body */
	err = sip_msg_decode(&m, out->p + len0, n, 0, NULL);
	if (err)
		goto out;
	/* The decoder also takes what only a datagram may be. What we send
	 * must frame on a stream (RFC 3261 §18.3): a Content-Length, and
	 * the header block closed by an empty line (§7), both in the tail
	 * the builder made. */
	if (!m->is_request || m->method_id != SIP_METHOD_NOTIFY ||
	    !m->has_content_length ||
	    (size_t)(m->body.p - m->raw.p) < head.len + via_len + 2 ||
	    memcmp(m->body.p - 4, "\r\n\r\n", 4)) {
		err = -EBADMSG;
		goto out;
	}

	/* RFC 4474 §5: the Identity and Identity-Info headers go between
	 * the head and the body's headers; the identity module writes
	 * their values straight into out: a quoted base64 digest and
	 * "<url>;alg=name" whose URL it checked, neither able to break
	 * the line. */
	out->len = len0;
	buf_append_slice(out, head);
	err = buf_append_cstr(out, "Identity: ");
	if (!err)
		err = signer ? identity_signer_sign(signer, m, out)
			     : identity_sign(key, alg, m, out);
	if (!err)
		err = buf_append_cstr(out, "\r\nIdentity-Info: ");
	if (!err)
		err = identity_info_value(info_url, alg, out);
	if (!err)
		err = buf_append(out, "\r\n", 2);
	if (!err)
		err = buf_append_slice(out, tail);
out:
	if (m) {
		/* the copy may hold a private key (RFC 6072 §7.4) */
		OPENSSL_cleanse((void *)(uintptr_t)m->raw.p, m->raw.len);
		sip_msg_free(m);
	}
	if (err) {
		/* wipe what was left past the end, for the same reason */
		if (out->p && out->cap > len0)
			OPENSSL_cleanse(out->p + len0, out->cap - len0);
		out->len = len0;
		out->err = err0;
	}
	return err;
}

int cred_notify_sign(EVP_PKEY *key, enum identity_alg alg, const char *info_url,
		     struct slice head, struct slice tail, struct buf *out)
{
	if (!key || !identity_alg_md(alg))
		return -EINVAL;
	/* RFC 4474 §9 and RFC 6072 §8: both algorithms are RSA PKCS#1
	 * v1.5; refused here before any work (identity_sign checks too) */
	if (!EVP_PKEY_is_a(key, "RSA"))
		return -EINVAL;
	return notify_sign(key, alg, NULL, info_url, head, tail, out);
}

int cred_notify_sign_with(struct identity_signer *signer, const char *info_url,
			  struct slice head, struct slice tail, struct buf *out)
{
	/* the signer checked its key and alg when it was made */
	if (!signer)
		return -EINVAL;
	return notify_sign(NULL, identity_signer_alg(signer), signer, info_url,
			   head, tail, out);
}
