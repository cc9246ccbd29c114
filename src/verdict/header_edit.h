/*
 * header_edit.h - the header changes made to a message on its way
 * downstream: our fields added at the top, incoming fields in our
 * namespace (X-Spam-*, X-Virus-*) removed, optionally the Subject
 * prefixed.
 *
 * Contract: header_edit_plan() reads the top-level header block from the
 * spool (at most HEADER_EDIT_SCAN bytes: a longer block is not edited
 * past that point, and gets our fields all the same) and records which
 * byte ranges to skip; header_edit_apply() is the streaming side: the
 * relay asks it for the next span of output (our fields first, then the
 * spool's bytes minus the skipped ranges). At most HEADER_EDIT_MAX fields
 * are removed; past that the message is tagged as it is (the removal is
 * best effort, the verdict still holds).
 */
#ifndef MXMOAT_HEADER_EDIT_H
#define MXMOAT_HEADER_EDIT_H

#include "core/buf.h"
#include "msg/spool.h"
#include "verdict/verdict.h"

#define HEADER_EDIT_MAX 64
#define HEADER_EDIT_SCAN (256 * 1024)

struct header_edit_range {
	uint64_t off, len;
};

struct header_edit {
	struct buf prepend;          /* our fields, CRLF each */
	struct header_edit_range skip[HEADER_EDIT_MAX];
	size_t nskip;
	bool truncated;
};

void header_edit_init(struct header_edit *e);
void header_edit_deinit(struct header_edit *e);
/* header_edit_plan(): from the verdict's fields and subject rewrite.
 * Returns 0, or -1 on a spool read error. */
int header_edit_plan(struct header_edit *e, struct spool *spool, const struct verdict *v,
		     const char **error_r);
/* header_edit_next_skip(): the first skipped range at or after off, or
 * NULL */
const struct header_edit_range *header_edit_next_skip(const struct header_edit *e,
						      uint64_t off);

#endif
