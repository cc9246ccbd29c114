#include "core/buf.h"
#include "core/xalloc.h"

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_deinit(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reserve(struct buf *b, size_t more)
{
	size_t need, cap;

	if (__builtin_add_overflow(b->len, more, &need) || need == SIZE_MAX)
		panic("buffer size overflow");
	need++;
	if (need <= b->cap)
		return;
	cap = b->cap < 64 ? 64 : b->cap;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

void
buf_append(struct buf *b, const void *p, size_t len)
{
	buf_reserve(b, len);
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
buf_append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_append_char(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void
buf_append_view(struct buf *b, struct view v)
{
	buf_append(b, v.p, v.len);
}

void
buf_vappendf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	buf_reserve(b, 64);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		panic("vsnprintf failed");
	if ((size_t)n >= b->cap - b->len) {
		buf_reserve(b, (size_t)n);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		if (n < 0)
			panic("vsnprintf failed");
	}
	b->len += (size_t)n;
}

void
buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vappendf(b, fmt, ap);
	va_end(ap);
}

void
buf_append_escaped(struct buf *b, const void *p, size_t len, size_t max_in)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = p;
	size_t i, n = len > max_in ? max_in : len;

	buf_reserve(b, n + 8);
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		switch (c) {
		case '\r': buf_append(b, "\\r", 2); break;
		case '\n': buf_append(b, "\\n", 2); break;
		case '\0': buf_append(b, "\\0", 2); break;
		case '\\': buf_append(b, "\\\\", 2); break;
		case '"': buf_append(b, "\\\"", 2); break;
		default:
			if (c >= 0x20 && c < 0x7f) {
				buf_append_char(b, (char)c);
			} else {
				char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
				buf_append(b, e, 4);
			}
		}
	}
	if (n < len)
		buf_append(b, "...", 3);
}

const char *
buf_cstr(const struct buf *b)
{
	return b->data == NULL ? "" : b->data;
}

char *
buf_steal(struct buf *b)
{
	char *r = b->data == NULL ? xstrdup("") : b->data;

	buf_init(b);
	return r;
}

bool
view_eq(struct view a, struct view b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool
view_eq_nocase(struct view a, struct view b)
{
	return a.len == b.len && (a.len == 0 || strncasecmp(a.p, b.p, a.len) == 0);
}

bool
view_eq_cstr_nocase(struct view a, const char *s)
{
	return view_eq_nocase(a, view_from_cstr(s));
}

bool
view_has_prefix_nocase(struct view v, const char *prefix)
{
	size_t n = strlen(prefix);

	return v.len >= n && strncasecmp(v.p, prefix, n) == 0;
}

struct view
view_trim(struct view v)
{
	while (v.len > 0 && (v.p[0] == ' ' || v.p[0] == '\t')) {
		v.p++;
		v.len--;
	}
	while (v.len > 0 && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t'))
		v.len--;
	return v;
}

char *
view_dup(struct view v)
{
	return xmemdup0(v.p, v.len);
}
