/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit-test runner: -l lists, -t NAME runs one (prefix match), --oom sweeps
 * allocation failures, --no-leakcheck skips the live-block check. Prints
 * one line per test and ends with "N passed, N failed". */
#include "test.h"

#include <stdlib.h>

enum { MAX_TESTS = 2048 };

static const struct test_case *tests[MAX_TESTS];
static size_t n_tests;
static const char *data_dir = TEST_DATA_DIR;

void test_register(const struct test_case *tc)
{
	if (n_tests < MAX_TESTS)
		tests[n_tests++] = tc;
}

const char *test_data_dir(void)
{
	return data_dir;
}

int test_read_file(const char *rel, char **data, size_t *len)
{
	struct buf path;
	const char *p;
	FILE *f;
	char *d = NULL;
	long n;
	int err = 0;

	buf_init(&path, 4096);
	buf_printf(&path, "%s/%s", data_dir, rel);
	if (buf_cstr(&path, &p)) {
		buf_fini(&path);
		return -ENOMEM;
	}
	f = fopen(p, "rb");
	buf_fini(&path);
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		err = -EIO;
		goto out;
	}
	d = mem_alloc((size_t)n + 1);
	if (!d) {
		err = -ENOMEM;
		goto out;
	}
	if (fread(d, 1, (size_t)n, f) != (size_t)n) {
		err = -EIO;
		goto out;
	}
	d[n] = '\0';
	*data = d;
	*len = (size_t)n;
	d = NULL;
out:
	mem_free(d);
	fclose(f);
	return err;
}

static int by_file_then_order(const void *a, const void *b)
{
	const struct test_case *x = *(const struct test_case *const *)a;
	const struct test_case *y = *(const struct test_case *const *)b;
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	return x < y ? -1 : x > y;
}

static int run_one(const struct test_case *tc, bool leakcheck)
{
	long before = mem_live_blocks();
	int rc = tc->fn();
	long after = mem_live_blocks();

	if (rc == 0 && leakcheck && after != before) {
		fprintf(stderr, "    leak: %ld block(s) still live\n",
			after - before);
		rc = -1;
	}
	return rc;
}

/* Fail each allocation in turn: the test must fail cleanly (or pass) and
 * leak nothing, never crash (libre's OOM sweep). */
static int run_oom(const struct test_case *tc)
{
	for (long n = 1; n < 100000; n++) {
		long before = mem_live_blocks();
		int rc;

		mem_alloc_count_reset();
		mem_fail_after(n);
		rc = tc->fn();
		mem_fail_after(0);
		if (mem_live_blocks() != before) {
			fprintf(stderr, "    leak after failing alloc #%ld\n",
				n);
			return -1;
		}
		if (mem_alloc_count() < n)
			return rc == 0 ? 0 : -1; /* no more allocations */
		(void)rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	bool list = false, oom = false, leakcheck = true;
	unsigned passed = 0, failed = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-l"))
			list = true;
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "-d") && i + 1 < argc)
			data_dir = argv[++i];
		else if (!strcmp(argv[i], "--oom"))
			oom = true;
		else if (!strcmp(argv[i], "--no-leakcheck"))
			leakcheck = false;
		else {
			fprintf(stderr,
				"usage: %s [-l] [-t NAME] [-d DATADIR] [--oom] "
				"[--no-leakcheck]\n",
				argv[0]);
			return 2;
		}
	}
	qsort(tests, n_tests, sizeof(tests[0]), by_file_then_order);
	for (size_t i = 0; i < n_tests; i++) {
		const struct test_case *tc = tests[i];
		int rc;

		if (only && strncmp(tc->name, only, strlen(only)))
			continue;
		if (list) {
			printf("%s\n", tc->name);
			continue;
		}
		rc = oom ? run_oom(tc) : run_one(tc, leakcheck);
		printf("%s %s\n", rc == 0 ? "PASS" : "FAIL", tc->name);
		fflush(stdout);
		if (rc == 0)
			passed++;
		else
			failed++;
	}
	if (!list)
		printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
