/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for subscriptions (sqlite_sub.c): dialog state round trip,
 * filters, expiry, and resuming them after a restart. */
#include "store/testdb.h"

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
