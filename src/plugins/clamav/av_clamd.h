/*
 * av_clamd.h - the clamd backend: one object per INSTREAM request.
 *
 * Contract: av_clamd_scan() connects to clamd (unix or TCP socket), sends
 * "zINSTREAM", the object in chunks of at most AV_CLAMD_CHUNK bytes (each
 * with its 4-byte network-order length) and the zero-length end chunk,
 * and reads the one reply (at most AV_CLAMD_REPLY_MAX bytes). Blocking I/O
 * on a scan worker, every step bounded by one deadline (timeout_ms for
 * the whole object). The reply maps to findings exactly as libclamav's
 * detection names do (av_findings_add_name()):
 *   "stream: OK"                              clean
 *   "stream: NAME FOUND"                      NAME (virus, limit, ...)
 *   "INSTREAM size limit exceeded. ERROR"     limit StreamMaxLength
 *   anything else, connect/timeout failures   -1 (scanner error)
 * clamd's own limits and heuristics are set in clamd.conf (AlertExceedsMax,
 * AlertEncrypted*, StreamMaxLength, ...).
 */
#ifndef MXMOAT_AV_CLAMD_H
#define MXMOAT_AV_CLAMD_H

#include "core/netaddr.h"

#define AV_CLAMD_CHUNK (64 * 1024)
#define AV_CLAMD_REPLY_MAX 4096

struct spool;
struct av_findings;

/* object: data/len, or the spooled message when spool != NULL. Returns 0,
 * or -1 with the reason in err (errlen bytes). */
int av_clamd_scan(const struct netaddr *addr, uint64_t timeout_ms, const void *data,
		  size_t len, struct spool *spool, const char *where, struct av_findings *f,
		  char *err, size_t errlen);
/* av_clamd_parse_reply(): the reply part of the above (tests) */
int av_clamd_parse_reply(const char *reply, size_t len, const char *where,
			 struct av_findings *f, char *err, size_t errlen);

#endif
