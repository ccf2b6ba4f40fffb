/* SPDX-License-Identifier: BSD-3-Clause */
/* RFC 4474 signing (§5, §9): the Appendix B signatures reproduced byte
 * for byte with rsa-sha1, the derived rsa-sha256 ones, the Identity-Info
 * value, and refusals. */
#include "identity/testutil.h"

/* The raw signature inside an Identity value. */
static int sig_of(struct slice value, struct buf *sig)
{
	struct slice b64;

	if (identity_sig_parse(value, &b64))
		return -EBADMSG;
	return identity_sig_decode(b64, sig);
}

/* The Identity value of a signed Appendix B message, unfolded: the
 * folds are CRLF and the 11 spaces of indentation. */
static int rfc_identity_unfolded(const char *name, struct buf *out)
{
	struct sip_msg *m = NULL;
	const struct sip_hdr *h;
	int err = rfc_msg(name, &m);

	if (err)
		return err;
	h = sip_msg_hdr(m, SIP_HDR_IDENTITY);
	err = h ? 0 : -ENOENT;
	for (size_t i = 0; !err && i < h->value.len; i++) {
		char c = h->value.p[i];

		if (c != '\r' && c != '\n' && c != ' ')
			err = buf_append_byte(out, c);
	}
	sip_msg_free(m);
	return err;
}

/* Sign msg_name with key_name and alg; the signature must equal the file
 * sig_name and, when given, the value the RFC's signed message carries. */
static int sign_matches(const char *msg_name, const char *key_name,
			enum identity_alg alg, const char *sig_name,
			const char *identity_name)
{
	struct identity_signer *signer = NULL;
	struct sip_msg *m = NULL;
	EVP_PKEY *key = NULL;
	struct buf value, sig, want;
	int rc = -1;

	buf_init(&value, 1024);
	buf_init(&sig, 1024);
	buf_init(&want, 1024);
	if (rfc_msg(msg_name, &m) || rfc_key(key_name, &key))
		goto out;
	if (identity_sign(key, alg, m, &value))
		goto out;
	/* DQUOTE base64 DQUOTE, one line */
	if (value.len < 3 || value.p[0] != '"' ||
	    value.p[value.len - 1] != '"' || memchr(value.p, '\r', value.len) ||
	    memchr(value.p, ' ', value.len))
		goto out;
	if (sig_of(buf_slice(&value), &sig) ||
	    !rfc_equals(sig_name, sig.p, sig.len))
		goto out;
	if (identity_name) {
		if (rfc_identity_unfolded(identity_name, &want) ||
		    !slice_eq(buf_slice(&value), buf_slice(&want)))
			goto out;
	}
	/* a reusable signer gives the same value, twice over */
	if (identity_signer_new(&signer, key, alg) ||
	    !identity_signer_is_for(signer, key, alg) ||
	    identity_signer_alg(signer) != alg)
		goto out;
	for (int i = 0; i < 2; i++) {
		struct buf again;
		bool same;

		buf_init(&again, 1024);
		same = !identity_signer_sign(signer, m, &again) &&
		       slice_eq(buf_slice(&again), buf_slice(&value));
		buf_fini(&again);
		if (!same)
			goto out;
	}
	rc = 0;
out:
	identity_signer_free(signer);
	buf_fini(&want);
	buf_fini(&sig);
	buf_fini(&value);
	EVP_PKEY_free(key);
	sip_msg_free(m);
	return rc;
}

TEST(identity_sign_rfc_rsa_sha1)
{
	TEST_ASSERT(!sign_matches("invite.message", "atlanta.privkey",
				  IDENTITY_ALG_RSA_SHA1, "invite.signed",
				  "invite.identity"));
	/* bye.message has no Date: the RFC signed bye.identity's headers,
	 * with biloxi's key (the BYE goes from Bob to Alice) */
	TEST_ASSERT(!sign_matches("bye.identity", "biloxi.privkey",
				  IDENTITY_ALG_RSA_SHA1, "bye.signed",
				  "bye.identity"));
	return 0;
}

TEST(identity_sign_rfc_rsa_sha256)
{
	TEST_ASSERT(!sign_matches("invite.message", "atlanta.privkey",
				  IDENTITY_ALG_RSA_SHA256,
				  "derived/invite.rsa-sha256.signed", NULL));
	TEST_ASSERT(!sign_matches("bye.identity", "biloxi.privkey",
				  IDENTITY_ALG_RSA_SHA256,
				  "derived/bye.rsa-sha256.signed", NULL));
	/* and the two algorithms differ, so the table really switches */
	TEST_ASSERT(sign_matches("invite.message", "atlanta.privkey",
				 IDENTITY_ALG_RSA_SHA256, "invite.signed",
				 NULL));
	return 0;
}

TEST(identity_sign_alg_table)
{
	TEST_ASSERT(identity_alg_md(IDENTITY_ALG_RSA_SHA1) == EVP_sha1());
	TEST_ASSERT(identity_alg_md(IDENTITY_ALG_RSA_SHA256) == EVP_sha256());
	TEST_ASSERT(!identity_alg_md(IDENTITY_ALG_UNKNOWN));
	TEST_ASSERT(!identity_alg_md((enum identity_alg)77));
	return 0;
}

TEST(identity_sign_refusals)
{
	struct sip_msg *m = NULL, *bye = NULL;
	EVP_PKEY *key = NULL, *ec = NULL;
	struct buf value;
	int rc = -1;

	buf_init(&value, 1024);
	if (rfc_msg("invite.message", &m) || rfc_msg("bye.message", &bye) ||
	    rfc_key("atlanta.privkey", &key) ||
	    crypto_key_generate(&ec, CRYPTO_KEY_EC_P256))
		goto out;
	if (buf_append_cstr(&value, "x"))
		goto out;
	if (identity_sign(NULL, IDENTITY_ALG_RSA_SHA1, m, &value) != -EINVAL ||
	    identity_sign(key, IDENTITY_ALG_RSA_SHA1, NULL, &value) !=
		    -EINVAL ||
	    identity_sign(key, IDENTITY_ALG_RSA_SHA1, m, NULL) != -EINVAL ||
	    identity_sign(key, IDENTITY_ALG_UNKNOWN, m, &value) != -EINVAL ||
	    /* rsa-* names an RSA signature: an EC key cannot make one */
	    identity_sign(ec, IDENTITY_ALG_RSA_SHA256, m, &value) != -EINVAL)
		goto out;
	/* no Date: nothing to sign (§9) */
	if (identity_sign(key, IDENTITY_ALG_RSA_SHA1, bye, &value) != -EBADMSG)
		goto out;
	/* the value does not fit: the cap is reported, nothing appended */
	value.max = 100;
	if (identity_sign(key, IDENTITY_ALG_RSA_SHA1, m, &value) != -EMSGSIZE ||
	    value.err)
		goto out;
	if (value.len != 1 || value.p[0] != 'x')
		goto out;
	rc = 0;
out:
	buf_fini(&value);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(key);
	sip_msg_free(bye);
	sip_msg_free(m);
	return rc;
}

TEST(identity_sign_signer_refusals)
{
	struct identity_signer *s = NULL, *bad = NULL;
	struct sip_msg *m = NULL, *bye = NULL;
	EVP_PKEY *key = NULL, *ec = NULL;
	struct buf value;
	int rc = -1;

	buf_init(&value, 1024);
	if (rfc_msg("invite.message", &m) || rfc_msg("bye.message", &bye) ||
	    rfc_key("atlanta.privkey", &key) ||
	    crypto_key_generate(&ec, CRYPTO_KEY_EC_P256))
		goto out;
	if (identity_signer_new(NULL, key, IDENTITY_ALG_RSA_SHA1) != -EINVAL ||
	    identity_signer_new(&bad, NULL, IDENTITY_ALG_RSA_SHA1) != -EINVAL ||
	    identity_signer_new(&bad, key, IDENTITY_ALG_UNKNOWN) != -EINVAL ||
	    identity_signer_new(&bad, ec, IDENTITY_ALG_RSA_SHA256) != -EINVAL ||
	    bad)
		goto out;
	if (identity_signer_new(&s, key, IDENTITY_ALG_RSA_SHA1))
		goto out;
	/* the signer holds its own reference to the key */
	EVP_PKEY_free(key);
	key = NULL;
	if (identity_signer_is_for(s, key, IDENTITY_ALG_RSA_SHA1) ||
	    identity_signer_is_for(s, ec, IDENTITY_ALG_RSA_SHA1) ||
	    identity_signer_is_for(NULL, ec, IDENTITY_ALG_RSA_SHA1))
		goto out;
	if (buf_append_cstr(&value, "x"))
		goto out;
	if (identity_signer_sign(NULL, m, &value) != -EINVAL ||
	    identity_signer_sign(s, NULL, &value) != -EINVAL ||
	    identity_signer_sign(s, m, NULL) != -EINVAL)
		goto out;
	/* no Date: nothing to sign (§9) */
	if (identity_signer_sign(s, bye, &value) != -EBADMSG)
		goto out;
	/* the value does not fit: the cap is reported, nothing appended */
	value.max = 100;
	if (identity_signer_sign(s, m, &value) != -EMSGSIZE || value.err)
		goto out;
	if (value.len != 1 || value.p[0] != 'x')
		goto out;
	/* a sticky error is returned as it is */
	value.err = -ENOMEM;
	if (identity_signer_sign(s, m, &value) != -ENOMEM || value.len != 1)
		goto out;
	rc = 0;
out:
	identity_signer_free(s);
	identity_signer_free(NULL);
	buf_fini(&value);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(key);
	sip_msg_free(bye);
	sip_msg_free(m);
	return rc;
}

TEST(identity_sign_info_value)
{
	struct buf out;
	struct identity_info info;
	int rc = -1;

	buf_init(&out, 1024);
	if (identity_info_value("https://atlanta.example.com/atlanta.cer",
				IDENTITY_ALG_RSA_SHA256, &out))
		goto out;
	if (!slice_eq(buf_slice(&out),
		      SLICE_LIT("<https://atlanta.example.com/atlanta.cer>;"
				"alg=rsa-sha256")))
		goto out;
	/* what we write, our parser reads back */
	if (identity_info_parse(buf_slice(&out), &info) ||
	    identity_alg_lookup(info.alg) != IDENTITY_ALG_RSA_SHA256)
		goto out;
	buf_reset(&out);
	if (identity_info_value("https://a.example/c", IDENTITY_ALG_RSA_SHA1,
				&out) ||
	    !slice_eq(buf_slice(&out),
		      SLICE_LIT("<https://a.example/c>;alg=rsa-sha1")))
		goto out;
	buf_reset(&out);
	/* header injection and grammar breakers are API misuse */
	if (identity_info_value("https://a/c>;alg=x", IDENTITY_ALG_RSA_SHA1,
				&out) != -EINVAL ||
	    identity_info_value("https://a/c\r\nX: y", IDENTITY_ALG_RSA_SHA1,
				&out) != -EINVAL ||
	    identity_info_value("https://a/ c", IDENTITY_ALG_RSA_SHA1, &out) !=
		    -EINVAL ||
	    identity_info_value("", IDENTITY_ALG_RSA_SHA1, &out) != -EINVAL ||
	    identity_info_value("nocolon", IDENTITY_ALG_RSA_SHA1, &out) !=
		    -EINVAL ||
	    identity_info_value(NULL, IDENTITY_ALG_RSA_SHA1, &out) != -EINVAL ||
	    identity_info_value("https://a/c", IDENTITY_ALG_UNKNOWN, &out) !=
		    -EINVAL ||
	    identity_info_value("https://a/c", IDENTITY_ALG_RSA_SHA1, NULL) !=
		    -EINVAL ||
	    out.len)
		goto out;
	/* over the cap: nothing appended, the buffer still usable */
	out.max = 10;
	if (identity_info_value("https://atlanta.example.com/atlanta.cer",
				IDENTITY_ALG_RSA_SHA1, &out) != -EMSGSIZE ||
	    out.len || out.err)
		goto out;
	rc = 0;
out:
	buf_fini(&out);
	return rc;
}
