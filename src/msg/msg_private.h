/*
 * msg_private.h - what msg.c (the readings driver and the public
 * functions) and msg_build.c (one parse into one reading) share. Not for
 * use outside src/msg/.
 *
 * A struct msg is the first member of a struct msg_impl, which owns an
 * arena for every string of the model (header names and values,
 * parameters, file names, URLs) and the bookkeeping of the limits that
 * span readings (decoded bytes, parts).
 */
#ifndef MXMOAT_MSG_PRIVATE_H
#define MXMOAT_MSG_PRIVATE_H

#include "msg/msg.h"
#include "msg/charset.h"
#include "msg/mime_parser.h"

#include <limits.h>

struct arena_block;

struct arena {
	struct arena_block *head;
};

void *arena_alloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);
void arena_free(struct arena *a);

/* an extra ambiguity the model builder resolves (after the parser's) */
#define MSG_AMB_DECODE_MULTIPART MIME_AMB_COUNT

/* the point "a bare CR ends a line" (alternative 1: as Outlook and
 * older Mac mail read it): decided before a parse starts, so it has a
 * sequence number of its own, after every other point */
#define MSG_SEQ_CR_EOL UINT_MAX

/* where the message bytes come from */
struct msg_source {
	const char *mem;      /* NULL: read from spool */
	size_t len;
	struct spool *spool;
	const char *error;    /* set on a read error */
};

/* readings: which alternative to take at which ambiguity point */
#define MSG_FORCED_MAX 4
#define MSG_POINTS_MAX 64

struct msg_choice {
	unsigned int seq;
	unsigned int nforced;
	struct {
		unsigned int seq, alt;
	} forced[MSG_FORCED_MAX];
	/* recorded in this pass */
	struct {
		unsigned int seq, nalts;
	} points[MSG_POINTS_MAX];
	unsigned int npoints;
};

unsigned int msg_choice_choose(void *ctx, enum mime_ambiguity kind, unsigned int nalts,
			       uint64_t offset);

struct msg_impl {
	struct msg pub;
	struct arena arena;
	struct msg_limits lim;
	struct charset_ctx *cs;
	uint64_t decoded_total;
	unsigned int parts_total;
	/* URL de-duplication (reading 0): open addressing on 64-bit hashes */
	uint64_t *url_seen;
	size_t url_seen_cap;
	size_t urls_cap;
	/* per reading, per part: a fingerprint of what scanners see */
	uint64_t **fp;
};

static inline struct msg_impl *
msg_impl_of(const struct msg *m)
{
	return (struct msg_impl *)(uintptr_t)m;
}

/* msg_build_reading(): one parse of the source into reading slot r
 * (already allocated in pub.readings); returns false on a read error */
bool msg_build_reading(struct msg_impl *mi, struct msg_source *src, unsigned int r,
		       struct msg_choice *choice);
/* msg_reading_free(): free the parts of a reading */
void msg_reading_free(struct msg_impl *mi, struct msg_reading *rd);
/* msg_part_fingerprint(): hash of type, file names and decoded bytes */
uint64_t msg_part_fingerprint(const struct msg_part *p);
/* msg_hash(): FNV-1a 64 */
uint64_t msg_hash(const void *p, size_t len, uint64_t h);

#endif
