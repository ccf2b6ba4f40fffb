/* SPDX-License-Identifier: BSD-3-Clause */
/* multipart/mixed bodies (RFC 2046 §5.1, RFC 5621): a binary-safe splitter
 * that indexes each part's headers and body, and a builder that picks a
 * random boundary found in none of the parts. */
#include "sip.h"

#include <string.h>

#include <openssl/rand.h>

enum {
	BOUNDARY_MAX = 70, /* RFC 2046 §5.1.1: 1 to 70 characters */
	BOUNDARY_RAND_BYTES = 16,
	BUILD_ATTEMPTS = 8,
};

/* ---- the splitter -------------------------------------------------------- */

/* RFC 2046 §5.1.1: bchars := bcharsnospace / " ", and the last character
 * is not a space. */
static bool is_bchar(int c)
{
	return char_is_alpha(c) || char_is_digit(c) ||
	       (c > 0 && strchr("'()+_,-./:=? ", c) != NULL);
}

static bool boundary_valid(struct slice b)
{
	if (!b.p || b.len == 0 || b.len > BOUNDARY_MAX || b.p[b.len - 1] == ' ')
		return false;
	for (size_t i = 0; i < b.len; i++)
		if (!is_bchar((unsigned char)b.p[i]))
			return false;
	return true;
}

enum delim_kind {
	DELIM_NONE,
	DELIM_OPEN,  /* dash-boundary transport-padding CRLF */
	DELIM_CLOSE, /* dash-boundary "--", then the epilogue */
};

/* Is there a delimiter line starting with "--boundary" at p? On DELIM_OPEN
 * *next is where the body part begins. A line that merely starts with the
 * boundary ("--boundaryX") is part content, though RFC 2046 §5.1.1 forbids
 * a sender to put one there. */
static enum delim_kind delim_at(const char *p, const char *end,
				struct slice boundary, const char **next)
{
	if ((size_t)(end - p) < 2 + boundary.len || memcmp(p, "--", 2) ||
	    memcmp(p + 2, boundary.p, boundary.len))
		return DELIM_NONE;
	p += 2 + boundary.len;
	/* RFC 2046 §5.1.1: implementations must ignore anything after the
	 * close-delimiter, padding and line end included */
	if (end - p >= 2 && !memcmp(p, "--", 2))
		return DELIM_CLOSE;
	/* receivers MUST accept transport padding (same section) */
	while (p < end && char_is_ws((unsigned char)*p))
		p++;
	if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
		return DELIM_NONE;
	*next = p + 2;
	return DELIM_OPEN;
}

/* The next delimiter at or after from: CRLF "--" boundary, where the CRLF
 * belongs to the delimiter, not to the part before it (RFC 2046 §5.1.1).
 * Returns the CRLF's position, or NULL. */
static const char *delim_find(const char *from, const char *end,
			      struct slice boundary, enum delim_kind *kind,
			      const char **next)
{
	const char *p = from;

	while ((size_t)(end - p) >= 4 + boundary.len) {
		const char *q = memmem(p + 4, (size_t)(end - p - 4), boundary.p,
				       boundary.len);
		const char *crlf;

		if (!q)
			return NULL;
		crlf = q - 4;
		if (!memcmp(crlf, "\r\n--", 4)) {
			*kind = delim_at(crlf + 2, end, boundary, next);
			if (*kind != DELIM_NONE)
				return crlf;
		}
		p = crlf + 1;
	}
	return NULL;
}

/* Index a part header (RFC 2045 §3 names, case-insensitive). Every one of
 * the three may appear once: two Content-Types would make the part's
 * meaning depend on which one a receiver reads. */
static int part_hdr(struct sip_part *part, struct slice name,
		    struct slice value)
{
	static const struct {
		const char *name;
		size_t off;
	} known[] = {
		{"Content-Type", offsetof(struct sip_part, ctype)},
		{"Content-ID", offsetof(struct sip_part, content_id)},
		{"Content-Disposition", offsetof(struct sip_part, disposition)},
	};

	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		struct slice *dst;

		if (!slice_caseeq_cstr(name, known[i].name))
			continue;
		dst = (struct slice *)(void *)((char *)part + known[i].off);
		if (dst->p)
			return -EBADMSG;
		*dst = value;
		return 0;
	}
	return 0;
}

/* RFC 5322 §3.6.8: ftext = %d33-57 / %d59-126, printable but the colon */
static bool is_ftext(int c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* Walk a header block: lines end in CRLF, a line starting with WSP folds
 * into the one before (RFC 5322 §2.2.3), bare CR or LF is malformed. */
static int part_headers(struct sip_part *part, struct slice block)
{
	struct scan s = scan_of(block);

	while (!scan_done(&s)) {
		struct slice name, value;
		const char *v;

		if (scan_span(&s, is_ftext, &name))
			return -EBADMSG;
		scan_sws(&s);
		if (scan_char(&s, ':'))
			return -EBADMSG;
		v = s.p;
		for (;;) {
			const char *crlf =
				memchr(s.p, '\r', (size_t)(s.end - s.p));
			const char *lf =
				memchr(s.p, '\n', (size_t)(s.end - s.p));

			if (!crlf) {
				if (lf)
					return -EBADMSG;
				s.p = s.end;
				break;
			}
			if (lf != crlf + 1)
				return -EBADMSG;
			s.p = crlf + 2;
			if (scan_done(&s) || !char_is_ws(scan_peek(&s)))
				break;
		}
		value = slice_trim(slice_of(v, (size_t)(s.p - v)));
		if (part_hdr(part, name, value))
			return -EBADMSG;
	}
	return 0;
}

/* body-part := MIME-part-headers [CRLF *OCTET] (RFC 2046 §5.1.1): the
 * headers end at the first empty line; a part without headers starts with
 * that empty line, and a part without a body has headers only. */
static int part_parse(struct slice text, struct sip_part *out)
{
	struct sip_part part = {0};
	const char *blank;

	if (text.len >= 2 && text.p[0] == '\r' && text.p[1] == '\n') {
		part.headers = slice_of(text.p, 0);
		part.body = slice_of(text.p + 2, text.len - 2);
	} else if ((blank = memmem(text.p, text.len, "\r\n\r\n", 4))) {
		part.headers = slice_of(text.p, (size_t)(blank - text.p));
		part.body = slice_of(blank + 4,
				     text.len - (size_t)(blank + 4 - text.p));
	} else {
		part.headers = text;
		part.body = slice_of(text.p + text.len, 0);
	}
	if (part_headers(&part, part.headers))
		return -EBADMSG;
	*out = part;
	return 0;
}

/* One pass over the body; parts may be NULL to validate and count only. */
static int split(struct slice body, struct slice boundary,
		 struct sip_part *parts, size_t max, size_t *n)
{
	const char *end = body.p + body.len;
	const char *next = NULL;
	enum delim_kind kind;
	size_t count = 0;

	/* The preamble is ignored; the first delimiter may open the body
	 * with no CRLF before it. */
	kind = delim_at(body.p, end, boundary, &next);
	if (kind == DELIM_NONE &&
	    !delim_find(body.p, end, boundary, &kind, &next))
		return -EBADMSG;
	/* RFC 2046 §5.1.1: at least one body part before the close */
	if (kind != DELIM_OPEN)
		return -EBADMSG;
	while (kind == DELIM_OPEN) {
		const char *start = next;
		const char *stop =
			delim_find(start, end, boundary, &kind, &next);
		struct sip_part part;

		if (!stop)
			return -EBADMSG; /* no close-delimiter */
		if (count == max)
			return -EMSGSIZE;
		if (part_parse(slice_of(start, (size_t)(stop - start)), &part))
			return -EBADMSG;
		if (parts)
			parts[count] = part;
		count++;
	}
	/* the epilogue after the close-delimiter is ignored */
	*n = count;
	return 0;
}

int sip_multipart_parse(struct slice body, struct slice boundary,
			struct sip_part *parts, size_t max, size_t *n)
{
	size_t count;
	int err;

	if (!n || (!parts && max) || (!body.p && body.len))
		return -EINVAL;
	if (!boundary_valid(boundary) || !body.p)
		return -EBADMSG;
	/* validate first, so parts[] is written only on success */
	err = split(body, boundary, NULL, max, &count);
	if (err)
		return err;
	return split(body, boundary, parts, max, n);
}

/* ---- the builder --------------------------------------------------------- */

/* Declared here rather than in sip.h: only multipart_test.c swaps the
 * random source, to force a boundary collision. NULL restores RAND_bytes. */
typedef int multipart_rand_cb(unsigned char *buf, int n);
void sip_multipart_rand_hook(multipart_rand_cb *cb);

static multipart_rand_cb *rand_cb = RAND_bytes;

void sip_multipart_rand_hook(multipart_rand_cb *cb)
{
	rand_cb = cb ? cb : RAND_bytes;
}

/* A header value we print must stay on its line. */
static bool hdr_value_ok(const char *v)
{
	for (; *v; v++)
		if (*v == '\r' || *v == '\n')
			return false;
	return true;
}

static bool boundary_in_parts(const char *b, size_t b_len,
			      const struct sip_part_out *parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (parts[i].body.len &&
		    memmem(parts[i].body.p, parts[i].body.len, b, b_len))
			return true;
	return false;
}

/* "sipcert-" and 32 hex digits: 128 random bits, so a collision with a
 * part means the part was made to collide; try again a few times. */
static int boundary_pick(const struct sip_part_out *parts, size_t n,
			 char out[72])
{
	static const char prefix[] = "sipcert-";
	unsigned char rnd[BOUNDARY_RAND_BYTES];
	char b[sizeof(prefix) - 1 + 2 * BOUNDARY_RAND_BYTES + 1];

	memcpy(b, prefix, sizeof(prefix) - 1);
	for (int i = 0; i < BUILD_ATTEMPTS; i++) {
		if (rand_cb(rnd, (int)sizeof(rnd)) != 1)
			return -EPROTO;
		hex_encode(b + sizeof(prefix) - 1, rnd, sizeof(rnd));
		if (!boundary_in_parts(b, sizeof(b) - 1, parts, n)) {
			memcpy(out, b, sizeof(b));
			return 0;
		}
	}
	return -EPROTO; /* the random source repeats itself */
}

int sip_multipart_build(struct buf *out, const struct sip_part_out *parts,
			size_t n, char boundary[72])
{
	char b[72];
	size_t start;
	int err;

	if (!out || !parts || !n || !boundary)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct sip_part_out *p = &parts[i];

		if (!p->ctype || !hdr_value_ok(p->ctype) ||
		    (p->content_id && !hdr_value_ok(p->content_id)) ||
		    (p->disposition && !hdr_value_ok(p->disposition)) ||
		    (p->transfer_encoding &&
		     !hdr_value_ok(p->transfer_encoding)) ||
		    (!p->body.p && p->body.len))
			return -EINVAL;
	}
	err = boundary_pick(parts, n, b);
	if (err)
		return err;

	start = out->len;
	for (size_t i = 0; i < n; i++) {
		const struct sip_part_out *p = &parts[i];

		/* RFC 2046 §5.1.1: the CRLF before a delimiter is part of
		 * it, so every body ends right where this CRLF begins */
		(void)buf_printf(out, "%s--%s\r\nContent-Type: %s\r\n",
				 i ? "\r\n" : "", b, p->ctype);
		if (p->content_id)
			(void)buf_printf(out, "Content-ID: %s\r\n",
					 p->content_id);
		if (p->disposition)
			(void)buf_printf(out, "Content-Disposition: %s\r\n",
					 p->disposition);
		if (p->transfer_encoding)
			(void)buf_printf(out,
					 "Content-Transfer-Encoding: %s\r\n",
					 p->transfer_encoding);
		(void)buf_append(out, "\r\n", 2);
		(void)buf_append_slice(out, p->body);
	}
	err = buf_printf(out, "\r\n--%s--\r\n", b);
	if (err) {
		out->len = start; /* nothing half-written stays behind */
		return err;
	}
	memcpy(boundary, b, strlen(b) + 1);
	return 0;
}
