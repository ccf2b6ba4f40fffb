/* SPDX-License-Identifier: BSD-3-Clause */
/* identity: SIP Identity (RFC 4474): the Identity and Identity-Info header
 * grammars (§9), the signature's base64 transfer form and the alg table.
 * Slices returned by the parsers point into the slice they were given. */
#ifndef SIPCERT_IDENTITY_H
#define SIPCERT_IDENTITY_H

#include "base/base.h"

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

#endif
