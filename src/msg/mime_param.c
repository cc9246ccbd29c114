#include "msg/mime_param.h"
#include "msg/decode.h"
#include "msg/rfc2047.h"
#include "core/xalloc.h"

/* one name=value as written, before RFC 2231 sections are joined */
struct raw_param {
	struct view name;   /* base name, without "*N*" */
	int section;        /* -1: none */
	bool extended;      /* name*= / name*N*= : charset'lang'%XX */
	bool quoted;
	struct buf value;   /* unquoted */
};

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* token characters of RFC 2045, a little wider: what clients accept */
static bool
is_tok(unsigned char c)
{
	return c > 0x20 && c != 0x7f && c != ';' && c != '=' && c != '(' && c != ')' &&
	       c != '"' && c != '/' && c != ',';
}

/* skip white space and (nested, escaped) comments */
static size_t
skip_cfws(const char *p, size_t len, size_t i)
{
	while (i < len) {
		if (is_ws(p[i])) {
			i++;
		} else if (p[i] == '(') {
			int depth = 0;

			for (; i < len; i++) {
				if (p[i] == '\\' && i + 1 < len) {
					i++;
				} else if (p[i] == '(') {
					depth++;
				} else if (p[i] == ')' && --depth == 0) {
					i++;
					break;
				}
			}
		} else {
			break;
		}
	}
	return i;
}

static char *
lower_dup(const char *p, size_t len)
{
	char *s = xmemdup0(p, len);
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] + 32);
	}
	return s;
}

static size_t
read_token(const char *p, size_t len, size_t i, bool slash_ends)
{
	while (i < len && (is_tok((unsigned char)p[i]) || (!slash_ends && p[i] == '/')))
		i++;
	return i;
}

/* an unquoted value: up to ';'; cut before a comment, or before
 * white space followed by "token=" (a missing semicolon) */
static size_t
read_bare_value(const char *p, size_t len, size_t i, size_t *end_r)
{
	size_t j = i, vend;

	while (j < len && p[j] != ';') {
		if (p[j] == '(')
			break;
		if (is_ws(p[j])) {
			size_t k = j, t;

			while (k < len && is_ws(p[k]))
				k++;
			if (k >= len || p[k] == ';' || p[k] == '(')
				break;
			t = read_token(p, len, k, false);
			if (t > k) {
				size_t e = t;

				while (e < len && is_ws(p[e]))
					e++;
				if (e < len && p[e] == '=')
					break;
			}
			j = k;
			continue;
		}
		j++;
	}
	vend = j;
	while (vend > i && is_ws(p[vend - 1]))
		vend--;
	*end_r = vend;
	return j;
}

/* a quoted string at p[i] == '"'; returns the index after it (*open_r:
 * no closing quote) */
static size_t
read_quoted(const char *p, size_t len, size_t i, struct buf *out, bool *open_r)
{
	size_t run;

	i++;
	run = i;
	while (i < len && p[i] != '"') {
		if (p[i] == '\\' && i + 1 < len) {
			buf_append(out, p + run, i - run);
			buf_append_char(out, p[i + 1]);
			i += 2;
			run = i;
			continue;
		}
		i++;
	}
	buf_append(out, p + run, i - run);
	*open_r = i >= len;
	return i < len ? i + 1 : i;
}

/* split "name*3*" into base name, section, extended */
static void
split_name(struct raw_param *rp, const char *p, size_t len)
{
	size_t star = 0;
	const char *s = memchr(p, '*', len);

	rp->section = -1;
	rp->extended = false;
	rp->name = (struct view){ p, len };
	if (s == NULL)
		return;
	star = (size_t)(s - p);
	if (star == 0)
		return;
	if (star + 1 == len) {
		rp->extended = true;
		rp->name.len = star;
		return;
	}
	{
		size_t k = star + 1;
		long sec = 0;

		if (k >= len || p[k] < '0' || p[k] > '9')
			return;
		while (k < len && p[k] >= '0' && p[k] <= '9' && sec < 100000)
			sec = sec * 10 + (p[k++] - '0');
		if (k < len && p[k] == '*' && k + 1 == len)
			rp->extended = true;
		else if (k != len)
			return;
		rp->section = (int)sec;
		rp->name.len = star;
	}
}

static int
cmp_section(const void *a, const void *b)
{
	const struct raw_param *x = *(const struct raw_param *const *)a;
	const struct raw_param *y = *(const struct raw_param *const *)b;

	return (x->section > y->section) - (x->section < y->section);
}

static void
add_param(struct mime_value *r, size_t *cap, char *name, char *value, unsigned int flags)
{
	if (r->nparams == *cap) {
		*cap = *cap == 0 ? 4 : *cap * 2;
		r->params = xreallocarray(r->params, *cap, sizeof(*r->params));
	}
	r->params[r->nparams].name = name;
	r->params[r->nparams].value = value;
	r->params[r->nparams].flags = flags;
	r->nparams++;
}

/* the value of a plain (not RFC 2231) parameter as clients show it */
static char *
plain_value(struct charset_ctx *cs, const struct raw_param *rp, bool is_boundary,
	    unsigned int *flags_r, unsigned int *pflags_r)
{
	const struct buf *v = &rp->value;
	struct buf out = BUF_INIT;
	size_t i;

	if (is_boundary)
		return xmemdup0(v->data != NULL ? v->data : "", v->len);
	if (v->len > 0 && memmem(v->data, v->len, "=?", 2) != NULL) {
		unsigned int r = rfc2047_decode(cs, v->data, v->len, &out, 0);

		if (r & RFC2047_R_DECODED)
			*pflags_r |= MSG_PARAM_RFC2047;
		if (r & RFC2047_R_BAD_WORD)
			*flags_r |= MIME_PARAM_R_BAD_WORD;
		if (r & RFC2047_R_CHARSET)
			*flags_r |= MIME_PARAM_R_CHARSET;
		if (r & RFC2047_R_8BIT)
			*flags_r |= MIME_PARAM_R_8BIT;
		return buf_steal(&out);
	}
	for (i = 0; i < v->len; i++) {
		if ((unsigned char)v->data[i] >= 0x80 || v->data[i] == '\0')
			break;
	}
	if (i == v->len)
		return xmemdup0(v->data != NULL ? v->data : "", v->len);
	*flags_r |= MIME_PARAM_R_8BIT;
	charset_to_utf8(cs, NULL, v->data, v->len, &out, 0);
	/* no NUL in a C string */
	for (i = 0; i < out.len; i++) {
		if (out.data[i] == '\0')
			out.data[i] = '_';
	}
	return buf_steal(&out);
}

/* join the RFC 2231 sections of raw[first] and its siblings */
static char *
joined_value(struct charset_ctx *cs, struct raw_param *raw, size_t nraw, size_t first,
	     bool *used, unsigned int *flags_r)
{
	struct raw_param **secs = xcalloc(nraw, sizeof(*secs));
	struct buf bytes = BUF_INIT, out = BUF_INIT;
	char charset[64] = "";
	size_t n = 0, i;
	int last = -2;

	for (i = first; i < nraw; i++) {
		if (used[i] || (raw[i].section < 0 && !raw[i].extended))
			continue;
		if (raw[i].name.len != raw[first].name.len ||
		    strncasecmp(raw[i].name.p, raw[first].name.p, raw[i].name.len) != 0)
			continue;
		/* a lone name*= is one section on its own */
		if ((raw[i].section < 0) != (raw[first].section < 0))
			continue;
		if (raw[first].section < 0 && i != first)
			continue;
		used[i] = true;
		secs[n++] = &raw[i];
	}
	qsort(secs, n, sizeof(*secs), cmp_section);
	for (i = 0; i < n; i++) {
		const struct raw_param *s = secs[i];
		const char *v = s->value.data != NULL ? s->value.data : "";
		size_t vlen = s->value.len;

		if (s->section == last) {
			*flags_r |= MIME_PARAM_R_DUPLICATE;
			continue;
		}
		last = s->section;
		if (s->extended && (i == 0 && s->section <= 0)) {
			/* charset'language'value */
			const char *q1 = memchr(v, '\'', vlen), *q2;

			if (q1 != NULL && (q2 = memchr(q1 + 1, '\'', vlen - (size_t)(q1 + 1 - v))) != NULL) {
				size_t cl = MIN((size_t)(q1 - v), sizeof(charset) - 1);

				memcpy(charset, v, cl);
				charset[cl] = '\0';
				vlen -= (size_t)(q2 + 1 - v);
				v = q2 + 1;
			} else {
				*flags_r |= MIME_PARAM_R_CHARSET;
			}
		}
		if (s->extended)
			decode_percent(v, vlen, &bytes);
		else
			buf_append(&bytes, v, vlen);
	}
	free(secs);
	if (charset[0] != '\0' && !charset_is_known(cs, charset))
		*flags_r |= MIME_PARAM_R_CHARSET;
	if (charset_to_utf8(cs, charset[0] != '\0' ? charset : NULL, bytes.data, bytes.len, &out,
			    0) &
	    CHARSET_R_REPLACED)
		*flags_r |= MIME_PARAM_R_CHARSET;
	for (i = 0; i < out.len; i++) {
		if (out.data[i] == '\0')
			out.data[i] = '_';
	}
	buf_deinit(&bytes);
	if (out.data == NULL)
		return xstrdup("");
	return buf_steal(&out);
}

void
mime_param_parse(struct charset_ctx *cs, const char *p, size_t len, bool with_subtype,
		 unsigned int max_params, struct mime_value *r)
{
	struct raw_param *raw = NULL;
	size_t nraw = 0, rawcap = 0, cap = 0, i, j;
	bool *used;

	memset(r, 0, sizeof(*r));
	/* type[/subtype] */
	i = skip_cfws(p, len, 0);
	j = read_token(p, len, i, true);
	r->type = lower_dup(p + i, j - i);
	i = skip_cfws(p, len, j);
	if (with_subtype && i < len && p[i] == '/') {
		i = skip_cfws(p, len, i + 1);
		j = read_token(p, len, i, true);
		r->subtype = lower_dup(p + i, j - i);
		i = skip_cfws(p, len, j);
	} else {
		r->subtype = xstrdup("");
	}

	while (i < len) {
		struct raw_param *rp;
		size_t ns, ne;

		i = skip_cfws(p, len, i);
		if (i >= len)
			break;
		if (p[i] == ';') {
			i++;
			continue;
		}
		ns = i;
		ne = read_token(p, len, i, false);
		if (ne == ns) {
			/* junk: to the next ';' */
			r->flags |= MIME_PARAM_R_SYNTAX;
			while (i < len && p[i] != ';')
				i++;
			continue;
		}
		i = skip_cfws(p, len, ne);
		if (i >= len || p[i] != '=') {
			r->flags |= MIME_PARAM_R_SYNTAX;
			while (i < len && p[i] != ';')
				i++;
			continue;
		}
		if (nraw >= max_params) {
			r->flags |= MIME_PARAM_R_LIMIT;
			break;
		}
		if (nraw == rawcap) {
			rawcap = rawcap == 0 ? 4 : rawcap * 2;
			raw = xreallocarray(raw, rawcap, sizeof(*raw));
		}
		rp = &raw[nraw++];
		memset(rp, 0, sizeof(*rp));
		split_name(rp, p + ns, ne - ns);
		i = skip_cfws(p, len, i + 1);
		if (i < len && p[i] == '"') {
			bool open;

			rp->quoted = true;
			i = read_quoted(p, len, i, &rp->value, &open);
			if (open)
				r->flags |= MIME_PARAM_R_SYNTAX;
			i = skip_cfws(p, len, i);
			if (i < len && p[i] != ';') {
				size_t t = read_token(p, len, i, false), e = t;

				while (e < len && is_ws(p[e]))
					e++;
				if (!(t > i && e < len && p[e] == '=')) {
					r->flags |= MIME_PARAM_R_SYNTAX;
					while (i < len && p[i] != ';')
						i++;
				}
			}
		} else {
			size_t vend;

			j = read_bare_value(p, len, i, &vend);
			buf_append(&rp->value, p + i, vend - i);
			i = j;
		}
	}

	used = xcalloc(nraw + 1, sizeof(*used));
	for (i = 0; i < nraw; i++) {
		struct raw_param *rp = &raw[i];
		unsigned int pflags = 0;
		char *name, *value;

		if (used[i])
			continue;
		name = lower_dup(rp->name.p, rp->name.len);
		if (rp->section >= 0 || rp->extended) {
			value = joined_value(cs, raw, nraw, i, used, &r->flags);
			pflags |= MSG_PARAM_RFC2231;
		} else {
			used[i] = true;
			value = plain_value(cs, rp, strcmp(name, "boundary") == 0, &r->flags, &pflags);
		}
		for (j = 0; j < r->nparams; j++) {
			if (strcmp(r->params[j].name, name) == 0 &&
			    (r->params[j].flags & MSG_PARAM_RFC2231) == (pflags & MSG_PARAM_RFC2231)) {
				r->flags |= MIME_PARAM_R_DUPLICATE;
				break;
			}
		}
		add_param(r, &cap, name, value, pflags);
	}
	free(used);
	for (i = 0; i < nraw; i++)
		buf_deinit(&raw[i].value);
	free(raw);
}

void
mime_value_deinit(struct mime_value *v)
{
	size_t i;

	for (i = 0; i < v->nparams; i++) {
		free(v->params[i].name);
		free(v->params[i].value);
	}
	free(v->params);
	free(v->type);
	free(v->subtype);
	memset(v, 0, sizeof(*v));
}

const char *
mime_value_param(const struct mime_value *v, const char *name, size_t i)
{
	size_t k;

	for (k = 0; k < v->nparams; k++) {
		if (strcmp(v->params[k].name, name) == 0 && i-- == 0)
			return v->params[k].value;
	}
	return NULL;
}

size_t
mime_value_param_count(const struct mime_value *v, const char *name)
{
	size_t k, n = 0;

	for (k = 0; k < v->nparams; k++)
		n += strcmp(v->params[k].name, name) == 0;
	return n;
}
