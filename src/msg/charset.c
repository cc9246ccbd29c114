#include "msg/charset.h"
#include "core/xalloc.h"

#include <iconv.h>

#define CHARSET_NAME_MAX 48
#define CHARSET_CACHE 8

enum cs_kind { CS_UTF8, CS_GUESS, CS_1252, CS_UTF16_GUESS, CS_ICONV };

struct cs_entry {
	char name[CHARSET_NAME_MAX]; /* the iconv name */
	iconv_t cd;                  /* (iconv_t)-1: iconv does not know it */
	unsigned int used;
};

struct charset_ctx {
	struct cs_entry e[CHARSET_CACHE];
	unsigned int n;
	unsigned int clock;
};

/* windows-1252 0x80..0x9f (WHATWG: the undefined five map to C1) */
static const uint16_t cp1252_high[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

/* names clients read as another charset; the rest go to iconv as given */
static const struct {
	const char *name;
	enum cs_kind kind;
	const char *iconv_name;
} aliases[] = {
	{ "utf-8", CS_UTF8, NULL },
	{ "utf8", CS_UTF8, NULL },
	{ "unicode-1-1-utf-8", CS_UTF8, NULL },
	{ "x-unicode20utf8", CS_UTF8, NULL },
	{ "us-ascii", CS_GUESS, NULL },
	{ "ascii", CS_GUESS, NULL },
	{ "ansi_x3.4-1968", CS_GUESS, NULL },
	{ "iso646-us", CS_GUESS, NULL },
	{ "us", CS_GUESS, NULL },
	{ "unknown-8bit", CS_GUESS, NULL },
	{ "unknown", CS_GUESS, NULL },
	{ "x-unknown", CS_GUESS, NULL },
	{ "x-user-defined", CS_GUESS, NULL },
	{ "default", CS_GUESS, NULL },
	{ "iso-8859-1", CS_1252, NULL },
	{ "iso8859-1", CS_1252, NULL },
	{ "iso_8859-1", CS_1252, NULL },
	{ "iso-8859-1:1987", CS_1252, NULL },
	{ "latin1", CS_1252, NULL },
	{ "latin-1", CS_1252, NULL },
	{ "l1", CS_1252, NULL },
	{ "cp819", CS_1252, NULL },
	{ "ibm819", CS_1252, NULL },
	{ "windows-1252", CS_1252, NULL },
	{ "cp1252", CS_1252, NULL },
	{ "x-cp1252", CS_1252, NULL },
	{ "cp-1252", CS_1252, NULL },
	{ "win-1252", CS_1252, NULL },
	{ "utf-16", CS_UTF16_GUESS, NULL },
	{ "utf16", CS_UTF16_GUESS, NULL },
	{ "unicode", CS_UTF16_GUESS, NULL },
	{ "ucs-2", CS_UTF16_GUESS, NULL },
	{ "gb2312", CS_ICONV, "GB18030" },
	{ "gbk", CS_ICONV, "GB18030" },
	{ "x-gbk", CS_ICONV, "GB18030" },
	{ "cp936", CS_ICONV, "GB18030" },
	{ "euc-cn", CS_ICONV, "GB18030" },
	{ "csgb2312", CS_ICONV, "GB18030" },
	{ "cn-gb", CS_ICONV, "GB18030" },
	{ "chinese", CS_ICONV, "GB18030" },
	{ "big5", CS_ICONV, "BIG5-HKSCS" },
	{ "x-x-big5", CS_ICONV, "BIG5-HKSCS" },
	{ "cn-big5", CS_ICONV, "BIG5-HKSCS" },
	{ "ks_c_5601-1987", CS_ICONV, "CP949" },
	{ "ks_c_5601", CS_ICONV, "CP949" },
	{ "euc-kr", CS_ICONV, "CP949" },
	{ "korean", CS_ICONV, "CP949" },
	{ "x-windows-949", CS_ICONV, "CP949" },
	{ "shift_jis", CS_ICONV, "CP932" },
	{ "shift-jis", CS_ICONV, "CP932" },
	{ "x-sjis", CS_ICONV, "CP932" },
	{ "sjis", CS_ICONV, "CP932" },
	{ "ms_kanji", CS_ICONV, "CP932" },
	{ "windows-31j", CS_ICONV, "CP932" },
	{ "iso-2022-jp", CS_ICONV, "ISO-2022-JP-3" },
	{ "euc-jp", CS_ICONV, "EUC-JP-MS" },
	{ "utf-7", CS_ICONV, "UTF-7" },
	{ "unicode-1-1-utf-7", CS_ICONV, "UTF-7" },
	{ "x-unicode-2-0-utf-7", CS_ICONV, "UTF-7" },
	{ "iso-8859-8-i", CS_ICONV, "ISO-8859-8" },
	{ "iso-8859-6-i", CS_ICONV, "ISO-8859-6" },
	{ "tis-620", CS_ICONV, "CP874" },
	{ "iso-8859-11", CS_ICONV, "CP874" },
	{ "x-mac-cyrillic", CS_ICONV, "MAC-CYRILLIC" },
	{ "x-mac-roman", CS_ICONV, "MACINTOSH" },
	{ "x-mac-ce", CS_ICONV, "MAC-CENTRALEUROPE" },
};

struct charset_ctx *
charset_ctx_new(void)
{
	return xcalloc(1, sizeof(struct charset_ctx));
}

void
charset_ctx_free(struct charset_ctx **ctxp)
{
	struct charset_ctx *ctx = *ctxp;
	unsigned int i;

	if (ctx == NULL)
		return;
	*ctxp = NULL;
	for (i = 0; i < ctx->n; i++) {
		if (ctx->e[i].cd != (iconv_t)-1)
			iconv_close(ctx->e[i].cd);
	}
	free(ctx);
}

/* normalise a declared name into buf (lower case, trimmed, unquoted);
 * false if it is too long or empty */
static bool
norm_name(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	while (*s == ' ' || *s == '\t' || *s == '"' || *s == '\'')
		s++;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\'' || c == ' ' || c == '\t' || c == ';')
			break;
		if (c <= 0x20 || c >= 0x7f || n + 1 >= size)
			return false;
		buf[n++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
	}
	buf[n] = '\0';
	return n > 0;
}

static enum cs_kind
classify(const char *norm, const char **iconv_name_r)
{
	size_t i;

	*iconv_name_r = norm;
	for (i = 0; i < N_ELEMENTS(aliases); i++) {
		if (strcmp(norm, aliases[i].name) == 0) {
			if (aliases[i].iconv_name != NULL)
				*iconv_name_r = aliases[i].iconv_name;
			return aliases[i].kind;
		}
	}
	return CS_ICONV;
}

static iconv_t
get_cd(struct charset_ctx *ctx, const char *name, bool *owned_r)
{
	struct cs_entry *e;
	unsigned int i, victim = 0;
	iconv_t cd;

	*owned_r = false;
	/* glibc decides the byte order of these once per descriptor, from
	 * the first BOM it sees: never reused */
	if (ctx == NULL || ((strncmp(name, "UTF-32", 6) == 0 || strncmp(name, "UTF32", 5) == 0 ||
			     strncmp(name, "UCS-4", 5) == 0 || strncmp(name, "UCS4", 4) == 0 ||
			     strncmp(name, "UTF-16", 6) == 0 || strncmp(name, "UTF16", 5) == 0 ||
			     strncmp(name, "UCS-2", 5) == 0 || strncmp(name, "UCS2", 4) == 0 ||
			     strcmp(name, "UNICODE") == 0) &&
			    strstr(name, "LE") == NULL && strstr(name, "BE") == NULL)) {
		*owned_r = true;
		return iconv_open("UTF-8", name);
	}
	for (i = 0; i < ctx->n; i++) {
		if (strcmp(ctx->e[i].name, name) == 0) {
			ctx->e[i].used = ++ctx->clock;
			if (ctx->e[i].cd != (iconv_t)-1)
				iconv(ctx->e[i].cd, NULL, NULL, NULL, NULL);
			return ctx->e[i].cd;
		}
	}
	cd = iconv_open("UTF-8", name);
	if (ctx->n < CHARSET_CACHE) {
		victim = ctx->n++;
	} else {
		for (i = 1; i < CHARSET_CACHE; i++) {
			if (ctx->e[i].used < ctx->e[victim].used)
				victim = i;
		}
		if (ctx->e[victim].cd != (iconv_t)-1)
			iconv_close(ctx->e[victim].cd);
	}
	e = &ctx->e[victim];
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->cd = cd;
	e->used = ++ctx->clock;
	return cd;
}

void
charset_append_cp(struct buf *out, uint32_t cp)
{
	char b[4];

	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		buf_append_char(out, (char)cp);
		return;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		buf_append(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		buf_append(out, b, 3);
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		buf_append(out, b, 4);
	}
}

/* length of the well-formed UTF-8 sequence at p (1..4), or 0 if the bytes
 * there are not one; *maximal_r: how many bytes form the maximal invalid
 * subpart (what one U+FFFD replaces) */
static size_t
utf8_seq(const unsigned char *p, size_t left, size_t *maximal_r)
{
	unsigned char c = p[0];
	size_t need, i;
	unsigned char lo = 0x80, hi = 0xbf;

	*maximal_r = 1;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	for (i = 1; i <= need; i++) {
		if (i >= left || p[i] < lo || p[i] > hi) {
			*maximal_r = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

uint32_t
charset_cp1252(unsigned char c)
{
	return (c >= 0x80 && c < 0xa0) ? cp1252_high[c - 0x80] : c;
}

bool
charset_utf8_valid(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0, n, maximal;

	while (i < len) {
		/* ASCII runs, 8 bytes at a time */
		while (i + 8 <= len) {
			uint64_t w;

			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080ULL) != 0)
				break;
			i += 8;
		}
		if (i >= len)
			break;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_seq(p + i, len - i, &maximal);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

size_t
charset_utf8_cut(const char *s, size_t len)
{
	size_t i = len;

	/* back over continuation bytes to a lead byte, then check it fits */
	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80 && len - i < 3)
		i--;
	if (i > 0 && (unsigned char)s[i - 1] >= 0xc0) {
		unsigned char c = (unsigned char)s[i - 1];
		size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

		if (len - (i - 1) < need)
			return i - 1;
	}
	return len;
}

static bool
room(struct buf *out, size_t start, size_t max_out, size_t more)
{
	return max_out == 0 || out->len - start + more <= max_out;
}

unsigned int
charset_utf8_sanitize(const void *data, size_t len, struct buf *out, size_t max_out)
{
	const unsigned char *p = data;
	size_t start = out->len, i = 0, run = 0, n, maximal;
	unsigned int r = 0;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_seq(p + i, len - i, &maximal);
		if (n > 0) {
			i += n;
			continue;
		}
		if (!room(out, start, max_out, i - run + 3))
			goto trunc;
		buf_append(out, p + run, i - run);
		buf_append(out, "\xef\xbf\xbd", 3);
		r |= CHARSET_R_REPLACED;
		i += maximal;
		run = i;
	}
	if (!room(out, start, max_out, i - run))
		goto trunc;
	buf_append(out, p + run, i - run);
	return r;
trunc:
	n = max_out - (out->len - start);
	n = MIN(n, i - run);
	buf_append(out, p + run, charset_utf8_cut((const char *)p + run, n));
	return r | CHARSET_R_TRUNCATED;
}

static unsigned int
from_1252(const unsigned char *p, size_t len, struct buf *out, size_t max_out)
{
	size_t start = out->len, i = 0, run;

	buf_reserve(out, len < 4096 ? len * 3 : len + len / 2);
	out->data[out->len] = '\0'; /* reserve alone does not terminate */
	while (i < len) {
		unsigned char c;
		size_t need;
		uint32_t cp;

		for (run = i; i < len && p[i] < 0x80; i++)
			;
		if (i > run) {
			if (max_out != 0 && out->len - start + (i - run) > max_out) {
				buf_append(out, p + run, max_out - (out->len - start));
				return CHARSET_R_TRUNCATED;
			}
			buf_append(out, p + run, i - run);
			continue;
		}
		c = p[i++];
		cp = c < 0xa0 ? cp1252_high[c - 0x80] : c;
		need = cp >= 0x800 ? 3 : 2;
		if (max_out != 0 && out->len - start + need > max_out)
			return CHARSET_R_TRUNCATED;
		charset_append_cp(out, cp);
	}
	return 0;
}

/* UTF-8 if the bytes are valid UTF-8, windows-1252 otherwise */
static unsigned int
guess(const unsigned char *p, size_t len, struct buf *out, size_t max_out)
{
	if (charset_utf8_valid(p, len))
		return charset_utf8_sanitize(p, len, out, max_out);
	return from_1252(p, len, out, max_out);
}

static unsigned int
via_iconv(iconv_t cd, const unsigned char *p, size_t len, struct buf *out, size_t max_out)
{
	size_t start = out->len;
	char *in = (char *)p;
	size_t inleft = len;
	unsigned int r = 0;
	bool flushed = false;

	for (;;) {
		size_t avail, rc;
		char *o;

		if (max_out != 0 && out->len - start >= max_out) {
			r |= CHARSET_R_TRUNCATED;
			break;
		}
		buf_reserve(out, inleft * 2 + 16);
		o = out->data + out->len;
		avail = out->cap - out->len - 1;
		if (inleft == 0) {
			if (flushed)
				break;
			/* the shift state of stateful charsets (UTF-7, ISO-2022) */
			rc = iconv(cd, NULL, NULL, &o, &avail);
			out->len = (size_t)(o - out->data);
			if (rc == (size_t)-1 && errno == E2BIG)
				continue;
			flushed = true;
			continue;
		}
		rc = iconv(cd, &in, &inleft, &o, &avail);
		out->len = (size_t)(o - out->data);
		if (rc != (size_t)-1)
			continue;
		if (errno == E2BIG)
			continue;
		/* EILSEQ, or EINVAL (incomplete at the end): one U+FFFD per
		 * byte that cannot start a character */
		buf_append(out, "\xef\xbf\xbd", 3);
		r |= CHARSET_R_REPLACED;
		if (errno == EINVAL) {
			inleft = 0;
		} else {
			in++;
			inleft--;
		}
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	out->data[out->len] = '\0';
	/* glibc writes surrogates and the like as it finds them (UCS-4,
	 * UTF-16 without pairs): what is not RFC 3629 UTF-8 is replaced */
	if (!charset_utf8_valid(out->data + start, out->len - start)) {
		struct buf tmp = BUF_INIT;

		charset_utf8_sanitize(out->data + start, out->len - start, &tmp, 0);
		buf_truncate(out, start);
		buf_append(out, tmp.data, tmp.len);
		buf_deinit(&tmp);
		r |= CHARSET_R_REPLACED;
	}
	if (max_out != 0 && out->len - start > max_out) {
		size_t keep = charset_utf8_cut(out->data + start, max_out);

		buf_truncate(out, start + keep);
		r |= CHARSET_R_TRUNCATED;
	}
	return r;
}

/* UTF-16 without a byte order: pick the order in which the NUL bytes of
 * ASCII text fall on the high half */
static const char *
utf16_order(const unsigned char *p, size_t len, size_t *skip_r)
{
	size_t i, even = 0, odd = 0;

	*skip_r = 0;
	if (len >= 2 && p[0] == 0xff && p[1] == 0xfe) {
		*skip_r = 2;
		return "UTF-16LE";
	}
	if (len >= 2 && p[0] == 0xfe && p[1] == 0xff) {
		*skip_r = 2;
		return "UTF-16BE";
	}
	for (i = 0; i + 1 < len && i < 512; i += 2) {
		even += p[i] == 0;
		odd += p[i + 1] == 0;
	}
	return odd > even ? "UTF-16LE" : "UTF-16BE";
}

static const char *
upper_name(const char *name, char *buf, size_t size)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < size; i++)
		buf[i] = (char)((name[i] >= 'a' && name[i] <= 'z') ? name[i] - 32 : name[i]);
	buf[i] = '\0';
	return buf;
}

static unsigned int convert_named(struct charset_ctx *ctx, const char *name,
				   const unsigned char *p, size_t len, struct buf *out,
				   size_t max_out);

static bool
has_8bit(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] >= 0x80)
			return true;
	}
	return false;
}

/* the declared charset did not fit: UTF-8, or a sibling of a 7-bit CJK
 * charset, if one converts without errors */
static unsigned int
fallback(struct charset_ctx *ctx, const char *declared, const unsigned char *p, size_t len,
	 struct buf *out, size_t start, size_t max_out, unsigned int r)
{
	static const struct {
		const char *declared, *sibling;
	} siblings[] = {
		{ "ISO-2022-JP-3", "EUC-JP-MS" }, { "ISO-2022-JP-3", "CP932" },
		{ "ISO-2022-KR", "CP949" },       { "ISO-2022-CN", "GB18030" },
		{ "ISO-2022-CN-EXT", "GB18030" }, { "HZ", "GB18030" },
	};
	size_t i;

	if (!(r & CHARSET_R_REPLACED) || !has_8bit(p, len))
		return r;
	if (charset_utf8_valid(p, len)) {
		buf_truncate(out, start);
		return charset_utf8_sanitize(p, len, out, max_out) | CHARSET_R_FALLBACK;
	}
	for (i = 0; i < N_ELEMENTS(siblings); i++) {
		unsigned int r2;

		if (strcasecmp(declared, siblings[i].declared) != 0)
			continue;
		buf_truncate(out, start);
		r2 = convert_named(ctx, siblings[i].sibling, p, len, out, max_out);
		if (!(r2 & (CHARSET_R_REPLACED | CHARSET_R_UNKNOWN)))
			return r2 | CHARSET_R_FALLBACK;
	}
	buf_truncate(out, start);
	return convert_named(ctx, declared, p, len, out, max_out);
}

static unsigned int
convert_named(struct charset_ctx *ctx, const char *name, const unsigned char *p, size_t len,
	      struct buf *out, size_t max_out)
{
	char upper[CHARSET_NAME_MAX];
	bool owned;
	iconv_t cd;
	unsigned int r;
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < sizeof(upper); i++)
		upper[i] = (char)((name[i] >= 'a' && name[i] <= 'z') ? name[i] - 32 : name[i]);
	upper[i] = '\0';
	cd = get_cd(ctx, upper, &owned);
	if (cd == (iconv_t)-1)
		return guess(p, len, out, max_out) | CHARSET_R_UNKNOWN;
	r = via_iconv(cd, p, len, out, max_out);
	if (owned)
		iconv_close(cd);
	return r;
}

unsigned int
charset_to_utf8(struct charset_ctx *ctx, const char *charset, const void *data, size_t len,
		struct buf *out, size_t max_out)
{
	const unsigned char *p = data;
	char norm[CHARSET_NAME_MAX];
	char upper[CHARSET_NAME_MAX];
	const char *iname;
	size_t skip, start;
	unsigned int r;

	if (p == NULL) {
		p = (const unsigned char *)"";
		len = 0;
	}
	/* no output can need more than 4 input bytes per output byte */
	if (max_out != 0 && len / 4 > max_out + 4)
		len = (max_out + 4) * 4;
	if (charset == NULL || charset[0] == '\0')
		return guess(p, len, out, max_out) | (has_8bit(p, len) ? CHARSET_R_UNDECLARED : 0);
	if (!norm_name(charset, norm, sizeof(norm)))
		return guess(p, len, out, max_out) | CHARSET_R_UNKNOWN;
	start = out->len;
	switch (classify(norm, &iname)) {
	case CS_UTF8:
		if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
			p += 3;
			len -= 3;
		}
		return charset_utf8_sanitize(p, len, out, max_out);
	case CS_GUESS:
		return guess(p, len, out, max_out) | (has_8bit(p, len) ? CHARSET_R_UNDECLARED : 0);
	case CS_1252:
		return from_1252(p, len, out, max_out);
	case CS_UTF16_GUESS:
		iname = utf16_order(p, len, &skip);
		return convert_named(ctx, iname, p + skip, len - skip, out, max_out);
	case CS_ICONV:
		break;
	}
	r = convert_named(ctx, iname, p, len, out, max_out);
	if (r & CHARSET_R_UNKNOWN)
		return r;
	return fallback(ctx, upper_name(iname, upper, sizeof(upper)), p, len, out, start, max_out, r);
}

bool
charset_utf8_as_is(const char *charset, const void *data, size_t len, unsigned int *result_r)
{
	const unsigned char *p = data;
	char norm[CHARSET_NAME_MAX];
	const char *iname;
	enum cs_kind kind;

	*result_r = 0;
	if (charset == NULL || charset[0] == '\0')
		kind = CS_GUESS;
	else if (!norm_name(charset, norm, sizeof(norm)))
		return false;
	else
		kind = classify(norm, &iname);
	if (kind != CS_UTF8 && kind != CS_GUESS)
		return false;
	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		return false;
	if (!charset_utf8_valid(p, len))
		return false;
	if (kind == CS_GUESS && has_8bit(p, len))
		*result_r = CHARSET_R_UNDECLARED;
	return true;
}

bool
charset_is_known(struct charset_ctx *ctx, const char *charset)
{
	char norm[CHARSET_NAME_MAX], upper[CHARSET_NAME_MAX];
	const char *iname;
	bool owned;
	iconv_t cd;
	size_t i;

	if (!norm_name(charset, norm, sizeof(norm)))
		return false;
	if (classify(norm, &iname) != CS_ICONV)
		return true;
	for (i = 0; iname[i] != '\0' && i + 1 < sizeof(upper); i++)
		upper[i] = (char)((iname[i] >= 'a' && iname[i] <= 'z') ? iname[i] - 32 : iname[i]);
	upper[i] = '\0';
	cd = get_cd(ctx, upper, &owned);
	if (cd == (iconv_t)-1)
		return false;
	if (owned)
		iconv_close(cd);
	return true;
}
