/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for kek.c: a KEK file is created 0600 and never replaced, and is
 * refused when others can reach it or it has the wrong size. */
#include <fcntl.h>
#include <sys/stat.h>

#include "crypto/testutil.h"

static bool is_wiped(const struct crypto_kek *k)
{
	for (size_t i = 0; i < sizeof(k->key); i++)
		if (k->key[i])
			return false;
	return true;
}

TEST(crypto_kek_create_and_load)
{
	char dir[SCRATCH_PATH_BYTES], path[SCRATCH_PATH_BYTES];
	struct crypto_kek k, k2;
	struct buf raw;
	struct stat st;
	int rc = -1;

	buf_init(&raw, 64);
	raw.is_secret = true;
	if (scratch_make(dir))
		goto out;
	scratch_path(path, dir, "kek");
	if (crypto_kek_create(path) || stat(path, &st) ||
	    (st.st_mode & 07777) != 0600 || st.st_size != CRYPTO_KEK_BYTES ||
	    scratch_count(dir) != 1)
		goto out;
	if (crypto_file_read(path, 64, &raw) || crypto_kek_load(path, &k) ||
	    memcmp(k.key, raw.p, CRYPTO_KEK_BYTES) || is_wiped(&k))
		goto out;
	/* never replaced: the second create fails and the key stays */
	if (crypto_kek_create(path) != -EEXIST || crypto_kek_load(path, &k2) ||
	    memcmp(k.key, k2.key, CRYPTO_KEK_BYTES) || scratch_count(dir) != 1)
		goto out;
	crypto_kek_wipe(&k);
	crypto_kek_wipe(&k2);
	crypto_kek_wipe(NULL);
	if (!is_wiped(&k) || !is_wiped(&k2))
		goto out;
	rc = 0;
out:
	buf_fini(&raw);
	scratch_remove(dir);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_kek_two_keys_differ)
{
	char dir[SCRATCH_PATH_BYTES], a[SCRATCH_PATH_BYTES],
		b[SCRATCH_PATH_BYTES];
	struct crypto_kek ka, kb;
	int rc = -1;

	if (scratch_make(dir))
		goto out;
	scratch_path(a, dir, "a");
	scratch_path(b, dir, "b");
	if (crypto_kek_create(a) || crypto_kek_create(b) ||
	    crypto_kek_load(a, &ka) || crypto_kek_load(b, &kb) ||
	    !memcmp(ka.key, kb.key, CRYPTO_KEK_BYTES))
		goto out;
	rc = 0;
out:
	crypto_kek_wipe(&ka);
	crypto_kek_wipe(&kb);
	scratch_remove(dir);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_kek_load_refuses_open_permissions)
{
	static const mode_t bad[] = {0640, 0604, 0620, 0602, 0610, 0601, 0644};
	char dir[SCRATCH_PATH_BYTES], path[SCRATCH_PATH_BYTES];
	struct crypto_kek k;
	int rc = -1;

	memset(&k, 0x5a, sizeof(k));
	if (scratch_make(dir))
		goto out;
	scratch_path(path, dir, "kek");
	if (crypto_kek_create(path))
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (chmod(path, bad[i]) ||
		    crypto_kek_load(path, &k) != -EPERM ||
		    !strstr(crypto_last_error(), "chmod 600") ||
		    !strstr(crypto_last_error(), path) || k.key[0] != 0x5a) {
			TEST_FAIL_AT("mode %04o", (unsigned)bad[i]);
			goto out;
		}
	}
	/* 0400 is fine: only the owner */
	if (chmod(path, 0400) || crypto_kek_load(path, &k))
		goto out;
	rc = 0;
out:
	crypto_kek_wipe(&k);
	scratch_remove(dir);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_kek_load_refuses_wrong_size)
{
	static const size_t sizes[] = {0, 1, CRYPTO_KEK_BYTES - 1,
				       CRYPTO_KEK_BYTES + 1, 4096};
	char dir[SCRATCH_PATH_BYTES], path[SCRATCH_PATH_BYTES],
		fifo[SCRATCH_PATH_BYTES];
	unsigned char bytes[4096] = {0};
	struct crypto_kek k;
	int rc = -1;

	memset(&k, 0x5a, sizeof(k));
	if (scratch_make(dir))
		goto out;
	scratch_path(path, dir, "kek");
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		if (crypto_file_write_atomic(path, bytes, sizes[i], 0600) ||
		    crypto_kek_load(path, &k) != -EBADMSG || k.key[0] != 0x5a) {
			TEST_FAIL_AT("size %zu", sizes[i]);
			goto out;
		}
	}
	/* missing, a directory, a FIFO, bad arguments */
	scratch_path(fifo, dir, "fifo");
	if (mkfifo(fifo, 0600) || crypto_kek_load(fifo, &k) != -EINVAL ||
	    crypto_kek_load(dir, &k) != -EINVAL ||
	    crypto_kek_load(NULL, &k) != -EINVAL ||
	    crypto_kek_load(path, NULL) != -EINVAL ||
	    crypto_kek_create(NULL) != -EINVAL)
		goto out;
	(void)unlink(path);
	if (crypto_kek_load(path, &k) != -ENOENT || k.key[0] != 0x5a)
		goto out;
	rc = 0;
out:
	scratch_remove(dir);
	TEST_EQ_INT(rc, 0);
	return 0;
}
