/* SPDX-License-Identifier: BSD-3-Clause */
/* bench/parse: messages per second of sipcert's sip_msg_decode() (RFC 3261
 * §7, §20) on six realistic messages, measured in one run side by side
 * with libosip2 and sofia-sip parsing the same bytes to the same depth. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "sip/sip.h"

#ifndef BENCH_CORPUS_DIR
#define BENCH_CORPUS_DIR "bench/corpus"
#endif

/* The peers live in their own files so that no sipcert code includes
 * their headers. Each parse function allocates, parses to the agreed
 * depth and frees; each describe function prints the agreed summary. */
#ifdef HAVE_OSIP
int bench_osip_init(void);
int bench_osip_parse(const char *data, size_t len);
int bench_osip_describe(const char *data, size_t len, char *out, size_t cap);
#endif
#ifdef HAVE_SOFIA
int bench_sofia_init(void);
int bench_sofia_parse(const char *data, size_t len);
int bench_sofia_describe(const char *data, size_t len, char *out, size_t cap);
#endif

enum { MAX_PARTS = 8 };

/* What sipcert parses beyond sip_msg_decode() to reach a peer's depth
 * (RESULTS.md "Method" has the table). Both peers parse Contact, Route,
 * Record-Route, the credentials and challenges, Accept and split the
 * comma lists into their tokens; only osip splits a multipart body into
 * its parts, only sofia parses Date, Subscription-State, Session-Expires
 * and Content-Disposition. */
enum depth {
	DEPTH_OSIP = 1 << 0,  /* osip_message_parse() + Event, Expires, MF */
	DEPTH_SOFIA = 1 << 1, /* msg_make() with the SIP message class */
};

struct deep {
	size_t n_contact, n_rr, n_route, n_tokens, n_parts;
	struct sip_addr contact;
	bool has_auth;
	struct sip_auth auth;
};

static int each_value(struct slice v, int (*fn)(struct slice e, void *arg),
		      void *arg)
{
	struct scan s = scan_of(v);
	struct slice e;
	int err;

	while ((err = sip_list_next(&s, &e)) == 0)
		if (fn(e, arg))
			return -EBADMSG;
	return err == -ENOENT ? 0 : -EBADMSG;
}

static int contact_one(struct slice e, void *arg)
{
	struct deep *d = arg;
	struct sip_addr a;

	if (sip_contact_parse(e, &a))
		return -EBADMSG;
	if (d->n_contact++ == 0)
		d->contact = a;
	return 0;
}

static int addr_one(struct slice e, void *arg)
{
	struct sip_addr a;

	(*(size_t *)arg)++;
	return sip_addr_parse(e, &a);
}

/* token *(SEMI generic-param): Allow, Supported, Accept-Encoding... */
static int token_one(struct slice e, void *arg)
{
	struct scan s = scan_of(e);
	struct slice name, value;
	int err;

	(*(size_t *)arg)++;
	if (scan_token(&s, NULL))
		return -EBADMSG;
	while ((err = sip_param_next(&s, &name, &value)) == 0)
		;
	return err == -ENOENT && !scan_end(&s) ? 0 : -EBADMSG;
}

static int ctype_one(struct slice e, void *arg)
{
	struct sip_ctype ct;

	(*(size_t *)arg)++;
	return sip_ctype_parse(e, &ct);
}

/* Session-Expires = delta-seconds *(SEMI se-params) (RFC 4028 §4): not in
 * sipcert's table, but sofia-sip parses it. */
static int session_expires(struct slice v)
{
	struct scan s = scan_of(v);
	struct slice name, value;
	uint32_t delta;
	int err;

	if (scan_u32(&s, UINT32_MAX, &delta))
		return -EBADMSG;
	while ((err = sip_param_next(&s, &name, &value)) == 0)
		;
	return err == -ENOENT && !scan_end(&s) ? 0 : -EBADMSG;
}

static int parse_parts(const struct sip_msg *m, struct deep *d)
{
	struct sip_part parts[MAX_PARTS];
	struct sip_ctype ct;
	size_t n;

	if (sip_multipart_parse(m->body, m->ctype.boundary, parts, MAX_PARTS,
				&n))
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		if (parts[i].ctype.len && sip_ctype_parse(parts[i].ctype, &ct))
			return -EBADMSG;
	d->n_parts = n;
	return 0;
}

static int parse_deep(const struct sip_msg *m, unsigned depth, struct deep *d)
{
	bool sofia = depth & DEPTH_SOFIA;

	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < m->n_hdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		struct sip_substate ss;
		struct sip_disposition disp;
		time_t t;
		int err = 0;

		switch (h->id) {
		case SIP_HDR_CONTACT:
			err = each_value(h->value, contact_one, d);
			break;
		case SIP_HDR_RECORD_ROUTE:
			err = each_value(h->value, addr_one, &d->n_rr);
			break;
		case SIP_HDR_ROUTE:
			err = each_value(h->value, addr_one, &d->n_route);
			break;
		case SIP_HDR_AUTHORIZATION:
		case SIP_HDR_PROXY_AUTHORIZATION:
		case SIP_HDR_WWW_AUTHENTICATE:
		case SIP_HDR_PROXY_AUTHENTICATE:
			err = sip_auth_parse(h->value, &d->auth);
			d->has_auth = true;
			break;
		case SIP_HDR_ACCEPT:
			err = each_value(h->value, ctype_one, &d->n_tokens);
			break;
		case SIP_HDR_ACCEPT_ENCODING:
		case SIP_HDR_ACCEPT_LANGUAGE:
		case SIP_HDR_ALLOW:
		case SIP_HDR_ALLOW_EVENTS:
		case SIP_HDR_SUPPORTED:
		case SIP_HDR_REQUIRE:
		case SIP_HDR_PROXY_REQUIRE:
		case SIP_HDR_UNSUPPORTED:
		case SIP_HDR_CONTENT_ENCODING:
			err = each_value(h->value, token_one, &d->n_tokens);
			break;
		case SIP_HDR_DATE:
			if (sofia)
				err = sip_date_parse(h->value, &t);
			break;
		case SIP_HDR_SUBSCRIPTION_STATE:
			if (sofia)
				err = sip_substate_parse(h->value, &ss);
			break;
		case SIP_HDR_CONTENT_DISPOSITION:
			if (sofia)
				err = sip_disposition_parse(h->value, &disp);
			break;
		case SIP_HDR_OTHER:
			if (sofia &&
			    (slice_caseeq_cstr(h->name, "Session-Expires") ||
			     slice_caseeq_cstr(h->name, "x")))
				err = session_expires(h->value);
			break;
		default:
			break;
		}
		if (err)
			return -EBADMSG;
	}
	if ((depth & DEPTH_OSIP) && m->has_ctype &&
	    slice_caseeq_cstr(m->ctype.type, "multipart"))
		return parse_parts(m, d);
	return 0;
}

/* sip_msg_decode() alone: the eager keys and the header index. */
static int ours_decode(const char *data, size_t len)
{
	struct sip_msg *m;

	if (sip_msg_decode(&m, data, len, SIP_DECODE_DATAGRAM, NULL))
		return -1;
	sip_msg_free(m);
	return 0;
}

#if defined(HAVE_OSIP) || defined(HAVE_SOFIA)
/* sip_msg_decode() plus the lazy parsers, to one peer's depth. */
static int ours_parse(const char *data, size_t len, unsigned depth)
{
	struct sip_msg *m;
	struct deep d;
	int err;

	if (sip_msg_decode(&m, data, len, SIP_DECODE_DATAGRAM, NULL))
		return -1;
	err = parse_deep(m, depth, &d);
	sip_msg_free(m);
	return err ? -1 : 0;
}

#endif

#ifdef HAVE_OSIP
static int ours_osip(const char *data, size_t len)
{
	return ours_parse(data, len, DEPTH_OSIP);
}
#endif

#ifdef HAVE_SOFIA
static int ours_sofia(const char *data, size_t len)
{
	return ours_parse(data, len, DEPTH_SOFIA);
}
#endif

static const char *sl(struct slice s, char *tmp, size_t cap)
{
	if (!s.p)
		return "-";
	snprintf(tmp, cap, "%.*s", SLICE_FMT(s));
	return tmp;
}

static int ours_describe(const char *data, size_t len, char *out, size_t cap)
{
	struct sip_msg *m;
	struct sip_error e;
	struct deep d;
	char start[256], ctc[256], au[256], ct[256], cl[16], t[10][80];

	if (sip_msg_decode(&m, data, len, SIP_DECODE_DATAGRAM, &e)) {
		fprintf(stderr, "sipcert: %u %s\n", e.status, e.reason);
		return -1;
	}
	if (parse_deep(m, DEPTH_OSIP | DEPTH_SOFIA, &d)) {
		fprintf(stderr, "sipcert: a lazily parsed header failed\n");
		sip_msg_free(m);
		return -1;
	}
	if (m->is_request)
		snprintf(start, sizeof(start), "%.*s %.*s",
			 SLICE_FMT(m->method), SLICE_FMT(m->ruri.host));
	else
		snprintf(start, sizeof(start), "%u", m->status);
	snprintf(ctc, sizeof(ctc), "%zu %s", d.n_contact,
		 d.n_contact ? sl(d.contact.uri.host, t[0], sizeof(t[0]))
			     : "-");
	if (d.has_auth)
		snprintf(au, sizeof(au), "%s nc=%s",
			 sl(d.auth.username, t[1], sizeof(t[1])),
			 sl(d.auth.nc, t[2], sizeof(t[2])));
	else
		snprintf(au, sizeof(au), "-");
	if (m->has_ctype)
		snprintf(ct, sizeof(ct), "%.*s/%.*s", SLICE_FMT(m->ctype.type),
			 SLICE_FMT(m->ctype.subtype));
	else
		snprintf(ct, sizeof(ct), "-/-");
	if (m->has_content_length)
		snprintf(cl, sizeof(cl), "%u", m->content_length);
	else
		snprintf(cl, sizeof(cl), "-");
	snprintf(out, cap,
		 "%s | via=%zu %s %s | from=%s@%s;tag=%s | to-tag=%s | "
		 "cid=%.*s | cseq=%u %.*s | contact=%s | rr=%zu | auth=%s | "
		 "ct=%s cl=%s | event=%s expires=%ld mf=%ld",
		 start, m->n_via, sl(m->via.host, t[3], sizeof(t[3])),
		 sl(m->via.branch, t[4], sizeof(t[4])),
		 sl(m->from.uri.user, t[5], sizeof(t[5])),
		 sl(m->from.uri.host, t[6], sizeof(t[6])),
		 sl(m->from.tag, t[7], sizeof(t[7])),
		 sl(m->to.tag, t[8], sizeof(t[8])), SLICE_FMT(m->call_id),
		 m->cseq.num, SLICE_FMT(m->cseq.method), ctc, d.n_rr, au, ct,
		 cl,
		 m->has_event ? sl(m->event.package, t[9], sizeof(t[9])) : "-",
		 m->has_expires ? (long)m->expires : -1L,
		 m->has_max_forwards ? (long)m->max_forwards : -1L);
	sip_msg_free(m);
	return 0;
}

struct impl {
	const char *name;
	int (*parse)(const char *data, size_t len);
	int (*describe)(const char *data, size_t len, char *out, size_t cap);
	const char *peer; /* a peer: its name; sipcert: the peer it matches */
	bool is_peer;
};

static const struct impl impls[] = {
	{"sipcert-decode", ours_decode, ours_describe, NULL, false},
#ifdef HAVE_OSIP
	{"sipcert~osip", ours_osip, ours_describe, "libosip2", false},
	{"libosip2", bench_osip_parse, bench_osip_describe, "libosip2", true},
#endif
#ifdef HAVE_SOFIA
	{"sipcert~sofia", ours_sofia, ours_describe, "sofia-sip", false},
	{"sofia-sip", bench_sofia_parse, bench_sofia_describe, "sofia-sip",
	 true},
#endif
};
enum { N_IMPLS = ARRAY_SIZE(impls) };

static const char *const msg_names[] = {
	"register", "subscribe", "notify", "publish", "invite", "ok200",
};
enum { N_MSGS = ARRAY_SIZE(msg_names), MAX_REPS = 15 };

struct corpus_msg {
	char *data;
	size_t len;
};

struct opts {
	const char *corpus_dir;
	uint32_t iters;	    /* 0: calibrate to target_ms */
	uint32_t target_ms; /* per timed sample */
	uint32_t reps;
	bool verbose;
	const char *only_impl;
	const char *only_msg;
};

struct sample {
	double wall_ns; /* per message */
	double cpu_ns;
};

static int read_file(const char *path, struct corpus_msg *out)
{
	struct buf b;
	char chunk[4096];
	size_t len;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	buf_init(&b, SIP_MAX_MSG_BYTES);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&b, chunk, (size_t)n))
			break;
	close(fd);
	if (n != 0 || b.err) {
		buf_fini(&b);
		return n < 0 ? -EIO : -EMSGSIZE;
	}
	/* an exact-size copy, so a read past the end shows under ASan */
	out->data = mem_alloc(b.len ? b.len : 1);
	if (!out->data) {
		buf_fini(&b);
		return -ENOMEM;
	}
	memcpy(out->data, b.p, b.len);
	len = b.len;
	out->len = len;
	buf_fini(&b);
	return 0;
}

static double now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Every parse this program times, for per-message instruction counts:
 * valgrind --tool=callgrind --toggle-collect=run_loop (scripts/bench.sh
 * --instructions) divides the instructions by this. */
static unsigned long long loop_iterations;

/* Not inlined, so callgrind can collect exactly the timed loops. */
__attribute__((noinline)) static int run_loop(const struct impl *im,
					      const struct corpus_msg *cm,
					      uint32_t iters, struct sample *s)
{
	double w0, c0;

	loop_iterations += iters;

	w0 = now_ns(CLOCK_MONOTONIC);
	c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	for (uint32_t i = 0; i < iters; i++)
		if (im->parse(cm->data, cm->len))
			return -1;
	s->cpu_ns = (now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / iters;
	s->wall_ns = (now_ns(CLOCK_MONOTONIC) - w0) / iters;
	return 0;
}

/* Iterations for one sample of about target_ms. */
static uint32_t calibrate(const struct impl *im, const struct corpus_msg *cm,
			  uint32_t target_ms)
{
	uint32_t n = 64;
	struct sample s;

	for (;;) {
		double took;

		if (run_loop(im, cm, n, &s))
			return 0;
		took = s.wall_ns * n;
		if (took >= target_ms * 1e6 / 4 || n >= UINT32_MAX / 8) {
			double want = target_ms * 1e6 / s.wall_ns;

			return want < 16 ? 16 : (uint32_t)want;
		}
		n *= 2;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, size_t n)
{
	double tmp[MAX_REPS];

	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static bool wanted(const char *only, const char *name)
{
	return !only || !strcmp(only, name);
}

static int check_corpus(const struct corpus_msg *cms, bool ok[N_MSGS][N_IMPLS],
			const struct opts *o)
{
	int mismatches = 0;

	for (size_t mi = 0; mi < N_MSGS; mi++) {
		char ref[1024] = "", got[1024];

		if (!wanted(o->only_msg, msg_names[mi]))
			continue;
		for (size_t ii = 0; ii < N_IMPLS; ii++) {
			const struct impl *im = &impls[ii];

			ok[mi][ii] = im->describe(cms[mi].data, cms[mi].len,
						  got, sizeof(got)) == 0 &&
				     im->parse(cms[mi].data, cms[mi].len) == 0;
			if (!ok[mi][ii]) {
				printf("FAIL %-9s %-14s does not parse\n",
				       msg_names[mi], im->name);
				continue;
			}
			if (o->verbose)
				printf("%-9s %-14s %s\n", msg_names[mi],
				       im->name, got);
			if (!ref[0]) {
				memcpy(ref, got, sizeof(ref));
			} else if (strcmp(ref, got)) {
				printf("MISMATCH %s %s:\n  %s\n  %s\n",
				       msg_names[mi], im->name, ref, got);
				mismatches++;
			}
		}
	}
	return mismatches;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: parse [--corpus DIR] [--iters N] [--target-ms MS]\n"
		"             [--reps N] [--only IMPL] [--msg NAME]\n"
		"             [--callgrind] [--verbose]\n"
		"IMPL: sipcert-decode, sipcert~osip, libosip2, sipcert~sofia,\n"
		"      sofia-sip\n"
		"NAME: register, subscribe, notify, publish, invite, ok200\n"
		"BENCH_CALLGRIND=1 in the environment is --callgrind.\n");
}

static int num_arg(const char *s, uint32_t max, uint32_t *out)
{
	return s ? slice_u32(slice_cstr(s), max, out) : -EINVAL;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	const char *cg = getenv("BENCH_CALLGRIND");

	*o = (struct opts){
		.corpus_dir = BENCH_CORPUS_DIR,
		.target_ms = 200,
		.reps = 5,
	};
#ifdef HAVE_VALGRIND_H
	/* make bench CALLGRIND=1 runs us under valgrind without arguments */
	if (RUNNING_ON_VALGRIND)
		cg = "1";
#endif
	if (cg && *cg && strcmp(cg, "0")) {
		o->iters = 200;
		o->reps = 1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int err = 0;

		if (!strcmp(a, "--corpus") && v) {
			o->corpus_dir = v;
			i++;
		} else if (!strcmp(a, "--iters")) {
			err = num_arg(v, UINT32_MAX, &o->iters);
			i++;
		} else if (!strcmp(a, "--target-ms")) {
			err = num_arg(v, 60000, &o->target_ms);
			i++;
		} else if (!strcmp(a, "--reps")) {
			err = num_arg(v, MAX_REPS, &o->reps);
			i++;
		} else if (!strcmp(a, "--only") && v) {
			o->only_impl = v;
			i++;
		} else if (!strcmp(a, "--msg") && v) {
			o->only_msg = v;
			i++;
		} else if (!strcmp(a, "--callgrind")) {
			o->iters = 200;
			o->reps = 1;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			o->verbose = true;
		} else {
			err = -EINVAL;
		}
		if (err) {
			usage();
			return -EINVAL;
		}
	}
	if (!o->reps || !o->target_ms) {
		usage();
		return -EINVAL;
	}
	return 0;
}

/* The sipcert variant that parses to this peer's depth. */
static size_t ours_for(const char *peer)
{
	for (size_t i = 0; i < N_IMPLS; i++)
		if (!impls[i].is_peer && impls[i].peer &&
		    !strcmp(impls[i].peer, peer))
			return i;
	return 0;
}

static void print_results(const struct corpus_msg *cms,
			  double med[N_MSGS][N_IMPLS][2],
			  bool ok[N_MSGS][N_IMPLS], const struct opts *o)
{
	printf("\n%-9s %6s  %-14s %12s %10s %10s %12s\n", "message", "bytes",
	       "implementation", "msgs/s cpu", "cpu ns", "wall ns",
	       "msgs/s wall");
	for (size_t mi = 0; mi < N_MSGS; mi++) {
		if (!wanted(o->only_msg, msg_names[mi]))
			continue;
		for (size_t ii = 0; ii < N_IMPLS; ii++) {
			if (!wanted(o->only_impl, impls[ii].name))
				continue;
			if (!ok[mi][ii]) {
				printf("%-9s %6zu  %-14s %12s\n", msg_names[mi],
				       cms[mi].len, impls[ii].name, "FAILED");
				continue;
			}
			printf("%-9s %6zu  %-14s %12.0f %10.0f %10.0f %12.0f\n",
			       msg_names[mi], cms[mi].len, impls[ii].name,
			       1e9 / med[mi][ii][1], med[mi][ii][1],
			       med[mi][ii][0], 1e9 / med[mi][ii][0]);
		}
	}
	if (o->only_impl)
		return;
	if (!impls[N_IMPLS - 1].is_peer) {
		printf("\nno peer was built in (bench/meson.build looks for "
		       "libosip2 and sofia-sip-ua)\n");
		return;
	}
	printf("\nsipcert at each peer's depth against that peer; the ratio "
	       "is the peer's\nCPU time per message over sipcert's (wall "
	       "clock in brackets)\n");
	printf("%-9s %-10s %12s %12s %7s %9s  %s\n", "message", "peer",
	       "peer msgs/s", "sipcert/s", "ratio", "(wall)", "");
	for (size_t mi = 0; mi < N_MSGS; mi++) {
		double best = 0, best_ratio = 0;
		const char *best_name = NULL;

		if (!wanted(o->only_msg, msg_names[mi]))
			continue;
		for (size_t pi = 0; pi < N_IMPLS; pi++) {
			const struct impl *p = &impls[pi];
			size_t qi;
			double ratio;

			if (!p->is_peer)
				continue;
			qi = ours_for(p->peer);
			if (!ok[mi][pi] || !ok[mi][qi]) {
				printf("%-9s %-10s %s\n", msg_names[mi],
				       p->name, "FAILED (not timed)");
				continue;
			}
			ratio = med[mi][pi][1] / med[mi][qi][1];
			printf("%-9s %-10s %12.0f %12.0f %6.2fx %8.2fx\n",
			       msg_names[mi], p->name, 1e9 / med[mi][pi][1],
			       1e9 / med[mi][qi][1], ratio,
			       med[mi][pi][0] / med[mi][qi][0]);
			if (!best || med[mi][pi][1] < best) {
				best = med[mi][pi][1];
				best_ratio = ratio;
				best_name = p->name;
			}
		}
		if (best_name)
			printf("%-9s faster peer %s: %.2fx, goal 1.5x %s\n",
			       msg_names[mi], best_name, best_ratio,
			       best_ratio >= 1.5 ? "met" : "NOT met");
	}
}

int main(int argc, char **argv)
{
	static struct sample samples[N_MSGS][N_IMPLS][MAX_REPS];
	static double med[N_MSGS][N_IMPLS][2];
	static bool ok[N_MSGS][N_IMPLS];
	static uint32_t iters[N_MSGS][N_IMPLS];
	struct corpus_msg cms[N_MSGS] = {{0}};
	struct opts o;
	int mismatches, rc = 1;

	if (parse_args(argc, argv, &o))
		return 2;
#ifdef HAVE_OSIP
	if (bench_osip_init()) {
		fprintf(stderr, "libosip2: parser_init failed\n");
		return 1;
	}
#endif
#ifdef HAVE_SOFIA
	if (bench_sofia_init()) {
		fprintf(stderr, "sofia-sip: no SIP message class\n");
		return 1;
	}
#endif
	for (size_t mi = 0; mi < N_MSGS; mi++) {
		char path[4096];
		int err;

		snprintf(path, sizeof(path), "%s/%s.sip", o.corpus_dir,
			 msg_names[mi]);
		err = read_file(path, &cms[mi]);
		if (err) {
			fprintf(stderr, "%s: %s\n", path, strerror(-err));
			goto out;
		}
	}
	mismatches = check_corpus(cms, ok, &o);
	if (mismatches)
		printf("WARNING: the implementations disagree (see above)\n");

	/* Each message type is measured for every implementation in turn,
	 * the order rotating from one repetition to the next, so drift in
	 * the machine's speed touches all of them alike. */
	for (size_t mi = 0; mi < N_MSGS; mi++)
		for (size_t ii = 0; ii < N_IMPLS; ii++) {
			struct sample s;

			if (!ok[mi][ii] || !wanted(o.only_msg, msg_names[mi]) ||
			    !wanted(o.only_impl, impls[ii].name))
				continue;
			/* warm-up: caches, branch predictors, the heap */
			if (run_loop(&impls[ii], &cms[mi],
				     o.iters ? (o.iters + 9) / 10 : 2000, &s)) {
				ok[mi][ii] = false;
				continue;
			}
			iters[mi][ii] = o.iters;
			if (!o.iters)
				iters[mi][ii] = calibrate(&impls[ii], &cms[mi],
							  o.target_ms);
			if (!iters[mi][ii])
				ok[mi][ii] = false;
		}
	for (uint32_t r = 0; r < o.reps; r++)
		for (size_t mi = 0; mi < N_MSGS; mi++)
			for (size_t k = 0; k < N_IMPLS; k++) {
				size_t ii = (k + r) % N_IMPLS;

				if (!ok[mi][ii] ||
				    !wanted(o.only_msg, msg_names[mi]) ||
				    !wanted(o.only_impl, impls[ii].name))
					continue;
				if (run_loop(&impls[ii], &cms[mi],
					     iters[mi][ii],
					     &samples[mi][ii][r]))
					ok[mi][ii] = false;
			}
	for (size_t mi = 0; mi < N_MSGS; mi++)
		for (size_t ii = 0; ii < N_IMPLS; ii++) {
			double w[MAX_REPS], c[MAX_REPS];

			for (uint32_t r = 0; r < o.reps; r++) {
				w[r] = samples[mi][ii][r].wall_ns;
				c[r] = samples[mi][ii][r].cpu_ns;
			}
			med[mi][ii][0] = median(w, o.reps);
			med[mi][ii][1] = median(c, o.reps);
		}
	printf("\n%u repetitions, median; iterations per sample:", o.reps);
	for (size_t mi = 0; mi < N_MSGS; mi++)
		for (size_t ii = 0; ii < N_IMPLS; ii++)
			if (iters[mi][ii] && o.verbose)
				printf(" %s/%s=%u", msg_names[mi],
				       impls[ii].name, iters[mi][ii]);
	printf(o.verbose ? "\n" : " %s\n",
	       o.iters ? "fixed" : "about target-ms each");
	print_results(cms, med, ok, &o);
	printf("\nrun_loop iterations: %llu\n", loop_iterations);
	/* a failed parse or a disagreement is a finding: say so in the
	 * exit status too */
	rc = mismatches ? 1 : 0;
	for (size_t mi = 0; mi < N_MSGS; mi++)
		for (size_t ii = 0; ii < N_IMPLS; ii++)
			if (!ok[mi][ii] && wanted(o.only_msg, msg_names[mi]) &&
			    wanted(o.only_impl, impls[ii].name))
				rc = 1;
out:
	for (size_t mi = 0; mi < N_MSGS; mi++)
		mem_free(cms[mi].data);
	return rc;
}
