/* SPDX-License-Identifier: BSD-3-Clause */
/* Digest authentication for SIP (RFC 3261 §22.4, §25.1; RFC 2617 §3;
 * RFC 7616 §3.3-3.5; RFC 8760): challenge and credentials parsing and
 * printing, HA1, the request-digest, and constant-time verification. */
#include "sip.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

/* ---- algorithms (RFC 7616 §3.2, RFC 8760 §2.2) --------------------------- */

static const struct digest_alg {
	const char *name;     /* the algorithm= token */
	const char *evp_name; /* for EVP_MD_fetch */
	size_t hex_len;
	bool is_sess;
} algs[] = {
	[SIP_DIGEST_MD5] = {"MD5", "MD5", 32, false},
	[SIP_DIGEST_MD5_SESS] = {"MD5-sess", "MD5", 32, true},
	[SIP_DIGEST_SHA256] = {"SHA-256", "SHA256", 64, false},
	[SIP_DIGEST_SHA256_SESS] = {"SHA-256-sess", "SHA256", 64, true},
	[SIP_DIGEST_SHA512_256] = {"SHA-512-256", "SHA512-256", 64, false},
	[SIP_DIGEST_SHA512_256_SESS] = {"SHA-512-256-sess", "SHA512-256", 64,
					true},
};

static const struct digest_alg *alg_find(enum sip_digest_alg alg)
{
	if ((unsigned)alg >= ARRAY_SIZE(algs))
		return NULL;
	return &algs[alg];
}

/* Algorithm names are case-insensitive (RFC 7616 §3.3). */
enum sip_digest_alg sip_digest_alg_lookup(struct slice name)
{
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (slice_caseeq_cstr(name, algs[i].name))
			return (enum sip_digest_alg)i;
	return SIP_DIGEST_UNKNOWN;
}

const char *sip_digest_alg_name(enum sip_digest_alg alg)
{
	const struct digest_alg *a = alg_find(alg);

	return a ? a->name : NULL;
}

/* ---- parsing (RFC 3261 §25.1 challenge / credentials, RFC 7235 §2.1) ----- */

/* The parameters sipcert reads; any other auth-param is skipped. */
enum {
	AP_REALM,
	AP_NONCE,
	AP_OPAQUE,
	AP_ALGORITHM,
	AP_QOP,
	AP_DOMAIN,
	AP_STALE,
	AP_USERNAME,
	AP_URI,
	AP_RESPONSE,
	AP_CNONCE,
	AP_NC,
	AP_USERHASH,
};

static const struct {
	const char *name;
	size_t off;
} auth_params[] = {
	[AP_REALM] = {"realm", offsetof(struct sip_auth, realm)},
	[AP_NONCE] = {"nonce", offsetof(struct sip_auth, nonce)},
	[AP_OPAQUE] = {"opaque", offsetof(struct sip_auth, opaque)},
	[AP_ALGORITHM] = {"algorithm", offsetof(struct sip_auth, algorithm)},
	[AP_QOP] = {"qop", offsetof(struct sip_auth, qop)},
	[AP_DOMAIN] = {"domain", offsetof(struct sip_auth, domain)},
	[AP_STALE] = {"stale", offsetof(struct sip_auth, stale)},
	[AP_USERNAME] = {"username", offsetof(struct sip_auth, username)},
	[AP_URI] = {"uri", offsetof(struct sip_auth, uri)},
	[AP_RESPONSE] = {"response", offsetof(struct sip_auth, response)},
	[AP_CNONCE] = {"cnonce", offsetof(struct sip_auth, cnonce)},
	[AP_NC] = {"nc", offsetof(struct sip_auth, nc)},
	[AP_USERHASH] = {"userhash", offsetof(struct sip_auth, userhash)},
};

/* The row of auth_params named name (case-insensitive), or -1: the
 * length and one letter leave a single candidate to compare. */
static int auth_param_find(struct slice name)
{
	int i, c;

	if (name.len < 2)
		return -1;
	c = char_lower((unsigned char)name.p[0]);
	switch (name.len) {
	case 2:
		i = AP_NC;
		break;
	case 3:
		i = c == 'q' ? AP_QOP : AP_URI;
		break;
	case 5:
		i = c == 'r' ? AP_REALM : c == 'n' ? AP_NONCE : AP_STALE;
		break;
	case 6:
		i = c == 'o' ? AP_OPAQUE : c == 'd' ? AP_DOMAIN : AP_CNONCE;
		break;
	case 8:
		if (c == 'r')
			i = AP_RESPONSE;
		else if (char_lower((unsigned char)name.p[4]) == 'n')
			i = AP_USERNAME;
		else
			i = AP_USERHASH;
		break;
	case 9:
		i = AP_ALGORITHM;
		break;
	default:
		return -1;
	}
	return mem_caseeq(name.p, auth_params[i].name, name.len) ? i : -1;
}

static int auth_param_set(struct sip_auth *a, struct slice name,
			  struct slice value)
{
	int i = auth_param_find(name);
	struct slice *dst;

	if (i < 0)
		return 0;
	dst = (struct slice *)(void *)((char *)a + auth_params[i].off);
	/* RFC 7235 §2.1: each parameter name MUST only occur once */
	if (dst->p)
		return -EBADMSG;
	*dst = value;
	return 0;
}

/* RFC 3261 §25.1: nonce-count = "nc" EQUAL nc-value; nc-value = 8LHEX.
 * Upper-case hex is read too: the value is a number. */
static int nc_parse(struct slice v, uint32_t *out)
{
	uint32_t n = 0;

	if (v.len != 8)
		return -EBADMSG;
	for (size_t i = 0; i < 8; i++) {
		int d = hex_val((unsigned char)v.p[i]);

		if (d < 0)
			return -EBADMSG;
		n = n << 4 | (uint32_t)d;
	}
	*out = n;
	return 0;
}

/* auth-param = token EQUAL ( token / quoted-string ). A quoted value is
 * the text between the quotes with any quoted-pair left as written: the
 * slice cannot drop the backslashes without a copy, and the digest values
 * of RFC 7616 (hex, base64, URIs, host names) never carry one. */
static const char *token_end(const char *p, const char *end)
{
	while (p < end && char_is_token((unsigned char)*p))
		p++;
	return p;
}

/* One auth-param at p; returns the octet after it, or NULL. */
static const char *auth_param_next(const char *p, const char *end,
				   struct slice *name, struct slice *value)
{
	const char *q = token_end(p, end), *v;

	if (q == p)
		return NULL;
	*name = slice_of(p, (size_t)(q - p));
	/* EQUAL = SWS "=" SWS */
	q = scan_skip_sws(q, end);
	if (q >= end || *q != '=')
		return NULL;
	v = scan_skip_sws(q + 1, end);
	if (v < end && *v == '"') {
		q = scan_quoted_end(v, end);
		if (!q)
			return NULL;
		*value = slice_of(v + 1, (size_t)(q - v - 2));
	} else {
		q = token_end(v, end);
		if (q == v)
			return NULL;
		*value = slice_of(v, (size_t)(q - v));
	}
	return q;
}

int sip_auth_parse(struct slice v, struct sip_auth *out)
{
	struct sip_auth a = {0};
	const char *p, *q, *end;

	if (!out || (!v.p && v.len))
		return -EINVAL;
	if (!v.p)
		return -EBADMSG;
	end = v.p + v.len;
	/* challenge = ("Digest" LWS digest-cln *(COMMA digest-cln))
	 *             / other-challenge; credentials alike */
	p = scan_skip_sws(v.p, end);
	q = token_end(p, end);
	if (q == p)
		return -EBADMSG;
	a.scheme = slice_of(p, (size_t)(q - p));
	a.is_digest = slice_caseeq_cstr(a.scheme, "Digest");
	p = scan_skip_sws(q, end);
	if (p < end) {
		if (p == q) /* LWS after the scheme */
			return -EBADMSG;
		for (;;) {
			struct slice name, value;

			p = auth_param_next(p, end, &name, &value);
			if (!p || auth_param_set(&a, name, value))
				return -EBADMSG;
			/* COMMA = SWS "," SWS, or the end after SWS */
			p = scan_skip_sws(p, end);
			if (p == end)
				break;
			if (*p != ',')
				return -EBADMSG;
			p = scan_skip_sws(p + 1, end);
		}
	}

	if (!a.is_digest) {
		/* another scheme's params are indexed, not interpreted */
		a.alg = SIP_DIGEST_UNKNOWN;
	} else {
		/* RFC 7616 §3.3: without algorithm, MD5 is assumed */
		a.alg = a.algorithm.p ? sip_digest_alg_lookup(a.algorithm)
				      : SIP_DIGEST_MD5;
		if (a.nc.p && nc_parse(a.nc, &a.nc_value))
			return -EBADMSG;
	}
	*out = a;
	return 0;
}

/* ---- hashing ------------------------------------------------------------- */

/* H(p[0] ":" p[1] ":" ... ) as lower-case hex into out (hex_len + 1). */
static int hash_join(EVP_MD_CTX *ctx, const EVP_MD *md, const struct slice *p,
		     size_t n, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int d_len = 0;
	int ok;

	ok = EVP_DigestInit_ex(ctx, md, NULL);
	for (size_t i = 0; ok && i < n; i++) {
		if (i)
			ok = EVP_DigestUpdate(ctx, ":", 1);
		if (ok && p[i].len)
			ok = EVP_DigestUpdate(ctx, p[i].p, p[i].len);
	}
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, d, &d_len);
	if (ok)
		hex_encode(out, d, d_len);
	OPENSSL_cleanse(d, sizeof(d));
	return ok ? 0 : -EPROTO;
}

struct hasher {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

static int hasher_init(struct hasher *h, const struct digest_alg *a)
{
	h->md = EVP_MD_fetch(NULL, a->evp_name, NULL);
	h->ctx = EVP_MD_CTX_new();
	if (!h->md || !h->ctx) {
		/* an absent provider (MD5 outside the default one) or
		 * OpenSSL's own allocation failure */
		ERR_clear_error();
		EVP_MD_CTX_free(h->ctx);
		EVP_MD_free(h->md);
		return -EPROTO;
	}
	return 0;
}

static void hasher_fini(struct hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
}

int sip_digest_ha1(enum sip_digest_alg alg, struct slice username,
		   struct slice realm, struct slice password,
		   char out[SIP_DIGEST_HEX_MAX + 1])
{
	const struct digest_alg *a = alg_find(alg);
	const struct slice p[] = {username, realm, password};
	char hex[SIP_DIGEST_HEX_MAX + 1];
	struct hasher h;
	int err;

	if (!a || !out)
		return -EINVAL;
	err = hasher_init(&h, a);
	if (err)
		return err;
	/* RFC 7616 §3.4.2: A1 = unq(username) ":" unq(realm) ":" passwd;
	 * for -sess the session step runs per request, in the response */
	err = hash_join(h.ctx, h.md, p, ARRAY_SIZE(p), hex);
	hasher_fini(&h);
	if (!err)
		memcpy(out, hex, a->hex_len + 1);
	OPENSSL_cleanse(hex, sizeof(hex));
	return err;
}

/* Copy hex of exactly len digits into out lower-cased: HA1 and response
 * compare and hash as lower-case hex (RFC 7616 §3.4.1). */
static int hex_lower(struct slice in, size_t len, char *out)
{
	if (in.len != len)
		return -EBADMSG;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in.p[i];

		if (!char_is_hex(c))
			return -EBADMSG;
		out[i] = (char)(c >= 'A' && c <= 'F' ? c + 32 : c);
	}
	out[len] = '\0';
	return 0;
}

static bool qop_is(struct slice qop, const char *name)
{
	return slice_caseeq_cstr(qop, name);
}

/* RFC 7616 §3.4.1 (RFC 2617 §3.2.2.1):
 *   with qop:    H(HA1:nonce:nc:cnonce:qop:HA2)
 *   without qop: H(HA1:nonce:HA2), the RFC 2069 form
 * HA2 = H(method:uri), or H(method:uri:H(body)) for qop=auth-int, and for
 * the -sess algorithms HA1 is first replaced by H(HA1:nonce:cnonce). */
static int response_compute(struct hasher *h, const struct digest_alg *a,
			    const struct sip_digest_input *in, char *out)
{
	char ha1[SIP_DIGEST_HEX_MAX + 1];
	char ha2[SIP_DIGEST_HEX_MAX + 1];
	char hbody[SIP_DIGEST_HEX_MAX + 1];
	const struct slice ha1_s = slice_of(ha1, a->hex_len);
	const struct slice ha2_s = slice_of(ha2, a->hex_len);
	bool is_int = qop_is(in->qop, "auth-int");
	int err = -EINVAL;

	if (hex_lower(slice_cstr(in->ha1), a->hex_len, ha1))
		goto out;
	if (a->is_sess) {
		const struct slice p[] = {ha1_s, in->nonce, in->cnonce};

		err = hash_join(h->ctx, h->md, p, ARRAY_SIZE(p), ha1);
		if (err)
			goto out;
	}
	if (is_int) {
		const struct slice p[] = {in->method, in->uri,
					  slice_of(hbody, a->hex_len)};

		err = hash_join(h->ctx, h->md, &in->body, 1, hbody);
		if (!err)
			err = hash_join(h->ctx, h->md, p, ARRAY_SIZE(p), ha2);
	} else {
		const struct slice p[] = {in->method, in->uri};

		err = hash_join(h->ctx, h->md, p, ARRAY_SIZE(p), ha2);
	}
	if (err)
		goto out;
	if (in->qop.len) {
		const struct slice p[] = {ha1_s,      in->nonce, in->nc,
					  in->cnonce, in->qop,	 ha2_s};

		err = hash_join(h->ctx, h->md, p, ARRAY_SIZE(p), out);
	} else {
		const struct slice p[] = {ha1_s, in->nonce, ha2_s};

		err = hash_join(h->ctx, h->md, p, ARRAY_SIZE(p), out);
	}
out:
	OPENSSL_cleanse(ha1, sizeof(ha1));
	return err;
}

int sip_digest_response(const struct sip_digest_input *in,
			char out[SIP_DIGEST_HEX_MAX + 1])
{
	const struct digest_alg *a;
	char hex[SIP_DIGEST_HEX_MAX + 1];
	struct hasher h;
	int err;

	if (!in || !out || !in->ha1)
		return -EINVAL;
	a = alg_find(in->alg);
	if (!a)
		return -EINVAL;
	/* RFC 7616 §3.4: with a qop, cnonce and nc MUST be sent; the
	 * -sess HA1 needs the cnonce too */
	if (in->qop.len && !qop_is(in->qop, "auth") &&
	    !qop_is(in->qop, "auth-int"))
		return -EINVAL;
	if ((in->qop.len && (!in->cnonce.p || !in->nc.len)) ||
	    (a->is_sess && !in->cnonce.p))
		return -EINVAL;
	err = hasher_init(&h, a);
	if (err)
		return err;
	err = response_compute(&h, a, in, hex);
	hasher_fini(&h);
	if (!err)
		memcpy(out, hex, a->hex_len + 1);
	OPENSSL_cleanse(hex, sizeof(hex));
	return err;
}

/* -EBADMSG covers what cannot be checked as well as what is malformed: an
 * unknown algorithm, a qop other than auth or auth-int, a response that is
 * not hex of the algorithm's length. Comparing the digest-uri with the
 * Request-URI (RFC 3261 §22.4 item 8 / RFC 2617 §3.2.2.5) and the nonce
 * with the one issued is the caller's job. */
int sip_digest_verify(const struct sip_auth *cred, const char *ha1,
		      struct slice method, struct slice body)
{
	const struct digest_alg *a;
	char want[SIP_DIGEST_HEX_MAX + 1];
	char got[SIP_DIGEST_HEX_MAX + 1];
	struct sip_digest_input in;
	int err;

	if (!cred || !ha1)
		return -EINVAL;
	if (!cred->is_digest || !cred->username.p || !cred->nonce.p ||
	    !cred->uri.p || !cred->response.p)
		return -EBADMSG;
	a = alg_find(cred->alg);
	if (!a)
		return -EBADMSG;
	if (strlen(ha1) != a->hex_len)
		return -EINVAL; /* an HA1 stored for another algorithm */
	if (cred->qop.p &&
	    ((!qop_is(cred->qop, "auth") && !qop_is(cred->qop, "auth-int")) ||
	     !cred->cnonce.p || !cred->nc.p))
		return -EBADMSG;
	if (a->is_sess && !cred->cnonce.p)
		return -EBADMSG;
	if (hex_lower(cred->response, a->hex_len, got))
		return -EBADMSG;

	in = (struct sip_digest_input){
		.alg = cred->alg,
		.ha1 = ha1,
		.nonce = cred->nonce,
		.cnonce = cred->cnonce,
		.nc = cred->nc,
		.qop = cred->qop,
		.method = method,
		.uri = cred->uri,
		.body = body,
	};
	err = sip_digest_response(&in, want);
	if (!err && CRYPTO_memcmp(want, got, a->hex_len))
		err = -EACCES;
	OPENSSL_cleanse(want, sizeof(want));
	return err;
}

/* ---- printing (RFC 7616 §3.3, §3.4; RFC 3261 §25.1) ---------------------- */

/* A value printed inside quotes: sipcert never needs quoted-pair, so a
 * quote, backslash or control character is the caller's mistake. */
static bool quotable(const char *v)
{
	if (!v)
		return false;
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static int print_end(struct buf *b, size_t start)
{
	if (b->err) {
		b->len = start; /* nothing half-written stays behind */
		return b->err;
	}
	return 0;
}

int sip_auth_print_challenge(struct buf *b,
			     const struct sip_challenge_opts *opts)
{
	const struct digest_alg *a;
	size_t start;

	if (!b || !opts || !quotable(opts->realm) || !quotable(opts->nonce) ||
	    (opts->opaque && !quotable(opts->opaque)))
		return -EINVAL;
	a = alg_find(opts->alg);
	if (!a)
		return -EINVAL;
	start = b->len;
	(void)buf_printf(b, "Digest realm=\"%s\", nonce=\"%s\"", opts->realm,
			 opts->nonce);
	if (opts->opaque)
		(void)buf_printf(b, ", opaque=\"%s\"", opts->opaque);
	/* algorithm is a token; qop-options is a quoted list (RFC 3261
	 * §25.1, RFC 7616 §3.3) */
	(void)buf_printf(b, ", algorithm=%s", a->name);
	if (opts->qop_auth)
		(void)buf_append_cstr(b, ", qop=\"auth\"");
	/* RFC 7616 §3.3: stale=false is the same as leaving it out */
	if (opts->stale)
		(void)buf_append_cstr(b, ", stale=true");
	return print_end(b, start);
}

int sip_auth_print_credentials(struct buf *b,
			       const struct sip_credentials_opts *opts)
{
	const struct digest_alg *a;
	size_t start;

	if (!b || !opts || !quotable(opts->username) ||
	    !quotable(opts->realm) || !quotable(opts->nonce) ||
	    !quotable(opts->uri) || !quotable(opts->response) ||
	    (opts->opaque && !quotable(opts->opaque)))
		return -EINVAL;
	a = alg_find(opts->alg);
	if (!a)
		return -EINVAL;
	if (opts->qop &&
	    ((strcmp(opts->qop, "auth") && strcmp(opts->qop, "auth-int")) ||
	     !quotable(opts->cnonce)))
		return -EINVAL;
	if (a->is_sess && !quotable(opts->cnonce))
		return -EINVAL;
	start = b->len;
	(void)buf_printf(b,
			 "Digest username=\"%s\", realm=\"%s\", "
			 "nonce=\"%s\", uri=\"%s\", response=\"%s\", "
			 "algorithm=%s",
			 opts->username, opts->realm, opts->nonce, opts->uri,
			 opts->response, a->name);
	if (opts->cnonce)
		(void)buf_printf(b, ", cnonce=\"%s\"", opts->cnonce);
	/* RFC 7616 §3.4: qop and nc are unquoted; nc is 8 hex digits */
	if (opts->qop)
		(void)buf_printf(b, ", qop=%s, nc=%08x", opts->qop,
				 (unsigned)opts->nc);
	if (opts->opaque)
		(void)buf_printf(b, ", opaque=\"%s\"", opts->opaque);
	return print_end(b, start);
}
