/* SPDX-License-Identifier: BSD-3-Clause */
/* Corpus replay (STYLE.md B9): a plain main() feeding each file argument,
 * and every file under a directory argument, through one libFuzzer harness
 * so make test replays the seed corpora without libFuzzer. */
#include "base/base.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The harness defines the first; the other two exist only in some harnesses
 * and in sanitizer runtimes, hence weak. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

enum { MAX_PATH_BYTES = 4096, MAX_INPUT_BYTES = 16 * 1024 * 1024 };

struct paths {
	char **v;
	size_t n;
	size_t cap;
};

/* The input being run, named by the crash report: a crash ends the process,
 * so this is the only way the log can say which corpus file did it. */
static const char *volatile current_input;

static const int crash_signals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};

static void write_err(const char *s)
{
	size_t n = strlen(s);

	while (n) {
		ssize_t w = write(STDERR_FILENO, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Runs inside a signal handler or a sanitizer's death path: write(2) only. */
static void report_crash(void)
{
	const char *f = current_input;

	if (!f)
		return;
	current_input = NULL;
	write_err("replay: crashed on ");
	write_err(f);
	write_err("\n");
}

static void on_crash_signal(int sig)
{
	report_crash();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Take only signals nobody else claimed: a sanitizer that owns SIGSEGV
 * prints a better report and names the input through its death callback. */
static void crash_reports_install(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(crash_signals); i++) {
		struct sigaction old, sa;

		if (sigaction(crash_signals[i], NULL, &old) ||
		    old.sa_handler != SIG_DFL)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_crash_signal;
		sigemptyset(&sa.sa_mask);
		(void)sigaction(crash_signals[i], &sa, NULL);
	}
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(report_crash);
}

static int paths_add(struct paths *ps, char *p)
{
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 64;
		char **v = mem_realloc(ps->v, cap * sizeof(*v));

		if (!v) {
			mem_free(p);
			return -ENOMEM;
		}
		ps->v = v;
		ps->cap = cap;
	}
	ps->v[ps->n++] = p;
	return 0;
}

static void paths_fini(struct paths *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		mem_free(ps->v[i]);
	mem_free(ps->v);
	*ps = (struct paths){0};
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *path_join(const char *dir, const char *name)
{
	struct buf b;
	char *p;

	buf_init(&b, MAX_PATH_BYTES);
	buf_printf(&b, "%s/%s", dir, name);
	p = buf_steal(&b, NULL);
	buf_fini(&b);
	return p;
}

/* Every regular file under path, recursively, as libFuzzer reads a corpus.
 * Hidden entries (.gitkeep and the like) are not inputs. */
static int paths_collect(struct paths *ps, const char *path)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int err = 0;

	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		char *p = mem_strdup(path);

		return p ? paths_add(ps, p) : -ENOMEM;
	}
	d = opendir(path);
	if (!d)
		return -errno;
	while (!err && (de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = path_join(path, de->d_name);
		if (!p) {
			err = -ENOMEM;
			break;
		}
		err = paths_collect(ps, p);
		mem_free(p);
	}
	closedir(d);
	return err;
}

/* The input gets a buffer of exactly its size, so reading one byte past it
 * is a heap overflow that ASan reports, as under libFuzzer. */
static int input_read(const char *path, uint8_t **data, size_t *len)
{
	struct stat st;
	uint8_t *d;
	size_t n;
	FILE *f;
	int err = 0;

	f = fopen(path, "rb");
	if (!f)
		return -errno;
	if (fstat(fileno(f), &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MAX_INPUT_BYTES) {
		err = S_ISREG(st.st_mode) ? -EMSGSIZE : -EINVAL;
		goto out;
	}
	n = (size_t)st.st_size;
	d = mem_alloc(n);
	if (!d) {
		err = -ENOMEM;
		goto out;
	}
	if (fread(d, 1, n, f) != n || fgetc(f) != EOF) {
		mem_free(d);
		err = -EIO;
		goto out;
	}
	*data = d;
	*len = n;
out:
	fclose(f);
	return err;
}

/* One input: a pass when the harness returns and leaves no block of the
 * sipcert allocator live (the unit runner's leak rule). */
static int replay_one(const char *path, bool verbose)
{
	uint8_t *data = NULL;
	size_t len = 0;
	long before, after;
	int err;

	err = input_read(path, &data, &len);
	if (err) {
		printf("FAIL %s: cannot read: %s\n", path, strerror(-err));
		return -1;
	}
	before = mem_live_blocks();
	current_input = path;
	(void)LLVMFuzzerTestOneInput(data, len);
	current_input = NULL;
	after = mem_live_blocks();
	mem_free(data);
	if (after != before) {
		printf("FAIL %s: %ld block(s) still live after the harness\n",
		       path, after - before);
		return -1;
	}
	if (verbose)
		printf("PASS %s\n", path);
	return 0;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-v] FILE|DIR...\n"
		"Feeds each file (directories recursively) through the "
		"harness once;\nends with \"N passed, N failed\".\n",
		argv0);
}

int main(int argc, char **argv)
{
	struct paths ps = {0};
	unsigned passed = 0, failed = 0;
	bool verbose = false;
	int n_args = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(argv[0]);
			return 0;
		} else if (argv[i][0] == '-') {
			/* libFuzzer's own flags mean nothing here */
			fprintf(stderr, "replay: ignoring %s\n", argv[i]);
		} else
			n_args++;
	}
	if (!n_args) {
		usage(argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		(void)LLVMFuzzerInitialize(&argc, &argv);
	crash_reports_install();

	for (int i = 1; i < argc; i++) {
		size_t first = ps.n;
		int err;

		if (argv[i][0] == '-')
			continue;
		err = paths_collect(&ps, argv[i]);
		if (err) {
			printf("FAIL %s: %s\n", argv[i], strerror(-err));
			failed++;
		}
		if (ps.n > first)
			qsort(ps.v + first, ps.n - first, sizeof(*ps.v),
			      by_name);
	}
	for (size_t i = 0; i < ps.n; i++) {
		if (replay_one(ps.v[i], verbose))
			failed++;
		else
			passed++;
		fflush(stdout);
	}
	paths_fini(&ps);
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
