/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz harness for WWW-Authenticate / Authorization values (RFC 3261
 * §25.1, RFC 7616): slices lie inside the input, verification returns a
 * defined code, and printed credentials parse back to the same values. */
#include <stdlib.h>
#include <string.h>

#include "sip/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool cond)
{
	if (!cond)
		abort();
}

static void check_within(const struct sip_auth *a, const void *in, size_t size)
{
	const struct slice s[] = {
		a->scheme,   a->realm,	a->nonce, a->opaque,   a->algorithm,
		a->qop,	     a->domain, a->stale, a->username, a->uri,
		a->response, a->cnonce, a->nc,	  a->userhash,
	};

	for (size_t i = 0; i < ARRAY_SIZE(s); i++)
		must(slice_within(s[i], in, size));
}

/* A fixed HA1 of the algorithm's length: the response will not match
 * (except by a fuzzer-found preimage), but every code path up to the
 * comparison runs. */
static const char *fixed_ha1(enum sip_digest_alg alg)
{
	if (alg == SIP_DIGEST_MD5 || alg == SIP_DIGEST_MD5_SESS ||
	    alg == SIP_DIGEST_UNKNOWN)
		return "939e7578ed9e3c518a452acee763bce9";
	return "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794"
	       "232";
}

static bool same(struct slice a, const char *s)
{
	return slice_eq(a, slice_cstr(s));
}

/* Print the credentials again and parse the result. The printer refuses
 * values it would have to escape (-EINVAL); anything it prints must read
 * back unchanged. */
static void round_trip(const struct sip_auth *a)
{
	char *v[7] = {0};
	const struct slice src[7] = {a->username, a->realm,  a->nonce, a->uri,
				     a->response, a->cnonce, a->opaque};
	struct sip_credentials_opts o;
	struct sip_auth back;
	struct buf b;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		if (src[i].p && !(v[i] = slice_dup(src[i])))
			goto out;
	/* a NUL inside a value cannot go through a C string */
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		if (v[i] && strlen(v[i]) != src[i].len)
			goto out;
	o = (struct sip_credentials_opts){
		.username = v[0],
		.realm = v[1],
		.nonce = v[2],
		.uri = v[3],
		.response = v[4],
		.cnonce = v[5],
		.opaque = v[6],
		.alg = a->alg,
		.nc = a->nc_value,
	};
	if (slice_eq_cstr(a->qop, "auth"))
		o.qop = "auth";
	else if (slice_eq_cstr(a->qop, "auth-int"))
		o.qop = "auth-int";

	buf_init(&b, 64 * 1024);
	if (!sip_auth_print_credentials(&b, &o)) {
		must(!sip_auth_parse(buf_slice(&b), &back));
		must(back.is_digest && back.alg == a->alg);
		must(same(back.username, v[0]) && same(back.realm, v[1]) &&
		     same(back.nonce, v[2]) && same(back.uri, v[3]) &&
		     same(back.response, v[4]));
		must(!v[5] || same(back.cnonce, v[5]));
		must(!v[6] || same(back.opaque, v[6]));
		must(!o.qop || back.nc_value == a->nc_value);
	}
	buf_fini(&b);
out:
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		mem_free(v[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct slice in = slice_of((const char *)data, size);
	struct sip_auth a;
	int rc;

	if (!size || sip_auth_parse(in, &a))
		return 0;
	check_within(&a, data, size);
	if (!a.is_digest || !a.username.p || !a.realm.p || !a.nonce.p ||
	    !a.uri.p || !a.response.p)
		return 0;
	rc = sip_digest_verify(&a, fixed_ha1(a.alg), SLICE_LIT("REGISTER"),
			       SLICE_LIT("v=0\r\n"));
	must(rc == 0 || rc == -EACCES || rc == -EBADMSG);
	if (a.alg != SIP_DIGEST_UNKNOWN)
		round_trip(&a);
	return 0;
}
