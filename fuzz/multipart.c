/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz harness for multipart bodies (RFC 2046 §5.1): the first input line
 * is the boundary, the rest the body. Every part slice must lie inside the
 * body, and rebuilding the parts and splitting again gives them back. */
#include <stdlib.h>
#include <string.h>

#include "sip/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_PARTS = 16, MAX_BUILD_BYTES = 1 << 24 };

static void must(bool cond)
{
	if (!cond)
		abort();
}

static void check_part(const struct sip_part *p, struct slice body)
{
	must(slice_within(p->headers, body.p, body.len));
	must(slice_within(p->ctype, body.p, body.len));
	must(slice_within(p->content_id, body.p, body.len));
	must(slice_within(p->disposition, body.p, body.len));
	must(slice_within(p->body, body.p, body.len));
	/* the indexed headers come from the part's header block */
	must(slice_within(p->ctype, p->headers.p, p->headers.len));
	must(slice_within(p->content_id, p->headers.p, p->headers.len));
	must(slice_within(p->disposition, p->headers.p, p->headers.len));
}

/* Build a body from the parsed parts and split it again: the boundary is
 * fresh, so the same bodies must come back, binary or not. */
static void round_trip(const struct sip_part *parts, size_t n)
{
	struct sip_part_out out[MAX_PARTS];
	struct sip_part again[MAX_PARTS];
	char boundary[72];
	struct buf b;
	size_t n2 = 0;

	for (size_t i = 0; i < n; i++)
		out[i] = (struct sip_part_out){
			.ctype = "application/octet-stream",
			.body = parts[i].body,
		};
	buf_init(&b, MAX_BUILD_BYTES);
	if (!sip_multipart_build(&b, out, n, boundary)) {
		must(!sip_multipart_parse(buf_slice(&b), slice_cstr(boundary),
					  again, MAX_PARTS, &n2));
		must(n2 == n);
		for (size_t i = 0; i < n; i++)
			must(slice_eq(again[i].body, parts[i].body));
	}
	buf_fini(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct sip_part parts[MAX_PARTS];
	struct slice boundary, body;
	const char *nl;
	size_t n = 0;

	if (!size)
		return 0;
	nl = memchr(in, '\n', size);
	if (!nl)
		return 0;
	boundary = slice_of(in, (size_t)(nl - in));
	if (boundary.len && boundary.p[boundary.len - 1] == '\r')
		boundary.len--;
	body = slice_of(nl + 1, size - (size_t)(nl + 1 - in));

	if (sip_multipart_parse(body, boundary, parts, MAX_PARTS, &n))
		return 0;
	must(n >= 1 && n <= MAX_PARTS);
	for (size_t i = 0; i < n; i++) {
		check_part(&parts[i], body);
		must(slice_within(parts[i].body, in, size));
	}
	round_trip(parts, n);
	return 0;
}
