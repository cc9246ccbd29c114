/*
 * verdict.h - what happens to a message: the one place that decides.
 *
 * Contract: scanners only add results to a struct verdict input (symbols,
 * forced actions: later issues); verdict_decide() alone turns them into an
 * action and, for tempfail/reject, the reply the client gets. The reply
 * here carries code, enhanced code and text; the front end (proxy or
 * milter) appends the decision id.
 */
#ifndef MXMOAT_VERDICT_H
#define MXMOAT_VERDICT_H

#include "core/common.h"

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
	/* for TEMPFAIL / REJECT */
	int code;
	char enhanced[16];
	char text[256];
};

void verdict_init(struct verdict *v);
/* verdict_set_reply(): set action and the reply to give. */
void verdict_set_reply(struct verdict *v, enum verdict_action action, int code,
		       const char *enhanced, const char *text);
const char *verdict_action_name(enum verdict_action a);

#endif
