/* SPDX-License-Identifier: BSD-3-Clause */
/* kill -9 at any moment never leaves a half-written record, and a write
 * that returned 0 is there after the crash: a child writes credentials
 * until the parent SIGKILLs it, then the parent checks the database. */
#include "store/testdb.h"

#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define AOR "sip:alice@example.com"

enum {
	ROUNDS = 5,
	MAX_WRITES = 1 << 20,
	KEY_BYTES = 200,
};

/* Write seq's certificate is seq-dependent in size (up to 12 KiB, so a
 * record spans several pages) and content. */
static size_t cert_len(uint32_t seq)
{
	return 1 + (seq * 2654435761u) % (12 * 1024);
}

static uint8_t cert_byte(uint32_t seq, size_t i)
{
	return (uint8_t)(seq * 31u + i * 7u);
}

static uint8_t key_byte(uint32_t seq, size_t i)
{
	return (uint8_t)(seq ^ (i * 13u));
}

/* The child: open (creating the schema and the user when they are not
 * there yet), then put credential 0, 1, 2... each one transaction of a
 * credential row and a history row, and report each sequence number on
 * fd only after store_cred_put() returned 0. Never returns. */
static void child_write(const char *url, int fd)
{
	struct store *st = NULL;
	uint8_t *cert = mem_alloc(12 * 1024), key[KEY_BYTES];
	char device[32], etag[32], sha256[65];
	int err;

	if (!cert || store_open(&st, url))
		_exit(2);
	err = testdb_user(st, AOR);
	if (err && err != -EEXIST)
		_exit(3);
	for (uint32_t seq = 0; seq < MAX_WRITES; seq++) {
		size_t n = cert_len(seq);

		for (size_t i = 0; i < n; i++)
			cert[i] = cert_byte(seq, i);
		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = key_byte(seq, i);
		snprintf(device, sizeof(device), "dev-%u", seq);
		snprintf(etag, sizeof(etag), "etag-%u", seq);
		testdb_fp(sha256, seq);
		err = store_cred_put(st,
				     &(struct store_cred){
					     .aor = AOR,
					     .device = device,
					     .cert_der = cert,
					     .cert_len = n,
					     .sealed_pkcs8 = key,
					     .sealed_pkcs8_len = sizeof(key),
					     .etag = etag,
					     .not_before = 0,
					     .not_after = INT64_MAX,
					     .published_at = seq,
					     .expires_at = INT64_MAX,
					     .sha256 = sha256,
				     });
		if (err)
			_exit(4);
		/* a 4-byte pipe write is atomic (PIPE_BUF) */
		if (write(fd, &seq, sizeof(seq)) != sizeof(seq))
			_exit(5);
	}
	_exit(0);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The parent's side of the pipe: sequence numbers reported so far, and
 * the bytes of one not yet complete. */
struct reports {
	uint8_t part[sizeof(uint32_t)];
	size_t have;
	uint32_t n;
};

/* Read sequence numbers from fd until deadline_ms (until EOF when it is
 * negative); each must be the next one. */
static int drain(int fd, int64_t deadline_ms, struct reports *r)
{
	uint8_t b[4096];

	for (;;) {
		ssize_t got;

		if (deadline_ms >= 0) {
			int64_t left = deadline_ms - now_ms();

			if (left <= 0)
				return 0;
			if (poll(&(struct pollfd){.fd = fd, .events = POLLIN},
				 1, (int)left) <= 0)
				continue;
		}
		got = read(fd, b, sizeof(b));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0) {
			if (deadline_ms >= 0) /* the child died by itself */
				return -EPIPE;
			return r->have ? -EBADMSG : 0;
		}
		for (ssize_t i = 0; i < got; i++) {
			uint32_t seq;

			r->part[r->have++] = b[i];
			if (r->have < sizeof(r->part))
				continue;
			memcpy(&seq, r->part, sizeof(seq));
			r->have = 0;
			if (seq != r->n)
				return -EBADMSG;
			r->n++;
		}
	}
}

/* The sequence number a history fingerprint encodes (testdb_fp()). */
static uint32_t fp_seq(const char *sha256)
{
	uint32_t seq = 0;

	for (int i = 0; i < 4; i++) {
		uint32_t byte = (uint32_t)(hex_val(sha256[2 * i]) << 4 |
					   hex_val(sha256[2 * i + 1]));

		seq |= (byte ^ (uint32_t)i) << (8 * i);
	}
	return seq;
}

/* Credential c is write seq, every byte of it. */
static int cred_whole(const struct store_cred *c, uint32_t seq)
{
	char want[65];

	snprintf(want, sizeof(want), "etag-%u", seq);
	TEST_EQ_STR(c->etag, want);
	testdb_fp(want, seq);
	TEST_EQ_STR(c->sha256, want);
	TEST_EQ_INT(c->published_at, seq);
	TEST_EQ_INT(c->cert_len, cert_len(seq));
	for (size_t i = 0; i < c->cert_len; i++)
		TEST_ASSERT(c->cert_der[i] == cert_byte(seq, i));
	TEST_EQ_INT(c->sealed_pkcs8_len, KEY_BYTES);
	for (size_t i = 0; i < KEY_BYTES; i++)
		TEST_ASSERT(c->sealed_pkcs8[i] == key_byte(seq, i));
	return 0;
}

/* PRAGMA integrity_check says "ok"; so does a file never created. */
static int integrity_ok(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int ok = 0;

	if (access(path, F_OK) && errno == ENOENT)
		return 1; /* killed before SQLite created it */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) ==
		    SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		ok = !strcmp((const char *)sqlite3_column_text(q, 0), "ok");
	sqlite3_finalize(q);
	sqlite3_close(db);
	return ok;
}

/* After the crash: every reported write is there whole, every credential
 * row has its history row and the other way round, and the writes present
 * are exactly 0..m-1 with m the reported count or one more (the write in
 * flight may have committed before its report). */
static int check_after_crash(struct store *st, uint32_t reported)
{
	struct store_cred **cv = NULL;
	struct store_fp **fv = NULL;
	size_t n_cred = 0, n_fp = 0;
	uint8_t *seen = NULL;
	int rc = -1;

	if (store_cred_list(st, AOR, 0, &cv, &n_cred) ||
	    store_fp_list(st, AOR, &fv, &n_fp)) {
		TEST_FAIL_AT("list: %s", store_last_error(st));
		goto out;
	}
	if (n_cred != n_fp || n_cred < reported || n_cred > reported + 1) {
		TEST_FAIL_AT("%zu credentials, %zu history rows, %u reported",
			     n_cred, n_fp, reported);
		goto out;
	}
	seen = mem_zalloc(n_cred + 1);
	if (!seen)
		goto out;
	for (size_t i = 0; i < n_cred; i++) {
		uint32_t seq;

		if (slice_u32(slice_cstr(cv[i]->device + 4), UINT32_MAX,
			      &seq) ||
		    seq >= n_cred || (seen[seq] & 1) ||
		    cred_whole(cv[i], seq)) {
			TEST_FAIL_AT("credential %s is not whole",
				     cv[i]->device);
			goto out;
		}
		seen[seq] |= 1;
	}
	for (size_t i = 0; i < n_fp; i++) {
		uint32_t seq = fp_seq(fv[i]->sha256);
		char want[65];

		testdb_fp(want, seq);
		if (seq >= n_fp || (seen[seq] & 2) ||
		    strcmp(fv[i]->sha256, want) || fv[i]->first_seen != seq ||
		    fv[i]->revoked_at) {
			TEST_FAIL_AT("history row %s has no credential",
				     fv[i]->sha256);
			goto out;
		}
		seen[seq] |= 2;
	}
	rc = 0; /* n_cred rows of each, no duplicates: 0..n-1 all present */
out:
	mem_free(seen);
	store_list_free(cv, n_cred);
	store_list_free(fv, n_fp);
	return rc;
}

static int one_round(unsigned kill_ms, uint32_t *reported)
{
	struct reports r = {.n = 0};
	struct store *st = NULL;
	struct testdb t;
	int fds[2], status = 0, rc = -1, err;
	pid_t pid;

	*reported = 0;
	if (testdb_init(&t))
		return -1;
	if (pipe(fds)) {
		testdb_fini(&t);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		child_write(t.url, fds[1]);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		testdb_fini(&t);
		return -1;
	}
	err = drain(fds[0], now_ms() + kill_ms, &r);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (!err)
		err = drain(fds[0], -1, &r);
	close(fds[0]);
	*reported = r.n;
	if (err || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		TEST_FAIL_AT("child after %u ms: report %d, status %#x",
			     kill_ms, err, (unsigned)status);
		goto out;
	}
	if (!integrity_ok(t.path)) {
		TEST_FAIL_AT("integrity_check failed after %u ms", kill_ms);
		goto out;
	}
	/* the crash may have come before the schema or the user */
	err = store_open(&st, t.url);
	if (err) {
		TEST_FAIL_AT("reopen after %u ms: %s", kill_ms,
			     store_last_error(NULL));
		goto out;
	}
	err = testdb_user(st, AOR);
	if (err == -EEXIST)
		rc = check_after_crash(st, *reported);
	else if (!err && !*reported)
		rc = 0; /* killed before the user was added */
	store_close(st);
out:
	testdb_fini(&t);
	return rc;
}

TEST(store_kill9_never_leaves_a_half_written_record)
{
	uint32_t seed = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 8;
	uint32_t x = seed | 1, total = 0;

	for (int round = 0; round < ROUNDS; round++) {
		uint32_t reported = 0;
		unsigned kill_ms;

		x ^= x << 13; /* xorshift32 */
		x ^= x >> 17;
		x ^= x << 5;
		/* the first round dies while opening; the others mid-loop */
		kill_ms = round == 0 ? 1 + x % 5 : 20 + x % 250;
		if (one_round(kill_ms, &reported)) {
			TEST_FAIL_AT("round %d (seed %u, kill at %u ms)", round,
				     seed, kill_ms);
			return -1;
		}
		total += reported;
	}
	TEST_ASSERT(total > 0); /* the test proves nothing without writes */
	return 0;
}
