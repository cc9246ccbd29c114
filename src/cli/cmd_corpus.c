/*
 * mxmoat corpus --spam PATH... --ham PATH... [-c PATH] [--rules PATHS]
 *               [--train DIR]... [--split FRACTION] [--baseline FILE.json]
 *               [--tolerance POINTS] [--jobs N] [--json] [--top N]
 *
 * Runs the pipeline and the verdict over labelled corpora (files,
 * directories, mbox files: cli_msgs.h) and prints the confusion matrix,
 * the share of spam caught and of ham wrongly flagged, overall and per
 * --spam/--ham path, and per rule its hits on spam and on ham
 * (SpamAssassin's hit-frequencies shape: SPAM% HAM% S/O SCORE NAME).
 * "Flagged" means the verdict tags or rejects it.
 *
 * Bayes: --train DIR learns DIR/spam and DIR/ham, --split FRACTION learns
 * that share of each --spam/--ham path (the files whose name hashes below
 * it: the same files in every run) and evaluates only the rest, so that
 * the classifier is measured on mail it did not learn. Either one uses a
 * private database in the [redis] of the configuration (keys [bayes] key +
 * "corpus.PID:", deleted at the end) with Bayes enabled and autolearn off.
 * Whenever Bayes symbols were added, the figures are also given for the
 * rules alone (the same verdict without the Bayes scores).
 *
 * --baseline FILE.json compares with the --json output of an earlier run:
 * when the share of spam missed (false negatives) or of ham flagged (false
 * positives) is higher than there, overall or for a path of the same name
 * (its last two components, e.g. "spamassassin/ham"), by more than
 * --tolerance percentage points (default 0), the command says so and
 * exits 3: a regression gate for rule, score and classifier changes.
 *
 * --json prints the same for machines. Exit status 0, 1 on errors, 3 when
 * the gate failed.
 */
#include "cli/cli.h"
#include "cli/cli_learn.h"
#include "cli/cli_msgs.h"
#include "core/id.h"
#include "core/xalloc.h"
#include "plugins/bayes/bayes_plugin.h"
#include "scan/scan.h"
#include "stats/json.h"
#include "verdict/verdict.h"

#include <pthread.h>
#include <unistd.h>

#define MAX_SOURCES 64
#define EXIT_GATE 3

struct source {
	char name[128];          /* last two path components */
	bool spam;
	unsigned int total, flagged, flagged_rules;
};

struct item {
	const char *path;
	unsigned int source;
};

struct rule_count {
	char name[SCAN_SYMBOL_NAME];
	double score;
	unsigned int spam, ham;
};

struct tally {
	unsigned int spam_total, spam_flagged, ham_total, ham_flagged, errors;
	unsigned int spam_flagged_rules, ham_flagged_rules;
	bool bayes;              /* Bayes symbols were seen */
	struct rule_count *rules;
	size_t nrules;
};

struct corpus {
	const struct scan_engine *engine;
	const struct conf *conf;
	struct source sources[MAX_SOURCES];
	unsigned int nsources;
	struct cli_msg_files files; /* owns the paths */
	struct item *items;
	size_t nitems;
	size_t next;
	pthread_mutex_t lock;
	struct tally t;
	uint64_t trained_spam, trained_ham;
};

static void
source_name(char *out, size_t size, const char *path)
{
	size_t len = strlen(path), slashes = 0, i;

	while (len > 1 && path[len - 1] == '/')
		len--;
	for (i = len; i > 0; i--) {
		if (path[i - 1] == '/' && ++slashes == 2)
			break;
	}
	snprintf(out, size, "%.*s", (int)(len - i), path + i);
}

static int
add_source(struct corpus *c, const char *path, bool spam)
{
	struct source *s;
	size_t before = c->files.n, i;

	if (c->nsources == MAX_SOURCES) {
		fprintf(stderr, "mxmoat: more than %d --spam/--ham paths\n", MAX_SOURCES);
		return -1;
	}
	if (cli_msgs_collect(&c->files, path) < 0)
		return -1;
	s = &c->sources[c->nsources];
	memset(s, 0, sizeof(*s));
	source_name(s->name, sizeof(s->name), path);
	s->spam = spam;
	c->items = xreallocarray(c->items, c->files.n, sizeof(*c->items));
	for (i = before; i < c->files.n; i++) {
		c->items[c->nitems].path = c->files.paths[i];
		c->items[c->nitems].source = c->nsources;
		c->nitems++;
	}
	c->nsources++;
	return 0;
}

/* --train DIR: DIR/spam and DIR/ham, whichever exist */
static int
add_train(struct cli_msg_files *spam, struct cli_msg_files *ham, const char *dir)
{
	struct buf p = BUF_INIT;
	size_t before = spam->n + ham->n;
	int ret = 0;

	buf_appendf(&p, "%s/spam", dir);
	if (access(buf_cstr(&p), F_OK) == 0 && cli_msgs_collect(spam, buf_cstr(&p)) < 0)
		ret = -1;
	buf_reset(&p);
	buf_appendf(&p, "%s/ham", dir);
	if (access(buf_cstr(&p), F_OK) == 0 && cli_msgs_collect(ham, buf_cstr(&p)) < 0)
		ret = -1;
	buf_deinit(&p);
	if (ret == 0 && spam->n + ham->n == before) {
		fprintf(stderr, "mxmoat: --train %s: no spam/ or ham/ directory in it\n", dir);
		ret = -1;
	}
	return ret;
}

/* the share of a file name's hash: the same files go to training in
 * every run, whatever the order of the listing */
static double
split_point(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	return (double)(bayes_token_hash(base, strlen(base)) >> 11) / (double)(1ULL << 53);
}

static void
count_rule(struct tally *t, const struct scan_symbol *s, bool spam)
{
	size_t i;

	for (i = 0; i < t->nrules; i++) {
		if (strcmp(t->rules[i].name, s->name) == 0)
			break;
	}
	if (i == t->nrules) {
		if ((t->nrules & 255) == 0)
			t->rules = xreallocarray(t->rules, t->nrules + 256, sizeof(*t->rules));
		memset(&t->rules[i], 0, sizeof(t->rules[i]));
		snprintf(t->rules[i].name, sizeof(t->rules[i].name), "%s", s->name);
		t->rules[i].score = s->score;
		t->nrules++;
	}
	if (spam)
		t->rules[i].spam++;
	else
		t->rules[i].ham++;
}

static bool
is_flagged(const struct verdict *v)
{
	return v->action == VERDICT_TAG || v->action == VERDICT_REJECT;
}

/* the verdict once more without the Bayes scores (res is changed) */
static bool
flagged_by_rules(const struct conf *conf, struct scan_result *res, bool *bayes_r)
{
	struct verdict v;
	bool flagged;
	size_t i;

	for (i = 0; i < res->nsymbols; i++) {
		if (res->symbols[i].plugin != NULL && strcmp(res->symbols[i].plugin, "bayes") == 0) {
			res->symbols[i].score = 0;
			*bayes_r = true;
		}
	}
	verdict_init(&v);
	verdict_decide(conf, res, &v);
	flagged = is_flagged(&v);
	verdict_deinit(&v);
	return flagged;
}

struct one_file {
	struct corpus *c;
	const struct item *it;
};

static void
scan_one(void *ctx, const char *path, size_t index, const char *data, size_t len)
{
	struct one_file *of = ctx;
	struct corpus *c = of->c;
	struct source *src = &c->sources[of->it->source];
	struct scan_request req;
	struct scan_result res;
	struct verdict v;
	struct msg *m = NULL;
	const char *error = NULL;
	struct spool *sp = spool_new(c->conf->spool_directory, UINT64_MAX);
	bool flagged = false, flagged_rules = false, bayes = false;
	size_t i;
	int ret = -1;

	memset(&req, 0, sizeof(req));
	req.id = id_next();
	req.client_ip = "127.0.0.1";
	req.client_name = "[UNAVAILABLE]";
	req.helo = "";
	req.mail_from = "";
	req.spool = sp;
	scan_result_init(&res);
	verdict_init(&v);
	if (spool_write(sp, data, len, &error) == 0 && spool_finish(sp, &error) == 0)
		ret = scan_engine_scan_data(c->engine, &req, &m, &res, &error);
	if (ret == 0) {
		verdict_decide(c->conf, &res, &v);
		flagged = is_flagged(&v);
	}
	pthread_mutex_lock(&c->lock);
	for (i = 0; ret == 0 && i < res.nsymbols; i++)
		count_rule(&c->t, &res.symbols[i], src->spam);
	pthread_mutex_unlock(&c->lock);
	if (ret == 0)
		flagged_rules = flagged_by_rules(c->conf, &res, &bayes);
	pthread_mutex_lock(&c->lock);
	if (ret < 0) {
		c->t.errors++;
	} else {
		src->total++;
		src->flagged += flagged;
		src->flagged_rules += flagged_rules;
		c->t.bayes |= bayes;
		if (src->spam) {
			c->t.spam_total++;
			c->t.spam_flagged += flagged;
			c->t.spam_flagged_rules += flagged_rules;
		} else {
			c->t.ham_total++;
			c->t.ham_flagged += flagged;
			c->t.ham_flagged_rules += flagged_rules;
		}
	}
	pthread_mutex_unlock(&c->lock);
	msg_free(&m);
	scan_result_deinit(&res);
	verdict_deinit(&v);
	spool_free(&sp);
}

static void *
worker(void *arg)
{
	struct corpus *c = arg;

	for (;;) {
		struct one_file of = { c, NULL };

		pthread_mutex_lock(&c->lock);
		of.it = c->next < c->nitems ? &c->items[c->next++] : NULL;
		pthread_mutex_unlock(&c->lock);
		if (of.it == NULL)
			break;
		if (cli_msgs_read(of.it->path, scan_one, &of) < 0) {
			pthread_mutex_lock(&c->lock);
			c->t.errors++;
			pthread_mutex_unlock(&c->lock);
		}
	}
	return NULL;
}

static int
by_spam_share(const void *a, const void *b)
{
	const struct rule_count *x = a, *y = b;
	unsigned int tx = x->spam + x->ham, ty = y->spam + y->ham;

	if (tx != ty)
		return tx < ty ? 1 : -1;
	return strcmp(x->name, y->name);
}

static double
pct(unsigned int n, unsigned int total)
{
	return total == 0 ? 0 : 100.0 * n / total;
}

static double
ratio(unsigned int n, unsigned int total)
{
	return total == 0 ? 0 : (double)n / total;
}

/* the gate's figure of a source: the share missed (spam) or flagged (ham) */
static double
source_rate(const struct source *s)
{
	return s->spam ? ratio(s->total - s->flagged, s->total) : ratio(s->flagged, s->total);
}

static void
print_text(const struct corpus *c, size_t top)
{
	const struct tally *t = &c->t;
	unsigned int i;

	if (c->trained_spam + c->trained_ham > 0)
		printf("bayes trained on %llu spam, %llu ham (not evaluated)\n",
		       (unsigned long long)c->trained_spam, (unsigned long long)c->trained_ham);
	printf("messages: %u spam, %u ham (%u unreadable)\n\n", t->spam_total, t->ham_total,
	       t->errors);
	printf("                 flagged  not flagged\n");
	printf("spam  %10u  %10u     caught %.2f%%, missed (false negatives) %.2f%%\n",
	       t->spam_flagged, t->spam_total - t->spam_flagged, pct(t->spam_flagged, t->spam_total),
	       pct(t->spam_total - t->spam_flagged, t->spam_total));
	printf("ham   %10u  %10u     wrongly flagged (false positives) %.2f%%\n\n", t->ham_flagged,
	       t->ham_total - t->ham_flagged, pct(t->ham_flagged, t->ham_total));
	if (t->bayes)
		printf("rules alone (without Bayes): spam caught %.2f%%, ham flagged %.2f%%\n\n",
		       pct(t->spam_flagged_rules, t->spam_total),
		       pct(t->ham_flagged_rules, t->ham_total));
	if (c->nsources > 1 || t->bayes) {
		printf("  %-32s %5s %8s %8s  %s\n", "PATH", "CLASS", "MESSAGES", "RESULT",
		       t->bayes ? "RULES ALONE" : "");
		for (i = 0; i < c->nsources; i++) {
			const struct source *s = &c->sources[i];
			const char *what = s->spam ? "caught" : "flagged";

			printf("  %-32s %5s %8u %7.2f%% %s", s->name, s->spam ? "spam" : "ham", s->total,
			       pct(s->flagged, s->total), what);
			if (t->bayes)
				printf("  %7.2f%% %s", pct(s->flagged_rules, s->total), what);
			putchar('\n');
		}
		putchar('\n');
	}
	printf("  SPAM%%    HAM%%     S/O   SCORE  NAME\n");
	for (i = 0; i < t->nrules && i < top; i++) {
		const struct rule_count *r = &t->rules[i];
		double sp = pct(r->spam, t->spam_total), hp = pct(r->ham, t->ham_total);

		printf("%7.3f %7.3f %7.3f %7.2f  %s\n", sp, hp, sp + hp > 0 ? sp / (sp + hp) : 0,
		       r->score, r->name);
	}
}

/* rates with 6 decimals (json_append_double() keeps 3) */
static void
kv_rate(struct buf *b, bool *first, const char *key, double v)
{
	buf_appendf(b, "%s\"%s\":%.6f", *first ? "" : ",", key, v);
	*first = false;
}

static void
print_json(const struct corpus *c)
{
	const struct tally *t = &c->t;
	struct buf b = BUF_INIT;
	bool first = true;
	size_t i;

	buf_appendf(&b, "{\"spam\":{\"total\":%u,\"flagged\":%u},\"ham\":{\"total\":%u,"
			"\"flagged\":%u},\"errors\":%u,",
		    t->spam_total, t->spam_flagged, t->ham_total, t->ham_flagged, t->errors);
	kv_rate(&b, &first, "false_negative_rate",
			      ratio(t->spam_total - t->spam_flagged, t->spam_total));
	kv_rate(&b, &first, "false_positive_rate",
			      ratio(t->ham_flagged, t->ham_total));
	buf_appendf(&b, ",\"trained\":{\"spam\":%llu,\"ham\":%llu},\"rules_alone\":{",
		    (unsigned long long)c->trained_spam, (unsigned long long)c->trained_ham);
	first = true;
	json_append_kv_u64(&b, &first, "spam_flagged", t->spam_flagged_rules);
	json_append_kv_u64(&b, &first, "ham_flagged", t->ham_flagged_rules);
	kv_rate(&b, &first, "false_negative_rate",
			      ratio(t->spam_total - t->spam_flagged_rules, t->spam_total));
	kv_rate(&b, &first, "false_positive_rate",
			      ratio(t->ham_flagged_rules, t->ham_total));
	buf_append_str(&b, "},\"sources\":[");
	for (i = 0; i < c->nsources; i++) {
		const struct source *s = &c->sources[i];

		first = true;
		buf_append_str(&b, i > 0 ? ",{" : "{");
		json_append_kv_str(&b, &first, "name", s->name);
		json_append_kv_str(&b, &first, "class", s->spam ? "spam" : "ham");
		json_append_kv_u64(&b, &first, "total", s->total);
		json_append_kv_u64(&b, &first, "flagged", s->flagged);
		json_append_kv_u64(&b, &first, "flagged_rules_alone", s->flagged_rules);
		kv_rate(&b, &first, "rate", source_rate(s));
		buf_append_char(&b, '}');
	}
	buf_append_str(&b, "],\"rules\":[");
	for (i = 0; i < t->nrules; i++) {
		first = true;
		buf_append_str(&b, i > 0 ? ",{" : "{");
		json_append_kv_str(&b, &first, "name", t->rules[i].name);
		json_append_kv_double(&b, &first, "score", t->rules[i].score);
		json_append_kv_u64(&b, &first, "spam", t->rules[i].spam);
		json_append_kv_u64(&b, &first, "ham", t->rules[i].ham);
		buf_append_char(&b, '}');
	}
	buf_append_str(&b, "]}\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_deinit(&b);
}

/* one figure against its baseline; true when worse */
static bool
gate_one(const char *what, const char *measure, double now, double base, double tolerance)
{
	/* (the baseline's rates have 6 decimals) */
	bool worse = 100.0 * now > 100.0 * base + tolerance + 1e-4;

	fprintf(stderr, "gate: %-32s %s %6.2f%% (baseline %6.2f%%)%s\n", what, measure, 100 * now,
		100 * base, worse ? "  WORSE" : "");
	return worse;
}

/* 0 no worse, 1 worse, -1 the baseline is unreadable */
static int
gate(const struct corpus *c, const char *path, double tolerance)
{
	const struct tally *t = &c->t;
	const struct json *sources;
	struct json *j = NULL;
	struct buf text = BUF_INIT;
	const char *error = NULL;
	char chunk[8192];
	bool worse = false;
	size_t n, i, k;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "mxmoat: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&text, chunk, n);
	fclose(f);
	j = json_parse(text.data != NULL ? text.data : "", text.len, &error);
	buf_deinit(&text);
	if (j == NULL || j->type != JSON_OBJECT) {
		fprintf(stderr, "mxmoat: %s: %s\n", path, j == NULL ? error : "not a JSON object");
		json_free(&j);
		return -1;
	}
	if (t->spam_total > 0)
		worse |= gate_one("all spam", "missed", ratio(t->spam_total - t->spam_flagged,
							   t->spam_total),
				  json_get_num(j, "false_negative_rate", 0), tolerance);
	if (t->ham_total > 0)
		worse |= gate_one("all ham", "flagged", ratio(t->ham_flagged, t->ham_total),
				  json_get_num(j, "false_positive_rate", 0), tolerance);
	sources = json_get_array(j, "sources");
	for (i = 0; i < c->nsources; i++) {
		const struct source *s = &c->sources[i];

		for (k = 0; sources != NULL && k < sources->len; k++) {
			const char *name = json_get_str(sources->items[k], "name");

			if (name != NULL && strcmp(name, s->name) == 0)
				break;
		}
		if (sources == NULL || k == sources->len) {
			fprintf(stderr, "gate: %-32s not in the baseline\n", s->name);
			continue;
		}
		worse |= gate_one(s->name, s->spam ? "missed" : "flagged", source_rate(s),
				  json_get_num(sources->items[k], "rate", 0), tolerance);
	}
	json_free(&j);
	fprintf(stderr, "gate: %s\n", worse ? "FAILED (worse than the baseline)" : "passed");
	return worse ? 1 : 0;
}

/* --train/--split: learn into a private database; Bayes on, on it */
static int
train(struct corpus *c, struct conf *conf, const struct cli_msg_files *spam,
      const struct cli_msg_files *ham, long jobs, struct bayes_store **st_r)
{
	struct cli_learn_item *items = xcalloc(spam->n + ham->n + 1, sizeof(*items));
	struct cli_learn_result r;
	struct buf key = BUF_INIT;
	char *error = NULL;
	const char *e = NULL;
	uint64_t deleted;
	size_t i, n = 0;
	int ret;

	buf_appendf(&key, "%scorpus.%ld:", conf->bayes_key, (long)getpid());
	free(conf->bayes_key);
	conf->bayes_key = buf_steal(&key);
	conf->bayes_enabled = true;
	conf->bayes_autolearn = false;
	conf->redis_command_timeout_ms = MAX(conf->redis_command_timeout_ms, CLI_REDIS_TIMEOUT_MS);
	if (bayes_store_new(conf, NULL, st_r, &error) < 0) {
		fprintf(stderr, "mxmoat: %s\n", error);
		free(error);
		free(items);
		return -1;
	}
	if (bayes_store_reset(*st_r, &deleted, &e) < 0) {
		fprintf(stderr, "mxmoat: redis: %s\n", e);
		free(items);
		return -1;
	}
	for (i = 0; i < spam->n; i++)
		items[n++] = (struct cli_learn_item){ spam->paths[i], BAYES_SPAM };
	for (i = 0; i < ham->n; i++)
		items[n++] = (struct cli_learn_item){ ham->paths[i], BAYES_HAM };
	ret = cli_learn_items(conf, *st_r, items, n, jobs, isatty(STDERR_FILENO), &r);
	free(items);
	if (ret < 0) {
		fprintf(stderr, "mxmoat: redis: %s\n", r.error);
		return -1;
	}
	c->trained_spam = r.counts.nspam;
	c->trained_ham = r.counts.nham;
	if (c->trained_spam < conf->bayes_min_spam || c->trained_ham < conf->bayes_min_ham)
		fprintf(stderr, "mxmoat: note: Bayes learned %llu spam and %llu ham, fewer than "
				"[bayes] min_spam %u / min_ham %u: it will not score\n",
			(unsigned long long)c->trained_spam, (unsigned long long)c->trained_ham,
			conf->bayes_min_spam, conf->bayes_min_ham);
	return 0;
}

/* --split: move FRACTION of the test files to the training lists */
static void
split(struct corpus *c, double fraction, struct cli_msg_files *spam, struct cli_msg_files *ham)
{
	size_t i, kept = 0;

	for (i = 0; i < c->nitems; i++) {
		const struct item *it = &c->items[i];

		if (split_point(it->path) < fraction) {
			struct cli_msg_files *to = c->sources[it->source].spam ? spam : ham;

			cli_msgs_add(to, it->path);
		} else {
			c->items[kept++] = *it;
		}
	}
	c->nitems = kept;
}

static void
corpus_deinit(struct corpus *c)
{
	cli_msgs_files_free(&c->files);
	free(c->items);
	free(c->t.rules);
}

int
cmd_corpus(int argc, char **argv)
{
	const char *path = cli_default_conf_path(), *baseline = NULL;
	const char *rules_paths = NULL;
	struct cli_msg_files train_spam = { 0 }, train_ham = { 0 };
	struct bayes_store *st = NULL;
	struct corpus c;
	struct scan_engine *e = NULL;
	struct conf *conf;
	pthread_t *threads;
	char *error = NULL;
	long jobs = sysconf(_SC_NPROCESSORS_ONLN);
	double fraction = 0, tolerance = 0;
	size_t top = 50;
	bool json = false;
	int k, ret = 0;

	memset(&c, 0, sizeof(c));
	for (k = 1; k < argc; k++) {
		if ((strcmp(argv[k], "--spam") == 0 || strcmp(argv[k], "--ham") == 0) &&
		    k + 1 < argc) {
			bool spam = argv[k][2] == 's';

			if (add_source(&c, argv[++k], spam) < 0)
				ret = 1;
		} else if (strcmp(argv[k], "--train") == 0 && k + 1 < argc) {
			if (add_train(&train_spam, &train_ham, argv[++k]) < 0)
				ret = 1;
		} else if (strcmp(argv[k], "--split") == 0 && k + 1 < argc) {
			fraction = strtod(argv[++k], NULL);
			if (!(fraction > 0 && fraction < 1)) {
				fprintf(stderr, "mxmoat: --split takes a fraction between 0 and 1\n");
				ret = 1;
			}
		} else if (strcmp(argv[k], "--baseline") == 0 && k + 1 < argc) {
			baseline = argv[++k];
		} else if (strcmp(argv[k], "--tolerance") == 0 && k + 1 < argc) {
			tolerance = strtod(argv[++k], NULL);
		} else if (strcmp(argv[k], "-c") == 0 && k + 1 < argc) {
			path = argv[++k];
		} else if (strcmp(argv[k], "--rules") == 0 && k + 1 < argc) {
			rules_paths = argv[++k];
		} else if (strcmp(argv[k], "--jobs") == 0 && k + 1 < argc) {
			jobs = strtol(argv[++k], NULL, 10);
		} else if (strcmp(argv[k], "--top") == 0 && k + 1 < argc) {
			top = (size_t)strtoul(argv[++k], NULL, 10);
		} else if (strcmp(argv[k], "--json") == 0) {
			json = true;
		} else {
			cli_usage();
		}
	}
	if (fraction > 0)
		split(&c, fraction, &train_spam, &train_ham);
	if (ret == 0 && c.nitems == 0) {
		fprintf(stderr, "mxmoat: no messages to evaluate (give --spam PATH and/or --ham "
				"PATH)\n");
		ret = 1;
	}
	if (jobs < 1 || jobs > 64)
		jobs = 1;
	conf = ret == 0 ? cli_load_conf_default(path) : NULL;
	if (conf != NULL && rules_paths != NULL) {
		free(conf->rules_paths);
		conf->rules_paths = xstrdup(rules_paths);
	}
	if (conf != NULL && train_spam.n + train_ham.n > 0 &&
	    train(&c, conf, &train_spam, &train_ham, jobs, &st) < 0)
		ret = 1;
	id_init();
	if (ret == 0 && scan_engine_new(conf, &e, &error) < 0) {
		fprintf(stderr, "mxmoat: %s\n", error);
		free(error);
		ret = 1;
	}
	if (ret == 0) {
		c.engine = e;
		c.conf = conf;
		pthread_mutex_init(&c.lock, NULL);
		threads = xcalloc((size_t)jobs, sizeof(pthread_t));
		for (k = 0; k < jobs; k++)
			pthread_create(&threads[k], NULL, worker, &c);
		for (k = 0; k < jobs; k++)
			pthread_join(threads[k], NULL);
		free(threads);
		pthread_mutex_destroy(&c.lock);
		qsort(c.t.rules, c.t.nrules, sizeof(*c.t.rules), by_spam_share);
		if (json)
			print_json(&c);
		else
			print_text(&c, top);
		fflush(stdout);
		if (baseline != NULL) {
			int g = gate(&c, baseline, tolerance);

			ret = g < 0 ? 1 : g > 0 ? EXIT_GATE : 0;
		}
	}
	if (st != NULL) {
		uint64_t deleted;
		const char *e2 = NULL;

		if (bayes_store_reset(st, &deleted, &e2) < 0)
			fprintf(stderr, "mxmoat: redis: %s (the private database %s stays)\n", e2,
				bayes_store_prefix(st));
		bayes_store_free(&st);
	}
	scan_engine_unref(&e);
	conf_unref(&conf);
	cli_msgs_files_free(&train_spam);
	cli_msgs_files_free(&train_ham);
	corpus_deinit(&c);
	return ret;
}
