#include "stats/json.h"
#include "core/xalloc.h"

#include <math.h>

/* length of the valid UTF-8 sequence at p (1..4), or 0 */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t need, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4, cp = c & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

/* bytes written as they are: printable ASCII but '"', '\\' and '/' (a
 * '/' only needs care after '<'); one load per byte */
static const bool plain_byte[256] = {
	[' '] = true, ['!'] = true, ['#' ... '.'] = true, ['0' ... '['] = true,
	[']' ... '~'] = true,
};

static inline bool
plain(unsigned char c)
{
	return plain_byte[c];
}

/* room(): where the next n bytes go; the caller stores them and calls
 * done() with the end. The writers below are on the way of every
 * history record: bytes are stored directly, not a call per piece. */
static inline char *
room(struct buf *b, size_t n)
{
	if (b->data == NULL || b->len + n + 1 > b->cap)
		buf_reserve(b, n);
	return b->data + b->len;
}

static inline void
done(struct buf *b, char *end)
{
	b->len = (size_t)(end - b->data);
	*end = '\0';
}

void
json_append_strn(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	/* at most 6 bytes out per byte in ("\u00XX") */
	char *d = room(out, len * 6 + 2);

	*d++ = '"';
	while (i < len) {
		unsigned char c = p[i];
		size_t n;

		if (plain(c)) {
			*d++ = (char)c;
			i++;
		} else if (c == '"' || c == '\\') {
			*d++ = '\\';
			*d++ = (char)c;
			i++;
		} else if (c == '/') {
			if (i > 0 && p[i - 1] == '<')
				*d++ = '\\';
			*d++ = '/';
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			*d++ = '\\';
			switch (c) {
			case '\n': *d++ = 'n'; break;
			case '\r': *d++ = 'r'; break;
			case '\t': *d++ = 't'; break;
			default:
				memcpy(d, "u00", 3);
				d[3] = hex[c >> 4];
				d[4] = hex[c & 0xf];
				d += 5;
			}
			i++;
		} else if ((n = utf8_len(p + i, len - i)) > 0) {
			memcpy(d, p + i, n);
			d += n;
			i += n;
		} else {
			memcpy(d, "\xef\xbf\xbd", 3);
			d += 3;
			i++;
		}
	}
	*d++ = '"';
	done(out, d);
}

void
json_append_str(struct buf *out, const char *s)
{
	json_append_strn(out, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

static void
key(struct buf *out, bool *first, const char *k)
{
	/* keys are our own names (plain ASCII): written as they are */
	size_t n = strlen(k);
	char *d = room(out, n + 4);

	if (!*first)
		*d++ = ',';
	*first = false;
	*d++ = '"';
	memcpy(d, k, n);
	d += n;
	*d++ = '"';
	*d++ = ':';
	done(out, d);
}

void
json_append_kv_str(struct buf *out, bool *first, const char *k, const char *val)
{
	key(out, first, k);
	json_append_str(out, val);
}

void
json_append_kv_u64(struct buf *out, bool *first, const char *k, uint64_t v)
{
	char num[24];
	size_t n = sizeof(num);

	key(out, first, k);
	/* no printf on the way of every history record */
	do {
		num[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	buf_append(out, num + n, sizeof(num) - n);
}

void
json_append_double(struct buf *out, double v)
{
	char num[64];
	size_t n;

	if (!isfinite(v)) {
		buf_append_str(out, "null");
		return;
	}
	if (fabs(v) < 1e12) {
		/* a whole number of thousandths (scores, milliseconds from
		 * microseconds): what "%.3f" would print, without printf */
		double m = v * 1000.0;
		long long k = llround(m);

		if (fabs(m - (double)k) < 1e-6) {
			unsigned long long a = (unsigned long long)(k < 0 ? -k : k);
			unsigned int frac = (unsigned int)(a % 1000), digits = 3;

			n = sizeof(num);
			while (frac > 0 && frac % 10 == 0) {
				frac /= 10;
				digits--;
			}
			if (frac > 0) {
				while (digits-- > 0) {
					num[--n] = (char)('0' + frac % 10);
					frac /= 10;
				}
				num[--n] = '.';
			}
			a /= 1000;
			do {
				num[--n] = (char)('0' + a % 10);
				a /= 10;
			} while (a > 0);
			if (k < 0)
				num[--n] = '-';
			buf_append(out, num + n, sizeof(num) - n);
			return;
		}
	}
	n = (size_t)snprintf(num, sizeof(num), "%.3f", v);
	while (n > 0 && num[n - 1] == '0')
		num[--n] = '\0';
	if (n > 0 && num[n - 1] == '.')
		num[--n] = '\0';
	if (strcmp(num, "-0") == 0)
		buf_append_char(out, '0');
	else
		buf_append_str(out, num);
}

void
json_append_kv_double(struct buf *out, bool *first, const char *k, double v)
{
	key(out, first, k);
	json_append_double(out, v);
}

void
json_append_kv_bool(struct buf *out, bool *first, const char *k, bool v)
{
	key(out, first, k);
	buf_append_str(out, v ? "true" : "false");
}

/* --- parser ---------------------------------------------------------------- */

struct parser {
	const char *p, *end;
	const char *error;
};

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct json *
node(enum json_type t)
{
	struct json *j = xcalloc(1, sizeof(*j));

	j->type = t;
	return j;
}

static void
put_utf8(struct buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		buf_append_char(b, (char)cp);
	} else if (cp < 0x800) {
		buf_append_char(b, (char)(0xc0 | (cp >> 6)));
		buf_append_char(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_append_char(b, (char)(0xe0 | (cp >> 12)));
		buf_append_char(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_append_char(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_append_char(b, (char)(0xf0 | (cp >> 18)));
		buf_append_char(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_append_char(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_append_char(b, (char)(0x80 | (cp & 0x3f)));
	}
}

static int
hex4(struct parser *ps, uint32_t *v_r)
{
	uint32_t v = 0;
	int i;

	if (ps->end - ps->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char c = ps->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	ps->p += 4;
	*v_r = v;
	return 0;
}

static int
parse_string(struct parser *ps, struct buf *b)
{
	ps->p++; /* the quote */
	while (ps->p < ps->end) {
		char c = *ps->p++;
		uint32_t cp, lo;

		if (c == '"')
			return 0;
		if ((unsigned char)c < 0x20) {
			ps->error = "control character in string";
			return -1;
		}
		if (c != '\\') {
			buf_append_char(b, c);
			continue;
		}
		if (ps->p >= ps->end)
			break;
		c = *ps->p++;
		switch (c) {
		case '"': case '\\': case '/': buf_append_char(b, c); break;
		case 'b': buf_append_char(b, '\b'); break;
		case 'f': buf_append_char(b, '\f'); break;
		case 'n': buf_append_char(b, '\n'); break;
		case 'r': buf_append_char(b, '\r'); break;
		case 't': buf_append_char(b, '\t'); break;
		case 'u':
			if (hex4(ps, &cp) < 0) {
				ps->error = "bad \\u escape";
				return -1;
			}
			if (cp >= 0xd800 && cp <= 0xdbff && ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
			    ps->p[1] == 'u') {
				const char *save = ps->p;

				ps->p += 2;
				if (hex4(ps, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				else
					ps->p = save;
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd;
			put_utf8(b, cp);
			break;
		default:
			ps->error = "bad escape";
			return -1;
		}
	}
	ps->error = "unterminated string";
	return -1;
}

static struct json *parse_value(struct parser *ps, int depth);

static void
add_item(struct json *j, struct json *item, char *k)
{
	if ((j->len & 7) == 0) {
		j->items = xreallocarray(j->items, j->len + 8, sizeof(*j->items));
		if (j->type == JSON_OBJECT)
			j->keys = xreallocarray(j->keys, j->len + 8, sizeof(*j->keys));
	}
	j->items[j->len] = item;
	if (j->type == JSON_OBJECT)
		j->keys[j->len] = k;
	j->len++;
}

static struct json *
parse_container(struct parser *ps, int depth, bool object)
{
	struct json *j = node(object ? JSON_OBJECT : JSON_ARRAY);
	char close = object ? '}' : ']';

	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return j;
	}
	for (;;) {
		char *k = NULL;
		struct json *v;

		skip_ws(ps);
		if (object) {
			struct buf kb = BUF_INIT;

			if (ps->p >= ps->end || *ps->p != '"' || parse_string(ps, &kb) < 0) {
				if (ps->error == NULL)
					ps->error = "expected a member name";
				buf_deinit(&kb);
				break;
			}
			k = buf_steal(&kb);
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				ps->error = "expected ':'";
				free(k);
				break;
			}
			ps->p++;
		}
		v = parse_value(ps, depth + 1);
		if (v == NULL) {
			free(k);
			break;
		}
		add_item(j, v, k);
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return j;
		}
		ps->error = object ? "expected ',' or '}'" : "expected ',' or ']'";
		break;
	}
	json_free(&j);
	return NULL;
}

static struct json *
parse_value(struct parser *ps, int depth)
{
	struct json *j;

	if (depth > JSON_MAX_DEPTH) {
		ps->error = "nested too deep";
		return NULL;
	}
	skip_ws(ps);
	if (ps->p >= ps->end) {
		ps->error = "unexpected end";
		return NULL;
	}
	switch (*ps->p) {
	case '{': return parse_container(ps, depth, true);
	case '[': return parse_container(ps, depth, false);
	case '"': {
		struct buf b = BUF_INIT;

		if (parse_string(ps, &b) < 0) {
			buf_deinit(&b);
			return NULL;
		}
		j = node(JSON_STRING);
		j->len = b.len;
		j->str = buf_steal(&b);
		if (j->str == NULL)
			j->str = xstrdup("");
		return j;
	}
	default:
		break;
	}
	if (ps->end - ps->p >= 4 && memcmp(ps->p, "true", 4) == 0) {
		ps->p += 4;
		j = node(JSON_BOOL);
		j->b = true;
		return j;
	}
	if (ps->end - ps->p >= 5 && memcmp(ps->p, "false", 5) == 0) {
		ps->p += 5;
		return node(JSON_BOOL);
	}
	if (ps->end - ps->p >= 4 && memcmp(ps->p, "null", 4) == 0) {
		ps->p += 4;
		return node(JSON_NULL);
	}
	if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
		char num[64];
		size_t n = 0;
		char *e;

		while (ps->p + n < ps->end && n < sizeof(num) - 1 &&
		       strchr("+-0123456789.eE", ps->p[n]) != NULL) {
			num[n] = ps->p[n];
			n++;
		}
		num[n] = '\0';
		j = node(JSON_NUMBER);
		j->num = strtod(num, &e);
		if (e == num || (size_t)(e - num) != n) {
			ps->error = "bad number";
			json_free(&j);
			return NULL;
		}
		ps->p += n;
		return j;
	}
	ps->error = "unexpected character";
	return NULL;
}

struct json *
json_parse(const char *p, size_t len, const char **error_r)
{
	struct parser ps = { p, p + len, NULL };
	struct json *j = parse_value(&ps, 0);

	if (j != NULL) {
		skip_ws(&ps);
		if (ps.p != ps.end) {
			ps.error = "trailing data";
			json_free(&j);
		}
	}
	if (j == NULL)
		*error_r = ps.error != NULL ? ps.error : "malformed";
	return j;
}

void
json_free(struct json **jp)
{
	struct json *j = *jp;
	size_t i;

	if (j == NULL)
		return;
	*jp = NULL;
	for (i = 0; i < j->len && (j->type == JSON_ARRAY || j->type == JSON_OBJECT); i++) {
		json_free(&j->items[i]);
		if (j->keys != NULL)
			free(j->keys[i]);
	}
	free(j->items);
	free(j->keys);
	free(j->str);
	free(j);
}

const struct json *
json_get(const struct json *obj, const char *k)
{
	size_t i;

	if (obj == NULL || obj->type != JSON_OBJECT)
		return NULL;
	for (i = 0; i < obj->len; i++) {
		if (strcmp(obj->keys[i], k) == 0)
			return obj->items[i];
	}
	return NULL;
}

const char *
json_get_str(const struct json *obj, const char *k)
{
	const struct json *v = json_get(obj, k);

	return v != NULL && v->type == JSON_STRING ? v->str : NULL;
}

double
json_get_num(const struct json *obj, const char *k, double def)
{
	const struct json *v = json_get(obj, k);

	return v != NULL && v->type == JSON_NUMBER ? v->num : def;
}

const struct json *
json_get_array(const struct json *obj, const char *k)
{
	const struct json *v = json_get(obj, k);

	return v != NULL && v->type == JSON_ARRAY ? v : NULL;
}

const struct json *
json_get_object(const struct json *obj, const char *k)
{
	const struct json *v = json_get(obj, k);

	return v != NULL && v->type == JSON_OBJECT ? v : NULL;
}
