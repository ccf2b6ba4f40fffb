/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for keywrap.c: the RFC 3394 §4 and RFC 5649 §6 vectors, the
 * Wycheproof AES-KW and AES-KWP sets, refusal of tampered and truncated
 * input, and argument checks. */
#include "crypto/testutil.h"

/* ---- "name = value" records, blank-line separated (tests/data) ------- */

enum { REC_FIELDS = 8 };

struct rec {
	struct slice key[REC_FIELDS];
	struct slice val[REC_FIELDS];
	size_t n;
};

/* The next record from *s, or false at the end. */
static bool rec_next(struct scan *s, struct rec *r)
{
	r->n = 0;
	while (!scan_done(s)) {
		const char *eol = memchr(s->p, '\n', (size_t)(s->end - s->p));
		struct slice line =
			slice_of(s->p, eol ? (size_t)(eol - s->p)
					   : (size_t)(s->end - s->p));
		const char *eq;

		s->p = eol ? eol + 1 : s->end;
		line = slice_trim(line);
		if (!line.len) {
			if (r->n)
				return true;
			continue;
		}
		eq = memchr(line.p, '=', line.len);
		if (line.p[0] == '#' || !eq || r->n == REC_FIELDS)
			continue;
		r->key[r->n] =
			slice_trim(slice_of(line.p, (size_t)(eq - line.p)));
		r->val[r->n] = slice_trim(
			slice_of(eq + 1, (size_t)(line.p + line.len - eq - 1)));
		r->n++;
	}
	return r->n > 0;
}

static struct slice rec_get(const struct rec *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (slice_eq_cstr(r->key[i], key))
			return r->val[i];
	return SLICE_NULL;
}

/* Hex (either case) into out, which holds at least max bytes. */
static int unhex(struct slice h, unsigned char *out, size_t max, size_t *len)
{
	if (h.len % 2 || h.len / 2 > max)
		return -1;
	for (size_t i = 0; i < h.len / 2; i++) {
		int hi = hex_val((unsigned char)h.p[2 * i]);
		int lo = hex_val((unsigned char)h.p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = h.len / 2;
	return 0;
}

typedef int wrap_fn(const void *kek, size_t kek_len, const void *in, size_t len,
		    struct buf *out);

/* Wrap gives the vector, unwrap gives the key back, a flipped bit in any
 * octet of the wrapping and every strict prefix of it are refused with
 * -EBADMSG and leave the output untouched. */
static int check_vector(wrap_fn *wrap, wrap_fn *unwrap,
			const unsigned char *kek, size_t kek_len,
			const unsigned char *key, size_t key_len,
			const unsigned char *wrapped, size_t wrapped_len)
{
	unsigned char copy[512];
	struct buf b;
	int rc = -1;

	buf_init(&b, 4096);
	b.is_secret = true;
	if (wrap(kek, kek_len, key, key_len, &b) || b.len != wrapped_len ||
	    memcmp(b.p, wrapped, wrapped_len))
		goto out;
	buf_reset(&b);
	if (unwrap(kek, kek_len, wrapped, wrapped_len, &b) ||
	    b.len != key_len || memcmp(b.p, key, key_len))
		goto out;
	buf_reset(&b);
	if (wrapped_len > sizeof(copy))
		goto out;
	for (size_t i = 0; i < wrapped_len; i++) {
		memcpy(copy, wrapped, wrapped_len);
		copy[i] ^= 0x01;
		if (unwrap(kek, kek_len, copy, wrapped_len, &b) != -EBADMSG ||
		    b.len || b.err) {
			TEST_FAIL_AT("flipped octet %zu accepted", i);
			goto out;
		}
	}
	for (size_t n = 0; n < wrapped_len; n++) {
		/* an exact-size copy so ASan sees any over-read */
		unsigned char *p = mem_alloc(n ? n : 1);
		int err;

		if (!p)
			goto out;
		memcpy(p, wrapped, n);
		err = unwrap(kek, kek_len, p, n, &b);
		mem_free(p);
		if (err != -EBADMSG || b.len) {
			TEST_FAIL_AT("prefix of %zu bytes: %d", n, err);
			goto out;
		}
	}
	rc = 0;
out:
	buf_fini(&b);
	return rc;
}

/* An invalid case (Wycheproof): unwrap refuses it and appends nothing.
 * An acceptable one (RFC 3394 leaves it open, e.g. 8 octets of key
 * data): either answer, no crash. */
static int check_refused(wrap_fn *unwrap, const unsigned char *kek,
			 size_t kek_len, const unsigned char *wrapped,
			 size_t wrapped_len, bool is_acceptable)
{
	struct buf b;
	int err;

	buf_init(&b, 4096);
	b.is_secret = true;
	err = unwrap(kek, kek_len, wrapped, wrapped_len, &b);
	if (!is_acceptable && b.len)
		err = 0;
	buf_fini(&b);
	return err == -EBADMSG || (is_acceptable && !err) ? 0 : -1;
}

/* Each record: kek, key, wrap and an optional result (valid when
 * absent). */
static int run_file(const char *rel, wrap_fn *wrap, wrap_fn *unwrap,
		    size_t expect_n)
{
	unsigned char kek[32], key[512], wrapped[520];
	size_t kek_len, key_len, wrapped_len, n = 0;
	char *data;
	size_t len;
	struct scan s;
	struct rec r;
	int rc = 0;

	if (test_read_file(rel, &data, &len))
		return -1;
	s = scan_of(slice_of(data, len));
	while (rec_next(&s, &r)) {
		struct slice result = rec_get(&r, "result");
		int err;

		if (unhex(rec_get(&r, "kek"), kek, sizeof(kek), &kek_len) ||
		    unhex(rec_get(&r, "key"), key, sizeof(key), &key_len) ||
		    unhex(rec_get(&r, "wrap"), wrapped, sizeof(wrapped),
			  &wrapped_len))
			err = -1;
		else if (!result.p || slice_eq_cstr(result, "valid"))
			err = check_vector(wrap, unwrap, kek, kek_len, key,
					   key_len, wrapped, wrapped_len);
		else if (slice_eq_cstr(result, "invalid") ||
			 slice_eq_cstr(result, "acceptable"))
			err = check_refused(
				unwrap, kek, kek_len, wrapped, wrapped_len,
				slice_eq_cstr(result, "acceptable"));
		else
			err = -1;
		if (err) {
			struct slice name = rec_get(&r, "name");

			TEST_FAIL_AT("%s: %.*s", rel, SLICE_FMT(name));
			rc = -1;
		}
		n++;
	}
	mem_free(data);
	if (!rc && n != expect_n) {
		TEST_FAIL_AT("%s: %zu vectors, expected %zu", rel, n, expect_n);
		rc = -1;
	}
	return rc;
}

TEST(crypto_keywrap_rfc3394)
{
	return run_file("keywrap/rfc3394-aes-kw.txt", crypto_aes_key_wrap,
			crypto_aes_key_unwrap, 6);
}

TEST(crypto_keywrap_rfc5649)
{
	return run_file("keywrap/rfc5649-aes-kwp.txt", crypto_aes_key_wrap_pad,
			crypto_aes_key_unwrap_pad, 2);
}

/* The Wycheproof (C2SP) sets, converted from JSON (tests/data/keywrap) */
TEST(crypto_keywrap_wycheproof_kw)
{
	return run_file("keywrap/wycheproof-aes-kw.txt", crypto_aes_key_wrap,
			crypto_aes_key_unwrap, 165);
}

TEST(crypto_keywrap_wycheproof_kwp)
{
	return run_file("keywrap/wycheproof-aes-kwp.txt",
			crypto_aes_key_wrap_pad, crypto_aes_key_unwrap_pad,
			254);
}

TEST(crypto_keywrap_args)
{
	static const unsigned char kek[32] = {1, 2, 3};
	static const unsigned char data[24] = {4, 5, 6};
	struct buf b;
	int rc = -1;

	buf_init(&b, 4096);
	b.is_secret = true;
	/* KEK sizes other than AES's */
	if (crypto_aes_key_wrap(kek, 20, data, 16, &b) != -EINVAL ||
	    crypto_aes_key_unwrap_pad(kek, 0, data, 16, &b) != -EINVAL ||
	    crypto_aes_key_wrap(NULL, 16, data, 16, &b) != -EINVAL ||
	    crypto_aes_key_wrap(kek, 16, NULL, 16, &b) != -EINVAL ||
	    crypto_aes_key_wrap(kek, 16, data, 16, NULL) != -EINVAL)
		goto out;
	/* RFC 3394 §2: at least two 64-bit blocks, whole blocks only */
	if (crypto_aes_key_wrap(kek, 16, data, 8, &b) != -EINVAL ||
	    crypto_aes_key_wrap(kek, 16, data, 20, &b) != -EINVAL ||
	    crypto_aes_key_wrap_pad(kek, 16, data, 0, &b) != -EINVAL)
		goto out;
	/* unwrapping: whole semiblocks, at least n + 1 of them */
	if (crypto_aes_key_unwrap(kek, 16, data, 16, &b) != -EBADMSG ||
	    crypto_aes_key_unwrap_pad(kek, 16, data, 8, &b) != -EBADMSG ||
	    crypto_aes_key_unwrap_pad(kek, 16, data, 20, &b) != -EBADMSG ||
	    b.len)
		goto out;
	/* one octet pads to a single block (RFC 5649 §4.1, n = 1) and comes
	 * back alone */
	if (crypto_aes_key_wrap_pad(kek, 16, data, 1, &b) || b.len != 16)
		goto out;
	{
		unsigned char w[16];
		struct buf back;
		bool is_ok;

		memcpy(w, b.p, sizeof(w));
		buf_init(&back, 64);
		is_ok = !crypto_aes_key_unwrap_pad(kek, 16, w, sizeof(w),
						   &back) &&
			back.len == 1 && back.p[0] == 4 &&
			crypto_aes_key_unwrap_pad(kek + 1, 16, w, sizeof(w),
						  &back) == -EBADMSG &&
			back.len == 1;
		buf_fini(&back);
		if (!is_ok)
			goto out;
	}
	/* a full output buffer is -EMSGSIZE and stays as it was */
	buf_fini(&b);
	buf_init(&b, 16);
	if (crypto_aes_key_wrap(kek, 16, data, 16, &b) != -EMSGSIZE || b.len ||
	    b.err)
		goto out;
	rc = 0;
out:
	buf_fini(&b);
	return rc;
}
