#include "scan/pool.h"
#include "core/xalloc.h"

#include <event2/event.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct scan_pool {
	struct event_base *base;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct scan_job *queue_head, *queue_tail;
	struct scan_job *done_head, *done_tail;
	unsigned int pending;  /* submitted, done() not yet run */
	bool stopping;
	pthread_t *threads;
	unsigned int nthreads;
	int efd;
	struct event *ev;
};

static void
push(struct scan_job **head, struct scan_job **tail, struct scan_job *job)
{
	job->next = NULL;
	if (*tail != NULL)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

static void *
worker(void *arg)
{
	struct scan_pool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct scan_job *job;
		uint64_t one = 1;

		while (p->queue_head == NULL && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->queue_head == NULL)
			break;
		job = p->queue_head;
		p->queue_head = job->next;
		if (p->queue_head == NULL)
			p->queue_tail = NULL;
		pthread_mutex_unlock(&p->lock);

		job->run(job);

		pthread_mutex_lock(&p->lock);
		push(&p->done_head, &p->done_tail, job);
		/* one wake-up is enough for any number of completions */
		if (write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			panic("eventfd write: %s", strerror(errno));
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void
run_done(struct scan_pool *p)
{
	struct scan_job *list, *job;

	pthread_mutex_lock(&p->lock);
	list = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->lock);
	while ((job = list) != NULL) {
		list = job->next;
		__atomic_sub_fetch(&p->pending, 1, __ATOMIC_RELAXED);
		job->done(job);
	}
}

static void
efd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scan_pool *p = arg;
	uint64_t n;

	if (read(p->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		panic("eventfd read: %s", strerror(errno));
	run_done(p);
}

struct scan_pool *
scan_pool_new(struct event_base *base, unsigned int threads, const char **error_r)
{
	struct scan_pool *p = xcalloc(1, sizeof(*p));
	unsigned int i;

	p->base = base;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		*error_r = strerror(errno);
		free(p);
		return NULL;
	}
	p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, efd_cb, p);
	event_add(p->ev, NULL);
	p->threads = xcalloc(threads, sizeof(pthread_t));
	for (i = 0; i < threads; i++) {
		int err = pthread_create(&p->threads[i], NULL, worker, p);

		if (err != 0)
			panic("pthread_create: %s", strerror(err));
		p->nthreads++;
	}
	return p;
}

void
scan_pool_free(struct scan_pool **pp)
{
	struct scan_pool *p = *pp;
	unsigned int i;

	if (p == NULL)
		return;
	*pp = NULL;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	run_done(p);
	event_free(p->ev);
	close(p->efd);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->threads);
	free(p);
}

void
scan_pool_submit(struct scan_pool *p, struct scan_job *job)
{
	pthread_mutex_lock(&p->lock);
	push(&p->queue_head, &p->queue_tail, job);
	__atomic_add_fetch(&p->pending, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

unsigned int
scan_pool_pending(const struct scan_pool *p)
{
	return __atomic_load_n(&p->pending, __ATOMIC_RELAXED);
}
