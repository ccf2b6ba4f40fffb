/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for subscriptions (sqlite_sub.c): dialog state round trip,
 * filters, expiry, resuming them after a restart, and batches applied in
 * one transaction (store_sub_apply), also across kill -9. */
#include "store/testdb.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define AOR_A "sip:alice@example.com"
#define AOR_B "sip:bob@example.com"

static struct store_sub sub(const char *id, const char *aor,
			    const char *package, int64_t expires_at)
{
	return (struct store_sub){
		.id = id,
		.aor = aor,
		.package = package,
		.call_id = "a84b4c76e66710@pc33.example.org",
		.local_tag = "notifier-tag",
		.remote_tag = "1928301774",
		.local_uri = aor,
		.remote_uri = "sip:carol@example.org",
		.remote_target = "sip:carol@192.0.2.4:5061;transport=tls",
		.local_cseq = 1,
		.remote_cseq = 101,
		.expires_at = expires_at,
		.state = "active",
	};
}

static int roundtrip(struct store *st, struct testdb *t)
{
	struct store_sub s = sub("s1", AOR_A, "certificate", 5000), *got = NULL;

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	s.route_set = "<sip:p1.example.org;lr>, <sip:p2.example.com;lr>";
	s.flow = "tls 192.0.2.4:50123";
	s.last_notify_at = 1500;
	TEST_EQ_INT(store_sub_put(st, &s), 0);
	TEST_EQ_INT(store_sub_get(st, "s1", &got), 0);
	TEST_EQ_STR(got->id, "s1");
	TEST_EQ_STR(got->aor, AOR_A);
	TEST_EQ_STR(got->package, "certificate");
	TEST_EQ_STR(got->call_id, "a84b4c76e66710@pc33.example.org");
	TEST_EQ_STR(got->local_tag, "notifier-tag");
	TEST_EQ_STR(got->remote_tag, "1928301774");
	TEST_EQ_STR(got->local_uri, AOR_A);
	TEST_EQ_STR(got->remote_uri, "sip:carol@example.org");
	TEST_EQ_STR(got->remote_target,
		    "sip:carol@192.0.2.4:5061;transport=tls");
	TEST_EQ_STR(got->route_set,
		    "<sip:p1.example.org;lr>, <sip:p2.example.com;lr>");
	TEST_EQ_INT(got->local_cseq, 1);
	TEST_EQ_INT(got->remote_cseq, 101);
	TEST_EQ_STR(got->flow, "tls 192.0.2.4:50123");
	TEST_EQ_INT(got->expires_at, 5000);
	TEST_EQ_INT(got->last_notify_at, 1500);
	TEST_EQ_STR(got->state, "active");
	store_sub_free(got);
	got = NULL;

	/* a refresh and a NOTIFY later: same id, new state */
	s = sub("s1", AOR_A, "certificate", 8600);
	s.local_cseq = 2;
	s.remote_cseq = 102;
	s.last_notify_at = 5000;
	s.state = "terminated";
	TEST_EQ_INT(store_sub_put(st, &s), 0);
	TEST_EQ_INT(store_sub_get(st, "s1", &got), 0);
	TEST_EQ_INT(got->local_cseq, 2);
	TEST_EQ_INT(got->remote_cseq, 102);
	TEST_EQ_INT(got->expires_at, 8600);
	TEST_EQ_INT(got->last_notify_at, 5000);
	TEST_EQ_STR(got->state, "terminated");
	TEST_ASSERT(!got->route_set && !got->flow);
	store_sub_free(got);
	got = NULL;

	TEST_EQ_INT(store_sub_del(st, "s1"), 0);
	TEST_EQ_INT(store_sub_del(st, "s1"), -ENOENT);
	TEST_EQ_INT(store_sub_get(st, "s1", &got), -ENOENT);
	TEST_ASSERT(!got);
	return 0;
}

TEST(store_sub_put_get_update_del)
{
	return testdb_run(roundtrip);
}

/* The ids of v, comma-separated, for one comparison per list. */
static const char *ids(struct store_sub **v, size_t n, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(out + used, len - used, "%s%s", i ? "," : "",
				 v[i]->id);

		if (k < 0 || (size_t)k >= len - used)
			break;
		used += (size_t)k;
	}
	return out;
}

static int filters(struct store *st, struct testdb *t)
{
	struct store_sub s, **v = NULL;
	size_t n = 0, removed = 0;
	char buf[128];

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(testdb_user(st, AOR_B), 0);
	s = sub("s3", AOR_B, "certificate", 5000);
	TEST_EQ_INT(store_sub_put(st, &s), 0);
	s = sub("s2", AOR_A, "credential", 6000);
	TEST_EQ_INT(store_sub_put(st, &s), 0);
	s = sub("s1", AOR_A, "certificate", 4000);
	TEST_EQ_INT(store_sub_put(st, &s), 0);
	s = sub("s4", AOR_A, "certificate", 7000);
	TEST_EQ_INT(store_sub_put(st, &s), 0);

	TEST_EQ_INT(store_sub_list(st, &(struct store_sub_filter){.now = 0}, &v,
				   &n),
		    0);
	TEST_EQ_STR(ids(v, n, buf, sizeof(buf)), "s1,s4,s2,s3");
	store_list_free(v, n);

	TEST_EQ_INT(store_sub_list(
			    st,
			    &(struct store_sub_filter){.aor = AOR_A, .now = 0},
			    &v, &n),
		    0);
	TEST_EQ_STR(ids(v, n, buf, sizeof(buf)), "s1,s4,s2");
	store_list_free(v, n);

	TEST_EQ_INT(store_sub_list(st,
				   &(struct store_sub_filter){
					   .aor = AOR_A,
					   .package = "certificate",
					   .now = 0,
				   },
				   &v, &n),
		    0);
	TEST_EQ_STR(ids(v, n, buf, sizeof(buf)), "s1,s4");
	store_list_free(v, n);

	TEST_EQ_INT(store_sub_list(st,
				   &(struct store_sub_filter){
					   .package = "certificate",
					   .now = 4000,
				   },
				   &v, &n),
		    0);
	TEST_EQ_STR(ids(v, n, buf, sizeof(buf)), "s4,s3");
	store_list_free(v, n);

	TEST_EQ_INT(store_sub_purge(st, 5000, &removed), 0);
	TEST_EQ_INT(removed, 2);
	TEST_EQ_INT(store_sub_list(st, &(struct store_sub_filter){.now = 0}, &v,
				   &n),
		    0);
	TEST_EQ_STR(ids(v, n, buf, sizeof(buf)), "s4,s2");
	store_list_free(v, n);
	TEST_EQ_INT(store_sub_purge(st, 5000, NULL), 0);
	return 0;
}

TEST(store_sub_list_filters_and_purge)
{
	return testdb_run(filters);
}

static int sub_no_user(struct store *st, struct testdb *t)
{
	struct store_sub s = sub("s1", AOR_A, "certificate", 5000);

	(void)t;
	TEST_EQ_INT(store_sub_put(st, &s), -ENOENT);
	return 0;
}

TEST(store_sub_needs_a_user)
{
	return testdb_run(sub_no_user);
}

/* What a restart does: a new handle on the same file lists every
 * subscription still running. */
static int restart(struct store *st, struct testdb *t)
{
	struct store *again = NULL;
	struct store_sub s, **v = NULL;
	size_t n = 0;
	int rc;

	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	s = sub("s1", AOR_A, "certificate", 5000);
	TEST_EQ_INT(store_sub_put(st, &s), 0);
	s = sub("s2", AOR_A, "credential", 5000);
	TEST_EQ_INT(store_sub_put(st, &s), 0);

	TEST_EQ_INT(store_open(&again, t->url), 0);
	rc = store_sub_list(again, &(struct store_sub_filter){.now = 4000}, &v,
			    &n);
	store_close(again);
	TEST_EQ_INT(rc, 0);
	TEST_EQ_INT(n, 2);
	TEST_EQ_STR(v[0]->id, "s1");
	TEST_EQ_STR(v[0]->remote_target,
		    "sip:carol@192.0.2.4:5061;transport=tls");
	TEST_EQ_STR(v[1]->id, "s2");
	store_list_free(v, n);
	return 0;
}

TEST(store_sub_survives_a_restart)
{
	return testdb_run(restart);
}

/* ---- store_sub_apply: group commit ------------------------------------ */

#define AOR_C "sip:carol@example.com"

/* Every subscription unexpired at 0, of every AOR and package: what a
 * restart loads. */
static int list_all(struct store *st, struct store_sub ***v, size_t *n)
{
	return store_sub_list(st, &(struct store_sub_filter){.now = 0}, v, n);
}

/* The ids of every stored subscription, as ids() gives them. */
static const char *all_ids(struct store *st, char *out, size_t len)
{
	struct store_sub **v = NULL;
	size_t n = 0;

	if (list_all(st, &v, &n))
		return "(list failed)";
	ids(v, n, out, len);
	store_list_free(v, n);
	return out;
}

static int apply_puts_dels(struct store *st, struct testdb *t)
{
	struct store_sub old1 = sub("old1", AOR_A, "certificate", 5000),
			 old2 = sub("old2", AOR_B, "certificate", 5000),
			 s1 = sub("s1", AOR_A, "credential", 6000),
			 s2 = sub("s2", AOR_B, "certificate", 7000),
			 *got = NULL;
	const struct store_sub *puts[] = {&s1, &s2};
	const char *dels[] = {"old2", "old1"};
	size_t skipped = 99;
	char buf[128];

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(testdb_user(st, AOR_B), 0);
	TEST_EQ_INT(store_sub_put(st, &old1), 0);
	TEST_EQ_INT(store_sub_put(st, &old2), 0);

	TEST_EQ_INT(store_sub_apply(st, puts, ARRAY_SIZE(puts), dels,
				    ARRAY_SIZE(dels), &skipped),
		    0);
	TEST_EQ_INT(skipped, 0);
	TEST_EQ_STR(all_ids(st, buf, sizeof(buf)), "s1,s2");
	TEST_EQ_INT(store_sub_get(st, "s2", &got), 0);
	TEST_EQ_STR(got->aor, AOR_B);
	TEST_EQ_STR(got->package, "certificate");
	TEST_EQ_INT(got->expires_at, 7000);
	TEST_EQ_STR(got->remote_target,
		    "sip:carol@192.0.2.4:5061;transport=tls");
	store_sub_free(got);

	/* only puts, then only deletes; NULL n_skipped */
	TEST_EQ_INT(store_sub_apply(st, (const struct store_sub *[]){&old1}, 1,
				    NULL, 0, NULL),
		    0);
	TEST_EQ_STR(all_ids(st, buf, sizeof(buf)), "old1,s1,s2");
	TEST_EQ_INT(store_sub_apply(st, NULL, 0, (const char *[]){"s1", "s2"},
				    2, &skipped),
		    0);
	TEST_EQ_INT(skipped, 0);
	TEST_EQ_STR(all_ids(st, buf, sizeof(buf)), "old1");

	/* nothing at all is a successful no-op */
	skipped = 99;
	TEST_EQ_INT(store_sub_apply(st, NULL, 0, NULL, 0, &skipped), 0);
	TEST_EQ_INT(skipped, 0);
	TEST_EQ_STR(all_ids(st, buf, sizeof(buf)), "old1");
	return 0;
}

TEST(store_sub_apply_puts_and_dels_in_one_call)
{
	return testdb_run(apply_puts_dels);
}

static int apply_update(struct store *st, struct testdb *t)
{
	struct store_sub s = sub("s1", AOR_A, "certificate", 5000), u1, u2,
			 *got = NULL;
	const struct store_sub *puts[2];
	char buf[64];

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(testdb_user(st, AOR_B), 0);
	s.route_set = "<sip:p1.example.org;lr>";
	s.flow = "tls 192.0.2.4:50123";
	TEST_EQ_INT(store_sub_put(st, &s), 0);

	/* two puts of one id in a batch: the later wins, every column */
	u1 = sub("s1", AOR_A, "certificate", 6000);
	u1.state = "pending";
	u2 = sub("s1", AOR_B, "credential", 8600);
	u2.call_id = "other-call@pc33.example.org";
	u2.local_tag = "lt2";
	u2.remote_tag = "rt2";
	u2.local_uri = AOR_B;
	u2.remote_uri = "sip:dave@example.org";
	u2.remote_target = "sip:dave@192.0.2.9:5061;transport=tls";
	u2.local_cseq = 7;
	u2.remote_cseq = 8;
	u2.last_notify_at = 5000;
	u2.state = "terminated";
	puts[0] = &u1;
	puts[1] = &u2;
	TEST_EQ_INT(store_sub_apply(st, puts, 2, NULL, 0, NULL), 0);
	TEST_EQ_STR(all_ids(st, buf, sizeof(buf)), "s1");
	TEST_EQ_INT(store_sub_get(st, "s1", &got), 0);
	TEST_EQ_STR(got->aor, AOR_B);
	TEST_EQ_STR(got->package, "credential");
	TEST_EQ_STR(got->call_id, "other-call@pc33.example.org");
	TEST_EQ_STR(got->local_tag, "lt2");
	TEST_EQ_STR(got->remote_tag, "rt2");
	TEST_EQ_STR(got->local_uri, AOR_B);
	TEST_EQ_STR(got->remote_uri, "sip:dave@example.org");
	TEST_EQ_STR(got->remote_target,
		    "sip:dave@192.0.2.9:5061;transport=tls");
	TEST_ASSERT(!got->route_set && !got->flow);
	TEST_EQ_INT(got->local_cseq, 7);
	TEST_EQ_INT(got->remote_cseq, 8);
	TEST_EQ_INT(got->expires_at, 8600);
	TEST_EQ_INT(got->last_notify_at, 5000);
	TEST_EQ_STR(got->state, "terminated");
	store_sub_free(got);

	/* an id both put and deleted ends deleted: puts go first */
	TEST_EQ_INT(
		store_sub_apply(st, puts, 1, (const char *[]){"s1"}, 1, NULL),
		0);
	TEST_EQ_STR(all_ids(st, buf, sizeof(buf)), "");
	return 0;
}

TEST(store_sub_apply_updates_an_existing_id)
{
	return testdb_run(apply_update);
}

static int apply_skip(struct store *st, struct testdb *t)
{
	struct store_sub a = sub("a", AOR_A, "certificate", 5000),
			 b = sub("b", AOR_B, "certificate", 5000),
			 c = sub("c", AOR_C, "certificate", 5000),
			 kept = sub("kept", AOR_A, "certificate", 5000),
			 moved = sub("kept", AOR_C, "credential", 9000),
			 *got = NULL;
	const struct store_sub *puts[] = {&a, &b, &c, &moved};
	size_t skipped = 0;
	char buf[64];

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(testdb_user(st, AOR_B), 0);
	TEST_EQ_INT(store_sub_put(st, &kept), 0);
	/* bob's account goes while his subscription waits in the batch */
	TEST_EQ_INT(store_user_del(st, AOR_B), 0);

	/* b: no longer a user; c: never one; moved: an update of "kept"
	 * to a non-user leaves the stored record as it was */
	TEST_EQ_INT(store_sub_apply(st, puts, ARRAY_SIZE(puts),
				    (const char *[]){"none"}, 1, &skipped),
		    0);
	TEST_EQ_INT(skipped, 3);
	TEST_EQ_STR(all_ids(st, buf, sizeof(buf)), "a,kept");
	TEST_EQ_INT(store_sub_get(st, "kept", &got), 0);
	TEST_EQ_STR(got->aor, AOR_A);
	TEST_EQ_STR(got->package, "certificate");
	TEST_EQ_INT(got->expires_at, 5000);
	store_sub_free(got);

	/* a batch of nothing but skips commits nothing and says so */
	TEST_EQ_INT(store_sub_apply(st, puts + 1, 2, NULL, 0, &skipped), 0);
	TEST_EQ_INT(skipped, 2);
	TEST_EQ_INT(store_sub_apply(st, puts + 1, 2, NULL, 0, NULL), 0);
	TEST_EQ_STR(all_ids(st, buf, sizeof(buf)), "a,kept");
	return 0;
}

TEST(store_sub_apply_skips_and_counts_a_non_user_aor)
{
	return testdb_run(apply_skip);
}

static int apply_unknown_del(struct store *st, struct testdb *t)
{
	struct store_sub s = sub("s1", AOR_A, "certificate", 5000);
	const char *dels[] = {"never-stored", "s1", "s1"};
	size_t skipped = 99;
	char buf[64];

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(store_sub_apply(st, NULL, 0, dels, 1, &skipped), 0);
	TEST_EQ_INT(skipped, 0);
	TEST_EQ_INT(store_sub_put(st, &s), 0);
	/* the unknown one, then s1 twice: the second finds nothing */
	TEST_EQ_INT(store_sub_apply(st, NULL, 0, dels, ARRAY_SIZE(dels), NULL),
		    0);
	TEST_EQ_STR(all_ids(st, buf, sizeof(buf)), "");
	TEST_EQ_INT(store_sub_del(st, "s1"), -ENOENT);
	return 0;
}

TEST(store_sub_apply_deletes_an_unknown_id_without_error)
{
	return testdb_run(apply_unknown_del);
}

/* Each argument or record the call refuses, with nothing written and
 * n_skipped untouched. */
static int apply_refuse(struct store *st, const struct store_sub *const *puts,
			size_t n_puts, const char *const *dels, size_t n_dels,
			int want, const char *why)
{
	size_t skipped = 77;
	char buf[64];

	TEST_EQ_INT(store_sub_apply(st, puts, n_puts, dels, n_dels, &skipped),
		    want);
	TEST_EQ_INT(skipped, 77);
	if (!strstr(store_last_error(st), why)) {
		TEST_FAIL_AT("error \"%s\" does not say \"%s\"",
			     store_last_error(st), why);
		return -1;
	}
	TEST_EQ_STR(all_ids(st, buf, sizeof(buf)), "keep");
	return 0;
}

static int apply_args(struct store *st, struct testdb *t)
{
	struct store_sub keep = sub("keep", AOR_A, "certificate", 5000),
			 ok1 = sub("ok1", AOR_A, "certificate", 5000),
			 ok2 = sub("ok2", AOR_A, "certificate", 5000),
			 bad = {.id = NULL};
	const struct store_sub *puts[3] = {&ok1, &bad, &ok2};
	const char *dels[] = {"keep", ""};
	char big[STORE_TEXT_MAX_BYTES + 2], buf[64];

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(store_sub_put(st, &keep), 0);
	TEST_EQ_INT(store_sub_apply(NULL, NULL, 0, NULL, 0, NULL), -EINVAL);

	TEST_ASSERT(!apply_refuse(st, NULL, 1, NULL, 0, -EINVAL, "puts"));
	TEST_ASSERT(!apply_refuse(st, NULL, 0, NULL, 1, -EINVAL, "dels"));
	TEST_ASSERT(!apply_refuse(st, (const struct store_sub *[]){NULL}, 1,
				  NULL, 0, -EINVAL,
				  "puts[0]: subscription missing"));
	/* the delete of "keep" comes before the bad one: not applied */
	TEST_ASSERT(!apply_refuse(st, puts, 1, dels, 2, -EINVAL,
				  "dels[1]: id empty"));
	TEST_ASSERT(!apply_refuse(st, puts, 1, (const char *[]){NULL}, 1,
				  -EINVAL, "dels[0]: id missing"));

	/* a malformed record in the middle of the batch */
	bad = sub("bad", AOR_A, "certificate", 5000);
	bad.remote_tag = NULL;
	TEST_ASSERT(!apply_refuse(st, puts, 3, dels, 1, -EINVAL,
				  "puts[1]: remote_tag missing"));
	bad = sub("bad", AOR_A, "certificate", 5000);
	bad.remote_cseq = (uint32_t)INT32_MAX + 1;
	TEST_ASSERT(!apply_refuse(st, puts, 3, dels, 1, -EINVAL,
				  "puts[1]: cseq too large"));

	/* an oversize field in the middle: nothing of the batch applied */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	bad = sub("bad", AOR_A, "certificate", 5000);
	bad.route_set = big;
	TEST_ASSERT(!apply_refuse(st, puts, 3, dels, 1, -EMSGSIZE,
				  "puts[1]: route_set longer than"));
	TEST_ASSERT(!apply_refuse(st, puts, 1, (const char *[]){"keep", big}, 2,
				  -EMSGSIZE, "dels[1]: id longer than"));

	/* just at the limit is accepted, and the whole batch with it */
	big[STORE_TEXT_MAX_BYTES] = '\0';
	TEST_EQ_INT(store_sub_apply(st, puts, 3, dels, 1, NULL), 0);
	TEST_EQ_STR(store_last_error(st), "");
	TEST_EQ_STR(all_ids(st, buf, sizeof(buf)), "bad,ok1,ok2");
	return 0;
}

TEST(store_sub_apply_all_or_nothing_on_a_bad_record)
{
	return testdb_run(apply_args);
}

/* A failure inside the transaction, after some of the batch ran: a
 * trigger refuses one delete, and the rollback undoes the puts and the
 * deletes before it. The handle then carries on (a long-lived writer). */
static int apply_rollback(struct store *st, struct testdb *t)
{
	struct store_sub keep = sub("keep", AOR_A, "certificate", 5000),
			 gone = sub("gone", AOR_A, "certificate", 5000),
			 boom = sub("boom", AOR_A, "certificate", 5000),
			 s1 = sub("s1", AOR_A, "certificate", 5000),
			 keep2 = sub("keep", AOR_A, "credential", 9000),
			 *got = NULL;
	const struct store_sub *puts[] = {&s1, &keep2};
	sqlite3 *db = NULL;
	size_t skipped = 55;
	char buf[64];
	int rc;

	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(store_sub_put(st, &keep), 0);
	TEST_EQ_INT(store_sub_put(st, &gone), 0);
	TEST_EQ_INT(store_sub_put(st, &boom), 0);
	rc = sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db,
				  "CREATE TRIGGER refuse BEFORE DELETE ON"
				  " subscriptions WHEN old.id = 'boom'"
				  " BEGIN SELECT RAISE(ABORT, 'boom refused');"
				  " END",
				  NULL, NULL, NULL);
	sqlite3_close(db);
	TEST_EQ_INT(rc, SQLITE_OK);

	/* a trigger's refusal is a constraint failure: -EINVAL */
	TEST_EQ_INT(store_sub_apply(st, puts, ARRAY_SIZE(puts),
				    (const char *[]){"gone", "boom"}, 2,
				    &skipped),
		    -EINVAL);
	TEST_EQ_INT(skipped, 55);
	TEST_ASSERT(strstr(store_last_error(st), "boom refused"));
	TEST_EQ_STR(all_ids(st, buf, sizeof(buf)), "boom,gone,keep");
	TEST_EQ_INT(store_sub_get(st, "keep", &got), 0);
	TEST_EQ_STR(got->package, "certificate");
	TEST_EQ_INT(got->expires_at, 5000);
	store_sub_free(got);

	/* the next batch on the same handle goes through */
	TEST_EQ_INT(store_sub_apply(st, puts, ARRAY_SIZE(puts),
				    (const char *[]){"gone"}, 1, &skipped),
		    0);
	TEST_EQ_INT(skipped, 0);
	TEST_EQ_STR(all_ids(st, buf, sizeof(buf)), "boom,s1,keep");
	return 0;
}

TEST(store_sub_apply_rolls_back_a_failure_inside_the_transaction)
{
	return testdb_run(apply_rollback);
}

/* What a restarted notifier loads from a new handle: with no AOR and no
 * package filter, every subscription unexpired at now. */
static int restart_lists(struct store *again)
{
	struct store_sub **v = NULL;
	size_t n = 0;
	char buf[64];

	TEST_EQ_STR(all_ids(again, buf, sizeof(buf)), "a1,a2,b1,c1,old");
	TEST_EQ_INT(store_sub_list(again,
				   &(struct store_sub_filter){.now = 4000}, &v,
				   &n),
		    0);
	ids(v, n, buf, sizeof(buf));
	store_list_free(v, n);
	TEST_EQ_STR(buf, "a1,a2,b1,c1");
	return 0;
}

/* A restart after a batch over several AORs and packages. */
static int apply_restart(struct store *st, struct testdb *t)
{
	struct store_sub a1 = sub("a1", AOR_A, "certificate", 5000),
			 a2 = sub("a2", AOR_A, "credential", 5000),
			 b1 = sub("b1", AOR_B, "credential", 5000),
			 c1 = sub("c1", AOR_C, "certificate", 5000),
			 old = sub("old", AOR_C, "certificate", 3000);
	const struct store_sub *puts[] = {&c1, &b1, &a2, &a1, &old};
	struct store *again = NULL;
	int rc;

	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(testdb_user(st, AOR_B), 0);
	TEST_EQ_INT(testdb_user(st, AOR_C), 0);
	TEST_EQ_INT(store_sub_apply(st, puts, ARRAY_SIZE(puts), NULL, 0, NULL),
		    0);
	TEST_EQ_INT(store_open(&again, t->url), 0);
	rc = restart_lists(again);
	store_close(again);
	return rc;
}

TEST(store_sub_apply_survives_a_restart)
{
	return testdb_run(apply_restart);
}

/* ---- many in one call ---------------------------------------------------- */

enum { MANY = 10000 };

struct many {
	struct store_sub rec[MANY];
	const struct store_sub *puts[MANY];
	const char *dels[MANY];
	char id[MANY][16];
};

/* Record i of AOR_A when i is even, of AOR_B when odd; the ids sort as
 * their numbers. */
static void many_fill(struct many *m, const char *state)
{
	for (size_t i = 0; i < MANY; i++) {
		snprintf(m->id[i], sizeof(m->id[i]), "m%05zu", i);
		m->rec[i] = sub(m->id[i], i % 2 ? AOR_B : AOR_A, "certificate",
				(int64_t)(10000 + i));
		m->rec[i].remote_cseq = (uint32_t)i;
		m->rec[i].state = state;
		m->puts[i] = &m->rec[i];
		m->dels[i] = m->id[i];
	}
}

/* The list is every record of AOR_A, then of AOR_B, each in id order;
 * from: the first record listed (0: all, 1: only AOR_B's). */
static int many_check(struct store *st, size_t from, const char *state)
{
	struct store_sub **v = NULL;
	size_t n = 0;
	int rc = 0;

	TEST_EQ_INT(list_all(st, &v, &n), 0);
	if (n != (from ? MANY / 2 : MANY)) {
		TEST_FAIL_AT("%zu subscriptions listed", n);
		rc = -1;
	}
	for (size_t j = 0; j < n && !rc; j++) {
		size_t i = 2 * j + 1; /* bob's j-th */
		char want[16];

		if (!from && j < MANY / 2)
			i = 2 * j; /* alice's j-th */
		else if (!from)
			i = 2 * (j - MANY / 2) + 1;

		snprintf(want, sizeof(want), "m%05zu", i);
		if (strcmp(v[j]->id, want) ||
		    strcmp(v[j]->aor, i % 2 ? AOR_B : AOR_A) ||
		    v[j]->remote_cseq != i ||
		    v[j]->expires_at != (int64_t)(10000 + i) ||
		    strcmp(v[j]->state, state)) {
			TEST_FAIL_AT("listed %zu is %s, not record %zu", j,
				     v[j]->id, i);
			rc = -1;
		}
	}
	store_list_free(v, n);
	return rc;
}

static int apply_many_run(struct store *st, struct many *m)
{
	size_t skipped = 99;

	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(testdb_user(st, AOR_B), 0);
	many_fill(m, "active");
	TEST_EQ_INT(store_sub_apply(st, m->puts, MANY, NULL, 0, &skipped), 0);
	TEST_EQ_INT(skipped, 0);
	TEST_ASSERT(!many_check(st, 0, "active"));

	/* every one updated and alice's deleted, in one call: the even
	 * ids are alice's */
	many_fill(m, "terminated");
	for (size_t i = 0; i < MANY / 2; i++)
		m->dels[i] = m->id[2 * i];
	TEST_EQ_INT(
		store_sub_apply(st, m->puts, MANY, m->dels, MANY / 2, &skipped),
		0);
	TEST_EQ_INT(skipped, 0);
	TEST_ASSERT(!many_check(st, 1, "terminated"));

	/* bob goes; his records are skipped, the deletes still happen */
	TEST_EQ_INT(store_user_del(st, AOR_B), 0);
	many_fill(m, "active");
	TEST_EQ_INT(store_sub_apply(st, m->puts, MANY, m->dels, MANY, &skipped),
		    0);
	TEST_EQ_INT(skipped, MANY / 2);
	TEST_EQ_INT(store_sub_get(st, "m00001", &(struct store_sub *){NULL}),
		    -ENOENT);
	{
		struct store_sub **v = NULL;
		size_t n = 0;

		TEST_EQ_INT(list_all(st, &v, &n), 0);
		store_list_free(v, n);
		TEST_EQ_INT(n, 0);
	}
	return 0;
}

static int apply_many(struct store *st, struct testdb *t)
{
	struct many *m = mem_alloc(sizeof(*m));
	int rc;

	(void)t;
	if (!m)
		return -1;
	rc = apply_many_run(st, m);
	mem_free(m);
	return rc;
}

TEST(store_sub_apply_10000_puts_in_one_call)
{
	return testdb_run(apply_many);
}

/* ---- kill -9 between and during batches -------------------------------- */

/* A child applies batch 0, 1, 2... each putting BATCH subscriptions over
 * two AORs and deleting the previous batch's, and reports k on a pipe
 * after batch k returned 0, until the parent SIGKILLs it. After commit k
 * the store holds exactly batch k, so after the crash it must hold one
 * whole batch: the last reported, or the one in flight (committed before
 * its report), or nothing when none was reported. */
enum { BATCH = 40, KILL_ROUNDS = 4 };

static void batch_fill(struct store_sub *rec, char (*id)[24], uint32_t k)
{
	for (uint32_t i = 0; i < BATCH; i++) {
		snprintf(id[i], sizeof(id[i]), "k%u-%u", k, i);
		rec[i] = sub(id[i], i % 2 ? AOR_B : AOR_A,
			     i % 3 ? "certificate" : "credential",
			     (int64_t)(1000000 + k));
		rec[i].local_cseq = k;
		rec[i].remote_cseq = i;
	}
}

static void child_apply(const char *url, int fd)
{
	struct store_sub rec[BATCH];
	const struct store_sub *puts[BATCH];
	const char *dels[BATCH];
	char id[2][BATCH][24];
	struct store *st = NULL;
	size_t skipped = 0;
	int err;

	if (store_open(&st, url))
		_exit(2);
	err = testdb_user(st, AOR_A);
	if (!err || err == -EEXIST)
		err = testdb_user(st, AOR_B);
	if (err && err != -EEXIST)
		_exit(3);
	for (uint32_t k = 0; k < UINT32_MAX; k++) {
		batch_fill(rec, id[k % 2], k);
		for (size_t i = 0; i < BATCH; i++) {
			puts[i] = &rec[i];
			dels[i] = id[(k + 1) % 2][i];
		}
		err = store_sub_apply(st, puts, BATCH, dels, k ? BATCH : 0,
				      &skipped);
		if (err || skipped)
			_exit(4);
		/* a 4-byte pipe write is atomic (PIPE_BUF) */
		if (write(fd, &k, sizeof(k)) != sizeof(k))
			_exit(5);
	}
	_exit(0);
}

/* Read the child's reports to EOF: each must be the next number. */
static int reports_read(int fd, uint32_t *n)
{
	uint8_t b[4096], part[sizeof(uint32_t)];
	size_t have = 0;

	*n = 0;
	for (;;) {
		ssize_t got = read(fd, b, sizeof(b));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return have ? -EBADMSG : 0;
		for (ssize_t i = 0; i < got; i++) {
			uint32_t k;

			part[have++] = b[i];
			if (have < sizeof(part))
				continue;
			have = 0;
			memcpy(&k, part, sizeof(k));
			if (k != *n)
				return -EBADMSG;
			(*n)++;
		}
	}
}

/* The store holds one whole batch k, reported - 1 <= k <= reported, or
 * nothing when reported is 0. */
static int one_whole_batch(struct store *st, uint32_t reported)
{
	struct store_sub **v = NULL;
	bool seen[BATCH] = {false};
	size_t n = 0;
	uint32_t k;
	int rc = 0;

	TEST_EQ_INT(list_all(st, &v, &n), 0);
	if (!n) {
		store_list_free(v, n);
		TEST_EQ_INT(reported, 0);
		return 0;
	}
	k = v[0]->local_cseq;
	if (n != BATCH || k > reported || k + 1 < reported) {
		TEST_FAIL_AT("%zu subscriptions of batch %u, %u reported", n, k,
			     reported);
		rc = -1;
	}
	for (size_t j = 0; j < n && !rc; j++) {
		uint32_t i = v[j]->remote_cseq;
		char want[24];

		snprintf(want, sizeof(want), "k%u-%u", k, i);
		if (i >= BATCH || seen[i] || v[j]->local_cseq != k ||
		    strcmp(v[j]->id, want) ||
		    strcmp(v[j]->aor, i % 2 ? AOR_B : AOR_A) ||
		    strcmp(v[j]->package,
			   i % 3 ? "certificate" : "credential") ||
		    v[j]->expires_at != (int64_t)(1000000 + k)) {
			TEST_FAIL_AT("subscription %s is not of batch %u",
				     v[j]->id, k);
			rc = -1;
		} else
			seen[i] = true;
	}
	store_list_free(v, n);
	return rc;
}

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

static int kill_round(unsigned kill_ms, uint32_t *reported)
{
	struct timespec ts = {kill_ms / 1000, (long)(kill_ms % 1000) * 1000000};
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
		child_apply(t.url, fds[1]);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		testdb_fini(&t);
		return -1;
	}
	/* a full pipe only stalls the child until the read below */
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	err = reports_read(fds[0], reported);
	close(fds[0]);
	if (err || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		TEST_FAIL_AT("child after %u ms: report %d, status %#x",
			     kill_ms, err, (unsigned)status);
		goto out;
	}
	if (!integrity_ok(t.path)) {
		TEST_FAIL_AT("integrity_check failed after %u ms", kill_ms);
		goto out;
	}
	err = store_open(&st, t.url);
	if (err) {
		TEST_FAIL_AT("reopen after %u ms: %s", kill_ms,
			     store_last_error(NULL));
		goto out;
	}
	rc = one_whole_batch(st, *reported);
	store_close(st);
out:
	testdb_fini(&t);
	return rc;
}

TEST(store_sub_apply_kill9_leaves_one_whole_batch)
{
	uint32_t seed = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 8;
	uint32_t x = seed | 1, total = 0;

	for (int round = 0; round < KILL_ROUNDS; round++) {
		uint32_t reported = 0;
		unsigned kill_ms;

		x ^= x << 13; /* xorshift32 */
		x ^= x >> 17;
		x ^= x << 5;
		/* the first round dies while opening; the others mid-loop */
		kill_ms = round == 0 ? 1 + x % 5 : 20 + x % 200;
		if (kill_round(kill_ms, &reported)) {
			TEST_FAIL_AT("round %d (seed %u, kill at %u ms)", round,
				     seed, kill_ms);
			return -1;
		}
		total += reported;
	}
	TEST_ASSERT(total > 0); /* the test proves nothing without batches */
	return 0;
}
