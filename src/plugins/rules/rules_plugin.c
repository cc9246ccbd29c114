/*
 * rules_plugin.c - the rules engine as a scan plugin (data stage).
 */
#include "plugins/rules/rules.h"
#include "plugins/rules/rules_plugin.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "scan/plugin.h"

struct rules_state {
	struct rules *rules;
	struct rules_stats stats;
	uint64_t full_max;
	char **paths;
	size_t npaths;
};

static void
split_paths(const char *s, char ***paths_r, size_t *n_r)
{
	char **v = NULL;
	size_t n = 0;

	while (*s != '\0') {
		size_t len;

		while (*s == ',' || *s == ' ' || *s == '\t')
			s++;
		len = strcspn(s, ", \t");
		if (len == 0)
			break;
		v = xreallocarray(v, n + 1, sizeof(char *));
		v[n++] = xstrndup(s, len);
		s += len;
	}
	*paths_r = v;
	*n_r = n;
}

int
rules_plugin_load(const struct conf *conf, struct rules **rules_r, struct rules_stats *stats_r,
		  struct buf *problems, char **error_r)
{
	struct rules_options opt;
	char **paths;
	size_t n, i;
	int ret;

	split_paths(conf->rules_paths, &paths, &n);
	memset(&opt, 0, sizeof(opt));
	opt.paths = (const char *const *)paths;
	opt.npaths = n;
	opt.bayes = conf->rules_bayes_scores;
	opt.gtube = conf->rules_gtube;
	opt.match_limit = conf->rules_match_limit;
	opt.depth_limit = conf->rules_depth_limit;
	opt.budget_us = conf->rules_time_budget_ms * 1000;
	opt.prefilter = conf->rules_prefilter;
	ret = rules_load(&opt, rules_r, stats_r, problems, error_r);
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return ret;
}

static int
plugin_init(const struct conf *conf, void **state_r, bool *enabled_r, char **error_r)
{
	struct rules_state *st;
	struct buf problems = BUF_INIT;

	*enabled_r = conf->rules_enabled;
	if (!conf->rules_enabled)
		return 0;
	st = xcalloc(1, sizeof(*st));
	if (rules_plugin_load(conf, &st->rules, &st->stats, &problems, error_r) < 0) {
		buf_deinit(&problems);
		free(st);
		return -1;
	}
	if (problems.len > 0) {
		/* not fatal: `mxmoat lint` shows them all */
		log_warning("event=rules_problems count=%u hint=\"run mxmoat lint\"",
			    st->stats.errors);
	}
	buf_deinit(&problems);
	st->full_max = conf->rules_full_max;
	*state_r = st;
	return 0;
}

static void
plugin_deinit(void *state)
{
	struct rules_state *st = state;

	rules_free(&st->rules);
	free(st);
}

static int
plugin_run(const void *state, const struct scan_request *req, struct scan_result *res)
{
	const struct rules_state *st = state;
	struct rules_input in;
	struct rules_run_stats rs;
	char *copy = NULL;
	struct view mem = spool_mem(req->spool);

	memset(&in, 0, sizeof(in));
	in.msg = req->msg;
	in.mail_from = req->mail_from;
	if (mem.p != NULL) {
		in.raw = mem.p;
		in.raw_len = (size_t)MIN(mem.len, st->full_max);
	} else {
		const char *error = NULL;
		size_t want = (size_t)MIN(spool_size(req->spool), st->full_max);
		ssize_t n;

		copy = xmalloc(want + 1);
		n = spool_read(req->spool, 0, copy, want, &error);
		if (n < 0) {
			free(copy);
			return -1;
		}
		in.raw = copy;
		in.raw_len = (size_t)n;
	}
	rules_run(st->rules, &in, res, &rs);
	free(copy);
	return 0;
}

static enum scan_fail
plugin_fail(const void *state)
{
	return SCAN_FAIL_OPEN;
}

static void
plugin_describe(const void *state, struct buf *out)
{
	const struct rules_state *st = state;

	buf_appendf(out, "%u rules from %u files: %u run, %u eval tests and %u other types skipped, "
			 "%u regexes refused, %u problems, %u with a prefilter literal",
		    st->stats.rules, st->stats.files, st->stats.supported, st->stats.skipped_eval,
		    st->stats.skipped_type, st->stats.skipped_regex, st->stats.errors,
		    st->stats.prefiltered);
}

const struct scan_plugin rules_plugin = {
	.abi = SCAN_PLUGIN_ABI,
	.name = "rules",
	.stages = SCAN_STAGE_BIT(SCAN_STAGE_DATA),
	.priority = 100,
	.init = plugin_init,
	.deinit = plugin_deinit,
	.check = NULL,
	.run = plugin_run,
	.fail_action = plugin_fail,
	.describe = plugin_describe,
	.flags = SCAN_PLUGIN_SCORES,
};
