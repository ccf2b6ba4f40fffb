/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for smime.c: signed-then-enveloped bodies (RFC 8551 §3.6) round
 * trip for RSA and EC keys, the wrong recipient, damaged and truncated
 * ciphertext, forged inner signatures, malformed inner entities, and
 * interoperation with `openssl cms` both ways. */
#include <stdio.h>
#include <sys/wait.h>

#include <openssl/cms.h>

#include "crypto/testutil.h"

/* TEST_ASSERT and TEST_EQ_INT that go to the test's cleanup. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			TEST_FAIL_AT("assertion failed: %s (%s)", #cond,       \
				     crypto_last_error());                     \
			goto out;                                              \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_) {                                                \
			TEST_FAIL_AT("%s == %lld, expected %lld (%s)", #a, a_, \
				     b_, crypto_last_error());                 \
			goto out;                                              \
		}                                                              \
	} while (0)

enum { BODY_MAX = 256 * 1024 };

static const char inner[] = "Content-Type: text/plain; charset=utf-8\r\n"
			    "\r\n"
			    "Hello, Bob";

static const char signed_head[] =
	"Content-Type: application/pkcs7-mime; smime-type=signed-data; "
	"name=smime.p7m\r\n"
	"Content-Transfer-Encoding: binary\r\n"
	"\r\n";

/* 2.16.840.1.101.3.4.1.2 aes128-CBC, whole TLV */
static const unsigned char oid_aes128_cbc[] = {
	0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02};

struct party {
	EVP_PKEY *k;
	X509 *x;
};

static int party_make(struct party *p, const char *aor,
		      enum crypto_key_type type)
{
	p->k = NULL;
	p->x = NULL;
	return crypto_user_cred_new(aor,
				    &(struct crypto_user_cred_opts){
					    .type = type,
					    .days = 30,
				    },
				    &p->k, &p->x);
}

static void party_free(struct party *p)
{
	EVP_PKEY_free(p->k);
	X509_free(p->x);
	p->k = NULL;
	p->x = NULL;
}

static long find(const void *hay, size_t len, const void *needle, size_t n)
{
	const char *h = hay;

	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (!memcmp(h + i, needle, n))
			return (long)i;
	return -1;
}

/* The type of the first RecipientInfo of a DER EnvelopedData, or -1. */
static int recipient_type(const struct buf *der)
{
	const unsigned char *p = (const unsigned char *)der->p;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)der->len);
	int t = -1;

	if (!cms)
		return -1;
	if (sk_CMS_RecipientInfo_num(CMS_get0_RecipientInfos(cms)) == 1)
		t = CMS_RecipientInfo_type(sk_CMS_RecipientInfo_value(
			CMS_get0_RecipientInfos(cms), 0));
	CMS_ContentInfo_free(cms);
	return t;
}

/* Seal from a to b, open as b: the inner entity comes back after what
 * was already in the output, and the signer is a's certificate. */
static int round_trip(struct party *a, struct party *b, int want_ri_type)
{
	struct buf der, out;
	X509 *signer = NULL;
	int rc = -1;

	buf_init(&der, BODY_MAX);
	buf_init(&out, BODY_MAX);
	CHECK_EQ(crypto_smime_seal(inner, sizeof(inner) - 1, a->k, a->x, b->x,
				   &der),
		 0);
	CHECK_EQ(recipient_type(&der), want_ri_type);
	/* RFC 8551 §2.7: AES-128 CBC content encryption */
	CHECK(find(der.p, der.len, oid_aes128_cbc, sizeof(oid_aes128_cbc)) > 0);
	/* nothing of the plaintext shows */
	CHECK(find(der.p, der.len, "Hello", 5) < 0);
	CHECK_EQ(buf_append_cstr(&out, "before|"), 0);
	CHECK_EQ(crypto_smime_open(der.p, der.len, b->k, b->x, &out, &signer),
		 0);
	CHECK(out.len == 7 + sizeof(inner) - 1 &&
	      !memcmp(out.p, "before|", 7) &&
	      !memcmp(out.p + 7, inner, sizeof(inner) - 1));
	CHECK(signer);
	CHECK_EQ(X509_cmp(signer, a->x), 0);
	rc = 0;
out:
	X509_free(signer);
	buf_fini(&der);
	buf_fini(&out);
	return rc;
}

TEST(crypto_smime_round_trip_rsa)
{
	struct party a = {0}, b = {0};
	int rc = -1;

	if (party_make(&a, "sip:alice@example.com", CRYPTO_KEY_RSA2048) ||
	    party_make(&b, "sip:bob@example.org", CRYPTO_KEY_RSA2048))
		goto out;
	rc = round_trip(&a, &b, CMS_RECIPINFO_TRANS);
	/* and the other way round */
	if (!rc)
		rc = round_trip(&b, &a, CMS_RECIPINFO_TRANS);
out:
	party_free(&a);
	party_free(&b);
	return rc;
}

TEST(crypto_smime_round_trip_ec)
{
	struct party c = {0}, d = {0}, r = {0};
	int rc = -1;

	if (party_make(&c, "sip:carol@example.com", CRYPTO_KEY_EC_P256) ||
	    party_make(&d, "sip:dave@example.org", CRYPTO_KEY_EC_P256) ||
	    party_make(&r, "sip:rita@example.net", CRYPTO_KEY_RSA2048))
		goto out;
	/* RFC 5753 key agreement for an EC recipient */
	rc = round_trip(&c, &d, CMS_RECIPINFO_AGREE);
	/* mixed: an RSA sender to an EC recipient and back */
	if (!rc)
		rc = round_trip(&r, &d, CMS_RECIPINFO_AGREE);
	if (!rc)
		rc = round_trip(&c, &r, CMS_RECIPINFO_TRANS);
out:
	party_free(&c);
	party_free(&d);
	party_free(&r);
	return rc;
}

/* An empty entity is still a body that can be sealed. */
TEST(crypto_smime_empty_inner)
{
	struct party a = {0};
	struct buf der, out;
	X509 *signer = NULL;
	int rc = -1;

	buf_init(&der, BODY_MAX);
	buf_init(&out, BODY_MAX);
	CHECK_EQ(party_make(&a, "sip:alice@example.com", CRYPTO_KEY_EC_P256),
		 0);
	CHECK_EQ(crypto_smime_seal(NULL, 0, a.k, a.x, a.x, &der), 0);
	CHECK_EQ(crypto_smime_open(der.p, der.len, a.k, a.x, &out, &signer), 0);
	CHECK_EQ(out.len, 0);
	CHECK_EQ(X509_cmp(signer, a.x), 0);
	rc = 0;
out:
	X509_free(signer);
	party_free(&a);
	buf_fini(&der);
	buf_fini(&out);
	return rc;
}

/* A failed open leaves out and signer as they were. */
static bool untouched(const struct buf *out, X509 *signer)
{
	return out->len == 3 && !memcmp(out->p, "abc", 3) && !out->err &&
	       !signer;
}

TEST(crypto_smime_wrong_recipient)
{
	struct party a = {0}, b = {0}, c = {0}, e = {0};
	struct buf der, out;
	X509 *signer = NULL;
	int rc = -1;

	buf_init(&der, BODY_MAX);
	buf_init(&out, BODY_MAX);
	(void)buf_append_cstr(&out, "abc");
	if (party_make(&a, "sip:alice@example.com", CRYPTO_KEY_RSA2048) ||
	    party_make(&b, "sip:bob@example.org", CRYPTO_KEY_RSA2048) ||
	    party_make(&c, "sip:carol@example.com", CRYPTO_KEY_EC_P256) ||
	    party_make(&e, "sip:erin@example.com", CRYPTO_KEY_EC_P256))
		goto out;
	CHECK_EQ(crypto_smime_seal(inner, sizeof(inner) - 1, a.k, a.x, b.x,
				   &der),
		 0);
	/* not for carol, nor for alice who sent it */
	CHECK_EQ(crypto_smime_open(der.p, der.len, c.k, c.x, &out, &signer),
		 -EACCES);
	CHECK(untouched(&out, signer));
	CHECK_EQ(crypto_smime_open(der.p, der.len, a.k, a.x, &out, &signer),
		 -EACCES);
	CHECK(untouched(&out, signer));
	/* bob's certificate with someone else's key */
	CHECK_EQ(crypto_smime_open(der.p, der.len, a.k, b.x, &out, &signer),
		 -EACCES);
	CHECK(untouched(&out, signer));
	/* key agreement: for erin, not carol */
	buf_reset(&der);
	CHECK_EQ(crypto_smime_seal(inner, sizeof(inner) - 1, c.k, c.x, e.x,
				   &der),
		 0);
	CHECK_EQ(crypto_smime_open(der.p, der.len, c.k, c.x, &out, &signer),
		 -EACCES);
	CHECK(untouched(&out, signer));
	rc = 0;
out:
	party_free(&a);
	party_free(&b);
	party_free(&c);
	party_free(&e);
	buf_fini(&der);
	buf_fini(&out);
	return rc;
}

/* The length of the encrypted content of a DER EnvelopedData, which is
 * its last part; 0 when it has none. */
static size_t ciphertext_len(const struct buf *der)
{
	const unsigned char *p = (const unsigned char *)der->p;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)der->len);
	ASN1_OCTET_STRING **ct = cms ? CMS_get0_content(cms) : NULL;
	size_t n = ct && *ct ? (size_t)ASN1_STRING_length(*ct) : 0;

	CMS_ContentInfo_free(cms);
	return n;
}

/* A failed open leaves out and signer alone, and one that succeeds gives
 * exactly what was sealed, signed by whom it was. Some octets outside the
 * ciphertext nothing protects or reads (version numbers, the content
 * type, parameters OpenSSL ignores); inside it, CBC turns a flip into a
 * random block, which in the signed entity's header fields can, rarely,
 * still parse. */
static bool flip_ok(int err, const struct buf *out, X509 *signer, X509 *sender)
{
	if (err == -EBADMSG || err == -EACCES || err == -EPERM)
		return untouched(out, signer);
	return !err && signer && !X509_cmp(signer, sender) &&
	       out->len == 3 + sizeof(inner) - 1 &&
	       !memcmp(out->p + 3, inner, sizeof(inner) - 1);
}

/* Every strict prefix, a trailing octet, and octets flipped all through
 * the body: each open fails with a code from the interface and leaves
 * out and signer alone, or gives exactly what was sealed; and a flip in
 * the ciphertext, even in the signer's certificate, which the signature
 * does not cover, almost never goes unnoticed. */
static int damage_sweep(struct party *a, struct party *b)
{
	struct buf der, out;
	X509 *signer = NULL;
	size_t ct_at, unnoticed = 0;
	int rc = -1, err;

	buf_init(&der, BODY_MAX);
	buf_init(&out, BODY_MAX);
	(void)buf_append_cstr(&out, "abc");
	CHECK_EQ(crypto_smime_seal(inner, sizeof(inner) - 1, a->k, a->x, b->x,
				   &der),
		 0);
	CHECK(ciphertext_len(&der) > 256);
	ct_at = der.len - ciphertext_len(&der);
	for (size_t n = 0; n < der.len; n++) {
		err = crypto_smime_open(der.p, n, b->k, b->x, &out, &signer);
		if (err != -EBADMSG || !untouched(&out, signer)) {
			TEST_FAIL_AT("prefix of %zu: %d", n, err);
			goto out;
		}
	}
	CHECK_EQ(buf_append_byte(&der, 0), 0);
	CHECK_EQ(crypto_smime_open(der.p, der.len, b->k, b->x, &out, &signer),
		 -EBADMSG);
	der.len--;
	for (size_t i = 0; i < der.len; i += 1 + (i >= ct_at) * (i % 5)) {
		der.p[i] ^= 0x01;
		err = crypto_smime_open(der.p, der.len, b->k, b->x, &out,
					&signer);
		der.p[i] ^= 0x01;
		if (!err && i >= ct_at)
			unnoticed++;
		if (!flip_ok(err, &out, signer, a->x)) {
			TEST_FAIL_AT("octet %zu flipped (ciphertext at %zu): "
				     "%d",
				     i, ct_at, err);
			goto out;
		}
		X509_free(signer);
		signer = NULL;
		out.len = 3;
	}
	/* about one in 300 flips in the header block of the entity, a few
	 * of the hundreds made */
	CHECK(unnoticed <= 2);
	CHECK_EQ(crypto_smime_open(der.p, der.len, b->k, b->x, &out, &signer),
		 0);
	rc = 0;
out:
	X509_free(signer);
	buf_fini(&der);
	buf_fini(&out);
	return rc;
}

TEST(crypto_smime_damaged)
{
	struct party a = {0}, b = {0}, c = {0};
	int rc = -1;

	if (party_make(&a, "sip:alice@example.com", CRYPTO_KEY_RSA2048) ||
	    party_make(&b, "sip:bob@example.org", CRYPTO_KEY_RSA2048) ||
	    party_make(&c, "sip:carol@example.com", CRYPTO_KEY_EC_P256))
		goto out;
	rc = damage_sweep(&a, &b);
	if (!rc)
		rc = damage_sweep(&a, &c);
out:
	party_free(&a);
	party_free(&b);
	party_free(&c);
	return rc;
}

/* ---- sealing by hand, to put what seal never makes inside ------------ */

/* The DER SignedData over content by key with cert as the signer's
 * certificate; extra (when not NULL) goes in the certificate set instead
 * of cert. */
static int sign_der(const char *content, EVP_PKEY *key, X509 *cert, X509 *extra,
		    unsigned flags, struct buf *out)
{
	BIO *in = BIO_new_mem_buf(content, (int)strlen(content));
	CMS_ContentInfo *sd = NULL;
	unsigned char *der = NULL;
	int n, err = -1;

	if (!in)
		return -1;
	sd = CMS_sign(cert, key, NULL, in,
		      CMS_BINARY | flags | (extra ? CMS_NOCERTS : 0));
	if (sd && (!extra || CMS_add1_cert(sd, extra))) {
		n = i2d_CMS_ContentInfo(sd, &der);
		if (n > 0)
			err = buf_append(out, der, (size_t)n);
	}
	OPENSSL_free(der);
	CMS_ContentInfo_free(sd);
	BIO_free(in);
	return err;
}

/* Envelope any entity for the recipient, as seal does. */
static int envelope(const void *entity, size_t len, X509 *to, struct buf *out)
{
	BIO *in = BIO_new_mem_buf(entity, (int)len);
	STACK_OF(X509) *recips = sk_X509_new_null();
	CMS_ContentInfo *ed = NULL;
	unsigned char *der = NULL;
	int n, err = -1;

	if (in && recips && sk_X509_push(recips, to))
		ed = CMS_encrypt(recips, in, EVP_aes_128_cbc(), CMS_BINARY);
	if (ed) {
		n = i2d_CMS_ContentInfo(ed, &der);
		if (n > 0)
			err = buf_append(out, der, (size_t)n);
	}
	OPENSSL_free(der);
	CMS_ContentInfo_free(ed);
	sk_X509_free(recips);
	BIO_free(in);
	return err;
}

/* head, then body, enveloped for b and opened by b: the result. */
static int open_entity(const char *head, const struct buf *body,
		       struct party *b, struct buf *out, X509 **signer)
{
	struct buf e, der;
	int err = -1;

	buf_init(&e, BODY_MAX);
	buf_init(&der, BODY_MAX);
	if (!buf_append_cstr(&e, head) &&
	    (!body || !buf_append(&e, body->p, body->len)) &&
	    !envelope(e.p, e.len, b->x, &der))
		err = crypto_smime_open(der.p, der.len, b->k, b->x, out,
					signer);
	buf_fini(&e);
	buf_fini(&der);
	return err;
}

TEST(crypto_smime_forged_signature)
{
	struct party a = {0}, b = {0}, m = {0};
	struct buf sd, out;
	X509 *signer = NULL, *fake = NULL;
	long at;
	int rc = -1;

	buf_init(&sd, BODY_MAX);
	buf_init(&out, BODY_MAX);
	(void)buf_append_cstr(&out, "abc");
	if (party_make(&a, "sip:alice@example.com", CRYPTO_KEY_RSA2048) ||
	    party_make(&b, "sip:bob@example.org", CRYPTO_KEY_EC_P256) ||
	    party_make(&m, "sip:mallory@example.net", CRYPTO_KEY_RSA2048))
		goto out;
	/* the hand-made path opens when nothing is forged */
	CHECK_EQ(sign_der(inner, a.k, a.x, NULL, 0, &sd), 0);
	CHECK_EQ(open_entity(signed_head, &sd, &b, &out, &signer), 0);
	CHECK_EQ(X509_cmp(signer, a.x), 0);
	X509_free(signer);
	signer = NULL;
	out.len = 3;

	/* the signature value ends the SignerInfo, and the DER */
	sd.p[sd.len - 1] ^= 0x01;
	CHECK_EQ(open_entity(signed_head, &sd, &b, &out, &signer), -EPERM);
	CHECK(untouched(&out, signer));
	sd.p[sd.len - 1] ^= 0x01;

	/* the content changed after signing: the message digest fails */
	at = find(sd.p, sd.len, "Hello", 5);
	CHECK(at > 0);
	sd.p[at] = 'J';
	CHECK_EQ(open_entity(signed_head, &sd, &b, &out, &signer), -EPERM);
	CHECK(untouched(&out, signer));

	/* mallory signs with a certificate naming alice's issuer and
	 * serial number, and puts alice's real certificate in the set */
	fake = X509_dup(a.x);
	CHECK(fake && X509_set_pubkey(fake, m.k) &&
	      X509_sign(fake, m.k, EVP_sha256()));
	buf_reset(&sd);
	CHECK_EQ(sign_der(inner, m.k, fake, a.x, 0, &sd), 0);
	CHECK_EQ(open_entity(signed_head, &sd, &b, &out, &signer), -EPERM);
	CHECK(untouched(&out, signer));

	/* mallory's own signature with no certificate at all */
	buf_reset(&sd);
	CHECK_EQ(sign_der(inner, m.k, m.x, NULL, CMS_NOCERTS, &sd), 0);
	CHECK_EQ(open_entity(signed_head, &sd, &b, &out, &signer), -EBADMSG);
	CHECK(untouched(&out, signer));
	rc = 0;
out:
	X509_free(fake);
	party_free(&a);
	party_free(&b);
	party_free(&m);
	buf_fini(&sd);
	buf_fini(&out);
	return rc;
}

/* Inner entities that are not what RFC 8551 §3.6 puts there. */
TEST(crypto_smime_bad_inner)
{
	static const struct {
		const char *head;
		int want;
	} v[] = {
		{"Content-Type: application/pkcs7-mime; "
		 "smime-type=signed-data; name=smime.p7m\r\n"
		 "Content-Transfer-Encoding: binary\r\n\r\n",
		 0},
		/* header names and values are case-insensitive, folded
		 * lines continue a value, other fields are ignored */
		{"content-type:Application/X-PKCS7-MIME;\r\n"
		 " smime-type=\"Signed-Data\"\r\n"
		 "Content-Disposition: attachment; filename=smime.p7m\r\n"
		 "CONTENT-TRANSFER-ENCODING: Binary\r\n\r\n",
		 0},
		{"Content-Type: application/pkcs7-mime\r\n\r\n", 0},
		{"Content-Type: application/pkcs7-mime; "
		 "smime-type=enveloped-data\r\n\r\n",
		 -EBADMSG},
		{"Content-Type: text/plain\r\n\r\n", -EBADMSG},
		{"Content-Type: application/pkcs7-signature\r\n\r\n", -EBADMSG},
		{"Content-Type: application/pkcs7-mime;\r\n\r\n", -EBADMSG},
		{"Content-Type: application/pkcs7-mime; smime-type\r\n\r\n",
		 -EBADMSG},
		{"Content-Type: application/pkcs7-mime\r\n"
		 "Content-Transfer-Encoding: base64\r\n\r\n",
		 -EBADMSG},
		{"Content-Type: application/pkcs7-mime\r\n"
		 "Content-Type: application/pkcs7-mime\r\n\r\n",
		 -EBADMSG},
		{"Content-Type: application/pkcs7-mime\r\n"
		 "Content-Transfer-Encoding: binary\r\n"
		 "Content-Transfer-Encoding: binary\r\n\r\n",
		 -EBADMSG},
		{"Content-Transfer-Encoding: binary\r\n\r\n", -EBADMSG},
		{"\r\n", -EBADMSG},
		{"", -EBADMSG},
		{"Content-Type: application/pkcs7-mime", -EBADMSG},
		{"Content-Type: application/pkcs7-mime\r\n", -EBADMSG},
		{"Content-Type: application/pkcs7-mime\n\n", -EBADMSG},
		{"Content-Type application/pkcs7-mime\r\n\r\n", -EBADMSG},
		{": application/pkcs7-mime\r\n\r\n", -EBADMSG},
	};
	struct party a = {0}, b = {0};
	struct buf sd, out;
	X509 *signer = NULL;
	int rc = -1, err;

	buf_init(&sd, BODY_MAX);
	buf_init(&out, BODY_MAX);
	if (party_make(&a, "sip:alice@example.com", CRYPTO_KEY_EC_P256) ||
	    party_make(&b, "sip:bob@example.org", CRYPTO_KEY_EC_P256) ||
	    sign_der(inner, a.k, a.x, NULL, 0, &sd))
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		buf_reset(&out);
		err = open_entity(v[i].head, &sd, &b, &out, &signer);
		if (err != v[i].want ||
		    (!err && (out.len != sizeof(inner) - 1 ||
			      memcmp(out.p, inner, out.len)))) {
			TEST_FAIL_AT("head %zu: %d, want %d (%s)", i, err,
				     v[i].want, crypto_last_error());
			goto out;
		}
		X509_free(signer);
		signer = NULL;
	}
	/* the inner entity is the plain text, not signed at all */
	CHECK_EQ(open_entity(inner, NULL, &b, &out, &signer), -EBADMSG);
	/* a body after the SignedData */
	CHECK_EQ(buf_append_cstr(&sd, "x"), 0);
	CHECK_EQ(open_entity(signed_head, &sd, &b, &out, &signer), -EBADMSG);
	/* a detached signature has no content to give back */
	buf_reset(&sd);
	CHECK_EQ(sign_der(inner, a.k, a.x, NULL, CMS_DETACHED, &sd), 0);
	CHECK_EQ(open_entity(signed_head, &sd, &b, &out, &signer), -EBADMSG);
	/* an EnvelopedData where the SignedData belongs */
	buf_reset(&sd);
	CHECK_EQ(envelope(inner, sizeof(inner) - 1, b.x, &sd), 0);
	CHECK_EQ(open_entity(signed_head, &sd, &b, &out, &signer), -EBADMSG);
	CHECK(!signer);
	rc = 0;
out:
	X509_free(signer);
	party_free(&a);
	party_free(&b);
	buf_fini(&sd);
	buf_fini(&out);
	return rc;
}

TEST(crypto_smime_not_enveloped)
{
	static const unsigned char junk_seq[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	struct party a = {0};
	struct buf sd, out;
	X509 *signer = NULL;
	int rc = -1;

	buf_init(&sd, BODY_MAX);
	buf_init(&out, BODY_MAX);
	(void)buf_append_cstr(&out, "abc");
	if (party_make(&a, "sip:alice@example.com", CRYPTO_KEY_EC_P256) ||
	    sign_der(inner, a.k, a.x, NULL, 0, &sd))
		goto out;
	CHECK_EQ(crypto_smime_open("garbage", 7, a.k, a.x, &out, &signer),
		 -EBADMSG);
	CHECK_EQ(crypto_smime_open(NULL, 0, a.k, a.x, &out, &signer), -EBADMSG);
	CHECK_EQ(crypto_smime_open(junk_seq, sizeof(junk_seq), a.k, a.x, &out,
				   &signer),
		 -EBADMSG);
	/* a SignedData alone is not an enveloped body */
	CHECK_EQ(crypto_smime_open(sd.p, sd.len, a.k, a.x, &out, &signer),
		 -EBADMSG);
	CHECK(untouched(&out, signer));
	rc = 0;
out:
	party_free(&a);
	buf_fini(&sd);
	buf_fini(&out);
	return rc;
}

TEST(crypto_smime_args)
{
	struct party a = {0}, b = {0};
	struct buf der, out;
	X509 *signer = NULL;
	int rc = -1;

	buf_init(&der, BODY_MAX);
	buf_init(&out, BODY_MAX);
	if (party_make(&a, "sip:alice@example.com", CRYPTO_KEY_EC_P256) ||
	    party_make(&b, "sip:bob@example.org", CRYPTO_KEY_EC_P256))
		goto out;
	CHECK_EQ(crypto_smime_seal(NULL, 1, a.k, a.x, b.x, &der), -EINVAL);
	CHECK_EQ(crypto_smime_seal(inner, 1, NULL, a.x, b.x, &der), -EINVAL);
	CHECK_EQ(crypto_smime_seal(inner, 1, a.k, NULL, b.x, &der), -EINVAL);
	CHECK_EQ(crypto_smime_seal(inner, 1, a.k, a.x, NULL, &der), -EINVAL);
	CHECK_EQ(crypto_smime_seal(inner, 1, a.k, a.x, b.x, NULL), -EINVAL);
	/* the sender's key must be the one its certificate holds */
	CHECK_EQ(crypto_smime_seal(inner, 1, b.k, a.x, b.x, &der), -EINVAL);
	CHECK_EQ(der.len, 0);
	/* a sticky error in out is returned as is */
	der.err = -ENOMEM;
	CHECK_EQ(crypto_smime_seal(inner, 1, a.k, a.x, b.x, &der), -ENOMEM);
	der.err = 0;
	CHECK_EQ(crypto_smime_seal(inner, 1, a.k, a.x, b.x, &der), 0);
	CHECK_EQ(crypto_smime_open(NULL, 1, b.k, b.x, &out, &signer), -EINVAL);
	CHECK_EQ(crypto_smime_open(der.p, der.len, NULL, b.x, &out, &signer),
		 -EINVAL);
	CHECK_EQ(crypto_smime_open(der.p, der.len, b.k, NULL, &out, &signer),
		 -EINVAL);
	CHECK_EQ(crypto_smime_open(der.p, der.len, b.k, b.x, NULL, &signer),
		 -EINVAL);
	CHECK_EQ(crypto_smime_open(der.p, der.len, b.k, b.x, &out, NULL),
		 -EINVAL);
	out.err = -EMSGSIZE;
	CHECK_EQ(crypto_smime_open(der.p, der.len, b.k, b.x, &out, &signer),
		 -EMSGSIZE);
	CHECK(!signer);
	rc = 0;
out:
	party_free(&a);
	party_free(&b);
	buf_fini(&der);
	buf_fini(&out);
	return rc;
}

/* An output buffer too small: -EMSGSIZE, and it is left as it was. */
TEST(crypto_smime_output_cap)
{
	struct party a = {0};
	struct buf der, small;
	X509 *signer = NULL;
	int rc = -1;

	buf_init(&der, BODY_MAX);
	buf_init(&small, 16);
	(void)buf_append_cstr(&small, "abc");
	if (party_make(&a, "sip:alice@example.com", CRYPTO_KEY_EC_P256))
		goto out;
	CHECK_EQ(crypto_smime_seal(inner, sizeof(inner) - 1, a.k, a.x, a.x,
				   &small),
		 -EMSGSIZE);
	CHECK(untouched(&small, NULL));
	CHECK_EQ(crypto_smime_seal(inner, sizeof(inner) - 1, a.k, a.x, a.x,
				   &der),
		 0);
	CHECK_EQ(crypto_smime_open(der.p, der.len, a.k, a.x, &small, &signer),
		 -EMSGSIZE);
	CHECK(untouched(&small, signer));
	rc = 0;
out:
	party_free(&a);
	buf_fini(&der);
	buf_fini(&small);
	return rc;
}

/* ---- interoperation with `openssl cms` ------------------------------- */

/* Run an openssl command line (scratch paths and fixed words); 0 when it
 * exits 0. Its output goes to stderr, for a failing test's log. */
static int run_openssl(const char *args)
{
	char cmd[1400];
	FILE *f;
	int n, status;

	n = snprintf(cmd, sizeof(cmd), "/usr/bin/openssl %s </dev/null 2>&1",
		     args);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(cmd, sizeof(cmd), f))
		fprintf(stderr, "    openssl: %s", cmd);
	status = pclose(f);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int read_path(const char *path, struct buf *out)
{
	buf_reset(out);
	return crypto_file_read(path, BODY_MAX, out);
}

static int save_party(struct party *p, const char *cert_path,
		      const char *key_path)
{
	struct buf b;
	int err;

	buf_init(&b, BODY_MAX);
	err = crypto_cert_pem(p->x, &b);
	if (!err)
		err = crypto_file_write_atomic(cert_path, b.p, b.len, 0644);
	if (!err)
		err = crypto_key_private_save(p->k, CRYPTO_PEM, key_path);
	buf_fini(&b);
	return err;
}

struct paths {
	char dir[SCRATCH_PATH_BYTES];
	char a_cert[SCRATCH_PATH_BYTES], a_key[SCRATCH_PATH_BYTES];
	char b_cert[SCRATCH_PATH_BYTES], b_key[SCRATCH_PATH_BYTES];
	char in[SCRATCH_PATH_BYTES], mid[SCRATCH_PATH_BYTES];
	char out[SCRATCH_PATH_BYTES];
};

static bool paths_make(struct paths *p)
{
	if (scratch_make(p->dir))
		return false;
	return scratch_path(p->a_cert, p->dir, "a.pem") &&
	       scratch_path(p->a_key, p->dir, "a.key") &&
	       scratch_path(p->b_cert, p->dir, "b.pem") &&
	       scratch_path(p->b_key, p->dir, "b.key") &&
	       scratch_path(p->in, p->dir, "in.bin") &&
	       scratch_path(p->mid, p->dir, "mid.bin") &&
	       scratch_path(p->out, p->dir, "out.bin");
}

/* What seal made, decrypted and verified by openssl. */
static int openssl_opens_ours(struct party *a, struct party *b,
			      const struct paths *p)
{
	char args[1200];
	struct buf b1;
	long at;
	int rc = -1;

	buf_init(&b1, BODY_MAX);
	CHECK_EQ(crypto_smime_seal(inner, sizeof(inner) - 1, a->k, a->x, b->x,
				   &b1),
		 0);
	CHECK_EQ(crypto_file_write_atomic(p->in, b1.p, b1.len, 0600), 0);
	(void)snprintf(args, sizeof(args),
		       "cms -decrypt -binary -inform DER -in %s -recip %s "
		       "-inkey %s -out %s",
		       p->in, p->b_cert, p->b_key, p->mid);
	CHECK_EQ(run_openssl(args), 0);
	/* the entity inside is the RFC 8551 §3.5.2 signed-data one */
	CHECK_EQ(read_path(p->mid, &b1), 0);
	CHECK(b1.len > sizeof(signed_head) &&
	      !memcmp(b1.p, signed_head, sizeof(signed_head) - 1));
	at = find(b1.p, b1.len, "\r\n\r\n", 4);
	CHECK_EQ(at, (long)sizeof(signed_head) - 5);
	CHECK_EQ(crypto_file_write_atomic(p->in, b1.p + at + 4,
					  b1.len - (size_t)at - 4, 0600),
		 0);
	(void)snprintf(args, sizeof(args),
		       "cms -verify -noverify -binary -inform DER -in %s "
		       "-out %s",
		       p->in, p->out);
	CHECK_EQ(run_openssl(args), 0);
	CHECK_EQ(read_path(p->out, &b1), 0);
	CHECK(b1.len == sizeof(inner) - 1 && !memcmp(b1.p, inner, b1.len));
	rc = 0;
out:
	buf_fini(&b1);
	return rc;
}

/* openssl signs (a) and encrypts (for b); we open. */
static int we_open_openssls(struct party *a, struct party *b,
			    const struct paths *p)
{
	char args[1200];
	struct buf b1, out;
	X509 *signer = NULL;
	int rc = -1;

	buf_init(&b1, BODY_MAX);
	buf_init(&out, BODY_MAX);
	CHECK_EQ(
		crypto_file_write_atomic(p->in, inner, sizeof(inner) - 1, 0600),
		0);
	(void)snprintf(args, sizeof(args),
		       "cms -sign -binary -nodetach -outform DER -in %s "
		       "-signer %s -inkey %s -out %s",
		       p->in, p->a_cert, p->a_key, p->out);
	CHECK_EQ(run_openssl(args), 0);
	CHECK_EQ(buf_append_cstr(&b1, signed_head), 0);
	CHECK_EQ(crypto_file_read(p->out, BODY_MAX, &b1), 0);
	CHECK_EQ(crypto_file_write_atomic(p->mid, b1.p, b1.len, 0600), 0);
	(void)snprintf(args, sizeof(args),
		       "cms -encrypt -binary -aes-128-cbc -outform DER -in %s "
		       "-out %s %s",
		       p->mid, p->out, p->b_cert);
	CHECK_EQ(run_openssl(args), 0);
	CHECK_EQ(read_path(p->out, &b1), 0);
	CHECK_EQ(crypto_smime_open(b1.p, b1.len, b->k, b->x, &out, &signer), 0);
	CHECK(out.len == sizeof(inner) - 1 && !memcmp(out.p, inner, out.len));
	CHECK_EQ(X509_cmp(signer, a->x), 0);
	rc = 0;
out:
	X509_free(signer);
	buf_fini(&b1);
	buf_fini(&out);
	return rc;
}

TEST(crypto_smime_openssl_interop)
{
	static const enum crypto_key_type types[] = {CRYPTO_KEY_RSA2048,
						     CRYPTO_KEY_EC_P256};
	struct party a = {0}, b = {0};
	struct paths p;
	int rc = -1;

	if (access("/usr/bin/openssl", X_OK)) {
		fprintf(stderr, "    skipped: no /usr/bin/openssl\n");
		return 0;
	}
	if (!paths_make(&p))
		return -1;
	/* RSA to RSA, then EC to EC */
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		party_free(&a);
		party_free(&b);
		CHECK_EQ(party_make(&a, "sip:alice@example.com", types[i]), 0);
		CHECK_EQ(party_make(&b, "sip:bob@example.org", types[i]), 0);
		CHECK_EQ(save_party(&a, p.a_cert, p.a_key), 0);
		CHECK_EQ(save_party(&b, p.b_cert, p.b_key), 0);
		if (openssl_opens_ours(&a, &b, &p) ||
		    we_open_openssls(&a, &b, &p)) {
			TEST_FAIL_AT("key type %d", (int)types[i]);
			goto out;
		}
	}
	rc = 0;
out:
	party_free(&a);
	party_free(&b);
	scratch_remove(p.dir);
	return rc;
}
