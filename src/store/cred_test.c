/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for credentials and fingerprint history (sqlite_cred.c):
 * newest-credential selection across devices, expiry at an explicit now,
 * entity tags, revocation that keeps the history. */
#include "store/testdb.h"

#include "test.h"

#define AOR_A "sip:alice@example.com"
#define AOR_B "sip:bob@example.com"

static int put(struct store *st, const char *aor, const char *device,
	       unsigned n, int64_t published_at)
{
	struct testdb_cred tc;

	testdb_cred_fill(&tc, aor, device, n);
	tc.c.published_at = published_at;
	return store_cred_put(st, &tc.c);
}

/* c is credential n of testdb_cred_fill(), byte for byte. */
static int cred_is(const struct store_cred *c, const char *device, unsigned n)
{
	struct testdb_cred tc;

	testdb_cred_fill(&tc, AOR_A, device, n);
	TEST_EQ_STR(c->aor, AOR_A);
	TEST_EQ_STR(c->device, device);
	TEST_EQ_STR(c->etag, tc.etag);
	TEST_EQ_STR(c->sha256, tc.sha256);
	TEST_EQ_INT(c->cert_len, sizeof(tc.cert));
	TEST_ASSERT(!memcmp(c->cert_der, tc.cert, sizeof(tc.cert)));
	TEST_EQ_INT(c->sealed_pkcs8_len, sizeof(tc.key));
	TEST_ASSERT(!memcmp(c->sealed_pkcs8, tc.key, sizeof(tc.key)));
	TEST_EQ_INT(c->not_before, tc.c.not_before);
	TEST_EQ_INT(c->not_after, tc.c.not_after);
	TEST_EQ_INT(c->expires_at, tc.c.expires_at);
	return 0;
}

static int roundtrip(struct store *st, struct testdb *t)
{
	struct store_cred *c = NULL;
	struct testdb_cred tc;

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(store_cred_newest(st, AOR_A, 3000, &c), -ENOENT);
	TEST_EQ_INT(put(st, AOR_A, "phone", 1, 2000), 0);
	TEST_EQ_INT(store_cred_newest(st, AOR_A, 3000, &c), 0);
	TEST_EQ_INT(cred_is(c, "phone", 1), 0);
	TEST_EQ_INT(c->published_at, 2000);
	store_cred_free(c);

	/* a certificate-only credential: no sealed key */
	testdb_cred_fill(&tc, AOR_A, "desk", 2);
	tc.c.sealed_pkcs8 = NULL;
	tc.c.sealed_pkcs8_len = 0;
	tc.c.published_at = 2500;
	TEST_EQ_INT(store_cred_put(st, &tc.c), 0);
	TEST_EQ_INT(store_cred_newest(st, AOR_A, 3000, &c), 0);
	TEST_EQ_STR(c->device, "desk");
	TEST_ASSERT(!c->sealed_pkcs8 && !c->sealed_pkcs8_len);
	store_cred_free(c);
	return 0;
}

TEST(store_cred_put_and_read_back)
{
	return testdb_run(roundtrip);
}

static int newest(struct store *st, struct testdb *t)
{
	struct store_cred *c = NULL, **v = NULL;
	size_t n = 0;

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(put(st, AOR_A, "phone", 1, 2100), 0);
	TEST_EQ_INT(put(st, AOR_A, "laptop", 2, 2300), 0);
	TEST_EQ_INT(put(st, AOR_A, "desk", 3, 2200), 0);

	/* the newest publication wins, not the last put */
	TEST_EQ_INT(store_cred_newest(st, AOR_A, 3000, &c), 0);
	TEST_EQ_INT(cred_is(c, "laptop", 2), 0);
	store_cred_free(c);
	TEST_EQ_INT(store_cred_list(st, AOR_A, 3000, &v, &n), 0);
	TEST_EQ_INT(n, 3);
	TEST_EQ_STR(v[0]->device, "laptop");
	TEST_EQ_STR(v[1]->device, "desk");
	TEST_EQ_STR(v[2]->device, "phone");
	store_list_free(v, n);

	/* the phone enrols again: its new credential replaces its old one
	 * and is now the newest */
	TEST_EQ_INT(put(st, AOR_A, "phone", 4, 2400), 0);
	TEST_EQ_INT(store_cred_newest(st, AOR_A, 3000, &c), 0);
	TEST_EQ_INT(cred_is(c, "phone", 4), 0);
	store_cred_free(c);
	TEST_EQ_INT(store_cred_list(st, AOR_A, 3000, &v, &n), 0);
	TEST_EQ_INT(n, 3);
	store_list_free(v, n);

	/* within one second the later put wins */
	TEST_EQ_INT(put(st, AOR_A, "desk", 5, 2400), 0);
	TEST_EQ_INT(store_cred_newest(st, AOR_A, 3000, &c), 0);
	TEST_EQ_INT(cred_is(c, "desk", 5), 0);
	store_cred_free(c);
	TEST_EQ_INT(put(st, AOR_A, "phone", 6, 2400), 0);
	TEST_EQ_INT(store_cred_newest(st, AOR_A, 3000, &c), 0);
	TEST_EQ_INT(cred_is(c, "phone", 6), 0);
	store_cred_free(c);
	return 0;
}

TEST(store_cred_newest_of_several_devices)
{
	return testdb_run(newest);
}

static int expiry(struct store *st, struct testdb *t)
{
	struct store_cred *c = NULL, **v = NULL;
	struct testdb_cred tc;
	size_t n = 0, removed = 0;
	struct store_fp **fv = NULL;

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	/* newest, but its publication expires first (at 4000) */
	testdb_cred_fill(&tc, AOR_A, "phone", 1);
	tc.c.published_at = 3000;
	tc.c.expires_at = 4000;
	TEST_EQ_INT(store_cred_put(st, &tc.c), 0);
	/* its certificate expires at 4500 */
	testdb_cred_fill(&tc, AOR_A, "laptop", 2);
	tc.c.published_at = 2000;
	tc.c.expires_at = 9000;
	tc.c.not_after = 4500;
	TEST_EQ_INT(store_cred_put(st, &tc.c), 0);
	/* the oldest, current the longest */
	testdb_cred_fill(&tc, AOR_A, "desk", 3);
	tc.c.published_at = 1000;
	tc.c.expires_at = 9000;
	TEST_EQ_INT(store_cred_put(st, &tc.c), 0);

	TEST_EQ_INT(store_cred_newest(st, AOR_A, 3999, &c), 0);
	TEST_EQ_STR(c->device, "phone");
	store_cred_free(c);
	TEST_EQ_INT(store_cred_newest(st, AOR_A, 4000, &c), 0);
	TEST_EQ_STR(c->device, "laptop");
	store_cred_free(c);
	TEST_EQ_INT(store_cred_newest(st, AOR_A, 4500, &c), 0);
	TEST_EQ_STR(c->device, "desk");
	store_cred_free(c);
	TEST_EQ_INT(store_cred_newest(st, AOR_A, 9000, &c), -ENOENT);

	TEST_EQ_INT(store_cred_list(st, AOR_A, 4000, &v, &n), 0);
	TEST_EQ_INT(n, 2);
	store_list_free(v, n);

	/* the entity tag of an expired publication no longer matches */
	TEST_EQ_INT(store_cred_get_etag(st, AOR_A, "etag-1", 3999, &c), 0);
	TEST_EQ_STR(c->device, "phone");
	store_cred_free(c);
	TEST_EQ_INT(store_cred_get_etag(st, AOR_A, "etag-1", 4000, &c),
		    -ENOENT);

	TEST_EQ_INT(store_cred_purge(st, 3999, &removed), 0);
	TEST_EQ_INT(removed, 0);
	TEST_EQ_INT(store_cred_purge(st, 4500, &removed), 0);
	TEST_EQ_INT(removed, 2);
	TEST_EQ_INT(store_cred_list(st, AOR_A, 0, &v, &n), 0);
	TEST_EQ_INT(n, 1);
	store_list_free(v, n);
	/* purging keeps the history */
	TEST_EQ_INT(store_fp_list(st, AOR_A, &fv, &n), 0);
	TEST_EQ_INT(n, 3);
	store_list_free(fv, n);
	return 0;
}

TEST(store_cred_expiry_uses_the_given_now)
{
	return testdb_run(expiry);
}

static int etags(struct store *st, struct testdb *t)
{
	struct store_cred *c = NULL, **v = NULL;
	struct store_fp **fv = NULL;
	struct testdb_cred tc;
	size_t n = 0;

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(testdb_user(st, AOR_B), 0);
	TEST_EQ_INT(put(st, AOR_A, "phone", 1, 2000), 0);
	/* the same tag under another AOR is another publication */
	TEST_EQ_INT(put(st, AOR_B, "phone", 1, 2000), 0);

	/* another device of the same AOR cannot take the tag, and the
	 * failed put leaves neither a credential nor a history row */
	testdb_cred_fill(&tc, AOR_A, "laptop", 2);
	tc.c.etag = "etag-1";
	TEST_EQ_INT(store_cred_put(st, &tc.c), -EEXIST);
	TEST_EQ_INT(store_cred_list(st, AOR_A, 0, &v, &n), 0);
	TEST_EQ_INT(n, 1);
	store_list_free(v, n);
	TEST_EQ_INT(store_fp_list(st, AOR_A, &fv, &n), 0);
	TEST_EQ_INT(n, 1);
	store_list_free(fv, n);

	TEST_EQ_INT(store_cred_get_etag(st, AOR_A, "etag-1", 3000, &c), 0);
	TEST_EQ_INT(cred_is(c, "phone", 1), 0);
	store_cred_free(c);
	TEST_EQ_INT(store_cred_get_etag(st, AOR_A, "etag-9", 3000, &c),
		    -ENOENT);

	/* RFC 3903 §4.1: a refresh moves the publication to a new tag */
	TEST_EQ_INT(store_cred_refresh(st, AOR_A, "etag-1", "etag-1b", 9000),
		    0);
	TEST_EQ_INT(store_cred_get_etag(st, AOR_A, "etag-1", 3000, &c),
		    -ENOENT);
	TEST_EQ_INT(store_cred_get_etag(st, AOR_A, "etag-1b", 8999, &c), 0);
	TEST_EQ_INT(c->expires_at, 9000);
	TEST_EQ_STR(c->device, "phone");
	store_cred_free(c);
	TEST_EQ_INT(store_cred_refresh(st, AOR_A, "etag-1", "etag-1c", 9000),
		    -ENOENT);
	TEST_EQ_INT(put(st, AOR_A, "laptop", 2, 2000), 0);
	TEST_EQ_INT(store_cred_refresh(st, AOR_A, "etag-2", "etag-1b", 9000),
		    -EEXIST);
	/* a refresh adds no history */
	TEST_EQ_INT(store_fp_list(st, AOR_A, &fv, &n), 0);
	TEST_EQ_INT(n, 2);
	store_list_free(fv, n);
	return 0;
}

TEST(store_cred_etags_and_refresh)
{
	return testdb_run(etags);
}

static int history(struct store *st, struct testdb *t)
{
	struct store_cred *c = NULL;
	struct store_fp **fv = NULL;
	char fp1[65], fp2[65], fp3[65];
	size_t n = 0;

	(void)t;
	testdb_fp(fp1, 1);
	testdb_fp(fp2, 2);
	testdb_fp(fp3, 3);
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(put(st, AOR_A, "phone", 1, 2000), 0);
	TEST_EQ_INT(put(st, AOR_A, "phone", 2, 2100), 0); /* replaces 1 */
	TEST_EQ_INT(put(st, AOR_A, "laptop", 3, 2050), 0);

	TEST_EQ_INT(store_fp_list(st, AOR_A, &fv, &n), 0);
	TEST_EQ_INT(n, 3);
	TEST_EQ_STR(fv[0]->sha256, fp1); /* oldest first */
	TEST_EQ_STR(fv[0]->aor, AOR_A);
	TEST_EQ_INT(fv[0]->first_seen, 2000);
	TEST_EQ_INT(fv[0]->not_after, 1000000);
	TEST_EQ_INT(fv[0]->revoked_at, 0);
	TEST_EQ_STR(fv[1]->sha256, fp2);
	TEST_EQ_STR(fv[2]->sha256, fp3);
	store_list_free(fv, n);

	/* revoking the phone's certificate: the laptop's is served now,
	 * and the history keeps the revoked fingerprint */
	TEST_EQ_INT(store_cred_revoke_etag(st, AOR_A, "etag-2", 5000), 0);
	TEST_EQ_INT(store_cred_newest(st, AOR_A, 3000, &c), 0);
	TEST_EQ_STR(c->device, "laptop");
	store_cred_free(c);
	TEST_EQ_INT(store_cred_get_etag(st, AOR_A, "etag-2", 3000, &c),
		    -ENOENT);
	TEST_EQ_INT(store_fp_list(st, AOR_A, &fv, &n), 0);
	TEST_EQ_INT(n, 3);
	TEST_EQ_INT(fv[0]->revoked_at, 0);
	TEST_EQ_STR(fv[1]->sha256, fp2);
	TEST_EQ_INT(fv[1]->revoked_at, 5000);
	TEST_EQ_INT(fv[2]->revoked_at, 0);
	store_list_free(fv, n);
	TEST_EQ_INT(store_cred_revoke_etag(st, AOR_A, "etag-2", 5001), -ENOENT);
	TEST_EQ_INT(store_cred_revoke_fp(st, AOR_A, fp2, 5001), -ENOENT);

	/* a replaced certificate is only history, and can be revoked */
	TEST_EQ_INT(store_cred_revoke_fp(st, AOR_A, fp1, 5100), 0);
	TEST_EQ_INT(store_cred_newest(st, AOR_A, 3000, &c), 0);
	TEST_EQ_STR(c->device, "laptop");
	store_cred_free(c);
	/* by fingerprint, the current one */
	TEST_EQ_INT(store_cred_revoke_fp(st, AOR_A, fp3, 5200), 0);
	TEST_EQ_INT(store_cred_newest(st, AOR_A, 3000, &c), -ENOENT);

	TEST_EQ_INT(store_fp_list(st, AOR_A, &fv, &n), 0);
	TEST_EQ_INT(n, 3);
	TEST_EQ_INT(fv[0]->revoked_at, 5100);
	TEST_EQ_INT(fv[1]->revoked_at, 5000);
	TEST_EQ_INT(fv[2]->revoked_at, 5200);
	store_list_free(fv, n);
	return 0;
}

TEST(store_cred_revoke_keeps_history)
{
	return testdb_run(history);
}

static int revoke_all(struct store *st, struct testdb *t)
{
	struct store_cred **v = NULL;
	struct store_fp **fv = NULL;
	size_t n = 0, revoked = 9;

	(void)t;
	TEST_EQ_INT(testdb_user(st, AOR_A), 0);
	TEST_EQ_INT(testdb_user(st, AOR_B), 0);
	TEST_EQ_INT(store_cred_revoke_aor(st, AOR_A, 4000, &revoked), 0);
	TEST_EQ_INT(revoked, 0);
	TEST_EQ_INT(put(st, AOR_A, "phone", 1, 2000), 0);
	TEST_EQ_INT(put(st, AOR_A, "phone", 2, 2100), 0); /* replaces 1 */
	TEST_EQ_INT(put(st, AOR_A, "laptop", 3, 2200), 0);
	TEST_EQ_INT(put(st, AOR_B, "phone", 4, 2200), 0);

	TEST_EQ_INT(store_cred_revoke_aor(st, AOR_A, 4000, &revoked), 0);
	TEST_EQ_INT(revoked, 2);
	TEST_EQ_INT(store_cred_list(st, AOR_A, 0, &v, &n), 0);
	TEST_EQ_INT(n, 0);
	TEST_EQ_INT(store_fp_list(st, AOR_A, &fv, &n), 0);
	TEST_EQ_INT(n, 3);
	TEST_EQ_INT(fv[0]->revoked_at, 0); /* replaced, not current */
	TEST_EQ_INT(fv[1]->revoked_at, 4000);
	TEST_EQ_INT(fv[2]->revoked_at, 4000);
	store_list_free(fv, n);

	/* bob keeps his */
	TEST_EQ_INT(store_cred_list(st, AOR_B, 0, &v, &n), 0);
	TEST_EQ_INT(n, 1);
	store_list_free(v, n);
	TEST_EQ_INT(store_cred_revoke_aor(st, AOR_B, 4000, NULL), 0);
	TEST_EQ_INT(store_cred_list(st, AOR_B, 0, &v, &n), 0);
	TEST_EQ_INT(n, 0);
	return 0;
}

TEST(store_cred_revoke_every_credential_of_an_aor)
{
	return testdb_run(revoke_all);
}

static int cred_no_user(struct store *st, struct testdb *t)
{
	struct store_fp **fv = NULL;
	size_t n = 9;

	(void)t;
	TEST_EQ_INT(put(st, AOR_A, "phone", 1, 2000), -ENOENT);
	/* the transaction failed whole: no history row either (and the
	 * user would have to exist for one) */
	TEST_EQ_INT(store_fp_list(st, AOR_A, &fv, &n), 0);
	TEST_EQ_INT(n, 0);
	return 0;
}

TEST(store_cred_needs_a_user)
{
	return testdb_run(cred_no_user);
}
