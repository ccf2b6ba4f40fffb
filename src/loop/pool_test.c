/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of the worker pool: jobs off the loop thread, completions on it,
 * in order, back-pressure, and cancellation at shutdown. */
#include "loop.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "test.h"

enum { MAX_JOBS = 32 };

struct pool_ctx {
	struct event_base *base;
	pthread_t loop_thread;
	pthread_t job_thread[MAX_JOBS];
	atomic_int job_ran[MAX_JOBS];
	int done_order[MAX_JOBS];
	bool done_cancelled[MAX_JOBS];
	bool done_on_loop[MAX_JOBS];
	int n_done;
	int want_done;
	/* a gate the blocking job waits on */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool is_open;
	atomic_int blocker_started;
};

struct pool_arg {
	struct pool_ctx *ctx;
	int i;
};

static void job_record(void *arg)
{
	struct pool_arg *a = arg;

	a->ctx->job_thread[a->i] = pthread_self();
	atomic_store(&a->ctx->job_ran[a->i], 1);
}

/* Waits until the gate opens, or 300 ms at most. */
static void job_block(void *arg)
{
	struct pool_arg *a = arg;
	struct pool_ctx *c = a->ctx;
	struct timespec until;

	atomic_store(&c->blocker_started, 1);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 300 * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->mu);
	while (!c->is_open)
		if (pthread_cond_timedwait(&c->cv, &c->mu, &until))
			break;
	pthread_mutex_unlock(&c->mu);
	job_record(arg);
}

static void job_done(void *arg, bool is_cancelled)
{
	struct pool_arg *a = arg;
	struct pool_ctx *c = a->ctx;

	c->done_cancelled[a->i] = is_cancelled;
	c->done_on_loop[a->i] = pthread_equal(pthread_self(), c->loop_thread);
	c->done_order[c->n_done++] = a->i;
	if (c->n_done == c->want_done)
		event_base_loopbreak(c->base);
}

static void ctx_init(struct pool_ctx *c, int want_done)
{
	memset(c, 0, sizeof(*c));
	c->loop_thread = pthread_self();
	c->want_done = want_done;
	c->base = event_base_new();
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
}

static void ctx_fini(struct pool_ctx *c)
{
	if (c->base)
		event_base_free(c->base);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
}

/* Run the loop until want_done completions or 5 s. */
static void run_loop(struct pool_ctx *c)
{
	struct timeval tv = {5, 0};

	event_base_loopexit(c->base, &tv);
	event_base_dispatch(c->base);
}

static void gate_open(struct pool_ctx *c)
{
	pthread_mutex_lock(&c->mu);
	c->is_open = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static bool wait_blocker(struct pool_ctx *c)
{
	for (int i = 0; i < 2000; i++) {
		struct timespec ms = {0, 1000000L};

		if (atomic_load(&c->blocker_started))
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

static int pool_jobs_run_off_loop(struct pool_ctx *c, struct pool_arg *a)
{
	struct loop_pool *p = NULL;
	int rc = -1, n = 8;

	if (!c->base || loop_pool_new(&p, c->base, 3))
		goto out;
	for (int i = 0; i < n; i++) {
		a[i] = (struct pool_arg){c, i};
		if (loop_pool_submit(p, job_record, job_done, &a[i]))
			goto out;
	}
	if (loop_pool_pending(p) != (size_t)n)
		goto out;
	run_loop(c);
	if (c->n_done != n || loop_pool_pending(p) != 0)
		goto out;
	for (int i = 0; i < n; i++) {
		if (!atomic_load(&c->job_ran[i]) || c->done_cancelled[i] ||
		    !c->done_on_loop[i] ||
		    pthread_equal(c->job_thread[i], c->loop_thread))
			goto out;
	}
	rc = 0;
out:
	loop_pool_free(p);
	return rc;
}

TEST(loop_pool_jobs_run_off_loop_thread)
{
	struct pool_ctx c;
	struct pool_arg a[MAX_JOBS];
	int rc;

	ctx_init(&c, 8);
	rc = pool_jobs_run_off_loop(&c, a);
	ctx_fini(&c);
	TEST_EQ_INT(rc, 0);
	return 0;
}

static int pool_in_order(struct pool_ctx *c, struct pool_arg *a)
{
	struct loop_pool *p = NULL;
	int rc = -1;

	if (!c->base || loop_pool_new(&p, c->base, 1))
		goto out;
	for (int i = 0; i < MAX_JOBS; i++) {
		a[i] = (struct pool_arg){c, i};
		if (loop_pool_submit(p, job_record, job_done, &a[i]))
			goto out;
	}
	run_loop(c);
	if (c->n_done != MAX_JOBS)
		goto out;
	/* one worker finishes them in submission order */
	for (int i = 0; i < MAX_JOBS; i++)
		if (c->done_order[i] != i || !c->done_on_loop[i])
			goto out;
	rc = 0;
out:
	loop_pool_free(p);
	return rc;
}

TEST(loop_pool_done_in_completion_order)
{
	struct pool_ctx c;
	struct pool_arg a[MAX_JOBS];
	int rc;

	ctx_init(&c, MAX_JOBS);
	rc = pool_in_order(&c, a);
	ctx_fini(&c);
	TEST_EQ_INT(rc, 0);
	return 0;
}

static int pool_backpressure(struct pool_ctx *c, struct pool_arg *a)
{
	struct loop_pool *p = NULL;
	int rc = -1;

	if (!c->base || loop_pool_new(&p, c->base, 1))
		goto out;
	loop_pool_set_max_queued(p, 2);
	for (int i = 0; i < 5; i++)
		a[i] = (struct pool_arg){c, i};
	if (loop_pool_submit(p, job_block, job_done, &a[0]) || !wait_blocker(c))
		goto out;
	/* the worker is busy: two may wait, the third is refused */
	if (loop_pool_submit(p, job_record, job_done, &a[1]) ||
	    loop_pool_submit(p, job_record, job_done, &a[2]) ||
	    loop_pool_submit(p, job_record, job_done, &a[3]) != -EMSGSIZE ||
	    loop_pool_pending(p) != 3)
		goto out;
	gate_open(c);
	run_loop(c);
	if (c->n_done != 3 || atomic_load(&c->job_ran[3]))
		goto out;
	/* the queue drained: accepted again; 0 restores the default cap */
	loop_pool_set_max_queued(p, 0);
	c->want_done = 4;
	if (loop_pool_submit(p, job_record, job_done, &a[4]))
		goto out;
	run_loop(c);
	if (c->n_done != 4 || !atomic_load(&c->job_ran[4]))
		goto out;
	rc = 0;
out:
	gate_open(c);
	loop_pool_free(p);
	return rc;
}

TEST(loop_pool_backpressure)
{
	struct pool_ctx c;
	struct pool_arg a[MAX_JOBS];
	int rc;

	ctx_init(&c, 3);
	rc = pool_backpressure(&c, a);
	ctx_fini(&c);
	TEST_EQ_INT(rc, 0);
	return 0;
}

static int pool_free_cancels(struct pool_ctx *c, struct pool_arg *a)
{
	struct loop_pool *p = NULL;
	int rc = -1;

	if (!c->base || loop_pool_new(&p, c->base, 1))
		goto out;
	for (int i = 0; i < 4; i++)
		a[i] = (struct pool_arg){c, i};
	if (loop_pool_submit(p, job_block, job_done, &a[0]) || !wait_blocker(c))
		goto out;
	for (int i = 1; i < 4; i++)
		if (loop_pool_submit(p, job_record, job_done, &a[i]))
			goto out;
	/* the blocker holds the only worker for 300 ms; free cancels the
	 * queued three at once and waits for the running one */
	loop_pool_free(p);
	p = NULL;
	if (c->n_done != 4 || c->done_order[0] != 0 || c->done_cancelled[0] ||
	    !atomic_load(&c->job_ran[0]))
		goto out;
	for (int i = 1; i < 4; i++)
		if (c->done_order[i] != i || !c->done_cancelled[i] ||
		    atomic_load(&c->job_ran[i]) || !c->done_on_loop[i])
			goto out;
	rc = 0;
out:
	loop_pool_free(p);
	return rc;
}

TEST(loop_pool_free_cancels_queued)
{
	struct pool_ctx c;
	struct pool_arg a[MAX_JOBS];
	int rc;

	ctx_init(&c, -1);
	rc = pool_free_cancels(&c, a);
	ctx_fini(&c);
	TEST_EQ_INT(rc, 0);
	return 0;
}

static int pool_batches(struct pool_ctx *c, struct pool_arg *a)
{
	struct loop_pool *p = NULL;
	struct timeval tv = {0, 100000};
	int rc = -1;

	if (!c->base || loop_pool_new(&p, c->base, 1))
		goto out;
	loop_pool_set_batch(p, 2);
	for (int i = 0; i < 3; i++)
		a[i] = (struct pool_arg){c, i};
	if (loop_pool_submit(p, job_record, job_done, &a[0]) ||
	    loop_pool_submit(p, job_block, job_done, &a[1]) ||
	    loop_pool_submit(p, job_record, job_done, &a[2]) ||
	    !wait_blocker(c))
		goto out;
	/* job 0 is done and job 2 still waits: one completion is not a
	 * batch, so 100 ms of loop see none */
	event_base_loopexit(c->base, &tv);
	event_base_dispatch(c->base);
	if (c->n_done != 0 || !atomic_load(&c->job_ran[0]))
		goto out;
	/* the blocker's end makes two; the last job wakes the loop alone */
	gate_open(c);
	run_loop(c);
	if (c->n_done != 3)
		goto out;
	for (int i = 0; i < 3; i++)
		if (c->done_order[i] != i || c->done_cancelled[i] ||
		    !c->done_on_loop[i])
			goto out;
	rc = 0;
out:
	gate_open(c);
	loop_pool_free(p);
	return rc;
}

TEST(loop_pool_batches_completions)
{
	struct pool_ctx c;
	struct pool_arg a[MAX_JOBS];
	int rc;

	ctx_init(&c, 3);
	rc = pool_batches(&c, a);
	ctx_fini(&c);
	TEST_EQ_INT(rc, 0);
	return 0;
}

static atomic_int noop_runs;

static void job_noop(void *arg)
{
	(void)arg;
	atomic_fetch_add(&noop_runs, 1);
}

struct resubmit {
	struct loop_pool *p;
	int rc;
	bool was_cancelled;
};

/* A done callback that submits again, as a retrying caller would. */
static void done_resubmit(void *arg, bool is_cancelled)
{
	struct resubmit *r = arg;

	r->was_cancelled = is_cancelled;
	r->rc = loop_pool_submit(r->p, job_noop, NULL, NULL);
}

TEST(loop_pool_bad_args)
{
	struct event_base *base = event_base_new();
	struct loop_pool *p = NULL;
	struct resubmit r = {NULL, 1, false};
	int rc = -1;

	TEST_ASSERT(base);
	TEST_EQ_INT(loop_pool_new(&p, NULL, 1), -EINVAL);
	TEST_EQ_INT(loop_pool_new(&p, base, 0), -EINVAL);
	TEST_EQ_INT(loop_pool_new(&p, base, 100000), -EINVAL);
	TEST_EQ_INT(loop_pool_new(NULL, base, 1), -EINVAL);
	TEST_ASSERT(!p);
	TEST_EQ_INT(loop_pool_submit(NULL, job_noop, NULL, NULL), -EINVAL);
	TEST_EQ_INT(loop_pool_pending(NULL), 0);
	loop_pool_set_max_queued(NULL, 1);
	loop_pool_free(NULL);

	atomic_store(&noop_runs, 0);
	if (loop_pool_new(&p, base, 2) == 0) {
		r.p = p;
		/* no job function: refused; no done callback: allowed */
		if (loop_pool_submit(p, NULL, NULL, NULL) == -EINVAL &&
		    loop_pool_submit(p, job_noop, NULL, NULL) == 0 &&
		    loop_pool_submit(p, job_noop, done_resubmit, &r) == 0)
			rc = 0;
		/* free lets both run (or cancels them); a submit from a
		 * done callback during free is refused */
		loop_pool_free(p);
	}
	event_base_free(base);
	TEST_EQ_INT(rc, 0);
	TEST_EQ_INT(r.rc, -EINVAL);
	TEST_ASSERT(atomic_load(&noop_runs) <= 2);
	return 0;
}
