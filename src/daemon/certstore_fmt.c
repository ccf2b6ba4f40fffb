/* SPDX-License-Identifier: BSD-3-Clause */
/* The certificate store's pure parts: search-cgi AORs (draft-jennings-
 * sipping-certs §4), certs-only PKCS#7 (RFC 2315 §9.1, RFC 8551 §3.2.2),
 * caching headers (RFC 9111 §5.2, RFC 9110 §8.8, §13.1.2) and the JSON of
 * the self-service API. No I/O. */
#include "daemon/certstore.h"

#include <stdio.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"

enum {
	ETAG_HEX = 32, /* 128 bits of SHA-256: plenty to tell sets apart */
	DEVICE_MAX_OCTETS = 127,
	NAME_MAX_BYTES = 4096, /* a printed subject or issuer */
};

/* ---- the AOR a query names ----------------------------------------------- */

int certstore_aor_parse(struct slice value, const char *domain, char *out,
			size_t n)
{
	struct slice v = slice_trim(value);
	struct sip_uri u;
	struct buf b;
	int err;

	if (!domain || !out || !n)
		return -EINVAL;
	buf_init(&b, 1024);
	/* the draft's query is "user%40domain"; a sip: URI says the same */
	if (!(v.len > 4 && mem_caseeq(v.p, "sip:", 4)) &&
	    !(v.len > 5 && mem_caseeq(v.p, "sips:", 5)))
		(void)buf_append_cstr(&b, "sip:");
	(void)buf_append_slice(&b, v);
	err = b.err;
	if (!err && sip_uri_parse(buf_slice(&b), &u))
		err = -EBADMSG;
	/* an AOR and nothing else: no password, port, parameter or header */
	if (!err && (!u.user.len || u.password.p || u.has_port ||
		     u.params.len || u.headers.len))
		err = -EBADMSG;
	if (!err && !slice_caseeq_cstr(u.host, domain))
		err = -ENOENT;
	if (!err) {
		err = auth_uri_aor(&u, out, n);
		if (err == -EINVAL)
			err = -EBADMSG;
	}
	buf_fini(&b);
	return err;
}

/* ---- certs-only PKCS#7 --------------------------------------------------- */

int certstore_pkcs7_certs(const struct slice *ders, size_t n, struct buf *out)
{
	unsigned char *der = NULL;
	PKCS7 *p7 = NULL;
	int len, err = 0;

	if (!ders || !n || !out)
		return -EINVAL;
	ERR_clear_error();
	p7 = PKCS7_new();
	/* RFC 2315 §9.1 degenerate case: no signers, and the content
	 * (type data) absent, as `openssl crl2pkcs7 -nocrl` writes it */
	if (!p7 || !PKCS7_set_type(p7, NID_pkcs7_signed) ||
	    !PKCS7_set0_type_other(p7->d.sign->contents, NID_pkcs7_data,
				   NULL)) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		X509 *x = NULL;
		int ok;

		err = crypto_cert_from_der(&x, ders[i].p, ders[i].len);
		if (err)
			goto out;
		ok = PKCS7_add_certificate(p7, x); /* takes its own ref */
		X509_free(x);
		if (!ok) {
			err = -ENOMEM;
			goto out;
		}
	}
	len = i2d_PKCS7(p7, &der);
	if (len <= 0) {
		err = -EPROTO;
		goto out;
	}
	err = buf_append(out, der, (size_t)len);
out:
	OPENSSL_free(der);
	PKCS7_free(p7);
	if (err)
		ERR_clear_error();
	return err;
}

/* ---- dates --------------------------------------------------------------- */

static int utc_of(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	/* four-digit years only: both formats are fixed-width */
	if (t < 0 || t > INT64_C(253402300799) || !gmtime_r(&tt, tm))
		return -EINVAL;
	return 0;
}

int certstore_http_date(int64_t t, char *out, size_t n)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
					"Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
					   "May", "Jun", "Jul", "Aug",
					   "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	if (!out || n < 30)
		return -EMSGSIZE;
	if (utc_of(t, &tm))
		return -EINVAL;
	/* RFC 9110 §5.6.7 IMF-fixdate, fixed English names: no locale */
	snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

int certstore_rfc3339(int64_t t, char *out, size_t n)
{
	struct tm tm;

	if (!out || n < 21)
		return -EMSGSIZE;
	if (utc_of(t, &tm))
		return -EINVAL;
	snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

/* ---- caching ------------------------------------------------------------- */

static int etag_of(const struct certstore_cert_info *c, size_t n, char out[40])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);

	for (size_t i = 0; ok && i < n; i++)
		ok = c[i].sha256 &&
		     EVP_DigestUpdate(ctx, c[i].sha256, strlen(c[i].sha256)) &&
		     EVP_DigestUpdate(ctx, "\n", 1);
	ok = ok && EVP_DigestFinal_ex(ctx, md, &md_len);
	EVP_MD_CTX_free(ctx);
	if (!ok || md_len * 2 < ETAG_HEX)
		return -EPROTO;
	hex_encode(hex, md, md_len);
	snprintf(out, 40, "\"%.*s\"", ETAG_HEX, hex);
	return 0;
}

int certstore_cache_compute(const struct certstore_cert_info *c, size_t n,
			    int64_t now, uint32_t cap_s,
			    struct certstore_cache *out)
{
	struct certstore_cache r = {0};
	int64_t earliest, latest, left;
	int err;

	if (!c || !n || !out)
		return -EINVAL;
	earliest = c[0].not_after;
	latest = c[0].published_at;
	for (size_t i = 1; i < n; i++) {
		if (c[i].not_after < earliest)
			earliest = c[i].not_after;
		if (c[i].published_at > latest)
			latest = c[i].published_at;
	}
	/* a cache must not keep a certificate past its notAfter, nor any
	 * answer longer than the operator allows (the draft's revocation
	 * relies on callers' caches expiring) */
	left = earliest > now ? earliest - now : 0;
	r.max_age_s = left < (int64_t)cap_s ? (uint32_t)left : cap_s;
	if (r.max_age_s)
		snprintf(r.cache_control, sizeof(r.cache_control),
			 "public, max-age=%u", r.max_age_s);
	else
		snprintf(r.cache_control, sizeof(r.cache_control), "no-cache");
	/* RFC 9110 §8.8.2.1: never later than the answer's Date */
	if (latest > now)
		latest = now;
	err = certstore_http_date(now + r.max_age_s, r.expires,
				  sizeof(r.expires));
	if (!err)
		err = certstore_http_date(latest, r.last_modified,
					  sizeof(r.last_modified));
	if (!err)
		err = etag_of(c, n, r.etag);
	if (err)
		return err;
	*out = r;
	return 0;
}

/* RFC 9110 §8.8.3: etagc = %x21 / %x23-7E / obs-text */
static bool is_etagc(int c)
{
	return c == 0x21 || (c >= 0x23 && c != 0x7f && c <= 0xff);
}

static bool is_ows(int c)
{
	return c == ' ' || c == '\t';
}

bool certstore_etag_match(const char *if_none_match, const char *etag)
{
	struct slice want;
	struct scan s;
	bool hit = false;

	if (!if_none_match || !etag)
		return false;
	want = slice_cstr(etag);
	/* our own tags are strong and quoted: compare the opaque-tags */
	if (want.len < 2 || want.p[0] != '"' || want.p[want.len - 1] != '"')
		return false;
	want = slice_of(want.p + 1, want.len - 2);
	s = scan_of(slice_cstr(if_none_match));
	while (s.p < s.end && is_ows((unsigned char)*s.p))
		s.p++;
	if (!scan_char(&s, '*')) {
		while (s.p < s.end && is_ows((unsigned char)*s.p))
			s.p++;
		return scan_done(&s);
	}
	/* 1#entity-tag; RFC 9110 §5.6.1.2: empty list elements are allowed */
	for (;;) {
		struct slice tag = SLICE_NULL;

		while (s.p < s.end &&
		       (is_ows((unsigned char)*s.p) || *s.p == ','))
			s.p++;
		if (scan_done(&s))
			return hit;
		/* §13.1.2: If-None-Match uses the weak comparison */
		(void)scan_lit(&s, "W/");
		if (scan_char(&s, '"'))
			return false;
		tag.p = s.p;
		while (s.p < s.end && is_etagc((unsigned char)*s.p))
			s.p++;
		tag.len = (size_t)(s.p - tag.p);
		if (scan_char(&s, '"'))
			return false;
		hit = hit || slice_eq(tag, want);
		while (s.p < s.end && is_ows((unsigned char)*s.p))
			s.p++;
		if (!scan_done(&s) && scan_char(&s, ','))
			return false;
	}
}

/* ---- request headers and bodies ------------------------------------------ */

bool certstore_ctype_is(const char *value, const char *type)
{
	struct slice v, t;
	const char *semi;

	if (!value || !type)
		return false;
	v = slice_cstr(value);
	semi = memchr(v.p, ';', v.len);
	if (semi)
		v.len = (size_t)(semi - v.p);
	v = slice_trim(v);
	t = slice_cstr(type);
	/* RFC 9110 §8.3.1: type and subtype are case-insensitive */
	return slice_caseeq(v, t);
}

int certstore_device_parse(const char *header, char *out, size_t n)
{
	struct slice v;

	if (!out || n < 5)
		return -EINVAL;
	if (!header) {
		snprintf(out, n, "http");
		return 0;
	}
	v = slice_trim(slice_cstr(header));
	if (!v.len || v.len > DEVICE_MAX_OCTETS || v.len >= n)
		return -EBADMSG;
	for (size_t i = 0; i < v.len; i++)
		if ((unsigned char)v.p[i] < 0x20 ||
		    (unsigned char)v.p[i] > 0x7e)
			return -EBADMSG;
	memcpy(out, v.p, v.len);
	out[v.len] = '\0';
	return 0;
}

int certstore_revoke_parse(struct slice body, char out[65])
{
	json_t *o, *v;
	const char *s;
	int err = -EBADMSG;

	if (!out || !body.p || !body.len)
		return -EBADMSG;
	o = json_loadb(body.p, body.len, JSON_REJECT_DUPLICATES, NULL);
	v = json_is_object(o) ? json_object_get(o, "sha256") : NULL;
	s = json_is_string(v) ? json_string_value(v) : NULL;
	if (s && json_string_length(v) == 64) {
		err = 0;
		for (size_t i = 0; i < 64 && !err; i++)
			if (!char_is_hex((unsigned char)s[i]))
				err = -EBADMSG;
		if (!err) {
			for (size_t i = 0; i < 64; i++)
				out[i] = (char)char_lower((unsigned char)s[i]);
			out[64] = '\0';
		}
	}
	json_decref(o);
	return err;
}

/* ---- GET /self/api/certs ------------------------------------------------- */

/* A distinguished name as RFC 4514 text, UTF-8 (escaped ASCII when that
 * is not valid UTF-8 for JSON). */
static json_t *name_json(const X509_NAME *nm)
{
	unsigned long flags[2] = {XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB,
				  XN_FLAG_RFC2253};
	json_t *j = NULL;

	for (size_t i = 0; !j && i < ARRAY_SIZE(flags); i++) {
		BIO *b = BIO_new(BIO_s_mem());
		char *p = NULL;
		long len;

		if (!b)
			return NULL;
		if (X509_NAME_print_ex(b, nm, 0, flags[i]) >= 0) {
			len = BIO_get_mem_data(b, &p);
			if (len >= 0 && len <= NAME_MAX_BYTES)
				j = json_stringn(p ? p : "", (size_t)len);
		}
		BIO_free(b);
	}
	ERR_clear_error();
	return j;
}

static json_t *time_json(int64_t t)
{
	char s[24];

	return certstore_rfc3339(t, s, sizeof(s)) ? json_null()
						  : json_string(s);
}

static int cert_json(const struct store_cred *c, json_t **out)
{
	char sha1[2 * 20 + 1];
	X509 *x = NULL;
	json_t *o = NULL;
	int err;

	err = crypto_cert_from_der(&x, c->cert_der, c->cert_len);
	if (!err)
		err = crypto_cert_fingerprint(x, EVP_sha1(), sha1,
					      sizeof(sha1));
	if (!err) {
		o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:o}",
			      "sha256", c->sha256, "sha1", sha1, "subject",
			      name_json(X509_get_subject_name(x)), "issuer",
			      name_json(X509_get_issuer_name(x)), "not_before",
			      time_json(c->not_before), "not_after",
			      time_json(c->not_after), "device", c->device,
			      "published_at", time_json(c->published_at));
		if (!o)
			err = -ENOMEM;
	}
	X509_free(x);
	if (err)
		return err;
	*out = o;
	return 0;
}

static int dump_to_buf(const char *p, size_t n, void *arg)
{
	return buf_append(arg, p, n) ? -1 : 0;
}

int certstore_certs_json(const char *aor, struct store_cred *const *v, size_t n,
			 struct buf *out)
{
	json_t *root, *arr;
	int err = 0;

	if (!aor || (n && !v) || !out)
		return -EINVAL;
	root = json_object();
	arr = json_array();
	if (!root || !arr ||
	    json_object_set_new(root, "aor", json_string(aor)) ||
	    json_object_set(root, "certs", arr))
		err = -ENOMEM;
	for (size_t i = 0; !err && i < n; i++) {
		json_t *o = NULL;

		err = cert_json(v[i], &o);
		if (!err && json_array_append_new(arr, o))
			err = -ENOMEM;
	}
	if (!err && json_dump_callback(root, dump_to_buf, out, JSON_COMPACT))
		err = out->err ? out->err : -ENOMEM;
	json_decref(arr);
	json_decref(root);
	return err;
}

/* ---- the embedded files -------------------------------------------------- */

const struct certstore_www_file *certstore_www_find(const char *name)
{
	if (!name)
		return NULL;
	if (!*name)
		name = "index.html";
	for (size_t i = 0; i < certstore_www_n_files; i++)
		if (!strcmp(certstore_www_files[i].name, name))
			return &certstore_www_files[i];
	return NULL;
}

const char *certstore_www_ctype(const char *name)
{
	static const struct {
		const char *ext;
		const char *ctype;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"}, /* RFC 9239 */
		{".css", "text/css; charset=utf-8"},
		{".json", "application/json"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
	};
	const char *dot = name ? strrchr(name, '.') : NULL;

	for (size_t i = 0; dot && i < ARRAY_SIZE(types); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].ctype;
	return "application/octet-stream";
}
