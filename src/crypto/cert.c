/* SPDX-License-Identifier: BSD-3-Clause */
/* Issuing X.509v3 certificates (RFC 5280 §4): self-signed user
 * certificates (RFC 6072 §10.6), domain certificates (RFC 5922 §4) and
 * the CA certificates that may issue them. */
#include "crypto/priv.h"

#include <limits.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

enum {
	/* positive and at most 20 octets (RFC 5280 §4.1.2.2) */
	SERIAL_BITS = 159,
	SECONDS_PER_DAY = 86400,
	MAX_DAYS = 100 * 366,
};

static const int64_t MAX_OFFSET_S = (int64_t)MAX_DAYS * SECONDS_PER_DAY;

/* subjectAltName values are IA5String; we also refuse space and control
 * characters, which no URI or host name holds. */
static bool is_uri_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int san_push(GENERAL_NAMES *gens, int type, const char *value)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (!gn || !s || !ASN1_STRING_set(s, value, (int)strlen(value))) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(s);
		return crypto_fail("subjectAltName entry");
	}
	GENERAL_NAME_set0_value(gn, type, s);
	if (!sk_GENERAL_NAME_push(gens, gn)) {
		GENERAL_NAME_free(gn);
		return crypto_fail("subjectAltName entry");
	}
	return 0;
}

/* Built from values, never from an OpenSSL config string, so a URI
 * holding "," cannot smuggle in a second name. */
static int add_sans(X509 *x, const struct crypto_cert_opts *o)
{
	GENERAL_NAMES *gens;
	int err = 0;

	if (!o->n_uri_sans && !o->n_dns_sans)
		return 0;
	gens = sk_GENERAL_NAME_new_null();
	if (!gens)
		return crypto_fail("subjectAltName");
	for (size_t i = 0; !err && i < o->n_uri_sans; i++)
		err = san_push(gens, GEN_URI, o->uri_sans[i]);
	for (size_t i = 0; !err && i < o->n_dns_sans; i++)
		err = san_push(gens, GEN_DNS, o->dns_sans[i]);
	/* RFC 5280 §4.2.1.6: critical when the subject is empty */
	if (!err &&
	    !X509_add1_ext_i2d(x, NID_subject_alt_name, gens,
			       o->common_name ? 0 : 1, X509V3_ADD_DEFAULT))
		err = crypto_fail("subjectAltName");
	GENERAL_NAMES_free(gens);
	return err;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (!ext)
		return crypto_fail(OBJ_nid2sn(nid));
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : crypto_fail(OBJ_nid2sn(nid));
}

static const char *key_usage(EVP_PKEY *k, bool is_ca)
{
	if (is_ca)
		return "critical,keyCertSign,cRLSign";
	if (EVP_PKEY_is_a(k, "RSA"))
		return "critical,digitalSignature,keyEncipherment";
	if (EVP_PKEY_is_a(k, "EC"))
		return "critical,digitalSignature,keyAgreement";
	return "critical,digitalSignature";
}

static int add_extensions(X509 *x, X509 *issuer_cert, EVP_PKEY *subject_key,
			  const struct crypto_cert_opts *o)
{
	X509V3_CTX ctx;
	int err;

	X509V3_set_ctx(&ctx, issuer_cert ? issuer_cert : x, x, NULL, NULL, 0);
	err = add_ext(x, &ctx, NID_basic_constraints,
		      o->is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (!err)
		err = add_ext(x, &ctx, NID_key_usage,
			      key_usage(subject_key, o->is_ca));
	if (!err && o->tls_server_client)
		err = add_ext(x, &ctx, NID_ext_key_usage,
			      "serverAuth,clientAuth");
	if (!err)
		err = add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	/* for a self-signed certificate the issuer is x, whose key
	 * identifier was just added */
	if (!err)
		err = add_ext(x, &ctx, NID_authority_key_identifier,
			      "keyid:always");
	if (!err)
		err = add_sans(x, o);
	return err;
}

static int set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int err = 0;

	/* top bit set: always exactly 159 bits, so positive and non-zero */
	if (!bn ||
	    !BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		err = crypto_fail("serial number");
	BN_free(bn);
	return err;
}

static int set_validity(X509 *x, const struct crypto_cert_opts *o)
{
	int64_t now = (int64_t)time(NULL);
	int64_t life = (int64_t)o->days * SECONDS_PER_DAY;
	uint32_t jitter = 0;
	int err;

	if (o->not_before_offset_s < -MAX_OFFSET_S ||
	    o->not_before_offset_s > MAX_OFFSET_S)
		return crypto_errorf(-EINVAL, "notBefore offset out of range");
	/* notAfter must stay after notBefore even with the most jitter */
	if ((int64_t)o->jitter_s >= life - o->not_before_offset_s)
		return crypto_errorf(-EINVAL, "jitter and notBefore offset "
					      "leave no validity period");
	err = crypto_rand_upto(o->jitter_s, &jitter);
	if (err)
		return err;
	if (!ASN1_TIME_set(X509_getm_notBefore(x),
			   (time_t)(now + o->not_before_offset_s)) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x),
			   (time_t)(now + life - jitter)))
		return crypto_fail("validity");
	return 0;
}

static int check_opts(EVP_PKEY *subject_key, EVP_PKEY *issuer_key,
		      X509 *issuer_cert, const struct crypto_cert_opts *o)
{
	bool is_ca = false, has_bc = false;

	if (!subject_key || !o)
		return -EINVAL;
	if ((o->n_uri_sans && !o->uri_sans) || (o->n_dns_sans && !o->dns_sans))
		return -EINVAL;
	if (!o->common_name && !o->n_uri_sans && !o->n_dns_sans)
		return crypto_errorf(-EINVAL, "a certificate needs a CN or a "
					      "subjectAltName");
	if (o->common_name && !*o->common_name)
		return crypto_errorf(-EINVAL, "empty CN");
	if (!o->days || o->days > MAX_DAYS)
		return crypto_errorf(-EINVAL, "validity of %u days",
				     (unsigned)o->days);
	for (size_t i = 0; i < o->n_uri_sans; i++)
		if (!o->uri_sans[i] || !is_uri_ok(o->uri_sans[i]))
			return crypto_errorf(-EINVAL, "bad URI SAN");
	for (size_t i = 0; i < o->n_dns_sans; i++)
		if (!o->dns_sans[i] || !crypto_is_host_name(o->dns_sans[i]))
			return crypto_errorf(-EINVAL, "bad DNS SAN");
	if (!issuer_cert) {
		if (issuer_key && EVP_PKEY_eq(issuer_key, subject_key) != 1)
			return crypto_errorf(-EINVAL, "a self-signed "
						      "certificate is signed "
						      "with its own key");
		return 0;
	}
	if (!issuer_key)
		return crypto_errorf(-EINVAL, "issuer key missing");
	if (crypto_cert_is_ca(issuer_cert, &is_ca, &has_bc) || !is_ca)
		return crypto_errorf(-EINVAL, "issuer is not a CA");
	if (X509_check_private_key(issuer_cert, issuer_key) != 1)
		return crypto_errorf(-EINVAL, "issuer key does not match the "
					      "issuer certificate");
	return 0;
}

int crypto_cert_create(X509 **out, EVP_PKEY *subject_key, EVP_PKEY *issuer_key,
		       X509 *issuer_cert, const struct crypto_cert_opts *o)
{
	X509 *x = NULL;
	X509_NAME *name = NULL;
	const EVP_MD *md;
	int err;

	if (!out)
		return -EINVAL;
	err = check_opts(subject_key, issuer_key, issuer_cert, o);
	if (err)
		return err;
	if (!issuer_key)
		issuer_key = subject_key;
	x = X509_new();
	name = X509_NAME_new();
	if (!x || !name || !X509_set_version(x, X509_VERSION_3)) {
		err = crypto_fail("certificate");
		goto out;
	}
	if (o->common_name &&
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
					(const unsigned char *)o->common_name,
					-1, -1, 0)) {
		err = crypto_fail_code(-EINVAL, "CN");
		goto out;
	}
	if (!X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(
		    x,
		    issuer_cert ? X509_get_subject_name(issuer_cert) : name) ||
	    !X509_set_pubkey(x, subject_key)) {
		err = crypto_fail("certificate");
		goto out;
	}
	err = set_serial(x);
	if (!err)
		err = set_validity(x, o);
	if (!err)
		err = add_extensions(x, issuer_cert, subject_key, o);
	if (err)
		goto out;
	/* EdDSA keys take no separate digest */
	md = o->md ? o->md : EVP_sha256();
	if (EVP_PKEY_is_a(issuer_key, "ED25519") ||
	    EVP_PKEY_is_a(issuer_key, "ED448"))
		md = NULL;
	if (!X509_sign(x, issuer_key, md)) {
		err = crypto_fail("certificate signature");
		goto out;
	}
	*out = x;
	x = NULL;
out:
	X509_NAME_free(name);
	X509_free(x);
	return err;
}
