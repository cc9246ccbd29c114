/*
 * rules.h - SpamAssassin-compatible rules: load and compile *.cf files,
 * and run the compiled set over a message.
 *
 * Supported: header (a named header, ALL, ToCc, EnvelopeFrom, MESSAGEID,
 * :raw :addr :name :first :last, exists:Name, [if-unset: ...]), body
 * (rendered text per paragraph, the Subject first, as SpamAssassin does),
 * rawbody, full, uri, mimeheader, meta (boolean and arithmetic
 * expressions), score (the score set for no-Bayes/no-network, or with
 * Bayes), describe, tflags (multiple, maxhits=N, nice, noautolearn, net,
 * learn, userconf, ...), priority, ifplugin/if/else/endif (with the
 * plugins and features mxmoat implements; other branches skipped),
 * include, replace_tag/replace_rules (the ReplaceTags plugin), lang
 * (skipped). Everything else is counted and reported, never fatal:
 * eval: tests, plugin directives, network rules.
 *
 * Regexes are Perl syntax compiled with PCRE2 and its JIT, on bytes (like
 * Perl on byte strings: the text is UTF-8). Each match has a match and
 * depth limit; each message a time budget: a rule that hits a limit
 * counts as not matched and is logged; past the budget the remaining
 * rules are not run (RULES_TIMEOUT is added). A worker never gets stuck.
 *
 * A struct rules is immutable after rules_load(); rules_run() may be
 * called from several threads at once.
 */
#ifndef MXMOAT_RULES_H
#define MXMOAT_RULES_H

#include "core/buf.h"
#include "msg/msg.h"
#include "scan/result.h"

struct rules;

struct rules_options {
	const char *const *paths;  /* files or directories (every *.cf) */
	size_t npaths;
	bool bayes;                /* score set 2 (Bayes on) instead of 0 */
	bool gtube;                /* the built-in GTUBE rule */
	uint32_t match_limit;      /* PCRE2 match limit per match */
	uint32_t depth_limit;      /* PCRE2 depth limit per match */
	uint64_t budget_us;        /* per message */
	bool prefilter;            /* skip regexes whose required literal is
				      absent (rules_prefilter.c) */
};

struct rules_stats {
	unsigned int files;
	unsigned int rules;           /* rules defined */
	unsigned int supported;       /* compiled and run */
	unsigned int meta_partial;    /* metas that use rules we cannot run */
	unsigned int skipped_eval;    /* eval: tests */
	unsigned int skipped_type;    /* rule types not implemented */
	unsigned int skipped_regex;   /* regexes PCRE2 refused */
	unsigned int skipped_branch;  /* inside ifplugin/if blocks not taken */
	unsigned int skipped_meta;    /* metas that cannot be parsed, cycles */
	unsigned int directives_ignored; /* settings we do not use */
	unsigned int errors;          /* malformed lines */
	unsigned int prefiltered;     /* body/rawbody/full rules with a required
					 literal (run only when it occurs) */
};

/* rules_load(): problems (bad regex, malformed line, unknown rule in a
 * score line...) are appended to `problems` as "FILE:LINE: text" lines and
 * counted; they do not fail the load. Returns -1 only when nothing can be
 * read (a path missing), with *error_r (heap). */
int rules_load(const struct rules_options *opt, struct rules **rules_r,
	       struct rules_stats *stats_r, struct buf *problems, char **error_r);
void rules_free(struct rules **rules);

struct rules_input {
	const struct msg *msg;
	const char *raw;       /* the whole message as received */
	size_t raw_len;
	const char *mail_from; /* envelope sender, for EnvelopeFrom */
};

struct rules_run_stats {
	unsigned int evaluated;
	unsigned int prefiltered;  /* not run: their required literal is absent */
	unsigned int limit_hits;   /* matches stopped by a PCRE2 limit */
	bool budget_exceeded;
	uint64_t us;
};

void rules_run(const struct rules *rules, const struct rules_input *in,
	       struct scan_result *res, struct rules_run_stats *stats_r);

/* rules_list(): one line per defined rule, tab-separated:
 *   NAME  STATUS  SCORE  FILE:LINE  REASON
 * STATUS is run (compiled and reported), sub (a __ subrule or a rule only
 * metas use), partial (a meta that uses rules mxmoat cannot run), off
 * (scored 0, or a network test) or skipped (REASON says why). */
void rules_list(const struct rules *rules, struct buf *out);

/* rules_describe(): the describe text of a rule, or NULL */
const char *rules_describe(const struct rules *rules, const char *name);
size_t rules_count(const struct rules *rules);

#endif
