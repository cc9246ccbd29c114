#include "smtp/smtp_reply.h"

#define QUEUE_ID_MAX 64

static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

void
smtp_reply_init(struct smtp_reply *r)
{
	r->code = 0;
	r->enhanced[0] = '\0';
	r->nlines = 0;
	buf_init(&r->text);
	r->complete = false;
}

void
smtp_reply_deinit(struct smtp_reply *r)
{
	buf_deinit(&r->text);
	smtp_reply_init(r);
}

void
smtp_reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->enhanced[0] = '\0';
	r->nlines = 0;
	buf_reset(&r->text);
	r->complete = false;
}

/*
 * Length of an RFC 3463 enhanced status code at the start of p whose class
 * is `class` (the reply's first digit: only 2, 4 and 5 have one), followed
 * by a space or the end; 0 if there is none.
 */
static size_t
enhanced_len(const unsigned char *p, size_t len, char class)
{
	size_t i, part, n;

	if (class != '2' && class != '4' && class != '5')
		return 0;
	if (len < 5 || p[0] != (unsigned char)class || p[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; i < len && is_digit(p[i]) && n < 4; i++, n++)
			;
		if (n == 0 || n > 3)
			return 0;
		if (part == 0 && (i == len || p[i++] != '.'))
			return 0;
	}
	if (i < len && p[i] != ' ')
		return 0;
	return i;
}

int
smtp_reply_feed_line(struct smtp_reply *r, const char *line, size_t len)
{
	const unsigned char *p = (const unsigned char *)line;
	size_t i, n, start;
	bool last;
	int code;

	if (r->complete || len > BOUND_REPLY_LINE ||
	    r->nlines >= BOUND_REPLY_LINES || len < 3)
		return -1;
	if (p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '5' ||
	    !is_digit(p[2]))
		return -1;
	if (len == 3)
		last = true;
	else if (p[3] == ' ')
		last = true;
	else if (p[3] == '-')
		last = false;
	else
		return -1;
	code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (r->code != 0 && r->code != code)
		return -1;

	start = len == 3 ? 3 : 4;
	if (r->nlines == 0) {
		r->code = code;
		n = enhanced_len(p + start, len - start, (char)p[0]);
		if (n > 0) {
			memcpy(r->enhanced, p + start, n);
			r->enhanced[n] = '\0';
		}
	} else if (r->enhanced[0] != '\0') {
		n = enhanced_len(p + start, len - start, (char)p[0]);
	} else {
		n = 0;
	}
	if (n > 0) {
		start += n;
		if (start < len)
			start++; /* the space after the code */
	}

	buf_reserve(&r->text, len - start + 1);
	buf_append(&r->text, line + start, len - start);
	/* Only 0x20..0x7e and 0x80..0xff survive: no CR, LF, NUL, TAB, DEL
	 * can travel from the downstream into a client reply or a log. */
	for (i = r->text.len - (len - start); i < r->text.len; i++) {
		unsigned char c = (unsigned char)r->text.data[i];

		if (c < 0x20 || c == 0x7f)
			r->text.data[i] = '?';
	}
	buf_append_char(&r->text, '\n');
	r->nlines++;
	if (last) {
		r->complete = true;
		return 1;
	}
	return 0;
}

struct view
smtp_reply_line(const struct smtp_reply *r, size_t i)
{
	const char *p = buf_cstr(&r->text), *end = p + r->text.len, *nl;
	size_t k;

	if (i >= r->nlines)
		return VIEW_NULL;
	for (k = 0;; k++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			panic("smtp_reply: text has fewer lines than nlines");
		if (k == i)
			return (struct view){ p, (size_t)(nl - p) };
		p = nl + 1;
	}
}

void
smtp_reply_format(const struct smtp_reply *r, struct buf *out)
{
	struct view t;
	size_t i;

	for (i = 0; i < r->nlines; i++) {
		t = smtp_reply_line(r, i);
		buf_appendf(out, "%03d%c", r->code,
			    i + 1 == r->nlines ? ' ' : '-');
		if (r->enhanced[0] != '\0') {
			buf_append_str(out, r->enhanced);
			if (t.len > 0)
				buf_append_char(out, ' ');
		}
		buf_append_view(out, t);
		buf_append(out, "\r\n", 2);
	}
}

/* --- EHLO capabilities --------------------------------------------------- */

static bool
is_attr_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       is_digit(c) || c == '-' || c == '_';
}

/* Add the space-separated words of v to the list in dst (size dstsize),
 * upper-cased, each once; words with other than [A-Za-z0-9_-] are skipped
 * because these lists end up in commands we send. Stops at the first word
 * that does not fit. */
static void
attrs_add(char *dst, size_t dstsize, struct view v)
{
	char word[128];
	size_t i = 0, start, n, dlen, k;
	bool ok;

	while (i < v.len) {
		while (i < v.len && v.p[i] == ' ')
			i++;
		start = i;
		ok = true;
		while (i < v.len && v.p[i] != ' ') {
			if (!is_attr_char((unsigned char)v.p[i]))
				ok = false;
			i++;
		}
		n = i - start;
		if (n == 0 || !ok || n >= sizeof(word))
			continue;
		for (k = 0; k < n; k++) {
			unsigned char c = (unsigned char)v.p[start + k];

			word[k] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
		}
		word[n] = '\0';
		if (smtp_caps_has_attr(dst, word))
			continue;
		dlen = strlen(dst);
		if (dlen + (dlen > 0 ? 1 : 0) + n + 1 > dstsize)
			return;
		if (dlen > 0)
			dst[dlen++] = ' ';
		memcpy(dst + dlen, word, n + 1);
	}
}

static uint64_t
parse_size(struct view v)
{
	uint64_t n = 0;
	size_t i;

	/* the first word only; anything but digits means "no known limit",
	 * as Postfix's smtp client ignores a bad SIZE value */
	for (i = 0; i < v.len && v.p[i] != ' '; i++) {
		if (!is_digit((unsigned char)v.p[i]) ||
		    __builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, (uint64_t)(v.p[i] - '0'), &n))
			return 0;
	}
	return n;
}

int
smtp_caps_parse(const struct smtp_reply *r, struct smtp_caps *caps_r)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} simple[] = {
		{ "PIPELINING", SMTP_CAP_PIPELINING },
		{ "8BITMIME", SMTP_CAP_8BITMIME },
		{ "SMTPUTF8", SMTP_CAP_SMTPUTF8 },
		{ "ENHANCEDSTATUSCODES", SMTP_CAP_ENHANCEDSTATUSCODES },
		{ "DSN", SMTP_CAP_DSN },
		{ "STARTTLS", SMTP_CAP_STARTTLS },
		{ "CHUNKING", SMTP_CAP_CHUNKING },
		{ "BINARYMIME", SMTP_CAP_BINARYMIME },
	};
	struct view line, kw, rest;
	size_t i, k, j;

	memset(caps_r, 0, sizeof(*caps_r));
	if (!r->complete || r->code / 100 != 2)
		return -1;
	for (i = 1; i < r->nlines; i++) {
		line = smtp_reply_line(r, i);
		/* keyword ends at a space or '=' ("AUTH=LOGIN" is still seen
		 * from old servers; Postfix splits on " \t=" as well) */
		for (j = 0; j < line.len && line.p[j] != ' ' &&
			    line.p[j] != '=';
		     j++)
			;
		kw = (struct view){ line.p, j };
		while (j < line.len && (line.p[j] == ' ' || line.p[j] == '='))
			j++;
		rest = (struct view){ line.p + j, line.len - j };

		for (k = 0; k < N_ELEMENTS(simple); k++) {
			if (view_eq_cstr_nocase(kw, simple[k].name))
				caps_r->mask |= simple[k].bit;
		}
		if (view_eq_cstr_nocase(kw, "SIZE")) {
			caps_r->mask |= SMTP_CAP_SIZE;
			caps_r->size = parse_size(rest);
		} else if (view_eq_cstr_nocase(kw, "XCLIENT")) {
			caps_r->mask |= SMTP_CAP_XCLIENT;
			attrs_add(caps_r->xclient_attrs,
				  sizeof(caps_r->xclient_attrs), rest);
		} else if (view_eq_cstr_nocase(kw, "XFORWARD")) {
			caps_r->mask |= SMTP_CAP_XFORWARD;
			attrs_add(caps_r->xforward_attrs,
				  sizeof(caps_r->xforward_attrs), rest);
		} else if (view_eq_cstr_nocase(kw, "AUTH")) {
			caps_r->mask |= SMTP_CAP_AUTH;
			attrs_add(caps_r->auth_mechs,
				  sizeof(caps_r->auth_mechs), rest);
		}
	}
	return 0;
}

bool
smtp_caps_has_attr(const char *attrs, const char *attr)
{
	size_t n, alen;
	const char *p;

	if (attrs == NULL || attr == NULL || (alen = strlen(attr)) == 0)
		return false;
	for (p = attrs; *p != '\0';) {
		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n == alen && strncasecmp(p, attr, n) == 0)
			return true;
		p += n;
	}
	return false;
}

struct view
smtp_reply_queue_id(const struct smtp_reply *r)
{
	static const char key[] = "queued as ";
	const size_t klen = sizeof(key) - 1;
	struct view line;
	size_t i, j, start;

	for (i = 0; i < r->nlines; i++) {
		line = smtp_reply_line(r, i);
		for (j = 0; j + klen <= line.len; j++) {
			if (strncasecmp(line.p + j, key, klen) != 0)
				continue;
			start = j + klen;
			while (start < line.len && line.p[start] == ' ')
				start++;
			for (j = start; j < line.len &&
			     (is_attr_char((unsigned char)line.p[j]) ||
			      line.p[j] == '.');
			     j++)
				;
			if (j == start || j - start > QUEUE_ID_MAX)
				return VIEW_NULL;
			return (struct view){ line.p + start, j - start };
		}
	}
	return VIEW_NULL;
}
