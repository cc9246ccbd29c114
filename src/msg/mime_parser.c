#include "msg/mime_parser.h"
#include "core/bounds.h"
#include "core/xalloc.h"

/* Content-Type / -Transfer-Encoding / -Disposition values kept per part
 * (more are counted, not kept) */
#define MIME_DUP_MAX 8
/* white space after a delimiter that we wait for before deciding */
#define DELIM_WS_SLACK 256
/* lines longer than this are long (RFC 5322 2.1.1) */
#define LINE_LIMIT 998

enum frame_kind { FR_LEAF, FR_MULTIPART, FR_MESSAGE };
enum mp_state { MP_PREAMBLE, MP_CHILD, MP_EPILOGUE };
enum pstate { ST_HEADER, ST_BODY, ST_DONE };
enum field_kind { FK_OTHER, FK_CT, FK_CTE, FK_DISP };

struct frame {
	struct mime_part_info *info;
	enum frame_kind kind;
	char *boundary;
	size_t blen;
	enum mp_state mstate;
	bool saw_delim, closed, asked_after_close, reopen;
	bool asked_prefix, exact_only;
	bool digest;
};

struct qblock {
	struct mime_block b;
	size_t data_start; /* BODY: index in the input buffer */
};

struct mime_vals {
	struct buf v[MIME_DUP_MAX];
	unsigned int n;     /* kept */
	unsigned int seen;  /* fields seen */
};

struct mime_parser {
	struct mime_parser_settings set;
	struct buf in;     /* input copied in */
	const char *d;     /* the input being parsed: in.data, or borrowed */
	size_t dlen;
	size_t rpos;
	uint64_t in_base; /* message offset of in.data[0] */
	bool eof;
	enum pstate state;

	struct frame *stack;
	size_t nstack, capstack;
	size_t nbound;   /* multipart frames with a boundary */
	size_t max_blen;

	struct qblock *q;
	size_t qhead, qlen, qcap;
	struct mime_part_info *retired;

	unsigned int nparts;
	unsigned int flags;
	bool no_split;
	bool first_line;
	bool started;
	bool skip_to_eol; /* the rest of a long delimiter line is dropped */

	/* header state of the top part */
	struct buf fraw, fvalue;
	size_t fname_len;
	bool field_open, field_trunc, hdr_line_mid, hdr_end_pending;
	bool mid_silent; /* the rest of the line is the mbox From line */
	enum field_kind fkind;
	uint64_t field_off;
	size_t hdr_bytes;
	unsigned int nreturned;
	struct mime_vals ct, cte, disp;

	/* body state */
	size_t run_start, run_end, pend_eol;
	bool body_mid_line;
	size_t mid_len; /* bytes of the current line taken in mid-line mode */
};

void
mime_parser_settings_from_limits(struct mime_parser_settings *set,
				 const struct msg_limits *l)
{
	memset(set, 0, sizeof(*set));
	set->max_header_block = l->header_block;
	set->max_headers = l->headers;
	set->max_header_line = l->header_line;
	set->max_depth = l->depth;
	set->max_parts = l->parts;
	set->max_params = l->params;
}

struct mime_parser *
mime_parser_new(const struct mime_parser_settings *set)
{
	struct mime_parser *p = xcalloc(1, sizeof(*p));

	p->set = *set;
	if (p->set.max_header_line < 80)
		p->set.max_header_line = 80;
	if (p->set.max_parts == 0)
		p->set.max_parts = 1;
	p->nparts = set->base_parts;
	p->in_base = set->base_offset;
	p->first_line = (set->flags & MIME_PARSER_F_SKIP_MBOX_FROM) != 0;
	p->state = ST_HEADER;
	p->d = "";
	return p;
}

static void
vals_reset(struct mime_vals *v)
{
	unsigned int i;

	for (i = 0; i < v->n; i++)
		buf_reset(&v->v[i]);
	v->n = 0;
	v->seen = 0;
}

static void
vals_deinit(struct mime_vals *v)
{
	unsigned int i;

	for (i = 0; i < MIME_DUP_MAX; i++)
		buf_deinit(&v->v[i]);
}

static void
info_free(struct mime_part_info *info)
{
	if (info == NULL)
		return;
	mime_value_deinit(&info->ctype);
	mime_value_deinit(&info->disp);
	free(info);
}

void
mime_parser_free(struct mime_parser **pp)
{
	struct mime_parser *p = *pp;
	size_t i;

	if (p == NULL)
		return;
	*pp = NULL;
	for (i = 0; i < p->nstack; i++) {
		free(p->stack[i].boundary);
		info_free(p->stack[i].info);
	}
	/* PART_END blocks still queued hold popped parts */
	for (i = 0; i < p->qlen; i++) {
		struct qblock *qb = &p->q[(p->qhead + i) % p->qcap];

		if (qb->b.type == MIME_BLOCK_PART_END)
			info_free(qb->b.part);
	}
	info_free(p->retired);
	free(p->stack);
	free(p->q);
	buf_deinit(&p->in);
	buf_deinit(&p->fraw);
	buf_deinit(&p->fvalue);
	vals_deinit(&p->ct);
	vals_deinit(&p->cte);
	vals_deinit(&p->disp);
	free(p);
}

/* the unconsumed input starts at index keep */
static size_t
keep_from(const struct mime_parser *p)
{
	return p->state == ST_BODY ? MIN(p->run_start, p->rpos) : p->rpos;
}

static void
rebase(struct mime_parser *p, size_t keep)
{
	p->in_base += keep;
	p->rpos -= keep;
	if (p->state == ST_BODY) {
		p->run_start -= keep;
		p->run_end -= keep;
	}
}

void
mime_parser_push(struct mime_parser *p, const void *data, size_t len)
{
	size_t keep = p->qlen == 0 ? keep_from(p) : 0;

	if (p->d != p->in.data) {
		/* borrowed input: copy what is left of it first */
		buf_reset(&p->in);
		buf_append(&p->in, p->d + keep, p->dlen - keep);
		rebase(p, keep);
	} else if (keep > 0) {
		memmove(p->in.data, p->in.data + keep, p->in.len - keep);
		p->in.len -= keep;
		rebase(p, keep);
	}
	buf_append(&p->in, data, len);
	p->d = p->in.data;
	p->dlen = p->in.len;
}

void
mime_parser_push_borrowed(struct mime_parser *p, const void *data, size_t len)
{
	if (p->qlen > 0 || keep_from(p) < p->dlen) {
		mime_parser_push(p, data, len);
		return;
	}
	/* nothing left over: parse the caller's bytes where they are */
	rebase(p, p->dlen);
	buf_reset(&p->in);
	p->d = data;
	p->dlen = len;
}

void
mime_parser_finish(struct mime_parser *p)
{
	p->eof = true;
}

unsigned int
mime_parser_flags(const struct mime_parser *p)
{
	return p->flags;
}

unsigned int
mime_parser_nparts(const struct mime_parser *p)
{
	return p->nparts;
}

void
mime_parser_count_parts(struct mime_parser *p, unsigned int n)
{
	p->nparts += n;
	if (p->nparts >= p->set.max_parts)
		p->no_split = true;
}

/* --- small helpers ----------------------------------------------------- */

static uint64_t
abs_off(const struct mime_parser *p, size_t idx)
{
	return p->in_base + idx;
}

static unsigned int
choose(struct mime_parser *p, enum mime_ambiguity kind, unsigned int nalts, uint64_t off)
{
	unsigned int alt;

	if (p->set.choose == NULL || nalts < 2)
		return 0;
	alt = p->set.choose(p->set.choose_ctx, kind, nalts, off);
	return alt < nalts ? alt : 0;
}

static struct mime_block *
queue(struct mime_parser *p, enum mime_block_type type, struct mime_part_info *part)
{
	struct qblock *qb;

	if (p->qlen == p->qcap) {
		size_t ncap = p->qcap == 0 ? 8 : p->qcap * 2, i;
		struct qblock *nq = xcalloc(ncap, sizeof(*nq));

		for (i = 0; i < p->qlen; i++)
			nq[i] = p->q[(p->qhead + i) % p->qcap];
		free(p->q);
		p->q = nq;
		p->qcap = ncap;
		p->qhead = 0;
	}
	qb = &p->q[(p->qhead + p->qlen) % p->qcap];
	p->qlen++;
	memset(qb, 0, sizeof(*qb));
	qb->b.type = type;
	qb->b.part = part;
	return &qb->b;
}

static struct frame *
top(struct mime_parser *p)
{
	return &p->stack[p->nstack - 1];
}

/* the next line end in s[0..n): returns the line length (content, CR of
 * a CRLF excluded) or SIZE_MAX if no line end is there; *eol_r: the
 * length of the line end (1 or 2) */
static size_t
find_eol(const struct mime_parser *p, const char *s, size_t n, size_t *eol_r)
{
	const char *nl;

	if (p->set.flags & MIME_PARSER_F_CR_IS_EOL) {
		const char *cr = memchr(s, '\r', n);

		nl = memchr(s, '\n', cr != NULL ? (size_t)(cr - s) : n);
		if (nl == NULL && cr != NULL) {
			if ((size_t)(cr - s) + 1 >= n && !p->eof) {
				/* CR at the end: LF may follow */
				*eol_r = 0;
				return SIZE_MAX;
			}
			*eol_r = ((size_t)(cr - s) + 1 < n && cr[1] == '\n') ? 2 : 1;
			return (size_t)(cr - s);
		}
	} else {
		nl = memchr(s, '\n', n);
	}
	if (nl == NULL) {
		*eol_r = 0;
		return SIZE_MAX;
	}
	if (nl > s && nl[-1] == '\r') {
		*eol_r = 2;
		return (size_t)(nl - s) - 1;
	}
	*eol_r = 1;
	return (size_t)(nl - s);
}

/* flags of some bytes of a line (content, and its line end if eol > 0);
 * the length of the whole line is checked by its caller */
static void
line_flags(struct mime_parser *p, struct mime_part_info *info, const char *s, size_t len,
	   size_t eol)
{
	/* each looked for until the part has it */
	if (!(info->flags & MSG_FLAG_NUL) && memchr(s, '\0', len) != NULL)
		info->flags |= MSG_FLAG_NUL;
	if (!(info->flags & MSG_FLAG_BARE_CR) && memchr(s, '\r', len) != NULL)
		info->flags |= MSG_FLAG_BARE_CR;
	if (eol == 1 && s[len] == '\n')
		info->flags |= MSG_FLAG_BARE_LF;
}

/* --- parts ------------------------------------------------------------- */

static void
header_state_reset(struct mime_parser *p)
{
	buf_reset(&p->fraw);
	buf_reset(&p->fvalue);
	p->field_open = false;
	p->field_trunc = false;
	p->hdr_line_mid = false;
	p->hdr_end_pending = false;
	p->hdr_bytes = 0;
	p->nreturned = 0;
	vals_reset(&p->ct);
	vals_reset(&p->cte);
	vals_reset(&p->disp);
}

static void
start_part(struct mime_parser *p, size_t at, bool digest_child)
{
	struct mime_part_info *info = xcalloc(1, sizeof(*info));
	struct frame *f;

	info->index = p->nparts++;
	info->offset = abs_off(p, at);
	info->parent = p->nstack > 0 ? top(p)->info : NULL;
	info->depth = p->nstack > 0 ? top(p)->info->depth + 1 : p->set.base_depth;
	if (p->nstack == p->capstack) {
		p->capstack = p->capstack == 0 ? 8 : p->capstack * 2;
		p->stack = xreallocarray(p->stack, p->capstack, sizeof(*p->stack));
	}
	f = &p->stack[p->nstack++];
	memset(f, 0, sizeof(*f));
	f->info = info;
	f->kind = FR_LEAF;
	f->digest = digest_child; /* until HEADERS_END: "parent is a digest" */
	queue(p, MIME_BLOCK_PART_START, info);
	header_state_reset(p);
	p->state = ST_HEADER;
}

static void
recompute_bounds(struct mime_parser *p)
{
	size_t i;

	p->nbound = 0;
	p->max_blen = 0;
	for (i = 0; i < p->nstack; i++) {
		if (p->stack[i].kind == FR_MULTIPART) {
			p->nbound++;
			p->max_blen = MAX(p->max_blen, p->stack[i].blen);
		}
	}
}

/* pop the top frame, queueing its PART_END */
static void
end_top(struct mime_parser *p, uint64_t body_end)
{
	struct frame *f = top(p);
	struct mime_part_info *info = f->info;

	if (f->kind == FR_MULTIPART) {
		if (!f->saw_delim)
			info->flags |= MSG_FLAG_BOUNDARY_MISMATCH;
		else if (!f->closed)
			info->flags |= MSG_FLAG_MISSING_CLOSE;
	}
	info->body_end = body_end;
	if (info->body_end < info->body_offset)
		info->body_end = info->body_offset;
	p->flags |= info->flags;
	free(f->boundary);
	p->nstack--;
	queue(p, MIME_BLOCK_PART_END, info);
	recompute_bounds(p);
}

/* --- header block ------------------------------------------------------ */

static enum field_kind
field_kind_exact(const char *name, size_t len)
{
	struct view v = { name, len };

	if (len < 12 || (name[0] != 'c' && name[0] != 'C'))
		return FK_OTHER;
	if (view_eq_cstr_nocase(v, "content-type"))
		return FK_CT;
	if (view_eq_cstr_nocase(v, "content-transfer-encoding"))
		return FK_CTE;
	if (view_eq_cstr_nocase(v, "content-disposition"))
		return FK_DISP;
	return FK_OTHER;
}

/* "Content-Type(comment)" or "Content-Type (x)": the MIME field it would
 * be without the comment */
static enum field_kind
field_kind_commented(const char *name, size_t len)
{
	const char *paren = memchr(name, '(', len);
	size_t n;

	if (paren == NULL || name[len - 1] != ')')
		return FK_OTHER;
	n = (size_t)(paren - name);
	while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
		n--;
	return field_kind_exact(name, n);
}

static void
vals_add(struct mime_vals *v, const struct buf *value)
{
	v->seen++;
	if (v->n >= MIME_DUP_MAX)
		return;
	buf_reset(&v->v[v->n]);
	buf_append(&v->v[v->n], value->data != NULL ? value->data : "", value->len);
	v->n++;
}

/* the open field is complete: return it (within the limits) and note
 * MIME values; true if a HEADER block was queued */
static bool
close_field(struct mime_parser *p)
{
	struct mime_part_info *info = top(p)->info;
	struct mime_block *b;
	size_t vlen = p->fvalue.len, lead = 0;

	p->field_open = false;
	while (vlen > 0 && (p->fvalue.data[vlen - 1] == ' ' || p->fvalue.data[vlen - 1] == '\t'))
		vlen--;
	buf_truncate(&p->fvalue, vlen);
	/* "Subject:" CRLF " text": the value starts on a continuation line,
	 * whose leading white space is folding, not content */
	while (lead < vlen && (p->fvalue.data[lead] == ' ' || p->fvalue.data[lead] == '\t'))
		lead++;
	if (lead > 0) {
		memmove(p->fvalue.data, p->fvalue.data + lead, vlen - lead);
		buf_truncate(&p->fvalue, vlen - lead);
	}
	info->nheaders++;
	switch (p->fkind) {
	case FK_CT:
		vals_add(&p->ct, &p->fvalue);
		break;
	case FK_CTE:
		vals_add(&p->cte, &p->fvalue);
		break;
	case FK_DISP:
		vals_add(&p->disp, &p->fvalue);
		break;
	case FK_OTHER:
		break;
	}
	if (p->field_trunc)
		info->flags |= MSG_FLAG_LIMIT_HEADERS;
	if (p->nreturned >= p->set.max_headers || p->hdr_bytes > p->set.max_header_block) {
		info->flags |= MSG_FLAG_LIMIT_HEADERS;
		return false;
	}
	p->nreturned++;
	b = queue(p, MIME_BLOCK_HEADER, info);
	b->hdr.name = (struct view){ buf_cstr(&p->fraw), p->fname_len };
	b->hdr.raw = view_from_buf(&p->fraw);
	b->hdr.value = view_from_buf(&p->fvalue);
	b->hdr.offset = p->field_off;
	b->hdr.truncated = p->field_trunc;
	b->offset = p->field_off;
	return true;
}

/* append to the open field, within header_line */
static void
field_append(struct mime_parser *p, struct buf *b, const char *s, size_t n)
{
	size_t room = p->set.max_header_line > b->len ? p->set.max_header_line - b->len : 0;

	if (n > room) {
		n = room;
		p->field_trunc = true;
	}
	buf_append(b, s, n);
}

static void
header_bytes_flags(struct mime_parser *p, const char *s, size_t n)
{
	struct mime_part_info *info = top(p)->info;
	size_t i = 0;

	if (info->flags & MSG_FLAG_8BIT_HEADER)
		return;
	/* eight bytes at a time */
	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		if (w & 0x8080808080808080ULL)
			break;
	}
	for (; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80) {
			info->flags |= MSG_FLAG_8BIT_HEADER;
			break;
		}
	}
}

/* a malformed line: is there a MIME field further down in this header
 * block? 1 yes, 0 no, -1 need more input */
static int
later_mime_field(struct mime_parser *p, size_t from)
{
	size_t pos = from, eol, len;

	while (pos < p->dlen) {
		const char *s = p->d + pos;

		len = find_eol(p, s, p->dlen - pos, &eol);
		if (len == SIZE_MAX) {
			if (!p->eof && pos - from < p->set.max_header_block)
				return -1;
			len = p->dlen - pos;
		}
		if (len == 0)
			return 0;
		if (len > 8 && strncasecmp(s, "content-", 8) == 0 && memchr(s, ':', len) != NULL)
			return 1;
		if (pos - from > p->set.max_header_block)
			return 0;
		pos += len + eol;
	}
	return p->eof ? 0 : -1;
}

static bool
valid_field_name(const char *s, size_t n)
{
	size_t i;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static void finish_headers(struct mime_parser *p);

/* a new field starts at s (the line, content length len) */
static void
open_field(struct mime_parser *p, const char *s, size_t len, size_t eol, size_t colon)
{
	size_t n = colon, v;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	buf_reset(&p->fraw);
	buf_reset(&p->fvalue);
	p->field_trunc = false;
	p->field_open = true;
	p->field_off = abs_off(p, p->rpos);
	p->fname_len = n;
	field_append(p, &p->fraw, s, len + eol);
	if (p->fname_len > p->fraw.len)
		p->fname_len = p->fraw.len;
	v = colon + 1;
	while (v < len && (s[v] == ' ' || s[v] == '\t'))
		v++;
	field_append(p, &p->fvalue, s + v, len - v);
	p->fkind = field_kind_exact(s, n);
	if (p->fkind == FK_OTHER) {
		enum field_kind k = field_kind_commented(s, n);

		if (k != FK_OTHER) {
			top(p)->info->flags |= MSG_FLAG_HEADER_NAME_COMMENT;
			if (choose(p, MIME_AMB_NAME_COMMENT, 2, p->field_off) == 1)
				p->fkind = k;
		}
	}
}

static bool
is_mbox_from(const char *s, size_t len)
{
	const char *colon;
	size_t i;

	if (len < 5 || memcmp(s, "From ", 5) != 0)
		return false;
	colon = memchr(s, ':', len);
	/* "From : x" is a header written with obsolete spacing */
	for (i = 5; i < (colon != NULL ? (size_t)(colon - s) : len); i++) {
		if (s[i] != ' ' && s[i] != '\t')
			return true;
	}
	return false;
}

/* a line (or its start, if partial) read as part of the header block */
static void
header_line_taken(struct mime_parser *p, struct mime_part_info *info, const char *s, size_t len,
		  size_t eol, bool partial)
{
	line_flags(p, info, s, len, eol);
	header_bytes_flags(p, s, len);
	if (partial)
		p->mid_len = len;
	else if (len > LINE_LIMIT)
		info->flags |= MSG_FLAG_LONG_LINE;
	p->hdr_bytes += len + eol;
	p->rpos += len + eol;
	p->hdr_line_mid = partial;
}

/* parse header lines; returns 1 on progress, 0 for more input */
static int
header_step(struct mime_parser *p)
{
	struct mime_part_info *info = top(p)->info;

	for (;;) {
		const char *s = p->d + p->rpos;
		size_t avail = p->dlen - p->rpos, eol, len, colon_at;
		const char *colon;
		bool partial;

		if (p->hdr_end_pending) {
			p->hdr_end_pending = false;
			finish_headers(p);
			return 1;
		}
		if (p->hdr_line_mid) {
			len = find_eol(p, s, avail, &eol);
			if (len == SIZE_MAX) {
				if (!p->eof) {
					/* a CR at the end may start the CRLF */
					size_t take = avail > 0 && s[avail - 1] == '\r' ? avail - 1 : avail;

					if (!p->mid_silent) {
						line_flags(p, info, s, take, 0);
						header_bytes_flags(p, s, take);
					}
					if (p->field_open) {
						field_append(p, &p->fraw, s, take);
						field_append(p, &p->fvalue, s, take);
					}
					if (!p->mid_silent)
						p->hdr_bytes += take;
					p->mid_len += take;
					p->rpos += take;
					if (p->mid_silent)
						info->offset = abs_off(p, p->rpos);
					return 0;
				}
				len = avail;
				eol = 0;
			}
			if (!p->mid_silent) {
				line_flags(p, info, s, len, eol);
				header_bytes_flags(p, s, len);
				if (p->mid_len + len > LINE_LIMIT)
					info->flags |= MSG_FLAG_LONG_LINE;
				p->hdr_bytes += len + eol;
			}
			if (p->field_open) {
				field_append(p, &p->fraw, s, len + eol);
				field_append(p, &p->fvalue, s, len);
			}
			p->rpos += len + eol;
			if (p->mid_silent)
				info->offset = abs_off(p, p->rpos);
			p->hdr_line_mid = false;
			p->mid_silent = false;
			p->mid_len = 0;
			continue;
		}
		if (avail == 0) {
			if (!p->eof)
				return 0;
			if (p->field_open && close_field(p)) {
				p->hdr_end_pending = true;
				return 1;
			}
			finish_headers(p);
			return 1;
		}
		len = find_eol(p, s, avail, &eol);
		partial = false;
		if (len == SIZE_MAX) {
			if (!p->eof && avail < p->set.max_header_line + 2)
				return 0;
			len = avail;
			eol = 0;
			partial = !p->eof;
			if (partial && s[len - 1] == '\r')
				len--; /* it may start the CRLF */
		}
		if (len == 0 && eol > 0) {
			/* the blank line */
			p->rpos += eol;
			p->hdr_bytes += eol;
			if (p->field_open && close_field(p)) {
				p->hdr_end_pending = true;
				return 1;
			}
			p->field_open = false;
			finish_headers(p);
			return 1;
		}
		if ((s[0] == ' ' || s[0] == '\t') && p->field_open) {
			/* a continuation line */
			field_append(p, &p->fraw, s, len + eol);
			field_append(p, &p->fvalue, s, len);
			header_line_taken(p, info, s, len, eol, partial);
			continue;
		}
		if (p->field_open) {
			if (close_field(p))
				return 1;
			continue;
		}
		/* a new field, or a malformed line */
		colon = memchr(s, ':', MIN(len, p->set.max_header_line));
		colon_at = colon != NULL ? (size_t)(colon - s) : 0;
		if (colon == NULL || !valid_field_name(s, colon_at)) {
			if (p->first_line && is_mbox_from(s, len)) {
				/* not a header line: no flags, no header bytes */
				p->first_line = false;
				p->rpos += len + eol;
				p->hdr_line_mid = partial;
				p->mid_silent = partial;
				p->mid_len = 0;
				info->offset = abs_off(p, p->rpos);
				continue;
			}
			p->first_line = false;
			info->flags |= MSG_FLAG_HEADER_NO_COLON;
			if (info->nheaders == 0 && s[0] != ' ' && s[0] != '\t') {
				/* no header block at all: the body starts here */
				finish_headers(p);
				return 1;
			}
			if (s[0] != ' ' && s[0] != '\t') {
				int later = later_mime_field(p, p->rpos + len + eol);

				if (later < 0)
					return 0;
				if (later > 0 && choose(p, MIME_AMB_NO_COLON, 2,
							abs_off(p, p->rpos)) == 1) {
					finish_headers(p);
					return 1;
				}
			}
			/* skipped, as most clients do */
			header_line_taken(p, info, s, len, eol, partial);
			continue;
		}
		p->first_line = false;
		open_field(p, s, len, eol, colon_at);
		header_line_taken(p, info, s, len, eol, partial);
	}
}

/* distinct values among the kept ones; alt picks which is used */
static const struct buf *
pick_value(struct mime_parser *p, struct mime_vals *v, enum mime_ambiguity kind,
	   unsigned int flag)
{
	struct mime_part_info *info = top(p)->info;
	const struct buf *distinct[MIME_DUP_MAX];
	unsigned int nd = 0, i, k, alt;

	if (v->n == 0)
		return NULL;
	if (v->seen > 1)
		info->flags |= flag;
	for (i = 0; i < v->n; i++) {
		struct view a = view_trim(view_from_buf(&v->v[i]));

		for (k = 0; k < nd; k++) {
			if (view_eq_nocase(a, view_trim(view_from_buf(distinct[k]))))
				break;
		}
		if (k == nd)
			distinct[nd++] = &v->v[i];
	}
	alt = choose(p, kind, nd, info->offset);
	return distinct[alt];
}

enum msg_cte
mime_parser_cte(const char *s, size_t len)
{
	struct view v;
	size_t i = 0, j;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '"'))
		i++;
	j = i;
	while (j < len && s[j] != ' ' && s[j] != '\t' && s[j] != ';' && s[j] != '(' &&
	       s[j] != '"')
		j++;
	v = (struct view){ s + i, j - i };
	if (v.len == 0 || view_eq_cstr_nocase(v, "7bit"))
		return MSG_CTE_7BIT;
	if (view_eq_cstr_nocase(v, "8bit"))
		return MSG_CTE_8BIT;
	if (view_eq_cstr_nocase(v, "binary"))
		return MSG_CTE_BINARY;
	if (view_eq_cstr_nocase(v, "quoted-printable"))
		return MSG_CTE_QP;
	if (view_eq_cstr_nocase(v, "base64"))
		return MSG_CTE_BASE64;
	if (view_eq_cstr_nocase(v, "x-uuencode") || view_eq_cstr_nocase(v, "uuencode") ||
	    view_eq_cstr_nocase(v, "x-uue") || view_eq_cstr_nocase(v, "uue"))
		return MSG_CTE_UUENCODE;
	return MSG_CTE_UNKNOWN;
}

static bool
identity_cte(enum msg_cte c)
{
	return c == MSG_CTE_7BIT || c == MSG_CTE_8BIT || c == MSG_CTE_BINARY ||
	       c == MSG_CTE_UNKNOWN;
}

static void
set_type(struct mime_part_info *info, const char *type, const char *subtype)
{
	snprintf(info->type, sizeof(info->type), "%s", type);
	snprintf(info->subtype, sizeof(info->subtype), "%s", subtype);
}

static bool
token_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return i < 64;
}

static void
finish_headers(struct mime_parser *p)
{
	struct frame *f = top(p);
	struct mime_part_info *info = f->info;
	const struct buf *ct, *cte, *disp;
	struct mime_block *b;
	bool digest_child = f->digest;

	p->first_line = false;
	info->body_offset = abs_off(p, p->rpos);
	ct = pick_value(p, &p->ct, MIME_AMB_CONTENT_TYPE, MSG_FLAG_TWO_CONTENT_TYPES);
	cte = pick_value(p, &p->cte, MIME_AMB_CTE, MSG_FLAG_TWO_CTE);
	disp = p->disp.n > 0 ? &p->disp.v[0] : NULL;

	if (ct != NULL)
		mime_param_parse(p->set.charset, buf_cstr(ct), ct->len, true, p->set.max_params,
				 &info->ctype);
	else
		mime_param_parse(p->set.charset, "", 0, true, 0, &info->ctype);
	if (info->ctype.flags & MIME_PARAM_R_LIMIT)
		info->flags |= MSG_FLAG_LIMIT_PARAMS;
	if (info->ctype.flags & MIME_PARAM_R_SYNTAX)
		info->flags |= MSG_FLAG_BAD_PARAMS;
	if (disp != NULL) {
		mime_param_parse(p->set.charset, buf_cstr(disp), disp->len, false,
				 p->set.max_params, &info->disp);
		if (info->disp.flags & MIME_PARAM_R_LIMIT)
			info->flags |= MSG_FLAG_LIMIT_PARAMS;
		if (info->disp.flags & MIME_PARAM_R_SYNTAX)
			info->flags |= MSG_FLAG_BAD_PARAMS;
	} else {
		mime_param_parse(p->set.charset, "", 0, false, 0, &info->disp);
	}
	info->cte = cte != NULL ? mime_parser_cte(buf_cstr(cte), cte->len) : MSG_CTE_7BIT;

	if (token_ok(info->ctype.type) && token_ok(info->ctype.subtype)) {
		set_type(info, info->ctype.type, info->ctype.subtype);
	} else {
		/* RFC 2045 5.2: an invalid one is text/plain (some clients
		 * show an attachment instead) */
		if (ct != NULL && view_trim(view_from_buf(ct)).len > 0)
			info->flags |= MSG_FLAG_BAD_CONTENT_TYPE;
		if (digest_child)
			set_type(info, "message", "rfc822");
		else
			set_type(info, "text", "plain");
	}
	f->digest = false;

	if (strcmp(info->type, "multipart") == 0) {
		size_t nb = mime_value_param_count(&info->ctype, "boundary");
		const char *bound = NULL;

		if (nb > 1) {
			const char *distinct[MIME_DUP_MAX];
			unsigned int nd = 0, i, k, alt;

			info->flags |= MSG_FLAG_TWO_BOUNDARIES;
			for (i = 0; i < nb && nd < MIME_DUP_MAX; i++) {
				const char *v = mime_value_param(&info->ctype, "boundary", i);

				for (k = 0; k < nd; k++) {
					if (strcmp(distinct[k], v) == 0)
						break;
				}
				if (k == nd)
					distinct[nd++] = v;
			}
			alt = choose(p, MIME_AMB_BOUNDARY, nd, info->offset);
			bound = distinct[alt];
		} else if (nb == 1) {
			bound = mime_value_param(&info->ctype, "boundary", 0);
		}
		if (bound == NULL) {
			info->flags |= MSG_FLAG_NO_BOUNDARY;
		} else if (bound[0] == '\0') {
			info->flags |= MSG_FLAG_EMPTY_BOUNDARY;
		} else if (info->depth + 1 > p->set.max_depth) {
			info->flags |= MSG_FLAG_LIMIT_DEPTH;
		} else if (!p->no_split) {
			f->kind = FR_MULTIPART;
			f->boundary = xstrdup(bound);
			f->blen = strlen(bound);
			f->mstate = MP_PREAMBLE;
			f->digest = strcmp(info->subtype, "digest") == 0;
			info->boundary = f->boundary;
			info->is_multipart = true;
			recompute_bounds(p);
		}
	} else if (strcmp(info->type, "message") == 0 &&
		   (strcmp(info->subtype, "rfc822") == 0 || strcmp(info->subtype, "global") == 0 ||
		    strcmp(info->subtype, "news") == 0) &&
		   identity_cte(info->cte)) {
		if (info->depth + 1 > p->set.max_depth) {
			info->flags |= MSG_FLAG_LIMIT_DEPTH;
		} else if (p->nparts >= p->set.max_parts) {
			info->flags |= MSG_FLAG_LIMIT_PARTS;
			p->no_split = true;
		} else if (!p->no_split) {
			f->kind = FR_MESSAGE;
			info->is_message = true;
		}
	}
	b = queue(p, MIME_BLOCK_HEADERS_END, info);
	b->offset = info->body_offset;
	p->run_start = p->run_end = p->rpos;
	p->pend_eol = 0;
	p->body_mid_line = false;
	if (f->kind == FR_MESSAGE) {
		start_part(p, p->rpos, false);
		return;
	}
	p->state = ST_BODY;
}

/* --- body -------------------------------------------------------------- */

static void
flush_run(struct mime_parser *p)
{
	struct frame *f;
	struct qblock *qb;

	if (p->run_end <= p->run_start)
		return;
	f = top(p);
	queue(p, MIME_BLOCK_BODY, f->info);
	qb = &p->q[(p->qhead + p->qlen - 1) % p->qcap];
	qb->data_start = p->run_start;
	qb->b.data.len = p->run_end - p->run_start;
	qb->b.offset = abs_off(p, p->run_start);
	qb->b.epilogue = f->kind == FR_MULTIPART && f->mstate == MP_EPILOGUE;
	p->run_start = p->run_end;
}

/* is the line s[0..len) a delimiter of an open multipart? returns the
 * frame index or -1. A line that is exactly a delimiter (white space
 * after it allowed) of any open multipart wins; else one that starts
 * with a delimiter and goes on with other text (RFC 2046 5.1.1 asks for
 * a prefix match, as mime4j and Thunderbird do; GMime and Python want the
 * whole line): an ambiguity, asked once per multipart. */
static ssize_t
match_delim(struct mime_parser *p, const char *s, size_t len, bool *close_r)
{
	ssize_t prefix = -1;
	bool prefix_close = false;
	size_t i;

	for (i = p->nstack; i-- > 0;) {
		const struct frame *f = &p->stack[i];
		size_t k, j;
		bool is_close;

		if (f->kind != FR_MULTIPART || len < 2 + f->blen ||
		    memcmp(s + 2, f->boundary, f->blen) != 0)
			continue;
		k = 2 + f->blen;
		is_close = k + 2 <= len && s[k] == '-' && s[k + 1] == '-';
		if (is_close)
			k += 2;
		for (j = k; j < len && (s[j] == ' ' || s[j] == '\t'); j++)
			;
		if (j == len) {
			*close_r = is_close;
			return (ssize_t)i;
		}
		if (prefix < 0) {
			prefix = (ssize_t)i;
			prefix_close = is_close;
		}
	}
	if (prefix >= 0) {
		struct frame *f = &p->stack[prefix];

		f->info->flags |= MSG_FLAG_BOUNDARY_PREFIX;
		if (!f->asked_prefix) {
			f->asked_prefix = true;
			f->exact_only = choose(p, MIME_AMB_DELIM_PREFIX, 2, abs_off(p, p->rpos)) == 1;
		}
		if (!f->exact_only) {
			*close_r = prefix_close;
			return prefix;
		}
	}
	return -1;
}

static bool
could_be_delim(const struct mime_parser *p, const char *s, size_t avail)
{
	if (p->nbound == 0 || p->no_split)
		return false;
	if (avail >= 1 && s[0] != '-')
		return false;
	if (avail >= 2 && s[1] != '-')
		return false;
	return avail <= 2 + p->max_blen + 2 + DELIM_WS_SLACK;
}

static void
body_line(struct mime_parser *p, const char *s, size_t len, size_t eol)
{
	line_flags(p, top(p)->info, s, len, eol);
	if (len > LINE_LIMIT)
		top(p)->info->flags |= MSG_FLAG_LONG_LINE;
	p->run_end = p->rpos + len;
	p->pend_eol = eol;
	p->rpos = p->run_end + eol;
}

static void
end_of_input(struct mime_parser *p)
{
	uint64_t end;

	p->run_end += p->pend_eol;
	p->pend_eol = 0;
	if (p->rpos > p->run_end)
		p->run_end = p->rpos;
	flush_run(p);
	end = abs_off(p, p->dlen);
	while (p->nstack > 0)
		end_top(p, end);
	p->state = ST_DONE;
}

/* a delimiter line of frame m at rpos (content len, line end eol) */
static void
delimiter(struct mime_parser *p, size_t m, bool is_close, size_t len, size_t eol)
{
	struct frame *mf = &p->stack[m];
	uint64_t body_end;

	flush_run(p);
	p->pend_eol = 0;
	body_end = abs_off(p, p->run_end);
	while (p->nstack > m + 1)
		end_top(p, body_end);
	mf = &p->stack[m];
	mf->saw_delim = true;
	p->rpos += len + eol;
	p->run_start = p->run_end = p->rpos;
	if (is_close) {
		mf->mstate = MP_EPILOGUE;
		mf->closed = true;
		return;
	}
	mf->mstate = MP_CHILD;
	start_part(p, p->rpos, mf->digest);
}

static int
body_step(struct mime_parser *p)
{
	for (;;) {
		const char *s = p->d + p->rpos;
		size_t avail = p->dlen - p->rpos, len, eol;
		ssize_t m;
		bool is_close;

		if (avail == 0) {
			if (p->eof) {
				end_of_input(p);
				return 1;
			}
			flush_run(p);
			return p->qlen > 0 ? 1 : 0;
		}
		if (p->body_mid_line) {
			len = find_eol(p, s, avail, &eol);
			if (len == SIZE_MAX) {
				if (!p->eof) {
					/* keep a CR that may start a CRLF */
					size_t take = avail;

					if (s[avail - 1] == '\r')
						take--;
					line_flags(p, top(p)->info, s, take, 0);
					p->mid_len += take;
					p->run_end = p->rpos + take;
					p->rpos += take;
					flush_run(p);
					return p->qlen > 0 ? 1 : 0;
				}
				len = avail;
				eol = 0;
			}
			if (p->mid_len + len > LINE_LIMIT)
				top(p)->info->flags |= MSG_FLAG_LONG_LINE;
			body_line(p, s, len, eol);
			p->body_mid_line = false;
			p->mid_len = 0;
			continue;
		}
		len = find_eol(p, s, avail, &eol);
		if (len == SIZE_MAX) {
			if (!p->eof) {
				if (could_be_delim(p, s, avail)) {
					flush_run(p);
					return p->qlen > 0 ? 1 : 0;
				}
				/* a long line that starts with a delimiter: decide
				 * now, and drop the rest of it as it comes */
				if (avail >= 2 && s[0] == '-' && s[1] == '-' && p->nbound > 0 &&
				    !p->no_split && (m = match_delim(p, s, avail, &is_close)) >= 0 &&
				    p->stack[m].mstate != MP_EPILOGUE &&
				    (is_close || p->nparts < p->set.max_parts)) {
					delimiter(p, (size_t)m, is_close, avail, 0);
					p->skip_to_eol = true;
					return 1;
				}
				/* too long or not "--": body, whatever follows */
				p->body_mid_line = true;
				p->run_end += p->pend_eol;
				p->pend_eol = 0;
				continue;
			}
			len = avail;
			eol = 0;
		}
		if (len >= 2 && s[0] == '-' && s[1] == '-' && p->nbound > 0 && !p->no_split &&
		    (m = match_delim(p, s, len, &is_close)) >= 0) {
			struct frame *mf = &p->stack[m];

			if (mf->mstate == MP_EPILOGUE && !is_close) {
				mf->info->flags |= MSG_FLAG_AFTER_CLOSE;
				if (!mf->asked_after_close) {
					mf->asked_after_close = true;
					mf->reopen = choose(p, MIME_AMB_AFTER_CLOSE, 2,
							    abs_off(p, p->rpos)) == 1;
				}
				if (!mf->reopen) {
					body_line(p, s, len, eol);
					continue;
				}
			} else if (mf->mstate == MP_EPILOGUE) {
				body_line(p, s, len, eol);
				continue;
			}
			if (!is_close && p->nparts >= p->set.max_parts) {
				mf->info->flags |= MSG_FLAG_LIMIT_PARTS;
				p->flags |= MSG_FLAG_LIMIT_PARTS;
				p->no_split = true;
				body_line(p, s, len, eol);
				continue;
			}
			delimiter(p, (size_t)m, is_close, len, eol);
			return 1;
		}
		body_line(p, s, len, eol);
	}
}

int
mime_parser_next_block(struct mime_parser *p, struct mime_block *block_r)
{
	info_free(p->retired);
	p->retired = NULL;
	if (!p->started) {
		p->started = true;
		start_part(p, p->rpos, false);
		if (p->set.root_content_type != NULL) {
			struct buf v = BUF_INIT;

			buf_append_str(&v, p->set.root_content_type);
			vals_add(&p->ct, &v);
			buf_deinit(&v);
			p->first_line = false;
			p->hdr_end_pending = true;
		}
	}
	for (;;) {
		int r;

		if (p->qlen > 0) {
			struct qblock *qb = &p->q[p->qhead];

			*block_r = qb->b;
			if (qb->b.type == MIME_BLOCK_BODY)
				block_r->data.p = p->d + qb->data_start;
			else if (qb->b.type == MIME_BLOCK_PART_END)
				p->retired = qb->b.part;
			p->qhead = (p->qhead + 1) % p->qcap;
			p->qlen--;
			return 1;
		}
		if (p->state == ST_DONE)
			return -1;
		if (p->skip_to_eol) {
			const char *s = p->d + p->rpos;
			size_t avail = p->dlen - p->rpos, eol, len = find_eol(p, s, avail, &eol);

			if (len == SIZE_MAX && !p->eof) {
				p->rpos = p->dlen;
				if (p->state == ST_BODY)
					p->run_start = p->run_end = p->rpos;
				return 0;
			}
			p->rpos += len == SIZE_MAX ? avail : len + eol;
			if (p->state == ST_BODY)
				p->run_start = p->run_end = p->rpos;
			else
				top(p)->info->offset = abs_off(p, p->rpos);
			p->skip_to_eol = false;
		}
		if (p->state == ST_HEADER)
			r = header_step(p);
		else
			r = body_step(p);
		if (r == 0 && p->qlen == 0)
			return 0;
	}
}
