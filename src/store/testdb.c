/* SPDX-License-Identifier: BSD-3-Clause */
/* store tests: temporary databases under /tmp, removed after each test,
 * and record fixtures. */
#include "store/testdb.h"

#include "base/base.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int testdb_init(struct testdb *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/sipcert-store-XXXXXX");
	if (!mkdtemp(t->dir)) {
		t->dir[0] = '\0';
		return -errno;
	}
	snprintf(t->path, sizeof(t->path), "%s/store.db", t->dir);
	snprintf(t->url, sizeof(t->url), "sqlite:%s", t->path);
	return 0;
}

void testdb_fini(struct testdb *t)
{
	struct dirent *e;
	DIR *d;

	if (!t->dir[0])
		return;
	d = opendir(t->dir);
	if (d) {
		while ((e = readdir(d))) {
			char p[384];

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(p, sizeof(p), "%s/%s", t->dir, e->d_name);
			(void)unlink(p);
		}
		closedir(d);
	}
	(void)rmdir(t->dir);
	t->dir[0] = '\0';
}

int testdb_run(testdb_fn *fn)
{
	struct testdb t;
	struct store *st = NULL;
	int rc;

	if (testdb_init(&t)) {
		fprintf(stderr, "    testdb: mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	rc = store_open(&st, t.url);
	if (rc) {
		fprintf(stderr, "    testdb: store_open(%s): %d %s\n", t.url,
			rc, store_last_error(NULL));
		testdb_fini(&t);
		return -1;
	}
	rc = fn(st, &t);
	store_close(st);
	testdb_fini(&t);
	return rc;
}

int testdb_user(struct store *st, const char *aor)
{
	return store_user_add(st, &(struct store_user){
					  .aor = aor,
					  .ha1_md5 = "0123456789abcdef"
						     "0123456789abcdef",
					  .created_at = 1000,
				  });
}

void testdb_fp(char out[65], unsigned n)
{
	uint8_t b[32];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(n >> (8 * (i % 4))) ^ (uint8_t)i;
	hex_encode(out, b, sizeof(b));
}

void testdb_cred_fill(struct testdb_cred *tc, const char *aor,
		      const char *device, unsigned n)
{
	memset(tc, 0, sizeof(*tc));
	snprintf(tc->etag, sizeof(tc->etag), "etag-%u", n);
	testdb_fp(tc->sha256, n);
	for (size_t i = 0; i < sizeof(tc->cert); i++)
		tc->cert[i] = (uint8_t)(n + i);
	for (size_t i = 0; i < sizeof(tc->key); i++)
		tc->key[i] = (uint8_t)(n * 7 + i);
	tc->c = (struct store_cred){
		.aor = aor,
		.device = device,
		.cert_der = tc->cert,
		.cert_len = sizeof(tc->cert),
		.sealed_pkcs8 = tc->key,
		.sealed_pkcs8_len = sizeof(tc->key),
		.etag = tc->etag,
		.not_before = 1000,
		.not_after = 1000000,
		.published_at = 2000,
		.expires_at = 5600,
		.sha256 = tc->sha256,
	};
}
