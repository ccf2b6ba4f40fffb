/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for file.c: atomic writes leave the whole file or nothing and no
 * temporary file; capped reads. */
#include <sys/stat.h>

#include "crypto/testutil.h"

static int file_mode(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -errno : (int)(st.st_mode & 07777);
}

static bool file_is(const char *path, const char *want)
{
	struct buf b;
	bool is_same;

	buf_init(&b, 1 << 20);
	is_same = !crypto_file_read(path, 1 << 20, &b) &&
		  b.len == strlen(want) &&
		  (!b.len || !memcmp(b.p, want, b.len));
	buf_fini(&b);
	return is_same;
}

TEST(crypto_file_write_atomic_creates)
{
	char dir[SCRATCH_PATH_BYTES], path[SCRATCH_PATH_BYTES];
	mode_t old = umask(077);
	int rc = -1;

	if (scratch_make(dir))
		goto out;
	scratch_path(path, dir, "a.pem");
	if (crypto_file_write_atomic(path, "hello", 5, 0600) ||
	    !file_is(path, "hello") || file_mode(path) != 0600 ||
	    scratch_count(dir) != 1)
		goto out;
	/* the mode is exact: the umask 077 does not take 0644 away */
	if (crypto_file_write_atomic(path, "world!", 6, 0644) ||
	    !file_is(path, "world!") || file_mode(path) != 0644 ||
	    scratch_count(dir) != 1)
		goto out;
	/* empty content is a valid file */
	if (crypto_file_write_atomic(path, NULL, 0, 0600) ||
	    !file_is(path, "") || scratch_count(dir) != 1)
		goto out;
	rc = 0;
out:
	umask(old);
	scratch_remove(dir);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_file_create_atomic_never_replaces)
{
	char dir[SCRATCH_PATH_BYTES], path[SCRATCH_PATH_BYTES];
	int rc = -1;

	if (scratch_make(dir))
		goto out;
	scratch_path(path, dir, "kek");
	if (crypto_file_create_atomic(path, "first", 5, 0600) ||
	    crypto_file_create_atomic(path, "second", 6, 0600) != -EEXIST ||
	    !strstr(crypto_last_error(), "exists") || !file_is(path, "first") ||
	    file_mode(path) != 0600 || scratch_count(dir) != 1)
		goto out;
	rc = 0;
out:
	scratch_remove(dir);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_file_write_atomic_failures)
{
	char dir[SCRATCH_PATH_BYTES], path[SCRATCH_PATH_BYTES];
	int rc = -1;

	if (scratch_make(dir))
		goto out;
	scratch_path(path, dir, "missing/a.pem");
	if (crypto_file_write_atomic(path, "x", 1, 0600) != -ENOENT ||
	    scratch_count(dir) != 0)
		goto out;
	/* renaming over a directory fails; the temporary file goes */
	scratch_path(path, dir, "sub");
	if (mkdir(path, 0700) ||
	    crypto_file_write_atomic(path, "x", 1, 0600) != -EISDIR ||
	    scratch_count(dir) != 1)
		goto out;
	(void)rmdir(path);
	if (crypto_file_write_atomic(NULL, "x", 1, 0600) != -EINVAL ||
	    crypto_file_write_atomic("", "x", 1, 0600) != -EINVAL ||
	    crypto_file_write_atomic(path, NULL, 1, 0600) != -EINVAL)
		goto out;
	rc = 0;
out:
	scratch_remove(dir);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_file_write_atomic_relative_path)
{
	char dir[SCRATCH_PATH_BYTES], cwd[SCRATCH_PATH_BYTES * 4];
	int rc = -1;

	if (!getcwd(cwd, sizeof(cwd)) || scratch_make(dir) || chdir(dir))
		goto out;
	/* no slash: the directory to sync is "." */
	if (crypto_file_write_atomic("rel.txt", "r", 1, 0600) ||
	    !file_is("rel.txt", "r"))
		goto out;
	rc = 0;
out:
	if (chdir(cwd))
		rc = -1;
	scratch_remove(dir);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_file_read_appends_and_caps)
{
	char dir[SCRATCH_PATH_BYTES], path[SCRATCH_PATH_BYTES];
	char big[10000];
	struct buf b;
	int rc = -1;

	buf_init(&b, 1 << 20);
	memset(big, 'b', sizeof(big));
	if (scratch_make(dir))
		goto out;
	scratch_path(path, dir, "big");
	/* larger than the read chunk, so the loop runs more than once */
	if (crypto_file_write_atomic(path, big, sizeof(big), 0600) ||
	    buf_append_cstr(&b, "pre") ||
	    crypto_file_read(path, sizeof(big), &b) ||
	    b.len != 3 + sizeof(big) || memcmp(b.p, "pre", 3) ||
	    memcmp(b.p + 3, big, sizeof(big)))
		goto out;
	/* over the cap: -EMSGSIZE, buffer as it was */
	if (crypto_file_read(path, sizeof(big) - 1, &b) != -EMSGSIZE ||
	    b.len != 3 + sizeof(big) || b.err)
		goto out;
	rc = 0;
out:
	buf_fini(&b);
	scratch_remove(dir);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_file_read_errors)
{
	char dir[SCRATCH_PATH_BYTES], path[SCRATCH_PATH_BYTES];
	struct buf b, small;
	int rc = -1;

	buf_init(&b, 1 << 20);
	buf_init(&small, 4);
	if (scratch_make(dir))
		goto out;
	scratch_path(path, dir, "nope");
	if (crypto_file_read(path, 100, &b) != -ENOENT ||
	    !strstr(crypto_last_error(), "nope"))
		goto out;
	if (crypto_file_read(dir, 100, &b) != -EINVAL || b.len)
		goto out;
	/* a FIFO is refused, without blocking in open() */
	scratch_path(path, dir, "fifo");
	if (mkfifo(path, 0600) || crypto_file_read(path, 100, &b) != -EINVAL ||
	    !strstr(crypto_last_error(), "not a regular file"))
		goto out;
	/* the buffer's own cap is hit before the read cap */
	scratch_path(path, dir, "f");
	if (crypto_file_write_atomic(path, "12345678", 8, 0600) ||
	    crypto_file_read(path, 100, &small) != -EMSGSIZE || small.len ||
	    small.err)
		goto out;
	/* a buffer already in error is left alone */
	small.err = -ENOMEM;
	if (crypto_file_read(path, 100, &small) != -ENOMEM)
		goto out;
	small.err = 0;
	if (crypto_file_read(NULL, 100, &b) != -EINVAL ||
	    crypto_file_read(path, 100, NULL) != -EINVAL)
		goto out;
	rc = 0;
out:
	buf_fini(&b);
	buf_fini(&small);
	scratch_remove(dir);
	TEST_EQ_INT(rc, 0);
	return 0;
}
