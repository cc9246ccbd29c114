#include "milter/milter_hdr.h"
#include "core/xalloc.h"

void
milter_hdr_spool(struct buf *out, const char *name, const char *value, bool leadspc)
{
	const char *p;

	buf_append_str(out, name);
	buf_append_char(out, ':');
	if (!leadspc && value[0] != '\0')
		buf_append_char(out, ' ');
	for (p = value; *p != '\0'; p++) {
		if (*p == '\n') {
			if (p == value || p[-1] != '\r')
				buf_append_char(out, '\r');
		}
		buf_append_char(out, *p);
	}
	buf_append_str(out, "\r\n");
}

/* one value from a CRLF-folded field body: CRLF becomes LF, the last
 * CRLF goes */
static char *
value_lf(const char *p, size_t len)
{
	struct buf v = BUF_INIT;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
			continue;
		buf_append_char(&v, p[i]);
	}
	while (v.len > 0 && (v.data[v.len - 1] == '\n' || v.data[v.len - 1] == '\r'))
		buf_truncate(&v, v.len - 1);
	if (v.data == NULL)
		return xstrdup("");
	return buf_steal(&v);
}

size_t
milter_hdr_split(const char *fields, size_t len, struct milter_hdr_list *out)
{
	size_t pos = 0, skipped = 0;

	out->n = 0;
	while (pos < len) {
		const char *p = fields + pos, *colon;
		size_t flen = 0, nlen;

		/* the field runs to the CRLF not followed by a blank */
		for (;;) {
			const char *nl = memchr(p + flen, '\n', len - pos - flen);

			if (nl == NULL) {
				flen = len - pos;
				break;
			}
			flen = (size_t)(nl - p) + 1;
			if (pos + flen >= len || (p[flen] != ' ' && p[flen] != '\t'))
				break;
		}
		colon = memchr(p, ':', flen);
		nlen = colon != NULL ? (size_t)(colon - p) : 0;
		if (colon == NULL || nlen == 0 || nlen >= MILTER_HDR_NAME ||
		    memchr(p, ' ', nlen) != NULL || out->n == MILTER_HDR_MAX) {
			skipped++;
		} else {
			struct milter_hdr *h = &out->h[out->n++];

			memcpy(h->name, p, nlen);
			h->name[nlen] = '\0';
			h->value = value_lf(colon + 1, flen - nlen - 1);
		}
		pos += flen;
	}
	return skipped;
}

void
milter_hdr_list_free(struct milter_hdr_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->h[i].value);
		l->h[i].value = NULL;
	}
	l->n = 0;
}

bool
milter_hdr_value_ok(const char *value, bool ascii_only)
{
	const unsigned char *p;

	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p == '\r')
			return false;
		if (*p == '\n') {
			if (p[1] != ' ' && p[1] != '\t')
				return false;
			continue;
		}
		if (ascii_only && *p != '\t' && (*p < 0x20 || *p > 0x7e))
			return false;
		if (!ascii_only && *p < 0x20 && *p != '\t')
			return false;
	}
	return true;
}

char *
milter_hdr_subject(const char *prefix, const char *original)
{
	struct buf v = BUF_INIT;
	const char *p;

	buf_append_char(&v, ' ');
	buf_append_str(&v, prefix);
	if (original == NULL)
		return buf_steal(&v);
	for (p = original; *p == ' ' || *p == '\t'; p++)
		;
	if (*p != '\0')
		buf_append_char(&v, ' ');
	for (; *p != '\0'; p++) {
		if (*p == '\r')
			continue; /* CRLF folds become LF folds */
		buf_append_char(&v, *p);
	}
	return buf_steal(&v);
}

void
milter_hdr_reply_text(char *out, size_t size, const char *text)
{
	size_t n = 0;
	const unsigned char *p;

	if (size == 0)
		return;
	for (p = (const unsigned char *)text; *p != '\0' && n + 1 < size; p++)
		out[n++] = (*p >= 0x20 && *p <= 0x7e && *p != '%') ? (char)*p : '_';
	out[n] = '\0';
}
