/*
 * summary.h - the one summary log line per transaction.
 *
 *   sid=... id=... client=IP helo=... from=<...> rcpts=a@x,b@y nrcpt=N
 *   size=BYTES action=accept|tag|tempfail|reject|discard|abort reason=...
 *   score=S symbols=NAME=s,NAME=s ms=... downstream_id=... reply="..."
 *
 * Operators grep it and tests parse it: keys are fixed, values escaped
 * (log_append_kv), lists bounded (SUMMARY_MAX_RCPTS shown, then "+N").
 */
#ifndef MXMOAT_SUMMARY_H
#define MXMOAT_SUMMARY_H

#include "core/buf.h"

#define SUMMARY_MAX_RCPTS 20

struct scan_result;

struct summary {
	uint64_t sid;
	uint64_t id;
	const char *client;
	const char *helo;
	const char *from; /* NULL: no MAIL accepted */
	size_t nrcpts;
	char *const *rcpts;
	uint64_t size;
	const char *action;
	const char *reason;
	double score;
	const char *symbols; /* "NAME=score,..." or "" */
	uint64_t ms;
	const char *downstream_id;
	const char *reply; /* the last reply the client got, CRLF excluded */
	/* optional, not in the line: for the metrics and the history record
	 * (stats_txn_end()); NULL when the front end does not know */
	const char *frontend;              /* "smtp", "milter" */
	const char *client_name;           /* verified host name */
	const char *subject;               /* first Subject, decoded */
	const struct scan_result *result;  /* symbols with their details */
};

void summary_format(const struct summary *sm, struct buf *out);
void summary_log(const struct summary *sm);

#endif
