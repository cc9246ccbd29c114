/*
 * rules_prefilter.c - skip the regexes that cannot match.
 *
 * Most body, rawbody and full rules need a literal string that every
 * match contains: /\bfree (?:money|cash)\b/i cannot match a text that
 * lacks "free ". At load time each such rule gets its longest required
 * literal (rules_required_literal, conservative: anything it does not
 * understand gives no literal, and the rule always runs). Per message,
 * one pass over each text (the body paragraphs, the rawbody lines, the
 * raw message) finds which literals occur, case-insensitively; a rule
 * whose literal is absent is not run, which is the same as its regex not
 * matching. This is what rspamd does with Hyperscan, on a small scale:
 * one table lookup per byte instead of one regex per rule.
 */
#include "plugins/rules/rules_private.h"
#include "core/xalloc.h"

#include <ctype.h>

/* literals shorter than this are not worth it (and the table keys on it) */
#define LIT_MIN 4
#define LIT_MAX PF_LIT_MAX
#define HASH_BITS 12
#define HASH_SIZE (1u << HASH_BITS)

struct prefilter_lit {
	char *text;           /* lowercase */
	size_t len;
	unsigned int kinds;   /* PF_KIND_* bits of the rules that use it */
};

struct prefilter {
	struct prefilter_lit *lits;
	size_t nlits;
	/* literals by the hash of their first LIT_MIN bytes, CSR layout */
	uint32_t start[HASH_SIZE + 1];
	uint32_t *entries;
	uint8_t bitmap[HASH_SIZE / 8];
};

static inline uint32_t
key_hash(const unsigned char *p)
{
	uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		     (uint32_t)p[3] << 24;

	return (k * 2654435761u) >> (32 - HASH_BITS);
}

/* --- the literals a regex requires ------------------------------------ */

/* One of these is in every match: a single literal ("free money"), or
 * one per alternative of a required group (\b(?:codicil|probate)\b). */
struct litset {
	size_t n;
	size_t len[PF_SET_MAX];
	char s[PF_SET_MAX][LIT_MAX];
};

/* how good a set is: its shortest literal (longer = rarer), fewer wins */
static bool
set_better(const struct litset *a, const struct litset *b)
{
	size_t amin = SIZE_MAX, bmin = SIZE_MAX, i;

	if (b->n == 0)
		return a->n > 0;
	if (a->n == 0)
		return false;
	for (i = 0; i < a->n; i++)
		amin = MIN(amin, a->len[i]);
	for (i = 0; i < b->n; i++)
		bmin = MIN(bmin, b->len[i]);
	if (MIN(amin, 12) != MIN(bmin, 12))
		return MIN(amin, 12) > MIN(bmin, 12);
	return a->n < b->n;
}

struct lit_scan {
	char run[LIT_MAX];
	size_t len;
	struct litset best;
};

static void
run_break(struct lit_scan *ls)
{
	if (ls->len >= LIT_MIN) {
		struct litset one;

		one.n = 1;
		one.len[0] = ls->len;
		memcpy(one.s[0], ls->run, ls->len);
		if (set_better(&one, &ls->best))
			ls->best = one;
	}
	ls->len = 0;
}

static void
run_add(struct lit_scan *ls, char c)
{
	if (ls->len == LIT_MAX)
		run_break(ls);
	ls->run[ls->len++] = (char)tolower((unsigned char)c);
}

/* the end of a character class starting at p ('['), or NULL */
static const char *
class_end(const char *p, const char *end)
{
	p++;
	if (p < end && *p == '^')
		p++;
	if (p < end && *p == ']')
		p++; /* a leading ] is a member */
	for (; p < end; p++) {
		if (*p == '\\') {
			if (p + 1 >= end)
				return NULL;
			p++;
		} else if (*p == '[' && p + 1 < end && p[1] == ':') {
			const char *e = memmem(p + 2, (size_t)(end - p - 2), ":]", 2);

			if (e == NULL)
				return NULL;
			p = e + 1;
		} else if (*p == ']') {
			return p;
		}
	}
	return NULL;
}

/* the ) that closes the group starting at p ('('), or NULL */
static const char *
group_end(const char *p, const char *end)
{
	int depth = 0;

	if (p + 2 < end && p[1] == '?' && p[2] == '#')
		return memchr(p, ')', (size_t)(end - p)); /* a comment */
	for (; p < end; p++) {
		if (*p == '\\') {
			if (p + 1 >= end)
				return NULL;
			p++;
		} else if (*p == '[') {
			p = class_end(p, end);
			if (p == NULL)
				return NULL;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			if (--depth == 0)
				return p;
		}
	}
	return NULL;
}

/* a {n}, {n,} or {n,m} quantifier at p: its length, and its minimum */
static size_t
brace_quantifier(const char *p, const char *end, unsigned long *min_r)
{
	const char *q = p + 1;
	unsigned long min = 0;

	if (q >= end || !isdigit((unsigned char)*q))
		return 0;
	for (; q < end && isdigit((unsigned char)*q); q++)
		min = min < 100000 ? min * 10 + (unsigned long)(*q - '0') : min;
	if (q < end && *q == ',') {
		for (q++; q < end && isdigit((unsigned char)*q); q++)
			;
	}
	if (q >= end || *q != '}')
		return 0;
	*min_r = min;
	return (size_t)(q - p) + 1;
}

static bool extract(const char *p, const char *end, int depth, struct litset *out);

/* what a group consumes: the start of its content, or NULL for groups
 * that consume nothing (lookarounds, option settings) or that this does
 * not understand (conditionals, recursion, verbs) */
static const char *
group_content(const char *p, const char *close)
{
	if (p[1] != '?')
		return p[1] == '*' ? NULL : p + 1; /* (...) capturing; (*VERB) */
	switch (p[2]) {
	case ':':
	case '>':
	case '|':
		return p + 3;
	case '<':
		if (p[3] == '=' || p[3] == '!')
			return NULL; /* lookbehind */
		/* FALLTHROUGH */
	case '\'':
	case 'P': {
		/* (?<name>...), (?'name'...), (?P<name>...); (?P=name) and
		 * (?P>name) are references */
		const char *q = p + 3;

		if (p[2] == 'P') {
			if (p[3] != '<')
				return NULL;
			q++;
		}
		while (q < close && (isalnum((unsigned char)*q) || *q == '_'))
			q++;
		return q < close && (*q == '>' || *q == '\'') ? q + 1 : NULL;
	}
	default: {
		/* (?i:...) (?-i:...) (?^:...): options for the content; (?i)
		 * alone sets them for what follows */
		const char *q = p + 2;

		while (q < close && (isalpha((unsigned char)*q) || *q == '-' || *q == '^')) {
			if (*q == 'x' || *q == 'n')
				return NULL;
			q++;
		}
		return q < close && *q == ':' ? q + 1 : NULL;
	}
	}
}

/* a sequence without top-level alternatives */
static bool
extract_seq(const char *p, const char *end, int depth, struct litset *out)
{
	struct lit_scan ls;

	memset(&ls, 0, sizeof(ls));
	while (p < end) {
		bool is_lit = false;
		char lit = 0;
		const char *next;
		const char *inner = NULL, *close = NULL;

		switch (*p) {
		case '(':
			close = group_end(p, end);
			if (close == NULL)
				return false;
			if (p[1] == '?' && p[2] != ':' && p[2] != '>' && p[2] != '|' &&
			    p[2] != '<' && p[2] != '\'' && p[2] != 'P' && p[2] != '=' &&
			    p[2] != '!' && p[2] != '#') {
				/* an option setting: extended mode changes what
				 * every following character means */
				const char *q;

				for (q = p + 2; q < close && *q != ':'; q++) {
					if (*q == '-')
						break;
					if (*q == 'x')
						return false;
				}
			}
			inner = group_content(p, close);
			next = close + 1;
			run_break(&ls);
			break;
		case '[':
			next = class_end(p, end);
			if (next == NULL)
				return false;
			next++;
			run_break(&ls);
			break;
		case '.':
		case '^':
		case '$':
			next = p + 1;
			run_break(&ls);
			break;
		case ')':
		case '*':
		case '+':
		case '?':
		case '|':
			return false; /* not where a well-formed regex has them */
		case '\\':
			if (p + 1 >= end)
				return false;
			if (isalnum((unsigned char)p[1])) {
				/* zero-width or one-character escapes; everything
				 * with arguments (\x \p \c \o \g \k \N, digits) or
				 * that changes the parse (\Q \E) gives up */
				if (strchr("bBAzZGKdDwWsShHvVRntrfea", p[1]) == NULL)
					return false;
				next = p + 2;
				run_break(&ls);
				break;
			}
			is_lit = true;
			lit = p[1];
			next = p + 2;
			break;
		default:
			is_lit = true;
			lit = *p;
			next = p + 1;
			break;
		}
		/* a quantifier after the atom */
		{
			unsigned long min = 1;
			size_t qlen = 0;

			if (next < end && (*next == '?' || *next == '*')) {
				min = 0;
				qlen = 1;
			} else if (next < end && *next == '+') {
				qlen = 1;
			} else if (next < end && *next == '{') {
				qlen = brace_quantifier(next, end, &min);
			}
			if (qlen > 0) {
				next += qlen;
				if (next < end && (*next == '?' || *next == '+'))
					next++; /* lazy, possessive */
				if (is_lit && min > 0)
					run_add(&ls, lit);
				run_break(&ls);
			} else if (is_lit) {
				if ((unsigned char)lit >= 0x80 || lit == '\n' || lit == '\0')
					run_break(&ls);
				else
					run_add(&ls, lit);
			}
			/* a group that must match: what it requires, the
			 * sequence requires */
			if (inner != NULL && min > 0 && depth < 8) {
				struct litset g;

				if (extract(inner, close, depth + 1, &g) && set_better(&g, &ls.best))
					ls.best = g;
			}
		}
		p = next;
	}
	run_break(&ls);
	*out = ls.best;
	return out->n > 0;
}

/* a sequence with alternatives: each must require something */
static bool
extract(const char *p, const char *end, int depth, struct litset *out)
{
	const char *alt = p, *q;

	out->n = 0;
	for (q = p; q <= end; q++) {
		if (q < end && *q == '\\') {
			q++;
			continue;
		}
		if (q < end && *q == '[') {
			q = class_end(q, end);
			if (q == NULL)
				return false;
			continue;
		}
		if (q < end && *q == '(') {
			q = group_end(q, end);
			if (q == NULL)
				return false;
			continue;
		}
		if (q == end || *q == '|') {
			struct litset a;
			size_t i;

			if (alt == p && q == end)
				return extract_seq(p, end, depth, out);
			if (!extract_seq(alt, q, depth, &a) || out->n + a.n > PF_SET_MAX)
				return false;
			for (i = 0; i < a.n; i++) {
				out->len[out->n] = a.len[i];
				memcpy(out->s[out->n], a.s[i], a.len[i]);
				out->n++;
			}
			alt = q + 1;
		}
	}
	return out->n > 0;
}

int
rules_required_literals(const char *re, uint32_t opts, char lits[][PF_LIT_MAX + 1],
			size_t *lens)
{
	struct litset set;
	size_t i;

	/* \Q...\E quotes what the group and class scans would misread */
	if ((opts & PCRE2_EXTENDED) || strstr(re, "\\Q") != NULL)
		return 0;
	if (!extract(re, re + strlen(re), 0, &set))
		return 0;
	for (i = 0; i < set.n; i++) {
		memcpy(lits[i], set.s[i], set.len[i]);
		lits[i][set.len[i]] = '\0';
		lens[i] = set.len[i];
	}
	return (int)set.n;
}

/* --- the table ------------------------------------------------------------ */

static unsigned int
rule_kind(const struct rule *ru)
{
	switch (ru->type) {
	case RT_BODY:
		return PF_KIND_BODY;
	case RT_RAWBODY:
		return PF_KIND_RAWBODY;
	case RT_FULL:
		return PF_KIND_FULL;
	default:
		return 0;
	}
}

void
rules_prefilter_build(struct rules *r)
{
	struct prefilter *pf = xcalloc(1, sizeof(*pf));
	uint32_t *fill;
	size_t i, k;

	for (i = 0; i < r->nrules; i++) {
		struct rule *ru = &r->rules[i];
		unsigned int kind = rule_kind(ru);
		char lits[PF_SET_MAX][PF_LIT_MAX + 1];
		size_t lens[PF_SET_MAX];
		int n, j;

		ru->nlit = 0;
		if (kind == 0 || ru->re == NULL || !ru->supported || ru->negate)
			continue;
		n = rules_required_literals(ru->source, ru->pcre_opts, lits, lens);
		for (j = 0; j < n; j++) {
			for (k = 0; k < pf->nlits; k++) {
				if (pf->lits[k].len == lens[j] &&
				    memcmp(pf->lits[k].text, lits[j], lens[j]) == 0)
					break;
			}
			if (k == pf->nlits) {
				pf->lits = xreallocarray(pf->lits, pf->nlits + 1, sizeof(*pf->lits));
				pf->lits[k].text = xmemdup0(lits[j], lens[j]);
				pf->lits[k].len = lens[j];
				pf->lits[k].kinds = 0;
				pf->nlits++;
			}
			pf->lits[k].kinds |= kind;
			ru->lit[ru->nlit++] = (uint32_t)k;
		}
		if (n > 0)
			r->prefiltered++;
	}
	/* CSR: count, prefix sums, fill */
	for (k = 0; k < pf->nlits; k++)
		pf->start[key_hash((const unsigned char *)pf->lits[k].text) + 1]++;
	for (i = 0; i < HASH_SIZE; i++)
		pf->start[i + 1] += pf->start[i];
	pf->entries = xreallocarray(NULL, pf->nlits + 1, sizeof(uint32_t));
	fill = xcalloc(HASH_SIZE, sizeof(uint32_t));
	for (k = 0; k < pf->nlits; k++) {
		uint32_t h = key_hash((const unsigned char *)pf->lits[k].text);

		pf->entries[pf->start[h] + fill[h]++] = (uint32_t)k;
		pf->bitmap[h >> 3] |= (uint8_t)(1u << (h & 7));
	}
	free(fill);
	r->prefilter = pf;
}

void
rules_prefilter_free(struct prefilter *pf)
{
	size_t k;

	if (pf == NULL)
		return;
	for (k = 0; k < pf->nlits; k++)
		free(pf->lits[k].text);
	free(pf->lits);
	free(pf->entries);
	free(pf);
}

size_t
rules_prefilter_count(const struct prefilter *pf)
{
	return pf != NULL ? pf->nlits : 0;
}

void
rules_prefilter_scan(const struct prefilter *pf, unsigned int kind, const char *text,
		     size_t len, uint8_t *found)
{
	unsigned char *low;
	size_t i;

	if (pf == NULL || pf->nlits == 0 || len < LIT_MIN)
		return;
	low = xmalloc(len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		low[i] = c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
	}
	for (i = 0; i + LIT_MIN <= len; i++) {
		uint32_t h = key_hash(low + i), e;

		if (!(pf->bitmap[h >> 3] & (1u << (h & 7))))
			continue;
		for (e = pf->start[h]; e < pf->start[h + 1]; e++) {
			uint32_t k = pf->entries[e];
			const struct prefilter_lit *l = &pf->lits[k];

			if ((l->kinds & kind) && l->len <= len - i &&
			    memcmp(low + i, l->text, l->len) == 0)
				found[k >> 3] |= (uint8_t)(1u << (k & 7));
		}
	}
	free(low);
}
