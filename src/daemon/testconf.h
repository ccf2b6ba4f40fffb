/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers of the sipcertd.conf tests: a scratch directory with the files
 * the defaults need, writing and loading a configuration in it, and
 * looking for an error line. Static inline, for config*_test.c. */
#ifndef SIPCERT_DAEMON_TESTCONF_H
#define SIPCERT_DAEMON_TESTCONF_H

#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#include "daemon/config.h"

enum { TPATH = 512 };

/* snprintf that cuts silently: test paths are short, and a cut one just
 * fails the test's checks. */
PRINTF_LIKE(3, 4)
static inline void fmt(char *out, size_t size, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	(void)vsnprintf(out, size, f, ap);
	va_end(ap);
}

struct tdir {
	char dir[TPATH];
};

/* A scratch directory holding the files the defaults need (domain.pem,
 * domain.key, kek with mode 0600). */
static inline int tdir_make(struct tdir *t, bool with_files)
{
	const char *base = getenv("TMPDIR");
	static const char *const names[] = {"domain.pem", "domain.key", "kek"};

	fmt(t->dir, sizeof(t->dir), "%s/sipcert-conf-XXXXXX",
	    base && *base ? base : "/tmp");
	if (!mkdtemp(t->dir))
		return -errno;
	for (size_t i = 0; with_files && i < ARRAY_SIZE(names); i++) {
		char p[TPATH];
		FILE *f;

		fmt(p, sizeof(p), "%s/%s", t->dir, names[i]);
		f = fopen(p, "w");
		if (!f)
			return -errno;
		fputs("x\n", f);
		fclose(f);
		if (chmod(p, 0600))
			return -errno;
	}
	return 0;
}

static inline const char *tdir_path(const struct tdir *t, const char *name,
				    char out[TPATH])
{
	fmt(out, TPATH, "%s/%s", t->dir, name);
	return out;
}

static inline int tdir_write(const struct tdir *t, const char *name,
			     const char *text, size_t len)
{
	char p[TPATH];
	FILE *f = fopen(tdir_path(t, name, p), "wb");

	if (!f)
		return -errno;
	if (fwrite(text, 1, len, f) != len) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) ? -errno : 0;
}

/* Remove the directory, its files and one level of sub-directories. */
static inline void tdir_remove_at(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[TPATH];
	struct stat st;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		fmt(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (!lstat(p, &st) && S_ISDIR(st.st_mode))
			tdir_remove_at(p);
		else
			(void)unlink(p);
	}
	closedir(d);
	(void)rmdir(dir);
}

static inline void tdir_remove(struct tdir *t)
{
	tdir_remove_at(t->dir);
}

/* Write name with text into t and load it; errors into e (reset). */
static inline int load_text(const struct tdir *t, const char *text,
			    struct config *c, struct buf *e)
{
	char p[TPATH];
	int err = tdir_write(t, "sipcertd.conf", text, strlen(text));

	if (err)
		return err;
	buf_reset(e);
	return config_load(c, tdir_path(t, "sipcertd.conf", p), e);
}

static inline bool has_line(struct buf *e, const char *want)
{
	const char *s;

	return !buf_cstr(e, &s) && strstr(s, want);
}

static inline unsigned count_lines(const struct buf *e)
{
	unsigned n = 0;

	for (size_t i = 0; i < e->len; i++)
		n += e->p[i] == '\n';
	return n;
}

#define TEST_HAS(e, want)                                                      \
	do {                                                                   \
		if (!has_line((e), (want))) {                                  \
			TEST_FAIL_AT("no error containing \"%s\" in:\n%.*s",   \
				     (want), (int)(e)->len, (e)->p);           \
			goto out;                                              \
		}                                                              \
	} while (0)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			TEST_FAIL_AT("assertion failed: %s", #cond);           \
			goto out;                                              \
		}                                                              \
	} while (0)

#endif
