/*
 * av_engine.h - the in-process ClamAV engine (libclamav).
 *
 * Contract: av_engine_new() loads every database in a directory, sets the
 * scan limits, compiles, and records the directory's state; it is slow
 * (seconds with the official databases) and runs in the plugin's init(),
 * off the event loop. The engine is then immutable: any number of scan
 * workers call av_engine_scan() at once (libclamav's engine is
 * thread-safe for scanning once compiled). Objects are scanned from memory
 * (cl_fmap_open_memory) or, for a message spooled to disk, through the
 * spool's pread (cl_fmap_open_handle): mxmoat writes no temporary file;
 * libclamav still unpacks archive members to its tmpdir.
 *
 * Every scan runs in all-match mode with alert-exceeds-max, encrypted
 * archive/document and broken-executable alerts on, so a limit hit, an
 * encrypted archive or a broken file shows up as a detection name
 * (av_findings classifies them) and never as clean. Two gaps of
 * libclamav are closed by callbacks: an archive member larger than
 * max_file_size (by the size the archive declares, or a member cut at the
 * limit) is a MaxFileSize limit, not a silently truncated scan; and with
 * an attachment policy, the names and detected types of files inside
 * archives are checked. Such a finding lets the scan go on (a virus in a
 * blocked file is still named) and then reports the file and everything
 * containing it as infected to libclamav, so that none of it enters
 * libclamav's clean cache, where the callbacks would not see it again.
 *
 * av_engine_free() hands the cl_engine to a thread of its own: freeing
 * millions of signatures takes a second, and the last reference to an old
 * snapshot is often dropped on the event loop. That thread frees engines
 * one after the other; process exit lets it finish and joins it (bounded).
 *
 * av_engine_is_stale(): has the database directory changed since load?
 * (cl_statchkdir; a few stat() calls.)
 */
#ifndef MXMOAT_AV_ENGINE_H
#define MXMOAT_AV_ENGINE_H

#include "core/buf.h"

struct spool;
struct av_findings;
struct attach_policy;
struct av_engine;

struct av_engine_settings {
	const char *database;
	const char *tmpdir;
	uint64_t max_scan_size;
	uint64_t max_file_size;
	unsigned int max_recursion;
	unsigned int max_files;
	uint64_t max_scan_time_ms;
	/* names and types inside archives; NULL = no policy */
	const struct attach_policy *policy;
};

int av_engine_new(const struct av_engine_settings *s, struct av_engine **engine_r,
		  char **error_r);
void av_engine_free(struct av_engine **engine);
bool av_engine_is_stale(const struct av_engine *e);
void av_engine_describe(const struct av_engine *e, struct buf *out);
unsigned int av_engine_signatures(const struct av_engine *e);
/* av_engine_age(): seconds since the newest database was built (its
 * header time, or the newest file's mtime for unofficial databases) */
int64_t av_engine_age(const struct av_engine *e);
const char *av_engine_version(void);

/* av_engine_scan() flags */
#define AV_SCAN_NO_MAIL_PARSER 1u /* match a message as it is, do not split it */

/* av_engine_scan(): scan one object, from memory (data, len) or, when
 * spool is given, the spooled message; detections go to f, attributed to
 * `where`. Returns 0, or -1 on a scanner error (its text in err), which
 * includes a scan that libclamav calls clean without having looked at the
 * object (no file-inspection callback for it: libclamav 1.4.6 answers
 * CL_CLEAN when it cannot create its per-scan temporary directory). */
int av_engine_scan(const struct av_engine *e, uint64_t id, const void *data, size_t len,
		   struct spool *spool, unsigned int flags, const char *where,
		   struct av_findings *f, char *err, size_t errlen);

#endif
