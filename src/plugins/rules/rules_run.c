/*
 * rules_run.c - run a compiled rule set over one message.
 *
 * The views of the message each rule type reads are built once per run,
 * the way SpamAssassin builds them: body rules see the Subject and the
 * rendered text of every text part, split into paragraphs with white
 * space runs collapsed (SpamAssassin's get_decoded_stripped_body_text_
 * array), rawbody the decoded text lines, full the message as received,
 * uri every URL, mimeheader every part's headers.
 */
#include "plugins/rules/rules_private.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <pthread.h>
#include <time.h>

/* SpamAssassin's MAX_BODY_LINE_LENGTH: longer paragraphs are split */
#define BODY_LINE_MAX 2048
#define DETAIL_MAX 60
#define JIT_STACK_MAX (512 * 1024)

static const char gtube[] = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/* per worker thread: PCRE2 match state (never shared between threads),
 * freed by the key's destructor when the thread ends */
static __thread pcre2_match_data *tl_md;
static __thread pcre2_match_context *tl_mctx;
static __thread pcre2_jit_stack *tl_jit;
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;

struct tl_state {
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit;
};

static void
tl_free(void *arg)
{
	struct tl_state *t = arg;

	pcre2_match_data_free(t->md);
	pcre2_match_context_free(t->mctx);
	if (t->jit != NULL)
		pcre2_jit_stack_free(t->jit);
	free(t);
}

static void
tl_init(void)
{
	if (pthread_key_create(&tl_key, tl_free) != 0)
		panic("pthread_key_create failed");
}

struct views {
	struct view *para;   /* body paragraphs */
	size_t npara;
	struct buf body;     /* their storage */
	struct view *raw;    /* rawbody lines */
	size_t nraw;
	struct buf rawbody;
};

struct run {
	const struct rules *r;
	const struct rules_input *in;
	struct views v;
	unsigned int *hits;
	struct rules_run_stats *st;
	uint64_t start_us;
	struct buf tmp;      /* a header value being matched */
	char detail[DETAIL_MAX * 4 + 8];
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
thread_state(const struct rules *r)
{
	if (tl_md == NULL) {
		struct tl_state *t = xcalloc(1, sizeof(*t));

		pthread_once(&tl_once, tl_init);
		tl_md = t->md = pcre2_match_data_create(1, NULL);
		tl_mctx = t->mctx = pcre2_match_context_create(NULL);
		tl_jit = t->jit = pcre2_jit_stack_create(32 * 1024, JIT_STACK_MAX, NULL);
		if (tl_jit != NULL)
			pcre2_jit_stack_assign(tl_mctx, NULL, tl_jit);
		pthread_setspecific(tl_key, t);
	}
	pcre2_set_match_limit(tl_mctx, r->match_limit);
	pcre2_set_depth_limit(tl_mctx, r->depth_limit);
}

/* --- views ----------------------------------------------------------------- */

static void
add_view(struct view **v, size_t *n, const char *p, size_t len)
{
	if ((*n & 63) == 0)
		*v = xreallocarray(*v, *n + 64, sizeof(**v));
	(*v)[*n].p = p;
	(*v)[*n].len = len;
	(*n)++;
}

/* the text SpamAssassin's body rules see, with its white space handling:
 * blank lines separate paragraphs; inside one, every white space run is a
 * single space */
static void
build_body(struct run *run)
{
	const struct msg *m = run->in->msg;
	struct buf text = BUF_INIT;
	const struct msg_header *subj;
	size_t i, start, pos;
	struct buf *out = &run->v.body;

	if (m == NULL)
		return;
	subj = msg_header_get(m, "Subject", 0);
	if (subj != NULL)
		buf_append_str(&text, subj->decoded);
	buf_append_str(&text, "\n\n");
	for (i = 0; i < m->readings[0].nparts; i++) {
		const struct msg_part *p = m->readings[0].parts[i];

		if (strcmp(p->type, "text") != 0 || p->text.len == 0)
			continue;
		buf_append(&text, p->text.data, p->text.len);
		buf_append_char(&text, '\n');
	}
	/* paragraphs, white space collapsed; a NUL ends each in `out` */
	pos = 0;
	while (pos < text.len) {
		bool space = false;
		size_t nl = 0;

		start = out->len;
		/* skip leading white space of the paragraph */
		while (pos < text.len && (text.data[pos] == ' ' || text.data[pos] == '\t' ||
					  text.data[pos] == '\r' || text.data[pos] == '\n' ||
					  text.data[pos] == '\v'))
			pos++;
		for (; pos < text.len; pos++) {
			char c = text.data[pos];

			if (c == '\n') {
				nl++;
				space = true;
				continue;
			}
			if (c == ' ' || c == '\t' || c == '\r' || c == '\v') {
				space = true;
				continue;
			}
			if (nl >= 2)
				break; /* a blank line: next paragraph */
			nl = 0;
			if (space && out->len > start)
				buf_append_char(out, ' ');
			space = false;
			buf_append_char(out, c == '\f' ? '\n' : c);
		}
		if (out->len > start)
			buf_append_char(out, '\0');
	}
	buf_deinit(&text);
	/* views, long paragraphs split near BODY_LINE_MAX at a space */
	for (pos = 0; pos < out->len;) {
		const char *p = out->data + pos;
		size_t len = strlen(p);
		size_t off = 0;

		while (len - off > BODY_LINE_MAX) {
			size_t cut = off + BODY_LINE_MAX;

			while (cut > off + BODY_LINE_MAX / 2 && p[cut] != ' ')
				cut--;
			if (cut == off + BODY_LINE_MAX / 2)
				cut = off + BODY_LINE_MAX;
			add_view(&run->v.para, &run->v.npara, p + off, cut - off);
			off = cut;
		}
		add_view(&run->v.para, &run->v.npara, p + off, len - off);
		pos += len + 1;
	}
}

/* rawbody: the decoded (not rendered) text parts, line by line */
static void
build_rawbody(struct run *run)
{
	const struct msg *m = run->in->msg;
	size_t i, pos;

	if (m == NULL)
		return;
	for (i = 0; i < m->readings[0].nparts; i++) {
		const struct msg_part *p = m->readings[0].parts[i];

		if (strcmp(p->type, "text") != 0)
			continue;
		buf_append(&run->v.rawbody, p->decoded.data, p->decoded.len);
		if (p->decoded.len > 0 && p->decoded.data[p->decoded.len - 1] != '\n')
			buf_append_char(&run->v.rawbody, '\n');
	}
	for (pos = 0; pos < run->v.rawbody.len;) {
		const char *p = run->v.rawbody.data + pos;
		const char *nl = memchr(p, '\n', run->v.rawbody.len - pos);
		size_t len = nl != NULL ? (size_t)(nl - p) + 1 : run->v.rawbody.len - pos;

		add_view(&run->v.raw, &run->v.nraw, p, len);
		pos += len;
	}
}

/* --- matching ------------------------------------------------------------ */

static void
set_detail(struct run *run, const char *where, const char *s, size_t len)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(tl_md);
	size_t a = ov[0], b = ov[1];
	struct buf d = BUF_INIT;

	if (a > len || b > len || b < a)
		a = b = 0;
	buf_append_str(&d, where);
	buf_append_str(&d, " \"");
	buf_append_escaped(&d, s + a, b - a, DETAIL_MAX);
	buf_append_char(&d, '"');
	snprintf(run->detail, sizeof(run->detail), "%s", buf_cstr(&d));
	buf_deinit(&d);
}

/* match(): count matches of a rule's regex in s (all of them for
 * tflags multiple, up to maxhits) */
static unsigned int
match(struct run *run, const struct rule *ru, const char *s, size_t len, const char *where)
{
	unsigned int n = 0;
	PCRE2_SIZE off = 0;

	for (;;) {
		int rc = pcre2_match(ru->re, (PCRE2_SPTR)s, len, off, 0, tl_md, tl_mctx);
		PCRE2_SIZE *ov;

		if (rc < 0) {
			if (rc != PCRE2_ERROR_NOMATCH) {
				run->st->limit_hits++;
				log_debug("event=rule_limit rule=%s rc=%d", ru->name, rc);
			}
			break;
		}
		if (n == 0)
			set_detail(run, where, s, len);
		n++;
		if (!(ru->tflags & RULE_TF_MULTIPLE) || (ru->maxhits > 0 && n >= ru->maxhits))
			break;
		ov = pcre2_get_ovector_pointer(tl_md);
		off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		if (off > len)
			break;
	}
	return n;
}

/* no SMTP envelope (mxmoat scan): the sender guessed from the headers as
 * SpamAssassin does (get_envelope_from): X-Envelope-From, Envelope-Sender,
 * Return-Path, each only when no Received precedes it (else a list may
 * have changed the sender) */
static bool
envelope_from(const struct msg *m, struct buf *out)
{
	static const char *const names[] = { "X-Envelope-From", "Envelope-Sender", "Return-Path" };
	const struct msg_header *rp = NULL;
	const char *v, *lt, *gt;
	size_t k, j;

	for (k = 0; k < N_ELEMENTS(names) && rp == NULL; k++) {
		for (j = 0; j < m->nheaders; j++) {
			const struct msg_header *h = &m->headers[j];

			if (strcasecmp(h->name, "Received") == 0)
				break;
			if (strcasecmp(h->name, names[k]) == 0) {
				rp = h;
				break;
			}
		}
		if (rp == NULL && msg_header_get(m, names[k], 0) != NULL && k < N_ELEMENTS(names) - 1)
			return false; /* found after a Received: not trusted */
	}
	if (rp == NULL)
		return false;
	v = rp->value;
	lt = strchr(v, '<');
	if (lt != NULL && (gt = strchr(lt, '>')) != NULL)
		buf_append(out, lt + 1, (size_t)(gt - lt - 1));
	else
		buf_append_str(out, v);
	return out->len > 0;
}

/* header values the way SpamAssassin's $pms->get() returns them: every
 * occurrence, each followed by a newline */
static bool
header_value(struct run *run, const struct rule *ru, struct buf *out)
{
	const struct msg *m = run->in->msg;
	static const char *const msgid[] = { "Message-Id", "Resent-Message-Id", "X-Message-Id" };
	static const char *const tocc[] = { "To", "Cc" };
	const char *const *names;
	const char *one[1];
	size_t nnames, i, k;
	bool found = false;

	buf_reset(out);
	if (ru->hspecial == HS_ENVFROM) {
		if (run->in->mail_from != NULL && run->in->mail_from[0] != '\0') {
			buf_append_str(out, run->in->mail_from);
			return true;
		}
		return m != NULL && envelope_from(m, out);
	}
	if (m == NULL)
		return false;
	if (ru->hspecial == HS_ALL) {
		for (i = 0; i < m->nheaders; i++) {
			const struct msg_header *h = &m->headers[i];

			if (ru->hmod == HM_RAW) {
				buf_append(out, h->raw.p, h->raw.len);
			} else {
				buf_appendf(out, "%s: %s\n", h->name, h->decoded);
			}
		}
		return m->nheaders > 0;
	}
	if (ru->hspecial == HS_MESSAGEID) {
		names = msgid;
		nnames = N_ELEMENTS(msgid);
	} else if (ru->hspecial == HS_TOCC) {
		names = tocc;
		nnames = N_ELEMENTS(tocc);
	} else {
		one[0] = ru->header;
		names = one;
		nnames = 1;
	}
	for (k = 0; k < nnames; k++) {
		const struct msg_header *h;

		for (i = 0; (h = msg_header_get(m, names[k], i)) != NULL; i++) {
			found = true;
			if (ru->hmod == HM_ADDR || ru->hmod == HM_NAME) {
				struct msg_address *addrs = NULL;
				size_t n = msg_header_addresses(m, h, &addrs);

				/* SpamAssassin: the first address of each header,
				 * without a newline, joined by newlines */
				if (out->len > 0)
					buf_append_char(out, '\n');
				if (n > 0)
					buf_append_str(out, ru->hmod == HM_ADDR ? addrs[0].addr
										: addrs[0].display);
				msg_addresses_free(&addrs, n);
				continue;
			}
			{
				/* SpamAssassin trims what precedes the value, also
				 * when the field is folded right after the colon */
				const char *v = ru->hmod == HM_RAW ? h->value : h->decoded;

				while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
					v++;
				buf_append_str(out, v);
			}
			buf_append_char(out, '\n');
		}
	}
	return found;
}

static unsigned int
run_header(struct run *run, const struct rule *ru)
{
	bool found = header_value(run, ru, &run->tmp);
	unsigned int n;
	const char *where = ru->header != NULL ? ru->header : "header";

	if (!found) {
		if (ru->has_if_unset) {
			buf_reset(&run->tmp);
			buf_append_str(&run->tmp, ru->if_unset);
		} else {
			buf_reset(&run->tmp);
		}
	}
	n = match(run, ru, buf_cstr(&run->tmp), run->tmp.len, where);
	if (ru->negate) {
		if (n > 0)
			return 0;
		snprintf(run->detail, sizeof(run->detail), "%s does not match", where);
		return 1;
	}
	return n;
}

static unsigned int
run_exists(struct run *run, const struct rule *ru)
{
	/* the same names header rules take: ToCc, MESSAGEID, ... */
	if (!header_value(run, ru, &run->tmp))
		return 0;
	snprintf(run->detail, sizeof(run->detail), "%s exists", ru->header);
	return 1;
}

static unsigned int
run_lines(struct run *run, const struct rule *ru, const struct view *v, size_t n,
	  const char *where)
{
	unsigned int hits = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		hits += match(run, ru, v[i].p, v[i].len, where);
		if (hits > 0 && !(ru->tflags & RULE_TF_MULTIPLE))
			break;
		if (ru->maxhits > 0 && hits >= ru->maxhits)
			break;
	}
	return hits;
}

static unsigned int
run_uri(struct run *run, const struct rule *ru)
{
	const struct msg *m = run->in->msg;
	unsigned int hits = 0;
	size_t i;

	if (m == NULL)
		return 0;
	for (i = 0; i < m->nurls; i++) {
		const char *u = m->urls[i].url;
		const char *inner;

		hits += match(run, ru, u, strlen(u), "uri");
		if (hits == 0 && m->urls[i].raw != NULL && strcmp(m->urls[i].raw, u) != 0)
			hits += match(run, ru, m->urls[i].raw, strlen(m->urls[i].raw), "uri");
		/* a redirector's target is a URI of its own, as SpamAssassin's
		 * uri_list_canonicalize makes it: ".../dir/?http://target" */
		if (hits == 0 && (inner = strcasestr(u + 1, "http://")) == NULL)
			inner = strcasestr(u + 1, "https://");
		if (hits == 0 && inner != NULL)
			hits += match(run, ru, inner, strlen(inner), "uri");
		if (hits > 0 && !(ru->tflags & RULE_TF_MULTIPLE))
			break;
	}
	return hits;
}

static unsigned int
run_mimeheader(struct run *run, const struct rule *ru)
{
	const struct msg *m = run->in->msg;
	size_t i, k;

	if (m == NULL)
		return 0;
	for (i = 0; i < m->readings[0].nparts; i++) {
		const struct msg_part *p = m->readings[0].parts[i];

		for (k = 0; k < p->nheaders; k++) {
			const char *v;

			if (strcasecmp(p->headers[k].name, ru->header) != 0)
				continue;
			v = ru->hmod == HM_RAW ? p->headers[k].value : p->headers[k].decoded;
			if (match(run, ru, v, strlen(v), ru->header) > 0)
				return ru->negate ? 0 : 1;
		}
	}
	if (ru->negate) {
		snprintf(run->detail, sizeof(run->detail), "%s does not match", ru->header);
		return 1;
	}
	return 0;
}

static unsigned int
run_gtube(struct run *run)
{
	size_t i;

	for (i = 0; i < run->v.npara; i++) {
		if (memmem(run->v.para[i].p, run->v.para[i].len, gtube, sizeof(gtube) - 1) != NULL) {
			snprintf(run->detail, sizeof(run->detail), "body \"%.20s...\"", gtube);
			return 1;
		}
	}
	return 0;
}

static unsigned int
run_rule(struct run *run, const struct rule *ru)
{
	run->detail[0] = '\0';
	switch (ru->type) {
	case RT_HEADER:
		return run_header(run, ru);
	case RT_EXISTS:
		return run_exists(run, ru);
	case RT_BODY:
		return run_lines(run, ru, run->v.para, run->v.npara, "body");
	case RT_RAWBODY:
		return run_lines(run, ru, run->v.raw, run->v.nraw, "rawbody");
	case RT_FULL:
		return run->in->raw != NULL ? match(run, ru, run->in->raw, run->in->raw_len, "full")
					    : 0;
	case RT_URI:
		return run_uri(run, ru);
	case RT_MIMEHEADER:
		return run_mimeheader(run, ru);
	case RT_GTUBE:
		return run_gtube(run);
	case RT_EVAL:
		return run->in->msg != NULL
			       ? rules_eval_run(ru, run->in->msg, run->detail, sizeof(run->detail))
			       : 0;
	case RT_META: {
		double v = rules_meta_eval(ru->meta, run->hits);

		if (v == 0)
			return 0;
		snprintf(run->detail, sizeof(run->detail), "meta");
		return v > 0 && v < 1e6 ? (unsigned int)(v < 1 ? 1 : v) : 1;
	}
	}
	return 0;
}

void
rules_run(const struct rules *r, const struct rules_input *in, struct scan_result *res,
	  struct rules_run_stats *stats_r)
{
	struct run run;
	uint8_t *found = NULL, *found_body = NULL, *found_rawbody = NULL, *found_full = NULL;
	size_t i;

	memset(stats_r, 0, sizeof(*stats_r));
	memset(&run, 0, sizeof(run));
	run.r = r;
	run.in = in;
	run.st = stats_r;
	run.start_us = now_us();
	run.hits = xcalloc(r->nrules + 1, sizeof(unsigned int));
	thread_state(r);
	build_body(&run);
	build_rawbody(&run);
	if (r->prefilter != NULL) {
		size_t nbytes = (rules_prefilter_count(r->prefilter) + 7) / 8 + 1;

		found = xcalloc(3, nbytes);
		found_body = found;
		found_rawbody = found + nbytes;
		found_full = found + 2 * nbytes;
		rules_prefilter_scan(r->prefilter, PF_KIND_BODY, run.v.body.data, run.v.body.len,
				     found_body);
		rules_prefilter_scan(r->prefilter, PF_KIND_RAWBODY, run.v.rawbody.data,
				     run.v.rawbody.len, found_rawbody);
		if (in->raw != NULL)
			rules_prefilter_scan(r->prefilter, PF_KIND_FULL, in->raw, in->raw_len,
					     found_full);
	}
	for (i = 0; i < r->norder; i++) {
		const struct rule *ru = &r->rules[r->order[i]];
		unsigned int n;

		if (found != NULL && ru->nlit > 0) {
			const uint8_t *f = ru->type == RT_BODY	  ? found_body
					   : ru->type == RT_RAWBODY ? found_rawbody
								    : found_full;
			unsigned int j;

			for (j = 0; j < ru->nlit; j++) {
				if (f[ru->lit[j] >> 3] & (1u << (ru->lit[j] & 7)))
					break;
			}
			if (j == ru->nlit) {
				stats_r->prefiltered++;
				continue; /* cannot match: hits stay 0 */
			}
		}

		if (ru->type != RT_META && r->budget_us > 0 &&
		    now_us() - run.start_us > r->budget_us) {
			stats_r->budget_exceeded = true;
			continue; /* the metas still run, on what was found */
		}
		n = run_rule(&run, ru);
		stats_r->evaluated++;
		run.hits[r->order[i]] = n;
		if (n > 0 && ru->reported)
			scan_result_add(res, "rules", ru->name, ru->score[r->score_set],
					run.detail[0] != '\0' ? "%s" : NULL, run.detail);
	}
	if (stats_r->budget_exceeded) {
		scan_result_add(res, "rules", "RULES_TIMEOUT", 0, "time budget of %llums exceeded",
				(unsigned long long)(r->budget_us / 1000));
		log_warning("event=rules_budget_exceeded budget_us=%llu",
			    (unsigned long long)r->budget_us);
	}
	stats_r->us = now_us() - run.start_us;
	free(found);
	free(run.hits);
	free(run.v.para);
	free(run.v.raw);
	buf_deinit(&run.v.body);
	buf_deinit(&run.v.rawbody);
	buf_deinit(&run.tmp);
}
