/*
 * av_findings.h - what the antivirus and the attachment policy found in
 * one message, and how that becomes symbols, forced actions and headers.
 *
 * Contract: a struct av_findings lives for one run() of a plugin, on one
 * scan worker. Scanners (libclamav callbacks, the clamd client, the
 * attachment checks) add findings; av_findings_add_name() classifies a
 * scanner's detection name:
 *   Heuristics.Limits.Exceeded.*  -> AV_LIMIT      (unscannable)
 *   Heuristics.Encrypted.*        -> AV_ENCRYPTED
 *   Heuristics.Broken.*           -> AV_BROKEN     (unscannable: cannot be
 *                                                   parsed)
 *   Detected.By.Callback          -> ignored (our own callbacks recorded
 *                                    their reason already)
 *   anything else                 -> AV_VIRUS
 * av_findings_apply() maps them through the configuration ([clamav]
 * virus_action, unscannable_action, encrypted_action, [attachments]
 * action) into the scan result: one symbol per finding (CLAMAV_VIRUS,
 * CLAMAV_UNSCANNABLE, CLAMAV_ENCRYPTED, ATTACHMENT_BLOCKED_EXT,
 * ATTACHMENT_DOUBLE_EXT, ATTACHMENT_BLOCKED_TYPE, detail "WHAT in WHERE"),
 * one forced action per kind, and X-Virus-Status. The same mapping serves
 * libclamav and clamd (same verdicts for the same detection names).
 *
 * Everything stored is safe ASCII (attach_policy_safe_name()): file names
 * come from the sender and end up in replies and headers.
 *
 * Limits: AV_MAX_FINDINGS findings (duplicates dropped); past it the rest
 * is counted in `dropped` but still decides the action of its kind.
 */
#ifndef MXMOAT_AV_FINDINGS_H
#define MXMOAT_AV_FINDINGS_H

#include "core/buf.h"

struct conf;
struct scan_result;

#define AV_MAX_FINDINGS 32
#define AV_WHAT_MAX 96
#define AV_WHERE_MAX 112

enum av_kind {
	AV_VIRUS,
	AV_ENCRYPTED,
	AV_LIMIT,
	AV_BROKEN,
	AV_BLOCKED_EXT,
	AV_DOUBLE_EXT,
	AV_BLOCKED_TYPE,
	AV_KINDS
};

struct av_finding {
	enum av_kind kind;
	char what[AV_WHAT_MAX];   /* virus name, limit, extension, type */
	char where[AV_WHERE_MAX]; /* "message", a file name, "a.zip/x.exe" */
};

struct av_findings {
	struct av_finding items[AV_MAX_FINDINGS];
	size_t n;
	unsigned int count[AV_KINDS];
	unsigned int dropped;
	/* set while scanning what was already scanned in another form (the
	 * raw message after its decoded parts): a detection already made is
	 * not added again for another place */
	bool secondary;
};

void av_findings_init(struct av_findings *f);
void av_findings_add(struct av_findings *f, enum av_kind kind, const char *what,
		     const char *where);
/* av_findings_add_name(): classify a scanner's detection name (above) */
void av_findings_add_name(struct av_findings *f, const char *name, const char *where);
enum av_kind av_findings_classify(const char *name, bool *ignore_r);
bool av_findings_any(const struct av_findings *f);

/* av_findings_apply(): add the symbols, forced actions and headers.
 * scanned_by: the X-Virus-Scanned value of the antivirus (then
 * X-Virus-Status is added too, when [clamav] add_headers), or NULL for the
 * attachment policy alone. A blocked attachment adds X-Virus-Attachment:
 * Blocked (NAME) (what a tagged message carries), once per message.
 * Symbols already in res with the same detail (the same file seen by the
 * attachment plugin and inside libclamav) are not added twice. */
void av_findings_apply(const struct av_findings *f, const struct conf *conf,
		       const char *plugin, const char *scanned_by, struct scan_result *res);
/* av_findings_symbol(): CLAMAV_VIRUS, ... for a kind */
const char *av_findings_symbol(enum av_kind kind);

#endif
