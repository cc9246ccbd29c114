/*
 * rules_eval.c - mxmoat's own eval: functions for rules, on what the
 * message model knows (parser flags, HTML links, file names). They keep
 * the shipped rules in the SpamAssassin syntax:
 *
 *   body   HTML_HIDDEN_TEXT  eval:mxmoat_msg_flag(html_hidden)
 *   uri    LINK_MISMATCH     eval:mxmoat_link_mismatch()
 *   body   HTML_ONLY         eval:mxmoat_html_only()
 *   mimeheader EXE_FILE      eval:mxmoat_attachment_ext(exe,scr,pif,com)
 *   mimeheader DOUBLE_EXT    eval:mxmoat_double_extension()
 *   uri    MANY_URLS         eval:mxmoat_url_count(20)
 *   uri    URI_IP_HOST       eval:mxmoat_url_ip()
 *   header DATE_IN_FUTURE    eval:mxmoat_date_future(12)
 *   header DATE_IN_PAST      eval:mxmoat_date_past(96)
 *
 * Dates are compared with the message's own time (its first Received
 * header), not the clock: archived mail scanned today is not "old".
 *
 * SpamAssassin's eval: functions (Perl code) are not implemented; rules
 * that use them are skipped and counted by `mxmoat lint`.
 */
#include "plugins/rules/rules_private.h"
#include "core/xalloc.h"

#include <ctype.h>

static const struct {
	const char *name;
	unsigned int flag;
} flag_names[] = {
	{ "two_boundaries", MSG_FLAG_TWO_BOUNDARIES },
	{ "two_content_types", MSG_FLAG_TWO_CONTENT_TYPES },
	{ "two_cte", MSG_FLAG_TWO_CTE },
	{ "boundary_in_base64", MSG_FLAG_BOUNDARY_IN_BASE64 },
	{ "missing_close", MSG_FLAG_MISSING_CLOSE },
	{ "header_no_colon", MSG_FLAG_HEADER_NO_COLON },
	{ "nul", MSG_FLAG_NUL },
	{ "bare_cr", MSG_FLAG_BARE_CR },
	{ "bare_lf", MSG_FLAG_BARE_LF },
	{ "bad_base64", MSG_FLAG_BAD_BASE64 },
	{ "bad_qp", MSG_FLAG_BAD_QP },
	{ "bad_charset", MSG_FLAG_BAD_CHARSET },
	{ "bad_encoded_word", MSG_FLAG_BAD_ENCODED_WORD },
	{ "boundary_mismatch", MSG_FLAG_BOUNDARY_MISMATCH },
	{ "no_boundary", MSG_FLAG_NO_BOUNDARY },
	{ "8bit_header", MSG_FLAG_8BIT_HEADER },
	{ "long_line", MSG_FLAG_LONG_LINE },
	{ "html_hidden", MSG_FLAG_HTML_HIDDEN },
	{ "empty_boundary", MSG_FLAG_EMPTY_BOUNDARY },
	{ "limit_headers", MSG_FLAG_LIMIT_HEADERS },
	{ "limit_depth", MSG_FLAG_LIMIT_DEPTH },
	{ "limit_parts", MSG_FLAG_LIMIT_PARTS },
	{ "limit_decoded", MSG_FLAG_LIMIT_DECODED },
};

static const char *const executables[] = {
	"exe", "scr", "pif", "com", "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf", "wsh",
	"hta", "cpl", "msi", "msp", "lnk", "jar", "ps1", "reg", "iso", "img", "vhd",
};

static const char *const documents[] = {
	"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "rtf", "jpg", "jpeg",
	"png", "gif", "zip", "rar", "htm", "html", "csv", "odt",
};

void
rules_eval_free(struct rule *ru)
{
	size_t i;

	for (i = 0; i < ru->neval_args; i++)
		free(ru->eval_args[i]);
	free(ru->eval_args);
	ru->eval_args = NULL;
	ru->neval_args = 0;
}

int
rules_eval_parse(struct rule *ru, const char *call)
{
	const char *open = strchr(call, '(');
	const char *close = strrchr(call, ')');
	size_t nlen;
	const char *p;

	if (open == NULL || close == NULL || close < open)
		return -1;
	nlen = (size_t)(open - call);
	if (nlen == 15 && strncmp(call, "mxmoat_msg_flag", 15) == 0)
		ru->eval = EV_MSG_FLAG;
	else if (nlen == 20 && strncmp(call, "mxmoat_link_mismatch", 20) == 0)
		ru->eval = EV_LINK_MISMATCH;
	else if (nlen == 16 && strncmp(call, "mxmoat_html_only", 16) == 0)
		ru->eval = EV_HTML_ONLY;
	else if (nlen == 21 && strncmp(call, "mxmoat_attachment_ext", 21) == 0)
		ru->eval = EV_ATTACH_EXT;
	else if (nlen == 23 && strncmp(call, "mxmoat_double_extension", 23) == 0)
		ru->eval = EV_DOUBLE_EXT;
	else if (nlen == 16 && strncmp(call, "mxmoat_url_count", 16) == 0)
		ru->eval = EV_URL_COUNT;
	else if (nlen == 13 && strncmp(call, "mxmoat_url_ip", 13) == 0)
		ru->eval = EV_URL_IP;
	else if (nlen == 18 && strncmp(call, "mxmoat_date_future", 18) == 0)
		ru->eval = EV_DATE_FUTURE;
	else if (nlen == 16 && strncmp(call, "mxmoat_date_past", 16) == 0)
		ru->eval = EV_DATE_PAST;
	else
		return -1;
	rules_eval_free(ru);
	/* arguments: words separated by commas, quotes optional */
	for (p = open + 1; p < close;) {
		size_t len;

		while (p < close && (*p == ',' || *p == ' ' || *p == '\'' || *p == '"'))
			p++;
		len = 0;
		while (p + len < close && p[len] != ',' && p[len] != '\'' && p[len] != '"' &&
		       p[len] != ' ')
			len++;
		if (len == 0)
			break;
		ru->eval_args = xreallocarray(ru->eval_args, ru->neval_args + 1, sizeof(char *));
		ru->eval_args[ru->neval_args++] = xstrndup(p, len);
		p += len;
	}
	if (ru->eval == EV_MSG_FLAG) {
		size_t i, k;

		ru->eval_flags = 0;
		for (i = 0; i < ru->neval_args; i++) {
			for (k = 0; k < N_ELEMENTS(flag_names); k++) {
				if (strcmp(ru->eval_args[i], flag_names[k].name) == 0)
					ru->eval_flags |= flag_names[k].flag;
			}
		}
		if (ru->eval_flags == 0)
			return -1;
	}
	if ((ru->eval == EV_URL_COUNT || ru->eval == EV_DATE_FUTURE || ru->eval == EV_DATE_PAST) &&
	    ru->neval_args != 1)
		return -1;
	return 0;
}

/* the registrable-looking host named by a link text: "www.bank.com",
 * "https://bank.com/login" -> "bank.com"; NULL when the text is no host */
static bool
text_host(const char *text, char *out, size_t outlen)
{
	const char *p = text;
	size_t n = 0;
	bool dot = false;

	while (isspace((unsigned char)*p))
		p++;
	if (strncasecmp(p, "http://", 7) == 0)
		p += 7;
	else if (strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncasecmp(p, "www.", 4) != 0)
		return false;
	while (*p != '\0' && *p != '/' && *p != ':' && !isspace((unsigned char)*p) && n + 1 < outlen) {
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return false;
		if (*p == '.')
			dot = true;
		out[n++] = (char)tolower((unsigned char)*p++);
	}
	out[n] = '\0';
	return dot && n > 3;
}

/* same site: equal, or one a subdomain of the other */
static bool
same_site(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (strncmp(a, "www.", 4) == 0)
		a += 4, la -= 4;
	if (strncmp(b, "www.", 4) == 0)
		b += 4, lb -= 4;
	if (la == lb)
		return strcmp(a, b) == 0;
	if (la > lb)
		return a[la - lb - 1] == '.' && strcmp(a + la - lb, b) == 0;
	return b[lb - la - 1] == '.' && strcmp(b + lb - la, a) == 0;
}

static const char *
extension(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot != NULL ? dot + 1 : NULL;
}

static bool
in_list(const char *ext, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcasecmp(ext, list[i]) == 0)
			return true;
	}
	return false;
}

struct name_walk {
	const struct rule *ru;
	char *detail;
	size_t detail_len;
	unsigned int hits;
};

static bool
check_names(void *ctx, const struct msg *m, unsigned int reading, const struct msg_part *part)
{
	struct name_walk *w = ctx;
	size_t i;

	for (i = 0; i < part->nfilenames; i++) {
		const char *name = part->filenames[i];
		const char *ext = extension(name);

		if (ext == NULL)
			continue;
		if (w->ru->eval == EV_ATTACH_EXT) {
			size_t k;

			for (k = 0; k < w->ru->neval_args; k++) {
				if (strcasecmp(ext, w->ru->eval_args[k]) == 0) {
					snprintf(w->detail, w->detail_len, "file name \"%.60s\"", name);
					w->hits++;
					return false;
				}
			}
		} else if (in_list(ext, executables, N_ELEMENTS(executables))) {
			/* the extension before the last one */
			size_t len = (size_t)(ext - 1 - name);
			char base[256];
			const char *inner;

			if (len == 0 || len >= sizeof(base))
				continue;
			memcpy(base, name, len);
			base[len] = '\0';
			/* "invoice.pdf   .exe": spaces hide the real extension */
			while (len > 0 && base[len - 1] == ' ')
				base[--len] = '\0';
			inner = extension(base);
			if ((inner != NULL && in_list(inner, documents, N_ELEMENTS(documents))) ||
			    len < (size_t)(ext - 1 - name)) {
				snprintf(w->detail, w->detail_len, "file name \"%.60s\"", name);
				w->hits++;
				return false;
			}
		}
	}
	return true;
}

/* parse_date(): RFC 5322 date-time ("Tue, 1 Dec 2026 12:00:00 +0100",
 * obsolete zones and 2-digit years too) to Unix time; -1 if not one */
static int64_t
parse_date(const char *s)
{
	static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun",
					      "jul", "aug", "sep", "oct", "nov", "dec" };
	static const int cum[] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	long day, year, hh, mm, ss = 0, zone = 0;
	int mon = -1, i;
	char *end;
	int64_t days;

	while (*s == ' ' || *s == '\t')
		s++;
	if (isalpha((unsigned char)*s)) {
		while (isalpha((unsigned char)*s))
			s++;
		while (*s == ',' || *s == ' ')
			s++;
	}
	day = strtol(s, &end, 10);
	if (end == s || day < 1 || day > 31)
		return -1;
	s = end;
	while (*s == ' ' || *s == '-')
		s++;
	for (i = 0; i < 12; i++) {
		if (strncasecmp(s, months[i], 3) == 0)
			mon = i;
	}
	if (mon < 0)
		return -1;
	while (isalpha((unsigned char)*s))
		s++;
	while (*s == ' ' || *s == '-')
		s++;
	year = strtol(s, &end, 10);
	if (end == s)
		return -1;
	if (end - s <= 2)
		year += year < 50 ? 2000 : 1900;
	s = end;
	hh = strtol(s, &end, 10);
	if (end == s || *end != ':')
		return -1;
	mm = strtol(end + 1, &end, 10);
	if (*end == ':')
		ss = strtol(end + 1, &end, 10);
	s = end;
	while (*s == ' ')
		s++;
	if (*s == '+' || *s == '-') {
		long z = strtol(s + 1, &end, 10);

		zone = (z / 100) * 3600 + (z % 100) * 60;
		if (*s == '-')
			zone = -zone;
	}
	if (year < 1970 || year > 2200 || hh > 23 || mm > 59 || ss > 60)
		return -1;
	days = (year - 1970) * 365 + (year - 1969) / 4 - (year - 1901) / 100 + (year - 1601) / 400;
	days += cum[mon] + day - 1;
	if (mon > 1 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		days++;
	return days * 86400 + hh * 3600 + mm * 60 + ss - zone;
}

/* date_skew(): Date minus the first Received's date, in seconds */
static bool
date_skew(const struct msg *m, int64_t *skew_r)
{
	const struct msg_header *d = msg_header_get(m, "Date", 0);
	const struct msg_header *r = msg_header_get(m, "Received", 0);
	const char *semi;
	int64_t dt, rt;

	if (d == NULL || r == NULL || (semi = strrchr(r->value, ';')) == NULL)
		return false;
	dt = parse_date(d->value);
	rt = parse_date(semi + 1);
	if (dt < 0 || rt < 0)
		return false;
	*skew_r = dt - rt;
	return true;
}

unsigned int
rules_eval_run(const struct rule *ru, const struct msg *m, char *detail, size_t detail_len)
{
	size_t i;

	switch (ru->eval) {
	case EV_MSG_FLAG:
		if (m->flags & ru->eval_flags) {
			snprintf(detail, detail_len, "message flags 0x%x", m->flags & ru->eval_flags);
			return 1;
		}
		return 0;
	case EV_LINK_MISMATCH:
		for (i = 0; i < m->nurls; i++) {
			const struct msg_url *u = &m->urls[i];
			char th[256];

			if (u->link_text == NULL || u->host == NULL || u->host[0] == '\0' ||
			    !text_host(u->link_text, th, sizeof(th)))
				continue;
			if (!same_site(th, u->host)) {
				snprintf(detail, detail_len, "text \"%.40s\" links to %.60s", th, u->host);
				return 1;
			}
		}
		return 0;
	case EV_HTML_ONLY: {
		bool html = false, plain = false;

		for (i = 0; i < m->readings[0].nparts; i++) {
			const struct msg_part *p = m->readings[0].parts[i];

			if (strcmp(p->type, "text") != 0 || p->is_attachment)
				continue;
			if (strcmp(p->subtype, "html") == 0)
				html = true;
			else if (strcmp(p->subtype, "plain") == 0 && p->text.len > 0)
				plain = true;
		}
		if (html && !plain) {
			snprintf(detail, detail_len, "text/html without text/plain");
			return 1;
		}
		return 0;
	}
	case EV_ATTACH_EXT:
	case EV_DOUBLE_EXT: {
		struct name_walk w = { ru, detail, detail_len, 0 };

		msg_foreach_part(m, check_names, &w);
		return w.hits > 0 ? 1 : 0;
	}
	case EV_URL_IP:
		for (i = 0; i < m->nurls; i++) {
			if (m->urls[i].host_is_ip) {
				snprintf(detail, detail_len, "%.80s", m->urls[i].url);
				return 1;
			}
		}
		return 0;
	case EV_DATE_FUTURE:
	case EV_DATE_PAST: {
		int64_t skew, limit = (int64_t)strtol(ru->eval_args[0], NULL, 10) * 3600;

		if (!date_skew(m, &skew))
			return 0;
		if ((ru->eval == EV_DATE_FUTURE && skew > limit) ||
		    (ru->eval == EV_DATE_PAST && -skew > limit)) {
			snprintf(detail, detail_len, "Date %+lld hours from Received",
				 (long long)(skew / 3600));
			return 1;
		}
		return 0;
	}
	case EV_URL_COUNT: {
		unsigned long min = strtoul(ru->eval_args[0], NULL, 10);

		if (m->nurls >= min) {
			snprintf(detail, detail_len, "%zu URLs", m->nurls);
			return 1;
		}
		return 0;
	}
	}
	return 0;
}
