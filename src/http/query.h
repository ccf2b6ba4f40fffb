/* SPDX-License-Identifier: BSD-3-Clause */
/* http internals: the query-string parser behind http_request_query()
 * (application/x-www-form-urlencoded over RFC 3986 §3.4), apart so that
 * fuzz/http_query.c can reach it. Private to src/http/ and the fuzzer. */
#ifndef SIPCERT_HTTP_QUERY_H
#define SIPCERT_HTTP_QUERY_H

#include "base/base.h"

/* The next pair of the query at s: "&" separates pairs, empty pairs are
 * skipped, a pair without "=" has an empty value. name and value are the
 * raw (still encoded) views into the query. 0, or -ENOENT at the end. */
int http_query_next(struct scan *s, struct slice *name, struct slice *value);

/* Decode one raw name or value ('+' is a space, %HH the octet HH) and
 * append it to out, without a NUL. -EBADMSG for a '%' without two hex
 * digits after it, an encoded NUL (%00) or a raw control character, and
 * out is untouched then; -EMSGSIZE or -ENOMEM from out. */
int http_query_decode(struct buf *out, struct slice raw);

/* 0 when every name and value of the query decodes, else -EBADMSG. */
int http_query_check(struct slice query);

/* The value of the first pair whose decoded name is name, decoded and
 * appended to out followed by a NUL (not counted in out->len). -ENOENT
 * when no pair has that name, -EBADMSG when any part of the query is
 * malformed (wherever the pair is), -EINVAL for an empty name, and
 * -EMSGSIZE or -ENOMEM from out. */
int http_query_find(struct slice query, const char *name, struct buf *out);

#endif
