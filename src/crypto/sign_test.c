/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for sign.c against RFC 4474 Appendix B: signing the INVITE's
 * digest-string with atlanta's key gives the published rsa-sha1
 * signature and the derived rsa-sha256 one byte for byte; verification
 * with the certificate's key accepts them and refuses any change. */
#include "crypto/testutil.h"

struct rfc4474 {
	char *key, *cert, *canon, *sig1, *sig256;
	size_t key_len, cert_len, canon_len, sig1_len, sig256_len;
	EVP_PKEY *priv;
	X509 *x;
};

static void rfc4474_free(struct rfc4474 *r)
{
	mem_free_secret(r->key, r->key_len);
	mem_free(r->cert);
	mem_free(r->canon);
	mem_free(r->sig1);
	mem_free(r->sig256);
	EVP_PKEY_free(r->priv);
	X509_free(r->x);
}

static int rfc4474_load(struct rfc4474 *r)
{
	memset(r, 0, sizeof(*r));
	if (test_read_file("rfc4474/atlanta.privkey", &r->key, &r->key_len) ||
	    test_read_file("rfc4474/atlanta.cer", &r->cert, &r->cert_len) ||
	    test_read_file("rfc4474/invite.canonical", &r->canon,
			   &r->canon_len) ||
	    test_read_file("rfc4474/invite.signed", &r->sig1, &r->sig1_len) ||
	    test_read_file("rfc4474/derived/invite.rsa-sha256.signed",
			   &r->sig256, &r->sig256_len) ||
	    crypto_key_private_decode(&r->priv, CRYPTO_PEM, r->key,
				      r->key_len) ||
	    crypto_cert_from_pem(&r->x, r->cert, r->cert_len))
		return -1;
	return 0;
}

TEST(crypto_sign_rfc4474_invite)
{
	struct rfc4474 r;
	struct buf sig;
	int rc = -1;

	buf_init(&sig, 1024);
	if (rfc4474_load(&r))
		goto out;
	/* rsa-sha1 (RFC 4474 §9), the published signature */
	if (crypto_sign(r.priv, EVP_sha1(), r.canon, r.canon_len, &sig) ||
	    sig.len != r.sig1_len || memcmp(sig.p, r.sig1, sig.len))
		goto out;
	buf_reset(&sig);
	/* rsa-sha256, the derived signature; NULL md is SHA-256 too */
	if (crypto_sign(r.priv, EVP_sha256(), r.canon, r.canon_len, &sig) ||
	    sig.len != r.sig256_len || memcmp(sig.p, r.sig256, sig.len))
		goto out;
	buf_reset(&sig);
	if (crypto_sign(r.priv, NULL, r.canon, r.canon_len, &sig) ||
	    sig.len != r.sig256_len || memcmp(sig.p, r.sig256, sig.len))
		goto out;
	rc = 0;
out:
	rfc4474_free(&r);
	buf_fini(&sig);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_verify_rfc4474_invite)
{
	struct rfc4474 r;
	EVP_PKEY *pub;
	int rc = -1;

	if (rfc4474_load(&r))
		goto out;
	pub = X509_get0_pubkey(r.x);
	if (!pub ||
	    crypto_verify(pub, EVP_sha1(), r.canon, r.canon_len, r.sig1,
			  r.sig1_len) ||
	    crypto_verify(pub, EVP_sha256(), r.canon, r.canon_len, r.sig256,
			  r.sig256_len))
		goto out;
	/* one flipped byte in the signature, anywhere */
	for (size_t i = 0; i < r.sig1_len; i++) {
		r.sig1[i] ^= 0x40;
		if (crypto_verify(pub, EVP_sha1(), r.canon, r.canon_len, r.sig1,
				  r.sig1_len) != -EBADMSG) {
			TEST_FAIL_AT("flipped signature byte %zu", i);
			goto out;
		}
		r.sig1[i] ^= 0x40;
	}
	/* one flipped byte in the digest-string */
	r.canon[r.canon_len / 2] ^= 0x01;
	if (crypto_verify(pub, EVP_sha1(), r.canon, r.canon_len, r.sig1,
			  r.sig1_len) != -EBADMSG)
		goto out;
	r.canon[r.canon_len / 2] ^= 0x01;
	/* the other digest, a truncated or empty signature */
	if (crypto_verify(pub, EVP_sha256(), r.canon, r.canon_len, r.sig1,
			  r.sig1_len) != -EBADMSG ||
	    crypto_verify(pub, EVP_sha1(), r.canon, r.canon_len, r.sig1,
			  r.sig1_len - 1) != -EBADMSG ||
	    crypto_verify(pub, EVP_sha1(), r.canon, r.canon_len, r.sig1, 0) !=
		    -EBADMSG)
		goto out;
	/* the private key verifies too; a digest-string shorter by one
	 * byte does not */
	if (crypto_verify(r.priv, EVP_sha1(), r.canon, r.canon_len, r.sig1,
			  r.sig1_len) ||
	    crypto_verify(r.priv, EVP_sha1(), r.canon, r.canon_len - 1, r.sig1,
			  r.sig1_len) != -EBADMSG)
		goto out;
	rc = 0;
out:
	rfc4474_free(&r);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_sign_ec_round_trip)
{
	EVP_PKEY *k = NULL, *other = NULL;
	struct buf sig;
	int rc = -1;

	buf_init(&sig, 1024);
	if (crypto_key_generate(&k, CRYPTO_KEY_EC_P256) ||
	    crypto_key_generate(&other, CRYPTO_KEY_EC_P256) ||
	    crypto_sign(k, NULL, "data", 4, &sig) ||
	    crypto_verify(k, NULL, "data", 4, sig.p, sig.len) ||
	    crypto_verify(k, NULL, "date", 4, sig.p, sig.len) != -EBADMSG ||
	    crypto_verify(other, NULL, "data", 4, sig.p, sig.len) != -EBADMSG)
		goto out;
	/* garbage that is not even a DER ECDSA signature */
	if (crypto_verify(k, NULL, "data", 4, "xyz", 3) != -EBADMSG)
		goto out;
	/* an empty message signs and verifies */
	buf_reset(&sig);
	if (crypto_sign(k, EVP_sha256(), NULL, 0, &sig) ||
	    crypto_verify(k, EVP_sha256(), NULL, 0, sig.p, sig.len))
		goto out;
	rc = 0;
out:
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	buf_fini(&sig);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_sign_failures)
{
	struct rfc4474 r;
	struct buf small;
	EVP_PKEY *pub = NULL;
	struct buf der;
	int rc = -1;

	buf_init(&small, 64);
	buf_init(&der, 4096);
	if (rfc4474_load(&r) || buf_append_cstr(&small, "sig:"))
		goto out;
	/* a 128-byte signature does not fit in 64: buffer untouched */
	if (crypto_sign(r.priv, EVP_sha1(), r.canon, r.canon_len, &small) !=
		    -EMSGSIZE ||
	    small.len != 4 || small.err)
		goto out;
	small.err = -ENOMEM;
	if (crypto_sign(r.priv, EVP_sha1(), "x", 1, &small) != -ENOMEM)
		goto out;
	small.err = 0;
	/* signing needs the private key */
	if (crypto_key_public_encode(r.priv, CRYPTO_DER, &der) ||
	    crypto_key_public_decode(&pub, CRYPTO_DER, der.p, der.len) ||
	    crypto_sign(pub, EVP_sha1(), "x", 1, &small) != -EPROTO ||
	    small.len != 4)
		goto out;
	if (crypto_sign(NULL, NULL, "x", 1, &small) != -EINVAL ||
	    crypto_sign(r.priv, NULL, NULL, 1, &small) != -EINVAL ||
	    crypto_sign(r.priv, NULL, "x", 1, NULL) != -EINVAL ||
	    crypto_verify(NULL, NULL, "x", 1, "s", 1) != -EINVAL ||
	    crypto_verify(pub, NULL, NULL, 1, "s", 1) != -EINVAL ||
	    crypto_verify(pub, NULL, "x", 1, NULL, 1) != -EINVAL)
		goto out;
	rc = 0;
out:
	EVP_PKEY_free(pub);
	rfc4474_free(&r);
	buf_fini(&small);
	buf_fini(&der);
	TEST_EQ_INT(rc, 0);
	return 0;
}
