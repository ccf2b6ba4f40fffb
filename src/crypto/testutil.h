/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the crypto unit tests: a scratch directory, paths in
 * it, and certificates made quickly. Static inline, so each *_test.c uses
 * what it needs. */
#ifndef SIPCERT_CRYPTO_TESTUTIL_H
#define SIPCERT_CRYPTO_TESTUTIL_H

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#include <openssl/x509v3.h>

#include "crypto/crypto.h"

enum { SCRATCH_PATH_BYTES = 256 };

/* A fresh private directory under $TMPDIR (or /tmp). */
static inline int scratch_make(char dir[SCRATCH_PATH_BYTES])
{
	const char *base = getenv("TMPDIR");
	int n;

	if (!base || !*base)
		base = "/tmp";
	n = snprintf(dir, SCRATCH_PATH_BYTES, "%s/sipcert-crypto-XXXXXX", base);
	if (n < 0 || n >= SCRATCH_PATH_BYTES)
		return -ENAMETOOLONG;
	return mkdtemp(dir) ? 0 : -errno;
}

/* dir/name into out; NULL when it does not fit. */
static inline const char *scratch_path(char out[SCRATCH_PATH_BYTES],
				       const char *dir, const char *name)
{
	size_t d = strlen(dir), n = strlen(name);

	if (d + 1 + n + 1 > SCRATCH_PATH_BYTES)
		return NULL;
	memcpy(out, dir, d);
	out[d] = '/';
	memcpy(out + d + 1, name, n + 1);
	return out;
}

/* Entries in dir other than "." and "..", or -errno. */
static inline int scratch_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	for (e = readdir(d); e; e = readdir(d))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Remove dir and the files and empty directories in it. */
static inline void scratch_remove(const char *dir)
{
	char path[SCRATCH_PATH_BYTES];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	for (e = readdir(d); e; e = readdir(d))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    scratch_path(path, dir, e->d_name) && unlink(path))
			(void)rmdir(path);
	closedir(d);
	(void)rmdir(dir);
}

/* A self-signed leaf for the SANs given, on a fresh P-256 key (fast). */
static inline int test_cert_make(X509 **out, const char *cn,
				 const char *const *uris, size_t n_uris,
				 const char *const *dns, size_t n_dns)
{
	EVP_PKEY *k = NULL;
	int err = crypto_key_generate(&k, CRYPTO_KEY_EC_P256);

	if (err)
		return err;
	err = crypto_cert_create(out, k, NULL, NULL,
				 &(struct crypto_cert_opts){
					 .uri_sans = uris,
					 .n_uri_sans = n_uris,
					 .dns_sans = dns,
					 .n_dns_sans = n_dns,
					 .common_name = cn,
					 .days = 30,
				 });
	EVP_PKEY_free(k);
	return err;
}

/* Add a general name of any type, with length-counted bytes (so tests can
 * put wildcards, NUL octets and IP addresses where crypto_cert_create()
 * refuses them). */
static inline int test_gens_add(GENERAL_NAMES *gens, int type, const void *data,
				size_t len)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_STRING *s = type == GEN_IPADD ? ASN1_OCTET_STRING_new()
					   : ASN1_IA5STRING_new();

	if (!gn || !s || !ASN1_STRING_set(s, data, (int)len)) {
		GENERAL_NAME_free(gn);
		ASN1_STRING_free(s);
		return -ENOMEM;
	}
	GENERAL_NAME_set0_value(gn, type, s);
	if (!sk_GENERAL_NAME_push(gens, gn)) {
		GENERAL_NAME_free(gn);
		return -ENOMEM;
	}
	return 0;
}

/* A bare self-signed v3 certificate built with OpenSSL directly: the CN
 * (NULL: none), the names (NULL: no subjectAltName), basicConstraints
 * only when has_bc, and nothing else. */
static inline int test_cert_raw(X509 **out, const char *cn, GENERAL_NAMES *gens,
				bool has_bc, bool is_ca)
{
	EVP_PKEY *k = NULL;
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	int err = crypto_key_generate(&k, CRYPTO_KEY_EC_P256);

	if (!err && (!x || !name || !bc))
		err = -ENOMEM;
	if (!err && cn &&
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0))
		err = -EINVAL;
	if (!err && bc)
		bc->ca = is_ca ? 0xff : 0;
	if (!err && (!X509_set_version(x, X509_VERSION_3) ||
		     !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
		     !X509_set_subject_name(x, name) ||
		     !X509_set_issuer_name(x, name) ||
		     !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
		     !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
		     !X509_set_pubkey(x, k) ||
		     (gens && !X509_add1_ext_i2d(x, NID_subject_alt_name, gens,
						 0, X509V3_ADD_DEFAULT)) ||
		     (has_bc && !X509_add1_ext_i2d(x, NID_basic_constraints, bc,
						   1, X509V3_ADD_DEFAULT)) ||
		     !X509_sign(x, k, EVP_sha256())))
		err = -EPROTO;
	BASIC_CONSTRAINTS_free(bc);
	X509_NAME_free(name);
	EVP_PKEY_free(k);
	if (err) {
		X509_free(x);
		return err;
	}
	*out = x;
	return 0;
}

#endif
