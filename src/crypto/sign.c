/* SPDX-License-Identifier: BSD-3-Clause */
/* Signatures through EVP_DigestSign/EVP_DigestVerify (STYLE.md B5, never
 * RSA_*): RSA PKCS#1 v1.5 with SHA-1 or SHA-256 for RFC 4474 §9 rsa-sha1
 * and rsa-sha256, and whatever else the key type signs with. */
#include "crypto/priv.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

static int sign_start(EVP_MD_CTX **ctxp, EVP_PKEY *key, const EVP_MD *md,
		      bool is_sign)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (!ctx)
		return crypto_fail("EVP_MD_CTX");
	/* EdDSA signs the message itself, with no separate digest */
	if (!md && !EVP_PKEY_is_a(key, "ED25519") &&
	    !EVP_PKEY_is_a(key, "ED448"))
		md = EVP_sha256();
	ok = is_sign ? EVP_DigestSignInit(ctx, &pctx, md, NULL, key)
		     : EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key);
	if (ok == 1 && EVP_PKEY_is_a(key, "RSA"))
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING);
	if (ok != 1) {
		EVP_MD_CTX_free(ctx);
		return crypto_fail(is_sign ? "signature setup"
					   : "verification setup");
	}
	*ctxp = ctx;
	return 0;
}

int crypto_sign(EVP_PKEY *key, const EVP_MD *md, const void *data, size_t len,
		struct buf *sig)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *s = NULL;
	size_t n = 0;
	int err;

	if (!key || !sig || (len && !data))
		return -EINVAL;
	if (sig->err)
		return sig->err;
	err = sign_start(&ctx, key, md, true);
	if (err)
		return err;
	if (EVP_DigestSign(ctx, NULL, &n, data, len) != 1) {
		err = crypto_fail("signature");
		goto out;
	}
	s = mem_alloc(n);
	if (!s) {
		err = -ENOMEM;
		goto out;
	}
	if (EVP_DigestSign(ctx, s, &n, data, len) != 1) {
		err = crypto_fail("signature");
		goto out;
	}
	err = buf_append(sig, s, n);
	if (err)
		sig->err = 0;
out:
	mem_free(s);
	EVP_MD_CTX_free(ctx);
	return err;
}

int crypto_verify(EVP_PKEY *key, const EVP_MD *md, const void *data, size_t len,
		  const void *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = NULL;
	int err, rc;

	if (!key || (len && !data) || (sig_len && !sig))
		return -EINVAL;
	err = sign_start(&ctx, key, md, false);
	if (err)
		return err;
	/* 0 is a wrong signature; below 0 a malformed one (bad length,
	 * bad encoding): both are a signature that does not verify */
	rc = EVP_DigestVerify(ctx, sig, sig_len, data, len);
	if (rc != 1)
		err = crypto_fail_code(-EBADMSG, "signature does not verify");
	EVP_MD_CTX_free(ctx);
	return err;
}
