/* SPDX-License-Identifier: BSD-3-Clause */
/* Digest answers to 401 and 407 (RFC 3261 §22.2): per realm the strongest
 * challenge (RFC 8760 §2.4), qop=auth with a cnonce (RFC 7616 §3.4), one
 * round unless the nonce went stale. The password leaves only hashed. */
#include "ua/engine.h"

#include <string.h>

#include <openssl/crypto.h>

/* RFC 8760 §2.4: prefer the strongest algorithm offered; a plain one
 * before its -sess form (no extra round trip of state). */
int ua_digest_rank(enum sip_digest_alg alg)
{
	switch (alg) {
	case SIP_DIGEST_MD5:
		return 2;
	case SIP_DIGEST_MD5_SESS:
		return 1;
	case SIP_DIGEST_SHA256:
		return 4;
	case SIP_DIGEST_SHA256_SESS:
		return 3;
	case SIP_DIGEST_SHA512_256:
		return 6;
	case SIP_DIGEST_SHA512_256_SESS:
		return 5;
	case SIP_DIGEST_UNKNOWN:
		break;
	}
	return -1;
}

static bool alg_is_sess(enum sip_digest_alg alg)
{
	return alg == SIP_DIGEST_MD5_SESS || alg == SIP_DIGEST_SHA256_SESS ||
	       alg == SIP_DIGEST_SHA512_256_SESS;
}

/* RFC 7616 §3.3: qop is a quoted list; auth is preferred over auth-int
 * (the body is protected by other means here). NULL: the RFC 2069 form
 * without qop; "" when the list holds nothing we know. */
static const char *pick_qop(struct slice qop)
{
	struct scan s = scan_of(qop);
	bool has_int = false;
	struct slice v;

	if (!qop.p)
		return NULL;
	while (!scan_done(&s)) {
		scan_sws(&s);
		if (scan_done(&s))
			break;
		if (scan_token(&s, &v)) {
			s.p++;
			continue;
		}
		if (slice_caseeq_cstr(v, "auth"))
			return "auth";
		if (slice_caseeq_cstr(v, "auth-int"))
			has_int = true;
	}
	return has_int ? "auth-int" : "";
}

static bool copy_cstr(char *out, size_t n, struct slice s)
{
	if (!s.p || s.len >= n)
		return false;
	memcpy(out, s.p, s.len);
	out[s.len] = '\0';
	return true;
}

int ua_digest_credentials(struct buf *out, const struct sip_auth *ch,
			  const char *user, struct slice password,
			  const char *method, const char *uri,
			  struct slice body)
{
	char realm[UA_NAME_MAX], nonce[UA_NAME_MAX], opaque[UA_NAME_MAX];
	char cnonce[33], ha1[SIP_DIGEST_HEX_MAX + 1];
	char resp[SIP_DIGEST_HEX_MAX + 1];
	const char *qop = pick_qop(ch->qop);
	bool need_cnonce = qop || alg_is_sess(ch->alg);
	int err;

	if ((qop && !*qop) || !copy_cstr(realm, sizeof(realm), ch->realm) ||
	    !copy_cstr(nonce, sizeof(nonce), ch->nonce) ||
	    (ch->opaque.p && !copy_cstr(opaque, sizeof(opaque), ch->opaque)))
		return -EINVAL;
	if (need_cnonce)
		ua_random_hex(cnonce, sizeof(cnonce));
	err = sip_digest_ha1(ch->alg, slice_cstr(user), slice_cstr(realm),
			     password, ha1);
	if (!err)
		err = sip_digest_response(
			&(struct sip_digest_input){
				.alg = ch->alg,
				.ha1 = ha1,
				.nonce = slice_cstr(nonce),
				.cnonce = need_cnonce ? slice_cstr(cnonce)
						      : SLICE_NULL,
				.nc = qop ? SLICE_LIT("00000001") : SLICE_NULL,
				.qop = qop ? slice_cstr(qop) : SLICE_NULL,
				.method = slice_cstr(method),
				.uri = slice_cstr(uri),
				.body = body,
			},
			resp);
	OPENSSL_cleanse(ha1, sizeof(ha1));
	if (err)
		return err == -ENOMEM ? err : -EINVAL;
	return sip_auth_print_credentials(
		out, &(struct sip_credentials_opts){
			     .username = user,
			     .realm = realm,
			     .nonce = nonce,
			     .uri = uri,
			     .response = resp,
			     .alg = ch->alg,
			     .opaque = ch->opaque.p ? opaque : NULL,
			     .cnonce = need_cnonce ? cnonce : NULL,
			     .qop = qop,
			     .nc = 1,
		     });
}

/* The credentials line answering ch. -EINVAL when it cannot be answered
 * (values too long or not quotable), -ENOMEM. */
static int answer(struct ua *u, const struct sip_auth *ch, bool is_proxy,
		  const char *method, const char *uri, struct slice body,
		  char **line)
{
	struct buf b;
	size_t len;
	int err;

	buf_init(&b, 4096);
	buf_append_cstr(&b,
			is_proxy ? "Proxy-Authorization: " : "Authorization: ");
	err = ua_digest_credentials(&b, ch, u->auth_user,
				    slice_of(u->password, u->password_len),
				    method, uri, body);
	if (!err) {
		*line = buf_steal(&b, &len);
		if (!*line)
			err = -ENOMEM;
	}
	buf_fini(&b);
	return err;
}

static struct ua_auth_cred *cred_find(struct ua_auth *a, struct slice realm,
				      bool is_proxy)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->c[i].is_proxy == is_proxy &&
		    slice_eq_cstr(realm, a->c[i].realm))
			return &a->c[i];
	return NULL;
}

/* Store the answer for ch: replace the realm's line, or add one. */
static int cred_set(struct ua_auth *a, struct ua_auth_cred *c,
		    const struct sip_auth *ch, bool is_proxy, char *line)
{
	if (!c) {
		if (a->n >= UA_MAX_REALMS) {
			mem_free(line);
			return -EMSGSIZE;
		}
		c = &a->c[a->n++];
		memset(c, 0, sizeof(*c));
		c->is_proxy = is_proxy;
		/* lengths were checked by answer() */
		copy_cstr(c->realm, sizeof(c->realm), ch->realm);
	}
	mem_free(c->line);
	c->line = line;
	copy_cstr(c->nonce, sizeof(c->nonce), ch->nonce);
	c->rounds++;
	return 0;
}

int ua_auth_answer(struct ua *u, struct ua_auth *a, const struct sip_msg *resp,
		   const char *method, const char *uri, struct slice body)
{
	bool is_proxy = resp->status == 407;
	enum sip_hdr_id id = is_proxy ? SIP_HDR_PROXY_AUTHENTICATE
				      : SIP_HDR_WWW_AUTHENTICATE;
	struct sip_auth best[UA_MAX_REALMS];
	size_t n = 0;
	bool answered = false;
	int err;

	if (!u->password)
		return -EACCES;
	/* the strongest digest challenge of each realm */
	for (const struct sip_hdr *h = sip_msg_hdr(resp, id); h;
	     h = sip_msg_hdr_next(resp, h)) {
		struct sip_auth ch;
		size_t i;

		if (sip_auth_parse(h->value, &ch) || !ch.is_digest ||
		    !ch.realm.p || !ch.nonce.p || ua_digest_rank(ch.alg) < 0)
			continue;
		for (i = 0; i < n; i++)
			if (slice_eq(best[i].realm, ch.realm))
				break;
		if (i < n) {
			if (ua_digest_rank(ch.alg) >
			    ua_digest_rank(best[i].alg))
				best[i] = ch;
		} else if (n < ARRAY_SIZE(best)) {
			best[n++] = ch;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct ua_auth_cred *c = cred_find(a, best[i].realm, is_proxy);
		bool is_stale = best[i].stale.p &&
				slice_caseeq_cstr(best[i].stale, "true");
		char *line = NULL;

		/* a realm answered before and challenged again: the
		 * credentials were refused, unless only the nonce aged
		 * (RFC 7616 §3.3 stale); bounded either way */
		if (c && (!is_stale || c->rounds >= UA_AUTH_ROUNDS ||
			  slice_eq_cstr(best[i].nonce, c->nonce)))
			continue;
		err = answer(u, &best[i], is_proxy, method, uri, body, &line);
		if (err == -ENOMEM)
			return err;
		if (err)
			continue;
		err = cred_set(a, c, &best[i], is_proxy, line);
		if (!err)
			answered = true;
	}
	return answered ? 0 : -EACCES;
}

void ua_auth_fini(struct ua_auth *a)
{
	for (size_t i = 0; i < a->n; i++)
		mem_free(a->c[i].line);
	a->n = 0;
}
