/*
 * cli_learn.h - learning message files into the Bayes database, for
 * `mxmoat learn` and `mxmoat corpus --train/--split`.
 *
 * Threads take the files in turn, parse and tokenize each message as
 * mxmoatd would (bayes_plugin_tokenize()) and send them in batches of at
 * most CLI_LEARN_BATCH messages or CLI_LEARN_BATCH_TOKENS tokens: one
 * atomic Redis script per batch (bayes_store_learn()). The first Redis
 * error stops every thread. With progress, a progress line is drawn on
 * stderr.
 */
#ifndef MXMOAT_CLI_LEARN_H
#define MXMOAT_CLI_LEARN_H

#include "plugins/bayes/bayes_store.h"

#define CLI_LEARN_BATCH 64
#define CLI_LEARN_BATCH_TOKENS 40000
/* the CLI waits longer for Redis than a scan worker does */
#define CLI_REDIS_TIMEOUT_MS 30000

struct cli_learn_item {
	const char *path;
	enum bayes_class want;   /* BAYES_NONE: forget */
};

struct cli_learn_result {
	uint64_t results[BAYES_UNKNOWN + 1]; /* per enum bayes_learn_result */
	uint64_t messages, unreadable;
	struct bayes_counts counts;          /* the database's, at the end */
	double seconds;
	char error[200];                     /* "" = no Redis error */
};

/* 0, or -1 when Redis failed (res->error; what was learned before stays) */
int cli_learn_items(const struct conf *conf, struct bayes_store *st,
		    const struct cli_learn_item *items, size_t n, long jobs, bool progress,
		    struct cli_learn_result *res);

#endif
