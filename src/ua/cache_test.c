/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for cache.c: the certificate cache's TTL and fingerprint history
 * (RFC 6072 §10.3, §10.8), its file names and damaged files, and our own
 * credential on disk with and without a pass phrase (§10.5). */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "test.h"

#include "crypto/crypto.h"
#include "ua/ua.h"

/* Checks that jump to the test's cleanup, so a failure leaves no files. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			TEST_FAIL_AT("check failed: %s", #cond);               \
			goto out;                                              \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_) {                                                \
			TEST_FAIL_AT("%s == %lld, expected %s == %lld", #a,    \
				     a_, #b, b_);                              \
			goto out;                                              \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (!a_ || !b_ || strcmp(a_, b_)) {                            \
			TEST_FAIL_AT("%s is \"%s\", expected \"%s\"", #a,      \
				     a_ ? a_ : "(null)", b_ ? b_ : "(null)");  \
			goto out;                                              \
		}                                                              \
	} while (0)

enum { PATH_BYTES = 1024 };

/* 2023-11-14: before the test certificates' notAfter (now + days) */
static const time_t T0 = 1700000000;

static const char bob[] = "sip:bob@example.test";

/* ---- scratch directories and files -------------------------------------- */

/* dir "/" name into out (PATH_BYTES), cut short if it does not fit. */
static const char *join(char *out, const char *dir, const char *name)
{
	size_t d = strnlen(dir, PATH_BYTES / 2),
	       n = strnlen(name, PATH_BYTES / 2 - 2);

	memcpy(out, dir, d);
	out[d] = '/';
	memcpy(out + d + 1, name, n);
	out[d + 1 + n] = '\0';
	return out;
}

static void rm_tree(const char *path, int depth)
{
	char child[PATH_BYTES];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(path);

	if (!d)
		return;
	for (de = readdir(d); de; de = readdir(d)) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		join(child, path, de->d_name);
		if (!lstat(child, &st) && S_ISDIR(st.st_mode) && depth > 0)
			rm_tree(child, depth - 1);
		else
			(void)unlink(child);
	}
	closedir(d);
	(void)rmdir(path);
}

static int entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -errno;
	for (de = readdir(d); de; de = readdir(d))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (int)(st.st_mode & 07777);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int write_raw(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = len ? write(fd, data, len) : 0;
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

static int write_str(const char *path, const char *s)
{
	return write_raw(path, s, strlen(s));
}

/* The file into b (initialised here; buf_fini it). */
static int read_all(const char *path, struct buf *b)
{
	const char *unused;
	int err;

	buf_init(b, 1024 * 1024);
	err = crypto_file_read(path, 1024 * 1024, b);
	return err ? err : buf_cstr(b, &unused);
}

/* A scratch root with a cache directory "c" in it, made by the cache. */
struct fx {
	char root[PATH_BYTES];
	char dir[PATH_BYTES];
	struct ua_cache *cache;
};

static int fx_init(struct fx *f)
{
	const char *base = getenv("TMPDIR");

	memset(f, 0, sizeof(*f));
	if (!base || !*base)
		base = "/tmp";
	snprintf(f->root, sizeof(f->root), "%s/sipcert-ua-cache-XXXXXX", base);
	if (!mkdtemp(f->root)) {
		f->root[0] = '\0';
		return -errno;
	}
	join(f->dir, f->root, "c");
	return ua_cache_open(&f->cache, f->dir);
}

static void fx_fini(struct fx *f)
{
	ua_cache_close(f->cache);
	f->cache = NULL;
	if (f->root[0])
		rm_tree(f->root, 2);
}

/* The cache file of name (as cache.c names it) into out. */
static const char *fx_path(struct fx *f, const char *name, char *out)
{
	return join(out, f->dir, name);
}

/* ---- test certificates -------------------------------------------------- */

struct tcert {
	EVP_PKEY *key;
	X509 *x;
	unsigned char *der;
	size_t der_len;
	char sha[65];
	time_t not_before, not_after;
};

static void tcert_fini(struct tcert *c)
{
	EVP_PKEY_free(c->key);
	X509_free(c->x);
	mem_free(c->der);
	memset(c, 0, sizeof(*c));
}

/* A self-signed P-256 certificate for aor valid for days. */
static int tcert_make(struct tcert *c, const char *aor, uint32_t days)
{
	const char *uris[] = {aor};
	struct buf b;
	int err;

	memset(c, 0, sizeof(*c));
	buf_init(&b, 64 * 1024);
	err = crypto_key_generate(&c->key, CRYPTO_KEY_EC_P256);
	if (!err)
		err = crypto_cert_create(&c->x, c->key, NULL, NULL,
					 &(struct crypto_cert_opts){
						 .uri_sans = uris,
						 .n_uri_sans = 1,
						 .common_name = aor,
						 .days = days,
					 });
	if (!err)
		err = crypto_cert_der(c->x, &b);
	if (!err)
		err = crypto_cert_fingerprint(c->x, NULL, c->sha,
					      sizeof(c->sha));
	if (!err)
		err = crypto_cert_times(c->x, &c->not_before, &c->not_after);
	if (!err)
		c->der = (unsigned char *)buf_steal(&b, &c->der_len);
	buf_fini(&b);
	if (!err && !c->der)
		err = -ENOMEM;
	if (err)
		tcert_fini(c);
	return err;
}

/* An entry for c (borrowing its DER) verified at t, usable until
 * use_until. */
static struct ua_cache_entry entry_of(const struct tcert *c, const char *aor,
				      time_t t, time_t use_until)
{
	struct ua_cache_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.aor, sizeof(e.aor), "%s", aor);
	e.der = c->der;
	e.der_len = c->der_len;
	memcpy(e.sha256, c->sha, sizeof(e.sha256));
	e.verified_at = t;
	e.use_until = use_until;
	e.not_before = c->not_before;
	e.not_after = c->not_after;
	snprintf(e.domain, sizeof(e.domain), "example.test");
	snprintf(e.alg, sizeof(e.alg), "rsa-sha256");
	e.externally_validated = true;
	return e;
}

/* Put c for aor at t with a TTL of ttl seconds; the §10.8 flag into
 * *early. */
static int put(struct fx *f, const struct tcert *c, const char *aor, time_t t,
	       time_t ttl, bool *early)
{
	struct ua_cache_entry e = entry_of(c, aor, t, t + ttl);

	return ua_cache_put(f->cache, &e, early);
}

/* ---- the certificate cache ---------------------------------------------- */

TEST(ua_cache_round_trip)
{
	struct ua_cache_entry got = {0};
	struct tcert a = {0};
	char path[PATH_BYTES];
	bool early = true;
	struct fx f;
	int rc = -1;

	CHECK_EQ(fx_init(&f), 0);
	/* the missing directory was made, private */
	CHECK(is_dir(f.dir));
	CHECK_EQ(mode_of(f.dir), 0700);
	CHECK_EQ(tcert_make(&a, bob, 30), 0);
	CHECK_EQ(put(&f, &a, bob, T0, 3600, &early), 0);
	CHECK(!early);
	CHECK_EQ(mode_of(fx_path(&f, "bob@example.test.json", path)), 0600);
	CHECK_EQ(entries(f.dir), 1);

	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 10, &got), 0);
	CHECK_STR(got.aor, bob);
	CHECK(got.der && got.der_len == a.der_len &&
	      !memcmp(got.der, a.der, a.der_len));
	CHECK_STR(got.sha256, a.sha);
	CHECK_EQ(got.verified_at, T0);
	CHECK_EQ(got.use_until, T0 + 3600);
	CHECK_EQ(got.not_before, a.not_before);
	CHECK_EQ(got.not_after, a.not_after);
	CHECK_STR(got.domain, "example.test");
	CHECK_STR(got.alg, "rsa-sha256");
	CHECK(got.externally_validated);
	ua_cache_entry_fini(&got);
	CHECK(!got.der && !got.der_len);

	/* the AOR's case and scheme do not matter: one file */
	CHECK_EQ(
		ua_cache_get(f.cache, "sips:BOB@Example.Test", T0 + 3599, &got),
		0);
	ua_cache_entry_fini(&got);
	/* at use_until it is gone, and stays gone */
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 3600, &got), -ENOENT);
	CHECK(!got.der);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 10, &got), -ENOENT);
	CHECK_EQ(ua_cache_get(f.cache, "sip:nobody@example.test", T0, &got),
		 -ENOENT);
	/* the history survived: the same certificate again is no change */
	early = true;
	CHECK_EQ(put(&f, &a, bob, T0 + 4000, 3600, &early), 0);
	CHECK(!early);
	rc = 0;
out:
	ua_cache_entry_fini(&got);
	tcert_fini(&a);
	fx_fini(&f);
	return rc;
}

/* A TTL of zero serves nothing but remembers the fingerprint (§10.8). */
TEST(ua_cache_ttl_zero_remembers)
{
	static const char carol[] = "sip:carol@example.test";
	static const char dave[] = "sip:dave@example.test";
	struct ua_cache_entry got = {0};
	struct tcert a = {0}, b = {0};
	bool early = true;
	struct fx f;
	int rc = -1;

	CHECK_EQ(fx_init(&f), 0);
	CHECK_EQ(tcert_make(&a, bob, 30), 0);
	CHECK_EQ(tcert_make(&b, bob, 30), 0);
	CHECK(strcmp(a.sha, b.sha));

	CHECK_EQ(put(&f, &a, bob, T0, 0, &early), 0);
	CHECK(!early);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0, &got), -ENOENT);
	/* a while later, a different certificate while a was valid */
	CHECK_EQ(put(&f, &b, bob, T0 + 60, 0, &early), 0);
	CHECK(early);

	/* a is still valid at its notAfter (RFC 5280 §4.1.2.5), expired
	 * one second later */
	CHECK_EQ(put(&f, &a, carol, T0, 0, &early), 0);
	CHECK_EQ(ua_cache_get(f.cache, carol, T0, &got), -ENOENT);
	CHECK_EQ(put(&f, &b, carol, a.not_after, 0, &early), 0);
	CHECK(early);
	CHECK_EQ(put(&f, &a, dave, T0, 0, &early), 0);
	CHECK_EQ(ua_cache_get(f.cache, dave, T0, &got), -ENOENT);
	early = true;
	CHECK_EQ(put(&f, &b, dave, a.not_after + 1, 0, &early), 0);
	CHECK(!early);
	rc = 0;
out:
	ua_cache_entry_fini(&got);
	tcert_fini(&a);
	tcert_fini(&b);
	fx_fini(&f);
	return rc;
}

/* Which earlier certificate the §10.8 check compares with. */
TEST(ua_cache_changed_early_most_recent)
{
	struct tcert a = {0}, b = {0}, c = {0};
	bool early = false;
	struct fx f;
	int rc = -1;

	CHECK_EQ(fx_init(&f), 0);
	CHECK_EQ(tcert_make(&a, bob, 30), 0);
	CHECK_EQ(tcert_make(&b, bob, 1), 0);
	CHECK_EQ(tcert_make(&c, bob, 30), 0);
	CHECK(b.not_after < a.not_after);

	CHECK_EQ(put(&f, &a, bob, T0, 3600, &early), 0);
	CHECK(!early);
	CHECK_EQ(put(&f, &b, bob, T0 + 1, 3600, &early), 0);
	CHECK(early);
	/* b again (a refresh): no change, though a is still valid */
	CHECK_EQ(put(&f, &b, bob, T0 + 2, 3600, &early), 0);
	CHECK(!early);
	CHECK_EQ(ua_cache_drop(f.cache, bob), 0);
	CHECK_EQ(put(&f, &b, bob, T0 + 3, 3600, &early), 0);
	CHECK(!early);
	/* c after b expired: b counts, not the older a that is still
	 * valid */
	CHECK_EQ(put(&f, &c, bob, b.not_after + 1, 3600, &early), 0);
	CHECK(!early);
	/* back to a while c is valid */
	CHECK_EQ(put(&f, &a, bob, b.not_after + 2, 3600, &early), 0);
	CHECK(early);
	/* changed_early may be NULL */
	CHECK_EQ(put(&f, &c, bob, b.not_after + 3, 3600, NULL), 0);
	rc = 0;
out:
	tcert_fini(&a);
	tcert_fini(&b);
	tcert_fini(&c);
	fx_fini(&f);
	return rc;
}

TEST(ua_cache_drop_keeps_history)
{
	struct ua_cache_entry got = {0};
	struct tcert a = {0}, b = {0};
	char path[PATH_BYTES];
	json_t *o = NULL, *seen;
	bool early = false;
	struct fx f;
	int rc = -1;

	CHECK_EQ(fx_init(&f), 0);
	CHECK_EQ(tcert_make(&a, bob, 30), 0);
	CHECK_EQ(tcert_make(&b, bob, 30), 0);
	CHECK_EQ(ua_cache_drop(f.cache, bob), -ENOENT);
	CHECK_EQ(put(&f, &a, bob, T0, 3600, &early), 0);
	CHECK_EQ(ua_cache_drop(f.cache, bob), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 1, &got), -ENOENT);
	CHECK_EQ(ua_cache_drop(f.cache, bob), -ENOENT);

	/* the file keeps a's fingerprint and nothing of the certificate */
	o = json_load_file(fx_path(&f, "bob@example.test.json", path), 0, NULL);
	CHECK(o);
	CHECK(!json_object_get(o, "der") && !json_object_get(o, "sha256"));
	seen = json_object_get(o, "seen");
	CHECK_EQ(json_array_size(seen), 1);
	CHECK_STR(json_string_value(
			  json_object_get(json_array_get(seen, 0), "sha256")),
		  a.sha);
	CHECK_EQ(json_integer_value(json_object_get(json_array_get(seen, 0),
						    "first_seen")),
		 T0);

	/* and so b, while a is valid, is a change */
	CHECK_EQ(put(&f, &b, bob, T0 + 10, 3600, &early), 0);
	CHECK(early);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 11, &got), 0);
	CHECK_STR(got.sha256, b.sha);
	rc = 0;
out:
	json_decref(o);
	ua_cache_entry_fini(&got);
	tcert_fini(&a);
	tcert_fini(&b);
	fx_fini(&f);
	return rc;
}

/* The history keeps the last 16 fingerprints, the most recent last, each
 * with when it was first seen. */
TEST(ua_cache_seen_bounded)
{
	enum { N = 17 };
	struct tcert c[N];
	char path[PATH_BYTES];
	json_t *o = NULL, *seen;
	bool early = false;
	struct fx f;
	int rc = -1;

	memset(c, 0, sizeof(c));
	CHECK_EQ(fx_init(&f), 0);
	for (size_t i = 0; i < N; i++) {
		CHECK_EQ(tcert_make(&c[i], bob, 30), 0);
		CHECK_EQ(put(&f, &c[i], bob, T0 + (time_t)i, 3600, &early), 0);
		CHECK(early == (i > 0));
	}
	/* c[5] again: moved to the end, first seen at T0 + 5 */
	CHECK_EQ(put(&f, &c[5], bob, T0 + 100, 3600, &early), 0);
	CHECK(early);
	o = json_load_file(fx_path(&f, "bob@example.test.json", path), 0, NULL);
	CHECK(o);
	seen = json_object_get(o, "seen");
	CHECK_EQ(json_array_size(seen), 16);
	/* c[0] fell out; c[1] is the oldest */
	CHECK_STR(json_string_value(
			  json_object_get(json_array_get(seen, 0), "sha256")),
		  c[1].sha);
	CHECK_STR(json_string_value(
			  json_object_get(json_array_get(seen, 14), "sha256")),
		  c[16].sha);
	CHECK_STR(json_string_value(
			  json_object_get(json_array_get(seen, 15), "sha256")),
		  c[5].sha);
	CHECK_EQ(json_integer_value(json_object_get(json_array_get(seen, 15),
						    "first_seen")),
		 T0 + 5);
	CHECK_EQ(json_integer_value(json_object_get(json_array_get(seen, 15),
						    "not_after")),
		 c[5].not_after);
	rc = 0;
out:
	json_decref(o);
	for (size_t i = 0; i < N; i++)
		tcert_fini(&c[i]);
	fx_fini(&f);
	return rc;
}

/* Every strict prefix of a good file, garbage and fields missing or of
 * the wrong type read as absent; a put over them works. */
TEST(ua_cache_damaged_file)
{
	static const char *const keys[] = {
		"aor",
		"seen",
		"der",
		"sha256",
		"verified_at",
		"use_until",
		"not_before",
		"not_after",
		"domain",
		"alg",
		"externally_validated",
	};
	struct ua_cache_entry got = {0};
	struct tcert a = {0};
	char path[PATH_BYTES];
	struct buf text = {0};
	json_t *o = NULL;
	bool early = true;
	struct fx f;
	int rc = -1;

	CHECK_EQ(fx_init(&f), 0);
	CHECK_EQ(tcert_make(&a, bob, 30), 0);
	CHECK_EQ(put(&f, &a, bob, T0, 3600, &early), 0);
	fx_path(&f, "bob@example.test.json", path);
	CHECK_EQ(read_all(path, &text), 0);
	/* the last octet is the newline; everything shorter is cut JSON */
	for (size_t n = 0; n + 1 < text.len; n++) {
		CHECK_EQ(write_raw(path, text.p, n), 0);
		if (ua_cache_get(f.cache, bob, T0 + 1, &got) != -ENOENT) {
			TEST_FAIL_AT("prefix of %zu octets read", n);
			goto out;
		}
		CHECK_EQ(ua_cache_drop(f.cache, bob), -ENOENT);
	}
	CHECK_EQ(write_raw(path, text.p, text.len - 1), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 1, &got), 0);
	ua_cache_entry_fini(&got);

	/* one field missing or of the wrong type */
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		for (int how = 0; how < 2; how++) {
			o = json_loads(text.p, 0, NULL);
			CHECK(o);
			if (how)
				json_object_set_new(o, keys[i], json_null());
			else
				json_object_del(o, keys[i]);
			CHECK_EQ(json_dump_file(o, path, 0), 0);
			json_decref(o);
			o = NULL;
			/* without der there is simply no current entry */
			if (ua_cache_get(f.cache, bob, T0 + 1, &got) !=
			    -ENOENT) {
				TEST_FAIL_AT("\"%s\" %s read", keys[i],
					     how ? "null" : "missing");
				goto out;
			}
		}
	}
	/* not an object; another AOR's file; a "seen" entry that is none */
	CHECK_EQ(write_str(path, "[]"), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 1, &got), -ENOENT);
	o = json_loads(text.p, 0, NULL);
	CHECK(o);
	json_object_set_new(o, "aor", json_string("sip:eve@example.test"));
	CHECK_EQ(json_dump_file(o, path, 0), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 1, &got), -ENOENT);
	json_object_set_new(o, "aor", json_string(bob));
	json_array_append_new(json_object_get(o, "seen"), json_integer(1));
	CHECK_EQ(json_dump_file(o, path, 0), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 1, &got), -ENOENT);

	/* garbage; a put replaces it (the history is lost with it) */
	CHECK_EQ(write_str(path, "\x01garbage{"), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 1, &got), -ENOENT);
	CHECK_EQ(ua_cache_drop(f.cache, bob), -ENOENT);
	early = true;
	CHECK_EQ(put(&f, &a, bob, T0, 3600, &early), 0);
	CHECK(!early);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 1, &got), 0);
	CHECK_STR(got.sha256, a.sha);
	/* a directory where the file should be cannot be read or replaced */
	ua_cache_entry_fini(&got);
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(mkdir(path, 0700), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 1, &got), -ENOENT);
	CHECK_EQ(put(&f, &a, bob, T0, 3600, &early), -EIO);
	CHECK_EQ(rmdir(path), 0);
	rc = 0;
out:
	json_decref(o);
	buf_fini(&text);
	ua_cache_entry_fini(&got);
	tcert_fini(&a);
	fx_fini(&f);
	return rc;
}

/* The stored DER must be the one its fingerprint names, in strict
 * base64. */
TEST(ua_cache_wrong_sha256)
{
	struct ua_cache_entry got = {0};
	struct tcert a = {0}, b = {0};
	struct buf text = {0}, other = {0};
	char path[PATH_BYTES], upper[65];
	json_t *o = NULL, *ob = NULL;
	bool early;
	struct fx f;
	int rc = -1;

	CHECK_EQ(fx_init(&f), 0);
	CHECK_EQ(tcert_make(&a, bob, 30), 0);
	CHECK_EQ(tcert_make(&b, bob, 30), 0);
	/* b's file, to take its der from; then a's */
	CHECK_EQ(put(&f, &b, bob, T0, 3600, &early), 0);
	fx_path(&f, "bob@example.test.json", path);
	CHECK_EQ(read_all(path, &other), 0);
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(put(&f, &a, bob, T0, 3600, &early), 0);
	CHECK_EQ(read_all(path, &text), 0);
	ob = json_loads(other.p, 0, NULL);
	CHECK(ob);

	/* a's fingerprint over b's certificate, and the other way */
	o = json_loads(text.p, 0, NULL);
	CHECK(o);
	json_object_set(o, "der", json_object_get(ob, "der"));
	CHECK_EQ(json_dump_file(o, path, 0), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 1, &got), -ENOENT);
	json_decref(o);
	o = json_loads(text.p, 0, NULL);
	CHECK(o);
	json_object_set(o, "sha256", json_object_get(ob, "sha256"));
	CHECK_EQ(json_dump_file(o, path, 0), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 1, &got), -ENOENT);

	/* the right fingerprint in upper case is not what we write */
	for (size_t i = 0; i < 65; i++)
		upper[i] = (char)toupper((unsigned char)a.sha[i]);
	json_object_set_new(o, "sha256", json_string(upper));
	CHECK_EQ(json_dump_file(o, path, 0), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 1, &got), -ENOENT);

	/* base64 with a blank in front or a line break inside */
	json_object_set_new(o, "sha256", json_string(a.sha));
	CHECK_EQ(json_dump_file(o, path, 0), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 1, &got), 0);
	ua_cache_entry_fini(&got);
	{
		const char *der = json_string_value(json_object_get(o, "der"));
		size_t n = strlen(der);
		char *sp = mem_alloc(n + 2), *nl = mem_alloc(n + 2);
		json_t *v[2] = {NULL, NULL};

		if (sp && nl) {
			sp[0] = ' ';
			memcpy(sp + 1, der, n + 1);
			nl[0] = der[0];
			nl[1] = '\n';
			memcpy(nl + 2, der + 1, n);
			v[0] = json_string(sp);
			v[1] = json_string(nl);
		}
		mem_free(sp);
		mem_free(nl);
		for (size_t i = 0; i < 2; i++) {
			if (!v[i] || json_object_set_new(o, "der", v[i]) ||
			    json_dump_file(o, path, 0) ||
			    ua_cache_get(f.cache, bob, T0 + 1, &got) !=
				    -ENOENT) {
				if (!i)
					json_decref(v[1]);
				TEST_FAIL_AT("base64 variant %zu read", i);
				goto out;
			}
		}
	}
	json_object_set_new(o, "der", json_string(""));
	CHECK_EQ(json_dump_file(o, path, 0), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0 + 1, &got), -ENOENT);
	rc = 0;
out:
	json_decref(o);
	json_decref(ob);
	buf_fini(&text);
	buf_fini(&other);
	ua_cache_entry_fini(&got);
	tcert_fini(&a);
	tcert_fini(&b);
	fx_fini(&f);
	return rc;
}

TEST(ua_cache_put_invalid)
{
	struct ua_cache_entry e, got = {0};
	struct tcert a = {0};
	unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	bool early = false;
	struct fx f;
	int rc = -1;

	CHECK_EQ(fx_init(&f), 0);
	CHECK_EQ(tcert_make(&a, bob, 30), 0);
	e = entry_of(&a, bob, T0, T0 + 60);
	CHECK_EQ(ua_cache_put(NULL, &e, &early), -EINVAL);
	CHECK_EQ(ua_cache_put(f.cache, NULL, &early), -EINVAL);
	e.der = NULL;
	CHECK_EQ(ua_cache_put(f.cache, &e, &early), -EINVAL);
	e.der = junk;
	e.der_len = sizeof(junk);
	CHECK_EQ(ua_cache_put(f.cache, &e, &early), -EINVAL);
	e = entry_of(&a, bob, T0, T0 + 60);
	e.der_len--; /* not the whole certificate */
	CHECK_EQ(ua_cache_put(f.cache, &e, &early), -EINVAL);
	e = entry_of(&a, bob, T0, T0 + 60);
	e.sha256[3] = e.sha256[3] == '0' ? '1' : '0';
	CHECK_EQ(ua_cache_put(f.cache, &e, &early), -EINVAL);
	e = entry_of(&a, "", T0, T0 + 60);
	CHECK_EQ(ua_cache_put(f.cache, &e, &early), -EINVAL);
	e = entry_of(&a, "sip:", T0, T0 + 60);
	CHECK_EQ(ua_cache_put(f.cache, &e, &early), -EINVAL);
	/* not UTF-8: a file we could not read back */
	e = entry_of(&a, "sip:\xff@example.test", T0, T0 + 60);
	CHECK_EQ(ua_cache_put(f.cache, &e, &early), -EINVAL);
	e = entry_of(&a, bob, T0, T0 + 60);
	memset(e.alg, 'a', sizeof(e.alg)); /* no NUL */
	CHECK_EQ(ua_cache_put(f.cache, &e, &early), -EINVAL);
	CHECK_EQ(entries(f.dir), 0);
	CHECK_EQ(ua_cache_get(f.cache, NULL, T0, &got), -EINVAL);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0, NULL), -EINVAL);
	CHECK_EQ(ua_cache_drop(NULL, bob), -EINVAL);

	/* no fingerprint given: computed; one in upper case: accepted */
	e = entry_of(&a, bob, T0, T0 + 60);
	e.sha256[0] = '\0';
	CHECK_EQ(ua_cache_put(f.cache, &e, &early), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0, &got), 0);
	CHECK_STR(got.sha256, a.sha);
	ua_cache_entry_fini(&got);
	e = entry_of(&a, bob, T0, T0 + 60);
	for (size_t i = 0; i < 64; i++)
		e.sha256[i] = (char)toupper((unsigned char)e.sha256[i]);
	CHECK_EQ(ua_cache_put(f.cache, &e, &early), 0);
	CHECK_EQ(ua_cache_get(f.cache, bob, T0, &got), 0);
	CHECK_STR(got.sha256, a.sha);
	rc = 0;
out:
	ua_cache_entry_fini(&got);
	tcert_fini(&a);
	fx_fini(&f);
	return rc;
}

TEST(ua_cache_open_dir)
{
	struct ua_cache *c = NULL;
	char path[PATH_BYTES];
	struct fx f;
	int rc = -1;

	CHECK_EQ(fx_init(&f), 0);
	/* already there: opened as it is */
	CHECK_EQ(ua_cache_open(&c, f.dir), 0);
	ua_cache_close(c);
	c = NULL;
	/* only the last component is made */
	join(path, f.root, "x/y");
	CHECK_EQ(ua_cache_open(&c, path), -ENOENT);
	CHECK(!c);
	CHECK(!is_dir(path));
	/* not a directory */
	join(path, f.root, "file");
	CHECK_EQ(write_str(path, "x"), 0);
	CHECK_EQ(ua_cache_open(&c, path), -ENOTDIR);
	CHECK_EQ(ua_cache_open(&c, NULL), -EINVAL);
	CHECK_EQ(ua_cache_open(&c, ""), -EINVAL);
	CHECK_EQ(ua_cache_open(NULL, f.dir), -EINVAL);
	CHECK(!c);
	ua_cache_close(NULL);
	ua_cache_entry_fini(NULL);
	rc = 0;
out:
	ua_cache_close(c);
	fx_fini(&f);
	return rc;
}

/* File names: the AOR without its scheme, lower case, [a-z0-9.-@] kept,
 * every other octet "_" and hex; nothing reaches outside the directory. */
TEST(ua_cache_file_names)
{
	static const struct {
		const char *aor;
		const char *file;
	} v[] = {
		{"sip:Bob@Example.TEST", "bob@example.test.json"},
		{"sip:a;b/c@x.test", "a_3bb_2fc@x.test.json"},
		{"sip:../../etc/passwd", ".._2f.._2fetc_2fpasswd.json"},
		{"sips:..", "...json"},
		{"sip:x_y+z@ex", "x_5fy_2bz@ex.json"},
		{"tel:+1", "tel_3a_2b1.json"},
		{"sip:\xc3\xa9@x", "_c3_a9@x.json"},
		{"sip:a%2Fb@x", "a_252fb@x.json"},
		{"/", "_2f.json"},
	};
	char path[PATH_BYTES], aor[300], etag[8];
	struct tcert a = {0};
	time_t t;
	bool early;
	struct fx f;
	int rc = -1;

	CHECK_EQ(fx_init(&f), 0);
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		CHECK_EQ(ua_own_etag_save(f.dir, v[i].aor, "e", T0), 0);
		if (!is_dir(f.dir) ||
		    mode_of(fx_path(&f, v[i].file, path)) != 0600) {
			TEST_FAIL_AT("%s: no %s", v[i].aor, v[i].file);
			goto out;
		}
		CHECK_EQ(unlink(path), 0);
	}
	/* nothing was written anywhere else */
	CHECK_EQ(entries(f.dir), 0);
	CHECK_EQ(entries(f.root), 1);

	/* the cache names its files the same way */
	CHECK_EQ(tcert_make(&a, bob, 30), 0);
	CHECK_EQ(put(&f, &a, "sip:../x@y", T0, 60, &early), 0);
	CHECK_EQ(mode_of(fx_path(&f, ".._2fx@y.json", path)), 0600);

	/* 200 octets of name, and one more */
	snprintf(aor, sizeof(aor), "sip:%0*d", 200, 0);
	CHECK_EQ(ua_own_etag_save(f.dir, aor, "e", T0), 0);
	snprintf(aor, sizeof(aor), "sip:%0*d", 201, 0);
	CHECK_EQ(ua_own_etag_save(f.dir, aor, "e", T0), -ENAMETOOLONG);
	CHECK_EQ(ua_own_etag_load(f.dir, aor, etag, sizeof(etag), &t),
		 -ENAMETOOLONG);
	CHECK_EQ(put(&f, &a, aor, T0, 60, &early), -ENAMETOOLONG);
	CHECK_EQ(ua_cache_drop(f.cache, aor), -ENAMETOOLONG);
	CHECK_EQ(ua_own_save(f.dir, aor, a.x, a.key, NULL, 0), -ENAMETOOLONG);
	/* 66 escapes are 198 octets, 67 are 201 */
	memset(aor, 0, sizeof(aor));
	memcpy(aor, "sip:", 4);
	memset(aor + 4, '/', 66);
	CHECK_EQ(ua_own_etag_save(f.dir, aor, "e", T0), 0);
	aor[4 + 66] = '/';
	CHECK_EQ(ua_own_etag_save(f.dir, aor, "e", T0), -ENAMETOOLONG);
	/* no name at all */
	CHECK_EQ(ua_own_etag_save(f.dir, "sip:", "e", T0), -EINVAL);
	CHECK_EQ(ua_own_etag_save(f.dir, "", "e", T0), -EINVAL);
	rc = 0;
out:
	tcert_fini(&a);
	fx_fini(&f);
	return rc;
}

/* ---- our own credential ------------------------------------------------- */

static const char alice[] = "sip:alice@example.test";
static const char pass[] = "correct horse battery";

static bool starts_with_file(const char *path, const char *prefix)
{
	struct buf b;
	bool ok;

	ok = !read_all(path, &b) && b.len >= strlen(prefix) &&
	     !memcmp(b.p, prefix, strlen(prefix));
	buf_fini(&b);
	return ok;
}

static bool same_credential(const struct tcert *c, X509 *x, EVP_PKEY *k)
{
	return x && !X509_cmp(x, c->x) && (!k || EVP_PKEY_eq(k, c->key) == 1);
}

TEST(ua_cache_own_pass_phrase)
{
	struct tcert a = {0};
	char dir[PATH_BYTES], path[PATH_BYTES];
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	struct fx f;
	int rc = -1;

	CHECK_EQ(fx_init(&f), 0);
	CHECK_EQ(tcert_make(&a, alice, 30), 0);
	join(dir, f.root, "own");
	CHECK_EQ(ua_own_load(dir, alice, pass, strlen(pass), &x, &k), -ENOENT);
	CHECK_EQ(ua_own_save(dir, alice, a.x, a.key, pass, strlen(pass)), 0);
	CHECK_EQ(mode_of(dir), 0700);
	join(path, dir, "alice@example.test.p8");
	CHECK_EQ(mode_of(path), 0600);
	CHECK(starts_with_file(path,
			       "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
	join(path, dir, "alice@example.test.pem");
	CHECK(starts_with_file(path, "-----BEGIN CERTIFICATE-----\n"));
	CHECK_EQ(entries(dir), 2);

	CHECK_EQ(ua_own_load(dir, alice, pass, strlen(pass), &x, &k), 0);
	CHECK(same_credential(&a, x, k));
	X509_free(x);
	EVP_PKEY_free(k);
	x = NULL;
	k = NULL;
	/* a wrong pass phrase, a prefix of the right one, none */
	CHECK_EQ(ua_own_load(dir, alice, "wrong", 5, &x, &k), -EACCES);
	CHECK_EQ(ua_own_load(dir, alice, pass, strlen(pass) - 1, &x, &k),
		 -EACCES);
	CHECK_EQ(ua_own_load(dir, alice, NULL, 0, &x, &k), -EACCES);
	CHECK(!x && !k);
	/* the certificate alone needs none */
	CHECK_EQ(ua_own_load(dir, alice, NULL, 0, &x, NULL), 0);
	CHECK(same_credential(&a, x, NULL));
	CHECK_EQ(ua_own_load(dir, alice, NULL, 3, &x, &k), -EINVAL);
	CHECK_EQ(ua_own_load(dir, alice, pass, strlen(pass), NULL, &k),
		 -EINVAL);
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	tcert_fini(&a);
	fx_fini(&f);
	return rc;
}

TEST(ua_cache_own_no_pass_phrase)
{
	struct tcert a = {0};
	char dir[PATH_BYTES], path[PATH_BYTES];
	struct buf text = {0};
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	struct fx f;
	int rc = -1;

	CHECK_EQ(fx_init(&f), 0);
	CHECK_EQ(tcert_make(&a, alice, 30), 0);
	join(dir, f.root, "own");
	CHECK_EQ(ua_own_save(dir, alice, a.x, a.key, NULL, 0), 0);
	join(path, dir, "alice@example.test.p8");
	CHECK_EQ(mode_of(path), 0600);
	CHECK(starts_with_file(path, "-----BEGIN PRIVATE KEY-----\n"));
	CHECK_EQ(ua_own_load(dir, alice, NULL, 0, &x, &k), 0);
	CHECK(same_credential(&a, x, k));
	X509_free(x);
	EVP_PKEY_free(k);
	x = NULL;
	k = NULL;
	/* a pass phrase given for a plain key is not needed */
	CHECK_EQ(ua_own_load(dir, alice, pass, strlen(pass), &x, &k), 0);
	CHECK(same_credential(&a, x, k));
	X509_free(x);
	EVP_PKEY_free(k);
	x = NULL;
	k = NULL;

	/* every strict prefix of the key file is damaged */
	CHECK_EQ(read_all(path, &text), 0);
	for (size_t n = 0; n + 1 < text.len; n++) {
		CHECK_EQ(write_raw(path, text.p, n), 0);
		if (ua_own_load(dir, alice, NULL, 0, &x, &k) != -EBADMSG) {
			TEST_FAIL_AT("key prefix of %zu octets", n);
			goto out;
		}
	}
	CHECK(!x && !k);
	rc = 0;
out:
	buf_fini(&text);
	X509_free(x);
	EVP_PKEY_free(k);
	tcert_fini(&a);
	fx_fini(&f);
	return rc;
}

/* A key that is not the certificate's, and damaged files. */
TEST(ua_cache_own_mismatch)
{
	static const char carol[] = "sip:carol@example.test";
	struct tcert a = {0}, b = {0};
	char dir[PATH_BYTES], pa[PATH_BYTES], pb[PATH_BYTES];
	struct buf text = {0};
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	struct fx f;
	int rc = -1;

	CHECK_EQ(fx_init(&f), 0);
	CHECK_EQ(tcert_make(&a, alice, 30), 0);
	CHECK_EQ(tcert_make(&b, carol, 30), 0);
	join(dir, f.root, "own");
	/* saving a pair that does not match is refused, nothing written */
	CHECK_EQ(ua_own_save(dir, alice, a.x, b.key, NULL, 0), -EINVAL);
	CHECK_EQ(ua_own_save(dir, alice, a.x, NULL, NULL, 0), -EINVAL);
	CHECK_EQ(ua_own_save(dir, alice, a.x, a.key, NULL, 4), -EINVAL);
	CHECK(!is_dir(dir));

	CHECK_EQ(ua_own_save(dir, alice, a.x, a.key, pass, strlen(pass)), 0);
	CHECK_EQ(ua_own_save(dir, carol, b.x, b.key, pass, strlen(pass)), 0);
	/* carol's key beside alice's certificate */
	join(pa, dir, "alice@example.test.p8");
	join(pb, dir, "carol@example.test.p8");
	CHECK_EQ(read_all(pb, &text), 0);
	CHECK_EQ(write_raw(pa, text.p, text.len), 0);
	CHECK_EQ(ua_own_load(dir, alice, pass, strlen(pass), &x, &k), -EBADMSG);
	CHECK(!x && !k);
	CHECK_EQ(ua_own_load(dir, alice, NULL, 0, &x, NULL), 0);
	X509_free(x);
	x = NULL;

	/* key files that are no key */
	CHECK_EQ(write_str(pa, ""), 0);
	CHECK_EQ(ua_own_load(dir, alice, NULL, 0, &x, &k), -EBADMSG);
	CHECK_EQ(write_str(pa, "-----BEGIN PRIVATE KEY-----\nAAAA\n"
			       "-----END PRIVATE KEY-----\n"),
		 0);
	CHECK_EQ(ua_own_load(dir, alice, NULL, 0, &x, &k), -EBADMSG);
	CHECK_EQ(write_str(pa, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"
			       "-----END ENCRYPTED PRIVATE KEY-----\n"),
		 0);
	CHECK_EQ(ua_own_load(dir, alice, pass, strlen(pass), &x, &k), -EBADMSG);
	join(pb, dir, "alice@example.test.pem");
	buf_fini(&text);
	CHECK_EQ(read_all(pb, &text), 0);
	CHECK_EQ(write_raw(pa, text.p, text.len), 0); /* a CERTIFICATE */
	CHECK_EQ(ua_own_load(dir, alice, NULL, 0, &x, &k), -EBADMSG);
	/* no key file at all */
	CHECK_EQ(unlink(pa), 0);
	CHECK_EQ(ua_own_load(dir, alice, NULL, 0, &x, &k), -ENOENT);
	/* a damaged certificate */
	CHECK_EQ(write_str(pb, "-----BEGIN CERTIFICATE-----\nAAAA\n"
			       "-----END CERTIFICATE-----\n"),
		 0);
	CHECK_EQ(ua_own_load(dir, alice, NULL, 0, &x, NULL), -EBADMSG);
	CHECK_EQ(unlink(pb), 0);
	CHECK_EQ(mkdir(pb, 0700), 0);
	CHECK_EQ(ua_own_load(dir, alice, NULL, 0, &x, NULL), -EBADMSG);
	CHECK_EQ(rmdir(pb), 0);
	CHECK_EQ(ua_own_load(dir, alice, NULL, 0, &x, NULL), -ENOENT);
	CHECK(!x && !k);
	rc = 0;
out:
	buf_fini(&text);
	X509_free(x);
	EVP_PKEY_free(k);
	tcert_fini(&a);
	tcert_fini(&b);
	fx_fini(&f);
	return rc;
}

TEST(ua_cache_own_etag)
{
	char dir[PATH_BYTES], path[PATH_BYTES], etag[16];
	time_t t = 0;
	struct fx f;
	int rc = -1;

	CHECK_EQ(fx_init(&f), 0);
	join(dir, f.root, "own");
	CHECK_EQ(ua_own_etag_load(dir, alice, etag, sizeof(etag), &t), -ENOENT);
	CHECK_EQ(ua_own_etag_save(dir, alice, "dx200xyz", T0 + 3600), 0);
	CHECK_EQ(mode_of(dir), 0700);
	join(path, dir, "alice@example.test.json");
	CHECK_EQ(mode_of(path), 0600);
	CHECK_EQ(ua_own_etag_load(dir, alice, etag, sizeof(etag), &t), 0);
	CHECK_STR(etag, "dx200xyz");
	CHECK_EQ(t, T0 + 3600);
	/* exactly room for it and its NUL, and one less */
	t = 0;
	CHECK_EQ(ua_own_etag_load(dir, alice, etag, 9, &t), 0);
	CHECK_EQ(ua_own_etag_load(dir, alice, etag, 8, &t), -EMSGSIZE);
	CHECK_EQ(ua_own_etag_load(dir, "sip:bob@example.test", etag,
				  sizeof(etag), &t),
		 -ENOENT);
	/* "" is no entity tag, but saved */
	CHECK_EQ(ua_own_etag_save(dir, alice, "", 0), 0);
	CHECK_EQ(ua_own_etag_load(dir, alice, etag, sizeof(etag), &t), 0);
	CHECK_STR(etag, "");
	CHECK_EQ(t, 0);
	/* damaged reads as nothing saved */
	CHECK_EQ(write_str(path, "{\"etag\": 5, \"expires_at\": 1}"), 0);
	CHECK_EQ(ua_own_etag_load(dir, alice, etag, sizeof(etag), &t), -ENOENT);
	CHECK_EQ(
		write_str(path, "{\"etag\": \"a\\u0000b\", \"expires_at\": 1}"),
		0);
	CHECK_EQ(ua_own_etag_load(dir, alice, etag, sizeof(etag), &t), -ENOENT);
	CHECK_EQ(write_str(path, "{\"etag\": \"a\"}"), 0);
	CHECK_EQ(ua_own_etag_load(dir, alice, etag, sizeof(etag), &t), -ENOENT);
	CHECK_EQ(write_str(path, "{\"etag\": \"a\", \"expires_at\": 7"), 0);
	CHECK_EQ(ua_own_etag_load(dir, alice, etag, sizeof(etag), &t), -ENOENT);
	CHECK_EQ(write_str(path, "{\"etag\": \"a\", \"expires_at\": 7}"), 0);
	CHECK_EQ(ua_own_etag_load(dir, alice, etag, sizeof(etag), &t), 0);
	CHECK_STR(etag, "a");
	CHECK_EQ(t, 7);
	CHECK_EQ(ua_own_etag_save(dir, alice, NULL, 0), -EINVAL);
	CHECK_EQ(ua_own_etag_save(dir, alice, "\xff", 0), -EINVAL);
	CHECK_EQ(ua_own_etag_load(dir, alice, etag, 0, &t), -EINVAL);
	rc = 0;
out:
	fx_fini(&f);
	return rc;
}
