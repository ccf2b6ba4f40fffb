/* SPDX-License-Identifier: BSD-3-Clause */
/* The credential service's NOTIFY: bodies of both packages (RFC 6072
 * §6.4, §7.4), every header of the request (§6.7, RFC 6665 §8.2), header
 * injection, and the RFC 4474 signature (RFC 6072 §8) checked by
 * identity_verify(), tampering, refusals and truncation. */
#include "test.h"

#include "cred/cred_int.h"
#include "crypto/crypto.h"

enum { BODY_MAX = 256 * 1024, MSG_MAX = 128 * 1024 };

/* One RSA-2048 key and its self-signed certificate for the whole file:
 * making them is the slow part. OpenSSL owns their memory, so the
 * runner's leak check around each test does not see them. */
static EVP_PKEY *fx_key;
static X509 *fx_cert;

static int fixture(void)
{
	static const char *const uris[] = {"sip:bob@example.com"};
	EVP_PKEY *k = NULL;
	X509 *c = NULL;
	int err;

	if (fx_key)
		return 0;
	err = crypto_key_generate(&k, CRYPTO_KEY_RSA2048);
	if (!err)
		err = crypto_cert_create(&c, k, NULL, NULL,
					 &(struct crypto_cert_opts){
						 .uri_sans = uris,
						 .n_uri_sans = 1,
						 .common_name = "example.com",
						 .days = 30,
					 });
	if (err) {
		EVP_PKEY_free(k);
		return err;
	}
	fx_key = k;
	fx_cert = c;
	return 0;
}

/* Bytes of every value, NUL, CR and LF included, so the body is binary. */
static void fill(char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)((i * 131 + seed) & 0xff);
}

static struct cred_notify_req base_req(const struct cred_body *body)
{
	return (struct cred_notify_req){
		.request_uri = "sip:alice@192.0.2.10:5061;transport=tls",
		.route_set = "<sip:proxy.example.com;lr>",
		.local_uri = "sip:bob@example.com",
		.local_tag = "n0t1fy",
		.remote_uri = "sip:alice@example.com",
		.remote_tag = "5ub5cr1be",
		.call_id = "a84b4c76e66710@pc33.example.com",
		.cseq = 7,
		.contact = "sip:cred.example.com:5061;transport=tls",
		.pkg = CRED_PKG_CERTIFICATE,
		.substate = "active;expires=3599",
		.date = 1700000000, /* Tue, 14 Nov 2023 22:13:20 GMT */
		.body = body,
	};
}

static const char info_url[] = "https://cred.example.com/cert/bob";

/* Insert a Via after the request line, as the transaction layer would,
 * and decode the result with flags. */
static int decode_with_via(struct slice msg, unsigned flags,
			   struct sip_msg **mp)
{
	static const char via[] =
		"Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK776asdhds\r\n";
	const char *eol = memmem(msg.p, msg.len, "\r\n", 2);
	struct buf b;
	size_t line;
	int err;

	if (!eol)
		return -EBADMSG;
	line = (size_t)(eol - msg.p) + 2;
	buf_init(&b, MSG_MAX);
	buf_append(&b, msg.p, line);
	buf_append(&b, via, sizeof(via) - 1);
	err = buf_append(&b, msg.p + line, msg.len - line);
	if (!err)
		err = sip_msg_decode(mp, b.p, b.len, flags, NULL);
	buf_fini(&b);
	return err;
}

static bool has(struct slice s, const char *needle)
{
	return s.p && memmem(s.p, s.len, needle, strlen(needle)) != NULL;
}

/* The value of the only header of this id, or an empty slice. */
static struct slice hdr_value(const struct sip_msg *m, enum sip_hdr_id id)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);

	if (!h || sip_msg_hdr_next(m, h))
		return SLICE_LIT("");
	return h->value;
}

/* A certificate-package body over fill()ed bytes. */
static int make_body(enum cred_pkg pkg, size_t cert_len, size_t key_len,
		     struct cred_body *body, char **store)
{
	char *p = mem_alloc(cert_len + key_len + 1);
	int err;

	if (!p)
		return -ENOMEM;
	fill(p, cert_len, 1);
	fill(p + cert_len, key_len, 2);
	buf_init(&body->bytes, BODY_MAX);
	body->bytes.is_secret = pkg == CRED_PKG_CREDENTIAL;
	err = cred_notify_body(pkg, slice_of(p, cert_len),
			       slice_of(p + cert_len, key_len), body);
	if (err) {
		buf_fini(&body->bytes);
		mem_free(p);
		return err;
	}
	*store = p;
	return 0;
}

/* ---- bodies ------------------------------------------------------------- */

TEST(cred_notify_body_certificate)
{
	char der[300], key[40];
	struct cred_body body;
	int rc = -1;

	fill(der, sizeof(der), 3);
	fill(key, sizeof(key), 4);
	buf_init(&body.bytes, BODY_MAX);
	/* §6.4: the DER alone; the key is never part of this package */
	if (cred_notify_body(CRED_PKG_CERTIFICATE, slice_of(der, sizeof(der)),
			     slice_of(key, sizeof(key)), &body))
		goto out;
	if (strcmp(body.ctype, "application/pkix-cert") ||
	    body.bytes.len != sizeof(der) ||
	    memcmp(body.bytes.p, der, sizeof(der)))
		goto out;
	rc = 0;
out:
	buf_fini(&body.bytes);
	return rc;
}

/* Split a credential body back into its parts. */
static int split_body(const struct cred_body *body, struct sip_part *parts,
		      size_t max, size_t *n)
{
	struct sip_ctype ct;

	if (sip_ctype_parse(slice_cstr(body->ctype), &ct) ||
	    !slice_eq_cstr(ct.type, "multipart") ||
	    !slice_eq_cstr(ct.subtype, "mixed") || !ct.boundary.p)
		return -EBADMSG;
	/* the Content-Type is exactly "multipart/mixed;boundary=B" */
	if (strncmp(body->ctype, "multipart/mixed;boundary=", 25) ||
	    strlen(body->ctype) != 25 + ct.boundary.len)
		return -EBADMSG;
	return sip_multipart_parse(buf_slice(&body->bytes), ct.boundary, parts,
				   max, n);
}

/* The part's type and bytes, no Content-Disposition or Content-ID, and
 * §7.4's binary transfer encoding said in its header block. */
static bool part_is(const struct sip_part *p, const char *ctype,
		    const char *data, size_t len)
{
	static const char cte[] = "Content-Transfer-Encoding: binary";
	struct slice h = p->headers;
	bool has_cte = false;

	for (size_t i = 0; i + sizeof(cte) - 1 <= h.len && !has_cte; i++)
		has_cte = !memcmp(h.p + i, cte, sizeof(cte) - 1);
	return slice_eq_cstr(p->ctype, ctype) && p->body.len == len &&
	       !memcmp(p->body.p, data, len) && !p->disposition.len &&
	       !p->content_id.len && has_cte;
}

TEST(cred_notify_body_credential)
{
	char der[700], key[1200];
	struct sip_part parts[4];
	struct cred_body body;
	size_t n = 0;
	int rc = -1;

	fill(der, sizeof(der), 5);
	fill(key, sizeof(key), 6);
	buf_init(&body.bytes, BODY_MAX);
	body.bytes.is_secret = true;
	/* §7.4: multipart/mixed with the certificate, then the key */
	if (cred_notify_body(CRED_PKG_CREDENTIAL, slice_of(der, sizeof(der)),
			     slice_of(key, sizeof(key)), &body) ||
	    split_body(&body, parts, ARRAY_SIZE(parts), &n) || n != 2 ||
	    !part_is(&parts[0], "application/pkix-cert", der, sizeof(der)) ||
	    !part_is(&parts[1], "application/pkcs8", key, sizeof(key)))
		goto out;
	rc = 0;
out:
	buf_fini(&body.bytes);
	return rc;
}

TEST(cred_notify_body_credential_without_key)
{
	char der[500];
	struct sip_part parts[4];
	struct cred_body body;
	size_t n = 0;
	int rc = -1;

	fill(der, sizeof(der), 7);
	buf_init(&body.bytes, BODY_MAX);
	if (cred_notify_body(CRED_PKG_CREDENTIAL, slice_of(der, sizeof(der)),
			     SLICE_NULL, &body) ||
	    split_body(&body, parts, ARRAY_SIZE(parts), &n) || n != 1 ||
	    !part_is(&parts[0], "application/pkix-cert", der, sizeof(der)))
		goto out;
	rc = 0;
out:
	buf_fini(&body.bytes);
	return rc;
}

TEST(cred_notify_body_empty)
{
	static const enum cred_pkg pkgs[] = {CRED_PKG_CERTIFICATE,
					     CRED_PKG_CREDENTIAL};
	char key[64];

	fill(key, sizeof(key), 8);
	/* §6.7, §7.9: nothing published, or revoked: no body at all, even
	 * with a key at hand */
	for (size_t i = 0; i < ARRAY_SIZE(pkgs); i++) {
		struct cred_body body;
		int err;

		buf_init(&body.bytes, BODY_MAX);
		memcpy(body.ctype, "stale", 6);
		err = cred_notify_body(pkgs[i], SLICE_NULL,
				       slice_of(key, sizeof(key)), &body);
		TEST_EQ_INT(err, 0);
		TEST_EQ_INT(body.bytes.len, 0);
		TEST_EQ_STR(body.ctype, "");
		buf_fini(&body.bytes);
	}
	return 0;
}

TEST(cred_notify_body_refusals)
{
	char der[600];
	struct cred_body body;
	int rc = -1;

	fill(der, sizeof(der), 9);
	buf_init(&body.bytes, BODY_MAX);
	memcpy(body.ctype, "kept", 5);
	if (cred_notify_body(CRED_PKG_CERTIFICATE, SLICE_NULL, SLICE_NULL,
			     NULL) != -EINVAL ||
	    cred_notify_body(CRED_PKG_CERTIFICATE, slice_of(NULL, 3),
			     SLICE_NULL, &body) != -EINVAL ||
	    cred_notify_body(CRED_PKG_CREDENTIAL, slice_of(der, 3),
			     slice_of(NULL, 3), &body) != -EINVAL ||
	    cred_notify_body((enum cred_pkg)7, slice_of(der, 3), SLICE_NULL,
			     &body) != -EINVAL)
		goto out;
	/* a body that is not empty to begin with */
	buf_append(&body.bytes, "x", 1);
	if (cred_notify_body(CRED_PKG_CERTIFICATE, slice_of(der, 3), SLICE_NULL,
			     &body) != -EINVAL ||
	    body.bytes.len != 1)
		goto out;
	buf_fini(&body.bytes);
	/* a sticky error is passed on */
	buf_init(&body.bytes, BODY_MAX);
	body.bytes.err = -ENOMEM;
	if (cred_notify_body(CRED_PKG_CERTIFICATE, slice_of(der, 3), SLICE_NULL,
			     &body) != -ENOMEM)
		goto out;
	buf_fini(&body.bytes);
	/* over the cap: -EMSGSIZE, the body left empty and error-free, the
	 * Content-Type untouched */
	for (int pkg = 0; pkg < 2; pkg++) {
		buf_init(&body.bytes, sizeof(der) - 1);
		if (cred_notify_body((enum cred_pkg)pkg,
				     slice_of(der, sizeof(der)),
				     slice_of(der, 10), &body) != -EMSGSIZE ||
		    body.bytes.len || body.bytes.err ||
		    strcmp(body.ctype, "kept"))
			goto out;
		buf_fini(&body.bytes);
	}
	rc = 0;
out:
	buf_fini(&body.bytes);
	return rc;
}

/* ---- the request -------------------------------------------------------- */

TEST(cred_notify_build_headers)
{
	struct cred_body body = {0};
	struct cred_notify_req r;
	struct sip_msg *m = NULL;
	struct buf head, tail, all;
	struct sip_disposition d;
	struct sip_substate ss;
	char *store = NULL;
	int rc = -1;

	buf_init(&head, MSG_MAX);
	buf_init(&tail, MSG_MAX);
	buf_init(&all, MSG_MAX);
	if (make_body(CRED_PKG_CREDENTIAL, 400, 300, &body, &store))
		goto out;
	r = base_req(&body);
	r.pkg = CRED_PKG_CREDENTIAL;
	if (cred_notify_build(&r, &head, &tail))
		goto out;
	/* head ends with Date, tail starts with the body's headers, and
	 * neither has a Via (the transaction layer's) */
	if (!has(buf_slice(&head),
		 "\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n") ||
	    memcmp(head.p + head.len - 37,
		   "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n", 37) ||
	    memcmp(tail.p, "Content-Type: multipart/mixed;boundary=", 39) ||
	    has(buf_slice(&head), "Via") || has(buf_slice(&tail), "\r\nVia"))
		goto out;
	buf_append_slice(&all, buf_slice(&head));
	buf_append_slice(&all, buf_slice(&tail));
	if (all.err || decode_with_via(buf_slice(&all), SIP_DECODE_STRICT, &m))
		goto out;

	TEST_ASSERT(m->is_request && m->method_id == SIP_METHOD_NOTIFY);
	TEST_EQ_SLICE(m->ruri_s, "sip:alice@192.0.2.10:5061;transport=tls");
	TEST_EQ_SLICE(hdr_value(m, SIP_HDR_ROUTE),
		      "<sip:proxy.example.com;lr>");
	TEST_ASSERT(m->has_max_forwards && m->max_forwards == 70);
	TEST_EQ_SLICE(hdr_value(m, SIP_HDR_FROM),
		      "<sip:bob@example.com>;tag=n0t1fy");
	TEST_EQ_SLICE(m->from.tag, "n0t1fy");
	TEST_EQ_SLICE(hdr_value(m, SIP_HDR_TO),
		      "<sip:alice@example.com>;tag=5ub5cr1be");
	TEST_EQ_SLICE(m->to.tag, "5ub5cr1be");
	TEST_EQ_SLICE(m->call_id, "a84b4c76e66710@pc33.example.com");
	TEST_EQ_SLICE(hdr_value(m, SIP_HDR_CSEQ), "7 NOTIFY");
	TEST_ASSERT(m->cseq.num == 7 && m->cseq.method_id == SIP_METHOD_NOTIFY);
	TEST_EQ_SLICE(hdr_value(m, SIP_HDR_CONTACT),
		      "<sip:cred.example.com:5061;transport=tls>");
	TEST_ASSERT(m->has_event);
	TEST_EQ_SLICE(hdr_value(m, SIP_HDR_EVENT), "credential");
	TEST_EQ_SLICE(m->event.package, "credential");
	TEST_EQ_SLICE(hdr_value(m, SIP_HDR_SUBSCRIPTION_STATE),
		      "active;expires=3599");
	TEST_ASSERT(!sip_substate_parse(
		hdr_value(m, SIP_HDR_SUBSCRIPTION_STATE), &ss));
	TEST_ASSERT(ss.has_expires && ss.expires == 3599);
	TEST_EQ_SLICE(hdr_value(m, SIP_HDR_DATE),
		      "Tue, 14 Nov 2023 22:13:20 GMT");
	TEST_EQ_SLICE(hdr_value(m, SIP_HDR_CONTENT_TYPE), body.ctype);
	TEST_ASSERT(!sip_disposition_parse(
		hdr_value(m, SIP_HDR_CONTENT_DISPOSITION), &d));
	TEST_EQ_SLICE(d.type, "signal");
	TEST_ASSERT(m->has_content_length &&
		    m->content_length == body.bytes.len);
	TEST_ASSERT(m->body.len == body.bytes.len &&
		    !memcmp(m->body.p, body.bytes.p, body.bytes.len));
	/* the one Via is ours; nothing else beyond the headers above */
	TEST_EQ_INT(m->n_via, 1);
	TEST_EQ_INT(m->n_hdrs, 14);
	rc = 0;
out:
	sip_msg_free(m);
	buf_fini(&all);
	buf_fini(&tail);
	buf_fini(&head);
	buf_fini(&body.bytes);
	mem_free(store);
	return rc;
}

TEST(cred_notify_build_no_body)
{
	struct cred_body empty = {0};
	const struct cred_body *bodies[] = {NULL, &empty};
	int rc = -1;

	buf_init(&empty.bytes, BODY_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		struct cred_notify_req r = base_req(bodies[i]);
		struct sip_msg *m = NULL;
		struct buf head, tail;
		int err;

		r.route_set = NULL;
		r.substate = "terminated;reason=deactivated";
		buf_init(&head, MSG_MAX);
		buf_init(&tail, MSG_MAX);
		err = cred_notify_build(&r, &head, &tail);
		/* the tail is Content-Length: 0 and the blank line alone */
		if (!err && (tail.len != 21 ||
			     memcmp(tail.p, "Content-Length: 0\r\n\r\n", 21)))
			err = -1;
		if (!err) {
			buf_append_slice(&head, buf_slice(&tail));
			err = decode_with_via(buf_slice(&head),
					      SIP_DECODE_STRICT, &m);
		}
		if (!err && (sip_msg_hdr(m, SIP_HDR_ROUTE) ||
			     sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE) ||
			     sip_msg_hdr(m, SIP_HDR_CONTENT_DISPOSITION) ||
			     m->body.len || m->content_length ||
			     !slice_eq_cstr(m->event.package, "certificate")))
			err = -1;
		sip_msg_free(m);
		buf_fini(&tail);
		buf_fini(&head);
		if (err)
			goto out;
	}
	rc = 0;
out:
	buf_fini(&empty.bytes);
	return rc;
}

/* Each string of the request, by position. */
static const char **req_field(struct cred_notify_req *r, size_t i)
{
	const char **f[] = {
		&r->request_uri, &r->route_set,	 &r->local_uri,
		&r->local_tag,	 &r->remote_uri, &r->remote_tag,
		&r->call_id,	 &r->contact,	 &r->substate,
	};

	return i < ARRAY_SIZE(f) ? f[i] : NULL;
}

/* Build r and expect err, with nothing of the bad value in head. */
static int build_fails(const struct cred_notify_req *r, int want)
{
	struct buf head, tail;
	int err;
	bool leaked;

	buf_init(&head, MSG_MAX);
	buf_init(&tail, MSG_MAX);
	err = cred_notify_build(r, &head, &tail);
	leaked = has(buf_slice(&head), "X-Evil") ||
		 has(buf_slice(&tail), "X-Evil");
	buf_fini(&tail);
	buf_fini(&head);
	if (err != want || leaked) {
		fprintf(stderr, "    build: %d, expected %d%s\n", err, want,
			leaked ? ", injected text written" : "");
		return -1;
	}
	return 0;
}

TEST(cred_notify_build_injection)
{
	static const char *const evil[] = {
		"x\r\nX-Evil: 1",
		"x\nX-Evil: 1",
		"x\rX-Evil: 1",
	};
	struct cred_body body = {0};
	struct cred_notify_req r;
	char *store = NULL;
	int rc = -1;

	/* every string field, with CR, LF or both: -EINVAL, no line */
	for (size_t i = 0; req_field(&r, i); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(evil); j++) {
			r = base_req(NULL);
			*req_field(&r, i) = evil[j];
			if (build_fails(&r, -EINVAL)) {
				fprintf(stderr, "    field %zu, value %zu\n", i,
					j);
				goto out;
			}
		}
	}
	/* and the body's Content-Type */
	if (make_body(CRED_PKG_CERTIFICATE, 100, 0, &body, &store))
		goto out;
	r = base_req(&body);
	memcpy(body.ctype, "a/b\r\nX-Evil: 1", 15);
	if (build_fails(&r, -EINVAL))
		goto out;
	rc = 0;
out:
	buf_fini(&body.bytes);
	mem_free(store);
	return rc;
}

TEST(cred_notify_build_refusals)
{
	struct cred_body body = {0};
	struct cred_notify_req r;
	struct buf head, tail;
	char *store = NULL;
	int rc = -1;

	buf_init(&head, MSG_MAX);
	buf_init(&tail, MSG_MAX);
	r = base_req(NULL);
	if (cred_notify_build(NULL, &head, &tail) != -EINVAL ||
	    cred_notify_build(&r, NULL, &tail) != -EINVAL ||
	    cred_notify_build(&r, &head, NULL) != -EINVAL || head.len ||
	    tail.len)
		goto out;
	/* every string but the route set is required */
	for (size_t i = 0; req_field(&r, i); i++) {
		r = base_req(NULL);
		*req_field(&r, i) = NULL;
		if (build_fails(&r,
				req_field(&r, i) == &r.route_set ? 0 : -EINVAL))
			goto out;
	}
	r = base_req(NULL);
	r.pkg = (enum cred_pkg)9;
	if (build_fails(&r, -EINVAL))
		goto out;
	/* RFC 3261 §8.1.1.5: CSeq below 2^31 */
	r = base_req(NULL);
	r.cseq = 0x80000000u;
	if (build_fails(&r, -EINVAL))
		goto out;
	r.cseq = 0x7fffffffu;
	if (build_fails(&r, 0))
		goto out;
	/* a body without a Content-Type, one not terminated, one whose
	 * building failed */
	if (make_body(CRED_PKG_CERTIFICATE, 100, 0, &body, &store))
		goto out;
	r = base_req(&body);
	body.ctype[0] = '\0';
	if (build_fails(&r, -EINVAL))
		goto out;
	memset(body.ctype, 'a', sizeof(body.ctype));
	if (build_fails(&r, -EINVAL))
		goto out;
	memcpy(body.ctype, "application/pkix-cert", 22);
	body.bytes.err = -EMSGSIZE;
	if (build_fails(&r, -EINVAL))
		goto out;
	body.bytes.err = 0;
	if (build_fails(&r, 0))
		goto out;
	/* the bufs' sticky errors: a full head, a full tail */
	buf_fini(&head);
	buf_init(&head, 100);
	if (cred_notify_build(&r, &head, &tail) != -EMSGSIZE)
		goto out;
	buf_fini(&head);
	buf_init(&head, MSG_MAX);
	buf_fini(&tail);
	buf_init(&tail, 50);
	if (cred_notify_build(&r, &head, &tail) != -EMSGSIZE)
		goto out;
	rc = 0;
out:
	buf_fini(&tail);
	buf_fini(&head);
	buf_fini(&body.bytes);
	mem_free(store);
	return rc;
}

/* ---- the signature ------------------------------------------------------ */

/* A built NOTIFY: its head, tail and the body behind them. */
struct built {
	struct cred_body body;
	char *store;
	struct buf head, tail;
};

static void built_fini(struct built *b)
{
	buf_fini(&b->tail);
	buf_fini(&b->head);
	buf_fini(&b->body.bytes);
	mem_free(b->store);
}

static int built_make(struct built *b, enum cred_pkg pkg, size_t cert_len,
		      size_t key_len)
{
	struct cred_notify_req r;
	int err;

	memset(b, 0, sizeof(*b));
	buf_init(&b->head, MSG_MAX);
	buf_init(&b->tail, MSG_MAX);
	err = make_body(pkg, cert_len, key_len, &b->body, &b->store);
	if (err)
		return err;
	r = base_req(&b->body);
	r.pkg = pkg;
	return cred_notify_build(&r, &b->head, &b->tail);
}

/* Sign and check the shape: head, the two Identity lines, tail. */
static int sign_shape(const struct built *b, enum identity_alg alg,
		      struct buf *out)
{
	char info[128];
	size_t at;
	int n, err;

	err = cred_notify_sign(fx_key, alg, info_url, buf_slice(&b->head),
			       buf_slice(&b->tail), out);
	if (err)
		return err;
	n = snprintf(info, sizeof(info), "\r\nIdentity-Info: <%s>;alg=%s\r\n",
		     info_url, identity_alg_name(alg));
	if (out->len < b->head.len + b->tail.len + 12 + (size_t)n ||
	    memcmp(out->p, b->head.p, b->head.len) ||
	    memcmp(out->p + b->head.len, "Identity: \"", 11) ||
	    memcmp(out->p + out->len - b->tail.len, b->tail.p, b->tail.len))
		return -EBADMSG;
	at = out->len - b->tail.len - (size_t)n;
	if (memcmp(out->p + at, info, (size_t)n) || out->p[at - 1] != '"')
		return -EBADMSG;
	return 0;
}

/* The verdict on a signed message: decoded strictly once a Via is
 * prepended, then identity_verify() with the signer's certificate. */
static int verdict(struct slice msg, enum identity_status *st,
		   enum identity_alg *alg)
{
	struct identity_verify_result r;
	struct sip_msg *m = NULL;
	int err = decode_with_via(msg, SIP_DECODE_STRICT, &m);

	if (!err)
		err = identity_verify(m, fx_cert, &r);
	if (!err) {
		*st = r.status;
		if (alg)
			*alg = r.alg;
	}
	sip_msg_free(m);
	return err;
}

TEST(cred_notify_sign_verifies)
{
	static const enum identity_alg algs[] = {IDENTITY_ALG_RSA_SHA256,
						 IDENTITY_ALG_RSA_SHA1};
	static const enum cred_pkg pkgs[] = {CRED_PKG_CERTIFICATE,
					     CRED_PKG_CREDENTIAL};
	int rc = -1;

	if (fixture())
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(pkgs); j++) {
			enum identity_status st = IDENTITY_MISSING;
			enum identity_alg got = IDENTITY_ALG_UNKNOWN;
			struct built b;
			struct buf out;
			int err;

			buf_init(&out, MSG_MAX);
			err = built_make(&b, pkgs[j], 800, 1200);
			if (!err)
				err = sign_shape(&b, algs[i], &out);
			if (!err)
				err = verdict(buf_slice(&out), &st, &got);
			buf_fini(&out);
			built_fini(&b);
			if (err || st != IDENTITY_OK || got != algs[i]) {
				fprintf(stderr, "    %s %s: %d %s\n",
					identity_alg_name(algs[i]),
					cred_pkg_name(pkgs[j]), err,
					identity_status_name(st));
				goto out;
			}
		}
	}
	rc = 0;
out:
	return rc;
}

/* A reusable signer signs the same bytes as the key itself, for each
 * package and alg, message after message; refusals as cred_notify_sign's. */
TEST(cred_notify_sign_with_signer)
{
	static const enum identity_alg algs[] = {IDENTITY_ALG_RSA_SHA256,
						 IDENTITY_ALG_RSA_SHA1};
	static const enum cred_pkg pkgs[] = {CRED_PKG_CERTIFICATE,
					     CRED_PKG_CREDENTIAL};
	struct identity_signer *sg = NULL;
	struct buf out;
	int rc = -1;

	if (fixture())
		return -1;
	buf_init(&out, MSG_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
		if (identity_signer_new(&sg, fx_key, algs[i]))
			goto out;
		for (size_t j = 0; j < ARRAY_SIZE(pkgs); j++) {
			struct built b;
			struct buf want;
			int err;

			buf_init(&want, MSG_MAX);
			out.len = 0;
			err = built_make(&b, pkgs[j], 800, 1200);
			if (!err)
				err = sign_shape(&b, algs[i], &want);
			if (!err)
				err = cred_notify_sign_with(
					sg, info_url, buf_slice(&b.head),
					buf_slice(&b.tail), &out);
			if (!err &&
			    !slice_eq(buf_slice(&out), buf_slice(&want)))
				err = -EBADMSG;
			/* refused as the key's path refuses: out as it was */
			if (!err &&
			    cred_notify_sign_with(sg, NULL, buf_slice(&b.head),
						  buf_slice(&b.tail),
						  &want) != -EINVAL)
				err = -EINVAL;
			if (!err && cred_notify_sign_with(NULL, info_url,
							  buf_slice(&b.head),
							  buf_slice(&b.tail),
							  &want) != -EINVAL)
				err = -EINVAL;
			buf_fini(&want);
			built_fini(&b);
			if (err) {
				fprintf(stderr, "    %s %s: %d\n",
					identity_alg_name(algs[i]),
					cred_pkg_name(pkgs[j]), err);
				goto out;
			}
		}
		identity_signer_free(sg);
		sg = NULL;
	}
	rc = 0;
out:
	identity_signer_free(sg);
	buf_fini(&out);
	return rc;
}

TEST(cred_notify_sign_no_body)
{
	enum identity_status st = IDENTITY_MISSING;
	struct built b;
	struct buf out;
	int rc = -1;

	if (fixture())
		return -1;
	buf_init(&out, MSG_MAX);
	/* a revocation (§7.9): no body, still signed */
	if (built_make(&b, CRED_PKG_CERTIFICATE, 0, 0) ||
	    sign_shape(&b, IDENTITY_ALG_RSA_SHA256, &out) ||
	    verdict(buf_slice(&out), &st, NULL) || st != IDENTITY_OK ||
	    !has(buf_slice(&out), "\r\nContent-Length: 0\r\n\r\n"))
		goto out;
	rc = 0;
out:
	buf_fini(&out);
	built_fini(&b);
	return rc;
}

/* A different octet of the same kind, so the message still parses. */
static char other(char c)
{
	if (c >= '0' && c <= '9')
		return c == '9' ? '8' : (char)(c + 1);
	if (c >= 'a' && c <= 'z')
		return c == 'z' ? 'y' : (char)(c + 1);
	if (c >= 'A' && c <= 'Z')
		return c == 'Z' ? 'Y' : (char)(c + 1);
	return (char)(c ^ 1);
}

TEST(cred_notify_sign_tamper)
{
	/* the octet right after each needle is changed; RFC 4474 §9 signs
	 * From, To, Call-ID, CSeq, Date, Contact and the body */
	static const struct {
		const char *at;
		enum identity_status want;
	} edits[] = {
		{"\r\nFrom: <sip:", IDENTITY_BAD_SIGNATURE},
		{"\r\nTo: <sip:", IDENTITY_BAD_SIGNATURE},
		{"\r\nCall-ID: ", IDENTITY_BAD_SIGNATURE},
		{"\r\nCSeq: ", IDENTITY_BAD_SIGNATURE},
		{"\r\nDate: Tue, 14 Nov 2023 22:13:2", IDENTITY_BAD_SIGNATURE},
		{"\r\nContact: <sip:", IDENTITY_BAD_SIGNATURE},
		{"\r\n\r\n--sipcert-", IDENTITY_BAD_SIGNATURE},
		{"\r\n\r\n", IDENTITY_BAD_SIGNATURE}, /* the body's first */
		/* not signed: the verdict stays */
		{"\r\nSubscription-State: active;expires=359", IDENTITY_OK},
		{"\r\nRoute: <sip:", IDENTITY_OK},
	};
	struct built b;
	struct buf out;
	int rc = -1;

	if (fixture())
		return -1;
	buf_init(&out, MSG_MAX);
	if (built_make(&b, CRED_PKG_CREDENTIAL, 900, 700) ||
	    sign_shape(&b, IDENTITY_ALG_RSA_SHA256, &out))
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(edits) + 1; i++) {
		enum identity_status st = IDENTITY_MISSING;
		size_t off = out.len - 50; /* the key part's last octets */
		char *p, was;
		int err;

		if (i < ARRAY_SIZE(edits)) {
			p = memmem(out.p, out.len, edits[i].at,
				   strlen(edits[i].at));
			if (!p)
				goto out;
			off = (size_t)(p - out.p) + strlen(edits[i].at);
		}
		was = out.p[off];
		out.p[off] = other(was);
		err = verdict(buf_slice(&out), &st, NULL);
		out.p[off] = was;
		if (err ||
		    st != (i < ARRAY_SIZE(edits) ? edits[i].want
						 : IDENTITY_BAD_SIGNATURE)) {
			fprintf(stderr, "    edit %zu: %d %s\n", i, err,
				identity_status_name(st));
			goto out;
		}
	}
	rc = 0;
out:
	buf_fini(&out);
	built_fini(&b);
	return rc;
}

/* out must hold exactly "prefix" with no error. */
static bool out_kept(const struct buf *out)
{
	return out->len == 6 && !memcmp(out->p, "prefix", 6) && !out->err;
}

/* Sign head/tail into an out holding "prefix": expect want, out kept. */
static int sign_fails(EVP_PKEY *key, enum identity_alg alg, const char *url,
		      struct slice head, struct slice tail, int want)
{
	struct buf out;
	int err;
	bool kept;

	buf_init(&out, MSG_MAX);
	buf_append(&out, "prefix", 6);
	err = cred_notify_sign(key, alg, url, head, tail, &out);
	kept = out_kept(&out);
	buf_fini(&out);
	if (err != want || !kept) {
		fprintf(stderr, "    sign: %d, expected %d%s\n", err, want,
			kept ? "" : ", out changed");
		return -1;
	}
	return 0;
}

/* head with the first occurrence of from replaced by to. */
static int edited(const struct buf *head, const char *from, const char *to,
		  struct buf *out)
{
	const char *p = memmem(head->p, head->len, from, strlen(from));

	buf_init(out, MSG_MAX);
	if (!p)
		return -ENOENT;
	buf_append(out, head->p, (size_t)(p - head->p));
	buf_append_cstr(out, to);
	return buf_append(out, p + strlen(from),
			  head->len - (size_t)(p - head->p) - strlen(from));
}

TEST(cred_notify_sign_refusals)
{
	EVP_PKEY *ec = NULL;
	struct built b;
	struct buf e = {0}, e2 = {0}, out;
	struct slice h, t;
	int rc = -1;

	if (fixture())
		return -1;
	buf_init(&out, MSG_MAX);
	if (built_make(&b, CRED_PKG_CERTIFICATE, 300, 0) ||
	    crypto_key_generate(&ec, CRYPTO_KEY_EC_P256))
		goto out;
	h = buf_slice(&b.head);
	t = buf_slice(&b.tail);
	/* API misuse */
	if (sign_fails(NULL, IDENTITY_ALG_RSA_SHA256, info_url, h, t,
		       -EINVAL) ||
	    sign_fails(fx_key, IDENTITY_ALG_UNKNOWN, info_url, h, t, -EINVAL) ||
	    sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256, NULL, h, t, -EINVAL) ||
	    sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256, info_url, SLICE_NULL, t,
		       -EINVAL) ||
	    sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256, info_url, h,
		       slice_of(NULL, 4), -EINVAL) ||
	    cred_notify_sign(fx_key, IDENTITY_ALG_RSA_SHA256, info_url, h, t,
			     NULL) != -EINVAL)
		goto out;
	/* RFC 4474 §9, RFC 6072 §8: RSA only */
	if (sign_fails(ec, IDENTITY_ALG_RSA_SHA256, info_url, h, t, -EINVAL) ||
	    sign_fails(ec, IDENTITY_ALG_RSA_SHA1, info_url, h, t, -EINVAL))
		goto out;
	/* an Identity-Info URL that is not one */
	if (sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256, "", h, t, -EINVAL) ||
	    sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256, "https://a.example/x y",
		       h, t, -EINVAL) ||
	    sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256,
		       "https://a.example/>\r\nX: y", h, t, -EINVAL))
		goto out;
	/* what does not decode: Content-Length off by one, a tail
	 * without its blank line */
	if (sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256, info_url, h,
		       slice_of(t.p, t.len - 1), -EBADMSG) ||
	    sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256, info_url, h,
		       SLICE_LIT("Content-Length: 0\r\n"), -EBADMSG))
		goto out;
	/* no Date: the digest-string lacks a part (RFC 4474 §9) */
	if (edited(&b.head, "\r\nDate: ", "\r\nSubject: ", &e) ||
	    sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256, info_url, buf_slice(&e),
		       t, -EBADMSG))
		goto out;
	buf_fini(&e);
	/* a request that is not a NOTIFY, and a response */
	if (edited(&b.head, "7 NOTIFY", "7 MESSAGE", &e) ||
	    edited(&e, "NOTIFY sip:", "MESSAGE sip:", &e2) ||
	    sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256, info_url,
		       buf_slice(&e2), t, -EBADMSG))
		goto out;
	buf_fini(&e);
	if (edited(&b.head, "NOTIFY sip:alice@192.0.2.10:5061;transport=tls",
		   "SIP/2.0 200 OK", &e) ||
	    sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256, info_url, buf_slice(&e),
		       t, -EBADMSG))
		goto out;
	buf_fini(&e);
	/* out already failed: its error, out untouched */
	out.err = -ENOMEM;
	if (cred_notify_sign(fx_key, IDENTITY_ALG_RSA_SHA256, info_url, h, t,
			     &out) != -ENOMEM ||
	    out.len)
		goto out;
	buf_fini(&out);
	/* head or tail inside out's own storage */
	buf_init(&out, MSG_MAX);
	if (buf_append_slice(&out, h) ||
	    cred_notify_sign(fx_key, IDENTITY_ALG_RSA_SHA256, info_url,
			     buf_slice(&out), t, &out) != -EINVAL ||
	    cred_notify_sign(fx_key, IDENTITY_ALG_RSA_SHA256, info_url, h,
			     slice_of(out.p + 10, 5), &out) != -EINVAL ||
	    out.len != h.len)
		goto out;
	buf_fini(&out);
	/* out's cap too small for the signed message (but not for the
	 * message before signing): -EMSGSIZE, out as it was */
	buf_init(&out, 6 + h.len + t.len + 100);
	buf_append(&out, "prefix", 6);
	if (cred_notify_sign(fx_key, IDENTITY_ALG_RSA_SHA256, info_url, h, t,
			     &out) != -EMSGSIZE ||
	    !out_kept(&out))
		goto out;
	rc = 0;
out:
	buf_fini(&e2);
	buf_fini(&e);
	buf_fini(&out);
	built_fini(&b);
	EVP_PKEY_free(ec);
	return rc;
}

TEST(cred_notify_sign_appends)
{
	enum identity_status st = IDENTITY_MISSING;
	struct built b;
	struct buf out;
	int rc = -1;

	if (fixture())
		return -1;
	buf_init(&out, MSG_MAX);
	buf_append(&out, "prefix", 6);
	/* what out held stays, the message follows it */
	if (built_make(&b, CRED_PKG_CERTIFICATE, 300, 0) ||
	    cred_notify_sign(fx_key, IDENTITY_ALG_RSA_SHA1, info_url,
			     buf_slice(&b.head), buf_slice(&b.tail), &out) ||
	    memcmp(out.p, "prefix", 6) ||
	    verdict(slice_of(out.p + 6, out.len - 6), &st, NULL) ||
	    st != IDENTITY_OK)
		goto out;
	rc = 0;
out:
	buf_fini(&out);
	built_fini(&b);
	return rc;
}

TEST(cred_notify_sign_large_credential)
{
	enum identity_status st = IDENTITY_MISSING;
	struct sip_part parts[4];
	struct sip_msg *m = NULL;
	struct built b;
	struct buf out;
	size_t n = 0;
	int rc = -1;

	if (fixture())
		return -1;
	buf_init(&out, MSG_MAX);
	/* a body of some 50 kB: far past any first allocation, still within
	 * SIP_MAX_MSG_BYTES once signed */
	if (built_make(&b, CRED_PKG_CREDENTIAL, 30000, 20000) ||
	    sign_shape(&b, IDENTITY_ALG_RSA_SHA256, &out) ||
	    verdict(buf_slice(&out), &st, NULL) || st != IDENTITY_OK ||
	    decode_with_via(buf_slice(&out), SIP_DECODE_STRICT, &m) ||
	    !m->has_ctype || !m->ctype.boundary.p ||
	    sip_multipart_parse(m->body, m->ctype.boundary, parts,
				ARRAY_SIZE(parts), &n) ||
	    n != 2 || parts[0].body.len != 30000 ||
	    parts[1].body.len != 20000 ||
	    memcmp(parts[0].body.p, b.store, 30000) ||
	    memcmp(parts[1].body.p, b.store + 30000, 20000))
		goto out;
	rc = 0;
out:
	sip_msg_free(m);
	buf_fini(&out);
	built_fini(&b);
	return rc;
}

TEST(cred_notify_sign_too_large)
{
	struct built b;
	int rc = -1;

	if (fixture())
		return -1;
	/* past SIP_MAX_MSG_BYTES: a stream peer would refuse it (513) */
	if (built_make(&b, CRED_PKG_CREDENTIAL, 40000, 30000) ||
	    sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256, info_url,
		       buf_slice(&b.head), buf_slice(&b.tail), -EMSGSIZE))
		goto out;
	rc = 0;
out:
	built_fini(&b);
	return rc;
}

TEST(cred_notify_sign_truncated)
{
	struct built b;
	struct slice h, t;
	int rc = -1;

	if (fixture())
		return -1;
	if (built_make(&b, CRED_PKG_CERTIFICATE, 200, 0))
		goto out;
	h = buf_slice(&b.head);
	t = buf_slice(&b.tail);
	/* every strict prefix of the tail breaks the framing; every strict
	 * prefix of the head loses the Date or more */
	for (size_t n = 0; n < t.len; n++)
		if (sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256, info_url, h,
			       slice_of(t.p, n), -EBADMSG)) {
			fprintf(stderr, "    tail prefix %zu\n", n);
			goto out;
		}
	for (size_t n = 1; n < h.len; n++)
		if (sign_fails(fx_key, IDENTITY_ALG_RSA_SHA256, info_url,
			       slice_of(h.p, n), t, -EBADMSG)) {
			fprintf(stderr, "    head prefix %zu\n", n);
			goto out;
		}
	rc = 0;
out:
	built_fini(&b);
	return rc;
}
