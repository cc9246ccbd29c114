#include "msg/url.h"
#include "msg/decode.h"
#include "core/xalloc.h"

#include <idn2.h>

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char
lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* --- scanning ---------------------------------------------------------- */

/* bytes that end a URL in text */
static bool
ends_url(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];

	if (c <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '`' || c == '{' ||
	    c == '}' || c == '|' || c == '^')
		return true;
	if (c == 0xc2 && left > 1 && s[1] == 0xa0)
		return true; /* NBSP */
	if (c == 0xe3 && left > 2 && s[1] == 0x80 && s[2] == 0x80)
		return true; /* ideographic space */
	if (c == 0xe2 && left > 2 && s[1] == 0x80 &&
	    ((s[2] >= 0x8b && s[2] <= 0x8f) || s[2] == 0xa8 || s[2] == 0xa9))
		return true; /* zero-width and line separators */
	if (c == 0xef && left > 2 && s[1] == 0xbb && s[2] == 0xbf)
		return true; /* ZWNBSP */
	return false;
}

static size_t
url_end(const char *text, size_t len, size_t start)
{
	size_t i = start, po = 0, pc = 0, bo = 0, bc = 0;

	while (i < len && i - start < URL_MAX && !ends_url((const unsigned char *)text + i, len - i)) {
		char c = text[i++];

		po += c == '(';
		pc += c == ')';
		bo += c == '[';
		bc += c == ']';
	}
	/* trailing punctuation belongs to the sentence, and so does a
	 * closing bracket without its opening one */
	while (i > start) {
		char c = text[i - 1];

		if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' ||
		    c == '\'' || c == '*') {
			i--;
		} else if (c == ')' && pc > po) {
			pc--;
			i--;
		} else if (c == ']' && bc > bo) {
			bc--;
			i--;
		} else {
			break;
		}
	}
	return i;
}

static bool
scheme_known(const char *s, size_t n)
{
	static const char *const schemes[] = { "http", "https", "ftp", "hxxp", "hxxps",
					       "hxxxp", "hxxxps", NULL };
	size_t i;

	for (i = 0; schemes[i] != NULL; i++) {
		if (strlen(schemes[i]) == n && strncasecmp(s, schemes[i], n) == 0)
			return true;
	}
	return false;
}

/* "www.", "www1." .. "www99." (http) or "ftp." (ftp) at s: the length of
 * that prefix, 0 if none; *scheme_r the scheme clients give it */
static size_t
schemeless_prefix(const char *s, size_t n, const char **scheme_r)
{
	size_t i = 3;

	if (n >= 4 && strncasecmp(s, "ftp.", 4) == 0) {
		*scheme_r = "ftp";
		return 4;
	}
	if (n < 4 || strncasecmp(s, "www", 3) != 0)
		return 0;
	while (i < n && i < 5 && is_digit(s[i]))
		i++;
	if (i >= n || s[i] != '.')
		return 0;
	*scheme_r = "http";
	return i + 1;
}

/* a byte of a local part as mail clients linkify it (RFC 5322 atext
 * without '/' and the characters that end a URL) */
static bool
is_local_char(char c)
{
	return is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '%' || c == '+' ||
	       c == '-' || c == '\'' || c == '!' || c == '#' || c == '$' || c == '&' ||
	       c == '*' || c == '=' || c == '?' || c == '~';
}

#define LOCAL_MAX 64
#define DOMAIN_MAX 253

/* a bare address "local@domain.tld" around the '@' at text[at]; floor:
 * where the previous candidate ended. Returns its end (0 if none) and
 * sets *start_r. */
static size_t
bare_address(const char *text, size_t len, size_t at, size_t floor, size_t *start_r)
{
	size_t j = at, k = at + 1, dot, tld, i;

	while (j > floor && at - j < LOCAL_MAX && is_local_char(text[j - 1]))
		j--;
	if (j > floor && is_local_char(text[j - 1]))
		return 0; /* a local part longer than RFC 5321 allows */
	while (j < at && (text[j] == '.' || text[j] == '\''))
		j++;
	if (j == at || text[at - 1] == '.')
		return 0;
	while (k < len && k - at - 1 < DOMAIN_MAX &&
	       (is_alpha(text[k]) || is_digit(text[k]) || text[k] == '-' || text[k] == '.' ||
		((unsigned char)text[k] >= 0x80 &&
		 !ends_url((const unsigned char *)text + k, len - k)))) {
		if (text[k] == '.' && (text[k - 1] == '.' || k == at + 1))
			return 0;
		k++;
	}
	if (k - at - 1 >= DOMAIN_MAX)
		return 0; /* longer than a domain can be */
	while (k > at + 1 && (text[k - 1] == '.' || text[k - 1] == '-'))
		k--;
	for (dot = k; dot > at + 1 && text[dot - 1] != '.'; dot--)
		;
	if (dot <= at + 1)
		return 0;
	dot--;
	/* the top-level label: letters (or an IDN one), two at least */
	tld = dot + 1;
	if (k - tld < 2)
		return 0;
	for (i = tld; i < k; i++) {
		if (!(is_alpha(text[i]) || (unsigned char)text[i] >= 0x80 ||
		      (i - tld >= 2 && strncasecmp(text + tld, "xn--", 4) == 0)))
			return 0;
	}
	*start_r = j;
	return k;
}

/* blanks in a spaced-out host: at most a few in a row */
static size_t
skip_blanks(const char *text, size_t len, size_t k)
{
	size_t n = 0;

	while (k < len && n < 3 && (text[k] == ' ' || text[k] == '\t')) {
		k++;
		n++;
	}
	return k;
}

/* "www . evil . example": a host spelled out with blanks around its dots
 * for a reader to type (no client links it, filters that look for URLs
 * miss it). Labels of ASCII letters, digits and '-', a last label of 2
 * to 24 letters, at least one blank. Returns the end, 0 if none. */
static size_t
spaced_www(const char *text, size_t len, size_t i)
{
	size_t k = i + 3, end = 0, labels = 0, last = 0;
	bool blank = false;

	if (len - i < 3 || strncasecmp(text + i, "www", 3) != 0)
		return 0;
	while (k < len && k - i < DOMAIN_MAX) {
		size_t d = skip_blanks(text, len, k), l;

		if (d >= len || text[d] != '.')
			break;
		l = skip_blanks(text, len, d + 1);
		blank = blank || d > k || l > d + 1;
		for (k = l; k < len && (is_alpha(text[k]) || is_digit(text[k]) || text[k] == '-'); k++)
			;
		if (k == l)
			break;
		labels++;
		last = l;
		end = k;
	}
	if (!blank || labels < 2 || end - last < 2 || end - last > 24)
		return 0;
	for (k = last; k < end; k++) {
		if (!is_alpha(text[k]))
			return 0;
	}
	return end;
}

/* the next ':', 'w'/'W', 'f'/'F' or '@' at or after i: where a URL can be
 * recognised */
struct scan_pos {
	const char *colon, *w, *W, *f, *F, *at;
};

static const char *
next_of(const char *text, size_t len, size_t i, const char **cache, char c)
{
	if (*cache == NULL || *cache < text + i) {
		*cache = i < len ? memchr(text + i, c, len - i) : NULL;
		if (*cache == NULL)
			*cache = text + len;
	}
	return *cache;
}

void
url_scan(const char *text, size_t len, url_scan_fn *cb, void *ctx)
{
	struct scan_pos sp = { NULL, NULL, NULL, NULL, NULL, NULL };
	size_t i = 0, floor = 0;

	while (i < len) {
		const char *cand[6];
		const char *next = text + len, *scheme;
		size_t start, end, k, pre;

		cand[0] = next_of(text, len, i, &sp.colon, ':');
		cand[1] = next_of(text, len, i, &sp.w, 'w');
		cand[2] = next_of(text, len, i, &sp.W, 'W');
		cand[3] = next_of(text, len, i, &sp.f, 'f');
		cand[4] = next_of(text, len, i, &sp.F, 'F');
		cand[5] = next_of(text, len, i, &sp.at, '@');
		for (k = 0; k < N_ELEMENTS(cand); k++) {
			if (cand[k] < next)
				next = cand[k];
		}
		if (next >= text + len)
			return;
		i = (size_t)(next - text);
		end = 0;
		start = i;
		if (text[i] == ':' && i > 0) {
			size_t j = i;

			/* not into the candidate before (an address can end
			 * right before a scheme: "a@b.example:http://") */
			while (j > floor && i - j < 8 && is_alpha(text[j - 1]))
				j--;
			start = j;
			if (scheme_known(text + j, i - j) && i + 2 < len &&
			    (text[i + 1] == '/' || text[i + 1] == '\\') &&
			    (text[i + 2] == '/' || text[i + 2] == '\\')) {
				end = url_end(text, len, i + 3);
				if (end <= i + 3)
					end = 0;
			} else if (i - j == 6 && strncasecmp(text + j, "mailto", 6) == 0) {
				end = url_end(text, len, i + 1);
				if (end <= i + 1 || memchr(text + i, '@', end - i) == NULL)
					end = 0;
			}
		} else if (text[i] == '@') {
			end = bare_address(text, len, i, floor, &start);
		} else if (text[i] != ':' &&
			   (i == 0 || !(is_alpha(text[i - 1]) || is_digit(text[i - 1]) ||
					text[i - 1] == '.' || text[i - 1] == '/' || text[i - 1] == '@' ||
					text[i - 1] == '-'))) {
			if ((pre = schemeless_prefix(text + i, len - i, &scheme)) > 0) {
				end = url_end(text, len, i);
				/* a host with a dot after the prefix */
				if (end <= i + pre + 1 ||
				    memchr(text + i + pre, '.', end - i - pre) == NULL)
					end = 0;
			}
			if (end == 0)
				end = spaced_www(text, len, i);
		}
		if (end > 0) {
			if (!cb(ctx, (struct view){ text + start, end - start }))
				return;
			i = floor = end;
			continue;
		}
		i++;
	}
}

/* --- IPv4 -------------------------------------------------------------- */

bool
url_ipv4(const char *s, size_t len, uint32_t *addr_r)
{
	uint64_t parts[4];
	size_t n = 0, i = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0)
		return false;
	while (i < len) {
		uint64_t v = 0;
		size_t start = i;
		int base = 10;

		if (n == 4)
			return false;
		if (s[i] == '0' && i + 1 < len && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
			base = 16;
			i += 2;
			start = i;
		} else if (s[i] == '0' && i + 1 < len && s[i + 1] != '.') {
			base = 8;
		}
		while (i < len && s[i] != '.') {
			int d = decode_hexval((unsigned char)s[i]);

			if (d < 0 || d >= base)
				return false;
			v = v * (uint64_t)base + (uint64_t)d;
			if (v > 0xffffffffULL)
				return false;
			i++;
		}
		if (i == start && base != 16)
			return false;
		parts[n++] = v;
		if (i < len) {
			i++;
			if (i == len)
				return false;
		}
	}
	switch (n) {
	case 1:
		*addr_r = (uint32_t)parts[0];
		return true;
	case 2:
		if (parts[0] > 255 || parts[1] > 0xffffff)
			return false;
		*addr_r = (uint32_t)(parts[0] << 24 | parts[1]);
		return true;
	case 3:
		if (parts[0] > 255 || parts[1] > 255 || parts[2] > 0xffff)
			return false;
		*addr_r = (uint32_t)(parts[0] << 24 | parts[1] << 16 | parts[2]);
		return true;
	case 4:
		if (parts[0] > 255 || parts[1] > 255 || parts[2] > 255 || parts[3] > 255)
			return false;
		*addr_r = (uint32_t)(parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]);
		return true;
	}
	return false;
}

/* --- normalisation ----------------------------------------------------- */

static bool
unreserved(unsigned char c)
{
	return is_alpha((char)c) || is_digit((char)c) || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* path, query, fragment: unreserved escapes decoded, the rest kept with
 * upper-case hex, backslashes in the path as '/', raw spaces and
 * controls escaped */
static void
normalise_escapes(const char *s, size_t n, struct buf *out, bool path)
{
	static const char hex[] = "0123456789ABCDEF";
	bool in_path = path;
	size_t i;
	char *o;

	/* at most 3 output bytes per input byte, and the leading '/' */
	buf_reserve(out, n * 3 + 1);
	o = out->data + out->len;
	if (path && (n == 0 || (s[0] != '/' && s[0] != '\\')))
		*o++ = '/';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int h1, h2;

		if (c == '?' || c == '#')
			in_path = false;
		if (c == '%' && i + 2 < n && (h1 = decode_hexval((unsigned char)s[i + 1])) >= 0 &&
		    (h2 = decode_hexval((unsigned char)s[i + 2])) >= 0) {
			unsigned char d = (unsigned char)(h1 << 4 | h2);

			if (unreserved(d)) {
				*o++ = (char)d;
			} else {
				*o++ = '%';
				*o++ = hex[d >> 4];
				*o++ = hex[d & 15];
			}
			i += 2;
		} else if (c == '%') {
			/* a stray '%' is escaped, so that decoding never makes
			 * a new escape of what follows (idempotence) */
			*o++ = '%';
			*o++ = '2';
			*o++ = '5';
		} else if (c == '\\' && in_path) {
			*o++ = '/';
		} else if (c <= 0x20 || c == 0x7f) {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
}

/* defanged and fullwidth dots as '.', ASCII lower-cased */
static void
host_clean(const char *s, size_t n, struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		const unsigned char *u = (const unsigned char *)s + i;
		size_t left = n - i;

		if (u[0] != '[' && u[0] != '(' && u[0] != '{' && u[0] != 0xe3 && u[0] != 0xef) {
			buf_append_char(out, lower((char)u[0]));
			i++;
		} else if (left >= 3 && (memcmp(u, "[.]", 3) == 0 || memcmp(u, "(.)", 3) == 0 ||
				  memcmp(u, "{.}", 3) == 0)) {
			buf_append_char(out, '.');
			i += 3;
		} else if (left >= 5 && (strncasecmp((const char *)u, "[dot]", 5) == 0 ||
					 strncasecmp((const char *)u, "(dot)", 5) == 0)) {
			buf_append_char(out, '.');
			i += 5;
		} else if (left >= 3 && ((u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x82) ||
					 (u[0] == 0xef && u[1] == 0xbc && u[2] == 0x8e) ||
					 (u[0] == 0xef && u[1] == 0xbd && u[2] == 0xa1))) {
			buf_append_char(out, '.');
			i += 3;
		} else {
			buf_append_char(out, lower((char)u[0]));
			i++;
		}
	}
	while (out->len > 0 && out->data[out->len - 1] == '.')
		buf_truncate(out, out->len - 1);
}

static bool
host_chars_ok(const struct buf *h)
{
	size_t i;

	if (h->len == 0 || h->len > 253 * 4)
		return false;
	for (i = 0; i < h->len; i++) {
		unsigned char c = (unsigned char)h->data[i];

		if (!(c >= 0x80 || is_alpha((char)c) || is_digit((char)c) || c == '-' || c == '.' ||
		      c == '_'))
			return false;
	}
	return h->data[0] != '.';
}

static bool
needs_idn(const struct buf *h)
{
	size_t i;

	for (i = 0; i < h->len; i++) {
		if ((unsigned char)h->data[i] >= 0x80)
			return true;
	}
	return h->len >= 4 && (strncmp(h->data, "xn--", 4) == 0 || strstr(h->data, ".xn--") != NULL);
}

/* IDN host as Unicode after UTS 46 mapping; unchanged if that fails */
static void
host_idn(struct buf *h)
{
	char *ascii = NULL, *uni = NULL;
	int rc;

	rc = idn2_to_ascii_8z(h->data, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK) {
		free(ascii);
		ascii = NULL;
		rc = idn2_to_ascii_8z(h->data, &ascii, IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
	}
	if (rc == IDN2_OK && idn2_to_unicode_8z8z(ascii, &uni, 0) == IDN2_OK) {
		char *back = NULL;

		/* only a form that maps back to the same A-labels: else the
		 * Unicode form would read differently the next time */
		if (idn2_to_ascii_8z(uni, &back, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) == IDN2_OK &&
		    strcmp(back, ascii) == 0) {
			buf_reset(h);
			buf_append_str(h, uni);
		} else if (strcmp(ascii, h->data) != 0 && strchr(ascii, '(') == NULL) {
			buf_reset(h);
			buf_append_str(h, ascii);
		}
		free(back);
	}
	free(ascii);
	free(uni);
}

static bool
normalise_mailto(const char *rest, size_t n, struct buf *url_r)
{
	const char *q = memchr(rest, '?', n);
	size_t start, i;
	char *at;

	n = q != NULL ? (size_t)(q - rest) : n;
	buf_append_str(url_r, "mailto:");
	start = url_r->len;
	normalise_escapes(rest, n, url_r, false);
	at = memrchr(url_r->data + start, '@', url_r->len - start);
	if (at == NULL || at == url_r->data + start || at + 1 == url_r->data + url_r->len) {
		buf_reset(url_r);
		return false;
	}
	for (i = (size_t)(at - url_r->data); i < url_r->len; i++)
		url_r->data[i] = lower(url_r->data[i]);
	return true;
}

bool
url_normalise(const char *raw, size_t len, struct buf *url_r, struct buf *host_r, bool *is_ip_r)
{
	char scheme[8];
	const char *implied;
	size_t i = 0, slen = 0, auth_start, auth_end, at, hp_start, port_at;
	const char *default_port = NULL;
	uint32_t ip4;
	bool ok = false;

	buf_reset(url_r);
	buf_reset(host_r);
	*is_ip_r = false;
	if (len > URL_MAX)
		len = URL_MAX;
	while (len > 0 && (raw[0] == ' ' || raw[0] == '\t' || raw[0] == '\r' || raw[0] == '\n')) {
		raw++;
		len--;
	}
	while (len > 0 && (raw[len - 1] == ' ' || raw[len - 1] == '\t' || raw[len - 1] == '\r' ||
			   raw[len - 1] == '\n'))
		len--;
	while (i < len && i < sizeof(scheme) && is_alpha(raw[i]))
		i++;
	if (i < len && raw[i] == ':' && i > 0 && i < sizeof(scheme)) {
		for (slen = 0; slen < i; slen++)
			scheme[slen] = lower(raw[slen]);
		scheme[slen] = '\0';
		i++;
	} else if (len > 3 && strncasecmp(raw, "www", 3) == 0 && (raw[3] == ' ' || raw[3] == '\t' ||
		   memchr(raw, ' ', len) != NULL || memchr(raw, '\t', len) != NULL) &&
		   memchr(raw, '/', len) == NULL) {
		/* a spaced-out host (url_scan): read without the blanks */
		struct buf compact = BUF_INIT;
		size_t k;
		bool r;

		for (k = 0; k < len; k++) {
			if (raw[k] != ' ' && raw[k] != '\t')
				buf_append_char(&compact, raw[k]);
		}
		r = compact.len < len &&
		    url_normalise(compact.data, compact.len, url_r, host_r, is_ip_r);
		buf_deinit(&compact);
		return r;
	} else if (schemeless_prefix(raw, len, &implied) > 0) {
		memcpy(scheme, implied, strlen(implied) + 1);
		i = 0;
	} else if (memchr(raw, '@', len) != NULL && memchr(raw, '/', len) == NULL &&
		   memchr(raw, ':', len) == NULL) {
		/* a bare address in text: clients and SpamAssassin make it
		 * a mailto: link */
		return normalise_mailto(raw, len, url_r);
	} else {
		return false;
	}
	if (strcmp(scheme, "mailto") == 0)
		return normalise_mailto(raw + i, len - i, url_r);
	if (strcmp(scheme, "hxxp") == 0 || strcmp(scheme, "hxxxp") == 0)
		memcpy(scheme, "http", 5);
	else if (strcmp(scheme, "hxxps") == 0 || strcmp(scheme, "hxxxps") == 0)
		memcpy(scheme, "https", 6);
	if (strcmp(scheme, "http") == 0)
		default_port = "80";
	else if (strcmp(scheme, "https") == 0)
		default_port = "443";
	else if (strcmp(scheme, "ftp") == 0)
		default_port = "21";
	else
		return false;
	/* browsers take any run of slashes and backslashes */
	while (i < len && (raw[i] == '/' || raw[i] == '\\'))
		i++;
	auth_start = i;
	while (i < len && raw[i] != '/' && raw[i] != '\\' && raw[i] != '?' && raw[i] != '#')
		i++;
	auth_end = i;
	/* no white space or controls in an authority: not a URL */
	for (i = auth_start; i < auth_end; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"')
			return false;
	}
	/* userinfo: up to the last '@' */
	hp_start = auth_start;
	for (at = auth_end; at > auth_start; at--) {
		if (raw[at - 1] == '@') {
			hp_start = at;
			break;
		}
	}
	buf_append_str(url_r, scheme);
	buf_append_str(url_r, "://");
	if (hp_start > auth_start)
		buf_append(url_r, raw + auth_start, hp_start - auth_start);
	/* host and port */
	port_at = auth_end;
	if (hp_start < auth_end && raw[hp_start] == '[') {
		const char *rb = memchr(raw + hp_start, ']', auth_end - hp_start);
		size_t k;

		if (rb == NULL)
			return false;
		for (k = hp_start; k <= (size_t)(rb - raw); k++)
			buf_append_char(host_r, lower(raw[k]));
		for (k = 1; k + 1 < host_r->len; k++) {
			char c = host_r->data[k];

			if (!(is_digit(c) || (c >= 'a' && c <= 'f') || c == ':' || c == '.'))
				return false;
		}
		*is_ip_r = true;
		port_at = (size_t)(rb - raw) + 1;
	} else {
		struct buf dec = BUF_INIT;
		size_t k;

		for (k = auth_end; k > hp_start; k--) {
			if (raw[k - 1] == ':') {
				port_at = k - 1;
				break;
			}
			if (!is_digit(raw[k - 1]))
				break;
		}
		decode_percent(raw + hp_start, port_at - hp_start, &dec);
		host_clean(dec.data != NULL ? dec.data : "", dec.len, host_r);
		buf_deinit(&dec);
		if (!host_chars_ok(host_r))
			goto out;
		if (!url_ipv4(host_r->data, host_r->len, &ip4) && needs_idn(host_r)) {
			/* UTS 46 maps some characters to ASCII that no host has
			 * (U+3000 to a space, U+FF0F to '/'), and fullwidth
			 * digits to an IPv4 address */
			host_idn(host_r);
			if (!host_chars_ok(host_r))
				goto out;
		}
		if (url_ipv4(host_r->data, host_r->len, &ip4)) {
			buf_reset(host_r);
			buf_appendf(host_r, "%u.%u.%u.%u", ip4 >> 24, (ip4 >> 16) & 255,
				    (ip4 >> 8) & 255, ip4 & 255);
			*is_ip_r = true;
		}
	}
	buf_append(url_r, host_r->data, host_r->len);
	if (port_at < auth_end && raw[port_at] == ':') {
		struct view port = { raw + port_at + 1, auth_end - port_at - 1 };
		size_t k;

		for (k = 0; k < port.len && port.p[k] == '0' && port.len - k > 1; k++)
			;
		port.p += k;
		port.len -= k;
		if (port.len > 0 && !view_eq_cstr_nocase(port, default_port)) {
			buf_append_char(url_r, ':');
			buf_append_view(url_r, port);
		}
	}
	normalise_escapes(raw + auth_end, len - auth_end, url_r, true);
	ok = true;
out:
	if (!ok) {
		buf_reset(url_r);
		buf_reset(host_r);
		*is_ip_r = false;
	}
	return ok;
}

bool
url_join(const char *base, size_t base_len, const char *ref, size_t ref_len, struct buf *out)
{
	size_t i = 0, auth_end, last_slash;

	while (i < ref_len && i < 8 && is_alpha(ref[i]))
		i++;
	if (i > 0 && i < ref_len && ref[i] == ':') {
		buf_append(out, ref, ref_len);
		return true;
	}
	/* the base: scheme "://" authority [path] */
	for (i = 0; i < base_len && is_alpha(base[i]); i++)
		;
	if (i == 0 || i + 3 > base_len || memcmp(base + i, "://", 3) != 0)
		return false;
	if (ref_len >= 2 && ref[0] == '/' && ref[1] == '/') {
		buf_append(out, base, i + 1);
		buf_append(out, ref, ref_len);
		return true;
	}
	auth_end = i + 3;
	while (auth_end < base_len && base[auth_end] != '/' && base[auth_end] != '?' &&
	       base[auth_end] != '#')
		auth_end++;
	if (ref_len > 0 && ref[0] == '/') {
		buf_append(out, base, auth_end);
		buf_append(out, ref, ref_len);
		return true;
	}
	last_slash = auth_end;
	for (i = auth_end; i < base_len && base[i] != '?' && base[i] != '#'; i++) {
		if (base[i] == '/')
			last_slash = i;
	}
	buf_append(out, base, last_slash);
	buf_append_char(out, '/');
	buf_append(out, ref, ref_len);
	return true;
}
