/* SPDX-License-Identifier: BSD-3-Clause */
/* Key pairs: generation (RFC 6072 §10.6: RSA-2048 by default, fresh
 * randomness per RFC 4086 from OpenSSL's DRBG), and PEM/DER encoding of
 * private (PKCS#8) and public (SubjectPublicKeyInfo) keys. */
#include "crypto/priv.h"

#include <string.h>

#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>

int crypto_key_generate(EVP_PKEY **out, enum crypto_key_type t)
{
	EVP_PKEY *k;

	if (!out)
		return -EINVAL;
	switch (t) {
	case CRYPTO_KEY_RSA2048:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case CRYPTO_KEY_RSA3072:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case CRYPTO_KEY_EC_P256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	default:
		return crypto_errorf(-EINVAL, "unknown key type %d", (int)t);
	}
	if (!k)
		return crypto_fail("key generation");
	*out = k;
	return 0;
}

static const char *format_name(enum crypto_format f)
{
	switch (f) {
	case CRYPTO_PEM:
		return "PEM";
	case CRYPTO_DER:
		return "DER";
	}
	return NULL;
}

static int encode(EVP_PKEY *k, enum crypto_format f, int selection,
		  const char *structure, struct buf *out)
{
	OSSL_ENCODER_CTX *ectx;
	struct crypto_mark m;
	unsigned char *data = NULL;
	size_t len = 0;
	int err;

	if (!k || !out || !format_name(f))
		return -EINVAL;
	err = crypto_mark_take(out, &m);
	if (err)
		return err;
	ectx = OSSL_ENCODER_CTX_new_for_pkey(k, selection, format_name(f),
					     structure, NULL);
	if (!ectx || !OSSL_ENCODER_CTX_get_num_encoders(ectx)) {
		err = crypto_errorf(-EINVAL, "no %s %s encoder for this key",
				    format_name(f), structure);
		goto out;
	}
	if (!OSSL_ENCODER_to_data(ectx, &data, &len)) {
		err = crypto_fail("key encoding");
		goto out;
	}
	err = buf_append(out, data, len);
out:
	if (data)
		OPENSSL_clear_free(data, len);
	OSSL_ENCODER_CTX_free(ectx);
	if (err)
		crypto_mark_undo(out, &m);
	return err;
}

int crypto_key_private_encode(EVP_PKEY *k, enum crypto_format f,
			      struct buf *out)
{
	return encode(k, f, EVP_PKEY_KEYPAIR, "PrivateKeyInfo", out);
}

int crypto_key_public_encode(EVP_PKEY *k, enum crypto_format f, struct buf *out)
{
	return encode(k, f, EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo", out);
}

/* Refuse to decrypt: a pass phrase belongs to the PKCS#8 code, and a
 * library must never prompt on a terminal. */
static int no_passphrase(char *buf, size_t size, size_t *len,
			 const OSSL_PARAM params[], void *arg)
{
	(void)buf;
	(void)size;
	(void)params;
	(void)arg;
	*len = 0;
	return 0;
}

static int decode(EVP_PKEY **out, enum crypto_format f, int selection,
		  const char *structure, const void *data, size_t len)
{
	OSSL_DECODER_CTX *dctx;
	EVP_PKEY *k = NULL;
	const unsigned char *p = data;
	size_t left = len;
	int err = 0;

	if (!out || !format_name(f) || (!data && len))
		return -EINVAL;
	dctx = OSSL_DECODER_CTX_new_for_pkey(&k, format_name(f), structure,
					     NULL, selection, NULL, NULL);
	if (!dctx ||
	    !OSSL_DECODER_CTX_set_passphrase_cb(dctx, no_passphrase, NULL)) {
		err = crypto_fail("key decoder");
		goto out;
	}
	if (!len || !OSSL_DECODER_from_data(dctx, &p, &left) || !k) {
		err = crypto_fail_code(-EBADMSG, "not a usable key");
		goto out;
	}
	/* DER must be exactly one key; PEM text may go on after END */
	if (f == CRYPTO_DER && left) {
		err = crypto_errorf(-EBADMSG, "%zu bytes after the DER key",
				    left);
		goto out;
	}
	*out = k;
	k = NULL;
out:
	EVP_PKEY_free(k);
	OSSL_DECODER_CTX_free(dctx);
	return err;
}

int crypto_key_private_decode(EVP_PKEY **out, enum crypto_format f,
			      const void *data, size_t len)
{
	/* structure NULL: PKCS#8 and the traditional PKCS#1 / SEC1 forms */
	return decode(out, f, EVP_PKEY_KEYPAIR, NULL, data, len);
}

int crypto_key_public_decode(EVP_PKEY **out, enum crypto_format f,
			     const void *data, size_t len)
{
	return decode(out, f, EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo", data,
		      len);
}

static int save(EVP_PKEY *k, enum crypto_format f, const char *path,
		bool is_private)
{
	struct buf b;
	int err;

	if (!path)
		return -EINVAL;
	buf_init(&b, CRYPTO_KEY_FILE_MAX_BYTES);
	b.is_secret = is_private;
	err = is_private ? crypto_key_private_encode(k, f, &b)
			 : crypto_key_public_encode(k, f, &b);
	if (!err)
		err = crypto_file_write_atomic(path, b.p, b.len,
					       is_private ? 0600 : 0644);
	buf_fini(&b);
	return err;
}

int crypto_key_private_save(EVP_PKEY *k, enum crypto_format f, const char *path)
{
	return save(k, f, path, true);
}

int crypto_key_public_save(EVP_PKEY *k, enum crypto_format f, const char *path)
{
	return save(k, f, path, false);
}

static int load(EVP_PKEY **out, enum crypto_format f, const char *path,
		bool is_private)
{
	struct buf b;
	int err;

	if (!out || !path)
		return -EINVAL;
	buf_init(&b, CRYPTO_KEY_FILE_MAX_BYTES);
	b.is_secret = is_private;
	err = crypto_file_read(path, CRYPTO_KEY_FILE_MAX_BYTES, &b);
	if (!err)
		err = is_private ? crypto_key_private_decode(out, f, b.p, b.len)
				 : crypto_key_public_decode(out, f, b.p, b.len);
	buf_fini(&b);
	return err;
}

int crypto_key_private_load(EVP_PKEY **out, enum crypto_format f,
			    const char *path)
{
	return load(out, f, path, true);
}

int crypto_key_public_load(EVP_PKEY **out, enum crypto_format f,
			   const char *path)
{
	return load(out, f, path, false);
}
