/* SPDX-License-Identifier: BSD-3-Clause */
/* Encrypted private keys (RFC 6072 §10.5): PKCS#8 EncryptedPrivateKeyInfo
 * with PBES2 and PBKDF2 (RFC 8018 §6.2, §5.2), id-aes128-wrap-pad (RFC
 * 5649) written and read, AES-CBC and DES-EDE3-CBC read. */
#include "crypto/priv.h"

#include <limits.h>

#include <openssl/asn1t.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>

enum { WRAP_KEK_BYTES = 16 };

int crypto_pbkdf2_derive(const struct crypto_pbkdf2 *p, const char *pass,
			 size_t pass_len, unsigned char *key, size_t key_len)
{
	if (!p || !key || !key_len || (pass_len && !pass) ||
	    (p->salt_len && !p->salt) || !p->iterations)
		return -EINVAL;
	if (pass_len > INT_MAX || p->salt_len > INT_MAX || key_len > INT_MAX ||
	    p->iterations > INT_MAX)
		return -EINVAL;
	if (!PKCS5_PBKDF2_HMAC(pass ? pass : "", (int)pass_len,
			       p->salt ? p->salt : (const void *)"",
			       (int)p->salt_len, (int)p->iterations,
			       p->md ? p->md : EVP_sha256(), (int)key_len, key))
		return crypto_fail("PBKDF2");
	return 0;
}

/* ---- writing ---------------------------------------------------------- */

/* PBES2 for id-aes128-wrap-pad, built with the ASN.1 API: OpenSSL's own
 * PBES2 helpers write the cipher's parameters, which RFC 5649 says
 * MUST be absent for this algorithm. */
static int wrap_pad_seal(X509_SIG **out, PKCS8_PRIV_KEY_INFO *p8,
			 const char *pass, size_t pass_len, uint32_t iter,
			 unsigned char *salt, int prf_nid, const EVP_MD *md)
{
	unsigned char kek[WRAP_KEK_BYTES];
	unsigned char *plain = NULL;
	PBE2PARAM *pbe2 = NULL;
	ASN1_STRING *params = NULL;
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *digest;
	X509_SIG *sig = NULL;
	struct buf ct;
	int plain_len, err;

	buf_init(&ct, CRYPTO_KEY_FILE_MAX_BYTES);
	plain_len = i2d_PKCS8_PRIV_KEY_INFO(p8, &plain);
	if (plain_len <= 0) {
		plain = NULL;
		return crypto_fail("PrivateKeyInfo encoding");
	}
	err = crypto_pbkdf2_derive(
		&(struct crypto_pbkdf2){
			.md = md,
			.salt = salt,
			.salt_len = CRYPTO_PKCS8_SALT_BYTES,
			.iterations = iter,
		},
		pass, pass_len, kek, sizeof(kek));
	if (!err)
		err = crypto_aes_key_wrap_pad(kek, sizeof(kek), plain,
					      (size_t)plain_len, &ct);
	if (err)
		goto out;
	pbe2 = PBE2PARAM_new();
	sig = X509_SIG_new();
	if (!pbe2 || !sig) {
		err = crypto_fail("PBES2 parameters");
		goto out;
	}
	X509_ALGOR_free(pbe2->keyfunc);
	/* keyLength left out: AES-128 fixes it (RFC 8018 §A.2) */
	pbe2->keyfunc = PKCS5_pbkdf2_set((int)iter, salt,
					 CRYPTO_PKCS8_SALT_BYTES, prf_nid, -1);
	if (!pbe2->keyfunc ||
	    !X509_ALGOR_set0(pbe2->encryption,
			     OBJ_nid2obj(NID_id_aes128_wrap_pad), V_ASN1_UNDEF,
			     NULL)) {
		err = crypto_fail("PBES2 parameters");
		goto out;
	}
	params = ASN1_item_pack(pbe2, ASN1_ITEM_rptr(PBE2PARAM), NULL);
	X509_SIG_getm(sig, &alg, &digest);
	if (!params || !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_pbes2),
					V_ASN1_SEQUENCE, params)) {
		err = crypto_fail("PBES2 parameters");
		goto out;
	}
	params = NULL; /* alg owns it now */
	if (ct.len > INT_MAX ||
	    !ASN1_OCTET_STRING_set(digest, (unsigned char *)ct.p,
				   (int)ct.len)) {
		err = crypto_fail("EncryptedPrivateKeyInfo");
		goto out;
	}
	*out = sig;
	sig = NULL;
out:
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_clear_free(plain, (size_t)plain_len);
	ASN1_STRING_free(params);
	PBE2PARAM_free(pbe2);
	X509_SIG_free(sig);
	buf_fini(&ct);
	return err;
}

int crypto_pkcs8_encrypt(EVP_PKEY *key, const char *pass, size_t pass_len,
			 const struct crypto_pkcs8_opts *o, struct buf *out)
{
	const struct crypto_pkcs8_opts dflt = {0};
	unsigned char salt[CRYPTO_PKCS8_SALT_BYTES];
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *sig = NULL;
	X509_ALGOR *pbe;
	unsigned char *der = NULL;
	struct crypto_mark m;
	const EVP_MD *md;
	uint32_t iter;
	int prf_nid, der_len, err;

	if (!o)
		o = &dflt;
	if (!key || !pass || !pass_len || pass_len > INT_MAX || !out)
		return -EINVAL;
	iter = o->iterations ? o->iterations : CRYPTO_PKCS8_ITER_DEFAULT;
	if (iter < CRYPTO_PKCS8_ITER_MIN || iter > CRYPTO_PKCS8_ITER_MAX)
		return crypto_errorf(-EINVAL, "%u PBKDF2 iterations", iter);
	/* RFC 6072 §10.5: clients MUST implement HMAC-SHA1 and -SHA256 */
	switch (o->prf) {
	case CRYPTO_PKCS8_PRF_SHA256:
		prf_nid = NID_hmacWithSHA256;
		md = EVP_sha256();
		break;
	case CRYPTO_PKCS8_PRF_SHA1:
		prf_nid = NID_hmacWithSHA1;
		md = EVP_sha1();
		break;
	default:
		return crypto_errorf(-EINVAL, "unknown PRF %d", (int)o->prf);
	}
	if (o->cipher != CRYPTO_PKCS8_AES128_WRAP_PAD &&
	    o->cipher != CRYPTO_PKCS8_AES128_CBC)
		return crypto_errorf(-EINVAL, "unknown cipher %d",
				     (int)o->cipher);
	err = crypto_mark_take(out, &m);
	if (err)
		return err;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return crypto_fail("salt");
	p8 = EVP_PKEY2PKCS8(key);
	if (!p8) {
		err = crypto_fail("PrivateKeyInfo");
		goto out;
	}
	if (o->cipher == CRYPTO_PKCS8_AES128_WRAP_PAD) {
		err = wrap_pad_seal(&sig, p8, pass, pass_len, iter, salt,
				    prf_nid, md);
		if (err)
			goto out;
	} else {
		/* aiv NULL: a random IV */
		pbe = PKCS5_pbe2_set_iv(EVP_aes_128_cbc(), (int)iter, salt,
					sizeof(salt), NULL, prf_nid);
		if (pbe)
			sig = PKCS8_set0_pbe(pass, (int)pass_len, p8, pbe);
		if (!sig) {
			X509_ALGOR_free(pbe);
			err = crypto_fail("PBES2 AES-128-CBC");
			goto out;
		}
	}
	der_len = i2d_X509_SIG(sig, &der);
	if (der_len <= 0) {
		der = NULL;
		err = crypto_fail("EncryptedPrivateKeyInfo encoding");
		goto out;
	}
	err = buf_append(out, der, (size_t)der_len);
out:
	OPENSSL_free(der);
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (err)
		crypto_mark_undo(out, &m);
	return err;
}

/* ---- reading ---------------------------------------------------------- */

static const EVP_MD *prf_md(const X509_ALGOR *prf)
{
	const ASN1_OBJECT *obj;

	/* RFC 8018 §A.2: the PRF defaults to algid-hmacWithSHA1 */
	if (!prf)
		return EVP_sha1();
	X509_ALGOR_get0(&obj, NULL, NULL, prf);
	switch (OBJ_obj2nid(obj)) {
	case NID_hmacWithSHA1:
		return EVP_sha1();
	case NID_hmacWithSHA224:
		return EVP_sha224();
	case NID_hmacWithSHA256:
		return EVP_sha256();
	case NID_hmacWithSHA384:
		return EVP_sha384();
	case NID_hmacWithSHA512:
		return EVP_sha512();
	}
	return NULL;
}

/* The PBKDF2 parameters (RFC 8018 §A.2) for crypto_pbkdf2_derive(). The
 * salt points into kdf. */
static int kdf_read(const X509_ALGOR *keyfunc, PBKDF2PARAM **kdfp,
		    struct crypto_pbkdf2 *out, int64_t *key_len)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	PBKDF2PARAM *kdf;
	uint64_t iter;
	int ptype, err = 0;

	X509_ALGOR_get0(&obj, &ptype, &pval, keyfunc);
	if (OBJ_obj2nid(obj) != NID_id_pbkdf2 || ptype != V_ASN1_SEQUENCE)
		return crypto_errorf(-EBADMSG, "PBES2 without PBKDF2");
	kdf = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBKDF2PARAM));
	if (!kdf)
		return crypto_fail_code(-EBADMSG, "PBKDF2 parameters");
	*out = (struct crypto_pbkdf2){.md = prf_md(kdf->prf)};
	/* the salt CHOICE: only "specified" is defined (RFC 8018 §A.2) */
	if (kdf->salt->type != V_ASN1_OCTET_STRING || !out->md ||
	    !ASN1_INTEGER_get_uint64(&iter, kdf->iter) || !iter) {
		err = crypto_errorf(-EBADMSG, "PBKDF2 salt, PRF or iteration "
					      "count unsupported");
		goto out;
	}
	if (iter > CRYPTO_PKCS8_ITER_MAX) {
		err = crypto_errorf(-EMSGSIZE, "%llu PBKDF2 iterations",
				    (unsigned long long)iter);
		goto out;
	}
	out->iterations = (uint32_t)iter;
	out->salt = ASN1_STRING_get0_data(kdf->salt->value.octet_string);
	out->salt_len =
		(size_t)ASN1_STRING_length(kdf->salt->value.octet_string);
	*key_len = -1;
	if (kdf->keylength &&
	    !ASN1_INTEGER_get_int64(key_len, kdf->keylength)) {
		err = crypto_errorf(-EBADMSG, "PBKDF2 keyLength");
		goto out;
	}
out:
	if (err) {
		PBKDF2PARAM_free(kdf);
		return err;
	}
	*kdfp = kdf;
	return 0;
}

/* id-aes128-wrap-pad's parameters: absent (RFC 5649), or exactly the
 * element OpenSSL 3.0 writes there. OpenSSL decodes that element as an
 * empty end-of-contents value, so the octets received tell it apart:
 * the AlgorithmIdentifier is the last element of the PBES2-params (RFC
 * 8018 §A.4), whose DER OpenSSL keeps as it came. */
static bool wrap_params_ok(const X509_ALGOR *enc, const ASN1_STRING *pbes2_der)
{
	static const unsigned char ossl30[] = {
		0x30, 0x0f, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
		0x03, 0x04, 0x01, 0x08, 0x3f, 0x80, 0x00, 0x00,
	};
	const unsigned char *p = ASN1_STRING_get0_data(pbes2_der);
	size_t len = (size_t)ASN1_STRING_length(pbes2_der);
	const void *pval;
	int ptype;

	X509_ALGOR_get0(NULL, &ptype, &pval, enc);
	if (ptype == V_ASN1_UNDEF)
		return true;
	return ptype == V_ASN1_EOC && pval && !ASN1_STRING_length(pval) &&
	       len >= sizeof(ossl30) &&
	       !memcmp(p + len - sizeof(ossl30), ossl30, sizeof(ossl30));
}

static int wrap_pad_open(const X509_SIG *sig, const ASN1_STRING *pbes2_der,
			 const PBE2PARAM *pbe2, const char *pass,
			 size_t pass_len, PKCS8_PRIV_KEY_INFO **out)
{
	unsigned char kek[WRAP_KEK_BYTES];
	const ASN1_OCTET_STRING *digest;
	const unsigned char *p;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	PBKDF2PARAM *kdf = NULL;
	struct crypto_pbkdf2 d;
	struct buf plain;
	int64_t key_len;
	int ct_len, err;

	/* OpenSSL 3.0's `pkcs8 -topk8 -v2 id-aes128-wrap-pad` writes
	 * 3f 80 00 00 (a non-minimal high tag number, no content) where
	 * the parameters should be absent; accept that, nothing else */
	if (!wrap_params_ok(pbe2->encryption, pbes2_der))
		return crypto_errorf(-EBADMSG, "id-aes128-wrap-pad with "
					       "parameters");
	err = kdf_read(pbe2->keyfunc, &kdf, &d, &key_len);
	if (err)
		return err;
	if (key_len != -1 && key_len != WRAP_KEK_BYTES) {
		PBKDF2PARAM_free(kdf);
		return crypto_errorf(-EBADMSG, "PBKDF2 keyLength %lld",
				     (long long)key_len);
	}
	X509_SIG_get0(sig, NULL, &digest);
	/* RFC 5649 §4.2: whole semiblocks, at least two */
	ct_len = ASN1_STRING_length(digest);
	if (ct_len < 16 || ct_len % 8) {
		PBKDF2PARAM_free(kdf);
		return crypto_errorf(-EBADMSG, "wrapped key of %d bytes",
				     ct_len);
	}
	buf_init(&plain, CRYPTO_KEY_FILE_MAX_BYTES);
	plain.is_secret = true;
	err = crypto_pbkdf2_derive(&d, pass, pass_len, kek, sizeof(kek));
	PBKDF2PARAM_free(kdf);
	if (err)
		goto out;
	err = crypto_aes_key_unwrap_pad(kek, sizeof(kek),
					ASN1_STRING_get0_data(digest),
					(size_t)ct_len, &plain);
	if (err == -EBADMSG) {
		/* RFC 5649 §3: the AIV and padding check failed */
		err = crypto_errorf(-EACCES, "wrong pass phrase (key unwrap "
					     "integrity check failed)");
		goto out;
	}
	if (err)
		goto out;
	p = (const unsigned char *)plain.p;
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)plain.len);
	if (!p8 || p != (const unsigned char *)plain.p + plain.len) {
		err = crypto_fail_code(-EBADMSG, "decrypted PrivateKeyInfo");
		goto out;
	}
	*out = p8;
	p8 = NULL;
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	OPENSSL_cleanse(kek, sizeof(kek));
	buf_fini(&plain);
	return err;
}

/* AES-CBC and DES-EDE3-CBC (RFC 8018 §B.2): OpenSSL's PBES2 decryption,
 * after checking what it would otherwise report as a wrong pass phrase:
 * the PBKDF2 parameters, the IV, and whole cipher blocks. */
static int cbc_open(const X509_SIG *sig, const X509_ALGOR *enc,
		    const X509_ALGOR *keyfunc, const char *pass,
		    size_t pass_len, PKCS8_PRIV_KEY_INFO **out)
{
	const ASN1_OBJECT *obj;
	const ASN1_OCTET_STRING *digest;
	const void *pval;
	const EVP_CIPHER *c;
	PKCS8_PRIV_KEY_INFO *p8;
	PBKDF2PARAM *kdf = NULL;
	struct crypto_pbkdf2 d;
	int64_t key_len;
	int ptype, len, err;

	X509_ALGOR_get0(&obj, &ptype, &pval, enc);
	switch (OBJ_obj2nid(obj)) {
	case NID_aes_128_cbc:
		c = EVP_aes_128_cbc();
		break;
	case NID_aes_192_cbc:
		c = EVP_aes_192_cbc();
		break;
	case NID_aes_256_cbc:
		c = EVP_aes_256_cbc();
		break;
	case NID_des_ede3_cbc:
		c = EVP_des_ede3_cbc();
		break;
	default:
		return crypto_errorf(-EBADMSG, "PBES2 cipher unsupported");
	}
	if (ptype != V_ASN1_OCTET_STRING ||
	    ASN1_STRING_length(pval) != EVP_CIPHER_get_iv_length(c))
		return crypto_errorf(-EBADMSG, "PBES2 cipher IV");
	err = kdf_read(keyfunc, &kdf, &d, &key_len);
	PBKDF2PARAM_free(kdf);
	if (err)
		return err;
	if (key_len != -1 && key_len != EVP_CIPHER_get_key_length(c))
		return crypto_errorf(-EBADMSG, "PBKDF2 keyLength %lld",
				     (long long)key_len);
	X509_SIG_get0(sig, NULL, &digest);
	len = ASN1_STRING_length(digest);
	if (len <= 0 || len % EVP_CIPHER_get_block_size(c))
		return crypto_errorf(-EBADMSG, "ciphertext of %d bytes", len);
	p8 = PKCS8_decrypt(sig, pass ? pass : "", (int)pass_len);
	if (!p8)
		/* CBC has no integrity check: a bad padding or a result
		 * that is no PrivateKeyInfo is what a wrong pass phrase
		 * gives */
		return crypto_errorf(-EACCES, "wrong pass phrase (decryption "
					      "gave no private key)");
	*out = p8;
	return 0;
}

int crypto_pkcs8_decrypt(const void *der, size_t len, const char *pass,
			 size_t pass_len, EVP_PKEY **out)
{
	const unsigned char *p = der;
	const X509_ALGOR *alg;
	const ASN1_OBJECT *obj;
	const void *pval;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	PBE2PARAM *pbe2 = NULL;
	X509_SIG *sig = NULL;
	EVP_PKEY *k;
	int ptype, err;

	if (!out || (!der && len) || (pass_len && !pass) || pass_len > INT_MAX)
		return -EINVAL;
	if (len > CRYPTO_KEY_FILE_MAX_BYTES)
		return crypto_errorf(-EMSGSIZE, "encrypted key of %zu bytes",
				     len);
	if (len)
		sig = d2i_X509_SIG(NULL, &p, (long)len);
	if (!sig || p != (const unsigned char *)der + len) {
		err = crypto_fail_code(-EBADMSG, "EncryptedPrivateKeyInfo");
		goto out;
	}
	X509_SIG_get0(sig, &alg, NULL);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (OBJ_obj2nid(obj) != NID_pbes2 || ptype != V_ASN1_SEQUENCE) {
		err = crypto_errorf(-EBADMSG, "not PBES2 (RFC 6072 §10.5)");
		goto out;
	}
	pbe2 = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBE2PARAM));
	if (!pbe2) {
		err = crypto_fail_code(-EBADMSG, "PBES2 parameters");
		goto out;
	}
	X509_ALGOR_get0(&obj, NULL, NULL, pbe2->encryption);
	if (OBJ_obj2nid(obj) == NID_id_aes128_wrap_pad)
		err = wrap_pad_open(sig, pval, pbe2, pass, pass_len, &p8);
	else
		err = cbc_open(sig, pbe2->encryption, pbe2->keyfunc, pass,
			       pass_len, &p8);
	if (err)
		goto out;
	k = EVP_PKCS82PKEY(p8);
	if (!k) {
		err = crypto_fail_code(-EBADMSG, "decrypted private key");
		goto out;
	}
	*out = k;
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	PBE2PARAM_free(pbe2);
	X509_SIG_free(sig);
	return err;
}

/* ---- telling the kinds apart ------------------------------------------ */

/* OneAsymmetricKey (RFC 5958 §2), which PrivateKeyInfo is the v1 form of:
 *   SEQUENCE { version INTEGER, privateKeyAlgorithm AlgorithmIdentifier,
 *              privateKey OCTET STRING, attributes [0] IMPLICIT SET OF
 *              Attribute OPTIONAL, publicKey [1] IMPLICIT BIT STRING
 *              OPTIONAL }
 * OpenSSL 3.0's PKCS8_PRIV_KEY_INFO stops before publicKey, so a v2 key
 * would be refused; this template reads both. OpenSSL's template macros
 * need the structure under a typedef name. */
typedef struct {
	ASN1_INTEGER *version;
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *key;
	STACK_OF(X509_ATTRIBUTE) * attrs;
	ASN1_BIT_STRING *pub;
} ONE_ASYM_KEY;

/* OpenSSL's template macros, which clang-format cannot lay out */
/* clang-format off */
ASN1_SEQUENCE(ONE_ASYM_KEY) = {
	ASN1_SIMPLE(ONE_ASYM_KEY, version, ASN1_INTEGER),
	ASN1_SIMPLE(ONE_ASYM_KEY, alg, X509_ALGOR),
	ASN1_SIMPLE(ONE_ASYM_KEY, key, ASN1_OCTET_STRING),
	ASN1_IMP_SET_OF_OPT(ONE_ASYM_KEY, attrs, X509_ATTRIBUTE, 0),
	ASN1_IMP_OPT(ONE_ASYM_KEY, pub, ASN1_BIT_STRING, 1),
} static_ASN1_SEQUENCE_END(ONE_ASYM_KEY);
/* clang-format on */

/* One OneAsymmetricKey filling all len bytes, of version v1 (0) or v2
 * (1), with publicKey only in v2 (RFC 5958 §2). */
static bool is_one_asym_key(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	ONE_ASYM_KEY *k;
	long v;
	bool ok;

	k = (ONE_ASYM_KEY *)ASN1_item_d2i(NULL, &p, (long)len,
					  ASN1_ITEM_rptr(ONE_ASYM_KEY));
	if (!k)
		return false;
	v = ASN1_INTEGER_get(k->version);
	ok = p == der + len && (v == 0 || v == 1) && (!k->pub || v == 1);
	ASN1_item_free((ASN1_VALUE *)k, ASN1_ITEM_rptr(ONE_ASYM_KEY));
	return ok;
}

int crypto_pkcs8_kind(const void *der, size_t len, bool *encrypted)
{
	const unsigned char *p = der;
	X509_SIG *sig;

	if (!encrypted || (!der && len))
		return -EINVAL;
	if (!len || len > LONG_MAX)
		return crypto_errorf(-EBADMSG, "PKCS#8 of %zu bytes", len);
	/* The two cannot be confused: EncryptedPrivateKeyInfo (RFC 5958 §3)
	 * opens with a SEQUENCE (the AlgorithmIdentifier), OneAsymmetricKey
	 * with an INTEGER (the version). */
	sig = d2i_X509_SIG(NULL, &p, (long)len);
	if (sig) {
		bool whole = p == (const unsigned char *)der + len;

		X509_SIG_free(sig);
		if (!whole)
			return crypto_errorf(
				-EBADMSG, "%zu bytes after the PKCS#8",
				(size_t)((const unsigned char *)der + len - p));
		*encrypted = true;
		return 0;
	}
	crypto_clear_error();
	if (!is_one_asym_key(der, len))
		return crypto_fail_code(-EBADMSG,
					"not one PKCS#8 EncryptedPrivateKeyInfo"
					" or OneAsymmetricKey");
	*encrypted = false;
	return 0;
}
