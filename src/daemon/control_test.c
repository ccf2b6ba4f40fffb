/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of the control socket: the daemon side over a real unix socket in
 * a temporary directory, with a real SQLite store, user table, registrar
 * and event loop; the libsipcert client (src/lib/control.c, compiled into
 * the runner) driven against it from a second thread. */
#include "test.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include "daemon/control.h"

/* The client under test, from include/sipcert/control.h (the reference):
 * check-layers keeps <sipcert/...> out of daemon/, so the test repeats the
 * prototypes it calls. */
int sipcert_control_socket_path(const char *config_path, char **path);
int sipcert_control_call(const char *config_path, const char *request_json,
			 char **response_json);
int sipcert_control_user_add(const char *config_path, const char *aor,
			     const char *password, char **response_json);
int sipcert_control_user_passwd(const char *config_path, const char *aor,
				const char *password, char **response_json);
int sipcert_control_user_del(const char *config_path, const char *aor,
			     char **response_json);
int sipcert_control_user_list(const char *config_path, char **response_json);
int sipcert_control_bindings_list(const char *config_path, const char *aor,
				  char **response_json);
int sipcert_control_stats(const char *config_path, char **response_json);
int sipcert_control_cred_list(const char *config_path, const char *aor,
			      char **response_json);
int sipcert_control_cred_revoke(const char *config_path, const char *aor,
				const char *sha256, char **response_json);

enum {
	TPATH = 256,
	RAW_MAX = 256 * 1024,
};

/* ---- fixture -------------------------------------------------------- */

struct cfx {
	char dir[64];
	char sock[108]; /* sun_path */
	char conf[TPATH];
	char url[TPATH];
	struct event_base *base;
	struct store *st;    /* control's handle (its worker thread) */
	struct store *check; /* the test's own handle */
	struct userdb *users;
	struct registrar *reg;
	struct control *ctl;
	unsigned n_changed;
	char changed[256];
	unsigned n_creds_changed;
	char creds_changed[256];
	json_t *ans; /* the last answer lib_call() got */
};

static void on_changed(void *arg, const char *aor)
{
	struct cfx *f = arg;

	f->n_changed++;
	snprintf(f->changed, sizeof(f->changed), "%s", aor);
}

static void on_creds_changed(void *arg, const char *aor)
{
	struct cfx *f = arg;

	f->n_creds_changed++;
	snprintf(f->creds_changed, sizeof(f->creds_changed), "%s", aor);
}

static void on_stats(void *arg, struct control_stats *s)
{
	(void)arg;
	(void)control_stats_put(s, "transactions", 7);
	(void)control_stats_put(s, "flows", 3);
}

static int file_write(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (!fp)
		return -errno;
	fputs(text, fp);
	fclose(fp);
	return 0;
}

static void dir_remove(const char *dir)
{
	char cmd[TPATH + 16];

	/* the fixture's own mkdtemp directory, a fixed prefix: safe */
	if (strncmp(dir, "/tmp/sipcert-ctl-", 17))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "    cannot remove %s\n", dir);
}

static struct control_opts cfx_opts(struct cfx *f)
{
	return (struct control_opts){
		.base = f->base,
		.socket_path = f->sock,
		.store = f->st,
		.users = f->users,
		.registrar = f->reg,
		.domain = "example.test",
		.on_stats = on_stats,
		.stats_arg = f,
		.on_user_changed = on_changed,
		.user_changed_arg = f,
		.on_creds_changed = on_creds_changed,
		.creds_changed_arg = f,
	};
}

/* Everything but the control itself (start = false) or all of it. */
static int cfx_init(struct cfx *f, bool start)
{
	int err;

	memset(f, 0, sizeof(*f));
	/* as sipcertd's main: an answer to a client that left is EPIPE */
	signal(SIGPIPE, SIG_IGN);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sipcert-ctl-XXXXXX");
	if (!mkdtemp(f->dir)) {
		f->dir[0] = '\0';
		return -errno;
	}
	snprintf(f->sock, sizeof(f->sock), "%s/control.sock", f->dir);
	snprintf(f->conf, sizeof(f->conf), "%s/sipcertd.conf", f->dir);
	snprintf(f->url, sizeof(f->url), "sqlite:%s/store.db", f->dir);
	/* a relative path: the client resolves it from the file's dir */
	err = file_write(f->conf, "[domain]\nname = example.test\n"
				  "[control]\nsocket = control.sock\n");
	if (err)
		return err;
	f->base = event_base_new();
	if (!f->base)
		return -ENOMEM;
	err = store_open(&f->st, f->url);
	if (!err)
		err = store_open(&f->check, f->url);
	if (!err)
		err = userdb_new(&f->users);
	if (!err)
		err = registrar_new(&f->reg, &(struct registrar_opts){0});
	if (!err && start) {
		struct control_opts o = cfx_opts(f);

		err = control_new(&f->ctl, &o);
	}
	return err;
}

static void cfx_fini(struct cfx *f)
{
	json_decref(f->ans);
	control_free(f->ctl);
	registrar_free(f->reg);
	userdb_free(f->users);
	store_close(f->st);
	store_close(f->check);
	if (f->base)
		event_base_free(f->base);
	if (f->dir[0])
		dir_remove(f->dir);
}

/* ---- running a client beside the loop ------------------------------- */

struct client {
	void (*run)(struct client *c);
	const char *conf;
	const char *sock;
	/* sipcert_control_* */
	const char *cmd; /* "call", "add", "passwd", "del", "list", ... */
	const char *req;
	const char *aor;
	const char *password;
	const char *sha256;
	char *resp;
	int rc;
	/* raw */
	const char *send;
	size_t send_len;
	bool shut_wr;	     /* half-close after sending */
	unsigned want_lines; /* stop reading after this many; 0: to EOF */
	char got[RAW_MAX];
	size_t got_len;
	bool got_eof; /* closed by the daemon */
	atomic_bool done;
};

static void lib_run(struct client *c)
{
	const char *k = c->cmd;

	if (!strcmp(k, "call"))
		c->rc = sipcert_control_call(c->conf, c->req, &c->resp);
	else if (!strcmp(k, "add"))
		c->rc = sipcert_control_user_add(c->conf, c->aor, c->password,
						 &c->resp);
	else if (!strcmp(k, "passwd"))
		c->rc = sipcert_control_user_passwd(c->conf, c->aor,
						    c->password, &c->resp);
	else if (!strcmp(k, "del"))
		c->rc = sipcert_control_user_del(c->conf, c->aor, &c->resp);
	else if (!strcmp(k, "list"))
		c->rc = sipcert_control_user_list(c->conf, &c->resp);
	else if (!strcmp(k, "bindings"))
		c->rc = sipcert_control_bindings_list(c->conf, c->aor,
						      &c->resp);
	else if (!strcmp(k, "cred_list"))
		c->rc = sipcert_control_cred_list(c->conf, c->aor, &c->resp);
	else if (!strcmp(k, "cred_revoke"))
		c->rc = sipcert_control_cred_revoke(c->conf, c->aor, c->sha256,
						    &c->resp);
	else
		c->rc = sipcert_control_stats(c->conf, &c->resp);
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {3, 0};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		close(fd);
		return -1;
	}
	return fd;
}

static unsigned lines_in(const char *p, size_t n)
{
	unsigned k = 0;

	for (size_t i = 0; i < n; i++)
		k += p[i] == '\n';
	return k;
}

static void raw_run(struct client *c)
{
	int fd = raw_connect(c->sock);
	size_t off = 0;

	c->rc = -1;
	if (fd < 0)
		return;
	while (off < c->send_len) {
		ssize_t k = send(fd, c->send + off, c->send_len - off,
				 MSG_NOSIGNAL);

		if (k <= 0)
			break;
		off += (size_t)k;
	}
	if (c->shut_wr)
		(void)shutdown(fd, SHUT_WR);
	while (c->got_len < sizeof(c->got) - 1) {
		ssize_t k = recv(fd, c->got + c->got_len,
				 sizeof(c->got) - 1 - c->got_len, 0);

		/* a peer closing with our bytes unread resets the stream */
		if (k == 0 || (k < 0 && errno == ECONNRESET))
			c->got_eof = true;
		if (k <= 0)
			break;
		c->got_len += (size_t)k;
		if (c->want_lines &&
		    lines_in(c->got, c->got_len) >= c->want_lines)
			break;
	}
	c->got[c->got_len] = '\0';
	c->rc = 0;
	close(fd);
}

static void *client_thread(void *arg)
{
	struct client *c = arg;

	c->run(c);
	atomic_store(&c->done, true);
	return NULL;
}

struct waiter {
	struct event_base *base;
	atomic_bool *done;
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;

	(void)fd;
	(void)what;
	if (atomic_load(w->done))
		event_base_loopbreak(w->base);
}

/* Run the loop until *done (or 20 s pass). */
static void loop_until(struct event_base *base, atomic_bool *done)
{
	struct waiter w = {base, done};
	struct timeval tick = {0, 2000};
	struct event *ev = event_new(base, -1, EV_PERSIST, on_tick, &w);
	uint64_t until = loop_now_ms() + 20000;

	event_add(ev, &tick);
	while (!atomic_load(done) && loop_now_ms() < until)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
}

static int client_go(struct cfx *f, struct client *c)
{
	pthread_t th;

	c->conf = f->conf;
	c->sock = f->sock;
	if (!c->run)
		c->run = lib_run;
	atomic_store(&c->done, false);
	if (pthread_create(&th, NULL, client_thread, c))
		return -1;
	loop_until(f->base, &c->done);
	pthread_join(th, NULL);
	return 0;
}

/* A library call: rc, and the answer parsed in *ans, which the fixture
 * holds until the next call (so a failed assertion leaks nothing). */
static int lib_call(struct cfx *f, struct client *c, json_t **ans)
{
	json_decref(f->ans);
	f->ans = NULL;
	*ans = NULL;
	if (client_go(f, c))
		return -1;
	if (!c->rc)
		f->ans = json_loads(c->resp, 0, NULL);
	*ans = f->ans;
	mem_free(c->resp);
	c->resp = NULL;
	return c->rc;
}

/* Raw bytes in, the answer lines out (in c->got). */
static int raw_call(struct cfx *f, struct client *c, const char *bytes,
		    size_t len, bool shut_wr, unsigned want_lines)
{
	c->run = raw_run;
	c->send = bytes;
	c->send_len = len;
	c->shut_wr = shut_wr;
	c->want_lines = want_lines;
	c->got_len = 0;
	c->got_eof = false;
	return client_go(f, c);
}

static const char *ans_str(const json_t *a, const char *name)
{
	const char *s = json_string_value(json_object_get(a, name));

	return s ? s : "(none)";
}

static bool ans_ok(const json_t *a)
{
	return json_is_true(json_object_get(a, "ok"));
}

/* The error code of the i-th answer line of c->got ("ok" when ok). */
static const char *line_code(const struct client *c, unsigned i, char *out,
			     size_t n)
{
	const char *p = c->got, *end = c->got + c->got_len;
	json_t *a;

	snprintf(out, n, "(no line)");
	for (; i && p < end; i--) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			return out;
		p++;
	}
	a = json_loadb(p, (size_t)(end - p), JSON_DISABLE_EOF_CHECK, NULL);
	if (a)
		snprintf(out, n, "%s", ans_ok(a) ? "ok" : ans_str(a, "error"));
	json_decref(a);
	return out;
}

/* ---- users ---------------------------------------------------------- */

static int expect_ha1(struct cfx *f, const char *aor, const char *user,
		      const char *pw)
{
	char md5[SIP_DIGEST_HEX_MAX + 1], sha[SIP_DIGEST_HEX_MAX + 1];
	struct store_user *u = NULL;
	const struct userdb_user *t;

	TEST_EQ_INT(sip_digest_ha1(SIP_DIGEST_MD5, slice_cstr(user),
				   SLICE_LIT("example.test"), slice_cstr(pw),
				   md5),
		    0);
	TEST_EQ_INT(sip_digest_ha1(SIP_DIGEST_SHA256, slice_cstr(user),
				   SLICE_LIT("example.test"), slice_cstr(pw),
				   sha),
		    0);
	TEST_EQ_INT(store_user_get(f->check, aor, &u), 0);
	if (strcmp(u->ha1_md5, md5) || strcmp(u->ha1_sha256, sha)) {
		store_user_free(u);
		TEST_FAIL_AT("stored HA1s of %s differ", aor);
		return -1;
	}
	store_user_free(u);
	t = userdb_find(f->users, slice_cstr(aor));
	TEST_ASSERT(t);
	TEST_EQ_STR(t->ha1_md5, md5);
	TEST_EQ_STR(t->ha1_sha256, sha);
	return 0;
}

static int users_body(struct cfx *f)
{
	struct client c = {.cmd = "add",
			   .aor = "sip:alice@example.test",
			   .password = "secret \"one\"\\"};
	struct store_user *u = NULL;
	sqlite3 *db;
	json_t *a;
	int rc;

	/* add: the store, then the table, with RFC 7616 HA1s */
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_ASSERT(ans_ok(a));
	TEST_EQ_STR(ans_str(a, "aor"), "sip:alice@example.test");
	if (expect_ha1(f, "sip:alice@example.test", "alice",
		       "secret \"one\"\\"))
		return -1;
	TEST_EQ_INT(f->n_changed, 0); /* a new user ends nothing */

	/* the same AOR again, written differently: exists */
	c.aor = "alice@EXAMPLE.test";
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_ASSERT(!ans_ok(a));
	TEST_EQ_STR(ans_str(a, "error"), "exists");
	TEST_EQ_INT(userdb_count(f->users), 1);

	/* passwd: new HA1s in both places, and the hook */
	c.cmd = "passwd";
	c.aor = "sip:alice@example.test";
	c.password = "second";
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_ASSERT(ans_ok(a));
	if (expect_ha1(f, "sip:alice@example.test", "alice", "second"))
		return -1;
	TEST_EQ_INT(f->n_changed, 1);
	TEST_EQ_STR(f->changed, "sip:alice@example.test");

	c.aor = "sip:nobody@example.test";
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_EQ_STR(ans_str(a, "error"), "not_found");
	TEST_EQ_INT(f->n_changed, 1);

	/* del: gone from both, hook again; a second del is not_found */
	c.cmd = "del";
	c.aor = "sip:alice@example.test";
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_ASSERT(ans_ok(a));
	TEST_EQ_INT(store_user_get(f->check, "sip:alice@example.test", &u),
		    -ENOENT);
	TEST_ASSERT(!userdb_find(f->users, SLICE_LIT("sip:alice@example."
						     "test")));
	TEST_EQ_INT(f->n_changed, 2);
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_EQ_STR(ans_str(a, "error"), "not_found");
	TEST_EQ_INT(f->n_changed, 2);

	/* a database that fails: "store", and the table is left alone */
	TEST_EQ_INT(sqlite3_open(f->url + 7, &db), SQLITE_OK);
	rc = sqlite3_exec(db, "ALTER TABLE users RENAME TO users_gone", NULL,
			  NULL, NULL);
	sqlite3_close(db);
	TEST_EQ_INT(rc, SQLITE_OK);
	c.cmd = "add";
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_EQ_STR(ans_str(a, "error"), "store");
	TEST_ASSERT(strstr(ans_str(a, "message"), "users"));
	TEST_EQ_INT(userdb_count(f->users), 0);
	return 0;
}

TEST(daemon_control_user_add_passwd_del)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : users_body(&f);

	cfx_fini(&f);
	return rc;
}

static int list_body(struct cfx *f)
{
	static const char *const aors[] = {"sip:carol@example.test",
					   "sip:alice@example.test",
					   "sip:bob@example.test"};
	struct client c = {.cmd = "add", .password = "pw"};
	json_t *a, *v;
	size_t i;

	c.cmd = "list";
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_ASSERT(ans_ok(a));
	TEST_EQ_INT(json_integer_value(json_object_get(a, "count")), 0);
	TEST_EQ_INT(json_array_size(json_object_get(a, "aors")), 0);
	c.cmd = "add";
	for (i = 0; i < ARRAY_SIZE(aors); i++) {
		c.aor = aors[i];
		TEST_EQ_INT(lib_call(f, &c, &a), 0);
		TEST_ASSERT(ans_ok(a));
	}
	c.cmd = "list";
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_EQ_INT(json_integer_value(json_object_get(a, "count")), 3);
	json_array_foreach(json_object_get(a, "aors"), i, v)
	{
		static const char *const sorted[] = {"sip:alice@example.test",
						     "sip:bob@example.test",
						     "sip:carol@example.test"};

		if (strcmp(json_string_value(v), sorted[i])) {
			TEST_FAIL_AT("aors[%zu] out of order", i);
			return -1;
		}
	}
	return 0;
}

TEST(daemon_control_user_list_sorted)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : list_body(&f);

	cfx_fini(&f);
	return rc;
}

/* ---- malformed and refused requests --------------------------------- */

static int bad_body(struct cfx *f)
{
	static const struct {
		const char *line;
		const char *code;
	} v[] = {
		{"not json", "bad_json"},
		{"{\"cmd\":\"stats\"", "bad_json"},
		{"{\"cmd\":\"stats\",\"cmd\":\"stats\"}", "bad_json"},
		{"[1,2]", "bad_request"},
		{"\"stats\"", "bad_request"},
		{"{\"cmd\":7}", "bad_request"},
		{"{\"command\":\"stats\"}", "bad_request"},
		{"{\"cmd\":\"user.drop\"}", "unknown_command"},
		{"{\"cmd\":\"user.add\",\"password\":\"x\"}", "bad_request"},
		{"{\"cmd\":\"user.add\",\"aor\":5,\"password\":\"x\"}",
		 "bad_request"},
		{"{\"cmd\":\"user.add\",\"aor\":\"sip:a@example.test\"}",
		 "bad_request"},
		{"{\"cmd\":\"user.add\",\"aor\":\"tel:+15551234\","
		 "\"password\":\"x\"}",
		 "bad_aor"},
		{"{\"cmd\":\"user.add\",\"aor\":\"sip:example.test\","
		 "\"password\":\"x\"}",
		 "bad_aor"},
		{"{\"cmd\":\"user.add\",\"aor\":\"sip:a@example.test:5060\","
		 "\"password\":\"x\"}",
		 "bad_aor"},
		{"{\"cmd\":\"user.add\",\"aor\":\"sip:a@example.test;x=1\","
		 "\"password\":\"x\"}",
		 "bad_aor"},
		{"{\"cmd\":\"user.add\",\"aor\":\"sip:a:pw@example.test\","
		 "\"password\":\"x\"}",
		 "bad_aor"},
		{"{\"cmd\":\"user.add\",\"aor\":\"sip:a@[::1\","
		 "\"password\":\"x\"}",
		 "bad_aor"},
		{"{\"cmd\":\"stats\\u0000\"}", "bad_request"},
		{"{\"cmd\":\"user.add\",\"aor\":\"sips:a@example.test\","
		 "\"password\":\"x\"}",
		 "bad_aor"},
		{"{\"cmd\":\"user.add\",\"aor\":\"sip:a@other.test\","
		 "\"password\":\"x\"}",
		 "foreign_domain"},
		{"{\"cmd\":\"user.add\",\"aor\":\"sip:a@example.test\","
		 "\"password\":\"\"}",
		 "bad_password"},
		{"{\"cmd\":\"user.add\",\"aor\":\"sip:a@example.test\","
		 "\"password\":\"a\\u0000b\"}",
		 "bad_password"},
		{"{\"cmd\":\"user.add\",\"aor\":\"sip:a@example.test\","
		 "\"password\":7}",
		 "bad_request"},
		{"{\"cmd\":\"user.del\",\"aor\":\"sip:a@example.test\"}",
		 "not_found"},
		{"{\"cmd\":\"bindings.list\",\"aor\":\"sip:a@example.test\"}",
		 "not_found"},
		{"{\"cmd\":\"bindings.list\",\"aor\":[]}", "bad_request"},
		/* the normal form: canonical escaping, lower-case host */
		{"{\"cmd\":\"user.add\",\"aor\":\"sip:a%20b@Example.TEST\","
		 "\"password\":\"x\"}",
		 "ok"},
		{"{\"cmd\":\"user.list\"}", "ok"},
	};
	struct client c = {0};
	struct buf all;
	char code[64];
	int err = 0;

	/* every line on one connection, plus blank lines that are skipped
	 * and a last line without its LF, answered at EOF */
	buf_init(&all, RAW_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		buf_printf(&all, "%s%s", v[i].line,
			   i + 1 < ARRAY_SIZE(v) ? "\r\n\n  \n" : "");
	if (all.err || raw_call(f, &c, all.p, all.len, true, 0)) {
		buf_fini(&all);
		return -1;
	}
	buf_fini(&all);
	TEST_ASSERT(c.got_eof);
	TEST_EQ_INT(lines_in(c.got, c.got_len), ARRAY_SIZE(v));
	for (unsigned i = 0; i < ARRAY_SIZE(v); i++) {
		line_code(&c, i, code, sizeof(code));
		if (strcmp(code, v[i].code)) {
			TEST_FAIL_AT("line %u (%s): %s, expected %s", i,
				     v[i].line, code, v[i].code);
			err = -1;
		}
	}
	if (err)
		return err;
	TEST_ASSERT(userdb_find(f->users, SLICE_LIT("sip:a%20b@example.test")));
	TEST_EQ_INT(userdb_count(f->users), 1);
	TEST_ASSERT(!strstr(c.got, "\"x\""));
	return 0;
}

TEST(daemon_control_bad_requests)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : bad_body(&f);

	cfx_fini(&f);
	return rc;
}

/* Every strict prefix of a request, sent and then EOF: an answer, never
 * a crash, and nothing added. */
static int prefix_body(struct cfx *f)
{
	static const char req[] = "{\"cmd\":\"user.add\",\"aor\":\"sip:p@"
				  "example.test\",\"password\":\"pw\"}";
	char code[64];

	for (size_t n = 1; n < sizeof(req) - 1; n++) {
		struct client c = {0};

		TEST_EQ_INT(raw_call(f, &c, req, n, true, 0), 0);
		TEST_ASSERT(c.got_eof);
		TEST_EQ_INT(lines_in(c.got, c.got_len), 1);
		line_code(&c, 0, code, sizeof(code));
		TEST_ASSERT(strcmp(code, "ok"));
	}
	TEST_EQ_INT(userdb_count(f->users), 0);
	return 0;
}

TEST(daemon_control_request_prefixes)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : prefix_body(&f);

	cfx_fini(&f);
	return rc;
}

static int oversize_body(struct cfx *f)
{
	static const char stats[] = "{\"cmd\":\"stats\"}";
	size_t n = CONTROL_MAX_LINE_BYTES + 1;
	char *big = mem_alloc(n + 1);
	struct client *c = mem_zalloc(sizeof(*c));
	char code[64];
	int rc = -1;

	if (!big || !c)
		goto out;
	/* exactly the cap, LF excluded: answered */
	memset(big, ' ', n);
	memcpy(big, stats, sizeof(stats) - 1);
	big[CONTROL_MAX_LINE_BYTES] = '\n';
	if (raw_call(f, c, big, CONTROL_MAX_LINE_BYTES + 1, false, 1))
		goto out;
	if (strcmp(line_code(c, 0, code, sizeof(code)), "ok")) {
		TEST_FAIL_AT("a line of the cap: %s", code);
		goto out;
	}
	/* one byte more and no LF: too_large, then closed */
	memset(c, 0, sizeof(*c));
	big[CONTROL_MAX_LINE_BYTES] = ' ';
	if (raw_call(f, c, big, n, false, 0))
		goto out;
	if (!c->got_eof || lines_in(c->got, c->got_len) != 1 ||
	    strcmp(line_code(c, 0, code, sizeof(code)), "too_large")) {
		TEST_FAIL_AT("over the cap: %s, eof %d", code, c->got_eof);
		goto out;
	}
	/* the client library refuses such a request itself */
	memset(c, 0, sizeof(*c));
	big[n] = '\0';
	c->cmd = "call";
	c->req = big;
	if (client_go(f, c) || c->rc != -EMSGSIZE) {
		TEST_FAIL_AT("client: %d", c->rc);
		goto out;
	}
	rc = 0;
out:
	mem_free(big);
	mem_free(c);
	return rc;
}

TEST(daemon_control_oversize_line)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : oversize_body(&f);

	cfx_fini(&f);
	return rc;
}

/* ---- the socket file and its directory ------------------------------ */

static int bind_dead_socket(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		close(fd);
		return -1;
	}
	close(fd); /* the file stays, nobody listens */
	return 0;
}

static int socket_file_body(struct cfx *f)
{
	struct control_opts o = cfx_opts(f);
	struct control *other = NULL;
	char longp[200];
	struct stat st;

	/* a world-writable directory is refused */
	TEST_EQ_INT(chmod(f->dir, 0777), 0);
	TEST_EQ_INT(control_new(&f->ctl, &o), -EPERM);
	TEST_ASSERT(!f->ctl);
	TEST_EQ_INT(chmod(f->dir, 0700), 0);

	/* a regular file at the path is left alone */
	TEST_EQ_INT(file_write(f->sock, "keep me\n"), 0);
	TEST_EQ_INT(control_new(&f->ctl, &o), -EEXIST);
	TEST_EQ_INT(lstat(f->sock, &st), 0);
	TEST_ASSERT(S_ISREG(st.st_mode));
	TEST_EQ_INT(unlink(f->sock), 0);

	/* a stale socket file is replaced */
	TEST_EQ_INT(bind_dead_socket(f->sock), 0);
	TEST_EQ_INT(control_new(&f->ctl, &o), 0);
	TEST_EQ_INT(lstat(f->sock, &st), 0);
	TEST_ASSERT(S_ISSOCK(st.st_mode));
	TEST_EQ_INT(st.st_mode & 07777, 0600);

	/* a live one is not */
	TEST_EQ_INT(control_new(&other, &o), -EADDRINUSE);
	TEST_ASSERT(!other);

	/* missing options, a path sun_path cannot hold, no directory */
	o.store = NULL;
	TEST_EQ_INT(control_new(&other, &o), -EINVAL);
	o = cfx_opts(f);
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	o.socket_path = longp;
	TEST_EQ_INT(control_new(&other, &o), -ENAMETOOLONG);
	o.socket_path = "/nonexistent-sipcert-dir/control.sock";
	TEST_EQ_INT(control_new(&other, &o), -ENOENT);

	/* control_free removes its own socket file, nothing else */
	control_free(f->ctl);
	f->ctl = NULL;
	TEST_EQ_INT(lstat(f->sock, &st), -1);
	TEST_EQ_INT(errno, ENOENT);
	return 0;
}

TEST(daemon_control_socket_file)
{
	struct cfx f;
	int rc = cfx_init(&f, false) ? -1 : socket_file_body(&f);

	cfx_fini(&f);
	return rc;
}

struct child_wait {
	struct event_base *base;
	pid_t pid;
	int status;
	bool done;
};

static void on_child_tick(evutil_socket_t fd, short what, void *arg)
{
	struct child_wait *w = arg;

	(void)fd;
	(void)what;
	if (waitpid(w->pid, &w->status, WNOHANG) == w->pid) {
		w->done = true;
		event_base_loopbreak(w->base);
	}
}

/* As another user (only possible as root): a raw connection gets
 * "forbidden" without asking anything; so does the client library, whose
 * request may meet a closed socket (the answer is read all the same). */
static void forbidden_child(const char *sock, const char *conf)
{
	char got[1024], *resp = NULL;
	ssize_t k;
	int fd;

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		_exit(3);
	fd = raw_connect(sock);
	if (fd < 0)
		_exit(4);
	k = recv(fd, got, sizeof(got) - 1, 0);
	close(fd);
	if (k <= 0)
		_exit(5);
	got[k] = '\0';
	if (!strstr(got, "\"forbidden\""))
		_exit(6);
	if (sipcert_control_call(conf, "{\"cmd\":\"user.list\"}", &resp))
		_exit(7);
	_exit(strstr(resp, "\"forbidden\"") ? 0 : 8);
}

static int peer_body(struct cfx *f)
{
	struct child_wait w = {.base = f->base};
	struct timeval tick = {0, 5000};
	struct event *ev;

	TEST_ASSERT(control_peer_allowed(1000, 1000));
	TEST_ASSERT(control_peer_allowed(0, 1000));
	TEST_ASSERT(!control_peer_allowed(1001, 1000));
	TEST_ASSERT(!control_peer_allowed(1000, 0));
	TEST_ASSERT(control_peer_allowed(0, 0));
	if (geteuid() != 0)
		return 0; /* no other user to be */
	/* let the other user reach the socket: only SO_PEERCRED stops it */
	TEST_EQ_INT(chmod(f->dir, 0755), 0);
	TEST_EQ_INT(chmod(f->sock, 0666), 0);
	TEST_EQ_INT(chmod(f->conf, 0644), 0);
	w.pid = fork();
	TEST_ASSERT(w.pid >= 0);
	if (!w.pid)
		forbidden_child(f->sock, f->conf);
	ev = event_new(f->base, -1, EV_PERSIST, on_child_tick, &w);
	TEST_ASSERT(ev);
	event_add(ev, &tick);
	for (int i = 0; i < 2000 && !w.done; i++)
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(ev);
	TEST_ASSERT(w.done);
	TEST_ASSERT(WIFEXITED(w.status));
	TEST_EQ_INT(WEXITSTATUS(w.status), 0);
	return 0;
}

TEST(daemon_control_peer_refused)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : peer_body(&f);

	cfx_fini(&f);
	return rc;
}

/* ---- connections ---------------------------------------------------- */

static int idle_body(struct cfx *f)
{
	struct control_opts o = cfx_opts(f);
	struct client c = {0};
	uint64_t t0;

	o.idle_timeout_ms = 100;
	TEST_EQ_INT(control_new(&f->ctl, &o), 0);
	t0 = loop_now_ms();
	TEST_EQ_INT(raw_call(f, &c, "", 0, false, 0), 0);
	TEST_ASSERT(c.got_eof);
	TEST_EQ_INT(c.got_len, 0);
	TEST_ASSERT(loop_now_ms() - t0 < 2500);
	return 0;
}

TEST(daemon_control_idle_timeout)
{
	struct cfx f;
	int rc = cfx_init(&f, false) ? -1 : idle_body(&f);

	cfx_fini(&f);
	return rc;
}

/* A client that sends a write and hangs up: the write still lands. */
static int hangup_body(struct cfx *f)
{
	static const char req[] = "{\"cmd\":\"user.add\",\"aor\":\"sip:h@"
				  "example.test\",\"password\":\"pw\"}\n";
	int fd = raw_connect(f->sock);
	uint64_t until = loop_now_ms() + 5000;

	TEST_ASSERT(fd >= 0);
	TEST_EQ_INT(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL),
		    (long long)sizeof(req) - 1);
	close(fd);
	while (!userdb_find(f->users, SLICE_LIT("sip:h@example.test")) &&
	       loop_now_ms() < until)
		event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	TEST_ASSERT(userdb_find(f->users, SLICE_LIT("sip:h@example.test")));
	return expect_ha1(f, "sip:h@example.test", "h", "pw");
}

TEST(daemon_control_write_survives_hangup)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : hangup_body(&f);

	cfx_fini(&f);
	return rc;
}

/* control_free with a write in flight and clients connected. */
static int free_busy_body(struct cfx *f)
{
	static const char req[] = "{\"cmd\":\"user.add\",\"aor\":\"sip:f@"
				  "example.test\",\"password\":\"pw\"}\n";
	int fd1 = raw_connect(f->sock), fd2 = raw_connect(f->sock);
	struct stat st;

	TEST_ASSERT(fd1 >= 0 && fd2 >= 0);
	TEST_EQ_INT(send(fd1, req, sizeof(req) - 1, MSG_NOSIGNAL),
		    (long long)sizeof(req) - 1);
	TEST_EQ_INT(send(fd2, "{\"cmd\":", 7, MSG_NOSIGNAL), 7);
	for (int i = 0; i < 5; i++)
		event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	control_free(f->ctl);
	f->ctl = NULL;
	close(fd1);
	close(fd2);
	TEST_EQ_INT(lstat(f->sock, &st), -1);
	return 0;
}

TEST(daemon_control_free_while_busy)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : free_busy_body(&f);

	cfx_fini(&f);
	return rc;
}

/* ---- bindings and stats --------------------------------------------- */

struct regfx {
	struct cfx *f;
	struct net *net;
	struct txn_layer *txn;
};

static void reg_on_rx(void *arg, const struct net_rx *rx)
{
	struct regfx *r = arg;

	txn_layer_rx(r->txn, rx);
}

static void reg_on_request(void *arg, struct txn_srv *st,
			   const struct sip_msg *req)
{
	struct regfx *r = arg;

	if (req->method_id == SIP_METHOD_REGISTER)
		registrar_handle(r->f->reg, st, "sip:alice@example.test");
	else
		(void)txn_srv_reply(st, 405, NULL, NULL);
}

/* REGISTER sip:alice@example.test from a UDP socket on 127.0.0.1. */
static int do_register(struct regfx *r, uint16_t port, uint16_t *src_port)
{
	struct sockaddr_in to = {.sin_family = AF_INET}, me = to;
	socklen_t len = sizeof(me);
	char msg[1024];
	uint64_t until;
	int fd, n;

	to.sin_port = htons(port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) ||
	    getsockname(fd, (struct sockaddr *)&me, &len))
		goto fail;
	*src_port = ntohs(me.sin_port);
	n = snprintf(msg, sizeof(msg),
		     "REGISTER sip:example.test SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKctl1;"
		     "rport\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:alice@example.test>;tag=ctl1\r\n"
		     "To: <sip:alice@example.test>\r\n"
		     "Call-ID: ctl-reg-1@127.0.0.1\r\n"
		     "CSeq: 1 REGISTER\r\n"
		     "Contact: <sip:alice@127.0.0.1:5070>;expires=600\r\n"
		     "Content-Length: 0\r\n\r\n",
		     (unsigned)*src_port);
	if (sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) !=
	    n)
		goto fail;
	until = loop_now_ms() + 3000;
	while (!registrar_count(r->f->reg) && loop_now_ms() < until)
		event_base_loop(r->f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	close(fd);
	return registrar_count(r->f->reg) == 1 ? 0 : -1;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int bindings_body(struct cfx *f, struct regfx *r)
{
	struct client c = {.cmd = "stats"};
	const json_t *row;
	json_t *stats;
	char src[64];
	uint16_t port = 0, src_port = 0;
	const char *key;
	json_t *a, *v;
	int i = 0;

	/* stats before: our counters, then the daemon's, in order */
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	stats = json_object_get(a, "stats");
	json_object_foreach(stats, key, v)
	{
		static const char *const order[] = {"users", "bindings",
						    "transactions", "flows"};
		static const long long vals[] = {0, 0, 7, 3};

		if (i >= 4 || strcmp(key, order[i]) ||
		    json_integer_value(v) != vals[i]) {
			TEST_FAIL_AT("stats member %d is %s", i, key);
			return -1;
		}
		i++;
	}
	TEST_EQ_INT(i, 4);

	c.cmd = "bindings";
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_ASSERT(ans_ok(a));
	TEST_EQ_INT(json_integer_value(json_object_get(a, "count")), 0);

	/* a real REGISTER over UDP through the transaction layer */
	TEST_EQ_INT(userdb_put(f->users, "sip:alice@example.test", NULL, NULL),
		    0);
	TEST_EQ_INT(net_new(&r->net, &(struct net_opts){.base = f->base,
							.on_rx = reg_on_rx,
							.arg = r}),
		    0);
	TEST_EQ_INT(net_listen(r->net, NET_UDP, "127.0.0.1", 0, &port), 0);
	TEST_EQ_INT(txn_layer_new(&r->txn,
				  &(struct txn_opts){
					  .base = f->base,
					  .net = r->net,
					  .on_request = reg_on_request,
					  .arg = r,
				  }),
		    0);
	TEST_EQ_INT(do_register(r, port, &src_port), 0);

	for (int pass = 0; pass < 2; pass++) {
		c.aor = pass ? "sip:alice@example.test" : NULL;
		TEST_EQ_INT(lib_call(f, &c, &a), 0);
		TEST_ASSERT(ans_ok(a));
		TEST_EQ_INT(json_integer_value(json_object_get(a, "count")), 1);
		row = json_array_get(json_object_get(a, "bindings"), 0);
		snprintf(src, sizeof(src), "127.0.0.1:%u", (unsigned)src_port);
		if (strcmp(ans_str(row, "aor"), "sip:alice@example.test") ||
		    strcmp(ans_str(row, "contact"),
			   "sip:alice@127.0.0.1:5070") ||
		    strcmp(ans_str(row, "proto"), "UDP") ||
		    strcmp(ans_str(row, "source"), src) ||
		    json_integer_value(json_object_get(row, "expires")) < 590 ||
		    json_integer_value(json_object_get(row, "expires")) > 600) {
			TEST_FAIL_AT(
				"binding row: %s %s %s %s %lld",
				ans_str(row, "aor"), ans_str(row, "contact"),
				ans_str(row, "proto"), ans_str(row, "source"),
				(long long)json_integer_value(
					json_object_get(row, "expires")));
			return -1;
		}
	}
	/* a user without bindings: none */
	TEST_EQ_INT(userdb_put(f->users, "sip:bob@example.test", NULL, NULL),
		    0);
	c.aor = "sip:bob@example.test";
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_ASSERT(ans_ok(a));
	TEST_EQ_INT(json_integer_value(json_object_get(a, "count")), 0);

	c.cmd = "stats";
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	stats = json_object_get(a, "stats");
	TEST_EQ_INT(json_integer_value(json_object_get(stats, "users")), 2);
	TEST_EQ_INT(json_integer_value(json_object_get(stats, "bindings")), 1);

	TEST_EQ_INT(control_stats_put(NULL, "x", 1), -EINVAL);
	return 0;
}

TEST(daemon_control_bindings_and_stats)
{
	struct cfx f;
	struct regfx r = {.f = &f};
	int rc = cfx_init(&f, true) ? -1 : bindings_body(&f, &r);

	txn_layer_free(r.txn);
	net_free(r.net);
	cfx_fini(&f);
	return rc;
}

/* ---- the client library on its own ---------------------------------- */

static int path_expect(const char *dir, const char *conf_text,
		       const char *expect)
{
	char conf[TPATH], *path = NULL;
	int rc;

	snprintf(conf, sizeof(conf), "%s/t.conf", dir);
	if (file_write(conf, conf_text))
		return -1;
	rc = sipcert_control_socket_path(conf, &path);
	if (rc || strcmp(path, expect)) {
		TEST_FAIL_AT("%s -> %s (%d), expected %s", conf_text,
			     path ? path : "(none)", rc, expect);
		mem_free(path);
		return -1;
	}
	mem_free(path);
	return 0;
}

static int client_body(struct cfx *f)
{
	char real[PATH_MAX], want[PATH_MAX + 32], conf[TPATH], *path = NULL;
	struct client c = {.cmd = "list"};
	json_t *a;

	TEST_ASSERT(realpath(f->dir, real));
	/* the socket path: default, relative, absolute, INI details */
	snprintf(want, sizeof(want), "%s/control.sock", real);
	if (path_expect(f->dir, "[domain]\nname = x\n", want) ||
	    path_expect(f->dir, "[sip]\nsocket = other\n", want) ||
	    path_expect(f->dir, "[control]\n; socket = no\n# socket = no\n",
			want))
		return -1;
	snprintf(want, sizeof(want), "%s/run/c.sock", real);
	if (path_expect(f->dir,
			"\xef\xbb\xbf[control]\n  socket =  run/c.sock"
			" ; where\r\n",
			want) ||
	    path_expect(f->dir, "[control]\nsocket=run/c.sock\n", want))
		return -1;
	if (path_expect(f->dir, "[control]\nsocket = /run/x;y.sock\n",
			"/run/x;y.sock"))
		return -1;
	snprintf(conf, sizeof(conf), "%s/t.conf", f->dir);
	TEST_EQ_INT(file_write(conf, "[control]\nsocket = /aaaaaaaaaaaaaaaaaa"
				     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				     "aaaaaaaaaaaaa.sock\n"),
		    0);
	TEST_EQ_INT(sipcert_control_socket_path(conf, &path), -ENAMETOOLONG);
	snprintf(conf, sizeof(conf), "%s/missing.conf", f->dir);
	TEST_EQ_INT(sipcert_control_socket_path(conf, &path), -ENOENT);
	TEST_EQ_INT(sipcert_control_socket_path(NULL, &path), -EINVAL);
	TEST_ASSERT(!path);

	/* no daemon: no socket, then a dead one */
	TEST_EQ_INT(lib_call(f, &c, &a), -ENOENT);
	TEST_EQ_INT(bind_dead_socket(f->sock), 0);
	TEST_EQ_INT(lib_call(f, &c, &a), -ECONNREFUSED);
	TEST_EQ_INT(unlink(f->sock), 0);

	/* requests must be one line */
	c.cmd = "call";
	c.req = "{\"cmd\":\n\"stats\"}";
	TEST_EQ_INT(lib_call(f, &c, &a), -EINVAL);
	c.req = NULL;
	TEST_EQ_INT(lib_call(f, &c, &a), -EINVAL);
	return 0;
}

TEST(daemon_control_client_errors)
{
	struct cfx f;
	int rc = cfx_init(&f, false) ? -1 : client_body(&f);

	cfx_fini(&f);
	return rc;
}

/* A fake daemon: accepts one connection, reads a line, answers reply
 * (NULL: never answers), then closes. */
struct fake {
	int lfd;
	const char *reply;
	atomic_bool stop;
};

static void *fake_thread(void *arg)
{
	struct fake *fk = arg;
	char buf[4096];
	int fd = accept(fk->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	(void)recv(fd, buf, sizeof(buf), 0);
	if (fk->reply)
		(void)send(fd, fk->reply, strlen(fk->reply), MSG_NOSIGNAL);
	while (!fk->reply && !atomic_load(&fk->stop))
		usleep(10000);
	close(fd);
	return NULL;
}

static int fake_body(struct cfx *f)
{
	static const char *const replies[] = {
		"hello\n", "[true]\n", "{\"ok\":1}\n", "{\"ok\":true", "",
	};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char *resp = NULL;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->sock);
	for (size_t i = 0; i <= ARRAY_SIZE(replies); i++) {
		struct fake fk = {.reply = i < ARRAY_SIZE(replies) ? replies[i]
								   : NULL};
		uint64_t t0 = loop_now_ms();
		pthread_t th;
		int rc;

		fk.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		TEST_ASSERT(fk.lfd >= 0);
		TEST_EQ_INT(bind(fk.lfd, (struct sockaddr *)&sun, sizeof(sun)),
			    0);
		TEST_EQ_INT(listen(fk.lfd, 1), 0);
		TEST_EQ_INT(pthread_create(&th, NULL, fake_thread, &fk), 0);
		rc = sipcert_control_call(f->conf, "{\"cmd\":\"stats\"}",
					  &resp);
		atomic_store(&fk.stop, true);
		pthread_join(th, NULL);
		close(fk.lfd);
		unlink(f->sock);
		if (i < ARRAY_SIZE(replies)) {
			TEST_EQ_INT(rc, -EPROTO);
		} else {
			/* SIPCERT_CONTROL_TIMEOUT_MS */
			TEST_EQ_INT(rc, -ETIMEDOUT);
			TEST_ASSERT(loop_now_ms() - t0 >= 4900);
		}
		TEST_ASSERT(!resp);
	}
	return 0;
}

TEST(daemon_control_client_bad_daemon)
{
	struct cfx f;
	int rc = cfx_init(&f, false) ? -1 : fake_body(&f);

	cfx_fini(&f);
	return rc;
}

/* Past CONTROL_MAX_CONNS open connections, a new one is closed at once. */
static int cap_body(struct cfx *f)
{
	int fds[CONTROL_MAX_CONNS];
	struct client c = {0};
	char code[64];
	int n = 0, rc = -1;

	for (; n < CONTROL_MAX_CONNS; n++) {
		fds[n] = raw_connect(f->sock);
		if (fds[n] < 0)
			goto out;
		/* accept as we go: the listen backlog is shorter */
		event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
	if (raw_call(f, &c, "{\"cmd\":\"stats\"}\n", 16, false, 1) || c.rc ||
	    !c.got_eof || c.got_len) {
		TEST_FAIL_AT("connection over the cap: rc %d, eof %d, %s", c.rc,
			     c.got_eof, c.got);
		goto out;
	}
	/* one closes: there is room again */
	close(fds[--n]);
	for (int i = 0; i < 20; i++)
		event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	memset(&c, 0, sizeof(c));
	if (raw_call(f, &c, "{\"cmd\":\"stats\"}\n", 16, false, 1) ||
	    strcmp(line_code(&c, 0, code, sizeof(code)), "ok")) {
		TEST_FAIL_AT("after a close: %s", code);
		goto out;
	}
	rc = 0;
out:
	while (n > 0)
		close(fds[--n]);
	return rc;
}

TEST(daemon_control_connection_cap)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : cap_body(&f);

	cfx_fini(&f);
	return rc;
}

/* ---- credentials (RFC 6072 §7.7, §7.9) ------------------------------ */

#define ALICE "sip:alice@example.test"
#define BOB   "sip:bob@example.test"

/* Fingerprints: the store keeps them as text, lower-case hex. */
#define FP_PHONE                                                               \
	"0a1b2c3d4e5f60718293a4b5c6d7e8f9"                                     \
	"0a1b2c3d4e5f60718293a4b5c6d7e8f9"
#define FP_DESK                                                                \
	"ffeeddccbbaa99887766554433221100"                                     \
	"ffeeddccbbaa99887766554433221100"
#define FP_OLD                                                                 \
	"11111111111111111111111111111111"                                     \
	"11111111111111111111111111111111"
#define FP_NONE                                                                \
	"22222222222222222222222222222222"                                     \
	"22222222222222222222222222222222"

enum {
	NOT_AFTER_S = 365 * 86400, /* certificate validity from now */
	PUB_S = 3600,		   /* publication expiry from now */
};

struct cred_spec {
	const char *aor;
	const char *device;
	const char *sha256;
	const char *etag;
	bool has_key;
	int64_t age_s;	   /* published this long ago */
	int64_t expires_s; /* publication left from now; 0: PUB_S */
};

/* A credential straight into the store, as the credential service puts
 * a PUBLISH: the control socket only reads and revokes. */
static int cred_put(struct cfx *f, const struct cred_spec *cs, int64_t now)
{
	static const uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	static const uint8_t key[] = {0x5e, 0xa1, 0xed, 0x00, 0x01};
	const struct store_cred c = {
		.aor = cs->aor,
		.device = cs->device,
		.cert_der = der,
		.cert_len = sizeof(der),
		.sealed_pkcs8 = cs->has_key ? key : NULL,
		.sealed_pkcs8_len = cs->has_key ? sizeof(key) : 0,
		.etag = cs->etag,
		.not_before = now - 60,
		.not_after = now + NOT_AFTER_S,
		.published_at = now - cs->age_s,
		.expires_at = now + (cs->expires_s ? cs->expires_s : PUB_S),
		.sha256 = cs->sha256,
	};

	return store_cred_put(f->check, &c);
}

/* A user through the control socket: the store and the table both. */
static int user_add(struct cfx *f, const char *aor)
{
	struct client c = {.cmd = "add", .aor = aor, .password = "pw"};
	json_t *a;

	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_ASSERT(ans_ok(a));
	return 0;
}

/* alice with a phone (sealed key, older) and a desk phone (certificate
 * only, newer). */
static int alice_two_devices(struct cfx *f, int64_t now)
{
	static const struct cred_spec v[] = {
		{ALICE, "phone", FP_PHONE, "etag-phone", true, 20, 0},
		{ALICE, "desk", FP_DESK, "etag-desk", false, 10, 0},
	};

	if (user_add(f, ALICE))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		TEST_EQ_INT(cred_put(f, &v[i], now), 0);
	return 0;
}

/* cred.list of aor: *a the answer, after checking it is ok with n rows. */
static int cred_list_n(struct cfx *f, const char *aor, size_t n, json_t **a)
{
	struct client c = {.cmd = "cred_list", .aor = aor};

	TEST_EQ_INT(lib_call(f, &c, a), 0);
	TEST_ASSERT(ans_ok(*a));
	TEST_EQ_INT(json_integer_value(json_object_get(*a, "count")), n);
	TEST_ASSERT(json_is_array(json_object_get(*a, "credentials")));
	TEST_EQ_INT(json_array_size(json_object_get(*a, "credentials")), n);
	return 0;
}

/* cred.revoke; *a the answer. */
static int cred_revoke(struct cfx *f, const char *aor, const char *sha256,
		       json_t **a)
{
	struct client c = {.cmd = "cred_revoke", .aor = aor, .sha256 = sha256};

	TEST_EQ_INT(lib_call(f, &c, a), 0);
	return 0;
}

/* revoked_at of aor's history entry sha256 (-1: no entry). */
static int64_t fp_revoked_at(struct cfx *f, const char *aor, const char *sha256)
{
	struct store_fp **v = NULL;
	int64_t at = -1;
	size_t n = 0;

	if (store_fp_list(f->check, aor, &v, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i]->sha256, sha256))
			at = v[i]->revoked_at;
	store_list_free(v, n);
	return at;
}

static int cred_list_empty_body(struct cfx *f)
{
	json_t *a;

	if (user_add(f, ALICE) || cred_list_n(f, ALICE, 0, &a))
		return -1;
	TEST_EQ_INT(f->n_creds_changed, 0);
	return 0;
}

TEST(control_cred_list_empty)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : cred_list_empty_body(&f);

	cfx_fini(&f);
	return rc;
}

/* Every column of a row. */
static int row_expect(const json_t *row, const char *device, const char *sha256,
		      const char *etag, bool has_key, int64_t now,
		      int64_t age_s)
{
	json_int_t left = json_integer_value(json_object_get(row, "expires"));

	TEST_EQ_STR(ans_str(row, "device"), device);
	TEST_EQ_STR(ans_str(row, "sha256"), sha256);
	TEST_EQ_STR(ans_str(row, "etag"), etag);
	TEST_ASSERT(json_is_boolean(json_object_get(row, "has_key")));
	TEST_EQ_INT(json_is_true(json_object_get(row, "has_key")), has_key);
	TEST_EQ_INT(json_integer_value(json_object_get(row, "not_before")),
		    now - 60);
	TEST_EQ_INT(json_integer_value(json_object_get(row, "not_after")),
		    now + NOT_AFTER_S);
	TEST_EQ_INT(json_integer_value(json_object_get(row, "published_at")),
		    now - age_s);
	/* seconds left when the worker read it, a moment after now */
	TEST_ASSERT(left > PUB_S - 30 && left <= PUB_S);
	return 0;
}

static int cred_list_body(struct cfx *f)
{
	static const struct cred_spec others[] = {
		/* another user's credential is not alice's */
		{BOB, "phone", FP_OLD, "etag-bob", true, 5, 0},
		/* a publication that expired: not current any more */
		{ALICE, "gone", FP_NONE, "etag-gone", true, 7200, -1},
	};
	int64_t now = (int64_t)time(NULL);
	struct client c = {.cmd = "cred_list"};
	json_t *a, *rows;

	if (user_add(f, BOB) || alice_two_devices(f, now))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(others); i++)
		TEST_EQ_INT(cred_put(f, &others[i], now), 0);
	if (cred_list_n(f, ALICE, 2, &a))
		return -1;
	/* newest first: the desk phone published after the phone */
	rows = json_object_get(a, "credentials");
	if (row_expect(json_array_get(rows, 0), "desk", FP_DESK, "etag-desk",
		       false, now, 10) ||
	    row_expect(json_array_get(rows, 1), "phone", FP_PHONE, "etag-phone",
		       true, now, 20))
		return -1;

	/* the AOR as typed, normalised as for the user commands */
	c.aor = "alice@EXAMPLE.test";
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_ASSERT(ans_ok(a));
	TEST_EQ_INT(json_integer_value(json_object_get(a, "count")), 2);
	if (cred_list_n(f, BOB, 1, &a))
		return -1;
	TEST_EQ_INT(f->n_creds_changed, 0); /* reading changes nothing */
	return 0;
}

TEST(control_cred_list_two_devices)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : cred_list_body(&f);

	cfx_fini(&f);
	return rc;
}

static int revoke_fp_body(struct cfx *f)
{
	int64_t now = (int64_t)time(NULL);
	struct cred_spec tablet = {ALICE, "tablet", FP_OLD, "etag-t1",
				   true,  30,	    0};
	json_t *a;

	if (alice_two_devices(f, now))
		return -1;
	/* the tablet's first certificate, then its renewal: FP_OLD stays
	 * in the history only */
	TEST_EQ_INT(cred_put(f, &tablet, now), 0);
	tablet.sha256 = FP_NONE;
	tablet.etag = "etag-t2";
	tablet.age_s = 1;
	TEST_EQ_INT(cred_put(f, &tablet, now), 0);

	/* §7.9: the lost phone's certificate */
	if (cred_revoke(f, ALICE, FP_PHONE, &a))
		return -1;
	TEST_ASSERT(ans_ok(a));
	TEST_EQ_INT(json_integer_value(json_object_get(a, "revoked")), 1);
	TEST_EQ_INT(f->n_creds_changed, 1);
	TEST_EQ_STR(f->creds_changed, ALICE);
	TEST_EQ_INT(f->n_changed, 0); /* the user hook is another one */
	TEST_ASSERT(fp_revoked_at(f, ALICE, FP_PHONE) >= now);
	TEST_EQ_INT(fp_revoked_at(f, ALICE, FP_DESK), 0);
	if (cred_list_n(f, ALICE, 2, &a))
		return -1;
	TEST_EQ_STR(
		ans_str(json_array_get(json_object_get(a, "credentials"), 0),
			"device"),
		"tablet");
	TEST_EQ_STR(
		ans_str(json_array_get(json_object_get(a, "credentials"), 1),
			"device"),
		"desk");

	/* once revoked, the fingerprint is not found again */
	if (cred_revoke(f, ALICE, FP_PHONE, &a))
		return -1;
	TEST_ASSERT(!ans_ok(a));
	TEST_EQ_STR(ans_str(a, "error"), "not_found");
	TEST_ASSERT(strstr(ans_str(a, "message"), FP_PHONE));
	TEST_EQ_INT(f->n_creds_changed, 1);

	/* a certificate only in the history: marked revoked, no current
	 * credential removed, nobody to notify */
	TEST_EQ_INT(fp_revoked_at(f, ALICE, FP_OLD), 0);
	if (cred_revoke(f, ALICE, FP_OLD, &a))
		return -1;
	TEST_ASSERT(ans_ok(a));
	TEST_EQ_INT(json_integer_value(json_object_get(a, "revoked")), 0);
	TEST_ASSERT(fp_revoked_at(f, ALICE, FP_OLD) >= now);
	TEST_EQ_INT(f->n_creds_changed, 1);
	return cred_list_n(f, ALICE, 2, &a);
}

TEST(control_cred_revoke_by_fingerprint)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : revoke_fp_body(&f);

	cfx_fini(&f);
	return rc;
}

static int revoke_all_body(struct cfx *f)
{
	static const struct cred_spec bob = {BOB,   "phone", FP_OLD, "etag-b",
					     false, 5,	     0};
	int64_t now = (int64_t)time(NULL);
	json_t *a;

	if (user_add(f, BOB) || alice_two_devices(f, now))
		return -1;
	TEST_EQ_INT(cred_put(f, &bob, now), 0);
	if (cred_revoke(f, ALICE, NULL, &a))
		return -1;
	TEST_ASSERT(ans_ok(a));
	TEST_EQ_INT(json_integer_value(json_object_get(a, "revoked")), 2);
	TEST_EQ_INT(f->n_creds_changed, 1);
	TEST_EQ_STR(f->creds_changed, ALICE);
	TEST_ASSERT(fp_revoked_at(f, ALICE, FP_PHONE) >= now);
	TEST_ASSERT(fp_revoked_at(f, ALICE, FP_DESK) >= now);
	if (cred_list_n(f, ALICE, 0, &a) || cred_list_n(f, BOB, 1, &a))
		return -1;
	TEST_EQ_INT(fp_revoked_at(f, BOB, FP_OLD), 0);

	/* nothing left: 0 revoked, and no notification */
	if (cred_revoke(f, ALICE, NULL, &a))
		return -1;
	TEST_ASSERT(ans_ok(a));
	TEST_EQ_INT(json_integer_value(json_object_get(a, "revoked")), 0);
	TEST_EQ_INT(f->n_creds_changed, 1);
	return 0;
}

TEST(control_cred_revoke_all)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : revoke_all_body(&f);

	cfx_fini(&f);
	return rc;
}

static int not_found_body(struct cfx *f)
{
	struct client c = {.cmd = "cred_list", .aor = "sip:carol@example.test"};
	char *resp = NULL;
	json_t *a;

	/* not a user: each command */
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_EQ_STR(ans_str(a, "error"), "not_found");
	TEST_ASSERT(strstr(ans_str(a, "message"), "sip:carol@example.test"));
	if (cred_revoke(f, "sip:carol@example.test", NULL, &a))
		return -1;
	TEST_EQ_STR(ans_str(a, "error"), "not_found");
	if (cred_revoke(f, "sip:carol@example.test", FP_PHONE, &a))
		return -1;
	TEST_EQ_STR(ans_str(a, "error"), "not_found");

	/* a user, a fingerprint it never held */
	if (alice_two_devices(f, (int64_t)time(NULL)))
		return -1;
	if (cred_revoke(f, ALICE, FP_NONE, &a))
		return -1;
	TEST_EQ_STR(ans_str(a, "error"), "not_found");
	TEST_ASSERT(strstr(ans_str(a, "message"), FP_NONE));
	TEST_EQ_INT(f->n_creds_changed, 0);
	if (cred_list_n(f, ALICE, 2, &a))
		return -1;

	/* the library needs an AOR (NULL sha256 is "all") */
	TEST_EQ_INT(sipcert_control_cred_list(f->conf, NULL, &resp), -EINVAL);
	TEST_EQ_INT(sipcert_control_cred_revoke(f->conf, NULL, FP_PHONE, &resp),
		    -EINVAL);
	TEST_EQ_INT(sipcert_control_cred_list(f->conf, ALICE, NULL), -EINVAL);
	TEST_ASSERT(!resp);
	return 0;
}

TEST(control_cred_not_found)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : not_found_body(&f);

	cfx_fini(&f);
	return rc;
}

/* Malformed cred requests, one connection: each refused, nothing
 * revoked (a bad fingerprint never becomes "revoke them all"). */
static int cred_bad_body(struct cfx *f)
{
#define REVOKE_SHA(x)                                                          \
	"{\"cmd\":\"cred.revoke\",\"aor\":\"" ALICE "\",\"sha256\":" x "}"
	static const struct {
		const char *line;
		const char *code;
	} v[] = {
		{"{\"cmd\":\"cred.list\"}", "bad_request"},
		{"{\"cmd\":\"cred.list\",\"aor\":7}", "bad_request"},
		{"{\"cmd\":\"cred.revoke\"}", "bad_request"},
		{"{\"cmd\":\"cred.list\",\"aor\":\"tel:+15551234\"}",
		 "bad_aor"},
		{"{\"cmd\":\"cred.revoke\",\"aor\":\"sip:a@example.test:5\"}",
		 "bad_aor"},
		{"{\"cmd\":\"cred.list\",\"aor\":\"sip:alice@other.test\"}",
		 "foreign_domain"},
		{REVOKE_SHA("null"), "bad_request"},
		{REVOKE_SHA("7"), "bad_request"},
		{REVOKE_SHA("[]"), "bad_request"},
		{REVOKE_SHA("\"\""), "bad_request"},
		/* upper case */
		{REVOKE_SHA("\"0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F6071"
			    "8293A4B5C6D7E8F9\""),
		 "bad_request"},
		/* 63 and 65 digits */
		{REVOKE_SHA("\"0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071"
			    "8293a4b5c6d7e8f\""),
		 "bad_request"},
		{REVOKE_SHA("\"" FP_PHONE "0\""), "bad_request"},
		/* not hex; colon-separated; a NUL inside */
		{REVOKE_SHA("\"0g1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071"
			    "8293a4b5c6d7e8f9\""),
		 "bad_request"},
		{REVOKE_SHA("\"0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9:"
			    "0a:1b:2c:3d:4e\""),
		 "bad_request"},
		{REVOKE_SHA("\"0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071"
			    "8293a4b5c6d7e8\\u0000\""),
		 "bad_request"},
		/* the fingerprint is checked before the user is looked up */
		{"{\"cmd\":\"cred.revoke\",\"aor\":\"sip:nobody@example.test\","
		 "\"sha256\":\"xyz\"}",
		 "bad_request"},
		{REVOKE_SHA("\"" FP_NONE "\""), "not_found"},
		{"{\"cmd\":\"cred.list\",\"aor\":\"" ALICE "\"}", "ok"},
	};
#undef REVOKE_SHA
	struct client c = {0};
	struct buf all;
	char code[64];
	json_t *a;
	int err = 0;

	if (alice_two_devices(f, (int64_t)time(NULL)))
		return -1;
	buf_init(&all, RAW_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		buf_printf(&all, "%s\n", v[i].line);
	if (all.err || raw_call(f, &c, all.p, all.len, true, 0)) {
		buf_fini(&all);
		return -1;
	}
	buf_fini(&all);
	TEST_EQ_INT(lines_in(c.got, c.got_len), ARRAY_SIZE(v));
	for (unsigned i = 0; i < ARRAY_SIZE(v); i++) {
		line_code(&c, i, code, sizeof(code));
		if (strcmp(code, v[i].code)) {
			TEST_FAIL_AT("line %u (%s): %s, expected %s", i,
				     v[i].line, code, v[i].code);
			err = -1;
		}
	}
	if (err)
		return err;
	TEST_EQ_INT(f->n_creds_changed, 0);
	return cred_list_n(f, ALICE, 2, &a);
}

TEST(control_cred_bad_requests)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : cred_bad_body(&f);

	cfx_fini(&f);
	return rc;
}

/* Every strict prefix of a revoke of one certificate, then EOF: refused,
 * and nothing revoked (a cut line never becomes "revoke them all"). */
static int cred_prefix_body(struct cfx *f)
{
	static const char req[] = "{\"cmd\":\"cred.revoke\",\"aor\":\"" ALICE
				  "\",\"sha256\":\"" FP_PHONE "\"}";
	char code[64];
	json_t *a;

	if (alice_two_devices(f, (int64_t)time(NULL)))
		return -1;
	for (size_t n = 1; n < sizeof(req) - 1; n++) {
		struct client c = {0};

		TEST_EQ_INT(raw_call(f, &c, req, n, true, 0), 0);
		TEST_EQ_INT(lines_in(c.got, c.got_len), 1);
		line_code(&c, 0, code, sizeof(code));
		TEST_ASSERT(strcmp(code, "ok"));
	}
	TEST_EQ_INT(f->n_creds_changed, 0);
	if (cred_list_n(f, ALICE, 2, &a))
		return -1;
	/* the whole request does revoke */
	if (cred_revoke(f, ALICE, FP_PHONE, &a))
		return -1;
	TEST_EQ_INT(json_integer_value(json_object_get(a, "revoked")), 1);
	return 0;
}

TEST(control_cred_revoke_prefixes)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : cred_prefix_body(&f);

	cfx_fini(&f);
	return rc;
}

/* The hook set after control_new(), as sipcertd's main does once the
 * credential service exists; cleared again with NULL. */
static int cred_hook_body(struct cfx *f)
{
	static const struct cred_spec renewed[] = {
		{ALICE, "phone", FP_OLD, "etag-p2", true, 3, 0},
		{ALICE, "desk", FP_NONE, "etag-d2", false, 2, 0},
	};
	struct control_opts o = cfx_opts(f);
	int64_t now = (int64_t)time(NULL);
	json_t *a;

	o.on_creds_changed = NULL;
	o.creds_changed_arg = NULL;
	TEST_EQ_INT(control_new(&f->ctl, &o), 0);
	if (alice_two_devices(f, now))
		return -1;
	if (cred_revoke(f, ALICE, FP_PHONE, &a))
		return -1;
	TEST_EQ_INT(json_integer_value(json_object_get(a, "revoked")), 1);
	TEST_EQ_INT(f->n_creds_changed, 0);

	control_on_creds_changed(f->ctl, on_creds_changed, f);
	control_on_creds_changed(NULL, on_creds_changed, f); /* no-op */
	if (cred_revoke(f, ALICE, FP_DESK, &a))
		return -1;
	TEST_EQ_INT(json_integer_value(json_object_get(a, "revoked")), 1);
	TEST_EQ_INT(f->n_creds_changed, 1);
	TEST_EQ_STR(f->creds_changed, ALICE);

	/* a failed revoke does not call it */
	if (cred_revoke(f, ALICE, FP_DESK, &a))
		return -1;
	TEST_EQ_STR(ans_str(a, "error"), "not_found");
	TEST_EQ_INT(f->n_creds_changed, 1);

	/* both devices enrol again; with the hook cleared, revoking them
	 * all tells nobody */
	for (size_t i = 0; i < ARRAY_SIZE(renewed); i++)
		TEST_EQ_INT(cred_put(f, &renewed[i], now), 0);
	control_on_creds_changed(f->ctl, NULL, NULL);
	if (cred_revoke(f, ALICE, NULL, &a))
		return -1;
	TEST_EQ_INT(json_integer_value(json_object_get(a, "revoked")), 2);
	TEST_EQ_INT(f->n_creds_changed, 1);
	return 0;
}

TEST(control_cred_revoke_hook)
{
	struct cfx f;
	int rc = cfx_init(&f, false) ? -1 : cred_hook_body(&f);

	cfx_fini(&f);
	return rc;
}

/* A database that fails: "store" with the database's reason, no hook. */
static int cred_store_fail_body(struct cfx *f)
{
	struct client c = {.cmd = "cred_list", .aor = ALICE};
	sqlite3 *db;
	json_t *a;
	int rc;

	if (alice_two_devices(f, (int64_t)time(NULL)))
		return -1;
	TEST_EQ_INT(sqlite3_open(f->url + 7, &db), SQLITE_OK);
	rc = sqlite3_exec(db, "ALTER TABLE credentials RENAME TO creds_gone",
			  NULL, NULL, NULL);
	sqlite3_close(db);
	TEST_EQ_INT(rc, SQLITE_OK);
	TEST_EQ_INT(lib_call(f, &c, &a), 0);
	TEST_EQ_STR(ans_str(a, "error"), "store");
	TEST_ASSERT(strstr(ans_str(a, "message"), "credentials"));
	for (int all = 0; all < 2; all++) {
		if (cred_revoke(f, ALICE, all ? NULL : FP_PHONE, &a))
			return -1;
		TEST_EQ_STR(ans_str(a, "error"), "store");
	}
	TEST_EQ_INT(f->n_creds_changed, 0);
	return 0;
}

TEST(control_cred_store_failure)
{
	struct cfx f;
	int rc = cfx_init(&f, true) ? -1 : cred_store_fail_body(&f);

	cfx_fini(&f);
	return rc;
}
