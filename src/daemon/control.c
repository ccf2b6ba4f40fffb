/* SPDX-License-Identifier: BSD-3-Clause */
/* The control socket of sipcertd: admin commands as JSON lines over a unix
 * socket, store calls on a worker thread, answers back on the loop; the
 * digest HA1 values of RFC 7616 §3.4.2 computed from admin passwords, and
 * credential revocation by an administrator (RFC 6072 §7.7, §7.9). */
#include "daemon/control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/crypto.h>

#define CONTROL_LOG "control"

enum {
	CONTROL_IDLE_TIMEOUT_MS = 30000,
	CONTROL_AOR_MAX_BYTES = 255, /* the user table's limit */
	CONTROL_BACKLOG = 16,
};

struct conn;

enum job_op {
	JOB_USER_ADD,
	JOB_USER_PASSWD,
	JOB_USER_DEL,
	JOB_CRED_LIST,
	JOB_CRED_REVOKE,
};

/* One admin store call (a write, or a read of what only the store has):
 * runs against the store on the worker thread, then reaches the user
 * table, the hooks and the client on the loop thread. */
struct job {
	struct control *ctl;
	struct conn *conn; /* NULL once the client went away */
	enum job_op op;
	uid_t uid; /* who asked, for the log */
	char *aor;
	char ha1_md5[SIP_DIGEST_HEX_MAX + 1];
	char ha1_sha256[SIP_DIGEST_HEX_MAX + 1];
	char sha256[65];	   /* cred.revoke of one certificate; "": all */
	int64_t now;		   /* when the worker ran, Unix seconds */
	struct store_cred **creds; /* cred.list: the worker's answer */
	size_t n_creds;
	size_t n_revoked; /* cred.revoke: current credentials removed */
	int result;	  /* of the store call, set by the worker */
	char why[256];	  /* store_last_error() of a failed call */
};

struct conn {
	struct control *ctl;
	struct bufferevent *bev;
	struct conn *prev, *next;
	struct job *job; /* write in flight: reading paused until it ends */
	uid_t uid;
	bool is_eof; /* the client sent all it will send */
	/* no more requests: close once the answer is out and no job runs */
	bool is_closing;
};

struct control {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *resume;	/* accept again after an accept() error */
	struct loop_pool *pool; /* one thread: the only user of store */
	struct store *store;
	struct userdb *users;
	struct registrar *registrar;
	char *domain;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t sock_dev; /* the socket file we made, to remove only it */
	ino_t sock_ino;
	struct timeval idle;
	control_stats_cb *on_stats;
	void *stats_arg;
	control_user_changed_cb *on_user_changed;
	void *user_changed_arg;
	control_creds_changed_cb *on_creds_changed;
	void *creds_changed_arg;
	struct conn *conns;
	size_t n_conns;
	bool is_stopping;
};

struct control_stats {
	json_t *obj;
};

bool control_peer_allowed(uid_t peer_uid, uid_t own_uid)
{
	return peer_uid == own_uid || peer_uid == 0;
}

int control_stats_put(struct control_stats *s, const char *name, uint64_t value)
{
	json_int_t v = value > INT64_MAX ? INT64_MAX : (json_int_t)value;

	if (!s || !name || !*name)
		return -EINVAL;
	if (json_object_set_new(s->obj, name, json_integer(v)))
		return -ENOMEM;
	return 0;
}

/* ---- answers -------------------------------------------------------- */

static void conn_free(struct conn *cn);

/* Close once everything queued is written and no write is in flight.
 * May free cn: callers return right after. */
static void conn_maybe_close(struct conn *cn)
{
	if (!cn->is_closing || cn->job)
		return;
	if (evbuffer_get_length(bufferevent_get_output(cn->bev)))
		return; /* conn_on_write comes back when it is out */
	conn_free(cn);
}

static int dump_to_buf(const char *p, size_t n, void *arg)
{
	return buf_append(arg, p, n) ? -1 : 0;
}

static void conn_send(struct conn *cn, json_t *obj)
{
	static const char oom[] = "{\"ok\":false,\"error\":\"internal\","
				  "\"message\":\"out of memory\"}\n";
	static const char big[] = "{\"ok\":false,\"error\":\"internal\","
				  "\"message\":\"the answer is too large\"}\n";
	struct buf text;

	/* JSON_COMPACT escapes every LF inside strings: one line */
	buf_init(&text, CONTROL_MAX_ANSWER_BYTES);
	if (!obj || json_dump_callback(obj, dump_to_buf, &text, JSON_COMPACT))
		text.err = text.err ? text.err : -ENOMEM;
	(void)buf_append_byte(&text, '\n');
	if (text.err == -ENOMEM)
		(void)bufferevent_write(cn->bev, oom, sizeof(oom) - 1);
	else if (text.err)
		(void)bufferevent_write(cn->bev, big, sizeof(big) - 1);
	else if (bufferevent_write(cn->bev, text.p, text.len))
		(void)bufferevent_write(cn->bev, oom, sizeof(oom) - 1);
	buf_fini(&text);
	json_decref(obj);
}

/* {"ok": true} to add members to; NULL on ENOMEM (conn_send copes). */
static json_t *ok_new(void)
{
	json_t *o = json_object();

	if (o && json_object_set_new(o, "ok", json_true())) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void conn_fail(struct conn *cn, const char *code, const char *fmt, ...)
	PRINTF_LIKE(3, 4);

static void conn_fail(struct conn *cn, const char *code, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", code, "message",
		      msg);
	conn_send(cn, o);
}

/* ---- requests ------------------------------------------------------- */

/* A string member of req, or NULL when absent or not a string. */
static const char *req_str(const json_t *req, const char *name, size_t *len)
{
	const json_t *v = json_object_get(req, name);

	if (!json_is_string(v))
		return NULL;
	if (len)
		*len = json_string_length(v);
	return json_string_value(v);
}

/* The normal form of an AOR an administrator typed: "sip:" is assumed
 * when no scheme is given. RFC 3261 §10.3 step 5 strips URI parameters
 * from a To URI; an admin-given AOR must simply not have any, nor a port
 * (the AOR names the user, not where to reach them). */
static int aor_normalize(struct conn *cn, const char *in, size_t len,
			 struct buf *out)
{
	const char *at = memchr(in, '@', len);
	const char *colon = memchr(in, ':', len);
	struct control *c = cn->ctl;
	int shown = len > 80 ? 80 : (int)len;
	struct sip_uri u;
	struct buf given;
	int err;

	buf_init(&given, CONTROL_MAX_LINE_BYTES + 8);
	if (!colon || (at && colon > at))
		(void)buf_append_cstr(&given, "sip:");
	err = buf_append(&given, in, len);
	if (err) {
		conn_fail(cn, "internal", "out of memory");
		goto out;
	}
	err = sip_uri_parse(buf_slice(&given), &u);
	if (err || u.scheme != SIP_URI_SIP || !u.user.p || !u.user.len ||
	    u.password.p || u.has_port || u.params.len || u.headers.len ||
	    u.host_type == SIP_HOST_NONE) {
		conn_fail(cn, "bad_aor",
			  "'%.*s' is not an AOR of the form "
			  "sip:user@domain",
			  shown, in);
		err = -EBADMSG;
		goto out;
	}
	err = sip_uri_print_aor(out, &u);
	if (err == -ENOMEM) {
		conn_fail(cn, "internal", "out of memory");
		goto out;
	}
	if (err || out->len > CONTROL_AOR_MAX_BYTES) {
		conn_fail(cn, "bad_aor", "the AOR is longer than %d bytes",
			  CONTROL_AOR_MAX_BYTES);
		err = -EMSGSIZE;
		goto out;
	}
	if (c->domain && !slice_caseeq_cstr(u.host, c->domain)) {
		conn_fail(cn, "foreign_domain", "%.*s is not in the domain %s",
			  SLICE_FMT(buf_slice(out)), c->domain);
		err = -EPERM;
	}
out:
	buf_fini(&given);
	return err;
}

/* The "aor" member, normalised into out (a NUL-terminated string). */
static int req_aor(struct conn *cn, const json_t *req, struct buf *out)
{
	const char *aor;
	size_t len;
	int err;

	aor = req_str(req, "aor", &len);
	if (!aor) {
		conn_fail(cn, "bad_request", "\"aor\" (a string) is missing");
		return -EINVAL;
	}
	err = aor_normalize(cn, aor, len, out);
	if (!err && buf_cstr(out, &aor)) {
		conn_fail(cn, "internal", "out of memory");
		err = -ENOMEM;
	}
	return err;
}

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

	p = req_str(req, "password", &len);
	if (!p) {
		conn_fail(cn, "bad_request",
			  "\"password\" (a string) is missing");
		return -EINVAL;
	}
	if (!len || memchr(p, '\0', len)) {
		conn_fail(cn, "bad_password", "%s",
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
		conn_fail(cn, "internal", "cannot hash the password: %s",
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
	json_t *o = ok_new(), *arr = json_array();
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

static void conn_process(struct conn *cn);

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
			conn_fail(cn, "internal", "sipcertd is stopping");
		else if (code)
			conn_fail(cn, code, "%s", msg);
		else
			conn_send(cn, answer ? answer : ok_new());
		answer = NULL;
	}
	json_decref(answer);
	job_free(j);
	if (cn && !cn->ctl->is_stopping) {
		if (!cn->is_eof)
			bufferevent_enable(cn->bev, EV_READ);
		conn_process(cn); /* lines that waited; may free cn */
	}
}

/* A job for the request's "aor", normalised; NULL once answered. */
static struct job *job_new(struct conn *cn, const json_t *req, enum job_op op)
{
	struct job *j;
	struct buf aor;

	buf_init(&aor, CONTROL_AOR_MAX_BYTES + 1);
	if (req_aor(cn, req, &aor)) {
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
		conn_fail(cn, "internal", "out of memory");
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
		conn_fail(cn, "internal", "cannot queue the request: %s",
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
		conn_fail(cn, "bad_request",
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
		conn_fail(cn, "not_found", "%s is not a user", j->aor);
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
		o = ok_new();
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
		conn_fail(cn, "internal", "out of memory");
		return;
	}
	conn_send(cn, o);
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
	int c = strcmp(req_str(x, "aor", NULL), req_str(y, "aor", NULL));

	return c ? c
		 : strcmp(req_str(x, "contact", NULL),
			  req_str(y, "contact", NULL));
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
		if (req_aor(cn, req, &aor))
			goto out;
		(void)buf_cstr(&aor, &one);
		if (!userdb_find(c->users, buf_slice(&aor))) {
			conn_fail(cn, "not_found", "%s is not a user", one);
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
		o = ok_new();
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
		conn_fail(cn, "internal", "out of memory");
	} else {
		conn_send(cn, o);
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
	json_t *o = ok_new();
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
		conn_fail(cn, "internal", "out of memory");
		return;
	}
	conn_send(cn, o);
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

static void conn_handle(struct conn *cn, const char *line, size_t len)
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

		conn_fail(cn, "bad_json", "column %d: %.*s", jerr.column,
			  (int)n, jerr.text);
		return;
	}
	cmd = req_str(req, "cmd", &cmd_len);
	if (!json_is_object(req) || !cmd || strlen(cmd) != cmd_len) {
		conn_fail(cn, "bad_request",
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
			conn_fail(cn, "unknown_command",
				  "unknown command "
				  "'%.40s'",
				  cmd);
	}
	req_wipe(req);
	json_decref(req);
}

/* ---- connections ---------------------------------------------------- */

/* Take the first n bytes of the input, wiping them in the evbuffer's own
 * memory as they go: a request line may hold a password. */
static void input_take(struct evbuffer *in, size_t n, struct buf *out)
{
	while (n) {
		struct evbuffer_iovec v;
		size_t k;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		k = v.iov_len < n ? v.iov_len : n;
		if (out)
			(void)buf_append(out, v.iov_base, k);
		OPENSSL_cleanse(v.iov_base, k);
		evbuffer_drain(in, k);
		n -= k;
	}
}

/* Answer every complete line, one at a time; stops while a write is in
 * flight and resumes from job_done(). May free cn. */
static void conn_process(struct conn *cn)
{
	struct evbuffer *in = bufferevent_get_input(cn->bev);

	while (!cn->job && !cn->is_closing) {
		struct evbuffer_ptr eol =
			evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		size_t avail = evbuffer_get_length(in), n;
		struct buf line;
		struct slice l;

		if (eol.pos >= 0 && (size_t)eol.pos <= CONTROL_MAX_LINE_BYTES)
			n = (size_t)eol.pos + 1;
		else if (eol.pos < 0 && avail <= CONTROL_MAX_LINE_BYTES &&
			 !cn->is_eof)
			break; /* wait for the rest of the line */
		else if (eol.pos < 0 && avail <= CONTROL_MAX_LINE_BYTES)
			n = avail; /* a last line without its LF */
		else
			n = 0;
		if (!n && avail) {
			input_take(in, avail, NULL);
			log_msg(LOG_LEVEL_WARNING, CONTROL_LOG,
				"request line "
				"over %d bytes: connection closed",
				CONTROL_MAX_LINE_BYTES);
			conn_fail(cn, "too_large",
				  "a request line is at most "
				  "%d bytes",
				  CONTROL_MAX_LINE_BYTES);
		}
		if (!n) {
			cn->is_closing = true;
			break;
		}
		buf_init(&line, CONTROL_MAX_LINE_BYTES + 1);
		line.is_secret = true;
		input_take(in, n, &line);
		l = slice_trim(buf_slice(&line));
		if (line.err)
			conn_fail(cn, "internal", "out of memory");
		else if (l.len) /* blank lines are ignored */
			conn_handle(cn, l.p, l.len);
		buf_fini(&line);
	}
	conn_maybe_close(cn);
}

static void conn_free(struct conn *cn)
{
	struct control *c = cn->ctl;
	struct evbuffer *in = bufferevent_get_input(cn->bev);

	if (cn->job)
		cn->job->conn = NULL; /* the write still completes */
	if (cn->prev)
		cn->prev->next = cn->next;
	else
		c->conns = cn->next;
	if (cn->next)
		cn->next->prev = cn->prev;
	c->n_conns--;
	/* a line cut short by the close may hold a password */
	input_take(in, evbuffer_get_length(in), NULL);
	bufferevent_free(cn->bev);
	mem_free(cn);
}

static void conn_on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_process(arg);
}

static void conn_on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_maybe_close(arg);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *cn = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		/* the client is done sending (it may still read): answer
		 * what it sent, then close */
		bufferevent_disable(bev, EV_READ);
		cn->is_eof = true;
		conn_process(cn);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		log_msg(LOG_LEVEL_INFO, CONTROL_LOG, "idle connection closed");
	conn_free(cn);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int socklen, void *arg)
{
	struct control *c = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct conn *cn;

	(void)l;
	(void)sa;
	(void)socklen;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    len != sizeof(cred)) {
		evutil_closesocket(fd);
		return;
	}
	if (c->n_conns >= CONTROL_MAX_CONNS) {
		log_msg(LOG_LEVEL_WARNING, CONTROL_LOG,
			"%d admin connections "
			"open: refused one from pid %d",
			CONTROL_MAX_CONNS, (int)cred.pid);
		evutil_closesocket(fd);
		return;
	}
	cn = mem_zalloc(sizeof(*cn));
	if (!cn) {
		evutil_closesocket(fd);
		return;
	}
	cn->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!cn->bev) {
		evutil_closesocket(fd);
		mem_free(cn);
		return;
	}
	cn->ctl = c;
	cn->uid = cred.uid;
	cn->next = c->conns;
	if (c->conns)
		c->conns->prev = cn;
	c->conns = cn;
	c->n_conns++;
	bufferevent_setcb(cn->bev, conn_on_read, conn_on_write, conn_on_event,
			  cn);
	bufferevent_set_timeouts(cn->bev, &c->idle, &c->idle);
	/* reading stops at one line past the cap: the cap is found
	 * without buffering more */
	bufferevent_setwatermark(cn->bev, EV_READ, 0,
				 CONTROL_MAX_LINE_BYTES + 1);
	if (!control_peer_allowed(cred.uid, geteuid())) {
		log_msg(LOG_LEVEL_WARNING, CONTROL_LOG,
			"refused uid %u (pid "
			"%d): only uid %u and root may use the control socket",
			(unsigned)cred.uid, (int)cred.pid, (unsigned)geteuid());
		conn_fail(cn, "forbidden",
			  "only uid %u and root may use "
			  "sipcertd's control socket",
			  (unsigned)geteuid());
		cn->is_closing = true;
		bufferevent_enable(cn->bev, EV_WRITE);
		return;
	}
	bufferevent_enable(cn->bev, EV_READ | EV_WRITE);
}

/* accept() failed (out of file descriptors, most likely): the pending
 * connection would wake the loop at once again, so pause for a second. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct control *c = arg;
	const struct timeval pause = {1, 0};
	int err = EVUTIL_SOCKET_ERROR();

	log_msg(LOG_LEVEL_WARNING, CONTROL_LOG, "accept: %s: pausing for 1 s",
		strerror(err));
	evconnlistener_disable(l);
	event_add(c->resume, &pause);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(c->listener);
}

/* ---- the socket file ------------------------------------------------ */

/* The directory must be this user's or root's and not writable by
 * others: whoever can write there can replace the socket. */
static int dir_check(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;

	if (!slash) {
		dir[0] = '.';
		dir[1] = '\0';
	} else if (slash == path) {
		dir[0] = '/';
		dir[1] = '\0';
	} else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	if (stat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((st.st_mode & S_IWOTH) ||
	    (st.st_uid != geteuid() && st.st_uid != 0)) {
		log_msg(LOG_LEVEL_ERR, CONTROL_LOG,
			"%s: the directory of the "
			"control socket must not be writable by others nor "
			"belong to another user",
			dir);
		return -EPERM;
	}
	return 0;
}

/* Remove a socket file a dead daemon left; a live daemon answering
 * there, or a file of another kind, is left alone. */
static int stale_remove(const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, err = 0;

	if (lstat(sun->sun_path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_msg(LOG_LEVEL_ERR, CONTROL_LOG,
			"%s exists and is not a "
			"socket: not replacing it",
			sun->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!connect(fd, (const struct sockaddr *)sun, sizeof(*sun))) {
		log_msg(LOG_LEVEL_ERR, CONTROL_LOG,
			"%s: another sipcertd "
			"answers there",
			sun->sun_path);
		err = -EADDRINUSE;
	} else if (errno == ECONNREFUSED) {
		log_msg(LOG_LEVEL_INFO, CONTROL_LOG, "removing stale %s",
			sun->sun_path);
		if (unlink(sun->sun_path) && errno != ENOENT)
			err = -errno;
	} else {
		err = -errno;
	}
	close(fd);
	return err;
}

static int listen_open(struct control *c, int *fdp)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, err;

	memcpy(sun.sun_path, c->path, strlen(c->path) + 1);
	err = dir_check(c->path);
	if (!err)
		err = stale_remove(&sun);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Linux creates the file with the socket inode's mode (less the
	 * umask): 0600 from the first moment, not after a chmod */
	if (fchmod(fd, 0600) ||
	    bind(fd, (const struct sockaddr *)&sun, sizeof(sun))) {
		err = -errno;
		close(fd);
		return err;
	}
	if (chmod(c->path, 0600) || stat(c->path, &st) ||
	    listen(fd, CONTROL_BACKLOG)) {
		err = -errno;
		(void)unlink(c->path);
		close(fd);
		return err;
	}
	c->sock_dev = st.st_dev;
	c->sock_ino = st.st_ino;
	*fdp = fd;
	return 0;
}

/* Remove the socket file only if it is still the one we bound. */
static void socket_remove(const struct control *c)
{
	struct stat st;

	if (!lstat(c->path, &st) && S_ISSOCK(st.st_mode) &&
	    st.st_dev == c->sock_dev && st.st_ino == c->sock_ino)
		(void)unlink(c->path);
}

/* ---- the control object --------------------------------------------- */

int control_new(struct control **out, const struct control_opts *o)
{
	unsigned idle_ms;
	struct control *c;
	size_t len;
	int fd = -1, err = 0;

	if (!out || !o || !o->base || !o->socket_path || !o->store || !o->users)
		return -EINVAL;
	len = strlen(o->socket_path);
	if (!len)
		return -EINVAL;
	if (len >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	c = mem_zalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	memcpy(c->path, o->socket_path, len + 1);
	c->base = o->base;
	c->store = o->store;
	c->users = o->users;
	c->registrar = o->registrar;
	c->on_stats = o->on_stats;
	c->stats_arg = o->stats_arg;
	c->on_user_changed = o->on_user_changed;
	c->user_changed_arg = o->user_changed_arg;
	c->on_creds_changed = o->on_creds_changed;
	c->creds_changed_arg = o->creds_changed_arg;
	idle_ms = o->idle_timeout_ms ? o->idle_timeout_ms
				     : CONTROL_IDLE_TIMEOUT_MS;
	c->idle.tv_sec = idle_ms / 1000;
	c->idle.tv_usec = (suseconds_t)(idle_ms % 1000) * 1000;
	if (o->domain) {
		c->domain = mem_strdup(o->domain);
		if (!c->domain) {
			err = -ENOMEM;
			goto out;
		}
	}
	c->resume = evtimer_new(c->base, on_resume, c);
	if (!c->resume) {
		err = -ENOMEM;
		goto out;
	}
	/* one worker: the store handle is never used by two threads */
	err = loop_pool_new(&c->pool, c->base, 1);
	if (err)
		goto out;
	/* one write per connection at a time (reading pauses meanwhile)
	 * bounds the queue by the connection cap */
	loop_pool_set_max_queued(c->pool, CONTROL_MAX_CONNS);
	err = listen_open(c, &fd);
	if (err)
		goto out;
	/* backlog 0: listen_open() made it listen already */
	c->listener = evconnlistener_new(c->base, on_accept, c,
					 LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (!c->listener) {
		socket_remove(c);
		close(fd);
		err = -ENOMEM;
		goto out;
	}
	evconnlistener_set_error_cb(c->listener, on_accept_error);
	log_msg(LOG_LEVEL_INFO, CONTROL_LOG, "listening on %s", c->path);
out:
	if (err) {
		if (c->resume)
			event_free(c->resume);
		loop_pool_free(c->pool);
		mem_free(c->domain);
		mem_free(c);
		return err;
	}
	*out = c;
	return 0;
}

void control_on_user_changed(struct control *c, control_user_changed_cb *cb,
			     void *arg)
{
	if (!c)
		return;
	c->on_user_changed = cb;
	c->user_changed_arg = arg;
}

void control_on_creds_changed(struct control *c, control_creds_changed_cb *cb,
			      void *arg)
{
	if (!c)
		return;
	c->on_creds_changed = cb;
	c->creds_changed_arg = arg;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	c->is_stopping = true;
	evconnlistener_free(c->listener);
	event_free(c->resume);
	/* finished writes reach the table and the hook; queued ones are
	 * cancelled; no client is answered any more */
	loop_pool_free(c->pool);
	while (c->conns)
		conn_free(c->conns);
	socket_remove(c);
	mem_free(c->domain);
	mem_free(c);
}
