#include "plugins/rules/rules_private.h"

#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <unistd.h>

/* --- prefilter literals ---------------------------------------------------- */

static void
test_required_literals(void **state)
{
	/* want: the literals, '|'-separated, in order; "" = none proven */
	static const struct {
		const char *re;
		uint32_t opts;
		const char *want;
	} cases[] = {
		{ "\\bfree money\\b", 0, "free money" },
		{ "Viagra", 0, "viagra" },
		{ "abc", 0, "" },                       /* shorter than 4 */
		{ "\\bclick\\s+here\\b", 0, "click" },
		{ "(?:urgent|immediate) reply", 0, " reply" },
		{ "\\b(?:codicil|probate|executor)\\b", 0, "codicil|probate|executor" },
		{ "(?:ab|probate)", 0, "" },            /* one alternative proves nothing */
		{ "(?:codicil|probate)?xyz", 0, "" },   /* optional group */
		{ "(?:codicil|probate){2}", 0, "codicil|probate" },
		{ "(?:codicil|probate){0,2}", 0, "" },
		{ "unsub?scribe", 0, "scribe" },        /* b optional */
		{ "unsub+scribe", 0, "scribe" },        /* b at least once: "unsub", a break, "scribe" */
		{ "a.b.c.d", 0, "" },
		{ "get[ _]rich", 0, "rich" },
		{ "foo|barbaz", 0, "" },                /* top-level: foo too short */
		{ "lottery|jackpot", 0, "lottery|jackpot" },
		{ "\\x41BCDEF", 0, "" },                /* escapes with arguments: give up */
		{ "\\Qa.b\\E-more", 0, "" },
		{ "(?x) spaced out", 0, "" },
		{ "spaced out", PCRE2_EXTENDED, "" },
		{ "wire\\.transfer", 0, "wire.transfer" },
		{ "(?=price)prices now", 0, "prices now" },
		{ "(?!price)pr1ce", 0, "pr1ce" },
		{ "(?i)Winner", 0, "winner" },
		{ "(?<w>winner)s", 0, "winner" },
		{ "[a-z]{3}\\d+ dollars", 0, " dollars" },
		{ "xa{2,}bcde", 0, "bcde" },            /* "xa", a break (more a), "bcde" */
		{ "\\bx{0}free", 0, "free" },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		char lits[PF_SET_MAX][PF_LIT_MAX + 1];
		size_t lens[PF_SET_MAX];
		struct buf got = BUF_INIT;
		int n = rules_required_literals(cases[i].re, cases[i].opts, lits, lens), k;

		for (k = 0; k < n; k++) {
			if (k > 0)
				buf_append_char(&got, '|');
			buf_append(&got, lits[k], lens[k]);
		}
		if (strcmp(buf_cstr(&got), cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].re, buf_cstr(&got),
				 cases[i].want);
		buf_deinit(&got);
	}
}

/* --- meta expressions ------------------------------------------------------ */

static unsigned int
lookup_abc(struct rules *r, const char *name)
{
	return (unsigned int)(name[0] - 'A');
}

static void
test_meta(void **state)
{
	static const struct {
		const char *expr;
		unsigned int a, b, c;
		double want;
	} cases[] = {
		{ "A && B", 1, 1, 0, 1 },
		{ "A && B", 1, 0, 0, 0 },
		{ "A || B", 0, 1, 0, 1 },
		{ "A || B", 0, 0, 0, 0 },
		{ "!A", 0, 0, 0, 1 },
		{ "!A", 3, 0, 0, 0 },
		{ "A && !B", 1, 0, 0, 1 },
		{ "(A + B + C) >= 2", 1, 0, 1, 1 },
		{ "(A + B + C) >= 2", 1, 0, 0, 0 },
		{ "A + B * 2", 1, 1, 0, 3 },
		{ "(A + B) * 2", 1, 1, 0, 4 },
		{ "A > 1", 3, 0, 0, 1 },
		{ "A == 3", 3, 0, 0, 1 },
		{ "A != 3", 3, 0, 0, 0 },
		{ "A <= 2 && B < 1", 2, 0, 0, 1 },
		{ "-A + 5", 2, 0, 0, 3 },
		{ "A / B", 4, 2, 0, 2 },
		{ "A / B", 4, 0, 0, 0 },
		/* Perl's && and || give a value, not only 1/0 */
		{ "A && B", 2, 5, 0, 5 },
		{ "A || B", 2, 5, 0, 2 },
		{ "!(A || B) && C", 0, 0, 1, 1 },
		{ "A&&B||C", 0, 1, 1, 1 },
		{ "1.5 * A", 2, 0, 0, 3 },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		const char *error = NULL;
		struct meta_node *n = rules_meta_parse(cases[i].expr, &error);
		unsigned int hits[3] = { cases[i].a, cases[i].b, cases[i].c };

		if (n == NULL)
			fail_msg("%s: %s", cases[i].expr, error);
		rules_meta_resolve(NULL, n, lookup_abc);
		if (rules_meta_eval(n, hits) != cases[i].want)
			fail_msg("%s with %u %u %u: got %g, want %g", cases[i].expr, cases[i].a,
				 cases[i].b, cases[i].c, rules_meta_eval(n, hits), cases[i].want);
		rules_meta_free(n);
	}
}

static void
test_meta_errors(void **state)
{
	static const char *const bad[] = {
		"", "A &&", "(A", "A)", "A $ B", "&& A", "A B",
		"((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((A"
		"))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))",
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(bad); i++) {
		const char *error = NULL;

		assert_null(rules_meta_parse(bad[i], &error));
		assert_non_null(error);
	}
}

/* --- loading .cf files --------------------------------------------------------- */

static char tmpdir[64];

static void
write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct rules *
load(struct rules_stats *st, struct buf *problems)
{
	const char *paths[1] = { tmpdir };
	struct rules_options opt;
	struct rules *r = NULL;
	char *error = NULL;

	memset(&opt, 0, sizeof(opt));
	opt.paths = paths;
	opt.npaths = 1;
	opt.gtube = true;
	opt.match_limit = 100000;
	opt.depth_limit = 1000;
	if (rules_load(&opt, &r, st, problems, &error) < 0)
		fail_msg("load: %s", error);
	return r;
}

static const struct rule *
rule(const struct rules *r, const char *name)
{
	int i = rules_index_of(r, name);

	if (i < 0)
		fail_msg("no rule %s", name);
	return &r->rules[i];
}

static int
setup_dir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mxmoat-rules-test.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_load_kinds(void **state)
{
	struct rules_stats st;
	struct buf problems = BUF_INIT;
	struct rules *r;

	write_file("10_test.cf",
		   "# a comment\n"
		   "header   HDR_SUBJ   Subject =~ /viagra/i\n"
		   "describe HDR_SUBJ   Subject mentions it\n"
		   "score    HDR_SUBJ   2.5\n"
		   "header   HDR_NEG    From !~ /\\@/ [if-unset: nobody]\n"
		   "header   HDR_EXISTS exists:X-Mailer\n"
		   "header   HDR_ADDR   From:addr =~ /\\.example$/\n"
		   "header   HDR_EVAL   eval:check_for_missing_to_header()\n"
		   "body     BODY_ONE   m{free money}i\n"
		   "body     BODY_HASH  /\\#1 offer/\n"
		   "rawbody  RAW_ONE    /<font/i\n"
		   "full     FULL_ONE   /^Received:/m\n"
		   "uri      URI_IP     m!https?://\\d+\\.\\d+\\.\\d+\\.\\d+!\n"
		   "mimeheader MIME_EXE Content-Type =~ /\\.exe/i\n"
		   "body     __SUB      /x/\n"
		   "meta     META_ONE   HDR_SUBJ && BODY_ONE\n"
		   "score    META_ONE   1 2 3 4\n"
		   "tflags   BODY_ONE   multiple maxhits=3\n"
		   "priority META_ONE   500\n"
		   "body     BAD_RE     /([a-z/\n"
		   "lang de  body DE_ONE /x/\n"
		   "loadplugin Mail::SpamAssassin::Plugin::Foo\n");
	r = load(&st, &problems);
	assert_true(rule(r, "HDR_SUBJ")->supported);
	assert_int_equal(rule(r, "HDR_SUBJ")->type, RT_HEADER);
	assert_string_equal(rule(r, "HDR_SUBJ")->describe, "Subject mentions it");
	assert_true(rule(r, "HDR_SUBJ")->score[0] == 2.5);
	assert_true(rule(r, "HDR_NEG")->negate);
	assert_string_equal(rule(r, "HDR_NEG")->if_unset, "nobody");
	assert_int_equal(rule(r, "HDR_EXISTS")->type, RT_EXISTS);
	assert_int_equal(rule(r, "HDR_ADDR")->hmod, HM_ADDR);
	assert_false(rule(r, "HDR_EVAL")->supported);
	assert_int_equal(rule(r, "BODY_ONE")->tflags, RULE_TF_MULTIPLE);
	assert_int_equal(rule(r, "BODY_ONE")->maxhits, 3);
	assert_string_equal(rule(r, "BODY_HASH")->source, "#1 offer");
	assert_int_equal(rule(r, "URI_IP")->type, RT_URI);
	assert_int_equal(rule(r, "MIME_EXE")->type, RT_MIMEHEADER);
	assert_true(rule(r, "META_ONE")->supported);
	assert_true(rule(r, "META_ONE")->score[2] == 3);
	assert_int_equal(rule(r, "META_ONE")->priority, 500);
	assert_false(rule(r, "BAD_RE")->supported);
	assert_false(rule(r, "__SUB")->reported);
	/* no score line: 1.0 */
	assert_true(rule(r, "BODY_ONE")->score[0] == 1.0);
	assert_true(rule(r, "GTUBE")->supported);
	assert_int_equal(st.skipped_eval, 1);
	assert_int_equal(st.skipped_regex, 1);
	assert_int_equal(st.directives_ignored, 2);
	assert_non_null(strstr(buf_cstr(&problems), "10_test.cf:20: BAD_RE: regex:"));
	/* the metas come after the rules they use */
	assert_true(r->order[r->norder - 1] == (unsigned int)rules_index_of(r, "META_ONE"));
	rules_free(&r);
	buf_deinit(&problems);
}

static void
test_conditionals(void **state)
{
	struct rules_stats st;
	struct buf problems = BUF_INIT;
	struct rules *r;

	write_file("10_test.cf",
		   "ifplugin Mail::SpamAssassin::Plugin::MIMEHeader\n"
		   "  body IN_KNOWN /a/\n"
		   "endif\n"
		   "ifplugin Mail::SpamAssassin::Plugin::SomethingElse\n"
		   "  body IN_UNKNOWN /a/\n"
		   "  if (version >= 3.0)\n"
		   "    body NESTED /a/\n"
		   "  endif\n"
		   "endif\n"
		   "if (version >= 3.004000)\n"
		   "  body V34 /a/\n"
		   "else\n"
		   "  body V33 /a/\n"
		   "endif\n"
		   "if (version >= 9.0)\n"
		   "  body V9 /a/\n"
		   "endif\n"
		   "if can(Mail::SpamAssassin::Conf::feature_bug6558_free)\n"
		   "  body CAN /a/\n"
		   "endif\n"
		   "if !plugin(Mail::SpamAssassin::Plugin::ReplaceTags)\n"
		   "  body NO_REPLACE /a/\n"
		   "endif\n");
	r = load(&st, &problems);
	assert_true(rules_index_of(r, "IN_KNOWN") >= 0);
	assert_true(rules_index_of(r, "IN_UNKNOWN") < 0);
	assert_true(rules_index_of(r, "NESTED") < 0);
	assert_true(rules_index_of(r, "V34") >= 0);
	assert_true(rules_index_of(r, "V33") < 0);
	assert_true(rules_index_of(r, "V9") < 0);
	assert_true(rules_index_of(r, "CAN") >= 0);
	assert_true(rules_index_of(r, "NO_REPLACE") < 0);
	assert_int_equal(st.skipped_branch, 5);
	assert_int_equal(st.errors, 0);
	rules_free(&r);
	buf_deinit(&problems);
}

static void
test_replace_tags(void **state)
{
	struct rules_stats st;
	struct buf problems = BUF_INIT;
	struct rules *r;

	write_file("10_test.cf",
		   "replace_tag A [a4]\n"
		   "replace_tag B [b8]\n"
		   "replace_inter W1 \\W?\n"
		   "replace_post P2 {1,2}\n"
		   "body FUZZY /<inter W1><post P2><A><B>x<A>/i\n"
		   "body PLAIN /<A><B>/\n"
		   "replace_rules FUZZY\n");
	r = load(&st, &problems);
	assert_string_equal(rule(r, "FUZZY")->source, "[a4]{1,2}\\W?[b8]{1,2}x[a4]{1,2}");
	/* not listed in replace_rules: untouched */
	assert_string_equal(rule(r, "PLAIN")->source, "<A><B>");
	rules_free(&r);
	buf_deinit(&problems);
}

static void
test_meta_partial_and_unknown(void **state)
{
	struct rules_stats st;
	struct buf problems = BUF_INIT;
	struct rules *r;

	write_file("10_test.cf",
		   "header EVAL_ONE eval:foo()\n"
		   "body   REAL     /a/\n"
		   "meta   M_PARTIAL REAL && EVAL_ONE\n"
		   "meta   M_UNKNOWN REAL || NEVER_DEFINED\n"
		   "meta   M_FULL   REAL && !M_PARTIAL\n"
		   "meta   M_LOOP1  M_LOOP2\n"
		   "meta   M_LOOP2  M_LOOP1\n"
		   "body   __SUBRULE /b/\n"
		   "body   OFF       /c/\n"
		   "meta   M_SUB    __SUBRULE && !OFF\n"
		   "score  OFF 0\n");
	r = load(&st, &problems);
	assert_true(rule(r, "M_PARTIAL")->partial);
	assert_true(rule(r, "M_UNKNOWN")->partial);
	assert_true(rule(r, "M_FULL")->partial);
	assert_false(rule(r, "NEVER_DEFINED")->defined);
	/* a subrule runs for the metas that use it */
	assert_false(rule(r, "__SUBRULE")->reported);
	assert_true(rule(r, "__SUBRULE")->needed);
	/* score 0: off, as in SpamAssassin: never run, metas see 0 */
	assert_false(rule(r, "OFF")->reported);
	assert_false(rule(r, "OFF")->needed);
	assert_true(rule(r, "OFF")->disabled);
	assert_true(rule(r, "M_SUB")->reported);
	assert_non_null(strstr(buf_cstr(&problems), "cycle"));
	rules_free(&r);
	buf_deinit(&problems);
}

static void
test_missing_path(void **state)
{
	const char *paths[1] = { "/nonexistent/rules" };
	struct rules_options opt;
	struct rules_stats st;
	struct rules *r = NULL;
	char *error = NULL;

	memset(&opt, 0, sizeof(opt));
	opt.paths = paths;
	opt.npaths = 1;
	assert_int_equal(rules_load(&opt, &r, &st, NULL, &error), -1);
	assert_null(r);
	assert_non_null(strstr(error, "/nonexistent/rules"));
	free(error);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_required_literals),
		cmocka_unit_test(test_meta),
		cmocka_unit_test(test_meta_errors),
		cmocka_unit_test_setup_teardown(test_load_kinds, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_conditionals, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_replace_tags, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_meta_partial_and_unknown, setup_dir,
						teardown_dir),
		cmocka_unit_test(test_missing_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
