#include "smtp/smtp_cmd.h"

#define SMTP_VERB_MAX 16

static const char *const verb_names[SMTP_VERB_COUNT] = {
	[SMTP_VERB_UNKNOWN] = "UNKNOWN",
	[SMTP_VERB_HELO] = "HELO",
	[SMTP_VERB_EHLO] = "EHLO",
	[SMTP_VERB_MAIL] = "MAIL",
	[SMTP_VERB_RCPT] = "RCPT",
	[SMTP_VERB_DATA] = "DATA",
	[SMTP_VERB_BDAT] = "BDAT",
	[SMTP_VERB_RSET] = "RSET",
	[SMTP_VERB_NOOP] = "NOOP",
	[SMTP_VERB_QUIT] = "QUIT",
	[SMTP_VERB_HELP] = "HELP",
	[SMTP_VERB_VRFY] = "VRFY",
	[SMTP_VERB_EXPN] = "EXPN",
	[SMTP_VERB_ETRN] = "ETRN",
	[SMTP_VERB_STARTTLS] = "STARTTLS",
	[SMTP_VERB_AUTH] = "AUTH",
	[SMTP_VERB_XCLIENT] = "XCLIENT",
	[SMTP_VERB_XFORWARD] = "XFORWARD",
};

static inline bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static inline bool
is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static enum smtp_verb
verb_lookup(const char *p, size_t len)
{
	int i;

	for (i = 1; i < SMTP_VERB_COUNT; i++) {
		if (strlen(verb_names[i]) == len &&
		    strncasecmp(verb_names[i], p, len) == 0)
			return (enum smtp_verb)i;
	}
	return SMTP_VERB_UNKNOWN;
}

int
smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd_r)
{
	size_t i, vstart, vlen, end;

	cmd_r->verb = SMTP_VERB_UNKNOWN;
	cmd_r->name = VIEW_NULL;
	cmd_r->arg = VIEW_NULL;

	if (len == 0 || memchr(line, '\0', len) != NULL ||
	    memchr(line, '\r', len) != NULL || memchr(line, '\n', len) != NULL)
		return -1;

	/* Postfix splits the line on white space, so leading blanks are
	 * tolerated; we do the same rather than invent a stricter rule. */
	for (i = 0; i < len && is_wsp(line[i]); i++)
		;
	vstart = i;
	if (i == len || !is_alpha(line[i]))
		return -1;
	for (i++; i < len && (is_alpha(line[i]) || is_digit(line[i])); i++)
		;
	vlen = i - vstart;
	if (vlen > SMTP_VERB_MAX || (i < len && !is_wsp(line[i])))
		return -1;

	for (; i < len && is_wsp(line[i]); i++)
		;
	for (end = len; end > i && is_wsp(line[end - 1]); end--)
		;

	cmd_r->verb = verb_lookup(line + vstart, vlen);
	cmd_r->name = (struct view){ line + vstart, vlen };
	cmd_r->arg = (struct view){ line + i, end - i };
	return 0;
}

const char *
smtp_cmd_verb_name(enum smtp_verb verb)
{
	if ((int)verb <= 0 || verb >= SMTP_VERB_COUNT)
		return verb_names[SMTP_VERB_UNKNOWN];
	return verb_names[verb];
}
