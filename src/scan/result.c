#include "scan/result.h"
#include "core/xalloc.h"

void
scan_result_init(struct scan_result *r)
{
	memset(r, 0, sizeof(*r));
}

void
scan_result_reset(struct scan_result *r)
{
	size_t i;

	for (i = 0; i < r->nsymbols; i++)
		free(r->symbols[i].detail);
	free(r->symbols);
	scan_result_init(r);
}

void
scan_result_deinit(struct scan_result *r)
{
	scan_result_reset(r);
}

static void
copy_name(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (char)((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
					(c >= '0' && c <= '9') || c == '_' || c == '.' ||
					c == ':' || c == '-'
				? c
				: '_');
	}
	dst[i] = '\0';
}

void
scan_result_add(struct scan_result *r, const char *plugin, const char *name, double score,
		const char *detail_fmt, ...)
{
	struct scan_symbol *sym;

	if (r->nsymbols >= SCAN_MAX_SYMBOLS) {
		r->truncated = true;
		return;
	}
	/* grow in steps; the bound above keeps it small */
	if ((r->nsymbols & 15) == 0)
		r->symbols = xreallocarray(r->symbols, r->nsymbols + 16, sizeof(*r->symbols));
	sym = &r->symbols[r->nsymbols++];
	memset(sym, 0, sizeof(*sym));
	copy_name(sym->name, sizeof(sym->name), name);
	sym->score = score;
	sym->plugin = plugin;
	if (detail_fmt != NULL) {
		struct buf b = BUF_INIT;
		va_list ap;

		va_start(ap, detail_fmt);
		buf_vappendf(&b, detail_fmt, ap);
		va_end(ap);
		buf_truncate(&b, SCAN_DETAIL_MAX);
		sym->detail = buf_steal(&b);
	}
}

void
scan_result_force(struct scan_result *r, const char *plugin, enum verdict_action action,
		  int code, const char *enhanced, const char *reason, const char *text_fmt, ...)
{
	struct scan_forced *f;
	va_list ap;

	if (r->nforced >= SCAN_MAX_FORCED) {
		r->truncated = true;
		return;
	}
	f = &r->forced[r->nforced++];
	memset(f, 0, sizeof(*f));
	f->action = action;
	f->code = code;
	snprintf(f->enhanced, sizeof(f->enhanced), "%s", enhanced);
	copy_name(f->reason, sizeof(f->reason), reason);
	f->plugin = plugin;
	va_start(ap, text_fmt);
	vsnprintf(f->text, sizeof(f->text), text_fmt, ap);
	va_end(ap);
}

void
scan_result_add_header(struct scan_result *r, const char *name, const char *value)
{
	struct scan_header *h;

	if (r->nheaders >= SCAN_MAX_HEADERS) {
		r->truncated = true;
		return;
	}
	h = &r->headers[r->nheaders++];
	copy_name(h->name, sizeof(h->name), name);
	snprintf(h->value, sizeof(h->value), "%s", value);
}

void
scan_result_merge(struct scan_result *dst, const struct scan_result *src)
{
	size_t i;

	for (i = 0; i < src->nsymbols; i++) {
		const struct scan_symbol *s = &src->symbols[i];

		scan_result_add(dst, s->plugin, s->name, s->score, s->detail != NULL ? "%s" : NULL,
				s->detail);
	}
	for (i = 0; i < src->nforced && dst->nforced < SCAN_MAX_FORCED; i++)
		dst->forced[dst->nforced++] = src->forced[i];
	for (i = 0; i < src->nheaders && dst->nheaders < SCAN_MAX_HEADERS; i++)
		dst->headers[dst->nheaders++] = src->headers[i];
	dst->plugin_errors += src->plugin_errors;
	dst->scored |= src->scored;
	dst->truncated |= src->truncated;
	dst->scan_us += src->scan_us;
}

double
scan_result_score(const struct scan_result *r)
{
	double s = 0;
	size_t i;

	for (i = 0; i < r->nsymbols; i++)
		s += r->symbols[i].score;
	return s;
}

bool
scan_result_has(const struct scan_result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nsymbols; i++) {
		if (strcmp(r->symbols[i].name, name) == 0)
			return true;
	}
	return false;
}

static int
by_score_desc(const void *a, const void *b)
{
	const struct scan_symbol *x = *(const struct scan_symbol *const *)a;
	const struct scan_symbol *y = *(const struct scan_symbol *const *)b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return strcmp(x->name, y->name);
}

void
scan_result_symbols(const struct scan_result *r, struct buf *out, bool with_scores,
		    const char *sep)
{
	const struct scan_symbol **v;
	size_t i;

	if (r->nsymbols == 0)
		return;
	v = xcalloc(r->nsymbols, sizeof(*v));
	for (i = 0; i < r->nsymbols; i++)
		v[i] = &r->symbols[i];
	qsort(v, r->nsymbols, sizeof(*v), by_score_desc);
	for (i = 0; i < r->nsymbols; i++) {
		if (i > 0)
			buf_append_str(out, sep);
		buf_append_str(out, v[i]->name);
		if (with_scores) {
			/* 1000, 2.5, 0.01: two decimals at most, no exponent */
			char num[32];
			size_t n = (size_t)snprintf(num, sizeof(num), "%.2f", v[i]->score);

			while (n > 0 && num[n - 1] == '0')
				num[--n] = '\0';
			if (n > 0 && num[n - 1] == '.')
				num[--n] = '\0';
			buf_appendf(out, "=%s", num);
		}
	}
	free(v);
}
