/* SPDX-License-Identifier: BSD-3-Clause */
/* The RFC 4474 authentication service's output (§5, §9): the Identity
 * value (the signed digest-string in quoted base64), the Identity-Info
 * value, and the digest table behind the alg parameter. */
#include "identity.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>

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
static int quote_b64(struct buf *out, const void *sig, size_t sig_len)
{
	unsigned char b64[IDENTITY_SIG_MAX_B64 + 1];
	int n;

	if (sig_len > IDENTITY_SIG_MAX_BYTES)
		return -EMSGSIZE;
	n = EVP_EncodeBlock(b64, sig, (int)sig_len);
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
	err = quote_b64(identity_value, sig.p, sig.len);
out:
	if (err) {
		identity_value->len = len0;
		identity_value->err = err0;
	}
	buf_fini(&sig);
	buf_fini(&digest);
	return err;
}

/* ---- a reusable signer ----------------------------------------------- */

struct identity_signer {
	EVP_PKEY *key; /* referenced */
	enum identity_alg alg;
	EVP_MD *md;	    /* fetched once, not at every message */
	EVP_PKEY_CTX *pctx; /* initialised for signing, reused */
};

void identity_signer_free(struct identity_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_CTX_free(s->pctx);
	EVP_MD_free(s->md);
	EVP_PKEY_free(s->key);
	mem_free(s);
}

int identity_signer_new(struct identity_signer **out, EVP_PKEY *key,
			enum identity_alg alg)
{
	const EVP_MD *md = identity_alg_md(alg);
	struct identity_signer *s;
	int err = 0;

	if (!out || !key || !md || !EVP_PKEY_is_a(key, "RSA") ||
	    EVP_PKEY_get_size(key) <= 0 ||
	    EVP_PKEY_get_size(key) > IDENTITY_SIG_MAX_BYTES)
		return -EINVAL;
	s = mem_zalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (!EVP_PKEY_up_ref(key)) {
		mem_free(s);
		return -EPROTO;
	}
	s->key = key;
	s->alg = alg;
	s->md = EVP_MD_fetch(NULL, EVP_MD_get0_name(md), NULL);
	s->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	/* §9: RSA PKCS#1 v1.5 over the digest, as EVP_DigestSign with the
	 * same padding and digest does it: the same signature bytes */
	if (!s->md || !s->pctx || EVP_PKEY_sign_init(s->pctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(s->pctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(s->pctx, s->md) != 1)
		err = -EPROTO;
	if (err) {
		identity_signer_free(s);
		return err;
	}
	*out = s;
	return 0;
}

bool identity_signer_is_for(const struct identity_signer *s,
			    const EVP_PKEY *key, enum identity_alg alg)
{
	return s && s->key == key && s->alg == alg;
}

enum identity_alg identity_signer_alg(const struct identity_signer *s)
{
	return s->alg;
}

int identity_signer_sign(struct identity_signer *s, const struct sip_msg *m,
			 struct buf *identity_value)
{
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned char sig[IDENTITY_SIG_MAX_BYTES];
	unsigned dlen = 0;
	size_t sig_len = sizeof(sig), len0;
	struct buf digest;
	int err, err0;

	if (!s || !m || !identity_value)
		return -EINVAL;
	if (identity_value->err)
		return identity_value->err;
	len0 = identity_value->len;
	err0 = identity_value->err;
	buf_init(&digest, DIGEST_STRING_MAX_BYTES);
	/* the body may be a credential (RFC 6072 §7.4): wiped when freed */
	digest.is_secret = true;
	err = identity_digest_string(m, &digest);
	if (err)
		goto out;
	if (EVP_Digest(digest.p, digest.len, dgst, &dlen, s->md, NULL) != 1 ||
	    EVP_PKEY_sign(s->pctx, sig, &sig_len, dgst, dlen) != 1) {
		err = crypto_fail("signature");
		goto out;
	}
	err = quote_b64(identity_value, sig, sig_len);
out:
	if (err) {
		identity_value->len = len0;
		identity_value->err = err0;
	}
	OPENSSL_cleanse(dgst, sizeof(dgst));
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
