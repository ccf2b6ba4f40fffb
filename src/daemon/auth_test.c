/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for digest authentication (auth.c): full SHA-256 and MD5
 * exchanges computed as a phone would, replayed and increasing nonce
 * counts, stale and forged nonces, realm, username and digest-uri checks,
 * and the per-source back-off on an injected clock. */
#include "test.h"

#include <arpa/inet.h>

#include "daemon/daemon.h"

#define REALM "example.test"
#define ALICE "sip:alice@example.test"
#define BOB   "sip:bob@example.test"
#define RURI  "sip:example.test"

/* ---- fixture ------------------------------------------------------------- */

struct fx {
	struct userdb *db;
	struct auth *a;
	struct sip_msg *m;
	uint64_t now;
	struct net_addr src;
	struct auth_result res;
	char nonce[128]; /* from the last challenge */
};

static uint64_t fx_clock(void *arg)
{
	return ((const struct fx *)arg)->now;
}

static void fx_src4(struct fx *f, const char *ip, uint16_t port)
{
	struct sockaddr_in sin = {0};

	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	(void)inet_pton(AF_INET, ip, &sin.sin_addr);
	memset(&f->src, 0, sizeof(f->src));
	memcpy(&f->src.ss, &sin, sizeof(sin));
	f->src.len = sizeof(sin);
}

static void fx_src6(struct fx *f, const char *ip, uint16_t port)
{
	struct sockaddr_in6 sin6 = {0};

	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(port);
	(void)inet_pton(AF_INET6, ip, &sin6.sin6_addr);
	memset(&f->src, 0, sizeof(f->src));
	memcpy(&f->src.ss, &sin6, sizeof(sin6));
	f->src.len = sizeof(sin6);
}

/* A user whose HA1s derive from password (either may be left out). */
static int user_add(struct userdb *db, const char *aor, const char *user,
		    const char *password, bool md5, bool sha256)
{
	char h_md5[SIP_DIGEST_HEX_MAX + 1], h_sha[SIP_DIGEST_HEX_MAX + 1];
	int err;

	err = sip_digest_ha1(SIP_DIGEST_MD5, slice_cstr(user), SLICE_LIT(REALM),
			     slice_cstr(password), h_md5);
	if (!err)
		err = sip_digest_ha1(SIP_DIGEST_SHA256, slice_cstr(user),
				     SLICE_LIT(REALM), slice_cstr(password),
				     h_sha);
	if (!err)
		err = userdb_put(db, aor, md5 ? h_md5 : NULL,
				 sha256 ? h_sha : NULL);
	return err;
}

struct fx_opts {
	unsigned max_failures;
	unsigned backoff_s;
	unsigned lifetime_s;
	unsigned max_nonces;
	unsigned max_sources;
	const char *secret;
	bool md5_only;
};

static int fx_init(struct fx *f, const struct fx_opts *o)
{
	const char *secret = o && o->secret ? o->secret : "test secret";
	int err;

	memset(f, 0, sizeof(*f));
	f->now = 1700000000000ULL;
	fx_src4(f, "192.0.2.10", 5060);
	err = userdb_new(&f->db);
	if (!err)
		err = user_add(f->db, ALICE, "alice", "wonderland", true, true);
	if (!err)
		err = user_add(f->db, BOB, "bob", "builder", true, true);
	if (!err)
		err = user_add(f->db, "sip:carol@example.test", "carol",
			       "md5only", true, false);
	if (!err)
		err = auth_new(
			&f->a,
			&(struct auth_opts){
				.realm = REALM,
				.max_failures = o ? o->max_failures : 0,
				.backoff_s = o ? o->backoff_s : 0,
				.nonce_lifetime_s = o ? o->lifetime_s : 0,
				.max_nonces = o ? o->max_nonces : 0,
				.max_sources = o ? o->max_sources : 0,
				.algs = {SIP_DIGEST_MD5},
				.n_algs = o && o->md5_only ? 1 : 0,
				.secret = (const unsigned char *)secret,
				.secret_len = strlen(secret),
				.now_ms = fx_clock,
				.clock_arg = f,
			},
			f->db);
	return err;
}

static void fx_fini(struct fx *f)
{
	sip_msg_free(f->m);
	auth_free(f->a);
	userdb_free(f->db);
	memset(f, 0, sizeof(*f));
}

/* Decode a request into f->m (replacing the last one). hdr is one extra
 * header line without CRLF, or NULL. */
static int fx_msg(struct fx *f, const char *method, const char *ruri,
		  const char *from, const char *to, const char *hdr)
{
	struct buf b;
	int err;

	sip_msg_free(f->m);
	f->m = NULL;
	buf_init(&b, 16384);
	(void)buf_printf(&b,
			 "%s %s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa1\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <%s>;tag=f1\r\n"
			 "To: <%s>\r\n"
			 "Call-ID: c1@192.0.2.10\r\n"
			 "CSeq: 1 %s\r\n"
			 "%s%s"
			 "Content-Length: 0\r\n\r\n",
			 method, ruri, from, to, method, hdr ? hdr : "",
			 hdr ? "\r\n" : "");
	err = b.err;
	if (!err)
		err = sip_msg_decode(&f->m, b.p, b.len, 0, NULL);
	buf_fini(&b);
	return err;
}

/* Send a request and keep the verdict in f->res. */
static int fx_check(struct fx *f, const char *method, const char *to,
		    const char *hdr, bool proxy)
{
	const char *from = to;
	int err;

	if (strcmp(method, "REGISTER") && strcmp(method, "SUBSCRIBE") &&
	    strcmp(method, "PUBLISH")) {
		/* the sender is the one authenticated; it writes to bob */
		to = BOB;
	}
	err = fx_msg(f, method, RURI, from, to, hdr);
	if (err)
		return err;
	auth_check(f->a, f->m, &f->src, proxy, &f->res);
	return 0;
}

/* The nonce of challenge line i of f->res. */
static int res_nonce(const struct fx *f, size_t i, char *out, size_t n)
{
	const char *colon = strchr(f->res.hdrs[i], ':');
	struct sip_auth ch;

	if (!colon || sip_auth_parse(slice_cstr(colon + 1), &ch) ||
	    !ch.nonce.p || ch.nonce.len >= n)
		return -1;
	memcpy(out, ch.nonce.p, ch.nonce.len);
	out[ch.nonce.len] = '\0';
	return 0;
}

/* A first REGISTER without credentials: remember the nonce. */
static int fx_challenge(struct fx *f)
{
	if (fx_check(f, "REGISTER", ALICE, NULL, false))
		return -1;
	if (f->res.verdict != AUTH_CHALLENGE || !f->res.n_hdrs)
		return -1;
	return res_nonce(f, 0, f->nonce, sizeof(f->nonce));
}

/* What a phone puts in Authorization. NULL fields take defaults. */
struct cred_spec {
	const char *username, *password, *realm, *uri, *nonce, *cnonce;
	const char *qop; /* NULL: "auth"; "" : none (RFC 2069 form) */
	enum sip_digest_alg alg;
	uint32_t nc;
	const char *method;
};

static int creds_line(const struct fx *f, const struct cred_spec *cs,
		      bool proxy, char *out, size_t n)
{
	const char *user = cs->username ? cs->username : "alice";
	const char *realm = cs->realm ? cs->realm : REALM;
	const char *uri = cs->uri ? cs->uri : RURI;
	const char *nonce = cs->nonce ? cs->nonce : f->nonce;
	const char *cnonce = cs->cnonce ? cs->cnonce : "0a4f113b";
	const char *qop = cs->qop ? cs->qop : "auth";
	const char *method = cs->method ? cs->method : "REGISTER";
	enum sip_digest_alg h_alg = cs->alg == SIP_DIGEST_SHA256
					    ? SIP_DIGEST_SHA256
					    : SIP_DIGEST_MD5;
	char ha1[SIP_DIGEST_HEX_MAX + 1], resp[SIP_DIGEST_HEX_MAX + 1];
	char nc[9];
	struct buf b;
	int err;

	snprintf(nc, sizeof(nc), "%08x", (unsigned)cs->nc);
	err = sip_digest_ha1(
		h_alg, slice_cstr(user), slice_cstr(realm),
		slice_cstr(cs->password ? cs->password : "wonderland"), ha1);
	if (!err)
		err = sip_digest_response(
			&(struct sip_digest_input){
				.alg = h_alg,
				.ha1 = ha1,
				.nonce = slice_cstr(nonce),
				.cnonce = qop[0] ? slice_cstr(cnonce)
						 : SLICE_NULL,
				.nc = slice_cstr(nc),
				.qop = slice_cstr(qop),
				.method = slice_cstr(method),
				.uri = slice_cstr(uri),
			},
			resp);
	if (err)
		return err;
	buf_init(&b, n - 1);
	(void)buf_append_cstr(&b, proxy ? "Proxy-Authorization: "
					: "Authorization: ");
	err = sip_auth_print_credentials(
		&b, &(struct sip_credentials_opts){
			    .username = user,
			    .realm = realm,
			    .nonce = nonce,
			    .uri = uri,
			    .response = resp,
			    .alg = cs->alg,
			    .cnonce = qop[0] ? cnonce : NULL,
			    .qop = qop[0] ? qop : NULL,
			    .nc = cs->nc,
		    });
	if (!err) {
		memcpy(out, b.p, b.len);
		out[b.len] = '\0';
	}
	buf_fini(&b);
	return err;
}

/* REGISTER for ALICE with the credentials cs describes. */
static int fx_register(struct fx *f, const struct cred_spec *cs)
{
	char line[2048];

	if (creds_line(f, cs, false, line, sizeof(line)))
		return -1;
	return fx_check(f, "REGISTER", ALICE, line, false);
}

static bool res_has(const struct fx *f, size_t i, const char *needle)
{
	return i < f->res.n_hdrs && strstr(f->res.hdrs[i], needle);
}

/* ---- tests --------------------------------------------------------------- */

static int challenge_body(struct fx *f)
{
	char n0[128], n1[128];
	struct sip_auth ch;

	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, NULL, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_EQ_INT(f->res.status, 401);
	TEST_EQ_STR(f->res.reason, "Unauthorized");
	TEST_EQ_INT(f->res.n_hdrs, 2);
	/* RFC 8760 §2.4: SHA-256 first, then MD5 */
	TEST_ASSERT(!strncmp(f->res.hdrs[0], "WWW-Authenticate: Digest ", 25));
	TEST_ASSERT(res_has(f, 0, "algorithm=SHA-256"));
	TEST_ASSERT(res_has(f, 1, "algorithm=MD5"));
	TEST_ASSERT(res_has(f, 0, "qop=\"auth\"") &&
		    res_has(f, 1, "qop=\"auth\""));
	TEST_ASSERT(res_has(f, 0, "realm=\"" REALM "\""));
	TEST_ASSERT(!res_has(f, 0, "stale") && !res_has(f, 1, "stale"));
	TEST_EQ_INT(sip_auth_parse(slice_cstr(f->res.hdrs[1] + 18), &ch), 0);
	TEST_ASSERT(ch.is_digest);
	TEST_EQ_INT(ch.alg, SIP_DIGEST_MD5);
	TEST_EQ_INT(res_nonce(f, 0, n0, sizeof(n0)), 0);
	TEST_EQ_INT(res_nonce(f, 1, n1, sizeof(n1)), 0);
	TEST_EQ_STR(n0, n1);
	TEST_EQ_INT(strlen(n0), 43); /* 32 bytes, base64url */
	/* a second challenge has a fresh nonce */
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, NULL, false), 0);
	TEST_EQ_INT(res_nonce(f, 0, n1, sizeof(n1)), 0);
	TEST_ASSERT(strcmp(n0, n1));
	return 0;
}

TEST(auth_challenge_offers_sha256_then_md5)
{
	struct fx f;
	int rc = fx_init(&f, NULL) ? -1 : challenge_body(&f);

	fx_fini(&f);
	return rc;
}

static int exchange_body(struct fx *f, enum sip_digest_alg alg)
{
	TEST_EQ_INT(fx_challenge(f), 0);
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = alg, .nc = 1}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	TEST_EQ_INT(f->res.status, 0);
	TEST_EQ_INT(f->res.n_hdrs, 0);
	TEST_EQ_STR(f->res.aor, ALICE);
	return 0;
}

TEST(auth_sha256_exchange_ok)
{
	struct fx f;
	int rc = fx_init(&f, NULL) ? -1 : exchange_body(&f, SIP_DIGEST_SHA256);

	fx_fini(&f);
	return rc;
}

TEST(auth_md5_exchange_ok)
{
	struct fx f;
	int rc = fx_init(&f, NULL) ? -1 : exchange_body(&f, SIP_DIGEST_MD5);

	fx_fini(&f);
	return rc;
}

static int proxy_body(struct fx *f)
{
	char line[2048];

	TEST_EQ_INT(fx_msg(f, "REGISTER", RURI, ALICE, ALICE, NULL), 0);
	auth_check(f->a, f->m, &f->src, true, &f->res);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_EQ_INT(f->res.status, 407);
	TEST_EQ_STR(f->res.reason, "Proxy Authentication Required");
	TEST_ASSERT(!strncmp(f->res.hdrs[0], "Proxy-Authenticate: Digest", 26));
	TEST_ASSERT(!strncmp(f->res.hdrs[1], "Proxy-Authenticate: Digest", 26));
	TEST_EQ_INT(res_nonce(f, 0, f->nonce, sizeof(f->nonce)), 0);

	/* Authorization does not answer a proxy challenge */
	TEST_EQ_INT(creds_line(f,
			       &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						   .nc = 1},
			       false, line, sizeof(line)),
		    0);
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, line, true), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);

	TEST_EQ_INT(creds_line(f,
			       &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						   .nc = 1},
			       true, line, sizeof(line)),
		    0);
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, line, true), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	/* ... and Proxy-Authorization is not read for a 401 check */
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, line, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_EQ_INT(f->res.status, 401);
	return 0;
}

TEST(auth_proxy_uses_407_and_proxy_authorization)
{
	struct fx f;
	int rc = fx_init(&f, NULL) ? -1 : proxy_body(&f);

	fx_fini(&f);
	return rc;
}

static int wrong_password_body(struct fx *f)
{
	struct cred_spec bad = {.alg = SIP_DIGEST_SHA256, .password = "guess"};
	struct cred_spec good = {.alg = SIP_DIGEST_SHA256};

	TEST_EQ_INT(fx_challenge(f), 0);
	bad.nc = 1;
	TEST_EQ_INT(fx_register(f, &bad), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_ASSERT(!res_has(f, 0, "stale"));
	bad.nc = 2;
	TEST_EQ_INT(fx_register(f, &bad), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	/* the third failure (max_failures = 3) starts the back-off */
	bad.nc = 3;
	TEST_EQ_INT(fx_register(f, &bad), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	TEST_EQ_INT(f->res.status, 403);
	TEST_EQ_STR(f->res.reason, "Too many authentication failures");
	TEST_EQ_INT(f->res.n_hdrs, 0);
	/* even the right password is not looked at while it lasts */
	good.nc = 4;
	TEST_EQ_INT(fx_register(f, &good), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	/* nor is a request without credentials challenged */
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, NULL, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	return 0;
}

TEST(auth_wrong_password_challenges_then_403)
{
	struct fx f;
	int rc = fx_init(&f, &(struct fx_opts){.max_failures = 3})
			 ? -1
			 : wrong_password_body(&f);

	fx_fini(&f);
	return rc;
}

static int replay_body(struct fx *f)
{
	struct cred_spec cs = {.alg = SIP_DIGEST_SHA256, .nc = 1};

	TEST_EQ_INT(fx_challenge(f), 0);
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	/* the very same request again: refused with a fresh challenge */
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_ASSERT(!res_has(f, 0, "stale"));
	TEST_ASSERT(!strstr(f->res.hdrs[0], f->nonce));
	/* and it counts as a failure: the second one backs off */
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	return 0;
}

TEST(auth_replayed_nc_refused)
{
	struct fx f;
	int rc = fx_init(&f, &(struct fx_opts){.max_failures = 2})
			 ? -1
			 : replay_body(&f);

	fx_fini(&f);
	return rc;
}

static int increasing_nc_body(struct fx *f)
{
	static const uint32_t ok[] = {1, 2, 5, 0x10000};
	struct cred_spec cs = {.alg = SIP_DIGEST_MD5};

	TEST_EQ_INT(fx_challenge(f), 0);
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		cs.nc = ok[i];
		TEST_EQ_INT(fx_register(f, &cs), 0);
		TEST_EQ_INT(f->res.verdict, AUTH_OK);
	}
	/* lower than the highest seen, though never used: a replay */
	cs.nc = 3;
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	/* counts are per nonce: a fresh nonce starts again at 1 */
	TEST_EQ_INT(fx_challenge(f), 0);
	cs.nc = 1;
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	return 0;
}

TEST(auth_increasing_nc_accepted)
{
	struct fx f;
	int rc = fx_init(&f, NULL) ? -1 : increasing_nc_body(&f);

	fx_fini(&f);
	return rc;
}

static int stale_body(struct fx *f)
{
	struct cred_spec cs = {.alg = SIP_DIGEST_SHA256, .nc = 1};
	struct cred_spec bad = {
		.alg = SIP_DIGEST_SHA256, .nc = 2, .password = "guess"};

	TEST_EQ_INT(fx_challenge(f), 0);
	/* still valid at the end of its lifetime (60 s) */
	f->now += 60 * 1000;
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	f->now += 1000;
	cs.nc = 3;
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_ASSERT(res_has(f, 0, "stale=true") && res_has(f, 1, "stale=true"));
	/* stale is no failure (max_failures = 1 would back off) */
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	/* RFC 7616 §3.3: stale only with a right digest */
	TEST_EQ_INT(fx_register(f, &bad), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	return 0;
}

TEST(auth_stale_nonce_sets_stale)
{
	struct fx f;
	int rc = fx_init(&f,
			 &(struct fx_opts){.max_failures = 1, .lifetime_s = 60})
			 ? -1
			 : stale_body(&f);

	fx_fini(&f);
	return rc;
}

static int stale_wrong_password_body(struct fx *f)
{
	TEST_EQ_INT(fx_challenge(f), 0);
	f->now += 301 * 1000; /* the default lifetime is 300 s */
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_MD5,
						       .nc = 1,
						       .password = "guess"}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_ASSERT(!res_has(f, 0, "stale") && !res_has(f, 1, "stale"));
	return 0;
}

TEST(auth_stale_nonce_with_wrong_password_not_stale)
{
	struct fx f;
	int rc = fx_init(&f, NULL) ? -1 : stale_wrong_password_body(&f);

	fx_fini(&f);
	return rc;
}

static int forged_body(struct fx *f)
{
	struct fx other;
	char forged[128];
	int rc;

	TEST_EQ_INT(fx_challenge(f), 0);
	/* one character changed: the MAC no longer matches. The response
	 * is computed over the forged nonce, as an attacker would. */
	memcpy(forged, f->nonce, sizeof(forged));
	forged[20] = forged[20] == 'A' ? 'B' : 'A';
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_MD5,
						       .nc = 1,
						       .nonce = forged}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_ASSERT(!res_has(f, 0, "stale"));
	/* truncated, lengthened, not base64url */
	forged[42] = '\0';
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_MD5,
						       .nc = 1,
						       .nonce = forged}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	memcpy(forged, f->nonce, 43);
	memcpy(forged + 43, "A", 2);
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_MD5,
						       .nc = 1,
						       .nonce = forged}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	memcpy(forged, f->nonce, sizeof(forged));
	forged[5] = '+';
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_MD5,
						       .nc = 1,
						       .nonce = forged}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);

	/* a nonce of another server (another secret) is not ours */
	rc = fx_init(&other, &(struct fx_opts){.secret = "other secret"})
		     ? -1
		     : fx_challenge(&other);
	if (!rc)
		memcpy(forged, other.nonce, sizeof(forged));
	fx_fini(&other);
	TEST_EQ_INT(rc, 0);
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_MD5,
						       .nc = 1,
						       .nonce = forged}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_ASSERT(!res_has(f, 0, "stale"));
	/* none of that counted as a failure (max_failures = 1) */
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_MD5,
						       .nc = 1}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	return 0;
}

TEST(auth_forged_nonce_challenged_not_stale)
{
	struct fx f;
	int rc = fx_init(&f, &(struct fx_opts){.max_failures = 1})
			 ? -1
			 : forged_body(&f);

	fx_fini(&f);
	return rc;
}

static int wrong_realm_body(struct fx *f)
{
	TEST_EQ_INT(fx_challenge(f), 0);
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						       .nc = 1,
						       .realm = "other.test"}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	/* realm is a quoted string: case matters */
	TEST_EQ_INT(
		fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						   .nc = 1,
						   .realm = "Example.test"}),
		0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	/* the credentials for other realms are not failures */
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						       .nc = 1}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	return 0;
}

TEST(auth_wrong_realm_challenged)
{
	struct fx f;
	int rc = fx_init(&f, &(struct fx_opts){.max_failures = 1})
			 ? -1
			 : wrong_realm_body(&f);

	fx_fini(&f);
	return rc;
}

static int username_body(struct fx *f)
{
	/* bob's own right password, but the REGISTER is for alice */
	TEST_EQ_INT(fx_challenge(f), 0);
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						       .nc = 1,
						       .username = "bob",
						       .password = "builder"}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	TEST_EQ_INT(f->res.status, 403);
	TEST_EQ_STR(f->res.reason, "Username does not match the AOR");
	/* a username smuggling URI syntax is no user part */
	TEST_EQ_INT(
		fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						   .nc = 2,
						   .username = "alice;x=y"}),
		0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						       .nc = 3,
						       .username = "alice@x"}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	return 0;
}

TEST(auth_username_not_the_to_aor_is_403)
{
	struct fx f;
	int rc = fx_init(&f, NULL) ? -1 : username_body(&f);

	fx_fini(&f);
	return rc;
}

static int uri_body(struct fx *f)
{
	TEST_EQ_INT(fx_challenge(f), 0);
	TEST_EQ_INT(
		fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						   .nc = 1,
						   .uri = "sip:other.test"}),
		0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	/* compared as URIs (RFC 3261 §19.1.4): the host is caseless */
	TEST_EQ_INT(
		fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						   .nc = 2,
						   .uri = "sip:EXAMPLE.test"}),
		0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	TEST_EQ_INT(
		fx_register(
			f, &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
					       .nc = 3,
					       .uri = "sip:example.test:5070"}),
		0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	return 0;
}

TEST(auth_digest_uri_must_match_request_uri)
{
	struct fx f;
	int rc = fx_init(&f, NULL) ? -1 : uri_body(&f);

	fx_fini(&f);
	return rc;
}

static int backoff_body(struct fx *f)
{
	struct cred_spec bad = {.alg = SIP_DIGEST_SHA256, .password = "x"};
	struct cred_spec good = {.alg = SIP_DIGEST_SHA256};
	uint32_t nc = 1;

	TEST_EQ_INT(fx_challenge(f), 0);
	bad.nc = nc++;
	TEST_EQ_INT(fx_register(f, &bad), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	bad.nc = nc++;
	TEST_EQ_INT(fx_register(f, &bad), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN); /* 10 s */

	f->now += 9999;
	good.nc = nc++;
	TEST_EQ_INT(fx_register(f, &good), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	f->now += 1;
	/* over: one more failure doubles the back-off to 20 s */
	bad.nc = nc++;
	TEST_EQ_INT(fx_register(f, &bad), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	f->now += 19999;
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, NULL, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	f->now += 1;
	/* then 40 s */
	bad.nc = nc++;
	TEST_EQ_INT(fx_register(f, &bad), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	f->now += 39999;
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, NULL, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	f->now += 1;

	/* a success resets the count: a new failure is only challenged */
	TEST_EQ_INT(fx_challenge(f), 0);
	good.nc = 1;
	TEST_EQ_INT(fx_register(f, &good), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	bad.nc = 2;
	TEST_EQ_INT(fx_register(f, &bad), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);

	/* ten quiet minutes forget a failure too */
	f->now += 10 * 60 * 1000;
	bad.nc = 3;
	TEST_EQ_INT(fx_register(f, &bad), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	return 0;
}

TEST(auth_backoff_doubles_and_resets_on_success)
{
	struct fx f;
	int rc = fx_init(&f, &(struct fx_opts){.max_failures = 2,
					       .backoff_s = 10,
					       .lifetime_s = 3600})
			 ? -1
			 : backoff_body(&f);

	fx_fini(&f);
	return rc;
}

static int backoff_cap_body(struct fx *f)
{
	struct cred_spec bad = {.alg = SIP_DIGEST_MD5, .password = "x"};
	uint64_t expect_s = 60;

	/* each failure right after a back-off doubles it, up to one hour */
	for (int i = 0; i < 10; i++) {
		TEST_EQ_INT(fx_challenge(f), 0);
		bad.nc = 1;
		TEST_EQ_INT(fx_register(f, &bad), 0);
		TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
		f->now += expect_s * 1000 - 1;
		TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, NULL, false), 0);
		TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
		f->now += 1;
		expect_s = expect_s * 2 > 3600 ? 3600 : expect_s * 2;
	}
	TEST_EQ_INT(expect_s, 3600);
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, NULL, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	return 0;
}

TEST(auth_backoff_capped_at_one_hour)
{
	struct fx f;
	int rc = fx_init(&f,
			 &(struct fx_opts){.max_failures = 1, .backoff_s = 60})
			 ? -1
			 : backoff_cap_body(&f);

	fx_fini(&f);
	return rc;
}

static int per_ip_body(struct fx *f)
{
	struct cred_spec bad = {.alg = SIP_DIGEST_MD5, .password = "x"};

	TEST_EQ_INT(fx_challenge(f), 0);
	bad.nc = 1;
	TEST_EQ_INT(fx_register(f, &bad), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	/* another port of the same address is the same source */
	fx_src4(f, "192.0.2.10", 40000);
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, NULL, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	/* another address is not */
	fx_src4(f, "192.0.2.11", 5060);
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, NULL, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	/* IPv6 sources are tracked too, and apart from IPv4 */
	fx_src6(f, "2001:db8::10", 5060);
	TEST_EQ_INT(fx_challenge(f), 0);
	bad.nc = 1;
	TEST_EQ_INT(fx_register(f, &bad), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	fx_src6(f, "2001:db8::11", 5060);
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, NULL, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	/* with no source, nothing is tracked */
	TEST_EQ_INT(fx_register(f, &bad), 0);
	auth_check(f->a, f->m, NULL, false, &f->res);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	auth_check(f->a, f->m, NULL, false, &f->res);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	return 0;
}

TEST(auth_backoff_per_source_address_not_port)
{
	struct fx f;
	int rc = fx_init(&f, &(struct fx_opts){.max_failures = 1})
			 ? -1
			 : per_ip_body(&f);

	fx_fini(&f);
	return rc;
}

static int unknown_user_body(struct fx *f)
{
	char line[2048];

	TEST_EQ_INT(fx_challenge(f), 0);
	TEST_EQ_INT(creds_line(f,
			       &(struct cred_spec){.alg = SIP_DIGEST_MD5,
						   .nc = 1,
						   .username = "mallory"},
			       false, line, sizeof(line)),
		    0);
	TEST_EQ_INT(fx_check(f, "REGISTER", "sip:mallory@example.test", line,
			     false),
		    0);
	/* the same answer as a wrong password: no user enumeration */
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_EQ_INT(fx_check(f, "REGISTER", "sip:mallory@example.test", line,
			     false),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN); /* second failure */
	return 0;
}

TEST(auth_unknown_user_challenged_and_counted)
{
	struct fx f;
	int rc = fx_init(&f, &(struct fx_opts){.max_failures = 2})
			 ? -1
			 : unknown_user_body(&f);

	fx_fini(&f);
	return rc;
}

static int qop_alg_body(struct fx *f)
{
	char line[2048];

	TEST_EQ_INT(fx_challenge(f), 0);
	/* RFC 2069 form (no qop, no nc): refused, nothing to track */
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_MD5,
						       .qop = ""}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	/* auth-int is not offered */
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_MD5,
						       .nc = 1,
						       .qop = "auth-int"}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	/* an algorithm not offered, and one sipcert does not know */
	TEST_EQ_INT(
		fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_MD5_SESS,
						   .nc = 1}),
		0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	snprintf(line, sizeof(line),
		 "Authorization: Digest username=\"alice\", realm=\"" REALM
		 "\", nonce=\"%s\", uri=\"" RURI "\", response=\"00\", "
		 "algorithm=SHA-3, qop=auth, nc=00000001, cnonce=\"x\"",
		 f->nonce);
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, line, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	/* carol has no SHA-256 HA1: challenged, MD5 works */
	TEST_EQ_INT(
		fx_check(f, "REGISTER", "sip:carol@example.test", NULL, false),
		0);
	TEST_EQ_INT(res_nonce(f, 0, f->nonce, sizeof(f->nonce)), 0);
	TEST_EQ_INT(creds_line(f,
			       &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						   .nc = 1,
						   .username = "carol",
						   .password = "md5only"},
			       false, line, sizeof(line)),
		    0);
	TEST_EQ_INT(
		fx_check(f, "REGISTER", "sip:carol@example.test", line, false),
		0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_EQ_INT(creds_line(f,
			       &(struct cred_spec){.alg = SIP_DIGEST_MD5,
						   .nc = 2,
						   .username = "carol",
						   .password = "md5only"},
			       false, line, sizeof(line)),
		    0);
	TEST_EQ_INT(
		fx_check(f, "REGISTER", "sip:carol@example.test", line, false),
		0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	TEST_EQ_STR(f->res.aor, "sip:carol@example.test");
	return 0;
}

TEST(auth_requires_qop_auth_and_offered_algorithms)
{
	struct fx f;
	int rc = fx_init(&f, NULL) ? -1 : qop_alg_body(&f);

	fx_fini(&f);
	return rc;
}

static int malformed_body(struct fx *f)
{
	char line[2048];
	size_t prefix, len;

	TEST_EQ_INT(fx_challenge(f), 0);
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE,
			     "Authorization: Digest realm", false),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE,
			     "Authorization: Basic YWxpY2U6d29uZGVybGFuZA==",
			     false),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	/* every strict prefix of valid credentials: never accepted */
	TEST_EQ_INT(creds_line(f,
			       &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						   .nc = 1},
			       false, line, sizeof(line)),
		    0);
	len = strlen(line);
	prefix = strlen("Authorization: ");
	for (size_t n = prefix; n < len; n++) {
		char cut[2048];

		memcpy(cut, line, n);
		cut[n] = '\0';
		TEST_EQ_INT(fx_msg(f, "REGISTER", RURI, ALICE, ALICE, cut), 0);
		auth_check(f->a, f->m, NULL, false, &f->res);
		TEST_ASSERT(f->res.verdict != AUTH_OK);
	}
	/* one wrong digit at the very end of the response is enough */
	TEST_EQ_INT(creds_line(f,
			       &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						   .nc = 1},
			       false, line, sizeof(line)),
		    0);
	{
		char *resp = strstr(line, "response=\"");

		TEST_ASSERT(resp);
		resp += strlen("response=\"") + 63;
		*resp = *resp == '0' ? '1' : '0';
	}
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, line, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	return 0;
}

TEST(auth_malformed_and_truncated_credentials)
{
	struct fx f;
	int rc = fx_init(&f, NULL) ? -1 : malformed_body(&f);

	fx_fini(&f);
	return rc;
}

static int from_body(struct fx *f)
{
	char line[2048];

	TEST_EQ_INT(fx_challenge(f), 0);
	/* a MESSAGE is the sender's: From names the user, To is bob */
	TEST_EQ_INT(creds_line(f,
			       &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						   .nc = 1,
						   .method = "MESSAGE"},
			       false, line, sizeof(line)),
		    0);
	TEST_EQ_INT(fx_check(f, "MESSAGE", ALICE, line, false), 0);
	TEST_EQ_SLICE(f->m->to.uri.user, "bob");
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	TEST_EQ_STR(f->res.aor, ALICE);
	/* the method is part of the digest: replayed as another method */
	TEST_EQ_INT(creds_line(f,
			       &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						   .nc = 2,
						   .method = "MESSAGE"},
			       false, line, sizeof(line)),
		    0);
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, line, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	return 0;
}

TEST(auth_from_names_the_user_outside_register)
{
	struct fx f;
	int rc = fx_init(&f, NULL) ? -1 : from_body(&f);

	fx_fini(&f);
	return rc;
}

static int sips_body(struct fx *f)
{
	char line[2048];

	TEST_EQ_INT(fx_challenge(f), 0);
	TEST_EQ_INT(creds_line(f,
			       &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						   .nc = 1},
			       false, line, sizeof(line)),
		    0);
	TEST_EQ_INT(
		fx_check(f, "REGISTER", "sips:alice@EXAMPLE.test", line, false),
		0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	TEST_EQ_STR(f->res.aor, ALICE);
	return 0;
}

TEST(auth_sips_to_is_the_same_user)
{
	struct fx f;
	int rc = fx_init(&f, NULL) ? -1 : sips_body(&f);

	fx_fini(&f);
	return rc;
}

TEST(auth_uri_aor_forms)
{
	static const struct {
		const char *uri;
		int err;
		const char *aor;
	} cases[] = {
		{"sip:alice@example.test", 0, "sip:alice@example.test"},
		{"sips:alice@Example.TEST:5061;transport=tls", 0,
		 "sip:alice@example.test"},
		{"sip:%61lice@example.test", 0, "sip:alice@example.test"},
		{"sip:example.test", -EINVAL, NULL},
		{"tel:+15551234567", -EINVAL, NULL},
		{"sipsec:alice@example.test", -EINVAL, NULL},
		{"mailto:alice@example.test", -EINVAL, NULL},
	};
	struct sip_uri u;
	char out[64];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		TEST_EQ_INT(sip_uri_parse(slice_cstr(cases[i].uri), &u), 0);
		TEST_EQ_INT(auth_uri_aor(&u, out, sizeof(out)), cases[i].err);
		if (cases[i].aor)
			TEST_EQ_STR(out, cases[i].aor);
	}
	TEST_EQ_INT(sip_uri_parse(SLICE_LIT("sip:alice@example.test"), &u), 0);
	TEST_EQ_INT(auth_uri_aor(&u, out, 22), -EMSGSIZE);
	TEST_EQ_INT(auth_uri_aor(&u, out, 23), 0);
	TEST_EQ_STR(out, "sip:alice@example.test");
	TEST_EQ_INT(auth_uri_aor(NULL, out, sizeof(out)), -EINVAL);
	return 0;
}

static int new_body(struct userdb *db)
{
	struct auth *a = NULL;
	struct auth_result res;

	TEST_EQ_INT(auth_new(&a, &(struct auth_opts){.realm = NULL}, db),
		    -EINVAL);
	TEST_EQ_INT(auth_new(&a, &(struct auth_opts){.realm = ""}, db),
		    -EINVAL);
	TEST_EQ_INT(auth_new(&a, &(struct auth_opts){.realm = REALM}, NULL),
		    -EINVAL);
	TEST_EQ_INT(auth_new(NULL, &(struct auth_opts){.realm = REALM}, db),
		    -EINVAL);
	TEST_ASSERT(!a);
	auth_free(NULL);
	/* NULL arguments answer 403, never crash */
	auth_check(NULL, NULL, NULL, false, &res);
	TEST_EQ_INT(res.verdict, AUTH_FORBIDDEN);
	auth_check(NULL, NULL, NULL, false, NULL);
	return 0;
}

TEST(auth_new_rejects_bad_options)
{
	struct userdb *db = NULL;
	int rc = userdb_new(&db) ? -1 : new_body(db);

	userdb_free(db);
	return rc;
}

static int random_secret_body(struct fx *f, struct auth **a, struct auth **b)
{
	char line[2048];

	/* no secret: a random one per instance, so a restarted daemon
	 * does not honour the nonces of the one before */
	TEST_EQ_INT(auth_new(a, &(struct auth_opts){.realm = REALM}, f->db), 0);
	TEST_EQ_INT(auth_new(b, &(struct auth_opts){.realm = REALM}, f->db), 0);
	TEST_EQ_INT(fx_msg(f, "REGISTER", RURI, ALICE, ALICE, NULL), 0);
	auth_check(*a, f->m, &f->src, false, &f->res);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_EQ_INT(res_nonce(f, 0, f->nonce, sizeof(f->nonce)), 0);
	TEST_EQ_INT(creds_line(f,
			       &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						   .nc = 1},
			       false, line, sizeof(line)),
		    0);
	TEST_EQ_INT(fx_msg(f, "REGISTER", RURI, ALICE, ALICE, line), 0);
	auth_check(*b, f->m, &f->src, false, &f->res);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_ASSERT(!res_has(f, 0, "stale"));
	auth_check(*a, f->m, &f->src, false, &f->res);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	return 0;
}

TEST(auth_random_secret_differs_per_instance)
{
	struct auth *a = NULL, *b = NULL;
	struct fx f;
	int rc = fx_init(&f, NULL) ? -1 : random_secret_body(&f, &a, &b);

	auth_free(a);
	auth_free(b);
	fx_fini(&f);
	return rc;
}

static int nc_evict_body(struct fx *f)
{
	struct cred_spec cs = {.alg = SIP_DIGEST_SHA256, .nc = 1};
	char n1[128], n2[128], n3[128];

	/* three nonces, issued a second apart */
	TEST_EQ_INT(fx_challenge(f), 0);
	memcpy(n1, f->nonce, sizeof(n1));
	f->now += 1000;
	TEST_EQ_INT(fx_challenge(f), 0);
	memcpy(n2, f->nonce, sizeof(n2));
	f->now += 1000;
	TEST_EQ_INT(fx_challenge(f), 0);
	memcpy(n3, f->nonce, sizeof(n3));
	cs.nonce = n1;
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	cs.nonce = n2;
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	/* two records at most: n3's pushes out n1's while n1 is valid */
	cs.nonce = n3;
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	/* so n1 can no longer be told from a replay: never accepted
	 * again, but answered stale so a phone retries at once */
	cs.nonce = n1;
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_ASSERT(res_has(f, 0, "stale=true"));
	cs.nc = 2;
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_ASSERT(res_has(f, 0, "stale=true"));
	/* n2 is still tracked */
	cs.nonce = n2;
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_ASSERT(!res_has(f, 0, "stale"));
	/* and nonces issued later work as ever */
	f->now += 1000;
	TEST_EQ_INT(fx_challenge(f), 0);
	cs = (struct cred_spec){.alg = SIP_DIGEST_MD5, .nc = 1};
	TEST_EQ_INT(fx_register(f, &cs), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	return 0;
}

TEST(auth_evicted_nonce_count_never_replayable)
{
	struct fx f;
	int rc = fx_init(&f, &(struct fx_opts){.max_nonces = 2})
			 ? -1
			 : nc_evict_body(&f);

	fx_fini(&f);
	return rc;
}

static int sources_cap_body(struct fx *f)
{
	struct cred_spec bad = {
		.alg = SIP_DIGEST_MD5, .nc = 1, .password = "x"};
	static const char *const ips[] = {"192.0.2.1", "192.0.2.2",
					  "192.0.2.3"};

	TEST_EQ_INT(fx_challenge(f), 0);
	for (size_t i = 0; i < ARRAY_SIZE(ips); i++) {
		fx_src4(f, ips[i], 5060);
		TEST_EQ_INT(fx_register(f, &bad), 0);
		TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	}
	/* the table is bounded: the oldest source was forgotten */
	fx_src4(f, ips[0], 5060);
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, NULL, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	fx_src4(f, ips[2], 5060);
	TEST_EQ_INT(fx_check(f, "REGISTER", ALICE, NULL, false), 0);
	TEST_EQ_INT(f->res.verdict, AUTH_FORBIDDEN);
	return 0;
}

TEST(auth_failure_table_is_bounded)
{
	struct fx f;
	int rc = fx_init(&f,
			 &(struct fx_opts){.max_failures = 1, .max_sources = 2})
			 ? -1
			 : sources_cap_body(&f);

	fx_fini(&f);
	return rc;
}

/* [auth] algorithms = md5: only MD5 is offered, and SHA-256 credentials
 * (which the server did not offer) are not accepted. */
static int md5_only_body(struct fx *f)
{
	TEST_EQ_INT(fx_challenge(f), 0);
	TEST_EQ_INT(f->res.n_hdrs, 1);
	TEST_ASSERT(res_has(f, 0, "algorithm=MD5"));
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_SHA256,
						       .nc = 1}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_CHALLENGE);
	TEST_EQ_INT(fx_challenge(f), 0);
	TEST_EQ_INT(fx_register(f, &(struct cred_spec){.alg = SIP_DIGEST_MD5,
						       .nc = 1}),
		    0);
	TEST_EQ_INT(f->res.verdict, AUTH_OK);
	return 0;
}

TEST(auth_configured_algorithms_only)
{
	struct fx f;
	int rc = fx_init(&f, &(struct fx_opts){.md5_only = true})
			 ? -1
			 : md5_only_body(&f);

	fx_fini(&f);
	return rc;
}
