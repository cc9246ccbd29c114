/*
 * attach_policy.h - which attachments are not accepted: by file name
 * extension (double extensions included) and by detected file type.
 *
 * Contract: attach_policy_new() compiles [attachments] block_extensions
 * and block_types of a configuration snapshot into an immutable policy
 * that any number of scan workers may read at once. Names are checked the
 * way Windows would open the file (attach_policy_normalize()): the last
 * path component, invisible and bidirectional-override characters
 * removed, trailing dots and spaces removed, ASCII lower-cased; so that
 * "photo\u202Egpj.exe", "invoice.pdf.exe." and "C:\\x\\EVIL.EXE" are all
 * ".exe". A blocked extension behind a document or media extension
 * ("invoice.pdf.exe", "scan.jpg      .scr") is reported as a double
 * extension. Types are ClamAV type names (CL_TYPE_MSEXE, ...):
 * attach_policy_sniff() recognises the common ones from the first bytes of
 * a decoded part (for the clamd backend and as a first line); with
 * libclamav, libclamav's own type detection is checked too (clamav_engine).
 *
 * Limits: names are looked at up to ATTACH_NAME_MAX bytes; lists hold at
 * most ATTACH_MAX_ENTRIES entries (more fails the configuration).
 */
#ifndef MXMOAT_ATTACH_POLICY_H
#define MXMOAT_ATTACH_POLICY_H

#include "core/buf.h"

#define ATTACH_NAME_MAX 1024
#define ATTACH_MAX_ENTRIES 512
#define ATTACH_EXT_MAX 32
#define ATTACH_TYPE_MAX 48

struct conf;
struct attach_policy;

enum attach_match {
	ATTACH_OK,
	ATTACH_BLOCKED_EXT,    /* the extension is in block_extensions */
	ATTACH_DOUBLE_EXT,     /* ... behind a document/media extension */
};

int attach_policy_new(const struct conf *conf, struct attach_policy **policy_r,
		      char **error_r);
void attach_policy_free(struct attach_policy **policy);
size_t attach_policy_extensions(const struct attach_policy *p);
size_t attach_policy_types(const struct attach_policy *p);

/* attach_policy_check_name(): is this (UTF-8) file name blocked? The
 * blocked extension goes to ext_r (ATTACH_EXT_MAX bytes) when given. */
enum attach_match attach_policy_check_name(const struct attach_policy *p, const char *name,
					   char *ext_r);
/* attach_policy_type_blocked(): is this ClamAV type name (CL_TYPE_...) in
 * block_types? */
bool attach_policy_type_blocked(const struct attach_policy *p, const char *type);

/* attach_policy_normalize(): the name as Windows would treat it (see
 * above), into out (reset first). */
void attach_policy_normalize(const char *name, struct buf *out);
/* attach_policy_sniff(): the ClamAV type name of content recognised by
 * its first bytes (executables, archives, documents), or NULL. */
const char *attach_policy_sniff(const void *data, size_t len);
/* attach_policy_zip_encrypted(): is data a ZIP archive with an encrypted
 * member (its first local header or any central directory entry)? The
 * member's name (raw bytes, cut to member_len - 1) goes to member_r when
 * given. Only the archive itself: nested archives are libclamav's (or
 * clamd's) to open. */
bool attach_policy_zip_encrypted(const void *data, size_t len, char *member_r,
				 size_t member_len);
/* attach_policy_zip_oversized(): does a member of this ZIP archive declare
 * an uncompressed size over max_size (0: no limit)? Its name as above. */
bool attach_policy_zip_oversized(const void *data, size_t len, uint64_t max_size,
				 char *member_r, size_t member_len);
/* attach_policy_safe_name(): a file name for replies, logs and headers:
 * printable ASCII only (others as '?'), at most max bytes ("..." when
 * cut), into out (reset first). */
void attach_policy_safe_name(const char *name, size_t max, struct buf *out);

#endif
