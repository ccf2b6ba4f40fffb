/* SPDX-License-Identifier: BSD-3-Clause */
/* store: what a backend implements (private to src/store/). store.c checks
 * every argument, then calls the backend through struct store_ops. */
#ifndef SIPCERT_STORE_BACKEND_H
#define SIPCERT_STORE_BACKEND_H

#include "base/base.h"
#include "store/store.h"

/* A growing array of records (each one allocation) that becomes a list. */
struct store_vec {
	void **v;
	size_t n;
	size_t cap;
};

/* On failure the caller still owns rec. */
int store_vec_push(struct store_vec *vec, void *rec);
/* Free every record and the array. */
void store_vec_fini(struct store_vec *vec);

/* The operations of one backend. Arguments are already checked: strings
 * are non-NULL where store.h requires them and within the limits. A list
 * operation appends to an empty vec; on failure store.c frees it. */
struct store_ops {
	const char *name;
	void (*close)(struct store *st);

	int (*user_add)(struct store *st, const struct store_user *u);
	int (*user_set_ha1)(struct store *st, const struct store_user *u);
	int (*user_get)(struct store *st, const char *aor,
			struct store_user **out);
	int (*user_del)(struct store *st, const char *aor);
	int (*user_list)(struct store *st, struct store_vec *out);

	int (*binding_put)(struct store *st, const struct store_binding *b);
	int (*binding_del)(struct store *st, const char *aor,
			   const char *contact);
	int (*binding_del_aor)(struct store *st, const char *aor);
	int (*binding_list)(struct store *st, const char *aor, int64_t now,
			    struct store_vec *out);
	int (*binding_purge)(struct store *st, int64_t now, size_t *n);

	int (*cred_put)(struct store *st, const struct store_cred *c);
	int (*cred_refresh)(struct store *st, const char *aor, const char *etag,
			    const char *new_etag, int64_t expires_at);
	int (*cred_newest)(struct store *st, const char *aor, int64_t now,
			   struct store_cred **out);
	int (*cred_get_etag)(struct store *st, const char *aor,
			     const char *etag, int64_t now,
			     struct store_cred **out);
	int (*cred_list)(struct store *st, const char *aor, int64_t now,
			 struct store_vec *out);
	int (*cred_revoke_etag)(struct store *st, const char *aor,
				const char *etag, int64_t now);
	int (*cred_revoke_fp)(struct store *st, const char *aor,
			      const char *sha256, int64_t now);
	int (*cred_revoke_aor)(struct store *st, const char *aor, int64_t now,
			       size_t *n);
	int (*cred_purge)(struct store *st, int64_t now, size_t *n);
	int (*fp_list)(struct store *st, const char *aor,
		       struct store_vec *out);

	int (*sub_put)(struct store *st, const struct store_sub *s);
	int (*sub_get)(struct store *st, const char *id,
		       struct store_sub **out);
	int (*sub_del)(struct store *st, const char *id);
	int (*sub_apply)(struct store *st, const struct store_sub *const *puts,
			 size_t n_puts, const char *const *dels, size_t n_dels,
			 size_t *n_skipped);
	int (*sub_list)(struct store *st, const struct store_sub_filter *f,
			struct store_vec *out);
	int (*sub_purge)(struct store *st, int64_t now, size_t *n);
};

enum { STORE_ERR_BYTES = 256 };

/* The head of every backend's handle. */
struct store {
	const struct store_ops *ops;
	char err[STORE_ERR_BYTES];
};

/* Record what went wrong on st (store_last_error()). */
void store_err_set(struct store *st, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Record why store_open() failed on this thread. */
void store_open_err_set(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Backends: path is what followed the scheme of the url. */
int store_sqlite_open(struct store **out, const char *path);

#endif
