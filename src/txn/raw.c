/* SPDX-License-Identifier: BSD-3-Clause */
/* Stateless answers to requests that failed to decode (RFC 3261 §8.2.6,
 * §18.2.1): a tolerant scan of the raw lines for Via, From, To, Call-ID
 * and CSeq, copied into a 4xx/5xx the peer can still match. */
#include "txn_int.h"

#include <string.h>

static bool name_is(struct slice name, const char *full, const char *compact)
{
	return slice_caseeq_cstr(name, full) ||
	       (compact && slice_caseeq_cstr(name, compact));
}

static bool kind_of(struct slice name, enum txn_raw_kind *kind)
{
	/* full and compact forms (RFC 3261 §7.3.3) */
	if (name_is(name, "Via", "v"))
		*kind = TXN_RAW_VIA;
	else if (name_is(name, "From", "f"))
		*kind = TXN_RAW_FROM;
	else if (name_is(name, "To", "t"))
		*kind = TXN_RAW_TO;
	else if (name_is(name, "Call-ID", "i"))
		*kind = TXN_RAW_CALL_ID;
	else if (name_is(name, "CSeq", NULL))
		*kind = TXN_RAW_CSEQ;
	else
		return false;
	return true;
}

/* The line at p: its content without the line end, and the next line. */
static struct slice next_line(const char **pp, const char *end)
{
	const char *p = *pp;
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	const char *eol = lf ? lf : end;

	*pp = lf ? lf + 1 : end;
	if (eol > p && eol[-1] == '\r')
		eol--;
	return slice_of(p, (size_t)(eol - p));
}

void txn_raw_scan(const void *data, size_t len, struct txn_raw *out)
{
	const char *p = data, *end;
	bool seen[TXN_RAW_CSEQ + 1] = {false};
	bool extending = false; /* the last header line was kept */

	memset(out, 0, sizeof(*out));
	if (!data)
		return;
	end = p + len;
	/* RFC 3261 §7.5: CRLFs before the start line are ignored */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	out->start = next_line(&p, end);
	out->is_response =
		out->start.len >= 4 && !memcmp(out->start.p, "SIP/", 4);
	for (size_t i = 0; i < out->start.len; i++)
		if (out->start.p[i] == ' ') {
			out->method = slice_of(out->start.p, i);
			break;
		}
	while (p < end) {
		struct slice line = next_line(&p, end), name;
		enum txn_raw_kind kind;
		const char *colon;

		if (!line.len)
			break; /* the empty line ends the header block */
		if (line.p[0] == ' ' || line.p[0] == '\t') {
			/* a fold continues the value of the previous line */
			if (extending) {
				struct slice *v =
					&out->lines[out->n_lines - 1].value;

				v->len = (size_t)(line.p + line.len - v->p);
			}
			continue;
		}
		extending = false;
		colon = memchr(line.p, ':', line.len);
		if (!colon)
			continue;
		name = slice_trim(slice_of(line.p, (size_t)(colon - line.p)));
		if (!kind_of(name, &kind))
			continue;
		if ((kind != TXN_RAW_VIA && seen[kind]) ||
		    out->n_lines == TXN_RAW_MAX_LINES)
			continue;
		seen[kind] = true;
		out->lines[out->n_lines].kind = kind;
		out->lines[out->n_lines].value = slice_of(
			colon + 1, (size_t)(line.p + line.len - (colon + 1)));
		out->n_lines++;
		if (kind == TXN_RAW_VIA)
			out->n_via++;
		extending = true;
	}
}

/* The value on one line: folds become their white space (RFC 3261
 * §7.3.1), stray CR/LF go; a NUL makes the value uncopyable. */
static int clean_value(struct buf *tmp, struct slice v)
{
	v = slice_trim(v);
	buf_reset(tmp);
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] == '\0')
			return -EINVAL;
		if (v.p[i] != '\r' && v.p[i] != '\n')
			buf_append_byte(tmp, v.p[i]);
	}
	/* a value made only of line ends still needs a valid pointer */
	return buf_append(tmp, "", 0);
}

static bool has_tag(struct slice to)
{
	struct sip_addr a;

	if (!sip_addr_parse(to, &a))
		return a.tag.p != NULL;
	for (size_t i = 0; i + 4 <= to.len; i++)
		if (slice_caseeq_cstr(slice_of(to.p + i, 4), "tag="))
			return true;
	return false;
}

static bool reason_ok(const char *r)
{
	if (!r || !*r)
		return false;
	for (; *r; r++)
		if (((unsigned char)*r < ' ' && *r != '\t') || *r == 0x7f)
			return false;
	return true;
}

static int top_via(struct buf *b, struct slice v, const struct net_rx *rx,
		   struct net_dest *dest)
{
	struct scan s = scan_of(v);
	struct sip_via via;
	struct slice elem;
	bool is_parsed;

	if (sip_list_next(&s, &elem))
		elem = v;
	buf_append_cstr(b, "Via: ");
	txn_via_stamp(b, elem, &rx->peer, &is_parsed);
	buf_append(b, elem.p + elem.len,
		   (size_t)(v.p + v.len - (elem.p + elem.len)));
	/* §18.2.2 when the Via is readable; otherwise straight back */
	txn_response_dest(is_parsed && !sip_via_parse(elem, &via) ? &via : NULL,
			  rx, dest);
	return buf_append(b, "\r\n", 2);
}

int txn_raw_reply(struct buf *b, const struct txn_raw *r, unsigned status,
		  const char *reason, const struct net_rx *rx,
		  const char *to_tag, struct net_dest *dest)
{
	static const enum txn_raw_kind order[] = {
		TXN_RAW_VIA,	 TXN_RAW_FROM, TXN_RAW_TO,
		TXN_RAW_CALL_ID, TXN_RAW_CSEQ,
	};
	static const char *const names[] = {
		[TXN_RAW_VIA] = "Via",	 [TXN_RAW_FROM] = "From",
		[TXN_RAW_TO] = "To",	 [TXN_RAW_CALL_ID] = "Call-ID",
		[TXN_RAW_CSEQ] = "CSeq",
	};
	struct net_dest d;
	struct buf tmp;
	bool is_first_via = true;
	int err;

	if (!r->n_via)
		return -ENOENT;
	if (sip_out_status_line(b, status, reason_ok(reason) ? reason : NULL))
		return b->err;
	buf_init(&tmp, SIP_MAX_MSG_BYTES);
	for (size_t k = 0; k < ARRAY_SIZE(order); k++) {
		for (size_t i = 0; i < r->n_lines; i++) {
			struct slice v;

			if (r->lines[i].kind != order[k])
				continue;
			err = clean_value(&tmp, r->lines[i].value);
			if (err && order[k] == TXN_RAW_VIA)
				goto out;
			if (err)
				continue; /* answer without it */
			/* §8.2.6.2: a To tag on everything but a 100 */
			if (order[k] == TXN_RAW_TO && to_tag &&
			    !has_tag(buf_slice(&tmp)))
				buf_printf(&tmp, ";tag=%s", to_tag);
			v = buf_slice(&tmp);
			if (is_first_via) {
				is_first_via = false;
				top_via(b, v, rx, &d);
				continue;
			}
			sip_out_hdr(b, names[order[k]], v);
		}
	}
	err = sip_out_body(b, NULL, SLICE_NULL);
out:
	buf_fini(&tmp);
	if (err)
		return err;
	*dest = d;
	return 0;
}

void txn_stateless_error(struct txn_layer *l, const struct net_rx *rx,
			 const struct sip_error *err)
{
	struct txn_hasher h;
	struct net_dest dest;
	struct txn_raw *r;
	struct buf b;
	uint64_t tag;
	char tag_s[TXN_TAG_LEN + 1];
	int rc = -ENOMEM;

	r = mem_alloc(sizeof(*r));
	if (!r)
		goto out;
	txn_raw_scan(rx->data, rx->len, r);
	/* responses are never answered (§17.1.3 just drops them), ACK
	 * never gets a response (§17.1.1.3), and status 0 means drop */
	rc = -EBADMSG;
	if (r->is_response || !err || !err->status ||
	    slice_eq_cstr(r->method, "ACK"))
		goto out;
	/* §8.2.7: a stateless answer makes its To tag statelessly, the
	 * same for every retransmission of the request */
	txn_hasher_init(&h, l->hash_key);
	txn_hasher_feed(&h, slice_of(rx->data, rx->len), false);
	tag = txn_hasher_end(&h);
	hex_encode(tag_s, &tag, sizeof(tag));
	buf_init(&b, SIP_MAX_MSG_BYTES);
	rc = txn_raw_reply(&b, r, err->status, err->reason, rx, tag_s, &dest);
	if (!rc)
		rc = txn_layer_send(l, &dest, b.p, b.len, NULL);
	buf_fini(&b);
out:
	mem_free(r);
	if (rc)
		l->stats.dropped++;
	else
		l->stats.stateless_errors++;
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char ip[64];

		txn_addr_host(&rx->peer, ip, sizeof(ip));
		log_msg(LOG_LEVEL_DEBUG, TXN_LOG,
			"undecodable message from %s (%s): %s", ip,
			err && err->reason[0] ? err->reason : "no reason",
			rc ? "dropped" : "answered");
	}
}
