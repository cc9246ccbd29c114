#include "msg/addr.h"
#include "msg/rfc2047.h"
#include "core/xalloc.h"

/* one element of the list while it is read */
struct elem {
	struct buf phrase;    /* words outside <>, unquoted, space-separated */
	struct buf spec;      /* addr-spec outside <> (no white space) */
	struct buf angle;     /* the last <...> */
	struct buf comment;   /* the first comment's text */
	bool has_angle;
	bool had_comment;
};

static void
elem_reset(struct elem *e)
{
	buf_reset(&e->phrase);
	buf_reset(&e->spec);
	buf_reset(&e->angle);
	buf_reset(&e->comment);
	e->has_angle = false;
	e->had_comment = false;
}

static void
elem_deinit(struct elem *e)
{
	buf_deinit(&e->phrase);
	buf_deinit(&e->spec);
	buf_deinit(&e->angle);
	buf_deinit(&e->comment);
}

static char *
decode_phrase(struct charset_ctx *cs, const struct buf *b)
{
	struct buf out = BUF_INIT;
	struct view v = view_trim(view_from_buf(b));

	rfc2047_decode(cs, v.p, v.len, &out, 0);
	if (out.data == NULL)
		return xstrdup("");
	return buf_steal(&out);
}

/* split an addr-spec into local part and lower-cased domain */
static void
fill_addr(struct msg_address *a, const char *spec, size_t len)
{
	const char *at;
	size_t i, dlen;

	/* an obsolete route: "@a,@b:local@domain" */
	if (len > 0 && spec[0] == '@') {
		const char *colon = memchr(spec, ':', len);

		if (colon != NULL) {
			len -= (size_t)(colon + 1 - spec);
			spec = colon + 1;
		}
	}
	a->addr = xmemdup0(spec, len);
	at = NULL;
	for (i = len; i > 0; i--) {
		if (spec[i - 1] == '@') {
			at = spec + i - 1;
			break;
		}
	}
	if (at == NULL) {
		a->local = xmemdup0(spec, len);
		a->domain = xstrdup("");
		return;
	}
	a->local = xmemdup0(spec, (size_t)(at - spec));
	dlen = len - (size_t)(at + 1 - spec);
	a->domain = xmemdup0(at + 1, dlen);
	for (i = 0; i < dlen; i++) {
		if (a->domain[i] >= 'A' && a->domain[i] <= 'Z')
			a->domain[i] = (char)(a->domain[i] + 32);
	}
}

static bool
emit(struct charset_ctx *cs, struct elem *e, struct msg_address **v, size_t *n, size_t *cap)
{
	struct msg_address *a;
	const struct buf *spec;

	spec = e->has_angle ? &e->angle : &e->spec;
	if (spec->len == 0 && (!e->has_angle || e->phrase.len == 0)) {
		/* a lone word is an unqualified address ("root") */
		if (!e->has_angle && e->phrase.len > 0 && memchr(e->phrase.data, ' ', e->phrase.len) == NULL)
			spec = &e->phrase;
		else
			return false;
	}
	if (*n == *cap) {
		*cap = *cap == 0 ? 2 : *cap * 2;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	a = &(*v)[(*n)++];
	if (e->has_angle && e->phrase.len > 0)
		a->display = decode_phrase(cs, &e->phrase);
	else if (e->had_comment && e->comment.len > 0)
		a->display = decode_phrase(cs, &e->comment);
	else if (!e->has_angle && spec != &e->phrase && e->phrase.len > 0)
		a->display = decode_phrase(cs, &e->phrase);
	else
		a->display = xstrdup("");
	fill_addr(a, spec->data != NULL ? spec->data : "", spec->len);
	return true;
}

static void
phrase_word(struct buf *b, const char *p, size_t len)
{
	if (b->len > 0 && b->data[b->len - 1] != ' ')
		buf_append_char(b, ' ');
	buf_append(b, p, len);
}

size_t
addr_parse_list(struct charset_ctx *cs, const char *p, size_t len, unsigned int max,
		struct msg_address **addrs_r, bool *truncated_r)
{
	struct msg_address *v = NULL;
	struct elem e;
	size_t n = 0, cap = 0, i = 0;
	bool spec_started = false;

	memset(&e, 0, sizeof(e));
	*truncated_r = false;
	/* a C string for every consumer: a NUL ends the value */
	len = strnlen(p, len);
	while (i <= len) {
		char c = i < len ? p[i] : ',';

		if (c == ',' || c == ';' || (c == ':' && !e.has_angle && e.spec.len == 0 &&
					    e.phrase.len > 0 && i < len)) {
			/* end of an element; ':' ends a group's name */
			if (c != ':') {
				if (n >= max && (e.spec.len > 0 || e.has_angle || e.phrase.len > 0)) {
					*truncated_r = true;
					break;
				}
				emit(cs, &e, &v, &n, &cap);
			}
			elem_reset(&e);
			spec_started = false;
			i++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			/* white space ends an addr-spec written as words: "a b@c"
			 * then is phrase "a" + spec "b@c" */
			i++;
			continue;
		}
		if (c == '"') {
			size_t j = i + 1, run = j;
			struct buf q = BUF_INIT;

			while (j < len && p[j] != '"') {
				if (p[j] == '\\' && j + 1 < len) {
					buf_append(&q, p + run, j - run);
					buf_append_char(&q, p[j + 1]);
					j += 2;
					run = j;
					continue;
				}
				j++;
			}
			buf_append(&q, p + run, j - run);
			/* a quoted local part: "a b"@example.com */
			if (j + 1 < len && p[j + 1] == '@') {
				buf_append(&e.spec, p + i, j + 1 - i);
				spec_started = true;
			} else {
				phrase_word(&e.phrase, q.data != NULL ? q.data : "", q.len);
			}
			buf_deinit(&q);
			i = j < len ? j + 1 : j;
			continue;
		}
		if (c == '(') {
			int depth = 0;
			size_t j = i, run;

			for (; j < len; j++) {
				if (p[j] == '\\' && j + 1 < len)
					j++;
				else if (p[j] == '(')
					depth++;
				else if (p[j] == ')' && --depth == 0)
					break;
			}
			run = i + 1;
			if (!e.had_comment) {
				buf_append(&e.comment, p + run, (j < len ? j : len) - run);
				e.had_comment = true;
			}
			i = j < len ? j + 1 : len;
			continue;
		}
		if (c == '<') {
			const char *gt = memchr(p + i + 1, '>', len - i - 1);
			size_t end = gt != NULL ? (size_t)(gt - p) : len, k;

			buf_reset(&e.angle);
			for (k = i + 1; k < end; k++) {
				if (p[k] != ' ' && p[k] != '\t' && p[k] != '\r' && p[k] != '\n')
					buf_append_char(&e.angle, p[k]);
			}
			e.has_angle = true;
			/* words written before "<" were the phrase */
			if (e.spec.len > 0) {
				phrase_word(&e.phrase, e.spec.data, e.spec.len);
				buf_reset(&e.spec);
			}
			i = gt != NULL ? end + 1 : len;
			continue;
		}
		{
			/* an atom, dot or '@': part of an addr-spec if it has an '@'
			 * nearby, else a phrase word */
			size_t j = i;
			bool has_at = false;

			for (; j < len; j++) {
				char d = p[j];

				if (d == ',' || d == ';' || d == '"' || d == '(' || d == '<' || d == ' ' ||
				    d == '\t' || d == '\r' || d == '\n' || (d == ':' && !has_at))
					break;
				if (d == '@')
					has_at = true;
			}
			if (j == i) {
				/* a ':' inside a word without '@' (a group name) */
				i++;
				continue;
			}
			if (has_at ||
			    (spec_started && (p[i] == '@' || p[i] == '.'))) {
				if (e.spec.len > 0 && !spec_started)
					phrase_word(&e.phrase, e.spec.data, e.spec.len), buf_reset(&e.spec);
				else if (e.spec.len > 0 && memchr(e.spec.data, '@', e.spec.len) != NULL)
					phrase_word(&e.phrase, e.spec.data, e.spec.len), buf_reset(&e.spec);
				buf_append(&e.spec, p + i, j - i);
				spec_started = true;
			} else if (spec_started && e.spec.len > 0 &&
				   (e.spec.data[e.spec.len - 1] == '@' || e.spec.data[e.spec.len - 1] == '.')) {
				buf_append(&e.spec, p + i, j - i);
			} else {
				phrase_word(&e.phrase, p + i, j - i);
			}
			i = j;
		}
	}
	elem_deinit(&e);
	*addrs_r = v;
	return n;
}
