/* SPDX-License-Identifier: BSD-3-Clause */
/* The credential service's pure parts (no I/O, no loop): request checks
 * and PUBLISH bodies (check.c, RFC 6072 §6.4, §7.4-§7.9, RFC 6665
 * §4.2.1.1, RFC 3903 §6) and NOTIFY construction and signing (notify.c,
 * RFC 6665 §4.2.2, RFC 6072 §6.7, §7.7, RFC 4474 §5). service.c,
 * subscribe.c and deliver.c tie them to transactions, the store and the
 * worker pools. */
#ifndef SIPCERT_CRED_INT_H
#define SIPCERT_CRED_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/base.h"
#include "identity/identity.h"
#include "net/net.h"
#include "sip/sip.h"

/* ---- packages (check.c) ------------------------------------------------ */

enum cred_pkg {
	CRED_PKG_CERTIFICATE, /* RFC 6072 §6 */
	CRED_PKG_CREDENTIAL,  /* RFC 6072 §7 */
};

/* "certificate", "credential" */
const char *cred_pkg_name(enum cred_pkg p);
/* The package m's Event header names: 0 and *out; -ENOENT without an
 * Event header; -EPROTONOSUPPORT for another package (489, RFC 6665
 * §7.2.2), including template-packages ("certificate.winfo" and the
 * like), and -EBADMSG for a malformed Event. Package names are compared
 * octet by octet (RFC 6665 §8.2.1), so "Certificate" is another package. */
int cred_pkg_of(const struct sip_msg *m, enum cred_pkg *out);

/* RFC 6072 §6.4 and §7.4: does the subscriber accept what the package
 * sends? Without any Accept header, yes. Otherwise every Accept header's
 * elements together (media ranges, "*" wildcards and q-values honoured:
 * q=0 refuses) must admit application/pkix-cert for the certificate
 * package, and multipart/mixed, application/pkix-cert and
 * application/pkcs8 for the credential package. An Accept header with an
 * empty value accepts nothing (RFC 3261 §20.1). 0 with *ok; -EBADMSG for
 * a malformed Accept. */
int cred_accept_ok(const struct sip_msg *m, enum cred_pkg pkg, bool *ok);

/* RFC 6072 §7.5, §7.8: credential SUBSCRIBE and PUBLISH must come over
 * TLS directly from the user agent (one Via value in all). NULL when
 * they did; otherwise the reason phrase of the 403 that refuses them:
 *   "Credentials only over TLS"
 *   "Credentials only directly from the user agent, not through a proxy"
 */
const char *cred_direct_tls_refusal(const struct sip_msg *m,
				    enum net_proto proto);

/* Expiry bounds of a subscription (RFC 6665 §4.2.1.1) or publication
 * (RFC 3903 §6). */
struct cred_expiry_limits {
	uint32_t min_s;	    /* 423 with Min-Expires below it (but 0) */
	uint32_t default_s; /* no Expires header */
	uint32_t max_s;	    /* shortened to it */
};

/* The expiry to grant for SUBSCRIBE or PUBLISH m: its Expires header
 * (m->expires), else default_s; then at most max_s and at most cap_s
 * (RFC 6072 §7.6: a credential subscription never outlives the
 * certificate's notAfter; UINT32_MAX for none). 0 stays 0 (an
 * unsubscribe, or a PUBLISH removal). Returns 0 with *granted; -ERANGE
 * when 0 < asked < min_s (the caller answers 423 with Min-Expires) —
 * unless cap_s itself is below min_s, when the capped value is granted. */
int cred_expires(const struct sip_msg *m, const struct cred_expiry_limits *l,
		 uint32_t cap_s, uint32_t *granted);

/* Why a PUBLISH is refused: status and reason phrase for the status
 * line, and the text of a Warning: 399 header (RFC 3261 §20.43) that
 * names the check. Static strings. */
struct cred_refusal {
	unsigned status;
	const char *reason;
	const char *warning;
};

/* A PUBLISH body taken apart (RFC 6072 §7.8). Slices point into the
 * message. */
struct cred_publication {
	struct slice cert_der; /* application/pkix-cert, DER */
	struct slice pkcs8;    /* application/pkcs8, DER; .p NULL if none */
	bool pkcs8_encrypted;  /* EncryptedPrivateKeyInfo (else PrivateKeyInfo)
				*/
	X509 *cert;	       /* parsed; owned: cred_publication_fini() */
	int64_t not_before;
	int64_t not_after;
	char sha256[65]; /* lower-case hex SHA-256 of cert_der */
};

/* Take m's body apart and apply the checks of RFC 6072 §7.9 at now:
 *  - Content-Type application/pkix-cert: the certificate alone; or
 *    multipart/mixed (RFC 2046) with exactly one application/pkix-cert
 *    part and at most one application/pkcs8 part, nothing else; a part
 *    with a Content-Transfer-Encoding other than binary is refused.
 *  - the certificate is one DER X.509 certificate, nothing after it;
 *    the PKCS#8 part is one DER EncryptedPrivateKeyInfo or
 *    PrivateKeyInfo (RFC 5958), nothing after it;
 *  - notBefore not in the future, notAfter in the future, and cA FALSE
 *    when basicConstraints is present. The subjectAltName is NOT checked
 *    (§7.9).
 * Returns 0 and fills *out; -EBADMSG (or -ENOMEM) and fills *why:
 *   415 "Unsupported Media Type" for another Content-Type (the caller adds
 *       Accept: application/pkix-cert, multipart/mixed);
 *   400 for a malformed body, certificate or PKCS#8;
 *   400 "Certificate not yet valid" (notBefore in the future),
 *   400 "Certificate expired" (notAfter not in the future),
 *   400 "CA certificate refused" (cA TRUE),
 * each with a warning text saying the same at more length; -EPROTO (or
 * another OpenSSL failure) with 500 in *why*. An empty body is not for
 * this function (-EINVAL: a PUBLISH refresh or removal). */
int cred_publication_parse(const struct sip_msg *m, time_t now,
			   struct cred_publication *out,
			   struct cred_refusal *why);
void cred_publication_fini(struct cred_publication *p);
/* The certificate checks of cred_publication_parse() on a DER certificate
 * alone (an HTTPS enrolment, draft-jennings-sipping-certs §6): one DER
 * X.509 certificate, notBefore not in the future, notAfter in the future,
 * cA not TRUE. Fills out (cert_der is der, no pkcs8) or *why as above;
 * -EINVAL for an empty der. */
int cred_certificate_parse(struct slice der, time_t now,
			   struct cred_publication *out,
			   struct cred_refusal *why);

/* ---- NOTIFY (notify.c) --------------------------------------------------- */

/* The body of a NOTIFY (RFC 6072 §6.4, §7.4): what cred_notify_body()
 * builds from the resource's current state. */
struct cred_body {
	struct buf bytes; /* empty: no body */
	char ctype[128];  /* "" with no body */
};

/* Build the body for pkg: certificate: the DER alone,
 * application/pkix-cert; credential: multipart/mixed (fresh boundary)
 * with an application/pkix-cert part and, when pkcs8 is not empty, an
 * application/pkcs8 part; with cert_der empty: no body at all (revoked
 * or none published, §6.7, §7.9). The caller inits out->bytes (and marks
 * it secret for a credential body) and finis it. 0, -ENOMEM, -EMSGSIZE. */
int cred_notify_body(enum cred_pkg pkg, struct slice cert_der,
		     struct slice pkcs8, struct cred_body *out);

/* One NOTIFY of a subscription's dialog (RFC 3261 §12.2.1.1, RFC 6665
 * §4.2.2). Strings are NUL-terminated and already valid for their header
 * (the service took them from a parsed SUBSCRIBE). */
struct cred_notify_req {
	const char *request_uri; /* the remote target (SUBSCRIBE's Contact) */
	const char *route_set;	 /* Route header value(s), or NULL */
	const char *local_uri;	 /* From: the SUBSCRIBE's To URI (§6.7) */
	const char *local_tag;
	const char *remote_uri; /* To: the SUBSCRIBE's From URI */
	const char *remote_tag;
	const char *call_id;
	uint32_t cseq;
	const char *contact; /* our Contact URI, e.g. "sip:host:5061;
			      * transport=tls" (without <>) */
	enum cred_pkg pkg;
	/* the SUBSCRIBE's Event id parameter, echoed in the NOTIFY's Event
	 * (RFC 6665 §8.2.1: "Event: certificate;id=..."); NULL: none */
	const char *event_id;
	/* Subscription-State value, e.g. "active;expires=3599" or
	 * "terminated;reason=timeout" */
	const char *substate;
	time_t date; /* Date (RFC 4474 §9 signs it) */
	const struct cred_body *body;
};

/* The NOTIFY, without Via (the transaction layer adds it) and without
 * Identity (the signer adds it between head and tail):
 *   head: request line, Route (if any), Max-Forwards: 70, From with tag,
 *         To with tag, Call-ID, CSeq N NOTIFY, Contact <...>, Event,
 *         Subscription-State, Date
 *   tail: Content-Type and Content-Disposition: signal (with a body),
 *         Content-Length, blank line, body.
 * Appends to head and tail. 0 or the bufs' sticky errors (-EINVAL for a
 * value that would inject a header line). */
int cred_notify_build(const struct cred_notify_req *r, struct buf *head,
		      struct buf *tail);

/* The authentication service (RFC 4474 §5, RFC 6072 §8): parse
 * head + tail as one message, sign its digest-string with key and alg,
 * and append head, "Identity: ..." and "Identity-Info: <info_url>;alg=..."
 * lines, then tail, to out. Runs on a worker thread: touches nothing but
 * its arguments (EVP_PKEY signing is safe from several threads at once).
 * 0; -EBADMSG (head+tail do not parse or lack a part RFC 4474 §9 signs),
 * -EINVAL, -EPROTO (OpenSSL), -ENOMEM, -EMSGSIZE. out is unchanged on
 * failure. */
int cred_notify_sign(EVP_PKEY *key, enum identity_alg alg, const char *info_url,
		     struct slice head, struct slice tail, struct buf *out);
/* The same with a reusable signer (identity_signer_new), which gives the
 * same bytes without setting up a signature context for each NOTIFY. */
int cred_notify_sign_with(struct identity_signer *signer, const char *info_url,
			  struct slice head, struct slice tail,
			  struct buf *out);

#endif
