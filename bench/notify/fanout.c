/* SPDX-License-Identifier: BSD-3-Clause */
/* bench/notify: the watchers of the fan-out measurement. COUNT certificate
 * subscriptions (RFC 6072 §6, Expires 3600) to one AOR, all over one TCP
 * connection to sipcertd, every NOTIFY answered 200 with the least parsing
 * that frames a message (Content-Length, RFC 3261 §18.3) and copies Via,
 * From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2).
 *
 * Phase 1: the SUBSCRIBEs go out, at most WINDOW unanswered at a time,
 * until each has its final response (a non-200 one fails the run) and its
 * first NOTIFY. Then one JSON line starting with READY is printed and
 * flushed. Then ROUNDS rounds: in round r it waits for NOTIFY number r + 1
 * of every subscription (the one the r-th PUBLISH causes) and prints a line
 * "ROUND r" and JSON with the wall-clock times (CLOCK_REALTIME, seconds
 * since the epoch) at which the first and the last of them were read, this
 * process's own CPU seconds in the round and "beyond", the NOTIFYs past
 * number r + 1 of any subscription. Exit 1, after a line {"error": ...},
 * on a failure or when a phase or round takes longer than its time limit.
 * It is written in C so that its own CPU time, taken from the 2 CPUs the
 * daemon it measures runs on, stays small.
 *
 *   cc -std=c11 -O2 -Wall -Wextra -Werror -o fanout bench/notify/fanout.c
 *   fanout --port P --user AOR_USER [--count N] [--window N]
 *          [--rounds N] [--limit SECONDS]
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	READ_BYTES = 1 << 20,	   /* one recv() at most */
	BUF_MAX_BYTES = 256 << 20, /* cap of the input and output */
	POLL_MS = 50,
	FLUSH_MS = 500, /* the last 200s of a round go out */
	FAILED_LINE_MAX = 200,
	COUNT_MAX = 10000000,
};

/* A growable byte buffer; off is where unsent output starts. */
struct bytes {
	char *p;
	size_t len;
	size_t cap;
	size_t off;
};

/* NOTIFYs seen per Call-ID: open addressing, linear probing. */
struct call {
	char *id; /* NULL: free slot */
	size_t id_len;
	uint64_t hash;
	long n;
};

/* NOTIFY number n > 1: how many were read, the first and last read time. */
struct later {
	long count;
	double t_first;
	double t_last;
	bool seen;
};

struct opts {
	long port;
	const char *user;
	long count;
	long window;
	long rounds;
	long limit_s;
};

struct watchers {
	const struct opts *o;
	int fd;
	unsigned lport;
	unsigned long tag;
	struct bytes in;
	struct bytes out;
	long sent;
	long answered; /* SUBSCRIBEs with a final response */
	long failed;
	char failed_line[FAILED_LINE_MAX + 1];
	struct call *calls;
	size_t calls_cap; /* a power of two */
	size_t calls_used;
	long none_n; /* NOTIFYs without a Call-ID line */
	long first;  /* subscriptions with their first NOTIFY */
	struct later *later;
	size_t later_cap;
	char err[512];
};

static const char *const keep_names[] = {
	"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq",
};

static double wall_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)(t.tv_nsec / 1000) / 1e6;
}

static double mono_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 +
	       (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}

__attribute__((format(printf, 2, 3))) static int fail(struct watchers *w,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- buffers ---------------------------------------------------------- */

static int bytes_reserve(struct bytes *b, size_t more)
{
	size_t cap;
	char *p;

	if (more > BUF_MAX_BYTES - b->len)
		return -EMSGSIZE;
	if (b->cap - b->len >= more)
		return 0;
	cap = b->cap ? b->cap : 64 * 1024;
	while (cap - b->len < more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int bytes_add(struct bytes *b, const char *p, size_t n)
{
	int err = bytes_reserve(b, n);

	if (err)
		return err;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

__attribute__((format(printf, 2, 3))) static int
bytes_printf(struct bytes *b, const char *fmt, ...)
{
	va_list ap;
	int n, err;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	err = bytes_reserve(b, (size_t)n + 1);
	if (err)
		return err;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

static bool bytes_pending(const struct bytes *b)
{
	return b->off < b->len;
}

static void bytes_fini(struct bytes *b)
{
	free(b->p);
	*b = (struct bytes){0};
}

/* ---- NOTIFYs per Call-ID ---------------------------------------------- */

static uint64_t hash_of(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037u; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211u;
	}
	return h;
}

static int calls_grow(struct watchers *w)
{
	size_t cap = w->calls_cap ? w->calls_cap * 2 : 16384;
	struct call *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < w->calls_cap; i++) {
		struct call *c = &w->calls[i];
		size_t j;

		if (!c->id)
			continue;
		for (j = c->hash & (cap - 1); v[j].id; j = (j + 1) & (cap - 1))
			;
		v[j] = *c;
	}
	free(w->calls);
	w->calls = v;
	w->calls_cap = cap;
	return 0;
}

/* One more NOTIFY for the Call-ID id (NULL: none); *np is its number. */
static int calls_bump(struct watchers *w, const char *id, size_t len, long *np)
{
	uint64_t h;
	size_t j;
	struct call *c;

	if (!id) {
		*np = ++w->none_n;
		return 0;
	}
	if ((w->calls_used + 1) * 2 > w->calls_cap && calls_grow(w))
		return -ENOMEM;
	h = hash_of(id, len);
	for (j = h & (w->calls_cap - 1);; j = (j + 1) & (w->calls_cap - 1)) {
		c = &w->calls[j];
		if (!c->id)
			break;
		if (c->hash == h && c->id_len == len &&
		    !memcmp(c->id, id, len)) {
			*np = ++c->n;
			return 0;
		}
	}
	c->id = malloc(len ? len : 1);
	if (!c->id)
		return -ENOMEM;
	memcpy(c->id, id, len);
	c->id_len = len;
	c->hash = h;
	c->n = 1;
	w->calls_used++;
	*np = 1;
	return 0;
}

/* The NOTIFYs past number r + 1 of every subscription. */
static long long calls_beyond(const struct watchers *w, long r)
{
	long long sum = 0;

	for (size_t i = 0; i < w->calls_cap; i++)
		if (w->calls[i].id && w->calls[i].n > r + 1)
			sum += w->calls[i].n - r - 1;
	if (w->none_n > r + 1)
		sum += w->none_n - r - 1;
	return sum;
}

static struct later *later_at(struct watchers *w, long n)
{
	size_t want = (size_t)n + 1, cap;
	struct later *v;

	if (want > w->later_cap) {
		cap = w->later_cap ? w->later_cap : 16;
		while (cap < want)
			cap *= 2;
		v = realloc(w->later, cap * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + w->later_cap, 0, (cap - w->later_cap) * sizeof(*v));
		w->later = v;
		w->later_cap = cap;
	}
	return &w->later[n];
}

/* ---- messages ---------------------------------------------------------- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void trim(const char **p, size_t *n)
{
	while (*n && is_space(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && is_space((*p)[*n - 1]))
		(*n)--;
}

static bool has_prefix(const char *p, size_t n, const char *pre)
{
	size_t k = strlen(pre);

	return n >= k && !memcmp(p, pre, k);
}

static bool name_is(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);

	if (n != k)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(p[i]) != name[i])
			return false;
	return true;
}

/* Offset of the first CRLF CRLF in p[0..n), or -1. */
static long find_end(const char *p, size_t n)
{
	const char *s = p, *e = p + n, *r;

	while (e - s >= 4) {
		r = memchr(s, '\r', (size_t)(e - s) - 3);
		if (!r)
			return -1;
		if (r[1] == '\n' && r[2] == '\r' && r[3] == '\n')
			return r - p;
		s = r + 1;
	}
	return -1;
}

/* The first "CRLF (Content-Length | l) *WSP : *WSP 1*DIGIT" in the head,
 * case-insensitive (RFC 3261 §7.3.3, §20.14); 0 without one, saturated at
 * SIZE_MAX. */
static size_t content_length(const char *h, size_t n)
{
	static const char full[] = "content-length";
	size_t i, k, v;

	for (i = 0; i + 1 < n; i++) {
		if (h[i] != '\r' || h[i + 1] != '\n')
			continue;
		k = i + 2;
		if (n - k >= sizeof(full) - 1 &&
		    name_is(h + k, sizeof(full) - 1, full))
			k += sizeof(full) - 1;
		else if (k < n && lower(h[k]) == 'l')
			k++;
		else
			continue;
		while (k < n && (h[k] == ' ' || h[k] == '\t'))
			k++;
		if (k >= n || h[k] != ':')
			continue;
		k++;
		while (k < n && (h[k] == ' ' || h[k] == '\t'))
			k++;
		if (k >= n || !is_digit(h[k]))
			continue;
		for (v = 0; k < n && is_digit(h[k]); k++) {
			size_t d = (size_t)(h[k] - '0');

			v = v > (SIZE_MAX - d) / 10 ? SIZE_MAX : v * 10 + d;
		}
		return v;
	}
	return 0;
}

/* A response: a final one answers a SUBSCRIBE (RFC 3261 §8.1.3). */
static void handle_response(struct watchers *w, const char *h, size_t n)
{
	const char *s = h + 8, *eol;
	size_t k = n - 8 < 3 ? n - 8 : 3;
	int status = 0;

	trim(&s, &k);
	if (!k)
		return;
	for (size_t i = 0; i < k; i++) {
		if (!is_digit(s[i]))
			return;
		status = status * 10 + (s[i] - '0');
	}
	if (status < 200)
		return;
	w->answered++;
	if (status == 200)
		return;
	if (!w->failed++) {
		for (eol = h; h + n - eol >= 2; eol++)
			if (eol[0] == '\r' && eol[1] == '\n')
				break;
		if (h + n - eol < 2)
			eol = h + n;
		k = (size_t)(eol - h);
		if (k > FAILED_LINE_MAX)
			k = FAILED_LINE_MAX;
		memcpy(w->failed_line, h, k);
		w->failed_line[k] = '\0';
	}
}

/* A NOTIFY: its 200 copies the Via, From, To, Call-ID and CSeq lines
 * (RFC 3261 §8.2.6.2); then it is counted for its Call-ID. */
static int handle_notify(struct watchers *w, const char *h, size_t n,
			 double now)
{
	static const char ok[] = "SIP/2.0 200 OK\r\n";
	static const char tail[] = "Content-Length: 0\r\n\r\n";
	const char *line, *end = h + n, *eol, *colon, *name, *call_id = NULL;
	size_t name_len, call_id_len = 0;
	struct later *l;
	long num;

	if (bytes_add(&w->out, ok, sizeof(ok) - 1))
		return fail(w, "output over %d bytes", BUF_MAX_BYTES);
	for (line = h;; line = eol + 2) {
		for (eol = line; end - eol >= 2; eol++)
			if (eol[0] == '\r' && eol[1] == '\n')
				break;
		if (end - eol < 2)
			eol = end;
		if (line != h) {
			colon = memchr(line, ':', (size_t)(eol - line));
			name = line;
			name_len = (size_t)((colon ? colon : eol) - line);
			trim(&name, &name_len);
			for (size_t i = 0;
			     i < sizeof(keep_names) / sizeof(keep_names[0]);
			     i++) {
				if (!name_is(name, name_len, keep_names[i]))
					continue;
				if (bytes_add(&w->out, line,
					      (size_t)(eol - line)) ||
				    bytes_add(&w->out, "\r\n", 2))
					return fail(w, "output over %d bytes",
						    BUF_MAX_BYTES);
				if (i >= 6 && i <= 7 && colon) {
					call_id = colon + 1;
					call_id_len = (size_t)(eol - call_id);
					trim(&call_id, &call_id_len);
				}
				break;
			}
		}
		if (eol == end)
			break;
	}
	if (bytes_add(&w->out, tail, sizeof(tail) - 1))
		return fail(w, "output over %d bytes", BUF_MAX_BYTES);
	if (calls_bump(w, call_id, call_id_len, &num))
		return fail(w, "out of memory");
	if (num == 1) {
		w->first++;
		return 0;
	}
	l = later_at(w, num);
	if (!l)
		return fail(w, "out of memory");
	l->count++;
	if (!l->seen) {
		l->seen = true;
		l->t_first = now;
	}
	l->t_last = now;
	return 0;
}

static int handle(struct watchers *w, const char *h, size_t n, double now)
{
	if (has_prefix(h, n, "SIP/2.0 ")) {
		handle_response(w, h, n);
		return 0;
	}
	if (!has_prefix(h, n, "NOTIFY "))
		return 0;
	return handle_notify(w, h, n, now);
}

/* Every complete message in the input, CRLF keep-alives between them
 * skipped (RFC 5626 §3.5.1); the rest stays for the next read. */
static int parse_input(struct watchers *w, double now)
{
	const char *p = w->in.p;
	size_t len = w->in.len, pos = 0, head, body;
	long end;

	for (;;) {
		while (len - pos >= 2 && p[pos] == '\r' && p[pos + 1] == '\n')
			pos += 2;
		end = find_end(p + pos, len - pos);
		if (end < 0)
			break;
		head = (size_t)end;
		body = content_length(p + pos, head);
		if (body > len - pos - head - 4)
			break;
		if (handle(w, p + pos, head, now))
			return -1;
		pos += head + 4 + body;
	}
	memmove(w->in.p, p + pos, len - pos);
	w->in.len = len - pos;
	return 0;
}

/* ---- the connection ---------------------------------------------------- */

static int flush_out(struct watchers *w)
{
	struct bytes *b = &w->out;
	ssize_t n;

	while (bytes_pending(b)) {
		n = send(w->fd, b->p + b->off, b->len - b->off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return fail(w, "send: %s", strerror(errno));
		}
		b->off += (size_t)n;
	}
	if (b->off == b->len) {
		b->off = 0;
		b->len = 0;
	} else if (b->off >= READ_BYTES) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	return 0;
}

static int read_in(struct watchers *w)
{
	ssize_t n;
	double now;

	if (bytes_reserve(&w->in, READ_BYTES))
		return fail(w, "a message over %d bytes", BUF_MAX_BYTES);
	n = recv(w->fd, w->in.p + w->in.len, READ_BYTES, 0);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return fail(w, "recv: %s", strerror(errno));
	}
	if (n == 0)
		return fail(w, "sipcertd closed the connection");
	now = wall_now(); /* one time for the whole batch */
	w->in.len += (size_t)n;
	if (parse_input(w, now))
		return -1;
	return bytes_pending(&w->out) ? flush_out(w) : 0;
}

/* One wait of at most POLL_MS for the socket, then what it allows. */
static int pump(struct watchers *w)
{
	struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
	int n;

	if (bytes_pending(&w->out))
		pfd.events |= POLLOUT;
	n = poll(&pfd, 1, POLL_MS);
	if (n < 0)
		return errno == EINTR ? 0
				      : fail(w, "poll: %s", strerror(errno));
	if (!n)
		return 0;
	if ((pfd.revents & POLLOUT) && flush_out(w))
		return -1;
	if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
		return read_in(w);
	return 0;
}

static int subscribe(struct watchers *w, long i)
{
	const char *u = w->o->user;
	unsigned long t = w->tag;
	unsigned lp = w->lport;

	if (bytes_printf(&w->out,
			 "SUBSCRIBE sip:%s@example.test SIP/2.0\r\n"
			 "Via: SIP/2.0/TCP 127.0.0.1:%u;"
			 "branch=z9hG4bK-f%lx-%ld;rport\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:w%ld@example.test>;tag=f%lx-%ld\r\n"
			 "To: <sip:%s@example.test>\r\n"
			 "Call-ID: f%lx-%ld@fanout\r\n"
			 "CSeq: 1 SUBSCRIBE\r\n"
			 "Contact: <sip:w%ld@127.0.0.1:%u;transport=tcp>\r\n"
			 "Event: certificate\r\n"
			 "Accept: application/pkix-cert\r\n"
			 "Expires: 3600\r\n"
			 "Content-Length: 0\r\n\r\n",
			 u, lp, t, i, i, t, i, u, t, i, i, lp))
		return fail(w, "output over %d bytes", BUF_MAX_BYTES);
	return 0;
}

static int fcntl_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

static int watchers_connect(struct watchers *w)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int one = 1;

	a.sin_port = htons((uint16_t)w->o->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	w->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (w->fd < 0)
		return fail(w, "socket: %s", strerror(errno));
	if (connect(w->fd, (struct sockaddr *)&a, sizeof(a)))
		return fail(w, "connect 127.0.0.1:%ld: %s", w->o->port,
			    strerror(errno));
	if (setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    getsockname(w->fd, (struct sockaddr *)&a, &alen))
		return fail(w, "socket options: %s", strerror(errno));
	if (fcntl_nonblock(w->fd))
		return fail(w, "O_NONBLOCK: %s", strerror(errno));
	w->lport = ntohs(a.sin_port);
	return 0;
}

/* ---- phases ------------------------------------------------------------ */

static int phase1(struct watchers *w)
{
	const struct opts *o = w->o;
	double deadline = mono_now() + (double)o->limit_s;

	while (w->answered < o->count || w->first < o->count) {
		while (w->sent < o->count && w->sent - w->answered < o->window)
			if (subscribe(w, ++w->sent))
				return -1;
		if (w->failed)
			return fail(w, "SUBSCRIBE answered %s (%ld such)",
				    w->failed_line, w->failed);
		if (mono_now() > deadline)
			return fail(w,
				    "phase 1 over %ld s: %ld of %ld "
				    "answered, %ld first NOTIFYs",
				    o->limit_s, w->answered, o->count,
				    w->first);
		if (pump(w))
			return -1;
	}
	while (bytes_pending(&w->out)) {
		if (mono_now() > deadline)
			return fail(w,
				    "phase 1 over %ld s: the last 200s "
				    "not sent",
				    o->limit_s);
		if (pump(w))
			return -1;
	}
	return 0;
}

/* Until every subscription has had NOTIFY number r + 1. */
static int wait_round(struct watchers *w, long r)
{
	const struct opts *o = w->o;
	double deadline = mono_now() + (double)o->limit_s, end;

	if (!later_at(w, r + 1))
		return fail(w, "out of memory");
	while (w->later[r + 1].count < o->count) {
		if (mono_now() > deadline)
			return fail(w,
				    "round %ld over %ld s: %ld of %ld "
				    "NOTIFYs",
				    r, o->limit_s, w->later[r + 1].count,
				    o->count);
		if (pump(w))
			return -1;
	}
	end = mono_now() + FLUSH_MS / 1e3;
	while (bytes_pending(&w->out) && mono_now() < end)
		if (pump(w))
			return -1;
	return 0;
}

/* ---- output and options ------------------------------------------------ */

/* {"error": "..."}: the message as a JSON string (RFC 8259 §7). */
static void print_error(const char *msg)
{
	fputs("{\"error\": \"", stdout);
	for (const unsigned char *c = (const unsigned char *)msg; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if (*c < 0x20 || *c >= 0x7f)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	}
	fputs("\"}\n", stdout);
	fflush(stdout);
}

static void print_time(const char *key, const struct later *l, double t)
{
	if (l->seen)
		printf("\"%s\": %.6f", key, t);
	else
		printf("\"%s\": null", key);
}

static void watchers_fini(struct watchers *w)
{
	for (size_t i = 0; i < w->calls_cap; i++)
		free(w->calls[i].id);
	free(w->calls);
	free(w->later);
	bytes_fini(&w->in);
	bytes_fini(&w->out);
	if (w->fd >= 0)
		close(w->fd);
}

static int usage(void)
{
	fputs("usage: fanout --port P --user AOR_USER [--count N] "
	      "[--window N]\n              [--rounds N] [--limit SECONDS]\n",
	      stderr);
	return 2;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* --name VALUE or --name=VALUE */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct {
		const char *name;
		long min;
		long max;
		size_t field;
	} nums[] = {
		{"port", 1, 65535, offsetof(struct opts, port)},
		{"count", 0, COUNT_MAX, offsetof(struct opts, count)},
		{"window", 1, COUNT_MAX, offsetof(struct opts, window)},
		{"rounds", 0, 1000, offsetof(struct opts, rounds)},
		{"limit", 0, 86400, offsetof(struct opts, limit_s)},
	};

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v, *eq;
		size_t k, j;

		if (strncmp(a, "--", 2))
			return -1;
		a += 2;
		eq = strchr(a, '=');
		k = eq ? (size_t)(eq - a) : strlen(a);
		if (eq)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		else
			return -1;
		if (k == 4 && !strncmp(a, "user", 4)) {
			o->user = v;
			continue;
		}
		for (j = 0; j < sizeof(nums) / sizeof(nums[0]); j++)
			if (strlen(nums[j].name) == k &&
			    !strncmp(a, nums[j].name, k))
				break;
		if (j == sizeof(nums) / sizeof(nums[0]) ||
		    !parse_long(v, nums[j].min, nums[j].max,
				(long *)((char *)o + nums[j].field)))
			return -1;
	}
	return o->port && o->user ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.count = 10000,
		.window = 200,
		.rounds = 1,
		.limit_s = 120,
	};
	struct watchers w = {.o = &o, .fd = -1};
	double t0, c0, c1;
	int rc = 1;

	if (parse_opts(argc, argv, &o))
		return usage();
	w.tag = (unsigned long)getpid();
	t0 = mono_now();
	c0 = cpu_seconds();
	if (watchers_connect(&w) || phase1(&w))
		goto out;
	printf("READY {\"subscriptions\": %ld, \"seconds\": %.3f, "
	       "\"cpu_s\": %.3f}\n",
	       w.first, mono_now() - t0, cpu_seconds() - c0);
	fflush(stdout);
	for (long r = 1; r <= o.rounds; r++) {
		const struct later *l;

		c1 = cpu_seconds();
		if (wait_round(&w, r))
			goto out;
		l = &w.later[r + 1];
		printf("ROUND %ld {\"notifies\": %ld, ", r, l->count);
		print_time("t_first", l, l->t_first);
		fputs(", ", stdout);
		print_time("t_last", l, l->t_last);
		printf(", \"cpu_s\": %.3f, \"beyond\": %lld}\n",
		       cpu_seconds() - c1, calls_beyond(&w, r));
		fflush(stdout);
	}
	rc = 0;
out:
	if (rc)
		print_error(w.err);
	watchers_fini(&w);
	return rc;
}
