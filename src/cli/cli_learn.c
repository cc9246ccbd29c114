#include "cli/cli_learn.h"
#include "cli/cli_msgs.h"
#include "core/xalloc.h"
#include "plugins/bayes/bayes_plugin.h"

#include <pthread.h>
#include <time.h>

#define PROGRESS_WIDTH 30

struct learner {
	const struct conf *conf;
	struct bayes_store *store;
	struct msg_limits limits;
	const struct cli_learn_item *items;
	size_t nitems;
	pthread_mutex_t lock;
	size_t next;               /* next item */
	struct cli_learn_result *res;
	bool progress;
	int64_t started_ms, drawn_ms;
};

struct batch {
	struct bayes_learn_msg msgs[CLI_LEARN_BATCH];
	struct bayes_tokens toks[CLI_LEARN_BATCH];
	size_t n, tokens;
};

struct one_file {
	struct learner *l;
	struct batch *b;
	enum bayes_class want;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* the progress line; with the lock held */
static void
draw(struct learner *l, bool last)
{
	int64_t now = now_ms();
	double s = (double)(now - l->started_ms) / 1000.0;

	char bar[PROGRESS_WIDTH + 1];
	size_t done, i;

	if (!l->progress || (!last && now - l->drawn_ms < 200))
		return;
	l->drawn_ms = now;
	/* files taken so far; the last batches are still on their way */
	done = l->nitems > 0 ? l->next * PROGRESS_WIDTH / l->nitems : PROGRESS_WIDTH;
	for (i = 0; i < PROGRESS_WIDTH; i++)
		bar[i] = i < done ? '#' : '.';
	bar[PROGRESS_WIDTH] = '\0';
	fprintf(stderr, "\rlearning [%s] %zu/%zu files, %llu messages, %.0f msg/s%s", bar,
		l->next, l->nitems, (unsigned long long)l->res->messages,
		s > 0 ? (double)l->res->messages / s : 0.0, last ? "\n" : "  ");
}

static void
flush(struct learner *l, struct batch *b)
{
	struct bayes_counts c;
	const char *error = NULL;
	size_t i;
	int ret;

	if (b->n == 0)
		return;
	ret = bayes_store_learn(l->store, b->msgs, b->n, &c, &error);
	pthread_mutex_lock(&l->lock);
	if (ret < 0) {
		if (l->res->error[0] == '\0')
			snprintf(l->res->error, sizeof(l->res->error), "%s", error);
	} else {
		for (i = 0; i < b->n; i++)
			l->res->results[b->msgs[i].result]++;
		l->res->messages += b->n;
	}
	draw(l, false);
	pthread_mutex_unlock(&l->lock);
	for (i = 0; i < b->n; i++)
		bayes_tokens_deinit(&b->toks[i]);
	b->n = 0;
	b->tokens = 0;
}

static void
on_message(void *ctx, const char *path, size_t index, const char *data, size_t len)
{
	struct one_file *of = ctx;
	struct batch *b = of->b;
	struct msg *m = msg_parse_mem(&of->l->limits, data, len);
	struct bayes_learn_msg *lm = &b->msgs[b->n];

	memset(lm, 0, sizeof(*lm));
	bayes_plugin_tokenize(of->l->conf, m, &b->toks[b->n], lm->digest);
	msg_free(&m);
	lm->hashes = b->toks[b->n].hashes;
	lm->nhashes = b->toks[b->n].n;
	lm->want = of->want;
	b->tokens += lm->nhashes;
	b->n++;
	if (b->n == CLI_LEARN_BATCH || b->tokens >= CLI_LEARN_BATCH_TOKENS)
		flush(of->l, b);
}

static void *
worker(void *arg)
{
	struct learner *l = arg;
	struct batch *b = xcalloc(1, sizeof(*b));

	for (;;) {
		struct one_file of = { l, b, BAYES_NONE };
		const struct cli_learn_item *it = NULL;

		pthread_mutex_lock(&l->lock);
		if (l->next < l->nitems && l->res->error[0] == '\0')
			it = &l->items[l->next++];
		pthread_mutex_unlock(&l->lock);
		if (it == NULL)
			break;
		of.want = it->want;
		if (cli_msgs_read(it->path, on_message, &of) < 0) {
			pthread_mutex_lock(&l->lock);
			l->res->unreadable++;
			pthread_mutex_unlock(&l->lock);
		}
	}
	flush(l, b);
	free(b);
	return NULL;
}

int
cli_learn_items(const struct conf *conf, struct bayes_store *st,
		const struct cli_learn_item *items, size_t n, long jobs, bool progress,
		struct cli_learn_result *res)
{
	pthread_t *threads = xcalloc((size_t)jobs, sizeof(pthread_t));
	struct learner l;
	long k;

	memset(res, 0, sizeof(*res));
	memset(&l, 0, sizeof(l));
	l.conf = conf;
	l.store = st;
	l.items = items;
	l.nitems = n;
	l.res = res;
	l.progress = progress;
	msg_limits_from_conf(conf, &l.limits);
	pthread_mutex_init(&l.lock, NULL);
	l.started_ms = now_ms();
	for (k = 0; k < jobs; k++)
		pthread_create(&threads[k], NULL, worker, &l);
	for (k = 0; k < jobs; k++)
		pthread_join(threads[k], NULL);
	free(threads);
	draw(&l, true);
	pthread_mutex_destroy(&l.lock);
	res->seconds = (double)(now_ms() - l.started_ms) / 1000.0;
	/* the totals once every batch is in (the threads' last replies may
	 * arrive in any order) */
	if (res->error[0] == '\0') {
		const char *error = NULL;

		if (bayes_store_counts(st, &res->counts, &error) < 0)
			snprintf(res->error, sizeof(res->error), "%s", error);
	}
	return res->error[0] != '\0' ? -1 : 0;
}
