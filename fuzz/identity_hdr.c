/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz harness for the RFC 4474 §9 headers: the input up to its first '\n'
 * is an Identity-Info value, the whole input an Identity value. Invariants:
 * every slice lies inside the input, the decoded signature respects the
 * cap, and parsing is deterministic. */
#include <stdlib.h>
#include <string.h>

#include "identity/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool cond)
{
	if (!cond)
		abort();
}

static void fuzz_info(struct slice v)
{
	struct identity_info ii, again;
	enum identity_alg alg;
	int rc;

	rc = identity_info_parse(v, &ii);
	must(rc == 0 || rc == -EBADMSG);
	if (rc)
		return;
	must(ii.uri.len > 0);
	must(slice_within(ii.uri, v.p, v.len));
	must(slice_within(ii.alg, v.p, v.len));
	must(slice_within(ii.params, v.p, v.len));
	/* the URI sits between the brackets */
	must(ii.uri.p > v.p && ii.uri.p[-1] == '<');
	must(ii.uri.p + ii.uri.len < v.p + v.len &&
	     ii.uri.p[ii.uri.len] == '>');
	/* an alg is a non-empty token found inside the params */
	if (ii.alg.p) {
		must(ii.alg.len > 0);
		must(ii.alg.p >= ii.params.p &&
		     ii.alg.p + ii.alg.len <= ii.params.p + ii.params.len);
	}
	alg = identity_alg_lookup(ii.alg);
	must(alg == IDENTITY_ALG_UNKNOWN || identity_alg_name(alg));
	must(identity_info_parse(v, &again) == 0);
	must(again.uri.p == ii.uri.p && again.uri.len == ii.uri.len &&
	     again.alg.p == ii.alg.p && again.alg.len == ii.alg.len);
}

static void fuzz_sig(struct slice v)
{
	struct slice b64;
	struct buf out;
	int rc;

	rc = identity_sig_parse(v, &b64);
	must(rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE);
	if (!rc) {
		must(slice_within(b64, v.p, v.len));
		must(b64.p > v.p && b64.p[-1] == '"');
	}
	/* the decoder takes any bytes: feed it the digest when there is
	 * one, the raw input otherwise */
	buf_init(&out, 4 * IDENTITY_SIG_MAX_BYTES);
	if (rc)
		b64 = v;
	rc = identity_sig_decode(b64, &out);
	must(rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE);
	if (rc)
		must(out.len == 0);
	else
		must(out.len > 0 && out.len <= IDENTITY_SIG_MAX_BYTES &&
		     out.len <= b64.len / 4 * 3);
	buf_fini(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *nl = size ? memchr(p, '\n', size) : NULL;
	size_t first = nl ? (size_t)(nl - p) : size;

	fuzz_info(slice_of(p, first));
	fuzz_sig(slice_of(p, size));
	return 0;
}
