/* SPDX-License-Identifier: BSD-3-Clause */
/* The RFC 4474 §9 header grammars: Identity-Info (certificate URI and alg)
 * and Identity (the quoted base64 signature), with its decoding. */
#include "identity.h"

#include <string.h>

#include <openssl/evp.h>

#include "sip/sip.h"

/* ---- Identity-Info ------------------------------------------------------- */

/* The characters an absoluteURI can hold (RFC 3261 §25.1: reserved,
 * unreserved, escaped), i.e. visible ASCII but the delimiters "<", ">" and
 * DQUOTE. sip_uri_parse() then checks the structure. */
static bool is_uri_char(int c)
{
	return c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != '"';
}

static bool is_token(struct slice v)
{
	if (!v.len)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!char_is_token((unsigned char)v.p[i]))
			return false;
	return true;
}

/* Identity-Info = ident-info *( SEMI ident-info-params );
 * ident-info = LAQUOT absoluteURI RAQUOT;
 * ident-info-params = ident-info-alg / ident-info-extension;
 * ident-info-alg = "alg" EQUAL token; ident-info-extension = generic-param.
 * LAQUOT = SWS "<" and RAQUOT = ">" SWS (RFC 3261 §25.1). */
int identity_info_parse(struct slice v, struct identity_info *out)
{
	struct scan s = scan_of(v);
	struct identity_info info = {0};
	struct slice name, value;
	struct sip_uri uri;
	const char *params_start;
	int err;

	scan_sws(&s);
	if (scan_char(&s, '<') || scan_span(&s, is_uri_char, &info.uri) ||
	    scan_char(&s, '>'))
		return -EBADMSG;
	if (sip_uri_parse(info.uri, &uri))
		return -EBADMSG;
	scan_sws(&s);
	params_start = s.p;
	while ((err = sip_param_next(&s, &name, &value)) == 0) {
		if (!slice_caseeq_cstr(name, "alg"))
			continue;
		/* two algs would let a verifier and an attacker disagree on
		 * which one the signer meant */
		if (info.alg.p || !is_token(value))
			return -EBADMSG;
		info.alg = value;
	}
	/* Identity-Info is a single value: a ',' is an error, not a list */
	if (err != -ENOENT || scan_end(&s))
		return -EBADMSG;
	info.params = slice_trim(
		slice_of(params_start, (size_t)(s.p - params_start)));
	*out = info;
	return 0;
}

/* ---- Identity ------------------------------------------------------------ */

/* RFC 4474 §9: base64-char = ALPHA / DIGIT / "/" / "+" */
static bool is_b64_char(int c)
{
	return char_is_alpha(c) || char_is_digit(c) || c == '/' || c == '+';
}

/* Walk a digest: base64 characters, "=" and LWS (folds included), up to
 * the closing quote or the end. *n counts the characters that are not
 * white space. Stops at the first other character, which the caller
 * judges; returns -EMSGSIZE past the cap. */
static int scan_digest(struct scan *s, size_t *n)
{
	size_t count = 0;

	while (!scan_done(s)) {
		int c = scan_peek(s);

		if (is_b64_char(c) || c == '=') {
			if (++count > IDENTITY_SIG_MAX_B64)
				return -EMSGSIZE;
			s->p++;
		} else if (scan_lws(s)) {
			break;
		}
	}
	*n = count;
	return 0;
}

/* Identity = signed-identity-digest; signed-identity-digest = LDQUOT
 * *base64-char RDQUOT. LWS inside the quotes is outside that grammar, but
 * the RFC's own example (§10, Appendix B) folds there, and RFC 3261 §7.3.1
 * makes a fold equal to SP, so white space is allowed between the base64
 * characters and removed by identity_sig_decode(). */
int identity_sig_parse(struct slice v, struct slice *b64)
{
	struct scan s = scan_of(v);
	struct slice inside;
	const char *start;
	size_t n;
	int err;

	scan_sws(&s);
	if (scan_char(&s, '"'))
		return -EBADMSG;
	start = s.p;
	err = scan_digest(&s, &n);
	if (err)
		return err;
	inside = slice_of(start, (size_t)(s.p - start));
	if (scan_char(&s, '"') || scan_end(&s) || !n)
		return -EBADMSG;
	*b64 = inside;
	return 0;
}

/* RFC 4648 §4 value of a base64 character. */
static int b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : 63;
}

/* Checks that OpenSSL's decoder does not make: "=" only as the last one
 * or two characters, and zero bits under the padding (RFC 4648 §3.5), so
 * one signature has exactly one spelling. */
static int b64_canonical(const char *p, size_t len, size_t *pad)
{
	size_t np = 0;

	if (!len || len % 4)
		return -EBADMSG;
	while (np < 2 && p[len - 1 - np] == '=')
		np++;
	if (memchr(p, '=', len - np))
		return -EBADMSG;
	if (np == 1 && (b64_val((unsigned char)p[len - 2]) & 0x03))
		return -EBADMSG;
	if (np == 2 && (b64_val((unsigned char)p[len - 3]) & 0x0f))
		return -EBADMSG;
	*pad = np;
	return 0;
}

int identity_sig_decode(struct slice b64, struct buf *out)
{
	/* the compacted text and its decoding both fit on the stack: the
	 * cap is checked before either is written past */
	char text[IDENTITY_SIG_MAX_B64];
	unsigned char sig[IDENTITY_SIG_MAX_B64 / 4 * 3];
	struct scan s = scan_of(b64);
	size_t len = 0, pad;
	int n;

	if (!out)
		return -EINVAL;
	while (!scan_done(&s)) {
		int c = scan_peek(&s);

		if (is_b64_char(c) || c == '=') {
			if (len == IDENTITY_SIG_MAX_B64)
				return -EMSGSIZE;
			text[len++] = (char)c;
			s.p++;
		} else if (scan_lws(&s)) {
			return -EBADMSG;
		}
	}
	if (b64_canonical(text, len, &pad))
		return -EBADMSG;
	/* EVP_DecodeBlock() counts the padding as zero bytes */
	n = EVP_DecodeBlock(sig, (const unsigned char *)text, (int)len);
	if (n < 0 || (size_t)n != len / 4 * 3)
		return -EBADMSG;
	n -= (int)pad;
	if (n > IDENTITY_SIG_MAX_BYTES)
		return -EMSGSIZE;
	return buf_append(out, sig, (size_t)n);
}

/* ---- algorithms ---------------------------------------------------------- */

static const struct {
	enum identity_alg alg;
	const char *name;
} algs[] = {
	/* RSA PKCS#1 v1.5 signatures over the digest-string of RFC 4474
	 * §9 with the named hash */
	{IDENTITY_ALG_RSA_SHA1, "rsa-sha1"},
	{IDENTITY_ALG_RSA_SHA256, "rsa-sha256"},
};

enum identity_alg identity_alg_lookup(struct slice alg)
{
	/* without an alg parameter, RFC 4474's own rsa-sha1 is meant */
	if (!alg.p)
		return IDENTITY_ALG_RSA_SHA1;
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (slice_caseeq_cstr(alg, algs[i].name))
			return algs[i].alg;
	return IDENTITY_ALG_UNKNOWN;
}

const char *identity_alg_name(enum identity_alg alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return NULL;
}
