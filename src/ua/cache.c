/* SPDX-License-Identifier: BSD-3-Clause */
/* The user agent's files: other users' certificates with their TTL and the
 * fingerprints seen (RFC 6072 §10.3, §10.8), and our own credential with its
 * PKCS#8 key (§10.5) and the SIP-ETag of its last PUBLISH (RFC 3903 §4.1). */
#include "ua/ua.h"

#include <limits.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "crypto/crypto.h"

enum {
	NAME_MAX_BYTES = 200, /* a file name made from an AOR, no suffix */
	PATH_MAX_BYTES = 4096,
	SHA256_HEX_LEN = 64,
	/* one certificate (base64 in the JSON) and its history */
	CACHE_FILE_MAX_BYTES = 256 * 1024,
	CACHE_DER_MAX_BYTES = 64 * 1024,
	/* fingerprints remembered per AOR for §10.8 */
	CACHE_SEEN_MAX = 16,
	OWN_CERT_MAX_BYTES = 64 * 1024,
	OWN_JSON_MAX_BYTES = 16 * 1024,
};

struct ua_cache {
	char *dir;
};

/* ---- files named after an AOR ------------------------------------------ */

/* The scheme says nothing about whose file it is. */
static const char *strip_scheme(const char *aor)
{
	size_t n = strlen(aor);

	if (n >= 5 && mem_caseeq(aor, "sips:", 5))
		return aor + 5;
	if (n >= 4 && mem_caseeq(aor, "sip:", 4))
		return aor + 4;
	return aor;
}

static bool is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || char_is_digit(c) || c == '.' ||
	       c == '-' || c == '@';
}

/* Append the file name of aor: without its scheme, in lower case, with
 * [a-z0-9.-@] kept and every other octet as "_" and two hex digits. "/"
 * becomes "_2f", so no AOR names a path outside the directory, and only
 * AORs that differ in case share a file. */
static int aor_name(const char *aor, struct buf *out)
{
	const char *p = strip_scheme(aor);
	size_t start = out->len;
	int err = 0;

	if (!*p)
		return -EINVAL;
	for (; *p && !err; p++) {
		int c = char_lower((unsigned char)*p);

		if (is_name_char(c))
			err = buf_append_byte(out, (char)c);
		else
			err = buf_printf(out, "_%02x", (unsigned char)*p);
		if (!err && out->len - start > NAME_MAX_BYTES)
			return -ENAMETOOLONG;
	}
	return err;
}

/* dir "/" NAME suffix, NUL-terminated in out (initialised by the caller
 * with PATH_MAX_BYTES). */
static int aor_path(const char *dir, const char *aor, const char *suffix,
		    struct buf *out)
{
	const char *unused;
	int err;

	if (!dir || !*dir || !aor)
		return -EINVAL;
	err = buf_printf(out, "%s/", dir);
	if (!err)
		err = aor_name(aor, out);
	if (!err)
		err = buf_append_cstr(out, suffix);
	if (!err)
		err = buf_cstr(out, &unused);
	return err == -EMSGSIZE ? -ENAMETOOLONG : err;
}

/* Do a and b name one file? */
static bool same_name(const char *a, const char *b)
{
	struct buf na, nb;
	bool eq;

	buf_init(&na, NAME_MAX_BYTES + 8);
	buf_init(&nb, NAME_MAX_BYTES + 8);
	eq = !aor_name(a, &na) && !aor_name(b, &nb) && na.len == nb.len &&
	     !memcmp(na.p, nb.p, na.len);
	buf_fini(&na);
	buf_fini(&nb);
	return eq;
}

/* Only the last component is made: the caller sees to its parent. */
static int dir_make(const char *dir)
{
	struct stat st;

	if (!mkdir(dir, 0700))
		/* exactly 0700, whatever the umask took away */
		return chmod(dir, 0700) ? -errno : 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(dir, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* A write that failed is -EIO to our callers, unless memory ran out; the
 * reason stays in crypto_last_error(). */
static int file_write(const char *path, const void *data, size_t len,
		      mode_t mode)
{
	int err = crypto_file_write_atomic(path, data, len, mode);

	return err == -ENOMEM || !err ? err : -EIO;
}

/* A read that failed: missing stays -ENOENT, a file that is too large or
 * not a regular file is damaged (-EBADMSG), anything else -EIO. */
static int read_err(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOMEM:
		return err;
	case -EMSGSIZE:
	case -EINVAL:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

/* ---- JSON --------------------------------------------------------------- */

/* The JSON object in path. A missing, unreadable or damaged file is
 * -ENOENT: a cache is never worth a failure, and the next write replaces
 * it. -ENOMEM. */
static int json_read(const char *path, size_t max_bytes, json_t **out)
{
	json_error_t je;
	struct buf b;
	json_t *j;
	int err;

	buf_init(&b, max_bytes);
	err = crypto_file_read(path, max_bytes, &b);
	if (err) {
		buf_fini(&b);
		return err == -ENOMEM ? -ENOMEM : -ENOENT;
	}
	j = json_loadb(b.p ? b.p : "", b.len, JSON_REJECT_DUPLICATES, &je);
	buf_fini(&b);
	if (!j)
		return json_error_code(&je) == json_error_out_of_memory
			       ? -ENOMEM
			       : -ENOENT;
	if (!json_is_object(j)) {
		json_decref(j);
		return -ENOENT;
	}
	*out = j;
	return 0;
}

/* Write the object, indented for people, with mode 0600. */
static int json_write(const char *path, const json_t *j)
{
	const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER;
	size_t n = json_dumpb(j, NULL, 0, flags);
	char *text;
	int err;

	if (!n)
		return -ENOMEM;
	text = mem_alloc(n + 1);
	if (!text)
		return -ENOMEM;
	if (json_dumpb(j, text, n, flags) != n) {
		mem_free(text);
		return -ENOMEM;
	}
	text[n] = '\n';
	err = file_write(path, text, n + 1, 0600);
	mem_free(text);
	return err;
}

static bool get_time(const json_t *o, const char *key, time_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return false;
	*out = (time_t)json_integer_value(v);
	return true;
}

/* A string without NUL octets, shorter than n. */
static bool get_str(const json_t *o, const char *key, char *out, size_t n)
{
	const json_t *v = json_object_get(o, key);
	size_t len;

	if (!json_is_string(v))
		return false;
	len = json_string_length(v);
	if (len >= n || memchr(json_string_value(v), '\0', len))
		return false;
	memcpy(out, json_string_value(v), len + 1);
	return true;
}

/* SHA-256 in lower-case hex, as crypto_cert_fingerprint() writes it. */
static bool get_sha256(const json_t *o, const char *key,
		       char out[SHA256_HEX_LEN + 1])
{
	if (!get_str(o, key, out, SHA256_HEX_LEN + 1) ||
	    strlen(out) != SHA256_HEX_LEN)
		return false;
	for (size_t i = 0; i < SHA256_HEX_LEN; i++)
		if (!char_is_digit(out[i]) && (out[i] < 'a' || out[i] > 'f'))
			return false;
	return true;
}

/* Set key to a string; -EINVAL when s is not UTF-8 (jansson refuses it,
 * and a file we could not read back would lose the history). */
static int set_str(json_t *o, const char *key, const char *s)
{
	json_t *v = json_string(s);

	if (!v)
		return -EINVAL;
	return json_object_set_new(o, key, v) ? -ENOMEM : 0;
}

static int set_int(json_t *o, const char *key, time_t t)
{
	return json_object_set_new(o, key, json_integer((json_int_t)t))
		       ? -ENOMEM
		       : 0;
}

/* ---- base64 and SHA-256 ------------------------------------------------- */

/* Base64 (RFC 4648 §4), padded, without blanks: EVP_DecodeBlock() trims
 * blanks around the text, which the exact length then refuses; what it
 * decodes is checked against the fingerprint anyway. */
static int b64_decode(const char *s, size_t len, unsigned char **out,
		      size_t *out_len)
{
	size_t pad = 0, n;
	unsigned char *p;
	int got;

	if (!len || len % 4 || len / 4 * 3 > CACHE_DER_MAX_BYTES + 2)
		return -EBADMSG;
	while (pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	n = len / 4 * 3;
	p = mem_alloc(n + 1);
	if (!p)
		return -ENOMEM;
	got = EVP_DecodeBlock(p, (const unsigned char *)s, (int)len);
	if (got < 0 || (size_t)got != n) {
		mem_free(p);
		return -EBADMSG;
	}
	*out = p;
	*out_len = n - pad;
	return 0;
}

static int sha256_hex(const void *data, size_t len,
		      char out[SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) ||
	    md_len * 2 != SHA256_HEX_LEN)
		return crypto_fail("SHA-256");
	hex_encode(out, md, md_len);
	return 0;
}

/* ---- the certificate cache (RFC 6072 §10.3, §10.8) ---------------------- */

/* One fingerprint seen for the AOR: which certificate, until when it was
 * valid, and when it first came. */
struct seen {
	char sha256[SHA256_HEX_LEN + 1];
	time_t not_after;
	time_t first_seen;
};

/* One AOR's file: the current certificate, if any, and the history, the
 * most recently current last. */
struct record {
	char aor[256];
	bool has_current;
	struct ua_cache_entry cur; /* der owned */
	struct seen seen[CACHE_SEEN_MAX];
	size_t n_seen;
};

void ua_cache_entry_fini(struct ua_cache_entry *e)
{
	if (!e)
		return;
	mem_free(e->der);
	e->der = NULL;
	e->der_len = 0;
}

int ua_cache_open(struct ua_cache **out, const char *dir)
{
	struct ua_cache *c;
	int err;

	if (!out || !dir || !*dir)
		return -EINVAL;
	err = dir_make(dir);
	if (err)
		return err;
	c = mem_zalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->dir = mem_strdup(dir);
	if (!c->dir) {
		mem_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void ua_cache_close(struct ua_cache *c)
{
	if (!c)
		return;
	mem_free(c->dir);
	mem_free(c);
}

/* The current certificate's fields; -ENOENT when one is missing or does
 * not fit, or when the DER is not what its fingerprint says. */
static int current_load(const json_t *o, struct record *r)
{
	struct ua_cache_entry *e = &r->cur;
	const json_t *der = json_object_get(o, "der");
	const json_t *ev = json_object_get(o, "externally_validated");
	char sha[SHA256_HEX_LEN + 1];
	int err;

	if (!json_is_string(der) || !json_is_boolean(ev) ||
	    !get_sha256(o, "sha256", e->sha256) ||
	    !get_time(o, "verified_at", &e->verified_at) ||
	    !get_time(o, "use_until", &e->use_until) ||
	    !get_time(o, "not_before", &e->not_before) ||
	    !get_time(o, "not_after", &e->not_after) ||
	    !get_str(o, "domain", e->domain, sizeof(e->domain)) ||
	    !get_str(o, "alg", e->alg, sizeof(e->alg)))
		return -ENOENT;
	e->externally_validated = json_is_true(ev);
	err = b64_decode(json_string_value(der), json_string_length(der),
			 &e->der, &e->der_len);
	if (err)
		return err == -ENOMEM ? -ENOMEM : -ENOENT;
	err = sha256_hex(e->der, e->der_len, sha);
	if (err || strcmp(sha, e->sha256))
		return -ENOENT;
	memcpy(e->aor, r->aor, sizeof(e->aor));
	r->has_current = true;
	return 0;
}

/* Read aor's file at path. 0, -ENOENT (none, or damaged: a file for
 * another AOR, a field missing, a fingerprint that does not match),
 * -ENOMEM. r is cleared on failure. */
static int record_load(const char *path, const char *aor, struct record *r)
{
	const json_t *list;
	json_t *o = NULL;
	size_t n, first;
	int err;

	memset(r, 0, sizeof(*r));
	err = json_read(path, CACHE_FILE_MAX_BYTES, &o);
	if (err)
		return err;
	err = -ENOENT;
	if (!get_str(o, "aor", r->aor, sizeof(r->aor)) ||
	    !same_name(r->aor, aor))
		goto out;
	list = json_object_get(o, "seen");
	if (!json_is_array(list))
		goto out;
	n = json_array_size(list);
	first = n > CACHE_SEEN_MAX ? n - CACHE_SEEN_MAX : 0;
	for (size_t i = first; i < n; i++) {
		const json_t *item = json_array_get(list, i);
		struct seen *s = &r->seen[r->n_seen];

		if (!json_is_object(item) ||
		    !get_sha256(item, "sha256", s->sha256) ||
		    !get_time(item, "not_after", &s->not_after) ||
		    !get_time(item, "first_seen", &s->first_seen))
			goto out;
		r->n_seen++;
	}
	err = json_object_get(o, "der") ? current_load(o, r) : 0;
out:
	json_decref(o);
	if (err) {
		ua_cache_entry_fini(&r->cur);
		memset(r, 0, sizeof(*r));
	}
	return err;
}

static int current_store(json_t *o, const struct ua_cache_entry *e)
{
	size_t n = 4 * ((e->der_len + 2) / 3) + 1;
	char *b64 = mem_alloc(n);
	int err;

	if (!b64)
		return -ENOMEM;
	EVP_EncodeBlock((unsigned char *)b64, e->der, (int)e->der_len);
	err = set_str(o, "der", b64);
	mem_free(b64);
	if (!err)
		err = set_str(o, "sha256", e->sha256);
	if (!err)
		err = set_int(o, "verified_at", e->verified_at);
	if (!err)
		err = set_int(o, "use_until", e->use_until);
	if (!err)
		err = set_int(o, "not_before", e->not_before);
	if (!err)
		err = set_int(o, "not_after", e->not_after);
	if (!err)
		err = set_str(o, "domain", e->domain);
	if (!err)
		err = set_str(o, "alg", e->alg);
	if (!err && json_object_set_new(o, "externally_validated",
					json_boolean(e->externally_validated)))
		err = -ENOMEM;
	return err;
}

/* Write the file: aor, the current certificate cur (NULL: none) and the
 * history. -EINVAL (a string that is not UTF-8), -EIO, -ENOMEM. */
static int record_store(const char *path, const char *aor,
			const struct ua_cache_entry *cur,
			const struct seen *seen, size_t n_seen)
{
	json_t *o = json_object(), *list = json_array();
	int err = 0;

	if (!o || !list) {
		err = -ENOMEM;
		goto out;
	}
	err = set_str(o, "aor", aor);
	if (!err && cur)
		err = current_store(o, cur);
	for (size_t i = 0; i < n_seen && !err; i++) {
		json_t *item =
			json_pack("{s:s, s:I, s:I}", "sha256", seen[i].sha256,
				  "not_after", (json_int_t)seen[i].not_after,
				  "first_seen", (json_int_t)seen[i].first_seen);

		if (!item || json_array_append_new(list, item))
			err = -ENOMEM;
	}
	if (!err) {
		err = json_object_set(o, "seen", list) ? -ENOMEM : 0;
		if (!err)
			err = json_write(path, o);
	}
out:
	json_decref(list);
	json_decref(o);
	return err;
}

int ua_cache_get(struct ua_cache *c, const char *aor, time_t now,
		 struct ua_cache_entry *out)
{
	struct record r;
	struct buf path;
	int err;

	if (!c || !aor || !out)
		return -EINVAL;
	buf_init(&path, PATH_MAX_BYTES);
	err = aor_path(c->dir, aor, ".json", &path);
	if (!err)
		err = record_load(path.p, aor, &r);
	if (err)
		goto out;
	if (!r.has_current) {
		err = -ENOENT;
	} else if (now >= r.cur.use_until) {
		/* past its TTL, its subscription or its notAfter: no longer
		 * served, but its fingerprint stays for §10.8 */
		(void)record_store(path.p, r.aor, NULL, r.seen, r.n_seen);
		err = -ENOENT;
	} else {
		*out = r.cur;
		r.cur.der = NULL;
		r.cur.der_len = 0;
	}
	ua_cache_entry_fini(&r.cur);
out:
	buf_fini(&path);
	return err;
}

/* A string field of e that is NUL-terminated within its array. */
static bool is_cstr(const char *s, size_t size, bool may_be_empty)
{
	size_t n = strnlen(s, size);

	return n < size && (n || may_be_empty);
}

/* Check what the caller hands to ua_cache_put() and fingerprint its DER
 * into sha: -EINVAL for a missing field, DER that is not one
 * certificate, or a sha256 that is not the DER's. */
static int entry_check(const struct ua_cache_entry *e,
		       char sha[SHA256_HEX_LEN + 1])
{
	X509 *x = NULL;
	int err;

	if (!is_cstr(e->aor, sizeof(e->aor), false) ||
	    !is_cstr(e->domain, sizeof(e->domain), true) ||
	    !is_cstr(e->alg, sizeof(e->alg), true) ||
	    !is_cstr(e->sha256, sizeof(e->sha256), true) || !e->der ||
	    !e->der_len || e->der_len > CACHE_DER_MAX_BYTES)
		return -EINVAL;
	err = crypto_cert_from_der(&x, e->der, e->der_len);
	X509_free(x);
	if (err)
		return err == -ENOMEM ? -ENOMEM : -EINVAL;
	err = sha256_hex(e->der, e->der_len, sha);
	if (err)
		return err;
	/* empty: the caller leaves the fingerprint to us */
	if (e->sha256[0] && (strlen(e->sha256) != SHA256_HEX_LEN ||
			     !mem_caseeq(e->sha256, sha, SHA256_HEX_LEN)))
		return -EINVAL;
	return 0;
}

/* RFC 6072 §10.8: a certificate replaced before it expired deserves a
 * warning. The one replaced is the most recent certificate of the AOR:
 * the current one, else the last in the history (dropped, or past its
 * TTL). The same certificate again is no change, however old the ones
 * before it. RFC 5280 §4.1.2.5: notAfter itself is still valid. */
static bool is_changed_early(const struct record *r, const char *sha, time_t at)
{
	const char *last;
	time_t not_after;

	if (r->has_current) {
		last = r->cur.sha256;
		not_after = r->cur.not_after;
	} else if (r->n_seen) {
		last = r->seen[r->n_seen - 1].sha256;
		not_after = r->seen[r->n_seen - 1].not_after;
	} else {
		return false;
	}
	return strcmp(last, sha) && not_after >= at;
}

/* Move sha to the end of the history (keeping when it was first seen),
 * forgetting the oldest past CACHE_SEEN_MAX. */
static void seen_add(struct record *r, const char *sha, time_t not_after,
		     time_t at)
{
	time_t first_seen = at;
	struct seen *s;

	for (size_t i = 0; i < r->n_seen; i++) {
		if (strcmp(r->seen[i].sha256, sha))
			continue;
		first_seen = r->seen[i].first_seen;
		memmove(&r->seen[i], &r->seen[i + 1],
			(r->n_seen - i - 1) * sizeof(r->seen[0]));
		r->n_seen--;
		break;
	}
	if (r->n_seen == CACHE_SEEN_MAX) {
		memmove(&r->seen[0], &r->seen[1],
			(CACHE_SEEN_MAX - 1) * sizeof(r->seen[0]));
		r->n_seen--;
	}
	s = &r->seen[r->n_seen++];
	memcpy(s->sha256, sha, SHA256_HEX_LEN + 1);
	s->not_after = not_after;
	s->first_seen = first_seen;
}

int ua_cache_put(struct ua_cache *c, const struct ua_cache_entry *e,
		 bool *changed_early)
{
	char sha[SHA256_HEX_LEN + 1];
	struct ua_cache_entry cur;
	struct record r;
	struct buf path;
	bool is_early;
	int err;

	if (!c || !e)
		return -EINVAL;
	err = entry_check(e, sha);
	if (err)
		return err;
	buf_init(&path, PATH_MAX_BYTES);
	err = aor_path(c->dir, e->aor, ".json", &path);
	if (err)
		goto out;
	/* a damaged file is replaced, its history lost */
	err = record_load(path.p, e->aor, &r);
	if (err == -ENOENT)
		err = 0;
	if (err)
		goto out;
	is_early = is_changed_early(&r, sha, e->verified_at);
	seen_add(&r, sha, e->not_after, e->verified_at);
	cur = *e;
	memcpy(cur.sha256, sha, sizeof(sha));
	err = record_store(path.p, e->aor, &cur, r.seen, r.n_seen);
	ua_cache_entry_fini(&r.cur);
	if (!err && changed_early)
		*changed_early = is_early;
out:
	buf_fini(&path);
	return err;
}

int ua_cache_drop(struct ua_cache *c, const char *aor)
{
	struct record r;
	struct buf path;
	int err;

	if (!c || !aor)
		return -EINVAL;
	buf_init(&path, PATH_MAX_BYTES);
	err = aor_path(c->dir, aor, ".json", &path);
	if (!err)
		err = record_load(path.p, aor, &r);
	if (err)
		goto out;
	if (r.has_current)
		err = record_store(path.p, r.aor, NULL, r.seen, r.n_seen);
	else
		err = -ENOENT;
	ua_cache_entry_fini(&r.cur);
out:
	buf_fini(&path);
	return err;
}

/* ---- our own credential (RFC 6072 §10.5) -------------------------------- */

static bool keys_match(X509 *cert, EVP_PKEY *key)
{
	if (X509_check_private_key(cert, key) == 1)
		return true;
	crypto_clear_error();
	return false;
}

/* The private key as PEM: "ENCRYPTED PRIVATE KEY" under the pass phrase
 * with the defaults of crypto_pkcs8_encrypt() (PBES2, PBKDF2-HMAC-SHA256,
 * id-aes128-wrap-pad: §10.5), or plain "PRIVATE KEY" without one, which
 * only the file's mode 0600 protects. out is secret. */
static int key_pem(EVP_PKEY *key, const char *pass, size_t pass_len,
		   struct buf *out)
{
	struct buf der;
	BIO *bio = NULL;
	char *p;
	long n;
	int err;

	if (!pass_len)
		return crypto_key_private_encode(key, CRYPTO_PEM, out);
	buf_init(&der, CRYPTO_KEY_FILE_MAX_BYTES);
	der.is_secret = true;
	err = crypto_pkcs8_encrypt(key, pass, pass_len, NULL, &der);
	if (err)
		goto out;
	/* secure memory: wiped when the BIO is freed */
	bio = BIO_new(BIO_s_secmem());
	if (!bio ||
	    PEM_write_bio(bio, PEM_STRING_PKCS8, "",
			  (const unsigned char *)der.p, (long)der.len) <= 0) {
		err = crypto_fail("PEM encoding of the private key");
		goto out;
	}
	n = BIO_get_mem_data(bio, &p);
	err = n > 0 ? buf_append(out, p, (size_t)n) : -EPROTO;
out:
	BIO_free(bio);
	buf_fini(&der);
	return err;
}

int ua_own_save(const char *dir, const char *aor, X509 *cert, EVP_PKEY *key,
		const char *pass, size_t pass_len)
{
	struct buf path, key_text, cert_text;
	int err;

	if (!dir || !aor || !cert || !key || (pass_len && !pass))
		return -EINVAL;
	if (!keys_match(cert, key))
		return -EINVAL;
	buf_init(&path, PATH_MAX_BYTES);
	buf_init(&key_text, CRYPTO_KEY_FILE_MAX_BYTES);
	key_text.is_secret = true;
	buf_init(&cert_text, OWN_CERT_MAX_BYTES);
	err = aor_path(dir, aor, ".p8", &path);
	if (!err)
		err = dir_make(dir);
	if (!err)
		err = key_pem(key, pass, pass_len, &key_text);
	if (!err)
		err = crypto_cert_pem(cert, &cert_text);
	/* the key first: a new certificate must never stand beside an old
	 * key */
	if (!err)
		err = file_write(path.p, key_text.p, key_text.len, 0600);
	buf_reset(&path);
	if (!err)
		err = aor_path(dir, aor, ".pem", &path);
	if (!err)
		err = file_write(path.p, cert_text.p, cert_text.len, 0644);
	buf_fini(&cert_text);
	buf_fini(&key_text);
	buf_fini(&path);
	return err;
}

static int cert_load(const char *dir, const char *aor, X509 **out)
{
	struct buf path, text;
	int err;

	buf_init(&path, PATH_MAX_BYTES);
	buf_init(&text, OWN_CERT_MAX_BYTES);
	err = aor_path(dir, aor, ".pem", &path);
	if (!err) {
		err = crypto_file_read(path.p, OWN_CERT_MAX_BYTES, &text);
		if (err)
			err = read_err(err);
	}
	if (!err) {
		err = crypto_cert_from_pem(out, text.p ? text.p : "", text.len);
		if (err && err != -ENOMEM)
			err = -EBADMSG;
	}
	buf_fini(&text);
	buf_fini(&path);
	return err;
}

/* Decode the DER of a PEM block labelled name into a key. */
static int key_decode(const char *name, const unsigned char *der, long len,
		      const char *pass, size_t pass_len, EVP_PKEY **out)
{
	int err;

	if (!strcmp(name, PEM_STRING_PKCS8)) {
		/* encrypted, and no pass phrase to try */
		if (!pass_len)
			return -EACCES;
		err = crypto_pkcs8_decrypt(der, (size_t)len, pass, pass_len,
					   out);
		/* -EMSGSIZE: iterations past our limit, a damaged file */
		return err == -EACCES || err == -ENOMEM || !err ? err
								: -EBADMSG;
	}
	if (!strcmp(name, PEM_STRING_PKCS8INF)) {
		err = crypto_key_private_decode(out, CRYPTO_DER, der,
						(size_t)len);
		return err == -ENOMEM || !err ? err : -EBADMSG;
	}
	return -EBADMSG;
}

static int key_load(const char *dir, const char *aor, const char *pass,
		    size_t pass_len, EVP_PKEY **out)
{
	struct buf path, text;
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long der_len = 0;
	BIO *bio = NULL;
	int err;

	buf_init(&path, PATH_MAX_BYTES);
	buf_init(&text, CRYPTO_KEY_FILE_MAX_BYTES);
	text.is_secret = true;
	err = aor_path(dir, aor, ".p8", &path);
	if (!err) {
		err = crypto_file_read(path.p, CRYPTO_KEY_FILE_MAX_BYTES,
				       &text);
		if (err)
			err = read_err(err);
	}
	if (err)
		goto out;
	if (!text.len || text.len > INT_MAX) {
		err = -EBADMSG;
		goto out;
	}
	bio = BIO_new_mem_buf(text.p, (int)text.len);
	if (!bio) {
		err = -ENOMEM;
		goto out;
	}
	/* PEM_FLAG_SECURE: the decoded DER sits in memory wiped on free */
	if (!PEM_read_bio_ex(bio, &name, &header, &der, &der_len,
			     PEM_FLAG_SECURE | PEM_FLAG_ONLY_B64)) {
		crypto_clear_error();
		err = -EBADMSG;
		goto out;
	}
	err = key_decode(name, der, der_len, pass, pass_len, out);
out:
	OPENSSL_secure_free(name);
	OPENSSL_secure_free(header);
	if (der)
		OPENSSL_secure_clear_free(der, (size_t)der_len);
	BIO_free(bio);
	buf_fini(&text);
	buf_fini(&path);
	return err;
}

int ua_own_load(const char *dir, const char *aor, const char *pass,
		size_t pass_len, X509 **cert, EVP_PKEY **key)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int err;

	if (!dir || !aor || !cert || (pass_len && !pass))
		return -EINVAL;
	err = cert_load(dir, aor, &x);
	if (!err && key)
		err = key_load(dir, aor, pass, pass_len, &k);
	if (!err && k && !keys_match(x, k))
		err = -EBADMSG;
	if (err) {
		EVP_PKEY_free(k);
		X509_free(x);
		return err;
	}
	*cert = x;
	if (key)
		*key = k;
	return 0;
}

/* ---- the SIP-ETag of our last PUBLISH (RFC 3903 §4.1) ------------------- */

int ua_own_etag_save(const char *dir, const char *aor, const char *etag,
		     time_t expires_at)
{
	struct buf path;
	json_t *o = NULL;
	int err;

	if (!dir || !aor || !etag)
		return -EINVAL;
	buf_init(&path, PATH_MAX_BYTES);
	err = aor_path(dir, aor, ".json", &path);
	if (!err) {
		o = json_object();
		err = o ? set_str(o, "etag", etag) : -ENOMEM;
	}
	if (!err)
		err = set_int(o, "expires_at", expires_at);
	if (!err)
		err = dir_make(dir);
	if (!err)
		err = json_write(path.p, o);
	json_decref(o);
	buf_fini(&path);
	return err;
}

int ua_own_etag_load(const char *dir, const char *aor, char *etag, size_t n,
		     time_t *expires_at)
{
	const json_t *v;
	struct buf path;
	json_t *o = NULL;
	time_t t = 0;
	size_t len;
	int err;

	if (!dir || !aor || !etag || !n || !expires_at)
		return -EINVAL;
	buf_init(&path, PATH_MAX_BYTES);
	err = aor_path(dir, aor, ".json", &path);
	if (!err)
		err = json_read(path.p, OWN_JSON_MAX_BYTES, &o);
	if (err)
		goto out;
	/* damaged reads as nothing saved: the next PUBLISH starts afresh */
	v = json_object_get(o, "etag");
	if (!json_is_string(v) || !get_time(o, "expires_at", &t) ||
	    memchr(json_string_value(v), '\0', json_string_length(v))) {
		err = -ENOENT;
		goto out;
	}
	len = json_string_length(v);
	if (len >= n) {
		err = -EMSGSIZE;
		goto out;
	}
	memcpy(etag, json_string_value(v), len + 1);
	*expires_at = t;
out:
	json_decref(o);
	buf_fini(&path);
	return err;
}
