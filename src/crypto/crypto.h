/* SPDX-License-Identifier: BSD-3-Clause */
/* crypto: the OpenSSL 3 boundary (STYLE.md B1): keys, X.509 certificates
 * (RFC 6072 §10.6, RFC 5922 §7), signatures, sealing keys at rest, and the
 * drain of OpenSSL's error queue. Nothing outside this module calls OpenSSL
 * for these. */
#ifndef SIPCERT_CRYPTO_H
#define SIPCERT_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/base.h"

/* Every function returns 0 or a negative errno and sets its out-parameter
 * only on success. Functions that append to a struct buf leave it as it
 * was (length and sticky error) when they fail. */

/* ---- err.c: the error queue drain (STYLE.md B3) ---------------------- */

/* Drain OpenSSL's error queue into this thread's last-error string, which
 * starts with `what`, and return -EPROTO. The library never prints. */
int crypto_fail(const char *what);
/* This thread's last error message; "" when none was recorded. Valid until
 * the next crypto_* call on this thread. */
const char *crypto_last_error(void);
/* Forget the last error and empty OpenSSL's error queue. */
void crypto_clear_error(void);

/* ---- file.c: small files, written atomically ------------------------- */

/* Replace path with data so that a reader sees the old file or the whole
 * new one, never a part: a temporary file in the same directory, written,
 * fsync()ed and renamed over path, then the directory fsync()ed. The file
 * gets exactly `mode` (the umask does not apply). No temporary file is
 * left behind, on success or failure. */
int crypto_file_write_atomic(const char *path, const void *data, size_t len,
			     mode_t mode);
/* The same, but fail with -EEXIST when path exists (never replaces). */
int crypto_file_create_atomic(const char *path, const void *data, size_t len,
			      mode_t mode);
/* Append the contents of a regular file of at most max_bytes to out
 * (-EMSGSIZE when larger). For a secret file, mark out is_secret first. */
int crypto_file_read(const char *path, size_t max_bytes, struct buf *out);

/* ---- key.c: key pairs ------------------------------------------------ */

enum crypto_key_type {
	CRYPTO_KEY_RSA2048, /* the RFC 6072 default: Identity needs RSA */
	CRYPTO_KEY_RSA3072,
	CRYPTO_KEY_EC_P256,
};

enum crypto_format {
	CRYPTO_PEM,
	CRYPTO_DER,
};

/* Key files are small; anything larger is refused with -EMSGSIZE. */
enum { CRYPTO_KEY_FILE_MAX_BYTES = 64 * 1024 };

int crypto_key_generate(EVP_PKEY **out, enum crypto_key_type t);

/* Private keys are encoded as unencrypted PKCS#8 PrivateKeyInfo; decoding
 * also accepts the traditional forms (PKCS#1 "RSA PRIVATE KEY", SEC1 "EC
 * PRIVATE KEY"). Encrypted input is refused (-EBADMSG), never prompted
 * for. Mark the output buffer is_secret before encoding into it. */
int crypto_key_private_encode(EVP_PKEY *k, enum crypto_format f,
			      struct buf *out);
int crypto_key_private_decode(EVP_PKEY **out, enum crypto_format f,
			      const void *data, size_t len);
/* Public keys are X.509 SubjectPublicKeyInfo ("PUBLIC KEY"). */
int crypto_key_public_encode(EVP_PKEY *k, enum crypto_format f,
			     struct buf *out);
int crypto_key_public_decode(EVP_PKEY **out, enum crypto_format f,
			     const void *data, size_t len);
/* Files: a private key file is written atomically with mode 0600, a public
 * key file with 0644. */
int crypto_key_private_save(EVP_PKEY *k, enum crypto_format f,
			    const char *path);
int crypto_key_private_load(EVP_PKEY **out, enum crypto_format f,
			    const char *path);
int crypto_key_public_save(EVP_PKEY *k, enum crypto_format f, const char *path);
int crypto_key_public_load(EVP_PKEY **out, enum crypto_format f,
			   const char *path);

/* ---- cert.c: issuing X.509v3 certificates (RFC 5280, RFC 6072 §10.6) -- */

struct crypto_cert_opts {
	const char *const *uri_sans; /* e.g. "sip:alice@example.com" */
	size_t n_uri_sans;
	const char *const *dns_sans; /* host names; no wildcards, no IPs */
	size_t n_dns_sans;
	const char *common_name; /* NULL: empty subject, SAN made critical */
	bool is_ca;
	/* serverAuth + clientAuth extended key usage, for domain certificates
	 * used on both ends of SIP over TLS (RFC 5922 §4). */
	bool tls_server_client;
	/* Validity in days. RFC 6072 §10.6 recommends one year or less for
	 * user certificates; the caller decides, nothing is capped here. */
	uint32_t days;
	/* A random 0..jitter_s seconds is taken off notAfter so a population
	 * of certificates does not expire at once (RFC 6072 §10.6). */
	uint32_t jitter_s;
	const EVP_MD *md; /* NULL: SHA-256 */
	/* Added to "now" for notBefore, e.g. -300 for peers' clock skew. */
	int64_t not_before_offset_s;
};

/* Issue a certificate for subject_key signed by issuer_key. With
 * issuer_cert NULL the certificate is self-signed (issuer_key NULL or the
 * subject key); otherwise issuer_cert must be a CA certificate whose key
 * issuer_key is. X.509v3 with a random positive 159-bit serial, the CN,
 * subjectAltName URI: and DNS: entries, critical basicConstraints,
 * critical keyUsage (CA: keyCertSign, cRLSign; RSA leaf:
 * digitalSignature, keyEncipherment; EC leaf: digitalSignature,
 * keyAgreement), subject and authority key identifiers. */
int crypto_cert_create(X509 **out, EVP_PKEY *subject_key, EVP_PKEY *issuer_key,
		       X509 *issuer_cert, const struct crypto_cert_opts *o);

/* ---- x509.c: reading certificates ------------------------------------ */

/* Append the DER (or PEM) encoding to out. */
int crypto_cert_der(X509 *c, struct buf *out);
int crypto_cert_pem(X509 *c, struct buf *out);
/* Exactly one DER certificate, nothing after it. */
int crypto_cert_from_der(X509 **out, const void *der, size_t len);
/* The first PEM certificate in the text. */
int crypto_cert_from_pem(X509 **out, const void *pem, size_t len);

/* Lower-case hex, no colons, of md (NULL: SHA-256) over the DER;
 * -EMSGSIZE when hex_out cannot hold it and its NUL. */
int crypto_cert_fingerprint(X509 *c, const EVP_MD *md, char *hex_out,
			    size_t hex_len);
int crypto_cert_times(X509 *c, time_t *not_before, time_t *not_after);
/* is_ca is true only with a basicConstraints extension saying cA TRUE. */
int crypto_cert_is_ca(X509 *c, bool *is_ca, bool *has_basic_constraints);

/* The URI and DNS entries of subjectAltName, in certificate order, as
 * NUL-terminated copies (an entry holding a NUL octet is -EBADMSG). After
 * success, free with crypto_san_list_free(). */
struct crypto_san_list {
	char **uris;
	size_t n_uris;
	char **dns;
	size_t n_dns;
};

int crypto_cert_sans(X509 *c, struct crypto_san_list *out);
void crypto_san_list_free(struct crypto_san_list *l);

/* ---- match.c: domain certificates (RFC 5922 §7) ---------------------- */

/* Does the certificate name the SIP domain (RFC 5922 §7.1, §7.2)? Its SIP
 * domain identities are the hosts of its URI:sip:HOST entries (an entry
 * with a user part is none; a port or parameters are not compared); only
 * when it has none, its DNS: entries; and only when it has no
 * subjectAltName at all, its CN. Names are compared whole and
 * case-insensitively: no wildcards, no sub-domains, no IP addresses. 0 on
 * a match, -ENOENT on none (also for an IP address), -EINVAL for a domain
 * that is not a host name, -EBADMSG for a broken subjectAltName. */
int crypto_cert_matches_sip_domain(X509 *c, const char *domain);
/* Does the certificate name the host a TLS connection was opened to (RFC
 * 5922 §7.2 comparison)? DNS: entries only; the CN counts only when the
 * certificate has no URI: or DNS: entry at all (RFC 6125 §6.4.4). No
 * wildcards, and an IP address never matches. Returns as above. */
int crypto_cert_matches_dns(X509 *c, const char *host);

/* ---- kek.c, seal.c: private keys at rest (AES-256-GCM) --------------- */

enum {
	CRYPTO_KEK_BYTES = 32,
	CRYPTO_SEAL_VERSION = 1,
	CRYPTO_SEAL_NONCE_BYTES = 12,
	CRYPTO_SEAL_TAG_BYTES = 16,
	/* version | nonce | ciphertext | tag */
	CRYPTO_SEAL_OVERHEAD =
		1 + CRYPTO_SEAL_NONCE_BYTES + CRYPTO_SEAL_TAG_BYTES,
};

/* The key-encryption key, held outside the database. Wipe it with
 * crypto_kek_wipe() when done. */
struct crypto_kek {
	unsigned char key[CRYPTO_KEK_BYTES];
};

/* Write 32 fresh random bytes to a new file with mode 0600; -EEXIST when
 * the file exists (a KEK is never replaced by accident). */
int crypto_kek_create(const char *path);
/* Load a KEK file: -EPERM when group or other have any access to it,
 * -EBADMSG when it is not exactly 32 bytes. */
int crypto_kek_load(const char *path, struct crypto_kek *out);
void crypto_kek_wipe(struct crypto_kek *k);

/* Seal plain under the KEK and append the blob to out. The aad (e.g. the
 * AOR a key belongs to) is authenticated, not stored: unseal needs the
 * same. A random 96-bit nonce per blob (NIST SP 800-38D §8.2.2). */
int crypto_seal(const struct crypto_kek *k, const void *aad, size_t aad_len,
		const void *plain, size_t len, struct buf *out);
/* Check and open a blob, appending the plaintext to out; -EBADMSG for a
 * truncated blob, an unknown version or any tampering (nonce, ciphertext,
 * tag, aad), and then nothing is appended. Mark out is_secret before the
 * call so no copy of the plaintext outlives the buffer. */
int crypto_unseal(const struct crypto_kek *k, const void *aad, size_t aad_len,
		  const void *blob, size_t len, struct buf *out);

/* ---- sign.c: signatures (RFC 4474 §9: rsa-sha1, rsa-sha256) ---------- */

/* Sign data with key and md (NULL: SHA-256); RSA keys use PKCS#1 v1.5.
 * Appends the signature to sig. */
int crypto_sign(EVP_PKEY *key, const EVP_MD *md, const void *data, size_t len,
		struct buf *sig);
/* 0 when sig is a valid signature of data, -EBADMSG when it is not. */
int crypto_verify(EVP_PKEY *key, const EVP_MD *md, const void *data, size_t len,
		  const void *sig, size_t sig_len);

/* ---- keywrap.c: AES key wrap (RFC 3394) and with padding (RFC 5649) -- */

/* Wrap len bytes under a 16-, 24- or 32-byte KEK (AES-128/192/256) with
 * the default initial values, appending the result to out. RFC 3394
 * needs len a multiple of 8 and at least 16; RFC 5649 any len >= 1. */
int crypto_aes_key_wrap(const void *kek, size_t kek_len, const void *in,
			size_t len, struct buf *out);
int crypto_aes_key_wrap_pad(const void *kek, size_t kek_len, const void *in,
			    size_t len, struct buf *out);
/* Unwrap and check the integrity value (RFC 3394 §2.2.3, RFC 5649 §3):
 * -EBADMSG when it does not hold (wrong KEK or tampered input) or the
 * length is impossible, and then nothing is appended. Mark out is_secret
 * before the call. */
int crypto_aes_key_unwrap(const void *kek, size_t kek_len, const void *in,
			  size_t len, struct buf *out);
int crypto_aes_key_unwrap_pad(const void *kek, size_t kek_len, const void *in,
			      size_t len, struct buf *out);

/* ---- pkcs8.c: encrypted private keys (RFC 6072 §10.5, RFC 8018) ------ */

/* PBKDF2 (RFC 8018 §5.2) with HMAC over md: key_len bytes into key. */
struct crypto_pbkdf2 {
	const EVP_MD *md; /* NULL: SHA-256 */
	const void *salt;
	size_t salt_len;
	uint32_t iterations; /* at least 1 */
};

int crypto_pbkdf2_derive(const struct crypto_pbkdf2 *p, const char *pass,
			 size_t pass_len, unsigned char *key, size_t key_len);

enum crypto_pkcs8_prf {
	CRYPTO_PKCS8_PRF_SHA256, /* hmacWithSHA256 (RFC 5754) */
	CRYPTO_PKCS8_PRF_SHA1,	 /* hmacWithSHA1 (RFC 3370) */
};

enum crypto_pkcs8_cipher {
	/* id-aes128-wrap-pad (RFC 5649), which RFC 6072 §10.5 requires */
	CRYPTO_PKCS8_AES128_WRAP_PAD,
	CRYPTO_PKCS8_AES128_CBC, /* aes128-CBC-Pad (RFC 8018 §B.2.5) */
};

enum {
	/* RFC 8018 §4.2 asks for at least 1,000 iterations */
	CRYPTO_PKCS8_ITER_MIN = 1000,
	CRYPTO_PKCS8_ITER_DEFAULT = 100000,
	/* decryption refuses more (-EMSGSIZE): a file must not buy minutes
	 * of CPU */
	CRYPTO_PKCS8_ITER_MAX = 10000000,
	CRYPTO_PKCS8_SALT_BYTES = 16,
};

/* Zero-initialised options are the defaults: HMAC-SHA256, AES-128 key
 * wrap with padding, CRYPTO_PKCS8_ITER_DEFAULT iterations. */
struct crypto_pkcs8_opts {
	enum crypto_pkcs8_prf prf;
	enum crypto_pkcs8_cipher cipher;
	uint32_t iterations; /* 0: default; else MIN..MAX */
};

/* Append an EncryptedPrivateKeyInfo (DER) of key to out: PBES2 with
 * PBKDF2 (a fresh 16-byte salt) and the cipher of o (NULL: defaults).
 * The id-aes128-wrap-pad AlgorithmIdentifier has absent parameters
 * (RFC 5649). The pass phrase must not be empty. */
int crypto_pkcs8_encrypt(EVP_PKEY *key, const char *pass, size_t pass_len,
			 const struct crypto_pkcs8_opts *o, struct buf *out);
/* Decrypt one DER EncryptedPrivateKeyInfo (nothing after it): PBES2 with
 * PBKDF2 (HMAC-SHA1, -SHA224, -SHA256, -SHA384, -SHA512) and
 * id-aes128-wrap-pad (parameters absent, or the element OpenSSL 3.0
 * writes there), AES-CBC or the legacy DES-EDE3-CBC. -EACCES when the
 * pass phrase is wrong: key wrap's integrity check says so (RFC 5649
 * §3); for CBC a bad padding or an undecodable result, which a damaged
 * ciphertext also gives. -EBADMSG for a malformed structure or an
 * unsupported scheme, -EMSGSIZE for more than CRYPTO_PKCS8_ITER_MAX
 * iterations. */
int crypto_pkcs8_decrypt(const void *der, size_t len, const char *pass,
			 size_t pass_len, EVP_PKEY **out);
/* Is der exactly one DER EncryptedPrivateKeyInfo (*encrypted true) or
 * PrivateKeyInfo / OneAsymmetricKey (RFC 5958) (*encrypted false),
 * nothing after it? 0, -EBADMSG. */
int crypto_pkcs8_kind(const void *der, size_t len, bool *encrypted);

/* ---- usercert.c: user credentials (RFC 6072 §10.6) -------------------- */

struct crypto_user_cred_opts {
	enum crypto_key_type type; /* default RSA-2048 */
	const EVP_MD *md;	   /* NULL: SHA-256; EVP_sha1() allowed */
	uint32_t days;		   /* 0: 365; more than 365 is -EINVAL */
	/* random 0..jitter_s seconds off notAfter; 0: one day */
	uint32_t jitter_s;
};

/* A fresh key pair and a self-signed X.509v3 certificate for aor
 * ("sip:alice@example.com"): subject CN = the AOR (its first 64 octets
 * when longer: RFC 5280 §4.1.2.4 wants a non-empty issuer), issuer =
 * subject, subjectAltName URI:sip:user@domain, basicConstraints cA
 * FALSE, keyUsage digitalSignature + keyEncipherment (RSA) or
 * digitalSignature + keyAgreement (EC),
 * extendedKeyUsage emailProtection; validity at most one year with
 * random jitter; sha256WithRSAEncryption (sha1WithRSA on request),
 * ecdsa-with-SHA256 for EC. Randomness from OpenSSL's DRBG. -EINVAL (not
 * a sip: AOR with a user part, bad options), -EPROTO, -ENOMEM. */
int crypto_user_cred_new(const char *aor, const struct crypto_user_cred_opts *o,
			 EVP_PKEY **key, X509 **cert);

/* ---- smime.c: S/MIME bodies (RFC 8551, RFC 5652 CMS; RFC 3261 §23) ---- */

/* Sign inner (a complete MIME entity: "Content-Type: text/plain;
 * charset=utf-8\r\n\r\nHello") with the sender's key and certificate
 * (CMS SignedData, the certificate included), then encrypt that for the
 * recipient's certificate (CMS EnvelopedData, AES-128-CBC content
 * encryption; RSA key transport or ECDH for EC keys). Appends the DER
 * for a body of type application/pkcs7-mime;smime-type=enveloped-data.
 * -EINVAL, -EPROTO, -ENOMEM. */
int crypto_smime_seal(const void *inner, size_t len, EVP_PKEY *sender_key,
		      X509 *sender_cert, X509 *recipient_cert, struct buf *out);
/* The other way: decrypt der with our key (and certificate), check the
 * SignedData's signature, append the inner MIME entity to out and hand
 * back the signer's certificate (up-referenced; the caller frees it and
 * must itself decide whether it belongs to the sender: the certificate
 * is self-signed, RFC 6072 §10.3). -EACCES (not for our key), -EBADMSG
 * (not CMS, or not enveloped signed data), -EPERM (the signature does
 * not verify), -ENOMEM. */
int crypto_smime_open(const void *der, size_t len, EVP_PKEY *my_key,
		      X509 *my_cert, struct buf *out, X509 **signer);

#endif
