/* SPDX-License-Identifier: BSD-3-Clause */
/* The control socket of sipcertd: admin commands as JSON lines over a unix
 * socket. This file is the transport: answers, request members, the
 * connections, the socket file; the commands are in control_cmd.c. */
#include "daemon/control_int.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/crypto.h>

bool control_peer_allowed(uid_t peer_uid, uid_t own_uid)
{
	return peer_uid == own_uid || peer_uid == 0;
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

void ctl_conn_send(struct conn *cn, json_t *obj)
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

/* {"ok": true} to add members to; NULL on ENOMEM (ctl_conn_send copes). */
json_t *ctl_ok_new(void)
{
	json_t *o = json_object();

	if (o && json_object_set_new(o, "ok", json_true())) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void ctl_conn_fail(struct conn *cn, const char *code, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", code, "message",
		      msg);
	ctl_conn_send(cn, o);
}

/* ---- requests ------------------------------------------------------- */

/* A string member of req, or NULL when absent or not a string. */
const char *ctl_req_str(const json_t *req, const char *name, size_t *len)
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
		ctl_conn_fail(cn, "internal", "out of memory");
		goto out;
	}
	err = sip_uri_parse(buf_slice(&given), &u);
	if (err || u.scheme != SIP_URI_SIP || !u.user.p || !u.user.len ||
	    u.password.p || u.has_port || u.params.len || u.headers.len ||
	    u.host_type == SIP_HOST_NONE) {
		ctl_conn_fail(cn, "bad_aor",
			      "'%.*s' is not an AOR of the form "
			      "sip:user@domain",
			      shown, in);
		err = -EBADMSG;
		goto out;
	}
	err = sip_uri_print_aor(out, &u);
	if (err == -ENOMEM) {
		ctl_conn_fail(cn, "internal", "out of memory");
		goto out;
	}
	if (err || out->len > CONTROL_AOR_MAX_BYTES) {
		ctl_conn_fail(cn, "bad_aor", "the AOR is longer than %d bytes",
			      CONTROL_AOR_MAX_BYTES);
		err = -EMSGSIZE;
		goto out;
	}
	if (c->domain && !slice_caseeq_cstr(u.host, c->domain)) {
		ctl_conn_fail(cn, "foreign_domain",
			      "%.*s is not in the domain %s",
			      SLICE_FMT(buf_slice(out)), c->domain);
		err = -EPERM;
	}
out:
	buf_fini(&given);
	return err;
}

/* The "aor" member, normalised into out (a NUL-terminated string). */
int ctl_req_aor(struct conn *cn, const json_t *req, struct buf *out)
{
	const char *aor;
	size_t len;
	int err;

	aor = ctl_req_str(req, "aor", &len);
	if (!aor) {
		ctl_conn_fail(cn, "bad_request",
			      "\"aor\" (a string) is missing");
		return -EINVAL;
	}
	err = aor_normalize(cn, aor, len, out);
	if (!err && buf_cstr(out, &aor)) {
		ctl_conn_fail(cn, "internal", "out of memory");
		err = -ENOMEM;
	}
	return err;
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
void ctl_conn_process(struct conn *cn)
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
			ctl_conn_fail(cn, "too_large",
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
			ctl_conn_fail(cn, "internal", "out of memory");
		else if (l.len) /* blank lines are ignored */
			ctl_conn_handle(cn, l.p, l.len);
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
	ctl_conn_process(arg);
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
		ctl_conn_process(cn);
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
		ctl_conn_fail(cn, "forbidden",
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
