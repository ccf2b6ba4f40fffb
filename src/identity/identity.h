/* SPDX-License-Identifier: BSD-3-Clause */
/* identity: SIP Identity (RFC 4474): the Identity and Identity-Info header
 * grammars (§9), the signature's base64 transfer form and the alg table.
 * Slices returned by the parsers point into the slice they were given. */
#ifndef SIPCERT_IDENTITY_H
#define SIPCERT_IDENTITY_H

#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/base.h"

struct sip_msg;

enum {
	/* the largest signature sipcert accepts: RSA-8192 */
	IDENTITY_SIG_MAX_BYTES = 1024,
	/* its base64 form, padding included: 4 * ceil(1024 / 3) */
	IDENTITY_SIG_MAX_B64 = 4 * ((IDENTITY_SIG_MAX_BYTES + 2) / 3),
};

/* ---- Identity-Info (RFC 4474 §9) ----------------------------------------- */

struct identity_info {
	struct slice uri;    /* inside <>, an absoluteURI */
	struct slice alg;    /* token, .p NULL if absent */
	struct slice params; /* from the first ';' on, empty if none */
};

/* Identity-Info = ident-info *( SEMI ident-info-params );
 * ident-info = LAQUOT absoluteURI RAQUOT; ident-info-alg = "alg" EQUAL
 * token. v is the header value as on the wire (trimmed, folds allowed).
 * The URI is checked with sip_uri_parse(); which schemes a verifier
 * dereferences is its policy, not grammar. Returns 0, or -EBADMSG for a
 * malformed value, including a second alg. *out is set only on success. */
int identity_info_parse(struct slice v, struct identity_info *out);

/* ---- Identity (RFC 4474 §9) ---------------------------------------------- */

/* Identity = signed-identity-digest = LDQUOT *base64-char RDQUOT, with
 * base64-char = ALPHA / DIGIT / "/" / "+" and "=" padding. *b64 receives
 * the inside of the quotes. It may hold folds and white space (RFC 4474
 * §10's own example folds the digest over three lines): pass it to
 * identity_sig_decode(), which removes them. Returns 0; -EBADMSG for
 * anything but base64 characters and white space between the quotes, or
 * an empty digest (an RSA signature is never empty, §6.1); -EMSGSIZE when
 * it holds more than IDENTITY_SIG_MAX_B64 base64 characters. */
int identity_sig_parse(struct slice v, struct slice *b64);

/* Append the signature bytes of a digest found by identity_sig_parse() to
 * out. LWS and folds are skipped; what remains must be canonical base64
 * (RFC 4648 §4): a multiple of 4 characters, at most two "=" only at the
 * end, unused bits zero. Returns 0; -EBADMSG otherwise or when empty;
 * -EMSGSIZE over IDENTITY_SIG_MAX_BYTES decoded; -ENOMEM or -EMSGSIZE from
 * out. out is unchanged on failure. */
int identity_sig_decode(struct slice b64, struct buf *out);

/* ---- algorithms (RFC 4474 §9) -------------------------------------------- */

enum identity_alg {
	IDENTITY_ALG_RSA_SHA1,
	IDENTITY_ALG_RSA_SHA256,
	IDENTITY_ALG_UNKNOWN,
};

/* Case-insensitive. An absent alg (.p NULL) is rsa-sha1, the one
 * algorithm RFC 4474 §9 defines and so its default; an unknown name is
 * IDENTITY_ALG_UNKNOWN. */
enum identity_alg identity_alg_lookup(struct slice alg);
/* "rsa-sha1", "rsa-sha256"; NULL for IDENTITY_ALG_UNKNOWN. */
const char *identity_alg_name(enum identity_alg alg);

/* The digest of each alg (EVP_sha1, EVP_sha256); NULL for an unknown one.
 * Both are RSA PKCS#1 v1.5 signatures (sign.c). */
const EVP_MD *identity_alg_md(enum identity_alg alg);

/* ---- digest-string (RFC 4474 §9, canon.c) -------------------------------- */

/* Append the digest-string of m to out: From addr-spec "|" To addr-spec
 * "|" Call-ID "|" CSeq number SP method "|" Date "|" Contact addr-spec
 * (empty without Contact) "|" body, the body being the given bytes. An
 * addr-spec is the URI alone (no display name, brackets or header
 * parameters); the Date must be a valid SIP-date and is copied as it is.
 * Returns 0; -EBADMSG when a required part (From, To, Call-ID, CSeq,
 * Date) is absent or a part is malformed, and then *bad_part (if given)
 * names it, e.g. "Date"; -EINVAL, or out's -ENOMEM / -EMSGSIZE. out is
 * unchanged (length and sticky error) on failure. */
int identity_digest_print(struct buf *out, const struct sip_msg *m,
			  struct slice body, const char **bad_part);
/* The same over m->body. */
int identity_digest_string(const struct sip_msg *m, struct buf *out);
/* The same over an explicit body: for a message whose Content-Length does
 * not cover what was signed (RFC 4474 §10's own INVITE says 147 bytes and
 * signs 172). */
int identity_digest_string_body(const struct sip_msg *m, struct slice body,
				struct buf *out);

/* ---- signing: the authentication service (RFC 4474 §5, sign.c) ----------- */

/* Append the Identity header value for m: DQUOTE base64 DQUOTE, the
 * signature of its digest-string with key (an RSA private key) and alg.
 * Returns 0; -EBADMSG as identity_digest_string(); -EINVAL for an
 * unknown alg or a key that is not RSA; -EPROTO from OpenSSL; out's
 * -ENOMEM / -EMSGSIZE. out is unchanged on failure. */
int identity_sign(EVP_PKEY *key, enum identity_alg alg, const struct sip_msg *m,
		  struct buf *identity_value);
/* A signing context for one RSA key and alg, made once and reused: the
 * same Identity values as identity_sign(), without setting up OpenSSL's
 * signature context for every message. One thread at a time may use it. */
struct identity_signer;

/* -EINVAL (unknown alg, a key that is not RSA or whose signature exceeds
 * IDENTITY_SIG_MAX_BYTES), -EPROTO (OpenSSL), -ENOMEM. Holds a reference
 * to key. */
int identity_signer_new(struct identity_signer **out, EVP_PKEY *key,
			enum identity_alg alg);
/* NULL is a no-op. */
void identity_signer_free(struct identity_signer *s);
/* Was s made for this key and alg? */
bool identity_signer_is_for(const struct identity_signer *s,
			    const EVP_PKEY *key, enum identity_alg alg);
/* The alg s signs with. */
enum identity_alg identity_signer_alg(const struct identity_signer *s);
/* identity_sign() with s's key and alg: byte for byte the same value,
 * same errors. */
int identity_signer_sign(struct identity_signer *s, const struct sip_msg *m,
			 struct buf *identity_value);
/* Append the Identity-Info value "<url>;alg=NAME". The URL must be a
 * non-empty absoluteURI without white space, "<", ">" or DQUOTE
 * (-EINVAL otherwise). out is unchanged on failure. */
int identity_info_value(const char *url, enum identity_alg alg,
			struct buf *out);

/* ---- verification (RFC 4474 §6, verify.c) -------------------------------- */

enum identity_status {
	IDENTITY_OK,		/* the signature verifies */
	IDENTITY_MISSING,	/* no Identity header (§6: 428 Use Identity) */
	IDENTITY_MISSING_INFO,	/* no Identity-Info header */
	IDENTITY_BAD_SYNTAX,	/* malformed Identity, Identity-Info, a
				 * digest part, or two of a header */
	IDENTITY_UNKNOWN_ALG,	/* alg not in the table (§6: 438) */
	IDENTITY_BAD_SIGNATURE, /* does not verify (§6: 438 Invalid) */
	IDENTITY_MISSING_DATE,	/* no Date header (§9 requires it) */
	IDENTITY_STALE_DATE,	/* Date too far from now (§6 step 4) */
};

/* "ok", "missing-identity", ... for logs. */
const char *identity_status_name(enum identity_status st);

struct identity_verify_result {
	enum identity_status status;
	enum identity_alg alg;	   /* set once Identity-Info parsed */
	struct identity_info info; /* slices into m; set once parsed */
	const char *detail;	   /* static text: what failed, "" if OK */
};

/* Check the Identity of m against the public key of signer_cert: parse
 * Identity and Identity-Info, recompute the digest-string over body and
 * verify. The certificate is not validated and its names are not
 * compared with the From domain here (that is the caller's, RFC 4474 §6
 * steps 1-2); neither is the Date's freshness (identity_check_date()).
 * Returns 0 with the verdict in *r, or -EINVAL / -ENOMEM / -EPROTO when
 * no verdict could be reached (r untouched). */
int identity_verify_body(const struct sip_msg *m, struct slice body,
			 X509 *signer_cert, struct identity_verify_result *r);
/* The same over m->body. */
int identity_verify(const struct sip_msg *m, X509 *signer_cert,
		    struct identity_verify_result *r);

/* RFC 4474 §6 step 4 (and RFC 6072 §10.3): the Date must be within
 * max_age_s of now, either way (a Date in the future is clock skew or a
 * replay prepared in advance); 3600 s is the RFC's figure. Returns
 * IDENTITY_OK, IDENTITY_MISSING_DATE, IDENTITY_BAD_SYNTAX (not a
 * SIP-date) or IDENTITY_STALE_DATE. */
enum { IDENTITY_DATE_MAX_AGE_S = 3600 };
enum identity_status identity_check_date(const struct sip_msg *m, time_t now,
					 unsigned max_age_s);

#endif
