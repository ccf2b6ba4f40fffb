/* SPDX-License-Identifier: BSD-3-Clause */
/* sip: the SIP message core (RFC 3261 §7, §19, §20, §25): zero-copy parser,
 * header and URI grammars, multipart bodies, digest, serializer, framing.
 * Pure: no I/O.
 *
 * THE SLICE RULE: every struct slice in a decoded struct sip_msg points
 * into the message's own copy of the bytes, so a slice never outlives its
 * message; it is valid until sip_msg_free(). Slices returned by the header
 * parsers point into the slice they were given. */
#ifndef SIPCERT_SIP_H
#define SIPCERT_SIP_H

#include <time.h>

#include "base/base.h"

/* ---- limits (checked where bytes arrive) ----------------------------- */

enum {
	SIP_MAX_MSG_BYTES = 65535, /* default; transports may lower it */
	SIP_MAX_HEADERS = 256,	   /* header fields in one message */
	SIP_MAX_HDR_VALUES = 64,   /* values of one comma-list header */
};

/* ---- methods ------------------------------------------------------------ */

enum sip_method {
	SIP_METHOD_OTHER = 0,
	SIP_METHOD_INVITE,
	SIP_METHOD_ACK,
	SIP_METHOD_BYE,
	SIP_METHOD_CANCEL,
	SIP_METHOD_REGISTER,
	SIP_METHOD_OPTIONS,
	SIP_METHOD_SUBSCRIBE,
	SIP_METHOD_NOTIFY,
	SIP_METHOD_PUBLISH,
	SIP_METHOD_MESSAGE,
	SIP_METHOD_INFO,
	SIP_METHOD_PRACK,
	SIP_METHOD_UPDATE,
	SIP_METHOD_REFER,
	SIP_METHOD_CONNECT, /* draft-gurbani-sip-sipsec */
};

/* Method names are case-sensitive (RFC 3261 §7.1). */
enum sip_method sip_method_lookup(struct slice name);
const char *sip_method_name(enum sip_method m);

/* ---- header table ----------------------------------------------------- */

enum sip_hdr_id {
	SIP_HDR_OTHER = 0,
	SIP_HDR_ACCEPT,
	SIP_HDR_ACCEPT_ENCODING,
	SIP_HDR_ACCEPT_LANGUAGE,
	SIP_HDR_ALLOW,
	SIP_HDR_ALLOW_EVENTS,
	SIP_HDR_AUTHORIZATION,
	SIP_HDR_CALL_ID,
	SIP_HDR_CONTACT,
	SIP_HDR_CONTENT_DISPOSITION,
	SIP_HDR_CONTENT_ENCODING,
	SIP_HDR_CONTENT_ID,
	SIP_HDR_CONTENT_LENGTH,
	SIP_HDR_CONTENT_TYPE,
	SIP_HDR_CSEQ,
	SIP_HDR_DATE,
	SIP_HDR_EVENT,
	SIP_HDR_EXPIRES,
	SIP_HDR_FROM,
	SIP_HDR_IDENTITY,
	SIP_HDR_IDENTITY_INFO,
	SIP_HDR_MAX_FORWARDS,
	SIP_HDR_MIN_EXPIRES,
	SIP_HDR_PROXY_AUTHENTICATE,
	SIP_HDR_PROXY_AUTHORIZATION,
	SIP_HDR_PROXY_REQUIRE,
	SIP_HDR_RECORD_ROUTE,
	SIP_HDR_REQUIRE,
	SIP_HDR_RETRY_AFTER,
	SIP_HDR_ROUTE,
	SIP_HDR_SIP_ETAG,
	SIP_HDR_SIP_IF_MATCH,
	SIP_HDR_SUBJECT,
	SIP_HDR_SUBSCRIPTION_STATE,
	SIP_HDR_SUPPORTED,
	SIP_HDR_TIMESTAMP,
	SIP_HDR_TO,
	SIP_HDR_UNSUPPORTED,
	SIP_HDR_USER_AGENT,
	SIP_HDR_SERVER,
	SIP_HDR_VIA,
	SIP_HDR_WARNING,
	SIP_HDR_WWW_AUTHENTICATE,
	SIP_HDR__COUNT
};

/* Full or compact name (RFC 3261 §7.3.3, RFC 4474 §13 "y" and "n"),
 * case-insensitive. */
enum sip_hdr_id sip_hdr_lookup(struct slice name);
/* Canonical full name, e.g. "Call-ID"; NULL for SIP_HDR_OTHER. */
const char *sip_hdr_name(enum sip_hdr_id id);
/* True for headers whose grammar allows a comma-separated list. */
bool sip_hdr_is_list(enum sip_hdr_id id);

struct sip_hdr {
	enum sip_hdr_id id;
	struct slice name;  /* as on the wire */
	struct slice value; /* trimmed; may contain folds (CRLF WSP) */
};

/* Split a list header's value at top-level commas (outside quotes and
 * <...>). Returns 0 with the next trimmed element, -ENOENT at the end,
 * -EBADMSG for an empty element or unbalanced quotes/brackets. */
int sip_list_next(struct scan *s, struct slice *elem);

/* ---- generic parameters: *( SEMI generic-param ) ------------------------- */

/* Read one ";name[=value]" from s. value is a token, host, or
 * quoted-string (with its quotes). Returns -ENOENT when s is at the end
 * or at a ',' (list separator). */
int sip_param_next(struct scan *s, struct slice *name, struct slice *value);
/* Find a parameter by name (case-insensitive) in a ";a=b;c" run. Returns 0
 * with its value (empty for a flag), -ENOENT if absent. */
int sip_param_find(struct slice params, const char *name, struct slice *value);
/* Strip the quotes of a quoted-string value, if it has them. */
struct slice sip_unquote(struct slice v);

/* ---- URIs (RFC 3261 §19.1, RFC 3966, draft-gurbani-sip-sipsec) ----------- */

enum sip_uri_scheme {
	SIP_URI_OTHER = 0, /* any absoluteURI (RFC 3261 §25.1) */
	SIP_URI_SIP,
	SIP_URI_SIPS,
	SIP_URI_SIPSEC,
	SIP_URI_TEL,
};

enum sip_host_type {
	SIP_HOST_NONE = 0,
	SIP_HOST_NAME,
	SIP_HOST_IPV4,
	SIP_HOST_IPV6, /* host includes the brackets */
};

struct sip_uri {
	enum sip_uri_scheme scheme;
	struct slice scheme_name; /* as written */
	struct slice user;	  /* still escaped; .p NULL if absent */
	struct slice password;	  /* still escaped; .p NULL if absent */
	struct slice host;
	enum sip_host_type host_type;
	uint16_t port; /* 0 if absent */
	bool has_port;
	struct slice params;  /* after the first ';' of the hostport part */
	struct slice headers; /* after '?', still escaped */
	struct slice rest;    /* tel: number / other schemes: after ':' */
	struct slice whole;
};

/* Parse a URI with no surrounding white space. 0, -EBADMSG, or -EMSGSIZE
 * for more than 64 uri-parameters, headers or tel parameters. */
int sip_uri_parse(struct slice s, struct sip_uri *out);
/* RFC 3261 §19.1.4 comparison (sip:, sips:, sipsec:), RFC 3966 §4 for
 * tel:; other schemes are compared octet-wise after case-folding the
 * scheme. */
bool sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b);
/* A URI parameter's value (case-insensitive name). 0, -ENOENT. */
int sip_uri_param(const struct sip_uri *u, const char *name,
		  struct slice *value);
/* Append the %HH-decoded form of s (one pass, never recursive). */
int sip_uri_unescape(struct buf *out, struct slice s);
/* Append "scheme:user@host" lower-cased where the RFC says case does not
 * matter, unescaped user: the form sipcert stores AORs in. */
int sip_uri_print_aor(struct buf *out, const struct sip_uri *u);
int sip_uri_print(struct buf *out, const struct sip_uri *u);

/* ---- name-addr / addr-spec with header params (From, To, Contact, Route)
 * RFC 3261 §20.10, §20.20, §20.39, §25.1 ------------------------------------
 */

struct sip_addr {
	struct slice display; /* without quotes; .p NULL if absent */
	bool display_quoted;
	struct slice uri_s; /* the URI text */
	struct sip_uri uri;
	struct slice params; /* header params after the URI */
	struct slice tag;    /* ;tag= value, .p NULL if absent */
	bool is_star;	     /* Contact: * */
};

int sip_addr_parse(struct slice v, struct sip_addr *out);
/* Contact allows "*"; everything else is as sip_addr_parse. */
int sip_contact_parse(struct slice v, struct sip_addr *out);

/* ---- Via (RFC 3261 §20.42) ---------------------------------------------- */

struct sip_via {
	struct slice proto;	/* "SIP/2.0" */
	struct slice transport; /* UDP, TCP, TLS, SCTP, WS, or other token */
	struct slice host;	/* IPv6 with brackets */
	enum sip_host_type host_type;
	uint16_t port;
	bool has_port;
	struct slice params;
	struct slice branch;   /* .p NULL if absent */
	struct slice received; /* .p NULL if absent */
	bool has_rport;
	struct slice rport; /* empty if present without value */
	struct slice whole; /* the one via-parm */
};

int sip_via_parse(struct slice v, struct sip_via *out);

/* ---- scalar and small headers ---------------------------------------------
 */

struct sip_cseq {
	uint32_t num; /* RFC 3261 §8.1.1.5: less than 2^31 when we send */
	struct slice method;
	enum sip_method method_id;
};

/* RFC 3261 §20.16 */
int sip_cseq_parse(struct slice v, struct sip_cseq *out);
/* delta-seconds (RFC 3261 §25.1), at most 2^32 - 1; Max-Forwards ≤ 255. */
int sip_delta_parse(struct slice v, uint32_t *out);
int sip_max_forwards_parse(struct slice v, uint32_t *out);
int sip_content_length_parse(struct slice v, uint32_t *out);
/* Call-ID = word [ "@" word ] (RFC 3261 §25.1) */
int sip_callid_parse(struct slice v);

/* Event (RFC 6665 §8.2.1): package with its id param. */
struct sip_event {
	struct slice package; /* e.g. "certificate" (with template suffix) */
	struct slice id;      /* .p NULL if absent */
	struct slice params;
};
int sip_event_parse(struct slice v, struct sip_event *out);

/* Subscription-State (RFC 6665 §8.2.3) */
struct sip_substate {
	struct slice state; /* active, pending, terminated, or extension */
	struct slice reason;
	bool has_expires;
	uint32_t expires;
	bool has_retry_after;
	uint32_t retry_after;
	struct slice params;
};
int sip_substate_parse(struct slice v, struct sip_substate *out);

/* RFC 6665 §4.1.2.2 and §4.2.2: a final answer to a refreshing SUBSCRIBE
 * or to a NOTIFY after which the subscription is over: 404, 405, 410,
 * 416, 480-485, 489, 501 and 604, and 408 (the request timed out on its
 * way, as timer F would have: RFC 5057 §5.1). Other error answers end that
 * transaction only. */
bool sip_status_ends_subscription(unsigned status);

/* Content-Type / media-type (RFC 3261 §20.15), also one Accept element. */
struct sip_ctype {
	struct slice type;
	struct slice subtype;
	struct slice params;
	struct slice boundary; /* unquoted; .p NULL if absent */
};
int sip_ctype_parse(struct slice v, struct sip_ctype *out);
/* Does media-range r (type/subtype, "*" wildcards) accept type/subtype? */
bool sip_ctype_matches(const struct sip_ctype *range, const char *type,
		       const char *subtype);

/* Content-Disposition (RFC 3261 §20.11) */
struct sip_disposition {
	struct slice type; /* render, session, icon, alert, signal, ... */
	struct slice params;
};
int sip_disposition_parse(struct slice v, struct sip_disposition *out);

/* Date: rfc1123-date in GMT (RFC 3261 §20.17); only "GMT" is valid. */
int sip_date_parse(struct slice v, time_t *out);
/* "Sun, 06 Nov 1994 08:49:37 GMT" (29 chars + NUL). */
void sip_date_format(time_t t, char out[30]);

/* Retry-After (RFC 3261 §20.33) */
int sip_retry_after_parse(struct slice v, uint32_t *seconds);

/* One Warning value (RFC 3261 §20.43): 3DIGIT SP agent SP quoted text. */
struct sip_warning {
	uint16_t code;
	struct slice agent;
	struct slice text; /* inside the quotes */
};
int sip_warning_parse(struct slice v, struct sip_warning *out);

/* ---- the message ----------------------------------------------------------
 */

struct sip_error {
	uint16_t status; /* 400, 505, ...; 0 for a response (drop it) */
	char reason[120];
};

struct sip_msg {
	struct arena arena; /* owns the bytes and everything parsed */
	struct slice raw;   /* the whole message, as framed */
	bool is_request;

	/* request line */
	struct slice method;
	enum sip_method method_id;
	struct slice ruri_s;
	struct sip_uri ruri;
	/* status line */
	uint16_t status;
	struct slice reason;

	struct sip_hdr *hdrs; /* arena array, wire order */
	size_t n_hdrs;
	struct slice body;

	/* eagerly parsed routing keys; has_x false when the header is
	 * absent (the decoder refuses a request without the mandatory ones) */
	struct sip_via via; /* top-most value */
	size_t n_via;	    /* Via values in all Via fields */
	struct sip_addr from;
	struct sip_addr to;
	struct slice call_id;
	struct sip_cseq cseq;
	bool has_max_forwards;
	uint32_t max_forwards;
	bool has_content_length;
	uint32_t content_length;
	bool has_ctype;
	struct sip_ctype ctype;
	bool has_event;
	struct sip_event event;
	bool has_expires;
	uint32_t expires;
};

enum sip_decode_flags {
	/* RFC 3261 §18.3: on a datagram, a missing Content-Length means the
	 * rest of the datagram is the body and octets past Content-Length are
	 * discarded. Without this flag the bytes are one framed stream
	 * message and must match Content-Length exactly. */
	SIP_DECODE_DATAGRAM = 1 << 0,
	/* Also parse every header whose grammar sipcert knows, refusing the
	 * message when one is malformed (sipcert lint, fuzzing). */
	SIP_DECODE_STRICT = 1 << 1,
};

/* Copy the bytes into a new message and parse it. On -EBADMSG, *err (if
 * given) says what a server answers and why. *mp is set only on success;
 * free it with sip_msg_free(). -ENOMEM, -EMSGSIZE, -EBADMSG. */
int sip_msg_decode(struct sip_msg **mp, const void *data, size_t len,
		   unsigned flags, struct sip_error *err);
void sip_msg_free(struct sip_msg *m);

/* First header with this id, or NULL; next after prev. */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id);
const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m,
				       const struct sip_hdr *prev);
/* First header with this name (for extension headers). */
const struct sip_hdr *sip_msg_hdr_named(const struct sip_msg *m,
					const char *name);
/* Parse every known header of m; on failure fill err like decode does. */
int sip_msg_check(const struct sip_msg *m, struct sip_error *err);

/* ---- stream framing (RFC 3261 §18.3) ----------------------------------------
 */

struct sip_framer {
	size_t scanned; /* bytes already searched for the blank line */
	size_t msg_len; /* header block + Content-Length once known, or 0 */
	size_t max_msg_bytes;
};

/* max_msg_bytes 0 means SIP_MAX_MSG_BYTES. */
void sip_framer_init(struct sip_framer *f, size_t max_msg_bytes);
/* Look at the start of a stream buffer. Returns the length of the first
 * complete message, -EAGAIN for more bytes, -EBADMSG (missing or bad
 * Content-Length: the stream cannot be re-synchronised), -EMSGSIZE.
 * Leading CRLFs (RFC 5626 §3.5.1 keep-alives) are reported through
 * *keepalive_bytes: consume them (answer "\r\n\r\n" with "\r\n") first.
 * Exactly: when buf starts with CR or LF, the return is 0 and
 * *keepalive_bytes is the number of leading CR and LF bytes; otherwise
 * *keepalive_bytes is 0 (set on every return but -EINVAL). Between calls
 * keep the unconsumed bytes at the start of buf (more may be appended);
 * the framer remembers how far it searched and starts afresh after it
 * returns a message or an error. */
ssize_t sip_frame(struct sip_framer *f, const char *buf, size_t len,
		  size_t *keepalive_bytes);

/* ---- serializer -----------------------------------------------------------
 */

/* Everything sipcert sends is built through these into a capped buf.
 * Each returns 0 or the buf's sticky first error: -EMSGSIZE at its cap,
 * -ENOMEM, or -EINVAL (also made sticky, so a chain of appends cannot
 * silently lose a field) for a name that is not a token, a value with CR,
 * LF or NUL (header injection), or a status outside 100-699. */
int sip_out_request_line(struct buf *b, const char *method, struct slice ruri);
int sip_out_status_line(struct buf *b, unsigned status, const char *reason);
int sip_out_hdr(struct buf *b, const char *name, struct slice value);
int sip_out_hdr_cstr(struct buf *b, const char *name, const char *value);
int sip_out_hdrf(struct buf *b, const char *name, const char *fmt, ...)
	PRINTF_LIKE(3, 4);
/* Content-Type (if ctype), Content-Length, the blank line and the body. */
int sip_out_body(struct buf *b, const char *ctype, struct slice body);
/* The start of a response to req (RFC 3261 §8.2.6.2): status line, all
 * Via values, From, To (with to_tag added when To has none and to_tag is
 * not NULL), Call-ID and CSeq. The caller adds more headers and the body.
 * Values are copied as received, with the line breaks of folds removed. */
int sip_out_reply_start(struct buf *b, const struct sip_msg *req,
			unsigned status, const char *reason,
			const char *to_tag);
/* Reason phrase of RFC 3261 §21 (and RFC 3903/6665 codes). */
const char *sip_reason_phrase(unsigned status);

/* ---- multipart/mixed (RFC 2046 §5.1, RFC 5621) ------------------------------
 */

struct sip_part {
	struct slice headers; /* the part's header block */
	struct slice ctype;   /* Content-Type value; empty: text/plain */
	struct slice content_id;
	struct slice disposition;
	struct slice body; /* binary-safe */
};

/* Split body at boundary into at most max parts. -EBADMSG on a missing
 * delimiter or close-delimiter, -EMSGSIZE with more than max parts. */
int sip_multipart_parse(struct slice body, struct slice boundary,
			struct sip_part *parts, size_t max, size_t *n);

struct sip_part_out {
	const char *ctype;
	const char *content_id;	       /* NULL: none */
	const char *disposition;       /* NULL: none */
	const char *transfer_encoding; /* "binary"...; NULL: none */
	struct slice body;
};

/* Build a multipart/mixed body with a fresh boundary that appears in no
 * part; boundary (at least 71 bytes) receives it for the Content-Type. */
int sip_multipart_build(struct buf *out, const struct sip_part_out *parts,
			size_t n, char boundary[72]);

/* ---- digest authentication (RFC 2617, RFC 7616, RFC 8760) -------------------
 */

enum sip_digest_alg {
	SIP_DIGEST_MD5 = 0,
	SIP_DIGEST_MD5_SESS,
	SIP_DIGEST_SHA256,
	SIP_DIGEST_SHA256_SESS,
	SIP_DIGEST_SHA512_256,
	SIP_DIGEST_SHA512_256_SESS,
	SIP_DIGEST_UNKNOWN,
};

/* Hex digest lengths: 32 for MD5, 64 for SHA-256 and SHA-512/256. */
enum { SIP_DIGEST_HEX_MAX = 64 };

/* A parsed challenge (WWW-/Proxy-Authenticate) or credentials
 * (Authorization/Proxy-Authorization). Values are unquoted slices into the
 * header; .p NULL when absent. A quoted value's backslash escapes are kept
 * as written (RFC 7616 digest values carry none). */
struct sip_auth {
	struct slice scheme; /* "Digest" or other */
	bool is_digest;
	struct slice realm, nonce, opaque, algorithm, qop, domain, stale;
	struct slice username, uri, response, cnonce, nc, userhash;
	enum sip_digest_alg alg; /* from algorithm, default MD5 */
	uint32_t nc_value;	 /* parsed nc (8 hex digits) */
};

int sip_auth_parse(struct slice v, struct sip_auth *out);
enum sip_digest_alg sip_digest_alg_lookup(struct slice name);
const char *sip_digest_alg_name(enum sip_digest_alg alg);

/* HA1 = H(username:realm:password) as lower-case hex. */
int sip_digest_ha1(enum sip_digest_alg alg, struct slice username,
		   struct slice realm, struct slice password,
		   char out[SIP_DIGEST_HEX_MAX + 1]);

struct sip_digest_input {
	enum sip_digest_alg alg;
	const char *ha1; /* hex HA1 (for -sess: before the session step) */
	struct slice nonce, cnonce, nc, qop; /* qop empty: RFC 2069 form */
	struct slice method, uri;
	struct slice body; /* for qop=auth-int */
};

/* The request-digest (response=) as lower-case hex. */
int sip_digest_response(const struct sip_digest_input *in,
			char out[SIP_DIGEST_HEX_MAX + 1]);

/* Check credentials against HA1 for method, in constant time. 0 when the
 * response matches; -EACCES when it does not; -EBADMSG when incomplete. */
int sip_digest_verify(const struct sip_auth *cred, const char *ha1,
		      struct slice method, struct slice body);

struct sip_challenge_opts {
	const char *realm;
	const char *nonce;
	const char *opaque; /* NULL: none */
	enum sip_digest_alg alg;
	bool stale;
	bool qop_auth;
};
/* Append a challenge value: Digest realm="...", nonce="...", ... */
int sip_auth_print_challenge(struct buf *b,
			     const struct sip_challenge_opts *opts);

struct sip_credentials_opts {
	const char *username;
	const char *realm;
	const char *nonce;
	const char *uri;
	const char *response;
	enum sip_digest_alg alg;
	const char *opaque; /* echoed from the challenge; NULL: none */
	const char *cnonce; /* NULL with no qop */
	const char *qop;    /* "auth" or NULL */
	uint32_t nc;
};
int sip_auth_print_credentials(struct buf *b,
			       const struct sip_credentials_opts *opts);

#endif
