/*
 * mxmoat lint [-c PATH] [--rules PATHS] [-q] [--list]
 *
 * --list prints every rule with its status (run, sub, partial, off,
 * skipped and why): see rules_list() in src/plugins/rules/rules.h.
 * Parses the configuration and the rule files it names, prints every
 * problem as FILE:LINE: message, and a count of what is supported and
 * what is skipped. Exit status: 0 all good, 1 the configuration is invalid
 * or a rule path cannot be read, 3 the rules load but have problems.
 */
#include "cli/cli.h"

#include <unistd.h>
#include "core/xalloc.h"
#include "plugins/rules/rules_plugin.h"

int
cmd_lint(int argc, char **argv)
{
	const char *path = cli_default_conf_path();
	const char *rules_paths = NULL;
	struct buf problems = BUF_INIT;
	struct rules_stats st;
	struct rules *rules = NULL;
	struct conf *c;
	char *error = NULL;
	bool quiet = false, list = false;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
			rules_paths = argv[++i];
		else if (strcmp(argv[i], "-q") == 0)
			quiet = true;
		else if (strcmp(argv[i], "--list") == 0)
			list = true;
		else
			cli_usage();
	}
	c = cli_load_conf_default(path);
	printf("configuration %s: ok\n", access(path, F_OK) == 0 ? path : "(defaults)");
	if (rules_paths != NULL) {
		free(c->rules_paths);
		c->rules_paths = xstrdup(rules_paths);
	}
	if (rules_plugin_load(c, &rules, &st, &problems, &error) < 0) {
		fprintf(stderr, "mxmoat: rules: %s\n", error);
		free(error);
		conf_unref(&c);
		return 1;
	}
	if (!quiet && problems.len > 0)
		fwrite(problems.data, 1, problems.len, stdout);
	if (list) {
		struct buf out = BUF_INIT;

		rules_list(rules, &out);
		fwrite(out.data, 1, out.len, stdout);
		buf_deinit(&out);
	}
	printf("rules %s: %u rules in %u files\n", c->rules_paths, st.rules, st.files);
	printf("  supported:        %u (of them %u metas that use skipped rules)\n", st.supported,
	       st.meta_partial);
	printf("  skipped eval:     %u\n", st.skipped_eval);
	printf("  skipped type:     %u\n", st.skipped_type);
	printf("  skipped regex:    %u\n", st.skipped_regex);
	printf("  skipped meta:     %u\n", st.skipped_meta);
	printf("  not taken (if):   %u\n", st.skipped_branch);
	printf("  other directives: %u (not used by mxmoat)\n", st.directives_ignored);
	printf("  problems:         %u\n", st.errors);
	printf("  prefiltered:      %u (body/rawbody/full rules run only when their literal occurs)\n",
	       st.prefiltered);
	ret = st.errors > 0 ? 3 : 0;
	rules_free(&rules);
	buf_deinit(&problems);
	conf_unref(&c);
	return ret;
}
