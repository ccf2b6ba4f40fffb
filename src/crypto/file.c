/* SPDX-License-Identifier: BSD-3-Clause */
/* Small files written atomically (temporary file, fsync, rename, directory
 * fsync) and read with a size cap: key, certificate and KEK files. */
#include "crypto/priv.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* Record "<what> <path>: <reason>" for err (a negative errno). */
static int sys_fail(int err, const char *what, const char *path)
{
	return crypto_errorf(err, "%s %s: %s", what, path, strerror(-err));
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory holding path, so the rename itself is durable. */
static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, err = 0;

	if (!slash)
		dir = mem_strdup(".");
	else if (slash == path)
		dir = mem_strdup("/");
	else
		dir = mem_strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
	} else {
		if (fsync(fd) && errno != EINVAL)
			err = -errno;
		close(fd);
	}
	mem_free(dir);
	return err;
}

/* The temporary file sits beside the target so rename() never crosses a
 * file system; mkstemp() creates it 0600, so a secret is never exposed
 * while it is being written. */
static int write_atomic(const char *path, const void *data, size_t len,
			mode_t mode, bool may_replace)
{
	struct buf tmp;
	const char *tmp_path;
	bool is_created = false;
	int fd = -1, err;

	if (!path || !*path || (len && !data))
		return -EINVAL;
	buf_init(&tmp, 4096 + 16);
	err = buf_printf(&tmp, "%s.tmp-XXXXXX", path);
	if (!err)
		err = buf_cstr(&tmp, &tmp_path);
	if (err)
		goto out;
	fd = mkostemp(tmp.p, O_CLOEXEC);
	if (fd < 0) {
		err = sys_fail(-errno, "cannot create a file beside", path);
		goto out;
	}
	is_created = true;
	if (fchmod(fd, mode & 07777))
		err = -errno;
	if (!err)
		err = write_all(fd, data, len);
	if (!err && fsync(fd))
		err = -errno;
	if (err) {
		(void)sys_fail(err, "cannot write", tmp_path);
		goto out;
	}
	err = close(fd) ? -errno : 0;
	fd = -1;
	if (err) {
		(void)sys_fail(err, "cannot write", tmp_path);
		goto out;
	}
	if (may_replace) {
		if (rename(tmp_path, path))
			err = sys_fail(-errno, "cannot rename to", path);
		else
			is_created = false;
	} else {
		/* link() fails with EEXIST instead of replacing: the
		 * no-overwrite check and the creation are one step */
		if (link(tmp_path, path))
			err = sys_fail(-errno, "cannot create", path);
		(void)unlink(tmp_path);
		is_created = false;
	}
	if (!err) {
		err = sync_dir(path);
		if (err)
			(void)sys_fail(err, "cannot sync the directory of",
				       path);
	}
out:
	if (fd >= 0)
		close(fd);
	if (is_created)
		(void)unlink(tmp_path);
	buf_fini(&tmp);
	return err;
}

int crypto_file_write_atomic(const char *path, const void *data, size_t len,
			     mode_t mode)
{
	return write_atomic(path, data, len, mode, true);
}

int crypto_file_create_atomic(const char *path, const void *data, size_t len,
			      mode_t mode)
{
	return write_atomic(path, data, len, mode, false);
}

int crypto_file_read(const char *path, size_t max_bytes, struct buf *out)
{
	struct crypto_mark m;
	struct stat st;
	char chunk[4096];
	size_t total = 0;
	int fd, err;

	if (!path || !out)
		return -EINVAL;
	err = crypto_mark_take(out, &m);
	if (err)
		return err;
	/* O_NONBLOCK: opening a FIFO must not hang; regular files ignore it */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return sys_fail(-errno, "cannot open", path);
	if (fstat(fd, &st)) {
		err = sys_fail(-errno, "cannot stat", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = crypto_errorf(-EINVAL, "%s is not a regular file", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = sys_fail(-errno, "cannot read", path);
			break;
		}
		if (n == 0)
			break;
		if ((size_t)n > max_bytes - total) {
			err = crypto_errorf(-EMSGSIZE,
					    "%s is larger than %zu bytes", path,
					    max_bytes);
			break;
		}
		total += (size_t)n;
		err = buf_append(out, chunk, (size_t)n);
		if (err)
			break;
	}
out:
	OPENSSL_cleanse(chunk, sizeof(chunk));
	close(fd);
	if (err)
		crypto_mark_undo(out, &m);
	return err;
}
