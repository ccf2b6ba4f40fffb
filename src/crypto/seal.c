/* SPDX-License-Identifier: BSD-3-Clause */
/* Private keys at rest: AES-256-GCM under the KEK (NIST SP 800-38D), as a
 * versioned blob: version (1) | nonce (12) | ciphertext | tag (16). The
 * version byte is authenticated with the caller's aad. */
#include "crypto/priv.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

enum {
	CHUNK_BYTES = 4096,
	/* far above any key; keeps every length inside an int */
	SEAL_MAX_BYTES = 64 * 1024 * 1024,
};

static int gcm_start(EVP_CIPHER_CTX **ctxp, bool is_encrypt,
		     const struct crypto_kek *k, const unsigned char *nonce,
		     const void *aad, size_t aad_len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	const unsigned char version = CRYPTO_SEAL_VERSION;
	int n;

	if (!ctx ||
	    !EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL,
			       is_encrypt) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
				 CRYPTO_SEAL_NONCE_BYTES, NULL) ||
	    !EVP_CipherInit_ex(ctx, NULL, NULL, k->key, nonce, is_encrypt) ||
	    !EVP_CipherUpdate(ctx, NULL, &n, &version, 1) ||
	    (aad_len && !EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len))) {
		EVP_CIPHER_CTX_free(ctx);
		return crypto_fail("AES-256-GCM");
	}
	*ctxp = ctx;
	return 0;
}

/* Run the cipher over in, appending the output to out in chunks. */
static int gcm_update(EVP_CIPHER_CTX *ctx, const unsigned char *in, size_t len,
		      struct buf *out)
{
	unsigned char chunk[CHUNK_BYTES];
	int n, err = 0;

	while (!err && len) {
		size_t step = len < sizeof(chunk) ? len : sizeof(chunk);

		if (!EVP_CipherUpdate(ctx, chunk, &n, in, (int)step)) {
			err = crypto_fail("AES-256-GCM");
			break;
		}
		err = buf_append(out, chunk, (size_t)n);
		in += step;
		len -= step;
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	return err;
}

static int check_args(const struct crypto_kek *k, const void *aad,
		      size_t aad_len, const void *data, size_t len,
		      struct buf *out)
{
	if (!k || !out || (aad_len && !aad) || (len && !data))
		return -EINVAL;
	if (len > SEAL_MAX_BYTES || aad_len > SEAL_MAX_BYTES)
		return -EMSGSIZE;
	return out->err;
}

int crypto_seal(const struct crypto_kek *k, const void *aad, size_t aad_len,
		const void *plain, size_t len, struct buf *out)
{
	unsigned char nonce[CRYPTO_SEAL_NONCE_BYTES];
	unsigned char tag[CRYPTO_SEAL_TAG_BYTES];
	const char version = CRYPTO_SEAL_VERSION;
	EVP_CIPHER_CTX *ctx = NULL;
	struct crypto_mark m;
	int n, err;

	err = check_args(k, aad, aad_len, plain, len, out);
	if (err)
		return err;
	(void)crypto_mark_take(out, &m);
	/* random 96-bit nonces: safe for 2^32 blobs per KEK (SP 800-38D
	 * §8.3), far more private keys than a domain will ever store */
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return crypto_fail("nonce");
	err = gcm_start(&ctx, true, k, nonce, aad, aad_len);
	if (err)
		return err;
	err = buf_append(out, &version, 1);
	if (!err)
		err = buf_append(out, nonce, sizeof(nonce));
	if (!err)
		err = gcm_update(ctx, plain, len, out);
	if (err)
		goto out;
	if (!EVP_EncryptFinal_ex(ctx, tag, &n) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, sizeof(tag), tag)) {
		err = crypto_fail("AES-256-GCM");
		goto out;
	}
	err = buf_append(out, tag, sizeof(tag));
out:
	EVP_CIPHER_CTX_free(ctx);
	if (err)
		crypto_mark_undo(out, &m);
	return err;
}

int crypto_unseal(const struct crypto_kek *k, const void *aad, size_t aad_len,
		  const void *blob, size_t len, struct buf *out)
{
	const unsigned char *p = blob;
	unsigned char tag[CRYPTO_SEAL_TAG_BYTES];
	unsigned char last[16];
	EVP_CIPHER_CTX *ctx = NULL;
	struct crypto_mark m;
	size_t ct_len;
	int n = 0, err;

	err = check_args(k, aad, aad_len, blob, len, out);
	if (err)
		return err;
	if (len < CRYPTO_SEAL_OVERHEAD)
		return crypto_errorf(-EBADMSG, "sealed blob truncated");
	if (p[0] != CRYPTO_SEAL_VERSION)
		return crypto_errorf(-EBADMSG, "sealed blob version %u unknown",
				     p[0]);
	(void)crypto_mark_take(out, &m);
	ct_len = len - CRYPTO_SEAL_OVERHEAD;
	memcpy(tag, p + len - sizeof(tag), sizeof(tag));
	err = gcm_start(&ctx, false, k, p + 1, aad, aad_len);
	if (err)
		return err;
	err = gcm_update(ctx, p + 1 + CRYPTO_SEAL_NONCE_BYTES, ct_len, out);
	if (err)
		goto out;
	if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, sizeof(tag), tag)) {
		err = crypto_fail("AES-256-GCM");
		goto out;
	}
	/* the plaintext appended so far is released only if the tag holds;
	 * otherwise crypto_mark_undo() wipes it */
	if (EVP_DecryptFinal_ex(ctx, last, &n) != 1)
		err = crypto_errorf(-EBADMSG, "sealed blob does not "
					      "authenticate (wrong KEK, aad, "
					      "or tampered)");
out:
	OPENSSL_cleanse(last, sizeof(last));
	EVP_CIPHER_CTX_free(ctx);
	if (err)
		crypto_mark_undo(out, &m);
	return err;
}
