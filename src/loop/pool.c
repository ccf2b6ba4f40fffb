/* SPDX-License-Identifier: BSD-3-Clause */
/* Worker-thread pool whose jobs complete back on the event loop, so the
 * loop never waits on RSA signing or an fsync (STYLE.md B6). Workers wake
 * the loop through an eventfd, which needs no locking inside libevent. */
#include "loop.h"

#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum {
	POOL_MAX_QUEUED_DEFAULT = 1024,
	POOL_MAX_THREADS = 256,
};

struct pool_job {
	struct pool_job *next;
	loop_job_cb *run;
	loop_done_cb *done;
	void *arg;
};

struct job_list {
	struct pool_job *head;
	struct pool_job *tail;
};

struct loop_pool {
	struct event_base *base;
	/* mu guards everything up to wake_pending; the rest is the loop
	 * thread's alone */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job_list queued;	  /* waiting for a worker */
	struct job_list finished; /* ran; done callback not run yet */
	size_t n_queued;
	size_t n_finished;
	size_t max_queued;
	size_t batch; /* completions gathered before the loop is woken */
	bool is_stopping;
	bool wake_pending; /* the eventfd was written since the last drain */

	size_t pending; /* submitted, done callback not run yet */
	bool is_dispatching;
	int wake_fd;
	struct event *wake_ev;
	pthread_t *threads;
	unsigned n_threads; /* started */
};

static void list_push(struct job_list *l, struct pool_job *j)
{
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct pool_job *list_pop(struct job_list *l)
{
	struct pool_job *j = l->head;

	if (j) {
		l->head = j->next;
		if (!l->head)
			l->tail = NULL;
	}
	return j;
}

static void *worker_main(void *arg)
{
	struct loop_pool *p = arg;
	const uint64_t one = 1;

	for (;;) {
		struct pool_job *j;
		bool must_wake;

		pthread_mutex_lock(&p->mu);
		while (!p->queued.head && !p->is_stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		/* queued jobs left at shutdown are cancelled by the loop */
		if (p->is_stopping) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		j = list_pop(&p->queued);
		p->n_queued--;
		pthread_mutex_unlock(&p->mu);

		j->run(j->arg);

		pthread_mutex_lock(&p->mu);
		list_push(&p->finished, j);
		p->n_finished++;
		/* While jobs still wait, completions gather up to batch
		 * before the loop is woken: one wake-up (and one write per
		 * flow) for several. The last one out always wakes it. */
		must_wake = !p->wake_pending &&
			    (!p->queued.head || p->n_finished >= p->batch ||
			     p->is_stopping);
		if (must_wake)
			p->wake_pending = true;
		pthread_mutex_unlock(&p->mu);
		if (must_wake) {
			/* outside the lock, which the others then need not
			 * wait for. An eventfd write only fails when the
			 * counter would overflow; one per drain cannot. */
			ssize_t rc = write(p->wake_fd, &one, sizeof(one));

			(void)rc;
		}
	}
	return NULL;
}

/* Run the done callbacks of finished jobs, in the order they finished. */
static void pool_deliver(struct loop_pool *p)
{
	struct job_list batch;
	struct pool_job *j;

	pthread_mutex_lock(&p->mu);
	batch = p->finished;
	p->finished = (struct job_list){NULL, NULL};
	p->n_finished = 0;
	p->wake_pending = false;
	pthread_mutex_unlock(&p->mu);

	p->is_dispatching = true;
	while ((j = list_pop(&batch))) {
		p->pending--;
		if (j->done)
			j->done(j->arg, false);
		mem_free(j);
	}
	p->is_dispatching = false;
}

static void pool_on_wake(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;
	ssize_t rc;

	(void)what;
	/* read first: a job that finishes after this read writes again */
	rc = read(fd, &v, sizeof(v));
	(void)rc;
	pool_deliver(arg);
}

/* Tell the workers to stop and wait for them; queued jobs stay queued. */
static void pool_stop_threads(struct loop_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->is_stopping = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	p->n_threads = 0;
}

static int pool_start_threads(struct loop_pool *p, unsigned n)
{
	sigset_t all, old;
	int err = 0;

	/* Workers block every signal, so process signals reach the loop
	 * thread that handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < n; i++) {
		int rc = pthread_create(&p->threads[i], NULL, worker_main, p);

		if (rc) {
			err = -rc;
			break;
		}
		p->n_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

static void pool_destroy(struct loop_pool *p)
{
	if (p->wake_ev)
		event_free(p->wake_ev);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	mem_free(p->threads);
	mem_free(p);
}

int loop_pool_new(struct loop_pool **out, struct event_base *base,
		  unsigned n_threads)
{
	struct loop_pool *p;
	int err;

	if (!out || !base || !n_threads || n_threads > POOL_MAX_THREADS)
		return -EINVAL;
	p = mem_zalloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->base = base;
	p->max_queued = POOL_MAX_QUEUED_DEFAULT;
	p->batch = 1;
	p->wake_fd = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->threads = mem_zalloc(n_threads * sizeof(*p->threads));
	if (!p->threads) {
		err = -ENOMEM;
		goto out;
	}
	p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->wake_fd < 0) {
		err = -errno;
		goto out;
	}
	p->wake_ev = event_new(base, p->wake_fd, EV_READ | EV_PERSIST,
			       pool_on_wake, p);
	if (!p->wake_ev || event_add(p->wake_ev, NULL)) {
		err = -ENOMEM;
		goto out;
	}
	err = pool_start_threads(p, n_threads);
out:
	if (err) {
		pool_stop_threads(p);
		pool_destroy(p);
		return err;
	}
	*out = p;
	return 0;
}

int loop_pool_submit(struct loop_pool *p, loop_job_cb *job, loop_done_cb *done,
		     void *arg)
{
	struct pool_job *j;
	bool is_full;

	if (!p || !job || p->is_stopping)
		return -EINVAL;
	j = mem_zalloc(sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->run = job;
	j->done = done;
	j->arg = arg;

	pthread_mutex_lock(&p->mu);
	is_full = p->n_queued >= p->max_queued;
	if (!is_full) {
		list_push(&p->queued, j);
		p->n_queued++;
	}
	pthread_mutex_unlock(&p->mu);
	if (is_full) {
		mem_free(j);
		return -EMSGSIZE;
	}
	/* after the unlock: the woken worker does not wait for our lock
	 * (it rechecks the queue under it, so none is lost) */
	pthread_cond_signal(&p->cv);
	p->pending++;
	return 0;
}

size_t loop_pool_pending(const struct loop_pool *p)
{
	return p ? p->pending : 0;
}

void loop_pool_set_max_queued(struct loop_pool *p, size_t max_queued)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->max_queued = max_queued ? max_queued : POOL_MAX_QUEUED_DEFAULT;
	pthread_mutex_unlock(&p->mu);
}

void loop_pool_set_batch(struct loop_pool *p, size_t batch)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->batch = batch ? batch : 1;
	pthread_mutex_unlock(&p->mu);
}

void loop_pool_free(struct loop_pool *p)
{
	struct job_list cancelled;
	struct pool_job *j;

	if (!p)
		return;
	/* freeing from a done callback would free under pool_deliver() */
	assert(!p->is_dispatching);

	pthread_mutex_lock(&p->mu);
	cancelled = p->queued;
	p->queued = (struct job_list){NULL, NULL};
	p->n_queued = 0;
	pthread_mutex_unlock(&p->mu);
	pool_stop_threads(p);

	/* the jobs that ran complete first, then the cancelled ones, each
	 * group in its order; submit now refuses (is_stopping) */
	pool_deliver(p);
	p->is_dispatching = true;
	while ((j = list_pop(&cancelled))) {
		p->pending--;
		if (j->done)
			j->done(j->arg, true);
		mem_free(j);
	}
	pool_destroy(p);
}
