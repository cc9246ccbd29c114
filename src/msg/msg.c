/*
 * msg.c - msg_parse(): the readings driver, and the model's lookups.
 *
 * Reading 0 is a parse in which every ambiguity takes alternative 0.
 * Every ambiguity point met (msg_choice) spawns further parses that take
 * another alternative there (breadth first, up to MSG_FORCED_MAX choices
 * deep); a parse that yields the same parts as an earlier reading is
 * dropped. At most limits.readings readings are kept and at most twice as
 * many parses run, so the work stays a bounded multiple of one parse.
 */
#include "msg/msg_private.h"
#include "msg/addr.h"
#include "core/xalloc.h"

#include <pthread.h>

struct plan {
	unsigned int nforced;
	struct {
		unsigned int seq, alt;
	} forced[MSG_FORCED_MAX];
};

/* iconv descriptors are slow to open: each thread keeps its own cache
 * across messages */
static pthread_key_t cs_key;
static pthread_once_t cs_once = PTHREAD_ONCE_INIT;

static void
cs_destroy(void *p)
{
	struct charset_ctx *c = p;

	charset_ctx_free(&c);
}

static void
cs_key_init(void)
{
	if (pthread_key_create(&cs_key, cs_destroy) != 0)
		panic("pthread_key_create failed");
}

static struct charset_ctx *
thread_charset(void)
{
	struct charset_ctx *c;

	pthread_once(&cs_once, cs_key_init);
	c = pthread_getspecific(cs_key);
	if (c == NULL) {
		c = charset_ctx_new();
		(void)pthread_setspecific(cs_key, c);
	}
	return c;
}

static void
read_raw_headers(struct msg_impl *mi, struct msg_source *src)
{
	struct msg *m = &mi->pub;
	const struct msg_part *root = m->readings[0].root;
	uint64_t start, end;
	size_t i;

	if (root == NULL)
		return;
	start = root->offset;
	end = root->body_offset;
	if (end > start + mi->lim.header_block + mi->lim.header_line)
		end = start + mi->lim.header_block + mi->lim.header_line;
	if (end <= start)
		return;
	if (src->mem != NULL) {
		if (end > src->len)
			end = src->len;
		buf_append(&m->raw_headers, src->mem + start, (size_t)(end - start));
	} else {
		const char *error;
		ssize_t n;

		buf_reserve(&m->raw_headers, (size_t)(end - start));
		m->raw_headers.data[m->raw_headers.len] = '\0';
		n = spool_read(src->spool, start, m->raw_headers.data, (size_t)(end - start), &error);
		if (n < 0)
			return;
		m->raw_headers.len = (size_t)n;
		m->raw_headers.data[n] = '\0';
	}
	/* the root's header views point into raw_headers */
	for (i = 0; i < root->nheaders; i++) {
		struct msg_header *h = &root->headers[i];
		uint64_t at = h->offset - start;

		if (h->offset >= start && at + h->raw.len <= m->raw_headers.len)
			h->raw.p = m->raw_headers.data + at;
	}
}

static bool
same_reading(const struct msg_impl *mi, unsigned int a, unsigned int b)
{
	const struct msg_reading *ra = &mi->pub.readings[a], *rb = &mi->pub.readings[b];
	size_t i;

	if (ra->nparts != rb->nparts)
		return false;
	for (i = 0; i < ra->nparts; i++) {
		if (mi->fp[a][i] != mi->fp[b][i])
			return false;
	}
	return true;
}

static void
fingerprint(struct msg_impl *mi, unsigned int r)
{
	const struct msg_reading *rd = &mi->pub.readings[r];
	size_t i;

	mi->fp[r] = xcalloc(rd->nparts + 1, sizeof(uint64_t));
	for (i = 0; i < rd->nparts; i++)
		mi->fp[r][i] = msg_part_fingerprint(rd->parts[i]);
}

static struct msg *
parse_source(const struct msg_limits *limits, struct msg_source *src, bool *error_r)
{
	struct msg_impl *mi = xcalloc(1, sizeof(*mi));
	struct msg *m = &mi->pub;
	struct plan *plans;
	size_t nplans = 1, head = 0, capplans;
	unsigned int maxr, passes = 0, maxpasses;

	*error_r = false;
	if (limits != NULL)
		mi->lim = *limits;
	else
		msg_limits_default(&mi->lim);
	maxr = mi->lim.readings == 0 ? 1 : mi->lim.readings;
	maxpasses = 2 * maxr;
	mi->cs = thread_charset();
	m->readings = xcalloc(maxr, sizeof(*m->readings));
	mi->fp = xcalloc(maxr, sizeof(*mi->fp));
	m->size = src->mem != NULL ? src->len : spool_size(src->spool);
	capplans = 8;
	plans = xcalloc(capplans, sizeof(*plans));

	while (head < nplans && m->nreadings < maxr && passes < maxpasses) {
		struct plan pl = plans[head++];
		struct msg_choice choice;
		unsigned int r = (unsigned int)m->nreadings, i, k, last_seq;
		bool dup = false;

		memset(&choice, 0, sizeof(choice));
		choice.nforced = pl.nforced;
		for (i = 0; i < pl.nforced; i++) {
			choice.forced[i].seq = pl.forced[i].seq;
			choice.forced[i].alt = pl.forced[i].alt;
		}
		passes++;
		m->nreadings++;
		if (!msg_build_reading(mi, src, r, &choice)) {
			*error_r = true;
			break;
		}
		if (r == 0 && choice.npoints == 0)
			break; /* nothing ambiguous: one reading */
		if (r == 0)
			fingerprint(mi, 0);
		if (r > 0) {
			fingerprint(mi, r);
			for (k = 0; k < r && !dup; k++)
				dup = same_reading(mi, k, r);
			if (dup) {
				msg_reading_free(mi, &m->readings[r]);
				free(mi->fp[r]);
				mi->fp[r] = NULL;
				m->nreadings--;
				continue;
			}
		}
		/* explore the choices met after the last forced one */
		last_seq = pl.nforced > 0 ? pl.forced[pl.nforced - 1].seq : 0;
		if (pl.nforced >= MSG_FORCED_MAX)
			continue;
		for (i = 0; i < choice.npoints; i++) {
			unsigned int alt;

			if (pl.nforced > 0 && choice.points[i].seq <= last_seq)
				continue;
			for (alt = 1; alt < choice.points[i].nalts && alt < 8; alt++) {
				struct plan np = pl;

				np.forced[np.nforced].seq = choice.points[i].seq;
				np.forced[np.nforced].alt = alt;
				np.nforced++;
				if (nplans == capplans) {
					capplans *= 2;
					plans = xreallocarray(plans, capplans, sizeof(*plans));
				}
				plans[nplans++] = np;
			}
		}
	}
	if (head < nplans)
		m->flags |= MSG_FLAG_LIMIT_READINGS;
	free(plans);
	if (m->readings[0].root != NULL) {
		m->headers = m->readings[0].root->headers;
		m->nheaders = m->readings[0].root->nheaders;
		read_raw_headers(mi, src);
	}
	mi->cs = NULL; /* the thread's, not ours */
	return m;
}

int
msg_parse(const struct msg_limits *limits, struct spool *spool, struct msg **msg_r,
	  const char **error_r)
{
	struct msg_source src;
	bool err;

	memset(&src, 0, sizeof(src));
	if (spool_in_memory(spool)) {
		struct view v = spool_mem(spool);

		src.mem = v.p != NULL ? v.p : "";
		src.len = v.len;
	} else {
		src.spool = spool;
	}
	*msg_r = parse_source(limits, &src, &err);
	if (err) {
		*error_r = src.error != NULL ? src.error : "spool read error";
		msg_free(msg_r);
		return -1;
	}
	return 0;
}

struct msg *
msg_parse_mem(const struct msg_limits *limits, const void *data, size_t len)
{
	struct msg_source src;
	bool err;

	memset(&src, 0, sizeof(src));
	src.mem = data != NULL ? data : "";
	src.len = len;
	return parse_source(limits, &src, &err);
}

void
msg_free(struct msg **mp)
{
	struct msg *m = *mp;
	struct msg_impl *mi;
	size_t i;

	if (m == NULL)
		return;
	*mp = NULL;
	mi = msg_impl_of(m);
	for (i = 0; i < m->nreadings; i++) {
		msg_reading_free(NULL, &m->readings[i]);
		free(mi->fp[i]);
	}
	free(mi->fp);
	free(m->readings);
	free(m->urls);
	free(mi->url_seen);
	buf_deinit(&m->raw_headers);
	arena_free(&mi->arena);
	free(mi);
}

const struct msg_header *
msg_header_get(const struct msg *m, const char *name, size_t i)
{
	size_t k;

	for (k = 0; k < m->nheaders; k++) {
		if (strcasecmp(m->headers[k].name, name) == 0 && i-- == 0)
			return &m->headers[k];
	}
	return NULL;
}

size_t
msg_header_count(const struct msg *m, const char *name)
{
	size_t k, n = 0;

	for (k = 0; k < m->nheaders; k++)
		n += strcasecmp(m->headers[k].name, name) == 0;
	return n;
}

size_t
msg_header_addresses(const struct msg *m, const struct msg_header *h,
		     struct msg_address **addrs_r)
{
	const struct msg_impl *mi = msg_impl_of(m);
	bool truncated;

	return addr_parse_list(NULL, h->value, strlen(h->value), mi->lim.address_tokens, addrs_r,
			       &truncated);
}

void
msg_addresses_free(struct msg_address **addrs, size_t n)
{
	size_t i;

	if (*addrs == NULL)
		return;
	for (i = 0; i < n; i++) {
		free((*addrs)[i].display);
		free((*addrs)[i].addr);
		free((*addrs)[i].local);
		free((*addrs)[i].domain);
	}
	free(*addrs);
	*addrs = NULL;
}

const char *
msg_part_filename(const struct msg_part *part)
{
	return part->nfilenames > 0 ? part->filenames[0] : NULL;
}

void
msg_foreach_part(const struct msg *m, msg_part_fn *cb, void *ctx)
{
	const struct msg_impl *mi = msg_impl_of(m);
	size_t r, i, r2, k;

	for (r = 0; r < m->nreadings; r++) {
		const struct msg_reading *rd = &m->readings[r];

		for (i = 0; i < rd->nparts; i++) {
			bool seen = false;

			/* a part an earlier reading has byte for byte: once */
			if (r > 0 && mi->fp[r] != NULL) {
				for (r2 = 0; r2 < r && !seen; r2++) {
					for (k = 0; mi->fp[r2] != NULL && k < m->readings[r2].nparts; k++) {
						if (mi->fp[r2][k] == mi->fp[r][i]) {
							seen = true;
							break;
						}
					}
				}
			}
			if (!seen && !cb(ctx, m, (unsigned int)r, rd->parts[i]))
				return;
		}
	}
}

const char *
msg_flag_name(enum msg_flag flag)
{
	switch (flag) {
	case MSG_FLAG_TWO_BOUNDARIES: return "two-boundaries";
	case MSG_FLAG_TWO_CONTENT_TYPES: return "two-content-types";
	case MSG_FLAG_TWO_CTE: return "two-cte";
	case MSG_FLAG_BOUNDARY_IN_BASE64: return "boundary-in-base64";
	case MSG_FLAG_MISSING_CLOSE: return "missing-close";
	case MSG_FLAG_HEADER_NO_COLON: return "header-no-colon";
	case MSG_FLAG_NUL: return "nul";
	case MSG_FLAG_BARE_CR: return "bare-cr";
	case MSG_FLAG_BARE_LF: return "bare-lf";
	case MSG_FLAG_BAD_BASE64: return "bad-base64";
	case MSG_FLAG_BAD_QP: return "bad-qp";
	case MSG_FLAG_BAD_CHARSET: return "bad-charset";
	case MSG_FLAG_BAD_ENCODED_WORD: return "bad-encoded-word";
	case MSG_FLAG_BOUNDARY_MISMATCH: return "boundary-mismatch";
	case MSG_FLAG_NO_BOUNDARY: return "no-boundary";
	case MSG_FLAG_8BIT_HEADER: return "8bit-header";
	case MSG_FLAG_LONG_LINE: return "long-line";
	case MSG_FLAG_HTML_HIDDEN: return "html-hidden";
	case MSG_FLAG_EMPTY_BOUNDARY: return "empty-boundary";
	case MSG_FLAG_HEADER_NAME_COMMENT: return "header-name-comment";
	case MSG_FLAG_AFTER_CLOSE: return "part-after-close";
	case MSG_FLAG_BOUNDARY_PREFIX: return "boundary-prefix";
	case MSG_FLAG_BAD_CONTENT_TYPE: return "bad-content-type";
	case MSG_FLAG_BAD_PARAMS: return "bad-params";
	case MSG_FLAG_LIMIT_HEADERS: return "limit-headers";
	case MSG_FLAG_LIMIT_DEPTH: return "limit-depth";
	case MSG_FLAG_LIMIT_PARTS: return "limit-parts";
	case MSG_FLAG_LIMIT_DECODED: return "limit-decoded";
	case MSG_FLAG_LIMIT_TEXT: return "limit-text";
	case MSG_FLAG_LIMIT_URLS: return "limit-urls";
	case MSG_FLAG_LIMIT_PARAMS: return "limit-params";
	case MSG_FLAG_LIMIT_READINGS: return "limit-readings";
	}
	return "unknown";
}
