/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for users and bindings (sqlite_user.c), including the
 * cascade when a user is deleted. */
#include "store/testdb.h"

#include "test.h"

#define AOR_A "sip:alice@example.com"
#define AOR_B "sip:bob@example.com"
#define MD5_1 "00112233445566778899aabbccddeeff"
#define MD5_2 "ffeeddccbbaa99887766554433221100"
#define SHA_1 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static int user_crud(struct store *st, struct testdb *t)
{
	struct store_user *u = NULL, **v = NULL;
	size_t n = 0;

	(void)t;
	TEST_EQ_INT(store_user_add(st,
				   &(struct store_user){
					   .aor = AOR_B,
					   .ha1_md5 = MD5_1,
					   .ha1_sha256 = SHA_1,
					   .created_at = 100,
				   }),
		    0);
	TEST_EQ_INT(store_user_add(st,
				   &(struct store_user){
					   .aor = AOR_A,
					   .created_at = 50,
				   }),
		    0);

	TEST_EQ_INT(store_user_get(st, AOR_B, &u), 0);
	TEST_EQ_STR(u->aor, AOR_B);
	TEST_EQ_STR(u->ha1_md5, MD5_1);
	TEST_EQ_STR(u->ha1_sha256, SHA_1);
	TEST_EQ_INT(u->created_at, 100);
	TEST_EQ_INT(u->updated_at, 100);
	store_user_free(u);
	u = NULL;

	TEST_EQ_INT(store_user_get(st, AOR_A, &u), 0);
	TEST_ASSERT(!u->ha1_md5 && !u->ha1_sha256);
	store_user_free(u);
	u = NULL;

	/* a password change replaces both HA1s and keeps created_at */
	TEST_EQ_INT(store_user_set_ha1(st,
				       &(struct store_user){
					       .aor = AOR_B,
					       .ha1_md5 = MD5_2,
					       .updated_at = 300,
				       }),
		    0);
	TEST_EQ_INT(store_user_get(st, AOR_B, &u), 0);
	TEST_EQ_STR(u->ha1_md5, MD5_2);
	TEST_ASSERT(!u->ha1_sha256);
	TEST_EQ_INT(u->created_at, 100);
	TEST_EQ_INT(u->updated_at, 300);
	store_user_free(u);

	TEST_EQ_INT(store_user_list(st, &v, &n), 0);
	TEST_EQ_INT(n, 2);
	TEST_EQ_STR(v[0]->aor, AOR_A); /* ordered by AOR */
	TEST_EQ_STR(v[1]->aor, AOR_B);
	store_list_free(v, n);

	TEST_EQ_INT(store_user_del(st, AOR_A), 0);
	TEST_EQ_INT(store_user_list(st, &v, &n), 0);
	TEST_EQ_INT(n, 1);
	store_list_free(v, n);
	return 0;
}

TEST(store_user_add_get_set_list_del)
{
	return testdb_run(user_crud);
}

static int user_missing(struct store *st, struct testdb *t)
{
	struct store_user *u = NULL, **v = (struct store_user **)&u;
	size_t n = 7;

	(void)t;
	TEST_EQ_INT(store_user_get(st, AOR_A, &u), -ENOENT);
	TEST_ASSERT(!u);
	TEST_ASSERT(strstr(store_last_error(st), AOR_A));
	TEST_EQ_INT(store_user_del(st, AOR_A), -ENOENT);
	TEST_EQ_INT(store_user_set_ha1(st, &(struct store_user){.aor = AOR_A}),
		    -ENOENT);
	TEST_EQ_INT(store_user_list(st, &v, &n), 0);
	TEST_EQ_INT(n, 0);
	TEST_ASSERT(!v);

	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(testdb_user(st, AOR_A), -EEXIST);
	TEST_ASSERT(strstr(store_last_error(st), "UNIQUE"));
	/* AORs compare exactly: the caller normalises them */
	TEST_EQ_INT(store_user_get(st, "sip:ALICE@example.com", &u), -ENOENT);
	return 0;
}

TEST(store_user_missing_and_duplicate)
{
	return testdb_run(user_missing);
}

static struct store_binding binding(const char *contact, int64_t expires_at,
				    uint32_t q)
{
	return (struct store_binding){
		.aor = AOR_A,
		.contact = contact,
		.expires_at = expires_at,
		.call_id = "reg-1@192.0.2.1",
		.cseq = 1,
		.q_permille = q,
		.flow = "tls 192.0.2.1:50000",
	};
}

static int bindings(struct store *st, struct testdb *t)
{
	struct store_binding b, **v = NULL;
	size_t n = 0;

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	b = binding("sip:alice@192.0.2.1", 2000, 500);
	b.path = "<sip:edge.example.com;lr>";
	b.instance_id = "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>";
	TEST_EQ_INT(store_binding_put(st, &b), 0);
	b = binding("sip:alice@192.0.2.2", 3000, 1000);
	TEST_EQ_INT(store_binding_put(st, &b), 0);

	TEST_EQ_INT(store_binding_list(st, AOR_A, 1000, &v, &n), 0);
	TEST_EQ_INT(n, 2);
	TEST_EQ_STR(v[0]->contact, "sip:alice@192.0.2.2"); /* q first */
	TEST_ASSERT(!v[0]->path && !v[0]->instance_id);
	TEST_EQ_STR(v[1]->contact, "sip:alice@192.0.2.1");
	TEST_EQ_STR(v[1]->aor, AOR_A);
	TEST_EQ_STR(v[1]->call_id, "reg-1@192.0.2.1");
	TEST_EQ_STR(v[1]->path, "<sip:edge.example.com;lr>");
	TEST_EQ_STR(v[1]->flow, "tls 192.0.2.1:50000");
	TEST_EQ_STR(v[1]->instance_id,
		    "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>");
	TEST_EQ_INT(v[1]->expires_at, 2000);
	TEST_EQ_INT(v[1]->q_permille, 500);
	store_list_free(v, n);

	/* RFC 3261 §10.3 step 7: a refresh updates the same binding */
	b = binding("sip:alice@192.0.2.1", 4000, 0);
	b.cseq = 2;
	b.call_id = "reg-2@192.0.2.1";
	TEST_EQ_INT(store_binding_put(st, &b), 0);
	TEST_EQ_INT(store_binding_list(st, AOR_A, 1000, &v, &n), 0);
	TEST_EQ_INT(n, 2);
	TEST_EQ_STR(v[1]->contact, "sip:alice@192.0.2.1");
	TEST_EQ_INT(v[1]->cseq, 2);
	TEST_EQ_STR(v[1]->call_id, "reg-2@192.0.2.1");
	TEST_EQ_INT(v[1]->expires_at, 4000);
	TEST_EQ_INT(v[1]->q_permille, 0);
	TEST_ASSERT(!v[1]->path); /* replaced, not merged */
	store_list_free(v, n);

	TEST_EQ_INT(store_binding_del(st, AOR_A, "sip:alice@192.0.2.2"), 0);
	TEST_EQ_INT(store_binding_del(st, AOR_A, "sip:alice@192.0.2.2"),
		    -ENOENT);
	TEST_EQ_INT(store_binding_list(st, AOR_A, 1000, &v, &n), 0);
	TEST_EQ_INT(n, 1);
	store_list_free(v, n);
	TEST_EQ_INT(store_binding_del_aor(st, AOR_A), 0);
	TEST_EQ_INT(store_binding_del_aor(st, AOR_A), 0); /* none left */
	TEST_EQ_INT(store_binding_list(st, AOR_A, 1000, &v, &n), 0);
	TEST_EQ_INT(n, 0);
	return 0;
}

TEST(store_binding_put_update_list_del)
{
	return testdb_run(bindings);
}

static int binding_expiry(struct store *st, struct testdb *t)
{
	struct store_binding b, **v = NULL;
	size_t n = 0, removed = 0;

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	b = binding("sip:alice@192.0.2.1", 2000, 1000);
	TEST_EQ_INT(store_binding_put(st, &b), 0);
	b = binding("sip:alice@192.0.2.2", 3000, 1000);
	TEST_EQ_INT(store_binding_put(st, &b), 0);

	TEST_EQ_INT(store_binding_list(st, AOR_A, 1999, &v, &n), 0);
	TEST_EQ_INT(n, 2);
	store_list_free(v, n);
	/* expired at expires_at itself */
	TEST_EQ_INT(store_binding_list(st, AOR_A, 2000, &v, &n), 0);
	TEST_EQ_INT(n, 1);
	TEST_EQ_STR(v[0]->contact, "sip:alice@192.0.2.2");
	store_list_free(v, n);
	TEST_EQ_INT(store_binding_list(st, AOR_A, 3000, &v, &n), 0);
	TEST_EQ_INT(n, 0);

	TEST_EQ_INT(store_binding_purge(st, 1999, &removed), 0);
	TEST_EQ_INT(removed, 0);
	TEST_EQ_INT(store_binding_purge(st, 2000, &removed), 0);
	TEST_EQ_INT(removed, 1);
	TEST_EQ_INT(store_binding_purge(st, 5000, NULL), 0);
	TEST_EQ_INT(store_binding_list(st, AOR_A, 0, &v, &n), 0);
	TEST_EQ_INT(n, 0);
	return 0;
}

TEST(store_binding_expiry_uses_the_given_now)
{
	return testdb_run(binding_expiry);
}

static int binding_no_user(struct store *st, struct testdb *t)
{
	struct store_binding b = binding("sip:alice@192.0.2.1", 2000, 1000);

	(void)t;
	TEST_EQ_INT(store_binding_put(st, &b), -ENOENT);
	TEST_ASSERT(strstr(store_last_error(st), "FOREIGN KEY"));
	return 0;
}

TEST(store_binding_needs_a_user)
{
	return testdb_run(binding_no_user);
}

/* Deleting a user removes everything that belongs to it, and only that. */
static int cascade(struct store *st, struct testdb *t)
{
	struct testdb_cred tc;
	struct store_binding b;
	struct store_binding **bv = NULL;
	struct store_cred **cv = NULL;
	struct store_fp **fv = NULL;
	struct store_sub **sv = NULL, *got = NULL;
	struct store_sub s = {
		.id = "sub-1",
		.aor = AOR_A,
		.package = "certificate",
		.call_id = "c",
		.local_tag = "l",
		.remote_tag = "r",
		.local_uri = AOR_A,
		.remote_uri = AOR_B,
		.remote_target = "sip:bob@192.0.2.9",
		.expires_at = 5000,
		.state = "active",
	};
	size_t n = 0;

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(testdb_user(st, AOR_B), 0);
	b = binding("sip:alice@192.0.2.1", 5000, 1000);
	TEST_EQ_INT(store_binding_put(st, &b), 0);
	b.aor = AOR_B;
	TEST_EQ_INT(store_binding_put(st, &b), 0);
	testdb_cred_fill(&tc, AOR_A, "d1", 1);
	TEST_EQ_INT(store_cred_put(st, &tc.c), 0);
	testdb_cred_fill(&tc, AOR_B, "d1", 2);
	TEST_EQ_INT(store_cred_put(st, &tc.c), 0);
	TEST_EQ_INT(store_sub_put(st, &s), 0);

	TEST_EQ_INT(store_user_del(st, AOR_A), 0);

	TEST_EQ_INT(store_binding_list(st, AOR_A, 0, &bv, &n), 0);
	TEST_EQ_INT(n, 0);
	TEST_EQ_INT(store_cred_list(st, AOR_A, 0, &cv, &n), 0);
	TEST_EQ_INT(n, 0);
	TEST_EQ_INT(store_fp_list(st, AOR_A, &fv, &n), 0);
	TEST_EQ_INT(n, 0);
	TEST_EQ_INT(store_sub_list(st, &(struct store_sub_filter){.now = 0},
				   &sv, &n),
		    0);
	TEST_EQ_INT(n, 0);
	TEST_EQ_INT(store_sub_get(st, "sub-1", &got), -ENOENT);
	TEST_ASSERT(!got);

	/* bob's rows are untouched */
	TEST_EQ_INT(store_binding_list(st, AOR_B, 0, &bv, &n), 0);
	TEST_EQ_INT(n, 1);
	store_list_free(bv, n);
	TEST_EQ_INT(store_cred_list(st, AOR_B, 0, &cv, &n), 0);
	TEST_EQ_INT(n, 1);
	store_list_free(cv, n);
	TEST_EQ_INT(store_fp_list(st, AOR_B, &fv, &n), 0);
	TEST_EQ_INT(n, 1);
	store_list_free(fv, n);

	/* a new user of the same AOR starts empty */
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(store_cred_list(st, AOR_A, 0, &cv, &n), 0);
	TEST_EQ_INT(n, 0);
	return 0;
}

TEST(store_user_del_cascades)
{
	return testdb_run(cascade);
}
