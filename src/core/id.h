/*
 * id.h - session ids and decision ids.
 *
 * An id is 64 bits: the high 42 bits are milliseconds since the Unix
 * epoch, the low 22 bits a per-process counter started at a random value,
 * so ids from one process are unique and ids from several nodes collide
 * only if two nodes draw the same counter in the same millisecond.
 * Formatted as 13 characters of Crockford base32 (lower case), sortable
 * by time. The decision id of a transaction is what a sender quotes from
 * a reject text and what the history is searched by.
 *
 * Thread-safe (atomic counter).
 */
#ifndef MXMOAT_ID_H
#define MXMOAT_ID_H

#include "core/common.h"

#define ID_STR_LEN 13

struct id_str {
	char s[ID_STR_LEN + 1];
};

void id_init(void);
uint64_t id_next(void);
struct id_str id_format(uint64_t id);
/* id_parse(): inverse of id_format (case-insensitive); -1 if malformed. */
int id_parse(const char *s, uint64_t *id_r);

#endif
