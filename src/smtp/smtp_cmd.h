/*
 * smtp_cmd.h - SMTP command line parser (pure, no I/O).
 *
 * Contract: smtp_cmd_parse() takes one command line WITHOUT its CRLF and
 * splits it into a verb and an argument. It does not allocate; the
 * argument is a view into the caller's line. Verbs are case-insensitive.
 * The argument is what follows the verb and the separating white space,
 * with trailing white space removed; it is empty when there is none.
 * White space is SP and HTAB only. Leading white space is skipped, as
 * Postfix's smtpd does; the verb must be followed by white space or the
 * end of the line ("MAIL:FROM" is not a command).
 *
 * Returns 0 on success, -1 when the line cannot be a command: empty line,
 * a NUL, CR or LF byte anywhere in it, or a verb that is not 1..16 ASCII
 * letters (digits allowed after the first letter). A line with an
 * unrecognised but well-formed verb parses with SMTP_VERB_UNKNOWN.
 */
#ifndef MXMOAT_SMTP_CMD_H
#define MXMOAT_SMTP_CMD_H

#include "core/buf.h"

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_HELP,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_ETRN,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_XCLIENT,
	SMTP_VERB_XFORWARD,
	SMTP_VERB_COUNT
};

struct smtp_cmd {
	enum smtp_verb verb;
	struct view name; /* the verb as sent */
	struct view arg;
};

int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd_r);
/* smtp_cmd_verb_name(): canonical upper-case name ("UNKNOWN" for 0). */
const char *smtp_cmd_verb_name(enum smtp_verb verb);

#endif
