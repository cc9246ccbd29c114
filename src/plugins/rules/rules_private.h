/*
 * rules_private.h - the compiled rule set, shared by rules_load.c (parse
 * and compile), rules_meta.c (meta expressions) and rules_run.c (match).
 */
#ifndef MXMOAT_RULES_PRIVATE_H
#define MXMOAT_RULES_PRIVATE_H

#include "core/common.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "plugins/rules/rules.h"

enum rule_type {
	RT_HEADER,
	RT_EXISTS,      /* header NAME exists:Header */
	RT_BODY,
	RT_RAWBODY,
	RT_FULL,
	RT_URI,
	RT_MIMEHEADER,
	RT_META,
	RT_GTUBE,       /* built in: the GTUBE string anywhere in the body */
	RT_EVAL,        /* one of mxmoat's eval: functions (rules_eval.c) */
};

/* mxmoat's own eval: functions (SpamAssassin's are skipped) */
enum rule_eval {
	EV_MSG_FLAG,        /* mxmoat_msg_flag(name[,name...]): a parser flag */
	EV_LINK_MISMATCH,   /* mxmoat_link_mismatch(): link text names another host */
	EV_HTML_ONLY,       /* mxmoat_html_only(): HTML without a text alternative */
	EV_ATTACH_EXT,      /* mxmoat_attachment_ext(exe,scr,...): a file name ends so */
	EV_DOUBLE_EXT,      /* mxmoat_double_extension(): "invoice.pdf.exe" */
	EV_URL_COUNT,       /* mxmoat_url_count(min): at least min URLs */
	EV_URL_IP,          /* mxmoat_url_ip(): a URL whose host is an IP */
	EV_DATE_FUTURE,     /* mxmoat_date_future(hours): Date after the first
			       Received by more than hours */
	EV_DATE_PAST,       /* mxmoat_date_past(hours): before it by more */
};

/* which value of a header a rule reads */
enum rule_hdr_mod {
	HM_DECODED,     /* RFC 2047 decoded, unfolded (default) */
	HM_RAW,         /* :raw */
	HM_ADDR,        /* :addr - the first address */
	HM_NAME,        /* :name - the first display name */
};

enum rule_hdr_special {
	HS_NAMED,       /* a header by name */
	HS_ALL,         /* ALL: every header, "Name: value\n" */
	HS_TOCC,        /* To and Cc */
	HS_ENVFROM,     /* EnvelopeFrom */
	HS_MESSAGEID,   /* Message-Id, Resent-Message-Id, X-Message-Id */
};

enum meta_op {
	MO_NUM, MO_RULE, MO_NOT, MO_NEG, MO_AND, MO_OR, MO_ADD, MO_SUB, MO_MUL, MO_DIV,
	MO_GT, MO_GE, MO_LT, MO_LE, MO_EQ, MO_NE,
};

struct meta_node {
	enum meta_op op;
	double num;
	unsigned int rule;      /* MO_RULE: index into rules->rules */
	char *name;             /* MO_RULE before resolution */
	struct meta_node *a, *b;
};

/* rules_prefilter.c: literals per rule, bytes per literal */
#define PF_SET_MAX 16
#define PF_LIT_MAX 64

#define RULE_TF_MULTIPLE (1u << 0)
#define RULE_TF_NICE (1u << 1)
#define RULE_TF_NOAUTOLEARN (1u << 2)
#define RULE_TF_NET (1u << 3)
#define RULE_TF_LEARN (1u << 4)

struct rule {
	char *name;
	enum rule_type type;
	bool defined;           /* a rule line was seen (not only score/describe) */
	bool supported;         /* compiled and runnable */
	bool partial;           /* a meta that depends on unsupported rules */
	bool reported;          /* not a __ subrule and score != 0 */
	bool needed;            /* run: reported, or used by a needed meta */
	bool disabled;          /* scored 0 (or a network test): never run */
	char *skip_reason;      /* why not supported */
	char *file;
	unsigned int line;
	char *source;           /* the regex as written (ReplaceTags works on it) */
	uint32_t pcre_opts;
	pcre2_code *re;
	bool negate;            /* !~ */
	enum rule_hdr_special hspecial;
	enum rule_hdr_mod hmod;
	char *header;           /* HS_NAMED / RT_EXISTS / RT_MIMEHEADER */
	char *if_unset;         /* value when the header is absent */
	bool has_if_unset;
	struct meta_node *meta;
	double score[4];
	bool score_set;
	char *describe;
	unsigned int tflags;
	unsigned int maxhits;
	int priority;
	bool replace;           /* listed in replace_rules */
	enum rule_eval eval;
	unsigned int eval_flags;  /* EV_MSG_FLAG: the msg_flag bits */
	char **eval_args;
	size_t neval_args;
	/* rules_prefilter.c: one of these literals (indexes into
	 * rules->prefilter) is in every match; nlit 0: always run */
	uint32_t lit[PF_SET_MAX];
	unsigned int nlit;
};

/* which text a prefilter literal is looked for in */
#define PF_KIND_BODY (1u << 0)
#define PF_KIND_RAWBODY (1u << 1)
#define PF_KIND_FULL (1u << 2)

struct prefilter;

struct rules {
	struct rule *rules;
	size_t nrules;
	/* evaluation order: regex rules, then metas in dependency order */
	unsigned int *order;
	size_t norder;
	unsigned int score_set;
	uint32_t match_limit, depth_limit;
	uint64_t budget_us;
	pcre2_match_context *mctx_proto; /* copied per thread */
	/* name -> index */
	unsigned int *hash;
	size_t hash_size;
	/* rules_prefilter.c: required literals of body/rawbody/full rules,
	 * NULL when off */
	struct prefilter *prefilter;
	unsigned int prefiltered;  /* rules that have a literal */
};

/* rules_load.c */
int rules_index_of(const struct rules *r, const char *name);

/* rules_eval.c */
/* rules_eval_parse(): "mxmoat_xxx(args)" -> the rule's eval fields; -1
 * for a function mxmoat does not implement */
int rules_eval_parse(struct rule *ru, const char *call);
void rules_eval_free(struct rule *ru);
/* rules_eval_run(): hit count; detail (at least 64 bytes) says why */
unsigned int rules_eval_run(const struct rule *ru, const struct msg *m, char *detail,
			    size_t detail_len);

/* rules_prefilter.c */
/* rules_required_literals(): literals (lowercase, at least 4 bytes, at
 * most PF_SET_MAX) one of which every match of the regex contains, as far
 * as the syntax proves it; returns how many, 0 when nothing is proven
 * (the rule then always runs) */
int rules_required_literals(const char *re, uint32_t opts, char lits[][PF_LIT_MAX + 1],
			    size_t *lens);
void rules_prefilter_build(struct rules *r);
void rules_prefilter_free(struct prefilter *pf);
size_t rules_prefilter_count(const struct prefilter *pf);
/* rules_prefilter_scan(): set bit k of found for each literal k of that
 * kind that occurs in text (ASCII case-insensitively) */
void rules_prefilter_scan(const struct prefilter *pf, unsigned int kind, const char *text,
			  size_t len, uint8_t *found);

/* rules_meta.c */
struct meta_node *rules_meta_parse(const char *expr, const char **error_r);
void rules_meta_free(struct meta_node *n);
/* resolve names to indexes (unknown names: rule with defined=false) */
void rules_meta_resolve(struct rules *r, struct meta_node *n, unsigned int (*lookup)(struct rules *, const char *));
double rules_meta_eval(const struct meta_node *n, const unsigned int *hits);
/* visit every rule a meta references */
void rules_meta_deps(const struct meta_node *n, void (*fn)(void *ctx, unsigned int rule), void *ctx);

#endif
