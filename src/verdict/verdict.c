#include "verdict/verdict.h"

static const char *const action_names[] = {
	[VERDICT_ACCEPT] = "accept",     [VERDICT_TAG] = "tag",
	[VERDICT_TEMPFAIL] = "tempfail", [VERDICT_REJECT] = "reject",
	[VERDICT_DISCARD] = "discard",
};

void
verdict_init(struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->action = VERDICT_ACCEPT;
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

const char *
verdict_action_name(enum verdict_action a)
{
	return action_names[a];
}
