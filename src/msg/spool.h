/*
 * spool.h - where one message's bytes wait between DATA and delivery.
 *
 * Contract: the message (decoded, canonical CRLF content) is appended with
 * spool_write(); up to mem_limit bytes stay in memory, beyond that the
 * whole content moves to a temporary file in `dir` that is unlinked at
 * creation (O_TMPFILE, or mkstemp + unlink), so nothing is left behind by
 * a crash. After spool_finish() the content is read back with
 * spool_read() (any offset) or, while in memory, spool_mem().
 *
 * The spool enforces no size limit itself: the session stops writing at
 * [smtp] max_message_size. Write errors (disk full) are returned, never
 * fatal: the transaction gets a 451.
 *
 * Lifetime: one transaction. spool_free() closes the file.
 */
#ifndef MXMOAT_SPOOL_H
#define MXMOAT_SPOOL_H

#include "core/buf.h"

struct spool;

struct spool *spool_new(const char *dir, uint64_t mem_limit);
void spool_free(struct spool **s);
int spool_write(struct spool *s, const void *p, size_t len, const char **error_r);
int spool_finish(struct spool *s, const char **error_r);
uint64_t spool_size(const struct spool *s);
bool spool_in_memory(const struct spool *s);
/* spool_mem(): the content while in memory; VIEW_NULL once on file. */
struct view spool_mem(const struct spool *s);
/* spool_read(): up to len bytes from offset off; returns the count (0 at
 * the end) or -1 with *error_r set. */
ssize_t spool_read(struct spool *s, uint64_t off, void *p, size_t len, const char **error_r);

#endif
