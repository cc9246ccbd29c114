/*
 * result.h - what plugins add for one request: symbols with scores, forced
 * actions, headers they want on the message. Only verdict/ reads them to
 * decide (verdict_decide()).
 *
 * Limits (fixed): SCAN_MAX_SYMBOLS symbols, SCAN_MAX_FORCED forced actions
 * and SCAN_MAX_HEADERS headers per request; past them further additions
 * are dropped and `truncated` is set. Symbol names are [A-Za-z0-9_.:-]
 * (others replaced by '_'), at most 63 bytes; details are escaped for logs
 * by their consumers, never written into mail headers verbatim.
 */
#ifndef MXMOAT_SCAN_RESULT_H
#define MXMOAT_SCAN_RESULT_H

#include "core/buf.h"
#include "verdict/verdict.h"

#define SCAN_MAX_SYMBOLS 512
#define SCAN_MAX_FORCED 8
#define SCAN_MAX_HEADERS 8
#define SCAN_SYMBOL_NAME 64
#define SCAN_DETAIL_MAX 240

struct scan_symbol {
	char name[SCAN_SYMBOL_NAME];
	double score;
	const char *plugin;          /* static name of the plugin */
	char *detail;                /* what matched, heap, may be NULL */
};

struct scan_forced {
	enum verdict_action action;
	int code;                    /* reply for tempfail/reject */
	char enhanced[16];
	char text[200];
	char reason[48];             /* "virus", "greylist", "unscannable" */
	const char *plugin;
};

struct scan_header {
	char name[48];               /* X-Virus-Status, ... (our namespace) */
	char value[200];
};

struct scan_result {
	struct scan_symbol *symbols;
	size_t nsymbols;
	struct scan_forced forced[SCAN_MAX_FORCED];
	size_t nforced;
	struct scan_header headers[SCAN_MAX_HEADERS];
	size_t nheaders;
	unsigned int plugin_errors;  /* plugins whose run() failed */
	bool scored;                 /* a SCAN_PLUGIN_SCORES plugin ran */
	bool truncated;
	/* time each stage took, for the summary line */
	uint64_t scan_us;
};

void scan_result_init(struct scan_result *r);
void scan_result_deinit(struct scan_result *r);
void scan_result_reset(struct scan_result *r);
void scan_result_add(struct scan_result *r, const char *plugin, const char *name, double score,
		     const char *detail_fmt, ...) ATTR_PRINTF(5, 6);
void scan_result_force(struct scan_result *r, const char *plugin, enum verdict_action action,
		       int code, const char *enhanced, const char *reason,
		       const char *text_fmt, ...) ATTR_PRINTF(7, 8);
void scan_result_add_header(struct scan_result *r, const char *name, const char *value);
/* scan_result_merge(): append src's results to dst (stages of one txn) */
void scan_result_merge(struct scan_result *dst, const struct scan_result *src);
double scan_result_score(const struct scan_result *r);
bool scan_result_has(const struct scan_result *r, const char *name);
/* scan_result_symbols(): "NAME=score,NAME=score" sorted by score, for
 * logs and X-Spam-Status tests= (names only when with_scores is false) */
void scan_result_symbols(const struct scan_result *r, struct buf *out, bool with_scores,
			 const char *sep);

#endif
