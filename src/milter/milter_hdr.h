/*
 * milter_hdr.h - header fields between the milter protocol and our
 * message model: no libmilter here, so the unit tests can reach it.
 *
 * The MTA hands us each header as (name, value). With SMFIP_HDR_LEADSPC
 * negotiated the value is exactly what followed the colon (leading space
 * included); folded values carry their line breaks as LF or CRLF (Postfix
 * sends LF). milter_hdr_spool() rebuilds the field as it was on the wire
 * ("Name:" value CRLF, every line break CRLF) so that the spool the
 * scanners see is the message the proxy would have spooled.
 *
 * The other way, the fields verdict_decide() built (CRLF lines, folded at
 * 78 columns with CRLF TAB) become (name, value) pairs for
 * smfi_insheader(): the value keeps its leading space, folds become LF
 * TAB (what Postfix and sendmail expect from a milter). Every value we
 * send is checked by milter_hdr_value_ok(): no NUL, no CR, an LF only as
 * part of a fold, and (for fields we build) printable ASCII only.
 *
 * Limits: MILTER_HDR_MAX fields from one verdict (verdict_decide() makes
 * at most 3 + SCAN_MAX_HEADERS); longer names are dropped.
 */
#ifndef MXMOAT_MILTER_HDR_H
#define MXMOAT_MILTER_HDR_H

#include "core/buf.h"

#define MILTER_HDR_MAX 16
#define MILTER_HDR_NAME 64

struct milter_hdr {
	char name[MILTER_HDR_NAME];
	char *value; /* heap: " value\n\tmore" */
};

struct milter_hdr_list {
	struct milter_hdr h[MILTER_HDR_MAX];
	size_t n;
};

/* milter_hdr_spool(): append "name:" value CRLF to out; a value without
 * its leading space (leadspc false: the MTA stripped it) gets one back */
void milter_hdr_spool(struct buf *out, const char *name, const char *value, bool leadspc);
/* milter_hdr_split(): fields (CRLF lines, CRLF-folded) into pairs. Fields
 * that are not "Name: value" are skipped; returns how many were. */
size_t milter_hdr_split(const char *fields, size_t len, struct milter_hdr_list *out);
void milter_hdr_list_free(struct milter_hdr_list *l);
/* milter_hdr_value_ok(): what we may hand to smfi_*header(): no NUL (C
 * string), no CR, LF only before a space or TAB and not last; ascii_only
 * also refuses bytes outside 0x20-0x7e (TAB allowed). */
bool milter_hdr_value_ok(const char *value, bool ascii_only);
/* milter_hdr_subject(): the new Subject value: " PREFIX original" (the
 * original without its leading blanks, its folds as LF TAB/space);
 * original NULL = no Subject in the message. Heap string. */
char *milter_hdr_subject(const char *prefix, const char *original);
/* milter_hdr_reply_text(): text for smfi_setreply(): printable ASCII, '%'
 * (a format character to sendmail) replaced, at most size-1 bytes */
void milter_hdr_reply_text(char *out, size_t size, const char *text);

#endif
