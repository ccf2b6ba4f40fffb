/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of the Identity-Info certificate cache (RFC 4474 §6 steps 1-2,
 * RFC 6072 §10.3): an in-process HTTPS server serving DER, a PEM chain,
 * PKCS#7, garbage and errors; chains, names, wildcards, the cache's TTL
 * and LRU bound, shared fetches, cancelling and freeing. */
#include "net/testutil.h"

#include <openssl/pkcs7.h>

#include "crypto/crypto.h"
#include "dns/dns.h"
#include "http/http.h"
#include "ua/ua.h"

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_) {                                                \
			TEST_FAIL_AT("%s == %lld, expected %lld", #a, a_, b_); \
			goto out;                                              \
		}                                                              \
	} while (0)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			TEST_FAIL_AT("check failed: %s", #cond);               \
			goto out;                                              \
		}                                                              \
	} while (0)

enum {
	RUN_MS = 5000,
	MAX_PATHS = 16,
	MAX_GOT = 8,
};

/* The signer PKI: a root the subscriber trusts, an intermediate under
 * it, example.com's certificates, and a CA nobody trusts. */
struct pki {
	EVP_PKEY *root_key, *int_key, *leaf_key, *rogue_key;
	X509 *root, *inter, *rogue;
	X509 *leaf;	  /* by the root: URI:sip:example.com */
	X509 *leaf_int;	  /* by the intermediate */
	X509 *leaf_rogue; /* by the rogue CA */
	X509 *wild;	  /* by the root: DNS:*.example.com too */
	X509 *wild_cn;	  /* by the root: CN=*.example.com, no SAN */
};

/* One answer the server gives, by path. */
struct route {
	const char *path;
	unsigned status;
	const char *ctype;
	struct buf body;
};

struct sfx {
	char dir[TNET_PATH_BYTES];
	struct event_base *base;
	SSL_CTX *server_ctx, *client_ctx;
	struct http_server *srv;
	uint16_t port;
	struct dns *dns;
	struct http_client *http;
	X509_STORE *anchors;
	struct ua_signers *s;
	struct pki pki;
	struct route routes[MAX_PATHS];
	size_t n_routes;
	/* what the server saw */
	char seen[MAX_PATHS][64];
	int seen_n[MAX_PATHS];
	int n_requests;
	struct http_request *held;
};

/* One callback's record. */
struct got {
	struct sfx *f;
	int n;
	enum ua_verdict v;
	X509 *leaf;
	char detail[160];
	bool in_get; /* set around ua_signer_get: a call inside is a bug */
	bool was_inside;
	bool free_signers; /* the callback frees the signers */
};

/* ---- certificates ------------------------------------------------------ */

static int issue(X509 **out, EVP_PKEY *key, EVP_PKEY *ca_key, X509 *ca,
		 const char *uri, bool is_ca)
{
	const char *uris[] = {uri};

	return crypto_cert_create(out, key, ca_key, ca,
				  &(struct crypto_cert_opts){
					  .uri_sans = uri ? uris : NULL,
					  .n_uri_sans = uri ? 1 : 0,
					  .common_name = uri ? NULL : "Test CA",
					  .is_ca = is_ca,
					  .days = 30,
					  .not_before_offset_s = -60,
				  });
}

/* crypto_cert_create refuses wildcards, as it should: build these by
 * hand. san NULL: none, the name only in the CN. */
static int issue_raw(X509 **out, EVP_PKEY *key, EVP_PKEY *ca_key, X509 *ca,
		     const char *cn, const char *san)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509_EXTENSION *ext = NULL;
	X509V3_CTX v3;
	int err = -EPROTO;

	if (!x || !name ||
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 7) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -60) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    !X509_set_pubkey(x, key))
		goto out;
	X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
	if (san) {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		if (!ext || !X509_add_ext(x, ext, -1))
			goto out;
	}
	if (!X509_sign(x, ca_key, EVP_sha256()))
		goto out;
	*out = x;
	x = NULL;
	err = 0;
out:
	X509_EXTENSION_free(ext);
	X509_NAME_free(name);
	X509_free(x);
	return err;
}

static void pki_fini(struct pki *p)
{
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->int_key);
	EVP_PKEY_free(p->leaf_key);
	EVP_PKEY_free(p->rogue_key);
	X509_free(p->root);
	X509_free(p->inter);
	X509_free(p->rogue);
	X509_free(p->leaf);
	X509_free(p->leaf_int);
	X509_free(p->leaf_rogue);
	X509_free(p->wild);
	X509_free(p->wild_cn);
}

static int pki_init(struct pki *p)
{
	memset(p, 0, sizeof(*p));
	if (crypto_key_generate(&p->root_key, CRYPTO_KEY_EC_P256) ||
	    crypto_key_generate(&p->int_key, CRYPTO_KEY_EC_P256) ||
	    crypto_key_generate(&p->leaf_key, CRYPTO_KEY_EC_P256) ||
	    crypto_key_generate(&p->rogue_key, CRYPTO_KEY_EC_P256) ||
	    issue(&p->root, p->root_key, NULL, NULL, NULL, true) ||
	    issue(&p->inter, p->int_key, p->root_key, p->root, NULL, true) ||
	    issue(&p->rogue, p->rogue_key, NULL, NULL, NULL, true) ||
	    issue(&p->leaf, p->leaf_key, p->root_key, p->root,
		  "sip:example.com", false) ||
	    issue(&p->leaf_int, p->leaf_key, p->int_key, p->inter,
		  "sip:example.com", false) ||
	    issue(&p->leaf_rogue, p->leaf_key, p->rogue_key, p->rogue,
		  "sip:example.com", false) ||
	    issue_raw(&p->wild, p->leaf_key, p->root_key, p->root,
		      "example.com",
		      "URI:sip:example.com, DNS:*.example.com") ||
	    issue_raw(&p->wild_cn, p->leaf_key, p->root_key, p->root,
		      "*.example.com", NULL))
		return -1;
	return 0;
}

static int body_der(struct buf *b, X509 *x)
{
	return crypto_cert_der(x, b);
}

static int body_pem(struct buf *b, X509 *leaf, X509 *inter)
{
	return crypto_cert_pem(leaf, b) || buf_append_cstr(b, "\n") ||
	       crypto_cert_pem(inter, b);
}

/* PKCS#7 certs-only (RFC 5652 §5 degenerate SignedData), intermediate
 * added first: the leaf is found by who issued whom, not by order. */
static int body_p7(struct buf *b, X509 *leaf, X509 *inter)
{
	PKCS7 *p7 = PKCS7_new();
	unsigned char *der = NULL;
	int n = -1, err = -EPROTO;

	if (p7 && PKCS7_set_type(p7, NID_pkcs7_signed) &&
	    PKCS7_content_new(p7, NID_pkcs7_data) &&
	    PKCS7_add_certificate(p7, inter) && PKCS7_add_certificate(p7, leaf))
		n = i2d_PKCS7(p7, &der);
	if (n > 0)
		err = buf_append(b, der, (size_t)n);
	OPENSSL_free(der);
	PKCS7_free(p7);
	return err;
}

/* ---- the server -------------------------------------------------------- */

static struct route *route_add(struct sfx *f, const char *path, unsigned status,
			       const char *ctype)
{
	struct route *r = &f->routes[f->n_routes++];

	r->path = path;
	r->status = status;
	r->ctype = ctype;
	buf_init(&r->body, 64 * 1024);
	return r;
}

static void seen_add(struct sfx *f, const char *path)
{
	size_t i;

	f->n_requests++;
	for (i = 0; i < MAX_PATHS && f->seen[i][0]; i++)
		if (!strcmp(f->seen[i], path))
			break;
	if (i == MAX_PATHS)
		return;
	snprintf(f->seen[i], sizeof(f->seen[i]), "%s", path);
	f->seen_n[i]++;
}

static int seen_count(const struct sfx *f, const char *path)
{
	for (size_t i = 0; i < MAX_PATHS; i++)
		if (!strcmp(f->seen[i], path))
			return f->seen_n[i];
	return 0;
}

static void on_request(void *arg, struct http_request *req)
{
	struct sfx *f = arg;
	const char *path = http_request_path(req);

	seen_add(f, path);
	if (!strcmp(path, "/hold")) {
		f->held = req;
		return;
	}
	/* "/der/2" is served as "/der": several URLs, one certificate */
	for (size_t i = 0; i < f->n_routes; i++) {
		const struct route *r = &f->routes[i];
		size_t n = strlen(r->path);

		if (!strncmp(path, r->path, n) &&
		    (path[n] == '\0' || path[n] == '/')) {
			(void)http_reply(req, r->status, r->ctype,
					 buf_slice(&r->body), NULL, 0);
			return;
		}
	}
	(void)http_reply(req, 404, "text/plain", SLICE_LIT("no such\n"), NULL,
			 0);
}

static int routes_init(struct sfx *f)
{
	struct pki *p = &f->pki;
	int err = 0;

	err |= body_der(
		&route_add(f, "/der", 200, "application/pkix-cert")->body,
		p->leaf);
	/* DER under another type is still DER */
	err |= body_der(
		&route_add(f, "/der-any", 200, "application/octet-stream")
			 ->body,
		p->leaf);
	err |= body_der(
		&route_add(f, "/der-int", 200, "application/pkix-cert")->body,
		p->leaf_int);
	err |= body_pem(
		&route_add(f, "/pem", 200, "application/x-pem-file")->body,
		p->leaf_int, p->inter);
	err |= body_p7(
		&route_add(f, "/p7", 200, "application/pkcs7-mime")->body,
		p->leaf_int, p->inter);
	err |= buf_append_cstr(
		&route_add(f, "/garbage", 200, "application/pkix-cert")->body,
		"-----BEGIN CERTIFICATE-----\nnot base64\n"
		"-----END CERTIFICATE-----\n");
	err |= buf_append_cstr(&route_add(f, "/text", 200, "text/plain")->body,
			       "hello, world\n");
	err |= body_der(
		&route_add(f, "/rogue", 200, "application/pkix-cert")->body,
		p->leaf_rogue);
	err |= body_der(
		&route_add(f, "/wild", 200, "application/pkix-cert")->body,
		p->wild);
	err |= body_der(
		&route_add(f, "/wild-cn", 200, "application/pkix-cert")->body,
		p->wild_cn);
	err |= body_der(
		&route_add(f, "/gone", 404, "application/pkix-cert")->body,
		p->leaf);
	return err ? -1 : 0;
}

static void sfx_fini(struct sfx *f)
{
	ua_signers_free(f->s);
	f->s = NULL;
	http_client_free(f->http);
	http_server_free(f->srv);
	dns_free(f->dns);
	if (f->base)
		event_base_free(f->base);
	SSL_CTX_free(f->server_ctx);
	SSL_CTX_free(f->client_ctx);
	X509_STORE_free(f->anchors);
	for (size_t i = 0; i < f->n_routes; i++)
		buf_fini(&f->routes[i].body);
	pki_fini(&f->pki);
	if (f->dir[0])
		tscratch_remove(f->dir);
	ERR_clear_error();
}

static int signers_new(struct sfx *f, size_t max_entries, unsigned ttl_s,
		       size_t max_bytes)
{
	ua_signers_free(f->s);
	f->s = NULL;
	return ua_signers_new(&f->s, &(struct ua_signers_opts){
					     .base = f->base,
					     .http = f->http,
					     .anchors = f->anchors,
					     .max_entries = max_entries,
					     .ttl_s = ttl_s,
					     .max_bytes = max_bytes,
				     });
}

static int sfx_init(struct sfx *f)
{
	struct tcert tls;
	char spec[64];

	memset(f, 0, sizeof(*f));
	signal(SIGPIPE, SIG_IGN);
	if (pki_init(&f->pki) || routes_init(f) || tscratch_make(f->dir) ||
	    tcert_make(&tls, f->dir, "localhost", "EC"))
		goto fail;
	if (net_tls_server_ctx(&f->server_ctx,
			       &(struct net_tls_server_opts){
				       .cert_file = tls.cert,
				       .key_file = tls.key,
			       }) ||
	    net_tls_client_ctx(&f->client_ctx, tls.cert))
		goto fail;
	f->base = event_base_new();
	if (!f->base ||
	    http_server_new(&f->srv,
			    &(struct http_opts){
				    .base = f->base,
				    .tls_ctx = f->server_ctx,
			    }) ||
	    http_route(f->srv, "/*", on_request, f) ||
	    http_listen(f->srv, "127.0.0.1", 0, &f->port))
		goto fail;
	snprintf(spec, sizeof(spec), "localhost:%u:127.0.0.1",
		 (unsigned)f->port);
	if (dns_new(&f->dns, &(struct dns_opts){.base = f->base,
						.servers = "127.0.0.1:9"}) ||
	    dns_add_override(f->dns, spec) ||
	    http_client_new(&f->http, &(struct http_client_opts){
					      .base = f->base,
					      .dns = f->dns,
					      .tls_ctx = f->client_ctx,
					      .timeout_ms = 3000,
				      }))
		goto fail;
	f->anchors = X509_STORE_new();
	if (!f->anchors || !X509_STORE_add_cert(f->anchors, f->pki.root) ||
	    signers_new(f, 0, 0, 0))
		goto fail;
	return 0;
fail:
	TEST_FAIL_AT("fixture failed: %s", crypto_last_error());
	sfx_fini(f);
	return -1;
}

static void url_of(const struct sfx *f, const char *path, char *out, size_t n)
{
	snprintf(out, n, "https://localhost:%u%s", (unsigned)f->port, path);
}

/* ---- lookups ----------------------------------------------------------- */

static void on_signer(void *arg, enum ua_verdict v, X509 *leaf,
		      const char *detail)
{
	struct got *g = arg;

	g->n++;
	g->v = v;
	g->was_inside = g->was_inside || g->in_get;
	X509_free(g->leaf);
	g->leaf = NULL;
	if (leaf && X509_up_ref(leaf))
		g->leaf = leaf;
	snprintf(g->detail, sizeof(g->detail), "%s", detail ? detail : "");
	if (g->free_signers) {
		ua_signers_free(g->f->s);
		g->f->s = NULL;
	}
}

static void got_fini(struct got *g)
{
	X509_free(g->leaf);
	g->leaf = NULL;
}

static int get(struct sfx *f, const char *path, const char *domain,
	       struct got *g, struct ua_signer_req **out)
{
	char url[128];
	int err;

	url_of(f, path, url, sizeof(url));
	g->f = f;
	g->in_get = true;
	err = ua_signer_get(f->s, url, domain, on_signer, g, out);
	g->in_get = false;
	return err;
}

struct until {
	struct got *const *g;
	size_t n;
};

static bool all_called(const struct until *u)
{
	for (size_t i = 0; i < u->n; i++)
		if (!u->g[i]->n)
			return false;
	return true;
}

/* Turn the loop until every g has had its callback, or RUN_MS. */
static bool run_until(struct sfx *f, struct got *const *g, size_t n)
{
	struct until u = {g, n};
	uint64_t until = loop_now_ms() + RUN_MS;
	struct timeval tick = {0, 1000};

	while (!all_called(&u)) {
		if (loop_now_ms() >= until)
			return false;
		event_base_loopexit(f->base, &tick);
		event_base_dispatch(f->base);
	}
	return true;
}

static void spin(struct sfx *f, unsigned ms)
{
	uint64_t until = loop_now_ms() + ms;
	struct timeval tick = {0, 1000};

	while (loop_now_ms() < until) {
		event_base_loopexit(f->base, &tick);
		event_base_dispatch(f->base);
	}
}

/* One lookup to its end: the verdict, or -1. */
static int lookup(struct sfx *f, const char *path, const char *domain,
		  struct got *g)
{
	struct got *gs[] = {g};

	got_fini(g);
	memset(g, 0, sizeof(*g));
	if (get(f, path, domain, g, NULL) || g->n)
		return -1;
	if (!run_until(f, gs, 1) || g->was_inside)
		return -1;
	return (int)g->v;
}

/* ---- tests ------------------------------------------------------------- */

TEST(ua_signer_der)
{
	struct sfx f;
	struct got g = {0};
	int rc = -1;

	if (sfx_init(&f))
		return -1;
	CHECK_EQ(lookup(&f, "/der", "example.com", &g), UA_V_OK);
	CHECK(g.leaf && !X509_cmp(g.leaf, f.pki.leaf));
	CHECK(!strcmp(g.detail, ""));
	/* the domain compares case-insensitively (RFC 5922 §7.2) */
	got_fini(&g);
	CHECK_EQ(lookup(&f, "/der-any", "EXAMPLE.com", &g), UA_V_OK);
	CHECK(g.leaf && !X509_cmp(g.leaf, f.pki.leaf));
	rc = 0;
out:
	got_fini(&g);
	sfx_fini(&f);
	return rc;
}

/* A leaf under an intermediate: alone it does not chain; with the PEM
 * bundle or the PKCS#7 bag it does, and the leaf is the one handed. */
TEST(ua_signer_pem_and_pkcs7_chains)
{
	struct sfx f;
	struct got g = {0};
	int rc = -1;

	if (sfx_init(&f))
		return -1;
	CHECK_EQ(lookup(&f, "/der-int", "example.com", &g),
		 UA_V_INFO_UNTRUSTED);
	CHECK(!g.leaf && g.detail[0]);
	got_fini(&g);
	CHECK_EQ(lookup(&f, "/pem", "example.com", &g), UA_V_OK);
	CHECK(g.leaf && !X509_cmp(g.leaf, f.pki.leaf_int));
	got_fini(&g);
	CHECK_EQ(lookup(&f, "/p7", "example.com", &g), UA_V_OK);
	CHECK(g.leaf && !X509_cmp(g.leaf, f.pki.leaf_int));
	rc = 0;
out:
	got_fini(&g);
	sfx_fini(&f);
	return rc;
}

TEST(ua_signer_bad_answers)
{
	struct sfx f;
	struct got g = {0};
	int rc = -1;

	if (sfx_init(&f))
		return -1;
	CHECK_EQ(lookup(&f, "/garbage", "example.com", &g), UA_V_INFO_BAD_CERT);
	CHECK_EQ(lookup(&f, "/text", "example.com", &g), UA_V_INFO_BAD_CERT);
	CHECK_EQ(lookup(&f, "/gone", "example.com", &g), UA_V_INFO_UNREACHABLE);
	CHECK(strstr(g.detail, "404"));
	CHECK_EQ(lookup(&f, "/nowhere", "example.com", &g),
		 UA_V_INFO_UNREACHABLE);
	/* none of them is kept */
	CHECK_EQ(lookup(&f, "/gone", "example.com", &g), UA_V_INFO_UNREACHABLE);
	CHECK_EQ(seen_count(&f, "/gone"), 2);
	/* a body over the limit */
	CHECK(!signers_new(&f, 0, 0, 64));
	CHECK_EQ(lookup(&f, "/der", "example.com", &g), UA_V_INFO_UNREACHABLE);
	CHECK(strstr(g.detail, "64"));
	rc = 0;
out:
	got_fini(&g);
	sfx_fini(&f);
	return rc;
}

/* Nothing listens: a transport error, said through the callback. */
TEST(ua_signer_unreachable_host)
{
	struct sfx f;
	struct got g = {0};
	struct got *gs[] = {&g};
	char spec[64], url[64];
	uint16_t port;
	int fd = -1, rc = -1;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	if (sfx_init(&f))
		return -1;
	/* a port that was free a moment ago */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	      !getsockname(fd, (struct sockaddr *)&sa, &len));
	port = ntohs(sa.sin_port);
	close(fd);
	snprintf(spec, sizeof(spec), "unreachable.test:%u:127.0.0.1",
		 (unsigned)port);
	CHECK(!dns_add_override(f.dns, spec));
	snprintf(url, sizeof(url), "https://unreachable.test:%u/c",
		 (unsigned)port);
	CHECK(!ua_signer_get(f.s, url, "example.com", on_signer, &g, NULL));
	CHECK(run_until(&f, gs, 1));
	CHECK_EQ(g.v, UA_V_INFO_UNREACHABLE);
	CHECK(g.detail[0] && !g.leaf);
	rc = 0;
out:
	got_fini(&g);
	sfx_fini(&f);
	return rc;
}

/* RFC 6072 §10.3: https: only, and the refusal comes later too. */
TEST(ua_signer_not_https)
{
	struct sfx f;
	struct got g = {.in_get = true};
	struct got *gs[] = {&g};
	int rc = -1;

	if (sfx_init(&f))
		return -1;
	CHECK(!ua_signer_get(f.s, "http://localhost/der", "example.com",
			     on_signer, &g, NULL));
	CHECK_EQ(g.n, 0);
	g.in_get = false;
	CHECK(run_until(&f, gs, 1));
	CHECK_EQ(g.v, UA_V_INFO_NOT_HTTPS);
	CHECK_EQ(f.n_requests, 0);
	rc = 0;
out:
	got_fini(&g);
	sfx_fini(&f);
	return rc;
}

/* A second lookup is served from the cache, still after the call. */
TEST(ua_signer_cache_hit)
{
	struct sfx f;
	struct got g = {0};
	int rc = -1;

	if (sfx_init(&f))
		return -1;
	CHECK_EQ(lookup(&f, "/der", "example.com", &g), UA_V_OK);
	CHECK_EQ(lookup(&f, "/der", "example.com", &g), UA_V_OK);
	CHECK_EQ(lookup(&f, "/pem", "example.com", &g), UA_V_OK);
	CHECK_EQ(lookup(&f, "/pem", "example.com", &g), UA_V_OK);
	CHECK(g.leaf && !X509_cmp(g.leaf, f.pki.leaf_int));
	CHECK_EQ(seen_count(&f, "/der"), 1);
	CHECK_EQ(seen_count(&f, "/pem"), 1);
	CHECK_EQ(f.n_requests, 2);
	rc = 0;
out:
	got_fini(&g);
	sfx_fini(&f);
	return rc;
}

/* The TTL: with one second the entry is gone a second later; with the
 * default it stays. */
TEST(ua_signer_ttl)
{
	struct sfx f;
	struct got g = {0};
	int rc = -1;

	if (sfx_init(&f))
		return -1;
	CHECK(!signers_new(&f, 0, 1, 0));
	CHECK_EQ(lookup(&f, "/der", "example.com", &g), UA_V_OK);
	CHECK_EQ(lookup(&f, "/der", "example.com", &g), UA_V_OK);
	CHECK_EQ(seen_count(&f, "/der"), 1);
	spin(&f, 1100);
	CHECK_EQ(lookup(&f, "/der", "example.com", &g), UA_V_OK);
	CHECK_EQ(seen_count(&f, "/der"), 2);
	CHECK(!signers_new(&f, 0, 0, 0));
	CHECK_EQ(lookup(&f, "/der/2", "example.com", &g), UA_V_OK);
	spin(&f, 1100);
	CHECK_EQ(lookup(&f, "/der/2", "example.com", &g), UA_V_OK);
	CHECK_EQ(seen_count(&f, "/der/2"), 1);
	rc = 0;
out:
	got_fini(&g);
	sfx_fini(&f);
	return rc;
}

/* Two entries at most: the least recently used one goes. */
TEST(ua_signer_lru_bound)
{
	struct sfx f;
	struct got g = {0};
	int rc = -1;

	if (sfx_init(&f))
		return -1;
	CHECK(!signers_new(&f, 2, 0, 0));
	CHECK_EQ(lookup(&f, "/der/a", "example.com", &g), UA_V_OK);
	CHECK_EQ(lookup(&f, "/der/b", "example.com", &g), UA_V_OK);
	/* a is used again, so b is the oldest when c comes */
	CHECK_EQ(lookup(&f, "/der/a", "example.com", &g), UA_V_OK);
	CHECK_EQ(lookup(&f, "/der/c", "example.com", &g), UA_V_OK);
	CHECK_EQ(lookup(&f, "/der/a", "example.com", &g), UA_V_OK);
	CHECK_EQ(lookup(&f, "/der/c", "example.com", &g), UA_V_OK);
	CHECK_EQ(seen_count(&f, "/der/a"), 1);
	CHECK_EQ(seen_count(&f, "/der/c"), 1);
	CHECK_EQ(lookup(&f, "/der/b", "example.com", &g), UA_V_OK);
	CHECK_EQ(seen_count(&f, "/der/b"), 2);
	rc = 0;
out:
	got_fini(&g);
	sfx_fini(&f);
	return rc;
}

/* RFC 5922 §7.2: no wildcards, though the certificate also names the
 * domain exactly; in the CN of a certificate without SANs too. */
TEST(ua_signer_wildcard)
{
	struct sfx f;
	struct got g = {0};
	int rc = -1;

	if (sfx_init(&f))
		return -1;
	CHECK(!crypto_cert_matches_sip_domain(f.pki.wild, "example.com"));
	CHECK_EQ(lookup(&f, "/wild", "example.com", &g), UA_V_INFO_WILDCARD);
	CHECK(!g.leaf);
	CHECK_EQ(lookup(&f, "/wild-cn", "example.com", &g), UA_V_INFO_WILDCARD);
	/* not kept */
	CHECK_EQ(lookup(&f, "/wild", "example.com", &g), UA_V_INFO_WILDCARD);
	CHECK_EQ(seen_count(&f, "/wild"), 2);
	rc = 0;
out:
	got_fini(&g);
	sfx_fini(&f);
	return rc;
}

/* The domain is checked on every lookup, from the cache as well. */
TEST(ua_signer_wrong_domain)
{
	struct sfx f;
	struct got g = {0};
	int rc = -1;

	if (sfx_init(&f))
		return -1;
	CHECK_EQ(lookup(&f, "/der", "example.org", &g), UA_V_INFO_WRONG_DOMAIN);
	CHECK(!g.leaf && strstr(g.detail, "example.org"));
	CHECK_EQ(lookup(&f, "/der", "example.com", &g), UA_V_OK);
	CHECK_EQ(lookup(&f, "/der", "sub.example.com", &g),
		 UA_V_INFO_WRONG_DOMAIN);
	CHECK_EQ(lookup(&f, "/der", "*.example.com", &g),
		 UA_V_INFO_WRONG_DOMAIN);
	CHECK_EQ(seen_count(&f, "/der"), 1);
	rc = 0;
out:
	got_fini(&g);
	sfx_fini(&f);
	return rc;
}

/* Issued by a CA the subscriber does not trust: refused, not kept. */
TEST(ua_signer_untrusted_ca)
{
	struct sfx f;
	struct got g = {0};
	int rc = -1;

	if (sfx_init(&f))
		return -1;
	CHECK_EQ(lookup(&f, "/rogue", "example.com", &g), UA_V_INFO_UNTRUSTED);
	CHECK(!g.leaf && g.detail[0]);
	CHECK_EQ(lookup(&f, "/rogue", "example.com", &g), UA_V_INFO_UNTRUSTED);
	CHECK_EQ(seen_count(&f, "/rogue"), 2);
	rc = 0;
out:
	got_fini(&g);
	sfx_fini(&f);
	return rc;
}

/* Lookups of one URL while its fetch runs share it; each gets its own
 * domain check. */
TEST(ua_signer_shared_fetch)
{
	struct sfx f;
	struct got g[3];
	struct got *gs[] = {&g[0], &g[1], &g[2]};
	int rc = -1;

	memset(g, 0, sizeof(g));
	if (sfx_init(&f))
		return -1;
	CHECK(!get(&f, "/pem", "example.com", &g[0], NULL));
	CHECK(!get(&f, "/pem", "example.com", &g[1], NULL));
	CHECK(!get(&f, "/pem", "example.net", &g[2], NULL));
	CHECK(run_until(&f, gs, 3));
	CHECK_EQ(f.n_requests, 1);
	CHECK(g[0].n == 1 && g[1].n == 1 && g[2].n == 1);
	CHECK_EQ(g[0].v, UA_V_OK);
	CHECK_EQ(g[1].v, UA_V_OK);
	CHECK_EQ(g[2].v, UA_V_INFO_WRONG_DOMAIN);
	CHECK(!g[0].was_inside && !g[1].was_inside && !g[2].was_inside);
	rc = 0;
out:
	for (int i = 0; i < 3; i++)
		got_fini(&g[i]);
	sfx_fini(&f);
	return rc;
}

/* A cancelled lookup is never called back, whether it waited for a
 * fetch (shared or alone) or for its turn from the cache. */
TEST(ua_signer_cancel)
{
	struct sfx f;
	struct got g[4];
	struct got *gs[] = {&g[1], &g[3]};
	struct ua_signer_req *r0 = NULL, *r2 = NULL;
	int rc = -1;

	memset(g, 0, sizeof(g));
	if (sfx_init(&f))
		return -1;
	CHECK(!get(&f, "/der", "example.com", &g[0], &r0));
	CHECK(!get(&f, "/der", "example.com", &g[1], NULL));
	CHECK(r0);
	ua_signer_cancel(r0);
	/* alone, cancelled at once: the fetch goes too */
	CHECK(!get(&f, "/pem", "example.com", &g[2], &r2));
	ua_signer_cancel(r2);
	CHECK(run_until(&f, &gs[0], 1));
	spin(&f, 50);
	CHECK_EQ(g[0].n, 0);
	CHECK_EQ(g[1].n, 1);
	CHECK_EQ(g[1].v, UA_V_OK);
	CHECK_EQ(g[2].n, 0);
	CHECK_EQ(seen_count(&f, "/der"), 1);
	/* the lone fetch stopped before it asked anything */
	CHECK_EQ(seen_count(&f, "/pem"), 0);
	/* from the cache */
	memset(&g[2], 0, sizeof(g[2]));
	CHECK(!get(&f, "/der", "example.com", &g[2], &r2));
	CHECK(!get(&f, "/der", "example.com", &g[3], NULL));
	ua_signer_cancel(r2);
	ua_signer_cancel(NULL);
	CHECK(run_until(&f, &gs[1], 1));
	CHECK_EQ(g[2].n, 0);
	CHECK_EQ(g[3].v, UA_V_OK);
	rc = 0;
out:
	for (int i = 0; i < 4; i++)
		got_fini(&g[i]);
	sfx_fini(&f);
	return rc;
}

/* Freed with a fetch under way and an answer waiting for the loop: no
 * callback, nothing left behind; and freed from inside a callback. */
TEST(ua_signer_free_with_pending)
{
	struct sfx f;
	struct got g[4];
	struct got *gs[] = {&g[0]};
	int rc = -1;

	memset(g, 0, sizeof(g));
	if (sfx_init(&f))
		return -1;
	CHECK_EQ(lookup(&f, "/der", "example.com", &g[3]), UA_V_OK);
	CHECK(!get(&f, "/hold", "example.com", &g[0], NULL));
	for (int i = 0; i < 500 && !f.held; i++)
		spin(&f, 5);
	CHECK(f.held);
	/* from the cache: waits for the loop */
	CHECK(!get(&f, "/der", "example.com", &g[1], NULL));
	ua_signers_free(f.s);
	f.s = NULL;
	spin(&f, 50);
	CHECK(g[0].n == 0 && g[1].n == 0);
	/* the held request is answered to nobody */
	CHECK(!http_reply(f.held, 200, "text/plain", SLICE_LIT("late"), NULL,
			  0));
	f.held = NULL;
	spin(&f, 50);
	CHECK_EQ(g[0].n, 0);
	/* a callback frees the signers; the next answer is dropped */
	CHECK(!signers_new(&f, 0, 0, 0));
	CHECK_EQ(lookup(&f, "/der", "example.com", &g[3]), UA_V_OK);
	for (int i = 0; i < 4; i++)
		got_fini(&g[i]);
	memset(g, 0, sizeof(g));
	g[0].free_signers = true;
	CHECK(!get(&f, "/der", "example.com", &g[0], NULL));
	CHECK(!get(&f, "/der", "example.com", &g[1], NULL));
	CHECK(run_until(&f, gs, 1));
	spin(&f, 20);
	CHECK(!f.s);
	CHECK_EQ(g[0].n, 1);
	CHECK_EQ(g[1].n, 0);
	rc = 0;
out:
	for (int i = 0; i < 4; i++)
		got_fini(&g[i]);
	if (f.held)
		(void)http_reply(f.held, 500, NULL, SLICE_NULL, NULL, 0);
	sfx_fini(&f);
	return rc;
}

TEST(ua_signer_api)
{
	struct sfx f;
	struct ua_signers *s = NULL;
	struct got g = {0};
	int rc = -1;

	if (sfx_init(&f))
		return -1;
	CHECK_EQ(ua_signers_new(&s, NULL), -EINVAL);
	CHECK_EQ(ua_signers_new(NULL,
				&(struct ua_signers_opts){
					.base = f.base,
					.http = f.http,
					.anchors = f.anchors,
				}),
		 -EINVAL);
	CHECK_EQ(ua_signers_new(&s,
				&(struct ua_signers_opts){
					.http = f.http,
					.anchors = f.anchors,
				}),
		 -EINVAL);
	CHECK_EQ(ua_signers_new(&s,
				&(struct ua_signers_opts){
					.base = f.base,
					.anchors = f.anchors,
				}),
		 -EINVAL);
	CHECK_EQ(ua_signers_new(&s,
				&(struct ua_signers_opts){
					.base = f.base,
					.http = f.http,
				}),
		 -EINVAL);
	CHECK(!s);
	CHECK_EQ(ua_signer_get(NULL, "https://x/", "x", on_signer, &g, NULL),
		 -EINVAL);
	CHECK_EQ(ua_signer_get(f.s, NULL, "x", on_signer, &g, NULL), -EINVAL);
	CHECK_EQ(ua_signer_get(f.s, "https://x/", NULL, on_signer, &g, NULL),
		 -EINVAL);
	CHECK_EQ(ua_signer_get(f.s, "https://x/", "x", NULL, &g, NULL),
		 -EINVAL);
	ua_signers_free(NULL);
	spin(&f, 5);
	CHECK_EQ(g.n, 0);
	rc = 0;
out:
	sfx_fini(&f);
	return rc;
}
