/*
 * verdict.h - what happens to a message: the one place that decides.
 *
 * Contract: plugins only add symbols and forced actions to a scan_result;
 * verdict_decide() alone turns them into an action (invariant 4), the
 * reply the client gets for tempfail/reject (code, enhanced code, text;
 * the front end appends the decision id), and the header edits for a
 * delivered message:
 *   - forced actions win over scores; among several, the most severe:
 *     reject > tempfail > discard > tag;
 *   - otherwise the score against [verdict] reject_score (reject 550
 *     5.7.1), rewrite_subject_score (tag + subject prefix) and
 *     add_header_score (tag: X-Spam-Flag: YES);
 *   - headers: X-Spam-Flag (spam only), X-Spam-Score, X-Spam-Status
 *     "Yes|No, score=S required=R tests=A,B" (SpamAssassin's shape),
 *     folded at 78 columns, and any X-Virus-* a plugin asked for; all of
 *     them built from safe ASCII only (invariant 5). Which ones appear is
 *     [verdict] add_headers (always, spam, never); X-Spam-* only when a
 *     scoring plugin ran (res->scored).
 * The proxy and the milter call the same function, so they give the same
 * verdict for the same result.
 */
#ifndef MXMOAT_VERDICT_H
#define MXMOAT_VERDICT_H

#include "core/buf.h"

struct conf;
struct scan_result;

enum verdict_action {
	VERDICT_ACCEPT,
	VERDICT_TAG,
	VERDICT_TEMPFAIL,
	VERDICT_REJECT,
	VERDICT_DISCARD,
};

struct verdict {
	enum verdict_action action;
	double score;
	double required;        /* add_header_score, for X-Spam-Status */
	bool is_spam;           /* score >= required */
	char reason[48];        /* "score", "virus", "greylist", ... */
	/* for TEMPFAIL / REJECT */
	int code;
	char enhanced[16];
	char text[256];
	/* for delivered messages */
	struct buf headers;     /* lines to add, each ending in CRLF */
	bool rewrite_subject;
	char subject_prefix[64];
};

void verdict_init(struct verdict *v);
void verdict_deinit(struct verdict *v);
void verdict_decide(const struct conf *conf, const struct scan_result *res, struct verdict *v);
/* verdict_decide_rcpt(): the verdict on one recipient at RCPT (proxy and
 * milter): only forced tempfail/reject count there, reject winning; a
 * score is for the message. Anything else leaves v at accept. */
void verdict_decide_rcpt(const struct scan_result *res, struct verdict *v);
/* verdict_set_reply(): set action and reply directly (framing errors and
 * other refusals that do not come from scanning) */
void verdict_set_reply(struct verdict *v, enum verdict_action action, int code,
		       const char *enhanced, const char *text);
const char *verdict_action_name(enum verdict_action a);
/* verdict_is_ours(): is a header field name in our namespace (X-Spam-*,
 * X-Virus-*)? Such incoming fields are removed before ours are added. */
bool verdict_is_ours(const char *name, size_t len);

#endif
