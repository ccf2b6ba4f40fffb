/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz harness for query strings (application/x-www-form-urlencoded over
 * RFC 3986 §3.4): pairs lie inside the input, a query is malformed for
 * every name or for none, decoded text never holds a NUL nor grows, the
 * first pair is what its name finds, and encode-then-decode is identity. */
#include <stdlib.h>
#include <string.h>

#include "http/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool cond)
{
	if (!cond)
		abort();
}

/* Every octet as %HH: the most escaped form of the same text. */
static void encode(struct buf *out, struct slice s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		char e[3] = {'%', hex[c >> 4], hex[c & 15]};

		must(!buf_append(out, e, sizeof(e)));
	}
}

/* A decoded component: no NUL, no longer than its raw form, and the
 * same again after encoding. */
static void check_component(struct slice raw, struct buf *dec)
{
	struct buf enc, again;

	must(!http_query_decode(dec, raw));
	must(dec->len <= raw.len);
	must(!dec->len || !memchr(dec->p, '\0', dec->len));
	buf_init(&enc, 3 * dec->len + 16);
	buf_init(&again, dec->len + 16);
	encode(&enc, buf_slice(dec));
	must(!http_query_decode(&again, buf_slice(&enc)));
	must(slice_eq(buf_slice(&again), buf_slice(dec)));
	buf_fini(&enc);
	buf_fini(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice q = slice_of((const char *)data, size);
	struct scan s = scan_of(q);
	struct slice name, value;
	struct buf n0, v0, found;
	bool is_first = true, has_first = false, has_bad = false;
	const char *cname;
	int checked = http_query_check(q), err;

	must(checked == 0 || checked == -EBADMSG);
	buf_init(&n0, size + 16);
	buf_init(&v0, size + 16);
	while (!http_query_next(&s, &name, &value)) {
		struct buf dn, dv;

		must(slice_within(name, data, size));
		must(slice_within(value, data, size));
		must(!memchr(name.p, '&', name.len));
		must(!memchr(value.p, '&', value.len));
		must(!memchr(name.p, '=', name.len));
		if (checked) {
			/* a refused component leaves the buffer as it was */
			buf_init(&dn, size + 16);
			if (http_query_decode(&dn, name)) {
				must(dn.len == 0);
				has_bad = true;
			}
			buf_reset(&dn);
			if (http_query_decode(&dn, value)) {
				must(dn.len == 0);
				has_bad = true;
			}
			buf_fini(&dn);
			continue;
		}
		buf_init(&dn, size + 16);
		buf_init(&dv, size + 16);
		check_component(name, &dn);
		check_component(value, &dv);
		if (is_first) {
			must(!buf_append_slice(&n0, buf_slice(&dn)));
			must(!buf_append_slice(&v0, buf_slice(&dv)));
			has_first = true;
		}
		is_first = false;
		buf_fini(&dn);
		buf_fini(&dv);
	}
	must(s.p == s.end);
	/* the query is malformed exactly when one of its parts is */
	must(!checked || has_bad);

	/* whatever name is asked, a malformed query is malformed */
	buf_init(&found, size + 16);
	err = http_query_find(q, "a", &found);
	if (checked)
		must(err == -EBADMSG && found.len == 0);
	else
		must(err == 0 || err == -ENOENT);
	buf_reset(&found);

	/* the first pair is what its own name finds */
	if (has_first && n0.len && !buf_cstr(&n0, &cname)) {
		err = http_query_find(q, cname, &found);
		must(!err);
		must(slice_eq(buf_slice(&found), buf_slice(&v0)));
		must(found.p[found.len] == '\0');
	}
	buf_fini(&found);
	buf_fini(&n0);
	buf_fini(&v0);
	return 0;
}
