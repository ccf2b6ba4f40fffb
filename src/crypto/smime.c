/* SPDX-License-Identifier: BSD-3-Clause */
/* S/MIME bodies (RFC 8551 §3.6, RFC 3261 §23.3): a MIME entity signed
 * (CMS SignedData, RFC 5652 §5) and then enveloped for one recipient
 * (EnvelopedData, RFC 5652 §6), and the way back. */
#include "crypto/priv.h"

#include <limits.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>

/* RFC 8551 §3.5.2: the signed entity that gets encrypted. SIP carries
 * binary bodies, so the SignedData goes in as DER (RFC 3261 §23.3). */
static const char signed_head[] =
	"Content-Type: application/pkcs7-mime; smime-type=signed-data; "
	"name=smime.p7m\r\n"
	"Content-Transfer-Encoding: binary\r\n"
	"\r\n";

/* A writable memory BIO that reads as end of data, not as "try again",
 * once drained: CMS copies until a read returns 0. */
static BIO *mem_bio_new(void)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (b)
		BIO_set_mem_eof_return(b, 0);
	return b;
}

static int append_bio(struct buf *out, BIO *b)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);

	if (n < 0)
		return crypto_fail("memory BIO");
	return n ? buf_append(out, p, (size_t)n) : 0;
}

/* The DER SignedData around inner, behind signed_head, into a new BIO. */
static int sign_entity(const void *inner, size_t len, EVP_PKEY *key, X509 *cert,
		       BIO **entity)
{
	BIO *in = BIO_new_mem_buf(len ? inner : "", (int)len);
	BIO *b = mem_bio_new();
	CMS_ContentInfo *sd = NULL;
	int err = 0;

	if (!in || !b) {
		err = crypto_fail("BIO");
		goto out;
	}
	/* encapsulated (not detached); RFC 3261 §23.2: a SignedData in SIP
	 * MUST carry the certificate that verifies it */
	sd = CMS_sign(cert, key, NULL, in, CMS_BINARY);
	if (!sd) {
		err = crypto_fail("CMS SignedData");
		goto out;
	}
	if (BIO_write(b, signed_head, (int)sizeof(signed_head) - 1) !=
		    (int)sizeof(signed_head) - 1 ||
	    !i2d_CMS_bio(b, sd)) {
		err = crypto_fail("CMS SignedData encoding");
		goto out;
	}
	*entity = b;
	b = NULL;
out:
	CMS_ContentInfo_free(sd);
	BIO_free(b);
	BIO_free(in);
	return err;
}

int crypto_smime_seal(const void *inner, size_t len, EVP_PKEY *sender_key,
		      X509 *sender_cert, X509 *recipient_cert, struct buf *out)
{
	STACK_OF(X509) *recips = NULL;
	CMS_ContentInfo *ed = NULL;
	BIO *entity = NULL;
	unsigned char *der = NULL;
	struct crypto_mark m;
	int n, err;

	if ((!inner && len) || !sender_key || !sender_cert || !recipient_cert ||
	    !out)
		return -EINVAL;
	if (len > INT_MAX / 2)
		return -EMSGSIZE;
	err = crypto_mark_take(out, &m);
	if (err)
		return err;
	if (X509_check_private_key(sender_cert, sender_key) != 1)
		return crypto_errorf(-EINVAL, "the sender's key does not "
					      "match its certificate");
	err = sign_entity(inner, len, sender_key, sender_cert, &entity);
	if (err)
		return err;
	/* RFC 8551 §2.7: AES-128 CBC is the content encryption every agent
	 * has; CMS_encrypt picks key transport for an RSA recipient and
	 * ECDH key agreement for an EC one (RFC 5753) */
	recips = sk_X509_new_null();
	if (!recips || !sk_X509_push(recips, recipient_cert)) {
		err = crypto_fail("recipient list");
		goto out;
	}
	ed = CMS_encrypt(recips, entity, EVP_aes_128_cbc(), CMS_BINARY);
	if (!ed) {
		err = crypto_fail("CMS EnvelopedData");
		goto out;
	}
	n = i2d_CMS_ContentInfo(ed, &der);
	if (n <= 0) {
		err = crypto_fail("CMS EnvelopedData encoding");
		goto out;
	}
	err = buf_append(out, der, (size_t)n);
out:
	if (err)
		crypto_mark_undo(out, &m);
	OPENSSL_free(der);
	CMS_ContentInfo_free(ed);
	sk_X509_free(recips);
	BIO_free(entity);
	return err;
}

/* ---- opening --------------------------------------------------------- */

/* Exactly one DER ContentInfo of the given type, nothing after it. */
static int cms_decode(const void *der, size_t len, int nid,
		      CMS_ContentInfo **out)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms;

	if (len > LONG_MAX)
		return -EMSGSIZE;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (!cms)
		return crypto_fail_code(-EBADMSG, "not a DER CMS ContentInfo");
	if (p != (const unsigned char *)der + len) {
		CMS_ContentInfo_free(cms);
		return crypto_errorf(-EBADMSG, "bytes after the CMS object");
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != nid) {
		CMS_ContentInfo_free(cms);
		return crypto_errorf(-EBADMSG, "CMS content is not %s",
				     OBJ_nid2sn(nid));
	}
	*out = cms;
	return 0;
}

/* The Content-Type of the signed entity (RFC 2045 §5.1): media type
 * application/pkcs7-mime (or the x- form older agents send), and when an
 * smime-type parameter is there, signed-data (RFC 8551 §3.2.2). */
static int check_content_type(struct slice v)
{
	struct scan s = scan_of(v);
	struct slice type, sub, name, val;

	if (scan_token(&s, &type) || scan_sep(&s, '/') ||
	    scan_token(&s, &sub) || !slice_caseeq_cstr(type, "application") ||
	    (!slice_caseeq_cstr(sub, "pkcs7-mime") &&
	     !slice_caseeq_cstr(sub, "x-pkcs7-mime")))
		return -EBADMSG;
	while (!scan_sep(&s, ';')) {
		if (scan_token(&s, &name) || scan_sep(&s, '='))
			return -EBADMSG;
		if (scan_peek(&s) == '"' ? scan_quoted(&s, &val)
					 : scan_token(&s, &val))
			return -EBADMSG;
		if (slice_caseeq_cstr(name, "smime-type") &&
		    !slice_caseeq_cstr(val, "signed-data"))
			return -EBADMSG;
	}
	return scan_end(&s);
}

/* Split the signed entity into its header fields and its body (RFC 2045
 * §3: header fields, an empty line, the body) and check the two fields
 * that matter. Returns the body, the DER SignedData. */
static int entity_parse(struct slice e, struct slice *body)
{
	struct scan s = scan_of(e);
	bool has_type = false, has_cte = false;

	while (scan_lit(&s, "\r\n")) {
		struct slice name, value;
		const char *v;

		if (scan_token(&s, &name) || scan_sep(&s, ':'))
			return crypto_errorf(-EBADMSG, "bad header in the "
						       "signed entity");
		/* the value runs to a CRLF not followed by white space
		 * (a folded line continues it) */
		v = s.p;
		for (;;) {
			while (s.p < s.end && *s.p != '\r')
				s.p++;
			if (s.end - s.p < 2 || s.p[1] != '\n')
				return crypto_errorf(-EBADMSG,
						     "signed entity "
						     "without a body");
			if (s.end - s.p > 2 && char_is_ws(s.p[2])) {
				s.p += 2;
				continue;
			}
			break;
		}
		value = slice_trim(slice_of(v, (size_t)(s.p - v)));
		s.p += 2;
		if (slice_caseeq_cstr(name, "Content-Type")) {
			if (has_type || check_content_type(value))
				return crypto_errorf(-EBADMSG, "signed entity "
							       "is not "
							       "signed-data");
			has_type = true;
		} else if (slice_caseeq_cstr(name,
					     "Content-Transfer-Encoding")) {
			/* RFC 3261 §23.3: binary; the MIME default of 7bit
			 * cannot hold DER, but SIP bodies are binary */
			if (has_cte || !slice_caseeq_cstr(value, "binary"))
				return crypto_errorf(-EBADMSG, "signed entity "
							       "is not binary");
			has_cte = true;
		}
	}
	if (!has_type)
		return crypto_errorf(-EBADMSG, "signed entity without a "
					       "Content-Type");
	*body = slice_of(s.p, (size_t)(s.end - s.p));
	return 0;
}

/* RFC 5652 §6.2: find the RecipientInfo naming our certificate, unwrap
 * the content-encryption key with our key, then decrypt the content. */
static int decrypt(const void *der, size_t len, EVP_PKEY *key, X509 *cert,
		   BIO **entity)
{
	CMS_ContentInfo *ed = NULL;
	BIO *b = NULL;
	int err;

	err = cms_decode(der, len, NID_pkcs7_enveloped, &ed);
	if (err)
		return err;
	if (!CMS_decrypt_set1_pkey(ed, key, cert)) {
		err = crypto_fail_code(-EACCES, "not encrypted for our key");
		goto out;
	}
	b = mem_bio_new();
	if (!b) {
		err = crypto_fail("BIO");
		goto out;
	}
	/* the key is set: a failure now is damaged content (bad padding
	 * under AES-CBC) or no content at all */
	if (!CMS_decrypt(ed, NULL, NULL, NULL, b, CMS_BINARY)) {
		err = crypto_fail_code(-EBADMSG, "CMS content decryption");
		goto out;
	}
	*entity = b;
	b = NULL;
out:
	BIO_free(b);
	CMS_ContentInfo_free(ed);
	return err;
}

/* Check the SignedData (RFC 5652 §5.6) with the certificate it carries,
 * whose trust is the caller's decision (RFC 6072 §10.3). The content goes
 * to *content, the up-referenced signer certificate to *signer. */
static int verify(struct slice der, BIO **content, X509 **signer)
{
	CMS_ContentInfo *sd = NULL;
	STACK_OF(X509) *signers = NULL;
	BIO *b = NULL;
	X509 *x;
	int err;

	err = cms_decode(der.p, der.len, NID_pkcs7_signed, &sd);
	if (err)
		return err;
	/* RFC 8551 §3.5.2: the content is inside; one signer, the sender,
	 * whose certificate is included */
	if (CMS_is_detached(sd) ||
	    sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(sd)) != 1) {
		err = crypto_errorf(-EBADMSG, "not one signer over "
					      "encapsulated content");
		goto out;
	}
	if (CMS_set1_signers_certs(sd, NULL, 0) != 1) {
		err = crypto_fail_code(-EBADMSG, "the signer's certificate "
						 "is missing");
		goto out;
	}
	b = mem_bio_new();
	if (!b) {
		err = crypto_fail("BIO");
		goto out;
	}
	if (!CMS_verify(sd, NULL, NULL, NULL, b,
			CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY)) {
		err = crypto_fail_code(-EPERM, "S/MIME signature");
		goto out;
	}
	signers = CMS_get0_signers(sd);
	x = signers && sk_X509_num(signers) == 1 ? sk_X509_value(signers, 0)
						 : NULL;
	if (!x) {
		err = crypto_fail("signer certificate");
		goto out;
	}
	/* the certificate set is outside what the signature covers: a
	 * self-issued certificate (the RFC 6072 §10.6 kind) must at least
	 * carry its own valid signature, or it was damaged on the way */
	if (!X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) &&
	    X509_verify(x, X509_get0_pubkey(x)) != 1) {
		err = crypto_fail_code(-EPERM, "the signer's certificate "
					       "is damaged");
		goto out;
	}
	if (!X509_up_ref(x)) {
		err = crypto_fail("signer certificate");
		goto out;
	}
	*content = b;
	*signer = x;
	b = NULL;
out:
	sk_X509_free(signers);
	BIO_free(b);
	CMS_ContentInfo_free(sd);
	return err;
}

int crypto_smime_open(const void *der, size_t len, EVP_PKEY *my_key,
		      X509 *my_cert, struct buf *out, X509 **signer)
{
	BIO *entity = NULL, *content = NULL;
	X509 *x = NULL;
	struct crypto_mark m;
	struct slice e, body = SLICE_NULL;
	char *p;
	long n;
	int err;

	if ((!der && len) || !my_key || !my_cert || !out || !signer)
		return -EINVAL;
	err = crypto_mark_take(out, &m);
	if (err)
		return err;
	if (X509_check_private_key(my_cert, my_key) != 1)
		return crypto_errorf(-EACCES, "our key does not match our "
					      "certificate");
	err = decrypt(der, len, my_key, my_cert, &entity);
	if (err)
		return err;
	n = BIO_get_mem_data(entity, &p);
	if (n < 0) {
		err = crypto_fail("memory BIO");
		goto out;
	}
	e = slice_of(p, (size_t)n);
	err = entity_parse(e, &body);
	if (!err)
		err = verify(body, &content, &x);
	if (!err)
		err = append_bio(out, content);
	if (err) {
		crypto_mark_undo(out, &m);
		goto out;
	}
	*signer = x;
	x = NULL;
out:
	X509_free(x);
	BIO_free(content);
	BIO_free(entity);
	return err;
}
