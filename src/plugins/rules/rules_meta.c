/*
 * rules_meta.c - meta rule expressions: parse (precedence climbing, Perl's
 * precedence and its && / || value semantics) and evaluate over the hit
 * counts of other rules.
 */
#include "plugins/rules/rules_private.h"
#include "core/xalloc.h"

#include <ctype.h>

#define META_DEPTH_MAX 64
#define META_NODES_MAX 4096

struct meta_parser {
	const char *p;
	const char *error;
	unsigned int depth;
	unsigned int nodes;
};

static struct meta_node *parse_or(struct meta_parser *mp);

static void
skip_ws(struct meta_parser *mp)
{
	while (isspace((unsigned char)*mp->p))
		mp->p++;
}

static struct meta_node *
node(struct meta_parser *mp, enum meta_op op, struct meta_node *a, struct meta_node *b)
{
	struct meta_node *n;

	if (++mp->nodes > META_NODES_MAX) {
		mp->error = "expression too large";
		rules_meta_free(a);
		rules_meta_free(b);
		return NULL;
	}
	n = xcalloc(1, sizeof(*n));
	n->op = op;
	n->a = a;
	n->b = b;
	return n;
}

static bool
accept_tok(struct meta_parser *mp, const char *tok)
{
	size_t n = strlen(tok);

	skip_ws(mp);
	if (strncmp(mp->p, tok, n) != 0)
		return false;
	/* "<" must not take the first half of "<=", "!" not of "!=" */
	if (n == 1 && (tok[0] == '<' || tok[0] == '>' || tok[0] == '!' || tok[0] == '=') &&
	    mp->p[1] == '=')
		return false;
	mp->p += n;
	return true;
}

static struct meta_node *
parse_primary(struct meta_parser *mp)
{
	struct meta_node *n;

	skip_ws(mp);
	if (*mp->p == '(') {
		mp->p++;
		if (++mp->depth > META_DEPTH_MAX) {
			mp->error = "expression nested too deeply";
			return NULL;
		}
		n = parse_or(mp);
		mp->depth--;
		if (n == NULL)
			return NULL;
		if (!accept_tok(mp, ")")) {
			mp->error = "missing )";
			rules_meta_free(n);
			return NULL;
		}
		return n;
	}
	if (isdigit((unsigned char)*mp->p) || (*mp->p == '.' && isdigit((unsigned char)mp->p[1]))) {
		char *end;
		double v = strtod(mp->p, &end);

		mp->p = end;
		n = node(mp, MO_NUM, NULL, NULL);
		if (n != NULL)
			n->num = v;
		return n;
	}
	if (isalpha((unsigned char)*mp->p) || *mp->p == '_') {
		const char *start = mp->p;

		while (isalnum((unsigned char)*mp->p) || *mp->p == '_')
			mp->p++;
		n = node(mp, MO_RULE, NULL, NULL);
		if (n != NULL)
			n->name = xstrndup(start, (size_t)(mp->p - start));
		return n;
	}
	mp->error = *mp->p == '\0' ? "unexpected end of expression" : "unexpected character";
	return NULL;
}

static struct meta_node *
parse_unary(struct meta_parser *mp)
{
	struct meta_node *a;

	if (++mp->depth > META_DEPTH_MAX) {
		mp->error = "expression nested too deeply";
		return NULL;
	}
	if (accept_tok(mp, "!")) {
		a = parse_unary(mp);
		mp->depth--;
		return a != NULL ? node(mp, MO_NOT, a, NULL) : NULL;
	}
	if (accept_tok(mp, "-")) {
		a = parse_unary(mp);
		mp->depth--;
		return a != NULL ? node(mp, MO_NEG, a, NULL) : NULL;
	}
	a = parse_primary(mp);
	mp->depth--;
	return a;
}

struct binop {
	const char *tok;
	enum meta_op op;
};

/* one precedence level: operand (op operand)* */
static struct meta_node *
parse_level(struct meta_parser *mp, const struct binop *ops, size_t nops,
	    struct meta_node *(*operand)(struct meta_parser *))
{
	struct meta_node *a = operand(mp);

	while (a != NULL) {
		size_t i;
		bool found = false;

		for (i = 0; i < nops; i++) {
			if (accept_tok(mp, ops[i].tok)) {
				struct meta_node *b = operand(mp);

				if (b == NULL) {
					rules_meta_free(a);
					return NULL;
				}
				a = node(mp, ops[i].op, a, b);
				found = true;
				break;
			}
		}
		if (!found)
			break;
	}
	return a;
}

static struct meta_node *
parse_mul(struct meta_parser *mp)
{
	static const struct binop ops[] = { { "*", MO_MUL }, { "/", MO_DIV } };

	return parse_level(mp, ops, N_ELEMENTS(ops), parse_unary);
}

static struct meta_node *
parse_add(struct meta_parser *mp)
{
	static const struct binop ops[] = { { "+", MO_ADD }, { "-", MO_SUB } };

	return parse_level(mp, ops, N_ELEMENTS(ops), parse_mul);
}

static struct meta_node *
parse_rel(struct meta_parser *mp)
{
	static const struct binop ops[] = {
		{ "<=", MO_LE }, { ">=", MO_GE }, { "<", MO_LT }, { ">", MO_GT },
	};

	return parse_level(mp, ops, N_ELEMENTS(ops), parse_add);
}

static struct meta_node *
parse_eq(struct meta_parser *mp)
{
	static const struct binop ops[] = { { "==", MO_EQ }, { "!=", MO_NE } };

	return parse_level(mp, ops, N_ELEMENTS(ops), parse_rel);
}

static struct meta_node *
parse_and(struct meta_parser *mp)
{
	static const struct binop ops[] = { { "&&", MO_AND } };

	return parse_level(mp, ops, N_ELEMENTS(ops), parse_eq);
}

static struct meta_node *
parse_or(struct meta_parser *mp)
{
	static const struct binop ops[] = { { "||", MO_OR } };

	return parse_level(mp, ops, N_ELEMENTS(ops), parse_and);
}

struct meta_node *
rules_meta_parse(const char *expr, const char **error_r)
{
	struct meta_parser mp = { expr, NULL, 0, 0 };
	struct meta_node *n = parse_or(&mp);

	if (n != NULL) {
		skip_ws(&mp);
		if (*mp.p != '\0') {
			mp.error = "trailing characters";
			rules_meta_free(n);
			n = NULL;
		}
	}
	if (n == NULL)
		*error_r = mp.error != NULL ? mp.error : "bad expression";
	return n;
}

void
rules_meta_free(struct meta_node *n)
{
	if (n == NULL)
		return;
	rules_meta_free(n->a);
	rules_meta_free(n->b);
	free(n->name);
	free(n);
}

void
rules_meta_resolve(struct rules *r, struct meta_node *n,
		   unsigned int (*lookup)(struct rules *, const char *))
{
	if (n == NULL)
		return;
	if (n->op == MO_RULE) {
		n->rule = lookup(r, n->name);
		return;
	}
	rules_meta_resolve(r, n->a, lookup);
	rules_meta_resolve(r, n->b, lookup);
}

double
rules_meta_eval(const struct meta_node *n, const unsigned int *hits)
{
	double a, b;

	switch (n->op) {
	case MO_NUM:
		return n->num;
	case MO_RULE:
		return (double)hits[n->rule];
	case MO_NOT:
		return rules_meta_eval(n->a, hits) == 0 ? 1 : 0;
	case MO_NEG:
		return -rules_meta_eval(n->a, hits);
	case MO_AND:
		/* Perl: the first false value, else the last */
		a = rules_meta_eval(n->a, hits);
		return a == 0 ? a : rules_meta_eval(n->b, hits);
	case MO_OR:
		a = rules_meta_eval(n->a, hits);
		return a != 0 ? a : rules_meta_eval(n->b, hits);
	default:
		break;
	}
	a = rules_meta_eval(n->a, hits);
	b = rules_meta_eval(n->b, hits);
	switch (n->op) {
	case MO_ADD: return a + b;
	case MO_SUB: return a - b;
	case MO_MUL: return a * b;
	case MO_DIV: return b == 0 ? 0 : a / b;
	case MO_GT: return a > b;
	case MO_GE: return a >= b;
	case MO_LT: return a < b;
	case MO_LE: return a <= b;
	case MO_EQ: return a == b;
	case MO_NE: return a != b;
	default: break;
	}
	return 0;
}

void
rules_meta_deps(const struct meta_node *n, void (*fn)(void *ctx, unsigned int rule), void *ctx)
{
	if (n == NULL)
		return;
	if (n->op == MO_RULE) {
		fn(ctx, n->rule);
		return;
	}
	rules_meta_deps(n->a, fn, ctx);
	rules_meta_deps(n->b, fn, ctx);
}
