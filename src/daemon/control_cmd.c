/* SPDX-License-Identifier: BSD-3-Clause */
/* The admin commands of the control socket: store calls on a worker
 * thread, the RFC 7616 §3.4.2 HA1 values of admin passwords, credential
 * revocation (RFC 6072 §7.7, §7.9), and the reads from memory. */
#include "daemon/control_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <jansson.h>
#include <openssl/crypto.h>

struct control_stats {
	json_t *obj;
};

int control_stats_put(struct control_stats *s, const char *name, uint64_t value)
{
	json_int_t v = value > INT64_MAX ? INT64_MAX : (json_int_t)value;

	if (!s || !name || !*name)
		return -EINVAL;
	if (json_object_set_new(s->obj, name, json_integer(v)))
		return -ENOMEM;
	return 0;
}

/* ---- requests ------------------------------------------------------- */

/* RFC 7616 §3.4.2: HA1 = H(username ":" realm ":" passwd). The username
 * is the AOR's user part and the realm its domain: what auth.c expects
 * (daemon.h) and what a user agent sends for sip:user@domain. */
static int job_hash(struct conn *cn, const json_t *req, struct job *j)
{
	const char *aor = j->aor + 4; /* after "sip:" */
	const char *at = strrchr(aor, '@');
	struct slice user, realm, pw;
	const char *p;
	size_t len;
	int err;

	p = ctl_req_str(req, "password", &len);
	if (!p) {
		ctl_conn_fail(cn, "bad_request",
			      "\"password\" (a string) is missing");
		return -EINVAL;
	}
	if (!len || memchr(p, '\0', len)) {
		ctl_conn_fail(cn, "bad_password", "%s",
			      len ? "NUL in the password" : "empty password");
		return -EINVAL;
	}
	/* the user part in the normal form's canonical escaping: auth.c
	 * maps a digest username to the same AOR; the host has no '@' */
	user = slice_of(aor, (size_t)(at - aor));
	realm = slice_cstr(at + 1);
	pw = slice_of(p, len);
	err = sip_digest_ha1(SIP_DIGEST_MD5, user, realm, pw, j->ha1_md5);
	if (!err)
		err = sip_digest_ha1(SIP_DIGEST_SHA256, user, realm, pw,
				     j->ha1_sha256);
	if (err)
		ctl_conn_fail(cn, "internal", "cannot hash the password: %s",
			      strerror(-err));
	return err;
}

/* Passwords leave no copy behind in what jansson parsed. */
static void req_wipe(json_t *req)
{
	json_t *v = json_object_get(req, "password");

	if (json_is_string(v))
		OPENSSL_cleanse((void *)(uintptr_t)json_string_value(v),
				json_string_length(v));
}

/* ---- store writes --------------------------------------------------- */

static void job_free(struct job *j)
{
	if (!j)
		return;
	OPENSSL_cleanse(j->ha1_md5, sizeof(j->ha1_md5));
	OPENSSL_cleanse(j->ha1_sha256, sizeof(j->ha1_sha256));
	store_list_free(j->creds, j->n_creds);
	mem_free(j->aor);
	mem_free(j);
}

/* Worker thread. RFC 6072 §7.9: revoking one certificate removes every
 * current credential holding it; count those first, since the store
 * reports only whether anything (history included) matched. */
static int cred_revoke_run(struct store *st, struct job *j)
{
	struct store_cred **v = NULL;
	size_t n = 0;
	int err;

	if (!j->sha256[0])
		return store_cred_revoke_aor(st, j->aor, j->now, &j->n_revoked);
	err = store_cred_list(st, j->aor, j->now, &v, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i]->sha256, j->sha256))
			j->n_revoked++;
	store_list_free(v, n);
	return store_cred_revoke_fp(st, j->aor, j->sha256, j->now);
}

/* Worker thread: the only code that touches c->store. */
static void job_run(void *arg)
{
	struct job *j = arg;
	struct store *st = j->ctl->store;
	int64_t now = (int64_t)time(NULL);
	const struct store_user u = {
		.aor = j->aor,
		.ha1_md5 = j->ha1_md5,
		.ha1_sha256 = j->ha1_sha256,
		.created_at = now,
		.updated_at = now,
	};

	switch (j->op) {
	case JOB_USER_ADD:
		j->result = store_user_add(st, &u);
		break;
	case JOB_USER_PASSWD:
		j->result = store_user_set_ha1(st, &u);
		break;
	case JOB_USER_DEL:
		j->result = store_user_del(st, j->aor);
		break;
	case JOB_CRED_LIST:
		j->now = now;
		j->result = store_cred_list(st, j->aor, now, &j->creds,
					    &j->n_creds);
		break;
	case JOB_CRED_REVOKE:
		j->now = now;
		j->result = cred_revoke_run(st, j);
		break;
	}
	if (j->result)
		snprintf(j->why, sizeof(j->why), "%s", store_last_error(st));
}

static const char *const job_names[] = {
	[JOB_USER_ADD] = "user.add",	   [JOB_USER_PASSWD] = "user.passwd",
	[JOB_USER_DEL] = "user.del",	   [JOB_CRED_LIST] = "cred.list",
	[JOB_CRED_REVOKE] = "cred.revoke",
};

/* One row of a cred.list answer; NULL on ENOMEM. */
static json_t *cred_row(const struct store_cred *cr, int64_t now)
{
	int64_t left = cr->expires_at > now ? cr->expires_at - now : 0;

	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:b}", "device",
			 cr->device ? cr->device : "", "sha256",
			 cr->sha256 ? cr->sha256 : "", "not_before",
			 (json_int_t)cr->not_before, "not_after",
			 (json_int_t)cr->not_after, "published_at",
			 (json_int_t)cr->published_at, "expires",
			 (json_int_t)left, "etag", cr->etag ? cr->etag : "",
			 "has_key",
			 cr->sealed_pkcs8 && cr->sealed_pkcs8_len ? 1 : 0);
}

/* The answer to cred.list; NULL on ENOMEM. */
static json_t *cred_list_answer(const struct job *j)
{
	json_t *o = ctl_ok_new(), *arr = json_array();
	int err = 0;

	if (!o || !arr || json_object_set(o, "credentials", arr))
		err = -ENOMEM;
	for (size_t i = 0; !err && i < j->n_creds; i++)
		if (json_array_append_new(arr, cred_row(j->creds[i], j->now)))
			err = -ENOMEM;
	if (!err && json_object_set_new(o, "count",
					json_integer((json_int_t)j->n_creds)))
		err = -ENOMEM;
	json_decref(arr);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* job_apply() of the credential commands: nothing in memory follows the
 * store, the credential service learns of a revocation through the hook
 * and re-reads the store. */
static json_t *cred_apply(struct job *j, const char **code, char *msg,
			  size_t msg_size)
{
	struct control *c = j->ctl;
	const char *what = j->sha256[0] ? j->sha256 : "all";
	json_t *o;
	int err = j->result;

	if (err == -ENOENT) {
		*code = "not_found";
		if (j->sha256[0])
			snprintf(msg, msg_size,
				 "%s has no certificate with "
				 "fingerprint %s",
				 j->aor, j->sha256);
		else
			snprintf(msg, msg_size, "%s is not a user", j->aor);
		return NULL;
	}
	if (err) {
		*code = err == -ENOMEM ? "internal" : "store";
		snprintf(msg, msg_size, "%s: %s", strerror(-err),
			 j->why[0] ? j->why : "database error");
		log_msg(LOG_LEVEL_ERR, CONTROL_LOG, "%s %s (uid %u): %s",
			job_names[j->op], j->aor, (unsigned)j->uid, msg);
		return NULL;
	}
	if (j->op == JOB_CRED_LIST)
		o = cred_list_answer(j);
	else
		o = json_pack("{s:b, s:I}", "ok", 1, "revoked",
			      (json_int_t)j->n_revoked);
	if (j->op == JOB_CRED_REVOKE) {
		log_msg(LOG_LEVEL_NOTICE, CONTROL_LOG,
			"cred.revoke %s %s (uid %u): %zu current "
			"credential(s) revoked",
			j->aor, what, (unsigned)j->uid, j->n_revoked);
		/* §7.9: watchers learn the AOR's certificate changed; an
		 * answer we failed to build does not undo the revocation */
		if (j->n_revoked && c->on_creds_changed)
			c->on_creds_changed(c->creds_changed_arg, j->aor);
	}
	if (!o) {
		*code = "internal";
		snprintf(msg, msg_size, "out of memory");
	}
	return o;
}

/* Loop thread, after the store answered: the table follows the store
 * (daemon.h: store first, then the table), then the hook. Returns the
 * answer, or NULL for an error already described in *code / msg. */
static json_t *job_apply(struct job *j, const char **code, char *msg,
			 size_t msg_size)
{
	struct control *c = j->ctl;
	int err = j->result;

	if (j->op == JOB_CRED_LIST || j->op == JOB_CRED_REVOKE)
		return cred_apply(j, code, msg, msg_size);
	if (err == -EEXIST) {
		*code = "exists";
		snprintf(msg, msg_size, "%s is a user already", j->aor);
		return NULL;
	}
	if (err == -ENOENT) {
		if (j->op == JOB_USER_DEL)
			(void)userdb_del(c->users, j->aor);
		*code = "not_found";
		snprintf(msg, msg_size, "%s is not a user", j->aor);
		return NULL;
	}
	if (err) {
		*code = err == -ENOMEM ? "internal" : "store";
		snprintf(msg, msg_size, "%s: %s", strerror(-err),
			 j->why[0] ? j->why : "database error");
		log_msg(LOG_LEVEL_ERR, CONTROL_LOG, "%s %s (uid %u): %s",
			job_names[j->op], j->aor, (unsigned)j->uid, msg);
		return NULL;
	}
	if (j->op == JOB_USER_DEL) {
		(void)userdb_del(c->users, j->aor);
	} else {
		err = userdb_put(c->users, j->aor, j->ha1_md5, j->ha1_sha256);
		if (err) {
			/* the store has it: a reload (SIGHUP) catches up */
			*code = "internal";
			snprintf(msg, msg_size,
				 "stored, but the user table "
				 "was not updated (%s): reload sipcertd",
				 strerror(-err));
			log_msg(LOG_LEVEL_ERR, CONTROL_LOG,
				"%s %s (uid %u): "
				"%s",
				job_names[j->op], j->aor, (unsigned)j->uid,
				msg);
			return NULL;
		}
	}
	log_msg(LOG_LEVEL_NOTICE, CONTROL_LOG, "%s %s (uid %u)",
		job_names[j->op], j->aor, (unsigned)j->uid);
	if (j->op != JOB_USER_ADD && c->on_user_changed)
		c->on_user_changed(c->user_changed_arg, j->aor);
	return json_pack("{s:b, s:s}", "ok", 1, "aor", j->aor);
}

static void job_done(void *arg, bool is_cancelled)
{
	struct job *j = arg;
	struct conn *cn = j->conn;
	const char *code = NULL;
	char msg[384];
	json_t *answer = NULL;

	if (!is_cancelled)
		answer = job_apply(j, &code, msg, sizeof(msg));
	if (cn)
		cn->job = NULL;
	if (cn && !cn->ctl->is_stopping) {
		if (is_cancelled)
			ctl_conn_fail(cn, "internal", "sipcertd is stopping");
		else if (code)
			ctl_conn_fail(cn, code, "%s", msg);
		else
			ctl_conn_send(cn, answer ? answer : ctl_ok_new());
		answer = NULL;
	}
	json_decref(answer);
	job_free(j);
	if (cn && !cn->ctl->is_stopping) {
		if (!cn->is_eof)
			bufferevent_enable(cn->bev, EV_READ);
		ctl_conn_process(cn); /* lines that waited; may free cn */
	}
}

/* A job for the request's "aor", normalised; NULL once answered. */
static struct job *job_new(struct conn *cn, const json_t *req, enum job_op op)
{
	struct job *j;
	struct buf aor;

	buf_init(&aor, CONTROL_AOR_MAX_BYTES + 1);
	if (ctl_req_aor(cn, req, &aor)) {
		buf_fini(&aor);
		return NULL;
	}
	j = mem_zalloc(sizeof(*j));
	if (j) {
		j->ctl = cn->ctl;
		j->op = op;
		j->uid = cn->uid;
		j->aor = buf_steal(&aor, NULL);
	}
	buf_fini(&aor);
	if (!j || !j->aor) {
		job_free(j);
		ctl_conn_fail(cn, "internal", "out of memory");
		return NULL;
	}
	return j;
}

/* Queue j for the worker and pause the connection until it is done;
 * j is freed (and the client answered) on failure. */
static void job_submit(struct conn *cn, struct job *j)
{
	int err;

	j->conn = cn;
	err = loop_pool_submit(cn->ctl->pool, job_run, job_done, j);
	if (err) {
		ctl_conn_fail(cn, "internal", "cannot queue the request: %s",
			      strerror(-err));
		job_free(j);
		return;
	}
	cn->job = j;
	/* one request at a time per connection: answers stay in order */
	bufferevent_disable(cn->bev, EV_READ);
}

static void user_write(struct conn *cn, const json_t *req, enum job_op op)
{
	struct job *j = job_new(cn, req, op);

	if (!j)
		return;
	if (op != JOB_USER_DEL && job_hash(cn, req, j)) {
		job_free(j);
		return;
	}
	job_submit(cn, j);
}

static void cmd_user_add(struct conn *cn, const json_t *req)
{
	user_write(cn, req, JOB_USER_ADD);
}

static void cmd_user_passwd(struct conn *cn, const json_t *req)
{
	user_write(cn, req, JOB_USER_PASSWD);
}

static void cmd_user_del(struct conn *cn, const json_t *req)
{
	user_write(cn, req, JOB_USER_DEL);
}

/* The "sha256" member of cred.revoke into j->sha256: absent means every
 * credential; anything but 64 lower-case hex digits is refused, null
 * included, so that a fingerprint a script failed to fill in never
 * turns into revoking them all. */
static int req_sha256(struct conn *cn, const json_t *req, struct job *j)
{
	const json_t *v = json_object_get(req, "sha256");
	const char *p;
	size_t len, i;

	if (!v)
		return 0;
	p = json_string_value(v);
	len = p ? json_string_length(v) : 0;
	for (i = 0; p && i < len; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		      (p[i] >= 'a' && p[i] <= 'f')))
			break;
	if (!p || len != sizeof(j->sha256) - 1 || i != len) {
		ctl_conn_fail(cn, "bad_request",
			      "\"sha256\" must be the certificate's SHA-256 "
			      "fingerprint, 64 lower-case hex digits (leave it "
			      "out to revoke every credential)");
		return -EINVAL;
	}
	memcpy(j->sha256, p, len + 1);
	return 0;
}

/* The credential commands read and write only the store (the credential
 * service keeps no copy), through the worker like the user writes. */
static void cred_job(struct conn *cn, const json_t *req, enum job_op op)
{
	struct job *j = job_new(cn, req, op);

	if (!j)
		return;
	if (op == JOB_CRED_REVOKE && req_sha256(cn, req, j)) {
		job_free(j);
		return;
	}
	if (!userdb_find(cn->ctl->users, slice_cstr(j->aor))) {
		ctl_conn_fail(cn, "not_found", "%s is not a user", j->aor);
		job_free(j);
		return;
	}
	job_submit(cn, j);
}

static void cmd_cred_list(struct conn *cn, const json_t *req)
{
	cred_job(cn, req, JOB_CRED_LIST);
}

/* RFC 6072 §7.9: an administrator revokes a device's credential (a lost
 * or compromised device); the hook then tells the credential service. */
static void cmd_cred_revoke(struct conn *cn, const json_t *req)
{
	cred_job(cn, req, JOB_CRED_REVOKE);
}

/* ---- reads from memory ---------------------------------------------- */

struct strv {
	const char **v;
	size_t n, cap;
};

static int strv_add(void *arg, const struct userdb_user *u)
{
	struct strv *s = arg;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		const char **v = mem_realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = u->aor;
	return 0;
}

static int str_order(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void cmd_user_list(struct conn *cn, const json_t *req)
{
	struct strv s = {0};
	json_t *o = NULL, *aors;
	int err;

	(void)req;
	err = userdb_each(cn->ctl->users, strv_add, &s);
	if (!err) {
		if (s.n > 1)
			qsort(s.v, s.n, sizeof(*s.v), str_order);
		o = ctl_ok_new();
		aors = json_array();
		if (!o || !aors || json_object_set_new(o, "aors", aors))
			err = -ENOMEM;
		for (size_t i = 0; !err && i < s.n; i++)
			if (json_array_append_new(aors, json_string(s.v[i])))
				err = -ENOMEM;
		if (!err && json_object_set_new(o, "count",
						json_integer((json_int_t)s.n)))
			err = -ENOMEM;
	}
	mem_free(s.v);
	if (err) {
		json_decref(o);
		ctl_conn_fail(cn, "internal", "out of memory");
		return;
	}
	ctl_conn_send(cn, o);
}

struct rows {
	json_t **v;
	size_t n, cap;
	uint64_t now_ms;
};

static int rows_add(void *arg, const char *aor, const struct binding *b,
		    size_t n)
{
	struct rows *r = arg;

	for (size_t i = 0; i < n; i++) {
		char src[64] = "";
		uint64_t left_ms;
		json_t *row;

		if (b[i].expires_at_ms <= r->now_ms)
			continue; /* expired, not purged yet */
		left_ms = b[i].expires_at_ms - r->now_ms;
		if (b[i].src.peer.len)
			net_addr_print(&b[i].src.peer, src, sizeof(src));
		if (r->n == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 32;
			json_t **v = mem_realloc(r->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			r->v = v;
			r->cap = cap;
		}
		row = json_pack("{s:s, s:s, s:I, s:i, s:s, s:s}", "aor", aor,
				"contact", b[i].contact ? b[i].contact : "",
				"expires", (json_int_t)((left_ms + 999) / 1000),
				"q", (int)b[i].q, "proto",
				net_proto_name(b[i].src.proto), "source", src);
		if (!row)
			return -ENOMEM;
		r->v[r->n++] = row;
	}
	return 0;
}

static int row_order(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(ctl_req_str(x, "aor", NULL),
		       ctl_req_str(y, "aor", NULL));

	return c ? c
		 : strcmp(ctl_req_str(x, "contact", NULL),
			  ctl_req_str(y, "contact", NULL));
}

static void cmd_bindings_list(struct conn *cn, const json_t *req)
{
	struct control *c = cn->ctl;
	struct rows r = {.now_ms = loop_now_ms()};
	json_t *o = NULL, *arr;
	struct buf aor;
	const char *one = NULL;
	int err = 0;

	buf_init(&aor, CONTROL_AOR_MAX_BYTES + 1);
	if (json_object_get(req, "aor") &&
	    !json_is_null(json_object_get(req, "aor"))) {
		if (ctl_req_aor(cn, req, &aor))
			goto out;
		(void)buf_cstr(&aor, &one);
		if (!userdb_find(c->users, buf_slice(&aor))) {
			ctl_conn_fail(cn, "not_found", "%s is not a user", one);
			goto out;
		}
	}
	if (c->registrar && one) {
		size_t n;
		const struct binding *b =
			registrar_lookup(c->registrar, one, &n);

		err = rows_add(&r, one, b, b ? n : 0);
	} else if (c->registrar) {
		err = registrar_each(c->registrar, rows_add, &r);
	}
	if (!err) {
		if (r.n > 1)
			qsort(r.v, r.n, sizeof(*r.v), row_order);
		o = ctl_ok_new();
		arr = json_array();
		if (!o || !arr || json_object_set_new(o, "bindings", arr))
			err = -ENOMEM;
		for (size_t i = 0; !err && i < r.n; i++) {
			if (json_array_append(arr, r.v[i]))
				err = -ENOMEM;
		}
		if (!err && json_object_set_new(o, "count",
						json_integer((json_int_t)r.n)))
			err = -ENOMEM;
	}
	if (err) {
		json_decref(o);
		ctl_conn_fail(cn, "internal", "out of memory");
	} else {
		ctl_conn_send(cn, o);
	}
out:
	for (size_t i = 0; i < r.n; i++)
		json_decref(r.v[i]);
	mem_free(r.v);
	buf_fini(&aor);
}

static void cmd_stats(struct conn *cn, const json_t *req)
{
	struct control *c = cn->ctl;
	struct control_stats s = {.obj = json_object()};
	json_t *o = ctl_ok_new();
	int err = 0;

	(void)req;
	if (!s.obj || !o)
		err = -ENOMEM;
	if (!err)
		err = control_stats_put(&s, "users", userdb_count(c->users));
	if (!err)
		err = control_stats_put(
			&s, "bindings",
			c->registrar ? registrar_count(c->registrar) : 0);
	if (!err && c->on_stats)
		c->on_stats(c->stats_arg, &s);
	if (!err && json_object_set(o, "stats", s.obj))
		err = -ENOMEM;
	json_decref(s.obj);
	if (err) {
		json_decref(o);
		ctl_conn_fail(cn, "internal", "out of memory");
		return;
	}
	ctl_conn_send(cn, o);
}

static const struct command {
	const char *name;
	void (*run)(struct conn *cn, const json_t *req);
} commands[] = {
	{"user.add", cmd_user_add},	      {"user.passwd", cmd_user_passwd},
	{"user.del", cmd_user_del},	      {"user.list", cmd_user_list},
	{"bindings.list", cmd_bindings_list}, {"stats", cmd_stats},
	{"cred.list", cmd_cred_list},	      {"cred.revoke", cmd_cred_revoke},
};

void ctl_conn_handle(struct conn *cn, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req;
	const char *cmd;
	size_t cmd_len;

	/* any value, so that a non-object is named as such; \u0000 is
	 * parsed, then refused where a string may not hold it */
	req = json_loadb(line, len,
			 JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
				 JSON_ALLOW_NUL,
			 &jerr);
	if (!req) {
		/* jansson quotes the text near the error, which may be
		 * part of a password: keep only what is wrong and where */
		const char *near = strstr(jerr.text, " near ");
		size_t n =
			near ? (size_t)(near - jerr.text) : strlen(jerr.text);

		ctl_conn_fail(cn, "bad_json", "column %d: %.*s", jerr.column,
			      (int)n, jerr.text);
		return;
	}
	cmd = ctl_req_str(req, "cmd", &cmd_len);
	if (!json_is_object(req) || !cmd || strlen(cmd) != cmd_len) {
		ctl_conn_fail(cn, "bad_request",
			      "expected an object with a "
			      "\"cmd\" string");
	} else {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(commands); i++)
			if (!strcmp(cmd, commands[i].name))
				break;
		if (i < ARRAY_SIZE(commands))
			commands[i].run(cn, req);
		else
			ctl_conn_fail(cn, "unknown_command",
				      "unknown command "
				      "'%.40s'",
				      cmd);
	}
	req_wipe(req);
	json_decref(req);
}
