#include "verdict/header_edit.h"
#include "core/xalloc.h"

void
header_edit_init(struct header_edit *e)
{
	memset(e, 0, sizeof(*e));
}

void
header_edit_deinit(struct header_edit *e)
{
	buf_deinit(&e->prepend);
	header_edit_init(e);
}

static void
add_skip(struct header_edit *e, uint64_t off, uint64_t len)
{
	if (e->nskip == HEADER_EDIT_MAX) {
		e->truncated = true;
		return;
	}
	e->skip[e->nskip].off = off;
	e->skip[e->nskip].len = len;
	e->nskip++;
}

/* field(): one header field at p[0..end): name, and where it ends (the
 * byte after its last CRLF, continuation lines included) */
static size_t
field_end(const char *p, size_t len)
{
	size_t i = 0;

	for (;;) {
		const char *nl = memchr(p + i, '\n', len - i);

		if (nl == NULL)
			return len;
		i = (size_t)(nl - p) + 1;
		if (i >= len || (p[i] != ' ' && p[i] != '\t'))
			return i;
	}
}

int
header_edit_plan(struct header_edit *e, struct spool *spool, const struct verdict *v,
		 const char **error_r)
{
	char *block = xmalloc(HEADER_EDIT_SCAN);
	ssize_t n = spool_read(spool, 0, block, HEADER_EDIT_SCAN, error_r);
	size_t len, pos = 0;
	bool subject_done = false;

	if (n < 0) {
		free(block);
		return -1;
	}
	len = (size_t)n;
	buf_append(&e->prepend, v->headers.data, v->headers.len);
	while (pos < len) {
		const char *p = block + pos;
		size_t flen, nlen;

		if (p[0] == '\r' || p[0] == '\n')
			break; /* end of the header block */
		flen = field_end(p, len - pos);
		if (pos + flen == len && flen == len - pos && memchr(p, '\n', flen) == NULL)
			break; /* a field cut by the scan limit */
		for (nlen = 0; nlen < flen && p[nlen] != ':' && p[nlen] != '\r' && p[nlen] != '\n';
		     nlen++)
			;
		if (nlen < flen && p[nlen] == ':') {
			if (verdict_is_ours(p, nlen)) {
				add_skip(e, pos, flen);
			} else if (v->rewrite_subject && !subject_done && nlen == 7 &&
				   strncasecmp(p, "Subject", 7) == 0) {
				const char *val = p + nlen + 1;
				size_t vlen = flen - nlen - 1;

				while (vlen > 0 && (*val == ' ' || *val == '\t')) {
					val++;
					vlen--;
				}
				subject_done = true;
				add_skip(e, pos, flen);
				buf_append_str(&e->prepend, "Subject: ");
				buf_append_str(&e->prepend, v->subject_prefix);
				buf_append_char(&e->prepend, ' ');
				/* the client's value, folding and CRLF kept */
				buf_append(&e->prepend, val, vlen);
			}
		}
		pos += flen;
	}
	if (v->rewrite_subject && !subject_done) {
		buf_append_str(&e->prepend, "Subject: ");
		buf_append_str(&e->prepend, v->subject_prefix);
		buf_append_str(&e->prepend, "\r\n");
	}
	free(block);
	return 0;
}

const struct header_edit_range *
header_edit_next_skip(const struct header_edit *e, uint64_t off)
{
	size_t i;

	for (i = 0; i < e->nskip; i++) {
		if (e->skip[i].off + e->skip[i].len > off)
			return &e->skip[i];
	}
	return NULL;
}
