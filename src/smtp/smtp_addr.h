/*
 * smtp_addr.h - MAIL FROM / RCPT TO argument parser (pure, no I/O).
 *
 * Contract: smtp_addr_parse() takes the argument of a MAIL or RCPT command
 * (what follows the verb, e.g. "FROM:<a@b.example> SIZE=123 BODY=8BITMIME")
 * and fills a struct smtp_path_args whose views point into that argument.
 * Nothing is allocated.
 *
 * Accepted, as Postfix accepts it by default:
 *   - "FROM:" / "TO:" in any case, optionally followed by white space;
 *   - the path in angle brackets, or without them (a bare address up to
 *     the first white space);
 *   - a source route ("<@a.example,@b.example:user@c.example>"), dropped;
 *   - "<>" for MAIL (null reverse-path) only;
 *   - for RCPT, "<postmaster>" without a domain (case-insensitive);
 *   - local part as RFC 5321 dot-string or quoted-string; domain as a
 *     dot-separated host name (letters, digits, '-', and UTF-8 labels)
 *     or an address literal "[1.2.3.4]" / "[IPv6:...]";
 *   - UTF-8 (RFC 6531) in local part and domain: has_utf8 is set; the
 *     bytes must be well-formed UTF-8 (no overlongs, no surrogates).
 * Rejected: control characters (< 0x20, 0x7f), unbalanced quotes or
 * brackets, an empty local part or domain, a path longer than BOUND_PATH,
 * malformed UTF-8, anything after the path that is not ESMTP parameters.
 *
 * ESMTP parameters: keyword = ALPHA *(ALPHA / DIGIT / "-"), optional
 * "=" value where value is 1* of %d33-60 / %d62-126 (printable ASCII but
 * "="). At most BOUND_ESMTP_PARAMS; more is an error. Duplicate keywords
 * are an error. Parameter semantics (is SIZE numeric, ...) are checked by
 * smtp_param_check(), not here.
 *
 * Returns 0 on success, -1 on error with *error_r set to a static string
 * describing the problem, and *err_kind_r telling which reply applies.
 * On success *err_kind_r is SMTP_ADDR_OK and *error_r is not touched; on
 * error *args_r holds whatever was parsed before the error.
 *
 * Details the contract above leaves open, decided as follows:
 *   - an unbalanced '<' or quote is SMTP_ADDR_ERR_ADDRESS (Postfix: 501
 *     5.1.7 / 5.1.3 "Bad address syntax"); anything glued to the '>'
 *     ("<a@b>x", "<a@b>SIZE=1") is SMTP_ADDR_ERR_SYNTAX;
 *   - inside the brackets there is no white space outside a quoted
 *     string ("< a@b >" is malformed); a bare address ends at the first
 *     SP / HTAB outside a quoted string;
 *   - local part: the dot-string is strict (no leading, trailing or
 *     double dot; Postfix would accept "a..b@x", we do not); a quoted
 *     local part may not be empty (""@x); only "postmaster" (RCPT)
 *     may have no domain;
 *   - domain: ASCII labels at most 63 bytes, none starting or ending
 *     with '-'; address literals are an IPv4 dotted quad (inet_pton
 *     syntax: no leading zeros) or "IPv6:" + an inet_pton IPv6 address;
 *     general literals ("[tag:...]") are rejected;
 *   - the source route's domains are checked like any domain; has_utf8
 *     is about the local part and domain only, not the dropped route;
 *   - parameters are separated by runs of SP / HTAB; values are ASCII
 *     only (RFC 6531 UTF-8 esmtp-values are not accepted);
 *   - ENVID's 100 and ORCPT's 500 characters count the xtext as sent.
 */
#ifndef MXMOAT_SMTP_ADDR_H
#define MXMOAT_SMTP_ADDR_H

#include "core/buf.h"
#include "core/bounds.h"

enum smtp_path_kind { SMTP_PATH_MAIL, SMTP_PATH_RCPT };

enum smtp_addr_error {
	SMTP_ADDR_OK = 0,
	/* "FROM:"/"TO:" missing or garbage around the path: 501 5.5.4 */
	SMTP_ADDR_ERR_SYNTAX,
	/* the address itself is malformed: 501 5.1.7 (MAIL) / 501 5.1.3 (RCPT) */
	SMTP_ADDR_ERR_ADDRESS,
	/* the parameter list is malformed or too long: 501 5.5.4 */
	SMTP_ADDR_ERR_PARAMS,
};

struct smtp_param {
	struct view keyword;
	struct view value; /* value.p == NULL when there is no "=value" */
};

struct smtp_path_args {
	struct view path;   /* mailbox without brackets and source route;
			       empty (len 0) for the null path "<>" */
	struct view local;  /* local part as written (quotes kept) */
	struct view domain; /* domain or address literal; empty for
			       "postmaster" */
	bool null_path;
	bool has_utf8;
	size_t nparams;
	struct smtp_param params[BOUND_ESMTP_PARAMS];
};

int smtp_addr_parse(enum smtp_path_kind kind, struct view arg,
		    struct smtp_path_args *args_r,
		    enum smtp_addr_error *err_kind_r, const char **error_r);

/* smtp_addr_find_param(): the parameter with that keyword (case-
 * insensitive), or NULL. */
const struct smtp_param *smtp_addr_find_param(const struct smtp_path_args *a,
					      const char *keyword);

/* smtp_param_check(): semantic check of one known parameter value.
 *   SIZE=1*DIGIT (fits in uint64), BODY=7BIT|8BITMIME|BINARYMIME,
 *   SMTPUTF8 (no value), RET=FULL|HDRS, ENVID=xtext (<= 100 chars),
 *   NOTIFY=NEVER | 1#(SUCCESS|FAILURE|DELAY), ORCPT=atom ";" xtext
 *   (<= 500 chars), AUTH=xtext.
 * Returns 1 when valid, 0 when the keyword is not one of these, -1 when
 * the value is invalid. */
int smtp_param_check(const struct smtp_param *p);

/* smtp_xtext_is_valid(): RFC 3461 xtext: printable ASCII except '+' and
 * '=', or '+' followed by two upper-case hex digits. */
bool smtp_xtext_is_valid(struct view v);
/* smtp_xtext_encode(): append v to out as xtext ('+', '=' and bytes outside
 * 33..126 become "+HH"). Used for XCLIENT / XFORWARD values. */
void smtp_xtext_encode(struct buf *out, struct view v);
/* smtp_xtext_decode(): decode xtext; -1 if not valid xtext. */
int smtp_xtext_decode(struct buf *out, struct view v);

#endif
