/*
 * mxmoat learn --spam|--ham|--forget PATH... [-c PATH] [--jobs N]
 * mxmoat learn --status [-c PATH]
 * mxmoat learn --reset [-c PATH]
 * mxmoat learn --tokens FILE...
 *
 * Trains the Bayes database in Redis ([bayes], [redis]) with messages
 * (files, directories, mbox files: cli_msgs.h): --spam and --ham learn them
 * as that class (a message learned already as that class counts once, one
 * learned as the other class is moved), --forget takes them out again
 * (cli_learn.h: several threads, batches of one atomic Redis script). On a
 * terminal a progress line is drawn on stderr; at the end one summary
 * line says what was done and how big the database is. --status prints the totals only; --reset deletes
 * the whole database; --tokens prints the tokens of each message (no Redis).
 * Exit status 0; 1 on errors (unreadable files are counted, not errors).
 */
#include "cli/cli.h"
#include "cli/cli_learn.h"
#include "cli/cli_msgs.h"
#include "core/xalloc.h"

#include <unistd.h>

static void
print_counts(const struct bayes_store *st, const struct bayes_counts *c)
{
	printf("database %s*: %llu spam, %llu ham, %llu tokens (room for %llu)\n",
	       bayes_store_prefix(st), (unsigned long long)c->nspam, (unsigned long long)c->nham,
	       (unsigned long long)c->ntokens, (unsigned long long)bayes_store_capacity(st));
}

static int
do_learn(const struct conf *conf, struct bayes_store *st, const struct cli_msg_files *files,
	 enum bayes_class want, long jobs)
{
	struct cli_learn_item *items = xcalloc(MAX(files->n, 1), sizeof(*items));
	const char *what = want == BAYES_SPAM ? "spam" : want == BAYES_HAM ? "ham" : NULL;
	struct cli_learn_result r;
	size_t i;
	int ret;

	for (i = 0; i < files->n; i++) {
		items[i].path = files->paths[i];
		items[i].want = want;
	}
	ret = cli_learn_items(conf, st, items, files->n, jobs, isatty(STDERR_FILENO), &r);
	free(items);
	if (what != NULL)
		printf("learned %llu messages as %s in %.1fs: %llu new, %llu moved from %s, %llu "
		       "already known; %llu files unreadable\n",
		       (unsigned long long)r.messages, what, r.seconds,
		       (unsigned long long)r.results[BAYES_LEARNED],
		       (unsigned long long)r.results[BAYES_RELEARNED],
		       want == BAYES_SPAM ? "ham" : "spam",
		       (unsigned long long)r.results[BAYES_ALREADY],
		       (unsigned long long)r.unreadable);
	else
		printf("forgot %llu of %llu messages (%llu were not learned); %llu files "
		       "unreadable\n",
		       (unsigned long long)r.results[BAYES_FORGOTTEN], (unsigned long long)r.messages,
		       (unsigned long long)r.results[BAYES_UNKNOWN],
		       (unsigned long long)r.unreadable);
	if (ret < 0) {
		fprintf(stderr, "mxmoat: redis: %s\n", r.error);
		return 1;
	}
	print_counts(st, &r.counts);
	return 0;
}

static void
print_token(void *ctx, const char *token, size_t len)
{
	fwrite(token, 1, len, stdout);
	putchar('\n');
}

struct tokens_ctx {
	const struct conf *conf;
	struct msg_limits limits;
};

static void
tokens_of(void *ctx, const char *path, size_t index, const char *data, size_t len)
{
	const struct tokens_ctx *tc = ctx;
	struct msg *m = msg_parse_mem(&tc->limits, data, len);
	struct bayes_tokens t;
	unsigned char digest[BAYES_DIGEST_LEN];
	size_t i;

	bayes_tokens_init(&t, tc->conf->bayes_message_tokens);
	t.sink = print_token;
	bayes_token_msg(&t, m);
	bayes_token_digest(m, digest);
	printf("# %s message %zu: %zu tokens%s, digest ", path, index, t.n,
	       t.truncated ? " (truncated)" : "");
	for (i = 0; i < BAYES_DIGEST_LEN; i++)
		printf("%02x", digest[i]);
	putchar('\n');
	bayes_tokens_deinit(&t);
	msg_free(&m);
}

static int
status_or_reset(struct bayes_store *st, bool reset)
{
	struct bayes_counts c;
	const char *e = NULL;
	uint64_t deleted = 0;

	if (!reset) {
		if (bayes_store_counts(st, &c, &e) < 0) {
			fprintf(stderr, "mxmoat: redis: %s\n", e);
			return 1;
		}
		print_counts(st, &c);
		return 0;
	}
	if (bayes_store_reset(st, &deleted, &e) < 0) {
		fprintf(stderr, "mxmoat: redis: %s\n", e);
		return 1;
	}
	printf("deleted %llu keys of %s\n", (unsigned long long)deleted, bayes_store_prefix(st));
	return 0;
}

int
cmd_learn(int argc, char **argv)
{
	const char *path = cli_default_conf_path();
	enum { NONE, LEARN, STATUS, RESET, TOKENS } mode = NONE;
	enum bayes_class want = BAYES_NONE;
	struct cli_msg_files files = { 0 };
	struct bayes_store *st = NULL;
	struct conf *conf;
	char *error = NULL;
	long jobs = MIN(sysconf(_SC_NPROCESSORS_ONLN), 4);
	int k, ret = 0;

	for (k = 1; k < argc; k++) {
		if ((strcmp(argv[k], "--spam") == 0 || strcmp(argv[k], "--ham") == 0 ||
		     strcmp(argv[k], "--forget") == 0) &&
		    mode == NONE) {
			mode = LEARN;
			want = argv[k][2] == 's' ? BAYES_SPAM : argv[k][2] == 'h' ? BAYES_HAM
										: BAYES_NONE;
		} else if (strcmp(argv[k], "--status") == 0 && mode == NONE) {
			mode = STATUS;
		} else if (strcmp(argv[k], "--reset") == 0 && mode == NONE) {
			mode = RESET;
		} else if (strcmp(argv[k], "--tokens") == 0 && mode == NONE) {
			mode = TOKENS;
		} else if (strcmp(argv[k], "-c") == 0 && k + 1 < argc) {
			path = argv[++k];
		} else if (strcmp(argv[k], "--jobs") == 0 && k + 1 < argc) {
			jobs = strtol(argv[++k], NULL, 10);
		} else if (argv[k][0] == '-' || (mode != LEARN && mode != TOKENS)) {
			cli_usage();
		} else if (cli_msgs_collect(&files, argv[k]) < 0) {
			ret = 1;
		}
	}
	if (mode == NONE)
		cli_usage();
	if (ret != 0) {
		cli_msgs_files_free(&files);
		return 1;
	}
	if (jobs < 1 || jobs > 64)
		jobs = 1;
	conf = cli_load_conf_default(path);
	conf->redis_command_timeout_ms = MAX(conf->redis_command_timeout_ms, CLI_REDIS_TIMEOUT_MS);
	if (mode == TOKENS) {
		struct tokens_ctx tc = { conf, { 0 } };
		size_t i;

		msg_limits_from_conf(conf, &tc.limits);
		for (i = 0; i < files.n; i++) {
			if (cli_msgs_read(files.paths[i], tokens_of, &tc) < 0) {
				fprintf(stderr, "mxmoat: %s: %s\n", files.paths[i], strerror(errno));
				ret = 1;
			}
		}
	} else if (bayes_store_new(conf, NULL, &st, &error) < 0) {
		fprintf(stderr, "mxmoat: %s\n", error);
		free(error);
		ret = 1;
	} else if (mode == LEARN) {
		ret = do_learn(conf, st, &files, want, jobs);
	} else {
		ret = status_or_reset(st, mode == RESET);
	}
	bayes_store_free(&st);
	cli_msgs_files_free(&files);
	conf_unref(&conf);
	return ret;
}
