/*
 * msg_build.c - one parse of a message into one reading: the blocks of
 * mime_parser turned into struct msg_part, bodies decoded, text converted,
 * HTML rendered, URLs collected, encoded messages parsed again.
 */
#include "msg/msg_private.h"
#include "msg/decode.h"
#include "msg/rfc2047.h"
#include "msg/html.h"
#include "msg/url.h"
#include "core/xalloc.h"

#define READ_CHUNK (64 * 1024)

/* --- arena --------------------------------------------------------------- */

struct arena_block {
	struct arena_block *next;
	size_t size, used;
	max_align_t data[];
};

#define ARENA_BLOCK (16 * 1024)

void *
arena_alloc(struct arena *a, size_t size)
{
	struct arena_block *b = a->head;
	size_t need = (size + 15) & ~(size_t)15;
	void *p;

	if (b == NULL || b->size - b->used < need) {
		size_t bsize = need > ARENA_BLOCK / 4 ? need : ARENA_BLOCK;

		b = xmalloc(sizeof(*b) + bsize);
		b->size = bsize;
		b->used = 0;
		if (need > ARENA_BLOCK / 4 && a->head != NULL) {
			/* big ones go behind the current block */
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	p = (char *)b->data + b->used;
	b->used += need;
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);

	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void
arena_free(struct arena *a)
{
	while (a->head != NULL) {
		struct arena_block *b = a->head;

		a->head = b->next;
		free(b);
	}
}

uint64_t
msg_hash(const void *p, size_t len, uint64_t h)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* --- readings ------------------------------------------------------------ */

unsigned int
msg_choice_choose(void *ctx, enum mime_ambiguity kind, unsigned int nalts, uint64_t offset)
{
	struct msg_choice *c = ctx;
	unsigned int s = c->seq++, i;

	(void)kind;
	(void)offset;
	if (c->npoints < MSG_POINTS_MAX) {
		c->points[c->npoints].seq = s;
		c->points[c->npoints].nalts = nalts;
		c->npoints++;
	}
	for (i = 0; i < c->nforced; i++) {
		if (c->forced[i].seq == s)
			return c->forced[i].alt < nalts ? c->forced[i].alt : 0;
	}
	return 0;
}

/* --- the builder ---------------------------------------------------------- */

struct open_part {
	struct msg_part *part;
	struct mime_part_info *info;
	size_t cap_headers, cap_children, cap_filenames;
	enum msg_cte dec;
	bool decode_on;    /* body bytes go to decoded */
	bool full;         /* decoded limit reached */
	struct decode_b64 b64;
	struct decode_qp qp;
	struct decode_uu uu;
	bool alias;        /* the root of a body-only parse: an existing part */
};

struct builder {
	struct msg_impl *mi;
	struct msg_reading *rd;
	unsigned int reading;
	struct msg_choice *choice;
	bool cr_eol;        /* this reading takes a bare CR as a line end */
	size_t cap_parts;
	struct open_part **stack;    /* pointers stay valid while the stack grows */
	size_t nstack, capstack;
	struct mime_parser *parser;     /* the innermost parser running */
	const struct msg_part *offset_base;
	struct msg_part *alias_root;    /* body-only parse: its root */
	bool alias_pending;             /* the next PART_START is alias_root */
};

static void run_parser(struct builder *b, struct mime_parser *p, const char *data, size_t len,
		       struct msg_source *src, bool *read_error);

static struct open_part *
otop(struct builder *b)
{
	return b->nstack > 0 ? b->stack[b->nstack - 1] : NULL;
}

static void
add_child(struct open_part *parent, struct msg_part *child)
{
	struct msg_part *p = parent->part;

	if (p->nchildren == parent->cap_children) {
		parent->cap_children = parent->cap_children == 0 ? 4 : parent->cap_children * 2;
		p->children = xreallocarray(p->children, parent->cap_children, sizeof(*p->children));
	}
	p->children[p->nchildren++] = child;
}

static void
add_to_reading(struct builder *b, struct msg_part *part)
{
	struct msg_reading *rd = b->rd;

	if (rd->nparts == b->cap_parts) {
		b->cap_parts = b->cap_parts == 0 ? 8 : b->cap_parts * 2;
		rd->parts = xreallocarray(rd->parts, b->cap_parts, sizeof(*rd->parts));
	}
	part->index = (unsigned int)rd->nparts;
	rd->parts[rd->nparts++] = part;
	b->mi->parts_total++;
}

static struct open_part *
push_open(struct builder *b, struct msg_part *part)
{
	struct open_part *op;

	if (b->nstack == b->capstack) {
		b->capstack = b->capstack == 0 ? 8 : b->capstack * 2;
		b->stack = xreallocarray(b->stack, b->capstack, sizeof(*b->stack));
	}
	op = xcalloc(1, sizeof(*op));
	op->part = part;
	b->stack[b->nstack++] = op;
	return op;
}

static void
pop_open(struct builder *b)
{
	struct open_part *op = b->stack[--b->nstack];

	if (op->dec == MSG_CTE_UUENCODE)
		decode_uu_deinit(&op->uu);
	free(op);
}

static struct msg_part *
new_part(struct builder *b, const struct mime_part_info *info)
{
	struct msg_part *part = xcalloc(1, sizeof(*part));
	struct open_part *parent = otop(b);

	part->depth = info->depth;
	part->offset = info->offset;
	part->offset_base = b->offset_base;
	part->parent = parent != NULL ? parent->part : NULL;
	part->type = "text";
	part->subtype = "plain";
	part->charset = "";
	part->disposition = "";
	if (parent != NULL)
		add_child(parent, part);
	else
		b->rd->root = part;
	add_to_reading(b, part);
	return part;
}

static void
on_header(struct builder *b, const struct mime_block *blk)
{
	struct open_part *op = otop(b);
	struct msg_part *part = op->part;
	struct arena *a = &b->mi->arena;
	struct msg_header *h;
	const struct mime_header_field *f = &blk->hdr;
	bool plain = true;
	size_t i;

	if (op->alias)
		return;
	if (part->nheaders == op->cap_headers) {
		op->cap_headers = op->cap_headers == 0 ? 16 : op->cap_headers * 2;
		part->headers = xreallocarray(part->headers, op->cap_headers, sizeof(*part->headers));
	}
	h = &part->headers[part->nheaders++];
	h->name = arena_strndup(a, f->name.p, f->name.len);
	h->raw.p = arena_strndup(a, f->raw.p, f->raw.len);
	h->raw.len = f->raw.len;
	h->value = arena_strndup(a, f->value.p, f->value.len);
	h->offset = f->offset;
	/* ASCII without NUL and without "=?" needs no decoding */
	for (i = 0; i + 8 <= f->value.len; i += 8) {
		uint64_t w;

		memcpy(&w, f->value.p + i, 8);
		/* a high bit, or a zero byte (the classic haszero trick) */
		if ((w & 0x8080808080808080ULL) ||
		    ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL))
			break;
	}
	for (; i < f->value.len; i++) {
		unsigned char c = (unsigned char)f->value.p[i];

		if (c >= 0x80 || c == '\0') {
			plain = false;
			break;
		}
	}
	if (plain && f->value.len > 1 && memmem(f->value.p, f->value.len, "=?", 2) != NULL)
		plain = false;
	if (plain) {
		h->decoded = h->value;
	} else {
		struct buf out = BUF_INIT;
		unsigned int r = rfc2047_decode(b->mi->cs, f->value.p, f->value.len, &out,
						b->mi->lim.header_line);

		if (r & RFC2047_R_BAD_WORD)
			part->flags |= MSG_FLAG_BAD_ENCODED_WORD;
		if (r & RFC2047_R_CHARSET)
			part->flags |= MSG_FLAG_BAD_CHARSET;
		h->decoded = arena_strndup(a, buf_cstr(&out), out.len);
		buf_deinit(&out);
	}
}

static void
add_filename(struct builder *b, struct open_part *op, const char *name)
{
	struct msg_part *part = op->part;
	size_t i;

	if (name == NULL || name[0] == '\0')
		return;
	for (i = 0; i < part->nfilenames; i++) {
		if (strcmp(part->filenames[i], name) == 0)
			return;
	}
	if (part->nfilenames == op->cap_filenames) {
		op->cap_filenames = op->cap_filenames == 0 ? 2 : op->cap_filenames * 2;
		part->filenames = xreallocarray(part->filenames, op->cap_filenames,
						sizeof(*part->filenames));
	}
	part->filenames[part->nfilenames++] = arena_strdup(&b->mi->arena, name);
}

static void
copy_params(struct builder *b, const struct mime_value *v, struct msg_param **out, size_t *n)
{
	size_t i;

	*n = v->nparams;
	if (v->nparams == 0) {
		*out = NULL;
		return;
	}
	*out = arena_alloc(&b->mi->arena, v->nparams * sizeof(**out));
	for (i = 0; i < v->nparams; i++) {
		(*out)[i].name = arena_strdup(&b->mi->arena, v->params[i].name);
		(*out)[i].value = arena_strdup(&b->mi->arena, v->params[i].value);
		(*out)[i].flags = v->params[i].flags;
	}
}

/* candidates in the order clients prefer them */
static void
collect_filenames(struct builder *b, struct open_part *op)
{
	const struct msg_part *part = op->part;
	size_t i;
	int pass;

	for (pass = 0; pass < 4; pass++) {
		const struct msg_param *ps = pass < 2 ? part->disp_params : part->params;
		size_t n = pass < 2 ? part->ndisp_params : part->nparams;
		const char *want = pass < 2 ? "filename" : "name";
		unsigned int rfc2231 = (pass % 2 == 0) ? MSG_PARAM_RFC2231 : 0;

		for (i = 0; i < n; i++) {
			if (strcmp(ps[i].name, want) == 0 && (ps[i].flags & MSG_PARAM_RFC2231) == rfc2231)
				add_filename(b, op, ps[i].value);
		}
	}
}

static void
on_headers_end(struct builder *b, const struct mime_block *blk)
{
	struct open_part *op = otop(b);
	struct msg_part *part = op->part;
	struct mime_part_info *info = blk->part;
	struct arena *a = &b->mi->arena;
	const char *cs;
	size_t i;

	if (op->alias) {
		op->dec = MSG_CTE_7BIT;
		return;
	}
	part->type = arena_strdup(a, info->type);
	part->subtype = arena_strdup(a, info->subtype);
	copy_params(b, &info->ctype, &part->params, &part->nparams);
	copy_params(b, &info->disp, &part->disp_params, &part->ndisp_params);
	part->disposition = arena_strdup(a, info->disp.type != NULL ? info->disp.type : "");
	cs = mime_value_param(&info->ctype, "charset", 0);
	if (cs != NULL) {
		char *l = arena_strdup(a, cs);

		for (i = 0; l[i] != '\0'; i++) {
			if (l[i] >= 'A' && l[i] <= 'Z')
				l[i] = (char)(l[i] + 32);
		}
		part->charset = l;
	}
	if (info->boundary != NULL)
		part->boundary = arena_strdup(a, info->boundary);
	part->cte = info->cte;
	collect_filenames(b, op);
	for (i = 0; i < part->nheaders; i++) {
		if (strcasecmp(part->headers[i].name, "content-id") == 0) {
			struct view v = view_trim(view_from_cstr(part->headers[i].value));

			if (v.len >= 2 && v.p[0] == '<' && v.p[v.len - 1] == '>') {
				v.p++;
				v.len -= 2;
			}
			part->content_id = arena_strndup(a, v.p, v.len);
			break;
		}
	}
	part->is_attachment = strcmp(part->disposition, "attachment") == 0 || part->nfilenames > 0;
	if (info->ctype.flags & MIME_PARAM_R_BAD_WORD)
		part->flags |= MSG_FLAG_BAD_ENCODED_WORD;
	if ((info->ctype.flags | info->disp.flags) & MIME_PARAM_R_CHARSET)
		part->flags |= MSG_FLAG_BAD_CHARSET;

	/* what goes into decoded: leaf bodies; encoded multipart bodies too
	 * (a reading decodes them) */
	op->dec = part->cte;
	op->decode_on = !info->is_message &&
			(!info->is_multipart || part->cte == MSG_CTE_BASE64 || part->cte == MSG_CTE_QP);
	switch (op->dec) {
	case MSG_CTE_BASE64:
		decode_b64_init(&op->b64);
		break;
	case MSG_CTE_QP:
		decode_qp_init(&op->qp);
		break;
	case MSG_CTE_UUENCODE:
		decode_uu_init(&op->uu);
		break;
	default:
		break;
	}
}

static uint64_t
decoded_room(struct builder *b, const struct msg_part *part)
{
	const struct msg_limits *l = &b->mi->lim;
	uint64_t room_part = part->decoded.len < l->decoded_part ? l->decoded_part - part->decoded.len : 0;
	uint64_t room_total = b->mi->decoded_total < l->decoded_total ?
				      l->decoded_total - b->mi->decoded_total :
				      0;

	return MIN(room_part, room_total);
}

static void
append_bounded(struct buf *dst, const char *s, size_t n, size_t max, unsigned int *flags,
	       unsigned int flag)
{
	if (dst->len >= max) {
		if (n > 0)
			*flags |= flag;
		return;
	}
	if (n > max - dst->len) {
		n = max - dst->len;
		*flags |= flag;
	}
	buf_append(dst, s, n);
}

static void
on_body(struct builder *b, const struct mime_block *blk)
{
	struct open_part *op = otop(b);
	struct msg_part *part = op->part;
	size_t before;
	uint64_t room;

	if (!op->decode_on) {
		if (blk->part->is_multipart)
			append_bounded(blk->epilogue || part->nchildren > 0 ? &part->epilogue :
									       &part->preamble,
				       blk->data.p, blk->data.len, b->mi->lim.text_part, &part->flags,
				       MSG_FLAG_LIMIT_TEXT);
		return;
	}
	if (blk->part->is_multipart) {
		append_bounded(blk->epilogue || part->nchildren > 0 ? &part->epilogue : &part->preamble,
			       blk->data.p, blk->data.len, b->mi->lim.text_part, &part->flags,
			       MSG_FLAG_LIMIT_TEXT);
	}
	if (op->full)
		return;
	before = part->decoded.len;
	switch (op->dec) {
	case MSG_CTE_BASE64:
		decode_b64_step(&op->b64, blk->data.p, blk->data.len, &part->decoded);
		break;
	case MSG_CTE_QP:
		decode_qp_step(&op->qp, blk->data.p, blk->data.len, &part->decoded);
		break;
	case MSG_CTE_UUENCODE:
		decode_uu_step(&op->uu, blk->data.p, blk->data.len, &part->decoded);
		break;
	default:
		buf_append(&part->decoded, blk->data.p, blk->data.len);
		break;
	}
	room = decoded_room(b, part) + (part->decoded.len - before);
	if (part->decoded.len - before > room) {
		buf_truncate(&part->decoded, before + (size_t)room);
		part->flags |= MSG_FLAG_LIMIT_DECODED;
		op->full = true;
	}
	b->mi->decoded_total += part->decoded.len - before;
}

/* --- text, HTML, URLs ------------------------------------------------------ */

static bool
url_seen(struct msg_impl *mi, uint64_t h)
{
	size_t i;

	if (h == 0)
		h = 1;
	if (mi->url_seen == NULL) {
		mi->url_seen_cap = 64;
		mi->url_seen = xcalloc(mi->url_seen_cap, sizeof(*mi->url_seen));
	}
	if (mi->pub.nurls * 2 >= mi->url_seen_cap) {
		uint64_t *old = mi->url_seen;
		size_t oldcap = mi->url_seen_cap, k;

		mi->url_seen_cap *= 2;
		mi->url_seen = xcalloc(mi->url_seen_cap, sizeof(*mi->url_seen));
		for (k = 0; k < oldcap; k++) {
			if (old[k] != 0) {
				for (i = old[k] & (mi->url_seen_cap - 1); mi->url_seen[i] != 0;
				     i = (i + 1) & (mi->url_seen_cap - 1))
					;
				mi->url_seen[i] = old[k];
			}
		}
		free(old);
	}
	for (i = h & (mi->url_seen_cap - 1); mi->url_seen[i] != 0; i = (i + 1) & (mi->url_seen_cap - 1)) {
		if (mi->url_seen[i] == h)
			return true;
	}
	mi->url_seen[i] = h;
	return false;
}

struct url_ctx {
	struct builder *b;
	struct msg_part *part;
	enum msg_url_source source;
	struct buf url, host;
};

/* false when the URL limit is reached */
static bool
add_url(struct url_ctx *uc, enum msg_url_source source, struct view raw, struct view text,
	bool with_text)
{
	struct msg_impl *mi = uc->b->mi;
	struct msg_url *u;
	bool is_ip;
	uint64_t h;

	if (mi->pub.nurls >= mi->lim.urls) {
		uc->part->flags |= MSG_FLAG_LIMIT_URLS;
		return false;
	}
	if (!url_normalise(raw.p, raw.len, &uc->url, &uc->host, &is_ip))
		return true;
	h = msg_hash(uc->url.data, uc->url.len, 0xcbf29ce484222325ULL);
	h = msg_hash(&source, sizeof(source), h);
	if (url_seen(mi, h))
		return true;
	if (mi->pub.nurls == mi->urls_cap) {
		mi->urls_cap = mi->urls_cap == 0 ? 16 : mi->urls_cap * 2;
		mi->pub.urls = xreallocarray(mi->pub.urls, mi->urls_cap, sizeof(*mi->pub.urls));
	}
	u = &mi->pub.urls[mi->pub.nurls++];
	u->url = arena_strndup(&mi->arena, uc->url.data, uc->url.len);
	u->host = arena_strndup(&mi->arena, buf_cstr(&uc->host), uc->host.len);
	u->raw = arena_strndup(&mi->arena, raw.p, MIN(raw.len, (size_t)URL_MAX));
	u->link_text = with_text ? arena_strndup(&mi->arena, text.p, text.len) : NULL;
	u->host_is_ip = is_ip;
	u->source = source;
	u->part = uc->part->index;
	return true;
}

static bool
text_url_cb(void *ctx, struct view raw)
{
	struct url_ctx *uc = ctx;

	return add_url(uc, MSG_URL_TEXT, raw, VIEW_NULL, false);
}

static bool
html_link_cb(void *ctx, enum html_link_kind kind, struct view url, struct view text)
{
	struct url_ctx *uc = ctx;

	switch (kind) {
	case HTML_LINK_HREF:
		return add_url(uc, MSG_URL_HREF, url, text, true);
	case HTML_LINK_SRC:
		return add_url(uc, MSG_URL_SRC, url, VIEW_NULL, false);
	case HTML_LINK_OTHER:
		break;
	}
	return add_url(uc, MSG_URL_OTHER, url, VIEW_NULL, false);
}

static bool
is_text_part(const struct msg_part *p)
{
	if (strcmp(p->type, "text") == 0)
		return true;
	if (strcmp(p->type, "message") == 0)
		return strcmp(p->subtype, "delivery-status") == 0 ||
		       strcmp(p->subtype, "disposition-notification") == 0 ||
		       strcmp(p->subtype, "feedback-report") == 0 ||
		       strcmp(p->subtype, "rfc822-headers") == 0 ||
		       strcmp(p->subtype, "global-headers") == 0 ||
		       strcmp(p->subtype, "global-delivery-status") == 0;
	return false;
}

/* append text in charset to out, out as a whole within text_part */
static unsigned int
to_utf8(struct builder *b, const char *charset, const char *s, size_t n, struct buf *out)
{
	size_t lim = b->mi->lim.text_part;
	unsigned int r, f = 0;

	if (lim != 0 && out->len >= lim)
		return n > 0 ? MSG_FLAG_LIMIT_TEXT : 0;
	r = charset_to_utf8(b->mi->cs, charset, s, n, out, lim != 0 ? lim - out->len : 0);

	if (r & (CHARSET_R_REPLACED | CHARSET_R_UNKNOWN | CHARSET_R_UNDECLARED | CHARSET_R_FALLBACK))
		f |= MSG_FLAG_BAD_CHARSET;
	if (r & CHARSET_R_TRUNCATED)
		f |= MSG_FLAG_LIMIT_TEXT;
	return f;
}

static unsigned int
to_utf8_html(struct builder *b, const char *charset, const char *s, size_t n, struct buf *out)
{
	unsigned int r = charset_to_utf8(b->mi->cs, charset, s, n, out, b->mi->lim.decoded_part);

	if (r & (CHARSET_R_REPLACED | CHARSET_R_UNKNOWN | CHARSET_R_UNDECLARED | CHARSET_R_FALLBACK))
		return MSG_FLAG_BAD_CHARSET;
	return 0;
}

static void
new_uu_part(struct builder *b, struct open_part *op, const struct decode_uu_block *blk)
{
	struct msg_part *text = op->part;
	struct msg_part *part;
	struct open_part *child;
	char *name;
	uint64_t room;
	unsigned int bad;

	if (b->mi->parts_total >= b->mi->lim.parts) {
		text->flags |= MSG_FLAG_LIMIT_PARTS;
		return;
	}
	part = xcalloc(1, sizeof(*part));
	part->depth = text->depth + 1;
	part->parent = text;
	part->offset = blk->begin;
	part->body_offset = blk->data;
	part->body_end = blk->end;
	part->offset_base = text;
	part->type = "application";
	part->subtype = "octet-stream";
	part->charset = "";
	part->disposition = "attachment";
	part->cte = MSG_CTE_UUENCODE;
	part->is_attachment = true;
	add_child(op, part);
	add_to_reading(b, part);
	child = push_open(b, part);
	name = arena_strndup(&b->mi->arena, blk->name.p, blk->name.len);
	add_filename(b, child, name);
	room = decoded_room(b, part);
	bad = decode_uu_block(text->decoded.data, blk, &part->decoded, (size_t)room);
	if (part->decoded.len >= room && room < b->mi->lim.decoded_part)
		part->flags |= MSG_FLAG_LIMIT_DECODED;
	b->mi->decoded_total += part->decoded.len;
	(void)bad;
	pop_open(b);
	if (b->parser != NULL)
		mime_parser_count_parts(b->parser, 1);
}

/* text for C-string consumers: a NUL becomes U+FFFD (and is flagged) */
static unsigned int
no_nul(struct buf *t, size_t max)
{
	struct buf out = BUF_INIT;
	const char *p, *nul;
	size_t left;

	if (t->len == 0 || memchr(t->data, '\0', t->len) == NULL)
		return 0;
	p = t->data;
	left = t->len;
	while ((nul = memchr(p, '\0', left)) != NULL) {
		buf_append(&out, p, (size_t)(nul - p));
		buf_append(&out, "\xef\xbf\xbd", 3);
		left -= (size_t)(nul - p) + 1;
		p = nul + 1;
	}
	buf_append(&out, p, left);
	buf_deinit(t);
	*t = out;
	if (max != 0 && t->len > max) {
		buf_truncate(t, charset_utf8_cut(t->data, max));
		return MSG_FLAG_NUL | MSG_FLAG_LIMIT_TEXT;
	}
	return MSG_FLAG_NUL;
}

static void
render_text(struct builder *b, struct open_part *op)
{
	struct msg_part *part = op->part;
	const char *charset = part->charset;
	char meta[64];
	struct url_ctx uc;
	bool html = strcmp(part->type, "text") == 0 && strcmp(part->subtype, "html") == 0;
	const char *d = buf_cstr(&part->decoded);
	size_t dlen = part->decoded.len;

	memset(&uc, 0, sizeof(uc));
	uc.b = b;
	uc.part = part;
	if (charset[0] == '\0' && dlen >= 2 &&
	    (((unsigned char)d[0] == 0xff && (unsigned char)d[1] == 0xfe) ||
	     ((unsigned char)d[0] == 0xfe && (unsigned char)d[1] == 0xff)))
		charset = "utf-16";
	else if (charset[0] == '\0' && html && html_meta_charset(d, dlen, meta, sizeof(meta)))
		charset = meta;

	if (html) {
		struct buf utf8 = BUF_INIT;
		const char *src = d;
		size_t srclen = dlen;
		unsigned int r;

		/* UTF-8 already (most HTML): rendered where it is; else
		 * converted first (the source may be larger than the text) */
		if (charset_utf8_as_is(charset, d, dlen, &r)) {
			if (r != 0)
				part->flags |= MSG_FLAG_BAD_CHARSET;
		} else {
			part->flags |= to_utf8_html(b, charset, d, dlen, &utf8);
			src = buf_cstr(&utf8);
			srclen = utf8.len;
		}
		r = html_to_text(src, srclen, &part->text, &part->html_hidden, b->mi->lim.text_part,
				 b->reading == 0 ? html_link_cb : NULL, &uc);
		if (r & HTML_R_HIDDEN)
			part->flags |= MSG_FLAG_HTML_HIDDEN;
		if (r & HTML_R_TRUNCATED)
			part->flags |= MSG_FLAG_LIMIT_TEXT;
		buf_deinit(&utf8);
		if (b->reading == 0) {
			url_scan(part->text.data != NULL ? part->text.data : "", part->text.len,
				 text_url_cb, &uc);
			url_scan(part->html_hidden.data != NULL ? part->html_hidden.data : "",
				 part->html_hidden.len, text_url_cb, &uc);
		}
	} else {
		struct decode_uu_block ub;
		size_t from = 0;
		bool uu = strcmp(part->type, "text") == 0 && part->cte != MSG_CTE_UUENCODE &&
			  dlen > 0 && memmem(d, dlen, "begin ", 6) != NULL;

		/* inline uuencoded files become parts of their own; the text
		 * keeps what is around them */
		while (uu && decode_uu_find(d, dlen, from, &ub)) {
			part->flags |= to_utf8(b, charset, d + from, ub.begin - from, &part->text);
			new_uu_part(b, op, &ub);
			from = ub.end;
		}
		part->flags |= to_utf8(b, charset, d + from, dlen - from, &part->text);
		if (b->reading == 0)
			url_scan(part->text.data != NULL ? part->text.data : "", part->text.len,
				 text_url_cb, &uc);
	}
	part->flags |= no_nul(&part->text, b->mi->lim.text_part) |
			no_nul(&part->html_hidden, b->mi->lim.text_part);
	buf_deinit(&uc.url);
	buf_deinit(&uc.host);
}

/* give back a buffer's unused capacity when it is large */
static void
buf_fit(struct buf *bf)
{
	if (bf->data == NULL || bf->cap <= bf->len + bf->len / 8 + 4096)
		return;
	bf->data = xrealloc(bf->data, bf->len + 1);
	bf->cap = bf->len + 1;
}

/* --- nested parses ----------------------------------------------------------- */

static void
nested_parse(struct builder *b, struct open_part *op, const char *root_ct)
{
	struct msg_part *part = op->part;
	struct mime_parser_settings set;
	struct mime_parser *np, *outer = b->parser;
	const struct msg_part *outer_base = b->offset_base;
	struct msg_part *outer_alias = b->alias_root;
	unsigned int before = b->mi->parts_total;
	bool err = false;

	if (part->depth + 1 > b->mi->lim.depth) {
		part->flags |= MSG_FLAG_LIMIT_DEPTH;
		return;
	}
	if (b->mi->parts_total >= b->mi->lim.parts) {
		part->flags |= MSG_FLAG_LIMIT_PARTS;
		return;
	}
	mime_parser_settings_from_limits(&set, &b->mi->lim);
	set.max_parts = b->mi->lim.parts;
	set.choose = msg_choice_choose;
	set.choose_ctx = b->choice;
	set.charset = b->mi->cs;
	if (b->cr_eol)
		set.flags |= MIME_PARSER_F_CR_IS_EOL;
	set.base_depth = part->depth + (root_ct != NULL ? 0 : 1);
	set.base_parts = b->mi->parts_total - (root_ct != NULL ? 1 : 0);
	set.root_content_type = root_ct;
	np = mime_parser_new(&set);
	b->parser = np;
	b->offset_base = part;
	b->alias_root = root_ct != NULL ? part : NULL;
	b->alias_pending = root_ct != NULL;
	if (root_ct != NULL) {
		buf_reset(&part->preamble);
		buf_reset(&part->epilogue);
	}
	run_parser(b, np, part->decoded.data, part->decoded.len, NULL, &err);
	b->mi->pub.flags |= mime_parser_flags(np);
	mime_parser_free(&np);
	b->parser = outer;
	b->offset_base = outer_base;
	b->alias_root = outer_alias;
	if (outer != NULL && b->mi->parts_total > before)
		mime_parser_count_parts(outer, b->mi->parts_total - before);
}

static bool
encoded(enum msg_cte c)
{
	return c == MSG_CTE_BASE64 || c == MSG_CTE_QP || c == MSG_CTE_UUENCODE;
}

static void
on_part_end(struct builder *b, const struct mime_block *blk)
{
	struct open_part *op = otop(b);
	struct msg_part *part = op->part;
	const struct mime_part_info *info = blk->part;

	if (op->alias) {
		part->flags |= info->flags & ~(unsigned int)MSG_FLAG_BOUNDARY_MISMATCH;
		pop_open(b);
		return;
	}
	switch (op->dec) {
	case MSG_CTE_BASE64:
		if (op->decode_on) {
			decode_b64_finish(&op->b64, &part->decoded);
			if (op->b64.bad > 0)
				part->flags |= MSG_FLAG_BAD_BASE64;
		}
		break;
	case MSG_CTE_QP:
		if (op->decode_on) {
			decode_qp_finish(&op->qp, &part->decoded);
			if (op->qp.bad > 0)
				part->flags |= MSG_FLAG_BAD_QP;
		}
		break;
	case MSG_CTE_UUENCODE:
		decode_uu_finish(&op->uu, &part->decoded);
		if (op->uu.name.len > 0)
			add_filename(b, op, buf_cstr(&op->uu.name));
		decode_uu_deinit(&op->uu);
		break;
	default:
		break;
	}
	if (part->decoded.len > b->mi->lim.decoded_part) {
		b->mi->decoded_total -= part->decoded.len - b->mi->lim.decoded_part;
		buf_truncate(&part->decoded, b->mi->lim.decoded_part);
		part->flags |= MSG_FLAG_LIMIT_DECODED;
	}
	part->body_offset = info->body_offset;
	part->body_end = info->body_end;
	part->flags |= info->flags;

	if (info->is_multipart && part->nchildren == 0 && encoded(part->cte) &&
	    part->decoded.len > 0) {
		/* delimiters only visible after decoding */
		part->flags |= MSG_FLAG_BOUNDARY_IN_BASE64;
		if (msg_choice_choose(b->choice, MSG_AMB_DECODE_MULTIPART, 2, part->offset) == 1) {
			struct buf ct = BUF_INIT;

			buf_appendf(&ct, "%s/%s; boundary=\"%s\"", part->type, part->subtype,
				    part->boundary != NULL ? part->boundary : "");
			nested_parse(b, op, buf_cstr(&ct));
			buf_deinit(&ct);
		}
	} else if (!info->is_multipart && !info->is_message && strcmp(part->type, "message") == 0 &&
		   (strcmp(part->subtype, "rfc822") == 0 || strcmp(part->subtype, "global") == 0 ||
		    strcmp(part->subtype, "news") == 0) &&
		   encoded(part->cte) && part->decoded.len > 0) {
		nested_parse(b, op, NULL);
	} else if (is_text_part(part) && !info->is_multipart && !info->is_message) {
		render_text(b, op);
	}
	if (!op->alias) {
		/* what the part keeps is final: no slack past a 1/8 (the
		 * root of a body-only parse is still being read from) */
		buf_fit(&part->decoded);
		buf_fit(&part->text);
		buf_fit(&part->html_hidden);
	}
	b->mi->pub.flags |= part->flags;
	pop_open(b);
}

static void
handle_block(struct builder *b, const struct mime_block *blk)
{
	struct open_part *op;

	switch (blk->type) {
	case MIME_BLOCK_PART_START:
		if (b->alias_pending) {
			b->alias_pending = false;
			op = push_open(b, b->alias_root);
			op->alias = true;
		} else {
			op = push_open(b, new_part(b, blk->part));
		}
		op->info = blk->part;
		break;
	case MIME_BLOCK_HEADER:
		on_header(b, blk);
		break;
	case MIME_BLOCK_HEADERS_END:
		on_headers_end(b, blk);
		break;
	case MIME_BLOCK_BODY:
		on_body(b, blk);
		break;
	case MIME_BLOCK_PART_END:
		on_part_end(b, blk);
		break;
	}
}

static void
run_parser(struct builder *b, struct mime_parser *p, const char *data, size_t len,
	   struct msg_source *src, bool *read_error)
{
	struct mime_block blk;
	char *chunk = NULL;
	uint64_t off = 0, total;
	int rc;

	if (data != NULL)
		total = len;
	else if (src->mem != NULL)
		total = src->len;
	else
		total = spool_size(src->spool);
	if (data == NULL && src->mem == NULL)
		chunk = xmalloc(READ_CHUNK);
	for (;;) {
		rc = mime_parser_next_block(p, &blk);
		if (rc > 0) {
			handle_block(b, &blk);
			continue;
		}
		if (rc < 0)
			break;
		if (off >= total) {
			mime_parser_finish(p);
			continue;
		}
		if (data != NULL || src->mem != NULL) {
			/* in memory already: parsed in place, in one go */
			const char *base = data != NULL ? data : src->mem;

			mime_parser_push_borrowed(p, base + off, (size_t)(total - off));
			off = total;
		} else {
			const char *error = NULL;
			ssize_t n = spool_read(src->spool, off, chunk, READ_CHUNK, &error);

			if (n <= 0) {
				if (n < 0) {
					src->error = error;
					*read_error = true;
				}
				total = off;
				mime_parser_finish(p);
				continue;
			}
			mime_parser_push(p, chunk, (size_t)n);
			off += (uint64_t)n;
		}
	}
	free(chunk);
}

bool
msg_build_reading(struct msg_impl *mi, struct msg_source *src, unsigned int r,
		  struct msg_choice *choice)
{
	struct builder b;
	struct mime_parser_settings set;
	struct mime_parser *p;
	bool err = false;
	unsigned int parts_before = mi->parts_total, i;

	memset(&b, 0, sizeof(b));
	b.mi = mi;
	b.rd = &mi->pub.readings[r];
	b.reading = r;
	b.choice = choice;
	for (i = 0; i < choice->nforced; i++) {
		if (choice->forced[i].seq == MSG_SEQ_CR_EOL && choice->forced[i].alt == 1)
			b.cr_eol = true;
	}
	mime_parser_settings_from_limits(&set, &mi->lim);
	set.max_parts = mi->lim.parts;
	set.base_parts = parts_before;
	set.flags = MIME_PARSER_F_SKIP_MBOX_FROM | (b.cr_eol ? MIME_PARSER_F_CR_IS_EOL : 0);
	set.choose = msg_choice_choose;
	set.choose_ctx = choice;
	set.charset = mi->cs;
	p = mime_parser_new(&set);
	b.parser = p;
	run_parser(&b, p, NULL, 0, src, &err);
	mi->pub.flags |= mime_parser_flags(p);
	if (!b.cr_eol && (mime_parser_flags(p) & MSG_FLAG_BARE_CR) &&
	    choice->npoints < MSG_POINTS_MAX) {
		/* bare CRs seen: the reading of clients that end lines there */
		choice->points[choice->npoints].seq = MSG_SEQ_CR_EOL;
		choice->points[choice->npoints].nalts = 2;
		choice->npoints++;
	}
	mime_parser_free(&p);
	/* parts still open after a read error */
	while (b.nstack > 0)
		pop_open(&b);
	free(b.stack);
	return !err;
}

void
msg_reading_free(struct msg_impl *mi, struct msg_reading *rd)
{
	size_t i;

	if (mi != NULL)
		mi->parts_total -= MIN(mi->parts_total, (unsigned int)rd->nparts);
	for (i = 0; i < rd->nparts; i++) {
		struct msg_part *p = rd->parts[i];

		if (mi != NULL)
			mi->decoded_total -= MIN(mi->decoded_total, p->decoded.len);
		buf_deinit(&p->decoded);
		buf_deinit(&p->text);
		buf_deinit(&p->html_hidden);
		buf_deinit(&p->preamble);
		buf_deinit(&p->epilogue);
		free(p->children);
		free(p->headers);
		free(p->filenames);
		free(p);
	}
	free(rd->parts);
	memset(rd, 0, sizeof(*rd));
}

uint64_t
msg_part_fingerprint(const struct msg_part *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	h = msg_hash(p->type, strlen(p->type) + 1, h);
	h = msg_hash(p->subtype, strlen(p->subtype) + 1, h);
	h = msg_hash(&p->depth, sizeof(p->depth), h);
	h = msg_hash(&p->nchildren, sizeof(p->nchildren), h);
	for (i = 0; i < p->nfilenames; i++)
		h = msg_hash(p->filenames[i], strlen(p->filenames[i]) + 1, h);
	h = msg_hash(&p->decoded.len, sizeof(p->decoded.len), h);
	h = msg_hash(buf_cstr(&p->decoded), p->decoded.len, h);
	return h;
}
