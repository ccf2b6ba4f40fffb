/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz harness for the URI grammar (RFC 3261 §19.1, §25.1, RFC 3966,
 * sipsec:): every slice lies inside the input, a URI equals itself, and
 * printing then parsing again gives an equal URI with the same AOR. */
#include <stdlib.h>
#include <string.h>

#include "sip/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool cond)
{
	if (!cond)
		abort();
}

static void within(struct slice s, const uint8_t *data, size_t size)
{
	must(slice_within(s, data, size));
}

/* The AOR of u into b, or the error print_aor gave. */
static int aor(struct buf *b, const struct sip_uri *u)
{
	int err = sip_uri_print_aor(b, u);

	/* only other schemes have none; a full buf is a real limit */
	if (u->scheme == SIP_URI_OTHER)
		must(err == -EINVAL);
	else
		must(!err || err == -EMSGSIZE || err == -ENOMEM);
	return err;
}

static void check(const struct sip_uri *u, const uint8_t *data, size_t size)
{
	struct sip_uri v;
	struct buf out, a1, a2;
	struct slice val;
	int err;

	within(u->whole, data, size);
	within(u->scheme_name, data, size);
	within(u->user, data, size);
	within(u->password, data, size);
	within(u->host, data, size);
	within(u->params, data, size);
	within(u->headers, data, size);
	within(u->rest, data, size);
	must(u->whole.p == (const char *)data && u->whole.len == size);
	must(u->scheme >= SIP_URI_OTHER && u->scheme <= SIP_URI_TEL);
	must(sip_uri_equal(u, u));
	if (!sip_uri_param(u, "transport", &val))
		within(val, data, size);

	/* every escape in a parsed URI is well formed */
	buf_init(&out, size + 64);
	must(!sip_uri_unescape(&out, u->user) || out.err);
	buf_fini(&out);

	buf_init(&out, 2 * size + 64);
	buf_init(&a1, 4 * size + 64);
	buf_init(&a2, 4 * size + 64);
	err = sip_uri_print(&out, u);
	if (err) {
		must(err == -ENOMEM);
		goto out;
	}
	must(!sip_uri_parse(buf_slice(&out), &v));
	must(sip_uri_equal(u, &v) && sip_uri_equal(&v, u));
	must(v.scheme == u->scheme);
	if (!aor(&a1, u) && !aor(&a2, &v)) {
		must(slice_eq(buf_slice(&a1), buf_slice(&a2)));
		/* the AOR is a URI whose AOR is itself */
		must(!sip_uri_parse(buf_slice(&a1), &v));
		buf_reset(&a2);
		if (!aor(&a2, &v))
			must(slice_eq(buf_slice(&a1), buf_slice(&a2)));
	}
out:
	buf_fini(&out);
	buf_fini(&a1);
	buf_fini(&a2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_uri u;
	int err;

	err = sip_uri_parse(slice_of((const char *)data, size), &u);
	if (!err)
		check(&u, data, size);
	else
		must(err == -EBADMSG || err == -EMSGSIZE);
	return 0;
}
