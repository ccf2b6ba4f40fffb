/* SPDX-License-Identifier: BSD-3-Clause */
/* Digest authentication of requests (RFC 3261 §22, RFC 7616, RFC 8760):
 * stateless HMAC-bound nonces, nonce-count replay rejection, stale=true,
 * and a per-source-address back-off after repeated failures. */
#include "daemon.h"

#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

enum {
	SECRET_BYTES = 32,
	/* nonce = base64url(issued_s (8, big-endian) || random (8) ||
	 *                   HMAC-SHA256(secret, those 16 || realm)[0..16]) */
	NONCE_ID_BYTES = 16,
	NONCE_MAC_BYTES = 16,
	NONCE_RAW_BYTES = NONCE_ID_BYTES + NONCE_MAC_BYTES,
	NONCE_B64_LEN = 43, /* 32 bytes, base64url without padding */
	/* a nonce issued later than now by more than this is not ours */
	NONCE_FUTURE_SKEW_S = 60,

	TABLE_MIN_BUCKETS = 16,
	DEFAULT_MAX_NONCES = 65536,
	DEFAULT_MAX_SOURCES = 65536,
	FAIL_WINDOW_MS = 10 * 60 * 1000,
	BACKOFF_MAX_S = 3600,

	DEFAULT_NONCE_LIFETIME_S = 300,
	DEFAULT_MAX_FAILURES = 5,
	DEFAULT_BACKOFF_S = 30,
};

/* ---- bounded tables with 16-byte keys ------------------------------------ */

/* One table shape serves both the nonce counts (key: the nonce's issue
 * time and random part) and the failure counters (key: the source IP as
 * IPv6, IPv4 mapped). Chained buckets plus a list in age order, so the
 * oldest entry is evicted in O(1) when the table is full. */
struct slot {
	uint8_t key[16];
	struct slot *hnext;
	struct slot *older, *newer;
	union {
		struct {
			uint64_t issued_s;
			uint32_t nc; /* highest nonce-count accepted */
		} nc;
		struct {
			unsigned failures;
			uint64_t last_ms;  /* last failure */
			uint64_t until_ms; /* back-off ends */
			uint64_t backoff_s;
		} fail;
	} v;
};

struct ktable {
	struct slot **buckets;
	size_t n_buckets; /* a power of two, about max / 4 */
	size_t n, max;
	struct slot *oldest, *newest;
	uint64_t k0, k1; /* hash key, random per process */
};

static uint64_t fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Keyed: a peer picks its source address (IPv6 gives it many), so the
 * bucket of an address must not be predictable without the key. */
static size_t kt_bucket(const struct ktable *t, const uint8_t key[16])
{
	uint64_t w0, w1;

	memcpy(&w0, key, 8);
	memcpy(&w1, key + 8, 8);
	return (size_t)(fmix64(fmix64(w0 ^ t->k0) ^ w1 ^ t->k1) &
			(t->n_buckets - 1));
}

static int kt_init(struct ktable *t, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->n_buckets = TABLE_MIN_BUCKETS;
	while (t->n_buckets < max / 4 && t->n_buckets < SIZE_MAX / 64)
		t->n_buckets *= 2;
	t->buckets = mem_zalloc(t->n_buckets * sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	if (RAND_bytes((unsigned char *)&t->k0, sizeof(t->k0)) != 1 ||
	    RAND_bytes((unsigned char *)&t->k1, sizeof(t->k1)) != 1) {
		mem_free(t->buckets);
		t->buckets = NULL;
		return -EPROTO;
	}
	t->max = max;
	return 0;
}

static void kt_fini(struct ktable *t)
{
	struct slot *s = t->oldest;

	while (s) {
		struct slot *next = s->newer;

		mem_free(s);
		s = next;
	}
	mem_free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static struct slot *kt_find(const struct ktable *t, const uint8_t key[16])
{
	struct slot *s = t->buckets[kt_bucket(t, key)];

	while (s && memcmp(s->key, key, 16))
		s = s->hnext;
	return s;
}

static void age_unlink(struct ktable *t, struct slot *s)
{
	if (s->older)
		s->older->newer = s->newer;
	else
		t->oldest = s->newer;
	if (s->newer)
		s->newer->older = s->older;
	else
		t->newest = s->older;
	s->older = s->newer = NULL;
}

static void age_append(struct ktable *t, struct slot *s)
{
	s->older = t->newest;
	s->newer = NULL;
	if (t->newest)
		t->newest->newer = s;
	else
		t->oldest = s;
	t->newest = s;
}

static void kt_touch(struct ktable *t, struct slot *s)
{
	age_unlink(t, s);
	age_append(t, s);
}

static void kt_remove(struct ktable *t, struct slot *s)
{
	struct slot **pp = &t->buckets[kt_bucket(t, s->key)];

	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	age_unlink(t, s);
	t->n--;
	mem_free(s);
}

/* A new zeroed entry for key (the caller made room). */
static struct slot *kt_insert(struct ktable *t, const uint8_t key[16])
{
	struct slot *s = mem_zalloc(sizeof(*s));
	size_t b;

	if (!s)
		return NULL;
	memcpy(s->key, key, 16);
	b = kt_bucket(t, key);
	s->hnext = t->buckets[b];
	t->buckets[b] = s;
	age_append(t, s);
	t->n++;
	return s;
}

/* ---- the authenticator --------------------------------------------------- */

struct auth {
	char *realm;
	uint64_t lifetime_s;
	unsigned max_failures;
	uint64_t backoff_s;
	unsigned char secret[SECRET_BYTES];
	size_t secret_len;
	const struct userdb *users;
	uint64_t (*now_ms)(void *arg);
	void *clock_arg;
	enum sip_digest_alg algs[2]; /* offered and accepted, in order */
	size_t n_algs;

	struct ktable nc;   /* nonce -> highest nc (RFC 7616 §3.4.5) */
	struct ktable fail; /* source address -> failures */
	/* The latest issue time of a nonce whose nc record was evicted
	 * while it was still valid: such a nonce, seen again, could be a
	 * replay the table can no longer recognise, so it counts as
	 * stale and the client simply retries with a fresh one. */
	uint64_t nc_horizon_s;
};

static bool alg_offered(const struct auth *a, enum sip_digest_alg alg)
{
	for (size_t i = 0; i < a->n_algs; i++)
		if (a->algs[i] == alg)
			return true;
	return false;
}

/* Wall-clock milliseconds: nonces carry their issue time, and with a
 * shared secret another node (or this one after a restart) checks them,
 * so the time must mean the same everywhere. */
static uint64_t wall_now_ms(void *arg)
{
	struct timespec ts;

	(void)arg;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int auth_new(struct auth **out, const struct auth_opts *o,
	     const struct userdb *users)
{
	struct auth *a;
	int err;

	if (!out || !o || !o->realm || !o->realm[0] || !users ||
	    (o->secret && !o->secret_len) || o->n_algs > ARRAY_SIZE(o->algs))
		return -EINVAL;
	for (size_t i = 0; i < o->n_algs; i++)
		if (o->algs[i] != SIP_DIGEST_SHA256 &&
		    o->algs[i] != SIP_DIGEST_MD5)
			return -EINVAL;
	a = mem_zalloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->realm = mem_strdup(o->realm);
	if (!a->realm) {
		err = -ENOMEM;
		goto out;
	}
	a->lifetime_s = o->nonce_lifetime_s ? o->nonce_lifetime_s
					    : DEFAULT_NONCE_LIFETIME_S;
	a->max_failures =
		o->max_failures ? o->max_failures : DEFAULT_MAX_FAILURES;
	a->backoff_s = o->backoff_s ? o->backoff_s : DEFAULT_BACKOFF_S;
	if (a->backoff_s > BACKOFF_MAX_S)
		a->backoff_s = BACKOFF_MAX_S;
	a->users = users;
	if (o->n_algs) {
		memcpy(a->algs, o->algs, o->n_algs * sizeof(o->algs[0]));
		a->n_algs = o->n_algs;
	} else {
		a->algs[0] = SIP_DIGEST_SHA256;
		a->algs[1] = SIP_DIGEST_MD5;
		a->n_algs = 2;
	}
	a->now_ms = o->now_ms ? o->now_ms : wall_now_ms;
	a->clock_arg = o->clock_arg;
	if (o->secret) {
		/* a longer key is hashed by HMAC anyway (RFC 2104 §2) */
		a->secret_len = o->secret_len < SECRET_BYTES ? o->secret_len
							     : SECRET_BYTES;
		if (o->secret_len > SECRET_BYTES) {
			unsigned int len = 0;

			if (!EVP_Digest(o->secret, o->secret_len, a->secret,
					&len, EVP_sha256(), NULL)) {
				err = -EPROTO;
				goto out;
			}
		} else {
			memcpy(a->secret, o->secret, o->secret_len);
		}
	} else {
		/* nonces then die with the process: clients see a stale-free
		 * challenge once after a restart and authenticate again */
		a->secret_len = SECRET_BYTES;
		if (RAND_bytes(a->secret, SECRET_BYTES) != 1) {
			err = -EPROTO;
			goto out;
		}
	}
	err = kt_init(&a->nc,
		      o->max_nonces ? o->max_nonces : DEFAULT_MAX_NONCES);
	if (!err)
		err = kt_init(&a->fail, o->max_sources ? o->max_sources
						       : DEFAULT_MAX_SOURCES);
out:
	if (err) {
		auth_free(a);
		return err;
	}
	*out = a;
	return 0;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	OPENSSL_cleanse(a->secret, sizeof(a->secret));
	kt_fini(&a->nc);
	kt_fini(&a->fail);
	mem_free(a->realm);
	mem_free(a);
}

/* ---- nonces -------------------------------------------------------------- */

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64url_encode(char *out, const uint8_t *in, size_t n)
{
	size_t i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];

		*out++ = b64url[v >> 18];
		*out++ = b64url[(v >> 12) & 63];
		*out++ = b64url[(v >> 6) & 63];
		*out++ = b64url[v & 63];
	}
	if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		*out++ = b64url[v >> 18];
		*out++ = b64url[(v >> 12) & 63];
		*out++ = b64url[(v >> 6) & 63];
	} else if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		*out++ = b64url[v >> 18];
		*out++ = b64url[(v >> 12) & 63];
	}
	*out = '\0';
}

static int b64url_val(int c)
{
	const char *p = c ? strchr(b64url, c) : NULL;

	return p ? (int)(p - b64url) : -1;
}

/* Exactly NONCE_B64_LEN characters, canonical (zero unused bits). */
static int nonce_decode(struct slice s, uint8_t out[NONCE_RAW_BYTES])
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	if (s.len != NONCE_B64_LEN)
		return -EBADMSG;
	for (size_t i = 0; i < s.len; i++) {
		int v = b64url_val((unsigned char)s.p[i]);

		if (v < 0)
			return -EBADMSG;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return o == NONCE_RAW_BYTES && acc == 0 ? 0 : -EBADMSG;
}

static int nonce_mac(const struct auth *a, const uint8_t id[NONCE_ID_BYTES],
		     uint8_t mac[NONCE_MAC_BYTES])
{
	uint8_t msg[NONCE_ID_BYTES + 256], md[EVP_MAX_MD_SIZE];
	size_t realm_len = strlen(a->realm);
	unsigned int md_len = 0;

	if (realm_len > sizeof(msg) - NONCE_ID_BYTES)
		realm_len = sizeof(msg) - NONCE_ID_BYTES;
	memcpy(msg, id, NONCE_ID_BYTES);
	memcpy(msg + NONCE_ID_BYTES, a->realm, realm_len);
	if (!HMAC(EVP_sha256(), a->secret, (int)a->secret_len, msg,
		  NONCE_ID_BYTES + realm_len, md, &md_len) ||
	    md_len < NONCE_MAC_BYTES)
		return -EPROTO;
	memcpy(mac, md, NONCE_MAC_BYTES);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

static int nonce_make(const struct auth *a, uint64_t now_s,
		      char out[NONCE_B64_LEN + 1])
{
	uint8_t raw[NONCE_RAW_BYTES];
	int err;

	for (int i = 0; i < 8; i++)
		raw[i] = (uint8_t)(now_s >> (56 - 8 * i));
	if (RAND_bytes(raw + 8, 8) != 1)
		return -EPROTO;
	err = nonce_mac(a, raw, raw + NONCE_ID_BYTES);
	if (err)
		return err;
	b64url_encode(out, raw, sizeof(raw));
	return 0;
}

/* A nonce this server issued (any time): 0 with its id and issue time,
 * -EBADMSG when it is malformed or its MAC is not ours. */
static int nonce_check(const struct auth *a, struct slice nonce,
		       uint8_t id[NONCE_ID_BYTES], uint64_t *issued_s)
{
	uint8_t raw[NONCE_RAW_BYTES], mac[NONCE_MAC_BYTES];
	uint64_t t = 0;

	if (nonce_decode(nonce, raw) || nonce_mac(a, raw, mac))
		return -EBADMSG;
	if (CRYPTO_memcmp(mac, raw + NONCE_ID_BYTES, NONCE_MAC_BYTES))
		return -EBADMSG;
	for (int i = 0; i < 8; i++)
		t = t << 8 | raw[i];
	memcpy(id, raw, NONCE_ID_BYTES);
	*issued_s = t;
	return 0;
}

/* ---- nonce counts (RFC 7616 §3.4.5: detect replays) ---------------------- */

enum nc_result {
	NC_FRESH,  /* higher than any seen: accepted and recorded */
	NC_REPLAY, /* not higher than one already accepted */
	NC_LOST,   /* the record may have been evicted: treat as stale */
	NC_NOMEM,
};

static enum nc_result nc_accept(struct auth *a, const uint8_t id[16],
				uint64_t issued_s, uint32_t nc, uint64_t now_s)
{
	struct slot *s = kt_find(&a->nc, id);

	if (s) {
		if (nc <= s->v.nc.nc)
			return NC_REPLAY;
		s->v.nc.nc = nc;
		return NC_FRESH;
	}
	if (issued_s <= a->nc_horizon_s)
		return NC_LOST;
	/* make room: expired records first, then the oldest live one */
	while (a->nc.oldest &&
	       (a->nc.oldest->v.nc.issued_s + a->lifetime_s < now_s ||
		a->nc.n >= a->nc.max)) {
		struct slot *old = a->nc.oldest;

		if (old->v.nc.issued_s + a->lifetime_s >= now_s &&
		    old->v.nc.issued_s > a->nc_horizon_s)
			a->nc_horizon_s = old->v.nc.issued_s;
		kt_remove(&a->nc, old);
	}
	s = kt_insert(&a->nc, id);
	if (!s)
		return NC_NOMEM;
	s->v.nc.issued_s = issued_s;
	s->v.nc.nc = nc;
	return NC_FRESH;
}

/* ---- per-source failures and back-off ------------------------------------ */

/* The source address as a 16-byte key: IPv6 as is, IPv4 mapped. The port
 * is left out: one attacker has many. */
static bool src_key(const struct net_addr *src, uint8_t key[16])
{
	memset(key, 0, 16);
	if (!src)
		return false;
	if (src->ss.ss_family == AF_INET) {
		struct sockaddr_in sin;

		memcpy(&sin, &src->ss, sizeof(sin));
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &sin.sin_addr, 4);
		return true;
	}
	if (src->ss.ss_family == AF_INET6) {
		struct sockaddr_in6 sin6;

		memcpy(&sin6, &src->ss, sizeof(sin6));
		memcpy(key, &sin6.sin6_addr, 16);
		return true;
	}
	return false;
}

/* The failure count restarts after FAIL_WINDOW_MS without a failure,
 * counted from the end of any back-off (so a back-off can keep
 * doubling across the quiet time it imposes). */
static uint64_t fail_dead_at(const struct slot *s)
{
	uint64_t t = s->v.fail.last_ms > s->v.fail.until_ms
			     ? s->v.fail.last_ms
			     : s->v.fail.until_ms;

	return t + FAIL_WINDOW_MS;
}

static bool backing_off(struct auth *a, const uint8_t key[16], uint64_t now)
{
	struct slot *s = kt_find(&a->fail, key);

	return s && now < s->v.fail.until_ms;
}

/* Count one failure; true when the source now backs off. */
static bool fail_record(struct auth *a, const uint8_t key[16], uint64_t now)
{
	struct slot *s = kt_find(&a->fail, key);
	unsigned over;

	if (s && now >= fail_dead_at(s)) {
		kt_remove(&a->fail, s);
		s = NULL;
	}
	if (!s) {
		while (a->fail.oldest && (now >= fail_dead_at(a->fail.oldest) ||
					  a->fail.n >= a->fail.max))
			kt_remove(&a->fail, a->fail.oldest);
		s = kt_insert(&a->fail, key);
		if (!s)
			return false;
	} else {
		kt_touch(&a->fail, s);
	}
	s->v.fail.failures++;
	s->v.fail.last_ms = now;
	if (s->v.fail.failures < a->max_failures)
		return false;
	/* back off, doubling with each failure past the limit */
	over = s->v.fail.failures - a->max_failures;
	s->v.fail.backoff_s = over >= 12 ? BACKOFF_MAX_S : a->backoff_s << over;
	if (s->v.fail.backoff_s > BACKOFF_MAX_S)
		s->v.fail.backoff_s = BACKOFF_MAX_S;
	s->v.fail.until_ms = now + s->v.fail.backoff_s * 1000;
	return true;
}

static void fail_reset(struct auth *a, const uint8_t key[16])
{
	struct slot *s = kt_find(&a->fail, key);

	if (s)
		kt_remove(&a->fail, s);
}

/* ---- identities ---------------------------------------------------------- */

int auth_uri_aor(const struct sip_uri *u, char *out, size_t n)
{
	struct buf b;
	size_t skip;
	int err;

	if (!u || !out || !n)
		return -EINVAL;
	if ((u->scheme != SIP_URI_SIP && u->scheme != SIP_URI_SIPS) ||
	    !u->user.len)
		return -EINVAL;
	/* "sips:" becomes "sip:": one user, whatever transport security it
	 * asks for (RFC 5630); the printed scheme is lower case */
	skip = u->scheme == SIP_URI_SIPS ? 5 : 4;
	buf_init(&b, 1024);
	err = sip_uri_print_aor(&b, u);
	if (!err && b.len - skip + 4 >= n)
		err = -EMSGSIZE;
	if (!err) {
		memcpy(out, "sip:", 4);
		memcpy(out + 4, b.p + skip, b.len - skip);
		out[b.len - skip + 4] = '\0';
	}
	buf_fini(&b);
	return err;
}

/* The AOR a request is about: To for the methods that act on an AOR's
 * own state (RFC 3261 §10.3 step 4, RFC 3903 §6, RFC 6665 §4.2), From
 * for anything the user sends as itself (RFC 4474 §5 step 1). */
static int req_aor(const struct sip_msg *req, char *out, size_t n)
{
	switch (req->method_id) {
	case SIP_METHOD_REGISTER:
	case SIP_METHOD_PUBLISH:
	case SIP_METHOD_SUBSCRIBE:
		return auth_uri_aor(&req->to.uri, out, n);
	default:
		return auth_uri_aor(&req->from.uri, out, n);
	}
}

/* The AOR of a digest username in our realm: "sip:" username "@" realm
 * in AOR normal form; -EBADMSG when they do not make a SIP URI. */
static int username_aor(const struct auth *a, struct slice username, char *out,
			size_t n)
{
	struct sip_uri u;
	struct buf b;
	int err;

	buf_init(&b, 1024);
	(void)buf_printf(&b, "sip:%.*s@%s", SLICE_FMT(username), a->realm);
	err = b.err;
	if (!err && sip_uri_parse(buf_slice(&b), &u))
		err = -EBADMSG;
	if (!err &&
	    (u.password.p || u.params.len || u.headers.len || u.has_port))
		err = -EBADMSG; /* the username smuggled URI syntax in */
	if (!err)
		err = auth_uri_aor(&u, out, n);
	buf_fini(&b);
	return err;
}

/* ---- checking credentials ------------------------------------------------ */

enum verdict {
	V_OK,
	V_NONE,	     /* no credentials for us: challenge */
	V_IGNORED,   /* unusable but harmless (not our nonce, realm or
		      * algorithm, no qop): challenge, no failure */
	V_STALE,     /* valid digest on an expired nonce: stale=true */
	V_BAD,	     /* malformed, wrong, or replayed: challenge, failure */
	V_FORBIDDEN, /* username is not the request's AOR: 403, failure */
	V_NOMEM,
};

struct check {
	uint8_t id[NONCE_ID_BYTES];
	uint64_t issued_s;
	char aor[256];
};

/* Find the credentials meant for our realm (RFC 3261 §22.4: one per
 * realm may be present); *cred set only on V_OK. */
static enum verdict cred_find(const struct auth *a, const struct sip_msg *req,
			      bool proxy, struct sip_auth *cred)
{
	enum sip_hdr_id id =
		proxy ? SIP_HDR_PROXY_AUTHORIZATION : SIP_HDR_AUTHORIZATION;
	enum verdict v = V_NONE;

	for (const struct sip_hdr *h = sip_msg_hdr(req, id); h;
	     h = sip_msg_hdr_next(req, h)) {
		struct sip_auth c;

		if (sip_auth_parse(h->value, &c)) {
			v = V_BAD;
			continue;
		}
		if (!c.is_digest || !c.realm.p ||
		    !slice_eq_cstr(c.realm, a->realm)) {
			if (v == V_NONE)
				v = V_IGNORED;
			continue;
		}
		*cred = c;
		return V_OK;
	}
	return v;
}

/* The digest-uri names the Request-URI (RFC 3261 §22.4 item 8, RFC 7616
 * §3.4.6), compared as URIs. */
static bool uri_matches(struct slice digest_uri, const struct sip_msg *req)
{
	struct sip_uri u;

	if (slice_eq(digest_uri, req->ruri_s))
		return true;
	return !sip_uri_parse(digest_uri, &u) && sip_uri_equal(&u, &req->ruri);
}

/* What SIP and HTTP requests check alike: the parameters a digest needs,
 * an offered algorithm with qop=auth, and a nonce of ours. */
static enum verdict cred_usable(const struct auth *a,
				const struct sip_auth *cred, uint64_t now_s,
				struct check *c)
{
	if (!cred->username.p || !cred->nonce.p || !cred->uri.p ||
	    !cred->response.p)
		return V_BAD;
	/* only what we offer (RFC 8760 §2.4) */
	if (!alg_offered(a, cred->alg))
		return V_IGNORED;
	/* qop=auth is required: the nonce count of RFC 7616 §3.4 is what
	 * lets a replay be recognised, and the RFC 2069 form has none */
	if (!cred->qop.p || !slice_caseeq_cstr(cred->qop, "auth") ||
	    !cred->nc.p || !cred->cnonce.p)
		return V_IGNORED;
	if (nonce_check(a, cred->nonce, c->id, &c->issued_s) ||
	    c->issued_s > now_s + NONCE_FUTURE_SKEW_S)
		return V_IGNORED;
	return V_OK;
}

/* The digest of c->aor's user over method and body, then the nonce's
 * age and count. replay_is_stale: a count not above one accepted is
 * answered stale instead of refused (HTTP: a browser's parallel
 * requests on one nonce may arrive out of order). */
static enum verdict cred_digest(struct auth *a, const struct sip_auth *cred,
				struct slice method, struct slice body,
				uint64_t now_s, bool replay_is_stale,
				struct check *c)
{
	const struct userdb_user *user;
	const char *ha1;
	int err;

	user = userdb_find(a->users, slice_cstr(c->aor));
	if (!user)
		return V_BAD; /* the same answer as a wrong password */
	ha1 = cred->alg == SIP_DIGEST_SHA256 ? user->ha1_sha256 : user->ha1_md5;
	if (!ha1[0])
		return V_IGNORED; /* no HA1 for this algorithm */
	err = sip_digest_verify(cred, ha1, method, body);
	if (err == -EACCES || err == -EBADMSG)
		return V_BAD;
	if (err)
		return V_IGNORED;
	/* RFC 7616 §3.3: stale only when the digest itself was right */
	if (c->issued_s + a->lifetime_s < now_s)
		return V_STALE;
	switch (nc_accept(a, c->id, c->issued_s, cred->nc_value, now_s)) {
	case NC_FRESH:
		return V_OK;
	case NC_REPLAY:
		return replay_is_stale ? V_STALE : V_BAD;
	case NC_LOST:
		return V_STALE;
	case NC_NOMEM:
		break;
	}
	return V_NOMEM;
}

static enum verdict cred_verify(struct auth *a, const struct sip_msg *req,
				const struct sip_auth *cred, uint64_t now_s,
				struct check *c)
{
	char user_aor[256];
	enum verdict v = cred_usable(a, cred, now_s, c);

	if (v != V_OK)
		return v;
	if (!uri_matches(cred->uri, req))
		return V_BAD;
	/* the digest username is the AOR's user part and the realm its
	 * domain: together they must name the AOR the request is for */
	if (req_aor(req, c->aor, sizeof(c->aor)) ||
	    username_aor(a, cred->username, user_aor, sizeof(user_aor)) ||
	    strcmp(c->aor, user_aor))
		return V_FORBIDDEN;
	return cred_digest(a, cred, req->method, req->body, now_s, false, c);
}

static void result_forbidden(struct auth_result *out, const char *reason)
{
	out->verdict = AUTH_FORBIDDEN;
	out->status = 403;
	out->reason = reason;
}

/* One challenge per configured algorithm, SHA-256 first by default
 * (RFC 8760 §2.4: the preferred one first; RFC 3261 §22.4: MD5 still
 * offered for older phones). */
static int challenge_build(struct auth *a, uint64_t now_s, bool proxy,
			   bool stale, struct auth_result *out)
{
	const enum sip_digest_alg *offer = a->algs;
	char nonce[NONCE_B64_LEN + 1];
	struct buf b;
	int err;

	err = nonce_make(a, now_s, nonce);
	if (err)
		return err;
	buf_init(&b, sizeof(out->hdrs[0]) - 1);
	for (size_t i = 0; !err && i < a->n_algs; i++) {
		buf_reset(&b);
		(void)buf_append_cstr(&b, proxy ? "Proxy-Authenticate: "
						: "WWW-Authenticate: ");
		err = sip_auth_print_challenge(&b, &(struct sip_challenge_opts){
							   .realm = a->realm,
							   .nonce = nonce,
							   .alg = offer[i],
							   .stale = stale,
							   .qop_auth = true,
						   });
		if (!err) {
			memcpy(out->hdrs[i], b.p, b.len);
			out->hdrs[i][b.len] = '\0';
		}
	}
	buf_fini(&b);
	if (err)
		return err;
	out->n_hdrs = a->n_algs;
	out->verdict = AUTH_CHALLENGE;
	out->status = proxy ? 407 : 401;
	out->reason = proxy ? "Proxy Authentication Required" : "Unauthorized";
	return 0;
}

/* The answer for verdict v on a request from src (key, when has_key). */
static void result_set(struct auth *a, enum verdict v, const struct check *c,
		       const uint8_t key[16], bool has_key, uint64_t now,
		       bool proxy, struct auth_result *out)
{
	uint64_t now_s = now / 1000;

	out->is_failure = v == V_BAD || v == V_FORBIDDEN;
	if (v == V_OK) {
		if (has_key)
			fail_reset(a, key);
		out->verdict = AUTH_OK;
		memcpy(out->aor, c->aor, sizeof(out->aor));
		return;
	}
	if ((v == V_BAD || v == V_FORBIDDEN) && has_key &&
	    fail_record(a, key, now)) {
		result_forbidden(out, "Too many authentication failures");
		return;
	}
	if (v == V_FORBIDDEN) {
		result_forbidden(out, "Username does not match the AOR");
		return;
	}
	if (v == V_NOMEM ||
	    challenge_build(a, now_s, proxy, v == V_STALE, out)) {
		memset(out, 0, sizeof(*out));
		out->verdict = AUTH_FORBIDDEN;
		out->status = 500;
		out->reason = "Server Internal Error";
	}
}

void auth_check(struct auth *a, const struct sip_msg *req,
		const struct net_addr *src, bool proxy, struct auth_result *out)
{
	struct sip_auth cred;
	struct check c;
	enum verdict v;
	uint8_t key[16];
	bool has_key;
	uint64_t now, now_s;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!a || !req) {
		result_forbidden(out, "Forbidden");
		return;
	}
	now = a->now_ms(a->clock_arg);
	now_s = now / 1000;
	has_key = src_key(src, key);
	if (has_key && backing_off(a, key, now)) {
		/* no credentials are even looked at */
		result_forbidden(out, "Too many authentication failures");
		return;
	}

	memset(&c, 0, sizeof(c));
	v = cred_find(a, req, proxy, &cred);
	if (v == V_OK)
		v = cred_verify(a, req, &cred, now_s, &c);
	result_set(a, v, &c, key, has_key, now, proxy, out);
}

/* ---- HTTP (RFC 7616) ----------------------------------------------------- */

/* RFC 7616 §3.4: the credentials for our realm, as any user of it. */
static enum verdict http_verify(struct auth *a, const struct auth_http_req *r,
				uint64_t now_s, struct check *c)
{
	struct sip_auth cred;
	struct slice value;
	enum verdict v;

	if (!r->authorization)
		return V_NONE;
	value = slice_trim(slice_cstr(r->authorization));
	/* another scheme (Basic from a password manager) is no attempt at
	 * ours: challenge, count nothing */
	if (value.len < 7 || !mem_caseeq(value.p, "Digest", 6) ||
	    !char_is_ws((unsigned char)value.p[6]))
		return V_IGNORED;
	if (sip_auth_parse(value, &cred))
		return V_BAD;
	if (!cred.is_digest || !cred.realm.p ||
	    !slice_eq_cstr(cred.realm, a->realm))
		return V_IGNORED;
	v = cred_usable(a, &cred, now_s, c);
	if (v != V_OK)
		return v;
	/* RFC 7616 §3.4.6: the uri parameter is the request-target as the
	 * request line carries it */
	if (!slice_eq_cstr(cred.uri, r->target))
		return V_BAD;
	if (username_aor(a, cred.username, c->aor, sizeof(c->aor)))
		return V_BAD;
	return cred_digest(a, &cred, slice_cstr(r->method), SLICE_NULL, now_s,
			   true, c);
}

void auth_check_http(struct auth *a, const struct auth_http_req *r,
		     const struct net_addr *src, struct auth_result *out)
{
	struct check c;
	uint8_t key[16];
	bool has_key;
	uint64_t now;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!a || !r || !r->method || !r->target) {
		result_forbidden(out, "Forbidden");
		return;
	}
	now = a->now_ms(a->clock_arg);
	has_key = src_key(src, key);
	if (has_key && backing_off(a, key, now)) {
		result_forbidden(out, "Too many authentication failures");
		return;
	}
	memset(&c, 0, sizeof(c));
	result_set(a, http_verify(a, r, now / 1000, &c), &c, key, has_key, now,
		   false, out);
}
