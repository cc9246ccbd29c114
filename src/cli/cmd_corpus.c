/*
 * mxmoat corpus --spam DIR... --ham DIR... [-c PATH] [--rules PATHS]
 *               [--jobs N] [--json] [--top N]
 *
 * Runs the pipeline and the verdict over labelled corpora (every file in
 * the directories, *.md and LICENSE files excepted; an mbox "From " first
 * line is skipped) and prints the confusion matrix, the share of spam
 * caught and of ham wrongly flagged, and per rule its hits on spam and on
 * ham (SpamAssassin's hit-frequencies shape: SPAM% HAM% S/O SCORE NAME).
 * "Flagged" means the verdict tags or rejects it. --json prints the same
 * for machines. Exit status 0, 1 on errors.
 */
#include "cli/cli.h"
#include "core/id.h"
#include "core/xalloc.h"
#include "scan/scan.h"
#include "verdict/verdict.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

struct item {
	char *path;
	bool spam;
};

struct rule_count {
	char name[SCAN_SYMBOL_NAME];
	double score;
	unsigned int spam, ham;
};

struct tally {
	unsigned int spam_total, spam_flagged, ham_total, ham_flagged, errors;
	struct rule_count *rules;
	size_t nrules;
};

struct corpus {
	const struct scan_engine *engine;
	const struct conf *conf;
	struct item *items;
	size_t nitems;
	size_t next;
	pthread_mutex_t lock;
	struct tally t;
};

static bool
skip_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] == '.' || strcmp(n, "LICENSE") == 0 ||
	       (len > 3 && strcmp(n + len - 3, ".md") == 0);
}

static int
add_dir(struct corpus *c, const char *dir, bool spam)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		fprintf(stderr, "mxmoat: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		struct buf p = BUF_INIT;
		struct stat st;

		if (skip_name(e->d_name))
			continue;
		buf_appendf(&p, "%s/%s", dir, e->d_name);
		if (stat(buf_cstr(&p), &st) == 0 && S_ISREG(st.st_mode)) {
			if ((c->nitems & 1023) == 0)
				c->items = xreallocarray(c->items, c->nitems + 1024, sizeof(*c->items));
			c->items[c->nitems].path = buf_steal(&p);
			c->items[c->nitems].spam = spam;
			c->nitems++;
		}
		buf_deinit(&p);
	}
	closedir(d);
	return 0;
}

static struct spool *
load(const char *path, const struct conf *conf)
{
	struct buf raw = BUF_INIT, wire = BUF_INIT;
	struct spool *sp;
	const char *error = NULL;
	char chunk[65536];
	size_t n, i, start = 0;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&raw, chunk, n);
	fclose(f);
	if (raw.len >= 5 && memcmp(raw.data, "From ", 5) == 0) {
		const char *nl = memchr(raw.data, '\n', raw.len);

		start = nl != NULL ? (size_t)(nl - raw.data) + 1 : raw.len;
	}
	/* as on the wire: CRLF line ends */
	buf_reserve(&wire, raw.len + raw.len / 16);
	for (i = start; i < raw.len; i++) {
		if (raw.data[i] == '\n' && (i == start || raw.data[i - 1] != '\r'))
			buf_append_char(&wire, '\r');
		buf_append_char(&wire, raw.data[i]);
	}
	sp = spool_new(conf->spool_directory, UINT64_MAX);
	if (spool_write(sp, wire.data != NULL ? wire.data : "", wire.len, &error) < 0 ||
	    spool_finish(sp, &error) < 0)
		spool_free(&sp);
	buf_deinit(&raw);
	buf_deinit(&wire);
	return sp;
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

static void *
worker(void *arg)
{
	struct corpus *c = arg;

	for (;;) {
		struct scan_request req;
		struct scan_result res;
		struct verdict v;
		struct msg *m = NULL;
		const char *error = NULL;
		struct spool *sp;
		struct item *it;
		size_t i;
		bool flagged;
		int ret;

		pthread_mutex_lock(&c->lock);
		it = c->next < c->nitems ? &c->items[c->next++] : NULL;
		pthread_mutex_unlock(&c->lock);
		if (it == NULL)
			break;
		sp = load(it->path, c->conf);
		if (sp == NULL) {
			pthread_mutex_lock(&c->lock);
			c->t.errors++;
			pthread_mutex_unlock(&c->lock);
			continue;
		}
		memset(&req, 0, sizeof(req));
		req.id = id_next();
		req.client_ip = "127.0.0.1";
		req.client_name = "[UNAVAILABLE]";
		req.helo = "";
		req.mail_from = "";
		req.spool = sp;
		scan_result_init(&res);
		verdict_init(&v);
		ret = scan_engine_scan_data(c->engine, &req, &m, &res, &error);
		if (ret == 0)
			verdict_decide(c->conf, &res, &v);
		flagged = v.action == VERDICT_TAG || v.action == VERDICT_REJECT;
		pthread_mutex_lock(&c->lock);
		if (ret < 0) {
			c->t.errors++;
		} else if (it->spam) {
			c->t.spam_total++;
			c->t.spam_flagged += flagged;
		} else {
			c->t.ham_total++;
			c->t.ham_flagged += flagged;
		}
		for (i = 0; ret == 0 && i < res.nsymbols; i++)
			count_rule(&c->t, &res.symbols[i], it->spam);
		pthread_mutex_unlock(&c->lock);
		msg_free(&m);
		scan_result_deinit(&res);
		verdict_deinit(&v);
		spool_free(&sp);
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

static void
print_text(const struct tally *t, size_t top)
{
	size_t i;

	printf("messages: %u spam, %u ham (%u unreadable)\n\n", t->spam_total, t->ham_total,
	       t->errors);
	printf("                 flagged  not flagged\n");
	printf("spam  %10u  %10u     caught %.2f%%, missed (false negatives) %.2f%%\n",
	       t->spam_flagged, t->spam_total - t->spam_flagged, pct(t->spam_flagged, t->spam_total),
	       pct(t->spam_total - t->spam_flagged, t->spam_total));
	printf("ham   %10u  %10u     wrongly flagged (false positives) %.2f%%\n\n", t->ham_flagged,
	       t->ham_total - t->ham_flagged, pct(t->ham_flagged, t->ham_total));
	printf("  SPAM%%    HAM%%     S/O   SCORE  NAME\n");
	for (i = 0; i < t->nrules && i < top; i++) {
		const struct rule_count *r = &t->rules[i];
		double sp = pct(r->spam, t->spam_total), hp = pct(r->ham, t->ham_total);

		printf("%7.3f %7.3f %7.3f %7.2f  %s\n", sp, hp, sp + hp > 0 ? sp / (sp + hp) : 0,
		       r->score, r->name);
	}
}

static void
print_json(const struct tally *t)
{
	size_t i;

	printf("{\"spam\":{\"total\":%u,\"flagged\":%u},\"ham\":{\"total\":%u,\"flagged\":%u},"
	       "\"errors\":%u,\"false_negative_rate\":%.6f,\"false_positive_rate\":%.6f,\"rules\":[",
	       t->spam_total, t->spam_flagged, t->ham_total, t->ham_flagged, t->errors,
	       t->spam_total ? (double)(t->spam_total - t->spam_flagged) / t->spam_total : 0,
	       t->ham_total ? (double)t->ham_flagged / t->ham_total : 0);
	for (i = 0; i < t->nrules; i++)
		printf("%s{\"name\":\"%s\",\"score\":%.3f,\"spam\":%u,\"ham\":%u}", i > 0 ? "," : "",
		       t->rules[i].name, t->rules[i].score, t->rules[i].spam, t->rules[i].ham);
	printf("]}\n");
}

int
cmd_corpus(int argc, char **argv)
{
	const char *path = cli_default_conf_path();
	const char *rules_paths = NULL;
	struct corpus c;
	struct scan_engine *e = NULL;
	struct conf *conf;
	pthread_t *threads;
	char *error = NULL;
	long jobs = sysconf(_SC_NPROCESSORS_ONLN);
	size_t top = 50, i;
	bool json = false;
	int k, ret = 0;

	memset(&c, 0, sizeof(c));
	for (k = 1; k < argc; k++) {
		if ((strcmp(argv[k], "--spam") == 0 || strcmp(argv[k], "--ham") == 0) &&
		    k + 1 < argc) {
			bool spam = argv[k][2] == 's';

			if (add_dir(&c, argv[++k], spam) < 0)
				ret = 1;
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
	if (ret != 0 || c.nitems == 0) {
		if (c.nitems == 0)
			fprintf(stderr, "mxmoat: no messages (give --spam DIR and/or --ham DIR)\n");
		return 1;
	}
	if (jobs < 1 || jobs > 64)
		jobs = 1;
	id_init();
	conf = cli_load_conf_default(path);
	if (rules_paths != NULL) {
		free(conf->rules_paths);
		conf->rules_paths = xstrdup(rules_paths);
	}
	if (scan_engine_new(conf, &e, &error) < 0) {
		fprintf(stderr, "mxmoat: %s\n", error);
		free(error);
		conf_unref(&conf);
		return 1;
	}
	c.engine = e;
	c.conf = conf;
	pthread_mutex_init(&c.lock, NULL);
	threads = xcalloc((size_t)jobs, sizeof(pthread_t));
	for (k = 0; k < jobs; k++)
		pthread_create(&threads[k], NULL, worker, &c);
	for (k = 0; k < jobs; k++)
		pthread_join(threads[k], NULL);
	qsort(c.t.rules, c.t.nrules, sizeof(*c.t.rules), by_spam_share);
	if (json)
		print_json(&c.t);
	else
		print_text(&c.t, top);
	for (i = 0; i < c.nitems; i++)
		free(c.items[i].path);
	free(c.items);
	free(c.t.rules);
	free(threads);
	pthread_mutex_destroy(&c.lock);
	scan_engine_unref(&e);
	conf_unref(&conf);
	return 0;
}
