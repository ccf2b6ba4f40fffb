/* SPDX-License-Identifier: BSD-3-Clause */
/* AES key wrap (RFC 3394 §2.2) and AES key wrap with padding (RFC 5649
 * §4), through OpenSSL's wrap ciphers with their default initial values:
 * the key-encryption algorithm of RFC 6072 §10.5's PKCS#8 profile. */
#include "crypto/priv.h"

#include <assert.h>

#include <openssl/crypto.h>

enum {
	SEMIBLOCK = 8,
	/* far above any key; keeps every length inside an int */
	WRAP_MAX_BYTES = 16 * 1024 * 1024,
};

static const char *cipher_name(size_t kek_len, bool is_pad)
{
	switch (kek_len) {
	case 16:
		return is_pad ? "AES-128-WRAP-PAD" : "AES-128-WRAP";
	case 24:
		return is_pad ? "AES-192-WRAP-PAD" : "AES-192-WRAP";
	case 32:
		return is_pad ? "AES-256-WRAP-PAD" : "AES-256-WRAP";
	}
	return NULL;
}

/* Is len a possible input? Wrapping: RFC 3394 §2 wants n >= 2 64-bit
 * blocks, RFC 5649 §4.1 any length of at least one octet. Unwrapping:
 * the output of those, so n + 1 semiblocks (RFC 5649 §4.2: n >= 1). */
static bool len_ok(size_t len, bool is_pad, bool is_wrap)
{
	if (len > WRAP_MAX_BYTES)
		return false;
	if (is_wrap)
		return is_pad ? len >= 1 : len >= 16 && len % SEMIBLOCK == 0;
	return len % SEMIBLOCK == 0 && len >= (is_pad ? 16u : 24u);
}

static int wrap_run(const void *kek, size_t kek_len, const void *in, size_t len,
		    struct buf *out, bool is_pad, bool is_wrap)
{
	const char *name = cipher_name(kek_len, is_pad);
	/* wrapping adds one semiblock and pads to a semiblock */
	size_t room = len + 2 * SEMIBLOCK;
	EVP_CIPHER *c = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *tmp = NULL;
	int n = 0, fin = 0, err = 0;

	if (!kek || !out || (len && !in) || !name)
		return -EINVAL;
	if (out->err)
		return out->err;
	if (!len_ok(len, is_pad, is_wrap))
		return is_wrap ? crypto_errorf(-EINVAL, "cannot wrap %zu bytes",
					       len)
			       : crypto_errorf(-EBADMSG,
					       "wrapped key of %zu bytes", len);
	tmp = mem_alloc(room);
	if (!tmp)
		return -ENOMEM;
	c = EVP_CIPHER_fetch(NULL, name, NULL);
	ctx = EVP_CIPHER_CTX_new();
	if (!c || !ctx) {
		err = crypto_fail(name);
		goto out;
	}
	/* OpenSSL refuses wrap modes in EVP unless asked for them */
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (!EVP_CipherInit_ex(ctx, c, NULL, kek, NULL, is_wrap)) {
		err = crypto_fail(name);
		goto out;
	}
	/* one update does the whole wrap; the integrity check of the unwrap
	 * (RFC 3394 §2.2.3, RFC 5649 §3 AIV and padding) fails it */
	if (EVP_CipherUpdate(ctx, tmp, &n, in, (int)len) <= 0 ||
	    EVP_CipherFinal_ex(ctx, tmp + n, &fin) <= 0) {
		err = is_wrap ? crypto_fail(name)
			      : crypto_errorf(-EBADMSG,
					      "%s: integrity check failed "
					      "(wrong key or damaged data)",
					      name);
		goto out;
	}
	assert((size_t)n + (size_t)fin <= room);
	err = buf_append(out, tmp, (size_t)n + (size_t)fin);
	if (err)
		out->err = 0; /* leave out as it was (crypto.h) */
out:
	mem_free_secret(tmp, room);
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	return err;
}

int crypto_aes_key_wrap(const void *kek, size_t kek_len, const void *in,
			size_t len, struct buf *out)
{
	return wrap_run(kek, kek_len, in, len, out, false, true);
}

int crypto_aes_key_wrap_pad(const void *kek, size_t kek_len, const void *in,
			    size_t len, struct buf *out)
{
	return wrap_run(kek, kek_len, in, len, out, true, true);
}

int crypto_aes_key_unwrap(const void *kek, size_t kek_len, const void *in,
			  size_t len, struct buf *out)
{
	return wrap_run(kek, kek_len, in, len, out, false, false);
}

int crypto_aes_key_unwrap_pad(const void *kek, size_t kek_len, const void *in,
			      size_t len, struct buf *out)
{
	return wrap_run(kek, kek_len, in, len, out, true, false);
}
