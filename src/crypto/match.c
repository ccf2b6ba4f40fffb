/* SPDX-License-Identifier: BSD-3-Clause */
/* Domain certificates (RFC 5922 §7): which SIP domain identities and host
 * names a certificate asserts, compared whole and case-insensitively: no
 * wildcards, no inference from the DNS hierarchy, no IP addresses. */
#include "crypto/priv.h"

#include <arpa/inet.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* ASCII case-insensitive comparison of a length-counted value with a
 * host name (RFC 4343 §3: DNS names compare case-insensitively; anything
 * non-ASCII, such as a U-label, compares octet-wise). */
static bool name_eq(const unsigned char *p, size_t len, const char *host)
{
	size_t n = strlen(host);

	if (len != n)
		return false;
	return slice_caseeq(slice_of((const char *)p, len), slice_of(host, n));
}

/* A wildcard or an empty label is not a host name. */
bool crypto_is_host_name(const char *s)
{
	const char *label = s;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s == '.') {
			if (s == label)
				return false;
			label = s + 1;
		} else if (!char_is_alpha((unsigned char)*s) &&
			   !char_is_digit((unsigned char)*s) && *s != '-') {
			return false;
		}
	}
	return true;
}

static bool is_ip_literal(const char *s)
{
	unsigned char a[16];
	size_t n = strlen(s);

	if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
		return true;
	/* a bracketed IPv6 reference, as in a SIP URI host (RFC 3261 §25.1) */
	return n > 2 && s[0] == '[' && s[n - 1] == ']';
}

/* 0 for a host name to look for, -ENOENT for an IP address (which no
 * domain certificate identity matches), -EINVAL for anything else. */
static int check_host(const char *host)
{
	if (!host)
		return -EINVAL;
	if (is_ip_literal(host))
		return -ENOENT;
	if (!crypto_is_host_name(host))
		return crypto_errorf(-EINVAL, "not a host name: %s", host);
	return 0;
}

/* The subjectAltName extension: NULL with *has_san false when absent,
 * -EBADMSG when repeated (RFC 5280 §4.2) or undecodable. */
static int get_sans(X509 *c, GENERAL_NAMES **gens, bool *has_san)
{
	int crit = 0;

	*gens = X509_get_ext_d2i(c, NID_subject_alt_name, &crit, NULL);
	if (!*gens && crit != -1)
		return crypto_fail_code(-EBADMSG, "subjectAltName");
	*has_san = *gens != NULL;
	return 0;
}

static const ASN1_IA5STRING *san_of(const GENERAL_NAMES *gens, int i, int type)
{
	const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);

	if (gn->type != type)
		return NULL;
	return type == GEN_URI ? gn->d.uniformResourceIdentifier
			       : gn->d.dNSName;
}

/* RFC 5922 §7.1: a URI entry is a SIP domain identity when its scheme is
 * "sip" ("sips" is not used) and it has no user part. §7.2: only its DNS
 * name is compared, never the scheme, a port or parameters. */
static bool sip_identity(const ASN1_IA5STRING *s, const unsigned char **host,
			 size_t *host_len)
{
	const unsigned char *p = ASN1_STRING_get0_data(s);
	size_t len = (size_t)ASN1_STRING_length(s);
	size_t n;

	if (len < 4 || !slice_caseeq_cstr(slice_of((const char *)p, 4), "sip:"))
		return false;
	p += 4;
	len -= 4;
	if (memchr(p, '@', len))
		return false;
	for (n = 0; n < len && p[n] != ':' && p[n] != ';' && p[n] != '?'; n++)
		;
	*host = p;
	*host_len = n;
	return true;
}

/* The last (most specific) CN of the subject, if it is a host name. */
static bool cn_matches(X509 *c, const char *host)
{
	const X509_NAME *subject = X509_get_subject_name(c);
	const X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL;
	int i, last = -1, n;
	bool is_match = false;

	for (i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	     i >= 0; i = X509_NAME_get_index_by_NID(subject, NID_commonName, i))
		last = i;
	if (last < 0)
		return false;
	e = X509_NAME_get_entry(subject, last);
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
	if (n > 0 && !memchr(utf8, '\0', (size_t)n) &&
	    crypto_is_host_name((const char *)utf8))
		is_match = name_eq(utf8, (size_t)n, host);
	OPENSSL_free(utf8);
	ERR_clear_error();
	return is_match;
}

int crypto_cert_matches_sip_domain(X509 *c, const char *domain)
{
	GENERAL_NAMES *gens = NULL;
	const unsigned char *h;
	size_t h_len;
	bool has_san = false, has_sip_id = false, is_match = false;
	int err;

	if (!c)
		return -EINVAL;
	err = check_host(domain);
	if (!err)
		err = get_sans(c, &gens, &has_san);
	if (err)
		return err;
	/* §7.1: the sip URI entries first */
	for (int i = 0; has_san && i < sk_GENERAL_NAME_num(gens); i++) {
		const ASN1_IA5STRING *s = san_of(gens, i, GEN_URI);

		if (!s || !sip_identity(s, &h, &h_len))
			continue;
		has_sip_id = true;
		if (name_eq(h, h_len, domain))
			is_match = true;
	}
	/* §7.1: a DNS entry is a SIP domain identity "if and only if no
	 * other identity is found that matches the sip URI type" */
	for (int i = 0; has_san && !has_sip_id && i < sk_GENERAL_NAME_num(gens);
	     i++) {
		const ASN1_IA5STRING *s = san_of(gens, i, GEN_DNS);

		if (s && name_eq(ASN1_STRING_get0_data(s),
				 (size_t)ASN1_STRING_length(s), domain))
			is_match = true;
	}
	/* §7.1 step 2: the CN only when there is no subjectAltName */
	if (!has_san)
		is_match = cn_matches(c, domain);
	GENERAL_NAMES_free(gens);
	return is_match ? 0 : -ENOENT;
}

int crypto_cert_matches_dns(X509 *c, const char *host)
{
	GENERAL_NAMES *gens = NULL;
	bool has_san = false, has_name = false, is_match = false;
	int err;

	if (!c)
		return -EINVAL;
	err = check_host(host);
	if (!err)
		err = get_sans(c, &gens, &has_san);
	if (err)
		return err;
	for (int i = 0; has_san && i < sk_GENERAL_NAME_num(gens); i++) {
		const ASN1_IA5STRING *s = san_of(gens, i, GEN_DNS);

		if (san_of(gens, i, GEN_URI))
			has_name = true;
		if (!s)
			continue;
		has_name = true;
		/* "*.example.com" is compared as those octets, so it never
		 * matches a real host (RFC 5922 §7.2) */
		if (name_eq(ASN1_STRING_get0_data(s),
			    (size_t)ASN1_STRING_length(s), host))
			is_match = true;
	}
	/* the CN only when no URI or DNS entry names the subject
	 * (RFC 6125 §6.4.4) */
	if (!has_name)
		is_match = cn_matches(c, host);
	GENERAL_NAMES_free(gens);
	return is_match ? 0 : -ENOENT;
}
