/* SPDX-License-Identifier: BSD-3-Clause */
/* The key-encryption key: 32 random bytes in a file of its own, outside
 * the database, readable by the daemon's user only (RFC 6072 §10.7 asks
 * that private keys on the server be stored encrypted). */
#include "crypto/priv.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

int crypto_kek_create(const char *path)
{
	unsigned char key[CRYPTO_KEK_BYTES];
	int err;

	if (!path)
		return -EINVAL;
	if (RAND_priv_bytes(key, sizeof(key)) != 1)
		return crypto_fail("KEK generation");
	err = crypto_file_create_atomic(path, key, sizeof(key), 0600);
	OPENSSL_cleanse(key, sizeof(key));
	return err;
}

int crypto_kek_load(const char *path, struct crypto_kek *out)
{
	unsigned char key[CRYPTO_KEK_BYTES + 1];
	struct stat st;
	ssize_t n;
	int fd, err = 0;

	if (!path || !out)
		return -EINVAL;
	/* O_NONBLOCK: opening a FIFO must not hang; regular files ignore it */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return crypto_errorf(-errno, "cannot open KEK file %s: %s",
				     path, strerror(errno));
	if (fstat(fd, &st)) {
		err = crypto_errorf(-errno, "cannot stat KEK file %s: %s", path,
				    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = crypto_errorf(-EINVAL,
				    "KEK file %s is not a regular "
				    "file",
				    path);
		goto out;
	}
	/* like ssh with private keys: any access by group or other means
	 * the key may already be known, or replaced, by someone else */
	if (st.st_mode & 077) {
		err = crypto_errorf(-EPERM,
				    "KEK file %s has mode %04o: group "
				    "and other must have no access "
				    "(chmod 600 it)",
				    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	/* read one byte more than a key to tell "too long" from "exact" */
	do
		n = pread(fd, key, sizeof(key), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		err = crypto_errorf(-errno, "cannot read KEK file %s: %s", path,
				    strerror(errno));
		goto out;
	}
	if ((size_t)n != CRYPTO_KEK_BYTES) {
		err = crypto_errorf(-EBADMSG, "KEK file %s is not %d bytes",
				    path, CRYPTO_KEK_BYTES);
		goto out;
	}
	memcpy(out->key, key, CRYPTO_KEK_BYTES);
out:
	OPENSSL_cleanse(key, sizeof(key));
	close(fd);
	return err;
}

void crypto_kek_wipe(struct crypto_kek *k)
{
	if (k)
		OPENSSL_cleanse(k, sizeof(*k));
}
