/* SPDX-License-Identifier: BSD-3-Clause */
/* store: records as single allocations (the struct, then its strings and
 * blobs), and the lists the list calls return. */
#include "store/backend.h"

#include <string.h>

/* A pointer member of a record: a NUL-terminated string, or a blob with
 * its size_t length at len_off. A record starts with a pointer, so a
 * length is never at offset 0, and 0 marks a string. */
struct rec_field {
	size_t off;
	size_t len_off;
};

static const void *ptr_at(const void *rec, size_t off)
{
	const void *p;

	memcpy(&p, (const char *)rec + off, sizeof(p));
	return p;
}

static size_t field_len(const void *rec, const struct rec_field *f,
			const void *p)
{
	size_t n;

	if (!f->len_off)
		return strlen(p) + 1;
	memcpy(&n, (const char *)rec + f->len_off, sizeof(n));
	return n;
}

/* Copy the record of size bytes at in, and everything its fields point
 * to, into one allocation. */
static int rec_dup(void **out, const void *in, size_t size,
		   const struct rec_field *f, size_t n_fields)
{
	size_t total = size;
	char *rec, *cur;

	for (size_t i = 0; i < n_fields; i++) {
		const void *p = ptr_at(in, f[i].off);
		size_t n;

		if (!p)
			continue;
		n = field_len(in, &f[i], p);
		if (n > SIZE_MAX - total)
			return -ENOMEM;
		total += n;
	}
	rec = mem_alloc(total);
	if (!rec)
		return -ENOMEM;
	memcpy(rec, in, size);
	cur = rec + size;
	for (size_t i = 0; i < n_fields; i++) {
		const void *p = ptr_at(in, f[i].off);
		size_t n;

		if (!p)
			continue;
		n = field_len(in, &f[i], p);
		memcpy(cur, p, n);
		p = cur;
		memcpy(rec + f[i].off, &p, sizeof(p));
		cur += n;
	}
	*out = rec;
	return 0;
}

static const struct rec_field user_fields[] = {
	{.off = offsetof(struct store_user, aor)},
	{.off = offsetof(struct store_user, ha1_md5)},
	{.off = offsetof(struct store_user, ha1_sha256)},
};

int store_user_dup(struct store_user **out, const struct store_user *u)
{
	void *rec;
	int err;

	if (!out || !u)
		return -EINVAL;
	err = rec_dup(&rec, u, sizeof(*u), user_fields,
		      ARRAY_SIZE(user_fields));
	if (!err)
		*out = rec;
	return err;
}

void store_user_free(struct store_user *u)
{
	mem_free(u);
}

static const struct rec_field binding_fields[] = {
	{.off = offsetof(struct store_binding, aor)},
	{.off = offsetof(struct store_binding, contact)},
	{.off = offsetof(struct store_binding, call_id)},
	{.off = offsetof(struct store_binding, path)},
	{.off = offsetof(struct store_binding, flow)},
	{.off = offsetof(struct store_binding, instance_id)},
};

int store_binding_dup(struct store_binding **out, const struct store_binding *b)
{
	void *rec;
	int err;

	if (!out || !b)
		return -EINVAL;
	err = rec_dup(&rec, b, sizeof(*b), binding_fields,
		      ARRAY_SIZE(binding_fields));
	if (!err)
		*out = rec;
	return err;
}

void store_binding_free(struct store_binding *b)
{
	mem_free(b);
}

static const struct rec_field cred_fields[] = {
	{.off = offsetof(struct store_cred, aor)},
	{.off = offsetof(struct store_cred, device)},
	{.off = offsetof(struct store_cred, cert_der),
	 .len_off = offsetof(struct store_cred, cert_len)},
	{.off = offsetof(struct store_cred, sealed_pkcs8),
	 .len_off = offsetof(struct store_cred, sealed_pkcs8_len)},
	{.off = offsetof(struct store_cred, etag)},
	{.off = offsetof(struct store_cred, sha256)},
};

int store_cred_dup(struct store_cred **out, const struct store_cred *c)
{
	void *rec;
	int err;

	if (!out || !c)
		return -EINVAL;
	err = rec_dup(&rec, c, sizeof(*c), cred_fields,
		      ARRAY_SIZE(cred_fields));
	if (!err)
		*out = rec;
	return err;
}

void store_cred_free(struct store_cred *c)
{
	/* no wipe: the PKCS#8 was sealed before it reached the store */
	mem_free(c);
}

static const struct rec_field fp_fields[] = {
	{.off = offsetof(struct store_fp, aor)},
	{.off = offsetof(struct store_fp, sha256)},
};

int store_fp_dup(struct store_fp **out, const struct store_fp *f)
{
	void *rec;
	int err;

	if (!out || !f)
		return -EINVAL;
	err = rec_dup(&rec, f, sizeof(*f), fp_fields, ARRAY_SIZE(fp_fields));
	if (!err)
		*out = rec;
	return err;
}

void store_fp_free(struct store_fp *f)
{
	mem_free(f);
}

static const struct rec_field sub_fields[] = {
	{.off = offsetof(struct store_sub, id)},
	{.off = offsetof(struct store_sub, aor)},
	{.off = offsetof(struct store_sub, package)},
	{.off = offsetof(struct store_sub, call_id)},
	{.off = offsetof(struct store_sub, local_tag)},
	{.off = offsetof(struct store_sub, remote_tag)},
	{.off = offsetof(struct store_sub, local_uri)},
	{.off = offsetof(struct store_sub, remote_uri)},
	{.off = offsetof(struct store_sub, remote_target)},
	{.off = offsetof(struct store_sub, route_set)},
	{.off = offsetof(struct store_sub, flow)},
	{.off = offsetof(struct store_sub, state)},
};

int store_sub_dup(struct store_sub **out, const struct store_sub *s)
{
	void *rec;
	int err;

	if (!out || !s)
		return -EINVAL;
	err = rec_dup(&rec, s, sizeof(*s), sub_fields, ARRAY_SIZE(sub_fields));
	if (!err)
		*out = rec;
	return err;
}

void store_sub_free(struct store_sub *s)
{
	mem_free(s);
}

int store_vec_push(struct store_vec *vec, void *rec)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 8;
		void **v;

		if (cap > SIZE_MAX / sizeof(*v))
			return -ENOMEM;
		v = mem_realloc(vec->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->n++] = rec;
	return 0;
}

void store_vec_fini(struct store_vec *vec)
{
	store_list_free(vec->v, vec->n);
	vec->v = NULL;
	vec->n = vec->cap = 0;
}

void store_list_free(void *v, size_t n)
{
	void **recs = v;

	if (!recs)
		return;
	for (size_t i = 0; i < n; i++)
		mem_free(recs[i]);
	mem_free(recs);
}
