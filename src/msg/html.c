#include "msg/html.h"
#include "msg/html_entities.h"
#include "msg/charset.h"
#include "msg/decode.h"
#include "msg/url.h"
#include "core/xalloc.h"

/* element stack depth we track; deeper elements inherit */
#define HTML_STACK 128
/* link text kept per <a> */
#define HTML_LINK_TEXT 1024
/* attribute bytes looked at per tag */
#define HTML_ATTR_MAX 8192

#define COLOR_NONE 0xffffffffu

/* tag names are kept to TAG_NAME_MAX - 1 bytes, here and in the parser */
#define TAG_NAME_MAX 16

struct elem {
	char name[TAG_NAME_MAX];
	bool hidden;
	uint32_t color, bg;
};

struct out {
	struct buf *b;
	bool space;      /* white space pending */
	size_t max;
	bool full;
};

struct html {
	const char *s;
	size_t len, pos;
	struct elem stack[HTML_STACK];
	size_t depth;    /* entries used */
	size_t overflow; /* elements opened beyond the stack */
	unsigned int pre;
	struct out text, hidden;
	unsigned int result;
	html_link_fn *cb;
	void *ctx;
	bool links_done;
	struct buf base;
	bool in_a;
	struct buf a_href, a_text;
	struct buf tmp, style, link, joined; /* scratch, kept across tags */
};

/* --- character references ---------------------------------------------- */

static int
ent_cmp(const char *name, size_t n, const char *ent)
{
	int c = strncmp(name, ent, n);

	if (c != 0)
		return c;
	return ent[n] == '\0' ? 0 : -1;
}

/* the entity called exactly name[0..n) in the given form, or NULL */
static const struct html_entity *
ent_find(const char *name, size_t n, bool semicolon)
{
	size_t lo = 0, hi = html_entities_count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = ent_cmp(name, n, html_entities[mid].name);

		if (c == 0) {
			/* the two forms sit next to each other */
			size_t k = mid;

			while (k > 0 && ent_cmp(name, n, html_entities[k - 1].name) == 0)
				k--;
			for (; k < html_entities_count &&
			       ent_cmp(name, n, html_entities[k].name) == 0;
			     k++) {
				if (html_entities[k].semicolon == semicolon)
					return &html_entities[k];
			}
			return NULL;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* a reference at s[0] == '&'; appends its text and returns the bytes
 * used, or 0 if it is none (the '&' is then literal) */
static size_t
entity(const char *s, size_t len, bool in_attr, struct buf *out)
{
	size_t i = 1, n;

	if (len < 3)
		return 0;
	if (s[1] == '#') {
		uint32_t cp = 0;
		bool hex = false, any = false;

		i = 2;
		if (i < len && (s[i] == 'x' || s[i] == 'X')) {
			hex = true;
			i++;
		}
		for (; i < len; i++) {
			int d;

			if (s[i] >= '0' && s[i] <= '9')
				d = s[i] - '0';
			else if (hex && s[i] >= 'a' && s[i] <= 'f')
				d = s[i] - 'a' + 10;
			else if (hex && s[i] >= 'A' && s[i] <= 'F')
				d = s[i] - 'A' + 10;
			else
				break;
			any = true;
			if (cp <= 0x10ffff)
				cp = cp * (hex ? 16 : 10) + (uint32_t)d;
		}
		if (!any)
			return 0;
		if (i < len && s[i] == ';')
			i++;
		if (cp == 0 || cp > 0x10ffff)
			cp = 0xfffd;
		else if (cp >= 0x80 && cp < 0xa0)
			cp = charset_cp1252((unsigned char)cp);
		charset_append_cp(out, cp);
		return i;
	}
	for (n = 1; n < len && n < 40 && is_alnum(s[n]); n++)
		;
	if (n == 1)
		return 0;
	if (n < len && s[n] == ';') {
		const struct html_entity *e = ent_find(s + 1, n - 1, true);

		if (e != NULL) {
			charset_append_cp(out, e->cp1);
			if (e->cp2 != 0)
				charset_append_cp(out, e->cp2);
			return n + 1;
		}
	}
	/* legacy names without ';': the longest one that is a prefix */
	for (i = n; i > 1; i--) {
		const struct html_entity *e = ent_find(s + 1, i - 1, false);

		if (e == NULL)
			continue;
		if (in_attr && i < len && (is_alnum(s[i]) || s[i] == '='))
			return 0;
		charset_append_cp(out, e->cp1);
		if (e->cp2 != 0)
			charset_append_cp(out, e->cp2);
		return i;
	}
	return 0;
}

void
html_decode_entities(const char *s, size_t len, bool in_attr, struct buf *out)
{
	size_t i = 0, run = 0;

	while (i < len) {
		const char *amp = memchr(s + i, '&', len - i);
		size_t used;

		if (amp == NULL)
			break;
		i = (size_t)(amp - s);
		buf_append(out, s + run, i - run);
		used = entity(s + i, len - i, in_attr, out);
		if (used == 0) {
			buf_append_char(out, '&');
			used = 1;
		}
		i += used;
		run = i;
	}
	buf_append(out, s + run, len - run);
}

/* --- output ------------------------------------------------------------ */

static void
out_bytes(struct html *h, struct out *o, const char *s, size_t n)
{
	if (o->full)
		return;
	if (o->max != 0 && o->b->len + n > o->max) {
		n = o->max > o->b->len ? o->max - o->b->len : 0;
		n = charset_utf8_cut(s, n);
		o->full = true;
		h->result |= HTML_R_TRUNCATED;
	}
	buf_append(o->b, s, n);
}

static bool
cur_hidden(const struct html *h)
{
	return h->depth > 0 && h->stack[h->depth - 1].hidden;
}

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

/* text (entities already decoded) into the visible or hidden output */
static void
emit(struct html *h, const char *s, size_t n)
{
	bool hidden = cur_hidden(h);
	struct out *o = hidden ? &h->hidden : &h->text;
	size_t i = 0;

	/* the common case, visible text outside links and far from the
	 * limit: white space collapsed straight into the output */
	if (!hidden && !h->in_a && h->pre == 0 && !o->full &&
	    (o->max == 0 || o->b->len + n + 1 <= o->max)) {
		struct buf *b = o->b;
		char *dst;
		bool space = o->space && b->len > 0 && b->data[b->len - 1] != '\n';

		buf_reserve(b, n + 1);
		dst = b->data + b->len;
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			if (is_space(c)) {
				if (dst > b->data && dst[-1] != '\n')
					space = true;
				continue;
			}
			if (space) {
				*dst++ = ' ';
				space = false;
			}
			*dst++ = (char)c;
		}
		b->len = (size_t)(dst - b->data);
		b->data[b->len] = '\0';
		o->space = space;
		return;
	}
	while (i < n) {
		size_t j = i;

		if (h->pre == 0 && is_space((unsigned char)s[i])) {
			while (i < n && is_space((unsigned char)s[i]))
				i++;
			if (o->b->len > 0 && o->b->data[o->b->len - 1] != '\n')
				o->space = true;
			continue;
		}
		while (j < n && (h->pre > 0 || !is_space((unsigned char)s[j])))
			j++;
		if (o->space && o->b->len > 0 && o->b->data[o->b->len - 1] != '\n') {
			out_bytes(h, o, " ", 1);
			if (h->in_a && !hidden && h->a_text.len < HTML_LINK_TEXT)
				buf_append_char(&h->a_text, ' ');
		}
		o->space = false;
		out_bytes(h, o, s + i, j - i);
		if (hidden) {
			h->result |= HTML_R_HIDDEN;
		} else if (h->in_a && h->a_text.len < HTML_LINK_TEXT) {
			size_t k = MIN(j - i, HTML_LINK_TEXT - h->a_text.len);

			buf_append(&h->a_text, s + i, charset_utf8_cut(s + i, k));
		}
		i = j;
	}
}

static void
newline(struct html *h, struct out *o)
{
	struct buf *b = o->b;

	o->space = false;
	while (b->len > 0 && b->data[b->len - 1] == ' ')
		buf_truncate(b, b->len - 1);
	if (b->len > 0 && b->data[b->len - 1] != '\n')
		out_bytes(h, o, "\n", 1);
}

static void
text_run(struct html *h, const char *s, size_t n)
{
	size_t i = 0, run = 0;

	while (i < n) {
		const char *amp = memchr(s + i, '&', n - i);
		size_t used;

		if (amp == NULL)
			break;
		i = (size_t)(amp - s);
		buf_reset(&h->tmp);
		used = entity(s + i, n - i, false, &h->tmp);
		if (used == 0) {
			i++;
			continue;
		}
		emit(h, s + run, i - run);
		emit(h, h->tmp.data, h->tmp.len);
		i += used;
		run = i;
	}
	emit(h, s + run, n - run);
}

/* --- colours and styles ------------------------------------------------- */

static const struct {
	const char *name;
	uint32_t rgb;
} colour_names[] = {
	{ "white", 0xffffff }, { "black", 0x000000 }, { "red", 0xff0000 },
	{ "green", 0x008000 }, { "blue", 0x0000ff }, { "yellow", 0xffff00 },
	{ "gray", 0x808080 }, { "grey", 0x808080 }, { "silver", 0xc0c0c0 },
	{ "whitesmoke", 0xf5f5f5 }, { "snow", 0xfffafa }, { "ivory", 0xfffff0 },
	{ "ghostwhite", 0xf8f8ff }, { "navy", 0x000080 }, { "maroon", 0x800000 },
	{ "lightgray", 0xd3d3d3 }, { "lightgrey", 0xd3d3d3 }, { "orange", 0xffa500 },
	{ "purple", 0x800080 }, { "transparent", COLOR_NONE },
};

static int
hexd(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* a CSS or attribute colour (lower-cased, no spaces) */
static uint32_t
parse_colour(const char *s, size_t n)
{
	size_t i;

	if (n > 0 && s[0] == '#') {
		s++;
		n--;
	} else {
		for (i = 0; i < N_ELEMENTS(colour_names); i++) {
			if (strlen(colour_names[i].name) == n && strncmp(s, colour_names[i].name, n) == 0)
				return colour_names[i].rgb;
		}
		if (n > 4 && strncmp(s, "rgb(", 4) == 0) {
			unsigned int v[3] = { 0, 0, 0 }, k = 0;

			for (i = 4; i < n && k < 3; i++) {
				if (s[i] >= '0' && s[i] <= '9')
					v[k] = v[k] * 10 + (unsigned int)(s[i] - '0');
				else if (s[i] == ',')
					k++;
				else if (s[i] == ')')
					break;
				if (v[k] > 255)
					v[k] = 255;
			}
			return v[0] << 16 | v[1] << 8 | v[2];
		}
	}
	if (n == 3) {
		int r = hexd(s[0]), g = hexd(s[1]), b = hexd(s[2]);

		if (r >= 0 && g >= 0 && b >= 0)
			return (uint32_t)(r * 17) << 16 | (uint32_t)(g * 17) << 8 | (uint32_t)(b * 17);
	} else if (n == 6) {
		uint32_t v = 0;

		for (i = 0; i < 6; i++) {
			int d = hexd(s[i]);

			if (d < 0)
				return COLOR_NONE;
			v = v << 4 | (uint32_t)d;
		}
		return v;
	}
	return COLOR_NONE;
}

static bool
close_colours(uint32_t a, uint32_t b)
{
	int d = 0, k;

	if (a == COLOR_NONE || b == COLOR_NONE)
		return false;
	for (k = 0; k < 24; k += 8) {
		int x = (int)((a >> k) & 255) - (int)((b >> k) & 255);

		d += x < 0 ? -x : x;
	}
	return d < 30;
}

/* a CSS size that renders nothing: 0, or at most 1px */
static bool
tiny_size(const char *v, size_t n)
{
	size_t i = 0;
	unsigned int num = 0;

	while (i < n && v[i] >= '0' && v[i] <= '9')
		num = num * 10 + (unsigned int)(v[i++] - '0');
	if (i == 0 || num > 1)
		return false;
	if (i < n && v[i] == '.')
		return num == 0 && !(i + 1 < n && v[i + 1] >= '5');
	if (num == 0)
		return true;
	return i + 2 == n && strncmp(v + i, "px", 2) == 0;
}

/* apply a style="" declaration list (lower-cased, spaces removed) */
static void
apply_style(struct elem *e, const char *s, size_t n)
{
	bool zero_height = false, overflow_hidden = false;
	size_t i = 0;

	while (i < n) {
		const char *semi = memchr(s + i, ';', n - i);
		size_t end = semi != NULL ? (size_t)(semi - s) : n;
		const char *colon = memchr(s + i, ':', end - i);

		if (colon != NULL) {
			struct view prop = { s + i, (size_t)(colon - (s + i)) };
			const char *v = colon + 1;
			size_t vn = (size_t)(s + end - v);
			const char *imp = vn >= 10 ? memmem(v, vn, "!important", 10) : NULL;

			if (imp != NULL)
				vn = (size_t)(imp - v);
			if (view_eq_cstr_nocase(prop, "display") && vn == 4 && memcmp(v, "none", 4) == 0)
				e->hidden = true;
			else if (view_eq_cstr_nocase(prop, "visibility") && vn == 6 &&
				 memcmp(v, "hidden", 6) == 0)
				e->hidden = true;
			else if (view_eq_cstr_nocase(prop, "opacity") && vn > 0 && v[0] == '0' &&
				 (vn == 1 || (vn >= 2 && v[1] == '.' && (vn == 2 || v[2] == '0'))))
				e->hidden = true;
			else if (view_eq_cstr_nocase(prop, "font-size") && tiny_size(v, vn))
				e->hidden = true;
			else if (view_eq_cstr_nocase(prop, "mso-hide") && vn == 3 && memcmp(v, "all", 3) == 0)
				e->hidden = true;
			else if ((view_eq_cstr_nocase(prop, "max-height") ||
				  view_eq_cstr_nocase(prop, "height")) && tiny_size(v, vn))
				zero_height = true;
			else if (view_eq_cstr_nocase(prop, "overflow") && vn == 6 &&
				 memcmp(v, "hidden", 6) == 0)
				overflow_hidden = true;
			else if (view_eq_cstr_nocase(prop, "color"))
				e->color = parse_colour(v, vn);
			else if (view_eq_cstr_nocase(prop, "background-color") ||
				 view_eq_cstr_nocase(prop, "background")) {
				uint32_t c = parse_colour(v, vn);

				if (c != COLOR_NONE)
					e->bg = c;
			}
		}
		i = end + 1;
	}
	if (zero_height && overflow_hidden)
		e->hidden = true;
}

/* --- tags --------------------------------------------------------------- */

struct attr {
	struct view name, value;
};

#define MAX_ATTRS 32

/* the attributes we look at, as bits: most tags have none of them */
enum attr_bit {
	AB_HREF = 1u << 0, AB_SRC = 1u << 1, AB_STYLE = 1u << 2, AB_HIDDEN = 1u << 3,
	AB_BGCOLOR = 1u << 4, AB_COLOR = 1u << 5, AB_BACKGROUND = 1u << 6,
	AB_ACTION = 1u << 7, AB_HTTP_EQUIV = 1u << 8, AB_CONTENT = 1u << 9,
};

static unsigned int
attr_bit(struct view n)
{
	switch (n.len) {
	case 3: return view_eq_cstr_nocase(n, "src") ? AB_SRC : 0;
	case 4: return view_eq_cstr_nocase(n, "href") ? AB_HREF : 0;
	case 5:
		if (view_eq_cstr_nocase(n, "style"))
			return AB_STYLE;
		return view_eq_cstr_nocase(n, "color") ? AB_COLOR : 0;
	case 6:
		if (view_eq_cstr_nocase(n, "hidden"))
			return AB_HIDDEN;
		return view_eq_cstr_nocase(n, "action") ? AB_ACTION : 0;
	case 7:
		if (view_eq_cstr_nocase(n, "bgcolor"))
			return AB_BGCOLOR;
		return view_eq_cstr_nocase(n, "content") ? AB_CONTENT : 0;
	case 10:
		if (view_eq_cstr_nocase(n, "background"))
			return AB_BACKGROUND;
		return view_eq_cstr_nocase(n, "http-equiv") ? AB_HTTP_EQUIV : 0;
	}
	return 0;
}

/* parse "<name attrs>" at h->pos ('<' + letter); returns the attribute
 * count, fills name; h->pos after '>' */
static size_t
parse_tag(struct html *h, char *name, size_t name_size, struct attr *attrs, bool *self_close,
	  unsigned int *mask_r)
{
	const char *s = h->s;
	size_t i = h->pos + 1, n = 0, na = 0, limit;

	*self_close = false;
	*mask_r = 0;
	while (i < h->len && (is_alnum(s[i]) || s[i] == ':' || s[i] == '-' || s[i] == '_')) {
		if (n + 1 < name_size)
			name[n++] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
		i++;
	}
	name[n] = '\0';
	limit = MIN(h->len, i + HTML_ATTR_MAX);
	while (i < h->len) {
		size_t ns, ne, vs, ve;

		while (i < h->len && (is_space((unsigned char)s[i]) || s[i] == '/')) {
			if (s[i] == '/' && i + 1 < h->len && s[i + 1] == '>')
				*self_close = true;
			i++;
		}
		if (i >= h->len || s[i] == '>')
			break;
		if (i >= limit) {
			/* too many attribute bytes: skip to the end of the tag */
			const char *gt = memchr(s + i, '>', h->len - i);

			i = gt != NULL ? (size_t)(gt - s) : h->len;
			break;
		}
		ns = i;
		while (i < h->len && !is_space((unsigned char)s[i]) && s[i] != '=' && s[i] != '>' &&
		       !(s[i] == '/' && i + 1 < h->len && s[i + 1] == '>'))
			i++;
		ne = i;
		while (i < h->len && is_space((unsigned char)s[i]))
			i++;
		vs = ve = i;
		if (i < h->len && s[i] == '=') {
			i++;
			while (i < h->len && is_space((unsigned char)s[i]))
				i++;
			if (i < h->len && (s[i] == '"' || s[i] == '\'')) {
				const char *q = memchr(s + i + 1, s[i], h->len - i - 1);

				vs = i + 1;
				ve = q != NULL ? (size_t)(q - s) : h->len;
				i = q != NULL ? ve + 1 : h->len;
			} else {
				vs = i;
				while (i < h->len && !is_space((unsigned char)s[i]) && s[i] != '>')
					i++;
				ve = i;
			}
		}
		if (na < MAX_ATTRS && ne > ns) {
			attrs[na].name = (struct view){ s + ns, ne - ns };
			attrs[na].value = (struct view){ s + vs, ve - vs };
			*mask_r |= attr_bit(attrs[na].name);
			na++;
		}
	}
	h->pos = i < h->len ? i + 1 : h->len;
	return na;
}

static const struct attr *
attr_get(const struct attr *a, size_t n, unsigned int mask, unsigned int bit, const char *name)
{
	size_t i;

	if (!(mask & bit))
		return NULL;
	for (i = 0; i < n; i++) {
		if (view_eq_cstr_nocase(a[i].name, name))
			return &a[i];
	}
	return NULL;
}

/* what a tag name does to the text */
enum tag_class {
	TAG_VOID = 1u << 0,  /* no end tag: never on the stack */
	TAG_BLOCK = 1u << 1, /* a line break before and after */
	TAG_RAW = 1u << 2,   /* content is not text: skipped to the end tag */
	TAG_CELL = 1u << 3,  /* a space before */
};

/* the tags that matter by name */
enum tag_id { T_OTHER, T_A, T_AREA, T_BASE, T_BR, T_FONT, T_FORM, T_LINK, T_META, T_PRE };

struct tag_info {
	const char *name;
	unsigned int cls;
	enum tag_id id;
};

static const struct tag_info tags[] = {
	/* sorted by name (strcmp) */
	{ "a", 0, T_A },
	{ "address", TAG_BLOCK, T_OTHER },
	{ "area", TAG_VOID, T_AREA },
	{ "article", TAG_BLOCK, T_OTHER },
	{ "aside", TAG_BLOCK, T_OTHER },
	{ "base", TAG_VOID, T_BASE },
	{ "blockquote", TAG_BLOCK, T_OTHER },
	{ "body", TAG_BLOCK, T_OTHER },
	{ "br", TAG_VOID, T_BR },
	{ "caption", TAG_BLOCK, T_OTHER },
	{ "center", TAG_BLOCK, T_OTHER },
	{ "col", TAG_VOID, T_OTHER },
	{ "dd", TAG_BLOCK, T_OTHER },
	{ "details", TAG_BLOCK, T_OTHER },
	{ "div", TAG_BLOCK, T_OTHER },
	{ "dl", TAG_BLOCK, T_OTHER },
	{ "dt", TAG_BLOCK, T_OTHER },
	{ "embed", TAG_VOID, T_OTHER },
	{ "fieldset", TAG_BLOCK, T_OTHER },
	{ "figcaption", TAG_BLOCK, T_OTHER },
	{ "figure", TAG_BLOCK, T_OTHER },
	{ "font", 0, T_FONT },
	{ "footer", TAG_BLOCK, T_OTHER },
	{ "form", TAG_BLOCK, T_FORM },
	{ "frame", TAG_VOID, T_OTHER },
	{ "h1", TAG_BLOCK, T_OTHER },
	{ "h2", TAG_BLOCK, T_OTHER },
	{ "h3", TAG_BLOCK, T_OTHER },
	{ "h4", TAG_BLOCK, T_OTHER },
	{ "h5", TAG_BLOCK, T_OTHER },
	{ "h6", TAG_BLOCK, T_OTHER },
	{ "header", TAG_BLOCK, T_OTHER },
	{ "hr", TAG_VOID | TAG_BLOCK, T_OTHER },
	{ "html", TAG_BLOCK, T_OTHER },
	{ "iframe", TAG_RAW, T_OTHER },
	{ "img", TAG_VOID, T_OTHER },
	{ "input", TAG_VOID, T_OTHER },
	{ "keygen", TAG_VOID, T_OTHER },
	{ "legend", TAG_BLOCK, T_OTHER },
	{ "li", TAG_BLOCK, T_OTHER },
	{ "link", TAG_VOID, T_LINK },
	{ "main", TAG_BLOCK, T_OTHER },
	{ "meta", TAG_VOID, T_META },
	{ "nav", TAG_BLOCK, T_OTHER },
	{ "noembed", TAG_RAW, T_OTHER },
	{ "noframes", TAG_RAW, T_OTHER },
	{ "object", TAG_RAW, T_OTHER },
	{ "ol", TAG_BLOCK, T_OTHER },
	{ "option", TAG_BLOCK, T_OTHER },
	{ "p", TAG_BLOCK, T_OTHER },
	{ "param", TAG_VOID, T_OTHER },
	{ "pre", TAG_BLOCK, T_PRE },
	{ "script", TAG_RAW, T_OTHER },
	{ "section", TAG_BLOCK, T_OTHER },
	{ "source", TAG_VOID, T_OTHER },
	{ "style", TAG_RAW, T_OTHER },
	{ "summary", TAG_BLOCK, T_OTHER },
	{ "table", TAG_BLOCK, T_OTHER },
	{ "tbody", TAG_BLOCK, T_OTHER },
	{ "td", TAG_CELL, T_OTHER },
	{ "template", TAG_RAW, T_OTHER },
	{ "tfoot", TAG_BLOCK, T_OTHER },
	{ "th", TAG_CELL, T_OTHER },
	{ "thead", TAG_BLOCK, T_OTHER },
	{ "title", TAG_RAW | TAG_BLOCK, T_OTHER },
	{ "tr", TAG_BLOCK, T_OTHER },
	{ "track", TAG_VOID, T_OTHER },
	{ "ul", TAG_BLOCK, T_OTHER },
	{ "wbr", TAG_VOID, T_OTHER },
	{ "xmp", TAG_RAW, T_OTHER },
};

static const struct tag_info *
tag_lookup(const char *name)
{
	size_t lo = 0, hi = N_ELEMENTS(tags);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, tags[mid].name);

		if (c == 0)
			return &tags[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void
link_out(struct html *h, enum html_link_kind kind, struct view url, struct view text)
{
	struct buf *decoded = &h->link, *joined = &h->joined;
	struct view u;
	size_t i, n;
	bool has_scheme = false;

	if (h->links_done || h->cb == NULL || url.len == 0)
		return;
	buf_reset(decoded);
	buf_reset(joined);
	html_decode_entities(url.p, url.len, true, decoded);
	/* as browsers parse it (WHATWG URL): tabs and line breaks anywhere
	 * are dropped, C0 controls and spaces around it trimmed, so that
	 * "ht&#9;tp://evil.example" is the link it looks like to nobody */
	for (i = 0, n = 0; i < decoded->len; i++) {
		char c = decoded->data[i];

		if (c != '\t' && c != '\n' && c != '\r')
			decoded->data[n++] = c;
	}
	buf_truncate(decoded, n);
	u = view_from_buf(decoded);
	while (u.len > 0 && (unsigned char)u.p[0] <= 0x20) {
		u.p++;
		u.len--;
	}
	while (u.len > 0 && (unsigned char)u.p[u.len - 1] <= 0x20)
		u.len--;
	for (i = 0; i < u.len && i < 12 && ((u.p[i] >= 'a' && u.p[i] <= 'z') ||
					    (u.p[i] >= 'A' && u.p[i] <= 'Z')); i++)
		;
	has_scheme = i > 0 && i < u.len && u.p[i] == ':';
	if (!has_scheme && !view_has_prefix_nocase(u, "www.")) {
		if (h->base.len == 0 && u.len > 2 && (u.p[0] == '/' || u.p[0] == '\\') &&
		    (u.p[1] == '/' || u.p[1] == '\\')) {
			/* "//host/x": webmail resolves it against its own
			 * origin; the host is what matters */
			buf_append_str(joined, "http:");
			buf_append_view(joined, u);
		} else if (h->base.len == 0 || u.len == 0 || u.p[0] == '#') {
			return;
		} else if (!url_join(h->base.data, h->base.len, u.p, u.len, joined)) {
			return;
		}
		u = view_from_buf(joined);
	}
	if (!h->cb(h->ctx, kind, u, text))
		h->links_done = true;
}

static void
end_link(struct html *h)
{
	struct view text;

	if (!h->in_a)
		return;
	h->in_a = false;
	text = view_trim(view_from_buf(&h->a_text));
	link_out(h, HTML_LINK_HREF, view_from_buf(&h->a_href), text);
	buf_reset(&h->a_href);
	buf_reset(&h->a_text);
}

/* 'x' or "x" -> x; an unmatched quote is dropped alone */
static struct view
unquote(struct view v)
{
	if (v.len > 0 && (v.p[0] == '"' || v.p[0] == '\'')) {
		char q = v.p[0];

		v.p++;
		v.len--;
		if (v.len > 0 && v.p[v.len - 1] == q)
			v.len--;
	}
	return v;
}

/* CSS url(...) references in a style attribute */
static void
style_urls(struct html *h, struct view st)
{
	size_t i = 0;

	while (i + 4 < st.len) {
		const char *u = decode_find(st.p + i, st.len - i, "url(", 4);
		size_t a, b;

		if (u == NULL)
			break;
		a = (size_t)(u - st.p) + 4;
		for (b = a; b < st.len && st.p[b] != ')'; b++)
			;
		{
			struct view v = { st.p + a, b - a };

			v = unquote(view_trim(v));
			link_out(h, HTML_LINK_SRC, v, VIEW_NULL);
		}
		i = b;
	}
}

static void
push_elem(struct html *h, const char *name, enum tag_id id, const struct attr *attrs,
	  size_t na, unsigned int mask)
{
	struct elem *e;
	const struct attr *a;
	struct buf *st = &h->style;

	if (h->depth >= HTML_STACK) {
		h->overflow++;
		return;
	}
	e = &h->stack[h->depth];
	if (h->depth > 0) {
		*e = h->stack[h->depth - 1];
	} else {
		e->hidden = false;
		e->color = COLOR_NONE;
		e->bg = 0xffffff; /* the reader's white page */
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	if (attr_get(attrs, na, mask, AB_HIDDEN, "hidden") != NULL)
		e->hidden = true;
	if ((a = attr_get(attrs, na, mask, AB_BGCOLOR, "bgcolor")) != NULL) {
		uint32_t c;

		buf_reset(&h->tmp);
		html_decode_entities(a->value.p, a->value.len, true, &h->tmp);
		c = parse_colour(h->tmp.data, h->tmp.len);
		if (c != COLOR_NONE)
			e->bg = c;
	}
	if (id == T_FONT &&
	    (a = attr_get(attrs, na, mask, AB_COLOR, "color")) != NULL) {
		buf_reset(&h->tmp);
		html_decode_entities(a->value.p, a->value.len, true, &h->tmp);
		e->color = parse_colour(h->tmp.data, h->tmp.len);
	}
	if ((a = attr_get(attrs, na, mask, AB_STYLE, "style")) != NULL) {
		size_t i;

		buf_reset(st);
		html_decode_entities(a->value.p, a->value.len, true, st);
		/* lower-case, spaces out */
		buf_reset(&h->tmp);
		buf_reserve(&h->tmp, st->len);
		for (i = 0; i < st->len; i++) {
			char c = st->data[i];

			if (!is_space((unsigned char)c))
				h->tmp.data[h->tmp.len++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
		}
		h->tmp.data[h->tmp.len] = '\0';
		apply_style(e, h->tmp.data, h->tmp.len);
		if (st->len > 4 && memmem(st->data, st->len, "url(", 4) != NULL)
			style_urls(h, view_from_buf(st));
	}
	if (close_colours(e->color, e->bg))
		e->hidden = true;
	h->depth++;
}

static void
pop_elem(struct html *h, const char *name)
{
	size_t i;

	if (h->overflow > 0) {
		h->overflow--;
		return;
	}
	/* close up to the matching open element, if it is near the top */
	for (i = h->depth; i > 0 && h->depth - i < 32; i--) {
		if (strcmp(h->stack[i - 1].name, name) == 0) {
			h->depth = i - 1;
			return;
		}
	}
}

static void
skip_raw(struct html *h, const char *name)
{
	size_t n = strlen(name), i = h->pos;

	while (i < h->len) {
		const char *lt = memchr(h->s + i, '<', h->len - i);

		if (lt == NULL)
			break;
		i = (size_t)(lt - h->s);
		if (i + 2 + n <= h->len && h->s[i + 1] == '/' && strncasecmp(h->s + i + 2, name, n) == 0) {
			const char *gt = memchr(h->s + i, '>', h->len - i);

			h->pos = gt != NULL ? (size_t)(gt - h->s) + 1 : h->len;
			return;
		}
		i++;
	}
	h->pos = h->len;
}

static void
start_tag(struct html *h)
{
	struct attr attrs[MAX_ATTRS];
	char name[TAG_NAME_MAX];
	const struct attr *a;
	bool self_close;
	unsigned int mask;
	size_t na = parse_tag(h, name, sizeof(name), attrs, &self_close, &mask);
	const struct tag_info *ti = tag_lookup(name);
	unsigned int cls = ti != NULL ? ti->cls : 0;
	enum tag_id id = ti != NULL ? ti->id : T_OTHER;

	if (id == T_BR) {
		struct out *o = cur_hidden(h) ? &h->hidden : &h->text;

		while (o->b->len > 0 && o->b->data[o->b->len - 1] == ' ')
			buf_truncate(o->b, o->b->len - 1);
		o->space = false;
		out_bytes(h, o, "\n", 1);
		return;
	}
	if (cls & TAG_CELL)
		(cur_hidden(h) ? &h->hidden : &h->text)->space = true;
	else if (cls & TAG_BLOCK)
		newline(h, cur_hidden(h) ? &h->hidden : &h->text);
	if (id == T_A || id == T_AREA) {
		end_link(h);
		if ((a = attr_get(attrs, na, mask, AB_HREF, "href")) != NULL) {
			if (id == T_AREA) {
				link_out(h, HTML_LINK_HREF, a->value, VIEW_NULL);
			} else {
				buf_append_view(&h->a_href, a->value);
				h->in_a = true;
			}
		}
	} else if (id == T_BASE &&
		   (a = attr_get(attrs, na, mask, AB_HREF, "href")) != NULL) {
		buf_reset(&h->base);
		html_decode_entities(a->value.p, a->value.len, true, &h->base);
	} else if (id == T_FORM &&
		   (a = attr_get(attrs, na, mask, AB_ACTION, "action")) != NULL) {
		link_out(h, HTML_LINK_OTHER, a->value, VIEW_NULL);
	} else if (id == T_LINK &&
		   (a = attr_get(attrs, na, mask, AB_HREF, "href")) != NULL) {
		link_out(h, HTML_LINK_OTHER, a->value, VIEW_NULL);
	} else if (id == T_META &&
		   (a = attr_get(attrs, na, mask, AB_HTTP_EQUIV, "http-equiv")) != NULL &&
		   view_eq_cstr_nocase(view_trim(a->value), "refresh") &&
		   (a = attr_get(attrs, na, mask, AB_CONTENT, "content")) != NULL) {
		const char *u = memchr(a->value.p, '=', a->value.len);

		if (u != NULL) {
			struct view v = { u + 1, a->value.len - (size_t)(u + 1 - a->value.p) };

			v = unquote(view_trim(v));
			link_out(h, HTML_LINK_OTHER, v, VIEW_NULL);
		}
	}
	if ((a = attr_get(attrs, na, mask, AB_SRC, "src")) != NULL && id != T_A)
		link_out(h, HTML_LINK_SRC, a->value, VIEW_NULL);
	if ((a = attr_get(attrs, na, mask, AB_BACKGROUND, "background")) != NULL)
		link_out(h, HTML_LINK_SRC, a->value, VIEW_NULL);
	if (cls & TAG_RAW) {
		if (!self_close)
			skip_raw(h, name);
		return;
	}
	if (id == T_PRE)
		h->pre++;
	if (!self_close && !(cls & TAG_VOID))
		push_elem(h, name, id, attrs, na, mask);
}

static void
end_tag(struct html *h)
{
	const struct tag_info *ti;
	char name[TAG_NAME_MAX];
	size_t i = h->pos + 2, n = 0;
	const char *gt;

	while (i < h->len && (is_alnum(h->s[i]) || h->s[i] == ':' || h->s[i] == '-')) {
		if (n + 1 < sizeof(name))
			name[n++] = (char)((h->s[i] >= 'A' && h->s[i] <= 'Z') ? h->s[i] + 32 : h->s[i]);
		i++;
	}
	name[n] = '\0';
	gt = memchr(h->s + i, '>', h->len - i);
	h->pos = gt != NULL ? (size_t)(gt - h->s) + 1 : h->len;
	ti = tag_lookup(name);
	if (ti != NULL && ti->id == T_A)
		end_link(h);
	if (ti != NULL && ti->id == T_PRE && h->pre > 0)
		h->pre--;
	if (ti != NULL && (ti->cls & TAG_BLOCK))
		newline(h, cur_hidden(h) ? &h->hidden : &h->text);
	pop_elem(h, name);
}

unsigned int
html_to_text(const char *s, size_t len, struct buf *text, struct buf *hidden, size_t max_text,
	     html_link_fn *cb, void *ctx)
{
	struct html *h = xcalloc(1, sizeof(*h));
	unsigned int r;

	h->s = s;
	h->len = len;
	h->text.b = text;
	h->text.max = max_text == 0 ? 0 : text->len + max_text;
	h->hidden.b = hidden;
	h->hidden.max = max_text == 0 ? 0 : hidden->len + max_text;
	h->cb = cb;
	h->ctx = ctx;
	while (h->pos < h->len) {
		const char *lt = memchr(s + h->pos, '<', len - h->pos);
		size_t at = lt != NULL ? (size_t)(lt - s) : len;

		if (at > h->pos)
			text_run(h, s + h->pos, at - h->pos);
		h->pos = at;
		if (at >= len)
			break;
		if (at + 1 >= len) {
			text_run(h, "<", 1);
			h->pos = len;
			break;
		}
		if (s[at + 1] == '!' || s[at + 1] == '?') {
			const char *end;

			if (at + 3 < len && s[at + 2] == '-' && s[at + 3] == '-') {
				end = decode_find(s + at + 4, len - at - 4, "-->", 3);
				h->pos = end != NULL ? (size_t)(end - s) + 3 : len;
			} else {
				end = memchr(s + at, '>', len - at);
				h->pos = end != NULL ? (size_t)(end - s) + 1 : len;
			}
		} else if (s[at + 1] == '/' && at + 2 < len && is_alnum(s[at + 2])) {
			end_tag(h);
		} else if (((s[at + 1] >= 'a' && s[at + 1] <= 'z') ||
			    (s[at + 1] >= 'A' && s[at + 1] <= 'Z'))) {
			start_tag(h);
		} else {
			text_run(h, "<", 1);
			h->pos = at + 1;
		}
	}
	end_link(h);
	newline(h, &h->text);
	newline(h, &h->hidden);
	r = h->result;
	buf_deinit(&h->base);
	buf_deinit(&h->a_href);
	buf_deinit(&h->a_text);
	buf_deinit(&h->tmp);
	buf_deinit(&h->style);
	buf_deinit(&h->link);
	buf_deinit(&h->joined);
	free(h);
	return r;
}

bool
html_meta_charset(const char *s, size_t len, char *buf, size_t size)
{
	size_t i = 0, lim = MIN(len, 4096);

	while (i < lim) {
		const char *m = memchr(s + i, '<', lim - i);
		size_t at, end, k, n;
		const char *cs;

		if (m == NULL)
			return false;
		at = (size_t)(m - s);
		i = at + 1;
		if (at + 5 > lim || strncasecmp(s + at + 1, "meta", 4) != 0)
			continue;
		for (end = at; end < lim && s[end] != '>'; end++)
			;
		cs = NULL;
		for (k = at; k + 8 <= end; k++) {
			if (strncasecmp(s + k, "charset=", 8) == 0) {
				cs = s + k + 8;
				break;
			}
		}
		if (cs == NULL)
			continue;
		while (cs < s + end && (*cs == '"' || *cs == '\'' || *cs == ' '))
			cs++;
		for (n = 0; cs + n < s + end && n + 1 < size &&
			    (is_alnum(cs[n]) || cs[n] == '-' || cs[n] == '_' || cs[n] == ':' || cs[n] == '.');
		     n++)
			buf[n] = cs[n];
		buf[n] = '\0';
		if (n > 0)
			return true;
	}
	return false;
}
