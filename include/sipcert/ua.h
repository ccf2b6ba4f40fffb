/* SPDX-License-Identifier: BSD-3-Clause */
/* The user-agent side of RFC 6072: enrol a credential, fetch and verify
 * other users' certificates (RFC 6072 §10.3 with RFC 4474 Identity), get
 * one's own credential back, watch certificates, keep a credential fresh
 * (§5), and use the certificates for S/MIME MESSAGE (§9.1).
 *
 * A struct sipcert_ua owns an event loop, its transports and caches. The
 * calls below run that loop until their operation is done (or, for
 * watch, agent and listen, until sipcert_ua_stop()); one thread at a
 * time per sipcert_ua. The library never prints and never exits: every
 * call returns 0 or a negative errno-style code, and fills the optional
 * struct sipcert_error with a stable code and a message for people. */
#ifndef SIPCERT_UA_API_H
#define SIPCERT_UA_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Why an operation failed. code is a stable lower-case word scripts may
 * rely on (sipcert(1) lists them all), e.g. "from_mismatch",
 * "bad_signature", "stale_date", "identity_info_untrusted", "timeout",
 * "auth_failed", "not_found"; message says more, for people. status is
 * the SIP status when a server refused (else 0). */
struct sipcert_error {
	char code[48];
	char message[256];
	int status;
};

/** How to reach the domain and whom to trust. Zero-initialise, then set. */
struct sipcert_ua_opts {
	/** Our address of record, "sip:alice@example.com". Needed to
	 * publish, revoke, get one's credential, run the agent and send or
	 * receive messages; NULL is fine for fetch and watch (the requests
	 * are then anonymous). */
	const char *aor;
	/** Digest authentication (the same secret as SIP registration).
	 * username NULL: the AOR's user part. The password is copied and
	 * wiped when the agent is freed. */
	const char *username;
	const char *password;
	/** Outbound proxy "sip:HOST:PORT;transport=udp|tcp|tls". NULL:
	 * RFC 3263 resolution of the target's domain. With TLS the server's
	 * certificate must name HOST (DNS:HOST) with a proxy, the domain
	 * (URI:sip:DOMAIN) without: RFC 5922, exact, case-insensitive, no
	 * wildcards. */
	const char *proxy;
	/** PEM bundle of trust anchors for TLS and Identity-Info
	 * certificates; NULL: the system's. */
	const char *trust_anchors;
	/** "HOST:PORT:ADDRESS" entries, like curl's --resolve: HTTPS and SIP
	 * lookups of HOST for PORT answer ADDRESS. */
	const char *const *resolve;
	size_t n_resolve;
	/** Name servers "ADDR[:PORT],..."; NULL: /etc/resolv.conf. */
	const char *dns_servers;
	/** Where our credential, the certificate cache and the fingerprints
	 * seen live. NULL: $SIPCERT_DIR, else $XDG_DATA_HOME/sipcert, else
	 * ~/.local/share/sipcert. */
	const char *state_dir;
	/** How long a verified certificate is used from the cache, in
	 * seconds: never longer than its subscription would have lasted or
	 * its notAfter. Negative: the default of one day; 0: never cached. */
	long cache_ttl_s;
	/** Give up on one operation after this long; 0: 32000 ms. */
	unsigned timeout_ms;
};

struct sipcert_ua;

/** Make a user agent. -EINVAL (a malformed option: e->message names it),
 * -ENOENT (trust anchors unreadable), -ENOMEM. */
int sipcert_ua_new(struct sipcert_ua **out, const struct sipcert_ua_opts *o,
		   struct sipcert_error *e);
/** Free it (no un-SUBSCRIBE is sent: stop a watch first). NULL: no-op. */
void sipcert_ua_free(struct sipcert_ua *ua);
/** End a running sipcert_watch(), sipcert_agent() or
 * sipcert_message_listen() cleanly (subscriptions end with Expires: 0,
 * a registration is removed). Safe to call from a signal handler. */
void sipcert_ua_stop(struct sipcert_ua *ua);

/** A certificate and what is known about it. */
struct sipcert_cert {
	char aor[256];	 /**< the AOR it is indexed by (asserted) */
	char sha256[65]; /**< lower-case hex of SHA-256 over the DER */
	char sha1[41];
	int64_t not_before; /**< Unix time */
	int64_t not_after;
	char subject[256]; /**< one-line RFC 2253 form */
	char issuer[256];
	char san[256]; /**< the first URI: subjectAltName, or "" */
	/** How it was verified: the domain whose authentication service
	 * signed the NOTIFY, and the Identity alg ("rsa-sha256"). Empty for
	 * one's own credential. */
	char identity_domain[256];
	char alg[16];
	/** RFC 6072 §10.3.1: issued by a trusted CA for this AOR too. */
	int externally_validated;
	int from_cache; /**< served from the cache, not fetched now */
	/** RFC 6072 §10.8: the AOR had another certificate before, and
	 * that one had not expired yet: tell the user. */
	int changed_early;
	char previous_sha256[65]; /**< that one, when changed_early */
	unsigned char *der;	  /**< the certificate, DER */
	size_t der_len;
	char *pem; /**< the same, PEM, NUL-terminated */
	/** The next certificate of the same AOR, or NULL: the HTTPS store
	 * keeps one per device (draft-jennings-sipping-certs §6).
	 * sipcert_cert_free() frees the whole list. */
	struct sipcert_cert *next;
};
/** Free a certificate handed out by this library. NULL: no-op. */
void sipcert_cert_free(struct sipcert_cert *c);

/* ---- fetching other users' certificates (RFC 6072 §6, §10.3) --------- */

enum {
	/** Ask the credential service even when the cache has one. */
	SIPCERT_FETCH_NO_CACHE = 1 << 0,
	/** Fetch over HTTPS from the domain's certificate store instead
	 * (draft-jennings-sipping-certs: SRV _certificates._tcp.DOMAIN, else
	 * certificates.DOMAIN; GET search-cgi). The store's TLS certificate
	 * must name the AOR's domain; every current certificate of the AOR
	 * comes back, linked by next; alg is "https". */
	SIPCERT_FETCH_HTTP = 1 << 1,
};

/** Fetch aor's certificate: from the cache if fresh, else SUBSCRIBE
 * Event: certificate (Expires: 0) and check the NOTIFY by RFC 6072 §10.3
 * (From, Identity over the RFC 4474 digest-string, the Identity-Info
 * certificate fetched over HTTPS naming the From domain and chaining to
 * the trust anchors, Date within 3600 s, the certificate's validity).
 * On success *out is the certificate (free it with sipcert_cert_free()).
 * On refusal a negative code and e->code, e.g. "from_mismatch",
 * "missing_identity", "bad_signature", "unknown_alg",
 * "identity_info_unreachable", "identity_info_wrong_domain",
 * "identity_info_wildcard", "identity_info_untrusted", "stale_date",
 * "missing_date", "cert_expired", "cert_not_yet_valid",
 * "not_certificate", "no_certificate" (revoked or never published),
 * "not_found", "timeout". */
int sipcert_fetch(struct sipcert_ua *ua, const char *aor, unsigned flags,
		  struct sipcert_cert **out, struct sipcert_error *e);

/** A peer answered 437 Unsupported Certificate to something we encrypted
 * with old_sha256 (RFC 6072 §10.3): drop it from the cache and fetch
 * again. *changed says whether the certificate is now a different one;
 * only then is a retry worth it. */
int sipcert_refetch_after_437(struct sipcert_ua *ua, const char *aor,
			      const char *old_sha256, struct sipcert_cert **out,
			      int *changed, struct sipcert_error *e);

/** One thing a watch saw. */
struct sipcert_watch_event {
	const char *aor;
	enum sipcert_watch_kind {
		SIPCERT_WATCH_UPDATE,  /**< a verified certificate: cert */
		SIPCERT_WATCH_REVOKED, /**< the certificate is gone */
		SIPCERT_WATCH_REFUSED, /**< a NOTIFY failed §10.3: error */
		SIPCERT_WATCH_ENDED,   /**< the subscription ended: error */
	} kind;
	const struct sipcert_cert *cert;
	const struct sipcert_error *error;
};
typedef void sipcert_watch_cb(void *arg, const struct sipcert_watch_event *ev);

/** Subscribe to the certificates of aors (expires seconds, 0: 3600) and
 * report each update and revocation as it arrives, refreshing before the
 * subscriptions run out, until sipcert_ua_stop(); then unsubscribe with
 * Expires: 0. Returns 0 after a stop, or a negative code when no
 * subscription could be made at all. */
int sipcert_watch(struct sipcert_ua *ua, const char *const *aors, size_t n,
		  unsigned expires, sipcert_watch_cb *cb, void *arg,
		  struct sipcert_error *e);

/* ---- one's own credential (RFC 6072 §7, §10.5, §10.6) ---------------- */

enum sipcert_key_type {
	SIPCERT_KEY_RSA2048 = 0, /**< the default; RFC 4474 needs RSA */
	SIPCERT_KEY_RSA3072,
	SIPCERT_KEY_EC_P256,
};

struct sipcert_publish_opts {
	/** Make a new credential even when one is stored locally. */
	int force_new;
	enum sipcert_key_type key_type; /**< for a new one */
	int sha1;			/**< sha1WithRSA instead of SHA-256 */
	/** Publish the private key too, encrypted with this pass phrase
	 * (PKCS#8, PBES2, PBKDF2-HMAC-SHA256, id-aes128-wrap-pad). */
	int with_key;
	/** Protects the key: in the publication (with_key) and in the local
	 * state directory. NULL or "": the local copy is protected by file
	 * permissions only, and with_key is refused. */
	const char *passphrase;
	unsigned expires; /**< of the publication; 0: the server's default */
	/** Enrol the certificate over HTTPS instead (PUT search-cgi with
	 * HTTP Digest, draft-jennings-sipping-certs §6); with_key is refused
	 * there. */
	int http;
};

struct sipcert_publish_result {
	int generated;		   /**< a new credential was made */
	int replaced;		   /**< http: it replaced an enrolled one */
	char etag[128];		   /**< SIP-ETag of the publication */
	unsigned expires;	   /**< granted */
	struct sipcert_cert *cert; /**< what was published; free it */
};

/** Publish our certificate (and, with_key, our encrypted private key) by
 * PUBLISH Event: credential over TLS straight to the domain, with digest
 * authentication; generate a credential first when none is stored
 * locally. An earlier publication is refreshed or replaced with
 * SIP-If-Match (RFC 3903). */
int sipcert_publish(struct sipcert_ua *ua, const struct sipcert_publish_opts *o,
		    struct sipcert_publish_result *out,
		    struct sipcert_error *e);

/** Revoke our credential: PUBLISH with Expires: 0 (RFC 3903 §4.5);
 * watchers get an empty NOTIFY (RFC 6072 §6.6). */
int sipcert_revoke(struct sipcert_ua *ua, struct sipcert_error *e);

/** Get our credential from the domain (SUBSCRIBE Event: credential over
 * TLS, Expires: 0), decrypt the private key with passphrase and keep it
 * in the state directory. When it cannot be decrypted the NOTIFY is
 * answered 437 and e->code is "decrypt_failed"; "no_key" when only a
 * certificate is published. *out (may be NULL) is the certificate. */
int sipcert_credential_get(struct sipcert_ua *ua, const char *passphrase,
			   struct sipcert_cert **out, struct sipcert_error *e);

/** Our locally stored certificate; -ENOENT when there is none. */
int sipcert_credential_local(struct sipcert_ua *ua, struct sipcert_cert **out,
			     struct sipcert_error *e);

/** What the agent did. */
struct sipcert_agent_event {
	enum sipcert_agent_kind {
		SIPCERT_AGENT_SUBSCRIBED,  /**< Event: credential is active */
		SIPCERT_AGENT_CREDENTIAL,  /**< a credential arrived: cert */
		SIPCERT_AGENT_EMPTY,	   /**< none published: making one */
		SIPCERT_AGENT_RENEWING,	   /**< notAfter is near */
		SIPCERT_AGENT_PUBLISHED,   /**< our new credential is out */
		SIPCERT_AGENT_DEACTIVATED, /**< resubscribing */
		SIPCERT_AGENT_ERROR,	   /**< error; the agent goes on */
	} kind;
	const struct sipcert_cert *cert;
	const struct sipcert_error *error;
};
typedef void sipcert_agent_cb(void *arg, const struct sipcert_agent_event *ev);

struct sipcert_agent_opts {
	const char *passphrase; /**< required: the key is published too */
	enum sipcert_key_type key_type;
	/** Renew when notAfter is this close (0: 600 s, RFC 6072 §5) ... */
	unsigned renew_before_s;
	/** ... after a random wait of 0..max_wait_s (0: 300 s) in which no
	 * other device published a new one. */
	unsigned max_wait_s;
	unsigned expires; /**< of the subscription; 0: 3600 */
};

/** Keep our credential fresh by RFC 6072 §5 until sipcert_ua_stop():
 * subscribe to it; on an empty NOTIFY make and publish a new one; when
 * notAfter comes within renew_before_s, wait a random 0..max_wait_s and,
 * if no other device published a new one meanwhile, make and publish one
 * with SIP-If-Match; resubscribe after "deactivated". */
int sipcert_agent(struct sipcert_ua *ua, const struct sipcert_agent_opts *o,
		  sipcert_agent_cb *cb, void *arg, struct sipcert_error *e);

/* ---- S/MIME MESSAGE (RFC 6072 §9.1, RFC 3261 §23, RFC 3428) ---------- */

/** Send text to aor as a MESSAGE whose body is signed with our credential
 * (unlocked with passphrase) and encrypted for aor's certificate
 * (fetched and verified as sipcert_fetch() does, or from the cache):
 * application/pkcs7-mime. On a 437 the certificate is fetched again and
 * the message resent once if it changed. *used (may be NULL) is the
 * certificate it was encrypted for. */
int sipcert_message_send(struct sipcert_ua *ua, const char *aor,
			 const char *text, const char *passphrase,
			 struct sipcert_cert **used, struct sipcert_error *e);

/** One message received. */
struct sipcert_message {
	const char *from; /**< the sender's AOR (From) */
	const char *text; /**< decrypted, NUL-terminated */
	/** 1: signed by the sender's certificate as the credential service
	 * vouches for it (fetched and verified by §10.3); 0: not. */
	int verified;
	const char *sender_sha256;	   /**< the signer's certificate */
	const struct sipcert_error *error; /**< when it could not be read */
};
typedef void sipcert_message_cb(void *arg, const struct sipcert_message *m);

/** Register (expires seconds, 0: 600) and receive MESSAGEs until
 * sipcert_ua_stop(): decrypt each with our credential (passphrase),
 * check its signature against the sender's certificate, report it, and
 * answer 200 (415 for a body that is not S/MIME, 437 when it was not
 * encrypted for our certificate, 493 when it cannot be decrypted). */
int sipcert_message_listen(struct sipcert_ua *ua, const char *passphrase,
			   unsigned expires, sipcert_message_cb *cb, void *arg,
			   struct sipcert_error *e);

#ifdef __cplusplus
}
#endif
#endif
