/* SPDX-License-Identifier: BSD-3-Clause */
/* store tests: a fresh database in a temporary directory per test, and
 * record fixtures. */
#ifndef SIPCERT_STORE_TESTDB_H
#define SIPCERT_STORE_TESTDB_H

#include "store/store.h"

struct testdb {
	char dir[64];
	char path[128]; /* the database file inside dir */
	char url[160];	/* "sqlite:" path */
};

/* Create a directory under /tmp (mkdtemp) and name a database in it. */
int testdb_init(struct testdb *t);
/* Remove the directory and every file in it. */
void testdb_fini(struct testdb *t);

typedef int testdb_fn(struct store *st, struct testdb *t);
/* Open a store in a fresh directory, run fn, close, clean up; fn's
 * result. */
int testdb_run(testdb_fn *fn);

/* Add a user with fixed HA1 values. */
int testdb_user(struct store *st, const char *aor);

/* A credential of aor for device, numbered n: its etag is "etag-<n>",
 * its certificate bytes and fingerprint derive from n. Its strings and
 * bytes live in tc. */
struct testdb_cred {
	struct store_cred c;
	char etag[32];
	char sha256[65];
	uint8_t cert[64];
	uint8_t key[32];
};
void testdb_cred_fill(struct testdb_cred *tc, const char *aor,
		      const char *device, unsigned n);
/* The fingerprint testdb_cred_fill() gives credential n. */
void testdb_fp(char out[65], unsigned n);

#endif
