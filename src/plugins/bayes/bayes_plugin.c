#include "plugins/bayes/bayes_plugin.h"
#include "plugins/bayes/bayes_store.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "kv/kv.h"

#define PLUGIN_NAME "bayes"

const char *const bayes_plugin_band_names[BAYES_BANDS] = {
	"BAYES_00", "BAYES_05", "BAYES_20", "BAYES_40", "BAYES_50",
	"BAYES_60", "BAYES_80", "BAYES_95", "BAYES_99", "BAYES_999",
};
const double bayes_plugin_band_min[BAYES_BANDS] = {
	0, 0.01, 0.05, 0.20, 0.40, 0.60, 0.80, 0.95, 0.99, 0.999,
};

enum counter { C_SCORED, C_NOT_READY, C_NO_TOKENS, C_SKIPPED, C_LEARN_SPAM, C_LEARN_HAM, C_N };

static const char *const counter_names[C_N] = {
	"scored", "not_ready", "no_tokens", "skipped", "autolearn_spam", "autolearn_ham",
};

/* process-wide: they survive reloads */
static uint64_t counters[C_N];

struct bayes_state {
	struct bayes_store *store;
	uint64_t min_spam, min_ham;
	double scores[BAYES_BANDS];
	double learn_spam, learn_ham;
};

int
bayes_plugin_scores(const char *text, double scores_r[BAYES_BANDS], char **error_r)
{
	const char *p = text;
	size_t i;

	for (i = 0; i < BAYES_BANDS; i++) {
		char *end;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		errno = 0;
		scores_r[i] = strtod(p, &end);
		if (end == p || errno != 0 || !(scores_r[i] >= -1000 && scores_r[i] <= 1000))
			break;
		p = end;
	}
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	if (i < BAYES_BANDS || *p != '\0') {
		struct buf b = BUF_INIT;

		buf_appendf(&b, "[bayes] scores: expected %d numbers (BAYES_00 ... BAYES_99, "
				"BAYES_999), got \"%s\"",
			    BAYES_BANDS, text);
		*error_r = buf_steal(&b);
		return -1;
	}
	return 0;
}

unsigned int
bayes_plugin_band(double prob)
{
	unsigned int i;

	for (i = BAYES_BANDS - 2; i > 0; i--) {
		if (prob >= bayes_plugin_band_min[i])
			return i;
	}
	return 0;
}

void
bayes_plugin_tokenize(const struct conf *conf, const struct msg *m, struct bayes_tokens *t,
		      unsigned char *digest)
{
	bayes_tokens_init(t, conf->bayes_message_tokens);
	bayes_token_msg(t, m);
	if (digest != NULL)
		bayes_token_digest(m, digest);
}

double
bayes_plugin_score_without(const struct scan_result *res)
{
	double score = 0;
	size_t i;

	for (i = 0; i < res->nsymbols; i++) {
		if (res->symbols[i].plugin == NULL ||
		    strcmp(res->symbols[i].plugin, PLUGIN_NAME) != 0)
			score += res->symbols[i].score;
	}
	return score;
}

static void
count(enum counter c)
{
	__atomic_add_fetch(&counters[c], 1, __ATOMIC_RELAXED);
}

static int
state_new(const struct conf *conf, bool enabled, void **state_r, bool *enabled_r,
	  char **error_r)
{
	struct bayes_state *st;

	*enabled_r = enabled;
	if (!enabled)
		return 0;
	st = xcalloc(1, sizeof(*st));
	if (bayes_plugin_scores(conf->bayes_scores, st->scores, error_r) < 0 ||
	    bayes_store_new(conf, NULL, &st->store, error_r) < 0) {
		free(st);
		return -1;
	}
	st->min_spam = conf->bayes_min_spam;
	st->min_ham = conf->bayes_min_ham;
	st->learn_spam = conf->bayes_autolearn_spam_score;
	st->learn_ham = conf->bayes_autolearn_ham_score;
	if (conf->bayes_autolearn && st->learn_ham >= st->learn_spam) {
		bayes_store_free(&st->store);
		free(st);
		*error_r = xstrdup("[bayes] autolearn_ham_score is not below autolearn_spam_score");
		return -1;
	}
	*state_r = st;
	return 0;
}

static int
init_classify(const struct conf *conf, void **state_r, bool *enabled_r, char **error_r)
{
	return state_new(conf, conf->bayes_enabled, state_r, enabled_r, error_r);
}

static int
init_autolearn(const struct conf *conf, void **state_r, bool *enabled_r, char **error_r)
{
	return state_new(conf, conf->bayes_enabled && conf->bayes_autolearn, state_r, enabled_r,
			 error_r);
}

static void
plugin_deinit(void *state)
{
	struct bayes_state *st = state;

	bayes_store_free(&st->store);
	free(st);
}

static bool
plugin_check(const void *state, const struct scan_request *req)
{
	return req->msg != NULL;
}

static enum scan_fail
plugin_fail(const void *state)
{
	return SCAN_FAIL_OPEN;
}

/* Redis down or slow: the message goes on without Bayes */
static void
skipped(const struct scan_request *req, struct scan_result *res, const char *what,
	const char *error)
{
	count(C_SKIPPED);
	scan_result_add(res, PLUGIN_NAME, "BAYES_SKIP", 0, "%s", error);
	log_debug("id=%s event=bayes_%s result=skip error=\"%s\"", id_format(req->id).s, what,
		  error);
}

static int
classify_run(const void *state, const struct scan_request *req, struct scan_result *res)
{
	const struct bayes_state *st = state;
	struct bayes_tokens t;
	struct bayes_chi_token *toks;
	struct bayes_counts c;
	const char *error = NULL;
	double prob = 0.5;
	bool ready = false;
	size_t i, used;

	bayes_plugin_tokenize(req->conf, req->msg, &t, NULL);
	toks = xcalloc(MAX(t.n, 1), sizeof(*toks));
	for (i = 0; i < t.n; i++)
		toks[i].hash = t.hashes[i];
	if (bayes_store_lookup(st->store, toks, t.n, st->min_spam, st->min_ham, &c, &ready,
			       &error) < 0) {
		skipped(req, res, "classify", error);
		goto out;
	}
	if (!ready) {
		count(C_NOT_READY);
		log_debug("id=%s event=bayes result=not_ready spam=%llu ham=%llu",
			  id_format(req->id).s, (unsigned long long)c.nspam,
			  (unsigned long long)c.nham);
		goto out;
	}
	used = bayes_chi_classify(toks, t.n, c.nspam, c.nham, &prob);
	if (used == 0) {
		count(C_NO_TOKENS);
		goto out;
	}
	count(C_SCORED);
	i = bayes_plugin_band(prob);
	scan_result_add(res, PLUGIN_NAME, bayes_plugin_band_names[i], st->scores[i],
			"p=%.4f tokens=%zu/%zu", prob, used, t.n);
	if (prob >= bayes_plugin_band_min[BAYES_BANDS - 1])
		scan_result_add(res, PLUGIN_NAME, bayes_plugin_band_names[BAYES_BANDS - 1],
				st->scores[BAYES_BANDS - 1], "p=%.4f", prob);
out:
	free(toks);
	bayes_tokens_deinit(&t);
	return 0;
}

/* the class autolearn gives a message so far, or BAYES_NONE */
static enum bayes_class
autolearn_class(const struct bayes_state *st, const struct scan_request *req)
{
	double score;

	if (req->msg == NULL || req->so_far == NULL || req->so_far->nforced > 0)
		return BAYES_NONE;
	score = bayes_plugin_score_without(req->so_far);
	return score >= st->learn_spam ? BAYES_SPAM : score <= st->learn_ham ? BAYES_HAM : BAYES_NONE;
}

static bool
autolearn_check(const void *state, const struct scan_request *req)
{
	return autolearn_class(state, req) != BAYES_NONE;
}

static int
autolearn_run(const void *state, const struct scan_request *req, struct scan_result *res)
{
	const struct bayes_state *st = state;
	struct bayes_learn_msg lm;
	struct bayes_tokens t;
	struct bayes_counts c;
	const char *error = NULL, *cls;

	memset(&lm, 0, sizeof(lm));
	lm.want = autolearn_class(st, req);
	if (lm.want == BAYES_NONE)
		return 0;
	cls = lm.want == BAYES_SPAM ? "spam" : "ham";
	bayes_plugin_tokenize(req->conf, req->msg, &t, lm.digest);
	lm.hashes = t.hashes;
	lm.nhashes = t.n;
	if (bayes_store_learn(st->store, &lm, 1, &c, &error) < 0) {
		skipped(req, res, "autolearn", error);
	} else {
		if (lm.result == BAYES_LEARNED || lm.result == BAYES_RELEARNED)
			count(lm.want == BAYES_SPAM ? C_LEARN_SPAM : C_LEARN_HAM);
		scan_result_add(res, PLUGIN_NAME, "BAYES_AUTOLEARN", 0, "%s %s", cls,
				bayes_learn_result_name(lm.result));
		log_info("id=%s event=bayes_autolearn class=%s result=%s score=%.1f tokens=%zu "
			 "spam=%llu ham=%llu",
			 id_format(req->id).s, cls, bayes_learn_result_name(lm.result),
			 bayes_plugin_score_without(req->so_far), t.n, (unsigned long long)c.nspam,
			 (unsigned long long)c.nham);
	}
	bayes_tokens_deinit(&t);
	return 0;
}

static void
plugin_describe(const void *state, struct buf *out)
{
	const struct bayes_state *st = state;
	struct kv_stats ks;
	size_t i;

	kv_describe(bayes_store_kv(st->store), out);
	buf_appendf(out, ", keys %s*, min %llu spam and %llu ham, up to %llu tokens;",
		    bayes_store_prefix(st->store), (unsigned long long)st->min_spam,
		    (unsigned long long)st->min_ham,
		    (unsigned long long)bayes_store_capacity(st->store));
	for (i = 0; i < C_N; i++)
		buf_appendf(out, " %s=%llu", counter_names[i],
			    (unsigned long long)__atomic_load_n(&counters[i], __ATOMIC_RELAXED));
	kv_get_stats(bayes_store_kv(st->store), &ks);
	buf_appendf(out, "; redis %s calls=%llu failures=%llu skipped=%llu", ks.up ? "up" : "down",
		    (unsigned long long)ks.calls, (unsigned long long)ks.failures,
		    (unsigned long long)ks.skipped);
}

static void
autolearn_describe(const void *state, struct buf *out)
{
	const struct bayes_state *st = state;

	buf_appendf(out, "autolearn: spam at a score without Bayes of %.1f and more, ham at "
			 "%.1f and less, into %s*",
		    st->learn_spam, st->learn_ham, bayes_store_prefix(st->store));
}

const struct scan_plugin bayes_plugin = {
	.abi = SCAN_PLUGIN_ABI,
	.name = PLUGIN_NAME,
	.stages = SCAN_STAGE_BIT(SCAN_STAGE_DATA),
	/* after the rules (100), before the data-stage greylisting band (900) */
	.priority = 150,
	.init = init_classify,
	.deinit = plugin_deinit,
	.check = plugin_check,
	.run = classify_run,
	.fail_action = plugin_fail,
	.describe = plugin_describe,
	.flags = SCAN_PLUGIN_SCORES,
};

const struct scan_plugin bayes_autolearn_plugin = {
	.abi = SCAN_PLUGIN_ABI,
	.name = PLUGIN_NAME,
	.stages = SCAN_STAGE_BIT(SCAN_STAGE_DATA),
	/* after every scorer: it learns from the score */
	.priority = 950,
	.init = init_autolearn,
	.deinit = plugin_deinit,
	.check = autolearn_check,
	.run = autolearn_run,
	.fail_action = plugin_fail,
	.describe = autolearn_describe,
};
