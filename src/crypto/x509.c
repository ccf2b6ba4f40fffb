/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading certificates: DER and PEM in and out, fingerprints (RFC 6072
 * §10.8), validity times, basicConstraints and subjectAltName (RFC 5280
 * §4.2.1.6, §4.2.1.9). */
#include "crypto/priv.h"

#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

int crypto_cert_der(X509 *c, struct buf *out)
{
	unsigned char *der = NULL;
	int n, err;

	if (!c || !out)
		return -EINVAL;
	if (out->err)
		return out->err;
	n = i2d_X509(c, &der);
	if (n <= 0)
		return crypto_fail("certificate DER encoding");
	err = buf_append(out, der, (size_t)n);
	OPENSSL_free(der);
	if (err)
		out->err = 0;
	return err;
}

int crypto_cert_pem(X509 *c, struct buf *out)
{
	BIO *bio;
	char *p;
	long n;
	int err;

	if (!c || !out)
		return -EINVAL;
	if (out->err)
		return out->err;
	bio = BIO_new(BIO_s_mem());
	if (!bio || !PEM_write_bio_X509(bio, c)) {
		BIO_free(bio);
		return crypto_fail("certificate PEM encoding");
	}
	n = BIO_get_mem_data(bio, &p);
	err = n > 0 ? buf_append(out, p, (size_t)n)
		    : crypto_fail("certificate PEM encoding");
	BIO_free(bio);
	if (err)
		out->err = 0;
	return err;
}

int crypto_cert_from_der(X509 **out, const void *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (!out || (!der && len))
		return -EINVAL;
	if (len > LONG_MAX)
		return -EMSGSIZE;
	x = d2i_X509(NULL, &p, (long)len);
	if (!x)
		return crypto_fail_code(-EBADMSG, "not a DER certificate");
	if (p != (const unsigned char *)der + len) {
		X509_free(x);
		return crypto_errorf(
			-EBADMSG, "%zu bytes after the certificate",
			(size_t)((const unsigned char *)der + len - p));
	}
	*out = x;
	return 0;
}

/* Certificates are never encrypted: refuse instead of letting OpenSSL
 * prompt on a terminal for a PEM header that claims otherwise. */
static int no_password(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

int crypto_cert_from_pem(X509 **out, const void *pem, size_t len)
{
	BIO *bio;
	X509 *x;

	if (!out || (!pem && len))
		return -EINVAL;
	if (len > INT_MAX)
		return -EMSGSIZE;
	if (!len)
		return crypto_errorf(-EBADMSG, "empty PEM input");
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return crypto_fail("BIO");
	x = PEM_read_bio_X509(bio, NULL, no_password, NULL);
	BIO_free(bio);
	if (!x)
		return crypto_fail_code(-EBADMSG, "not a PEM certificate");
	*out = x;
	return 0;
}

int crypto_cert_fingerprint(X509 *c, const EVP_MD *md, char *hex_out,
			    size_t hex_len)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!c || !hex_out)
		return -EINVAL;
	if (!md)
		md = EVP_sha256();
	if (!X509_digest(c, md, d, &n))
		return crypto_fail("certificate fingerprint");
	if (hex_len < 2 * (size_t)n + 1)
		return -EMSGSIZE;
	hex_encode(hex_out, d, n);
	return 0;
}

static int asn1_time_to_time_t(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	time_t v;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return crypto_fail_code(-EBADMSG, "certificate time");
	v = timegm(&tm);
	/* -1 is also 1969-12-31T23:59:59, a time no certificate names */
	if (v == (time_t)-1)
		return crypto_errorf(-EBADMSG, "certificate time out of range");
	*out = v;
	return 0;
}

int crypto_cert_times(X509 *c, time_t *not_before, time_t *not_after)
{
	time_t nb, na;
	int err;

	if (!c || !not_before || !not_after)
		return -EINVAL;
	err = asn1_time_to_time_t(X509_get0_notBefore(c), &nb);
	if (!err)
		err = asn1_time_to_time_t(X509_get0_notAfter(c), &na);
	if (err)
		return err;
	*not_before = nb;
	*not_after = na;
	return 0;
}

int crypto_cert_is_ca(X509 *c, bool *is_ca, bool *has_basic_constraints)
{
	BASIC_CONSTRAINTS *bc;
	int crit = 0;

	if (!c || !is_ca || !has_basic_constraints)
		return -EINVAL;
	bc = X509_get_ext_d2i(c, NID_basic_constraints, &crit, NULL);
	if (!bc) {
		/* -1: absent; -2: more than one (RFC 5280 §4.2); else
		 * present but undecodable */
		if (crit != -1)
			return crypto_fail_code(-EBADMSG, "basicConstraints");
		*is_ca = false;
		*has_basic_constraints = false;
		return 0;
	}
	*is_ca = bc->ca != 0;
	*has_basic_constraints = true;
	BASIC_CONSTRAINTS_free(bc);
	return 0;
}

void crypto_san_list_free(struct crypto_san_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_uris; i++)
		mem_free(l->uris[i]);
	for (size_t i = 0; i < l->n_dns; i++)
		mem_free(l->dns[i]);
	mem_free(l->uris);
	mem_free(l->dns);
	memset(l, 0, sizeof(*l));
}

static int list_add(char ***v, size_t *n, const ASN1_IA5STRING *s)
{
	const unsigned char *p = ASN1_STRING_get0_data(s);
	int len = ASN1_STRING_length(s);
	char **nv;

	if (len < 0 || (len && memchr(p, '\0', (size_t)len)))
		return crypto_errorf(-EBADMSG, "subjectAltName entry holds "
					       "a NUL octet");
	nv = mem_realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = mem_strndup((const char *)p, (size_t)len);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

int crypto_cert_sans(X509 *c, struct crypto_san_list *out)
{
	struct crypto_san_list l = {0};
	GENERAL_NAMES *gens;
	int crit = 0, err = 0;

	if (!c || !out)
		return -EINVAL;
	gens = X509_get_ext_d2i(c, NID_subject_alt_name, &crit, NULL);
	if (!gens) {
		if (crit != -1)
			return crypto_fail_code(-EBADMSG, "subjectAltName");
		*out = l;
		return 0;
	}
	for (int i = 0; !err && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);

		if (gn->type == GEN_URI)
			err = list_add(&l.uris, &l.n_uris,
				       gn->d.uniformResourceIdentifier);
		else if (gn->type == GEN_DNS)
			err = list_add(&l.dns, &l.n_dns, gn->d.dNSName);
	}
	GENERAL_NAMES_free(gens);
	if (err) {
		crypto_san_list_free(&l);
		return err;
	}
	*out = l;
	return 0;
}
