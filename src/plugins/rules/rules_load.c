/*
 * rules_load.c - read SpamAssassin .cf files, apply ReplaceTags, compile
 * the regexes with PCRE2 JIT, parse and order the metas.
 *
 * The parser follows SpamAssassin's Conf::Parser: an unescaped '#' starts a
 * comment, "\#" is a literal '#', white space around a line is dropped;
 * later definitions of a rule replace earlier ones; score, describe,
 * tflags and priority may come before or after the rule they name.
 */
#include "plugins/rules/rules_private.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>

/* the SpamAssassin version `if (version >= ...)` is compared with */
#define RULES_SA_VERSION 4.000001
#define RULES_INCLUDE_DEPTH 8
#define RULES_LINE_MAX (64 * 1024)
#define RULES_MAX 100000

/* SpamAssassin plugins whose rules mxmoat runs itself; `ifplugin` of any
 * other plugin is a branch not taken (its rules are eval: tests) */
static const char *const known_plugins[] = {
	"Mail::SpamAssassin::Plugin::Check",
	"Mail::SpamAssassin::Plugin::MIMEHeader",
	"Mail::SpamAssassin::Plugin::ReplaceTags",
};

struct tag {
	char *name;
	char *value;
};

struct tags {
	struct tag *v;
	size_t n;
};

struct cond {
	bool active;     /* this branch is taken */
	bool parent;     /* the enclosing block was taken */
};

struct loader {
	struct rules *r;
	struct rules_stats *st;
	struct buf *problems;
	const struct rules_options *opt;
	struct tags tags, pre, inter, post;
	char *tag_start, *tag_end;
	struct cond conds[64];
	size_t nconds;
	unsigned int order_seq;
	/* per rule: the meta expression text until it is parsed; entries
	 * exist for the rules rule_get() made (nmeta of them) */
	char **meta_text;
	size_t nmeta;
};

/* --- the name table -------------------------------------------------- */

static uint32_t
name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void
hash_rebuild(struct rules *r)
{
	size_t i;

	free(r->hash);
	r->hash_size = 1024;
	while (r->hash_size < r->nrules * 2 + 16)
		r->hash_size *= 2;
	r->hash = xcalloc(r->hash_size, sizeof(unsigned int));
	for (i = 0; i < r->nrules; i++) {
		size_t h = name_hash(r->rules[i].name) & (r->hash_size - 1);

		while (r->hash[h] != 0)
			h = (h + 1) & (r->hash_size - 1);
		r->hash[h] = (unsigned int)i + 1;
	}
}

int
rules_index_of(const struct rules *r, const char *name)
{
	size_t h;

	if (r->hash_size == 0)
		return -1;
	h = name_hash(name) & (r->hash_size - 1);
	while (r->hash[h] != 0) {
		if (strcmp(r->rules[r->hash[h] - 1].name, name) == 0)
			return (int)r->hash[h] - 1;
		h = (h + 1) & (r->hash_size - 1);
	}
	return -1;
}

/* rule(): the rule of that name, created if new */
static struct rule *
rule_get(struct loader *ld, const char *name)
{
	struct rules *r = ld->r;
	int i = rules_index_of(r, name);
	struct rule *ru;

	if (i >= 0)
		return &r->rules[i];
	if (r->nrules >= RULES_MAX)
		return NULL;
	if ((r->nrules & 255) == 0) {
		r->rules = xreallocarray(r->rules, r->nrules + 256, sizeof(struct rule));
		ld->meta_text = xreallocarray(ld->meta_text, r->nrules + 256, sizeof(char *));
	}
	ru = &r->rules[r->nrules];
	memset(ru, 0, sizeof(*ru));
	ld->meta_text[r->nrules] = NULL;
	ru->name = xstrdup(name);
	r->nrules++;
	ld->nmeta = r->nrules;
	if (r->nrules * 2 + 16 > r->hash_size)
		hash_rebuild(r);
	else {
		size_t h = name_hash(name) & (r->hash_size - 1);

		while (r->hash[h] != 0)
			h = (h + 1) & (r->hash_size - 1);
		r->hash[h] = (unsigned int)r->nrules;
	}
	return ru;
}

static void
problem(struct loader *ld, const char *file, unsigned int line, const char *fmt, ...)
	ATTR_PRINTF(4, 5);

static void
problem(struct loader *ld, const char *file, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	ld->st->errors++;
	if (ld->problems == NULL)
		return;
	buf_appendf(ld->problems, "%s:%u: ", file, line);
	va_start(ap, fmt);
	buf_vappendf(ld->problems, fmt, ap);
	va_end(ap);
	buf_append_char(ld->problems, '\n');
}

static void
rule_reset(struct loader *ld, struct rule *ru)
{
	size_t idx = (size_t)(ru - ld->r->rules);

	if (ru->re != NULL)
		pcre2_code_free(ru->re);
	ru->re = NULL;
	free(ru->source);
	free(ru->header);
	free(ru->if_unset);
	free(ru->skip_reason);
	free(ru->file);
	ru->source = ru->header = ru->if_unset = ru->skip_reason = ru->file = NULL;
	ru->has_if_unset = ru->negate = false;
	ru->hspecial = HS_NAMED;
	ru->hmod = HM_DECODED;
	rules_meta_free(ru->meta);
	ru->meta = NULL;
	rules_eval_free(ru);
	free(ld->meta_text[idx]);
	ld->meta_text[idx] = NULL;
}

/* --- regex literals: /re/flags, m{re}flags, m!re!flags ----------------- */

static const char *
parse_regex(const char *s, char **src_r, uint32_t *opts_r, const char **error_r)
{
	char open, close;
	const char *p;
	struct buf b = BUF_INIT;
	int depth;

	if (*s == 'm' && s[1] != '\0' && !isalnum((unsigned char)s[1]) && !isspace((unsigned char)s[1]))
		s++;
	else if (*s != '/') {
		*error_r = "expected a /regex/";
		return NULL;
	}
	open = *s;
	close = open == '{' ? '}' : open == '(' ? ')' : open == '[' ? ']' : open == '<' ? '>' : open;
	/* bracket delimiters nest, as in Perl: m{a.{0,5}b} */
	for (p = s + 1, depth = 0; *p != '\0' && (*p != close || depth > 0); p++) {
		if (*p == '\\' && p[1] != '\0') {
			/* an escaped delimiter is the delimiter itself */
			if (p[1] == close && close == open) {
				buf_append_char(&b, close);
				p++;
				continue;
			}
			buf_append_char(&b, *p++);
		} else if (open != close && *p == open) {
			depth++;
		} else if (open != close && *p == close) {
			depth--;
		}
		buf_append_char(&b, *p);
	}
	if (*p != close) {
		buf_deinit(&b);
		*error_r = "unterminated regex";
		return NULL;
	}
	*opts_r = 0;
	for (p++; *p != '\0' && !isspace((unsigned char)*p); p++) {
		switch (*p) {
		case 'i': *opts_r |= PCRE2_CASELESS; break;
		case 'm': *opts_r |= PCRE2_MULTILINE; break;
		case 's': *opts_r |= PCRE2_DOTALL; break;
		case 'x': *opts_r |= PCRE2_EXTENDED; break;
		case 'g': case 'o': break;
		default:
			buf_deinit(&b);
			*error_r = "unknown regex modifier";
			return NULL;
		}
	}
	*src_r = buf_steal(&b);
	return p;
}

/* --- conditionals ------------------------------------------------------- */

static bool
cond_active(const struct loader *ld)
{
	return ld->nconds == 0 || ld->conds[ld->nconds - 1].active;
}

static bool
plugin_known(const char *name)
{
	size_t i;

	for (i = 0; i < N_ELEMENTS(known_plugins); i++) {
		if (strcmp(name, known_plugins[i]) == 0)
			return true;
	}
	return false;
}

/* eval_if(): "version >= 3.004000", "can(X)", "plugin(X)", "!...", "&&"...
 * The functions are replaced by 1/0 and the rest is a meta expression. */
static bool
eval_if(const char *expr, bool *ok_r)
{
	struct buf e = BUF_INIT;
	const char *p = expr;
	struct meta_node *n;
	const char *error;
	double v = 0;

	while (*p != '\0') {
		if (strncmp(p, "version", 7) == 0 && !isalnum((unsigned char)p[7])) {
			buf_appendf(&e, "%.6f", RULES_SA_VERSION);
			p += 7;
		} else if (strncmp(p, "perl_version", 12) == 0) {
			buf_append_str(&e, "5.036");
			p += 12;
		} else if (strncmp(p, "can(", 4) == 0 || strncmp(p, "plugin(", 7) == 0) {
			bool is_can = p[0] == 'c';
			const char *arg = p + (is_can ? 4 : 7);
			const char *end = strchr(arg, ')');
			char name[256];

			if (end == NULL || (size_t)(end - arg) >= sizeof(name)) {
				*ok_r = false;
				buf_deinit(&e);
				return false;
			}
			memcpy(name, arg, (size_t)(end - arg));
			name[end - arg] = '\0';
			/* can(): the Conf features of SpamAssassin 4.0 exist */
			buf_append_str(&e, (is_can ? strncmp(name, "Mail::SpamAssassin::Conf::", 26) == 0
						   : plugin_known(name))
						   ? "1"
						   : "0");
			p = end + 1;
		} else {
			buf_append_char(&e, *p++);
		}
	}
	n = rules_meta_parse(buf_cstr(&e), &error);
	*ok_r = n != NULL;
	if (n != NULL) {
		unsigned int none = 0;

		/* no rule names may remain */
		if (strpbrk(buf_cstr(&e), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_") != NULL)
			*ok_r = false;
		else
			v = rules_meta_eval(n, &none);
		rules_meta_free(n);
	}
	buf_deinit(&e);
	return v != 0;
}

/* --- one line ------------------------------------------------------------ */

static char *
next_word(char **s)
{
	char *p = *s, *w;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0') {
		*s = p;
		return NULL;
	}
	w = p;
	while (*p != '\0' && !isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	while (isspace((unsigned char)*p))
		p++;
	*s = p;
	return w;
}

static bool
valid_rule_name(const char *n)
{
	size_t i;

	if (!isalpha((unsigned char)n[0]) && n[0] != '_')
		return false;
	for (i = 0; n[i] != '\0'; i++) {
		if (!isalnum((unsigned char)n[i]) && n[i] != '_')
			return false;
	}
	return i <= 100;
}

static void
tag_set(struct tags *t, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].name, name) == 0) {
			free(t->v[i].value);
			t->v[i].value = xstrdup(value);
			return;
		}
	}
	t->v = xreallocarray(t->v, t->n + 1, sizeof(*t->v));
	t->v[t->n].name = xstrdup(name);
	t->v[t->n].value = xstrdup(value);
	t->n++;
}

static const char *
tag_get(const struct tags *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].name, name) == 0)
			return t->v[i].value;
	}
	return NULL;
}

static void
tags_free(struct tags *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].value);
	}
	free(t->v);
}

static void
define_regex_rule(struct loader *ld, enum rule_type type, const char *name, char *rest,
		  const char *file, unsigned int line)
{
	struct rule *ru;
	const char *error = NULL;
	const char *after;

	if (!valid_rule_name(name)) {
		problem(ld, file, line, "bad rule name \"%s\"", name);
		return;
	}
	ru = rule_get(ld, name);
	if (ru == NULL) {
		problem(ld, file, line, "too many rules");
		return;
	}
	rule_reset(ld, ru);
	ru->defined = true;
	ru->type = type;
	ru->file = xstrdup(file);
	ru->line = line;
	ru->supported = false;
	if (strncmp(rest, "eval:", 5) == 0) {
		if (rules_eval_parse(ru, rest + 5) == 0) {
			ru->type = RT_EVAL;
			ru->supported = true;
			return;
		}
		ru->skip_reason = xstrdup("eval test");
		return;
	}
	if (type == RT_HEADER || type == RT_MIMEHEADER) {
		char *spec = next_word(&rest);
		char *op;
		char *colon;

		if (spec == NULL) {
			ru->skip_reason = xstrdup("empty rule");
			problem(ld, file, line, "%s: empty rule", name);
			return;
		}
		if (type == RT_HEADER && strncmp(spec, "exists:", 7) == 0) {
			const char *h = spec + 7;

			ru->type = RT_EXISTS;
			if (strcmp(h, "ToCc") == 0)
				ru->hspecial = HS_TOCC;
			else if (strcmp(h, "MESSAGEID") == 0)
				ru->hspecial = HS_MESSAGEID;
			else if (strcmp(h, "EnvelopeFrom") == 0)
				ru->hspecial = HS_ENVFROM;
			ru->header = xstrdup(h);
			ru->supported = true;
			return;
		}
		op = next_word(&rest);
		if (op == NULL || (strcmp(op, "=~") != 0 && strcmp(op, "!~") != 0)) {
			ru->skip_reason = xstrdup("expected =~ or !~");
			problem(ld, file, line, "%s: expected =~ or !~", name);
			return;
		}
		ru->negate = op[0] == '!';
		colon = strchr(spec, ':');
		if (colon != NULL) {
			*colon++ = '\0';
			if (strcmp(colon, "raw") == 0)
				ru->hmod = HM_RAW;
			else if (strcmp(colon, "addr") == 0)
				ru->hmod = HM_ADDR;
			else if (strcmp(colon, "name") == 0)
				ru->hmod = HM_NAME;
			else {
				ru->skip_reason = xstrdup("unsupported header modifier");
				return;
			}
		}
		if (strcmp(spec, "ALL") == 0)
			ru->hspecial = HS_ALL;
		else if (strcmp(spec, "ToCc") == 0)
			ru->hspecial = HS_TOCC;
		else if (strcmp(spec, "EnvelopeFrom") == 0)
			ru->hspecial = HS_ENVFROM;
		else if (strcmp(spec, "MESSAGEID") == 0)
			ru->hspecial = HS_MESSAGEID;
		else if (strncmp(spec, "ALL-", 4) == 0 || strncmp(spec, "X-Spam-Relays-", 14) == 0 ||
			 strcmp(spec, "X-Spam-Status") == 0) {
			/* relay-trust and SpamAssassin's own pseudo headers */
			ru->skip_reason = xstrdup("pseudo header");
			return;
		}
		ru->header = xstrdup(spec);
	}
	after = parse_regex(rest, &ru->source, &ru->pcre_opts, &error);
	if (after == NULL) {
		ru->skip_reason = xstrdup(error);
		problem(ld, file, line, "%s: %s", name, error);
		return;
	}
	while (isspace((unsigned char)*after))
		after++;
	if (strncmp(after, "[if-unset:", 10) == 0) {
		const char *v = after + 10;
		const char *end = strrchr(v, ']');

		while (*v == ' ')
			v++;
		if (end != NULL && end >= v) {
			ru->if_unset = xstrndup(v, (size_t)(end - v));
			ru->has_if_unset = true;
		}
	}
	if (strstr(ru->source, "%{") != NULL) {
		/* capture rules (tflags capture / %{RULE}) */
		ru->skip_reason = xstrdup("capture rule");
		return;
	}
	ru->supported = true;
}

static void
set_score(struct loader *ld, char *rest, const char *file, unsigned int line)
{
	char *name = next_word(&rest);
	struct rule *ru;
	double v[4];
	int n = 0;
	char *w;

	if (name == NULL || !valid_rule_name(name)) {
		problem(ld, file, line, "score: bad rule name");
		return;
	}
	while (n < 4 && (w = next_word(&rest)) != NULL) {
		char *end;

		/* "(1.2)" is allowed */
		if (*w == '(')
			w++;
		v[n] = strtod(w, &end);
		if (end == w) {
			problem(ld, file, line, "score %s: bad number", name);
			return;
		}
		n++;
	}
	if (n == 0) {
		problem(ld, file, line, "score %s: no score", name);
		return;
	}
	ru = rule_get(ld, name);
	if (ru == NULL)
		return;
	ru->score_set = true;
	if (n == 1)
		ru->score[0] = ru->score[1] = ru->score[2] = ru->score[3] = v[0];
	else {
		int i;

		for (i = 0; i < 4; i++)
			ru->score[i] = v[i < n ? i : n - 1];
	}
}

static void
set_tflags(struct rule *ru, char *rest)
{
	char *w;

	ru->tflags = 0;
	ru->maxhits = 0;
	while ((w = next_word(&rest)) != NULL) {
		if (strcmp(w, "multiple") == 0)
			ru->tflags |= RULE_TF_MULTIPLE;
		else if (strcmp(w, "nice") == 0)
			ru->tflags |= RULE_TF_NICE;
		else if (strcmp(w, "noautolearn") == 0)
			ru->tflags |= RULE_TF_NOAUTOLEARN;
		else if (strcmp(w, "net") == 0)
			ru->tflags |= RULE_TF_NET;
		else if (strcmp(w, "learn") == 0)
			ru->tflags |= RULE_TF_LEARN;
		else if (strncmp(w, "maxhits=", 8) == 0)
			ru->maxhits = (unsigned int)strtoul(w + 8, NULL, 10);
		/* userconf, publish, domains_only, a, autolearn_force, ... : no
		 * effect on matching */
	}
}

static int load_path(struct loader *ld, const char *path, unsigned int depth, char **error_r);

static void
do_line(struct loader *ld, char *line, const char *file, unsigned int lineno, unsigned int depth)
{
	char *rest = line;
	char *kw = next_word(&rest);
	bool active = cond_active(ld);

	if (kw == NULL)
		return;
	/* conditionals are tracked even inside branches not taken */
	if (strcmp(kw, "ifplugin") == 0 || strcmp(kw, "if") == 0) {
		struct cond c;
		bool ok = true, v;

		if (ld->nconds == N_ELEMENTS(ld->conds)) {
			problem(ld, file, lineno, "conditionals nested too deeply");
			return;
		}
		v = kw[2] == 'p' ? plugin_known(rest) : eval_if(rest, &ok);
		if (!ok) {
			problem(ld, file, lineno, "cannot evaluate \"if %s\": branch not taken", rest);
			v = false;
		}
		c.parent = active;
		c.active = active && v;
		ld->conds[ld->nconds++] = c;
		return;
	}
	if (strcmp(kw, "else") == 0) {
		struct cond *c;

		if (ld->nconds == 0) {
			problem(ld, file, lineno, "else without if");
			return;
		}
		c = &ld->conds[ld->nconds - 1];
		c->active = c->parent && !c->active;
		return;
	}
	if (strcmp(kw, "endif") == 0) {
		if (ld->nconds == 0)
			problem(ld, file, lineno, "endif without if");
		else
			ld->nconds--;
		return;
	}
	if (!active) {
		if (strcmp(kw, "header") == 0 || strcmp(kw, "body") == 0 ||
		    strcmp(kw, "rawbody") == 0 || strcmp(kw, "full") == 0 ||
		    strcmp(kw, "uri") == 0 || strcmp(kw, "mimeheader") == 0 ||
		    strcmp(kw, "meta") == 0)
			ld->st->skipped_branch++;
		return;
	}

	if (strcmp(kw, "header") == 0 || strcmp(kw, "body") == 0 ||
	    strcmp(kw, "rawbody") == 0 || strcmp(kw, "full") == 0 || strcmp(kw, "uri") == 0 ||
	    strcmp(kw, "mimeheader") == 0) {
		char *name = next_word(&rest);
		enum rule_type t = kw[0] == 'h' ? RT_HEADER
				   : kw[0] == 'b' ? RT_BODY
				   : kw[0] == 'r' ? RT_RAWBODY
				   : kw[0] == 'f' ? RT_FULL
				   : kw[0] == 'u' ? RT_URI
						  : RT_MIMEHEADER;

		if (name == NULL) {
			problem(ld, file, lineno, "%s: no rule name", kw);
			return;
		}
		define_regex_rule(ld, t, name, rest, file, lineno);
		return;
	}
	if (strcmp(kw, "meta") == 0) {
		char *name = next_word(&rest);
		struct rule *ru;

		if (name == NULL || !valid_rule_name(name)) {
			problem(ld, file, lineno, "meta: bad rule name");
			return;
		}
		ru = rule_get(ld, name);
		if (ru == NULL)
			return;
		rule_reset(ld, ru);
		ru->defined = true;
		ru->type = RT_META;
		ru->file = xstrdup(file);
		ru->line = lineno;
		ld->meta_text[ru - ld->r->rules] = xstrdup(rest);
		return;
	}
	if (strcmp(kw, "score") == 0) {
		set_score(ld, rest, file, lineno);
		return;
	}
	if (strcmp(kw, "describe") == 0 || strcmp(kw, "tflags") == 0 ||
	    strcmp(kw, "priority") == 0) {
		char *name = next_word(&rest);
		struct rule *ru;

		if (name == NULL || !valid_rule_name(name)) {
			problem(ld, file, lineno, "%s: bad rule name", kw);
			return;
		}
		ru = rule_get(ld, name);
		if (ru == NULL)
			return;
		if (kw[0] == 'd') {
			free(ru->describe);
			ru->describe = xstrdup(rest);
		} else if (kw[0] == 't') {
			set_tflags(ru, rest);
		} else {
			ru->priority = atoi(rest);
		}
		return;
	}
	if (strcmp(kw, "include") == 0) {
		struct buf path = BUF_INIT;
		char *error = NULL;
		const char *slash = strrchr(file, '/');

		if (depth >= RULES_INCLUDE_DEPTH) {
			problem(ld, file, lineno, "include nested too deeply");
			return;
		}
		if (rest[0] != '/' && slash != NULL)
			buf_append(&path, file, (size_t)(slash - file) + 1);
		buf_append_str(&path, rest);
		if (load_path(ld, buf_cstr(&path), depth + 1, &error) < 0) {
			problem(ld, file, lineno, "include: %s", error);
			free(error);
		}
		buf_deinit(&path);
		return;
	}
	if (strncmp(kw, "replace_", 8) == 0) {
		const char *what = kw + 8;
		char *name = next_word(&rest);

		if (name == NULL) {
			problem(ld, file, lineno, "%s: missing argument", kw);
			return;
		}
		if (strcmp(what, "tag") == 0)
			tag_set(&ld->tags, name, rest);
		else if (strcmp(what, "pre") == 0)
			tag_set(&ld->pre, name, rest);
		else if (strcmp(what, "inter") == 0)
			tag_set(&ld->inter, name, rest);
		else if (strcmp(what, "post") == 0)
			tag_set(&ld->post, name, rest);
		else if (strcmp(what, "start") == 0) {
			free(ld->tag_start);
			ld->tag_start = xstrdup(name);
		} else if (strcmp(what, "end") == 0) {
			free(ld->tag_end);
			ld->tag_end = xstrdup(name);
		} else if (strcmp(what, "rules") == 0) {
			char *n = name;

			do {
				struct rule *ru = rule_get(ld, n);

				if (ru != NULL)
					ru->replace = true;
			} while ((n = next_word(&rest)) != NULL);
		} else
			ld->st->directives_ignored++;
		return;
	}
	/* lang, loadplugin, report, required_score, add_header, test, reuse,
	 * freemail_domains, util_rb_tld, ...: nothing to run */
	ld->st->directives_ignored++;
}

/* strip_comment(): SpamAssassin's "s/(?<!\\)#.*$//; s/\\#/#/g" */
static void
strip_comment(char *line)
{
	char *r = line, *w = line;

	for (; *r != '\0'; r++) {
		if (*r == '#' && (r == line || r[-1] != '\\'))
			break;
		*w++ = *r;
	}
	*w = '\0';
	for (r = w = line; *r != '\0'; r++) {
		if (*r == '\\' && r[1] == '#')
			continue;
		*w++ = *r;
	}
	*w = '\0';
}

static int
load_file(struct loader *ld, const char *path, unsigned int depth, char **error_r)
{
	FILE *f = fopen(path, "r");
	struct buf line = BUF_INIT;
	size_t saved_conds;
	unsigned int lineno = 0;
	int c;

	if (f == NULL) {
		struct buf b = BUF_INIT;

		buf_appendf(&b, "%s: %s", path, strerror(errno));
		*error_r = buf_steal(&b);
		return -1;
	}
	ld->st->files++;
	saved_conds = ld->nconds;
	for (;;) {
		c = getc(f);
		if (c != EOF && c != '\n') {
			if (line.len < RULES_LINE_MAX)
				buf_append_char(&line, (char)c);
			continue;
		}
		if (c == EOF && line.len == 0)
			break;
		lineno++;
		if (line.len > 0 && line.data[line.len - 1] == '\r')
			buf_truncate(&line, line.len - 1);
		if (line.len >= RULES_LINE_MAX) {
			problem(ld, path, lineno, "line too long");
		} else if (line.len > 0) {
			strip_comment(line.data);
			do_line(ld, line.data, path, lineno, depth);
		}
		buf_reset(&line);
		if (c == EOF)
			break;
	}
	if (ld->nconds != saved_conds) {
		problem(ld, path, lineno, "%zu unclosed if/ifplugin", ld->nconds - saved_conds);
		ld->nconds = saved_conds;
	}
	buf_deinit(&line);
	fclose(f);
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
load_path(struct loader *ld, const char *path, unsigned int depth, char **error_r)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;
	int ret = 0;

	if (stat(path, &st) < 0) {
		struct buf b = BUF_INIT;

		buf_appendf(&b, "%s: %s", path, strerror(errno));
		*error_r = buf_steal(&b);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return load_file(ld, path, depth, error_r);
	d = opendir(path);
	if (d == NULL) {
		struct buf b = BUF_INIT;

		buf_appendf(&b, "%s: %s", path, strerror(errno));
		*error_r = buf_steal(&b);
		return -1;
	}
	/* every *.cf, in name order, as SpamAssassin reads its directories */
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len > 3 && strcmp(e->d_name + len - 3, ".cf") == 0) {
			names = xreallocarray(names, n + 1, sizeof(char *));
			names[n++] = xstrdup(e->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_str);
	for (i = 0; i < n; i++) {
		struct buf p = BUF_INIT;

		buf_appendf(&p, "%s/%s", path, names[i]);
		if (ret == 0 && load_file(ld, buf_cstr(&p), depth, error_r) < 0)
			ret = -1;
		buf_deinit(&p);
		free(names[i]);
	}
	free(names);
	return ret;
}

/* --- finishing: ReplaceTags, compile, metas, order ------------------------ */

static void
apply_replace_tags(struct loader *ld, struct rule *ru)
{
	const char *start = ld->tag_start != NULL ? ld->tag_start : "<";
	const char *end = ld->tag_end != NULL ? ld->tag_end : ">";
	size_t slen = strlen(start), elen = strlen(end);
	const char *pre = "", *inter = "", *post = "";
	struct buf out = BUF_INIT;
	const char *p = ru->source;
	bool prev_tag = false;

	while (*p != '\0') {
		const char *close;
		char name[64];
		size_t nlen;

		if (strncmp(p, start, slen) != 0 || (close = strstr(p + slen, end)) == NULL ||
		    (nlen = (size_t)(close - p - slen)) == 0 || nlen >= sizeof(name)) {
			buf_append_char(&out, *p++);
			prev_tag = false;
			continue;
		}
		memcpy(name, p + slen, nlen);
		name[nlen] = '\0';
		if (strncmp(name, "pre ", 4) == 0 || strncmp(name, "inter ", 6) == 0 ||
		    strncmp(name, "post ", 5) == 0) {
			const char *tn = strchr(name, ' ') + 1;
			const char *v = tag_get(name[1] == 'r' ? &ld->pre
						: name[0] == 'i' ? &ld->inter
								 : &ld->post,
						tn);

			if (name[0] == 'p' && name[1] == 'r')
				pre = v != NULL ? v : "";
			else if (name[0] == 'i')
				inter = v != NULL ? v : "";
			else
				post = v != NULL ? v : "";
			p = close + elen;
			continue;
		}
		{
			const char *v = tag_get(&ld->tags, name);

			if (v == NULL) {
				buf_append_char(&out, *p++);
				prev_tag = false;
				continue;
			}
			if (prev_tag)
				buf_append_str(&out, inter);
			buf_append_str(&out, pre);
			buf_append_str(&out, v);
			buf_append_str(&out, post);
			prev_tag = true;
			p = close + elen;
		}
	}
	free(ru->source);
	ru->source = buf_steal(&out);
}

static void
compile_rule(struct loader *ld, struct rule *ru)
{
	int errcode;
	PCRE2_SIZE erroff;
	char msg[160];

	ru->re = pcre2_compile((PCRE2_SPTR)ru->source, PCRE2_ZERO_TERMINATED, ru->pcre_opts,
			       &errcode, &erroff, NULL);
	if (ru->re == NULL) {
		pcre2_get_error_message(errcode, (PCRE2_UCHAR *)msg, sizeof(msg));
		problem(ld, ru->file, ru->line, "%s: regex: %s at offset %zu", ru->name, msg,
			(size_t)erroff);
		ru->supported = false;
		free(ru->skip_reason);
		ru->skip_reason = xstrdup("regex not accepted by PCRE2");
		ld->st->skipped_regex++;
		return;
	}
	/* no JIT (e.g. a locked-down kernel): PCRE2 interprets, slower */
	(void)pcre2_jit_compile(ru->re, PCRE2_JIT_COMPLETE);
}

static unsigned int
lookup_or_create(struct rules *r, const char *name)
{
	int i = rules_index_of(r, name);

	if (i >= 0)
		return (unsigned int)i;
	/* an unknown rule in a meta never hits (SpamAssassin: 0) */
	r->rules = xreallocarray(r->rules, r->nrules + 1, sizeof(struct rule));
	memset(&r->rules[r->nrules], 0, sizeof(struct rule));
	r->rules[r->nrules].name = xstrdup(name);
	r->rules[r->nrules].skip_reason = xstrdup("not defined");
	r->nrules++;
	hash_rebuild(r);
	return (unsigned int)r->nrules - 1;
}

struct order_ctx {
	struct rules *r;
	unsigned char *mark; /* 0 new, 1 on stack, 2 done */
	bool cycle;
};

static void mark_needed(void *ctx, unsigned int i);

static void
mark_needed(void *ctx, unsigned int i)
{
	struct rules *r = ctx;
	struct rule *ru = &r->rules[i];

	if (ru->needed || ru->disabled)
		return;
	ru->needed = true;
	if (ru->type == RT_META && ru->meta != NULL)
		rules_meta_deps(ru->meta, mark_needed, r);
}

static void visit_meta(struct order_ctx *oc, unsigned int i);

static void
visit_dep(void *ctx, unsigned int i)
{
	visit_meta(ctx, i);
}

static void
visit_meta(struct order_ctx *oc, unsigned int i)
{
	struct rule *ru = &oc->r->rules[i];

	if (ru->type != RT_META || !ru->supported)
		return;
	if (oc->mark[i] == 2)
		return;
	if (oc->mark[i] == 1) {
		oc->cycle = true;
		return;
	}
	oc->mark[i] = 1;
	rules_meta_deps(ru->meta, visit_dep, oc);
	oc->mark[i] = 2;
	oc->r->order[oc->r->norder++] = i;
}

struct partial_ctx {
	const struct rules *r;
	bool partial;
};

static void
check_dep(void *ctx, unsigned int i)
{
	struct partial_ctx *pc = ctx;
	const struct rule *ru = &pc->r->rules[i];

	if (!ru->supported || ru->partial)
		pc->partial = true;
}

static int
by_priority(const void *a, const void *b, void *ctx)
{
	const struct rules *r = ctx;
	const struct rule *x = &r->rules[*(const unsigned int *)a];
	const struct rule *y = &r->rules[*(const unsigned int *)b];

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return (*(const unsigned int *)a > *(const unsigned int *)b) -
	       (*(const unsigned int *)a < *(const unsigned int *)b);
}

static void
finish(struct loader *ld)
{
	struct rules *r = ld->r;
	struct order_ctx oc;
	size_t i, n0, pass;

	/* GTUBE is built in unless the rules define it */
	if (ld->opt->gtube && rules_index_of(r, "GTUBE") < 0) {
		struct rule *ru = rule_get(ld, "GTUBE");

		if (ru != NULL) {
			ru->defined = ru->supported = true;
			ru->type = RT_GTUBE;
			ru->score_set = true;
			ru->score[0] = ru->score[1] = ru->score[2] = ru->score[3] = 1000;
			ru->describe = xstrdup("Generic Test for Unsolicited Bulk Email");
			ru->file = xstrdup("(built in)");
		}
	}
	n0 = r->nrules;
	for (i = 0; i < n0; i++) {
		struct rule *ru = &r->rules[i];

		if (!ru->defined)
			continue;
		ld->st->rules++;
		if (ru->type == RT_META) {
			const char *error = NULL;

			ru->meta = rules_meta_parse(ld->meta_text[i] != NULL ? ld->meta_text[i] : "",
						    &error);
			if (ru->meta == NULL) {
				problem(ld, ru->file, ru->line, "meta %s: %s", ru->name, error);
				ru->skip_reason = xstrdup("meta not parsed");
				ld->st->skipped_meta++;
			} else {
				ru->supported = true;
			}
			continue;
		}
		if (!ru->supported) {
			if (ru->skip_reason != NULL && strcmp(ru->skip_reason, "eval test") == 0)
				ld->st->skipped_eval++;
			else if (ru->skip_reason != NULL &&
				 strstr(ru->skip_reason, "regex") == NULL)
				ld->st->skipped_type++;
			continue;
		}
		if (ru->source != NULL) {
			if (ru->replace) {
				/* tag values may hold tags themselves (<ANDOR>,
				 * <NUMBER>): expand until nothing changes */
				int round;

				for (round = 0; round < 8; round++) {
					char *before = xstrdup(ru->source);
					bool same;

					apply_replace_tags(ld, ru);
					same = strcmp(before, ru->source) == 0;
					free(before);
					if (same)
						break;
				}
			}
			compile_rule(ld, ru);
		}
	}
	/* metas: resolve names (may add undefined rules), then which are
	 * partial; fixed point for metas of metas */
	for (i = 0; i < n0; i++) {
		if (r->rules[i].type == RT_META && r->rules[i].meta != NULL)
			rules_meta_resolve(r, r->rules[i].meta, lookup_or_create);
	}
	for (pass = 0; pass < 16; pass++) {
		bool changed = false;

		for (i = 0; i < r->nrules; i++) {
			struct rule *ru = &r->rules[i];
			struct partial_ctx pc = { r, false };

			if (ru->type != RT_META || !ru->supported || ru->partial)
				continue;
			rules_meta_deps(ru->meta, check_dep, &pc);
			if (pc.partial) {
				ru->partial = true;
				changed = true;
			}
		}
		if (!changed)
			break;
	}
	/* what is reported and what must run */
	for (i = 0; i < r->nrules; i++) {
		struct rule *ru = &r->rules[i];
		double s;

		if (!ru->score_set) {
			s = strncmp(ru->name, "T_", 2) == 0 ? 0.01 : 1.0;
			ru->score[0] = ru->score[1] = ru->score[2] = ru->score[3] = s;
		}
		s = ru->score[r->score_set];
		/* network tests do not run (no DNS from the scanner) */
		ru->reported = ru->defined && ru->supported && strncmp(ru->name, "__", 2) != 0 &&
			       s != 0 && !(ru->tflags & RULE_TF_NET);
		/* as in SpamAssassin, a rule scored 0 is off: it does not run,
		 * and metas that use it see 0 */
		ru->disabled = strncmp(ru->name, "__", 2) != 0 && (s == 0 || (ru->tflags & RULE_TF_NET));
	}
	for (i = 0; i < r->nrules; i++) {
		if (r->rules[i].reported)
			mark_needed(r, (unsigned int)i);
	}
	/* order: regex rules by priority, then metas deepest first */
	r->order = xcalloc(r->nrules + 1, sizeof(unsigned int));
	for (i = 0; i < r->nrules; i++) {
		struct rule *ru = &r->rules[i];

		if (ru->needed && ru->supported && ru->type != RT_META)
			r->order[r->norder++] = (unsigned int)i;
	}
	qsort_r(r->order, r->norder, sizeof(unsigned int), by_priority, r);
	oc.r = r;
	oc.mark = xcalloc(r->nrules + 1, 1);
	oc.cycle = false;
	for (i = 0; i < r->nrules; i++) {
		if (r->rules[i].needed)
			visit_meta(&oc, (unsigned int)i);
	}
	if (oc.cycle)
		problem(ld, "(metas)", 0, "meta rules refer to each other in a cycle");
	free(oc.mark);
	for (i = 0; i < r->nrules; i++) {
		struct rule *ru = &r->rules[i];

		if (ru->defined && ru->supported) {
			ld->st->supported++;
			if (ru->partial)
				ld->st->meta_partial++;
		}
	}
}

int
rules_load(const struct rules_options *opt, struct rules **rules_r, struct rules_stats *stats_r,
	   struct buf *problems, char **error_r)
{
	struct loader ld;
	struct rules *r = xcalloc(1, sizeof(*r));
	size_t i;
	int ret = 0;

	memset(stats_r, 0, sizeof(*stats_r));
	memset(&ld, 0, sizeof(ld));
	ld.r = r;
	ld.st = stats_r;
	ld.problems = problems;
	ld.opt = opt;
	r->score_set = opt->bayes ? 2 : 0;
	r->match_limit = opt->match_limit;
	r->depth_limit = opt->depth_limit;
	r->budget_us = opt->budget_us;
	hash_rebuild(r);
	for (i = 0; i < opt->npaths && ret == 0; i++)
		ret = load_path(&ld, opt->paths[i], 0, error_r);
	if (ret == 0) {
		finish(&ld);
		if (opt->prefilter) {
			rules_prefilter_build(r);
			stats_r->prefiltered = r->prefiltered;
		}
	}
	for (i = 0; i < ld.nmeta; i++)
		free(ld.meta_text[i]);
	free(ld.meta_text);
	tags_free(&ld.tags);
	tags_free(&ld.pre);
	tags_free(&ld.inter);
	tags_free(&ld.post);
	free(ld.tag_start);
	free(ld.tag_end);
	if (ret < 0) {
		rules_free(&r);
		return -1;
	}
	r->mctx_proto = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(r->mctx_proto, r->match_limit);
	pcre2_set_depth_limit(r->mctx_proto, r->depth_limit);
	*rules_r = r;
	return 0;
}

void
rules_free(struct rules **rp)
{
	struct rules *r = *rp;
	size_t i;

	if (r == NULL)
		return;
	*rp = NULL;
	for (i = 0; i < r->nrules; i++) {
		struct rule *ru = &r->rules[i];

		if (ru->re != NULL)
			pcre2_code_free(ru->re);
		free(ru->name);
		free(ru->source);
		free(ru->header);
		free(ru->if_unset);
		free(ru->skip_reason);
		free(ru->file);
		free(ru->describe);
		rules_meta_free(ru->meta);
		rules_eval_free(ru);
	}
	if (r->mctx_proto != NULL)
		pcre2_match_context_free(r->mctx_proto);
	rules_prefilter_free(r->prefilter);
	free(r->rules);
	free(r->order);
	free(r->hash);
	free(r);
}

const char *
rules_describe(const struct rules *r, const char *name)
{
	int i = rules_index_of(r, name);

	return i >= 0 ? r->rules[i].describe : NULL;
}

size_t
rules_count(const struct rules *r)
{
	return r->norder;
}

void
rules_list(const struct rules *r, struct buf *out)
{
	size_t i;

	for (i = 0; i < r->nrules; i++) {
		const struct rule *ru = &r->rules[i];
		const char *status;

		if (!ru->defined)
			continue;
		if (!ru->supported)
			status = "skipped";
		else if (ru->disabled)
			status = "off";
		else if (ru->partial)
			status = "partial";
		else if (ru->reported)
			status = "run";
		else
			status = "sub";
		buf_appendf(out, "%s\t%s\t%g\t%s:%u\t%s\n", ru->name, status,
			    ru->score[r->score_set], ru->file != NULL ? ru->file : "", ru->line,
			    ru->skip_reason != NULL ? ru->skip_reason : "");
	}
}
