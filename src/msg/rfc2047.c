#include "msg/rfc2047.h"
#include "msg/decode.h"

/* the longest charset name (with *language) we take in an encoded word */
#define WORD_CHARSET_MAX 40

struct word {
	size_t start, end;        /* the whole =?...?= */
	char charset[WORD_CHARSET_MAX + 1];
	char enc;                 /* 'B' or 'Q' */
	size_t text, text_len;
};

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* parse an encoded word starting at p[i] ("=?") */
static bool
parse_word(const char *p, size_t len, size_t i, struct word *w)
{
	size_t j = i + 2, k, cs_len;
	const char *end;

	/* charset: up to the next '?' */
	for (k = j; k < len && p[k] != '?'; k++) {
		if (is_wsp(p[k]) || k - j > WORD_CHARSET_MAX)
			return false;
	}
	cs_len = k - j;
	if (k + 3 > len || cs_len == 0 || cs_len > WORD_CHARSET_MAX)
		return false;
	w->enc = p[k + 1];
	if (w->enc == 'b')
		w->enc = 'B';
	else if (w->enc == 'q')
		w->enc = 'Q';
	if ((w->enc != 'B' && w->enc != 'Q') || p[k + 2] != '?')
		return false;
	memcpy(w->charset, p + j, cs_len);
	w->charset[cs_len] = '\0';
	{
		char *star = strchr(w->charset, '*');

		if (star != NULL)
			*star = '\0';
	}
	w->text = k + 3;
	/* text: up to "?="; spaces inside are accepted (broken encoders
	 * write them and clients decode them) but not a line of text */
	end = NULL;
	for (k = w->text; k + 1 < len; k++) {
		if (p[k] == '?' && p[k + 1] == '=') {
			end = p + k;
			break;
		}
		if (p[k] == '\r' || p[k] == '\n' || k - w->text > 4096)
			return false;
	}
	if (end == NULL)
		return false;
	w->text_len = (size_t)(end - p) - w->text;
	w->start = i;
	w->end = (size_t)(end - p) + 2;
	return true;
}

static unsigned int
decode_text(struct word *w, const char *p, struct buf *raw)
{
	const char *t = p + w->text;

	if (w->enc == 'B')
		return decode_b64_mem(t, w->text_len, raw);
	return decode_qp_word(t, w->text_len, raw);
}

/* append s, NUL bytes as U+FFFD */
static void
append_no_nul(struct buf *out, const char *s, size_t len)
{
	const char *nul;

	while (len > 0 && (nul = memchr(s, '\0', len)) != NULL) {
		buf_append(out, s, (size_t)(nul - s));
		buf_append(out, "\xef\xbf\xbd", 3);
		len -= (size_t)(nul - s) + 1;
		s = nul + 1;
	}
	buf_append(out, s, len);
}

static unsigned int
flush_words(struct charset_ctx *cs, const char *charset, struct buf *raw, struct buf *tmp,
	    struct buf *out)
{
	unsigned int r = 0, cr;

	if (raw->len == 0)
		return 0;
	buf_reset(tmp);
	cr = charset_to_utf8(cs, charset, raw->data, raw->len, tmp, 0);
	if (cr & (CHARSET_R_REPLACED | CHARSET_R_UNKNOWN))
		r |= RFC2047_R_CHARSET;
	append_no_nul(out, tmp->data, tmp->len);
	buf_reset(raw);
	return r;
}

static unsigned int
append_literal(struct charset_ctx *cs, const char *s, size_t len, struct buf *tmp,
	       struct buf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80)
			break;
	}
	if (i == len) {
		append_no_nul(out, s, len);
		return 0;
	}
	buf_reset(tmp);
	charset_to_utf8(cs, NULL, s, len, tmp, 0);
	append_no_nul(out, tmp->data, tmp->len);
	return RFC2047_R_8BIT;
}

unsigned int
rfc2047_decode(struct charset_ctx *cs, const char *p, size_t len, struct buf *out,
	       size_t max_out)
{
	struct buf raw = BUF_INIT, tmp = BUF_INIT;
	char cur_charset[WORD_CHARSET_MAX + 1] = "";
	size_t start = out->len, i = 0, lit = 0;
	unsigned int r = 0;
	bool prev_word = false;

	while (i < len) {
		const char *q = memchr(p + i, '=', len - i);
		struct word w;

		if (q == NULL)
			break;
		i = (size_t)(q - p);
		if (i + 1 >= len || p[i + 1] != '?' || !parse_word(p, len, i, &w)) {
			if (i + 1 < len && p[i + 1] == '?')
				r |= RFC2047_R_BAD_WORD;
			i++;
			continue;
		}
		/* text between the previous word and this one: dropped if it is
		 * only white space */
		if (prev_word) {
			size_t k;

			for (k = lit; k < w.start && is_wsp(p[k]); k++)
				;
			if (k < w.start) {
				r |= flush_words(cs, cur_charset, &raw, &tmp, out);
				r |= append_literal(cs, p + lit, w.start - lit, &tmp, out);
			}
		} else {
			r |= append_literal(cs, p + lit, w.start - lit, &tmp, out);
		}
		if (raw.len > 0 && strcasecmp(cur_charset, w.charset) != 0)
			r |= flush_words(cs, cur_charset, &raw, &tmp, out);
		memcpy(cur_charset, w.charset, sizeof(cur_charset));
		if (decode_text(&w, p, &raw) > 0)
			r |= RFC2047_R_BAD_WORD;
		r |= RFC2047_R_DECODED;
		prev_word = true;
		i = lit = w.end;
		if (max_out != 0 && out->len - start > max_out)
			break;
	}
	r |= flush_words(cs, cur_charset, &raw, &tmp, out);
	if (lit < len)
		r |= append_literal(cs, p + lit, len - lit, &tmp, out);
	buf_deinit(&raw);
	buf_deinit(&tmp);
	if (max_out != 0 && out->len - start > max_out) {
		buf_truncate(out, start + charset_utf8_cut(out->data + start, max_out));
		r |= RFC2047_R_TRUNCATED;
	}
	return r;
}
