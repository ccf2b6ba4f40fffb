/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert_control_*(): the client side of sipcertd's control socket: find
 * the socket from sipcertd.conf, send one JSON line, read one back, each
 * step bounded in size and time; typed requests for users, bindings,
 * credentials (RFC 6072 §7.9 revocation) and statistics. */
#include "lib.h"

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

enum {
	CONF_MAX_BYTES = 1024 * 1024,	       /* as sipcertd reads it */
	REQUEST_MAX_BYTES = 64 * 1024,	       /* the daemon's line cap */
	RESPONSE_MAX_BYTES = 16 * 1024 * 1024, /* user.list of a big domain */
};

#define SUN_PATH_SIZE sizeof(((struct sockaddr_un *)0)->sun_path)

/* ---- finding the socket --------------------------------------------- */

static int file_read(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	size_t n;
	int err = 0;

	if (!f)
		return -errno;
	while (!err && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		err = buf_append(out, chunk, n);
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	return err;
}

/* The value of key in [section], read as sipcertd's loader reads its
 * INI file: leading white space and a UTF-8 byte order mark ignored,
 * ';' and '#' lines are comments, names compared exactly, the value
 * trimmed and cut at a ';' that follows white space (inih's inline
 * comment). -ENOENT when absent or empty. */
static int ini_find(struct slice text, const char *section, const char *key,
		    struct slice *value)
{
	struct slice sec = SLICE_NULL;
	const char *p = text.p, *end = text.p + text.len;

	if (text.len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct slice l =
			slice_trim(slice_of(p, (size_t)((nl ? nl : end) - p)));
		const char *eq, *close;

		p = nl ? nl + 1 : end;
		if (!l.len || l.p[0] == ';' || l.p[0] == '#')
			continue;
		if (l.p[0] == '[') {
			close = memchr(l.p, ']', l.len);
			sec = close ? slice_of(l.p + 1,
					       (size_t)(close - l.p - 1))
				    : SLICE_NULL;
			continue;
		}
		eq = memchr(l.p, '=', l.len);
		if (!eq || !slice_eq_cstr(sec, section) ||
		    !slice_eq_cstr(
			    slice_trim(slice_of(l.p, (size_t)(eq - l.p))), key))
			continue;
		*value = slice_of(eq + 1, (size_t)(l.p + l.len - eq - 1));
		for (size_t i = 1; i < value->len; i++)
			if (value->p[i] == ';' && char_is_ws(value->p[i - 1])) {
				value->len = i;
				break;
			}
		*value = slice_trim(*value);
		/* sipcertd refuses an empty value and a key given twice */
		if (value->len)
			return 0;
	}
	return -ENOENT;
}

/* The absolute directory holding path (sipcertd resolves it the same
 * way, so both agree whatever the working directory's symlinks). */
static int dir_of(const char *path, struct buf *out)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX], real[PATH_MAX];

	if (!slash) {
		dir[0] = '.';
		dir[1] = '\0';
	} else if (slash == path) {
		dir[0] = '/';
		dir[1] = '\0';
	} else {
		if ((size_t)(slash - path) >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	if (!realpath(dir, real))
		return -errno;
	return buf_append_cstr(out, real);
}

SIPCERT_API int sipcert_control_socket_path(const char *config_path,
					    char **path)
{
	struct buf text, out;
	struct slice v;
	const char *s;
	int err;

	if (!config_path || !*config_path || !path)
		return -EINVAL;
	buf_init(&text, CONF_MAX_BYTES);
	buf_init(&out, SUN_PATH_SIZE - 1);
	err = file_read(config_path, &text);
	if (!err && ini_find(buf_slice(&text), "control", "socket", &v))
		v = SLICE_LIT("control.sock"); /* the embedded default */
	if (!err && v.p[0] != '/') {
		err = dir_of(config_path, &out);
		if (!err)
			err = buf_append_byte(&out, '/');
	}
	if (!err)
		err = buf_append_slice(&out, v);
	if (!err && memchr(out.p, '\0', out.len))
		err = -EINVAL;
	if (!err)
		err = buf_cstr(&out, &s);
	if (err == -EMSGSIZE && out.err == -EMSGSIZE)
		err = -ENAMETOOLONG; /* sipcertd could not bind it either */
	if (!err) {
		*path = buf_steal(&out, NULL);
		if (!*path)
			err = -ENOMEM;
	}
	buf_fini(&text);
	buf_fini(&out);
	return err;
}

/* ---- one exchange --------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline: 0, or -ETIMEDOUT. */
static int fd_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int sock_connect(const char *path, int64_t deadline, int *fdp)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	socklen_t slen = sizeof(int);
	int fd, err = 0, soerr = 0;

	if (len >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&sun, sizeof(sun))) {
		err = -errno;
		/* a full backlog: wait for the daemon to accept */
		if (err == -EAGAIN || err == -EINPROGRESS) {
			err = fd_wait(fd, POLLOUT, deadline);
			if (!err &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen))
				err = -errno;
			if (!err)
				err = -soerr;
		}
	}
	if (err) {
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		int err;

		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EPIPE || errno == ECONNRESET))
			return -EPROTO; /* the daemon closed: see exchange() */
		if (k < 0 && errno != EAGAIN)
			return -errno;
		err = fd_wait(fd, POLLOUT, deadline);
		if (err)
			return err;
	}
	return 0;
}

/* Read up to the first LF; what follows it is ignored. */
static int recv_line(int fd, struct buf *out, int64_t deadline)
{
	for (;;) {
		char chunk[4096];
		ssize_t k = recv(fd, chunk, sizeof(chunk), 0);
		const char *nl;
		int err;

		if (k > 0) {
			nl = memchr(chunk, '\n', (size_t)k);
			err = buf_append(out, chunk,
					 nl ? (size_t)(nl - chunk) : (size_t)k);
			if (err || nl)
				return err;
			continue;
		}
		if (!k)
			return -EPROTO; /* closed before the line ended */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return errno == ECONNRESET ? -EPROTO : -errno;
		err = fd_wait(fd, POLLIN, deadline);
		if (err)
			return err;
	}
}

/* The answer must be an object with a boolean "ok". */
static int response_check(struct slice s)
{
	json_t *o = json_loadb(s.p, s.len, 0, NULL);
	int ok = json_is_object(o) && json_is_boolean(json_object_get(o, "ok"));

	json_decref(o);
	return ok ? 0 : -EPROTO;
}

/* Send req (one line, without its LF) and read the answer. */
static int exchange(const char *config_path, struct slice req,
		    char **response_json)
{
	int64_t deadline = now_ms() + SIPCERT_CONTROL_TIMEOUT_MS;
	char *path = NULL;
	const char *line;
	struct buf resp;
	int fd = -1, err;

	if (req.len > REQUEST_MAX_BYTES)
		return -EMSGSIZE;
	if (memchr(req.p, '\n', req.len))
		return -EINVAL;
	buf_init(&resp, RESPONSE_MAX_BYTES);
	err = sipcert_control_socket_path(config_path, &path);
	if (!err)
		err = sock_connect(path, deadline, &fd);
	if (!err)
		err = send_all(fd, req.p, req.len, deadline);
	if (!err)
		err = send_all(fd, "\n", 1, deadline);
	/* a daemon that refuses us ("forbidden") answers, then closes
	 * before reading: its answer is still there to read */
	if (!err || (err == -EPROTO && fd >= 0))
		err = recv_line(fd, &resp, deadline);
	if (!err)
		err = response_check(buf_slice(&resp));
	if (!err)
		err = buf_cstr(&resp, &line);
	if (!err) {
		*response_json = buf_steal(&resp, NULL);
		if (!*response_json)
			err = -ENOMEM;
	}
	if (fd >= 0)
		close(fd);
	mem_free(path);
	buf_fini(&resp);
	return err;
}

SIPCERT_API int sipcert_control_call(const char *config_path,
				     const char *request_json,
				     char **response_json)
{
	if (!config_path || !request_json || !response_json)
		return -EINVAL;
	return exchange(config_path, slice_cstr(request_json), response_json);
}

/* ---- typed requests ------------------------------------------------- */

/* A JSON string (RFC 8259 §7): quote, backslash and control characters
 * escaped; other bytes as given (the daemon refuses bad UTF-8). */
static void json_str_append(struct buf *b, const char *s)
{
	(void)buf_append_byte(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			(void)buf_append_byte(b, '\\');
			(void)buf_append_byte(b, (char)c);
		} else if (c < 0x20) {
			static const char hex[] = "0123456789abcdef";

			(void)buf_append_cstr(b, "\\u00");
			(void)buf_append_byte(b, hex[c >> 4]);
			(void)buf_append_byte(b, hex[c & 15]);
		} else {
			(void)buf_append_byte(b, (char)c);
		}
	}
	(void)buf_append_byte(b, '"');
}

/* A request member beside "cmd" and "aor"; name NULL: none. */
struct member {
	const char *name;
	const char *value;
};

/* {"cmd":cmd[,"aor":aor][,name:value]}, sent and wiped (a "password"
 * member makes the buffer a secret one). */
static int typed_call(const char *config_path, const char *cmd, const char *aor,
		      struct member m, char **response_json)
{
	struct buf req;
	int err;

	if (!config_path || !response_json)
		return -EINVAL;
	buf_init(&req, REQUEST_MAX_BYTES);
	req.is_secret = m.name && !strcmp(m.name, "password");
	(void)buf_append_cstr(&req, "{\"cmd\":");
	json_str_append(&req, cmd);
	if (aor) {
		(void)buf_append_cstr(&req, ",\"aor\":");
		json_str_append(&req, aor);
	}
	if (m.name && m.value) {
		(void)buf_append_byte(&req, ',');
		json_str_append(&req, m.name);
		(void)buf_append_byte(&req, ':');
		json_str_append(&req, m.value);
	}
	err = buf_append_byte(&req, '}');
	if (!err)
		err = exchange(config_path, buf_slice(&req), response_json);
	buf_fini(&req);
	return err;
}

SIPCERT_API int sipcert_control_user_add(const char *config_path,
					 const char *aor, const char *password,
					 char **response_json)
{
	if (!aor || !password)
		return -EINVAL;
	return typed_call(config_path, "user.add", aor,
			  (struct member){"password", password}, response_json);
}

SIPCERT_API int sipcert_control_user_passwd(const char *config_path,
					    const char *aor,
					    const char *password,
					    char **response_json)
{
	if (!aor || !password)
		return -EINVAL;
	return typed_call(config_path, "user.passwd", aor,
			  (struct member){"password", password}, response_json);
}

SIPCERT_API int sipcert_control_user_del(const char *config_path,
					 const char *aor, char **response_json)
{
	if (!aor)
		return -EINVAL;
	return typed_call(config_path, "user.del", aor, (struct member){0},
			  response_json);
}

SIPCERT_API int sipcert_control_user_list(const char *config_path,
					  char **response_json)
{
	return typed_call(config_path, "user.list", NULL, (struct member){0},
			  response_json);
}

SIPCERT_API int sipcert_control_bindings_list(const char *config_path,
					      const char *aor,
					      char **response_json)
{
	return typed_call(config_path, "bindings.list", aor, (struct member){0},
			  response_json);
}

SIPCERT_API int sipcert_control_stats(const char *config_path,
				      char **response_json)
{
	return typed_call(config_path, "stats", NULL, (struct member){0},
			  response_json);
}

SIPCERT_API int sipcert_control_cred_list(const char *config_path,
					  const char *aor, char **response_json)
{
	if (!aor)
		return -EINVAL;
	return typed_call(config_path, "cred.list", aor, (struct member){0},
			  response_json);
}

SIPCERT_API int sipcert_control_cred_revoke(const char *config_path,
					    const char *aor, const char *sha256,
					    char **response_json)
{
	if (!aor)
		return -EINVAL;
	return typed_call(config_path, "cred.revoke", aor,
			  (struct member){"sha256", sha256}, response_json);
}
