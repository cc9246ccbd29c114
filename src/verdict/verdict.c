#include "verdict/verdict.h"
#include "conf/conf.h"
#include "scan/result.h"

static const char *const action_names[] = {
	[VERDICT_ACCEPT] = "accept",     [VERDICT_TAG] = "tag",
	[VERDICT_TEMPFAIL] = "tempfail", [VERDICT_REJECT] = "reject",
	[VERDICT_DISCARD] = "discard",
};

/* severity of forced actions: higher wins */
static const int severity[] = {
	[VERDICT_ACCEPT] = 0, [VERDICT_TAG] = 1, [VERDICT_DISCARD] = 2,
	[VERDICT_TEMPFAIL] = 3, [VERDICT_REJECT] = 4,
};

void
verdict_init(struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->action = VERDICT_ACCEPT;
}

void
verdict_deinit(struct verdict *v)
{
	buf_deinit(&v->headers);
}

void
verdict_set_reply(struct verdict *v, enum verdict_action action, int code,
		  const char *enhanced, const char *text)
{
	v->action = action;
	v->code = code;
	snprintf(v->enhanced, sizeof(v->enhanced), "%s", enhanced);
	snprintf(v->text, sizeof(v->text), "%s", text);
}

void
verdict_decide_rcpt(const struct scan_result *res, struct verdict *v)
{
	size_t i;

	for (i = 0; i < res->nforced; i++) {
		const struct scan_forced *f = &res->forced[i];

		if ((f->action == VERDICT_TEMPFAIL || f->action == VERDICT_REJECT) &&
		    v->action != VERDICT_REJECT) {
			v->action = f->action;
			v->code = f->code;
			snprintf(v->enhanced, sizeof(v->enhanced), "%s", f->enhanced);
			snprintf(v->text, sizeof(v->text), "%s", f->text);
			snprintf(v->reason, sizeof(v->reason), "%s", f->reason);
		}
	}
}

const char *
verdict_action_name(enum verdict_action a)
{
	return action_names[a];
}

bool
verdict_is_ours(const char *name, size_t len)
{
	return (len >= 7 && strncasecmp(name, "X-Spam-", 7) == 0) ||
	       (len >= 8 && strncasecmp(name, "X-Virus-", 8) == 0);
}

/* safe(): what goes into a header we build: printable ASCII, no ':' in
 * names; anything else becomes '_' */
static void
append_safe(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		buf_append_char(b, (*s > ' ' && *s < 0x7f) || *s == ' ' ? *s : '_');
}

/* add one field, folded before column 78 at a space (replaced by the
 * fold) or after a comma (RFC 5322 folding; SpamAssassin folds tests=
 * lists after commas too) */
static void
add_folded(struct buf *out, const char *name, const char *value)
{
	struct buf line = BUF_INIT;
	size_t seg = 0, i;

	append_safe(&line, name);
	buf_append_str(&line, ": ");
	append_safe(&line, value);
	while (line.len - seg > 78) {
		size_t brk = 0;

		for (i = seg + 1; i < seg + 78 && i < line.len; i++) {
			if (line.data[i] == ' ' && i > seg + 1)
				brk = i;
			else if (line.data[i] == ',')
				brk = i + 1;
		}
		if (brk == 0 || brk >= line.len)
			break; /* one long word: leave it */
		buf_append(out, line.data + seg, brk - seg);
		buf_append_str(out, "\r\n\t");
		seg = line.data[brk] == ' ' ? brk + 1 : brk;
	}
	buf_append(out, line.data + seg, line.len - seg);
	buf_append_str(out, "\r\n");
	buf_deinit(&line);
}

static void
spam_headers(const struct scan_result *res, struct verdict *v)
{
	struct buf status = BUF_INIT, tests = BUF_INIT;
	char score[32];

	snprintf(score, sizeof(score), "%.1f", v->score);
	if (v->is_spam)
		add_folded(&v->headers, "X-Spam-Flag", "YES");
	add_folded(&v->headers, "X-Spam-Score", score);
	scan_result_symbols(res, &tests, false, ",");
	buf_appendf(&status, "%s, score=%s required=%.1f tests=%s", v->is_spam ? "Yes" : "No",
		    score, v->required, tests.len > 0 ? buf_cstr(&tests) : "none");
	add_folded(&v->headers, "X-Spam-Status", buf_cstr(&status));
	buf_deinit(&status);
	buf_deinit(&tests);
}

void
verdict_decide(const struct conf *conf, const struct scan_result *res, struct verdict *v)
{
	const struct scan_forced *f = NULL;
	size_t i;

	v->score = scan_result_score(res);
	v->required = conf->add_header_score;
	v->is_spam = v->score >= conf->add_header_score;
	v->action = VERDICT_ACCEPT;
	snprintf(v->reason, sizeof(v->reason), "%s", "");
	for (i = 0; i < res->nforced; i++) {
		if (f == NULL || severity[res->forced[i].action] > severity[f->action])
			f = &res->forced[i];
	}
	if (f != NULL && f->action != VERDICT_ACCEPT) {
		v->action = f->action;
		v->code = f->code;
		snprintf(v->enhanced, sizeof(v->enhanced), "%s", f->enhanced);
		snprintf(v->text, sizeof(v->text), "%s", f->text);
		snprintf(v->reason, sizeof(v->reason), "%s", f->reason);
	} else if (conf->reject_score > 0 && v->score >= conf->reject_score) {
		verdict_set_reply(v, VERDICT_REJECT, 550, "5.7.1", conf->reject_text);
		snprintf(v->reason, sizeof(v->reason), "score");
	} else if (v->is_spam) {
		v->action = VERDICT_TAG;
		snprintf(v->reason, sizeof(v->reason), "score");
	}
	if (conf->rewrite_subject_score > 0 && v->score >= conf->rewrite_subject_score &&
	    (v->action == VERDICT_TAG || v->action == VERDICT_ACCEPT)) {
		v->action = VERDICT_TAG;
		v->rewrite_subject = true;
		snprintf(v->subject_prefix, sizeof(v->subject_prefix), "%s", conf->subject_prefix);
	}
	buf_reset(&v->headers);
	/* no spam score without a scoring plugin (antivirus alone) */
	if (res->scored && (conf->add_headers == CONF_ADD_HEADERS_ALWAYS ||
			    (conf->add_headers == CONF_ADD_HEADERS_SPAM && v->is_spam)))
		spam_headers(res, v);
	for (i = 0; i < res->nheaders; i++) {
		if (verdict_is_ours(res->headers[i].name, strlen(res->headers[i].name)))
			add_folded(&v->headers, res->headers[i].name, res->headers[i].value);
	}
}
