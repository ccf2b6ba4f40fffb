/* SPDX-License-Identifier: BSD-3-Clause */
/* The user table in memory: AOR -> digest HA1 values (RFC 7616 §3.4.2,
 * RFC 8760), loaded from the store so that a digest check never waits on
 * the database. A chained hash table keyed by the AOR's exact string. */
#include "daemon.h"

#include <string.h>

#include <openssl/crypto.h>

enum {
	USERDB_MIN_BUCKETS = 64,
	USERDB_AOR_MAX = 255, /* fits struct auth_result's aor */
};

struct user_entry {
	struct userdb_user u;
	size_t aor_len;
	uint64_t hash;
	struct user_entry *next;
};

struct userdb {
	struct user_entry **buckets;
	size_t n_buckets; /* a power of two */
	size_t n;
};

/* FNV-1a: the keys are AORs the operator created (users of the domain),
 * never strings a peer chooses, so an unkeyed hash cannot be flooded. */
static uint64_t aor_hash(struct slice s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void entry_free(struct user_entry *e)
{
	if (!e)
		return;
	/* HA1s are password equivalents (RFC 7616 §5.1) */
	OPENSSL_cleanse(e->u.ha1_md5, sizeof(e->u.ha1_md5));
	OPENSSL_cleanse(e->u.ha1_sha256, sizeof(e->u.ha1_sha256));
	mem_free(e->u.aor);
	mem_free(e);
}

static void table_clear(struct user_entry **buckets, size_t n_buckets)
{
	for (size_t i = 0; i < n_buckets; i++) {
		struct user_entry *e = buckets[i];

		while (e) {
			struct user_entry *next = e->next;

			entry_free(e);
			e = next;
		}
		buckets[i] = NULL;
	}
}

int userdb_new(struct userdb **out)
{
	struct userdb *db;

	if (!out)
		return -EINVAL;
	db = mem_zalloc(sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->buckets = mem_zalloc(USERDB_MIN_BUCKETS * sizeof(*db->buckets));
	if (!db->buckets) {
		mem_free(db);
		return -ENOMEM;
	}
	db->n_buckets = USERDB_MIN_BUCKETS;
	*out = db;
	return 0;
}

void userdb_free(struct userdb *db)
{
	if (!db)
		return;
	table_clear(db->buckets, db->n_buckets);
	mem_free(db->buckets);
	mem_free(db);
}

/* Lower-case hex of exactly len digits, or NULL / "" for none. */
static int ha1_copy(char *dst, const char *src, size_t len)
{
	size_t i;

	dst[0] = '\0';
	if (!src || !src[0])
		return 0;
	for (i = 0; i < len && src[i]; i++)
		if (!char_is_hex((unsigned char)src[i]))
			return -EINVAL;
	if (i != len || src[len])
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = src[i];

		dst[i] = (char)(c >= 'A' && c <= 'F' ? c + 32 : c);
	}
	dst[len] = '\0';
	return 0;
}

static int entry_new(struct user_entry **out, const char *aor,
		     const char *ha1_md5, const char *ha1_sha256)
{
	struct user_entry *e;
	size_t len;
	int err;

	if (!aor)
		return -EINVAL;
	len = strlen(aor);
	if (!len)
		return -EINVAL;
	if (len > USERDB_AOR_MAX)
		return -EMSGSIZE;
	e = mem_zalloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	err = ha1_copy(e->u.ha1_md5, ha1_md5, 32);
	if (!err)
		err = ha1_copy(e->u.ha1_sha256, ha1_sha256, 64);
	if (!err) {
		e->u.aor = mem_strndup(aor, len);
		if (!e->u.aor)
			err = -ENOMEM;
	}
	if (err) {
		entry_free(e);
		return err;
	}
	e->aor_len = len;
	e->hash = aor_hash(slice_of(aor, len));
	*out = e;
	return 0;
}

static struct user_entry **slot_find(struct user_entry **buckets,
				     size_t n_buckets, struct slice aor,
				     uint64_t h)
{
	struct user_entry **pp = &buckets[h & (n_buckets - 1)];

	for (; *pp; pp = &(*pp)->next) {
		const struct user_entry *e = *pp;

		if (e->hash == h && e->aor_len == aor.len &&
		    !memcmp(e->u.aor, aor.p, aor.len))
			break;
	}
	return pp;
}

/* Double the buckets when the load passes one entry per bucket; a failed
 * allocation leaves the table as it was (only longer chains). */
static void table_grow(struct userdb *db)
{
	size_t n = db->n_buckets * 2;
	struct user_entry **b;

	if (db->n < db->n_buckets || n > SIZE_MAX / sizeof(*b))
		return;
	b = mem_zalloc(n * sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < db->n_buckets; i++) {
		struct user_entry *e = db->buckets[i];

		while (e) {
			struct user_entry *next = e->next;
			struct user_entry **head = &b[e->hash & (n - 1)];

			e->next = *head;
			*head = e;
			e = next;
		}
	}
	mem_free(db->buckets);
	db->buckets = b;
	db->n_buckets = n;
}

/* Insert e, replacing the entry of the same AOR if there is one. */
static void table_put(struct userdb *db, struct user_entry *e)
{
	struct user_entry **pp;

	pp = slot_find(db->buckets, db->n_buckets,
		       slice_of(e->u.aor, e->aor_len), e->hash);
	if (*pp) {
		struct user_entry *old = *pp;

		e->next = old->next;
		*pp = e;
		entry_free(old);
		return;
	}
	e->next = NULL;
	*pp = e;
	db->n++;
	table_grow(db);
}

int userdb_load(struct userdb *db, struct store *st)
{
	struct store_user **users = NULL;
	struct userdb *fresh = NULL;
	size_t n = 0;
	int err;

	if (!db || !st)
		return -EINVAL;
	err = store_user_list(st, &users, &n);
	if (err)
		return err;
	err = userdb_new(&fresh);
	for (size_t i = 0; !err && i < n; i++) {
		struct user_entry *e;

		err = entry_new(&e, users[i]->aor, users[i]->ha1_md5,
				users[i]->ha1_sha256);
		if (!err)
			table_put(fresh, e);
	}
	store_list_free(users, n);
	if (err) {
		/* all or nothing: the table in use stays as it was */
		userdb_free(fresh);
		return err;
	}
	/* swap the contents, then free the old ones with fresh */
	{
		struct userdb tmp = *db;

		*db = *fresh;
		*fresh = tmp;
	}
	userdb_free(fresh);
	return 0;
}

const struct userdb_user *userdb_find(const struct userdb *db, struct slice aor)
{
	struct user_entry *const *pp;

	if (!db || !aor.p || !aor.len)
		return NULL;
	pp = slot_find(db->buckets, db->n_buckets, aor, aor_hash(aor));
	return *pp ? &(*pp)->u : NULL;
}

int userdb_put(struct userdb *db, const char *aor, const char *ha1_md5,
	       const char *ha1_sha256)
{
	struct user_entry *e;
	int err;

	if (!db)
		return -EINVAL;
	err = entry_new(&e, aor, ha1_md5, ha1_sha256);
	if (err)
		return err;
	table_put(db, e);
	return 0;
}

int userdb_del(struct userdb *db, const char *aor)
{
	struct user_entry **pp, *e;
	struct slice key;

	if (!db || !aor)
		return -EINVAL;
	key = slice_cstr(aor);
	pp = slot_find(db->buckets, db->n_buckets, key, aor_hash(key));
	e = *pp;
	if (!e)
		return -ENOENT;
	*pp = e->next;
	db->n--;
	entry_free(e);
	return 0;
}

size_t userdb_count(const struct userdb *db)
{
	return db ? db->n : 0;
}

int userdb_each(const struct userdb *db,
		int (*cb)(void *arg, const struct userdb_user *u), void *arg)
{
	if (!db || !cb)
		return -EINVAL;
	for (size_t i = 0; i < db->n_buckets; i++) {
		for (const struct user_entry *e = db->buckets[i]; e;
		     e = e->next) {
			int rc = cb(arg, &e->u);

			if (rc)
				return rc;
		}
	}
	return 0;
}
