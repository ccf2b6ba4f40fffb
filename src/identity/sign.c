/* SPDX-License-Identifier: BSD-3-Clause */
/* The RFC 4474 authentication service's output (§5, §9): the Identity
 * value (the signed digest-string in quoted base64), the Identity-Info
 * value, and the digest table behind the alg parameter. */
#include "identity.h"

#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "sip/sip.h"

/* Room for any digest-string of a message sipcert accepts: the header
 * parts come from a message of at most SIP_MAX_MSG_BYTES, and so does the
 * body, even one passed apart from the message. */
enum { DIGEST_STRING_MAX_BYTES = 2 * SIP_MAX_MSG_BYTES };

/* Adding an algorithm (RFC 8224) is adding a row here and in hdr.c. */
static const struct alg_row {
	enum identity_alg alg;
	const EVP_MD *(*md)(void);
} alg_rows[] = {
	/* §9: rsa-sha1, RSA PKCS#1 v1.5 over SHA-1 (the RFC's default) */
	{IDENTITY_ALG_RSA_SHA1, EVP_sha1},
	{IDENTITY_ALG_RSA_SHA256, EVP_sha256},
};

const EVP_MD *identity_alg_md(enum identity_alg alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(alg_rows); i++)
		if (alg_rows[i].alg == alg)
			return alg_rows[i].md();
	return NULL;
}

/* Append DQUOTE base64(sig) DQUOTE (RFC 4474 §9 signed-identity-digest;
 * unfolded: a serializer may fold it, a verifier unfolds). */
static int quote_b64(struct buf *out, const struct buf *sig)
{
	unsigned char b64[IDENTITY_SIG_MAX_B64 + 1];
	int n;

	if (sig->len > IDENTITY_SIG_MAX_BYTES)
		return -EMSGSIZE;
	n = EVP_EncodeBlock(b64, (const unsigned char *)sig->p, (int)sig->len);
	if (n < 0)
		return -EPROTO;
	if (buf_append_byte(out, '"') || buf_append(out, b64, (size_t)n) ||
	    buf_append_byte(out, '"'))
		return out->err;
	return 0;
}

int identity_sign(EVP_PKEY *key, enum identity_alg alg, const struct sip_msg *m,
		  struct buf *identity_value)
{
	const EVP_MD *md = identity_alg_md(alg);
	struct buf digest, sig;
	size_t len0;
	int err, err0;

	if (!key || !m || !identity_value || !md || !EVP_PKEY_is_a(key, "RSA"))
		return -EINVAL;
	if (identity_value->err)
		return identity_value->err;
	len0 = identity_value->len;
	err0 = identity_value->err;
	buf_init(&digest, DIGEST_STRING_MAX_BYTES);
	/* the body may be a credential (RFC 6072 §7.4): wiped when freed */
	digest.is_secret = true;
	buf_init(&sig, IDENTITY_SIG_MAX_BYTES);
	err = identity_digest_string(m, &digest);
	if (err)
		goto out;
	err = crypto_sign(key, md, digest.p, digest.len, &sig);
	if (err)
		goto out;
	err = quote_b64(identity_value, &sig);
out:
	if (err) {
		identity_value->len = len0;
		identity_value->err = err0;
	}
	buf_fini(&sig);
	buf_fini(&digest);
	return err;
}

/* The octets an absoluteURI inside LAQUOT/RAQUOT may hold. */
static bool is_info_uri_char(int c)
{
	return c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != '"';
}

int identity_info_value(const char *url, enum identity_alg alg, struct buf *out)
{
	const char *name = identity_alg_name(alg);
	struct sip_uri uri;
	size_t len0;
	int err, err0;

	if (!url || !*url || !name || !out)
		return -EINVAL;
	for (const char *p = url; *p; p++)
		if (!is_info_uri_char((unsigned char)*p))
			return -EINVAL;
	if (sip_uri_parse(slice_cstr(url), &uri))
		return -EINVAL;
	if (out->err)
		return out->err;
	len0 = out->len;
	err0 = out->err;
	/* RFC 4474 §9: ident-info = LAQUOT absoluteURI RAQUOT, then the
	 * alg always, so no verifier has to rely on the default */
	err = buf_printf(out, "<%s>;alg=%s", url, name);
	if (err) {
		out->len = len0;
		out->err = err0;
	}
	return err;
}
