/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit-test macros. Each *_test.c registers its tests with TEST(name);
 * tests/runner.c runs them with a leak check around each one. */
#ifndef SIPCERT_TEST_H
#define SIPCERT_TEST_H

#include <stdio.h>
#include <string.h>

#include "base/base.h"

typedef int test_fn(void);

struct test_case {
	const char *name;
	const char *file;
	test_fn *fn;
};

void test_register(const struct test_case *tc);
/* Directory holding tests/data (set by the runner from -d or the build). */
const char *test_data_dir(void);
/* Read tests/data/<rel> into a heap buffer (mem_free it). 0 or -errno. */
int test_read_file(const char *rel, char **data, size_t *len);

/* A test is a function returning 0 (pass) or -1 (fail). Registration runs
 * before main, so no central list must be edited to add a test. */
#define TEST(name)                                                             \
	static int test_##name(void);                                          \
	__attribute__((constructor)) static void test_reg_##name(void)         \
	{                                                                      \
		static const struct test_case tc = {#name, __FILE__,           \
						    test_##name};              \
		test_register(&tc);                                            \
	}                                                                      \
	static int test_##name(void)

#define TEST_FAIL_AT(...)                                                      \
	do {                                                                   \
		fprintf(stderr, "    %s:%d: ", __FILE__, __LINE__);            \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
	} while (0)

#define TEST_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			TEST_FAIL_AT("assertion failed: %s", #cond);           \
			return -1;                                             \
		}                                                              \
	} while (0)

#define TEST_EQ_INT(a, b)                                                      \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_) {                                                \
			TEST_FAIL_AT("%s == %lld, expected %s == %lld", #a,    \
				     a_, #b, b_);                              \
			return -1;                                             \
		}                                                              \
	} while (0)

#define TEST_EQ_SLICE(s, lit)                                                  \
	do {                                                                   \
		struct slice s_ = (s);                                         \
		if (!slice_eq(s_, slice_cstr(lit))) {                          \
			TEST_FAIL_AT("%s is \"%.*s\", expected \"%s\"", #s,    \
				     SLICE_FMT(s_), lit);                      \
			return -1;                                             \
		}                                                              \
	} while (0)

#define TEST_EQ_STR(a, b)                                                      \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (!a_ || !b_ || strcmp(a_, b_)) {                            \
			TEST_FAIL_AT("%s is \"%s\", expected \"%s\"", #a,      \
				     a_ ? a_ : "(null)", b_ ? b_ : "(null)");  \
			return -1;                                             \
		}                                                              \
	} while (0)

#endif
