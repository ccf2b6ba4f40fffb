/* SPDX-License-Identifier: BSD-3-Clause */
/* store: opening a backend by URL, and the checks every call makes before
 * the backend sees its arguments, so each backend gets the same ones. */
#include "store/backend.h"

#include <stdio.h>
#include <string.h>

/* Why the last store_open() on this thread failed: there is no handle to
 * hang it on. */
static _Thread_local char open_err[STORE_ERR_BYTES];

void store_err_set(struct store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
}

void store_open_err_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(open_err, sizeof(open_err), fmt, ap);
	va_end(ap);
}

const char *store_last_error(const struct store *st)
{
	return st ? st->err : open_err;
}

const char *store_backend(const struct store *st)
{
	return st ? st->ops->name : "";
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

int store_open(struct store **out, const char *url)
{
	const char *path;

	open_err[0] = '\0';
	if (!out || !url) {
		store_open_err_set("store_open: no url");
		return -EINVAL;
	}
	if (has_prefix(url, "sqlite:")) {
		path = url + strlen("sqlite:");
		/* "sqlite:///p" is "sqlite:/p"; a host has no meaning here */
		if (has_prefix(path, "//")) {
			path += 2;
			if (*path != '/') {
				store_open_err_set("%s: sqlite: takes a path, "
						   "not a host",
						   url);
				return -EINVAL;
			}
		}
		if (!*path) {
			store_open_err_set("%s: no database file", url);
			return -EINVAL;
		}
		return store_sqlite_open(out, path);
	}
	if (has_prefix(url, "postgresql:") || has_prefix(url, "postgres:")) {
		store_open_err_set("%s: this build has no PostgreSQL backend",
				   url);
		return -EPROTONOSUPPORT;
	}
	store_open_err_set("%s: unknown store (use sqlite:/path/to/file.db)",
			   url);
	return -EPROTONOSUPPORT;
}

void store_close(struct store *st)
{
	if (st)
		st->ops->close(st);
}

/* ---- argument checks --------------------------------------------------- */

/* The checks of one call chain through err (like struct buf): the first
 * failure is kept and recorded on the handle for store_last_error(). */
struct check {
	struct store *st;
	const char *op;
	int err;
};

static struct check check_start(struct store *st, const char *op)
{
	st->err[0] = '\0';
	return (struct check){st, op, 0};
}

PRINTF_LIKE(3, 4)
static void check_fail(struct check *c, int err, const char *fmt, ...)
{
	char why[128];
	va_list ap;

	if (c->err)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	store_err_set(c->st, "%s: %s", c->op, why);
	c->err = err;
}

/* A required text is present and not empty; any text is within limits. */
static void check_text(struct check *c, const char *name, const char *s,
		       bool required)
{
	size_t n;

	if (c->err)
		return;
	if (!s) {
		if (required)
			check_fail(c, -EINVAL, "%s missing", name);
		return;
	}
	n = strnlen(s, (size_t)STORE_TEXT_MAX_BYTES + 1);
	if (n > STORE_TEXT_MAX_BYTES)
		check_fail(c, -EMSGSIZE, "%s longer than %d bytes", name,
			   STORE_TEXT_MAX_BYTES);
	else if (!n && required)
		check_fail(c, -EINVAL, "%s empty", name);
}

/* Lower-case hex of exactly digits digits, so one value has one text. */
static void check_hex(struct check *c, const char *name, const char *s,
		      size_t digits, bool required)
{
	size_t i;

	if (c->err)
		return;
	if (!s) {
		if (required)
			check_fail(c, -EINVAL, "%s missing", name);
		return;
	}
	for (i = 0; i < digits; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			break;
	if (i != digits || s[i])
		check_fail(c, -EINVAL, "%s is not %zu lower-case hex digits",
			   name, digits);
}

/* A blob is NULL with length 0, or present and not empty. */
static void check_blob(struct check *c, const char *name, const void *p,
		       size_t n, bool required)
{
	if (c->err)
		return;
	if (!p && !n && !required)
		return;
	if (!p || !n)
		check_fail(c, -EINVAL, "%s missing or empty", name);
	else if (n > STORE_BLOB_MAX_BYTES)
		check_fail(c, -EMSGSIZE, "%s longer than %d bytes", name,
			   STORE_BLOB_MAX_BYTES);
}

static void check_ptr(struct check *c, const char *name, const void *p)
{
	if (!p)
		check_fail(c, -EINVAL, "%s missing", name);
}

/* Turn what a list operation gathered into (array, count). */
static int list_finish(int err, struct store_vec *vec, void ***out, size_t *n)
{
	if (err) {
		store_vec_fini(vec);
		return err;
	}
	*out = vec->v;
	*n = vec->n;
	return 0;
}

/* ---- users ------------------------------------------------------------ */

static int user_check(struct check *c, const struct store_user *u)
{
	check_ptr(c, "user", u);
	if (c->err)
		return c->err;
	check_text(c, "aor", u->aor, true);
	/* RFC 7616 §3.4.2: HA1 is the hex of one digest output */
	check_hex(c, "ha1_md5", u->ha1_md5, 32, false);
	check_hex(c, "ha1_sha256", u->ha1_sha256, 64, false);
	return c->err;
}

int store_user_add(struct store *st, const struct store_user *u)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_user_add");
	if (user_check(&c, u))
		return c.err;
	return st->ops->user_add(st, u);
}

int store_user_set_ha1(struct store *st, const struct store_user *u)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_user_set_ha1");
	if (user_check(&c, u))
		return c.err;
	return st->ops->user_set_ha1(st, u);
}

int store_user_get(struct store *st, const char *aor, struct store_user **out)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_user_get");
	check_text(&c, "aor", aor, true);
	check_ptr(&c, "out", out);
	if (c.err)
		return c.err;
	return st->ops->user_get(st, aor, out);
}

int store_user_del(struct store *st, const char *aor)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_user_del");
	check_text(&c, "aor", aor, true);
	if (c.err)
		return c.err;
	return st->ops->user_del(st, aor);
}

int store_user_list(struct store *st, struct store_user ***out, size_t *n)
{
	struct store_vec vec = {0};
	void **v;
	int err;

	if (!st || !out || !n)
		return -EINVAL;
	(void)check_start(st, "store_user_list");
	err = list_finish(st->ops->user_list(st, &vec), &vec, &v, n);
	if (!err)
		*out = (struct store_user **)v;
	return err;
}

/* ---- bindings ---------------------------------------------------------- */

int store_binding_put(struct store *st, const struct store_binding *b)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_binding_put");
	check_ptr(&c, "binding", b);
	if (c.err)
		return c.err;
	check_text(&c, "aor", b->aor, true);
	check_text(&c, "contact", b->contact, true);
	check_text(&c, "call_id", b->call_id, true);
	check_text(&c, "path", b->path, false);
	check_text(&c, "flow", b->flow, false);
	check_text(&c, "instance_id", b->instance_id, false);
	/* RFC 3261 §20.10: qvalue is 0 to 1 with up to three decimals */
	if (b->q_permille > 1000)
		check_fail(&c, -EINVAL, "q %u/1000 above 1", b->q_permille);
	/* §8.1.1.5: CSeq is below 2^31 */
	if (b->cseq > INT32_MAX)
		check_fail(&c, -EINVAL, "cseq %u too large", b->cseq);
	if (c.err)
		return c.err;
	return st->ops->binding_put(st, b);
}

int store_binding_del(struct store *st, const char *aor, const char *contact)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_binding_del");
	check_text(&c, "aor", aor, true);
	check_text(&c, "contact", contact, true);
	if (c.err)
		return c.err;
	return st->ops->binding_del(st, aor, contact);
}

int store_binding_del_aor(struct store *st, const char *aor)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_binding_del_aor");
	check_text(&c, "aor", aor, true);
	if (c.err)
		return c.err;
	return st->ops->binding_del_aor(st, aor);
}

int store_binding_list(struct store *st, const char *aor, int64_t now,
		       struct store_binding ***out, size_t *n)
{
	struct store_vec vec = {0};
	struct check c;
	void **v;
	int err;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_binding_list");
	check_text(&c, "aor", aor, true);
	check_ptr(&c, "out", out);
	check_ptr(&c, "n", n);
	if (c.err)
		return c.err;
	err = list_finish(st->ops->binding_list(st, aor, now, &vec), &vec, &v,
			  n);
	if (!err)
		*out = (struct store_binding **)v;
	return err;
}

int store_binding_purge(struct store *st, int64_t now, size_t *n_removed)
{
	size_t n = 0;
	int err;

	if (!st)
		return -EINVAL;
	(void)check_start(st, "store_binding_purge");
	err = st->ops->binding_purge(st, now, &n);
	if (!err && n_removed)
		*n_removed = n;
	return err;
}

/* ---- credentials ------------------------------------------------------- */

int store_cred_put(struct store *st, const struct store_cred *cr)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_cred_put");
	check_ptr(&c, "credential", cr);
	if (c.err)
		return c.err;
	check_text(&c, "aor", cr->aor, true);
	check_text(&c, "device", cr->device, true);
	check_blob(&c, "cert_der", cr->cert_der, cr->cert_len, true);
	check_blob(&c, "sealed_pkcs8", cr->sealed_pkcs8, cr->sealed_pkcs8_len,
		   false);
	check_text(&c, "etag", cr->etag, true);
	check_hex(&c, "sha256", cr->sha256, 64, true);
	if (cr->not_after < cr->not_before)
		check_fail(&c, -EINVAL, "not_after before not_before");
	if (c.err)
		return c.err;
	return st->ops->cred_put(st, cr);
}

int store_cred_refresh(struct store *st, const char *aor, const char *etag,
		       const char *new_etag, int64_t expires_at)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_cred_refresh");
	check_text(&c, "aor", aor, true);
	check_text(&c, "etag", etag, true);
	check_text(&c, "new_etag", new_etag, true);
	if (c.err)
		return c.err;
	return st->ops->cred_refresh(st, aor, etag, new_etag, expires_at);
}

int store_cred_newest(struct store *st, const char *aor, int64_t now,
		      struct store_cred **out)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_cred_newest");
	check_text(&c, "aor", aor, true);
	check_ptr(&c, "out", out);
	if (c.err)
		return c.err;
	return st->ops->cred_newest(st, aor, now, out);
}

int store_cred_get_etag(struct store *st, const char *aor, const char *etag,
			int64_t now, struct store_cred **out)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_cred_get_etag");
	check_text(&c, "aor", aor, true);
	check_text(&c, "etag", etag, true);
	check_ptr(&c, "out", out);
	if (c.err)
		return c.err;
	return st->ops->cred_get_etag(st, aor, etag, now, out);
}

int store_cred_list(struct store *st, const char *aor, int64_t now,
		    struct store_cred ***out, size_t *n)
{
	struct store_vec vec = {0};
	struct check c;
	void **v;
	int err;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_cred_list");
	check_text(&c, "aor", aor, true);
	check_ptr(&c, "out", out);
	check_ptr(&c, "n", n);
	if (c.err)
		return c.err;
	err = list_finish(st->ops->cred_list(st, aor, now, &vec), &vec, &v, n);
	if (!err)
		*out = (struct store_cred **)v;
	return err;
}

int store_cred_revoke_etag(struct store *st, const char *aor, const char *etag,
			   int64_t now)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_cred_revoke_etag");
	check_text(&c, "aor", aor, true);
	check_text(&c, "etag", etag, true);
	if (c.err)
		return c.err;
	return st->ops->cred_revoke_etag(st, aor, etag, now);
}

int store_cred_revoke_fp(struct store *st, const char *aor, const char *sha256,
			 int64_t now)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_cred_revoke_fp");
	check_text(&c, "aor", aor, true);
	check_hex(&c, "sha256", sha256, 64, true);
	if (c.err)
		return c.err;
	return st->ops->cred_revoke_fp(st, aor, sha256, now);
}

int store_cred_revoke_aor(struct store *st, const char *aor, int64_t now,
			  size_t *n_revoked)
{
	struct check c;
	size_t n = 0;
	int err;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_cred_revoke_aor");
	check_text(&c, "aor", aor, true);
	if (c.err)
		return c.err;
	err = st->ops->cred_revoke_aor(st, aor, now, &n);
	if (!err && n_revoked)
		*n_revoked = n;
	return err;
}

int store_cred_purge(struct store *st, int64_t now, size_t *n_removed)
{
	size_t n = 0;
	int err;

	if (!st)
		return -EINVAL;
	(void)check_start(st, "store_cred_purge");
	err = st->ops->cred_purge(st, now, &n);
	if (!err && n_removed)
		*n_removed = n;
	return err;
}

int store_fp_list(struct store *st, const char *aor, struct store_fp ***out,
		  size_t *n)
{
	struct store_vec vec = {0};
	struct check c;
	void **v;
	int err;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_fp_list");
	check_text(&c, "aor", aor, true);
	check_ptr(&c, "out", out);
	check_ptr(&c, "n", n);
	if (c.err)
		return c.err;
	err = list_finish(st->ops->fp_list(st, aor, &vec), &vec, &v, n);
	if (!err)
		*out = (struct store_fp **)v;
	return err;
}

/* ---- subscriptions ----------------------------------------------------- */

static int sub_check(struct check *c, const struct store_sub *s)
{
	check_ptr(c, "subscription", s);
	if (c->err)
		return c->err;
	check_text(c, "id", s->id, true);
	check_text(c, "aor", s->aor, true);
	check_text(c, "package", s->package, true);
	/* RFC 3261 §12: a dialog is its Call-ID and both tags */
	check_text(c, "call_id", s->call_id, true);
	check_text(c, "local_tag", s->local_tag, true);
	check_text(c, "remote_tag", s->remote_tag, true);
	check_text(c, "local_uri", s->local_uri, true);
	check_text(c, "remote_uri", s->remote_uri, true);
	check_text(c, "remote_target", s->remote_target, true);
	check_text(c, "route_set", s->route_set, false);
	check_text(c, "flow", s->flow, false);
	check_text(c, "state", s->state, true);
	if (s->local_cseq > INT32_MAX || s->remote_cseq > INT32_MAX)
		check_fail(c, -EINVAL, "cseq too large");
	return c->err;
}

int store_sub_put(struct store *st, const struct store_sub *s)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_sub_put");
	if (sub_check(&c, s))
		return c.err;
	return st->ops->sub_put(st, s);
}

int store_sub_get(struct store *st, const char *id, struct store_sub **out)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_sub_get");
	check_text(&c, "id", id, true);
	check_ptr(&c, "out", out);
	if (c.err)
		return c.err;
	return st->ops->sub_get(st, id, out);
}

int store_sub_del(struct store *st, const char *id)
{
	struct check c;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_sub_del");
	check_text(&c, "id", id, true);
	if (c.err)
		return c.err;
	return st->ops->sub_del(st, id);
}

/* Every record of the batch is checked before the backend starts, so a
 * bad one fails the call with nothing written; the message names it. */
int store_sub_apply(struct store *st, const struct store_sub *const *puts,
		    size_t n_puts, const char *const *dels, size_t n_dels,
		    size_t *n_skipped)
{
	char op[64];
	struct check c;
	size_t n = 0;
	int err;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_sub_apply");
	if (n_puts)
		check_ptr(&c, "puts", puts);
	if (n_dels)
		check_ptr(&c, "dels", dels);
	for (size_t i = 0; i < n_puts && !c.err; i++) {
		snprintf(op, sizeof(op), "store_sub_apply: puts[%zu]", i);
		c.op = op;
		(void)sub_check(&c, puts[i]);
	}
	for (size_t i = 0; i < n_dels && !c.err; i++) {
		snprintf(op, sizeof(op), "store_sub_apply: dels[%zu]", i);
		c.op = op;
		check_text(&c, "id", dels[i], true);
	}
	if (c.err)
		return c.err;
	/* nothing to write: no transaction, no fsync */
	if (n_puts || n_dels)
		err = st->ops->sub_apply(st, puts, n_puts, dels, n_dels, &n);
	else
		err = 0;
	if (!err && n_skipped)
		*n_skipped = n;
	return err;
}

int store_sub_list(struct store *st, const struct store_sub_filter *f,
		   struct store_sub ***out, size_t *n)
{
	struct store_vec vec = {0};
	struct check c;
	void **v;
	int err;

	if (!st)
		return -EINVAL;
	c = check_start(st, "store_sub_list");
	check_ptr(&c, "filter", f);
	check_ptr(&c, "out", out);
	check_ptr(&c, "n", n);
	if (c.err)
		return c.err;
	check_text(&c, "aor", f->aor, false);
	check_text(&c, "package", f->package, false);
	if (c.err)
		return c.err;
	err = list_finish(st->ops->sub_list(st, f, &vec), &vec, &v, n);
	if (!err)
		*out = (struct store_sub **)v;
	return err;
}

int store_sub_purge(struct store *st, int64_t now, size_t *n_removed)
{
	size_t n = 0;
	int err;

	if (!st)
		return -EINVAL;
	(void)check_start(st, "store_sub_purge");
	err = st->ops->sub_purge(st, now, &n);
	if (!err && n_removed)
		*n_removed = n;
	return err;
}
