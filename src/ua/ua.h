/* SPDX-License-Identifier: BSD-3-Clause */
/* ua: the user-agent side of RFC 6072 on net, txn, dns and http:
 *  - engine (ua.c, req.c, auth.c, sub.c): a SIP UA: requests with digest
 *    answers (RFC 3261 §22.2, RFC 8760), targets by RFC 3263 or an
 *    outbound proxy, server identity by RFC 5922 §7.3, subscriptions as
 *    a subscriber (RFC 6665 §4.1), PUBLISH (RFC 3903), REGISTER (RFC 3261
 *    §10.2), MESSAGE (RFC 3428) in and out;
 *  - signer.c: Identity-Info certificates fetched over HTTPS, checked and
 *    cached (RFC 4474 §6 steps 1-2, RFC 6072 §10.3);
 *  - verify.c: the RFC 6072 §10.3 checks of a certificate NOTIFY;
 *  - cache.c: the on-disk cache of other users' certificates with TTL and
 *    fingerprint history (RFC 6072 §10.3, §10.8).
 * Everything runs on the loop thread of one event_base. */
#ifndef SIPCERT_UA_H
#define SIPCERT_UA_H

#include <time.h>

#include <event2/event.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/base.h"
#include "dns/dns.h"
#include "http/http.h"
#include "identity/identity.h"
#include "net/net.h"
#include "sip/sip.h"
#include "txn/txn.h"

/* ==== engine ============================================================ */

struct ua;
struct ua_txn;
struct ua_sub;

/* A request outside any of our subscriptions (MESSAGE, an OPTIONS): the
 * handler returns the status to answer with (200, 415, 488, ...). The
 * request and src are valid during the call only. NULL handler: 405 with
 * Allow. */
typedef unsigned ua_request_cb(void *arg, const struct sip_msg *req,
			       const struct txn_source *src);

struct ua_opts {
	struct event_base *base;
	struct dns *dns;
	/* Client TLS context with the trust anchors; referenced. */
	SSL_CTX *tls_ctx;
	/* Our address of record, "sip:alice@example.com": From of our
	 * requests and the digest realm's user. NULL: anonymous From
	 * ("Anonymous" <sip:anonymous@anonymous.invalid>, RFC 3323 §4.1.1.3),
	 * which fetching a certificate needs no more than. */
	const char *aor;
	/* Digest credentials (RFC 3261 §22.2): username NULL means the
	 * AOR's user part. The password is copied and wiped at ua_free();
	 * NULL: 401/407 are final. */
	const char *username;
	const char *password;
	/* Outbound proxy "sip:HOST[:PORT][;transport=udp|tcp|tls]" (RFC
	 * 3261 §8.1.2): every request goes there, and with TLS its
	 * certificate must name HOST (DNS: entries, RFC 5922 §7.2). NULL:
	 * RFC 3263 on the Request-URI's domain, and with TLS the
	 * certificate must name that domain (URI:sip:DOMAIN, RFC 5922
	 * §7.1). Either way exact, case-insensitive, no wildcards. */
	const char *proxy;
	/* Listen for requests (NOTIFY over UDP, MESSAGE) on this numeric
	 * address with ephemeral UDP and TCP ports; NULL: "127.0.0.1" when
	 * the first target is a loopback address, else "0.0.0.0". */
	const char *listen_host;
	unsigned t1_ms; /* 0: 500 */
	ua_request_cb *on_request;
	void *arg;
};

/* -EINVAL (a malformed aor or proxy), -ENOMEM, -EADDRINUSE. */
int ua_new(struct ua **out, const struct ua_opts *o);
/* Drop every transaction and subscription without calling back (no
 * un-SUBSCRIBE: use ua_sub_end() first for that), close the flows, wipe
 * the password, free. NULL is a no-op. */
void ua_free(struct ua *u);
/* Requests, subscriptions and connections still in progress. */
bool ua_busy(const struct ua *u);

/* ---- requests outside a dialog (PUBLISH, MESSAGE, REGISTER) ------------ */

struct ua_request {
	const char *method;
	const char *ruri; /* the Request-URI; also To unless to is set */
	const char *to;
	/* Extra header lines, "Name: value" without CRLF (Event, Expires,
	 * SIP-If-Match, Contact for REGISTER ...). */
	const char *const *hdrs;
	size_t n_hdrs;
	const char *ctype; /* with body */
	struct slice body;
	/* Only over TLS straight to the domain's server (RFC 6072 §7.5,
	 * §7.8): a target that is not TLS is -EPROTONOSUPPORT. */
	bool tls_only;
	/* REGISTER: add Contact with our address for the flow used
	 * (expires as a header line in hdrs). */
	bool with_contact;
};

/* The final answer, after at most one digest round per challenge realm
 * (a second 401/407 is handed over as it is). resp is valid during the
 * call only. err instead of a response: -ETIMEDOUT (timer F), -ENOENT
 * (the domain does not resolve), -ECONNREFUSED, -EPERM (the TLS server
 * is not the domain's: RFC 5922), -EPROTO (TLS failed), -EPROTONOSUPPORT
 * (tls_only and no TLS target). */
typedef void ua_resp_cb(void *arg, int err, const struct sip_msg *resp);

int ua_send(struct ua *u, const struct ua_request *r, ua_resp_cb *cb, void *arg,
	    struct ua_txn **out);
/* Stop waiting; the callback is not called. */
void ua_txn_cancel(struct ua_txn *t);

/* ---- subscriptions (RFC 6665 §4.1) -------------------------------------- */

/* A NOTIFY in one of our subscriptions. The handler returns the status to
 * answer with: 200, or e.g. 437 Unsupported Certificate (RFC 6072 §7.10)
 * — a 4xx ends the subscription (RFC 6665 §4.1.3: we then send nothing
 * more). src says over which flow it came (TLS: the server's certificate
 * in peer_cert). Everything is valid during the call only. */
struct ua_notify {
	const struct sip_msg *msg;
	const struct txn_source *src;
	/* Subscription-State (RFC 6665 §4.1.3) */
	enum ua_sub_state {
		UA_SUB_PENDING,
		UA_SUB_ACTIVE,
		UA_SUB_TERMINATED,
	} state;
	struct slice reason; /* terminated: "deactivated", ...; or empty */
	unsigned expires;    /* active/pending: seconds left */
};
typedef unsigned ua_notify_cb(void *arg, struct ua_sub *s,
			      const struct ua_notify *n);

/* The subscription's life: the answer to the initial SUBSCRIBE (status
 * 2xx, or err / the final failure status), a refresh that failed, and
 * the end (terminated by a NOTIFY, by ua_sub_end(), or by timeout).
 * After a call with is_over the subscription is gone (the handle dead). */
struct ua_sub_event {
	int err;	     /* as ua_resp_cb, or 0 */
	unsigned status;     /* the SUBSCRIBE's final status, or 0 */
	struct slice phrase; /* its reason phrase */
	bool is_over;
	struct slice reason; /* Subscription-State reason when ended so */
};
typedef void ua_sub_cb(void *arg, struct ua_sub *s,
		       const struct ua_sub_event *e);

struct ua_sub_opts {
	const char *ruri;   /* the resource: "sip:bob@example.com" */
	const char *event;  /* "certificate", "credential" */
	const char *accept; /* Accept value, or NULL */
	/* Requested duration; 0 is a fetch: one NOTIFY, then over (RFC
	 * 6665 §4.4.3). Refreshed automatically before it runs out (at
	 * most half the granted time, RFC 6665 §4.1.2.1). */
	unsigned expires;
	bool tls_only; /* the credential package: RFC 6072 §7.8 */
	ua_notify_cb *on_notify;
	ua_sub_cb *on_event;
	void *arg;
};

int ua_subscribe(struct ua *u, const struct ua_sub_opts *o,
		 struct ua_sub **out);
/* Unsubscribe (SUBSCRIBE with Expires: 0 in the dialog, RFC 6665
 * §4.1.2.3); on_event runs with is_over once the final NOTIFY or the
 * answer came (or after 32 s). Before the dialog exists: cancelled. */
void ua_sub_end(struct ua_sub *s);
/* Forget the subscription without un-SUBSCRIBE or callbacks. */
void ua_sub_free(struct ua_sub *s);

/* ---- digest answers (auth.c), shared with HTTP (RFC 7616) ------------- */

/* How strong a digest algorithm is, to pick among challenges (RFC 8760
 * §2.4): higher is better, -1 for one that cannot be answered. */
int ua_digest_rank(enum sip_digest_alg alg);
/* Append the credentials answering challenge ch for method and uri
 * ("Digest username=..., response=..."; RFC 7616 §3.4: qop=auth with a
 * cnonce when offered, a cnonce for -sess). -EINVAL when it cannot be
 * answered (values too long or not quotable), -ENOMEM. */
int ua_digest_credentials(struct buf *out, const struct sip_auth *ch,
			  const char *user, struct slice password,
			  const char *method, const char *uri,
			  struct slice body);

/* ==== verdicts: every way a certificate can be refused ================== */

/* RFC 6072 §10.3 and RFC 4474 §6, one code per refusal. ua_verdict_code()
 * gives the stable name scripts rely on (sipcert fetch --json "error"). */
enum ua_verdict {
	UA_V_OK,
	UA_V_FROM_MISMATCH,	 /* "from_mismatch": From is not the URI we
				  * subscribed to (§10.3) */
	UA_V_MISSING_IDENTITY,	 /* "missing_identity" */
	UA_V_BAD_IDENTITY,	 /* "bad_identity": malformed Identity or
				  * Identity-Info, or two of one */
	UA_V_UNKNOWN_ALG,	 /* "unknown_alg" */
	UA_V_BAD_SIGNATURE,	 /* "bad_signature" */
	UA_V_MISSING_DATE,	 /* "missing_date" */
	UA_V_STALE_DATE,	 /* "stale_date": more than 3600 s off */
	UA_V_INFO_NOT_HTTPS,	 /* "identity_info_not_https" */
	UA_V_INFO_UNREACHABLE,	 /* "identity_info_unreachable" */
	UA_V_INFO_BAD_CERT,	 /* "identity_info_bad_cert": not a
				  * certificate */
	UA_V_INFO_WRONG_DOMAIN,	 /* "identity_info_wrong_domain": does not
				  * name the From domain (RFC 5922) */
	UA_V_INFO_WILDCARD,	 /* "identity_info_wildcard" */
	UA_V_INFO_UNTRUSTED,	 /* "identity_info_untrusted": no chain to
				  * the trust anchors */
	UA_V_NOT_CERTIFICATE,	 /* "not_certificate": the body is not one
				  * application/pkix-cert DER certificate */
	UA_V_NO_CERTIFICATE,	 /* "no_certificate": empty body, the
				  * certificate is revoked (§6.6) */
	UA_V_CERT_EXPIRED,	 /* "cert_expired" */
	UA_V_CERT_NOT_YET_VALID, /* "cert_not_yet_valid" */
};
const char *ua_verdict_code(enum ua_verdict v);
/* One sentence for people ("the NOTIFY's From is not the subscribed
 * URI"), static. */
const char *ua_verdict_text(enum ua_verdict v);

/* ==== signer.c: Identity-Info certificates (RFC 4474 §6) ================ */

struct ua_signers;

struct ua_signers_opts {
	/* The loop the HTTP client runs on: answers from the cache are
	 * delivered from it, never inside ua_signer_get(). */
	struct event_base *base;
	struct http_client *http;
	/* Trust anchors the signer's certificate must chain to (the
	 * caller's; referenced). */
	X509_STORE *anchors;
	size_t max_entries; /* 0: 64 */
	unsigned ttl_s;	    /* 0: 3600; also capped at the notAfter */
	size_t max_bytes;   /* per body; 0: 64 KiB */
};
int ua_signers_new(struct ua_signers **out, const struct ua_signers_opts *o);
void ua_signers_free(struct ua_signers *s);

/* The outcome: UA_V_OK with the leaf (borrowed: valid during the call;
 * up-ref it to keep it), or one of UA_V_INFO_* with detail (static or
 * valid during the call). */
typedef void ua_signer_cb(void *arg, enum ua_verdict v, X509 *leaf,
			  const char *detail);

/* The certificate at url (only https:, else UA_V_INFO_NOT_HTTPS through
 * the callback), from the cache or fetched (concurrent lookups of one URL
 * share one fetch). The body is DER (application/pkix-cert), PEM (leaf
 * first, then its chain) or PKCS#7 certs-only; the leaf must chain to
 * the anchors (the rest of the body as intermediates) and name domain by
 * RFC 5922 §7.1 (crypto_cert_matches_sip_domain); a wildcard in any of
 * its names is UA_V_INFO_WILDCARD. Only verified certificates are kept;
 * the domain is checked on every lookup. The callback never runs inside
 * this call. -EINVAL, -ENOMEM. */
struct ua_signer_req;
int ua_signer_get(struct ua_signers *s, const char *url, const char *domain,
		  ua_signer_cb *cb, void *arg, struct ua_signer_req **out);
void ua_signer_cancel(struct ua_signer_req *r);

/* ==== verify.c: a certificate NOTIFY by RFC 6072 §10.3 =================== */

/* What the checks found (strings NUL-terminated, owned here). */
struct ua_checked {
	enum ua_verdict verdict;
	char detail[160];      /* more for people, or "" */
	char aor[256];	       /* the asserted AOR (From, as stored) */
	char domain[256];      /* its domain: whose service signed */
	char info_url[512];    /* Identity-Info */
	enum identity_alg alg; /* IDENTITY_ALG_UNKNOWN until parsed */
	X509 *cert;	       /* the user's certificate once parsed */
	time_t not_before, not_after;
	/* §10.3.1: the certificate also chains to the trust anchors and
	 * names the AOR (URI:sip:user@domain) itself */
	bool externally_validated;
};
void ua_checked_fini(struct ua_checked *c); /* frees cert */

/* Step one, before the Identity-Info certificate is known: From equals
 * the subscribed URI (RFC 3261 §19.1.4 comparison), Identity and
 * Identity-Info present and well formed, alg known, the URL https:, Date
 * present and within IDENTITY_DATE_MAX_AGE_S of now. Fills c (verdict,
 * aor, domain, info_url, alg). 0 (the verdict says), -ENOMEM. */
int ua_verify_notify_pre(const struct sip_msg *notify, const char *sub_uri,
			 time_t now, struct ua_checked *c);
/* Step two with the signer's certificate (already checked by
 * ua_signer_get): the signature over the RFC 4474 digest-string, the
 * body one application/pkix-cert DER certificate (empty:
 * UA_V_NO_CERTIFICATE), its notBefore/notAfter against now; then
 * externally_validated against anchors (may be NULL). */
int ua_verify_notify_post(const struct sip_msg *notify, X509 *signer,
			  X509_STORE *anchors, time_t now,
			  struct ua_checked *c);

/* ==== cache.c: other users' certificates on disk (§10.3, §10.8) ========= */

/* One directory (created 0700) with one JSON file per AOR: the current
 * certificate (DER, base64), when it was verified, until when it may be
 * used (min of verified + TTL, the subscription's end, notAfter), how it
 * was verified (domain, alg, externally_validated), and the SHA-256
 * fingerprints seen before with their notAfter. Files are written
 * atomically; a damaged file reads as absent. */
struct ua_cache;

int ua_cache_open(struct ua_cache **out, const char *dir);
void ua_cache_close(struct ua_cache *c);

struct ua_cache_entry {
	char aor[256];
	unsigned char *der; /* mem_alloc'd */
	size_t der_len;
	char sha256[65];
	time_t verified_at, use_until, not_before, not_after;
	char domain[256];
	char alg[16];
	bool externally_validated;
};
void ua_cache_entry_fini(struct ua_cache_entry *e);

/* The entry for aor if still usable at now: 0, -ENOENT (none, or past
 * use_until: then removed), -ENOMEM. */
int ua_cache_get(struct ua_cache *c, const char *aor, time_t now,
		 struct ua_cache_entry *out);
/* Store e (use_until computed by the caller; a TTL of zero means
 * use_until = verified_at: nothing served from the cache, but the
 * fingerprint still remembered). *changed_early is set when the AOR had
 * a different certificate before that had not yet expired (§10.8: a
 * certificate that changes before it expires is suspicious). 0, -EIO,
 * -ENOMEM. */
int ua_cache_put(struct ua_cache *c, const struct ua_cache_entry *e,
		 bool *changed_early);
/* Forget the current certificate of aor (the fingerprint history stays):
 * revocation, or a 437 from the peer. 0, -ENOENT. */
int ua_cache_drop(struct ua_cache *c, const char *aor);

/* ==== cache.c: our own credential on disk ================================ */

/* A user's own credential in dir (created 0700): NAME.pem (the
 * certificate), NAME.p8 (the private key as PEM "ENCRYPTED PRIVATE KEY":
 * PBES2, PBKDF2-HMAC-SHA256, id-aes128-wrap-pad, RFC 6072 §10.5; 0600)
 * and NAME.json (the SIP-ETag of its last publication and when it runs
 * out), NAME being the AOR made file-safe. Written atomically; the key
 * material is wiped after use. */
int ua_own_save(const char *dir, const char *aor, X509 *cert, EVP_PKEY *key,
		const char *pass, size_t pass_len);
/* 0, -ENOENT (no credential for aor), -EACCES (wrong pass phrase),
 * -EBADMSG (a damaged file). key may be NULL to read the certificate
 * only (no pass phrase needed then). */
int ua_own_load(const char *dir, const char *aor, const char *pass,
		size_t pass_len, X509 **cert, EVP_PKEY **key);
/* The entity tag of the last PUBLISH (RFC 3903 §4.1) and its expiry;
 * etag "" when none. -ENOENT when nothing was saved. */
int ua_own_etag_save(const char *dir, const char *aor, const char *etag,
		     time_t expires_at);
int ua_own_etag_load(const char *dir, const char *aor, char *etag, size_t n,
		     time_t *expires_at);

#endif
